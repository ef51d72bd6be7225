//! The desktop app: one main window, a tray icon, hide-to-tray, single instance, remembered geometry, and the
//! core's desk (every server's link, the history, notifications) feeding the window and the tray.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use alertdesk_cli::{lock_data_dir, logging, open_store, DesktopArgs, GlobalArgs, Secrets};
use alertdesk_core::config::lock::DataDirLock;
use alertdesk_core::config::paths::Paths;
use alertdesk_core::config::settings::{Settings, Theme};
use alertdesk_core::domain::Token;
use alertdesk_core::engine::{Alerting, Engine, EngineOptions, Notice, NoticeLevel, TokenSource};
use alertdesk_core::link::auth::{KeyringStore, TokenStore};
use alertdesk_core::link::protocol::Heartbeat;
use alertdesk_core::store::Store;
use tauri::{AppHandle, Manager, RunEvent, WebviewUrl, WebviewWindowBuilder, WindowEvent};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

use crate::bridge::ShellSink;
use crate::demo::DemoBackend;
use crate::{commands, tray, updates};

/// The label of the one main window (capabilities refer to it).
pub(crate) const MAIN_WINDOW: &str = "main";

/// What the commands can read about this run; registered once in `setup`.
pub(crate) struct AppState {
    pub(crate) settings_error: Option<String>,
    pub(crate) theme: Theme,
}

/// Everything the window state plugin remembers except visibility: a window hidden to the tray at quit must
/// still open at the next start.
fn geometry_flags() -> StateFlags {
    StateFlags::all() - StateFlags::VISIBLE
}

/// A server to connect at start for this run only (`--profile/--server/--set`).
struct Scripted {
    profile: String,
    server: String,
    vars: std::collections::BTreeMap<String, String>,
    token: Option<Token>,
}

impl Scripted {
    /// The token comes from `ALERTDESK_TOKEN`, taken out of the environment before any thread started (so the
    /// web view's processes never inherit it), or else from the keyring.
    fn from_args(args: &DesktopArgs, secrets: Secrets) -> Option<Self> {
        args.profile.clone().map(|profile| Self {
            profile,
            server: args.server.clone().unwrap_or_default(),
            vars: args.set.iter().cloned().collect(),
            token: secrets.token,
        })
    }
}

/// What this process has once it owns the data directory: the lock (held for the life of the app) and the
/// history.
struct Startup {
    store: Store,
    lock: DataDirLock,
}

/// Takes the data directory (a `listen` or another desktop app on it is named, exit code 2), then opens the
/// history. Said on stderr and in the log.
fn own_data_dir(paths: &Paths) -> Result<Startup, ExitCode> {
    let failed = |message: String, code: ExitCode| {
        tracing::error!("{message}");
        eprintln!("alertdesk: {message}");
        code
    };
    let lock = lock_data_dir(paths, "(desktop app)").map_err(|(message, held)| {
        let code = if held {
            ExitCode::from(alertdesk_cli::EXIT_USAGE)
        } else {
            ExitCode::FAILURE
        };
        failed(message, code)
    })?;
    let opened = open_store(paths).map_err(|message| failed(message, ExitCode::FAILURE))?;
    if let Some(message) = opened.recovered {
        tracing::error!("{message}");
    }
    Ok(Startup {
        store: opened.store,
        lock,
    })
}

pub(crate) fn run(global: &GlobalArgs, args: &DesktopArgs, secrets: Secrets) -> ExitCode {
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
    let scripted = Scripted::from_args(args, secrets);

    let data = paths.clone();
    let window_state_file = paths.data_dir.join("window-state.json");
    let close_to_tray = settings.window.close_to_tray;
    let start_hidden = settings.window.start_hidden;
    let theme = window_theme(settings.window.theme);
    let gpu = settings.window.gpu;
    // Filled once this process owns the data directory (after the single-instance check, below).
    let startup: Arc<Mutex<Option<Startup>>> = Arc::default();
    let slot = Arc::clone(&startup);
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
        .manage(AppState {
            settings_error,
            theme: settings.window.theme,
        })
        .manage(DemoBackend::default())
        .invoke_handler(commands::handler())
        .setup(move |app| {
            let window =
                WebviewWindowBuilder::new(app, MAIN_WINDOW, WebviewUrl::App("index.html".into()))
                    .title("Alertdesk")
                    .inner_size(1100.0, 720.0)
                    .min_inner_size(560.0, 400.0)
                    .visible(!start_hidden)
                    .theme(theme)
                    .build()?;
            crate::webview::lighten(&window, gpu);
            tray::create(app.handle())?;
            // Updates first: the desk installs its install gate into the update state.
            updates::setup(app.handle(), update_settings);
            let ready = slot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            if let Some(Startup { store, lock }) = ready {
                app.manage(lock);
                start_engine(app.handle(), paths, settings, store, scripted)?;
            }
            Ok(())
        })
        .on_window_event(move |window, event| hide_on_close(close_to_tray, window, event))
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(err) => {
            tracing::error!("cannot start the desktop app: {err}");
            eprintln!("alertdesk: cannot start the desktop app: {err}");
            return ExitCode::FAILURE;
        }
    };
    // Built: a second launch in this session has handed over to the first and exited (the single-instance
    // plugin runs in `build`). Now this process takes the data directory, then opens the history.
    let ready = match own_data_dir(&data) {
        Ok(ready) => ready,
        Err(code) => return code,
    };
    let _ = startup
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .replace(ready);
    app.run(on_run_event(close_to_tray));
    ExitCode::SUCCESS
}

