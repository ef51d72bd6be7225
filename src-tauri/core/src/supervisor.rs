//! One connection's life: connect, turn events into alerts, catch up on what was missed, reconnect.
//!
//! The [`Supervisor`] owns the link task and reports [`Update`]s (state changes, alerts, cursors, gaps)
//! through a channel; it knows nothing of windows, terminals or storage. States: connecting, live,
//! reconnecting (with the delay), polling (the WebSocket cannot be established but the REST lists answer),
//! auth_failed (the server refused the credentials: no more attempts), stopped.
//!
//! Nothing missed: after every reconnect the profile's `[[backfill]]` lists are fetched from the stored cursor
//! and their records become alerts (source `backfill`); while the socket cannot be established they are polled
//! (source `poll`). When the backend cannot tell what was missed (no backfill, or it failed), an
//! [`Update::Gap`] says so. Duplicates are expected: the consumer deduplicates by alert id against the history.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use backon::BackoffBuilder;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::alert::{now_rfc3339, Alert, Source};
use crate::auth::without_url;
use crate::profile::rules::{self, Fetch, Rule};
use crate::profile::{render_value, AuthMode, Backfill, Profile, Protocol, Scope};
use crate::protocol::socketio::SocketIo;
use crate::protocol::websocket::RawWebSocket;
use crate::protocol::{
    Heartbeat, Limits, LinkEnd, LinkEvent, LinkSpec, Outgoing, Recovery, Transport,
};
use crate::secret::Token;
use crate::server::Server;

/// A link counts as stable, and the backoff starts over, after it stayed up this long, or as soon as it carried
/// live events: a link that works end to end (authenticated, caught up, delivering) earns a quick retry, while a
/// server that accepts and drops every connection still sees the delays grow.
const STABLE_AFTER: Duration = Duration::from_secs(10);

/// What to connect to.
#[derive(Debug, Clone)]
pub struct Target {
    /// The profile.
    pub profile: Arc<Profile>,
    /// The server.
    pub server: Server,
    /// Resolved variables (see [`Profile::resolve_variables`]).
    pub vars: BTreeMap<String, String>,
    /// The token, if the profile sends one.
    pub token: Option<Token>,
    /// The cursor stored after the last run ([`Update::Cursor`]), if any.
    pub cursor: Option<String>,
}

/// A link's state, as shown by the UI and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LinkState {
    /// First attempt under way.
    Connecting,
    /// Connected and receiving.
    Live,
    /// Down; the next attempt is in `retry_in_ms`.
    Reconnecting {
        /// Milliseconds until the next attempt.
        #[ts(type = "number")]
        retry_in_ms: u64,
        /// Why the link went down.
        reason: String,
    },
    /// The WebSocket cannot be established, but the REST lists answer and are polled.
    Polling {
        /// Seconds between polls.
        #[ts(type = "number")]
        every_s: u64,
        /// Why the WebSocket is down.
        reason: String,
    },
    /// The server refused the credentials; sign in again.
    AuthFailed {
        /// What the server said.
        reason: String,
    },
    /// Stopped on request.
    Stopped,
}

/// What the supervisor reports.
#[derive(Debug, Clone)]
pub enum Update {
    /// The link changed state.
    State(LinkState),
    /// An alert arrived (live, or fetched by backfill or polling: see its `source`).
    Alert(Box<Alert>),
    /// Records that existed before the first connection: history to keep, not news to announce.
    Baseline(Vec<Alert>),
    /// The position to resume from next time; store it and pass it back in [`Target::cursor`].
    Cursor(String),
    /// The link was down from `from` to `to` and the backend cannot tell what was missed.
    Gap {
        /// When the link went down (RFC 3339).
        from: String,
        /// When it came back (RFC 3339).
        to: String,
    },
}

/// How a supervisor ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Asked to stop (or nobody listens any more).
    Stopped,
    /// The server refused the credentials.
    AuthFailed(String),
}

/// Opens links. The real one speaks the profile's protocol; tests substitute scripted links.
pub trait Connector: Send + Sync {
    /// Starts one link task that reports into `events` and returns how the link ended.
    fn open(&self, spec: LinkSpec, events: mpsc::Sender<LinkEvent>) -> JoinHandle<LinkEnd>;
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

/// The exponential backoff with full jitter: 0.5 s doubling to a 30 s cap, each delay drawn in [0, d].
#[derive(Debug)]
pub struct Backoff {
    inner: backon::ExponentialBackoff,
}

impl Backoff {
    /// A fresh backoff.
    pub fn new() -> Self {
        let inner = backon::ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(500))
            .with_max_delay(Duration::from_secs(30))
            .with_factor(2.0)
            .without_max_times()
            .build();
        Self { inner }
    }

