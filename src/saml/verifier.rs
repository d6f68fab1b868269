//! Verification off the async threads: XML parsing, canonicalization and signature checks
//! are CPU work of up to milliseconds on 100,000-character documents, so each runs on a
//! blocking thread, and at most `concurrency` at once (a semaphore: a flood of responses
//! queues instead of taking every core and thread from the rest of the server).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use super::response::{self, Provider, Refusal, RefusalKind, Settings, Verified};

/// Verifies SAML responses for the server: [`response::verify`], bounded and off the async
/// threads.
#[derive(Debug)]
pub struct Verifier {
    permits: Arc<Semaphore>,
    settings: Arc<Settings>,
}

impl Verifier {
    /// A verifier for `settings`, running at most `concurrency` verifications at once.
    pub fn new(settings: Settings, concurrency: usize) -> Verifier {
        Verifier {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            settings: Arc::new(settings),
        }
    }

    /// The audiences and endpoints assertions must be addressed to.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Verify the base64 response `encoded` from `provider` at `now`.
    pub async fn verify(
        &self,
        encoded: Zeroizing<String>,
        provider: Provider,
        now: DateTime<Utc>,
    ) -> Result<Verified, Refusal> {
        let internal = |why: String| Refusal::new(RefusalKind::Internal, why);
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| internal(format!("saml verifier closed: {e}")))?;
        let settings = self.settings.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            response::verify(&encoded, &provider, &settings, now)
        })
        .await
        .map_err(|e| internal(format!("saml verification task failed: {e}")))?
    }
}
