//! HTTP Basic authentication against bcrypt hashes. bcrypt is slow on purpose (tens of
//! milliseconds), so a check runs on the blocking pool, never on the reactor, and a verified
//! user-and-password pair is remembered (by its SHA-256) so a returning client costs a lookup.

use crate::answer::Answer;
use crate::chain::Exchange;
use crate::identity::Identity;
use base64::Engine;
use http::{HeaderValue, StatusCode, header};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use switchyard_config::BasicAuthPolicy;

#[derive(Debug)]
pub(crate) struct BasicAuth {
    users: HashMap<String, User>,
    challenge: HeaderValue,
    keep_credential: bool,
    /// A hash of nothing anyone knows, at the users' cost, checked for unknown names so that a
    /// wrong name takes as long as a wrong password.
    decoy: Arc<str>,
    /// bcrypt checks allowed at once: beyond, a request is refused at once (503) rather than
    /// queued, so a flood of bad logins cannot take every core.
    checks: tokio::sync::Semaphore,
    /// SHA-256 of `name:password` pairs bcrypt has accepted; bounded.
    verified: Mutex<HashSet<[u8; 32]>>,
}

#[derive(Debug)]
struct User {
    hash: Arc<str>,
    metadata: Arc<BTreeMap<String, String>>,
}

/// Most remembered pairs; the set is emptied when full.
const REMEMBERED: usize = 16 * 1024;

impl BasicAuth {
    pub(crate) fn new(p: &BasicAuthPolicy) -> Self {
        let users = p.users.iter().map(|u| {
            let user = User {
                hash: Arc::from(u.hash.as_str()),
                metadata: Arc::new(u.metadata.clone()),
            };
            (u.name.clone(), user)
        });
        let challenge = format!("Basic realm=\"{}\", charset=\"UTF-8\"", p.realm);
        let cost = p
            .users
            .first()
            .and_then(|u| u.hash.get(4..6)?.parse().ok())
            .unwrap_or(10);
        let decoy = bcrypt::hash_with_salt("decoy", cost, [7; 16])
            .map(|h| h.format_for_version(bcrypt::Version::TwoB))
            .unwrap_or_default();
        Self {
            decoy: Arc::from(decoy),
            users: users.collect(),
            challenge: HeaderValue::try_from(challenge)
                .unwrap_or(HeaderValue::from_static("Basic")),
            keep_credential: p.keep_credential,
            checks: tokio::sync::Semaphore::new(concurrent_checks()),
            verified: Mutex::default(),
        }
    }

    pub(crate) async fn authenticate(
        &self,
        name: &Arc<str>,
        ex: &mut Exchange<'_>,
    ) -> Result<Identity, Answer> {
        let reject = |reason, detail: &str| {
            Answer::problem(StatusCode::UNAUTHORIZED, name, reason, detail.to_owned())
                .with_header(header::WWW_AUTHENTICATE, self.challenge.clone())
        };
        if Answer::repeated(ex.headers, header::AUTHORIZATION) {
            return Err(Answer::ambiguous(name, "Authorization header"));
        }
        let Some((user_name, password)) = credentials(ex) else {
            return Err(reject(
                "credentials_missing",
                "the request carries no Basic credentials",
            ));
        };
        let pair = Sha256::digest(format!("{user_name}:{password}").as_bytes()).into();
        let user = self.users.get(&user_name);
        let remembered = self.verified.lock().is_ok_and(|set| set.contains(&pair));
        if !remembered {
            let Ok(_permit) = self.checks.try_acquire() else {
                let detail = "too many password checks are running; retry shortly";
                return Err(Answer::problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    name,
                    "credentials_check_busy",
                    detail.to_owned(),
                )
                .with_header(header::RETRY_AFTER, HeaderValue::from_static("1")));
            };
            let hash = user.map_or_else(|| self.decoy.clone(), |u| u.hash.clone());
            let ok = tokio::task::spawn_blocking(move || {
                bcrypt::verify(password, &hash).unwrap_or(false)
            })
            .await
            .unwrap_or(false);
            if !(ok && user.is_some()) {
                return Err(reject(
                    "bad_credentials",
                    "the user name or password is wrong",
                ));
            }
            self.remember(pair);
        }
        let user =
            user.ok_or_else(|| reject("bad_credentials", "the user name or password is wrong"))?;
        if !self.keep_credential {
            ex.headers.remove(header::AUTHORIZATION);
        }
        Ok(Identity {
            id: user_name,
            api_key: false,
            claims: None,
            metadata: Some(user.metadata.clone()),
        })
    }

    fn remember(&self, pair: [u8; 32]) {
        if let Ok(mut set) = self.verified.lock() {
            if set.len() >= REMEMBERED {
                set.clear();
            }
            set.insert(pair);
        }
    }
}

/// Twice the cores: enough to keep them busy with real logins, never more.
fn concurrent_checks() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
}

/// The name and password of `Authorization: Basic base64(name:password)`.
fn credentials(ex: &Exchange<'_>) -> Option<(String, String)> {
    let value = ex.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (name, password) = text.split_once(':')?;
    Some((name.to_owned(), password.to_owned()))
}
