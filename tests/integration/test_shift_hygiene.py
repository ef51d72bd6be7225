"""A whole shift without leaks or lock-ups: one owner per data directory, tokens never on the command line or in a
child's environment, a process other processes cannot read, and private, size-capped logs."""

import json
import os
import pathlib
import queue
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import BINARIES, binary, headless_env
from support.hostile import HostileServer
from support.listener import Listener

CLI = "alertdesk-cli"
NOBODY = 65534


def run(name, data_dir, *args, token=None, **kw):
    env = headless_env(ALERTDESK_DATA_DIR=str(data_dir))
    if token:
        env["ALERTDESK_TOKEN"] = token
    return subprocess.run([str(binary(name)), *args], capture_output=True, text=True, timeout=60, env=env, **kw)


def report(server, description, priority="high"):
    return server.post("/api/reports", {"station_id": 4, "category": "Fire", "description": description,
                                        "priority": priority, "location": "Main St"}).json()


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- One owner per data directory ------------------------------------------------------------------------------


def test_a_second_listener_on_the_same_data_dir_exits_2_naming_the_first(listen, servers, tmp_path):
    server = servers("station-reports")
    token = server.login("officer")
    first = listen("station-reports", server, token=token, data_dir=tmp_path)
    first.wait_status("live")
    server.wait_clients(1)

    for name in BINARIES:
        second = run(name, tmp_path, "listen", "--json", "--profile", "station-reports", "--server", server.url,
                     token=token)
        assert second.returncode == 2, second.stderr
        assert f"in use by {first.cmd[0].rsplit('/', 1)[-1]} listen (pid {first.proc.pid})" in second.stderr, \
            second.stderr
        assert "--data-dir" in second.stderr and second.stdout == ""
    assert server.clients() == 1, "the refused listener connected anyway"

    # The first one is untouched and still receives.
    r = report(server, "Still the owner")
    assert first.next_alert()["id"] == f"report-{r['id']}"
    lock = (tmp_path / "data" / "alertdesk.lock").read_text().splitlines()
    assert lock == [str(first.proc.pid), f"{first.cmd[0].rsplit('/', 1)[-1]} listen"]


def test_the_data_dir_is_free_again_when_its_owner_ends_even_by_kill_9(servers, tmp_path):
    server = servers("station-reports")
    token = server.login("officer")

    def owner():
        listener = Listener(binary(CLI), "station-reports", server.url, token=token, data_dir=tmp_path)
        listener.wait_status("live")  # it got the data directory: a refused one exits 2 before connecting
        return listener

    first = owner()
    first.proc.kill()
    first.proc.wait(timeout=10)
    second = owner()  # after kill -9: the lock went with the process
    assert second.stop() == 0
    third = owner()  # after a normal stop
    assert third.stop() == 0


def test_acknowledge_and_history_work_while_listen_owns_the_data_dir(listen, servers, tmp_path):
    """One-shot commands do not take the data directory: they are how an officer answers what `listen` printed.
    SQLite keeps their writes apart from the listener's; what they queue, the listener sends."""
    server = servers("station-reports")
    token = server.login("officer")
    listener = listen("station-reports", server, token=token, data_dir=tmp_path)
    listener.wait_status("live")
    server.wait_clients(1)
    r = report(server, "Smoke")
    alert = listener.next_alert()
    result = run(CLI, tmp_path, "acknowledge", alert["id"], token=token)
    assert result.returncode == 0, result.stderr
    assert server.get("/api/reports", token=token).json()["reports"][0]["status"] == "acknowledged"
    history = run(CLI, tmp_path, "history", "--json")
    assert history.returncode == 0, history.stderr
    assert json.loads(history.stdout.splitlines()[0])["acknowledged_at"]
    assert run(CLI, tmp_path, "mark-read", "--all").returncode == 0
    assert listener.proc.poll() is None
    assert r["id"]


# --- Tokens never on the command line --------------------------------------------------------------------------

SECRET = "tok-on-the-command-line-7f3a"


