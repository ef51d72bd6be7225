//! What both transports share: opening a WebSocket, the heartbeat, classifying closes, checking JSON.

use std::time::Duration;

use futures_util::SinkExt;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::sio_frame::{FrameError, Limits};
use super::{Heartbeat, LinkEnd, LinkSpec};

/// An open WebSocket.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The largest message tungstenite will buffer before it drops the connection.
const HARD_CEILING: usize = 16 * 1024 * 1024;

/// Close codes that mean "your credentials are no good" (4401/4403 mirror HTTP 401/403).
const AUTH_CLOSE_CODES: &[u16] = &[4001, 4003, 4401, 4403];

/// The URL without query values, for logs and messages (a query may carry a token).
pub fn redact(url: &url::Url) -> String {
    let mut shown = url.clone();
    if url.query().is_some() {
        let keys: Vec<String> = url.query_pairs().map(|(k, _)| format!("{k}=…")).collect();
        shown.set_query(Some(&keys.join("&")));
    }
    shown.to_string()
}

/// Opens the WebSocket with the spec's headers and frame limit, over the spec's [`Net`](crate::link::net::Net):
/// straight to the server or through its proxy, with its TLS configuration. HTTP 401/403 on the upgrade is a
/// rejection.
pub async fn connect(spec: &LinkSpec) -> Result<Socket, LinkEnd> {
    let mut request = spec
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| LinkEnd::Closed(format!("bad URL {}: {e}", redact(&spec.url))))?;
    for (name, value) in &spec.headers {
        let name = HeaderName::try_from(name.as_str())
            .map_err(|e| LinkEnd::Closed(format!("bad header name: {e}")))?;
        let mut value = HeaderValue::try_from(value.as_str())
            .map_err(|_| LinkEnd::Closed("bad header value".into()))?;
        value.set_sensitive(true);
        request.headers_mut().insert(name, value);
    }
    // tungstenite's cap is a hard ceiling that breaks the connection; our own limit (checked per frame when
    // parsing) drops an oversize frame and keeps the link. The ceiling bounds memory.
    let ceiling = spec
        .limits
        .max_frame_bytes
        .saturating_mul(16)
        .max(HARD_CEILING);
    let config = WebSocketConfig::default()
        .max_message_size(Some(ceiling))
        .max_frame_size(Some(ceiling));
    let attempt = async {
        let stream = spec
            .net
            .open(&spec.url)
            .await
            .map_err(|e| LinkEnd::Closed(e.to_string()))?;
        let connector = Connector::Rustls(spec.net.tls());
        tokio_tungstenite::client_async_tls_with_config(
            request,
            stream,
            Some(config),
            Some(connector),
        )
        .await
        .map_err(|e| refused(&e))
    };
    match timeout(spec.heartbeat.connect_timeout, attempt).await {
        Err(_) => Err(LinkEnd::Closed(format!(
            "no answer within {}s",
            spec.heartbeat.connect_timeout.as_secs()
        ))),
        Ok(Ok((socket, _response))) => Ok(socket),
        Ok(Err(end)) => Err(end),
    }
}

/// How a failed upgrade ends the link: HTTP 401/403 is a rejection; a TLS failure says what it means.
fn refused(error: &WsError) -> LinkEnd {
    match error {
        WsError::Http(response) => {
            let status = response.status();
            if status.as_u16() == 401 || status.as_u16() == 403 {
                LinkEnd::Rejected(format!("HTTP {status} on the WebSocket upgrade"))
            } else {
                LinkEnd::Closed(format!("HTTP {status} on the WebSocket upgrade"))
            }
        }
        other => match crate::link::net::tls::find_rustls(other) {
            Some(tls) => LinkEnd::Closed(crate::link::net::tls::describe(tls)),
            None => LinkEnd::Closed(other.to_string()),
        },
    }
}

/// Words that, in a server's refusal, mean the credentials are no good ("Unauthorized", "Authentication error",
/// "invalid token", "jwt expired", "Forbidden", "access denied").
const AUTH_WORDS: &[&str] = &[
    "auth",
    "token",
    "credential",
    "forbidden",
    "jwt",
    "expired",
    "denied",
    "permission",
    "password",
    "login",
];

