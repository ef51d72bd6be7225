"""The README's first command, headless: the demo backend plus the listener print live alerts within 30 s."""

import os
import re
import signal
import subprocess
import threading
import time

from conftest import BIN_DIR, ROOT, headless_env


def test_run_app_headless_shows_demo_alerts(tmp_path):
    env = headless_env(ALERTDESK_DATA_DIR=str(tmp_path), HOME=str(tmp_path))
    proc = subprocess.Popen([str(ROOT / "scripts" / "run-app"), str(BIN_DIR)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    lines = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    deadline = time.monotonic() + 30
    alert = re.compile(r"^\d\d:\d\d:\d\d  (LOW|NORMAL|HIGH|CRITICAL) .*\[demo-\d+\]$")
    try:
        while time.monotonic() < deadline and not any(alert.match(line.rstrip("\n")) for line in list(lines)):
            time.sleep(0.2)
        text = "".join(lines)
        assert "running the headless listener instead" in text, text
        assert any(alert.match(line.rstrip("\n")) for line in lines), text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
    # Nothing it started is left running.
    leftovers = subprocess.run(["pgrep", "-f", f"--data-dir {tmp_path}"], capture_output=True, text=True).stdout
    assert leftovers.strip() == "", leftovers
