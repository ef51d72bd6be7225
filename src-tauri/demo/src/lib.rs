//! Alertdesk's built-in demo backend: a small police-reports server that runs inside the binary.
//!
//! It speaks the shape of seed 002 (per-station report feeds over a plain WebSocket, token in the query) plus
//! assignments, updates, acknowledgements, status responses and a `since` list for backfill, and a simulator
//! keeps it busy.
//! `alertdesk demo` runs it standalone; the desktop app can start it in-process on a random loopback port:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let server = alertdesk_demo::start(alertdesk_demo::DemoConfig::default()).await?;
//! println!("demo at {}", server.url()); // http://127.0.0.1:PORT
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! It binds 127.0.0.1 only: its logins are public (`officer`/`demo`, `dispatcher`/`demo`) and its tokens
//! come from a fast, non-cryptographic generator. Everything is kept in memory and gone when it stops.
//!
//! # API
//!
//! Every body is JSON; errors are `{"error": "..."}`. Timestamps are RFC 3339 in UTC.
//!
//! - `POST /api/login` `{"username", "password"}` → 200 `{"token", "expires_at", "user": {"id", "name",
//!   "role", "station_id"}}`, or 401. `officer` (role `officer`, station 4) sees station 4; `dispatcher` (role
//!   `dispatcher`, `station_id` null) sees every station. Tokens are 32 hex characters and expire after
//!   [`DemoConfig::token_ttl`].
//! - `GET /ws?token=T`: the feed, a WebSocket of JSON text messages for the reports the user sees; a missing,
//!   unknown or expired token is HTTP 401 on the upgrade. When the token expires the server closes the
//!   connection with code [`CLOSE_TOKEN_EXPIRED`] (4401); when it stops, with 1001; a client too slow to keep
//!   up is closed with 1013 (reconnect and backfill). Messages:
//!   - `{"type": "new_report", "report": R}`
//!   - `{"type": "report_assigned", "report": R}`
//!   - `{"type": "report_updated", "report": R, "change": "status" | "priority" | "note" | "acknowledged"}`
//! - `GET /api/reports?since=SEQ` (`Authorization: Bearer T`) → `{"reports": [R...], "latest_seq": N}`: every
//!   report the user sees whose last change has `seq > since` (default 0), oldest change first. Poll with the
//!   returned `latest_seq` as the next `since`.
//! - `POST /api/reports` (Bearer) `{"category", "description", "priority", "location", "station_id"}` → 201 R
//!   and a `new_report`. Only `category` is required; `priority` defaults to `normal`, `station_id` to the
//!   officer's station.
//! - `POST /api/reports/{id}/assign` (Bearer) `{"assigned_to": USER_ID}` → 200 R and a `report_assigned`.
//! - `POST /api/reports/{id}/acknowledge` (Bearer) → 200 `{"id", "acknowledged_by", "acknowledged_at"}` and a
//!   `report_updated` with change `acknowledged`; acknowledging again returns the first acknowledgement and
//!   sends nothing.
//! - `POST /api/reports/{id}/status` (Bearer) `{"status": "en_route" | "on_scene" | "unable" | "closed",
//!   "note": optional, at most 200 characters}` → 200 R (with `status_by` and `status_at`) and a
//!   `report_updated` with change `status`. `unable` puts the report back to `new` and unassigns it (unless
//!   it is assigned to someone else, whose assignment and status stay) and sets its note to `Unable: NAME`
//!   (`: NOTE` when a note is given); the others set the status (and the note, when given). The same
//!   response again (same user, status and note) while nothing has moved the report's status or assignment
//!   returns R unchanged and sends nothing. 400 for an unknown status or a bad body; 409 `report N is
//!   closed` for anything but `closed` on a closed report.
//!
//! Reports a user does not see are 404 for assign, acknowledge and status. A report R is `{"id", "seq",
//! "category", "description", "priority": "low" | "normal" | "high" | "critical", "location", "station_id",
//! "status": "new" | "assigned" | "en_route" | "on_scene" | "closed", "assigned_to", "note", "created_at",
//! "updated_at", "acknowledged_by", "acknowledged_at", "status_by", "status_at"}` (the last two null until
//! someone gives a status response). `seq` is the global change counter: every change to any report takes
//! the next number, so the feed and the list agree on order.
//!
//! # Layout
//!
//! - `model`: users ([`USERS`]), reports ([`Report`]), the store that numbers and publishes every change, and
//!   sessions.
//! - `api`: the HTTP routes and the WebSocket upgrade (axum).
//! - `feed`: one WebSocket connection: station filter, token expiry, clean close.
//! - `sim`: the simulator: categories, places and the weighted mix of new reports, assignments and updates.
//! - this file: [`DemoConfig`], [`start`] and [`DemoServer`], which tie them together and stop them.

#![warn(missing_docs)]

mod api;
mod feed;
mod model;
mod sim;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

pub use feed::CLOSE_TOKEN_EXPIRED;
pub use model::{Priority, Report, Role, Status, User, USERS};

use model::{Published, Sessions, Store};

