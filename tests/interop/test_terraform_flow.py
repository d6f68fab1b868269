"""What Terraform's aws provider does, call by call, when it creates and destroys this module:

    resource "aws_iam_role" "app"                      { name, path, description, max_session_duration,
                                                         assume_role_policy, tags }
    resource "aws_iam_role_policy" "inline"            { role = app, policy }
    resource "aws_iam_policy" "managed"                { name, description, policy, tags }
    resource "aws_iam_role_policy_attachment" "att"    { role = app, policy_arn = managed }
    resource "aws_iam_role_policy_attachment" "ro"     { role = app, policy_arn = ReadOnlyAccess }
    resource "aws_iam_instance_profile" "app"          { name, role = app, tags }

reproduced with boto3: each create followed by the reads the provider makes to fill its state,
a refresh (`terraform plan`) that reads everything again, an in-place update of the tags and
the description, and the destroy in dependency order, each delete followed by the read that
confirms the resource is gone. Every answer is checked against what was written.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tessera_harness import allow_doc, client_error, policy_json, unique

pytestmark = pytest.mark.usefixtures("no_server_faults")

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def tags(t: list[dict]) -> dict:
    return {x["Key"]: x["Value"] for x in t}


def gone(call) -> bool:
    """The provider's `NotFound` check: a NoSuchEntity answer means the resource is gone."""
    try:
        call()
    except ClientError as e:
        assert client_error(e)[0] == "NoSuchEntity", client_error(e)
        return True
    return False


