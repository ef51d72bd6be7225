"""What the .deb installs for the desktop, checked fast (no release build): the application id everywhere, the
AppStream metainfo and desktop entry (validated by appstreamcli and desktop-file-validate), icons in every
hicolor size and current with the SVG, the systemd user unit (systemd-analyze verify), shell completions that
complete in bash and fish, manual pages that man renders without a warning, and scripts/finish-deb on a package
shaped like Tauri's. `make test-package` checks the real package (tests/package/test_deb.py)."""

import gzip
import json
import os
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import APP_ID, ROOT, binary, workspace_version

LINUX = ROOT / "packaging" / "linux"
CONFIG = json.loads((ROOT / "src-tauri" / "tauri.conf.json").read_text())
FILES = CONFIG["bundle"]["linux"]["deb"]["files"]
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
UNIT = LINUX / "alertdesk-listen.service"
GENERATED_DIRS = ("/usr/share/bash-completion/completions", "/usr/share/zsh/vendor-completions",
                  "/usr/share/fish/vendor_completions.d", "/usr/share/man/man1")


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: run `scripts/setup --test` (make test does)")
    return path


def run(*args, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("timeout", 60)
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)


def source(package_path: str):
    """The file in the repository that the .deb installs at `package_path` (bundle.linux.deb.files)."""
    return (ROOT / "src-tauri" / FILES[package_path]).resolve()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Completions and manual pages as scripts/release generates them (manual pages not yet compressed)."""
    root = tmp_path_factory.mktemp("generated")
    result = run(binary("alertdesk-generate"), "--out", root)
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture(scope="module")
def staged(tmp_path_factory, generated):
    """Every non-binary file of the package's file list, copied where the package puts it."""
    root = tmp_path_factory.mktemp("staged")
    for dest, src in FILES.items():
        if dest.startswith("/usr/bin/"):
            continue
        target = root / dest.lstrip("/")
        if dest in GENERATED_DIRS:
            shutil.copytree(generated / dest.lstrip("/"), target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source(dest), target)
    return root


def png_header(path):
    data = path.read_bytes()[:29]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height, depth, color = struct.unpack(">IIBB", data[16:26])
    return width, height, depth, color


def test_the_app_id_names_everything():
    assert CONFIG["identifier"] == APP_ID
    core = (ROOT / "src-tauri" / "core" / "src" / "lib.rs").read_text()
    assert f'pub const APP_ID: &str = "{APP_ID}";' in core
    assert re.fullmatch(r"[a-z]+(\.[a-z]+)+\.[A-Za-z]+", APP_ID), "reverse DNS"
    metainfo = ET.parse(LINUX / f"{APP_ID}.metainfo.xml").getroot()
    assert metainfo.findtext("id") == APP_ID
    assert metainfo.findtext("launchable") == f"{APP_ID}.desktop"
    assert metainfo.find("launchable").get("type") == "desktop-id"
    entry = dict(line.split("=", 1) for line in (LINUX / f"{APP_ID}.desktop").read_text().splitlines() if "=" in line)
    assert entry["Icon"] == APP_ID
    assert source(f"/usr/share/applications/{APP_ID}.desktop") == LINUX / f"{APP_ID}.desktop"
    assert source(f"/usr/share/metainfo/{APP_ID}.metainfo.xml") == LINUX / f"{APP_ID}.metainfo.xml"


def test_metainfo_validates_and_lists_this_version():
    path = LINUX / f"{APP_ID}.metainfo.xml"
    result = run(tool("appstreamcli"), "validate", "--no-net", "--strict", path)
    assert result.returncode == 0, result.stdout + result.stderr
    root = ET.parse(path).getroot()
    assert root.get("type") == "desktop-application"
    assert root.find("content_rating").get("type").startswith("oars-")
    newest = root.find("releases/release")
    assert newest.get("version") == workspace_version(), "add a <release> for the new version, newest first"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", newest.get("date"))
    assert {b.text for b in root.findall("provides/binary")} == {"alertdesk", "alertdesk-cli"}


