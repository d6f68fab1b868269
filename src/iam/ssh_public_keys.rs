//! SSH public keys of users (for CodeCommit): `UploadSSHPublicKey`, `GetSSHPublicKey`,
//! `ListSSHPublicKeys`, `UpdateSSHPublicKey`, `DeleteSSHPublicKey`. See
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_UploadSSHPublicKey.html>.
//!
//! A key is an RSA key of at least 2048 bits, uploaded as `ssh-rsa …` or PEM
//! ([`crate::key_material`]); its fingerprint is the MD5 of its SSH blob whichever way it came,
//! so the same key in either encoding is the same key (`DuplicateSSHPublicKey`). At most five
//! per user. Every action is authorized as `iam:<Action>` on the user's ARN; only
//! `ListSSHPublicKeys` may leave `UserName` out (the calling user).

use crate::credentials;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::key_material::{self, SshKeyError};
use crate::protocol::input::{Field, input, string_field};
use crate::protocol::output::Output;
use crate::protocol::params::Validator;
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::{Change, Entity, SshPublicKey, StoreError, User};

use super::errors::{no_such_ssh_public_key, no_such_user, store_error};
use super::input::{NewName, Paging};
use super::signing_certificates::{CertificateBody, Status, status_text};
use super::{Member, Page, limits};

string_field!(
    /// `publicKeyIdType`: 20..128 of `[\w]+`.
    SshPublicKeyId,
    20,
    128,
    r"[\w]+",
    |c: char| c.is_ascii_alphanumeric() || c == '_'
);

/// `encodingType` of `GetSSHPublicKey`: `SSH` or `PEM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Ssh,
    Pem,
}

impl Field for Encoding {
    fn read(name: &str, raw: &str, v: &mut Validator) -> ApiResult<Self> {
        Ok(match raw {
            "SSH" => Encoding::Ssh,
            "PEM" => Encoding::Pem,
            _ => {
                v.check(
                    name,
                    raw,
                    false,
                    "Member must satisfy enum value set: [SSH, PEM]",
                );
                Encoding::Ssh
            }
        })
    }
}

/// `InvalidPublicKey` / `UnrecognizedPublicKeyEncoding` for a key that cannot be used (wording
/// ours; the codes are the API reference's).
pub(crate) fn ssh_key_error(e: SshKeyError) -> ApiError {
    match e {
        SshKeyError::Unrecognized => ApiError::new(
            ErrorCode::UnrecognizedPublicKeyEncoding,
            "The public key encoding format is unsupported or unrecognized. Upload an RSA key in ssh-rsa or PEM format.",
        ),
        SshKeyError::Malformed => ApiError::new(
            ErrorCode::InvalidPublicKey,
            "The public key is malformed or otherwise invalid.",
        ),
        SshKeyError::Size => ApiError::new(
            ErrorCode::InvalidPublicKey,
            format!(
                "The public key must be an RSA key of at least {} bits.",
                key_material::MIN_SSH_RSA_BITS
            ),
        ),
    }
}

fn find_user(cx: &Cx<'_>, name: &str) -> ApiResult<User> {
    cx.state
        .store
        .view()
        .user_by_name(cx.account(), name)
        .cloned()
        .ok_or_else(|| no_such_user(name))
}

/// The user `name` once the caller may act on it.
fn authorized_user(cx: &Cx<'_>, name: &str) -> ApiResult<User> {
    let user = find_user(cx, name)?;
    cx.authorize(&user.arn())?;
    Ok(user)
}

/// `<SSHPublicKey>`: the whole key, its body in the asked encoding.
#[derive(Debug)]
pub(crate) struct KeyOutput {
    user_name: String,
    key: SshPublicKey,
    body: String,
}

impl Output for KeyOutput {
    fn write(&self, x: &mut Xml) {
        x.nest("SSHPublicKey", |x| {
            x.elem("UserName", &self.user_name)
                .elem("SSHPublicKeyId", &self.key.id)
                .elem("Fingerprint", &self.key.fingerprint)
                .elem("SSHPublicKeyBody", &self.body)
                .elem("Status", status_text(self.key.active))
                .time("UploadDate", self.key.created_at);
        });
    }
}

