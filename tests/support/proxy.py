"""A TCP proxy for link-failure tests: forward, black-hole (stop forwarding but keep the sockets open, like a
half-open link after sleep), cut (close every link), refuse new connections (accept and close them at once, as a
restarting server's front does), or answer every new connection `503 Service Unavailable` (a gateway whose
backend is down). Loopback only."""

import select
import socket
import threading


class Proxy:
    def __init__(self, upstream_port: int):
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.mode = "forward"
        self.accepted = 0
        self.refused = 0  # connection attempts refused
        self.links_cut = 0  # live links closed by `cut`
        self._links: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            if self.mode in ("refuse", "503"):
                self.refused += 1
                if self.mode == "503":
                    try:
                        client.settimeout(2)
                        client.recv(65536)
                        client.sendall(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n"
                                       b"connection: close\r\n\r\n")
                    except OSError:
                        pass
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._links.append((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket):
        peers = {a: b, b: a}
        try:
            while not self._closed:
                if self.mode == "blackhole":
                    # Read nothing, send nothing, close nothing: the peer sees silence.
                    threading.Event().wait(0.05)
                    continue
                readable, _, _ = select.select([a, b], [], [], 0.05)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):  # ValueError: a socket closed by `cut` under select
            return
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass

    def set_mode(self, mode: str) -> None:
        assert mode in ("forward", "blackhole", "cut", "refuse", "503")
        if mode == "cut":
            self._close_links()
            self.mode = "forward"
            return
        self.mode = mode

    def _close_links(self) -> None:
        with self._lock:
            links, self._links = self._links, []
        self.links_cut += sum(1 for a, _ in links if a.fileno() != -1)
        for pair in links:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass

    def down(self, how: str = "refuse") -> None:
        """The server is gone for the client: every live link is cut and new connections are refused (accepted
        and closed; with `how="503"` answered 503; with `how="closed"` nothing listens on the port, so the
        client's connect is refused by the system), until `up()`."""
        if how == "closed":
            self.listener.close()
            how = "refuse"
        self.mode = how
        self._close_links()

    def up(self) -> None:
        """Back after `down()`: connections are forwarded again (on the same port)."""
        self.mode = "forward"
        if self.listener.fileno() == -1:
            self.listener = socket.create_server(("127.0.0.1", self.port))
            threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self._closed = True
        self.listener.close()
        self.set_mode("cut")
