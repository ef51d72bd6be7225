//! Signed updates: look for a newer release at start, every `updates.check_every_hours` and on request; with the
//! user's consent download it, check its minisign signature against the key built into the package, wait while
//! an urgent alert is unanswered, install it and restart into the same state.
//!
//! `tauri-plugin-updater` does the network and the signature: it fetches the manifest (`latest.json`), picks the
//! `linux-x86_64` entry, downloads the artifact and refuses it unless it verifies against
//! `plugins.updater.pubkey` (and, with `requireSignedVersion`, unless it was signed for the announced version).
//! We install the verified `.deb` ourselves rather than through the plugin, whose Linux path tries `pkexec`, then
//! a zenity/kdialog password dialog piped to `sudo -S`, then a terminal `sudo`: we run `dpkg -i` directly when
//! already root (kiosk installs, CI) and through `pkexec` otherwise, check first that the package is Alertdesk
//! at the announced version, and say plainly what is missing when neither works. A build that was not
//! installed from the package (`cargo build`) reports updates, downloads and verifies them, but does not
//! install them.
//!
//! # Contract for the UI
//!
//! Commands (permissions `allow-update-status`, `allow-update-check`, `allow-update-install`,
//! `allow-update-cancel`, granted to the main window in `capabilities/main.json`):
//!
//! | Command | Arguments | Resolves to |
//! | --- | --- | --- |
//! | `update_status` | none | `UpdateStatus`: the last known state; no network |
//! | `update_check` | none | `UpdateStatus` after asking the update server now (also emitted as `update-status`) |
//! | `update_install` | `{ onProgress: Channel<UpdateProgress> }` | never resolves on success: the app restarts after `finished`; rejects with `UpdateError` |
//! | `update_cancel` | none | `boolean`: whether an install that was downloading or waiting was cancelled |
//!
//! Event `update-status` (payload `UpdateStatus`) after every check: at start, periodic, the tray's
//! "Check for updates" ([`check_now`]) and `update_check`.
//!
//! ```ts
//! type UpdateStatus =
//!   | { type: "notChecked" }
//!   | { type: "checking" }
//!   | { type: "disabled"; reason: string }                 // updates.enabled = false, or no update server set
//!   | { type: "upToDate"; currentVersion: string; checkedAt: string }             // RFC 3339
//!   | { type: "available"; currentVersion: string; version: string; notes: string | null; date: string | null }
//!   | { type: "error"; message: string };                  // the running version keeps working
//! type UpdateProgress =
//!   | { type: "started"; contentLength: number | null }
//!   | { type: "progress"; downloaded: number; total: number | null }
//!   | { type: "waiting"; reason: string }                  // downloaded and verified; held back by an urgent alert
//!   | { type: "installing" }
//!   | { type: "finished" }                                 // the app restarts right after
//!   | { type: "failed"; message: string };
//! type UpdateError = {
//!   kind: "disabled" | "noUpdate" | "busy" | "cancelled" | "check" | "download" | "verify" | "install";
//!   message: string;
//! };
//! ```
//!
//! `update_install` installs the update found by the last check (checking first when there is none: then
//! `kind` is `noUpdate` when up to date, `check` when the server could not be asked, `disabled` when updates
//! are off or no server is set). It sends `failed` on its channel before rejecting, so a UI may follow the
//! channel alone. `busy`: a check or install is running; `cancelled`: `update_cancel`; `download`, `verify`
//! (signature, key, signed version) and `install` (package identity, administrator prompt, dpkg) say where
//! it stopped. Whatever the kind, nothing was installed and the running version keeps working.
//!
//! # Waiting for urgent alerts
//!
//! An [`InstallGate`] says whether installing must wait (a critical alert or an assignment to me is
//! unacknowledged) and why. The default gate never waits; [`set_install_gate`] installs the real one. The
//! update is downloaded and verified first, then the gate is asked every few seconds until it allows, the user
//! cancels (`update_cancel`) or the app quits.

use std::ffi::OsString;
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::Duration;

use alertdesk_core::config::settings::UpdateSettings;
use alertdesk_core::link::net::Net;
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::plugin::TauriPlugin;
use tauri::utils::config::BundleType;
use tauri::{AppHandle, Emitter, Manager, Runtime, State};
use tauri_plugin_updater::{Update, UpdaterExt};
use tokio::sync::watch;

