"""Seed 004 (ticketing): a FastAPI backend whose CRUD routes broadcast tiny change notices over a WebSocket.

Follows shared/seeds/004: a connection manager keeps every socket of `/ws/updates` and, after each change,
broadcasts `{"type": "ticket"|"comment"|..., "action": ...}` to all of them; clients re-fetch over REST.
The contract is tests/servers/README.md.

Choices where the seed is silent:
- Ids are increasing integers (tickets and comments count separately). Tickets start `open`; claim sets
  `claimed_by` to the caller's user id and status `in_progress`. PATCH may change title, site, priority and
  status. DELETE answers 200 with the removed ticket. A comment is `{"body"}`.
- WebSocket: anyone may connect without a token (the seed has no auth); a bad or expired token, given as
  `?token=` or as `Authorization: Bearer` on the upgrade, is accepted and then closed with 4401. Messages that clients send are ignored.
- BROADCAST_IDS=1 adds the id of the record the notice is about (the comment's id for comment notices).
- Errors are `{"error": ...}`; a body that fails validation gets FastAPI's usual 422.
- Test emit sends `data` as compact JSON text to every client (there are no rooms; `room` is ignored).
  Test kick closes every connection with code 1001 (going away).
- Uvicorn's access log is off so stdout carries only `READY <port>`; other logs go to stderr.
- DIALECT (see README.md and dialect.py): `public_ticket()` / `public_comment()` write records as the dialect
  spells them; the REST routes live on a router mounted at the dialect's base. With idtype=str, tickets are
  `T-<n>` and comments `C-<n>`; routes take either form.
"""

import datetime
import json
import os
import socket
import sys
import warnings
from typing import Any, Optional

import jwt
import uvicorn
from fastapi import APIRouter, FastAPI, Header, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from pydantic import AliasChoices, BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

import dialect

warnings.filterwarnings("ignore", category=jwt.warnings.InsecureKeyLengthWarning)  # "test-secret" is short

JWT_SECRET = os.environ.get("JWT_SECRET", "test-secret")
TOKEN_TTL = int(os.environ.get("TOKEN_TTL", "3600"))
BROADCAST_IDS = os.environ.get("BROADCAST_IDS") == "1"
DIALECT = dialect.load({"idtype": "int", "base": "/api", "list": "array", "order": "newest"},  # today's values
                       {"title": "subject"})  # text=alt
ID_PREFIXES = {"ticket": "T", "comment": "C"}  # ids with idtype=str

USERS = {
    "dispatcher": {"id": "u-dispatcher", "password": "secret"},
    "officer": {"id": "u-officer", "password": "secret"},
}

app = FastAPI(title="ticketing (seed 004 test server)")
api = APIRouter()  # the REST routes, mounted at the dialect's base after them
tickets: dict[int, dict] = {}
comments: dict[int, dict] = {}
counters = {"ticket": 0, "comment": 0}
last_stamp: Optional[datetime.datetime] = None


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def now_stamp() -> str:
    """RFC 3339 UTC with milliseconds, strictly increasing within this process (one event loop: no lock)."""
    global last_stamp
    stamp = datetime.datetime.now(datetime.timezone.utc)
    stamp = stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)
    if last_stamp is not None and stamp <= last_stamp:
        stamp = last_stamp + datetime.timedelta(milliseconds=1)
    last_stamp = stamp
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def next_id(kind: str) -> int:
    counters[kind] += 1
    return counters[kind]


def make_token(user_id: str) -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    claims = {"sub": user_id, "iat": now, "exp": now + datetime.timedelta(seconds=TOKEN_TTL)}
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def verify_token(token: Optional[str]) -> Optional[dict]:
    if not token:
        return None
    try:
        return jwt.decode(token, JWT_SECRET, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class Unauthorized(Exception):
    pass


@app.exception_handler(Unauthorized)
async def unauthorized_handler(_request: Request, _exc: Unauthorized):
    return error(401, "Unauthorized")


@app.exception_handler(StarletteHTTPException)
async def http_error_handler(_request: Request, exc: StarletteHTTPException):
    """Unknown paths and the like answer `{"error": ...}` as every other error here."""
    headers = getattr(exc, "headers", None)
    return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=headers)


