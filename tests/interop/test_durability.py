"""The real binary's durability and operator commands: `kill -9` in the middle of a burst of
writes loses nothing acknowledged; `tessera account create` is seen by a running server at once;
`tessera keys rotate` keeps earlier sessions valid."""

from __future__ import annotations

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from tessera_harness import Creds, client_error, unique


def test_kill9_during_create_user_burst_loses_no_acknowledged_user(new_server):
    s = new_server("burst")
    iam = s.boto3_client("iam")
    name, user = s.create_user_with_key("durable")
    session = Creds.from_sts(s.boto3_client("sts", user).get_session_token()["Credentials"])
    assert s.boto3_client("sts", session).get_caller_identity()["Arn"] == s.arn(f"user/{name}")

    acked: list[str] = []
    lock = threading.Lock()
    prefix = unique("burst")
    total = 400

    def create(i: int) -> None:
        n = f"{prefix}-{i}"
        try:
            iam.create_user(UserName=n)
        except Exception:
            return  # in flight when the process died: may or may not exist
        with lock:
            acked.append(n)

    pool = ThreadPoolExecutor(max_workers=16)
    try:
        futures = [pool.submit(create, i) for i in range(total)]
        # Kill while the burst is running: after some acknowledgements, well before all.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with lock:
                if len(acked) >= 20:
                    break
            time.sleep(0.002)
        s.stop(kill9=True)
        for f in futures:
            f.result(timeout=60)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    assert 20 <= len(acked) < total, f"{len(acked)} of {total} acknowledged: the kill did not land mid-burst"

    s.start()
    iam = s.boto3_client("iam")
    lost = []
    for n in acked:
        try:
            iam.get_user(UserName=n)
        except ClientError as e:
            lost.append((n, client_error(e)))
    assert not lost, f"{len(lost)} acknowledged users lost after kill -9: {lost[:5]}"
    listed = {u["UserName"] for page in iam.get_paginator("list_users").paginate() for u in page["Users"]}
    assert set(acked) <= listed
    # Long-term keys, the earlier session token and the root key still work.
    assert s.boto3_client("sts", user).get_caller_identity()["Arn"] == s.arn(f"user/{name}")
    assert s.boto3_client("sts", session).get_caller_identity()["Arn"] == s.arn(f"user/{name}")
    assert s.boto3_client("sts").get_caller_identity()["Arn"] == s.arn("root")
    assert s.aws("sts", "get-caller-identity", creds=session)["Arn"] == s.arn(f"user/{name}")


def test_restart_keeps_users_keys_and_sessions(new_server):
    s = new_server("restart")
    name, user = s.create_user_with_key("restart", path="/keep/")
    s.boto3_client("iam").tag_user(UserName=name, Tags=[{"Key": "k", "Value": "v"}])
    session = Creds.from_sts(s.boto3_client("sts").get_session_token(DurationSeconds=900)["Credentials"])
    for kill9 in (True, False):
        s.restart(kill9=kill9)
        got = s.boto3_client("iam").get_user(UserName=name)["User"]
        assert got["Arn"] == s.arn(f"user/keep/{name}") and got["Tags"] == [{"Key": "k", "Value": "v"}]
        assert s.boto3_client("sts", user).get_caller_identity()["Arn"] == got["Arn"]
        assert s.boto3_client("sts", session).get_caller_identity()["Arn"] == s.arn("root")


ACCOUNT_ID = "111122223333"


def test_account_create_is_seen_by_a_running_server(new_server):
    s = new_server("accounts")
    default_user, _ = s.create_user_with_key("home")
    p = s.tessera("account", "create", "--id", ACCOUNT_ID, "--data-dir", str(s.data_dir))
    out = json.loads(p.stdout)
    assert out["AccountId"] == ACCOUNT_ID
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", out["AccessKeyId"]), out
    assert len(out["SecretAccessKey"]) == 40
    creds = Creds(out["AccessKeyId"], out["SecretAccessKey"])

    # At once: no retry, no restart.
    me = s.boto3_client("sts", creds).get_caller_identity()
    assert (me["Account"], me["Arn"], me["UserId"]) == (ACCOUNT_ID, f"arn:aws:iam::{ACCOUNT_ID}:root", ACCOUNT_ID)
    assert s.aws("sts", "get-caller-identity", creds=creds)["Account"] == ACCOUNT_ID

    # The accounts are separate: same user name allowed, lists do not mix.
    iam2 = s.boto3_client("iam", creds)
    assert default_user not in [u["UserName"] for u in iam2.list_users()["Users"]]
    u = iam2.create_user(UserName=default_user)["User"]
    assert u["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/{default_user}"
    assert s.boto3_client("iam").get_user(UserName=default_user)["User"]["Arn"] == s.arn(f"user/{default_user}")

    # The same id twice is refused; survives a kill -9.
    dup = s.tessera("account", "create", "--id", ACCOUNT_ID, "--data-dir", str(s.data_dir), check=False)
    assert dup.returncode != 0
    s.restart(kill9=True)
    assert s.boto3_client("sts", creds).get_caller_identity()["Account"] == ACCOUNT_ID


def test_keys_rotate_keeps_earlier_sessions_valid(new_server):
    s = new_server("rotate")
    name, user = s.create_user_with_key("rot")
    root_session = Creds.from_sts(s.boto3_client("sts").get_session_token(DurationSeconds=900)["Credentials"])
    user_session = Creds.from_sts(s.boto3_client("sts", user).get_session_token(DurationSeconds=900)["Credentials"])

    s.stop(kill9=True)
    s.tessera("keys", "rotate", "--data-dir", str(s.data_dir))
    s.start()

    assert s.boto3_client("sts", root_session).get_caller_identity()["Arn"] == s.arn("root")
    assert s.boto3_client("sts", user_session).get_caller_identity()["Arn"] == s.arn(f"user/{name}")
    # Long-term secrets (re-sealed at rest) still verify; new sessions work too.
    assert s.boto3_client("sts", user).get_caller_identity()["Arn"] == s.arn(f"user/{name}")
    assert s.boto3_client("sts").get_caller_identity()["Arn"] == s.arn("root")
    fresh = Creds.from_sts(s.boto3_client("sts", user).get_session_token(DurationSeconds=900)["Credentials"])
    assert s.aws("sts", "get-caller-identity", creds=fresh)["Arn"] == s.arn(f"user/{name}")
    assert s.aws("sts", "get-caller-identity", creds=user_session)["Arn"] == s.arn(f"user/{name}")
