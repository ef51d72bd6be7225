//! One owner per data directory.
//!
//! The process that receives alerts for a data directory (the desktop app, or `alertdesk listen`) holds an
//! exclusive lock on `alertdesk.lock` in it for as long as it runs. Two of them on one history would each record
//! the other's alerts first and then drop their own copy as a duplicate: each would miss alerts the other showed.
//! A second owner is refused and told who holds the directory: the holder writes its process id and what it is
//! into the file, and the refused one reads them back.
//!
//! The lock is the operating system's (`flock` on Linux, through `std::fs::File::try_lock`): it goes with the
//! process, whether it exits, crashes or is killed, so a stale file never blocks anyone. The file itself is never
//! deleted (deleting it while held would let a second process lock a new file of the same name).

use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::paths::Paths;
use crate::domain::one_line;

/// The lock file's name in the data directory.
pub const FILE_NAME: &str = "alertdesk.lock";

/// How often, and how long apart, a refused process reads the holder's details while the holder may still be
/// writing them.
const READ_TRIES: u32 = 5;
const READ_PAUSE: Duration = Duration::from_millis(20);

/// The process holding a data directory, as its lock file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Its process id.
    pub pid: u32,
    /// What it is, e.g. `alertdesk-cli listen` or `alertdesk (desktop app)`.
    pub command: String,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (pid {})", self.command, self.pid)
    }
}

/// Why the data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("the data directory {} is in use by {}", dir.display(), holder.as_ref().map_or_else(|| "another Alertdesk".to_string(), Holder::to_string))]
    Held {
        /// The data directory.
        dir: PathBuf,
        /// Who holds it, when the lock file says.
        holder: Option<Holder>,
    },
    /// The lock file cannot be opened or locked.
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
}

/// The data directory, held: released when dropped, or when the process ends in any way.
#[derive(Debug)]
pub struct DataDirLock {
    // Held open for the lock's sake: closing it releases the lock.
    _file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// Takes the data directory for this process, `command` saying what it is (shown to a process refused).
    /// The data directory must exist ([`Paths::create_all`]).
    pub fn acquire(paths: &Paths, command: &str) -> Result<Self, LockError> {
        let path = paths.lock_file();
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    dir: paths.data_dir.clone(),
                    holder: read_holder(&mut file),
                })
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let me = format!("{}\n{}\n", std::process::id(), one_line(command));
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(me.as_bytes()))
            .and_then(|()| file.flush())
            .map_err(io)?;
        Ok(Self { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn open(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, super::paths::PRIVATE_FILE_MODE);
    let file = options.open(path)?;
    #[cfg(unix)]
    super::paths::make_private(path, super::paths::PRIVATE_FILE_MODE)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(file)
}

/// The holder's details, read a few times over while it may still be writing them.
fn read_holder(file: &mut File) -> Option<Holder> {
    for attempt in 0..READ_TRIES {
        if attempt > 0 {
            std::thread::sleep(READ_PAUSE);
        }
        let mut text = String::new();
        let read = file
            .seek(SeekFrom::Start(0))
            .and_then(|_| Read::by_ref(file).take(4096).read_to_string(&mut text));
        if let Some(holder) = read.ok().and_then(|_| parse(&text)) {
            return Some(holder);
        }
    }
    None
}

fn parse(text: &str) -> Option<Holder> {
    let mut lines = text.lines();
    let pid = lines.next()?.trim().parse().ok()?;
    let command = lines.next()?.trim().to_string();
    (!command.is_empty()).then_some(Holder { pid, command })
}

#[cfg(test)]
mod tests {
    use super::{DataDirLock, Holder, LockError};
    use crate::config::paths::Paths;

    fn paths() -> (tempfile::TempDir, Paths) {
        let root = tempfile::tempdir().unwrap();
        let paths = Paths::under(root.path());
        paths.create_all().unwrap();
        (root, paths)
    }

    #[test]
    fn a_second_owner_is_refused_and_told_who_holds_it() {
        let (_root, paths) = paths();
        let first = DataDirLock::acquire(&paths, "alertdesk-cli listen").unwrap();
        assert_eq!(first.path(), paths.lock_file());
        // A lock is per open file, so a second open in this process is refused as another process would be.
        let err = DataDirLock::acquire(&paths, "alertdesk (desktop app)").unwrap_err();
        let LockError::Held { dir, holder } = &err else {
            panic!("{err}")
        };
        assert_eq!(dir, &paths.data_dir);
        assert_eq!(
            holder.as_ref(),
            Some(&Holder {
                pid: std::process::id(),
                command: "alertdesk-cli listen".into()
            })
        );
        let message = err.to_string();
        assert!(
            message.contains("in use by alertdesk-cli listen (pid ")
                && message.contains(&paths.data_dir.display().to_string()),
            "{message}"
        );

        // Released when dropped: the next owner takes it and its details replace the first's.
        drop(first);
        let _second = DataDirLock::acquire(&paths, "alertdesk (desktop app)").unwrap();
        let text = std::fs::read_to_string(paths.lock_file()).unwrap();
        assert_eq!(
            text,
            format!("{}\nalertdesk (desktop app)\n", std::process::id())
        );
    }

    #[test]
    fn a_holder_that_wrote_nothing_yet_is_still_a_holder() {
        let (_root, paths) = paths();
        let file = std::fs::File::create(paths.lock_file()).unwrap();
        file.lock().unwrap();
        let err = DataDirLock::acquire(&paths, "x").unwrap_err();
        assert!(
            matches!(err, LockError::Held { holder: None, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("in use by another Alertdesk"));
    }

    #[cfg(unix)]
    #[test]
    fn the_lock_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let (_root, paths) = paths();
        std::fs::write(paths.lock_file(), "").unwrap();
        std::fs::set_permissions(paths.lock_file(), std::fs::Permissions::from_mode(0o666))
            .unwrap();
        let _lock = DataDirLock::acquire(&paths, "a\nb").unwrap();
        let mode = std::fs::metadata(paths.lock_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // A command is kept on one line.
        assert!(std::fs::read_to_string(paths.lock_file())
            .unwrap()
            .ends_with("\na b\n"));
    }
}
