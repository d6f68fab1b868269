//! The action table: which `Action` names exist for which service, which are unsigned, and
//! where each is handled. One row per action.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::http::params::Params;
use crate::http::{ActionOutput, RequestInfo, Service};
use crate::server::AppState;
use crate::{iam, sts};

/// STS actions tessera answers.
pub const STS_ACTIONS: &[&str] = &["GetCallerIdentity", "GetSessionToken", "AssumeRole"];

/// IAM actions tessera answers.
pub const IAM_ACTIONS: &[&str] = iam::ACTIONS;

/// Actions real clients send without any signature (`auth: smithy.api#noAuth`).
const UNSIGNED: &[&str] = &["AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"];

pub fn exists(service: Service, action: &str) -> bool {
    match service {
        Service::Sts => STS_ACTIONS.contains(&action),
        Service::Iam => IAM_ACTIONS.contains(&action),
    }
}

pub fn is_unsigned(service: Service, action: &str) -> bool {
    service == Service::Sts && UNSIGNED.contains(&action)
}

pub async fn dispatch(
    state: &AppState,
    caller: Option<&Caller>,
    params: &Params,
    info: &RequestInfo,
) -> ApiResult<ActionOutput> {
    match info.service {
        Service::Sts => {
            let caller = caller.ok_or_else(ApiError::missing_authentication_token)?;
            match info.action.as_str() {
                "GetCallerIdentity" => sts::get_caller_identity(caller),
                "GetSessionToken" => sts::get_session_token(state, caller, params, info).await,
                "AssumeRole" => sts::assume_role(state, caller, params, info).await,
                other => Err(ApiError::invalid_action(other, "2011-06-15")),
            }
        }
        Service::Iam => {
            let caller = caller.ok_or_else(ApiError::missing_authentication_token)?;
            iam::dispatch(state, caller, params, info).await
        }
    }
}
