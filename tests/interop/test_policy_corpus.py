"""The policy corpus (tests/policy_corpus.json) through boto3 `simulate_custom_policy`, and the
simulator through the aws CLI (`simulate-custom-policy`, `simulate-principal-policy`).

Each corpus case is one test; cases the API cannot express (session policies, principals that
`CallerArn` cannot name, trust policies bound to unique ids) are skipped with the reason. The
mapping is the same as tests/policy_simulate.rs: `CallerArn` for user principals (plus
`aws:userid`), principal keys as context entries for identity-only role sessions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CORPUS = json.loads((Path(__file__).resolve().parents[1] / "policy_corpus.json").read_text())
NOOP = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "tessera:nothing", "Resource": "arn:aws:tessera:::nothing"}]})


def entry(name: str, ty: str, values: list[str]) -> dict:
    return {"ContextKeyName": name, "ContextKeyValues": values, "ContextKeyType": ty}


def corpus_request(case: dict) -> dict | str:
    """simulate_custom_policy kwargs for a case, or why the API cannot express it."""
    p, r = case["policies"], case["request"]
    if "session" in p:
        return "session policies"
    if "bind" in case:
        return "principal bound to a unique id"
    pretty = lambda d: json.dumps(d, indent=2)  # noqa: E731
    kw: dict = {
        "ActionNames": [r["action"]],
        "ResourceArns": [r["resource"]],
        "PolicyInputList": [pretty(d) for d in p.get("identity", [])] or [NOOP],
    }
    if "boundary" in p:
        kw["PermissionsBoundaryPolicyInputList"] = [pretty(p["boundary"])]
    keys: dict[str, dict] = {}

    def put(name: str, e: dict) -> None:
        for k in [k for k in keys if k.lower() == name.lower()]:
            del keys[k]
        keys[name] = e

    pr = r["principal"]
    if pr["type"] == "user":
        kw["CallerArn"] = pr["arn"]
        put("aws:userid", entry("aws:userid", "string", [pr["id"]]))
    elif pr["type"] == "assumed-role" and "resource" not in p:
        account = pr["role_arn"].split(":")[4]
        put("aws:PrincipalArn", entry("aws:PrincipalArn", "string", [pr["role_arn"]]))
        put("aws:PrincipalAccount", entry("aws:PrincipalAccount", "string", [account]))
        put("aws:PrincipalType", entry("aws:PrincipalType", "string", ["AssumedRole"]))
        put("aws:userid", entry("aws:userid", "string", [f"{pr['role_id']}:{pr['session']}"]))
    elif pr["type"] == "assumed-role":
        return "role session as the caller of a resource policy"
    else:
        return f"principal kind {pr['type']}"
    if "resource" in p:
        kw["ResourcePolicy"] = pretty(p["resource"])
        kw["ResourceOwner"] = f"arn:aws:iam::{p['resource_owner']}:root"
    for k, v in (r.get("context") or {}).items():
        if isinstance(v, bool):
            e = entry(k, "boolean", [str(v).lower()])
        elif isinstance(v, (int, float)):
            e = entry(k, "numeric", [str(v)])
        elif isinstance(v, str):
            e = entry(k, "string", [v])
        elif isinstance(v, list):
            e = entry(k, "stringList", list(v))
        else:
            e = entry(k, v["type"], [v["value"]])
        put(k, e)
    if keys:
        kw["ContextEntries"] = list(keys.values())
    return kw


# Cases the AWS API can express run here; the rest (session policies, role-session, root,
# federated and service callers, unique-id-bound principals) have no SimulateCustomPolicy
# input and are covered by the library's corpus runner (`cargo test --lib policy::`).
ALL = [(c, corpus_request(c)) for c in CORPUS]
EXPRESSIBLE = [(c, kw) for c, kw in ALL if isinstance(kw, dict)]


def test_corpus_coverage():
    reasons = {}
    for _, kw in ALL:
        if isinstance(kw, str):
            reasons[kw] = reasons.get(kw, 0) + 1
    print(f"policy corpus through boto3: {len(EXPRESSIBLE)} of {len(CORPUS)} cases; not expressible: {reasons}")
    assert len(EXPRESSIBLE) * 10 >= len(CORPUS) * 8


@pytest.mark.parametrize("case,kw", EXPRESSIBLE, ids=[c["name"] for c, _ in EXPRESSIBLE])
def test_corpus_case(server, case, kw):
    # validate=False: ContextKeyName has a 5-character minimum in the model that some corpus
    # keys could miss; the server applies its own checks.
    iam = server.boto3_client("iam", validate=False)
    out = iam.simulate_custom_policy(**kw)
    [result] = out["EvaluationResults"]
    assert result["EvalDecision"] == case["expect"], result
    [specific] = result["ResourceSpecificResults"]
    assert specific["EvalResourceDecision"] == case["expect"]
    if "missing" in case:
        assert sorted(specific["MissingContextValues"]) == sorted(case["missing"])
    if "matched" in case:
        want = [f"PolicyInputList.{int(m.split(':')[0].split('/')[1]) + 1}" for m in case["matched"]]
        assert [m["SourcePolicyId"] for m in result["MatchedStatements"]] == want


# --- the aws CLI -------------------------------------------------------------------------------

CLI_EXAMPLE = ('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*",'
               '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}')


def test_cli_simulate_custom_policy_example(server):
    """The aws CLI's own example (awscli/examples/iam/simulate-custom-policy.rst), positions included."""
    out = server.aws("iam", "simulate-custom-policy", "--policy-input-list", CLI_EXAMPLE,
                     "--action-names", "dynamodb:CreateBackup",
                     "--context-entries",
                     "ContextKeyName='aws:CurrentTime',ContextKeyValues='2019-04-25T11:00:00Z',ContextKeyType=date")
    [r] = out["EvaluationResults"]
    assert r["EvalActionName"] == "dynamodb:CreateBackup"
    assert r["EvalResourceName"] == "*"
    assert r["EvalDecision"] == "allowed"
    [m] = r["MatchedStatements"]
    assert m["SourcePolicyId"] == "PolicyInputList.1"
    assert m["StartPosition"] == {"Line": 1, "Column": 38}
    assert m["EndPosition"] == {"Line": 1, "Column": 167}
    assert r["MissingContextValues"] == []

    out = server.aws("iam", "simulate-custom-policy", "--policy-input-list", CLI_EXAMPLE,
                     "--action-names", "dynamodb:CreateBackup",
                     "--context-entries",
                     "ContextKeyName='aws:CurrentTime',ContextKeyValues='2014-04-25T11:00:00Z',ContextKeyType=date")
    [r] = out["EvaluationResults"]
    assert r["EvalDecision"] == "implicitDeny"
    assert r["MatchedStatements"] == []


