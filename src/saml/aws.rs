//! What AWS reads of a verified assertion: the attributes named
//! `https://aws.amazon.com/SAML/Attributes/*` (IAM User Guide, "Configure SAML assertions for
//! the authentication response"), the `saml:` condition keys (IAM User Guide, "Available keys
//! for SAML-based federation") and the answer's `SubjectType` and `NameQualifier`
//! (<https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html>).
//!
//! Pure functions of a [`Verified`] assertion: the STS action and the browser sign-in read the
//! same roles, session name and tags from here. Messages are AWS's where AWS's are known.

use base64::Engine as _;

use super::response::Verified;

pub const ATTRIBUTE_PREFIX: &str = "https://aws.amazon.com/SAML/Attributes/";
pub const ROLE: &str = "https://aws.amazon.com/SAML/Attributes/Role";
pub const ROLE_SESSION_NAME: &str = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
pub const SESSION_DURATION: &str = "https://aws.amazon.com/SAML/Attributes/SessionDuration";
pub const SOURCE_IDENTITY: &str = "https://aws.amazon.com/SAML/Attributes/SourceIdentity";
pub const TRANSITIVE_TAG_KEYS: &str = "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys";
pub const PRINCIPAL_TAG: &str = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:";

/// `NameID` formats AWS answers without this prefix (`persistent`, `transient`, ...).
const NAMEID_FORMAT_PREFIX: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:";
/// The `Format` a `NameID` without one has (saml-core §8.3.1).
const UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

/// The trust-policy keys of eduPerson, eduOrg and directory attributes, by the attribute's
/// `Name` as the eduPerson schema and X.500 give their OIDs (`urn:oid:` form, SAML's
/// attribute profile). AWS lists the keys but not the names it reads them from: these are the
/// standard OIDs (unverified against AWS). Every key is multivalued.
pub const ATTRIBUTE_KEYS: &[(&str, &str)] = &[
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.1",
        "saml:edupersonaffiliation",
    ),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.2", "saml:edupersonnickname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.3", "saml:edupersonorgdn"),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.4",
        "saml:edupersonorgunitdn",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.5",
        "saml:edupersonprimaryaffiliation",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.6",
        "saml:edupersonprincipalname",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.7",
        "saml:edupersonentitlement",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.8",
        "saml:edupersonprimaryorgunitdn",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.9",
        "saml:edupersonscopedaffiliation",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.10",
        "saml:edupersontargetedid",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.11",
        "saml:edupersonassurance",
    ),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.2", "saml:eduorghomepageuri"),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.2.1.3",
        "saml:eduorgidentityauthnpolicyuri",
    ),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.4", "saml:eduorglegalname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.5", "saml:eduorgsuperioruri"),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.2.1.6",
        "saml:eduorgwhitepagesuri",
    ),
    ("urn:oid:2.5.4.3", "saml:cn"),
    ("urn:oid:2.5.4.3", "saml:commonName"),
    ("urn:oid:2.5.4.42", "saml:givenName"),
    ("urn:oid:2.5.4.4", "saml:surname"),
    ("urn:oid:2.5.4.41", "saml:name"),
    ("urn:oid:2.5.4.45", "saml:x500UniqueIdentifier"),
    ("urn:oid:0.9.2342.19200300.100.1.1", "saml:uid"),
    ("urn:oid:0.9.2342.19200300.100.1.3", "saml:mail"),
    (
        "urn:oid:0.9.2342.19200300.100.1.45",
        "saml:organizationStatus",
    ),
    ("urn:oid:1.2.840.113556.1.4.98", "saml:primaryGroupSID"),
];

/// What a verified assertion asks of AWS beyond the role, or why it cannot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributeError {
    #[error("RoleSessionName is required in AuthnResponse")]
    SessionNameMissing,
    #[error("RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{{2,64}}")]
    SessionNameInvalid,
    #[error("Source Identity must match [a-zA-Z_0-9+=,.@-]{{2,64}} and not begin with \"aws:\"")]
    SourceIdentityInvalid,
    // Ours from here on: AWS's wording is not known.
    #[error("SessionDuration in AuthnResponse must be one integer from 900 to 43200")]
    SessionDurationInvalid,
    #[error("PrincipalTag attributes in AuthnResponse must have exactly one value each")]
    TagValues,
}

/// One role the `Role` attribute offers, and the provider that vouches for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePair {
    pub role_arn: String,
    pub provider_arn: String,
}

/// Every `"<role ARN>,<provider ARN>"` value of the `Role` attribute, in either order
/// (IdPs differ; AWS documents the role first). Values that are not such a pair are skipped.
pub fn roles(v: &Verified) -> Vec<RolePair> {
    v.values(ROLE)
        .filter_map(|value| {
            let (a, b) = value.split_once(',')?;
            let (a, b) = (a.trim(), b.trim());
            let is_role = |s: &str| s.starts_with("arn:") && s.contains(":role/");
            let is_provider = |s: &str| s.starts_with("arn:") && s.contains(":saml-provider/");
            let (role, provider) = if is_role(a) && is_provider(b) {
                (a, b)
            } else if is_provider(a) && is_role(b) {
                (b, a)
            } else {
                return None;
            };
            Some(RolePair {
                role_arn: role.to_owned(),
                provider_arn: provider.to_owned(),
            })
        })
        .collect()
}

