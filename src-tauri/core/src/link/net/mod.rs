//! The network every connection takes: one TLS configuration and one proxy route for the WebSocket, every REST
//! call, sign-in and (in the desktop app) updates, so they trust the same certificate authorities and go the
//! same way (`docs/settings.md`, `[network]`).
//!
//! - [`tls`]: what TLS trusts (the OS store, honouring `SSL_CERT_FILE`/`SSL_CERT_DIR`, plus `[network] ca_files`
//!   and a server's own CA file) and the client certificate for mutual TLS; TLS failures in words.
//! - [`proxy`]: which HTTP proxy a URL goes through (`HTTPS_PROXY`... as curl reads them, or `[network] proxy`)
//!   and the CONNECT tunnel the WebSocket is opened through.
//! - [`no_proxy`]: curl's `NO_PROXY` rules.
//!
//! A [`Net`] is built once at start from [`NetOptions`]; a bad CA file, client certificate or proxy setting is
//! an error naming it, never a silent fallback. It is cheap to clone; [`Net::with_ca_file`] makes the variant
//! for a server that brings its own CA.

pub mod no_proxy;
pub mod proxy;
pub mod tls;

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ClientConfig;
use tokio::net::TcpStream;

use crate::config::settings::NetworkSettings;
use crate::link::auth::TokenStore;
use crate::link::http;
pub use no_proxy::NoProxy;
pub use proxy::{Proxies, ProxyServer, TunnelError};

/// Where `[network] proxy` is named in messages.
pub const PROXY_SETTING: &str = "[network] proxy";

