//! Identifiers and secret access keys, shaped like AWS's.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids>
//!
//! - Access key ids: 20 characters, a 4-character prefix (`AKIA` long-term, `ASIA` temporary) and
//!   16 base32 characters (`A-Z2-7`, 80 bits).
//! - Unique ids (`AIDA` user, `AROA` role, `AGPA` group, `ANPA` policy, `ANVA` policy version,
//!   `AIPA` instance profile): 21 characters, the prefix and 17 random base32 characters.
//! - Secret access keys: 40 characters over `[A-Za-z0-9+/]` (30 random bytes in standard base64,
//!   240 bits).
//!
//! Access key ids carry their account like AWS's do (as reverse-engineered by the community;
//! `GetAccessKeyInfo` decodes it). The 16 characters are the base32 of 10 bytes whose first 48
//! bits, big-endian, are:
//!
//! ```text
//!  bit 47 | bits 46..7                | bits 6..0
//!  1      | account id (40 bits)      | random
//! ```
//! followed by 32 random bits: 39 random bits per key, so callers must still enforce uniqueness
//! where ids are stored (the birthday bound is ~2^19 keys per account). Access key ids are not
//! secret; their only job is to be unique and to look right to AWS tooling.
//!
//! Everything random comes from the system CSPRNG (`ring::rand::SystemRandom`).

use base64::Engine as _;

use super::base32;
use super::{RandomError, Secret, fill_random};

/// Prefix of long-term access key ids (IAM user access keys).
pub(crate) const LONG_TERM_KEY_PREFIX: &str = "AKIA";
/// Prefix of temporary (session) access key ids.
pub(crate) const TEMPORARY_KEY_PREFIX: &str = "ASIA";
/// Length of every access key id we mint.
pub(crate) const ACCESS_KEY_ID_LEN: usize = 20;
/// Length of every unique id we mint (`AROA...` role ids are 21 characters on AWS).
pub(crate) const UNIQUE_ID_LEN: usize = 21;
/// Length of a secret access key.
pub(crate) const SECRET_ACCESS_KEY_LEN: usize = 40;

/// Identifier generation errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The account id is not exactly 12 ASCII digits.
    #[error("account id must be 12 digits")]
    InvalidAccount,
}

/// The kinds of unique ids, each with its AWS prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UniqueIdKind {
    /// `AIDA`: IAM user.
    User,
    /// `AROA`: IAM role (the left half of `AssumedRoleId`).
    Role,
    /// `AGPA`: IAM group.
    Group,
    /// `ANPA`: managed policy.
    Policy,
    /// `ANVA`: managed policy version.
    PolicyVersion,
    /// `AIPA`: instance profile.
    InstanceProfile,
}

impl UniqueIdKind {
    pub const ALL: [UniqueIdKind; 6] = [
        Self::User,
        Self::Role,
        Self::Group,
        Self::Policy,
        Self::PolicyVersion,
        Self::InstanceProfile,
    ];

    pub const fn prefix(self) -> &'static str {
        match self {
            Self::User => "AIDA",
            Self::Role => "AROA",
            Self::Group => "AGPA",
            Self::Policy => "ANPA",
            Self::PolicyVersion => "ANVA",
            Self::InstanceProfile => "AIPA",
        }
    }

    /// The kind a unique id belongs to, if it is a well-formed unique id.
    pub fn of(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| is_unique_id(*k, id))
    }
}

/// A new long-term access key id (`AKIA...`) carrying `account`.
pub fn new_access_key_id(account: &str) -> Result<String, IdError> {
    key_id_with_account(LONG_TERM_KEY_PREFIX, account)
}

/// A new temporary access key id (`ASIA...`) carrying `account`.
pub fn new_temporary_access_key_id(account: &str) -> Result<String, IdError> {
    key_id_with_account(TEMPORARY_KEY_PREFIX, account)
}

