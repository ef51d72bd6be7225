//! The update path against a real HTTP server on 127.0.0.1: keys made and packages signed at test time with the
//! Tauri CLI (`tauri signer generate` / `tauri signer sign --app-version`, as `scripts/release` does), checked
//! by the real updater plugin, installed by the real `dpkg` into a private root (`dpkg --root`), so the
//! machine's own packages are never touched.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alertdesk_core::config::settings::UpdateSettings;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tauri::test::MockRuntime;
use tauri::{App, Listener, Manager};

use super::{
    check, install, plugin, set_install_gate, InstallGate, Installer, UpdateErrorKind,
    UpdateProgress, UpdateStatus, Updates, UpdatesExt,
};

/// What the test server answers for a path: a body, or `None` for 204 No Content.
#[derive(Clone, Default)]
struct Files(Arc<Mutex<HashMap<String, Option<Vec<u8>>>>>);

impl Files {
    fn put(&self, path: &str, body: Option<Vec<u8>>) {
        self.0.lock().unwrap().insert(path.to_owned(), body);
    }

    fn answer(&self, path: &str) -> Response {
        match self.0.lock().unwrap().get(path) {
            Some(Some(body)) => (StatusCode::OK, body.clone()).into_response(),
            Some(None) => StatusCode::NO_CONTENT.into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        }
    }
}

/// Serves `files` on 127.0.0.1 (a free port) until the test's runtime ends; returns the base URL.
async fn serve(files: Files) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let files = files.clone();
        async move { files.answer(uri.path()) }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The Tauri CLI from the UI's npm packages (`make setup` installs them; the build needs them anyway).
fn tauri_cli() -> Command {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/node_modules/.bin/tauri");
    assert!(
        cli.exists(),
        "{} is missing: run `npm ci --prefix ui`",
        cli.display()
    );
    Command::new(cli)
}

/// A minisign key pair made by `tauri signer generate` (no password).
struct Key {
    private: PathBuf,
    /// The `.pub` file's contents, as `plugins.updater.pubkey` holds it.
    public: String,
}

impl Key {
    fn generate(dir: &Path, name: &str) -> Self {
        let private = dir.join(format!("{name}.key"));
        run(tauri_cli()
            .args(["signer", "generate", "--ci", "-p", "", "-w"])
            .arg(&private));
        let public = std::fs::read_to_string(dir.join(format!("{name}.key.pub"))).unwrap();
        Self { private, public }
    }

