"""`alertdesk demo` as a test server: started on a free port, driven over its REST API, stopped at the end."""

import pathlib
import queue
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

from conftest import headless_env

START_TIMEOUT = 15.0  # seconds until the demo prints its URL
HTTP_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo:
    """A running `<binary> demo --port P --rate R`; `url` is taken from the line it prints."""

    def __init__(self, binary, rate: float, data_dir: pathlib.Path):
        self.port = free_port()
        data_dir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = data_dir / "demo.stderr"
        self.stderr = self.stderr_path.open("w")
        self.proc = subprocess.Popen(
            [str(binary), "demo", "--port", str(self.port), "--rate", str(rate)],
            stdout=subprocess.PIPE, stderr=self.stderr, text=True,
            env=headless_env(ALERTDESK_DATA_DIR=str(data_dir)))
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.printed: list[str] = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self.url = self._wait_for_url()
        self.http = requests.Session()
        self.http.trust_env = False  # never route 127.0.0.1 through a proxy from the environment

    def _read_stdout(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_line(self, predicate, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                raise AssertionError(f"not printed within {timeout}s; stdout so far: {self.printed}; stderr:\n"
                                     + self.stderr_path.read_text()) from None
            self.printed.append(line)
            if predicate(line):
                return line

    def _wait_for_url(self) -> str:
        line = self.wait_line(lambda l: l.startswith("Alertdesk demo backend on "), START_TIMEOUT)
        url = line.rsplit(" ", 1)[1]
        assert url == f"http://127.0.0.1:{self.port}", line
        return url

    def post(self, path: str, body=None, token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.post(self.url + path, json=body, headers=headers, timeout=HTTP_TIMEOUT)

    def login(self, username: str) -> str:
        response = self.post("/api/login", {"username": username, "password": "demo"})
        assert response.status_code == 200, response.text
        return response.json()["token"]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise AssertionError("demo did not exit within 10 s of SIGTERM") from None
        self.stderr.close()
        return self.proc.returncode


@pytest.fixture
def demos(tmp_path):
    """`demos(binary, rate)` starts a demo backend; each is stopped at the end (exit 0 checked)."""
    started = []

    def start(binary, rate: float = 0) -> Demo:
        demo = Demo(binary, rate, tmp_path / f"demo-{len(started)}")
        started.append(demo)
        return demo

    yield start
    for demo in started:
        assert demo.stop() == 0, demo.stderr_path.read_text()
