//! The alert history: every alert, its updates, read and acknowledged state, connection gaps and backfill
//! cursors, in one SQLite file in the data directory ([`FILE_NAME`]).
//!
//! # Guarantees
//!
//! - **Write before notify.** [`Store::apply`] returns after the batch is committed (one transaction, WAL with
//!   `synchronous=NORMAL`), so an alert that was notified survives a crash or kill of the app. A power cut or an
//!   OS crash may take the last commits, cursors included, and the next catch-up fetches those records again:
//!   shown again, never lost. Callers notify only after it returns (and, if the history itself fails, still
//!   notify: a broken history must not swallow alerts; the failed batch is handed back whole).
//! - **Exactly once.** An alert's key is (server, id): two servers may use the same ids. A known key with the
//!   same content is a [`Recorded::Duplicate`] and writes nothing; with different content the update merges
//!   into the row ([`Recorded::Updated`]) and the version it replaces goes to the trail ([`Store::trail`]). The
//!   same version worded differently (the same backend time, status, priority and owner: a record caught up
//!   from a list that another rule titles differently, or a live event delivered twice) is a duplicate too.
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
//! Times are [`Timestamp`]s, stored in UTC with milliseconds (`2024-05-01T08:00:00.000Z`), so they sort as
//! text. `server_time` is the backend's own time for the latest version, from the field its profile's rule
//! names (`time`), else from the usual fields (see [`crate::profile::Rule::time`]); an update without one keeps
//! the previous version's. Each alert also keeps when the user was first told (`notified_at`), read and
//! acknowledged it, and its [responses](outbox) with their times: [`StoredAlert::timeline`] puts them in order.

mod apply;
mod error;
pub mod history;
#[cfg(test)]
mod life_tests;
mod list;
#[cfg(test)]
mod list_tests;
mod open;
pub mod outbox;
mod query;
mod record;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, Transaction, TransactionBehavior};

pub use apply::{Delivered, Unapplied};
use error::Fail;
pub use error::StoreError;
pub use history::History;
pub use list::{ListCounts, ListFilter, ListPage, Listed, ListedAlert, Place, Selection};
pub use outbox::{Moment, MomentKind, Outgoing, Queued, Response, ResponseState, Sent};
use query::to_u64;
pub use query::{Gap, Life, Query, StoredAlert, TrailEntry};
pub use record::{Change, Recorded};

use crate::config::paths::Paths;
use crate::domain::{Alert, ServerId, Timestamp};

/// The history's file name in the data directory.
pub const FILE_NAME: &str = "history.db";

/// How long an operation waits for another connection's lock by default.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How many past versions prune keeps per alert (an often-updated info alert must not grow without bound).
const MAX_TRAIL_PER_ALERT: i64 = 1000;

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

/// The alert history. One connection; [`History`] runs it on a thread of its own for async callers.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// The statuses that close a record (see [`Store::set_closing_statuses`]).
    closing: Vec<String>,
}

impl Store {
    /// Opens (or creates) the history at `path` with the default [`OpenOptions`].
    pub fn open(path: &Path) -> Result<Opened, StoreError> {
        Self::open_with(path, &OpenOptions::default())
    }

