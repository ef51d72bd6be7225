"""The real `alertdesk` window under Xvfb, driven through tauri-driver + WebKitWebDriver.

Covers the foundation: the window loads the UI from ui/, the UI calls a Rust command and renders its answer,
closing the window hides it to the tray while the process lives on, a second launch focuses the running
instance, the tray menu works over D-Bus, and the window's size is remembered across restarts.
"""

import json
import os
import subprocess
import time

import pytest

from conftest import binary, workspace_version
from support.desktop import (
    Background,
    click_tray_menu,
    free_port,
    mapped_windows,
    pids_with,
    registered_tray_items,
    tray_item,
    tray_menu,
    wait_until,
)
from support.webdriver import WebDriver, WebDriverError

pytestmark = pytest.mark.desktop

TITLE = "Alertdesk"


@pytest.fixture(scope="module")
def desktop_session(tmp_path_factory):
    """A window manager and a tray host on this test session's display and bus."""
    if not os.environ.get("DISPLAY") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.fail("desktop tests need a display and a session bus: run them through `make test-e2e`")
    logs = tmp_path_factory.mktemp("desktop-logs")
    bg = Background()
    bg.start("status-notifier-watcher", log=logs / "snw.log")
    bg.start("openbox", "--sm-disable", log=logs / "openbox.log")
    yield logs
    bg.stop_all()


@pytest.fixture
def desktop(desktop_session):
    """tauri-driver (and its WebKitWebDriver) for one test: a driver whose previous session ended with its app
    still running sometimes drops the next session, so each test gets a fresh one."""
    bg = Background()
    port, native_port = free_port(), free_port()
    bg.start("tauri-driver", "--port", str(port), "--native-port", str(native_port),
             "--native-driver", "/usr/bin/WebKitWebDriver", log=desktop_session / f"tauri-driver-{port}.log")
    # tauri-driver answers /status itself before WebKitWebDriver listens: wait for both.
    WebDriver(f"http://127.0.0.1:{port}").wait_ready()
    WebDriver(f"http://127.0.0.1:{native_port}").wait_ready()
    yield f"http://127.0.0.1:{port}"
    bg.stop_all()


@pytest.fixture
def app(desktop, tmp_path):
    """Starts the app with a private data dir; yields (driver, data_dir). Quits the session at the end."""
    drivers = []

    def launch():
        # A launch counts once the UI has answered. WebKitWebDriver now and then drops the first requests of a
        # session; retry (bounded), after ending any half-started app so single-instance cannot hand over to it.
        for attempt in range(3):
            driver = WebDriver(desktop)
            try:
                driver.start(str(binary("alertdesk")), ["--data-dir", str(tmp_path)])
                driver.wait_for_text('[data-testid="app-version"]', lambda t: t.startswith("v"), timeout=30)
            except (OSError, WebDriverError, TimeoutError) as error:
                driver.quit()
                end_app(tmp_path)
                if attempt == 2:
                    raise
                print(f"session start failed ({error!r}); retrying")
                continue
            drivers.append(driver)
            return driver

    yield launch, tmp_path
    for driver in drivers:
        driver.quit()
    end_app(tmp_path)


def end_app(data_dir):
    """Ends the app running on `data_dir` and waits until it is gone (it owns the single-instance name)."""
    marker = f"--data-dir {data_dir}"
    for pid in pids_with(marker):
        subprocess.run(["kill", str(pid)], check=False)
    try:
        wait_until(lambda: not pids_with(marker), 10, "the app to exit")
    except TimeoutError:
        for pid in pids_with(marker):
            subprocess.run(["kill", "-9", str(pid)], check=False)
        wait_until(lambda: not pids_with(marker), 10, "the app to exit after SIGKILL")


def our_tray_item(data_dir):
    """The StatusNotifierItem registered by the app running on `data_dir`."""
    pids = pids_with(f"--data-dir {data_dir}")
    for entry in registered_tray_items():
        name, path = tray_item(entry)
        owner = subprocess.run(["gdbus", "call", "--session", "--dest", "org.freedesktop.DBus", "--object-path",
                                "/org/freedesktop/DBus", "--method",
                                "org.freedesktop.DBus.GetConnectionUnixProcessID", name],
                               capture_output=True, text=True, timeout=10).stdout
        if any(f"uint32 {pid}," in owner for pid in pids):
            return name, path
    return None


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
