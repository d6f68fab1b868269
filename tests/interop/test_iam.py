"""IAM users, access keys, groups and MFA devices through unmodified boto3 and the aws CLI."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from tessera_harness import (
    MSG_INVALID_TOKEN,
    Creds,
    b32decode_seed,
    client_error,
    current_step,
    totp_at_step,
    unique,
)


def tags_of(resp_tags) -> dict:
    return {t["Key"]: t["Value"] for t in resp_tags}


def assert_refused(server, creds: Creds) -> None:
    with pytest.raises(ClientError) as e:
        server.boto3_client("sts", creds).get_caller_identity()
    assert client_error(e.value) == ("InvalidClientTokenId", MSG_INVALID_TOKEN, 403)


# --- Users -----------------------------------------------------------------------------------


def test_user_lifecycle_boto3(server, iam):
    name = unique("Alice")
    created = iam.create_user(UserName=name, Path="/eng/team/", Tags=[{"Key": "team", "Value": "core"}])["User"]
    assert created["UserName"] == name
    assert created["Path"] == "/eng/team/"
    assert created["Arn"] == server.arn(f"user/eng/team/{name}")
    assert created["UserId"].startswith("AIDA") and len(created["UserId"]) == 21
    assert isinstance(created["CreateDate"], dt.datetime)
    assert abs((dt.datetime.now(dt.timezone.utc) - created["CreateDate"]).total_seconds()) < 120
    assert tags_of(created.get("Tags", [])) == {"team": "core"}

    got = iam.get_user(UserName=name)["User"]
    assert {k: got[k] for k in ("UserName", "UserId", "Arn", "Path")} == {k: created[k] for k in ("UserName", "UserId", "Arn", "Path")}
    assert tags_of(got["Tags"]) == {"team": "core"}
    # Names are case-insensitive for lookups and uniqueness, case-preserving in answers.
    assert iam.get_user(UserName=name.lower())["User"]["UserName"] == name
    with pytest.raises(ClientError) as e:
        iam.create_user(UserName=name.upper())
    assert client_error(e.value)[0] == "EntityAlreadyExists"

    # Tags: add, override (keys are case-insensitive), remove.
    iam.tag_user(UserName=name, Tags=[{"Key": "TEAM", "Value": "infra"}, {"Key": "cost", "Value": "42"}])
    assert tags_of(iam.list_user_tags(UserName=name)["Tags"]) == {"TEAM": "infra", "cost": "42"}
    iam.untag_user(UserName=name, TagKeys=["cost"])
    listed = iam.list_user_tags(UserName=name)
    assert tags_of(listed["Tags"]) == {"TEAM": "infra"} and listed["IsTruncated"] is False

    # Listed under its path.
    users = iam.list_users(PathPrefix="/eng/team/")["Users"]
    assert name in [u["UserName"] for u in users]

    iam.delete_user(UserName=name)
    with pytest.raises(ClientError) as e:
        iam.get_user(UserName=name)
    assert client_error(e.value) == ("NoSuchEntity", f"The user with name {name} cannot be found.", 404)


def test_user_lifecycle_cli(server):
    name = unique("cliuser")
    created = server.aws("iam", "create-user", "--user-name", name, "--path", "/cli/",
                         "--tags", "Key=team,Value=core", "Key=env,Value=dev")["User"]
    assert created["Arn"] == server.arn(f"user/cli/{name}")
    assert created["UserId"].startswith("AIDA")
    got = server.aws("iam", "get-user", "--user-name", name)["User"]
    assert got["UserId"] == created["UserId"]
    assert tags_of(got["Tags"]) == {"team": "core", "env": "dev"}
    server.aws("iam", "tag-user", "--user-name", name, "--tags", "Key=owner,Value=ops")
    server.aws("iam", "untag-user", "--user-name", name, "--tag-keys", "env")
    assert tags_of(server.aws("iam", "list-user-tags", "--user-name", name)["Tags"]) == {"team": "core", "owner": "ops"}
    users = server.aws("iam", "list-users", "--path-prefix", "/cli/")["Users"]
    assert [u["UserName"] for u in users if u["UserName"] == name] == [name]
    server.aws("iam", "delete-user", "--user-name", name)
    r = server.aws("iam", "get-user", "--user-name", name, check=False)
    assert r.returncode != 0 and r.error_code == "NoSuchEntity", r.stderr
    assert r.error_message == f"The user with name {name} cannot be found."


@pytest.fixture(scope="module")
def paged_users(server):
    iam = server.boto3_client("iam")
    prefix = f"/{unique('pg')}/"
    names = sorted(unique(f"p{i}") for i in range(7))
    for n in names:
        iam.create_user(UserName=n, Path=prefix)
    return prefix, names


def test_list_users_paging_with_max_items_and_marker(iam, paged_users):
    prefix, names = paged_users
    seen, marker, pages = [], None, 0
    while True:
        kw = {"PathPrefix": prefix, "MaxItems": 3}
        if marker:
            kw["Marker"] = marker
        out = iam.list_users(**kw)
        pages += 1
        assert len(out["Users"]) <= 3
        seen += [u["UserName"] for u in out["Users"]]
        if not out["IsTruncated"]:
            assert "Marker" not in out
            break
        marker = out["Marker"]
        assert marker
        assert pages < 10, "paging does not terminate"
    assert pages == 3
    assert sorted(seen) == names and len(set(seen)) == len(seen)


def test_list_users_boto3_paginator(iam, paged_users):
    prefix, names = paged_users
    pages = list(iam.get_paginator("list_users").paginate(PathPrefix=prefix, PaginationConfig={"PageSize": 2}))
    assert [len(p["Users"]) for p in pages] == [2, 2, 2, 1]
    assert sorted(u["UserName"] for p in pages for u in p["Users"]) == names
    # MaxItems in the paginator: a resumable NextToken.
    first = iam.get_paginator("list_users").paginate(PathPrefix=prefix, PaginationConfig={"PageSize": 2, "MaxItems": 5}).build_full_result()
    assert len(first["Users"]) == 5 and first.get("NextToken")
    rest = iam.get_paginator("list_users").paginate(
        PathPrefix=prefix, PaginationConfig={"PageSize": 2, "StartingToken": first["NextToken"]}).build_full_result()
    assert sorted(u["UserName"] for u in first["Users"] + rest["Users"]) == names


def test_list_users_cli_paging(server, paged_users):
    prefix, names = paged_users
    everything = server.aws("iam", "list-users", "--path-prefix", prefix, "--page-size", "2")
    assert sorted(u["UserName"] for u in everything["Users"]) == names
    first = server.aws("iam", "list-users", "--path-prefix", prefix, "--max-items", "3")
    assert len(first["Users"]) == 3 and first["NextToken"]
    rest = server.aws("iam", "list-users", "--path-prefix", prefix, "--starting-token", first["NextToken"])
    assert sorted(u["UserName"] for u in first["Users"] + rest["Users"]) == names


# --- Access keys -----------------------------------------------------------------------------


def test_access_keys_boto3(server, iam):
    name = unique("keys")
    iam.create_user(UserName=name)
    k1 = iam.create_access_key(UserName=name)["AccessKey"]
    assert k1["UserName"] == name and k1["Status"] == "Active"
    assert k1["AccessKeyId"].startswith("AKIA") and len(k1["AccessKeyId"]) == 20
    assert len(k1["SecretAccessKey"]) == 40
    k2 = iam.create_access_key(UserName=name)["AccessKey"]
    c1, c2 = Creds.from_sts(k1), Creds.from_sts(k2)
    for c in (c1, c2):
        assert server.boto3_client("sts", c).get_caller_identity()["Arn"] == server.arn(f"user/{name}")

    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert {m["AccessKeyId"]: m["Status"] for m in listed} == {k1["AccessKeyId"]: "Active", k2["AccessKeyId"]: "Active"}
    assert all("SecretAccessKey" not in m for m in listed)

    # Inactive: refused at once; active again: accepted at once.
    iam.update_access_key(UserName=name, AccessKeyId=k1["AccessKeyId"], Status="Inactive")
    assert_refused(server, c1)
    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert {m["AccessKeyId"]: m["Status"] for m in listed}[k1["AccessKeyId"]] == "Inactive"
    iam.update_access_key(UserName=name, AccessKeyId=k1["AccessKeyId"], Status="Active")
    server.boto3_client("sts", c1).get_caller_identity()

    # Deleted: refused at once.
    iam.delete_access_key(UserName=name, AccessKeyId=k1["AccessKeyId"])
    assert_refused(server, c1)
    assert [m["AccessKeyId"] for m in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]] == [k2["AccessKeyId"]]

    # A deleted user's credentials (and its sessions) stop at once.
    session = Creds.from_sts(server.boto3_client("sts", c2).get_session_token(DurationSeconds=900)["Credentials"])
    server.boto3_client("sts", session).get_caller_identity()
    iam.delete_access_key(UserName=name, AccessKeyId=k2["AccessKeyId"])
    iam.delete_user(UserName=name)
    assert_refused(server, c2)
    assert_refused(server, session)


def test_access_keys_cli(server, iam):
    name = unique("clikeys")
    iam.create_user(UserName=name)  # (create-user / delete-user: see test_user_lifecycle_cli)
    key = server.aws("iam", "create-access-key", "--user-name", name)["AccessKey"]
    creds = Creds.from_sts(key)
    assert server.aws("sts", "get-caller-identity", creds=creds)["Arn"] == server.arn(f"user/{name}")
    listed = server.aws("iam", "list-access-keys", "--user-name", name)["AccessKeyMetadata"]
    assert [(m["AccessKeyId"], m["Status"], m["UserName"]) for m in listed] == [(key["AccessKeyId"], "Active", name)]
    server.aws("iam", "update-access-key", "--user-name", name, "--access-key-id", key["AccessKeyId"], "--status", "Inactive")
    r = server.aws("sts", "get-caller-identity", creds=creds, check=False)
    assert r.returncode != 0 and r.error_code == "InvalidClientTokenId", r.stderr
    listed = server.aws("iam", "list-access-keys", "--user-name", name)["AccessKeyMetadata"]
    assert listed[0]["Status"] == "Inactive"
    server.aws("iam", "delete-access-key", "--user-name", name, "--access-key-id", key["AccessKeyId"])
    assert server.aws("iam", "list-access-keys", "--user-name", name)["AccessKeyMetadata"] == []
    iam.delete_user(UserName=name)


# --- Groups ----------------------------------------------------------------------------------


def test_groups_boto3(server, iam):
    group = unique("devs")
    g = iam.create_group(GroupName=group, Path="/teams/")["Group"]
    assert g["GroupName"] == group and g["Path"] == "/teams/"
    assert g["Arn"] == server.arn(f"group/teams/{group}")
    assert g["GroupId"].startswith("AGPA") and len(g["GroupId"]) == 21
    m1, m2 = unique("m1"), unique("m2")
    for m in (m1, m2):
        iam.create_user(UserName=m)
        iam.add_user_to_group(GroupName=group, UserName=m)

    got = iam.get_group(GroupName=group)
    assert got["Group"]["GroupId"] == g["GroupId"]
    assert sorted(u["UserName"] for u in got["Users"]) == sorted([m1, m2])
    assert got["IsTruncated"] is False
    assert [x["GroupName"] for x in iam.list_groups_for_user(UserName=m1)["Groups"]] == [group]
    assert group in [x["GroupName"] for x in iam.list_groups(PathPrefix="/teams/")["Groups"]]

    # A group with members cannot be deleted; a member cannot be deleted while in it.
    for call in (lambda: iam.delete_group(GroupName=group), lambda: iam.delete_user(UserName=m1)):
        with pytest.raises(ClientError) as e:
            call()
        assert client_error(e.value)[::2] == ("DeleteConflict", 409)

    iam.remove_user_from_group(GroupName=group, UserName=m1)
    assert iam.list_groups_for_user(UserName=m1)["Groups"] == []
    assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == [m2]
    iam.delete_user(UserName=m1)
    iam.remove_user_from_group(GroupName=group, UserName=m2)
    iam.delete_group(GroupName=group)
    with pytest.raises(ClientError) as e:
        iam.get_group(GroupName=group)
    assert client_error(e.value)[::2] == ("NoSuchEntity", 404)


def test_groups_cli(server, iam):
    group, user = unique("cligroup"), unique("cligm")
    g = server.aws("iam", "create-group", "--group-name", group)["Group"]
    assert g["Arn"] == server.arn(f"group/{group}")
    iam.create_user(UserName=user)
    server.aws("iam", "add-user-to-group", "--group-name", group, "--user-name", user)
    got = server.aws("iam", "get-group", "--group-name", group)
    assert got["Group"]["GroupName"] == group and [u["UserName"] for u in got["Users"]] == [user]
    assert [x["GroupName"] for x in server.aws("iam", "list-groups-for-user", "--user-name", user)["Groups"]] == [group]
    server.aws("iam", "remove-user-from-group", "--group-name", group, "--user-name", user)
    assert server.aws("iam", "get-group", "--group-name", group)["Users"] == []
    server.aws("iam", "delete-group", "--group-name", group)
    r = server.aws("iam", "get-group", "--group-name", group, check=False)
    assert r.returncode != 0 and r.error_code == "NoSuchEntity", r.stderr


# --- MFA devices -----------------------------------------------------------------------------


def _serials(devices) -> list[str]:
    return [d["SerialNumber"] for d in devices]


def test_mfa_devices_boto3(server, iam):
    user = unique("phoneuser")
    iam.create_user(UserName=user)
    dev_name = unique("phone")
    dev = iam.create_virtual_mfa_device(VirtualMFADeviceName=dev_name)["VirtualMFADevice"]
    serial = dev["SerialNumber"]
    assert serial == server.arn(f"mfa/{dev_name}")
    with pytest.raises(ClientError) as e:
        iam.create_virtual_mfa_device(VirtualMFADeviceName=dev_name)
    assert client_error(e.value)[::2] == ("EntityAlreadyExists", 409)

    assert serial in _serials(iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"])
    assert serial not in _serials(iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"])
    assert iam.list_mfa_devices(UserName=user)["MFADevices"] == []

    key, step = b32decode_seed(dev["Base32StringSeed"]), current_step()
    iam.enable_mfa_device(UserName=user, SerialNumber=serial,
                          AuthenticationCode1=totp_at_step(key, step - 2), AuthenticationCode2=totp_at_step(key, step - 1))
    listed = iam.list_mfa_devices(UserName=user)["MFADevices"]
    assert _serials(listed) == [serial]
    assert listed[0]["UserName"] == user and isinstance(listed[0]["EnableDate"], dt.datetime)
    assigned = [d for d in iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"] if d["SerialNumber"] == serial]
    assert len(assigned) == 1 and assigned[0]["User"]["UserName"] == user
    assert "Base32StringSeed" not in assigned[0]

    # A user with an MFA device cannot be deleted.
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=user)
    assert client_error(e.value)[::2] == ("DeleteConflict", 409)

    iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    assert iam.list_mfa_devices(UserName=user)["MFADevices"] == []
    assert serial in _serials(iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"])
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert serial not in _serials(iam.list_virtual_mfa_devices()["VirtualMFADevices"])
    iam.delete_user(UserName=user)


def test_mfa_devices_cli(server, iam, tmp_path):
    user, dev_name = unique("cliphoneuser"), unique("cliphone")
    iam.create_user(UserName=user)
    seed_file = tmp_path / "seed.txt"
    out = server.aws("iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", dev_name,
                     "--outfile", str(seed_file), "--bootstrap-method", "Base32StringSeed")
    serial = out["VirtualMFADevice"]["SerialNumber"]
    assert serial == server.arn(f"mfa/{dev_name}")
    key, step = b32decode_seed(seed_file.read_bytes()), current_step()
    server.aws("iam", "enable-mfa-device", "--user-name", user, "--serial-number", serial,
               "--authentication-code1", totp_at_step(key, step - 2), "--authentication-code2", totp_at_step(key, step - 1))
    assert _serials(server.aws("iam", "list-mfa-devices", "--user-name", user)["MFADevices"]) == [serial]
    assigned = server.aws("iam", "list-virtual-mfa-devices", "--assignment-status", "Assigned")["VirtualMFADevices"]
    assert serial in _serials(assigned)
    server.aws("iam", "deactivate-mfa-device", "--user-name", user, "--serial-number", serial)
    assert server.aws("iam", "list-mfa-devices", "--user-name", user)["MFADevices"] == []
    server.aws("iam", "delete-virtual-mfa-device", "--serial-number", serial)
    assert serial not in _serials(iam.list_virtual_mfa_devices()["VirtualMFADevices"])
    iam.delete_user(UserName=user)


def test_iam_client_signing_with_another_region(server):
    """botocore signs IAM with the client's region when the endpoint is overridden
    (AWS_ENDPOINT_URL_IAM): eu-west-1 in the scope must be accepted (no `regions` configured)."""
    iam = server.boto3_client("iam", region="eu-west-1")
    name = unique("regional")
    assert iam.create_user(UserName=name)["User"]["Arn"] == server.arn(f"user/{name}")
    iam.delete_user(UserName=name)

