//! Virtual MFA devices (TOTP, RFC 6238): create (with the seed as base32 and as a QR code),
//! enable and resynchronize with two consecutive codes, deactivate, read, tag, list, delete.
//! See the `*MFADevice*` pages of
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_Operations.html>.
//!
//! The QR code's key URI is `otpauth://totp/tessera:<device name>@<account alias or id>` with
//! issuer `tessera` (AWS writes `Amazon Web Services:<device name>@<account>`): an
//! authenticator app then lists the device under tessera, not under AWS.

use base64::Engine as _;

use crate::credentials::totp;
use crate::error::{ApiError, ApiResult};
use crate::protocol::input::{enum_field, input, string_field};
use crate::protocol::output::Output;
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::{Change, Conflict, Entity, MfaDevice, StoreError, User};

use super::errors::{no_such_mfa_device, store_error};

use super::input::{IamPath, IamTags, Name, NewName, Paging, TagKeys};
use super::tags::TagPage;
use super::users::{find_user, write_user};
use super::{Member, Page, check_tag_quota, write_tags};

/// The issuer an authenticator app shows for tessera's devices.
const ISSUER: &str = "tessera";

/// Steps either side of now that `ResyncMFADevice` looks through for the device's two codes:
/// a device whose clock is up to ten minutes off can be brought back.
const RESYNC_WINDOW: u64 = 20;

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
        tags: IamTags = nested(),
    }
}

/// The new device's serial, seed and QR code (the only time either is shown) and its tags.
#[derive(Debug)]
pub(crate) struct CreateVirtualMfaDeviceOutput {
    serial: String,
    base32_seed: crate::credentials::Secret,
    qr_code_png: crate::credentials::Secret,
    tags: crate::store::Tags,
}

