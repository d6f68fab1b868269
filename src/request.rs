//! What a handler knows about its request besides the typed input: who is calling, the shared
//! state, and the request's own facts (id, source address, time, action, signing region), plus
//! the notes it adds to the audit record.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::arn::Partition;
use crate::audit::{NoteCell, Notes};
use crate::protocol::Action;
use crate::state::AppState;

/// The request's own facts.
#[derive(Debug, Clone)]
pub(crate) struct RequestInfo {
    pub request_id: String,
    pub source_ip: IpAddr,
    pub now: DateTime<Utc>,
    pub action: Action,
    /// The region of the SigV4 credential scope, when signed.
    pub region: Option<String>,
    /// What the handler adds to the audit record.
    pub notes: NoteCell,
}

impl RequestInfo {
    /// Add to this request's audit record.
    pub(crate) fn note(&self, f: impl FnOnce(&mut Notes)) {
        self.notes.update(f);
    }

    /// The partition the answer's ARNs are in: the signing region's (`aws` when unsigned).
    pub(crate) fn partition(&self) -> Partition {
        self.region
            .as_deref()
            .map_or(Partition::Aws, Partition::from_region)
    }
}

/// What every handler gets: the state, the caller and the request's facts.
#[derive(Debug)]
pub(crate) struct Cx<'a, C = crate::identity::SignedCaller> {
    pub(crate) state: &'a AppState,
    pub(crate) caller: &'a C,
    pub(crate) info: &'a RequestInfo,
}

/// The caller of an unsigned action (`AssumeRoleWithWebIdentity`, `AssumeRoleWithSAML`): who
/// it is follows only from what the request carries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Anonymous;
