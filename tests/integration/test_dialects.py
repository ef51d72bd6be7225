"""Every built-in profile against many dialects of its seed's server (tests/servers/README.md, "Dialects"): what
the seeds leave open (socket auth, field names, camelCase or snake_case, id field and type, REST base, list
shape and order) chosen differently, as independently written servers do.

Each case is one server process running the seed's story: records created live become the right alerts (never
"untitled"), assignments to me are marked, and records created while the client was stopped come back by
catching up from the lists when it starts again, exactly once, with no gap and no problem reported. Then the
same again with the override `profile probe --write` produced for that server, for one dialect per seed.
"""

import json
import subprocess
import time

import pytest

from conftest import binary, headless_env
from support.dialects import CLI, DIALECTS, TOKEN_ALWAYS, auth_off, base_args, record_id
from support.listener import Listener

class Story:
    """One seed's story on a server: creating records (live or while the client is away) and what they become."""

    def __init__(self, profile: str, server, token: str):
        self.profile, self.server, self.token = profile, server, token

    def post(self, path: str, body: dict) -> dict:
        response = self.server.post(self.server.api_path(path), body, token=self.token)
        assert response.status_code in (200, 201), f"{path}: {response.status_code} {response.text}"
        return response.json()

    def create(self, n: int) -> tuple[str, str]:
        """Creates record `n`; returns the alert id it must become and (part of) its expected title."""
        p = self.profile
        if p == "emergency-dispatch":
            r = self.post("/api/emergencies", {"type": "Fire", "description": f"Kitchen fire {n}",
                                                "priority": "high", "location": "Main St 4"})
            return f"emergency-{record_id(r)}", f"Fire: Kitchen fire {n}"
        if p == "service-calls":
            r = self.post("/api/calls", {"title": f"Printer jam {n}", "customer": "ACME", "priority": "high"})
            return f"call-{record_id(r)}", f"New call: Printer jam {n}"
        if p == "station-reports":
            r = self.post("/api/reports", {"station_id": 4, "category": "Burglary", "description": f"Back door {n}",
                                           "priority": "high", "location": "Main St 12"})
            return f"report-{record_id(r)}", f"Burglary: Back door {n}"
        if p == "crowd-monitoring":
            r = self.post("/api/v1/reports", {"eventId": "EV1", "message": f"Person fainted {n}", "type": "medical"})
            return f"report-{record_id(r)}", f"medical report: Person fainted {n}"
        r = self.post("/api/tickets", {"title": f"Replace router {n}", "site": "HQ", "priority": "high"})
        return f"ticket-{record_id(r)}", f"Replace router {n}"

    def assign_to_me(self, alert_id: str) -> bool:
        """Assigns the record to the listening user where the seed can; says whether it did."""
        raw = alert_id.split("-", 1)[1]
        if self.profile == "emergency-dispatch":
            self.post(f"/api/emergencies/{raw}/assign", {"unit_id": "U-7"})
            return True
        if self.profile == "service-calls":
            self.post(f"/api/calls/{raw}/assign", {"assignedTo": "u-officer"})
            return True
        return False

    def listen_args(self) -> list[str]:
        return {
            "emergency-dispatch": ["--set", "user_id=U-7"],
            "service-calls": ["--set", "user_id=u-officer"],
            "crowd-monitoring": ["--set", "event_id=EV1"],
        }.get(self.profile, [])


def start_listener(profile, server, story, data_dir, token, extra=()):
    listener = Listener(binary(CLI), profile, server.url, *story.listen_args(), *base_args(server), *extra,
                        token=token, data_dir=data_dir)
    listener.wait_status("live", timeout=20)
    return listener


def quiet(listener) -> None:
    """No gap and no problem was reported: the profile fits the server."""
    notices = [line for line in listener.stderr_lines if '"notice"' in line]
    assert notices == [], "\n".join(listener.stderr_lines)


