//! Switchyard's gateway policies: the request-aware rules a route applies before its action.
//!
//! The config names policies (`policies:`) and routes list them. [`Policies::compile`] builds
//! each policy once per config (keys parsed, templates split, limiter tables allocated);
//! [`Policies::chain`] gives a route its ordered [`Chain`]. Per request, [`Chain::apply`] runs
//! the policies in order against an [`Exchange`]: each one either lets the request continue
//! (possibly editing its headers, recording an [`Identity`], or adding response headers) or
//! answers it with an [`Answer`] (401, 403, 413, 429, a CORS preflight ...). The only I/O is a
//! shared rate limit's Redis call and a `jwt` policy's JWKS fetches (a background task per
//! JWKS URL); everything else, the fetch schedule included, runs on a manual clock in tests.

mod answer;
mod api_key;
mod authorize;
mod basic;
mod chain;
mod cors;
mod identity;
mod jwt;
mod metrics;
mod openapi;
mod rate_limit;
mod throttle;
mod time;
mod transform;

pub use answer::{Answer, AnswerBody, PROBLEM_JSON, Violation};
pub use api_key::key_hash;
pub use chain::{Chain, Exchange, Passed, Policies};
pub use identity::Identity;
pub use metrics::PolicyMetrics;
pub use openapi::{BodyCheck, ResponseCheck};
pub use rate_limit::{Decision, Gcra};
pub use time::Timebase;

/// A policy that cannot be built from its config (a bad key, an unreadable JWKS).
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct PolicyError {
    /// `file:line:column: policies[i]`.
    pub origin: String,
    pub message: String,
}

/// Lower-case hex digits of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}
