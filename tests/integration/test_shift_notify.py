"""A whole shift of `listen --notify`: hundreds of notifications, and nothing leaks.

Each report is posted, printed and notified before the next one is posted; the open file descriptors and the
threads of the listen process are counted after a warm-up and again at the end, and must stay flat (a D-Bus
connection, a task or a thread per notification would grow them by one per alert)."""

import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import binary
from support.listener import Listener
from support.notifications import NotificationServer, kill_notification_daemons

pytestmark = pytest.mark.skipif(not os.environ.get("DBUS_SESSION_BUS_ADDRESS"),
                                reason="needs a private session bus (run pytest under dbus-run-session)")

WARM_UP = 30
REPORTS = 250
SLACK = 10  # descriptors or threads a quiet moment may add (a reconnect, a blocking-pool thread)
# Every report its own notification: no burst folding, whatever the pace.
SETTINGS = "[alerting]\ncoalesce_above = 100000\n"


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def children(pid: int) -> int:
    """How many processes have `pid` as their parent now."""
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            count += 1
    return count


def duty(name, server, tmp_path, settings=SETTINGS, env=None):
    (tmp_path / "config").mkdir(parents=True, exist_ok=True)
    (tmp_path / "config" / "settings.toml").write_text(settings)
    return Listener(binary(name), "station-reports", server.url, "--notify", token=server.login("officer"),
                    data_dir=tmp_path, keep_bus=True, env=env)


def post(server, n: int, priority: str = "normal") -> dict:
    response = server.post("/api/reports", {"station_id": 4, "category": "Traffic", "description": f"Shift {n}",
                                            "priority": priority, "location": "Ring road"})
    response.raise_for_status()
    return response.json()


def wait_calls(notifications: NotificationServer, count: int, timeout: float = 10) -> dict:
    """The `count`-th recorded Notify call, waiting (bounded) for it."""
    deadline = time.monotonic() + timeout
    while len(notifications.calls) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    assert len(notifications.calls) >= count, f"{len(notifications.calls)} notifications, expected {count}"
    return notifications.calls[count - 1]


def feed(server, listener, first: int, count: int, notifications=None, on_notified=None) -> None:
    """Posts `count` reports one after another; each is printed (and notified, with a recording server) before
    the next one is posted."""
    for n in range(first, first + count):
        post(server, n)
        alert = listener.next_alert(timeout=10)
        assert alert["title"] == f"Traffic: Shift {n}", alert
        if notifications is not None:
            call = wait_calls(notifications, n + 1)
            assert call["summary"] == f"Report: Traffic: Shift {n}", call
            if on_notified is not None:
                on_notified(n, call)


def settle(pid: int, seconds: float = 1.0) -> tuple[int, int]:
    time.sleep(seconds)
    return open_files(pid), threads(pid)


@pytest.mark.parametrize("name", ["alertdesk-cli", "alertdesk"])
def test_hundreds_of_notifications_keep_descriptors_and_threads_flat(notifications, servers, tmp_path, name):
    server = servers("station-reports")
    listener = duty(name, server, tmp_path)
    pid = listener.proc.pid

    def like_a_desktop(n, call):
        # Half of them expire and the server says so; the other half the server never mentions again (some
        # daemons send no NotificationClosed for expired ones): neither may stay with Alertdesk for ever.
        if n % 2:
            notifications.close_notification(call["id"], reason=1)

    try:
        listener.wait_status("live")
        server.wait_clients(1)
        feed(server, listener, 0, WARM_UP, notifications, like_a_desktop)
        files_before, threads_before = settle(pid)
        feed(server, listener, WARM_UP, REPORTS, notifications, like_a_desktop)
        files_after, threads_after = settle(pid)
        print(f"{name}: descriptors {files_before} -> {files_after}, threads {threads_before} -> {threads_after}")
        assert len(notifications.calls) == WARM_UP + REPORTS
        assert files_after <= files_before + SLACK, f"open files grew from {files_before} to {files_after}"
        assert threads_after <= threads_before + SLACK, f"threads grew from {threads_before} to {threads_after}"
        # Everything still works after the shift: a click on a notification that expired is gone with it, one
        # on a notification still on screen reaches the server. Clicks are taken in order: once the second is
        # through, the first was dropped.
        expired, on_screen = notifications.calls[-1], notifications.calls[-2]
        assert on_screen["actions"][0::2][0] == "acknowledge", on_screen
        notifications.invoke_action(expired["id"], "acknowledge")
        notifications.invoke_action(on_screen["id"], "acknowledge")
        last = WARM_UP + REPORTS - 1
        deadline = time.monotonic() + 10
        statuses = {}
        while time.monotonic() < deadline and statuses.get(f"Shift {last - 1}") != "acknowledged":
            reports = server.get("/api/reports", token=server.login("officer")).json()["reports"]
            statuses = {r["description"]: r["status"] for r in reports}
            time.sleep(0.1)
        assert statuses[f"Shift {last - 1}"] == "acknowledged", "the click on a notification on screen was lost"
        assert statuses[f"Shift {last}"] == "pending", "a click on an expired notification was taken"
    finally:
        assert listener.stop() == 0


