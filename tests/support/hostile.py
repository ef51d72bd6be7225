"""Servers that misbehave on purpose, for robustness tests of our own client (the real peers are elsewhere).

Each runs an asyncio `websockets` server on 127.0.0.1 in a background thread, sends a scripted list of frames
to every client once it is connected, then keeps the connection open.
"""

import asyncio
import json
import threading


class HostileServer:
    def __init__(self, frames, socketio: bool):
        self.frames = frames
        self.socketio = socketio
        self.connections = 0
        self.received: list[str] = []
        self.port = None
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop = None
        threading.Thread(target=self._run, daemon=True).start()
        if not self._ready.wait(10):
            raise RuntimeError("hostile server did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self):
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self):
        import websockets

        self._stop = asyncio.Event()
        async with websockets.serve(self._handle, "127.0.0.1", 0, max_size=None) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    async def _handle(self, ws):
        self.connections += 1
        if self.socketio:
            await ws.send(json.dumps({"sid": "hostile", "upgrades": [], "pingInterval": 25000,
                                      "pingTimeout": 20000, "maxPayload": 1000000}).join(["0", ""]))
            connect = await ws.recv()
            self.received.append(connect)
            await ws.send('40{"sid":"s-hostile"}')
        for frame in self.frames:
            await ws.send(frame)
        try:
            async for message in ws:
                self.received.append(message)
        except Exception:
            pass

    def stop(self):
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
