"""A TCP proxy on a free local port in front of PostgreSQL, whose connections a test cuts:
all at once (as a network failure or a server restart would), the moment the client
sends a given statement (say, the start of a COPY), so a fault lands at a chosen step,
or for a while (down() .. up()), as an outage."""
import selectors
import socket
import threading

from tests.helpers import free_port


class CuttableProxy:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._pairs: dict = {}  # socket -> its partner
        self._lock = threading.Lock()
        self._trigger: bytes | None = None
        self.cuts = 0  # connections cut by a trigger
        self._stopping = False
        self.refusing = False  # down(): the server is "gone", new connections closed at once
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._listener, selectors.EVENT_READ, "accept")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def url(self, database_url: str) -> str:
        import sqlalchemy as sa
        return sa.make_url(database_url).set(host="127.0.0.1", port=self.port) \
            .render_as_string(False)

    def cut_when(self, marker: bytes) -> None:
        """Cut the next connection that sends marker (before it reaches the server)."""
        self._trigger = marker

    def cut_all(self) -> int:
        with self._lock:
            socks = list(self._pairs)
        for s in socks:
            self._close(s)
        return len(socks) // 2

    def down(self) -> None:
        """The database goes away: every connection cut, new ones closed on arrival."""
        self.refusing = True
        self.cut_all()

    def up(self) -> None:
        self.refusing = False

    def close(self) -> None:
        self._stopping = True
        self.cut_all()
        self._thread.join(5)
        self._listener.close()

    def _close(self, s) -> None:
        with self._lock:
            partner = self._pairs.pop(s, None)
            if partner is not None:
                self._pairs.pop(partner, None)
        for one in (s, partner):
            if one is None:
                continue
            try:
                self._sel.unregister(one)
            except (KeyError, ValueError):
                pass
            try:
                one.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            one.close()

    def _run(self) -> None:
        while not self._stopping:
            for key, _ in self._sel.select(timeout=0.1):
                if key.data == "accept":
                    client, _ = self._listener.accept()
                    if self.refusing:
                        client.close()
                        continue
                    server = socket.create_connection(self.upstream)
                    with self._lock:
                        self._pairs[client], self._pairs[server] = server, client
                    self._sel.register(client, selectors.EVENT_READ, "client")
                    self._sel.register(server, selectors.EVENT_READ, "server")
                    continue
                s = key.fileobj
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                with self._lock:
                    partner = self._pairs.get(s)
                if not data or partner is None:
                    self._close(s)
                    continue
                if key.data == "client" and self._trigger and self._trigger in data:
                    self._trigger = None
                    self.cuts += 1
                    self._close(s)
                    continue
                try:
                    partner.sendall(data)
                except OSError:
                    self._close(s)
