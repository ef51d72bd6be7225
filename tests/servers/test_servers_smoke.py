"""Smoke tests of the seed-style servers against tests/servers/README.md, with real, independent clients:
python-socketio on the websocket transport for the Socket.IO servers (000, 001, 003), the `websockets` library
for the raw WebSocket servers (002, 004), `requests` for REST. Everything talks to 127.0.0.1 only and every
wait is bounded."""

import base64
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import jwt
import pytest
import socketio
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from support.servers import DEFAULT_BASES, SERVERS, SERVERS_DIR

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

SECRET = "test-secret"
WAIT = 3.0  # seconds to wait for an event that should come
QUIET = 0.3  # seconds to watch for an event that should not come


def expired_token(sub="u-officer", **claims):
    now = int(time.time())
    return jwt.encode({"sub": sub, "iat": now - 100, "exp": now - 10, **claims}, SECRET, algorithm="HS256")


def wrong_secret_token(sub="u-officer", **claims):
    return jwt.encode({"sub": sub, "exp": int(time.time()) + 600, **claims}, "not-the-secret", algorithm="HS256")


# --- a recording python-socketio client -----------------------------------------------------------------------


class SioClient:
    """A python-socketio client on the websocket transport that records every event it receives."""

    def __init__(self):
        self.sio = socketio.Client(reconnection=False)
        self.cond = threading.Condition()
        self.events = []  # [(name, data)] in arrival order
        self.connect_errors = []
        self.disconnects = []
        self.sio.on("*", self._on_event)
        self.sio.on("connect_error", self._on_connect_error)
        self.sio.on("disconnect", self._on_disconnect)

    def _record(self, target, item):
        with self.cond:
            target.append(item)
            self.cond.notify_all()

    def _on_event(self, name, data=None):
        self._record(self.events, (name, data))

    def _on_connect_error(self, data=None):
        self._record(self.connect_errors, data)

    def _on_disconnect(self, *reason):
        self._record(self.disconnects, reason)

    @staticmethod
    def _url(server, query):
        return server.url + ("?" + urllib.parse.urlencode(query) if query else "")

    def connect(self, server, token=None, query=None):
        self.sio.connect(
            self._url(server, query), auth={"token": token} if token else None, transports=["websocket"], wait_timeout=5
        )
        assert self.sio.transport() == "websocket"
        return self

    def refused(self, server, token=None, query=None):
        """Tries to connect and returns the CONNECT_ERROR data the server refused it with."""
        with pytest.raises(socketio.exceptions.ConnectionError):
            self.connect(server, token, query)
        with self.cond:
            self.cond.wait_for(lambda: self.connect_errors, WAIT)
        assert self.connect_errors, "refused without a CONNECT_ERROR"
        return self.connect_errors[0]

    def wait(self, name, timeout=WAIT):
        """Returns (and consumes) the first `name` event received, waiting at most `timeout` seconds."""
        with self.cond:
            found = self.cond.wait_for(lambda: any(n == name for n, _ in self.events), timeout)
            assert found, f"no {name!r} within {timeout} s; got {self.names()}"
            index = next(i for i, (n, _) in enumerate(self.events) if n == name)
            return self.events.pop(index)[1]

    def wait_disconnect(self, timeout=WAIT):
        with self.cond:
            assert self.cond.wait_for(lambda: self.disconnects, timeout), f"still connected after {timeout} s"

    def names(self):
        with self.cond:
            return [n for n, _ in self.events if n != "__probe"]

    def clear(self):
        with self.cond:
            self.events.clear()

    def close(self):
        self.sio.disconnect()


@pytest.fixture
def sio_client():
    """`sio_client()` makes a SioClient; all are disconnected when the test ends."""
    made = []

    def make():
        client = SioClient()
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def wait_in_room(server, client, room, timeout=WAIT):
    """Probes `room` with /__test/emit until `client` gets a probe, i.e. until the server has put it there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server.emit("__probe", {}, room=room)
        try:
            client.wait("__probe", timeout=0.2)
            return
        except AssertionError:
            continue
    pytest.fail(f"client never got into room {room!r}")


def quiet(*clients, within=QUIET):
    """Waits `within` seconds and returns each client's event names (for asserting that nothing else came)."""
    time.sleep(within)
    return [c.names() for c in clients]


# --- every server ----------------------------------------------------------------------------------------------

ALL = list(SERVERS)
USER_IDS = {"dispatcher": "u-dispatcher", "officer": "u-officer"}
PROTECTED_GET = {
    "emergency-dispatch": "/api/emergencies",
    "service-calls": "/api/calls",
    "station-reports": "/api/reports",
    "crowd-monitoring": "/api/v1/alerts",
    "ticketing": "/api/tickets",
}


@pytest.mark.parametrize("name", ALL)
def test_login_gives_a_jwt_and_bad_password_401(shared_server, name):
    server = shared_server(name)
    for username, user_id in USER_IDS.items():
        token = server.login(username)
        assert jwt.get_unverified_header(token)["alg"] == "HS256"
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        assert claims["sub"] == user_id
        assert abs(claims["exp"] - (time.time() + 3600)) < 60

    _file, path, body, _field = SERVERS[name]
    response = server.post(path, body("officer", "wrong"))
    assert response.status_code == 401 and "error" in response.json()
    response = server.post(path, body("nobody", "secret"))
    assert response.status_code == 401 and "error" in response.json()

    assert server.get(PROTECTED_GET[name]).status_code == 401
    assert server.get(PROTECTED_GET[name], token="garbage").status_code == 401
    assert server.get(PROTECTED_GET[name], token=expired_token()).status_code == 401
    assert server.get(PROTECTED_GET[name], token=server.login("officer")).status_code == 200


@pytest.mark.parametrize("name", ALL)
def test_binds_127_0_0_1_only(shared_server, name):
    server = shared_server(name)
    with socket.create_connection(("127.0.0.1", server.port), timeout=2):
        pass
    with pytest.raises(OSError):  # another loopback address: nothing listens there
        socket.create_connection(("127.0.0.2", server.port), timeout=2).close()


