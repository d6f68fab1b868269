//! Console identity: users' console passwords (`CreateLoginProfile`, `GetLoginProfile`,
//! `UpdateLoginProfile`, `DeleteLoginProfile`, `ChangePassword`) and the account's password
//! policy (`UpdateAccountPasswordPolicy`, `GetAccountPasswordPolicy`,
//! `DeleteAccountPasswordPolicy`). See the API reference pages of each, e.g.
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateLoginProfile.html>.
//!
//! A password is checked against the account's policy (or IAM's default policy when there is
//! none), hashed off the async threads ([`crate::credentials::password`]) and stored as a hash
//! only; no answer, log line or audit record ever carries it. The root user has no login
//! profile here: root's console password is not managed through these actions.

use crate::credentials::SessionSource;
use crate::credentials::password::{self, PasswordHash, Rules, Violation};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::principal::Principal;
use crate::protocol::input::{Field, input};
use crate::protocol::output::Output;
use crate::protocol::params::Validator;
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::{Change, Entity, LoginProfile, PasswordPolicy, StoreError, User};
use crate::wipe::Wiped;

use super::errors::{
    invalid_user_type, login_profile_exists, no_such_login_profile, no_such_password_policy_delete,
    no_such_password_policy_get, password_policy_violation, store_error, too_many_password_changes,
    user_name_required, wrong_old_password,
};
use super::input::Name;
use super::users::find_user;

/// Password hashes kept per user: the largest `PasswordReusePrevention` IAM accepts.
const HISTORY: usize = 24;

/// Wrong `OldPassword`s a user may send within [`FAILED_CHANGE_WINDOW`] before `ChangePassword`
/// is refused (`LimitExceeded`, one of the codes the API reference lists for it) until the
/// window has passed: whoever holds a user's access keys could otherwise use `ChangePassword`
/// to guess its console password at the speed of the server.
const MAX_FAILED_CHANGES: u32 = 5;
const FAILED_CHANGE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// Per user id: failed attempts and when the first of them was. In memory: a restart forgets
/// it, which only restores a few guesses.
type Attempts = std::collections::HashMap<String, (u32, chrono::DateTime<chrono::Utc>)>;
static FAILED_CHANGES: std::sync::LazyLock<std::sync::Mutex<Attempts>> =
    std::sync::LazyLock::new(Default::default);

/// Whether `user_id` has used up its wrong attempts at `now`.
fn change_attempts_exhausted(user_id: &str, now: chrono::DateTime<chrono::Utc>) -> bool {
    let Ok(map) = FAILED_CHANGES.lock() else {
        return true;
    };
    map.get(user_id)
        .is_some_and(|(n, since)| *n >= MAX_FAILED_CHANGES && now - *since < FAILED_CHANGE_WINDOW)
}

/// Record a wrong `OldPassword` (`ok` false) or forget the user's failures (`ok` true).
fn record_change_attempt(user_id: &str, ok: bool, now: chrono::DateTime<chrono::Utc>) {
    let Ok(mut map) = FAILED_CHANGES.lock() else {
        return;
    };
    if ok {
        map.remove(user_id);
        return;
    }
    if map.len() >= 100_000 {
        map.retain(|_, (_, since)| now - *since < FAILED_CHANGE_WINDOW);
    }
    let e = map.entry(user_id.to_owned()).or_insert((0, now));
    if now - e.1 >= FAILED_CHANGE_WINDOW {
        *e = (0, now);
    }
    e.0 = e.0.saturating_add(1);
}

const PASSWORD_PATTERN: &str = r"[\u0009\u000A\u000D\u0020-\u00FF]+";

fn is_password_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}')
}

/// A password parameter (`Password`, `OldPassword`, `NewPassword`): 1..128 of
/// `[\u0009\u000A\u000D\u0020-\u00FF]`, checked without echoing it; redacted `Debug`, wiped on
/// drop.
#[derive(Clone)]
pub(crate) struct PasswordParam(Wiped<String>);

impl std::fmt::Debug for PasswordParam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordParam(<redacted>)")
    }
}

impl Field for PasswordParam {
    fn read(name: &str, raw: &str, v: &mut Validator) -> ApiResult<Self> {
        v.sensitive_length(name, raw, 1, 128).sensitive_pattern(
            name,
            raw,
            PASSWORD_PATTERN,
            is_password_char,
        );
        Ok(Self(Wiped::new(raw.to_owned())))
    }
}

impl PasswordParam {
    fn text(&self) -> &str {
        &self.0
    }

    fn secret(&self) -> Wiped<String> {
        self.0.clone()
    }
}

