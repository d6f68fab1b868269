//! MFA code checks shared by GetSessionToken, AssumeRole and EnableMFADevice.
//!
//! A TOTP code is accepted once: the code is verified here against the device's seed, and the
//! step it matched is then recorded by one conditional update in the store, which refuses a step
//! that is not after the last accepted one. Two concurrent requests with the same code cannot
//! both pass, however many writers the store has.

use chrono::{DateTime, Utc};

use crate::credentials::totp;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::{Change, Conflict, StoreError};

/// Check `code` for the MFA device `serial` enabled for `user_id` (None: the root user) of
/// `account`, and burn it. Failures are `AccessDenied` with AWS's messages.
pub(super) async fn check_code(
    state: &AppState,
    account: &str,
    user_id: Option<&str>,
    serial: &str,
    code: &str,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let view = state.store.view();
    let device = view
        .mfa
        .get(serial)
        .filter(|d| {
            d.account == account && d.enabled_at.is_some() && d.user_id.as_deref() == user_id
        })
        .ok_or_else(|| {
            crate::iam::errors::sts_mfa_unknown_device()
                .with_detail("MFA device not enabled for this principal")
        })?;
    // Codes are looked for around the device's own time, as `ResyncMFADevice` last measured
    // its clock against ours.
    let device_now = device
        .drift_steps
        .checked_mul(totp::STEP_SECONDS as i64)
        .map(chrono::TimeDelta::seconds)
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(now);
    // The snapshot's last step may be a moment old: the store has the last word.
    let step = totp::verify(&device.seed, code, device_now, device.last_step).map_err(|e| {
        crate::iam::errors::sts_mfa_invalid_code().with_detail(format!("MFA: {e:?}"))
    })?;
    state
        .store
        .apply_one(Change::UseMfaStep {
            account: account.to_owned(),
            user_id: user_id.map(str::to_owned),
            serial: serial.to_owned(),
            step,
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(Conflict::MfaStepUsed) => {
                crate::iam::errors::sts_mfa_invalid_code()
                    .with_detail("MFA: step already used, or the device is no longer enabled")
            }
            other => other.into(),
        })?;
    Ok(())
}
