//! The outbox: responses to the server (an acknowledgement, or a status response a profile declares, such as
//! "En route") kept in the history until the server confirms them, so an outage or a restart loses none.
//!
//! A response is queued in the same transaction that acknowledges the alert locally, then sent by whoever runs
//! the engine (`listen` or the desktop app) or once by `alertdesk respond`. Each attempt ends as
//! [`Sent::Confirmed`], [`Sent::Retry`] (the server could not be reached or answered with a temporary error:
//! tried again at the time given) or [`Sent::Failed`] (the server refused it for good, or the request cannot be
//! built). The alert's [`Response`]s and its [timeline](Moment) show where each stands.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::query::{to_u64, Life, StoredAlert, ALERT_COLUMNS};
use super::{resolve, Store, StoreError};
use crate::domain::{Alert, ServerId, Timestamp};

/// The name of the acknowledgement among responses.
pub const ACKNOWLEDGE: &str = "acknowledge";

/// Where a response stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ResponseState {
    /// Not confirmed yet: it is sent (again) at `next_at`.
    Pending,
    /// The server confirmed it.
    Confirmed,
    /// The server refused it for good (or it could not be built); `error` says why.
    Failed,
}

impl ResponseState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "confirmed" => Self::Confirmed,
            "failed" => Self::Failed,
            _ => Self::Pending,
        }
    }
}

/// One response to an alert, as the detail pane and `history --json` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Response {
    /// `acknowledge`, or the profile's name for it (`en_route`).
    pub name: String,
    /// What the user chose ("Acknowledge", "En route").
    pub label: String,
    /// Where it stands.
    pub state: ResponseState,
    /// When the user made it.
    pub made_at: Timestamp,
    /// How many times it was sent.
    pub attempts: u32,
    /// When it is sent next (while pending).
    pub next_at: Option<Timestamp>,
    /// When the server confirmed it, or when it failed for good.
    pub done_at: Option<Timestamp>,
    /// Why the last attempt failed.
    pub error: Option<String>,
}

/// A response due to be sent, with the alert its request is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Its number in the outbox.
    pub seq: i64,
    /// The alert's server.
    pub server: ServerId,
    /// The response's name (`acknowledge`, or the profile's).
    pub name: String,
    /// What the user chose.
    pub label: String,
    /// Attempts so far.
    pub attempts: u32,
    /// The alert, as stored.
    pub alert: Alert,
}

/// How an attempt to send a response ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// The server took it.
    Confirmed,
    /// Not this time: try again at `at`.
    Retry {
        /// When.
        at: Timestamp,
        /// What went wrong.
        error: String,
    },
    /// Never: the server refused it, or it cannot be built.
    Failed {
        /// Why.
        error: String,
    },
}

/// A response queued by [`Store::queue_response`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// The alert's server (found from the id when not given).
    pub server: ServerId,
    /// Its number in the outbox.
    pub seq: i64,
    /// False when the same response was already waiting (it is not queued twice).
    pub fresh: bool,
}

/// What a moment of an alert's timeline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MomentKind {
    /// The backend's own time for the latest version.
    Server,
    /// The first version arrived (shown when there were updates since).
    FirstReceived,
    /// The latest version arrived.
    Received,
    /// The user was first told.
    Notified,
    /// Marked read.
    Read,
    /// Acknowledged.
    Acknowledged,
    /// A response was made (`label` says which).
    Responded,
    /// The server confirmed a response.
    Confirmed,
    /// A response failed for good.
    Failed,
}

/// One time in an alert's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Moment {
    /// What happened.
    pub what: MomentKind,
    /// When.
    pub at: Timestamp,
    /// Which response, for response moments.
    pub label: Option<String>,
    /// Milliseconds since the moment before (`null` for the first). Negative when the server's clock is ahead.
    #[ts(type = "number | null")]
    pub after_ms: Option<i64>,
}

