//! The log file, capped by size: `alertdesk.log` is written until the next line would take it past the limit,
//! then it becomes `alertdesk.1.log` (the one before becomes `alertdesk.2.log`, and so on) and a new
//! `alertdesk.log` starts; beyond `keep` rotated files the oldest is deleted. The logs of one run so take at most
//! `(keep + 1) × max_bytes` plus one line.
//!
//! Every file is created private to the user (0600), and files found with a looser mode are made private at
//! start. Nothing here panics or blocks on a broken disk: a line that cannot be written is dropped (the file is
//! tried again after [`RETRY_AFTER`]), because the log must never take the app down with it.
//!
//! Two processes may share the directory (the desktop app and an `acknowledge`): both append to the same
//! `alertdesk.log`, and one that finds the file rotated under it by the other reopens it instead of rotating
//! again.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a log file that cannot be opened or written is left alone before it is tried again.
pub(super) const RETRY_AFTER: Duration = Duration::from_secs(10);

const STEM: &str = "alertdesk";

/// A writer to the size-capped log files in one directory.
#[derive(Debug)]
pub(super) struct SizeRotating {
    dir: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: Option<File>,
    retry_at: Option<Instant>,
}

impl SizeRotating {
    /// Opens `dir`'s current log file (the directory must exist), makes the files there private and deletes
    /// those beyond `keep` (and the daily files of older versions).
    pub(super) fn open(dir: &Path, max_bytes: u64, keep: usize) -> io::Result<Self> {
        tidy(dir, keep);
        let file = open_current(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            max_bytes: max_bytes.max(1),
            keep: keep.max(1),
            file: Some(file),
            retry_at: None,
        })
    }

    /// The file being written.
    pub(super) fn current_path(dir: &Path) -> PathBuf {
        dir.join(format!("{STEM}.log"))
    }

    /// Rotated file `n` (1 is the newest).
    pub(super) fn rotated_path(dir: &Path, n: usize) -> PathBuf {
        dir.join(format!("{STEM}.{n}.log"))
    }

    /// Gets a file ready for `len` more bytes: reopens one lost or rotated by another process, rotates a full one.
    fn prepare(&mut self, len: u64) {
        if self.file.is_none() {
            if self.retry_at.is_some_and(|at| Instant::now() < at) {
                return;
            }
            self.reopen();
        }
        if self.full_for(len) {
            if !self.still_current() {
                // Another process rotated it: carry on in the new file, unless that is full too.
                self.reopen();
                if !self.full_for(len) {
                    return;
                }
            }
            self.rotate();
        }
    }

    /// Whether `len` more bytes would take the file (not empty) past the limit. The size is the file's own, so
    /// what another process appended counts too.
    fn full_for(&self, len: u64) -> bool {
        let size = self
            .file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map_or(0, |m| m.len());
        size > 0 && size.saturating_add(len) > self.max_bytes
    }

    fn reopen(&mut self) {
        match open_current(&self.dir) {
            Ok(file) => {
                self.file = Some(file);
                self.retry_at = None;
            }
            Err(_) => self.give_up_for_now(),
        }
    }

    fn rotate(&mut self) {
        self.file = None;
        for n in (1..self.keep).rev() {
            let _ = rename_if_there(
                &Self::rotated_path(&self.dir, n),
                &Self::rotated_path(&self.dir, n + 1),
            );
        }
        let _ = rename_if_there(
            &Self::current_path(&self.dir),
            &Self::rotated_path(&self.dir, 1),
        );
        self.reopen();
    }

    fn give_up_for_now(&mut self) {
        self.file = None;
        self.retry_at = Some(Instant::now() + RETRY_AFTER);
    }

    /// Whether our open file is still the directory's `alertdesk.log`.
    fn still_current(&self) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let Some(file) = &self.file else {
                return false;
            };
            match (
                file.metadata(),
                std::fs::metadata(Self::current_path(&self.dir)),
            ) {
                (Ok(ours), Ok(there)) => ours.dev() == there.dev() && ours.ino() == there.ino(),
                _ => false,
            }
        }
        #[cfg(not(unix))]
        {
            self.file.is_some()
        }
    }
}

