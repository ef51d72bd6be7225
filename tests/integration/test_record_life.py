"""Record life for every built-in profile and the demo, against its seed-style server (the default one and every
dialect of it): `listen --json --notify` through a proxy, with a recording D-Bus notification server.

The story, where the seed's backend can tell it:
1. a critical record is created, assigned to me, changed by an update that names neither owner nor priority,
   and closed: each printed version keeps what its event did not state (kind, priority, assigned to me), the
   notifications say why ("Assigned to you.", "Status: completed."), and the repeats stop at closing;
2. the link goes down: meanwhile a record is assigned to me and another is closed on the server, and the
   officer answers a third from its notification (a response the server cannot hear yet);
3. the link comes back: the caught-up records arrive as their live events would have (an assignment to me, with
   its notification; a closed record, said once), events no list covers are named in a gap notice, the response
   reaches the server once, and nothing of the closed record comes back.
"""

import json
import subprocess
import time

import pytest

from conftest import binary, headless_env
from support.dialects import CLI, DIALECTS, base_args, id_key, record_id
from support.listener import Listener
from support.proxy import Proxy

REPEAT_SECS = 5


class Story:
    """What one seed's backend can do to a record, through its REST API (never through the proxy)."""

    profile = ""
    kind = "report"  # the kind of a new record's alert
    assigns = True  # the backend can assign a record to me
    closes = "completed"  # the closing status it reaches, or None
    response = "acknowledge"  # the notification action answering a record during the outage
    uncovered: tuple[str, ...] = ()  # events a gap after an outage must name
    args: tuple[str, ...] = ()
    partial_keeps_text = True  # its partial update carries no text of its own (the title stays)

    def __init__(self, server, token: str):
        self.server, self.token = server, token

    def post(self, method: str, path: str, body=None) -> dict:
        response = self.server.request(method, self.server.api_path(path), json=body, token=self.token)
        assert response.status_code in (200, 201), f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def current(self, path: str, record: dict) -> dict:
        """The record as the server's list at `path` has it now (whatever shape the dialect answers in)."""
        listed = self.server.get(self.server.api_path(path), token=self.token).json()
        items = listed if isinstance(listed, list) else next(v for v in listed.values() if isinstance(v, list))
        return next((r for r in items if record_id(r) == record_id(record)), {})

    def alert_id(self, record: dict) -> str:
        raise NotImplementedError

    def create(self, marker: str, critical: bool) -> dict:
        raise NotImplementedError

    def assign_to_me(self, record: dict) -> None:
        raise NotImplementedError

    def partial_update(self, record: dict) -> bool:
        """An event naming neither owner nor priority; False where the seed has none."""
        return False

    def close(self, record: dict) -> None:
        raise NotImplementedError

    def responded(self, record: dict) -> bool:
        """Whether the server holds the response made during the outage."""
        raise NotImplementedError

    def answered(self, alert: dict) -> bool:
        """Whether a printed version shows the server's own event for that response (acknowledgements have
        none)."""
        return alert["assigned_to_me"] is True


class EmergencyDispatch(Story):
    profile = "emergency-dispatch"
    response = "respond:take"
    uncovered = ("unit_status_update",)
    args = ("--set", "user_id=U-7")

    def alert_id(self, record):
        return f"emergency-{record_id(record)}"

    def create(self, marker, critical):
        return self.post("POST", "/api/emergencies", {"type": "Fire", "description": f"Kitchen fire {marker}",
                                                       "priority": "critical" if critical else "medium",
                                                       "location": "Main St 4"})

    def assign_to_me(self, record):
        self.post("POST", f"/api/emergencies/{record_id(record)}/assign", {"unit_id": "U-7"})

    def partial_update(self, record):
        self.server.emit("emergency_updated", {"action": "noted",
                                               "emergency": {id_key(record): record_id(record), "status": "assigned"}})
        return True

    def close(self, record):
        self.post("POST", f"/api/emergencies/{record_id(record)}/complete", {})

    def responded(self, record):
        now = self.current("/api/emergencies", record)
        return "U-7" in (now.get("unit_id"), now.get("unitId"), now.get("assigned_unit"))


class ServiceCalls(Story):
    profile = "service-calls"
    response = "respond:take"
    uncovered = ("user_deleted",)
    args = ("--set", "user_id=u-officer")

    def alert_id(self, record):
        return f"call-{record_id(record)}"

    def create(self, marker, critical):
        return self.post("POST", "/api/calls", {"title": f"Printer jam {marker}", "customer": "ACME",
                                                "priority": "urgent" if critical else "normal"})

    def assign_to_me(self, record):
        self.post("POST", f"/api/calls/{record_id(record)}/assign", {"assignedTo": "u-officer"})

    def partial_update(self, record):
        self.server.emit("call_updated", {id_key(record): record_id(record), "status": "assigned"})
        return True

    def close(self, record):
        self.post("POST", f"/api/calls/{record_id(record)}/complete", {})

    def responded(self, record):
        now = self.current("/api/calls", record)
        return "u-officer" in (now.get("assignedTo"), now.get("assigned_to"))