@pytest.mark.parametrize("name", BINARIES)
def test_a_token_on_the_command_line_is_refused_without_echoing_it(name, tmp_path):
    for args in (["listen", "--profile", "station-reports", "--server", "http://127.0.0.1:9", "--token", SECRET],
                 ["acknowledge", "report-1", "--token", SECRET],
                 ["respond", "report-1", "en_route", "--token", SECRET],
                 ["profile", "probe", "--server", "http://127.0.0.1:9", "--token", SECRET]):
        result = run(name, tmp_path, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert SECRET not in result.stderr + result.stdout
        for way in ("--token -", "--token-file", "ALERTDESK_TOKEN", "alertdesk login"):
            assert way in result.stderr, (way, result.stderr)
    # Refused before anything was recorded.
    assert not (tmp_path / "data" / "history.db").exists()


@pytest.mark.parametrize("name", BINARIES)
def test_token_flags_have_help(name, tmp_path):
    for sub in (["listen"], ["acknowledge"], ["respond"], ["profile", "probe"]):
        text = run(name, tmp_path, *sub, "--help").stdout
        assert "--token <->" in text and "--token-file <PATH>" in text, text


def test_listen_reads_the_token_from_standard_input(servers, tmp_path):
    server = servers("station-reports")
    env = headless_env(ALERTDESK_DATA_DIR=str(tmp_path))
    proc = subprocess.Popen([str(binary(CLI)), "listen", "--json", "--profile", "station-reports", "--server",
                             server.url, "--token", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    lines: "queue.Queue[tuple[str, str]]" = queue.Queue()
    for name, stream in (("out", proc.stdout), ("err", proc.stderr)):
        threading.Thread(target=lambda n=name, s=stream: [lines.put((n, line)) for line in s], daemon=True).start()

    def next_line(stream: str, until: float) -> str:
        """The next line of `stream` (bounded in time); the other stream's lines are kept for the message."""
        seen = []
        while time.monotonic() < until:
            try:
                name, line = lines.get(timeout=max(0.05, until - time.monotonic()))
            except queue.Empty:
                break
            if name == stream:
                return line
            seen.append(line)
        raise AssertionError(f"no line on std{stream} in time; the other said: {seen}")

    try:
        proc.stdin.write(server.login("officer") + "\n")
        proc.stdin.close()
        # Live means caught up: a report made after that is new, not part of what was already there.
        deadline = time.monotonic() + 30
        while '"live"' not in next_line("err", deadline):
            pass
        r = report(server, "Read from stdin")
        line = next_line("out", time.monotonic() + 15)
        assert json.loads(line)["id"] == f"report-{r['id']}"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_a_token_file_must_be_private(listen, servers, tmp_path):
    server = servers("station-reports")
    token = server.login("officer")
    data = tmp_path / "d"
    listener = listen("station-reports", server, token=token, data_dir=data)
    listener.wait_status("live")
    server.wait_clients(1)
    r = report(server, "Token file")
    alert = listener.next_alert()
    assert listener.stop() == 0

    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o644)
    result = run(CLI, data, "acknowledge", alert["id"], "--token-file", str(token_file))
    assert result.returncode == 2, result.stderr
    assert "chmod 600" in result.stderr and token not in result.stderr, result.stderr
    token_file.chmod(0o600)
    result = run(CLI, data, "acknowledge", alert["id"], "--token-file", str(token_file))
    assert result.returncode == 0, result.stderr
    assert f"Acknowledged {alert['id']} on" in result.stdout
    assert [x for x in server.get("/api/reports", token=token).json()["reports"]
            if x["id"] == r["id"]][0]["status"] == "acknowledged"
    empty = tmp_path / "empty"
    empty.write_text("\n")
    empty.chmod(0o600)
    result = run(CLI, data, "acknowledge", alert["id"], "--token-file", str(empty))
    assert result.returncode == 2 and "no token in" in result.stderr, result.stderr


# --- The environment and the process ---------------------------------------------------------------------------


@pytest.mark.skipif(not os.environ.get("DBUS_SESSION_BUS_ADDRESS"),
                    reason="needs the session bus the Makefile provides (dbus-run-session)")
def test_a_child_process_never_sees_the_token(notifications, servers, tmp_path):
    """The speech program is the child `listen --notify` starts; it records its environment."""
    server = servers("station-reports")
    shim = tmp_path / "bin"
    shim.mkdir()
    seen = tmp_path / "child-env"
    (shim / "espeak-ng").write_text(f"#!/bin/sh\n/usr/bin/env > '{seen}'\n")
    (shim / "espeak-ng").chmod(0o755)
    (tmp_path / "d" / "config").mkdir(parents=True)
    (tmp_path / "d" / "config" / "settings.toml").write_text("[alerting]\nspeak_critical = true\n")
    token = server.login("officer")
    listener = Listener(binary(CLI), "station-reports", server.url, "--notify", token=token,
                        data_dir=tmp_path / "d", keep_bus=True, env={"PATH": str(shim)})
    try:
        listener.wait_status("live")
        server.wait_clients(1)
        report(server, "Read me out", priority="critical")
        notifications.wait_for(lambda c: "Read me out" in c["summary"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (seen.exists() and seen.stat().st_size):
            time.sleep(0.1)
        env = seen.read_text()
        assert "PATH=" in env, env  # the child did run and record
        assert "ALERTDESK_TOKEN" not in env and token not in env, env
    finally:
        assert listener.stop() == 0


def _environ_readable_by_another_process(pid: int, as_nobody: bool) -> bool:
    if as_nobody:
        result = subprocess.run(["cat", f"/proc/{pid}/environ"], capture_output=True, timeout=10,
                                user=NOBODY, group=NOBODY, extra_groups=[])
        return result.returncode == 0
    try:
        pathlib.Path(f"/proc/{pid}/environ").read_bytes()
        return True
    except PermissionError:
        return False


@pytest.mark.skipif(not pathlib.Path("/proc/self/environ").exists(), reason="Linux only")
@pytest.mark.parametrize("name", BINARIES)
def test_no_other_process_can_read_alertdesks_memory(name):
    """Non-dumpable: another process of the same user cannot read /proc/PID/environ (where the original
    environment, ALERTDESK_TOKEN included, still lies) nor /proc/PID/mem. As root the check runs both sides as
    `nobody`, since root may read any process."""
    as_nobody = os.geteuid() == 0
    home = pathlib.Path(tempfile.mkdtemp(prefix="alertdesk-dumpable-"))
    try:
        env = headless_env(ALERTDESK_DATA_DIR=str(home), ALERTDESK_TOKEN=SECRET, HOME=str(home))
        extra = {}
        if as_nobody:
            os.chown(home, NOBODY, NOBODY)
            extra = {"user": NOBODY, "group": NOBODY, "extra_groups": []}
        proc = subprocess.Popen([str(binary(name)), "demo", "--port", "0", "--rate", "0"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **extra)
        try:
            assert proc.stdout.readline().startswith("Alertdesk demo backend on http://127.0.0.1:")
            assert not _environ_readable_by_another_process(proc.pid, as_nobody)
            if as_nobody:
                # The files of a non-dumpable process belong to root, whoever runs it.
                assert os.stat(f"/proc/{proc.pid}/fd").st_uid == 0
                assert os.stat(f"/proc/{proc.pid}").st_uid == NOBODY
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
    finally:
        shutil.rmtree(home, ignore_errors=True)


# --- Logs: private, capped, and a repeated warning written once ------------------------------------------------


def test_directories_and_log_files_are_made_private_also_when_they_existed(tmp_path):
    for sub in ("config", "data", "logs"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub).chmod(0o755)
    old = tmp_path / "logs" / "alertdesk.log"
    old.write_text("from before\n")
    old.chmod(0o644)
    (tmp_path / "logs" / "alertdesk.2024-01-31.log").write_text("daily file of an older version\n")
    result = run(CLI, tmp_path, "acknowledge", "report-1")
    assert result.returncode == 2 and "no alert report-1" in result.stderr, result.stderr
    for sub in ("config", "data", "logs"):
        assert mode(tmp_path / sub) == 0o700, sub
    assert mode(old) == 0o600
    assert [p.name for p in (tmp_path / "logs").iterdir()] == ["alertdesk.log"]


def test_a_warning_repeated_by_a_server_is_written_once(listen):
    frames = ["not json {"] * 40 + [json.dumps({"type": "new_report", "report": {
        "id": 5, "category": "Fire", "description": "After the noise", "priority": "high", "station_id": 4}})]
    server = HostileServer(frames, socketio=False)
    try:
        listener = listen("station-reports", server, token="t")
        assert listener.next_alert(timeout=10)["id"] == "report-5"
        assert listener.stop() == 0
        stderr = "\n".join(listener.stderr_lines)
        assert stderr.count("dropped a bad frame") == 1, stderr
        log = listener.log_text()
        assert log.count("dropped a bad frame") == 1, log
        assert mode(listener.data_dir / "logs" / "alertdesk.log") == 0o600
    finally:
        server.stop()
