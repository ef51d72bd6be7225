"""The dispatcher's day in the real window (WebKitGTK through tauri-driver, under Xvfb, a private D-Bus and
gnome-keyring): sign in to a seed-style server, watch reports and an assignment arrive, read them, restart.

Screenshots of the sign-in screen, the list and the detail pane, in light and dark, go to tests/artifacts/.
"""

import subprocess
import time

import pytest

from conftest import ROOT
from support.desktop import mapped_windows, tray_menu, tray_property, wait_until
from support.desktop_app import end_app, our_tray_item
from support.keyring import files_containing, secret_lookup

pytestmark = pytest.mark.desktop

ROWS = '[data-testid="alert-row"]'
XSS = '<img src=x onerror="window.__xss=1"><a href="javascript:window.__xss=2">Open me</a>'


def rows(driver):
    """(id, unread, title) of every row drawn, top first."""
    return driver.execute("""
        return [...document.querySelectorAll('[data-testid="alert-row"]')]
          .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
          .map(r => [r.dataset.alertId, r.dataset.unread === 'true', r.querySelector('.title').textContent]);""")


def badge(driver) -> str:
    return driver.execute('return document.querySelector(\'[data-testid="unread-badge"]\').textContent')


def dialog_open(driver) -> bool:
    return driver.execute('return document.querySelector(\'[data-testid="sign-in"]\').open')


def sign_in(driver, server):
    driver.wait_for("return document.querySelector('[data-testid=\"sign-in-profile\"]').options.length",
                    lambda n: n >= 6)
    driver.execute("""
        const s = document.querySelector('[data-testid="sign-in-profile"]');
        s.value = 'service-calls'; s.dispatchEvent(new Event('change'));""")
    driver.type('[data-testid="sign-in-server"]', server.url)
    driver.type('[data-testid="sign-in-label"]', "Station 4")
    driver.type('[data-testid="sign-in-var-user_id"]', "u-officer")
    driver.type('[data-testid="sign-in-username"]', "officer")
    driver.type('[data-testid="sign-in-password"]', "secret")
    driver.click('[data-testid="sign-in-submit"]')


def tray_icon_matches(name, path, png) -> bool:
    """Whether the tray icon's current image file has the same pixels as `png`."""
    icon = tray_property(name, path, "IconName").strip("()',<> \n")
    result = subprocess.run(["compare", "-metric", "AE", icon, str(png), "null:"], capture_output=True,
                            text=True, timeout=30)
    return result.returncode == 0


