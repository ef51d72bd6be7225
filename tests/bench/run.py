#!/usr/bin/env python3
"""Alertdesk benchmark driver: Alertdesk's headless listener against peer clients on loopback.

    python tests/bench/run.py --smoke [--bin target/debug/alertdesk-cli]     # a few seconds; checks the harness
    python tests/bench/run.py --full  [--bin target/release/alertdesk-cli]   # every figure (about 8 minutes)

Every client consumes the same kind of stream from tests/bench/emitter.js (Socket.IO 4 or `ws`), one client at a
time except where noted. Each event carries the emitter's CLOCK_MONOTONIC time of sending (`t`, ns); this driver
reads every client's stdout on its own thread and stamps each line with time.monotonic_ns() right after readline,
the same way for every client. How each figure is measured: docs/benchmarks.md.

The smoke run exits non-zero only when the harness itself breaks (a client does not connect, events do not
arrive, a process cannot be sampled, or ldd shows desktop libraries), never on a missed target.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import pathlib
import platform
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))
from proxy import Proxy  # noqa: E402  (tests/support/proxy.py: forward / blackhole / cut)

CLK_TCK = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 20.0
LIVE_TIMEOUT = 20.0
NOT_LIVE = ("reconnecting", "disconnected", "polling", "connect_error", "error")
# Issue #11: the headless listener's idle resident memory is under 10 MB (10,000,000 bytes).
IDLE_RSS_TARGET_BYTES = 10_000_000


class HarnessError(RuntimeError):
    pass


def log(*parts) -> None:
    print(*parts, flush=True)


# --- processes ---------------------------------------------------------------------------------------------


def stop_process(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def http_json(method: str, url: str, body=None, timeout: float = 10.0):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never a proxy
    with opener.open(request, timeout=timeout) as response:
        return json.loads(response.read())


class Emitter:
    """tests/bench/emitter.js for one protocol ("socketio" or "ws")."""

    def __init__(self, proto: str, node: str):
        self.proto = proto
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-emitter-{proto}-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([node, str(HERE / "emitter.js")], env=dict(os.environ, BENCH_PROTO=proto, PORT="0"),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log, text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()), daemon=True).start()
        try:
            first = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            first = ""
        words = first.split()
        if len(words) != 2 or words[0] != "READY":
            stop_process(self.proc)
            raise HarnessError(f"emitter {proto} did not start: {first!r}; {pathlib.Path(self.log.name).read_text()}")
        self.port = int(words[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def client_url(self, port: int | None = None) -> str:
        port = port or self.port
        return f"ws://127.0.0.1:{port}/ws" if self.proto == "ws" else f"http://127.0.0.1:{port}"

    def run(self, count: int, rate: float, record: bool = False) -> tuple[int, int]:
        answer = http_json("POST", self.url + "/bench/run", {"count": count, "rate": rate, "record": record})
        return answer["first"], answer["last"]

    def status(self) -> dict:
        return http_json("GET", self.url + "/bench/status")

    def wait_done(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        status = self.status()
        while status["running"] and time.monotonic() < deadline:
            time.sleep(0.05)
            status = self.status()
        if status["running"]:
            raise HarnessError(f"emitter {self.proto}: run still going after {timeout:.0f} s: {status}")
        return status

    def stop(self) -> None:
        stop_process(self.proc)
        pathlib.Path(self.log.name).unlink(missing_ok=True)


class Client:
    """One listening client process; its stdout lines are stamped with time.monotonic_ns() as they are read."""

    def __init__(self, spec: "Spec", url: str, data_root: pathlib.Path):
        self.spec = spec
        env = dict(os.environ)
        env.pop("ALERTDESK_TOKEN", None)
        self.data_dir = None
        if spec.kind == "alertdesk":
            base = pathlib.Path("/dev/shm") if spec.tmpfs else data_root
            self.data_dir = pathlib.Path(tempfile.mkdtemp(prefix="alertdesk-bench-", dir=base))
            env["ALERTDESK_DATA_DIR"] = str(self.data_dir)
            env.pop("DBUS_SESSION_BUS_ADDRESS", None)  # the keyring is not used (auth mode none)
        self.proc = subprocess.Popen(spec.argv(url), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd=str(ROOT))
        self.lines: list[tuple[int, bytes]] = []
        self.statuses: list[tuple[int, str]] = []
        self.stderr_tail: list[str] = []
        self._status_cv = threading.Condition()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    @property
    def name(self) -> str:
        return self.spec.name

    def _read_stdout(self):
        lines = self.lines
        readline = self.proc.stdout.readline
        now = time.monotonic_ns
        while True:
            line = readline()
            stamp = now()
            if not line:
                return
            lines.append((stamp, line))

    def _read_stderr(self):
        for raw in self.proc.stderr:
            stamp = time.monotonic_ns()
            text = raw.decode(errors="replace").rstrip("\n")
            with self._status_cv:
                self.stderr_tail = (self.stderr_tail + [text])[-30:]
                try:
                    value = json.loads(text)
                except ValueError:
                    value = None
                if isinstance(value, dict) and "status" in value:
                    self.statuses.append((stamp, value["status"]))
                    self._status_cv.notify_all()

    def wait_status(self, names: tuple[str, ...], after_ns: int, timeout: float) -> int | None:
        """The time of the first status in `names` reported after `after_ns`, or None after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._status_cv:
            while True:
                for stamp, name in self.statuses:
                    if stamp >= after_ns and name in names:
                        return stamp
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    return None
                self._status_cv.wait(min(left, 0.2))

    def wait_live(self, timeout: float = LIVE_TIMEOUT) -> None:
        if self.wait_status(("live",), 0, timeout) is None:
            raise HarnessError(f"{self.name} not live within {timeout:.0f} s (exit {self.proc.poll()}); "
                               f"stderr:\n" + "\n".join(self.stderr_tail))

    def first_arrivals(self, first: int, last: int, start_index: int = 0) -> dict[int, tuple[int, int]]:
        """id -> (receive time, send time) of each event first..last the first time it arrived, in arrival order."""
        out: dict[int, tuple[int, int]] = {}
        parse = self.spec.parse
        for stamp, line in self.lines[start_index:]:
            parsed = parse(line)
            if parsed is None:
                continue
            event_id, sent = parsed
            if first <= event_id <= last and event_id not in out:
                out[event_id] = (stamp, sent)
        return out

    def received(self, first: int, last: int, start_index: int = 0) -> dict[int, int]:
        """id -> receive time (the first time), for events first..last."""
        return {event_id: stamp for event_id, (stamp, _) in self.first_arrivals(first, last, start_index).items()}

    def count_between(self, first: int, last: int, start_index: int = 0) -> int:
        return len(self.first_arrivals(first, last, start_index))

    def latencies(self, first: int, last: int, start_index: int = 0) -> list[int]:
        return [stamp - sent for stamp, sent in self.first_arrivals(first, last, start_index).values()]

    def wait_count(self, first: int, last: int, start_index: int, timeout: float) -> int:
        """Waits (bounded) until every event first..last arrived, checking the tail cheaply; returns the count."""
        deadline = time.monotonic() + timeout
        want = last - first + 1
        while True:
            # Cheap check first: enough new lines and the last one is the last event.
            if len(self.lines) - start_index >= want:
                count = self.count_between(first, last, start_index)
                if count >= want:
                    return count
            if time.monotonic() >= deadline or self.proc.poll() is not None:
                return self.count_between(first, last, start_index)
            time.sleep(0.05)

    def memory(self) -> dict:
        return memory_of(self.proc.pid)

    def cpu_ticks(self) -> int:
        fields = pathlib.Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15 of stat)

    def stop(self) -> None:
        stop_process(self.proc)
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def memory_of(pid: int) -> dict:
    rss_kb = None
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kb = int(line.split()[1])
    private_kb = 0
    for line in pathlib.Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            private_kb += int(line.split()[1])
    if rss_kb is None:
        raise HarnessError(f"no VmRSS for pid {pid}")
    return {"rss_kb": rss_kb, "private_kb": private_kb}


