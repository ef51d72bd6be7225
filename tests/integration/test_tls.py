"""wss:// links verify the server's certificate: a self-signed certificate is refused, never trusted silently."""

import asyncio
import ssl
import subprocess
import threading

import pytest


@pytest.fixture
def tls_server(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    state = {"connections": 0}
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    stop = None

    async def handler(ws):
        state["connections"] += 1
        await ws.send('{"type":"new_report","report":{"id":1,"category":"Forged","description":"x"}}')
        await asyncio.sleep(5)

    async def serve():
        nonlocal stop
        import websockets

        stop = asyncio.Event()
        async with websockets.serve(handler, "127.0.0.1", 0, ssl=context) as server:
            state["port"] = server.sockets[0].getsockname()[1]
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield state
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)


class Https:
    def __init__(self, port):
        self.url = f"https://127.0.0.1:{port}"


def test_self_signed_certificate_is_refused(listen, tls_server):
    listener = listen("station-reports", Https(tls_server["port"]), token="t")
    status = listener.wait_status("reconnecting", timeout=15)
    assert "certificate" in status["reason"].lower(), status
    listener.no_alert(0.5)
    assert tls_server["connections"] == 0, "a WebSocket session was opened over an unverified certificate"
    assert not [s for s in listener.statuses if s["status"] == "live"]
