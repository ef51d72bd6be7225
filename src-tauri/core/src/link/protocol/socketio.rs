//! Socket.IO v4 over the Engine.IO v4 websocket transport (seeds 000, 001, 003).
//!
//! The handshake: the server's `open` packet, then our namespace CONNECT with the `auth` payload, answered by
//! CONNECT (with the session id) or CONNECT_ERROR (a refusal: of the credentials, e.g. `Unauthorized`, which
//! ends the link, or of anything else, e.g. `server busy`, which is tried again). Then events flow; server
//! pings are answered; events that ask for an acknowledgement get one; binary packets and their attachments
//! are skipped.
//!
//! Connection state recovery (socket.io 4.6+): when the server offers it, its CONNECT carries a private session
//! id (`pid`) and every event carries its offset as an extra last argument. Reconnecting with `pid` and the
//! last offset in the CONNECT payload makes the server replay what was missed; it then answers with the same
//! `pid`, and the link reports `recovered`.

use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::Message;

use super::sio_frame::{parse_message_with, EioPacket, Incoming, SioPacket};
use super::ws::{self, Liveness, Read, Socket};
use super::{LinkEnd, LinkEvent, LinkSpec, Transport};

/// The Socket.IO transport.
#[derive(Debug, Default, Clone, Copy)]
pub struct SocketIo;

/// What the namespace CONNECT gave us.
struct Session {
    sid: String,
    pid: Option<String>,
    recovered: bool,
    /// Packets that came before the CONNECT answer: a recovering server replays missed events first.
    early: Vec<Incoming>,
}

/// At most this many events before the CONNECT answer are kept (delivered after it)...
const MAX_EARLY: usize = 64;
/// ...and at most this many bytes of them.
const MAX_EARLY_BYTES: usize = 1024 * 1024;

/// The events a server sends before its CONNECT answer, bounded ([`MAX_EARLY`], [`MAX_EARLY_BYTES`]). Past the
/// bound the rest are dropped, and the session does not count as recovered: the link then catches up from the
/// profile's lists, or reports a gap, as after any new session, so nothing is silently lost.
#[derive(Debug, Default)]
struct Early {
    packets: Vec<Incoming>,
    bytes: usize,
    dropped: usize,
}

impl Early {
    /// Keeps one event of `len` bytes, or drops it (and every later one) past the bound.
    fn keep(&mut self, packet: Incoming, len: usize) {
        let fits =
            self.packets.len() < MAX_EARLY && self.bytes.saturating_add(len) <= MAX_EARLY_BYTES;
        if self.dropped == 0 && fits {
            self.packets.push(packet);
            self.bytes += len;
            return;
        }
        if self.dropped == 0 {
            tracing::warn!(
                kept = self.packets.len(),
                "the server sent more than {MAX_EARLY} events ({} KiB) before accepting the connection; \
                 dropping the rest and catching up from the lists instead",
                MAX_EARLY_BYTES / 1024
            );
        }
        self.dropped += 1;
    }
}

impl Transport for SocketIo {
    async fn run(&self, spec: &LinkSpec, events: &mpsc::Sender<LinkEvent>) -> LinkEnd {
        let mut socket = match ws::connect(spec).await {
            Ok(s) => s,
            Err(end) => return end,
        };
        let session = match handshake(&mut socket, spec).await {
            Ok(done) => done,
            Err(end) => return end,
        };
        let with_offsets = session.pid.is_some();
        let connected = LinkEvent::Connected {
            sid: Some(session.sid),
            recovered: session.recovered,
            pid: session.pid,
        };
        if events.send(connected).await.is_err() {
            return LinkEnd::Abandoned;
        }
        let mut skip_attachments = 0u32;
        for packet in session.early {
            let step = handle(packet, spec, &mut skip_attachments, with_offsets);
            if let Some(end) = perform(step, &mut socket, spec, events).await {
                return end;
            }
        }
        let mut next_ack_id = 0u64;
        for out in &spec.emits {
            let Some(name) = &out.event else { continue };
            let id = out.ack.then(|| {
                next_ack_id += 1;
                next_ack_id
            });
            let packet = SioPacket::Event {
                ns: spec.namespace.clone(),
                id,
                name: name.clone(),
                args: vec![out.data.clone()],
            };
            if let Err(e) =
                ws::send_text(&mut socket, packet.encode_message(), &spec.heartbeat).await
            {
                return LinkEnd::Closed(e);
            }
        }
        stream(&mut socket, spec, events, with_offsets).await
    }
}

