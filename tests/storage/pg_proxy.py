"""A TCP proxy in front of the test PostgreSQL server that can stall or go down (helpers).

Modes of the whole proxy: ``forward`` relays bytes both ways; ``stall`` keeps every
connection open (new ones are accepted too) but relays nothing, like a hung server,
pooler or proxy whose kernel still acknowledges the bytes; ``down`` refuses new
connections and resets the open ones, like a dead server. :meth:`Proxy.stall_open`
stalls only the connections open now (new ones work), optionally only the replies
(the server gets and commits the request, the client never hears back).

Threads and blocking sockets, so it works the same under any event loop of the test.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Proxy", "proxied"]

_POLL = 0.02


class _Link:
    """One relayed connection: a client socket, its server socket, and its stalls."""

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client = client
        self.server = server
        self.stalled = {client: False, server: False}  # by the socket it reads from

    def reset(self) -> None:
        _reset(self.client)
        _reset(self.server)


class Proxy:
    """Relay ``127.0.0.1:<port>`` to ``upstream``; :attr:`mode` says how."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self._upstream = upstream
        self._mode = "forward"
        self._changed = threading.Condition()
        self._links: set[_Link] = set()
        self.accepted = 0
        self._listener = self._listen(0)
        self.port: int = self._listener.getsockname()[1]
        self._start(self._accept, self._listener)

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        assert mode in ("forward", "stall", "down"), mode
        with self._changed:
            previous, self._mode = self._mode, mode
            if mode != "stall":
                for link in self._links:
                    link.stalled = dict.fromkeys(link.stalled, False)
            self._changed.notify_all()
        if mode == "down" and previous != "down":
            self._listener.close()
            for link in list(self._links):
                link.reset()
            self._links.clear()
        elif mode != "down" and previous == "down":
            self._listener = self._listen(self.port)
            self._start(self._accept, self._listener)

    def stall_open(self, *, replies_only: bool = False) -> None:
        """Stall the connections open now (or only their replies); new ones work."""
        with self._changed:
            for link in self._links:
                link.stalled[link.server] = True
                if not replies_only:
                    link.stalled[link.client] = True

    def close(self) -> None:
        self.mode = "down"

    @staticmethod
    def _listen(port: int) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        return listener

    @staticmethod
    def _start(target: object, *args: object) -> None:
        threading.Thread(target=target, args=args, daemon=True).start()  # type: ignore[arg-type]

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed: the proxy went down
            if self._mode == "down":
                _reset(client)
                continue
            try:
                server = socket.create_connection(self._upstream)
            except OSError:
                _reset(client)
                continue
            link = _Link(client, server)
            self._links.add(link)
            self.accepted += 1
            self._start(self._pump, link, client, server)
            self._start(self._pump, link, server, client)

    def _held(self, link: _Link, source: socket.socket) -> bool:
        return self._mode == "stall" or link.stalled[source]

    def _pump(self, link: _Link, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                with self._changed:
                    while self._held(link, source):
                        self._changed.wait(_POLL)
                if self._mode == "down":
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._links.discard(link)
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.close()


def _reset(sock: socket.socket) -> None:
    """Close with a RST, like a peer that vanished."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


@contextmanager
def proxied(url: str) -> Iterator[tuple[Proxy, str]]:
    """A proxy in front of the server of ``url``, and ``url`` pointing through it."""
    parts = urllib.parse.urlsplit(url)
    proxy = Proxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    user, at, _ = parts.netloc.rpartition("@")
    try:
        yield (
            proxy,
            urllib.parse.urlunsplit(parts._replace(netloc=f"{user}{at}127.0.0.1:{proxy.port}")),
        )
    finally:
        proxy.close()
