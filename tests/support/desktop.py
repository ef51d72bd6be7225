"""Helpers for tests that run the real desktop app inside Xvfb and a private D-Bus session.

The Makefile starts pytest under `xvfb-run` and `dbus-run-session`; the fixtures here add a window manager
(openbox, so windows can be closed the way a user does), a StatusNotifierWatcher (so the tray icon registers and
can be inspected over D-Bus) and tauri-driver.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Background:
    """Processes started for a test, stopped (bounded) at the end."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def start(self, *cmd: str, log=None) -> subprocess.Popen:
        if not shutil.which(cmd[0]):
            raise RuntimeError(f"{cmd[0]} is not installed: run `scripts/setup --test`")
        out = open(log, "wb") if log else subprocess.DEVNULL
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)


def gdbus(*args: str) -> str:
    result = subprocess.run(["gdbus", "call", "--session", *args], capture_output=True, text=True, timeout=10)
    if result.returncode != 0:
        raise RuntimeError(f"gdbus {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def registered_tray_items() -> list[str]:
    out = gdbus("--dest", "org.kde.StatusNotifierWatcher", "--object-path", "/StatusNotifierWatcher",
                "--method", "org.freedesktop.DBus.Properties.Get", "org.kde.StatusNotifierWatcher",
                "RegisteredStatusNotifierItems")
    return re.findall(r"'([^']+)'", out)


def tray_item(entry: str) -> tuple[str, str]:
    """(bus name, object path) of a registered StatusNotifierItem entry."""
    if "/" in entry:
        name, _, path = entry.partition("/")
        return name, "/" + path
    out = subprocess.run(["gdbus", "introspect", "--session", "--dest", entry, "--object-path",
                          "/org/ayatana/NotificationItem", "--recurse"], capture_output=True, text=True,
                         timeout=10).stdout
    nodes = re.findall(r"node (/org/ayatana/NotificationItem/[^\s{]+)", out)
    if not nodes:
        raise RuntimeError(f"no NotificationItem object under {entry}:\n{out}")
    return entry, nodes[0]


def tray_property(name: str, path: str, prop: str) -> str:
    return gdbus("--dest", name, "--object-path", path, "--method", "org.freedesktop.DBus.Properties.Get",
                 "org.kde.StatusNotifierItem", prop)


def tray_menu(name: str, path: str) -> dict[str, int]:
    """Menu labels -> item ids of a tray item's dbusmenu."""
    menu_path = re.search(r"objectpath '([^']+)'", tray_property(name, path, "Menu")).group(1)
    layout = gdbus("--dest", name, "--object-path", menu_path, "--method", "com.canonical.dbusmenu.GetLayout",
                   "--", "0", "-1", "@as []")
    items = {label.replace("_", ""): int(item_id)
             for item_id, label in re.findall(r"\((\d+), \{[^}]*?'label': <'([^']*)'>", layout)}
    return {"__path__": menu_path, **items}


def click_tray_menu(name: str, path: str, label: str) -> None:
    menu = tray_menu(name, path)
    gdbus("--dest", name, "--object-path", menu["__path__"], "--method", "com.canonical.dbusmenu.Event",
          "--", str(menu[label]), "clicked", "<0>", "0")


def mapped_windows() -> list[str]:
    """Titles of the windows the window manager shows (hidden windows are not listed)."""
    out = subprocess.run(["wmctrl", "-l"], capture_output=True, text=True, timeout=10).stdout
    return [line.split(None, 3)[3] if len(line.split(None, 3)) == 4 else "" for line in out.splitlines()]


def pids_with(marker: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", "--", marker], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]
