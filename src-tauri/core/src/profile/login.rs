//! `[auth.login]` and `[auth.login.refresh]`: the request that exchanges a username and password for a token,
//! where its answer says how long the token lasts, and the request that renews it before it expires.

use serde::Deserialize;

use super::Template;

/// `[auth.login]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Path on the server, e.g. `/api/login`.
    pub path: Template,
    /// JSON body; string leaves are templates (`{{$username}}`, `{{$password}}`).
    #[serde(default = "default_login_body")]
    pub body: toml::Value,
    /// Dot path of the token in the JSON response.
    pub token: String,
    /// Dot path of a refresh token in the answer (`refresh_token || refreshToken`); with `[auth.login.refresh]`
    /// the token is renewed before it expires.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Dot path of the token's lifetime in seconds (`expires_in`), for tokens whose expiry is not in the token
    /// itself (a JWT's `exp` is read without it).
    #[serde(default)]
    pub expires_in: Option<String>,
    /// The request that trades the refresh token for a new token.
    #[serde(default)]
    pub refresh: Option<Refresh>,
}

/// `[auth.login.refresh]`: the request that renews the token with the refresh token the login answered.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refresh {
    /// HTTP method: POST, PUT or PATCH.
    #[serde(default = "default_method")]
    pub method: String,
    /// Path on the server, e.g. `{{$api_base}}/auth/refresh`.
    pub path: Template,
    /// JSON body; string leaves are templates (`{{$refresh_token}}`, `{{$token}}` the token being renewed).
    #[serde(default = "default_refresh_body")]
    pub body: toml::Value,
    /// Dot path of the new token in the answer (default: `auth.login.token`).
    #[serde(default)]
    pub token: Option<String>,
    /// Dot path of a new refresh token in the answer (default: `auth.login.refresh_token`); when the answer has
    /// none, the one used is kept.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Dot path of the new token's lifetime in seconds (default: `auth.login.expires_in`).
    #[serde(default)]
    pub expires_in: Option<String>,
}

/// Where the token, refresh token and lifetime are in an answer.
#[derive(Debug, Clone, Copy)]
pub struct AnswerPaths<'a> {
    /// The token.
    pub token: &'a str,
    /// The refresh token, if the profile reads one.
    pub refresh_token: Option<&'a str>,
    /// The lifetime in seconds, if the profile reads one.
    pub expires_in: Option<&'a str>,
}

impl Login {
    /// Where the login answer holds what it gives.
    pub fn answer(&self) -> AnswerPaths<'_> {
        AnswerPaths {
            token: &self.token,
            refresh_token: self.refresh_token.as_deref(),
            expires_in: self.expires_in.as_deref(),
        }
    }

    /// Where the refresh answer holds what it gives (the login's paths where the refresh names none).
    pub fn refresh_answer(&self) -> Option<AnswerPaths<'_>> {
        let refresh = self.refresh.as_ref()?;
        Some(AnswerPaths {
            token: refresh.token.as_deref().unwrap_or(&self.token),
            refresh_token: refresh
                .refresh_token
                .as_deref()
                .or(self.refresh_token.as_deref()),
            expires_in: refresh.expires_in.as_deref().or(self.expires_in.as_deref()),
        })
    }
}

fn default_method() -> String {
    "POST".into()
}

pub(super) fn default_login_body() -> toml::Value {
    let mut table = toml::Table::new();
    table.insert("username".into(), "{{$username}}".into());
    table.insert("password".into(), "{{$password}}".into());
    toml::Value::Table(table)
}

fn default_refresh_body() -> toml::Value {
    let mut table = toml::Table::new();
    table.insert("refresh_token".into(), "{{$refresh_token}}".into());
    toml::Value::Table(table)
}
