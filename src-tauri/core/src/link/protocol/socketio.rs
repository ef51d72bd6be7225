//! Socket.IO v4 over the Engine.IO v4 websocket transport (seeds 000, 001, 003).
//!
//! The handshake: the server's `open` packet, then our namespace CONNECT with the `auth` payload, answered by
//! CONNECT (with the session id) or CONNECT_ERROR (a rejection, e.g. `Unauthorized`). Then events flow; server
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

/// How many events a server may send before its CONNECT answer (a recovery replay) before we drop the rest.
const MAX_EARLY: usize = 10_000;

/// Waits for `open`, sends CONNECT, waits for the namespace's answer.
async fn handshake(socket: &mut Socket, spec: &LinkSpec) -> Result<Session, LinkEnd> {
    let deadline = Instant::now() + spec.heartbeat.connect_timeout;
    match next_packet(socket, spec, deadline).await? {
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
    let mut early = Vec::new();
    loop {
        match next_packet(socket, spec, deadline).await? {
            Incoming::Socket(packet @ SioPacket::Connect { .. }) => {
                let ack = packet.connect_ack();
                let sid = ack.as_ref().map(|a| a.sid.clone()).unwrap_or_default();
                let pid = ack.and_then(|a| a.pid);
                let recovered =
                    pid.is_some() && spec.recovery.as_ref().map(|r| &r.pid) == pid.as_ref();
                return Ok(Session {
                    sid,
                    pid,
                    recovered,
                    early,
                });
            }
            Incoming::Socket(SioPacket::ConnectError { message, .. }) => {
                return Err(LinkEnd::Rejected(format!("CONNECT_ERROR: {message}")));
            }
            Incoming::Engine(EioPacket::Ping(p)) => {
                ws::send_text(socket, EioPacket::Pong(p).encode(), &spec.heartbeat)
                    .await
                    .map_err(LinkEnd::Closed)?;
            }
            Incoming::Engine(EioPacket::Close) => {
                return Err(LinkEnd::Closed("server closed during handshake".into()))
            }
            packet @ Incoming::Socket(SioPacket::Event { .. }) if early.len() < MAX_EARLY => {
                early.push(packet);
            }
            other => tracing::debug!("ignored during handshake: {other:?}"),
        }
    }
}

/// The next parseable Engine.IO packet before `deadline` (bad frames are logged and skipped).
async fn next_packet(
    socket: &mut Socket,
    spec: &LinkSpec,
    deadline: Instant,
) -> Result<Incoming, LinkEnd> {
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
                Ok(packet) => return Ok(packet),
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
            Step::End(LinkEnd::Rejected(format!("CONNECT_ERROR: {message}")))
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
mod tests {
    use serde_json::json;

    use super::*;
    use crate::link::protocol::sio_frame::parse_message;
    use crate::link::protocol::{Heartbeat, Limits, Recovery};

    fn spec() -> LinkSpec {
        LinkSpec {
            url: "ws://127.0.0.1:1/socket.io/?EIO=4&transport=websocket"
                .parse()
                .unwrap(),
            headers: Vec::new(),
            namespace: "/".into(),
            auth: Some(json!({"token": "t"})),
            emits: Vec::new(),
            heartbeat: Heartbeat::default(),
            limits: Limits::default(),
            recovery: None,
        }
    }

    fn step(text: &str) -> Step {
        handle(parse_message(text).unwrap(), &spec(), &mut 0, false)
    }

    fn message(event: &str, payload: Value, offset: Option<&str>) -> LinkEvent {
        LinkEvent::Message {
            event: Some(event.into()),
            payload,
            offset: offset.map(str::to_string),
        }
    }

    #[test]
    fn answers_pings_and_acks_events() {
        assert_eq!(step("2"), Step::Reply("3".into()));
        assert_eq!(
            step(r#"42["report:new",{"id":1}]"#),
            Step::Deliver(message("report:new", json!({"id": 1}), None), None)
        );
        assert_eq!(
            step(r#"427["ev",1,2]"#),
            Step::Deliver(message("ev", json!([1, 2]), None), Some("437[]".into()))
        );
    }

    #[test]
    fn rejection_disconnect_and_other_namespaces() {
        assert_eq!(
            step(r#"44{"message":"Unauthorized"}"#),
            Step::End(LinkEnd::Rejected("CONNECT_ERROR: Unauthorized".into()))
        );
        assert_eq!(
            step("41"),
            Step::End(LinkEnd::Closed("server disconnected us".into()))
        );
        assert_eq!(step(r#"42/admin,["x",1]"#), Step::Continue);
        assert_eq!(
            step("1"),
            Step::End(LinkEnd::Closed(
                "server closed the Engine.IO session".into()
            ))
        );
    }

    #[test]
    fn binary_packets_are_skipped_with_their_attachments() {
        let mut skip = 0;
        let packet = parse_message(
            r#"452-["upload",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        )
        .unwrap();
        assert_eq!(handle(packet, &spec(), &mut skip, false), Step::Continue);
        assert_eq!(skip, 2);
    }

    #[test]
    fn offsets_come_off_the_payload_when_recovery_is_on() {
        let packet = parse_message(r#"42["alert:new",{"id":"a1"},"offset-7"]"#).unwrap();
        assert_eq!(
            handle(packet, &spec(), &mut 0, true),
            Step::Deliver(
                message("alert:new", json!({"id": "a1"}), Some("offset-7")),
                None
            )
        );
        let packet = parse_message(r#"42["alert:new",{"id":"a1"},"not an offset"]"#).unwrap();
        let Step::Deliver(
            LinkEvent::Message {
                payload,
                offset: None,
                ..
            },
            _,
        ) = handle(packet, &spec(), &mut 0, false)
        else {
            panic!("expected a message")
        };
        assert_eq!(payload, json!([{"id": "a1"}, "not an offset"]));
    }

    #[test]
    fn resuming_sends_pid_and_offset_with_the_auth() {
        let mut spec = spec();
        assert_eq!(connect_payload(&spec), Some(json!({"token": "t"})));
        spec.recovery = Some(Recovery {
            pid: "p1".into(),
            offset: "o9".into(),
        });
        assert_eq!(
            connect_payload(&spec),
            Some(json!({"token": "t", "pid": "p1", "offset": "o9"}))
        );
    }
}
