//! The untrusted half of a web identity token: the compact JWS is split, its header and claims
//! decoded and their types checked, before any key is looked at. Nothing here verifies a
//! signature ([`super::keys`] does) or reads the clock (`now` is passed in).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::Rejection;

/// AWS's `WebIdentityToken` limit, in characters.
pub(crate) const MAX_TOKEN_CHARS: usize = 20_000;
/// Longest `kid` looked up.
const MAX_KID: usize = 256;
/// Clock skew tolerated for `nbf` and `iat`, in seconds (and nothing for `exp`, as AWS).
pub(crate) const SKEW_SECONDS: i64 = 60;
/// The claim carrying session tags.
pub(crate) const TAGS_CLAIM: &str = "https://aws.amazon.com/tags";
/// The claim carrying the source identity.
pub(crate) const SOURCE_IDENTITY_CLAIM: &str = "https://aws.amazon.com/source_identity";

/// A JWS signature algorithm tessera accepts; anything else (`none`, HMAC, PS*, EdDSA, ES512)
/// is refused before a key is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alg {
    Rs256,
    Rs384,
    Rs512,
    Es256,
    Es384,
}

impl Alg {
    fn from_header(s: &str) -> Option<Alg> {
        Some(match s {
            "RS256" => Alg::Rs256,
            "RS384" => Alg::Rs384,
            "RS512" => Alg::Rs512,
            "ES256" => Alg::Es256,
            "ES384" => Alg::Es384,
            _ => return None,
        })
    }

    pub(crate) fn is_rsa(self) -> bool {
        matches!(self, Alg::Rs256 | Alg::Rs384 | Alg::Rs512)
    }

    pub(crate) fn jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        use jsonwebtoken::Algorithm as A;
        match self {
            Alg::Rs256 => A::RS256,
            Alg::Rs384 => A::RS384,
            Alg::Rs512 => A::RS512,
            Alg::Es256 => A::ES256,
            Alg::Es384 => A::ES384,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
        }
    }
}

/// A token split and decoded, not yet trusted.
#[derive(Debug, Clone)]
pub(crate) struct Unverified<'t> {
    pub(crate) alg: Alg,
    pub(crate) kid: Option<String>,
    /// `header.payload`, what the signature covers.
    pub(crate) signing_input: &'t str,
    /// base64url, as in the token.
    pub(crate) signature: &'t str,
    pub(crate) claims: Claims,
}

/// The claims of a token, with their types checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claims {
    pub(crate) iss: String,
    pub(crate) sub: String,
    /// `aud` as a string or an array of strings.
    pub(crate) aud: Vec<String>,
    pub(crate) azp: Option<String>,
    pub(crate) exp: i64,
    pub(crate) nbf: Option<i64>,
    pub(crate) iat: Option<i64>,
    /// Every top-level claim whose value is a string or an array of strings, in token order:
    /// the `<provider>:<claim>` condition keys.
    pub(crate) strings: Vec<(String, Vec<String>)>,
    /// `https://aws.amazon.com/tags`: principal tags and transitive keys.
    pub(crate) tags: Vec<(String, String)>,
    pub(crate) transitive_tag_keys: Vec<String>,
    /// `https://aws.amazon.com/source_identity`
    pub(crate) source_identity: Option<String>,
}

