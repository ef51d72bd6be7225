//! The core's error type.

use std::path::PathBuf;

/// Everything the core can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No home directory could be found to place the XDG directories in.
    #[error("cannot find the home directory; set ALERTDESK_DATA_DIR or pass --data-dir")]
    NoHome,
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A settings file is not valid.
    #[error("{path}: {message}")]
    Settings {
        /// The settings file.
        path: PathBuf,
        /// What is wrong, with line and column.
        message: String,
    },
}

/// The core's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
