//! Sealed session tokens: the self-contained `SessionToken` of every temporary credential, and
//! [`issue_session`], the ONE minting path used by GetSessionToken, AssumeRole,
//! AssumeRoleWithWebIdentity and AssumeRoleWithSAML.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_use-resources.html>
//!
//! A token carries everything later evaluation needs ([`SessionClaims`]), including the
//! temporary secret access key, encrypted and authenticated under the [`Keyring`]. The server
//! keeps no session rows: a request's `ASIA` key id and `X-Amz-Security-Token` are checked by
//! opening the token and comparing the key id inside it ([`open_for_access_key`]); the secret to
//! verify the SigV4 signature with comes out of the same ciphertext.
//!
//! # Byte layout
//! ```text
//!  0         1               5                    17                        len-16      len
//!  +---------+---------------+--------------------+-------------------------+-----------+
//!  | version | key id        | nonce              | ciphertext              | GCM tag   |
//!  | 0x01    | u32 BE        | 96 random bits     | of the claims (JSON)    | 128 bits  |
//!  +---------+---------------+--------------------+-------------------------+-----------+
//!  AEAD = AES-256-GCM with the keyring key named by `key id`; AAD = version || key id.
//!  token = base64url without padding (RFC 4648 §5) of the bytes above.
//! ```
//! - Only the version, the key id and the nonce are readable. The access key id, the secret and
//!   every claim exist only inside the ciphertext, so nothing secret is derivable from readable
//!   data (AWS-REFERENCE §7 item 15).
//! - The encoding is strict: URL-safe alphabet only, no padding, no whitespace, zero trailing
//!   bits. Each token has exactly one accepted spelling; `+`, `/`, `=` are rejected. URL-safe was
//!   chosen because presigned requests carry the token in a query string, where `+` is a
//!   classic source of mangling.
//! - The claims are serialized with `serde_json` using short field names (compact enough, and
//!   trivially versioned through `v`). Timestamps are Unix milliseconds.
//!
//! # Opening, in order (cheap and bounded first, the MAC before any content is used)
//! 1. length <= [`MAX_TOKEN_LEN`] characters, before decoding;
//! 2. strict base64url decoding;
//! 3. version byte known;
//! 4. key id held by the keyring (current or previous);
//! 5. GCM tag verifies (AAD = version || key id);
//! 6. claims deserialize and their version is known;
//! 7. `now < expires_at`, else [`TokenError::Expired`].
//!
//! Every failure of steps 1–6 is the single [`TokenError::Invalid`]; nothing panics.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher as _, BuildHasherDefault, RandomState};
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use ring::aead::{Aad, NONCE_LEN, Nonce};
use serde::{Deserialize, Serialize};

use crate::metrics::CacheCounts;
use crate::principal::Principal;
use crate::sigv4::cache::PreHashed;
use crate::wipe::Wiped;

use super::ids::{IdError, new_secret_access_key, new_temporary_access_key_id};
use super::keyring::{KeyId, Keyring, TAG_LEN};
use super::secret::WipingBuf;
use super::{RandomError, Secret, fill_random};

/// The token byte-format version (first byte).
pub(crate) const TOKEN_VERSION: u8 = 1;
/// The claims schema version (`v` inside the ciphertext).
pub(crate) const CLAIMS_VERSION: u8 = 1;

/// Longest token accepted or minted, in characters (9 KiB of sealed bytes).
///
/// AWS says clients must not assume a maximum; we bound it so a request is rejected before any
/// decoding work, and so a presigned GET carrying a token stays under the ~15,870-byte query
/// limit AWS applies (AWS-REFERENCE §1). A session policy at its 2,048-character limit plus 50
/// realistic tags fits comfortably; minting anything larger fails with [`MintError::TooLarge`],
/// which STS reports as `PackedPolicyTooLarge`.
pub(crate) const MAX_TOKEN_LEN: usize = 12 * 1024;

const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;
const AAD_LEN: usize = 1 + 4;

/// Why a presented session token is refused. Callers map `Invalid` to `InvalidClientTokenId`
/// and `Expired` to `ExpiredToken` (both 403).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Malformed, tampered, from another keyring, sealed with a retired key, or bound to
    /// another access key. Deliberately undifferentiated.
    #[error("the security token included in the request is invalid")]
    Invalid,
    /// Authentic, but `now` is at or after its expiration.
    #[error("the security token included in the request is expired")]
    Expired,
}

/// Why a session could not be minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MintError {
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The principal's account is not 12 digits.
    #[error("account id must be 12 digits")]
    InvalidAccount,
    /// Durations must be positive (range rules per action belong to STS).
    #[error("session duration must be positive")]
    InvalidDuration,
    /// The sealed token would exceed [`MAX_TOKEN_LEN`]; STS answers `PackedPolicyTooLarge`.
    #[error("session token would be {len} characters, more than the {max} allowed")]
    TooLarge { len: usize, max: usize },
    #[error("session claims could not be sealed")]
    Internal,
}

impl From<IdError> for MintError {
    fn from(e: IdError) -> Self {
        match e {
            IdError::Random(r) => Self::Random(r),
            IdError::InvalidAccount => Self::InvalidAccount,
        }
    }
}

/// Which STS action minted the session, with what federation facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum SessionSource {
    GetSessionToken,
    /// The IAM user whose policies bound the session (`None`: the account's root).
    GetFederationToken {
        user_id: Option<String>,
    },
    AssumeRole,
    /// `<provider URL>:sub` and `:aud` follow from these for the session's lifetime.
    WebIdentity {
        provider_arn: String,
        subject: String,
        audience: String,
    },
    Saml {
        provider_arn: String,
        issuer: String,
        subject: String,
        subject_type: String,
        name_qualifier: String,
    },
}

