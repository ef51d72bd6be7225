//! The alert history: every alert, its updates, read and acknowledged state, connection gaps and backfill
//! cursors, in one SQLite file in the data directory ([`FILE_NAME`]).
//!
//! # Guarantees
//!
//! - **Write before notify.** [`Store::record`] returns after the alert is committed with `synchronous=FULL`,
//!   so an alert that was notified survives a crash of the app, the OS or the power. Callers notify only after
//!   it returns (and, if the history itself fails, still notify: a broken history must not swallow alerts).
//! - **Exactly once.** An alert's key is (server, id): two servers may use the same ids. A known key with the
//!   same content is a [`Recorded::Duplicate`] and writes nothing; with different content the update merges
//!   into the row ([`Recorded::Updated`]) and the version it replaces goes to the trail ([`Store::trail`]).
//!   Backfills may re-deliver freely: store the [cursor](Store::set_cursor) only after recording what it covers.
//! - **Never a crash loop.** A damaged file (not a database, corrupt, failing `PRAGMA quick_check`) is renamed
//!   to `<name>.corrupt-<UTC time>` with its `-wal`/`-shm` and a fresh history starts ([`Opened::recovered`]
//!   says so). A file another process keeps locked is [`StoreError::Locked`] and is left untouched; a file from
//!   a newer Alertdesk is [`StoreError::TooNew`] and is left untouched.
//!
//! # Read state on updates
//!
//! An update to a read alert leaves it read, unless it raised the priority or newly assigned the record to the
//! signed-in user: then it is unread again ([`Change::marked_unread`]), because it asks for attention the
//! earlier read did not give. Acknowledgement is never undone by an update: it records that someone took the
//! alert on. Acknowledging also marks read.
//!
//! # Times
//!
//! Times go in as RFC 3339 and are stored in UTC with milliseconds (`2024-05-01T08:00:00.000Z`), the shape
//! [`crate::alert::now_rfc3339`] makes. An alert whose `received_at` does not parse is stored with the time it
//! was recorded (never dropped). `server_time` is taken, when it is there, from the first of `updatedAt`,
//! `updated_at`, `createdAt`, `created_at`, `timestamp`, `time` in the payload or its fetched `record` that
//! holds an RFC 3339 time; otherwise it is unknown.

mod open;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::{Type, Value as SqlValue};
use rusqlite::{
    params, params_from_iter, Connection, ErrorCode, OptionalExtension, Row, Transaction,
    TransactionBehavior,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::alert::{now_rfc3339, Alert, Kind, Priority, Source};

/// The history's file name in the data directory.
pub const FILE_NAME: &str = "history.db";

/// How long an operation waits for another connection's lock by default.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How many past versions prune keeps per alert (an often-updated info alert must not grow without bound).
const MAX_TRAIL_PER_ALERT: i64 = 1000;

/// What can go wrong with the history.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file is damaged beyond what opening it again repairs.
    #[error(
        "the alert history {path} is damaged ({reason}); restart Alertdesk: it sets a damaged history aside \
         and starts a new one"
    )]
    Corrupt {
        /// The history file.
        path: PathBuf,
        /// What SQLite found.
        reason: String,
    },
    /// Another process held the lock beyond the busy timeout.
    #[error(
        "the alert history {path} is locked by another program; another Alertdesk may be running (close it, \
         or give this one a different --data-dir)"
    )]
    Locked {
        /// The history file.
        path: PathBuf,
    },
    /// The file was written by a newer Alertdesk.
    #[error(
        "the alert history {path} was written by a newer Alertdesk (schema version {found}; this version knows \
         up to {supported}); update Alertdesk, or move the file away to start a new history"
    )]
    TooNew {
        /// The history file.
        path: PathBuf,
        /// The file's schema version.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// Any other database failure.
    #[error("alert history: {0}")]
    Sqlite(String),
    /// A file or directory could not be created or renamed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// No alert has this id (on this server).
    #[error("no alert {id:?}{} in the history", server.as_ref().map(|s| format!(" from {s}")).unwrap_or_default())]
    NotFound {
        /// The server, when one was given.
        server: Option<String>,
        /// The alert id.
        id: String,
    },
    /// An id given without a server exists on several servers.
    #[error("alert id {id:?} exists on several servers ({}); say which one", servers.join(", "))]
    Ambiguous {
        /// The alert id.
        id: String,
        /// The servers that have it.
        servers: Vec<String>,
    },
    /// A time is not RFC 3339.
    #[error("{value:?} is not an RFC 3339 time (like 2024-05-01T08:00:00Z)")]
    BadTime {
        /// What was given.
        value: String,
    },
}

