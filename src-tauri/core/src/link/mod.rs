//! One server's link: from the wire to a stream of [`Update`]s, knowing nothing of windows, terminals or
//! storage.
//!
//! - [`protocol`]: the wire protocols behind one `Transport` trait (raw JSON WebSocket, Socket.IO).
//! - [`spec`]: what to open: the profile, server, variables and token made into a [`protocol::LinkSpec`].
//! - [`supervisor`]: the state machine: connect, reconnect with [`backoff`], poll while the socket is down,
//!   stop on rejected credentials or on request.
//! - [`events`]: a live message made into alerts by the profile's rules (with REST fetches where they say).
//! - [`catchup`]: what was missed: the profile's lists fetched from typed [`cursor::Cursors`] after every
//!   reconnect, and polled while the socket cannot be established.
//! - [`seen`]: the records a list-fetching rule already saw, bounded for a shift-long link.
//! - [`rest`]: the REST client every fetch uses (the profile's auth header, list answers in common shapes).
//! - [`base`]: where the server keeps its REST API, found on first contact when the user did not say.
//! - [`net`]: the one TLS configuration (OS trust store, extra CAs, client certificate) and proxy route every
//!   connection takes.
//! - [`http`]: the one HTTP client (redirects only within the origin) and reading answers within a size cap.
//! - [`auth`]: the login and refresh requests and the token stores (the OS keyring, the only place tokens are
//!   kept).
//! - [`session`]: how long a sign-in lasts (a JWT's `exp`, `expires_in`) and when to renew it or warn.
//! - [`writeback`]: telling the server an alert was acknowledged, where the profile says how.
//! - [`wake`]: notices a wake from sleep or a network change, so links reconnect at once.
//! - [`probe`]: what a server really speaks, held against a profile (`alertdesk profile probe`).

pub mod auth;
pub mod backoff;
pub mod base;
pub mod catchup;
pub mod cursor;
pub mod events;
pub mod http;
pub mod net;
pub mod probe;
pub mod protocol;
pub mod rest;
pub mod seen;
pub mod session;
pub mod spec;
pub mod supervisor;
pub mod wake;
pub mod writeback;

#[cfg(test)]
pub(crate) mod test_http;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::domain::{Alert, Server, ServerId, Timestamp, Token};
use crate::profile::Profile;
pub use cursor::Cursors;
pub use supervisor::Supervisor;

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
    /// Where the lists resume, as stored after the last run ([`Update::Cursor`]).
    pub cursor: Option<Cursors>,
    /// Look for the REST base path on first contact (the profile has `api_base` and the user did not set it).
    pub discover_base: bool,
    /// How to reach it: TLS and proxies.
    pub net: net::Net,
}

impl Target {
    /// Whether the link should look for the REST base: the profile has an `api_base` variable and `set` (what
    /// the user gave) does not fix it.
    pub fn discovers_base(profile: &Profile, set: &BTreeMap<String, String>) -> bool {
        profile.variables.contains_key(base::VARIABLE) && !set.contains_key(base::VARIABLE)
    }
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

impl LinkState {
    /// Down in a way that may lose alerts (connecting again, or refused): not live and not polling.
    pub fn is_down(&self) -> bool {
        matches!(self, Self::Reconnecting { .. } | Self::AuthFailed { .. })
    }
}

/// What a link reports.
#[derive(Debug, Clone)]
pub enum Update {
    /// The link changed state.
    State(LinkState),
    /// An alert arrived (live, or fetched by backfill or polling: see its `source`).
    Alert(Box<Alert>),
    /// Records that existed before the first connection: history to keep, not news to announce.
    Baseline(Vec<Alert>),
    /// Where the lists resume next time; store it and pass it back in [`Target::cursor`].
    Cursor(Cursors),
    /// The link was down from `from` to `to` and the backend cannot tell what was missed.
    Gap {
        /// When the link went down (or, when a list failed at first contact, when that was).
        from: Timestamp,
        /// When it came back.
        to: Timestamp,
        /// Why nothing could be caught up: no list to catch up from, or which list failed and how.
        reason: String,
    },
    /// The profile does not fit what the server answers (a record that cannot be fetched, a list fetch that
    /// failed, events that carry no id): alerts arrive without what they should carry, or not at all. Said,
    /// never silent.
    Problem(String),
}

/// How a link ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Asked to stop (or nobody listens any more).
    Stopped,
    /// The server refused the credentials.
    AuthFailed(String),
}

/// Nobody listens to a link's updates any more: it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Abandoned;

/// Where a link's updates go: one channel shared by every link, each update tagged with its server.
#[derive(Debug, Clone)]
pub struct Reporter {
    server: ServerId,
    out: mpsc::Sender<(ServerId, Update)>,
}

impl Reporter {
    /// Reports `server`'s updates into `out`.
    pub fn new(server: ServerId, out: mpsc::Sender<(ServerId, Update)>) -> Self {
        Self { server, out }
    }

    /// Sends one update, waiting while the channel is full (the consumer sets the pace).
    pub async fn send(&self, update: Update) -> Result<(), Abandoned> {
        self.out
            .send((self.server.clone(), update))
            .await
            .map_err(|_| Abandoned)
    }

    /// The server whose updates these are.
    pub fn server(&self) -> &ServerId {
        &self.server
    }
}
