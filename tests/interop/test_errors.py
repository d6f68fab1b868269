"""The AWS error surface, with hand-built requests (http.client + botocore's own signers) for what
SDKs never send, and boto3 for the IAM business errors. Codes, statuses and (where
AWS-REFERENCE.md gives them) messages are AWS's exactly. No client mistake may be a 5xx."""

from __future__ import annotations

import datetime as dt
import http.client
import re
import secrets

import pytest
from botocore.exceptions import ClientError

from tessera_harness import (
    B32_ALPHABET,
    IAM_NS,
    IAM_VERSION,
    MSG_INVALID_TOKEN,
    MSG_MISSING_AUTH,
    MSG_SIGNATURE_MISMATCH,
    STS_NS,
    STS_VERSION,
    Creds,
    Prepared,
    RawResponse,
    client_error,
    parse_error,
    presign,
    query,
    sign,
    unique,
)

FORM = "application/x-www-form-urlencoded; charset=utf-8"
GCI = {"Action": "GetCallerIdentity", "Version": STS_VERSION}
GCI_BODY = "Action=GetCallerIdentity&Version=2011-06-15"
AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")

pytestmark = pytest.mark.usefixtures("no_server_faults")


def expect(resp: RawResponse, status: int, code: str, message: str | None = None, ns: str = STS_NS):
    assert resp.status == status, (resp.status, resp.text)
    e = parse_error(resp)
    assert e.code == code, (e, resp.text)
    assert e.namespace == ns, e
    if message is not None:
        assert e.message == message, e
    return e


def random_key(prefix: str = "AKIA") -> str:
    return prefix + "".join(secrets.choice(B32_ALPHABET) for _ in range(16))


# --- Authentication ------------------------------------------------------------------------


def test_unsigned_request_is_missing_authentication_token(server):
    cases = [
        ("POST", "/", {"Content-Type": FORM}, GCI_BODY, STS_NS),
        ("GET", "/?" + GCI_BODY, {}, b"", STS_NS),
        ("POST", "/", {"Content-Type": FORM}, f"Action=ListUsers&Version={IAM_VERSION}", IAM_NS),
    ]
    ids = set()
    for method, path, headers, body, ns in cases:
        r = server.send(method, path, headers, body)
        e = expect(r, 403, "MissingAuthenticationToken", MSG_MISSING_AUTH, ns=ns)
        assert e.type == "Sender"
        assert r.headers["Content-Type"].startswith("text/xml"), r.headers
        ids.add(e.request_id)
    assert len(ids) == len(cases), "every response has its own RequestId"


def test_unknown_access_key_is_invalid_client_token_id(server):
    creds = Creds(random_key(), "x" * 40)
    r = server.send_prepared(sign(creds, server.endpoint, body=GCI))
    expect(r, 403, "InvalidClientTokenId", MSG_INVALID_TOKEN)
    with pytest.raises(ClientError) as e:
        server.boto3_client("sts", creds).get_caller_identity()
    assert client_error(e.value) == ("InvalidClientTokenId", MSG_INVALID_TOKEN, 403)
    r = server.aws("sts", "get-caller-identity", creds=creds, check=False)
    assert r.returncode != 0 and r.error_code == "InvalidClientTokenId", r.stderr


def test_wrong_secret_is_signature_does_not_match(server):
    creds = server.root.replace(secret_access_key="y" * 40)
    r = server.send_prepared(sign(creds, server.endpoint, body=GCI))
    expect(r, 403, "SignatureDoesNotMatch", MSG_SIGNATURE_MISMATCH)
    assert server.root.access_key_id.encode() not in r.body
    with pytest.raises(ClientError) as e:
        server.boto3_client("iam", creds).list_users()
    code, message, status = client_error(e.value)
    assert (code, message, status) == ("SignatureDoesNotMatch", MSG_SIGNATURE_MISMATCH, 403)
    assert server.root.access_key_id not in message


