//! Installing an update: download and verify (the plugin checks the minisign signature against the project's
//! key), wait for the install gate, then hand the package to dpkg (or replace the AppImage); every step is
//! reported on the caller's channel.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use tauri::{AppHandle, Runtime};
use tauri_plugin_updater::Update;

use super::{
    check_locked, Installer, UpdateError, UpdateErrorKind, UpdateProgress, UpdateStatus,
    UpdatesExt, PACKAGE, PROGRESS_EVERY,
};

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
pub(super) fn describe(err: &tauri_plugin_updater::Error) -> String {
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
        E::Reqwest(e) => match alertdesk_core::link::net::tls::find_rustls(e) {
            // What it means and what to change, as for every other connection.
            Some(tls) => format!(
                "cannot reach the update server: {}",
                alertdesk_core::link::net::tls::describe(tls)
            ),
            None => format!("cannot reach the update server: {}", error_chain(e)),
        },
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
