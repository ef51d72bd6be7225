//! The window's settings pane: the settings a user changes there (on duty, quiet hours, sound volume, speech,
//! start at login, theme), their values in effect and which ones the department locked; and a change to one.
//!
//! The pane can change these settings and no others: the web view never gets to point updates elsewhere or
//! loosen anything else. Each change is written by [`super::edit::change`], like `alertdesk settings set`.
//! `ui/src/generated/settings.ts` holds the TypeScript declarations (regenerate with
//! `UPDATE_BINDINGS=1 cargo test -p alertdesk-core bindings`).

use serde::{Deserialize, Serialize};
use toml_edit::Value;
use ts_rs::TS;

use super::edit::{self, SettingsError, SettingsErrorKind, SettingsErrorView};
use super::layers::{Effective, Source};
use super::paths::Paths;
use super::settings::{QuietHours, Theme};

/// A setting the pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PaneKey {
    /// `alerting.on_duty`
    OnDuty,
    /// `alerting.quiet_hours`
    QuietHours,
    /// `alerting.volume`
    Volume,
    /// `alerting.speak_critical`
    SpeakCritical,
    /// `window.autostart`
    Autostart,
    /// `window.theme`
    Theme,
}

impl PaneKey {
    /// Every setting of the pane, in its order.
    pub const ALL: [Self; 6] = [
        Self::OnDuty,
        Self::QuietHours,
        Self::Volume,
        Self::SpeakCritical,
        Self::Autostart,
        Self::Theme,
    ];

    /// The setting's key in `settings.toml`.
    pub fn key(self) -> &'static str {
        match self {
            Self::OnDuty => "alerting.on_duty",
            Self::QuietHours => "alerting.quiet_hours",
            Self::Volume => "alerting.volume",
            Self::SpeakCritical => "alerting.speak_critical",
            Self::Autostart => "window.autostart",
            Self::Theme => "window.theme",
        }
    }
}

/// Rust -> UI: the pane's settings in effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SettingsPane {
    /// `alerting.on_duty`
    pub on_duty: bool,
    /// `alerting.quiet_hours` (`null`: none).
    pub quiet_hours: Option<QuietHours>,
    /// `alerting.volume`, 0 to 100.
    pub volume: u8,
    /// `alerting.speak_critical`
    pub speak_critical: bool,
    /// `window.autostart`
    pub autostart: bool,
    /// `window.theme`
    pub theme: Theme,
    /// The settings the department locked: shown, not changeable.
    pub locked: Vec<PaneKey>,
    /// The settings whose value the department set without locking it (the user may change them).
    pub from_department: Vec<PaneKey>,
    /// Settings files left out because they are not valid, one sentence each.
    pub problems: Vec<String>,
}

/// UI -> Rust: one setting changed in the pane.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[serde(tag = "key", content = "value", rename_all = "snake_case")]
pub enum PaneChange {
    /// On or off duty.
    OnDuty(bool),
    /// Quiet hours, or none (`null`: the department's or none).
    QuietHours(Option<QuietHours>),
    /// Sound volume, 0 to 100.
    Volume(u8),
    /// Read critical alerts aloud.
    SpeakCritical(bool),
    /// Start at login.
    Autostart(bool),
    /// Light, dark or the system's.
    Theme(Theme),
}

impl PaneChange {
    /// Which setting.
    pub fn key(&self) -> PaneKey {
        match self {
            Self::OnDuty(_) => PaneKey::OnDuty,
            Self::QuietHours(_) => PaneKey::QuietHours,
            Self::Volume(_) => PaneKey::Volume,
            Self::SpeakCritical(_) => PaneKey::SpeakCritical,
            Self::Autostart(_) => PaneKey::Autostart,
            Self::Theme(_) => PaneKey::Theme,
        }
    }