/// The CONNECT payload: the profile's `auth`, plus `pid` and `offset` when resuming a session.
fn connect_payload(spec: &LinkSpec) -> Option<Value> {
    let Some(recovery) = &spec.recovery else {
        return spec.auth.clone();
    };
    let mut payload = match &spec.auth {
        Some(Value::Object(map)) => map.clone(),
        _ => serde_json::Map::new(),
    };
    payload.insert("pid".into(), Value::String(recovery.pid.clone()));
    payload.insert("offset".into(), Value::String(recovery.offset.clone()));
    Some(Value::Object(payload))
}

/// Waits for `open`, sends CONNECT, waits for the namespace's answer.
async fn handshake(socket: &mut Socket, spec: &LinkSpec) -> Result<Session, LinkEnd> {
    let deadline = Instant::now() + spec.heartbeat.connect_timeout;
    match next_packet(socket, spec, deadline).await?.0 {
        Incoming::Engine(EioPacket::Open(data)) => {
            tracing::debug!(sid = %data.sid, ping_interval = data.ping_interval_ms, "engine.io open");
        }
        other => {
            return Err(LinkEnd::Closed(format!(
                "expected the Engine.IO open packet, got {other:?}"
            )))
        }
    }
    let connect = SioPacket::Connect {
        ns: spec.namespace.clone(),
        data: connect_payload(spec),
    };
    ws::send_text(socket, connect.encode_message(), &spec.heartbeat)
        .await
        .map_err(LinkEnd::Closed)?;
    let mut early = Early::default();
    loop {
        let (packet, len) = next_packet(socket, spec, deadline).await?;
        match packet {
            Incoming::Socket(packet @ SioPacket::Connect { .. }) => {
                let ack = packet.connect_ack();
                let sid = ack.as_ref().map(|a| a.sid.clone()).unwrap_or_default();
                let pid = ack.and_then(|a| a.pid);
                // A replay we could not keep whole is no recovery: the lists say what was missed.
                let recovered = pid.is_some()
                    && spec.recovery.as_ref().map(|r| &r.pid) == pid.as_ref()
                    && early.dropped == 0;
                return Ok(Session {
                    sid,
                    pid,
                    recovered,
                    early: early.packets,
                });
            }
            Incoming::Socket(SioPacket::ConnectError { message, .. }) => {
                return Err(connect_error(&message));
            }
            Incoming::Engine(EioPacket::Ping(p)) => {
                ws::send_text(socket, EioPacket::Pong(p).encode(), &spec.heartbeat)
                    .await
                    .map_err(LinkEnd::Closed)?;
            }
            Incoming::Engine(EioPacket::Close) => {
                return Err(LinkEnd::Closed("server closed during handshake".into()))
            }
            packet @ Incoming::Socket(SioPacket::Event { .. }) => early.keep(packet, len),
            other => tracing::debug!("ignored during handshake: {other:?}"),
        }
    }
}

/// The next parseable Engine.IO packet before `deadline`, and its frame's length (bad frames are logged and
/// skipped).
async fn next_packet(
    socket: &mut Socket,
    spec: &LinkSpec,
    deadline: Instant,
) -> Result<(Incoming, usize), LinkEnd> {
    loop {
        let frame = match timeout(
            deadline.saturating_duration_since(Instant::now()),
            socket.next(),
        )
        .await
        {
            Err(_) => return Err(LinkEnd::Closed("Socket.IO handshake timed out".into())),
            Ok(read) => match ws::classify_read(read) {
                Read::Frame(message) => message,
                Read::Skip => continue,
                Read::End(end) => return Err(end),
            },
        };
        match frame {
            Message::Text(text) => match parse_message_with(&text, &spec.limits) {
                Ok(packet) => return Ok((packet, text.len())),
                Err(e) => tracing::warn!(len = text.len(), "dropped a bad frame: {e}"),
            },
            Message::Close(close) => return Err(ws::classify_close(close.as_ref())),
            _ => {}
        }
    }
}

