"""The desktop app and `listen` never share a data directory (each would drop the other's alerts as duplicates);
a second desktop launch still just brings the first window back (test_desktop.py)."""

import os
import subprocess

import pytest

from conftest import binary
from support.listener import Listener

pytestmark = pytest.mark.desktop


def test_the_desktop_app_refuses_a_data_dir_that_listen_owns(servers, tmp_path):
    if not os.environ.get("DISPLAY"):
        pytest.fail("desktop tests need a display: run them through `make test-e2e`")
    server = servers("station-reports")
    listener = Listener(binary("alertdesk-cli"), "station-reports", server.url, token=server.login("officer"),
                        data_dir=tmp_path)
    try:
        listener.wait_status("live")
        env = {k: v for k, v in os.environ.items() if k not in ("ALERTDESK_TOKEN", "ALERTDESK_DATA_DIR")}
        desktop = subprocess.run([str(binary("alertdesk")), "--data-dir", str(tmp_path)], capture_output=True,
                                 text=True, timeout=60, env=env)
        assert desktop.returncode == 2, desktop.stderr
        assert f"in use by alertdesk-cli listen (pid {listener.proc.pid})" in desktop.stderr, desktop.stderr
        # The listener keeps the data directory and its link.
        assert listener.proc.poll() is None
        log = (tmp_path / "logs" / "alertdesk.log").read_text()
        assert "in use by alertdesk-cli listen" in log
    finally:
        assert listener.stop() == 0
