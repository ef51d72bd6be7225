//! A backend's address ([`Server`]: as the user gives it, `http://host:8080`, `https://host/dispatch` or
//! `ws://...`, normalized) and its identity everywhere else ([`ServerId`]).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

/// Why a server address or path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    /// Not a URL at all.
    #[error("invalid server URL {text:?}: {reason}")]
    Invalid {
        /// What was given.
        text: String,
        /// What the URL parser said.
        reason: String,
    },
    /// A scheme other than http(s) or ws(s).
    #[error("server URL {text:?}: unsupported scheme {scheme:?} (use http or https)")]
    Scheme {
        /// What was given.
        text: String,
        /// Its scheme.
        scheme: String,
    },
    /// No host.
    #[error("server URL {text:?} has no host")]
    NoHost {
        /// What was given.
        text: String,
    },
    /// A user name or password inside the URL.
    #[error("server URL {text:?} holds credentials; sign in instead of putting them in the URL")]
    Credentials {
        /// What was given.
        text: String,
    },
    /// A path that does not make a URL on this server.
    #[error("bad path {path:?}: {reason}")]
    Path {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
}

/// A normalized server base URL: `http` or `https`, no query, no trailing slash.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Server(Url);

impl Server {
    /// Parses and normalizes a server address.
    pub fn parse(text: &str) -> Result<Self, ServerError> {
        let mut url = Url::parse(text.trim()).map_err(|e| ServerError::Invalid {
            text: text.to_string(),
            reason: e.to_string(),
        })?;
        let scheme = match url.scheme() {
            "http" | "ws" => "http",
            "https" | "wss" => "https",
            other => {
                return Err(ServerError::Scheme {
                    text: text.to_string(),
                    scheme: other.to_string(),
                })
            }
        };
        // Both are special schemes, so switching between them cannot fail; checked anyway.
        url.set_scheme(scheme).map_err(|()| ServerError::Scheme {
            text: text.to_string(),
            scheme: scheme.to_string(),
        })?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ServerError::NoHost {
                text: text.to_string(),
            });
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ServerError::Credentials {
                text: text.to_string(),
            });
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

    /// The base URL.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// The identity of this server in the history, the policy, the engine and the UI.
    pub fn id(&self) -> ServerId {
        ServerId(Arc::from(self.as_str()))
    }

    /// `host[:port]`, for labels.
    pub fn host_port(&self) -> String {
        let host = self.0.host_str().unwrap_or_default();
        self.0
            .port()
            .map_or_else(|| host.to_string(), |p| format!("{host}:{p}"))
    }

    /// An HTTP URL for `path` on this server: `path` (which starts with `/`, may end with `?query`) goes after
    /// the server's own path. The result is always on this server's origin (scheme, host and port): the path is
    /// set as a path, never joined as text, so `@other.example/x` or `//other.example/x` stay paths here; a path
    /// that does not start with `/`, holds a fragment or a `.`/`..` segment is refused.
    pub fn http_url(&self, path: &str) -> Result<Url, ServerError> {
        let refused = |reason: &str| ServerError::Path {
            path: path.to_string(),
            reason: reason.to_string(),
        };
        if !path.starts_with('/') {
            return Err(refused("a path must start with /"));
        }
        if path.contains('#') {
            return Err(refused("a path holds no fragment (#)"));
        }
        let (path_part, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        if path_part
            .split(['/', '\\'])
            .any(crate::profile::template::is_dot_segment)
        {
            return Err(refused("a path holds no . or .. segments"));
        }
        let mut url = self.0.clone();
        let prefix = self.0.path().trim_end_matches('/');
        url.set_path(&format!("{prefix}{path_part}"));
        url.set_query(query);
        if url.origin() != self.0.origin() {
            return Err(refused("the path leaves the server"));
        }
        Ok(url)
    }

    /// The WebSocket URL (`ws`/`wss`) for `path` on this server.
    pub fn ws_url(&self, path: &str) -> Result<Url, ServerError> {
        let mut url = self.http_url(path)?;
        let scheme = if self.0.scheme() == "https" {
            "wss"
        } else {
            "ws"
        };
        url.set_scheme(scheme).map_err(|()| ServerError::Path {
            path: path.to_string(),
            reason: "cannot build the WebSocket URL".to_string(),
        })?;
        Ok(url)
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which server something belongs to: its normalized URL. Alerts are keyed by (server, id), links and link
/// alarms by server; a server has at most one link (one profile) at a time. Cheap to clone.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, ts_rs::TS)]
#[ts(type = "string")]
pub struct ServerId(Arc<str>);

impl ServerId {
    /// The id as stored (the normalized URL). Only for text that came from a [`Server`] (the history, the UI).
    pub fn from_stored(text: &str) -> Self {
        Self(Arc::from(text))
    }

    /// The normalized URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerId({})", &self.0)
    }
}

impl From<&Server> for ServerId {
    fn from(server: &Server) -> Self {
        server.id()
    }
}

impl Serialize for ServerId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ServerId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(Self(Arc::from(text)))
    }
}

impl rusqlite::ToSql for ServerId {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::from(self.as_str()))
    }
}

impl rusqlite::types::FromSql for ServerId {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        Ok(Self::from_stored(value.as_str()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_builds_urls() {
        let s = Server::parse("http://127.0.0.1:5000/").unwrap();
        assert_eq!(s.as_str(), "http://127.0.0.1:5000");
        assert_eq!(s.id().as_str(), "http://127.0.0.1:5000");
        assert_eq!(s.host_port(), "127.0.0.1:5000");
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
        assert_eq!(
            Server::parse("https://dispatch.example/").unwrap().id(),
            Server::parse("wss://dispatch.example").unwrap().id(),
            "one server, one id"
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
        assert!(matches!(
            Server::parse("http://user:pw@host"),
            Err(ServerError::Credentials { .. })
        ));
    }

    #[test]
    fn paths_never_leave_the_server() {
        let s = Server::parse("http://127.0.0.1:5000").unwrap();
        let origin = |path: &str| s.http_url(path).map(|u| u.origin());
        for path in [
            "/x",
            "/@other.example/x",
            "//other.example/x",
            "/\\\\other.example/x",
            "/a?next=http://other.example/",
            "/a%2F..%2Fb",
        ] {
            assert_eq!(origin(path), Ok(s.0.origin()), "{path}");
        }
        assert_eq!(
            s.http_url("//other.example/x").unwrap().as_str(),
            "http://127.0.0.1:5000//other.example/x"
        );
        assert_eq!(
            s.http_url("/api/reports?since=5&x=a b").unwrap().as_str(),
            "http://127.0.0.1:5000/api/reports?since=5&x=a%20b"
        );
        for bad in [
            "@other.example/x",
            ".other.example/x",
            "other.example/x",
            "",
            "/a/../b",
            "/a/%2e%2E/b",
            "/a/./b",
            "/a\\..\\b",
            "/a#b",
        ] {
            assert!(
                matches!(s.http_url(bad), Err(ServerError::Path { .. })),
                "{bad:?} accepted: {:?}",
                s.http_url(bad)
            );
        }
        // Under a server with a path prefix, the path goes after it.
        let s = Server::parse("https://dispatch.example/station4").unwrap();
        assert_eq!(
            s.http_url("//other.example/x").unwrap().as_str(),
            "https://dispatch.example/station4//other.example/x"
        );
    }
}
