//! The request context: who is asking ([`PrincipalView`]), for what (`action`, `resource`), and
//! the condition keys known for the request.
//!
//! Keys follow <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html>
//! (global keys) and <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html>
//! (`sts:` keys, federation keys). Callers (STS/IAM handlers) build a context once per
//! request with [`RequestContext::builder`]; every value is parsed into its typed views
//! (number, date, bool, IP, bytes) when inserted, so evaluation only compares. Keys are stored
//! lowercased (condition keys, including the tag-key part of `aws:PrincipalTag/<k>`, are
//! case-insensitive); lookups take an already-lowercased key and never allocate.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};

use crate::arn::Partition;

use super::condition::{parse_bool, parse_date, parse_number};
use super::variables::Resolver;

/// What kind of caller a [`PrincipalView`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// The account root user (`arn:aws:iam::<acct>:root`).
    Root,
    /// An IAM user.
    User,
    /// A role session (from any `AssumeRole*`).
    AssumedRole,
    /// A `GetFederationToken` session.
    FederatedUser,
    /// An OIDC identity at `AssumeRoleWithWebIdentity` time (provider = OIDC provider ARN or
    /// built-in IdP host such as `accounts.google.com`).
    WebIdentity,
    /// A SAML identity at `AssumeRoleWithSAML` time (provider = SAML provider ARN).
    Saml,
    /// An AWS service principal (`ec2.amazonaws.com`).
    Service,
    /// An unauthenticated caller.
    Anonymous,
}

/// The evaluator's view of a principal: its ARNs and ids as policies match them.
///
/// A request's principal is a [`crate::principal::Principal`]; its view is
/// `PrincipalView::of(&principal, partition)`. Simulations (`SimulateCustomPolicy`, `tessera policy
/// eval`) evaluate for principals whose unique ids or session names are unknown, which a live
/// principal never is: that is why the view has optional parts and is a type of its own.
///
/// Build with the constructors ([`PrincipalView::root`], [`PrincipalView::user`],
/// [`PrincipalView::assumed_role`], ...); they fill the fields consistently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalView {
    /// SignedCaller kind.
    pub kind: PrincipalKind,
    /// The caller's ARN: root/user ARN, session ARN (`arn:aws:sts::A:assumed-role/R/S`),
    /// federated-user ARN; the provider for WebIdentity/SAML; the service name for services;
    /// empty for anonymous.
    pub arn: String,
    /// The caller's account id (empty for anonymous and services).
    pub account: String,
    /// Unique id: `AIDA…` for users, the role's `AROA…` id for sessions, account id for root.
    pub unique_id: Option<String>,
    /// For role sessions: the role ARN (with path), what `aws:PrincipalArn` reports.
    pub role_arn: Option<String>,
    /// For role sessions: the role's unique id (`AROA…`), matched against bound trust entries.
    pub role_unique_id: Option<String>,
    /// For role sessions: the session name; for federated users: the name.
    pub session_name: Option<String>,
    /// For WebIdentity/SAML: the provider ARN or built-in host matched by `Principal.Federated`.
    pub provider: Option<String>,
}

impl PrincipalView {
    fn base(kind: PrincipalKind, arn: String, account: String) -> Self {
        Self {
            kind,
            arn,
            account,
            unique_id: None,
            role_arn: None,
            role_unique_id: None,
            session_name: None,
            provider: None,
        }
    }

    /// The root user of `account`.
    pub fn root(account: &str) -> Self {
        Self::root_in(Partition::Aws, account)
    }

    fn root_in(partition: Partition, account: &str) -> Self {
        let mut p = Self::base(
            PrincipalKind::Root,
            partition.root_arn(account),
            account.to_owned(),
        );
        p.unique_id = Some(account.to_owned());
        p
    }

    /// An IAM user: `arn` = `arn:aws:iam::<acct>:user/<path><name>`, `unique_id` = `AIDA…`.
    pub fn user(arn: &str, unique_id: &str) -> Self {
        let mut p = Self::base(
            PrincipalKind::User,
            arn.to_owned(),
            arn_account(arn).to_owned(),
        );
        p.unique_id = Some(unique_id.to_owned());
        p
    }

