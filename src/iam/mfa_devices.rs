//! Virtual MFA devices (TOTP, RFC 6238): create, enable with two consecutive codes, deactivate,
//! list, delete.

use base64::Engine as _;

use crate::credentials::totp;
use crate::error::{ApiError, ApiResult};
use crate::http::ActionOutput;
use crate::http::params::{Params, Validator};
use crate::http::xml::Xml;
use crate::store::{Change, Conflict, Entity, MfaDevice, StoreError};

use super::errors::{no_such_mfa_device, no_such_user, store_error};
use super::users::write_user;
use super::{
    Cx, page, paging, parse_tags, path_param, validate_existing_name, validate_new_name,
    write_paging,
};

fn serial_param(p: &Params) -> ApiResult<String> {
    let s = p.required("SerialNumber")?;
    Validator::new()
        .length("SerialNumber", s, 9, 256)
        .pattern("SerialNumber", s, r"[\w+=/:,.@-]+", |c| {
            c.is_ascii_alphanumeric() || "_+=/:,.@-".contains(c)
        })
        .finish()?;
    Ok(s.to_owned())
}

fn code_param(p: &Params, name: &str) -> ApiResult<String> {
    let c = p.required(name)?;
    Validator::new()
        .length(name, c, 6, 6)
        .pattern(name, c, r"[\d]+", |c| c.is_ascii_digit())
        .finish()?;
    Ok(c.to_owned())
}

pub(crate) async fn create_virtual_mfa_device(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let name = p.required("VirtualMFADeviceName")?.to_owned();
    validate_new_name("VirtualMFADeviceName", &name)?;
    let path = path_param(p, "Path")?;
    let _tags = parse_tags(p)?;
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
            StoreError::AlreadyExists(Entity::MfaDevice) => ApiError::entity_already_exists(
                "MFADevice entity at the same path and name already exists.",
            ),
            e => store_error(e),
        })?;
    let mut x = Xml::new();
    x.nest("VirtualMFADevice", |x| {
        // `Base32StringSeed` is a blob: the base32 text, base64-encoded on the wire.
        x.elem("SerialNumber", &serial).elem(
            "Base32StringSeed",
            &base64::engine::general_purpose::STANDARD.encode(b32.expose_bytes()),
        );
    });
    Ok(Some(x))
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

pub(crate) async fn enable_mfa_device(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let user_name = p.required("UserName")?.to_owned();
    validate_existing_name("UserName", &user_name)?;
    let serial = serial_param(p)?;
    let code1 = code_param(p, "AuthenticationCode1")?;
    let code2 = code_param(p, "AuthenticationCode2")?;
    let view = cx.state.store.view();
    let user = view
        .user_by_name(cx.account(), &user_name)
        .cloned()
        .ok_or_else(|| no_such_user(&user_name))?;
    cx.authorize(&user.arn())?;
    let device = view
        .mfa
        .get(&serial)
        .filter(|d| d.account == cx.account())
        .ok_or_else(|| no_such_mfa_device(&serial))?;
    let step = consecutive_step(&device.seed, &code1, &code2, cx.info.now.timestamp()).ok_or_else(
        || ApiError::invalid_authentication_code("Authentication code for device is not valid."),
    )?;
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
            StoreError::Conflict(Conflict::MfaDeviceInUse) => {
                ApiError::entity_already_exists("MFA Device is already in use.")
            }
            e => store_error(e),
        })?;
    Ok(None)
}

pub(crate) async fn deactivate_mfa_device(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let serial = serial_param(p)?;
    let view = cx.state.store.view();
    let user_name = match cx.target_user_name(p)? {
        Some(n) => n,
        None => return Err(no_such_mfa_device(&serial)),
    };
    let user = view
        .user_by_name(cx.account(), &user_name)
        .cloned()
        .ok_or_else(|| no_such_user(&user_name))?;
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
    Ok(None)
}

pub(crate) async fn delete_virtual_mfa_device(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let serial = serial_param(p)?;
    cx.authorize(&serial)?;
    cx.state
        .store
        .apply_one(Change::DeleteVirtualMfa {
            account: cx.account().to_owned(),
            serial: serial.clone(),
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::MfaDevice) => ApiError::no_such_entity(format!(
                "VirtualMFADevice with serial number {serial} doesn't exist."
            )),
            e => store_error(e),
        })?;
    Ok(None)
}

pub(crate) fn list_mfa_devices(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let (max, marker) = paging(p)?;
    let view = cx.state.store.view();
    let user = match cx.target_user_name(p)? {
        Some(n) => Some(
            view.user_by_name(cx.account(), &n)
                .cloned()
                .ok_or_else(|| no_such_user(&n))?,
        ),
        None => None,
    };
    cx.authorize(
        &user
            .as_ref()
            .map_or_else(|| crate::auth::root_arn(cx.account()), |u| u.arn()),
    )?;
    let devices = view
        .mfa
        .values()
        .filter(|d| {
            d.account == cx.account()
                && d.enabled_at.is_some()
                && d.user_id == user.as_ref().map(|u| u.id.clone())
        })
        .filter(|d| marker.as_deref().is_none_or(|m| d.serial.as_str() > m))
        .map(|d| (d.serial.clone(), d));
    let (items, next) = page(devices, max);
    let mut x = Xml::new();
    x.list("MFADevices", items, |x, d: &MfaDevice| {
        if let Some(u) = &user {
            x.elem("UserName", &u.name);
        }
        x.elem("SerialNumber", &d.serial);
        if let Some(t) = d.enabled_at {
            x.time("EnableDate", t);
        }
    });
    write_paging(&mut x, next.as_deref());
    Ok(Some(x))
}

pub(crate) fn list_virtual_mfa_devices(cx: &Cx<'_>, p: &Params) -> ApiResult<ActionOutput> {
    let (max, marker) = paging(p)?;
    let status = p.get("AssignmentStatus").unwrap_or("Any");
    if !matches!(status, "Assigned" | "Unassigned" | "Any") {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{}' at 'assignmentStatus' failed to satisfy constraint: Member must satisfy enum value set: [Assigned, Unassigned, Any]",
            crate::http::params::sanitize(status)
        )));
    }
    cx.authorize(&cx.arn("mfa", "/", ""))?;
    let view = cx.state.store.view();
    let devices = view
        .mfa
        .values()
        .filter(|d| d.account == cx.account())
        .filter(|d| match status {
            "Assigned" => d.user_id.is_some(),
            "Unassigned" => d.user_id.is_none(),
            _ => true,
        })
        .filter(|d| marker.as_deref().is_none_or(|m| d.serial.as_str() > m))
        .map(|d| (d.serial.clone(), d));
    let (items, next) = page(devices, max);
    let mut x = Xml::new();
    x.list("VirtualMFADevices", items, |x, d: &MfaDevice| {
        x.elem("SerialNumber", &d.serial);
        if let Some(u) = d.user_id.as_ref().and_then(|id| view.users.get(id)) {
            x.nest("User", |x| write_user(x, u, false));
        }
        if let Some(t) = d.enabled_at {
            x.time("EnableDate", t);
        }
    });
    write_paging(&mut x, next.as_deref());
    Ok(Some(x))
}