def test_body_changed_after_signing_is_signature_does_not_match(server, iam):
    # STS: one extra parameter.
    p = sign(server.root, server.endpoint, body=GCI)
    p.body += b"&Extra=1"
    expect(server.send_prepared(p), 403, "SignatureDoesNotMatch", MSG_SIGNATURE_MISMATCH)
    # IAM: a signed ListUsers turned into a CreateUser must not create anything.
    name = unique("forged")
    p = sign(server.root, server.endpoint, body={"Action": "ListUsers", "Version": IAM_VERSION}, service="iam")
    p.body = query({"Action": "CreateUser", "Version": IAM_VERSION, "UserName": name}).encode()
    expect(server.send_prepared(p), 403, "SignatureDoesNotMatch", MSG_SIGNATURE_MISMATCH, ns=IAM_NS)
    with pytest.raises(ClientError) as e:
        iam.get_user(UserName=name)
    assert client_error(e.value)[0] == "NoSuchEntity"


def _stamp(t: dt.datetime) -> str:
    return t.strftime("%Y%m%dT%H%M%SZ")


def test_request_dated_20_minutes_ago_is_expired(server):
    sent = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(minutes=20)
    p = sign(server.root, server.endpoint, body=GCI, when=sent)
    assert p.headers["X-Amz-Date"] == _stamp(sent)
    e = expect(server.send_prepared(p), 403, "SignatureDoesNotMatch")
    m = re.fullmatch(r"Signature expired: (\S+) is now earlier than (\S+) \((\S+) - 15 min\.\)", e.message)
    assert m, e.message
    date, limit, now = (dt.datetime.strptime(g, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc) for g in m.groups())
    assert m.group(1) == _stamp(sent)
    assert now - limit == dt.timedelta(minutes=15)
    assert abs((now - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 120


def test_request_dated_20_minutes_ahead_is_not_yet_current(server):
    sent = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(minutes=20)
    p = sign(server.root, server.endpoint, body=GCI, when=sent)
    e = expect(server.send_prepared(p), 403, "SignatureDoesNotMatch")
    m = re.fullmatch(r"Signature not yet current: (\S+) is still later than (\S+) \((\S+) \+ 15 min\.\)", e.message)
    assert m, e.message
    assert m.group(1) == _stamp(sent)
    limit, now = (dt.datetime.strptime(g, "%Y%m%dT%H%M%SZ") for g in m.groups()[1:])
    assert limit - now == dt.timedelta(minutes=15)


def test_credential_scope_for_the_wrong_service(server):
    p = sign(server.root, server.endpoint, body=GCI, service="iam")
    expect(server.send_prepared(p), 403, "SignatureDoesNotMatch", "Credential should be scoped to correct service: 'sts'. ")
    p = sign(server.root, server.endpoint, body={"Action": "ListUsers", "Version": IAM_VERSION}, service="sts")
    expect(server.send_prepared(p), 403, "SignatureDoesNotMatch", "Credential should be scoped to correct service: 'iam'. ",
           ns=IAM_NS)


def test_malformed_authorization_header_is_incomplete_signature(server):
    good = sign(server.root, server.endpoint, body=GCI)
    auth = good.headers["Authorization"]
    cred = re.search(r"Credential=([^,]+)", auth).group(1)
    sig = re.search(r"Signature=([0-9a-f]+)", auth).group(1)
    four_parts = "/".join(cred.split("/")[:4])
    variants = [
        "AWS4-HMAC-SHA256 garbage",
        "AWS4-HMAC-SHA256",
        f"AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders=content-type;host;x-amz-date",
        f"AWS4-HMAC-SHA256 SignedHeaders=content-type;host;x-amz-date, Signature={sig}",
        f"AWS4-HMAC-SHA256 Credential={four_parts}, SignedHeaders=content-type;host;x-amz-date, Signature={sig}",
    ]
    for value in variants:
        r = server.send_prepared(Prepared(good.method, good.path, dict(good.headers, Authorization=value), good.body))
        expect(r, 400, "IncompleteSignature")
    r = server.send_prepared(Prepared(good.method, good.path,
                                            dict(good.headers, Authorization=auth.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512", 1)),
                                            good.body))
    expect(r, 400, "IncompleteSignature", "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'")


def test_tampered_session_token_is_invalid_client_token_id(server, sts):
    good = Creds.from_sts(sts.get_session_token(DurationSeconds=900)["Credentials"])
    other = Creds.from_sts(sts.get_session_token(DurationSeconds=900)["Credentials"])
    tok = good.session_token
    mid = len(tok) // 2
    flipped = tok[:mid] + ("B" if tok[mid] == "A" else "A") + tok[mid + 1:]
    for bad in (flipped, tok[:-4], tok + "AAAA", other.session_token):
        with pytest.raises(ClientError) as e:
            server.boto3_client("sts", good.replace(session_token=bad)).get_caller_identity()
        assert client_error(e.value) == ("InvalidClientTokenId", MSG_INVALID_TOKEN, 403), bad[:40]
    server.boto3_client("sts", good).get_caller_identity()


def test_asia_key_without_token_is_invalid_client_token_id(server, sts):
    session = Creds.from_sts(sts.get_session_token(DurationSeconds=900)["Credentials"])
    no_token = session.replace(session_token=None)
    with pytest.raises(ClientError) as e:
        server.boto3_client("sts", no_token).get_caller_identity()
    assert client_error(e.value) == ("InvalidClientTokenId", MSG_INVALID_TOKEN, 403)
    r = server.send_prepared(sign(no_token, server.endpoint, body=GCI))
    expect(r, 403, "InvalidClientTokenId", MSG_INVALID_TOKEN)


# --- Request shape ---------------------------------------------------------------------------


def test_unknown_action_is_invalid_action(server):
    r = server.send_prepared(sign(server.root, server.endpoint, body={"Action": "Frobnicate", "Version": STS_VERSION}))
    assert r.status == 400, r.text
    e = parse_error(r)
    assert (e.code, e.message) == ("InvalidAction", "Could not find operation Frobnicate for version 2011-06-15"), e
    r = server.send_prepared(sign(server.root, server.endpoint, body={"Action": "AssumeRoot2", "Version": IAM_VERSION}, service="iam"))
    assert r.status == 400, r.text
    e = parse_error(r)
    assert (e.code, e.message) == ("InvalidAction", "Could not find operation AssumeRoot2 for version 2010-05-08"), e


def test_missing_action_is_missing_parameter(server):
    r = server.send_prepared(sign(server.root, server.endpoint, body={"Version": STS_VERSION}))
    assert r.status == 400, r.text
    e = parse_error(r)
    assert (e.code, e.message) == ("MissingParameter", "The request must contain the parameter Action."), e


def test_duplicate_action_parameter_is_refused(server):
    # Twice in the body, with different values: parsing and signing must never disagree.
    p = sign(server.root, server.endpoint, body="Action=GetCallerIdentity&Action=GetSessionToken&Version=2011-06-15")
    r = server.send_prepared(p)
    assert r.status == 400, r.text
    parse_error(r)
    # Once in the (signed) query string and once in the body.
    p = sign(server.root, server.endpoint, body=GCI, url_query="Action=GetSessionToken")
    r = server.send_prepared(p)
    assert r.status == 400, r.text
    parse_error(r)


def _post_raw_body(server, size: int) -> int:
    """POST an unsigned form body of exactly `size` bytes; the server may answer before reading it all."""
    prefix = GCI_BODY.encode() + b"&Pad="
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.putrequest("POST", "/")
        conn.putheader("Content-Type", FORM)
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        chunk = b"a" * (1 << 20)
        sent = 0
        try:
            conn.send(prefix)
            sent = len(prefix)
            while sent < size:
                n = min(len(chunk), size - sent)
                conn.send(chunk[:n])
                sent += n
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused early; its answer is still readable
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def test_body_over_10_000_000_bytes_is_413(server):
    assert _post_raw_body(server, 10_000_001) == 413
    # The limit itself is accepted (then refused for the missing signature, not the size).
    assert _post_raw_body(server, 10_000_000) == 403


# --- IAM errors through boto3 ----------------------------------------------------------------


def test_iam_entity_already_exists(iam):
    name = unique("dup")
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as e:
        iam.create_user(UserName=name)
    assert client_error(e.value) == ("EntityAlreadyExists", f"User with name {name} already exists.", 409)
    group = unique("dupgroup")
    iam.create_group(GroupName=group)
    with pytest.raises(ClientError) as e:
        iam.create_group(GroupName=group)
    assert client_error(e.value)[::2] == ("EntityAlreadyExists", 409)


def test_iam_no_such_entity(iam):
    name = unique("ghost")
    for call in (lambda: iam.get_user(UserName=name), lambda: iam.delete_user(UserName=name),
                 lambda: iam.list_access_keys(UserName=name)):
        with pytest.raises(ClientError) as e:
            call()
        assert client_error(e.value) == ("NoSuchEntity", f"The user with name {name} cannot be found.", 404)
    with pytest.raises(ClientError) as e:
        iam.get_group(GroupName=unique("ghostgroup"))
    assert client_error(e.value)[::2] == ("NoSuchEntity", 404)


def test_iam_delete_conflict(iam):
    name = unique("conflict")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=name)
    code, message, status = client_error(e.value)
    assert (code, status) == ("DeleteConflict", 409)
    assert message.startswith("Cannot delete entity, must "), message
    iam.delete_access_key(UserName=name, AccessKeyId=key)
    iam.delete_user(UserName=name)


def test_iam_limit_exceeded_on_third_access_key(iam):
    name = unique("quota")
    iam.create_user(UserName=name)
    iam.create_access_key(UserName=name)
    iam.create_access_key(UserName=name)
    with pytest.raises(ClientError) as e:
        iam.create_access_key(UserName=name)
    assert client_error(e.value)[::2] == ("LimitExceeded", 409)
    assert len(iam.list_access_keys(UserName=name)["AccessKeyMetadata"]) == 2


def test_iam_invalid_input_for_duplicate_tag_keys(iam):
    msg = "Duplicate tag keys found. Please note that Tag keys are case insensitive."
    name = unique("tags")
    with pytest.raises(ClientError) as e:
        iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "a"}, {"Key": "TEAM", "Value": "b"}])
    assert client_error(e.value) == ("InvalidInput", msg, 400)
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as e:
        iam.tag_user(UserName=name, Tags=[{"Key": "k", "Value": "1"}, {"Key": "K", "Value": "2"}])
    assert client_error(e.value) == ("InvalidInput", msg, 400)


