//! Negative and positive cases for every parser of uploaded key material, with keys and
//! certificates made at test time.

use super::*;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::rsa::Rsa;
use openssl::x509::{X509Builder, X509NameBuilder};

fn rsa_key(bits: u32) -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap()
}

/// A certificate for `cn` with `key`, signed by `issuer` (or itself), valid from `from` to
/// `to` (unix seconds).
fn cert(
    cn: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    from: i64,
    to: i64,
) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(7).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(from).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(to).unwrap()).unwrap();
    match issuer {
        Some((ic, ik)) => {
            b.set_issuer_name(ic.subject_name()).unwrap();
            b.sign(ik, MessageDigest::sha256()).unwrap();
        }
        None => {
            b.set_issuer_name(&name).unwrap();
            b.sign(key, MessageDigest::sha256()).unwrap();
        }
    }
    b.build()
}

const NOW: i64 = 1_800_000_000;
const DAY: i64 = 86_400;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(NOW, 0).unwrap()
}

fn pem(c: &X509) -> String {
    String::from_utf8(c.to_pem().unwrap()).unwrap()
}

fn key_pem(k: &PKey<Private>) -> String {
    String::from_utf8(k.private_key_to_pem_pkcs8().unwrap()).unwrap()
}

#[test]
fn pem_framing_is_strict() {
    let k = rsa_key(2048);
    let c = pem(&cert("a", &k, None, NOW - DAY, NOW + DAY));
    assert_eq!(pem_blocks(&c, 1).unwrap().len(), 1);
    // CRLF and surrounding whitespace are fine.
    assert!(pem_blocks(&format!("\n  {}\n", c.replace('\n', "\r\n")), 1).is_ok());
    let cases: &[(String, PemError)] = &[
        (String::new(), PemError::Empty),
        ("   \n".to_owned(), PemError::Empty),
        (format!("junk\n{c}"), PemError::Stray),
        (format!("{c}junk\n"), PemError::Stray),
        (format!("{c}{c}"), PemError::TooMany),
        (
            c.replace("-----END CERTIFICATE-----\n", ""),
            PemError::Unterminated,
        ),
        (
            c.replace("END CERTIFICATE", "END PRIVATE KEY"),
            PemError::LabelMismatch,
        ),
        (c.replacen("MII", "MI*", 1), PemError::Base64),
        (c.replacen("MII", "MI", 1), PemError::Base64),
        (
            "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n".to_owned(),
            PemError::Base64,
        ),
        (
            c.replacen("-----\n", "-----\nProc-Type: 4,ENCRYPTED\n", 1),
            PemError::Base64,
        ),
    ];
    for (text, want) in cases {
        assert_eq!(pem_blocks(text, 1).unwrap_err(), *want, "{text:?}");
    }
}

#[test]
fn certificates_parse_and_check_validity() {
    let k = rsa_key(2048);
    let c = cert("a", &k, None, NOW - DAY, NOW + DAY);
    let parsed = parse_certificate(&pem(&c)).unwrap();
    assert_eq!(parsed.not_before.timestamp(), NOW - DAY);
    assert_eq!(parsed.not_after.timestamp(), NOW + DAY);
    assert!(parsed.has_rsa_key());
    assert_eq!(parsed.fingerprint().len(), 64);
    parsed.check_validity(now()).unwrap();
    let old = parse_certificate(&pem(&cert("a", &k, None, NOW - 2 * DAY, NOW - DAY))).unwrap();
    assert_eq!(old.check_validity(now()).unwrap_err(), CertError::Expired);
    let young = parse_certificate(&pem(&cert("a", &k, None, NOW + DAY, NOW + 2 * DAY))).unwrap();
    assert_eq!(
        young.check_validity(now()).unwrap_err(),
        CertError::NotYetValid
    );
}