/// Split and decode `token`. Refuses (as `InvalidIdentityToken`) anything but a compact JWS
/// of at most [`MAX_TOKEN_CHARS`] with an accepted algorithm, no critical extensions and no
/// nested token, and claims of the types RFC 7519 gives them.
pub(crate) fn parse(token: &str) -> Result<Unverified<'_>, Rejection> {
    if token.len() > MAX_TOKEN_CHARS {
        return Err(Rejection::invalid("token is longer than 20000 characters"));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        // Five parts is a JWE; anything else is not a JWS either.
        return Err(Rejection::invalid(
            "not a compact JWS (three dot-separated parts)",
        ));
    };
    if h.is_empty() || p.is_empty() || s.is_empty() {
        return Err(Rejection::invalid("a JWS part is empty (unsigned token)"));
    }
    let header = decode_object(h, "header")?;
    let alg = match header.get("alg") {
        Some(Value::String(a)) => {
            Alg::from_header(a).ok_or_else(|| Rejection::invalid("algorithm not accepted"))?
        }
        _ => return Err(Rejection::invalid("header has no string alg")),
    };
    if header.contains_key("enc") {
        return Err(Rejection::invalid(
            "encrypted tokens (JWE) are not accepted",
        ));
    }
    if header.contains_key("crit") {
        // No extension is understood, so any critical one must be refused (RFC 7515 §4.1.11).
        return Err(Rejection::invalid(
            "critical header extensions are not supported",
        ));
    }
    match header.get("cty") {
        None => {}
        Some(Value::String(c)) if !c.eq_ignore_ascii_case("JWT") => {}
        Some(_) => return Err(Rejection::invalid("nested tokens are not accepted")),
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) if !k.is_empty() && k.len() <= MAX_KID => Some(k.clone()),
        Some(_) => {
            return Err(Rejection::invalid(
                "kid is not a string of 1..256 characters",
            ));
        }
    };
    let payload = decode_object(p, "payload")?;
    let claims = claims(payload)?;
    let signing_input = token
        .get(..h.len() + 1 + p.len())
        .ok_or_else(|| Rejection::invalid("not a compact JWS"))?;
    Ok(Unverified {
        alg,
        kid,
        signing_input,
        signature: s,
        claims,
    })
}

fn decode_object(part: &str, what: &str) -> Result<Map<String, Value>, Rejection> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Rejection::invalid(format!("{what} is not base64url")))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Rejection::invalid(format!("{what} is not a JSON object"))),
    }
}

fn string_claim(m: &Map<String, Value>, name: &str) -> Result<Option<String>, Rejection> {
    match m.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Rejection::invalid(format!("claim {name} is not a string"))),
    }
}

/// A NumericDate: an integer number of seconds (AWS refuses fractions too).
fn date_claim(m: &Map<String, Value>, name: &str) -> Result<Option<i64>, Rejection> {
    match m.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| Rejection::invalid(format!("claim {name} is not an integer date"))),
        Some(_) => Err(Rejection::invalid(format!("claim {name} is not a number"))),
    }
}

fn string_list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

fn claims(m: Map<String, Value>) -> Result<Claims, Rejection> {
    let iss = string_claim(&m, "iss")?.ok_or_else(|| Rejection::invalid("missing iss"))?;
    let sub = string_claim(&m, "sub")?.ok_or_else(|| Rejection::invalid("missing sub"))?;
    if sub.is_empty() {
        return Err(Rejection::invalid("empty sub"));
    }
    let aud = match m.get("aud") {
        Some(v) => string_list(v)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| Rejection::invalid("aud is not a string or an array of strings"))?,
        None => return Err(Rejection::invalid("missing aud")),
    };
    let azp = string_claim(&m, "azp")?;
    let exp = date_claim(&m, "exp")?.ok_or_else(|| Rejection::invalid("missing exp"))?;
    let nbf = date_claim(&m, "nbf")?;
    let iat = date_claim(&m, "iat")?;
    let (tags, transitive_tag_keys) = match m.get(TAGS_CLAIM) {
        None => (Vec::new(), Vec::new()),
        Some(v) => tags_claim(v)?,
    };
    let source_identity = string_claim(&m, SOURCE_IDENTITY_CLAIM)?;
    let strings = m
        .iter()
        .filter(|(k, _)| !k.starts_with("https://aws.amazon.com/"))
        .filter_map(|(k, v)| string_list(v).map(|l| (k.clone(), l)))
        .collect();
    Ok(Claims {
        iss,
        sub,
        aud,
        azp,
        exp,
        nbf,
        iat,
        strings,
        tags,
        transitive_tag_keys,
        source_identity,
    })
}

/// `{"principal_tags": {"K": ["V"]}, "transitive_tag_keys": ["K"]}`; each value a one-element
/// array (a plain string is accepted too).
/// Session tags and transitive keys, as a token's tags claim carries them.
type TagsClaim = (Vec<(String, String)>, Vec<String>);