/// The event that carries every check's [`UpdateStatus`].
pub(crate) const STATUS_EVENT: &str = "update-status";

/// The Debian package name; an update that is another package is refused.
const PACKAGE: &str = "alertdesk";

/// How long a check may take before it counts as "server unreachable".
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a waiting install asks the gate again.
const GATE_POLL: Duration = Duration::from_secs(3);

/// Progress events are sent at most this often (plus the first and the last).
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// What the UI knows about updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub(crate) enum UpdateStatus {
    /// No check has finished yet.
    NotChecked,
    /// A check is under way.
    Checking,
    /// Updates are turned off, or no update server is configured.
    Disabled { reason: String },
    /// The server has nothing newer.
    UpToDate {
        current_version: String,
        checked_at: String,
    },
    /// A newer version is available.
    Available {
        current_version: String,
        version: String,
        notes: Option<String>,
        date: Option<String>,
    },
    /// The check failed; the running version is unaffected.
    Error { message: String },
}

/// One step of an install, sent on the `onProgress` channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub(crate) enum UpdateProgress {
    Started {
        #[ts(type = "number | null")]
        content_length: Option<u64>,
    },
    Progress {
        #[ts(type = "number")]
        downloaded: u64,
        #[ts(type = "number | null")]
        total: Option<u64>,
    },
    Waiting {
        reason: String,
    },
    Installing,
    Finished,
    Failed {
        message: String,
    },
}