def speech_program(tmp_path):
    """A PATH holding only an `espeak-ng` that notes when it starts and ends, its environment, and takes a while
    (so overlapping runs would show)."""
    shim = tmp_path / "bin"
    shim.mkdir()
    log, env_dump = tmp_path / "speech.log", tmp_path / "speech.env"
    script = shim / "espeak-ng"
    script.write_text("#!/bin/sh\n"
                      f"echo start >> '{log}'\n"
                      f"/usr/bin/env > '{env_dump}'\n"
                      "/bin/sleep 0.3\n"
                      f"echo end >> '{log}'\n")
    script.chmod(0o755)
    return {"PATH": str(shim)}, log, env_dump


@pytest.mark.skipif(not os.path.exists("/usr/bin/env"), reason="needs /usr/bin/env")
def test_speech_runs_one_program_at_a_time_and_keeps_no_secret(notifications, servers, tmp_path):
    server = servers("station-reports")
    env, log, env_dump = speech_program(tmp_path)
    listener = duty("alertdesk-cli", server, tmp_path / "d",
                    SETTINGS + "speak_critical = true\nrepeat_every_secs = 600\n", env)
    pid = listener.proc.pid
    try:
        listener.wait_status("live")
        server.wait_clients(1)
        post(server, 0, "critical")
        listener.next_alert(timeout=10)
        files_before, threads_before = settle(pid, 0.5)
        most_children, most_threads = 0, threads_before
        # Forty critical reports in quick succession: they are read out one program at a time, never with a
        # thread or a process per alert (the oldest waiting are dropped when they come faster than that).
        for n in range(1, 41):
            post(server, n, "critical")
            listener.next_alert(timeout=10)
            most_children = max(most_children, children(pid))
            most_threads = max(most_threads, threads(pid))
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            most_children = max(most_children, children(pid))
            most_threads = max(most_threads, threads(pid))
            time.sleep(0.02)
        files_after = open_files(pid)
        print(f"speech: descriptors {files_before} -> {files_after}, threads {threads_before} -> at most "
              f"{most_threads}, at most {most_children} speech process(es) at once")
        assert most_children <= 1, f"{most_children} speech processes at once"
        assert most_threads <= threads_before + 2, f"threads grew from {threads_before} to {most_threads}"
        assert files_after <= files_before + SLACK, f"open files grew from {files_before} to {files_after}"
        lines = log.read_text().split()
        assert lines[:2] == ["start", "end"], lines
        assert all(a != b for a, b in zip(lines, lines[1:])), f"runs overlapped: {lines}"
        assert 2 <= len(lines) // 2 <= 41, lines
        # The speech program sees what speech needs, never the token.
        seen = dict(line.split("=", 1) for line in env_dump.read_text().splitlines() if "=" in line)
        assert "ALERTDESK_TOKEN" not in seen, sorted(seen)
        assert seen.get("PATH") == env["PATH"], seen
        assert set(seen) <= {"PATH", "HOME", "LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LC_CTYPE",
                             "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS", "PULSE_SERVER", "SPEECHD_ADDRESS",
                             "PWD", "SHLVL", "_"}, sorted(seen)
    finally:
        assert listener.stop() == 0


# --- the bus goes away: the one connection is opened again ------------------------------------------------------