/// The rules a new password must meet in `account`.
fn rules(policy: Option<&PasswordPolicy>) -> Rules {
    match policy {
        None => Rules::Default,
        Some(p) => Rules::Policy {
            minimum_length: p.minimum_length,
            require_symbols: p.require_symbols,
            require_numbers: p.require_numbers,
            require_uppercase: p.require_uppercase,
            require_lowercase: p.require_lowercase,
        },
    }
}

fn hashing_failed(e: password::PasswordError) -> ApiError {
    ApiError::internal().with_detail(format!("password hashing: {e}"))
}

fn violation(v: Violation) -> ApiError {
    password_policy_violation().with_detail(format!("password refused: {v}"))
}

/// Check a new password against the account's rules and, for a user who has had passwords,
/// against the newest `PasswordReusePrevention` of them; then hash it.
async fn accept_new_password(
    cx: &Cx<'_>,
    password: &PasswordParam,
    history: &[PasswordHash],
) -> ApiResult<PasswordHash> {
    let view = cx.state.store.view();
    let policy = view.password_policies.get(cx.account()).cloned();
    drop(view);
    rules(policy.as_ref())
        .check(password.text())
        .map_err(violation)?;
    let reuse = policy
        .as_ref()
        .and_then(|p| p.reuse_prevention)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    let recent: Vec<PasswordHash> = history.iter().take(reuse).cloned().collect();
    if !recent.is_empty()
        && password::matches_off_thread(password.secret(), recent)
            .await
            .map_err(hashing_failed)?
            .is_some()
    {
        return Err(violation(Violation::Reused));
    }
    password::hash_off_thread(password.secret())
        .await
        .map_err(hashing_failed)
}

/// The user a `UserName`-optional action is about: the named one, else the calling IAM user.
/// Other callers must name one (root would need an `AssumeRoot` session, which tessera does
/// not issue).
fn profile_owner(cx: &Cx<'_>, named: Option<&str>) -> ApiResult<User> {
    match named {
        Some(n) => find_user(cx, n),
        None => match cx.caller.principal().user_name() {
            Some(n) => find_user(cx, n),
            None => Err(user_name_required()),
        },
    }
}

/// `<LoginProfile>`, as `CreateLoginProfile` and `GetLoginProfile` answer.
#[derive(Debug)]
pub(crate) struct LoginProfileOutput {
    user_name: String,
    created: chrono::DateTime<chrono::Utc>,
    reset_required: bool,
}

impl Output for LoginProfileOutput {
    fn write(&self, x: &mut Xml) {
        x.nest("LoginProfile", |x| {
            x.elem("UserName", &self.user_name)
                .time("CreateDate", self.created)
                .boolean("PasswordResetRequired", self.reset_required);
        });
    }
}

input! {
    /// `CreateLoginProfile`
    pub(crate) struct CreateLoginProfileInput {
        user_name: Option<Name> = optional("UserName"),
        password: Option<PasswordParam> = optional("Password"),
        password_reset_required: Option<bool> = optional("PasswordResetRequired"),
    }
}

pub(crate) async fn create_login_profile(
    cx: &Cx<'_>,
    input: CreateLoginProfileInput,
) -> ApiResult<LoginProfileOutput> {
    let user = profile_owner(cx, input.user_name.as_deref())?;
    cx.authorize_tagged(&user.arn(), &user.tags)?;
    // Optional in the model only for AssumeRoot sessions, which must leave it out.
    let password = input
        .password
        .ok_or_else(|| ApiError::missing_parameter("Password"))?;
    let view = cx.state.store.view();
    if view.login_profiles.contains_key(&user.id) {
        return Err(login_profile_exists(&user.name));
    }
    drop(view);
    let history = history_of(cx, &user);
    let hash = accept_new_password(cx, &password, &history).await?;
    let reset_required = input.password_reset_required.unwrap_or(false);
    let now = cx.info.now;
    cx.state
        .store
        .apply_one(Change::CreateLoginProfile {
            user_id: user.id.clone(),
            hash,
            created_at: now,
            reset_required,
            keep_history: HISTORY,
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(Entity::LoginProfile) => login_profile_exists(&user.name),
            StoreError::NotFound(Entity::User) => super::errors::no_such_user(&user.name),
            e => store_error(e),
        })?;
    Ok(LoginProfileOutput {
        user_name: user.name,
        created: now,
        reset_required,
    })
}

input! {
    /// `GetLoginProfile`, `DeleteLoginProfile`
    pub(crate) struct LoginProfileInput {
        user_name: Option<Name> = optional("UserName"),
    }
}

