//! The engine's one task: it owns the links, the history handle, the policy and every task it starts, and
//! takes requests, link updates, notification clicks and timers in one loop.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::error::EngineError;
use super::links::Link;
use super::servers::{self, ServerEntry};
use super::view::{AlertRow, DeskEvent, Notice, NoticeLevel, Progress};
use super::{EngineOptions, Request, Sink, BATCH_EVERY, SHUTDOWN_GRACE};
use crate::alerting::dbus::NotifierEvent;
use crate::alerting::notify::AlertKey;
use crate::alerting::policy::Policy;
use crate::alerting::speech::Speaker;
use crate::config::settings::Settings;
use crate::domain::{ServerId, Timestamp};
use crate::link::auth::TokenStore;
use crate::link::net::{Net, NetError};
use crate::link::protocol::Heartbeat;
use crate::link::{Outcome, Update};
use crate::store::history::HistoryThread;
use crate::store::{History, Store};

/// The most updates recorded in one transaction.
pub(super) const MAX_BATCH: usize = 512;

/// How many link updates may wait for the engine before links wait for it.
const UPDATE_QUEUE: usize = 4096;

/// What an owned task ended with.
pub(super) enum TaskEnd {
    /// A link's supervisor returned.
    Link(ServerId, Outcome),
    /// An attempt to send a response ended.
    Response(Box<super::respond::Attempt>),
    /// A renewal of a server's sign-in ended: the token it renewed, and what came of it.
    Renewed(
        ServerId,
        crate::domain::Token,
        Box<Result<crate::link::session::Credentials, crate::link::auth::RefreshError>>,
    ),
}

/// What changed since the views last heard.
// One flag per kind of change: a state machine would say no more.
#[allow(clippy::struct_excessive_bools)]
#[derive(Default)]
pub(super) struct Pending {
    pub(super) alerts: BTreeSet<(ServerId, String)>,
    /// Rows for alerts the history could not record (shown anyway).
    pub(super) unrecorded: Vec<AlertRow>,
    /// A link gap was recorded (the list shows it).
    pub(super) gaps: bool,
    pub(super) servers: bool,
    pub(super) reset: bool,
    /// The window's list waits for the end of a burst (see [`super::list::BURST_EVERY`]).
    pub(super) list: bool,
    /// Alerts just notified (their `notified_at` is written with the next flush).
    pub(super) notified: Vec<(ServerId, String)>,
}

impl Pending {
    pub(super) fn dirty(&self) -> bool {
        self.servers
            || self.reset
            || !self.alerts.is_empty()
            || self.gaps
            || self.list
            || !self.unrecorded.is_empty()
    }
}

pub(super) struct Actor {
    pub(super) history: History,
    history_thread: Option<HistoryThread>,
    /// The alerting policy, when the front-end notifies.
    pub(super) policy: Option<Policy>,
    notifier_events: Option<mpsc::Receiver<NotifierEvent>>,
    /// Reads critical alerts aloud (`[alerting] speak_critical`).
    pub(super) speaker: Option<Speaker>,
    pub(super) settings: Settings,
    /// `servers.toml`, when servers are saved.
    pub(super) servers_file: Option<PathBuf>,
    /// The department's directories, whose servers are restored with the saved ones.
    pub(super) system_dirs: Vec<PathBuf>,
    /// The department's servers (never saved in the user's file, never removed).
    pub(super) managed: Vec<ServerEntry>,
    pub(super) tokens: Arc<dyn TokenStore>,
    /// TLS and proxies (see [`EngineOptions::net`]).
    pub(super) net: Result<Net, NetError>,
    pub(super) heartbeat: Heartbeat,
    pub(super) wake: Option<watch::Receiver<u64>>,
    /// The saved servers (not the scripted ones).
    pub(super) entries: Vec<ServerEntry>,
    pub(super) links: BTreeMap<ServerId, Link>,
    /// Every task the engine started: link supervisors and write-backs.
    pub(super) tasks: JoinSet<TaskEnd>,
    pub(super) ui: Option<Arc<dyn Sink>>,
    pub(super) shell: Option<Arc<dyn Sink>>,
    pub(super) updates_tx: mpsc::Sender<(ServerId, Update)>,
    updates: Option<mpsc::Receiver<(ServerId, Update)>>,
    pub(super) pending: Pending,
    pub(super) last_flush: Instant,
    /// Responses on their way to servers.
    pub(super) outbox: super::respond::Outbox,
    pub(super) notify_failure: Option<String>,
    pub(super) paused_until: Option<Timestamp>,
    pub(super) store_failed: bool,
    /// Notices from before the UI subscribed.
    pub(super) unseen: Vec<DeskEvent>,
    awaiting: Arc<AtomicUsize>,
    pub(super) restoring: Option<Progress>,
    /// The window's list.
    pub(super) list: super::list::ListState,
    /// Problems already said (each once in a while, not once per event).
    pub(super) problems: Said,
    /// When sessions are renewed and announced (`[session]`).
    pub(super) timing: crate::link::session::Timing,
    /// Writes renewed sign-ins to the token store, in order.
    pub(super) keeper: super::session::Keeper,
}

