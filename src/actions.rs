//! Dispatch: the action table (`crate::protocol::action_table`) expanded into one `match` from
//! [`Action`] to its handler. For each action: read the typed input from the parameters, call
//! the handler with the caller the table says it gets, and render the typed output.

use crate::error::{ApiError, ApiResult};
use crate::identity::Caller;
use crate::protocol::input;
use crate::protocol::output::{Output, render};
use crate::protocol::params::Params;
use crate::protocol::{Action, action_table};
use crate::request::Anonymous;
use crate::request::{Cx, RequestInfo};
use crate::state::AppState;
#[allow(
    unused_imports,
    reason = "handler paths in the action table are relative to here"
)]
use crate::{iam, sts};

/// One arm of the dispatch `match`.
macro_rules! dispatch_arm {
    // A signed action: the caller was authenticated at the edge.
    (Signed typed $handler:path, $state:expr, $caller:expr, $params:expr, $info:expr) => {{
        let caller = $caller
            .signed()
            .ok_or_else(ApiError::missing_authentication_token)?;
        let cx = Cx {
            state: $state,
            caller,
            info: $info,
        };
        let input = input::parse($params)?;
        respond($info, &$handler(&cx, input).await?)
    }};
    // An unsigned action: nobody was authenticated; who is asking follows from the input.
    (Unsigned typed $handler:path, $state:expr, $caller:expr, $params:expr, $info:expr) => {{
        let cx = Cx {
            state: $state,
            caller: &Anonymous,
            info: $info,
        };
        let input = input::parse($params)?;
        respond($info, &$handler(&cx, input).await?)
    }};
}

macro_rules! define_dispatch {
    ($($service:ident $name:ident $auth:ident $audit:ident $kind:ident $handler:path;)*) => {
        /// Run the action `info.action` and return the whole response document.
        pub(crate) async fn dispatch(
            state: &AppState,
            caller: &Caller,
            params: &Params,
            info: &RequestInfo,
        ) -> ApiResult<String> {
            match info.action {
                $(Action::$name => dispatch_arm!($auth $kind $handler, state, caller, params, info),)*
            }
        }
    };
}

action_table!(define_dispatch);

fn respond(info: &RequestInfo, out: &impl Output) -> ApiResult<String> {
    Ok(render(
        info.action.name(),
        info.action.service().namespace(),
        out,
        &info.request_id,
        info.partition(),
    ))
}
