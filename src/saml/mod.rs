//! SAML 2.0 federation: what tessera reads of an identity provider's XML.
//!
//! [`metadata`] turns an uploaded metadata document into what verification needs (the IdP's
//! entity id and signing certificates), refusing any document that would leave assertions
//! unverified; [`private_key`] checks the keys that decrypt encrypted assertions. Both are pure
//! functions over untrusted text: no network, no files, bounded work.

pub mod metadata;
pub mod private_key;
