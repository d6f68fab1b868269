"""IAM policies through unmodified boto3 and the aws CLI (issue 3): managed policies and their
versions, attachments to users / groups / roles, inline policies and their size quota, malformed
documents, permissions boundaries, and every IAM call from a non-root principal going through
the policy evaluator. Documents come back URL-encoded on the wire; boto3 and the CLI decode
them to JSON objects, so the tests compare dicts."""

from __future__ import annotations

import json
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from tessera_harness import (
    IAM_NS,
    IAM_VERSION,
    Creds,
    allow_doc,
    client_error,
    expect_client_error,
    not_authorized,
    policy_json,
    sign,
    trust_doc,
    unique,
    xml_find,
)

pytestmark = pytest.mark.usefixtures("no_server_faults")

MSG_VERSION_LIMIT = ("A managed policy can have up to 5 versions. Before you create a new version, "
                     "you must delete an existing version.")


MSG_POLICY_ATTACHED = "Cannot delete a policy attached to entities."
MSG_POLICY_HAS_VERSIONS = ("This policy has more than one version. Before you delete a policy, you must delete the "
                           "policy's versions. The default version is deleted with the policy.")


def doc(s: str) -> dict:
    return json.loads(s)


# --- Managed policies and versions -------------------------------------------------------------


def test_managed_policy_versions_boto3(server, iam):
    name = unique("pol")
    v1 = allow_doc(["iam:ListUsers"])
    created = iam.create_policy(PolicyName=name, Path="/interop/", PolicyDocument=v1, Description="interop v1")["Policy"]
    arn = server.arn(f"policy/interop/{name}")
    assert created["Arn"] == arn and created["PolicyName"] == name and created["Path"] == "/interop/"
    assert created["PolicyId"].startswith("ANPA") and len(created["PolicyId"]) == 21, created["PolicyId"]
    assert created["DefaultVersionId"] == "v1"
    assert created["AttachmentCount"] == 0 and created["PermissionsBoundaryUsageCount"] == 0
    assert created["IsAttachable"] is True

    got = iam.get_policy(PolicyArn=arn)["Policy"]
    assert (got["PolicyId"], got["DefaultVersionId"], got["Description"]) == (created["PolicyId"], "v1", "interop v1")
    # The document comes back URL-encoded on the wire; boto3 decodes it to a dict.
    pv = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert pv["Document"] == doc(v1) and pv["VersionId"] == "v1" and pv["IsDefaultVersion"] is True
    raw = server.send_prepared(sign(server.root, server.endpoint, service="iam", body={
        "Action": "GetPolicyVersion", "Version": IAM_VERSION, "PolicyArn": arn, "VersionId": "v1"}))
    assert raw.status == 200, raw.text
    wire = xml_find(raw, "GetPolicyVersionResult", "PolicyVersion", "Document", ns=IAM_NS)
    assert wire and "{" not in wire and wire.startswith("%7B"), wire
    assert json.loads(urllib.parse.unquote(wire)) == doc(v1)

    expect_client_error(lambda: iam.create_policy(PolicyName=name, PolicyDocument=v1), "EntityAlreadyExists",
                        f"A policy called {name} already exists. Duplicate names are not allowed.", 409)
    missing = server.arn(f"policy/{unique('nopol')}")
    expect_client_error(lambda: iam.get_policy(PolicyArn=missing), "NoSuchEntity", f"Policy {missing} was not found.", 404)

    # Versions v2..v5; v3 becomes the default on creation; a sixth is over the quota.
    docs = {"v1": v1}
    for i in range(2, 6):
        d = allow_doc(["iam:ListUsers", "iam:GetUser"], f"arn:aws:iam::{server.account_id}:user/v{i}")
        out = iam.create_policy_version(PolicyArn=arn, PolicyDocument=d, SetAsDefault=(i == 3))["PolicyVersion"]
        assert out["VersionId"] == f"v{i}" and out["IsDefaultVersion"] is (i == 3), out
        docs[f"v{i}"] = d
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    expect_client_error(lambda: iam.create_policy_version(PolicyArn=arn, PolicyDocument=v1), "LimitExceeded",
                        MSG_VERSION_LIMIT, 409)

    listed = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert sorted(v["VersionId"] for v in listed) == ["v1", "v2", "v3", "v4", "v5"]
    assert [v["VersionId"] for v in listed if v["IsDefaultVersion"]] == ["v3"]
    for vid, d in docs.items():
        assert iam.get_policy_version(PolicyArn=arn, VersionId=vid)["PolicyVersion"]["Document"] == doc(d)

    iam.set_default_policy_version(PolicyArn=arn, VersionId="v2")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    # The default version cannot be deleted; another can, and frees a slot.
    expect_client_error(lambda: iam.delete_policy_version(PolicyArn=arn, VersionId="v2"), "DeleteConflict", status=409)
    iam.delete_policy_version(PolicyArn=arn, VersionId="v4")
    expect_client_error(lambda: iam.get_policy_version(PolicyArn=arn, VersionId="v4"), "NoSuchEntity", status=404)
    assert iam.create_policy_version(PolicyArn=arn, PolicyDocument=v1)["PolicyVersion"]["VersionId"] == "v6"

    # ListPolicies with Scope=Local lists it under its path.
    local = iam.list_policies(Scope="Local", PathPrefix="/interop/")["Policies"]
    assert arn in [p["Arn"] for p in local]
    assert arn not in [p["Arn"] for p in iam.list_policies(Scope="Local", PathPrefix="/interop/", OnlyAttached=True)["Policies"]]

    # Attached: DeleteConflict, AttachmentCount, OnlyAttached.
    user = unique("poluser")
    iam.create_user(UserName=user)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    attached = iam.list_policies(Scope="Local", PathPrefix="/interop/", OnlyAttached=True)["Policies"]
    assert arn in [p["Arn"] for p in attached]
    expect_client_error(lambda: iam.delete_policy(PolicyArn=arn), "DeleteConflict", MSG_POLICY_ATTACHED, 409)
    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0
    # Non-default versions must go first (DeletePolicy API reference).
    expect_client_error(lambda: iam.delete_policy(PolicyArn=arn), "DeleteConflict", MSG_POLICY_HAS_VERSIONS, 409)
    for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not v["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=v["VersionId"])
    iam.delete_policy(PolicyArn=arn)
    expect_client_error(lambda: iam.get_policy(PolicyArn=arn), "NoSuchEntity", f"Policy {arn} was not found.", 404)
    iam.delete_user(UserName=user)


def test_managed_policy_versions_cli(server, iam):
    name = unique("clipol")
    v1 = allow_doc("iam:ListUsers")
    p = server.aws("iam", "create-policy", "--policy-name", name, "--path", "/cli/", "--policy-document", v1)["Policy"]
    arn = server.arn(f"policy/cli/{name}")
    assert p["Arn"] == arn and p["DefaultVersionId"] == "v1"
    got = server.aws("iam", "get-policy-version", "--policy-arn", arn, "--version-id", "v1")["PolicyVersion"]
    assert got["Document"] == doc(v1)
    v2 = allow_doc(["iam:ListUsers", "iam:ListRoles"])
    out = server.aws("iam", "create-policy-version", "--policy-arn", arn, "--policy-document", v2, "--set-as-default")
    assert out["PolicyVersion"]["VersionId"] == "v2" and out["PolicyVersion"]["IsDefaultVersion"] is True
    versions = server.aws("iam", "list-policy-versions", "--policy-arn", arn)["Versions"]
    assert {v["VersionId"]: v["IsDefaultVersion"] for v in versions} == {"v1": False, "v2": True}
    server.aws("iam", "set-default-policy-version", "--policy-arn", arn, "--version-id", "v1")
    assert server.aws("iam", "get-policy", "--policy-arn", arn)["Policy"]["DefaultVersionId"] == "v1"
    server.aws("iam", "delete-policy-version", "--policy-arn", arn, "--version-id", "v2")
    local = server.aws("iam", "list-policies", "--scope", "Local", "--path-prefix", "/cli/")["Policies"]
    assert arn in [x["Arn"] for x in local]
    server.aws("iam", "delete-policy", "--policy-arn", arn)
    r = server.aws("iam", "get-policy", "--policy-arn", arn, check=False)
    assert r.error_code == "NoSuchEntity" and r.error_message == f"Policy {arn} was not found.", r.stderr


# --- Attachments -------------------------------------------------------------------------------


def test_attach_detach_list_for_users_groups_roles(server, iam):
    pol_name = unique("attach")
    arn = iam.create_policy(PolicyName=pol_name, PolicyDocument=allow_doc("iam:ListRoles"))["Policy"]["Arn"]
    user, creds = server.create_user_with_key("attuser")
    group = unique("attgroup")
    iam.create_group(GroupName=group)
    role = unique("attrole")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_doc(server.arn(f"user/{user}")))

    kinds = [
        ("User", dict(UserName=user), iam.attach_user_policy, iam.detach_user_policy, iam.list_attached_user_policies),
        ("Group", dict(GroupName=group), iam.attach_group_policy, iam.detach_group_policy, iam.list_attached_group_policies),
        ("Role", dict(RoleName=role), iam.attach_role_policy, iam.detach_role_policy, iam.list_attached_role_policies),
    ]
    for _, who, attach, _, list_attached in kinds:
        assert list_attached(**who)["AttachedPolicies"] == []
        attach(PolicyArn=arn, **who)
        attach(PolicyArn=arn, **who)  # idempotent, as on AWS
        assert list_attached(**who)["AttachedPolicies"] == [{"PolicyName": pol_name, "PolicyArn": arn}]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 3

    # A policy that does not exist is not attachable.
    missing = server.arn(f"policy/{unique('ghost')}")
    expect_client_error(lambda: iam.attach_user_policy(UserName=user, PolicyArn=missing), "NoSuchEntity",
                        f"Policy {missing} does not exist or is not attachable.", 404)

    # The user gets the permission through its own attachment; then only through the group.
    u_iam = server.boto3_client("iam", creds)
    u_iam.list_roles(MaxItems=1)
    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    expect_client_error(lambda: u_iam.list_roles(MaxItems=1), "AccessDenied", status=403)
    iam.add_user_to_group(GroupName=group, UserName=user)
    u_iam.list_roles(MaxItems=1)
    iam.remove_user_from_group(GroupName=group, UserName=user)
    expect_client_error(lambda: u_iam.list_roles(MaxItems=1), "AccessDenied", status=403)

    for _, who, _, detach, list_attached in kinds[1:]:
        detach(PolicyArn=arn, **who)
        assert list_attached(**who)["AttachedPolicies"] == []
    expect_client_error(lambda: iam.detach_user_policy(UserName=user, PolicyArn=arn), "NoSuchEntity", status=404)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0
    iam.delete_policy(PolicyArn=arn)


