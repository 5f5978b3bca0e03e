//! Keys from a JWKS URL as requests see them: the current set (swapped whole when a fetch
//! brings a different document), whether it is fresh enough on the policy's clock, and the
//! waits a request may make for a fetch in flight (the first one, or an early refetch for an
//! unknown `kid`). A background task (refresh.rs) fetches; it ends when the policy is dropped.

use super::fetch::Target;
use super::keys::{self, Key};
use super::refresh;
use crate::time::Timebase;
use arc_swap::ArcSwapOption;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchyard_config::JwksUrl;
use tokio::sync::{Notify, watch};

/// At most one early refetch for unknown `kid`s per this much time on the policy's clock.
pub(crate) const EARLY_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// The keys of one good fetch.
pub(crate) struct KeySet {
    pub(crate) keys: Vec<Key>,
    /// Counts the distinct documents seen (from 1); cached tokens remember theirs.
    pub(crate) generation: u64,
    digest: [u8; 32],
}

/// The policy's handle on its JWKS URL; dropping it stops the background task.
pub(crate) struct Remote {
    shared: Arc<Shared>,
    task: Option<tokio::task::AbortHandle>,
    /// Longest wait of a request for a fetch: one in flight, then the one it asked for.
    wait_limit: Duration,
}

/// What the task and the requests share.
pub(crate) struct Shared {
    pub(crate) target: Target,
    pub(crate) refresh: Duration,
    pub(crate) max_stale: Duration,
    pub(crate) time: Timebase,
    current: ArcSwapOption<KeySet>,
    /// Clock nanoseconds of the last good fetch; `u64::MAX` before the first.
    last_good: AtomicU64,
    schedule: Mutex<Schedule>,
    /// Wakes the task for an early refetch.
    pub(crate) wake: Notify,
    /// How many fetches have finished, good or not.
    finished: watch::Sender<u64>,
}

#[derive(Default)]
struct Schedule {
    started: u64,
    /// When the last early refetch was granted, and which fetch serves it.
    early_at: Option<u64>,
    early_fetch: u64,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let generation = self.shared.current.load().as_ref().map(|s| s.generation);
        f.debug_struct("Remote")
            .field("url", &self.shared.target.shown)
            .field("generation", &generation)
            .finish()
    }
}

impl Remote {
    /// Starts the background task on the current Tokio runtime. Outside one (`switchyard
    /// check`) nothing is fetched and tokens needing these keys are refused.
    pub(crate) fn start(p: &JwksUrl, time: &Timebase) -> Result<Self, String> {
        let shared = Arc::new(Shared {
            target: Target::new(&p.url, p.timeout, p.ca_pem.as_deref())?,
            refresh: p.refresh,
            max_stale: p.max_stale,
            time: time.clone(),
            current: ArcSwapOption::empty(),
            last_good: AtomicU64::new(u64::MAX),
            schedule: Mutex::default(),
            wake: Notify::new(),
            finished: watch::Sender::new(0),
        });
        let task = tokio::runtime::Handle::try_current()
            .ok()
            .map(|rt| rt.spawn(refresh::run(Arc::clone(&shared))).abort_handle());
        Ok(Self {
            shared,
            task,
            wait_limit: p.timeout.saturating_mul(2),
        })
    }

    /// The fetched keys, if a fetch succeeded within `max_stale`.
    pub(crate) fn fresh(&self) -> Option<Arc<KeySet>> {
        let last = self.shared.last_good.load(Ordering::Acquire);
        let age = self.shared.time.nanos().checked_sub(last)?;
        (age <= nanos(self.shared.max_stale))
            .then(|| self.shared.current.load_full())
            .flatten()
    }

    /// Why there are no fresh keys, for the problem document.
    pub(crate) fn unavailable(&self) -> String {
        match self.shared.last_good.load(Ordering::Acquire) {
            u64::MAX => "no fetch of the JWKS URL has succeeded yet".to_owned(),
            _ => format!(
                "the last good fetch of the JWKS URL is older than max_stale ({})",
                seconds(self.shared.max_stale)
            ),
        }
    }

    /// Waits for the first fetch while it runs, so that tokens arriving at start (or after a
    /// reload that changed the policy) are not refused for want of keys.
    pub(crate) async fn first_fetch(&self) {
        if self.task.is_none() || *self.shared.finished.borrow() > 0 {
            return;
        }
        let mut finished = self.shared.finished.subscribe();
        let first = finished.wait_for(|n| *n > 0);
        let _ = tokio::time::timeout(self.wait_limit, first).await;
    }

    /// Asks the task for an early fetch because a token names an unknown `kid`, and waits for
    /// it. At most one is granted per [`EARLY_REFETCH_INTERVAL`]; a request refused one still
    /// waits for the granted fetch if it has not finished. False when there was none to wait for.
    pub(crate) async fn refetch_for_unknown_kid(&self) -> bool {
        if self.task.is_none() {
            return false;
        }
        let mut finished = self.shared.finished.subscribe();
        let target = {
            let Ok(mut s) = self.shared.schedule.lock() else {
                return false;
            };
            let now = self.shared.time.nanos();
            let recent = s
                .early_at
                .is_some_and(|at| now.saturating_sub(at) < nanos(EARLY_REFETCH_INTERVAL));
            if !recent {
                s.early_at = Some(now);
                s.early_fetch = s.started + 1;
                self.shared.wake.notify_one();
            } else if *finished.borrow_and_update() >= s.early_fetch {
                return false;
            }
            s.early_fetch
        };
        let done = finished.wait_for(|n| *n >= target);
        tokio::time::timeout(self.wait_limit, done).await.is_ok()
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl Shared {
    pub(crate) fn begin_fetch(&self) {
        if let Ok(mut s) = self.schedule.lock() {
            s.started += 1;
        }
    }

    pub(crate) fn end_fetch(&self) {
        self.finished.send_modify(|n| *n += 1);
    }

    /// How long ago (on the policy's clock) the last good fetch was, if there was one.
    pub(crate) fn age(&self) -> Option<Duration> {
        let last = self.last_good.load(Ordering::Acquire);
        let age = self.time.nanos().checked_sub(last)?;
        Some(Duration::from_nanos(age))
    }

    /// Takes a fetched document: the keys are swapped when it differs from the current one
    /// (its keys parsed; keys that cannot be used are skipped and named in the result), and
    /// the fetch counts as good.
    pub(crate) fn install(&self, body: &[u8]) -> Result<Installed, String> {
        let digest: [u8; 32] = Sha256::digest(body).into();
        let current = self.current.load_full();
        let installed = match current.as_ref().filter(|c| c.digest == digest) {
            Some(_) => Installed::Unchanged,
            None => {
                let (keys, skipped) = keys::remote_jwks(body)?;
                let generation = current.map_or(1, |c| c.generation + 1);
                let count = keys.len();
                self.current.store(Some(Arc::new(KeySet {
                    keys,
                    generation,
                    digest,
                })));
                Installed::Changed { count, skipped }
            }
        };
        self.last_good.store(self.time.nanos(), Ordering::Release);
        Ok(installed)
    }
}

/// What a good fetch changed.
pub(crate) enum Installed {
    Unchanged,
    Changed { count: usize, skipped: Vec<String> },
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

pub(crate) fn seconds(d: Duration) -> String {
    format!("{}s", d.as_secs())
}
