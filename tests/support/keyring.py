"""The real OS keyring for tests: gnome-keyring's Secret Service on the test session's private D-Bus, and ways to
look for a token (in the keyring, and in files where it must not be)."""

import os
import pathlib
import subprocess

import pytest


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory):
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.fail("keyring tests need a session bus: run them through `make test-e2e` (dbus-run-session)")
    home = tmp_path_factory.mktemp("keyring-home")
    env = dict(os.environ, XDG_DATA_HOME=str(home))
    started = subprocess.run(["gnome-keyring-daemon", "--unlock", "--components=secrets"], input="test-password",
                             env=env, capture_output=True, text=True, timeout=30)
    assert started.returncode == 0, started.stderr
    return home


def secret_lookup(account: str) -> str | None:
    result = subprocess.run(["secret-tool", "lookup", "service", "alertdesk", "username", account],
                            capture_output=True, text=True, timeout=30)
    return result.stdout if result.returncode == 0 else None


def files_containing(root: pathlib.Path, needle: str) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and needle.encode() in path.read_bytes():
            hits.append(str(path))
    return hits
