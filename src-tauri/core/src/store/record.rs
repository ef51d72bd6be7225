//! Recording one alert: a new row, a duplicate that writes nothing, or an update that moves the current version
//! to the trail and says what changed.
//!
//! # Updates are partial
//!
//! A rule states what its event knows ([`Stated`]); the merge keeps the rest from the record's current version.
//! An update that names no owner keeps "assigned to me", one without a priority keeps the priority, one without
//! text of its own keeps the title and body, one without a status keeps the status, and a generic `update`
//! keeps the record's kind (a report stays a report, an assignment an assignment). The alert is rewritten to the
//! merged version, so everything after the history (the policy, the views, `listen --json`) sees what is stored.

use rusqlite::{params, Connection};
use serde_json::Value;

use super::error::Fail;
use super::query::{fields_at, named};
use crate::domain::{Alert, AlertFields, Kind, Priority, ServerId, Source, Stated, Timestamp};

/// What recording an alert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// A new alert.
    New,
    /// Already known with the same content; nothing was written.
    Duplicate,
    /// Known with different content; merged into the existing alert.
    Updated(Change),
}

/// How an update changed an alert (for the notification policy).
// Independent facts about one update, each a yes or no: not a state machine in disguise.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The kind before.
    pub previous_kind: Kind,
    /// The kind now.
    pub kind: Kind,
    /// The priority before.
    pub previous_priority: Priority,
    /// The priority now.
    pub priority: Priority,
    /// The status before (as the profile names it).
    pub previous_status: Option<String>,
    /// The status now.
    pub status: Option<String>,
    /// It is assigned to the signed-in user now and was not before.
    pub became_assigned_to_me: bool,
    /// It was assigned to the signed-in user and is not any more.
    pub unassigned_from_me: bool,
    /// The title changed.
    pub title_changed: bool,
    /// The body changed.
    pub body_changed: bool,
    /// The payload changed.
    pub data_changed: bool,
    /// It was read and is unread again (the priority rose or it became assigned to me, and it is not closed).
    pub marked_unread: bool,
    /// How many updates the alert has had, this one included.
    pub update_count: u64,
}

impl Change {
    /// Whether the priority went up.
    pub fn priority_raised(&self) -> bool {
        self.priority > self.previous_priority
    }

    /// Whether the status is different now (compared without regard to case).
    pub fn status_changed(&self) -> bool {
        match (&self.previous_status, &self.status) {
            (Some(a), Some(b)) => !a.eq_ignore_ascii_case(b),
            (a, b) => a.is_some() != b.is_some(),
        }
    }
}

/// The stored version that decides whether an incoming one changed anything.
struct Current {
    fields: AlertFields,
    event: String,
    status: Option<String>,
    server_time: Option<Timestamp>,
    data: String,
    received_at: Timestamp,
    source: Source,
    read: bool,
    update_count: i64,
}

/// Records one alert from `server` inside the caller's transaction. A known record's alert is rewritten to its
/// merged version (see the module docs). `closing` are the statuses that close a record (an update to a closed
/// record never marks it unread).
pub(super) fn record_in(
    tx: &Connection,
    server: &ServerId,
    alert: &mut Alert,
    closing: &[String],
) -> Result<Recorded, Fail> {
    let data = alert.data.to_string();
    // Most alerts are new: inserted at once, and looked up only when the server already sent that id.
    if insert(tx, server, alert, &data)? {
        return Ok(Recorded::New);
    }
    let current = tx
        .prepare_cached(
            "SELECT kind, event, title, body, priority, assigned_to_me, data, received_at, source, \
             read_at IS NOT NULL, update_count, status, server_time FROM alerts WHERE server = ?1 AND id = ?2",
        )?
        .query_row(params![server, alert.id], |row| {
            Ok(Current {
                fields: fields_at(row, 0)?,
                event: row.get(1)?,
                data: row.get(6)?,
                received_at: row.get(7)?,
                source: named(row, 8)?,
                read: row.get(9)?,
                update_count: row.get(10)?,
                status: row.get(11)?,
                server_time: row.get(12)?,
            })
        })?;
    let event_time = alert.server_time;
    let old = merge_into(alert, &current);
    if replays(alert, &current, event_time) {
        return Ok(Recorded::Duplicate);
    }
    update(tx, server, alert, &data, &current, &old, closing)
}

/// Inserts `alert` unless its server already sent its id: whether it was new.
fn insert(tx: &Connection, server: &ServerId, alert: &Alert, data: &str) -> Result<bool, Fail> {
    let fields = &alert.fields;
    let inserted = tx.prepare_cached(
        "INSERT INTO alerts (server, id, profile, kind, event, title, body, priority, assigned_to_me, \
         notify, source, first_received_at, received_at, server_time, data, status) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?14, ?15) \
         ON CONFLICT (server, id) DO NOTHING",
    )?
    .execute(params![
        server,
        alert.id,
        alert.profile,
        fields.kind.as_str(),
        alert.event,
        fields.title,
        fields.body,
        fields.priority.as_str(),
        fields.assigned_to_me,
        alert.notify,
        alert.source.as_str(),
        alert.received_at,
        alert.server_time,
        data,
        alert.status,
    ])?;
    Ok(inserted == 1)
}

