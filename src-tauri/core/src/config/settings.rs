//! The user's settings, `settings.toml` in the config directory (see `docs/settings.md`).
//!
//! A missing file means defaults. A present file is parsed strictly: an unknown key or a wrong type is an error
//! naming the file, line and column, because a silently ignored typo in an alerting setting is a missed alert.
//!
//! The department's system-wide files are merged under the user's, key by key ([`super::layers`]); a new setting
//! is layered, printed with its source and lockable by `locked = [...]` with nothing more to do, as long as it
//! has a default. A setting with no default (an `Option` left out when unset) must be listed in
//! [`OPTIONAL_KEYS`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::domain::Priority;
use crate::{Error, Result};

/// Settings that have no default value: absent until a file sets them, and set as a whole (never merged key by
/// key). Listed so that `locked` may name them and `alertdesk settings` shows them unset.
pub const OPTIONAL_KEYS: &[&str] = &[
    "alerting.quiet_hours",
    "network.client_cert",
    "network.client_key",
    "network.proxy",
];

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
    /// How alerts are notified: repeats, bursts, quiet hours, link alarms and sounds.
    pub alerting: AlertingSettings,
    /// Signed updates of the desktop app.
    pub updates: UpdateSettings,
    /// The REST calls to servers.
    pub network: NetworkSettings,
    /// Sign-ins that expire: when a token is renewed, and when to warn that one ends.
    pub session: super::session::SessionSettings,
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// A `tracing` filter such as `info` or `alertdesk_core=debug,info`. `ALERTDESK_LOG` overrides it.
    pub level: String,
    /// The log file is rotated when it would grow past this many megabytes (1 to 1024).
    pub max_file_mb: u64,
    /// How many rotated log files are kept besides the current one (1 to 100); older ones are deleted.
    pub keep_files: usize,
    /// The same warning (same place in the code, same text, same server) is written at most once in this many
    /// seconds; the next one written says how many were left out (1 to 86400).
    pub repeat_warnings_secs: u64,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info".into(),
            max_file_mb: 10,
            keep_files: 5,
            repeat_warnings_secs: 60,
        }
    }
}

impl LogSettings {
    /// `max_file_mb` in bytes.
    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_mb.saturating_mul(1024 * 1024)
    }

    /// `repeat_warnings_secs` as a duration.
    pub fn repeat_warnings(&self) -> Duration {
        Duration::from_secs(self.repeat_warnings_secs)
    }

    /// Checks every value; the error names the setting.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=1024).contains(&self.max_file_mb) {
            return Err(format!(
                "log.max_file_mb is {}; it must be between 1 and 1024",
                self.max_file_mb
            ));
        }
        if !(1..=100).contains(&self.keep_files) {
            return Err(format!(
                "log.keep_files is {}; it must be between 1 and 100",
                self.keep_files
            ));
        }
        if !(1..=86_400).contains(&self.repeat_warnings_secs) {
            return Err(format!(
                "log.repeat_warnings_secs is {}; it must be between 1 and 86400",
                self.repeat_warnings_secs
            ));
        }
        Ok(())
    }
}

/// `[window]`: switches, each one a user (or the department) turns on or off.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WindowSettings {
    /// Start with the window hidden in the tray (for machines that start Alertdesk at login).
    pub start_hidden: bool,
    /// Start Alertdesk at login, hidden in the tray: an XDG autostart entry the desktop app writes or removes.
    pub autostart: bool,
    /// Closing the window hides it to the tray; `false` makes closing the window quit the app.
    pub close_to_tray: bool,
    /// Light or dark: `system` follows the desktop's preference.
    pub theme: Theme,
    /// GPU-accelerated compositing in the web view; `false` draws in software and saves about 80 MB (a
    /// machine short of memory, or a GPU driver that misbehaves).
    pub gpu: bool,
}

impl Default for WindowSettings {
    fn default() -> Self {
        Self {
            start_hidden: false,
            autostart: false,
            close_to_tray: true,
            theme: Theme::System,
            gpu: true,
        }
    }
}

/// `[window] theme`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, TS)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Follow the desktop.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark (night shifts).
    Dark,
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