/// Everything a session carries. Sealed whole into the token; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionClaims {
    #[serde(rename = "v")]
    pub version: u8,
    /// `ASIA...`
    #[serde(rename = "ak")]
    pub access_key_id: String,
    /// Exists only inside the ciphertext.
    #[serde(rename = "sk", with = "super::secret::serde_text")]
    pub secret_access_key: Secret,
    /// `aws:TokenIssueTime` (millisecond precision).
    #[serde(rename = "iat", with = "chrono::serde::ts_milliseconds")]
    pub issued_at: DateTime<Utc>,
    #[serde(rename = "exp", with = "chrono::serde::ts_milliseconds")]
    pub expires_at: DateTime<Utc>,
    #[serde(rename = "p")]
    pub principal: Principal,
    #[serde(rename = "src")]
    pub source: SessionSource,
    /// When MFA was verified (`aws:MultiFactorAuthPresent`, `aws:MultiFactorAuthAge`).
    #[serde(
        rename = "mfa",
        default,
        skip_serializing_if = "Option::is_none",
        with = "chrono::serde::ts_milliseconds_option"
    )]
    pub mfa_authenticated_at: Option<DateTime<Utc>>,
    /// Inline session policy JSON, as passed.
    #[serde(rename = "pol", default, skip_serializing_if = "Option::is_none")]
    pub session_policy: Option<String>,
    #[serde(rename = "arns", default, skip_serializing_if = "Vec::is_empty")]
    pub policy_arns: Vec<String>,
    /// Session tags, case preserved (`aws:PrincipalTag/<k>`).
    #[serde(rename = "tags", default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
    #[serde(rename = "ttk", default, skip_serializing_if = "Vec::is_empty")]
    pub transitive_tag_keys: Vec<String>,
    #[serde(rename = "sid", default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    /// 0 = minted from long-term credentials (or by federation); n = n-th role in a chain.
    #[serde(rename = "cd", default)]
    pub chain_depth: u8,
    /// Federation condition keys kept for the session, e.g.
    /// (`token.actions.githubusercontent.com:sub`, `["repo:org/repo:ref:refs/heads/main"]`).
    #[serde(rename = "fk", default, skip_serializing_if = "Vec::is_empty")]
    pub federated_keys: Vec<(String, Vec<String>)>,
}

/// The claims a caller decides; [`issue_session`] adds keys and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSpec {
    pub principal: Principal,
    pub source: SessionSource,
    pub mfa_authenticated_at: Option<DateTime<Utc>>,
    pub session_policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub transitive_tag_keys: Vec<String>,
    pub source_identity: Option<String>,
    pub chain_depth: u8,
    pub federated_keys: Vec<(String, Vec<String>)>,
}

impl SessionSpec {
    /// A spec with nothing but the principal and the source.
    pub fn new(principal: Principal, source: SessionSource) -> Self {
        Self {
            principal,
            source,
            mfa_authenticated_at: None,
            session_policy: None,
            policy_arns: Vec::new(),
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
            source_identity: None,
            chain_depth: 0,
            federated_keys: Vec::new(),
        }
    }
}

/// An opaque sealed session token (`X-Amz-Security-Token`). `Debug` shows only its length: the
/// token is half of a bearer credential.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionToken(<{} chars>)", self.0.len())
    }
}

/// What every STS action returns in `<Credentials>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedSession {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: SessionToken,
    pub issued_at: DateTime<Utc>,
    pub expiration: DateTime<Utc>,
}

/// Mint a session: a fresh `ASIA` key id carrying the principal's account, a fresh secret, and a
/// token sealing both with `spec`, valid from `now` (truncated to milliseconds) for
/// `duration_seconds`. Range rules for the duration belong to the caller.
pub fn issue_session(
    keyring: &Keyring,
    spec: SessionSpec,
    now: DateTime<Utc>,
    duration_seconds: u32,
) -> Result<IssuedSession, MintError> {
    if duration_seconds == 0 {
        return Err(MintError::InvalidDuration);
    }
    let access_key_id = new_temporary_access_key_id(spec.principal.account())?;
    let secret_access_key = new_secret_access_key()?;
    // Millisecond precision is what the claims carry; truncate so the minted values and the
    // ones read back later are identical.
    let issued_at = now
        .duration_trunc(TimeDelta::milliseconds(1))
        .map_err(|_| MintError::Internal)?;
    let expires_at = issued_at
        .checked_add_signed(TimeDelta::seconds(i64::from(duration_seconds)))
        .ok_or(MintError::InvalidDuration)?;
    let SessionSpec {
        principal,
        source,
        mfa_authenticated_at,
        session_policy,
        policy_arns,
        tags,
        transitive_tag_keys,
        source_identity,
        chain_depth,
        federated_keys,
    } = spec;
    let claims = SessionClaims {
        version: CLAIMS_VERSION,
        access_key_id,
        secret_access_key,
        issued_at,
        expires_at,
        principal,
        source,
        mfa_authenticated_at,
        session_policy,
        policy_arns,
        tags,
        transitive_tag_keys,
        source_identity,
        chain_depth,
        federated_keys,
    };
    let session_token = seal(keyring, &claims)?;
    Ok(IssuedSession {
        access_key_id: claims.access_key_id.clone(),
        secret_access_key: claims.secret_access_key.clone(),
        session_token,
        issued_at,
        expiration: expires_at,
    })
}

/// Seal `claims` under the keyring's current key. Prefer [`issue_session`]; this exists for
/// tests and re-sealing. Timestamps are carried at millisecond precision (finer parts are lost).
pub fn seal(keyring: &Keyring, claims: &SessionClaims) -> Result<SessionToken, MintError> {
    // One pass into a buffer that wipes what it outgrows, so no plaintext copy of the secret
    // is left in freed memory.
    let mut plaintext = WipingBuf::with_capacity(PLAINTEXT_CAPACITY);
    serde_json::to_writer(&mut plaintext, claims).map_err(|_| MintError::Internal)?;
    seal_bytes(keyring, TOKEN_VERSION, plaintext.as_slice())
}

/// Open and verify a token (steps in the module docs). Does NOT check which access key it
/// belongs to: request authentication must use [`open_for_access_key`].
pub fn open(
    keyring: &Keyring,
    token: &str,
    now: DateTime<Utc>,
) -> Result<SessionClaims, TokenError> {
    let claims = open_unexpired(keyring, token)?;
    check_expiry(claims, now)
}

/// Open a token presented with `access_key_id` (the `ASIA` key of the SigV4 credential scope).
/// A token minted for another access key is `Invalid`, even if expired (binding first).
pub fn open_for_access_key(
    keyring: &Keyring,
    token: &str,
    access_key_id: &str,
    now: DateTime<Utc>,
) -> Result<SessionClaims, TokenError> {
    let claims = open_unexpired(keyring, token)?;
    if claims.access_key_id != access_key_id {
        return Err(TokenError::Invalid);
    }
    check_expiry(claims, now)
}

