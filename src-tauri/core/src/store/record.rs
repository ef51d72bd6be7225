//! Recording one alert: a new row, a duplicate that writes nothing, or an update that moves the current version
//! to the trail and says what changed.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use super::error::Fail;
use super::query::{fields_at, named};
use crate::domain::{Alert, AlertFields, Kind, Priority, ServerId, Source, Timestamp};

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
    /// It was read and is unread again (the priority rose or it became assigned to me).
    pub marked_unread: bool,
    /// How many updates the alert has had, this one included.
    pub update_count: u64,
}

impl Change {
    /// Whether the priority went up.
    pub fn priority_raised(&self) -> bool {
        self.priority > self.previous_priority
    }
}

/// The stored version that decides whether an incoming one changed anything.
struct Current {
    fields: AlertFields,
    event: String,
    data: String,
    received_at: Timestamp,
    source: Source,
    read: bool,
    update_count: i64,
}

/// Records one alert from `server` inside the caller's transaction.
pub(super) fn record_in(
    tx: &Connection,
    server: &ServerId,
    alert: &Alert,
) -> Result<Recorded, Fail> {
    let current = tx
        .prepare_cached(
            "SELECT kind, event, title, body, priority, assigned_to_me, data, received_at, source, \
             read_at IS NOT NULL, update_count FROM alerts WHERE server = ?1 AND id = ?2",
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
            })
        })
        .optional()?;
    let data = alert.data.to_string();
    match current {
        None => insert(tx, server, alert, &data),
        Some(current) => merge(tx, server, alert, &data, &current),
    }
}

fn insert(tx: &Connection, server: &ServerId, alert: &Alert, data: &str) -> Result<Recorded, Fail> {
    let fields = &alert.fields;
    tx.prepare_cached(
        "INSERT INTO alerts (server, id, profile, kind, event, title, body, priority, assigned_to_me, \
         notify, source, first_received_at, received_at, server_time, data) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?14)",
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
        server_time(&alert.data),
        data,
    ])?;
    Ok(Recorded::New)
}

/// A known alert: a duplicate, or an update that moves the current version to the trail.
fn merge(
    tx: &Connection,
    server: &ServerId,
    alert: &Alert,
    data: &str,
    current: &Current,
) -> Result<Recorded, Fail> {
    let (old, new) = (&current.fields, &alert.fields);
    // Compared as JSON values: the same payload may come back with its keys in another order.
    let data_changed =
        serde_json::from_str::<Value>(&current.data).map_or(true, |d| d != alert.data);
    // A record caught up from a list comes in the list's shape, not the live event's: it is news only when what
    // it says changed.
    let caught_up = alert.source != Source::Live;
    if old == new && (!data_changed || caught_up) {
        return Ok(Recorded::Duplicate);
    }
    tx.prepare_cached(
        "INSERT INTO alert_updates (server, id, received_at, replaced_at, source, kind, event, title, body, \
         priority, assigned_to_me, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
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
    ])?;
    let became_assigned_to_me = new.assigned_to_me && !old.assigned_to_me;
    let marked_unread = current.read && (new.priority > old.priority || became_assigned_to_me);
    let update_count = current.update_count + 1;
    tx.prepare_cached(
        "UPDATE alerts SET profile = ?3, kind = ?4, event = ?5, title = ?6, body = ?7, priority = ?8, \
         assigned_to_me = ?9, notify = ?10, source = ?11, received_at = ?12, \
         server_time = COALESCE(?13, server_time), data = ?14, update_count = ?15, \
         read_at = CASE WHEN ?16 THEN NULL ELSE read_at END WHERE server = ?1 AND id = ?2",
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
        server_time(&alert.data),
        data,
        update_count,
        marked_unread,
    ])?;
    Ok(Recorded::Updated(Change {
        previous_kind: old.kind,
        kind: new.kind,
        previous_priority: old.priority,
        priority: new.priority,
        became_assigned_to_me,
        unassigned_from_me: old.assigned_to_me && !new.assigned_to_me,
        title_changed: old.title != new.title,
        body_changed: old.body != new.body,
        data_changed,
        marked_unread,
        update_count: u64::try_from(update_count).unwrap_or(0),
    }))
}

/// The backend's own time for the record, when the payload (or its fetched record) has one: the first of
/// `updatedAt`, `updated_at`, `createdAt`, `created_at`, `timestamp`, `time` that holds an RFC 3339 time.
fn server_time(data: &Value) -> Option<Timestamp> {
    const KEYS: [&str; 6] = [
        "updatedAt",
        "updated_at",
        "createdAt",
        "created_at",
        "timestamp",
        "time",
    ];
    [Some(data), data.get("record")]
        .into_iter()
        .flatten()
        .flat_map(|object| KEYS.iter().filter_map(|key| object.get(key)))
        .filter_map(Value::as_str)
        .find_map(|text| Timestamp::parse(text).ok())
}