/// `[alerting]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertingSettings {
    /// Critical alerts and assignments to me are notified again this often until acknowledged or read
    /// (at least 5).
    pub repeat_every_secs: u64,
    /// After this many repeats the window comes to the front and asks for attention (at least 1).
    pub escalate_after: u32,
    /// In a burst (one second), alerts beyond this many are folded into one summary (at least 1).
    pub coalesce_above: usize,
    /// A flood of urgent alerts: past this many critical alerts and assignments to me within
    /// `flood_window_secs`, the rest are summarised like the others, and while more than this many repeat,
    /// their repeats collapse into one "N critical alerts not acknowledged" (at least 1).
    pub flood_above: usize,
    /// The window `flood_above` counts in (at least 1).
    pub flood_window_secs: u64,
    /// Statuses that close a record (its status is where its profile's rule says): reaching one is notified
    /// ("Status: closed."), ends the repeats, and later versions of a closed record stay quiet.
    pub terminal_statuses: Vec<String>,
    /// Whether the user is on duty: only then does a lost connection raise an alarm.
    pub on_duty: bool,
    /// A server unreachable this long raises the link alarm (at least 5).
    pub link_alarm_after_secs: u64,
    /// Sound volume, 0 to 100.
    pub volume: u8,
    /// The tone each priority plays.
    pub tones: ToneSettings,
    /// Must be `true` in the same file for a change that silences critical alerts (volume 0 or tone `none`).
    pub confirm_silence_critical: bool,
    /// Read critical alerts aloud ("Critical: <title>") through `spd-say` or `espeak-ng` when installed.
    pub speak_critical: bool,
    /// Quiet hours (local time): only critical alerts and assignments to me sound. None by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
}

impl Default for AlertingSettings {
    fn default() -> Self {
        Self {
            repeat_every_secs: 30,
            escalate_after: 3,
            coalesce_above: 5,
            flood_above: 10,
            flood_window_secs: 60,
            terminal_statuses: vec!["closed".into(), "completed".into(), "resolved".into()],
            on_duty: true,
            link_alarm_after_secs: 60,
            volume: 80,
            tones: ToneSettings::default(),
            confirm_silence_critical: false,
            speak_critical: false,
            quiet_hours: None,
        }
    }
}

/// `[alerting.tones]`: the bundled tone file each priority plays, or `none` for silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ToneSettings {
    /// Low priority.
    pub low: String,
    /// Normal priority.
    pub normal: String,
    /// High priority.
    pub high: String,
    /// Critical priority.
    pub critical: String,
}

impl Default for ToneSettings {
    fn default() -> Self {
        Self {
            low: "low".into(),
            normal: "normal".into(),
            high: "high".into(),
            critical: "critical".into(),
        }
    }
}

/// The tone name that means no sound.
pub const NO_TONE: &str = "none";

impl ToneSettings {
    /// The tone for `priority` (may be [`NO_TONE`]).
    pub fn for_priority(&self, priority: Priority) -> &str {
        match priority {
            Priority::Low => &self.low,
            Priority::Normal => &self.normal,
            Priority::High => &self.high,
            Priority::Critical => &self.critical,
        }
    }
}

/// `quiet_hours = { from = "22:00", to = "06:00" }`: local times; `from` later than `to` spans midnight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// Start, `HH:MM` (inclusive).
    pub from: String,
    /// End, `HH:MM` (exclusive).
    pub to: String,
}

impl QuietHours {
    /// The start and end as times, or an error naming the bad one.
    pub fn times(&self) -> Result<(NaiveTime, NaiveTime), String> {
        let parse = |key: &str, value: &str| {
            let ok = value.len() == 5 && value.as_bytes()[2] == b':';
            ok.then(|| NaiveTime::parse_from_str(value, "%H:%M").ok())
                .flatten()
                .ok_or_else(|| {
                    format!(
                        "alerting.quiet_hours.{key} is {value:?}; expected HH:MM like \"22:00\""
                    )
                })
        };
        let (from, to) = (parse("from", &self.from)?, parse("to", &self.to)?);
        if from == to {
            return Err("alerting.quiet_hours: from and to are the same time".into());
        }
        Ok((from, to))
    }

