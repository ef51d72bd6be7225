//! Writing an acknowledgement back to the server, where the profile says how (`[acknowledge]`).

use serde_json::Value;

use crate::domain::Alert;
use crate::domain::Server;
use crate::domain::Token;
use crate::link::auth::without_url;
use crate::profile::{render_value, Profile, Scope};

/// Why a write-back failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteBackError {
    /// The profile has no `[acknowledge]`: nothing to write back (the local acknowledgement stands).
    #[error("profile {0} has no way to acknowledge on the server")]
    NotOffered(String),
    /// The alert lacks a field the path or body needs.
    #[error("cannot build the acknowledge request: {0}")]
    Template(String),
    /// The server refused the credentials.
    #[error("{server} rejected the credentials (HTTP {status})")]
    Rejected {
        /// The server.
        server: String,
        /// Its status.
        status: u16,
    },
    /// The request failed.
    #[error("acknowledging on {server} failed: {message}")]
    Failed {
        /// The server.
        server: String,
        /// What went wrong.
        message: String,
    },
}

/// [`write_back`] to a connected server: its profile, address, token and variables.
pub async fn write_back_to(
    http: &reqwest::Client,
    target: &crate::link::Target,
    alert: &Alert,
) -> Result<Value, WriteBackError> {
    write_back(
        http,
        &target.profile,
        &target.server,
        target.token.as_ref(),
        &target.vars,
        alert,
    )
    .await
}

/// Sends the profile's acknowledge request for `alert` to `server`, with the token in the profile's auth
/// header. Returns the server's JSON answer (or null).
pub async fn write_back(
    http: &reqwest::Client,
    profile: &Profile,
    server: &Server,
    token: Option<&Token>,
    vars: &std::collections::BTreeMap<String, String>,
    alert: &Alert,
) -> Result<Value, WriteBackError> {
    let ack = profile
        .acknowledge
        .as_ref()
        .ok_or_else(|| WriteBackError::NotOffered(profile.name.clone()))?;
    let failed = |message: String| WriteBackError::Failed {
        server: server.to_string(),
        message,
    };
    // Fetched records sit under `record` beside the message; templates see the message, `$record` the record.
    let (payload, record) = match (&alert.data.get("message"), &alert.data.get("record")) {
        (Some(message), Some(record)) => ((*message).clone(), Some((*record).clone())),
        _ => (alert.data.clone(), None),
    };
    let mut vars = vars.clone();
    if let Some(token) = token {
        vars.insert("token".into(), token.expose().to_string());
    }
    let scope = Scope {
        payload: &payload,
        vars: &vars,
        record: record.as_ref(),
    };
    let path = ack
        .path
        .render(&scope)
        .map_err(|e| WriteBackError::Template(e.to_string()))?;
    let url = server.http_url(&path).map_err(|e| failed(e.to_string()))?;
    let method =
        reqwest::Method::from_bytes(ack.method.as_bytes()).map_err(|e| failed(e.to_string()))?;
    let mut request = http.request(method, url);
    if let Some(body) = &ack.body {
        request = request.json(
            &render_value(body, &scope).map_err(|e| WriteBackError::Template(e.to_string()))?,
        );
    }
    if token.is_some() {
        let value = profile
            .auth
            .value
            .render(&scope)
            .map_err(|e| WriteBackError::Template(e.to_string()))?;
        request = request.header(profile.auth.header.as_str(), value);
    }
    let response = request.send().await.map_err(|e| failed(without_url(&e)))?;
    let status = response.status();
    if matches!(status.as_u16(), 401 | 403) {
        return Err(WriteBackError::Rejected {
            server: server.to_string(),
            status: status.as_u16(),
        });
    }
    if !status.is_success() {
        return Err(failed(format!("HTTP {status}")));
    }
    Ok(response.json().await.unwrap_or(Value::Null))
}
