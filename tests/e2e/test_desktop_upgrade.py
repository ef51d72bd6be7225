"""Upgrading from a version with the old application id (`app.alertdesk.desktop`) loses nothing: the desktop app on
the default XDG directories moves the web view's files from the old id's directory under its data directory."""

import os
import subprocess

import pytest

from conftest import binary
from support.desktop import wait_until

pytestmark = pytest.mark.desktop


def test_the_old_app_ids_web_view_files_move_under_the_data_directory(tmp_path):
    if not os.environ.get("DISPLAY"):
        pytest.fail("desktop tests need a display: run them through `make test-e2e`")
    home = tmp_path / "home"
    xdg = {"XDG_CONFIG_HOME": home / ".config", "XDG_DATA_HOME": home / ".local/share",
           "XDG_STATE_HOME": home / ".local/state"}
    legacy = xdg["XDG_DATA_HOME"] / "app.alertdesk.desktop"
    (legacy / "localstorage").mkdir(parents=True)
    (legacy / "localstorage" / "kept.txt").write_text("from the old version")
    env = {k: v for k, v in os.environ.items() if k not in ("ALERTDESK_TOKEN", "ALERTDESK_DATA_DIR")}
    env.update({k: str(v) for k, v in xdg.items()}, HOME=str(home))
    webview = xdg["XDG_DATA_HOME"] / "alertdesk" / "webview"
    app = subprocess.Popen([str(binary("alertdesk"))], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: (webview / "localstorage" / "kept.txt").exists(), 30, "the web view files to move")
        assert (webview / "localstorage" / "kept.txt").read_text() == "from the old version"
        assert not legacy.exists()
        log = xdg["XDG_STATE_HOME"] / "alertdesk" / "logs" / "alertdesk.log"
        wait_until(lambda: "moved the web view's files under the data directory" in log.read_text(), 10,
                   "the move to be logged")
        assert app.poll() is None, "the app did not keep running"
    finally:
        app.terminate()
        try:
            app.wait(15)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait(10)
    # Nothing new is named after either id: WebKit used the data directory's web view files.
    assert sorted(p.name for p in xdg["XDG_DATA_HOME"].iterdir()) == ["alertdesk"]