    /// Opens the data directory's history, creating the directories first: what every front-end does.
    pub fn open_in(paths: &Paths) -> Result<Opened, StoreError> {
        paths
            .create_all()
            .map_err(|e| StoreError::Sqlite(e.to_string()))?;
        Self::open(&paths.history_file())
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
            closing: crate::config::settings::AlertingSettings::default().terminal_statuses,
        }
    }

    /// The statuses that close a record (`[alerting] terminal_statuses`): an update to a closed record never
    /// marks it unread again.
    pub fn set_closing_statuses(&mut self, statuses: Vec<String>) {
        self.closing = statuses;
    }

    /// The file it was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// WAL pages past which a commit checkpoints by itself (see `history.rs`).
    fn set_wal_autocheckpoint(&self, pages: u32) -> Result<(), StoreError> {
        self.conn
            .pragma_update(None, "wal_autocheckpoint", pages)
            .map_err(|e| StoreError::from_sqlite(&self.path, &e))
    }

    /// Records one alert from `server` (see [`Recorded`]), committed before it returns.
    pub fn record(&self, server: &ServerId, alert: &Alert) -> Result<Recorded, StoreError> {
        let mut alert = alert.clone();
        self.write(|tx| record::record_in(tx, server, &mut alert, &self.closing))
    }

    /// Records a burst of alerts from `server` in one transaction: all or none. The results are in order; an id
    /// that occurs twice sees its first occurrence.
    pub fn record_many(
        &self,
        server: &ServerId,
        alerts: &[Alert],
    ) -> Result<Vec<Recorded>, StoreError> {
        let mut alerts = alerts.to_vec();
        self.write(|tx| {
            alerts
                .iter_mut()
                .map(|alert| record::record_in(tx, server, alert, &self.closing))
                .collect()
        })
    }

    /// Marks an alert read. Without a server the id must be unique across servers ([`StoreError::Ambiguous`]
    /// otherwise). `Ok(false)` when it was read already; [`StoreError::NotFound`] when there is no such alert.
    pub fn mark_read(&self, server: Option<&ServerId>, id: &str) -> Result<bool, StoreError> {
        self.write(|tx| {
            let server = resolve(tx, server, id)?;
            let changed = tx
                .prepare_cached(
                    "UPDATE alerts SET read_at = ?3 WHERE server = ?1 AND id = ?2 AND read_at IS NULL",
                )?
                .execute(params![server, id, Timestamp::now()])?;
            Ok(changed > 0)
        })
    }

    /// Marks every unread alert (of one server, or of all) read; returns how many.
    pub fn mark_all_read(&self, server: Option<&ServerId>) -> Result<u64, StoreError> {
        self.write(|tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE alerts SET read_at = ?2 WHERE read_at IS NULL AND (?1 IS NULL OR server = ?1)",
                )?
                .execute(params![server, Timestamp::now()])?;
            Ok(to_u64(changed))
        })
    }

    /// Acknowledges an alert (and marks it read). The server may be left out as for [`Store::mark_read`].
    /// `Ok(false)` when it was acknowledged already.
    pub fn acknowledge(&self, server: Option<&ServerId>, id: &str) -> Result<bool, StoreError> {
        self.write(|tx| {
            let server = resolve(tx, server, id)?;
            let changed = tx
                .prepare_cached(
                    "UPDATE alerts SET acknowledged_at = ?3, read_at = COALESCE(read_at, ?3) \
                     WHERE server = ?1 AND id = ?2 AND acknowledged_at IS NULL",
                )?
                .execute(params![server, id, Timestamp::now()])?;
            Ok(changed > 0)
        })
    }

    /// Deletes every read alert and its trail, except those with a response still on its way to the server;
    /// returns how many alerts.
    pub fn clear_read(&self) -> Result<u64, StoreError> {
        self.write(|tx| {
            Ok(to_u64(tx.execute(
                "DELETE FROM alerts WHERE read_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM outbox o \
                 WHERE o.server = alerts.server AND o.id = alerts.id AND o.state = 'pending')",
                [],
            )?))
        })
    }

    /// Where `server`'s lists resume, as stored for this profile (a cursor written by another profile means
    /// something else, so it is not returned). The text is a [`crate::link::Cursors`]' stored form.
    pub fn cursor(&self, server: &ServerId, profile: &str) -> Result<Option<String>, StoreError> {
        use rusqlite::OptionalExtension;
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT value FROM cursors WHERE server = ?1 AND profile = ?2")?
                .query_row(params![server, profile], |row| row.get(0))
                .optional()?)
        })
    }

    /// Applies the retention: deletes alerts not received or updated within `max_age`, then the oldest beyond
    /// `max_count`, with their trails; trims trails to what arrived within `max_age` (and to 1,000 entries per
    /// alert); deletes closed gaps that ended before `max_age`. Returns how many alerts were deleted.
    pub fn prune(&self, max_age: Duration, max_count: usize) -> Result<u64, StoreError> {
        let cutoff = chrono::TimeDelta::from_std(max_age).map_or_else(
            |_| String::new(),
            |age| Timestamp::now().minus(age).to_rfc3339(),
        );
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

/// The server of alert `id`: the one given (which must have it), or the only one that has it.
fn resolve(conn: &Connection, server: Option<&ServerId>, id: &str) -> Result<ServerId, Fail> {
    let mut statement = conn.prepare_cached(
        "SELECT server FROM alerts WHERE id = ?1 AND (?2 IS NULL OR server = ?2)",
    )?;
    let mut servers = statement
        .query_map(params![id, server], |row| row.get::<_, ServerId>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    match servers.len() {
        0 => Err(StoreError::NotFound {
            server: server.cloned(),
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
