"""STS through unmodified boto3 and the aws CLI: GetCallerIdentity for every kind of caller,
GetSessionToken rules, MFA with real RFC 6238 codes, and presigned / header-signed identity
proofs fetched with urllib (as Vault and Kubernetes authenticators do)."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tessera_harness import (
    MSG_MFA_INVALID_CODE,
    STS_VERSION,
    Creds,
    RawResponse,
    b32decode_seed,
    client_error,
    current_step,
    parse_error,
    presign,
    sign,
    totp_at_step,
    unique,
    xml_find,
)

GCI = {"Action": "GetCallerIdentity", "Version": STS_VERSION}


def seconds_left(expiration: dt.datetime) -> float:
    return (expiration - dt.datetime.now(dt.timezone.utc)).total_seconds()


def urlopen(url: str, method: str = "GET", data: bytes | None = None, headers: dict | None = None) -> RawResponse:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return RawResponse(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return RawResponse(e.code, e.headers, e.read())


# --- GetCallerIdentity ---------------------------------------------------------------------


def test_get_caller_identity_root_boto3(server, sts):
    out = sts.get_caller_identity()
    assert re.fullmatch(r"\d{12}", out["Account"]), out
    assert out["Arn"] == f"arn:aws:iam::{out['Account']}:root"
    assert out["UserId"] == out["Account"]
    meta = out["ResponseMetadata"]
    assert meta["HTTPStatusCode"] == 200
    assert meta["RequestId"] and meta["HTTPHeaders"]["x-amzn-requestid"] == meta["RequestId"]
    assert meta["HTTPHeaders"]["content-type"].startswith("text/xml")


def test_get_caller_identity_root_cli(server):
    out = server.aws("sts", "get-caller-identity")
    assert out == {"UserId": server.account_id, "Account": server.account_id, "Arn": server.arn("root")}


def test_get_caller_identity_iam_user_boto3_and_cli(server):
    name, creds = server.create_user_with_key("gci", path="/interop/")
    user = server.boto3_client("iam").get_user(UserName=name)["User"]
    out = server.boto3_client("sts", creds).get_caller_identity()
    assert out["Account"] == server.account_id
    assert out["Arn"] == f"arn:aws:iam::{server.account_id}:user/interop/{name}" == user["Arn"]
    assert out["UserId"] == user["UserId"]
    assert out["UserId"].startswith("AIDA") and len(out["UserId"]) == 21, out["UserId"]
    cli = server.aws("sts", "get-caller-identity", creds=creds)
    assert cli == {"UserId": out["UserId"], "Account": server.account_id, "Arn": out["Arn"]}


def test_get_caller_identity_session_boto3_and_cli(server):
    name, creds = server.create_user_with_key("gcisess")
    user = server.boto3_client("sts", creds).get_caller_identity()
    c = server.boto3_client("sts", creds).get_session_token(DurationSeconds=900)["Credentials"]
    session = Creds.from_sts(c)
    assert session.access_key_id.startswith("ASIA") and len(session.access_key_id) == 20
    assert len(session.secret_access_key) == 40 and session.session_token
    out = server.boto3_client("sts", session).get_caller_identity()
    assert (out["UserId"], out["Account"], out["Arn"]) == (user["UserId"], server.account_id, server.arn(f"user/{name}"))
    cli = server.aws("sts", "get-caller-identity", creds=session)
    assert cli == {"UserId": user["UserId"], "Account": server.account_id, "Arn": user["Arn"]}


# --- GetSessionToken -----------------------------------------------------------------------


def test_get_session_token_user_default_is_12_hours(server):
    _, creds = server.create_user_with_key("gstdefault")
    c = server.boto3_client("sts", creds).get_session_token()["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA") and len(c["AccessKeyId"]) == 20
    assert len(c["SecretAccessKey"]) == 40
    assert 43200 - 120 <= seconds_left(c["Expiration"]) <= 43200 + 5, c["Expiration"]
    # The CLI parses the same response.
    cli = server.aws("sts", "get-session-token", "--duration-seconds", "129600", creds=creds)["Credentials"]
    assert cli["AccessKeyId"].startswith("ASIA")
    exp = dt.datetime.fromisoformat(cli["Expiration"].replace("Z", "+00:00"))
    assert 129600 - 120 <= seconds_left(exp) <= 129600 + 5, cli["Expiration"]


def test_get_session_token_root_is_capped_at_one_hour(sts):
    for kwargs in ({}, {"DurationSeconds": 7200}, {"DurationSeconds": 129600}):
        c = sts.get_session_token(**kwargs)["Credentials"]
        assert 3600 - 120 <= seconds_left(c["Expiration"]) <= 3600 + 5, (kwargs, c["Expiration"])
    c = sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert 900 - 120 <= seconds_left(c["Expiration"]) <= 900 + 5


@pytest.mark.parametrize(
    "duration, tail",
    [
        (899, "Member must have value greater than or equal to 900"),
        (129601, "Member must have value less than or equal to 129600"),
    ],
    ids=["899", "129601"],
)
def test_get_session_token_duration_bounds(server, duration, tail):
    _, creds = server.create_user_with_key("gstbounds")
    sts = server.boto3_client("sts", creds, validate=False)  # botocore itself refuses < 900
    with pytest.raises(ClientError) as e:
        sts.get_session_token(DurationSeconds=duration)
    code, message, status = client_error(e.value)
    assert (code, status) == ("ValidationError", 400)
    assert message == f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy constraint: {tail}"
    if duration < 900:
        return  # the CLI refuses it before sending
    # The CLI reports the same error.
    r = server.aws("sts", "get-session-token", "--duration-seconds", str(duration), creds=creds, check=False)
    assert r.returncode != 0 and r.error_code == "ValidationError", r.stderr


def test_get_session_token_duration_edges_are_accepted(server):
    _, creds = server.create_user_with_key("gstedges")
    sts = server.boto3_client("sts", creds)
    for d in (900, 129600):
        c = sts.get_session_token(DurationSeconds=d)["Credentials"]
        assert d - 120 <= seconds_left(c["Expiration"]) <= d + 5


def test_session_credentials_cannot_call_get_session_token(server, sts):
    for caller in (server.root, server.create_user_with_key("gstchain")[1]):
        session = Creds.from_sts(server.boto3_client("sts", caller).get_session_token(DurationSeconds=900)["Credentials"])
        with pytest.raises(ClientError) as e:
            server.boto3_client("sts", session).get_session_token()
        assert client_error(e.value) == ("AccessDenied", "Cannot call GetSessionToken with session credentials", 403)
    r = server.aws("sts", "get-session-token", creds=session, check=False)
    assert r.error_code == "AccessDenied" and r.error_message == "Cannot call GetSessionToken with session credentials", r.stderr


def test_session_without_mfa_cannot_call_iam(server, sts):
    # The root user may do anything in IAM with its long-term key...
    server.boto3_client("iam").list_users(MaxItems=1)
    # ... but not with a GetSessionToken session that carries no MFA context.
    session = Creds.from_sts(sts.get_session_token(DurationSeconds=900)["Credentials"])
    with pytest.raises(ClientError) as e:
        server.boto3_client("iam", session).list_users()
    code, _, status = client_error(e.value)
    assert (code, status) == ("AccessDenied", 403)
    r = server.aws("iam", "list-users", creds=session, check=False)
    assert r.returncode != 0 and r.error_code == "AccessDenied", r.stderr
    # STS GetCallerIdentity stays allowed for that session.
    assert server.boto3_client("sts", session).get_caller_identity()["Arn"] == server.arn("root")


# --- MFA -----------------------------------------------------------------------------------


def other_code(key: bytes, step: int) -> str:
    """A 6-digit code that is valid for no step near `step`."""
    near = {totp_at_step(key, s) for s in range(step - 4, step + 5)}
    for _ in range(1000):
        c = f"{secrets.randbelow(10**6):06d}"
        if c not in near:
            return c
    raise AssertionError("no unused code found")


def test_mfa_virtual_device_and_session_token(server, iam):
    name, creds = server.create_user_with_key("mfa")
    dev = iam.create_virtual_mfa_device(VirtualMFADeviceName=unique("phone"))["VirtualMFADevice"]
    serial = dev["SerialNumber"]
    assert serial.startswith(f"arn:aws:iam::{server.account_id}:mfa/phone-"), serial
    # botocore hands the blob back as the base32 text itself.
    key = b32decode_seed(dev["Base32StringSeed"])
    assert len(key) >= 10

    step = current_step()
    # Wrong codes are refused; two consecutive codes (the two previous windows) enable it.
    with pytest.raises(ClientError) as e:
        iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1=other_code(key, step),
                              AuthenticationCode2=other_code(key, step))
    code, _, status = client_error(e.value)
    assert (code, status) == ("InvalidAuthenticationCode", 403)
    iam.enable_mfa_device(UserName=name, SerialNumber=serial,
                          AuthenticationCode1=totp_at_step(key, step - 2), AuthenticationCode2=totp_at_step(key, step - 1))
    devices = iam.list_mfa_devices(UserName=name)["MFADevices"]
    assert [d["SerialNumber"] for d in devices] == [serial]

    sts = server.boto3_client("sts", creds)
    now_code = totp_at_step(key, step)
    c = sts.get_session_token(DurationSeconds=900, SerialNumber=serial, TokenCode=now_code)["Credentials"]
    mfa_session = Creds.from_sts(c)
    assert server.boto3_client("sts", mfa_session).get_caller_identity()["Arn"] == server.arn(f"user/{name}")

    # The same code again: single use.
    with pytest.raises(ClientError) as e:
        sts.get_session_token(DurationSeconds=900, SerialNumber=serial, TokenCode=now_code)
    assert client_error(e.value) == ("AccessDenied", MSG_MFA_INVALID_CODE, 403)
    # A wrong code.
    with pytest.raises(ClientError) as e:
        sts.get_session_token(DurationSeconds=900, SerialNumber=serial, TokenCode=other_code(key, current_step()))
    assert client_error(e.value) == ("AccessDenied", MSG_MFA_INVALID_CODE, 403)
    # A device that is not this user's.
    with pytest.raises(ClientError) as e:
        sts.get_session_token(SerialNumber=f"arn:aws:iam::{server.account_id}:mfa/{unique('nope')}", TokenCode="123456")
    assert client_error(e.value) == (
        "AccessDenied",
        "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.",
        403,
    )
    # The aws CLI sends the same parameters; the code is burned, so it is refused there too.
    r = server.aws("sts", "get-session-token", "--serial-number", serial, "--token-code", now_code, creds=creds, check=False)
    assert r.error_code == "AccessDenied" and r.error_message == MSG_MFA_INVALID_CODE, r.stderr


def test_mfa_session_token_with_the_cli(server, iam):
    name, creds = server.create_user_with_key("mfacli")
    dev = iam.create_virtual_mfa_device(VirtualMFADeviceName=unique("cliphone"))["VirtualMFADevice"]
    key, serial = b32decode_seed(dev["Base32StringSeed"]), dev["SerialNumber"]
    step = current_step()
    server.aws("iam", "enable-mfa-device", "--user-name", name, "--serial-number", serial,
               "--authentication-code1", totp_at_step(key, step - 2), "--authentication-code2", totp_at_step(key, step - 1))
    out = server.aws("sts", "get-session-token", "--serial-number", serial, "--token-code", totp_at_step(key, step),
                     "--duration-seconds", "900", creds=creds)
    session = Creds.from_sts(out["Credentials"])
    assert server.aws("sts", "get-caller-identity", creds=session)["Arn"] == server.arn(f"user/{name}")


# --- Presigned and header-signed identity proofs -------------------------------------------


def assert_identity(resp: RawResponse, arn: str, account: str) -> None:
    assert resp.status == 200, (resp.status, resp.text)
    assert xml_find(resp, "GetCallerIdentityResult", "Arn") == arn, resp.text
    assert xml_find(resp, "GetCallerIdentityResult", "Account") == account, resp.text
    assert xml_find(resp, "ResponseMetadata", "RequestId"), resp.text


@pytest.fixture(scope="module")
def presign_user(server):
    name, creds = server.create_user_with_key("presign")
    return server.arn(f"user/{name}"), creds


def test_presigned_get_with_generate_presigned_url(server, presign_user):
    arn, creds = presign_user
    sts = server.boto3_client("sts", creds)
    url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=900, HttpMethod="GET")
    assert "X-Amz-Signature=" in url and "Action=GetCallerIdentity" in url
    assert_identity(urlopen(url), arn, server.account_id)


def test_presigned_post_with_empty_body(server, presign_user):
    arn, creds = presign_user
    sts = server.boto3_client("sts", creds)
    url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=900)  # botocore signs POST
    assert_identity(urlopen(url, method="POST", data=b""), arn, server.account_id)
    assert_identity(urlopen(url, method="POST", data=b"", headers={"Content-Type": "application/x-www-form-urlencoded"}),
                    arn, server.account_id)


def test_presigned_post_with_form_body(server, presign_user):
    arn, creds = presign_user
    p = presign(creds, server.endpoint, method="POST", form_body=GCI)
    assert "Action" not in p.path and p.body == b"Action=GetCallerIdentity&Version=2011-06-15"
    assert_identity(urlopen(server.endpoint + p.path, method="POST", data=p.body, headers=p.headers), arn, server.account_id)
    # The body is covered by the signature: another action in it is refused.
    forged = b"Action=GetSessionToken&Version=2011-06-15"
    r = urlopen(server.endpoint + p.path, method="POST", data=forged, headers=p.headers)
    assert (r.status, parse_error(r).code) == (403, "SignatureDoesNotMatch"), r.text


def test_presigned_sigv4queryauth_get_with_session_credentials(server, presign_user):
    arn, creds = presign_user
    session = Creds.from_sts(server.boto3_client("sts", creds).get_session_token(DurationSeconds=900)["Credentials"])
    p = presign(session, server.endpoint, method="GET", params=GCI)
    assert "X-Amz-Security-Token=" in p.path
    assert_identity(urlopen(server.endpoint + p.path, headers=p.headers), arn, server.account_id)


VAULT_HEADER = "X-Vault-AWS-IAM-Server-ID"


def test_presigned_with_extra_signed_header(server, presign_user):
    arn, creds = presign_user
    p = presign(creds, server.endpoint, method="GET", params=GCI, headers={VAULT_HEADER: "vault.example.com"})
    assert "x-vault-aws-iam-server-id" in p.path.lower()  # in X-Amz-SignedHeaders
    assert_identity(urlopen(server.endpoint + p.path, headers=p.headers), arn, server.account_id)
    # The header is signed: another value, or none, breaks the signature.
    for headers in ({VAULT_HEADER: "evil.example.com"}, {}):
        r = urlopen(server.endpoint + p.path, headers=headers)
        assert (r.status, parse_error(r).code) == (403, "SignatureDoesNotMatch"), r.text


def test_header_signed_post_with_extra_signed_header(server, presign_user):
    """Vault's aws auth: the client signs a POST with SigV4Auth (plus the server-id header) and
    hands method, URL, headers and body to Vault, which replays them to STS."""
    arn, creds = presign_user
    p = sign(creds, server.endpoint, method="POST", body=GCI, headers={VAULT_HEADER: "vault.example.com"})
    assert "x-vault-aws-iam-server-id" in p.headers["Authorization"]
    assert_identity(urlopen(server.endpoint + p.path, method="POST", data=p.body, headers=p.headers), arn, server.account_id)
    tampered = dict(p.headers, **{VAULT_HEADER: "evil.example.com"})
    r = urlopen(server.endpoint + p.path, method="POST", data=p.body, headers=tampered)
    assert (r.status, parse_error(r).code) == (403, "SignatureDoesNotMatch"), r.text


def test_presigned_expires_bounds(server, presign_user):
    arn, creds = presign_user
    ok = presign(creds, server.endpoint, method="GET", params=GCI, expires=604800)
    assert_identity(urlopen(server.endpoint + ok.path), arn, server.account_id)
    for expires in (604801, 10_000_000, 0):
        p = presign(creds, server.endpoint, method="GET", params=GCI, expires=expires)
        r = urlopen(server.endpoint + p.path)
        assert r.status in (400, 403), (expires, r.status, r.text)
        e = parse_error(r)
        assert e.code != "" and e.type == "Sender", e
        assert xml_find(r, "GetCallerIdentityResult", "Arn") is None


def test_presigned_request_past_its_expiry_is_refused(server, presign_user):
    arn, creds = presign_user
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)
    p = presign(creds, server.endpoint, method="GET", params=GCI, expires=60, when=when)
    r = urlopen(server.endpoint + p.path)
    assert r.status in (400, 403), (r.status, r.text)
    assert parse_error(r).type == "Sender"
    # Within its lifetime the same kind of URL works.
    p = presign(creds, server.endpoint, method="GET", params=GCI, expires=900, when=when)
    assert_identity(urlopen(server.endpoint + p.path), arn, server.account_id)


def test_header_signed_get_query(server, presign_user):
    """A header-signed GET with the parameters in the query string (no body) is accepted."""
    arn, creds = presign_user
    p = sign(creds, server.endpoint, method="GET", url_query="Action=GetCallerIdentity&Version=2011-06-15")
    assert "Authorization" in p.headers and not p.body
    assert_identity(server.send_prepared(p), arn, server.account_id)


@pytest.mark.parametrize("region", ["us-west-2", "eu-central-1"])
def test_regional_signing_scopes_are_accepted(server, presign_user, region):
    """Regional STS endpoints sign with their own region; tessera accepts any by default."""
    arn, creds = presign_user
    assert server.boto3_client("sts", creds, region=region).get_caller_identity()["Arn"] == arn

