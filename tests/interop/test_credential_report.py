"""The credential report (GenerateCredentialReport, GetCredentialReport) through unmodified
boto3 and the aws CLI, as security scanners read it: the CSV's header exactly AWS's, the root's
row first, a user's cells, the report kept across a kill -9 restart."""

from __future__ import annotations

import base64
import csv
import io

import pytest

from tessera_harness import expect_client_error

pytestmark = pytest.mark.usefixtures("no_server_faults")

HEADER = [
    "user", "arn", "user_creation_time", "password_enabled", "password_last_used",
    "password_last_changed", "password_next_rotation", "mfa_active",
    "access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
    "access_key_1_last_used_region", "access_key_1_last_used_service",
    "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
    "access_key_2_last_used_region", "access_key_2_last_used_service",
    "cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated",
]

STARTED = "No report exists. Starting a new report generation task"


def rows(content: bytes) -> tuple[list[str], list[dict]]:
    reader = csv.DictReader(io.StringIO(content.decode()))
    return list(reader.fieldnames or []), list(reader)


def report_time(dt) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def test_credential_report_boto3_and_cli(new_server):
    s = new_server("report")
    iam = s.boto3_client("iam")
    expect_client_error(lambda: iam.get_credential_report(), "ReportNotPresent", status=410)
    r = s.aws("iam", "get-credential-report", check=False)
    assert r.error_code == "ReportNotPresent"

    user, creds = s.create_user_with_key("scanned")
    iam.create_login_profile(UserName=user, Password="Correct-Horse-9")
    s.boto3_client("sts", creds, region="eu-central-1").get_caller_identity()
    created = iam.get_user(UserName=user)["User"]["CreateDate"]
    key = iam.list_access_keys(UserName=user)["AccessKeyMetadata"][0]
    used = iam.get_access_key_last_used(AccessKeyId=creds.access_key_id)["AccessKeyLastUsed"]

    first = iam.generate_credential_report()
    assert (first["State"], first["Description"]) == ("STARTED", STARTED)
    again = s.aws("iam", "generate-credential-report")
    assert again == {"State": "COMPLETE"}

    got = iam.get_credential_report()
    assert got["ReportFormat"] == "text/csv"
    header, table = rows(got["Content"])
    assert header == HEADER
    assert [row["user"] for row in table] == ["<root_account>", user]
    root, me = table
    assert root["arn"] == s.arn("root")
    assert (root["password_enabled"], root["password_last_changed"], root["password_next_rotation"]) == \
        ("not_supported", "not_supported", "not_supported")
    root_used = iam.get_access_key_last_used(AccessKeyId=s.root.access_key_id)["AccessKeyLastUsed"]
    assert (root["access_key_1_active"], root["access_key_1_last_used_date"],
            root["access_key_1_last_used_region"], root["access_key_1_last_used_service"]) == \
        ("true", report_time(root_used["LastUsedDate"]), root_used["Region"], root_used["ServiceName"])
    assert me == {
        "user": user,
        "arn": s.arn(f"user/{user}"),
        "user_creation_time": report_time(created),
        "password_enabled": "true",
        "password_last_used": "no_information",
        "password_last_changed": me["password_last_changed"],
        "password_next_rotation": "N/A",
        "mfa_active": "false",
        "access_key_1_active": "true",
        "access_key_1_last_rotated": report_time(key["CreateDate"]),
        "access_key_1_last_used_date": report_time(used["LastUsedDate"]),
        "access_key_1_last_used_region": "eu-central-1",
        "access_key_1_last_used_service": "sts",
        "access_key_2_active": "false",
        "access_key_2_last_rotated": "N/A",
        "access_key_2_last_used_date": "N/A",
        "access_key_2_last_used_region": "N/A",
        "access_key_2_last_used_service": "N/A",
        "cert_1_active": "false",
        "cert_1_last_rotated": "N/A",
        "cert_2_active": "false",
        "cert_2_last_rotated": "N/A",
    }
    assert me["password_last_changed"] >= report_time(created)

    # The CLI prints Content base64-encoded; decoded, it is the same file.
    cli = s.aws("iam", "get-credential-report")
    assert cli["ReportFormat"] == "text/csv"
    assert base64.b64decode(cli["Content"]) == got["Content"]

    # The report is committed before GenerateCredentialReport answers: it survives kill -9.
    s.restart(kill9=True)
    after = s.boto3_client("iam").get_credential_report()
    assert (after["Content"], after["GeneratedTime"]) == (got["Content"], got["GeneratedTime"])
    assert s.boto3_client("iam").generate_credential_report()["State"] == "COMPLETE"
