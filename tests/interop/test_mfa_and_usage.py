"""Virtual MFA devices (QR code, tags, GetMFADevice, ResyncMFADevice) and access key last use
(GetAccessKeyLastUsed) through unmodified boto3 and the aws CLI, including their errors and
last-use data surviving a graceful restart."""

from __future__ import annotations

import base64
import struct
import time
import zlib

import pytest

from tessera_harness import (
    allow_doc,
    b32decode_seed,
    current_step,
    expect_client_error,
    not_authorized,
    totp_at_step,
    unique,
)

pytestmark = pytest.mark.usefixtures("no_server_faults")

INVALID_CODES = "Authentication code for device is not valid."


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and rows of an 8-bit greyscale PNG, with the standard library only."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert (depth, color) == (8, 0), "8-bit greyscale"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    rows, prev = [], bytes(width)
    for y in range(height):
        line = raw[y * (width + 1):(y + 1) * (width + 1)]
        f, cur = line[0], bytearray(line[1:])
        for x in range(width):
            a = cur[x - 1] if x else 0
            b, c = prev[x], prev[x - 1] if x else 0
            if f == 1:
                cur[x] = (cur[x] + a) & 0xFF
            elif f == 2:
                cur[x] = (cur[x] + b) & 0xFF
            elif f == 3:
                cur[x] = (cur[x] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                cur[x] = (cur[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(cur))
        prev = bytes(cur)
    return width, height, rows


def assert_qr_symbol(data: bytes) -> None:
    """A QR symbol: square, white quiet zone, and the three finder patterns (7x7 modules: dark
    ring, light ring, dark 3x3 core) where ISO/IEC 18004 puts them."""
    w, h, rows = png_pixels(data)
    assert w == h and w >= 21 * 6
    dark = lambda x, y: rows[y][x] < 128  # noqa: E731
    quiet, scale = 4 * 6, 6
    modules = (w - 2 * quiet) // scale
    assert not any(dark(x, 0) for x in range(w)), "quiet zone"
    for ox, oy in [(0, 0), (modules - 7, 0), (0, modules - 7)]:
        px = lambda mx, my: dark(quiet + (ox + mx) * scale + 2, quiet + (oy + my) * scale + 2)  # noqa: E731
        assert all(px(i, 0) and px(i, 6) and px(0, i) and px(6, i) for i in range(7))
        assert not any(px(i, 1) or px(1, i) for i in range(1, 6))
        assert all(px(2 + i, 2 + j) for i in range(3) for j in range(3))


def test_virtual_mfa_device_qr_tags_and_get_boto3(server, iam):
    name, user = unique("phone"), unique("mfauser")
    iam.create_user(UserName=user)
    dev = iam.create_virtual_mfa_device(VirtualMFADeviceName=name, Path="/team/",
                                        Tags=[{"Key": "owner", "Value": user}])["VirtualMFADevice"]
    serial = dev["SerialNumber"]
    assert serial == server.arn(f"mfa/team/{name}")
    assert dev["Tags"] == [{"Key": "owner", "Value": user}]
    assert_qr_symbol(dev["QRCodePNG"])
    seed = b32decode_seed(dev["Base32StringSeed"])

    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [{"Key": "owner", "Value": user}]
    iam.tag_mfa_device(SerialNumber=serial, Tags=[{"Key": "OWNER", "Value": "ops"}, {"Key": "cost", "Value": "1"}])
    iam.untag_mfa_device(SerialNumber=serial, TagKeys=["COST"])
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [{"Key": "OWNER", "Value": "ops"}]
    expect_client_error(lambda: iam.tag_mfa_device(SerialNumber=serial, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)]),
                        "LimitExceeded", "Cannot exceed quota for TagsPerMFADevice: 50", 409)
    missing = server.arn("mfa/none-such")
    for call in (lambda: iam.list_mfa_device_tags(SerialNumber=missing),
                 lambda: iam.untag_mfa_device(SerialNumber=missing, TagKeys=["a"]),
                 lambda: iam.get_mfa_device(SerialNumber=missing, UserName=user)):
        expect_client_error(call, "NoSuchEntity", f"MFA Device with serial number {missing} does not exist.", 404)
    raw = server.boto3_client("iam", validate=False)
    # As for every Tag* action here: no tag at all is a missing parameter.
    expect_client_error(lambda: raw.tag_mfa_device(SerialNumber=serial, Tags=[]), "MissingParameter",
                        "The request must contain the parameter Tags.", 400)
    expect_client_error(lambda: raw.get_mfa_device(SerialNumber="short"), "ValidationError", status=400)

    # Not enabled yet: GetMFADevice does not know it for the user.
    expect_client_error(lambda: iam.get_mfa_device(SerialNumber=serial, UserName=user), "NoSuchEntity", status=404)
    step = current_step()
    iam.enable_mfa_device(UserName=user, SerialNumber=serial,
                          AuthenticationCode1=totp_at_step(seed, step - 1), AuthenticationCode2=totp_at_step(seed, step))
    got = iam.get_mfa_device(SerialNumber=serial, UserName=user)
    assert got["UserName"] == user and got["SerialNumber"] == serial
    assert abs(got["EnableDate"].timestamp() - time.time()) < 120
    assert "Certifications" not in got
    expect_client_error(lambda: iam.get_mfa_device(SerialNumber=serial, UserName=unique("ghost")), "NoSuchEntity", status=404)
    iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    iam.delete_user(UserName=user)