def test_terraform_role_with_instance_profile_and_policies(server, iam):
    role, profile, managed = unique("tf-app"), unique("tf-ip"), unique("tf-pol")
    trust = policy_json({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    inline_doc = allow_doc(["s3:GetObject", "s3:ListBucket"])
    managed_doc = allow_doc("sqs:SendMessage")

    # --- aws_iam_role.app: create, then read ------------------------------------------------
    created = iam.create_role(RoleName=role, Path="/tf/", Description="app role", MaxSessionDuration=7200,
                              AssumeRolePolicyDocument=trust, Tags=[{"Key": "env", "Value": "dev"}])["Role"]
    role_arn = server.arn(f"role/tf/{role}")
    assert created["Arn"] == role_arn
    got = iam.get_role(RoleName=role)["Role"]  # the provider retries this until the role is visible
    assert (got["Description"], got["MaxSessionDuration"], got["Path"]) == ("app role", 7200, "/tf/")
    assert got["AssumeRolePolicyDocument"] == json.loads(trust)
    assert tags(got["Tags"]) == {"env": "dev"}
    # `inline_policy` and `managed_policy_arns` are computed attributes: read at once.
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == []
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []

    # --- aws_iam_policy.managed ---------------------------------------------------------------
    pol = iam.create_policy(PolicyName=managed, Description="tf managed", PolicyDocument=managed_doc,
                            Tags=[{"Key": "owner", "Value": "tf"}])["Policy"]
    pol_arn = pol["Arn"]
    got = iam.get_policy(PolicyArn=pol_arn)["Policy"]
    assert (got["DefaultVersionId"], got["Description"]) == ("v1", "tf managed")
    assert tags(got["Tags"]) == {"owner": "tf"}
    version = iam.get_policy_version(PolicyArn=pol_arn, VersionId=got["DefaultVersionId"])["PolicyVersion"]
    assert version["Document"] == json.loads(managed_doc)
    assert tags(iam.list_policy_tags(PolicyArn=pol_arn)["Tags"]) == {"owner": "tf"}

    # --- aws_iam_role_policy.inline -----------------------------------------------------------
    iam.put_role_policy(RoleName=role, PolicyName="inline", PolicyDocument=inline_doc)
    got = iam.get_role_policy(RoleName=role, PolicyName="inline")
    assert (got["RoleName"], got["PolicyDocument"]) == (role, json.loads(inline_doc))

    # --- aws_iam_role_policy_attachment.att / .ro ----------------------------------------------
    for arn in (pol_arn, READ_ONLY):
        iam.attach_role_policy(RoleName=role, PolicyArn=arn)
        attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
        assert arn in [a["PolicyArn"] for a in attached]

    # --- aws_iam_instance_profile.app -----------------------------------------------------------
    ip = iam.create_instance_profile(InstanceProfileName=profile, Path="/tf/",
                                     Tags=[{"Key": "env", "Value": "dev"}])["InstanceProfile"]
    assert ip["Arn"] == server.arn(f"instance-profile/tf/{profile}")
    assert iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"] == []
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    got = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]
    assert [r["RoleName"] for r in got["Roles"]] == [role]
    assert tags(got["Tags"]) == {"env": "dev"}
    iam.get_role(RoleName=got["Roles"][0]["RoleName"])  # the provider checks the role still exists

    # --- terraform plan: refresh every resource -----------------------------------------------
    assert iam.get_role(RoleName=role)["Role"]["RoleId"] == created["RoleId"]
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["inline"]
    assert iam.get_role_policy(RoleName=role, PolicyName="inline")["PolicyDocument"] == json.loads(inline_doc)
    assert sorted(a["PolicyArn"] for a in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]) == \
        sorted([pol_arn, READ_ONLY])
    assert [p["InstanceProfileName"] for p in iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]] == [profile]
    assert iam.get_policy(PolicyArn=pol_arn)["Policy"]["AttachmentCount"] == 1
    assert iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["InstanceProfileId"] == ip["InstanceProfileId"]

    # --- an in-place update: tags and description -------------------------------------------------
    iam.tag_role(RoleName=role, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "blue"}])
    iam.untag_role(RoleName=role, TagKeys=["team"])
    iam.update_role_description(RoleName=role, Description="app role v2")
    iam.tag_instance_profile(InstanceProfileName=profile, Tags=[{"Key": "env", "Value": "prod"}])
    iam.tag_policy(PolicyArn=pol_arn, Tags=[{"Key": "owner", "Value": "platform"}])
    got = iam.get_role(RoleName=role)["Role"]
    assert (got["Description"], tags(got["Tags"])) == ("app role v2", {"env": "prod"})
    assert tags(iam.list_role_tags(RoleName=role)["Tags"]) == {"env": "prod"}
    assert tags(iam.list_instance_profile_tags(InstanceProfileName=profile)["Tags"]) == {"env": "prod"}
    assert tags(iam.get_policy(PolicyArn=pol_arn)["Policy"]["Tags"]) == {"owner": "platform"}

    # A new document for the managed policy: a new default version, as the provider makes it.
    managed_doc_v2 = allow_doc(["sqs:SendMessage", "sqs:ReceiveMessage"])
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=pol_arn)["Versions"]] == ["v1"]
    iam.create_policy_version(PolicyArn=pol_arn, PolicyDocument=managed_doc_v2, SetAsDefault=True)
    got = iam.get_policy(PolicyArn=pol_arn)["Policy"]
    assert got["DefaultVersionId"] == "v2"
    assert iam.get_policy_version(PolicyArn=pol_arn, VersionId="v2")["PolicyVersion"]["Document"] == json.loads(managed_doc_v2)

    # --- terraform destroy, in dependency order ---------------------------------------------------
    # aws_iam_instance_profile.app
    for r in iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"]:
        iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=r["RoleName"])
    iam.delete_instance_profile(InstanceProfileName=profile)
    assert gone(lambda: iam.get_instance_profile(InstanceProfileName=profile))

    # aws_iam_role_policy_attachment.att / .ro
    for arn in (pol_arn, READ_ONLY):
        iam.detach_role_policy(RoleName=role, PolicyArn=arn)
        assert arn not in [a["PolicyArn"] for a in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]]

    # aws_iam_role_policy.inline
    iam.delete_role_policy(RoleName=role, PolicyName="inline")
    assert gone(lambda: iam.get_role_policy(RoleName=role, PolicyName="inline"))

    # aws_iam_policy.managed: who still uses it, the non-default versions, then the policy.
    ents = iam.list_entities_for_policy(PolicyArn=pol_arn)
    assert (ents["PolicyUsers"], ents["PolicyGroups"], ents["PolicyRoles"]) == ([], [], [])
    for v in iam.list_policy_versions(PolicyArn=pol_arn)["Versions"]:
        if not v["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=pol_arn, VersionId=v["VersionId"])
    iam.delete_policy(PolicyArn=pol_arn)
    assert gone(lambda: iam.get_policy(PolicyArn=pol_arn))

    # aws_iam_role.app: the provider first takes the role out of any instance profile and, with
    # force_detach_policies, detaches and deletes its policies; here none are left.
    assert iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"] == []
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == []
    iam.delete_role(RoleName=role)
    assert gone(lambda: iam.get_role(RoleName=role))


def test_terraform_destroy_of_a_role_still_in_use(server, iam):
    """`terraform destroy -target=aws_iam_role.app` with force_detach_policies: the provider
    meets DeleteConflict unless it empties the role first, which it does."""
    role, profile = unique("tf-busy"), unique("tf-busy-ip")
    trust = policy_json({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=allow_doc("s3:*"))
    iam.attach_role_policy(RoleName=role, PolicyArn=READ_ONLY)
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    try:
        iam.delete_role(RoleName=role)
        raise AssertionError("DeleteRole of a role with policies succeeded")
    except ClientError as e:
        assert client_error(e)[:1] == ("DeleteConflict",)

    # deleteRoleInstanceProfiles
    for p in iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]:
        iam.remove_role_from_instance_profile(InstanceProfileName=p["InstanceProfileName"], RoleName=role)
    # deleteRolePolicyAttachments
    for a in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=role, PolicyArn=a["PolicyArn"])
    # deleteRoleInlinePolicies
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        iam.delete_role_policy(RoleName=role, PolicyName=name)
    iam.delete_role(RoleName=role)
    assert gone(lambda: iam.get_role(RoleName=role))
    iam.delete_instance_profile(InstanceProfileName=profile)
