//! Opening the history file: the file itself, the integrity check, setting a damaged file aside, the pragmas
//! and the migrations.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};

use super::StoreError;

/// The schema as a list of steps: step `i` takes a file from `PRAGMA user_version` `i` to `i + 1`. Each step
/// runs in its own transaction with the version bump, so a crash mid-migration leaves the file at the previous
/// version, never half-migrated. Steps are append-only: a released step is never edited.
const MIGRATIONS: &[&str] = &[SCHEMA_V1, SCHEMA_V2, SCHEMA_V3];

/// Version 1.
///
/// Times are RFC 3339 UTC text with milliseconds (`2024-05-01T08:00:00.000Z`), always in that one shape, so text
/// order is time order. Booleans are 0/1. Kinds, priorities and sources are their lowercase names (no CHECK on
/// them, so a new variant needs no table rebuild).
pub(super) const SCHEMA_V1: &str = "
CREATE TABLE alerts (
    server            TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    profile           TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    event             TEXT    NOT NULL,
    title             TEXT    NOT NULL,
    body              TEXT    NOT NULL,
    priority          TEXT    NOT NULL,
    assigned_to_me    INTEGER NOT NULL CHECK (assigned_to_me IN (0, 1)),
    notify            INTEGER NOT NULL CHECK (notify IN (0, 1)),
    source            TEXT    NOT NULL,
    first_received_at TEXT    NOT NULL,
    received_at       TEXT    NOT NULL,
    server_time       TEXT,
    read_at           TEXT,
    acknowledged_at   TEXT,
    data              TEXT    NOT NULL CHECK (json_valid(data)),
    update_count      INTEGER NOT NULL DEFAULT 0 CHECK (update_count >= 0),
    PRIMARY KEY (server, id)
);
-- The list, newest first (and retention, oldest first).
CREATE INDEX alerts_by_received ON alerts (received_at);
-- One server's list.
CREATE INDEX alerts_by_server ON alerts (server, received_at);
-- Unread counts and the unread filter: only unread rows are in it.
CREATE INDEX alerts_unread ON alerts (server, received_at) WHERE read_at IS NULL;
-- `mark-read ID` without a server.
CREATE INDEX alerts_by_id ON alerts (id);