    /// A role session: `role_arn` with path, the role's `AROA…` id and the session name.
    /// The session ARN is derived (`arn:aws:sts::<acct>:assumed-role/<role name>/<session>`,
    /// without the role path, as AWS does).
    pub fn assumed_role(role_arn: &str, role_unique_id: &str, session_name: &str) -> Self {
        let account = arn_account(role_arn);
        let role_name = role_arn.rsplit('/').next().unwrap_or("");
        let partition = role_arn
            .split(':')
            .nth(1)
            .map_or(Partition::Aws, Partition::from_name);
        let arn = partition.assumed_role_arn(account, role_name, session_name);
        let mut p = Self::base(PrincipalKind::AssumedRole, arn, account.to_owned());
        p.unique_id = Some(role_unique_id.to_owned());
        p.role_arn = Some(role_arn.to_owned());
        p.role_unique_id = Some(role_unique_id.to_owned());
        p.session_name = Some(session_name.to_owned());
        p
    }

    /// A `GetFederationToken` session of `account` named `name`.
    pub fn federated_user(account: &str, name: &str) -> Self {
        Self::federated_user_in(Partition::Aws, account, name)
    }

    fn federated_user_in(partition: Partition, account: &str, name: &str) -> Self {
        let arn = partition.federated_user_arn(account, name);
        let mut p = Self::base(PrincipalKind::FederatedUser, arn, account.to_owned());
        p.unique_id = Some(format!("{account}:{name}"));
        p.session_name = Some(name.to_owned());
        p
    }

    /// An OIDC caller of `AssumeRoleWithWebIdentity`. `provider` is the OIDC provider ARN
    /// (`arn:aws:iam::<acct>:oidc-provider/<host/path>`) or a built-in IdP host.
    pub fn web_identity(provider: &str) -> Self {
        let mut p = Self::base(
            PrincipalKind::WebIdentity,
            provider.to_owned(),
            arn_account(provider).to_owned(),
        );
        p.provider = Some(provider.to_owned());
        p
    }

    /// A SAML caller of `AssumeRoleWithSAML`; `provider` is the SAML provider ARN.
    pub fn saml(provider: &str) -> Self {
        let mut p = Self::base(
            PrincipalKind::Saml,
            provider.to_owned(),
            arn_account(provider).to_owned(),
        );
        p.provider = Some(provider.to_owned());
        p
    }

    /// An AWS service principal such as `ec2.amazonaws.com`.
    pub fn service(name: &str) -> Self {
        Self::base(PrincipalKind::Service, name.to_owned(), String::new())
    }

    /// An unauthenticated caller.
    pub fn anonymous() -> Self {
        Self::base(PrincipalKind::Anonymous, String::new(), String::new())
    }

    /// Whether this is the account root user.
    pub fn is_root(&self) -> bool {
        self.kind == PrincipalKind::Root
    }

    /// Whether this caller can have identity policies (and so be cross-account).
    pub(crate) fn is_iam_identity(&self) -> bool {
        matches!(
            self.kind,
            PrincipalKind::Root
                | PrincipalKind::User
                | PrincipalKind::AssumedRole
                | PrincipalKind::FederatedUser
        )
    }
}

impl PrincipalView {
    /// The view of a request's principal, its ARNs in `partition` (the request region's).
    pub fn of(p: &crate::principal::Principal, partition: Partition) -> Self {
        use crate::principal::Principal as P;
        match p {
            P::Root { account } => Self::root_in(partition, account),
            P::User {
                account,
                user_id,
                user_name,
                user_path,
            } => Self::user(&partition.user_arn(account, user_path, user_name), user_id),
            P::AssumedRole {
                account,
                role_name,
                role_id,
                role_path,
                session_name,
            } => Self::assumed_role(
                &partition.role_arn(account, role_path, role_name),
                role_id,
                session_name,
            ),
            P::FederatedUser { account, name } => Self::federated_user_in(partition, account, name),
            P::WebIdentity { provider_arn, .. } => {
                Self::web_identity(&partition.rewrite(provider_arn))
            }
            P::Saml { provider_arn, .. } => Self::saml(&partition.rewrite(provider_arn)),
        }
    }
}

