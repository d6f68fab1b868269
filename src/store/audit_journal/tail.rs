//! `tessera audit tail`: the newest audit records, from the audit table and from the journal
//! frames not yet copied into it (a record is visible as soon as its credentials are), then the
//! records committed after them. Reads only: takes no lock a server waits for.

use std::path::PathBuf;

use super::{JOURNAL_FILE, journal};
use crate::store::StoreError;
use crate::store::backend::AuditRead;
use crate::store::sqlite::SqliteAuditRead;

/// A reader of one data dir's audit trail.
pub(crate) struct AuditTail {
    table: Box<dyn AuditRead>,
    /// The journal file, for a data dir's trail (a cluster keeps none).
    journal: Option<PathBuf>,
    /// The newest row of the table read so far.
    seq: i64,
    /// The newest journal frame whose records were returned: rows copied from it or an earlier
    /// one were returned already.
    frame: u64,
}

impl std::fmt::Debug for AuditTail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditTail")
            .field("journal", &self.journal)
            .field("seq", &self.seq)
            .field("frame", &self.frame)
            .finish_non_exhaustive()
    }
}

impl AuditTail {
    /// The audit trail as `config` places it: the cluster's database, or the data dir's
    /// SQLite database (an error when it has none) and journal.
    pub(crate) fn open(config: &crate::config::Config) -> Result<AuditTail, crate::BoxError> {
        if let Some(db) = &config.database {
            let pg = crate::store::postgres::Pg::connect(db)?;
            return Ok(AuditTail::new(
                Box::new(crate::store::postgres::PgAuditRead::new(pg)),
                None,
            ));
        }
        let dir = &config.data_dir;
        Ok(AuditTail::new(
            Box::new(SqliteAuditRead::open(dir)?),
            Some(dir.join(JOURNAL_FILE)),
        ))
    }

    /// The trail held by `table` and the journal file at `journal`.
    pub(crate) fn new(table: Box<dyn AuditRead>, journal: Option<PathBuf>) -> AuditTail {
        AuditTail {
            table,
            journal,
            seq: 0,
            frame: 0,
        }
    }

    /// The newest `n` records, oldest first, including those still only in the journal
    /// (committed, not yet copied).
    pub(crate) fn last(&mut self, n: usize) -> Result<Vec<String>, StoreError> {
        // The server may copy frames and start the journal over between the two reads; then the
        // journal's first frame is past what the table showed: read both again.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (rows, copied, top) = self.table.newest(n)?;
            let frames = self
                .journal
                .as_deref()
                .map(journal::read)
                .unwrap_or_default();
            if attempts < 10
                && frames
                    .first()
                    .is_some_and(|f| f.seq > copied.saturating_add(1))
            {
                continue;
            }
            // Following continues after the newest row, whether or not it was printed
            // (`-n 0 --follow` prints only what arrives later).
            self.seq = top;
            let mut records: Vec<String> = rows
                .iter()
                .flat_map(|r| r.records.lines().map(str::to_owned))
                .collect();
            let mut newest = copied;
            for f in frames.into_iter().filter(|f| f.seq > copied) {
                newest = f.seq;
                records.extend(f.records.lines().map(str::to_owned));
            }
            self.frame = newest;
            let excess = records.len().saturating_sub(n);
            records.drain(..excess);
            return Ok(records);
        }
    }

    /// The records committed to the table since the last call (up to `limit_rows` rows), oldest
    /// first, leaving out those [`AuditTail::last`] returned from the journal.
    pub(crate) fn follow(&mut self, limit_rows: usize) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for row in self.table.since(self.seq, limit_rows)? {
            self.seq = row.seq;
            if row.journal_seq.is_some_and(|f| f <= self.frame) {
                continue;
            }
            out.extend(row.records.lines().map(str::to_owned));
        }
        Ok(out)
    }
}
