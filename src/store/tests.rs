//! The store's contract, written once against the interface: every case runs against every
//! backend. A backend joins with one line in the `contract!` invocation below, naming a factory
//! that opens a backend on a fresh (or, called again with the same path, the same) data place.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeZone as _, Utc};

use super::{
    Applied, Backend, Change, Conflict, Entity, Group, InstanceProfile, NewPolicy, OidcProvider,
    OwnerId, SamlMetadata, SamlPrivateKey, SamlProvider, SqliteBackend, Store, StoreError, User,
};
use crate::credentials::SharedKeyring;
use crate::credentials::{Keyring, Secret};
use crate::store::policies::Owner;
use crate::store::{Role, ServerCertificate, SigningCertificate, SshPublicKey};

/// Opens a backend over the data at `place` (the same data each time it is given the same
/// place).
type Factory = fn(&Path) -> Box<dyn Backend>;

fn open_sqlite(place: &Path) -> Box<dyn Backend> {
    Box::new(SqliteBackend::open(place, super::DEFAULT_BUSY_TIMEOUT).unwrap())
}

fn open_postgres(place: &Path) -> Box<dyn Backend> {
    let url = super::postgres::testdb::database_for(place);
    Box::new(
        super::postgres::PgBackend::open(
            &url,
            &super::postgres::TlsOptions::default(),
            super::postgres::DEFAULT_TIMEOUT,
        )
        .unwrap(),
    )
}

/// One module per backend, one test per case.
macro_rules! contract {
    ($($backend:ident => $factory:path),* $(,)?) => {$(
        mod $backend {
            contract!(@cases $factory;
                users_are_created_found_and_deleted,
                a_taken_name_already_exists,
                a_missing_entity_is_not_found,
                deleting_what_others_depend_on_conflicts,
                limits_are_counted_inside_the_transaction,
                access_keys_belong_to_their_owner,
                tags_merge_by_key_case_insensitively,
                groups_and_memberships,
                roles,
                instance_profiles,
                account_aliases,
                oidc_providers,
                saml_providers,
                managed_policies_versions_and_attachments,
                inline_policies,
                mfa_enable_and_single_use_steps,
                mfa_device_tags_and_resync,
                key_usage_is_recorded_and_survives_a_reopen,
                credential_reports_are_kept_newest_first_across_a_reopen,
                concurrent_uses_of_one_step_from_two_writers_one_wins,
                saml_assertions_are_used_once_until_their_time,
                concurrent_uses_of_one_saml_assertion_one_wins,
                a_failing_change_leaves_nothing_of_its_apply,
                jobs_committed_together_fail_alone,
                changes_survive_a_reopen,
                secrets_are_resealed_and_still_open,
                login_profiles_policies_and_renames,
                certificates_and_ssh_keys,
            );
        }
    )*};
    (@cases $factory:path; $($case:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            super::$case(&super::Harness::new($factory)).await;
        }
    )*};
}

contract! {
    sqlite => super::open_sqlite,
    postgres => super::open_postgres,
}

// --- harness ---------------------------------------------------------------------------------

const ACCOUNT: &str = "111122223333";

struct Harness {
    factory: Factory,
    dir: tempfile::TempDir,
    keyring: Arc<SharedKeyring>,
    store: Store,
}

impl Harness {
    fn new(factory: Factory) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let keyring = SharedKeyring::new(Keyring::generate(now()).unwrap(), None);
        let store = Store::start(factory(dir.path()), keyring.clone()).unwrap();
        Harness {
            factory,
            dir,
            keyring,
            store,
        }
    }

    /// Another store (another writer) over the same data.
    fn second(&self) -> Store {
        Store::start((self.factory)(self.dir.path()), self.keyring.clone()).unwrap()
    }

    async fn apply(&self, change: Change) -> Result<Applied, StoreError> {
        self.store.apply_one(change).await
    }

    async fn ok(&self, change: Change) -> Applied {
        let what = format!("{change:?}");
        self.apply(change)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e:?}"))
    }

    async fn account(&self) {
        self.ok(Change::CreateAccount {
            id: ACCOUNT.into(),
            alias: None,
            created_at: now(),
        })
        .await;
    }

    /// A new user `name` (unique id from the name) of ACCOUNT.
    async fn user(&self, name: &str) -> User {
        let u = user(name);
        self.ok(Change::CreateUser {
            user: u.clone(),
            max_per_account: 100,
        })
        .await;
        u
    }

    async fn group(&self, name: &str) -> Group {
        let g = Group {
            id: format!("AGPA{}", name.to_uppercase()),
            account: ACCOUNT.into(),
            name: name.into(),
            path: "/".into(),
            created_at: now(),
            members: Vec::new(),
        };
        self.ok(Change::CreateGroup {
            group: g.clone(),
            max_per_account: 100,
        })
        .await;
        g
    }

    async fn policy(&self, name: &str) -> String {
        let arn = format!("arn:aws:iam::{ACCOUNT}:policy/{name}");
        self.ok(Change::CreatePolicy {
            policy: NewPolicy {
                arn: arn.clone(),
                id: format!("ANPA{}", name.to_uppercase()),
                account: ACCOUNT.into(),
                name: name.into(),
                path: "/".into(),
                description: None,
                document: doc("s3:GetObject"),
                tags: vec![("team".into(), "a".into())],
                created_at: now(),
            },
            max_per_account: 100,
        })
        .await;
        arn
    }

    async fn key(&self, id: &str, user_id: Option<&str>) {
        self.ok(Change::CreateAccessKey {
            id: id.into(),
            account: ACCOUNT.into(),
            user_id: user_id.map(str::to_owned),
            secret: Secret::from(format!("secret-of-{id}")),
            created_at: now(),
            max_per_owner: Some(2),
        })
        .await;
    }

    /// A virtual MFA device enabled for `user_id` at step `step`.
    async fn mfa(&self, serial: &str, user_id: &str, step: u64) {
        self.ok(Change::CreateVirtualMfa {
            serial: serial.into(),
            account: ACCOUNT.into(),
            name: "phone".into(),
            path: "/".into(),
            seed: Secret::from_bytes(vec![7; 20]),
            created_at: now(),
            tags: Vec::new(),
        })
        .await;
        self.ok(Change::EnableMfa {
            account: ACCOUNT.into(),
            user_id: user_id.into(),
            serial: serial.into(),
            step,
            enabled_at: now(),
            max_per_user: 8,
        })
        .await;
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 7, 0, 0).unwrap()
}

fn user(name: &str) -> User {
    User {
        id: format!("AIDA{}", name.to_uppercase()),
        account: ACCOUNT.into(),
        name: name.into(),
        path: "/".into(),
        created_at: now(),
        boundary: None,
        tags: vec![("Team".into(), "blue".into())],
    }
}

fn role(name: &str) -> Role {
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    Role {
        id: format!("AROA{}", name.to_uppercase()),
        account: ACCOUNT.into(),
        name: name.into(),
        path: "/".into(),
        description: None,
        trust_document: trust.into(),
        trust: Arc::new(super::policies::compile_trust(trust, "{}").unwrap()),
        max_session: 3600,
        boundary: None,
        created_at: now(),
        tags: Vec::new(),
        linked_service: None,
    }
}

fn doc(action: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*"}}]}}"#
    )
}

fn err(e: StoreError) -> Result<Applied, StoreError> {
    Err(e)
}

// --- cases -----------------------------------------------------------------------------------

