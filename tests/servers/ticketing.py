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
from fastapi import FastAPI, Header, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from pydantic import BaseModel

warnings.filterwarnings("ignore", category=jwt.warnings.InsecureKeyLengthWarning)  # "test-secret" is short

JWT_SECRET = os.environ.get("JWT_SECRET", "test-secret")
TOKEN_TTL = int(os.environ.get("TOKEN_TTL", "3600"))
BROADCAST_IDS = os.environ.get("BROADCAST_IDS") == "1"

USERS = {
    "dispatcher": {"id": "u-dispatcher", "password": "secret"},
    "officer": {"id": "u-officer", "password": "secret"},
}

app = FastAPI(title="ticketing (seed 004 test server)")
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


def current_user(authorization: Optional[str]) -> str:
    claims = verify_token(authorization[7:] if authorization and authorization.startswith("Bearer ") else None)
    if claims is None:
        raise Unauthorized()
    return claims["sub"]


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
            message["id"] = record_id
        await self.broadcast_text(json.dumps(message, separators=(",", ":")))


manager = ConnectionManager()


@app.websocket("/ws/updates")
async def updates(websocket: WebSocket, token: Optional[str] = None):
    await websocket.accept()
    header = websocket.headers.get("authorization", "")
    if token is None and header.startswith("Bearer "):
        token = header[7:]
    if token is not None and verify_token(token) is None:
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


@app.post("/api/auth/login")
async def login(body: Login):
    user = USERS.get(body.username)
    if user is None or body.password != user["password"]:
        return error(401, "Invalid username or password")
    return {"access_token": make_token(user["id"]), "token_type": "bearer"}


# --- tickets and comments ---------------------------------------------------------------------------------


class TicketIn(BaseModel):
    title: str
    site: str
    priority: str


class TicketPatch(BaseModel):
    title: Optional[str] = None
    site: Optional[str] = None
    priority: Optional[str] = None
    status: Optional[str] = None


class CommentIn(BaseModel):
    body: str


@app.post("/api/tickets", status_code=201)
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
    return ticket


@app.get("/api/tickets")
async def list_tickets(authorization: Optional[str] = Header(None)):
    current_user(authorization)
    return sorted(tickets.values(), key=lambda t: t["id"], reverse=True)  # newest first


@app.get("/api/tickets/{ticket_id}")
async def get_ticket(ticket_id: int, authorization: Optional[str] = Header(None)):
    current_user(authorization)
    ticket = tickets.get(ticket_id)
    return ticket if ticket else error(404, "Ticket not found")


@app.patch("/api/tickets/{ticket_id}")
async def update_ticket(ticket_id: int, body: TicketPatch, authorization: Optional[str] = Header(None)):
    current_user(authorization)
    ticket = tickets.get(ticket_id)
    if ticket is None:
        return error(404, "Ticket not found")
    ticket.update(body.model_dump(exclude_none=True), updatedAt=now_stamp())
    await manager.broadcast("ticket", "update", ticket_id)
    return ticket


@app.post("/api/tickets/{ticket_id}/claim")
async def claim_ticket(ticket_id: int, authorization: Optional[str] = Header(None)):
    user = current_user(authorization)
    ticket = tickets.get(ticket_id)
    if ticket is None:
        return error(404, "Ticket not found")
    ticket.update(claimed_by=user, status="in_progress", updatedAt=now_stamp())
    await manager.broadcast("ticket", "claimed", ticket_id)
    return ticket


@app.delete("/api/tickets/{ticket_id}")
async def delete_ticket(ticket_id: int, authorization: Optional[str] = Header(None)):
    current_user(authorization)
    ticket = tickets.pop(ticket_id, None)
    if ticket is None:
        return error(404, "Ticket not found")
    await manager.broadcast("ticket", "delete", ticket_id)
    return ticket


@app.post("/api/tickets/{ticket_id}/comments", status_code=201)
async def add_comment(ticket_id: int, body: CommentIn, authorization: Optional[str] = Header(None)):
    user = current_user(authorization)
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
    return comment


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
