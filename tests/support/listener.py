"""Runs `alertdesk listen --json` (either binary) and collects what it prints, with bounded waits."""

import json
import os
import pathlib
import queue
import signal
import subprocess
import tempfile
import threading
import time

from conftest import PROXY_VARIABLES, headless_env


class Listener:
    def __init__(self, binary, profile: str, server: str, *args: str, token: str | None = None,
                 data_dir=None, env: dict | None = None, keep_bus: bool = False):
        environment = headless_env() if not keep_bus else dict(os.environ)
        for name in PROXY_VARIABLES:
            environment.pop(name, None)
        environment.pop("ALERTDESK_TOKEN", None)
        if token is not None:
            environment["ALERTDESK_TOKEN"] = token
        # Logs and data go to a private directory unless the test names one.
        self.data_dir = pathlib.Path(data_dir) if data_dir is not None else pathlib.Path(tempfile.mkdtemp(prefix="alertdesk-listen-"))
        environment.setdefault("ALERTDESK_DATA_DIR", str(self.data_dir))
        environment.update(env or {})
        self.cmd = [str(binary), "listen", "--json", "--profile", profile, "--server", server, *args]
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=environment)
        self.alerts: "queue.Queue[tuple[float, dict]]" = queue.Queue()
        self.statuses: list[dict] = []
        self.stderr_lines: list[str] = []
        self._status_event = threading.Condition()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self):
        for line in self.proc.stdout:
            self.alerts.put((time.monotonic(), json.loads(line)))

    def _read_stderr(self):
        for line in self.proc.stderr:
            line = line.rstrip("\n")
            with self._status_event:
                self.stderr_lines.append(line)
                try:
                    value = json.loads(line)
                    if isinstance(value, dict) and "status" in value:
                        self.statuses.append(value)
                except ValueError:
                    pass
                self._status_event.notify_all()

    def wait_status(self, status: str, timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        with self._status_event:
            while True:
                found = [s for s in self.statuses if s["status"] == status]
                if found:
                    return found[-1]
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and not found:
                    if self.proc.poll() is not None:
                        time.sleep(0.1)
                        found = [s for s in self.statuses if s["status"] == status]
                        if found:
                            return found[-1]
                    raise AssertionError(f"no {status!r} status within {timeout}s; stderr:\n" + "\n".join(self.stderr_lines))
                self._status_event.wait(min(left, 0.2))

    def count(self, status: str) -> int:
        """How many times the link reported `status` so far."""
        with self._status_event:
            return len([s for s in self.statuses if s["status"] == status])

    def wait_for_more(self, status: str, than: int, timeout: float) -> bool:
        """Waits (bounded) until `status` was reported more than `than` times; says whether it was."""
        deadline = time.monotonic() + timeout
        while self.count(status) <= than and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.count(status) > than

    def next_alert(self, timeout: float = 5) -> dict:
        try:
            return self.alerts.get(timeout=timeout)[1]
        except queue.Empty:
            raise AssertionError(f"no alert within {timeout}s; stderr:\n" + "\n".join(self.stderr_lines)) from None

    def next_alert_timed(self, timeout: float = 5) -> tuple[float, dict]:
        try:
            return self.alerts.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no alert within {timeout}s; stderr:\n" + "\n".join(self.stderr_lines)) from None

    def no_alert(self, within: float = 0.5) -> None:
        try:
            _, alert = self.alerts.get(timeout=within)
        except queue.Empty:
            return
        raise AssertionError(f"unexpected alert: {alert}")

    def log_text(self) -> str:
        return "\n".join(p.read_text() for p in (self.data_dir / "logs").glob("alertdesk*.log"))

    def wait_exit(self, timeout: float = 20) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise AssertionError("listen did not exit within 10 s of SIGTERM") from None
        return self.proc.returncode