/// A new unique id of `kind`: prefix + 17 random base32 characters (85 random bits).
pub fn new_unique_id(kind: UniqueIdKind) -> Result<String, IdError> {
    let mut raw = [0u8; UNIQUE_ID_LEN - 4];
    fill_random(&mut raw)?;
    let mut id = String::with_capacity(UNIQUE_ID_LEN);
    id.push_str(kind.prefix());
    // 256 is a multiple of 32, so taking the low 5 bits of a uniform byte is uniform.
    id.extend(raw.iter().map(|&b| base32::char_for(b)));
    Ok(id)
}

/// A new opaque id of 26 random base32 characters (130 bits): a SAML provider's
/// `SAMLProviderUUID` and its private keys' `KeyId` (`[A-Z0-9]+`, 22..64 in IAM's model).
pub fn new_opaque_id() -> Result<String, IdError> {
    let mut raw = [0u8; 26];
    fill_random(&mut raw)?;
    // 256 is a multiple of 32, so taking the low 5 bits of a uniform byte is uniform.
    Ok(raw.iter().map(|&b| base32::char_for(b)).collect())
}

/// A new random (version 4) UUID in its hyphenated lowercase form: the last part of a
/// service-linked role's `DeletionTaskId`.
pub fn new_uuid() -> Result<String, IdError> {
    let mut b = [0u8; 16];
    fill_random(&mut b)?;
    // RFC 9562 §5.4: version 4, variant 10.
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{byte:02x}"));
    }
    Ok(out)
}

/// A new 40-character secret access key.
pub fn new_secret_access_key() -> Result<Secret, IdError> {
    let mut raw = zeroize::Zeroizing::new([0u8; SECRET_ACCESS_KEY_LEN * 3 / 4]);
    fill_random(raw.as_mut())?;
    // 30 bytes encode to exactly 40 characters: no padding ever appears.
    Ok(Secret::from(
        base64::engine::general_purpose::STANDARD.encode(raw.as_ref()),
    ))
}

pub use crate::arn::is_account_id;

/// Is `s` a well-formed long-term access key id (`AKIA` + 16 base32)?
pub fn is_access_key_id(s: &str) -> bool {
    has_shape(s, LONG_TERM_KEY_PREFIX, ACCESS_KEY_ID_LEN)
}

/// Is `s` a well-formed temporary access key id (`ASIA` + 16 base32)?
pub fn is_temporary_access_key_id(s: &str) -> bool {
    has_shape(s, TEMPORARY_KEY_PREFIX, ACCESS_KEY_ID_LEN)
}

/// Is `s` a well-formed unique id of `kind` (prefix + 17 base32)?
pub fn is_unique_id(kind: UniqueIdKind, s: &str) -> bool {
    has_shape(s, kind.prefix(), UNIQUE_ID_LEN)
}