/// The account segment of an ARN (`""` if it has none).
pub(crate) fn arn_account(arn: &str) -> &str {
    crate::text::split_ascii(arn, b':').nth(4).unwrap_or("")
}

/// One request value with its typed views, each parsed at most once and only when a condition
/// operator of that type asks (most keys are only ever compared as strings).
#[derive(Debug, Clone)]
pub(crate) struct Scalar {
    /// The value as text (what string, ARN operators and variables see).
    pub text: Box<str>,
    number: OnceLock<Option<f64>>,
    date: OnceLock<Option<DateTime<Utc>>>,
    boolean: OnceLock<Option<bool>>,
    ip: OnceLock<Option<IpAddr>>,
    bytes: OnceLock<Option<Vec<u8>>>,
}

impl Scalar {
    fn from_text(text: &str) -> Self {
        Self {
            text: text.into(),
            number: OnceLock::new(),
            date: OnceLock::new(),
            boolean: OnceLock::new(),
            ip: OnceLock::new(),
            bytes: OnceLock::new(),
        }
    }

    pub(crate) fn number(&self) -> Option<f64> {
        *self.number.get_or_init(|| parse_number(&self.text))
    }

    pub(crate) fn date(&self) -> Option<DateTime<Utc>> {
        *self.date.get_or_init(|| parse_date(&self.text))
    }

    pub(crate) fn boolean(&self) -> Option<bool> {
        *self.boolean.get_or_init(|| parse_bool(&self.text))
    }

    pub(crate) fn ip(&self) -> Option<IpAddr> {
        *self.ip.get_or_init(|| self.text.parse().ok())
    }

    pub(crate) fn bytes(&self) -> Option<&[u8]> {
        self.bytes
            .get_or_init(|| B64.decode(&*self.text).ok())
            .as_deref()
    }
}

impl PartialEq for Scalar {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
            && self.number() == other.number()
            && self.date() == other.date()
            && self.boolean() == other.boolean()
            && self.ip() == other.ip()
            && self.bytes() == other.bytes()
    }
}

/// A condition-key value: single-valued or a (possibly empty) list.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextValue {
    items: Items,
}

/// A single value is held inline: most keys of a request are single-valued, and a context is
/// built for every request.
#[derive(Debug, Clone, PartialEq)]
enum Items {
    One(Scalar),
    Many(Vec<Scalar>),
}

impl ContextValue {
    /// A single string value (also parsed as number/date/bool/IP/base64 when it has that form).
    pub fn string(s: &str) -> Self {
        Self::one(Scalar::from_text(s))
    }

    fn one(value: Scalar) -> Self {
        Self {
            items: Items::One(value),
        }
    }

    /// A multi-valued key (`aws:TagKeys`, `saml:edupersonaffiliation`, `…:amr`); may be empty.
    pub fn strings<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            items: Items::Many(
                values
                    .into_iter()
                    .map(|s| Scalar::from_text(s.as_ref()))
                    .collect(),
            ),
        }
    }

    /// A boolean (`aws:SecureTransport`, `aws:MultiFactorAuthPresent`).
    pub fn bool(b: bool) -> Self {
        Self::string(if b { "true" } else { "false" })
    }

    /// A number (`aws:MultiFactorAuthAge`, `aws:EpochTime`).
    pub fn number(n: f64) -> Self {
        Self::string(&n.to_string())
    }

    /// An integer.
    pub fn integer(n: i64) -> Self {
        Self::string(&n.to_string())
    }

    /// A time (`aws:CurrentTime`, `aws:TokenIssueTime`), rendered as ISO 8601 UTC.
    pub fn date(t: DateTime<Utc>) -> Self {
        // chrono's `to_rfc3339_opts(SecondsFormat::AutoSi, true)`, byte for byte, without `fmt`.
        let mut text = String::with_capacity(32);
        crate::rfc3339::push(&mut text, t, crate::rfc3339::Fraction::Auto);
        let mut one = Scalar::from_text(&text);
        one.date = OnceLock::from(Some(t));
        Self::one(one)
    }

    /// An IP address (`aws:SourceIp`).
    pub fn ip(ip: IpAddr) -> Self {
        let mut text = String::with_capacity(15);
        crate::text::push_ip(&mut text, ip);
        let mut one = Scalar::from_text(&text);
        one.ip = OnceLock::from(Some(ip));
        Self::one(one)
    }

    /// Binary data (`BinaryEquals`); its text form is base64.
    pub fn binary(bytes: &[u8]) -> Self {
        let mut one = Scalar::from_text(&B64.encode(bytes));
        one.bytes = OnceLock::from(Some(bytes.to_vec()));
        Self::one(one)
    }

    /// Whether the key was supplied as a list.
    pub fn is_multi_valued(&self) -> bool {
        matches!(self.items, Items::Many(_))
    }

    /// The values as text.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.items().iter().map(|s| &*s.text)
    }

    pub(crate) fn items(&self) -> &[Scalar] {
        match &self.items {
            Items::One(one) => std::slice::from_ref(one),
            Items::Many(many) => many,
        }
    }

    /// The text of a single-valued key (what a policy variable resolves to).
    fn single_text(&self) -> Option<&str> {
        match &self.items {
            Items::One(one) => Some(&one.text),
            Items::Many(_) => None,
        }
    }
}