/// The user's password hashes, newest first.
fn history_of(cx: &Cx<'_>, user: &User) -> Vec<PasswordHash> {
    cx.state
        .store
        .view()
        .password_history
        .get(&user.id)
        .cloned()
        .unwrap_or_default()
}

fn find_profile(cx: &Cx<'_>, user: &User) -> ApiResult<LoginProfile> {
    cx.state
        .store
        .view()
        .login_profiles
        .get(&user.id)
        .cloned()
        .ok_or_else(|| no_such_login_profile(&user.name))
}

pub(crate) async fn get_login_profile(
    cx: &Cx<'_>,
    input: LoginProfileInput,
) -> ApiResult<LoginProfileOutput> {
    let user = profile_owner(cx, input.user_name.as_deref())?;
    cx.authorize_tagged(&user.arn(), &user.tags)?;
    let p = find_profile(cx, &user)?;
    Ok(LoginProfileOutput {
        user_name: user.name,
        created: p.created_at,
        reset_required: p.reset_required,
    })
}

pub(crate) async fn delete_login_profile(cx: &Cx<'_>, input: LoginProfileInput) -> ApiResult<()> {
    let user = profile_owner(cx, input.user_name.as_deref())?;
    cx.authorize_tagged(&user.arn(), &user.tags)?;
    cx.state
        .store
        .apply_one(Change::DeleteLoginProfile {
            user_id: user.id.clone(),
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::LoginProfile) => no_such_login_profile(&user.name),
            e => store_error(e),
        })?;
    Ok(())
}

input! {
    /// `UpdateLoginProfile`
    pub(crate) struct UpdateLoginProfileInput {
        user_name: Name = required("UserName"),
        password: Option<PasswordParam> = optional("Password"),
        password_reset_required: Option<bool> = optional("PasswordResetRequired"),
    }
}

pub(crate) async fn update_login_profile(
    cx: &Cx<'_>,
    input: UpdateLoginProfileInput,
) -> ApiResult<()> {
    let user = find_user(cx, &input.user_name)?;
    cx.authorize_tagged(&user.arn(), &user.tags)?;
    find_profile(cx, &user)?;
    let history = history_of(cx, &user);
    let hash = match &input.password {
        Some(p) => Some(accept_new_password(cx, p, &history).await?),
        None => None,
    };
    cx.state
        .store
        .apply_one(Change::UpdateLoginProfile {
            user_id: user.id.clone(),
            hash,
            reset_required: input.password_reset_required,
            changed_at: cx.info.now,
            keep_history: HISTORY,
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::LoginProfile) => no_such_login_profile(&user.name),
            e => store_error(e),
        })?;
    Ok(())
}

input! {
    /// `ChangePassword`
    pub(crate) struct ChangePasswordInput {
        old_password: PasswordParam = required("OldPassword"),
        new_password: PasswordParam = required("NewPassword"),
    }
}

/// Whether a policy that applies to the caller explicitly denies `iam:ChangePassword` on
/// `resource` (an account policy that lets users change their password grants no more than
/// an allowing policy would: an explicit deny still wins).
fn explicitly_denied(cx: &Cx<'_>, resource: &str) -> bool {
    let view = cx.state.store.view();
    let resource = cx.info.partition().rewrite(resource).into_owned();
    let ctx = crate::authorization::context_for(
        &view,
        cx.caller,
        "iam:ChangePassword",
        &resource,
        cx.info,
    )
    .build();
    let eval = crate::authorization::evaluate_identity(&view, cx.caller, &ctx);
    matches!(eval.reason, crate::policy::Reason::ExplicitDenyIn(_))
}