/// Why an update was not installed. Serialized as `{kind, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error, ts_rs::TS)]
#[error("{message}")]
pub(crate) struct UpdateError {
    pub(crate) kind: UpdateErrorKind,
    pub(crate) message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub(crate) enum UpdateErrorKind {
    Disabled,
    NoUpdate,
    Busy,
    Cancelled,
    Check,
    Download,
    Verify,
    Install,
}

impl UpdateError {
    fn new(kind: UpdateErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// Says whether installing must wait, and why (`Some(reason)`), e.g. while a critical alert is unacknowledged.
pub(crate) struct InstallGate(Box<dyn Fn() -> Option<String> + Send + Sync>);

impl InstallGate {
    pub(crate) fn new(wait_reason: impl Fn() -> Option<String> + Send + Sync + 'static) -> Self {
        Self(Box::new(wait_reason))
    }

    /// The gate that never waits (until the real one is installed).
    pub(crate) fn open() -> Self {
        Self::new(|| None)
    }

    fn wait_reason(&self) -> Option<String> {
        (self.0)()
    }
}

/// How this copy of the app installs a verified update.
#[derive(Debug, Clone)]
pub(crate) enum Installer {
    /// Installed from our `.deb`: this command and its arguments, then `-i PACKAGE_FILE`.
    Deb { dpkg: Vec<OsString> },
    /// An AppImage: the plugin replaces the file.
    AppImage,
    /// Not installed from a package: updates are reported but not installed.
    Unsupported,
}

impl Installer {
    /// The installer for the running binary, from the bundle type the Tauri bundler stamped into it.
    pub(crate) fn for_this_build() -> Self {
        match tauri::utils::platform::bundle_type() {
            Some(BundleType::Deb) if running_as_root() => Self::Deb {
                dpkg: vec!["dpkg".into()],
            },
            Some(BundleType::Deb) => Self::Deb {
                dpkg: vec!["pkexec".into(), "/usr/bin/dpkg".into()],
            },
            Some(BundleType::AppImage) => Self::AppImage,
            _ => Self::Unsupported,
        }
    }
}

/// Whether we run as root (`/proc/self` belongs to the effective user).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The update machinery's state, managed once in `setup`; reach it with [`UpdatesExt::updates`].
pub(crate) struct Updates {
    settings: UpdateSettings,
    installer: Installer,
    /// The TLS configuration and proxies every connection of the app uses; `None`: the updater's own
    /// (the network settings could not be used, or tests).
    net: Option<Net>,
    gate_poll: Duration,
    status: Mutex<UpdateStatus>,
    /// The update the last check found, installed by the next `update_install`.
    pending: Mutex<Option<Update>>,
    gate: RwLock<InstallGate>,
    /// Held by a check or an install: one at a time.
    busy: tokio::sync::Mutex<()>,
    cancel: watch::Sender<bool>,
}

impl Updates {
    pub(crate) fn new(settings: UpdateSettings, installer: Installer) -> Self {
        Self {
            settings,
            installer,
            net: None,
            gate_poll: GATE_POLL,
            status: Mutex::new(UpdateStatus::NotChecked),
            pending: Mutex::new(None),
            gate: RwLock::new(InstallGate::open()),
            busy: tokio::sync::Mutex::new(()),
            cancel: watch::Sender::new(false),
        }
    }

    /// Checks and downloads go through `net` (its TLS configuration and proxies).
    #[must_use]
    pub(crate) fn with_net(mut self, net: Option<Net>) -> Self {
        self.net = net;
        self
    }

    #[cfg(test)]
    fn with_gate_poll(mut self, every: Duration) -> Self {
        self.gate_poll = every;
        self
    }

    pub(crate) fn status(&self) -> UpdateStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_status(&self, status: UpdateStatus) {
        *self.status.lock().unwrap_or_else(PoisonError::into_inner) = status;
    }

    fn pending(&self) -> Option<Update> {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_pending(&self, update: Option<Update>) {
        *self.pending.lock().unwrap_or_else(PoisonError::into_inner) = update;
    }

    fn wait_reason(&self) -> Option<String> {
        self.gate
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .wait_reason()
    }

    /// Cancels an install that is downloading or waiting; whether there was one.
    pub(crate) fn cancel(&self) -> bool {
        let running = self.busy.try_lock().is_err();
        if running {
            self.cancel.send_replace(true);
        }
        running
    }
}

/// `app.updates()`: the [`Updates`] state.
pub(crate) trait UpdatesExt<R: Runtime> {
    fn updates(&self) -> State<'_, Updates>;
}

impl<R: Runtime, M: Manager<R>> UpdatesExt<R> for M {
    fn updates(&self) -> State<'_, Updates> {
        self.state::<Updates>()
    }
}

/// The updater plugin, configured from `plugins.updater` in tauri.conf.json (the public key, default endpoints).
pub(crate) fn plugin<R: Runtime>() -> TauriPlugin<R, tauri_plugin_updater::Config> {
    tauri_plugin_updater::Builder::new().build()
}

/// Manages the update state and starts the checks (at start, then every `check_every_hours`).
pub(crate) fn setup<R: Runtime>(app: &AppHandle<R>, settings: UpdateSettings, net: Option<Net>) {
    let enabled = settings.enabled;
    let every = settings.check_every();
    app.manage(Updates::new(settings, Installer::for_this_build()).with_net(net));
    if !enabled {
        tracing::info!("updates are turned off in settings");
        return;
    }
    let app = app.clone();
    // Ends with the process: nothing to clean up, and a check cut short changes nothing.
    tauri::async_runtime::spawn(async move {
        // Let the window and the connections come up first.
        tokio::time::sleep(Duration::from_secs(5)).await;
        loop {
            check(&app).await;
            tokio::time::sleep(every).await;
        }
    });
}

/// Replaces the install gate (the lead's alerting state says when installing must wait).
pub(crate) fn set_install_gate<R: Runtime>(app: &AppHandle<R>, gate: InstallGate) {
    *app.updates()
        .gate
        .write()
        .unwrap_or_else(PoisonError::into_inner) = gate;
}

/// Checks now in the background; the result is emitted as `update-status` (the tray's "Check for updates").
pub(crate) fn check_now<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        check(&app).await;
    });
}

/// Asks the update server(s), records and emits the result. While an install runs, returns the current status.
pub(crate) async fn check<R: Runtime>(app: &AppHandle<R>) -> UpdateStatus {
    let updates = app.updates();
    let Ok(_busy) = updates.busy.try_lock() else {
        return updates.status();
    };
    check_locked(app, &updates).await
}

async fn check_locked<R: Runtime>(app: &AppHandle<R>, updates: &Updates) -> UpdateStatus {
    updates.set_status(UpdateStatus::Checking);
    let status = match find_update(app, updates).await {
        Ok(Some(update)) => {
            let status = UpdateStatus::Available {
                current_version: update.current_version.clone(),
                version: update.version.clone(),
                notes: update.body.clone(),
                date: update
                    .raw_json
                    .get("pub_date")
                    .and_then(|d| d.as_str())
                    .map(str::to_owned),
            };
            tracing::info!(version = %update.version, "update available");
            updates.set_pending(Some(update));
            status
        }
        Ok(None) => {
            tracing::info!("no update: this is the latest version");
            updates.set_pending(None);
            UpdateStatus::UpToDate {
                current_version: app.package_info().version.to_string(),
                checked_at: chrono::Utc::now().to_rfc3339(),
            }
        }
        Err(e) if e.kind == UpdateErrorKind::Disabled => {
            tracing::info!("updates not checked: {}", e.message);
            UpdateStatus::Disabled { reason: e.message }
        }
        Err(e) => {
            tracing::warn!("update check failed: {}", e.message);
            UpdateStatus::Error { message: e.message }
        }
    };
    updates.set_status(status.clone());
    if let Err(e) = app.emit(STATUS_EVENT, &status) {
        tracing::warn!("cannot emit {STATUS_EVENT}: {e}");
    }
    status
}