/// Console passwords keep a bounded history, outlive nothing but survive a reopen; a user
/// with one cannot be deleted; renames keep ids and refuse taken names.
async fn login_profiles_policies_and_renames(h: &Harness) {
    use crate::credentials::password::PasswordHash;
    use crate::store::PasswordPolicy;
    let hash =
        |n: u32| PasswordHash::from_stored(format!("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ${n}"));
    h.account().await;
    let alice = h.user("alice").await;
    assert_eq!(
        h.apply(Change::UpdateLoginProfile {
            user_id: alice.id.clone(),
            hash: Some(hash(0)),
            reset_required: None,
            changed_at: now(),
            keep_history: 2,
        })
        .await,
        err(StoreError::NotFound(Entity::LoginProfile))
    );
    h.ok(Change::CreateLoginProfile {
        user_id: alice.id.clone(),
        hash: hash(1),
        created_at: now(),
        reset_required: true,
        keep_history: 2,
    })
    .await;
    assert_eq!(
        h.apply(Change::CreateLoginProfile {
            user_id: alice.id.clone(),
            hash: hash(9),
            created_at: now(),
            reset_required: false,
            keep_history: 2,
        })
        .await,
        err(StoreError::AlreadyExists(Entity::LoginProfile))
    );
    assert_eq!(
        h.apply(Change::CreateLoginProfile {
            user_id: "AIDANOBODY".into(),
            hash: hash(9),
            created_at: now(),
            reset_required: false,
            keep_history: 2,
        })
        .await,
        err(StoreError::NotFound(Entity::User))
    );
    for n in [2, 3] {
        h.ok(Change::UpdateLoginProfile {
            user_id: alice.id.clone(),
            hash: Some(hash(n)),
            reset_required: Some(false),
            changed_at: now() + chrono::Duration::seconds(i64::from(n)),
            keep_history: 2,
        })
        .await;
    }
    let view = h.store.view();
    assert_eq!(view.password_history[&alice.id], vec![hash(3), hash(2)]);
    let p = &view.login_profiles[&alice.id];
    assert_eq!(p.hash, hash(3));
    assert!(!p.reset_required);
    assert_eq!(p.password_changed_at, now() + chrono::Duration::seconds(3));
    assert_eq!(p.created_at, now());
    assert_eq!(
        h.apply(Change::DeleteUser {
            account: ACCOUNT.into(),
            name: "alice".into(),
        })
        .await,
        err(StoreError::Conflict(Conflict::UserHasLoginProfile))
    );

    // Renames: the id stays, a taken name (any case) is refused.
    h.user("bob").await;
    assert_eq!(
        h.apply(Change::UpdateUser {
            account: ACCOUNT.into(),
            name: "alice".into(),
            new_name: Some("BOB".into()),
            new_path: None,
        })
        .await,
        err(StoreError::AlreadyExists(Entity::User))
    );
    h.ok(Change::UpdateUser {
        account: ACCOUNT.into(),
        name: "ALICE".into(),
        new_name: Some("alicia".into()),
        new_path: Some("/x/".into()),
    })
    .await;
    let g = h.group("devs").await;
    h.group("ops").await;
    assert_eq!(
        h.apply(Change::UpdateGroup {
            account: ACCOUNT.into(),
            name: "devs".into(),
            new_name: Some("OPS".into()),
            new_path: None,
        })
        .await,
        err(StoreError::AlreadyExists(Entity::Group))
    );
    h.ok(Change::UpdateGroup {
        account: ACCOUNT.into(),
        name: "devs".into(),
        new_name: Some("developers".into()),
        new_path: None,
    })
    .await;
    assert_eq!(
        h.apply(Change::UpdateGroup {
            account: ACCOUNT.into(),
            name: "devs".into(),
            new_name: None,
            new_path: Some("/y/".into()),
        })
        .await,
        err(StoreError::NotFound(Entity::Group))
    );

    let policy = PasswordPolicy {
        minimum_length: 12,
        require_symbols: true,
        require_numbers: false,
        require_uppercase: true,
        require_lowercase: false,
        allow_users_to_change: true,
        max_age_days: Some(90),
        reuse_prevention: None,
        hard_expiry: Some(false),
    };
    h.ok(Change::SetPasswordPolicy {
        account: ACCOUNT.into(),
        policy: policy.clone(),
    })
    .await;

    // All of it survives a reopen.
    let again = h.second();
    let view = again.view();
    let u = view.user_by_name(ACCOUNT, "alicia").unwrap();
    assert_eq!((u.id.as_str(), u.path.as_str()), (alice.id.as_str(), "/x/"));
    assert!(view.login_profiles.contains_key(&alice.id));
    assert_eq!(view.group_by_name(ACCOUNT, "developers").unwrap().id, g.id);
    assert_eq!(view.password_policies[ACCOUNT], policy);

    h.ok(Change::DeleteLoginProfile {
        user_id: alice.id.clone(),
    })
    .await;
    assert_eq!(
        h.apply(Change::DeleteLoginProfile {
            user_id: alice.id.clone(),
        })
        .await,
        err(StoreError::NotFound(Entity::LoginProfile))
    );
    // The history outlives the profile (reuse prevention after a re-create).
    assert_eq!(h.store.view().password_history[&alice.id].len(), 2);
    h.ok(Change::DeletePasswordPolicy {
        account: ACCOUNT.into(),
    })
    .await;
    assert_eq!(
        h.apply(Change::DeletePasswordPolicy {
            account: ACCOUNT.into(),
        })
        .await,
        err(StoreError::NotFound(Entity::PasswordPolicy))
    );
    h.ok(Change::DeleteUser {
        account: ACCOUNT.into(),
        name: "alicia".into(),
    })
    .await;
    assert!(!h.store.view().password_history.contains_key(&alice.id));
}

async fn users_are_created_found_and_deleted(h: &Harness) {
    h.account().await;
    let alice = h.user("alice").await;
    let view = h.store.view();
    let found = view.user_by_name(ACCOUNT, "ALICE").unwrap();
    assert_eq!(found.id, alice.id);
    assert_eq!(found.tags, alice.tags);
    assert_eq!(view.users_in(ACCOUNT, None).count(), 1);
    h.ok(Change::DeleteUser {
        account: ACCOUNT.into(),
        name: "Alice".into(),
    })
    .await;
    assert!(h.store.view().user_by_name(ACCOUNT, "alice").is_none());
}

async fn a_taken_name_already_exists(h: &Harness) {
    h.account().await;
    assert_eq!(
        h.apply(Change::CreateAccount {
            id: ACCOUNT.into(),
            alias: None,
            created_at: now(),
        })
        .await,
        err(StoreError::AlreadyExists(Entity::Account))
    );
    h.ok(Change::CreateAccount {
        id: "222233334444".into(),
        alias: Some("taken".into()),
        created_at: now(),
    })
    .await;
    assert_eq!(
        h.apply(Change::CreateAccount {
            id: "333344445555".into(),
            alias: Some("taken".into()),
            created_at: now(),
        })
        .await,
        err(StoreError::AlreadyExists(Entity::AccountAlias))
    );
    h.user("alice").await;
    let mut again = user("ALICE");
    again.id = "AIDAOTHER".into();
    assert_eq!(
        h.apply(Change::CreateUser {
            user: again,
            max_per_account: 100,
        })
        .await,
        err(StoreError::AlreadyExists(Entity::User))
    );
    let g = h.group("ops").await;
    let mut g2 = g.clone();
    g2.id = "AGPAOTHER".into();
    assert_eq!(
        h.apply(Change::CreateGroup {
            group: g2,
            max_per_account: 100,
        })
        .await,
        err(StoreError::AlreadyExists(Entity::Group))
    );
    h.policy("read").await;
    assert_eq!(
        h.apply(Change::CreatePolicy {
            policy: NewPolicy {
                arn: format!("arn:aws:iam::{ACCOUNT}:policy/other/READ"),
                id: "ANPAOTHER".into(),
                account: ACCOUNT.into(),
                name: "READ".into(),
                path: "/other/".into(),
                description: None,
                document: doc("s3:*"),
                tags: Vec::new(),
                created_at: now(),
            },
            max_per_account: 100,
        })
        .await,
        err(StoreError::AlreadyExists(Entity::Policy))
    );
}

async fn a_missing_entity_is_not_found(h: &Harness) {
    h.account().await;
    let account = || ACCOUNT.to_owned();
    let cases = [
        (
            Change::DeleteUser {
                account: account(),
                name: "nobody".into(),
            },
            Entity::User,
        ),
        (
            Change::TagUser {
                account: account(),
                name: "nobody".into(),
                tags: vec![("a".into(), "b".into())],
            },
            Entity::User,
        ),
        (
            Change::DeleteGroup {
                account: account(),
                name: "nogroup".into(),
            },
            Entity::Group,
        ),
        (
            Change::DeleteRole {
                account: account(),
                name: "norole".into(),
            },
            Entity::Role,
        ),
        (
            Change::DeleteAccessKey {
                account: account(),
                user_id: None,
                key_id: "AKIANOSUCHKEY0000000".into(),
            },
            Entity::AccessKey,
        ),
        (
            Change::DeletePolicy {
                arn: "arn:aws:iam::111122223333:policy/none".into(),
            },
            Entity::Policy,
        ),
        (
            Change::DeleteVirtualMfa {
                account: account(),
                serial: "arn:aws:iam::111122223333:mfa/none".into(),
            },
            Entity::MfaDevice,
        ),
    ];
    for (change, entity) in cases {
        let what = format!("{change:?}");
        assert_eq!(
            h.apply(change).await,
            err(StoreError::NotFound(entity)),
            "{what}"
        );
    }
}

async fn deleting_what_others_depend_on_conflicts(h: &Harness) {
    h.account().await;
    let delete_user = || Change::DeleteUser {
        account: ACCOUNT.into(),
        name: "bob".into(),
    };
    let bob = h.user("bob").await;
    // Access keys, then MFA devices, then groups, then inline, then attached policies.
    h.key("AKIABOBKEY0000000000", Some(&bob.id)).await;
    assert_eq!(
        h.apply(delete_user()).await,
        err(StoreError::Conflict(Conflict::UserHasAccessKeys))
    );
    h.ok(Change::DeleteAccessKey {
        account: ACCOUNT.into(),
        user_id: Some(bob.id.clone()),
        key_id: "AKIABOBKEY0000000000".into(),
    })
    .await;
    let serial = format!("arn:aws:iam::{ACCOUNT}:mfa/bob");
    h.mfa(&serial, &bob.id, 100).await;
    assert_eq!(
        h.apply(delete_user()).await,
        err(StoreError::Conflict(Conflict::UserHasMfaDevices))
    );
    assert_eq!(
        h.apply(Change::DeleteVirtualMfa {
            account: ACCOUNT.into(),
            serial: serial.clone(),
        })
        .await,
        err(StoreError::Conflict(Conflict::MfaDeviceInUse))
    );
    h.ok(Change::DeactivateMfa {
        user_id: bob.id.clone(),
        serial,
    })
    .await;
    h.group("ops").await;
    let membership = |add: bool| {
        if add {
            Change::AddUserToGroup {
                account: ACCOUNT.into(),
                group: "ops".into(),
                user: "bob".into(),
                max_groups_per_user: 10,
            }
        } else {
            Change::RemoveUserFromGroup {
                account: ACCOUNT.into(),
                group: "ops".into(),
                user: "bob".into(),
            }
        }
    };
    h.ok(membership(true)).await;
    assert_eq!(
        h.apply(delete_user()).await,
        err(StoreError::Conflict(Conflict::UserInGroups))
    );
    assert_eq!(
        h.apply(Change::DeleteGroup {
            account: ACCOUNT.into(),
            name: "ops".into(),
        })
        .await,
        err(StoreError::Conflict(Conflict::GroupHasMembers))
    );
    h.ok(membership(false)).await;
    let owner = OwnerId::User(bob.id.clone());
    h.ok(Change::PutInlinePolicy {
        owner: owner.clone(),
        name: "inline".into(),
        document: doc("s3:*"),
        max_total_size: 2048,
    })
    .await;
    assert_eq!(
        h.apply(delete_user()).await,
        err(StoreError::Conflict(Conflict::HasInlinePolicies))
    );
    h.ok(Change::DeleteInlinePolicy {
        owner: owner.clone(),
        name: "inline".into(),
    })
    .await;
    let arn = h.policy("attached").await;
    h.ok(Change::AttachPolicy {
        owner: owner.clone(),
        arn: arn.clone(),
        max_per_owner: 10,
    })
    .await;
    assert_eq!(
        h.apply(delete_user()).await,
        err(StoreError::Conflict(Conflict::HasAttachedPolicies))
    );
    assert_eq!(
        h.apply(Change::DeletePolicy { arn: arn.clone() }).await,
        err(StoreError::Conflict(Conflict::PolicyInUse))
    );
    h.ok(Change::DetachPolicy {
        owner,
        arn: arn.clone(),
    })
    .await;
    // A permissions boundary in use counts as an attachment.
    h.ok(Change::SetUserBoundary {
        user_id: bob.id.clone(),
        boundary: Some(arn.clone()),
    })
    .await;
    assert_eq!(
        h.store.view().policies.managed[&arn].boundary_usage_count,
        1
    );
    assert_eq!(
        h.apply(Change::DeletePolicy { arn: arn.clone() }).await,
        err(StoreError::Conflict(Conflict::PolicyInUse))
    );
    h.ok(Change::SetUserBoundary {
        user_id: bob.id.clone(),
        boundary: None,
    })
    .await;
    h.ok(delete_user()).await;
    h.ok(Change::DeletePolicy { arn }).await;
}