def test_create_virtual_mfa_device_cli_writes_the_qr_png(server, tmp_path):
    name = unique("cliphone")
    png = tmp_path / "qr.png"
    out = server.aws("iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", name,
                     "--outfile", str(png), "--bootstrap-method", "QRCodePNG")
    assert out["VirtualMFADevice"]["SerialNumber"] == server.arn(f"mfa/{name}")
    assert_qr_symbol(png.read_bytes())
    seed_file = tmp_path / "seed.txt"
    other = unique("cliseed")
    server.aws("iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", other,
               "--outfile", str(seed_file), "--bootstrap-method", "Base32StringSeed")
    assert len(b32decode_seed(seed_file.read_bytes())) == 20
    tags = server.aws("iam", "list-mfa-device-tags", "--serial-number", server.arn(f"mfa/{name}"))
    assert tags["Tags"] == []


def test_resync_mfa_device_boto3_and_cli(server, iam):
    user, creds = server.create_user_with_key("resync")
    dev = iam.create_virtual_mfa_device(VirtualMFADeviceName=unique("slow"))["VirtualMFADevice"]
    serial, seed = dev["SerialNumber"], b32decode_seed(dev["Base32StringSeed"])
    step = current_step()
    iam.enable_mfa_device(UserName=user, SerialNumber=serial,
                          AuthenticationCode1=totp_at_step(seed, step - 1), AuthenticationCode2=totp_at_step(seed, step))
    # The phone's clock now runs eight steps (four minutes) fast. (One that went back would
    # show codes of steps already used: refused for good.)
    fast = lambda s: totp_at_step(seed, s + 8)  # noqa: E731
    step = current_step()
    expect_client_error(lambda: iam.resync_mfa_device(UserName=user, SerialNumber=serial,
                                                      AuthenticationCode1=fast(step + 1), AuthenticationCode2=fast(step)),
                        "InvalidAuthenticationCode", INVALID_CODES, 403)
    r = server.aws("iam", "resync-mfa-device", "--user-name", user, "--serial-number", serial,
                   "--authentication-code1", "000000", "--authentication-code2", "000001", check=False)
    assert (r.error_code, r.error_message) == ("InvalidAuthenticationCode", INVALID_CODES)
    expect_client_error(lambda: iam.resync_mfa_device(UserName=unique("ghost"), SerialNumber=serial,
                                                      AuthenticationCode1="123456", AuthenticationCode2="234567"),
                        "NoSuchEntity", status=404)
    server.aws("iam", "resync-mfa-device", "--user-name", user, "--serial-number", serial,
               "--authentication-code1", fast(step - 1), "--authentication-code2", fast(step))
    # The fast phone's next code now opens a session; the resync codes themselves are spent.
    sts = server.boto3_client("sts", creds)
    expect_client_error(lambda: sts.get_session_token(SerialNumber=serial, TokenCode=fast(step)), "AccessDenied", status=403)
    for _ in range(40):
        if current_step() > step:
            break
        time.sleep(1)
    got = sts.get_session_token(SerialNumber=serial, TokenCode=fast(current_step()))
    assert got["Credentials"]["AccessKeyId"].startswith("ASIA")
    # Without a policy the user may not resync its own device.
    mine = server.boto3_client("iam", creds)
    expect_client_error(lambda: mine.resync_mfa_device(UserName=user, SerialNumber=serial,
                                                       AuthenticationCode1="123456", AuthenticationCode2="234567"),
                        "AccessDenied", not_authorized(server.arn(f"user/{user}"), "iam:ResyncMFADevice", server.arn(f"user/{user}")), 403)