def connect_any(server, token, sio_client):
    """A real client of the server's own kind; returns a function telling whether it got disconnected."""
    if server.name in ("station-reports", "ticketing"):
        path = "/ws" if server.name == "station-reports" else "/ws/updates"
        ws = ws_connect(f"{server.ws_url}{path}?token={token}", open_timeout=5, close_timeout=2)

        def closed():
            try:
                ws.recv(timeout=WAIT)
            except ConnectionClosed:
                return True
            finally:
                ws.close()
            return False

        return closed
    client = sio_client().connect(server, token)

    def disconnected():
        client.wait_disconnect()
        return True

    return disconnected


@pytest.mark.parametrize("name", ALL)
def test_clients_count_and_kick(shared_server, sio_client, name):
    server = shared_server(name)
    token = server.login("officer")
    before = server.wait_clients(0)
    assert before == 0
    gone = connect_any(server, token, sio_client)
    assert server.wait_clients(1) == 1
    server.kick()
    assert gone()
    assert server.wait_clients(0) == 0
    assert server.login("officer")  # still up


# --- 000 emergency-dispatch -----------------------------------------------------------------------------------


def test_emergency_dispatch_refuses_bad_tokens(shared_server, sio_client):
    server = shared_server("emergency-dispatch")
    for bad in ("garbage", expired_token(), wrong_secret_token()):
        assert sio_client().refused(server, bad) == {"message": "Unauthorized"}
    assert sio_client().refused(server, None) == {"message": "Unauthorized"}
    # the token may also come in the query string
    client = sio_client().connect(server, query={"token": server.login("officer")})
    assert client.sio.connected


def test_emergency_dispatch_events(shared_server, sio_client):
    server = shared_server("emergency-dispatch")
    token = server.login("dispatcher")
    board = sio_client().connect(server, token)
    assert board.sio.call("join", {"room": "authority_dashboard"}, timeout=WAIT) == {"joined": "authority_dashboard"}
    other = sio_client().connect(server, server.login("officer"))

    body = {"type": "fire", "description": "Kitchen fire", "priority": "critical", "location": {"lat": 1.5, "lng": 2.5}}
    response = server.post("/api/emergencies", body, token=token)
    assert response.status_code == 201
    record = response.json()
    assert record["id"].startswith("E-") and record["status"] == "pending"
    assert {k: record[k] for k in body} == body
    assert record["createdAt"] == record["updatedAt"] and record["createdAt"].endswith("Z")
    for client in (board, other):
        assert client.wait("emergency_created") == record

    for action, status, extra in (("approve", "approved", {}), ("assign", "assigned", {"unit_id": "U-7"}),
                                  ("complete", "completed", {})):
        response = server.post(f"/api/emergencies/{record['id']}/{action}", extra, token=token)
        assert response.status_code == 200
        updated = response.json()
        assert updated["status"] == status and updated["id"] == record["id"]
        for client in (board, other):
            assert client.wait("emergency_updated") == {"action": status, "emergency": updated}
        assert board.wait("dashboard_update") == {"emergency": updated}
    assert updated["unit_id"] == "U-7"

    response = server.post("/api/units/U-7/status", {"status": "available", "emergency_id": record["id"]}, token=token)
    assert response.status_code == 200 and response.json()["id"] == "U-7"
    for client in (board, other):
        assert client.wait("unit_status_update") == {"unit_id": "U-7", "status": "available", "emergency_id": record["id"]}

    assert quiet(board, other) == [[], []]  # nothing else, and no dashboard_update outside the room
    assert server.post("/api/emergencies/E-999/approve", {}, token=token).status_code == 404
    assert server.post("/api/emergencies", {**body, "priority": "urgent"}, token=token).status_code == 400


def test_emergency_dispatch_since(shared_server):
    server = shared_server("emergency-dispatch")
    token = server.login("dispatcher")
    first = server.post("/api/emergencies", {"type": "a", "description": "", "priority": "low", "location": None},
                        token=token).json()
    second = server.post("/api/emergencies", {"type": "b", "description": "", "priority": "high", "location": None},
                         token=token).json()
    first = server.post(f"/api/emergencies/{first['id']}/approve", {}, token=token).json()

    listed = server.get("/api/emergencies", token=token).json()
    assert [r["updatedAt"] for r in listed] == sorted(r["updatedAt"] for r in listed)  # newest last
    assert listed[-2:] == [second, first]
    assert server.get("/api/emergencies", token=token, params={"since": second["createdAt"]}).json() == [first]
    assert server.get("/api/emergencies", token=token, params={"since": first["updatedAt"]}).json() == []
    assert server.get("/api/emergencies", token=token, params={"since": "yesterday"}).status_code == 400


def test_emergency_dispatch_test_emit_rooms(shared_server, sio_client):
    server = shared_server("emergency-dispatch")
    inside = sio_client().connect(server, server.login("officer"))
    assert inside.sio.call("join", {"room": "unit_tracking"}, timeout=WAIT) == {"joined": "unit_tracking"}
    outside = sio_client().connect(server, server.login("officer"))
    server.emit("emergency_update", {"n": 1}, room="unit_tracking")
    assert inside.wait("emergency_update") == {"n": 1}
    server.emit("hello", [1, 2])
    assert inside.wait("hello") == [1, 2] and outside.wait("hello") == [1, 2]
    assert quiet(inside, outside) == [[], []]


# --- 001 service-calls ----------------------------------------------------------------------------------------


def test_service_calls_refuses_bad_tokens(shared_server, sio_client):
    server = shared_server("service-calls")
    for bad in ("garbage", expired_token(), wrong_secret_token(), None):
        assert sio_client().refused(server, bad) == {"message": "Unauthorized"}
    login = server.post("/api/auth/login", {"username": "dispatcher", "password": "secret"}).json()
    assert login["user"] == {"id": "u-dispatcher", "username": "dispatcher", "role": "dispatcher"}


