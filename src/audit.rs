//! The audit trail: one structured record for every STS call and every IAM write, appended to an
//! [`AuditSink`] and emitted as a JSON line (tracing target `audit`).
//!
//! Records are committed in batches (group commit: with the local sink,
//! [`crate::store::AuditJournal`], the journal task for records that guard credentials, the
//! store's writer thread for the rest): a request that hands out credentials waits until its
//! record's batch is committed (so a `kill -9` never loses the record of issued credentials),
//! but no request does a synchronous write of its own. No secret ever enters a record: no secret
//! key, no session token, no policy document.

use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::escape::first_byte_where;
use crate::rfc3339::{self, Fraction};

/// Where audit records go.
pub trait AuditSink: Send + Sync {
    /// Append one record (a JSON line). With `wait`, resolves once the record is committed
    /// (`true`: it survives any crash of tessera) or is lost (`false`); without, once it is
    /// queued.
    fn append(
        &self,
        time_ms: i64,
        line: String,
        wait: bool,
    ) -> impl std::future::Future<Output = bool> + Send;
}

/// What a handler adds to its request's audit record (filled through [`RequestInfo::note`]).
// The JSON line is written by `to_json`; the `Serialize` derive is its reference in the tests.
#[derive(Debug, Default, Clone)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct Notes {
    /// The entity acted on (role ARN, user ARN, policy ARN ...).
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub target: Option<String>,
    /// The temporary access key id handed out (never the secret or token).
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub issued_access_key_id: Option<String>,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub session_expiration: Option<DateTime<Utc>>,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub session_name: Option<String>,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub source_identity: Option<String>,
    /// The identity provider that vouched for an unsigned caller (its ARN).
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub identity_provider: Option<String>,
    /// Who that provider says the caller is (`sub`, NameID).
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub subject: Option<String>,
    /// The policy decision and why (matched statements, missing keys).
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub decision: Option<String>,
}

#[derive(Debug)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct Record<'a> {
    pub time: DateTime<Utc>,
    pub request_id: &'a str,
    pub service: &'static str,
    pub action: &'a str,
    pub source_ip: IpAddr,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub caller: Option<String>,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub caller_access_key_id: Option<&'a str>,
    /// `allowed` or the AWS error code.
    pub outcome: &'a str,
    /// For refusals: the reason for the log (which check failed), never shown to the client.
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub reason: Option<&'a str>,
    #[cfg_attr(test, serde(flatten))]
    pub notes: Notes,
}

/// The record as one JSON line.
///
/// Written by hand into one pre-sized buffer: this runs on every audited request, and the
/// serde path cost several percent of a worker's CPU. The output is byte for byte what
/// `serde_json::to_string` makes of the `Serialize` derive (field order, `None` fields left
/// out, `notes` flattened, serde_json's string escapes, chrono's serde timestamp); the tests
/// hold the two together.
pub fn to_json(r: &Record<'_>) -> String {
    let n = &r.notes;
    let strings = [
        Some(r.request_id),
        Some(r.action),
        r.caller.as_deref(),
        r.caller_access_key_id,
        Some(r.outcome),
        r.reason,
        n.target.as_deref(),
        n.issued_access_key_id.as_deref(),
        n.session_name.as_deref(),
        n.source_identity.as_deref(),
        n.identity_provider.as_deref(),
        n.subject.as_deref(),
        n.decision.as_deref(),
    ];
    // Keys, punctuation, two timestamps and an address fit in 400 bytes; values rarely need
    // escaping, so their own length is the right guess.
    let mut out =
        String::with_capacity(400 + strings.iter().flatten().map(|s| s.len()).sum::<usize>());
    out.push_str("{\"time\":\"");
    rfc3339::push(&mut out, r.time, Fraction::Auto);
    out.push('"');
    field(&mut out, "request_id", r.request_id);
    field(&mut out, "service", r.service);
    field(&mut out, "action", r.action);
    out.push_str(",\"source_ip\":\"");
    // An address never needs escaping.
    crate::text::push_ip(&mut out, r.source_ip);
    out.push('"');
    opt_field(&mut out, "caller", r.caller.as_deref());
    opt_field(&mut out, "caller_access_key_id", r.caller_access_key_id);
    field(&mut out, "outcome", r.outcome);
    opt_field(&mut out, "reason", r.reason);
    // `Notes`, flattened into the record.
    opt_field(&mut out, "target", n.target.as_deref());
    opt_field(
        &mut out,
        "issued_access_key_id",
        n.issued_access_key_id.as_deref(),
    );
    if let Some(t) = n.session_expiration {
        out.push_str(",\"session_expiration\":\"");
        rfc3339::push(&mut out, t, Fraction::Auto);
        out.push('"');
    }
    opt_field(&mut out, "session_name", n.session_name.as_deref());
    opt_field(&mut out, "source_identity", n.source_identity.as_deref());
    opt_field(
        &mut out,
        "identity_provider",
        n.identity_provider.as_deref(),
    );
    opt_field(&mut out, "subject", n.subject.as_deref());
    opt_field(&mut out, "decision", n.decision.as_deref());
    out.push('}');
    out
}

