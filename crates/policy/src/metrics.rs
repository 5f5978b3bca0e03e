//! The policies' own Prometheus counters (shared rate-limit store failures, response
//! mismatches), as families that outlive any one config; each compiled policy keeps the
//! counter handles it needs.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// Counter families the policies report to; cheap to clone (handles to the same counts).
#[derive(Debug, Clone, Default)]
pub struct PolicyMetrics {
    store_failures: Family<StoreFailure, Counter>,
    response_mismatches: Family<PolicyLabel, Counter>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PolicyLabel {
    policy: String,
}

/// A shared rate limit whose store gave no decision, and what the policy did instead.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreFailure {
    policy: String,
    outcome: &'static str,
}

impl PolicyMetrics {
    /// Adds the families to `registry` (under its prefix, `switchyard_` for the gateway).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "rate_limit_store_failures",
            "Shared rate-limit decisions Redis could not make, by policy and what was done \
             instead (allowed: fail open, refused: fail closed)",
            self.store_failures.clone(),
        );
        registry.register(
            "response_mismatches",
            "Service responses that differ from the OpenAPI document (status, media type or \
             body), by policy; reported only, the responses are not changed",
            self.response_mismatches.clone(),
        );
    }

    /// The mismatch counter of one response-reporting `openapi` policy.
    pub(crate) fn response_mismatches(&self, policy: &str) -> Counter {
        self.response_mismatches.get_or_create_owned(&PolicyLabel {
            policy: policy.to_owned(),
        })
    }

    /// The failure counter of one shared rate limit.
    pub(crate) fn store_failures(&self, policy: &str, fail_open: bool) -> Counter {
        let outcome = if fail_open { "allowed" } else { "refused" };
        self.store_failures.get_or_create_owned(&StoreFailure {
            policy: policy.to_owned(),
            outcome,
        })
    }
}