def test_service_calls_call_events(shared_server, sio_client):
    server = shared_server("service-calls")
    token = server.login("dispatcher")
    a = sio_client().connect(server, token)
    b = sio_client().connect(server, server.login("officer"))

    response = server.post("/api/calls", {"title": "Printer", "customer": "ACME", "priority": "urgent"}, token=token)
    assert response.status_code == 201
    call = response.json()
    assert call["id"].startswith("C-") and call["assignedTo"] is None
    for client in (a, b):
        assert client.wait("call_created") == call

    steps = (
        ("PUT", f"/api/calls/{call['id']}", {"title": "Printer on fire"}, "call_updated"),
        ("POST", f"/api/calls/{call['id']}/assign", {"assignedTo": "u-officer"}, "call_assigned"),
        ("POST", f"/api/calls/{call['id']}/complete", {}, "call_completed"),
    )
    for method, path, body, event in steps:
        response = server.request(method, path, json=body, token=token)
        assert response.status_code == 200
        call = response.json()
        for client in (a, b):
            assert client.wait(event) == call
    assert call["title"] == "Printer on fire" and call["assignedTo"] == "u-officer" and call["status"] == "completed"
    assert quiet(a, b) == [[], []]
    assert server.post("/api/calls", {"title": "x", "priority": "medium"}, token=token).status_code == 400


def test_service_calls_user_events(shared_server, sio_client):
    server = shared_server("service-calls")
    token = server.login("dispatcher")
    doomed = sio_client().connect(server, token)
    bystander = sio_client().connect(server, token)

    response = server.post("/api/users", {"username": "temp1", "role": "officer"}, token=token)
    assert response.status_code == 201
    user = response.json()
    assert user["id"] == "u-temp1" and "password" not in user
    for client in (doomed, bystander):
        assert client.wait("user_created") == user

    doomed.sio.emit("register", user["id"])
    bystander.sio.emit("register", "u-officer")
    wait_in_room(server, doomed, f"user:{user['id']}")
    wait_in_room(server, bystander, "user:u-officer")

    assert server.delete(f"/api/users/{user['id']}", token=token).status_code == 200
    for client in (doomed, bystander):
        assert client.wait("user_deleted_broadcast") == {"id": user["id"]}
    deleted = doomed.wait("user_deleted")
    assert deleted["id"] == user["id"] and isinstance(deleted["message"], str)
    assert quiet(doomed, bystander) == [[], []]  # the bystander got no user_deleted
    assert server.delete(f"/api/users/{user['id']}", token=token).status_code == 404


def test_service_calls_since(shared_server):
    server = shared_server("service-calls")
    token = server.login("dispatcher")
    first = server.post("/api/calls", {"title": "1", "customer": "c", "priority": "low"}, token=token).json()
    second = server.post("/api/calls", {"title": "2", "customer": "c", "priority": "high"}, token=token).json()
    first = server.put(f"/api/calls/{first['id']}", {"priority": "normal"}, token=token).json()
    assert server.get("/api/calls", token=token).json()[-2:] == [second, first]
    assert server.get("/api/calls", token=token, params={"since": second["createdAt"]}).json() == [first]
    assert server.get("/api/calls", token=token, params={"since": first["updatedAt"]}).json() == []
    assert server.get("/api/calls", token=token, params={"since": "soon"}).status_code == 400


# --- 002 station-reports --------------------------------------------------------------------------------------


def station_ws(server, token, **kwargs):
    return ws_connect(f"{server.ws_url}/ws?token={token}", open_timeout=5, close_timeout=2, **kwargs)


def test_station_reports_refuses_bad_tokens_with_401(shared_server):
    server = shared_server("station-reports")
    for bad in ("garbage", expired_token(station_id=4), wrong_secret_token(station_id=4), ""):
        with pytest.raises(InvalidStatus) as refused:
            station_ws(server, bad)
        assert refused.value.response.status_code == 401
    login = server.post("/api/login", {"username": "officer2", "password": "secret"}).json()
    assert login["officer"] == {"id": "u-officer2", "station_id": 7}
    assert jwt.decode(login["token"], SECRET, algorithms=["HS256"])["station_id"] == 7


def test_station_reports_go_to_their_station_only(shared_server):
    server = shared_server("station-reports")
    token4, token7 = server.login("officer"), server.login("officer2")
    with station_ws(server, token4) as ws4, station_ws(server, server.login("dispatcher")) as ws4b, \
            station_ws(server, token7) as ws7:
        assert server.wait_clients(3) == 3
        body = {"station_id": 4, "category": "theft", "description": "Bike", "priority": "high", "location": "Main St"}
        response = server.post("/api/reports", body)  # citizens need no token
        assert response.status_code == 201
        report = response.json()
        assert isinstance(report["id"], int) and {k: report[k] for k in body} == body
        for ws in (ws4, ws4b):
            assert json.loads(ws.recv(timeout=WAIT)) == {"type": "new_report", "report": report}

        later = server.post("/api/reports", {**body, "station_id": "7"}).json()
        assert later["id"] > report["id"] and later["station_id"] == 7
        assert json.loads(ws7.recv(timeout=WAIT)) == {"type": "new_report", "report": later}
        for ws in (ws4, ws4b, ws7):  # nothing else: not the other station's report
            with pytest.raises(TimeoutError):
                ws.recv(timeout=QUIET)

        server.emit("anything", {"hello": 7}, room="7")
        assert json.loads(ws7.recv(timeout=WAIT)) == {"hello": 7}
        server.emit("anything", {"hello": "all"})
        for ws in (ws4, ws4b, ws7):
            assert json.loads(ws.recv(timeout=WAIT)) == {"hello": "all"}
        with pytest.raises(TimeoutError):
            ws4.recv(timeout=QUIET)

    assert server.post("/api/reports", {**body, "station_id": "four"}).status_code == 400
    # GET since: the officer's station only, ids above `since`
    mine = server.get("/api/reports", token=token4, params={"since": report["id"] - 1}).json()["reports"]
    assert report in mine and all(r["station_id"] == 4 and r["id"] >= report["id"] for r in mine)
    assert server.get("/api/reports", token=token4, params={"since": report["id"]}).json()["reports"] == [
        r for r in mine if r["id"] > report["id"]]
    theirs = server.get("/api/reports", token=token7, params={"since": 0}).json()["reports"]
    assert later in theirs and report not in theirs
    assert server.get("/api/reports", token=token7, params={"since": "x"}).status_code == 400

    ack = server.post(f"/api/reports/{report['id']}/acknowledge", token=token4)
    assert ack.status_code == 200 and ack.json() == {"id": report["id"], "acknowledgedBy": "u-officer"}
    assert server.post(f"/api/reports/{report['id']}/acknowledge", token=token7).status_code == 404


