//! Amazon Resource Names: `arn:<partition>:<service>:<region>:<account>:<resource>`.
//!
//! See <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html>. Every ARN tessera
//! parses or builds goes through [`Arn`]. Entities are stored under the `aws` partition; an ARN
//! in a request may name them in any partition, and the answer uses the partition of the
//! request's signing region ([`Partition::from_region`]), as AWS does.

use std::fmt;

/// The AWS partition an ARN belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Partition {
    #[default]
    Aws,
    AwsCn,
    AwsUsGov,
}

impl Partition {
    /// The partition of a region: `cn-*` is `aws-cn`, `us-gov-*` is `aws-us-gov`, the rest `aws`.
    pub fn from_region(region: &str) -> Partition {
        if region.starts_with("cn-") {
            Partition::AwsCn
        } else if region.starts_with("us-gov-") {
            Partition::AwsUsGov
        } else {
            Partition::Aws
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
        }
    }

    /// The partition named `s`; an unknown name is the default partition.
    pub fn from_name(s: &str) -> Partition {
        Partition::parse(s).unwrap_or_default()
    }

    fn parse(s: &str) -> Option<Partition> {
        match s {
            "aws" => Some(Partition::Aws),
            "aws-cn" => Some(Partition::AwsCn),
            "aws-us-gov" => Some(Partition::AwsUsGov),
            _ => None,
        }
    }

    /// `text` with its partition replaced by this one, when it is an ARN of a known partition;
    /// otherwise `text` unchanged. Cheap for the default partition.
    pub fn rewrite<'a>(self, text: &'a str) -> std::borrow::Cow<'a, str> {
        use std::borrow::Cow;
        let Some(rest) = text.strip_prefix("arn:") else {
            return Cow::Borrowed(text);
        };
        let Some((p, tail)) = crate::text::split_once_ascii(rest, b':') else {
            return Cow::Borrowed(text);
        };
        match Partition::parse(p) {
            Some(current) if current != self => Cow::Owned(format!("arn:{}:{tail}", self.as_str())),
            _ => Cow::Borrowed(text),
        }
    }
}

/// ARN text built in one allocation, for the request path (the same text as [`Arn`]'s
/// `Display` of the matching constructor). The per-request ones join their parts with
/// `concat` (sized once, no `fmt` machinery).
impl Partition {
    pub fn root_arn(self, account: &str) -> String {
        ["arn:", self.as_str(), ":iam::", account, ":root"].concat()
    }

    pub fn user_arn(self, account: &str, path: &str, name: &str) -> String {
        [
            "arn:",
            self.as_str(),
            ":iam::",
            account,
            ":user",
            path,
            name,
        ]
        .concat()
    }

    pub fn role_arn(self, account: &str, path: &str, name: &str) -> String {
        [
            "arn:",
            self.as_str(),
            ":iam::",
            account,
            ":role",
            path,
            name,
        ]
        .concat()
    }

    pub fn instance_profile_arn(self, account: &str, path: &str, name: &str) -> String {
        format!("arn:{self}:iam::{account}:instance-profile{path}{name}")
    }

    pub fn server_certificate_arn(self, account: &str, path: &str, name: &str) -> String {
        format!("arn:{self}:iam::{account}:server-certificate{path}{name}")
    }

    pub fn assumed_role_arn(self, account: &str, role: &str, session: &str) -> String {
        [
            "arn:",
            self.as_str(),
            ":sts::",
            account,
            ":assumed-role/",
            role,
            "/",
            session,
        ]
        .concat()
    }

    pub fn federated_user_arn(self, account: &str, name: &str) -> String {
        format!("arn:{self}:sts::{account}:federated-user/{name}")
    }

    /// `arn:<p>:iam::<acct>:oidc-provider/<host/path>`
    pub fn oidc_provider_arn(self, account: &str, url: &str) -> String {
        [
            "arn:",
            self.as_str(),
            ":iam::",
            account,
            ":oidc-provider/",
            url,
        ]
        .concat()
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an IAM or STS ARN names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    /// `iam::<acct>:root`
    Root,
    /// `iam::<acct>:user<path><name>`
    User { path: String, name: String },
    /// `iam::<acct>:group<path><name>`
    Group { path: String, name: String },
    /// `iam::<acct>:role<path><name>`
    Role { path: String, name: String },
    /// `iam::<acct>:policy<path><name>`
    Policy { path: String, name: String },
    /// `iam::<acct>:mfa<path><name>`
    Mfa { path: String, name: String },
    /// `iam::<acct>:instance-profile<path><name>`
    InstanceProfile { path: String, name: String },
    /// `iam::<acct>:oidc-provider/<host/path>`
    OidcProvider { url: String },
    /// `iam::<acct>:saml-provider/<name>`
    SamlProvider { name: String },
    /// `sts::<acct>:assumed-role/<role>/<session>`
    AssumedRole { role: String, session: String },
    /// `sts::<acct>:federated-user/<name>`
    FederatedUser { name: String },
    /// Anything else (`s3:::bucket/key`, `sns:us-east-1:1:topic`): the text after the account.
    Other(String),
}

/// A parsed ARN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    pub partition: Partition,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: Resource,
}

