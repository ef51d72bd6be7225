"""`alertdesk demo` (either binary) with `listen --profile demo` of the same binary: every alert kind end to end."""

import signal
import socket
import tempfile
import time

from conftest import headless_env

def pick(alert: dict) -> tuple:
    return alert["kind"], alert["priority"], alert["title"], alert["assigned_to_me"]


def test_reports_assignments_and_updates_reach_listen(demos, listen):
    demo = demos(listen.binary)
    demo.wait_line(lambda l: l.startswith("Press Ctrl-C"), 5)
    printed = "\n".join(demo.printed)
    assert f"alertdesk login --profile demo --server {demo.url} --username officer" in printed
    assert f"alertdesk listen --profile demo --server {demo.url}" in printed
    assert "ALERTDESK_TOKEN=" in printed and "dispatcher" in printed

    officer = demo.login("officer")
    listener = listen("demo", demo, token=officer)
    listener.wait_status("live")

    sent = time.monotonic()
    report = demo.post("/api/reports", {"category": "Missing person", "description": "Boy, 8, not home from school",
                                        "priority": "critical", "location": "12 Elm St", "station_id": 4},
                       token=officer)
    assert report.status_code == 201, report.text
    report = report.json()
    arrived, alert = listener.next_alert_timed()
    assert arrived - sent < 1.0, f"alert took {arrived - sent:.3f}s"
    assert pick(alert) == ("report", "critical", "Missing person: Boy, 8, not home from school", False)
    assert alert["id"] == f"demo-{report['id']}"
    assert (alert["profile"], alert["event"]) == ("demo", "new_report")
    assert alert["body"] == "Station 4 · 12 Elm St"

    # Another station's report never reaches the station 4 officer.
    dispatcher = demo.login("dispatcher")
    assert demo.post("/api/reports", {"category": "Noise complaint", "description": "Party", "priority": "low",
                                      "location": "3 Oak Ave", "station_id": 7}, token=dispatcher).status_code == 201

    assigned = demo.post(f"/api/reports/{report['id']}/assign", {"assigned_to": "officer"}, token=dispatcher)
    assert assigned.status_code == 200, assigned.text
    alert = listener.next_alert()
    assert pick(alert) == ("assignment", "critical", "Assigned: Missing person: Boy, 8, not home from school", True)
    assert alert["id"] == f"demo-{report['id']}"

    ack = demo.post(f"/api/reports/{report['id']}/acknowledge", token=officer)
    assert ack.status_code == 200 and ack.json()["acknowledged_by"] == "officer", ack.text
    alert = listener.next_alert()
    # An update keeps the record's kind (still my assignment) and says its status.
    assert (alert["kind"], alert["id"], alert["assigned_to_me"]) == ("assignment", f"demo-{report['id']}", True)
    assert alert["title"].startswith("Update (acknowledged): Missing person")
    assert alert["status"] == "assigned"
    listener.no_alert(0.3)


def test_simulated_alerts_arrive(demos, listen):
    demo = demos(listen.binary, rate=120)
    listener = listen("demo", demo, token=demo.login("officer"))
    listener.wait_status("live")
    alert = listener.next_alert(timeout=10)
    assert alert["profile"] == "demo" and alert["id"].startswith("demo-"), alert
    assert alert["kind"] in ("report", "assignment", "update"), alert
    assert alert["data"]["report"]["station_id"] == 4, alert


def test_a_bad_token_is_rejected(demos, listen):
    demo = demos(listen.binary)
    listener = listen("demo", demo, token="0123456789abcdef0123456789abcdef")
    assert listener.wait_exit(timeout=20) == 3
    assert any("rejected the credentials" in line for line in listener.stderr_lines), listener.stderr_lines


def test_demo_usage(cli):
    result = cli("demo", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Run the built-in demo backend")
    assert f"Usage: {cli.name} demo" in result.stdout
    assert "--port <P>" in result.stdout and "--rate <PER_MIN>" in result.stdout
    for bad in (["--rate", "-1"], ["--rate", "often"], ["--port", "70000"]):
        result = cli("demo", *bad)
        assert result.returncode == 2, (bad, result.stderr)


def test_a_taken_port_is_one_clear_line(cli):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with tempfile.TemporaryDirectory() as data_dir:
            result = cli("demo", "--port", str(port), env=headless_env(ALERTDESK_DATA_DIR=data_dir))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {port}" in lines[0] and "in use" in lines[0], result.stderr
    assert result.stdout == ""


def test_ctrl_c_stops_it_with_exit_0(demos, listen):
    demo = demos(listen.binary, rate=600)
    demo.proc.send_signal(signal.SIGINT)
    assert demo.proc.wait(timeout=10) == 0, demo.stderr_path.read_text()