def test_sign_in_watch_read_and_restart(app, secret_service, servers, artifacts):
    server = servers("service-calls")
    launch, data_dir = app
    driver = launch()

    # First run: the sign-in screen.
    wait_until(lambda: dialog_open(driver), 15, "the sign-in screen on first run")
    time.sleep(0.5)
    driver.screenshot(artifacts / "desk-sign-in-light.png")
    # A wrong password is refused in the form, with the server's answer.
    driver.execute("""
        const s = document.querySelector('[data-testid="sign-in-profile"]');
        s.value = 'service-calls'; s.dispatchEvent(new Event('change'));""")
    driver.type('[data-testid="sign-in-server"]', server.url)
    driver.type('[data-testid="sign-in-username"]', "officer")
    driver.type('[data-testid="sign-in-password"]', "wrong")
    driver.click('[data-testid="sign-in-submit"]')
    error = driver.wait_for_text('[data-testid="sign-in-error"]', lambda t: "rejected" in t)
    assert "401" in error or "403" in error, error

    sign_in(driver, server)
    wait_until(lambda: not dialog_open(driver), 20, "the sign-in to finish")
    driver.wait_for("return document.querySelector('[data-testid=\"server-status\"]')?.dataset.state",
                    lambda s: s == "live")

    # The token is in the keyring, and in no file Alertdesk wrote.
    account = f"service-calls@{server.url}"
    token = secret_lookup(account)
    assert token, f"no keyring entry for {account}"
    assert files_containing(data_dir, token) == []
    assert "Station 4" in (data_dir / "config" / "servers.toml").read_text()

    # Reports and an assignment to me arrive; the assignment is pinned on top; the badge counts 3.
    admin = server.login("dispatcher")
    calls = [server.post("/api/calls", {"title": title, "customer": "ACME", "priority": priority},
                         token=admin).json()
             for title, priority in [("Burglary at 12 King St", "high"), ("Noise complaint", "low"),
                                     (XSS, "urgent")]]
    server.post(f"/api/calls/{calls[1]['id']}/assign", {"assignedTo": "u-officer"}, token=admin)
    driver.wait_for("return document.querySelectorAll('[data-testid=\"alert-row\"]').length", lambda n: n == 3)
    wait_until(lambda: rows(driver)[0][0] == f"call-{calls[1]['id']}", 10, "the assignment on top")
    assert badge(driver) == "3"
    assert all(unread for _, unread, _ in rows(driver))
    assert rows(driver)[0][2] == "Call assigned: Noise complaint"
    wait_until(lambda: "Alertdesk (3)" in mapped_windows(), 10, "the unread count in the window title")

    # Server text is text: the XSS title shows literally and nothing in it ran.
    assert any(title == f"New call: {XSS}" for _, _, title in rows(driver))
    assert driver.execute("return window.__xss === undefined && "
                          "document.querySelectorAll('.viewport img, .viewport a').length === 0")

    # The tray shows the unread variant and the per-server count.
    name, path = wait_until(lambda: our_tray_item(data_dir), 15, "the tray icon")
    wait_until(lambda: any("3 unread" in label for label in tray_menu(name, path)), 10, "the count in the tray")
    wait_until(lambda: tray_icon_matches(name, path, ROOT / "icons" / "tray-unread.png"), 10,
               "the unread tray icon")
    time.sleep(0.5)
    driver.screenshot(artifacts / "desk-list-light.png")

    # Mark all read: badge 0, title and tray back to normal.
    driver.click('[data-testid="mark-all-read"]')
    driver.wait_for('return document.querySelector(\'[data-testid="unread-badge"]\').textContent',
                    lambda t: t == "0")
    wait_until(lambda: not any(unread for _, unread, _ in rows(driver)), 10, "every row read")
    wait_until(lambda: "Alertdesk" in mapped_windows(), 10, "the plain title")
    wait_until(lambda: tray_icon_matches(name, path, ROOT / "icons" / "tray-normal.png"), 10,
               "the normal tray icon")

    # The detail pane: the assignment's trail (it was a report first) and the acknowledge button.
    driver.click(f'{ROWS}[data-alert-id="call-{calls[1]["id"]}"]')
    driver.wait_for_text('[data-testid="detail-title"]', lambda t: t == "Call assigned: Noise complaint")
    assert "New call: Noise complaint" in driver.text(driver.find('[data-testid="detail-trail"]'))
    driver.click('[data-testid="acknowledge"]')
    driver.wait_for_text('[data-testid="acknowledge"]', lambda t: t == "Acknowledged")
    time.sleep(0.5)
    driver.screenshot(artifacts / "desk-detail-light.png")

    # Restart: the history is there, no sign-in prompt, the server connects again with the stored token.
    driver.quit()
    end_app(data_dir)
    (data_dir / "config" / "settings.toml").write_text('[window]\ntheme = "dark"\n')
    driver = launch()
    driver.wait_for("return document.querySelectorAll('[data-testid=\"alert-row\"]').length", lambda n: n == 3)
    driver.wait_for("return document.querySelector('[data-testid=\"server-status\"]')?.dataset.state",
                    lambda s: s == "live")
    assert not dialog_open(driver)
    assert badge(driver) == "0"
    # Caught up after the restart, the assignment is still an assignment (not turned back into a report).
    kind = driver.execute(f"return document.querySelector('{ROWS}[data-alert-id=\"call-{calls[1]['id']}\"]')"
                          ".dataset.kind")
    assert kind == "assignment"
    background = driver.execute("return getComputedStyle(document.documentElement).backgroundColor")
    assert background == "rgb(11, 17, 32)", f"dark theme not applied: {background}"
    time.sleep(0.5)
    driver.screenshot(artifacts / "desk-list-dark.png")
    driver.click(f'{ROWS}[data-alert-id="call-{calls[0]["id"]}"]')
    driver.wait_for_text('[data-testid="detail-title"]', lambda t: "Burglary" in t)
    time.sleep(0.3)
    driver.screenshot(artifacts / "desk-detail-dark.png")
    driver.click('[data-testid="add-server"]')
    wait_until(lambda: dialog_open(driver), 10, "the sign-in screen")
    time.sleep(0.5)
    driver.screenshot(artifacts / "desk-sign-in-dark.png")

    # Signing out removes the token from the keyring.
    driver.click('[data-testid="sign-in-cancel"]')
    driver.click('[data-testid="sign-out"]')
    driver.click('[data-testid="sign-out"]')
    driver.wait_for("return document.querySelectorAll('[data-testid=\"server-status\"]').length", lambda n: n == 0)
    wait_until(lambda: secret_lookup(account) is None, 10, "the token to leave the keyring")