    /// The value to write (`None`: remove the key from the user's file).
    fn value(&self) -> Option<Value> {
        match self {
            Self::OnDuty(on) | Self::SpeakCritical(on) | Self::Autostart(on) => {
                Some(Value::from(*on))
            }
            Self::Volume(volume) => Some(Value::from(i64::from(*volume))),
            Self::QuietHours(None) => None,
            Self::QuietHours(Some(quiet)) => {
                let mut table = toml_edit::InlineTable::new();
                table.insert("from", Value::from(quiet.from.trim()));
                table.insert("to", Value::from(quiet.to.trim()));
                Some(Value::InlineTable(table))
            }
            Self::Theme(theme) => Some(Value::from(match theme {
                Theme::System => "system",
                Theme::Light => "light",
                Theme::Dark => "dark",
            })),
        }
    }
}

/// The pane's view of `effective`.
pub fn pane(effective: &Effective) -> SettingsPane {
    let settings = &effective.settings;
    let which = |test: &dyn Fn(PaneKey) -> bool| -> Vec<PaneKey> {
        PaneKey::ALL.into_iter().filter(|k| test(*k)).collect()
    };
    SettingsPane {
        on_duty: settings.alerting.on_duty,
        quiet_hours: settings.alerting.quiet_hours.clone(),
        volume: settings.alerting.volume,
        speak_critical: settings.alerting.speak_critical,
        autostart: settings.window.autostart,
        theme: settings.window.theme,
        locked: which(&|k| effective.lock_on(k.key()).is_some()),
        from_department: which(&|k| {
            effective.lock_on(k.key()).is_none()
                && matches!(effective.source(k.key()), Some(Source::System(_)))
        }),
        problems: effective.problems.iter().map(ToString::to_string).collect(),
    }
}

/// Writes `change` to the user's file (refused for a locked setting or an invalid value) and returns the
/// settings now in effect, for the front-end to apply.
pub fn apply(paths: &Paths, change: &PaneChange) -> Result<Effective, SettingsError> {
    edit::change(paths, change.key().key(), change.value())
}

const REGENERATE: &str = "UPDATE_BINDINGS=1 cargo test -p alertdesk-core bindings";

/// The TypeScript declarations of the pane's types, as committed in `ui/src/generated/settings.ts`.
pub fn typescript() -> String {
    crate::engine::view::declarations(
        "src-tauri/core/src/config/pane.rs",
        REGENERATE,
        &[
            Theme::decl(),
            QuietHours::decl(),
            PaneKey::decl(),
            SettingsPane::decl(),
            PaneChange::decl(),
            SettingsErrorKind::decl(),
            SettingsErrorView::decl(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn bindings_match_the_ui() {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/generated/settings.ts");
        crate::engine::view::check_generated(&path, &typescript(), REGENERATE);
    }

    #[test]
    fn changes_arrive_as_the_ui_sends_them() {
        let parse = |json| serde_json::from_value::<PaneChange>(json).unwrap();
        assert_eq!(
            parse(serde_json::json!({"key": "on_duty", "value": false})),
            PaneChange::OnDuty(false)
        );
        assert_eq!(
            parse(serde_json::json!({"key": "quiet_hours", "value": null})),
            PaneChange::QuietHours(None)
        );
        assert_eq!(
            parse(serde_json::json!({"key": "theme", "value": "dark"})),
            PaneChange::Theme(Theme::Dark)
        );
        // Only the pane's settings: anything else does not even parse.
        assert!(serde_json::from_value::<PaneChange>(
            serde_json::json!({"key": "updates.endpoints", "value": ["https://evil.example"]})
        )
        .is_err());
        let quiet = PaneChange::QuietHours(Some(QuietHours {
            from: "22:00".into(),
            to: "06:00".into(),
        }));
        assert_eq!(
            quiet.value().unwrap().to_string(),
            "{ from = \"22:00\", to = \"06:00\" }"
        );
        assert_eq!(
            PaneChange::Theme(Theme::Light).value().unwrap().as_str(),
            Some("light")
        );
    }
}
