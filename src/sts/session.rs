//! What every role session shares, whichever `AssumeRole*` made it: duration rules, session
//! policies and their packed size, session tags (with transitive inheritance), minting.

use super::mint::{self, Issued};
use crate::credentials::{SessionClaims, SessionSpec};
use crate::error::{ApiError, ApiResult};
use crate::policy::{Policy, PolicyKind, policy_size};
use crate::protocol::input::{
    ArnParam, Field as _, Input, Reader, SessionPolicyText, TagKey, TagValue,
};
use crate::request::RequestInfo;
use crate::state::AppState;
use crate::store::Role;
use crate::store::Snapshot;

pub(crate) const CHAINING_MAX: i64 = 3_600;
pub(crate) const DEFAULT_DURATION: i64 = 3_600;
pub(crate) const MAX_POLICY_ARNS: usize = 10;
pub(crate) const MAX_SESSION_TAGS: usize = 50;
/// Plaintext budget for session policies and tags, in characters without whitespace. AWS packs
/// them into an undocumented binary form; we report `PackedPolicySize` as the share of this
/// budget that inline policy, managed policy ARNs and non-transitive session tags use.
pub(crate) const PACKED_BUDGET: usize = 2_048;

/// Duration for a role session: default 3600; at most the role's MaxSessionDuration, and at
/// most 3600 when chained (larger is an error, not clamped).
pub(crate) fn duration_for_role(
    role: &Role,
    requested: Option<i64>,
    chained: bool,
) -> ApiResult<u32> {
    let d = requested.unwrap_or(DEFAULT_DURATION);
    if chained && d > CHAINING_MAX {
        return Err(ApiError::validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    if d > role.max_session {
        return Err(ApiError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    u32::try_from(d).map_err(|_| ApiError::validation("DurationSeconds is out of range."))
}

/// The session policies a request passes: `Policy` and `PolicyArns.member.N.arn`, validated and
/// parsed (as identity policies).
#[derive(Debug, Default, Clone)]
pub(crate) struct SessionPolicies {
    pub inline: Option<String>,
    pub arns: Vec<String>,
}

impl Input for SessionPolicies {
    fn read(r: &mut Reader<'_>) -> ApiResult<Self> {
        let inline: Option<SessionPolicyText> = r.optional("Policy")?;
        if let Some(doc) = &inline
            && let Err(e) = Policy::parse(doc, PolicyKind::Identity)
        {
            r.validator().defer(ApiError::malformed_policy(e.message));
        }
        let members = r.structs("PolicyArns", &["arn"])?;
        let v = r.validator();
        v.count("PolicyArns", members.len(), MAX_POLICY_ARNS);
        let mut arns = Vec::with_capacity(members.len());
        for (i, m) in members.iter().enumerate() {
            let name = format!("PolicyArns.member.{}.arn", i + 1);
            let arn = m.get("arn").map(String::as_str).unwrap_or("");
            arns.push(ArnParam::read(&name, arn, v)?.into_string());
        }
        Ok(SessionPolicies {
            inline: inline.map(SessionPolicyText::into_string),
            arns,
        })
    }
}

/// Managed session policies must exist in the role's account (or be AWS managed).
pub(crate) fn check_policy_arns(
    view: &Snapshot,
    role_account: &str,
    arns: &[String],
) -> ApiResult<()> {
    for arn in arns {
        let ok = view
            .policies
            .managed
            .get(arn)
            .is_some_and(|m| m.account == role_account || m.account == "aws");
        if !ok {
            return Err(ApiError::malformed_policy(format!(
                "Policy {arn} does not exist or is not attachable."
            )));
        }
    }
    Ok(())
}

/// Session tags of one request, with what the calling session passes down.
#[derive(Debug, Default, Clone)]
pub(crate) struct SessionTags {
    /// Tags in this request (`Tags.member.N`).
    pub request: Vec<(String, String)>,
    /// Keys marked transitive in this request.
    pub transitive: Vec<String>,
    /// Transitive tags inherited from the calling session.
    pub inherited: Vec<(String, String)>,
}

/// The session tags a request passes (`Tags.member.N.Key/Value`, `TransitiveTagKeys`).
#[derive(Debug, Default, Clone)]
pub(crate) struct RequestTags {
    pub tags: Vec<(String, String)>,
    pub transitive: Vec<String>,
}

impl Input for RequestTags {
    fn read(r: &mut Reader<'_>) -> ApiResult<Self> {
        let raw = r.structs("Tags", &["Key", "Value"])?;
        let keys: Vec<TagKey> = r.list("TransitiveTagKeys", MAX_SESSION_TAGS)?;
        let v = r.validator();
        v.count("Tags", raw.len(), MAX_SESSION_TAGS);
        let mut tags = Vec::with_capacity(raw.len());
        for (i, m) in raw.iter().enumerate() {
            let (kp, vp) = (
                format!("Tags.member.{}.Key", i + 1),
                format!("Tags.member.{}.Value", i + 1),
            );
            let key = m
                .get("Key")
                .ok_or_else(|| ApiError::missing_parameter(&kp))?;
            let value = m
                .get("Value")
                .ok_or_else(|| ApiError::missing_parameter(&vp))?;
            let key = TagKey::read(&kp, key, v)?.into_string();
            let value = TagValue::read(&vp, value, v)?.into_string();
            tags.push((key, value));
        }
        let mut seen = std::collections::HashSet::new();
        for (k, _) in &tags {
            if !seen.insert(k.to_lowercase()) {
                v.defer(ApiError::invalid_parameter_value(
                    "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
                ));
            }
            if k.to_lowercase().starts_with("aws:") {
                v.defer(ApiError::invalid_parameter_value(
                    "Tag keys must not begin with the reserved prefix `aws:`.",
                ));
            }
        }
        for k in &keys {
            if !tags.iter().any(|(rk, _)| rk.eq_ignore_ascii_case(k)) {
                v.defer(ApiError::invalid_parameter_value(
                    "The specified transitive tag key must be included in the requested tags.",
                ));
            }
        }
        Ok(RequestTags {
            tags,
            transitive: keys.into_iter().map(TagKey::into_string).collect(),
        })
    }
}

impl RequestTags {
    /// Session tags an identity provider asserts (web identity token claims, SAML
    /// `PrincipalTag:*` attributes), held to the rules request parameters are held to: the
    /// error is the one the same `Tags` parameters would get.
    pub(crate) fn from_idp(
        tags: &[(String, String)],
        transitive: &[String],
    ) -> ApiResult<RequestTags> {
        if tags.is_empty() && transitive.is_empty() {
            return Ok(RequestTags::default());
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (i, (k, v)) in tags.iter().enumerate() {
            pairs.push((format!("Tags.member.{}.Key", i + 1), k.clone()));
            pairs.push((format!("Tags.member.{}.Value", i + 1), v.clone()));
        }
        for (i, k) in transitive.iter().enumerate() {
            pairs.push((format!("TransitiveTagKeys.member.{}", i + 1), k.clone()));
        }
        let params = crate::protocol::params::Params::from_pairs(
            pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())),
        );
        let mut r = Reader::new(&params);
        let tags = RequestTags::read(&mut r)?;
        r.validator().finish()?;
        Ok(tags)
    }
}

impl SessionTags {
    /// This request's tags joined with the transitive tags the calling session passes down; a
    /// request tag may not override an inherited one.
    pub(crate) fn new(
        request: RequestTags,
        caller: Option<&SessionClaims>,
    ) -> ApiResult<SessionTags> {
        let inherited: Vec<(String, String)> = caller
            .map(|c| {
                c.tags
                    .iter()
                    .filter(|(k, _)| {
                        c.transitive_tag_keys
                            .iter()
                            .any(|t| t.eq_ignore_ascii_case(k))
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        for (k, _) in &request.tags {
            if inherited.iter().any(|(ik, _)| ik.eq_ignore_ascii_case(k)) {
                return Err(ApiError::invalid_parameter_value(
                    "One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session.",
                ));
            }
        }
        Ok(SessionTags {
            request: request.tags,
            transitive: request.transitive,
            inherited,
        })
    }

    /// The tags the new session carries: inherited transitive tags, then this request's.
    pub(crate) fn session_tags(&self) -> Vec<(String, String)> {
        self.inherited
            .iter()
            .chain(self.request.iter())
            .cloned()
            .collect()
    }

    /// Transitive keys of the new session: inherited ones stay transitive down the chain.
    pub(crate) fn all_transitive(&self) -> Vec<String> {
        self.inherited
            .iter()
            .map(|(k, _)| k.clone())
            .chain(self.transitive.iter().cloned())
            .collect()
    }

    /// The role's tags as `iam:ResourceTag/*`; during a chained assume an inherited transitive
    /// tag replaces the role tag with the same key.
    pub(crate) fn resource_tags(&self, role: &Role) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = role
            .tags
            .iter()
            .filter(|(k, _)| {
                !self
                    .inherited
                    .iter()
                    .any(|(ik, _)| ik.eq_ignore_ascii_case(k))
            })
            .cloned()
            .collect();
        out.extend(self.inherited.iter().cloned());
        out
    }
}

/// `PackedPolicySize`: percent of [`PACKED_BUDGET`] used by the inline session policy (without
/// whitespace), the managed policy ARNs and the non-transitive request tags.
pub(crate) fn packed_policy_percent(policies: &SessionPolicies, tags: &SessionTags) -> u64 {
    let mut size = policies.inline.as_deref().map_or(0, policy_size);
    size += policies.arns.iter().map(String::len).sum::<usize>();
    size += tags
        .request
        .iter()
        .filter(|(k, _)| !tags.transitive.iter().any(|t| t.eq_ignore_ascii_case(k)))
        .map(|(k, v)| k.len() + v.len())
        .sum::<usize>();
    let pct = (size * 100).div_ceil(PACKED_BUDGET);
    u64::try_from(pct).unwrap_or(u64::MAX)
}

/// Options that only some paths set.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RoleSessionOptions<'a> {
    pub source_identity: Option<&'a str>,
}

/// Mint a role session and note it for the audit record.
pub(crate) fn mint_role_session(
    state: &AppState,
    spec: SessionSpec,
    info: &RequestInfo,
    seconds: u32,
    opts: RoleSessionOptions<'_>,
) -> ApiResult<Issued> {
    let issued = mint::mint(state, spec, info, seconds)?;
    info.note(|n| n.source_identity = opts.source_identity.map(str::to_owned));
    Ok(issued)
}