class StationReports(Story):
    """Seed 002 has new reports only: no assignment, update or closing. Its record life is the report, its
    catch-up, and the acknowledgement made while the server is away."""

    profile = "station-reports"
    assigns = False
    closes = None

    def alert_id(self, record):
        return f"report-{record_id(record)}"

    def create(self, marker, critical):
        return self.post("POST", "/api/reports", {"station_id": 4, "category": "Burglary",
                                                  "description": f"Back door {marker}", "location": "Main St 12",
                                                  "priority": "critical" if critical else "normal"})

    def responded(self, record):
        return self.current("/api/reports", record).get("status") == "acknowledged"


class CrowdMonitoring(Story):
    """Seed 003's crowd alerts: created by a detection, resolved by an operator. Nobody is assigned."""

    profile = "crowd-monitoring"
    kind = "alert"
    assigns = False
    closes = "resolved"
    response = "respond:resolve"
    uncovered = ("action:created", "insight:update", "prediction:update")
    args = ("--set", "event_id=EV1")

    def alert_id(self, record):
        return f"alert-{record_id(record)}"

    def create(self, marker, critical):
        detection = self.post("POST", "/api/v1/cctv/objects", {"eventId": "EV1", "zoneId": f"Z-{marker}",
                                                                "count": 55 if critical else 45})
        return next(v for k, v in detection.items() if k == "alert")

    def partial_update(self, record):
        self.server.emit("alert:updated", {id_key(record): record_id(record), "status": "acknowledged"},
                         room="event:EV1")
        return True

    def close(self, record):
        self.post("PATCH", f"/api/v1/alerts/{record_id(record)}/resolve", {})

    def responded(self, record):
        return self.current("/api/v1/alerts?eventId=EV1", record).get("status") == "resolved"

    def answered(self, alert):
        return alert["status"] == "resolved"


class Ticketing(Story):
    """Seed 004: a ticket is claimed (by me: assigned to me), updated and closed."""

    profile = "ticketing"
    closes = "closed"
    partial_keeps_text = False  # each update is the whole ticket, fetched
    response = "respond:claim"
    uncovered = ("comment", "time_entry", "shipment", "site", "attachment")
    args = ("--set", "user_id=u-officer")

    def alert_id(self, record):
        return f"ticket-{record_id(record)}"

    def create(self, marker, critical):
        return self.post("POST", "/api/tickets", {"title": f"Replace router {marker}", "site": "HQ",
                                                  "priority": "critical" if critical else "normal"})

    def assign_to_me(self, record):
        self.post("POST", f"/api/tickets/{record_id(record)}/claim", {})

    def partial_update(self, record):
        self.post("PATCH", f"/api/tickets/{record_id(record)}", {"site": "Annex"})
        return True

    def close(self, record):
        self.post("PATCH", f"/api/tickets/{record_id(record)}", {"status": "closed"})

    def responded(self, record):
        ticket = self.server.get(self.server.api_path(f"/api/tickets/{record_id(record)}"), token=self.token).json()
        return "u-officer" in (ticket.get("claimed_by"), ticket.get("claimedBy"))