impl Store {
    /// Acknowledges alert `id` locally (and marks it read) and queues response `name` for the server, in one
    /// transaction. The server may be left out as for [`Store::mark_read`]. A response of the same name still
    /// pending is not queued again.
    pub fn queue_response(
        &self,
        server: Option<&ServerId>,
        id: &str,
        name: &str,
        label: &str,
    ) -> Result<Queued, StoreError> {
        self.write(|tx| {
            let server = resolve(tx, server, id)?;
            let now = Timestamp::now();
            tx.prepare_cached(
                "UPDATE alerts SET acknowledged_at = COALESCE(acknowledged_at, ?3), \
                 read_at = COALESCE(read_at, ?3) WHERE server = ?1 AND id = ?2",
            )?
            .execute(params![server, id, now])?;
            let waiting: Option<i64> = tx
                .prepare_cached(
                    "SELECT seq FROM outbox WHERE server = ?1 AND id = ?2 AND name = ?3 AND state = 'pending'",
                )?
                .query_row(params![server, id, name], |row| row.get(0))
                .optional()?;
            if let Some(seq) = waiting {
                return Ok(Queued {
                    server,
                    seq,
                    fresh: false,
                });
            }
            tx.prepare_cached(
                "INSERT INTO outbox (server, id, name, label, state, made_at, next_at) \
                 VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
            )?
            .execute(params![server, id, name, label, now])?;
            Ok(Queued {
                server,
                seq: tx.last_insert_rowid(),
                fresh: true,
            })
        })
    }

    /// The pending responses due at `now`, oldest first, at most `limit`.
    pub fn due_responses(&self, now: Timestamp, limit: usize) -> Result<Vec<Outgoing>, StoreError> {
        self.read(|conn| {
            let columns = ALERT_COLUMNS
                .split(", ")
                .map(|c| format!("a.{}", c.trim()))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT o.seq, o.name, o.label, o.attempts, {columns} FROM outbox o \
                 JOIN alerts a ON a.server = o.server AND a.id = o.id \
                 WHERE o.state = 'pending' AND o.next_at <= ?1 ORDER BY o.next_at, o.seq LIMIT ?2"
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = statement.query_map(params![now, limit], |row| {
                let stored = super::query::stored_alert_at(row, 4)?;
                Ok(Outgoing {
                    seq: row.get(0)?,
                    server: stored.server,
                    name: row.get(1)?,
                    label: row.get(2)?,
                    attempts: row.get(3)?,
                    alert: stored.alert,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// When the next pending response is due (`None`: nothing is waiting).
    pub fn next_response_at(&self) -> Result<Option<Timestamp>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT MIN(next_at) FROM outbox WHERE state = 'pending'")?
                .query_row([], |row| row.get(0))?)
        })
    }

    /// Records how an attempt to send response `seq` ended; returns its alert's key (`None`: no such response,
    /// its alert was deleted meanwhile).
    pub fn response_sent(
        &self,
        seq: i64,
        sent: &Sent,
    ) -> Result<Option<(ServerId, String)>, StoreError> {
        self.write(|tx| {
            let now = Timestamp::now();
            let (state, next_at, error) = match sent {
                Sent::Confirmed => (ResponseState::Confirmed, None, None),
                Sent::Retry { at, error } => (ResponseState::Pending, Some(*at), Some(error)),
                Sent::Failed { error } => (ResponseState::Failed, None, Some(error)),
            };
            let done_at = (state != ResponseState::Pending).then_some(now);
            tx.prepare_cached(
                "UPDATE outbox SET state = ?2, attempts = attempts + 1, next_at = COALESCE(?3, next_at), \
                 done_at = ?4, error = COALESCE(?5, error) WHERE seq = ?1 AND state = 'pending'",
            )?
            .execute(params![seq, state.as_str(), next_at, done_at, error])?;
            Ok(tx
                .prepare_cached("SELECT server, id FROM outbox WHERE seq = ?1")?
                .query_row([seq], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?)
        })
    }

    /// Puts off a pending response until `at` without counting an attempt (its server is not signed in).
    pub fn postpone_response(&self, seq: i64, at: Timestamp) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE outbox SET next_at = ?2 WHERE seq = ?1 AND state = 'pending'",
            )?
            .execute(params![seq, at])?;
            Ok(())
        })
    }

