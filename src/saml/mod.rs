//! SAML 2.0 federation: what tessera reads of an identity provider's XML.
//!
//! [`metadata`] turns an uploaded metadata document into what verification needs (the IdP's
//! entity id and signing certificates), refusing any document that would leave assertions
//! unverified; [`private_key`] checks the keys that decrypt encrypted assertions; [`response`]
//! verifies a signed `samlp:Response` into a [`response::Verified`] assertion (a strict
//! pre-filter, then samael, then tessera's own checks); [`aws`] reads what AWS reads of a
//! verified assertion (the role pairs, the session name, tags); [`Verifier`] runs verification
//! off the async threads, a bounded number at a time. All but [`Verifier`] are pure functions
//! over untrusted text and `now`: no network, no files, no clock, bounded work.

pub mod aws;
pub mod metadata;
pub mod private_key;
pub mod response;
mod verifier;

/// The test IdP the unit tests sign with (shared with the integration tests).
#[cfg(test)]
#[path = "../../tests/common/saml_idp.rs"]
pub(crate) mod saml_idp;

pub use verifier::Verifier;