    /// Whether `time` falls inside (an invalid range contains nothing).
    pub fn contains(&self, time: NaiveTime) -> bool {
        match self.times() {
            Ok((from, to)) if from < to => from <= time && time < to,
            Ok((from, to)) => time >= from || time < to,
            Err(_) => false,
        }
    }
}

/// Whether `status` is one of `closing` (compared without regard to case or surrounding space).
pub fn closes(closing: &[String], status: &str) -> bool {
    closing
        .iter()
        .any(|c| c.eq_ignore_ascii_case(status.trim()))
}

impl AlertingSettings {
    /// `repeat_every_secs` as a duration.
    pub fn repeat_every(&self) -> Duration {
        Duration::from_secs(self.repeat_every_secs)
    }

    /// `flood_window_secs` as a duration.
    pub fn flood_window(&self) -> Duration {
        Duration::from_secs(self.flood_window_secs)
    }

    /// `link_alarm_after_secs` as a duration.
    pub fn link_alarm_after(&self) -> Duration {
        Duration::from_secs(self.link_alarm_after_secs)
    }

    /// Whether `status` closes a record (one of `terminal_statuses`, compared without regard to case).
    pub fn closes(&self, status: &str) -> bool {
        closes(&self.terminal_statuses, status)
    }

    /// Whether these settings play no sound for critical alerts.
    pub fn silences_critical(&self) -> bool {
        self.volume == 0 || self.tones.critical == NO_TONE
    }

    /// Checks every value; the error names the setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.repeat_every_secs < 5 {
            return Err("alerting.repeat_every_secs must be at least 5".into());
        }
        if self.escalate_after == 0 {
            return Err("alerting.escalate_after must be at least 1".into());
        }
        if self.coalesce_above == 0 {
            return Err("alerting.coalesce_above must be at least 1".into());
        }
        if self.flood_above == 0 {
            return Err("alerting.flood_above must be at least 1".into());
        }
        if self.flood_window_secs == 0 {
            return Err("alerting.flood_window_secs must be at least 1".into());
        }
        if self.link_alarm_after_secs < 5 {
            return Err("alerting.link_alarm_after_secs must be at least 5".into());
        }
        if self.volume > 100 {
            return Err(format!(
                "alerting.volume is {}; it must be between 0 and 100",
                self.volume
            ));
        }
        if self.terminal_statuses.iter().any(|s| s.trim().is_empty()) {
            return Err("alerting.terminal_statuses must not contain an empty status".into());
        }
        for (key, tone) in [
            ("low", &self.tones.low),
            ("normal", &self.tones.normal),
            ("high", &self.tones.high),
            ("critical", &self.tones.critical),
        ] {
            let valid = !tone.is_empty()
                && tone
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid {
                return Err(format!(
                    "alerting.tones.{key} is {tone:?}; a tone is a bundled tone's name (letters, digits, - and _) \
                     or \"none\""
                ));
            }
        }
        if let Some(quiet) = &self.quiet_hours {
            quiet.times()?;
        }
        if self.silences_critical() && !self.confirm_silence_critical {
            let what = if self.volume == 0 {
                "alerting.volume = 0"
            } else {
                "alerting.tones.critical = \"none\""
            };
            return Err(format!(
                "{what} silences critical alerts; add alerting.confirm_silence_critical = true to confirm"
            ));
        }
        Ok(())
    }
}

/// `[updates]`: where and how often the desktop app looks for signed updates.
///
/// There is deliberately no key for the signing public key: it is built into the package, because this file is
/// writable by the user and the key is what stands between a forged build and an install as root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpdateSettings {
    /// Whether the app looks for updates at all (at start, periodically and on request).
    pub enabled: bool,
    /// Update manifest URLs (`latest.json`), tried in order. Empty means the ones built into the package.
    pub endpoints: Vec<String>,
    /// Hours between two automatic checks (at least 1).
    pub check_every_hours: u32,
}

impl Default for UpdateSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            endpoints: Vec::new(),
            check_every_hours: 6,
        }
    }
}

impl UpdateSettings {
    /// `check_every_hours` as a duration.
    pub fn check_every(&self) -> Duration {
        Duration::from_secs(u64::from(self.check_every_hours) * 60 * 60)
    }