input! {
    /// `UploadSSHPublicKey`
    pub(crate) struct UploadSshPublicKeyInput {
        user_name: NewName = required("UserName"),
        ssh_public_key_body: CertificateBody = required("SSHPublicKeyBody"),
    }
}

pub(crate) async fn upload_ssh_public_key(
    cx: &Cx<'_>,
    input: UploadSshPublicKeyInput,
) -> ApiResult<KeyOutput> {
    let user = authorized_user(cx, &input.user_name)?;
    let body = input.ssh_public_key_body.0;
    let parsed = key_material::parse_ssh_public_key(&body).map_err(ssh_key_error)?;
    let key = SshPublicKey {
        id: credentials::new_prefixed_id("APKA", 16)?,
        account: cx.account().to_owned(),
        user_id: user.id.clone(),
        body: body.clone(),
        fingerprint: parsed.fingerprint(),
        active: true,
        created_at: cx.info.now,
    };
    cx.state
        .store
        .apply_one(Change::UploadSshPublicKey {
            key: key.clone(),
            max_per_user: limits::SSH_PUBLIC_KEYS_PER_USER,
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(Entity::SshPublicKey) => ApiError::new(
                ErrorCode::DuplicateSshPublicKey,
                "The SSH public key is already associated with the specified IAM user.",
            ),
            StoreError::NotFound(Entity::User) => no_such_user(&user.name),
            e => store_error(e),
        })?;
    Ok(KeyOutput {
        user_name: user.name,
        key,
        body,
    })
}

input! {
    /// `GetSSHPublicKey`
    pub(crate) struct GetSshPublicKeyInput {
        user_name: NewName = required("UserName"),
        ssh_public_key_id: SshPublicKeyId = required("SSHPublicKeyId"),
        encoding: Encoding = required("Encoding"),
    }
}

/// The key `id` of `user`, or `NoSuchEntity`.
fn key_of(cx: &Cx<'_>, user: &User, id: &str) -> ApiResult<SshPublicKey> {
    cx.state
        .store
        .view()
        .ssh_public_keys
        .get(id)
        .filter(|k| k.user_id == user.id)
        .cloned()
        .ok_or_else(|| no_such_ssh_public_key(id))
}

pub(crate) async fn get_ssh_public_key(
    cx: &Cx<'_>,
    input: GetSshPublicKeyInput,
) -> ApiResult<KeyOutput> {
    let user = authorized_user(cx, &input.user_name)?;
    let key = key_of(cx, &user, &input.ssh_public_key_id)?;
    // The stored body was read when it was uploaded; reading it again gives either encoding.
    let parsed = key_material::parse_ssh_public_key(&key.body).map_err(|e| {
        ApiError::internal().with_detail(format!("stored SSH public key {}: {e}", key.id))
    })?;
    let body = match input.encoding {
        Encoding::Ssh => parsed.to_openssh(),
        Encoding::Pem => parsed.to_pem(),
    };
    Ok(KeyOutput {
        user_name: user.name,
        key,
        body,
    })
}

input! {
    /// `ListSSHPublicKeys`
    pub(crate) struct ListSshPublicKeysInput {
        user_name: Option<NewName> = optional("UserName"),
        paging: Paging = nested(),
    }
}

/// A member of `<SSHPublicKeys>`: metadata only.
#[derive(Debug)]
pub(crate) struct KeyMetadata {
    user_name: String,
    key: SshPublicKey,
}

impl Member for KeyMetadata {
    fn write(&self, x: &mut Xml) {
        x.elem("UserName", &self.user_name)
            .elem("SSHPublicKeyId", &self.key.id)
            .elem("Status", status_text(self.key.active))
            .time("UploadDate", self.key.created_at);
    }
}

