//! HTTP proxies: which one a URL goes through (from the environment as curl reads it, or from `[network]
//! proxy`), and the CONNECT tunnel the WebSocket is opened through.
//!
//! From the environment, as curl: `https_proxy`/`HTTPS_PROXY` for `https://` and `wss://`,
//! `http_proxy`/`HTTP_PROXY` for `http://` and `ws://`, `all_proxy`/`ALL_PROXY` for both when the other is not
//! set, and `no_proxy`/`NO_PROXY` for the exceptions ([`NoProxy`]); the lower-case name wins when both are set,
//! and an empty value counts as unset. Unlike curl, the upper-case `HTTP_PROXY` is read too. An address on this
//! machine goes through the proxy like any other unless `NO_PROXY` names it.
//!
//! A proxy is an `http://` URL (`host:port` alone means `http://host:port`; no port means 1080, as in curl).
//! Its credentials: in the URL (`http://user:password@host:port`, environment only), or for `[network] proxy`
//! the user in the URL and the password in the OS keyring ([`account`]).

use std::fmt::{self, Write as _};

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::no_proxy::NoProxy;
use super::NetError;
use crate::domain::Token;

/// curl's port for a proxy URL that names none.
pub const DEFAULT_PORT: u16 = 1080;

/// The largest answer to CONNECT read before giving up on the proxy.
const MAX_ANSWER: usize = 16 * 1024;

/// One HTTP proxy server. `Debug` and `Display` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyServer {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Username, for `Proxy-Authorization: Basic`.
    pub user: Option<String>,
    password: Option<Token>,
    /// Where it was set: `HTTPS_PROXY`, `[network] proxy`...
    pub from: String,
}

impl fmt::Debug for ProxyServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .finish()
    }
}

impl fmt::Display for ProxyServer {
    /// `http://[user@]host:port`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://")?;
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        write!(f, "{}", self.authority())
    }
}

impl ProxyServer {
    /// Parses a proxy URL set in `from`. Only `http://` proxies are spoken; a password in the URL is taken
    /// only where `password_allowed` (the environment), never from the settings file.
    pub fn parse(text: &str, from: &str, password_allowed: bool) -> Result<Self, NetError> {
        let fail = |reason: &str| NetError::Proxy {
            from: from.to_string(),
            reason: format!("{}: {reason}", shown_url(text)),
        };
        let text = text.trim();
        let with_scheme = if text.contains("://") {
            text.to_string()
        } else {
            format!("http://{text}")
        };
        let url = url::Url::parse(&with_scheme).map_err(|e| fail(&format!("not a URL ({e})")))?;
        if url.scheme() != "http" {
            return Err(fail(&format!(
                "{}:// proxies are not supported; use an http:// proxy (HTTP CONNECT)",
                url.scheme()
            )));
        }
        let host = match url.host() {
            Some(url::Host::Domain(name)) => name.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(fail("no host")),
        };
        if !matches!(url.path(), "" | "/") || url.query().is_some() {
            return Err(fail("a proxy URL is only http://host:port"));
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let user = (!url.username().is_empty()).then(|| decode(url.username()));
        let password = match url.password() {
            Some(_) if !password_allowed => {
                return Err(fail(
                    "a password does not belong in the settings file; put only the user in the URL and store the \
                     password with `alertdesk proxy login`",
                ))
            }
            Some(p) => Some(Token::new(decode(p))),
            None => None,
        };
        Ok(Self {
            host,
            // `Url` drops the port 80 it knows for http://: the text said it, so it is 80.
            port: url.port().unwrap_or(if has_port_80(&with_scheme) {
                80
            } else {
                DEFAULT_PORT
            }),
            user,
            password,
            from: from.to_string(),
        })
    }

    /// `host:port` (IPv6 in brackets).
    pub fn authority(&self) -> String {
        authority(&self.host, self.port)
    }

    /// The proxy's URL without credentials, for reqwest and the log.
    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}", self.authority())).expect("a host and a port")
    }

    /// Uses this password (from the keyring).
    #[must_use]
    pub fn with_password(mut self, password: Token) -> Self {
        self.password = Some(password);
        self
    }

    /// Whether a password is known.
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The `Proxy-Authorization` value, when there is a user.
    pub fn authorization(&self) -> Option<String> {
        let user = self.user.as_ref()?;
        let password = self.password.as_ref().map_or("", Token::expose);
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Some(format!("Basic {encoded}"))
    }

    /// Opens a tunnel to `host:port` through this proxy (HTTP CONNECT); the stream then carries TLS or the
    /// WebSocket as if it went straight to the server.
    pub async fn tunnel(&self, host: &str, port: u16) -> Result<TcpStream, TunnelError> {
        let mut stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| TunnelError::Unreachable {
                proxy: self.to_string(),
                error: e,
            })?;
        let target = authority(host, port);
        let mut request = format!(
            "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: alertdesk/{}\r\n",
            crate::VERSION
        );
        if let Some(value) = self.authorization() {
            let _ = write!(request, "Proxy-Authorization: {value}\r\n");
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| self.broken(&e))?;
        let head = read_head(&mut stream).await.map_err(|e| self.broken(&e))?;
        let (code, reason) = status(&head).map_err(|why| TunnelError::BadAnswer {
            proxy: self.to_string(),
            why,
        })?;
        let status = format!("{code} {reason}").trim().to_string();
        match code {
            200..=299 => Ok(stream),
            // Before the tunnel exists only the proxy speaks: its 401 (tinyproxy's answer) means what 407 does.
            401 | 407 => Err(TunnelError::Authentication {
                proxy: self.to_string(),
                from: self.from.clone(),
                sent: self.user.is_some(),
                status,
            }),
            _ => Err(TunnelError::Refused {
                proxy: self.to_string(),
                target,
                status,
            }),
        }
    }

    fn broken(&self, e: &std::io::Error) -> TunnelError {
        TunnelError::BadAnswer {
            proxy: self.to_string(),
            why: format!("the connection failed ({e})"),
        }
    }
}

