"""Seed 000 (emergency dispatch): a Flask-SocketIO backend whose routes emit the seed's real-time events.

Follows shared/seeds/000: `emergency_created`, `emergency_updated` {action, emergency},
`unit_status_update` {unit_id, status, emergency_id} to everyone, and `dashboard_update` to the
`authority_dashboard` room. The contract is tests/servers/README.md.

Choices where the seed is silent:
- async_mode "threading" with simple-websocket on Werkzeug's server, so the websocket transport works
  (as well as long-polling). Werkzeug logs requests to stderr; stdout carries only `READY <port>`.
- Status changes are not checked against a workflow: approve/assign/complete work from any status.
- `since` keeps records whose updatedAt is strictly later; timestamps are strictly increasing across the
  server (bumped by 1 ms on a tie) so a client polling with the last updatedAt it saw misses nothing.
- Werkzeug's handler closes a connection once its WebSocket ends (see RequestHandler).
- Test kick closes each engine.io connection (like a dropped network), not a Socket.IO server disconnect.
- DIALECT (see README.md and dialect.py): `public()` writes an emergency as the dialect spells it, in REST
  answers and socket payloads alike; the REST routes live on a blueprint mounted at the dialect's base.
  Unknown paths answer 404 with a JSON body.
"""

import datetime
import functools
import os
import sys
import threading
import warnings

import jwt
from flask import Blueprint, Flask, jsonify, request
from flask_socketio import ConnectionRefusedError, SocketIO, join_room
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler, make_server

import dialect

warnings.filterwarnings("ignore", category=jwt.warnings.InsecureKeyLengthWarning)  # "test-secret" is short

JWT_SECRET = os.environ.get("JWT_SECRET", "test-secret")
TOKEN_TTL = int(os.environ.get("TOKEN_TTL", "3600"))
PRIORITIES = ("low", "medium", "high", "critical")
DIALECT = dialect.load({"idtype": "str", "base": "/api", "list": "array", "order": "oldest"},  # today's values
                       {"description": "details"})  # text=alt

USERS = {
    "dispatcher": {"id": "u-dispatcher", "username": "dispatcher", "password": "secret"},
    "officer": {"id": "u-officer", "username": "officer", "password": "secret"},
}

app = Flask(__name__)
api = Blueprint("api", __name__)  # the REST routes, mounted at the dialect's base in main()
socketio = SocketIO(app, async_mode="threading", cors_allowed_origins="*")

lock = threading.Lock()  # guards the dicts and sets below
stamp_lock = threading.Lock()
emergencies = {}  # id -> record, in creation order
units = {}  # unit_id -> record
connected = set()  # Socket.IO sids that passed auth
next_number = 1
last_stamp = None


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def now_stamp():
    """RFC 3339 UTC with milliseconds, strictly increasing within this process."""
    global last_stamp
    with stamp_lock:
        stamp = datetime.datetime.now(datetime.timezone.utc)
        stamp = stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)
        if last_stamp is not None and stamp <= last_stamp:
            stamp = last_stamp + datetime.timedelta(milliseconds=1)
        last_stamp = stamp
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def parse_stamp(text):
    stamp = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        raise ValueError("timestamp without a time zone")
    return stamp


