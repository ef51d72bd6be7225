//! The commands the UI may call. Thin: each one reads or delegates to the core. Their names are listed in
//! `build.rs`, which generates the `allow-<name>` permissions the capability files grant.

use serde::Serialize;
use tauri::State;

use crate::desktop::AppState;

/// What the UI shows about this build and run.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AppInfo {
    name: &'static str,
    version: &'static str,
    /// Why settings.toml was ignored, if it was.
    settings_error: Option<String>,
}

#[tauri::command]
#[allow(clippy::needless_pass_by_value)] // Tauri hands commands their State by value.
pub(crate) fn app_info(state: State<'_, AppState>) -> AppInfo {
    AppInfo {
        name: "Alertdesk",
        version: alertdesk_core::VERSION,
        settings_error: state.settings_error.clone(),
    }
}
