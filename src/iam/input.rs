//! Parameter shapes IAM actions share, each with IAM's constraints and messages: entity names,
//! paths, tags, tag keys, paging, policy documents and ARNs. See
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_Types.html> and AWS-REFERENCE §2.

use crate::error::{ApiError, ApiResult};
use crate::policy::{Policy, PolicyKind};
use crate::protocol::input::{Field, Input, Reader, TagKey, TagValue, string_field};
use crate::protocol::params::{self, Validator};
use crate::store::Tags;

/// Most tags on one IAM entity, and most keys in one `Untag*` call.
pub(crate) const MAX_TAGS: usize = 50;

string_field!(
    /// The name of a new user or role: 1..64 of `[\w+=,.@-]+`.
    NewName,
    1,
    64,
    params::NAME_PATTERN,
    params::is_name_char
);
string_field!(
    /// The name of an existing entity, or of a group or policy: 1..128 of `[\w+=,.@-]+`.
    Name,
    1,
    128,
    params::NAME_PATTERN,
    params::is_name_char
);

/// An IAM path: `/` or `/…/`, 1..512 printable ASCII characters; `/` when absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IamPath(pub(crate) String);

impl Default for IamPath {
    fn default() -> Self {
        Self("/".to_owned())
    }
}

impl Field for IamPath {
    fn read(name: &str, raw: &str, v: &mut Validator) -> ApiResult<Self> {
        v.length(name, raw, 1, 512).check(
            name,
            raw,
            params::is_valid_path(raw),
            &format!(
                "Member must satisfy regular expression pattern: {}",
                params::PATH_PATTERN
            ),
        );
        Ok(Self(raw.to_owned()))
    }
}

/// `PathPrefix` of `List*` calls: `/` followed by printable ASCII, 1..512; `/` when absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathPrefix(pub(crate) String);

impl Default for PathPrefix {
    fn default() -> Self {
        Self("/".to_owned())
    }
}

impl Field for PathPrefix {
    fn read(name: &str, raw: &str, v: &mut Validator) -> ApiResult<Self> {
        v.length(name, raw, 1, 512).check(
            name,
            raw,
            raw.starts_with('/'),
            r"Member must satisfy regular expression pattern: \u002F[\u0021-\u007F]*",
        );
        Ok(Self(raw.to_owned()))
    }
}

/// An IAM policy document as sent: 1..131072 policy characters, then the policy language
/// (a document that does not parse is `MalformedPolicyDocument`, reported once every
/// constraint holds). Size quotas depend on where it is stored and are checked there.
#[derive(Debug, Clone)]
pub(crate) struct PolicyDocument<const KIND: u8 = IDENTITY> {
    pub(crate) text: String,
    /// `None` only when the input is refused anyway.
    pub(crate) policy: Option<Policy>,
}

/// [`PolicyDocument`] kinds: identity policies and trust (role) policies.
pub(crate) const IDENTITY: u8 = 0;
pub(crate) const TRUST: u8 = 1;

impl<const KIND: u8> Field for PolicyDocument<KIND> {
    fn read(name: &str, raw: &str, v: &mut Validator) -> ApiResult<Self> {
        v.length(name, raw, 1, 131_072).pattern(
            name,
            raw,
            params::POLICY_PATTERN,
            params::is_policy_char,
        );
        let kind = if KIND == TRUST {
            PolicyKind::Trust
        } else {
            PolicyKind::Identity
        };
        let policy = match Policy::parse(raw, kind) {
            Ok(p) => Some(p),
            Err(e) => {
                v.defer(policy_error(e));
                None
            }
        };
        Ok(Self {
            text: raw.to_owned(),
            policy,
        })
    }
}

/// A policy-language error as IAM answers it.
pub(crate) fn policy_error(e: crate::policy::PolicyError) -> ApiError {
    match e.kind {
        crate::policy::PolicyErrorKind::LimitExceeded => ApiError::limit_exceeded(e.message),
        _ => ApiError::malformed_policy(e.message),
    }
}

/// `Tags.member.N.Key/Value` as IAM takes them: at most 50, a value may be omitted (empty);
/// keys unique (case-insensitively) and not under the reserved `aws:` prefix.
#[derive(Debug, Clone, Default)]
pub(crate) struct IamTags(pub(crate) Tags);

impl Input for IamTags {
    fn read(r: &mut Reader<'_>) -> ApiResult<Self> {
        let raw = r.structs("Tags", &["Key", "Value"])?;
        let v = r.validator();
        v.count("Tags", raw.len(), MAX_TAGS);
        let mut tags = Vec::with_capacity(raw.len());
        for (i, m) in raw.iter().enumerate() {
            let n = i + 1;
            let Some(key) = m.get("Key") else {
                return Err(ApiError::missing_parameter(&format!("Tags.member.{n}.Key")));
            };
            let value = m.get("Value").map(String::as_str).unwrap_or("");
            let key = TagKey::read(&format!("Tags.member.{n}.Key"), key, v)?;
            let value = TagValue::read(&format!("Tags.member.{n}.Value"), value, v)?;
            tags.push((key.into_string(), value.into_string()));
        }
        if let Err(e) = check_tag_keys(&tags) {
            v.defer(e);
        }
        Ok(Self(tags))
    }
}

