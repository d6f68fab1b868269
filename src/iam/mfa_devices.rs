//! Virtual MFA devices (TOTP, RFC 6238): create, enable with two consecutive codes, deactivate,
//! list, delete.

use base64::Engine as _;

use crate::credentials::totp;
use crate::error::ApiResult;
use crate::protocol::input::{enum_field, input, string_field};
use crate::protocol::output::Output;
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::{Change, Conflict, Entity, MfaDevice, StoreError, User};

use super::errors::{no_such_mfa_device, store_error};

use super::input::{IamPath, IamTags, Name, NewName, Paging};
use super::users::{find_user, write_user};
use super::{Member, Page};

string_field!(
    /// An MFA device's serial number (its ARN, for virtual devices): 9..256 of `[\w+=/:,.@-]+`.
    Serial,
    9,
    256,
    r"[\w+=/:,.@-]+",
    |c: char| c.is_ascii_alphanumeric() || "_+=/:,.@-".contains(c)
);
string_field!(
    /// One of the two consecutive codes that enable a device.
    AuthenticationCode,
    6,
    6,
    r"[\d]+",
    |c: char| c.is_ascii_digit()
);

input! {
    /// `CreateVirtualMFADevice`
    pub(crate) struct CreateVirtualMfaDeviceInput {
        virtual_mfa_device_name: NewName = required("VirtualMFADeviceName"),
        path: IamPath = or_default("Path"),
        /// Validated as AWS does; devices do not keep tags yet.
        #[allow(dead_code, reason = "read for validation only until MFA devices carry tags")]
        tags: IamTags = nested(),
    }
}

/// The new device's serial and seed (the only time the seed is shown).
#[derive(Debug)]
pub(crate) struct CreateVirtualMfaDeviceOutput {
    serial: String,
    base32_seed: crate::credentials::Secret,
}

impl Output for CreateVirtualMfaDeviceOutput {
    fn write(&self, x: &mut Xml) {
        x.nest("VirtualMFADevice", |x| {
            // `Base32StringSeed` is a blob: the base32 text, base64-encoded on the wire.
            x.arn("SerialNumber", &self.serial).elem(
                "Base32StringSeed",
                &base64::engine::general_purpose::STANDARD.encode(self.base32_seed.expose_bytes()),
            );
        });
    }
}

pub(crate) async fn create_virtual_mfa_device(
    cx: &Cx<'_>,
    input: CreateVirtualMfaDeviceInput,
) -> ApiResult<CreateVirtualMfaDeviceOutput> {
    let (name, path) = (input.virtual_mfa_device_name.into_string(), input.path.0);
    let serial = cx.arn("mfa", &path, &name);
    cx.authorize(&serial)?;
    let seed = totp::generate_seed()?;
    let b32 = totp::base32_seed(&seed);
    cx.state
        .store
        .apply_one(Change::CreateVirtualMfa {
            serial: serial.clone(),
            account: cx.account().to_owned(),
            name,
            path,
            seed: seed.clone(),
            created_at: cx.info.now,
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(Entity::MfaDevice) => super::errors::mfa_device_exists(),
            e => store_error(e),
        })?;
    Ok(CreateVirtualMfaDeviceOutput {
        serial,
        base32_seed: b32,
    })
}

/// Find the step `s` near `now` where `code1` is the code of `s` and `code2` of `s + 1`.
fn consecutive_step(
    seed: &crate::credentials::Secret,
    code1: &str,
    code2: &str,
    now: i64,
) -> Option<u64> {
    let current = u64::try_from(now).ok()? / totp::STEP_SECONDS;
    (current.saturating_sub(3)..=current + 1)
        .find(|&s| {
            totp::code_at(seed, s * totp::STEP_SECONDS).as_str() == code1
                && totp::code_at(seed, (s + 1) * totp::STEP_SECONDS).as_str() == code2
        })
        .map(|s| s + 1)
}

input! {
    /// `EnableMFADevice`
    pub(crate) struct EnableMfaDeviceInput {
        user_name: Name = required("UserName"),
        serial_number: Serial = required("SerialNumber"),
        authentication_code1: AuthenticationCode = required("AuthenticationCode1"),
        authentication_code2: AuthenticationCode = required("AuthenticationCode2"),
    }
}

pub(crate) async fn enable_mfa_device(cx: &Cx<'_>, input: EnableMfaDeviceInput) -> ApiResult<()> {
    let serial = input.serial_number.into_string();
    let user = find_user(cx, &input.user_name)?;
    cx.authorize(&user.arn())?;
    let view = cx.state.store.view();
    let device = view
        .mfa
        .get(&serial)
        .filter(|d| d.account == cx.account())
        .ok_or_else(|| no_such_mfa_device(&serial))?;
    let step = consecutive_step(
        &device.seed,
        &input.authentication_code1,
        &input.authentication_code2,
        cx.info.now.timestamp(),
    )
    .ok_or_else(super::errors::invalid_authentication_code)?;
    cx.state
        .store
        .apply_one(Change::EnableMfa {
            account: cx.account().to_owned(),
            user_id: user.id,
            serial: serial.clone(),
            step,
            enabled_at: cx.info.now,
            max_per_user: super::limits::MFA_DEVICES_PER_USER,
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::MfaDevice) => no_such_mfa_device(&serial),
            StoreError::Conflict(Conflict::MfaDeviceInUse) => super::errors::mfa_device_in_use(),
            e => store_error(e),
        })?;
    Ok(())
}

