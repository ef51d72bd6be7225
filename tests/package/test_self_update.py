"""An installed Alertdesk updates itself: the .deb built by scripts/release (release build, bundle type stamped by
the Tauri bundler) is installed with dpkg -i and started under Xvfb through tauri-driver; the window asks it to
install a newer signed package served on 127.0.0.1; it downloads, verifies, runs dpkg -i and restarts into the
new version on the same data directory.

The package under test differs from a published one only in its Tauri config: it trusts a throwaway key made
here, and accepts plain http to 127.0.0.1 (`dangerousInsecureTransportProtocol`), both passed with
`scripts/release --config`. Part of `make test-package` (root, display).
"""

import json
import os
import subprocess

import pytest

from conftest import ROOT, workspace_version
from support.desktop import Background, free_port, pids_with, wait_until
from support.static_files import serve
from support.webdriver import WebDriver

pytestmark = pytest.mark.package

VERSION = workspace_version()
NEXT = ".".join(VERSION.split(".")[:2] + [str(int(VERSION.split(".")[2]) + 1)])
TAURI = ROOT / "ui" / "node_modules" / ".bin" / "tauri"


def run(*args, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    assert result.returncode == 0, f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


def installed_version() -> str | None:
    result = subprocess.run(["dpkg-query", "-W", "-f", "${Status} ${Version}", "alertdesk"], capture_output=True,
                            text=True)
    prefix = "install ok installed "
    return result.stdout[len(prefix):] if result.stdout.startswith(prefix) else None


@pytest.fixture(scope="module")
def test_package(tmp_path_factory):
    """The release .deb built to trust a throwaway key; returns (deb, private key file)."""
    keys = tmp_path_factory.mktemp("update-keys")
    run(TAURI, "signer", "generate", "--ci", "-p", "", "-w", keys / "test.key")
    config = {"plugins": {"updater": {"pubkey": (keys / "test.key.pub").read_text(),
                                      "dangerousInsecureTransportProtocol": True}}}
    out = tmp_path_factory.mktemp("test-package")
    run(ROOT / "scripts" / "release", "--unsigned", "--out", out, "--config", json.dumps(config), timeout=1800)
    return out / f"alertdesk_{VERSION}_amd64.deb", keys / "test.key"


def test_installed_app_updates_itself_and_restarts(test_package, tmp_path):
    if os.geteuid() != 0 or not os.environ.get("DISPLAY"):
        pytest.fail("needs root and a display: run `make test-package` as root (CI does)")
    if installed_version():
        pytest.fail("alertdesk is already installed on this machine; the package test would replace it")
    deb, key = test_package

    # The next version: the same package, renumbered, signed for that version.
    tree = tmp_path / "tree"
    run("dpkg-deb", "-R", deb, tree)
    control = tree / "DEBIAN" / "control"
    control.write_text(control.read_text().replace(f"Version: {VERSION}\n", f"Version: {NEXT}\n"))
    newer = tmp_path / f"alertdesk_{NEXT}_amd64.deb"
    run("dpkg-deb", "--root-owner-group", "-b", tree, newer)
    run(TAURI, "signer", "sign", "-p", "", "--app-version", NEXT, "-f", key, newer)

    files = {f"/{newer.name}": newer.read_bytes()}
    base, server = serve(files)
    files["/latest.json"] = json.dumps({
        "version": NEXT, "notes": "Test update.", "pub_date": "2026-11-24T12:00:00Z",
        "platforms": {"linux-x86_64-deb": {"url": f"{base}/{newer.name}",
                                           "signature": (tmp_path / f"{newer.name}.sig").read_text()}},
    }).encode()
    data = tmp_path / "data"
    (data / "config").mkdir(parents=True)
    (data / "config" / "settings.toml").write_text(f'[updates]\nendpoints = ["{base}/latest.json"]\n')
    marker = f"--data-dir {data}"

    bg = Background()
    driver = None
    try:
        run("dpkg", "-i", deb, timeout=300)
        assert installed_version() == VERSION
        port, native_port = free_port(), free_port()
        bg.start("tauri-driver", "--port", str(port), "--native-port", str(native_port),
                 "--native-driver", "/usr/bin/WebKitWebDriver", log=tmp_path / "tauri-driver.log")
        driver = WebDriver(f"http://127.0.0.1:{port}")
        driver.wait_ready()
        WebDriver(f"http://127.0.0.1:{native_port}").wait_ready()
        driver.start("/usr/bin/alertdesk", ["--data-dir", str(data)])
        driver.wait_for_text('[data-testid="app-version"]', lambda t: t == f"v{VERSION}", timeout=60)
        first = set(pids_with(marker))
        assert first

        checked = wait_until(lambda: driver.execute("""
            if (window.__checked === undefined) {
                window.__checked = null;
                window.__TAURI_INTERNALS__.invoke('update_check').then(s => window.__checked = s);
            }
            return window.__checked;"""), 30, "update_check")
        assert checked["type"] == "available" and checked["version"] == NEXT, checked
        driver.execute("""
            const id = window.__TAURI_INTERNALS__.transformCallback(() => {});
            window.__TAURI_INTERNALS__.invoke('update_install', {onProgress: `__CHANNEL__:${id}`});""")

        wait_until(lambda: installed_version() == NEXT, 120, f"dpkg to list alertdesk {NEXT}")
        restarted = wait_until(lambda: (set(pids_with(marker)) - first) and not (set(pids_with(marker)) & first),
                               60, "the app to restart as a new process")
        assert restarted
        logs = "".join(p.read_text() for p in (data / "logs").glob("alertdesk*.log"))
        assert "update installed" in logs and "restarting into the new version" in logs, logs[-3000:]
        wait_until(lambda: "".join(p.read_text() for p in (data / "logs").glob("alertdesk*.log"))
                   .count("starting desktop app") == 2, 30, "the new process to start on the same data dir")
    finally:
        if driver:
            driver.quit()
        for pid in pids_with(marker):
            subprocess.run(["kill", str(pid)], check=False)
        bg.stop_all()
        server.shutdown()
        subprocess.run(["dpkg", "-r", "alertdesk"], capture_output=True, timeout=300)
    assert installed_version() is None