def current_user(authorization: Optional[str]) -> str:
    claims = verify_token(authorization[7:] if authorization and authorization.startswith("Bearer ") else None)
    if claims is None:
        raise Unauthorized()
    return claims["sub"]


def check_reader(authorization: Optional[str]) -> None:
    """Read-only routes: like current_user, but open to anyone with DIALECT auth=off."""
    if not DIALECT.open_reads:
        current_user(authorization)


def public_ticket(ticket: dict) -> dict:
    """A ticket as the dialect writes it."""
    return DIALECT.record(ticket, prefix=ID_PREFIXES["ticket"])


def public_comment(comment: dict) -> dict:
    """A comment as the dialect writes it (its ticket_id too is a ticket id of the dialect)."""
    return DIALECT.record(comment, prefix=ID_PREFIXES["comment"], refs={"ticket_id": ID_PREFIXES["ticket"]})


def ticket_number(ticket_id: str) -> Optional[int]:
    """The stored id of a route's ticket id (`3`, or `T-3`), or None."""
    return DIALECT.number(ticket_id, ID_PREFIXES["ticket"])


# --- WebSocket manager ------------------------------------------------------------------------------------


class ConnectionManager:
    def __init__(self):
        self.active: set[WebSocket] = set()

    async def broadcast_text(self, text: str):
        for ws in list(self.active):
            try:
                await ws.send_text(text)
            except Exception:  # a connection that just went away
                self.active.discard(ws)

    async def broadcast(self, kind: str, action: str, record_id: Optional[int] = None):
        message: dict[str, Any] = {"type": kind, "action": action}
        if BROADCAST_IDS and record_id is not None:
            message[DIALECT.id_name] = DIALECT.public_id(record_id, ID_PREFIXES[kind])
        await self.broadcast_text(json.dumps(message, separators=(",", ":")))


manager = ConnectionManager()


@app.websocket("/ws/updates")
async def updates(websocket: WebSocket, token: Optional[str] = None):
    await websocket.accept()
    header = websocket.headers.get("authorization", "")
    if token is None and header.startswith("Bearer "):
        token = header[7:]
    if token is not None and not DIALECT.open_reads and verify_token(token) is None:  # auth=off: not looked at
        await websocket.close(code=4401, reason="Unauthorized")
        return
    manager.active.add(websocket)
    log(f"ws connect ({'token' if token else 'anonymous'}); {len(manager.active)} connected")
    try:
        while True:
            await websocket.receive_text()  # client messages are ignored
    except WebSocketDisconnect:
        pass
    finally:
        manager.active.discard(websocket)
        log(f"ws disconnect; {len(manager.active)} connected")


# --- auth -------------------------------------------------------------------------------------------------


class Login(BaseModel):
    username: str
    password: str


@api.post("/auth/login")
async def login(body: Login):
    user = USERS.get(body.username)
    if user is None or body.password != user["password"]:
        return error(401, "Invalid username or password")
    return {"access_token": make_token(user["id"]), "token_type": "bearer"}


# --- tickets and comments ---------------------------------------------------------------------------------


TITLE = AliasChoices("title", "subject")  # bodies may use either name, in every dialect


class TicketIn(BaseModel):
    title: str = Field(validation_alias=TITLE)
    site: str
    priority: str


class TicketPatch(BaseModel):
    title: Optional[str] = Field(None, validation_alias=TITLE)
    site: Optional[str] = None
    priority: Optional[str] = None
    status: Optional[str] = None


class CommentIn(BaseModel):
    body: str


@api.post("/tickets", status_code=201)
async def create_ticket(body: TicketIn, authorization: Optional[str] = Header(None)):
    user = current_user(authorization)
    stamp = now_stamp()
    ticket = {
        "id": next_id("ticket"),
        "title": body.title,
        "site": body.site,
        "priority": body.priority,
        "status": "open",
        "created_by": user,
        "claimed_by": None,
        "createdAt": stamp,
        "updatedAt": stamp,
    }
    tickets[ticket["id"]] = ticket
    await manager.broadcast("ticket", "create", ticket["id"])
    return public_ticket(ticket)


