//! A renewed token taken into a running link without losing an event: make before break.
//!
//! While the link is live, a second link is opened with the new token; the first one keeps delivering until the
//! second is connected (and caught up, as after any reconnect), then it goes. Events both deliver are the same
//! records, which the history keeps once. A second link that the server refuses ends the link as refused; one
//! that fails otherwise leaves the first in place (the next reconnect uses the new token). While the link is
//! not live, the new token is simply used for the next attempt, which starts at once.

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::Supervisor;
use crate::domain::Token;
use crate::link::protocol::{LinkEnd, LinkEvent};
use crate::link::spec::link_spec;

/// The link opened with a renewed token, until it connects. Whoever drops one that is still running aborts its
/// link.
pub(super) struct Swap {
    pub(super) link: JoinHandle<LinkEnd>,
    pub(super) events: mpsc::Receiver<LinkEvent>,
}

/// What the link opened with a renewed token did.
pub(super) enum Swapped {
    /// It connected: this is its `Connected` event; it replaces the old link.
    Connected(LinkEvent),
    /// It delivered an event before connecting (not expected; delivered all the same).
    Event(LinkEvent),
    /// It ended before connecting, this way.
    Ended(LinkEnd),
}

impl Supervisor {
    /// Takes `token` for every later connection and REST call.
    pub(super) fn take_token(&mut self, token: Token) {
        self.target.token = Some(token);
        self.rest.set_auth(&self.target);
        match link_spec(&self.target, self.spec.heartbeat) {
            Ok(mut spec) => {
                spec.limits = self.spec.limits;
                spec.recovery = self.spec.recovery.take();
                self.spec = spec;
            }
            // The spec was built from this target before; only the token changed.
            Err(e) => {
                tracing::warn!(server = %self.target.server, "cannot use the renewed token: {e}");
            }
        }
        tracing::info!(server = %self.target.server, "the link uses the renewed sign-in");
    }

    /// Opens the second link of a swap, with the token just taken (a session of its own: no recovery).
    pub(super) fn open_swap(&self) -> Swap {
        let (tx, events) = mpsc::channel(256);
        let mut spec = self.spec.clone();
        spec.recovery = None;
        Swap {
            link: self.connector.open(spec, tx),
            events,
        }
    }
}

/// Resolves with the next token the engine renews; never when there is no token source (or it is gone).
pub(super) async fn renewed(tokens: Option<&mut watch::Receiver<Token>>) -> Token {
    match tokens {
        Some(rx) => {
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
            rx.borrow_and_update().clone()
        }
        None => std::future::pending().await,
    }
}

/// What the swap's link does next; never while there is no swap.
pub(super) async fn swap_event(swap: Option<&mut Swap>) -> Swapped {
    let Some(swap) = swap else {
        return std::future::pending().await;
    };
    match swap.events.recv().await {
        Some(event @ LinkEvent::Connected { .. }) => Swapped::Connected(event),
        Some(event) => Swapped::Event(event),
        None => Swapped::Ended(
            (&mut swap.link)
                .await
                .unwrap_or_else(|e| LinkEnd::Closed(format!("link task failed: {e}"))),
        ),
    }
}
