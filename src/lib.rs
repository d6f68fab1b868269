//! tessera: an AWS-compatible Security Token Service and federation broker.
//!
//! A request flows one way: [`http`] (parse, bound) -> [`sigv4`] + [`identity`] (who is calling)
//! -> [`actions`] (typed dispatch) -> [`sts`] / [`iam`] handlers (business rules) -> [`policy`]
//! (decision), [`credentials`] (minting), [`store`] (SQLite) -> XML response or AWS error
//! ([`error`], the one mapping to the wire).
//!
//! The public modules are what the binary, the integration tests, the benches and the fuzz
//! targets use; everything else is `pub(crate)`.

pub(crate) mod actions;
pub mod arn;
pub mod audit;
pub(crate) mod authorization;
pub mod cli;
pub mod clock;
pub mod config;
pub mod credentials;
pub(crate) mod denial;
pub(crate) mod error;
pub(crate) mod escape;
pub(crate) mod http;
pub(crate) mod iam;
pub(crate) mod identity;
pub mod key_material;
pub(crate) mod limiter;
pub mod metrics;
pub mod oidc;
pub mod policy;
pub mod principal;
pub mod protocol;
pub(crate) mod request;
pub(crate) mod rfc3339;
pub mod saml;
pub mod server;
pub mod sigv4;
pub mod state;
pub mod store;
pub(crate) mod sts;
pub(crate) mod text;
pub mod wipe;

/// Startup and CLI errors (never seen by API clients).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