/// The port `alertdesk demo` uses by default, and the demo profile's `default_server`.
pub const DEFAULT_PORT: u16 = 8765;

/// The longest token lifetime honoured; longer ones are cut to it (keeps expiry arithmetic in range).
const MAX_TOKEN_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// How long [`DemoServer::shutdown`] waits for connections to close before dropping them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Messages kept for a feed client that is behind; one further behind is closed and backfills.
const FEED_BUFFER: usize = 1024;

/// How to run the demo.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Simulated changes per minute; 0 turns the simulator off.
    pub rate_per_min: f64,
    /// How long a login token works.
    pub token_ttl: Duration,
    /// Makes the simulator repeat the same changes on every run.
    pub seed: Option<u64>,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            port: 0,
            rate_per_min: 6.0,
            token_ttl: Duration::from_secs(12 * 3600),
            seed: None,
        }
    }
}

/// What the routes, feed connections and simulator share.
pub(crate) struct Shared {
    pub(crate) store: Mutex<Store>,
    pub(crate) sessions: Mutex<Sessions>,
    pub(crate) feed: broadcast::Sender<Arc<Published>>,
    pub(crate) token_ttl: Duration,
    /// Becomes true when the server stops.
    pub(crate) stopping: watch::Receiver<bool>,
    /// Each feed connection holds a clone; shutdown waits until all are dropped.
    pub(crate) feeds_alive: mpsc::Sender<()>,
}

/// A running demo server. Dropping it stops it too, without waiting.
#[derive(Debug)]
pub struct DemoServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    simulator: Option<JoinHandle<()>>,
    feeds_done: mpsc::Receiver<()>,
}

/// Starts the demo on 127.0.0.1 and returns once it accepts connections. Must be called inside a Tokio
/// runtime; the server runs on it until [`DemoServer::shutdown`] (or until the `DemoServer` is dropped).
///
/// Fails when the port is taken (`ErrorKind::AddrInUse`) or the rate is negative or not a number
/// (`ErrorKind::InvalidInput`).
pub async fn start(config: DemoConfig) -> std::io::Result<DemoServer> {
    if !(config.rate_per_min.is_finite() && config.rate_per_min >= 0.0) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "rate must be a number of events per minute >= 0, not {}",
                config.rate_per_min
            ),
        ));
    }
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
    let addr = listener.local_addr()?;
    let (stop, stopping) = watch::channel(false);
    let (feed, _) = broadcast::channel(FEED_BUFFER);
    let (feeds_alive, feeds_done) = mpsc::channel(1);
    let shared = Arc::new(Shared {
        store: Mutex::new(Store::new(feed.clone())),
        sessions: Mutex::new(Sessions::default()),
        feed,
        token_ttl: config.token_ttl.min(MAX_TOKEN_TTL),
        stopping: stopping.clone(),
        feeds_alive,
    });
    let simulator = (config.rate_per_min > 0.0).then(|| {
        tokio::spawn(simulate(
            Arc::clone(&shared),
            sim::Simulator::new(config.seed),
            config.rate_per_min,
        ))
    });
    let app = api::router(shared);
    let server = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(stopped(stopping))
            .await;
        if let Err(e) = served {
            tracing::error!("demo server failed: {e}");
        }
    });
    tracing::info!(%addr, rate_per_min = config.rate_per_min, "demo backend started");
    Ok(DemoServer {
        addr,
        stop,
        server,
        simulator,
        feeds_done,
    })
}

impl DemoServer {
    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes every feed connection with code 1001, stops the simulator and waits (a few
    /// seconds at most) for all of it.
    pub async fn shutdown(self) {
        let Self {
            stop,
            mut server,
            simulator,
            mut feeds_done,
            ..
        } = self;
        let _ = stop.send(true);
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        if let Some(simulator) = simulator {
            let _ = simulator.await;
        }
        if tokio::time::timeout_at(deadline, &mut server)
            .await
            .is_err()
        {
            tracing::warn!(
                "demo server still busy after {SHUTDOWN_GRACE:?}; dropping its connections"
            );
            server.abort();
        }
        // Every feed connection holds a sender; recv() ends when the last one is gone.
        let _ = tokio::time::timeout_at(deadline, feeds_done.recv()).await;
        tracing::info!("demo backend stopped");
    }
}

/// Resolves once `stopping` turns true or its sender is gone (the [`DemoServer`] was dropped).
pub(crate) async fn stopped(mut stopping: watch::Receiver<bool>) {
    while !*stopping.borrow_and_update() {
        if stopping.changed().await.is_err() {
            return;
        }
    }
}

/// Locks a mutex; a panic elsewhere while it was held leaves data that is still usable for a demo.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The simulator task: one change after each pause, until the server stops.
async fn simulate(shared: Arc<Shared>, mut simulator: sim::Simulator, rate_per_min: f64) {
    // The first change comes soon, so whoever just started the demo sees something happen.
    let mut pause = simulator.pause(rate_per_min).min(Duration::from_secs(2));
    loop {
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = stopped(shared.stopping.clone()) => return,
        }
        simulator.step(&mut lock(&shared.store));
        pause = simulator.pause(rate_per_min);
    }
}