pub(crate) async fn list_ssh_public_keys(
    cx: &Cx<'_>,
    input: ListSshPublicKeysInput,
) -> ApiResult<Page<KeyMetadata>> {
    let paging = input.paging;
    let Some(name) = cx.target_user_name(input.user_name.as_deref()) else {
        if !cx.caller.is_root() {
            return Err(super::errors::user_name_required());
        }
        // The root has no SSH public keys (they belong to IAM users); it may still ask.
        cx.authorize(&crate::identity::root_arn(cx.account()))?;
        return Ok(Page::of(
            "SSHPublicKeys",
            std::iter::empty(),
            paging.max_items,
        ));
    };
    let user = authorized_user(cx, &name)?;
    let view = cx.state.store.view();
    let items = view
        .ssh_public_keys_of(&user.id)
        .filter(|k| paging.marker.as_deref().is_none_or(|m| k.id.as_str() > m))
        .map(|k| {
            (
                k.id.clone(),
                KeyMetadata {
                    user_name: user.name.clone(),
                    key: k.clone(),
                },
            )
        });
    Ok(Page::of("SSHPublicKeys", items, paging.max_items))
}

input! {
    /// `UpdateSSHPublicKey`
    pub(crate) struct UpdateSshPublicKeyInput {
        user_name: NewName = required("UserName"),
        ssh_public_key_id: SshPublicKeyId = required("SSHPublicKeyId"),
        status: Status = required("Status"),
    }
}

pub(crate) async fn update_ssh_public_key(
    cx: &Cx<'_>,
    input: UpdateSshPublicKeyInput,
) -> ApiResult<()> {
    let user = authorized_user(cx, &input.user_name)?;
    let active = input.status.active()?;
    let id = input.ssh_public_key_id.into_string();
    cx.state
        .store
        .apply_one(Change::UpdateSshPublicKey {
            user_id: user.id,
            id: id.clone(),
            active,
        })
        .await
        .map_err(|e| key_store_error(e, &id))?;
    Ok(())
}

input! {
    /// `DeleteSSHPublicKey`
    pub(crate) struct DeleteSshPublicKeyInput {
        user_name: NewName = required("UserName"),
        ssh_public_key_id: SshPublicKeyId = required("SSHPublicKeyId"),
    }
}

pub(crate) async fn delete_ssh_public_key(
    cx: &Cx<'_>,
    input: DeleteSshPublicKeyInput,
) -> ApiResult<()> {
    let user = authorized_user(cx, &input.user_name)?;
    let id = input.ssh_public_key_id.into_string();
    cx.state
        .store
        .apply_one(Change::DeleteSshPublicKey {
            user_id: user.id,
            id: id.clone(),
        })
        .await
        .map_err(|e| key_store_error(e, &id))?;
    Ok(())
}

fn key_store_error(e: StoreError, id: &str) -> ApiError {
    match e {
        StoreError::NotFound(Entity::SshPublicKey) => no_such_ssh_public_key(id),
        e => store_error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::input::{Input, parse};
    use crate::protocol::params::Params;

    fn read<T: Input>(q: &str) -> ApiResult<T> {
        parse(&Params::parse(q.as_bytes(), None).unwrap())
    }

    #[test]
    fn inputs_have_iams_constraints() {
        let e = read::<GetSshPublicKeyInput>(
            "UserName=a&SSHPublicKeyId=APKA0123456789ABCDEF&Encoding=DER",
        )
        .unwrap_err();
        assert!(e.message.contains("[SSH, PEM]"), "{e:?}");
        let e = read::<GetSshPublicKeyInput>("UserName=a&SSHPublicKeyId=APKA&Encoding=SSH")
            .unwrap_err();
        assert!(e.message.contains("greater than or equal to 20"), "{e:?}");
        let e = read::<UploadSshPublicKeyInput>(&format!(
            "UserName={}&SSHPublicKeyBody=x",
            "u".repeat(65)
        ))
        .unwrap_err();
        assert!(e.message.contains("less than or equal to 64"), "{e:?}");
        let e = read::<UploadSshPublicKeyInput>("SSHPublicKeyBody=x").unwrap_err();
        assert_eq!(e.code, ErrorCode::MissingParameter);
    }

    #[test]
    fn key_errors_have_their_codes() {
        assert_eq!(
            ssh_key_error(SshKeyError::Unrecognized).code.as_str(),
            "UnrecognizedPublicKeyEncoding"
        );
        assert_eq!(
            ssh_key_error(SshKeyError::Malformed).code.as_str(),
            "InvalidPublicKey"
        );
        assert_eq!(ssh_key_error(SshKeyError::Size).status(), 400);
    }
}
