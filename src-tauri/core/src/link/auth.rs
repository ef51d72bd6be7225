//! Sign-in: the login request that exchanges a username and password for a token, and where tokens live.
//!
//! Tokens live in the OS keyring only ([`KeyringStore`]: Secret Service on Linux, entry service `alertdesk`,
//! user `<profile>@<server>`), never in a file, a log or the history. [`MemoryStore`] serves unit tests.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde_json::Value;

use super::{base, http};
use crate::domain::{Server, Token};
use crate::profile::{render_value, template, Profile, Scope};

/// The keyring service name.
pub const KEYRING_SERVICE: &str = "alertdesk";

/// Environment variable holding a token (wins over the keyring, loses to `--token`).
pub const TOKEN_ENV: &str = "ALERTDESK_TOKEN";

/// Why a token store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("OS keyring: {0}")]
pub struct KeyringError(pub String);

/// Where tokens are kept.
pub trait TokenStore: Send + Sync {
    /// The token for `account`, if one is stored.
    fn get(&self, account: &str) -> Result<Option<Token>, KeyringError>;
    /// Stores (or replaces) the token for `account`.
    fn set(&self, account: &str, token: &Token) -> Result<(), KeyringError>;
    /// Deletes the token; `false` when there was none.
    fn delete(&self, account: &str) -> Result<bool, KeyringError>;
}

/// The keyring account of a profile on a server.
pub fn account(profile: &str, server: &Server) -> String {
    format!("{profile}@{server}")
}

/// The OS keyring (Secret Service on Linux).
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyringStore;

impl KeyringStore {
    fn entry(account: &str) -> Result<keyring::Entry, KeyringError> {
        keyring::Entry::new(KEYRING_SERVICE, account).map_err(|e| KeyringError(e.to_string()))
    }
}

impl TokenStore for KeyringStore {
    fn get(&self, account: &str) -> Result<Option<Token>, KeyringError> {
        match Self::entry(account)?.get_password() {
            Ok(secret) => Ok(Some(Token::new(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(KeyringError(e.to_string())),
        }
    }

    fn set(&self, account: &str, token: &Token) -> Result<(), KeyringError> {
        Self::entry(account)?
            .set_password(token.expose())
            .map_err(|e| KeyringError(e.to_string()))
    }

    fn delete(&self, account: &str) -> Result<bool, KeyringError> {
        match Self::entry(account)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(KeyringError(e.to_string())),
        }
    }
}

/// Tokens in memory, for tests.
#[derive(Debug, Default)]
pub struct MemoryStore(Mutex<HashMap<String, Token>>);

impl TokenStore for MemoryStore {
    fn get(&self, account: &str) -> Result<Option<Token>, KeyringError> {
        Ok(self.0.lock().expect("not poisoned").get(account).cloned())
    }
    fn set(&self, account: &str, token: &Token) -> Result<(), KeyringError> {
        self.0
            .lock()
            .expect("not poisoned")
            .insert(account.to_string(), token.clone());
        Ok(())
    }
    fn delete(&self, account: &str) -> Result<bool, KeyringError> {
        Ok(self
            .0
            .lock()
            .expect("not poisoned")
            .remove(account)
            .is_some())
    }
}

/// Why signing in failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The profile has no `[auth.login]`.
    #[error("profile {0} has no login request; it needs a token")]
    NoLogin(String),
    /// The server refused the username or password.
    #[error("{server} rejected the username or password (HTTP {status})")]
    Rejected {
        /// The server.
        server: String,
        /// Its HTTP status.
        status: u16,
    },
    /// The request failed.
    #[error("login request to {server} failed: {message}")]
    Request {
        /// The server.
        server: String,
        /// What went wrong.
        message: String,
    },
    /// The answer has no token where the profile says.
    #[error("{server} answered the login without a token at {path:?}")]
    NoToken {
        /// The server.
        server: String,
        /// The profile's `auth.login.token` path.
        path: String,
    },
}

/// A successful sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The token.
    pub token: Token,
    /// The REST base where the login answered, when it was looked for and is not the profile's default.
    pub api_base: Option<String>,
}

