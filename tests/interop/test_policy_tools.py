"""Managed-policy tooling through unmodified boto3 and the aws CLI: the AWS managed policies,
policy tags, ListEntitiesForPolicy, GetContextKeysFor*Policy and
ListPoliciesGrantingServiceAccess, with their errors."""

from __future__ import annotations

import json

import pytest

from tessera_harness import allow_doc, expect_client_error, policy_json, unique

pytestmark = pytest.mark.usefixtures("no_server_faults")

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
IAM_READ = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
EC2_TRUST = policy_json({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})


def test_aws_managed_policies_boto3(server, iam):
    got = iam.get_policy(PolicyArn=ADMIN)["Policy"]
    assert (got["PolicyId"], got["DefaultVersionId"], got["IsAttachable"]) == ("ANPAIWMBCKSKIEE64ZLYK", "v1", True)
    doc = iam.get_policy_version(PolicyArn=ADMIN, VersionId="v1")["PolicyVersion"]["Document"]
    assert doc == {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    aws = [p["PolicyName"] for page in iam.get_paginator("list_policies").paginate(Scope="AWS") for p in page["Policies"]]
    assert aws == ["AdministratorAccess", "IAMFullAccess", "IAMReadOnlyAccess", "IAMUserChangePassword",
                   "PowerUserAccess", "ReadOnlyAccess"]
    local = [p["Arn"] for p in iam.list_policies(Scope="Local", MaxItems=1000)["Policies"]]
    assert not any(a.startswith("arn:aws:iam::aws:") for a in local)
    expect_client_error(lambda: iam.delete_policy(PolicyArn=ADMIN), "UnmodifiableEntity",
                        f"Cannot delete AWS managed policy {ADMIN}.", 400)
    expect_client_error(lambda: iam.create_policy_version(PolicyArn=ADMIN, PolicyDocument=allow_doc("s3:*")),
                        "UnmodifiableEntity", f"Cannot modify AWS managed policy {ADMIN}.", 400)
    expect_client_error(lambda: iam.tag_policy(PolicyArn=ADMIN, Tags=[{"Key": "a", "Value": "b"}]),
                        "UnmodifiableEntity", f"Cannot modify AWS managed policy {ADMIN}.", 400)

    # Attached, it decides what the user may do, like any other policy.
    user, creds = server.create_user_with_key("ro")
    as_user = server.boto3_client("iam", creds)
    expect_client_error(lambda: as_user.list_roles(), "AccessDenied", status=403)
    iam.attach_user_policy(UserName=user, PolicyArn=IAM_READ)
    as_user.list_roles()
    expect_client_error(lambda: as_user.create_user(UserName=unique("no")), "AccessDenied", status=403)
    users = iam.list_entities_for_policy(PolicyArn=IAM_READ, EntityFilter="User")["PolicyUsers"]
    assert user in [u["UserName"] for u in users]
    iam.detach_user_policy(UserName=user, PolicyArn=IAM_READ)


def test_policy_tags_and_entities_boto3(server, iam):
    name = unique("tagged")
    arn = iam.create_policy(PolicyName=name, PolicyDocument=allow_doc("iam:GetUser"),
                            Tags=[{"Key": "team", "Value": "blue"}])["Policy"]["Arn"]
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "TEAM", "Value": "red"}, {"Key": "env", "Value": "dev"}])
    iam.untag_policy(PolicyArn=arn, TagKeys=["ENV"])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "TEAM", "Value": "red"}]
    ghost = server.arn(f"policy/{unique('ghost')}")
    expect_client_error(lambda: iam.list_policy_tags(PolicyArn=ghost), "NoSuchEntity", f"Policy {ghost} was not found.", 404)
    expect_client_error(lambda: iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "aws:x", "Value": "y"}]), "InvalidInput", status=400)

    path = f"/{unique('ents')}/"
    user, group, role = unique("eu"), unique("eg"), unique("er")
    iam.create_user(UserName=user, Path=path)
    iam.create_group(GroupName=group, Path=path)
    iam.create_role(RoleName=role, Path=path, AssumeRolePolicyDocument=EC2_TRUST)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=arn)
    got = iam.list_entities_for_policy(PolicyArn=arn, PathPrefix=path)
    assert [u["UserName"] for u in got["PolicyUsers"]] == [user]
    assert [g["GroupName"] for g in got["PolicyGroups"]] == [group]
    assert [r["RoleName"] for r in got["PolicyRoles"]] == [role]
    assert got["PolicyRoles"][0]["RoleId"].startswith("AROA")
    attached = iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsPolicy")
    assert attached["PolicyRoles"] == []
    pages = list(iam.get_paginator("list_entities_for_policy").paginate(PolicyArn=arn, PaginationConfig={"PageSize": 1}))
    assert len(pages) == 3 and [p["IsTruncated"] for p in pages] == [True, True, False]
    raw = server.boto3_client("iam", validate=False)
    expect_client_error(lambda: raw.list_entities_for_policy(PolicyArn=arn, EntityFilter="Users"), "ValidationError",
                        prefix="1 validation error detected: Value 'Users' at 'entityFilter' failed to satisfy constraint: "
                               "Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]")


