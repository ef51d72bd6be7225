#!/usr/bin/env python3
"""Desktop benchmark: the real `alertdesk` window (WebKitGTK, through tauri-driver) with 10,000 alerts.

    python tests/bench/desktop.py [--bin target/release/alertdesk] [--alerts 10000] [--probes 100]
    python tests/bench/desktop.py --floor target/release/examples/empty_window [--no-gpu]

Run it under a display and a session bus (`make bench-desktop` does: xvfb-run + dbus-run-session). Figures:

- memory: resident (VmRSS) and proportional (Pss) memory of the app and every process under it (WebKit's web
  and network processes included), with 10,000 alerts in the list;
- row latency: for `--probes` alerts sent one at a time (10 per second) on top of the 10,000, the time from the
  emitter's send to the alert's row being in the list and a frame drawn after it.

With `--floor BIN` it measures the floor instead: the memory of an empty Tauri window (`examples/empty_window.rs`:
an empty page, the app's WebKit settings, no UI and no engine), with WebKit's defaults (`--plain`) and with each
setting given to `--try` (a setting measured before it is adopted).

The emitter stamps events with CLOCK_MONOTONIC; the page stamps rows with its wall clock (performance.timeOrigin
+ now(), after requestAnimationFrame). This script reads both clocks together to convert. One machine, so the
clocks agree to well under a millisecond.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(HERE))
from run import Emitter, HarnessError, http_json, machine, percentile  # noqa: E402
from support.desktop import Background, free_port  # noqa: E402
from support.webdriver import WebDriver  # noqa: E402

# A row is drawn for an alert when a row element for it enters the list, or when the list writes it into a row it
# drew before (rows are reused: ui/src/list.ts).
OBSERVE = """
window.__rows = {};
const list = document.querySelector('[data-testid="alert-list"]');
new MutationObserver((records) => {
  const seen = [];
  for (const r of records) {
    if (r.type === 'childList') {
      for (const n of r.addedNodes) if (n.dataset && n.dataset.alertId) seen.push(n.dataset.alertId);
    } else if (r.target.dataset.alertId && !r.target.hidden) {
      seen.push(r.target.dataset.alertId);
    }
  }
  if (seen.length) requestAnimationFrame(() => {
    const at = performance.timeOrigin + performance.now();
    for (const id of seen) if (!(id in window.__rows)) window.__rows[id] = at;
  });
}).observe(list, { childList: true, attributes: true, subtree: true, attributeFilter: ['data-alert-id', 'hidden'] });
return true;
"""


def tree_memory(root_pid: int) -> dict:
    """VmRSS and Pss (kB) of `root_pid` and all its descendants, per process name and in all."""
    children: dict[int, list[int]] = {}
    for status in pathlib.Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        children.setdefault(int(fields["PPid"].strip()), []).append(int(fields["Pid"].strip()))
    todo, pids = [root_pid], []
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, []))
    rows = []
    for pid in pids:
        try:
            name = pathlib.Path(f"/proc/{pid}/comm").read_text().strip()
            rss = next(int(line.split()[1]) for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines()
                       if line.startswith("VmRSS:"))
            pss = sum(int(line.split()[1]) for line in pathlib.Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
                      if line.startswith("Pss:"))
        except (OSError, StopIteration):
            continue
        rows.append({"pid": pid, "name": name, "rss_kb": rss, "pss_kb": pss})
    return {"processes": rows, "rss_kb": sum(r["rss_kb"] for r in rows), "pss_kb": sum(r["pss_kb"] for r in rows)}


def settled_memory(pid: int, seconds: float = 8.0) -> dict:
    """The tree's memory once the web process is up and `seconds` have passed (the last of three samples)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(p["name"].startswith("WebKitWebProces") for p in tree_memory(pid)["processes"]):
            break
        time.sleep(0.2)
    else:
        raise HarnessError("no web process appeared")
    time.sleep(seconds)
    samples = []
    for _ in range(3):
        samples.append(tree_memory(pid))
        time.sleep(1)
    return samples[-1]


