"""The account as a whole through unmodified boto3 and the aws CLI: its alias, GetAccountSummary
and GetAccountAuthorizationDetails (the call security scanners make), with their errors."""

from __future__ import annotations

import pytest

from tessera_harness import allow_doc, expect_client_error, policy_json, unique

pytestmark = pytest.mark.usefixtures("no_server_faults")

ALIAS_PATTERN = r"^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$"
EC2_TRUST = policy_json({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})


def test_account_alias_boto3(server, iam):
    first, second = unique("acct").lower(), unique("acct").lower()
    iam.create_account_alias(AccountAlias=first)
    assert iam.list_account_aliases()["AccountAliases"] == [first]
    iam.create_account_alias(AccountAlias=second)  # replaces the first
    assert iam.list_account_aliases()["AccountAliases"] == [second]
    expect_client_error(lambda: iam.create_account_alias(AccountAlias=second), "EntityAlreadyExists",
                        f"The account alias {second} already exists.", 409)
    expect_client_error(lambda: iam.delete_account_alias(AccountAlias=first), "NoSuchEntity",
                        f"The account alias {first} cannot be found.", 404)
    raw = server.boto3_client("iam", validate=False)
    expect_client_error(lambda: raw.create_account_alias(AccountAlias="Bad--Alias"), "ValidationError",
                        "1 validation error detected: Value 'Bad--Alias' at 'accountAlias' failed to satisfy "
                        f"constraint: Member must satisfy regular expression pattern: {ALIAS_PATTERN}", 400)
    iam.delete_account_alias(AccountAlias=second)
    assert iam.list_account_aliases()["AccountAliases"] == []


def test_alias_is_unique_across_accounts(new_server):
    s = new_server("aliases")
    s.tessera("account", "create", "--id", "111122223333", "--alias", "held-elsewhere", "--data-dir", str(s.data_dir))
    iam = s.boto3_client("iam")
    expect_client_error(lambda: iam.create_account_alias(AccountAlias="held-elsewhere"), "EntityAlreadyExists",
                        "The account alias held-elsewhere already exists.", 409)


def test_account_summary_boto3(server, iam):
    before = iam.get_account_summary()["SummaryMap"]
    assert before["UsersQuota"] == 5000 and before["RolesQuota"] == 1000 and before["AccountAccessKeysPresent"] == 1
    assert "AccountPasswordPresent" not in before
    name = unique("sumuser")
    iam.create_user(UserName=name)
    after = iam.get_account_summary()["SummaryMap"]
    assert after["Users"] == before["Users"] + 1
    iam.delete_user(UserName=name)
    out = server.aws("iam", "get-account-summary")
    assert out["SummaryMap"]["InstanceProfilesQuota"] == 1000


def test_authorization_details_boto3(server, iam):
    path = f"/{unique('gaad')}/"
    user, role, profile = unique("gu"), unique("gr"), unique("gp")
    iam.create_user(UserName=user, Path=path)
    iam.put_user_policy(UserName=user, PolicyName="inline", PolicyDocument=allow_doc("s3:GetObject"))
    iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.create_role(RoleName=role, Path=path, AssumeRolePolicyDocument=EC2_TRUST)
    iam.create_instance_profile(InstanceProfileName=profile, Path=path)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)

    pages = list(iam.get_paginator("get_account_authorization_details").paginate(PaginationConfig={"PageSize": 3}))
    users = [u for p in pages for u in p["UserDetailList"]]
    roles = [r for p in pages for r in p["RoleDetailList"]]
    policies = [m for p in pages for m in p["Policies"]]
    [u] = [u for u in users if u["UserName"] == user]
    assert u["UserPolicyList"] == [{"PolicyName": "inline", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}]
    assert u["AttachedManagedPolicies"] == [{"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]
    [r] = [r for r in roles if r["RoleName"] == role]
    assert r["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert [p["InstanceProfileName"] for p in r["InstanceProfileList"]] == [profile]
    [ro] = [m for m in policies if m["PolicyName"] == "ReadOnlyAccess"]
    assert ro["AttachmentCount"] >= 1 and ro["PolicyVersionList"][0]["IsDefaultVersion"] is True
    assert isinstance(ro["PolicyVersionList"][0]["Document"], dict)

    only_roles = iam.get_account_authorization_details(Filter=["Role"])
    assert only_roles["UserDetailList"] == [] and only_roles["Policies"] == []
    raw = server.boto3_client("iam", validate=False)
    expect_client_error(lambda: raw.get_account_authorization_details(Filter=["Users"]), "ValidationError",
                        prefix="1 validation error detected: Value 'Users' at 'filter.1.member'")

    out = server.aws("iam", "get-account-authorization-details", "--filter", "User", "--max-items", "1000")
    assert user in [u["UserName"] for u in out["UserDetailList"]]

    iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=role)
    iam.delete_instance_profile(InstanceProfileName=profile)
    iam.delete_role(RoleName=role)
    iam.detach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.delete_user_policy(UserName=user, PolicyName="inline")
    iam.delete_user(UserName=user)
