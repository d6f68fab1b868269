"""AssumeRoleWithSAML through unmodified boto3 and the aws CLI, with SAML Responses made and
signed by independent signers (signxml, pysaml2 over xmlsec1, the xmlsec1 CLI; see
saml_forge.py), and the negative suite: signature wrapping, tampering, foreign keys, time and
audience rules, replays, DTDs, external references, transforms, weak algorithms, size.

The provider is created from the forge's metadata, the roles trust it as AWS's console writes
it (`Federated` = the saml-provider ARN, `sts:AssumeRoleWithSAML`, `saml:aud` = the AWS ACS).

Refusals follow the AWS contract (API reference AssumeRoleWithSAML "Errors"; IAM user guide
troubleshoot_saml; AWS-REFERENCE.md §3, §5 SAML):
* an assertion that cannot be validated (signature, structure, issuer, audience, recipient,
  destination, replay, DTD, references, transforms, algorithms): `InvalidIdentityToken` 400
  (AWS says "Response signature invalid" for signature failures);
* outside its validity window, expired or not yet valid ("expired or is not valid"):
  `ExpiredTokenException` 400;
* a Response whose Status is not Success ("the IdP reported that authentication failed"):
  `IDPRejectedClaim` 403;
* a role the assertion does not grant, or a trust policy that does not allow the session:
  `AccessDenied` 403, "Not authorized to perform sts:AssumeRoleWithSAML" (naming
  sts:TagSession or sts:SetSourceIdentity when that is what the trust policy lacks, as
  AssumeRole and AssumeRoleWithWebIdentity do);
* a SAMLAssertion over 100,000 characters: `ValidationError` 400.
Whatever the refusal, the injected identity is never answered, no request reaches the loopback
listener and no process opens the bait file.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Callable

import boto3
import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from lxml import etree

import saml_forge as f
from saml_forge import SAML, SAMLP, q
from tessera_harness import AWS_CLI, CLIENT_CONFIG, AwsResult, Creds, client_error, unique
from traps import FileWatch, Listener

INVALID = ("InvalidIdentityToken", 400)
EXPIRED = ("ExpiredTokenException", 400)
REJECTED = ("IDPRejectedClaim", 403)
DENIED = ("AccessDenied", 403)
MSG_DENIED = "Not authorized to perform sts:AssumeRoleWithSAML"
# AWS's messages for these (IAM user guide, troubleshoot_saml).
MSG_NO_SESSION_NAME = "RoleSessionName is required in AuthnResponse"
MSG_BAD_SESSION_NAME = "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}"
MSG_BAD_SOURCE_IDENTITY = 'Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64} and not begin with "aws:"'
MSG_ABOVE_MAX_SESSION = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
# What a refusal message must never carry: file contents, the verifier's internals.
LEAKS = ("root:x:", "bait:", "xmlsec", "samael", "libxml", "func=", "panicked", "/etc/passwd")

# Expiration has whole seconds; the server's clock may round up past ours.
CLOCK_SLACK = 2

BAIT_TEXT = b"bait: no SAML verifier may read this file\n"


# --------------------------------------------------------------------------------------------
# Fixtures: the listener and bait file, the IdP and its provider, roles that trust it.


@pytest.fixture(scope="module")
def listener():
    srv = Listener()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def bait(tmp_path_factory):
    p = tmp_path_factory.mktemp("bait") / "bait.txt"
    p.write_bytes(BAIT_TEXT)
    return p


def unsigned_sts(server):
    """STS as saml2aws and the CLI call it for this action: no credentials, no signature."""
    return boto3.client("sts", endpoint_url=server.endpoint, region_name="us-east-1",
                        config=CLIENT_CONFIG.merge(Config(signature_version=botocore.UNSIGNED)))


def federated_trust(provider_arn: str, actions=("sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"),
                    condition: dict | None = None) -> str:
    stmt = {
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": list(actions),
        # What the IAM console writes for a SAML 2.0 federation role.
        "Condition": condition if condition is not None else {"StringEquals": {"SAML:aud": f.AWS_ACS}},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [stmt]})


@dataclasses.dataclass
class Role:
    name: str
    arn: str
    id: str


@dataclasses.dataclass
class Federation:
    server: object
    key: f.KeyPair
    entity_id: str
    provider_name: str
    provider_arn: str
    reader: Role
    admin: Role

    def pair(self, role: Role) -> str:
        return f"{role.arn},{self.provider_arn}"

    def claims(self, **kw) -> f.Claims:
        kw.setdefault("roles", [self.pair(self.reader)])
        kw.setdefault("session_name", unique("alice"))
        kw.setdefault("issuer", self.entity_id)
        return f.Claims(**kw)

    def signed(self, c: f.Claims | None = None, signer: str = "xmlsec1", target: str = "assertion") -> bytes:
        return f.signed_response(c or self.claims(), self.key, signer, target)

    def assume(self, xml: bytes | str, role: Role | None = None, **kw) -> dict:
        return unsigned_sts(self.server).assume_role_with_saml(
            RoleArn=(role or self.reader).arn, PrincipalArn=self.provider_arn,
            SAMLAssertion=xml if isinstance(xml, str) else f.b64(xml), **kw)

    @property
    def name_qualifier(self) -> str:
        raw = f"{self.entity_id}{self.server.account_id}/{self.provider_name}".encode()
        return base64.b64encode(hashlib.sha1(raw).digest()).decode()


def make_role(server, trust: str, prefix: str, **kw) -> Role:
    r = server.boto3_client("iam").create_role(RoleName=unique(prefix), AssumeRolePolicyDocument=trust, **kw)["Role"]
    return Role(r["RoleName"], r["Arn"], r["RoleId"])


def new_federation(server, key: f.KeyPair | None = None, certs: list[f.KeyPair] | None = None) -> Federation:
    key = key or f.new_keypair()
    entity_id = f"https://idp.example.test/{unique('app')}"
    name = unique("ForgeIdP")
    provider = server.boto3_client("iam").create_saml_provider(
        Name=name, SAMLMetadataDocument=f.metadata(entity_id, certs or [key]))["SAMLProviderArn"]
    trust = federated_trust(provider)
    return Federation(server, key, entity_id, name, provider, make_role(server, trust, "reader"),
                      make_role(server, trust, "admin"))


@pytest.fixture(scope="module")
def fed(server):
    return new_federation(server)


@pytest.fixture(scope="module")
def attacker():
    return f.new_keypair("idp.example.test")  # same subject name as the IdP's: only the key differs


# --------------------------------------------------------------------------------------------
# Checks.


def check_answer(fed: Federation, out: dict, c: f.Claims, role: Role | None = None, *, subject_type: str = "persistent"):
    role = role or fed.reader
    acct = fed.server.account_id
    assert out["Subject"] == c.name_id
    assert out["SubjectType"] == subject_type
    assert out["Issuer"] == fed.entity_id
    assert out["Audience"] == c.recipient  # AWS answers the SubjectConfirmationData Recipient
    assert out["NameQualifier"] == fed.name_qualifier
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{acct}:assumed-role/{role.name}/{c.session_name}"
    assert out["AssumedRoleUser"]["AssumedRoleId"] == f"{role.id}:{c.session_name}"
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SecretAccessKey"] and creds["SessionToken"]
    if "PackedPolicySize" in out:
        assert 0 <= out["PackedPolicySize"] <= 100


def caller(fed: Federation, out: dict) -> dict:
    return fed.server.boto3_client("sts", Creds.from_sts(out["Credentials"])).get_caller_identity()


def seconds_left(out: dict) -> float:
    return (out["Credentials"]["Expiration"] - dt.datetime.now(dt.timezone.utc)).total_seconds()


def refuse(fed: Federation, xml: bytes | str, expected: tuple[str, int], role: Role | None = None,
           message: str | None = None, **kw) -> str:
    """The call must fail with `expected` (code, HTTP status); returns the message. A success
    is reported with the identity it handed out, and whether that is the injected one."""
    try:
        out = fed.assume(xml, role, **kw)
    except ClientError as e:
        code, msg, status = client_error(e)
        assert (code, status) == expected, f"expected {expected}, got {(code, status, msg)}"
        if message is not None:
            assert msg == message
        for leak in LEAKS:
            assert leak not in msg, f"refusal message leaks {leak!r}: {msg!r}"
        assert f.EVIL_NAME_ID not in msg
        return msg
    injected = out.get("Subject") == f.EVIL_NAME_ID or out["AssumedRoleUser"]["Arn"].endswith(f"/{f.EVIL_SESSION_NAME}")
    raise AssertionError(("INJECTED IDENTITY ACCEPTED: " if injected else f"expected {expected}, but the call succeeded: ")
                         + f"Subject={out.get('Subject')!r} AssumedRoleUser={out['AssumedRoleUser']['Arn']!r}")


# --------------------------------------------------------------------------------------------
# Happy paths: each signer, assertion-signed and response-signed, through boto3 and the CLI.


@pytest.mark.parametrize("target", f.TARGETS)
@pytest.mark.parametrize("signer", f.SIGNERS)
def test_independent_signers_boto3(fed, signer, target, no_server_faults):
    session = f"{signer}-{target}"
    c = fed.claims(session_name=session, name_id=f"{session}@example.com")
    out = fed.assume(fed.signed(c, signer, target))
    check_answer(fed, out, c)
    assert 3600 - 120 < seconds_left(out) <= 3600 + CLOCK_SLACK
    me = caller(fed, out)
    assert me["Arn"] == f"arn:aws:sts::{fed.server.account_id}:assumed-role/{fed.reader.name}/{session}"
    assert me["UserId"] == f"{fed.reader.id}:{session}"
    assert me["Account"] == fed.server.account_id


@pytest.mark.parametrize("signer", f.SIGNERS)
def test_response_and_assertion_both_signed(fed, signer):
    c = fed.claims()
    check_answer(fed, fed.assume(fed.signed(c, signer, "both")), c)


EC_SIGNERS = ("signxml", "xmlsec1")


@pytest.fixture(scope="module")
def ec_fed(server):
    """An IdP that signs with ECDSA P-256 (ecdsa-sha256), as Entra ID and Keycloak can."""
    return new_federation(server, key=f.new_keypair(ec_p256=True))


def signature_methods(xml: bytes) -> list[str]:
    return [m.get("Algorithm") for m in f.parse(xml).iter(q(f.DS, "SignatureMethod"))]


@pytest.mark.parametrize("target", f.TARGETS + ("both",))
@pytest.mark.parametrize("signer", EC_SIGNERS)
def test_ecdsa_p256_signers_boto3(ec_fed, signer, target, no_server_faults):
    session = f"ec-{signer}-{target}"
    c = ec_fed.claims(session_name=session, name_id=f"{session}@example.com")
    xml = ec_fed.signed(c, signer, target)
    assert signature_methods(xml) == [f.ECDSA_SHA256] * (2 if target == "both" else 1)
    out = ec_fed.assume(xml)
    check_answer(ec_fed, out, c)
    me = caller(ec_fed, out)
    assert me["Arn"] == f"arn:aws:sts::{ec_fed.server.account_id}:assumed-role/{ec_fed.reader.name}/{session}"


@pytest.mark.parametrize("signer", EC_SIGNERS)
def test_ecdsa_p256_wrong_key_is_refused(ec_fed, signer, no_server_faults):
    # Same subject name as the IdP's certificate: only the key differs; and an RSA key.
    for key in (f.new_keypair(ec_p256=True), f.new_keypair()):
        for target in f.TARGETS:
            xml = f.signed_response(ec_fed.claims(), key, signer, target)
            refuse(ec_fed, xml, INVALID, message="Response signature invalid")
    # The provider still verifies its own key's signatures.
    ec_fed.assume(ec_fed.signed(signer=signer))


def aws_cli_unsigned(server, *args: str) -> AwsResult:
    """The aws CLI with no credentials anywhere (AssumeRoleWithSAML is an unsigned action)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
               AWS_EC2_METADATA_DISABLED="true", AWS_MAX_ATTEMPTS="1", AWS_PAGER="")
    p = subprocess.run([str(AWS_CLI), "--endpoint-url", server.endpoint, "--output", "json", *args], env=env,
                       capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    return AwsResult(p.returncode, p.stdout, p.stderr)


def cli_assume(fed: Federation, xml: bytes, tmp_path: Path, role: Role | None = None) -> AwsResult:
    path = tmp_path / f"{unique('saml')}.b64"
    path.write_text(f.b64(xml))
    return aws_cli_unsigned(fed.server, "sts", "assume-role-with-saml", "--role-arn", (role or fed.reader).arn,
                            "--principal-arn", fed.provider_arn, "--saml-assertion", f"file://{path}")


@pytest.mark.parametrize("target", f.TARGETS)
@pytest.mark.parametrize("signer", f.SIGNERS)
def test_independent_signers_aws_cli(fed, signer, target, tmp_path):
    session = f"cli-{signer}-{target}"
    c = fed.claims(session_name=session, name_id=f"{session}@example.com", source_identity=f"{signer}-user")
    r = cli_assume(fed, fed.signed(c, signer, target), tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.data
    assert out["Subject"] == c.name_id and out["SubjectType"] == "persistent"
    assert out["Issuer"] == fed.entity_id and out["Audience"] == f.AWS_ACS
    assert out["NameQualifier"] == fed.name_qualifier
    assert out["SourceIdentity"] == f"{signer}-user"
    arn = f"arn:aws:sts::{fed.server.account_id}:assumed-role/{fed.reader.name}/{session}"
    assert out["AssumedRoleUser"]["Arn"] == arn
    me = fed.server.aws("sts", "get-caller-identity", creds=Creds.from_sts(out["Credentials"]))
    assert me["Arn"] == arn


def test_cli_refusals_carry_aws_codes(fed, tmp_path):
    signed = fed.signed()
    r = cli_assume(fed, f.xsw(3, signed, fed.pair(fed.admin)), tmp_path, fed.admin)
    assert r.returncode != 0 and r.error_code == "InvalidIdentityToken", r.stderr
    hour = dt.timedelta(hours=1)
    now = f.utcnow()
    old = fed.signed(fed.claims(now=now - 2 * hour, not_before=now - 3 * hour, not_on_or_after=now - hour))
    r = cli_assume(fed, old, tmp_path)
    assert r.returncode != 0 and r.error_code == "ExpiredTokenException", r.stderr


# --------------------------------------------------------------------------------------------
# The answer and the session, field by field.


def test_answer_fields_tags_and_source_identity(fed, no_server_faults):
    c = fed.claims(source_identity="alice-src", principal_tags={"team": "blue", "cost-center": "42"},
                   transitive_tag_keys=["team"])
    out = fed.assume(fed.signed(c))
    check_answer(fed, out, c)
    assert out["SourceIdentity"] == "alice-src"
    assert isinstance(out["PackedPolicySize"], int) and 0 < out["PackedPolicySize"] <= 100


@pytest.mark.parametrize("fmt, subject_type", [
    (f.NAMEID_PERSISTENT, "persistent"),
    (f.NAMEID_TRANSIENT, "transient"),
    # Only the SAML 2.0 nameid-format prefix is stripped; other formats come back whole.
    (f.NAMEID_EMAIL, f.NAMEID_EMAIL),
    (f.NAMEID_UNSPECIFIED, f.NAMEID_UNSPECIFIED),
])
def test_subject_type(fed, fmt, subject_type):
    c = fed.claims(name_id_format=fmt, name_id="_8f2e" if fmt == f.NAMEID_TRANSIENT else "alice@example.com")
    out = fed.assume(fed.signed(c, "signxml"))
    check_answer(fed, out, c, subject_type=subject_type)


def test_session_duration_attribute_and_session_not_on_or_after_shorten(fed):
    # SessionDuration shortens the default and a longer DurationSeconds; never lengthens.
    for kw, attr, expected in (({}, 1800, 1800), ({"DurationSeconds": 3600}, 1800, 1800),
                               ({"DurationSeconds": 900}, 1800, 900)):
        out = fed.assume(fed.signed(fed.claims(session_duration=attr)), **kw)
        assert expected - 120 < seconds_left(out) <= expected + CLOCK_SLACK, (kw, attr)
    # The session ends at the AuthnStatement's SessionNotOnOrAfter when that is earlier.
    c = fed.claims(session_not_on_or_after=f.utcnow() + dt.timedelta(seconds=1000))
    out = fed.assume(fed.signed(c), DurationSeconds=3600)
    assert seconds_left(out) <= 1000 + CLOCK_SLACK
    # DurationSeconds above the role's MaxSessionDuration is refused as for every AssumeRole*.
    e = None
    try:
        fed.assume(fed.signed(), DurationSeconds=7200)
    except ClientError as err:
        e = client_error(err)
    assert e == ("ValidationError", MSG_ABOVE_MAX_SESSION, 400)


def test_aws_acs_urls_audiences_and_clock_skew(server, fed):
    # Both of AWS's sign-in endpoints are accepted Recipients; Audience answers the Recipient,
    # and saml:aud in the trust policy is that Recipient: the console's condition (the first
    # endpoint only) refuses the second, a role that lists both accepts it.
    static = "https://signin.aws.amazon.com/static/saml"
    c = fed.claims(recipient=static, destination=None)
    refuse(fed, fed.signed(c), DENIED, message=MSG_DENIED)
    both = make_role(server, federated_trust(fed.provider_arn, condition={"StringEquals": {"saml:aud": [f.AWS_ACS, static]}}),
                     "static")
    c = fed.claims(recipient=static, destination=None, roles=[fed.pair(both)])
    check_answer(fed, fed.assume(fed.signed(c), both), c, both)
    # One accepted audience among several is enough...
    c = fed.claims(audiences=["urn:example:another-sp", f.AWS_AUDIENCE])
    check_answer(fed, fed.assume(fed.signed(c)), c)
    # ... but each AudienceRestriction must be met (SAML core 2.5.1.4).
    def second_restriction(root):
        cond = root.find(f".//{q(SAML, 'Conditions')}")
        etree.SubElement(etree.SubElement(cond, q(SAML, "AudienceRestriction")), q(SAML, "Audience")).text = \
            "urn:example:another-sp"
    root = f.parse(f.unsigned_response(fed.claims()))
    second_restriction(root)
    refuse(fed, f.sign(f.to_bytes(root), fed.key), INVALID)
    # An IdP clock a little ahead (30 s) is tolerated.
    ahead = f.utcnow() + dt.timedelta(seconds=30)
    c = fed.claims(now=ahead, not_before=ahead)
    check_answer(fed, fed.assume(fed.signed(c)), c)


def test_assertions_must_be_redeemed_within_five_minutes(fed):
    # Still inside its Conditions window, but issued six minutes ago (AWS's observed rule).
    issued = f.utcnow() - dt.timedelta(minutes=6)
    c = fed.claims(now=issued, not_on_or_after=f.utcnow() + HOUR)
    refuse(fed, fed.signed(c), EXPIRED, message="Token must be redeemed within 5 minutes of issuance")


def test_role_attribute_pairs_in_either_order_and_several_roles(fed):
    reversed_pair = f"{fed.provider_arn},{fed.reader.arn}"
    c = fed.claims(roles=[fed.pair(fed.admin), reversed_pair])
    xml = fed.signed(c)
    out = fed.assume(xml, fed.reader)
    check_answer(fed, out, c)
    c2 = fed.claims(roles=[fed.pair(fed.admin), reversed_pair])
    out = fed.assume(fed.signed(c2), fed.admin)
    check_answer(fed, out, c2, fed.admin)


def test_a_role_the_assertion_does_not_grant_is_refused(fed):
    refuse(fed, fed.signed(), DENIED, fed.admin, MSG_DENIED)


def test_session_name_and_source_identity_attributes_are_validated(fed):
    refuse(fed, fed.signed(fed.claims(session_name=None)), INVALID, message=MSG_NO_SESSION_NAME)
    refuse(fed, fed.signed(fed.claims(session_name="a b/c")), INVALID, message=MSG_BAD_SESSION_NAME)
    refuse(fed, fed.signed(fed.claims(session_name="x" * 65)), INVALID, message=MSG_BAD_SESSION_NAME)
    refuse(fed, fed.signed(fed.claims(source_identity="aws:admin")), INVALID, message=MSG_BAD_SOURCE_IDENTITY)


def test_trust_policy_saml_condition_keys(server, fed):
    iam = server.boto3_client("iam")
    cond = {"StringEquals": {
        "saml:aud": f.AWS_ACS,
        "saml:iss": fed.entity_id,
        "saml:sub": "carol@example.com",
        "saml:sub_type": "persistent",
        "saml:namequalifier": fed.name_qualifier,
        "saml:doc": f"{server.account_id}/{fed.provider_name}",
    }}
    strict = make_role(server, federated_trust(fed.provider_arn, condition=cond), "strict")
    try:
        c = fed.claims(roles=[fed.pair(strict)], name_id="carol@example.com")
        out = fed.assume(fed.signed(c), strict)
        check_answer(fed, out, c, strict)
        for other in (fed.claims(roles=[fed.pair(strict)], name_id="mallory@example.com"),
                      fed.claims(roles=[fed.pair(strict)], name_id="carol@example.com", name_id_format=f.NAMEID_TRANSIENT)):
            refuse(fed, fed.signed(other), DENIED, strict, MSG_DENIED)
    finally:
        iam.delete_role(RoleName=strict.name)


def test_session_tags_need_tag_session_and_drive_abac_through_chaining(server, fed):
    iam = server.boto3_client("iam")
    # Without sts:TagSession (or sts:SetSourceIdentity) in the trust policy, an assertion that
    # carries tags (or a source identity) is refused.
    plain = make_role(server, federated_trust(fed.provider_arn, actions=("sts:AssumeRoleWithSAML",)), "plain")
    refuse(fed, fed.signed(fed.claims(roles=[fed.pair(plain)], principal_tags={"team": "blue"})), DENIED, plain,
           "Not authorized to perform sts:TagSession")
    refuse(fed, fed.signed(fed.claims(roles=[fed.pair(plain)], source_identity="alice")), DENIED, plain,
           "Not authorized to perform sts:SetSourceIdentity")
    fed.assume(fed.signed(fed.claims(roles=[fed.pair(plain)])), plain)

    abac = make_role(server, federated_trust(fed.provider_arn), "abac")
    abac_policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["iam:ListUsers", "sts:AssumeRole", "sts:TagSession"], "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}}}]})
    iam.put_role_policy(RoleName=abac.name, PolicyName="abac", PolicyDocument=abac_policy)
    blue = fed.assume(fed.signed(fed.claims(roles=[fed.pair(abac)], principal_tags={"team": "blue"},
                                            transitive_tag_keys=["team"])), abac)
    red = fed.assume(fed.signed(fed.claims(roles=[fed.pair(abac)], principal_tags={"team": "red"})), abac)
    server.boto3_client("iam", Creds.from_sts(blue["Credentials"])).list_users(MaxItems=1)
    with pytest.raises(ClientError) as e:
        server.boto3_client("iam", Creds.from_sts(red["Credentials"])).list_users(MaxItems=1)
    assert client_error(e.value)[0] == "AccessDenied"

    # TransitiveTagKeys: the tag follows the chained session into the next role.
    nxt = make_role(server, json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": abac.arn}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]}), "next")
    iam.put_role_policy(RoleName=nxt.name, PolicyName="abac", PolicyDocument=abac_policy)
    hop = server.boto3_client("sts", Creds.from_sts(blue["Credentials"])).assume_role(RoleArn=nxt.arn,
                                                                                       RoleSessionName="hop")
    server.boto3_client("iam", Creds.from_sts(hop["Credentials"])).list_users(MaxItems=1)


def test_signing_key_rotation(server):
    old, new = f.new_keypair(), f.new_keypair()
    fed = new_federation(server, key=old, certs=[old, new])
    iam = server.boto3_client("iam")
    for key in (old, new):
        c = fed.claims()
        fed.assume(f.signed_response(c, key))
    iam.update_saml_provider(SAMLProviderArn=fed.provider_arn, SAMLMetadataDocument=f.metadata(fed.entity_id, [new]))
    refuse(fed, f.signed_response(fed.claims(), old), INVALID)
    fed.assume(f.signed_response(fed.claims(), new))


def test_provider_must_match_the_signer(server, fed):
    other = new_federation(server)
    # Signed by fed's IdP, presented for the other provider (which trusts only its own key).
    c = fed.claims(roles=[other.pair(other.reader)])
    xml = fed.signed(c)
    with pytest.raises(ClientError) as e:
        unsigned_sts(server).assume_role_with_saml(RoleArn=other.reader.arn, PrincipalArn=other.provider_arn,
                                                   SAMLAssertion=f.b64(xml))
    assert client_error(e.value)[0::2] == INVALID
    # A provider that does not exist.
    missing = server.arn(f"saml-provider/{unique('nope')}")
    with pytest.raises(ClientError) as e:
        unsigned_sts(server).assume_role_with_saml(RoleArn=fed.reader.arn, PrincipalArn=missing,
                                                   SAMLAssertion=f.b64(fed.signed()))
    assert client_error(e.value)[0::2] == INVALID


def test_metadata_without_a_signing_certificate_is_refused(server, fed):
    iam = server.boto3_client("iam")
    for doc in (f.metadata(fed.entity_id, [fed.key], use="encryption"), f.metadata(fed.entity_id, [])):
        with pytest.raises(ClientError) as e:
            iam.create_saml_provider(Name=unique("nocert"), SAMLMetadataDocument=doc)
        assert client_error(e.value)[0::2] == ("InvalidInput", 400)
        with pytest.raises(ClientError) as e:
            iam.update_saml_provider(SAMLProviderArn=fed.provider_arn, SAMLMetadataDocument=doc)
        assert client_error(e.value)[0::2] == ("InvalidInput", 400)
    # The provider still verifies with its key.
    fed.assume(fed.signed())


def test_replayed_assertion_is_refused(fed, no_server_faults):
    xml = fed.signed()
    fed.assume(xml)
    refuse(fed, xml, INVALID)
    # Also when the replay asks for another role the assertion grants.
    c = fed.claims(roles=[fed.pair(fed.reader), fed.pair(fed.admin)])
    xml = fed.signed(c, "pysaml2", "response")
    fed.assume(xml, fed.reader)
    refuse(fed, xml, INVALID, fed.admin)
    # The signed assertion in a new wrapper (another, unsigned, Response ID) is the same assertion.
    c = fed.claims()
    xml = fed.signed(c, "signxml", "assertion")
    fed.assume(xml)
    root = f.parse(xml)
    root.set("ID", f.new_id())
    refuse(fed, f.to_bytes(root), INVALID)


def test_concurrent_replays_succeed_once(fed, no_server_faults):
    xml = f.b64(fed.signed())
    outcomes: list[str] = []
    # Clients are made here: creating boto3 clients is not thread-safe, using them is.
    clients = [unsigned_sts(fed.server) for _ in range(8)]

    def attempt(sts):
        try:
            sts.assume_role_with_saml(RoleArn=fed.reader.arn, PrincipalArn=fed.provider_arn, SAMLAssertion=xml)
            outcomes.append("ok")
        except ClientError as e:
            outcomes.append(client_error(e)[0])

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["InvalidIdentityToken"] * 7 + ["ok"], outcomes


def test_size_limit_admits_100000_characters_and_no_more(fed, no_server_faults):
    for target in f.TARGETS:
        c = fed.claims()
        at_limit = f.signed_with_b64_length(c, fed.key, 100_000, target=target)
        out = fed.assume(at_limit)
        assert out["Subject"] == c.name_id
        over = f.signed_with_b64_length(fed.claims(), fed.key, 100_004, target=target)
        msg = refuse(fed, over, ("ValidationError", 400))
        assert "100000" in msg and f.b64(over)[:64] not in msg


def test_comment_in_name_id_and_session_name_never_truncates(fed, no_server_faults):
    """`admin@example.com<!---->.evil.example`: the signature still verifies (comments are not
    canonicalised), so the assertion may be accepted, but only with the whole value."""
    c = fed.claims(name_id="admin@example.com.evil.example", session_name="admin.evil")
    xml = f.comment_in_name_id(fed.signed(c, "signxml"), len("admin@example.com"))
    xml = f.comment_in_attribute(xml, f.SESSION_NAME_ATTR, len("admin"))
    assert b"admin<!---->.evil" in xml
    try:
        out = fed.assume(xml)
    except ClientError as e:
        assert client_error(e)[0::2] == INVALID
        return
    assert out["Subject"] == "admin@example.com.evil.example"
    assert out["AssumedRoleUser"]["Arn"].endswith("/admin.evil")


# --------------------------------------------------------------------------------------------
# The negative suite. Each case builds the attacker's document from what the IdP signed.


@dataclasses.dataclass
class Env:
    fed: Federation
    attacker: f.KeyPair
    listener: Listener
    bait: Path

    @property
    def evil(self) -> str:
        return self.fed.pair(self.fed.admin)


def signed_after(env: Env, mutate: Callable[[etree._Element], None], target: str = "assertion",
                 c: f.Claims | None = None) -> bytes:
    """Signed by the IdP after `mutate` changed the unsigned document."""
    root = f.parse(f.unsigned_response(c or env.fed.claims()))
    mutate(root)
    return f.sign(f.to_bytes(root), env.fed.key, "xmlsec1", target)


def _second_confirmation(root):
    subject = root.find(f".//{q(SAML, 'Subject')}")
    sc = etree.SubElement(subject, q(SAML, "SubjectConfirmation"), Method=f.BEARER)
    etree.SubElement(sc, q(SAML, "SubjectConfirmationData"), Recipient="https://evil.example/saml",
                     NotOnOrAfter=f.saml_time(f.utcnow() + dt.timedelta(minutes=5)))


def _drop_subject_not_on_or_after(root):
    del root.find(f".//{q(SAML, 'SubjectConfirmationData')}").attrib["NotOnOrAfter"]


def _status_requester(root):
    root.find(f".//{q(SAMLP, 'StatusCode')}").set("Value", f.STATUS_REQUESTER)


def _now():
    return f.utcnow()


HOUR = dt.timedelta(hours=1)

# (id, builder(env) -> bytes, role the attacker asks for, expected refusal)
CASES: list[tuple[str, Callable[[Env], bytes], str, tuple[str, int]]] = []
for _signer in f.SIGNERS:
    for _v in range(1, 9):
        _t = "response" if _v <= 2 else "assertion"
        CASES.append((f"xsw{_v}-{_signer}",
                      lambda env, v=_v, s=_signer, t=_t: f.xsw(v, env.fed.signed(signer=s, target=t), env.evil),
                      "admin", INVALID))
    CASES.append((f"attacker-key-{_signer}",
                  lambda env, s=_signer: f.signed_response(
                      env.fed.claims(roles=[env.evil], name_id=f.EVIL_NAME_ID, session_name=f.EVIL_SESSION_NAME),
                      env.attacker, s, "assertion"), "admin", INVALID))
for _t in f.TARGETS:
    CASES += [
        (f"signature-stripped-{_t}", lambda env, t=_t: f.strip_signatures(env.fed.signed(target=t)), "reader", INVALID),
        (f"signature-value-emptied-{_t}", lambda env, t=_t: f.empty_signature_value(env.fed.signed(target=t)), "reader", INVALID),
        (f"tampered-nameid-{_t}", lambda env, t=_t: f.tamper_name_id(env.fed.signed(target=t)), "reader", INVALID),
        (f"tampered-role-{_t}", lambda env, t=_t: f.tamper_role(env.fed.signed(target=t), env.evil), "admin", INVALID),
        (f"attacker-key-response-{_t}",
         lambda env, t=_t: f.signed_response(env.fed.claims(roles=[env.evil], name_id=f.EVIL_NAME_ID),
                                             env.attacker, "xmlsec1", t), "admin", INVALID),
    ]
CASES += [
    ("unsigned", lambda env: f.unsigned_response(env.fed.claims()), "reader", INVALID),
    ("stripped-and-injected", lambda env: f.strip_signatures(f.xsw(3, env.fed.signed(), env.evil)), "admin", INVALID),
    ("expired", lambda env: env.fed.signed(env.fed.claims(now=_now() - 2 * HOUR, not_before=_now() - 3 * HOUR,
                                                          not_on_or_after=_now() - HOUR)), "reader", EXPIRED),
    ("subject-confirmation-expired",
     lambda env: env.fed.signed(env.fed.claims(subject_not_on_or_after=_now() - HOUR)), "reader", EXPIRED),
    ("not-yet-valid", lambda env: env.fed.signed(env.fed.claims(not_before=_now() + HOUR,
                                                                not_on_or_after=_now() + 2 * HOUR)), "reader", EXPIRED),
    ("wrong-audience", lambda env: env.fed.signed(env.fed.claims(audiences=["urn:example:another-sp"])), "reader", INVALID),
    ("missing-audience-restriction", lambda env: env.fed.signed(env.fed.claims(audiences=None)), "reader", INVALID),
    ("wrong-recipient", lambda env: env.fed.signed(env.fed.claims(recipient="https://evil.example/saml")), "reader", INVALID),
    ("wrong-destination", lambda env: env.fed.signed(env.fed.claims(destination="https://evil.example/saml")), "reader", INVALID),
    ("wrong-issuer", lambda env: env.fed.signed(env.fed.claims(issuer="https://evil.example/idp")), "reader", INVALID),
    ("two-subject-confirmations", lambda env: signed_after(env, _second_confirmation), "reader", INVALID),
    ("subject-confirmation-without-not-on-or-after",
     lambda env: signed_after(env, _drop_subject_not_on_or_after), "reader", INVALID),
    ("status-not-success", lambda env: signed_after(env, _status_requester, "response"), "reader", REJECTED),
    ("two-signed-assertions",
     lambda env: f.two_assertions(env.fed.claims(),
                                  env.fed.claims(roles=[env.evil], name_id=f.EVIL_NAME_ID,
                                                 session_name=f.EVIL_SESSION_NAME), env.fed.key), "admin", INVALID),
    ("duplicate-ids-response-and-assertion",
     lambda env: f.duplicate_ids_response_signed(env.fed.claims(), env.fed.key), "reader", INVALID),
    ("signature-in-assertion-over-response",
     lambda env: f.signature_referencing_the_response_from_the_assertion(env.fed.claims(), env.fed.key),
     "reader", INVALID),
    ("both-signed-inner-attacker",
     lambda env: f.sign(f.sign(f.unsigned_response(env.fed.claims()), env.attacker, "xmlsec1", "assertion"),
                        env.fed.key, "xmlsec1", "response"), "reader", INVALID),
    ("both-signed-outer-attacker",
     lambda env: f.sign(f.sign(f.unsigned_response(env.fed.claims()), env.fed.key, "xmlsec1", "assertion"),
                        env.attacker, "xmlsec1", "response"), "reader", INVALID),
    ("duplicate-id-decoy-assertion", lambda env: f.duplicate_id_decoy(env.fed.signed(), env.evil), "admin", INVALID),
    ("doctype", lambda env: f.doctype_only(env.fed.signed()), "reader", INVALID),
    ("xxe-file", lambda env: f.xxe_system_entity(env.fed.signed(), env.bait.as_uri()), "reader", INVALID),
    ("xxe-etc-passwd", lambda env: f.xxe_system_entity(env.fed.signed(), "file:///etc/passwd"), "reader", INVALID),
    ("xxe-http", lambda env: f.xxe_system_entity(env.fed.signed(), env.listener.url("/xxe")), "reader", INVALID),
    ("xxe-parameter-entity-http", lambda env: f.xxe_parameter_entity(env.fed.signed(), env.listener.url("/pe")),
     "reader", INVALID),
    ("xxe-parameter-entity-file", lambda env: f.xxe_parameter_entity(env.fed.signed(), env.bait.as_uri()),
     "reader", INVALID),
    ("billion-laughs", lambda env: f.billion_laughs(env.fed.signed()), "reader", INVALID),
    ("reference-uri-http",
     lambda env: f.external_reference(f.unsigned_response(env.fed.claims(roles=[env.evil])), env.fed.key,
                                      env.listener.url("/ref"), env.listener.body), "admin", INVALID),
    ("reference-uri-file-bait",
     lambda env: f.external_reference(f.unsigned_response(env.fed.claims(roles=[env.evil])), env.fed.key,
                                      env.bait.as_uri(), BAIT_TEXT), "admin", INVALID),
    ("reference-uri-etc-passwd",
     lambda env: f.external_reference(f.unsigned_response(env.fed.claims(roles=[env.evil])), env.fed.key,
                                      "file:///etc/passwd", Path("/etc/passwd").read_bytes()), "admin", INVALID),
    ("reference-uri-http-response",
     lambda env: f.external_reference(f.unsigned_response(env.fed.claims(roles=[env.evil])), env.fed.key,
                                      env.listener.url("/ref"), env.listener.body, "response"), "admin", INVALID),
    ("retrieval-method-http", lambda env: f.retrieval_method(env.fed.signed(), env.listener.url("/key")), "reader", INVALID),
    ("retrieval-method-file", lambda env: f.retrieval_method(env.fed.signed(), env.bait.as_uri()), "reader", INVALID),
    ("xslt-transform",
     lambda env: f.tamper_role(f.tamper_name_id(f.xslt_transform_signed(f.unsigned_response(env.fed.claims()),
                                                                        env.fed.key)), env.evil), "admin", INVALID),
    ("xslt-transform-fetching",
     lambda env: f.xslt_ssrf(f.unsigned_response(env.fed.claims()), env.fed.key, env.listener.url("/xslt")),
     "reader", INVALID),
    ("xpath-transform",
     lambda env: f.tamper_role(f.tamper_name_id(f.xpath_transform_signed(f.unsigned_response(env.fed.claims()),
                                                                         env.fed.key)), env.evil), "admin", INVALID),
    ("rsa-sha1", lambda env: f.rsa_sha1_signed(f.unsigned_response(env.fed.claims()), env.fed.key), "reader", INVALID),
    ("rsa-sha1-response",
     lambda env: f.rsa_sha1_signed(f.unsigned_response(env.fed.claims()), env.fed.key, "response"), "reader", INVALID),
    ("c14n-with-comments",
     lambda env: f.with_comments_c14n_signed(f.unsigned_response(env.fed.claims()), env.fed.key), "reader", INVALID),
    ("not-xml", lambda env: b"this is not XML at all", "reader", INVALID),
    ("not-a-response", lambda env: f.to_bytes(f.build_assertion(env.fed.claims())), "reader", INVALID),
]


@pytest.fixture(scope="module")
def env(fed, attacker, listener, bait):
    return Env(fed, attacker, listener, bait)


@pytest.mark.parametrize("build, role, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused(env, build, role, expected, no_server_faults):
    xml = build(env)
    watch = FileWatch(env.bait)
    try:
        before = env.listener.count
        refuse(env.fed, xml, expected, getattr(env.fed, role))
        opened = watch.events()
        fetched = env.listener.requests_since(before)
    finally:
        watch.close()
    assert fetched == [], f"the server made requests to the loopback listener: {fetched}"
    assert opened == [], f"a process opened or read the bait file (inotify masks {opened})"


def test_refusals_leave_the_provider_usable(fed, no_server_faults):
    """After the whole negative suite (same module, shared server), genuine assertions still
    work: nothing an attacker sent poisoned the provider or the replay cache."""
    c = fed.claims()
    check_answer(fed, fed.assume(fed.signed(c, "signxml", "response")), c)


def test_non_base64_and_truncated_input(fed):
    refuse(fed, "%%%% not base64 %%%%", INVALID)
    whole = f.b64(fed.signed())
    refuse(fed, whole[: len(whole) // 2], INVALID)
