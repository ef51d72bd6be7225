//! The desktop app: one main window, a tray icon, hide-to-tray, single instance, remembered geometry, and the
//! core's desk (every server's link, the history, notifications) feeding the window and the tray.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use alertdesk_cli::{lock_data_dir, logging, open_store, DesktopArgs, GlobalArgs, Secrets};
use alertdesk_core::config::layers::Effective;
use alertdesk_core::config::lock::DataDirLock;
use alertdesk_core::config::paths::Paths;
use alertdesk_core::config::settings::{Settings, Theme};
use alertdesk_core::domain::Token;
use alertdesk_core::engine::{Alerting, Engine, EngineOptions, Notice, NoticeLevel, TokenSource};
use alertdesk_core::link::auth::{KeyringStore, TokenStore};
use alertdesk_core::link::net::{Net, NetError};
use alertdesk_core::link::protocol::Heartbeat;
use alertdesk_core::store::Store;
use tauri::{AppHandle, Manager, RunEvent, WebviewUrl, WebviewWindowBuilder, WindowEvent};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

use crate::bridge::ShellSink;
use crate::demo::DemoBackend;
use crate::settings::{self as live, SettingsState};
use crate::{commands, tray, updates};

/// The label of the one main window (capabilities refer to it).
pub(crate) const MAIN_WINDOW: &str = "main";

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

/// One TLS configuration and proxy route for every server and the updater. A bad CA file, client certificate
/// or proxy setting is said here and in the window for each server (none connects some other way); updates then
/// use the updater's own defaults (docs/releasing.md).
fn desktop_network(
    settings: &Settings,
) -> Result<alertdesk_core::link::net::Net, alertdesk_core::link::net::NetError> {
    alertdesk_cli::network(&settings.network, &[]).inspect_err(|e| eprintln!("alertdesk: {e}"))
}

/// Whether `--hidden` was given (said in the log).
fn hidden_by_flag(hidden: bool) -> bool {
    if hidden {
        tracing::info!("starting hidden in the tray (--hidden)");
    }
    hidden
}

/// The directories, created; an error is said on stderr.
fn resolved_paths(data_dir: Option<&std::path::Path>) -> Option<Paths> {
    Paths::resolve(data_dir)
        .and_then(|p| p.create_all().map(|()| p))
        .inspect_err(|err| eprintln!("alertdesk: {err}"))
        .ok()
}

pub(crate) fn run(global: &GlobalArgs, args: &DesktopArgs, secrets: Secrets) -> ExitCode {
    let Some(paths) = resolved_paths(global.data_dir.as_deref()) else {
        return ExitCode::FAILURE;
    };
    // The department's files under the user's. A broken file must not keep a dispatcher from their alerts: it is
    // left out (the others apply), and said in the window and the log.
    let effective = Effective::load(&paths);
    let settings = effective.settings.clone();
    let _log_guard = logging::init(&paths, &settings.log, logging::Console::Full);
    tracing::info!(version = alertdesk_core::VERSION, data = %paths.data_dir.display(), "starting desktop app");
    alertdesk_cli::log_settings_problems(&effective);
    let scripted = Scripted::from_args(args, secrets);
    let net = desktop_network(&settings);
    let data = paths.clone();
    let window_state_file = paths.data_dir.join("window-state.json");
    let close_to_tray = settings.window.close_to_tray;
    let start_hidden = settings.window.start_hidden || hidden_by_flag(args.hidden);
    let (autostart_plugin, autostart_blocked) = live::autostart_plugin(global.data_dir.as_deref());
    let settings_state = SettingsState::new(paths.clone(), autostart_blocked);
    let theme = window_theme(settings.window.theme);
    let gpu = settings.window.gpu;
    let autostart = settings.window.autostart;
    // Filled once this process owns the data directory (after the single-instance check, below).
    let startup: Arc<Mutex<Option<Startup>>> = Arc::default();
    let slot = Arc::clone(&startup);
    let update_settings = settings.updates.clone();
    let update_net = net.clone().ok();
    let webview_dir = paths.webview_dir();
    let legacy_webview = global
        .data_dir
        .is_none()
        .then(Paths::legacy_webview_dir)
        .flatten();

    let app = tauri::Builder::default()
        // Must be the first plugin: a second launch hands over to us and exits before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            // A login autostart while Alertdesk already runs changes nothing; any other launch shows it.
            if argv.iter().any(|a| a == "--hidden") {
                tracing::info!("second launch with --hidden: nothing to do");
                return;
            }
            tracing::info!("second launch: focusing the running window");
            show_main_window(app);
        }))
        .plugin(autostart_plugin)
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_filename(window_state_file.to_string_lossy())
                .with_state_flags(geometry_flags())
                .build(),
        )
        .plugin(updates::plugin())
        .manage(DemoBackend::default())
        .manage(settings_state)
        .invoke_handler(commands::handler())
        .setup(move |app| {
            let ready = slot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            if ready.is_some() {
                // Only the process that owns the data directory moves files into it.
                adopt_legacy_webview(&paths, legacy_webview.as_deref());
            }
            let window =
                WebviewWindowBuilder::new(app, MAIN_WINDOW, WebviewUrl::App("index.html".into()))
                    .title("Alertdesk")
                    .inner_size(1100.0, 720.0)
                    .min_inner_size(560.0, 400.0)
                    .visible(!start_hidden)
                    .theme(theme)
                    .data_directory(webview_dir)
                    .build()?;
            crate::webview::lighten(&window, gpu);
            tray::create(app.handle())?;
            // A failure is logged; the app runs either way.
            let _ = live::reconcile_autostart(app.handle(), autostart);
            // Updates first: the desk installs its install gate into the update state.
            updates::setup(app.handle(), update_settings, update_net);
            if let Some(Startup { store, lock }) = ready {
                app.manage(lock);
                start_engine(app.handle(), paths, settings, store, scripted, net)?;
                live::watch(app.handle());
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

pub(crate) fn window_theme(theme: Theme) -> Option<tauri::Theme> {
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

/// Earlier versions kept the web view's files in Tauri's default directory, named after their application id;
/// the first start of this version moves them under the data directory (default directories only). A failure
/// leaves them where they were and starts with new ones.
fn adopt_legacy_webview(paths: &Paths, legacy: Option<&std::path::Path>) {
    let Some(legacy) = legacy else { return };
    match paths.adopt_legacy_webview_dir(legacy) {
        Ok(true) => tracing::info!(
            from = %legacy.display(),
            to = %paths.webview_dir().display(),
            "moved the web view's files under the data directory"
        ),
        Ok(false) => {}
        Err(e) => tracing::warn!("cannot move the web view's files ({e}); starting with new ones"),
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
    net: Result<Net, NetError>,
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
                net: net.clone(),
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
        demo.restart_saved(&paths, tokens, net).await;
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
