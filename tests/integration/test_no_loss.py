"""Nothing missed, nothing twice: link chaos, a server restart, a client killed with SIGKILL."""

import collections
import json
import random
import subprocess
import threading
import time

from conftest import binary, headless_env
from support.proxy import Proxy
from support.servers import start_server


def post_reports(server, count, rate_per_s, first_description=0):
    """Submits `count` reports at about `rate_per_s` (bounded in count; returns their ids)."""
    ids = []
    interval = 1.0 / rate_per_s
    for i in range(count):
        started = time.monotonic()
        r = server.post("/api/reports", {"station_id": 4, "category": "Chaos", "priority": "normal",
                                         "description": f"report {first_description + i}", "location": "Loop"})
        assert r.status_code == 201, r.text
        ids.append(f"report-{r.json()['id']}")
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
    return ids


def collect(listener, expected: set, timeout: float) -> collections.Counter:
    """Alert ids printed by the listener until all expected ones arrived (or the bounded time ran out)."""
    seen = collections.Counter()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not expected <= set(seen):
        try:
            _, alert = listener.alerts.get(timeout=0.5)
        except Exception:
            continue
        seen[alert["id"]] += 1
    # Anything still queued right after (a late duplicate would show here).
    time.sleep(1.0)
    while not listener.alerts.empty():
        seen[listener.alerts.get()[1]["id"]] += 1
    return seen


def history_ids(name, data_dir) -> collections.Counter:
    result = subprocess.run([str(binary(name)), "history", "--json"], capture_output=True, text=True, timeout=60,
                            env=headless_env(ALERTDESK_DATA_DIR=str(data_dir)))
    assert result.returncode == 0, result.stderr
    return collections.Counter(json.loads(line)["id"] for line in result.stdout.splitlines())


def test_chaos_every_alert_exactly_once(listen, servers, tmp_path):
    server = servers("station-reports")
    proxy = Proxy(server.port)
    try:
        listener = listen("station-reports", proxy, token=server.login("officer"), data_dir=tmp_path)
        listener.wait_status("live")
        server.wait_clients(1)
        stop = threading.Event()

        def chaos():
            rng = random.Random(7)
            for _ in range(200):  # bounded in count, and it stops when the reports are all posted
                if stop.wait(rng.uniform(0.15, 0.5)):
                    return
                if rng.random() < 0.6:
                    proxy.set_mode("cut")  # drop whatever link is up
                else:
                    proxy.mode = "refuse"  # refuse the next attempts for a moment
                    stop.wait(rng.uniform(0.3, 0.8))
                    proxy.mode = "forward"

        chaos_thread = threading.Thread(target=chaos, daemon=True)
        chaos_thread.start()
        expected = post_reports(server, 2000, rate_per_s=100)
        stop.set()
        chaos_thread.join(10)
        proxy.mode = "forward"
        disruptions = {"links cut": proxy.links_cut, "attempts refused": proxy.refused}
        print(f"disruptions: {disruptions}")
        assert proxy.links_cut + proxy.refused >= 20, disruptions

        seen = collect(listener, set(expected), timeout=90)
        missing = set(expected) - set(seen)
        twice = {k: v for k, v in seen.items() if v > 1}
        assert not missing, f"{len(missing)} alerts never arrived, e.g. {sorted(missing)[:5]}"
        assert not twice, f"printed more than once: {dict(list(twice.items())[:5])}"
        assert set(seen) == set(expected)
        assert listener.stop() == 0
        stored = history_ids(listener.cmd[0].rsplit("/", 1)[-1], tmp_path)
        assert set(stored) == set(expected) and max(stored.values()) == 1
    finally:
        proxy.close()


def test_server_restart_with_persisted_state(listen, tmp_path):
    state = tmp_path / "reports.json"
    server = start_server("station-reports", STATE_FILE=str(state))
    try:
        token = server.login("officer")
        listener = listen("station-reports", server, token=token, data_dir=tmp_path / "client")
        listener.wait_status("live")
        server.wait_clients(1)
        before = post_reports(server, 3, rate_per_s=20)
        port = server.port
        server.stop()
        listener.wait_status("reconnecting")
        server = start_server("station-reports", STATE_FILE=str(state), PORT=port)
        during = post_reports(server, 3, rate_per_s=20, first_description=3)  # likely before we reconnect
        listener.wait_for_more("live", listener.count("live"), 40)
        server.wait_clients(1)
        after = post_reports(server, 3, rate_per_s=20, first_description=6)
        seen = collect(listener, set(before + during + after), timeout=30)
        assert set(seen) == set(before + during + after), seen
        assert max(seen.values()) == 1, seen
        assert not [line for line in listener.stderr_lines if '"gap"' in line], "backfill should have covered it"
    finally:
        server.stop()


def test_kill_9_loses_nothing_stored_and_backfill_fills_the_rest(listen, servers, tmp_path):
    server = servers("station-reports")
    token = server.login("officer")
    first = listen("station-reports", server, token=token, data_dir=tmp_path)
    first.wait_status("live")
    server.wait_clients(1)
    expected = []
    poster = threading.Thread(target=lambda: expected.extend(post_reports(server, 300, rate_per_s=60)), daemon=True)
    poster.start()
    printed_first = collections.Counter()
    deadline = time.monotonic() + 30
    while len(printed_first) < 100 and time.monotonic() < deadline:
        printed_first[first.next_alert(timeout=10)["id"]] += 1
    first.proc.kill()  # SIGKILL: no shutdown path runs
    first.proc.wait(10)
    while not first.alerts.empty():
        printed_first[first.alerts.get()[1]["id"]] += 1
    time.sleep(1)
    second = listen("station-reports", server, token=token, data_dir=tmp_path)
    poster.join(30)
    assert len(expected) == 300
    printed_second = collect(second, set(expected) - set(printed_first), timeout=60)
    assert second.stop() == 0
    both = printed_first + printed_second
    assert set(expected) <= set(both), f"missing {sorted(set(expected) - set(both))[:5]}"
    assert max(both.values()) == 1, "an alert was printed by both runs"
    stored = history_ids(second.cmd[0].rsplit("/", 1)[-1], tmp_path)
    assert set(stored) == set(expected) and max(stored.values()) == 1


def test_back_live_soon_after_a_long_outage(listen, tmp_path):
    """The backoff grows while the server is down, but once it listens again the link is back within seconds
    (the waits probe the port), not after the remaining backoff of up to 30 s."""
    state = tmp_path / "reports.json"
    server = start_server("station-reports", STATE_FILE=str(state))
    try:
        token = server.login("officer")
        listener = listen("station-reports", server, token=token, data_dir=tmp_path / "client")
        listener.wait_status("live")
        server.wait_clients(1)
        port = server.port
        server.stop()
        time.sleep(12)  # long enough for backoff delays of several seconds
        lives = listener.count("live")
        server = start_server("station-reports", STATE_FILE=str(state), PORT=port)
        back = time.monotonic()
        came_back = listener.wait_for_more("live", lives, 20)
        took = time.monotonic() - back
        assert came_back, listener.stderr_lines
        assert took <= 3.0, f"back live {took:.1f}s after the server returned"
        r = post_reports(server, 1, rate_per_s=10)
        assert collect(listener, set(r), timeout=10)[r[0]] == 1
    finally:
        server.stop()