def test_scripted_start_and_rejected_token_banner(app, servers):
    """`alertdesk --profile P --server URL` connects at start; a refused token says "sign in again"."""
    server = servers("station-reports")
    launch, data_dir = app
    driver = launch("--profile", "station-reports", "--server", server.url)
    # No token anywhere: the server asks for a sign-in, the others (none here) stay live.
    banner = driver.wait_for_text('[data-testid="sign-in-again"]', lambda t: "Alerts from it are not arriving" in t)
    assert "no token" in banner
    state = driver.execute("return document.querySelector('[data-testid=\"server-status\"]').dataset.state")
    assert state == "auth_failed"


def test_try_the_demo(app, secret_service):
    """"Try the demo" on the sign-in screen: the built-in backend starts in the app, sign-in goes through the
    normal path (token in the keyring), and live demo alerts fill the list."""
    launch, data_dir = app
    driver = launch()
    wait_until(lambda: dialog_open(driver), 15, "the sign-in screen on first run")
    driver.click('[data-testid="try-demo"]')
    try:
        wait_until(lambda: not dialog_open(driver), 20, "the demo to start")
    except TimeoutError:
        pytest.fail(f"the demo did not start: {driver.text(driver.find('[data-testid=sign-in-error]'))!r}")
    server = driver.wait_for(
        "const s = document.querySelector('[data-testid=\"server-status\"]');"
        "return s && [s.dataset.state, s.querySelector('.label').textContent, s.title]",
        lambda s: s and s[0] == "live")
    assert server[1] == "Demo"
    url = server[2].splitlines()[0]
    assert url.startswith("http://127.0.0.1:"), url
    token = secret_lookup(f"demo@{url}")
    assert token and files_containing(data_dir, token) == []
    driver.wait_for("return document.querySelectorAll('[data-testid=\"alert-row\"]').length", lambda n: n >= 2,
                    timeout=40)


def test_readme_first_command_opens_the_window_on_the_demo(desktop_session, tmp_path):
    """scripts/run-app with a display: the window comes up connected to the demo, and its title counts the
    demo's alerts as they arrive (within 30 s)."""
    import os
    import re
    import signal

    from conftest import BIN_DIR

    env = dict(os.environ, ALERTDESK_DATA_DIR=str(tmp_path), HOME=str(tmp_path))
    proc = subprocess.Popen([str(ROOT / "scripts" / "run-app"), str(BIN_DIR)], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        title = wait_until(lambda: next((t for t in mapped_windows() if re.fullmatch(r"Alertdesk \(\d+\)", t)),
                                        None), 30, "demo alerts counted in the window title")
        assert int(title.split("(")[1].rstrip(")")) >= 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
    leftovers = subprocess.run(["pgrep", "-f", f"--data-dir {tmp_path}"], capture_output=True, text=True).stdout
    assert leftovers.strip() == "", leftovers
