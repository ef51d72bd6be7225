//! The commands the UI may call. Thin: each one reads or delegates to the core's desk. Their names are listed
//! in `build.rs`, which generates the `allow-<name>` permissions the capability file grants.
//!
//! Arguments arrive camelCased from the UI (`fileName`, `onEvent`); types are in `ui/src/generated/types.ts`.
//! Errors reach the UI as `{kind, message}` (`ErrorView`): the message says what went wrong, the UI words what
//! to do by the kind.

use alertdesk_core::domain::ServerId;
use alertdesk_core::engine::{
    AlertDetail, DeskEvent, Engine, EngineError, ListRequest, ListWindow, NotificationsRequest,
    ProfileInfo, ServerView, SignInForm,
};
use alertdesk_core::link::probe::ProbeReport;
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;

use crate::bridge::UiSink;

/// Every command, for `Builder::invoke_handler`.
pub(crate) fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        app_info,
        subscribe,
        profiles,
        import_profile,
        sign_in,
        sign_out,
        test_connection,
        try_demo,
        alert_detail,
        list_window,
        mark_read,
        mark_all_read,
        clear_read,
        acknowledge,
        respond,
        set_notifications,
        crate::settings::settings,
        crate::settings::set_setting,
        crate::updates::update_status,
        crate::updates::update_check,
        crate::updates::update_install,
        crate::updates::update_cancel,
    ]
}

/// What the UI shows about this build and run.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AppInfo {
    name: &'static str,
    version: &'static str,
    /// The settings left out (not valid) as the files are now, one line each.
    settings_problems: Vec<String>,
    /// `[window] theme`: "system", "light" or "dark".
    theme: alertdesk_core::config::settings::Theme,
}

// Tauri hands commands their State and arguments by value.
#[allow(clippy::needless_pass_by_value)]
#[tauri::command]
pub(crate) fn app_info(settings: State<'_, crate::settings::SettingsState>) -> AppInfo {
    // As in effect now: a window reloaded after a change (in the pane or a file) shows it.
    let effective = settings.effective();
    AppInfo {
        name: "Alertdesk",
        version: alertdesk_core::VERSION,
        settings_problems: effective.problems.iter().map(ToString::to_string).collect(),
        theme: effective.settings.window.theme,
    }
}

/// Starts the event stream: a snapshot now, then batches.
#[allow(clippy::needless_pass_by_value)]
#[tauri::command]
pub(crate) fn subscribe(desk: State<'_, Engine>, on_event: Channel<DeskEvent>) {
    desk.subscribe(std::sync::Arc::new(UiSink(on_event)));
}

#[allow(clippy::needless_pass_by_value)]
#[tauri::command]
pub(crate) fn profiles(desk: State<'_, Engine>) -> Vec<ProfileInfo> {
    desk.profiles()
}

#[allow(clippy::needless_pass_by_value)]
#[tauri::command]
pub(crate) fn import_profile(
    desk: State<'_, Engine>,
    file_name: String,
    text: String,
) -> Result<ProfileInfo, EngineError> {
    desk.import_profile(&file_name, &text)
}

#[tauri::command]
pub(crate) async fn sign_in(
    desk: State<'_, Engine>,
    form: SignInForm,
) -> Result<ServerView, EngineError> {
    desk.sign_in(form, false).await
}

/// "Test connection": the form's server probed against its profile for a few seconds; nothing is kept.
#[tauri::command]
pub(crate) async fn test_connection(
    desk: State<'_, Engine>,
    form: SignInForm,
) -> Result<ProbeReport, EngineError> {
    desk.test_connection(form).await
}

#[tauri::command]
pub(crate) async fn sign_out(desk: State<'_, Engine>, server: ServerId) -> Result<(), EngineError> {
    desk.sign_out(&server).await
}

/// "Try the demo": the built-in demo backend on a free loopback port, signed in through the normal path.
#[tauri::command]
pub(crate) async fn try_demo(
    desk: State<'_, Engine>,
    demo: State<'_, crate::demo::DemoBackend>,
) -> Result<ServerView, EngineError> {
    let url = demo.start(0).await.map_err(|e| EngineError::Io {
        path: "demo backend".into(),
        source: e,
    })?;
    desk.sign_in(crate::demo::form(&url), true).await
}

#[tauri::command]
pub(crate) async fn alert_detail(
    desk: State<'_, Engine>,
    server: ServerId,
    id: String,
) -> Result<AlertDetail, EngineError> {
    desk.detail(&server, &id).await
}

/// A window of the list: the rows the view shows, as it scrolls and filters (batches push it again as it changes).
#[tauri::command]
pub(crate) async fn list_window(
    desk: State<'_, Engine>,
    request: ListRequest,
) -> Result<ListWindow, EngineError> {
    desk.list(request).await
}

#[tauri::command]
pub(crate) async fn mark_read(
    desk: State<'_, Engine>,
    server: ServerId,
    id: String,
) -> Result<(), EngineError> {
    desk.mark_read(&server, &id).await
}

#[tauri::command]
pub(crate) async fn mark_all_read(desk: State<'_, Engine>) -> Result<u64, EngineError> {
    desk.mark_all_read().await
}

#[tauri::command]
pub(crate) async fn clear_read(desk: State<'_, Engine>) -> Result<u64, EngineError> {
    desk.clear_read().await
}

#[tauri::command]
pub(crate) async fn acknowledge(
    desk: State<'_, Engine>,
    server: ServerId,
    id: String,
) -> Result<(), EngineError> {
    desk.acknowledge(&server, &id).await
}

/// A status response the alert's profile declares (`en_route`): acknowledged here, sent through the outbox.
#[tauri::command]
pub(crate) async fn respond(
    desk: State<'_, Engine>,
    server: ServerId,
    id: String,
    response: String,
) -> Result<(), EngineError> {
    desk.respond(&server, &id, &response).await
}

#[tauri::command]
pub(crate) async fn set_notifications(
    desk: State<'_, Engine>,
    request: NotificationsRequest,
) -> Result<(), EngineError> {
    desk.notifications(request).await
}