def test_desktop_entry_validates():
    path = LINUX / f"{APP_ID}.desktop"
    result = run(tool("desktop-file-validate"), path)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
    entry = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    assert entry["Exec"] == "alertdesk" and entry["Type"] == "Application" and entry["Name"] == "Alertdesk"
    # The window's WM_CLASS instance / Wayland app id is the program name: the desktop finds the entry by it.
    assert entry["StartupWMClass"] == "alertdesk"
    assert entry["X-GNOME-UsesNotifications"] == "true"


def test_the_staged_tree_validates_as_the_package_installs_it(staged):
    result = run(tool("appstreamcli"), "validate-tree", "--no-net", "--strict", staged)
    assert result.returncode == 0, result.stdout + result.stderr
    # Without the desktop entry the metainfo's launchable points nowhere: the check can fail.
    (staged / f"usr/share/applications/{APP_ID}.desktop").rename(staged / "entry.bak")
    try:
        broken = run(tool("appstreamcli"), "validate-tree", "--no-net", "--strict", staged)
        assert broken.returncode != 0 and "desktop-file-not-found" in broken.stdout, broken.stdout
    finally:
        (staged / "entry.bak").rename(staged / f"usr/share/applications/{APP_ID}.desktop")


def test_icons_in_every_hicolor_size_and_the_svg():
    for size in SIZES:
        dest = f"/usr/share/icons/hicolor/{size}x{size}/apps/{APP_ID}.png"
        assert dest in FILES, f"{dest} is not installed"
        # 8-bit RGBA: what Tauri's icon loader wants, and what the themes expect.
        assert png_header(source(dest)) == (size, size, 8, 6), dest
    svg = source(f"/usr/share/icons/hicolor/scalable/apps/{APP_ID}.svg")
    assert svg == ROOT / "icons" / "alertdesk.svg"
    assert ET.parse(svg).getroot().tag.endswith("svg")
    # The window icon and the notification icon come from the same renders.
    assert all(p.startswith("../icons/hicolor/") for p in CONFIG["bundle"]["icon"])


def test_committed_icons_are_current_with_the_svg(tmp_path):
    tool("rsvg-convert")
    copy = tmp_path / "icons"
    shutil.copytree(ROOT / "icons", copy)
    result = run(copy / "make-icons", timeout=120)
    assert result.returncode == 0, result.stderr
    stale = [str(p.relative_to(copy)) for p in sorted(copy.rglob("*.png"))
             if p.read_bytes() != (ROOT / "icons" / p.relative_to(copy)).read_bytes()]
    assert not stale, f"run icons/make-icons and commit: {stale}"


