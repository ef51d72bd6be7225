//! The desktop app's engine, without the window: every signed-in server's link, the shared history, the
//! alerting policy, and the live view the UI draws.
//!
//! One task (the actor) owns all of it. Supervisors report into one channel; each burst is written to the
//! history in one transaction before anyone is told (as `listen` does), then handed to the policy (which
//! notifies at once) and queued for the UI, which gets what changed at most every [`BATCH_EVERY`] as one
//! [`DeskEvent::Batch`]. Commands from the UI arrive as requests with a reply. The Tauri shell only forwards:
//! it implements [`Sink`] over a channel to the web UI, and another one for the tray and the window title.
//!
//! Tokens: read from the [`TokenStore`] (the OS keyring) when a link starts and after a sign-in; the UI never
//! sees one, and `servers.toml` holds none.

pub mod servers;
pub mod view;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::acknowledge::write_back_to;
use crate::alert::Alert;
use crate::auth::{self, TokenStore};
use crate::dbus_notifier::NotifierEvent;
use crate::history::{Delivered, History};
use crate::notify::{AlertKey, Notifier, ACTION_ACKNOWLEDGE};
use crate::paths::Paths;
use crate::policy::{Action, Indicator, Now, Outcome as Notified, Policy};
use crate::profile::{AuthMode, Profile};
use crate::protocol::Heartbeat;
use crate::secret::Token;
use crate::server::Server;
use crate::settings::Settings;
use crate::store::{Query, Store, StoreError};
use crate::supervisor::{LinkState, Supervisor, Target, Update};
pub use servers::ServerEntry;
pub use view::*;

/// The most alerts the list holds (newest first); older ones stay in the history.
pub const LIST_LIMIT: usize = 10_000;

/// The UI hears about changes at most this often.
pub const BATCH_EVERY: Duration = Duration::from_millis(50);

/// The most updates recorded in one transaction.
const MAX_BATCH: usize = 512;

/// Gaps sent in a snapshot.
const GAP_LIMIT: usize = 200;

/// Receives the desk's events.
pub trait Sink: Send + Sync {
    /// Delivers one event; `false` when the receiver is gone (the sink is then dropped).
    fn send(&self, event: &DeskEvent) -> bool;
}

/// What [`Desk::start`] needs.
pub struct DeskOptions {
    /// Where settings, `servers.toml` and the history are.
    pub paths: Paths,
    /// The settings (`[alerting]` and `[history]` are used here).
    pub settings: Settings,
    /// Where tokens are kept (the OS keyring).
    pub tokens: Arc<dyn TokenStore>,
    /// Shows notifications.
    pub notifier: Arc<dyn Notifier>,
    /// Clicks on notification buttons, and failures to notify.
    pub notifier_events: mpsc::UnboundedReceiver<NotifierEvent>,
    /// Link heartbeat timing.
    pub heartbeat: Heartbeat,
    /// Wake-from-sleep and network-change signal, shared by every link.
    pub wake: Option<watch::Receiver<u64>>,
    /// Hears every event for the desk's whole life (the shell: tray and window title).
    pub shell: Option<Arc<dyn Sink>>,
}

type Reply<T> = oneshot::Sender<Result<T, String>>;

enum Request {
    Subscribe(Arc<dyn Sink>),
    Add {
        entry: ServerEntry,
        token: Option<Token>,
        scripted: bool,
        reply: Reply<ServerView>,
    },
    Remove {
        id: String,
        reply: Reply<Option<String>>,
    },
    MarkRead {
        server: String,
        id: String,
        reply: Reply<()>,
    },
    MarkAllRead(Reply<u64>),
    ClearRead(Reply<u64>),
    Acknowledge {
        server: String,
        id: String,
        reply: Reply<()>,
    },
    Detail {
        server: String,
        id: String,
        reply: Reply<AlertDetail>,
    },
    Notifications(NotificationsRequest, Reply<()>),
    Awaiting(oneshot::Sender<usize>),
    Notice(NoticeLevel, String),
    Shutdown(oneshot::Sender<()>),
}

/// A handle on the running desk; cheap to clone.
#[derive(Clone)]
pub struct Desk {
    requests: mpsc::UnboundedSender<Request>,
    /// Alerts still repeating until acknowledged, as of the actor's last step (for the update gate).
    awaiting: Arc<std::sync::atomic::AtomicUsize>,
    tokens: Arc<dyn TokenStore>,
    http: reqwest::Client,
    config_dir: std::path::PathBuf,
}