/// Says each distinct problem of a server at most once every [`Said::EVERY`].
#[derive(Default)]
pub(super) struct Said(HashMap<(ServerId, String), Instant>);

impl Said {
    const EVERY: Duration = Duration::from_secs(600);
    /// The most problems remembered (older ones are forgotten first).
    const KEEP: usize = 256;

    /// Whether `message` is to be said now for `server`.
    pub(super) fn say(&mut self, server: &ServerId, message: &str) -> bool {
        let now = Instant::now();
        let key = (server.clone(), message.to_string());
        if self.0.get(&key).is_some_and(|at| now < *at + Self::EVERY) {
            return false;
        }
        if self.0.len() >= Self::KEEP {
            self.0.retain(|_, at| now < *at + Self::EVERY);
        }
        while self.0.len() >= Self::KEEP {
            // Still full of recent problems: forget the oldest, so the map stays bounded.
            let Some(oldest) = self
                .0
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.0.remove(&oldest);
        }
        self.0.insert(key, now);
        true
    }
}

impl Actor {
    pub(super) fn new(
        options: EngineOptions,
        store: Store,
        awaiting: Arc<AtomicUsize>,
    ) -> Result<Self, EngineError> {
        let timing = options.settings.session.timing();
        let keeper = super::session::Keeper::start(Arc::clone(&options.tokens));
        let (history, thread) = History::start(store).map_err(|source| EngineError::Io {
            path: PathBuf::from("history thread"),
            source,
        })?;
        let (updates_tx, updates) = mpsc::channel(UPDATE_QUEUE);
        let servers_file = options
            .saved_servers
            .then(|| options.paths.config_dir.join(servers::FILE_NAME));
        let system_dirs = if options.saved_servers {
            options.paths.system_dirs.clone()
        } else {
            Vec::new()
        };
        // Said from the first snapshot on, so a window does not ask to sign in while they come back.
        let restoring = servers_file
            .as_deref()
            .map(|file| {
                let managed = servers::load_system(&system_dirs).0;
                let saved = servers::peek(file)
                    .into_iter()
                    .filter(|e| {
                        !managed
                            .iter()
                            .any(|m| m.url == e.url && m.profile == e.profile)
                    })
                    .count();
                managed.len() + saved
            })
            .filter(|n| *n > 0)
            .map(|n| Progress {
                done: 0,
                total: u32::try_from(n).unwrap_or(u32::MAX),
            });
        let (policy, notifier_events, speaker) = match options.alerting {
            Some(alerting) => (
                Some(Policy::new(
                    options.settings.alerting.clone(),
                    alerting.notifier,
                )),
                Some(alerting.events),
                options
                    .settings
                    .alerting
                    .speak_critical
                    .then(Speaker::from_env),
            ),
            None => (None, None, None),
        };
        Ok(Self {
            history,
            history_thread: Some(thread),
            policy,
            notifier_events,
            speaker,
            servers_file,
            system_dirs,
            managed: Vec::new(),
            settings: options.settings,
            tokens: options.tokens,
            net: options.net,
            heartbeat: options.heartbeat,
            wake: options.wake,
            entries: Vec::new(),
            links: BTreeMap::new(),
            tasks: JoinSet::new(),
            ui: None,
            shell: options.shell,
            updates_tx,
            updates: Some(updates),
            pending: Pending::default(),
            last_flush: Instant::now(),
            outbox: super::respond::Outbox::default(),
            notify_failure: None,
            paused_until: None,
            store_failed: false,
            unseen: Vec::new(),
            awaiting,
            restoring,
            list: super::list::ListState::default(),
            problems: Said::default(),
            timing,
            keeper,
        })
    }

