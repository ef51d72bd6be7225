//! Builds the web UI into `ui/dist` when its sources changed, then runs tauri-build, which embeds `ui/dist` and
//! generates the `allow-<command>` permissions for our commands.

use std::path::Path;
use std::process::Command;

/// Every `#[tauri::command]` of the app; tauri-build makes an `allow-<name>` permission for each.
const COMMANDS: &[&str] = &[
    "app_info",
    "subscribe",
    "profiles",
    "import_profile",
    "sign_in",
    "sign_out",
    "test_connection",
    "try_demo",
    "alert_detail",
    "list_window",
    "mark_read",
    "mark_all_read",
    "clear_read",
    "acknowledge",
    "respond",
    "set_notifications",
    "settings",
    "set_setting",
    "update_status",
    "update_check",
    "update_install",
    "update_cancel",
];

fn main() {
    build_ui();
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri-build failed");
}

fn build_ui() {
    let ui = Path::new("../ui");
    for input in [
        "src",
        "index.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
        "tsconfig.json",
    ] {
        println!("cargo:rerun-if-changed=../ui/{input}");
    }
    println!("cargo:rerun-if-env-changed=ALERTDESK_SKIP_UI_BUILD");
    if std::env::var_os("ALERTDESK_SKIP_UI_BUILD").is_some() {
        return;
    }
    assert!(
        ui.join("node_modules").is_dir(),
        "ui/node_modules is missing: run `make setup` (or `npm ci --prefix ui`) before building Alertdesk"
    );
    let status = Command::new("npm")
        .args(["run", "build", "--silent"])
        .current_dir(ui)
        .status()
        .expect("cannot run npm: install Node.js 18+ (`make setup` does)");
    assert!(
        status.success(),
        "building the UI failed: see the npm output above"
    );
}