class Demo(Story):
    """The built-in demo backend (`alertdesk demo`): the officer is assigned by the dispatcher."""

    profile = "demo"
    closes = "closed"
    response = "respond:en_route"
    partial_keeps_text = False  # every demo update carries the whole report

    def __init__(self, demo, officer: str, dispatcher: str):
        super().__init__(demo, officer)
        self.dispatcher = dispatcher

    def as_dispatcher(self, path: str, body=None) -> dict:
        response = self.server.post(path, body, token=self.dispatcher)
        assert response.status_code in (200, 201), f"{path}: {response.status_code} {response.text}"
        return response.json()

    def alert_id(self, record):
        return f"demo-{record['id']}"

    def create(self, marker, critical):
        return self.as_dispatcher("/api/reports", {"category": "Missing person", "description": f"Boy {marker}",
                                                   "priority": "critical" if critical else "normal",
                                                   "location": "12 Elm St", "station_id": 4})

    def assign_to_me(self, record):
        self.as_dispatcher(f"/api/reports/{record['id']}/assign", {"assigned_to": "officer"})

    def partial_update(self, record):
        self.as_dispatcher(f"/api/reports/{record['id']}/acknowledge")
        return True

    def close(self, record):
        self.as_dispatcher(f"/api/reports/{record['id']}/status", {"status": "closed"})

    def responded(self, record):
        response = self.server.http.get(f"{self.server.url}/api/reports",
                                        headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
        mine = [r for r in response.json()["reports"] if r["id"] == record["id"]]
        return bool(mine) and mine[0]["status"] == "en_route"

    def answered(self, alert):
        return alert["status"] == "en_route"


STORIES = {s.profile: s for s in (EmergencyDispatch, ServiceCalls, StationReports, CrowdMonitoring, Ticketing)}


class Life:
    """One run of the story: the listener (through a proxy), its notifications, and what it printed."""

    def __init__(self, story: Story, notifications, tmp_path, binary_name: str):
        self.story, self.notifications = story, notifications
        self.proxy = Proxy(story.server.port)
        (tmp_path / "config").mkdir(parents=True, exist_ok=True)
        (tmp_path / "config" / "settings.toml").write_text(
            f"[alerting]\nrepeat_every_secs = {REPEAT_SECS}\ncoalesce_above = 50\n")
        self.listener = Listener(binary(binary_name), story.profile, self.proxy.url, "--notify", *story.args,
                                 *base_args(story.server), token=story.token, data_dir=tmp_path, keep_bus=True)
        self.listener.wait_status("live", timeout=20)
        if hasattr(story.server, "wait_clients"):
            story.server.wait_clients(1)

    def next_version(self, alert_id: str, timeout: float = 10) -> dict:
        """The next printed alert, which must be `alert_id`'s."""
        alert = self.listener.next_alert(timeout=timeout)
        assert alert["id"] == alert_id, alert
        return alert

    def told(self, alert: dict) -> list[dict]:
        """The notifications shown for an alert (by its title, unique per record)."""
        return [c for c in self.notifications.calls if alert["title"] in c["summary"]]

    def told_with(self, alert: dict, reason: str, timeout: float = 10) -> dict:
        title = alert["title"]
        return self.notifications.wait_for(lambda c: title in c["summary"] and c["body"].startswith(reason), timeout)

    def gaps(self) -> list[str]:
        return [line for line in self.listener.stderr_lines if '"notice": "gap"' in line or '"notice":"gap"' in line]

    def stop(self) -> None:
        try:
            assert self.listener.stop() == 0, "\n".join(self.listener.stderr_lines)
        finally:
            self.proxy.close()


def versions(alert: dict) -> tuple:
    return alert["kind"], alert["priority"], alert["assigned_to_me"]


def live_story(life: Life, story: Story) -> tuple[dict, float]:
    """Part 1: create, assign to me, a partial update, close (or acknowledge where nothing closes). Returns the
    last version and when it was closed or answered."""
    record = story.create("A", critical=True)
    alert_id = story.alert_id(record)
    alert = life.next_version(alert_id)
    assert versions(alert) == (story.kind, "critical", False), alert
    first = life.told_with(alert, "")
    assert first["hints"]["urgency"] == 2, first
    kind = story.kind
    if story.assigns:
        story.assign_to_me(record)
        alert = life.next_version(alert_id)
        kind = "report" if story.profile == "ticketing" else "assignment"
        assert versions(alert) == (kind, "critical", True), alert
        life.told_with(alert, "Assigned to you.")
    if story.partial_update(record):
        before = alert
        alert = life.next_version(alert_id)
        assert versions(alert) == versions(before), f"the update changed what it did not state: {alert}"
        if story.partial_keeps_text:
            assert (alert["title"], alert["body"]) == (before["title"], before["body"]), alert
    if story.closes:
        story.close(record)
        alert = life.next_version(alert_id)
        assert alert["status"].lower() == story.closes, alert
        assert versions(alert) == (kind, "critical", story.assigns), f"closing kept the rest: {alert}"
        life.told_with(alert, f"Status: {alert['status']}.")
    else:
        # Acknowledged from its notification: the server hears it, the repeats stop.
        life.notifications.invoke_action(first["id"], "acknowledge")
        deadline = time.monotonic() + 10
        while not story.responded(record) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert story.responded(record), "the acknowledgement did not reach the server"
    return alert, time.monotonic()


def outage_story(life: Life, story: Story, closed: dict, closed_at: float) -> None:
    """Parts 2 and 3: what happens on the server while the link is down, and how it comes back."""
    assign_me = story.create("B", critical=False) if story.assigns else None
    close_me = story.create("D", critical=False) if story.closes else None
    answer_me = story.create("E", critical=False)
    before = {}
    for record in (r for r in (assign_me, close_me, answer_me) if r is not None):
        before[story.alert_id(record)] = life.next_version(story.alert_id(record))
    answer_alert = before[story.alert_id(answer_me)]
    answer_note = life.told_with(answer_alert, "")
    action_keys = answer_note["actions"][0::2]
    assert story.response in action_keys, f"{story.response} not offered: {answer_note['actions']}"

    life.proxy.down()
    life.listener.wait_status("reconnecting", timeout=15)
    if assign_me is not None:
        story.assign_to_me(assign_me)
    if close_me is not None:
        story.close(close_me)
    # The officer answers from the notification; the server cannot hear it yet.
    life.notifications.invoke_action(answer_note["id"], story.response)
    deadline = time.monotonic() + 10
    while not any("did not reach the server yet" in line for line in life.listener.stderr_lines):
        assert time.monotonic() < deadline, "\n".join(life.listener.stderr_lines)
        time.sleep(0.1)
    assert not story.responded(answer_me)

    lives_before = life.listener.count("live")
    life.proxy.up()
    assert life.listener.wait_for_more("live", lives_before, timeout=20), "\n".join(life.listener.stderr_lines)

    caught_up = {story.alert_id(r) for r in (assign_me, close_me) if r is not None}
    answer_id = story.alert_id(answer_me)
    got: dict[str, dict] = {}
    answered = story.response == "acknowledge"  # an acknowledgement has no event of its own to wait for
    deadline = time.monotonic() + 20
    # Where nothing closes, the answered record's new state on the server (acknowledged) is learned once.
    learned = set() if story.closes else {closed["id"]}
    while not ((caught_up | learned) <= set(got) and answered) and time.monotonic() < deadline:
        alert = life.listener.next_alert(timeout=max(0.1, deadline - time.monotonic()))
        assert alert["id"] != closed["id"] or alert["id"] in learned, f"the closed record came back: {alert}"
        assert alert["id"] in caught_up | {answer_id} | learned, f"unexpected: {alert}"
        assert alert["id"] not in got or alert["id"] == answer_id, f"twice: {alert}"
        got[alert["id"]] = alert
        answered = answered or (alert["id"] == answer_id and story.answered(alert))
    assert (caught_up | learned) <= set(got) and answered, (got, caught_up, learned)

    if assign_me is not None:
        alert = got[story.alert_id(assign_me)]
        assert alert["assigned_to_me"] is True and alert["source"] != "live", alert
        if story.profile != "ticketing":
            assert alert["kind"] == "assignment", alert
        life.told_with(alert, "Assigned to you.")
    if close_me is not None:
        alert = got[story.alert_id(close_me)]
        assert alert["status"].lower() == story.closes and alert["source"] != "live", alert
        life.told_with(alert, f"Status: {alert['status']}.")

    # The response reaches the server once it is back.
    deadline = time.monotonic() + 15
    while not story.responded(answer_me) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert story.responded(answer_me), "the response made while the server was down never reached it"

    gaps = life.gaps()
    if story.uncovered:
        assert gaps, "no gap notice for events no list holds:\n" + "\n".join(life.listener.stderr_lines)
        for event in story.uncovered:
            assert event in gaps[-1], gaps
    else:
        assert gaps == [], gaps

    # Closed (or answered) means quiet: no notification for it since, repeats included.
    wait = closed_at + REPEAT_SECS + 1 - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    told = life.told(closed)
    assert max(c["at"] for c in told) <= closed_at + 0.5, f"notified after closing: {told[-1]}"


def run(story: Story, notifications, tmp_path, binary_name: str = CLI) -> None:
    life = Life(story, notifications, tmp_path, binary_name)
    try:
        closed, closed_at = live_story(life, story)
        outage_story(life, story, closed, closed_at)
        life.listener.no_alert(1.0)
    finally:
        life.stop()
    # The gap is in the history too.
    shown = subprocess.run([str(binary(binary_name)), "--data-dir", str(tmp_path), "history", "--gaps", "--json"],
                           capture_output=True, text=True, timeout=30, env=headless_env())
    assert shown.returncode == 0, shown.stderr
    gaps = [json.loads(line) for line in shown.stdout.splitlines()]
    assert len(gaps) == (1 if story.uncovered else 0), gaps
    for event in story.uncovered:
        assert event in gaps[0]["note"], gaps


CASES = [(p, None) for p in STORIES] + [(p, d) for p, dialects in DIALECTS.items() for d in dialects]


@pytest.mark.parametrize("profile,dialect", CASES, ids=[f"{p}[{d or 'default'}]" for p, d in CASES])
def test_record_life(profile, dialect, servers, notifications, tmp_path):
    server = servers(profile, **({"DIALECT": dialect} if dialect else {}))
    story = STORIES[profile](server, server.login("officer"))
    run(story, notifications, tmp_path, CLI if dialect else "alertdesk")


def test_record_life_on_the_demo(demos, notifications, tmp_path):
    demo = demos(binary(CLI))
    demo.base = "/api"  # for base_args: the profile's own
    run(Demo(demo, demo.login("officer"), demo.login("dispatcher")), notifications, tmp_path)