def run_story(profile: str, dialect: str, servers, tmp_path, use_profile: str | None = None):
    server = servers(profile, DIALECT=dialect)
    story = Story(profile, server, server.login("officer"))
    token = story.token if (profile in TOKEN_ALWAYS or not auth_off(dialect)) else None
    data_dir = tmp_path / "data"
    chosen = use_profile or profile

    listener = start_listener(chosen, server, story, data_dir, token)
    alert_id, title = story.create(1)
    alert = listener.next_alert(timeout=10)
    assert (alert["id"], alert["title"]) == (alert_id, title), alert
    assert alert["source"] == "live"
    if story.assign_to_me(alert_id):
        alert = listener.next_alert(timeout=10)
        assert (alert["id"], alert["kind"], alert["assigned_to_me"]) == (alert_id, "assignment", True), alert
    quiet(listener)
    assert listener.stop() == 0

    # Created while the client is away: caught up from the lists on the next start, once each.
    away = [story.create(n) for n in (2, 3, 4)]
    listener = start_listener(chosen, server, story, data_dir, token)
    got = {}
    deadline = time.monotonic() + 15
    while len(got) < len(away) and time.monotonic() < deadline:
        alert = listener.next_alert(timeout=max(0.1, deadline - time.monotonic()))
        assert alert["id"] not in got, f"twice: {alert}"
        got[alert["id"]] = (alert["title"], alert["source"])
    assert got == {i: (t, "backfill") for i, t in away}, got
    listener.no_alert(1.0)
    quiet(listener)
    assert listener.stop() == 0


CASES = [(p, d) for p, dialects in DIALECTS.items() for d in dialects]


@pytest.mark.parametrize("profile,dialect", CASES, ids=[f"{p}[{d}]" for p, d in CASES])
def test_builtin_profile_against_a_dialect(profile, dialect, servers, tmp_path):
    run_story(profile, dialect, servers, tmp_path)


@pytest.mark.parametrize("profile", list(DIALECTS))
def test_probe_writes_an_override_that_works(profile, servers, tmp_path):
    """`profile probe --write` against the first dialect: it reports the protocol and auth it found, the events
    it saw, the lists; the override it writes checks out and runs the same story."""
    dialect = DIALECTS[profile][0]
    server = servers(profile, DIALECT=dialect)
    story = Story(profile, server, server.login("officer"))
    override = tmp_path / "override.toml"
    env = headless_env(ALERTDESK_DATA_DIR=str(tmp_path / "probe"))
    if profile in TOKEN_ALWAYS or not auth_off(dialect):
        env["ALERTDESK_TOKEN"] = story.token
    probe = subprocess.Popen(
        [str(binary(CLI)), "profile", "probe", "--server", server.url, "--profile", profile, "--seconds", "4",
         "--json", "--write", str(override), *story.listen_args()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(2.0)  # connected by now; something happens while it watches
    story.create(9)
    out, err = probe.communicate(timeout=30)
    assert probe.returncode == 0, err
    report = json.loads(out)
    assert report["connection"]["connected"] is True
    assert report["connection"]["auth_needed"] is (not auth_off(dialect)), report["connection"]
    seen = {e["name"]: e for e in report["events"]}
    assert any(e["outcome"] == "alert" for e in seen.values()), report["events"]
    assert report["lists"] and all(l["ok"] for l in report["lists"]), report["lists"]
    if report["api_base"]:
        assert report["api_base"]["base"] == server.base, report["api_base"]

    text = override.read_text()
    assert f'extends = "{profile}"' in text, text
    check = subprocess.run([str(binary(CLI)), "profile", "check", str(override)], capture_output=True, text=True,
                           timeout=30, env=headless_env())
    assert check.returncode == 0, check.stderr
    shown = subprocess.run([str(binary(CLI)), "profile", "show", str(override)], capture_output=True, text=True,
                           timeout=30, env=headless_env())
    assert shown.returncode == 0 and "[[rules]]" in shown.stdout, shown.stderr
    servers_dialect_story = tmp_path / "story"
    servers_dialect_story.mkdir()
    run_story(profile, dialect, servers, servers_dialect_story, use_profile=str(override))
