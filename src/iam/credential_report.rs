//! The account's credential report (`GenerateCredentialReport`, `GetCredentialReport`): one CSV
//! row for the root and one for each IAM user, saying which credentials each has and how old
//! and how recently used they are, the file security scanners read. See
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html> and the
//! API reference pages of both actions.
//!
//! A report is made at most once per [`REPORT_LIFETIME`] per account: generating while a younger
//! one exists answers `COMPLETE` and keeps it; otherwise a new one is made (`STARTED`) before
//! the answer, so a `GetCredentialReport` right after never meets AWS's `ReportInProgress`.
//! `GetCredentialReport` answers the report while it is younger than that, `ReportExpired`
//! after, `ReportNotPresent` before the first. Reports are kept per account (migration 15) and
//! survive restarts; they hold no secret.
//!
//! The cells use AWS's tokens: `not_supported` for what the root's row cannot say
//! (`password_enabled`, `password_last_changed`, `password_next_rotation`), `N/A` for a
//! credential that is not there (or a key never used), `no_information` for a password that was
//! never used: tessera has no console, so no password ever is, the root's included. Booleans are
//! `true` / `false` and times ISO 8601 with a `+00:00` offset, as AWS writes them.

use std::collections::HashMap;

use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};

use crate::error::{ApiError, ApiResult};
use crate::protocol::input::input;
use crate::protocol::output::Output;
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::key_usage::KeyUsage;
use crate::store::{CredentialReport, Snapshot};

use super::errors::{report_expired, report_not_present, store_error};

/// How long a report is answered, and how long before another one is made (AWS's four hours).
pub(crate) const REPORT_LIFETIME: TimeDelta = TimeDelta::hours(4);

/// `GenerateCredentialReport`'s `Description` when it starts a new report (AWS's words).
const STARTED: &str = "No report exists. Starting a new report generation task";

/// The header row: AWS's columns, in AWS's order.
pub(crate) const COLUMNS: [&str; 22] = [
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
];

const NOT_SUPPORTED: &str = "not_supported";
const NOT_APPLICABLE: &str = "N/A";
const NO_INFORMATION: &str = "no_information";

/// Whether a report made at `generated_at` is still the account's report at `now`.
fn is_current(generated_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now < generated_at + REPORT_LIFETIME
}

/// `2024-05-01T12:00:00+00:00`: seconds, UTC written as an offset (AWS's report form).
fn report_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

fn flag(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// A credential's `*_active` and `*_last_rotated` cells (when it was created or uploaded);
/// `false`, `N/A` when there is none.
fn credential_cells(row: &mut Vec<String>, c: Option<(bool, DateTime<Utc>)>) {
    match c {
        Some((active, created)) => {
            row.push(flag(active).to_owned());
            row.push(report_time(created));
        }
        None => {
            row.push(flag(false).to_owned());
            row.push(NOT_APPLICABLE.to_owned());
        }
    }
}

/// One principal's credentials, gathered once for the whole account.
#[derive(Default)]
struct Held {
    mfa: bool,
    /// (created, key id, active), oldest first after sorting.
    keys: Vec<(DateTime<Utc>, String, bool)>,
    /// (uploaded, certificate id, active), oldest first after sorting.
    certs: Vec<(DateTime<Utc>, String, bool)>,
}

/// The access key and signing certificate columns of a row: the principal's two oldest of each
/// (AWS allows two), a key's last use as the usage recorder knows it now (flushed or not).
fn credential_columns(row: &mut Vec<String>, held: Option<&Held>, usage: &KeyUsage) {
    let empty = Held::default();
    let held = held.unwrap_or(&empty);
    for i in 0..2 {
        let key = held.keys.get(i);
        credential_cells(row, key.map(|(created, _, active)| (*active, *created)));
        match key.and_then(|(_, id, _)| usage.get(id)) {
            Some(u) => {
                row.push(report_time(u.date));
                row.push(u.region);
                row.push(u.service);
            }
            None => row.extend([NOT_APPLICABLE; 3].map(str::to_owned)),
        }
    }
    for i in 0..2 {
        let cert = held.certs.get(i);
        credential_cells(row, cert.map(|(created, _, active)| (*active, *created)));
    }
}

/// A CSV field: quoted only when it must be (a name or path with `,`, `"` or a line break;
/// IAM's name and path patterns allow `,`).
fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

fn push_row(out: &mut String, row: &[String]) {
    if !out.is_empty() {
        out.push('\n');
    }
    for (i, field) in row.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, field);
    }
}

