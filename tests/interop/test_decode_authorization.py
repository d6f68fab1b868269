"""DecodeAuthorizationMessage through unmodified boto3 and the aws CLI: every AccessDenied from an
authorization decision ends with a sealed message that the caller's account can open, naming the
check that failed; a refusal across accounts tells the caller's account nothing about the other
account, and the other account cannot open it."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tessera_harness import Creds, allow_doc, expect_client_error, split_encoded, trust_doc


def blob_of(err: ClientError) -> str:
    _, blob = split_encoded(err.response["Error"]["Message"])
    assert blob, err.response["Error"]["Message"]
    return blob


@pytest.fixture(scope="module")
def account_b(server):
    p = server.tessera("account", "create", "--data-dir", str(server.data_dir))
    out = json.loads(p.stdout)
    return out["AccountId"], Creds(out["AccessKeyId"], out["SecretAccessKey"])


def test_boto3_and_cli_decode_an_identity_refusal(server, iam):
    name, creds = server.create_user_with_key("decode")
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "NoRoles", "Effect": "Deny", "Action": "iam:ListRoles", "Resource": "*"}]}))
    err = expect_client_error(lambda: server.boto3_client("iam", creds).list_roles(), "AccessDenied", status=403)
    blob = blob_of(err)

    doc = json.loads(server.boto3_client("sts").decode_authorization_message(EncodedMessage=blob)["DecodedMessage"])
    assert doc["allowed"] is False and doc["explicitDeny"] is True
    assert doc["context"]["action"] == "iam:ListRoles"
    assert doc["context"]["principal"]["arn"] == server.arn(f"user/{name}")
    [m] = doc["matchedStatements"]["items"]
    assert (m["statementId"], m["effect"], m["position"]) == ("NoRoles", "DENY", 0)
    assert doc["failures"]["items"][0]["check"] == "identity policy"

    out = server.aws("sts", "decode-authorization-message", "--encoded-message", blob)
    assert json.loads(out["DecodedMessage"]) == doc

    # The aws CLI shows the sealed message in its error, ready to paste.
    res = server.aws("iam", "list-roles", creds=creds, check=False)
    assert res.returncode != 0 and "Encoded authorization failure message: " in res.stderr

    expect_client_error(
        lambda: server.boto3_client("sts").decode_authorization_message(EncodedMessage=blob[:-3] + "AAA"),
        "InvalidAuthorizationMessageException", "The encoded authorization message is invalid.", 400)


def test_a_refusal_across_accounts_tells_only_the_callers_side(server, iam, account_b):
    b_id, b_root = account_b
    b_iam = server.boto3_client("iam", b_root)
    user = "crosser"
    b_iam.create_user(UserName=user)
    key = b_iam.create_access_key(UserName=user)["AccessKey"]
    b_user = Creds(key["AccessKeyId"], key["SecretAccessKey"])
    b_iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=allow_doc(["sts:AssumeRole"]))
    # A's role trusts someone else entirely.
    role = iam.create_role(RoleName="cross-target", AssumeRolePolicyDocument=trust_doc(server.arn("root")))["Role"]
    for arn in (role["Arn"], server.arn("role/does-not-exist")):
        err = expect_client_error(
            lambda: server.boto3_client("sts", b_user).assume_role(RoleArn=arn, RoleSessionName="x1"),
            "AccessDenied", status=403)
        blob = blob_of(err)
        doc = json.loads(server.boto3_client("sts", b_root).decode_authorization_message(EncodedMessage=blob)["DecodedMessage"])
        # The same words whether the role exists or its trust policy refuses.
        assert doc["failures"]["items"][0]["check"] == "role's account"
        assert all(m["policyType"] != "trust policy" for m in doc["matchedStatements"]["items"])
        # Account A cannot open account B's message.
        expect_client_error(
            lambda: server.boto3_client("sts").decode_authorization_message(EncodedMessage=blob),
            "InvalidAuthorizationMessageException", status=400)
