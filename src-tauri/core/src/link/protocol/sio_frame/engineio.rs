//! Engine.IO v4 packets: the layer every WebSocket text frame carries (open, close, ping, pong, message,
//! upgrade, noop).

use serde::Deserialize;
use serde_json::Value;

use super::{no_payload, split_type, FrameError, Limits};

/// The payload of an Engine.IO `open` packet: the session the server created.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OpenData {
    /// The Engine.IO session id.
    pub sid: String,
    /// Transports the session may upgrade to (empty on a WebSocket-only connection).
    #[serde(default)]
    pub upgrades: Vec<String>,
    /// How often the server sends `ping`, in milliseconds.
    #[serde(rename = "pingInterval")]
    pub ping_interval_ms: u64,
    /// How long the server waits for `pong` before closing, in milliseconds.
    #[serde(rename = "pingTimeout")]
    pub ping_timeout_ms: u64,
    /// The largest payload the server accepts, in bytes, if it says.
    #[serde(rename = "maxPayload", default)]
    pub max_payload: Option<u64>,
}

impl OpenData {
    fn encode_into(&self, out: &mut String) {
        out.push_str("{\"sid\":");
        out.push_str(&Value::from(self.sid.as_str()).to_string());
        out.push_str(",\"upgrades\":");
        out.push_str(&Value::from(self.upgrades.clone()).to_string());
        out.push_str(",\"pingInterval\":");
        out.push_str(&self.ping_interval_ms.to_string());
        out.push_str(",\"pingTimeout\":");
        out.push_str(&self.ping_timeout_ms.to_string());
        if let Some(max) = self.max_payload {
            out.push_str(",\"maxPayload\":");
            out.push_str(&max.to_string());
        }
        out.push('}');
    }
}

/// One Engine.IO v4 packet, as carried by one WebSocket text frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EioPacket {
    /// `0`: the server's handshake.
    Open(OpenData),
    /// `1`: the session is closing.
    Close,
    /// `2`: heartbeat request; the payload is usually empty (`probe` during an upgrade).
    Ping(String),
    /// `3`: heartbeat reply, echoing the ping's payload.
    Pong(String),
    /// `4`: application data; for Socket.IO, one encoded [`SioPacket`].
    Message(String),
    /// `5`: completes a transport upgrade.
    Upgrade,
    /// `6`: does nothing (used during upgrades).
    Noop,
}

impl EioPacket {
    /// Parses one text frame with the default [`Limits`].
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        Self::parse_with(text, &Limits::default())
    }

    /// Parses one text frame. A `message` payload is kept as text; see [`parse_message`] to
    /// parse the Socket.IO packet inside as well.
    pub fn parse_with(text: &str, limits: &Limits) -> Result<Self, FrameError> {
        limits.check_len(text)?;
        let (kind, rest) = split_type(text)?;
        match kind {
            '0' => limits.parse_json(rest).map(Self::Open),
            '1' => no_payload(rest, Self::Close),
            '2' => Ok(Self::Ping(rest.to_owned())),
            '3' => Ok(Self::Pong(rest.to_owned())),
            '4' => Ok(Self::Message(rest.to_owned())),
            '5' => no_payload(rest, Self::Upgrade),
            '6' => no_payload(rest, Self::Noop),
            other => Err(FrameError::UnknownPacketType(other)),
        }
    }

    /// The packet as a WebSocket text frame.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        match self {
            Self::Open(data) => {
                out.push('0');
                data.encode_into(&mut out);
            }
            Self::Close => out.push('1'),
            Self::Ping(payload) => {
                out.push('2');
                out.push_str(payload);
            }
            Self::Pong(payload) => {
                out.push('3');
                out.push_str(payload);
            }
            Self::Message(payload) => {
                out.push('4');
                out.push_str(payload);
            }
            Self::Upgrade => out.push('5'),
            Self::Noop => out.push('6'),
        }
        out
    }
}
