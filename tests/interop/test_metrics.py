"""`GET /metrics` read by the Prometheus project's own Python parser (`prometheus_client`) after
boto3 and aws CLI calls: the text is well-formed, and its counters say what the clients did."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset], float]


def scrape(server) -> tuple[dict, Samples]:
    r = server.send("GET", "/metrics")
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    # The parser raises on anything that is not the text format.
    families = {f.name: f for f in text_string_to_metric_families(r.body.decode())}
    samples: Samples = {}
    for f in families.values():
        for s in f.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in samples, f"duplicate sample {key}"
            samples[key] = s.value
    return families, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 when absent (per-action series appear with their first request)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_parse_and_count_boto3_and_cli_calls(new_server):
    server = new_server("metrics")
    _, before = scrape(server)
    sts = server.boto3_client("sts")
    for _ in range(3):
        sts.get_caller_identity()
    server.aws("sts", "get-caller-identity")
    server.boto3_client("iam").create_user(UserName="metrics-interop")
    # botocore would refuse 10 s itself; the server's ValidationError is what is counted.
    with pytest.raises(ClientError) as e:
        server.boto3_client("sts", validate=False).get_session_token(DurationSeconds=10)
    assert e.value.response["Error"]["Code"] == "ValidationError"
    server.boto3_client("sts").get_session_token(DurationSeconds=900)

    families, after = scrape(server)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    ok = {"action": "GetCallerIdentity", "outcome": "success"}
    assert delta("tessera_requests_total", **ok) == 4
    assert delta("tessera_requests_total", action="CreateUser", outcome="success") == 1
    assert delta("tessera_requests_total", action="GetSessionToken", outcome="client_error") == 1
    assert delta("tessera_request_errors_total", code="ValidationError") == 1
    assert delta("tessera_credentials_issued_total", kind="session_token") == 1

    assert families["tessera_requests"].type == "counter"
    latency = families["tessera_request_duration_seconds"]
    assert latency.type == "histogram"
    buckets = sorted(
        (float(s.labels["le"]), s.value)
        for s in latency.samples
        if s.name.endswith("_bucket") and s.labels["action"] == "GetCallerIdentity"
    )
    assert buckets[-1][0] == float("inf")
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), buckets
    count = value(after, "tessera_request_duration_seconds_count", action="GetCallerIdentity")
    assert buckets[-1][1] == count == value(after, "tessera_requests_total", **ok)

    assert families["tessera_keyring_keys"].type == "gauge"
    assert value(after, "tessera_keyring_keys") == 1
    assert value(after, "tessera_build_info", version="0.1.0") == 1
    assert value(after, "tessera_cache_requests_total", cache="sigv4_signing_keys", result="hit") >= 4