/// Why a string is not an ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    #[error("not an ARN: `arn:partition:service:region:account:resource` expected")]
    Shape,
    #[error("unknown partition")]
    Partition,
    #[error("malformed IAM or STS resource")]
    Resource,
}

/// Longest ARN accepted (the `arnType` limit).
const MAX_LEN: usize = 2048;

impl Arn {
    fn iam(partition: Partition, account: &str, resource: Resource) -> Arn {
        Arn {
            partition,
            service: "iam".to_owned(),
            region: String::new(),
            account: account.to_owned(),
            resource,
        }
    }

    fn sts(partition: Partition, account: &str, resource: Resource) -> Arn {
        Arn {
            service: "sts".to_owned(),
            ..Arn::iam(partition, account, resource)
        }
    }

    pub fn root(partition: Partition, account: &str) -> Arn {
        Arn::iam(partition, account, Resource::Root)
    }

    pub fn user(partition: Partition, account: &str, path: &str, name: &str) -> Arn {
        let (path, name) = (path.to_owned(), name.to_owned());
        Arn::iam(partition, account, Resource::User { path, name })
    }

    pub fn group(partition: Partition, account: &str, path: &str, name: &str) -> Arn {
        let (path, name) = (path.to_owned(), name.to_owned());
        Arn::iam(partition, account, Resource::Group { path, name })
    }

    pub fn role(partition: Partition, account: &str, path: &str, name: &str) -> Arn {
        let (path, name) = (path.to_owned(), name.to_owned());
        Arn::iam(partition, account, Resource::Role { path, name })
    }

    pub fn policy(partition: Partition, account: &str, path: &str, name: &str) -> Arn {
        let (path, name) = (path.to_owned(), name.to_owned());
        Arn::iam(partition, account, Resource::Policy { path, name })
    }

    pub fn mfa(partition: Partition, account: &str, path: &str, name: &str) -> Arn {
        let (path, name) = (path.to_owned(), name.to_owned());
        Arn::iam(partition, account, Resource::Mfa { path, name })
    }

    pub fn instance_profile(partition: Partition, account: &str, path: &str, name: &str) -> Arn {
        let (path, name) = (path.to_owned(), name.to_owned());
        Arn::iam(partition, account, Resource::InstanceProfile { path, name })
    }

    pub fn saml_provider(partition: Partition, account: &str, name: &str) -> Arn {
        let name = name.to_owned();
        Arn::iam(partition, account, Resource::SamlProvider { name })
    }

    /// An ARN naming every entity of a kind in an account (`arn:aws:iam::<acct>:user/`), the
    /// resource `List*` calls are authorized on.
    pub fn all_of(partition: Partition, account: &str, kind: &str) -> Arn {
        Arn::iam(partition, account, Resource::Other(format!("{kind}/")))
    }

    pub fn assumed_role(partition: Partition, account: &str, role: &str, session: &str) -> Arn {
        let (role, session) = (role.to_owned(), session.to_owned());
        Arn::sts(partition, account, Resource::AssumedRole { role, session })
    }

    pub fn federated_user(partition: Partition, account: &str, name: &str) -> Arn {
        let name = name.to_owned();
        Arn::sts(partition, account, Resource::FederatedUser { name })
    }

    /// Parse an ARN. IAM and STS resources are parsed into their kind; a malformed one (an
    /// empty name, a path that does not start and end with `/`) is an error.
    pub fn parse(s: &str) -> Result<Arn, ArnError> {
        if s.len() > MAX_LEN {
            return Err(ArnError::Shape);
        }
        let Some(["arn", p, service, region, account, rest]) =
            crate::text::exactly(crate::text::splitn_ascii(s, 6, b':'))
        else {
            return Err(ArnError::Shape);
        };
        let partition = Partition::parse(p).ok_or(ArnError::Partition)?;
        let resource = match service {
            "iam" if region.is_empty() => parse_iam(rest)?,
            "sts" if region.is_empty() => parse_sts(rest)?,
            _ => Resource::Other(rest.to_owned()),
        };
        Ok(Arn {
            partition,
            service: service.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource,
        })
    }