/// Duplicate keys (case-insensitive) and the reserved `aws:` prefix are refused.
fn check_tag_keys(tags: &Tags) -> ApiResult<()> {
    let mut seen = std::collections::HashSet::new();
    for (k, _) in tags {
        if k.to_lowercase().starts_with("aws:") {
            return Err(ApiError::invalid_input(
                "User-defined tag keys can't start with \"aws:\".",
            ));
        }
        if !seen.insert(k.to_lowercase()) {
            return Err(ApiError::invalid_input(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
    }
    Ok(())
}

/// `TagKeys.member.N` of `Untag*` calls: at most 50.
#[derive(Debug, Clone, Default)]
pub(crate) struct TagKeys(pub(crate) Vec<String>);

impl Input for TagKeys {
    fn read(r: &mut Reader<'_>) -> ApiResult<Self> {
        let keys: Vec<TagKey> = r.list("TagKeys", MAX_TAGS)?;
        Ok(Self(keys.into_iter().map(TagKey::into_string).collect()))
    }
}

/// `MaxItems` (1..1000, default 100) and `Marker` (1..320) of paged `List*` calls.
#[derive(Debug, Clone)]
pub(crate) struct Paging {
    pub(crate) max_items: usize,
    pub(crate) marker: Option<String>,
}

impl Input for Paging {
    fn read(r: &mut Reader<'_>) -> ApiResult<Self> {
        let max: Option<i64> = r.optional("MaxItems")?;
        let marker: Option<String> = r.optional("Marker")?;
        let v = r.validator();
        let max = max.unwrap_or(100);
        v.range("MaxItems", max, 1, 1000);
        let marker = match marker {
            Some(m) => {
                v.length("Marker", &m, 1, 320);
                Some(open_marker(&m).ok_or_else(|| ApiError::validation("Invalid Marker."))?)
            }
            None => None,
        };
        Ok(Self {
            max_items: usize::try_from(max).unwrap_or(100),
            marker,
        })
    }
}

/// The `Marker` a paged answer hands out for the internal position `key` (a lowercase name,
/// an index): opaque to clients, and checked when it comes back, so that a marker tessera did
/// not issue is refused (`ValidationError` "Invalid Marker.") instead of silently starting
/// somewhere. Integrity against mistakes, not secrecy: a marker only names a position in a
/// listing the caller may read anyway.
pub(crate) fn seal_marker(key: &str) -> String {
    use base64::Engine as _;
    let mut raw = Vec::with_capacity(key.len() + 5);
    raw.push(MARKER_VERSION);
    raw.extend_from_slice(key.as_bytes());
    raw.extend_from_slice(&marker_check(key.as_bytes()));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The position a marker made by [`seal_marker`] names.
pub(crate) fn open_marker(marker: &str) -> Option<String> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(marker)
        .ok()?;
    let (version, rest) = raw.split_first()?;
    let (key, check) = rest.split_last_chunk::<4>()?;
    (*version == MARKER_VERSION && marker_check(key) == *check)
        .then(|| String::from_utf8(key.to_vec()).ok())
        .flatten()
}

const MARKER_VERSION: u8 = 1;

fn marker_check(key: &[u8]) -> [u8; 4] {
    use sha2::Digest as _;
    let d = sha2::Sha256::new()
        .chain_update(b"tessera iam marker\0")
        .chain_update(key)
        .finalize();
    let mut out = [0u8; 4];
    out.copy_from_slice(d.get(..4).unwrap_or(&[0; 4]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::input::{input, parse};
    use crate::protocol::params::Params;

    input! {
        struct Example {
            name: NewName = required("UserName"),
            path: IamPath = or_default("Path"),
            tags: IamTags = nested(),
            paging: Paging = nested(),
        }
    }

    fn read(q: &str) -> ApiResult<Example> {
        parse(&Params::parse(q.as_bytes(), None).unwrap())
    }

    #[test]
    fn defaults_and_values() {
        let e = read("UserName=alice&Tags.member.1.Key=team").unwrap();
        assert_eq!(e.name.as_str(), "alice");
        assert_eq!(e.path.0, "/");
        assert_eq!(e.tags.0, vec![("team".to_owned(), String::new())]);
        assert_eq!(e.paging.max_items, 100);
    }

    #[test]
    fn tag_rules_come_after_constraints() {
        let e = read("UserName=alice&Tags.member.1.Key=aws:x").unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::InvalidInput);
        let e = read("UserName=&Tags.member.1.Key=aws:x").unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::ValidationError);
        let e = read("UserName=a&Path=nope").unwrap_err();
        assert!(e.message.contains("'path'"), "{e:?}");
        let e = read("UserName=a&MaxItems=0").unwrap_err();
        assert!(e.message.contains("'maxItems'"), "{e:?}");
    }
}