def unit_settings(text: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def test_the_user_unit_runs_duty_mode_and_restarts_only_what_a_restart_fixes():
    settings = unit_settings(UNIT.read_text())
    exec_start = settings["ExecStart"][0].split()
    assert exec_start[:3] == ["/usr/bin/alertdesk-cli", "listen", "--notify"], exec_start
    # The token comes from the keyring: never on the command line.
    assert not any(word.startswith("--token") for word in exec_start)
    assert settings["Restart"] == ["on-failure"]
    assert int(settings["RestartSec"][0].rstrip("s")) >= 5
    # Usage/config errors (2) and rejected credentials (3) need a person; keyring failures (1) are retried.
    assert set(settings["RestartPreventExitStatus"][0].split()) == {"2", "3"}
    assert settings["WantedBy"] == ["default.target"]
    assert settings["NoNewPrivileges"] == ["yes"]
    # Nothing that would cut it off from the session bus (notifications, keyring), the network or sound.
    families = settings["RestrictAddressFamilies"][0].split()
    assert {"AF_UNIX", "AF_INET", "AF_INET6"} <= set(families)
    for key in ("PrivateNetwork", "ProtectHome", "PrivateUsers", "PrivateTmp"):
        assert key not in settings, f"{key} would need a user namespace or hide the data directory"
    assert FILES["/usr/lib/systemd/user/alertdesk-listen.service"] == "../packaging/linux/alertdesk-listen.service"


def test_systemd_analyze_verifies_the_user_unit(tmp_path, generated):
    analyze = tool("systemd-analyze")
    # The unit as installed, but running the binary built here; its Documentation= man page from the generated
    # pages (systemd-analyze looks it up with man).
    unit = tmp_path / "units" / "alertdesk-listen.service"
    unit.parent.mkdir()
    unit.write_text(UNIT.read_text().replace("/usr/bin/alertdesk-cli", str(binary("alertdesk-cli"))))
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), MANPATH=str(generated / "usr/share/man"),
               SYSTEMD_LOG_LEVEL="notice")
    result = run(analyze, "--user", "verify", unit, env=env)
    assert result.returncode == 0 and not result.stderr.strip(), result.stdout + result.stderr
    # The check can fail: a misspelt setting is reported.
    unit.write_text(unit.read_text().replace("Restart=on-failure", "Restart=on-fialure"))
    broken = run(analyze, "--user", "verify", unit, env=env)
    assert "on-fialure" in broken.stderr, broken.stderr


def complete_bash(script, function: str, words: list[str]) -> list[str]:
    """COMPREPLY of the completion `function` for the command line `words` (the last one being completed)."""
    program = (f'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); '
               f'{function} "$1" "${{@: -1}}" "${{@: -2:1}}"; printf "%s\\n" "${{COMPREPLY[@]}}"')
    result = run(tool("bash"), "-c", program, "bash", script, *words)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize("bin", ["alertdesk", "alertdesk-cli"])
def test_completions_complete_commands_and_their_flags(generated, bin):
    share = generated / "usr/share"
    bash = share / "bash-completion/completions" / bin
    assert "/usr/share/bash-completion/completions" in FILES
    function = "_" + bin.replace("-", "__")
    assert complete_bash(bash, function, [bin, "lis"]) == ["listen"]
    assert complete_bash(bash, function, [bin, "listen", "--no"]) == ["--notify"]
    assert complete_bash(bash, function, [bin, "profile", "li"]) == ["list"]
    assert complete_bash(bash, function, [bin, "mark-read", "--a"]) == ["--all"]
    # The desktop options before a command are the desktop app's only.
    assert ("--profile" in complete_bash(bash, function, [bin, "--pro"])) == (bin == "alertdesk")

    fish = share / "fish/vendor_completions.d" / f"{bin}.fish"
    result = run(tool("fish"), "-c", f'source {fish}; complete -C "{bin} listen --no"; complete -C "{bin} prof"')
    offered = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert offered == ["--notify", "profile"], result.stdout + result.stderr

    zsh = share / "zsh/vendor-completions" / f"_{bin}"
    assert zsh.read_text().startswith(f"#compdef {bin}")
    result = run(tool("zsh"), "-n", zsh)
    assert result.returncode == 0, result.stderr


def test_manual_pages_render_without_warnings(generated, tmp_path):
    man = tool("man")
    pages = sorted((generated / "usr/share/man/man1").glob("*.1"))
    names = {p.name for p in pages}
    for bin in ("alertdesk", "alertdesk-cli"):
        assert {f"{bin}.1", f"{bin}-listen.1", f"{bin}-profile-probe.1", f"{bin}-mark-read.1"} <= names, names
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
    for page in pages:
        # Compressed as the package installs them (scripts/release: gzip -9n).
        packed = tmp_path / f"{page.name}.gz"
        packed.write_bytes(gzip.compress(page.read_bytes(), mtime=0))
        result = run(man, "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", packed, env=env)
        assert result.returncode == 0 and not result.stderr.strip(), f"{page.name}: {result.stderr}"
    text = run(man, "-l", generated / "usr/share/man/man1/alertdesk-cli-listen.1", env=env).stdout
    assert "--notify" in text and "--token-file" in text, text


