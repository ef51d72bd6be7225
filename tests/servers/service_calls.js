// Seed 001 (service calls): an Express 4 + Socket.IO 4 backend that broadcasts every CRUD change.
//
// Follows shared/seeds/001: an `emitToAll()` helper sends call_created / call_updated / call_assigned /
// call_completed / user_created / user_deleted_broadcast to everyone, and `user_deleted` goes straight to the
// deleted user's room `user:<id>`, which a client joins by emitting `register` with its user id.
// The contract is tests/servers/README.md.
//
// Choices where the seed is silent:
// - Roles: `dispatcher` and `officer` (the user names). `register` accepts any user id, as the seed's does.
// - Calls start `open`; assign sets `assigned`, complete sets `completed`; no workflow is enforced.
//   PUT may change title, customer, priority and status.
// - POST /api/users {username, role?, password?} creates `u-<username>`; DELETE answers 200 with the removed user.
// - `since` keeps records whose updatedAt is strictly later; timestamps are strictly increasing across the
//   server (bumped by 1 ms on a tie) so a client polling with the last updatedAt it saw misses nothing.
// - Test kick closes each engine.io connection (clients see "transport close", as on a network drop).
// - DIALECT (see README.md and dialect.js): `publicCall()` / `publicUser()` write records as the dialect spells
//   them, in REST answers and socket payloads alike; the REST routes live on a router mounted at the dialect's
//   base. User ids (`u-<name>`, the JWT subject) are renamed but never renumbered. Unknown paths answer 404 JSON.

"use strict";

const http = require("node:http");
const express = require("express");
const jwt = require("jsonwebtoken");
const { Server } = require("socket.io");
const dialect = require("./dialect");

const JWT_SECRET = process.env.JWT_SECRET || "test-secret";
const TOKEN_TTL = Number(process.env.TOKEN_TTL || 3600);
const PRIORITIES = ["low", "normal", "high", "urgent"];
const DIALECT = dialect.load(
  { idtype: "str", base: "/api", list: "array", order: "oldest" },
  { title: "issue", customer: "customerName" },
);

const log = (...args) => console.error(...args);

let lastStamp = 0;
function nowStamp() {
  lastStamp = Math.max(Date.now(), lastStamp + 1);
  return new Date(lastStamp).toISOString();
}

const startStamp = nowStamp();
const users = new Map(
  [
    { id: "u-dispatcher", username: "dispatcher", password: "secret", role: "dispatcher" },
    { id: "u-officer", username: "officer", password: "secret", role: "officer" },
  ].map((u) => [u.id, { ...u, createdAt: startStamp, updatedAt: startStamp }]),
);
const calls = new Map(); // id -> record, in creation order
let nextCallNumber = 1;

function makeToken(user) {
  return jwt.sign({ sub: user.id, username: user.username, role: user.role }, JWT_SECRET, {
    algorithm: "HS256",
    expiresIn: TOKEN_TTL,
  });
}

function verifyToken(token) {
  if (typeof token !== "string" || !token) return null;
  try {
    return jwt.verify(token, JWT_SECRET, { algorithms: ["HS256"] });
  } catch {
    return null;
  }
}

function publicUser(user) {
  const { password, ...rest } = user;
  return DIALECT.record(rest);
}

// A call as the dialect writes it.
function publicCall(call) {
  return DIALECT.record(call, "C");
}

// The stored call of a route's call id (`C-3`, or `3`), or undefined.
function findCall(id) {
  const number = DIALECT.number(id, "C");
  return number === null ? undefined : calls.get(`C-${number}`);
}

// The body's fields under the names this server uses, whichever spelling the client used (any dialect).
function fields(req, names) {
  return DIALECT.pick(req.body, names);
}

const app = express();
app.use(express.json());
const api = express.Router(); // the REST routes, mounted at the dialect's base
const server = http.createServer(app);
const io = new Server(server, { cors: { origin: "*" } });

function emitToAll(event, payload) {
  io.emit(event, payload);
}

function requireAuth(req, res, next) {
  const header = req.get("authorization") || "";
  const claims = verifyToken(header.startsWith("Bearer ") ? header.slice(7) : null);
  if (!claims) return res.status(401).json({ error: "Unauthorized" });
  req.user = claims;
  next();
}

// Read-only routes: like requireAuth, but open to anyone with DIALECT auth=off.
function readAuth(req, res, next) {
  if (DIALECT.openReads) return next();
  requireAuth(req, res, next);
}

// --- auth ----------------------------------------------------------------------------------------------------

api.post("/auth/login", (req, res) => {
  const { username, password } = req.body || {};
  const user = [...users.values()].find((u) => u.username === username);
  if (!user || user.password === undefined || password !== user.password) {
    return res.status(401).json({ error: "Invalid username or password" });
  }
  res.json({ token: makeToken(user), user: { id: user.id, username: user.username, role: user.role } });
});

// --- calls ---------------------------------------------------------------------------------------------------

api.post("/calls", requireAuth, (req, res) => {
  const { title, customer, priority } = fields(req, ["title", "customer", "priority"]);
  if (typeof title !== "string" || !title) return res.status(400).json({ error: "title is required" });
  if (!PRIORITIES.includes(priority)) {
    return res.status(400).json({ error: `priority must be one of ${PRIORITIES.join(", ")}` });
  }
  const stamp = nowStamp();
  const call = {
    id: `C-${nextCallNumber++}`,
    title,
    customer: customer ?? null,
    priority,
    status: "open",
    assignedTo: null,
    createdBy: req.user.sub,
    createdAt: stamp,
    updatedAt: stamp,
  };
  calls.set(call.id, call);
  emitToAll("call_created", publicCall(call));
  res.status(201).json(publicCall(call));
});

