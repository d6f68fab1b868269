"""AssumeRoleWithWebIdentity with a real third-party OIDC issuer on loopback (PyPI
`oidc-provider-mock`, an authlib/joserfc provider): ID tokens come out of its own
authorization-code flow, boto3's web identity token-file flow and the aws CLI log in by
themselves from `AWS_ROLE_ARN` / `AWS_WEB_IDENTITY_TOKEN_FILE` / `AWS_ENDPOINT_URL_STS`, then make
a signed GetCallerIdentity with what they got (what configure-aws-credentials does)."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.parse
import warnings

import boto3
import botocore.exceptions
import httpx
import pytest

from tessera_harness import AWS_CLI, unique

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import oidc_provider_mock


@pytest.fixture(scope="module")
def issuer():
    with oidc_provider_mock.run_server_in_thread() as srv:
        yield f"http://127.0.0.1:{srv.server_port}"


def id_token(issuer: str, sub: str, client_id: str = "sts.amazonaws.com") -> str:
    """An ID token for `sub`, through the provider's authorization-code flow."""
    redirect = "http://127.0.0.1/callback"
    params = {
        "client_id": client_id,
        "redirect_uri": redirect,
        "response_type": "code",
        "scope": "openid",
        "nonce": unique("n"),
        "state": "s",
    }
    r = httpx.post(f"{issuer}/oauth2/authorize", params=params, data={"sub": sub})
    assert r.status_code == 302, r.text
    code = urllib.parse.parse_qs(urllib.parse.urlparse(r.headers["location"]).query)["code"][0]
    t = httpx.post(
        f"{issuer}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
            "client_id": client_id,
            "client_secret": "unused",
        },
    )
    assert t.status_code == 200, t.text
    return t.json()["id_token"]


@pytest.fixture
def wi_server(new_server):
    s = new_server(start=False)
    s.extra_env["TESSERA_OIDC_ALLOW_HTTP"] = "1"
    s.start()
    return s


def setup_role(server, issuer: str) -> str:
    iam = server.boto3_client("iam")
    provider = iam.create_open_id_connect_provider(Url=issuer, ClientIDList=["sts.amazonaws.com"])[
        "OpenIDConnectProviderArn"
    ]
    host = issuer.removeprefix("http://")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{host}:aud": "sts.amazonaws.com"},
                    "StringLike": {f"{host}:sub": "repo:octo-org/*"},
                },
            }
        ],
    }
    return iam.create_role(RoleName=unique("ci"), AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def web_identity_env(server, role_arn: str, token_file, session: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ROLE_ARN=role_arn,
        AWS_WEB_IDENTITY_TOKEN_FILE=str(token_file),
        AWS_ROLE_SESSION_NAME=session,
        AWS_ENDPOINT_URL_STS=server.endpoint,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
        AWS_PAGER="",
    )
    return env


def test_boto3_token_file_flow(wi_server, issuer, tmp_path, monkeypatch):
    role_arn = setup_role(wi_server, issuer)
    token_file = tmp_path / "token"
    token_file.write_text(id_token(issuer, "repo:octo-org/app:ref:refs/heads/main"))
    for k in list(os.environ):
        if k.startswith("AWS_"):
            monkeypatch.delenv(k)
    for k, v in web_identity_env(wi_server, role_arn, token_file, "boto3-ci").items():
        if k.startswith("AWS_"):
            monkeypatch.setenv(k, v)
    me = boto3.Session().client("sts").get_caller_identity()
    role_name = role_arn.rsplit("/", 1)[1]
    assert me["Arn"] == f"arn:aws:sts::{wi_server.account_id}:assumed-role/{role_name}/boto3-ci"

    # A token of another organisation is refused by the trust policy.
    token_file.write_text(id_token(issuer, "repo:evil-org/app:ref:refs/heads/main"))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        boto3.Session().client("sts").get_caller_identity()
    assert e.value.response["Error"]["Code"] == "AccessDenied"


def test_direct_call_answers_as_aws(wi_server, issuer):
    role_arn = setup_role(wi_server, issuer)
    sts = boto3.client(
        "sts",
        endpoint_url=wi_server.endpoint,
        region_name="us-east-1",
        config=botocore.config.Config(signature_version=botocore.UNSIGNED),
    )
    token = id_token(issuer, "repo:octo-org/app:ref:refs/heads/main")
    out = sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="direct", WebIdentityToken=token)
    assert out["SubjectFromWebIdentityToken"] == "repo:octo-org/app:ref:refs/heads/main"
    assert out["Audience"] == "sts.amazonaws.com"
    assert out["Provider"].endswith(f":oidc-provider/{issuer.removeprefix('http://')}")
    assert out["Credentials"]["AccessKeyId"].startswith("ASIA")
    # An audience the provider does not list.
    other = id_token(issuer, "repo:octo-org/app:ref:refs/heads/main", client_id="someone-else")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="direct", WebIdentityToken=other)
    assert e.value.response["Error"]["Code"] == "InvalidIdentityToken"
    assert e.value.response["Error"]["Message"] == "Incorrect token audience"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_aws_cli_logs_in_by_itself(wi_server, issuer, tmp_path):
    role_arn = setup_role(wi_server, issuer)
    token_file = tmp_path / "token"
    token_file.write_text(id_token(issuer, "repo:octo-org/cli:ref:refs/heads/main"))
    env = web_identity_env(wi_server, role_arn, token_file, "cli-ci")
    p = subprocess.run(
        [str(AWS_CLI), "sts", "get-caller-identity", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert p.returncode == 0, p.stderr
    role_name = role_arn.rsplit("/", 1)[1]
    assert json.loads(p.stdout)["Arn"] == f"arn:aws:sts::{wi_server.account_id}:assumed-role/{role_name}/cli-ci"