/// Whether the URL text names port 80 itself (the `url` crate forgets a scheme's default port).
fn has_port_80(text: &str) -> bool {
    let rest = text.split_once("://").map_or(text, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    host_port.ends_with(":80")
}

/// A proxy URL for messages: without its password.
fn shown_url(text: &str) -> String {
    match url::Url::parse(text.trim()) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ if text.contains('@') => "(a proxy URL with credentials)".into(),
        _ => text.trim().to_string(),
    }
}

/// `host:port`, an IPv6 address in brackets.
fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Reads the proxy's answer up to the blank line, byte by byte: nothing after it belongs to the proxy.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_ANSWER {
            return Err(std::io::Error::other("its answer to CONNECT is too long"));
        }
        if stream.read(&mut byte).await? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "it closed the connection without answering CONNECT",
            ));
        }
        head.push(byte[0]);
    }
    Ok(head)
}

/// The status code and reason of an HTTP answer head.
fn status(head: &[u8]) -> Result<(u16, String), String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(head) {
        Ok(httparse::Status::Complete(_)) => Ok((
            response.code.unwrap_or(0),
            response.reason.unwrap_or("").to_string(),
        )),
        Ok(httparse::Status::Partial) => Err("its answer to CONNECT was cut short".into()),
        Err(e) => Err(format!("its answer to CONNECT is not HTTP ({e})")),
    }
}

/// Why a tunnel through the proxy could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    /// Nothing accepted the TCP connection to the proxy.
    #[error("cannot reach the proxy {proxy}: {error}")]
    Unreachable {
        /// The proxy.
        proxy: String,
        /// What the OS said.
        error: std::io::Error,
    },
    /// The proxy wants credentials, or refused the ones sent.
    #[error("{}", authentication_words(.proxy, .from, *.sent, .status))]
    Authentication {
        /// The proxy.
        proxy: String,
        /// Where it was set.
        from: String,
        /// Credentials were sent (and refused).
        sent: bool,
        /// Its status line.
        status: String,
    },
    /// The proxy would not connect to the server.
    #[error("the proxy {proxy} refused to connect to {target}: HTTP {status}")]
    Refused {
        /// The proxy.
        proxy: String,
        /// `host:port` asked for.
        target: String,
        /// Its status line.
        status: String,
    },
    /// The proxy did not answer as a proxy does.
    #[error("the proxy {proxy} failed: {why}")]
    BadAnswer {
        /// The proxy.
        proxy: String,
        /// What went wrong.
        why: String,
    },
}

fn authentication_words(proxy: &str, from: &str, sent: bool, status: &str) -> String {
    if sent {
        format!(
            "the proxy {proxy} refused the username and password (HTTP {status}); check the user in {from} and \
             the password (`alertdesk proxy login`)"
        )
    } else {
        format!(
            "the proxy {proxy} asks for a username and password (HTTP {status}); name the user in {from} \
             (http://USER@host:port) and store the password with `alertdesk proxy login`"
        )
    }
}

/// The keyring account of the `[network] proxy` password: `proxy:user@host:port`.
pub fn account(proxy: &ProxyServer) -> String {
    format!(
        "proxy:{}@{}",
        proxy.user.as_deref().unwrap_or(""),
        proxy.authority()
    )
}

/// Which proxy each URL goes through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxies {
    /// For `http://` and `ws://`.
    pub http: Option<ProxyServer>,
    /// For `https://` and `wss://`.
    pub https: Option<ProxyServer>,
    /// Hosts reached directly.
    pub no_proxy: NoProxy,
}

impl Proxies {
    /// From the environment as curl reads it (`var` looks a variable up; tests give their own).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, NetError> {
        let read = |names: [&'static str; 2]| {
            names.into_iter().find_map(|name| {
                var(name)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (name, v))
            })
        };
        let parse = |found: Option<(&str, String)>| {
            found
                .map(|(name, value)| ProxyServer::parse(&value, name, true))
                .transpose()
        };
        let all = read(["all_proxy", "ALL_PROXY"]);
        let http = parse(read(["http_proxy", "HTTP_PROXY"]).or_else(|| all.clone()))?;
        let https = parse(read(["https_proxy", "HTTPS_PROXY"]).or(all))?;
        let no_proxy = read(["no_proxy", "NO_PROXY"])
            .map(|(_, v)| NoProxy::parse(&v))
            .unwrap_or_default();
        Ok(Self {
            http,
            https,
            no_proxy,
        })
    }

    /// `[network] proxy` for every URL, except the hosts of `[network] no_proxy`.
    pub fn from_setting(proxy: &ProxyServer, no_proxy: &[String]) -> Self {
        Self {
            http: Some(proxy.clone()),
            https: Some(proxy.clone()),
            no_proxy: NoProxy::parse(&no_proxy.join(",")),
        }
    }

    /// The proxy `url` goes through, or `None` to go straight to the server.
    pub fn route(&self, url: &url::Url) -> Option<&ProxyServer> {
        let proxy = match url.scheme() {
            "https" | "wss" => self.https.as_ref(),
            "http" | "ws" => self.http.as_ref(),
            _ => None,
        }?;
        let host = url.host_str()?;
        (!self.no_proxy.matches(host)).then_some(proxy)
    }

    /// Whether no URL goes through a proxy.
    pub fn is_empty(&self) -> bool {
        self.http.is_none() && self.https.is_none()
    }
}

#[cfg(test)]
mod tests;
