"""IAM OpenID Connect providers through unmodified boto3 and the aws CLI."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from tessera_harness import client_error, unique

PRINT_A = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
PRINT_B = "1c58a3a8518e8759bf075b76b750d4f2df264fcd"


def tags_of(resp_tags) -> dict:
    return {t["Key"]: t["Value"] for t in resp_tags}


def test_oidc_provider_lifecycle_boto3(server, iam, no_server_faults):
    host = f"{unique('idp').lower()}.example.com/tenant"
    created = iam.create_open_id_connect_provider(
        Url=f"https://{host}",
        ClientIDList=["sts.amazonaws.com", "app"],
        ThumbprintList=[PRINT_A],
        Tags=[{"Key": "team", "Value": "ci"}],
    )
    arn = created["OpenIDConnectProviderArn"]
    assert arn == server.arn(f"oidc-provider/{host}")
    assert tags_of(created["Tags"]) == {"team": "ci"}

    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == host  # IAM answers the URL without https://
    assert got["ClientIDList"] == ["sts.amazonaws.com", "app"]
    assert got["ThumbprintList"] == [PRINT_A]
    assert isinstance(got["CreateDate"], dt.datetime)
    assert abs((dt.datetime.now(dt.timezone.utc) - got["CreateDate"]).total_seconds()) < 120
    assert tags_of(got["Tags"]) == {"team": "ci"}

    listed = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert {"Arn": arn} in listed

    with pytest.raises(ClientError) as e:
        iam.create_open_id_connect_provider(Url=f"https://{host}")
    assert client_error(e.value) == ("EntityAlreadyExists", f"Provider with url https://{host} already exists.", 409)
    with pytest.raises(ClientError) as e:
        iam.create_open_id_connect_provider(Url=f"http://{unique('plain').lower()}.example.com")
    assert client_error(e.value)[0] == "InvalidInput"
    with pytest.raises(ClientError) as e:
        iam.create_open_id_connect_provider(Url=f"https://{unique('bad').lower()}.example.com", ThumbprintList=["x" * 40])
    assert client_error(e.value)[0] == "InvalidInput"

    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="third")
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="app")
    iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn, ThumbprintList=[PRINT_B])
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["ClientIDList"] == ["sts.amazonaws.com", "third"]
    assert got["ThumbprintList"] == [PRINT_B]
    # botocore sends an empty list as a bare `ThumbprintList=`: it clears the list.
    iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn, ThumbprintList=[])
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn).get("ThumbprintList", []) == []

    iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn, Tags=[{"Key": "TEAM", "Value": "platform"}, {"Key": "cost", "Value": "7"}])
    tags = iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn)
    assert tags_of(tags["Tags"]) == {"TEAM": "platform", "cost": "7"} and tags["IsTruncated"] is False
    iam.untag_open_id_connect_provider(OpenIDConnectProviderArn=arn, TagKeys=["team"])
    assert tags_of(iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn)["Tags"]) == {"cost": "7"}

    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    with pytest.raises(ClientError) as e:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert client_error(e.value) == ("NoSuchEntity", f"OpenIdConnect Provider not found for arn {arn}", 404)
    assert {"Arn": arn} not in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]


def test_oidc_provider_arn_in_a_china_region_boto3(server):
    cn = server.boto3_client("iam", region="cn-north-1")
    host = f"{unique('cn').lower()}.example.cn"
    arn = cn.create_open_id_connect_provider(Url=f"https://{host}", ClientIDList=["sts.amazonaws.com.cn"])["OpenIDConnectProviderArn"]
    assert arn == f"arn:aws-cn:iam::{server.account_id}:oidc-provider/{host}"
    assert cn.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["Url"] == host
    cn.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)


def test_oidc_provider_cli(server):
    host = f"{unique('cli').lower()}.example.com"
    created = server.aws("iam", "create-open-id-connect-provider", "--url", f"https://{host}",
                         "--client-id-list", "sts.amazonaws.com", "--thumbprint-list", PRINT_A,
                         "--tags", "Key=team,Value=ci")
    arn = created["OpenIDConnectProviderArn"]
    assert arn == server.arn(f"oidc-provider/{host}")
    got = server.aws("iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", arn)
    assert got["Url"] == host
    assert got["ClientIDList"] == ["sts.amazonaws.com"]
    assert got["ThumbprintList"] == [PRINT_A]
    assert tags_of(got["Tags"]) == {"team": "ci"}
    listed = server.aws("iam", "list-open-id-connect-providers")["OpenIDConnectProviderList"]
    assert {"Arn": arn} in listed
    server.aws("iam", "delete-open-id-connect-provider", "--open-id-connect-provider-arn", arn)
    r = server.aws("iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", arn, check=False)
    assert r.returncode != 0 and r.error_code == "NoSuchEntity", r.stderr
    assert r.error_message == f"OpenIdConnect Provider not found for arn {arn}"
