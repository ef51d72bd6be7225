// Peer client: the Node `ws` library's WebSocket with its defaults. `ws` has no heartbeat and no reconnection
// of its own; this peer reconnects 500 ms after a close (the simplest loop an application would write), and
// prints each text message on stdout, and link changes as {"status": ...} lines on stderr.
//   node ws_client.js ws://127.0.0.1:PORT/ws
"use strict";

const path = require("path");
const modules = path.join(__dirname, "..", "..", "servers", "node_modules");
const WebSocket = require(require.resolve("ws", { paths: [modules] }));

const status = (name, extra) => process.stderr.write(JSON.stringify({ status: name, ...extra }) + "\n");
let stopping = false;
function connect() {
  const socket = new WebSocket(process.argv[2]);
  socket.on("open", () => status("live"));
  socket.on("message", (data) => process.stdout.write(data.toString() + "\n"));
  socket.on("error", (error) => status("error", { reason: String(error && error.message) }));
  socket.on("close", (code) => {
    status("disconnected", { code });
    if (!stopping) setTimeout(connect, 500);
  });
}
connect();
const stop = () => { stopping = true; process.exit(0); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