/// How long after a catch-up a live event older than the record it brought counts as stale: the events the
/// server sent while the lists were read arrive after them.
const STALE_AFTER_CATCH_UP: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// Whether `alert` brings nothing the history does not have, by the backend's own time for it (only when its
/// event states one):
/// - the same version worded differently: the same record caught up again (in the list's shape, which another
///   rule may title differently from the live event) or the same live event delivered twice. It must state the
///   same time and change nothing that matters (status, priority, owner), so a server whose records carry only
///   a creation time never loses a change by it;
/// - a stale live event: sent while the lists were read, it arrives after the catch-up brought a newer version
///   of its record.
fn replays(alert: &Alert, current: &Current, event_time: Option<Timestamp>) -> bool {
    let (Some(event_time), Some(stored_time)) = (event_time, current.server_time) else {
        return false;
    };
    if alert.source == Source::Live
        && current.source != Source::Live
        && event_time < stored_time
        && alert.received_at.since(current.received_at) <= STALE_AFTER_CATCH_UP
    {
        return true;
    }
    let same_status = match (&current.status, &alert.status) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (a, b) => a.is_none() && b.is_none(),
    };
    let (old, new) = (&current.fields, &alert.fields);
    if event_time != stored_time
        || !same_status
        || old.priority != new.priority
        || old.assigned_to_me != new.assigned_to_me
    {
        return false;
    }
    alert.source != Source::Live
        || serde_json::from_str::<Value>(&current.data).is_ok_and(|d| d == alert.data)
}

/// Fills what `alert`'s event did not state from the record's current version; returns that version's fields.
fn merge_into(alert: &mut Alert, current: &Current) -> AlertFields {
    let old = current.fields.clone();
    let Stated {
        title,
        body,
        priority,
        assigned_to_me,
    } = alert.stated;
    let new = &mut alert.fields;
    if new.kind == Kind::Update {
        new.kind = old.kind;
    }
    if !title {
        new.title.clone_from(&old.title);
    }
    if !body {
        new.body.clone_from(&old.body);
    }
    if !priority {
        new.priority = old.priority;
    }
    if !assigned_to_me {
        new.assigned_to_me = old.assigned_to_me;
    }
    if alert.status.is_none() {
        alert.status.clone_from(&current.status);
    }
    if alert.server_time.is_none() {
        alert.server_time = current.server_time;
    }
    alert.stated = Stated::ALL;
    old
}

/// A known alert, merged: a duplicate, or an update that moves the current version to the trail.
fn update(
    tx: &Connection,
    server: &ServerId,
    alert: &Alert,
    data: &str,
    current: &Current,
    old: &AlertFields,
    closing: &[String],
) -> Result<Recorded, Fail> {
    let new = &alert.fields;
    // Compared as JSON values: the same payload may come back with its keys in another order.
    let data_changed =
        serde_json::from_str::<Value>(&current.data).map_or(true, |d| d != alert.data);
    let status_same = match (&current.status, &alert.status) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (a, b) => a.is_none() && b.is_none(),
    };
    // A record caught up from a list comes in the list's shape, not the live event's: it is news only when what
    // it says changed, and never when it was closed and still is (a closed record stays quiet).
    let caught_up = alert.source != Source::Live;
    let closes = |status: &Option<String>| {
        status
            .as_deref()
            .is_some_and(|s| crate::config::settings::closes(closing, s))
    };
    let still_closed = closes(&current.status) && closes(&alert.status);
    if (old == new && status_same && (!data_changed || caught_up)) || (caught_up && still_closed) {
        return Ok(Recorded::Duplicate);
    }
    tx.prepare_cached(
        "INSERT INTO alert_updates (server, id, received_at, replaced_at, source, kind, event, title, body, \
         priority, assigned_to_me, data, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        server,
        alert.id,
        current.received_at,
        alert.received_at,
        current.source.as_str(),
        old.kind.as_str(),
        current.event,
        old.title,
        old.body,
        old.priority.as_str(),
        old.assigned_to_me,
        current.data,
        current.status,
    ])?;
    let became_assigned_to_me = new.assigned_to_me && !old.assigned_to_me;
    let is_closed = alert
        .status
        .as_deref()
        .is_some_and(|s| crate::config::settings::closes(closing, s));
    let marked_unread =
        current.read && !is_closed && (new.priority > old.priority || became_assigned_to_me);
    let update_count = current.update_count + 1;
    tx.prepare_cached(
        "UPDATE alerts SET profile = ?3, kind = ?4, event = ?5, title = ?6, body = ?7, priority = ?8, \
         assigned_to_me = ?9, notify = ?10, source = ?11, received_at = ?12, server_time = ?13, data = ?14, \
         update_count = ?15, read_at = CASE WHEN ?16 THEN NULL ELSE read_at END, status = ?17 \
         WHERE server = ?1 AND id = ?2",
    )?
    .execute(params![
        server,
        alert.id,
        alert.profile,
        new.kind.as_str(),
        alert.event,
        new.title,
        new.body,
        new.priority.as_str(),
        new.assigned_to_me,
        alert.notify,
        alert.source.as_str(),
        alert.received_at,
        alert.server_time,
        data,
        update_count,
        marked_unread,
        alert.status,
    ])?;
    Ok(Recorded::Updated(Change {
        previous_kind: old.kind,
        kind: new.kind,
        previous_priority: old.priority,
        priority: new.priority,
        previous_status: current.status.clone(),
        status: alert.status.clone(),
        became_assigned_to_me,
        unassigned_from_me: old.assigned_to_me && !new.assigned_to_me,
        title_changed: old.title != new.title,
        body_changed: old.body != new.body,
        data_changed,
        marked_unread,
        update_count: u64::try_from(update_count).unwrap_or(0),
    }))
}
