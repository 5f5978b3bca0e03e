//! Authorization: claims or scopes the authenticated identity must hold; 403 otherwise
//! (401 when no policy before this one authenticated the request).

use crate::answer::Answer;
use crate::identity::Identity;
use http::StatusCode;
use std::sync::Arc;
use switchyard_config::{AuthorizePolicy, ClaimRule};

#[derive(Debug)]
pub(crate) struct Authorize {
    rules: Vec<ClaimRule>,
}

impl Authorize {
    pub(crate) fn new(p: &AuthorizePolicy) -> Self {
        Self {
            rules: p.rules.clone(),
        }
    }

    pub(crate) fn check(&self, name: &Arc<str>, identity: Option<&Identity>) -> Result<(), Answer> {
        let Some(identity) = identity else {
            let detail = "the request is not authenticated".to_owned();
            return Err(Answer::problem(
                StatusCode::UNAUTHORIZED,
                name,
                "not_authenticated",
                detail,
            ));
        };
        for rule in &self.rules {
            let held = identity.claim_values(&rule.claim);
            let any =
                rule.any_of.is_empty() || rule.any_of.iter().any(|v| held.contains(&v.as_str()));
            let all = rule.all_of.iter().all(|v| held.contains(&v.as_str()));
            if !(any && all) {
                let detail = describe(rule);
                return Err(Answer::problem(
                    StatusCode::FORBIDDEN,
                    name,
                    "claim_required",
                    detail,
                ));
            }
        }
        Ok(())
    }
}

fn describe(rule: &ClaimRule) -> String {
    let mut parts = Vec::new();
    if !rule.any_of.is_empty() {
        parts.push(format!("one of [{}]", rule.any_of.join(", ")));
    }
    if !rule.all_of.is_empty() {
        parts.push(format!("all of [{}]", rule.all_of.join(", ")));
    }
    format!("`{}` must hold {}", rule.claim, parts.join(" and "))
}