def test_get_access_key_last_used_boto3_and_cli(server, iam):
    user, creds = server.create_user_with_key("lastused")
    key = creds.access_key_id
    never = iam.get_access_key_last_used(AccessKeyId=key)
    assert never["UserName"] == user
    assert never["AccessKeyLastUsed"] == {"ServiceName": "N/A", "Region": "N/A"}
    server.boto3_client("sts", creds, region="eu-north-1").get_caller_identity()
    used = iam.get_access_key_last_used(AccessKeyId=key)["AccessKeyLastUsed"]
    assert (used["Region"], used["ServiceName"]) == ("eu-north-1", "sts")
    assert abs(used["LastUsedDate"].timestamp() - time.time()) < 120
    cli = server.aws("iam", "get-access-key-last-used", "--access-key-id", key)
    assert cli["UserName"] == user and cli["AccessKeyLastUsed"]["Region"] == "eu-north-1"
    # A key that is not the account's: AccessDenied, saying nothing about the key (another
    # account's key gets the same answer: tests/iam_identity.rs).
    for other in ("AKIAUNKNOWNKEY000000", "AKIAIOSFODNN7EXAMPLE"):
        expect_client_error(lambda: iam.get_access_key_last_used(AccessKeyId=other), "AccessDenied",
                            not_authorized(server.arn("root"), "iam:GetAccessKeyLastUsed", f"access key {other}"), 403)
    r = server.aws("iam", "get-access-key-last-used", "--access-key-id", "AKIA-NOT-A-KEY-00001", check=False)
    assert r.error_code == "ValidationError"
    mine = server.boto3_client("iam", creds)
    expect_client_error(lambda: mine.get_access_key_last_used(AccessKeyId=key), "AccessDenied",
                        not_authorized(server.arn(f"user/{user}"), "iam:GetAccessKeyLastUsed", server.arn(f"user/{user}")), 403)
    iam.put_user_policy(UserName=user, PolicyName="own", PolicyDocument=allow_doc("iam:GetAccessKeyLastUsed", server.arn(f"user/{user}")))
    assert mine.get_access_key_last_used(AccessKeyId=key)["UserName"] == user


def test_last_use_survives_a_graceful_restart(new_server):
    s = new_server("lastuse")
    _, creds = s.create_user_with_key("restart")
    s.boto3_client("sts", creds, region="ca-central-1").get_caller_identity()
    before = s.boto3_client("iam").get_access_key_last_used(AccessKeyId=creds.access_key_id)["AccessKeyLastUsed"]
    assert before["Region"] == "ca-central-1"
    # SIGINT: the server writes what it recorded before it exits (well within the minute
    # between periodic writes).
    s.restart(kill9=False)
    after = s.boto3_client("iam").get_access_key_last_used(AccessKeyId=creds.access_key_id)["AccessKeyLastUsed"]
    assert after == before
