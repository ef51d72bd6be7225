"""Alerting from the desktop app: native notifications from the window's own listener, their "Open" and
"Acknowledge" buttons, escalation after unanswered repeats, the tray's pause menu, and what the window shows
when there is no notification service."""

import subprocess

import pytest

from conftest import binary
from support.desktop import click_tray_menu, wait_until
from support.desktop_app import our_tray_item
from support.notifications import NotificationServer, kill_notification_daemons

pytestmark = pytest.mark.desktop

ROWS = '[data-testid="alert-row"]'


def signed_in(server, data_dir, settings=""):
    """Signs in with the CLI (token to the keyring) and writes settings; the app then starts connected with
    `--profile/--server` and the keyring's token."""
    (data_dir / "config").mkdir(parents=True, exist_ok=True)
    (data_dir / "config" / "settings.toml").write_text(settings)
    done = subprocess.run([str(binary("alertdesk-cli")), "--data-dir", str(data_dir), "login", "--profile",
                           "station-reports", "--server", server.url, "--username", "officer", "--password-stdin"],
                          input="secret\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return ["--profile", "station-reports", "--server", server.url]


def report(server, priority, description):
    return server.post("/api/reports", {"station_id": 4, "category": "Fire", "description": description,
                                        "priority": priority, "location": "Main St"}).json()


def live(driver):
    driver.wait_for("return document.querySelector('[data-testid=\"server-status\"]')?.dataset.state",
                    lambda s: s == "live")


def test_notification_open_acknowledge_and_escalation(app, secret_service, servers, notifications):
    server = servers("station-reports")
    launch, data_dir = app
    driver = launch(*signed_in(server, data_dir, "[alerting]\nrepeat_every_secs = 5\nescalate_after = 1\n"))
    live(driver)
    server.wait_clients(1)

    r = report(server, "critical", "Smoke in stairwell")
    first = notifications.wait_for(lambda c: "Smoke in stairwell" in c["summary"])
    assert first["app_name"] == "Alertdesk" and first["hints"]["urgency"] == 2, first
    assert first["hints"]["sound-file"].endswith("/sounds/critical.ogg"), first

    # Unanswered, it repeats, and after escalate_after repeats the window says so (and comes to the front).
    # Due 5 s after the first; the wait allows for a machine busy with other work.
    again = notifications.wait_for(lambda c: "Smoke in stairwell" in c["summary"] and c["id"] != first["id"],
                                   timeout=20)
    driver.wait_for("return [...document.querySelectorAll('[data-testid=\"notice\"]')].map(n => n.textContent)"
                    ".join('|')", lambda t: "still unacknowledged" in t, timeout=20)

    # "Acknowledge" on the notification: acknowledged in the window and on the server.
    notifications.invoke_action(again["id"], "acknowledge")
    driver.wait_for(f"return document.querySelector('{ROWS}[data-alert-id=\"report-{r['id']}\"] .flags')"
                    ".textContent", lambda t: "Acknowledged" in t)
    wait_until(lambda: [x for x in server.get("/api/reports", token=server.login("officer")).json()["reports"]
                        if x["id"] == r["id"]][0]["status"] == "acknowledged", 10, "the server to hear it")

    # "Open" on another alert's notification shows that alert in the window.
    report(server, "high", "Door forced")
    other = notifications.wait_for(lambda c: "Door forced" in c["summary"])
    notifications.invoke_action(other["id"], "open")
    driver.wait_for_text('[data-testid="detail-title"]', lambda t: "Door forced" in t)


def test_status_responses_from_the_notification_and_the_detail_pane(app, secret_service, demos, notifications):
    """The demo backend's status responses: "En route" on the notification reaches the server, the detail pane
    shows it confirmed with the alert's timeline, and its "On scene" button sends the next one."""
    demo = demos(binary("alertdesk-cli"))
    launch, data_dir = app
    done = subprocess.run([str(binary("alertdesk-cli")), "--data-dir", str(data_dir), "login", "--profile", "demo",
                           "--server", demo.url, "--username", "officer", "--password-stdin"],
                          input="demo\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    driver = launch("--profile", "demo", "--server", demo.url)
    live(driver)
    dispatcher = demo.login("dispatcher")

    def report_status(report_id):
        listed = demo.http.get(f"{demo.url}/api/reports", headers={"Authorization": f"Bearer {dispatcher}"},
                               timeout=10).json()["reports"]
        return next(r["status"] for r in listed if r["id"] == report_id)

    made = demo.post("/api/reports", {"category": "Robbery", "description": "Corner shop", "priority": "high",
                                      "location": "2 Mill Rd", "station_id": 4}, token=dispatcher).json()
    note = notifications.wait_for(lambda c: "Corner shop" in c["summary"])
    assert note["actions"][0::2] == ["acknowledge", "respond:en_route", "respond:on_scene", "open"], note
    assert "En route" in note["actions"], note
    notifications.invoke_action(note["id"], "respond:en_route")
    wait_until(lambda: report_status(made["id"]) == "en_route", 10, "the server to hear En route")

    # The detail pane: the response confirmed, the timeline, and buttons for the others.
    row = f'{ROWS}[data-alert-id="demo-{made["id"]}"]'
    driver.click(row)
    driver.wait_for_text('[data-testid="detail-responses"]', lambda t: "En route: confirmed by the server" in t)
    times = driver.wait_for_text('[data-testid="detail-times"]', lambda t: "Server confirmed" in t)
    assert "Notified" in times and "Received" in times, times
    driver.click('[data-testid="respond-on_scene"]')
    wait_until(lambda: report_status(made["id"]) == "on_scene", 10, "the server to hear On scene")
    driver.wait_for_text('[data-testid="detail-responses"]', lambda t: "On scene: confirmed by the server" in t)


def test_tray_pause_menu_shows_in_the_window(app, secret_service, servers, notifications):
    server = servers("station-reports")
    launch, data_dir = app
    driver = launch(*signed_in(server, data_dir))
    live(driver)
    name, path = wait_until(lambda: our_tray_item(data_dir), 15, "the tray icon")
    click_tray_menu(name, path, "For 15 minutes")
    state = driver.wait_for_text('[data-testid="notifications-state"] .text', lambda t: "paused until" in t)
    assert "critical alerts and assignments to you" in state
    # Paused: a normal report is listed but not notified; a critical one still is.
    server.wait_clients(1)
    report(server, "normal", "Cat up a tree")
    report(server, "critical", "Gas leak")
    notifications.wait_for(lambda c: "Gas leak" in c["summary"])
    driver.wait_for("return document.querySelectorAll('[data-testid=\"alert-row\"]').length", lambda n: n == 2)
    assert not [c for c in notifications.calls if "Cat up a tree" in c["summary"]]
    click_tray_menu(name, path, "Resume notifications")
    driver.wait_for("return document.querySelector('[data-testid=\"notifications-state\"]').hidden",
                    lambda hidden: hidden is True)


def test_a_failing_notification_service_is_shown_in_the_window(app, secret_service, servers):
    kill_notification_daemons()
    broken = NotificationServer(broken=True)  # owns the name, so no daemon is activated instead
    try:
        server = servers("station-reports")
        launch, data_dir = app
        driver = launch(*signed_in(server, data_dir))
        live(driver)
        server.wait_clients(1)
        report(server, "critical", "Smoke in stairwell")
        # The alert is listed and kept; the window says notifications do not work.
        driver.wait_for("return document.querySelectorAll('[data-testid=\"alert-row\"]').length", lambda n: n == 1)
        text = driver.wait_for_text('[data-testid="notify-failure"]',
                                    lambda t: "Desktop notifications do not work" in t)
        assert "keep this window in view" in text
        log = next((data_dir / "logs").glob("alertdesk*.log")).read_text()
        assert "cannot show notifications" in log
    finally:
        broken.stop()