/// Whether the assertion offers `role_arn` through `provider_arn`.
pub fn offers(v: &Verified, role_arn: &str, provider_arn: &str) -> bool {
    roles(v)
        .iter()
        .any(|p| p.role_arn == role_arn && p.provider_arn == provider_arn)
}

/// What the session gets from AWS's attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionAttributes {
    /// `RoleSessionName`.
    pub session_name: String,
    /// `SessionDuration`: shortens the session, never lengthens it.
    pub session_duration: Option<i64>,
    /// `SourceIdentity`.
    pub source_identity: Option<String>,
    /// `PrincipalTag:<Key>` = value, in document order (the tag rules are the caller's).
    pub tags: Vec<(String, String)>,
    /// `TransitiveTagKeys`.
    pub transitive_tag_keys: Vec<String>,
}

fn is_name(s: &str) -> bool {
    (2..=64).contains(&s.chars().count())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

/// The single value of `name`, `Ok(None)` when absent, `err` when it has several values.
fn single<'a>(
    v: &'a Verified,
    name: &'a str,
    err: AttributeError,
) -> Result<Option<&'a str>, AttributeError> {
    let mut values = v.values(name);
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(x), None) => Ok(Some(x.trim())),
        (Some(_), Some(_)) => Err(err),
    }
}

/// Read the session's attributes.
pub fn session_attributes(v: &Verified) -> Result<SessionAttributes, AttributeError> {
    let session_name = single(v, ROLE_SESSION_NAME, AttributeError::SessionNameInvalid)?
        .ok_or(AttributeError::SessionNameMissing)?;
    if !is_name(session_name) {
        return Err(AttributeError::SessionNameInvalid);
    }
    let session_duration = single(v, SESSION_DURATION, AttributeError::SessionDurationInvalid)?
        .map(|d| {
            d.parse::<i64>()
                .ok()
                .filter(|d| (900..=43_200).contains(d))
                .ok_or(AttributeError::SessionDurationInvalid)
        })
        .transpose()?;
    let source_identity = single(v, SOURCE_IDENTITY, AttributeError::SourceIdentityInvalid)?
        .map(|s| {
            if is_name(s) && !s.to_ascii_lowercase().starts_with("aws:") {
                Ok(s.to_owned())
            } else {
                Err(AttributeError::SourceIdentityInvalid)
            }
        })
        .transpose()?;
    let mut tags = Vec::new();
    for a in &v.attributes {
        if let Some(key) = a.name.strip_prefix(PRINCIPAL_TAG) {
            let [value] = a.values.as_slice() else {
                return Err(AttributeError::TagValues);
            };
            tags.push((key.to_owned(), value.trim().to_owned()));
        }
    }
    let transitive_tag_keys = v
        .values(TRANSITIVE_TAG_KEYS)
        .map(|k| k.trim().to_owned())
        .collect();
    Ok(SessionAttributes {
        session_name: session_name.to_owned(),
        session_duration,
        source_identity,
        tags,
        transitive_tag_keys,
    })
}

/// `SubjectType`: the `NameID` format, without `urn:oasis:names:tc:SAML:2.0:nameid-format:`
/// (`persistent`, `transient`); other formats unchanged.
pub fn subject_type(format: Option<&str>) -> String {
    let f = format
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .unwrap_or(UNSPECIFIED);
    f.strip_prefix(NAMEID_FORMAT_PREFIX).unwrap_or(f).to_owned()
}