def test_attachments_cli(server, iam):
    pol_name, user, group, role = unique("cliatt"), unique("cliattu"), unique("cliattg"), unique("cliattr")
    arn = iam.create_policy(PolicyName=pol_name, PolicyDocument=allow_doc("iam:ListRoles"))["Policy"]["Arn"]
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_doc(server.arn(f"user/{user}")))
    for kind, flag, name in (("user", "--user-name", user), ("group", "--group-name", group), ("role", "--role-name", role)):
        server.aws("iam", f"attach-{kind}-policy", flag, name, "--policy-arn", arn)
        listed = server.aws("iam", f"list-attached-{kind}-policies", flag, name)["AttachedPolicies"]
        assert listed == [{"PolicyName": pol_name, "PolicyArn": arn}], (kind, listed)
        server.aws("iam", f"detach-{kind}-policy", flag, name, "--policy-arn", arn)
    for attached in (iam.list_attached_user_policies(UserName=user), iam.list_attached_group_policies(GroupName=group),
                     iam.list_attached_role_policies(RoleName=role)):
        assert attached["AttachedPolicies"] == []
    iam.delete_policy(PolicyArn=arn)


# --- Inline policies ---------------------------------------------------------------------------


def test_inline_policies_users_groups_roles(server, iam):
    user, group, role = unique("inlu"), unique("inlg"), unique("inlr")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_doc(server.arn(f"user/{user}")))
    d1, d2 = allow_doc("iam:ListUsers"), allow_doc(["iam:GetUser", "iam:ListGroups"])
    kinds = [
        ("user", dict(UserName=user), iam.put_user_policy, iam.get_user_policy, iam.delete_user_policy, iam.list_user_policies),
        ("group", dict(GroupName=group), iam.put_group_policy, iam.get_group_policy, iam.delete_group_policy, iam.list_group_policies),
        ("role", dict(RoleName=role), iam.put_role_policy, iam.get_role_policy, iam.delete_role_policy, iam.list_role_policies),
    ]
    for kind, who, put, get, delete, list_ in kinds:
        assert list_(**who)["PolicyNames"] == []
        put(PolicyName="b-two", PolicyDocument=d2, **who)
        put(PolicyName="a-one", PolicyDocument=d2, **who)
        put(PolicyName="a-one", PolicyDocument=d1, **who)  # replaces
        assert sorted(list_(**who)["PolicyNames"]) == ["a-one", "b-two"]
        got = get(PolicyName="a-one", **who)
        assert got["PolicyName"] == "a-one" and got["PolicyDocument"] == doc(d1), got
        assert got[f"{kind.capitalize()}Name"] == who[f"{kind.capitalize()}Name"]
        delete(PolicyName="a-one", **who)
        assert list_(**who)["PolicyNames"] == ["b-two"]
        expect_client_error(lambda: get(PolicyName="a-one", **who), "NoSuchEntity",
                            f"The {kind} policy with name a-one cannot be found.", 404)
        expect_client_error(lambda: delete(PolicyName="a-one", **who), "NoSuchEntity", status=404)
        # An entity with inline policies cannot be deleted.
        deleter = {"user": iam.delete_user, "group": iam.delete_group, "role": iam.delete_role}[kind]
        expect_client_error(lambda: deleter(**who), "DeleteConflict", "Cannot delete entity, must delete policies first.", 409)
        delete(PolicyName="b-two", **who)
        deleter(**who)