async fn limits_are_counted_inside_the_transaction(h: &Harness) {
    h.account().await;
    for name in ["u1", "u2"] {
        h.ok(Change::CreateUser {
            user: user(name),
            max_per_account: 2,
        })
        .await;
    }
    assert_eq!(
        h.apply(Change::CreateUser {
            user: user("u3"),
            max_per_account: 2,
        })
        .await,
        err(StoreError::LimitExceeded(Entity::User))
    );
    // Access keys per owner (the root's are counted apart from users').
    h.key("AKIAU1KEYA0000000000", Some("AIDAU1")).await;
    h.key("AKIAU1KEYB0000000000", Some("AIDAU1")).await;
    h.key("AKIAROOTKEY000000000", None).await;
    assert_eq!(
        h.apply(Change::CreateAccessKey {
            id: "AKIAU1KEYC0000000000".into(),
            account: ACCOUNT.into(),
            user_id: Some("AIDAU1".into()),
            secret: Secret::from("s"),
            created_at: now(),
            max_per_owner: Some(2),
        })
        .await,
        err(StoreError::LimitExceeded(Entity::AccessKey))
    );
    // Groups per user.
    h.group("g1").await;
    h.group("g2").await;
    let join = |group: &str, max: usize| Change::AddUserToGroup {
        account: ACCOUNT.into(),
        group: group.into(),
        user: "u1".into(),
        max_groups_per_user: max,
    };
    h.ok(join("g1", 1)).await;
    h.ok(join("g1", 1)).await; // already a member: nothing to count
    assert_eq!(
        h.apply(join("g2", 1)).await,
        err(StoreError::LimitExceeded(Entity::Membership))
    );
    // Groups per account.
    assert_eq!(
        h.apply(Change::CreateGroup {
            group: Group {
                id: "AGPAG3".into(),
                account: ACCOUNT.into(),
                name: "g3".into(),
                path: "/".into(),
                created_at: now(),
                members: Vec::new(),
            },
            max_per_account: 2,
        })
        .await,
        err(StoreError::LimitExceeded(Entity::Group))
    );
    // Attached policies per owner, versions per policy, policies per account.
    let a = h.policy("pa").await;
    let b = h.policy("pb").await;
    let attach = |arn: &str| Change::AttachPolicy {
        owner: OwnerId::User("AIDAU1".into()),
        arn: arn.into(),
        max_per_owner: 1,
    };
    h.ok(attach(&a)).await;
    assert_eq!(
        h.apply(attach(&b)).await,
        err(StoreError::LimitExceeded(Entity::Attachment))
    );
    let version = || Change::CreatePolicyVersion {
        arn: a.clone(),
        document: doc("s3:PutObject"),
        set_default: false,
        created_at: now(),
        max_versions: 2,
    };
    h.ok(version()).await;
    assert_eq!(
        h.apply(version()).await,
        err(StoreError::LimitExceeded(Entity::PolicyVersion))
    );
    assert_eq!(
        h.apply(Change::CreatePolicy {
            policy: NewPolicy {
                arn: format!("arn:aws:iam::{ACCOUNT}:policy/pc"),
                id: "ANPAPC".into(),
                account: ACCOUNT.into(),
                name: "pc".into(),
                path: "/".into(),
                description: None,
                document: doc("s3:*"),
                tags: Vec::new(),
                created_at: now(),
            },
            max_per_account: 2,
        })
        .await,
        err(StoreError::LimitExceeded(Entity::Policy))
    );
    // MFA devices per user.
    h.mfa(&format!("arn:aws:iam::{ACCOUNT}:mfa/one"), "AIDAU1", 1)
        .await;
    h.ok(Change::CreateVirtualMfa {
        serial: format!("arn:aws:iam::{ACCOUNT}:mfa/two"),
        account: ACCOUNT.into(),
        name: "two".into(),
        path: "/".into(),
        seed: Secret::from_bytes(vec![1; 20]),
        created_at: now(),
        tags: Vec::new(),
    })
    .await;
    assert_eq!(
        h.apply(Change::EnableMfa {
            account: ACCOUNT.into(),
            user_id: "AIDAU1".into(),
            serial: format!("arn:aws:iam::{ACCOUNT}:mfa/two"),
            step: 1,
            enabled_at: now(),
            max_per_user: 1,
        })
        .await,
        err(StoreError::LimitExceeded(Entity::MfaDevice))
    );
}

async fn access_keys_belong_to_their_owner(h: &Harness) {
    h.account().await;
    let carol = h.user("carol").await;
    h.key("AKIACAROLKEY00000000", Some(&carol.id)).await;
    h.key("AKIAROOTKEY000000000", None).await;
    let view = h.store.view();
    let k = &view.access_keys["AKIACAROLKEY00000000"];
    assert_eq!(k.secret.expose(), "secret-of-AKIACAROLKEY00000000");
    assert!(k.active);
    assert_eq!(view.keys_of_user(ACCOUNT, Some(&carol.id)).count(), 1);
    assert_eq!(view.keys_of_user(ACCOUNT, None).count(), 1);
    // Someone else's key is not found, as if it did not exist.
    assert_eq!(
        h.apply(Change::UpdateAccessKey {
            account: ACCOUNT.into(),
            user_id: None,
            key_id: "AKIACAROLKEY00000000".into(),
            active: false,
        })
        .await,
        err(StoreError::NotFound(Entity::AccessKey))
    );
    h.ok(Change::UpdateAccessKey {
        account: ACCOUNT.into(),
        user_id: Some(carol.id.clone()),
        key_id: "AKIACAROLKEY00000000".into(),
        active: false,
    })
    .await;
    assert!(!h.store.view().access_keys["AKIACAROLKEY00000000"].active);
    h.ok(Change::DeleteAccessKey {
        account: ACCOUNT.into(),
        user_id: Some(carol.id),
        key_id: "AKIACAROLKEY00000000".into(),
    })
    .await;
    assert!(
        !h.store
            .view()
            .access_keys
            .contains_key("AKIACAROLKEY00000000")
    );
}

