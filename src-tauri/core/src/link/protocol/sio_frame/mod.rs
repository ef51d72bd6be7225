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

mod engineio;
mod packet;
#[cfg(test)]
mod tests;

use serde::Deserialize;

pub use engineio::{EioPacket, OpenData};
pub use packet::{ConnectAck, SioPacket};

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

/// Splits off the one-character packet type.
pub(super) fn split_type(text: &str) -> Result<(char, &str), FrameError> {
    let mut chars = text.chars();
    let kind = chars.next().ok_or(FrameError::Empty)?;
    Ok((kind, chars.as_str()))
}

pub(super) fn no_payload<T>(rest: &str, packet: T) -> Result<T, FrameError> {
    if rest.is_empty() {
        Ok(packet)
    } else {
        Err(FrameError::UnexpectedPayload)
    }
}
