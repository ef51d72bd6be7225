"""Links that fail the ways real ones do: upgrades refused while REST works, sessions the server can recover,
tokens that expire mid-session."""


from support.proxy import Proxy


def statuses(listener, name):
    return [s for s in listener.statuses if s["status"] == name]


def report(server, description, station=4):
    return server.post("/api/reports", {"station_id": station, "category": "Theft", "description": description,
                                        "priority": "normal", "location": "Main St"}).json()


def test_polling_fallback_while_upgrades_are_refused(listen, servers):
    server = servers("station-reports")
    listener = listen("station-reports", server, token=server.login("officer"))
    listener.wait_status("live")
    server.wait_clients(1)
    server.post("/__test/ws", {"refuse": True})
    server.kick()
    polling = listener.wait_status("polling", timeout=20)
    assert polling["every_s"] == 10, polling
    r = report(server, "while polling")
    alert = listener.next_alert(timeout=15)  # the next poll, at most 10 s later
    assert (alert["id"], alert["source"]) == (f"report-{r['id']}", "poll")
    # The socket is back: polling stops and alerts are live again.
    server.post("/__test/ws", {"refuse": False})
    assert listener.wait_for_more("live", listener.count("live"), 40), listener.stderr_lines
    server.wait_clients(1)
    r = report(server, "live again")
    alert = listener.next_alert()
    assert (alert["id"], alert["source"]) == (f"report-{r['id']}", "live")
    listener.no_alert(0.5)  # the polled report is not repeated by the catch-up


def test_socketio_session_recovery_replays_what_was_missed(listen, servers):
    server = servers("crowd-monitoring", CONNECTION_STATE_RECOVERY=1)
    token = server.login("dispatcher")
    proxy = Proxy(server.port)
    try:
        listener = listen("crowd-monitoring", proxy, "--set", "event_id=EV1", token=token)
        listener.wait_status("live")
        server.wait_clients(1)
        server.post("/api/v1/reports", {"eventId": "EV1", "message": "before", "type": "medical"}, token=token)
        assert listener.next_alert()["title"] == "medical report: before"
        proxy.set_mode("refuse")
        proxy.set_mode("cut")
        proxy.mode = "refuse"
        listener.wait_status("reconnecting")
        missed = server.post("/api/v1/reports", {"eventId": "EV1", "message": "missed", "type": "fire"},
                             token=token).json()
        proxy.set_mode("forward")
        alert = listener.next_alert(timeout=40)
        assert (alert["id"], alert["title"]) == (f"report-{missed['id']}", "fire report: missed")
        assert alert["source"] == "live", "the server replayed it over the recovered session"
        listener.no_alert(0.5)
        assert not [line for line in listener.stderr_lines if '"gap"' in line]
    finally:
        proxy.close()


def test_token_expiry_mid_session_stops_without_a_retry_storm(listen, servers):
    server = servers("crowd-monitoring", TOKEN_TTL=3)
    proxy = Proxy(server.port)
    try:
        listener = listen("crowd-monitoring", proxy, "--set", "event_id=EV1", token=server.login("officer"))
        listener.wait_status("live")
        assert listener.wait_exit(timeout=30) == 3
        assert statuses(listener, "auth_failed")
        assert proxy.accepted <= 3, f"{proxy.accepted} connection attempts after the token expired"
        plain = [line for line in listener.stderr_lines if not line.startswith("{")]
        assert len(plain) == 1 and "rejected the credentials" in plain[0], plain
    finally:
        proxy.close()