impl StoreError {
    fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    fn from_sqlite(path: &Path, error: &rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                Self::Locked { path: path.into() }
            }
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => Self::Corrupt {
                path: path.into(),
                reason: error.to_string(),
            },
            _ => Self::Sqlite(format!("{}: {error}", path.display())),
        }
    }
}

/// A failure inside an operation, turned into a [`StoreError`] (with the path) at the API boundary.
enum Fail {
    Db(rusqlite::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for Fail {
    fn from(error: rusqlite::Error) -> Self {
        Self::Db(error)
    }
}

impl From<StoreError> for Fail {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// How to open the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOptions {
    /// How long to wait for another connection's lock before [`StoreError::Locked`].
    pub busy_timeout: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
        }
    }
}

/// An opened history, and whether a damaged file had to be set aside to open it.
#[derive(Debug)]
pub struct Opened {
    /// The history.
    pub store: Store,
    /// Set when the file was damaged and a fresh history was started (tell the user).
    pub recovered: Option<Recovery>,
}

/// A damaged history that was set aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Where the damaged file is now (its `-wal`/`-shm`, if any, have the same name plus the suffix).
    pub kept_aside: PathBuf,
    /// What was wrong with it.
    pub reason: String,
}

/// What [`Store::record`] did with an alert.
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

/// An alert as stored: the alert (its latest version) and its history state. Serializes flat, for `--json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredAlert {
    /// The server it came from (part of its key).
    pub server: String,
    /// The latest version (its `received_at` is when that version arrived).
    #[serde(flatten)]
    pub alert: Alert,
    /// When the first version arrived.
    pub first_received_at: String,
    /// The backend's own time for the record, when the payload has one.
    pub server_time: Option<String>,
    /// When it was marked read; `None` while unread.
    pub read_at: Option<String>,
    /// When it was acknowledged.
    pub acknowledged_at: Option<String>,
    /// How many updates merged into it (the trail may hold fewer once retention trimmed it).
    pub update_count: u64,
}

/// A version of an alert that a later update replaced (one entry of the trail).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertUpdate {
    /// When this version arrived.
    pub received_at: String,
    /// When the next version replaced it.
    pub replaced_at: String,
    /// How this version arrived.
    pub source: Source,
    /// Its kind.
    pub kind: Kind,
    /// Its backend event name.
    pub event: String,
    /// Its title.
    pub title: String,
    /// Its body.
    pub body: String,
    /// Its priority.
    pub priority: Priority,
    /// Whether it was assigned to the signed-in user.
    pub assigned_to_me: bool,
    /// Its payload.
    pub data: Value,
}

/// A time a server's link was down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// Its id (for [`Store::close_gap`]).
    pub id: i64,
    /// The server.
    pub server: String,
    /// When the link went down.
    pub from: String,
    /// When it was back; `None` while it is still down.
    pub to: Option<String>,
    /// Why, for the user.
    pub note: String,
}

/// What [`Store::list`] returns. The default lists everything, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Only this server's alerts.
    pub server: Option<String>,
    /// Only this profile's alerts.
    pub profile: Option<String>,
    /// Only unread alerts.
    pub unread_only: bool,
    /// Only alerts received (or last updated) at or after this RFC 3339 time.
    pub since: Option<String>,
    /// At most this many.
    pub limit: Option<usize>,
    /// Only these kinds (empty: all).
    pub kinds: Vec<Kind>,
    /// Only this priority and above.
    pub min_priority: Option<Priority>,
}

/// The alert history. One connection; wrap it in a mutex to share it between threads.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

const ALERT_COLUMNS: &str = "server, id, profile, kind, event, title, body, priority, assigned_to_me, notify, \
     source, first_received_at, received_at, server_time, read_at, acknowledged_at, data, update_count";

impl Store {
    /// Opens (or creates) the history at `path` with the default [`OpenOptions`].
    pub fn open(path: &Path) -> Result<Opened, StoreError> {
        Self::open_with(path, &OpenOptions::default())
    }

