//! One rule per test: UriEncode, path normalization, query canonicalisation, header trimming,
//! signing key. Interop surprises are named after what they pin down.

use super::support::{Owned, hex};
use crate::sigv4::{
    AuthForm, canonical_headers, canonical_query_string, canonical_uri, signature, signing_key,
    uri_encode,
};

fn enc(b: &[u8], slash: bool) -> String {
    let mut s = String::new();
    uri_encode(b, slash, &mut s);
    s
}

#[test]
fn uri_encode_keeps_only_unreserved() {
    let rows: &[(&[u8], bool, &str)] = &[
        (b"AZaz09-_.~", false, "AZaz09-_.~"),
        (b"a b", false, "a%20b"),
        (b"a+b", false, "a%2Bb"),
        (b"a/b", false, "a%2Fb"),
        (b"a/b", true, "a/b"),
        (b"\xc3\xbc", false, "%C3%BC"),
        (
            b"!*'();:@&=$,?#[]%",
            false,
            "%21%2A%27%28%29%3B%3A%40%26%3D%24%2C%3F%23%5B%5D%25",
        ),
        (b"\x00\xff", false, "%00%FF"),
    ];
    for (input, slash, want) in rows {
        assert_eq!(enc(input, *slash), *want, "{input:?}");
    }
}

#[test]
fn path_is_normalized_then_encoded_again() {
    let rows = [
        ("", "/"),
        ("/", "/"),
        ("/a%20b", "/a%2520b"), // non-S3: the wire path is encoded a second time
        ("/a%2Fb", "/a%252Fb"), // an encoded slash is not a separator
        ("/caf%C3%A9/", "/caf%25C3%25A9/"),
        ("/a b", "/a%20b"), // raw bytes a lenient client sent
        ("//a//b", "/a/b"),
        ("/a/./b", "/a/b"),
        ("/a/../b", "/b"),
        ("/../a", "/a"),
        ("/a/%2E%2E/b", "/a/%252E%252E/b"), // encoded dots are not dot segments
        ("/a~b", "/a~b"),
        ("relative", "/relative"),
    ];
    for (raw, want) in rows {
        assert_eq!(canonical_uri(raw), want, "{raw:?}");
    }
}

/// aws-sigv4 and RFC 3986 keep the slash a trailing dot segment leaves (`/a/.` → `/a/`);
/// botocore's `remove_dot_segments` drops it (`/a`). We follow aws-sigv4 (which AWS maintains
/// for its newest SDKs). Irrelevant to STS/IAM, whose path is always `/`.
#[test]
fn trailing_dot_segment_keeps_slash_like_aws_sigv4_not_botocore() {
    assert_eq!(canonical_uri("/a/."), "/a/");
    assert_eq!(canonical_uri("/a/b/.."), "/a/");
    assert_eq!(canonical_uri("/a/.."), "/");
}

#[test]
fn query_is_decoded_reencoded_and_sorted() {
    let rows = [
        ("", ""),
        ("b=2&a=1", "a=1&b=2"),
        ("a=2&a=10&a=1", "a=1&a=10&a=2"), // repeated keys sorted by value
        ("a+b=c+d", "a%20b=c%20d"),       // '+' is a space (form encoding), sent as %20
        ("a%20b=c", "a%20b=c"),
        ("k=%c3%bc", "k=%C3%BC"), // lowercase escapes re-encoded uppercase
        ("k=%7E%2D", "k=~-"),     // over-encoded unreserved chars decoded
        ("k=%zz&j=%4", "j=%254&k=%25zz"), // malformed escapes stay literal
        ("flag", "flag="),
        ("=v", "=v"),
        ("a=1&&b=2&", "a=1&b=2"), // empty pieces skipped
        ("k=a=b", "k=a%3Db"),
        ("a/=1&a-=2", "a%2F=1&a-=2"), // sort on encoded names: '%' < '-'
    ];
    for (raw, want) in rows {
        assert_eq!(
            canonical_query_string(raw, AuthForm::Header),
            want,
            "{raw:?}"
        );
    }
}

#[test]
fn presigned_query_leaves_out_only_the_signature() {
    let q = "X-Amz-Signature=abc&X-Amz-Date=1&x-amz-signature=keep";
    assert_eq!(
        canonical_query_string(q, AuthForm::Presigned),
        "X-Amz-Date=1&x-amz-signature=keep"
    );
    assert_eq!(
        canonical_query_string("X-Amz-Signatur%65=abc", AuthForm::Presigned),
        ""
    );
    assert_eq!(
        canonical_query_string(q, AuthForm::Header),
        "X-Amz-Date=1&X-Amz-Signature=abc&x-amz-signature=keep"
    );
}

#[test]
fn header_values_trimmed_collapsed_and_joined() {
    let r = Owned::new(
        "GET",
        "/",
        "",
        &[
            ("My-Header1", "  a   b   c  "),
            ("my-header2", "\"a   b   c\""),
            ("MY-HEADER1", "second"),
            ("x-tab", "a\t\tb"),
            ("x-empty", ""),
        ],
        "",
    );
    let names: Vec<String> = ["my-header1", "my-header2", "x-empty", "x-tab"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let got = r.with(|req| canonical_headers(req, &names)).unwrap();
    assert_eq!(
        got,
        "my-header1:a b c,second\nmy-header2:\"a b c\"\nx-empty:\nx-tab:a\t\tb\n"
    );
}

/// aws-sigv4 (and the spec's wording, "sequential spaces") collapse spaces only; botocore's
/// `' '.join(value.split())` also turns inner tabs into one space. No client sends tabs; we
/// follow aws-sigv4. Leading/trailing tabs are stripped (HTTP parsers do that anyway).
#[test]
fn inner_tabs_are_kept_like_aws_sigv4_not_botocore() {
    let r = Owned::new("GET", "/", "", &[("x-t", "\ta \t b\t")], "");
    let got = r
        .with(|req| canonical_headers(req, &["x-t".to_string()]))
        .unwrap();
    assert_eq!(got, "x-t:a \t b\n");
}

/// The AWS documentation's worked example (IAM ListUsers, 2015-08-30).
#[test]
fn signing_key_and_signature_match_the_aws_docs_example() {
    let key = signing_key(
        b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "20150830",
        "us-east-1",
        "iam",
    );
    assert_eq!(
        hex(key.expose()),
        "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
    );
    let sts = "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59";
    assert_eq!(
        hex(&signature(&key, sts)),
        "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    );
    assert_eq!(format!("{key:?}"), "SigningKey(** redacted **)");
}
