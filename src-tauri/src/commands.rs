//! The commands the UI may call. Thin: each one reads or delegates to the core's desk. Their names are listed
//! in `build.rs`, which generates the `allow-<name>` permissions the capability file grants.
//!
//! Arguments arrive camelCased from the UI (`fileName`, `onEvent`); types are in `ui/src/generated/types.ts`.
//! Errors are plain sentences for the UI to show.

use alertdesk_core::desk::{
    AlertDetail, Desk, DeskEvent, NotificationsRequest, ProfileInfo, ServerView, SignInForm,
};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;

use crate::bridge::UiSink;
use crate::desktop::AppState;

/// Every command, for `Builder::invoke_handler`.
pub(crate) fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        app_info,
        subscribe,
        profiles,
        import_profile,
        sign_in,
        sign_out,
        try_demo,
        alert_detail,
        mark_read,
        mark_all_read,
        clear_read,
        acknowledge,
        set_notifications,
    ]
}

/// What the UI shows about this build and run.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AppInfo {
    name: &'static str,
    version: &'static str,
    /// Why settings.toml was ignored, if it was.
    settings_error: Option<String>,
    /// `[window] theme`: "system", "light" or "dark".
    theme: alertdesk_core::settings::Theme,
}

// Tauri hands commands their State and arguments by value.
#[allow(clippy::needless_pass_by_value)]
#[tauri::command]
pub(crate) fn app_info(state: State<'_, AppState>) -> AppInfo {
    AppInfo {
        name: "Alertdesk",
        version: alertdesk_core::VERSION,
        settings_error: state.settings_error.clone(),
        theme: state.theme,
    }
}

/// Starts the event stream: a snapshot now, then batches.
#[allow(clippy::needless_pass_by_value)]
#[tauri::command]
pub(crate) fn subscribe(desk: State<'_, Desk>, on_event: Channel<DeskEvent>) {
    desk.subscribe(std::sync::Arc::new(UiSink(on_event)));
}

#[allow(clippy::needless_pass_by_value)]
#[tauri::command]
pub(crate) fn profiles(desk: State<'_, Desk>) -> Vec<ProfileInfo> {
    desk.profiles()
}

#[allow(clippy::needless_pass_by_value)]
#[tauri::command]
pub(crate) fn import_profile(
    desk: State<'_, Desk>,
    file_name: String,
    text: String,
) -> Result<ProfileInfo, String> {
    desk.import_profile(&file_name, &text)
}

#[tauri::command]
pub(crate) async fn sign_in(desk: State<'_, Desk>, form: SignInForm) -> Result<ServerView, String> {
    desk.sign_in(form, false).await
}

#[tauri::command]
pub(crate) async fn sign_out(desk: State<'_, Desk>, id: String) -> Result<(), String> {
    desk.sign_out(&id).await
}

/// "Try the demo": the built-in demo backend on a free loopback port, signed in through the normal path.
#[tauri::command]
pub(crate) async fn try_demo(
    desk: State<'_, Desk>,
    demo: State<'_, crate::demo::DemoBackend>,
) -> Result<ServerView, String> {
    let url = demo.start(0).await?;
    desk.sign_in(crate::demo::form(&url), true).await
}

#[tauri::command]
pub(crate) async fn alert_detail(
    desk: State<'_, Desk>,
    server: String,
    id: String,
) -> Result<AlertDetail, String> {
    desk.detail(&server, &id).await
}

#[tauri::command]
pub(crate) async fn mark_read(
    desk: State<'_, Desk>,
    server: String,
    id: String,
) -> Result<(), String> {
    desk.mark_read(&server, &id).await
}

#[tauri::command]
pub(crate) async fn mark_all_read(desk: State<'_, Desk>) -> Result<u64, String> {
    desk.mark_all_read().await
}

#[tauri::command]
pub(crate) async fn clear_read(desk: State<'_, Desk>) -> Result<u64, String> {
    desk.clear_read().await
}

#[tauri::command]
pub(crate) async fn acknowledge(
    desk: State<'_, Desk>,
    server: String,
    id: String,
) -> Result<(), String> {
    desk.acknowledge(&server, &id).await
}

#[tauri::command]
pub(crate) async fn set_notifications(
    desk: State<'_, Desk>,
    request: NotificationsRequest,
) -> Result<(), String> {
    desk.notifications(request).await
}
