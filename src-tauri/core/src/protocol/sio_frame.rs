//! Engine.IO v4 and Socket.IO v4 (protocol 5) text framing for the WebSocket transport.
//!
//! Every WebSocket text frame carries exactly one Engine.IO packet: a one-digit type followed by
//! its payload. [`EioPacket`] covers the seven types. A `message` packet (`4`) carries one
//! Socket.IO packet, [`SioPacket`], laid out as
//!
//! ```text
//! <type>[<attachments>-][<namespace>,][<ack id>][<JSON>]
//! ```
//!
//! where the namespace is left out when it is `/`. [`parse_message`] does both layers at once and
//! [`SioPacket::encode_message`] is its inverse.
//!
//! Everything here is a pure function of its input: no I/O, no clocks, no async. Parsing never
//! panics; size and JSON nesting are checked against [`Limits`] before any JSON is parsed.
//! For every packet `p` these functions accept as valid, `parse(&p.encode()) == Ok(p)`.
//!
//! Binary packets (`BINARY_EVENT`, `BINARY_ACK`) are only recognised, as [`SioPacket::Binary`], so
//! the caller can skip them: their attachments follow as binary WebSocket frames, which the
//! connection layer drops.

use serde::Deserialize;
use serde_json::Value;

/// Why a frame could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The frame (or the Socket.IO packet inside a `message`) is empty.
    #[error("empty frame")]
    Empty,
    /// The packet type character is not one the protocol defines.
    #[error("unknown packet type {0:?}")]
    UnknownPacketType(char),
    /// A packet that carries no payload (`close`, `upgrade`, `noop`, `DISCONNECT`) has some.
    #[error("unexpected payload after a packet that takes none")]
    UnexpectedPayload,
    /// The JSON part is not valid JSON, or the `open` JSON lacks a required field.
    #[error("bad JSON: {0}")]
    BadJson(String),
    /// The frame is longer than [`Limits::max_frame_bytes`].
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The frame's length in bytes.
        len: usize,
        /// The limit it exceeds.
        max: usize,
    },
    /// The JSON nests deeper than [`Limits::max_depth`].
    #[error("JSON nested deeper than {max} levels")]
    TooDeep {
        /// The limit it exceeds.
        max: usize,
    },
    /// The namespace contains whitespace, control characters or JSON punctuation (usually a
    /// missing `,` before the payload).
    #[error("bad namespace")]
    BadNamespace,
    /// The ack id does not fit in a `u64`.
    #[error("ack id out of range")]
    BadAckId,
    /// An `ACK` or `BINARY_ACK` packet has no ack id.
    #[error("ack packet without an ack id")]
    MissingAckId,
    /// A binary packet's attachment count is missing, has no `-` after it, or overflows a `u32`.
    #[error("bad attachment count in a binary packet")]
    BadAttachments,
    /// An `EVENT` payload is missing, not a JSON array, or an empty array.
    #[error("EVENT payload is not a non-empty JSON array")]
    NotAnEvent,
    /// The first element of an `EVENT` payload (the event name) is not a string.
    #[error("event name is not a string")]
    EventNameNotString,
    /// An `ACK` payload is missing or not a JSON array.
    #[error("ACK payload is not a JSON array")]
    NotAnAck,
    /// A `CONNECT` payload is not a JSON object.
    #[error("CONNECT payload is not a JSON object")]
    BadConnectData,
    /// A `CONNECT_ERROR` payload is missing, or neither a string nor an object with a string
    /// `message`.
    #[error("CONNECT_ERROR payload has no message")]
    BadConnectError,
}

/// Bounds on what a parser accepts, checked before any JSON is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest frame accepted, in bytes (default 1 MiB).
    pub max_frame_bytes: usize,
    /// Deepest JSON nesting accepted, counting `[` and `{` (default 64).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 1_048_576,
            max_depth: 64,
        }
    }
}

impl Limits {
    /// Checks a whole JSON text against both limits without parsing it (raw WebSocket frames use this).
    pub fn check(&self, text: &str) -> Result<(), FrameError> {
        self.check_len(text)?;
        self.check_depth(text)
    }

    fn check_len(&self, text: &str) -> Result<(), FrameError> {
        if text.len() > self.max_frame_bytes {
            return Err(FrameError::TooLarge {
                len: text.len(),
                max: self.max_frame_bytes,
            });
        }
        Ok(())
    }

