//! Tests for the SigV4 verifier. Stage-by-stage vectors from independent signers (botocore JSON,
//! aws-sigv4 in process), unit cases for each canonicalisation rule, one table of negative cases,
//! property tests, the signing-key cache, and an ignored timing probe.

mod cache;
mod negative;
mod props;
mod sdk;
mod support;
mod units;
mod vectors;