-- The versions an alert had before its current one (the row in `alerts`), oldest first by seq.
CREATE TABLE alert_updates (
    seq            INTEGER PRIMARY KEY,
    server         TEXT    NOT NULL,
    id             TEXT    NOT NULL,
    received_at    TEXT    NOT NULL,
    replaced_at    TEXT    NOT NULL,
    source         TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    event          TEXT    NOT NULL,
    title          TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    priority       TEXT    NOT NULL,
    assigned_to_me INTEGER NOT NULL CHECK (assigned_to_me IN (0, 1)),
    data           TEXT    NOT NULL,
    FOREIGN KEY (server, id) REFERENCES alerts (server, id) ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX alert_updates_by_alert ON alert_updates (server, id, seq);
CREATE INDEX alert_updates_by_replaced ON alert_updates (replaced_at);

-- Times a server's link was down (to_ts NULL while it still is).
CREATE TABLE gaps (
    gap_id  INTEGER PRIMARY KEY,
    server  TEXT NOT NULL,
    from_ts TEXT NOT NULL,
    to_ts   TEXT,
    note    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX gaps_by_server ON gaps (server, from_ts);

-- Where to resume each server's backfill; only valid for the profile that wrote it.
CREATE TABLE cursors (
    server     TEXT PRIMARY KEY,
    profile    TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
";

/// Version 2: record life. An alert's status (as its profile names it) and when the user was first told; the
/// status of each earlier version; the outbox of responses on their way to the server.
const SCHEMA_V2: &str = "
ALTER TABLE alerts ADD COLUMN status TEXT;
ALTER TABLE alerts ADD COLUMN notified_at TEXT;
ALTER TABLE alert_updates ADD COLUMN status TEXT;

-- Responses to alerts (acknowledge, en_route...) until the server confirms them; see store/outbox.rs.
CREATE TABLE outbox (
    seq      INTEGER PRIMARY KEY,
    server   TEXT    NOT NULL,
    id       TEXT    NOT NULL,
    name     TEXT    NOT NULL,
    label    TEXT    NOT NULL,
    state    TEXT    NOT NULL CHECK (state IN ('pending', 'confirmed', 'failed')),
    made_at  TEXT    NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_at  TEXT    NOT NULL,
    done_at  TEXT,
    error    TEXT,
    FOREIGN KEY (server, id) REFERENCES alerts (server, id) ON DELETE CASCADE ON UPDATE CASCADE
);
-- What is due next.
CREATE INDEX outbox_pending ON outbox (next_at) WHERE state = 'pending';
-- One alert's responses.
CREATE INDEX outbox_by_alert ON outbox (server, id, seq);
";

/// Version 3: the window's list read a page at a time (see store/list.rs).
const SCHEMA_V3: &str = "
-- The list, newest first by first arrival, with every column a filter reads but the text: counts and pages read
-- only this index, never the rows.
CREATE INDEX alerts_list ON alerts
    (first_received_at, server, kind, priority, read_at, assigned_to_me, acknowledged_at);
-- Unacknowledged assignments to me, pinned on top of the list.
CREATE INDEX alerts_pinned ON alerts (first_received_at) WHERE assigned_to_me = 1 AND acknowledged_at IS NULL;
";

/// The newest schema version this build knows.
pub(super) fn supported_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// Why one attempt to open failed.
pub(super) enum Attempt {
    /// The file is damaged or not a database: set it aside and start fresh.
    Damaged(String),
    /// Anything else (locked, too new, I/O): report it, touch nothing.
    Failed(StoreError),
}

impl Attempt {
    fn from_sqlite(path: &Path, error: &rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                Self::Damaged(error.to_string())
            }
            _ => Self::Failed(StoreError::from_sqlite(path, error)),
        }
    }

    /// The error to report when no retry is left.
    pub(super) fn into_error(self, path: &Path) -> StoreError {
        match self {
            Self::Damaged(reason) => StoreError::Corrupt {
                path: path.into(),
                reason,
            },
            Self::Failed(error) => error,
        }
    }
}

/// Creates the parent directories (0700 where new) and the file itself (0600, so the `-wal` and `-shm` files
/// SQLite creates next to it get the same private mode).
pub(super) fn prepare_file(path: &Path) -> Result<(), StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder
                .create(parent)
                .map_err(|e| StoreError::io(parent, e))?;
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

/// Opens and checks the file, sets the pragmas and migrates. Nothing is written to a file that fails the check.
pub(super) fn connect(path: &Path, busy_timeout: Duration) -> Result<Connection, Attempt> {
    let sqlite = |e: rusqlite::Error| Attempt::from_sqlite(path, &e);
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(sqlite)?;
    conn.busy_timeout(busy_timeout).map_err(sqlite)?;
    // Until the file has passed the check, closing must not checkpoint a WAL into it: a damaged file is kept
    // aside exactly as it was found.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(sqlite)?;
    // Check before anything writes (switching a rollback-journal file to WAL rewrites its header).
    quick_check(&conn)
        .map_err(sqlite)?
        .map_or(Ok(()), |problem| {
            Err(Attempt::Damaged(format!(
                "integrity check failed: {problem}"
            )))
        })?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)
        .map_err(sqlite)?;
    configure(&conn).map_err(sqlite)?;
    migrate(&conn, path)?;
    Ok(conn)
}

/// The in-memory variant of [`connect`] (tests).
pub(super) fn connect_in_memory() -> Result<Connection, StoreError> {
    let path = Path::new(":memory:");
    let conn = Connection::open_in_memory().map_err(|e| StoreError::from_sqlite(path, &e))?;
    configure(&conn).map_err(|e| StoreError::from_sqlite(path, &e))?;
    migrate(&conn, path).map_err(|a| a.into_error(path))?;
    Ok(conn)
}