input! {
    /// `DeactivateMFADevice`
    pub(crate) struct DeactivateMfaDeviceInput {
        serial_number: Serial = required("SerialNumber"),
        user_name: Option<Name> = optional("UserName"),
    }
}

pub(crate) async fn deactivate_mfa_device(
    cx: &Cx<'_>,
    input: DeactivateMfaDeviceInput,
) -> ApiResult<()> {
    let serial = input.serial_number.into_string();
    let Some(user_name) = cx.target_user_name(input.user_name.as_deref()) else {
        return Err(no_such_mfa_device(&serial));
    };
    let user = find_user(cx, &user_name)?;
    cx.authorize(&user.arn())?;
    cx.state
        .store
        .apply_one(Change::DeactivateMfa {
            user_id: user.id,
            serial: serial.clone(),
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::MfaDevice) => no_such_mfa_device(&serial),
            e => store_error(e),
        })?;
    Ok(())
}

input! {
    /// `DeleteVirtualMFADevice`
    pub(crate) struct DeleteVirtualMfaDeviceInput {
        serial_number: Serial = required("SerialNumber"),
    }
}

pub(crate) async fn delete_virtual_mfa_device(
    cx: &Cx<'_>,
    input: DeleteVirtualMfaDeviceInput,
) -> ApiResult<()> {
    let serial = input.serial_number.into_string();
    cx.authorize(&serial)?;
    cx.state
        .store
        .apply_one(Change::DeleteVirtualMfa {
            account: cx.account().to_owned(),
            serial: serial.clone(),
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::MfaDevice) => {
                super::errors::no_such_virtual_mfa_device(&serial)
            }
            e => store_error(e),
        })?;
    Ok(())
}

input! {
    /// `ListMFADevices`
    pub(crate) struct ListMfaDevicesInput {
        user_name: Option<Name> = optional("UserName"),
        paging: Paging = nested(),
    }
}

/// An enabled device of a user (or of the root).
#[derive(Debug)]
pub(crate) struct EnabledDevice {
    user_name: Option<String>,
    device: MfaDevice,
}

impl Member for EnabledDevice {
    fn write(&self, x: &mut Xml) {
        x.opt("UserName", self.user_name.as_deref())
            .arn("SerialNumber", &self.device.serial);
        if let Some(t) = self.device.enabled_at {
            x.time("EnableDate", t);
        }
    }
}

pub(crate) async fn list_mfa_devices(
    cx: &Cx<'_>,
    input: ListMfaDevicesInput,
) -> ApiResult<Page<EnabledDevice>> {
    let paging = input.paging;
    let user = match cx.target_user_name(input.user_name.as_deref()) {
        Some(n) => Some(find_user(cx, &n)?),
        None => None,
    };
    cx.authorize(
        &user
            .as_ref()
            .map_or_else(|| crate::identity::root_arn(cx.account()), User::arn),
    )?;
    let view = cx.state.store.view();
    let user_id = user.as_ref().map(|u| u.id.clone());
    let user_name = user.map(|u| u.name);
    let devices = view
        .mfa
        .values()
        .filter(|d| d.account == cx.account() && d.enabled_at.is_some() && d.user_id == user_id)
        .filter(|d| {
            paging
                .marker
                .as_deref()
                .is_none_or(|m| d.serial.as_str() > m)
        })
        .map(|d| {
            (
                d.serial.clone(),
                EnabledDevice {
                    user_name: user_name.clone(),
                    device: d.clone(),
                },
            )
        });
    Ok(Page::of("MFADevices", devices, paging.max_items))
}

enum_field!(
    /// `AssignmentStatus` of `ListVirtualMFADevices`.
    AssignmentStatus { Assigned, Unassigned, Any }
);

input! {
    /// `ListVirtualMFADevices`
    pub(crate) struct ListVirtualMfaDevicesInput {
        assignment_status: Option<AssignmentStatus> = optional("AssignmentStatus"),
        paging: Paging = nested(),
    }
}

/// A virtual device and the user it is assigned to, if any.
#[derive(Debug)]
pub(crate) struct VirtualDevice {
    device: MfaDevice,
    user: Option<User>,
}

impl Member for VirtualDevice {
    fn write(&self, x: &mut Xml) {
        x.arn("SerialNumber", &self.device.serial);
        if let Some(u) = &self.user {
            x.nest("User", |x| write_user(x, u, false));
        }
        if let Some(t) = self.device.enabled_at {
            x.time("EnableDate", t);
        }
    }
}

pub(crate) async fn list_virtual_mfa_devices(
    cx: &Cx<'_>,
    input: ListVirtualMfaDevicesInput,
) -> ApiResult<Page<VirtualDevice>> {
    let status = input.assignment_status.unwrap_or(AssignmentStatus::Any);
    let paging = input.paging;
    cx.authorize(&cx.arn("mfa", "/", ""))?;
    let view = cx.state.store.view();
    let devices = view
        .mfa
        .values()
        .filter(|d| d.account == cx.account())
        .filter(|d| match status {
            AssignmentStatus::Assigned => d.user_id.is_some(),
            AssignmentStatus::Unassigned => d.user_id.is_none(),
            AssignmentStatus::Any => true,
        })
        .filter(|d| {
            paging
                .marker
                .as_deref()
                .is_none_or(|m| d.serial.as_str() > m)
        })
        .map(|d| {
            let user = d
                .user_id
                .as_ref()
                .and_then(|id| view.users.get(id))
                .cloned();
            (
                d.serial.clone(),
                VirtualDevice {
                    device: d.clone(),
                    user,
                },
            )
        });
    Ok(Page::of("VirtualMFADevices", devices, paging.max_items))
}
