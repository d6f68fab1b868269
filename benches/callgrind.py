#!/usr/bin/env python3
"""Instructions per request of the release server, counted by callgrind (independent of how busy
the machine is; see docs/measurements.md).

The server runs under `valgrind --tool=callgrind`; one pre-signed request is sent N1 and then
N2 times (over 4 keep-alive connections, each time to a fresh server on a fresh data dir); the
slope of the total instruction count (Ir) between the two runs is the cost of one request,
start-up, set-up and shutdown cancelled out.

    benches/callgrind.py [--bin target/release/tessera] [--n 200 1000] [--runs 1] TARGET...

TARGET: `gci-session` (GetCallerIdentity with session credentials, the load bench's target),
`gci-key` (GetCallerIdentity with a user's long-term key), `assume-role` (AssumeRole with a
user's key, the load bench's target), `wi-repeated` (AssumeRoleWithWebIdentity replaying one
RS256 token of a loopback issuer, answered by the verified-token cache: the load bench's
target), `saml` (AssumeRoleWithSAML, each request a distinct response, so the replay cache
never answers: RSA-2048, the assertion signed by the xmlsec1 program, as the load bench's SAML
target; the responses of a run are signed before its server starts). Needs botocore and
cryptography (the interop venv has them; `saml` also lxml and the xmlsec1 program, which the
interop SAML suite needs too) and valgrind.
Extra environment for the server: `--env K=V`.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import http.server
import threading
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCOUNT = "000000000000"
ROOT = ("AKIACALLGRINDROOT001", "callgrind/root/secret/0000000000000000000")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def signed(creds: Credentials, port: int, service: str, params: dict) -> tuple[bytes, dict]:
    body = urllib.parse.urlencode(params).encode()
    req = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(creds, service, "us-east-1").add_auth(req)
    return body, dict(req.headers.items())


def call(port: int, creds: Credentials, service: str, params: dict) -> str:
    body, headers = signed(creds, port, service, params)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("POST", "/", body=body, headers=headers)
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    if r.status != 200:
        raise RuntimeError(f"{params['Action']}: {r.status} {text}")
    return text


def field(xml: str, name: str) -> str:
    m = re.search(f"<{name}>([^<]*)</{name}>", xml)
    assert m, (name, xml)
    return m.group(1)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    """A loopback OIDC issuer (discovery and JWKS over http) with one RSA key, and RS256 tokens
    shaped as the load bench's (`oidc_token` in benches/load.rs)."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pub = self.key.public_key().public_numbers()
        as_bytes = lambda i: i.to_bytes((i.bit_length() + 7) // 8, "big")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        docs = {
            "/.well-known/openid-configuration": {
                "issuer": self.url, "jwks_uri": f"{self.url}/jwks",
                "authorization_endpoint": f"{self.url}/auth", "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"]},
            "/jwks": {"keys": [{"kty": "RSA", "use": "sig", "kid": "bench", "alg": "RS256",
                                "n": b64url(as_bytes(pub.n)), "e": b64url(as_bytes(pub.e))}]},
        }

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                doc = docs.get(self.path)
                body = json.dumps(doc).encode() if doc else b"not found"
                self.send_response(200 if doc else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, sub: str) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        now = int(time.time())
        enc = lambda v: b64url(json.dumps(v, separators=(",", ":")).encode())
        signing_input = enc({"alg": "RS256", "kid": "bench", "typ": "JWT"}) + "." + enc(
            {"iss": self.url, "sub": sub, "aud": "sts.amazonaws.com", "repository": "octo-org/octo-repo",
             "ref": "refs/heads/main", "iat": now, "nbf": now, "exp": now + 3600})
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(sig)}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def setup_web_identity(port: int, issuer: Issuer) -> dict:
    """Register `issuer` and a role trusting its tokens for one repository (as the load bench);
    the parameters of one AssumeRoleWithWebIdentity request."""
    root = Credentials(*ROOT)
    iam = {"Version": "2010-05-08"}
    url = issuer.url.removeprefix("http://")
    call(port, root, "iam", {**iam, "Action": "CreateOpenIDConnectProvider", "Url": issuer.url,
                             "ClientIDList.member.1": "sts.amazonaws.com"})
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{url}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{url}:aud": "sts.amazonaws.com"},
                      "StringLike": {f"{url}:sub": "repo:octo-org/octo-repo:*"}}}]}
    call(port, root, "iam", {**iam, "Action": "CreateRole", "RoleName": "bench-ci",
                             "AssumeRolePolicyDocument": json.dumps(trust)})
    return {"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/bench-ci", "RoleSessionName": "bench",
            "WebIdentityToken": issuer.token("repo:octo-org/octo-repo:ref:refs/heads/main")}