impl Desk {
    /// Starts the desk on the current tokio runtime with the history `store`, and connects every saved
    /// server (tokens from the store; a server without one shows "sign in again").
    pub fn start(options: DeskOptions, store: Store) -> Self {
        let (requests, inbox) = mpsc::unbounded_channel();
        let (updates_tx, updates) = mpsc::channel(4096);
        let servers_file = options.paths.config_dir.join(servers::FILE_NAME);
        let (entries, servers_error) = servers::load(&servers_file);
        let http = auth::http_client();
        let awaiting = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let desk = Self {
            requests: requests.clone(),
            awaiting: Arc::clone(&awaiting),
            tokens: Arc::clone(&options.tokens),
            http: http.clone(),
            config_dir: options.paths.config_dir.clone(),
        };
        let speaker = options
            .settings
            .alerting
            .speak_critical
            .then(crate::speech::Speaker::from_env);
        let actor = Actor {
            store: Arc::new(Mutex::new(store)),
            policy: Policy::new(options.settings.alerting.clone(), options.notifier),
            settings: options.settings,
            servers_file,
            tokens: options.tokens,
            http,
            heartbeat: options.heartbeat,
            wake: options.wake,
            entries: Vec::new(),
            links: BTreeMap::new(),
            ui: None,
            shell: options.shell,
            updates_tx,
            requests,
            pending: Pending::default(),
            last_flush: Instant::now(),
            shown: HashMap::new(),
            notify_failure: None,
            paused_until: None,
            store_failed: false,
            unseen: Vec::new(),
            awaiting,
            speaker,
        };
        tokio::spawn(actor.run(
            inbox,
            updates,
            options.notifier_events,
            entries,
            servers_error,
        ));
        desk
    }