/// `,"key":"value"`; `key` is one of ours and needs no escaping.
fn field(out: &mut String, key: &str, value: &str) {
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":\"");
    json_escape_into(out, value);
    out.push('"');
}

/// [`field`] when there is a value; nothing at all otherwise.
fn opt_field(out: &mut String, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        field(out, key, v);
    }
}

/// The body of a JSON string, escaped exactly as serde_json does: `"` and `\` get a
/// backslash, `\b \t \n \f \r` their short forms, other control characters `\u00xx` (lowercase
/// hex), and everything else (DEL and all non-ASCII included) is copied as is. Runs of plain
/// bytes are copied whole; every byte that needs escaping is ASCII, so a run always ends on a
/// character boundary.
fn json_escape_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut rest = s;
    // Branch-free, so the scan runs a block at a time.
    let needs_escape = |b: u8| (b < 0x20) | (b == b'"') | (b == b'\\');
    while let Some(i) = first_byte_where(rest.as_bytes(), needs_escape) {
        let Some((plain, tail)) = rest.split_at_checked(i) else {
            break;
        };
        out.push_str(plain);
        let mut bytes = tail.bytes();
        let b = bytes.next().unwrap_or(0);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x08 => out.push_str("\\b"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            0x0c => out.push_str("\\f"),
            b'\r' => out.push_str("\\r"),
            _ => {
                out.push_str("\\u00");
                out.push(char::from(
                    HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'),
                ));
                out.push(char::from(
                    HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0'),
                ));
            }
        }
        rest = tail.get(1..).unwrap_or_default();
    }
    out.push_str(rest);
}

/// Interior-mutable notes carried by [`RequestInfo`].
#[derive(Debug, Default)]
pub struct NoteCell(Mutex<Notes>);

impl NoteCell {
    pub fn update(&self, f: impl FnOnce(&mut Notes)) {
        if let Ok(mut n) = self.0.lock() {
            f(&mut n);
        }
    }

    pub fn take(&self) -> Notes {
        self.0
            .lock()
            .map(|mut n| std::mem::take(&mut *n))
            .unwrap_or_default()
    }
}