async fn tags_merge_by_key_case_insensitively(h: &Harness) {
    h.account().await;
    h.user("dave").await;
    h.ok(Change::TagUser {
        account: ACCOUNT.into(),
        name: "DAVE".into(),
        tags: vec![("TEAM".into(), "red".into()), ("cost".into(), "1".into())],
    })
    .await;
    let tags = |h: &Harness| {
        h.store
            .view()
            .user_by_name(ACCOUNT, "dave")
            .unwrap()
            .tags
            .clone()
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert_eq!(tags(h), pairs(&[("TEAM", "red"), ("cost", "1")]));
    h.ok(Change::UntagUser {
        account: ACCOUNT.into(),
        name: "dave".into(),
        keys: vec!["team".into()],
    })
    .await;
    assert_eq!(tags(h), pairs(&[("cost", "1")]));
    let r = role("tagged");
    h.ok(Change::CreateRole {
        role: r.clone(),
        trust_bindings: "{}".into(),
        max_per_account: 1_000,
    })
    .await;
    h.ok(Change::TagRole {
        role_id: r.id.clone(),
        tags: pairs(&[("a", "1"), ("B", "2")]),
    })
    .await;
    h.ok(Change::UntagRole {
        role_id: r.id.clone(),
        keys: vec!["b".into()],
    })
    .await;
    assert_eq!(
        h.store.view().policies.roles[&r.id].tags,
        pairs(&[("a", "1")])
    );
}

async fn groups_and_memberships(h: &Harness) {
    h.account().await;
    let erin = h.user("erin").await;
    let g = h.group("devs").await;
    let change = |add: bool, group: &str, user: &str| {
        let (account, group, user) = (ACCOUNT.to_owned(), group.to_owned(), user.to_owned());
        if add {
            Change::AddUserToGroup {
                account,
                group,
                user,
                max_groups_per_user: 10,
            }
        } else {
            Change::RemoveUserFromGroup {
                account,
                group,
                user,
            }
        }
    };
    h.ok(change(true, "DEVS", "Erin")).await;
    h.ok(change(true, "devs", "erin")).await; // twice: still one membership
    let view = h.store.view();
    assert_eq!(view.groups[&g.id].members, vec![erin.id.clone()]);
    assert_eq!(view.groups_of_user(&erin.id).count(), 1);
    assert_eq!(
        h.apply(change(true, "nogroup", "erin")).await,
        err(StoreError::NotFound(Entity::Group))
    );
    assert_eq!(
        h.apply(change(true, "devs", "nobody")).await,
        err(StoreError::NotFound(Entity::User))
    );
    h.ok(change(false, "devs", "erin")).await;
    assert_eq!(
        h.apply(change(false, "devs", "erin")).await,
        err(StoreError::NotFound(Entity::Membership))
    );
    h.ok(Change::DeleteGroup {
        account: ACCOUNT.into(),
        name: "devs".into(),
    })
    .await;
    assert!(h.store.view().group_by_name(ACCOUNT, "devs").is_none());
}

async fn oidc_providers(h: &Harness) {
    h.account().await;
    let url = "token.actions.githubusercontent.com";
    let p = OidcProvider {
        account: ACCOUNT.into(),
        url: url.into(),
        client_ids: vec!["sts.amazonaws.com".into()],
        thumbprints: vec![],
        created_at: now(),
        tags: vec![("team".into(), "ci".into())],
    };
    h.ok(Change::CreateOidcProvider {
        provider: p.clone(),
        max_per_account: 2,
    })
    .await;
    assert_eq!(
        h.apply(Change::CreateOidcProvider {
            provider: p.clone(),
            max_per_account: 2,
        })
        .await,
        err(StoreError::AlreadyExists(Entity::OidcProvider))
    );
    let other = |u: &str| OidcProvider {
        url: u.into(),
        tags: vec![],
        ..p.clone()
    };
    h.ok(Change::CreateOidcProvider {
        provider: other("gitlab.com"),
        max_per_account: 2,
    })
    .await;
    assert_eq!(
        h.apply(Change::CreateOidcProvider {
            provider: other("example.com/tenant"),
            max_per_account: 2,
        })
        .await,
        err(StoreError::LimitExceeded(Entity::OidcProvider))
    );
    let (account, url) = (String::from(ACCOUNT), String::from(url));
    for change in [
        Change::AddOidcClientId {
            account: account.clone(),
            url: url.clone(),
            client_id: "tessera".into(),
            max_client_ids: 2,
        },
        // Twice is fine.
        Change::AddOidcClientId {
            account: account.clone(),
            url: url.clone(),
            client_id: "tessera".into(),
            max_client_ids: 2,
        },
        Change::SetOidcThumbprints {
            account: account.clone(),
            url: url.clone(),
            thumbprints: vec!["a".repeat(40)],
        },
        Change::TagOidcProvider {
            account: account.clone(),
            url: url.clone(),
            tags: vec![
                ("TEAM".into(), "platform".into()),
                ("env".into(), "prod".into()),
            ],
        },
        Change::UntagOidcProvider {
            account: account.clone(),
            url: url.clone(),
            keys: vec!["ENV".into()],
        },
    ] {
        h.ok(change).await;
    }
    assert_eq!(
        h.apply(Change::AddOidcClientId {
            account: account.clone(),
            url: url.clone(),
            client_id: "third".into(),
            max_client_ids: 2,
        })
        .await,
        err(StoreError::LimitExceeded(Entity::OidcClientId))
    );
    h.ok(Change::RemoveOidcClientId {
        account: account.clone(),
        url: url.clone(),
        client_id: "sts.amazonaws.com".into(),
    })
    .await;
    let view = h.store.view();
    let got = view.oidc_provider(ACCOUNT, &url).unwrap();
    assert_eq!(got.client_ids, ["tessera"]);
    assert_eq!(got.thumbprints, ["a".repeat(40)]);
    assert_eq!(got.tags, [("TEAM".to_owned(), "platform".to_owned())]);
    assert_eq!(
        got.arn(),
        "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
    );
    let urls: Vec<_> = view
        .oidc_providers_in(ACCOUNT)
        .map(|p| p.url.as_str())
        .collect();
    assert_eq!(urls, ["gitlab.com", url.as_str()]);
    drop(view);
    h.ok(Change::DeleteOidcProvider {
        account: account.clone(),
        url: url.clone(),
    })
    .await;
    assert!(h.store.view().oidc_provider(ACCOUNT, &url).is_none());
    for change in [
        Change::DeleteOidcProvider {
            account: account.clone(),
            url: url.clone(),
        },
        Change::RemoveOidcClientId {
            account: account.clone(),
            url: url.clone(),
            client_id: "x".into(),
        },
        Change::TagOidcProvider {
            account,
            url,
            tags: vec![],
        },
    ] {
        assert_eq!(
            h.apply(change).await,
            err(StoreError::NotFound(Entity::OidcProvider))
        );
    }
    // A new provider of the same URL starts without the old one's tags.
    h.ok(Change::CreateOidcProvider {
        provider: other("token.actions.githubusercontent.com"),
        max_per_account: 2,
    })
    .await;
    let view = h.store.view();
    let again = view
        .oidc_provider(ACCOUNT, "token.actions.githubusercontent.com")
        .unwrap();
    assert!(again.tags.is_empty());
}

fn saml_key(id: &str) -> SamlPrivateKey {
    SamlPrivateKey {
        id: id.into(),
        created_at: now(),
        pem: Secret::from(format!("pem of {id}")),
    }
}

fn saml_provider(name: &str) -> SamlProvider {
    SamlProvider {
        account: ACCOUNT.into(),
        name: name.into(),
        uuid: format!("UUID{}", name.to_uppercase()),
        metadata_document: format!("<md:EntityDescriptor entityID=\"{name}\"/>"),
        entity_id: format!("https://{name}.example.com"),
        signing_certs: vec!["MIIcert1".into()],
        valid_until: None,
        created_at: now(),
        tags: vec![],
        assertion_encryption_mode: None,
        private_keys: vec![],
    }
}

async fn saml_providers(h: &Harness) {
    h.account().await;
    let okta = SamlProvider {
        tags: vec![("team".into(), "sso".into())],
        private_keys: vec![saml_key("KEYONE")],
        assertion_encryption_mode: Some("Allowed".into()),
        ..saml_provider("okta")
    };
    h.ok(Change::CreateSamlProvider {
        provider: okta.clone(),
        max_per_account: 2,
    })
    .await;
    assert_eq!(
        h.apply(Change::CreateSamlProvider {
            provider: SamlProvider {
                uuid: "OTHERUUID".into(),
                ..saml_provider("okta")
            },
            max_per_account: 2,
        })
        .await,
        err(StoreError::AlreadyExists(Entity::SamlProvider))
    );
    h.ok(Change::CreateSamlProvider {
        provider: saml_provider("entra"),
        max_per_account: 2,
    })
    .await;
    assert_eq!(
        h.apply(Change::CreateSamlProvider {
            provider: saml_provider("keycloak"),
            max_per_account: 2,
        })
        .await,
        err(StoreError::LimitExceeded(Entity::SamlProvider))
    );
    let (account, name) = (String::from(ACCOUNT), String::from("okta"));
    let update = |metadata, mode: Option<&str>, add: Option<&str>, remove: Option<&str>| {
        Change::UpdateSamlProvider {
            account: account.clone(),
            name: name.clone(),
            metadata,
            assertion_encryption_mode: mode.map(str::to_owned),
            add_private_key: add.map(saml_key),
            remove_private_key: remove.map(str::to_owned),
            max_private_keys: 2,
        }
    };
    let rotated = SamlMetadata {
        document: "<md:EntityDescriptor entityID=\"rotated\"/>".into(),
        entity_id: "https://okta.example.com/rotated".into(),
        signing_certs: vec!["MIIcert1".into(), "MIIcert2".into()],
        valid_until: Some(Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()),
    };
    h.ok(update(Some(rotated.clone()), None, Some("KEYTWO"), None))
        .await;
    assert_eq!(
        h.apply(update(None, None, Some("KEYTHREE"), None)).await,
        err(StoreError::LimitExceeded(Entity::SamlPrivateKey))
    );
    // Remove then add: a full provider rotates in one change.
    h.ok(update(
        None,
        Some("Required"),
        Some("KEYTHREE"),
        Some("KEYONE"),
    ))
    .await;
    assert_eq!(
        h.apply(update(None, None, None, Some("KEYONE"))).await,
        err(StoreError::NotFound(Entity::SamlPrivateKey))
    );
    h.ok(update(None, None, None, Some("KEYTWO"))).await;
    // `Required` with no key left would accept nothing: refused, and nothing of it applied.
    assert_eq!(
        h.apply(update(None, None, None, Some("KEYTHREE"))).await,
        err(StoreError::Conflict(Conflict::SamlKeyRequired))
    );
    for change in [
        Change::TagSamlProvider {
            account: account.clone(),
            name: name.clone(),
            tags: vec![
                ("TEAM".into(), "identity".into()),
                ("env".into(), "prod".into()),
            ],
        },
        Change::UntagSamlProvider {
            account: account.clone(),
            name: name.clone(),
            keys: vec!["ENV".into()],
        },
    ] {
        h.ok(change).await;
    }
    for view in [h.store.view(), h.second().view()] {
        let got = view.saml_provider(ACCOUNT, "okta").unwrap();
        assert_eq!(got.arn(), "arn:aws:iam::111122223333:saml-provider/okta");
        assert_eq!(got.uuid, okta.uuid);
        assert_eq!(got.metadata_document, rotated.document);
        assert_eq!(got.entity_id, rotated.entity_id);
        assert_eq!(got.signing_certs, rotated.signing_certs);
        assert_eq!(got.valid_until, rotated.valid_until);
        assert_eq!(got.assertion_encryption_mode.as_deref(), Some("Required"));
        assert_eq!(got.tags, [("TEAM".to_owned(), "identity".to_owned())]);
        let keys: Vec<_> = got.private_keys.iter().map(|k| k.id.as_str()).collect();
        assert_eq!(keys, ["KEYTHREE"]);
        assert_eq!(got.private_keys[0].pem.expose(), "pem of KEYTHREE");
        let names: Vec<_> = view
            .saml_providers_in(ACCOUNT)
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, ["entra", "okta"]);
    }
    h.ok(Change::DeleteSamlProvider {
        account: account.clone(),
        name: name.clone(),
    })
    .await;
    assert!(h.store.view().saml_provider(ACCOUNT, "okta").is_none());
    for change in [
        Change::DeleteSamlProvider {
            account: account.clone(),
            name: name.clone(),
        },
        update(None, Some("Allowed"), None, None),
        Change::TagSamlProvider {
            account: account.clone(),
            name: name.clone(),
            tags: vec![],
        },
        Change::UntagSamlProvider {
            account: account.clone(),
            name: name.clone(),
            keys: vec![],
        },
    ] {
        assert_eq!(
            h.apply(change).await,
            err(StoreError::NotFound(Entity::SamlProvider))
        );
    }
    // A new provider of the same name starts without the old one's tags and keys.
    h.ok(Change::CreateSamlProvider {
        provider: saml_provider("okta"),
        max_per_account: 2,
    })
    .await;
    let view = h.store.view();
    let again = view.saml_provider(ACCOUNT, "okta").unwrap();
    assert!(again.tags.is_empty());
    assert!(again.private_keys.is_empty());
}

