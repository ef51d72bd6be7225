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

"use strict";

const http = require("node:http");
const express = require("express");
const jwt = require("jsonwebtoken");
const { Server } = require("socket.io");

const JWT_SECRET = process.env.JWT_SECRET || "test-secret";
const TOKEN_TTL = Number(process.env.TOKEN_TTL || 3600);
const PRIORITIES = ["low", "normal", "high", "urgent"];

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
  return rest;
}

const app = express();
app.use(express.json());
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

// --- auth ----------------------------------------------------------------------------------------------------

app.post("/api/auth/login", (req, res) => {
  const { username, password } = req.body || {};
  const user = [...users.values()].find((u) => u.username === username);
  if (!user || user.password === undefined || password !== user.password) {
    return res.status(401).json({ error: "Invalid username or password" });
  }
  res.json({ token: makeToken(user), user: { id: user.id, username: user.username, role: user.role } });
});

// --- calls ---------------------------------------------------------------------------------------------------

app.post("/api/calls", requireAuth, (req, res) => {
  const { title, customer, priority } = req.body || {};
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
  emitToAll("call_created", call);
  res.status(201).json(call);
});

app.put("/api/calls/:id", requireAuth, (req, res) => {
  const call = calls.get(req.params.id);
  if (!call) return res.status(404).json({ error: "Call not found" });
  const body = req.body || {};
  if (body.priority !== undefined && !PRIORITIES.includes(body.priority)) {
    return res.status(400).json({ error: `priority must be one of ${PRIORITIES.join(", ")}` });
  }
  for (const field of ["title", "customer", "priority", "status"]) {
    if (body[field] !== undefined) call[field] = body[field];
  }
  call.updatedAt = nowStamp();
  emitToAll("call_updated", call);
  res.json(call);
});

app.post("/api/calls/:id/assign", requireAuth, (req, res) => {
  const call = calls.get(req.params.id);
  if (!call) return res.status(404).json({ error: "Call not found" });
  const { assignedTo } = req.body || {};
  if (typeof assignedTo !== "string" || !assignedTo) {
    return res.status(400).json({ error: "assignedTo is required" });
  }
  Object.assign(call, { assignedTo, status: "assigned", updatedAt: nowStamp() });
  emitToAll("call_assigned", call);
  res.json(call);
});

app.post("/api/calls/:id/complete", requireAuth, (req, res) => {
  const call = calls.get(req.params.id);
  if (!call) return res.status(404).json({ error: "Call not found" });
  Object.assign(call, { status: "completed", updatedAt: nowStamp() });
  emitToAll("call_completed", call);
  res.json(call);
});

app.get("/api/calls", requireAuth, (req, res) => {
  let list = [...calls.values()];
  if (req.query.since !== undefined) {
    const cutoff = Date.parse(String(req.query.since));
    if (Number.isNaN(cutoff)) return res.status(400).json({ error: "since must be an RFC 3339 timestamp" });
    list = list.filter((c) => Date.parse(c.updatedAt) > cutoff);
  }
  list.sort((a, b) => Date.parse(a.updatedAt) - Date.parse(b.updatedAt));
  res.json(list);
});

// --- users ---------------------------------------------------------------------------------------------------

app.post("/api/users", requireAuth, (req, res) => {
  const { username, role, password } = req.body || {};
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

app.delete("/api/users/:id", requireAuth, (req, res) => {
  const user = users.get(req.params.id);
  if (!user) return res.status(404).json({ error: "User not found" });
  users.delete(user.id);
  emitToAll("user_deleted_broadcast", { id: user.id });
  io.to(`user:${user.id}`).emit("user_deleted", { id: user.id, message: "Your account has been deleted" });
  res.json(publicUser(user));
});

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

// --- Socket.IO -----------------------------------------------------------------------------------------------

io.use((socket, next) => {
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
