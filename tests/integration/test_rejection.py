"""A rejected token ends `listen` with exit code 3 and one clear line naming the server, with no retries."""

import subprocess

import pytest

from conftest import binary, headless_env

BAD = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad-signature"

CASES = [
    ("station-reports", [], "HTTP 401"),
    ("emergency-dispatch", [], "Unauthorized"),
    ("service-calls", [], "Unauthorized"),
    ("crowd-monitoring", ["--set", "event_id=EV1"], "Unauthorized"),
    ("ticketing", [], "401"),  # close 4401 on the socket, or HTTP 401 from the REST fetch, whichever comes first
]


@pytest.mark.parametrize("profile,extra,says", CASES, ids=[c[0] for c in CASES])
def test_bad_token_exits_3_once(listen, servers, profile, extra, says):
    server = servers(profile)
    listener = listen(profile, server, *extra, token=BAD)
    assert listener.wait_exit(timeout=20) == 3
    listener.wait_status("auth_failed")
    plain = [line for line in listener.stderr_lines if not line.startswith("{")]
    assert len(plain) == 1, plain
    assert server.url in plain[0] and "rejected the credentials" in plain[0] and says in plain[0], plain[0]
    assert not [s for s in listener.statuses if s["status"] == "reconnecting"], "retried a rejected token"
    assert BAD not in "\n".join(listener.stderr_lines), "the token was printed"


@pytest.mark.parametrize("name", ["alertdesk", "alertdesk-cli"])
def test_wrong_password_exits_3(servers, name, tmp_path):
    server = servers("station-reports")
    result = subprocess.run(
        [str(binary(name)), "login", "--profile", "station-reports", "--server", server.url, "--username", "officer",
         "--password-stdin"], input="wrong\n", capture_output=True, text=True, timeout=30,
        env=headless_env(ALERTDESK_DATA_DIR=str(tmp_path)))
    assert result.returncode == 3, result.stderr
    assert "rejected the username or password" in result.stderr and server.url in result.stderr


@pytest.mark.parametrize("name", ["alertdesk", "alertdesk-cli"])
def test_invalid_profile_and_missing_variable_exit_2(name, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nprotocol = "websocket"\n[[rules]]\nevent = "e"\nkind = "reprot"\n')
    run = lambda *a: subprocess.run([str(binary(name)), *a], capture_output=True, text=True, timeout=30,
                                    env=headless_env(ALERTDESK_TOKEN="t"))
    result = run("listen", "--profile", str(bad), "--server", "http://127.0.0.1:9")
    assert result.returncode == 2 and f"{bad}: line 5" in result.stderr, result.stderr
    result = run("listen", "--profile", "crowd-monitoring", "--server", "http://127.0.0.1:9")
    assert result.returncode == 2 and "event_id" in result.stderr, result.stderr
    result = run("listen", "--profile", "station-reports")
    assert result.returncode == 2 and "--server is required" in result.stderr, result.stderr
    result = run("profile", "check", str(bad))
    assert result.returncode == 2 and "reprot" in result.stderr, result.stderr
