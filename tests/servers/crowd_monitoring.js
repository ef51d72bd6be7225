// Seed 003 (crowd monitoring, "CrowdShield AI"): Express 4 + Socket.IO 4 with JWT auth and per-event rooms.
//
// Follows shared/seeds/003: a Socket.IO middleware verifies `handshake.auth.token || handshake.query.token`,
// fails with Error("Unauthorized"), and joins `event:${eventId}` from the handshake query; controllers emit
// with `emitToEvent(eventId, name, payload)` the seven events of the seed's table (map:update, alert:new,
// alert:updated, insight:update, prediction:update, action:created, report:new), each to its event room only.
// The contract is tests/servers/README.md.
//
// Choices where the seed is silent:
// - Ids are strings with a kind prefix: `AL-<n>` alerts, `OB-<n>` detections, `PG-<n>` pings, `IN-<n>`
//   insights, `PR-<n>` predictions, `AC-<n>` actions, `RP-<n>` reports.
// - POST /cctv/objects answers 201 with the detection `{id, eventId, zoneId, count, alert, ...}`, where
//   `alert` is the alert record or null (count <= 30).
// - POST /pings `{eventId, lat, lng}` emits `{points: [the new point], density: [], updatedAt, source: "ping"}`.
// - POST /ai/insights `{eventId, ...}` emits `{riskScore, recommendation, confidence, factors, mlStatus}` and
//   POST /ai/predictions `{eventId, ...}` emits `{horizonMinutes, predictions, generatedAt}` (the seed's
//   handlers read mlStatus and generatedAt too); values come from the body, else from the event's latest
//   camera counts.
// - Expired tokens: every second the server disconnects (`socket.disconnect(true)`) sockets whose JWT expired.
// - REFRESH=1 (not in the seed, which only says "handle token expiration gracefully"): the login answers
//   `{token, refreshToken, expiresIn}`, and POST /auth/refresh `{refreshToken}` answers a new token and a new
//   refresh token (rotation: each refresh token works once; 401 otherwise). POST /__test/revoke-refresh makes
//   every refresh token issued so far invalid. Without it there is no refresh route (404), as in the seed.
// - CONNECTION_STATE_RECOVERY=1: recovery for 2 minutes, with the auth middleware still run on recovery.
// - Test kick closes each engine.io connection (clients see "transport close", as on a network drop).
// - DIALECT (see README.md and dialect.js): the `public*()` helpers write records and payloads as the dialect
//   spells them, in REST answers and socket payloads alike (the seed's payloads stay the subsets it lists); the
//   REST routes live on a router mounted at the dialect's base. With idtype=int each kind counts 1, 2, 3...
//   Bodies and queries accept `eventId` or `event_id` and so on in every dialect. Unknown paths answer 404 JSON.

"use strict";

const crypto = require("node:crypto");
const http = require("node:http");
const express = require("express");
const jwt = require("jsonwebtoken");
const { Server } = require("socket.io");
const dialect = require("./dialect");

const JWT_SECRET = process.env.JWT_SECRET || "test-secret";
const TOKEN_TTL = Number(process.env.TOKEN_TTL || 3600);
const RECOVERY = process.env.CONNECTION_STATE_RECOVERY === "1";
const REFRESH = process.env.REFRESH === "1";
const DIALECT = dialect.load({ idtype: "str", base: "/api/v1", list: "array", order: "oldest" }, { message: "text" });

const log = (...args) => console.error(...args);

let lastStamp = 0;
function nowStamp() {
  lastStamp = Math.max(Date.now(), lastStamp + 1);
  return new Date(lastStamp).toISOString();
}

const users = [
  { id: "u-dispatcher", username: "dispatcher", password: "secret", role: "operator" },
  { id: "u-officer", username: "officer", password: "secret", role: "field" },
];

const counters = new Map();
function newId(prefix) {
  const n = (counters.get(prefix) || 0) + 1;
  counters.set(prefix, n);
  return `${prefix}-${n}`;
}

const alerts = []; // alert records, in creation order
const reports = []; // report records, in creation order
const latestCounts = new Map(); // eventId -> Map(zoneId -> count)