    /// Makes `server`'s pending responses due now (its link is back); returns how many.
    pub fn retry_responses(&self, server: &ServerId) -> Result<u64, StoreError> {
        self.write(|tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE outbox SET next_at = ?2 WHERE server = ?1 AND state = 'pending' AND next_at > ?2",
                )?
                .execute(params![server, Timestamp::now()])?;
            Ok(to_u64(changed))
        })
    }

    /// Notes that the user was told about these alerts at `at` (kept when they were told before).
    pub fn mark_notified(
        &self,
        keys: &[(ServerId, String)],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let mut statement = tx.prepare_cached(
                "UPDATE alerts SET notified_at = ?3 WHERE server = ?1 AND id = ?2 AND notified_at IS NULL",
            )?;
            for (server, id) in keys {
                statement.execute(params![server, id, at])?;
            }
            Ok(())
        })
    }
}

/// The responses of one alert (`only`), or of every alert, by key, oldest first.
pub(super) fn responses_of(
    conn: &Connection,
    only: Option<&StoredAlert>,
) -> rusqlite::Result<HashMap<(ServerId, String), Vec<Response>>> {
    let mut statement = conn.prepare_cached(
        "SELECT server, id, name, label, state, made_at, attempts, next_at, done_at, error FROM outbox \
         WHERE ?1 IS NULL OR (server = ?1 AND id = ?2) ORDER BY seq",
    )?;
    let (server, id) = only.map_or((None, None), |s| (Some(&s.server), Some(&s.alert.id)));
    let rows = statement.query_map(params![server, id], |row| {
        let state = ResponseState::parse(&row.get::<_, String>(4)?);
        Ok((
            (row.get(0)?, row.get(1)?),
            Response {
                name: row.get(2)?,
                label: row.get(3)?,
                state,
                made_at: row.get(5)?,
                attempts: row.get(6)?,
                next_at: if state == ResponseState::Pending {
                    row.get(7)?
                } else {
                    None
                },
                done_at: row.get(8)?,
                error: row.get(9)?,
            },
        ))
    })?;
    let mut out: HashMap<_, Vec<_>> = HashMap::new();
    for row in rows {
        let (key, response) = row?;
        out.entry(key).or_default().push(response);
    }
    Ok(out)
}

/// An alert's times in order, each with the milliseconds since the one before.
pub(super) fn timeline(alert: &Alert, life: &Life) -> Vec<Moment> {
    let mut moments: Vec<(MomentKind, Timestamp, Option<String>)> = Vec::new();
    if life.update_count > 0 {
        moments.push((MomentKind::FirstReceived, life.first_received_at, None));
    }
    if let Some(at) = alert.server_time {
        moments.push((MomentKind::Server, at, None));
    }
    moments.push((MomentKind::Received, alert.received_at, None));
    for (what, at) in [
        (MomentKind::Notified, life.notified_at),
        (MomentKind::Read, life.read_at),
        (MomentKind::Acknowledged, life.acknowledged_at),
    ] {
        if let Some(at) = at {
            moments.push((what, at, None));
        }
    }
    for response in &life.responses {
        moments.push((
            MomentKind::Responded,
            response.made_at,
            Some(response.label.clone()),
        ));
        let end = match response.state {
            ResponseState::Confirmed => Some(MomentKind::Confirmed),
            ResponseState::Failed => Some(MomentKind::Failed),
            ResponseState::Pending => None,
        };
        if let (Some(what), Some(at)) = (end, response.done_at) {
            moments.push((what, at, Some(response.label.clone())));
        }
    }
    // Stable: moments at the same instant keep their logical order (server, received, notified...).
    moments.sort_by_key(|(_, at, _)| *at);
    let mut previous: Option<Timestamp> = None;
    moments
        .into_iter()
        .map(|(what, at, label)| {
            let after_ms = previous.map(|p| at.since(p).num_milliseconds());
            previous = Some(at);
            Moment {
                what,
                at,
                label,
                after_ms,
            }
        })
        .collect()
}