def read_frame(sock):
    """One server frame (unmasked) from a raw socket: (opcode, payload), or None at EOF."""
    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    header = exactly(2)
    if header is None:
        return None
    length = header[1] & 0x7F
    if length == 126:
        length = int.from_bytes(exactly(2), "big")
    elif length == 127:
        length = int.from_bytes(exactly(8), "big")
    return header[0] & 0x0F, exactly(length) if length else b""


def test_station_reports_server_pings(servers):
    server = servers("station-reports", PING_INTERVAL_MS=150)
    token = server.login("officer")
    # A client that answers pings (websockets does) stays connected over many intervals.
    with station_ws(server, token) as ws:
        time.sleep(1.0)
        assert server.clients() == 1
        report = server.post("/api/reports", {"station_id": 4, "category": "c", "description": "d"}).json()
        assert json.loads(ws.recv(timeout=WAIT))["report"] == report

    # A raw client that never answers gets pings, then is dropped.
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET /ws?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        response = b""
        while b"\r\n\r\n" not in response and len(response) < 4096:
            chunk = sock.recv(1024)
            assert chunk, "closed during the handshake"
            response += chunk
        assert response.startswith(b"HTTP/1.1 101")
        opcodes = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            frame = read_frame(sock)
            if frame is None:
                break
            opcodes.append(frame[0])
        else:
            pytest.fail(f"an unanswering client was not dropped (frames {opcodes})")
        assert 0x9 in opcodes  # a ping


# --- 003 crowd-monitoring -------------------------------------------------------------------------------------


def test_crowd_monitoring_refuses_bad_tokens(shared_server, sio_client):
    server = shared_server("crowd-monitoring")
    for bad in ("garbage", expired_token(), wrong_secret_token(), None):
        assert sio_client().refused(server, bad, query={"eventId": "e1"}) == {"message": "Unauthorized"}
    assert sio_client().refused(server, query={"token": expired_token()}) == {"message": "Unauthorized"}
    assert server.post("/api/v1/auth/login", {"email": "officer", "password": "secret"}).status_code == 401


def test_crowd_monitoring_events_stay_in_their_event_room(shared_server, sio_client):
    server = shared_server("crowd-monitoring")
    token = server.login("dispatcher")
    mine = sio_client().connect(server, token, query={"eventId": "ev-1"})
    other = sio_client().connect(server, query={"eventId": "ev-2", "token": server.login("officer")})
    roomless = sio_client().connect(server, token)

    def post(path, body, status=201):
        response = server.post(path, body, token=token)
        assert response.status_code == status, response.text
        return response.json()

    quiet_count = post("/api/v1/cctv/objects", {"eventId": "ev-1", "zoneId": "Z1", "count": 30})
    assert quiet_count["alert"] is None and quiet_count["count"] == 30

    alerts = []
    for count, severity in ((35, "high"), (51, "critical")):
        detection = post("/api/v1/cctv/objects", {"eventId": "ev-1", "zoneId": "Z2", "count": count})
        alert = detection["alert"]
        assert alert["severity"] == severity and alert["type"] == "overcrowding" and alert["zoneId"] == "Z2"
        assert mine.wait("alert:new") == {k: alert[k] for k in ("id", "type", "message", "severity", "zoneId", "createdAt")}
        alerts.append(alert)

    resolved = server.patch(f"/api/v1/alerts/{alerts[0]['id']}/resolve", token=token)
    assert resolved.status_code == 200
    resolved = resolved.json()
    assert resolved["status"] == "resolved"
    assert mine.wait("alert:updated") == {"id": alerts[0]["id"], "status": "resolved", "resolvedAt": resolved["resolvedAt"]}

    ping = post("/api/v1/pings", {"eventId": "ev-1", "lat": 7.1, "lng": 125.6})
    update = mine.wait("map:update")
    assert set(update) == {"points", "density", "updatedAt", "source"}
    assert update["points"][0]["lat"] == 7.1 and update["points"][0]["id"] == ping["id"]

    insight = post("/api/v1/ai/insights", {"eventId": "ev-1"})
    got = mine.wait("insight:update")
    assert {"riskScore", "recommendation", "confidence", "factors"} <= set(got)
    assert got == {k: insight[k] for k in got}

    prediction = post("/api/v1/ai/predictions", {"eventId": "ev-1", "horizonMinutes": 30})
    got = mine.wait("prediction:update")
    assert got["horizonMinutes"] == 30 and got["predictions"] == prediction["predictions"]
    assert {p["zoneId"] for p in got["predictions"]} == {"Z1", "Z2"}

    action = post("/api/v1/actions", {"eventId": "ev-1", "command": "open_gate_3", "zoneId": "Z2"})
    assert mine.wait("action:created") == {
        "id": action["id"], "eventId": "ev-1", "command": "open_gate_3", "zoneId": "Z2", "createdBy": "u-dispatcher",
        "createdAt": action["createdAt"]}

    report = post("/api/v1/reports", {"eventId": "ev-1", "message": "Fight at gate", "type": "security"})
    assert mine.wait("report:new") == {k: report[k] for k in ("id", "message", "type", "createdAt")}

    assert quiet(mine, other, roomless) == [[], [], []]  # nothing else, and nothing outside ev-1

    post("/api/v1/reports", {"eventId": "ev-2", "message": "Lost child", "type": "medical"})
    assert other.wait("report:new")["message"] == "Lost child"
    assert quiet(mine, other, roomless) == [[], [], []]

    listed = server.get("/api/v1/alerts", token=token, params={"eventId": "ev-1"}).json()
    assert [a["id"] for a in listed] == [a["id"] for a in alerts] and listed[0]["status"] == "resolved"
    assert server.get("/api/v1/alerts", token=token, params={"eventId": "ev-2"}).json() == []
    assert server.get("/api/v1/reports", token=token, params={"eventId": "ev-1"}).json() == [report]
    post("/api/v1/pings", {"lat": 1, "lng": 2}, status=400)  # no eventId


