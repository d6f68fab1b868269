#!/usr/bin/env python3
"""Generate SigV4 test vectors for tessera's verifier with botocore as the independent signer.

Output: botocore.json next to this script (committed). Each vector records the request exactly
as botocore would put it on the wire (method, raw path, raw query, headers in order, body) and
botocore's own intermediate values, captured from its `botocore.auth` debug log: the canonical
request, the string to sign and the signature. Time and keys are fixed and fake, so the output
is deterministic for a given botocore version.

Regenerate:
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install botocore
    /tmp/venv/bin/python tests/sigv4_vectors/generate.py
(tessera's helper harness used /work/scratch/sigv4/venv; botocore version is recorded in the file.)

Notes on what is "on the wire": botocore never sets Host itself (urllib3 does, from the URL,
without a default port); we add it the same way. Content-Length is set by botocore's request
preparation after signing, so it is present but unsigned, as in real traffic.
"""
import datetime
import json
import logging
import os
from unittest import mock
from urllib.parse import urlsplit

import botocore
import botocore.auth
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

NOW = datetime.datetime(2024, 1, 15, 12, 34, 56)  # naive UTC, as botocore uses it
ACCESS_KEY = "AKIDEXAMPLE1234567890"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TEMP_ACCESS_KEY = "ASIAEXAMPLE123456789"
TEMP_SECRET_KEY = "tEmPsEcReT/kEy+fOr/tEsTs0123456789ABCDE"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLE//////////wEaDFAKE+token/with=special&chars"


