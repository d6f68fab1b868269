"""Console identity through unmodified boto3 and the aws CLI: login profiles, the account
password policy, ChangePassword, and renaming users and groups (UpdateUser, UpdateGroup).

Expected texts are AWS's as recorded against IAM where there is a record (login profile and
password policy errors), else AWS's documented codes."""

from __future__ import annotations

import datetime as dt
import urllib.parse

from tessera_harness import (
    Creds,
    allow_doc,
    expect_client_error,
    not_authorized,
    trust_doc,
    unique,
)

VIOLATION = "Password does not conform to the account password policy."


def test_login_profile_lifecycle_boto3(server, iam):
    name = unique("console")
    iam.create_user(UserName=name)
    expect_client_error(lambda: iam.get_login_profile(UserName=name), "NoSuchEntity",
                        f"Login Profile for User {name} cannot be found.", 404)
    # No account policy here: IAM's default one (8 characters, three character types).
    for weak in ("Abc1!", "alllowercase", "lowercase123"):
        expect_client_error(lambda: iam.create_login_profile(UserName=name, Password=weak),
                            "PasswordPolicyViolation", VIOLATION, 400)
    created = iam.create_login_profile(UserName=name, Password="Correct-Horse-1", PasswordResetRequired=True)
    p = created["LoginProfile"]
    assert p["UserName"] == name and p["PasswordResetRequired"] is True
    assert abs((dt.datetime.now(dt.timezone.utc) - p["CreateDate"]).total_seconds()) < 120
    assert "Correct-Horse-1" not in str(created)
    expect_client_error(lambda: iam.create_login_profile(UserName=name, Password="Another-Pass-2"),
                        "EntityAlreadyExists", f"Login Profile for user {name} already exists.", 409)
    got = iam.get_login_profile(UserName=name)["LoginProfile"]
    assert got["CreateDate"] == p["CreateDate"] and got["PasswordResetRequired"] is True
    iam.update_login_profile(UserName=name, Password="New-Horse-22", PasswordResetRequired=False)
    assert iam.get_login_profile(UserName=name)["LoginProfile"]["PasswordResetRequired"] is False
    expect_client_error(lambda: iam.update_login_profile(UserName=name, Password="short"),
                        "PasswordPolicyViolation", VIOLATION)
    expect_client_error(lambda: iam.delete_user(UserName=name), "DeleteConflict",
                        "Cannot delete entity, must delete login profile first.", 409)
    iam.delete_login_profile(UserName=name)
    expect_client_error(lambda: iam.delete_login_profile(UserName=name), "NoSuchEntity",
                        f"Login Profile for User {name} cannot be found.", 404)
    iam.delete_user(UserName=name)
    expect_client_error(lambda: iam.create_login_profile(UserName=name, Password="Correct-Horse-1"),
                        "NoSuchEntity", f"The user with name {name} cannot be found.", 404)


def test_password_input_is_validated_without_echo(server, iam):
    name = unique("echo")
    iam.create_user(UserName=name)
    secret = "Zq9!" * 33  # 132 characters: over the 128 limit
    e = expect_client_error(lambda: iam.create_login_profile(UserName=name, Password=secret), "ValidationError")
    assert "Zq9!" not in str(e.response)
    assert "Member must have length less than or equal to 128" in e.response["Error"]["Message"]
    # Outside U+0000..U+00FF (the API's password pattern).
    e = expect_client_error(lambda: iam.create_login_profile(UserName=name, Password="Zqx-€-Pass1"), "ValidationError")
    assert "Zqx" not in str(e.response)
    # Tab, CR, LF and Latin-1 characters are password characters.
    iam.create_login_profile(UserName=name, Password="\tÄbc-Def-1ÿ")
    iam.delete_login_profile(UserName=name)
    iam.delete_user(UserName=name)


def test_login_profile_cli(server):
    name = unique("clipw")
    server.aws("iam", "create-user", "--user-name", name)
    r = server.aws("iam", "get-login-profile", "--user-name", name, check=False)
    assert (r.error_code, r.error_message) == ("NoSuchEntity", f"Login Profile for User {name} cannot be found.")
    created = server.aws("iam", "create-login-profile", "--user-name", name, "--password", "Correct-Horse-1",
                         "--password-reset-required")["LoginProfile"]
    assert created["UserName"] == name and created["PasswordResetRequired"] is True
    r = server.aws("iam", "create-login-profile", "--user-name", name, "--password", "weak", check=False)
    assert r.error_code == "EntityAlreadyExists"
    server.aws("iam", "update-login-profile", "--user-name", name, "--no-password-reset-required")
    got = server.aws("iam", "get-login-profile", "--user-name", name)["LoginProfile"]
    assert got["PasswordResetRequired"] is False
    r = server.aws("iam", "update-login-profile", "--user-name", name, "--password", "weak", check=False)
    assert (r.error_code, r.error_message) == ("PasswordPolicyViolation", VIOLATION)
    server.aws("iam", "delete-login-profile", "--user-name", name)
    server.aws("iam", "delete-user", "--user-name", name)


