//! Reading the history: alerts as stored, their trails, unread counts and gaps.

use std::collections::BTreeMap;

use rusqlite::types::{Type, Value as SqlValue};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

use super::outbox::{responses_of, timeline, Moment, Response};
use super::Store;
use super::StoreError;
use crate::domain::{Alert, AlertFields, Kind, Priority, ServerId, Source, Stated, Timestamp};

/// Where an alert stands in the history, beside its latest version.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct Life {
    /// When the first version arrived.
    pub first_received_at: Timestamp,
    /// When the user was first told (a notification of its own or in a burst's summary); `None`: never.
    pub notified_at: Option<Timestamp>,
    /// When it was marked read; `None` while unread.
    pub read_at: Option<Timestamp>,
    /// When it was acknowledged (or responded to).
    pub acknowledged_at: Option<Timestamp>,
    /// How many updates merged into it (the trail may hold fewer once retention trimmed it).
    #[ts(type = "number")]
    pub update_count: u64,
    /// The responses sent (or being sent) to the server for it, oldest first.
    pub responses: Vec<Response>,
}

/// An alert as stored: its latest version and where it stands. Serializes flat, for `history --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredAlert {
    /// The server it came from (part of its key).
    pub server: ServerId,
    /// The latest version (its `received_at` is when that version arrived).
    #[serde(flatten)]
    pub alert: Alert,
    /// Read, acknowledged, times.
    #[serde(flatten)]
    pub life: Life,
    /// Its times in order, with the latency between each and the one before.
    pub timeline: Vec<Moment>,
}

/// A version of an alert that a later update replaced (one entry of the trail, as the detail pane shows it).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct TrailEntry {
    /// When this version arrived.
    pub received_at: Timestamp,
    /// When the next version replaced it.
    pub replaced_at: Timestamp,
    /// How this version arrived.
    pub source: Source,
    /// Its backend event name.
    pub event: String,
    /// What it said.
    #[serde(flatten)]
    pub fields: AlertFields,
    /// Its status.
    pub status: Option<String>,
    /// Its payload (kept in the history, not sent to the UI).
    #[serde(skip)]
    pub data: Value,
}

/// A time a server's link was down and the backend could not tell what was missed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// Its id.
    pub id: i64,
    /// The server.
    pub server: ServerId,
    /// When the link went down.
    pub from: Timestamp,
    /// When it was back; `None` while it is still down.
    pub to: Option<Timestamp>,
    /// Why, for the user.
    pub note: String,
}

/// What [`Store::list`] returns. The default lists everything, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Only this server's alerts.
    pub server: Option<ServerId>,
    /// Only this profile's alerts.
    pub profile: Option<String>,
    /// Only unread alerts.
    pub unread_only: bool,
    /// Only alerts received (or last updated) at or after this time.
    pub since: Option<Timestamp>,
    /// At most this many.
    pub limit: Option<usize>,
    /// Only these kinds (empty: all).
    pub kinds: Vec<Kind>,
    /// Only this priority and above.
    pub min_priority: Option<Priority>,
    /// Only this id.
    pub id: Option<String>,
}

pub(super) const ALERT_COLUMNS: &str = "server, id, profile, kind, event, title, body, priority, assigned_to_me, \
     notify, source, first_received_at, received_at, server_time, read_at, acknowledged_at, data, update_count, \
     status, notified_at";

impl Store {
    /// The alerts `query` selects, newest (last received or updated) first.
    pub fn list(&self, query: &Query) -> Result<Vec<StoredAlert>, StoreError> {
        self.read(|conn| {
            let mut sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE 1 = 1");
            let mut args: Vec<SqlValue> = Vec::new();
            let mut text = |sql: &mut String, clause: &str, value: &str| {
                sql.push_str(clause);
                args.push(SqlValue::Text(value.to_owned()));
            };
            if let Some(server) = &query.server {
                text(&mut sql, " AND server = ?", server.as_str());
            }
            if let Some(profile) = &query.profile {
                text(&mut sql, " AND profile = ?", profile);
            }
            if let Some(id) = &query.id {
                text(&mut sql, " AND id = ?", id);
            }
            if let Some(since) = &query.since {
                text(&mut sql, " AND received_at >= ?", &since.to_rfc3339());
            }
            if query.unread_only {
                sql.push_str(" AND read_at IS NULL");
            }
            if !query.kinds.is_empty() {
                push_in(
                    &mut sql,
                    &mut args,
                    "kind",
                    query.kinds.iter().map(|k| k.as_str()),
                );
            }
            if let Some(min) = query.min_priority {
                let allowed = [
                    Priority::Low,
                    Priority::Normal,
                    Priority::High,
                    Priority::Critical,
                ];
                push_in(
                    &mut sql,
                    &mut args,
                    "priority",
                    allowed.iter().filter(|p| **p >= min).map(|p| p.as_str()),
                );
            }
            sql.push_str(" ORDER BY received_at DESC, rowid DESC LIMIT ?");
            let limit = query
                .limit
                .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
            args.push(SqlValue::Integer(limit));
            let mut statement = conn.prepare(&sql)?;
            let rows = statement.query_map(params_from_iter(args), stored_alert)?;
            let mut alerts = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            attach_responses(conn, &mut alerts)?;
            Ok(alerts)
        })
    }

    /// One alert.
    pub fn get(&self, server: &ServerId, id: &str) -> Result<Option<StoredAlert>, StoreError> {
        self.read(|conn| {
            let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE server = ?1 AND id = ?2");
            let found = conn
                .prepare_cached(&sql)?
                .query_row(params![server, id], stored_alert)
                .optional()?;
            let mut found: Vec<_> = found.into_iter().collect();
            attach_responses(conn, &mut found)?;
            Ok(found.pop())
        })
    }