/// As [`open_for_access_key`], through the keyring's cache of tokens it has already opened:
/// SDKs present the same token on every call of a session, so a repeat costs one map lookup
/// instead of a base64 decode, an AEAD open and a claims parse. Binding and expiry are checked
/// on every call; only successfully opened tokens are cached.
///
/// `counts` tallies the cache's hits and misses (the server's outlive any one keyring).
pub fn open_for_access_key_cached(
    keyring: &Keyring,
    token: &str,
    access_key_id: &str,
    now: DateTime<Utc>,
    counts: &CacheCounts,
) -> Result<Arc<SessionClaims>, TokenError> {
    let cached = keyring.opened().get(token);
    counts.record(cached.is_some());
    let claims = match cached {
        Some(c) => c,
        None => {
            let c = Arc::new(open_unexpired(keyring, token)?);
            keyring.opened().insert(token, c.clone());
            c
        }
    };
    if claims.access_key_id != access_key_id {
        return Err(TokenError::Invalid);
    }
    if now >= claims.expires_at {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// Tokens a keyring has opened, found by their exact text. It lives inside the [`Keyring`]
/// value, so a rotation (a new keyring) starts empty and a removed key's tokens cannot linger.
/// Bounded: when full it is emptied (entries are cheap to rebuild). The claims hold the
/// session's secret, as any opened token does; it is zeroized when the last entry referencing
/// it is dropped.
///
/// The table is keyed by a keyed hash of the token's length and last [`TOKEN_HASHED_TAIL`]
/// characters, which encode its AEAD tag (hashing all ~700 characters of every token was a
/// few percent of a GetCallerIdentity); an entry answers only the token whose whole text it
/// holds. Only tokens that opened are ever inserted, so nobody can fill a bucket with chosen
/// tails, and two tokens sharing a slot cost a miss, never a wrong answer.
#[derive(Default)]
pub(crate) struct OpenedTokens {
    hasher: RandomState,
    /// Read-locked to look up, so workers answering at once never wait on each other.
    map: RwLock<HashMap<u64, OpenedToken, BuildHasherDefault<PreHashed>>>,
}

/// A token's whole text and what it opened to.
type OpenedToken = (Box<str>, Arc<SessionClaims>);

/// Most tokens kept opened at once (a token and its claims take about 2 KiB).
pub(crate) const OPENED_TOKENS_MAX: usize = 4096;

/// Characters at a token's end that choose its slot: its AEAD tag and a little more.
const TOKEN_HASHED_TAIL: usize = 32;

impl OpenedTokens {
    fn slot(&self, token: &str) -> u64 {
        let bytes = token.as_bytes();
        let tail = bytes
            .get(bytes.len().saturating_sub(TOKEN_HASHED_TAIL)..)
            .unwrap_or(bytes);
        self.hasher.hash_one((bytes.len(), tail))
    }

    fn get(&self, token: &str) -> Option<Arc<SessionClaims>> {
        let slot = self.slot(token);
        let map = self.map.read().ok()?;
        let (text, claims) = map.get(&slot)?;
        (**text == *token).then(|| claims.clone())
    }

    fn insert(&self, token: &str, claims: Arc<SessionClaims>) {
        if token.len() > MAX_TOKEN_LEN {
            return;
        }
        let slot = self.slot(token);
        if let Ok(mut m) = self.map.write() {
            if m.len() >= OPENED_TOKENS_MAX {
                m.clear();
            }
            m.insert(slot, (token.into(), claims));
        }
    }

    /// Tokens held now.
    pub(crate) fn len(&self) -> usize {
        self.map.read().map(|m| m.len()).unwrap_or(0)
    }
}

impl fmt::Debug for OpenedTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpenedTokens(..)")
    }
}

fn check_expiry(claims: SessionClaims, now: DateTime<Utc>) -> Result<SessionClaims, TokenError> {
    // 7. Expiry: the session ends AT `expires_at`.
    if now >= claims.expires_at {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// The id of the key a token says it was sealed with (its first bytes, nothing verified): lets a
/// node that has not yet taken a rotated keyring tell "newer key" from "bad token".
pub fn sealed_with(token: &str) -> Option<KeyId> {
    // 8 base64url characters: the version byte, the key id and one byte of nonce.
    let head = URL_SAFE_NO_PAD.decode(token.get(..8)?).ok()?;
    match head.as_slice() {
        [TOKEN_VERSION, a, b, c, d, ..] => Some(KeyId::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

fn open_unexpired(keyring: &Keyring, token: &str) -> Result<SessionClaims, TokenError> {
    // 1. Length cap, before any decoding work.
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Invalid);
    }
    // 2. Strict base64url: no padding, no `+`/`/`, no whitespace, zero trailing bits.
    // Wiped: the buffer is decrypted in place and then holds the plaintext claims.
    let mut bytes = Wiped::new(
        URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| TokenError::Invalid)?,
    );
    let (header, sealed) = bytes
        .split_at_mut_checked(HEADER_LEN)
        .ok_or(TokenError::Invalid)?;
    let (aad, nonce) = header
        .split_at_checked(AAD_LEN)
        .ok_or(TokenError::Invalid)?;
    // <version>
    let (version, key_id) = aad.split_first().ok_or(TokenError::Invalid)?;
    if *version != TOKEN_VERSION {
        return Err(TokenError::Invalid);
    }
    // <key id>
    let key_id = KeyId::from_be_bytes(key_id.try_into().map_err(|_| TokenError::Invalid)?);
    let key = keyring.aead(key_id).ok_or(TokenError::Invalid)?;
    // <nonce> <ciphertext> <tag>
    if sealed.len() < TAG_LEN {
        return Err(TokenError::Invalid);
    }
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| TokenError::Invalid)?;
    let plaintext = key
        .open_in_place(nonce, Aad::from(aad), sealed)
        .map_err(|_| TokenError::Invalid)?;
    // 6. Only now, authenticated, is any content looked at.
    let claims: SessionClaims =
        serde_json::from_slice(plaintext).map_err(|_| TokenError::Invalid)?;
    if claims.version != CLAIMS_VERSION {
        return Err(TokenError::Invalid);
    }
    Ok(claims)
}

fn seal_bytes(keyring: &Keyring, version: u8, plaintext: &[u8]) -> Result<SessionToken, MintError> {
    let sealed_len = HEADER_LEN + plaintext.len() + TAG_LEN;
    let encoded_len = (sealed_len * 4).div_ceil(3);
    if encoded_len > MAX_TOKEN_LEN {
        return Err(MintError::TooLarge {
            len: encoded_len,
            max: MAX_TOKEN_LEN,
        });
    }
    let (key_id, key) = keyring.current_aead();
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce)?;

    let mut buf = Wiped::new(Vec::with_capacity(sealed_len));
    buf.push(version);
    buf.extend_from_slice(&key_id.to_be_bytes());
    buf.extend_from_slice(&nonce);
    buf.extend_from_slice(plaintext);
    let (header, body) = buf
        .split_at_mut_checked(HEADER_LEN)
        .ok_or(MintError::Internal)?;
    let aad = header.get(..AAD_LEN).ok_or(MintError::Internal)?;
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), body)
        .map_err(|_| MintError::Internal)?;
    buf.extend_from_slice(tag.as_ref());
    Ok(SessionToken(URL_SAFE_NO_PAD.encode(&*buf)))
}

