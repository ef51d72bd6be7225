"""`alertdesk acknowledge`: the history marks it, and the server hears it where the profile says how."""

import json
import subprocess

import time

from conftest import BINARIES, binary, headless_env
from support.listener import Listener
from support.proxy import Proxy

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


@pytest.mark.parametrize("name", BINARIES)
def test_respond_waits_in_the_outbox_until_the_server_is_back(demos, tmp_path, name):
    """`respond` while the server is away: kept here (exit 75), sent by the running listener once the server is
    back, confirmed in the history with its times."""
    demo = demos(binary(name))
    officer, dispatcher = demo.login("officer"), demo.login("dispatcher")
    proxy = Proxy(demo.port)
    listener = Listener(binary(name), "demo", proxy.url, token=officer, data_dir=tmp_path)
    try:
        listener.wait_status("live")
        made = demo.post("/api/reports", {"category": "Robbery", "description": "Corner shop", "priority": "high",
                                          "location": "2 Mill Rd", "station_id": 4}, token=dispatcher).json()
        alert = listener.next_alert()

        unknown = run(name, tmp_path, "respond", alert["id"], "dance", token=officer)
        assert unknown.returncode == 2, unknown.stderr
        assert "en_route" in unknown.stderr and "on_scene" in unknown.stderr, unknown.stderr

        proxy.down()
        listener.wait_status("reconnecting")
        queued = run(name, tmp_path, "respond", alert["id"], "En route", token=officer)  # its label works too
        assert queued.returncode == 75, queued.stderr
        assert "stays in the outbox" in queued.stderr, queued.stderr
        stored = json.loads(run(name, tmp_path, "history", "--json").stdout.splitlines()[0])
        [response] = stored["responses"]
        assert (response["name"], response["state"], response["attempts"]) == ("en_route", "pending", 1), response
        assert response["error"] and stored["acknowledged_at"], stored

        proxy.up()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            reports = demo.http.get(f"{demo.url}/api/reports", headers={"Authorization": f"Bearer {officer}"},
                                    timeout=10).json()["reports"]
            if next(r for r in reports if r["id"] == made["id"])["status"] == "en_route":
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the response never reached the server:\n" + "\n".join(listener.stderr_lines))
        update = listener.next_alert(timeout=10)
        assert (update["id"], update["status"]) == (alert["id"], "en_route"), update

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            stored = json.loads(run(name, tmp_path, "history", "--json").stdout.splitlines()[0])
            if stored["responses"][0]["state"] == "confirmed":
                break
            time.sleep(0.2)
        assert stored["responses"][0]["state"] == "confirmed", stored["responses"]
        moments = [m["what"] for m in stored["timeline"]]
        assert {"received", "read", "acknowledged", "responded", "confirmed"} <= set(moments), moments
        assert all(m["after_ms"] is not None for m in stored["timeline"][1:]), stored["timeline"]
    finally:
        assert listener.stop() == 0, "\n".join(listener.stderr_lines)
        proxy.close()
