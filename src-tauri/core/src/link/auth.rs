//! Sign-in: the login request that exchanges a username and password for a token, the refresh request that
//! renews it, and where tokens live.
//!
//! Tokens live in the OS keyring only ([`KeyringStore`]: Secret Service on Linux, entry service `alertdesk`,
//! user `<profile>@<server>`, and the refresh token, where the login answered one, as
//! `<profile>@<server> refresh`), never in a file, a log or the history. [`MemoryStore`] serves unit tests.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde_json::Value;

use super::session::Credentials;
use super::{base, http};
use crate::domain::{Server, Timestamp, Token};
use crate::profile::login::{AnswerPaths, Login};
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

/// The keyring account of the refresh token kept next to `account`'s token.
pub fn refresh_account(account: &str) -> String {
    format!("{account} refresh")
}

/// Writes `credentials` to the token store: the token, and the refresh token next to it (a stale one goes).
pub fn keep(
    tokens: &dyn TokenStore,
    account: &str,
    credentials: &Credentials,
) -> Result<(), KeyringError> {
    tokens.set(account, &credentials.token)?;
    let refresh_account = refresh_account(account);
    match &credentials.refresh {
        Some(refresh) => tokens.set(&refresh_account, refresh),
        None => tokens.delete(&refresh_account).map(|_| ()),
    }
}

/// Removes `account`'s token and the refresh token kept next to it; `false` when there was neither.
pub fn forget(tokens: &dyn TokenStore, account: &str) -> Result<bool, KeyringError> {
    let refresh = tokens.delete(&refresh_account(account))?;
    Ok(tokens.delete(account)? || refresh)
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
    /// The token, its refresh token and its lifetime.
    pub credentials: Credentials,
    /// The REST base where the login answered, when it was looked for and is not the profile's default.
    pub api_base: Option<String>,
    /// Why this sign-in will not be renewed or announced before it ends, though the profile expects it to be:
    /// the server's answer does not carry what the profile says it does (logged as a warning).
    pub unrenewable: Option<String>,
}

impl SignedIn {
    /// The access token.
    pub fn token(&self) -> &Token {
        &self.credentials.token
    }
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
            Ok(credentials) => {
                let api_base = (default.as_ref() != Some(candidate) && default.is_some())
                    .then(|| candidate.clone());
                if let Some(found) = &api_base {
                    tracing::info!(%server, "login answered at REST base {}", base::shown(found));
                }
                let unrenewable = profile
                    .auth
                    .login
                    .as_ref()
                    .and_then(|login| unrenewable(login, &credentials));
                if let Some(why) = &unrenewable {
                    tracing::warn!(%server, profile = %profile.name, "{why}");
                }
                return Ok(SignedIn {
                    credentials,
                    api_base,
                    unrenewable,
                });
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
) -> Result<Credentials, Attempt> {
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
            // The template, not the rendered path: values put into it may be secrets.
            message: format!("HTTP {status} at {}", login.path.source()),
        }));
    }
    if !status.is_success() {
        return Err(request_error(format!("HTTP {status}")));
    }
    let answer: Value = http::read_json(response)
        .await
        .map_err(|e| request_error(e.to_string()))?;
    read_credentials(&answer, login.answer(), None).ok_or_else(|| {
        failed(LoginError::NoToken {
            server: server.to_string(),
            path: login.token.clone(),
        })
    })
}

/// Why `credentials` will not be renewed or announced before they end, when `login` expects them to be: a
/// refresh request but no refresh token in the answer, or a declared lifetime that neither the answer nor the
/// token (a JWT's `exp`) gives.
fn unrenewable(login: &Login, credentials: &Credentials) -> Option<String> {
    if login.refresh.is_some() && credentials.refresh.is_none() {
        let path = login.refresh_token.as_deref().unwrap_or("(none declared)");
        return Some(format!(
            "the sign-in answer has no refresh token at {path}: this sign-in is not renewed, sign in again before it ends"
        ));
    }
    let declared = login.refresh.is_some() || login.expires_in.is_some();
    (declared && credentials.expires_at.is_none()).then(|| {
        let path = login.expires_in.as_deref().unwrap_or("(none declared)");
        format!(
            "the sign-in answer does not say when the token ends (the token has no exp, nothing at {path}): \
             it cannot be renewed or announced before it ends"
        )
    })
}

