//! A backend's address, as the user gives it (`http://host:8080`, `https://host/dispatch`, or `ws://...`).

use std::fmt;

use url::Url;

/// A normalized server base URL: `http` or `https`, no query, no trailing slash.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Server(Url);

impl Server {
    /// Parses and normalizes a server address.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut url =
            Url::parse(text.trim()).map_err(|e| format!("invalid server URL {text:?}: {e}"))?;
        let scheme = match url.scheme() {
            "http" | "ws" => "http",
            "https" | "wss" => "https",
            other => {
                return Err(format!(
                    "server URL {text:?}: unsupported scheme {other:?} (use http or https)"
                ))
            }
        };
        url.set_scheme(scheme)
            .map_err(|()| format!("server URL {text:?}: cannot use scheme {scheme}"))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("server URL {text:?} has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "server URL {text:?}: put credentials in `alertdesk login`, not in the URL"
            ));
        }
        url.set_query(None);
        url.set_fragment(None);
        let path = url.path().trim_end_matches('/').to_string();
        url.set_path(&path);
        Ok(Self(url))
    }

    /// `http(s)://host[:port][/prefix]` without a trailing slash.
    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }

    /// An HTTP URL for `path` (which starts with `/`) on this server.
    pub fn http_url(&self, path: &str) -> Result<Url, String> {
        Url::parse(&format!("{}{path}", self.as_str()))
            .map_err(|e| format!("bad path {path:?}: {e}"))
    }

    /// The WebSocket URL (`ws`/`wss`) for `path` on this server.
    pub fn ws_url(&self, path: &str) -> Result<Url, String> {
        let mut url = self.http_url(path)?;
        let scheme = if self.0.scheme() == "https" {
            "wss"
        } else {
            "ws"
        };
        url.set_scheme(scheme)
            .map_err(|()| "cannot build the WebSocket URL".to_string())?;
        Ok(url)
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Server;

    #[test]
    fn normalizes_and_builds_urls() {
        let s = Server::parse("http://127.0.0.1:5000/").unwrap();
        assert_eq!(s.as_str(), "http://127.0.0.1:5000");
        assert_eq!(s.ws_url("/ws").unwrap().as_str(), "ws://127.0.0.1:5000/ws");
        let s = Server::parse("wss://dispatch.example/station4/?x=1").unwrap();
        assert_eq!(s.as_str(), "https://dispatch.example/station4");
        assert_eq!(
            s.ws_url("/socket.io/").unwrap().as_str(),
            "wss://dispatch.example/station4/socket.io/"
        );
        assert_eq!(
            s.http_url("/api/x").unwrap().as_str(),
            "https://dispatch.example/station4/api/x"
        );
    }

    #[test]
    fn rejects_bad_addresses() {
        for bad in [
            "",
            "127.0.0.1:5000",
            "ftp://x",
            "http://user:pw@host",
            "http://",
        ] {
            assert!(Server::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