impl Output for CreateVirtualMfaDeviceOutput {
    fn write(&self, x: &mut Xml) {
        let b64 = base64::engine::general_purpose::STANDARD;
        x.nest("VirtualMFADevice", |x| {
            // Both are blobs, base64-encoded on the wire: the base32 text of the seed, and the
            // PNG image.
            x.arn("SerialNumber", &self.serial)
                .elem(
                    "Base32StringSeed",
                    &b64.encode(self.base32_seed.expose_bytes()),
                )
                .elem("QRCodePNG", &b64.encode(self.qr_code_png.expose_bytes()));
            if !self.tags.is_empty() {
                write_tags(x, &self.tags);
            }
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
    let account_name = {
        let view = cx.state.store.view();
        let alias = view
            .accounts
            .get(cx.account())
            .and_then(|a| a.alias.clone());
        format!("{name}@{}", alias.as_deref().unwrap_or(cx.account()))
    };
    let uri = totp::otpauth_uri(&account_name, ISSUER, &seed);
    let qr_code_png = crate::credentials::qr::png(uri.expose_bytes())
        .map_err(|e| ApiError::internal().with_detail(format!("QR code: {e}")))?;
    let tags = input.tags.0;
    cx.state
        .store
        .apply_one(Change::CreateVirtualMfa {
            serial: serial.clone(),
            account: cx.account().to_owned(),
            name,
            path,
            seed: seed.clone(),
            created_at: cx.info.now,
            tags: tags.clone(),
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(Entity::MfaDevice) => super::errors::mfa_device_exists(),
            e => store_error(e),
        })?;
    Ok(CreateVirtualMfaDeviceOutput {
        serial,
        base32_seed: b32,
        qr_code_png,
        tags,
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
    let user = device_owner(cx, input.user_name.as_deref())?;
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

// --- one device: read, resynchronize, tags ---------------------------------------------------

input! {
    /// `GetMFADevice`
    pub(crate) struct GetMfaDeviceInput {
        serial_number: Serial = required("SerialNumber"),
        user_name: Option<Name> = optional("UserName"),
    }
}

/// An enabled device and whom it is enabled for.
#[derive(Debug)]
pub(crate) struct GetMfaDeviceOutput {
    user_name: Option<String>,
    serial: String,
    enabled_at: chrono::DateTime<chrono::Utc>,
}

impl Output for GetMfaDeviceOutput {
    fn write(&self, x: &mut Xml) {
        // `Certifications` is for FIPS-certified hardware devices; virtual devices have none.
        x.opt("UserName", self.user_name.as_deref())
            .arn("SerialNumber", &self.serial)
            .time("EnableDate", self.enabled_at);
    }
}

/// The user a request names, or the calling user; `None`: the root, calling without `UserName`.
/// A role session or federated user must name a user (AWS's `ValidationError`): the root's
/// devices are not theirs.
fn device_owner(cx: &Cx<'_>, user_name: Option<&str>) -> ApiResult<Option<User>> {
    match cx.target_user_name(user_name) {
        Some(n) => Ok(Some(find_user(cx, &n)?)),
        None if cx.caller.is_root() => Ok(None),
        None => Err(super::errors::user_name_required()),
    }
}

/// The user a request names (or the caller itself; `None`: the root), once the caller may act
/// on it, and the device `serial` enabled for it.
fn enabled_device_of(
    cx: &Cx<'_>,
    user_name: Option<&str>,
    serial: &str,
) -> ApiResult<(Option<User>, MfaDevice)> {
    let user = device_owner(cx, user_name)?;
    cx.authorize(
        &user
            .as_ref()
            .map_or_else(|| crate::identity::root_arn(cx.account()), User::arn),
    )?;
    let user_id = user.as_ref().map(|u| u.id.as_str());
    let device = cx
        .state
        .store
        .view()
        .mfa
        .get(serial)
        .filter(|d| {
            d.account == cx.account() && d.enabled_at.is_some() && d.user_id.as_deref() == user_id
        })
        .cloned()
        .ok_or_else(|| no_such_mfa_device(serial))?;
    Ok((user, device))
}

pub(crate) async fn get_mfa_device(
    cx: &Cx<'_>,
    input: GetMfaDeviceInput,
) -> ApiResult<GetMfaDeviceOutput> {
    let (user, device) = enabled_device_of(cx, input.user_name.as_deref(), &input.serial_number)?;
    let enabled_at = device
        .enabled_at
        .ok_or_else(|| no_such_mfa_device(&device.serial))?;
    Ok(GetMfaDeviceOutput {
        user_name: user.map(|u| u.name),
        serial: device.serial,
        enabled_at,
    })
}

input! {
    /// `ResyncMFADevice`
    pub(crate) struct ResyncMfaDeviceInput {
        user_name: Name = required("UserName"),
        serial_number: Serial = required("SerialNumber"),
        authentication_code1: AuthenticationCode = required("AuthenticationCode1"),
        authentication_code2: AuthenticationCode = required("AuthenticationCode2"),
    }
}

/// Where two consecutive codes put the device's clock: the step `s + 1` of the second code
/// (codes of `s` and `s + 1` within [`RESYNC_WINDOW`] steps of `now`) and how many steps that
/// is ahead of `now`'s.
fn resync_point(
    seed: &crate::credentials::Secret,
    code1: &str,
    code2: &str,
    now: i64,
) -> Option<(u64, i64)> {
    let current = u64::try_from(now).ok()? / totp::STEP_SECONDS;
    let step = (current.saturating_sub(RESYNC_WINDOW)..=current + RESYNC_WINDOW).find(|&s| {
        totp::code_at(seed, s * totp::STEP_SECONDS).as_str() == code1
            && totp::code_at(seed, (s + 1) * totp::STEP_SECONDS).as_str() == code2
    })? + 1;
    let drift = i64::try_from(step).ok()? - i64::try_from(current).ok()?;
    Some((step, drift))
}

pub(crate) async fn resync_mfa_device(cx: &Cx<'_>, input: ResyncMfaDeviceInput) -> ApiResult<()> {
    let serial = input.serial_number.into_string();
    let (user, device) = enabled_device_of(cx, Some(&input.user_name), &serial)?;
    let user = user.ok_or_else(|| no_such_mfa_device(&serial))?;
    let (step, drift_steps) = resync_point(
        &device.seed,
        &input.authentication_code1,
        &input.authentication_code2,
        cx.info.now.timestamp(),
    )
    // Codes already accepted once are not accepted again, for this either.
    .filter(|(step, _)| device.last_step.is_none_or(|last| *step > last))
    .ok_or_else(super::errors::invalid_authentication_code)?;
    cx.state
        .store
        .apply_one(Change::ResyncMfa {
            account: cx.account().to_owned(),
            user_id: user.id,
            serial: serial.clone(),
            step,
            drift_steps,
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::MfaDevice) => no_such_mfa_device(&serial),
            e => store_error(e),
        })?;
    Ok(())
}

/// The virtual device `serial` of the caller's account, once the caller may act on it (with
/// its tags as `aws:ResourceTag/*`).
fn authorized_device(cx: &Cx<'_>, serial: &str) -> ApiResult<MfaDevice> {
    let device = cx
        .state
        .store
        .view()
        .mfa
        .get(serial)
        .filter(|d| d.account == cx.account())
        .cloned()
        .ok_or_else(|| no_such_mfa_device(serial))?;
    cx.authorize_tagged(serial, &device.tags)?;
    Ok(device)
}

fn device_error(e: StoreError, serial: &str) -> ApiError {
    match e {
        StoreError::NotFound(Entity::MfaDevice) => no_such_mfa_device(serial),
        e => store_error(e),
    }
}

input! {
    /// `TagMFADevice`
    pub(crate) struct TagMfaDeviceInput {
        serial_number: Serial = required("SerialNumber"),
        tags: IamTags = nested(),
    }
    check(this) {
        if this.tags.0.is_empty() {
            return Err(ApiError::missing_parameter("Tags"));
        }
        Ok(())
    }
}

pub(crate) async fn tag_mfa_device(cx: &Cx<'_>, input: TagMfaDeviceInput) -> ApiResult<()> {
    let serial = input.serial_number.into_string();
    let device = authorized_device(cx, &serial)?;
    let tags = input.tags.0;
    check_tag_quota(&device.tags, &tags, "TagsPerMFADevice")?;
    cx.state
        .store
        .apply_one(Change::TagMfaDevice {
            account: cx.account().to_owned(),
            serial: serial.clone(),
            tags,
        })
        .await
        .map_err(|e| device_error(e, &serial))?;
    Ok(())
}

input! {
    /// `UntagMFADevice`
    pub(crate) struct UntagMfaDeviceInput {
        serial_number: Serial = required("SerialNumber"),
        tag_keys: TagKeys = nested(),
    }
    check(this) {
        if this.tag_keys.0.is_empty() {
            return Err(ApiError::missing_parameter("TagKeys"));
        }
        Ok(())
    }
}

pub(crate) async fn untag_mfa_device(cx: &Cx<'_>, input: UntagMfaDeviceInput) -> ApiResult<()> {
    let serial = input.serial_number.into_string();
    authorized_device(cx, &serial)?;
    cx.state
        .store
        .apply_one(Change::UntagMfaDevice {
            account: cx.account().to_owned(),
            serial: serial.clone(),
            keys: input.tag_keys.0,
        })
        .await
        .map_err(|e| device_error(e, &serial))?;
    Ok(())
}

input! {
    /// `ListMFADeviceTags`
    pub(crate) struct ListMfaDeviceTagsInput {
        serial_number: Serial = required("SerialNumber"),
        paging: Paging = nested(),
    }
}

pub(crate) async fn list_mfa_device_tags(
    cx: &Cx<'_>,
    input: ListMfaDeviceTagsInput,
) -> ApiResult<TagPage> {
    let device = authorized_device(cx, &input.serial_number)?;
    Ok(TagPage::of(&device.tags, &input.paging))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(seed: &crate::credentials::Secret, step: u64) -> String {
        totp::code_at(seed, step * totp::STEP_SECONDS)
    }

    #[test]
    fn resync_finds_a_drifted_clock_within_the_window() {
        let seed = totp::generate_seed().unwrap();
        let now = 1_800_000_000i64;
        let current = 1_800_000_000 / totp::STEP_SECONDS;
        // A phone 7 steps (3.5 minutes) behind, and one 12 steps ahead.
        for offset in [-7i64, 12, 0, -20, 19] {
            let s = current.checked_add_signed(offset).unwrap();
            let got = resync_point(&seed, &code(&seed, s), &code(&seed, s + 1), now);
            assert_eq!(got, Some((s + 1, offset + 1)), "offset {offset}");
        }
        // Beyond the window: not found (unless, one in a million per step, the first code
        // also belongs to a step inside it).
        let far = current + RESYNC_WINDOW + 5;
        let (c1, c2) = (code(&seed, far), code(&seed, far + 1));
        let window = current - RESYNC_WINDOW..=current + RESYNC_WINDOW + 1;
        if window.clone().all(|s| code(&seed, s) != c1) {
            assert_eq!(resync_point(&seed, &c1, &c2, now), None);
        }
    }
}
