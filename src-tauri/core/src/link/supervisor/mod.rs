//! One connection's life: connect, report alerts, catch up on what was missed, reconnect.
//!
//! The [`Supervisor`] reports [`Update`]s (state changes, alerts, cursors, gaps) through a [`Reporter`]. States:
//! connecting, live, reconnecting (with the delay), polling (the WebSocket cannot be established but the REST
//! lists answer), auth_failed (the server refused the credentials: no more attempts), stopped.
//!
//! Nothing missed: after every reconnect the profile's lists are fetched from their cursors ([`Lists`]); while
//! the socket cannot be established they are polled. When the backend cannot tell what was missed (no lists,
//! or they failed), an [`Update::Gap`] says so. Duplicates are expected: the consumer deduplicates by alert id
//! against the history.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::backoff::{answers, back_online, Backoff, Jitter};
use super::base;
use super::catchup::{CatchUpError, Lists};
use super::events::Events;
use super::protocol::socketio::SocketIo;
use super::protocol::websocket::RawWebSocket;
use super::protocol::{Heartbeat, LinkEnd, LinkEvent, LinkSpec, Recovery, Transport};
use super::rest::Rest;
use super::spec::{link_spec, SpecError};
use super::{Abandoned, LinkState, Outcome, Reporter, Target, Update};
use crate::domain::{Source, Timestamp, Token};
use crate::profile::Protocol;
use renew::{renewed, retiring_event, swap_event, Links};

/// A link counts as stable, and the backoff starts over, after it stayed up this long, or as soon as it carried
/// live events: a link that works end to end (authenticated, caught up, delivering) earns a quick retry, while a
/// server that accepts and drops every connection still sees the delays grow.
const STABLE_AFTER: Duration = Duration::from_secs(10);

/// Waits before the catch-up after a connect is tried again when a list cannot be reached.
const CATCH_UP_RETRIES: [Duration; 3] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

/// Opens links. The real one speaks the profile's protocol; tests substitute scripted links.
pub trait Connector: Send + Sync {
    /// Starts one link task that reports into `events` and returns how the link ended.
    fn open(&self, spec: LinkSpec, events: mpsc::Sender<LinkEvent>) -> JoinHandle<LinkEnd>;

    /// Whether the server of `spec` looks able to take a link now (see [`answers`]); asked during backoff
    /// waits so the link is back as soon as the server is.
    fn probe(&self, spec: &LinkSpec) -> Pin<Box<dyn Future<Output = bool> + Send + 'static>> {
        let (url, http) = (spec.url.clone(), spec.net.http());
        Box::pin(async move { answers(&http, &url).await })
    }
}

/// Opens real WebSocket / Socket.IO links.
#[derive(Debug, Clone, Copy)]
pub struct NetConnector(pub Protocol);

impl Connector for NetConnector {
    fn open(&self, spec: LinkSpec, events: mpsc::Sender<LinkEvent>) -> JoinHandle<LinkEnd> {
        match self.0 {
            Protocol::Socketio => tokio::spawn(async move { SocketIo.run(&spec, &events).await }),
            Protocol::Websocket => {
                tokio::spawn(async move { RawWebSocket.run(&spec, &events).await })
            }
        }
    }
}

/// Runs one target until shutdown or rejection.
// Independent facts about the current link (traffic seen, unreachable, polling, base known), not a state machine.
#[allow(clippy::struct_excessive_bools)]
pub struct Supervisor {
    target: Target,
    spec: LinkSpec,
    connector: Arc<dyn Connector>,
    events: Events,
    lists: Lists,
    wake: Option<watch::Receiver<u64>>,
    jitter: Jitter,
    /// The Socket.IO private session id, when the server offers connection state recovery.
    sio_pid: Option<String>,
    /// The current link delivered at least one live event.
    link_traffic: bool,
    /// When polling is next due while the socket is down (none while live).
    next_poll: Option<Instant>,
    /// The link is down for a reason a probe can see end (the server refused, dropped or failed the attempt):
    /// the waits probe it to reconnect as soon as it answers again.
    probe_waits: bool,
    /// The current attempt was started because a probe said the server answers again.
    probe_led: bool,
    /// When the link went down (none while live).
    down_since: Option<Timestamp>,
    /// Polling delivers while the socket is down.
    polling: bool,
    rest: Rest,
    /// The REST base is known (set by the user, found, or looked for in vain).
    base_settled: bool,
    /// Renewed tokens from the engine (see `renew.rs`).
    tokens: Option<watch::Receiver<Token>>,
    /// A renewed token arrived while the link was not live: the next attempt starts at once.
    retry_now: bool,
    /// The attempt ended because a renewed token came before it was live: no outage, only a new attempt.
    renewed_before_live: bool,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("server", &self.target.server)
            .field("profile", &self.target.profile.name)
            .finish_non_exhaustive()
    }
}