    /// The versions an alert had before its current one, oldest first (empty for an unknown alert).
    pub fn trail(&self, server: &ServerId, id: &str) -> Result<Vec<TrailEntry>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT received_at, replaced_at, source, kind, event, title, body, priority, assigned_to_me, \
                 data, status FROM alert_updates WHERE server = ?1 AND id = ?2 ORDER BY seq",
            )?;
            let rows = statement.query_map(params![server, id], |row| {
                Ok(TrailEntry {
                    received_at: row.get(0)?,
                    replaced_at: row.get(1)?,
                    source: named(row, 2)?,
                    event: row.get(4)?,
                    fields: fields_at(row, 3)?,
                    status: row.get(10)?,
                    data: json(row, 9)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Unread alerts per server (servers with none are left out).
    pub fn unread_counts(&self) -> Result<BTreeMap<ServerId, u64>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT server, COUNT(*) FROM alerts WHERE read_at IS NULL GROUP BY server",
            )?;
            let rows = statement.query_map([], |row| {
                Ok((row.get::<_, ServerId>(0)?, to_u64(row.get::<_, i64>(1)?)))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// The gaps (of one server, or of all), newest first.
    pub fn gaps(&self, server: Option<&ServerId>) -> Result<Vec<Gap>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT gap_id, server, from_ts, to_ts, note FROM gaps WHERE ?1 IS NULL OR server = ?1 \
                 ORDER BY from_ts DESC, gap_id DESC",
            )?;
            let rows = statement.query_map(params![server], |row| {
                Ok(Gap {
                    id: row.get(0)?,
                    server: row.get(1)?,
                    from: row.get(2)?,
                    to: row.get(3)?,
                    note: row.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}

fn stored_alert(row: &Row<'_>) -> rusqlite::Result<StoredAlert> {
    stored_alert_at(row, 0)
}

/// An alert from the [`ALERT_COLUMNS`] starting at column `at` (without its responses and timeline).
pub(super) fn stored_alert_at(row: &Row<'_>, at: usize) -> rusqlite::Result<StoredAlert> {
    Ok(StoredAlert {
        server: row.get(at)?,
        alert: Alert {
            id: row.get(at + 1)?,
            profile: row.get(at + 2)?,
            event: row.get(at + 4)?,
            fields: fields_at(row, at + 3)?,
            notify: row.get(at + 9)?,
            source: named(row, at + 10)?,
            received_at: row.get(at + 12)?,
            status: row.get(at + 18)?,
            server_time: row.get(at + 13)?,
            data: json(row, at + 16)?,
            stated: Stated::ALL,
        },
        life: Life {
            first_received_at: row.get(at + 11)?,
            notified_at: row.get(at + 19)?,
            read_at: row.get(at + 14)?,
            acknowledged_at: row.get(at + 15)?,
            update_count: to_u64(row.get::<_, i64>(at + 17)?),
            responses: Vec::new(),
        },
        timeline: Vec::new(),
    })
}

/// Fills in each alert's responses (one query for the lot) and then its timeline.
fn attach_responses(conn: &Connection, alerts: &mut [StoredAlert]) -> rusqlite::Result<()> {
    if alerts.is_empty() {
        return Ok(());
    }
    let mut by_key = responses_of(conn, (alerts.len() == 1).then(|| &alerts[0]))?;
    for stored in alerts {
        if let Some(responses) = by_key.remove(&(stored.server.clone(), stored.alert.id.clone())) {
            stored.life.responses = responses;
        }
        stored.timeline = timeline(&stored.alert, &stored.life);
    }
    Ok(())
}

/// Fills in each alert's responses and timeline, one indexed query per alert (for a page of the list, where reading
/// the whole outbox as [`attach_responses`] does for a long list would cost more).
pub(super) fn attach_each(
    conn: &Connection,
    alerts: &mut [&mut StoredAlert],
) -> rusqlite::Result<()> {
    for stored in alerts.iter_mut() {
        let mut by_key = responses_of(conn, Some(stored))?;
        if let Some(responses) = by_key.remove(&(stored.server.clone(), stored.alert.id.clone())) {
            stored.life.responses = responses;
        }
        stored.timeline = timeline(&stored.alert, &stored.life);
    }
    Ok(())
}

/// An alert's fields from the columns `kind, event, title, body, priority, assigned_to_me` at `start` (every
/// query that reads them lists them in this order).
pub(super) fn fields_at(row: &Row<'_>, start: usize) -> rusqlite::Result<AlertFields> {
    Ok(AlertFields {
        kind: named(row, start)?,
        title: row.get(start + 2)?,
        body: row.get(start + 3)?,
        priority: named(row, start + 4)?,
        assigned_to_me: row.get(start + 5)?,
    })
}

/// A kind, priority or source from its stored lowercase name.
pub(super) fn named<T: DeserializeOwned>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    serde_json::from_value(Value::String(text))
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e)))
}

fn json(row: &Row<'_>, index: usize) -> rusqlite::Result<Value> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e)))
}

/// Appends ` AND column IN (?, ...)`.
fn push_in<'a>(
    sql: &mut String,
    args: &mut Vec<SqlValue>,
    column: &str,
    values: impl Iterator<Item = &'a str>,
) {
    let before = args.len();
    args.extend(values.map(|v| SqlValue::Text(v.to_owned())));
    let marks = vec!["?"; args.len() - before].join(", ");
    for part in [" AND ", column, " IN (", &marks, ")"] {
        sql.push_str(part);
    }
}

pub(super) fn to_u64<N: TryInto<u64>>(n: N) -> u64 {
    n.try_into().unwrap_or(0)
}