/// FNV-1a: context keys are short and looked up dozens of times per decision; SipHash's
/// flooding resistance buys nothing here (a request carries at most a few hundred keys, so
/// even total collision costs microseconds).
#[derive(Default, Clone, Copy)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// Keys are lowercase: the broker's own keys borrowed from static text, others owned.
type KeyMap = HashMap<Cow<'static, str>, ContextValue, BuildHasherDefault<Fnv>>;

/// Everything the evaluator knows about one request.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestContext {
    principal: PrincipalView,
    action: String,
    resource: String,
    keys: KeyMap,
}

impl RequestContext {
    /// Starts a context for `principal` calling `action` (e.g. `sts:AssumeRole`) on `resource`
    /// (an ARN, e.g. the role). Principal-derived global keys are filled in already:
    /// `aws:PrincipalArn` (the role ARN for sessions), `aws:PrincipalAccount`,
    /// `aws:PrincipalType`, `aws:userid`, `aws:username` (users only),
    /// `aws:FederatedProvider` (WebIdentity/SAML). Later setters may override them.
    pub fn builder(principal: PrincipalView, action: &str, resource: &str) -> ContextBuilder {
        let mut b = ContextBuilder {
            ctx: RequestContext {
                principal,
                action: action.to_owned(),
                resource: resource.to_owned(),
                // A role session's assume-time context holds about twenty keys: room for
                // them up front, not three rehashes on the way.
                keys: KeyMap::with_capacity_and_hasher(32, BuildHasherDefault::default()),
            },
        };
        b.principal_keys();
        b
    }

    /// The caller.
    pub fn principal(&self) -> &PrincipalView {
        &self.principal
    }

    /// The action, as given.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The resource ARN, as given.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Looks up a key; `key` must already be lowercase (compiled policies store it so).
    pub fn get(&self, lowercase_key: &str) -> Option<&ContextValue> {
        self.keys.get(lowercase_key)
    }

    /// All keys (lowercase) and values.
    pub fn keys(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.keys.iter().map(|(k, v)| (&**k, v))
    }
}

impl Resolver for RequestContext {
    fn resolve(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(ContextValue::single_text)
    }
}

impl fmt::Display for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} -> {} on {}",
            self.principal.arn, self.action, self.resource
        )
    }
}

/// Builds a [`RequestContext`]. Setters take keys in any case (they are lowercased).
#[derive(Debug, Clone)]
#[must_use]
pub struct ContextBuilder {
    ctx: RequestContext,
}

