// Benchmark emitter: a Socket.IO 4 server (BENCH_PROTO=socketio) or a `ws` server (BENCH_PROTO=ws) that, on
// request, sends numbered events at a fixed rate. Each event is {"type": "bench", "id": N, "t": "<ns>"} where
// `t` is process.hrtime.bigint() (CLOCK_MONOTONIC on Linux) taken just before the send, so a reader on the same
// machine can compare it with its own CLOCK_MONOTONIC (Python: time.monotonic_ns()).
//
// Control (loopback, no auth; see docs/benchmarks.md):
//   POST /bench/run {"count", "rate", "record": bool}  start sending (answers at once; one run at a time)
//   GET  /bench/status                                 {"running", "sent", "first", "last", "seconds"}
//   GET  /bench/events?since=N                         {"events": [recorded events with id > N]} (backfill)
//   GET  /bench/clients                                {"count": connected clients}
// Socket.IO events go to everyone as event "bench"; raw ws sends the object as JSON text to every client at /ws.
// Prints `READY <port>` once listening, like the seed-style servers in tests/servers/.
"use strict";

const path = require("path");
const http = require("http");
const serversModules = path.join(__dirname, "..", "servers", "node_modules");
const load = (name) => require(require.resolve(name, { paths: [serversModules] }));

const proto = process.env.BENCH_PROTO || "socketio";
const server = http.createServer(control);
let broadcast;
let clientCount;

if (proto === "socketio") {
  const { Server } = load("socket.io");
  const io = new Server(server, { serveClient: false }); // library defaults otherwise (ping 25 s / 20 s)
  broadcast = (event) => io.emit("bench", event);
  clientCount = () => io.of("/").sockets.size;
} else if (proto === "ws") {
  const { WebSocketServer, WebSocket } = load("ws");
  const wss = new WebSocketServer({ server, path: "/ws" });
  broadcast = (event) => {
    const text = JSON.stringify(event);
    for (const client of wss.clients) {
      if (client.readyState === WebSocket.OPEN) client.send(text);
    }
  };
  clientCount = () => wss.clients.size;
} else {
  console.error(`BENCH_PROTO must be socketio or ws, not ${proto}`);
  process.exit(2);
}

let nextId = 1;
let recorded = [];
const MAX_RECORDED = 200000;
let run = { running: false, sent: 0, first: 0, last: 0, seconds: 0 };

function startRun(count, rate, record) {
  const startedAt = process.hrtime.bigint();
  run = { running: true, sent: 0, first: nextId, last: nextId + count - 1, seconds: 0 };
  const current = run;
  const tick = () => {
    const elapsed = Number(process.hrtime.bigint() - startedAt) / 1e9;
    const due = Math.min(count, Math.floor(elapsed * rate) + 1);
    while (current.sent < due) {
      const event = { type: "bench", id: nextId++, t: process.hrtime.bigint().toString() };
      if (record && recorded.length < MAX_RECORDED) recorded.push(event);
      broadcast(event);
      current.sent++;
    }
    if (current.sent < count) {
      const waitMs = ((current.sent / rate) - (Number(process.hrtime.bigint() - startedAt) / 1e9)) * 1000;
      setTimeout(tick, Math.max(0, Math.floor(waitMs)));
    } else {
      current.seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
      current.running = false;
    }
  };
  tick();
}

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

function control(req, res) {
  const url = new URL(req.url, "http://127.0.0.1");
  if (req.method === "GET" && url.pathname === "/bench/status") return reply(res, 200, run);
  if (req.method === "GET" && url.pathname === "/bench/clients") return reply(res, 200, { count: clientCount() });
  if (req.method === "GET" && url.pathname === "/bench/events") {
    const since = Number(url.searchParams.get("since") || 0);
    return reply(res, 200, { events: recorded.filter((event) => event.id > since) });
  }
  if (req.method === "POST" && url.pathname === "/bench/run") {
    let body = "";
    req.on("data", (chunk) => { body += chunk; if (body.length > 4096) req.destroy(); });
    req.on("end", () => {
      let parsed;
      try { parsed = JSON.parse(body || "{}"); } catch { return reply(res, 400, { error: "bad JSON" }); }
      const count = Number(parsed.count), rate = Number(parsed.rate);
      if (!(count > 0 && count <= 10000000 && rate > 0 && rate <= 1000000)) return reply(res, 400, { error: "count/rate" });
      if (run.running) return reply(res, 409, { error: "a run is in progress" });
      if (parsed.record) recorded = [];
      startRun(count, rate, Boolean(parsed.record));
      return reply(res, 200, { first: run.first, last: run.last });
    });
    return;
  }
  reply(res, 404, { error: "not found" });
}

server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  process.stdout.write(`READY ${server.address().port}\n`);
});
