//! Reads critical alerts aloud ("Critical: <title>") when `[alerting] speak_critical` is on, through
//! speech-dispatcher's `spd-say` or `espeak-ng`, whichever is installed (in that order).
//!
//! The text is one argument of a directly executed program, after `--`, never a shell line, and the server's
//! title is cleaned first (no control characters, one line, bounded length). Speaking never blocks: the
//! program runs on its own and a thread reaps it. No program installed is logged once.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

/// The longest title read out, in characters (a title is a headline; the rest is in the notification).
const MAX_TITLE: usize = 160;

/// The speech programs tried, in order of preference.
pub const PROGRAMS: &[&str] = &["spd-say", "espeak-ng"];

/// Reads texts aloud through the first speech program found on `PATH`.
#[derive(Debug)]
pub struct Speaker {
    program: Option<PathBuf>,
    said_missing: AtomicBool,
}

impl Speaker {
    /// Looks the programs up on this process's `PATH`.
    pub fn from_env() -> Self {
        Self::with_program(find_program(std::env::var_os("PATH").as_deref()))
    }

    /// A speaker using `program` (`None`: nothing installed).
    pub fn with_program(program: Option<PathBuf>) -> Self {
        Self {
            program,
            said_missing: AtomicBool::new(false),
        }
    }

    /// The program in use, if any.
    pub fn program(&self) -> Option<&Path> {
        self.program.as_deref()
    }

    /// Reads "Critical: `title`" aloud, without waiting for it.
    pub fn speak_critical(&self, title: &str) {
        let Some(program) = &self.program else {
            if !self.said_missing.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "speak_critical is on, but neither spd-say nor espeak-ng is installed; critical alerts are not read aloud"
                );
            }
            return;
        };
        let mut command = command(program, &critical_text(title));
        match command.spawn() {
            Ok(mut child) => {
                let _ = std::thread::Builder::new()
                    .name("alertdesk-speech".into())
                    .spawn(move || child.wait());
            }
            Err(e) => {
                if !self.said_missing.swap(true, Ordering::Relaxed) {
                    tracing::warn!("cannot run {}: {e}", program.display());
                }
            }
        }
    }
}

/// The first of [`PROGRAMS`] found in a `PATH` value.
pub fn find_program(path: Option<&OsStr>) -> Option<PathBuf> {
    let dirs: Vec<PathBuf> = std::env::split_paths(path?).collect();
    PROGRAMS.iter().find_map(|name| {
        dirs.iter()
            .map(|dir| dir.join(name))
            .find(|candidate| is_executable(candidate))
    })
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// What is said for a critical alert.
pub fn critical_text(title: &str) -> String {
    format!("Critical: {}", clean(title))
}

/// A server's title made fit to read out: control characters become spaces, runs of whitespace one space,
/// at most [`MAX_TITLE`] characters.
pub fn clean(title: &str) -> String {
    let spaced: String = title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    spaced
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_TITLE)
        .collect()
}

/// The command that says `text`: the program itself (no shell), the text as one argument after `--`, so a
/// title starting with `-` is never taken for an option. Output is discarded.
pub fn command(program: &Path, text: &str) -> Command {
    let mut command = Command::new(program);
    command
        .arg("--")
        .arg(text)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_is_one_clean_bounded_line() {
        assert_eq!(
            critical_text("Shots fired,\n\x1b[2J Main St\t\t"),
            "Critical: Shots fired, [2J Main St"
        );
        assert_eq!(clean(&"x".repeat(500)).len(), MAX_TITLE);
        assert_eq!(clean("  "), "");
    }

    #[test]
    fn the_text_is_one_argument_after_the_end_of_options() {
        let text = critical_text("--help; rm -rf / $(reboot) `id`");
        let command = command(Path::new("/usr/bin/espeak-ng"), &text);
        assert_eq!(command.get_program(), "/usr/bin/espeak-ng");
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(
            args,
            [
                OsStr::new("--"),
                OsStr::new("Critical: --help; rm -rf / $(reboot) `id`")
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn spd_say_is_preferred_and_only_executables_count() {
        use std::os::unix::fs::PermissionsExt;

        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        let make = |dir: &Path, name: &str, mode: u32| {
            let path = dir.join(name);
            std::fs::write(&path, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            path
        };
        let espeak = make(first.path(), "espeak-ng", 0o755);
        make(first.path(), "spd-say", 0o644); // not executable
        let path = std::env::join_paths([first.path(), second.path()]).unwrap();
        assert_eq!(find_program(Some(&path)), Some(espeak));
        let spd = make(second.path(), "spd-say", 0o755);
        assert_eq!(find_program(Some(&path)), Some(spd));
        assert_eq!(find_program(Some(OsStr::new(""))), None);
        assert_eq!(find_program(None), None);
    }

    #[test]
    fn nothing_installed_is_not_an_error() {
        let speaker = Speaker::with_program(None);
        speaker.speak_critical("Fire");
        speaker.speak_critical("Fire");
        assert!(speaker.program().is_none());
    }
}