/// Room for the claims of a typical session (about 300 bytes; tags and policies add more).
const PLAINTEXT_CAPACITY: usize = 1024;

#[cfg(any(fuzzing, test))]
/// Fuzzing entry (see `fuzz/fuzz_targets/session_token.rs`). The first byte picks what the rest
/// reaches, so the fuzzer explores every stage rather than stalling at base64:
/// - `% 3 == 0`: the rest as a token string (UTF-8 only) → steps 1–2 and beyond;
/// - `% 3 == 1`: the rest base64url-encoded → version, key id, length and tag checks;
/// - `% 3 == 2`: the rest sealed as plaintext with the fuzz key → the claims parser (step 6),
///   which is otherwise unreachable without the key.
#[doc(hidden)]
pub(crate) fn fuzz_open(data: &[u8]) {
    static KEYRING: std::sync::OnceLock<Option<Keyring>> = std::sync::OnceLock::new();
    let Some(keyring) = KEYRING.get_or_init(|| {
        Keyring::from_keys(
            (0x0102_0304, Secret::from_bytes(vec![0x5a; 32])),
            Vec::new(),
            DateTime::UNIX_EPOCH,
        )
        .ok()
    }) else {
        return;
    };
    let now = DateTime::UNIX_EPOCH + TimeDelta::days(20_000);
    match data.split_first() {
        None => {
            let _ = open(keyring, "", now);
        }
        Some((mode, rest)) => match mode % 3 {
            0 => {
                if let Ok(text) = std::str::from_utf8(rest) {
                    let _ = open(keyring, text, now);
                }
            }
            1 => {
                let _ = open(keyring, &URL_SAFE_NO_PAD.encode(rest), now);
            }
            _ => {
                if let Ok(token) = seal_bytes(keyring, TOKEN_VERSION, rest) {
                    let _ = open(keyring, token.as_str(), now);
                }
            }
        },
    }
}

#[cfg(test)]
mod sealed_with_tests {
    use super::*;

    #[test]
    fn a_token_names_the_key_it_was_sealed_with() {
        let k = Keyring::generate(Utc::now()).unwrap();
        let token = seal_bytes(&k, TOKEN_VERSION, b"{}").unwrap();
        assert_eq!(sealed_with(token.as_str()), Some(k.current_id()));
        assert_eq!(sealed_with("AAAA"), None);
        assert_eq!(sealed_with("not base64 at all"), None);
        assert_eq!(sealed_with("//////////////"), None);
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    const ACCOUNT: &str = "123456789012";

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + TimeDelta::milliseconds(123)
    }

    fn role_spec() -> SessionSpec {
        let mut spec = SessionSpec::new(
            Principal::AssumedRole {
                account: ACCOUNT.into(),
                role_name: "deploy".into(),
                role_id: "AROA3XFRBF535PLBIFPI4".into(),
                role_path: "/ci/".into(),
                session_name: "gh-run-42".into(),
            },
            SessionSource::WebIdentity {
                provider_arn: format!(
                    "arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
                ),
                subject: "repo:org/repo:ref:refs/heads/main".into(),
                audience: "sts.amazonaws.com".into(),
            },
        );
        spec.session_policy = Some(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#
                .into(),
        );
        spec.policy_arns = vec![format!("arn:aws:iam::{ACCOUNT}:policy/ReadOnly")];
        spec.tags = vec![
            ("Project".into(), "Pegasus".into()),
            ("Team".into(), "Ünïcode".into()),
        ];
        spec.transitive_tag_keys = vec!["Project".into()];
        spec.source_identity = Some("DevUser123".into());
        spec.federated_keys = vec![(
            "token.actions.githubusercontent.com:sub".into(),
            vec!["repo:org/repo:ref:refs/heads/main".into()],
        )];
        spec
    }

    fn all_specs() -> Vec<SessionSpec> {
        let mut user = SessionSpec::new(
            Principal::User {
                account: ACCOUNT.into(),
                user_name: "alice".into(),
                user_id: "AIDAJQABLZS4A3QDU576Q".into(),
                user_path: "/engineering/".into(),
            },
            SessionSource::GetSessionToken,
        );
        user.mfa_authenticated_at = Some(t0());
        let root = SessionSpec::new(
            Principal::Root {
                account: ACCOUNT.into(),
            },
            SessionSource::GetSessionToken,
        );
        let fed = SessionSpec::new(
            Principal::FederatedUser {
                account: ACCOUNT.into(),
                name: "bob".into(),
            },
            SessionSource::GetFederationToken {
                user_id: Some("AIDAEXAMPLEUSER000001".into()),
            },
        );
        let mut chained = role_spec();
        chained.source = SessionSource::AssumeRole;
        chained.chain_depth = 2;
        let mut saml = role_spec();
        saml.source = SessionSource::Saml {
            provider_arn: format!("arn:aws:iam::{ACCOUNT}:saml-provider/Okta"),
            issuer: "http://www.okta.com/exk1".into(),
            subject: "alice@example.com".into(),
            subject_type: "persistent".into(),
            name_qualifier: "Wq0Rb+4/nsXlvX+MKiTNMhO5Wl4=".into(),
        };
        vec![role_spec(), user, root, fed, chained, saml]
    }

    fn keyring() -> Keyring {
        Keyring::generate(t0()).unwrap()
    }

    fn mint(ring: &Keyring) -> IssuedSession {
        issue_session(ring, role_spec(), t0(), 3600).unwrap()
    }

    fn decoded(token: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(token).unwrap()
    }

    fn assert_invalid(ring: &Keyring, token: &str, what: &str) {
        assert_eq!(
            open(ring, token, t0()).map(|_| ()),
            Err(TokenError::Invalid),
            "{what}"
        );
    }

