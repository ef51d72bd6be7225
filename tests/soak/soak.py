#!/usr/bin/env python3
"""A compressed shift: `alertdesk listen --notify` and the desktop app, each against its own seed-style
service-calls server (Socket.IO, seed 001), through a proxy that cuts the links, for thousands of calls of mixed
priorities that are created, assigned to the officer, updated and completed.

    tests/soak/soak.py [--scale short|full] [--no-desktop] [--json FILE]

Run it in a private network namespace with loopback up, under a display and a session bus (`make soak` does:
unshare -n, xvfb-run, dbus-run-session); dunst shows the notifications. Wake-ups are network changes made inside
that namespace (an address added to and removed from loopback), which Alertdesk treats as a wake from sleep.
Token expiries: the listener's server issues short-lived tokens; when a reconnect finds its token expired,
`listen` exits 3 and is started again with a fresh one on the same data directory, as an officer signing in
again would. The desktop app's server keeps its tokens for the whole run.

At the end it checks, for each client: every call is in its history in its final state (zero loss), no version
was delivered twice (a call's versions never outnumber what happened to it on the server), and its open file
descriptors and threads stayed flat (within a small constant of their value after warm-up) and its memory
(the desktop: all of its processes) within the bound below. It prints the figures as one JSON object and exits
1 when a check fails. Every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support.proxy import Proxy  # noqa: E402
from support.servers import start_server  # noqa: E402

BIN_DIR = pathlib.Path(os.environ.get("ALERTDESK_BIN_DIR", ROOT / "target" / "debug"))
USER = "u-officer"
PRIORITIES = ("low", "normal", "high", "urgent")
FD_SLACK = 12  # descriptors a client may gain over the run (sockets, files that come and go)
THREAD_SLACK = 6
LISTEN_RSS_MB = 120  # resident memory of `listen` at any sample
DESKTOP_PSS_MB = 600  # proportional memory of the app and every process under it (WebKit's included); 436 MB measured
STARTUP = 5.0  # seconds the clients get to connect before the shift starts
WARM_UP = 5.0  # seconds a process runs before its figures count as its baseline


@dataclasses.dataclass(frozen=True)
class Scale:
    calls: int
    rate: float  # calls created per second
    cuts: int
    wakes: int
    expiries: int


SCALES = {
    "short": Scale(calls=1500, rate=100.0, cuts=6, wakes=2, expiries=1),
    "full": Scale(calls=20000, rate=60.0, cuts=40, wakes=4, expiries=3),
}


def log(*parts) -> None:
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def descendants(pid: int) -> list[int]:
    """`pid` and every process under it."""
    children: dict[int, list[int]] = {}
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo and len(found) < 1000:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def resources(pid: int, tree: bool) -> dict:
    """Open descriptors, threads and memory (kB) of `pid`, or of it and its descendants."""
    total = {"fds": 0, "threads": 0, "rss_kb": 0, "pss_kb": 0, "processes": 0}
    for p in descendants(pid) if tree else [pid]:
        try:
            total["fds"] += len(os.listdir(f"/proc/{p}/fd"))
            total["threads"] += len(os.listdir(f"/proc/{p}/task"))
            status = dict(l.split(":", 1) for l in pathlib.Path(f"/proc/{p}/status").read_text().splitlines())
            total["rss_kb"] += int(status.get("VmRSS", "0 kB").split()[0])
            rollup = pathlib.Path(f"/proc/{p}/smaps_rollup").read_text()
            total["pss_kb"] += sum(int(l.split()[1]) for l in rollup.splitlines() if l.startswith("Pss:"))
            total["processes"] += 1
        except (OSError, ValueError):
            continue
    return total


class Client:
    """One Alertdesk process under test, its server, proxy and data directory."""

    def __init__(self, name: str, server, data_dir: pathlib.Path):
        self.name, self.server, self.data_dir = name, server, data_dir
        self.proxy = Proxy(server.port)
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.samples: list[dict] = []
        self.warm: dict | None = None
        self.restarts = 0
        (data_dir / "config").mkdir(parents=True, exist_ok=True)  # ALERTDESK_DATA_DIR's layout: config/ data/ logs/
        # Short repeats so a shift's worth of them happens; the flood threshold as shipped.
        (data_dir / "config" / "settings.toml").write_text("[alerting]\nrepeat_every_secs = 10\n")

    def env(self, token: str) -> dict:
        env = dict(os.environ, ALERTDESK_DATA_DIR=str(self.data_dir), ALERTDESK_TOKEN=token)
        return env

    def command(self) -> list[str]:
        args = ["--profile", "service-calls", "--server", self.proxy.url, "--set", f"user_id={USER}"]
        if self.name == "listen":
            return [str(BIN_DIR / "alertdesk-cli"), "listen", "--notify", "--json", *args]
        return [str(BIN_DIR / "alertdesk"), *args]

    def start(self) -> None:
        out = open(self.data_dir / f"{self.name}-{self.restarts}.out", "w")
        err = open(self.data_dir / f"{self.name}-{self.restarts}.err", "w")
        self.proc = subprocess.Popen(self.command(), stdout=out, stderr=err, env=self.env(self.server.login("officer")))
        self.started_at = time.monotonic()
        out.close()
        err.close()

    def sample(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        figures = resources(self.proc.pid, tree=self.name == "desktop")
        figures["restart"] = self.restarts
        self.samples.append(figures)

    def expired(self) -> bool:
        """`listen` ended because its token expired (exit 3): sign in again and go on."""
        if self.name != "listen" or self.proc is None or self.proc.poll() != 3:
            return False
        self.restarts += 1
        self.warm = None
        self.start()
        return True

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proxy.close()
        return self.proc.returncode


def change_network(n: int) -> None:
    """A network change (Alertdesk reconnects at once): an address on loopback, added then removed."""
    address = f"10.203.{n % 250}.1/24"
    subprocess.run(["ip", "addr", "add", address, "dev", "lo"], check=True, timeout=10)
    time.sleep(2.5)  # the watcher looks every 2 s
    subprocess.run(["ip", "addr", "del", address, "dev", "lo"], check=True, timeout=10)


class Driver:
    """The dispatcher's side: REST calls with a token renewed when the server refuses it (tokens expire)."""

    def __init__(self, servers: list):
        self.servers = servers
        self.tokens = {s.port: s.login("dispatcher") for s in servers}

    def request(self, server, method: str, path: str, body=None) -> dict:
        for _ in range(2):
            response = server.request(method, path, json=body, token=self.tokens[server.port])
            if response.status_code != 401:
                response.raise_for_status()
                return response.json()
            self.tokens[server.port] = server.login("dispatcher")
        raise RuntimeError(f"{method} {path}: the server refuses a fresh token")


