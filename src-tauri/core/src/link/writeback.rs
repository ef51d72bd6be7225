//! Sending a response to the server: the acknowledgement (`[acknowledge]`) or a status response
//! (`[[responses]]`), where the profile says how. The outbox ([`crate::store::outbox`]) keeps each until the
//! server confirms it; [`outcome`] says what an attempt means for it.

use std::time::Duration;

use serde_json::Value;

use crate::domain::{Alert, Server, Timestamp, Token};
use crate::link::http;
use crate::profile::{render_value, Profile, Scope};
use crate::store::Sent;

/// The first retry waits this long; each next one twice as long, up to [`RETRY_CAP`].
const RETRY_FIRST: Duration = Duration::from_secs(5);
/// How much of a refusal's answer is read for its detail (the first 200 characters are kept).
const DETAIL_MAX: usize = 64 * 1024;
/// The longest wait between two attempts (a link coming back retries at once, whatever the wait).
const RETRY_CAP: Duration = Duration::from_secs(300);

/// Why a write-back failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteBackError {
    /// The profile has no request for this response: nothing to send (the local acknowledgement stands).
    #[error("profile {profile} has no way to send {response:?} to the server")]
    NotOffered {
        /// The profile.
        profile: String,
        /// The response.
        response: String,
    },
    /// The alert lacks a field the path or body needs.
    #[error("cannot build the {response} request: {message}")]
    Template {
        /// The response.
        response: String,
        /// What is missing.
        message: String,
    },
    /// The server refused the credentials (tried again: a new sign-in may fix it).
    #[error("{server} rejected the credentials (HTTP {status})")]
    Rejected {
        /// The server.
        server: String,
        /// Its status.
        status: u16,
    },
    /// The server answered that it will not take this request (a 4xx other than credentials, timeouts and
    /// rate limits): sending it again would not help.
    #[error("{server} refused it: HTTP {status}{detail}")]
    Refused {
        /// The server.
        server: String,
        /// Its status.
        status: u16,
        /// What it said, if anything (with a leading separator).
        detail: String,
    },
    /// The request did not get through, or the server failed (tried again).
    #[error("sending to {server} failed: {message}")]
    Failed {
        /// The server.
        server: String,
        /// What went wrong.
        message: String,
    },
}

impl WriteBackError {
    /// Whether sending it again cannot help.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::NotOffered { .. } | Self::Template { .. } | Self::Refused { .. }
        )
    }
}

/// What an attempt (the `attempts`-th before it) means for the outbox entry: confirmed, retried later with a
/// delay that doubles from 5 s up to 5 min, or failed for good.
pub fn outcome(result: &Result<Value, WriteBackError>, attempts: u32) -> Sent {
    match result {
        Ok(_) => Sent::Confirmed,
        Err(e) if e.is_final() => Sent::Failed {
            error: e.to_string(),
        },
        Err(e) => {
            let wait = RETRY_FIRST
                .saturating_mul(2_u32.saturating_pow(attempts.min(16)))
                .min(RETRY_CAP);
            Sent::Retry {
                at: Timestamp::now().plus(chrono::TimeDelta::from_std(wait).unwrap_or_default()),
                error: e.to_string(),
            }
        }
    }
}

/// [`write_back`] to a connected server: its profile, address, token and variables.
pub async fn write_back_to(
    http: &reqwest::Client,
    target: &crate::link::Target,
    alert: &Alert,
    response: &str,
) -> Result<Value, WriteBackError> {
    write_back(
        http,
        &target.profile,
        &target.server,
        target.token.as_ref(),
        &target.vars,
        alert,
        response,
    )
    .await
}

/// Sends the profile's request for `response` (`acknowledge`, or a `[[responses]]` name) about `alert` to
/// `server`, with the token in the profile's auth header. Returns the server's JSON answer (or null).
pub async fn write_back(
    http: &reqwest::Client,
    profile: &Profile,
    server: &Server,
    token: Option<&Token>,
    vars: &std::collections::BTreeMap<String, String>,
    alert: &Alert,
    response: &str,
) -> Result<Value, WriteBackError> {
    let call = profile
        .call(response)
        .ok_or_else(|| WriteBackError::NotOffered {
            profile: profile.name.clone(),
            response: response.to_string(),
        })?;
    let failed = |message: String| WriteBackError::Failed {
        server: server.to_string(),
        message,
    };
    let template = |e: &dyn std::fmt::Display| WriteBackError::Template {
        response: response.to_string(),
        message: e.to_string(),
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
    let path = call.path.render_path(&scope).map_err(|e| template(&e))?;
    let url = server.http_url(&path).map_err(|e| template(&e))?;
    let method = reqwest::Method::from_bytes(call.method.as_bytes()).map_err(|e| template(&e))?;
    let mut request = http.request(method, url);
    if let Some(body) = call.body {
        request = request.json(&render_value(body, &scope).map_err(|e| template(&e))?);
    }
    if token.is_some() {
        let value = profile
            .auth
            .value
            .render(&scope)
            .map_err(|e| template(&e))?;
        request = request.header(profile.auth.header.as_str(), value);
    }
    let answer = request
        .send()
        .await
        .map_err(|e| failed(http::describe(&e)))?;
    let status = answer.status();
    match status.as_u16() {
        401 | 403 => Err(WriteBackError::Rejected {
            server: server.to_string(),
            status: status.as_u16(),
        }),
        408 | 425 | 429 => Err(failed(format!("HTTP {status}"))),
        400..=499 => {
            let text = http::read_body(answer, DETAIL_MAX)
                .await
                .map(|body| String::from_utf8_lossy(&body).into_owned())
                .unwrap_or_default();
            let detail: String = text.trim().chars().take(200).collect();
            Err(WriteBackError::Refused {
                server: server.to_string(),
                status: status.as_u16(),
                detail: if detail.is_empty() {
                    String::new()
                } else {
                    format!(": {detail}")
                },
            })
        }
        _ if !status.is_success() => Err(failed(format!("HTTP {status}"))),
        // The 2xx confirms it; what the server said with it is read within the cap, or not at all.
        _ => Ok(match http::read_json(answer).await {
            Ok(value) => value,
            Err(e) => {
                tracing::debug!(%server, "{response} confirmed; its answer: {e}");
                Value::Null
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed() -> WriteBackError {
        WriteBackError::Failed {
            server: "http://a".into(),
            message: "connection refused".into(),
        }
    }

    #[test]
    fn retries_wait_longer_each_time_up_to_the_cap_and_refusals_are_final() {
        let wait = |attempts| match outcome(&Err(failed()), attempts) {
            Sent::Retry { at, .. } => at.since(Timestamp::now()).num_seconds(),
            other => panic!("{other:?}"),
        };
        assert!((3..=5).contains(&wait(0)), "{}", wait(0));
        assert!((8..=10).contains(&wait(1)), "{}", wait(1));
        assert!((295..=300).contains(&wait(30)), "{}", wait(30));
        let refused = WriteBackError::Refused {
            server: "http://a".into(),
            status: 409,
            detail: String::new(),
        };
        assert!(matches!(outcome(&Err(refused), 0), Sent::Failed { .. }));
        let rejected = WriteBackError::Rejected {
            server: "http://a".into(),
            status: 401,
        };
        assert!(matches!(outcome(&Err(rejected), 0), Sent::Retry { .. }));
        assert_eq!(outcome(&Ok(Value::Null), 3), Sent::Confirmed);
    }
}
