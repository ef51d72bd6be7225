//! Reads critical alerts aloud ("Critical: <title>") when `[alerting] speak_critical` is on, through
//! speech-dispatcher's `spd-say` or `espeak-ng`, whichever is installed (in that order).
//!
//! The text is one argument of a directly executed program, after `--`, never a shell line, and the server's
//! title is cleaned first (no control characters, one line, bounded length). The program runs with a clean
//! environment: only the variables in [`PASSED_ENV`] (where to find programs, the language, the user's
//! session and audio), so nothing else of Alertdesk's environment, such as a token, reaches it.
//!
//! Speaking never blocks and never starts a thread or a process per alert: the texts go to one speech thread,
//! started with the first, which runs one program at a time, each for at most [`MAX_SPEAKING`]. At most
//! [`QUEUE`] texts wait for it; past that the oldest waiting is dropped (counted, and warned about in the log),
//! so a flood of critical alerts reads out the latest ones. No program installed is logged once.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::alerting::bounded::Dropped;

/// The longest title read out, in characters (a title is a headline; the rest is in the notification).
const MAX_TITLE: usize = 160;

/// The speech programs tried, in order of preference.
pub const PROGRAMS: &[&str] = &["spd-say", "espeak-ng"];

/// The most texts waiting for the speech thread; past it the oldest waiting is dropped.
pub const QUEUE: usize = 4;

/// The longest one text may be read; a program still running then is ended.
pub const MAX_SPEAKING: Duration = Duration::from_secs(30);

/// The environment variables a speech program is given, when Alertdesk has them: where programs are, the
/// user's home and language, and how to reach the session bus, speech-dispatcher and the sound server.
pub const PASSED_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_MESSAGES",
    "LC_CTYPE",
    "XDG_RUNTIME_DIR",
    "DBUS_SESSION_BUS_ADDRESS",
    "PULSE_SERVER",
    "SPEECHD_ADDRESS",
];

/// How often the speech thread looks whether its program ended.
const POLL: Duration = Duration::from_millis(20);

/// Reads texts aloud through the first speech program found on `PATH` (see the [module](self)).
#[derive(Debug)]
pub struct Speaker {
    program: Option<PathBuf>,
    env: Arc<[(OsString, OsString)]>,
    max_speaking: Duration,
    said_missing: AtomicBool,
    /// The texts for the speech thread, which starts with the first.
    texts: OnceLock<Arc<Texts>>,
}

impl Speaker {
    /// Looks the programs up on this process's `PATH`; they get [`PASSED_ENV`] of this process's environment.
    pub fn from_env() -> Self {
        Self::with_program(find_program(std::env::var_os("PATH").as_deref()))
    }

    /// A speaker using `program` (`None`: nothing installed), with [`PASSED_ENV`] of this process's environment.
    pub fn with_program(program: Option<PathBuf>) -> Self {
        Self::new(program, speech_env(|name| std::env::var_os(name)))
    }