def fake_tauri_deb(tmp_path):
    """A package laid out as `tauri build` lays ours out: its own entry and binary-named icons beside ours."""
    tree = tmp_path / "tree"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        "Package: alertdesk\nVersion: 0.0.1\nArchitecture: amd64\nInstalled-Size: 1\nMaintainer: Test\n"
        "Priority: optional\nDepends: libasound2\nRecommends: notification-daemon\nDescription: Test\n test\n")
    files = {
        "usr/bin/alertdesk": b"#!/bin/sh\n",
        "usr/share/applications/Alertdesk.desktop": b"[Desktop Entry]\n",
        f"usr/share/applications/{APP_ID}.desktop": (LINUX / f"{APP_ID}.desktop").read_bytes(),
        "usr/share/icons/hicolor/32x32/apps/alertdesk.png": b"tauri",
        "usr/share/icons/hicolor/512x512/apps/alertdesk.png": b"tauri",
        f"usr/share/icons/hicolor/32x32/apps/{APP_ID}.png": b"ours",
        "usr/share/man/man1/alertdesk.1.gz": gzip.compress(b".TH A 1\n", mtime=0),
    }
    for name, data in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
    (tree / "usr/bin/alertdesk").chmod(0o755)
    deb = tmp_path / "Alertdesk_0.0.1_amd64.deb"
    result = run(tool("dpkg-deb"), "--root-owner-group", "-b", tree, deb)
    assert result.returncode == 0, result.stderr
    return deb


def test_finish_deb_leaves_one_desktop_entry_and_the_id_icons(tmp_path):
    deb = fake_tauri_deb(tmp_path)
    result = run(ROOT / "scripts" / "finish-deb", deb)
    assert result.returncode == 0, result.stderr
    listing = run(tool("dpkg-deb"), "--contents", deb).stdout
    files = {"/" + line.split()[-1].lstrip("./") for line in listing.splitlines() if not line.startswith("d")}
    assert files == {"/usr/bin/alertdesk", f"/usr/share/applications/{APP_ID}.desktop",
                     f"/usr/share/icons/hicolor/32x32/apps/{APP_ID}.png", "/usr/share/man/man1/alertdesk.1.gz"}
    assert "hicolor/512x512" not in listing, "an emptied icon directory stays behind"
    info = run(tool("dpkg-deb"), "--info", deb).stdout
    assert "Suggests: speech-dispatcher | espeak-ng" in info, info
    assert "Recommends: notification-daemon" in info and "Depends: libasound2" in info, info
    assert re.search(r"Installed-Size: [1-9]", info), info
    # md5sums lists exactly what is installed, with the right sums.
    tree = tmp_path / "check"
    assert run(tool("dpkg-deb"), "-R", deb, tree).returncode == 0
    sums = dict(reversed(line.split("  ", 1)) for line in (tree / "DEBIAN/md5sums").read_text().splitlines())
    assert {"/" + name for name in sums} == files
    check = run("md5sum", "-c", tree / "DEBIAN/md5sums", cwd=tree)
    assert check.returncode == 0, check.stdout + check.stderr
    # Run twice (a retried release): still one Suggests line.
    assert run(ROOT / "scripts" / "finish-deb", deb).returncode == 0
    assert run(tool("dpkg-deb"), "--info", deb).stdout.count("Suggests:") == 1


def test_finish_deb_refuses_a_package_without_our_desktop_entry(tmp_path):
    deb = fake_tauri_deb(tmp_path)
    tree = tmp_path / "tree"
    (tree / f"usr/share/applications/{APP_ID}.desktop").unlink()
    assert run(tool("dpkg-deb"), "--root-owner-group", "-b", tree, deb).returncode == 0
    result = run(ROOT / "scripts" / "finish-deb", deb)
    assert result.returncode == 2 and "bundle.linux.deb.files" in result.stderr, result.stderr
