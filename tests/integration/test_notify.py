"""`alertdesk listen --notify` (duty mode) against real notification servers on the test session's D-Bus."""

import os
import shutil
import subprocess
import time

import pytest

from conftest import APP_ID, binary
from support.listener import Listener
from support.notifications import NotificationServer, kill_notification_daemons

pytestmark = pytest.mark.skipif(not os.environ.get("DBUS_SESSION_BUS_ADDRESS"),
                                reason="needs the session bus the Makefile provides (dbus-run-session)")


def duty(name, server, tmp_path, settings=""):
    (tmp_path / "config").mkdir(parents=True, exist_ok=True)
    (tmp_path / "config" / "settings.toml").write_text(settings)
    return Listener(binary(name), "station-reports", server.url, "--notify", token=server.login("officer"),
                    data_dir=tmp_path, keep_bus=True)


def report(server, priority, description):
    return server.post("/api/reports", {"station_id": 4, "category": "Fire", "description": description,
                                        "priority": priority, "location": "Main St"}).json()


@pytest.mark.parametrize("name", ["alertdesk", "alertdesk-cli"])
def test_critical_alert_notifies_repeats_and_acknowledge_writes_back(notifications, servers, tmp_path, name):
    server = servers("station-reports")
    listener = duty(name, server, tmp_path, "[alerting]\nrepeat_every_secs = 5\n")
    try:
        listener.wait_status("live")
        server.wait_clients(1)
        r = report(server, "critical", "Smoke in stairwell")
        first = notifications.wait_for(lambda c: "Smoke in stairwell" in c["summary"])
        assert first["app_name"] == "Alertdesk"
        assert first["hints"]["urgency"] == 2, first
        assert first["hints"]["sound-file"].endswith("/sounds/critical.ogg"), first
        assert os.path.exists(first["hints"]["sound-file"])
        assert first["hints"]["sound-name"], first
        assert first["actions"][0::2] == ["acknowledge", "open"] and "Acknowledge" in first["actions"], first
        assert first["expire_timeout"] == 0, "critical notifications stay until dismissed"
        assert first["app_icon"].endswith("alertdesk.png")
        # The installed desktop entry (app.alertdesk.Alertdesk.desktop) and a category desktops can filter on.
        assert first["hints"]["desktop-entry"] == APP_ID, first
        assert first["hints"]["category"] == "x-alertdesk.alert.critical", first
        assert listener.next_alert()["id"] == f"report-{r['id']}"  # printed too

        # Unacknowledged: it comes back after the repeat interval.
        again = notifications.wait_for(lambda c: "Smoke in stairwell" in c["summary"] and c["id"] != first["id"],
                                       timeout=10)
        # "Acknowledge" on the notification: the server hears it and the repeats stop.
        notifications.invoke_action(again["id"], "acknowledge")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            mine = [x for x in server.get("/api/reports", token=server.login("officer")).json()["reports"]
                    if x["id"] == r["id"]]
            if mine and mine[0]["status"] == "acknowledged":
                break
            time.sleep(0.2)
        assert mine[0]["status"] == "acknowledged", mine
        count = len([c for c in notifications.calls if "Smoke in stairwell" in c["summary"]])
        time.sleep(6.5)
        assert len([c for c in notifications.calls if "Smoke in stairwell" in c["summary"]]) == count, "kept repeating"
    finally:
        assert listener.stop() == 0


def test_low_priority_alert_notifies_once_with_its_tone(notifications, servers, tmp_path):
    server = servers("station-reports")
    listener = duty("alertdesk-cli", server, tmp_path, "[alerting]\nrepeat_every_secs = 5\n")
    try:
        listener.wait_status("live")
        server.wait_clients(1)
        report(server, "low", "Bin on fire")
        call = notifications.wait_for(lambda c: "Bin on fire" in c["summary"])
        assert call["hints"]["urgency"] == 0 and call["hints"]["sound-file"].endswith("/sounds/low.ogg"), call
        assert call["hints"]["category"] == "x-alertdesk.alert.low", call
        assert call["hints"]["desktop-entry"] == APP_ID, call
        time.sleep(6)
        assert len([c for c in notifications.calls if "Bin on fire" in c["summary"]]) == 1, "only critical repeats"
    finally:
        assert listener.stop() == 0