@api.get("/tickets")
async def list_tickets(authorization: Optional[str] = Header(None)):
    check_reader(authorization)
    oldest_first = sorted(tickets.values(), key=lambda t: t["id"])  # today newest first (the default order)
    return DIALECT.listing([public_ticket(t) for t in oldest_first], "tickets", today=lambda items: items)


@api.get("/tickets/{ticket_id}")
async def get_ticket(ticket_id: str, authorization: Optional[str] = Header(None)):
    check_reader(authorization)
    ticket = tickets.get(ticket_number(ticket_id))
    return public_ticket(ticket) if ticket else error(404, "Ticket not found")


@api.patch("/tickets/{ticket_id}")
async def update_ticket(ticket_id: str, body: TicketPatch, authorization: Optional[str] = Header(None)):
    current_user(authorization)
    ticket = tickets.get(ticket_number(ticket_id))
    if ticket is None:
        return error(404, "Ticket not found")
    ticket.update(body.model_dump(exclude_none=True), updatedAt=now_stamp())
    await manager.broadcast("ticket", "update", ticket["id"])
    return public_ticket(ticket)


@api.post("/tickets/{ticket_id}/claim")
async def claim_ticket(ticket_id: str, authorization: Optional[str] = Header(None)):
    user = current_user(authorization)
    ticket = tickets.get(ticket_number(ticket_id))
    if ticket is None:
        return error(404, "Ticket not found")
    ticket.update(claimed_by=user, status="in_progress", updatedAt=now_stamp())
    await manager.broadcast("ticket", "claimed", ticket["id"])
    return public_ticket(ticket)


@api.delete("/tickets/{ticket_id}")
async def delete_ticket(ticket_id: str, authorization: Optional[str] = Header(None)):
    current_user(authorization)
    ticket = tickets.pop(ticket_number(ticket_id), None)
    if ticket is None:
        return error(404, "Ticket not found")
    await manager.broadcast("ticket", "delete", ticket["id"])
    return public_ticket(ticket)


@api.post("/tickets/{ticket_id}/comments", status_code=201)
async def add_comment(ticket_id: str, body: CommentIn, authorization: Optional[str] = Header(None)):
    user = current_user(authorization)
    ticket_id = ticket_number(ticket_id)
    if ticket_id not in tickets:
        return error(404, "Ticket not found")
    stamp = now_stamp()
    comment = {
        "id": next_id("comment"),
        "ticket_id": ticket_id,
        "body": body.body,
        "author": user,
        "createdAt": stamp,
        "updatedAt": stamp,
    }
    comments[comment["id"]] = comment
    await manager.broadcast("comment", "create", comment["id"])
    return public_comment(comment)


app.include_router(api, prefix=DIALECT.base)


# --- test control (not part of the seed) ------------------------------------------------------------------


@app.post("/__test/emit")
async def test_emit(request: Request):
    body = await request.json()
    if not isinstance(body, dict) or not isinstance(body.get("event"), str):
        return error(400, "event is required")
    await manager.broadcast_text(json.dumps(body.get("data"), separators=(",", ":")))
    return {"ok": True}


@app.get("/__test/clients")
async def test_clients():
    return {"count": len(manager.active)}


@app.post("/__test/kick")
async def test_kick():
    sockets = list(manager.active)
    for ws in sockets:
        manager.active.discard(ws)
        try:
            await ws.close(code=1001, reason="kicked")
        except Exception:
            pass
    return {"kicked": len(sockets)}


# --- main -------------------------------------------------------------------------------------------------


class ReadyServer(uvicorn.Server):
    """Prints `READY <port>` once uvicorn listens on the socket handed to it."""

    async def startup(self, sockets=None):
        await super().startup(sockets=sockets)
        if not self.should_exit:
            print(f"READY {sockets[0].getsockname()[1]}", flush=True)


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", int(os.environ.get("PORT", "0"))))
    config = uvicorn.Config(app, log_level="warning", access_log=False, ws_ping_interval=20, ws_ping_timeout=20)
    ReadyServer(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
