"""IAM roles through unmodified boto3 and the aws CLI (issue 4): CreateRole / GetRole / ListRoles /
UpdateRole / UpdateAssumeRolePolicy / DeleteRole, role tags, trust-policy validation (principals
must exist and are bound to unique ids), and the conflicts that keep a role with policies alive."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from tessera_harness import (
    IAM_NS,
    IAM_VERSION,
    allow_doc,
    expect_client_error,
    policy_json,
    sign,
    trust_doc,
    unique,
    xml_find,
)

pytestmark = pytest.mark.usefixtures("no_server_faults")


def tags_of(tags) -> dict:
    return {t["Key"]: t["Value"] for t in tags}


def test_role_lifecycle_boto3(server, iam):
    user = unique("truster")
    iam.create_user(UserName=user)
    name = unique("role")
    trust = trust_doc(server.arn(f"user/{user}"))
    role = iam.create_role(RoleName=name, Path="/svc/", AssumeRolePolicyDocument=trust, Description="interop role",
                           Tags=[{"Key": "team", "Value": "blue"}])["Role"]
    arn = server.arn(f"role/svc/{name}")
    assert role["Arn"] == arn and role["RoleName"] == name and role["Path"] == "/svc/"
    assert role["RoleId"].startswith("AROA") and len(role["RoleId"]) == 21, role["RoleId"]
    # URL-encoded on the wire, decoded by boto3.
    assert role["AssumeRolePolicyDocument"] == json.loads(trust)

    got = iam.get_role(RoleName=name)["Role"]
    assert (got["RoleId"], got["Arn"], got["Description"]) == (role["RoleId"], arn, "interop role")
    assert got["MaxSessionDuration"] == 3600
    assert got["AssumeRolePolicyDocument"] == json.loads(trust)
    raw = server.send_prepared(sign(server.root, server.endpoint, service="iam",
                                     body={"Action": "GetRole", "Version": IAM_VERSION, "RoleName": name}))
    wire = xml_find(raw, "GetRoleResult", "Role", "AssumeRolePolicyDocument", ns=IAM_NS)
    assert wire and "{" not in wire and json.loads(urllib.parse.unquote(wire)) == json.loads(trust), raw.text
    assert tags_of(got["Tags"]) == {"team": "blue"}
    assert name in [r["RoleName"] for r in iam.list_roles(PathPrefix="/svc/")["Roles"]]

    # Names are unique case-insensitively.
    expect_client_error(lambda: iam.create_role(RoleName=name.upper(), AssumeRolePolicyDocument=trust),
                        "EntityAlreadyExists", f"Role with name {name.upper()} already exists.", 409)

    iam.update_role(RoleName=name, Description="changed", MaxSessionDuration=7200)
    got = iam.get_role(RoleName=name)["Role"]
    assert (got["Description"], got["MaxSessionDuration"]) == ("changed", 7200)
    new_trust = trust_doc(server.arn(f"user/{user}"), actions=("sts:AssumeRole", "sts:TagSession"))
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=new_trust)
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == json.loads(new_trust)

    iam.tag_role(RoleName=name, Tags=[{"Key": "env", "Value": "dev"}, {"Key": "TEAM", "Value": "red"}])
    # Keys are case-insensitive: TEAM replaces team (one tag, the new value).
    tags = {k.lower(): v for k, v in tags_of(iam.list_role_tags(RoleName=name)["Tags"]).items()}
    assert len(iam.list_role_tags(RoleName=name)["Tags"]) == 2 and tags == {"team": "red", "env": "dev"}
    iam.untag_role(RoleName=name, TagKeys=["env"])
    assert [(t["Key"].lower(), t["Value"]) for t in iam.list_role_tags(RoleName=name)["Tags"]] == [("team", "red")]
    assert iam.list_instance_profiles_for_role(RoleName=name)["InstanceProfiles"] == []

    # A role with policies cannot be deleted.
    pol = iam.create_policy(PolicyName=unique("rolepol"), PolicyDocument=allow_doc("iam:ListUsers"))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=pol)
    expect_client_error(lambda: iam.delete_role(RoleName=name), "DeleteConflict",
                        "Cannot delete entity, must detach all policies first.", 409)
    iam.detach_role_policy(RoleName=name, PolicyArn=pol)
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=allow_doc("iam:ListUsers"))
    expect_client_error(lambda: iam.delete_role(RoleName=name), "DeleteConflict",
                        "Cannot delete entity, must delete policies first.", 409)
    iam.delete_role_policy(RoleName=name, PolicyName="inline")
    expect_client_error(lambda: iam.get_role_policy(RoleName=name, PolicyName="inline"), "NoSuchEntity",
                        "The role policy with name inline cannot be found.", 404)
    iam.delete_role(RoleName=name)
    expect_client_error(lambda: iam.get_role(RoleName=name), "NoSuchEntity", f"The role with name {name} cannot be found.", 404)
    expect_client_error(lambda: iam.delete_role(RoleName=name), "NoSuchEntity", f"The role with name {name} cannot be found.", 404)
    iam.delete_policy(PolicyArn=pol)


def test_role_lifecycle_cli(server, iam):
    user, name = unique("clitruster"), unique("clirole")
    iam.create_user(UserName=user)
    trust = trust_doc(server.arn(f"user/{user}"))
    role = server.aws("iam", "create-role", "--role-name", name, "--assume-role-policy-document", trust,
                      "--max-session-duration", "7200", "--tags", "Key=team,Value=blue")["Role"]
    assert role["Arn"] == server.arn(f"role/{name}") and role["AssumeRolePolicyDocument"] == json.loads(trust)
    listed = server.aws("iam", "list-roles", "--path-prefix", "/")["Roles"]
    assert [(r["RoleId"], r["MaxSessionDuration"]) for r in listed if r["RoleName"] == name] == [(role["RoleId"], 7200)]
    server.aws("iam", "update-role", "--role-name", name, "--description", "from the cli")
    new_trust = trust_doc(server.arn("root"))
    server.aws("iam", "update-assume-role-policy", "--role-name", name, "--policy-document", new_trust)
    got = server.aws("iam", "get-role", "--role-name", name)["Role"]
    assert got["Description"] == "from the cli" and got["AssumeRolePolicyDocument"] == json.loads(new_trust)
    server.aws("iam", "put-role-policy", "--role-name", name, "--policy-name", "p", "--policy-document", allow_doc("iam:ListUsers"))
    got = server.aws("iam", "get-role-policy", "--role-name", name, "--policy-name", "p")
    assert got["PolicyDocument"] == json.loads(allow_doc("iam:ListUsers")) and got["RoleName"] == name
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["p"]
    r = server.aws("iam", "delete-role", "--role-name", name, check=False)
    assert r.error_code == "DeleteConflict", r.stderr
    server.aws("iam", "delete-role-policy", "--role-name", name, "--policy-name", "p")
    server.aws("iam", "delete-role", "--role-name", name)
    r = server.aws("iam", "get-role", "--role-name", name, check=False)
    assert r.error_code == "NoSuchEntity" and r.error_message == f"The role with name {name} cannot be found.", r.stderr


@pytest.mark.parametrize("duration, tail", [
    (3599, "Member must have value greater than or equal to 3600"),
    (43201, "Member must have value less than or equal to 43200"),
], ids=["3599", "43201"])
def test_max_session_duration_bounds(server, duration, tail):
    iam = server.boto3_client("iam", validate=False)  # botocore itself refuses < 3600
    name = unique("msd")
    expect_client_error(lambda: iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_doc(server.arn("root")),
                                                MaxSessionDuration=duration),
                        "ValidationError",
                        f"1 validation error detected: Value '{duration}' at 'maxSessionDuration' failed to satisfy constraint: {tail}",
                        400)
    expect_client_error(lambda: iam.get_role(RoleName=name), "NoSuchEntity", status=404)


def _trust_cases(server):
    user_stmt = {"Effect": "Allow", "Principal": {"AWS": server.arn("root")}, "Action": "sts:AssumeRole"}
    ghost = server.arn(f"user/{unique('ghost')}")
    ghost_role = server.arn(f"role/{unique('ghostrole')}")
    return [
        ("bad-json", '{"Statement": [', "Syntax errors in policy."),
        ("resource", policy_json(dict(user_stmt, Resource="*")), "Has prohibited field Resource."),
        ("no-principal", policy_json({"Effect": "Allow", "Action": "sts:AssumeRole"}), "Missing required field Principal"),
        ("bad-action", policy_json(dict(user_stmt, Action="iam:ListUsers")),
         "Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity"),
        ("ghost-user", trust_doc(ghost), f'Invalid principal in policy: "AWS":"{ghost}"'),
        ("ghost-role", trust_doc(ghost_role), f'Invalid principal in policy: "AWS":"{ghost_role}"'),
    ]


def test_trust_policy_validation(server, iam):
    for case, document, message in _trust_cases(server):
        name = unique(f"bad-{case}")
        e = expect_client_error(lambda: iam.create_role(RoleName=name, AssumeRolePolicyDocument=document),
                                "MalformedPolicyDocument", status=400)
        assert e.response["Error"]["Message"] == message, (case, e.response["Error"])
        expect_client_error(lambda: iam.get_role(RoleName=name), "NoSuchEntity", status=404)
    # UpdateAssumeRolePolicy validates the same way.
    name = unique("goodtrust")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_doc(server.arn("root")))
    ghost = server.arn(f"user/{unique('ghost')}")
    expect_client_error(lambda: iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust_doc(ghost)),
                        "MalformedPolicyDocument", f'Invalid principal in policy: "AWS":"{ghost}"', 400)
    # The aws CLI reports the same.
    r = server.aws("iam", "create-role", "--role-name", unique("clighost"), "--assume-role-policy-document", trust_doc(ghost),
                   check=False)
    assert r.error_code == "MalformedPolicyDocument" and r.error_message == f'Invalid principal in policy: "AWS":"{ghost}"', r.stderr
    iam.delete_role(RoleName=name)


def test_trust_principal_shows_unique_id_after_the_user_is_deleted(server, iam):
    """IAM stores a named user as its unique id; once the user is gone, the trust policy shows
    the id (IAM User Guide, Principal element). The AssumeRole side is in test_assume_role."""
    user = unique("ephemeral")
    user_id = iam.create_user(UserName=user)["User"]["UserId"]
    name = unique("boundrole")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_doc(server.arn(f"user/{user}")))
    shown = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"]
    assert shown == server.arn(f"user/{user}")
    iam.delete_user(UserName=user)
    shown = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"]
    assert shown == user_id, f"trust principal after deleting the user: {shown!r}, expected the unique id {user_id}"