    /// A speaker using `program` with exactly the environment `env`.
    pub fn new(program: Option<PathBuf>, env: Vec<(OsString, OsString)>) -> Self {
        Self {
            program,
            env: env.into(),
            max_speaking: MAX_SPEAKING,
            said_missing: AtomicBool::new(false),
            texts: OnceLock::new(),
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
        let texts = self.texts.get_or_init(|| {
            let texts = Arc::new(Texts::new(QUEUE));
            let job = SpeechJob {
                texts: Arc::clone(&texts),
                program: program.clone(),
                env: Arc::clone(&self.env),
                max_speaking: self.max_speaking,
            };
            let started = std::thread::Builder::new()
                .name("alertdesk-speech".into())
                .spawn(move || job.run());
            if let Err(e) = started {
                tracing::warn!(
                    "cannot start the speech thread: {e}; critical alerts are not read aloud"
                );
                texts.close();
            }
            texts
        });
        texts.push(critical_text(title));
    }

    /// How many texts were dropped because too many were waiting.
    pub fn dropped(&self) -> u64 {
        self.texts
            .get()
            .map_or(0, |texts| texts.lock().dropped.total())
    }
}

impl Drop for Speaker {
    /// The speech thread ends the program it runs, drops what waits, and ends.
    fn drop(&mut self) {
        if let Some(texts) = self.texts.get() {
            texts.close();
        }
    }
}

/// The texts waiting for the speech thread, at most `capacity`.
#[derive(Debug)]
struct Texts {
    state: Mutex<Waiting>,
    changed: Condvar,
}

#[derive(Debug)]
struct Waiting {
    texts: VecDeque<String>,
    capacity: usize,
    dropped: Dropped,
    closed: bool,
}

impl Texts {
    fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(Waiting {
                texts: VecDeque::with_capacity(capacity),
                capacity,
                dropped: Dropped::new(
                    "critical alerts not read aloud",
                    "critical alerts come faster than they can be read aloud",
                ),
                closed: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn push(&self, text: String) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        if state.texts.len() >= state.capacity {
            state.texts.pop_front();
            state.dropped.note();
        }
        state.texts.push_back(text);
        drop(state);
        self.changed.notify_all();
    }

    fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    /// The next text, waiting for one; `None` once closed.
    fn next(&self) -> Option<String> {
        let mut state = self.lock();
        loop {
            if state.closed {
                return None;
            }
            if let Some(text) = state.texts.pop_front() {
                return Some(text);
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Waits at most `timeout` for a change; says whether the texts were closed.
    fn closed_within(&self, timeout: Duration) -> bool {
        let state = self.lock();
        if state.closed {
            return true;
        }
        let (state, _) = self
            .changed
            .wait_timeout(state, timeout)
            .unwrap_or_else(PoisonError::into_inner);
        state.closed
    }

    fn lock(&self) -> MutexGuard<'_, Waiting> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The speech thread: one program at a time, until the speaker is dropped.
struct SpeechJob {
    texts: Arc<Texts>,
    program: PathBuf,
    env: Arc<[(OsString, OsString)]>,
    max_speaking: Duration,
}

impl SpeechJob {
    fn run(self) {
        let mut said_failure = false;
        while let Some(text) = self.texts.next() {
            match command(&self.program, &text, &self.env).spawn() {
                Ok(child) => self.wait(child),
                Err(e) => {
                    if !std::mem::replace(&mut said_failure, true) {
                        tracing::warn!("cannot run {}: {e}", self.program.display());
                    }
                }
            }
        }
    }

    /// Waits for the program to end: at most `max_speaking`, and not past the speaker's end.
    fn wait(&self, mut child: Child) {
        let deadline = Instant::now() + self.max_speaking;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!("cannot wait for {}: {e}", self.program.display());
                    break;
                }
            }
            let now = Instant::now();
            if now >= deadline {
                tracing::warn!(
                    "{} was still reading after {} s; it was ended",
                    self.program.display(),
                    self.max_speaking.as_secs()
                );
                break;
            }
            if self.texts.closed_within(POLL.min(deadline - now)) {
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The environment a speech program gets: the [`PASSED_ENV`] variables `lookup` has, nothing else.
pub fn speech_env(lookup: impl Fn(&str) -> Option<OsString>) -> Vec<(OsString, OsString)> {
    PASSED_ENV
        .iter()
        .filter_map(|name| lookup(name).map(|value| (OsString::from(name), value)))
        .collect()
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
    crate::domain::one_line(title)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_TITLE)
        .collect()
}

/// The command that says `text`: the program itself (no shell), the text as one argument after `--`, so a
/// title starting with `-` is never taken for an option, with exactly the environment `env`. Output is
/// discarded.
pub fn command(program: &Path, text: &str, env: &[(OsString, OsString)]) -> Command {
    let mut command = Command::new(program);
    command
        .env_clear()
        .envs(env.iter().map(|(name, value)| (name, value)))
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
        let command = command(Path::new("/usr/bin/espeak-ng"), &text, &[]);
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

    /// A fake speech program: logs each text it is given, notes a run that overlaps another, and takes `secs`.
    #[cfg(unix)]
    fn fake_program(dir: &Path, secs: &str) -> (PathBuf, PathBuf) {
        use std::os::unix::fs::PermissionsExt;

        let (log, lock, script) = (
            dir.join("spoken"),
            dir.join("running"),
            dir.join("espeak-ng"),
        );
        let (log_s, lock_s) = (log.display(), lock.display());
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nmkdir '{lock_s}' 2>/dev/null || echo OVERLAP >> '{log_s}'\n\
                 printf '%s\\n' \"$2\" >> '{log_s}'\n/bin/sleep {secs}\nrmdir '{lock_s}'\n"
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        (script, log)
    }

    fn lines(log: &Path) -> Vec<String> {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[cfg(unix)]
    #[test]
    fn one_program_at_a_time_and_the_latest_texts_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let (program, log) = fake_program(dir.path(), "0.3");
        let speaker = Speaker::new(Some(program), vec![]);
        let started = Instant::now();
        for n in 0..12 {
            speaker.speak_critical(&format!("Fire {n}"));
        }
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "speaking never waits"
        );
        // Everything is either read or dropped, one program after the other.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline
            && (lines(&log).len() as u64 + speaker.dropped() < 12
                || dir.path().join("running").exists())
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let spoken = lines(&log);
        assert!(!spoken.iter().any(|l| l == "OVERLAP"), "{spoken:?}");
        assert_eq!(spoken.len() as u64 + speaker.dropped(), 12, "{spoken:?}");
        assert!(spoken.len() <= QUEUE + 1, "{spoken:?}");
        // The oldest waiting were dropped: the newest are read, in order.
        assert_eq!(spoken.last().map(String::as_str), Some("Critical: Fire 11"));
        let numbers: Vec<u32> = spoken
            .iter()
            .map(|l| l["Critical: Fire ".len()..].parse().unwrap())
            .collect();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
        assert!(
            numbers[numbers.len() - QUEUE..] == [8, 9, 10, 11],
            "{numbers:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_program_that_does_not_end_is_ended() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("spoken");
        let script = dir.path().join("spd-say");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$2\" >> '{}'\nexec /bin/sleep 60\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut speaker = Speaker::new(Some(script), vec![]);
        speaker.max_speaking = Duration::from_millis(300);
        speaker.speak_critical("first");
        speaker.speak_critical("second");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && lines(&log).len() < 2 {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(lines(&log), ["Critical: first", "Critical: second"]);
    }

    #[cfg(unix)]
    #[test]
    fn the_program_gets_only_the_environment_it_is_given() {
        use std::os::unix::fs::PermissionsExt;

        let env = speech_env(|name| match name {
            "PATH" => Some("/usr/bin:/bin".into()),
            "LANG" => Some("C.UTF-8".into()),
            "ALERTDESK_TOKEN" | "AWS_SECRET_ACCESS_KEY" => Some("secret".into()),
            _ => None,
        });
        assert_eq!(
            env,
            [
                (OsString::from("PATH"), OsString::from("/usr/bin:/bin")),
                (OsString::from("LANG"), OsString::from("C.UTF-8"))
            ]
        );

        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("env");
        let script = dir.path().join("espeak-ng");
        std::fs::write(
            &script,
            format!("#!/bin/sh\n/usr/bin/env > '{}'\n", out.display()),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        // This test's own environment (cargo's variables, HOME, ...) must not reach the program.
        let status = command(&script, "Critical: x", &env).status().unwrap();
        assert!(status.success());
        let seen: std::collections::BTreeMap<String, String> = lines(&out)
            .iter()
            .filter_map(|l| l.split_once('='))
            .filter(|(name, _)| !["PWD", "OLDPWD", "SHLVL", "_"].contains(name))
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            seen.into_iter().collect::<Vec<_>>(),
            [
                ("LANG".to_string(), "C.UTF-8".to_string()),
                ("PATH".to_string(), "/usr/bin:/bin".to_string())
            ]
        );
    }
}