    /// The endpoints as URLs (empty when the package's own are to be used).
    pub fn endpoint_urls(&self) -> Result<Vec<url::Url>, String> {
        self.endpoints.iter().map(|e| parse_endpoint(e)).collect()
    }

    /// Checks every value; the error names the setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.check_every_hours == 0 {
            return Err("updates.check_every_hours must be at least 1".into());
        }
        self.endpoint_urls().map(|_| ())
    }
}

/// `[network]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkSettings {
    /// The largest REST answer read, in MiB (1 to 1024): a larger one stops the read with an error.
    pub max_body_mib: u32,
    /// Certificate authorities (PEM files, full paths) trusted besides the OS trust store, for every server.
    pub ca_files: Vec<PathBuf>,
    /// A client certificate (PEM, full path) for servers that require mutual TLS; with `client_key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM, full path), readable by the user only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key: Option<PathBuf>,
    /// An HTTP proxy for every connection, `http://host:port` or `http://user@host:port` (the password is in
    /// the OS keyring: `alertdesk proxy login`); replaces the proxy environment variables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// Hosts reached without `proxy` (curl's `NO_PROXY` rules: names and what is under them, addresses,
    /// CIDR ranges).
    pub no_proxy: Vec<String>,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        Self {
            max_body_mib: 8,
            ca_files: Vec::new(),
            client_cert: None,
            client_key: None,
            proxy: None,
            no_proxy: Vec::new(),
        }
    }
}

impl NetworkSettings {
    /// `max_body_mib` in bytes.
    pub fn max_body_bytes(&self) -> usize {
        usize::try_from(self.max_body_mib)
            .unwrap_or(usize::MAX)
            .saturating_mul(1024 * 1024)
    }

    /// Makes these settings the process's (the cap on every REST answer read from now on).
    pub fn apply(&self) {
        crate::link::http::set_max_body(self.max_body_bytes());
    }

    /// Checks every value; the error names the setting. (The files are read when the network is set up, with
    /// errors naming them: see [`crate::link::net`].)
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=1024).contains(&self.max_body_mib) {
            return Err(format!(
                "network.max_body_mib is {}; it must be between 1 and 1024",
                self.max_body_mib
            ));
        }
        let files = self.ca_files.iter().map(|f| ("ca_files", f));
        let identity = [
            ("client_cert", &self.client_cert),
            ("client_key", &self.client_key),
        ];
        for (key, path) in files.chain(identity.iter().filter_map(|(k, p)| Some((*k, p.as_ref()?))))
        {
            if !path.is_absolute() {
                return Err(format!(
                    "network.{key}: {} must be a full path (starting with /)",
                    path.display()
                ));
            }
        }
        if self.client_cert.is_some() != self.client_key.is_some() {
            return Err(
                "network.client_cert and network.client_key go together: set both or neither"
                    .into(),
            );
        }
        if let Some(proxy) = &self.proxy {
            crate::link::net::ProxyServer::parse(proxy, "network.proxy", false)
                .map_err(|e| e.to_string())?;
        }
        if !self.no_proxy.is_empty() && self.proxy.is_none() {
            return Err(
                "network.no_proxy is only for network.proxy (with the proxy of the environment, NO_PROXY applies)"
                    .into(),
            );
        }
        Ok(())
    }
}

/// An update endpoint: `https://`, or `http://` to this machine only (for testing a release locally).
fn parse_endpoint(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text)
        .map_err(|e| format!("updates.endpoints: {text:?} is not a URL ({e})"))?;
    let loopback = matches!(url.host(), Some(url::Host::Domain("localhost")))
        || matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(format!(
            "updates.endpoints: {text:?} must be an https:// URL (http:// only to this machine, for testing)"
        )),
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

    /// Checks every value; the error names the setting.
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.log.validate()?;
        if self.history.retention_days == 0 {
            return Err("history.retention_days must be at least 1".into());
        }
        if self.history.max_alerts == 0 {
            return Err("history.max_alerts must be at least 1".into());
        }
        self.alerting.validate()?;
        self.updates.validate()?;
        self.network.validate()?;
        self.session.validate()
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
mod tests;
