"""Helpers for the tessera interop suite: the server process, boto3 / aws CLI clients, hand-built
SigV4 requests (botocore signers), the AWS error envelope, and RFC 6238 TOTP.

Nothing here talks to real AWS: every client points its endpoint at a local `tessera serve`.
Every wait is bounded; every process started here is killed at teardown (and at exit).
"""

from __future__ import annotations

import atexit
import base64
import dataclasses
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets
import signal
import socket
import ssl
import string
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import botocore.loaders
import botocore.session
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

REPO = Path(__file__).resolve().parents[2]
AWS_CLI = Path(sys.executable).parent / "aws"

STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_VERSION = "2011-06-15"
IAM_VERSION = "2010-05-08"

STARTUP_TIMEOUT = 30.0
HTTP_TIMEOUT = 30.0
CLI_TIMEOUT = 90.0

MSG_INVALID_TOKEN = "The security token included in the request is invalid."
MSG_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
MSG_MISSING_AUTH = "Request is missing Authentication Token"
MSG_MFA_INVALID_CODE = "MultiFactorAuthentication failed with invalid MFA one time pass code."

# The pytest process itself must never pick up a developer's AWS configuration.
for _k in list(os.environ):
    if _k.startswith("AWS_"):
        del os.environ[_k]
os.environ["AWS_CONFIG_FILE"] = "/dev/null"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


def tessera_bin() -> Path:
    return Path(os.environ.get("TESSERA_BIN") or REPO / "target" / "debug" / "tessera")


def unique(prefix: str) -> str:
    """A fresh IAM-safe name, so tests sharing one server never collide."""
    return f"{prefix}-{secrets.token_hex(4)}"


B32_ALPHABET = string.ascii_uppercase + "234567"


def random_root_creds() -> "Creds":
    key = "AKIA" + "".join(secrets.choice(B32_ALPHABET) for _ in range(16))
    alphabet = string.ascii_letters + string.digits + "+/"
    secret = "".join(secrets.choice(alphabet) for _ in range(40))
    return Creds(key, secret)


@dataclasses.dataclass(frozen=True)
class Creds:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    @classmethod
    def from_sts(cls, c: dict) -> "Creds":
        """From the `Credentials` of an STS response (or `AccessKey` of CreateAccessKey)."""
        return cls(c["AccessKeyId"], c["SecretAccessKey"], c.get("SessionToken"))

    def botocore(self) -> Credentials:
        return Credentials(self.access_key_id, self.secret_access_key, self.session_token)

    def replace(self, **kw) -> "Creds":
        return dataclasses.replace(self, **kw)


# --------------------------------------------------------------------------------------------
# boto3 clients: one shared model loader (fast), explicit keys, no retries, bounded timeouts.

_LOADER = botocore.loaders.create_loader()
_LOADER_LOCK = threading.Lock()
CLIENT_CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"},
    connect_timeout=5,
    read_timeout=HTTP_TIMEOUT,
    max_pool_connections=50,
)


NO_VALIDATION_CONFIG = CLIENT_CONFIG.merge(Config(parameter_validation=False))


def make_boto3_client(endpoint: str, service: str, creds: Creds, region: str = "us-east-1", validate: bool = True,
                      verify: str | None = None):
    with _LOADER_LOCK:
        bs = botocore.session.get_session()
        bs.register_component("data_loader", _LOADER)
        session = boto3.session.Session(
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
            region_name=region,
            botocore_session=bs,
        )
        config = CLIENT_CONFIG if validate else NO_VALIDATION_CONFIG
        return session.client(service, endpoint_url=endpoint, config=config, verify=verify)


# --------------------------------------------------------------------------------------------
# The server process.

_LIVE: list["TesseraServer"] = []


def _kill_all_at_exit() -> None:
    for s in list(_LIVE):
        s.close()


atexit.register(_kill_all_at_exit)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclasses.dataclass(frozen=True)
class DevCerts:
    """What `certs/make-dev-certs.sh DIR` made: a CA and a server certificate for localhost."""
    dir: Path
    ca: Path
    cert: Path
    key: Path


