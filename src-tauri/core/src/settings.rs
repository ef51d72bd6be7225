//! The user's settings, `settings.toml` in the config directory (see `docs/settings.md`).
//!
//! A missing file means defaults. A present file is parsed strictly: an unknown key or a wrong type is an error
//! naming the file, line and column, because a silently ignored typo in an alerting setting is a missed alert.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// All settings. Every field has a default, so a file only lists what it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Logging.
    pub log: LogSettings,
    /// The desktop window.
    pub window: WindowSettings,
    /// The alert history.
    pub history: HistorySettings,
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// A `tracing` filter such as `info` or `alertdesk_core=debug,info`. `ALERTDESK_LOG` overrides it.
    pub level: String,
    /// How many daily log files to keep.
    pub keep_files: usize,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info".into(),
            keep_files: 7,
        }
    }
}

/// `[window]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WindowSettings {
    /// Start with the window hidden in the tray (for machines that start Alertdesk at login).
    pub start_hidden: bool,
    /// Closing the window hides it to the tray; `false` makes closing the window quit the app.
    pub close_to_tray: bool,
}

impl Default for WindowSettings {
    fn default() -> Self {
        Self {
            start_hidden: false,
            close_to_tray: true,
        }
    }
}

/// `[history]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HistorySettings {
    /// Alerts not received or updated for this many days are deleted (at least 1).
    pub retention_days: u32,
    /// At most this many alerts are kept; beyond it the oldest are deleted (at least 1).
    pub max_alerts: usize,
}

impl Default for HistorySettings {
    fn default() -> Self {
        Self {
            retention_days: 30,
            max_alerts: 50_000,
        }
    }
}

impl HistorySettings {
    /// `retention_days` as a duration.
    pub fn max_age(&self) -> Duration {
        Duration::from_secs(u64::from(self.retention_days) * 24 * 60 * 60)
    }
}

impl Settings {
    /// Loads `path`, or the defaults when it does not exist.
    pub fn load(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).map_err(|message| Error::Settings {
                path: path.into(),
                message,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Parses settings text; the error message names the line and column.
    pub fn parse(text: &str) -> Result<Self, String> {
        let settings: Self = toml::from_str(text).map_err(|e| describe_toml_error(text, &e))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), String> {
        if self.log.keep_files == 0 {
            return Err("log.keep_files must be at least 1".into());
        }
        if self.history.retention_days == 0 {
            return Err("history.retention_days must be at least 1".into());
        }
        if self.history.max_alerts == 0 {
            return Err("history.max_alerts must be at least 1".into());
        }
        Ok(())
    }
}

/// The settings as TOML, every key listed (what `alertdesk settings` prints).
pub fn to_toml(settings: &Settings) -> String {
    toml::to_string_pretty(settings).unwrap_or_else(|e| format!("# cannot print settings: {e}\n"))
}

/// Turns a TOML error into `line L, column C: message`.
pub(crate) fn describe_toml_error(text: &str, err: &toml::de::Error) -> String {
    let message = err.message();
    match err.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::Settings;

    #[test]
    fn missing_file_gives_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::load(&dir.path().join("settings.toml")).unwrap();
        assert_eq!(settings, Settings::default());
        assert!(settings.window.close_to_tray);
    }

    #[test]
    fn file_overrides_only_what_it_lists() {
        let settings = Settings::parse("[log]\nlevel = \"debug\"\n").unwrap();
        assert_eq!(settings.log.level, "debug");
        assert_eq!(settings.log.keep_files, 7);
    }

    #[test]
    fn unknown_key_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.toml");
        std::fs::write(&path, "[log]\nlevel = \"info\"\nlevle = \"debug\"\n").unwrap();
        let err = Settings::load(&path).unwrap_err().to_string();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        assert!(err.contains("line 3, column 1"), "{err}");
        assert!(err.contains("levle"), "{err}");
    }

    #[test]
    fn printed_settings_parse_back() {
        let settings = Settings::parse("[window]\nstart_hidden = true\n").unwrap();
        assert_eq!(
            Settings::parse(&super::to_toml(&settings)).unwrap(),
            settings
        );
    }

    #[test]
    fn wrong_type_and_bad_value_are_errors() {
        let err = Settings::parse("[window]\nstart_hidden = \"yes\"\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        let err = Settings::parse("[log]\nkeep_files = 0\n").unwrap_err();
        assert!(err.contains("keep_files"), "{err}");
    }

    #[test]
    fn history_section() {
        let defaults = Settings::default().history;
        assert_eq!((defaults.retention_days, defaults.max_alerts), (30, 50_000));
        assert_eq!(defaults.max_age().as_secs(), 30 * 86_400);

        let settings = Settings::parse("[history]\nretention_days = 7\n").unwrap();
        assert_eq!(settings.history.retention_days, 7);
        assert_eq!(settings.history.max_alerts, 50_000);

        for (text, key) in [
            ("[history]\nretention_days = 0\n", "retention_days"),
            ("[history]\nmax_alerts = 0\n", "max_alerts"),
        ] {
            let err = Settings::parse(text).unwrap_err();
            assert!(err.contains(key) && err.contains("at least 1"), "{err}");
        }
        let err = Settings::parse("[history]\nmax_alerts = -5\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        let err = Settings::parse("[history]\nretention = 3\n").unwrap_err();
        assert!(
            err.contains("line 2, column 1") && err.contains("retention"),
            "{err}"
        );
        let err = Settings::parse("[history]\nretention_days = \"30\"\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }
}
