"""Smoke tests of the seed-style servers against tests/servers/README.md, with real, independent clients:
python-socketio on the websocket transport for the Socket.IO servers (000, 001, 003), the `websockets` library
for the raw WebSocket servers (002, 004), `requests` for REST. Everything talks to 127.0.0.1 only and every
wait is bounded."""

import base64
import json
import os
import socket
import subprocess
import threading
import time
import urllib.parse

import jwt
import pytest
import socketio
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from support.servers import SERVERS, SERVERS_DIR

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