/// `None` when `PRAGMA quick_check` says ok, else its first findings.
fn quick_check(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let mut statement = conn.prepare("PRAGMA quick_check(5)")?;
    let findings = statement
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(match findings.as_slice() {
        [only] if only == "ok" => None,
        [] => Some("no answer".into()),
        _ => Some(findings.join("; ").replace('\n', " ")),
    })
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !matches!(mode.as_str(), "wal" | "memory") {
        // Some network filesystems cannot do WAL; the rollback journal is as safe, only slower.
        tracing::warn!("the history cannot use WAL here; using journal mode {mode}");
    }
    // NORMAL in WAL mode: a commit is in the WAL (the OS's page cache) when `apply` returns, so a crash or
    // kill of Alertdesk loses nothing, without waiting for the disk at every commit (an fsync per batch was the
    // whole tail of the delivery latency). Only a power cut or an OS crash can take the last commits; the cursors
    // are in the same transactions and roll back with them, so the next catch-up fetches those records again:
    // the worst case is "shown again", never "lost" (docs/reliability.md). Checkpoints still sync.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.set_prepared_statement_cache_capacity(32);
    super::list::register_functions(conn)?;
    Ok(())
}

/// Applies the missing steps, one transaction each. The first transaction is taken for writing even when
/// nothing is missing, so a file another process holds a write lock on is noticed here, at open.
fn migrate(conn: &Connection, path: &Path) -> Result<(), Attempt> {
    let sqlite = |e: rusqlite::Error| Attempt::from_sqlite(path, &e);
    let supported = supported_version();
    loop {
        let tx =
            Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(sqlite)?;
        let found: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(sqlite)?;
        let step = match usize::try_from(found) {
            Ok(step) if found <= supported => step,
            _ => {
                return Err(Attempt::Failed(StoreError::TooNew {
                    path: path.into(),
                    found,
                    supported,
                }))
            }
        };
        let Some(sql) = MIGRATIONS.get(step) else {
            return tx.commit().map_err(sqlite);
        };
        tx.execute_batch(sql).map_err(sqlite)?;
        tx.pragma_update(None, "user_version", found + 1)
            .map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
        tracing::info!(
            "history {} migrated to schema version {}",
            path.display(),
            found + 1
        );
    }
}

/// The files SQLite keeps next to a database, which belong with it.
const COMPANIONS: [&str; 3] = ["-wal", "-shm", "-journal"];

/// Renames a damaged file (and its `-wal`, `-shm` and `-journal` companions) to
/// `<name>.corrupt-<UTC time>[-n]<suffix>`, keeping the pairing SQLite needs to read them together. Returns the
/// new name of the main file. The main file moves first, so a failure never leaves a new file next to an old
/// WAL.
pub(super) fn set_aside(path: &Path) -> Result<PathBuf, StoreError> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let with_suffix = |base: &Path, suffix: &str| {
        let mut name = OsString::from(base.as_os_str());
        name.push(suffix);
        PathBuf::from(name)
    };
    let mut attempt = 0_u32;
    let aside = loop {
        let tag = if attempt == 0 {
            format!(".corrupt-{stamp}")
        } else {
            format!(".corrupt-{stamp}-{attempt}")
        };
        let candidate = with_suffix(path, &tag);
        let taken = std::iter::once("")
            .chain(COMPANIONS)
            .any(|suffix| with_suffix(&candidate, suffix).exists());
        if !taken {
            break candidate;
        }
        attempt += 1;
    };
    std::fs::rename(path, &aside).map_err(|e| StoreError::io(path, e))?;
    for suffix in COMPANIONS {
        let from = with_suffix(path, suffix);
        if from.exists() {
            std::fs::rename(&from, with_suffix(&aside, suffix))
                .map_err(|e| StoreError::io(&from, e))?;
        }
    }
    Ok(aside)
}
