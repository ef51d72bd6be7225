"""Fixtures for the desktop tests (import them into a test module): a window manager and tray host on the test display, a fresh tauri-driver per
test, and the app started on a private data dir."""

import os
import subprocess

import pytest

from conftest import binary
from support.desktop import Background, free_port, pids_with, registered_tray_items, tray_item, wait_until
from support.webdriver import WebDriver, WebDriverError


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

    def launch(*extra: str):
        # A launch counts once the UI has answered. WebKitWebDriver now and then drops the first requests of a
        # session; retry (bounded), after ending any half-started app so single-instance cannot hand over to it.
        for attempt in range(3):
            driver = WebDriver(desktop)
            try:
                driver.start(str(binary("alertdesk")), ["--data-dir", str(tmp_path), *extra])
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