    /// The `.sig` contents for `file`, bound to `version`.
    fn sign(&self, file: &Path, version: &str) -> String {
        run(tauri_cli()
            .args(["signer", "sign", "-p", "", "--app-version", version, "-f"])
            .arg(&self.private)
            .arg(file));
        let mut sig = file.as_os_str().to_owned();
        sig.push(".sig");
        std::fs::read_to_string(sig).unwrap()
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    trusted: Key,
    other: Key,
    files: Files,
    base: String,
    /// The private dpkg root updates are installed into.
    root: PathBuf,
}

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let trusted = Key::generate(dir.path(), "trusted");
        let other = Key::generate(dir.path(), "other");
        let files = Files::default();
        let base = serve(files.clone()).await;
        let root = dir.path().join("root");
        for sub in ["info", "updates", "triggers"] {
            std::fs::create_dir_all(root.join("var/lib/dpkg").join(sub)).unwrap();
        }
        std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
        Self {
            dir,
            trusted,
            other,
            files,
            base,
            root,
        }
    }

    fn endpoint(&self) -> String {
        format!("{}/latest.json", self.base)
    }

    /// A real `.deb` of `package` at `version`, holding a marker file.
    fn package(&self, package: &str, version: &str) -> PathBuf {
        let tree = self.dir.path().join(format!("tree-{package}-{version}"));
        std::fs::create_dir_all(tree.join("DEBIAN")).unwrap();
        std::fs::create_dir_all(tree.join("usr/share/alertdesk")).unwrap();
        std::fs::write(
            tree.join("DEBIAN/control"),
            format!(
                "Package: {package}\nVersion: {version}\nArchitecture: all\n\
                 Maintainer: Alertdesk tests <dev@alertdesk.invalid>\nDescription: update test package\n"
            ),
        )
        .unwrap();
        std::fs::write(tree.join("usr/share/alertdesk/installed-version"), version).unwrap();
        let deb = self.dir.path().join(format!("{package}_{version}_all.deb"));
        run(Command::new("dpkg-deb")
            .args(["--root-owner-group", "--build"])
            .arg(&tree)
            .arg(&deb));
        deb
    }

    /// Publishes `deb` with `signature` as the release `version` in latest.json.
    fn publish(&self, version: &str, deb: &Path, bytes: Vec<u8>, signature: &str) {
        let name = deb.file_name().unwrap().to_string_lossy();
        self.files.put(&format!("/{name}"), Some(bytes));
        let manifest = json!({
            "version": version,
            "notes": "Faster reconnects.",
            "pub_date": "2026-11-24T12:00:00Z",
            "platforms": {"linux-x86_64": {"url": format!("{}/{name}", self.base), "signature": signature}},
        });
        self.files
            .put("/latest.json", Some(manifest.to_string().into_bytes()));
    }

    /// Builds, signs with `key` and publishes version `version` of Alertdesk.
    fn release(&self, key: &Key, version: &str) -> PathBuf {
        let deb = self.package("alertdesk", version);
        let signature = key.sign(&deb, version);
        self.publish(version, &deb, std::fs::read(&deb).unwrap(), &signature);
        deb
    }

    fn dpkg(&self) -> Installer {
        let mut dpkg: Vec<OsString> =
            vec!["dpkg".into(), "--root".into(), self.root.clone().into()];
        // Not the machine's /var/log/dpkg.log.
        let mut log = OsString::from("--log=");
        log.push(self.root.join("dpkg.log"));
        dpkg.push(log);
        if !super::running_as_root() {
            dpkg.push("--force-not-root".into());
        }
        Installer::Deb { dpkg }
    }

    /// An app at version 0.1.0 trusting `trusted`, checking this fixture's server.
    fn app(&self, installer: Installer) -> App<MockRuntime> {
        self.app_with(
            UpdateSettings {
                endpoints: vec![self.endpoint()],
                ..UpdateSettings::default()
            },
            installer,
        )
    }

    fn app_with(&self, settings: UpdateSettings, installer: Installer) -> App<MockRuntime> {
        let mut context = tauri::test::mock_context(tauri::test::noop_assets());
        context.config_mut().plugins.0.insert(
            "updater".into(),
            json!({
                "pubkey": self.trusted.public,
                "endpoints": [],
                "requireSignedVersion": true,
                "dangerousInsecureTransportProtocol": true,
            }),
        );
        let app = tauri::test::mock_builder()
            .plugin(plugin())
            .build(context)
            .unwrap();
        app.manage(Updates::new(settings, installer).with_gate_poll(Duration::from_millis(20)));
        app
    }

    /// The version of `alertdesk` installed in the private root, if any.
    fn installed(&self) -> Option<String> {
        let marker = self.root.join("usr/share/alertdesk/installed-version");
        let status = Command::new("dpkg-query")
            .arg("--admindir")
            .arg(self.root.join("var/lib/dpkg"))
            .args(["-W", "-f", "${Status} ${Version}", "alertdesk"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&status.stdout).into_owned();
        if let Some(version) = text.strip_prefix("install ok installed ") {
            assert_eq!(std::fs::read_to_string(marker).unwrap(), version);
            Some(version.to_owned())
        } else {
            assert!(!marker.exists(), "a file landed but dpkg says: {text:?}");
            None
        }
    }
}

