//! The compiled policy: what [`Policy::parse`](super::Policy::parse) produces and the evaluator
//! consumes.
//!
//! Mirrors the grammar of <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html>
//! with every string already turned into its matching form (patterns split into wildcard
//! tokens, operators resolved, keys lowercased, values parsed). INVARIANT: every value in here
//! was validated by the parser; the evaluator never re-checks syntax.

use std::fmt;

use super::condition::Condition;
use super::pattern::Pattern;

/// Which kind of document a policy is; decides which elements are required or prohibited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Identity-based policy: inline or managed policies of users, groups and roles; also used
    /// for permissions boundaries and session policies. `Principal` is prohibited, `Resource`
    /// required.
    Identity,
    /// A role trust policy: `Principal` required, `Resource` prohibited, actions limited to
    /// `sts:AssumeRole*`, `sts:TagSession`, `sts:SetSourceIdentity`.
    Trust,
    /// A generic resource-based policy: `Principal` required.
    Resource,
}

/// The policy language version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyVersion {
    /// `2008-10-17`, also the meaning of a missing `Version`: `${...}` is literal text.
    V2008_10_17,
    /// `2012-10-17`: policy variables are substituted.
    V2012_10_17,
}

/// `Effect` of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

impl Effect {
    /// As policies spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A compiled, validated policy document. Cheap to evaluate many times; build it once when the
/// document is stored (or loaded) with [`Policy::parse`](super::Policy::parse).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub(crate) source: String,
    pub(crate) kind: PolicyKind,
    pub(crate) version: PolicyVersion,
    pub(crate) id: Option<String>,
    pub(crate) statements: Vec<Statement>,
}

/// One compiled statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Statement {
    pub sid: Option<String>,
    /// Position in the `Statement` array (0-based; 0 for a lone statement object).
    pub index: usize,
    pub effect: Effect,
    pub principal: Option<PrincipalClause>,
    pub action: Clause<Pattern>,
    /// `None`: the element is absent (trust policies, some resource policies): applies to any
    /// resource.
    pub resource: Option<Clause<Pattern>>,
    pub conditions: Vec<Condition>,
}

/// `X` or `NotX` with its values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Clause<T> {
    pub negated: bool,
    pub items: Vec<T>,
}

/// `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PrincipalClause {
    pub negated: bool,
    pub entries: Vec<PrincipalEntry>,
}

/// One principal named in a policy, classified at parse time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PrincipalEntry {
    /// `"Principal": "*"`: everyone, including anonymous and federated callers.
    Anyone,
    /// `{"AWS": "*"}`: every AWS principal (IAM identities, sessions, anonymous).
    AnyAws,
    /// `{"AWS": "123456789012"}` or `arn:aws:iam::123456789012:root`: delegates to the account.
    Account {
        /// Empty for a bare account id: the account in whatever partition it is used in.
        partition: Box<str>,
        account: Box<str>,
    },
    /// An IAM user ARN; `id` is the user's unique id once bound by the IAM layer.
    User { arn: Box<str>, id: Option<Box<str>> },
    /// An IAM role ARN; matches sessions of the role. `id` = role unique id once bound.
    Role { arn: Box<str>, id: Option<Box<str>> },
    /// `arn:aws:sts::A:assumed-role/R/S`: exactly that session.
    Session { arn: Box<str> },
    /// `arn:aws:sts::A:federated-user/N`.
    FederatedUser { arn: Box<str> },
    /// A unique id as IAM shows it after the entity was deleted (`AIDA…`, `AROA…`).
    UniqueId { id: Box<str> },
    /// `{"Federated": ...}`: SAML/OIDC provider ARN or built-in IdP host.
    Federated { provider: Box<str> },
    /// `{"Service": "ec2.amazonaws.com"}`.
    Service { name: Box<str> },
    /// `{"CanonicalUser": ...}` (S3 only; never matches an STS/IAM caller).
    CanonicalUser { id: Box<str> },
}
