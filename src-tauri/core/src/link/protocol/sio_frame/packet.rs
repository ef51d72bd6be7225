//! Socket.IO v4 (protocol 5) packets: what a `message` carries (connect, disconnect, events, acks, errors).

use serde_json::Value;

use super::{no_payload, split_type, FrameError, Limits};

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
    pub(super) fn parse_unchecked(text: &str, limits: &Limits) -> Result<Self, FrameError> {
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