    fn ask<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Request,
    ) -> oneshot::Receiver<Result<T, String>> {
        let (tx, rx) = oneshot::channel();
        // A send fails only once the actor stopped; the dropped reply then says so.
        let _ = self.requests.send(make(tx));
        rx
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, String> {
        self.ask(make)
            .await
            .map_err(|_| "Alertdesk is shutting down".to_string())?
    }

    /// Sends a snapshot to `sink` now and every event after, replacing the previous UI subscriber (a reloaded
    /// window subscribes again).
    pub fn subscribe(&self, sink: Arc<dyn Sink>) {
        let _ = self.requests.send(Request::Subscribe(sink));
    }

    /// The profiles the sign-in form offers: the built-in ones and those imported before.
    pub fn profiles(&self) -> Vec<ProfileInfo> {
        let mut out: Vec<ProfileInfo> = Profile::builtins()
            .iter()
            .map(|p| profile_info(p, &p.name, true))
            .collect();
        if let Ok(dir) = std::fs::read_dir(self.profiles_dir()) {
            let mut files: Vec<_> = dir
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            files.sort();
            for path in files {
                let name = path.to_string_lossy().into_owned();
                match Profile::load(&name) {
                    Ok(profile) => out.push(profile_info(&profile, &name, false)),
                    Err(e) => tracing::warn!("imported profile ignored: {e}"),
                }
            }
        }
        out
    }

    fn profiles_dir(&self) -> std::path::PathBuf {
        self.config_dir.join("profiles")
    }

    /// Checks a profile file's text and keeps it among the imported profiles (`config/profiles/NAME.toml`).
    pub fn import_profile(&self, file_name: &str, text: &str) -> Result<ProfileInfo, String> {
        let profile = Profile::parse(text, file_name).map_err(|e| e.to_string())?;
        if Profile::builtins().iter().any(|b| b.name == profile.name) {
            return Err(format!(
                "{file_name}: a built-in profile is already called {:?}; rename it (the `name` key)",
                profile.name
            ));
        }
        let dir = self.profiles_dir();
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let path = dir.join(format!("{}.toml", profile.name));
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        tracing::info!(profile = %profile.name, "profile imported");
        Ok(profile_info(&profile, &path.to_string_lossy(), false))
    }

    /// Signs in with the form (the login request runs here; the token goes to the token store only), saves
    /// the server and connects it. Signing in again to a saved server replaces its token.
    pub async fn sign_in(&self, form: SignInForm, demo: bool) -> Result<ServerView, String> {
        let profile = Profile::load(form.profile.trim()).map_err(|e| e.to_string())?;
        let server = Server::parse(form.server.trim())?;
        let vars: BTreeMap<String, String> = form
            .vars
            .into_iter()
            .map(|(k, v)| (k, v.trim().to_string()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let resolved = profile.resolve_variables(&vars)?;
        let token = match &profile.auth.login {
            Some(_) => {
                if form.username.trim().is_empty() {
                    return Err("enter your username and password".into());
                }
                let password = Token::new(form.password);
                let token = auth::login(
                    &self.http,
                    &profile,
                    &server,
                    form.username.trim(),
                    &password,
                    &resolved,
                )
                .await
                .map_err(|e| e.to_string())?;
                let account = auth::account(&profile.name, &server);
                let (tokens, kept) = (Arc::clone(&self.tokens), token.clone());
                tokio::task::spawn_blocking(move || tokens.set(&account, &kept))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| format!("signed in, but the token cannot be kept: {e}"))?;
                Some(token)
            }
            None if profile.auth.mode == AuthMode::None || profile.auth.optional => None,
            None => {
                return Err(format!(
                    "profile {} has no login request; start Alertdesk with --profile and ALERTDESK_TOKEN instead",
                    profile.name
                ))
            }
        };
        let label = form
            .label
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| default_label(&profile, &server));
        let entry = ServerEntry {
            profile: form.profile.trim().to_string(),
            url: server.to_string(),
            label,
            vars,
            demo,
        };
        tracing::info!(server = %server, profile = %profile.name, "signed in");
        self.call(|reply| Request::Add {
            entry,
            token,
            scripted: false,
            reply,
        })
        .await
    }

    /// Connects a server for this run only (`alertdesk --profile P --server URL`): with `token`, or the one
    /// in the token store when `None`.
    pub async fn connect(
        &self,
        profile: &str,
        server: &str,
        vars: BTreeMap<String, String>,
        token: Option<Token>,
    ) -> Result<ServerView, String> {
        let loaded = Profile::load(profile).map_err(|e| e.to_string())?;
        let server = Server::parse(server)?;
        loaded.resolve_variables(&vars)?;
        let entry = ServerEntry {
            profile: profile.to_string(),
            url: server.to_string(),
            label: default_label(&loaded, &server),
            vars,
            demo: false,
        };
        self.call(|reply| Request::Add {
            entry,
            token,
            scripted: true,
            reply,
        })
        .await
    }

    /// Disconnects a server, forgets it and removes its token (its alerts stay in the history).
    pub async fn sign_out(&self, id: &str) -> Result<(), String> {
        let account = self
            .call(|reply| Request::Remove {
                id: id.to_string(),
                reply,
            })
            .await?;
        if let Some(account) = account {
            let tokens = Arc::clone(&self.tokens);
            tokio::task::spawn_blocking(move || tokens.delete(&account))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("signed out, but the token could not be removed: {e}"))?;
        }
        Ok(())
    }

    /// Marks one alert read (opening its row).
    pub async fn mark_read(&self, server: &str, id: &str) -> Result<(), String> {
        let (server, id) = (server.to_string(), id.to_string());
        self.call(|reply| Request::MarkRead { server, id, reply })
            .await
    }

    /// Marks every alert read; returns how many were unread.
    pub async fn mark_all_read(&self) -> Result<u64, String> {
        self.call(Request::MarkAllRead).await
    }

    /// Removes read alerts from the history; returns how many.
    pub async fn clear_read(&self) -> Result<u64, String> {
        self.call(Request::ClearRead).await
    }

    /// Acknowledges an alert (locally, and on the server where the profile says how).
    pub async fn acknowledge(&self, server: &str, id: &str) -> Result<(), String> {
        let (server, id) = (server.to_string(), id.to_string());
        self.call(|reply| Request::Acknowledge { server, id, reply })
            .await
    }

    /// The detail pane of one alert.
    pub async fn detail(&self, server: &str, id: &str) -> Result<AlertDetail, String> {
        let (server, id) = (server.to_string(), id.to_string());
        self.call(|reply| Request::Detail { server, id, reply })
            .await
    }

    /// Pauses, resumes or silences notifications.
    pub async fn notifications(&self, request: NotificationsRequest) -> Result<(), String> {
        self.call(|reply| Request::Notifications(request, reply))
            .await
    }

    /// How many alerts still wait for acknowledgement (critical ones and assignments to me, repeating).
    pub async fn awaiting_acknowledgement(&self) -> usize {
        let (tx, rx) = oneshot::channel();
        let _ = self.requests.send(Request::Awaiting(tx));
        rx.await.unwrap_or(0)
    }

    /// [`Desk::awaiting_acknowledgement`] without waiting: as of the desk's last step (for synchronous callers).
    pub fn awaiting_now(&self) -> usize {
        self.awaiting.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Shows a notice in the UI (a failure outside the desk, e.g. a scripted start that cannot connect).
    pub fn notify_ui(&self, level: NoticeLevel, message: String) {
        let _ = self.requests.send(Request::Notice(level, message));
    }

    /// Stops every link and the actor.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.requests.send(Request::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

fn default_label(profile: &Profile, server: &Server) -> String {
    let host = url::Url::parse(server.as_str())
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| u.port().map_or(h.to_string(), |p| format!("{h}:{p}")))
        })
        .unwrap_or_else(|| server.to_string());
    format!("{} · {host}", profile.name)
}