def test_cli_corpus_cases(server):
    """A few corpus cases through the CLI, JSON input form (every parameter at once)."""
    picked = [c for c, kw in ALL if isinstance(kw, dict)
              and ("ResourcePolicy" in kw or "PermissionsBoundaryPolicyInputList" in kw or "ContextEntries" in kw)]
    picked = picked[:2] + [c for c in picked if "ResourcePolicy" in corpus_request(c)][:2] \
        + [c for c in picked if "PermissionsBoundaryPolicyInputList" in corpus_request(c)][:1]
    assert len(picked) >= 4
    for case in picked:
        kw = corpus_request(case)
        out = server.aws("iam", "simulate-custom-policy", "--cli-input-json", json.dumps(kw))
        [r] = out["EvaluationResults"]
        assert r["EvalDecision"] == case["expect"], (case["name"], r)


def test_cli_errors_and_principal_policy(server):
    res = server.aws("iam", "simulate-custom-policy", "--policy-input-list",
                     '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}',
                     "--action-names", "s3:GetObject", check=False)
    assert res.returncode != 0
    assert res.error_code == "MalformedPolicyDocument"
    assert res.error_message == "Policy statement must contain resources."

    res = server.aws("iam", "simulate-custom-policy", "--policy-input-list", NOOP, "--action-names", "s3:GetObject",
                     "--context-entries", "ContextKeyName=aws:SecureTransport,ContextKeyValues=maybe,ContextKeyType=boolean",
                     check=False)
    assert res.error_code == "InvalidInput"

    res = server.aws("iam", "simulate-principal-policy", "--policy-source-arn",
                     server.arn("user/no-such-user-simulate"), "--action-names", "s3:GetObject", check=False)
    assert res.error_code == "NoSuchEntity"

    name = "simulate-cli-user"
    server.aws("iam", "create-user", "--user-name", name)
    server.aws("iam", "put-user-policy", "--user-name", name, "--policy-name", "p",
               "--policy-document", '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}')
    out = server.aws("iam", "simulate-principal-policy", "--policy-source-arn", server.arn(f"user/{name}"),
                     "--action-names", "s3:GetObject", "s3:PutObject")
    assert [r["EvalDecision"] for r in out["EvaluationResults"]] == ["allowed", "implicitDeny"]
    m = out["EvaluationResults"][0]["MatchedStatements"][0]
    assert (m["SourcePolicyId"], m["SourcePolicyType"]) == ("p", "user")


def test_boto3_paginator(server, iam):
    pages = list(iam.get_paginator("simulate_custom_policy").paginate(
        PolicyInputList=[NOOP], ActionNames=["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
        PaginationConfig={"PageSize": 2}))
    assert [len(p["EvaluationResults"]) for p in pages] == [2, 1]
    assert pages[0]["IsTruncated"] is True