    /// Counts bracket nesting outside JSON strings; a linear scan with no recursion, so it is
    /// safe on any input. Unbalanced brackets are left for the JSON parser to report.
    fn check_depth(&self, json: &str) -> Result<(), FrameError> {
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        for byte in json.bytes() {
            if in_string {
                if escaped {
                    escaped = false;
                } else if byte == b'\\' {
                    escaped = true;
                } else if byte == b'"' {
                    in_string = false;
                }
                continue;
            }
            match byte {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > self.max_depth {
                        return Err(FrameError::TooDeep {
                            max: self.max_depth,
                        });
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        Ok(())
    }

    fn parse_json<'a, T: Deserialize<'a>>(&self, json: &'a str) -> Result<T, FrameError> {
        self.check_depth(json)?;
        serde_json::from_str(json).map_err(|e| FrameError::BadJson(e.to_string()))
    }
}

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

/// What the server says in a successful `CONNECT` reply: `{"sid": ...}`, plus `pid` and
/// `offset` when connection state recovery is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectAck {
    /// The Socket.IO session id in this namespace.
    pub sid: String,
    /// The private session id to send back when reconnecting, to recover the session.
    pub pid: Option<String>,
    /// The offset of the last packet received, to resume from.
    pub offset: Option<String>,
}

/// One Socket.IO v4 packet (protocol 5). `ns` is the namespace, starting with `/`; `/` is the
/// main namespace. A namespace must not contain `,`, whitespace, control characters or any of
/// `"[]{}`, or the packet will not parse back.
#[derive(Debug, Clone, PartialEq)]
pub enum SioPacket {
    /// `0`: join a namespace (client, with optional auth data) or the server's acceptance (with
    /// `{"sid": ...}`, see [`SioPacket::connect_ack`]). `data` is always a JSON object.
    Connect {
        /// Namespace.
        ns: String,
        /// The auth object (client) or session object (server).
        data: Option<Value>,
    },
    /// `1`: leave a namespace.
    Disconnect {
        /// Namespace.
        ns: String,
    },
    /// `2`: an event with its arguments, asking for an `ACK` when `id` is set.
    Event {
        /// Namespace.
        ns: String,
        /// Ack id the receiver must answer with.
        id: Option<u64>,
        /// Event name.
        name: String,
        /// Arguments after the name.
        args: Vec<Value>,
    },
    /// `3`: the reply to an event that carried an ack id.
    Ack {
        /// Namespace.
        ns: String,
        /// The id of the event being answered.
        id: u64,
        /// Reply arguments.
        args: Vec<Value>,
    },
    /// `4`: the server refused the `CONNECT`. Both `{"message": ..., "data": ...}` (v4 servers)
    /// and a bare JSON string (older servers) parse into this; it encodes as the object form.
    ConnectError {
        /// Namespace.
        ns: String,
        /// Why, in the server's words.
        message: String,
        /// Extra detail the server attached.
        data: Option<Value>,
    },
    /// `5` (`BINARY_EVENT`) or `6` (`BINARY_ACK`): recognised, not decoded. Its JSON part is
    /// ignored (beyond the [`Limits`] checks) and `attachments` binary frames follow it.
    Binary {
        /// Namespace.
        ns: String,
        /// How many binary frames follow.
        attachments: u32,
        /// Ack id (always set on a `BINARY_ACK`).
        id: Option<u64>,
        /// `true` for `BINARY_ACK`, `false` for `BINARY_EVENT`.
        is_ack: bool,
    },
}

/// A parsed text frame: an Engine.IO control packet or the Socket.IO packet of a `message`.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// Any Engine.IO packet other than `message`.
    Engine(EioPacket),
    /// The Socket.IO packet inside a `message`.
    Socket(SioPacket),
}

/// Parses one WebSocket text frame with the default [`Limits`]; a `message` is parsed down to its
/// Socket.IO packet.
pub fn parse_message(text: &str) -> Result<Incoming, FrameError> {
    parse_message_with(text, &Limits::default())
}

/// Parses one WebSocket text frame; a `message` is parsed down to its Socket.IO packet.
pub fn parse_message_with(text: &str, limits: &Limits) -> Result<Incoming, FrameError> {
    limits.check_len(text)?;
    match text.strip_prefix('4') {
        Some(inner) => SioPacket::parse_unchecked(inner, limits).map(Incoming::Socket),
        None => EioPacket::parse_with(text, limits).map(Incoming::Engine),
    }
}

impl SioPacket {
    /// Parses a Socket.IO packet (the payload of an Engine.IO `message`, without the `4`) with
    /// the default [`Limits`].
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        Self::parse_with(text, &Limits::default())
    }

    /// Parses a Socket.IO packet (the payload of an Engine.IO `message`, without the `4`).
    pub fn parse_with(text: &str, limits: &Limits) -> Result<Self, FrameError> {
        limits.check_len(text)?;
        Self::parse_unchecked(text, limits)
    }

    /// Parses without the length check (the caller has done it on the whole frame).
    fn parse_unchecked(text: &str, limits: &Limits) -> Result<Self, FrameError> {
        let (kind, rest) = split_type(text)?;
        if !('0'..='6').contains(&kind) {
            return Err(FrameError::UnknownPacketType(kind));
        }
        let binary = kind == '5' || kind == '6';
        let (attachments, rest) = if binary {
            take_attachments(rest)?
        } else {
            (0, rest)
        };
        let (ns, rest) = take_namespace(rest)?;
        let (id, json) = if matches!(kind, '2' | '3' | '5' | '6') {
            take_ack_id(rest)?
        } else {
            (None, rest)
        };
        match kind {
            '0' => parse_connect(ns, json, limits),
            '1' => no_payload(json, Self::Disconnect { ns }),
            '2' => parse_event(ns, id, json, limits),
            '3' => parse_ack(ns, id, json, limits),
            '4' => parse_connect_error(ns, json, limits),
            _ => {
                limits.check_depth(json)?;
                let is_ack = kind == '6';
                if is_ack && id.is_none() {
                    return Err(FrameError::MissingAckId);
                }
                Ok(Self::Binary {
                    ns,
                    attachments,
                    id,
                    is_ack,
                })
            }
        }
    }

