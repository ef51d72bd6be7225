"""A real HTTP proxy for tests: Debian's tinyproxy on 127.0.0.1, with its own configuration and log file, logging
every request (`LogLevel Connect`), optionally requiring Basic credentials. `connects()` lists the CONNECT targets
it was asked for.

As a pytest plugin it gives the `tinyproxy` fixture: `tinyproxy(auth=("ann", "pw"))` starts one; all are stopped
when the test ends."""

from __future__ import annotations

import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

START_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Tinyproxy:
    def __init__(self, auth: tuple[str, str] | None = None):
        binary = shutil.which("tinyproxy")
        if binary is None:
            pytest.fail("tinyproxy is not installed: run scripts/setup --test")
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="alertdesk-tinyproxy-"))
        self.log_path = self.dir / "tinyproxy.log"
        self.port = _free_port()
        lines = [
            f"Port {self.port}", "Listen 127.0.0.1", "Timeout 30", f'LogFile "{self.log_path}"', "LogLevel Connect",
            "MaxClients 50", "Allow 127.0.0.1", "DisableViaHeader Yes",
        ]
        if auth:
            lines.append(f"BasicAuth {auth[0]} {auth[1]}")
        config = self.dir / "tinyproxy.conf"
        config.write_text("\n".join(lines) + "\n")
        self.process = subprocess.Popen([binary, "-d", "-c", str(config)], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=(self.dir / "stderr.txt").open("w"))
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        pytest.fail(f"tinyproxy did not start on port {self.port}: {(self.dir / 'stderr.txt').read_text()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def connects(self) -> list[str]:
        """Each `host:port` it was asked to CONNECT to, in order."""
        return re.findall(r"Request \(file descriptor \d+\): CONNECT (\S+) HTTP", self.log())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def tinyproxy():
    started: list[Tinyproxy] = []

    def start(auth: tuple[str, str] | None = None) -> Tinyproxy:
        proxy = Tinyproxy(auth)
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()