fn tags_claim(v: &Value) -> Result<TagsClaim, Rejection> {
    let bad = || Rejection::invalid(format!("claim {TAGS_CLAIM} is malformed"));
    let Value::Object(o) = v else {
        return Err(bad());
    };
    let mut tags = Vec::new();
    if let Some(pt) = o.get("principal_tags") {
        let Value::Object(pt) = pt else {
            return Err(bad());
        };
        for (k, v) in pt {
            let value = match v {
                Value::String(s) => s.clone(),
                Value::Array(a) => match a.as_slice() {
                    [Value::String(s)] => s.clone(),
                    _ => return Err(bad()),
                },
                _ => return Err(bad()),
            };
            tags.push((k.clone(), value));
        }
    }
    let transitive = match o.get("transitive_tag_keys") {
        None => Vec::new(),
        Some(v) => string_list(v).ok_or_else(bad)?,
    };
    Ok((tags, transitive))
}

impl Claims {
    /// Time checks against `now` (seconds since the epoch): `exp` must be in the future; `nbf`
    /// and `iat` may be up to [`SKEW_SECONDS`] ahead of our clock.
    pub(crate) fn check_times(&self, now: i64) -> Result<(), Rejection> {
        if now >= self.exp {
            return Err(Rejection::expired(format!(
                "Token expired: current date/time {now} must be before the expiration date/time {}",
                self.exp
            )));
        }
        if let Some(nbf) = self.nbf
            && nbf > now.saturating_add(SKEW_SECONDS)
        {
            return Err(Rejection::rejected("token is not valid yet (nbf)"));
        }
        if let Some(iat) = self.iat
            && iat > now.saturating_add(SKEW_SECONDS)
        {
            return Err(Rejection::rejected("token was issued in the future (iat)"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::RejectionKind;

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    fn token(header: Value, claims: Value) -> String {
        format!("{}.{}.c2ln", b64(&header), b64(&claims))
    }

    fn good_claims() -> Value {
        serde_json::json!({
            "iss": "https://token.actions.githubusercontent.com",
            "sub": "repo:org/repo:ref:refs/heads/main",
            "aud": "sts.amazonaws.com",
            "exp": 2_000_000_000_i64,
            "iat": 1_000_000_000_i64,
            "repository": "org/repo",
            "run_attempt": 1,
            "amr": ["pwd", "mfa"],
            TAGS_CLAIM: {"principal_tags": {"Project": ["Pegasus"]}, "transitive_tag_keys": ["Project"]},
            SOURCE_IDENTITY_CLAIM: "octocat",
        })
    }

    fn kind(r: Result<Unverified<'_>, Rejection>) -> String {
        match r {
            Ok(_) => "ok".into(),
            Err(e) => format!("{:?}: {}", e.kind, e.reason),
        }
    }

    #[test]
    fn a_good_token_parses() {
        let t = token(
            serde_json::json!({"alg":"RS256","kid":"k1","typ":"JWT"}),
            good_claims(),
        );
        let u = parse(&t).unwrap();
        assert_eq!(u.alg, Alg::Rs256);
        assert_eq!(u.kid.as_deref(), Some("k1"));
        assert_eq!(u.signature, "c2ln");
        assert!(t.starts_with(u.signing_input) && t.len() == u.signing_input.len() + 5);
        let c = &u.claims;
        assert_eq!(c.aud, ["sts.amazonaws.com"]);
        assert_eq!(c.tags, [("Project".to_owned(), "Pegasus".to_owned())]);
        assert_eq!(c.transitive_tag_keys, ["Project"]);
        assert_eq!(c.source_identity.as_deref(), Some("octocat"));
        let names: Vec<_> = c.strings.iter().map(|(k, _)| k.as_str()).collect();
        assert!(names.contains(&"repository") && names.contains(&"amr"));
        assert!(!names.contains(&"run_attempt") && !names.contains(&"exp"));
        assert!(
            !names
                .iter()
                .any(|n| n.starts_with("https://aws.amazon.com/"))
        );
    }

    #[test]
    fn headers_that_are_refused() {
        for header in [
            serde_json::json!({"alg":"none"}),
            serde_json::json!({"alg":"None"}),
            serde_json::json!({"alg":"HS256"}),
            serde_json::json!({"alg":"PS256"}),
            serde_json::json!({"alg":"ES512"}),
            serde_json::json!({"alg":"EdDSA"}),
            serde_json::json!({}),
            serde_json::json!({"alg":["RS256"]}),
            serde_json::json!({"alg":"RS256","crit":["exp"],"exp":1}),
            serde_json::json!({"alg":"RS256","crit":["b64"],"b64":false}),
            serde_json::json!({"alg":"RS256","cty":"JWT"}),
            serde_json::json!({"alg":"RS256","enc":"A256GCM"}),
            serde_json::json!({"alg":"RS256","kid":7}),
            serde_json::json!({"alg":"RS256","kid":""}),
            serde_json::json!({"alg":"RS256","kid":"k".repeat(257)}),
        ] {
            let t = token(header.clone(), good_claims());
            assert!(kind(parse(&t)).starts_with("Invalid"), "{header}");
        }
    }

    #[test]
    fn claims_of_the_wrong_type_or_missing_are_refused() {
        let cases: &[(&str, Value)] = &[
            ("iss", Value::Null),
            ("iss", serde_json::json!(42)),
            ("sub", Value::Null),
            ("sub", serde_json::json!("")),
            ("sub", serde_json::json!(["a"])),
            ("aud", Value::Null),
            ("aud", serde_json::json!(7)),
            ("aud", serde_json::json!([])),
            ("aud", serde_json::json!(["a", 1])),
            ("exp", Value::Null),
            ("exp", serde_json::json!("2000000000")),
            ("exp", serde_json::json!(2e9)),
            ("nbf", serde_json::json!("1")),
            ("iat", serde_json::json!(1.5)),
            ("azp", serde_json::json!(1)),
            (TAGS_CLAIM, serde_json::json!("Project=x")),
            (
                TAGS_CLAIM,
                serde_json::json!({"principal_tags": {"a": ["x", "y"]}}),
            ),
            (SOURCE_IDENTITY_CLAIM, serde_json::json!(["a"])),
        ];
        for (name, value) in cases {
            let mut claims = good_claims();
            let obj = claims.as_object_mut().unwrap();
            if value.is_null() {
                obj.remove(*name);
            } else {
                obj.insert((*name).into(), value.clone());
            }
            let t = token(serde_json::json!({"alg":"RS256"}), claims);
            assert!(kind(parse(&t)).starts_with("Invalid"), "{name}={value}");
        }
    }

    #[test]
    fn shapes_that_are_not_a_compact_jws() {
        let long = "a".repeat(MAX_TOKEN_CHARS + 1);
        let good = token(serde_json::json!({"alg":"RS256"}), good_claims());
        let (h, rest) = good.split_once('.').unwrap();
        let p = rest.split('.').next().unwrap();
        for t in [
            "",
            "a.b",
            "a.b.c.d.e",
            long.as_str(),
            &format!("{h}.{p}."),
            &format!("{h}.{p}"),
            &format!("{h}.{p}.c.d.e"),
            &format!("{h}!.{p}.c2ln"),
            &format!("{}.{p}.c2ln", URL_SAFE_NO_PAD.encode("[1]")),
            &format!("{h}.{}.c2ln", URL_SAFE_NO_PAD.encode("not json")),
        ] {
            assert!(kind(parse(t)).starts_with("Invalid"), "{t:.60}");
        }
    }

    #[test]
    fn time_checks_with_skew() {
        let t = token(serde_json::json!({"alg":"RS256"}), good_claims());
        let mut c = parse(&t).unwrap().claims;
        assert!(c.check_times(1_999_999_999).is_ok());
        assert_eq!(
            c.check_times(2_000_000_000).unwrap_err().kind,
            RejectionKind::Expired
        );
        c.iat = None;
        c.nbf = Some(1_000 + SKEW_SECONDS);
        assert!(c.check_times(1_000).is_ok());
        c.nbf = Some(1_001 + SKEW_SECONDS);
        assert_eq!(
            c.check_times(1_000).unwrap_err().kind,
            RejectionKind::Rejected
        );
        c.nbf = None;
        c.iat = Some(1_001 + SKEW_SECONDS);
        assert_eq!(
            c.check_times(1_000).unwrap_err().kind,
            RejectionKind::Rejected
        );
    }
}