    #[test]
    fn round_trip_every_kind_of_session() {
        let ring = keyring();
        for spec in all_specs() {
            let issued = issue_session(&ring, spec.clone(), t0(), 900).unwrap();
            assert!(crate::credentials::is_temporary_access_key_id(
                &issued.access_key_id
            ));
            assert_eq!(
                crate::credentials::account_from_key_id(&issued.access_key_id).as_deref(),
                Some(ACCOUNT)
            );
            assert!(crate::credentials::is_secret_access_key(
                issued.secret_access_key.expose()
            ));
            assert_eq!(issued.issued_at, t0());
            assert_eq!(issued.expiration, t0() + TimeDelta::seconds(900));

            let claims = open(&ring, issued.session_token.as_str(), t0()).unwrap();
            assert_eq!(claims.version, CLAIMS_VERSION);
            assert_eq!(claims.access_key_id, issued.access_key_id);
            assert!(claims.secret_access_key.ct_eq(&issued.secret_access_key));
            assert_eq!(claims.issued_at, issued.issued_at);
            assert_eq!(claims.expires_at, issued.expiration);
            assert_eq!(claims.principal, spec.principal);
            assert_eq!(claims.source, spec.source);
            assert_eq!(claims.mfa_authenticated_at, spec.mfa_authenticated_at);
            assert_eq!(claims.session_policy, spec.session_policy);
            assert_eq!(claims.policy_arns, spec.policy_arns);
            assert_eq!(claims.tags, spec.tags);
            assert_eq!(claims.transitive_tag_keys, spec.transitive_tag_keys);
            assert_eq!(claims.source_identity, spec.source_identity);
            assert_eq!(claims.chain_depth, spec.chain_depth);
            assert_eq!(claims.federated_keys, spec.federated_keys);

            // seal(open(t)) opens to the same claims (fresh nonce, different token).
            let again = seal(&ring, &claims).unwrap();
            assert_ne!(again, issued.session_token);
            assert_eq!(open(&ring, again.as_str(), t0()).unwrap(), claims);
        }
    }

    #[test]
    fn claims_larger_than_the_first_buffer_round_trip() {
        // 20 tags of 64 + 64 characters and a long policy: the plaintext outgrows
        // PLAINTEXT_CAPACITY several times over (and stays under the token size limit).
        let ring = keyring();
        let mut spec = role_spec();
        spec.tags = (0..20)
            .map(|i| (format!("{i:0>64}"), "v\"é".repeat(21)))
            .collect();
        spec.session_policy = Some(format!("{{\"x\":\"{}\"}}", "p".repeat(2000)));
        let issued = issue_session(&ring, spec.clone(), t0(), 900).unwrap();
        let claims = open(&ring, issued.session_token.as_str(), t0()).unwrap();
        assert_eq!(claims.tags, spec.tags);
        assert_eq!(claims.session_policy, spec.session_policy);
    }

    #[test]
    fn issue_time_is_truncated_to_milliseconds() {
        let ring = keyring();
        let now = t0() + TimeDelta::nanoseconds(456_789);
        let issued = issue_session(&ring, role_spec(), now, 3600).unwrap();
        assert_eq!(issued.issued_at, t0());
        let claims = open(&ring, issued.session_token.as_str(), now).unwrap();
        assert_eq!(claims.issued_at, issued.issued_at);
    }

    #[test]
    fn principal_arns_and_user_ids() {
        let specs = all_specs();
        let want = [
            (
                "arn:aws:sts::123456789012:assumed-role/deploy/gh-run-42",
                "AROA3XFRBF535PLBIFPI4:gh-run-42",
            ),
            (
                "arn:aws:iam::123456789012:user/engineering/alice",
                "AIDAJQABLZS4A3QDU576Q",
            ),
            ("arn:aws:iam::123456789012:root", "123456789012"),
            (
                "arn:aws:sts::123456789012:federated-user/bob",
                "123456789012:bob",
            ),
        ];
        for (spec, (arn, user_id)) in specs.iter().zip(want) {
            assert_eq!(spec.principal.arn(), arn);
            assert_eq!(spec.principal.user_id(), user_id);
            assert_eq!(spec.principal.account(), ACCOUNT);
        }
    }

    #[test]
    fn mint_rejects_bad_inputs() {
        let ring = keyring();
        assert_eq!(
            issue_session(&ring, role_spec(), t0(), 0),
            Err(MintError::InvalidDuration)
        );
        let mut spec = role_spec();
        spec.principal = Principal::Root {
            account: "12345".into(),
        };
        assert_eq!(
            issue_session(&ring, spec, t0(), 900),
            Err(MintError::InvalidAccount)
        );
    }

    #[test]
    fn large_legal_session_fits_and_oversized_is_refused() {
        let ring = keyring();
        let mut spec = role_spec();
        // A 2,048-character session policy (its plaintext limit), 10 ARNs, 50 tags.
        let filler = "x".repeat(2048 - 80);
        spec.session_policy = Some(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{filler}","Effect":"Allow"}}]}}"#
        ));
        spec.policy_arns = (0..10)
            .map(|i| format!("arn:aws:iam::{ACCOUNT}:policy/some/path/Policy{i}"))
            .collect();
        spec.tags = (0..50)
            .map(|i| {
                (
                    format!("tag-key-{i:02}"),
                    format!("a-reasonable-value-{i:02}"),
                )
            })
            .collect();
        let issued = issue_session(&ring, spec.clone(), t0(), 3600).unwrap();
        let len = issued.session_token.as_str().len();
        assert!(len <= MAX_TOKEN_LEN, "{len}");
        assert!(open(&ring, issued.session_token.as_str(), t0()).is_ok());