impl Write for SizeRotating {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.prepare(buf.len() as u64);
        if let Some(file) = &mut self.file {
            if file.write_all(buf).is_err() {
                // A full disk or a lost file: this line is dropped, the file tried again later.
                self.give_up_for_now();
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(file) = &mut self.file {
            if file.flush().is_err() {
                self.give_up_for_now();
            }
        }
        Ok(())
    }
}

fn open_current(dir: &Path) -> io::Result<File> {
    let path = SizeRotating::current_path(dir);
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(
        &mut options,
        alertdesk_core::config::paths::PRIVATE_FILE_MODE,
    );
    let file = options.open(&path)?;
    make_private(&path);
    Ok(file)
}

fn rename_if_there(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn make_private(path: &Path) {
    #[cfg(unix)]
    let _ = alertdesk_core::config::paths::make_private(
        path,
        alertdesk_core::config::paths::PRIVATE_FILE_MODE,
    );
    #[cfg(not(unix))]
    let _ = path;
}

/// What an `alertdesk.*.log` file in the log directory is.
#[derive(Debug, PartialEq, Eq)]
enum LogFile {
    /// `alertdesk.log`, or a rotated file still kept.
    Kept,
    /// A rotated file beyond `keep`, or a daily file of an older version (`alertdesk.YYYY-MM-DD.log`).
    Stale,
    /// Not ours.
    Other,
}

fn classify(name: &str, keep: usize) -> LogFile {
    if name == format!("{STEM}.log") {
        return LogFile::Kept;
    }
    let Some(middle) = name
        .strip_prefix(&format!("{STEM}."))
        .and_then(|rest| rest.strip_suffix(".log"))
    else {
        return LogFile::Other;
    };
    let daily = middle.len() == 10
        && middle.chars().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    match middle.parse::<usize>() {
        Ok(n) if (1..=keep).contains(&n) => LogFile::Kept,
        Ok(_) => LogFile::Stale,
        Err(_) if daily => LogFile::Stale,
        Err(_) => LogFile::Other,
    }
}

/// Makes the kept files private and deletes the stale ones; a file that cannot be changed is left as it is.
fn tidy(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        match classify(&entry.file_name().to_string_lossy(), keep) {
            LogFile::Kept => make_private(&path),
            LogFile::Stale => {
                let _ = std::fs::remove_file(&path);
            }
            LogFile::Other => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::{classify, LogFile, SizeRotating};

    /// Writes one line in one call, as the log's writer thread does.
    fn line(log: &mut SizeRotating, text: &str) {
        log.write_all(format!("{text}\n").as_bytes()).unwrap();
    }

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn files_are_capped_by_size_and_number() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = SizeRotating::open(dir.path(), 100, 2).unwrap();
        // 50 lines of 10 bytes: 500 bytes through a 100-byte file and two rotated ones.
        for i in 0..50 {
            line(&mut log, &format!("line {i:04}"));
        }
        log.flush().unwrap();
        assert_eq!(
            names(dir.path()),
            ["alertdesk.1.log", "alertdesk.2.log", "alertdesk.log"]
        );
        let read = |n: Option<usize>| {
            let path = n.map_or_else(
                || SizeRotating::current_path(dir.path()),
                |n| SizeRotating::rotated_path(dir.path(), n),
            );
            std::fs::read_to_string(path).unwrap()
        };
        for n in [None, Some(1), Some(2)] {
            assert!(read(n).len() <= 100, "{n:?}: {}", read(n).len());
            assert!(read(n).ends_with('\n'), "lines are not split");
        }
        assert!(read(None).ends_with("line 0049\n"));
        assert!(read(Some(1)).ends_with("line 0039\n"));
        assert!(read(Some(2)).starts_with("line 0020\n"));
    }

    #[test]
    fn a_restart_continues_the_current_file() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut log = SizeRotating::open(dir.path(), 100, 3).unwrap();
            line(&mut log, &"a".repeat(59));
        }
        let mut log = SizeRotating::open(dir.path(), 100, 3).unwrap();
        line(&mut log, &"b".repeat(59));
        assert_eq!(
            std::fs::read_to_string(SizeRotating::rotated_path(dir.path(), 1)).unwrap(),
            format!("{}\n", "a".repeat(59))
        );
    }

    #[test]
    fn stale_files_go_at_start() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "alertdesk.2025-01-31.log",
            "alertdesk.4.log",
            "alertdesk.1.log",
            "alertdesk.log",
            "notes.txt",
            "alertdesk.old.log",
        ] {
            std::fs::write(dir.path().join(name), "x\n").unwrap();
        }
        let _log = SizeRotating::open(dir.path(), 100, 3).unwrap();
        assert_eq!(
            names(dir.path()),
            [
                "alertdesk.1.log",
                "alertdesk.log",
                "alertdesk.old.log",
                "notes.txt"
            ]
        );
        assert_eq!(classify("alertdesk.3.log", 3), LogFile::Kept);
        assert_eq!(classify("alertdesk.0.log", 3), LogFile::Stale);
        assert_eq!(classify("alertdesk.2025-1-31.log", 3), LogFile::Other);
    }

    #[cfg(unix)]
    #[test]
    fn log_files_are_private_also_when_they_existed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        for name in ["alertdesk.log", "alertdesk.1.log"] {
            let path = dir.path().join(name);
            std::fs::write(&path, "old\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let mut log = SizeRotating::open(dir.path(), 10, 2).unwrap();
        line(&mut log, "a new line"); // rotates: a new alertdesk.log is created
        for name in ["alertdesk.log", "alertdesk.1.log", "alertdesk.2.log"] {
            let mode = std::fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_file_rotated_by_another_process_is_followed_not_rotated_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut one = SizeRotating::open(dir.path(), 100, 5).unwrap();
        let mut two = SizeRotating::open(dir.path(), 100, 5).unwrap();
        line(&mut one, &"1".repeat(79));
        line(&mut two, &"2".repeat(9)); // 90 bytes now
        line(&mut one, &"3".repeat(19)); // one rotates
        line(&mut two, &"4".repeat(19)); // two follows into the new file
        assert_eq!(names(dir.path()), ["alertdesk.1.log", "alertdesk.log"]);
        let current = std::fs::read_to_string(SizeRotating::current_path(dir.path())).unwrap();
        assert_eq!(current, format!("{}\n{}\n", "3".repeat(19), "4".repeat(19)));
    }

    #[test]
    fn a_directory_that_goes_away_drops_lines_without_failing() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        let mut log = SizeRotating::open(&logs, 10, 2).unwrap();
        std::fs::remove_dir_all(&logs).unwrap();
        for _ in 0..5 {
            assert_eq!(log.write(b"0123456789\n").unwrap(), 11);
        }
        log.flush().unwrap();
    }
}