SAML_PROVIDER = f"arn:aws:iam::{ACCOUNT}:saml-provider/bench-okta"
SAML_ROLE = f"arn:aws:iam::{ACCOUNT}:role/bench-saml"
SAML_ENTITY = "http://www.okta.com/exkcallgrind"


def saml_forge():
    """The interop suite's SAML builder and signers (tests/interop/saml_forge.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "interop"))
    import saml_forge

    return saml_forge


class SamlIdp:
    """An RSA-2048 IdP (a key made at start-up) and `n` distinct signed responses for it, shaped
    as the load bench's (`saml_requests` in benches/load.rs: the AWS role pair, a session name,
    SessionDuration; the assertion signed)."""

    def __init__(self) -> None:
        self.f = saml_forge()
        self.key = self.f.new_keypair("callgrind.idp.example.test")

    def responses(self, n: int) -> list[bytes]:
        f = self.f
        bodies = []
        for i in range(n):
            c = f.Claims(issuer=SAML_ENTITY, roles=[f"{SAML_ROLE},{SAML_PROVIDER}"], session_name=f"bench-{i}",
                         session_duration=3600)
            xml = f.signed_response(c, self.key, "xmlsec1", "assertion")
            bodies.append(urllib.parse.urlencode({
                "Action": "AssumeRoleWithSAML", "Version": "2011-06-15", "RoleArn": SAML_ROLE,
                "PrincipalArn": SAML_PROVIDER, "SAMLAssertion": f.b64(xml)}).encode())
        return bodies


def setup_saml(port: int, idp: SamlIdp) -> None:
    """Register `idp` as SAML provider `bench-okta` and the role `bench-saml` trusting it (as
    `saml_register` in the load bench)."""
    root = Credentials(*ROOT)
    iam = {"Version": "2010-05-08"}
    call(port, root, "iam", {**iam, "Action": "CreateSAMLProvider", "Name": "bench-okta",
                             "SAMLMetadataDocument": idp.f.metadata(SAML_ENTITY, [idp.key])})
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": SAML_PROVIDER}, "Action": "sts:AssumeRoleWithSAML",
        "Condition": {"StringEquals": {"saml:aud": idp.f.AWS_ACS}}}]}
    call(port, root, "iam", {**iam, "Action": "CreateRole", "RoleName": "bench-saml",
                             "AssumeRolePolicyDocument": json.dumps(trust)})


def setup(port: int) -> dict[str, tuple[Credentials, str, dict]]:
    root = Credentials(*ROOT)
    iam = {"Version": "2010-05-08"}
    call(port, root, "iam", {**iam, "Action": "CreateUser", "UserName": "bench"})
    out = call(port, root, "iam", {**iam, "Action": "CreateAccessKey", "UserName": "bench"})
    user = Credentials(field(out, "AccessKeyId"), field(out, "SecretAccessKey"))
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/bench"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "bench-external-id"},
                      "IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}]}
    call(port, root, "iam", {**iam, "Action": "CreateRole", "RoleName": "bench-role",
                             "AssumeRolePolicyDocument": json.dumps(trust)})
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
    call(port, root, "iam", {**iam, "Action": "PutUserPolicy", "UserName": "bench", "PolicyName": "assume",
                             "PolicyDocument": json.dumps(allow)})
    sts = {"Version": "2011-06-15"}
    out = call(port, user, "sts", {**sts, "Action": "GetSessionToken"})
    session = Credentials(field(out, "AccessKeyId"), field(out, "SecretAccessKey"), field(out, "SessionToken"))
    return {
        "gci-session": (session, "sts", {**sts, "Action": "GetCallerIdentity"}),
        "gci-key": (user, "sts", {**sts, "Action": "GetCallerIdentity"}),
        "assume-role": (user, "sts", {**sts, "Action": "AssumeRole", "RoleSessionName": "bench",
                                      "ExternalId": "bench-external-id",
                                      "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/bench-role"}),
    }


def run_once(binary: str, target: str, n: int, env_extra: dict[str, str], keep: str | None = None,
             saml_idp: SamlIdp | None = None) -> int:
    # SAML responses are valid for five minutes from their signing: made just before the run.
    saml_bodies = saml_idp.responses(n) if saml_idp is not None else None
    with tempfile.TemporaryDirectory(prefix="tessera-cg-") as d:
        port = free_port()
        out = Path(d) / "callgrind.out"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TESSERA_", "AWS_"))}
        env.update(TESSERA_ROOT_ACCESS_KEY_ID=ROOT[0], TESSERA_ROOT_SECRET_ACCESS_KEY=ROOT[1],
                   TESSERA_LOG="warn", TESSERA_OIDC_ALLOW_HTTP="1", **env_extra)
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary, "serve",
             "--listen", f"127.0.0.1:{port}", "--data-dir", str(Path(d) / "data")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        issuer = None
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    c.request("GET", "/healthz")
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("server did not start")
                time.sleep(0.5)
            if target == "wi-repeated":
                issuer = Issuer()
                body = urllib.parse.urlencode(setup_web_identity(port, issuer)).encode()
                headers = {"Content-Type": "application/x-www-form-urlencoded"}
            elif target == "saml":
                setup_saml(port, saml_idp)
                body, headers = b"", {"Content-Type": "application/x-www-form-urlencoded"}
            else:
                creds, service, params = setup(port)[target]
                body, headers = signed(creds, port, service, params)
            conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=120) for _ in range(4)]
            for i in range(n):
                c = conns[i % 4]
                c.request("POST", "/", body=saml_bodies[i] if saml_bodies is not None else body, headers=headers)
                r = c.getresponse()
                text = r.read()
                if r.status != 200:
                    raise RuntimeError(f"request {i}: {r.status} {text[:500]!r}")
            for c in conns:
                c.close()
        finally:
            if issuer is not None:
                issuer.close()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=300)
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            (Path(keep) / f"{target}-{n}.out").write_bytes(out.read_bytes())
        for line in out.read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
        raise RuntimeError("no totals in the callgrind output")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("targets", nargs="+", choices=["gci-session", "gci-key", "assume-role", "wi-repeated", "saml"])
    ap.add_argument("--bin", default="target/release/tessera")
    ap.add_argument("--n", nargs=2, type=int, default=[200, 1000])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--env", action="append", default=[], help="K=V for the server")
    ap.add_argument("--keep", help="keep each run's callgrind output as DIR/TARGET-N.out "
                    "(for callgrind_annotate; diff two of them to see one request's costs)")
    a = ap.parse_args()
    env_extra = dict(kv.split("=", 1) for kv in a.env)
    for target in a.targets:
        saml_idp = SamlIdp() if target == "saml" else None
        for _ in range(a.runs):
            lo, hi = (run_once(a.bin, target, n, env_extra, a.keep, saml_idp) for n in a.n)
            per = (hi - lo) / (a.n[1] - a.n[0])
            print(f"{target}: {per:,.0f} Ir/request (N={a.n[0]}: {lo:,}, N={a.n[1]}: {hi:,})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
