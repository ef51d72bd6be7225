// Seed 002 (station reports): an Express 4 API with a raw `ws` 8 WebSocket server on the same HTTP server.
//
// Follows shared/seeds/002: citizens submit reports (no auth); the server keeps its officers' connections per
// police station and sends `{"type": "new_report", "report": ...}` only to the officers of the report's
// station; connections authenticate with a token; a heartbeat drops dead connections.
// The contract is tests/servers/README.md.
//
// Choices where the seed is silent:
// - station_id is an integer (a string of digits is accepted and stored as an integer).
// - Reports start `pending`; acknowledge sets `acknowledged` and `acknowledgedBy` (the officer's user id) and
//   sends nothing; only officers of the report's station may acknowledge it (404 otherwise).
// - Messages that clients send are ignored. A connection's token is checked only at the upgrade.
// - Heartbeat (PING_INTERVAL_MS): each interval the server pings every client and terminates any that did not
//   answer the previous ping, the `ws` README pattern.
// - Test emit: `room`, when given, is a station id: only that station's officers get the message.
//   Test kick closes every connection with code 1001 (going away).
// - STATE_FILE (test setting): reports are saved there after every change and loaded at start, so a restarted
//   server keeps its reports (the seed's database). POST /__test/ws {"refuse": true} makes WebSocket upgrades
//   fail with 503 while REST keeps answering (the polling-fallback case).
// - TLS_CERT/TLS_KEY (test setting): HTTPS and wss:// with that certificate; TLS_CLIENT_CA also requires a client
//   certificate issued by that CA.
// - DIALECT (see README.md and dialect.js): `publicReport()` writes a report as the dialect spells it, in REST
//   answers and WebSocket messages alike; the REST routes live on a router mounted at the dialect's base. With
//   idtype=str, ids are `R-<n>`; `since` and routes take either form and compare the number. With auth=off there
//   is no officer, so the station comes from the query (`/ws?station_id=4`, `GET .../reports?station_id=4`);
//   without one, a connection gets every station's reports and the list has every station's.
//   Unknown paths answer 404 JSON.

"use strict";

const http = require("node:http");
const https = require("node:https");
const express = require("express");
const jwt = require("jsonwebtoken");
const { WebSocketServer } = require("ws");
const dialect = require("./dialect");

const JWT_SECRET = process.env.JWT_SECRET || "test-secret";
const TOKEN_TTL = Number(process.env.TOKEN_TTL || 3600);
const PING_INTERVAL_MS = Number(process.env.PING_INTERVAL_MS || 30000);
// `list` left out: today's `{"reports": [...]}`.
const DIALECT = dialect.load(
  { idtype: "int", base: "/api", order: "oldest" },
  { description: "details", category: "type" },
);
const EVERY_STATION = "*"; // auth=off connections that named no station

const log = (...args) => console.error(...args);

let lastStamp = 0;
function nowStamp() {
  lastStamp = Math.max(Date.now(), lastStamp + 1);
  return new Date(lastStamp).toISOString();
}

const startStamp = nowStamp();
const officers = [
  { id: "u-dispatcher", username: "dispatcher", password: "secret", station_id: 4 },
  { id: "u-officer", username: "officer", password: "secret", station_id: 4 },
  { id: "u-officer2", username: "officer2", password: "secret", station_id: 7 },
].map((o) => ({ ...o, createdAt: startStamp, updatedAt: startStamp }));

const fs = require("node:fs");
const STATE_FILE = process.env.STATE_FILE || "";
const reports = STATE_FILE && fs.existsSync(STATE_FILE) ? JSON.parse(fs.readFileSync(STATE_FILE, "utf8")) : []; // in id order
let nextReportId = reports.reduce((max, r) => Math.max(max, r.id), 0) + 1;
let refuseWebSockets = false;
function saveState() {
  if (STATE_FILE) fs.writeFileSync(STATE_FILE, JSON.stringify(reports));
}
const stations = new Map(); // station_id (or EVERY_STATION) -> Set of authenticated WebSocket connections