    /// The same ARN in another partition.
    #[must_use]
    pub fn in_partition(mut self, partition: Partition) -> Arn {
        self.partition = partition;
        self
    }
}

/// `<kind><path><name>` with a path that is `/` or `/…/`.
fn path_and_name(rest: &str) -> Result<(String, String), ArnError> {
    let i = rest.rfind('/').ok_or(ArnError::Resource)?;
    let (path, name) = (
        rest.get(..=i).unwrap_or("/"),
        rest.get(i + 1..).unwrap_or(""),
    );
    if name.is_empty() || !path.starts_with('/') {
        return Err(ArnError::Resource);
    }
    Ok((path.to_owned(), name.to_owned()))
}

fn parse_iam(rest: &str) -> Result<Resource, ArnError> {
    if rest == "root" {
        return Ok(Resource::Root);
    }
    let Some(i) = rest.find('/') else {
        return Ok(Resource::Other(rest.to_owned()));
    };
    let (kind, tail) = (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or(""));
    let named = |make: fn(String, String) -> Resource| {
        path_and_name(tail).map(|(path, name)| make(path, name))
    };
    match kind {
        "user" => named(|path, name| Resource::User { path, name }),
        "group" => named(|path, name| Resource::Group { path, name }),
        "role" => named(|path, name| Resource::Role { path, name }),
        "policy" => named(|path, name| Resource::Policy { path, name }),
        "mfa" => named(|path, name| Resource::Mfa { path, name }),
        "instance-profile" => named(|path, name| Resource::InstanceProfile { path, name }),
        "oidc-provider" => match tail.get(1..) {
            Some(url) if !url.is_empty() => Ok(Resource::OidcProvider {
                url: url.to_owned(),
            }),
            _ => Err(ArnError::Resource),
        },
        "saml-provider" => match tail.get(1..) {
            Some(name) if !name.is_empty() && !name.contains('/') => Ok(Resource::SamlProvider {
                name: name.to_owned(),
            }),
            _ => Err(ArnError::Resource),
        },
        _ => Ok(Resource::Other(rest.to_owned())),
    }
}

fn parse_sts(rest: &str) -> Result<Resource, ArnError> {
    if let Some(tail) = rest.strip_prefix("assumed-role/") {
        let (role, session) = tail.split_once('/').ok_or(ArnError::Resource)?;
        if role.is_empty() || session.is_empty() || session.contains('/') {
            return Err(ArnError::Resource);
        }
        return Ok(Resource::AssumedRole {
            role: role.to_owned(),
            session: session.to_owned(),
        });
    }
    if let Some(name) = rest.strip_prefix("federated-user/") {
        if name.is_empty() || name.contains('/') {
            return Err(ArnError::Resource);
        }
        return Ok(Resource::FederatedUser {
            name: name.to_owned(),
        });
    }
    Ok(Resource::Other(rest.to_owned()))
}

/// Whether `s` is a 12-digit account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The account an owner names, given as its root ARN (`arn:aws:iam::<account>:root`) or as a
/// bare 12-digit id.
pub fn owner_account(owner: &str) -> Option<String> {
    let acct = match Arn::parse(owner) {
        Ok(a) if a.resource == Resource::Root && a.service == "iam" => a.account,
        _ => owner.to_owned(),
    };
    is_account_id(&acct).then_some(acct)
}

impl std::str::FromStr for Arn {
    type Err = ArnError;

