"""Fixtures for the boto3 / aws CLI interop suite against a real `tessera serve`.

* `server`: one server for the whole session (tests use unique names, so they can share it).
* `new_server()`: a fresh server on its own data dir (durability tests kill and restart it).

The binary is `$TESSERA_BIN`, else `<repo>/target/debug/tessera`. Server output goes to a log
file in the test's temp dir; it is attached to the report of any failing test that used it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tessera_harness import TesseraServer  # noqa: E402


class ServerFactory:
    def __init__(self, base: Path):
        self.base = base
        self.servers: list[TesseraServer] = []

    def __call__(self, name: str = "tessera", start: bool = True) -> TesseraServer:
        s = TesseraServer(self.base / f"{name}-{len(self.servers)}", name=name)
        self.servers.append(s)
        if start:
            s.start()
        return s

    def close(self) -> None:
        for s in self.servers:
            s.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    s = TesseraServer(tmp_path_factory.mktemp("tessera-shared"), name="shared")
    try:
        s.start()
        yield s
    finally:
        s.close()


@pytest.fixture
def new_server(tmp_path):
    f = ServerFactory(tmp_path)
    try:
        yield f
    finally:
        f.close()


@pytest.fixture
def sts(server):
    return server.boto3_client("sts")


@pytest.fixture
def iam(server):
    return server.boto3_client("iam")


@pytest.fixture
def no_server_faults(server):
    """Fails the test if the server logged a 5xx ("request failed") while it ran."""
    offset = server.log_size()
    yield
    new = server.log_since(offset)
    markers = ("request failed", "panicked", "InternalFailure", "ServiceUnavailable")
    faults = [line for line in new.splitlines() if any(m in line for m in markers)]
    assert not faults, "server faults during the test:\n" + "\n".join(faults[:20])


def _servers_of(item) -> list[TesseraServer]:
    found: list[TesseraServer] = []
    for v in getattr(item, "funcargs", {}).values():
        if isinstance(v, TesseraServer):
            found.append(v)
        elif isinstance(v, ServerFactory):
            found.extend(v.servers)
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for s in _servers_of(item):
            rep.sections.append((f"tessera log ({s.name}, {s.log_path})", s.log_tail(150)))
