"""Start the seed-style test servers of tests/servers/ (see its README.md) and talk to them over REST.

    server = start_server("crowd-monitoring", TOKEN_TTL=2)
    token = server.login("officer")
    server.post("/api/v1/reports", {"eventId": "e1", "message": "hi"}, token=token)
    server.stop()

With env DIALECT (README.md of tests/servers), `login()` uses the dialect's REST base, and
`server.api_path("/api/v1/reports")` gives a default-prefixed path under that base.

As a pytest plugin (tests/conftest.py loads it) it gives two fixtures:
- `servers`: `servers(name, **env)` starts a fresh server; all are stopped when the test ends.
- `shared_server`: `shared_server(name, **env)` gives one server per (name, env) for the whole session;
  tests that share it must not depend on its data being empty.
"""

from __future__ import annotations

import os
import pathlib
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import requests

SERVERS_DIR = pathlib.Path(__file__).resolve().parent.parent / "servers"
START_TIMEOUT = 20.0  # seconds to wait for `READY <port>`
STOP_TIMEOUT = 5.0  # seconds between terminate and kill
HTTP_TIMEOUT = 10.0  # seconds for one REST call

# name -> (file, login path, login body(username, password), token field of the answer)
SERVERS = {
    "emergency-dispatch": (
        "emergency_dispatch.py", "/api/auth/login", lambda u, p: {"username": u, "password": p}, "access_token"),
    "service-calls": ("service_calls.js", "/api/auth/login", lambda u, p: {"username": u, "password": p}, "token"),
    "station-reports": ("station_reports.js", "/api/login", lambda u, p: {"username": u, "password": p}, "token"),
    "crowd-monitoring": (
        "crowd_monitoring.js", "/api/v1/auth/login", lambda u, p: {"email": f"{u}@crowd.test", "password": p}, "token"),
    "ticketing": ("ticketing.py", "/api/auth/login", lambda u, p: {"username": u, "password": p}, "access_token"),
}
# name -> REST prefix when DIALECT sets no `base` (the prefix of the login paths above)
DEFAULT_BASES = {name: "/api/v1" if name == "crowd-monitoring" else "/api" for name in SERVERS}


def dialect_base(name: str, dialect: str) -> str:
    """The REST prefix of server `name` under DIALECT `dialect` (the server itself rejects a malformed one)."""
    for item in dialect.split(","):
        key, _, value = item.partition("=")
        if key.strip() == "base":
            return value.strip()
    return DEFAULT_BASES[name]


class ServerError(RuntimeError):
    pass