async fn roles(h: &Harness) {
    h.account().await;
    let r = role("deploy");
    h.ok(Change::CreateRole {
        role: r.clone(),
        trust_bindings: "{}".into(),
        max_per_account: 1_000,
    })
    .await;
    let mut again = role("DEPLOY");
    again.id = "AROAOTHER".into();
    assert_eq!(
        h.apply(Change::CreateRole {
            role: again,
            trust_bindings: "{}".into(),
            max_per_account: 1_000,
        })
        .await,
        err(StoreError::AlreadyExists(Entity::Role))
    );
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}]}"#;
    let boundary = h.policy("boundary").await;
    for change in [
        Change::UpdateRole {
            role_id: r.id.clone(),
            description: Some("ships".into()),
            max_session: Some(7200),
        },
        Change::SetTrustPolicy {
            role_id: r.id.clone(),
            document: trust.into(),
            trust_bindings: r#"{"arn:aws:iam::111122223333:user/alice":"AIDAALICE"}"#.into(),
        },
        Change::SetRoleBoundary {
            role_id: r.id.clone(),
            boundary: Some(boundary.clone()),
        },
    ] {
        h.ok(change).await;
    }
    let view = h.store.view();
    let got = view.policies.role_by_name(ACCOUNT, "Deploy").unwrap();
    assert_eq!(got.description.as_deref(), Some("ships"));
    assert_eq!(got.max_session, 7200);
    assert_eq!(got.trust_document, trust);
    assert_eq!(
        got.trust.bound_principal_ids().collect::<Vec<_>>(),
        [("arn:aws:iam::111122223333:user/alice", "AIDAALICE")]
    );
    assert_eq!(got.boundary.as_deref(), Some(boundary.as_str()));
    let owner = OwnerId::Role(r.id.clone());
    h.ok(Change::PutInlinePolicy {
        owner: owner.clone(),
        name: "p".into(),
        document: doc("s3:*"),
        max_total_size: 10_240,
    })
    .await;
    let delete = || Change::DeleteRole {
        account: ACCOUNT.into(),
        name: "deploy".into(),
    };
    assert_eq!(
        h.apply(delete()).await,
        err(StoreError::Conflict(Conflict::HasInlinePolicies))
    );
    h.ok(Change::DeleteInlinePolicy {
        owner,
        name: "p".into(),
    })
    .await;
    h.ok(delete()).await;
    assert!(h.store.view().policies.roles.is_empty());

    // A service-linked role: its service is kept; deleting it records the task.
    let mut linked = role("AWSServiceRoleForECS");
    linked.linked_service = Some("ecs.amazonaws.com".into());
    h.ok(Change::CreateRole {
        role: linked,
        trust_bindings: "{}".into(),
        max_per_account: 1,
    })
    .await;
    assert_eq!(
        h.apply(Change::CreateRole {
            role: role("second"),
            trust_bindings: "{}".into(),
            max_per_account: 1,
        })
        .await,
        err(StoreError::LimitExceeded(Entity::Role))
    );
    let reopened = h.second().view();
    let got = reopened
        .policies
        .role_by_name(ACCOUNT, "awsserviceroleforecs")
        .unwrap();
    assert_eq!(got.linked_service.as_deref(), Some("ecs.amazonaws.com"));
    let task = crate::store::backend::RoleDeletionTask {
        id: "task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/1".into(),
        account: ACCOUNT.into(),
        status: "SUCCEEDED".into(),
        created_at: now(),
    };
    let delete_linked = || Change::DeleteServiceLinkedRole {
        account: ACCOUNT.into(),
        name: "AWSServiceRoleForECS".into(),
        task: task.clone(),
    };
    h.ok(delete_linked()).await;
    assert_eq!(
        h.apply(delete_linked()).await,
        err(StoreError::NotFound(Entity::Role))
    );
    let view = h.store.view();
    assert!(view.policies.roles.is_empty());
    assert_eq!(view.role_deletion_tasks[&task.id], task);
    assert_eq!(h.second().view().role_deletion_tasks[&task.id], task);
}

async fn account_aliases(h: &Harness) {
    h.account().await;
    h.ok(Change::CreateAccount {
        id: "444455556666".into(),
        alias: Some("taken".into()),
        created_at: now(),
    })
    .await;
    let create = |alias: &str| Change::CreateAccountAlias {
        account: ACCOUNT.into(),
        alias: alias.into(),
    };
    let delete = |alias: &str| Change::DeleteAccountAlias {
        account: ACCOUNT.into(),
        alias: alias.into(),
    };
    // Unique across accounts, this one included.
    assert_eq!(
        h.apply(create("taken")).await,
        err(StoreError::AlreadyExists(Entity::AccountAlias))
    );
    h.ok(create("first")).await;
    assert_eq!(
        h.apply(create("first")).await,
        err(StoreError::AlreadyExists(Entity::AccountAlias))
    );
    // A second alias replaces the first.
    h.ok(create("second")).await;
    assert_eq!(
        h.second().view().account(ACCOUNT).unwrap().alias.as_deref(),
        Some("second")
    );
    assert_eq!(
        h.apply(delete("first")).await,
        err(StoreError::NotFound(Entity::AccountAlias))
    );
    h.ok(delete("second")).await;
    assert_eq!(h.store.view().account(ACCOUNT).unwrap().alias, None);
    assert_eq!(
        h.apply(Change::CreateAccountAlias {
            account: "999999999999".into(),
            alias: "free".into(),
        })
        .await,
        err(StoreError::NotFound(Entity::Account))
    );
}

fn profile(name: &str) -> InstanceProfile {
    InstanceProfile {
        id: format!("AIPA{}", name.to_uppercase()),
        account: ACCOUNT.into(),
        name: name.into(),
        path: "/web/".into(),
        created_at: now(),
        roles: Vec::new(),
        tags: vec![("env".into(), "dev".into())],
    }
}

async fn instance_profiles(h: &Harness) {
    h.account().await;
    let create = |p: InstanceProfile, max| Change::CreateInstanceProfile {
        profile: p,
        max_per_account: max,
    };
    h.ok(create(profile("web"), 2)).await;
    let mut again = profile("WEB");
    again.id = "AIPAOTHER".into();
    assert_eq!(
        h.apply(create(again, 2)).await,
        err(StoreError::AlreadyExists(Entity::InstanceProfile))
    );
    h.ok(create(profile("batch"), 2)).await;
    assert_eq!(
        h.apply(create(profile("third"), 2)).await,
        err(StoreError::LimitExceeded(Entity::InstanceProfile))
    );
    for r in ["deploy", "other"] {
        h.ok(Change::CreateRole {
            role: role(r),
            trust_bindings: "{}".into(),
            max_per_account: 1_000,
        })
        .await;
    }
    let add = |p: &str, r: &str| Change::AddRoleToInstanceProfile {
        account: ACCOUNT.into(),
        profile: p.into(),
        role: r.into(),
        max_roles: 1,
    };
    assert_eq!(
        h.apply(add("nope", "deploy")).await,
        err(StoreError::NotFound(Entity::InstanceProfile))
    );
    assert_eq!(
        h.apply(add("web", "nope")).await,
        err(StoreError::NotFound(Entity::Role))
    );
    h.ok(add("Web", "DEPLOY")).await;
    // One role per profile: the same role again, or another, passes the quota.
    for r in ["deploy", "other"] {
        assert_eq!(
            h.apply(add("web", r)).await,
            err(StoreError::LimitExceeded(Entity::InstanceProfileRole))
        );
    }
    h.ok(add("batch", "deploy")).await;
    h.ok(Change::TagInstanceProfile {
        account: ACCOUNT.into(),
        name: "web".into(),
        tags: vec![("ENV".into(), "prod".into()), ("team".into(), "ops".into())],
    })
    .await;
    h.ok(Change::UntagInstanceProfile {
        account: ACCOUNT.into(),
        name: "web".into(),
        keys: vec!["TEAM".into()],
    })
    .await;
    let view = h.store.view();
    let web = view.instance_profile_by_name(ACCOUNT, "WEB").unwrap();
    assert_eq!(web.roles, ["AROADEPLOY"]);
    assert_eq!(web.tags, [("ENV".to_owned(), "prod".to_owned())]);
    assert_eq!(
        view.instance_profiles_of_role(ACCOUNT, "AROADEPLOY")
            .map(|(n, _)| n)
            .collect::<Vec<_>>(),
        ["batch", "web"]
    );
    // As after a restart.
    let reopened = h.second().view();
    let web = reopened.instance_profile_by_name(ACCOUNT, "web").unwrap();
    assert_eq!((web.path.as_str(), web.id.as_str()), ("/web/", "AIPAWEB"));
    assert_eq!(web.roles, ["AROADEPLOY"]);
    assert_eq!(web.tags, [("ENV".to_owned(), "prod".to_owned())]);

    // Neither the role nor a profile holding it can be deleted.
    let delete_role = Change::DeleteRole {
        account: ACCOUNT.into(),
        name: "deploy".into(),
    };
    assert_eq!(
        h.apply(delete_role.clone()).await,
        err(StoreError::Conflict(Conflict::RoleInInstanceProfile))
    );
    let delete = |p: &str| Change::DeleteInstanceProfile {
        account: ACCOUNT.into(),
        name: p.into(),
    };
    assert_eq!(
        h.apply(delete("web")).await,
        err(StoreError::Conflict(Conflict::InstanceProfileHasRoles))
    );
    let remove = |p: &str, r: &str| Change::RemoveRoleFromInstanceProfile {
        account: ACCOUNT.into(),
        profile: p.into(),
        role: r.into(),
    };
    assert_eq!(
        h.apply(remove("web", "other")).await,
        err(StoreError::NotFound(Entity::InstanceProfileRole))
    );
    for p in ["web", "batch"] {
        h.ok(remove(p, "deploy")).await;
        h.ok(delete(p)).await;
    }
    assert_eq!(
        h.apply(delete("web")).await,
        err(StoreError::NotFound(Entity::InstanceProfile))
    );
    h.ok(delete_role).await;
    assert!(h.store.view().instance_profiles.is_empty());
}