        spec.session_policy = Some("y".repeat(MAX_TOKEN_LEN));
        assert!(matches!(
            issue_session(&ring, spec, t0(), 3600),
            Err(MintError::TooLarge { .. })
        ));
    }

    #[test]
    fn expiry_boundaries() {
        let ring = keyring();
        let issued = mint(&ring);
        let token = issued.session_token.as_str();
        let exp = issued.expiration;
        assert!(
            open(&ring, token, t0() - TimeDelta::hours(1)).is_ok(),
            "before issue"
        );
        assert!(open(&ring, token, t0()).is_ok());
        assert!(open(&ring, token, exp - TimeDelta::milliseconds(1)).is_ok());
        assert_eq!(
            open(&ring, token, exp).map(|_| ()),
            Err(TokenError::Expired)
        );
        assert_eq!(
            open(&ring, token, exp + TimeDelta::seconds(1)).map(|_| ()),
            Err(TokenError::Expired)
        );
        assert_eq!(
            open(&ring, token, exp + TimeDelta::days(365)).map(|_| ()),
            Err(TokenError::Expired)
        );
        // An expired token that has been tampered with is Invalid, not Expired: the tag is
        // checked before anything inside is believed.
        let mut bytes = decoded(token);
        *bytes.last_mut().unwrap() ^= 1;
        assert_eq!(
            open(&ring, &URL_SAFE_NO_PAD.encode(&bytes), exp).map(|_| ()),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn token_is_bound_to_its_access_key() {
        let ring = keyring();
        let a = mint(&ring);
        let b = mint(&ring);
        let tok = a.session_token.as_str();
        assert!(open_for_access_key(&ring, tok, &a.access_key_id, t0()).is_ok());
        assert_eq!(
            open_for_access_key(&ring, tok, &b.access_key_id, t0()).map(|_| ()),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            open_for_access_key(&ring, tok, "", t0()).map(|_| ()),
            Err(TokenError::Invalid)
        );
        // Binding is checked before expiry.
        assert_eq!(
            open_for_access_key(&ring, tok, &b.access_key_id, a.expiration).map(|_| ()),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            open_for_access_key(&ring, tok, &a.access_key_id, a.expiration).map(|_| ()),
            Err(TokenError::Expired)
        );
    }

    fn open_cached(
        ring: &Keyring,
        token: &str,
        access_key_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<SessionClaims>, TokenError> {
        open_for_access_key_cached(ring, token, access_key_id, now, &CacheCounts::default())
    }

    #[test]
    fn cached_opening_counts_hits_and_misses() {
        let ring = keyring();
        let a = mint(&ring);
        let counts = CacheCounts::default();
        let tok = a.session_token.as_str();
        for _ in 0..3 {
            open_for_access_key_cached(&ring, tok, &a.access_key_id, t0(), &counts).unwrap();
        }
        assert_eq!((counts.hits(), counts.misses()), (2, 1));
    }

    #[test]
    fn cached_opening_checks_binding_and_expiry_on_every_call() {
        let ring = keyring();
        let a = mint(&ring);
        let b = mint(&ring);
        let tok = a.session_token.as_str();
        let first = open_cached(&ring, tok, &a.access_key_id, t0()).unwrap();
        let again = open_cached(&ring, tok, &a.access_key_id, t0()).unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second call is served from the cache"
        );
        assert_eq!(*first, open(&ring, tok, t0()).unwrap());
        assert_eq!(
            open_cached(&ring, tok, &b.access_key_id, t0()).map(|_| ()),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            open_cached(&ring, tok, &a.access_key_id, a.expiration).map(|_| ()),
            Err(TokenError::Expired)
        );
        assert_eq!(
            open_cached(&ring, tok, &b.access_key_id, a.expiration).map(|_| ()),
            Err(TokenError::Invalid),
            "binding before expiry, cached or not"
        );
        // Failures are not cached; a tampered copy of a cached token is still refused.
        let mut bytes = decoded(tok);
        *bytes.last_mut().unwrap() ^= 1;
        let tampered = URL_SAFE_NO_PAD.encode(&bytes);
        assert_eq!(
            open_cached(&ring, &tampered, &a.access_key_id, t0()).map(|_| ()),
            Err(TokenError::Invalid)
        );
        assert_eq!(ring.opened().len(), 1);
    }

    #[test]
    fn rotation_empties_the_opened_token_cache() {
        let mut ring = keyring();
        let old = mint(&ring);
        let tok = old.session_token.as_str();
        open_cached(&ring, tok, &old.access_key_id, t0()).unwrap();
        ring.rotate(t0()).unwrap();
        assert_eq!(ring.opened().len(), 0);
        // Still opens under the previous generation, and is cached again.
        open_cached(&ring, tok, &old.access_key_id, t0()).unwrap();
        ring.rotate(t0()).unwrap();
        assert_eq!(
            open_cached(&ring, tok, &old.access_key_id, t0()).map(|_| ()),
            Err(TokenError::Invalid),
            "a retired key's token does not survive in the cache"
        );
    }

    #[test]
    fn opened_token_cache_is_bounded() {
        let ring = keyring();
        let issued: Vec<_> = (0..3).map(|_| mint(&ring)).collect();
        let claims = Arc::new(open(&ring, issued[0].session_token.as_str(), t0()).unwrap());
        for i in 0..OPENED_TOKENS_MAX + 10 {
            ring.opened().insert(&format!("t{i}"), claims.clone());
            assert!(ring.opened().len() <= OPENED_TOKENS_MAX);
        }
        for t in &issued {
            open_cached(&ring, t.session_token.as_str(), &t.access_key_id, t0()).unwrap();
        }
        assert!(ring.opened().len() <= OPENED_TOKENS_MAX);
    }

    /// Two tokens with the same length and ending share a slot: each answers only for itself.
    #[test]
    fn opened_token_cache_answers_only_the_exact_token() {
        let ring = keyring();
        let claims = Arc::new(open(&ring, mint(&ring).session_token.as_str(), t0()).unwrap());
        let tail = "x".repeat(TOKEN_HASHED_TAIL);
        let (a, b) = (format!("a{tail}"), format!("b{tail}"));
        ring.opened().insert(&a, claims.clone());
        assert!(ring.opened().get(&a).is_some());
        assert!(ring.opened().get(&b).is_none());
        ring.opened().insert(&b, claims);
        assert!(ring.opened().get(&b).is_some());
        assert!(ring.opened().get(&a).is_none(), "b took a's slot: a misses");
        assert!(ring.opened().get(&tail).is_none());
        assert!(ring.opened().get("").is_none());
    }

    #[test]
    fn every_flipped_bit_is_invalid() {
        let ring = keyring();
        let token = mint(&ring).session_token.into_string();

        // In the decoded bytes, re-encoded canonically.
        let bytes = decoded(&token);
        for i in 0..bytes.len() * 8 {
            let mut bad = bytes.clone();
            bad[i / 8] ^= 1 << (i % 8);
            assert_invalid(
                &ring,
                &URL_SAFE_NO_PAD.encode(&bad),
                &format!("byte bit {i}"),
            );
        }
        // In the text itself (skipping flips that make invalid UTF-8, which `&str` can't carry).
        let text = token.as_bytes();
        let mut tried = 0;
        for i in 0..text.len() * 8 {
            let mut bad = text.to_vec();
            bad[i / 8] ^= 1 << (i % 8);
            if let Ok(s) = std::str::from_utf8(&bad) {
                tried += 1;
                assert_invalid(&ring, s, &format!("char bit {i}"));
            }
        }
        assert!(tried >= text.len() * 7);
    }

    #[test]
    fn every_truncation_is_invalid() {
        let ring = keyring();
        let token = mint(&ring).session_token.into_string();
        for n in 0..token.len() {
            assert_invalid(&ring, &token[..n], &format!("prefix {n}"));
            assert_invalid(&ring, &token[n + 1..], &format!("suffix from {}", n + 1));
        }
        let bytes = decoded(&token);
        for n in 0..bytes.len() {
            assert_invalid(
                &ring,
                &URL_SAFE_NO_PAD.encode(&bytes[..n]),
                &format!("bytes {n}"),
            );
        }
    }

    #[test]
    fn appended_bytes_are_invalid() {
        let ring = keyring();
        let token = mint(&ring).session_token.into_string();
        for extra in [
            "A", "AA", "AAA", "AAAA", "=", "==", "\n", "\r\n", " ", "\0", "-", "_", ".",
        ] {
            assert_invalid(
                &ring,
                &format!("{token}{extra}"),
                &format!("append {extra:?}"),
            );
            assert_invalid(
                &ring,
                &format!("{extra}{token}"),
                &format!("prepend {extra:?}"),
            );
        }
        let bytes = decoded(&token);
        for extra in [&[0u8][..], &[0; 16], &[0xff; 3]] {
            let mut longer = bytes.clone();
            longer.extend_from_slice(extra);
            assert_invalid(&ring, &URL_SAFE_NO_PAD.encode(&longer), "bytes appended");
        }
        let mid = token.len() / 2;
        assert_invalid(
            &ring,
            &format!("{}\n{}", &token[..mid], &token[mid..]),
            "newline inside",
        );
    }

    #[test]
    fn base64_variants_are_invalid() {
        let ring = keyring();
        // Mint until the token needs both URL-safe characters and padding would be non-empty,
        // so the alphabet and padding variants differ from the canonical token.
        // The sealed length depends only on the claims, so vary the session name's length.
        let (token, bytes) = (0..300)
            .find_map(|i| {
                let mut spec = role_spec();
                spec.principal = Principal::Root {
                    account: ACCOUNT.into(),
                };
                spec.source_identity = Some("x".repeat(2 + i % 3));
                let t = issue_session(&ring, spec, t0(), 3600)
                    .unwrap()
                    .session_token
                    .into_string();
                let b = decoded(&t);
                (t.contains('-') && t.contains('_') && !b.len().is_multiple_of(3)).then_some((t, b))
            })
            .unwrap();
        assert!(open(&ring, &token, t0()).is_ok());
        let variants = [
            ("url-safe padded", URL_SAFE.encode(&bytes)),
            ("standard", STANDARD.encode(&bytes)),
            ("standard no pad", STANDARD_NO_PAD.encode(&bytes)),
            ("swap - to +", token.replace('-', "+")),
            ("swap _ to /", token.replace('_', "/")),
            ("padding =", format!("{token}=")),
            ("padding ==", format!("{token}==")),
            ("lower case", token.to_lowercase()),
            ("upper case", token.to_uppercase()),
        ];
        for (what, variant) in variants {
            assert_ne!(variant, token, "{what}");
            assert_invalid(&ring, &variant, what);
        }
        // Non-canonical trailing bits: another last character that decodes to the same bytes.
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let last = *token.as_bytes().last().unwrap();
        let mut aliases = 0;
        for &c in alphabet {
            if c == last {
                continue;
            }
            let alt = format!("{}{}", &token[..token.len() - 1], c as char);
            let lenient = base64::engine::GeneralPurpose::new(
                &base64::alphabet::URL_SAFE,
                base64::engine::GeneralPurposeConfig::new()
                    .with_decode_allow_trailing_bits(true)
                    .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
            );
            if lenient.decode(&alt).ok().as_deref() == Some(&bytes[..]) {
                aliases += 1;
                assert_invalid(&ring, &alt, "non-canonical trailing bits");
            }
        }
        assert!(aliases > 0, "the test must exercise at least one alias");
    }

    #[test]
    fn tokens_from_another_keyring_are_invalid() {
        let ring = keyring();
        let token = mint(&ring).session_token.into_string();
        assert_invalid(&keyring(), &token, "random other keyring");
        // Same key id, different key material: the tag decides.
        let same_id = Keyring::from_keys(
            (ring.current_id(), Secret::from_bytes(vec![0x11; 32])),
            vec![],
            t0(),
        )
        .unwrap();
        assert_invalid(&same_id, &token, "same id, other key");
    }

    #[test]
    fn rotation_keeps_previous_tokens_and_two_rotations_retire_them() {
        let mut ring = keyring();
        let old = mint(&ring);
        ring.rotate(t0()).unwrap();
        let claims = open(&ring, old.session_token.as_str(), t0()).unwrap();
        assert_eq!(claims.access_key_id, old.access_key_id);
        let newer = mint(&ring);
        ring.rotate(t0()).unwrap();
        assert_invalid(&ring, old.session_token.as_str(), "retired key id");
        assert!(open(&ring, newer.session_token.as_str(), t0()).is_ok());
        ring.rotate(t0()).unwrap();
        assert_invalid(&ring, newer.session_token.as_str(), "retired key id");
    }

    #[test]
    fn unknown_version_is_invalid_even_when_properly_sealed() {
        let ring = keyring();
        let plaintext =
            serde_json::to_vec(&open(&ring, mint(&ring).session_token.as_str(), t0()).unwrap())
                .unwrap();
        // A correctly authenticated token in a format version we do not know.
        for version in [0u8, 2, 0xff] {
            let token = seal_bytes(&ring, version, &plaintext).unwrap();
            assert_invalid(&ring, token.as_str(), &format!("version {version}"));
        }
        // And the same bytes with the known version open, so the version is what decided.
        let token = seal_bytes(&ring, TOKEN_VERSION, &plaintext).unwrap();
        assert!(open(&ring, token.as_str(), t0()).is_ok());

        // Unknown claims version inside a valid token.
        let mut claims = open(&ring, token.as_str(), t0()).unwrap();
        claims.version = CLAIMS_VERSION + 1;
        let token = seal(&ring, &claims).unwrap();
        assert_invalid(&ring, token.as_str(), "claims version");
    }

    #[test]
    fn authentic_garbage_plaintext_is_invalid() {
        let ring = keyring();
        for plaintext in [
            &b""[..],
            b"{}",
            b"null",
            b"\xff\xfe",
            br#"{"v":1,"ak":"ASIA","extra":true}"#,
        ] {
            let token = seal_bytes(&ring, TOKEN_VERSION, plaintext).unwrap();
            assert_invalid(&ring, token.as_str(), &format!("{plaintext:?}"));
        }
    }

    #[test]
    fn over_length_tokens_are_invalid_before_decoding() {
        let ring = keyring();
        assert_invalid(&ring, &"A".repeat(MAX_TOKEN_LEN + 1), "too long");
        assert_invalid(&ring, &"A".repeat(MAX_TOKEN_LEN), "max length garbage");
        assert_invalid(&ring, "", "empty");
    }

    #[test]
    fn nothing_secret_is_readable() {
        let ring = keyring();
        let issued = mint(&ring);
        let token = issued.session_token.as_str();
        let secret = issued.secret_access_key.expose();
        let bytes = decoded(token);
        let haystacks: [&[u8]; 2] = [token.as_bytes(), &bytes];
        for hay in haystacks {
            for needle in [
                secret.as_bytes(),
                &secret.as_bytes()[..12],
                issued.access_key_id.as_bytes(),
                b"gh-run-42",
                b"Pegasus",
                b"deploy",
            ] {
                assert!(
                    !hay.windows(needle.len()).any(|w| w == needle),
                    "{:?} readable",
                    String::from_utf8_lossy(needle)
                );
            }
        }
        // Only version, key id and nonce are plaintext; the nonce is fresh per token.
        assert_eq!(bytes[0], TOKEN_VERSION);
        assert_eq!(&bytes[1..5], &ring.current_id().to_be_bytes());
        let again = seal(&ring, &open(&ring, token, t0()).unwrap()).unwrap();
        assert_ne!(&decoded(again.as_str())[5..17], &bytes[5..17]);
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let ring = keyring();
        let issued = mint(&ring);
        let claims = open(&ring, issued.session_token.as_str(), t0()).unwrap();
        let secret = issued.secret_access_key.expose().to_owned();
        for shown in [
            format!("{claims:?}"),
            format!("{claims:#?}"),
            format!("{issued:?}"),
            format!("{ring:?}"),
            format!("{:?}", issued.session_token),
        ] {
            assert!(!shown.contains(&secret), "{shown}");
            assert!(!shown.contains(&secret[..10]), "{shown}");
            assert!(!shown.contains(issued.session_token.as_str()), "{shown}");
        }
        assert!(format!("{claims:?}").contains(&issued.access_key_id));
    }

    #[test]
    fn fuzz_entry_handles_every_mode() {
        let ring = keyring();
        let token = mint(&ring).session_token.into_string();
        let mut inputs: Vec<Vec<u8>> = vec![vec![], vec![0], vec![1], vec![2]];
        for mode in 0u8..3 {
            inputs.push([&[mode][..], token.as_bytes()].concat());
            inputs.push([&[mode][..], b"{\"v\":1}"].concat());
            inputs.push([&[mode][..], &[0xff; 40][..]].concat());
            inputs.push([&[mode][..], &[1, 1, 2, 3, 4][..], &[0; 40][..]].concat());
        }
        for input in inputs {
            crate::credentials::fuzz_open(&input);
        }
    }

    fn fixed_keyring() -> Keyring {
        Keyring::from_keys(
            (0x0a0b_0c0d, Secret::from_bytes(vec![0x33; 32])),
            vec![(0x0102_0304, Secret::from_bytes(vec![0x44; 32]))],
            t0(),
        )
        .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_strings_are_invalid(s in any::<String>()) {
            prop_assert_eq!(open(&fixed_keyring(), &s, t0()).map(|_| ()), Err(TokenError::Invalid));
        }

        #[test]
        fn arbitrary_base64url_strings_are_invalid(s in "[A-Za-z0-9_-]{0,400}") {
            prop_assert_eq!(open(&fixed_keyring(), &s, t0()).map(|_| ()), Err(TokenError::Invalid));
        }

        #[test]
        fn arbitrary_bytes_are_invalid(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let token = URL_SAFE_NO_PAD.encode(&bytes);
            prop_assert_eq!(open(&fixed_keyring(), &token, t0()).map(|_| ()), Err(TokenError::Invalid));
        }

        /// Right version and a held key id, so every case reaches the AEAD check.
        #[test]
        fn arbitrary_bodies_with_valid_headers_are_invalid(
            current in any::<bool>(),
            body in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let id: u32 = if current { 0x0a0b_0c0d } else { 0x0102_0304 };
            let mut bytes = vec![TOKEN_VERSION];
            bytes.extend_from_slice(&id.to_be_bytes());
            bytes.extend_from_slice(&body);
            let token = URL_SAFE_NO_PAD.encode(&bytes);
            prop_assert_eq!(open(&fixed_keyring(), &token, t0()).map(|_| ()), Err(TokenError::Invalid));
        }

        #[test]
        fn fuzz_open_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            crate::credentials::fuzz_open(&bytes);
        }
    }

    /// `cargo test --release -- --ignored --nocapture token_timing`
    #[test]
    #[ignore = "timing report, run by hand"]
    fn token_timing() {
        let ring = keyring();
        let n = 20_000u32;
        let start = std::time::Instant::now();
        let mut last = None;
        for _ in 0..n {
            last = Some(issue_session(&ring, role_spec(), t0(), 3600).unwrap());
        }
        let issue = start.elapsed() / n;
        let token = last.unwrap().session_token;
        let claims = open(&ring, token.as_str(), t0()).unwrap();
        let start = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(seal(&ring, &claims).unwrap());
        }
        let seal_t = start.elapsed() / n;
        let start = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(open(&ring, token.as_str(), t0()).unwrap());
        }
        let open_t = start.elapsed() / n;
        println!(
            "token {} chars: issue_session {issue:?}, seal {seal_t:?}, open {open_t:?}",
            token.as_str().len()
        );
    }
}
