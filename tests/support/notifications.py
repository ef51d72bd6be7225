"""A notification server for tests: owns org.freedesktop.Notifications on the test session's private bus,
records every Notify call (hints included) and emits ActionInvoked / NotificationClosed on request, the way a
user clicking "Acknowledge" would. dunst stays the daemon for plain capture tests; it cannot invoke named
actions from a script."""

import asyncio
import subprocess
import threading
import time

import pytest

from dbus_next import BusType, DBusError, Variant
from dbus_next.aio import MessageBus
from dbus_next.service import ServiceInterface, method, signal

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"


def _plain(value):
    return value.value if isinstance(value, Variant) else value


class _Interface(ServiceInterface):
    def __init__(self, owner):
        super().__init__(NAME)
        self.owner = owner

    @method()
    def Notify(self, app_name: "s", replaces_id: "u", app_icon: "s", summary: "s", body: "s", actions: "as",
               hints: "a{sv}", expire_timeout: "i") -> "u":
        if self.owner.broken:
            raise DBusError("org.freedesktop.DBus.Error.Failed", "notification service is broken")
        return self.owner._record(app_name, replaces_id, app_icon, summary, body, actions,
                                  {k: _plain(v) for k, v in hints.items()}, expire_timeout)

    @method()
    def GetCapabilities(self) -> "as":
        return list(self.owner.capabilities)

    @method()
    def GetServerInformation(self) -> "ssss":
        return ["alertdesk-test-notifications", "alertdesk", "1.0", "1.2"]

    @method()
    def CloseNotification(self, id: "u"):
        self.owner.closed.append(id)

    @signal()
    def ActionInvoked(self, id, key) -> "us":
        return [id, key]

    @signal()
    def NotificationClosed(self, id, reason) -> "uu":
        return [id, reason]


class NotificationServer:
    def __init__(self, capabilities=("actions", "body", "body-markup", "persistence", "sound"), broken=False,
                 bus_address=None):
        """`broken`: every Notify fails with a D-Bus error (a notification service that cannot show anything).
        `bus_address`: the bus to serve on (default: the session bus of the environment)."""
        self.capabilities = capabilities
        self.broken = broken
        self.bus_address = bus_address
        self.calls: list[dict] = []
        self.closed: list[int] = []
        self._next_id = 1
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error = None
        threading.Thread(target=self._run, daemon=True).start()
        if not self._ready.wait(10):
            raise RuntimeError("the test notification server did not start")
        if self._error:
            raise RuntimeError(f"the test notification server failed: {self._error}")

    def _run(self):
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._start())
        except Exception as error:  # reported to the constructor
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()

    async def _start(self):
        self.bus = await MessageBus(bus_address=self.bus_address, bus_type=BusType.SESSION).connect()
        self.interface = _Interface(self)
        self.bus.export(PATH, self.interface)
        await self.bus.request_name(NAME)

    def _record(self, app_name, replaces_id, app_icon, summary, body, actions, hints, expire_timeout):
        with self._lock:
            nid = replaces_id or self._next_id
            self._next_id += 0 if replaces_id else 1
            self.calls.append({"id": nid, "app_name": app_name, "app_icon": app_icon, "summary": summary,
                               "body": body, "actions": list(actions), "hints": hints,
                               "expire_timeout": expire_timeout, "at": time.monotonic()})
            return nid

    def wait_for(self, predicate, timeout: float = 10):
        """The first recorded call matching `predicate`, waiting (bounded) for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for call in self.calls:
                    if predicate(call):
                        return call
            time.sleep(0.05)
        raise AssertionError(f"no matching notification within {timeout}s; got {self.calls}")

    def invoke_action(self, nid: int, key: str) -> None:
        self._loop.call_soon_threadsafe(self.interface.ActionInvoked, nid, key)

    def close_notification(self, nid: int, reason: int = 2) -> None:
        self._loop.call_soon_threadsafe(self.interface.NotificationClosed, nid, reason)

    def stop(self) -> None:
        async def disconnect():
            await self.bus.release_name(NAME)
            self.bus.disconnect()

        asyncio.run_coroutine_threadsafe(disconnect(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)


def kill_notification_daemons():
    """Ends dunst (auto-started by D-Bus activation) so a test can own the notification service or have none."""
    subprocess.run(["pkill", "-x", "dunst"], check=False)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and subprocess.run(["pgrep", "-x", "dunst"], capture_output=True).returncode == 0:
        time.sleep(0.1)


@pytest.fixture
def notifications():
    """A recording notification server owning the service on the test session's bus (dunst ended first)."""
    kill_notification_daemons()
    server = NotificationServer()
    yield server
    server.stop()