/// `NameQualifier` (and `saml:namequalifier`): base64 of the SHA-1 of the issuer, the account
/// id, `/` and the provider's name.
pub fn name_qualifier(issuer: &str, account: &str, provider_name: &str) -> String {
    let text = format!("{issuer}{account}/{provider_name}");
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// The `saml:` keys of the assertion's eduPerson, eduOrg and directory attributes
/// ([`ATTRIBUTE_KEYS`]), each with all its values.
pub fn attribute_keys(v: &Verified) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (name, key) in ATTRIBUTE_KEYS {
        let values: Vec<String> = v.values(name).map(str::to_owned).collect();
        if v.has(name) {
            out.push(((*key).to_owned(), values));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::response::Attribute;

    fn verified(attrs: &[(&str, &[&str])]) -> Verified {
        Verified {
            issuer: "https://idp.example.com".into(),
            assertion_id: "_a".into(),
            subject: "alice".into(),
            subject_format: None,
            recipient: "https://signin.aws.amazon.com/saml".into(),
            audience: "urn:amazon:webservices".into(),
            issued_at: chrono::DateTime::default(),
            acceptable_until: chrono::DateTime::default(),
            session_not_on_or_after: None,
            encrypted: false,
            attributes: attrs
                .iter()
                .map(|(n, vs)| Attribute {
                    name: (*n).into(),
                    values: vs.iter().map(|v| (*v).into()).collect(),
                })
                .collect(),
        }
    }

    const R: &str = "arn:aws:iam::123456789012:role/dev";
    const P: &str = "arn:aws:iam::123456789012:saml-provider/okta";

    #[test]
    fn role_pairs_in_either_order() {
        let v = verified(&[(
            ROLE,
            &[
                &format!("{R},{P}"),
                &format!("{P}, arn:aws:iam::123456789012:role/ops"),
                "not a pair",
                &format!("{R},{R}"),
            ],
        )]);
        let got = roles(&v);
        assert_eq!(got.len(), 2);
        assert!(offers(&v, R, P));
        assert!(offers(&v, "arn:aws:iam::123456789012:role/ops", P));
        assert!(!offers(&v, P, R));
        assert!(!offers(&v, "arn:aws:iam::123456789012:role/other", P));
    }

    #[test]
    fn session_attributes_follow_aws_rules() {
        let ok = verified(&[
            (ROLE_SESSION_NAME, &["alice@example.com"]),
            (SESSION_DURATION, &["1800"]),
            (SOURCE_IDENTITY, &["alice"]),
            (&format!("{PRINCIPAL_TAG}Project"), &["Pegasus"]),
            (TRANSITIVE_TAG_KEYS, &["Project"]),
        ]);
        let a = session_attributes(&ok).unwrap();
        assert_eq!(a.session_name, "alice@example.com");
        assert_eq!(a.session_duration, Some(1800));
        assert_eq!(a.source_identity.as_deref(), Some("alice"));
        assert_eq!(a.tags, vec![("Project".to_owned(), "Pegasus".to_owned())]);
        assert_eq!(a.transitive_tag_keys, vec!["Project".to_owned()]);

        type Attrs<'a> = Vec<(&'a str, &'a [&'a str])>;
        let cases: Vec<(Attrs<'_>, AttributeError)> = vec![
            (vec![], AttributeError::SessionNameMissing),
            (
                vec![(ROLE_SESSION_NAME, &["a"])],
                AttributeError::SessionNameInvalid,
            ),
            (
                vec![(ROLE_SESSION_NAME, &["alice smith"])],
                AttributeError::SessionNameInvalid,
            ),
            (
                vec![(ROLE_SESSION_NAME, &["a1", "b2"])],
                AttributeError::SessionNameInvalid,
            ),
            (
                vec![
                    (ROLE_SESSION_NAME, &["alice"]),
                    (SESSION_DURATION, &["899"]),
                ],
                AttributeError::SessionDurationInvalid,
            ),
            (
                vec![(ROLE_SESSION_NAME, &["alice"]), (SESSION_DURATION, &["1h"])],
                AttributeError::SessionDurationInvalid,
            ),
            (
                vec![
                    (ROLE_SESSION_NAME, &["alice"]),
                    (SOURCE_IDENTITY, &["aws:root"]),
                ],
                AttributeError::SourceIdentityInvalid,
            ),
        ];
        for (attrs, want) in cases {
            assert_eq!(
                session_attributes(&verified(&attrs)),
                Err(want.clone()),
                "{want:?}"
            );
        }
    }

    #[test]
    fn subject_types_and_name_qualifiers() {
        assert_eq!(
            subject_type(Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")),
            "persistent"
        );
        assert_eq!(
            subject_type(Some(
                "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
            )),
            "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
        );
        assert_eq!(subject_type(None), UNSPECIFIED);
        // SHA-1 of "https://idp.example.com123456789012/okta", base64.
        let want = base64::engine::general_purpose::STANDARD.encode(
            ring::digest::digest(
                &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
                b"https://idp.example.com123456789012/okta",
            )
            .as_ref(),
        );
        assert_eq!(
            name_qualifier("https://idp.example.com", "123456789012", "okta"),
            want
        );
        assert_eq!(want.len(), 28);
    }

    #[test]
    fn eduperson_keys_by_oid() {
        let v = verified(&[
            ("urn:oid:1.3.6.1.4.1.5923.1.1.1.1", &["faculty", "staff"]),
            ("urn:oid:2.5.4.3", &["Alice"]),
            ("mail", &["ignored@example.com"]),
        ]);
        let keys = attribute_keys(&v);
        assert!(keys.contains(&(
            "saml:edupersonaffiliation".into(),
            vec!["faculty".into(), "staff".into()]
        )));
        assert!(keys.contains(&("saml:cn".into(), vec!["Alice".into()])));
        assert!(keys.contains(&("saml:commonName".into(), vec!["Alice".into()])));
        assert_eq!(keys.len(), 3);
    }
}