/// Whether a refusal's text is about the credentials (see [`AUTH_WORDS`]).
pub fn sounds_like_auth(reason: &str) -> bool {
    let reason = reason.to_lowercase();
    AUTH_WORDS.iter().any(|w| reason.contains(w))
}

/// How a close frame from the server ends the link.
pub fn classify_close(frame: Option<&CloseFrame>) -> LinkEnd {
    let Some(frame) = frame else {
        return LinkEnd::Closed("server closed the connection".into());
    };
    let code = u16::from(frame.code);
    let reason = frame.reason.to_string();
    let authish = sounds_like_auth(&reason);
    let text = if reason.is_empty() {
        format!("closed with code {code}")
    } else {
        format!("closed with code {code}: {reason}")
    };
    if AUTH_CLOSE_CODES.contains(&code) || (frame.code == CloseCode::Policy && authish) {
        LinkEnd::Rejected(text)
    } else {
        LinkEnd::Closed(text)
    }
}

/// Tracks inbound traffic and sends pings; says when the link has gone silent.
#[derive(Debug)]
pub struct Liveness {
    heartbeat: Heartbeat,
    last_inbound: Instant,
    last_ping: Instant,
}

impl Liveness {
    /// Starts counting now.
    pub fn new(heartbeat: Heartbeat) -> Self {
        let now = Instant::now();
        Self {
            heartbeat,
            last_inbound: now,
            last_ping: now,
        }
    }

    /// Something arrived.
    pub fn saw_traffic(&mut self) {
        self.last_inbound = Instant::now();
    }

    /// How often to call [`Liveness::tick`].
    pub fn tick_every(&self) -> Duration {
        (self.heartbeat.interval / 4).max(Duration::from_millis(100))
    }

    /// Sends a ping when one is due; returns why the link is dead, if it is.
    pub async fn tick(&mut self, socket: &mut Socket) -> Option<String> {
        let silent = self.last_inbound.elapsed();
        if silent >= self.heartbeat.dead_after {
            return Some(format!(
                "no data or pong for {}s: link is dead",
                silent.as_secs()
            ));
        }
        if self.last_ping.elapsed() >= self.heartbeat.interval {
            self.last_ping = Instant::now();
            // A half-open TCP link can block the send once buffers fill: bound it.
            match timeout(
                self.heartbeat.dead_after,
                socket.send(Message::Ping(Vec::new().into())),
            )
            .await
            {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Some(format!("ping failed: {e}")),
                Err(_) => return Some("ping could not be sent: link is dead".into()),
            }
        }
        None
    }
}

/// Parses a JSON text frame within the limits (size and nesting checked before parsing).
pub fn parse_json(text: &str, limits: &Limits) -> Result<Value, FrameError> {
    limits.check(text)?;
    serde_json::from_str(text).map_err(|e| FrameError::BadJson(e.to_string()))
}

/// What one read from the socket means for a transport's loop.
#[derive(Debug)]
pub enum Read {
    /// A frame to handle.
    Frame(Message),
    /// A bad frame that was dropped (and logged); the connection is still usable.
    Skip,
    /// The link ended.
    End(LinkEnd),
}

/// Classifies the result of `socket.next()`. Invalid UTF-8 in a text frame drops that frame only.
pub fn classify_read(frame: Option<Result<Message, WsError>>) -> Read {
    match frame {
        None => Read::End(LinkEnd::Closed("connection closed".into())),
        Some(Err(e @ WsError::Utf8(_))) => {
            tracing::warn!("dropped a bad frame: {e}");
            Read::Skip
        }
        Some(Err(e)) => Read::End(LinkEnd::Closed(e.to_string())),
        Some(Ok(message)) => Read::Frame(message),
    }
}

/// Sends a text message, bounded in time.
pub async fn send_text(
    socket: &mut Socket,
    text: String,
    heartbeat: &Heartbeat,
) -> Result<(), String> {
    match timeout(
        heartbeat.dead_after,
        socket.send(Message::Text(text.into())),
    )
    .await
    {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("send failed: {e}")),
        Err(_) => Err("send timed out: link is dead".into()),
    }
}