/// `ChangePassword`: an IAM user changes its own password, with the old one. Allowed by
/// `iam:ChangePassword` on the user's own ARN, or for every user by the account password
/// policy's `AllowUsersToChangePassword` (IAM User Guide, "Permit IAM users to change their own
/// passwords"), unless a policy explicitly denies it.
pub(crate) async fn change_password(cx: &Cx<'_>, input: ChangePasswordInput) -> ApiResult<()> {
    let Principal::User { user_id, .. } = cx.caller.principal() else {
        return Err(invalid_user_type());
    };
    let view = cx.state.store.view();
    let user = view
        .users
        .get(user_id)
        .cloned()
        .ok_or_else(|| ApiError::internal().with_detail("caller's user is gone"))?;
    let allow_all = view
        .password_policies
        .get(cx.account())
        .is_some_and(|p| p.allow_users_to_change);
    drop(view);
    let arn = user.arn();
    let gst_without_mfa = cx.caller.session().is_some_and(|s| {
        matches!(s.source, SessionSource::GetSessionToken) && s.mfa_authenticated_at.is_none()
    });
    match cx.authorize_tagged(&arn, &user.tags) {
        Ok(()) => {}
        Err(e)
            if allow_all
                && !gst_without_mfa
                && e.code == ErrorCode::AccessDenied
                && !explicitly_denied(cx, &arn) => {}
        Err(e) => return Err(e),
    }
    let profile = find_profile(cx, &user)?;
    let now = cx.info.now;
    if change_attempts_exhausted(&user.id, now) {
        return Err(too_many_password_changes());
    }
    let current = vec![profile.hash.clone()];
    let old_ok = password::matches_off_thread(input.old_password.secret(), current)
        .await
        .map_err(hashing_failed)?
        .is_some();
    record_change_attempt(&user.id, old_ok, now);
    if !old_ok {
        return Err(wrong_old_password(&cx.caller.arn_in(cx.info.partition()))
            .with_detail("ChangePassword: OldPassword does not match"));
    }
    let hash = accept_new_password(cx, &input.new_password, &history_of(cx, &user)).await?;
    cx.state
        .store
        .apply_one(Change::UpdateLoginProfile {
            user_id: user.id.clone(),
            hash: Some(hash),
            // A password the user chose is no longer one that must be reset.
            reset_required: Some(false),
            changed_at: cx.info.now,
            keep_history: HISTORY,
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::LoginProfile) => no_such_login_profile(&user.name),
            e => store_error(e),
        })?;
    Ok(())
}

// --- the account password policy --------------------------------------------------------------

/// An integer parameter of the password policy: IAM reports a value out of range without
/// echoing it (`Value at 'minimumPasswordLength' failed to satisfy constraint: ...`, as
/// recorded against IAM).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PolicyInt<const MIN: i64, const MAX: i64>(u32);

impl<const MIN: i64, const MAX: i64> Field for PolicyInt<MIN, MAX> {
    fn read(name: &str, raw: &str, v: &mut Validator) -> ApiResult<Self> {
        let n = i64::read(name, raw, v)?;
        v.quiet_range(name, n, MIN, MAX);
        Ok(Self(u32::try_from(n.clamp(0, MAX)).unwrap_or(0)))
    }
}

input! {
    /// `UpdateAccountPasswordPolicy`. Fields are read in the order IAM reports their
    /// violations.
    pub(crate) struct UpdateAccountPasswordPolicyInput {
        minimum_password_length: Option<PolicyInt<6, 128>> = optional("MinimumPasswordLength"),
        password_reuse_prevention: Option<PolicyInt<1, 24>> = optional("PasswordReusePrevention"),
        max_password_age: Option<PolicyInt<1, 1095>> = optional("MaxPasswordAge"),
        require_symbols: Option<bool> = optional("RequireSymbols"),
        require_numbers: Option<bool> = optional("RequireNumbers"),
        require_uppercase_characters: Option<bool> = optional("RequireUppercaseCharacters"),
        require_lowercase_characters: Option<bool> = optional("RequireLowercaseCharacters"),
        allow_users_to_change_password: Option<bool> = optional("AllowUsersToChangePassword"),
        hard_expiry: Option<bool> = optional("HardExpiry"),
    }
}

/// Not a partial update: whatever is left out takes its default (API reference).
pub(crate) async fn update_account_password_policy(
    cx: &Cx<'_>,
    input: UpdateAccountPasswordPolicyInput,
) -> ApiResult<()> {
    cx.authorize("*")?;
    let policy = PasswordPolicy {
        minimum_length: input.minimum_password_length.map_or(6, |n| n.0),
        require_symbols: input.require_symbols.unwrap_or(false),
        require_numbers: input.require_numbers.unwrap_or(false),
        require_uppercase: input.require_uppercase_characters.unwrap_or(false),
        require_lowercase: input.require_lowercase_characters.unwrap_or(false),
        allow_users_to_change: input.allow_users_to_change_password.unwrap_or(false),
        max_age_days: input.max_password_age.map(|n| n.0),
        reuse_prevention: input.password_reuse_prevention.map(|n| n.0),
        hard_expiry: input.hard_expiry,
    };
    cx.state
        .store
        .apply_one(Change::SetPasswordPolicy {
            account: cx.account().to_owned(),
            policy,
        })
        .await
        .map_err(store_error)?;
    Ok(())
}

input! {
    /// `GetAccountPasswordPolicy`, `DeleteAccountPasswordPolicy`
    pub(crate) struct AccountPasswordPolicyInput {}
}

/// `<PasswordPolicy>`: the numbers that were never set are left out, as IAM leaves them out.
#[derive(Debug)]
pub(crate) struct PasswordPolicyOutput(PasswordPolicy);