@pytest.mark.skipif(not shutil.which("dunst") or not os.environ.get("DISPLAY"), reason="needs dunst and a display")
def test_dunst_receives_the_notify_call(servers, tmp_path):
    kill_notification_daemons()
    capture = tmp_path / "notify.log"
    monitor = subprocess.Popen(["dbus-monitor", "--session", "interface='org.freedesktop.Notifications'"],
                               stdout=open(capture, "w"), stderr=subprocess.DEVNULL)
    dunst = subprocess.Popen(["dunst"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = servers("station-reports")
    listener = duty("alertdesk-cli", server, tmp_path / "d")
    try:
        listener.wait_status("live")
        server.wait_clients(1)
        report(server, "high", "Alarm at the bank")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "Alarm at the bank" not in capture.read_text():
            time.sleep(0.2)
        text = capture.read_text()
        assert 'member=Notify' in text and '"Alertdesk"' in text and "Alarm at the bank" in text, text[-2000:]
        assert '"sound-file"' in text and "high.ogg" in text
        assert '"desktop-entry"' in text and f'"{APP_ID}"' in text, text[-2000:]
        assert '"x-alertdesk.alert.high"' in text, text[-2000:]
        assert dunst.poll() is None
    finally:
        assert listener.stop() == 0
        dunst.terminate()
        monitor.terminate()
        dunst.wait(10)
        monitor.wait(10)


def test_a_lost_connection_is_notified_in_its_own_category(notifications, servers, tmp_path):
    server = servers("station-reports")
    listener = duty("alertdesk-cli", server, tmp_path, "[alerting]\nlink_alarm_after_secs = 5\n")
    try:
        listener.wait_status("live")
        server.wait_clients(1)
        server.stop()
        call = notifications.wait_for(lambda c: c["summary"].startswith("No connection to"), timeout=20)
        assert call["hints"]["category"] == "x-alertdesk.connection", call
        assert call["hints"]["desktop-entry"] == APP_ID, call
        assert call["hints"]["urgency"] == 2, call
    finally:
        assert listener.stop() == 0


def test_without_a_notification_service_alerts_still_arrive(servers, tmp_path):
    server = servers("station-reports")
    # No session bus at all: notifications fail fast; the alert is printed and stored anyway.
    listener = Listener(binary("alertdesk-cli"), "station-reports", server.url, "--notify",
                        token=server.login("officer"), data_dir=tmp_path)
    try:
        listener.wait_status("live")
        server.wait_clients(1)
        report(server, "high", "No daemon here")
        assert listener.next_alert()["title"] == "Fire: No daemon here"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any("cannot show notifications" in l for l in listener.stderr_lines):
            time.sleep(0.1)
        assert any("cannot show notifications" in l for l in listener.stderr_lines), listener.stderr_lines
        # With no notification service Alertdesk plays the tone itself; where there is no audio output either
        # (CI), that is said at most once, and alsa-lib's own messages stay off stderr.
        report(server, "high", "Still no daemon")
        assert listener.next_alert()["title"] == "Fire: Still no daemon"
        time.sleep(1)
        assert len([l for l in listener.stderr_lines if "cannot play the notification tone" in l]) <= 1
        assert not any(l.startswith("ALSA lib") for l in listener.stderr_lines), listener.stderr_lines
    finally:
        assert listener.stop() == 0


# --- In-process tones: a notification server without "sound" gets Alertdesk to play the tone itself ----------

# alsa-lib reads ~/.asoundrc: with HOME pointing at a private directory, the default PCM writes every sample it
# is given to a file (raw, in the format Alertdesk opened the device with) instead of a sound card.
ASOUNDRC = 'pcm.!default {{\n  type file\n  slave.pcm "null"\n  file "{out}"\n  format "raw"\n}}\n'
NO_SOUND = ("actions", "body", "body-markup", "persistence")


def audio_to_file(tmp_path):
    home = tmp_path / "home"
    home.mkdir(parents=True)
    out = tmp_path / "audio.raw"
    (home / ".asoundrc").write_text(ASOUNDRC.format(out=out))
    return {"HOME": str(home)}, out


def peak(raw: bytes) -> float:
    """The largest sample magnitude, read as 32-bit float (what Alertdesk opens the device with: checked) or as
    16-bit integer PCM scaled to 1.0."""
    import array

    if len(raw) % 4 == 0:
        floats = array.array("f", raw)
        if floats and all(-1.5 < x < 1.5 for x in floats):
            return max(abs(x) for x in floats)
    ints = array.array("h", raw[: len(raw) // 2 * 2])
    return max((abs(x) for x in ints), default=0) / 32768


def wait_for_audio(out, settle: float = 1.0, timeout: float = 10) -> bytes:
    """The audio written to `out` once it stopped growing."""
    deadline = time.monotonic() + timeout
    size = -1
    while time.monotonic() < deadline:
        now = out.stat().st_size if out.exists() else 0
        if now and now == size:
            return out.read_bytes()
        size = now
        time.sleep(settle)
    return out.read_bytes() if out.exists() else b""


def sound_duty(server, tmp_path, settings, notifications_env):
    (tmp_path / "config").mkdir(parents=True, exist_ok=True)
    (tmp_path / "config" / "settings.toml").write_text(settings)
    return Listener(binary("alertdesk-cli"), "station-reports", server.url, "--notify", token=server.login("officer"),
                    data_dir=tmp_path, keep_bus=True, env=notifications_env)


@pytest.fixture
def silent_server():
    """A notification server whose capabilities lack "sound", as dunst's do."""
    kill_notification_daemons()
    server = NotificationServer(capabilities=NO_SOUND)
    yield server
    server.stop()


def test_a_server_without_sound_gets_the_tone_played_in_process(silent_server, servers, tmp_path):
    server = servers("station-reports")
    env, out = audio_to_file(tmp_path)
    listener = sound_duty(server, tmp_path / "d", "[alerting]\nvolume = 100\n", env)
    try:
        listener.wait_status("live")
        server.wait_clients(1)
        report(server, "critical", "Gas leak")
        call = silent_server.wait_for(lambda c: "Gas leak" in c["summary"])
        assert call["hints"]["sound-file"].endswith("/sounds/critical.ogg")  # the hints are still there
        audio = wait_for_audio(out)
        # The critical tone is 1.08 s long: well over 0.5 s of samples at any rate the device was opened with.
        assert len(audio) > 20_000, f"{len(audio)} bytes of audio"
        loud = peak(audio)
        assert loud > 0.5, f"peak {loud}: silence was played"
        assert not any(l.startswith("ALSA lib") for l in listener.stderr_lines), "alsa-lib wrote to stderr"
    finally:
        assert listener.stop() == 0


def test_the_in_process_tone_follows_the_volume_setting(silent_server, servers, tmp_path):
    server = servers("station-reports")
    peaks = {}
    for volume in (100, 25):
        env, out = audio_to_file(tmp_path / str(volume))
        listener = sound_duty(server, tmp_path / str(volume) / "d", f"[alerting]\nvolume = {volume}\n", env)
        try:
            listener.wait_status("live")
            server.wait_clients(1)
            report(server, "high", f"Alarm {volume}")
            silent_server.wait_for(lambda c, v=volume: f"Alarm {v}" in c["summary"])
            peaks[volume] = peak(wait_for_audio(out))
        finally:
            assert listener.stop() == 0
        server.wait_clients(0)
    assert peaks[100] > 0.3, peaks
    assert 0.2 < peaks[25] / peaks[100] < 0.3, peaks


def test_a_server_that_plays_sound_is_left_to_play_it(notifications, servers, tmp_path):
    server = servers("station-reports")
    env, out = audio_to_file(tmp_path)
    listener = sound_duty(server, tmp_path / "d", "", env)
    try:
        listener.wait_status("live")
        server.wait_clients(1)
        report(server, "critical", "Gas leak")
        notifications.wait_for(lambda c: "Gas leak" in c["summary"])
        time.sleep(2)  # more than the tone would take to start
        assert not out.exists() or out.stat().st_size == 0, "Alertdesk played a tone the server plays itself"
    finally:
        assert listener.stop() == 0


def test_a_new_server_is_asked_again(servers, tmp_path):
    """The capabilities are asked once, and again when another server takes the name over."""
    kill_notification_daemons()
    first = NotificationServer()  # plays sound
    server = servers("station-reports")
    env, out = audio_to_file(tmp_path)
    listener = sound_duty(server, tmp_path / "d", "", env)
    second = None
    try:
        listener.wait_status("live")
        server.wait_clients(1)
        report(server, "high", "First alarm")
        first.wait_for(lambda c: "First alarm" in c["summary"])
        time.sleep(1.5)
        assert not out.exists() or out.stat().st_size == 0
        first.stop()
        first = None
        second = NotificationServer(capabilities=NO_SOUND)
        time.sleep(0.5)  # the owner change reaches the listener
        report(server, "high", "Second alarm")
        second.wait_for(lambda c: "Second alarm" in c["summary"])
        assert peak(wait_for_audio(out)) > 0.3
    finally:
        assert listener.stop() == 0
        for s in (first, second):
            if s is not None:
                s.stop()


# --- speak_critical: critical alerts read aloud through espeak-ng ----------------------------------------------

ESPEAK = "/usr/bin/espeak-ng"


def speech_shim(tmp_path):
    """A PATH holding only an `espeak-ng` that records its arguments and has the real espeak-ng speak them into a
    WAV file instead of the sound card."""
    shim = tmp_path / "bin"
    shim.mkdir()
    args, wav = tmp_path / "speech-args", tmp_path / "speech.wav"
    script = shim / "espeak-ng"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" >> '{args}'\nexec {ESPEAK} -w '{wav}' \"$@\"\n")
    script.chmod(0o755)
    return {"PATH": str(shim)}, args, wav


def wav_peak(path) -> tuple[int, float]:
    import array
    import wave

    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2, w.getparams()
        frames = w.readframes(w.getnframes())
    samples = array.array("h", frames)
    return len(samples), max((abs(x) for x in samples), default=0) / 32768


@pytest.mark.skipif(not os.path.exists(ESPEAK), reason="needs espeak-ng (scripts/setup --test installs it)")
def test_speak_critical_reads_critical_alerts_aloud(notifications, servers, tmp_path):
    server = servers("station-reports")
    env, args, wav = speech_shim(tmp_path)
    listener = sound_duty(server, tmp_path / "d", "[alerting]\nspeak_critical = true\n", env)
    try:
        listener.wait_status("live")
        server.wait_clients(1)
        report(server, "high", "Not read out")
        report(server, "critical", "Smoke in stairwell; $(id) -x\n")
        notifications.wait_for(lambda c: "Smoke in stairwell" in c["summary"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (wav.exists() and wav.stat().st_size > 1000):
            time.sleep(0.2)
        time.sleep(1)  # espeak-ng finishes the file
        # One call, for the critical alert only, its title as one argument after "--".
        assert args.read_text().splitlines() == ["--", "Critical: Fire: Smoke in stairwell; $(id) -x"]
        count, loudest = wav_peak(wav)
        assert count > 10_000 and loudest > 0.1, (count, loudest)
    finally:
        assert listener.stop() == 0


def test_speak_critical_is_off_by_default(notifications, servers, tmp_path):
    server = servers("station-reports")
    env, args, wav = speech_shim(tmp_path)
    listener = sound_duty(server, tmp_path / "d", "", env)
    try:
        listener.wait_status("live")
        server.wait_clients(1)
        report(server, "critical", "Quiet please")
        notifications.wait_for(lambda c: "Quiet please" in c["summary"])
        time.sleep(1.5)
        assert not args.exists() and not wav.exists()
    finally:
        assert listener.stop() == 0