/// The token, refresh token and lifetime an answer holds where `paths` say (`None` without a token). A refresh
/// answer without a new refresh token keeps `kept`.
fn read_credentials(
    answer: &Value,
    paths: AnswerPaths<'_>,
    kept: Option<&Token>,
) -> Option<Credentials> {
    let text = |path: &str| match template::select_first(answer, path) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let token = text(paths.token)?;
    let refresh = paths
        .refresh_token
        .and_then(text)
        .map(Token::new)
        .or_else(|| kept.cloned());
    let expires_in =
        paths
            .expires_in
            .and_then(|path| match template::select_first(answer, path)? {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            });
    Some(Credentials::new(
        Token::new(token),
        refresh,
        expires_in,
        Timestamp::now(),
    ))
}

/// Why renewing a token failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// The profile declares no refresh request, or there is no refresh token.
    #[error("no way to renew the sign-in to {0} (no refresh request or no refresh token)")]
    Unavailable(String),
    /// The server refused the refresh token: only signing in again helps.
    #[error("{server} refused to renew the sign-in (HTTP {status})")]
    Rejected {
        /// The server.
        server: String,
        /// Its HTTP status.
        status: u16,
    },
    /// The request failed (network, server error, an answer without a token): worth trying again.
    #[error("renewing the sign-in to {server} failed: {message}")]
    Failed {
        /// The server.
        server: String,
        /// What went wrong.
        message: String,
    },
}

impl RefreshError {
    /// Whether only signing in again helps (as opposed to trying again later).
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Rejected { .. })
    }
}