#[test]
fn non_certificates_are_refused() {
    use base64::Engine as _;
    let k = rsa_key(2048);
    let c = cert("a", &k, None, NOW - DAY, NOW + DAY);
    let mut der = c.to_der().unwrap();
    let wrap = |label: &str, der: &[u8]| {
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        )
    };
    // Trailing bytes inside the block, a truncated DER, a private key, garbage.
    let mut trailing = der.clone();
    trailing.extend_from_slice(&[0, 0]);
    let truncated = &der[..der.len() / 2];
    for text in [
        wrap("CERTIFICATE", &trailing),
        wrap("CERTIFICATE", truncated),
        wrap("CERTIFICATE", b"not der at all"),
        key_pem(&k),
        wrap("X509 CRL", &der),
        "hello".to_owned(),
        "x".repeat(16_384),
    ] {
        assert_eq!(
            parse_certificate(&text).unwrap_err(),
            CertError::NotPem,
            "{text:.60}"
        );
    }
    // One flipped bit in the signature still parses (the signature is not the body's
    // business) but a flipped bit in the structure does not.
    let last = der.len() - 1;
    der[last] ^= 1;
    assert!(parse_certificate(&wrap("CERTIFICATE", &der)).is_ok());
    der[1] ^= 0x40;
    assert!(parse_certificate(&wrap("CERTIFICATE", &der)).is_err());
}

#[test]
fn chains_must_link_in_order() {
    let root_k = rsa_key(2048);
    let root = cert("root", &root_k, None, NOW - DAY, NOW + 9 * DAY);
    let mid_k = rsa_key(2048);
    let mid = cert(
        "mid",
        &mid_k,
        Some((&root, &root_k)),
        NOW - DAY,
        NOW + 9 * DAY,
    );
    let leaf_k = rsa_key(2048);
    let leaf = cert(
        "leaf",
        &leaf_k,
        Some((&mid, &mid_k)),
        NOW - DAY,
        NOW + 9 * DAY,
    );
    let body = parse_certificate(&pem(&leaf)).unwrap();
    let good = parse_chain(&format!("{}{}", pem(&mid), pem(&root))).unwrap();
    check_chain(&body, &good).unwrap();
    // Intermediate only is fine too.
    check_chain(&body, &parse_chain(&pem(&mid)).unwrap()).unwrap();
    // Wrong order: the root does not sign the leaf.
    let reversed = parse_chain(&format!("{}{}", pem(&root), pem(&mid))).unwrap();
    assert_eq!(
        check_chain(&body, &reversed).unwrap_err(),
        CertError::Chain(1)
    );
    // The leaf repeated at the head of the chain.
    let repeated = parse_chain(&format!("{}{}", pem(&leaf), pem(&mid))).unwrap();
    assert_eq!(
        check_chain(&body, &repeated).unwrap_err(),
        CertError::Chain(1)
    );
    // A chain whose second certificate does not sign the first.
    let broken = parse_chain(&format!("{}{}", pem(&mid), pem(&leaf))).unwrap();
    assert_eq!(
        check_chain(&body, &broken).unwrap_err(),
        CertError::Chain(2)
    );
    // Garbage in a chain names its place.
    assert_eq!(
        parse_chain(&format!("{}{}", pem(&mid), key_pem(&mid_k))).unwrap_err(),
        CertError::Chain(2)
    );
    // A same-named impostor (right name, other key) does not pass.
    let fake_mid = cert(
        "mid",
        &rsa_key(2048),
        Some((&root, &root_k)),
        NOW - DAY,
        NOW + DAY,
    );
    let impostor = parse_chain(&pem(&fake_mid)).unwrap();
    assert_eq!(
        check_chain(&body, &impostor).unwrap_err(),
        CertError::Chain(1)
    );
}