impl Supervisor {
    /// Prepares a supervisor; fails when the profile cannot be applied to the target.
    pub fn new(target: Target, heartbeat: Heartbeat) -> Result<Self, SpecError> {
        let spec = link_spec(&target, heartbeat)?;
        let connector = Arc::new(NetConnector(target.profile.protocol));
        let rest = Rest::new(target.net.http(), &target);
        Ok(Self {
            events: Events::new(&target, rest.clone()),
            lists: Lists::new(&target, rest.clone()),
            base_settled: !target.discover_base,
            rest,
            target,
            spec,
            connector,
            wake: None,
            jitter: Jitter::Full,
            sio_pid: None,
            link_traffic: false,
            next_poll: None,
            probe_waits: false,
            probe_led: false,
            down_since: None,
            polling: false,
            tokens: None,
            retry_now: false,
            renewed_before_live: false,
        })
    }

    /// Starts as a link that has been down since `since` (a link started again after a new sign-in): the first
    /// catch-up then says what it cannot tell about that time.
    #[must_use]
    pub fn with_down_since(mut self, since: Option<Timestamp>) -> Self {
        self.down_since = since;
        self
    }

    /// Uses another way to open links (tests).
    #[must_use]
    pub fn with_connector(mut self, connector: Arc<dyn Connector>) -> Self {
        self.connector = connector;
        self
    }

    /// Reconnects at once whenever `wake` changes (wake from sleep, network change).
    #[must_use]
    pub fn with_wake(mut self, wake: watch::Receiver<u64>) -> Self {
        self.wake = Some(wake);
        self
    }

    /// Draws reconnect delays with `jitter` (tests use [`Jitter::None`] to see the ceilings).
    #[must_use]
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The link as it will be opened (for logs; the URL may hold a query token, use `redact`).
    pub fn spec(&self) -> &LinkSpec {
        &self.spec
    }

    /// Runs until `shutdown` resolves, nobody listens any more, or the server rejects the credentials.
    pub async fn run(mut self, out: Reporter, shutdown: impl Future<Output = ()>) -> Outcome {
        tokio::pin!(shutdown);
        let mut backoff = Backoff::new(self.jitter);
        if out
            .send(Update::State(LinkState::Connecting))
            .await
            .is_err()
        {
            return Outcome::Stopped;
        }
        loop {
            let started = Instant::now();
            let (end, was_live) = tokio::select! {
                result = self.one_link(&out) => result,
                () = &mut shutdown => return stopped(&out).await,
            };
            let woken_up = end == LinkEnd::Woken;
            let reason = match end {
                LinkEnd::Abandoned => return Outcome::Stopped,
                // Refused, but a renewed token is already here: it gets its chance.
                LinkEnd::Rejected(reason) if self.token_waiting() => {
                    let token = self
                        .tokens
                        .as_mut()
                        .map(|rx| rx.borrow_and_update().clone());
                    if let Some(token) = token {
                        self.take_token(token);
                    }
                    self.retry_now = true;
                    format!("{reason}; trying the renewed sign-in")
                }
                LinkEnd::Rejected(reason) => return auth_failed(&out, reason).await,
                LinkEnd::Closed(reason) => reason,
                LinkEnd::Woken => "woke up or network changed: reconnecting at once".to_string(),
            };
            // A probe that said "back" before an attempt that then failed is not trusted for the next wait, so a
            // server that answers plain requests but fails every link is not tried more than twice per delay.
            let probe_misled = self.probe_led && !was_live;
            self.probe_waits = !woken_up && !probe_misled;
            self.probe_led = false;
            if was_live {
                self.polling = false;
                if started.elapsed() >= STABLE_AFTER || self.link_traffic {
                    backoff = Backoff::new(self.jitter);
                }
            }
            // A token renewed while connecting ends an attempt, not a link: no time down, nothing to poll.
            let renewed = std::mem::take(&mut self.renewed_before_live);
            if !renewed {
                self.down_since.get_or_insert_with(Timestamp::now);
            }
            let woke = woken_up || std::mem::take(&mut self.retry_now);
            let delay = if woke {
                Duration::ZERO
            } else {
                backoff.next_delay()
            };
            tracing::info!(server = %self.target.server, "link down ({reason}); retrying in {delay:?}");
            if !self.polling {
                let state = LinkState::Reconnecting {
                    retry_in_ms: millis(delay),
                    reason: reason.clone(),
                };
                if out.send(Update::State(state)).await.is_err() {
                    return Outcome::Stopped;
                }
            }
            // Poll only when the socket could not be established: a link that just dropped gets a quick retry.
            let poll_every = if was_live || renewed {
                None
            } else {
                self.lists.poll_interval()
            };
            tokio::select! {
                result = self.wait(delay, poll_every, &reason, &out) => match result {
                    Ok(probed) => self.probe_led = probed,
                    Err(Waited::Rejected(reason)) => return auth_failed(&out, reason).await,
                    Err(Waited::Abandoned) => return Outcome::Stopped,
                },
                () = &mut shutdown => return stopped(&out).await,
            }
        }
    }

