"""No log level records a token: `listen` at ALERTDESK_LOG=trace, with the token in the WebSocket query
(station-reports, `/ws?token=`) and in the Authorization header of the upgrade and of REST calls (ticketing),
through live alerts, a reconnect and a REST catch-up. Every log file and stderr are searched for the token."""

import pathlib
import time

TRACE = {"ALERTDESK_LOG": "trace"}


def everything_logged(listener) -> str:
    """Every file under the listener's log directory, and its stderr."""
    logs = pathlib.Path(listener.data_dir) / "logs"
    files = [p.read_text(errors="replace") for p in sorted(logs.rglob("*")) if p.is_file()]
    return "\n".join(files + listener.stderr_lines)


def reconnect_and_catch_up(listener, server):
    """Kicks the link and waits (bounded) for it to be live again: the reconnect reads the lists over REST."""
    lives = listener.count("live")
    server.kick()
    assert listener.wait_for_more("live", lives, 30), "\n".join(listener.stderr_lines[-20:])


def assert_never_logged(listener, token: str):
    assert listener.stop() == 0
    logged = everything_logged(listener)
    # The wire crates' own logs did reach the files (at debug: their trace is where the secrets are).
    assert "DEBUG tungstenite::" in logged and "DEBUG hyper_util::" in logged, "the wire crates logged nothing"
    for secret in (token, token.split(".")[-1]):
        assert secret not in logged, "a token was logged:\n" + next(
            line for line in logged.splitlines() if secret in line)


def test_a_token_in_the_websocket_query_is_never_logged(listen, servers):
    server = servers("station-reports")
    token = server.login("officer")
    listener = listen("station-reports", server, token=token, env=TRACE)
    listener.wait_status("live")
    server.wait_clients(1)
    created = server.post("/api/reports", {"station_id": 4, "category": "Theft", "description": "Bike",
                                           "priority": "high", "location": "Main St"}).json()
    assert listener.next_alert(timeout=10)["id"] == f"report-{created['id']}"
    reconnect_and_catch_up(listener, server)
    assert_never_logged(listener, token)


def test_a_token_in_the_authorization_header_is_never_logged(listen, servers):
    server = servers("ticketing")
    token = server.login("officer")
    listener = listen("ticketing", server, token=token, env=TRACE)
    listener.wait_status("live")
    server.wait_clients(1)
    created = server.post("/api/tickets", {"title": "Radio down", "site": "HQ", "priority": "high"},
                          token=token).json()
    # The message names no ticket: the list is read over REST with the header.
    alert = listener.next_alert(timeout=10)
    assert alert["id"] == f"ticket-{created['id']}", alert
    reconnect_and_catch_up(listener, server)
    time.sleep(0.2)
    assert_never_logged(listener, token)
