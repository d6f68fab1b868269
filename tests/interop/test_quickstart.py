"""The README's quick start, pasted as one block into a fresh shell, works to the end.

The block is taken from README.md as written and run with bash (`-e`: any failing line fails the
test) in an empty directory laid out like a fresh clone: `.ci/deps.sh`, and a `cargo` first on
PATH that answers `cargo build --release` by placing the binary under test at
`target/release/tessera` (building it again would only repeat the build this suite runs on).
Everything else runs as written: the server on its default port, the aws CLI installed with pip
into a new venv (versions held to the suite's pins with `PIP_CONSTRAINT`), and the role profile.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tessera_harness import REPO, tessera_bin

SECTION = "## Quick start with the aws CLI"


def quick_start_block() -> str:
    readme = (REPO / "README.md").read_text()
    at = readme.index(SECTION)
    m = re.search(r"```sh\n(.*?)```", readme[at:], re.S)
    assert m, "no sh block under the quick start heading"
    return m.group(1)


def test_the_block_is_what_the_readme_says():
    block = quick_start_block()
    assert block.startswith("bash .ci/deps.sh && cargo build --release\n")
    assert "AWS_ENDPOINT_URL=" in block and "--endpoint-url" not in block
    assert "source_profile" in block and "role_arn" in block


def test_quick_start_runs_to_the_end(tmp_path: Path):
    binary = tessera_bin()
    if not binary.exists():
        pytest.fail(f"tessera binary not found at {binary}")
    clone = tmp_path / "clone"
    (clone / ".ci").mkdir(parents=True)
    shutil.copy(REPO / ".ci" / "deps.sh", clone / ".ci" / "deps.sh")
    tools = tmp_path / "tools"
    tools.mkdir()
    cargo = tools / "cargo"
    cargo.write_text(
        "#!/bin/sh\n"
        '[ "$*" = "build --release" ] || { echo "unexpected: cargo $*" >&2; exit 2; }\n'
        f'mkdir -p target/release && cp "{binary}" target/release/tessera\n'
    )
    cargo.chmod(0o755)

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "TESSERA_", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(
        HOME=str(tmp_path / "home"),
        PATH=f"{tools}:{env.get('PATH', '/usr/bin:/bin')}",
        PIP_CONSTRAINT=str(REPO / "tests" / "interop" / "requirements.txt"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    (tmp_path / "home").mkdir()
    script = "set -euo pipefail\n" + quick_start_block()
    proc = subprocess.Popen(
        ["bash", "-c", script],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"quick start did not finish:\n{out}\nserver log:\n{log_of(clone)}")
    finally:
        stop_server(clone)
    assert proc.returncode == 0, f"quick start failed:\n{out}\nserver log:\n{log_of(clone)}"
    assert '"Arn": "arn:aws:iam::000000000000:root"' in out, out
    assert re.search(r'"Arn": "arn:aws:sts::000000000000:assumed-role/deploy/[^"]+"', out), out


def log_of(clone: Path) -> str:
    log = clone / "tessera.log"
    return log.read_text() if log.exists() else "(no tessera.log)"


def stop_server(clone: Path) -> None:
    """The block leaves the server running, as a user wants; the test stops it by its lock's pid."""
    lock = clone / "data" / "serve.lock"
    try:
        pid = int(re.search(r"\d+", lock.read_text()).group(0))
    except (OSError, AttributeError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
