"""The Add server form's certificate authority file in the real window (WebKitGTK through tauri-driver): a server
whose certificate comes from a private CA (made with openssl) is refused without it, with the reason in the form,
and connects with it; the path is saved with that server, and alerts arrive."""

import pytest

from support.desktop import wait_until
from support.pki import Pki

pytestmark = pytest.mark.desktop

REPORT = {"station_id": 4, "category": "Burglary", "description": "Window forced", "priority": "high",
          "location": "Elm St 3"}


def dialog_open(driver) -> bool:
    return driver.execute('return document.querySelector(\'[data-testid="sign-in"]\').open')


def submit(driver, server, ca_file: str):
    driver.execute("""
        const s = document.querySelector('[data-testid="sign-in-profile"]');
        s.value = 'station-reports'; s.dispatchEvent(new Event('change'));""")
    driver.type('[data-testid="sign-in-server"]', server.url)
    if ca_file:
        driver.type('[data-testid="sign-in-ca-file"]', ca_file)
    else:
        driver.execute("document.querySelector('[data-testid=\"sign-in-ca-file\"]').value = ''")
    driver.type('[data-testid="sign-in-username"]', "officer")
    driver.type('[data-testid="sign-in-password"]', "secret")
    driver.click('[data-testid="sign-in-submit"]')


def test_the_form_takes_the_servers_ca_file(app, secret_service, servers, tmp_path):
    pki = Pki(tmp_path / "pki")
    server = servers("station-reports", **pki.server_env()).use_tls(str(pki.ca))
    launch, data_dir = app
    driver = launch()
    wait_until(lambda: dialog_open(driver), 15, "the sign-in screen on first run")
    driver.wait_for("return document.querySelector('[data-testid=\"sign-in-profile\"]').options.length",
                    lambda n: n >= 6)

    submit(driver, server, "")
    error = driver.wait_for_text('[data-testid="sign-in-error"]', lambda t: "could not be verified" in t)
    assert "certificate authority" in error, error
    assert dialog_open(driver)

    submit(driver, server, str(pki.ca))
    wait_until(lambda: not dialog_open(driver), 20, "the sign-in to finish")
    driver.wait_for("return document.querySelector('[data-testid=\"server-status\"]')?.dataset.state",
                    lambda s: s == "live")
    saved = (data_dir / "config" / "servers.toml").read_text()
    assert f'ca_file = "{pki.ca}"' in saved, saved
    # An https:// server is not warned about.
    assert driver.execute("return document.querySelectorAll('[data-testid=\"unencrypted-warning\"]').length") == 0

    assert server.wait_clients(1) == 1
    server.post("/api/reports", REPORT).raise_for_status()
    title = driver.wait_for("return document.querySelector('[data-testid=\"alert-row\"] .title')?.textContent",
                            lambda t: bool(t))
    assert title == "Burglary: Window forced"
