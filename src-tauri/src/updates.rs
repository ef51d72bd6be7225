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
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use alertdesk_core::settings::UpdateSettings;
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
            gate_poll: GATE_POLL,
            status: Mutex::new(UpdateStatus::NotChecked),
            pending: Mutex::new(None),
            gate: RwLock::new(InstallGate::open()),
            busy: tokio::sync::Mutex::new(()),
            cancel: watch::Sender::new(false),
        }
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
pub(crate) fn setup<R: Runtime>(app: &AppHandle<R>, settings: UpdateSettings) {
    let enabled = settings.enabled;
    let every = settings.check_every();
    app.manage(Updates::new(settings, Installer::for_this_build()));
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
    let status = match find_update(app, &updates.settings).await {
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
    settings: &UpdateSettings,
) -> Result<Option<Update>, UpdateError> {
    use UpdateErrorKind::{Check, Disabled};
    if !settings.enabled {
        return Err(UpdateError::new(
            Disabled,
            "updates are turned off (updates.enabled = false in settings)",
        ));
    }
    let mut builder = app.updater_builder().timeout(CHECK_TIMEOUT);
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

/// Downloads, verifies, waits for the gate, installs. Reports every step to `report`, `failed` included.
/// Does not restart: the command does.
pub(crate) async fn install<R: Runtime>(
    app: &AppHandle<R>,
    mut report: impl FnMut(UpdateProgress) + Send,
) -> Result<(), UpdateError> {
    let result = install_steps(app, &mut report).await;
    match &result {
        Ok(()) => tracing::info!("update installed"),
        Err(e) => {
            tracing::warn!("update not installed: {}", e.message);
            if !matches!(e.kind, UpdateErrorKind::Busy | UpdateErrorKind::Cancelled) {
                // The next attempt asks the server again: a damaged mirror may have been repaired meanwhile.
                app.updates().set_pending(None);
            }
            report(UpdateProgress::Failed {
                message: e.message.clone(),
            });
        }
    }
    result
}

async fn install_steps<R: Runtime>(
    app: &AppHandle<R>,
    report: &mut (impl FnMut(UpdateProgress) + Send),
) -> Result<(), UpdateError> {
    use UpdateErrorKind::{Busy, Cancelled, Install, NoUpdate};
    let updates = app.updates();
    let Ok(_busy) = updates.busy.try_lock() else {
        return Err(UpdateError::new(
            Busy,
            "an update check or install is already running",
        ));
    };
    updates.cancel.send_replace(false);
    let mut cancelled = updates.cancel.subscribe();

    let update = if let Some(update) = updates.pending() {
        update
    } else {
        check_locked(app, &updates).await;
        updates.pending().ok_or_else(|| match updates.status() {
            UpdateStatus::Error { message } => UpdateError::new(UpdateErrorKind::Check, message),
            UpdateStatus::Disabled { reason } => {
                UpdateError::new(UpdateErrorKind::Disabled, reason)
            }
            _ => UpdateError::new(NoUpdate, "no update available: this is the latest version"),
        })?
    };
    let bytes = tokio::select! {
        result = download(&update, report) => result?,
        _ = cancelled.wait_for(|c| *c) => {
            return Err(UpdateError::new(Cancelled, "the update was cancelled; nothing was installed"))
        }
    };

    // Checked after the download, so a development build still exercises everything short of installing.
    if matches!(updates.installer, Installer::Unsupported) {
        return Err(UpdateError::new(
            Install,
            "this copy of Alertdesk was not installed from its .deb package, so it cannot update itself: \
             install the new version with your package manager",
        ));
    }

    let mut said = None;
    while let Some(reason) = updates.wait_reason() {
        if said.as_ref() != Some(&reason) {
            tracing::info!("update downloaded; waiting to install: {reason}");
            report(UpdateProgress::Waiting {
                reason: reason.clone(),
            });
            said = Some(reason);
        }
        tokio::select! {
            () = tokio::time::sleep(updates.gate_poll) => {}
            _ = cancelled.wait_for(|c| *c) => {
                return Err(UpdateError::new(Cancelled, "the update was cancelled; nothing was installed"))
            }
        }
    }

    report(UpdateProgress::Installing);
    let installer = updates.installer.clone();
    let version = update.version.clone();
    tauri::async_runtime::spawn_blocking(move || match installer {
        Installer::Deb { dpkg } => install_deb(&dpkg, &bytes, &version),
        Installer::AppImage => update
            .install(&bytes)
            .map_err(|e| UpdateError::new(Install, describe(&e))),
        Installer::Unsupported => unreachable!("refused above"),
    })
    .await
    .map_err(|e| UpdateError::new(Install, format!("the installer stopped: {e}")))??;
    updates.set_pending(None);
    report(UpdateProgress::Finished);
    Ok(())
}

/// Downloads the artifact; the plugin verifies its signature before handing it over.
async fn download(
    update: &Update,
    report: &mut (impl FnMut(UpdateProgress) + Send),
) -> Result<Vec<u8>, UpdateError> {
    let mut downloaded = 0u64;
    let mut last_sent: Option<Instant> = None;
    let mut last_total = None;
    let result = update
        .download(
            |chunk, total| {
                if last_sent.is_none() {
                    report(UpdateProgress::Started {
                        content_length: total,
                    });
                }
                downloaded += chunk as u64;
                last_total = total;
                if last_sent.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) {
                    report(UpdateProgress::Progress { downloaded, total });
                    last_sent = Some(Instant::now());
                }
            },
            || {},
        )
        .await;
    if last_sent.is_some() {
        report(UpdateProgress::Progress {
            downloaded,
            total: last_total,
        });
    }
    result.map_err(|e| {
        let kind = match e {
            tauri_plugin_updater::Error::Minisign(_)
            | tauri_plugin_updater::Error::Base64(_)
            | tauri_plugin_updater::Error::SignatureUtf8(_)
            | tauri_plugin_updater::Error::SignedVersionMismatch { .. }
            | tauri_plugin_updater::Error::MissingSignedVersion => UpdateErrorKind::Verify,
            _ => UpdateErrorKind::Download,
        };
        UpdateError::new(kind, describe(&e))
    })
}

/// Installs a verified `.deb` with `dpkg -i`, after checking it is Alertdesk at the announced version.
fn install_deb(dpkg: &[OsString], bytes: &[u8], version: &str) -> Result<(), UpdateError> {
    use UpdateErrorKind::Install;
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        UpdateError::new(
            Install,
            format!("{what}: {e}; nothing was installed, this version keeps running"),
        )
    };
    // Private to this user (0700); removed when dropped.
    let dir = tempfile::Builder::new()
        .prefix("alertdesk-update-")
        .tempdir()
        .map_err(|e| fail("cannot store the update", &e))?;
    let file = dir.path().join(format!("{PACKAGE}_{version}.deb"));
    std::fs::write(&file, bytes).map_err(|e| fail("cannot store the update", &e))?;

    let (package, package_version) = deb_identity(&file)?;
    if package != PACKAGE || package_version != version {
        return Err(UpdateError::new(
            Install,
            format!(
                "the update is the package {package} {package_version}, not {PACKAGE} {version}; nothing was \
                 installed, this version keeps running"
            ),
        ));
    }

    let Some((program, args)) = dpkg.split_first() else {
        return Err(UpdateError::new(Install, "no installer command"));
    };
    tracing::info!(?dpkg, file = %file.display(), "installing the update");
    let output = Command::new(program)
        .args(args)
        .arg("-i")
        .arg(&file)
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound && program == "pkexec" {
                UpdateError::new(
                    Install,
                    "installing needs administrator rights, and pkexec is not installed (apt install pkexec), \
                     or ask an administrator to install the update; this version keeps running",
                )
            } else {
                fail(&format!("cannot run {}", program.to_string_lossy()), &e)
            }
        })?;
    if output.status.success() {
        return Ok(());
    }
    // pkexec: 126 = the user dismissed the prompt, 127 = not authorized.
    let message = match output.status.code() {
        Some(126 | 127) if program == "pkexec" => {
            "installing the update needs an administrator's approval, which was not given; this version keeps \
             running"
                .to_owned()
        }
        code => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
            format!(
                "dpkg could not install the update (exit {}): {}; this version keeps running",
                code.map_or_else(|| "by signal".into(), |c| c.to_string()),
                tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
            )
        }
    };
    Err(UpdateError::new(Install, message))
}

