//! The one engine every front-end runs: every server's link, the shared history, the alerting policy with its
//! notifier and speech, acknowledgement write-back, and the live view.
//!
//! One task (the [actor](actor)) owns all of it and every task it starts (links, write-backs). Links report
//! into one channel; each burst is written to the history in one transaction before anyone is told (write
//! before notify), then handed to the policy (which notifies at once), to every [`Sink`] item by item (the
//! terminal prints it), and queued for views, which sinks that draw get at most every [`BATCH_EVERY`] as one
//! [`DeskEvent::Batch`]. Commands arrive as requests with a reply.
//!
//! Front-ends differ only in their input, their sinks and their words: the desktop shell implements [`Sink`]
//! over a channel to the web UI and another for the tray and the title; `alertdesk listen` implements one that
//! prints lines.
//!
//! - [`actor`]: the loop and request dispatch.
//! - [`links`]: starting, replacing and stopping links; restoring saved servers.
//! - [`pipeline`]: a batch from the links through the history, the policy, speech and the sinks.
//! - [`respond`]: acknowledging, and writing acknowledgements back to the server.
//! - [`present`]: snapshots and batches for the views.
//! - [`list`]: the window's list, a window of rows at a time from the history.
//! - [`accounts`]: sign-in, tokens, and the profiles the sign-in form offers.
//! - [`session`]: sign-ins that expire: renewed before they do, or announced ("Sign in again").
//! - [`servers`]: `servers.toml`, the saved servers (never a token).
//! - [`view`]: the typed contract with the UI.
//! - [`error`]: typed errors, `{kind, message}` for the UI.
//!
//! Tokens: read from the [`TokenStore`] (the OS keyring) when a link starts and after a sign-in; the UI never
//! sees one, and `servers.toml` holds none.

pub mod accounts;
mod actor;
pub mod error;
mod links;
mod list;
mod pipeline;
mod present;
mod respond;
pub mod servers;
pub mod session;
pub mod view;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::alerting::dbus::NotifierEvent;
use crate::alerting::notify::Notifier;
use crate::config::paths::Paths;
use crate::config::settings::Settings;
use crate::domain::{ServerId, Token};
use crate::link::auth::TokenStore;
use crate::link::net::{Net, NetError};
use crate::link::probe::ProbeReport;
use crate::link::protocol::Heartbeat;
use crate::store::{Delivered, Store};
pub use error::{EngineError, EngineErrorKind, ErrorView};
pub use list::{
    AlertKey, ListItem, ListRequest, ListWindow, WindowItem, BURST_EVERY, BURST_ROWS,
    UNRECORDED_LIMIT, WINDOW_LIMIT,
};
pub use servers::ServerEntry;
pub use session::{SessionView, SignInAgain};
pub use view::*;

/// The UI hears about changes at most this often.
pub const BATCH_EVERY: Duration = Duration::from_millis(50);

/// How long "Test connection" watches a server's events.
pub const TEST_WATCH: Duration = Duration::from_secs(3);

/// How long [`Engine::shutdown`] waits for links and write-backs to finish before it stops them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Where the engine's events go. Sinks are called on the engine's task: they must not block.
pub trait Sink: Send + Sync {
    /// A view event: a snapshot, a batch, a focus request or a notice. `false` when the receiver is gone (the
    /// sink is then dropped).
    fn send(&self, event: &DeskEvent) -> bool;

    /// One item the history delivered for `server`, in order, after it was recorded and the policy saw it:
    /// for front-ends that show each alert as it comes (the terminal).
    fn delivered(&self, server: &ServerView, item: &Delivered) {
        let _ = (server, item);
    }

    /// What was delivered so far has all been given to [`Sink::delivered`]: the end of a batch (for sinks that
    /// buffer what they write).
    fn delivered_all(&self) {}

    /// Whether this sink draws views; without a sink that does, the engine reads no rows for them.
    fn draws_views(&self) -> bool {
        true
    }
}

/// Notifications, for front-ends that raise them.
pub struct Alerting {
    /// Shows notifications.
    pub notifier: Arc<dyn Notifier>,
    /// Clicks on notification buttons, and failures to notify.
    pub events: mpsc::Receiver<NotifierEvent>,
}

/// What [`Engine::start`] needs.
pub struct EngineOptions {
    /// Where settings, `servers.toml` and the history are.
    pub paths: Paths,
    /// The settings (`[alerting]` and `[history]` are used here).
    pub settings: Settings,
    /// Where tokens are kept (the OS keyring).
    pub tokens: Arc<dyn TokenStore>,
    /// Notifications (`None`: alerts are recorded and shown, never notified).
    pub alerting: Option<Alerting>,
    /// Link heartbeat timing.
    pub heartbeat: Heartbeat,
    /// Wake-from-sleep and network-change signal, shared by every link.
    pub wake: Option<watch::Receiver<u64>>,
    /// Hears every event for the engine's whole life (the desktop's tray and title; the terminal).
    pub shell: Option<Arc<dyn Sink>>,
    /// Keep the signed-in servers in `servers.toml` (the desktop app). Off, only this run's servers exist.
    pub saved_servers: bool,
    /// TLS and proxies for every server ([`Net::build`] from `[network]`). When they could not be built, every
    /// server fails to connect with that error (in the window), rather than connecting some other way.
    pub net: Result<Net, NetError>,
}

