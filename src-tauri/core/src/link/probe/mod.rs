//! `alertdesk profile probe` and the sign-in form's "Test connection": what a server really speaks, held against
//! a profile.
//!
//! The probe connects (with a profile: its protocol and path; without one: Socket.IO, then a plain WebSocket at
//! the usual paths), first without a token to learn whether the socket needs one, then with the token it was
//! given. It watches the events for a while and runs each through the profile's rules, saying which rule
//! matched, which template fields were missing, and what the record's fields are; it fetches each of the
//! profile's lists and says what shape the answer has. From that it can write an override profile that
//! `extends` the one probed and fixes what it can ([`write::override_text`]).
//!
//! - [`connect`]: opening the link for the probe, and watching it.
//! - [`examine`]: events and lists held against the profile.
//! - [`write`]: the override profile.

pub mod connect;
pub mod examine;
pub mod write;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use ts_rs::TS;

use super::protocol::Heartbeat;
use crate::domain::{Server, Token};
use crate::profile::Profile;

/// What to probe.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// The server.
    pub server: Server,
    /// The profile to hold the server against, and how it was named (a built-in name or a file), if any.
    pub profile: Option<(Arc<Profile>, String)>,
    /// Variables the user set (`--set`).
    pub set: BTreeMap<String, String>,
    /// The token to try once the server refused a connection without one.
    pub token: Option<Token>,
    /// How long to watch events.
    pub watch: Duration,
    /// Liveness and connect timeouts.
    pub heartbeat: Heartbeat,
    /// TLS and proxies.
    pub net: crate::link::net::Net,
}

/// What the probe found.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ProbeReport {
    /// The server probed.
    pub server: String,
    /// The profile held against it, if any.
    pub profile: Option<String>,
    /// How the connection went.
    pub connection: ConnectionReport,
    /// Where the REST API is, when the profile has `api_base`.
    pub api_base: Option<BaseReport>,
    /// Each event name seen while watching.
    pub events: Vec<EventReport>,
    /// Each of the profile's lists.
    pub lists: Vec<ListReport>,
    /// What to change, in a sentence each (an override written with `--write` does what it can of it).
    pub advice: Vec<String>,
}

/// How connecting went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ConnectionReport {
    /// `socketio` or `websocket`, once one worked.
    pub protocol: Option<String>,
    /// The WebSocket path that worked.
    pub path: Option<String>,
    /// A link came up.
    pub connected: bool,
    /// Whether the socket needs a token: `null` when it could not be told.
    pub auth_needed: Option<bool>,
    /// Whether the token given was accepted (`null`: none given, or not needed).
    pub token_accepted: Option<bool>,
    /// Every attempt, in order: "socketio /socket.io/: refused (Unauthorized)".
    pub attempts: Vec<String>,
}

/// Where the REST API is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct BaseReport {
    /// The base that answers (or the profile's, when none did).
    pub base: String,
    /// The profile's default.
    pub profile_default: String,
    /// A candidate answered.
    pub answered: bool,
}

/// One event name seen while watching.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct EventReport {
    /// The event name.
    pub name: String,
    /// How many times it came.
    pub count: u32,
    /// The profile's rule that matched (its index), if any.
    pub rule: Option<u32>,
    /// What it became: `alert`, `ignored`, `no rule`, `no id`.
    pub outcome: String,
    /// The alert's title, when it became one.
    pub title: Option<String>,
    /// Title and body fields with no value (filled with a summary of the record).
    pub missing: Vec<String>,
    /// Title and body fields with no value that took their fallback.
    pub fell_back: Vec<String>,
    /// The record's field paths with a short sample value, as first seen.
    pub fields: Vec<FieldSample>,
}

/// A field path and a short sample of its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct FieldSample {
    /// `report.station_id`.
    pub path: String,
    /// `4`, `"Bike stolen"` (cut to 40 characters).
    pub sample: String,
}

/// One of the profile's lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ListReport {
    /// `GET /api/reports`.
    pub list: String,
    /// It answered with records where they could be found.
    pub ok: bool,
    /// `HTTP 200`, `HTTP 404 Not Found`, `unreachable: ...`.
    pub status: String,
    /// `a bare list of 3`, `an object with fields: reports, total`.
    pub shape: Option<String>,
    /// The profile's `items` (empty: found by itself).
    pub items: String,
    /// Where the records were (empty: the answer itself), when not where `items` says.
    pub found_at: Option<String>,
    /// How many records.
    #[ts(type = "number")]
    pub records: usize,
    /// The profile's `cursor` field, if it has one.
    pub cursor: Option<String>,
    /// The field the records carry for it (the profile's, or its other spelling), or `null` when none.
    pub cursor_found: Option<String>,
    /// Why it could not be read, if it could not.
    pub error: Option<String>,
    /// The first record's field paths with samples.
    pub fields: Vec<FieldSample>,
}

/// A probe's findings: the report, and the first payload (and fetched record) of each event, which an override
/// is written from.
#[derive(Debug, Clone)]
pub struct Probe {
    /// What was found.
    pub report: ProbeReport,
    /// Per event name: its first payload and the record fetched for it, if any.
    pub samples: BTreeMap<String, (serde_json::Value, Option<serde_json::Value>)>,
}

/// Probes the server (see the module docs).
pub async fn run(options: &ProbeOptions) -> Probe {
    let (connection, seen) = connect::watch(options).await;
    let mut samples = BTreeMap::new();
    let mut report = ProbeReport {
        server: options.server.to_string(),
        profile: options.profile.as_ref().map(|(p, _)| p.name.clone()),
        connection,
        api_base: None,
        events: Vec::new(),
        lists: Vec::new(),
        advice: Vec::new(),
    };
    match &options.profile {
        Some((profile, _)) => {
            let examined = examine::with_profile(options, profile, &seen).await;
            report.api_base = examined.api_base;
            report.events = examined.events;
            report.lists = examined.lists;
            samples = examined.samples;
        }
        None => report.events = examine::without_profile(&seen),
    }
    report.advice = examine::advice(&report, options.profile.as_ref().map(|(p, _)| p.as_ref()));
    Probe { report, samples }
}
