"""`alertdesk settings`: the department's system files merged under the user's, locked keys, where each value came
from, and `settings set` / `unset` changing the user's file. The department's directory is a temporary one, named
by XDG_CONFIG_DIRS (as a department's would be /etc/xdg or /etc/alertdesk)."""

import json
import stat

from conftest import headless_env

DEPARTMENT = """# Station 4's settings, for every dispatcher.
locked = ["alerting.quiet_hours", "updates"]

[alerting]
volume = 60
quiet_hours = { from = "23:00", to = "05:00" }
"""

USER = """# Mine.
[alerting]
volume = 70 # loud room
quiet_hours = { from = "20:00", to = "08:00" }
"""


def department(tmp_path, text=DEPARTMENT):
    """A department directory holding `text` as its settings.toml; returns the environment naming it."""
    (tmp_path / "xdg" / "alertdesk").mkdir(parents=True, exist_ok=True)
    (tmp_path / "xdg" / "alertdesk" / "settings.toml").write_text(text)
    return headless_env(XDG_CONFIG_DIRS=str(tmp_path / "xdg"), ALERTDESK_DATA_DIR=str(tmp_path / "data"))


def user_file(tmp_path, text=USER):
    path = tmp_path / "data" / "config" / "settings.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def line(output: str, key: str) -> str:
    return next(l for l in output.splitlines() if l.startswith(f"{key} = ") or l.startswith(f"# {key} "))


def test_every_value_with_its_source_and_locked_keys(cli, tmp_path):
    env = department(tmp_path)
    mine = user_file(tmp_path)
    system = tmp_path / "xdg" / "alertdesk" / "settings.toml"

    result = cli("settings", env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert line(out, "alerting.volume").endswith(f"# user ({mine})"), out
    assert line(out, "alerting.quiet_hours").startswith('alerting.quiet_hours = { from = "23:00", to = "05:00" }')
    assert line(out, "alerting.quiet_hours").endswith(f"# locked ({system})"), out
    assert line(out, "updates.enabled").endswith(f"# locked ({system}), default value"), out
    assert line(out, "alerting.repeat_every_secs").endswith("# default"), out
    # The user's value for a locked key is ignored, and said so once.
    assert result.stderr.count("alerting.quiet_hours is set by your department") == 1, result.stderr

    result = cli("settings", "--json", env=env)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    by_key = {s["key"]: s for s in shown["settings"]}
    assert by_key["alerting.volume"] == {"key": "alerting.volume", "value": 70, "source": "user", "file": str(mine),
                                         "locked": None}
    assert by_key["alerting.quiet_hours"]["value"] == {"from": "23:00", "to": "05:00"}
    assert by_key["alerting.quiet_hours"]["source"] == "system"
    assert by_key["alerting.quiet_hours"]["locked"] == str(system)
    assert by_key["window.autostart"] == {"key": "window.autostart", "value": False, "source": "default",
                                          "file": None, "locked": None}
    assert {"path": str(system), "whose": "system", "present": True} in shown["files"]
    assert len(shown["ignored"]) == 1


def test_set_and_unset_change_only_the_users_file(cli, tmp_path):
    env = department(tmp_path)
    mine = user_file(tmp_path)

    result = cli("settings", "set", "alerting.volume", "65", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("alerting.volume = 65"), result.stdout
    text = mine.read_text()
    assert "volume = 65 # loud room" in text and text.startswith("# Mine.\n"), text
    assert stat.S_IMODE(mine.stat().st_mode) == 0o600

    result = cli("settings", "set", "window.theme", "dark", env=env)
    assert result.returncode == 0, result.stderr
    assert '[window]\ntheme = "dark"\n' in mine.read_text()

    # Removed from the user's file, the department's value applies again.
    result = cli("settings", "unset", "alerting.volume", env=env)
    assert result.returncode == 0, result.stderr
    assert "alerting.volume = 60" in result.stdout and "# system (" in result.stdout, result.stdout
    assert "volume" not in mine.read_text()


def test_locked_invalid_and_unknown_are_refused_and_nothing_is_written(cli, tmp_path):
    env = department(tmp_path)
    mine = user_file(tmp_path, "[alerting]\nvolume = 70\n")
    for args, needle in [
        (("alerting.quiet_hours", '{ from = "21:00", to = "06:00" }'), "is set by your department"),
        (("updates.check_every_hours", "2"), "is set by your department"),
        (("alerting.volume", "101"), "alerting.volume is 101"),
        (("alerting.volume", "0"), "confirm_silence_critical"),
        (("alerting.on_duty", "maybe"), "is not a value"),
        (("alerting.volum", "3"), "alerting.volum is not a setting"),
    ]:
        result = cli("settings", "set", *args, env=env)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert needle in result.stderr, (args, result.stderr)
    assert mine.read_text() == "[alerting]\nvolume = 70\n"
    assert cli("settings", "set", "--help", env=env).returncode == 0


def test_a_broken_system_file_is_named_with_its_line(cli, tmp_path):
    env = department(tmp_path, "[alerting]\nvolume = 60\nvolum = 3\n")
    result = cli("settings", env=env)
    assert result.returncode == 2
    system = tmp_path / "xdg" / "alertdesk" / "settings.toml"
    assert f"{system}: line 3, column 1" in result.stderr and "volum" in result.stderr, result.stderr
    assert result.stdout == ""

    env = department(tmp_path, 'locked = ["alerting.quiet"]\n')
    result = cli("settings", env=env)
    assert result.returncode == 2
    assert "locked names \"alerting.quiet\", which is not a setting" in result.stderr, result.stderr


def test_the_user_cannot_lock(cli, tmp_path):
    env = department(tmp_path, "")
    user_file(tmp_path, 'locked = ["alerting.volume"]\n')
    result = cli("settings", env=env)
    assert result.returncode == 2
    assert "`locked` belongs in the department's system files" in result.stderr, result.stderr