#[test]
fn private_keys_must_match_the_certificate() {
    let k = rsa_key(2048);
    let c = parse_certificate(&pem(&cert("a", &k, None, NOW - DAY, NOW + DAY))).unwrap();
    let sealed = parse_private_key_for(&key_pem(&k), &c).unwrap();
    assert!(sealed.expose().starts_with("-----BEGIN PRIVATE KEY-----"));
    // PKCS#1 too.
    let pkcs1 = String::from_utf8(k.rsa().unwrap().private_key_to_pem().unwrap()).unwrap();
    assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    parse_private_key_for(&pkcs1, &c).unwrap();
    // Another key.
    let other = rsa_key(2048);
    assert_eq!(
        parse_private_key_for(&key_pem(&other), &c).unwrap_err(),
        CertError::KeyMismatch
    );
    // EC keys work for EC certificates.
    let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
    let ec = PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap()).unwrap();
    let ec_cert = parse_certificate(&pem(&cert("e", &ec, None, NOW - DAY, NOW + DAY))).unwrap();
    assert!(!ec_cert.has_rsa_key());
    let sec1 = String::from_utf8(ec.ec_key().unwrap().private_key_to_pem().unwrap()).unwrap();
    parse_private_key_for(&sec1, &ec_cert).unwrap();
    assert_eq!(
        parse_private_key_for(&key_pem(&k), &ec_cert).unwrap_err(),
        CertError::KeyMismatch
    );
    // Encrypted, garbage, two keys, a certificate where the key should be.
    let encrypted = String::from_utf8(
        k.private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_128_cbc(), b"pw")
            .unwrap(),
    )
    .unwrap();
    for text in [
        encrypted,
        "nope".to_owned(),
        format!("{}{}", key_pem(&k), key_pem(&k)),
        pem(&cert("a", &k, None, NOW - DAY, NOW + DAY)),
    ] {
        assert_eq!(
            parse_private_key_for(&text, &c).unwrap_err(),
            CertError::PrivateKey,
            "{text:.40}"
        );
    }
    // An RSA key whose private half does not fit its public half.
    let rsa = k.rsa().unwrap();
    let bad = Rsa::from_private_components(
        rsa.n().to_owned().unwrap(),
        rsa.e().to_owned().unwrap(),
        BigNum::from_u32(12345).unwrap(),
        rsa.p().unwrap().to_owned().unwrap(),
        rsa.q().unwrap().to_owned().unwrap(),
        rsa.dmp1().unwrap().to_owned().unwrap(),
        rsa.dmq1().unwrap().to_owned().unwrap(),
        rsa.iqmp().unwrap().to_owned().unwrap(),
    )
    .unwrap();
    let bad = String::from_utf8(bad.private_key_to_pem().unwrap()).unwrap();
    assert_eq!(
        parse_private_key_for(&bad, &c).unwrap_err(),
        CertError::PrivateKey
    );
    // A key with a modulus beyond MAX_PRIVATE_RSA_BITS (and nonsense primes) is refused.
    let big = |bits: u32| {
        let mut n = BigNum::new().unwrap();
        n.set_bit(i32::try_from(bits - 1).unwrap()).unwrap();
        n.set_bit(0).unwrap();
        n
    };
    let one = || BigNum::from_u32(3).unwrap();
    let huge = Rsa::from_private_components(
        big(MAX_PRIVATE_RSA_BITS + 8),
        BigNum::from_u32(65537).unwrap(),
        one(),
        one(),
        one(),
        one(),
        one(),
        one(),
    )
    .unwrap();
    let huge = String::from_utf8(huge.private_key_to_pem().unwrap()).unwrap();
    assert_eq!(
        parse_private_key_for(&huge, &c).unwrap_err(),
        CertError::PrivateKey
    );
}

fn openssh(k: &PKey<Private>) -> String {
    let rsa = k.rsa().unwrap();
    SshPublicKey {
        n: rsa.n().to_vec(),
        e: rsa.e().to_vec(),
    }
    .to_openssh()
}

#[test]
fn ssh_keys_in_either_encoding_give_one_fingerprint() {
    let k = rsa_key(2048);
    let line = format!("{} alice@laptop\n", openssh(&k));
    let a = parse_ssh_public_key(&line).unwrap();
    assert_eq!(a.bits(), 2048);
    let spki = String::from_utf8(k.public_key_to_pem().unwrap()).unwrap();
    let b = parse_ssh_public_key(&spki).unwrap();
    let pkcs1 = String::from_utf8(k.rsa().unwrap().public_key_to_pem_pkcs1().unwrap()).unwrap();
    let c = parse_ssh_public_key(&pkcs1).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
    let fp = a.fingerprint();
    assert_eq!(fp.len(), 47);
    assert_eq!(fp.matches(':').count(), 15);
    // Round trips through both answer encodings.
    assert_eq!(parse_ssh_public_key(&a.to_pem()).unwrap(), a);
    assert_eq!(parse_ssh_public_key(&a.to_openssh()).unwrap(), a);
    assert_eq!(a.to_pem(), spki);
}

#[test]
fn ssh_fingerprint_is_md5_of_the_blob() {
    // A fixed key: the fingerprint is MD5 over the wire blob, as `ssh-keygen -E md5 -l`.
    let n = BigNum::from_hex_str(&format!("c{}", "5".repeat(511))).unwrap();
    let key = SshPublicKey {
        n: n.to_vec(),
        e: vec![1, 0, 1],
    };
    let blob = key.ssh_blob();
    // string "ssh-rsa", mpint 65537, mpint n with a leading zero (high bit set).
    assert_eq!(&blob[..11], b"\0\0\0\x07ssh-rsa");
    assert_eq!(&blob[11..18], b"\0\0\0\x03\x01\0\x01");
    assert_eq!(&blob[18..23], b"\0\0\x01\x01\0");
    let md5 = openssl::hash::hash(MessageDigest::md5(), &blob).unwrap();
    let want: Vec<String> = md5.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(key.fingerprint(), want.join(":"));
}

