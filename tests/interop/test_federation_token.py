"""GetFederationToken and GetAccessKeyInfo through unmodified boto3 and the aws CLI, and a root
key id chosen by the operator in any format AWS's API accepts."""

from __future__ import annotations

import datetime as dt
import secrets

from tessera_harness import (
    Creds,
    TesseraServer,
    allow_doc,
    expect_client_error,
    not_authorized,
)

READ_ONLY = allow_doc(["iam:Get*"])


def seconds_left(expiration: dt.datetime) -> float:
    return (expiration - dt.datetime.now(dt.timezone.utc)).total_seconds()


def test_federation_token_with_boto3(server, iam):
    name, creds = server.create_user_with_key("broker")
    sts = server.boto3_client("sts", creds)
    fed = f"arn:aws:sts::{server.account_id}:federated-user/bob"
    expect_client_error(
        lambda: sts.get_federation_token(Name="bob", Policy=READ_ONLY),
        "AccessDenied",
        not_authorized(server.arn(f"user/{name}"), "sts:GetFederationToken", fed),
        403,
    )
    iam.put_user_policy(UserName=name, PolicyName="fed", PolicyDocument=allow_doc(["sts:GetFederationToken"]))
    out = sts.get_federation_token(Name="bob", Policy=READ_ONLY, DurationSeconds=900)
    assert out["FederatedUser"] == {"FederatedUserId": f"{server.account_id}:bob", "Arn": fed}
    assert out["PackedPolicySize"] > 0
    assert 880 <= seconds_left(out["Credentials"]["Expiration"]) <= 900
    c = out["Credentials"]
    bob = Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    me = server.boto3_client("sts", bob).get_caller_identity()
    assert me["Arn"] == fed and me["UserId"] == f"{server.account_id}:bob"
    # The session may call nothing else: no IAM, no further session.
    expect_client_error(lambda: server.boto3_client("iam", bob).list_users(), "AccessDenied", status=403)
    expect_client_error(
        lambda: server.boto3_client("sts", bob).get_federation_token(Name="carol"),
        "AccessDenied",
        "Cannot call GetFederationToken with session credentials",
    )
    # botocore checks Name's length itself; the server checks it too.
    raw = server.boto3_client("sts", creds, validate=False)
    expect_client_error(lambda: raw.get_federation_token(Name="x" * 33), "ValidationError", status=400)


def test_federation_token_with_the_cli(server):
    out = server.aws("sts", "get-federation-token", "--name", "clifed", "--duration-seconds", "7200")
    # The root may federate, for an hour at most.
    left = seconds_left(dt.datetime.fromisoformat(out["Credentials"]["Expiration"].replace("Z", "+00:00")))
    assert 3500 <= left <= 3600, left
    assert out["FederatedUser"]["Arn"] == f"arn:aws:sts::{server.account_id}:federated-user/clifed"
    c = out["Credentials"]
    me = server.aws("sts", "get-caller-identity", creds=Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]))
    assert me["Arn"].endswith(":federated-user/clifed")


def test_access_key_info(server, iam):
    name, creds = server.create_user_with_key("keyinfo")
    sts = server.boto3_client("sts")
    assert sts.get_access_key_info(AccessKeyId=creds.access_key_id)["Account"] == server.account_id
    session = server.boto3_client("sts", creds).get_session_token()["Credentials"]
    assert sts.get_access_key_info(AccessKeyId=session["AccessKeyId"])["Account"] == server.account_id
    # Read from the key id alone, as AWS does: a key tessera never saw still names its account
    # (a published AWS key id and its account).
    assert sts.get_access_key_info(AccessKeyId="ASIAY34FZKBOKMUTVV7A")["Account"] == "609629065308"
    out = server.aws("sts", "get-access-key-info", "--access-key-id", creds.access_key_id)
    assert out == {"Account": server.account_id}
    # Neither a key id that carries no account and is unknown, nor one of the wrong shape.
    expect_client_error(lambda: sts.get_access_key_info(AccessKeyId="AKIAIOSFODNN7EXAMPLE"), "InvalidParameterValue", status=400)
    raw = server.boto3_client("sts", validate=False)
    expect_client_error(lambda: raw.get_access_key_info(AccessKeyId="AKIA-SHORT"), "ValidationError", status=400)
    # A user needs sts:GetAccessKeyInfo.
    expect_client_error(
        lambda: server.boto3_client("sts", creds).get_access_key_info(AccessKeyId=creds.access_key_id),
        "AccessDenied",
        not_authorized(server.arn(f"user/{name}"), "sts:GetAccessKeyInfo", "*"),
    )


def test_operator_chosen_root_key_id_in_aws_format(tmp_path):
    root = Creds("AKIAROOTEXAMPLE00001", secrets.token_urlsafe(30)[:40])
    s = TesseraServer(tmp_path / "custom-root", root=root).start()
    try:
        sts = s.boto3_client("sts")
        assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{s.account_id}:root"
        assert sts.get_access_key_info(AccessKeyId=root.access_key_id)["Account"] == s.account_id
        assert s.aws("iam", "list-users")["Users"] == []
    finally:
        s.close()
