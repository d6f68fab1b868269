"""AssumeRole through unmodified boto3 and the aws CLI (issue 4), mirroring tests/assume_role.rs:
trust policies naming a user or an account, cross-account with and without the caller-side
allow, explicit denies, ExternalId, MFA with real TOTP codes, session tags and ABAC, source
identity, chaining and duration limits, session policies, revoke-older-sessions, the root and
missing-role refusals, trust bound to unique ids, the audit trail, and the server log naming the
check that refused."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from tessera_harness import (
    MSG_ABOVE_MAX_SESSION,
    MSG_CHAINING_CAP,
    MSG_MFA_INVALID_CODE,
    MSG_ROOT_CANNOT_ASSUME,
    Creds,
    allow_doc,
    audit_tail,
    b32decode_seed,
    current_step,
    expect_client_error,
    not_authorized,
    policy_json,
    request_id_of,
    totp_at_step,
    trust_doc,
    unique,
    wait_log_line,
)

pytestmark = pytest.mark.usefixtures("no_server_faults")

ASSUME = "sts:AssumeRole"


def seconds_left(expiration) -> float:
    if isinstance(expiration, str):
        expiration = dt.datetime.fromisoformat(expiration.replace("Z", "+00:00"))
    return (expiration - dt.datetime.now(dt.timezone.utc)).total_seconds()


def make_role(server, trust: str, prefix: str = "role", **kw) -> tuple[str, str]:
    name = unique(prefix)
    arn = server.boto3_client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=trust, **kw)["Role"]["Arn"]
    assert arn == server.arn(f"role/{kw.get('Path', '/').lstrip('/')}{name}")
    return name, arn


def assume(server, creds: Creds, arn: str, session: str = "s1", **kw) -> dict:
    return server.boto3_client("sts", creds).assume_role(RoleArn=arn, RoleSessionName=session, **kw)


def session_of(out: dict) -> Creds:
    return Creds.from_sts(out["Credentials"])


def assume_denied(server, creds: Creds, caller_arn: str, arn: str, action: str = ASSUME, **kw):
    """AssumeRole must be AccessDenied with the standard text; returns the ClientError."""
    return expect_client_error(lambda: assume(server, creds, arn, **kw), "AccessDenied",
                               not_authorized(caller_arn, action, arn), 403)


def refusal_line(server, err, offset: int) -> str:
    """The server's `request refused` log line for this error's request id."""
    return wait_log_line(server, request_id_of(err), "request refused", offset=offset)


@pytest.fixture(scope="module")
def account_b(server):
    """A second account on the shared server, made the way operators do it, while it runs."""
    p = server.tessera("account", "create", "--data-dir", str(server.data_dir))
    out = json.loads(p.stdout)
    assert out["AccountId"] != server.account_id
    return out["AccountId"], Creds(out["AccessKeyId"], out["SecretAccessKey"])


# --- Who may assume --------------------------------------------------------------------------


def test_same_account_user_named_in_trust_needs_no_identity_policy(server):
    alice, alice_creds = server.create_user_with_key("alice")
    name, arn = make_role(server, trust_doc(server.arn(f"user/{alice}")), "deploy")
    role_id = server.boto3_client("iam").get_role(RoleName=name)["Role"]["RoleId"]

    out = assume(server, alice_creds, arn, session="ci-run-1")
    user = out["AssumedRoleUser"]
    assert user["Arn"] == f"arn:aws:sts::{server.account_id}:assumed-role/{name}/ci-run-1"
    assert user["AssumedRoleId"] == f"{role_id}:ci-run-1"
    c = out["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA") and len(c["AccessKeyId"]) == 20 and len(c["SecretAccessKey"]) == 40
    assert 3600 - 120 <= seconds_left(c["Expiration"]) <= 3600 + 5, c["Expiration"]
    me = server.boto3_client("sts", session_of(out)).get_caller_identity()
    assert (me["Arn"], me["UserId"], me["Account"]) == (user["Arn"], user["AssumedRoleId"], server.account_id)

    # The aws CLI, on the same role.
    cli = server.aws("sts", "assume-role", "--role-arn", arn, "--role-session-name", "cli-run", creds=alice_creds)
    assert cli["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{server.account_id}:assumed-role/{name}/cli-run"
    assert cli["AssumedRoleUser"]["AssumedRoleId"] == f"{role_id}:cli-run"
    cli_session = Creds.from_sts(cli["Credentials"])
    assert server.aws("sts", "get-caller-identity", creds=cli_session)["Arn"] == cli["AssumedRoleUser"]["Arn"]

    # Another user of the account is not trusted: AccessDenied, and the log names the trust policy.
    bob, bob_creds = server.create_user_with_key("bob")
    offset = server.log_size()
    e = assume_denied(server, bob_creds, server.arn(f"user/{bob}"), arn)
    assert "trust policy" in refusal_line(server, e, offset)
    r = server.aws("sts", "assume-role", "--role-arn", arn, "--role-session-name", "x1", creds=bob_creds, check=False)
    assert r.error_code == "AccessDenied" and r.error_message == not_authorized(server.arn(f"user/{bob}"), ASSUME, arn), r.stderr


def test_account_trust_needs_the_identity_policy_and_explicit_deny_wins(server, iam):
    carol, creds = server.create_user_with_key("carol")
    carol_arn = server.arn(f"user/{carol}")
    _, arn = make_role(server, trust_doc(server.arn("root")), "ops")
    # Trust naming the account delegates to the account's policies: none allows yet.
    offset = server.log_size()
    e = assume_denied(server, creds, carol_arn, arn)
    assert "identity policy" in refusal_line(server, e, offset)
    r = server.aws("sts", "assume-role", "--role-arn", arn, "--role-session-name", "x1", creds=creds, check=False)
    assert r.error_code == "AccessDenied", r.stderr

    iam.put_user_policy(UserName=carol, PolicyName="p", PolicyDocument=allow_doc(ASSUME, arn))
    assume(server, creds, arn)
    assert server.aws("sts", "assume-role", "--role-arn", arn, "--role-session-name", "x1", creds=creds)["Credentials"]

    # An explicit deny on the caller side wins, even over a trust policy naming the user.
    _, named = make_role(server, trust_doc(carol_arn), "named")
    assume(server, creds, named)
    iam.put_user_policy(UserName=carol, PolicyName="p", PolicyDocument=policy_json(
        {"Effect": "Allow", "Action": ASSUME, "Resource": "*"},
        {"Effect": "Deny", "Action": ASSUME, "Resource": named}))
    offset = server.log_size()
    e = assume_denied(server, creds, carol_arn, named)
    assert "explicit deny" in refusal_line(server, e, offset)
    r = server.aws("sts", "assume-role", "--role-arn", named, "--role-session-name", "x1", creds=creds, check=False)
    assert r.error_code == "AccessDenied" and r.error_message == not_authorized(carol_arn, ASSUME, named), r.stderr
    assume(server, creds, arn)  # the other role is still allowed


def test_cross_account_needs_both_sides(server, account_b):
    b_id, b_root = account_b
    b_iam = server.boto3_client("iam", b_root)
    frank = unique("frank")
    b_iam.create_user(UserName=frank)
    frank_creds = Creds.from_sts(b_iam.create_access_key(UserName=frank)["AccessKey"])
    frank_arn = f"arn:aws:iam::{b_id}:user/{frank}"

    name, arn = make_role(server, trust_doc(f"arn:aws:iam::{b_id}:root"), "shared")
    # Without the caller-side allow: denied, whatever the trust policy says.
    offset = server.log_size()
    e = assume_denied(server, frank_creds, frank_arn, arn)
    line = refusal_line(server, e, offset)
    assert "cross-account" in line or "identity policy" in line, line
    r = server.aws("sts", "assume-role", "--role-arn", arn, "--role-session-name", "x1", creds=frank_creds, check=False)
    assert r.error_code == "AccessDenied" and r.error_message == not_authorized(frank_arn, ASSUME, arn), r.stderr

    # A trust policy naming frank himself still needs frank's own account to allow it.
    _, named = make_role(server, trust_doc(frank_arn), "xnamed")
    assume_denied(server, frank_creds, frank_arn, named)

    b_iam.put_user_policy(UserName=frank, PolicyName="p", PolicyDocument=allow_doc(ASSUME, [arn, named]))
    out = assume(server, frank_creds, arn)
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{server.account_id}:assumed-role/{name}/s1"
    me = server.boto3_client("sts", session_of(out)).get_caller_identity()
    assert me["Account"] == server.account_id and me["Arn"] == out["AssumedRoleUser"]["Arn"]
    assume(server, frank_creds, named)
    cli = server.aws("sts", "assume-role", "--role-arn", arn, "--role-session-name", "cli-x", creds=frank_creds)
    assert cli["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{server.account_id}:assumed-role/{name}/cli-x"

    # A role of this account that trusts only this account stays closed to account B.
    _, closed = make_role(server, trust_doc(server.arn("root")), "closed")
    b_iam.put_user_policy(UserName=frank, PolicyName="p", PolicyDocument=allow_doc(ASSUME, "*"))
    assume_denied(server, frank_creds, frank_arn, closed)


# --- Trust conditions ------------------------------------------------------------------------


def test_external_id_absent_wrong_right(server):
    gina, creds = server.create_user_with_key("gina")
    gina_arn = server.arn(f"user/{gina}")
    _, arn = make_role(server, trust_doc(gina_arn, condition={"StringEquals": {"sts:ExternalId": "Unique-1234"}}), "vendor")

    offset = server.log_size()
    e = assume_denied(server, creds, gina_arn, arn)
    line = refusal_line(server, e, offset)
    assert "ExternalId" in line and "trust policy" in line, line
    offset = server.log_size()
    e = assume_denied(server, creds, gina_arn, arn, ExternalId="unique-1234")  # exact match: case matters
    assert "ExternalId" in refusal_line(server, e, offset)
    out = assume(server, creds, arn, ExternalId="Unique-1234")
    assert out["Credentials"]["AccessKeyId"].startswith("ASIA")

    # The aws CLI: absent, wrong, right.
    base = ("sts", "assume-role", "--role-arn", arn, "--role-session-name", "cli-ext")
    r = server.aws(*base, creds=creds, check=False)
    assert r.error_code == "AccessDenied" and r.error_message == not_authorized(gina_arn, ASSUME, arn), r.stderr
    r = server.aws(*base, "--external-id", "Unique-12345", creds=creds, check=False)
    assert r.error_code == "AccessDenied", r.stderr
    assert server.aws(*base, "--external-id", "Unique-1234", creds=creds)["AssumedRoleUser"]["Arn"].endswith("/cli-ext")

    # ExternalId is 2..1224 characters.
    sts = server.boto3_client("sts", creds, validate=False)
    expect_client_error(lambda: sts.assume_role(RoleArn=arn, RoleSessionName="s1", ExternalId="x"), "ValidationError",
                        "1 validation error detected: Value 'x' at 'externalId' failed to satisfy constraint: "
                        "Member must have length greater than or equal to 2", 400)


def _user_with_mfa(server, iam, prefix: str):
    name, creds = server.create_user_with_key(prefix)
    dev = iam.create_virtual_mfa_device(VirtualMFADeviceName=unique(f"{prefix}-phone"))["VirtualMFADevice"]
    key, serial = b32decode_seed(dev["Base32StringSeed"]), dev["SerialNumber"]
    step = current_step()
    iam.enable_mfa_device(UserName=name, SerialNumber=serial,
                          AuthenticationCode1=totp_at_step(key, step - 2), AuthenticationCode2=totp_at_step(key, step - 1))
    return name, creds, key, serial, step


def test_mfa_required_by_trust(server, iam):
    hank, creds, key, serial, step = _user_with_mfa(server, iam, "hank")
    ivan, ivan_creds, ivan_key, ivan_serial, ivan_step = _user_with_mfa(server, iam, "ivan")
    trust = policy_json({"Effect": "Allow", "Principal": {"AWS": [server.arn(f"user/{hank}"), server.arn(f"user/{ivan}")]},
                         "Action": ASSUME, "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}})
    name, arn = make_role(server, trust, "admin")

    # No MFA: refused, and the log says MFA.
    offset = server.log_size()
    e = assume_denied(server, creds, server.arn(f"user/{hank}"), arn)
    assert "MFA" in refusal_line(server, e, offset)

    code = totp_at_step(key, step)
    out = assume(server, creds, arn, SerialNumber=serial, TokenCode=code)
    assert out["AssumedRoleUser"]["Arn"].endswith(f"/{name}/s1")
    # The same code again: single use.
    expect_client_error(lambda: assume(server, creds, arn, SerialNumber=serial, TokenCode=code),
                        "AccessDenied", MSG_MFA_INVALID_CODE, 403)
    r = server.aws("sts", "assume-role", "--role-arn", arn, "--role-session-name", "cli-m", "--serial-number", serial,
                   "--token-code", code, creds=creds, check=False)
    assert r.error_code == "AccessDenied" and r.error_message == MSG_MFA_INVALID_CODE, r.stderr

    # The aws CLI with a fresh code (another user and device, so no code is needed twice).
    r = server.aws("sts", "assume-role", "--role-arn", arn, "--role-session-name", "cli-m", creds=ivan_creds, check=False)
    assert r.error_code == "AccessDenied", r.stderr
    cli = server.aws("sts", "assume-role", "--role-arn", arn, "--role-session-name", "cli-m", "--serial-number", ivan_serial,
                     "--token-code", totp_at_step(ivan_key, ivan_step), creds=ivan_creds)
    assert cli["AssumedRoleUser"]["Arn"].endswith(f"/{name}/cli-m")


def test_session_tags_need_tag_session_and_drive_abac(server, iam):
    ivy, creds = server.create_user_with_key("ivy")
    ivy_arn = server.arn(f"user/{ivy}")
    name, arn = make_role(server, trust_doc(ivy_arn), "abac")
    blue = [{"Key": "team", "Value": "blue"}]
    offset = server.log_size()
    e = assume_denied(server, creds, ivy_arn, arn, action="sts:TagSession", Tags=blue)
    assert "sts:TagSession" in refusal_line(server, e, offset)
    r = server.aws("sts", "assume-role", "--role-arn", arn, "--role-session-name", "cli-t", "--tags", "Key=team,Value=blue",
                   creds=creds, check=False)
    assert r.error_code == "AccessDenied" and r.error_message == not_authorized(ivy_arn, "sts:TagSession", arn), r.stderr

    iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust_doc(ivy_arn, actions=(ASSUME, "sts:TagSession")))
    # ABAC: the role may list users only for the blue team.
    iam.put_role_policy(RoleName=name, PolicyName="abac", PolicyDocument=allow_doc(
        "iam:ListUsers", Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}}))
    blue_s = session_of(assume(server, creds, arn, session="s-b", Tags=blue))
    red_s = session_of(assume(server, creds, arn, session="s-r", Tags=[{"Key": "team", "Value": "red"}]))
    untagged = session_of(assume(server, creds, arn, session="s-u"))
    server.boto3_client("iam", blue_s).list_users(MaxItems=1)
    for s, sname in ((red_s, "s-r"), (untagged, "s-u")):
        expect_client_error(lambda: server.boto3_client("iam", s).list_users(MaxItems=1), "AccessDenied", status=403,
                            prefix=f"User: arn:aws:sts::{server.account_id}:assumed-role/{name}/{sname} is not authorized to perform: iam:ListUsers")
    cli = server.aws("sts", "assume-role", "--role-arn", arn, "--role-session-name", "cli-t", "--tags", "Key=team,Value=blue",
                     creds=creds)
    cli_s = Creds.from_sts(cli["Credentials"])
    assert "Users" in server.aws("iam", "list-users", "--max-items", "1", creds=cli_s)
    cli = server.aws("sts", "assume-role", "--role-arn", arn, "--role-session-name", "cli-r", "--tags", "Key=team,Value=red",
                     creds=creds)
    r = server.aws("iam", "list-users", creds=Creds.from_sts(cli["Credentials"]), check=False)
    assert r.error_code == "AccessDenied", r.stderr

    # Duplicate keys (case-insensitive) and transitive keys not among the tags are refused.
    expect_client_error(lambda: assume(server, creds, arn, Tags=blue + [{"Key": "TEAM", "Value": "b"}]),
                        "InvalidParameterValue", "Duplicate tag keys found. Please note that Tag keys are case insensitive.", 400)
    expect_client_error(lambda: assume(server, creds, arn, Tags=blue, TransitiveTagKeys=["other"]),
                        "InvalidParameterValue", "The specified transitive tag key must be included in the requested tags.", 400)


def test_source_identity_set_inherited_immutable_and_chaining_capped(server, iam):
    jo, creds = server.create_user_with_key("jo")
    jo_arn = server.arn(f"user/{jo}")
    first, first_arn = make_role(server, trust_doc(jo_arn, actions=(ASSUME, "sts:SetSourceIdentity")), "first")
    second, second_arn = make_role(server, trust_doc(first_arn, actions=(ASSUME, "sts:SetSourceIdentity")), "second",
                                   MaxSessionDuration=7200)
    # Without sts:SetSourceIdentity in the trust policy, setting one is denied.
    _, plain = make_role(server, trust_doc(jo_arn), "plain")
    assume_denied(server, creds, jo_arn, plain, action="sts:SetSourceIdentity", SourceIdentity="jo")

    out = assume(server, creds, first_arn, session="one", SourceIdentity="jo-admin")
    assert out["SourceIdentity"] == "jo-admin"
    hop1 = session_of(out)
    # Chained: the source identity flows down...
    out = assume(server, hop1, second_arn, session="two")
    assert out["SourceIdentity"] == "jo-admin"
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{server.account_id}:assumed-role/{second}/two"
    # ... and cannot be changed.
    expect_client_error(lambda: assume(server, hop1, second_arn, session="two", SourceIdentity="mallory"),
                        "InvalidParameterValue", status=400)
    r = server.aws("sts", "assume-role", "--role-arn", second_arn, "--role-session-name", "cli-two", "--source-identity",
                   "mallory", creds=hop1, check=False)
    assert r.error_code == "InvalidParameterValue", r.stderr
    cli = server.aws("sts", "assume-role", "--role-arn", second_arn, "--role-session-name", "cli-two", creds=hop1)
    assert cli["SourceIdentity"] == "jo-admin"
    cli1 = server.aws("sts", "assume-role", "--role-arn", first_arn, "--role-session-name", "cli-one",
                      "--source-identity", "jo-cli", creds=creds)
    assert cli1["SourceIdentity"] == "jo-cli"

    # Role chaining is capped at one hour, even below the role's MaxSessionDuration (7200).
    expect_client_error(lambda: assume(server, hop1, second_arn, session="two", DurationSeconds=3601),
                        "ValidationError", MSG_CHAINING_CAP, 400)
    r = server.aws("sts", "assume-role", "--role-arn", second_arn, "--role-session-name", "cli-two", "--duration-seconds",
                   "7200", creds=hop1, check=False)
    assert r.error_code == "ValidationError" and r.error_message == MSG_CHAINING_CAP, r.stderr
    c = assume(server, hop1, second_arn, session="two", DurationSeconds=3600)["Credentials"]
    assert 3600 - 120 <= seconds_left(c["Expiration"]) <= 3600 + 5
    # Not chained (a user's own keys): the role's 7200 applies.
    iam.update_assume_role_policy(RoleName=second, PolicyDocument=policy_json({
        "Effect": "Allow", "Principal": {"AWS": [first_arn, jo_arn]}, "Action": [ASSUME, "sts:SetSourceIdentity"]}))
    c = assume(server, creds, second_arn, session="direct", DurationSeconds=7200)["Credentials"]
    assert 7200 - 120 <= seconds_left(c["Expiration"]) <= 7200 + 5


def test_duration_above_max_session_duration(server, iam):
    kim, creds = server.create_user_with_key("kim")
    name, arn = make_role(server, trust_doc(server.arn(f"user/{kim}")), "short")
    expect_client_error(lambda: assume(server, creds, arn, DurationSeconds=7200), "ValidationError", MSG_ABOVE_MAX_SESSION, 400)
    r = server.aws("sts", "assume-role", "--role-arn", arn, "--role-session-name", "cli-d", "--duration-seconds", "7200",
                   creds=creds, check=False)
    assert r.error_code == "ValidationError" and r.error_message == MSG_ABOVE_MAX_SESSION, r.stderr
    iam.update_role(RoleName=name, MaxSessionDuration=7200)
    c = assume(server, creds, arn, DurationSeconds=7200)["Credentials"]
    assert 7200 - 120 <= seconds_left(c["Expiration"]) <= 7200 + 5
    cli = server.aws("sts", "assume-role", "--role-arn", arn, "--role-session-name", "cli-d", "--duration-seconds", "900",
                     creds=creds)
    assert 900 - 120 <= seconds_left(cli["Credentials"]["Expiration"]) <= 900 + 5
    sts = server.boto3_client("sts", creds, validate=False)  # botocore itself refuses < 900
    expect_client_error(lambda: sts.assume_role(RoleArn=arn, RoleSessionName="s1", DurationSeconds=899), "ValidationError",
                        "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: "
                        "Member must have value greater than or equal to 900", 400)
    expect_client_error(lambda: sts.assume_role(RoleArn=arn, RoleSessionName="s1", DurationSeconds=43201), "ValidationError",
                        "1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy constraint: "
                        "Member must have value less than or equal to 43200", 400)


# --- Session policies and revocation ---------------------------------------------------------


def test_session_policies_narrow_the_session(server, iam):
    lee, creds = server.create_user_with_key("lee")
    name, arn = make_role(server, trust_doc(server.arn(f"user/{lee}")), "wide")
    iam.put_role_policy(RoleName=name, PolicyName="wide", PolicyDocument=allow_doc(["iam:ListUsers", "iam:ListRoles"]))

    # Inline session policy: only ListUsers.
    out = assume(server, creds, arn, Policy=allow_doc("iam:ListUsers"))
    assert out["PackedPolicySize"] > 0
    narrow = server.boto3_client("iam", session_of(out))
    narrow.list_users(MaxItems=1)
    offset = server.log_size()
    e = expect_client_error(lambda: narrow.list_roles(MaxItems=1), "AccessDenied", status=403)
    assert "session policy" in refusal_line(server, e, offset)

    # By ARN (PolicyArns): only ListRoles.
    pol = iam.create_policy(PolicyName=unique("only-roles"), PolicyDocument=allow_doc("iam:ListRoles"))["Policy"]["Arn"]
    by_arn = server.boto3_client("iam", session_of(assume(server, creds, arn, PolicyArns=[{"arn": pol}])))
    by_arn.list_roles(MaxItems=1)
    expect_client_error(lambda: by_arn.list_users(MaxItems=1), "AccessDenied", status=403)

    # The session can never exceed the role.
    wide = server.boto3_client("iam", session_of(assume(server, creds, arn, Policy=allow_doc("iam:*"))))
    wide.list_users(MaxItems=1)
    expect_client_error(lambda: wide.list_policies(MaxItems=1), "AccessDenied", status=403)

    # The aws CLI: --policy and --policy-arns.
    cli = server.aws("sts", "assume-role", "--role-arn", arn, "--role-session-name", "cli-p",
                     "--policy", allow_doc("iam:ListUsers"), creds=creds)
    cli_s = Creds.from_sts(cli["Credentials"])
    server.aws("iam", "list-users", "--max-items", "1", creds=cli_s)
    assert server.aws("iam", "list-roles", creds=cli_s, check=False).error_code == "AccessDenied"
    cli = server.aws("sts", "assume-role", "--role-arn", arn, "--role-session-name", "cli-p",
                     "--policy-arns", f"arn={pol}", creds=creds)
    cli_s = Creds.from_sts(cli["Credentials"])
    server.aws("iam", "list-roles", "--max-items", "1", creds=cli_s)
    assert server.aws("iam", "list-users", creds=cli_s, check=False).error_code == "AccessDenied"

    # A malformed session policy.
    expect_client_error(lambda: assume(server, creds, arn, Policy='{"Statement":['), "MalformedPolicyDocument", status=400)


def test_revoke_older_sessions(server, iam):
    """The console's AWSRevokeOlderSessions policy against the real clock (second precision)."""
    mo, creds = server.create_user_with_key("mo")
    name, arn = make_role(server, trust_doc(server.arn(f"user/{mo}")), "rev")
    iam.put_role_policy(RoleName=name, PolicyName="base", PolicyDocument=allow_doc("iam:ListUsers"))
    old = server.boto3_client("iam", session_of(assume(server, creds, arn)))
    old.list_users(MaxItems=1)

    time.sleep(1.1)
    cutoff = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    iam.put_role_policy(RoleName=name, PolicyName="AWSRevokeOlderSessions", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": ["*"], "Resource": ["*"],
                       "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}}}]}))
    offset = server.log_size()
    e = expect_client_error(lambda: old.list_users(MaxItems=1), "AccessDenied", status=403)
    assert "explicit deny" in refusal_line(server, e, offset)

    time.sleep(1.1)
    new = server.boto3_client("iam", session_of(assume(server, creds, arn)))
    new.list_users(MaxItems=1)
    expect_client_error(lambda: old.list_users(MaxItems=1), "AccessDenied", status=403)


# --- Refusals that name no policy ------------------------------------------------------------


def test_root_cannot_assume_and_a_missing_role_is_access_denied(server, iam, sts):
    _, arn = make_role(server, trust_doc(server.arn("root")), "r")
    expect_client_error(lambda: sts.assume_role(RoleArn=arn, RoleSessionName="s1"), "AccessDenied", MSG_ROOT_CANNOT_ASSUME, 403)
    r = server.aws("sts", "assume-role", "--role-arn", arn, "--role-session-name", "s1", check=False)
    assert r.error_code == "AccessDenied" and r.error_message == MSG_ROOT_CANNOT_ASSUME, r.stderr

    dave, creds = server.create_user_with_key("dave")
    iam.put_user_policy(UserName=dave, PolicyName="p", PolicyDocument=allow_doc(ASSUME))
    missing = server.arn(f"role/{unique('nope')}")
    assume_denied(server, creds, server.arn(f"user/{dave}"), missing)
    r = server.aws("sts", "assume-role", "--role-arn", missing, "--role-session-name", "s1", creds=creds, check=False)
    assert r.error_code == "AccessDenied" and r.error_message == not_authorized(server.arn(f"user/{dave}"), ASSUME, missing), r.stderr


def test_trust_principals_are_bound_to_unique_ids(server, iam):
    ghost = server.arn(f"user/{unique('ghost')}")
    expect_client_error(lambda: iam.create_role(RoleName=unique("x"), AssumeRolePolicyDocument=trust_doc(ghost)),
                        "MalformedPolicyDocument", f'Invalid principal in policy: "AWS":"{ghost}"', 400)

    erin, creds = server.create_user_with_key("erin")
    erin_arn = server.arn(f"user/{erin}")
    _, arn = make_role(server, trust_doc(erin_arn), "bound")
    assume(server, creds, arn)
    # Delete and re-create erin: the old trust no longer matches the new user.
    iam.delete_access_key(UserName=erin, AccessKeyId=creds.access_key_id)
    iam.delete_user(UserName=erin)
    iam.create_user(UserName=erin)
    erin2 = Creds.from_sts(iam.create_access_key(UserName=erin)["AccessKey"])
    offset = server.log_size()
    e = assume_denied(server, erin2, erin_arn, arn)
    assert "trust policy" in refusal_line(server, e, offset)
    r = server.aws("sts", "assume-role", "--role-arn", arn, "--role-session-name", "s1", creds=erin2, check=False)
    assert r.error_code == "AccessDenied", r.stderr


# --- The audit trail -------------------------------------------------------------------------


def test_audit_trail_records_issues_and_refusals_without_secrets(new_server):
    s = new_server("audit")
    iam = s.boto3_client("iam")
    nia, creds = s.create_user_with_key("nia")
    _, arn = make_role(s, trust_doc(s.arn(f"user/{nia}"), condition={"StringEquals": {"sts:ExternalId": "ext-42"}}), "tmp")
    out = assume(s, creds, arn, session="s-e", ExternalId="ext-42", DurationSeconds=900)
    issued = out["Credentials"]
    cli = s.aws("sts", "assume-role", "--role-arn", arn, "--role-session-name", "s-cli", "--external-id", "ext-42", creds=creds)
    refused = expect_client_error(lambda: assume(s, creds, arn, session="s-x", ExternalId="wrong"), "AccessDenied", status=403)
    refused_id = request_id_of(refused)
    iam.get_user(UserName=nia)

    # Refusals are not waited for (nothing was handed out): poll, bounded.
    deadline = time.monotonic() + 5
    while True:
        text, records = audit_tail(s, 200)
        if any(r.get("request_id") == refused_id for r in records) or time.monotonic() > deadline:
            break
        time.sleep(0.1)

    allowed = [r for r in records if r.get("action") == "AssumeRole" and r.get("outcome") == "allowed"]
    by_key = {r.get("issued_access_key_id"): r for r in allowed}
    assert issued["AccessKeyId"] in by_key, allowed
    assert cli["Credentials"]["AccessKeyId"] in by_key, allowed
    rec = by_key[issued["AccessKeyId"]]
    assert rec["target"] == arn, rec
    assert isinstance(rec.get("decision"), str) and "trust policy" in rec["decision"], rec
    assert rec.get("caller") == s.arn(f"user/{nia}"), rec

    denied = [r for r in records if r.get("request_id") == refused_id]
    assert len(denied) == 1, records[-5:]
    d = denied[0]
    assert d["action"] == "AssumeRole" and d["outcome"] == "AccessDenied" and d["target"] == arn, d
    assert isinstance(d.get("reason"), str) and d["reason"], d
    assert "ExternalId" in d["reason"], d

    # No secret key or session token anywhere: not in the audit output, not in the server log.
    log = s.log_tail(100000)
    secrets = [issued["SecretAccessKey"], issued["SessionToken"], cli["Credentials"]["SecretAccessKey"],
               cli["Credentials"]["SessionToken"], creds.secret_access_key, s.root.secret_access_key]
    for secret in secrets:
        assert secret not in text, "a secret in the audit trail"
        assert secret not in log, "a secret in the server log"
