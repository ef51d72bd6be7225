"""A session that lasts the shift (issue #19, item 3): the seed-003 Socket.IO server with short-lived JWTs (seconds),
a compressed shift of several token lifetimes with alerts sent throughout, the real OS keyring (gnome-keyring) and,
for the warning, a recording notification server on the test session's D-Bus.

- With a refresh request (REFRESH=1 and a profile that declares it): the token is renewed before each expiry and
  swapped into the live link; every alert arrives exactly once and the link never shows signed out.
- Without one (the seed's own server): one critical "Sign in again" notification before the token expires; once
  signed in again, what was sent while signed out is caught up, and nothing twice.
- A refresh token the server stops honouring falls back to the warning.
"""

import base64
import json
import os
import subprocess
import time

import pytest

from conftest import binary
from support.keyring import files_containing, secret_lookup
from support.listener import Listener

pytestmark = pytest.mark.skipif(not os.environ.get("DBUS_SESSION_BUS_ADDRESS"),
                                reason="needs the session bus the Makefile provides (dbus-run-session)")

EVENT = "EV1"
REFRESHING = """extends = "crowd-monitoring"

[auth.login]
refresh_token = "refreshToken"
expires_in = "expiresIn"

[auth.login.refresh]
path = "{{$api_base}}/auth/refresh"
body = { refreshToken = "{{$refresh_token}}" }
"""


def environment(tmp_path, settings: str = "") -> dict:
    data = tmp_path / "alertdesk"
    (data / "config").mkdir(parents=True, exist_ok=True)
    (data / "config" / "settings.toml").write_text(settings)
    env = dict(os.environ, ALERTDESK_DATA_DIR=str(data), HOME=str(tmp_path / "home"))
    env.pop("ALERTDESK_TOKEN", None)
    return env


