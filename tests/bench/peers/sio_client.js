// Peer client: Node socket.io-client 4 with its default options (reconnection on, default timeouts).
// Prints each "bench" event as one JSON line on stdout, and link changes as {"status": ...} lines on stderr.
//   node sio_client.js http://127.0.0.1:PORT
"use strict";

const path = require("path");
const modules = path.join(__dirname, "..", "..", "servers", "node_modules");
const { io } = require(require.resolve("socket.io-client", { paths: [modules] }));

const socket = io(process.argv[2], { transports: ["websocket"] });
const status = (name, extra) => process.stderr.write(JSON.stringify({ status: name, ...extra }) + "\n");
socket.on("connect", () => status("live"));
socket.on("disconnect", (reason) => status("disconnected", { reason }));
socket.on("connect_error", (error) => status("connect_error", { reason: String(error && error.message) }));
socket.on("bench", (event) => process.stdout.write(JSON.stringify(event) + "\n"));
const stop = () => { socket.close(); process.exit(0); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
