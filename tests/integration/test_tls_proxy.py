"""Deployable in a department: TLS trusts what the desktop trusts (the OS store, SSL_CERT_FILE) plus the department's
own CA (--ca-file, [network] ca_files) and shows a client certificate where the server requires one (mutual TLS);
the WebSocket and REST go through a real HTTP proxy (Debian's tinyproxy) from HTTPS_PROXY or [network] proxy,
except the hosts NO_PROXY names.

The CA, the server's certificate and the client certificate are made with openssl at test time; the server is the
station-reports seed server speaking TLS (tests/servers/README.md, TLS_CERT)."""

import os
import subprocess
import time

import pytest

from conftest import binary, headless_env
from support.keyring import files_containing, secret_lookup
from support.listener import Listener
from support.pki import Pki

REPORT = {"station_id": 4, "category": "Burglary", "description": "Window forced", "priority": "high",
          "location": "Elm St 3"}
TITLE = "Burglary: Window forced"
PROXY_PASSWORD = "pr0xy-S3CRET"


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path / "pki")


def tls_station(servers, pki, require_client=False):
    server = servers("station-reports", **pki.server_env(require_client))
    client = (str(pki.client_cert), str(pki.client_key)) if require_client else None
    return server.use_tls(str(pki.ca), client)


def expect_alert(listener, server):
    """The link comes up and a report posted now arrives as an alert."""
    listener.wait_status("live", timeout=20)
    assert server.wait_clients(1) == 1
    server.post("/api/reports", REPORT).raise_for_status()
    alert = listener.next_alert(timeout=10)
    assert alert["title"] == TITLE, alert
    return alert


def write_settings(data_dir, text):
    config = data_dir / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.toml").write_text(text)


def run(name, *args, env, input=None):
    return subprocess.run([str(binary(name)), *args], capture_output=True, text=True, timeout=60, env=env,
                          input=input)


def test_a_department_ca_is_refused_until_trusted_with_ca_file(listen, servers, pki):
    server = tls_station(servers, pki)
    token = server.login("officer")
    refused = listen("station-reports", server, token=token)
    status = refused.wait_status("reconnecting", timeout=20)
    assert "certificate could not be verified" in status["reason"] and "--ca-file" in status["reason"], status
    refused.no_alert(0.3)
    assert server.clients() == 0, "a WebSocket session was opened over a certificate nobody trusts"
    assert refused.count("live") == 0
    assert refused.stop() == 0

    trusted = listen("station-reports", server, "--ca-file", str(pki.ca), token=token)
    expect_alert(trusted, server)


def test_the_ca_given_as_ssl_cert_file_is_trusted(listen, servers, pki):
    server = tls_station(servers, pki)
    listener = listen("station-reports", server, token=server.login("officer"),
                      env={"SSL_CERT_FILE": str(pki.ca), "SSL_CERT_DIR": ""})
    expect_alert(listener, server)


def test_the_departments_ca_and_its_lock_hold_for_the_command_line(listen, servers, pki, tmp_path):
    """The CLI reads [network] from the department's files too, and a user's value for a locked key is ignored."""
    server = tls_station(servers, pki)
    department = tmp_path / "xdg" / "alertdesk"
    department.mkdir(parents=True)
    (department / "settings.toml").write_text(f'locked = ["network.ca_files"]\n[network]\nca_files = ["{pki.ca}"]\n')
    data = tmp_path / "officer"
    write_settings(data, '[network]\nca_files = []\n')
    listener = listen("station-reports", server, token=server.login("officer"), data_dir=data,
                      env={"XDG_CONFIG_DIRS": str(tmp_path / "xdg")})
    expect_alert(listener, server)
    assert "network.ca_files is set by your department" in listener.log_text()


def test_mutual_tls_needs_the_client_certificate_of_the_settings(listen, servers, pki, tmp_path):
    server = tls_station(servers, pki, require_client=True)
    token = server.login("officer")
    without = listen("station-reports", server, "--ca-file", str(pki.ca), token=token)
    status = without.wait_status("reconnecting", timeout=20)
    assert "asks for a client certificate" in status["reason"], status
    assert without.stop() == 0

    data = tmp_path / "with-certificate"
    write_settings(data, f'[network]\nca_files = ["{pki.ca}"]\nclient_cert = "{pki.client_cert}"\n'
                         f'client_key = "{pki.client_key}"\n')
    listener = listen("station-reports", server, token=token, data_dir=data)
    expect_alert(listener, server)
    assert "with a client certificate" in listener.log_text()