def login(name: str, profile: str, server, env: dict) -> None:
    result = subprocess.run([str(binary(name)), "login", "--profile", profile, "--server", server.url,
                             "--username", "officer@crowd.test", "--password-stdin", "--set", f"event_id={EVENT}"],
                            input="secret\n", env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "the token is in the OS keyring" in result.stdout, result.stdout


def expiry(token: str) -> float:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["exp"]


def notices(listener: Listener, kind: str) -> list[dict]:
    out = []
    for line in list(listener.stderr_lines):
        if line.startswith("{"):
            value = json.loads(line)
            if value.get("notice") == kind:
                out.append(value)
    return out


def wait_notice(listener: Listener, kind: str, timeout: float) -> list[dict]:
    """The `kind` notices printed, once there is one (bounded in time)."""
    deadline = time.monotonic() + timeout
    while not notices(listener, kind) and time.monotonic() < deadline:
        time.sleep(0.1)
    return notices(listener, kind)


class Feed:
    """Sends the seed's events to room event:EV1 through its REST routes, with a dispatcher's token of its own."""

    def __init__(self, server):
        self.server = server
        self.token = server.login("dispatcher")
        self.token_at = time.monotonic()
        self.sent: list[str] = []

    def _auth(self) -> str:
        if time.monotonic() - self.token_at > 2:  # the server's tokens live only seconds too
            self.token, self.token_at = self.server.login("dispatcher"), time.monotonic()
        return self.token

    def report(self, message: str) -> str:
        record = self.server.post("/api/v1/reports", {"eventId": EVENT, "message": message, "type": "incident"},
                                  token=self._auth()).json()
        self.sent.append(f"report-{record['id']}")
        return self.sent[-1]

    def crowd(self, zone: str) -> str:
        record = self.server.post("/api/v1/cctv/objects", {"eventId": EVENT, "zoneId": zone, "count": 42},
                                  token=self._auth()).json()
        self.sent.append(f"alert-{record['alert']['id']}")
        return self.sent[-1]

    def action(self, command: str) -> str:
        """An operator action: no list holds these, so only a link that was never down delivers them all."""
        record = self.server.post("/api/v1/actions", {"eventId": EVENT, "command": command, "zoneId": "Z1"},
                                  token=self._auth()).json()
        self.sent.append(f"action-{record['id']}")
        return self.sent[-1]


def collect(listener: Listener, want: set[str], timeout: float) -> list[str]:
    """The ids printed until every one of `want` was (bounded in time)."""
    return [a["id"] for a in collect_alerts(listener, want, timeout)]


def collect_alerts(listener: Listener, want: set[str], timeout: float) -> list[dict]:
    """The alerts printed until every one of `want` was (bounded in time)."""
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    while not want <= {a["id"] for a in got} and time.monotonic() < deadline:
        try:
            _, alert = listener.alerts.get(timeout=0.2)
        except Exception:  # queue.Empty
            continue
        got.append(alert)
    return got


def test_with_a_refresh_token_the_shift_goes_on_with_nothing_lost(secret_service, servers, tmp_path):
    ttl, shift = 6, 32  # more than five token lifetimes
    server = servers("crowd-monitoring", REFRESH="1", TOKEN_TTL=str(ttl))
    profile = tmp_path / "crowd-refresh.toml"
    profile.write_text(REFRESHING)
    env = environment(tmp_path)
    login("alertdesk-cli", str(profile), server, env)
    account = f"crowd-monitoring@{server.url}"
    first_token, first_refresh = secret_lookup(account), secret_lookup(f"{account} refresh")
    assert first_token and first_refresh, "the token and the refresh token are both in the keyring"

    listener = Listener(binary("alertdesk-cli"), str(profile), server.url, "--set", f"event_id={EVENT}", env=env,
                        keep_bus=True)
    try:
        listener.wait_status("live")
        assert server.wait_clients(1) == 1
        feed = Feed(server)
        started = time.monotonic()
        n = 0
        while time.monotonic() - started < shift:
            n += 1
            [feed.report, feed.crowd, feed.action][n % 3](f"Z{n}")
            time.sleep(0.3)
        got = collect(listener, set(feed.sent), timeout=20)
        assert sorted(got) == sorted(feed.sent), f"lost {set(feed.sent) - set(got)}, twice {len(got) - len(set(got))}"
        assert len(feed.sent) >= 90

        renewed = notices(listener, "session_renewed")
        assert len(renewed) >= shift // ttl - 1, listener.stderr_lines
        # Every renewal the server answered was taken (one may be on its way as we look).
        assert len(renewed) <= server.get("/__test/refreshes").json()["count"] <= len(renewed) + 1
        # Never signed out, never down: each renewal swapped the new token in before the old one expired.
        states = [s["status"] for s in listener.statuses]
        assert "auth_failed" not in states and "reconnecting" not in states, states
        assert not notices(listener, "gap") and not notices(listener, "session_ending")
    finally:
        assert listener.stop() == 0

    # The keyring holds the latest token and refresh token (rotated: the first ones are spent) and nothing else does.
    token, refresh = secret_lookup(account), secret_lookup(f"{account} refresh")
    assert token != first_token and refresh != first_refresh
    assert expiry(token) > expiry(first_token) + ttl
    assert server.post("/api/v1/auth/refresh", {"refreshToken": refresh}).status_code == 200, "not the latest"
    output = "\n".join(listener.stderr_lines) + listener.log_text()
    for secret in (token, refresh, first_refresh):
        assert secret not in output
        assert files_containing(tmp_path / "alertdesk", secret) == []


def test_without_a_refresh_token_one_warning_then_signing_in_again_catches_up(secret_service, notifications, servers,
                                                                             tmp_path):
    ttl, warn = 14, 9
    server = servers("crowd-monitoring", TOKEN_TTL=str(ttl))
    env = environment(tmp_path, f"[session]\nwarn_before_secs = {warn}\n")
    login("alertdesk", "crowd-monitoring", server, env)
    account = f"crowd-monitoring@{server.url}"
    exp = expiry(secret_lookup(account))

    listener = Listener(binary("alertdesk"), "crowd-monitoring", server.url, "--set", f"event_id={EVENT}", "--notify",
                        env=env, keep_bus=True)
    feed = Feed(server)
    try:
        listener.wait_status("live")
        assert server.wait_clients(1) == 1
        before = [feed.report("before"), feed.crowd("Z1")]
        assert sorted(collect(listener, set(before), timeout=10)) == sorted(before)

        # One critical notification, before the token expires, whose button signs in again.
        warning = notifications.wait_for(lambda c: c["summary"].startswith("Sign in again to "), timeout=ttl)
        assert time.time() < exp, "warned only after the token expired"
        assert "the session ends at" in warning["summary"], warning
        assert warning["hints"]["urgency"] == 2 and warning["expire_timeout"] == 0, warning
        assert warning["actions"][0::2] == ["sign_in"] and "Sign in again" in warning["actions"], warning
        ending = wait_notice(listener, "session_ending", timeout=5)
        assert len(ending) == 1 and ending[0]["server"] == server.url, ending

        # The server drops the socket when the token expires and refuses it after: listening ends (exit 3).
        assert listener.wait_exit(timeout=ttl + 15) == 3
        assert listener.statuses[-1]["status"] == "auth_failed"
        warnings = [c for c in notifications.calls if c["summary"].startswith("Sign in again to ")]
        assert len(warnings) == 1, "said once"
        assert any(c["summary"].startswith("Signed out of") and "sign_in" in c["actions"]
                   for c in notifications.calls), notifications.calls
    finally:
        listener.stop()

    # Sent while signed out.
    missed = [feed.report("while signed out"), feed.crowd("Z2"), feed.report("still signed out")]

    # Signing in again is one step; listening again catches up what was missed, and nothing twice.
    login("alertdesk", "crowd-monitoring", server, env)
    again = Listener(binary("alertdesk"), "crowd-monitoring", server.url, "--set", f"event_id={EVENT}", env=env,
                     keep_bus=True)
    try:
        again.wait_status("live")
        got = collect_alerts(again, set(missed), timeout=15)
        ids = [a["id"] for a in got]
        assert sorted(i for i in ids if i in missed) == sorted(missed), ids
        assert all(a["source"] == "backfill" for a in got if a["id"] in missed), got
        # Anything else is a known alert's new version (the list says its status, its live event did not), not a
        # repeat: the history knew it.
        for alert in got:
            if alert["id"] not in missed:
                assert alert["id"] in before and alert["status"] == "active", alert
        after = feed.report("after")
        assert collect(again, {after}, timeout=10) == [after]
        again.no_alert(1)
    finally:
        assert again.stop() == 0


def test_a_refused_refresh_token_falls_back_to_signing_in_again(secret_service, servers, tmp_path):
    ttl = 10
    server = servers("crowd-monitoring", REFRESH="1", TOKEN_TTL=str(ttl))
    profile = tmp_path / "crowd-refresh.toml"
    profile.write_text(REFRESHING)
    env = environment(tmp_path)
    login("alertdesk-cli", str(profile), server, env)
    account = f"crowd-monitoring@{server.url}"
    exp = expiry(secret_lookup(account))
    listener = Listener(binary("alertdesk-cli"), str(profile), server.url, "--set", f"event_id={EVENT}", env=env,
                        keep_bus=True)
    try:
        listener.wait_status("live")
        server.post("/__test/revoke-refresh").raise_for_status()
        # The renewal (halfway) is refused: the warning comes at once, before the token expires.
        assert wait_notice(listener, "session_ending", timeout=ttl), listener.stderr_lines
        assert time.time() < exp
        deadline = time.monotonic() + 5  # removed off the engine's task
        while secret_lookup(f"{account} refresh") is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert secret_lookup(f"{account} refresh") is None, "the refused refresh token stays in the keyring"
        assert secret_lookup(account), "the token itself is still good until it expires"
        assert listener.wait_exit(timeout=ttl + 15) == 3
        assert "rejected the credentials" in "\n".join(listener.stderr_lines)
        assert not notices(listener, "session_renewed")
    finally:
        listener.stop()


def test_a_token_that_expired_while_away_is_renewed_at_start(secret_service, servers, tmp_path):
    """The morning after: the token in the keyring expired overnight, the refresh token did not."""
    ttl = 3
    server = servers("crowd-monitoring", REFRESH="1", TOKEN_TTL=str(ttl))
    profile = tmp_path / "crowd-refresh.toml"
    profile.write_text(REFRESHING)
    env = environment(tmp_path)
    login("alertdesk-cli", str(profile), server, env)
    account = f"crowd-monitoring@{server.url}"
    expired = secret_lookup(account)
    time.sleep(max(0.0, expiry(expired) - time.time()) + 1)
    listener = Listener(binary("alertdesk"), str(profile), server.url, "--set", f"event_id={EVENT}", env=env,
                        keep_bus=True)
    try:
        listener.wait_status("live", timeout=20)
        feed = Feed(server)
        sent = feed.report("good morning")
        assert collect(listener, {sent}, timeout=10) == [sent]
        assert wait_notice(listener, "session_renewed", timeout=5), listener.stderr_lines
        assert "auth_failed" not in [s["status"] for s in listener.statuses]
        # Renewed before anyone had to be told, and never live before: nothing to warn about, no outage to report.
        assert not notices(listener, "session_ending") and not notices(listener, "gap"), listener.stderr_lines
        deadline = time.monotonic() + 5  # kept off the engine's task
        while expiry(secret_lookup(account)) <= expiry(expired) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert expiry(secret_lookup(account)) > expiry(expired), "the renewed token is not in the keyring"
    finally:
        assert listener.stop() == 0