def make_dev_certs(directory: Path) -> DevCerts:
    """Run the repository's dev-certificate script: a CA on the first run in `directory`, a new
    server certificate (same CA) on every run."""
    p = subprocess.run(["bash", str(REPO / "certs" / "make-dev-certs.sh"), str(directory)],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError(f"make-dev-certs.sh failed ({p.returncode}; it needs openssl):\n{p.stderr}")
    d = Path(directory)
    return DevCerts(d, d / "ca.pem", d / "server.pem", d / "server.key")


@dataclasses.dataclass
class AwsResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def data(self) -> Any:
        return json.loads(self.stdout) if self.stdout.strip() else {}

    @property
    def error_code(self) -> str | None:
        """The AWS code from the CLI's `An error occurred (Code) when calling ...` line."""
        m = re.search(r"An error occurred \(([^)]+)\) when calling the (\w+) operation", self.stderr)
        return m.group(1) if m else None

    @property
    def error_message(self) -> str | None:
        """The message from that line, without the sealed authorization message (split_encoded)."""
        m = re.search(r"An error occurred \([^)]+\) when calling the \w+ operation(?: \(reached max retries: \d+\))?: (.*)", self.stderr)
        return split_encoded(m.group(1).rstrip("\n"))[0] if m else None


class TesseraServer:
    """One `tessera serve` on a free port and its own data dir."""

    def __init__(self, workdir: Path, name: str = "tessera", root: Creds | None = None):
        self.name = name
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.log_path = self.workdir / "server.log"
        self.root = root or random_root_creds()
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.account_id: str | None = None
        self.starts = 0
        # Extra environment for the server process (e.g. TESSERA_OIDC_ALLOW_HTTP).
        self.extra_env: dict[str, str] = {}
        # Serve HTTPS with these (see make_dev_certs); clients then trust tls.ca.
        self.tls: DevCerts | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        assert self.port is not None, "server not started"
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def ca_bundle(self) -> str | None:
        """The CA file clients must trust (HTTPS), else None."""
        return str(self.tls.ca) if self.tls else None

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self.tls:
            ctx = ssl.create_default_context(cafile=str(self.tls.ca))
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def _env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TESSERA_", "AWS_"))}
        env["TESSERA_ROOT_ACCESS_KEY_ID"] = self.root.access_key_id
        env["TESSERA_ROOT_SECRET_ACCESS_KEY"] = self.root.secret_access_key
        env["TESSERA_LOG"] = os.environ.get("TESSERA_LOG", "info")
        env["NO_COLOR"] = "1"
        env.update(self.extra_env)
        return env

    def start(self) -> "TesseraServer":
        assert self.proc is None, "already running"
        binary = tessera_bin()
        if not binary.exists():
            raise RuntimeError(f"tessera binary not found at {binary} (set TESSERA_BIN)")
        # Prefer the previous port (clients keep working across a restart); a port that cannot be
        # bound again makes the process exit early, and then a fresh one is tried.
        ports = ([self.port] if self.port else []) + [free_port(), free_port()]
        last_error = ""
        for port in ports:
            self.port = port
            with open(self.log_path, "ab") as log:
                log.write(f"\n===== start #{self.starts + 1} on 127.0.0.1:{port} =====\n".encode())
                log.flush()
                tls_args = ["--tls-cert", str(self.tls.cert), "--tls-key", str(self.tls.key)] if self.tls else []
                self.proc = subprocess.Popen(
                    [str(binary), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(self.data_dir),
                     *tls_args],
                    env=self._env(),
                    cwd=self.workdir,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                )
            _LIVE.append(self)
            ok, last_error = self._wait_healthy()
            if ok:
                self.starts += 1
                if self.account_id is None:
                    me = self.boto3_client("sts").get_caller_identity()
                    self.account_id = me["Account"]
                return self
            self._reap(kill9=True)
        raise RuntimeError(f"tessera did not become healthy: {last_error}\n--- log ---\n{self.log_tail()}")

    def _wait_healthy(self) -> tuple[bool, str]:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last = "no attempt"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False, f"process exited with {self.proc.returncode}"
            try:
                conn = self._connection(timeout=2)
                try:
                    conn.request("GET", "/healthz")
                    resp = conn.getresponse()
                    resp.read()
                    if resp.status == 200:
                        return True, ""
                    last = f"/healthz answered {resp.status}"
                finally:
                    conn.close()
            except OSError as e:
                last = repr(e)
            time.sleep(0.05)
        return False, f"timed out after {STARTUP_TIMEOUT}s ({last})"

    def _reap(self, kill9: bool) -> None:
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            if kill9:
                p.send_signal(signal.SIGKILL)
            else:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.send_signal(signal.SIGKILL)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
            pass
        self.proc = None
        if self in _LIVE:
            _LIVE.remove(self)

    def stop(self, kill9: bool = True) -> None:
        """SIGKILL (no shutdown hooks, no flush) or SIGINT; waits for the process to be gone."""
        self._reap(kill9)

    def restart(self, kill9: bool = True) -> "TesseraServer":
        self.stop(kill9=kill9)
        return self.start()

    def close(self) -> None:
        self._reap(kill9=True)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 200) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    # -- clients -------------------------------------------------------------------------------

    def boto3_client(self, service: str, creds: Creds | None = None, region: str = "us-east-1", validate: bool = True):
        """A boto3 client for this server. validate=False turns off botocore's client-side
        parameter checks, to reach the server's own validation."""
        return make_boto3_client(self.endpoint, service, creds or self.root, region, validate, verify=self.ca_bundle)

    def aws(self, *args: str, creds: Creds | None = None, check: bool = True, region: str = "us-east-1", timeout: float = CLI_TIMEOUT,
            endpoint: str | None = None, env_extra: dict[str, str | None] | None = None):
        """Run the aws CLI against this server (at `endpoint` if given). check=True: returns the
        parsed JSON output (or {}), failing on a non-zero exit. check=False: returns an AwsResult.
        With HTTPS the CLI trusts the server's CA through AWS_CA_BUNDLE; `env_extra` adds to (or,
        with None values, removes from) the CLI's environment."""
        creds = creds or self.root
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=creds.access_key_id,
            AWS_SECRET_ACCESS_KEY=creds.secret_access_key,
            AWS_DEFAULT_REGION=region,
            AWS_CONFIG_FILE="/dev/null",
            AWS_SHARED_CREDENTIALS_FILE="/dev/null",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_MAX_ATTEMPTS="1",
            AWS_RETRY_MODE="standard",
            AWS_PAGER="",
        )
        if creds.session_token:
            env["AWS_SESSION_TOKEN"] = creds.session_token
        if self.tls:
            env["AWS_CA_BUNDLE"] = str(self.tls.ca)
        for k, v in (env_extra or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        cmd = [str(AWS_CLI), "--endpoint-url", endpoint or self.endpoint, "--output", "json",
               "--cli-connect-timeout", "10", "--cli-read-timeout", "30", *args]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        res = AwsResult(p.returncode, p.stdout, p.stderr)
        if not check:
            return res
        if p.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed with {p.returncode}:\n{p.stderr}")
        return res.data

    def tessera(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run another `tessera` subcommand (e.g. `account create --data-dir DIR`)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TESSERA_", "AWS_"))}
        p = subprocess.run([str(tessera_bin()), *args], env=env, cwd=self.workdir, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError(f"tessera {' '.join(args)} failed with {p.returncode}:\n{p.stdout}\n{p.stderr}")
        return p

    # -- raw HTTP ------------------------------------------------------------------------------

    def send(self, method: str, path: str = "/", headers: dict | None = None, body: bytes | str = b"",
             allow_5xx: bool = False) -> "RawResponse":
        if isinstance(body, str):
            body = body.encode()
        conn = self._connection(timeout=HTTP_TIMEOUT)
        try:
            conn.request(method, path, body=body if (body or method == "POST") else None, headers=headers or {})
            resp = conn.getresponse()
            r = RawResponse(resp.status, resp.headers, resp.read())
        finally:
            conn.close()
        if not allow_5xx:
            assert r.status < 500, f"{method} {path[:200]} answered {r.status}: {r.body[:2000]!r}"
        return r

    def send_prepared(self, p: "Prepared", **kw) -> "RawResponse":
        return self.send(p.method, p.path, p.headers, p.body, **kw)

    # -- identities ----------------------------------------------------------------------------

    def arn(self, resource: str) -> str:
        """`arn:aws:iam::<account>:<resource>`, e.g. arn("root"), arn(f"user/{name}")."""
        return f"arn:aws:iam::{self.account_id}:{resource}"

    def create_user_with_key(self, prefix: str = "user", path: str = "/") -> tuple[str, Creds]:
        iam = self.boto3_client("iam")
        name = unique(prefix)
        iam.create_user(UserName=name, Path=path)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return name, Creds(key["AccessKeyId"], key["SecretAccessKey"])


@dataclasses.dataclass
class RawResponse:
    status: int
    headers: Any
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


# --------------------------------------------------------------------------------------------
# The AWS awsQuery error envelope and success documents.


@dataclasses.dataclass
class AwsError:
    namespace: str
    type: str
    code: str
    message: str
    request_id: str


def parse_error(resp: RawResponse) -> AwsError:
    """Parse and check `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`:
    RequestId is a sibling of Error, and equals the `x-amzn-RequestId` header."""
    try:
        root = ET.fromstring(resp.body)
    except ET.ParseError as e:  # pragma: no cover - reported as a test failure
        raise AssertionError(f"error body is not XML ({e}): status {resp.status} {resp.body[:500]!r}")
    m = re.match(r"\{([^}]*)\}(.*)", root.tag)
    ns, tag = (m.group(1), m.group(2)) if m else ("", root.tag)
    assert tag == "ErrorResponse", f"root element is {root.tag}: {resp.text[:500]}"
    q = (lambda t: f"{{{ns}}}{t}") if ns else (lambda t: t)
    children = [c.tag for c in root]
    assert q("Error") in children and q("RequestId") in children, f"Error and RequestId must be siblings: {resp.text}"
    err = root.find(q("Error"))
    fields = {c.tag: (c.text or "") for c in err}
    for f in ("Type", "Code", "Message"):
        assert q(f) in fields, f"<Error> lacks <{f}>: {resp.text}"
    request_id = root.find(q("RequestId")).text or ""
    assert request_id, "empty RequestId"
    header = resp.headers.get("x-amzn-RequestId")
    assert header == request_id, f"x-amzn-RequestId header {header!r} != <RequestId> {request_id!r}"
    e = AwsError(ns, fields[q("Type")], fields[q("Code")], split_encoded(fields[q("Message")])[0], request_id)
    assert e.type == ("Receiver" if resp.status >= 500 else "Sender"), f"Type {e.type} for HTTP {resp.status}"
    return e


def xml_find(resp: RawResponse, *path: str, ns: str = STS_NS) -> str | None:
    root = ET.fromstring(resp.body)
    el = root
    for p in path:
        el = el.find(f"{{{ns}}}{p}")
        if el is None:
            return None
    return el.text


ENCODED_MARKER = ". Encoded authorization failure message: "


def split_encoded(message: str) -> tuple[str, str | None]:
    """An error message without the sealed authorization message tessera appends to
    AccessDenied (the part AWS's text defines), and that message or None.
    test_decode_authorization.py checks the sealed part."""
    head, sep, blob = message.rpartition(ENCODED_MARKER)
    return (head, blob) if sep else (message, None)


def client_error(exc) -> tuple[str, str, int]:
    """(code, message without the sealed authorization message, http status) of a botocore
    ClientError."""
    r = exc.response
    return r["Error"]["Code"], split_encoded(r["Error"].get("Message", ""))[0], r["ResponseMetadata"]["HTTPStatusCode"]


# --------------------------------------------------------------------------------------------
# Hand-built signed requests (botocore's own signers).


@dataclasses.dataclass
class Prepared:
    method: str
    path: str  # path + query, as sent
    headers: dict
    body: bytes


def _prepared_from(req: AWSRequest) -> Prepared:
    parts = urllib.parse.urlsplit(req.url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    body = req.body or b""
    if isinstance(body, str):
        body = body.encode()
    return Prepared(req.method, path, dict(req.headers.items()), body)


def query(params: dict | list) -> str:
    """SigV4-canonical form encoding (space = %20, only A-Za-z0-9-_.~ unescaped)."""
    items = params.items() if isinstance(params, dict) else params
    return "&".join(f"{urllib.parse.quote(str(k), safe='-_.~')}={urllib.parse.quote(str(v), safe='-_.~')}" for k, v in items)


def sign(creds: Creds, endpoint: str, *, method: str = "POST", body: bytes | str | dict | list | None = None,
         url_query: str = "", service: str = "sts", region: str = "us-east-1", headers: dict | None = None,
         when=None) -> Prepared:
    """A header-signed (Authorization) request, signed by botocore's SigV4Auth. `when` (an aware
    datetime) overrides the signing clock."""
    if isinstance(body, (dict, list)):
        body = query(body)
    if isinstance(body, str):
        body = body.encode()
    hdrs = {}
    if method == "POST":
        hdrs["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    hdrs.update(headers or {})
    url = endpoint + "/" + (f"?{url_query}" if url_query else "")
    req = AWSRequest(method=method, url=url, data=body or b"", headers=hdrs)
    signer = SigV4Auth(creds.botocore(), service, region)
    if when is not None:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            signer.add_auth(req)
    else:
        signer.add_auth(req)
    return _prepared_from(req)


class _BodySignedQueryAuth(SigV4QueryAuth):
    """Presigned query auth that keeps the form body (and signs its SHA-256) instead of moving the
    parameters into the query string as botocore does."""

    def _modify_request_before_signing(self, request):
        data = request.data
        request.data = b""
        super()._modify_request_before_signing(request)
        request.data = data


def presign(creds: Creds, endpoint: str, *, method: str = "GET", params: dict | None = None, service: str = "sts",
            region: str = "us-east-1", expires: int = 900, headers: dict | None = None,
            form_body: dict | None = None, when=None) -> Prepared:
    """A presigned (query-string) request by botocore's SigV4QueryAuth. `params` go in the query;
    `form_body` (POST) stays in the body and is covered by the payload hash."""
    url = endpoint + "/" + (f"?{query(params)}" if params else "")
    hdrs = dict(headers or {})
    body = b""
    auth_cls = SigV4QueryAuth
    if form_body is not None:
        hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        body = query(form_body).encode()
        auth_cls = _BodySignedQueryAuth
    req = AWSRequest(method=method, url=url, data=body, headers=hdrs)
    signer = auth_cls(creds.botocore(), service, region, expires=expires)
    if when is not None:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            signer.add_auth(req)
    else:
        signer.add_auth(req)
    p = _prepared_from(req)
    p.body = body
    return p


# --------------------------------------------------------------------------------------------
# RFC 6238 TOTP (HMAC-SHA1, 30 s, 6 digits), standard library only.


def b32decode_seed(seed: bytes | str) -> bytes:
    if isinstance(seed, bytes):
        seed = seed.decode("ascii")
    seed = seed.strip().replace(" ", "").upper()
    return base64.b32decode(seed + "=" * (-len(seed) % 8))


def totp_at_step(key: bytes, step: int, digits: int = 6) -> str:
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % (10 ** digits)
    return f"{code:0{digits}d}"


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // 30)


# --------------------------------------------------------------------------------------------
# Policies, roles and AssumeRole (issues 3 and 4).

MSG_ROOT_CANNOT_ASSUME = "Roles may not be assumed by root accounts."
MSG_CHAINING_CAP = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
MSG_ABOVE_MAX_SESSION = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."


def policy_json(*statements: dict, version: str = "2012-10-17") -> str:
    return json.dumps({"Version": version, "Statement": list(statements)})


def allow_doc(actions, resource="*", **extra) -> str:
    """An identity policy allowing `actions` on `resource` (extra keys, e.g. Condition, added)."""
    return policy_json({"Effect": "Allow", "Action": actions, "Resource": resource, **extra})


def trust_doc(principal, actions=("sts:AssumeRole",), condition: dict | None = None) -> str:
    """A role trust policy: `principal` is a Principal value ({"AWS": ...}) or an ARN string."""
    if isinstance(principal, str):
        principal = {"AWS": principal}
    stmt = {"Effect": "Allow", "Principal": principal, "Action": list(actions)}
    if condition:
        stmt["Condition"] = condition
    return policy_json(stmt)


def not_authorized(caller_arn: str, action: str, resource: str) -> str:
    """The standard AccessDenied text (AWS-REFERENCE §3)."""
    return f"User: {caller_arn} is not authorized to perform: {action} on resource: {resource}"


def expect_client_error(call, code: str, message: str | None = None, status: int | None = None, *, prefix: str | None = None):
    """Run `call()`; it must raise a botocore ClientError with this code (and message / status /
    message prefix). Returns the ClientError (its RequestId is in .response)."""
    from botocore.exceptions import ClientError

    try:
        out = call()
    except ClientError as e:
        got = client_error(e)
        assert got[0] == code, f"expected {code}, got {got}"
        if message is not None:
            assert got[1] == message, f"expected message {message!r}, got {got}"
        if prefix is not None:
            assert got[1].startswith(prefix), f"expected message starting {prefix!r}, got {got}"
        if status is not None:
            assert got[2] == status, f"expected HTTP {status}, got {got}"
        return e
    raise AssertionError(f"expected {code}, but the call succeeded: {str(out)[:500]}")


def request_id_of(err) -> str:
    return err.response["ResponseMetadata"]["RequestId"]


def wait_log_line(server: "TesseraServer", *needles: str, offset: int = 0, timeout: float = 3.0) -> str:
    """The first server log line (after byte `offset`) that contains every needle; bounded wait."""
    deadline = time.monotonic() + timeout
    while True:
        for line in server.log_since(offset).splitlines():
            if all(n in line for n in needles):
                return line
        if time.monotonic() > deadline:
            raise AssertionError(f"no log line with {needles} within {timeout}s; tail:\n{server.log_tail(30)}")
        time.sleep(0.05)


def audit_tail(server: "TesseraServer", lines: int = 200) -> tuple[str, list[dict]]:
    """`tessera audit tail -n LINES --data-dir DIR` on a server's data dir: (raw stdout, records)."""
    p = server.tessera("audit", "tail", "-n", str(lines), "--data-dir", str(server.data_dir))
    records = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    return p.stdout, records
