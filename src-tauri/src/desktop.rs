//! The desktop app: one main window, a tray icon, hide-to-tray, single instance, remembered geometry.

use std::process::ExitCode;

use alertdesk_cli::{logging, GlobalArgs};
use alertdesk_core::paths::Paths;
use alertdesk_core::settings::Settings;
use tauri::{AppHandle, Manager, RunEvent, WebviewUrl, WebviewWindowBuilder, WindowEvent};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

use crate::{commands, tray, updates};

/// The label of the one main window (capabilities refer to it).
pub(crate) const MAIN_WINDOW: &str = "main";

/// What the commands can read about this run; registered once in `setup`.
pub(crate) struct AppState {
    pub(crate) settings_error: Option<String>,
}

/// Everything the window state plugin remembers except visibility: a window hidden to the tray at quit must
/// still open at the next start.
fn geometry_flags() -> StateFlags {
    StateFlags::all() - StateFlags::VISIBLE
}

pub(crate) fn run(global: &GlobalArgs) -> ExitCode {
    let paths =
        match Paths::resolve(global.data_dir.as_deref()).and_then(|p| p.create_all().map(|()| p)) {
            Ok(paths) => paths,
            Err(err) => {
                eprintln!("alertdesk: {err}");
                return ExitCode::FAILURE;
            }
        };
    // A broken settings file must not keep a dispatcher from their alerts: start with defaults, say so in the
    // window and the log.
    let (settings, settings_error) = match Settings::load(&paths.settings_file()) {
        Ok(s) => (s, None),
        Err(e) => (Settings::default(), Some(e.to_string())),
    };
    let _log_guard = logging::init(&paths, &settings.log, logging::Console::Full);
    if let Some(err) = &settings_error {
        tracing::error!("settings ignored, using defaults: {err}");
    }
    tracing::info!(version = alertdesk_core::VERSION, data = %paths.data_dir.display(), "starting desktop app");

    let window_state_file = paths.data_dir.join("window-state.json");
    let close_to_tray = settings.window.close_to_tray;
    let start_hidden = settings.window.start_hidden;
    let update_settings = settings.updates.clone();

    let app = tauri::Builder::default()
        // Must be the first plugin: a second launch hands over to us and exits before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            tracing::info!("second launch: focusing the running window");
            show_main_window(app);
        }))
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_filename(window_state_file.to_string_lossy())
                .with_state_flags(geometry_flags())
                .build(),
        )
        .plugin(updates::plugin())
        .manage(AppState { settings_error })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            updates::update_status,
            updates::update_check,
            updates::update_install,
            updates::update_cancel,
        ])
        .setup(move |app| {
            WebviewWindowBuilder::new(app, MAIN_WINDOW, WebviewUrl::App("index.html".into()))
                .title("Alertdesk")
                .inner_size(1100.0, 720.0)
                .min_inner_size(560.0, 400.0)
                .visible(!start_hidden)
                .build()?;
            tray::create(app.handle())?;
            updates::setup(app.handle(), update_settings);
            Ok(())
        })
        .on_window_event(move |window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                if close_to_tray && window.label() == MAIN_WINDOW {
                    api.prevent_close();
                    if let Err(e) = window.app_handle().save_window_state(geometry_flags()) {
                        tracing::warn!("cannot save window state: {e}");
                    }
                    if let Err(e) = window.hide() {
                        tracing::warn!("cannot hide window: {e}");
                    }
                    tracing::info!("window hidden to the tray");
                }
            }
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(err) => {
            tracing::error!("cannot start the desktop app: {err}");
            eprintln!("alertdesk: cannot start the desktop app: {err}");
            return ExitCode::FAILURE;
        }
    };
    app.run(move |_app, event| {
        // Closing the window is not quitting: only the tray's Quit (an explicit exit code) ends the app.
        if let RunEvent::ExitRequested {
            code: None, api, ..
        } = event
        {
            if close_to_tray {
                api.prevent_exit();
            }
        }
    });
    ExitCode::SUCCESS
}

/// Shows, restores and focuses the main window (tray "Open", a tray click, a second launch).
pub(crate) fn show_main_window(app: &AppHandle) {
    let Some(window) = app.get_webview_window(MAIN_WINDOW) else {
        tracing::warn!("main window is gone");
        return;
    };
    for (what, result) in [
        ("show", window.show()),
        ("unminimize", window.unminimize()),
        ("focus", window.set_focus()),
    ] {
        if let Err(e) = result {
            tracing::warn!("cannot {what} the main window: {e}");
        }
    }
}