    /// The next delay.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.inner.next().unwrap_or(Duration::from_secs(30));
        ceiling
            .mul_f64(fastrand::f64())
            .max(Duration::from_millis(50))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

/// Why catching up failed.
enum CatchUp {
    /// The server refused the credentials.
    Rejected(LinkEnd),
    /// The list could not be fetched.
    Failed(String),
}

/// Runs one target until shutdown or rejection.
pub struct Supervisor {
    target: Target,
    spec: LinkSpec,
    connector: Arc<dyn Connector>,
    http: reqwest::Client,
    /// Records already seen by list-fetching rules (per rule index).
    seen: HashMap<usize, HashSet<String>>,
    /// Per backfill list: the largest cursor value seen, or "primed" for lists compared with the history.
    cursors: BTreeMap<String, String>,
    wake: Option<watch::Receiver<u64>>,
    /// The Socket.IO private session id, when the server offers connection state recovery.
    sio_pid: Option<String>,
    /// The current link delivered at least one live event.
    link_traffic: bool,
    /// When polling is next due while the socket is down (none while live).
    next_poll: Option<Instant>,
    /// The last attempt found nothing listening: the waits probe the port to reconnect as soon as it is back.
    unreachable: bool,
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
    /// Prepares a supervisor; fails (with a message for the user) when the profile cannot be applied.
    pub fn new(target: Target, heartbeat: Heartbeat) -> Result<Self, String> {
        let spec = link_spec(&target, heartbeat)?;
        let connector = Arc::new(NetConnector(target.profile.protocol));
        let cursors = target
            .cursor
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default();
        Ok(Self {
            target,
            spec,
            connector,
            http: crate::auth::http_client(),
            seen: HashMap::new(),
            cursors,
            wake: None,
            sio_pid: None,
            link_traffic: false,
            next_poll: None,
            unreachable: false,
        })
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

    /// The link as it will be opened (for logs; the URL may hold a query token, use `redact`).
    pub fn spec(&self) -> &LinkSpec {
        &self.spec
    }

    /// Runs until `shutdown` resolves, the receiver goes away, or the server rejects the credentials.
    pub async fn run(
        mut self,
        out: mpsc::Sender<Update>,
        shutdown: impl Future<Output = ()>,
    ) -> Outcome {
        tokio::pin!(shutdown);
        let mut backoff = Backoff::new();
        if out
            .send(Update::State(LinkState::Connecting))
            .await
            .is_err()
        {
            return Outcome::Stopped;
        }
        let mut down_since: Option<String> = None;
        let mut polling = false;
        loop {
            let started = Instant::now();
            let (end, was_live) = tokio::select! {
                result = self.one_link(&out, &mut down_since) => result,
                () = &mut shutdown => return stopped(&out).await,
            };
            let reason = match end {
                LinkEnd::Abandoned => return Outcome::Stopped,
                LinkEnd::Rejected(reason) => {
                    let _ = out
                        .send(Update::State(LinkState::AuthFailed {
                            reason: reason.clone(),
                        }))
                        .await;
                    return Outcome::AuthFailed(reason);
                }
                LinkEnd::Closed(reason) => {
                    self.unreachable = false;
                    reason
                }
                LinkEnd::Unreachable(reason) => {
                    self.unreachable = true;
                    reason
                }
            };
            if was_live {
                polling = false;
                if started.elapsed() >= STABLE_AFTER || self.link_traffic {
                    backoff = Backoff::new();
                }
            }
            if down_since.is_none() {
                down_since = Some(now_rfc3339());
            }
            let woke = reason.starts_with(WOKE);
            let delay = if woke {
                Duration::ZERO
            } else {
                backoff.next_delay()
            };
            tracing::info!(server = %self.target.server, "link down ({reason}); retrying in {delay:?}");
            if !polling {
                let state = LinkState::Reconnecting {
                    retry_in_ms: millis(delay),
                    reason: reason.clone(),
                };
                if out.send(Update::State(state)).await.is_err() {
                    return Outcome::Stopped;
                }
            }
            // Poll only when the socket could not be established: a link that just dropped gets a quick retry.
            let poll_every = (!was_live).then(|| self.poll_interval()).flatten();
            tokio::select! {
                result = self.wait(delay, poll_every, &reason, &mut polling, &out) => {
                    if let Err(end) = result {
                        match end {
                            LinkEnd::Rejected(reason) => {
                                let _ = out.send(Update::State(LinkState::AuthFailed { reason: reason.clone() })).await;
                                return Outcome::AuthFailed(reason);
                            }
                            _ => return Outcome::Stopped,
                        }
                    }
                }
                () = &mut shutdown => return stopped(&out).await,
            }
        }
    }

    fn poll_interval(&self) -> Option<Duration> {
        self.target
            .profile
            .backfill
            .iter()
            .map(|b| b.poll_interval_secs)
            .filter(|s| *s > 0)
            .min()
            .map(Duration::from_secs)
    }

    /// Waits `delay` before the next attempt, polling the backfill lists meanwhile when `poll_every` is set.
    /// A wake trigger ends the wait early.
    async fn wait(
        &mut self,
        delay: Duration,
        poll_every: Option<Duration>,
        reason: &str,
        polling: &mut bool,
        out: &mpsc::Sender<Update>,
    ) -> Result<(), LinkEnd> {
        let deadline = Instant::now() + delay;
        // The poll schedule spans the waits between reconnect attempts: polls keep the profile's interval
        // however often the socket is retried.
        let mut next_poll = *self.next_poll.get_or_insert_with(Instant::now);
        loop {
            if let Some(every) = poll_every {
                if Instant::now() >= next_poll {
                    next_poll = Instant::now() + every;
                    self.next_poll = Some(next_poll);
                    match self.catch_up(Source::Poll, out).await {
                        Ok(()) => {
                            if !*polling {
                                *polling = true;
                                let state = LinkState::Polling {
                                    every_s: every.as_secs(),
                                    reason: reason.to_string(),
                                };
                                out.send(Update::State(state))
                                    .await
                                    .map_err(|_| LinkEnd::Abandoned)?;
                            }
                        }
                        Err(CatchUp::Rejected(end)) => return Err(end),
                        Err(CatchUp::Failed(e)) => tracing::debug!("poll failed: {e}"),
                    }
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            let until = poll_every.map_or(deadline, |_| deadline.min(next_poll));
            tokio::select! {
                () = tokio::time::sleep_until(until) => {}
                () = back_online(self.unreachable.then(|| self.spec.url.clone()), deadline) => return Ok(()),
                () = woken(self.wake.as_mut()) => return Ok(()),
            }
        }
    }

    /// One connection: opens the link, handles its events until it ends. Returns how it ended and whether it
    /// got live.
    async fn one_link(
        &mut self,
        out: &mpsc::Sender<Update>,
        down_since: &mut Option<String>,
    ) -> (LinkEnd, bool) {
        let (tx, mut rx) = mpsc::channel(256);
        self.link_traffic = false;
        let mut link = self.connector.open(self.spec.clone(), tx);
        let mut live = false;
        let end = loop {
            tokio::select! {
                event = rx.recv() => {
                    let Some(event) = event else { continue };
                    if let Err(end) = self.handle(event, out, &mut live, down_since).await {
                        link.abort();
                        break end;
                    }
                }
                joined = &mut link => {
                    let end = joined.unwrap_or_else(|e| LinkEnd::Closed(format!("link task failed: {e}")));
                    // Deliver what the link queued before it ended.
                    while let Ok(event) = rx.try_recv() {
                        if let Err(end) = self.handle(event, out, &mut live, down_since).await {
                            return (end, live);
                        }
                    }
                    break end;
                }
                () = woken(self.wake.as_mut()) => {
                    link.abort();
                    break LinkEnd::Closed(format!("{WOKE}: reconnecting at once"));
                }
            }
        };
        (end, live)
    }

    async fn handle(
        &mut self,
        event: LinkEvent,
        out: &mpsc::Sender<Update>,
        live: &mut bool,
        down_since: &mut Option<String>,
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
                self.prime_lists().await?;
                let was_down = down_since.take();
                let caught_up = if recovered {
                    Ok(()) // the server replayed what we missed
                } else {
                    match self.catch_up(Source::Backfill, out).await {
                        Ok(()) if !self.target.profile.backfill.is_empty() => Ok(()),
                        Err(CatchUp::Rejected(end)) => return Err(end),
                        Ok(()) => Err("this backend offers no list to catch up from".to_string()),
                        Err(CatchUp::Failed(e)) => Err(e),
                    }
                };
                if let (Err(why), Some(from)) = (caught_up, was_down) {
                    tracing::warn!(server = %self.target.server, "cannot tell what was missed: {why}");
                    out.send(Update::Gap {
                        from,
                        to: now_rfc3339(),
                    })
                    .await
                    .map_err(|_| LinkEnd::Abandoned)?;
                }
                out.send(Update::State(LinkState::Live))
                    .await
                    .map_err(|_| LinkEnd::Abandoned)
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
                for alert in self.alerts_for(event, payload).await? {
                    out.send(Update::Alert(Box::new(alert)))
                        .await
                        .map_err(|_| LinkEnd::Abandoned)?;
                }
                Ok(())
            }
        }
    }

    /// Fetches every backfill list from its cursor and reports the records as alerts with `source`. A list
    /// never fetched before only sets its baseline: its records are history, not news.
    async fn catch_up(
        &mut self,
        source: Source,
        out: &mpsc::Sender<Update>,
    ) -> Result<(), CatchUp> {
        let profile = Arc::clone(&self.target.profile);
        let before = self.cursors.clone();
        for (index, backfill) in profile.backfill.iter().enumerate() {
            let key = index.to_string();
            let cursor = self.cursors.get(&key).cloned();
            let records = self.fetch_backfill(backfill, cursor.as_deref()).await?;
            let mut alerts = Vec::with_capacity(records.len());
            let mut newest = cursor.clone().filter(|c| c != PRIMED);
            for record in records {
                if let Some(field) = &backfill.cursor {
                    if let Some(value) = field_text(&record, field) {
                        if newest.as_deref().is_none_or(|n| cursor_less(n, &value)) {
                            newest = Some(value);
                        }
                    }
                }
                if let Some(mut alert) = self.alert_from_record(backfill, record) {
                    alert.source = source;
                    alerts.push(alert);
                }
            }
            if cursor.is_none() {
                out.send(Update::Baseline(alerts))
                    .await
                    .map_err(|_| CatchUp::Rejected(LinkEnd::Abandoned))?;
            } else {
                for alert in alerts {
                    out.send(Update::Alert(Box::new(alert)))
                        .await
                        .map_err(|_| CatchUp::Rejected(LinkEnd::Abandoned))?;
                }
            }
            self.cursors
                .insert(key, newest.unwrap_or_else(|| PRIMED.to_string()));
        }
        if self.cursors != before {
            let text = serde_json::to_string(&self.cursors).unwrap_or_default();
            out.send(Update::Cursor(text))
                .await
                .map_err(|_| CatchUp::Rejected(LinkEnd::Abandoned))?;
        }
        Ok(())
    }

    async fn fetch_backfill(
        &self,
        backfill: &Backfill,
        cursor: Option<&str>,
    ) -> Result<Vec<Value>, CatchUp> {
        let mut vars = self.target.vars.clone();
        if let Some(cursor) = cursor.filter(|c| *c != PRIMED) {
            vars.insert("cursor".into(), cursor.to_string());
        }
        let scope = Scope::of_vars(&vars);
        let path = backfill
            .path
            .render(&scope)
            .map_err(|e| CatchUp::Failed(e.to_string()))?;
        let mut url = self
            .target
            .server
            .http_url(&path)
            .map_err(CatchUp::Failed)?;
        for (key, template) in &backfill.query {
            if let Ok(value) = template.render(&scope) {
                url.query_pairs_mut().append_pair(key, &value);
            }
        }
        let answer = self.get_url(url).await.map_err(|e| match e {
            Fetched::Rejected(end) => CatchUp::Rejected(end),
            Fetched::Failed(message) => CatchUp::Failed(message),
        })?;
        let mut records: Vec<Value> = list_items(&answer, &backfill.items)
            .into_iter()
            .cloned()
            .collect();
        if records.len() > 1 && is_newest_first(&records) {
            records.reverse();
        }
        Ok(records)
    }

    /// Classifies a backfill record as the event the list stands for.
    fn alert_from_record(&self, backfill: &Backfill, record: Value) -> Option<Alert> {
        let profile = &self.target.profile;
        let payload = match &backfill.message {
            Some(message) => {
                let scope = Scope {
                    payload: &record,
                    vars: &self.target.vars,
                    record: Some(&record),
                };
                render_value(message, &scope).ok()?
            }
            None => record.clone(),
        };
        let matched = rules::find(&profile.rules, &backfill.event, &payload)?;
        if matched.rule.ignore {
            return None;
        }
        // The record stands in for the message's data: only wrap it as `$record` when the rule reads one.
        let record = matched.rule.fetch.is_some().then_some(record);
        Some(matched.rule.build(
            &profile.name,
            &backfill.event,
            payload,
            record,
            &self.target.vars,
        ))
    }
    /// The alerts an incoming message becomes (none, one, or several when a list fetch finds several new).
    async fn alerts_for(
        &mut self,
        event: Option<String>,
        payload: Value,
    ) -> Result<Vec<Alert>, LinkEnd> {
        let profile = Arc::clone(&self.target.profile);
        let name = if let Some(name) = event {
            name
        } else {
            let scope = Scope {
                payload: &payload,
                vars: &self.target.vars,
                record: None,
            };
            match profile.message.event.render(&scope) {
                Ok(name) => name,
                Err(e) => {
                    tracing::debug!("message without an event name ({e}); dropped");
                    return Ok(Vec::new());
                }
            }
        };
        let Some(matched) = rules::find(&profile.rules, &name, &payload) else {
            tracing::debug!(event = %name, "no rule for this event; dropped");
            return Ok(Vec::new());
        };
        let rule = matched.rule;
        if rule.ignore {
            return Ok(Vec::new());
        }
        let Some(fetch) = &rule.fetch else {
            return Ok(vec![rule.build(
                &profile.name,
                &name,
                payload,
                None,
                &self.target.vars,
            )]);
        };
        let scope = Scope {
            payload: &payload,
            vars: &self.target.vars,
            record: None,
        };
        if let Some(Ok(path)) = fetch.get.as_ref().map(|t| t.render(&scope)) {
            let record = self.get_json(&path).await?;
            if let Some(record) = &record {
                self.mark_seen(matched.index, fetch, record);
            }
            return Ok(vec![rule.build(
                &profile.name,
                &name,
                payload,
                record,
                &self.target.vars,
            )]);
        }
        if fetch.list.is_some() {
            let fresh = self.fetch_unseen(matched.index, rule).await?;
            return Ok(fresh
                .into_iter()
                .map(|record| {
                    rule.build(
                        &profile.name,
                        &name,
                        payload.clone(),
                        Some(record),
                        &self.target.vars,
                    )
                })
                .collect());
        }
        Ok(vec![rule.build(
            &profile.name,
            &name,
            payload,
            None,
            &self.target.vars,
        )])
    }

    /// Learns what the list endpoints already hold, so only records created from now on become alerts.
    async fn prime_lists(&mut self) -> Result<(), LinkEnd> {
        let profile = Arc::clone(&self.target.profile);
        for (index, rule) in profile.rules.iter().enumerate() {
            if rule.fetch.as_ref().is_some_and(|f| f.list.is_some())
                && !self.seen.contains_key(&index)
            {
                self.seen.insert(index, HashSet::new());
                let _ = self.fetch_unseen(index, rule).await?;
            }
        }
        Ok(())
    }

    async fn fetch_unseen(&mut self, index: usize, rule: &Rule) -> Result<Vec<Value>, LinkEnd> {
        let Some(fetch) = &rule.fetch else {
            return Ok(Vec::new());
        };
        let Some(list) = &fetch.list else {
            return Ok(Vec::new());
        };
        let scope = Scope::of_vars(&self.target.vars);
        let Ok(path) = list.render(&scope) else {
            return Ok(Vec::new());
        };
        let Some(answer) = self.get_json(&path).await? else {
            return Ok(Vec::new());
        };
        let items = list_items(&answer, &fetch.items);
        let seen = self.seen.entry(index).or_default();
        let mut fresh = Vec::new();
        for item in items {
            if let Some(key) = record_key(item, &fetch.key) {
                if seen.insert(key) {
                    fresh.push(item.clone());
                }
            }
        }
        // Lists come newest first or oldest first; alerts go out oldest first.
        if fresh.len() > 1 && is_newest_first(&fresh) {
            fresh.reverse();
        }
        Ok(fresh)
    }

    fn mark_seen(&mut self, index: usize, fetch: &Fetch, record: &Value) {
        if let Some(key) = record_key(record, &fetch.key) {
            self.seen.entry(index).or_default().insert(key);
        }
    }

    /// GETs a JSON document from the server with the profile's auth header. 401/403 end the link as a
    /// rejection; other failures are logged and give `None` (the alert goes out without the record).
    async fn get_json(&self, path: &str) -> Result<Option<Value>, LinkEnd> {
        let url = match self.target.server.http_url(path) {
            Ok(url) => url,
            Err(e) => {
                tracing::warn!("fetch: {e}");
                return Ok(None);
            }
        };
        match self.get_url(url).await {
            Ok(value) => Ok(Some(value)),
            Err(Fetched::Rejected(end)) => Err(end),
            Err(Fetched::Failed(message)) => {
                tracing::warn!("fetch {path}: {message}");
                Ok(None)
            }
        }
    }

    async fn get_url(&self, url: url::Url) -> Result<Value, Fetched> {
        let mut request = self.http.get(url.clone());
        if let Some((name, value)) = rest_auth_header(&self.target) {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Fetched::Failed(without_url(&e)))?;
        let status = response.status();
        if matches!(status.as_u16(), 401 | 403) {
            return Err(Fetched::Rejected(LinkEnd::Rejected(format!(
                "HTTP {status} from {}",
                url.path()
            ))));
        }
        if !status.is_success() {
            return Err(Fetched::Failed(format!("HTTP {status}")));
        }
        response
            .json::<Value>()
            .await
            .map_err(|e| Fetched::Failed(format!("answer is not JSON: {e}")))
    }
}

/// A failed REST fetch.
enum Fetched {
    Rejected(LinkEnd),
    Failed(String),
}

/// The cursor of a backfill list that has no cursor field: its baseline is set, compare with the history.
const PRIMED: &str = "primed";

/// Resolves once a server that refused connections (`url` given) accepts one again, probing its port every
/// second, so a long backoff does not keep an officer offline after the server returns. Never resolves when
/// the last failure was not at the TCP level (the server answered), nor within the last second of the wait.
async fn back_online(url: Option<url::Url>, deadline: Instant) {
    let Some(url) = url else {
        return std::future::pending().await;
    };
    loop {
        let next = Instant::now() + PROBE_EVERY;
        if next >= deadline {
            return std::future::pending().await;
        }
        tokio::time::sleep_until(next).await;
        if crate::protocol::ws::tcp_reachable(&url, PROBE_EVERY).await {
            tracing::info!(
                "{} accepts connections again",
                crate::protocol::ws::redact(&url)
            );
            return;
        }
    }
}

/// How often a down server's port is probed during a backoff wait.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// The reason given when a wake trigger cut the link.
const WOKE: &str = "woke up or network changed";

async fn stopped(out: &mpsc::Sender<Update>) -> Outcome {
    let _ = out.send(Update::State(LinkState::Stopped)).await;
    Outcome::Stopped
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

/// Orders cursor values: numbers numerically, anything else as text (RFC 3339 times sort as text).
fn cursor_less(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x < y,
        _ => a < b,
    }
}

fn field_text(record: &Value, path: &str) -> Option<String> {
    record_key(record, path)
}

/// The array of records in a list answer: at `items` when given, else the answer itself when it is an array,
/// else the only array-valued field of an object.
fn list_items<'a>(answer: &'a Value, items: &str) -> Vec<&'a Value> {
    let found = if items.is_empty() {
        match answer {
            Value::Array(a) => Some(a),
            Value::Object(map) => {
                let arrays: Vec<_> = map.values().filter_map(Value::as_array).collect();
                (arrays.len() == 1).then(|| arrays[0])
            }
            _ => None,
        }
    } else {
        let segments: Vec<String> = items.split('.').map(str::to_string).collect();
        crate::profile::template::select(answer, &segments).and_then(Value::as_array)
    };
    found.map(|a| a.iter().collect()).unwrap_or_default()
}