impl Output for PasswordPolicyOutput {
    fn write(&self, x: &mut Xml) {
        let p = &self.0;
        x.nest("PasswordPolicy", |x| {
            x.num("MinimumPasswordLength", p.minimum_length)
                .boolean("RequireSymbols", p.require_symbols)
                .boolean("RequireNumbers", p.require_numbers)
                .boolean("RequireUppercaseCharacters", p.require_uppercase)
                .boolean("RequireLowercaseCharacters", p.require_lowercase)
                .boolean("AllowUsersToChangePassword", p.allow_users_to_change)
                .boolean("ExpirePasswords", p.max_age_days.is_some_and(|d| d > 0));
            if let Some(d) = p.max_age_days {
                x.num("MaxPasswordAge", d);
            }
            if let Some(n) = p.reuse_prevention {
                x.num("PasswordReusePrevention", n);
            }
            if let Some(h) = p.hard_expiry {
                x.boolean("HardExpiry", h);
            }
        });
    }
}

pub(crate) async fn get_account_password_policy(
    cx: &Cx<'_>,
    _: AccountPasswordPolicyInput,
) -> ApiResult<PasswordPolicyOutput> {
    cx.authorize("*")?;
    let view = cx.state.store.view();
    view.password_policies
        .get(cx.account())
        .cloned()
        .map(PasswordPolicyOutput)
        .ok_or_else(|| no_such_password_policy_get(cx.account()))
}

pub(crate) async fn delete_account_password_policy(
    cx: &Cx<'_>,
    _: AccountPasswordPolicyInput,
) -> ApiResult<()> {
    cx.authorize("*")?;
    cx.state
        .store
        .apply_one(Change::DeletePasswordPolicy {
            account: cx.account().to_owned(),
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::PasswordPolicy) => no_such_password_policy_delete(),
            e => store_error(e),
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::input::parse;
    use crate::protocol::params::Params;

    fn read<T: crate::protocol::input::Input>(q: &str) -> ApiResult<T> {
        parse(&Params::parse(q.as_bytes(), None).unwrap())
    }

    #[test]
    fn passwords_are_never_echoed() {
        let e = read::<ChangePasswordInput>("OldPassword=&NewPassword=s3cr%01t").unwrap_err();
        assert_eq!(e.code, ErrorCode::ValidationError);
        assert!(!e.message.contains("s3cr"), "{}", e.message);
        assert!(
            e.message.starts_with("2 validation errors detected: "),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("Value at 'oldPassword'"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("Value at 'newPassword'"),
            "{}",
            e.message
        );
        let long = "a".repeat(129);
        let e =
            read::<CreateLoginProfileInput>(&format!("UserName=u&Password={long}")).unwrap_err();
        assert!(!e.message.contains(&long));
        assert!(
            e.message
                .contains("Member must have length less than or equal to 128")
        );
        // Outside U+0000..U+00FF.
        let e = read::<CreateLoginProfileInput>("UserName=u&Password=zqx%E2%82%ACkw").unwrap_err();
        assert!(e.message.contains(PASSWORD_PATTERN), "{}", e.message);
        assert!(!e.message.contains("zqx"), "{}", e.message);
        let ok = read::<ChangePasswordInput>("OldPassword=%09x%C3%BF&NewPassword=y").unwrap();
        assert_eq!(ok.old_password.text(), "\tx\u{ff}");
        assert_eq!(format!("{ok:?}").matches("<redacted>").count(), 2);
        assert!(!format!("{ok:?}").contains('y'));
    }

    #[test]
    fn policy_numbers_are_reported_as_iam_does() {
        let e = read::<UpdateAccountPasswordPolicyInput>(
            "MaxPasswordAge=1096&MinimumPasswordLength=129&PasswordReusePrevention=25",
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "3 validation errors detected: Value at 'minimumPasswordLength' failed to satisfy constraint: Member must have value less than or equal to 128; Value at 'passwordReusePrevention' failed to satisfy constraint: Member must have value less than or equal to 24; Value at 'maxPasswordAge' failed to satisfy constraint: Member must have value less than or equal to 1095"
        );
        let e = read::<UpdateAccountPasswordPolicyInput>("MinimumPasswordLength=5").unwrap_err();
        assert!(
            e.message.contains("greater than or equal to 6"),
            "{}",
            e.message
        );
        let e = read::<UpdateAccountPasswordPolicyInput>("RequireSymbols=maybe").unwrap_err();
        assert_eq!(e.code, ErrorCode::ValidationError);
    }
}