/// Where a connecting server's token comes from.
#[derive(Debug, Clone)]
pub enum TokenSource {
    /// This token, from outside (`--token`): it ends when the token says, and is not renewed.
    Given(Token),
    /// A sign-in just made (kept in the token store): renewed before it ends where the profile says how.
    SignedIn(crate::link::session::Credentials),
    /// The token store, when the profile sends a token (with the refresh token kept next to it).
    Stored,
    /// None: connect without one.
    Without,
}

type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

enum Request {
    Subscribe(Arc<dyn Sink>),
    RestoreSaved(oneshot::Sender<()>),
    Add {
        entry: ServerEntry,
        token: TokenSource,
        scripted: bool,
        reply: Reply<ServerView>,
    },
    Remove {
        server: ServerId,
        reply: Reply<Option<String>>,
    },
    MarkRead {
        server: ServerId,
        id: String,
        reply: Reply<()>,
    },
    MarkAllRead(Reply<u64>),
    ClearRead(Reply<u64>),
    Acknowledge {
        server: ServerId,
        id: String,
        reply: Reply<()>,
    },
    Respond {
        server: ServerId,
        id: String,
        response: String,
        reply: Reply<()>,
    },
    Detail {
        server: ServerId,
        id: String,
        reply: Reply<AlertDetail>,
    },
    List {
        request: ListRequest,
        reply: Reply<ListWindow>,
    },
    Notifications(NotificationsRequest, Reply<()>),
    Awaiting(oneshot::Sender<usize>),
    Notice(NoticeLevel, Notice),
    Settings(Box<Settings>, oneshot::Sender<()>),
    Shutdown(oneshot::Sender<()>),
}

/// A handle on the running engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    requests: mpsc::UnboundedSender<Request>,
    /// Alerts still repeating until acknowledged, as of the actor's last step (for the update gate).
    awaiting: Arc<AtomicUsize>,
    accounts: accounts::Accounts,
}

