//! tessera: an AWS-compatible Security Token Service and federation broker.
//!
//! A request flows one way: [`http`] (parse, bound) -> [`sigv4`] + [`identity`] (who is calling)
//! -> [`actions`] (typed dispatch) -> [`sts`] / [`iam`] handlers (business rules) -> [`policy`]
//! (decision), [`credentials`] (minting), [`store`] (SQLite) -> XML response or AWS error
//! ([`error`], the one mapping to the wire).

pub mod actions;
pub mod arn;
pub mod audit;
pub mod authorization;
pub mod cli;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod error;
pub mod escape;
pub mod http;
pub mod iam;
pub mod identity;
pub mod policy;
pub mod principal;
pub mod protocol;
pub mod request;
pub mod rfc3339;
pub mod server;
pub mod sigv4;
pub mod state;
pub mod store;
pub mod sts;

/// Startup and CLI errors (never seen by API clients).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
