//! What can go wrong with the history.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

use crate::domain::{BadTime, ServerId};

/// What can go wrong with the history.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file is damaged beyond what opening it again repairs.
    #[error(
        "the alert history {path} is damaged ({reason}); a restart sets a damaged history aside and starts a \
         new one"
    )]
    Corrupt {
        /// The history file.
        path: PathBuf,
        /// What SQLite found.
        reason: String,
    },
    /// Another process held the lock beyond the busy timeout.
    #[error(
        "the alert history {path} is locked by another program (another Alertdesk may be running)"
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
        server: Option<ServerId>,
        /// The alert id.
        id: String,
    },
    /// An id given without a server exists on several servers.
    #[error("alert id {id:?} exists on several servers ({}); say which one", servers.iter().map(ServerId::as_str).collect::<Vec<_>>().join(", "))]
    Ambiguous {
        /// The alert id.
        id: String,
        /// The servers that have it.
        servers: Vec<ServerId>,
    },
    /// A time is not RFC 3339.
    #[error(transparent)]
    BadTime(#[from] BadTime),
    /// The history's thread is gone (the process is shutting down).
    #[error("the alert history is closed")]
    Closed,
}

impl StoreError {
    pub(super) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(super) fn from_sqlite(path: &Path, error: &rusqlite::Error) -> Self {
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
pub(super) enum Fail {
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