impl Clone for NoteCell {
    fn clone(&self) -> Self {
        NoteCell(Mutex::new(
            self.0.lock().map(|n| n.clone()).unwrap_or_default(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use chrono::TimeZone as _;
    use proptest::prelude::*;

    fn reference(r: &Record<'_>) -> String {
        serde_json::to_string(r).unwrap()
    }

    #[test]
    fn assume_role_line() {
        let time = Utc.with_ymd_and_hms(2026, 11, 22, 7, 25, 45).unwrap()
            + chrono::Duration::microseconds(123_456);
        let r = Record {
            time,
            request_id: "rid",
            service: "sts",
            action: "AssumeRole",
            source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            caller: Some("arn:aws:iam::123456789012:user/alice".into()),
            caller_access_key_id: Some("AKIAEXAMPLE"),
            outcome: "allowed",
            reason: None,
            notes: Notes {
                target: Some("arn:aws:iam::123456789012:role/deploy".into()),
                issued_access_key_id: Some("ASIAEXAMPLE".into()),
                session_expiration: Some(Utc.with_ymd_and_hms(2026, 11, 22, 8, 25, 45).unwrap()),
                session_name: Some("s\"1\\\u{1}\u{8}".into()),
                source_identity: None,
                identity_provider: None,
                subject: None,
                decision: None,
            },
        };
        let line = to_json(&r);
        assert_eq!(
            line,
            "{\"time\":\"2026-11-22T07:25:45.123456Z\",\"request_id\":\"rid\",\"service\":\"sts\",\
             \"action\":\"AssumeRole\",\"source_ip\":\"127.0.0.1\",\
             \"caller\":\"arn:aws:iam::123456789012:user/alice\",\
             \"caller_access_key_id\":\"AKIAEXAMPLE\",\"outcome\":\"allowed\",\
             \"target\":\"arn:aws:iam::123456789012:role/deploy\",\
             \"issued_access_key_id\":\"ASIAEXAMPLE\",\
             \"session_expiration\":\"2026-11-22T08:25:45Z\",\
             \"session_name\":\"s\\\"1\\\\\\u0001\\b\"}"
        );
        assert_eq!(line, reference(&r));
    }

    /// Strings rich in what JSON escapes: quotes, backslashes, every C0 control, DEL and
    /// multi-byte characters, among plain ASCII runs.
    fn text() -> impl Strategy<Value = String> {
        let ch = prop_oneof![
            4 => proptest::char::range(' ', '~'),
            2 => proptest::char::range('\0', '\u{1f}'),
            1 => proptest::sample::select(vec!['"', '\\', '/', '\u{7f}', '\u{80}', 'é', '€', '😀', '\u{2028}']),
            1 => any::<char>(),
        ];
        proptest::collection::vec(ch, 0..40).prop_map(String::from_iter)
    }

    /// Whole seconds, or exact to ms, µs or ns; mostly near now, sometimes anywhere.
    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        let secs = prop_oneof![
            3 => 1_600_000_000i64..2_000_000_000,
            1 => DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp(),
        ];
        let nanos = prop_oneof![
            Just(0u32),
            (0u32..1000).prop_map(|ms| ms * 1_000_000),
            (0u32..1_000_000).prop_map(|us| us * 1000),
            0u32..1_000_000_000,
        ];
        (secs, nanos).prop_filter_map("representable", |(s, n)| DateTime::from_timestamp(s, n))
    }

    fn ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(|b| IpAddr::V4(Ipv4Addr::from(b))),
            any::<[u8; 16]>().prop_map(|b| IpAddr::V6(Ipv6Addr::from(b))),
            any::<u16>().prop_map(|n| IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, n, 1))),
        ]
    }

    fn notes() -> impl Strategy<Value = Notes> {
        (
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(instant()),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(text()),
        )
            .prop_map(
                |(
                    target,
                    issued_access_key_id,
                    session_expiration,
                    session_name,
                    source_identity,
                    identity_provider,
                    subject,
                    decision,
                )| {
                    Notes {
                        target,
                        issued_access_key_id,
                        session_expiration,
                        session_name,
                        source_identity,
                        identity_provider,
                        subject,
                        decision,
                    }
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        #[test]
        fn matches_serde_json(
            time in instant(),
            request_id in text(),
            service in proptest::sample::select(vec!["sts", "iam"]),
            action in text(),
            source_ip in ip(),
            caller in proptest::option::of(text()),
            caller_access_key_id in proptest::option::of(text()),
            outcome in text(),
            reason in proptest::option::of(text()),
            notes in notes(),
        ) {
            let r = Record {
                time,
                request_id: &request_id,
                service,
                action: &action,
                source_ip,
                caller,
                caller_access_key_id: caller_access_key_id.as_deref(),
                outcome: &outcome,
                reason: reason.as_deref(),
                notes,
            };
            prop_assert_eq!(to_json(&r), reference(&r));
        }
    }
}
