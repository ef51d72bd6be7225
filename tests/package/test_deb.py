"""The release .deb, built by scripts/release exactly as a maintainer builds it (signed with a throwaway key made
here by `tauri signer generate`), inspected with dpkg-deb, then installed on this machine with `dpkg -i` and
removed again.

Slow (a release build, ~5 min) and it installs a package system-wide, so it is not part of `make test`: run it
with `make test-package` (as root, as in CI). `ALERTDESK_DEB=path.deb` skips the build and tests that package.
"""

import base64
import json
import os
import pathlib
import subprocess

import pytest

from conftest import APP_ID, ROOT, workspace_version

pytestmark = pytest.mark.package

VERSION = workspace_version()
TAURI = ROOT / "ui" / "node_modules" / ".bin" / "tauri"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def run(*args, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    assert result.returncode == 0, f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """Runs scripts/release with a throwaway key; returns its output directory."""
    keys = tmp_path_factory.mktemp("keys")
    run(TAURI, "signer", "generate", "--ci", "-p", "", "-w", keys / "test.key")
    out = tmp_path_factory.mktemp("release")
    env = dict(os.environ, TAURI_SIGNING_PRIVATE_KEY=str(keys / "test.key"), TAURI_SIGNING_PRIVATE_KEY_PASSWORD="")
    args = [ROOT / "scripts" / "release", "--base-url", "https://updates.example.org/alertdesk", "--out", out,
            "--notes", "Test release.", "--pubkey-file", keys / "test.key.pub"]
    if os.environ.get("ALERTDESK_DEB"):
        args += ["--deb", os.environ["ALERTDESK_DEB"]]
    run(*args, env=env, timeout=1800)
    return out, (keys / "test.key.pub").read_text()


@pytest.fixture(scope="module")
def deb(release):
    out, _ = release
    path = out / f"alertdesk_{VERSION}_amd64.deb"
    assert path.exists(), sorted(p.name for p in out.iterdir())
    return path


def test_latest_json_points_at_the_signed_package(release, deb):
    out, pubkey = release
    manifest = json.loads((out / "latest.json").read_text())
    assert manifest["version"] == VERSION
    assert manifest["notes"] == "Test release."
    assert manifest["pub_date"].endswith("Z")
    signature = (out / f"{deb.name}.sig").read_text()
    for target in ("linux-x86_64", "linux-x86_64-deb"):
        assert manifest["platforms"][target] == {
            "url": f"https://updates.example.org/alertdesk/{deb.name}", "signature": signature}
    # minisign: signed by the throwaway key (same key id), and bound to this version in the trusted comment.
    sig_lines = base64.b64decode(signature).decode().splitlines()
    key_lines = base64.b64decode(pubkey).decode().splitlines()
    assert base64.b64decode(sig_lines[1])[2:10] == base64.b64decode(key_lines[1])[2:10]
    assert f"version:{VERSION}" in sig_lines[2].split("\t"), sig_lines[2]


def test_release_refuses_a_key_that_installed_copies_would_not_trust(tmp_path, deb):
    run(TAURI, "signer", "generate", "--ci", "-p", "", "-w", tmp_path / "other.key")
    env = dict(os.environ, TAURI_SIGNING_PRIVATE_KEY=str(tmp_path / "other.key"), TAURI_SIGNING_PRIVATE_KEY_PASSWORD="")
    result = subprocess.run([ROOT / "scripts" / "release", "--base-url", "https://updates.example.org/a", "--deb", deb,
                             "--out", tmp_path / "out"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    assert "does not match the public key in src-tauri/tauri.conf.json" in result.stderr
    assert not (tmp_path / "out" / "latest.json").exists()

    env.pop("TAURI_SIGNING_PRIVATE_KEY")
    result = subprocess.run([ROOT / "scripts" / "release", "--base-url", "https://x.invalid"], capture_output=True,
                            text=True, env=env, timeout=60)
    assert result.returncode == 2 and "TAURI_SIGNING_PRIVATE_KEY is not set" in result.stderr


def test_package_contents(deb):
    info = run("dpkg-deb", "--info", deb).stdout
    fields = dict(line.strip().split(": ", 1) for line in info.splitlines() if ": " in line and line.startswith(" "))
    assert fields["Package"] == "alertdesk"
    assert fields["Version"] == VERSION
    assert fields["Architecture"] == "amd64"
    depends = fields["Depends"]
    # The window (WebKitGTK, GTK), the tray, and the tones Alertdesk plays itself.
    for needed in ("libwebkit2gtk-4.1-0", "libgtk-3-0", "libayatana-appindicator3-1", "libasound2"):
        assert needed in depends, depends
    recommends = fields.get("Recommends", "")
    # Updates (pkexec), a notification server, a Secret Service keyring, the tones reaching PipeWire/PulseAudio.
    for wanted in ("pkexec", "notification-daemon", "gnome-keyring", "pipewire-alsa | libasound2-plugins"):
        assert wanted in recommends, recommends
    assert fields.get("Suggests") == "speech-dispatcher | espeak-ng", info

    listing = run("dpkg-deb", "--contents", deb).stdout.splitlines()
    files = {"/" + line.split()[-1].lstrip("./").rstrip("/") for line in listing}
    expected = {"/usr/bin/alertdesk", "/usr/bin/alertdesk-cli", f"/usr/share/applications/{APP_ID}.desktop",
                f"/usr/share/metainfo/{APP_ID}.metainfo.xml", "/usr/lib/systemd/user/alertdesk-listen.service",
                f"/usr/share/icons/hicolor/scalable/apps/{APP_ID}.svg",
                "/usr/share/bash-completion/completions/alertdesk",
                "/usr/share/bash-completion/completions/alertdesk-cli",
                "/usr/share/zsh/vendor-completions/_alertdesk", "/usr/share/zsh/vendor-completions/_alertdesk-cli",
                "/usr/share/fish/vendor_completions.d/alertdesk.fish",
                "/usr/share/fish/vendor_completions.d/alertdesk-cli.fish",
                "/usr/share/man/man1/alertdesk.1.gz", "/usr/share/man/man1/alertdesk-cli.1.gz",
                "/usr/share/man/man1/alertdesk-cli-listen.1.gz", "/usr/share/man/man1/alertdesk-cli-profile-list.1.gz"}
    expected |= {f"/usr/share/icons/hicolor/{n}x{n}/apps/{APP_ID}.png" for n in ICON_SIZES}
    missing = expected - files
    assert not missing, f"{sorted(missing)} not in {sorted(files)}"
    # One desktop entry and one icon name: Tauri's own (named after the product and the binary) are removed.
    assert [f for f in files if f.startswith("/usr/share/applications/") and f.endswith(".desktop")] == \
        [f"/usr/share/applications/{APP_ID}.desktop"]
    assert not [f for f in files if "/icons/" in f and f.endswith("/alertdesk.png")], sorted(files)
    assert not [f for f in files if f.startswith("/usr/share/man/") and f.endswith(".1")], "uncompressed pages"

    tree = deb.parent / "extracted"
    run("dpkg-deb", "-x", deb, tree)
    entry = (tree / f"usr/share/applications/{APP_ID}.desktop").read_text()
    lines = dict(line.split("=", 1) for line in entry.splitlines() if "=" in line)
    assert lines["Exec"].split()[0] == "alertdesk", entry
    assert lines["Icon"] == APP_ID and lines["Name"] == "Alertdesk" and lines["Type"] == "Application", entry
    # The metainfo, the entry and the icons as installed, checked together (offline).
    result = subprocess.run(["appstreamcli", "validate-tree", "--no-net", "--strict", str(tree)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    unit = (tree / "usr/lib/systemd/user/alertdesk-listen.service").read_text()
    assert (ROOT / "packaging/linux/alertdesk-listen.service").read_text() == unit
    # Manual pages are gzip files man can read.
    page = tree / "usr/share/man/man1/alertdesk-cli-listen.1.gz"
    assert "--notify" in run("man", "-l", page, env={**os.environ, "MANWIDTH": "80"}).stdout
    assert (tree / "usr/bin/alertdesk").stat().st_mode & 0o111
    # The bundler stamps the package type into the binary: it is what makes an installed copy update with dpkg.
    assert b"__TAURI_BUNDLE_TYPE_VAR_DEB" in (tree / "usr/bin/alertdesk").read_bytes()
    # The headless binary has no desktop libraries.
    libs = run("ldd", tree / "usr/bin/alertdesk-cli").stdout
    assert "webkit" not in libs and "gtk" not in libs, libs


def test_dpkg_installs_working_binaries(deb):
    if os.geteuid() != 0:
        pytest.fail("installing the package needs root: run `make test-package` as root (CI does)")
    before = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", "alertdesk"], capture_output=True, text=True)
    if "installed" in before.stdout and "not-installed" not in before.stdout:
        pytest.fail("alertdesk is already installed on this machine; the package test would replace it")
    try:
        run("dpkg", "-i", deb, timeout=300)
        for binary in ("/usr/bin/alertdesk", "/usr/bin/alertdesk-cli"):
            name = pathlib.Path(binary).name
            result = run(binary, "--version", env={"PATH": "/usr/bin:/bin", "HOME": str(deb.parent)}, timeout=30)
            assert result.stdout.strip() == f"{name} {VERSION}", result.stdout
        # The manual and the user unit are where man and systemd look for them.
        assert "alertdesk-cli-listen" in run("man", "-w", "alertdesk-cli-listen").stdout
        assert pathlib.Path("/usr/lib/systemd/user/alertdesk-listen.service").is_file()
        status = run("dpkg-query", "-W", "-f", "${Status} ${Version}", "alertdesk").stdout
        assert status == f"install ok installed {VERSION}"
    finally:
        subprocess.run(["dpkg", "-r", "alertdesk"], capture_output=True, timeout=300)
    assert not pathlib.Path("/usr/bin/alertdesk").exists()
    assert not pathlib.Path("/usr/bin/alertdesk-cli").exists()
    assert not pathlib.Path("/usr/lib/systemd/user/alertdesk-listen.service").exists()