function makeToken(user) {
  return jwt.sign({ sub: user.id, email: `${user.username}@crowd.test`, role: user.role }, JWT_SECRET, {
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

// --- records as the dialect writes them (REST answers and socket payloads alike) --------------------------------

const only = (record, names) => Object.fromEntries(names.map((name) => [name, record[name]]));
const publicAlert = (alert) => DIALECT.record(alert, "AL");
const publicReport = (report) => DIALECT.record(report, "RP");
const publicPoint = (point) => DIALECT.record(point, "PG");
const publicInsight = (insight) => DIALECT.record(insight, "IN");
const publicAction = (action) => DIALECT.record(action, "AC");

function publicDetection(detection) {
  return { ...DIALECT.record(detection, "OB"), alert: detection.alert && publicAlert(detection.alert) };
}

function publicPrediction(prediction) {
  const isRecord = (entry) => entry !== null && typeof entry === "object" && !Array.isArray(entry);
  const entries = prediction.predictions;
  return {
    ...DIALECT.record(prediction, "PR"),
    predictions: Array.isArray(entries) ? entries.map((e) => (isRecord(e) ? DIALECT.record(e) : e)) : entries,
  };
}

function publicMapUpdate(update) {
  return { ...DIALECT.record(update), points: update.points.map(publicPoint) };
}

// The body's (or query's) fields under the names this server uses, whichever spelling the client used.
const fields = (source, names) => DIALECT.pick(source, names);

const app = express();
app.use(express.json());
const api = express.Router(); // the REST routes, mounted at the dialect's base
const server = http.createServer(app);
const io = new Server(server, {
  cors: { origin: "*" },
  ...(RECOVERY ? { connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: false } } : {}),
});

// The seed's `req.app.get('ioApi')`.
const ioApi = {
  emitToEvent(eventId, name, payload) {
    io.to(`event:${eventId}`).emit(name, payload);
  },
};
app.set("ioApi", ioApi);

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

// Every business route below needs an `eventId` (a non-empty string) in its JSON body.
function requireEventId(req, res, next) {
  const { eventId } = fields(req.body, ["eventId"]);
  if (typeof eventId !== "string" || !eventId) return res.status(400).json({ error: "eventId is required" });
  next();
}

// --- auth ----------------------------------------------------------------------------------------------------

// Refresh tokens that are still good (REFRESH=1): token -> user, each used once.
const refreshTokens = new Map();
let refreshCount = 0;

function signedIn(user) {
  if (!REFRESH) return { token: makeToken(user) };
  const refreshToken = `rt-${crypto.randomBytes(24).toString("hex")}`;
  refreshTokens.set(refreshToken, user);
  return { token: makeToken(user), refreshToken, expiresIn: TOKEN_TTL };
}

api.post("/auth/login", (req, res) => {
  const { email, password } = req.body || {};
  const user = users.find((u) => `${u.username}@crowd.test` === email);
  if (!user || password !== user.password) return res.status(401).json({ error: "Invalid email or password" });
  res.json(signedIn(user));
});

if (REFRESH) {
  api.post("/auth/refresh", (req, res) => {
    const { refreshToken } = req.body || {};
    const user = refreshTokens.get(refreshToken);
    if (!user) return res.status(401).json({ error: "Invalid refresh token" });
    refreshTokens.delete(refreshToken);
    refreshCount += 1;
    log(`refresh #${refreshCount} for ${user.id}`);
    res.json(signedIn(user));
  });
}

// --- cctv and alerts -----------------------------------------------------------------------------------------

function severityFor(count) {
  if (count > 50) return "critical";
  if (count > 30) return "high";
  if (count > 20) return "medium";
  return "low";
}

api.post("/cctv/objects", requireAuth, requireEventId, (req, res) => {
  const { eventId, zoneId, count } = fields(req.body, ["eventId", "zoneId", "count"]);
  if (typeof zoneId !== "string" || !zoneId) return res.status(400).json({ error: "zoneId is required" });
  if (!Number.isInteger(count) || count < 0) return res.status(400).json({ error: "count must be an integer" });
  if (!latestCounts.has(eventId)) latestCounts.set(eventId, new Map());
  latestCounts.get(eventId).set(zoneId, count);

  const stamp = nowStamp();
  let alert = null;
  if (count > 30) {
    alert = {
      id: newId("AL"),
      eventId,
      type: "overcrowding",
      message: `${count} people detected in zone ${zoneId} (threshold 30)`,
      severity: severityFor(count),
      zoneId,
      status: "active",
      resolvedAt: null,
      createdAt: stamp,
      updatedAt: stamp,
    };
    alerts.push(alert);
    const payload = only(alert, ["id", "type", "message", "severity", "zoneId", "createdAt"]);
    req.app.get("ioApi").emitToEvent(eventId, "alert:new", publicAlert(payload));
  }
  const detection = { id: newId("OB"), eventId, zoneId, count, alert, createdAt: stamp, updatedAt: stamp };
  res.status(201).json(publicDetection(detection));
});

api.patch("/alerts/:id/resolve", requireAuth, (req, res) => {
  const number = DIALECT.number(req.params.id, "AL");
  const alert = alerts.find((a) => a.id === `AL-${number}`);
  if (!alert) return res.status(404).json({ error: "Alert not found" });
  const stamp = nowStamp();
  Object.assign(alert, { status: "resolved", resolvedAt: stamp, updatedAt: stamp });
  const update = only(alert, ["id", "status", "resolvedAt"]);
  req.app.get("ioApi").emitToEvent(alert.eventId, "alert:updated", publicAlert(update));
  res.json(publicAlert(alert));
});

api.get("/alerts", readAuth, (req, res) => {
  const { eventId } = fields(req.query, ["eventId"]);
  const list = eventId === undefined ? alerts : alerts.filter((a) => a.eventId === eventId);
  res.json(DIALECT.listing(list.map(publicAlert), "alerts", (items) => items));
});

// --- pings ---------------------------------------------------------------------------------------------------

api.post("/pings", requireAuth, requireEventId, (req, res) => {
  const { eventId, lat, lng } = fields(req.body, ["eventId", "lat", "lng"]);
  if (typeof lat !== "number" || typeof lng !== "number") {
    return res.status(400).json({ error: "lat and lng must be numbers" });
  }
  const stamp = nowStamp();
  const ping = { id: newId("PG"), eventId, lat, lng, createdAt: stamp, updatedAt: stamp };
  const point = { id: ping.id, lat, lng, createdAt: stamp };
  const update = { points: [point], density: [], updatedAt: stamp, source: "ping" };
  req.app.get("ioApi").emitToEvent(eventId, "map:update", publicMapUpdate(update));
  res.status(201).json(publicPoint(ping));
});

// --- AI ------------------------------------------------------------------------------------------------------

function zoneCounts(eventId) {
  return [...(latestCounts.get(eventId) || new Map()).entries()];
}

api.post("/ai/insights", requireAuth, requireEventId, (req, res) => {
  const body = fields(req.body, ["eventId", "riskScore", "recommendation", "confidence", "factors", "mlStatus"]);
  const busiest = zoneCounts(body.eventId).sort((a, b) => b[1] - a[1])[0];
  const riskScore = body.riskScore ?? (busiest ? Math.min(100, Math.round((busiest[1] / 60) * 100)) : 0);
  const insight = {
    riskScore,
    recommendation:
      body.recommendation ?? (busiest && riskScore >= 50 ? `Open extra exits near zone ${busiest[0]}` : "No action needed"),
    confidence: body.confidence ?? 0.8,
    factors: body.factors ?? (busiest ? [`zone ${busiest[0]}: ${busiest[1]} people`] : []),
    mlStatus: body.mlStatus ?? "ok",
  };
  const stamp = nowStamp();
  req.app.get("ioApi").emitToEvent(body.eventId, "insight:update", publicInsight(insight));
  const record = { id: newId("IN"), eventId: body.eventId, ...insight, createdAt: stamp, updatedAt: stamp };
  res.status(201).json(publicInsight(record));
});

api.post("/ai/predictions", requireAuth, requireEventId, (req, res) => {
  const body = fields(req.body, ["eventId", "horizonMinutes", "predictions"]);
  const stamp = nowStamp();
  const prediction = {
    horizonMinutes: body.horizonMinutes ?? 15,
    predictions:
      body.predictions ??
      zoneCounts(body.eventId).map(([zoneId, count]) => ({
        zoneId,
        expectedCount: Math.round(count * 1.1),
        risk: severityFor(Math.round(count * 1.1)),
      })),
    generatedAt: stamp,
  };
  req.app.get("ioApi").emitToEvent(body.eventId, "prediction:update", publicPrediction(prediction));
  const record = { id: newId("PR"), eventId: body.eventId, ...prediction, createdAt: stamp, updatedAt: stamp };
  res.status(201).json(publicPrediction(record));
});

// --- actions and reports -------------------------------------------------------------------------------------

api.post("/actions", requireAuth, requireEventId, (req, res) => {
  const { eventId, command, zoneId } = fields(req.body, ["eventId", "command", "zoneId"]);
  if (typeof command !== "string" || !command) return res.status(400).json({ error: "command is required" });
  const stamp = nowStamp();
  const action = { id: newId("AC"), eventId, command, zoneId: zoneId ?? null, createdBy: req.user.sub, createdAt: stamp };
  req.app.get("ioApi").emitToEvent(eventId, "action:created", publicAction(action));
  res.status(201).json(publicAction({ ...action, updatedAt: stamp }));
});

api.post("/reports", requireAuth, requireEventId, (req, res) => {
  const { eventId, message, type } = fields(req.body, ["eventId", "message", "type"]);
  if (typeof message !== "string" || !message) return res.status(400).json({ error: "message is required" });
  const stamp = nowStamp();
  const report = { id: newId("RP"), eventId, message, type: type ?? "incident", createdBy: req.user.sub, createdAt: stamp, updatedAt: stamp };
  reports.push(report);
  const payload = only(report, ["id", "message", "type", "createdAt"]);
  req.app.get("ioApi").emitToEvent(eventId, "report:new", publicReport(payload));
  res.status(201).json(publicReport(report));
});

api.get("/reports", readAuth, (req, res) => {
  const { eventId } = fields(req.query, ["eventId"]);
  const list = eventId === undefined ? reports : reports.filter((r) => r.eventId === eventId);
  res.json(DIALECT.listing(list.map(publicReport), "reports", (items) => items));
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

app.post("/__test/revoke-refresh", (req, res) => {
  const revoked = refreshTokens.size;
  refreshTokens.clear();
  res.json({ revoked });
});

app.get("/__test/refreshes", (req, res) => {
  res.json({ count: refreshCount });
});

app.post("/__test/kick", (req, res) => {
  const sockets = [...io.of("/").sockets.values()];
  for (const socket of sockets) socket.conn.close();
  res.json({ kicked: sockets.length });
});

app.use((req, res) => res.status(404).json({ error: "Not Found" }));

// --- Socket.IO -----------------------------------------------------------------------------------------------

io.use((socket, next) => {
  const { auth, query } = socket.handshake;
  if (DIALECT.openReads) {
    // auth=off: no token needed, and one that is given is not looked at (nor expires)
    socket.user = socket.data.user = { sub: "anonymous" };
    return next();
  }
  const claims = verifyToken((auth && auth.token) || query.token);
  if (!claims) return next(new Error("Unauthorized"));
  socket.user = claims;
  socket.data.user = claims;
  next();
});

io.on("connection", (socket) => {
  const { eventId } = fields(socket.handshake.query, ["eventId"]);
  if (eventId) socket.join(`event:${eventId}`);
  log(`connect ${socket.id} user=${socket.user.sub} event=${eventId || "-"}${socket.recovered ? " (recovered)" : ""}`);
  socket.on("disconnect", (reason) => log(`disconnect ${socket.id} (${reason})`));
});

// Tokens expire while connected: drop those sockets (checked every second).
const expiryCheck = setInterval(() => {
  const now = Date.now() / 1000;
  for (const socket of io.of("/").sockets.values()) {
    if (socket.user.exp !== undefined && socket.user.exp <= now) {
      log(`token expired for ${socket.id}`);
      socket.disconnect(true);
    }
  }
}, 1000);
server.on("close", () => clearInterval(expiryCheck));

server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  process.stdout.write(`READY ${server.address().port}\n`);
});
