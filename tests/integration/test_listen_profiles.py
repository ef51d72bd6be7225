"""Each built-in profile against a real server that follows its seed: the exact alerts, within a second."""

import time


def pick(alert: dict) -> tuple:
    return alert["kind"], alert["priority"], alert["title"], alert["assigned_to_me"]


def live(listener, server, clients: int = 1):
    listener.wait_status("live")
    server.wait_clients(clients)


def test_station_reports(listen, servers):
    server = servers("station-reports")
    token = server.login("officer")
    listener = listen("station-reports", server, token=token)
    live(listener, server)

    sent = time.monotonic()
    report = server.post("/api/reports", {"station_id": 4, "category": "Burglary", "description": "Back door forced",
                                          "priority": "high", "location": "Main St 12"}).json()
    arrived, alert = listener.next_alert_timed()
    assert arrived - sent < 1.0, f"alert took {arrived - sent:.3f}s"
    assert pick(alert) == ("report", "high", "Burglary: Back door forced", False)
    assert alert["id"] == f"report-{report['id']}"
    assert alert["profile"] == "station-reports" and alert["event"] == "new_report"
    assert alert["data"]["report"]["id"] == report["id"]
    assert alert["received_at"].endswith("Z")

    # Another station's report never reaches this officer.
    server.post("/api/reports", {"station_id": 7, "category": "Noise", "description": "Party",
                                 "priority": "low", "location": "Elm St"})
    server.post("/api/reports", {"station_id": 4, "category": "Noise", "description": "Dog barking",
                                 "priority": "low", "location": "Oak St"})
    assert pick(listener.next_alert()) == ("report", "low", "Noise: Dog barking", False)
    listener.no_alert(0.3)


def test_emergency_dispatch(listen, servers):
    server = servers("emergency-dispatch")
    token = server.login("dispatcher")
    listener = listen("emergency-dispatch", server, "--set", "user_id=U-7", token=token)
    live(listener, server)

    sent = time.monotonic()
    e = server.post("/api/emergencies", {"type": "Fire", "description": "Kitchen fire", "priority": "critical",
                                         "location": "Main St 4"}, token=token).json()
    arrived, alert = listener.next_alert_timed()
    assert arrived - sent < 1.0
    assert pick(alert) == ("report", "critical", "Fire: Kitchen fire", False)
    assert alert["id"] == f"emergency-{e['id']}"

    server.post(f"/api/emergencies/{e['id']}/assign", {"unit_id": "U-7"}, token=token)
    alert = listener.next_alert()
    assert alert["kind"] == "assignment" and alert["assigned_to_me"] is True, alert
    assert alert["id"] == f"emergency-{e['id']}"

    server.post(f"/api/emergencies/{e['id']}/complete", {}, token=token)
    alert = listener.next_alert()
    # The completion keeps what it does not restate: still my critical assignment, now completed.
    assert pick(alert) == ("assignment", "critical", "Emergency completed: Kitchen fire", True), alert
    assert alert["status"] == "completed"

    server.post("/api/units/U-7/status", {"status": "available", "emergency_id": e["id"]}, token=token)
    alert = listener.next_alert()
    assert (alert["kind"], alert["title"]) == ("info", "Unit U-7 available")
    listener.no_alert(0.3)  # dashboard_update (room authority_dashboard) repeats emergency_updated: ignored


def test_emergency_dispatch_joins_the_dashboard_room(listen, servers):
    server = servers("emergency-dispatch")
    token = server.login("dispatcher")
    listener = listen("emergency-dispatch", server, token=token)
    live(listener, server)
    # An event only the room gets proves the join happened.
    server.emit("emergency_created", {"id": "E-room", "type": "Flood", "description": "Basement",
                                      "priority": "high"}, room="authority_dashboard")
    assert pick(listener.next_alert()) == ("report", "high", "Flood: Basement", False)