    /// The packet as Socket.IO text (the payload of an Engine.IO `message`).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        self.encode_into(&mut out);
        out
    }

    /// The packet wrapped in an Engine.IO `message`: a complete WebSocket text frame (`4...`).
    pub fn encode_message(&self) -> String {
        let mut out = String::from("4");
        self.encode_into(&mut out);
        out
    }

    /// For a `CONNECT` whose data holds a string `sid` (the server's acceptance), the session it
    /// describes; `pid` and `offset` are taken when they are strings. `None` otherwise.
    pub fn connect_ack(&self) -> Option<ConnectAck> {
        let Self::Connect {
            data: Some(data), ..
        } = self
        else {
            return None;
        };
        let text = |key: &str| data.get(key).and_then(Value::as_str).map(str::to_owned);
        Some(ConnectAck {
            sid: text("sid")?,
            pid: text("pid"),
            offset: text("offset"),
        })
    }

    fn encode_into(&self, out: &mut String) {
        match self {
            Self::Connect { ns, data } => {
                out.push('0');
                push_namespace(out, ns);
                if let Some(data) = data {
                    out.push_str(&data.to_string());
                }
            }
            Self::Disconnect { ns } => {
                out.push('1');
                push_namespace(out, ns);
            }
            Self::Event { ns, id, name, args } => {
                out.push('2');
                push_namespace(out, ns);
                push_id(out, *id);
                push_array(out, Some(name), args);
            }
            Self::Ack { ns, id, args } => {
                out.push('3');
                push_namespace(out, ns);
                push_id(out, Some(*id));
                push_array(out, None, args);
            }
            Self::ConnectError { ns, message, data } => {
                out.push('4');
                push_namespace(out, ns);
                out.push_str("{\"message\":");
                out.push_str(&Value::from(message.as_str()).to_string());
                if let Some(data) = data {
                    out.push_str(",\"data\":");
                    out.push_str(&data.to_string());
                }
                out.push('}');
            }
            Self::Binary {
                ns,
                attachments,
                id,
                is_ack,
            } => {
                out.push(if *is_ack { '6' } else { '5' });
                out.push_str(&attachments.to_string());
                out.push('-');
                push_namespace(out, ns);
                push_id(out, *id);
            }
        }
    }
}

/// Splits off the one-character packet type.
fn split_type(text: &str) -> Result<(char, &str), FrameError> {
    let mut chars = text.chars();
    let kind = chars.next().ok_or(FrameError::Empty)?;
    Ok((kind, chars.as_str()))
}

fn no_payload<T>(rest: &str, packet: T) -> Result<T, FrameError> {
    if rest.is_empty() {
        Ok(packet)
    } else {
        Err(FrameError::UnexpectedPayload)
    }
}

/// Splits a run of leading ASCII digits off `text` (possibly empty).
fn split_digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

fn take_attachments(text: &str) -> Result<(u32, &str), FrameError> {
    let (digits, rest) = split_digits(text);
    let rest = rest.strip_prefix('-').ok_or(FrameError::BadAttachments)?;
    let count = digits.parse().map_err(|_| FrameError::BadAttachments)?;
    Ok((count, rest))
}

fn take_namespace(text: &str) -> Result<(String, &str), FrameError> {
    if !text.starts_with('/') {
        return Ok(("/".to_owned(), text));
    }
    let (ns, rest) = text.split_once(',').unwrap_or((text, ""));
    let garbage =
        |c: char| c.is_control() || c.is_whitespace() || matches!(c, '"' | '[' | ']' | '{' | '}');
    if ns.contains(garbage) {
        return Err(FrameError::BadNamespace);
    }
    Ok((ns.to_owned(), rest))
}

fn take_ack_id(text: &str) -> Result<(Option<u64>, &str), FrameError> {
    let (digits, rest) = split_digits(text);
    if digits.is_empty() {
        return Ok((None, rest));
    }
    let id = digits.parse().map_err(|_| FrameError::BadAckId)?;
    Ok((Some(id), rest))
}

fn parse_connect(ns: String, json: &str, limits: &Limits) -> Result<SioPacket, FrameError> {
    if json.is_empty() {
        return Ok(SioPacket::Connect { ns, data: None });
    }
    let data: Value = limits.parse_json(json)?;
    if !data.is_object() {
        return Err(FrameError::BadConnectData);
    }
    Ok(SioPacket::Connect {
        ns,
        data: Some(data),
    })
}

