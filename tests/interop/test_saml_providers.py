"""IAM SAML providers through unmodified boto3 and the aws CLI, with IdP metadata as Okta,
Entra ID and Keycloak publish it (tests/fixtures/saml/)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tessera_harness import client_error, unique

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "saml"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def tags_of(resp_tags) -> dict:
    return {t["Key"]: t["Value"] for t in resp_tags}


def test_saml_provider_lifecycle_boto3(server, iam, no_server_faults):
    name = unique("Okta")
    doc = fixture("okta-metadata.xml")
    created = iam.create_saml_provider(Name=name, SAMLMetadataDocument=doc, Tags=[{"Key": "team", "Value": "sso"}])
    arn = created["SAMLProviderArn"]
    assert arn == server.arn(f"saml-provider/{name}")
    assert tags_of(created["Tags"]) == {"team": "sso"}

    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["SAMLMetadataDocument"] == doc
    assert isinstance(got["CreateDate"], dt.datetime) and isinstance(got["ValidUntil"], dt.datetime)
    assert got["ValidUntil"] > got["CreateDate"] + dt.timedelta(days=99 * 365)
    assert got["SAMLProviderUUID"].isalnum() and got["SAMLProviderUUID"].isupper()
    assert tags_of(got["Tags"]) == {"team": "sso"}
    assert "PrivateKeyList" not in got or got["PrivateKeyList"] == []

    listed = iam.list_saml_providers()["SAMLProviderList"]
    entry = next(p for p in listed if p["Arn"] == arn)
    assert entry["CreateDate"] == got["CreateDate"] and entry["ValidUntil"] == got["ValidUntil"]

    with pytest.raises(ClientError) as e:
        iam.create_saml_provider(Name=name, SAMLMetadataDocument=doc)
    assert client_error(e.value)[0::2] == ("EntityAlreadyExists", 409)

    # Rotation to Entra ID's metadata (two certificates), with an encryption key.
    iam.update_saml_provider(
        SAMLProviderArn=arn,
        SAMLMetadataDocument=fixture("entra-metadata.xml"),
        AssertionEncryptionMode="Allowed",
        AddPrivateKey=fixture("encryption-pkcs8.key"),
    )
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["SAMLMetadataDocument"] == fixture("entra-metadata.xml")
    assert got["AssertionEncryptionMode"] == "Allowed"
    [key] = got["PrivateKeyList"]
    assert set(key) == {"KeyId", "Timestamp"}  # never key material

    iam.tag_saml_provider(SAMLProviderArn=arn, Tags=[{"Key": "TEAM", "Value": "identity"}, {"Key": "env", "Value": "prod"}])
    iam.untag_saml_provider(SAMLProviderArn=arn, TagKeys=["ENV"])
    tags = iam.list_saml_provider_tags(SAMLProviderArn=arn)
    assert tags_of(tags["Tags"]) == {"TEAM": "identity"} and tags["IsTruncated"] is False

    iam.delete_saml_provider(SAMLProviderArn=arn)
    with pytest.raises(ClientError) as e:
        iam.get_saml_provider(SAMLProviderArn=arn)
    code, message, status = client_error(e.value)
    assert (code, status) == ("NoSuchEntity", 404) and arn in message


def test_saml_metadata_without_signing_certificate_is_refused_boto3(iam):
    doc = fixture("keycloak-metadata.xml").replace('use="signing"', 'use="encryption"')
    with pytest.raises(ClientError) as e:
        iam.create_saml_provider(Name=unique("nocert"), SAMLMetadataDocument=doc)
    code, message, status = client_error(e.value)
    assert (code, status) == ("InvalidInput", 400)
    assert message == "Could not parse metadata: the IDPSSODescriptor has no signing certificate."


def test_saml_provider_cli(server, tmp_path):
    name = unique("keycloak")
    path = tmp_path / "metadata.xml"
    path.write_text(fixture("keycloak-metadata.xml"))
    created = server.aws("iam", "create-saml-provider", "--name", name,
                         "--saml-metadata-document", f"file://{path}", "--tags", "Key=idp,Value=keycloak")
    arn = created["SAMLProviderArn"]
    assert arn == server.arn(f"saml-provider/{name}")
    got = server.aws("iam", "get-saml-provider", "--saml-provider-arn", arn)
    assert got["SAMLMetadataDocument"] == fixture("keycloak-metadata.xml")
    assert tags_of(got["Tags"]) == {"idp": "keycloak"}
    listed = server.aws("iam", "list-saml-providers")["SAMLProviderList"]
    assert arn in [p["Arn"] for p in listed]

    path.write_text(fixture("okta-metadata.xml"))
    updated = server.aws("iam", "update-saml-provider", "--saml-provider-arn", arn,
                         "--saml-metadata-document", f"file://{path}")
    assert updated["SAMLProviderArn"] == arn
    doctype = tmp_path / "doctype.xml"
    doctype.write_text('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + fixture("okta-metadata.xml").split("?>", 1)[1])
    r = server.aws("iam", "update-saml-provider", "--saml-provider-arn", arn,
                   "--saml-metadata-document", f"file://{doctype}", check=False)
    assert r.returncode != 0 and r.error_code == "InvalidInput", r.stderr
    assert "passwd" not in r.error_message

    server.aws("iam", "delete-saml-provider", "--saml-provider-arn", arn)
    r = server.aws("iam", "get-saml-provider", "--saml-provider-arn", arn, check=False)
    assert r.returncode != 0 and r.error_code == "NoSuchEntity", r.stderr


def test_saml_provider_arn_in_a_china_region_boto3(server):
    cn = server.boto3_client("iam", region="cn-north-1")
    name = unique("cn")
    arn = cn.create_saml_provider(Name=name, SAMLMetadataDocument=fixture("okta-metadata.xml"))["SAMLProviderArn"]
    assert arn == f"arn:aws-cn:iam::{server.account_id}:saml-provider/{name}"
    assert arn in [p["Arn"] for p in cn.list_saml_providers()["SAMLProviderList"]]
    cn.delete_saml_provider(SAMLProviderArn=arn)
