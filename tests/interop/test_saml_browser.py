"""The browser sign-in end to end, in a real browser: headless Chromium (Debian's `chromium`,
driven through its own `chromedriver` by selenium; nothing is downloaded) opens a fake IdP page
served by this test, which auto-submits a signed SAMLResponse (saml_forge, signed by the
xmlsec1 CLI) to tessera's `/saml`, as an IdP's HTML POST binding does. Chromium follows it to
the role picker, the test clicks a role, reads the credential lines from the page and uses
them with boto3 GetCallerIdentity.

The IdP posts to tessera's own ACS URL (`TESSERA_SAML_ACS_URLS`, plain HTTP on loopback here),
and the roles' trust policies pin `saml:aud` to it.
"""

from __future__ import annotations

import html
import http.server
import json
import os
import shutil
import threading
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

import saml_forge as f
from tessera_harness import Creds, free_port, make_boto3_client, unique

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# This machine's network is closed, and a test must not reach out anyway: no component
# updates, no sync, no QUIC, no first-run fetches.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
WAIT = 30


class FakeIdp:
    """One page at `/`: the IdP's HTML POST binding, an auto-submitting form."""

    def __init__(self, acs: str, saml_response: str, relay_state: str = "https://idp.example.test/app"):
        page = (
            "<!doctype html><html><head><title>IdP</title></head><body>"
            f'<form method="post" action="{html.escape(acs)}">'
            f'<input type="hidden" name="SAMLResponse" value="{html.escape(saml_response)}">'
            f'<input type="hidden" name="RelayState" value="{html.escape(relay_state)}">'
            "<noscript><button>Continue</button></noscript></form>"
            "<script>document.forms[0].submit()</script></body></html>"
        ).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *_):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def browser(tmp_path):
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        pytest.fail(f"{missing} missing: `bash .ci/deps.sh` installs chromium and chromium-driver")
    # Selenium Manager must never try to fetch a browser or a driver.
    os.environ["SE_OFFLINE"] = "true"
    opts = Options()
    opts.binary_location = CHROMIUM
    for a in CHROMIUM_ARGS:
        opts.add_argument(a)
    profile = tmp_path / "chromium-profile"
    opts.add_argument(f"--user-data-dir={profile}")
    service = Service(executable_path=CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=opts)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def acs_server(new_server):
    """A server whose own ACS URL is `http://127.0.0.1:<its port>/saml`."""
    s = new_server(start=False)
    s.port = free_port()
    s.acs = f"http://127.0.0.1:{s.port}/saml"
    s.extra_env["TESSERA_SAML_ACS_URLS"] = s.acs
    s.start()
    return s


def parse_export(line: str) -> Creds:
    assert line.startswith("export "), line
    values = dict(w.split("=", 1) for w in line.split()[1:])
    return Creds(values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"], values["AWS_SESSION_TOKEN"])


def test_chromium_signs_in_through_the_role_picker(acs_server, browser):
    s = acs_server
    iam = s.boto3_client("iam")
    key = f.new_keypair()
    entity = f"https://{unique('idp')}.example.test/saml"
    provider_arn = iam.create_saml_provider(
        Name=unique("idp"), SAMLMetadataDocument=f.metadata(entity, [key]))["SAMLProviderArn"]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithSAML",
        "Condition": {"StringEquals": {"SAML:aud": s.acs}},
    }]})
    roles = {}
    for name in (unique("reader"), unique("deployer")):
        roles[name] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    reader, deployer = roles
    claims = f.Claims(
        issuer=entity,
        roles=[f"{arn},{provider_arn}" for arn in roles.values()],
        session_name="alice@example.com",
        recipient=s.acs,
        destination=s.acs,
    )
    response = f.b64(f.signed_response(claims, key, "xmlsec1", "assertion"))

    idp = FakeIdp(s.acs, response)
    try:
        browser.get(idp.url)
        # The IdP page posted itself to tessera: the picker lists both roles.
        WebDriverWait(browser, WAIT).until(EC.presence_of_element_located((By.ID, "roles")))
        assert browser.current_url == s.acs
        buttons = browser.find_elements(By.CSS_SELECTOR, 'button[name="RoleArn"]')
        assert sorted(b.get_attribute("value") for b in buttons) == sorted(roles.values())
        assert browser.find_element(By.ID, "subject").text == "alice@example.com"
        # The double-submit cookie: HttpOnly, SameSite=Strict, gone after the choice.
        cookie = browser.get_cookie("tessera-saml-csrf")
        assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie

        browser.find_element(By.CSS_SELECTOR, f'button[name="RoleArn"][value="{roles[deployer]}"]').click()
        env = WebDriverWait(browser, WAIT).until(EC.presence_of_element_located((By.ID, "env")))
        creds = parse_export(env.text.strip())
        arn = browser.find_element(By.ID, "arn").text
        assert arn == f"arn:aws:sts::{s.account_id}:assumed-role/{deployer}/alice@example.com"
        profile = browser.find_element(By.ID, "profile").text.splitlines()
        assert profile[0] == f"[{deployer}]"
        assert profile[1:] == [
            f"aws_access_key_id = {creds.access_key_id}",
            f"aws_secret_access_key = {creds.secret_access_key}",
            f"aws_session_token = {creds.session_token}",
        ]
        assert browser.find_element(By.ID, "expiration").get_attribute("datetime").endswith("Z")
        assert browser.get_cookie("tessera-saml-csrf") is None
    finally:
        idp.close()

    me = make_boto3_client(s.endpoint, "sts", creds).get_caller_identity()
    assert me["Arn"] == arn
    assert me["Account"] == s.account_id


def test_chromium_with_one_role_goes_straight_to_credentials(acs_server, browser):
    s = acs_server
    iam = s.boto3_client("iam")
    key = f.new_keypair()
    entity = f"https://{unique('idp')}.example.test/saml"
    provider_arn = iam.create_saml_provider(
        Name=unique("idp"), SAMLMetadataDocument=f.metadata(entity, [key]))["SAMLProviderArn"]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider_arn}, "Action": "sts:AssumeRoleWithSAML"}]})
    name = unique("solo")
    role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    claims = f.Claims(issuer=entity, roles=[f"{provider_arn},{role_arn}"], session_name="bob",
                      recipient=s.acs, destination=s.acs)
    idp = FakeIdp(s.acs, f.b64(f.signed_response(claims, key, "xmlsec1", "response")))
    try:
        browser.get(idp.url)
        env = WebDriverWait(browser, WAIT).until(EC.presence_of_element_located((By.ID, "env")))
        creds = parse_export(env.text.strip())
    finally:
        idp.close()
    me = make_boto3_client(s.endpoint, "sts", creds).get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{s.account_id}:assumed-role/{name}/bob"