def start_bus(path) -> subprocess.Popen:
    """A private session bus listening on the unix socket `path` (bounded wait until it is there)."""
    path.unlink(missing_ok=True)
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile", f"--address=unix:path={path}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not path.exists():
        time.sleep(0.02)
    assert path.exists(), "dbus-daemon did not start"
    return bus


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.mark.skipif(not shutil.which("dbus-daemon"), reason="needs dbus-daemon")
def test_a_lost_bus_is_connected_again(servers, tmp_path):
    socket = tmp_path / "bus"
    address = f"unix:path={socket}"
    bus = start_bus(socket)
    first = NotificationServer(bus_address=address)
    second = None
    server = servers("station-reports")
    listener = duty("alertdesk-cli", server, tmp_path / "d", env={"DBUS_SESSION_BUS_ADDRESS": address})
    try:
        listener.wait_status("live")
        server.wait_clients(1)
        post(server, 0)
        listener.next_alert(timeout=10)
        wait_calls(first, 1)
        files = open_files(listener.proc.pid)

        # The bus restarts (a new session): the connection Alertdesk kept is gone.
        first.stop()
        first = None
        stop(bus)
        bus = start_bus(socket)
        second = NotificationServer(bus_address=address)
        time.sleep(0.5)
        post(server, 1)
        listener.next_alert(timeout=10)
        call = wait_calls(second, 1)
        assert call["summary"] == "Report: Traffic: Shift 1", call
        # Clicks come in on the new connection.
        notifications_ok = False
        second.invoke_action(call["id"], "acknowledge")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not notifications_ok:
            reports = server.get("/api/reports", token=server.login("officer")).json()["reports"]
            notifications_ok = any(r["description"] == "Shift 1" and r["status"] == "acknowledged" for r in reports)
            time.sleep(0.1)
        assert notifications_ok, "the click on the new bus was not heard"
        assert open_files(listener.proc.pid) <= files + 2, "the old connection was kept"
        assert "the session bus connection closed" in listener.log_text()
    finally:
        assert listener.stop() == 0
        for notifications in (first, second):
            if notifications is not None:
                notifications.stop()
        stop(bus)


# --- dunst: a real daemon, which expires notifications and says so --------------------------------------------


@pytest.fixture
def display():
    """The X display dunst needs: the session's, or a private Xvfb for this test."""
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    if not shutil.which("Xvfb"):
        pytest.skip("needs a display or Xvfb")
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "640x480x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    number = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not number.endswith(b"\n"):
        chunk = os.read(read, 16)
        if not chunk:
            break
        number += chunk
    os.close(read)
    if not number.strip().isdigit():
        xvfb.kill()
        xvfb.wait(10)
        pytest.skip("Xvfb did not start")
    try:
        yield f":{number.strip().decode()}"
    finally:
        xvfb.send_signal(signal.SIGTERM)
        try:
            xvfb.wait(10)
        except subprocess.TimeoutExpired:
            xvfb.kill()
            xvfb.wait(10)


def has_owner(name: str) -> bool:
    """Whether `name` has an owner on the session bus (asked without starting anything)."""
    done = subprocess.run(["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
                           "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", f"string:{name}"],
                          capture_output=True, text=True, timeout=10)
    return done.returncode == 0 and "boolean true" in done.stdout


@pytest.mark.skipif(not shutil.which("dunst") or not shutil.which("dbus-send"), reason="needs dunst and dbus-send")
def test_a_shift_with_dunst_keeps_descriptors_flat(servers, tmp_path, display):
    kill_notification_daemons()
    config = tmp_path / "dunstrc"
    config.write_text("[global]\n    timeout = 1\n    notification_limit = 5\n")
    dunst = subprocess.Popen(["dunst", "-config", str(config)], env=dict(os.environ, DISPLAY=display),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Until dunst owns the name, a notification would have the bus try to start one without a display.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and dunst.poll() is None and not has_owner("org.freedesktop.Notifications"):
        time.sleep(0.05)
    assert has_owner("org.freedesktop.Notifications"), f"dunst did not take the notification service ({dunst.poll()})"
    server = servers("station-reports")
    listener = duty("alertdesk-cli", server, tmp_path / "d")
    pid = listener.proc.pid
    try:
        listener.wait_status("live")
        server.wait_clients(1)
        feed(server, listener, 0, WARM_UP)
        files_before, threads_before = settle(pid)
        feed(server, listener, WARM_UP, REPORTS)
        files_after, threads_after = settle(pid)
        print(f"dunst: descriptors {files_before} -> {files_after}, threads {threads_before} -> {threads_after}")
        assert dunst.poll() is None, "dunst ended"
        assert not any("cannot show notifications" in line for line in listener.stderr_lines), listener.stderr_lines
        assert files_after <= files_before + SLACK, f"open files grew from {files_before} to {files_after}"
        assert threads_after <= threads_before + SLACK, f"threads grew from {threads_before} to {threads_after}"
    finally:
        assert listener.stop() == 0
        dunst.terminate()
        try:
            dunst.wait(10)
        except subprocess.TimeoutExpired:
            dunst.kill()
            dunst.wait(10)