async fn stream(
    socket: &mut Socket,
    spec: &LinkSpec,
    events: &mpsc::Sender<LinkEvent>,
    with_offsets: bool,
) -> LinkEnd {
    let mut liveness = Liveness::new(spec.heartbeat);
    let mut tick = tokio::time::interval(liveness.tick_every());
    let mut skip_attachments = 0u32;
    loop {
        tokio::select! {
            frame = socket.next() => {
                let message = match ws::classify_read(frame) {
                    Read::Frame(message) => message,
                    Read::Skip => continue,
                    Read::End(end) => return end,
                };
                liveness.saw_traffic();
                let text = match message {
                    Message::Text(text) => text,
                    Message::Binary(_) => {
                        skip_attachments = skip_attachments.saturating_sub(1);
                        continue;
                    }
                    Message::Close(frame) => return ws::classify_close(frame.as_ref()),
                    Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
                };
                let packet = match parse_message_with(&text, &spec.limits) {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(len = text.len(), "dropped a bad frame: {e}");
                        continue;
                    }
                };
                let step = handle(packet, spec, &mut skip_attachments, with_offsets);
                if let Some(end) = perform(step, socket, spec, events).await {
                    return end;
                }
            }
            _ = tick.tick() => {
                if let Some(dead) = liveness.tick(socket).await {
                    return LinkEnd::Closed(dead);
                }
            }
        }
    }
}

/// How a CONNECT_ERROR ends the link: a refusal of the credentials ("Unauthorized", "invalid token", "jwt
/// expired": see [`ws::sounds_like_auth`]) ends it for good; anything else (a namespace the server does not have,
/// "server busy", a middleware failing) is tried again with backoff.
fn connect_error(message: &str) -> LinkEnd {
    let text = format!("CONNECT_ERROR: {message}");
    if ws::sounds_like_auth(message) {
        LinkEnd::Rejected(text)
    } else {
        LinkEnd::Closed(text)
    }
}

/// Carries out a step; returns how the link ended if it did.
async fn perform(
    step: Step,
    socket: &mut Socket,
    spec: &LinkSpec,
    events: &mpsc::Sender<LinkEvent>,
) -> Option<LinkEnd> {
    let (event, reply) = match step {
        Step::Continue => return None,
        Step::End(end) => return Some(end),
        Step::Reply(text) => (None, Some(text)),
        Step::Deliver(event, reply) => (Some(event), reply),
    };
    if let Some(text) = reply {
        if let Err(e) = ws::send_text(socket, text, &spec.heartbeat).await {
            return Some(LinkEnd::Closed(e));
        }
    }
    match event {
        Some(event) => events
            .send(event)
            .await
            .is_err()
            .then_some(LinkEnd::Abandoned),
        None => None,
    }
}

/// What to do with one packet.
#[derive(Debug, PartialEq)]
enum Step {
    Continue,
    Reply(String),
    Deliver(LinkEvent, Option<String>),
    End(LinkEnd),
}

/// Pure: decides what a packet means for the link. With `with_offsets`, the server appends each event's
/// offset as a last string argument, which is taken off the payload.
fn handle(
    packet: Incoming,
    spec: &LinkSpec,
    skip_attachments: &mut u32,
    with_offsets: bool,
) -> Step {
    match packet {
        Incoming::Engine(EioPacket::Ping(p)) => Step::Reply(EioPacket::Pong(p).encode()),
        Incoming::Engine(EioPacket::Close) => Step::End(LinkEnd::Closed(
            "server closed the Engine.IO session".into(),
        )),
        Incoming::Engine(_) => Step::Continue,
        Incoming::Socket(SioPacket::Event {
            ns,
            id,
            name,
            mut args,
        }) if ns == spec.namespace => {
            let reply = id.map(|id| {
                SioPacket::Ack {
                    ns: ns.clone(),
                    id,
                    args: Vec::new(),
                }
                .encode_message()
            });
            let offset = match args.last() {
                Some(Value::String(_)) if with_offsets => {
                    args.pop().and_then(|v| v.as_str().map(str::to_string))
                }
                _ => None,
            };
            let payload = match args.len() {
                0 => Value::Null,
                1 => args.into_iter().next().unwrap_or(Value::Null),
                _ => Value::Array(args),
            };
            Step::Deliver(
                LinkEvent::Message {
                    event: Some(name),
                    payload,
                    offset,
                },
                reply,
            )
        }
        Incoming::Socket(SioPacket::Ack { id, .. }) => {
            tracing::debug!(id, "server acknowledged our emit");
            Step::Continue
        }
        Incoming::Socket(SioPacket::Disconnect { ns }) if ns == spec.namespace => {
            Step::End(LinkEnd::Closed("server disconnected us".into()))
        }
        Incoming::Socket(SioPacket::ConnectError { message, .. }) => {
            Step::End(connect_error(&message))
        }
        Incoming::Socket(SioPacket::Binary { attachments, .. }) => {
            tracing::warn!(attachments, "skipped a binary Socket.IO packet");
            *skip_attachments = skip_attachments.saturating_add(attachments);
            Step::Continue
        }
        Incoming::Socket(other) => {
            tracing::debug!("ignored {other:?}");
            Step::Continue
        }
    }
}

#[cfg(test)]
mod tests;