# --- clients -------------------------------------------------------------------------------------------------


def parse_alertdesk(line: bytes):
    try:
        alert = json.loads(line)
        return int(alert["id"].removeprefix("bench-")), int(alert["body"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def parse_peer(line: bytes):
    try:
        event = json.loads(line)
        return int(event["id"]), int(event["t"])
    except (ValueError, KeyError, TypeError):
        return None


class Spec:
    def __init__(self, name: str, proto: str, kind: str, argv, parse, tmpfs: bool = False):
        self.name, self.proto, self.kind, self.argv, self.parse, self.tmpfs = name, proto, kind, argv, parse, tmpfs


def client_specs(binary: pathlib.Path, node: str, python: str) -> dict[str, Spec]:
    def alertdesk(proto: str):
        profile = HERE / f"bench-{proto}.toml"
        return lambda url: [str(binary), "listen", "--json", "--profile", str(profile), "--server",
                            url.replace("ws://", "http://").removesuffix("/ws")]

    specs = [
        Spec("alertdesk", "socketio", "alertdesk", alertdesk("socketio"), parse_alertdesk),
        Spec("alertdesk (tmpfs)", "socketio", "alertdesk", alertdesk("socketio"), parse_alertdesk, tmpfs=True),
        Spec("socket.io-client", "socketio", "peer", lambda url: [node, str(HERE / "peers" / "sio_client.js"), url],
             parse_peer),
        Spec("python-socketio", "socketio", "peer",
             lambda url: [python, str(HERE / "peers" / "sio_client.py"), url], parse_peer),
        Spec("alertdesk ws", "ws", "alertdesk", alertdesk("ws"), parse_alertdesk),
        Spec("alertdesk ws (tmpfs)", "ws", "alertdesk", alertdesk("ws"), parse_alertdesk, tmpfs=True),
        Spec("ws", "ws", "peer", lambda url: [node, str(HERE / "peers" / "ws_client.js"), url], parse_peer),
    ]
    return {spec.name: spec for spec in specs}


# --- figures -------------------------------------------------------------------------------------------------


def percentile(sorted_values: list[int], fraction: float) -> int:
    """Nearest rank."""
    if not sorted_values:
        raise HarnessError("no samples")
    rank = max(1, int(-(-fraction * len(sorted_values) // 1)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class Bench:
    def __init__(self, args):
        self.args = args
        self.node = shutil.which("node") or "node"
        self.specs = client_specs(pathlib.Path(args.bin).resolve(), self.node, args.python)
        self.data_root = pathlib.Path(tempfile.mkdtemp(prefix="alertdesk-bench-data-"))
        self.emitters: dict[str, Emitter] = {}
        self.results: dict = {"latency": [], "throughput": [], "memory": [], "dead_link": [], "idle_cpu": []}

    def emitter(self, proto: str) -> Emitter:
        if proto not in self.emitters:
            self.emitters[proto] = Emitter(proto, self.node)
        return self.emitters[proto]

    def start(self, name: str, url: str | None = None) -> Client:
        spec = self.specs[name]
        client = Client(spec, url or self.emitter(spec.proto).client_url(), self.data_root)
        client.wait_live()
        return client

    def close(self) -> None:
        for emitter in self.emitters.values():
            emitter.stop()
        shutil.rmtree(self.data_root, ignore_errors=True)

    # Latency: one client at a time; `count` events at `rate`; latency = stdout line read - emitter send time.
    def latency(self, name: str, rate: int, seconds: float) -> dict:
        client = self.start(name)
        try:
            time.sleep(0.3)
            emitter = self.emitter(client.spec.proto)
            count = max(1, int(rate * seconds))
            start_index = len(client.lines)
            first, last = emitter.run(count, rate)
            status = emitter.wait_done(seconds * 3 + 10)
            got = client.wait_count(first, last, start_index, 15)
            samples = sorted(client.latencies(first, last, start_index))
        finally:
            client.stop()
        if not samples:
            raise HarnessError(f"latency {name} @ {rate}/s: no event arrived")
        row = {"client": name, "rate": rate, "sent": count, "received": got, "emit_seconds": status["seconds"],
               "p50_ms": percentile(samples, 0.50) / 1e6, "p99_ms": percentile(samples, 0.99) / 1e6,
               "max_ms": samples[-1] / 1e6, "mean_ms": sum(samples) / len(samples) / 1e6}
        log(f"  latency {name:22} {rate:>6}/s  n={got}/{count}  p50 {row['p50_ms']:.3f}  p99 {row['p99_ms']:.3f}"
            f"  max {row['max_ms']:.3f} ms")
        self.results["latency"].append(row)
        return row

    # Throughput: raise the rate; a step passes when, 0.5 s after the emitter finished, the client has at least
    # 99 % of the step's events. The figure is the highest passing step's achieved emit rate.
    def throughput(self, name: str, rates: list[int], window: float) -> dict:
        client = self.start(name)
        steps = []
        best = 0.0
        limited_by_emitter = False
        try:
            time.sleep(0.3)
            emitter = self.emitter(client.spec.proto)
            for rate in rates:
                count = int(rate * window)
                start_index = len(client.lines)
                first, last = emitter.run(count, rate)
                status = emitter.wait_done(window * 10 + 10)
                time.sleep(0.5)
                got = client.count_between(first, last, start_index)
                achieved = count / status["seconds"] if status["seconds"] > 0 else float(rate)
                ok = got >= 0.99 * count
                steps.append({"rate": rate, "achieved": round(achieved), "received_at_end": got, "sent": count,
                              "kept_up": ok})
                log(f"  throughput {name:22} step {rate:>7}/s (emitted {achieved:9.0f}/s): "
                    f"{got}/{count} at end {'ok' if ok else 'FELL BEHIND'}")
                if not ok:
                    break
                best = achieved
                if achieved < 0.9 * rate:
                    limited_by_emitter = True
                    break
                client.wait_count(first, last, start_index, 10)  # drain before the next step
        finally:
            client.stop()
        row = {"client": name, "events_per_s": round(best), "limited_by_emitter": limited_by_emitter, "steps": steps}
        self.results["throughput"].append(row)
        return row

    # Memory: VmRSS and smaps_rollup private (clean + dirty) of the client's own process, idle 1 s after it went
    # live, then after `count` events (every one received, then 1 s to settle).
    def memory(self, name: str, count: int, rate: int) -> dict:
        client = self.start(name)
        try:
            time.sleep(1.0)
            idle = client.memory()
            row = {"client": name, "idle": idle}
            if count:
                emitter = self.emitter(client.spec.proto)
                start_index = len(client.lines)
                ticks = client.cpu_ticks()
                first, last = emitter.run(count, rate)
                emitter.wait_done(count / rate * 5 + 20)
                got = client.wait_count(first, last, start_index, 60)
                cpu_us = (client.cpu_ticks() - ticks) / CLK_TCK * 1e6
                time.sleep(1.0)
                row.update({"after": client.memory(), "alerts": got, "sent": count,
                            "cpu_us_per_event": round(cpu_us / max(got, 1), 2)})
                client.lines.clear()
        finally:
            client.stop()
        after = row.get("after")
        log(f"  memory {name:22} idle RSS {idle['rss_kb'] / 1024:.1f} MiB private {idle['private_kb'] / 1024:.1f} MiB"
            + (f"; after {row['alerts']} events RSS {after['rss_kb'] / 1024:.1f} MiB private "
               f"{after['private_kb'] / 1024:.1f} MiB, {row['cpu_us_per_event']} us CPU per event" if after else ""))
        self.results["memory"].append(row)
        return row

    @contextlib.contextmanager
    def proxied_clients(self, names: list[str]):
        """Every client through a proxy of its own to its emitter, all live; all stopped afterwards."""
        proxies: dict[str, Proxy] = {}
        clients: dict[str, Client] = {}
        try:
            for name in names:
                spec = self.specs[name]
                emitter = self.emitter(spec.proto)
                proxy = proxies[name] = Proxy(emitter.port)
                clients[name] = Client(spec, emitter.client_url(proxy.port), self.data_root)
            for client in clients.values():
                client.wait_live()
            time.sleep(0.5)
            yield proxies, clients
        finally:
            for client in clients.values():
                client.stop()
            for proxy in proxies.values():
                proxy.close()

    def recorded_runs(self, names: list[str], rate: int, seconds: float) -> dict:
        """Starts a steady, recorded stream on each protocol the clients use: proto -> (first id, last id)."""
        return {proto: self.emitter(proto).run(int(rate * seconds), rate, record=True)
                for proto in sorted({self.specs[n].proto for n in names})}

    def finish_runs(self, runs: dict, seconds: float) -> None:
        for proto in runs:
            self.emitter(proto).wait_done(seconds + 30)
        time.sleep(3.0)

    @staticmethod
    def delivery(client: Client, runs: dict) -> dict:
        first, last = runs[client.spec.proto]
        got = client.count_between(first, last)
        return {"sent": last - first + 1, "received": got, "lost": last - first + 1 - got}

    # Dead link: every client through its own black-holing proxy, all at once. Steady 20 events/s; at T0 every
    # proxy black-holes; detection = first not-live status after T0; the proxy is restored (links cut, then
    # forwarding) 1 s after detection, or at T0 + cap; back live = first live status after the restore.
    def dead_link(self, names: list[str], cap: float, restore_after: float = 1.0) -> list[dict]:
        rate = 20
        lead = 3.0
        total = lead + cap + restore_after + 11.0
        rows = []
        with self.proxied_clients(names) as (proxies, clients):
            runs = self.recorded_runs(names, rate, total)
            time.sleep(lead)
            t0 = time.monotonic_ns()
            for proxy in proxies.values():
                proxy.set_mode("blackhole")
            log(f"  dead link: all {len(proxies)} proxies black-holed")
            detected: dict[str, int | None] = {}
            restored: dict[str, int] = {}
            deadline = t0 + int(cap * 1e9)
            while len(restored) < len(names) and time.monotonic_ns() < deadline + int((restore_after + 2) * 1e9):
                now = time.monotonic_ns()
                for name, client in clients.items():
                    if name in restored:
                        continue
                    if name not in detected:
                        stamp = client.wait_status(NOT_LIVE, t0, 0)
                        if stamp is not None:
                            detected[name] = stamp
                    due = detected[name] + int(restore_after * 1e9) if name in detected else deadline
                    if now >= due:
                        proxies[name].set_mode("cut")
                        restored[name] = time.monotonic_ns()
                time.sleep(0.05)
            back = {name: clients[name].wait_status(("live",), restored[name], 15) for name in restored}
            self.finish_runs(runs, total)
            for name, client in clients.items():
                row = {
                    "client": name,
                    "detect_s": (detected[name] - t0) / 1e9 if detected.get(name) else None,
                    "back_live_s": (back[name] - restored[name]) / 1e9 if back.get(name) else None,
                    **self.delivery(client, runs),
                    "cap_s": cap,
                    "restore_after_s": restore_after,
                }
                rows.append(row)
                log(f"  dead link {name:22} detected {fmt_s(row['detect_s'], cap)}  back live "
                    f"{fmt_s(row['back_live_s'], 15)}  lost {row['lost']}/{row['sent']}")
        self.results["dead_link"].extend(rows)
        return rows

    # Server outage: every client through its own proxy; at T0 every proxy closes the links and then refuses
    # (accepts and closes) new connections for `outage` seconds, as a restarting server does; then it forwards
    # again. Back live = first live status after forwarding resumed; lost as for the dead link.
    def server_outage(self, names: list[str], outage: float) -> list[dict]:
        rate, lead = 20, 3.0
        total = lead + outage + 15.0
        rows = []
        with self.proxied_clients(names) as (proxies, clients):
            runs = self.recorded_runs(names, rate, total)
            time.sleep(lead)
            t0 = time.monotonic_ns()
            for proxy in proxies.values():
                proxy.set_mode("cut")  # closes every link (and forwards: the next line refuses at once)
                proxy.set_mode("refuse")
            log(f"  server outage: all {len(proxies)} links cut, new connections refused for {outage:g} s")
            time.sleep(outage)
            for proxy in proxies.values():
                proxy.set_mode("forward")
            t1 = time.monotonic_ns()
            back = {name: client.wait_status(("live",), t1, 40) for name, client in clients.items()}
            down = {name: client.wait_status(NOT_LIVE, t0, 0) for name, client in clients.items()}
            self.finish_runs(runs, total)
            for name, client in clients.items():
                row = {"client": name, "outage_s": outage,
                       "noticed_s": (down[name] - t0) / 1e9 if down.get(name) else None,
                       "back_live_s": (back[name] - t1) / 1e9 if back.get(name) else None,
                       **self.delivery(client, runs)}
                rows.append(row)
                log(f"  server outage {name:22} back live {fmt_s(row['back_live_s'], 40)} after the server "
                    f"returned; lost {row['lost']}/{row['sent']}")
        self.results.setdefault("outage", []).extend(rows)
        return rows

    # Idle CPU: every client connected at once, no traffic; utime + stime from /proc/PID/stat over `seconds`.
    def idle_cpu(self, names: list[str], seconds: float) -> list[dict]:
        clients = [self.start(name) for name in names]
        rows = []
        try:
            time.sleep(2.0)
            before = {c.name: c.cpu_ticks() for c in clients}
            start = time.monotonic()
            time.sleep(seconds)
            elapsed = time.monotonic() - start
            for client in clients:
                ticks = client.cpu_ticks() - before[client.name]
                row = {"client": client.name, "seconds": round(elapsed, 1), "cpu_ms": ticks * 1000 / CLK_TCK,
                       "cpu_percent": ticks / CLK_TCK / elapsed * 100}
                rows.append(row)
                log(f"  idle cpu {client.name:22} {row['cpu_ms']:.0f} ms CPU in {elapsed:.0f} s "
                    f"({row['cpu_percent']:.3f} %)")
        finally:
            for client in clients:
                client.stop()
        self.results["idle_cpu"].extend(rows)
        return rows


def fmt_s(value, cap) -> str:
    return f"{value:.2f} s" if value is not None else f"> {cap:.0f} s"


# --- checks and reports --------------------------------------------------------------------------------------


def check_ldd(binary: pathlib.Path) -> list[str]:
    """The desktop libraries `binary` links (must be none)."""
    output = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, timeout=30).stdout
    return [line.strip() for line in output.splitlines()
            if any(word in line.lower() for word in ("gtk", "webkit", "javascriptcore"))]


def machine() -> dict:
    cpu = "?"
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(pathlib.Path("/proc/meminfo").read_text().split()[1])

    def version(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    return {"date_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "nproc": os.cpu_count(),
            "cpu": cpu, "ram_gib": round(mem_kb / 1024 / 1024, 1), "kernel": platform.release(),
            "node": version(["node", "--version"]), "python": platform.python_version(),
            "rustc": version(["rustc", "--version"])}


def peer_for(name: str) -> str:
    return "alertdesk ws" if name == "ws" else "alertdesk"


def table(title: str, header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([f"\n{title}", line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
                     + [line(r) for r in rows])


def ratio(a, b) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}"


def idle_rss_target(mem: list[dict]) -> list[str]:
    """One line per Alertdesk client: its idle RSS against the 10 MB target (reported, never a failure)."""
    lines = []
    for r in mem:
        if "alertdesk" in r["client"]:
            rss = r["idle"]["rss_kb"] * 1024
            verdict = "met" if rss < IDLE_RSS_TARGET_BYTES else "MISSED"
            lines.append(f"target idle RSS < 10 MB: {r['client']}: {rss / 1e6:.2f} MB "
                         f"({rss / 2**20:.2f} MiB): {verdict}")
    return lines


def report(results: dict) -> str:
    out = []
    lat = results["latency"]
    if lat:
        rows = []
        by = {(r["client"], r["rate"]): r for r in lat}
        for r in lat:
            ref = by.get((peer_for(r["client"]), r["rate"])) if "alertdesk" not in r["client"] else None
            rows.append([r["client"], r["rate"], f"{r['received']}/{r['sent']}", f"{r['p50_ms']:.3f}",
                         f"{r['p99_ms']:.3f}", f"{r['max_ms']:.3f}",
                         ratio(ref and ref["p50_ms"], r["p50_ms"]), ratio(ref and ref["p99_ms"], r["p99_ms"]),
                         ratio(ref and ref["max_ms"], r["max_ms"])])
        out.append(table("Delivery latency, server emit -> line read by the driver (ms); ratio = Alertdesk / peer",
                         ["client", "events/s", "received", "p50", "p99", "max", "p50 ratio", "p99 ratio",
                          "max ratio"], rows))
    thr = results["throughput"]
    if thr:
        by = {r["client"]: r for r in thr}
        rows = []
        for r in thr:
            ref = by.get(peer_for(r["client"])) if "alertdesk" not in r["client"] else None
            rows.append([r["client"], r["events_per_s"], "yes" if r["limited_by_emitter"] else "no",
                         ratio(ref and ref["events_per_s"], r["events_per_s"])])
        out.append(table("Sustained throughput (events/s kept up with, 99 % received 0.5 s after the window)",
                         ["client", "events/s", "emitter-limited", "ratio"], rows))
    mem = results["memory"]
    if mem:
        by = {r["client"]: r for r in mem}
        rows = []
        for r in mem:
            ref = by.get(peer_for(r["client"])) if "alertdesk" not in r["client"] else None
            after = r.get("after") or {}
            ref_after = (ref or {}).get("after") or {}
            mib = lambda kb: f"{kb / 1024:.1f}" if kb else "-"  # noqa: E731
            rows.append([r["client"], mib(r["idle"]["rss_kb"]), mib(r["idle"]["private_kb"]),
                         mib(after.get("rss_kb")), mib(after.get("private_kb")), r.get("alerts", "-"),
                         r.get("cpu_us_per_event", "-"),
                         ratio(ref and ref["idle"]["rss_kb"], r["idle"]["rss_kb"]),
                         ratio(ref_after.get("rss_kb"), after.get("rss_kb"))])
        out.append(table("Memory of the listener process (MiB); ratio = Alertdesk RSS / peer RSS",
                         ["client", "idle RSS", "idle private", "after RSS", "after private", "events",
                          "CPU us/event", "idle ratio", "after ratio"], rows))
        out.extend(idle_rss_target(mem))
    dead = results["dead_link"]
    if dead:
        by = {r["client"]: r for r in dead}
        rows = []
        for r in dead:
            ref = by.get(peer_for(r["client"])) if "alertdesk" not in r["client"] else None
            rows.append([r["client"], fmt_s(r["detect_s"], r["cap_s"]), fmt_s(r["back_live_s"], 15),
                         f"{r['lost']}/{r['sent']}", ratio(ref and ref["detect_s"], r["detect_s"]),
                         ratio(ref and ref["back_live_s"], r["back_live_s"])])
        out.append(table("Dead link (proxy black-holes the link): detection, back live after the path returns "
                         f"({dead[0]['restore_after_s']:g} s after detection), events lost", ["client", "detected after", "back live after", "lost", "detect ratio",
                                         "back-live ratio"], rows))
    outage = results.get("outage") or []
    if outage:
        by = {r["client"]: r for r in outage}
        rows = []
        for r in outage:
            ref = by.get(peer_for(r["client"])) if "alertdesk" not in r["client"] else None
            rows.append([r["client"], fmt_s(r["back_live_s"], 40), f"{r['lost']}/{r['sent']}",
                         ratio(ref and ref["back_live_s"], r["back_live_s"])])
        out.append(table(f"Server outage ({outage[0]['outage_s']:g} s of closed links and refused connections): "
                         "back live after the server returns, events lost",
                         ["client", "back live after", "lost", "back-live ratio"], rows))
    idle = results["idle_cpu"]
    if idle:
        by = {r["client"]: r for r in idle}
        rows = []
        for r in idle:
            ref = by.get(peer_for(r["client"])) if "alertdesk" not in r["client"] else None
            rows.append([r["client"], f"{r['cpu_ms']:.0f}", f"{r['cpu_percent']:.3f}",
                         ratio(ref and ref["cpu_ms"], r["cpu_ms"])])
        out.append(table(f"Idle CPU, connected, no traffic ({idle[0]['seconds']:.0f} s)",
                         ["client", "CPU ms", "CPU %", "ratio"], rows))
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--smoke", action="store_true", help="a few seconds: latency at 10/s and idle RSS")
    mode.add_argument("--full", action="store_true", help="every figure; writes tests/bench/results/<date>.txt")
    parser.add_argument("--bin", default=str(ROOT / "target" / "release" / "alertdesk-cli"))
    parser.add_argument("--python", default=sys.executable, help="Python for the python-socketio peer")
    parser.add_argument("--desktop-binary", action="store_true",
                        help="--bin is the desktop binary `alertdesk` (its `listen`): skip the no-GTK check")
    parser.add_argument("--events", type=int, default=100_000, help="events for the memory-after figure")
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--dead-cap", type=float, default=55.0, help="longest wait for a dead-link detection")
    parser.add_argument("--restore-after", type=float, default=1.0,
                        help="dead link: seconds between a client's detection and the path's return")
    parser.add_argument("--outage", type=float, default=20.0, help="server outage: seconds of refused connections")
    parser.add_argument("--only", default="", help="comma-separated figures (latency,throughput,memory,dead,outage,idle)")
    parser.add_argument("--out", default="", help="raw output file (default tests/bench/results/<date>.txt)")
    args = parser.parse_args()

    binary = pathlib.Path(args.bin)
    if not binary.is_file():
        print(f"bench: {binary} is missing; build it first", file=sys.stderr)
        return 2
    if not (ROOT / "tests" / "servers" / "node_modules").is_dir():
        print("bench: tests/servers/node_modules is missing: run `npm ci` in tests/servers", file=sys.stderr)
        return 2
    info = machine()
    info["binary"] = str(binary)
    bad = check_ldd(binary)
    if bad and args.desktop_binary:
        log(f"ldd {binary}: the desktop binary, measured as asked (--desktop-binary); it links {len(bad)} "
            "desktop libraries")
    elif bad:
        print(f"bench: {binary} links desktop libraries:\n  " + "\n  ".join(bad), file=sys.stderr)
        return 1
    else:
        log(f"ldd {binary}: no GTK, WebKit or JavaScriptCore library")
    bench = Bench(args)
    started = time.monotonic()
    try:
        if args.smoke:
            for name in ("alertdesk", "socket.io-client"):
                row = bench.latency(name, 10, 1.5)
                if row["received"] != row["sent"]:
                    raise HarnessError(f"smoke: {name} received {row['received']} of {row['sent']} events")
                bench.memory(name, 0, 0)
            log(report(bench.results))
            log(f"bench-smoke: harness OK in {time.monotonic() - started:.1f} s")
            return 0

        only = set(filter(None, args.only.split(","))) or {"latency", "throughput", "memory", "dead", "outage", "idle"}
        log(f"machine: {json.dumps(info)}")
        main_clients = ["alertdesk", "socket.io-client", "python-socketio", "alertdesk ws", "ws"]
        if "latency" in only:
            for rate, seconds in ((10, 10.0), (1000, 5.0), (10000, 3.0)):
                for name in bench.specs:
                    bench.latency(name, rate, seconds)
        if "throughput" in only:
            rates = [5000, 10000, 20000, 40000, 60000, 80000, 100000, 120000, 140000, 160000, 200000, 240000]
            for name in ["alertdesk", "alertdesk (tmpfs)"] + main_clients[1:]:
                bench.throughput(name, rates, 2.0)
        if "memory" in only:
            for name in main_clients:
                bench.memory(name, args.events, 10000)
        if "dead" in only:
            bench.dead_link(main_clients, args.dead_cap, args.restore_after)
        if "outage" in only:
            bench.server_outage(main_clients, args.outage)
        if "idle" in only:
            bench.idle_cpu(main_clients, args.idle_seconds)
        text = report(bench.results)
        log(text)
        elapsed = time.monotonic() - started
        log(f"bench: done in {elapsed:.0f} s")
        out = pathlib.Path(args.out) if args.out else HERE / "results" / f"{dt.date.today().isoformat()}.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(f"# Alertdesk benchmark, {info['date_utc']}\n# machine: {json.dumps(info)}\n"
                       f"# wall time: {elapsed:.0f} s\n{text}\n\n# raw results (JSON)\n"
                       + json.dumps(bench.results, indent=1) + "\n")
        log(f"bench: raw output in {out}")
        return 0
    except HarnessError as e:
        print(f"bench: harness error: {e}", file=sys.stderr)
        return 1
    finally:
        bench.close()


if __name__ == "__main__":
    sys.exit(main())