def test_crowd_monitoring_disconnects_expired_tokens(servers, sio_client):
    server = servers("crowd-monitoring", TOKEN_TTL=2)
    token = server.login("officer")
    client = sio_client().connect(server, token, query={"eventId": "e1"})
    assert server.wait_clients(1) == 1
    started = time.monotonic()
    client.wait_disconnect(timeout=6)
    assert time.monotonic() - started < 4.5
    assert server.wait_clients(0) == 0
    assert sio_client().refused(server, token, query={"eventId": "e1"}) == {"message": "Unauthorized"}


# Socket.IO recovers a session from the offset of the last event the client got, so one event comes first.
RECOVERY_SCRIPT = r"""
const { io } = require("socket.io-client");
const [url, token] = process.argv.slice(1);
const result = { connects: [], missed: [] };
const post = (path, body) => fetch(url + path, { method: "POST", headers: { "content-type": "application/json" },
                                                  body: JSON.stringify(body || {}) });
const socket = io(url, { auth: { token }, query: { eventId: "e1" }, transports: ["websocket"],
                         reconnectionDelay: 100, reconnectionDelayMax: 200 });
const done = () => { socket.close(); console.log(JSON.stringify(result)); process.exit(0); };
setTimeout(done, 8000);
socket.on("connect", () => {
  result.connects.push(socket.recovered);
  if (result.connects.length === 1) post("/__test/emit", { event: "first", data: {}, room: "event:e1" });
});
socket.on("first", () => post("/__test/kick"));
socket.on("disconnect", () => post("/__test/emit", { event: "missed", data: { n: 1 }, room: "event:e1" }));
socket.on("missed", (data) => { result.missed.push(data); if (result.connects.length === 2) done(); });
"""


def test_crowd_monitoring_connection_state_recovery(servers):
    server = servers("crowd-monitoring", CONNECTION_STATE_RECOVERY=1)
    result = subprocess.run(
        ["node", "-e", RECOVERY_SCRIPT, server.url, server.login("officer")],
        cwd=SERVERS_DIR, capture_output=True, text=True, timeout=15,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome == {"connects": [False, True], "missed": [{"n": 1}]}, server.log()


# --- 004 ticketing --------------------------------------------------------------------------------------------


def updates_ws(server, token=None):
    query = f"?token={token}" if token is not None else ""
    return ws_connect(f"{server.ws_url}/ws/updates{query}", open_timeout=5, close_timeout=2)


def test_ticketing_refuses_bad_tokens_with_4401(shared_server):
    server = shared_server("ticketing")
    for bad in ("garbage", expired_token(), wrong_secret_token()):
        with updates_ws(server, bad) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=WAIT)
            assert closed.value.rcvd.code == 4401
    login = server.post("/api/auth/login", {"username": "officer", "password": "secret"}).json()
    assert login["token_type"] == "bearer"


def test_ticketing_broadcasts_the_seed_messages(shared_server):
    server = shared_server("ticketing")
    token = server.login("dispatcher")
    with updates_ws(server, token) as signed, updates_ws(server) as anonymous:
        assert server.wait_clients(2) == 2

        def expect(kind, action):
            for ws in (signed, anonymous):
                assert json.loads(ws.recv(timeout=WAIT)) == {"type": kind, "action": action}

        response = server.post("/api/tickets", {"title": "No signal", "site": "S-1", "priority": "high"}, token=token)
        assert response.status_code == 201
        ticket = response.json()
        assert isinstance(ticket["id"], int) and ticket["createdAt"].endswith("Z")
        expect("ticket", "create")
        assert server.patch(f"/api/tickets/{ticket['id']}", {"status": "open", "priority": "low"}, token=token).json()[
            "priority"] == "low"
        expect("ticket", "update")
        claimed = server.post(f"/api/tickets/{ticket['id']}/claim", token=token).json()
        assert claimed["claimed_by"] == "u-dispatcher"
        expect("ticket", "claimed")
        comment = server.post(f"/api/tickets/{ticket['id']}/comments", {"body": "On my way"}, token=token)
        assert comment.status_code == 201 and comment.json()["ticket_id"] == ticket["id"]
        expect("comment", "create")

        newer = server.post("/api/tickets", {"title": "B", "site": "S-2", "priority": "low"}, token=token).json()
        expect("ticket", "create")
        listed = server.get("/api/tickets", token=token).json()
        assert [t["id"] for t in listed[:2]] == [newer["id"], ticket["id"]]  # newest first
        assert server.get(f"/api/tickets/{ticket['id']}", token=token).json() == claimed

        assert server.delete(f"/api/tickets/{ticket['id']}", token=token).json()["id"] == ticket["id"]
        expect("ticket", "delete")
        assert server.get(f"/api/tickets/{ticket['id']}", token=token).status_code == 404

        for ws in (signed, anonymous):  # nothing else
            with pytest.raises(TimeoutError):
                ws.recv(timeout=QUIET)
        server.emit("raw", {"type": "shipment", "action": "update"})
        for ws in (signed, anonymous):
            assert json.loads(ws.recv(timeout=WAIT)) == {"type": "shipment", "action": "update"}


def test_ticketing_broadcast_ids(servers):
    server = servers("ticketing", BROADCAST_IDS=1)
    token = server.login("officer")
    with updates_ws(server, token) as ws:
        ticket = server.post("/api/tickets", {"title": "t", "site": "s", "priority": "p"}, token=token).json()
        assert json.loads(ws.recv(timeout=WAIT)) == {"type": "ticket", "action": "create", "id": ticket["id"]}
        comment = server.post(f"/api/tickets/{ticket['id']}/comments", {"body": "b"}, token=token).json()
        assert json.loads(ws.recv(timeout=WAIT)) == {"type": "comment", "action": "create", "id": comment["id"]}


# --- DIALECT (README.md "Dialects"): two runs per server cover a non-default value of every key ----------------


def dialect_of(text):
    """{key: value} of a DIALECT string as these tests write it (the servers parse it themselves)."""
    return dict(item.split("=", 1) for item in text.split(","))