def test_login_profile_refused_by_policy_and_for_self(server, iam):
    name, creds = server.create_user_with_key("self")
    own = server.boto3_client("iam", creds)
    arn = server.arn(f"user/{name}")
    expect_client_error(lambda: own.create_login_profile(Password="Correct-Horse-1"), "AccessDenied",
                        not_authorized(arn, "iam:CreateLoginProfile", arn), 403)
    iam.put_user_policy(UserName=name, PolicyName="own", PolicyDocument=allow_doc(
        ["iam:CreateLoginProfile", "iam:GetLoginProfile", "iam:DeleteLoginProfile"],
        server.arn("user/${aws:username}")))
    # Without UserName: the calling user.
    assert own.create_login_profile(Password="Correct-Horse-1")["LoginProfile"]["UserName"] == name
    assert own.get_login_profile()["LoginProfile"]["UserName"] == name
    other = unique("other")
    iam.create_user(UserName=other)
    expect_client_error(lambda: own.get_login_profile(UserName=other), "AccessDenied")
    own.delete_login_profile()
    # The root must name a user (it has no login profile here).
    expect_client_error(lambda: iam.get_login_profile(), "ValidationError",
                        "Must specify userName when calling with non-User credentials", 400)


def test_account_password_policy_boto3_and_cli(new_server):
    s = new_server()
    iam = s.boto3_client("iam")
    expect_client_error(lambda: iam.get_account_password_policy(), "NoSuchEntity",
                        f"The Password Policy with domain name {s.account_id} cannot be found.", 404)
    expect_client_error(lambda: iam.delete_account_password_policy(), "NoSuchEntity",
                        "The account policy with name PasswordPolicy cannot be found.", 404)
    iam.update_account_password_policy()
    assert iam.get_account_password_policy()["PasswordPolicy"] == {
        "MinimumPasswordLength": 6, "RequireSymbols": False, "RequireNumbers": False,
        "RequireUppercaseCharacters": False, "RequireLowercaseCharacters": False,
        "AllowUsersToChangePassword": False, "ExpirePasswords": False,
    }
    expect_client_error(
        lambda: iam.update_account_password_policy(MaxPasswordAge=1096, MinimumPasswordLength=129,
                                                   PasswordReusePrevention=25),
        "ValidationError",
        "3 validation errors detected: Value at 'minimumPasswordLength' failed to satisfy constraint: "
        "Member must have value less than or equal to 128; Value at 'passwordReusePrevention' failed to "
        "satisfy constraint: Member must have value less than or equal to 24; Value at 'maxPasswordAge' "
        "failed to satisfy constraint: Member must have value less than or equal to 1095", 400)
    s.aws("iam", "update-account-password-policy", "--minimum-password-length", "10", "--require-symbols",
          "--require-numbers", "--require-uppercase-characters", "--require-lowercase-characters",
          "--allow-users-to-change-password", "--max-password-age", "60", "--password-reuse-prevention", "3",
          "--hard-expiry")
    got = s.aws("iam", "get-account-password-policy")["PasswordPolicy"]
    assert got == {
        "MinimumPasswordLength": 10, "RequireSymbols": True, "RequireNumbers": True,
        "RequireUppercaseCharacters": True, "RequireLowercaseCharacters": True,
        "AllowUsersToChangePassword": True, "ExpirePasswords": True, "MaxPasswordAge": 60,
        "PasswordReusePrevention": 3, "HardExpiry": True,
    }
    # The policy is what new passwords must meet.
    iam.create_user(UserName="pat")
    for weak in ("Aa1!Aa1!", "Aaaaaaaaa1", "aaaaaaaa1!", "AAAAAAAA1!", "Aaaaaaaaa!"):
        expect_client_error(lambda: iam.create_login_profile(UserName="pat", Password=weak),
                            "PasswordPolicyViolation", VIOLATION)
    iam.create_login_profile(UserName="pat", Password="Aaaaaaaa1!")
    expect_client_error(lambda: iam.update_login_profile(UserName="pat", Password="Aaaaaaaa1!"),
                        "PasswordPolicyViolation", VIOLATION)
    s.aws("iam", "delete-account-password-policy")
    r = s.aws("iam", "get-account-password-policy", check=False)
    assert r.error_code == "NoSuchEntity"
    # Other principals need the actions on `*`.
    name, creds = s.create_user_with_key("reader")
    expect_client_error(lambda: s.boto3_client("iam", creds).get_account_password_policy(), "AccessDenied",
                        not_authorized(s.arn(f"user/{name}"), "iam:GetAccountPasswordPolicy", "*"), 403)


