//! The background task of a JWKS URL: fetch at once, then every `refresh`; after a failure,
//! retry in 1 s, doubling up to `refresh`. An unknown `kid` may wake it early. A failure keeps
//! the last good keys; how long they stay usable is decided per request (remote.rs). Waits run
//! on the policy's clock, so tests move the schedule with a manual clock.

use super::remote::{Installed, Shared, seconds};
use std::sync::Arc;
use std::time::Duration;

/// The first retry after a failed fetch; each further failure doubles it, up to `refresh`.
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// Runs until the policy drops its handle (which aborts the task).
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut retry = FIRST_RETRY;
    loop {
        shared.begin_fetch();
        let good = fetch_once(&shared, retry.min(shared.refresh)).await;
        shared.end_fetch();
        let wait = if good {
            retry = FIRST_RETRY;
            shared.refresh
        } else {
            let wait = retry.min(shared.refresh);
            retry = retry.saturating_mul(2).min(shared.refresh);
            wait
        };
        tokio::select! {
            () = shared.time.sleep(wait) => {}
            () = shared.wake.notified() => {}
        }
    }
}

/// One fetch, installed or logged; true when it was good.
async fn fetch_once(shared: &Shared, retry_in: Duration) -> bool {
    let url = &shared.target.shown;
    let result = match shared.target.fetch().await {
        Ok(body) => shared.install(&body),
        Err(e) => Err(e.to_string()),
    };
    match result {
        Ok(Installed::Unchanged) => true,
        Ok(Installed::Changed { count, skipped }) => {
            tracing::info!(url = %url, keys = count, "JWKS keys changed");
            for key in skipped {
                tracing::warn!(url = %url, key = %key, "JWKS key skipped");
            }
            true
        }
        Err(error) => {
            let retry_in = seconds(retry_in);
            match shared.age() {
                None => tracing::warn!(url = %url, %error, %retry_in,
                    "JWKS fetch failed; no keys yet: tokens are refused (jwks_unavailable)"),
                Some(age) if age > shared.max_stale => tracing::warn!(url = %url, %error,
                    %retry_in, last_good = %seconds(age),
                    "JWKS fetch failed; the last good keys are older than max_stale: tokens are refused (jwks_unavailable)"),
                Some(age) => tracing::warn!(url = %url, %error, %retry_in,
                    last_good = %seconds(age), "JWKS fetch failed; the last good keys stay in use"),
            }
            false
        }
    }
}