def spelled(d, camel):
    """A multi-word field name as the dialect's `case` writes it (every run below sets `case`)."""
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel) if d["case"] == "snake" else camel


def oldest_first(d, ids):
    """`ids` (oldest first) in the order the dialect lists them."""
    return list(reversed(ids)) if d.get("order") == "newest" else list(ids)


def records_of(answer, d, plural):
    """The records of a list answer, after checking that it has the dialect's shape."""
    shape = d["list"]
    if shape == "array":
        assert isinstance(answer, list), answer
        return answer
    key = plural if shape == "named" else shape
    assert isinstance(answer, dict) and set(answer) == {key, "total"}, answer
    assert answer["total"] == len(answer[key])
    return answer[key]


def listed(server, d, path, plural, token, params=None):
    """GETs a list (no token needed with auth=off, 401 without one otherwise); returns its records."""
    anonymous = server.get(server.api_path(path), params=params)
    assert anonymous.status_code == (200 if d.get("auth") == "off" else 401), anonymous.text
    response = server.get(server.api_path(path), token=token, params=params)
    assert response.status_code == 200, response.text
    return records_of(response.json(), d, plural)


def check_base(server, d, name):
    """REST lives under the dialect's base: the default paths are gone (404 JSON), and so are unknown ones."""
    assert server.base == d["base"] != DEFAULT_BASES[name]
    _file, login_path, body, _field = SERVERS[name]
    for response in (server.get(PROTECTED_GET[name], token=server.login("officer")),
                     server.post(login_path, body("officer", "secret")), server.get(server.base + "/no/such/route")):
        assert response.status_code == 404 and "error" in response.json(), (response.url, response.text)


def check_id(record, d, prefix):
    """The record's id field is named and typed as the dialect says; returns the id."""
    value = record[d.get("id", "id")]
    if d.get("idtype") == "int":
        assert isinstance(value, int) and not isinstance(value, bool), record
    else:
        assert isinstance(value, str) and value.startswith(f"{prefix}-") and value[len(prefix) + 1:].isdigit(), record
    return value


def sio_dialect_client(server, d, sio_client, token, query=None):
    """auth=off: a token-less client connects (and so does one with garbage); auth=on: it is refused."""
    if d.get("auth") == "off":
        sio_client().connect(server, "garbage", query=query)  # a token that is present is not looked at
        return sio_client().connect(server, query=query)
    assert sio_client().refused(server, None, query=query) == {"message": "Unauthorized"}
    return sio_client().connect(server, token, query=query)


EMERGENCY_DIALECTS = [
    ("auth=off,text=alt,case=snake,id=_id,idtype=int,base=,list=items,order=newest",
     {"_id", "type", "details", "priority", "location", "status", "unit_id", "reported_by", "created_at", "updated_at"},
     {"unit_id", "status", "emergency_id"}),
    ("auth=on,case=camel,id=uuid,idtype=str,base=/api/v1,list=named,order=oldest",
     {"uuid", "type", "description", "priority", "location", "status", "unitId", "reportedBy", "createdAt",
      "updatedAt"},
     {"unitId", "status", "emergencyId"}),
]


@pytest.mark.parametrize("text, keys, unit_keys", EMERGENCY_DIALECTS)
def test_emergency_dispatch_dialect(servers, sio_client, text, keys, unit_keys):
    d = dialect_of(text)
    server = servers("emergency-dispatch", DIALECT=text)
    check_base(server, d, "emergency-dispatch")
    token = server.login("dispatcher")  # at the dialect's base
    client = sio_dialect_client(server, d, sio_client, token)
    id_name, text_name = d.get("id", "id"), "details" if d.get("text") == "alt" else "description"
    path = server.api_path("/api/emergencies")

    assert server.post(path, {"type": "fire", "priority": "low"}).status_code == 401  # business routes: a token
    created = []
    for body in ({"type": "fire", "description": "Kitchen", "priority": "high"},  # default names always work
                 {"type": "flood", "details": "Cellar", "priority": "low"}):  # and so do the alt ones
        response = server.post(path, body, token=token)
        assert response.status_code == 201, response.text
        record = response.json()
        assert set(record) == keys and record[text_name] in ("Kitchen", "Cellar")
        check_id(record, d, "E")
        assert client.wait("emergency_created") == record
        created.append(record)

    first_id = created[0][id_name]
    response = server.post(f"{path}/{first_id}/assign", {"unitId": "U-1"}, token=token)  # either spelling
    assert response.status_code == 200, response.text
    assigned = response.json()
    assert assigned[id_name] == first_id and set(assigned) == keys and assigned[spelled(d, "unitId")] == "U-1"
    assert client.wait("emergency_updated") == {"action": "assigned", "emergency": assigned}

    unit = server.post(server.api_path("/api/units/U-1/status"), {"status": "busy", "emergencyId": first_id},
                       token=token)
    assert unit.status_code == 200 and unit.json()[id_name] == "U-1"
    update = client.wait("unit_status_update")
    assert set(update) == unit_keys and update[spelled(d, "emergencyId")] == first_id

    records = listed(server, d, "/api/emergencies", "emergencies", token)
    assert [r[id_name] for r in records] == oldest_first(d, [created[1][id_name], first_id])  # by updatedAt
    assert records[[r[id_name] for r in records].index(first_id)] == assigned


SERVICE_CALL_DIALECTS = [
    ("auth=off,text=alt,case=snake,id=_id,idtype=int,base=,list=data,order=newest",
     {"_id", "issue", "customer_name", "priority", "status", "assigned_to", "created_by", "created_at", "updated_at"},
     {"_id", "username", "role", "created_at", "updated_at"}),
    ("auth=on,text=alt,case=camel,id=uuid,idtype=str,base=/x,list=named",
     {"uuid", "issue", "customerName", "priority", "status", "assignedTo", "createdBy", "createdAt", "updatedAt"},
     {"uuid", "username", "role", "createdAt", "updatedAt"}),
]