/// Is `s` shaped like a secret access key (40 characters of `[A-Za-z0-9+/]`)?
pub fn is_secret_access_key(s: &str) -> bool {
    s.len() == SECRET_ACCESS_KEY_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// An access key id an operator may choose for a root key: what AWS's API accepts as an
/// `AccessKeyId` (16..128 word characters), except the `ASIA` prefix of temporary keys.
pub fn is_chosen_access_key_id(s: &str) -> bool {
    (16..=128).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !s.starts_with(TEMPORARY_KEY_PREFIX)
}

/// The account id carried by an `AKIA`/`ASIA` key id minted here (or by AWS since 2019), like
/// `GetAccessKeyInfo`. `None` for anything that is not such a key id.
pub fn account_from_key_id(key_id: &str) -> Option<String> {
    if !(is_access_key_id(key_id) || is_temporary_access_key_id(key_id)) {
        return None;
    }
    let raw = base32::decode(key_id.get(4..)?)?;
    let mut head = [0u8; 8];
    head.get_mut(2..)?.copy_from_slice(raw.get(..6)?);
    let bits = u64::from_be_bytes(head);
    if bits & (1 << 47) == 0 {
        // Keys without the marker bit do not carry an account.
        return None;
    }
    let account = (bits & 0x7fff_ffff_ff80) >> 7;
    (account < 1_000_000_000_000).then(|| format!("{account:012}"))
}

fn has_shape(s: &str, prefix: &str, len: usize) -> bool {
    s.len() == len
        && s.strip_prefix(prefix)
            .is_some_and(|rest| rest.bytes().all(base32::is_base32_char))
}

fn key_id_with_account(prefix: &str, account: &str) -> Result<String, IdError> {
    if !is_account_id(account) {
        return Err(IdError::InvalidAccount);
    }
    let account: u64 = account.parse().map_err(|_| IdError::InvalidAccount)?;
    let mut random = [0u8; 5];
    fill_random(&mut random)?;
    let [r0, r1, r2, r3, r4] = random;
    // INVARIANT: account < 10^12 < 2^40, so `account << 7` stays below bit 47.
    let head = (1u64 << 47) | (account << 7) | u64::from(r0 & 0x7f);
    let mut raw = [0u8; 10];
    let (first, rest) = raw.split_at_mut(6);
    first.copy_from_slice(head.to_be_bytes().get(2..).unwrap_or(&[0; 6]));
    rest.copy_from_slice(&[r1, r2, r3, r4]);
    let mut id = String::with_capacity(ACCESS_KEY_ID_LEN);
    id.push_str(prefix);
    id.push_str(&base32::encode(&raw));
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "123456789012";

    #[test]
    fn uuids_are_version_4() {
        let a = new_uuid().unwrap();
        assert_eq!(a.len(), 36);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "{a}");
        assert!(
            matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "{a}"
        );
        assert!(
            a.bytes()
                .all(|b| b == b'-' || b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_ne!(a, new_uuid().unwrap());
    }

    fn all_base32(s: &str) -> bool {
        s.bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    }

    #[test]
    fn access_key_id_shape() {
        for _ in 0..200 {
            let id = new_access_key_id(ACCOUNT).unwrap();
            assert_eq!(id.len(), 20);
            assert!(id.starts_with("AKIA"));
            assert!(all_base32(&id[4..]), "{id}");
            assert!(is_access_key_id(&id));
            assert!(!is_temporary_access_key_id(&id));

            let tmp = new_temporary_access_key_id(ACCOUNT).unwrap();
            assert_eq!(tmp.len(), 20);
            assert!(tmp.starts_with("ASIA"));
            assert!(all_base32(&tmp[4..]), "{tmp}");
            assert!(is_temporary_access_key_id(&tmp));
            assert!(!is_access_key_id(&tmp));
        }
    }

    #[test]
    fn key_ids_carry_their_account() {
        for account in [
            "000000000000",
            "000000000001",
            ACCOUNT,
            "999999999999",
            "210987654321",
        ] {
            let id = new_access_key_id(account).unwrap();
            assert_eq!(account_from_key_id(&id).as_deref(), Some(account), "{id}");
            let tmp = new_temporary_access_key_id(account).unwrap();
            assert_eq!(account_from_key_id(&tmp).as_deref(), Some(account), "{tmp}");
        }
    }

    /// A real-format key from the community write-ups on account ids in access keys: decoding
    /// must agree with GetAccessKeyInfo's answer for it.
    #[test]
    fn account_decoding_matches_published_example() {
        // From "A short note on AWS KEY ID" (Tal Be'ery, 2023): ASIAY34FZKBOKMUTVV7A -> 609629065308.
        assert_eq!(
            account_from_key_id("ASIAY34FZKBOKMUTVV7A").as_deref(),
            Some("609629065308")
        );
        // AWS's documentation example key predates the encoding: no marker bit, no account.
        assert_eq!(account_from_key_id("AKIAIOSFODNN7EXAMPLE"), None);
    }

    #[test]
    fn account_must_be_twelve_digits() {
        for bad in [
            "",
            "12345678901",
            "1234567890123",
            "12345678901a",
            "-12345678901",
        ] {
            assert_eq!(
                new_access_key_id(bad),
                Err(IdError::InvalidAccount),
                "{bad}"
            );
            assert_eq!(
                new_temporary_access_key_id(bad),
                Err(IdError::InvalidAccount)
            );
        }
    }

    #[test]
    fn operators_may_choose_any_key_id_aws_accepts() {
        for ok in [
            "AKIAROOTEXAMPLE00001",
            "AKIAIOSFODNN7EXAMPLE",
            "root_key_0123456",
            &"A".repeat(128),
        ] {
            assert!(is_chosen_access_key_id(ok), "{ok}");
        }
        for bad in [
            "",
            "AKIASHORT",
            &"A".repeat(129),
            "AKIA-ROOT-EXAMPLE-01",
            "ASIAROOTEXAMPLE00001",
            "AKIAROOTEXAMPLE0000é",
        ] {
            assert!(!is_chosen_access_key_id(bad), "{bad}");
        }
    }

    #[test]
    fn account_from_garbage_is_none() {
        for bad in [
            "",
            "AKIA",
            "AKIAAAAAAAAAAAAAAAA",
            "AKIAAAAAAAAAAAAAAAAAA",
            "AKIA1AAAAAAAAAAAAAAA",
            "akiaAAAAAAAAAAAAAAAA",
            "AROAAAAAAAAAAAAAAAAAA",
            "AKIA7777777777777777",
        ] {
            assert_eq!(account_from_key_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn unique_id_shapes() {
        let expected = [
            (UniqueIdKind::User, "AIDA"),
            (UniqueIdKind::Role, "AROA"),
            (UniqueIdKind::Group, "AGPA"),
            (UniqueIdKind::Policy, "ANPA"),
            (UniqueIdKind::PolicyVersion, "ANVA"),
            (UniqueIdKind::InstanceProfile, "AIPA"),
        ];
        for (kind, prefix) in expected {
            assert_eq!(kind.prefix(), prefix);
            for _ in 0..50 {
                let id = new_unique_id(kind).unwrap();
                assert_eq!(id.len(), 21, "{id}");
                assert!(id.starts_with(prefix));
                assert!(all_base32(&id[4..]), "{id}");
                assert!(is_unique_id(kind, &id));
                assert_eq!(UniqueIdKind::of(&id), Some(kind));
            }
        }
        assert_eq!(
            UniqueIdKind::of("AROA3XFRBF535PLBIFPI4"),
            Some(UniqueIdKind::Role)
        );
        assert_eq!(UniqueIdKind::of("AROA3XFRBF535PLBIFPI"), None);
        assert_eq!(UniqueIdKind::of("AROA3XFRBF535PLBIFPI1"), None);
        assert!(!is_unique_id(UniqueIdKind::User, "AROA3XFRBF535PLBIFPI4"));
    }

    #[test]
    fn ids_differ() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            assert!(seen.insert(new_unique_id(UniqueIdKind::Role).unwrap()));
            assert!(seen.insert(new_access_key_id(ACCOUNT).unwrap()));
        }
    }

    #[test]
    fn secret_access_key_shape() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let s = new_secret_access_key().unwrap();
            let text = s.expose();
            assert_eq!(text.len(), 40);
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/'),
                "{text}"
            );
            assert!(is_secret_access_key(text));
            assert!(seen.insert(text.to_owned()));
        }
        assert!(is_secret_access_key(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        ));
        assert!(!is_secret_access_key(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE"
        ));
        assert!(!is_secret_access_key(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE="
        ));
        assert!(!is_secret_access_key(
            "wJalrXUtnFEMI-K7MDENG/bPxRfiCYEXAMPLEKEY"
        ));
    }

    #[test]
    fn validators_reject_near_misses() {
        assert!(is_access_key_id("AKIAIOSFODNN7EXAMPLE"));
        for bad in [
            "",
            "AKIAIOSFODNN7EXAMPL",
            "AKIAIOSFODNN7EXAMPLEE",
            "AKIAIOSFODNN1EXAMPLE",
            "akiaIOSFODNN7EXAMPLE",
            "AKIAiosfodnn7example",
            "ASIAIOSFODNN7EXAMPLE",
            "AKIAIOSFODNN7EXAMPL\u{c9}",
        ] {
            assert!(!is_access_key_id(bad), "{bad}");
        }
        assert!(is_account_id(ACCOUNT));
        assert!(!is_account_id("12345678901\u{661}"));
    }
}
