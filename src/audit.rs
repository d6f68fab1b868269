//! The audit trail: one structured record for every STS call and every IAM write, kept in
//! SQLite and emitted as a JSON line (tracing target `audit`).
//!
//! Records go through the store's group-commit writer: a request that hands out credentials
//! waits until its record's batch is committed (so a `kill -9` never loses the record of issued
//! credentials), but no request does a synchronous write of its own. No secret ever enters a
//! record: no secret key, no session token, no policy document.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::server::AppState;
use crate::store::model::ts;

/// What a handler adds to its request's audit record (filled through [`RequestInfo::note`]).
#[derive(Debug, Default, Clone, Serialize)]
pub struct Notes {
    /// The entity acted on (role ARN, user ARN, policy ARN ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The temporary access key id handed out (never the secret or token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_expiration: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    /// The policy decision and why (matched statements, missing keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Record<'a> {
    pub time: DateTime<Utc>,
    pub request_id: &'a str,
    pub service: &'static str,
    pub action: &'a str,
    pub source_ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_access_key_id: Option<&'a str>,
    /// `allowed` or the AWS error code.
    pub outcome: &'a str,
    /// For refusals: the reason for the log (which check failed), never shown to the client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    #[serde(flatten)]
    pub notes: Notes,
}

/// Whether an action gets an audit record: every STS action, and IAM actions that change state.
pub fn is_audited(service: crate::http::Service, action: &str) -> bool {
    match service {
        crate::http::Service::Sts => true,
        crate::http::Service::Iam => {
            !(action.starts_with("Get")
                || action.starts_with("List")
                || action.starts_with("Simulate"))
        }
    }
}

/// Write the record. With `wait`, return only once it is committed.
pub async fn write(state: &AppState, record: &Record<'_>, wait: bool) -> ApiResult<()> {
    let json = to_json(record);
    tracing::info!(target: "audit", "{json}");
    if state.store.append_audit(ts(record.time), json, wait).await {
        Ok(())
    } else {
        Err(ApiError::internal().with_detail("audit record not committed"))
    }
}

/// The record as one JSON line.
pub fn to_json(record: &Record<'_>) -> String {
    serde_json::to_string(record).unwrap_or_default()
}

/// Interior-mutable notes carried by [`RequestInfo`].
#[derive(Debug, Default)]
pub struct NoteCell(Mutex<Notes>);

impl NoteCell {
    pub fn update(&self, f: impl FnOnce(&mut Notes)) {
        if let Ok(mut n) = self.0.lock() {
            f(&mut n);
        }
    }

    pub fn take(&self) -> Notes {
        self.0
            .lock()
            .map(|mut n| std::mem::take(&mut *n))
            .unwrap_or_default()
    }
}

impl Clone for NoteCell {
    fn clone(&self) -> Self {
        NoteCell(Mutex::new(
            self.0.lock().map(|n| n.clone()).unwrap_or_default(),
        ))
    }
}

/// Rows after `after_seq` (oldest first), each with its records split into lines.
pub fn read_since(
    conn: &rusqlite::Connection,
    after_seq: i64,
    limit_rows: usize,
) -> rusqlite::Result<Vec<(i64, Vec<String>)>> {
    let mut st =
        conn.prepare("SELECT seq, records FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
    let rows = st.query_map(
        params![after_seq, i64::try_from(limit_rows).unwrap_or(i64::MAX)],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
    )?;
    rows.map(|r| r.map(|(seq, text)| (seq, text.lines().map(str::to_owned).collect())))
        .collect()
}

/// The newest `n` records, oldest first, and the sequence number of the newest row.
pub fn last_records(conn: &rusqlite::Connection, n: usize) -> rusqlite::Result<(Vec<String>, i64)> {
    let mut st = conn.prepare("SELECT seq, records FROM audit ORDER BY seq DESC")?;
    let mut rows = st.query([])?;
    let mut newest = 0;
    let mut chunks: Vec<Vec<String>> = Vec::new();
    let mut count = 0;
    while count < n {
        let Some(row) = rows.next()? else { break };
        let seq: i64 = row.get(0)?;
        newest = newest.max(seq);
        let text: String = row.get(1)?;
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        count += lines.len();
        chunks.push(lines);
    }
    let mut all: Vec<String> = chunks.into_iter().rev().flatten().collect();
    let excess = all.len().saturating_sub(n);
    all.drain(..excess);
    Ok((all, newest))
}