def test_service_calls(listen, servers):
    server = servers("service-calls")
    token = server.login("officer")
    listener = listen("service-calls", server, "--set", "user_id=u-officer", token=token)
    live(listener, server)

    call = server.post("/api/calls", {"title": "Printer jam", "customer": "ACME", "priority": "urgent"},
                       token=token).json()
    assert pick(listener.next_alert()) == ("report", "critical", "New call: Printer jam", False)
    server.post(f"/api/calls/{call['id']}/assign", {"assignedTo": "u-officer"}, token=token)
    alert = listener.next_alert()
    assert (alert["kind"], alert["assigned_to_me"], alert["id"]) == ("assignment", True, f"call-{call['id']}")
    server.post(f"/api/calls/{call['id']}/assign", {"assignedTo": "u-dispatcher"}, token=token)
    assert listener.next_alert()["assigned_to_me"] is False
    server.post(f"/api/calls/{call['id']}/complete", {}, token=token)
    alert = listener.next_alert()
    assert (alert["kind"], alert["status"], alert["priority"]) == ("assignment", "completed", "critical"), alert
    # The direct user_deleted event reaches only the registered user.
    server.delete("/api/users/u-officer", token=server.login("dispatcher"))
    alert = listener.next_alert()
    assert (alert["kind"], alert["title"]) == ("alert", "Your account was removed")


def test_crowd_monitoring(listen, servers):
    server = servers("crowd-monitoring")
    token = server.login("dispatcher")
    listener = listen("crowd-monitoring", server, "--set", "event_id=EV1", token=token)
    live(listener, server)

    server.post("/api/v1/cctv/objects", {"eventId": "EV1", "zoneId": "Z3", "count": 55}, token=token)
    alert = listener.next_alert()
    assert (alert["kind"], alert["priority"]) == ("alert", "critical"), alert
    assert alert["title"].startswith("overcrowding: ")
    server.post("/api/v1/cctv/objects", {"eventId": "EV2", "zoneId": "Z1", "count": 99}, token=token)
    server.post("/api/v1/pings", {"eventId": "EV1", "lat": 1, "lng": 2}, token=token)
    server.post("/api/v1/reports", {"eventId": "EV1", "message": "Person fainted", "type": "medical"}, token=token)
    assert pick(listener.next_alert()) == ("report", "normal", "medical report: Person fainted", False)
    server.post("/api/v1/actions", {"eventId": "EV1", "command": "Open gate 3", "zoneId": "Z3"}, token=token)
    assert pick(listener.next_alert())[:3] == ("assignment", "high", "Action: Open gate 3")
    server.post("/api/v1/ai/insights", {"eventId": "EV1"}, token=token)
    assert listener.next_alert()["kind"] == "info"
    listener.no_alert(0.3)


def test_ticketing_fetches_the_title(listen, servers):
    for broadcast_ids in ("0", "1"):
        server = servers("ticketing", BROADCAST_IDS=broadcast_ids)
        token = server.login("dispatcher")
        server.post("/api/tickets", {"title": "Old ticket", "site": "HQ", "priority": "low"}, token=token)
        listener = listen("ticketing", server, token=token)
        live(listener, server)
        ticket = server.post("/api/tickets", {"title": "Replace router", "site": "Station 4", "priority": "high"},
                             token=token).json()
        alert = listener.next_alert()
        assert pick(alert) == ("report", "high", "Replace router", False), f"BROADCAST_IDS={broadcast_ids}"
        assert alert["id"] == f"ticket-{ticket['id']}"
        server.post(f"/api/tickets/{ticket['id']}/claim", {}, token=token)
        alert = listener.next_alert()
        # The ticket's own alert, updated: still a report, with the fetched status. A notice that names no
        # ticket is caught up from the ticket list.
        assert (alert["kind"], alert["title"], alert["status"]) == ("report", "Replace router", "in_progress")
        assert alert["source"] == ("live" if broadcast_ids == "1" else "backfill"), alert
        listener.no_alert(0.3)  # the pre-existing ticket never shows up as new
        assert listener.stop() == 0