def test_context_keys_and_service_access_boto3(server, iam):
    doc = json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "dynamodb:*",
                      "Resource": "arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}",
                      "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2015-08-16T12:00:00Z"}}}})
    assert iam.get_context_keys_for_custom_policy(PolicyInputList=[doc])["ContextKeyNames"] == ["aws:username", "aws:CurrentTime"]
    expect_client_error(lambda: iam.get_context_keys_for_custom_policy(PolicyInputList=["{"]), "InvalidInput",
                        "Syntax errors in policy.", 400)

    role = unique("ckrole")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=EC2_TRUST)
    iam.put_role_policy(RoleName=role, PolicyName="tagged", PolicyDocument=allow_doc(
        "iam:*", Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}}))
    keys = iam.get_context_keys_for_principal_policy(PolicySourceArn=server.arn(f"role/{role}"))["ContextKeyNames"]
    assert keys == ["aws:PrincipalTag/team"]

    grants = iam.list_policies_granting_service_access(Arn=server.arn(f"role/{role}"), ServiceNamespaces=["iam", "sts"])
    by_ns = {g["ServiceNamespace"]: g["Policies"] for g in grants["PoliciesGrantingServiceAccess"]}
    assert by_ns == {"iam": [{"PolicyName": "tagged", "PolicyType": "INLINE", "EntityType": "ROLE", "EntityName": role}],
                     "sts": []}
    assert grants["IsTruncated"] is False
    expect_client_error(lambda: iam.list_policies_granting_service_access(Arn=server.arn(f"role/{unique('none')}"),
                                                                          ServiceNamespaces=["iam"]),
                        "NoSuchEntity", status=404)


def test_policy_tools_with_the_aws_cli(server):
    out = server.aws("iam", "list-policies", "--scope", "AWS", "--query", "Policies[].PolicyName")
    assert "AdministratorAccess" in out
    name = unique("clitag")
    arn = server.aws("iam", "create-policy", "--policy-name", name, "--policy-document", allow_doc("iam:GetUser"))["Policy"]["Arn"]
    server.aws("iam", "tag-policy", "--policy-arn", arn, "--tags", "Key=k,Value=v")
    assert server.aws("iam", "list-policy-tags", "--policy-arn", arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    ents = server.aws("iam", "list-entities-for-policy", "--policy-arn", arn)
    assert ents["PolicyUsers"] == [] and ents["PolicyRoles"] == [] and ents["PolicyGroups"] == []
    keys = server.aws("iam", "get-context-keys-for-custom-policy", "--policy-input-list",
                      allow_doc("s3:*", Condition={"Bool": {"aws:SecureTransport": "true"}}))
    assert keys["ContextKeyNames"] == ["aws:SecureTransport"]
    r = server.aws("iam", "delete-policy", "--policy-arn", ADMIN, check=False)
    assert r.error_code == "UnmodifiableEntity", r.stderr
    server.aws("iam", "delete-policy", "--policy-arn", arn)
