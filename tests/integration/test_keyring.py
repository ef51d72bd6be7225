"""Sign-in with the real OS keyring: gnome-keyring's Secret Service on the test session's private D-Bus."""

import base64
import json
import os
import subprocess

import pytest

from conftest import BINARIES, binary
from support.keyring import files_containing, secret_lookup
from support.listener import Listener


@pytest.mark.parametrize("name", BINARIES)
def test_login_stores_the_token_in_the_keyring_only(secret_service, servers, tmp_path, name):
    server = servers("station-reports")
    exe = str(binary(name))
    env = dict(os.environ, ALERTDESK_DATA_DIR=str(tmp_path / "alertdesk"), HOME=str(tmp_path / "home"))
    env.pop("ALERTDESK_TOKEN", None)
    account = f"station-reports@{server.url}"

    result = subprocess.run([exe, "login", "--profile", "station-reports", "--server", server.url + "/",
                             "--username", "officer", "--password-stdin"], input="secret\n", env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "the token is in the OS keyring" in result.stdout

    token = secret_lookup(account)
    assert token, f"no keyring entry for {account}"
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["sub"] == "u-officer"
    listing = subprocess.run(["secret-tool", "search", "--all", "service", "alertdesk"], capture_output=True,
                             text=True, timeout=30)
    assert f"attribute.username = {account}" in listing.stderr, listing  # secret-tool prints attributes on stderr

    # `listen` finds the token in the keyring by itself.
    listener = Listener(binary(name), "station-reports", server.url, env=env, keep_bus=True)
    try:
        listener.wait_status("live")
        server.wait_clients(1)
        server.post("/api/reports", {"station_id": 4, "category": "Theft", "description": "Bike", "priority": "normal",
                                     "location": "Station square"})
        assert listener.next_alert()["title"] == "Theft: Bike"
    finally:
        assert listener.stop() == 0
    # The token is in no file Alertdesk wrote (settings, data, logs), nor in its output.
    assert files_containing(tmp_path, token) == []
    assert token not in "\n".join(listener.stderr_lines) + result.stdout + result.stderr

    result = subprocess.run([exe, "logout", "--profile", "station-reports", "--server", server.url], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "removed" in result.stdout, result.stderr
    assert secret_lookup(account) is None
    result = subprocess.run([exe, "listen", "--profile", "station-reports", "--server", server.url], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "alertdesk login" in result.stderr, result.stderr


def test_a_keyring_that_cannot_be_read_is_a_failure_worth_retrying(servers, tmp_path):
    """No Secret Service to ask (alertdesk-listen.service started before the session's keyring): exit 1, which
    the user unit restarts, not 2 (no token stored: sign in first), which it leaves for a person."""
    server = servers("station-reports")
    env = dict(os.environ, ALERTDESK_DATA_DIR=str(tmp_path / "alertdesk"),
               DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp_path / 'no-bus'}")
    env.pop("ALERTDESK_TOKEN", None)
    result = subprocess.run([str(binary("alertdesk-cli")), "listen", "--profile", "station-reports", "--server",
                             server.url], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "cannot read the token" in result.stderr and "unlock the keyring" in result.stderr, result.stderr
