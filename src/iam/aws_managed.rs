//! The AWS managed policies tessera serves: the ones people attach on day one. They belong to
//! the pseudo-account `aws` (`arn:aws:iam::aws:policy/<name>`), every account may attach them,
//! `ListPolicies` lists them under `Scope=AWS` (and `All`), and no account may change them
//! (`UnmodifiableEntity`). Their ids, descriptions, dates and default version ids are AWS's
//! (from the AWS Managed Policy Reference); only the default version is kept. They are seeded
//! by the store's migration 11.
//!
//! | policy | document |
//! |---|---|
//! | `AdministratorAccess` | AWS's (`*` on `*`) |
//! | `PowerUserAccess` | AWS's v12 (everything but `iam:*`, `organizations:*`, `account:*`, and a few of those back) |
//! | `IAMFullAccess` | AWS's v2 (`iam:*` and read-only `organizations:*` calls) |
//! | `IAMReadOnlyAccess` | AWS's v4 (`iam:Generate*`… `iam:Get*`, `iam:List*`, `iam:Simulate*Policy`) |
//! | `IAMUserChangePassword` | AWS's v3 (`iam:ChangePassword` on the caller's own user, `iam:GetAccountPasswordPolicy`) |
//! | `ReadOnlyAccess` | **reduced**: AWS's document lists the read actions of every AWS service (thousands); tessera serves IAM and STS only, so it keeps AWS's IAM statement (`iam:Generate*`, `iam:Get*`, `iam:List*`, `iam:Simulate*`), as version `v1` |

/// The names of the AWS managed policies tessera serves.
#[cfg(test)]
pub(crate) const SERVED: [&str; 6] = [
    "AdministratorAccess",
    "IAMFullAccess",
    "IAMReadOnlyAccess",
    "IAMUserChangePassword",
    "PowerUserAccess",
    "ReadOnlyAccess",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::{Keyring, SharedKeyring};
    use crate::store::Store;

    /// A new store holds exactly these, compiled, in the `aws` account, with AWS's ids.
    #[tokio::test]
    async fn a_new_store_serves_them() {
        let dir = tempfile::tempdir().unwrap();
        let keyring = SharedKeyring::new(Keyring::generate(chrono::Utc::now()).unwrap(), None);
        let store = Store::open(dir.path(), keyring).unwrap();
        let view = store.view();
        let aws: Vec<_> = view
            .policies
            .managed
            .values()
            .filter(|m| m.account == "aws")
            .collect();
        assert_eq!(
            aws.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
            SERVED
        );
        for m in aws {
            assert_eq!(m.arn, format!("arn:aws:iam::aws:policy/{}", m.name));
            assert!(m.id.starts_with("ANPA") && m.id.len() == 21, "{}", m.id);
            assert_eq!(m.versions.len(), 1);
            assert_eq!(m.versions[0].version_id, m.default_version);
            assert!(m.compiled.statement_count() > 0);
            assert!(m.description.is_some());
        }
        let admin = &view.policies.managed["arn:aws:iam::aws:policy/AdministratorAccess"];
        assert_eq!(admin.id, "ANPAIWMBCKSKIEE64ZLYK");
        assert_eq!(
            crate::protocol::xml::iso8601(admin.created_at),
            "2015-02-06T18:39:46.000Z"
        );
    }
}
