//! The state every request handler may use: configuration, the store, the keyring, the clock
//! and the SigV4 verification settings. Built by `crate::server` at startup; the HTTP edge and
//! the handlers read it.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::credentials::Keyring;
use crate::credentials::SharedKeyring;
use crate::error::ErrorCode;
use crate::metrics::{KeyringLive, Live, Metrics};
use crate::protocol::{Action, Service};
use crate::sigv4;
use crate::store::{AuditJournal, Store};

/// Everything a request handler may use.
pub struct AppState {
    pub(crate) config: Config,
    pub(crate) store: Store,
    /// Where audit records go.
    pub(crate) audit: AuditJournal,
    pub(crate) keyring: Arc<SharedKeyring>,
    pub(crate) clock: Clock,
    sts_verify: sigv4::VerifyPolicy,
    iam_verify: sigv4::VerifyPolicy,
    /// Derived SigV4 signing keys, so a client signing many requests in a day pays the four
    /// derivation HMACs once.
    pub(crate) signing_keys: sigv4::SigningKeyCache,
    /// Verifies `AssumeRoleWithWebIdentity` tokens (and caches issuers' keys).
    pub(crate) web_identity: crate::oidc::Verifier,
    /// The optional per-source limit on unsigned requests.
    pub(crate) unsigned_limit: Option<crate::limiter::SourceLimiter>,
    /// What `GET /metrics` shows.
    pub(crate) metrics: Metrics,
    /// Verifies `AssumeRoleWithSAML` responses, a bounded number at a time.
    pub(crate) saml: crate::saml::Verifier,
}

impl AppState {
    /// The keyring in force now.
    pub fn keyring(&self) -> Arc<Keyring> {
        self.keyring.get()
    }

    /// What a signature must satisfy for this service (scope service, regions, skew).
    pub fn verify_policy(&self, service: Service) -> &sigv4::VerifyPolicy {
        match service {
            Service::Sts => &self.sts_verify,
            Service::Iam => &self.iam_verify,
        }
    }

    pub fn new(
        config: Config,
        store: Store,
        audit: AuditJournal,
        keyring: Arc<SharedKeyring>,
        clock: Clock,
    ) -> Result<AppState, crate::BoxError> {
        let extra_ca = match &config.oidc_ca_file {
            Some(p) => {
                Some(std::fs::read(p).map_err(|e| format!("oidc_ca_file `{}`: {e}", p.display()))?)
            }
            None => None,
        };
        let fetcher = crate::oidc::keys::Fetcher::new(config.oidc_allow_http, extra_ca.as_deref())?;
        let web_identity = crate::oidc::Verifier::new(
            fetcher,
            crate::oidc::keys::Limits::default(),
            config.oidc_token_cache_entries,
        );
        let unsigned_limit = config
            .unsigned_rate_limit_per_source
            .map(crate::limiter::SourceLimiter::new);
        let policy = |service: Service| {
            let mut p = sigv4::VerifyPolicy::for_service(service.signing_name());
            if !config.regions.is_empty() {
                p.regions = Some(config.regions.clone());
            }
            p
        };
        let (sts_verify, iam_verify) = (policy(Service::Sts), policy(Service::Iam));
        let metrics = Metrics::new(Action::NAMES, ErrorCode::WIRE, store.audit_metrics())
            .map_err(|e| format!("metrics: {e}"))?;
        let saml = crate::saml::Verifier::new(
            crate::saml::response::Settings::new(
                config.saml_entity_id.as_deref(),
                &config.saml_acs_urls,
            ),
            std::thread::available_parallelism().map_or(2, |n| n.get()),
        )
        .map_err(|e| format!("cannot start the SAML verification threads: {e}"))?;
        Ok(AppState {
            metrics,
            signing_keys: sigv4::SigningKeyCache::default(),
            config,
            store,
            audit,
            keyring,
            clock,
            sts_verify,
            iam_verify,
            web_identity,
            unsigned_limit,
            saml,
        })
    }
}

impl AppState {
    /// Every metric as Prometheus text, with the caches' and the keyring's values as they are
    /// now.
    pub(crate) fn metrics_text(&self) -> Result<String, prometheus::Error> {
        let keyring = self.keyring();
        let (tokens, tokens_held) = self.web_identity.token_cache();
        let oidc_keys = self.web_identity.keys();
        let live = Live {
            caches: vec![
                (
                    "sigv4_signing_keys",
                    self.signing_keys.counts(),
                    self.signing_keys.len(),
                ),
                (
                    "session_tokens",
                    self.keyring.opened_counts(),
                    keyring.opened().len(),
                ),
                ("oidc_keys", oidc_keys.counts(), oidc_keys.len()),
                ("oidc_verified_tokens", tokens, tokens_held),
            ],
            oidc_key_fetches: oidc_keys.fetches(),
            keyring: KeyringLive {
                current_key_id: keyring.current_id(),
                current_key_created: keyring.current_created_at().timestamp(),
                keys: keyring.key_ids().count(),
                reloads: self.keyring.reloads(),
            },
        };
        self.metrics.render(&live)
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
