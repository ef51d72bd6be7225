//! Settings in the running app: the settings pane's commands, applying changed settings at once (the engine's
//! alerting, the window's theme, the login autostart entry), and following settings files changed outside the
//! window (`alertdesk settings set`, an editor, the department's files).
//!
//! | Command | Arguments | Returns |
//! | --- | --- | --- |
//! | `settings` | none | `SettingsPane`: the pane's settings in effect, read from the files now |
//! | `set_setting` | `change: PaneChange` | `SettingsPane` after the change; `SettingsErrorView` when refused |
//!
//! Changes found in the files are emitted as `settings-changed` (a `SettingsPane`).

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use alertdesk_core::config::edit::SettingsError;
use alertdesk_core::config::layers::{Effective, FILE_NAME};
use alertdesk_core::config::pane::{self, PaneChange, PaneKey, SettingsPane};
use alertdesk_core::config::paths::Paths;
use alertdesk_core::engine::Engine;
use tauri::{AppHandle, Emitter, Manager, State};
use tauri_plugin_autostart::ManagerExt;

use crate::desktop::{window_theme, MAIN_WINDOW};

/// The event that carries settings changed outside the window.
pub(crate) const CHANGED_EVENT: &str = "settings-changed";

/// How often the settings files are looked at for changes made outside the window.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// The name of the login autostart entry (`~/.config/autostart/Alertdesk.desktop`).
pub(crate) const AUTOSTART_NAME: &str = "Alertdesk";

/// What the settings commands need; registered once in `setup`.
pub(crate) struct SettingsState {
    paths: Paths,
    /// The settings files as last applied, so that a change is applied once.
    seen: Mutex<Stamp>,
    /// Why no autostart entry can be written for this run, if it cannot.
    autostart_blocked: Option<String>,
}

/// Each settings file's modification time and size (`None`: absent).
type Stamp = Vec<(PathBuf, Option<(SystemTime, u64)>)>;

impl SettingsState {
    pub(crate) fn new(paths: Paths, autostart_blocked: Option<String>) -> Self {
        let seen = Mutex::new(stamp(&paths));
        Self {
            paths,
            seen,
            autostart_blocked,
        }
    }

    /// The settings in effect now, read from the files.
    pub(crate) fn effective(&self) -> Effective {
        Effective::load(&self.paths)
    }

    fn lock_seen(&self) -> std::sync::MutexGuard<'_, Stamp> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn stamp(paths: &Paths) -> Stamp {
    paths
        .system_dirs
        .iter()
        .map(|dir| dir.join(FILE_NAME))
        .chain([paths.settings_file()])
        .map(|file| {
            let meta = std::fs::metadata(&file)
                .ok()
                .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
            (file, meta)
        })
        .collect()
}

/// The pane's settings in effect, read from the files now.
// Tauri hands commands their State by value.
#[allow(clippy::needless_pass_by_value)]
#[tauri::command]
pub(crate) fn settings(state: State<'_, SettingsState>) -> SettingsPane {
    pane::pane(&Effective::load(&state.paths))
}

/// Changes one of the pane's settings in the user's file and applies it at once.
#[tauri::command]
pub(crate) async fn set_setting(
    app: AppHandle,
    state: State<'_, SettingsState>,
    change: PaneChange,
) -> Result<SettingsPane, SettingsError> {
    let effective = pane::apply(&state.paths, &change)?;
    *state.lock_seen() = stamp(&state.paths);
    let autostart = apply(&app, &effective).await;
    if change.key() == PaneKey::Autostart {
        autostart.map_err(|message| SettingsError::Io {
            path: PathBuf::from(format!("~/.config/autostart/{AUTOSTART_NAME}.desktop")),
            source: std::io::Error::other(format!(
                "the setting is saved, but the login entry is not: {message}"
            )),
        })?;
    }
    Ok(pane::pane(&effective))
}

/// Hands `effective` to the running app: the engine (alerting, reading aloud, retention), the window's theme
/// and the login autostart entry. The autostart entry's failure is returned (and logged).
pub(crate) async fn apply(app: &AppHandle, effective: &Effective) -> Result<(), String> {
    if let Some(engine) = app.try_state::<Engine>() {
        engine.apply_settings(effective.settings.clone()).await;
    }
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        if let Err(e) = window.set_theme(window_theme(effective.settings.window.theme)) {
            tracing::warn!("cannot set the window's theme: {e}");
        }
    }
    reconcile_autostart(app, effective.settings.window.autostart)
}