def test_iam_validation_error_for_bad_user_names(iam):
    with pytest.raises(ClientError) as e:
        iam.create_user(UserName="bad name!")
    assert client_error(e.value) == (
        "ValidationError",
        "1 validation error detected: Value 'bad name!' at 'userName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
        400,
    )
    long = "x" * 65
    with pytest.raises(ClientError) as e:
        iam.create_user(UserName=long)
    assert client_error(e.value) == (
        "ValidationError",
        f"1 validation error detected: Value '{long}' at 'userName' failed to satisfy constraint: "
        "Member must have length less than or equal to 64",
        400,
    )


def test_iam_access_denied_for_a_user_without_policies(server):
    name, creds = server.create_user_with_key("nopolicy")
    expected = (f"User: arn:aws:iam::{server.account_id}:user/{name} is not authorized to perform: iam:ListUsers "
                f"on resource: arn:aws:iam::{server.account_id}:user/")
    with pytest.raises(ClientError) as e:
        server.boto3_client("iam", creds).list_users()
    assert client_error(e.value) == ("AccessDenied", expected, 403)
    r = server.send_prepared(sign(creds, server.endpoint, body={"Action": "ListUsers", "Version": IAM_VERSION}, service="iam"))
    expect(r, 403, "AccessDenied", expected, ns=IAM_NS)
    cli = server.aws("iam", "list-users", creds=creds, check=False)
    assert cli.error_code == "AccessDenied" and cli.error_message == expected, cli.stderr
    # GetCallerIdentity is never denied.
    assert server.boto3_client("sts", creds).get_caller_identity()["Arn"] == server.arn(f"user/{name}")