def test_inline_policies_cli(server, iam):
    user = unique("cliinl")
    iam.create_user(UserName=user)
    d = allow_doc("iam:ListUsers")
    server.aws("iam", "put-user-policy", "--user-name", user, "--policy-name", "p1", "--policy-document", d)
    assert server.aws("iam", "list-user-policies", "--user-name", user)["PolicyNames"] == ["p1"]
    got = server.aws("iam", "get-user-policy", "--user-name", user, "--policy-name", "p1")
    assert got["PolicyDocument"] == doc(d) and got["UserName"] == user
    server.aws("iam", "delete-user-policy", "--user-name", user, "--policy-name", "p1")
    r = server.aws("iam", "get-user-policy", "--user-name", user, "--policy-name", "p1", check=False)
    assert r.error_code == "NoSuchEntity", r.stderr
    iam.delete_user(UserName=user)


def sized_doc(non_ws: int, pad_ws: int = 0) -> str:
    """A valid identity policy with exactly `non_ws` non-whitespace characters (plus `pad_ws`
    spaces between tokens)."""
    base = {"Version": "2012-10-17", "Statement": [{"Sid": "", "Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}]}
    compact = json.dumps(base, separators=(",", ":"))
    fill = non_ws - len(compact)
    assert fill >= 1, non_ws
    base["Statement"][0]["Sid"] = "S" * fill
    text = json.dumps(base, separators=(",", ":"))
    assert len(text) == non_ws
    if pad_ws:
        text = text.replace(",", "," + " " * (pad_ws // 4), 4)
        text += " " * (pad_ws - (len(text) - non_ws))
    return text


def test_user_inline_aggregate_limit_is_2048_non_whitespace_chars(server, iam):
    user = unique("inlsize")
    iam.create_user(UserName=user)
    # Whitespace is not counted: 1,000 significant characters padded to ~4,000 are accepted.
    padded = sized_doc(1000, pad_ws=3000)
    assert len(padded) >= 3900
    iam.put_user_policy(UserName=user, PolicyName="a", PolicyDocument=padded)
    iam.put_user_policy(UserName=user, PolicyName="b", PolicyDocument=sized_doc(1000))
    # Over the aggregate of 2,048: LimitExceeded 409, and nothing stored.
    over = expect_client_error(lambda: iam.put_user_policy(UserName=user, PolicyName="c", PolicyDocument=sized_doc(200)),
                               "LimitExceeded", status=409)
    assert sorted(iam.list_user_policies(UserName=user)["PolicyNames"]) == ["a", "b"]
    # Replacing a policy counts its new size, not both.
    iam.put_user_policy(UserName=user, PolicyName="b", PolicyDocument=sized_doc(900))
    # A single document over the aggregate on its own.
    other = unique("inlsize2")
    iam.create_user(UserName=other)
    expect_client_error(lambda: iam.put_user_policy(UserName=other, PolicyName="big", PolicyDocument=sized_doc(2100)),
                        "LimitExceeded", status=409)
    r = server.aws("iam", "put-user-policy", "--user-name", other, "--policy-name", "big",
                   "--policy-document", sized_doc(2100), check=False)
    assert r.error_code == "LimitExceeded", r.stderr
    iam.put_user_policy(UserName=other, PolicyName="fits", PolicyDocument=sized_doc(2000))
    for u, names in ((user, ["a", "b"]), (other, ["fits"])):
        for n in names:
            iam.delete_user_policy(UserName=u, PolicyName=n)
        iam.delete_user(UserName=u)
    # The quota message (AWS-REFERENCE §3, checked last so the behaviour above runs either way).
    assert client_error(over)[1] == f"Maximum policy size of 2048 bytes exceeded for user {user}"


# --- Malformed documents -----------------------------------------------------------------------

STMT = {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}

MALFORMED = [
    ("bad-json", '{"Version": "2012-10-17", "Statement": [', "Syntax errors in policy."),
    ("principal", policy_json(dict(STMT, Principal={"AWS": "*"})), "Policy document should not specify a principal."),
    ("missing-resource", policy_json({"Effect": "Allow", "Action": "iam:ListUsers"}), "Policy statement must contain resources."),
    ("lowercase-effect", policy_json(dict(STMT, Effect="allow")), None),
    ("duplicate-sid", policy_json(dict(STMT, Sid="Same"), dict(STMT, Sid="Same")),
     "Statement IDs (SID) in a single policy must be unique."),
    ("action-and-notaction", policy_json(dict(STMT, NotAction="iam:GetUser")), None),
    ("unknown-operator", policy_json(dict(STMT, Condition={"StringEqualz": {"aws:username": "x"}})), None),
]


@pytest.mark.parametrize("document, message", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_identity_policies_are_refused(server, iam, document, message):
    user = unique("malformed")
    iam.create_user(UserName=user)
    expect_client_error(lambda: iam.put_user_policy(UserName=user, PolicyName="bad", PolicyDocument=document),
                        "MalformedPolicyDocument", message, 400)
    expect_client_error(lambda: iam.create_policy(PolicyName=unique("bad"), PolicyDocument=document),
                        "MalformedPolicyDocument", message, 400)
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == []
    iam.delete_user(UserName=user)


def test_malformed_policy_with_the_cli(server, iam):
    r = server.aws("iam", "create-policy", "--policy-name", unique("clibad"),
                   "--policy-document", policy_json({"Effect": "Allow", "Action": "iam:ListUsers"}), check=False)
    assert r.error_code == "MalformedPolicyDocument", r.stderr
    assert r.error_message == "Policy statement must contain resources.", r.stderr


# --- Documents an independent suite disputed, each settled from AWS's documentation -----------
# One case per document, sent through CreatePolicy (managed), PutUserPolicy (inline), CreateRole
# (trust, where the element is allowed there) and AssumeRole's Policy (session).

OK = "accepted"
MSG_SYNTAX = "Syntax errors in policy."
MSG_OLD_VERSION = "Policy document must be version 2012-10-17 or greater."
MSG_VENDOR = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
MSG_IAM_PATH = ('IAM resource path must either be "*" or start with user/, federated-user/, role/, group/, '
                "instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, "
                "report/, access-report/.")

DISPUTES = [
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html
    # "Error – Invalid condition key format": "The condition key format is not valid. Use the
    # format service:keyname." (errors: "lines that prevent the policy from functioning").
    ("condition-key-without-vendor",
     {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*",
      "Condition": {"StringEquals": {"username": "alice"}}},
     {"Version": "2012-10-17"}, dict(managed=MSG_VENDOR, inline=MSG_VENDOR, trust=MSG_VENDOR, session=MSG_VENDOR)),
    # Same page, "Error – Missing ARN field": "Resource ARNs must include at least {{fields}}
    # fields in the following structure: arn:partition:service:region:account:resource".
    ("short-arn",
     {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "arn:aws:fdsasf"},
     {"Version": "2012-10-17"},
     dict(managed='Resource arn:aws:fdsasf must be in ARN format or "*".',
          inline='Resource arn:aws:fdsasf must be in ARN format or "*".',
          session='Resource arn:aws:fdsasf must be in ARN format or "*".')),
    # Same page, "Suggestion – Empty object condition": "This condition block is empty and it does
    # not affect the policy." (suggestions: "improvements that don't impact the permissions").
    ("empty-operator-block",
     {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*", "Condition": {"StringEquals": {}}},
     {"Version": "2012-10-17"}, dict(managed=OK, inline=OK, trust=OK, session=OK)),
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_policies.html#missing-version
    # "The default policy version is "2008-10-17."" (the grammar's version_block is optional); a
    # managed policy without it: "Policy document must be version 2012-10-17 or greater." (observed
    # live, github.com/Meteor-Community-Packages/Meteor-CollectionFS/issues/630).
    ("missing-version",
     {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"},
     {}, dict(managed=MSG_OLD_VERSION, inline=OK, trust=OK, session=OK)),
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    # <version_block> = "Version" : ("2008-10-17" | "2012-10-17"); the managed-policy text above
    # rules 2008-10-17 out for CreatePolicy.
    ("version-2008",
     {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"},
     {"Version": "2008-10-17"}, dict(managed=MSG_OLD_VERSION, inline=OK, trust=OK, session=OK)),
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_statement.html
    # "The Statement element is the main element for a policy. This element is required."; the
    # grammar's arrays "can take one or more values".
    ("empty-statement-list", None, {"Version": "2012-10-17"},
     dict(managed=MSG_SYNTAX, inline=MSG_SYNTAX, trust=MSG_SYNTAX, session=MSG_SYNTAX)),
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html
    # "Error – Invalid ARN resource": "Resource ARN does not match the expected ARN format."
    ("iam-arn-without-resource-type",
     {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "arn:aws:iam:::x"},
     {"Version": "2012-10-17"}, dict(managed=MSG_IAM_PATH, inline=MSG_IAM_PATH, session=MSG_IAM_PATH)),
]


def dispute_doc(stmt: dict | None, top: dict, principal: dict | None = None) -> str:
    if stmt is None:
        return json.dumps({**top, "Statement": []})
    stmt = dict(stmt)
    if principal is not None:  # as a trust policy: Principal in, Resource out, AssumeRole only
        stmt.pop("Resource", None)
        stmt.update(Principal=principal, Action="sts:AssumeRole")
    return json.dumps({**top, "Statement": [stmt]})


def outcome(call) -> str:
    try:
        call()
    except ClientError as e:
        code, message = client_error(e)[:2]
        assert code == "MalformedPolicyDocument", (code, message)
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        return message
    return OK


@pytest.mark.parametrize("stmt, top, want", [d[1:] for d in DISPUTES], ids=[d[0] for d in DISPUTES])
def test_disputed_documents_as_aws_documents_them(server, iam, stmt, top, want):
    lee, creds = server.create_user_with_key("disputes")
    document = dispute_doc(stmt, top)
    got = {
        "managed": outcome(lambda: iam.create_policy(PolicyName=unique("dispute"), PolicyDocument=document)),
        "inline": outcome(lambda: iam.put_user_policy(UserName=lee, PolicyName="dispute", PolicyDocument=document)),
    }
    role, role_arn = None, None
    if "trust" in want:
        role = unique("dispute")
        trust = dispute_doc(stmt, top, principal={"AWS": server.arn(f"user/{lee}")})

        def create_role():
            nonlocal role_arn
            role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        got["trust"] = outcome(create_role)
    if "session" in want:
        if role_arn is None:
            role = unique("dispute")
            role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_doc(server.arn(f"user/{lee}")))["Role"]["Arn"]
        sts = server.boto3_client("sts", creds)
        got["session"] = outcome(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="s1", Policy=document))
    assert got == want
    if want["inline"] == OK:
        # Stored as sent: the document reads back unchanged.
        back = iam.get_user_policy(UserName=lee, PolicyName="dispute")["PolicyDocument"]
        assert back == json.loads(document)
        iam.delete_user_policy(UserName=lee, PolicyName="dispute")


def test_empty_operator_block_constrains_nothing_and_old_versions_keep_variables_literal(server, iam):
    lee, creds = server.create_user_with_key("dispute")
    mine = server.boto3_client("iam", creds)
    iam.put_user_policy(UserName=lee, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*", "Condition": {"StringEquals": {}}}]}))
    mine.list_users(MaxItems=1)
    # No Version: 2008-10-17, where ${aws:username} is literal text (troubleshoot_policies.html
    # #missing-version), so the grant on the caller's own ARN matches nothing.
    iam.put_user_policy(UserName=lee, PolicyName="p", PolicyDocument=json.dumps({"Statement": [
        {"Effect": "Allow", "Action": "iam:GetUser", "Resource": server.arn("user/${aws:username}")}]}))
    expect_client_error(lambda: mine.get_user(UserName=lee), "AccessDenied", status=403)
    iam.delete_user_policy(UserName=lee, PolicyName="p")


def test_create_policy_version_needs_version_2012_with_the_cli(server, iam):
    arn = iam.create_policy(PolicyName=unique("dispute"), PolicyDocument=allow_doc("iam:ListUsers"))["Policy"]["Arn"]
    old = json.dumps({"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]})
    r = server.aws("iam", "create-policy-version", "--policy-arn", arn, "--policy-document", old, check=False)
    assert (r.error_code, r.error_message) == ("MalformedPolicyDocument", MSG_OLD_VERSION), r.stderr
    iam.delete_policy(PolicyArn=arn)


# --- Permissions boundaries --------------------------------------------------------------------


def test_user_permissions_boundary_limits_the_user(server, iam):
    user, creds = server.create_user_with_key("bounded")
    iam.put_user_policy(UserName=user, PolicyName="all-iam", PolicyDocument=allow_doc("iam:*"))
    u_iam = server.boto3_client("iam", creds)
    u_iam.list_roles(MaxItems=1)
    boundary = iam.create_policy(PolicyName=unique("bnd"), PolicyDocument=allow_doc("iam:ListUsers"))["Policy"]["Arn"]
    iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=boundary)
    got = iam.get_user(UserName=user)["User"]
    assert got["PermissionsBoundary"] == {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": boundary}
    usage_while_set = iam.get_policy(PolicyArn=boundary)["Policy"]["PermissionsBoundaryUsageCount"]

    u_iam.list_users(MaxItems=1)  # identity and boundary both allow
    expect_client_error(lambda: u_iam.list_roles(MaxItems=1), "AccessDenied", status=403,
                        prefix=f"User: {server.arn(f'user/{user}')} is not authorized to perform: iam:ListRoles")
    r = server.aws("iam", "list-roles", creds=creds, check=False)
    assert r.error_code == "AccessDenied", r.stderr

    # The boundary is not a grant: without the identity policy nothing is allowed.
    iam.delete_user_policy(UserName=user, PolicyName="all-iam")
    expect_client_error(lambda: u_iam.list_users(MaxItems=1), "AccessDenied", status=403)
    iam.put_user_policy(UserName=user, PolicyName="all-iam", PolicyDocument=allow_doc("iam:*"))

    iam.delete_user_permissions_boundary(UserName=user)
    assert "PermissionsBoundary" not in iam.get_user(UserName=user)["User"]
    u_iam.list_roles(MaxItems=1)
    assert iam.get_policy(PolicyArn=boundary)["Policy"]["PermissionsBoundaryUsageCount"] == 0

    # Set again: a policy in use as a boundary cannot be deleted (DeleteConflict, as for any
    # attachment), and GetPolicy counts its boundary uses. Checked last, so everything above
    # is exercised either way.
    iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=boundary)
    problems = []
    if usage_while_set != 1:
        problems.append(f"PermissionsBoundaryUsageCount while set as a boundary: {usage_while_set}, expected 1")
    try:
        iam.delete_policy(PolicyArn=boundary)
        problems.append("DeletePolicy of a policy in use as a permissions boundary succeeded; expected DeleteConflict "
                        "'Cannot delete a policy attached to entities.'")
    except ClientError as e:
        if client_error(e) != ("DeleteConflict", MSG_POLICY_ATTACHED, 409):
            problems.append(f"DeletePolicy of a boundary in use: {client_error(e)}")
        iam.delete_user_permissions_boundary(UserName=user)
        iam.delete_policy(PolicyArn=boundary)
    assert not problems, problems


def test_role_permissions_boundary_limits_the_role(server, iam):
    user, creds = server.create_user_with_key("rbnd")
    role = unique("bndrole")
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_doc(server.arn(f"user/{user}")))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="all-iam", PolicyDocument=allow_doc("iam:*"))
    boundary = iam.create_policy(PolicyName=unique("rbnd"), PolicyDocument=allow_doc("iam:ListUsers"))["Policy"]["Arn"]
    server.aws("iam", "put-role-permissions-boundary", "--role-name", role, "--permissions-boundary", boundary)
    got = iam.get_role(RoleName=role)["Role"]
    assert got["PermissionsBoundary"] == {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": boundary}

    sts = server.boto3_client("sts", creds)
    session = Creds.from_sts(sts.assume_role(RoleArn=role_arn, RoleSessionName="bounded")["Credentials"])
    r_iam = server.boto3_client("iam", session)
    r_iam.list_users(MaxItems=1)
    expect_client_error(lambda: r_iam.list_roles(MaxItems=1), "AccessDenied", status=403,
                        prefix=f"User: arn:aws:sts::{server.account_id}:assumed-role/{role}/bounded is not authorized to perform: iam:ListRoles")

    iam.delete_role_permissions_boundary(RoleName=role)
    assert "PermissionsBoundary" not in iam.get_role(RoleName=role)["Role"]
    r_iam.list_roles(MaxItems=1)  # permissions are evaluated afresh on every call


# --- Every IAM call from a non-root principal is authorized by policies -------------------------


def test_non_root_caller_needs_a_policy_and_variables_resolve(server, iam):
    me, creds = server.create_user_with_key("self")
    other = unique("other")
    iam.create_user(UserName=other)
    u_iam = server.boto3_client("iam", creds)
    my_arn = server.arn(f"user/{me}")

    # No policy at all: implicit deny.
    e = expect_client_error(lambda: u_iam.get_user(UserName=me), "AccessDenied", status=403,
                            prefix=not_authorized(my_arn, "iam:GetUser", my_arn))
    assert e
    expect_client_error(lambda: u_iam.list_users(), "AccessDenied", status=403,
                        prefix=f"User: {my_arn} is not authorized to perform: iam:ListUsers")

    # Only iam:GetUser on its own ARN, through ${aws:username}.
    iam.put_user_policy(UserName=me, PolicyName="self", PolicyDocument=allow_doc(
        "iam:GetUser", f"arn:aws:iam::{server.account_id}:user/${{aws:username}}"))
    assert u_iam.get_user(UserName=me)["User"]["Arn"] == my_arn
    assert u_iam.get_user()["User"]["Arn"] == my_arn  # no UserName: the caller itself
    expect_client_error(lambda: u_iam.get_user(UserName=other), "AccessDenied", status=403,
                        prefix=not_authorized(my_arn, "iam:GetUser", server.arn(f"user/{other}")))
    expect_client_error(lambda: u_iam.create_user(UserName=unique("nope")), "AccessDenied", status=403)
    assert server.aws("iam", "get-user", "--user-name", me, creds=creds)["User"]["UserName"] == me
    r = server.aws("iam", "get-user", "--user-name", other, creds=creds, check=False)
    assert r.error_code == "AccessDenied", r.stderr

    # Under policy version 2008-10-17 the variable is literal text: nothing matches.
    iam.put_user_policy(UserName=me, PolicyName="self", PolicyDocument=policy_json(
        {"Effect": "Allow", "Action": "iam:GetUser", "Resource": f"arn:aws:iam::{server.account_id}:user/${{aws:username}}"},
        version="2008-10-17"))
    expect_client_error(lambda: u_iam.get_user(UserName=me), "AccessDenied", status=403)

    # An explicit deny beats an allow.
    iam.put_user_policy(UserName=me, PolicyName="self", PolicyDocument=policy_json(
        {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:GetUser", "Resource": server.arn(f"user/{other}")}))
    u_iam.list_users(MaxItems=1)
    u_iam.get_user(UserName=me)
    expect_client_error(lambda: u_iam.get_user(UserName=other), "AccessDenied", status=403)
