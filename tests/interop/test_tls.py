"""HTTPS with the clients operators use: the aws CLI and boto3 trusting the CA that
`certs/make-dev-certs.sh` makes, through AWS_CA_BUNDLE, by host name and by address; a role
profile whose credential provider reaches tessera through AWS_ENDPOINT_URL over HTTPS; and the
same clients refusing the server without the CA."""

from __future__ import annotations

import os
import subprocess
from unittest import mock

import pytest
from botocore.exceptions import SSLError

from tessera_harness import AWS_CLI, CLI_TIMEOUT, allow_doc, make_boto3_client, make_dev_certs, trust_doc, unique


@pytest.fixture
def tls_server(new_server, tmp_path):
    s = new_server("tls", start=False)
    s.tls = make_dev_certs(tmp_path / "certs")
    s.start()
    assert s.endpoint.startswith("https://")
    return s


def test_aws_cli_over_https_with_aws_ca_bundle(tls_server):
    s = tls_server
    by_name = f"https://localhost:{s.port}"
    # The harness hands the CLI AWS_CA_BUNDLE for an HTTPS server.
    me = s.aws("sts", "get-caller-identity", endpoint=by_name)
    assert me["Arn"] == s.arn("root")
    name = unique("tls-cli")
    s.aws("iam", "create-user", "--user-name", name)
    assert s.aws("iam", "get-user", "--user-name", name, endpoint=by_name)["User"]["UserName"] == name

    # Without the CA bundle the CLI refuses the certificate.
    r = s.aws("sts", "get-caller-identity", endpoint=by_name, check=False, env_extra={"AWS_CA_BUNDLE": None})
    assert r.returncode != 0
    assert "SSL validation failed" in r.stderr or "CERTIFICATE_VERIFY_FAILED" in r.stderr, r.stderr


def test_boto3_over_https_with_aws_ca_bundle(tls_server):
    s = tls_server
    for host in ("localhost", "127.0.0.1"):
        endpoint = f"https://{host}:{s.port}"
        # botocore reads AWS_CA_BUNDLE when the client is made (verify=None).
        with mock.patch.dict(os.environ, {"AWS_CA_BUNDLE": str(s.tls.ca)}):
            sts = make_boto3_client(endpoint, "sts", s.root)
            iam = make_boto3_client(endpoint, "iam", s.root)
        assert sts.get_caller_identity()["Arn"] == s.arn("root")
        iam.create_user(UserName=unique("tls-boto3"))

    assert "AWS_CA_BUNDLE" not in os.environ
    untrusting = make_boto3_client(f"https://localhost:{s.port}", "sts", s.root)
    with pytest.raises(SSLError):
        untrusting.get_caller_identity()


def test_a_role_profile_assumes_its_role_over_https(tls_server, tmp_path):
    """The CLI's assume-role credential provider makes its own STS client: AWS_ENDPOINT_URL and
    AWS_CA_BUNDLE must reach it too (`--endpoint-url` would not)."""
    s = tls_server
    iam = s.boto3_client("iam")
    user, key = s.create_user_with_key("tls-deployer")
    iam.put_user_policy(UserName=user, PolicyName="assume", PolicyDocument=allow_doc("sts:AssumeRole"))
    role = unique("tls-role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_doc({"AWS": s.arn(f"user/{user}")}))
    creds = tmp_path / "credentials"
    creds.write_text(
        f"[base]\naws_access_key_id = {key.access_key_id}\naws_secret_access_key = {key.secret_access_key}\n"
    )
    config = tmp_path / "config"
    config.write_text(
        f"[profile deploy]\nrole_arn = {s.arn('role/' + role)}\nsource_profile = base\nregion = us-east-1\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(config),
        AWS_SHARED_CREDENTIALS_FILE=str(creds),
        AWS_ENDPOINT_URL=f"https://localhost:{s.port}",
        AWS_CA_BUNDLE=str(s.tls.ca),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
        AWS_PAGER="",
    )
    p = subprocess.run([str(AWS_CLI), "sts", "get-caller-identity", "--profile", "deploy", "--output", "json"],
                       env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    assert f":assumed-role/{role}/" in p.stdout, p.stdout