function makeToken(officer) {
  return jwt.sign({ sub: officer.id, username: officer.username, station_id: officer.station_id }, JWT_SECRET, {
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

function parseStationId(value) {
  if (Number.isInteger(value) && value >= 0) return value;
  if (typeof value === "string" && /^\d+$/.test(value)) return Number(value);
  return null;
}

function allClients() {
  return [...stations.values()].flatMap((set) => [...set]);
}

function sendToStation(stationId, text) {
  for (const ws of [...(stations.get(stationId) || []), ...(stations.get(EVERY_STATION) || [])]) {
    if (ws.readyState === ws.OPEN) ws.send(text);
  }
}

// A report (or an acknowledgement) as the dialect writes it.
function publicReport(report) {
  return DIALECT.record(report, "R");
}

// auth=off: the station a request names in its query (`station_id` or `stationId`), or EVERY_STATION.
function queryStation(query) {
  const { station_id: stationId } = DIALECT.pick(query, ["station_id"]);
  return stationId === undefined ? EVERY_STATION : parseStationId(String(stationId));
}

const app = express();
app.use(express.json());
const api = express.Router(); // the REST routes, mounted at the dialect's base
// TLS_CERT and TLS_KEY (PEM files): serve HTTPS and wss:// instead; with TLS_CLIENT_CA, a client certificate
// issued by that CA is required (mutual TLS), as some departments' gateways do.
const server = process.env.TLS_CERT
  ? https.createServer(
      {
        cert: fs.readFileSync(process.env.TLS_CERT),
        key: fs.readFileSync(process.env.TLS_KEY),
        ...(process.env.TLS_CLIENT_CA
          ? { ca: fs.readFileSync(process.env.TLS_CLIENT_CA), requestCert: true, rejectUnauthorized: true }
          : {}),
      },
      app,
    )
  : http.createServer(app);
const wss = new WebSocketServer({ noServer: true });

function requireAuth(req, res, next) {
  const header = req.get("authorization") || "";
  const claims = verifyToken(header.startsWith("Bearer ") ? header.slice(7) : null);
  if (!claims) return res.status(401).json({ error: "Unauthorized" });
  req.officer = claims;
  next();
}

// Read-only routes: like requireAuth, but open to anyone with DIALECT auth=off (req.officer stays unset).
function readAuth(req, res, next) {
  if (DIALECT.openReads) return next();
  requireAuth(req, res, next);
}

// --- auth ----------------------------------------------------------------------------------------------------

api.post("/login", (req, res) => {
  const { username, password } = req.body || {};
  const officer = officers.find((o) => o.username === username);
  if (!officer || password !== officer.password) {
    return res.status(401).json({ error: "Invalid username or password" });
  }
  res.json({ token: makeToken(officer), officer: { id: officer.id, station_id: officer.station_id } });
});

// --- reports -------------------------------------------------------------------------------------------------

api.post("/reports", (req, res) => {
  const body = DIALECT.pick(req.body, ["station_id", "category", "description", "priority", "location"]);
  const stationId = parseStationId(body.station_id);
  if (stationId === null) return res.status(400).json({ error: "station_id must be an integer" });
  if (typeof body.category !== "string" || !body.category) {
    return res.status(400).json({ error: "category is required" });
  }
  const stamp = nowStamp();
  const report = {
    id: nextReportId++,
    station_id: stationId,
    category: body.category,
    description: body.description ?? "",
    priority: body.priority ?? null,
    location: body.location ?? null,
    status: "pending",
    acknowledgedBy: null,
    createdAt: stamp,
    updatedAt: stamp,
  };
  reports.push(report);
  saveState();
  sendToStation(stationId, JSON.stringify({ type: "new_report", report: publicReport(report) }));
  res.status(201).json(publicReport(report));
});

api.get("/reports", readAuth, (req, res) => {
  const since = req.query.since === undefined ? 0 : DIALECT.number(req.query.since, "R");
  if (since === null) return res.status(400).json({ error: "since must be a report id" });
  const station = req.officer ? req.officer.station_id : queryStation(req.query);
  if (station === null) return res.status(400).json({ error: "station_id must be an integer" });
  const mine = reports.filter((r) => (station === EVERY_STATION || r.station_id === station) && r.id > since);
  res.json(DIALECT.listing(mine.map(publicReport), "reports", (items) => ({ reports: items })));
});

api.post("/reports/:id/acknowledge", requireAuth, (req, res) => {
  const number = DIALECT.number(req.params.id, "R");
  const report = reports.find((r) => r.id === number);
  if (!report || report.station_id !== req.officer.station_id) {
    return res.status(404).json({ error: "Report not found" });
  }
  Object.assign(report, { status: "acknowledged", acknowledgedBy: req.officer.sub, updatedAt: nowStamp() });
  res.json(publicReport({ id: report.id, acknowledgedBy: report.acknowledgedBy }));
});

app.use(DIALECT.base || "/", api);

// --- test control (not part of the seed) ---------------------------------------------------------------------

app.post("/__test/emit", (req, res) => {
  const { data, room } = req.body || {};
  const text = JSON.stringify(data ?? null);
  if (room !== undefined && room !== null) {
    const stationId = parseStationId(room);
    if (stationId !== null) sendToStation(stationId, text);
  } else {
    for (const ws of allClients()) if (ws.readyState === ws.OPEN) ws.send(text);
  }
  res.json({ ok: true });
});

app.post("/__test/ws", (req, res) => {
  refuseWebSockets = Boolean((req.body || {}).refuse);
  res.json({ refuse: refuseWebSockets });
});

app.get("/__test/clients", (req, res) => {
  res.json({ count: allClients().length });
});

app.post("/__test/kick", (req, res) => {
  const clients = allClients();
  for (const ws of clients) ws.close(1001, "kicked");
  res.json({ kicked: clients.length });
});

app.use((req, res) => res.status(404).json({ error: "Not Found" }));

// --- WebSocket -----------------------------------------------------------------------------------------------

function refuseUpgrade(socket, status, reason) {
  const body = JSON.stringify({ error: reason });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

server.on("upgrade", (req, socket, head) => {
  const url = new URL(req.url, "http://127.0.0.1");
  if (url.pathname !== "/ws") return refuseUpgrade(socket, 404, "Not Found");
  if (refuseWebSockets) return refuseUpgrade(socket, 503, "Service Unavailable");
  // auth=off: no token needed (one that is given is not looked at); the query may name the station.
  const claims = DIALECT.openReads
    ? { sub: "anonymous", station_id: queryStation(Object.fromEntries(url.searchParams)) }
    : verifyToken(url.searchParams.get("token"));
  if (!claims) return refuseUpgrade(socket, 401, "Unauthorized");
  if (claims.station_id === null) return refuseUpgrade(socket, 400, "Bad Request");
  wss.handleUpgrade(req, socket, head, (ws) => {
    const stationId = claims.station_id;
    if (!stations.has(stationId)) stations.set(stationId, new Set());
    stations.get(stationId).add(ws);
    ws.isAlive = true;
    log(`connect officer=${claims.sub} station=${stationId}`);
    ws.on("pong", () => {
      ws.isAlive = true;
    });
    ws.on("message", () => {}); // nothing to do with client messages
    ws.on("error", (err) => log(`ws error: ${err.message}`));
    ws.on("close", (code) => {
      stations.get(stationId).delete(ws);
      log(`disconnect officer=${claims.sub} (${code})`);
    });
  });
});

const heartbeat = setInterval(() => {
  for (const ws of allClients()) {
    if (!ws.isAlive) {
      ws.terminate();
      continue;
    }
    ws.isAlive = false;
    ws.ping();
  }
}, PING_INTERVAL_MS);
server.on("close", () => clearInterval(heartbeat));

server.on("tlsClientError", (err) => log(`tls error: ${err.message}`));

server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  process.stdout.write(`READY ${server.address().port}\n`);
});