/// Runs the profile's login request and returns the token. With `discover_base` (the profile has `api_base`
/// and the user did not set it), a login path that is not there is tried at the usual other bases.
pub async fn login(
    http: &reqwest::Client,
    profile: &Profile,
    server: &Server,
    username: &str,
    password: &Token,
    vars: &BTreeMap<String, String>,
    discover_base: bool,
) -> Result<SignedIn, LoginError> {
    let default = vars.get(base::VARIABLE).cloned();
    let bases = match (&default, discover_base) {
        (Some(default), true) => base::candidates(None, default),
        (Some(default), false) => vec![default.clone()],
        (None, _) => vec![String::new()],
    };
    let mut last = None;
    for candidate in &bases {
        let mut vars = vars.clone();
        if default.is_some() {
            vars.insert(base::VARIABLE.into(), candidate.clone());
        }
        match login_once(http, profile, server, username, password, &vars).await {
            Ok(token) => {
                let api_base = (default.as_ref() != Some(candidate) && default.is_some())
                    .then(|| candidate.clone());
                if let Some(found) = &api_base {
                    tracing::info!(%server, "login answered at REST base {}", base::shown(found));
                }
                return Ok(SignedIn { token, api_base });
            }
            Err(Attempt::WrongPath(e)) => last = Some(e),
            Err(Attempt::Failed(e)) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| LoginError::NoLogin(profile.name.clone())))
}

/// One login attempt: a path that is not there is worth trying elsewhere; anything else is the answer.
enum Attempt {
    WrongPath(LoginError),
    Failed(LoginError),
}

async fn login_once(
    http: &reqwest::Client,
    profile: &Profile,
    server: &Server,
    username: &str,
    password: &Token,
    vars: &BTreeMap<String, String>,
) -> Result<Token, Attempt> {
    let failed = |e| Attempt::Failed(e);
    let login = profile
        .auth
        .login
        .as_ref()
        .ok_or_else(|| failed(LoginError::NoLogin(profile.name.clone())))?;
    let request_error = |message: String| {
        Attempt::Failed(LoginError::Request {
            server: server.to_string(),
            message,
        })
    };
    let mut vars = vars.clone();
    vars.insert("username".into(), username.to_string());
    vars.insert("password".into(), password.expose().to_string());
    let scope = Scope::of_vars(&vars);
    let path = login
        .path
        .render_path(&scope)
        .map_err(|e| request_error(e.to_string()))?;
    let body = render_value(&login.body, &scope).map_err(|e| request_error(e.to_string()))?;
    let url = server
        .http_url(&path)
        .map_err(|e| request_error(e.to_string()))?;
    let response = http
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(|e| request_error(http::describe(&e)))?;
    let status = response.status();
    if status.as_u16() == 401 || status.as_u16() == 403 {
        return Err(failed(LoginError::Rejected {
            server: server.to_string(),
            status: status.as_u16(),
        }));
    }
    if matches!(status.as_u16(), 404 | 405) {
        return Err(Attempt::WrongPath(LoginError::Request {
            server: server.to_string(),
            message: format!("HTTP {status} at {path}"),
        }));
    }
    if !status.is_success() {
        return Err(request_error(format!("HTTP {status}")));
    }
    let answer: Value = http::read_json(response)
        .await
        .map_err(|e| request_error(e.to_string()))?;
    match template::select_first(&answer, &login.token) {
        Some(Value::String(token)) if !token.is_empty() => Ok(Token::new(token.clone())),
        _ => Err(failed(LoginError::NoToken {
            server: server.to_string(),
            path: login.token.clone(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_round_trip() {
        let store = MemoryStore::default();
        let server = Server::parse("http://127.0.0.1:9").unwrap();
        let account = account("station-reports", &server);
        assert_eq!(account, "station-reports@http://127.0.0.1:9");
        assert!(store.get(&account).unwrap().is_none());
        store.set(&account, &Token::new("t1")).unwrap();
        assert_eq!(store.get(&account).unwrap().unwrap().expose(), "t1");
        assert!(store.delete(&account).unwrap());
        assert!(!store.delete(&account).unwrap());
    }
}
