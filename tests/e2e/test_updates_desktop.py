"""The update commands from the real window: the capability grants them, `update_check` finds a release on a
local server (127.0.0.1), the `update-status` event reaches the page, and `update_install` streams typed progress
over a Channel and refuses a package signed with a key the app does not trust, leaving the app running.

The release is signed at test time with a throwaway key made by `tauri signer generate`; the app trusts only
the project key, so this is the "signed with another key" case end to end. Installing a valid update is covered
by the Rust tests (`cargo test -p alertdesk updates`), where the trusted key can be a test key.
"""

import json
import time

import pytest

from conftest import ROOT, workspace_version
from support.desktop import wait_until
from support.static_files import serve

pytestmark = pytest.mark.desktop

TAURI = ROOT / "ui" / "node_modules" / ".bin" / "tauri"


@pytest.fixture
def update_server(tmp_path):
    """Serves a signed 9.9.9 'release' on 127.0.0.1; yields the manifest URL."""
    import subprocess

    package = tmp_path / "alertdesk_9.9.9_amd64.deb"
    package.write_bytes(b"!<arch>\n" + b"not really a package" * 100)
    subprocess.run([TAURI, "signer", "generate", "--ci", "-p", "", "-w", tmp_path / "test.key"], check=True,
                   capture_output=True, timeout=60)
    subprocess.run([TAURI, "signer", "sign", "-p", "", "--app-version", "9.9.9", "-f", tmp_path / "test.key", package],
                   check=True, capture_output=True, timeout=60)
    files = {}
    base, server = serve(files)
    files["/" + package.name] = package.read_bytes()
    files["/latest.json"] = json.dumps({
        "version": "9.9.9", "notes": "Test notes.", "pub_date": "2026-11-24T12:00:00Z",
        "platforms": {"linux-x86_64": {"url": f"{base}/{package.name}",
                                       "signature": (tmp_path / f"{package.name}.sig").read_text()}},
    }).encode()
    yield f"{base}/latest.json"
    server.shutdown()


def call(driver, script, timeout=30):
    """Runs `script` (an async function body) in the page and waits for its result."""
    driver.execute(f"window.__t = undefined; (async () => {{ {script} }})()"
                   ".then(v => window.__t = {ok: v}, e => window.__t = {err: e})")
    return wait_until(lambda: driver.execute("return window.__t"), timeout, "the page's call")


def test_check_event_and_refused_install_from_the_window(app, update_server):
    launch, data_dir = app
    (data_dir / "config").mkdir(parents=True, exist_ok=True)
    (data_dir / "config" / "settings.toml").write_text(f'[updates]\nendpoints = ["{update_server}"]\n')
    driver = launch()

    # Listen to update-status the way @tauri-apps/api's listen() does.
    driver.execute("""
        window.__events = [];
        const handler = window.__TAURI_INTERNALS__.transformCallback(e => window.__events.push(e.payload));
        window.__TAURI_INTERNALS__.invoke('plugin:event|listen',
            {event: 'update-status', target: {kind: 'Any'}, handler});
    """)
    time.sleep(0.5)
    checked = call(driver, "return await window.__TAURI_INTERNALS__.invoke('update_check')")
    expected = {"type": "available", "currentVersion": workspace_version(), "version": "9.9.9",
                "notes": "Test notes.", "date": "2026-11-24T12:00:00Z"}
    assert checked == {"ok": expected}
    assert call(driver, "return await window.__TAURI_INTERNALS__.invoke('update_status')") == {"ok": expected}
    wait_until(lambda: expected in driver.execute("return window.__events"), 10, "the update-status event")

    installed = call(driver, """
        window.__progress = [];
        const id = window.__TAURI_INTERNALS__.transformCallback(m => { if ('message' in m) window.__progress.push(m); });
        return await window.__TAURI_INTERNALS__.invoke('update_install', {onProgress: `__CHANNEL__:${id}`});
    """)
    error = installed["err"]
    assert error["kind"] == "verify", installed
    assert "not signed with Alertdesk's release key" in error["message"], error
    progress = [m["message"] for m in sorted(driver.execute("return window.__progress"), key=lambda m: m["index"])]
    size = len((b"!<arch>\n" + b"not really a package" * 100))
    assert progress[0] == {"type": "started", "contentLength": size}, progress
    assert {"type": "progress", "downloaded": size, "total": size} in progress
    assert progress[-1] == {"type": "failed", "message": error["message"]}
    assert {"type": "installing"} not in progress

    # The running version keeps working.
    info = call(driver, "return await window.__TAURI_INTERNALS__.invoke('app_info')")
    assert info["ok"]["version"] == workspace_version()
    assert call(driver, "return await window.__TAURI_INTERNALS__.invoke('update_cancel')") == {"ok": False}


def test_update_prompt_in_the_window(app, update_server):
    """The window's own prompt: the tray's "Check for updates" (or the check at start) finds 9.9.9, the banner
    offers it, nothing installs until "Install and restart", and the refused signature is said plainly."""
    from support.desktop import click_tray_menu
    from support.desktop_app import our_tray_item

    launch, data_dir = app
    (data_dir / "config").mkdir(parents=True, exist_ok=True)
    (data_dir / "config" / "settings.toml").write_text(f'[updates]\nendpoints = ["{update_server}"]\n')
    driver = launch()
    # First run: the sign-in screen is up (modal); put it away as a user would.
    wait_until(lambda: driver.execute("return document.querySelector('[data-testid=\"sign-in\"]').open"), 15,
               "the sign-in screen")
    driver.click('[data-testid="sign-in-cancel"]')
    name, path = wait_until(lambda: our_tray_item(data_dir), 15, "the tray icon")
    click_tray_menu(name, path, "Check for updates")
    text = driver.wait_for_text('[data-testid="update-text"]', lambda t: "Update available" in t)
    assert "Alertdesk 9.9.9" in text and "Test notes." in text
    assert driver.execute("return document.querySelector('[data-testid=\"update-banner\"]').hidden") is False
    driver.click('[data-testid="update-install"]')
    refused = driver.wait_for_text('[data-testid="update-text"]', lambda t: "was not installed" in t)
    assert "not signed with Alertdesk's release key" in refused
    assert "This version keeps working" in refused
    info = call(driver, "return await window.__TAURI_INTERNALS__.invoke('app_info')")
    assert info["ok"]["version"] == workspace_version()