impl ContextBuilder {
    fn principal_keys(&mut self) {
        let p = self.ctx.principal.clone();
        let principal_type = match p.kind {
            PrincipalKind::Root => Some("Account"),
            PrincipalKind::User => Some("User"),
            PrincipalKind::AssumedRole => Some("AssumedRole"),
            PrincipalKind::FederatedUser => Some("FederatedUser"),
            _ => None,
        };
        if let Some(t) = principal_type {
            self.put_known("aws:principaltype", ContextValue::string(t));
            self.put_known("aws:principalaccount", ContextValue::string(&p.account));
            let principal_arn = p.role_arn.as_deref().unwrap_or(&p.arn);
            self.put_known("aws:principalarn", ContextValue::string(principal_arn));
        }
        let userid = match p.kind {
            PrincipalKind::AssumedRole => p
                .role_unique_id
                .as_ref()
                .map(|id| format!("{id}:{}", p.session_name.as_deref().unwrap_or(""))),
            PrincipalKind::Root | PrincipalKind::User | PrincipalKind::FederatedUser => {
                p.unique_id.clone()
            }
            _ => None,
        };
        if let Some(u) = userid {
            self.put_known("aws:userid", ContextValue::string(&u));
        }
        if p.kind == PrincipalKind::User {
            let name = p.arn.rsplit('/').next().unwrap_or("");
            self.put_known("aws:username", ContextValue::string(name));
        }
        if let Some(provider) = &p.provider {
            self.put_known("aws:federatedprovider", ContextValue::string(provider));
        }
    }

    fn put(&mut self, key: &str, value: ContextValue) {
        // ASCII keys (nearly all) take the cheap path; the result is the same.
        let lower = if key.is_ascii() {
            key.to_ascii_lowercase()
        } else {
            key.to_lowercase()
        };
        self.ctx.keys.insert(Cow::Owned(lower), value);
    }

    /// A key the broker itself supplies, written in lower case: stored without a copy.
    fn put_known(&mut self, lowercase_key: &'static str, value: ContextValue) {
        debug_assert!(
            !lowercase_key.bytes().any(|b| b.is_ascii_uppercase()),
            "{lowercase_key}"
        );
        self.ctx.keys.insert(Cow::Borrowed(lowercase_key), value);
    }

    fn known(mut self, lowercase_key: &'static str, value: ContextValue) -> Self {
        self.put_known(lowercase_key, value);
        self
    }

    /// Sets any key (federation keys such as `token.actions.githubusercontent.com:sub`,
    /// `saml:aud`, service keys). The key is lowercased.
    pub fn set(mut self, key: &str, value: ContextValue) -> Self {
        self.put(key, value);
        self
    }

    /// Sets a single string key.
    pub fn string(self, key: &str, value: &str) -> Self {
        self.set(key, ContextValue::string(value))
    }

    /// Sets a multi-valued key.
    pub fn strings<I, S>(self, key: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.set(key, ContextValue::strings(values))
    }

    /// Removes a key (e.g. one filled from the principal that a path must not expose).
    pub fn remove(mut self, key: &str) -> Self {
        self.ctx.keys.remove(&*key.to_lowercase());
        self
    }

    /// `aws:CurrentTime` and `aws:EpochTime` from the request's `now` (never the clock).
    pub fn current_time(self, now: DateTime<Utc>) -> Self {
        self.known("aws:currenttime", ContextValue::date(now))
            .known("aws:epochtime", ContextValue::integer(now.timestamp()))
    }

    /// `aws:SourceIp`.
    pub fn source_ip(self, ip: IpAddr) -> Self {
        self.known("aws:sourceip", ContextValue::ip(ip))
    }

    /// `aws:SecureTransport`.
    pub fn secure_transport(self, tls: bool) -> Self {
        self.known("aws:securetransport", ContextValue::bool(tls))
    }

    /// `aws:MultiFactorAuthPresent` and, when given, `aws:MultiFactorAuthAge` (seconds).
    /// Do not call for long-term credentials: there the keys are absent, not `false`.
    pub fn mfa(self, present: bool, age_seconds: Option<u64>) -> Self {
        let b = self.known("aws:multifactorauthpresent", ContextValue::bool(present));
        match age_seconds {
            Some(age) => b.known(
                "aws:multifactorauthage",
                ContextValue::string(&age.to_string()),
            ),
            None => b,
        }
    }