def floor(args, say) -> int:
    """Memory of the empty window: with the app's settings, WebKit's defaults, and each setting tried."""
    variants = [("the app's WebKit settings", [])]
    variants.append(("WebKit's defaults (--plain)", ["--plain"]))
    for name in args.try_setting:
        variants.append((f"the app's settings and --try {name}", ["--try", name]))
    gpu = ["--no-gpu"] if args.no_gpu else []
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    say(f"# Alertdesk desktop floor: an empty Tauri window, {stamp}")
    say(f"machine: {machine()}")
    say(f"binary: {args.floor}; compositing: {'software (--no-gpu)' if args.no_gpu else 'default'}")
    for title, extra in variants:
        for run in range(args.runs):
            proc = subprocess.Popen([args.floor, *gpu, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
            try:
                mem = settled_memory(proc.pid)
            finally:
                os.killpg(proc.pid, 15)
                proc.wait(15)
            say(f"memory, {title} (run {run + 1}): RSS {mem['rss_kb'] / 1024:.1f} MiB in all, "
                f"PSS {mem['pss_kb'] / 1024:.1f} MiB")
            for p in mem["processes"]:
                say(f"  {p['pid']:>7} {p['name']:<22} RSS {p['rss_kb'] / 1024:7.1f} MiB  PSS {p['pss_kb'] / 1024:7.1f} MiB")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(ROOT / "target" / "release" / "alertdesk"))
    parser.add_argument("--node", default="node")
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--probes", type=int, default=100)
    parser.add_argument("--no-gpu", action="store_true", help="run the app with [window] gpu = false")
    parser.add_argument("--out", default="")
    parser.add_argument("--floor", default="", help="measure this empty-window binary (examples/empty_window.rs)")
    parser.add_argument("--try", dest="try_setting", action="append", default=[],
                        help="with --floor: also measure the empty window with this setting (repeatable)")
    parser.add_argument("--runs", type=int, default=1, help="with --floor: runs of each variant")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        print("desktop bench: needs a display and a session bus (make bench-desktop)", file=sys.stderr)
        return 2
    if args.floor:
        lines: list[str] = []

        def say_floor(text: str) -> None:
            print(text, flush=True)
            lines.append(text)

        code = floor(args, say_floor)
        suffix = "-no-gpu" if args.no_gpu else ""
        out = pathlib.Path(args.out) if args.out else HERE / "results" / f"{dt.date.today()}-desktop-floor{suffix}.txt"
        out.write_text("\n".join(lines) + "\n")
        print(f"written to {out}")
        return code

    data_dir = pathlib.Path(tempfile.mkdtemp(prefix="alertdesk-bench-desktop-"))
    if args.no_gpu:
        (data_dir / "config").mkdir(parents=True)
        (data_dir / "config" / "settings.toml").write_text("[window]\ngpu = false\n")
    emitter = Emitter("ws", args.node)
    bg = Background()
    driver = None
    lines = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    try:
        port, native = free_port(), free_port()
        bg.start("tauri-driver", "--port", str(port), "--native-port", str(native), "--native-driver",
                 "/usr/bin/WebKitWebDriver", log=data_dir / "tauri-driver.log")
        WebDriver(f"http://127.0.0.1:{port}").wait_ready()
        WebDriver(f"http://127.0.0.1:{native}").wait_ready()
        driver = WebDriver(f"http://127.0.0.1:{port}")
        driver.start(args.bin, ["--data-dir", str(data_dir), "--profile", str(HERE / "bench-ws.toml"),
                                "--server", emitter.url])
        driver.wait_for("return document.querySelector('[data-testid=\"server-status\"]')?.dataset.state",
                        lambda s: s == "live", timeout=60)
        app_pid = int(subprocess.run(["pgrep", "-o", "-f", "--", f"--data-dir {data_dir}"], capture_output=True,
                                     text=True).stdout.split()[0])
        idle = tree_memory(app_pid)

        # Fill the list.
        started = time.monotonic()
        emitter.run(args.alerts, 2000.0)
        emitter.wait_done(120)
        driver.wait_for("return document.querySelector('[data-testid=\"list-count\"]').textContent",
                        lambda t: t == f"{args.alerts} alerts", timeout=180)
        fill_s = time.monotonic() - started
        time.sleep(3)
        full = tree_memory(app_pid)

        # Row latency on top of the full list.
        driver.execute(OBSERVE)
        wall_ns, mono_ns = time.time_ns(), time.monotonic_ns()
        offset_ns = wall_ns - mono_ns
        first, last = emitter.run(args.probes, 10.0, record=True)
        emitter.wait_done(args.probes / 10 + 30)
        sent = {f"bench-{e['id']}": int(e["t"]) for e in
                http_json("GET", emitter.url + f"/bench/events?since={first - 1}")["events"]}
        try:
            driver.wait_for("return arguments[0].every((id) => id in window.__rows)", bool, 30, list(sent))
        except TimeoutError:
            pass  # reported below as missing rows
        rows = driver.execute("return window.__rows")
        latencies_us = sorted(int((rows[k] * 1e6 - (t + offset_ns)) / 1000) for k, t in sent.items() if k in rows)
        missing = [k for k in sent if k not in rows]

        stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        say(f"# Alertdesk desktop benchmark, {stamp}")
        say(f"machine: {machine()}")
        say(f"binary: {args.bin}; settings: [window] gpu = {'false' if args.no_gpu else 'true (default)'}")
        say(f"list filled with {args.alerts} alerts (sent at 2000/s) in {fill_s:.1f} s")
        for title, mem in (("idle, connected, empty list", idle), (f"{args.alerts} alerts in the list", full)):
            say(f"memory, {title}: RSS {mem['rss_kb'] / 1024:.1f} MiB in all, PSS {mem['pss_kb'] / 1024:.1f} MiB")
            for p in mem["processes"]:
                say(f"  {p['pid']:>7} {p['name']:<22} RSS {p['rss_kb'] / 1024:7.1f} MiB  PSS {p['pss_kb'] / 1024:7.1f} MiB")
        if not latencies_us:
            raise HarnessError("no probe row was seen")
        say(f"row latency, {len(latencies_us)} alerts at 10/s on top of {args.alerts}: "
            f"p50 {percentile(latencies_us, 0.5) / 1000:.1f} ms, p99 {percentile(latencies_us, 0.99) / 1000:.1f} ms, "
            f"max {latencies_us[-1] / 1000:.1f} ms; missing rows: {len(missing)}")
        suffix = "-no-gpu" if args.no_gpu else ""
        out = pathlib.Path(args.out) if args.out else HERE / "results" / f"{dt.date.today()}-desktop{suffix}.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(lines) + "\n")
        print(f"written to {out}")
        return 1 if missing else 0
    finally:
        if driver:
            driver.quit()
        subprocess.run(["pkill", "-f", "--", f"--data-dir {data_dir}"], check=False)
        bg.stop_all()
        emitter.stop()


if __name__ == "__main__":
    sys.exit(main())