@pytest.mark.parametrize("text, keys, user_keys", SERVICE_CALL_DIALECTS)
def test_service_calls_dialect(servers, sio_client, text, keys, user_keys):
    d = dialect_of(text)
    server = servers("service-calls", DIALECT=text)
    check_base(server, d, "service-calls")
    token = server.login("dispatcher")
    client = sio_dialect_client(server, d, sio_client, token)
    id_name = d.get("id", "id")
    customer = spelled(d, "customerName")
    path = server.api_path("/api/calls")

    assert server.post(path, {"title": "x", "priority": "low"}).status_code == 401
    calls = []
    for body in ({"title": "Printer", "customer": "ACME", "priority": "urgent"},
                 {"issue": "Scanner", "customer_name": "Initech", "priority": "low"}):
        response = server.post(path, body, token=token)
        assert response.status_code == 201, response.text
        call = response.json()
        assert set(call) == keys and call["issue"] in ("Printer", "Scanner") and call[customer] in ("ACME", "Initech")
        check_id(call, d, "C")
        assert client.wait("call_created") == call
        calls.append(call)

    first_id = calls[0][id_name]
    response = server.post(f"{path}/{first_id}/assign", {"assigned_to": "u-officer"}, token=token)
    assert response.status_code == 200, response.text
    assigned = response.json()
    assert assigned[id_name] == first_id and assigned[spelled(d, "assignedTo")] == "u-officer"
    assert client.wait("call_assigned") == assigned
    updated = server.put(f"{path}/{first_id}", {"customerName": "Globex"}, token=token).json()
    assert updated[customer] == "Globex" and client.wait("call_updated") == updated

    records = listed(server, d, "/api/calls", "calls", token)
    assert [c[id_name] for c in records] == oldest_first(d, [calls[1][id_name], first_id])  # by updatedAt

    user = server.post(server.api_path("/api/users"), {"username": "temp9"}, token=token).json()
    assert set(user) == user_keys and user[id_name] == "u-temp9"  # user ids are renamed, never renumbered
    assert client.wait("user_created") == user
    assert server.delete(server.api_path("/api/users/u-temp9"), token=token).status_code == 200
    assert client.wait("user_deleted_broadcast") == {id_name: "u-temp9"}


STATION_DIALECTS = [
    ("auth=off,text=alt,case=snake,id=_id,idtype=str,base=,list=array,order=newest",
     {"_id", "station_id", "type", "details", "priority", "location", "status", "acknowledged_by", "created_at",
      "updated_at"}),
    ("auth=on,case=camel,id=uuid,idtype=int,base=/api/v2,list=items,order=oldest",
     {"uuid", "stationId", "category", "description", "priority", "location", "status", "acknowledgedBy",
      "createdAt", "updatedAt"}),
]


@pytest.mark.parametrize("text, keys", STATION_DIALECTS)
def test_station_reports_dialect(servers, text, keys):
    d = dialect_of(text)
    server = servers("station-reports", DIALECT=text)
    check_base(server, d, "station-reports")
    token = server.login("officer")  # station 4
    id_name = d.get("id", "id")
    station, category = spelled(d, "stationId"), "type" if d.get("text") == "alt" else "category"
    path = server.api_path("/api/reports")

    if d.get("auth") == "off":  # no token (one given is not looked at): every station, or the query's
        url4, url7 = f"{server.ws_url}/ws", f"{server.ws_url}/ws?token=garbage&station_id=7"
    else:
        with pytest.raises(InvalidStatus) as refused:
            ws_connect(f"{server.ws_url}/ws", open_timeout=5, close_timeout=2)
        assert refused.value.response.status_code == 401
        url4, url7 = f"{server.ws_url}/ws?token={token}", f"{server.ws_url}/ws?token={server.login('officer2')}"
    with ws_connect(url4, open_timeout=5, close_timeout=2) as ws4, \
            ws_connect(url7, open_timeout=5, close_timeout=2) as ws7:
        assert server.wait_clients(2) == 2
        reports = []
        for body in ({"station_id": 4, "category": "theft", "description": "Bike"},
                     {"stationId": 4, "type": "fire", "details": "Shed"}):
            response = server.post(path, body)  # citizens need no token, in every dialect
            assert response.status_code == 201, response.text
            report = response.json()
            assert set(report) == keys and report[station] == 4 and report[category] in ("theft", "fire")
            check_id(report, d, "R")
            assert json.loads(ws4.recv(timeout=WAIT)) == {"type": "new_report", "report": report}
            reports.append(report)
        with pytest.raises(TimeoutError):  # station 7 got nothing
            ws7.recv(timeout=QUIET)

    ids = [r[id_name] for r in reports]
    assert [r[id_name] for r in listed(server, d, "/api/reports", "reports", token)] == oldest_first(d, ids)
    number = int(str(ids[0]).rsplit("-", 1)[-1])
    for since in (ids[0], number):  # the id as written, or its number
        later = listed(server, d, "/api/reports", "reports", token, params={"since": since})
        assert [r[id_name] for r in later] == [ids[1]]
    if d.get("auth") == "off":  # the query names the station
        assert listed(server, d, "/api/reports", "reports", token, params={"station_id": 7}) == []
    ack = server.post(f"{path}/{ids[0]}/acknowledge", token=token)
    assert ack.status_code == 200 and ack.json() == {id_name: ids[0], spelled(d, "acknowledgedBy"): "u-officer"}


CROWD_DIALECTS = [
    ("auth=off,text=alt,case=snake,id=_id,idtype=int,base=,list=named,order=newest",
     {"_id", "event_id", "type", "text", "severity", "zone_id", "status", "resolved_at", "created_at", "updated_at"},
     {"_id", "event_id", "text", "type", "created_by", "created_at", "updated_at"}),
    ("auth=on,text=alt,case=camel,id=uuid,idtype=str,base=/api,list=data",
     {"uuid", "eventId", "type", "text", "severity", "zoneId", "status", "resolvedAt", "createdAt", "updatedAt"},
     {"uuid", "eventId", "text", "type", "createdBy", "createdAt", "updatedAt"}),
]