#[test]
fn bad_ssh_keys_are_refused_with_the_right_reason() {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let k = rsa_key(2048);
    let good = openssh(&k);
    let blob = base64::engine::general_purpose::STANDARD
        .decode(good.split(' ').nth(1).unwrap())
        .unwrap();
    let weak = rsa_key(1024);
    let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
    let ec = PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap()).unwrap();
    let ec_pem = String::from_utf8(ec.public_key_to_pem().unwrap()).unwrap();
    let mut trailing = blob.clone();
    trailing.push(0);
    let mut lying = blob.clone();
    lying[10] = b'b'; // "ssh-rsb"
    let mut huge_len = blob.clone();
    huge_len[11..15].copy_from_slice(&u32::MAX.to_be_bytes());
    let cases: Vec<(String, SshKeyError)> = vec![
        (String::new(), SshKeyError::Malformed),
        ("garbage".to_owned(), SshKeyError::Malformed),
        ("ssh-rsa".to_owned(), SshKeyError::Malformed),
        ("ssh-rsa !!!!".to_owned(), SshKeyError::Malformed),
        (
            format!("ssh-rsa {}", b64(&blob[..blob.len() - 9])),
            SshKeyError::Malformed,
        ),
        (
            format!("ssh-rsa {}", b64(&trailing)),
            SshKeyError::Malformed,
        ),
        (format!("ssh-rsa {}", b64(&lying)), SshKeyError::Malformed),
        (
            format!("ssh-rsa {}", b64(&huge_len)),
            SshKeyError::Malformed,
        ),
        (format!("{good}\nssh-rsa AAAA"), SshKeyError::Malformed),
        (openssh(&weak), SshKeyError::Size),
        (
            String::from_utf8(weak.public_key_to_pem().unwrap()).unwrap(),
            SshKeyError::Size,
        ),
        (
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKzvfE+qS09w+okgrO0gY7jryF0lSCxdEO/O0UaUhuZe x"
                .to_owned(),
            SshKeyError::Unrecognized,
        ),
        (
            "ssh-dss AAAAB3NzaC1kc3M=".to_owned(),
            SshKeyError::Unrecognized,
        ),
        (
            "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY=".to_owned(),
            SshKeyError::Unrecognized,
        ),
        (ec_pem, SshKeyError::Unrecognized),
        (
            "---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----".to_owned(),
            SshKeyError::Unrecognized,
        ),
        (key_pem(&k), SshKeyError::Malformed),
        (
            format!(
                "{0}{0}",
                String::from_utf8(k.public_key_to_pem().unwrap()).unwrap()
            ),
            SshKeyError::Malformed,
        ),
    ];
    for (text, want) in cases {
        assert_eq!(parse_ssh_public_key(&text).unwrap_err(), want, "{text:.60}");
    }
    // mpint rules: a negative number, a needless leading zero.
    let mut neg = Vec::new();
    put_string(&mut neg, b"ssh-rsa");
    put_string(&mut neg, &[1, 0, 1]);
    put_string(&mut neg, &[0x80; 256]);
    assert_eq!(read_ssh_rsa_blob(&neg).unwrap_err(), SshKeyError::Malformed);
    let mut padded = Vec::new();
    put_string(&mut padded, b"ssh-rsa");
    put_string(&mut padded, &[0, 1, 0, 1]);
    put_string(&mut padded, &[0x40; 256]);
    assert_eq!(
        read_ssh_rsa_blob(&padded).unwrap_err(),
        SshKeyError::Malformed
    );
    // An even exponent.
    let even = SshPublicKey {
        n: vec![0xc5; 256],
        e: vec![2],
    };
    assert_eq!(even.check_size().unwrap_err(), SshKeyError::Malformed);
}

#[test]
fn fuzz_entry_survives_odd_inputs() {
    let k = rsa_key(2048);
    let c = pem(&cert("a", &k, None, NOW - DAY, NOW + DAY));
    let pair = format!("{c}\n\n{}", key_pem(&k));
    let line = openssh(&k);
    for input in [
        &b""[..],
        b"\xff\xfe",
        b"-----BEGIN CERTIFICATE-----\n",
        pair.as_bytes(),
        line.as_bytes(),
    ] {
        fuzz_key_material(input);
    }
}