async fn managed_policies_versions_and_attachments(h: &Harness) {
    h.account().await;
    let arn = h.policy("reader").await;
    let version = |set_default: bool| Change::CreatePolicyVersion {
        arn: arn.clone(),
        document: doc("s3:ListBucket"),
        set_default,
        created_at: now(),
        max_versions: 5,
    };
    assert_eq!(
        h.ok(version(false)).await,
        Applied::PolicyVersion("v2".into())
    );
    assert_eq!(
        h.ok(version(true)).await,
        Applied::PolicyVersion("v3".into())
    );
    let view = h.store.view();
    let m = &view.policies.managed[&arn];
    assert_eq!(m.default_version, "v3");
    assert_eq!(m.default_document(), doc("s3:ListBucket"));
    assert_eq!(m.versions.len(), 3);
    assert_eq!(m.tags, vec![("team".to_owned(), "a".to_owned())]);
    let delete_version = |v: &str| Change::DeletePolicyVersion {
        arn: arn.clone(),
        version_id: v.into(),
    };
    assert_eq!(
        h.apply(delete_version("v3")).await,
        err(StoreError::Conflict(Conflict::DefaultVersion))
    );
    assert_eq!(
        h.apply(Change::SetDefaultPolicyVersion {
            arn: arn.clone(),
            version_id: "v9".into(),
            updated_at: now(),
        })
        .await,
        err(StoreError::NotFound(Entity::PolicyVersion))
    );
    h.ok(Change::SetDefaultPolicyVersion {
        arn: arn.clone(),
        version_id: "v1".into(),
        updated_at: now(),
    })
    .await;
    assert_eq!(
        h.apply(Change::DeletePolicy { arn: arn.clone() }).await,
        err(StoreError::Conflict(Conflict::PolicyHasVersions))
    );
    h.ok(delete_version("v2")).await;
    assert_eq!(
        h.apply(delete_version("v2")).await,
        err(StoreError::NotFound(Entity::PolicyVersion))
    );
    h.ok(delete_version("v3")).await;
    // Attachments: twice is once; a missing policy or attachment is not found.
    let g = h.group("readers").await;
    let owner = OwnerId::Group(g.id.clone());
    let attach = |arn: &str| Change::AttachPolicy {
        owner: owner.clone(),
        arn: arn.into(),
        max_per_owner: 10,
    };
    h.ok(attach(&arn)).await;
    h.ok(attach(&arn)).await;
    let view = h.store.view();
    assert_eq!(view.policies.managed[&arn].attachment_count, 1);
    assert_eq!(view.policies.attached_to(Owner::Group(&g.id)).count(), 1);
    assert_eq!(
        h.apply(attach("arn:aws:iam::111122223333:policy/none"))
            .await,
        err(StoreError::NotFound(Entity::Policy))
    );
    let detach = || Change::DetachPolicy {
        owner: owner.clone(),
        arn: arn.clone(),
    };
    h.ok(detach()).await;
    assert_eq!(
        h.apply(detach()).await,
        err(StoreError::NotFound(Entity::Attachment))
    );
    h.ok(Change::TagPolicy {
        arn: arn.clone(),
        tags: vec![("Env".into(), "dev".into()), ("team".into(), "ops".into())],
    })
    .await;
    h.ok(Change::UntagPolicy {
        arn: arn.clone(),
        keys: vec!["TEAM".into()],
    })
    .await;
    assert_eq!(
        h.second().view().policies.managed[&arn].tags,
        [("Env".to_owned(), "dev".to_owned())]
    );
    assert_eq!(
        h.apply(Change::TagPolicy {
            arn: format!("arn:aws:iam::{ACCOUNT}:policy/none"),
            tags: vec![("a".into(), "b".into())],
        })
        .await,
        err(StoreError::NotFound(Entity::Policy))
    );
    h.ok(Change::DeletePolicy { arn: arn.clone() }).await;
    // Only the AWS managed policies every store is seeded with are left.
    assert!(
        h.store
            .view()
            .policies
            .managed
            .values()
            .all(|m| m.account == "aws")
    );
}

async fn inline_policies(h: &Harness) {
    h.account().await;
    let u = h.user("frank").await;
    let owner = OwnerId::User(u.id.clone());
    let put = |name: &str, document: String, max: usize| Change::PutInlinePolicy {
        owner: owner.clone(),
        name: name.into(),
        document,
        max_total_size: max,
    };
    let size = crate::policy::policy_size(&doc("s3:GetObject"));
    h.ok(put("a", doc("s3:GetObject"), 2 * size)).await;
    // Replacing a policy does not count it twice; a second one passes the aggregate limit.
    h.ok(put("a", doc("s3:GetObject"), size)).await;
    assert_eq!(
        h.apply(put("b", doc("s3:GetObject"), 2 * size - 1)).await,
        err(StoreError::LimitExceeded(Entity::InlinePolicy))
    );
    h.ok(put("b", doc("s3:PutObject"), 3 * size)).await;
    let view = h.store.view();
    let names: Vec<&str> = view
        .policies
        .inline_of(Owner::User(&u.id))
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["a", "b"]);
    h.ok(Change::DeleteInlinePolicy {
        owner: owner.clone(),
        name: "a".into(),
    })
    .await;
    assert_eq!(
        h.apply(Change::DeleteInlinePolicy {
            owner,
            name: "a".into(),
        })
        .await,
        err(StoreError::NotFound(Entity::InlinePolicy))
    );
}

async fn mfa_enable_and_single_use_steps(h: &Harness) {
    h.account().await;
    let g = h.user("grace").await;
    let serial = format!("arn:aws:iam::{ACCOUNT}:mfa/grace");
    h.mfa(&serial, &g.id, 1000).await;
    let view = h.store.view();
    let d = &view.mfa[&serial];
    assert_eq!(d.user_id.as_deref(), Some(g.id.as_str()));
    assert!(d.enabled_at.is_some());
    assert_eq!(d.last_step, Some(1000));
    assert_eq!(d.seed.expose_bytes(), [7; 20]);
    // Enabling an assigned device again.
    assert_eq!(
        h.apply(Change::EnableMfa {
            account: ACCOUNT.into(),
            user_id: g.id.clone(),
            serial: serial.clone(),
            step: 1001,
            enabled_at: now(),
            max_per_user: 8,
        })
        .await,
        err(StoreError::Conflict(Conflict::MfaDeviceInUse))
    );
    let use_step = |step: u64, user_id: Option<&str>| Change::UseMfaStep {
        account: ACCOUNT.into(),
        user_id: user_id.map(str::to_owned),
        serial: serial.clone(),
        step,
    };
    let used = err(StoreError::Conflict(Conflict::MfaStepUsed));
    // The step burned by enabling, an older one, and another principal's use are refused.
    assert_eq!(h.apply(use_step(1000, Some(&g.id))).await, used);
    assert_eq!(h.apply(use_step(999, Some(&g.id))).await, used);
    assert_eq!(h.apply(use_step(1001, None)).await, used);
    assert_eq!(h.apply(use_step(1001, Some("AIDAOTHER"))).await, used);
    h.ok(use_step(1001, Some(&g.id))).await;
    assert_eq!(h.apply(use_step(1001, Some(&g.id))).await, used);
    assert_eq!(h.store.view().mfa[&serial].last_step, Some(1001));
    // A deactivated device accepts no step.
    h.ok(Change::DeactivateMfa {
        user_id: g.id.clone(),
        serial: serial.clone(),
    })
    .await;
    assert_eq!(h.apply(use_step(1005, Some(&g.id))).await, used);
    h.ok(Change::DeleteVirtualMfa {
        account: ACCOUNT.into(),
        serial: serial.clone(),
    })
    .await;
    assert!(h.store.view().mfa.is_empty());
}

async fn concurrent_uses_of_one_step_from_two_writers_one_wins(h: &Harness) {
    h.account().await;
    let u = h.user("heidi").await;
    let serial = format!("arn:aws:iam::{ACCOUNT}:mfa/heidi");
    h.mfa(&serial, &u.id, 10).await;
    // Two stores (two writers, as two servers would be) and several callers on each, all with
    // the same code: the step is accepted exactly once.
    let stores = [h.store.clone(), h.second()];
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = stores[i % 2].clone();
        let change = Change::UseMfaStep {
            account: ACCOUNT.into(),
            user_id: Some(u.id.clone()),
            serial: serial.clone(),
            step: 11,
        };
        tasks.spawn(async move { store.apply_one(change).await });
    }
    let mut won = 0;
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Ok(_) => won += 1,
            Err(e) => assert_eq!(e, StoreError::Conflict(Conflict::MfaStepUsed)),
        }
    }
    assert_eq!(won, 1, "one code, used once");
}

fn use_assertion(issuer: &str, id: &str, until: DateTime<Utc>, at: DateTime<Utc>) -> Change {
    Change::UseSamlAssertion {
        issuer: issuer.into(),
        assertion_id: id.into(),
        until,
        now: at,
    }
}

async fn saml_assertions_are_used_once_until_their_time(h: &Harness) {
    let t0 = now();
    let until = t0 + chrono::TimeDelta::minutes(5);
    let used = err(StoreError::Conflict(Conflict::SamlAssertionUsed));
    h.ok(use_assertion("https://idp.example.com", "_a1", until, t0))
        .await;
    assert_eq!(
        h.apply(use_assertion("https://idp.example.com", "_a1", until, t0))
            .await,
        used
    );
    // Up to the last millisecond of its time.
    let late = until - chrono::TimeDelta::milliseconds(1);
    assert_eq!(
        h.apply(use_assertion("https://idp.example.com", "_a1", until, late))
            .await,
        used
    );
    // The same ID from another issuer is another assertion.
    h.ok(use_assertion("https://other.example.com", "_a1", until, t0))
        .await;
    // Past its time the entry is forgotten (the verifier refuses such an assertion by its own
    // times before it gets here), and others' uses forget expired entries on the way.
    h.ok(use_assertion(
        "https://idp.example.com",
        "_a1",
        until + chrono::TimeDelta::minutes(5),
        until,
    ))
    .await;
    for i in 0..20 {
        h.ok(use_assertion(
            "https://idp.example.com",
            &format!("_b{i}"),
            until,
            t0,
        ))
        .await;
    }
    let later = until + chrono::TimeDelta::hours(1);
    for i in 0..10 {
        h.ok(use_assertion(
            "https://idp.example.com",
            &format!("_c{i}"),
            later + chrono::TimeDelta::minutes(5),
            later,
        ))
        .await;
    }
    // The replay cache is not part of the snapshot, and survives a reopen.
    let reopened = h.second();
    assert_eq!(
        reopened
            .apply_one(use_assertion(
                "https://idp.example.com",
                "_c0",
                later,
                later
            ))
            .await,
        Err(StoreError::Conflict(Conflict::SamlAssertionUsed))
    );
}