/// Runs the profile's `[auth.login.refresh]` request with `current`'s refresh token and returns the new
/// credentials (keeping the refresh token when the answer has no new one).
pub async fn refresh(
    http: &reqwest::Client,
    profile: &Profile,
    server: &Server,
    current: &Credentials,
    vars: &BTreeMap<String, String>,
) -> Result<Credentials, RefreshError> {
    let unavailable = || RefreshError::Unavailable(server.to_string());
    let login = profile.auth.login.as_ref().ok_or_else(unavailable)?;
    let (spec, paths) = login
        .refresh
        .as_ref()
        .zip(login.refresh_answer())
        .ok_or_else(unavailable)?;
    let refresh_token = current.refresh.as_ref().ok_or_else(unavailable)?;
    let failed = |message: String| RefreshError::Failed {
        server: server.to_string(),
        message,
    };
    let mut vars = vars.clone();
    vars.insert("refresh_token".into(), refresh_token.expose().to_string());
    vars.insert("token".into(), current.token.expose().to_string());
    let scope = Scope::of_vars(&vars);
    let path = spec
        .path
        .render_path(&scope)
        .map_err(|e| failed(e.to_string()))?;
    let body = render_value(&spec.body, &scope).map_err(|e| failed(e.to_string()))?;
    let url = server.http_url(&path).map_err(|e| failed(e.to_string()))?;
    let method =
        reqwest::Method::from_bytes(spec.method.as_bytes()).map_err(|e| failed(e.to_string()))?;
    let response = http
        .request(method, url)
        .json(&body)
        .send()
        .await
        .map_err(|e| failed(http::describe(&e)))?;
    let status = response.status();
    // 400 is how OAuth servers say the grant is invalid (RFC 6749 5.2); 401 and 403 how others do.
    if matches!(status.as_u16(), 400 | 401 | 403) {
        return Err(RefreshError::Rejected {
            server: server.to_string(),
            status: status.as_u16(),
        });
    }
    if !status.is_success() {
        // The template, not the rendered path: the refresh token may be put into it.
        return Err(failed(format!("HTTP {status} at {}", spec.path.source())));
    }
    let answer: Value = http::read_json(response)
        .await
        .map_err(|e| failed(e.to_string()))?;
    read_credentials(&answer, paths, Some(refresh_token))
        .ok_or_else(|| failed(format!("the answer has no token at {:?}", paths.token)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::test_http::{Answer, TestHttp};

    const REFRESHING: &str = r#"
name = "refreshing"
protocol = "socketio"
[auth]
mode = "socketio"
[auth.login]
path = "/api/login"
token = "token"
refresh_token = "refreshToken"
expires_in = "expiresIn"
[auth.login.refresh]
path = "/api/refresh"
body = { refreshToken = "{{$refresh_token}}" }
[[rules]]
event = "e"
kind = "report"
"#;

    fn server(http: &TestHttp) -> Server {
        Server::parse(&http.url).unwrap()
    }

    #[tokio::test]
    async fn login_keeps_the_refresh_token_and_lifetime() {
        let http = TestHttp::start(|_| {
            Answer::Json(
                200,
                serde_json::json!({"token": "A1", "refreshToken": "R1", "expiresIn": 90}),
            )
        })
        .await;
        let profile = Profile::parse(REFRESHING, "t").unwrap();
        let before = Timestamp::now();
        let signed_in = login(
            &crate::link::net::Net::direct().unwrap().http(),
            &profile,
            &server(&http),
            "officer",
            &Token::new("pw"),
            &BTreeMap::new(),
            false,
        )
        .await
        .unwrap();
        let c = signed_in.credentials;
        assert_eq!(
            (c.token.expose(), c.refresh.unwrap().expose()),
            ("A1", "R1")
        );
        let lasts = c.expires_at.unwrap().since(before).num_seconds();
        assert!((89..=91).contains(&lasts), "{lasts}");
    }

    #[tokio::test]
    async fn an_answer_that_does_not_carry_what_the_profile_expects_is_said() {
        // Another dialect of the same server: snake_case fields and an opaque (not JWT) token.
        let http = TestHttp::start(|_| {
            Answer::Json(
                200,
                serde_json::json!({"token": "opaque", "refresh_token": "R1", "expires_in": 90}),
            )
        })
        .await;
        let profile = Profile::parse(REFRESHING, "t").unwrap();
        let signed_in = login(
            &crate::link::net::Net::direct().unwrap().http(),
            &profile,
            &server(&http),
            "officer",
            &Token::new("pw"),
            &BTreeMap::new(),
            false,
        )
        .await
        .unwrap();
        let why = signed_in.unrenewable.expect("the mismatch is said");
        assert!(why.contains("no refresh token at refreshToken"), "{why}");

        // The refresh token found, but nothing says when the token ends.
        let partly = REFRESHING.replace(
            "refresh_token = \"refreshToken\"",
            "refresh_token = \"refresh_token\"",
        );
        let profile = Profile::parse(&partly, "t").unwrap();
        let signed_in = login(
            &crate::link::net::Net::direct().unwrap().http(),
            &profile,
            &server(&http),
            "officer",
            &Token::new("pw"),
            &BTreeMap::new(),
            false,
        )
        .await
        .unwrap();
        let why = signed_in.unrenewable.expect("the unknown end is said");
        assert!(why.contains("nothing at expiresIn"), "{why}");

        // What the profile declares is there: nothing to say.
        let fitting = partly.replace("expires_in = \"expiresIn\"", "expires_in = \"expires_in\"");
        let profile = Profile::parse(&fitting, "t").unwrap();
        let signed_in = login(
            &crate::link::net::Net::direct().unwrap().http(),
            &profile,
            &server(&http),
            "officer",
            &Token::new("pw"),
            &BTreeMap::new(),
            false,
        )
        .await
        .unwrap();
        assert_eq!(signed_in.unrenewable, None);
    }

    #[tokio::test]
    async fn a_failed_renewal_never_says_the_refresh_token_put_into_its_path() {
        let http =
            TestHttp::start(|_| Answer::Json(503, serde_json::json!({"error": "busy"}))).await;
        let profile = Profile::parse(
            &REFRESHING.replace(
                "path = \"/api/refresh\"",
                "path = \"/api/refresh/{{$refresh_token}}\"",
            ),
            "t",
        )
        .unwrap();
        let current = Credentials::new(
            Token::new("A1"),
            Some(Token::new("R-secret")),
            None,
            Timestamp::now(),
        );
        let e = refresh(
            &crate::link::net::Net::direct().unwrap().http(),
            &profile,
            &server(&http),
            &current,
            &BTreeMap::new(),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            http.requests()[0].path().contains("R-secret"),
            "the path did carry it"
        );
        assert!(!e.contains("R-secret") && e.contains("HTTP 503"), "{e}");
    }

    #[tokio::test]
    async fn refresh_sends_the_refresh_token_and_reads_what_comes_back() {
        let http = TestHttp::start(|r| match r.path() {
            "/api/refresh" if String::from_utf8_lossy(&r.body).contains("R1") => Answer::Json(
                200,
                serde_json::json!({"token": "A2", "refreshToken": "R2", "expiresIn": "60"}),
            ),
            // Rotated: R2 gives a token, and no new refresh token (the one used is kept).
            "/api/refresh" if String::from_utf8_lossy(&r.body).contains("R2") => {
                Answer::Json(200, serde_json::json!({"token": "A3"}))
            }
            "/api/refresh" if String::from_utf8_lossy(&r.body).contains("broken") => {
                Answer::Json(503, serde_json::json!({"error": "busy"}))
            }
            "/api/refresh" if String::from_utf8_lossy(&r.body).contains("empty") => {
                Answer::Json(200, serde_json::json!({"ok": true}))
            }
            _ => Answer::Json(401, serde_json::json!({"error": "invalid refresh token"})),
        })
        .await;
        let profile = Profile::parse(REFRESHING, "t").unwrap();
        let (client, server) = (
            crate::link::net::Net::direct().unwrap().http(),
            server(&http),
        );
        let vars = BTreeMap::new();
        let current = Credentials::new(
            Token::new("A1"),
            Some(Token::new("R1")),
            Some(10),
            Timestamp::now(),
        );
        let next = refresh(&client, &profile, &server, &current, &vars)
            .await
            .unwrap();
        assert_eq!(
            (next.token.expose(), next.refresh.as_ref().unwrap().expose()),
            ("A2", "R2")
        );
        assert!(next.expires_at.unwrap() > current.expires_at.unwrap());
        let third = refresh(&client, &profile, &server, &next, &vars)
            .await
            .unwrap();
        assert_eq!(
            (
                third.token.expose(),
                third.refresh.as_ref().unwrap().expose()
            ),
            ("A3", "R2")
        );
        let sent = http.requests();
        assert_eq!(sent[0].method, "POST");
        let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
        assert_eq!(body, serde_json::json!({"refreshToken": "R1"}));

        let with = |refresh: &str| {
            Credentials::new(
                Token::new("A"),
                Some(Token::new(refresh)),
                None,
                Timestamp::now(),
            )
        };
        let refused = refresh(&client, &profile, &server, &with("revoked"), &vars)
            .await
            .unwrap_err();
        assert!(refused.is_final(), "{refused}");
        assert!(
            refused.to_string().contains("refused to renew"),
            "{refused}"
        );
        for flaky in ["broken", "empty"] {
            let e = refresh(&client, &profile, &server, &with(flaky), &vars)
                .await
                .unwrap_err();
            assert!(!e.is_final(), "{flaky}: tried again later: {e}");
            assert!(
                !e.to_string().contains(flaky),
                "a secret in the message: {e}"
            );
        }
        // No refresh token, or a profile without a refresh request: nothing to try.
        let none = Credentials::new(Token::new("A"), None, None, Timestamp::now());
        assert!(refresh(&client, &profile, &server, &none, &vars)
            .await
            .unwrap_err()
            .is_final());
        let plain = Profile::load("crowd-monitoring").unwrap();
        assert!(refresh(&client, &plain, &server, &current, &vars)
            .await
            .unwrap_err()
            .is_final());
    }

    #[test]
    fn keep_and_forget_hold_the_refresh_token_next_to_the_token() {
        let store = MemoryStore::default();
        let account = "p@http://127.0.0.1:9";
        let with = Credentials::new(
            Token::new("A"),
            Some(Token::new("R")),
            None,
            Timestamp::now(),
        );
        keep(&store, account, &with).unwrap();
        assert_eq!(
            store
                .get(&refresh_account(account))
                .unwrap()
                .unwrap()
                .expose(),
            "R"
        );
        // Signed in again without a refresh token: the old one goes.
        let without = Credentials {
            refresh: None,
            ..with
        };
        keep(&store, account, &without).unwrap();
        assert!(store.get(&refresh_account(account)).unwrap().is_none());
        keep(
            &store,
            account,
            &Credentials {
                refresh: Some(Token::new("R")),
                ..without
            },
        )
        .unwrap();
        assert!(forget(&store, account).unwrap());
        assert!(
            store.get(account).unwrap().is_none()
                && store.get(&refresh_account(account)).unwrap().is_none()
        );
        assert!(!forget(&store, account).unwrap());
    }

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