class Capture(logging.Handler):
    """Collects botocore.auth's CanonicalRequest / StringToSign / Signature debug records."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.last = {}

    def emit(self, record):
        msg = record.msg
        if not isinstance(msg, str) or not record.args:
            return
        for prefix, key in (("CanonicalRequest:", "canonical_request"),
                            ("StringToSign:", "string_to_sign"),
                            ("Signature:", "signature")):
            if msg.startswith(prefix):
                self.last[key] = record.args[0]


CAPTURE = Capture()
_log = logging.getLogger("botocore.auth")
_log.setLevel(logging.DEBUG)
_log.addHandler(CAPTURE)
_log.propagate = False


class Sent(Exception):
    """Raised from before-send so nothing goes to the network."""


def host_of(url):
    parts = urlsplit(url)
    host = parts.hostname
    port = parts.port
    if port and not ((parts.scheme == "http" and port == 80) or (parts.scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    return host


def wire(method, url, headers, body):
    """The request as the server sees it: raw path/query, Host first (as urllib3 sends it)."""
    parts = urlsplit(url)
    hdrs = list(headers)
    if not any(k.lower() == "host" for k, _ in hdrs):
        hdrs.insert(0, ("Host", host_of(url)))
    if isinstance(body, str):
        body = body.encode("utf-8")
    return {
        "method": method,
        "path": parts.path or "/",
        "query": parts.query,
        "headers": [[k, v.decode("latin-1") if isinstance(v, bytes) else v] for k, v in hdrs],
        "body": (body or b"").decode("utf-8"),
    }


def record(name, description, form, req, creds, region, service, expect_valid=True):
    cap = dict(CAPTURE.last)
    CAPTURE.last = {}
    return {
        "name": name,
        "description": description,
        "form": form,
        "request": req,
        "access_key_id": creds.access_key,
        "secret_access_key": creds.secret_key,
        "session_token": creds.token,
        "region": region,
        "service": service,
        "now": "20240115T123456Z",
        "canonical_request": cap["canonical_request"],
        "string_to_sign": cap["string_to_sign"],
        "signature": cap["signature"],
        "expect_valid": expect_valid,
    }


def client_call(service, region, creds, endpoint, op, params, extra_headers=None):
    """Run a real botocore client call; capture the prepared request at before-send."""
    session = botocore.session.get_session()
    client = session.create_client(
        service, region_name=region, endpoint_url=endpoint,
        aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
        aws_session_token=creds.token,
    )
    if extra_headers:
        def add_headers(request, **_):
            for k, v in extra_headers:
                request.headers[k] = v  # HTTPHeaders appends: repeated names stay repeated
        client.meta.events.register(f"before-sign.{service}", add_headers)
    seen = {}

    def stop(request, **_):
        seen["req"] = request
        raise Sent()

    client.meta.events.register(f"before-send.{service}", stop)
    try:
        getattr(client, op)(**params)
    except Sent:
        pass
    r = seen["req"]
    return wire(r.method, r.url, list(r.headers.items()), r.body)


def presign(service, region, creds, endpoint, op, http_method, extra_headers=None, expires=900):
    session = botocore.session.get_session()
    client = session.create_client(
        service, region_name=region, endpoint_url=endpoint,
        aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
        aws_session_token=creds.token,
    )
    if extra_headers:
        def add_headers(request, **_):
            for k, v in extra_headers:
                request.headers[k] = v
        client.meta.events.register(f"before-sign.{service}", add_headers)
    url = client.generate_presigned_url(op, Params={}, ExpiresIn=expires, HttpMethod=http_method)
    # The client then sends the URL with the headers it signed (and nothing in the body).
    return wire(http_method, url, list(extra_headers or []), b"")


def direct(creds, region, service, method, url, headers=(), params=None, data=None):
    """Sign a hand-built AWSRequest with SigV4Auth (for paths/queries clients rarely produce)."""
    req = AWSRequest(method=method, url=url, data=data, params=params)
    for k, v in headers:
        req.headers[k] = v
    botocore.auth.SigV4Auth(creds, service, region).add_auth(req)
    prepared = req.prepare()
    # Headers from the signed AWSRequest, not the prepared one: preparation turns them into a
    # dict, which drops all but the last value of a repeated header (botocore signs a repeated
    # header that it then does not send; a real client must send what it signed).
    return wire(prepared.method, prepared.url, list(req.headers.items()), prepared.body)


def main():
    long_term = Credentials(ACCESS_KEY, SECRET_KEY)
    temporary = Credentials(TEMP_ACCESS_KEY, TEMP_SECRET_KEY, SESSION_TOKEN)
    sts = "https://sts.amazonaws.com"
    out = []
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW):
        req = client_call("sts", "us-east-1", long_term, sts, "assume_role",
                          {"RoleArn": "arn:aws:iam::123456789012:role/demo",
                           "RoleSessionName": "John Doe@example.com",
                           "DurationSeconds": 3600,
                           "Tags": [{"Key": "Project", "Value": "Pegasus ü & co"}]})
        out.append(record("sts_assume_role_post", "STS AssumeRole, form POST body via botocore client",
                          "header", req, long_term, "us-east-1", "sts"))

        req = client_call("sts", "us-east-1", long_term, sts, "get_caller_identity", {})
        out.append(record("sts_get_caller_identity_post", "STS GetCallerIdentity, form POST",
                          "header", req, long_term, "us-east-1", "sts"))

        req = client_call("sts", "us-east-1", temporary, sts, "get_caller_identity", {})
        out.append(record("sts_session_token", "GetCallerIdentity with temporary credentials (X-Amz-Security-Token signed)",
                          "header", req, temporary, "us-east-1", "sts"))

        req = client_call("iam", "eu-west-1", long_term, "https://iam.example.test:8443", "list_roles",
                          {"PathPrefix": "/service role/", "MaxItems": 10})
        out.append(record("iam_eu_west_1", "IAM ListRoles signed for eu-west-1 against an overridden endpoint with a port",
                          "header", req, long_term, "eu-west-1", "iam"))

        req = client_call("sts", "us-east-1", long_term, sts, "get_caller_identity", {},
                          extra_headers=[("X-Vault-AWS-IAM-Server-ID", "vault.example.com"),
                                         ("X-Custom-Spaces", "  a   b    c  ")])
        out.append(record("header_whitespace",
                          "extra signed headers (Vault server id); inner/outer spaces trimmed and collapsed",
                          "header", req, long_term, "us-east-1", "sts"))

        req = direct(long_term, "us-east-1", "sts", "POST", "https://sts.amazonaws.com/",
                     headers=[("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
                              ("X-Repeated", "first"), ("X-Other", "x"),
                              ("X-Repeated", " second   value ")],
                     data=b"Action=GetCallerIdentity&Version=2011-06-15")
        out.append(record("header_repeated",
                          "a header sent twice (not adjacent): values trimmed and joined with ',' in order",
                          "header", req, long_term, "us-east-1", "sts"))

        req = direct(long_term, "us-east-1", "sts", "GET", "https://sts.amazonaws.com/",
                     params=[("Action", "GetCallerIdentity"), ("Version", "2011-06-15"),
                             ("Tag", "b value"), ("Tag", "a value"), ("Tag", "ü/~+&=*"),
                             ("Empty", ""), ("Reserved!*'()", "x;y:z@$,"), ("a b", "c")])
        out.append(record("get_query_special_chars",
                          "GET with spaces, unicode, reserved characters, repeated keys (sorted by value), empty value",
                          "header", req, long_term, "us-east-1", "sts"))

        req = direct(long_term, "us-east-1", "sts", "POST",
                     "https://sts.amazonaws.com/some%20path/caf%C3%A9/a~b/./c//d/",
                     headers=[("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                     data=b"Action=GetCallerIdentity&Version=2011-06-15")
        out.append(record("non_root_path",
                          "path other than '/': already-encoded segments are encoded again, dot segment and '//' normalized",
                          "header", req, long_term, "us-east-1", "sts"))

        req = presign("sts", "us-east-1", long_term, sts, "get_caller_identity", "GET",
                      extra_headers=[("x-k8s-aws-id", "my-cluster")], expires=60)
        out.append(record("presigned_gci_get", "presigned GetCallerIdentity GET with an extra signed header (EKS style)",
                          "presigned", req, long_term, "us-east-1", "sts"))

        req = presign("sts", "us-east-1", temporary, sts, "get_caller_identity", "POST",
                      extra_headers=[("X-Vault-AWS-IAM-Server-ID", "vault.example.com")], expires=900)
        out.append(record("presigned_gci_post_token",
                          "presigned GetCallerIdentity POST with session token in the query and x-vault-aws-iam-server-id signed; empty body hash",
                          "presigned", req, temporary, "us-east-1", "sts"))

    doc = {
        "generator": "tests/sigv4_vectors/generate.py",
        "botocore_version": botocore.__version__,
        "vectors": out,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "botocore.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(out)} vectors to {path}")


if __name__ == "__main__":
    main()