fn profile_info(profile: &Profile, name: &str, builtin: bool) -> ProfileInfo {
    ProfileInfo {
        name: name.to_string(),
        description: profile.description.clone(),
        builtin,
        default_server: profile.default_server.clone(),
        variables: profile
            .variables
            .iter()
            .map(|(name, v)| VariableInfo {
                name: name.clone(),
                description: v.description.clone(),
                default: v.default.clone(),
                required: v.required,
            })
            .collect(),
        login: profile.auth.login.is_some(),
    }
}

/// What changed since the UI last heard.
#[derive(Default)]
struct Pending {
    alerts: BTreeSet<(String, String)>,
    /// Rows for alerts the history could not record (shown anyway).
    unrecorded: Vec<AlertRow>,
    gaps: Vec<GapView>,
    servers: bool,
    reset: bool,
}

impl Pending {
    fn dirty(&self) -> bool {
        self.servers
            || self.reset
            || !self.alerts.is_empty()
            || !self.gaps.is_empty()
            || !self.unrecorded.is_empty()
    }
}

struct Link {
    view: ServerView,
    target: Target,
    history: History,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Link {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

struct Actor {
    store: Arc<Mutex<Store>>,
    policy: Policy,
    settings: Settings,
    servers_file: std::path::PathBuf,
    tokens: Arc<dyn TokenStore>,
    http: reqwest::Client,
    heartbeat: Heartbeat,
    wake: Option<watch::Receiver<u64>>,
    /// The saved servers (not the scripted ones).
    entries: Vec<ServerEntry>,
    links: BTreeMap<String, Link>,
    ui: Option<Arc<dyn Sink>>,
    shell: Option<Arc<dyn Sink>>,
    updates_tx: mpsc::Sender<(String, Update)>,
    requests: mpsc::UnboundedSender<Request>,
    pending: Pending,
    last_flush: Instant,
    /// When a notification for an alert was shown in this run.
    shown: HashMap<AlertKey, String>,
    notify_failure: Option<String>,
    paused_until: Option<String>,
    store_failed: bool,
    /// Notices from before the UI subscribed.
    unseen: Vec<DeskEvent>,
    /// Shared with [`Desk::awaiting_now`].
    awaiting: Arc<std::sync::atomic::AtomicUsize>,
    /// Reads critical alerts aloud (`[alerting] speak_critical`).
    speaker: Option<crate::speech::Speaker>,
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn lock(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    store
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Actor {
    /// Runs `f` on the store off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, String> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(&lock(&store)))
            .await
            .map_err(|e| format!("history task failed: {e}"))?
            .map_err(|e| e.to_string())
    }

    async fn run(
        mut self,
        mut inbox: mpsc::UnboundedReceiver<Request>,
        mut updates: mpsc::Receiver<(String, Update)>,
        mut notifier_events: mpsc::UnboundedReceiver<NotifierEvent>,
        entries: Vec<ServerEntry>,
        servers_error: Option<String>,
    ) {
        if let Some(message) = servers_error {
            tracing::error!("{message}");
            self.notice(NoticeLevel::Error, message);
        }
        for entry in entries {
            let token = self.stored_token(&entry).await;
            if let Err(e) = self.add(entry.clone(), token, false) {
                tracing::error!(server = %entry.url, "cannot connect a saved server: {e}");
                self.notice(
                    NoticeLevel::Error,
                    format!("cannot connect {}: {e}", entry.url),
                );
                // Keep it saved: the profile file may be back at the next start.
                self.entries.push(entry);
            }
        }
        let retention = self.settings.history.clone();
        let mut prune = tokio::time::interval(Duration::from_secs(3600));
        let mut notifier_open = true;
        loop {
            let deadline = self.policy.next_deadline();
            let flush_at = self.pending.dirty().then(|| self.last_flush + BATCH_EVERY);
            tokio::select! {
                request = inbox.recv() => match request {
                    Some(Request::Shutdown(done)) => {
                        self.links.clear();
                        let _ = done.send(());
                        break;
                    }
                    Some(request) => self.handle(request).await,
                    None => break,
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
                event = notifier_events.recv(), if notifier_open => match event {
                    Some(event) => self.on_notifier(event).await,
                    None => notifier_open = false,
                },
                () = sleep_until(deadline) => self.tick(),
                () = sleep_until(flush_at) => self.flush().await,
                _ = prune.tick() => {
                    let (age, count) = (retention.max_age(), retention.max_alerts);
                    match self.blocking(move |s| s.prune(age, count)).await {
                        Ok(0) => {}
                        Ok(n) => {
                            tracing::info!("retention: removed {n} old alerts from the history");
                            self.pending.reset = true;
                        }
                        Err(e) => tracing::warn!("retention: {e}"),
                    }
                }
            }
            self.note_awaiting();
        }
    }

    fn note_awaiting(&self) {
        self.awaiting.store(
            self.policy.repeating_count(),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    fn emit(&mut self, event: &DeskEvent) {
        if let Some(ui) = &self.ui {
            if !ui.send(event) {
                self.ui = None;
            }
        } else if matches!(event, DeskEvent::Notice { .. }) && self.unseen.len() < 10 {
            // Said before the window subscribed (a broken servers file at start): shown when it does.
            self.unseen.push(event.clone());
        }
        if let Some(shell) = &self.shell {
            shell.send(event);
        }
    }

    fn notice(&mut self, level: NoticeLevel, message: String) {
        self.emit(&DeskEvent::Notice { level, message });
    }

    /// The token kept for `entry`, when its profile sends one (no keyring access otherwise).
    async fn stored_token(&self, entry: &ServerEntry) -> Option<Token> {
        let profile = Profile::load(&entry.profile).ok()?;
        if profile.auth.mode == AuthMode::None {
            return None;
        }
        let server = Server::parse(&entry.url).ok()?;
        let account = auth::account(&profile.name, &server);
        let tokens = Arc::clone(&self.tokens);
        match tokio::task::spawn_blocking(move || tokens.get(&account)).await {
            Ok(Ok(token)) => token,
            Ok(Err(e)) => {
                tracing::warn!(server = %entry.url, "cannot read the token: {e}");
                None
            }
            Err(e) => {
                tracing::warn!("token lookup failed: {e}");
                None
            }
        }
    }

    /// Starts (or restarts) the link of `entry`.
    fn add(
        &mut self,
        entry: ServerEntry,
        token: Option<Token>,
        scripted: bool,
    ) -> Result<ServerView, String> {
        let profile = Profile::load(&entry.profile).map_err(|e| e.to_string())?;
        let server = Server::parse(&entry.url)?;
        let vars = profile.resolve_variables(&entry.vars)?;
        let id = auth::account(&profile.name, &server);
        if let Some(other) = self
            .links
            .values()
            .find(|l| l.view.server == server.as_str() && l.view.id != id)
        {
            return Err(format!(
                "{} is already signed in with profile {}; sign out there first",
                server, other.view.profile
            ));
        }
        let history = History::new(Arc::clone(&self.store), server.as_str(), &profile.name);
        let cursor = history.cursor().map_err(|e| e.to_string())?;
        let needs_token = profile.auth.mode != AuthMode::None && !profile.auth.optional;
        let missing_token = needs_token && token.is_none();
        let target = Target {
            profile: Arc::new(profile),
            server: server.clone(),
            vars,
            token,
            cursor,
        };
        let now = crate::alert::now_rfc3339();
        let mut view = ServerView {
            id: id.clone(),
            label: if entry.label.is_empty() {
                default_label(&target.profile, &server)
            } else {
                entry.label.clone()
            },
            profile: target.profile.name.clone(),
            server: server.to_string(),
            demo: entry.demo,
            scripted,
            link: LinkState::Connecting,
            since: now.clone(),
            down_since: None,
            latency_ms: None,
            unread: 0,
        };
        // Replacing a link stops the old one (its Drop).
        self.links.remove(&id);
        let stop = if missing_token {
            view.link = LinkState::AuthFailed {
                reason: "no token in the keyring".into(),
            };
            view.down_since = Some(now);
            None
        } else {
            let mut supervisor = Supervisor::new(target.clone(), self.heartbeat)?;
            if let Some(wake) = &self.wake {
                supervisor = supervisor.with_wake(wake.clone());
            }
            let (tx, mut rx) = mpsc::channel(1024);
            let (stop, stopped) = oneshot::channel::<()>();
            tokio::spawn(supervisor.run(tx, async move {
                let _ = stopped.await;
            }));
            let (merged, link_id) = (self.updates_tx.clone(), id.clone());
            tokio::spawn(async move {
                while let Some(update) = rx.recv().await {
                    if merged.send((link_id.clone(), update)).await.is_err() {
                        break;
                    }
                }
            });
            Some(stop)
        };
        let out = view.clone();
        self.links.insert(
            id,
            Link {
                view,
                target,
                history,
                stop,
            },
        );
        if !scripted {
            self.entries
                .retain(|e| !(e.url == entry.url && e.profile == entry.profile));
            self.entries.push(entry);
            self.save_entries();
        }
        self.pending.servers = true;
        Ok(out)
    }

    fn save_entries(&mut self) {
        if let Err(e) = servers::save(&self.servers_file, &self.entries) {
            let message = format!(
                "cannot save the server list to {}: {e}",
                self.servers_file.display()
            );
            tracing::error!("{message}");
            self.notice(NoticeLevel::Warning, message);
        }
    }

    fn link_by_server(&self, server: &str) -> Option<&Link> {
        self.links.values().find(|l| l.view.server == server)
    }

    async fn handle(&mut self, request: Request) {
        match request {
            Request::Subscribe(sink) => {
                match self.snapshot().await {
                    Ok(snapshot) => {
                        sink.send(&DeskEvent::Snapshot(snapshot));
                        for notice in self.unseen.drain(..) {
                            sink.send(&notice);
                        }
                    }
                    Err(e) => tracing::error!("cannot read the history for the window: {e}"),
                }
                self.ui = Some(sink);
            }
            Request::Add {
                entry,
                token,
                scripted,
                reply,
            } => {
                let token = match token {
                    Some(token) => Some(token),
                    None => self.stored_token(&entry).await,
                };
                let _ = reply.send(self.add(entry, token, scripted));
            }
            Request::Remove { id, reply } => {
                let Some(link) = self.links.remove(&id) else {
                    let _ = reply.send(Err(format!("no server {id}")));
                    return;
                };
                let scripted = link.view.scripted;
                self.entries.retain(|e| {
                    !(e.url == link.view.server
                        && Profile::load(&e.profile).is_ok_and(|p| p.name == link.view.profile))
                });
                if !scripted {
                    self.save_entries();
                }
                self.policy
                    .on_link_state(&link.view.label, &LinkState::Stopped, Now::current());
                self.pending.reset = true;
                tracing::info!(server = %link.view.server, "signed out");
                let _ = reply.send(Ok((!scripted).then_some(id)));
            }
            Request::MarkRead { server, id, reply } => {
                let (s, i) = (server.clone(), id.clone());
                let result = self.blocking(move |st| st.mark_read(Some(&s), &i)).await;
                if result.is_ok() {
                    self.policy.on_read(&AlertKey::new(&server, &id));
                    self.pending.alerts.insert((server, id));
                }
                let _ = reply.send(result.map(|_| ()));
            }
            Request::MarkAllRead(reply) => {
                let result = self.blocking(|st| st.mark_all_read(None)).await;
                if result.is_ok() {
                    for key in self.policy.repeating() {
                        self.policy.on_read(&key);
                    }
                    self.pending.reset = true;
                }
                let _ = reply.send(result);
            }
            Request::ClearRead(reply) => {
                let result = self.blocking(Store::clear_read).await;
                self.pending.reset = true;
                let _ = reply.send(result);
            }
            Request::Acknowledge { server, id, reply } => {
                let _ = reply.send(self.acknowledge(&server, &id).await);
            }
            Request::Detail { server, id, reply } => {
                let _ = reply.send(self.detail(server, id).await);
            }
            Request::Notifications(request, reply) => {
                self.set_notifications(request);
                let _ = reply.send(Ok(()));
            }
            Request::Awaiting(reply) => {
                let _ = reply.send(self.policy.repeating_count());
            }
            Request::Notice(level, message) => self.notice(level, message),
            Request::Shutdown(_) => unreachable!("handled in run"),
        }
    }

    fn set_notifications(&mut self, request: NotificationsRequest) {
        match request {
            NotificationsRequest::Pause { minutes } => {
                let until =
                    minutes.map(|m| Instant::now() + Duration::from_secs(u64::from(m) * 60));
                self.paused_until = minutes.map(|m| {
                    (chrono::Utc::now() + chrono::TimeDelta::minutes(i64::from(m)))
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                });
                self.policy.pause(until);
                tracing::info!(?minutes, "notifications paused");
            }
            NotificationsRequest::Resume => {
                self.policy.resume();
                self.paused_until = None;
                tracing::info!("notifications resumed");
            }
            NotificationsRequest::Silence { on } => {
                self.policy.set_silence_everything(on);
                tracing::info!(on, "silence everything");
            }
        }
        self.pending.servers = true;
    }

    fn notifications_view(&self) -> NotificationsView {
        match self.policy.indicator(Now::current()) {
            Indicator::Normal => NotificationsView::Normal,
            Indicator::QuietHours { until } => NotificationsView::QuietHours {
                until: until.format("%H:%M").to_string(),
            },
            Indicator::Paused { until } => NotificationsView::Paused {
                until: until.and(self.paused_until.clone()),
            },
            Indicator::SilenceEverything => NotificationsView::Silenced,
        }
    }

    async fn acknowledge(&mut self, server: &str, id: &str) -> Result<(), String> {
        let (s, i) = (server.to_string(), id.to_string());
        let stored = self
            .blocking(move |st| {
                st.acknowledge(Some(&s), &i)?;
                st.get(&s, &i)
            })
            .await?;
        self.policy.on_acknowledged(&AlertKey::new(server, id));
        self.pending
            .alerts
            .insert((server.to_string(), id.to_string()));
        tracing::info!(server, id, "acknowledged");
        let (Some(stored), Some(link)) = (stored, self.link_by_server(server)) else {
            return Ok(());
        };
        if link.target.profile.acknowledge.is_none() {
            return Ok(());
        }
        let (http, target, requests) = (
            self.http.clone(),
            link.target.clone(),
            self.requests.clone(),
        );
        tokio::spawn(async move {
            let alert = stored.alert;
            let sent = write_back_to(&http, &target, &alert).await;
            if let Err(e) = sent {
                let message = format!(
                    "{} was acknowledged here, but {} was not told: {e}",
                    alert.title, target.server
                );
                tracing::warn!("{message}");
                let _ = requests.send(Request::Notice(NoticeLevel::Warning, message));
            }
        });
        Ok(())
    }

    async fn detail(&self, server: String, id: String) -> Result<AlertDetail, String> {
        let key = AlertKey::new(&server, &id);
        let writes_back = self
            .link_by_server(&server)
            .is_some_and(|l| l.target.profile.acknowledge.is_some());
        let (s, i) = (server.clone(), id.clone());
        let (stored, trail) = self
            .blocking(move |st| Ok((st.get(&s, &i)?, st.trail(&s, &i)?)))
            .await?;
        let stored = stored.ok_or_else(|| format!("no alert {id} from {server}"))?;
        let (event, source) = (stored.alert.event.clone(), stored.alert.source);
        let payload =
            serde_json::to_string_pretty(&stored.alert.data).unwrap_or_else(|_| String::new());
        Ok(AlertDetail {
            alert: stored.into(),
            event,
            source,
            shown_at: self.shown.get(&key).cloned(),
            trail: trail.into_iter().map(Into::into).collect(),
            payload,
            writes_back,
        })
    }

    async fn on_notifier(&mut self, event: NotifierEvent) {
        match event {
            NotifierEvent::Failed(message) => {
                if self.notify_failure.is_none() {
                    tracing::error!("cannot show notifications: {message}");
                    self.notice(
                        NoticeLevel::Error,
                        format!("Desktop notifications do not work ({message}). Alerts still arrive in this window; keep it in view."),
                    );
                }
                self.notify_failure = Some(message);
                self.pending.servers = true;
            }
            NotifierEvent::Action { alert, action } if action == ACTION_ACKNOWLEDGE => {
                if let Err(e) = self.acknowledge(&alert.server, &alert.id).await {
                    self.notice(NoticeLevel::Warning, format!("cannot acknowledge: {e}"));
                }
            }
            NotifierEvent::Action { alert, .. } => {
                // "Open", or a click on the notification itself.
                self.emit(&DeskEvent::Focus {
                    server: alert.server,
                    id: alert.id,
                    escalate: false,
                });
            }
        }
    }

    fn tick(&mut self) {
        for action in self.policy.tick(Now::current()) {
            match action {
                Action::Escalate { key } => {
                    tracing::warn!(alert = %key.id, "still unacknowledged after repeated notifications");
                    self.emit(&DeskEvent::Focus {
                        server: key.server,
                        id: key.id,
                        escalate: true,
                    });
                }
                Action::Indicator(_) => {
                    self.pending.servers = true;
                }
            }
        }
    }

    async fn on_updates(&mut self, batch: Vec<(String, Update)>) {
        let mut per_link: BTreeMap<String, Vec<Update>> = BTreeMap::new();
        for (id, update) in batch {
            per_link.entry(id).or_default().push(update);
        }
        for (id, updates) in per_link {
            let Some(link) = self.links.get(&id) else {
                continue; // signed out meanwhile
            };
            let history = link.history.clone();
            if updates.iter().any(|u| matches!(u, Update::Baseline(_))) {
                self.pending.reset = true;
            }
            let delivered = match history.apply(updates.clone()).await {
                Ok(delivered) => {
                    self.store_failed = false;
                    delivered
                }
                Err(e) => {
                    if !self.store_failed {
                        self.store_failed = true;
                        self.notice(
                            NoticeLevel::Error,
                            format!(
                                "cannot write the history ({e}); alerts are shown but not kept"
                            ),
                        );
                    }
                    Delivered::unrecorded(updates)
                }
            };
            for item in delivered {
                self.on_delivered(&id, item);
            }
        }
    }

    fn on_delivered(&mut self, link_id: &str, item: Delivered) {
        let Some(link) = self.links.get_mut(link_id) else {
            return;
        };
        let server = link.view.server.clone();
        let now = Now::current();
        let (alert, change) = match item {
            Delivered::New(alert) => (alert, None),
            Delivered::Updated(alert, change) => (alert, Some(change)),
            Delivered::State(state) => {
                let at = crate::alert::now_rfc3339();
                match &state {
                    LinkState::Live => link.view.down_since = None,
                    _ => {
                        if link.view.down_since.is_none() {
                            link.view.down_since = Some(at.clone());
                        }
                    }
                }
                link.view.link = state.clone();
                link.view.since = at;
                let label = link.view.label.clone();
                self.policy.on_link_state(&label, &state, now);
                self.pending.servers = true;
                return;
            }
            Delivered::Gap { from, to } => {
                self.pending.gaps.push(GapView {
                    server,
                    from,
                    to: Some(to),
                    note: "offline; the backend cannot tell what was missed".into(),
                });
                return;
            }
        };
        let outcome = self
            .policy
            .on_alert(&server, &alert, change.as_deref(), now);
        if let (Some(speaker), Notified::Notified, crate::alert::Priority::Critical) =
            (&self.speaker, outcome, alert.priority)
        {
            speaker.speak_critical(&alert.title);
        }
        if matches!(outcome, Notified::Notified | Notified::Coalesced) {
            self.shown.insert(
                AlertKey::new(&server, &alert.id),
                crate::alert::now_rfc3339(),
            );
        }
        if self.store_failed {
            self.pending
                .unrecorded
                .push(unrecorded_row(&server, &alert));
        } else {
            self.pending.alerts.insert((server, alert.id.clone()));
        }
    }

    async fn snapshot(&self) -> Result<View, String> {
        let (alerts, gaps, counts) = self
            .blocking(|st| {
                let alerts = st.list(&Query {
                    limit: Some(LIST_LIMIT),
                    ..Query::default()
                })?;
                let mut gaps = st.gaps(None)?;
                gaps.truncate(GAP_LIMIT);
                Ok((alerts, gaps, st.unread_counts()?))
            })
            .await?;
        Ok(View {
            servers: self.server_views(&counts),
            alerts: alerts.into_iter().map(Into::into).collect(),
            gaps: gaps.into_iter().map(Into::into).collect(),
            unread: counts.values().sum(),
            notifications: self.notifications_view(),
            notify_failure: self.notify_failure.clone(),
        })
    }

    fn server_views(&self, counts: &BTreeMap<String, u64>) -> Vec<ServerView> {
        self.links
            .values()
            .map(|l| {
                let mut view = l.view.clone();
                view.unread = counts.get(&view.server).copied().unwrap_or(0);
                view
            })
            .collect()
    }

    async fn flush(&mut self) {
        self.last_flush = Instant::now();
        let pending = std::mem::take(&mut self.pending);
        if pending.reset {
            match self.snapshot().await {
                Ok(snapshot) => self.emit(&DeskEvent::Snapshot(snapshot)),
                Err(e) => tracing::error!("cannot read the history for the window: {e}"),
            }
            return;
        }
        let keys: Vec<_> = pending.alerts.into_iter().collect();
        let read = self
            .blocking(move |st| {
                let mut rows = Vec::with_capacity(keys.len());
                for (server, id) in &keys {
                    if let Some(stored) = st.get(server, id)? {
                        rows.push(AlertRow::from(stored));
                    }
                }
                Ok((rows, st.unread_counts()?))
            })
            .await;
        let (mut rows, counts) = match read {
            Ok(read) => read,
            Err(e) => {
                tracing::error!("cannot read the history for the window: {e}");
                (Vec::new(), BTreeMap::new())
            }
        };
        for row in &rows {
            self.note_latency(row);
        }
        rows.extend(pending.unrecorded);
        let batch = View {
            alerts: rows,
            servers: self.server_views(&counts),
            gaps: pending.gaps,
            unread: counts.values().sum(),
            notifications: self.notifications_view(),
            notify_failure: self.notify_failure.clone(),
        };
        self.emit(&DeskEvent::Batch(batch));
    }

    /// A new alert's delivery latency: our receive time minus the backend's own time for the record.
    fn note_latency(&mut self, row: &AlertRow) {
        if row.update_count > 0 {
            return;
        }
        let Some(server_time) = &row.server_time else {
            return;
        };
        let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
        let (Some(sent), Some(got)) = (parse(server_time), parse(&row.received_at)) else {
            return;
        };
        let Ok(ms) = u64::try_from((got - sent).num_milliseconds()) else {
            return; // the server's clock is ahead of ours: no honest figure
        };
        if ms > 3_600_000 {
            return; // a backfilled or old record, not a delivery time
        }
        if let Some(link) = self
            .links
            .values_mut()
            .find(|l| l.view.server == row.server)
        {
            link.view.latency_ms = Some(ms);
        }
    }
}

fn unrecorded_row(server: &str, alert: &Alert) -> AlertRow {
    AlertRow {
        server: server.to_string(),
        id: alert.id.clone(),
        profile: alert.profile.clone(),
        kind: alert.kind,
        title: alert.title.clone(),
        body: alert.body.clone(),
        priority: alert.priority,
        assigned_to_me: alert.assigned_to_me,
        first_received_at: alert.received_at.clone(),
        received_at: alert.received_at.clone(),
        server_time: None,
        read_at: None,
        acknowledged_at: None,
        update_count: 0,
    }
}

#[cfg(test)]
mod tests;