def drive(scale: Scale, driver: Driver, clients: list[Client]) -> dict[str, int]:
    """Creates the calls at the scale's rate and acts on them; cuts links and changes the network on the way.
    Returns how many events each call had on the server (for the duplicate check)."""
    events: dict[str, int] = {}
    cut_every = max(1, scale.calls // (scale.cuts + 1))
    wake_every = max(1, scale.calls // (scale.wakes + 1))
    started = time.monotonic()
    for i in range(scale.calls):
        due = started + i / scale.rate
        while time.monotonic() < due:
            time.sleep(max(0.0, min(0.01, due - time.monotonic())))
        priority = PRIORITIES[i % len(PRIORITIES)]
        ids = []
        for server in driver.servers:
            call = driver.request(server, "POST", "/api/calls", {"title": f"Call {i}", "customer": f"Customer {i % 97}",
                                                                  "priority": priority})
            ids.append(call["id"])
            events[f"{server.port}/{call['id']}"] = 1
        for server, call_id in zip(driver.servers, ids):
            for action, body in actions_for(i):
                driver.request(server, *action(call_id), body)
                events[f"{server.port}/{call_id}"] += 1
        if i and i % cut_every == 0:
            for client in clients:
                client.proxy.set_mode("cut")
        if i and i % wake_every == 0:
            change_network(i // wake_every)
        if i % 200 == 0:
            for client in clients:
                client.expired()
                client.sample()
                # Warm: a tenth of the shift done, and the process running for a while (it may have restarted).
                warmed_up = time.monotonic() - client.started_at >= WARM_UP
                if client.warm is None and i >= scale.calls // 10 and client.samples and warmed_up:
                    client.warm = client.samples[-1]
            log(f"{i}/{scale.calls} calls")
    return events


def actions_for(i: int) -> list:
    """What happens to call `i` after it is created: some are assigned to the officer, updated, completed."""
    out = []
    if i % 4 == 0:
        out.append((lambda c: ("POST", f"/api/calls/{c}/assign"), {"assignedTo": USER}))
    if i % 13 == 0:
        out.append((lambda c: ("PUT", f"/api/calls/{c}"), {"customer": f"Moved {i}"}))
    if i % 9 == 0:
        out.append((lambda c: ("POST", f"/api/calls/{c}/complete"), {}))
    return out


def final_states(driver: Driver, server) -> dict[str, tuple[str, bool]]:
    calls = driver.request(server, "GET", "/api/calls")
    return {f"call-{c['id']}": (c["status"], c.get("assignedTo") == USER) for c in calls}


def history_rows(client: Client) -> dict[str, tuple[str, bool, int]]:
    """(status, assigned to me, versions) per alert id, read from the client's history while it is open (its
    data directory is `<dir>/data` under ALERTDESK_DATA_DIR, see `alertdesk paths`)."""
    path = client.data_dir / "data" / "history.db"
    if not path.exists():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        trail = dict(db.execute("SELECT id, COUNT(*) FROM alert_updates GROUP BY id"))
        return {row[0]: (row[1], bool(row[2]), trail.get(row[0], 0) + 1)
                for row in db.execute("SELECT id, status, assigned_to_me FROM alerts")}
    except sqlite3.OperationalError:
        return {}
    finally:
        db.close()


def settle(client: Client, expected: dict, timeout: float) -> dict:
    """Waits (bounded) until the client's history holds every call in its final state."""
    deadline = time.monotonic() + timeout
    rows: dict = {}
    while time.monotonic() < deadline:
        client.expired()
        rows = history_rows(client)
        if all(rows.get(k, (None, None, 0))[:2] == v for k, v in expected.items()):
            break
        time.sleep(1.0)
    return rows


def check(client: Client, expected: dict, rows: dict, events: dict, server_port: int) -> dict:
    missing = [k for k in expected if k not in rows]
    wrong = [k for k, v in expected.items() if k in rows and rows[k][:2] != v]
    doubled = [k for k in expected if k in rows and rows[k][2] > events[f"{server_port}/{k[len('call-'):]}"]]
    samples = client.samples
    warm = client.warm or (samples[0] if samples else {})
    same_process = [s for s in samples if s["restart"] == warm.get("restart")]
    last = same_process[-1] if same_process else {}
    kind = "pss_kb" if client.name == "desktop" else "rss_kb"
    peak_mb = max((s[kind] for s in samples), default=0) / 1024
    result = {
        "calls": len(expected), "missing": len(missing), "wrong_state": len(wrong), "delivered_twice": len(doubled),
        "restarts_after_token_expiry": client.restarts, "fds_warm": warm.get("fds"), "fds_end": last.get("fds"),
        "threads_warm": warm.get("threads"), "threads_end": last.get("threads"),
        "processes": last.get("processes"), "peak_memory_mb": round(peak_mb, 1),
        "memory_warm_mb": round(warm.get(kind, 0) / 1024, 1), "memory_end_mb": round(last.get(kind, 0) / 1024, 1),
        "memory_kind": "pss of all processes" if client.name == "desktop" else "rss",
        "examples": (missing + wrong + doubled)[:5],
    }
    bound = DESKTOP_PSS_MB if client.name == "desktop" else LISTEN_RSS_MB
    result["ok"] = (not missing and not wrong and not doubled and bool(samples)
                    and last.get("fds", 0) - warm.get("fds", 0) <= FD_SLACK
                    and last.get("threads", 0) - warm.get("threads", 0) <= THREAD_SLACK
                    and peak_mb <= bound)
    return result


class NotifyCalls:
    """Counts the Notify calls on the session bus (what dunst was asked to show), with dbus-monitor."""

    def __init__(self, work: pathlib.Path):
        self.path = work / "notify-calls.txt"
        match = "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"
        with open(self.path, "w") as out:
            self.proc = subprocess.Popen(["dbus-monitor", "--session", match], stdout=out,
                                         stderr=subprocess.DEVNULL)

    def count(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        return sum(1 for line in self.path.read_text(errors="replace").splitlines() if "member=Notify" in line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="short")
    parser.add_argument("--no-desktop", action="store_true", help="only `listen --notify`")
    parser.add_argument("--json", type=pathlib.Path, help="also write the figures to this file")
    args = parser.parse_args()
    scale = SCALES[args.scale]
    run_seconds = scale.calls / scale.rate
    work = pathlib.Path(tempfile.mkdtemp(prefix="alertdesk-soak-"))
    names = ["listen"] if args.no_desktop else ["listen", "desktop"]
    # The listener's tokens expire `expiries` times during the run (they are checked when a link connects);
    # the desktop's last it.
    ttl = {"listen": max(5, int((run_seconds + STARTUP) / (scale.expiries + 1))),
           "desktop": int(run_seconds * 10 + 3600)}
    servers = {n: start_server("service-calls", TOKEN_TTL=ttl[n]) for n in names}
    clients = [Client(n, servers[n], work / n) for n in names]
    figures: dict = {"scale": dataclasses.asdict(scale), "clients": {}}
    monitor = NotifyCalls(work)
    try:
        driver = Driver(list(servers.values()))
        for client in clients:
            client.start()
        time.sleep(STARTUP)  # connected and live (the desktop opens its window first)
        log(f"soak: {scale.calls} calls at {scale.rate}/s, {scale.cuts} cuts, {scale.wakes} wake-ups")
        events = drive(scale, driver, clients)
        for client in clients:
            expected = final_states(driver, client.server)
            rows = settle(client, expected, timeout=120)
            client.sample()
            figures["clients"][client.name] = check(client, expected, rows, events, client.server.port)
    finally:
        for client in clients:
            code = client.stop()
            figures["clients"].setdefault(client.name, {})["exit_code"] = code
        for server in servers.values():
            server.stop()
    figures["notify_calls_on_the_bus"] = monitor.count()
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0 if all(c.get("ok") for c in figures["clients"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
