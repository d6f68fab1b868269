"""Signing certificates, SSH public keys and server certificates through unmodified boto3 and
the aws CLI: lifecycles, both SSH encodings, every error AWS names for these actions, paging,
authorization on the user's and the certificate's ARN, and that a private key is never
answered. Keys and certificates are made at test time with `cryptography`."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tessera_harness import allow_doc, expect_client_error, not_authorized, unique

pytestmark = pytest.mark.usefixtures("no_server_faults")

NOT_PEM = "Unable to parse certificate. Please ensure the certificate is in PEM format."
BAD_KEY = "Unable to parse private key. Please ensure the private key is an unencrypted key in PEM format."
MISMATCH = "The private key did not match the public key provided. Please verify the key material and try again."
CHAIN = ("Unable to validate certificate chain. The certificate chain must start with the immediate signing "
         "certificate, followed by any intermediaries in order. The index within the chain of the invalid "
         "certificate is: {}")
NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def rsa_key(bits: int = 2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def make_cert(cn: str, key, issuer=None, issuer_key=None, not_before=NOW - DAY, not_after=NOW + 365 * DAY):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    b = (x509.CertificateBuilder().subject_name(subject)
         .issuer_name(issuer.subject if issuer is not None else subject)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_after))
    return b.sign(issuer_key if issuer_key is not None else key, hashes.SHA256())


def cert_pem(c) -> str:
    return c.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(k, fmt=serialization.PrivateFormat.PKCS8, enc=None) -> str:
    return k.private_bytes(serialization.Encoding.PEM, fmt, enc or serialization.NoEncryption()).decode()


def openssh(k, comment: str = "me@host") -> str:
    return k.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + " " + comment


def md5_fingerprint(openssh_line: str) -> str:
    blob = base64.b64decode(openssh_line.split()[1])
    return ":".join(f"{b:02x}" for b in hashlib.md5(blob).digest())


def test_signing_certificates_boto3(server, iam):
    user = unique("signer")
    iam.create_user(UserName=user)
    body = cert_pem(make_cert(user, rsa_key()))
    c = iam.upload_signing_certificate(UserName=user, CertificateBody=body)["Certificate"]
    assert (c["UserName"], c["CertificateBody"], c["Status"]) == (user, body, "Active")
    assert len(c["CertificateId"]) == 32 and c["CertificateId"].isalnum() and c["CertificateId"].isupper()
    expect_client_error(lambda: iam.upload_signing_certificate(UserName=user, CertificateBody=body),
                        "DuplicateCertificate", status=409)
    iam.upload_signing_certificate(UserName=user, CertificateBody=cert_pem(make_cert("two", rsa_key())))
    expect_client_error(lambda: iam.upload_signing_certificate(UserName=user, CertificateBody=cert_pem(make_cert("3", rsa_key()))),
                        "LimitExceeded", "Cannot exceed quota for SigningCertificatesPerUser: 2", 409)
    k = rsa_key()
    cases = [
        ("not a certificate", "MalformedCertificate", NOT_PEM),
        (body[: len(body) // 2], "MalformedCertificate", NOT_PEM),
        (key_pem(k), "MalformedCertificate", NOT_PEM),
        (cert_pem(make_cert("old", k, not_before=NOW - 9 * DAY, not_after=NOW - DAY)), "MalformedCertificate",
         "The certificate has expired."),
        (cert_pem(make_cert("ec", ec.generate_private_key(ec.SECP256R1()))), "InvalidCertificate",
         "The certificate's public key is not an RSA key."),
    ]
    other = unique("signer2")
    iam.create_user(UserName=other)
    for text, code, message in cases:
        expect_client_error(lambda: iam.upload_signing_certificate(UserName=other, CertificateBody=text), code, message, 400)

    listed = iam.list_signing_certificates(UserName=user)["Certificates"]
    assert sorted(x["CertificateId"] for x in listed) == sorted(x["CertificateId"] for x in listed) and len(listed) == 2
    pages = list(iam.get_paginator("list_signing_certificates").paginate(UserName=user, PaginationConfig={"PageSize": 1}))
    assert [len(p["Certificates"]) for p in pages] == [1, 1]
    iam.update_signing_certificate(UserName=user, CertificateId=c["CertificateId"], Status="Inactive")
    statuses = {x["CertificateId"]: x["Status"] for x in iam.list_signing_certificates(UserName=user)["Certificates"]}
    assert statuses[c["CertificateId"]] == "Inactive"
    expect_client_error(lambda: iam.update_signing_certificate(UserName=other, CertificateId=c["CertificateId"], Status="Active"),
                        "NoSuchEntity", f"The Certificate with id {c['CertificateId']} cannot be found.", 404)
    expect_client_error(lambda: iam.delete_user(UserName=user), "DeleteConflict",
                        "Cannot delete entity, must delete signing certificates first.", 409)
    for x in listed:
        iam.delete_signing_certificate(UserName=user, CertificateId=x["CertificateId"])
    iam.delete_user(UserName=user)
    iam.delete_user(UserName=other)


def test_signing_certificate_of_the_caller_with_the_aws_cli(server):
    user, creds = server.create_user_with_key("clisigner")
    body = cert_pem(make_cert(user, rsa_key()))
    r = server.aws("iam", "upload-signing-certificate", "--certificate-body", body, creds=creds, check=False)
    assert r.error_code == "AccessDenied", r.stderr
    assert r.error_message.startswith(not_authorized(server.arn(f"user/{user}"), "iam:UploadSigningCertificate",
                                                     server.arn(f"user/{user}"))), r.stderr
    server.boto3_client("iam").put_user_policy(UserName=user, PolicyName="own", PolicyDocument=allow_doc(
        ["iam:UploadSigningCertificate", "iam:ListSigningCertificates", "iam:DeleteSigningCertificate"],
        resource="arn:aws:iam::*:user/${aws:username}"))
    out = server.aws("iam", "upload-signing-certificate", "--certificate-body", body, creds=creds)
    assert out["Certificate"]["UserName"] == user
    listed = server.aws("iam", "list-signing-certificates", creds=creds)["Certificates"]
    assert [x["CertificateId"] for x in listed] == [out["Certificate"]["CertificateId"]]
    server.aws("iam", "delete-signing-certificate", "--certificate-id", out["Certificate"]["CertificateId"], creds=creds)


def test_ssh_public_keys_boto3(server, iam):
    user = unique("sshuser")
    iam.create_user(UserName=user)
    k = rsa_key()
    line = openssh(k)
    got = iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=line)["SSHPublicKey"]
    key_id = got["SSHPublicKeyId"]
    assert key_id.startswith("APKA") and len(key_id) == 20
    assert got["Fingerprint"] == md5_fingerprint(line)
    assert (got["SSHPublicKeyBody"], got["Status"], got["UserName"]) == (line, "Active", user)
    spki = k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    expect_client_error(lambda: iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=spki), "DuplicateSSHPublicKey",
                        "The SSH public key is already associated with the specified IAM user.", 400)
    as_ssh = iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Encoding="SSH")["SSHPublicKey"]
    assert as_ssh["SSHPublicKeyBody"] == line.rsplit(" ", 1)[0]
    as_pem = iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Encoding="PEM")["SSHPublicKey"]
    assert as_pem["SSHPublicKeyBody"] == spki and as_pem["Fingerprint"] == got["Fingerprint"]
    ed = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKzvfE+qS09w+okgrO0gY7jryF0lSCxdEO/O0UaUhuZe x"
    ec_pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    for text, code in [(ed, "UnrecognizedPublicKeyEncoding"), (ec_pem, "UnrecognizedPublicKeyEncoding"),
                       ("hello", "InvalidPublicKey"), ("ssh-rsa AAAA", "InvalidPublicKey"),
                       (openssh(rsa_key(1024)), "InvalidPublicKey"), (line + "\n" + line, "InvalidPublicKey")]:
        expect_client_error(lambda: iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=text), code, status=400)
    for _ in range(4):
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=openssh(rsa_key()))
    expect_client_error(lambda: iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=openssh(rsa_key())),
                        "LimitExceeded", "Cannot exceed quota for SSHPublicKeysPerUser: 5", 409)
    iam.update_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Status="Inactive")
    keys = iam.list_ssh_public_keys(UserName=user)["SSHPublicKeys"]
    assert len(keys) == 5 and {x["SSHPublicKeyId"]: x["Status"] for x in keys}[key_id] == "Inactive"
    assert all(set(x) == {"UserName", "SSHPublicKeyId", "Status", "UploadDate"} for x in keys)
    expect_client_error(lambda: iam.delete_user(UserName=user), "DeleteConflict",
                        "Cannot delete entity, must delete SSH public keys first.", 409)
    expect_client_error(lambda: iam.get_ssh_public_key(UserName=user, SSHPublicKeyId="APKA" + "Z" * 16, Encoding="SSH"),
                        "NoSuchEntity", f"The Public Key with id APKA{'Z' * 16} cannot be found.", 404)
    raw = server.boto3_client("iam", validate=False)
    expect_client_error(lambda: raw.get_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Encoding="DER"),
                        "ValidationError", prefix="1 validation error detected: Value 'DER' at 'encoding'")
    for x in keys:
        iam.delete_ssh_public_key(UserName=user, SSHPublicKeyId=x["SSHPublicKeyId"])
    iam.delete_user(UserName=user)


def test_ssh_public_key_with_the_aws_cli(server):
    user = unique("sshcli")
    server.aws("iam", "create-user", "--user-name", user)
    line = openssh(rsa_key())
    out = server.aws("iam", "upload-ssh-public-key", "--user-name", user, "--ssh-public-key-body", line)["SSHPublicKey"]
    got = server.aws("iam", "get-ssh-public-key", "--user-name", user, "--ssh-public-key-id", out["SSHPublicKeyId"],
                     "--encoding", "PEM")["SSHPublicKey"]
    assert got["SSHPublicKeyBody"].startswith("-----BEGIN PUBLIC KEY-----")
    r = server.aws("iam", "upload-ssh-public-key", "--user-name", user, "--ssh-public-key-body", "nope", check=False)
    assert r.error_code == "InvalidPublicKey", r.stderr
    server.aws("iam", "delete-ssh-public-key", "--user-name", user, "--ssh-public-key-id", out["SSHPublicKeyId"])
    server.aws("iam", "delete-user", "--user-name", user)


def test_server_certificates_boto3(server, iam):
    root_k, mid_k, leaf_k = rsa_key(), rsa_key(), rsa_key()
    root = make_cert("Interop Root", root_k, not_after=NOW + 900 * DAY)
    mid = make_cert("Interop Mid", mid_k, root, root_k, not_after=NOW + 800 * DAY)
    leaf = make_cert("www.example.test", leaf_k, mid, mid_k, not_after=NOW + 90 * DAY)
    name, prefix = unique("srv"), f"/{unique('p')}/"
    chain = cert_pem(mid) + cert_pem(root)
    up = iam.upload_server_certificate(ServerCertificateName=name, Path=prefix, CertificateBody=cert_pem(leaf),
                                       CertificateChain=chain, PrivateKey=key_pem(leaf_k, serialization.PrivateFormat.TraditionalOpenSSL),
                                       Tags=[{"Key": "env", "Value": "test"}])
    m = up["ServerCertificateMetadata"]
    assert m["Arn"] == server.arn(f"server-certificate{prefix}{name}")
    assert m["ServerCertificateId"].startswith("ASCA") and len(m["ServerCertificateId"]) == 21
    assert m["Expiration"].replace(microsecond=0) == leaf.not_valid_after_utc.replace(microsecond=0)
    assert up["Tags"] == [{"Key": "env", "Value": "test"}]
    got = iam.get_server_certificate(ServerCertificateName=name)["ServerCertificate"]
    assert got["CertificateBody"] == cert_pem(leaf) and got["CertificateChain"] == chain
    assert "PrivateKey" not in json.dumps(got, default=str)

    other_k = rsa_key()
    enc = key_pem(leaf_k, enc=serialization.BestAvailableEncryption(b"pw"))
    cases = [
        (cert_pem(leaf), None, key_pem(other_k), "KeyPairMismatch", MISMATCH),
        ("garbage", None, key_pem(leaf_k), "MalformedCertificate", NOT_PEM),
        (cert_pem(make_cert("old", leaf_k, not_before=NOW - 9 * DAY, not_after=NOW - DAY)), None, key_pem(leaf_k),
         "MalformedCertificate", "The certificate has expired."),
        (cert_pem(leaf), cert_pem(root) + cert_pem(mid), key_pem(leaf_k), "MalformedCertificate", CHAIN.format(1)),
        (cert_pem(leaf), cert_pem(mid) + cert_pem(leaf), key_pem(leaf_k), "MalformedCertificate", CHAIN.format(2)),
        (cert_pem(leaf), None, enc, "MalformedCertificate", BAD_KEY),
        (cert_pem(leaf), None, "not a key", "MalformedCertificate", BAD_KEY),
    ]
    for body, ch, key, code, message in cases:
        kw = {"CertificateChain": ch} if ch else {}
        expect_client_error(lambda: iam.upload_server_certificate(ServerCertificateName=unique("bad"), CertificateBody=body,
                                                                  PrivateKey=key, **kw), code, message, 400)
    expect_client_error(lambda: iam.upload_server_certificate(ServerCertificateName=name.upper(), CertificateBody=cert_pem(leaf),
                                                              PrivateKey=key_pem(leaf_k)),
                        "EntityAlreadyExists", f"The Server Certificate with name {name.upper()} already exists.", 409)

    second = unique("srv")
    k2 = rsa_key()
    iam.upload_server_certificate(ServerCertificateName=second, Path=prefix, CertificateBody=cert_pem(make_cert("b", k2)),
                                  PrivateKey=key_pem(k2))
    pages = list(iam.get_paginator("list_server_certificates").paginate(PathPrefix=prefix, PaginationConfig={"PageSize": 1}))
    assert [p["ServerCertificateMetadataList"][0]["ServerCertificateName"] for p in pages] == sorted([name, second])
    assert [p["IsTruncated"] for p in pages] == [True, False]
    expect_client_error(lambda: iam.list_server_certificates(Marker="not-a-tessera-marker"), "ValidationError", "Invalid Marker.", 400)

    renamed, moved = unique("srvnew"), f"/{unique('q')}/"
    expect_client_error(lambda: iam.update_server_certificate(ServerCertificateName=name, NewServerCertificateName=second),
                        "EntityAlreadyExists", f"The Server Certificate with name {second} already exists.", 409)
    iam.update_server_certificate(ServerCertificateName=name, NewServerCertificateName=renamed, NewPath=moved)
    expect_client_error(lambda: iam.get_server_certificate(ServerCertificateName=name), "NoSuchEntity",
                        f"The Server Certificate with name {name} cannot be found.", 404)
    meta = iam.get_server_certificate(ServerCertificateName=renamed)["ServerCertificate"]["ServerCertificateMetadata"]
    assert meta["Arn"] == server.arn(f"server-certificate{moved}{renamed}") and meta["ServerCertificateId"] == m["ServerCertificateId"]

    iam.tag_server_certificate(ServerCertificateName=renamed, Tags=[{"Key": "team", "Value": "edge"}])
    iam.untag_server_certificate(ServerCertificateName=renamed, TagKeys=["ENV"])
    assert iam.list_server_certificate_tags(ServerCertificateName=renamed)["Tags"] == [{"Key": "team", "Value": "edge"}]
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["ServerCertificates"] >= 2 and summary["ServerCertificatesQuota"] == 20

    user, creds = server.create_user_with_key("srvreader")
    reader = server.boto3_client("iam", creds)
    expect_client_error(lambda: reader.get_server_certificate(ServerCertificateName=renamed), "AccessDenied",
                        not_authorized(server.arn(f"user/{user}"), "iam:GetServerCertificate",
                                       server.arn(f"server-certificate{moved}{renamed}")), 403)
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=allow_doc(
        ["iam:GetServerCertificate"], resource=server.arn(f"server-certificate{moved}*")))
    assert reader.get_server_certificate(ServerCertificateName=renamed)["ServerCertificate"]["CertificateBody"] == cert_pem(leaf)

    iam.delete_server_certificate(ServerCertificateName=renamed)
    iam.delete_server_certificate(ServerCertificateName=second)
    expect_client_error(lambda: iam.delete_server_certificate(ServerCertificateName=renamed), "NoSuchEntity", status=404)


def test_server_certificate_with_the_aws_cli(server, tmp_path):
    k = rsa_key()
    (tmp_path / "cert.pem").write_text(cert_pem(make_cert("cli.example.test", k)))
    (tmp_path / "key.pem").write_text(key_pem(k))
    name = unique("clisrv")
    out = server.aws("iam", "upload-server-certificate", "--server-certificate-name", name,
                     "--certificate-body", f"file://{tmp_path / 'cert.pem'}", "--private-key", f"file://{tmp_path / 'key.pem'}")
    assert out["ServerCertificateMetadata"]["ServerCertificateName"] == name
    listed = server.aws("iam", "list-server-certificates")["ServerCertificateMetadataList"]
    assert name in [x["ServerCertificateName"] for x in listed]
    (tmp_path / "other.pem").write_text(key_pem(rsa_key()))
    r = server.aws("iam", "upload-server-certificate", "--server-certificate-name", unique("clisrv"),
                   "--certificate-body", f"file://{tmp_path / 'cert.pem'}", "--private-key", f"file://{tmp_path / 'other.pem'}",
                   check=False)
    assert r.error_code == "KeyPairMismatch" and r.error_message == MISMATCH, r.stderr
    server.aws("iam", "delete-server-certificate", "--server-certificate-name", name)
