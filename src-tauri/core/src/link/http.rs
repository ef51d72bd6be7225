//! The HTTP client every REST call uses (sign-in, lists, records, write-backs, the probe), and reading its
//! answers within bounds.
//!
//! - TLS and proxies are the [`net`](super::net) configuration's (one for every connection); a request is
//!   bounded in time (10 s, 5 s to connect).
//! - Redirects are followed only within the origin of the request (scheme, host and port), at most
//!   [`MAX_REDIRECTS`] times. A redirect to another origin is an error naming that origin: the auth header and a
//!   login body never leave the server they were meant for (reqwest itself would drop only `Authorization` and
//!   cookies on another host, and would resend a login body on a 307/308).
//! - An answer is read chunk by chunk up to [`max_body`] bytes (`[network] max_body_mib`, default 8 MiB); a
//!   larger one stops the read with an error ("answer larger than 8 MiB"), it is never buffered whole.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

/// How many redirects within the origin are followed.
pub const MAX_REDIRECTS: usize = 5;

/// One mebibyte.
const MIB: usize = 1024 * 1024;

/// The default cap on an answer's size.
pub const DEFAULT_MAX_BODY: usize = 8 * MIB;

/// The cap on an answer's size, set once from the settings at start ([`set_max_body`]).
static MAX_BODY: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_BODY);

/// Sets the cap on every answer read from now on (the process applies `[network] max_body_mib` at start).
pub fn set_max_body(bytes: usize) {
    MAX_BODY.store(bytes.max(1), Ordering::Relaxed);
}

/// The cap on an answer's size, in bytes.
pub fn max_body() -> usize {
    MAX_BODY.load(Ordering::Relaxed)
}

/// The HTTP client every REST call uses, before [`Net`](super::net::Net) sets its TLS and proxies (use
/// [`Net::http`](super::net::Net::http)).
pub(crate) fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("alertdesk/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::custom(same_origin_only))
}

/// A redirect to another origin, refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "the server redirected to another origin, {0}; not followed (credentials stay with the server)"
)]
pub struct OffOrigin(pub String);

/// More redirects than [`MAX_REDIRECTS`].
#[derive(Debug, thiserror::Error)]
#[error("the server redirected more than {MAX_REDIRECTS} times; not followed")]
struct TooManyRedirects;

fn same_origin_only(attempt: reqwest::redirect::Attempt<'_>) -> reqwest::redirect::Action {
    let Some(first) = attempt.previous().first() else {
        return attempt.stop();
    };
    let to = attempt.url().origin();
    if to != first.origin() {
        return attempt.error(OffOrigin(to.ascii_serialization()));
    }
    if attempt.previous().len() > MAX_REDIRECTS {
        return attempt.error(TooManyRedirects);
    }
    attempt.follow()
}

/// A reqwest error in words, without the URL (which may carry a query token); a refused redirect says where it
/// pointed (the origin only); a TLS failure says what it means; a proxy's refusal says so.
pub fn describe(e: &reqwest::Error) -> String {
    if let Some(tls) = super::net::tls::find_rustls(e) {
        return super::net::tls::describe(tls);
    }
    if let Some(proxy) = proxy_refusal(e) {
        return proxy;
    }
    if e.is_redirect() {
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            if let Some(off) = cause.downcast_ref::<OffOrigin>() {
                return off.to_string();
            }
            if let Some(many) = cause.downcast_ref::<TooManyRedirects>() {
                return many.to_string();
            }
            source = cause.source();
        }
    }
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), &crate::link::protocol::ws::redact(url));
    }
    text
}

/// The proxy's refusal behind a failed request, in words (hyper-util's tunnel says only "proxy authorization
/// required" or "unsuccessful").
fn proxy_refusal(e: &reqwest::Error) -> Option<String> {
    let mut source = std::error::Error::source(e);
    let mut depth = 0;
    while let Some(cause) = source {
        let text = cause.to_string();
        if text.contains("proxy authorization required") {
            return Some(
                "the proxy refused the request: HTTP 407 Proxy Authentication Required (check the proxy user and \
                 its password: `alertdesk proxy login`)"
                    .into(),
            );
        }
        if text.contains("tunnel error: unsuccessful") {
            return Some(
                "the proxy would not connect to the server (its answer to CONNECT was not 200)"
                    .into(),
            );
        }
        depth += 1;
        source = if depth > 16 { None } else { cause.source() };
    }
    None
}

/// Why an answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Larger than the cap: the read stopped there.
    #[error("answer larger than {} (the [network] max_body_mib setting); not read", shown(*.0))]
    TooLarge(usize),
    /// The connection failed while reading.
    #[error("answer cut off: {0}")]
    Read(String),
    /// Read whole, but not JSON.
    #[error("answer is not JSON: {0}")]
    NotJson(String),
}

/// "8 MiB", or bytes for a cap that is not a whole number of MiB (tests).
fn shown(bytes: usize) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Reads an answer's body, at most `limit` bytes: a declared or actual length beyond it stops the read.
pub async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX))
    {
        return Err(BodyError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| BodyError::Read(describe(&e)))?
    {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(BodyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads an answer as JSON, within [`max_body`].
pub async fn read_json(response: reqwest::Response) -> Result<Value, BodyError> {
    read_json_within(response, max_body()).await
}

/// Reads an answer as JSON, at most `limit` bytes.
pub async fn read_json_within(
    response: reqwest::Response,
    limit: usize,
) -> Result<Value, BodyError> {
    let body = read_body(response, limit).await?;
    serde_json::from_slice(&body).map_err(|e| BodyError::NotJson(e.to_string()))
}

#[cfg(test)]
mod tests;
