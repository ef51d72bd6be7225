"""The command line, identical in both binaries, run with no display and no session bus."""

import json

from conftest import workspace_version

SUBCOMMANDS = ("listen", "history", "mark-read", "acknowledge", "login", "logout", "profile", "demo", "paths", "settings")


def test_version_matches_the_workspace(cli):
    result = cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{cli.name} {workspace_version()}"


def test_help_lists_every_subcommand(cli):
    result = cli("--help")
    assert result.returncode == 0, result.stderr
    for sub in SUBCOMMANDS:
        assert f"  {sub} " in result.stdout, f"{sub} missing from:\n{result.stdout}"
    assert "--data-dir <DIR>" in result.stdout


def test_every_subcommand_has_help(cli):
    for sub in SUBCOMMANDS:
        result = cli(sub, "--help")
        assert result.returncode == 0, f"{sub}: {result.stderr}"
        assert result.stdout.strip(), f"{sub}: empty help"
        assert f"Usage: {cli.name} {sub}" in result.stdout


def test_bad_usage_exits_2(cli):
    result = cli("--no-such-flag")
    assert result.returncode == 2
    assert "--no-such-flag" in result.stderr
    result = cli("no-such-command")
    assert result.returncode == 2


def test_data_dir_moves_everything(cli, tmp_path):
    from conftest import headless_env

    env = headless_env(XDG_CONFIG_DIRS=f"{tmp_path / 'xdg'}:relative/ignored")
    result = cli("paths", "--json", "--data-dir", str(tmp_path), env=env)
    assert result.returncode == 0, result.stderr
    paths = json.loads(result.stdout)
    assert paths == {
        "config_dir": str(tmp_path / "config"),
        "data_dir": str(tmp_path / "data"),
        "log_dir": str(tmp_path / "logs"),
        # The department's directories do not move with the data directory.
        "system_dirs": [str(tmp_path / "xdg" / "alertdesk"), "/etc/alertdesk"],
    }


def test_data_dir_from_the_environment(cli, tmp_path):
    from conftest import headless_env

    result = cli("paths", "--json", env=headless_env(ALERTDESK_DATA_DIR=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["data_dir"] == str(tmp_path / "data")


def test_default_paths_follow_xdg(cli, tmp_path):
    from conftest import headless_env

    env = headless_env(
        XDG_CONFIG_HOME=str(tmp_path / "c"), XDG_DATA_HOME=str(tmp_path / "d"), XDG_STATE_HOME=str(tmp_path / "s")
    )
    paths = json.loads(cli("paths", "--json", env=env).stdout)
    assert paths["config_dir"] == str(tmp_path / "c" / "alertdesk")
    assert paths["data_dir"] == str(tmp_path / "d" / "alertdesk")
    assert paths["log_dir"] == str(tmp_path / "s" / "alertdesk" / "logs")


def test_settings_defaults_and_overrides(cli, tmp_path):
    result = cli("settings", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "close_to_tray = true" in result.stdout
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.toml").write_text("[window]\nstart_hidden = true\n")
    result = cli("settings", "--data-dir", str(tmp_path))
    assert "start_hidden = true" in result.stdout


def test_bad_settings_name_file_and_line(cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[log]\nlevel = "info"\nkeep_fiels = 3\n')
    result = cli("settings", str(bad))
    assert result.returncode == 2
    assert str(bad) in result.stderr
    assert "line 3" in result.stderr and "keep_fiels" in result.stderr
    assert result.stdout == ""


def test_cli_binary_without_command_is_a_usage_error(tmp_path):
    from conftest import binary, headless_env
    import subprocess

    result = subprocess.run([str(binary("alertdesk-cli"))], capture_output=True, text=True, env=headless_env())
    assert result.returncode == 2
    assert "a command is required" in result.stderr


def test_desktop_connect_flags_do_not_mix_with_commands(cli):
    """`--profile/--server` before a command belong to the desktop app; both binaries refuse the mix (exit 2)."""
    mixed = cli("--profile", "demo", "--server", "http://127.0.0.1:9", "listen", "--profile", "demo")
    assert mixed.returncode == 2, mixed.stderr
    assert "put them after the command" in mixed.stderr
    if cli.name == "alertdesk-cli":
        alone = cli("--profile", "demo", "--server", "http://127.0.0.1:9")
        assert alone.returncode == 2
        assert "desktop app, which is `alertdesk`" in alone.stderr
        assert "--profile" not in cli("--help").stdout.split("Commands:")[0]
