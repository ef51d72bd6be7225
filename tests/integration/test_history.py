"""`alertdesk history` and `alertdesk mark-read` over a history written by a real `listen` run."""

import json
import subprocess

from conftest import BINARIES, binary, headless_env

import pytest


def run(name, data_dir, *args):
    return subprocess.run([str(binary(name)), *args], capture_output=True, text=True, timeout=60,
                          env=headless_env(ALERTDESK_DATA_DIR=str(data_dir)))


@pytest.fixture
def filled(listen, servers, tmp_path):
    """Three reports received by `listen` into the history under tmp_path."""
    server = servers("station-reports")
    listener = listen("station-reports", server, token=server.login("officer"), data_dir=tmp_path)
    listener.wait_status("live")
    server.wait_clients(1)
    ids = []
    for i, priority in enumerate(["low", "high", "critical"]):
        r = server.post("/api/reports", {"station_id": 4, "category": "Theft", "description": f"case {i}",
                                         "priority": priority, "location": "Main St"}).json()
        ids.append(f"report-{r['id']}")
        assert listener.next_alert()["id"] == ids[-1]
    assert listener.stop() == 0
    return tmp_path, ids, server.url


@pytest.mark.parametrize("name", BINARIES)
def test_history_lists_filters_and_marks_read(filled, name):
    data_dir, ids, url = filled
    result = run(name, data_dir, "history", "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == list(reversed(ids)), "newest first"
    assert {r["server"] for r in rows} == {url}
    assert all(r["read_at"] is None and r["source"] == "live" for r in rows)
    assert rows[0]["priority"] == "critical" and rows[0]["title"] == "Theft: case 2"

    assert len(run(name, data_dir, "history", "--json", "--limit", "2").stdout.splitlines()) == 2
    assert run(name, data_dir, "history", "--json", "--profile", "ticketing").stdout == ""
    assert len(run(name, data_dir, "history", "--json", "--since", "1h").stdout.splitlines()) == 3
    assert run(name, data_dir, "history", "--json", "--since", "2099-01-01T00:00:00Z").stdout == ""
    text = run(name, data_dir, "history").stdout.splitlines()
    assert len(text) == 3 and all(line.startswith("* ") for line in text), text

    result = run(name, data_dir, "mark-read", ids[0])
    assert result.returncode == 0 and f"Marked {ids[0]} read." in result.stdout, result.stderr
    unread = [json.loads(line)["id"] for line in run(name, data_dir, "history", "--json", "--unread").stdout.splitlines()]
    assert unread == [ids[2], ids[1]]
    result = run(name, data_dir, "mark-read", "--all")
    assert result.returncode == 0 and "Marked 2 alerts read." in result.stdout
    assert run(name, data_dir, "history", "--unread").stdout == ""


@pytest.mark.parametrize("name", BINARIES)
def test_bad_input_exits_2(filled, name):
    data_dir, _, _ = filled
    for args, says in [(("mark-read", "no-such-id"), "no-such-id"), (("history", "--since", "yesterday"), "yesterday"),
                       (("mark-read",), "required"), (("history", "--server", "ftp://x"), "unsupported scheme")]:
        result = run(name, data_dir, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert says in result.stderr, (args, result.stderr)


@pytest.mark.parametrize("name", BINARIES)
def test_a_damaged_history_is_kept_aside(name, tmp_path):
    (tmp_path / "data").mkdir(parents=True)
    damaged = tmp_path / "data" / "history.db"
    damaged.write_bytes(b"this is not a database" * 100)
    result = run(name, tmp_path, "history")
    assert result.returncode == 0, result.stderr
    assert "kept aside" in result.stderr
    kept = list((tmp_path / "data").glob("history.db.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == b"this is not a database" * 100
    again = run(name, tmp_path, "history")
    assert again.returncode == 0 and again.stderr == "", "a fresh history, no crash loop"


def test_retention_setting_prunes_the_oldest(filled, listen, servers):
    data_dir, ids, _ = filled
    (data_dir / "config").mkdir(exist_ok=True)
    (data_dir / "config" / "settings.toml").write_text("[history]\nmax_alerts = 2\n")
    server = servers("station-reports")
    listener = listen("station-reports", server, token=server.login("officer"), data_dir=data_dir)
    listener.wait_status("live")
    assert listener.stop() == 0
    kept = [json.loads(line)["id"] for line in run("alertdesk-cli", data_dir, "history", "--json").stdout.splitlines()]
    assert kept == [ids[2], ids[1]], kept