async fn find_update<R: Runtime>(
    app: &AppHandle<R>,
    state: &Updates,
) -> Result<Option<Update>, UpdateError> {
    use UpdateErrorKind::{Check, Disabled};
    let settings = &state.settings;
    if !settings.enabled {
        return Err(UpdateError::new(
            Disabled,
            "updates are turned off (updates.enabled = false in settings)",
        ));
    }
    let mut builder = app.updater_builder().timeout(CHECK_TIMEOUT);
    if let Some(net) = state.net.clone() {
        // The manifest and the package come the way every other connection does: the same trusted CAs
        // (the OS store, [network] ca_files), client certificate and proxy. The signature check is the
        // plugin's, whatever the transport.
        builder = builder.configure_client(move |client| net.configure(client));
    }
    let endpoints = settings
        .endpoint_urls()
        .map_err(|e| UpdateError::new(Check, e))?;
    if !endpoints.is_empty() {
        builder = builder
            .endpoints(endpoints)
            .map_err(|e| UpdateError::new(Check, describe(&e)))?;
    }
    let updater = match builder.build() {
        Ok(updater) => updater,
        Err(tauri_plugin_updater::Error::EmptyEndpoints) => {
            return Err(UpdateError::new(
                Disabled,
                "no update server is configured: set updates.endpoints in settings.toml",
            ))
        }
        Err(e) => return Err(UpdateError::new(Check, describe(&e))),
    };
    updater
        .check()
        .await
        .map_err(|e| UpdateError::new(Check, describe(&e)))
}

#[tauri::command]
#[allow(clippy::needless_pass_by_value)] // Tauri hands commands their State by value.
pub(crate) fn update_status(updates: State<'_, Updates>) -> UpdateStatus {
    updates.status()
}

#[tauri::command]
pub(crate) async fn update_check(app: AppHandle) -> UpdateStatus {
    check(&app).await
}

#[tauri::command]
pub(crate) async fn update_install(
    app: AppHandle,
    on_progress: Channel<UpdateProgress>,
) -> Result<(), UpdateError> {
    install(&app, |progress| {
        if let Err(e) = on_progress.send(progress) {
            tracing::debug!("update progress not delivered: {e}");
        }
    })
    .await?;
    // Let the UI show "finished" before the window goes. History, servers and sign-in live on disk and in the
    // keyring, so the new version starts where this one stops.
    tokio::time::sleep(Duration::from_millis(500)).await;
    tracing::info!("restarting into the new version");
    app.restart()
}

#[tauri::command]
#[allow(clippy::needless_pass_by_value)] // Tauri hands commands their State by value.
pub(crate) fn update_cancel(updates: State<'_, Updates>) -> bool {
    updates.cancel()
}

mod install;
#[cfg(test)]
mod net_tests;
#[cfg(test)]
mod tests;

use install::describe;
pub(crate) use install::install;

/// The TypeScript declarations of the update types, as committed in `ui/src/generated/updates.ts`.
#[cfg(test)]
mod bindings {
    use alertdesk_core::engine::view::{check_generated, declarations};
    use ts_rs::TS;

    const REGENERATE: &str = "UPDATE_BINDINGS=1 cargo test -p alertdesk bindings";

    /// The UI's update types are generated from these; this fails when one side changes alone.
    #[test]
    fn bindings_match_the_ui() {
        let want = declarations(
            "src-tauri/src/updates.rs",
            REGENERATE,
            &[
                super::UpdateStatus::decl(),
                super::UpdateProgress::decl(),
                super::UpdateErrorKind::decl(),
                super::UpdateError::decl(),
            ],
        );
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/generated/updates.ts");
        check_generated(&path, &want, REGENERATE);
    }
}
