"""Hostile frames are dropped and logged while the link stays up; a silent (half-open) link is noticed in 10 s."""

import json
import time

import pytest

from support.hostile import HostileServer
from support.proxy import Proxy

GOOD_REPORT = json.dumps({"type": "new_report", "report": {"id": 99, "category": "Fire", "description": "Still here",
                                                           "priority": "high", "station_id": 4}})
DEEP = "[" * 5000 + "]" * 5000
OVERSIZE = json.dumps({"type": "new_report", "report": {"id": 1, "description": "x" * (2 * 1024 * 1024)}})


@pytest.fixture
def hostile():
    made = []

    def make(frames, socketio):
        server = HostileServer(frames, socketio)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


def assert_dropped_and_logged(listener, at_least: int):
    stderr = "\n".join(listener.stderr_lines)
    assert stderr.count("dropped a bad frame") >= at_least, stderr
    listener.stop()  # flushes the log file
    assert listener.log_text().count("dropped a bad frame") >= at_least


def assert_stayed_up(listener, server):
    assert server.connections == 1, "the client reconnected: a bad frame broke the link"
    assert not [s for s in listener.statuses if s["status"] == "reconnecting"]
    assert listener.proc.poll() is None


def test_raw_websocket_drops_hostile_frames(listen, hostile):
    frames = ["not json {", '{"type": "new_report", "report": ', DEEP, OVERSIZE, b"\xff\xfe\x00bad utf-8",
              '{"no_type": true}', '"a bare string"', "[]", "null", GOOD_REPORT]
    server = hostile(frames, socketio=False)
    listener = listen("station-reports", server, token="t")
    alert = listener.next_alert(timeout=10)
    assert (alert["id"], alert["title"]) == ("report-99", "Fire: Still here")
    listener.no_alert(0.5)
    assert_stayed_up(listener, server)
    assert_dropped_and_logged(listener, 4)  # bad JSON, truncated, too deep, too large
    assert "dropped a binary frame" in "\n".join(listener.stderr_lines)


def test_socketio_drops_hostile_frames(listen, hostile):
    frames = ["42[", "9", "4", "42", '42{"a":1}', "42[1,2]", '4x["ev"]', "42" + DEEP,
              '42["big","' + "x" * (2 * 1024 * 1024) + '"]',
              '451-["upload",{"_placeholder":true,"num":0}]', b"\xff\xfe attachment with bad utf-8",
              '42/other,["report:new",{"id":"nope","message":"wrong namespace","type":"x"}]',
              '42["report:new",{"id":"r1","message":"Still here","type":"fire"}]']
    server = hostile(frames, socketio=True)
    listener = listen("crowd-monitoring", server, "--set", "event_id=EV1", token="tok")
    alert = listener.next_alert(timeout=10)
    assert (alert["id"], alert["title"]) == ("report-r1", "fire report: Still here")
    listener.no_alert(0.5)
    assert_stayed_up(listener, server)
    assert server.received[0] == '40{"token":"tok"}', server.received
    assert_dropped_and_logged(listener, 7)  # bad JSON, unknown type, empty, not an array, not a name, bad ns, deep, large


@pytest.mark.parametrize("profile,extra", [("station-reports", []), ("crowd-monitoring", ["--set", "event_id=EV1"])])
def test_half_open_link_is_noticed_within_10s(listen, servers, profile, extra):
    server = servers(profile, PING_INTERVAL_MS="600000")
    proxy = Proxy(server.port)
    try:
        listener = listen(profile, proxy, *extra, token=server.login("officer"))
        listener.wait_status("live")
        server.wait_clients(1)
        proxy.set_mode("blackhole")
        went_silent = time.monotonic()
        deadline = went_silent + 15
        while time.monotonic() < deadline:
            if [s for s in listener.statuses if s["status"] == "reconnecting"]:
                break
            time.sleep(0.05)
        noticed = time.monotonic() - went_silent
        assert noticed <= 10.0, f"dead link noticed after {noticed:.1f}s"
        reason = [s for s in listener.statuses if s["status"] == "reconnecting"][0]["reason"]
        assert "dead" in reason, reason
        # The link comes back by itself once the network does.
        proxy.set_mode("cut")
        live_before = listener.count("live")
        assert listener.wait_for_more("live", live_before, 20), listener.stderr_lines
    finally:
        proxy.close()
