"""The real `alertdesk` window under Xvfb, driven through tauri-driver + WebKitWebDriver.

Covers the foundation: the window loads the UI from ui/, the UI calls a Rust command and renders its answer,
closing the window hides it to the tray while the process lives on, a second launch focuses the running
instance, the tray menu works over D-Bus, and the window's size is remembered across restarts.
"""

import json
import subprocess
import time

import pytest

from conftest import APP_ID, binary, workspace_version
from support.desktop_app import our_tray_item
from support.desktop import click_tray_menu, gdbus, mapped_windows, pids_with, tray_menu, wait_until

pytestmark = pytest.mark.desktop

TITLE = "Alertdesk"


def test_window_tray_hide_and_single_instance(app, artifacts):
    launch, data_dir = app
    driver = launch()

    # The UI from ui/ is loaded and shows the version it got from the Rust `app_info` command.
    shown = driver.wait_for_text('[data-testid="app-version"]', lambda t: t.startswith("v"))
    assert shown == f"v{workspace_version()}"
    assert driver.title() == TITLE
    assert driver.text(driver.find("h1")) == "Alertdesk"
    time.sleep(0.5)  # let the compositor paint before the screenshot
    driver.screenshot(artifacts / "foundation-main-window.png")
    # The web view keeps its files with the data (--data-dir moves them too), not in a directory named after
    # the application id; the single-instance name on the session bus follows the id.
    assert (data_dir / "data" / "webview").is_dir()
    names = gdbus("--dest", "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus",
                  "--method", "org.freedesktop.DBus.ListNames")
    assert f"'{APP_ID}.SingleInstance'" in names, names

    # The tray icon registered with the StatusNotifierWatcher, with our menu.
    name, path = wait_until(lambda: our_tray_item(data_dir), 15, "the tray icon to register")
    labels = set(tray_menu(name, path)) - {"__path__"}
    assert {"Open Alertdesk", "Quit"} <= labels, labels

    # Closing the window as a user does hides it; the process and the tray icon stay.
    wait_until(lambda: TITLE in mapped_windows(), 10, "the window to be mapped")
    subprocess.run(["wmctrl", "-c", TITLE], check=True, timeout=10)
    wait_until(lambda: TITLE not in mapped_windows(), 10, "the window to hide")
    assert pids_with(f"--data-dir {data_dir}"), "closing the window ended the app"
    assert our_tray_item(data_dir), "tray icon gone after closing the window"
    log = next((data_dir / "logs").glob("alertdesk*.log")).read_text()
    assert "window hidden to the tray" in log

    # A second launch hands over to the running instance, which shows its window again.
    second = subprocess.run([str(binary("alertdesk")), "--data-dir", str(data_dir)],
                            capture_output=True, text=True, timeout=30)
    assert second.returncode == 0, second.stderr
    wait_until(lambda: TITLE in mapped_windows(), 10, "the running window to come back")
    assert len([t for t in mapped_windows() if t == TITLE]) == 1, "a second window was opened"

    # Tray "Open Alertdesk" after hiding brings it back too.
    subprocess.run(["wmctrl", "-c", TITLE], check=True, timeout=10)
    wait_until(lambda: TITLE not in mapped_windows(), 10, "the window to hide again")
    click_tray_menu(name, path, "Open Alertdesk")
    wait_until(lambda: TITLE in mapped_windows(), 10, "tray Open to show the window")


def test_tray_quit_ends_the_app_and_geometry_is_remembered(app):
    launch, data_dir = app
    driver = launch()
    driver.wait_for_text('[data-testid="app-version"]', lambda t: t.startswith("v"))
    wait_until(lambda: TITLE in mapped_windows(), 10, "the window to be mapped")

    subprocess.run(["wmctrl", "-r", TITLE, "-e", "0,60,50,820,560"], check=True, timeout=10)
    wait_until(lambda: driver.execute("return [window.innerWidth, window.innerHeight]") == [820, 560], 10,
               "the resize to reach the page")

    name, path = wait_until(lambda: our_tray_item(data_dir), 15, "the tray icon to register")
    click_tray_menu(name, path, "Quit")
    wait_until(lambda: not pids_with(f"--data-dir {data_dir}"), 15, "Quit to end the app")
    state = json.loads((data_dir / "data" / "window-state.json").read_text())
    assert (state["main"]["width"], state["main"]["height"]) == (820, 560), state
    driver.quit()  # the WebDriver session outlives the app it drove

    driver = launch()
    driver.wait_for_text('[data-testid="app-version"]', lambda t: t.startswith("v"))
    size = wait_until(lambda: (s := driver.execute("return [window.innerWidth, window.innerHeight]")) == [820, 560]
                      and s, 10, "the remembered size")
    assert size == [820, 560]