class Server:
    """A running test server: its process, port and a few REST helpers."""

    def __init__(self, name: str, process: subprocess.Popen, port: int, log_path: pathlib.Path,
                 base: str | None = None):
        self.name = name
        self.base = DEFAULT_BASES[name] if base is None else base  # REST prefix (DIALECT base=)
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"
        self.log_path = log_path
        self.http = requests.Session()
        self.http.trust_env = False  # never route 127.0.0.1 through a proxy from the environment

    def __repr__(self) -> str:
        return f"<Server {self.name} {self.url}>"

    def use_tls(self, ca: str, client: tuple[str, str] | None = None) -> "Server":
        """The server was started with TLS_CERT/TLS_KEY: talk to it over https:// and wss://, trusting `ca`, with a
        client certificate `(cert, key)` when it requires one (TLS_CLIENT_CA)."""
        self.url = f"https://127.0.0.1:{self.port}"
        self.ws_url = f"wss://127.0.0.1:{self.port}"
        self.http.verify = ca
        self.http.cert = client
        return self

    # --- REST ---------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, json=None, token: str | None = None, **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return self.http.request(method, self.url + path, json=json, headers=headers, **kwargs)

    def get(self, path: str, token: str | None = None, **kwargs) -> requests.Response:
        return self.request("GET", path, token=token, **kwargs)

    def post(self, path: str, json=None, token: str | None = None, **kwargs) -> requests.Response:
        return self.request("POST", path, json=json, token=token, **kwargs)

    def put(self, path: str, json=None, token: str | None = None, **kwargs) -> requests.Response:
        return self.request("PUT", path, json=json, token=token, **kwargs)

    def patch(self, path: str, json=None, token: str | None = None, **kwargs) -> requests.Response:
        return self.request("PATCH", path, json=json, token=token, **kwargs)

    def delete(self, path: str, token: str | None = None, **kwargs) -> requests.Response:
        return self.request("DELETE", path, token=token, **kwargs)

    def api_path(self, path: str) -> str:
        """`path` written with the server's default REST prefix (e.g. /api/tickets), under its actual base."""
        default = DEFAULT_BASES[self.name]
        return self.base + path[len(default):] if path.startswith(default + "/") else path

    def login(self, username: str, password: str = "secret") -> str:
        """Logs in through the server's own login route (under its DIALECT base) and returns the JWT."""
        _file, path, body, field = SERVERS[self.name]
        response = self.post(self.api_path(path), body(username, password))
        if response.status_code != 200:
            raise ServerError(f"{self.name}: login {username!r} -> {response.status_code} {response.text}")
        return response.json()[field]

    # --- test control -------------------------------------------------------------------------------------

    def emit(self, event: str, data, room: str | None = None) -> None:
        body = {"event": event, "data": data}
        if room is not None:
            body["room"] = room
        self.post("/__test/emit", body).raise_for_status()

    def clients(self) -> int:
        response = self.get("/__test/clients")
        response.raise_for_status()
        return response.json()["count"]

    def wait_clients(self, count: int, timeout: float = 5.0) -> int:
        """Polls /__test/clients until it reports `count` (bounded); returns the last count seen."""
        deadline = time.monotonic() + timeout
        seen = self.clients()
        while seen != count and time.monotonic() < deadline:
            time.sleep(0.05)
            seen = self.clients()
        return seen

    def kick(self) -> None:
        self.post("/__test/kick").raise_for_status()

    # --- process ------------------------------------------------------------------------------------------

    def log(self) -> str:
        """What the server wrote to stderr so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """Terminates the server (bounded wait, then kill) and removes its log."""
        self.http.close()
        _stop_process(self.process)
        self.log_path.unlink(missing_ok=True)


def _command(file: str) -> list[str]:
    path = SERVERS_DIR / file
    if file.endswith(".js"):
        node = shutil.which("node")
        if node is None:
            raise ServerError("node is not installed")
        if not (SERVERS_DIR / "node_modules").is_dir():
            raise ServerError(f"{SERVERS_DIR}/node_modules is missing: run `npm ci` in {SERVERS_DIR}")
        return [node, str(path)]
    return [sys.executable, str(path)]


def start_server(name: str, **env) -> Server:
    """Starts server `name` on a free 127.0.0.1 port and waits (at most 20 s) for its `READY <port>` line.

    Keyword arguments become environment variables (PORT defaults to 0, i.e. a free port)."""
    if name not in SERVERS:
        raise ValueError(f"unknown server {name!r}; known: {', '.join(SERVERS)}")
    file = SERVERS[name][0]
    environment = dict(os.environ, PORT="0", PYTHONUNBUFFERED="1")
    environment.update({key: str(value) for key, value in env.items()})
    log_file = tempfile.NamedTemporaryFile(prefix=f"alertdesk-{name}-", suffix=".log", delete=False)
    log_path = pathlib.Path(log_file.name)
    process = subprocess.Popen(
        _command(file),
        cwd=SERVERS_DIR,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log_file,
        text=True,
    )
    log_file.close()  # the child has its own copy of the descriptor

    # Read stdout on a thread so the wait is bounded; the thread then keeps draining it.
    lines: queue.Queue[str | None] = queue.Queue()

    def read_stdout():
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read_stdout, name=f"{name}-stdout", daemon=True).start()
    try:
        line = lines.get(timeout=START_TIMEOUT) or ""
    except queue.Empty:
        line = ""
    words = line.split()
    if len(words) != 2 or words[0] != "READY" or not words[1].isdigit():
        exit_code = process.poll()
        _stop_process(process)
        stderr_text = log_path.read_text(errors="replace")
        log_path.unlink(missing_ok=True)
        raise ServerError(
            f"{name} did not print `READY <port>` within {START_TIMEOUT:.0f} s "
            f"(first line {line!r}, exit code {exit_code}); its stderr:\n{stderr_text[-4000:]}"
        )
    return Server(name, process, int(words[1]), log_path, base=dialect_base(name, environment.get("DIALECT", "")))


def _stop_process(process: subprocess.Popen) -> None:
    """Terminate, wait (bounded), then kill."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)


# --- pytest fixtures ----------------------------------------------------------------------------------------


@pytest.fixture
def servers():
    """`servers(name, **env)` starts a fresh server; every server started is stopped when the test ends."""
    started: list[Server] = []

    def start(name: str, **env) -> Server:
        server = start_server(name, **env)
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture(scope="session")
def shared_server():
    """`shared_server(name, **env)`: one server per (name, env) for the whole session, stopped at its end."""
    started: dict[tuple, Server] = {}

    def get(name: str, **env) -> Server:
        key = (name, tuple(sorted((k, str(v)) for k, v in env.items())))
        server = started.get(key)
        if server is None or server.process.poll() is not None:
            server = started[key] = start_server(name, **env)
        return server

    yield get
    for server in started.values():
        server.stop()
