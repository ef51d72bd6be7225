"""`alertdesk acknowledge`: the history marks it, and the server hears it where the profile says how."""

import json
import subprocess

from conftest import BINARIES, binary, headless_env

import pytest


def run(name, data_dir, *args, token=None):
    env = headless_env(ALERTDESK_DATA_DIR=str(data_dir))
    if token:
        env["ALERTDESK_TOKEN"] = token
    return subprocess.run([str(binary(name)), *args], capture_output=True, text=True, timeout=60, env=env)


def receive_one(listen, server, profile, token, data_dir, post):
    listener = listen(profile, server, token=token, data_dir=data_dir)
    listener.wait_status("live")
    server.wait_clients(1)
    post()
    alert = listener.next_alert()
    assert listener.stop() == 0
    return alert


@pytest.mark.parametrize("name", BINARIES)
def test_acknowledge_writes_back(listen, servers, tmp_path, name):
    server = servers("station-reports")
    token = server.login("officer")
    alert = receive_one(listen, server, "station-reports", token, tmp_path, lambda: server.post(
        "/api/reports", {"station_id": 4, "category": "Fire", "description": "Smoke", "priority": "high"}))
    result = run(name, tmp_path, "acknowledge", alert["id"], token=token)
    assert result.returncode == 0, result.stderr
    assert f"Acknowledged {alert['id']} on {server.url}." in result.stdout
    report = server.get("/api/reports", token=token).json()["reports"][0]
    assert (report["status"], report["acknowledgedBy"]) == ("acknowledged", "u-officer")
    stored = json.loads(run(name, tmp_path, "history", "--json").stdout.splitlines()[0])
    assert stored["acknowledged_at"] and stored["read_at"], stored

    # A bad token: the server refuses (exit 3), the local acknowledgement stands.
    result = run(name, tmp_path, "acknowledge", alert["id"], token="bad")
    assert result.returncode == 3 and "rejected the credentials" in result.stderr, result.stderr
    assert run(name, tmp_path, "acknowledge", "report-999999", token=token).returncode == 2


@pytest.mark.parametrize("name", BINARIES)
def test_acknowledge_is_local_where_the_profile_offers_nothing(listen, servers, tmp_path, name):
    server = servers("service-calls")
    token = server.login("officer")
    alert = receive_one(listen, server, "service-calls", token, tmp_path, lambda: server.post(
        "/api/calls", {"title": "Printer", "customer": "ACME", "priority": "normal"}, token=token))
    result = run(name, tmp_path, "acknowledge", alert["id"], token=token)
    assert result.returncode == 0, result.stderr
    assert "locally" in result.stdout and "offers no acknowledgement" in result.stdout
