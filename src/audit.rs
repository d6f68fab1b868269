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

use crate::error::ApiResult;
use crate::server::AppState;
use crate::store::{WriteKind, model::ts};

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
    let json = serde_json::to_string(record).unwrap_or_default();
    tracing::info!(target: "audit", "{json}");
    let time = ts(record.time);
    let insert = move |tx: &rusqlite::Transaction<'_>| -> ApiResult<()> {
        tx.execute(
            "INSERT INTO audit (time, record) VALUES (?1, ?2)",
            params![time, json],
        )?;
        Ok(())
    };
    if wait {
        state.store.write(WriteKind::Append, insert).await
    } else {
        // Queued for the next batch; nothing handed out depends on it.
        state.store.write_nowait(WriteKind::Append, insert);
        Ok(())
    }
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

/// Records from `since` (sequence number) on, oldest first, as stored JSON lines.
pub fn read_since(
    conn: &rusqlite::Connection,
    after_seq: i64,
    limit: usize,
) -> rusqlite::Result<Vec<(i64, String)>> {
    let mut st =
        conn.prepare("SELECT seq, record FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
    let rows = st.query_map(
        params![after_seq, i64::try_from(limit).unwrap_or(i64::MAX)],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    rows.collect()
}

/// The sequence number `n` records before the end (for `tail -n`).
pub fn seq_before_last(conn: &rusqlite::Connection, n: usize) -> rusqlite::Result<i64> {
    let max: Option<i64> = conn.query_row("SELECT MAX(seq) FROM audit", [], |r| r.get(0))?;
    Ok(max
        .unwrap_or(0)
        .saturating_sub(i64::try_from(n).unwrap_or(i64::MAX)))
}