/// Installs, collecting the progress events.
async fn install_collecting(
    app: &App<MockRuntime>,
) -> (Result<(), super::UpdateError>, Vec<UpdateProgress>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let result = install(app.handle(), move |p| sink.lock().unwrap().push(p)).await;
    let events = events.lock().unwrap().clone();
    (result, events)
}

/// Installs, expecting it refused with `kind`; returns the error and the progress events.
async fn install_refused(
    app: &App<MockRuntime>,
    kind: UpdateErrorKind,
) -> (super::UpdateError, Vec<UpdateProgress>) {
    let (result, events) = install_collecting(app).await;
    let err = result.expect_err("the install must be refused");
    assert_eq!(err.kind, kind, "{err:?}");
    (err, events)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_valid_newer_version_downloads_verifies_and_installs() {
    let fx = Fixture::new().await;
    let deb = fx.release(&fx.trusted, "0.2.0");
    let app = fx.app(fx.dpkg());
    let emitted = Arc::new(Mutex::new(Vec::new()));
    let sink = emitted.clone();
    app.listen_any(super::STATUS_EVENT, move |event| {
        sink.lock().unwrap().push(event.payload().to_owned());
    });

    let status = check(app.handle()).await;
    assert_eq!(
        status,
        UpdateStatus::Available {
            current_version: "0.1.0".into(),
            version: "0.2.0".into(),
            notes: Some("Faster reconnects.".into()),
            date: Some("2026-11-24T12:00:00Z".into()),
        }
    );
    assert_eq!(app.updates().status(), status);
    let payload: serde_json::Value = serde_json::from_str(&emitted.lock().unwrap()[0]).unwrap();
    assert_eq!(payload["type"], "available");
    assert_eq!(payload["currentVersion"], "0.1.0");
    assert_eq!(fx.installed(), None);

    let (result, events) = install_collecting(&app).await;
    result.unwrap();
    assert_eq!(fx.installed().as_deref(), Some("0.2.0"));
    let size = std::fs::metadata(&deb).unwrap().len();
    assert_eq!(
        events.first(),
        Some(&UpdateProgress::Started {
            content_length: Some(size)
        })
    );
    assert!(events.contains(&UpdateProgress::Progress {
        downloaded: size,
        total: Some(size)
    }));
    assert_eq!(
        events[events.len() - 2..],
        [UpdateProgress::Installing, UpdateProgress::Finished]
    );
    // The UI's shapes.
    assert_eq!(
        serde_json::to_value(&events[0]).unwrap(),
        json!({"type": "started", "contentLength": size})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_package_is_refused_and_nothing_is_installed() {
    let fx = Fixture::new().await;
    let deb = fx.package("alertdesk", "0.2.0");
    let signature = fx.trusted.sign(&deb, "0.2.0");
    let mut bytes = std::fs::read(&deb).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    fx.publish("0.2.0", &deb, bytes, &signature);
    let app = fx.app(fx.dpkg());

    assert!(matches!(
        check(app.handle()).await,
        UpdateStatus::Available { .. }
    ));
    let (err, events) = install_refused(&app, UpdateErrorKind::Verify).await;
    assert!(
        err.message.contains("does not match its signature")
            && err.message.contains("The signature verification failed")
            && err.message.contains("nothing was installed"),
        "{err:?}"
    );
    assert_eq!(
        events.last(),
        Some(&UpdateProgress::Failed {
            message: err.message.clone()
        })
    );
    assert!(!events.contains(&UpdateProgress::Installing));
    assert_eq!(fx.installed(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_package_signed_with_another_key_is_refused() {
    let fx = Fixture::new().await;
    fx.release(&fx.other, "0.2.0");
    let app = fx.app(fx.dpkg());

    let (err, _) = install_refused(&app, UpdateErrorKind::Verify).await;
    assert!(
        err.message
            .contains("not signed with Alertdesk's release key"),
        "{err:?}"
    );
    assert_eq!(fx.installed(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_manifest_announcing_another_version_than_signed_is_refused() {
    let fx = Fixture::new().await;
    // A genuine 0.2.0, announced as 0.3.0: a tampered manifest must not pass an old release off as new.
    let deb = fx.package("alertdesk", "0.2.0");
    let signature = fx.trusted.sign(&deb, "0.2.0");
    fx.publish("0.3.0", &deb, std::fs::read(&deb).unwrap(), &signature);
    let app = fx.app(fx.dpkg());

    let (err, _) = install_refused(&app, UpdateErrorKind::Verify).await;
    assert!(
        err.message
            .contains("announced version 0.3.0, but the file is signed for 0.2.0"),
        "{err:?}"
    );
    assert_eq!(fx.installed(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_package_that_is_not_alertdesk_is_not_installed() {
    let fx = Fixture::new().await;
    let deb = fx.package("something-else", "0.2.0");
    let signature = fx.trusted.sign(&deb, "0.2.0");
    fx.publish("0.2.0", &deb, std::fs::read(&deb).unwrap(), &signature);
    let app = fx.app(fx.dpkg());

    let (err, events) = install_refused(&app, UpdateErrorKind::Install).await;
    assert!(
        err.message
            .contains("is the package something-else 0.2.0, not alertdesk 0.2.0"),
        "{err:?}"
    );
    assert!(events.contains(&UpdateProgress::Installing));
    let listed = Command::new("dpkg-query")
        .arg("--admindir")
        .arg(fx.root.join("var/lib/dpkg"))
        .args(["-W", "something-else"])
        .output()
        .unwrap();
    assert!(!listed.status.success(), "the other package was installed");
    assert_eq!(fx.installed(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_content_or_the_same_version_means_up_to_date() {
    let fx = Fixture::new().await;
    fx.files.put("/latest.json", None);
    let app = fx.app(fx.dpkg());

    let status = check(app.handle()).await;
    let UpdateStatus::UpToDate {
        current_version,
        checked_at,
    } = &status
    else {
        panic!("{status:?}");
    };
    assert_eq!(current_version, "0.1.0");
    assert!(chrono::DateTime::parse_from_rfc3339(checked_at).is_ok());
    assert_eq!(serde_json::to_value(&status).unwrap()["type"], "upToDate");
    let (result, _) = install_collecting(&app).await;
    assert_eq!(result.unwrap_err().kind, UpdateErrorKind::NoUpdate);

    fx.release(&fx.trusted, "0.1.0");
    assert!(matches!(
        check(app.handle()).await,
        UpdateStatus::UpToDate { .. }
    ));
    assert_eq!(fx.installed(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_or_broken_server_is_a_clear_error() {
    let fx = Fixture::new().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let app = fx.app_with(
        UpdateSettings {
            endpoints: vec![format!("http://127.0.0.1:{port}/latest.json")],
            ..UpdateSettings::default()
        },
        fx.dpkg(),
    );
    let status = check(app.handle()).await;
    let UpdateStatus::Error { message } = &status else {
        panic!("{status:?}");
    };
    assert!(
        message.starts_with("cannot reach the update server") && message.contains("onnect"),
        "{message}"
    );
    let (err, events) = install_refused(&app, UpdateErrorKind::Check).await;
    assert!(err.message.starts_with("cannot reach"), "{err:?}");
    assert!(matches!(events[..], [UpdateProgress::Failed { .. }]));

    // A server that answers with something else than a manifest.
    fx.files
        .put("/latest.json", Some(b"<html>maintenance</html>".to_vec()));
    let app = fx.app(fx.dpkg());
    let status = check(app.handle()).await;
    assert!(
        matches!(&status, UpdateStatus::Error { message } if message.contains("not a valid update manifest")),
        "{status:?}"
    );
    // 404: no manifest there.
    let app = fx.app_with(
        UpdateSettings {
            endpoints: vec![format!("{}/missing.json", fx.base)],
            ..UpdateSettings::default()
        },
        fx.dpkg(),
    );
    let status = check(app.handle()).await;
    assert!(
        matches!(&status, UpdateStatus::Error { message } if message.contains("no update server answered")),
        "{status:?}"
    );
    assert_eq!(fx.installed(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn install_waits_while_the_gate_says_so_and_can_be_cancelled() {
    let fx = Fixture::new().await;
    fx.release(&fx.trusted, "0.2.0");

    // Waits, says why, installs once the gate opens.
    let app = fx.app(fx.dpkg());
    let polls = Arc::new(Mutex::new(0));
    let counter = polls.clone();
    set_install_gate(
        app.handle(),
        InstallGate::new(move || {
            let mut n = counter.lock().unwrap();
            *n += 1;
            (*n <= 5).then(|| "a critical alert is not acknowledged".to_owned())
        }),
    );
    let (result, events) = install_collecting(&app).await;
    result.unwrap();
    let waiting = UpdateProgress::Waiting {
        reason: "a critical alert is not acknowledged".into(),
    };
    assert_eq!(
        events.iter().filter(|e| **e == waiting).count(),
        1,
        "{events:?}"
    );
    let at = |e: &UpdateProgress| events.iter().position(|x| x == e).unwrap();
    assert!(at(&waiting) < at(&UpdateProgress::Installing));
    assert_eq!(*polls.lock().unwrap(), 6);
    assert_eq!(fx.installed().as_deref(), Some("0.2.0"));

    // Cancelled while waiting: nothing installed.
    let fx = Fixture::new().await;
    fx.release(&fx.trusted, "0.2.0");
    let app = fx.app(fx.dpkg());
    set_install_gate(
        app.handle(),
        InstallGate::new(|| Some("an assignment to you is not acknowledged".into())),
    );
    let handle = app.handle().clone();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        handle.updates().cancel()
    });
    let (result, events) = install_collecting(&app).await;
    assert!(canceller.await.unwrap(), "nothing to cancel");
    assert_eq!(result.unwrap_err().kind, UpdateErrorKind::Cancelled);
    assert!(events.contains(&UpdateProgress::Waiting {
        reason: "an assignment to you is not acknowledged".into()
    }));
    assert!(!events.contains(&UpdateProgress::Installing));
    assert_eq!(fx.installed(), None);
    assert!(!app.updates().cancel(), "no install left running");
}

#[tokio::test(flavor = "multi_thread")]
async fn turned_off_unconfigured_or_unpackaged_copies_do_not_install() {
    let fx = Fixture::new().await;
    fx.release(&fx.trusted, "0.2.0");

    let off = fx.app_with(
        UpdateSettings {
            enabled: false,
            endpoints: vec![fx.endpoint()],
            ..UpdateSettings::default()
        },
        fx.dpkg(),
    );
    assert!(matches!(
        check(off.handle()).await,
        UpdateStatus::Disabled { reason } if reason.contains("updates.enabled = false")
    ));

    // No endpoint in settings and none built in.
    let unconfigured = fx.app_with(UpdateSettings::default(), fx.dpkg());
    assert!(matches!(
        check(unconfigured.handle()).await,
        UpdateStatus::Disabled { reason } if reason.contains("set updates.endpoints")
    ));
    let (result, _) = install_collecting(&unconfigured).await;
    assert_eq!(result.unwrap_err().kind, UpdateErrorKind::Disabled);

    // A `cargo build` copy sees the update but leaves installing to the package manager.
    let unpackaged = fx.app(Installer::Unsupported);
    assert!(matches!(
        check(unpackaged.handle()).await,
        UpdateStatus::Available { .. }
    ));
    let (result, _) = install_collecting(&unpackaged).await;
    let err = result.unwrap_err();
    assert!(
        err.kind == UpdateErrorKind::Install && err.message.contains("not installed from its .deb"),
        "{err:?}"
    );
    assert_eq!(fx.installed(), None);
}