@pytest.mark.parametrize("text, alert_keys, report_keys", CROWD_DIALECTS)
def test_crowd_monitoring_dialect(servers, sio_client, text, alert_keys, report_keys):
    d = dialect_of(text)
    server = servers("crowd-monitoring", DIALECT=text)
    check_base(server, d, "crowd-monitoring")
    token = server.login("dispatcher")
    client = sio_dialect_client(server, d, sio_client, token, query={"eventId": "ev-1"})
    id_name = d.get("id", "id")
    zone, created, resolved_at = spelled(d, "zoneId"), spelled(d, "createdAt"), spelled(d, "resolvedAt")

    assert server.post(server.api_path("/api/v1/reports"), {"eventId": "ev-1", "message": "m"}).status_code == 401
    alerts = []
    for body in ({"eventId": "ev-1", "zoneId": "Z1", "count": 40}, {"event_id": "ev-1", "zone_id": "Z2", "count": 60}):
        response = server.post(server.api_path("/api/v1/cctv/objects"), body, token=token)
        assert response.status_code == 201, response.text
        alert = response.json()["alert"]
        assert set(alert) == alert_keys and alert["text"].startswith(f"{body['count']} people")
        check_id(alert, d, "AL")
        subset = (id_name, "type", "text", "severity", zone, created)  # the seed's payload, under the same names
        assert client.wait("alert:new") == {k: alert[k] for k in subset}
        alerts.append(alert)

    resolved = server.patch(server.api_path(f"/api/v1/alerts/{alerts[0][id_name]}/resolve"), token=token).json()
    assert set(resolved) == alert_keys and resolved[id_name] == alerts[0][id_name]
    assert client.wait("alert:updated") == {id_name: resolved[id_name], "status": "resolved",
                                            resolved_at: resolved[resolved_at]}

    for message in ({"eventId": "ev-1", "message": "Fight at gate", "type": "security"},
                    {"event_id": "ev-1", "text": "Lost child", "type": "medical"}):
        response = server.post(server.api_path("/api/v1/reports"), message, token=token)
        assert response.status_code == 201, response.text
        report = response.json()
        assert set(report) == report_keys and report["text"] in ("Fight at gate", "Lost child")
        check_id(report, d, "RP")
        assert client.wait("report:new") == {k: report[k] for k in (id_name, "text", "type", created)}

    records = listed(server, d, "/api/v1/alerts", "alerts", token, params={"eventId": "ev-1"})
    assert [a[id_name] for a in records] == oldest_first(d, [a[id_name] for a in alerts])
    assert records[oldest_first(d, [0, 1]).index(0)] == resolved
    assert len(listed(server, d, "/api/v1/reports", "reports", token, params={"event_id": "ev-1"})) == 2


TICKET_DIALECTS = [
    ("auth=off,text=alt,case=snake,id=_id,idtype=str,base=,list=items,order=oldest",
     {"_id", "subject", "site", "priority", "status", "created_by", "claimed_by", "created_at", "updated_at"},
     {"_id", "ticket_id", "body", "author", "created_at", "updated_at"}),
    ("auth=on,case=camel,id=uuid,idtype=int,base=/v2,list=named,order=newest",
     {"uuid", "title", "site", "priority", "status", "createdBy", "claimedBy", "createdAt", "updatedAt"},
     {"uuid", "ticketId", "body", "author", "createdAt", "updatedAt"}),
]


@pytest.mark.parametrize("text, keys, comment_keys", TICKET_DIALECTS)
def test_ticketing_dialect(servers, text, keys, comment_keys):
    d = dialect_of(text)
    server = servers("ticketing", DIALECT=text, BROADCAST_IDS=1)
    check_base(server, d, "ticketing")
    token = server.login("dispatcher")
    id_name, title = d.get("id", "id"), "subject" if d.get("text") == "alt" else "title"
    path = server.api_path("/api/tickets")

    if d.get("auth") != "off":  # a bad token is refused (no token is fine: the seed has none)
        with updates_ws(server, "garbage") as ws:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=WAIT)
            assert closed.value.rcvd.code == 4401
    with updates_ws(server, "garbage" if d.get("auth") == "off" else token) as ws:
        assert server.wait_clients(1) == 1
        assert server.post(path, {"title": "x", "site": "s", "priority": "p"}).status_code == 401
        tickets = []
        for body in ({"title": "No signal", "site": "S-1", "priority": "high"},
                     {"subject": "No power", "site": "S-2", "priority": "low"}):
            response = server.post(path, body, token=token)
            assert response.status_code == 201, response.text
            ticket = response.json()
            assert set(ticket) == keys and ticket[title] in ("No signal", "No power")
            check_id(ticket, d, "T")
            assert json.loads(ws.recv(timeout=WAIT)) == {"type": "ticket", "action": "create", id_name: ticket[id_name]}
            tickets.append(ticket)

        first_id = tickets[0][id_name]
        comment = server.post(f"{path}/{first_id}/comments", {"body": "On my way"}, token=token).json()
        assert set(comment) == comment_keys and comment[spelled(d, "ticketId")] == first_id
        check_id(comment, d, "C")
        assert json.loads(ws.recv(timeout=WAIT)) == {"type": "comment", "action": "create", id_name: comment[id_name]}

    records = listed(server, d, "/api/tickets", "tickets", token)
    assert [t[id_name] for t in records] == oldest_first(d, [t[id_name] for t in tickets])
    one = server.get(f"{path}/{first_id}")
    assert one.status_code == (200 if d.get("auth") == "off" else 401)
    assert server.get(f"{path}/{first_id}", token=token).json() == tickets[0]


BAD_DIALECTS = ("colour=blue", "auth=maybe", "base=api/", "list", "order=newest,order=oldest")


@pytest.mark.parametrize("name", ALL)
def test_malformed_dialect_stops_the_server(name):
    file = SERVERS[name][0]
    command = ["node" if file.endswith(".js") else sys.executable, str(SERVERS_DIR / file)]
    for bad in BAD_DIALECTS:
        result = subprocess.run(command, cwd=SERVERS_DIR, env=dict(os.environ, PORT="0", DIALECT=bad),
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
        assert result.returncode == 2 and "READY" not in result.stdout, (bad, result.stdout)
        assert result.stderr.startswith("DIALECT=") and len(result.stderr.splitlines()) == 1, (bad, result.stderr)
