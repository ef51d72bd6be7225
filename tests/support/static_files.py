"""A static file server on 127.0.0.1 for update tests: serves `files` (path -> bytes), 404 for anything else."""

import http.server
import threading


def serve(files: dict[str, bytes]) -> tuple[str, http.server.ThreadingHTTPServer]:
    """Starts serving `files` (read at each request, so it may be filled after the URL is known); returns the
    base URL and the server (call `shutdown()` at the end)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server
