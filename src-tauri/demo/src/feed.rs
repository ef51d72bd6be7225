//! One WebSocket connection of the feed: the changes its user may see, until the token expires, the client
//! leaves or the server stops.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use tokio::sync::{broadcast, watch};

use crate::model::{Published, Session};
use crate::stopped;

/// Close code for an expired token (mirrors HTTP 401; clients treat it as "sign in again").
pub const CLOSE_TOKEN_EXPIRED: u16 = 4401;

/// Close code when the server stops (RFC 6455 "going away").
const CLOSE_GOING_AWAY: u16 = 1001;

/// Close code for a client too slow to keep up (RFC 6455 "try again later"): it reconnects and backfills.
const CLOSE_TRY_AGAIN: u16 = 1013;

/// How often the token's expiry is checked while the feed is quiet.
const EXPIRY_CHECK: Duration = Duration::from_secs(1);

/// How long to wait for the client's answer to our close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

pub(crate) async fn serve(
    mut socket: WebSocket,
    session: Session,
    mut published: broadcast::Receiver<Arc<Published>>,
    stopping: watch::Receiver<bool>,
) {
    let user = session.user;
    tracing::info!(user = user.id, "feed connected");
    let mut expiry_check = tokio::time::interval(EXPIRY_CHECK);
    expiry_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (code, reason) = loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                // Pings are answered inside the WebSocket library; clients have nothing else to say.
                Some(Ok(Message::Close(_)) | Err(_)) | None => {
                    tracing::info!(user = user.id, "feed disconnected");
                    return;
                }
                Some(Ok(_)) => {}
            },
            message = published.recv() => match message {
                // Checked on send too: an expired token gets nothing more, even between two ticks.
                Ok(_) if Instant::now() >= session.expires => break (CLOSE_TOKEN_EXPIRED, "token expired"),
                Ok(message) => {
                    if user.sees(message.station_id)
                        && socket.send(Message::Text(message.text.clone())).await.is_err()
                    {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(user = user.id, missed, "feed client too slow; closing");
                    break (CLOSE_TRY_AGAIN, "too slow: reconnect and backfill with GET /api/reports?since=");
                }
                Err(broadcast::error::RecvError::Closed) => break (CLOSE_GOING_AWAY, "server stopping"),
            },
            _ = expiry_check.tick() => {
                if Instant::now() >= session.expires {
                    break (CLOSE_TOKEN_EXPIRED, "token expired");
                }
            }
            () = stopped(stopping.clone()) => break (CLOSE_GOING_AWAY, "server stopping"),
        }
    };
    tracing::info!(user = user.id, code, reason, "closing feed");
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    // Let the client answer the close frame so it sees a clean close, not a reset.
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}