/// The `Package` and `Version` fields of a `.deb`.
fn deb_identity(file: &Path) -> Result<(String, String), UpdateError> {
    let refuse = |why: String| {
        UpdateError::new(
            UpdateErrorKind::Install,
            format!("the update is not a valid package ({why}); nothing was installed"),
        )
    };
    let output = Command::new("dpkg-deb")
        .arg("--field")
        .arg(file)
        .args(["Package", "Version"])
        .output()
        .map_err(|e| refuse(format!("cannot run dpkg-deb: {e}")))?;
    if !output.status.success() {
        return Err(refuse(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(|v| v.trim().to_owned())
            .ok_or_else(|| refuse(format!("no {name} field")))
    };
    Ok((field("Package")?, field("Version")?))
}

/// A plugin error as a sentence a dispatcher can act on.
fn describe(err: &tauri_plugin_updater::Error) -> String {
    use tauri_plugin_updater::Error as E;
    const KEEPS: &str = "nothing was installed, this version keeps running";
    match err {
        E::Minisign(minisign_error) => {
            let why = minisign_error.to_string();
            if why.contains("different key") {
                format!("the update was refused: it is not signed with Alertdesk's release key ({why}); {KEEPS}")
            } else {
                format!(
                    "the update was refused: the downloaded file does not match its signature, it was damaged \
                     or tampered with ({why}); {KEEPS}"
                )
            }
        }
        E::Base64(_) | E::SignatureUtf8(_) => {
            format!("the update was refused: its signature is unreadable ({err}); {KEEPS}")
        }
        E::SignedVersionMismatch { signed, announced } => format!(
            "the update was refused: the server announced version {announced}, but the file is signed for \
             {signed}; {KEEPS}"
        ),
        E::MissingSignedVersion => {
            format!("the update was refused: its signature does not name a version; {KEEPS}")
        }
        E::Reqwest(e) if e.is_decode() => {
            format!("the update server's answer is not a valid update manifest ({e})")
        }
        E::Reqwest(e) => format!("cannot reach the update server: {}", error_chain(e)),
        E::Network(e) => format!("the update download failed: {e}"),
        E::ReleaseNotFound => {
            "no update server answered with an update manifest (latest.json); check updates.endpoints".into()
        }
        E::Serialization(e) => format!("the update manifest is not valid: {e}"),
        E::TargetNotFound(_) | E::TargetsNotFound(_) => {
            format!("the update has no package for this system ({err})")
        }
        E::InsecureTransportProtocol => {
            "the update server must be an https:// URL (updates.endpoints)".into()
        }
        _ => err.to_string(),
    }
}

/// An error and its sources, `a: b: c`, so "error sending request" says why.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
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

#[cfg(test)]
mod tests;

/// The TypeScript declarations of the update types, as committed in `ui/src/generated/updates.ts`.
#[cfg(test)]
mod bindings {
    use alertdesk_core::desk::view::{check_generated, declarations};
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