api.put("/calls/:id", requireAuth, (req, res) => {
  const call = findCall(req.params.id);
  if (!call) return res.status(404).json({ error: "Call not found" });
  const changes = fields(req, ["title", "customer", "priority", "status"]);
  if (changes.priority !== undefined && !PRIORITIES.includes(changes.priority)) {
    return res.status(400).json({ error: `priority must be one of ${PRIORITIES.join(", ")}` });
  }
  Object.assign(call, changes, { updatedAt: nowStamp() });
  emitToAll("call_updated", publicCall(call));
  res.json(publicCall(call));
});

api.post("/calls/:id/assign", requireAuth, (req, res) => {
  const call = findCall(req.params.id);
  if (!call) return res.status(404).json({ error: "Call not found" });
  const { assignedTo } = fields(req, ["assignedTo"]);
  if (typeof assignedTo !== "string" || !assignedTo) {
    return res.status(400).json({ error: "assignedTo is required" });
  }
  Object.assign(call, { assignedTo, status: "assigned", updatedAt: nowStamp() });
  emitToAll("call_assigned", publicCall(call));
  res.json(publicCall(call));
});

api.post("/calls/:id/complete", requireAuth, (req, res) => {
  const call = findCall(req.params.id);
  if (!call) return res.status(404).json({ error: "Call not found" });
  Object.assign(call, { status: "completed", updatedAt: nowStamp() });
  emitToAll("call_completed", publicCall(call));
  res.json(publicCall(call));
});

api.get("/calls", readAuth, (req, res) => {
  let list = [...calls.values()];
  if (req.query.since !== undefined) {
    const cutoff = Date.parse(String(req.query.since));
    if (Number.isNaN(cutoff)) return res.status(400).json({ error: "since must be an RFC 3339 timestamp" });
    list = list.filter((c) => Date.parse(c.updatedAt) > cutoff);
  }
  list.sort((a, b) => Date.parse(a.updatedAt) - Date.parse(b.updatedAt)); // oldest first
  res.json(DIALECT.listing(list.map(publicCall), "calls", (items) => items));
});

// --- users ---------------------------------------------------------------------------------------------------

api.post("/users", requireAuth, (req, res) => {
  const { username, role, password } = fields(req, ["username", "role", "password"]);
  if (typeof username !== "string" || !/^[A-Za-z0-9_.-]+$/.test(username)) {
    return res.status(400).json({ error: "username is required" });
  }
  const id = `u-${username}`;
  if (users.has(id)) return res.status(409).json({ error: "User exists" });
  const stamp = nowStamp();
  const user = { id, username, role: role || "officer", password, createdAt: stamp, updatedAt: stamp };
  users.set(id, user);
  emitToAll("user_created", publicUser(user));
  res.status(201).json(publicUser(user));
});

api.delete("/users/:id", requireAuth, (req, res) => {
  const user = users.get(req.params.id);
  if (!user) return res.status(404).json({ error: "User not found" });
  users.delete(user.id);
  emitToAll("user_deleted_broadcast", DIALECT.record({ id: user.id }));
  const notice = { id: user.id, message: "Your account has been deleted" };
  io.to(`user:${user.id}`).emit("user_deleted", DIALECT.record(notice));
  res.json(publicUser(user));
});

app.use(DIALECT.base || "/", api);

// --- test control (not part of the seed) ---------------------------------------------------------------------

app.post("/__test/emit", (req, res) => {
  const { event, data, room } = req.body || {};
  if (typeof event !== "string") return res.status(400).json({ error: "event is required" });
  if (room) io.to(room).emit(event, data);
  else io.emit(event, data);
  res.json({ ok: true });
});

app.get("/__test/clients", (req, res) => {
  res.json({ count: io.of("/").sockets.size });
});

app.post("/__test/kick", (req, res) => {
  const sockets = [...io.of("/").sockets.values()];
  for (const socket of sockets) socket.conn.close();
  res.json({ kicked: sockets.length });
});

app.use((req, res) => res.status(404).json({ error: "Not Found" }));

// --- Socket.IO -----------------------------------------------------------------------------------------------

io.use((socket, next) => {
  if (DIALECT.openReads) {
    // auth=off: no token needed, and one that is given is not looked at
    socket.data.user = { sub: "anonymous" };
    return next();
  }
  const claims = verifyToken(socket.handshake.auth && socket.handshake.auth.token);
  if (!claims) return next(new Error("Unauthorized"));
  socket.data.user = claims;
  next();
});

io.on("connection", (socket) => {
  log(`connect ${socket.id} user=${socket.data.user.sub}`);
  socket.on("register", (userId) => {
    if (typeof userId !== "string" || !userId) return;
    socket.join(`user:${userId}`);
    log(`register ${socket.id} as ${userId}`);
  });
  socket.on("disconnect", (reason) => log(`disconnect ${socket.id} (${reason})`));
});

server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  process.stdout.write(`READY ${server.address().port}\n`);
});
