"""UpdateRoleDescription and service-linked roles through unmodified boto3 and the aws CLI: the
name, path and trust policy AWS gives them, UnmodifiableEntity for every change but the
description, DeleteServiceLinkedRole and its status, and their errors. Tests share one server,
so each uses a custom suffix (or a service of its own) to get a role name of its own."""

from __future__ import annotations

import pytest

from tessera_harness import allow_doc, expect_client_error, policy_json, unique

pytestmark = pytest.mark.usefixtures("no_server_faults")

EC2_TRUST = policy_json({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})


def protected(name: str) -> str:
    return f"Cannot perform the operation on the protected role '{name}' - this role is only modifiable by AWS"


def test_update_role_description_boto3(iam):
    name = unique("desc")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=EC2_TRUST, Description="old")
    role = iam.update_role_description(RoleName=name, Description="new")["Role"]
    assert (role["RoleName"], role["Description"]) == (name, "new")
    assert iam.get_role(RoleName=name)["Role"]["Description"] == "new"
    expect_client_error(lambda: iam.update_role_description(RoleName=unique("ghost"), Description="x"),
                        "NoSuchEntity", status=404)
    iam.delete_role(RoleName=name)


def test_service_linked_role_lifecycle_boto3(server, iam):
    suffix = unique("s")
    role = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix=suffix,
                                          Description="scales")["Role"]
    name = f"AWSServiceRoleForAutoScaling_{suffix}"
    assert role["RoleName"] == name
    assert role["Path"] == "/aws-service-role/autoscaling.amazonaws.com/"
    assert role["Arn"] == server.arn(f"role/aws-service-role/autoscaling.amazonaws.com/{name}")
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "autoscaling.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    expect_client_error(lambda: iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix=suffix),
                        "InvalidInput",
                        f"Service role name {name} has been taken in this account, please try a different suffix.", 400)
    expect_client_error(lambda: iam.create_service_linked_role(AWSServiceName="es.amazonaws.com", CustomSuffix="x"),
                        "InvalidInput", "Custom suffix is not allowed for es.amazonaws.com", 400)

    msg = protected(name)
    expect_client_error(lambda: iam.delete_role(RoleName=name), "UnmodifiableEntity", msg, 400)
    expect_client_error(lambda: iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=allow_doc("s3:*")),
                        "UnmodifiableEntity", msg, 400)
    expect_client_error(lambda: iam.update_assume_role_policy(RoleName=name, PolicyDocument=EC2_TRUST),
                        "UnmodifiableEntity", msg, 400)
    expect_client_error(lambda: iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess"),
                        "UnmodifiableEntity", msg, 400)
    iam.update_role_description(RoleName=name, Description="edited")
    assert iam.get_role(RoleName=name)["Role"]["Description"] == "edited"

    task = iam.delete_service_linked_role(RoleName=name)["DeletionTaskId"]
    assert task.startswith(f"task/aws-service-role/autoscaling.amazonaws.com/{name}/"), task
    status = iam.get_service_linked_role_deletion_status(DeletionTaskId=task)
    assert status["Status"] == "SUCCEEDED" and "Reason" not in status
    expect_client_error(lambda: iam.get_role(RoleName=name), "NoSuchEntity", status=404)
    expect_client_error(lambda: iam.get_service_linked_role_deletion_status(DeletionTaskId=task + "0"), "NoSuchEntity", status=404)


def test_delete_service_linked_role_refuses_an_ordinary_role(iam):
    name = unique("plain")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=EC2_TRUST)
    expect_client_error(lambda: iam.delete_service_linked_role(RoleName=name), "NoSuchEntity",
                        f"The role with name {name} is not a service-linked role.", 404)
    iam.delete_role(RoleName=name)


def test_service_linked_role_with_the_aws_cli(server):
    service = f"{unique('svc').lower()}.amazonaws.com"
    out = server.aws("iam", "create-service-linked-role", "--aws-service-name", service)
    name = out["Role"]["RoleName"]
    assert name.startswith("AWSServiceRoleForSvc"), name
    r = server.aws("iam", "delete-role", "--role-name", name, check=False)
    assert r.error_code == "UnmodifiableEntity" and r.error_message == protected(name), r.stderr
    task = server.aws("iam", "delete-service-linked-role", "--role-name", name)["DeletionTaskId"]
    got = server.aws("iam", "get-service-linked-role-deletion-status", "--deletion-task-id", task)
    assert got["Status"] == "SUCCEEDED"