fn parse_event(
    ns: String,
    id: Option<u64>,
    json: &str,
    limits: &Limits,
) -> Result<SioPacket, FrameError> {
    if json.is_empty() {
        return Err(FrameError::NotAnEvent);
    }
    let Value::Array(mut items) = limits.parse_json(json)? else {
        return Err(FrameError::NotAnEvent);
    };
    if items.is_empty() {
        return Err(FrameError::NotAnEvent);
    }
    let Value::String(name) = items.remove(0) else {
        return Err(FrameError::EventNameNotString);
    };
    Ok(SioPacket::Event {
        ns,
        id,
        name,
        args: items,
    })
}

fn parse_ack(
    ns: String,
    id: Option<u64>,
    json: &str,
    limits: &Limits,
) -> Result<SioPacket, FrameError> {
    let id = id.ok_or(FrameError::MissingAckId)?;
    if json.is_empty() {
        return Err(FrameError::NotAnAck);
    }
    let Value::Array(args) = limits.parse_json(json)? else {
        return Err(FrameError::NotAnAck);
    };
    Ok(SioPacket::Ack { ns, id, args })
}

fn parse_connect_error(ns: String, json: &str, limits: &Limits) -> Result<SioPacket, FrameError> {
    if json.is_empty() {
        return Err(FrameError::BadConnectError);
    }
    match limits.parse_json(json)? {
        Value::String(message) => Ok(SioPacket::ConnectError {
            ns,
            message,
            data: None,
        }),
        Value::Object(mut object) => {
            let Some(Value::String(message)) = object.remove("message") else {
                return Err(FrameError::BadConnectError);
            };
            Ok(SioPacket::ConnectError {
                ns,
                message,
                data: object.remove("data"),
            })
        }
        _ => Err(FrameError::BadConnectError),
    }
}

fn push_namespace(out: &mut String, ns: &str) {
    if !ns.is_empty() && ns != "/" {
        out.push_str(ns);
        out.push(',');
    }
}

fn push_id(out: &mut String, id: Option<u64>) {
    if let Some(id) = id {
        out.push_str(&id.to_string());
    }
}

