"""A minimal W3C WebDriver client over HTTP (enough to drive tauri-driver + WebKitWebDriver)."""

import base64
import http.client
import json
import time
import urllib.error
import urllib.request

ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"


class WebDriverError(RuntimeError):
    pass


class WebDriver:
    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.session_id: str | None = None

    def _request(self, method: str, path: str, body: dict | None = None, timeout: float = 60):
        data = None if body is None else json.dumps(body).encode()
        # tauri-driver forwards over pooled keep-alive connections that WebKitWebDriver may have just closed;
        # the request then fails before it reached the driver, so it is safe to send again (bounded).
        for attempt in range(3):
            req = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    payload = json.loads(resp.read() or b"{}")
                return payload.get("value")
            except urllib.error.HTTPError as e:
                raise WebDriverError(f"{method} {path}: {e.code} {e.read().decode(errors='replace')}") from None
            except (http.client.RemoteDisconnected, ConnectionResetError):
                if attempt == 2:
                    raise
                time.sleep(0.2)

    def _session(self, method: str, path: str, body: dict | None = None):
        assert self.session_id, "no session"
        return self._request(method, f"/session/{self.session_id}{path}", body)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self._request("GET", "/status", timeout=2)
                return
            except (OSError, WebDriverError):
                time.sleep(0.2)
        raise TimeoutError(f"WebDriver at {self.url} did not answer within {timeout}s")

    def start(self, application: str, args: list[str]) -> None:
        caps = {"capabilities": {"alwaysMatch": {"tauri:options": {"application": application, "args": args}}}}
        self.session_id = self._request("POST", "/session", caps, timeout=90)["sessionId"]

    def quit(self) -> None:
        if self.session_id:
            try:
                self._session("DELETE", "")
            except (OSError, WebDriverError):
                pass  # the app may already be gone (quit from the tray)
            self.session_id = None

    def find(self, css: str) -> str:
        return self._session("POST", "/element", {"using": "css selector", "value": css})[ELEMENT_KEY]

    def text(self, element: str) -> str:
        return self._session("GET", f"/element/{element}/text")

    def execute(self, script: str, *args):
        return self._session("POST", "/execute/sync", {"script": script, "args": list(args)})

    def title(self) -> str:
        return self._session("GET", "/title")

    def screenshot(self, path) -> None:
        path.write_bytes(base64.b64decode(self._session("GET", "/screenshot")))

    def click(self, css: str) -> None:
        self._session("POST", f"/element/{self.find(css)}/click", {})

    def type(self, css: str, text: str) -> None:
        element = self.find(css)
        self._session("POST", f"/element/{element}/clear", {})
        self._session("POST", f"/element/{element}/value", {"text": text})

    def wait_for(self, script: str, predicate, timeout: float = 30, *args):
        """Runs `script` until `predicate(result)` holds; returns the result."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.execute(script, *args)
                if predicate(last):
                    return last
            except WebDriverError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{script!r}: {last!r} never matched within {timeout}s")

    def wait_for_text(self, css: str, predicate, timeout: float = 30) -> str:
        """Polls the element's text until `predicate(text)` holds; returns it."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.text(self.find(css))
                if predicate(last):
                    return last
            except WebDriverError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{css}: text {last!r} never matched within {timeout}s")