impl Engine {
    /// Starts the engine on the current tokio runtime with the history `store`. Nothing here blocks on the
    /// network or the keyring: saved servers are connected by [`Engine::restore_saved`].
    pub fn start(options: EngineOptions, store: Store) -> Result<Self, EngineError> {
        options.settings.network.apply();
        let (requests, inbox) = mpsc::unbounded_channel();
        let awaiting = Arc::new(AtomicUsize::new(0));
        let accounts = accounts::Accounts::new(
            Arc::clone(&options.tokens),
            &options.paths,
            options.net.clone(),
        );
        let actor = actor::Actor::new(options, store, Arc::clone(&awaiting))?;
        tokio::spawn(actor.run(inbox));
        Ok(Self {
            requests,
            awaiting,
            accounts,
        })
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, EngineError> {
        let (tx, rx) = oneshot::channel();
        // A send fails only once the actor stopped; the dropped reply then says so.
        let _ = self.requests.send(make(tx));
        rx.await.map_err(|_| EngineError::ShuttingDown)?
    }

    /// Sends a snapshot to `sink` now and every event after, replacing the previous UI subscriber (a reloaded
    /// window subscribes again).
    pub fn subscribe(&self, sink: Arc<dyn Sink>) {
        let _ = self.requests.send(Request::Subscribe(sink));
    }

    /// Connects the saved servers (tokens from the token store), showing progress in the views; returns once
    /// each has its link started. Call it once the window shows.
    pub async fn restore_saved(&self) {
        let (tx, rx) = oneshot::channel();
        if self.requests.send(Request::RestoreSaved(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// The profiles the sign-in form offers: the built-in ones and those imported before.
    pub fn profiles(&self) -> Vec<ProfileInfo> {
        self.accounts.profiles()
    }

    /// Checks a profile file's text and keeps it among the imported profiles.
    pub fn import_profile(&self, file_name: &str, text: &str) -> Result<ProfileInfo, EngineError> {
        self.accounts.import_profile(file_name, text)
    }

    /// Signs in with the form (the login request runs here; the token goes to the token store only), saves
    /// the server and connects it. Signing in again to a saved server replaces its token.
    pub async fn sign_in(&self, form: SignInForm, demo: bool) -> Result<ServerView, EngineError> {
        let (entry, token, unrenewable) = self.accounts.sign_in(form, demo).await?;
        let view = self
            .call(|reply| Request::Add {
                entry,
                token,
                scripted: false,
                reply,
            })
            .await?;
        if let Some(message) = unrenewable {
            // The server's answer does not carry what the profile expects: said in the window, not only the log.
            self.notice(
                NoticeLevel::Warning,
                Notice::Problem {
                    server: view.server.clone(),
                    label: view.label.clone(),
                    message,
                },
            );
        }
        Ok(view)
    }

    /// "Test connection" in the sign-in form: the server probed against the form's profile for a few seconds
    /// (nothing is kept; see [`crate::link::probe`]).
    pub async fn test_connection(&self, form: SignInForm) -> Result<ProbeReport, EngineError> {
        self.accounts.probe(form, TEST_WATCH).await
    }

    /// Connects a server for this run only (`--profile P --server URL`).
    pub async fn connect(
        &self,
        profile: &str,
        server: &str,
        vars: BTreeMap<String, String>,
        token: TokenSource,
    ) -> Result<ServerView, EngineError> {
        let entry = accounts::scripted_entry(profile, server, vars)?;
        self.call(|reply| Request::Add {
            entry,
            token,
            scripted: true,
            reply,
        })
        .await
    }

    /// Disconnects a server, forgets it and removes its token (its alerts stay in the history).
    pub async fn sign_out(&self, server: &ServerId) -> Result<(), EngineError> {
        let server = server.clone();
        let account = self.call(|reply| Request::Remove { server, reply }).await?;
        if let Some(account) = account {
            self.accounts.forget_token(account).await?;
        }
        Ok(())
    }

    /// Marks one alert read (opening its row).
    pub async fn mark_read(&self, server: &ServerId, id: &str) -> Result<(), EngineError> {
        let (server, id) = (server.clone(), id.to_string());
        self.call(|reply| Request::MarkRead { server, id, reply })
            .await
    }

    /// Marks every alert read; returns how many were unread.
    pub async fn mark_all_read(&self) -> Result<u64, EngineError> {
        self.call(Request::MarkAllRead).await
    }

    /// Removes read alerts from the history; returns how many.
    pub async fn clear_read(&self) -> Result<u64, EngineError> {
        self.call(Request::ClearRead).await
    }

    /// Acknowledges an alert (locally, and on the server where the profile says how).
    pub async fn acknowledge(&self, server: &ServerId, id: &str) -> Result<(), EngineError> {
        let (server, id) = (server.clone(), id.to_string());
        self.call(|reply| Request::Acknowledge { server, id, reply })
            .await
    }

    /// Makes a status response its profile declares (`en_route`), or `acknowledge`: acknowledged here at once,
    /// and sent to the server through the outbox until it confirms.
    pub async fn respond(
        &self,
        server: &ServerId,
        id: &str,
        response: &str,
    ) -> Result<(), EngineError> {
        let (server, id, response) = (server.clone(), id.to_string(), response.to_string());
        self.call(|reply| Request::Respond {
            server,
            id,
            response,
            reply,
        })
        .await
    }

    /// The detail pane of one alert.
    pub async fn detail(&self, server: &ServerId, id: &str) -> Result<AlertDetail, EngineError> {
        let (server, id) = (server.clone(), id.to_string());
        self.call(|reply| Request::Detail { server, id, reply })
            .await
    }

    /// A window of the list (the rows a view shows); batches bring it again while it changes.
    pub async fn list(&self, request: ListRequest) -> Result<ListWindow, EngineError> {
        self.call(|reply| Request::List { request, reply }).await
    }

    /// Pauses, resumes or silences notifications.
    pub async fn notifications(&self, request: NotificationsRequest) -> Result<(), EngineError> {
        self.call(|reply| Request::Notifications(request, reply))
            .await
    }

    /// How many alerts still wait for acknowledgement (critical ones and assignments to me, repeating).
    pub async fn awaiting_acknowledgement(&self) -> usize {
        let (tx, rx) = oneshot::channel();
        let _ = self.requests.send(Request::Awaiting(tx));
        rx.await.unwrap_or(0)
    }

    /// [`Engine::awaiting_acknowledgement`] without waiting: as of the engine's last step.
    pub fn awaiting_now(&self) -> usize {
        self.awaiting.load(Ordering::Relaxed)
    }

    /// Shows a notice in the views (a failure outside the engine, e.g. a scripted start that cannot connect).
    pub fn notice(&self, level: NoticeLevel, notice: Notice) {
        let _ = self.requests.send(Request::Notice(level, notice));
    }

    /// Applies changed settings at once (the user changed them in the window, or a settings file changed): the
    /// alerting policy, reading aloud, retention, the REST answer cap. Returns once the engine has them.
    pub async fn apply_settings(&self, settings: Settings) {
        let (tx, rx) = oneshot::channel();
        if self
            .requests
            .send(Request::Settings(Box::new(settings), tx))
            .is_ok()
        {
            let _ = rx.await;
        }
    }

    /// Stops every link and write-back (waiting up to [`SHUTDOWN_GRACE`] for them), records what they had
    /// already reported, and stops the engine and its history thread.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.requests.send(Request::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

#[cfg(test)]
mod tests;