/// Shuts the engine down at exit; closing the window is not quitting (with `close_to_tray`).
fn on_run_event(close_to_tray: bool) -> impl FnMut(&AppHandle, RunEvent) {
    move |app, event| {
        if let RunEvent::Exit = event {
            if let Some(engine) = app.try_state::<Engine>() {
                tauri::async_runtime::block_on(engine.shutdown());
            }
        }
        // Closing the window is not quitting: only the tray's Quit (an explicit exit code) ends the app.
        if let RunEvent::ExitRequested {
            code: None, api, ..
        } = event
        {
            if close_to_tray {
                api.prevent_exit();
            }
        }
    }
}

fn window_theme(theme: Theme) -> Option<tauri::Theme> {
    match theme {
        Theme::System => None,
        Theme::Light => Some(tauri::Theme::Light),
        Theme::Dark => Some(tauri::Theme::Dark),
    }
}

/// Closing the main window hides it to the tray (when `close_to_tray`), after saving its geometry.
fn hide_on_close(close_to_tray: bool, window: &tauri::Window, event: &WindowEvent) {
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
}

/// Starts the engine and hands it to the commands and the tray at once; what needs the network or the keyring
/// (the saved demo backend, the saved servers, a scripted server) happens afterwards in a task, with progress
/// in the window, so nothing here keeps the window from appearing.
fn start_engine(
    app: &AppHandle,
    paths: Paths,
    settings: Settings,
    store: Store,
    scripted: Option<Scripted>,
) -> Result<(), Box<dyn std::error::Error>> {
    let tokens: Arc<dyn TokenStore> = Arc::new(KeyringStore);
    let shell = Arc::new(ShellSink::new(app.clone()));
    let engine = tauri::async_runtime::block_on(async {
        // Spawns the notifier and the engine's tasks: no I/O is awaited here.
        let (notifier, events) = alertdesk_core::alerting::dbus::start_notifier(&paths);
        Engine::start(
            EngineOptions {
                paths: paths.clone(),
                settings,
                tokens: Arc::clone(&tokens),
                alerting: Some(Alerting {
                    notifier: Arc::new(notifier),
                    events,
                }),
                heartbeat: Heartbeat::default(),
                wake: Some(alertdesk_core::link::wake::watch()),
                shell: Some(shell),
                saved_servers: true,
            },
            store,
        )
    })?;
    // No update installs while an urgent alert waits for acknowledgement.
    let gate = engine.clone();
    updates::set_install_gate(
        app,
        updates::InstallGate::new(move || match gate.awaiting_now() {
            0 => None,
            n => Some(format!(
                "{n} critical alert(s) or assignment(s) to you still wait for acknowledgement"
            )),
        }),
    );
    app.manage(engine.clone());
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let demo = app.state::<DemoBackend>();
        demo.restart_saved(&paths, tokens).await;
        engine.restore_saved().await;
        if let Some(s) = scripted {
            let token = s.token.map_or(TokenSource::Stored, TokenSource::Given);
            match engine.connect(&s.profile, &s.server, s.vars, token).await {
                Ok(view) => tracing::info!(server = %view.server, "connected at start"),
                Err(e) => {
                    tracing::error!("cannot connect {} ({}): {e}", s.server, s.profile);
                    engine.notice(
                        NoticeLevel::Error,
                        Notice::ConnectFailed {
                            server: s.server,
                            error: e.view(),
                        },
                    );
                }
            }
        }
    });
    Ok(())
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
