"""Shared fixtures: where the binaries are, private data dirs, the artifact folder."""

import os
import pathlib
import re
import subprocess

import pytest

pytest_plugins = [
    "support.servers", "support.keyring", "support.desktop_app", "support.notifications", "support.demo",
    "support.tinyproxy",
]

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN_DIR = pathlib.Path(os.environ.get("ALERTDESK_BIN_DIR", ROOT / "target" / "debug"))
ARTIFACTS = ROOT / "tests" / "artifacts"
BINARIES = ("alertdesk", "alertdesk-cli")
# The application id: Tauri's identifier, and the name of the installed desktop entry, metainfo and icons.
APP_ID = "app.alertdesk.Alertdesk"


def binary(name: str) -> pathlib.Path:
    path = BIN_DIR / name
    if not path.exists():
        pytest.fail(f"{path} is missing: build with `cargo build --workspace` (make test does)")
    return path


def workspace_version() -> str:
    text = (ROOT / "Cargo.toml").read_text()
    match = re.search(r'^\[workspace\.package\][^\[]*?^version = "([^"]+)"', text, re.M | re.S)
    assert match, "no [workspace.package] version in Cargo.toml"
    return match.group(1)


# Proxy variables of the machine running the tests: the binaries would send 127.0.0.1 through them (as curl does);
# tests that want a proxy set their own.
PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy",
                   "NO_PROXY")


def headless_env(**extra: str) -> dict[str, str]:
    """The environment of a machine with no display and no session bus: CLI commands must work there."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")}
    env.pop("ALERTDESK_DATA_DIR", None)
    for name in PROXY_VARIABLES:
        env.pop(name, None)
    env.update(extra)
    return env


@pytest.fixture(params=BINARIES)
def cli(request):
    """Runs one of the two binaries headless; every CLI test runs against both."""
    path = binary(request.param)

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 30, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(path), *args], capture_output=True, text=True, timeout=timeout, env=env or headless_env(), **kw
        )

    run.name = request.param
    return run


@pytest.fixture
def artifacts() -> pathlib.Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(params=BINARIES)
def listen(request):
    """Starts `listen --json` with one of the two binaries; stops every listener at the end (exit 0 checked)."""
    from support.listener import Listener

    started = []

    def start(profile: str, server, *args: str, **kw):
        listener = Listener(binary(request.param), profile, server.url, *args, **kw)
        started.append(listener)
        return listener

    start.binary = binary(request.param)
    yield start
    for listener in started:
        if listener.proc.poll() is None:
            assert listener.stop() == 0, "\n".join(listener.stderr_lines)