    /// The catch-up after a connect. A list that cannot be reached (the network or the server failing for a
    /// moment, as a link that just came back often meets) is tried again, 0.5, 1 and 2 s later, before its gap is
    /// said: a blip must not leave what was missed behind.
    async fn catch_up_after_connect(&mut self, out: &Reporter) -> Result<(), CatchUpError> {
        for wait in CATCH_UP_RETRIES {
            match self.lists.catch_up(Source::Backfill, out).await {
                Err(CatchUpError::Unreachable(why)) => {
                    tracing::info!(server = %self.target.server, "catch-up failed ({why}); trying again in {wait:?}");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
        self.lists.catch_up(Source::Backfill, out).await
    }

    /// Waits `delay` before the next attempt, polling the lists meanwhile when `poll_every` is set. A wake
    /// trigger, or a down server that answers again, ends the wait early. Returns whether a probe ended it.
    async fn wait(
        &mut self,
        delay: Duration,
        poll_every: Option<Duration>,
        reason: &str,
        out: &Reporter,
    ) -> Result<bool, Waited> {
        let deadline = Instant::now() + delay;
        // The poll schedule spans the waits between reconnect attempts: polls keep the profile's interval
        // however often the socket is retried.
        let mut next_poll = *self.next_poll.get_or_insert_with(Instant::now);
        loop {
            if let Some(every) = poll_every {
                if Instant::now() >= next_poll {
                    next_poll = Instant::now() + every;
                    self.next_poll = Some(next_poll);
                    self.settle_base(out).await?;
                    match self.lists.catch_up(Source::Poll, out).await {
                        Ok(()) => {
                            if !self.polling {
                                self.polling = true;
                                let state = LinkState::Polling {
                                    every_s: every.as_secs(),
                                    reason: reason.to_string(),
                                };
                                out.send(Update::State(state)).await?;
                            }
                        }
                        Err(CatchUpError::Rejected(reason)) => {
                            return Err(Waited::Rejected(reason))
                        }
                        Err(CatchUpError::Abandoned) => return Err(Waited::Abandoned),
                        Err(CatchUpError::Unreachable(e)) => tracing::debug!("poll failed: {e}"),
                        // The server answers, but not what the profile reads: say so while it lasts.
                        Err(CatchUpError::Failed(e)) => out.send(Update::Problem(e)).await?,
                    }
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            let until = poll_every.map_or(deadline, |_| deadline.min(next_poll));
            let (connector, spec) = (&self.connector, &self.spec);
            let probe = self.probe_waits.then_some(|| connector.probe(spec));
            tokio::select! {
                () = tokio::time::sleep_until(until) => {}
                () = back_online(probe, deadline) => return Ok(true),
                () = woken(self.wake.as_mut()) => return Ok(false),
                token = renewed(self.tokens.as_mut()) => {
                    self.take_token(token);
                    return Ok(false);
                }
            }
        }
    }

    /// One connection: opens the link, handles its events until it ends. Returns how it ended and whether it
    /// got live. A renewed token swaps in a new link while live (see `renew.rs`).
    async fn one_link(&mut self, out: &Reporter) -> (LinkEnd, bool) {
        let (tx, rx) = mpsc::channel(256);
        self.link_traffic = false;
        let mut links = Links::new(self.connector.open(self.spec.clone(), tx), rx);
        let mut live = false;
        let end = loop {
            tokio::select! {
                event = links.events.recv() => {
                    let Some(event) = event else { continue };
                    if let Err(end) = self.handle(event, out, &mut live).await {
                        break end;
                    }
                }
                joined = &mut links.link => {
                    let end = joined.unwrap_or_else(|e| LinkEnd::Closed(format!("link task failed: {e}")));
                    // Deliver what the link queued before it ended.
                    while let Ok(event) = links.events.try_recv() {
                        if let Err(end) = self.handle(event, out, &mut live).await {
                            links.stop();
                            return (end, live);
                        }
                    }
                    break end;
                }
                () = woken(self.wake.as_mut()) => break LinkEnd::Woken,
                token = renewed(self.tokens.as_mut()) => {
                    self.take_token(token);
                    if live {
                        links.start_swap(self.open_swap());
                    } else {
                        self.retry_now = true;
                        self.renewed_before_live = true;
                        break LinkEnd::Closed("the sign-in was renewed: connecting with the new token".into());
                    }
                }
                swapped = swap_event(links.swap.as_mut()) => {
                    if let Err(end) = self.on_swapped(swapped, &mut links, out, &mut live).await {
                        break end;
                    }
                }
                event = retiring_event(links.retiring.as_mut()) => match event {
                    Some(event) => {
                        if let Err(end) = self.handle(event, out, &mut live).await {
                            break end;
                        }
                    }
                    None => links.retired(),
                },
            }
        };
        links.stop();
        (end, live)
    }

    async fn handle(
        &mut self,
        event: LinkEvent,
        out: &Reporter,
        live: &mut bool,
    ) -> Result<(), LinkEnd> {
        match event {
            LinkEvent::Connected { recovered, pid, .. } => {
                *live = true;
                self.next_poll = None;
                // A new session (or one the server did not recover) resumes from its own offsets only.
                if !recovered {
                    self.spec.recovery = None;
                }
                self.sio_pid = pid;
                tracing::info!(server = %self.target.server, profile = %self.target.profile.name, recovered, "connected");
                // Catch up before reporting live: events arriving meanwhile wait in the link's queue, and
                // "live" then means nothing older is still missing.
                self.settle_base(out).await.map_err(abandoned)?;
                self.events.prime_lists().await;
                let was_down = self.down_since.take();
                let missed = if recovered {
                    None // the server replayed what we missed
                } else {
                    match self.catch_up_after_connect(out).await {
                        // The lists caught up what they hold; events none of them holds may be lost.
                        Ok(()) if self.lists.any() => was_down.and_then(|from| {
                            uncovered_reason(&self.target.profile.uncovered_events())
                                .map(|reason| (from, reason))
                        }),
                        // Nothing to catch up from: only an outage can have missed anything.
                        Ok(()) => was_down.map(|from| {
                            (
                                from,
                                "this backend offers no list to catch up from".to_string(),
                            )
                        }),
                        Err(CatchUpError::Rejected(reason)) => {
                            return Err(LinkEnd::Rejected(reason))
                        }
                        Err(CatchUpError::Abandoned) => return Err(LinkEnd::Abandoned),
                        // A list that cannot be read is said whether or not the link was down: it would
                        // miss everything the next outage brings, and say nothing.
                        Err(CatchUpError::Failed(why) | CatchUpError::Unreachable(why)) => {
                            Some((was_down.unwrap_or_else(Timestamp::now), why))
                        }
                    }
                };
                // Said after the catch-up: when the lists refuse the credentials the link ends, and a list fetch
                // refused just before is that same refusal, not a problem of its own.
                self.report_problems(out).await?;
                if let Some((from, reason)) = missed {
                    tracing::warn!(server = %self.target.server, "cannot tell what was missed: {reason}");
                    let gap = Update::Gap {
                        from,
                        to: Timestamp::now(),
                        reason,
                    };
                    out.send(gap).await.map_err(abandoned)?;
                }
                out.send(Update::State(LinkState::Live))
                    .await
                    .map_err(abandoned)
            }
            LinkEvent::Message {
                event,
                payload,
                offset,
            } => {
                self.link_traffic = true;
                if let (Some(pid), Some(offset)) = (&self.sio_pid, offset) {
                    self.spec.recovery = Some(Recovery {
                        pid: pid.clone(),
                        offset,
                    });
                }
                for alert in self.events.alerts_for(event, payload).await {
                    out.send(Update::Alert(Box::new(alert)))
                        .await
                        .map_err(abandoned)?;
                }
                if self.events.take_catch_up() {
                    self.catch_up_now(out).await?;
                }
                self.report_problems(out).await
            }
        }
    }
}

impl Supervisor {
    /// Catches up from the lists while live (a message said something changed without saying what). A list
    /// that cannot be read is a problem to say; the link stays up.
    async fn catch_up_now(&mut self, out: &Reporter) -> Result<(), LinkEnd> {
        match self.lists.catch_up(Source::Backfill, out).await {
            Ok(()) => Ok(()),
            Err(CatchUpError::Rejected(reason)) => Err(LinkEnd::Rejected(reason)),
            Err(CatchUpError::Abandoned) => Err(LinkEnd::Abandoned),
            Err(CatchUpError::Failed(why) | CatchUpError::Unreachable(why)) => {
                out.send(Update::Problem(why)).await.map_err(abandoned)
            }
        }
    }
}

/// The gap note for events no list covers (`None`: every event is covered).
fn uncovered_reason(events: &[String]) -> Option<String> {
    if events.is_empty() {
        return None;
    }
    let names: Vec<&str> = events
        .iter()
        .map(|e| {
            if e == "*" {
                "any other event"
            } else {
                e.as_str()
            }
        })
        .collect();
    Some(format!(
        "no list holds these events, so any sent while the link was down were missed: {}",
        names.join(", ")
    ))
}

impl Supervisor {
    /// On first contact, unless the user set it: finds where the server keeps its REST API, tells the fetches,
    /// and remembers it with the cursors (reported, so the next run starts there).
    async fn settle_base(&mut self, out: &Reporter) -> Result<(), Abandoned> {
        if self.base_settled {
            return Ok(());
        }
        let current = self
            .target
            .vars
            .get(base::VARIABLE)
            .cloned()
            .unwrap_or_default();
        let remembered = self.lists.cursors().api_base().map(str::to_string);
        let candidates = base::candidates(remembered.as_deref(), &current);
        match base::discover(
            &self.rest,
            &self.target.profile,
            &self.target.vars,
            &candidates,
        )
        .await
        {
            base::Found::Base(found) => {
                self.base_settled = true;
                if found != current {
                    tracing::info!(server = %self.target.server, "REST API at {} (not the profile's {}): using it",
                        base::shown(&found), base::shown(&current));
                    self.target
                        .vars
                        .insert(base::VARIABLE.into(), found.clone());
                    self.events.set_var(base::VARIABLE, &found);
                    self.lists.set_var(base::VARIABLE, &found);
                }
                if remembered.as_deref() != Some(found.as_str()) {
                    self.lists.remember_base(&found);
                    out.send(Update::Cursor(self.lists.cursors().clone()))
                        .await?;
                }
            }
            base::Found::Nothing => {
                self.base_settled = true;
                let tried: Vec<&str> = candidates.iter().map(|b| base::shown(b)).collect();
                out.send(Update::Problem(format!(
                    "none of the usual REST base paths answers ({}); set api_base to where this server's API is",
                    tried.join(", ")
                )))
                .await?;
            }
            base::Found::Unreachable(why) => {
                tracing::debug!("cannot look for the REST base yet: {why}");
            }
        }
        Ok(())
    }

    /// Reports what did not fit in the last events and fetches.
    async fn report_problems(&mut self, out: &Reporter) -> Result<(), LinkEnd> {
        for problem in self.events.take_problems() {
            out.send(Update::Problem(problem))
                .await
                .map_err(abandoned)?;
        }
        Ok(())
    }
}

/// Why a wait between attempts ended the link.
enum Waited {
    Rejected(String),
    Abandoned,
}

impl From<Abandoned> for Waited {
    fn from(_: Abandoned) -> Self {
        Self::Abandoned
    }
}

fn abandoned(_: Abandoned) -> LinkEnd {
    LinkEnd::Abandoned
}

async fn stopped(out: &Reporter) -> Outcome {
    let _ = out.send(Update::State(LinkState::Stopped)).await;
    Outcome::Stopped
}

async fn auth_failed(out: &Reporter, reason: String) -> Outcome {
    let state = LinkState::AuthFailed {
        reason: reason.clone(),
    };
    let _ = out.send(Update::State(state)).await;
    Outcome::AuthFailed(reason)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Resolves when the wake counter changes; never when there is no wake source.
async fn woken(wake: Option<&mut watch::Receiver<u64>>) {
    match wake {
        Some(rx) => {
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

mod renew;
#[cfg(test)]
mod tests;