def make_token(user):
    now = datetime.datetime.now(datetime.timezone.utc)
    claims = {"sub": user["id"], "username": user["username"], "iat": now, "exp": now + datetime.timedelta(seconds=TOKEN_TTL)}
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def verify_token(token):
    """The token's claims, or None when it is missing, malformed, badly signed or expired."""
    if not token or not isinstance(token, str):
        return None
    try:
        return jwt.decode(token, JWT_SECRET, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None


def error(status, message):
    return jsonify({"error": message}), status


def require_auth(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        claims = verify_token(header[7:] if header.startswith("Bearer ") else None)
        if claims is None:
            return error(401, "Unauthorized")
        request.claims = claims
        return view(*args, **kwargs)

    return wrapper


def read_auth(view):
    """Read-only routes: like require_auth, but open to anyone with DIALECT auth=off."""
    return view if DIALECT.open_reads else require_auth(view)


def raw_body():
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def json_body():
    """The body's fields under the names this server uses, whichever spelling the client used (any dialect)."""
    return DIALECT.pick(raw_body(), ("username", "password", "type", "description", "priority", "location", "unit_id",
                                     "status", "emergency_id"))


def public(record):
    """An emergency as the dialect writes it (REST answers and socket payloads alike)."""
    return DIALECT.record(record, prefix="E")


def emergency_key(emergency_id):
    """The stored key of a route's emergency id (`E-3`, or `3`), or None."""
    number = DIALECT.number(emergency_id, "E")
    return None if number is None else f"E-{number}"


@app.errorhandler(HTTPException)
def http_error(problem):
    """Unknown paths and the like answer `{"error": ...}` as every other error here."""
    if problem.code is None or problem.code < 400:
        return problem
    return error(problem.code, problem.name)


# --- auth -------------------------------------------------------------------------------------------------


@api.post("/auth/login")
def login():
    body = json_body()
    user = USERS.get(body.get("username"))
    if user is None or body.get("password") != user["password"]:
        return error(401, "Invalid username or password")
    return jsonify({"access_token": make_token(user), "user": {"id": user["id"], "username": user["username"]}})


# --- emergencies ------------------------------------------------------------------------------------------


@api.post("/emergencies")
@require_auth
def create_emergency():
    global next_number
    body = json_body()
    if not isinstance(body.get("type"), str) or not body["type"]:
        return error(400, "type is required")
    if body.get("priority") not in PRIORITIES:
        return error(400, "priority must be one of " + ", ".join(PRIORITIES))
    with lock:
        stamp = now_stamp()
        record = {
            "id": f"E-{next_number}",
            "type": body["type"],
            "description": body.get("description", ""),
            "priority": body["priority"],
            "location": body.get("location"),
            "status": "pending",
            "unit_id": None,
            "reported_by": request.claims["sub"],
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        next_number += 1
        emergencies[record["id"]] = record
    socketio.emit("emergency_created", public(record))
    return jsonify(public(record)), 201


def change_emergency(emergency_id, action, status, **fields):
    """The changed emergency as the dialect writes it, or None when there is no such emergency."""
    with lock:
        record = emergencies.get(emergency_key(emergency_id))
        if record is None:
            return None
        record.update(fields, status=status, updatedAt=now_stamp())
        record = public(record)
    socketio.emit("emergency_updated", {"action": action, "emergency": record})
    socketio.emit("dashboard_update", {"emergency": record}, to="authority_dashboard")
    return record


@api.post("/emergencies/<emergency_id>/approve")
@require_auth
def approve_emergency(emergency_id):
    record = change_emergency(emergency_id, "approved", "approved")
    return (jsonify(record), 200) if record else error(404, "Emergency not found")


@api.post("/emergencies/<emergency_id>/assign")
@require_auth
def assign_emergency(emergency_id):
    unit_id = json_body().get("unit_id")
    if not isinstance(unit_id, str) or not unit_id:
        return error(400, "unit_id is required")
    record = change_emergency(emergency_id, "assigned", "assigned", unit_id=unit_id)
    return (jsonify(record), 200) if record else error(404, "Emergency not found")


@api.post("/emergencies/<emergency_id>/complete")
@require_auth
def complete_emergency(emergency_id):
    record = change_emergency(emergency_id, "completed", "completed")
    return (jsonify(record), 200) if record else error(404, "Emergency not found")


@api.get("/emergencies")
@read_auth
def list_emergencies():
    since = request.args.get("since")
    with lock:
        records = [dict(r) for r in emergencies.values()]
    if since:
        try:
            cutoff = parse_stamp(since)
        except ValueError:
            return error(400, "since must be an RFC 3339 timestamp")
        records = [r for r in records if parse_stamp(r["updatedAt"]) > cutoff]
    records.sort(key=lambda r: r["updatedAt"])  # oldest first; today newest last
    return jsonify(DIALECT.listing([public(r) for r in records], "emergencies", today=lambda items: items))


# --- units ------------------------------------------------------------------------------------------------


@api.post("/units/<unit_id>/status")
@require_auth
def unit_status(unit_id):
    body = json_body()
    if not isinstance(body.get("status"), str) or not body["status"]:
        return error(400, "status is required")
    with lock:
        stamp = now_stamp()
        record = units.setdefault(unit_id, {"id": unit_id, "createdAt": stamp})
        record.update(unit_id=unit_id, status=body["status"], emergency_id=body.get("emergency_id"), updatedAt=stamp)
        record = dict(record)
    update = {"unit_id": unit_id, "status": record["status"], "emergency_id": record["emergency_id"]}
    socketio.emit("unit_status_update", DIALECT.record(update))
    return jsonify(DIALECT.record(record)), 200  # a unit's id is the client's: renamed, never renumbered


# --- test control (not part of the seed) ------------------------------------------------------------------


@app.post("/__test/emit")
def test_emit():
    body = raw_body()
    if not isinstance(body.get("event"), str):
        return error(400, "event is required")
    socketio.emit(body["event"], body.get("data"), to=body.get("room"))
    return jsonify({"ok": True})


@app.get("/__test/clients")
def test_clients():
    with lock:
        return jsonify({"count": len(connected)})


@app.post("/__test/kick")
def test_kick():
    with lock:
        sids = list(connected)
    for sid in sids:
        # Close the engine.io transport without a CLOSE packet: clients see "transport close", as on a network
        # drop, and reconnect by themselves.
        eio_sid = socketio.server.manager.eio_sid_from_sid(sid, "/")
        try:
            socketio.server.eio._get_socket(eio_sid).close(wait=False, abort=True)
        except KeyError:
            pass  # already gone
    return jsonify({"kicked": len(sids)})


# --- Socket.IO --------------------------------------------------------------------------------------------


@socketio.on("connect")
def on_connect(auth):
    if DIALECT.open_reads:  # auth=off: no token needed, and one that is given is not looked at
        claims = {"sub": "anonymous"}
    else:
        token = auth.get("token") if isinstance(auth, dict) else None
        claims = verify_token(token or request.args.get("token"))
        if claims is None:
            raise ConnectionRefusedError("Unauthorized")
    with lock:
        connected.add(request.sid)
    log(f"connect {request.sid} user={claims['sub']}")


@socketio.on("disconnect")
def on_disconnect(*_reason):
    with lock:
        connected.discard(request.sid)
    log(f"disconnect {request.sid}")


@socketio.on("join")
def on_join(data):
    room = data.get("room") if isinstance(data, dict) else None
    if not isinstance(room, str) or not room:
        return {"error": "room is required"}
    join_room(room)
    return {"joined": room}


class RequestHandler(WSGIRequestHandler):
    """Werkzeug keeps reading HTTP requests on a connection whose WebSocket has ended (and so misreads the
    client's close frame); close it instead, as production servers do."""

    def run_wsgi(self):
        super().run_wsgi()
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.close_connection = True


def main():
    app.register_blueprint(api, url_prefix=DIALECT.base)
    port = int(os.environ.get("PORT", "0"))
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=RequestHandler)
    print(f"READY {server.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