/// Makes the login autostart entry match `[window] autostart`: written (afresh, so it names this binary and
/// data directory) when on, removed when off.
pub(crate) fn reconcile_autostart(app: &AppHandle, wanted: bool) -> Result<(), String> {
    let blocked = app
        .try_state::<SettingsState>()
        .and_then(|s| s.autostart_blocked.clone());
    let manager = app.autolaunch();
    let result = match (wanted, blocked) {
        (true, Some(reason)) => Err(reason),
        (true, None) => manager.enable().map_err(|e| e.to_string()),
        (false, _) => match manager.is_enabled() {
            Ok(true) => manager.disable().map_err(|e| e.to_string()),
            Ok(false) => Ok(()),
            Err(e) => Err(e.to_string()),
        },
    };
    match &result {
        Ok(()) => tracing::debug!(wanted, "login autostart entry matches the settings"),
        Err(e) => tracing::warn!(wanted, "cannot update the login autostart entry: {e}"),
    }
    result
}

/// The autostart plugin: its entry starts this binary hidden, on this run's data directory; and why no entry can
/// be written, if it cannot.
pub(crate) fn autostart_plugin(
    data_dir: Option<&std::path::Path>,
) -> (tauri::plugin::TauriPlugin<tauri::Wry>, Option<String>) {
    let (args, blocked) = match autostart_args(data_dir) {
        Ok(args) => (args, None),
        Err(reason) => (vec!["--hidden".to_string()], Some(reason)),
    };
    let plugin = tauri_plugin_autostart::Builder::new()
        .app_name(AUTOSTART_NAME)
        .args(args)
        .build();
    (plugin, blocked)
}

/// The arguments the login autostart entry starts Alertdesk with: hidden in the tray, on this run's data
/// directory. `Err`: the data directory's path cannot be written into an entry's command line (which the
/// entry writer does not quote), so no entry is written.
pub(crate) fn autostart_args(data_dir: Option<&std::path::Path>) -> Result<Vec<String>, String> {
    let mut args = vec!["--hidden".to_string()];
    if let Some(dir) = data_dir {
        let dir = std::path::absolute(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let text = dir.to_string_lossy();
        let plain = text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,@=:".contains(c));
        if !plain {
            return Err(format!(
                "the data directory {text:?} has spaces or other characters a login entry cannot hold; \
                 start Alertdesk at login some other way"
            ));
        }
        args.extend(["--data-dir".to_string(), text.into_owned()]);
    }
    Ok(args)
}

/// Follows the settings files: a change made outside the window (the command line, an editor, the department)
/// is applied like one made in the pane, said in the log, and sent to the window as `settings-changed`.
pub(crate) fn watch(app: &AppHandle) {
    let app = app.clone();
    // Ends with the process; a look at the files is a few stat calls.
    tauri::async_runtime::spawn(async move {
        loop {
            tokio::time::sleep(WATCH_EVERY).await;
            let Some(state) = app.try_state::<SettingsState>() else {
                continue;
            };
            let now = stamp(&state.paths);
            if *state.lock_seen() == now {
                continue;
            }
            *state.lock_seen() = now;
            let effective = Effective::load(&state.paths);
            tracing::info!("a settings file changed; applying it");
            alertdesk_cli::log_settings_problems(&effective);
            let _ = apply(&app, &effective).await;
            if let Err(e) = app.emit(CHANGED_EVENT, pane::pane(&effective)) {
                tracing::warn!("cannot emit {CHANGED_EVENT}: {e}");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::autostart_args;

    #[test]
    fn the_login_entry_starts_hidden_on_the_same_data_directory() {
        assert_eq!(autostart_args(None).unwrap(), ["--hidden"]);
        assert_eq!(
            autostart_args(Some(Path::new("/srv/alertdesk/data-1"))).unwrap(),
            ["--hidden", "--data-dir", "/srv/alertdesk/data-1"]
        );
        let relative = autostart_args(Some(Path::new("portable"))).unwrap();
        assert!(Path::new(&relative[2]).is_absolute(), "{relative:?}");
        let err = autostart_args(Some(Path::new("/home/a b/alertdesk"))).unwrap_err();
        assert!(err.contains("\"/home/a b/alertdesk\""), "{err}");
    }
}