def test_change_password(new_server):
    s = new_server()
    iam = s.boto3_client("iam")
    name, creds = s.create_user_with_key("changer")
    me = s.boto3_client("iam", creds)
    arn = s.arn(f"user/{name}")
    expect_client_error(lambda: me.change_password(OldPassword="x", NewPassword="Correct-Horse-1"),
                        "AccessDenied", not_authorized(arn, "iam:ChangePassword", arn), 403)
    iam.update_account_password_policy(AllowUsersToChangePassword=True, PasswordReusePrevention=1)
    expect_client_error(lambda: me.change_password(OldPassword="x", NewPassword="Correct-Horse-1"),
                        "NoSuchEntity", f"Login Profile for User {name} cannot be found.", 404)
    iam.create_login_profile(UserName=name, Password="Temp-Pass-1", PasswordResetRequired=True)
    expect_client_error(lambda: me.change_password(OldPassword="Wrong-Pass-1", NewPassword="Correct-Horse-1"),
                        "AccessDenied")
    expect_client_error(lambda: me.change_password(OldPassword="Temp-Pass-1", NewPassword="Temp-Pass-1"),
                        "PasswordPolicyViolation", VIOLATION, 400)
    me.change_password(OldPassword="Temp-Pass-1", NewPassword="Correct-Horse-1")
    assert iam.get_login_profile(UserName=name)["LoginProfile"]["PasswordResetRequired"] is False
    # With the CLI too.
    s.aws("iam", "change-password", "--old-password", "Correct-Horse-1", "--new-password", "Correct-Horse-2",
          creds=creds)
    r = s.aws("iam", "change-password", "--old-password", "Correct-Horse-1", "--new-password", "Correct-Horse-3",
              creds=creds, check=False)
    assert r.error_code == "AccessDenied"
    # Only IAM users: not the root, not a role session.
    expect_client_error(lambda: iam.change_password(OldPassword="a", NewPassword="b"), "InvalidUserType", status=400)
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust_doc({"AWS": s.arn("root")}))
    iam.put_role_policy(RoleName="r", PolicyName="all", PolicyDocument=allow_doc("iam:*"))
    assumer_name, assumer = s.create_user_with_key("assumer")
    iam.put_user_policy(UserName=assumer_name, PolicyName="assume", PolicyDocument=allow_doc("sts:AssumeRole"))
    sess = Creds.from_sts(s.boto3_client("sts", assumer).assume_role(RoleArn=s.arn("role/r"),
                                                                     RoleSessionName="xy")["Credentials"])
    expect_client_error(lambda: s.boto3_client("iam", sess).change_password(OldPassword="a", NewPassword="b"),
                        "InvalidUserType")
    # An explicit deny wins over AllowUsersToChangePassword.
    iam.put_user_policy(UserName=name, PolicyName="deny", PolicyDocument=(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:ChangePassword","Resource":"*"}]}'))
    expect_client_error(lambda: me.change_password(OldPassword="Correct-Horse-2", NewPassword="Correct-Horse-9"),
                        "AccessDenied")


def test_update_user_keeps_identity(server, iam):
    old, creds = server.create_user_with_key("renamee")
    new = unique("renamed")
    uid = iam.get_user(UserName=old)["User"]["UserId"]
    group = unique("grp")
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=old)
    iam.put_user_policy(UserName=old, PolicyName="p", PolicyDocument=allow_doc("sts:AssumeRole"))
    iam.create_login_profile(UserName=old, Password="Correct-Horse-1")
    role = unique("trusting")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_doc({"AWS": server.arn(f"user/{old}")}))

    iam.update_user(UserName=old, NewUserName=new, NewPath="/moved/")
    expect_client_error(lambda: iam.get_user(UserName=old), "NoSuchEntity",
                        f"The user with name {old} cannot be found.", 404)
    u = iam.get_user(UserName=new)["User"]
    assert u["UserId"] == uid and u["Arn"] == server.arn(f"user/moved/{new}")
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=new)["Groups"]] == [group]
    assert iam.list_user_policies(UserName=new)["PolicyNames"] == ["p"]
    assert iam.get_login_profile(UserName=new)["LoginProfile"]["UserName"] == new
    assert [k["UserName"] for k in iam.list_access_keys(UserName=new)["AccessKeyMetadata"]] == [new]
    # The user's key still works, under the new name; the trust policy followed the rename.
    sts = server.boto3_client("sts", creds)
    assert sts.get_caller_identity()["Arn"] == server.arn(f"user/moved/{new}")
    doc = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    doc = doc if isinstance(doc, dict) else urllib.parse.unquote(doc)
    assert server.arn(f"user/moved/{new}") in str(doc)
    sts.assume_role(RoleArn=server.arn(f"role/{role}"), RoleSessionName="after")

    taken = unique("taken")
    iam.create_user(UserName=taken)
    expect_client_error(lambda: iam.update_user(UserName=new, NewUserName=taken.upper()), "EntityAlreadyExists",
                        f"User with name {taken.upper()} already exists.", 409)
    r = server.aws("iam", "update-user", "--user-name", "no-such-user-here", "--new-user-name", "x", check=False)
    assert (r.error_code, r.error_message) == ("NoSuchEntity", "The user with name no-such-user-here cannot be found.")
    server.aws("iam", "update-user", "--user-name", taken, "--new-path", "/cli/")
    assert iam.get_user(UserName=taken)["User"]["Path"] == "/cli/"