fn record_key(record: &Value, key: &str) -> Option<String> {
    let segments: Vec<String> = key.split('.').map(str::to_string).collect();
    match crate::profile::template::select(record, &segments)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Whether records look sorted newest first (by `createdAt`/`created_at`, else by a numeric id).
fn is_newest_first(records: &[Value]) -> bool {
    let stamp = |r: &Value| -> Option<String> {
        ["createdAt", "created_at", "id"]
            .iter()
            .find_map(|k| r.get(*k))
            .map(|v| match v {
                Value::Number(n) => format!("{:020}", n.as_u64().unwrap_or(0)),
                other => other.to_string(),
            })
    };
    match (
        records.first().and_then(stamp),
        records.last().and_then(stamp),
    ) {
        (Some(first), Some(last)) => first > last,
        _ => false,
    }
}

/// The header REST calls carry: the profile's auth header when there is a token.
fn rest_auth_header(target: &Target) -> Option<(String, String)> {
    let token = target.token.as_ref()?;
    let mut vars = target.vars.clone();
    vars.insert("token".into(), token.expose().to_string());
    let value = target
        .profile
        .auth
        .value
        .render(&Scope::of_vars(&vars))
        .ok()?;
    Some((target.profile.auth.header.clone(), value))
}

/// Builds the link from the profile, server, variables and token.
pub fn link_spec(target: &Target, heartbeat: Heartbeat) -> Result<LinkSpec, String> {
    let profile = &target.profile;
    let mut url = target.server.ws_url(profile.ws_path())?;
    let vars = &target.vars;
    let scope = Scope::of_vars(vars);
    {
        let mut query = url.query_pairs_mut();
        if profile.protocol == Protocol::Socketio {
            query
                .append_pair("EIO", "4")
                .append_pair("transport", "websocket");
        }
        for (key, template) in &profile.connect.query {
            let value = template
                .render(&scope)
                .map_err(|e| format!("connect.query.{key}: {e}"))?;
            query.append_pair(key, &value);
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    let mut headers = Vec::new();
    let mut auth = None;
    match (profile.auth.mode, &target.token) {
        (AuthMode::None, _) => {}
        (_, None) if profile.auth.optional => {}
        (_, None) => {
            return Err(format!(
                "no token for {} ({}): sign in with `alertdesk login`, or pass --token / ALERTDESK_TOKEN",
                target.server, profile.name
            ))
        }
        (AuthMode::Query, Some(token)) => {
            url.query_pairs_mut().append_pair(&profile.auth.param, token.expose());
        }
        (AuthMode::Header, Some(_)) => headers.extend(rest_auth_header(target)),
        (AuthMode::Socketio, Some(token)) => {
            auth = Some(serde_json::json!({ profile.auth.field.clone(): token.expose() }));
        }
    }
    let mut emits = Vec::new();
    for (i, emit) in profile.connect.emit.iter().enumerate() {
        let items: Vec<Option<String>> = match &emit.each {
            Some(var) => vars
                .get(var.trim_start_matches('$'))
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| Some(s.to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            None => vec![None],
        };
        for item in items {
            let mut vars = vars.clone();
            if let Some(item) = item {
                vars.insert("item".into(), item);
            }
            let scope = Scope::of_vars(&vars);
            let data = match emit
                .data
                .as_ref()
                .map(|d| render_value(d, &scope))
                .transpose()
            {
                Ok(data) => data.unwrap_or(Value::Null),
                Err(_) if emit.optional => continue,
                Err(e) => return Err(format!("connect.emit[{i}]: {e}: set it with --set")),
            };
            emits.push(Outgoing {
                event: emit.event.clone(),
                data,
                ack: emit.ack,
            });
        }
    }
    Ok(LinkSpec {
        url,
        headers,
        namespace: profile.namespace.clone(),
        auth,
        emits,
        heartbeat,
        limits: Limits::default(),
        recovery: None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn target(name: &str, set: &[(&str, &str)], token: Option<&str>) -> Target {
        let profile = Arc::new(Profile::load(name).unwrap());
        let set = set
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        let vars = profile.resolve_variables(&set).unwrap();
        Target {
            cursor: None,
            profile,
            server: Server::parse("http://127.0.0.1:5000").unwrap(),
            vars,
            token: token.map(Token::new),
        }
    }

    #[test]
    fn token_goes_where_each_profile_says() {
        let spec = link_spec(
            &target("station-reports", &[], Some("T0K")),
            Heartbeat::default(),
        )
        .unwrap();
        assert_eq!(spec.url.as_str(), "ws://127.0.0.1:5000/ws?token=T0K");
        assert!(spec.headers.is_empty() && spec.auth.is_none());

        let spec = link_spec(
            &target("crowd-monitoring", &[("event_id", "EV1")], Some("T0K")),
            Heartbeat::default(),
        )
        .unwrap();
        assert_eq!(
            spec.url.as_str(),
            "ws://127.0.0.1:5000/socket.io/?EIO=4&transport=websocket&eventId=EV1"
        );
        assert_eq!(spec.auth, Some(json!({"token": "T0K"})));

        let spec = link_spec(&target("ticketing", &[], Some("T0K")), Heartbeat::default()).unwrap();
        assert_eq!(spec.url.as_str(), "ws://127.0.0.1:5000/ws/updates");
        assert_eq!(
            spec.headers,
            vec![("Authorization".to_string(), "Bearer T0K".to_string())]
        );
        assert!(
            link_spec(&target("ticketing", &[], None), Heartbeat::default()).is_ok(),
            "token optional"
        );

        let err = link_spec(&target("service-calls", &[], None), Heartbeat::default()).unwrap_err();
        assert!(err.contains("alertdesk login"), "{err}");
    }

    #[test]
    fn connect_emits_follow_variables() {
        let spec = link_spec(
            &target("emergency-dispatch", &[("rooms", "a, b")], Some("t")),
            Heartbeat::default(),
        )
        .unwrap();
        let rooms: Vec<_> = spec
            .emits
            .iter()
            .map(|e| (e.event.clone().unwrap(), e.data.clone()))
            .collect();
        assert_eq!(
            rooms,
            [
                ("join".into(), json!({"room": "a"})),
                ("join".into(), json!({"room": "b"}))
            ]
        );
        let spec = link_spec(
            &target("service-calls", &[], Some("t")),
            Heartbeat::default(),
        )
        .unwrap();
        assert!(
            spec.emits.is_empty(),
            "register is optional without user_id"
        );
        let spec = link_spec(
            &target("service-calls", &[("user_id", "u-1")], Some("t")),
            Heartbeat::default(),
        )
        .unwrap();
        assert_eq!(spec.emits[0].data, json!("u-1"));
    }

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let mut backoff = Backoff::new();
        let delays: Vec<_> = (0..12).map(|_| backoff.next_delay()).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(30)));
        assert!(delays[0] <= Duration::from_millis(500));
        assert!(
            delays.windows(2).any(|w| w[0] != w[1]),
            "jitter varies the delays"
        );
    }

    #[test]
    fn list_answers_in_common_shapes() {
        let a = json!([{"id": 1}, {"id": 2}]);
        assert_eq!(list_items(&a, "").len(), 2);
        let b = json!({"tickets": [{"id": 1}], "total": 1});
        assert_eq!(list_items(&b, "").len(), 1);
        let c = json!({"data": {"items": [{"id": 1}]}});
        assert_eq!(list_items(&c, "data.items").len(), 1);
        assert!(is_newest_first(&[json!({"id": 3}), json!({"id": 1})]));
        assert!(!is_newest_first(&[json!({"id": 1}), json!({"id": 3})]));
    }
}

/// The state machine under a scripted connector and paused time: no sockets, no real sleeps.
#[cfg(test)]
mod machine_tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;

    /// What one scripted link does.
    #[derive(Clone)]
    enum Step {
        Connect,
        Message(Value),
        Wait(Duration),
        End(LinkEnd),
    }

    #[derive(Default)]
    struct Scripted {
        links: Mutex<VecDeque<Vec<Step>>>,
        opened: Mutex<Vec<Instant>>,
    }

    impl Connector for Scripted {
        fn open(&self, _spec: LinkSpec, events: mpsc::Sender<LinkEvent>) -> JoinHandle<LinkEnd> {
            self.opened.lock().unwrap().push(Instant::now());
            let steps = self
                .links
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| vec![Step::Wait(Duration::from_secs(3600))]);
            tokio::spawn(async move {
                for step in steps {
                    match step {
                        Step::Connect => {
                            let _ = events
                                .send(LinkEvent::Connected {
                                    sid: None,
                                    recovered: false,
                                    pid: None,
                                })
                                .await;
                        }
                        Step::Message(payload) => {
                            let _ = events
                                .send(LinkEvent::Message {
                                    event: Some("call_created".into()),
                                    payload,
                                    offset: None,
                                })
                                .await;
                        }
                        Step::Wait(d) => tokio::time::sleep(d).await,
                        Step::End(end) => return end,
                    }
                }
                LinkEnd::Closed("script ended".into())
            })
        }
    }

    fn refused() -> Vec<Step> {
        vec![Step::End(LinkEnd::Closed("connection refused".into()))]
    }

    fn supervisor(links: Vec<Vec<Step>>) -> (Supervisor, Arc<Scripted>) {
        let profile = Arc::new(Profile::load("service-calls").unwrap());
        let mut profile_no_backfill = (*profile).clone();
        profile_no_backfill.backfill.clear();
        let target = Target {
            vars: profile.resolve_variables(&BTreeMap::new()).unwrap(),
            profile: Arc::new(profile_no_backfill),
            server: Server::parse("http://127.0.0.1:9").unwrap(),
            token: Some(Token::new("t")),
            cursor: None,
        };
        let scripted = Arc::new(Scripted {
            links: Mutex::new(links.into()),
            opened: Mutex::default(),
        });
        let sup = Supervisor::new(target, Heartbeat::default())
            .unwrap()
            .with_connector(scripted.clone());
        (sup, scripted)
    }

    fn gaps(opened: &[Instant]) -> Vec<Duration> {
        opened.windows(2).map(|w| w[1] - w[0]).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_grows_with_full_jitter_to_the_cap() {
        let (sup, scripted) = supervisor((0..12).map(|_| refused()).collect());
        let (tx, mut rx) = mpsc::channel(64);
        let task = tokio::spawn(sup.run(tx, std::future::pending()));
        while scripted.opened.lock().unwrap().len() < 12 {
            rx.recv().await.unwrap();
        }
        task.abort();
        let gaps = gaps(&scripted.opened.lock().unwrap());
        let ceilings = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0, 30.0];
        for (gap, ceiling) in gaps.iter().zip(ceilings) {
            assert!(*gap >= Duration::from_millis(50), "{gaps:?}");
            assert!(
                *gap <= Duration::from_secs_f64(ceiling),
                "{gap:?} above {ceiling}s: {gaps:?}"
            );
        }
        assert!(
            gaps.iter().skip(6).any(|g| *g > Duration::from_secs(1)),
            "delays grow: {gaps:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stable_link_resets_the_backoff() {
        let mut links: Vec<_> = (0..6).map(|_| refused()).collect();
        links.push(vec![
            Step::Connect,
            Step::Wait(Duration::from_secs(11)),
            Step::End(LinkEnd::Closed("drop".into())),
        ]);
        links.push(refused());
        let (sup, scripted) = supervisor(links);
        let (tx, mut rx) = mpsc::channel(64);
        let task = tokio::spawn(sup.run(tx, std::future::pending()));
        while scripted.opened.lock().unwrap().len() < 9 {
            rx.recv().await.unwrap();
        }
        task.abort();
        let gaps = gaps(&scripted.opened.lock().unwrap());
        // gaps[6] is 11 s live plus the delay after that drop: drawn from the first step again (<= 0.5 s),
        // and the next failure's from the second (<= 1 s), although six failures came before.
        assert!(
            gaps[6].saturating_sub(Duration::from_secs(11)) <= Duration::from_millis(500),
            "{gaps:?}"
        );
        assert!(gaps[7] <= Duration::from_secs(1), "{gaps:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_link_that_carried_events_resets_the_backoff_and_an_empty_one_does_not() {
        let call = serde_json::json!({"id": "C-9", "title": "Jam", "priority": "high"});
        let mut links: Vec<_> = (0..6).map(|_| refused()).collect();
        links.push(vec![
            Step::Connect,
            Step::Message(call),
            Step::End(LinkEnd::Closed("drop".into())),
        ]);
        links.extend((0..6).map(|_| refused()));
        links.push(vec![
            Step::Connect,
            Step::End(LinkEnd::Closed("accepted, then dropped".into())),
        ]);
        links.push(refused());
        let (sup, scripted) = supervisor(links);
        let (tx, mut rx) = mpsc::channel(64);
        let task = tokio::spawn(sup.run(tx, std::future::pending()));
        while scripted.opened.lock().unwrap().len() < 16 {
            rx.recv().await.unwrap();
        }
        task.abort();
        let gaps = gaps(&scripted.opened.lock().unwrap());
        assert!(
            gaps[6] <= Duration::from_millis(500),
            "after a link that delivered: {gaps:?}"
        );
        // After six more failures, a link that delivered nothing does not reset: the delay keeps its ceiling.
        assert!(
            gaps[13] > Duration::from_secs(0)
                && gaps.iter().skip(8).any(|g| *g > Duration::from_secs(1)),
            "{gaps:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn rejected_credentials_stop_without_retrying() {
        let (sup, scripted) = supervisor(vec![vec![Step::End(LinkEnd::Rejected(
            "CONNECT_ERROR: Unauthorized".into(),
        ))]]);
        let (tx, mut rx) = mpsc::channel(64);
        let outcome = tokio::time::timeout(
            Duration::from_secs(300),
            sup.run(tx, std::future::pending()),
        )
        .await
        .unwrap();
        assert_eq!(
            outcome,
            Outcome::AuthFailed("CONNECT_ERROR: Unauthorized".into())
        );
        assert_eq!(scripted.opened.lock().unwrap().len(), 1);
        let mut states = Vec::new();
        while let Ok(Update::State(s)) = rx.try_recv() {
            states.push(s);
        }
        assert_eq!(
            states,
            [
                LinkState::Connecting,
                LinkState::AuthFailed {
                    reason: "CONNECT_ERROR: Unauthorized".into()
                }
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn states_and_alerts_in_order_and_a_gap_without_backfill() {
        let call = serde_json::json!({"id": "C-1", "title": "Jam", "priority": "high"});
        let (sup, _scripted) = supervisor(vec![
            vec![
                Step::Connect,
                Step::Message(call.clone()),
                Step::End(LinkEnd::Closed("drop".into())),
            ],
            vec![Step::Connect, Step::Wait(Duration::from_secs(3600))],
        ]);
        let (tx, mut rx) = mpsc::channel(64);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(sup.run(tx, async move {
            let _ = stop_rx.await;
        }));
        let mut seen = Vec::new();
        while seen.len() < 6 {
            seen.push(match rx.recv().await.unwrap() {
                Update::State(LinkState::Reconnecting { .. }) => "reconnecting".to_string(),
                Update::State(s) => format!("{s:?}").to_lowercase(),
                Update::Alert(a) => format!("alert {}", a.id),
                Update::Gap { .. } => "gap".into(),
                other => format!("{other:?}"),
            });
        }
        assert_eq!(
            seen,
            [
                "connecting",
                "live",
                "alert call-C-1",
                "reconnecting",
                "gap",
                "live"
            ]
        );
        stop_tx.send(()).unwrap();
        assert_eq!(task.await.unwrap(), Outcome::Stopped);
        assert!(matches!(
            rx.recv().await,
            Some(Update::State(LinkState::Stopped))
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wake_trigger_reconnects_at_once() {
        // Fail often enough that the next delay could be many seconds, then wake.
        let mut links: Vec<_> = (0..8).map(|_| refused()).collect();
        links.push(vec![Step::Connect, Step::Wait(Duration::from_secs(3600))]);
        links.push(vec![Step::Connect, Step::Wait(Duration::from_secs(3600))]);
        let (sup, scripted) = supervisor(links);
        let (wake_tx, wake_rx) = watch::channel(0u64);
        let sup = sup.with_wake(wake_rx);
        let (tx, mut rx) = mpsc::channel(64);
        let task = tokio::spawn(sup.run(tx, std::future::pending()));
        // Wait for the 8th failure's delay to start, then wake.
        loop {
            let update = rx.recv().await.unwrap();
            if matches!(update, Update::State(LinkState::Reconnecting { .. }))
                && scripted.opened.lock().unwrap().len() == 8
            {
                break;
            }
        }
        let woke_at = Instant::now();
        wake_tx.send(1).unwrap();
        while scripted.opened.lock().unwrap().len() < 9 {
            rx.recv().await.unwrap();
        }
        assert_eq!(
            scripted.opened.lock().unwrap()[8],
            woke_at,
            "did not reconnect at once"
        );
        // Waking while live drops the (possibly dead) link and opens a new one at once.
        while !matches!(rx.recv().await.unwrap(), Update::State(LinkState::Live)) {}
        let woke_at = Instant::now();
        wake_tx.send(2).unwrap();
        while scripted.opened.lock().unwrap().len() < 10 {
            rx.recv().await.unwrap();
        }
        assert_eq!(scripted.opened.lock().unwrap()[9], woke_at);
        task.abort();
    }
}