# --- Garbage never becomes a 5xx ------------------------------------------------------------


def test_malformed_requests_never_answer_5xx(server):
    root = server.root
    ep = server.endpoint
    good = sign(root, ep, body=GCI)
    presigned = presign(root, ep, params=GCI)
    amz = {"X-Amz-Date": good.headers["X-Amz-Date"], "Content-Type": FORM}
    cases = [
        ("POST", "/", {"Content-Type": FORM}, b"\xff\xfe\x00%zz=%%&&==&"),
        ("POST", "/", {"Content-Type": "application/json"}, b'{"Action": "GetCallerIdentity"}'),
        ("GET", "/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256", {}, b""),
        ("GET", presigned.path.replace("X-Amz-Date=", "X-Amz-Date=2024"), {}, b""),
        ("GET", presigned.path.replace("X-Amz-Expires=900", "X-Amz-Expires=-5"), {}, b""),
        ("GET", presigned.path.replace("X-Amz-Expires=900", "X-Amz-Expires=abc"), {}, b""),
        ("GET", presigned.path, {"Authorization": good.headers["Authorization"]}, b""),
        ("POST", "/", dict(amz, Authorization=""), GCI_BODY.encode()),
        ("POST", "/", dict(amz, Authorization="AWS4-HMAC-SHA256 Credential=/20240101/us-east-1/sts/aws4_request, "
                                               "SignedHeaders=host, Signature=00"), GCI_BODY.encode()),
        ("POST", "/", dict(good.headers, **{"X-Amz-Date": "not-a-date"}), good.body),
        ("POST", "/", dict(good.headers, **{"X-Amz-Security-Token": "garbage"}), good.body),
        ("POST", "/", dict(good.headers, **{"X-Amz-Security-Token": "A" * 20000}), good.body),
        ("POST", "/", {"Content-Type": FORM}, b"Action=GetCallerIdentity&Version=1999-01-01"),
        ("POST", "/", {"Content-Type": FORM}, "Action=Get\u00e9\u4e16&Version=2011-06-15".encode()),
        ("GET", "/?" + "A" * 20000 + "=1&Action=GetCallerIdentity&Version=2011-06-15", {}, b""),
        ("GET", "/no/such/path", {}, b""),
        ("DELETE", "/", {}, b""),
    ]
    for method, path, headers, body in cases:
        r = server.send(method, path, headers, body)  # asserts < 500
        assert 400 <= r.status < 500, (method, path[:120], r.status, r.text[:300])
        if r.body:
            assert r.headers.get("Content-Type", "").startswith("text/xml"), (path[:120], r.headers)
            parse_error(r)
    # Bad values in signed requests of real actions.
    for body, service in [
        ({"Action": "GetSessionToken", "Version": STS_VERSION, "DurationSeconds": "abc"}, "sts"),
        ({"Action": "GetSessionToken", "Version": STS_VERSION, "DurationSeconds": "99999999999999999999999"}, "sts"),
        ({"Action": "GetSessionToken", "Version": STS_VERSION, "SerialNumber": "x" * 300, "TokenCode": "12"}, "sts"),
        ({"Action": "ListUsers", "Version": IAM_VERSION, "MaxItems": "0"}, "iam"),
        ({"Action": "ListUsers", "Version": IAM_VERSION, "MaxItems": "-1"}, "iam"),
        ({"Action": "ListUsers", "Version": IAM_VERSION, "MaxItems": "abc"}, "iam"),
        ({"Action": "ListUsers", "Version": IAM_VERSION, "Marker": "\u00ff" * 50}, "iam"),
        ({"Action": "CreateUser", "Version": IAM_VERSION}, "iam"),
        ({"Action": "CreateUser", "Version": IAM_VERSION, "UserName": unique("t"), "Tags.member.1.Key": "k"}, "iam"),
        ({"Action": "CreateUser", "Version": IAM_VERSION, "UserName": unique("t"), "Tags.member.3.Key": "k",
          "Tags.member.3.Value": "v"}, "iam"),
        ({"Action": "GetUser", "Version": IAM_VERSION, "UserName": "x" * 200}, "iam"),
        ({"Action": "UpdateAccessKey", "Version": IAM_VERSION, "AccessKeyId": random_key(), "Status": "Sleeping"}, "iam"),
        ({"Action": "ListVirtualMFADevices", "Version": IAM_VERSION, "AssignmentStatus": "Maybe"}, "iam"),
        ({"Action": "EnableMFADevice", "Version": IAM_VERSION, "UserName": "nobody", "SerialNumber": "short",
          "AuthenticationCode1": "1", "AuthenticationCode2": "x"}, "iam"),
    ]:
        r = server.send_prepared(sign(root, ep, body=body, service=service))
        assert r.status < 500, (body, r.status, r.text[:300])