def test_update_group_and_permission_on_both_names(server, iam):
    g = unique("team")
    iam.create_group(GroupName=g)
    member = unique("member")
    iam.create_user(UserName=member)
    iam.add_user_to_group(GroupName=g, UserName=member)
    gid = iam.get_group(GroupName=g)["Group"]["GroupId"]
    g2 = unique("team2")
    server.aws("iam", "update-group", "--group-name", g, "--new-group-name", g2, "--new-path", "/eng/")
    expect_client_error(lambda: iam.get_group(GroupName=g), "NoSuchEntity",
                        f"The group with name {g} cannot be found.", 404)
    got = iam.get_group(GroupName=g2)
    assert got["Group"]["GroupId"] == gid and got["Group"]["Arn"] == server.arn(f"group/eng/{g2}")
    assert [u["UserName"] for u in got["Users"]] == [member]
    other = unique("othergrp")
    iam.create_group(GroupName=other)
    expect_client_error(lambda: iam.update_group(GroupName=g2, NewGroupName=other), "EntityAlreadyExists",
                        f"Group with name {other} already exists.", 409)

    # Permission on the old name only is not enough (API reference: both source and target).
    name, creds = server.create_user_with_key("renamer")
    iam.put_user_policy(UserName=name, PolicyName="old-only", PolicyDocument=allow_doc(
        "iam:UpdateGroup", server.arn(f"group/eng/{g2}")))
    target = server.arn(f"group/eng/{g2}x")
    expect_client_error(
        lambda: server.boto3_client("iam", creds).update_group(GroupName=g2, NewGroupName=f"{g2}x"),
        "AccessDenied", not_authorized(server.arn(f"user/{name}"), "iam:UpdateGroup", target), 403)
    assert iam.get_group(GroupName=g2)["Group"]["GroupName"] == g2


def test_passwords_leave_no_trace(new_server):
    """Neither the log (with audit records) nor any file of the data dir holds a password that
    went through every password action, accepted or refused."""
    s = new_server()
    iam = s.boto3_client("iam")
    name, creds = s.create_user_with_key("trace")
    iam.update_account_password_policy(AllowUsersToChangePassword=True, MinimumPasswordLength=20)
    secrets = ["Trace-Secret-1xq-abcdef", "Trace-Secret-2xq-abcdef", "Trace-Secret-3xq-abcdef", "Trace-Weak-zq9w"]
    iam.create_login_profile(UserName=name, Password=secrets[0])
    iam.update_login_profile(UserName=name, Password=secrets[1])
    s.boto3_client("iam", creds).change_password(OldPassword=secrets[1], NewPassword=secrets[2])
    expect_client_error(lambda: iam.update_login_profile(UserName=name, Password=secrets[3]),
                        "PasswordPolicyViolation")
    s.stop(kill9=False)
    log = s.log_tail(100_000)
    blobs = [p.read_bytes() for p in s.data_dir.rglob("*") if p.is_file()]
    for secret in secrets:
        assert secret not in log
        for b in blobs:
            assert secret.encode() not in b
            assert secret.encode("utf-16-le") not in b
