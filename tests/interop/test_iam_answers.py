"""IAM answers in exactly AWS's shape, through boto3 and the aws CLI: what List* calls leave out,
what GetPolicy always carries, and markers that tessera did not issue.

Sources: the IAM API reference's notes on ListUsers / ListRoles / ListPolicies ("IAM
resource-listing operations return a subset of the available attributes for the resource. This
operation does not return the following attributes, even though they are an attribute of the
returned object: PermissionsBoundary, Tags" (users), "PermissionsBoundary, RoleLastUsed, Tags"
(roles), "PolicyDescription, Tags" (policies)), and https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetPolicy.html.
"""

from __future__ import annotations

from tessera_harness import allow_doc, expect_client_error, trust_doc, unique


def test_list_calls_leave_out_boundaries_descriptions_and_tags(server, iam):
    boundary = iam.create_policy(PolicyName=unique("b"), PolicyDocument=allow_doc(["iam:Get*"]),
                                 Description="the boundary", Tags=[{"Key": "k", "Value": "v"}])["Policy"]
    # CreatePolicy answers without Description and Tags, as AWS does; GetPolicy with both.
    assert "Description" not in boundary and "Tags" not in boundary
    got = iam.get_policy(PolicyArn=boundary["Arn"])["Policy"]
    assert got["Description"] == "the boundary" and got["Tags"] == [{"Key": "k", "Value": "v"}]
    listed = [p for p in iam.list_policies(Scope="Local")["Policies"] if p["Arn"] == boundary["Arn"]]
    assert listed and "Description" not in listed[0] and "Tags" not in listed[0]

    user = unique("u")
    iam.create_user(UserName=user, PermissionsBoundary=boundary["Arn"], Tags=[{"Key": "a", "Value": "b"}])
    assert iam.get_user(UserName=user)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary["Arn"]
    [u] = [u for u in iam.list_users()["Users"] if u["UserName"] == user]
    assert "PermissionsBoundary" not in u and "Tags" not in u

    role = unique("r")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_doc(server.arn("root")),
                    PermissionsBoundary=boundary["Arn"])
    assert iam.get_role(RoleName=role)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary["Arn"]
    [r] = [r for r in iam.list_roles()["Roles"] if r["RoleName"] == role]
    assert "PermissionsBoundary" not in r and "Tags" not in r and "RoleLastUsed" not in r
    cli = [r for r in server.aws("iam", "list-roles")["Roles"] if r["RoleName"] == role]
    assert cli and "PermissionsBoundary" not in cli[0]


def test_get_policy_without_tags_has_an_empty_tags_list(server, iam):
    p = iam.create_policy(PolicyName=unique("p"), PolicyDocument=allow_doc(["iam:Get*"]))["Policy"]
    raw = server.aws("iam", "get-policy", "--policy-arn", p["Arn"])
    assert raw["Policy"]["Tags"] == []


def test_markers_tessera_did_not_issue_are_refused(server, iam):
    for _ in range(3):
        iam.create_user(UserName=unique("page"))
    first = iam.list_users(MaxItems=1)
    assert first["IsTruncated"] and first["Marker"]
    second = iam.list_users(MaxItems=1, Marker=first["Marker"])
    assert second["Users"][0]["UserName"] != first["Users"][0]["UserName"]
    for bad in ["bogus", first["Marker"][:-2], first["Marker"] + "x", "AAAA"]:
        expect_client_error(lambda: iam.list_users(Marker=bad), "ValidationError", "Invalid Marker.", 400)
    # The aws CLI follows the markers it is given, page by page, to the end.
    everyone = {u["UserName"] for u in iam.list_users(MaxItems=1000)["Users"]}
    paged = {u["UserName"] for u in server.aws("iam", "list-users", "--page-size", "1")["Users"]}
    assert paged == everyone