async fn concurrent_uses_of_one_saml_assertion_one_wins(h: &Harness) {
    let stores = [h.store.clone(), h.second()];
    let until = now() + chrono::TimeDelta::minutes(5);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = stores[i % 2].clone();
        let change = use_assertion("https://idp.example.com", "_race", until, now());
        tasks.spawn(async move { store.apply_one(change).await });
    }
    let mut won = 0;
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Ok(_) => won += 1,
            Err(e) => assert_eq!(e, StoreError::Conflict(Conflict::SamlAssertionUsed)),
        }
    }
    assert_eq!(won, 1, "one assertion, used once");
}

async fn a_failing_change_leaves_nothing_of_its_apply(h: &Harness) {
    h.account().await;
    h.user("ivan").await;
    // The first change would succeed; the second fails: neither is applied.
    let r = h
        .store
        .apply(vec![
            Change::CreateUser {
                user: user("judy"),
                max_per_account: 100,
            },
            Change::TagUser {
                account: ACCOUNT.into(),
                name: "ivan".into(),
                tags: vec![("x".into(), "1".into())],
            },
            Change::CreateUser {
                user: user("IVAN"),
                max_per_account: 100,
            },
        ])
        .await;
    assert_eq!(r, Err(StoreError::AlreadyExists(Entity::User)));
    let view = h.store.view();
    assert!(view.user_by_name(ACCOUNT, "judy").is_none());
    assert_eq!(
        view.user_by_name(ACCOUNT, "ivan").unwrap().tags,
        user("ivan").tags
    );
    // And the store goes on.
    let done = h
        .store
        .apply(vec![
            Change::CreateUser {
                user: user("judy"),
                max_per_account: 100,
            },
            Change::UntagUser {
                account: ACCOUNT.into(),
                name: "judy".into(),
                keys: vec!["team".into()],
            },
        ])
        .await
        .unwrap();
    assert_eq!(done, [Applied::Done, Applied::Done]);
    assert!(
        h.store
            .view()
            .user_by_name(ACCOUNT, "judy")
            .unwrap()
            .tags
            .is_empty()
    );
}

async fn jobs_committed_together_fail_alone(h: &Harness) {
    h.account().await;
    h.user("taken").await;
    // Many callers at once (committed in a few group transactions): each failing one fails
    // alone, every other one commits.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let store = h.store.clone();
        let name = if i % 4 == 0 {
            "taken".to_owned()
        } else {
            format!("u{i}")
        };
        tasks.spawn(async move {
            let mut u = user(&name);
            u.id = format!("AIDA{i}");
            store
                .apply_one(Change::CreateUser {
                    user: u,
                    max_per_account: 100,
                })
                .await
        });
    }
    let (mut ok, mut taken) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::AlreadyExists(Entity::User)) => taken += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!((ok, taken), (30, 10));
    assert_eq!(h.store.view().users_in(ACCOUNT, None).count(), 31);
}

async fn changes_survive_a_reopen(h: &Harness) {
    h.account().await;
    let u = h.user("kim").await;
    h.key("AKIAKIMKEY0000000000", Some(&u.id)).await;
    let arn = h.policy("kept").await;
    h.ok(Change::AttachPolicy {
        owner: OwnerId::User(u.id.clone()),
        arn: arn.clone(),
        max_per_owner: 10,
    })
    .await;
    let serial = format!("arn:aws:iam::{ACCOUNT}:mfa/kim");
    h.mfa(&serial, &u.id, 5).await;
    // A new store over the same data (as after a restart) sees everything acknowledged.
    let reopened = h.second();
    let view = reopened.view();
    assert_eq!(view.account(ACCOUNT).unwrap().id, ACCOUNT);
    assert_eq!(view.user_by_name(ACCOUNT, "kim").unwrap().tags, u.tags);
    assert_eq!(
        view.access_keys["AKIAKIMKEY0000000000"].secret.expose(),
        "secret-of-AKIAKIMKEY0000000000"
    );
    assert_eq!(view.policies.managed[&arn].attachment_count, 1);
    assert_eq!(view.mfa[&serial].last_step, Some(5));
}

async fn secrets_are_resealed_and_still_open(h: &Harness) {
    h.account().await;
    h.key("AKIAROOTKEY000000000", None).await;
    let u = h.user("lee").await;
    h.mfa(&format!("arn:aws:iam::{ACCOUNT}:mfa/lee"), &u.id, 1)
        .await;
    h.ok(Change::CreateSamlProvider {
        provider: SamlProvider {
            private_keys: vec![saml_key("KEYLEE")],
            ..saml_provider("lee")
        },
        max_per_account: 1,
    })
    .await;
    let shared_now = h.keyring.get();
    // Re-seal under the current key (as `keys rotate` does before rotating): every secret.
    assert_eq!(
        h.ok(Change::ResealSecrets {
            keyring: shared_now,
        })
        .await,
        Applied::Resealed(3)
    );
    // A store with the same keyring still opens them.
    let view = h.second().view();
    assert_eq!(
        view.access_keys["AKIAROOTKEY000000000"].secret.expose(),
        "secret-of-AKIAROOTKEY000000000"
    );
    assert_eq!(view.mfa.len(), 1);
    assert_eq!(
        view.saml_provider(ACCOUNT, "lee").unwrap().private_keys[0]
            .pem
            .expose(),
        "pem of KEYLEE"
    );
    // Secrets sealed under a keyring that does not hold the key cannot be re-sealed.
    let stranger = Arc::new(Keyring::generate(now()).unwrap());
    assert!(matches!(
        h.apply(Change::ResealSecrets { keyring: stranger }).await,
        Err(StoreError::Internal(_))
    ));
}

fn signing_cert(id: &str, user_id: Option<&str>, fingerprint: &str) -> SigningCertificate {
    SigningCertificate {
        id: id.into(),
        account: ACCOUNT.into(),
        user_id: user_id.map(str::to_owned),
        body: format!("pem of {id}"),
        fingerprint: fingerprint.into(),
        active: true,
        created_at: now(),
    }
}

fn ssh_key(id: &str, user_id: &str, fingerprint: &str) -> SshPublicKey {
    SshPublicKey {
        id: id.into(),
        account: ACCOUNT.into(),
        user_id: user_id.into(),
        body: format!("ssh-rsa {id}"),
        fingerprint: fingerprint.into(),
        active: true,
        created_at: now(),
    }
}

fn server_cert(id: &str, name: &str) -> ServerCertificate {
    ServerCertificate {
        id: id.into(),
        account: ACCOUNT.into(),
        name: name.into(),
        path: "/".into(),
        body: format!("pem of {name}"),
        chain: None,
        private_key: Secret::from(format!("key of {name}")),
        expiration: now(),
        created_at: now(),
        tags: vec![("env".into(), "dev".into())],
    }
}

/// Signing certificates (per owner, the same one once per account), SSH keys (the same one
/// once per user), server certificates (names unique case-insensitively, keys sealed and
/// re-sealed), and the users they keep alive.
async fn certificates_and_ssh_keys(h: &Harness) {
    h.account().await;
    let u = h.user("kim").await;
    let other = h.user("lou").await;
    let upload = |c: SigningCertificate| Change::UploadSigningCertificate {
        certificate: c,
        max_per_owner: 2,
    };
    h.ok(upload(signing_cert("CERT1", Some(&u.id), "f1"))).await;
    // The same certificate for someone else in the account.
    assert_eq!(
        h.apply(upload(signing_cert("CERT2", Some(&other.id), "f1")))
            .await,
        err(StoreError::AlreadyExists(Entity::SigningCertificate))
    );
    h.ok(upload(signing_cert("CERT2", Some(&u.id), "f2"))).await;
    assert_eq!(
        h.apply(upload(signing_cert("CERT3", Some(&u.id), "f3")))
            .await,
        err(StoreError::LimitExceeded(Entity::SigningCertificate))
    );
    // The root's own count.
    h.ok(upload(signing_cert("CERT3", None, "f3"))).await;
    assert_eq!(
        h.apply(upload(signing_cert("CERT4", Some("AIDAGONE"), "f4")))
            .await,
        err(StoreError::NotFound(Entity::User))
    );
    // Another owner's certificate is not found.
    assert_eq!(
        h.apply(Change::UpdateSigningCertificate {
            account: ACCOUNT.into(),
            user_id: None,
            id: "CERT1".into(),
            active: false,
        })
        .await,
        err(StoreError::NotFound(Entity::SigningCertificate))
    );
    h.ok(Change::UpdateSigningCertificate {
        account: ACCOUNT.into(),
        user_id: Some(u.id.clone()),
        id: "CERT1".into(),
        active: false,
    })
    .await;
    assert!(!h.store.view().signing_certificates["CERT1"].active);

    let key = |id: &str, user: &str, fp: &str| Change::UploadSshPublicKey {
        key: ssh_key(id, user, fp),
        max_per_user: 1,
    };
    h.ok(key("APKA1", &u.id, "k1")).await;
    // The same key for another user is fine; twice for one user is not.
    h.ok(key("APKA2", &other.id, "k1")).await;
    assert_eq!(
        h.apply(key("APKA3", &u.id, "k1")).await,
        err(StoreError::AlreadyExists(Entity::SshPublicKey))
    );
    assert_eq!(
        h.apply(key("APKA3", &u.id, "k2")).await,
        err(StoreError::LimitExceeded(Entity::SshPublicKey))
    );
    assert_eq!(
        h.apply(Change::DeleteSshPublicKey {
            user_id: other.id.clone(),
            id: "APKA1".into(),
        })
        .await,
        err(StoreError::NotFound(Entity::SshPublicKey))
    );

    // Users keep their certificates and keys: signing certificates are named first.
    let delete = |name: &str| Change::DeleteUser {
        account: ACCOUNT.into(),
        name: name.into(),
    };
    assert_eq!(
        h.apply(delete("kim")).await,
        err(StoreError::Conflict(Conflict::UserHasSigningCertificates))
    );
    for id in ["CERT1", "CERT2"] {
        h.ok(Change::DeleteSigningCertificate {
            account: ACCOUNT.into(),
            user_id: Some(u.id.clone()),
            id: id.into(),
        })
        .await;
    }
    assert_eq!(
        h.apply(delete("kim")).await,
        err(StoreError::Conflict(Conflict::UserHasSshPublicKeys))
    );
    h.ok(Change::DeleteSshPublicKey {
        user_id: u.id.clone(),
        id: "APKA1".into(),
    })
    .await;
    h.ok(delete("kim")).await;

    let server = |c: ServerCertificate| Change::UploadServerCertificate {
        certificate: c,
        max_per_account: 2,
    };
    h.ok(server(server_cert("ASCA1", "web"))).await;
    assert_eq!(
        h.apply(server(server_cert("ASCA2", "WEB"))).await,
        err(StoreError::AlreadyExists(Entity::ServerCertificate))
    );
    h.ok(server(server_cert("ASCA2", "api"))).await;
    assert_eq!(
        h.apply(server(server_cert("ASCA3", "third"))).await,
        err(StoreError::LimitExceeded(Entity::ServerCertificate))
    );
    assert_eq!(
        h.apply(Change::UpdateServerCertificate {
            account: ACCOUNT.into(),
            name: "web".into(),
            new_name: Some("API".into()),
            new_path: None,
        })
        .await,
        err(StoreError::AlreadyExists(Entity::ServerCertificate))
    );
    h.ok(Change::UpdateServerCertificate {
        account: ACCOUNT.into(),
        name: "WEB".into(),
        new_name: Some("www".into()),
        new_path: Some("/elb/".into()),
    })
    .await;
    h.ok(Change::TagServerCertificate {
        account: ACCOUNT.into(),
        name: "www".into(),
        tags: vec![("ENV".into(), "prod".into())],
    })
    .await;
    let view = h.store.view();
    let c = view.server_certificate_by_name(ACCOUNT, "WWW").unwrap();
    assert_eq!((c.id.as_str(), c.path.as_str()), ("ASCA1", "/elb/"));
    assert_eq!(c.tags, vec![("ENV".to_owned(), "prod".to_owned())]);
    assert_eq!(c.private_key.expose(), "key of web");
    assert!(view.server_certificate_by_name(ACCOUNT, "web").is_none());
    let names: Vec<&str> = view
        .server_certificates_in(ACCOUNT)
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["api", "www"]);
    // Both private keys re-seal under the current key and still open.
    assert_eq!(
        h.ok(Change::ResealSecrets {
            keyring: h.keyring.get(),
        })
        .await,
        Applied::Resealed(2)
    );
    let view = h.second().view();
    assert_eq!(
        view.server_certificate_by_name(ACCOUNT, "api")
            .unwrap()
            .private_key
            .expose(),
        "key of api"
    );
    h.ok(Change::DeleteServerCertificate {
        account: ACCOUNT.into(),
        name: "www".into(),
    })
    .await;
    assert_eq!(
        h.apply(Change::DeleteServerCertificate {
            account: ACCOUNT.into(),
            name: "www".into(),
        })
        .await,
        err(StoreError::NotFound(Entity::ServerCertificate))
    );
}