    /// Opens (or creates) the history at `path`. A damaged file is set aside and a fresh history started (see
    /// [`Opened::recovered`]); a locked or too new file is an error and is left as it is.
    pub fn open_with(path: &Path, options: &OpenOptions) -> Result<Opened, StoreError> {
        open::prepare_file(path)?;
        let reason = match open::connect(path, options.busy_timeout) {
            Ok(conn) => {
                return Ok(Opened {
                    store: Self::new(conn, path),
                    recovered: None,
                })
            }
            Err(open::Attempt::Failed(error)) => return Err(error),
            Err(open::Attempt::Damaged(reason)) => reason,
        };
        let kept_aside = open::set_aside(path)?;
        tracing::warn!(
            "the alert history {} is damaged ({reason}); kept aside as {} and starting a new one",
            path.display(),
            kept_aside.display()
        );
        open::prepare_file(path)?;
        let conn = open::connect(path, options.busy_timeout).map_err(|a| a.into_error(path))?;
        Ok(Opened {
            store: Self::new(conn, path),
            recovered: Some(Recovery { kept_aside, reason }),
        })
    }

    /// A history in memory, gone when dropped (tests).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Ok(Self::new(open::connect_in_memory()?, Path::new(":memory:")))
    }

    fn new(conn: Connection, path: &Path) -> Self {
        Self {
            conn,
            path: path.into(),
        }
    }

    /// The file it was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records one alert from `server` (see [`Recorded`]), committed before it returns.
    pub fn record(&self, server: &str, alert: &Alert) -> Result<Recorded, StoreError> {
        self.write(|tx| record_in(tx, server, alert))
    }

    /// Records a burst of alerts from `server` in one transaction: all or none. The results are in order; an id
    /// that occurs twice sees its first occurrence.
    pub fn record_many(&self, server: &str, alerts: &[Alert]) -> Result<Vec<Recorded>, StoreError> {
        self.write(|tx| {
            alerts
                .iter()
                .map(|alert| record_in(tx, server, alert))
                .collect()
        })
    }

    /// The alerts `query` selects, newest (last received or updated) first.
    pub fn list(&self, query: &Query) -> Result<Vec<StoredAlert>, StoreError> {
        self.read(|conn| {
            let mut sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE 1 = 1");
            let mut args: Vec<SqlValue> = Vec::new();
            if let Some(server) = &query.server {
                sql.push_str(" AND server = ?");
                args.push(SqlValue::Text(server.clone()));
            }
            if let Some(profile) = &query.profile {
                sql.push_str(" AND profile = ?");
                args.push(SqlValue::Text(profile.clone()));
            }
            if query.unread_only {
                sql.push_str(" AND read_at IS NULL");
            }
            if let Some(since) = &query.since {
                sql.push_str(" AND received_at >= ?");
                args.push(SqlValue::Text(parse_time(since)?));
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
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// One alert.
    pub fn get(&self, server: &str, id: &str) -> Result<Option<StoredAlert>, StoreError> {
        self.read(|conn| {
            let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE server = ?1 AND id = ?2");
            Ok(conn
                .prepare_cached(&sql)?
                .query_row(params![server, id], stored_alert)
                .optional()?)
        })
    }

    /// The versions an alert had before its current one, oldest first (empty for an unknown alert).
    pub fn trail(&self, server: &str, id: &str) -> Result<Vec<AlertUpdate>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT received_at, replaced_at, source, kind, event, title, body, priority, assigned_to_me, \
                 data FROM alert_updates WHERE server = ?1 AND id = ?2 ORDER BY seq",
            )?;
            let rows = statement.query_map(params![server, id], |row| {
                Ok(AlertUpdate {
                    received_at: row.get(0)?,
                    replaced_at: row.get(1)?,
                    source: named(row, 2)?,
                    kind: named(row, 3)?,
                    event: row.get(4)?,
                    title: row.get(5)?,
                    body: row.get(6)?,
                    priority: named(row, 7)?,
                    assigned_to_me: row.get(8)?,
                    data: json(row, 9)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Unread alerts per server (servers with none are left out).
    pub fn unread_counts(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT server, COUNT(*) FROM alerts WHERE read_at IS NULL GROUP BY server",
            )?;
            let rows = statement.query_map([], |row| {
                Ok((row.get::<_, String>(0)?, to_u64(row.get::<_, i64>(1)?)))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Marks an alert read. Without a server the id must be unique across servers ([`StoreError::Ambiguous`]
    /// otherwise). `Ok(false)` when it was read already; [`StoreError::NotFound`] when there is no such alert.
    pub fn mark_read(&self, server: Option<&str>, id: &str) -> Result<bool, StoreError> {
        self.write(|tx| {
            let server = resolve(tx, server, id)?;
            let changed = tx
                .prepare_cached(
                    "UPDATE alerts SET read_at = ?3 WHERE server = ?1 AND id = ?2 AND read_at IS NULL",
                )?
                .execute(params![server, id, now_rfc3339()])?;
            Ok(changed > 0)
        })
    }

    /// Marks every unread alert (of one server, or of all) read; returns how many.
    pub fn mark_all_read(&self, server: Option<&str>) -> Result<u64, StoreError> {
        self.write(|tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE alerts SET read_at = ?2 WHERE read_at IS NULL AND (?1 IS NULL OR server = ?1)",
                )?
                .execute(params![server, now_rfc3339()])?;
            Ok(to_u64(changed))
        })
    }

    /// Acknowledges an alert (and marks it read). The server may be left out as for [`Store::mark_read`].
    /// `Ok(false)` when it was acknowledged already.
    pub fn acknowledge(&self, server: Option<&str>, id: &str) -> Result<bool, StoreError> {
        self.write(|tx| {
            let server = resolve(tx, server, id)?;
            let changed = tx
                .prepare_cached(
                    "UPDATE alerts SET acknowledged_at = ?3, read_at = COALESCE(read_at, ?3) \
                     WHERE server = ?1 AND id = ?2 AND acknowledged_at IS NULL",
                )?
                .execute(params![server, id, now_rfc3339()])?;
            Ok(changed > 0)
        })
    }

    /// Deletes every read alert and its trail; returns how many alerts.
    pub fn clear_read(&self) -> Result<u64, StoreError> {
        self.write(|tx| {
            Ok(to_u64(tx.execute(
                "DELETE FROM alerts WHERE read_at IS NOT NULL",
                [],
            )?))
        })
    }

    /// Where `server`'s backfill resumes, if a cursor was stored for this profile (a cursor written by another
    /// profile means something else, so it is not returned).
    pub fn cursor(&self, server: &str, profile: &str) -> Result<Option<String>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT value FROM cursors WHERE server = ?1 AND profile = ?2")?
                .query_row(params![server, profile], |row| row.get(0))
                .optional()?)
        })
    }

    /// Stores `server`'s cursor (replacing any other profile's). Store it only after recording the alerts it
    /// covers: a crash in between then re-delivers them, and deduplication absorbs that.
    pub fn set_cursor(&self, server: &str, profile: &str, value: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO cursors (server, profile, value, updated_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (server) DO UPDATE SET profile = excluded.profile, value = excluded.value, \
                 updated_at = excluded.updated_at",
            )?
            .execute(params![server, profile, value, now_rfc3339()])?;
            Ok(())
        })
    }

    /// Records that `server`'s link went down at `from` (RFC 3339); returns the gap's id.
    pub fn open_gap(&self, server: &str, from: &str, note: &str) -> Result<i64, StoreError> {
        let from = parse_time(from)?;
        self.write(|tx| {
            tx.prepare_cached("INSERT INTO gaps (server, from_ts, note) VALUES (?1, ?2, ?3)")?
                .execute(params![server, from, note])?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// Records that the gap ended at `to` (RFC 3339). `Ok(false)` when there is no such open gap.
    pub fn close_gap(&self, id: i64, to: &str) -> Result<bool, StoreError> {
        let to = parse_time(to)?;
        self.write(|tx| {
            let changed = tx
                .prepare_cached("UPDATE gaps SET to_ts = ?2 WHERE gap_id = ?1 AND to_ts IS NULL")?
                .execute(params![id, to])?;
            Ok(changed > 0)
        })
    }

    /// The gaps (of one server, or of all), newest first.
    pub fn gaps(&self, server: Option<&str>) -> Result<Vec<Gap>, StoreError> {
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

    /// Applies the retention: deletes alerts not received or updated within `max_age`, then the oldest beyond
    /// `max_count`, with their trails; trims trails to what arrived within `max_age` (and to 1,000 entries per
    /// alert); deletes closed gaps that ended before `max_age`. Returns how many alerts were deleted.
    pub fn prune(&self, max_age: Duration, max_count: usize) -> Result<u64, StoreError> {
        let cutoff = chrono::Duration::from_std(max_age)
            .ok()
            .and_then(|age| chrono::Utc::now().checked_sub_signed(age))
            .map_or_else(String::new, |t| {
                t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            });
        let keep = i64::try_from(max_count).unwrap_or(i64::MAX);
        self.write(|tx| {
            let mut deleted = tx.execute("DELETE FROM alerts WHERE received_at < ?1", [&cutoff])?;
            deleted += tx.execute(
                "DELETE FROM alerts WHERE rowid IN (SELECT rowid FROM alerts \
                 ORDER BY received_at DESC, rowid DESC LIMIT -1 OFFSET ?1)",
                [keep],
            )?;
            tx.execute(
                "DELETE FROM alert_updates WHERE replaced_at < ?1",
                [&cutoff],
            )?;
            tx.execute(
                "DELETE FROM alert_updates WHERE seq IN (SELECT seq FROM (SELECT seq, ROW_NUMBER() OVER \
                 (PARTITION BY server, id ORDER BY seq DESC) AS newer FROM alert_updates) WHERE newer > ?1)",
                [MAX_TRAIL_PER_ALERT],
            )?;
            tx.execute(
                "DELETE FROM gaps WHERE to_ts IS NOT NULL AND to_ts < ?1",
                [&cutoff],
            )?;
            Ok(to_u64(deleted))
        })
    }

    /// Runs `f` in a write transaction (taken at once, so lock waits happen up front), committed when `f`
    /// succeeds and rolled back when it fails.
    fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, Fail>,
    ) -> Result<T, StoreError> {
        let run = || {
            let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        };
        run().map_err(|fail| self.error(fail))
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, Fail>) -> Result<T, StoreError> {
        f(&self.conn).map_err(|fail| self.error(fail))
    }

    fn error(&self, fail: Fail) -> StoreError {
        match fail {
            Fail::Db(error) => StoreError::from_sqlite(&self.path, &error),
            Fail::Store(error) => error,
        }
    }
}

/// The content that decides whether a known alert changed.
struct Current {
    kind: Kind,
    event: String,
    title: String,
    body: String,
    priority: Priority,
    assigned_to_me: bool,
    data: String,
    received_at: String,
    source: Source,
    read: bool,
    update_count: i64,
}

/// An alert on its way in, in its stored shape.
struct Incoming<'a> {
    server: &'a str,
    alert: &'a Alert,
    received_at: String,
    server_time: Option<String>,
    data: String,
}

fn record_in(tx: &Connection, server: &str, alert: &Alert) -> Result<Recorded, Fail> {
    let received_at = parse_time(&alert.received_at).unwrap_or_else(|_| {
        tracing::warn!(
            id = %alert.id,
            "alert received_at {:?} is not RFC 3339; storing the current time",
            alert.received_at
        );
        now_rfc3339()
    });
    let incoming = Incoming {
        server,
        alert,
        received_at,
        server_time: server_time(&alert.data),
        data: alert.data.to_string(),
    };
    let current = tx
        .prepare_cached(
            "SELECT kind, event, title, body, priority, assigned_to_me, data, received_at, source, \
             read_at IS NOT NULL, update_count FROM alerts WHERE server = ?1 AND id = ?2",
        )?
        .query_row(params![server, alert.id], |row| {
            Ok(Current {
                kind: named(row, 0)?,
                event: row.get(1)?,
                title: row.get(2)?,
                body: row.get(3)?,
                priority: named(row, 4)?,
                assigned_to_me: row.get(5)?,
                data: row.get(6)?,
                received_at: row.get(7)?,
                source: named(row, 8)?,
                read: row.get(9)?,
                update_count: row.get(10)?,
            })
        })
        .optional()?;
    match current {
        None => insert(tx, &incoming),
        Some(current) => merge(tx, &incoming, &current),
    }
}

fn insert(tx: &Connection, new: &Incoming<'_>) -> Result<Recorded, Fail> {
    let alert = new.alert;
    tx.prepare_cached(
        "INSERT INTO alerts (server, id, profile, kind, event, title, body, priority, assigned_to_me, \
         notify, source, first_received_at, received_at, server_time, data) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?14)",
    )?
    .execute(params![
        new.server,
        alert.id,
        alert.profile,
        alert.kind.as_str(),
        alert.event,
        alert.title,
        alert.body,
        alert.priority.as_str(),
        alert.assigned_to_me,
        alert.notify,
        alert.source.as_str(),
        new.received_at,
        new.server_time,
        new.data,
    ])?;
    Ok(Recorded::New)
}

/// A known alert: a duplicate, or an update that moves the current version to the trail.
fn merge(tx: &Connection, new: &Incoming<'_>, current: &Current) -> Result<Recorded, Fail> {
    let alert = new.alert;
    // Compared as JSON values: the same payload may come back with its keys in another order.
    let data_changed =
        serde_json::from_str::<Value>(&current.data).map_or(true, |d| d != alert.data);
    let title_changed = current.title != alert.title;
    let body_changed = current.body != alert.body;
    if !data_changed
        && !title_changed
        && !body_changed
        && current.kind == alert.kind
        && current.priority == alert.priority
        && current.assigned_to_me == alert.assigned_to_me
    {
        return Ok(Recorded::Duplicate);
    }
    tx.prepare_cached(
        "INSERT INTO alert_updates (server, id, received_at, replaced_at, source, kind, event, title, body, \
         priority, assigned_to_me, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        new.server,
        alert.id,
        current.received_at,
        new.received_at,
        current.source.as_str(),
        current.kind.as_str(),
        current.event,
        current.title,
        current.body,
        current.priority.as_str(),
        current.assigned_to_me,
        current.data,
    ])?;
    let became_assigned_to_me = alert.assigned_to_me && !current.assigned_to_me;
    let marked_unread =
        current.read && (alert.priority > current.priority || became_assigned_to_me);
    let update_count = current.update_count + 1;
    tx.prepare_cached(
        "UPDATE alerts SET profile = ?3, kind = ?4, event = ?5, title = ?6, body = ?7, priority = ?8, \
         assigned_to_me = ?9, notify = ?10, source = ?11, received_at = ?12, \
         server_time = COALESCE(?13, server_time), data = ?14, update_count = ?15, \
         read_at = CASE WHEN ?16 THEN NULL ELSE read_at END WHERE server = ?1 AND id = ?2",
    )?
    .execute(params![
        new.server,
        alert.id,
        alert.profile,
        alert.kind.as_str(),
        alert.event,
        alert.title,
        alert.body,
        alert.priority.as_str(),
        alert.assigned_to_me,
        alert.notify,
        alert.source.as_str(),
        new.received_at,
        new.server_time,
        new.data,
        update_count,
        marked_unread,
    ])?;
    Ok(Recorded::Updated(Change {
        previous_kind: current.kind,
        kind: alert.kind,
        previous_priority: current.priority,
        priority: alert.priority,
        became_assigned_to_me,
        unassigned_from_me: current.assigned_to_me && !alert.assigned_to_me,
        title_changed,
        body_changed,
        data_changed,
        marked_unread,
        update_count: to_u64(update_count),
    }))
}

/// The server of alert `id`: the one given (which must have it), or the only one that has it.
fn resolve(conn: &Connection, server: Option<&str>, id: &str) -> Result<String, Fail> {
    let mut statement = conn.prepare_cached(
        "SELECT server FROM alerts WHERE id = ?1 AND (?2 IS NULL OR server = ?2)",
    )?;
    let mut servers = statement
        .query_map(params![id, server], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    match servers.len() {
        0 => Err(StoreError::NotFound {
            server: server.map(str::to_owned),
            id: id.to_owned(),
        }
        .into()),
        1 => Ok(servers.remove(0)),
        _ => {
            servers.sort();
            Err(StoreError::Ambiguous {
                id: id.to_owned(),
                servers,
            }
            .into())
        }
    }
}

fn stored_alert(row: &Row<'_>) -> rusqlite::Result<StoredAlert> {
    Ok(StoredAlert {
        server: row.get(0)?,
        alert: Alert {
            id: row.get(1)?,
            profile: row.get(2)?,
            kind: named(row, 3)?,
            event: row.get(4)?,
            title: row.get(5)?,
            body: row.get(6)?,
            priority: named(row, 7)?,
            assigned_to_me: row.get(8)?,
            notify: row.get(9)?,
            source: named(row, 10)?,
            received_at: row.get(12)?,
            data: json(row, 16)?,
        },
        first_received_at: row.get(11)?,
        server_time: row.get(13)?,
        read_at: row.get(14)?,
        acknowledged_at: row.get(15)?,
        update_count: to_u64(row.get::<_, i64>(17)?),
    })
}

/// A kind, priority or source from its stored lowercase name.
fn named<T: DeserializeOwned>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
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

/// An RFC 3339 time in the stored shape (UTC, milliseconds).
fn parse_time(text: &str) -> Result<String, StoreError> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        })
        .map_err(|_| StoreError::BadTime {
            value: text.to_owned(),
        })
}

/// The backend's own time for the record, when the payload (or its fetched record) has one.
fn server_time(data: &Value) -> Option<String> {
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
        .find_map(|text| parse_time(text).ok())
}

fn to_u64<N: TryInto<u64>>(n: N) -> u64 {
    n.try_into().unwrap_or(0)
}
