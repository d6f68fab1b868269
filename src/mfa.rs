//! MFA code checks shared by GetSessionToken, AssumeRole and EnableMFADevice.
//!
//! A TOTP code is accepted once: the matched time step is recorded in the same transaction that
//! checks it, so two concurrent requests with the same code cannot both pass.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use crate::credentials::totp;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::WriteKind;

pub const INVALID_CODE: &str =
    "MultiFactorAuthentication failed with invalid MFA one time pass code. ";
pub const UNKNOWN_DEVICE: &str = "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.";

/// Check `code` for the MFA device `serial` enabled for `user_id` (None: the root user) of
/// `account`, and burn it. Failures are `AccessDenied` with AWS's messages.
pub async fn check_code(
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
            ApiError::access_denied(UNKNOWN_DEVICE)
                .with_detail("MFA device not enabled for this principal")
        })?;
    let seed = device.seed.clone();
    let serial = serial.to_owned();
    let code = code.to_owned();
    state
        .store
        .write(WriteKind::Iam, move |tx| {
            let last: Option<Option<i64>> = tx
                .query_row(
                    "SELECT last_step FROM mfa_devices WHERE serial = ?1",
                    [&serial],
                    |r| r.get(0),
                )
                .optional()?;
            let last = last.ok_or_else(|| ApiError::access_denied(UNKNOWN_DEVICE))?;
            let last = last.and_then(|v| u64::try_from(v).ok());
            let step = totp::verify(&seed, &code, now, last).map_err(|e| {
                ApiError::access_denied(INVALID_CODE.trim_end()).with_detail(format!("MFA: {e:?}"))
            })?;
            tx.execute(
                "UPDATE mfa_devices SET last_step = ?1 WHERE serial = ?2",
                params![i64::try_from(step).unwrap_or(i64::MAX), serial],
            )?;
            Ok(())
        })
        .await
}