    pub(super) async fn run(mut self, mut inbox: mpsc::UnboundedReceiver<Request>) {
        let Some(mut updates) = self.updates.take() else {
            return;
        };
        let mut notifier_events = self.notifier_events.take();
        let mut prune = tokio::time::interval(Duration::from_secs(3600));
        // Responses left from an earlier run are sent once their servers are back.
        self.schedule_outbox().await;
        loop {
            let deadline = self.policy.as_ref().and_then(Policy::next_deadline);
            let session_due = self.session_deadline();
            let flush_at = self.pending.dirty().then(|| self.last_flush + BATCH_EVERY);
            tokio::select! {
                request = inbox.recv() => match request {
                    Some(Request::Shutdown(done)) => return self.stop(&mut updates, Some(done)).await,
                    Some(request) => self.handle(request).await,
                    None => return self.stop(&mut updates, None).await,
                },
                Some(first) = updates.recv() => {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match updates.try_recv() {
                            Ok(update) => batch.push(update),
                            Err(_) => break,
                        }
                    }
                    self.on_updates(batch).await;
                }
                event = next_event(notifier_events.as_mut()) => match event {
                    Some(event) => self.on_notifier(event).await,
                    None => notifier_events = None,
                },
                Some(joined) = self.tasks.join_next(), if !self.tasks.is_empty() => match joined {
                    Ok(end) => self.on_task_end(end).await,
                    Err(e) if e.is_cancelled() => {}
                    Err(e) => tracing::error!("an engine task failed: {e}"),
                },
                () = sleep_until(deadline) => self.tick(),
                () = sleep_until(session_due) => self.on_session_due(),
                () = sleep_until(flush_at) => self.flush().await,
                () = sleep_until(self.outbox.due) => self.work_outbox().await,
                _ = prune.tick() => self.prune().await,
            }
            self.awaiting.store(
                self.policy.as_ref().map_or(0, Policy::repeating_count),
                Ordering::Relaxed,
            );
        }
    }

    async fn handle(&mut self, request: Request) {
        match request {
            Request::Subscribe(sink) => self.subscribe(sink).await,
            Request::RestoreSaved(done) => {
                self.restore_saved().await;
                let _ = done.send(());
            }
            Request::Add {
                entry,
                token,
                scripted,
                reply,
            } => {
                let added = self.add(entry, token, scripted).await;
                let _ = reply.send(added);
            }
            Request::Remove { server, reply } => {
                let _ = reply.send(self.remove(&server));
            }
            Request::MarkRead { server, id, reply } => {
                let _ = reply.send(self.mark_read(server, id).await);
            }
            Request::MarkAllRead(reply) => {
                let _ = reply.send(self.mark_all_read().await);
            }
            Request::ClearRead(reply) => {
                let result = self.history.call(Store::clear_read).await;
                self.pending.reset = true;
                let _ = reply.send(result.map_err(EngineError::from));
            }
            Request::Acknowledge { server, id, reply } => {
                let _ = reply.send(self.acknowledge(&server, &id).await);
            }
            Request::Respond {
                server,
                id,
                response,
                reply,
            } => {
                let _ = reply.send(self.respond(&server, &id, &response).await);
            }
            Request::Detail { server, id, reply } => {
                let _ = reply.send(self.detail(server, id).await);
            }
            Request::List { request, reply } => {
                let _ = reply.send(self.list_window(request).await);
            }
            Request::Notifications(request, reply) => {
                self.set_notifications(request);
                let _ = reply.send(Ok(()));
            }
            Request::Awaiting(reply) => {
                let _ = reply.send(self.policy.as_ref().map_or(0, Policy::repeating_count));
            }
            Request::Notice(level, notice) => self.notice(level, notice),
            Request::Settings(settings, done) => {
                self.apply_settings(*settings);
                let _ = done.send(());
            }
            Request::Shutdown(_) => unreachable!("handled in run"),
        }
    }

    async fn mark_read(&mut self, server: ServerId, id: String) -> Result<(), EngineError> {
        let (s, i) = (server.clone(), id.clone());
        self.history
            .call(move |st| st.mark_read(Some(&s), &i))
            .await?;
        if let Some(policy) = self.policy.as_mut() {
            policy.on_read(&AlertKey::new(&server, &id));
        }
        self.pending.alerts.insert((server, id));
        Ok(())
    }

    async fn mark_all_read(&mut self) -> Result<u64, EngineError> {
        let count = self.history.call(|st| st.mark_all_read(None)).await?;
        if let Some(policy) = self.policy.as_mut() {
            for key in policy.repeating() {
                policy.on_read(&key);
            }
        }
        self.pending.reset = true;
        Ok(count)
    }

    async fn prune(&mut self) {
        let retention = &self.settings.history;
        let (age, count) = (retention.max_age(), retention.max_alerts);
        match self.history.call(move |s| s.prune(age, count)).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!("retention: removed {n} old alerts from the history");
                self.pending.reset = true;
            }
            Err(e) => tracing::warn!("retention: {e}"),
        }
    }

    /// Takes changed settings at once: the alerting policy's (on duty, quiet hours, volume, tones, repeats),
    /// reading aloud, retention and the REST answer cap. Settings read only at start (logging, the window) are
    /// the front-end's.
    fn apply_settings(&mut self, settings: Settings) {
        if let Some(policy) = self.policy.as_mut() {
            if let Err(e) = policy.set_settings(settings.alerting.clone()) {
                // Validated when the files were read; kept as it was if not.
                tracing::error!("alerting settings not applied: {e}");
                return;
            }
            // Reading aloud needs a notifying front-end, as at start.
            match (settings.alerting.speak_critical, self.speaker.is_some()) {
                (true, false) => self.speaker = Some(Speaker::from_env()),
                (false, true) => self.speaker = None,
                _ => {}
            }
        }
        settings.network.apply();
        self.settings = settings;
        // Quiet hours may have begun or ended: the views say so.
        self.pending.servers = true;
        tracing::info!("settings applied");
    }

    pub(super) fn notice(&mut self, level: NoticeLevel, notice: Notice) {
        self.emit(&DeskEvent::Notice { level, notice });
    }

    /// Stops every link and waits (bounded) for the engine's tasks, recording what the links still report, then
    /// shows the last changes and closes the history.
    async fn shutdown(&mut self, updates: &mut mpsc::Receiver<(ServerId, Update)>) {
        // Dropping a link sends its supervisor the stop signal.
        self.links.clear();
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        while !self.tasks.is_empty() {
            tokio::select! {
                joined = self.tasks.join_next() => {
                    if let Some(Ok(end)) = joined {
                        self.on_task_end(end).await;
                    }
                }
                Some(update) = updates.recv() => self.on_updates(vec![update]).await,
                () = tokio::time::sleep_until(deadline) => {
                    tracing::warn!("{} engine task(s) did not finish in time; stopping them", self.tasks.len());
                    self.tasks.abort_all();
                    while self.tasks.join_next().await.is_some() {}
                }
            }
        }
        let mut rest = Vec::new();
        while let Ok(update) = updates.try_recv() {
            rest.push(update);
        }
        if !rest.is_empty() {
            self.on_updates(rest).await;
        }
        if self.pending.dirty() {
            self.flush().await;
        }
    }

    /// Shuts down, then ends the history thread (it finishes what was queued once its last handle, the actor's,
    /// is gone) and says so to whoever asked.
    async fn stop(
        mut self,
        updates: &mut mpsc::Receiver<(ServerId, Update)>,
        done: Option<oneshot::Sender<()>>,
    ) {
        self.shutdown(updates).await;
        let thread = self.history_thread.take();
        drop(self);
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        if let Some(done) = done {
            let _ = done.send(());
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn next_event(events: Option<&mut mpsc::Receiver<NotifierEvent>>) -> Option<NotifierEvent> {
    match events {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod said_tests {
    use super::Said;
    use crate::domain::ServerId;

    #[test]
    fn a_storm_of_distinct_problems_stays_bounded_and_a_repeat_is_quiet() {
        let server = ServerId::from_stored("https://a.example");
        let mut said = Said::default();
        for n in 0..1_000 {
            assert!(said.say(&server, &format!("problem {n}")));
        }
        assert!(said.0.len() <= Said::KEEP, "remembered {}", said.0.len());
        assert!(
            !said.say(&server, "problem 999"),
            "a recent problem is said again"
        );
    }
}