    fn from_str(s: &str) -> Result<Arn, ArnError> {
        Arn::parse(s)
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:",
            self.partition, self.service, self.region, self.account
        )?;
        match &self.resource {
            Resource::Root => f.write_str("root"),
            Resource::User { path, name } => write!(f, "user{path}{name}"),
            Resource::Group { path, name } => write!(f, "group{path}{name}"),
            Resource::Role { path, name } => write!(f, "role{path}{name}"),
            Resource::Policy { path, name } => write!(f, "policy{path}{name}"),
            Resource::Mfa { path, name } => write!(f, "mfa{path}{name}"),
            Resource::InstanceProfile { path, name } => write!(f, "instance-profile{path}{name}"),
            Resource::OidcProvider { url } => write!(f, "oidc-provider/{url}"),
            Resource::SamlProvider { name } => write!(f, "saml-provider/{name}"),
            Resource::AssumedRole { role, session } => {
                write!(f, "assumed-role/{role}/{session}")
            }
            Resource::FederatedUser { name } => write!(f, "federated-user/{name}"),
            Resource::Other(rest) => f.write_str(rest),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_kind() {
        for s in [
            "arn:aws:iam::123456789012:root",
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::123456789012:user/eng/ops/alice",
            "arn:aws:iam::123456789012:group/devs",
            "arn:aws-cn:iam::123456789012:role/ops/Deploy",
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
            "arn:aws:iam::123456789012:mfa/alice",
            "arn:aws:iam::123456789012:instance-profile/web/WebServer",
            "arn:aws-us-gov:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
            "arn:aws:iam::123456789012:oidc-provider/example.com/tenant/1",
            "arn:aws:iam::123456789012:saml-provider/Okta",
            "arn:aws:sts::123456789012:assumed-role/Deploy/gh-run-42",
            "arn:aws:sts::123456789012:federated-user/bob",
            "arn:aws:s3:::bucket/a/b:c",
            "arn:aws:sns:us-east-1:1:topic:sub",
        ] {
            let arn = Arn::parse(s).unwrap();
            assert_eq!(arn.to_string(), s);
        }
    }

    #[test]
    fn parses_kinds_and_parts() {
        let a = Arn::parse("arn:aws-cn:iam::123456789012:role/ops/Deploy").unwrap();
        assert_eq!(a.partition, Partition::AwsCn);
        assert_eq!(a.account, "123456789012");
        assert_eq!(
            a.resource,
            Resource::Role {
                path: "/ops/".into(),
                name: "Deploy".into()
            }
        );
        let a = Arn::parse("arn:aws:sts::1:assumed-role/r/s").unwrap();
        assert_eq!(
            a.resource,
            Resource::AssumedRole {
                role: "r".into(),
                session: "s".into()
            }
        );
    }

    #[test]
    fn refuses_malformed() {
        for s in [
            "",
            "arn",
            "arn:aws:iam::1",
            "nra:aws:iam::1:user/a",
            "arn:aws-mars:iam::1:user/a",
            "arn:aws:iam::1:user/",
            "arn:aws:iam::1:user/a/",
            "arn:aws:sts::1:assumed-role/r",
            "arn:aws:sts::1:assumed-role//s",
            "arn:aws:iam::1:saml-provider/",
        ] {
            assert!(Arn::parse(s).is_err(), "{s}");
        }
        assert!(Arn::parse(&format!("arn:aws:iam::1:user/{}", "a".repeat(3000))).is_err());
    }

    #[test]
    fn per_request_constructors_write_what_format_wrote() {
        for p in [Partition::Aws, Partition::AwsCn, Partition::AwsUsGov] {
            let (acct, path, name) = ("123456789012", "/a/b/", "Name+=,.@-_");
            assert_eq!(p.root_arn(acct), format!("arn:{p}:iam::{acct}:root"));
            assert_eq!(
                p.user_arn(acct, path, name),
                format!("arn:{p}:iam::{acct}:user{path}{name}")
            );
            assert_eq!(
                p.role_arn(acct, path, name),
                format!("arn:{p}:iam::{acct}:role{path}{name}")
            );
            assert_eq!(
                p.assumed_role_arn(acct, name, "s@x"),
                format!("arn:{p}:sts::{acct}:assumed-role/{name}/s@x")
            );
            assert_eq!(
                p.oidc_provider_arn(acct, "idp.example.com/r"),
                format!("arn:{p}:iam::{acct}:oidc-provider/idp.example.com/r")
            );
        }
    }

    #[test]
    fn partitions_follow_regions() {
        assert_eq!(Partition::from_region("cn-north-1"), Partition::AwsCn);
        assert_eq!(Partition::from_region("cn-northwest-1"), Partition::AwsCn);
        assert_eq!(Partition::from_region("us-gov-west-1"), Partition::AwsUsGov);
        assert_eq!(Partition::from_region("us-east-1"), Partition::Aws);
        assert_eq!(Partition::from_region("eu-west-1"), Partition::Aws);
    }

    #[test]
    fn rewrite_changes_only_known_partitions() {
        let cn = Partition::AwsCn;
        assert_eq!(
            cn.rewrite("arn:aws:iam::1:user/a"),
            "arn:aws-cn:iam::1:user/a"
        );
        assert_eq!(
            cn.rewrite("arn:aws-cn:iam::1:user/a"),
            "arn:aws-cn:iam::1:user/a"
        );
        assert_eq!(cn.rewrite("not an arn"), "not an arn");
        assert_eq!(cn.rewrite("arn:other:x"), "arn:other:x");
        assert_eq!(
            Partition::Aws.rewrite("arn:aws-us-gov:iam::1:root"),
            "arn:aws:iam::1:root"
        );
    }
}
