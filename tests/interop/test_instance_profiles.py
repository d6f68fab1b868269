"""IAM instance profiles through unmodified boto3 and the aws CLI: lifecycle, one role per
profile, tags, paging, the conflicts that keep a profile and its role alive, and iam:PassRole."""

from __future__ import annotations

import pytest

from tessera_harness import allow_doc, expect_client_error, not_authorized, policy_json, unique

pytestmark = pytest.mark.usefixtures("no_server_faults")

EC2_TRUST = policy_json({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
IN_PROFILE = "Cannot delete entity, must remove roles from instance profile first."


def test_instance_profile_lifecycle_boto3(server, iam):
    name, role = unique("prof"), unique("profrole")
    created = iam.create_instance_profile(InstanceProfileName=name, Path="/fleet/",
                                          Tags=[{"Key": "env", "Value": "dev"}])["InstanceProfile"]
    assert created["Arn"] == server.arn(f"instance-profile/fleet/{name}")
    assert created["InstanceProfileId"].startswith("AIPA") and len(created["InstanceProfileId"]) == 21
    assert created["Roles"] == [] and created["Tags"] == [{"Key": "env", "Value": "dev"}]
    expect_client_error(lambda: iam.create_instance_profile(InstanceProfileName=name.upper()),
                        "EntityAlreadyExists", f"Instance Profile {name.upper()} already exists.", 409)

    iam.create_role(RoleName=role, AssumeRolePolicyDocument=EC2_TRUST)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    expect_client_error(lambda: iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role),
                        "LimitExceeded", "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1", 409)

    got = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert got["InstanceProfileId"] == created["InstanceProfileId"]
    [member] = got["Roles"]
    assert member["RoleName"] == role and member["Arn"] == server.arn(f"role/{role}")
    # URL-encoded on the wire like every policy document; botocore decodes it.
    assert member["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert [p["InstanceProfileName"] for p in iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]] == [name]
    listed = iam.list_instance_profiles(PathPrefix="/fleet/")["InstanceProfiles"]
    assert name in [p["InstanceProfileName"] for p in listed]
    assert all("Tags" not in p for p in listed)

    expect_client_error(lambda: iam.delete_role(RoleName=role), "DeleteConflict", IN_PROFILE, 409)
    expect_client_error(lambda: iam.delete_instance_profile(InstanceProfileName=name), "DeleteConflict", IN_PROFILE, 409)

    iam.tag_instance_profile(InstanceProfileName=name, Tags=[{"Key": "ENV", "Value": "prod"}, {"Key": "team", "Value": "ops"}])
    iam.untag_instance_profile(InstanceProfileName=name, TagKeys=["TEAM"])
    assert iam.list_instance_profile_tags(InstanceProfileName=name)["Tags"] == [{"Key": "ENV", "Value": "prod"}]

    iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role)
    expect_client_error(lambda: iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role),
                        "NoSuchEntity", status=404)
    iam.delete_instance_profile(InstanceProfileName=name)
    iam.delete_role(RoleName=role)
    expect_client_error(lambda: iam.get_instance_profile(InstanceProfileName=name),
                        "NoSuchEntity", f"Instance Profile {name} cannot be found.", 404)


def test_instance_profile_validation_and_paging_boto3(server):
    raw = server.boto3_client("iam", validate=False)
    expect_client_error(lambda: raw.create_instance_profile(InstanceProfileName="no spaces"), "ValidationError",
                        prefix="1 validation error detected: Value 'no spaces' at 'instanceProfileName'")
    expect_client_error(lambda: raw.create_instance_profile(InstanceProfileName="p", Path="nope"), "ValidationError",
                        prefix="1 validation error detected: Value 'nope' at 'path'")
    expect_client_error(lambda: raw.add_role_to_instance_profile(InstanceProfileName="x"), "MissingParameter",
                        "The request must contain the parameter RoleName.")
    iam = server.boto3_client("iam")
    prefix = f"/{unique('page')}/"
    names = sorted(unique("pp") for _ in range(3))
    for n in names:
        iam.create_instance_profile(InstanceProfileName=n, Path=prefix)
    pages = list(iam.get_paginator("list_instance_profiles").paginate(PathPrefix=prefix, PaginationConfig={"PageSize": 1}))
    assert [p["InstanceProfiles"][0]["InstanceProfileName"] for p in pages] == names
    assert [p["IsTruncated"] for p in pages] == [True, True, False]
    for n in names:
        iam.delete_instance_profile(InstanceProfileName=n)


def test_instance_profile_with_the_aws_cli(server):
    name, role = unique("cliprof"), unique("clirole")
    out = server.aws("iam", "create-instance-profile", "--instance-profile-name", name)
    assert out["InstanceProfile"]["InstanceProfileName"] == name
    server.aws("iam", "create-role", "--role-name", role, "--assume-role-policy-document", EC2_TRUST)
    server.aws("iam", "add-role-to-instance-profile", "--instance-profile-name", name, "--role-name", role)
    got = server.aws("iam", "get-instance-profile", "--instance-profile-name", name)
    assert [r["RoleName"] for r in got["InstanceProfile"]["Roles"]] == [role]
    r = server.aws("iam", "delete-instance-profile", "--instance-profile-name", name, check=False)
    assert r.error_code == "DeleteConflict" and r.error_message == IN_PROFILE, r.stderr
    server.aws("iam", "remove-role-from-instance-profile", "--instance-profile-name", name, "--role-name", role)
    server.aws("iam", "delete-instance-profile", "--instance-profile-name", name)
    r = server.aws("iam", "get-instance-profile", "--instance-profile-name", name, check=False)
    assert r.error_code == "NoSuchEntity" and r.error_message == f"Instance Profile {name} cannot be found.", r.stderr
    server.aws("iam", "delete-role", "--role-name", role)


def test_adding_a_role_needs_pass_role(server, iam):
    name, role = unique("passprof"), unique("passrole")
    iam.create_instance_profile(InstanceProfileName=name)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=EC2_TRUST)
    user, creds = server.create_user_with_key("passer")
    as_user = server.boto3_client("iam", creds)
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=allow_doc(["iam:AddRoleToInstanceProfile"]))
    expect_client_error(lambda: as_user.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role),
                        "AccessDenied", not_authorized(server.arn(f"user/{user}"), "iam:PassRole", server.arn(f"role/{role}")), 403)
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=allow_doc(
        ["iam:AddRoleToInstanceProfile", "iam:PassRole"],
        Condition={"StringEqualsIfExists": {"iam:PassedToService": "ec2.amazonaws.com"}}))
    as_user.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role)
    iam.delete_instance_profile(InstanceProfileName=name)
    iam.delete_role(RoleName=role)