/// Why the network configuration cannot be built. Each names the file or setting at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// A certificate authority file that cannot be used.
    #[error("certificate authority file {}: {reason}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The client certificate cannot be used.
    #[error("client certificate {}: {reason}", path.display())]
    ClientCert {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The client key cannot be used.
    #[error("client key {}: {reason}", path.display())]
    ClientKey {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The client certificate and key do not make an identity.
    #[error("client certificate and key: {0}")]
    Identity(String),
    /// `SSL_CERT_FILE` or `SSL_CERT_DIR` cannot be used.
    #[error("the trust store from {from}: {reason}")]
    TrustStore {
        /// The variables and their values.
        from: String,
        /// What went wrong.
        reason: String,
    },
    /// A proxy setting that cannot be used.
    #[error("{from}: {reason}")]
    Proxy {
        /// The variable or setting.
        from: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be made.
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

/// What the network configuration is made of.
#[derive(Debug, Clone, Default)]
pub struct NetOptions {
    /// Certificate authorities trusted besides the OS store (PEM files).
    pub ca_files: Vec<PathBuf>,
    /// A client certificate (PEM) shown to servers that ask for one.
    pub client_cert: Option<PathBuf>,
    /// Its private key (PEM, readable by the user only).
    pub client_key: Option<PathBuf>,
    /// Which proxy each URL goes through.
    pub proxies: Proxies,
}

impl NetOptions {
    /// `[network]` with the proxy it names (its password from `secrets`, the OS keyring), or else the proxy of
    /// the environment. A proxy user without a stored password is said in the log; the proxy then says 407.
    pub fn from_settings(
        network: &NetworkSettings,
        secrets: &dyn TokenStore,
    ) -> Result<Self, NetError> {
        let proxies = match &network.proxy {
            Some(text) => {
                let mut server = ProxyServer::parse(text, PROXY_SETTING, false)?;
                if server.user.is_some() {
                    let account = proxy::account(&server);
                    match secrets.get(&account) {
                        Ok(Some(password)) => server = server.with_password(password),
                        Ok(None) => tracing::warn!(
                            "no password for the proxy {server} in the OS keyring; store it with `alertdesk proxy login`"
                        ),
                        Err(e) => tracing::warn!("cannot read the proxy password: {e}"),
                    }
                }
                Proxies::from_setting(&server, &network.no_proxy)
            }
            None => Proxies::from_env(|name| std::env::var(name).ok())?,
        };
        Ok(Self {
            ca_files: network.ca_files.clone(),
            client_cert: network.client_cert.clone(),
            client_key: network.client_key.clone(),
            proxies,
        })
    }
}

/// The network configuration: TLS, proxies, and the HTTP client made from them. Cheap to clone.
#[derive(Clone)]
pub struct Net(Arc<Inner>);

struct Inner {
    trust: tls::Trust,
    ca_files: Vec<PathBuf>,
    tls: Arc<ClientConfig>,
    proxies: Proxies,
    http: reqwest::Client,
}

impl fmt::Debug for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Net")
            .field("ca_files", &self.0.ca_files)
            .field("client_cert", &self.0.trust.has_identity())
            .field("proxies", &self.0.proxies)
            .finish_non_exhaustive()
    }
}

impl Net {
    /// Builds the configuration: loads the OS trust store and every file named.
    pub fn build(options: &NetOptions) -> Result<Self, NetError> {
        Self::assemble(tls::Trust::os()?, options)
    }

    /// The OS trust store and no proxy (tests, and tools that must not depend on settings).
    pub fn direct() -> Result<Self, NetError> {
        Self::build(&NetOptions::default())
    }

    /// Trusting only the certificates in `ca_files` (tests).
    #[cfg(test)]
    pub(crate) fn only(options: &NetOptions) -> Result<Self, NetError> {
        Self::assemble(tls::Trust::empty(), options)
    }

    /// No trusted certificate and no proxy: for tests that speak plain HTTP on 127.0.0.1.
    #[cfg(test)]
    pub(crate) fn for_tests() -> Self {
        Self::only(&NetOptions::default()).expect("an empty configuration builds")
    }

    fn assemble(mut trust: tls::Trust, options: &NetOptions) -> Result<Self, NetError> {
        for file in &options.ca_files {
            trust.add_ca_file(file)?;
        }
        match (&options.client_cert, &options.client_key) {
            (Some(cert), Some(key)) => trust.set_identity(cert, key)?,
            (None, None) => {}
            (Some(_), None) | (None, Some(_)) => {
                return Err(NetError::Identity(
                    "client_cert and client_key go together: set both or neither".into(),
                ))
            }
        }
        Self::from_parts(trust, options.ca_files.clone(), options.proxies.clone())
    }

    fn from_parts(
        trust: tls::Trust,
        ca_files: Vec<PathBuf>,
        proxies: Proxies,
    ) -> Result<Self, NetError> {
        let tls = Arc::new(trust.client_config()?);
        let http = configure(http::builder(), &tls, &proxies)
            .build()
            .map_err(|e| NetError::Client(http::describe(&e)))?;
        Ok(Self(Arc::new(Inner {
            trust,
            ca_files,
            tls,
            proxies,
            http,
        })))
    }

    /// The same configuration, trusting the certificates of `path` as well (a server's own CA file).
    pub fn with_ca_file(&self, path: &Path) -> Result<Self, NetError> {
        let mut trust = self.0.trust.clone();
        trust.add_ca_file(path)?;
        let mut ca_files = self.0.ca_files.clone();
        ca_files.push(path.to_path_buf());
        Self::from_parts(trust, ca_files, self.0.proxies.clone())
    }

    /// This configuration, or with `ca_file` too when there is one.
    pub fn with_optional_ca_file(&self, ca_file: Option<&Path>) -> Result<Self, NetError> {
        match ca_file {
            Some(path) => self.with_ca_file(path),
            None => Ok(self.clone()),
        }
    }

    /// The HTTP client every REST call uses (see [`http`]): this TLS, these proxies.
    pub fn http(&self) -> reqwest::Client {
        self.0.http.clone()
    }

    /// The rustls configuration (for the WebSocket).
    pub fn tls(&self) -> Arc<ClientConfig> {
        Arc::clone(&self.0.tls)
    }

    /// Sets this TLS configuration and these proxies (and no other) on a reqwest client being built: how the
    /// updater's client is made to go the same way.
    pub fn configure(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        configure(builder, &self.0.tls, &self.0.proxies)
    }

    /// The proxy `url` goes through, if any.
    pub fn proxy_for(&self, url: &url::Url) -> Option<&ProxyServer> {
        self.0.proxies.route(url)
    }

    /// A TCP stream to `url`'s host and port: straight there, or through its proxy's CONNECT tunnel.
    pub async fn open(&self, url: &url::Url) -> Result<TcpStream, OpenError> {
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return Err(OpenError::Address(crate::link::protocol::ws::redact(url)));
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        match self.proxy_for(url) {
            Some(proxy) => Ok(proxy.tunnel(host, port).await?),
            None => TcpStream::connect((host, port))
                .await
                .map_err(OpenError::Connect),
        }
    }

    /// One line for the log at start: what TLS trusts, whether a client certificate is shown, which proxies.
    pub fn summary(&self) -> String {
        let inner = &self.0;
        let mut trust = format!("the OS trust store ({} certificates)", inner.trust.os_roots);
        for file in &inner.ca_files {
            let _ = write!(trust, " and {}", file.display());
        }
        let identity = if inner.trust.has_identity() {
            "a client certificate"
        } else {
            "no client certificate"
        };
        let proxy = |server: &Option<ProxyServer>| {
            server
                .as_ref()
                .map_or_else(|| "direct".to_string(), |p| format!("via {p} ({})", p.from))
        };
        let mut line = format!(
            "TLS trusts {trust}, with {identity}; https/wss {}, http/ws {}",
            proxy(&inner.proxies.https),
            proxy(&inner.proxies.http)
        );
        if !inner.proxies.is_empty() && !inner.proxies.no_proxy.is_empty() {
            line.push_str(", except the NO_PROXY hosts");
        }
        line
    }
}

/// TLS and proxies on a reqwest client: the one rustls configuration, and our proxy rules instead of
/// reqwest's own reading of the environment.
fn configure(
    builder: reqwest::ClientBuilder,
    tls: &Arc<ClientConfig>,
    proxies: &Proxies,
) -> reqwest::ClientBuilder {
    let mut builder = builder
        .tls_backend_preconfigured(ClientConfig::clone(tls))
        .no_proxy();
    let mut servers: Vec<&ProxyServer> = proxies.https.iter().chain(&proxies.http).collect();
    servers.dedup();
    for server in servers {
        let (rules, target, mine) = (proxies.clone(), server.url(), server.clone());
        let mut proxy = reqwest::Proxy::custom(move |url: &url::Url| {
            (rules.route(url) == Some(&mine)).then(|| target.clone())
        });
        if let Some(value) = server
            .authorization()
            .and_then(|a| reqwest::header::HeaderValue::from_str(&a).ok())
        {
            let mut value = value;
            value.set_sensitive(true);
            proxy = proxy.custom_http_auth(value);
        }
        builder = builder.proxy(proxy);
    }
    builder
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL has no host or port.
    #[error("no host or port in {0}")]
    Address(String),
    /// The TCP connection failed.
    #[error("IO error: {0}")]
    Connect(std::io::Error),
    /// The proxy could not be reached or would not connect.
    #[error(transparent)]
    Tunnel(#[from] TunnelError),
}

/// Whether `url` carries alerts and credentials in the clear over the network: `http://` or `ws://` to a host
/// other than this machine.
pub fn unencrypted(url: &url::Url) -> bool {
    matches!(url.scheme(), "http" | "ws") && !is_this_machine(url)
}

fn is_this_machine(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
#[cfg(test)]
mod tests;
