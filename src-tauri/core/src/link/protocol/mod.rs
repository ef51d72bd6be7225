//! Wire protocols behind one [`Transport`] trait.
//!
//! A transport runs one connection: it connects, reports [`LinkEvent`]s (connected, each message) through a
//! channel, keeps a heartbeat so a dead link is noticed within [`Heartbeat::dead_after`], and returns a
//! [`LinkEnd`] saying whether the link merely closed (worth a reconnect) or the server rejected the
//! credentials (not worth one). It never panics on bad input: malformed frames are logged and dropped.
//! Reconnecting is the caller's job.
//!
//! - [`sio_frame`]: Engine.IO v4 / Socket.IO v4 text frames as pure parse/encode functions.
//! - [`ws`]: what both transports share: connecting a WebSocket with a size limit, the heartbeat, JSON checks.
//! - [`websocket`]: a plain WebSocket carrying JSON text messages.
//! - [`socketio`]: Socket.IO over the Engine.IO websocket transport.

pub mod sio_frame;
pub mod socketio;
pub mod websocket;
pub mod ws;

#[cfg(test)]
pub(crate) mod test_sio;

use std::fmt;
use std::future::Future;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

pub use sio_frame::Limits;

/// Everything needed to open one link. `Debug` shows no secret: the URL without its query values, header names
/// without values, no `auth` payload and no emitted data.
#[derive(Clone)]
pub struct LinkSpec {
    /// The full `ws://` or `wss://` URL, query included.
    pub url: url::Url,
    /// Extra headers on the upgrade request (values may be secret: never logged).
    pub headers: Vec<(String, String)>,
    /// Socket.IO namespace.
    pub namespace: String,
    /// Socket.IO CONNECT `auth` payload.
    pub auth: Option<Value>,
    /// Messages to send once connected.
    pub emits: Vec<Outgoing>,
    /// Liveness settings.
    pub heartbeat: Heartbeat,
    /// Frame limits.
    pub limits: Limits,
    /// Socket.IO connection state recovery: the previous session to resume.
    pub recovery: Option<Recovery>,
    /// The TLS configuration and the proxy route.
    pub net: crate::link::net::Net,
}

/// What Socket.IO needs to resume a session: the private session id and the offset of the last event. The
/// private id lets whoever holds it take the session over: `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The private session id from the last CONNECT.
    pub pid: String,
    /// The offset of the last event received.
    pub offset: String,
}

/// A message sent after connecting. Its data may carry the token (a profile's `connect.emit`): `Debug` shows its
/// event only.
#[derive(Clone, PartialEq)]
pub struct Outgoing {
    /// Socket.IO event name (raw WebSockets send `data` alone).
    pub event: Option<String>,
    /// The argument or message.
    pub data: Value,
    /// Ask for a Socket.IO acknowledgement.
    pub ack: bool,
}

impl fmt::Debug for LinkSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(name, _)| format!("{name}: ***"))
            .collect();
        f.debug_struct("LinkSpec")
            .field("url", &ws::redact(&self.url))
            .field("headers", &headers)
            .field("namespace", &self.namespace)
            .field("auth", &self.auth.as_ref().map(|_| "***"))
            .field("emits", &self.emits)
            .field("heartbeat", &self.heartbeat)
            .field("limits", &self.limits)
            .field("recovery", &self.recovery)
            .field("net", &self.net)
            .finish()
    }
}

impl fmt::Debug for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recovery")
            .field("pid", &"***")
            .field("offset", &self.offset)
            .finish()
    }
}

impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("event", &self.event)
            .field("data", &"***")
            .field("ack", &self.ack)
            .finish()
    }
}

/// How often to ping and when to give a silent link up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// Send a WebSocket ping this often.
    pub interval: Duration,
    /// Declare the link dead when nothing (not even a pong) arrived for this long.
    pub dead_after: Duration,
    /// Give up connecting (TCP, TLS, upgrade, handshake) after this long.
    pub connect_timeout: Duration,
}

impl Default for Heartbeat {
    fn default() -> Self {
        // Pings every 2 s, liveness checked every 0.5 s: a silent link is declared dead within 7.5 s of its
        // last frame, well inside the 10 s promise even on a loaded machine.
        Self {
            interval: Duration::from_secs(2),
            dead_after: Duration::from_secs(7),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// What a running link reports.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkEvent {
    /// The link is up (Socket.IO: the namespace accepted us).
    Connected {
        /// Socket.IO session id.
        sid: Option<String>,
        /// Socket.IO connection state recovery restored the session (nothing was missed).
        recovered: bool,
        /// The private session id, when the server offers connection state recovery.
        pid: Option<String>,
    },
    /// A message from the server.
    Message {
        /// Socket.IO event name; raw WebSockets leave it to the profile.
        event: Option<String>,
        /// The JSON payload (Socket.IO: the first argument, or all of them as an array).
        payload: Value,
        /// The event's offset, when the server offers connection state recovery.
        offset: Option<String>,
    },
}

/// Why a link ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEnd {
    /// Closed, failed or went silent: try again.
    Closed(String),
    /// The server refused the credentials: do not retry with the same ones.
    Rejected(String),
    /// The machine woke from sleep or the network changed: the link may be dead; reconnect at once.
    Woken,
    /// The receiver of the events went away.
    Abandoned,
}

/// One wire protocol.
pub trait Transport: Send + Sync {
    /// Runs one connection to its end, sending events into `events`.
    fn run(
        &self,
        spec: &LinkSpec,
        events: &mpsc::Sender<LinkEvent>,
    ) -> impl Future<Output = LinkEnd> + Send;
}
