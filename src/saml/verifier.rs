//! Verification off the async threads: XML parsing, canonicalization and signature checks are
//! CPU work of up to milliseconds on 100,000-character documents, so each runs on one of a
//! fixed set of verification threads, at most one per thread at once (a semaphore admits
//! them; a flood of responses waits there instead of taking every core from the rest of the
//! server).
//!
//! A fixed set rather than tokio's blocking pool: that pool starts a new thread whenever no
//! idle one is ready at the instant a job arrives, and under a steady stream of responses it
//! grew to dozens of threads, each keeping its own C allocator arena (libxml2 and OpenSSL
//! allocate with malloc) and stack.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::response::{self, Provider, Refusal, RefusalKind, Settings, Verified};
use crate::wipe::Wiped;

/// One response to verify, and where its answer goes.
struct Job {
    encoded: Wiped<String>,
    provider: Provider,
    now: DateTime<Utc>,
    reply: oneshot::Sender<Result<Verified, Refusal>>,
    /// Held until the job is done, not until its caller stops waiting: a caller that gives up
    /// (a request deadline, a closed connection) leaves its job queued or running, and the
    /// permit it holds keeps the number of jobs in the channel within its capacity.
    _permit: OwnedSemaphorePermit,
}

/// Verifies SAML responses for the server: [`response::verify`], on its own threads.
#[derive(Debug)]
pub struct Verifier {
    permits: Arc<Semaphore>,
    jobs: SyncSender<Job>,
    settings: Arc<Settings>,
}

impl Verifier {
    /// A verifier for `settings` with `threads` verification threads. The threads end when the
    /// verifier is dropped.
    pub fn new(settings: Settings, threads: usize) -> std::io::Result<Verifier> {
        let threads = threads.max(1);
        let settings = Arc::new(settings);
        // Never more jobs queued than threads: the semaphore admits that many at a time.
        let (jobs, rx) = std::sync::mpsc::sync_channel::<Job>(threads);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let (rx, settings) = (rx.clone(), settings.clone());
            std::thread::Builder::new()
                .name(format!("tessera-saml-{i}"))
                .spawn(move || work(&rx, &settings))?;
        }
        Ok(Verifier {
            permits: Arc::new(Semaphore::new(threads)),
            jobs,
            settings,
        })
    }

    /// The audiences and endpoints assertions must be addressed to.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Verify the base64 response `encoded` from `provider` at `now`.
    pub async fn verify(
        &self,
        encoded: Wiped<String>,
        provider: Provider,
        now: DateTime<Utc>,
    ) -> Result<Verified, Refusal> {
        let internal = |why: &str| Refusal::new(RefusalKind::Internal, why);
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| internal("saml verifier closed"))?;
        let (reply, answer) = oneshot::channel();
        let job = Job {
            encoded,
            provider,
            now,
            reply,
            _permit: permit,
        };
        // INVARIANT: a job exists only with a permit, and there are as many permits as the
        // channel holds jobs, so it is never full here.
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => internal("saml verification queue full"),
            TrySendError::Disconnected(_) => internal("saml verification threads are gone"),
        })?;
        answer
            .await
            .map_err(|_| internal("saml verification dropped"))?
    }
}

/// A verification thread: takes jobs until the verifier is gone.
fn work(rx: &Mutex<Receiver<Job>>, settings: &Settings) {
    loop {
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else {
            return;
        };
        // A panic in the XML or crypto libraries refuses this response and keeps the thread.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            response::verify(&job.encoded, &job.provider, settings, job.now)
        }))
        .unwrap_or_else(|_| {
            Err(Refusal::new(
                RefusalKind::Internal,
                "saml verification panicked",
            ))
        });
        let _ = job.reply.send(result);
    }
}

#[cfg(test)]
mod tests;