/// Writes a JSON array of `first` (if any) followed by `rest`.
fn push_array(out: &mut String, first: Option<&str>, rest: &[Value]) {
    out.push('[');
    let mut separator = "";
    if let Some(first) = first {
        out.push_str(&Value::from(first).to_string());
        separator = ",";
    }
    for value in rest {
        out.push_str(separator);
        out.push_str(&value.to_string());
        separator = ",";
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::{
        parse_message, parse_message_with, ConnectAck, EioPacket, FrameError, Incoming, Limits,
        OpenData, SioPacket,
    };
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn socket(text: &str) -> SioPacket {
        match parse_message(text) {
            Ok(Incoming::Socket(packet)) => packet,
            other => panic!("{text}: expected a Socket.IO packet, got {other:?}"),
        }
    }

    fn socket_err(text: &str) -> FrameError {
        match parse_message(text) {
            Err(error) => error,
            Ok(packet) => panic!("{text}: expected an error, got {packet:?}"),
        }
    }

    /// Parses `text` and checks that encoding gives exactly `text` back.
    fn canonical(text: &str) -> SioPacket {
        let packet = socket(text);
        assert_eq!(packet.encode_message(), text, "re-encoding {packet:?}");
        packet
    }

    // ---- Engine.IO ----

    #[test]
    fn open_from_the_protocol_docs() {
        let text = r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        let packet = EioPacket::parse(text).expect("valid open");
        assert_eq!(
            packet,
            EioPacket::Open(OpenData {
                sid: "lv_VI97HAXpY6yYWAAAC".into(),
                upgrades: vec!["websocket".into()],
                ping_interval_ms: 25_000,
                ping_timeout_ms: 20_000,
                max_payload: Some(1_000_000),
            })
        );
        assert_eq!(packet.encode(), text);

        let text = r#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        assert_eq!(EioPacket::parse(text).expect("valid open").encode(), text);
    }

    #[test]
    fn open_tolerates_extra_and_missing_optional_fields() {
        let packet = EioPacket::parse(
            r#"0{"pingTimeout":5000,"sid":"x","pingInterval":100,"extra":{"a":[1]}}"#,
        )
        .expect("optional fields may be missing");
        assert_eq!(
            packet,
            EioPacket::Open(OpenData {
                sid: "x".into(),
                upgrades: vec![],
                ping_interval_ms: 100,
                ping_timeout_ms: 5000,
                max_payload: None,
            })
        );
        assert_eq!(
            packet.encode(),
            r#"0{"sid":"x","upgrades":[],"pingInterval":100,"pingTimeout":5000}"#
        );
    }

    #[test]
    fn open_rejects_bad_handshakes() {
        for text in [
            r#"0{"upgrades":[],"pingInterval":1,"pingTimeout":1}"#,
            r#"0{"sid":"x","pingInterval":-1,"pingTimeout":1}"#,
            r#"0{"sid":"x","pingInterval":1.5,"pingTimeout":1}"#,
            r#"0{"sid":"x","pingInterval":99999999999999999999,"pingTimeout":1}"#,
            "0",
            "0[]",
            "0{",
        ] {
            assert!(
                matches!(EioPacket::parse(text), Err(FrameError::BadJson(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn control_packets() {
        let cases = [
            ("1", EioPacket::Close),
            ("2", EioPacket::Ping(String::new())),
            ("2probe", EioPacket::Ping("probe".into())),
            ("3", EioPacket::Pong(String::new())),
            ("3probe", EioPacket::Pong("probe".into())),
            ("4hello", EioPacket::Message("hello".into())),
            ("4", EioPacket::Message(String::new())),
            ("5", EioPacket::Upgrade),
            ("6", EioPacket::Noop),
        ];
        for (text, expected) in cases {
            assert_eq!(EioPacket::parse(text), Ok(expected.clone()), "{text}");
            assert_eq!(expected.encode(), text);
        }
        for text in ["1", "2", "2probe", "3", "5", "6"] {
            assert_eq!(
                parse_message(text),
                Ok(Incoming::Engine(EioPacket::parse(text).expect("valid")))
            );
        }
    }

    #[test]
    fn engine_errors() {
        assert_eq!(EioPacket::parse(""), Err(FrameError::Empty));
        assert_eq!(parse_message(""), Err(FrameError::Empty));
        for (text, kind) in [
            ("7", '7'),
            ("x", 'x'),
            ("b4AAA", 'b'),
            ("é1", 'é'),
            ("€", '€'),
        ] {
            assert_eq!(
                EioPacket::parse(text),
                Err(FrameError::UnknownPacketType(kind))
            );
            assert_eq!(
                parse_message(text),
                Err(FrameError::UnknownPacketType(kind))
            );
        }
        for text in ["1x", "5probe", "6 "] {
            assert_eq!(EioPacket::parse(text), Err(FrameError::UnexpectedPayload));
        }
    }

    // ---- Socket.IO ----

    #[test]
    fn connect() {
        assert_eq!(
            canonical("40"),
            SioPacket::Connect {
                ns: "/".into(),
                data: None
            }
        );
        assert_eq!(
            canonical(r#"40/admin,{"token":"x"}"#),
            SioPacket::Connect {
                ns: "/admin".into(),
                data: Some(json!({"token": "x"})),
            }
        );
        assert_eq!(
            canonical("40{}"),
            SioPacket::Connect {
                ns: "/".into(),
                data: Some(json!({})),
            }
        );
        // Namespace without the trailing comma, as the reference parser allows.
        assert_eq!(
            socket("40/admin"),
            SioPacket::Connect {
                ns: "/admin".into(),
                data: None
            }
        );
        assert_eq!(socket("40/,"), socket("40"));
    }

    #[test]
    fn connect_ack_exposes_sid_pid_and_offset() {
        let packet = canonical(r#"40{"sid":"oSO0OpakMV_3jnilAAAA"}"#);
        assert_eq!(
            packet.connect_ack(),
            Some(ConnectAck {
                sid: "oSO0OpakMV_3jnilAAAA".into(),
                pid: None,
                offset: None,
            })
        );
        let packet = socket(r#"40/admin,{"sid":"s","pid":"p","offset":"o","other":1}"#);
        assert_eq!(
            packet.connect_ack(),
            Some(ConnectAck {
                sid: "s".into(),
                pid: Some("p".into()),
                offset: Some("o".into()),
            })
        );
        assert_eq!(socket(r#"40{"token":"x"}"#).connect_ack(), None);
        assert_eq!(socket(r#"40{"sid":1}"#).connect_ack(), None);
        assert_eq!(socket("40").connect_ack(), None);
        assert_eq!(socket("41").connect_ack(), None);
    }

    #[test]
    fn disconnect() {
        assert_eq!(canonical("41"), SioPacket::Disconnect { ns: "/".into() });
        assert_eq!(
            canonical("41/admin,"),
            SioPacket::Disconnect {
                ns: "/admin".into()
            }
        );
        assert_eq!(socket_err("41{}"), FrameError::UnexpectedPayload);
        assert_eq!(socket_err("41/admin,{}"), FrameError::UnexpectedPayload);
    }

    #[test]
    fn event() {
        assert_eq!(
            canonical(r#"42["hello",1]"#),
            SioPacket::Event {
                ns: "/".into(),
                id: None,
                name: "hello".into(),
                args: vec![json!(1)],
            }
        );
        assert_eq!(
            canonical(r#"421["ev",{}]"#),
            SioPacket::Event {
                ns: "/".into(),
                id: Some(1),
                name: "ev".into(),
                args: vec![json!({})],
            }
        );
        assert_eq!(
            canonical(r#"42/admin,456["project:delete",123]"#),
            SioPacket::Event {
                ns: "/admin".into(),
                id: Some(456),
                name: "project:delete".into(),
                args: vec![json!(123)],
            }
        );
        assert_eq!(
            canonical(r#"42["no args"]"#),
            SioPacket::Event {
                ns: "/".into(),
                id: None,
                name: "no args".into(),
                args: vec![],
            }
        );
        assert_eq!(
            canonical(r#"4218446744073709551615["max id"]"#),
            SioPacket::Event {
                ns: "/".into(),
                id: Some(u64::MAX),
                name: "max id".into(),
                args: vec![],
            }
        );
        // Whitespace inside the JSON is the JSON parser's business.
        assert_eq!(socket(r#"42[ "hello" , 1 ]"#), socket(r#"42["hello",1]"#));
    }

    #[test]
    fn ack() {
        assert_eq!(
            canonical(r#"43/admin,1["ok"]"#),
            SioPacket::Ack {
                ns: "/admin".into(),
                id: 1,
                args: vec![json!("ok")],
            }
        );
        assert_eq!(
            canonical("43/admin,456[]"),
            SioPacket::Ack {
                ns: "/admin".into(),
                id: 456,
                args: vec![],
            }
        );
    }

    #[test]
    fn connect_error() {
        assert_eq!(
            canonical(r#"44{"message":"Unauthorized"}"#),
            SioPacket::ConnectError {
                ns: "/".into(),
                message: "Unauthorized".into(),
                data: None,
            }
        );
        assert_eq!(
            canonical(r#"44/admin,{"message":"Not authorized","data":{"code":401}}"#),
            SioPacket::ConnectError {
                ns: "/admin".into(),
                message: "Not authorized".into(),
                data: Some(json!({"code": 401})),
            }
        );
        // Older servers send a bare string; it re-encodes in the v4 object form.
        let packet = socket(r#"44"Not authorized""#);
        assert_eq!(
            packet,
            SioPacket::ConnectError {
                ns: "/".into(),
                message: "Not authorized".into(),
                data: None,
            }
        );
        assert_eq!(packet.encode_message(), r#"44{"message":"Not authorized"}"#);
    }

    #[test]
    fn binary_packets_are_recognised_not_decoded() {
        let packet = socket(r#"451-["ev",{"_placeholder":true,"num":0}]"#);
        assert_eq!(
            packet,
            SioPacket::Binary {
                ns: "/".into(),
                attachments: 1,
                id: None,
                is_ack: false,
            }
        );
        assert_eq!(packet.encode_message(), "451-");
        assert_eq!(
            socket(
                r#"452-/admin,7["upload",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
            ),
            SioPacket::Binary {
                ns: "/admin".into(),
                attachments: 2,
                id: Some(7),
                is_ack: false,
            }
        );
        let packet = socket(r#"461-/admin,456[{"_placeholder":true,"num":0}]"#);
        assert_eq!(
            packet,
            SioPacket::Binary {
                ns: "/admin".into(),
                attachments: 1,
                id: Some(456),
                is_ack: true,
            }
        );
        assert_eq!(packet.encode_message(), "461-/admin,456");
    }

    #[test]
    fn encode_builds_frames() {
        let event = SioPacket::Event {
            ns: "/alerts".into(),
            id: Some(12),
            name: "alert:ack".into(),
            args: vec![json!({"id": "a-1"}), json!(null)],
        };
        assert_eq!(
            event.encode(),
            r#"2/alerts,12["alert:ack",{"id":"a-1"},null]"#
        );
        assert_eq!(
            event.encode_message(),
            r#"42/alerts,12["alert:ack",{"id":"a-1"},null]"#
        );
        assert_eq!(
            EioPacket::Message(event.encode()).encode(),
            event.encode_message()
        );
        assert_eq!(SioPacket::parse(&event.encode()), Ok(event));
        let awkward = SioPacket::Event {
            ns: "/".into(),
            id: None,
            name: "quote\"and\\slash ✓".into(),
            args: vec![],
        };
        assert_eq!(
            parse_message(&awkward.encode_message()),
            Ok(Incoming::Socket(awkward))
        );
    }

    // ---- Socket.IO errors ----

    #[test]
    fn socket_errors() {
        let cases = [
            ("4", FrameError::Empty),
            ("47", FrameError::UnknownPacketType('7')),
            ("4x", FrameError::UnknownPacketType('x')),
            ("4é", FrameError::UnknownPacketType('é')),
            (r#"42{"a":1}"#, FrameError::NotAnEvent),
            (r#"42"hello""#, FrameError::NotAnEvent),
            ("42[]", FrameError::NotAnEvent),
            ("42", FrameError::NotAnEvent),
            ("421", FrameError::NotAnEvent),
            ("42[1]", FrameError::EventNameNotString),
            (r#"42[null,"x"]"#, FrameError::EventNameNotString),
            (r#"42[["x"]]"#, FrameError::EventNameNotString),
            (r#"43["ok"]"#, FrameError::MissingAckId),
            ("431{}", FrameError::NotAnAck),
            ("431", FrameError::NotAnAck),
            (r#"4218446744073709551616["x"]"#, FrameError::BadAckId),
            (
                r#"4399999999999999999999999999999999["x"]"#,
                FrameError::BadAckId,
            ),
            ("45-[]", FrameError::BadAttachments),
            ("45x", FrameError::BadAttachments),
            ("451[]", FrameError::BadAttachments),
            ("45", FrameError::BadAttachments),
            ("454294967296-[]", FrameError::BadAttachments),
            ("461-[]", FrameError::MissingAckId),
            (r#"42/ad min,["x"]"#, FrameError::BadNamespace),
            (r#"42/admin["x"]"#, FrameError::BadNamespace),
            ("40/a\u{0}b,", FrameError::BadNamespace),
            (r#"40/{"a":1}"#, FrameError::BadNamespace),
            ("40[1]", FrameError::BadConnectData),
            (r#"40"token""#, FrameError::BadConnectData),
            ("401", FrameError::BadConnectData),
            ("44", FrameError::BadConnectError),
            ("44{}", FrameError::BadConnectError),
            (r#"44{"message":1}"#, FrameError::BadConnectError),
            ("44[]", FrameError::BadConnectError),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_message(text), Err(expected.clone()), "{text}");
            assert_eq!(SioPacket::parse(&text[1..]), Err(expected), "{text}");
        }
    }

    #[test]
    fn malformed_json_is_bad_json() {
        for text in [
            r#"42["a""#,
            r#"42["a",]"#,
            r#"42["a"]x"#,
            "42[\"a\" 1]",
            "431 x",
            "40{",
            "44{\"message\"",
            "42admin,[\"x\"]",
        ] {
            assert!(
                matches!(parse_message(text), Err(FrameError::BadJson(_))),
                "{text}: {:?}",
                parse_message(text)
            );
        }
    }

    // ---- Limits ----

    #[test]
    fn oversize_frames_are_rejected_before_parsing() {
        let limits = Limits {
            max_frame_bytes: 10,
            ..Limits::default()
        };
        assert!(parse_message_with(r#"42["abc"]"#, &limits).is_ok());
        assert_eq!(
            parse_message_with(r#"42["abcd"]"#, &limits),
            Ok(Incoming::Socket(SioPacket::Event {
                ns: "/".into(),
                id: None,
                name: "abcd".into(),
                args: vec![],
            }))
        );
        assert_eq!(
            parse_message_with(r#"42["abcde"]"#, &limits),
            Err(FrameError::TooLarge { len: 11, max: 10 })
        );
        assert_eq!(
            EioPacket::parse_with("4xxxxxxxxxxxxx", &limits),
            Err(FrameError::TooLarge { len: 14, max: 10 })
        );
        assert_eq!(
            SioPacket::parse_with("2[\"abcdefg\"]", &limits),
            Err(FrameError::TooLarge { len: 12, max: 10 })
        );

        let mut huge = String::from("42[\"");
        huge.push_str(&"a".repeat(1_048_576));
        huge.push_str("\"]");
        assert_eq!(
            parse_message(&huge),
            Err(FrameError::TooLarge {
                len: 1_048_582,
                max: 1_048_576
            })
        );
        // Lengths are bytes, not characters.
        let limits = Limits {
            max_frame_bytes: 8,
            ..Limits::default()
        };
        assert!(matches!(
            parse_message_with("42[\"éé\"]", &limits),
            Err(FrameError::TooLarge { len: 10, max: 8 })
        ));
    }

    fn nested(depth: usize) -> String {
        format!(
            r#"42["deep",{}{}]"#,
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        )
    }

    #[test]
    fn deep_nesting_is_rejected_before_parsing() {
        assert!(parse_message(&nested(64)).is_ok());
        assert_eq!(
            parse_message(&nested(65)),
            Err(FrameError::TooDeep { max: 64 })
        );
        // Far beyond serde_json's own limit, and still a clean error.
        assert_eq!(
            parse_message(&nested(100_000)),
            Err(FrameError::TooDeep { max: 64 })
        );
        let unclosed = format!("42{}", "{\"a\":".repeat(100_000));
        assert_eq!(
            parse_message(&unclosed),
            Err(FrameError::TooDeep { max: 64 })
        );
        // A generous limit still cannot overflow the stack: serde_json's own limit then applies.
        let generous = Limits {
            max_depth: 1_000_000,
            ..Limits::default()
        };
        assert!(matches!(
            parse_message_with(&nested(100_000), &generous),
            Err(FrameError::BadJson(_))
        ));

        let limits = Limits {
            max_depth: 2,
            ..Limits::default()
        };
        assert!(parse_message_with(r#"42["a",{"b":1}]"#, &limits).is_ok());
        assert_eq!(
            parse_message_with(r#"42["a",{"b":[1]}]"#, &limits),
            Err(FrameError::TooDeep { max: 2 })
        );
        assert_eq!(
            parse_message_with(r#"40{"a":{"b":{}}}"#, &limits),
            Err(FrameError::TooDeep { max: 2 })
        );
        assert_eq!(
            parse_message_with(r#"451-[[[{"_placeholder":true,"num":0}]]]"#, &limits),
            Err(FrameError::TooDeep { max: 2 })
        );
        assert_eq!(
            EioPacket::parse_with(
                r#"0{"sid":"x","pingInterval":1,"pingTimeout":1,"x":[[]]}"#,
                &limits
            ),
            Err(FrameError::TooDeep { max: 2 })
        );
        // Brackets inside strings, escaped quotes included, do not count.
        let text = r#"42["[[[[{{{{","\"[[[[[","\\",{"k[[[":"]]]]"}]"#;
        assert_eq!(
            parse_message_with(text, &limits),
            Ok(Incoming::Socket(SioPacket::Event {
                ns: "/".into(),
                id: None,
                name: "[[[[{{{{".into(),
                args: vec![json!("\"[[[[["), json!("\\"), json!({"k[[[": "]]]]"})],
            }))
        );
    }

    // ---- Properties ----

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            // Dyadic fractions print and parse back exactly.
            (any::<i32>(), 0..6u32)
                .prop_map(|(n, shift)| Value::from(f64::from(n) / f64::from(1u32 << shift))),
            ".{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(".{0,6}", inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    fn json_object() -> impl Strategy<Value = Value> {
        prop::collection::btree_map("[a-zA-Z_]{1,6}", json_value(), 0..4)
            .prop_map(|map| Value::Object(map.into_iter().collect()))
    }

    fn namespace() -> impl Strategy<Value = String> {
        prop_oneof![Just("/".to_owned()), "/[a-z]{1,8}"]
    }

    fn sio_packet() -> impl Strategy<Value = SioPacket> {
        let args = || prop::collection::vec(json_value(), 0..4);
        prop_oneof![
            (namespace(), prop::option::of(json_object()))
                .prop_map(|(ns, data)| SioPacket::Connect { ns, data }),
            namespace().prop_map(|ns| SioPacket::Disconnect { ns }),
            (namespace(), any::<Option<u64>>(), ".{0,12}", args())
                .prop_map(|(ns, id, name, args)| SioPacket::Event { ns, id, name, args }),
            (namespace(), any::<u64>(), args()).prop_map(|(ns, id, args)| SioPacket::Ack {
                ns,
                id,
                args
            }),
            (namespace(), ".{0,12}", prop::option::of(json_value()))
                .prop_map(|(ns, message, data)| SioPacket::ConnectError { ns, message, data }),
            (
                namespace(),
                any::<u32>(),
                any::<Option<u64>>(),
                any::<bool>()
            )
                .prop_map(|(ns, attachments, id, is_ack)| SioPacket::Binary {
                    ns,
                    attachments,
                    id: if is_ack { Some(id.unwrap_or(0)) } else { id },
                    is_ack,
                }),
        ]
    }

    fn eio_packet() -> impl Strategy<Value = EioPacket> {
        let open = (
            ".{0,20}",
            prop::collection::vec("[a-z]{1,9}", 0..3),
            any::<u64>(),
            any::<u64>(),
            any::<Option<u64>>(),
        )
            .prop_map(|(sid, upgrades, interval, timeout, max_payload)| {
                EioPacket::Open(OpenData {
                    sid,
                    upgrades,
                    ping_interval_ms: interval,
                    ping_timeout_ms: timeout,
                    max_payload,
                })
            });
        prop_oneof![
            open,
            Just(EioPacket::Close),
            ".*".prop_map(EioPacket::Ping),
            ".*".prop_map(EioPacket::Pong),
            ".*".prop_map(EioPacket::Message),
            Just(EioPacket::Upgrade),
            Just(EioPacket::Noop),
        ]
    }

    /// Strings shaped like frames, to reach deep into the parser more often than `.*` does.
    fn frame_like() -> impl Strategy<Value = String> {
        r#"[0-6b]?[0-6x]?[0-9-]{0,22}(/[a-z ,\[{"]{0,5})?,?[0-9]{0,3}[\[\]{}":,0-9a-z\\ ]{0,24}"#
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn parsing_never_panics(text in ".*") {
            let _ = parse_message(&text);
            let _ = EioPacket::parse(&text);
            let _ = SioPacket::parse(&text);
            let _ = parse_message(&format!("4{text}"));
        }

        #[test]
        fn parsing_frame_like_text_never_panics(text in frame_like()) {
            let _ = parse_message(&text);
            let _ = SioPacket::parse(&text);
            let tight = Limits { max_frame_bytes: 16, max_depth: 2 };
            let _ = parse_message_with(&text, &tight);
        }

        #[test]
        fn socket_packets_round_trip(packet in sio_packet()) {
            prop_assert_eq!(SioPacket::parse(&packet.encode()), Ok(packet.clone()));
            prop_assert_eq!(
                parse_message(&packet.encode_message()),
                Ok(Incoming::Socket(packet))
            );
        }

        #[test]
        fn engine_packets_round_trip(packet in eio_packet()) {
            prop_assert_eq!(EioPacket::parse(&packet.encode()), Ok(packet));
        }

        #[test]
        fn canonical_text_round_trips(packet in sio_packet()) {
            // Encoding is canonical: parse(encode(p)) re-encodes to the same text.
            let text = packet.encode_message();
            let reparsed = parse_message(&text);
            prop_assert!(matches!(&reparsed, Ok(Incoming::Socket(p)) if p.encode_message() == text));
        }
    }
}
