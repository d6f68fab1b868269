"""Tripwires for the SAML suites: a loopback listener that counts every connection made to it
(SSRF through entities, Reference URIs, RetrievalMethod, XSLT) and a bait file watched with
Linux inotify for any open or read by any process (XXE and file Reference URIs)."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import socket
import struct
import threading
import time
from pathlib import Path


class Listener:
    """A TCP listener on 127.0.0.1 that answers any HTTP request with `body` and records each
    accepted connection and the request line it sent (if any)."""

    def __init__(self, body: bytes = b"<x/>"):
        self.body = body
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list[bytes] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="ssrf-listener", daemon=True)
        self._thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.connections)

    def requests_since(self, start: int) -> list[bytes]:
        with self._lock:
            return list(self.connections[start:])

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            with conn:
                conn.settimeout(2)
                line = b""
                try:
                    line = conn.recv(4096).split(b"\r\n", 1)[0]
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: "
                                 + str(len(self.body)).encode() + b"\r\nConnection: close\r\n\r\n" + self.body)
                except OSError:
                    pass
                with self._lock:
                    self.connections.append(line or b"(connection without a request)")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


# inotify(7): IN_ACCESS | IN_OPEN | IN_CLOSE_NOWRITE report any process opening or reading the file.
IN_ACCESS = 0x00000001
IN_CLOSE_NOWRITE = 0x00000010
IN_OPEN = 0x00000020
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
_EVENT = struct.Struct("iIII")


class FileWatch:
    """Watches one file for opens and reads by any process on this machine, from now on."""

    def __init__(self, path: Path):
        self.path = Path(path)
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self.fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        wd = libc.inotify_add_watch(self.fd, str(self.path).encode(), IN_ACCESS | IN_OPEN | IN_CLOSE_NOWRITE)
        if wd < 0:
            os.close(self.fd)
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {self.path}")

    def events(self, settle: float = 0.3) -> list[int]:
        """The event masks seen so far (after waiting `settle` seconds for stragglers)."""
        time.sleep(settle)
        masks: list[int] = []
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    return masks
                raise
            off = 0
            while off + _EVENT.size <= len(buf):
                _wd, mask, _cookie, name_len = _EVENT.unpack_from(buf, off)
                masks.append(mask)
                off += _EVENT.size + name_len

    def close(self) -> None:
        os.close(self.fd)