    /// `aws:TokenIssueTime` (temporary credentials only).
    pub fn token_issue_time(self, t: DateTime<Utc>) -> Self {
        self.known("aws:tokenissuetime", ContextValue::date(t))
    }

    /// `aws:SourceIdentity` (on sessions that carry one).
    pub fn source_identity(self, v: &str) -> Self {
        self.known("aws:sourceidentity", ContextValue::string(v))
    }

    /// `aws:FederatedProvider`.
    pub fn federated_provider(self, v: &str) -> Self {
        self.known("aws:federatedprovider", ContextValue::string(v))
    }

    /// `aws:RequestedRegion`.
    pub fn requested_region(self, region: &str) -> Self {
        self.known("aws:requestedregion", ContextValue::string(region))
    }

    /// `aws:PrincipalTag/<key>` for each tag.
    pub fn principal_tags<'t>(
        mut self,
        tags: impl IntoIterator<Item = (&'t str, &'t str)>,
    ) -> Self {
        for (k, v) in tags {
            self.put(&format!("aws:PrincipalTag/{k}"), ContextValue::string(v));
        }
        self
    }

    /// `aws:RequestTag/<key>` for each tag plus `aws:TagKeys` (all keys, as given).
    pub fn request_tags<'t>(mut self, tags: impl IntoIterator<Item = (&'t str, &'t str)>) -> Self {
        let mut keys = Vec::new();
        for (k, v) in tags {
            self.put(&format!("aws:RequestTag/{k}"), ContextValue::string(v));
            keys.push(k);
        }
        self.known("aws:tagkeys", ContextValue::strings(keys))
    }

    /// `aws:ResourceTag/<key>` and `iam:ResourceTag/<key>` (the role's or user's tags).
    pub fn resource_tags<'t>(mut self, tags: impl IntoIterator<Item = (&'t str, &'t str)>) -> Self {
        for (k, v) in tags {
            self.put(&format!("aws:ResourceTag/{k}"), ContextValue::string(v));
            self.put(&format!("iam:ResourceTag/{k}"), ContextValue::string(v));
        }
        self
    }

    /// `sts:ExternalId` (only when the caller passed one).
    pub fn external_id(self, v: &str) -> Self {
        self.known("sts:externalid", ContextValue::string(v))
    }

    /// `sts:RoleSessionName`.
    pub fn role_session_name(self, v: &str) -> Self {
        self.known("sts:rolesessionname", ContextValue::string(v))
    }

    /// `sts:SourceIdentity` (assume time).
    pub fn sts_source_identity(self, v: &str) -> Self {
        self.known("sts:sourceidentity", ContextValue::string(v))
    }

    /// `sts:TransitiveTagKeys` (multi-valued).
    pub fn transitive_tag_keys<I, S>(self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.known("sts:transitivetagkeys", ContextValue::strings(keys))
    }

    /// Finishes the context.
    pub fn build(self) -> RequestContext {
        self.ctx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_keys_filled() {
        let p = PrincipalView::assumed_role(
            "arn:aws:iam::111122223333:role/ops/Deploy",
            "AROAEXAMPLEID",
            "s1",
        );
        assert_eq!(p.arn, "arn:aws:sts::111122223333:assumed-role/Deploy/s1");
        let c = RequestContext::builder(p, "sts:AssumeRole", "arn:aws:iam::111122223333:role/x")
            .principal_tags([("Team", "blue")])
            .build();
        assert_eq!(
            c.resolve("aws:principalarn"),
            Some("arn:aws:iam::111122223333:role/ops/Deploy")
        );
        assert_eq!(c.resolve("aws:userid"), Some("AROAEXAMPLEID:s1"));
        assert_eq!(c.resolve("aws:principaltype"), Some("AssumedRole"));
        assert_eq!(c.resolve("aws:principaltag/team"), Some("blue"));
        assert_eq!(c.resolve("aws:username"), None);
        let u = RequestContext::builder(
            PrincipalView::user("arn:aws:iam::1:user/p/alice", "AIDAX"),
            "a:b",
            "*",
        )
        .build();
        assert_eq!(u.resolve("aws:username"), Some("alice"));
    }
}
