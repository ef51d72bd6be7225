"""`alertdesk listen --notify` (duty mode) against real notification servers on the test session's D-Bus."""

import os
import shutil
import subprocess
import time

import pytest

from conftest import binary
from support.listener import Listener
from support.notifications import NotificationServer, kill_notification_daemons

pytestmark = pytest.mark.skipif(not os.environ.get("DBUS_SESSION_BUS_ADDRESS"),
                                reason="needs the session bus the Makefile provides (dbus-run-session)")


@pytest.fixture
def notifications():
    kill_notification_daemons()
    server = NotificationServer()
    yield server
    server.stop()


def duty(name, server, tmp_path, settings=""):
    (tmp_path / "config").mkdir(parents=True, exist_ok=True)
    (tmp_path / "config" / "settings.toml").write_text(settings)
    return Listener(binary(name), "station-reports", server.url, "--notify", token=server.login("officer"),
                    data_dir=tmp_path, keep_bus=True)


def report(server, priority, description):
    return server.post("/api/reports", {"station_id": 4, "category": "Fire", "description": description,
                                        "priority": priority, "location": "Main St"}).json()


@pytest.mark.parametrize("name", ["alertdesk", "alertdesk-cli"])
def test_critical_alert_notifies_repeats_and_acknowledge_writes_back(notifications, servers, tmp_path, name):
    server = servers("station-reports")
    listener = duty(name, server, tmp_path, "[alerting]\nrepeat_every_secs = 5\n")
    try:
        listener.wait_status("live")
        server.wait_clients(1)
        r = report(server, "critical", "Smoke in stairwell")
        first = notifications.wait_for(lambda c: "Smoke in stairwell" in c["summary"])
        assert first["app_name"] == "Alertdesk"
        assert first["hints"]["urgency"] == 2, first
        assert first["hints"]["sound-file"].endswith("/sounds/critical.ogg"), first
        assert os.path.exists(first["hints"]["sound-file"])
        assert first["hints"]["sound-name"], first
        assert first["actions"][0::2] == ["acknowledge", "open"] and "Acknowledge" in first["actions"], first
        assert first["expire_timeout"] == 0, "critical notifications stay until dismissed"
        assert first["app_icon"].endswith("alertdesk.png")
        assert listener.next_alert()["id"] == f"report-{r['id']}"  # printed too

        # Unacknowledged: it comes back after the repeat interval.
        again = notifications.wait_for(lambda c: "Smoke in stairwell" in c["summary"] and c["id"] != first["id"],
                                       timeout=10)
        # "Acknowledge" on the notification: the server hears it and the repeats stop.
        notifications.invoke_action(again["id"], "acknowledge")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            mine = [x for x in server.get("/api/reports", token=server.login("officer")).json()["reports"]
                    if x["id"] == r["id"]]
            if mine and mine[0]["status"] == "acknowledged":
                break
            time.sleep(0.2)
        assert mine[0]["status"] == "acknowledged", mine
        count = len([c for c in notifications.calls if "Smoke in stairwell" in c["summary"]])
        time.sleep(6.5)
        assert len([c for c in notifications.calls if "Smoke in stairwell" in c["summary"]]) == count, "kept repeating"
    finally:
        assert listener.stop() == 0


def test_low_priority_alert_notifies_once_with_its_tone(notifications, servers, tmp_path):
    server = servers("station-reports")
    listener = duty("alertdesk-cli", server, tmp_path, "[alerting]\nrepeat_every_secs = 5\n")
    try:
        listener.wait_status("live")
        server.wait_clients(1)
        report(server, "low", "Bin on fire")
        call = notifications.wait_for(lambda c: "Bin on fire" in c["summary"])
        assert call["hints"]["urgency"] == 0 and call["hints"]["sound-file"].endswith("/sounds/low.ogg"), call
        time.sleep(6)
        assert len([c for c in notifications.calls if "Bin on fire" in c["summary"]]) == 1, "only critical repeats"
    finally:
        assert listener.stop() == 0


@pytest.mark.skipif(not shutil.which("dunst") or not os.environ.get("DISPLAY"), reason="needs dunst and a display")
def test_dunst_receives_the_notify_call(servers, tmp_path):
    kill_notification_daemons()
    capture = tmp_path / "notify.log"
    monitor = subprocess.Popen(["dbus-monitor", "--session", "interface='org.freedesktop.Notifications'"],
                               stdout=open(capture, "w"), stderr=subprocess.DEVNULL)
    dunst = subprocess.Popen(["dunst"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = servers("station-reports")
    listener = duty("alertdesk-cli", server, tmp_path / "d")
    try:
        listener.wait_status("live")
        server.wait_clients(1)
        report(server, "high", "Alarm at the bank")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "Alarm at the bank" not in capture.read_text():
            time.sleep(0.2)
        text = capture.read_text()
        assert 'member=Notify' in text and '"Alertdesk"' in text and "Alarm at the bank" in text, text[-2000:]
        assert '"sound-file"' in text and "high.ogg" in text
        assert dunst.poll() is None
    finally:
        assert listener.stop() == 0
        dunst.terminate()
        monitor.terminate()
        dunst.wait(10)
        monitor.wait(10)


def test_without_a_notification_service_alerts_still_arrive(servers, tmp_path):
    server = servers("station-reports")
    # No session bus at all: notifications fail fast; the alert is printed and stored anyway.
    listener = Listener(binary("alertdesk-cli"), "station-reports", server.url, "--notify",
                        token=server.login("officer"), data_dir=tmp_path)
    try:
        listener.wait_status("live")
        server.wait_clients(1)
        report(server, "high", "No daemon here")
        assert listener.next_alert()["title"] == "Fire: No daemon here"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any("cannot show notifications" in l for l in listener.stderr_lines):
            time.sleep(0.1)
        assert any("cannot show notifications" in l for l in listener.stderr_lines), listener.stderr_lines
    finally:
        assert listener.stop() == 0
