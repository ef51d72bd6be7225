"""Peer client: the python-socketio client (threaded `socketio.Client`) with its default options.

Prints each "bench" event as one JSON line on stdout and link changes as {"status": ...} lines on stderr.
    python sio_client.py http://127.0.0.1:PORT
"""

import json
import signal
import sys

import socketio


def main() -> None:
    client = socketio.Client()
    out = sys.stdout

    def status(name: str, **extra) -> None:
        sys.stderr.write(json.dumps({"status": name, **extra}) + "\n")
        sys.stderr.flush()

    @client.event
    def connect():
        status("live")

    @client.event
    def disconnect(reason=None):
        status("disconnected", reason=str(reason))

    @client.event
    def connect_error(data):
        status("connect_error", reason=str(data))

    @client.on("bench")
    def bench(event):
        out.write(json.dumps(event) + "\n")
        out.flush()

    def stop(*_):
        client.disconnect()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    client.connect(sys.argv[1], transports=["websocket"])
    client.wait()


if __name__ == "__main__":
    main()
