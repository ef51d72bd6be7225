//! A plain WebSocket carrying JSON text messages (seeds 002 and 004).

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::ws::{self, Liveness, Read};
use super::{LinkEnd, LinkEvent, LinkSpec, Transport};

/// The raw JSON WebSocket transport.
#[derive(Debug, Default, Clone, Copy)]
pub struct RawWebSocket;

impl Transport for RawWebSocket {
    async fn run(&self, spec: &LinkSpec, events: &mpsc::Sender<LinkEvent>) -> LinkEnd {
        let mut socket = match ws::connect(spec).await {
            Ok(s) => s,
            Err(end) => return end,
        };
        if events
            .send(LinkEvent::Connected {
                sid: None,
                recovered: false,
                pid: None,
            })
            .await
            .is_err()
        {
            return LinkEnd::Abandoned;
        }
        for out in &spec.emits {
            if let Err(e) = ws::send_text(&mut socket, out.data.to_string(), &spec.heartbeat).await
            {
                return LinkEnd::Closed(e);
            }
        }
        let mut liveness = Liveness::new(spec.heartbeat);
        let mut tick = tokio::time::interval(liveness.tick_every());
        loop {
            tokio::select! {
                frame = socket.next() => {
                    let message = match ws::classify_read(frame) {
                        Read::Frame(message) => message,
                        Read::Skip => continue,
                        Read::End(end) => return end,
                    };
                    liveness.saw_traffic();
                    match message {
                        Message::Text(text) => match ws::parse_json(&text, &spec.limits) {
                            Ok(payload) => {
                                if events.send(LinkEvent::Message { event: None, payload, offset: None }).await.is_err() {
                                    return LinkEnd::Abandoned;
                                }
                            }
                            Err(e) => tracing::warn!(len = text.len(), "dropped a bad frame: {e}"),
                        },
                        Message::Binary(bytes) => tracing::warn!(len = bytes.len(), "dropped a binary frame"),
                        Message::Close(frame) => return ws::classify_close(frame.as_ref()),
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                    }
                }
                _ = tick.tick() => {
                    if let Some(dead) = liveness.tick(&mut socket).await {
                        return LinkEnd::Closed(dead);
                    }
                }
            }
        }
    }
}
