"""Settings in the real desktop app: the settings pane changes settings that apply at once (no restart), the
department's locked settings are shown disabled, the department's servers come up beside the user's, and
starting at login (an XDG autostart entry that starts Alertdesk hidden in the tray).

The department's directory is a temporary one named by XDG_CONFIG_DIRS, and HOME (where the autostart entry
goes) a temporary one, both set before tauri-driver starts the app."""

import os
import shlex
import subprocess
import time

import pytest

from conftest import binary
from support.desktop import mapped_windows, pids_with, wait_until
from support.desktop_app import end_app, our_tray_item

pytestmark = pytest.mark.desktop

TITLE = "Alertdesk"
ENTRY = ".config/autostart/Alertdesk.desktop"


@pytest.fixture
def department(monkeypatch, tmp_path):
    """A department directory (XDG_CONFIG_DIRS) and a private HOME for the app; yields (department dir, home).
    Requested before `app`, so tauri-driver and the app it starts inherit both."""
    xdg = tmp_path / "xdg"
    (xdg / "alertdesk").mkdir(parents=True)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(xdg))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    yield xdg / "alertdesk", home


def login(server, data_dir):
    """The token in the keyring, as a user signing in once would leave it."""
    done = subprocess.run([str(binary("alertdesk-cli")), "--data-dir", str(data_dir), "login", "--profile",
                           "station-reports", "--server", server.url, "--username", "officer", "--password-stdin"],
                          input="secret\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def live(driver):
    driver.wait_for("return document.querySelector('[data-testid=\"server-status\"]')?.dataset.state",
                    lambda s: s == "live")


def window_shown():
    """Whether the window manager shows Alertdesk's window (titled "Alertdesk", or "Alertdesk (N)" with unread)."""
    return any(t == TITLE or t.startswith(f"{TITLE} (") for t in mapped_windows())


def js_text(testid):
    return f"return document.querySelector('[data-testid=\"{testid}\"]')?.textContent"


def saved_status(driver, name):
    return driver.wait_for_text('[data-testid="settings-status"]', lambda t: f"{name}: saved and applied" in t)


def link_alarms(notifications):
    return [c for c in notifications.calls if c["summary"].startswith("No connection to")]


def test_the_pane_applies_changes_at_once_and_shows_the_departments_locks(department, app, secret_service, servers,
                                                                           notifications, artifacts):
    dept, home = department
    server = servers("station-reports")
    launch, data_dir = app
    (dept / "settings.toml").write_text(
        'locked = ["alerting.quiet_hours"]\n[alerting]\nlink_alarm_after_secs = 5\n'
        'quiet_hours = { from = "03:00", to = "03:30" }\n')
    (dept / "servers.toml").write_text(
        f'[[server]]\nprofile = "station-reports"\nurl = "{server.url}"\nlabel = "Station 4 (department)"\n')
    (data_dir / "config").mkdir(parents=True)
    mine = data_dir / "config" / "settings.toml"
    mine.write_text('# my own\n[alerting]\nquiet_hours = { from = "00:00", to = "23:59" }\n')
    login(server, data_dir)
    driver = launch()

    # The department's server comes up signed in, and offers no sign-out.
    live(driver)
    assert driver.execute(js_text("server-status")).startswith("Station 4 (department)")
    assert driver.execute("return document.querySelector('[data-testid=\"sign-out\"]').hidden") is True
    assert not (data_dir / "config" / "servers.toml").exists()
    log = next((data_dir / "logs").glob("alertdesk*.log")).read_text().split("starting desktop app")[-1]
    assert log.count("alerting.quiet_hours is set by your department") == 1, log

    driver.click('[data-testid="open-settings"]')
    driver.wait_for("return document.querySelector('[data-testid=\"settings\"]').open", lambda o: o is True)
    # The locked setting: the department's value, disabled, said so.
    state = driver.execute("""
        const q = (t) => document.querySelector(`[data-testid="${t}"]`);
        return [q('setting-quiet_hours').disabled, q('setting-quiet_hours').checked, q('setting-quiet-from').value,
                q('setting-quiet-from').disabled, q('setting-note-quiet_hours').textContent,
                q('setting-on_duty').disabled];""")
    assert state == [True, True, "03:00", True, "Set by your department", False], state
    driver.screenshot(artifacts / "settings-pane-locked.png")

    # Off duty, from the pane: a lost connection raises no alarm...
    driver.click('[data-testid="setting-on_duty"]')
    saved_status(driver, "On duty")
    assert "on_duty = false" in mine.read_text() and mine.read_text().startswith("# my own\n")
    server.wait_clients(1)
    server.stop()
    driver.wait_for("return document.querySelector('[data-testid=\"server-status\"]')?.dataset.state",
                    lambda s: s in ("reconnecting", "connecting"))
    time.sleep(8)  # past link_alarm_after_secs
    assert link_alarms(notifications) == [], notifications.calls
    # ...and back on duty, the alarm for the link still down comes at once, without a restart.
    driver.click('[data-testid="setting-on_duty"]')
    alarm = notifications.wait_for(lambda c: c["summary"].startswith("No connection to"), timeout=10)
    assert "Station 4 (department)" in alarm["summary"], alarm

    # The theme applies to the window at once.
    driver.execute("const s = document.querySelector('[data-testid=\"setting-theme\"]'); s.value = 'dark';"
                   "s.dispatchEvent(new Event('change', {bubbles: true}));")
    saved_status(driver, "Theme")
    assert driver.execute("return document.documentElement.dataset.theme") == "dark"

    # Starting at login: the entry is written with the hidden start on this data directory, and removed again.
    entry = home / ENTRY
    driver.click('[data-testid="setting-autostart"]')
    saved_status(driver, "Starting at login")
    text = entry.read_text()
    exec_line = next(l for l in text.splitlines() if l.startswith("Exec="))
    assert exec_line == f"Exec={binary('alertdesk')} --hidden --data-dir {data_dir}", text
    driver.click('[data-testid="setting-autostart"]')
    saved_status(driver, "Starting at login")
    assert not entry.exists()
    assert "autostart = false" in mine.read_text()


def test_the_login_entry_starts_alertdesk_hidden_in_the_tray(department, desktop_session, secret_service, servers,
                                                              notifications, tmp_path):
    _, home = department
    server = servers("station-reports")
    data_dir = tmp_path / "data"
    (data_dir / "config").mkdir(parents=True)
    (data_dir / "config" / "settings.toml").write_text("[window]\nautostart = true\n")
    (data_dir / "config" / "servers.toml").write_text(
        f'[[server]]\nprofile = "station-reports"\nurl = "{server.url}"\nlabel = "Station 4"\n')
    login(server, data_dir)
    app = [str(binary("alertdesk")), "--data-dir", str(data_dir)]
    try:
        # A first start (as the user, or the package) writes the entry the setting asks for.
        first = subprocess.Popen(app, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        entry = wait_until(lambda: (home / ENTRY).is_file() and (home / ENTRY), 30, "the autostart entry")
        end_app(data_dir)
        first.wait(timeout=10)

        # The session starts what the entry says.
        exec_line = next(l for l in entry.read_text().splitlines() if l.startswith("Exec="))
        command = shlex.split(exec_line.removeprefix("Exec="))
        assert command == [*app[:1], "--hidden", "--data-dir", str(data_dir)], command
        started = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env=dict(os.environ))
        # In the tray, connected, no window.
        wait_until(lambda: our_tray_item(data_dir), 30, "the tray icon")
        server.wait_clients(1, timeout=30)
        assert not window_shown()
        server.post("/api/reports", {"station_id": 4, "category": "Fire", "description": "Smoke in stairwell",
                                     "priority": "critical", "location": "Main St"})
        notifications.wait_for(lambda c: "Smoke in stairwell" in c["summary"], timeout=15)
        assert not window_shown(), "the window showed itself"

        # A second hidden start (the entry again) leaves it hidden; a plain one brings the window.
        again = subprocess.run([*command], capture_output=True, text=True, timeout=30)
        assert again.returncode == 0, again.stderr
        time.sleep(1)
        assert not window_shown()
        shown = subprocess.run(app, capture_output=True, text=True, timeout=30)
        assert shown.returncode == 0, shown.stderr
        wait_until(window_shown, 15, "the window to show")
        assert started.poll() is None and pids_with(f"--data-dir {data_dir}")
        log = next((data_dir / "logs").glob("alertdesk*.log")).read_text()
        assert "starting hidden in the tray (--hidden)" in log
    finally:
        end_app(data_dir)