/// The report of `account` as `view` and `usage` show it: the header, the root, then every
/// user in name order. Pure: reads nothing else, and no clock.
pub(crate) fn build(view: &Snapshot, usage: &KeyUsage, account: &str) -> String {
    // Every credential of the account, by owner (None: the root), in one pass over each map.
    let mut held: HashMap<Option<&str>, Held> = HashMap::new();
    for k in view.access_keys.values().filter(|k| k.account == account) {
        held.entry(k.user_id.as_deref()).or_default().keys.push((
            k.created_at,
            k.id.clone(),
            k.active,
        ));
    }
    for c in view
        .signing_certificates
        .values()
        .filter(|c| c.account == account)
    {
        held.entry(c.user_id.as_deref()).or_default().certs.push((
            c.created_at,
            c.id.clone(),
            c.active,
        ));
    }
    for d in view
        .mfa
        .values()
        .filter(|d| d.account == account && d.enabled_at.is_some())
    {
        held.entry(d.user_id.as_deref()).or_default().mfa = true;
    }
    for h in held.values_mut() {
        h.keys.sort();
        h.certs.sort();
    }
    let max_age = view
        .password_policies
        .get(account)
        .and_then(|p| p.max_age_days);

    let mut out = String::with_capacity(256 * (1 + view.users.len().min(10_000)));
    push_row(&mut out, &COLUMNS.map(str::to_owned));

    // The root: its own keys and certificates; what only a console password could say is
    // `not_supported`, as AWS writes it for the root.
    let root = held.get(&None);
    let mut row = vec![
        "<root_account>".to_owned(),
        crate::identity::root_arn(account),
        view.account(account)
            .map_or_else(|| NOT_APPLICABLE.to_owned(), |a| report_time(a.created_at)),
        NOT_SUPPORTED.to_owned(),
        NO_INFORMATION.to_owned(),
        NOT_SUPPORTED.to_owned(),
        NOT_SUPPORTED.to_owned(),
        flag(root.is_some_and(|h| h.mfa)).to_owned(),
    ];
    credential_columns(&mut row, root, usage);
    push_row(&mut out, &row);

    for user in view.users_in(account, None) {
        let h = held.get(&Some(user.id.as_str()));
        let profile = view.login_profiles.get(&user.id);
        let mut row = vec![
            user.name.clone(),
            user.arn(),
            report_time(user.created_at),
            flag(profile.is_some()).to_owned(),
        ];
        match profile {
            Some(p) => {
                row.push(NO_INFORMATION.to_owned());
                row.push(report_time(p.password_changed_at));
                row.push(max_age.map_or_else(
                    || NOT_APPLICABLE.to_owned(),
                    |days| report_time(p.password_changed_at + TimeDelta::days(i64::from(days))),
                ));
            }
            None => row.extend([NOT_APPLICABLE; 3].map(str::to_owned)),
        }
        row.push(flag(h.is_some_and(|h| h.mfa)).to_owned());
        credential_columns(&mut row, h, usage);
        push_row(&mut out, &row);
    }
    out
}

// --- GenerateCredentialReport ----------------------------------------------------------------

input! {
    /// `GenerateCredentialReport`
    pub(crate) struct GenerateCredentialReportInput {}
}

/// `State`, and `Description` when a new report was started.
#[derive(Debug)]
pub(crate) struct GenerateCredentialReportOutput {
    started: bool,
}

impl Output for GenerateCredentialReportOutput {
    fn write(&self, x: &mut Xml) {
        if self.started {
            x.elem("State", "STARTED").elem("Description", STARTED);
        } else {
            x.elem("State", "COMPLETE");
        }
    }
}

/// Authorized as `iam:GenerateCredentialReport` on `*`. The report is built off the async
/// threads (an account may have thousands of users) and committed before the answer.
pub(crate) async fn generate_credential_report(
    cx: &Cx<'_>,
    _: GenerateCredentialReportInput,
) -> ApiResult<GenerateCredentialReportOutput> {
    cx.authorize("*")?;
    let now = cx.info.now;
    let account = cx.account().to_owned();
    let store = &cx.state.store;
    if store
        .credential_report(&account)
        .is_some_and(|r| is_current(r.generated_at, now))
    {
        return Ok(GenerateCredentialReportOutput { started: false });
    }
    let (view, usage_store) = (store.view(), store.clone());
    let build_for = account.clone();
    let content =
        tokio::task::spawn_blocking(move || build(&view, usage_store.key_usage(), &build_for))
            .await
            .map_err(|e| {
                ApiError::internal().with_detail(format!("credential report task: {e}"))
            })?;
    store
        .put_credential_report(CredentialReport {
            account,
            generated_at: now,
            content,
        })
        .await
        .map_err(store_error)?;
    Ok(GenerateCredentialReportOutput { started: true })
}

// --- GetCredentialReport ---------------------------------------------------------------------

input! {
    /// `GetCredentialReport`
    pub(crate) struct GetCredentialReportInput {}
}

/// `Content` (the CSV, base64), `ReportFormat`, `GeneratedTime`.
#[derive(Debug)]
pub(crate) struct GetCredentialReportOutput {
    report: std::sync::Arc<CredentialReport>,
}

impl Output for GetCredentialReportOutput {
    fn write(&self, x: &mut Xml) {
        let content = base64::engine::general_purpose::STANDARD.encode(&self.report.content);
        x.elem("Content", &content)
            .elem("ReportFormat", "text/csv")
            .time("GeneratedTime", self.report.generated_at);
    }
}

/// Authorized as `iam:GetCredentialReport` on `*`.
pub(crate) async fn get_credential_report(
    cx: &Cx<'_>,
    _: GetCredentialReportInput,
) -> ApiResult<GetCredentialReportOutput> {
    cx.authorize("*")?;
    let report = cx
        .state
        .store
        .credential_report(cx.account())
        .ok_or_else(report_not_present)?;
    if !is_current(report.generated_at, cx.info.now) {
        return Err(report_expired());
    }
    Ok(GetCredentialReportOutput { report })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_aws_writes_them() {
        let t = DateTime::parse_from_rfc3339("2024-05-01T12:00:00.789Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(report_time(t), "2024-05-01T12:00:00+00:00");
    }

    #[test]
    fn a_report_lasts_four_hours() {
        let t = Utc::now();
        assert!(is_current(t, t));
        assert!(is_current(
            t,
            t + TimeDelta::hours(4) - TimeDelta::seconds(1)
        ));
        assert!(!is_current(t, t + TimeDelta::hours(4)));
    }

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        let mut out = String::new();
        push_row(
            &mut out,
            &["a,b".to_owned(), "c".to_owned(), "d\"e".to_owned()],
        );
        assert_eq!(out, "\"a,b\",c,\"d\"\"e\"");
    }
}