async fn mfa_device_tags_and_resync(h: &Harness) {
    h.account().await;
    let g = h.user("grace").await;
    let serial = format!("arn:aws:iam::{ACCOUNT}:mfa/tagged");
    h.ok(Change::CreateVirtualMfa {
        serial: serial.clone(),
        account: ACCOUNT.into(),
        name: "tagged".into(),
        path: "/".into(),
        seed: Secret::from_bytes(vec![3; 20]),
        created_at: now(),
        tags: vec![("team".into(), "blue".into())],
    })
    .await;
    h.ok(Change::TagMfaDevice {
        account: ACCOUNT.into(),
        serial: serial.clone(),
        tags: vec![("TEAM".into(), "red".into()), ("cost".into(), "7".into())],
    })
    .await;
    assert_eq!(
        h.store.view().mfa[&serial].tags,
        vec![
            ("TEAM".to_owned(), "red".to_owned()),
            ("cost".to_owned(), "7".to_owned())
        ]
    );
    h.ok(Change::UntagMfaDevice {
        account: ACCOUNT.into(),
        serial: serial.clone(),
        keys: vec!["Team".into(), "absent".into()],
    })
    .await;
    assert_eq!(
        h.store.view().mfa[&serial].tags,
        vec![("cost".to_owned(), "7".to_owned())]
    );
    // Another account's device, or none, is not found.
    for (account, serial) in [
        ("999999999999", serial.as_str()),
        (ACCOUNT, "arn:aws:iam::111122223333:mfa/none"),
    ] {
        assert_eq!(
            h.apply(Change::TagMfaDevice {
                account: account.into(),
                serial: serial.into(),
                tags: vec![("k".into(), "v".into())],
            })
            .await,
            err(StoreError::NotFound(Entity::MfaDevice))
        );
    }
    let resync = |step: u64, drift_steps: i64| Change::ResyncMfa {
        account: ACCOUNT.into(),
        user_id: g.id.clone(),
        serial: serial.clone(),
        step,
        drift_steps,
    };
    // Not enabled yet: nothing to resync.
    assert_eq!(
        h.apply(resync(50, 1)).await,
        err(StoreError::NotFound(Entity::MfaDevice))
    );
    h.ok(Change::EnableMfa {
        account: ACCOUNT.into(),
        user_id: g.id.clone(),
        serial: serial.clone(),
        step: 100,
        enabled_at: now(),
        max_per_user: 8,
    })
    .await;
    h.ok(resync(120, -3)).await;
    let d = h.store.view().mfa[&serial].clone();
    assert_eq!((d.last_step, d.drift_steps), (Some(120), -3));
    // A resync to an earlier step never makes used steps usable again.
    h.ok(resync(90, 5)).await;
    let d = h.store.view().mfa[&serial].clone();
    assert_eq!((d.last_step, d.drift_steps), (Some(120), 5));
    // Deleting the device takes its tags along; a device made again under the serial has none.
    h.ok(Change::DeactivateMfa {
        user_id: g.id.clone(),
        serial: serial.clone(),
    })
    .await;
    h.ok(Change::DeleteVirtualMfa {
        account: ACCOUNT.into(),
        serial: serial.clone(),
    })
    .await;
    h.ok(Change::CreateVirtualMfa {
        serial: serial.clone(),
        account: ACCOUNT.into(),
        name: "tagged".into(),
        path: "/".into(),
        seed: Secret::from_bytes(vec![4; 20]),
        created_at: now(),
        tags: Vec::new(),
    })
    .await;
    let reopened = h.second().view();
    assert!(reopened.mfa[&serial].tags.is_empty());
    assert_eq!(reopened.mfa[&serial].drift_steps, 0);
}

async fn key_usage_is_recorded_and_survives_a_reopen(h: &Harness) {
    use super::key_usage::KeyUse;
    h.account().await;
    h.key("AKIAUSED000000000001", None).await;
    h.key("AKIAUSED000000000002", None).await;
    let t0 = now();
    let at = |mins: i64| t0 + chrono::TimeDelta::minutes(mins);
    let usage = h.store.key_usage();
    assert_eq!(h.store.flush_key_usage().await.unwrap(), 0);
    usage.record("AKIAUSED000000000001", at(0), "us-east-1", "sts");
    usage.record("AKIAUSED000000000002", at(1), "eu-west-1", "iam");
    // A key that was deleted meanwhile is simply not written.
    usage.record("AKIAGONE000000000000", at(1), "eu-west-1", "iam");
    assert_eq!(h.store.flush_key_usage().await.unwrap(), 3);
    assert_eq!(h.store.flush_key_usage().await.unwrap(), 0);
    let second = h.second();
    assert_eq!(
        second.key_usage().get("AKIAUSED000000000001"),
        Some(KeyUse {
            date: at(0),
            region: "us-east-1".into(),
            service: "sts".into()
        })
    );
    assert_eq!(
        second
            .key_usage()
            .get("AKIAUSED000000000002")
            .map(|u| u.region),
        Some("eu-west-1".to_owned())
    );
    assert_eq!(second.key_usage().get("AKIAGONE000000000000"), None);
    // A later use from the second writer wins; an older batch written afterwards does not
    // move the stored use back.
    second
        .key_usage()
        .record("AKIAUSED000000000001", at(30), "ap-south-1", "iam");
    assert_eq!(second.flush_key_usage().await.unwrap(), 1);
    h.ok(Change::RecordKeyUse {
        uses: vec![(
            "AKIAUSED000000000001".into(),
            KeyUse {
                date: at(20),
                region: "us-west-2".into(),
                service: "sts".into(),
            },
        )],
    })
    .await;
    let third = h.second();
    assert_eq!(
        third
            .key_usage()
            .get("AKIAUSED000000000001")
            .map(|u| (u.date, u.region)),
        Some((at(30), "ap-south-1".to_owned()))
    );
    // Usage is not in the snapshot: recording it rebuilds nothing.
    assert!(!Change::RecordKeyUse { uses: Vec::new() }.touches_snapshot());
}

async fn credential_reports_are_kept_newest_first_across_a_reopen(h: &Harness) {
    use crate::store::CredentialReport;
    let at = |secs: i64| now() + chrono::TimeDelta::seconds(secs);
    h.account().await;
    assert_eq!(h.store.credential_report(ACCOUNT), None);
    let report = |secs: i64, content: &str| CredentialReport {
        account: ACCOUNT.into(),
        generated_at: at(secs),
        content: content.into(),
    };
    let now = h
        .store
        .put_credential_report(report(10, "a"))
        .await
        .unwrap();
    assert_eq!(*now, report(10, "a"));
    let now = h
        .store
        .put_credential_report(report(20, "b"))
        .await
        .unwrap();
    assert_eq!(*now, report(20, "b"));
    // Two generations racing: an older one committed later does not replace the newer.
    let now = h
        .store
        .put_credential_report(report(15, "c"))
        .await
        .unwrap();
    assert_eq!(*now, report(20, "b"));
    assert_eq!(
        h.second().credential_report(ACCOUNT).as_deref(),
        Some(&report(20, "b"))
    );
    assert!(
        !Change::PutCredentialReport {
            report: Arc::new(report(1, ""))
        }
        .touches_snapshot()
    );
}
