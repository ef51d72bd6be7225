//! A renewed token taken into a running link without losing an event: make before break.
//!
//! While the link is live, a second link is opened with the new token; the first one keeps delivering until the
//! second is connected, and for [`RETIRE_AFTER`] more, so an event the server sent to the first just before the
//! second joined still arrives. Events both deliver are the same records, which the history keeps once. No catch-up
//! is needed: the link was never down. A second link that the server refuses ends the link as refused; one that
//! fails otherwise leaves the first in place (the next reconnect uses the new token). While the link is not live,
//! the new token is simply used for the next attempt, which starts at once.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::Supervisor;
use crate::domain::Token;
use crate::link::protocol::{LinkEnd, LinkEvent};
use crate::link::spec::link_spec;
use crate::link::Reporter;

/// How long the old link keeps delivering after the new one connected.
pub(super) const RETIRE_AFTER: Duration = Duration::from_secs(2);

/// A link task and its events.
pub(super) struct Swap {
    link: JoinHandle<LinkEnd>,
    events: mpsc::Receiver<LinkEvent>,
}

/// The old link after a swap, delivering until `until`.
pub(super) struct Retiring {
    link: JoinHandle<LinkEnd>,
    events: mpsc::Receiver<LinkEvent>,
    until: Instant,
}

/// The links of one connection: the current one, the one opened with a renewed token until it connects, and the
/// one it replaced while it retires. Whoever ends the connection calls [`Links::stop`].
pub(super) struct Links {
    pub(super) link: JoinHandle<LinkEnd>,
    pub(super) events: mpsc::Receiver<LinkEvent>,
    pub(super) swap: Option<Swap>,
    pub(super) retiring: Option<Retiring>,
}

impl Links {
    pub(super) fn new(link: JoinHandle<LinkEnd>, events: mpsc::Receiver<LinkEvent>) -> Self {
        Self {
            link,
            events,
            swap: None,
            retiring: None,
        }
    }

    /// Opens `swap` beside the current link (a swap still connecting is dropped for it).
    pub(super) fn start_swap(&mut self, swap: Swap) {
        if let Some(old) = self.swap.replace(swap) {
            old.link.abort();
        }
    }

    /// The retiring link's time is up (or it ended).
    pub(super) fn retired(&mut self) {
        if let Some(old) = self.retiring.take() {
            old.link.abort();
        }
    }

    /// Stops every link of the connection.
    pub(super) fn stop(&mut self) {
        self.link.abort();
        if let Some(swap) = self.swap.take() {
            swap.link.abort();
        }
        self.retired();
    }
}

/// What the link opened with a renewed token did.
pub(super) enum Swapped {
    /// It connected (its session's private id, for recovery): it replaces the old link.
    Connected(Option<String>),
    /// It delivered an event before connecting (not expected; delivered all the same).
    Event(LinkEvent),
    /// It ended before connecting, this way.
    Ended(LinkEnd),
}

impl Supervisor {
    /// Takes the tokens `tokens` brings from now on (a renewed sign-in) into the running link without losing an
    /// event (see `renew.rs`).
    #[must_use]
    pub fn with_tokens(mut self, tokens: watch::Receiver<Token>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// A renewed token is waiting to be taken.
    pub(super) fn token_waiting(&self) -> bool {
        self.tokens
            .as_ref()
            .is_some_and(|rx| rx.has_changed().unwrap_or(false))
    }

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

    /// What the swap's link did: connected (it takes over, the old one retires), an event, or its end.
    pub(super) async fn on_swapped(
        &mut self,
        swapped: Swapped,
        links: &mut Links,
        out: &Reporter,
        live: &mut bool,
    ) -> Result<(), LinkEnd> {
        match swapped {
            Swapped::Connected(pid) => {
                let Some(next) = links.swap.take() else {
                    return Ok(());
                };
                links.retired();
                let link = std::mem::replace(&mut links.link, next.link);
                let events = std::mem::replace(&mut links.events, next.events);
                links.retiring = Some(Retiring {
                    link,
                    events,
                    until: Instant::now() + RETIRE_AFTER,
                });
                // A session of its own: recovery resumes from its offsets only.
                self.spec.recovery = None;
                self.sio_pid = pid;
                tracing::info!(server = %self.target.server, "the link with the renewed sign-in took over");
                Ok(())
            }
            Swapped::Event(event) => self.handle(event, out, live).await,
            Swapped::Ended(LinkEnd::Rejected(reason)) => {
                links.swap = None;
                Err(LinkEnd::Rejected(reason))
            }
            Swapped::Ended(LinkEnd::Abandoned) => Err(LinkEnd::Abandoned),
            Swapped::Ended(other) => {
                links.swap = None;
                tracing::info!(server = %self.target.server, "the link with the renewed sign-in did not connect ({other:?}); the current one stays");
                Ok(())
            }
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
        Some(LinkEvent::Connected { pid, .. }) => Swapped::Connected(pid),
        Some(event) => Swapped::Event(event),
        None => Swapped::Ended(
            (&mut swap.link)
                .await
                .unwrap_or_else(|e| LinkEnd::Closed(format!("link task failed: {e}"))),
        ),
    }
}

/// The retiring link's next message (without its offset: recovery follows the new link); `None` once its time
/// is up or it ended. Never while nothing retires.
pub(super) async fn retiring_event(retiring: Option<&mut Retiring>) -> Option<LinkEvent> {
    let Some(retiring) = retiring else {
        return std::future::pending().await;
    };
    loop {
        tokio::select! {
            event = retiring.events.recv() => match event? {
                LinkEvent::Message { event, payload, .. } => {
                    return Some(LinkEvent::Message { event, payload, offset: None });
                }
                LinkEvent::Connected { .. } => {}
            },
            () = tokio::time::sleep_until(retiring.until) => return None,
        }
    }
}
