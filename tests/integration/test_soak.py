"""The short soak (`make soak` runs the full one): a compressed shift for `listen --notify` and the desktop app,
in a private network namespace with its own display and session bus. See tests/soak/soak.py for what it does and
checks: zero loss, zero duplicates, flat file descriptors and threads, memory within bounds."""

import json
import os
import pathlib
import subprocess

import pytest

from conftest import BIN_DIR, ROOT


def namespace_command() -> list[str]:
    """`unshare -n` as root, or with a user namespace of its own otherwise."""
    for command in (["unshare", "-n"], ["unshare", "-rn"]):
        if subprocess.run([*command, "true"], capture_output=True, timeout=10).returncode == 0:
            return command
    pytest.fail("cannot make a private network namespace here (unshare -n / -rn)")


def test_a_short_shift(tmp_path):
    out = tmp_path / "soak.json"
    python = ROOT / ".venv" / "bin" / "python"
    run = subprocess.run(
        [*namespace_command(), str(ROOT / "tests" / "soak" / "in-namespace"), str(python),
         str(ROOT / "tests" / "soak" / "soak.py"), "--scale", "short", "--json", str(out)],
        capture_output=True, text=True, timeout=600, env=dict(os.environ, ALERTDESK_BIN_DIR=str(BIN_DIR)))
    assert out.exists(), run.stderr[-4000:]
    figures = json.loads(out.read_text())
    for name in ("listen", "desktop"):
        client = figures["clients"][name]
        assert client["missing"] == 0 and client["wrong_state"] == 0, client
        assert client["delivered_twice"] == 0, client
        assert client["ok"], client
    assert figures["clients"]["listen"]["restarts_after_token_expiry"] >= 1, figures
    assert run.returncode == 0, run.stderr[-4000:]