def test_bad_certificate_files_stop_the_command_naming_them(cli, pki, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a certificate\n")
    open_key = tmp_path / "open.key"
    open_key.write_bytes(pki.client_key.read_bytes())
    open_key.chmod(0o644)
    cases = [
        (["--ca-file", str(tmp_path / "missing.pem")], None, {}, ["missing.pem", "cannot read it"]),
        (["--ca-file", str(notes)], None, {}, ["notes.txt", "not a PEM file"]),
        ([], f'[network]\nca_files = ["{pki.client_key}"]\n', {}, ["client.key", "no certificate in it"]),
        ([], f'[network]\nclient_cert = "{pki.client_cert}"\nclient_key = "{open_key}"\n', {},
         ["open.key", "other users can read it", "chmod 600"]),
        ([], None, {"SSL_CERT_FILE": str(tmp_path / "gone.pem")}, ["SSL_CERT_FILE", "gone.pem"]),
    ]
    for n, (args, settings, extra, needles) in enumerate(cases):
        data = tmp_path / f"data-{n}"
        if settings:
            write_settings(data, settings)
        env = headless_env(ALERTDESK_DATA_DIR=str(data), ALERTDESK_TOKEN="t", **extra)
        result = cli("listen", "--profile", "station-reports", "--server", "https://127.0.0.1:9", *args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        assert all(needle in result.stderr for needle in needles), (needles, result.stderr)


def test_login_probe_and_acknowledge_take_ca_file(secret_service, servers, pki, tmp_path):
    name = "alertdesk-cli"
    server = tls_station(servers, pki)
    data = tmp_path / "data"
    env = dict(os.environ, ALERTDESK_DATA_DIR=str(data), HOME=str(tmp_path / "home"))
    env.pop("ALERTDESK_TOKEN", None)
    login = ["login", "--profile", "station-reports", "--server", server.url, "--username", "officer",
             "--password-stdin"]
    refused = run(name, *login, env=env, input="secret\n")
    assert refused.returncode == 1 and "could not be verified" in refused.stderr, refused.stderr
    signed_in = run(name, *login, "--ca-file", str(pki.ca), env=env, input="secret\n")
    assert signed_in.returncode == 0, signed_in.stderr
    assert secret_lookup(f"station-reports@{server.url}")

    probe = ["profile", "probe", "--server", server.url, "--profile", "station-reports", "--seconds", "1", "--json"]
    report = run(name, *probe, "--ca-file", str(pki.ca), env=env)
    assert report.returncode == 0, report.stderr
    assert '"connected":true' in report.stdout.replace(" ", ""), report.stdout

    listener = Listener(binary(name), "station-reports", server.url, "--ca-file", str(pki.ca), data_dir=data,
                        env=env, keep_bus=True)
    try:
        alert = expect_alert(listener, server)
    finally:
        assert listener.stop() == 0
    queued = run(name, "acknowledge", alert["id"], env=env)
    assert queued.returncode == 75 and "could not be verified" in queued.stderr, queued.stderr
    acknowledged = run(name, "acknowledge", alert["id"], "--ca-file", str(pki.ca), env=env)
    assert acknowledged.returncode == 0, acknowledged.stderr
    token = server.login("officer")
    reports = server.get("/api/reports?since=0", token=token).json()["reports"]
    assert [r.get("acknowledgedBy") for r in reports] == ["u-officer"], reports


def test_the_websocket_and_rest_go_through_the_proxy_of_https_proxy(listen, servers, pki, tinyproxy):
    server = tls_station(servers, pki)
    token = server.login("officer")
    target = f"127.0.0.1:{server.port}"
    proxy = tinyproxy()
    listener = listen("station-reports", server, "--ca-file", str(pki.ca), token=token,
                      env={"HTTPS_PROXY": proxy.url})
    alert = expect_alert(listener, server)
    # One tunnel for the WebSocket and one for the REST lists fetched at first contact; no reconnect between.
    assert listener.count("live") == 1 and listener.count("reconnecting") == 0, listener.statuses
    assert proxy.connects().count(target) >= 2 and set(proxy.connects()) == {target}, proxy.log()
    assert "via http://127.0.0.1" in listener.log_text() and "(HTTPS_PROXY)" in listener.log_text()
    # The live link runs through the proxy: without it, the link is down, and says why.
    proxy.stop()
    status = listener.wait_status("reconnecting", timeout=15)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not any(
            "cannot reach the proxy" in s.get("reason", "") for s in listener.statuses):
        time.sleep(0.1)
    assert any("cannot reach the proxy" in s.get("reason", "") for s in listener.statuses), (status, listener.statuses)
    assert listener.stop() == 0

    # A REST call alone (acknowledging writes back) takes one tunnel of its own.
    other = tinyproxy()
    env = headless_env(ALERTDESK_DATA_DIR=str(listener.data_dir), ALERTDESK_TOKEN=token, HTTPS_PROXY=other.url)
    acknowledged = run(listen.binary.name, "acknowledge", alert["id"], "--ca-file", str(pki.ca), env=env)
    assert acknowledged.returncode == 0, acknowledged.stderr
    assert other.connects() == [target], other.log()


def test_no_proxy_naming_the_host_goes_direct(listen, servers, pki, tinyproxy):
    server = tls_station(servers, pki)
    proxy = tinyproxy()
    listener = listen("station-reports", server, "--ca-file", str(pki.ca), token=server.login("officer"),
                      env={"https_proxy": proxy.url, "NO_PROXY": "example.org, 127.0.0.1"})
    expect_alert(listener, server)
    assert proxy.connects() == [] and "Request" not in proxy.log(), proxy.log()


def test_the_settings_proxy_takes_its_password_from_the_keyring(secret_service, servers, pki, tinyproxy, tmp_path):
    name = "alertdesk-cli"
    server = tls_station(servers, pki)
    proxy = tinyproxy(auth=("ann", PROXY_PASSWORD))
    data = tmp_path / "data"
    write_settings(data, f'[network]\nproxy = "http://ann@127.0.0.1:{proxy.port}"\nca_files = ["{pki.ca}"]\n')
    env = dict(os.environ, ALERTDESK_DATA_DIR=str(data), HOME=str(tmp_path / "home"))
    env.pop("ALERTDESK_TOKEN", None)

    stored = run(name, "proxy", "login", "--password-stdin", env=env, input=PROXY_PASSWORD + "\n")
    assert stored.returncode == 0, stored.stderr
    assert secret_lookup(f"proxy:ann@127.0.0.1:{proxy.port}") == PROXY_PASSWORD
    shown = run(name, "proxy", "show", server.url, env=env)
    assert shown.returncode == 0, shown.stderr
    assert f"through the proxy http://ann@127.0.0.1:{proxy.port} (set in [network] proxy, with its password)" \
        in shown.stdout, shown.stdout

    token = server.login("officer")
    listener = Listener(binary(name), "station-reports", server.url, token=token, data_dir=data, env=env,
                        keep_bus=True)
    try:
        expect_alert(listener, server)
    finally:
        assert listener.stop() == 0
    assert f"127.0.0.1:{server.port}" in proxy.connects(), proxy.log()
    assert files_containing(data, PROXY_PASSWORD) == [], "the proxy password reached a file"
    assert PROXY_PASSWORD not in "\n".join(listener.stderr_lines)

    # A wrong password: the proxy's refusal is the link's reason, in words.
    assert run(name, "proxy", "login", "--password-stdin", env=env, input="wrong\n").returncode == 0
    refused = Listener(binary(name), "station-reports", server.url, token=token, data_dir=data, env=env,
                       keep_bus=True)
    try:
        status = refused.wait_status("reconnecting", timeout=20)
        assert "the proxy http://ann@127.0.0.1" in status["reason"], status
        assert "refused the username and password (HTTP 401 Unauthorized)" in status["reason"], status
        refused.no_alert(0.3)
    finally:
        assert refused.stop() == 0
    assert run(name, "proxy", "logout", env=env).returncode == 0
    assert secret_lookup(f"proxy:ann@127.0.0.1:{proxy.port}") is None


class Remote:
    url = "http://192.0.2.10:8080"  # TEST-NET-1: another machine, never reached


def test_plain_http_to_another_machine_is_warned(listen, servers):
    listener = listen("station-reports", Remote(), token="t")
    deadline = time.monotonic() + 10
    warning = "reached over unencrypted http://"
    while time.monotonic() < deadline and not any(warning in line for line in listener.stderr_lines):
        time.sleep(0.05)
    assert any(warning in line for line in listener.stderr_lines), listener.stderr_lines
    assert listener.stop() == 0
    assert listener.log_text().count(warning) == 1, listener.log_text()

    local = servers("station-reports")
    here = listen("station-reports", local, token=local.login("officer"))
    here.wait_status("live")
    assert here.stop() == 0
    assert warning not in here.log_text() and warning not in "\n".join(here.stderr_lines)
