"""The core, the demo backend and the headless CLI never pull in the desktop stack (Tauri, wry, tao, GTK, WebKit)."""

import re
import subprocess

import pytest

from conftest import ROOT

DESKTOP_CRATES = re.compile(r"^(tauri|wry|tao|gtk|gdk|webkit2gtk|javascriptcore|soup|libappindicator)", re.I)


@pytest.mark.parametrize("package", ["alertdesk-core", "alertdesk-cli", "alertdesk-demo"])
def test_no_desktop_crates_in_tree(package):
    result = subprocess.run(
        ["cargo", "tree", "--locked", "-p", package, "-e", "normal,build", "--prefix", "none", "--format", "{p}"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    crates = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
    assert package in crates, result.stdout  # the query itself worked
    offenders = sorted(c for c in crates if DESKTOP_CRATES.match(c))
    assert offenders == [], f"{package} depends on desktop crates: {offenders}"


def test_the_desktop_app_does_depend_on_tauri():
    """Guards the check above: the same query finds Tauri where it is expected."""
    result = subprocess.run(
        ["cargo", "tree", "--locked", "-p", "alertdesk", "-e", "normal", "--prefix", "none", "--format", "{p}"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    assert any(DESKTOP_CRATES.match(line) for line in result.stdout.splitlines())


def test_headless_binary_links_no_desktop_library():
    """`alertdesk-cli` starts on servers without GTK or WebKit installed: it must not link them."""
    from conftest import binary

    libraries = subprocess.run(["ldd", str(binary("alertdesk-cli"))], capture_output=True, text=True, check=True).stdout
    desktop = [line.strip() for line in libraries.splitlines()
               if re.search(r"gtk|gdk|webkit|javascriptcore|soup|appindicator", line, re.I)]
    assert desktop == [], desktop
    # Guard: the same check finds them in the desktop binary.
    libraries = subprocess.run(["ldd", str(binary("alertdesk"))], capture_output=True, text=True, check=True).stdout
    assert re.search(r"libwebkit2gtk", libraries), "expected the desktop binary to link WebKitGTK"
