//! Where a cluster's endpoints come from: the config's static list, DNS, or a YAML file.
//!
//! [`start`] turns a cluster's [`Discovery`] config into a [`tokio::sync::watch`] channel that
//! always holds the latest endpoint list, so the data plane reads membership without waiting
//! and rebuilds its `EndpointSet` (keeping the stats of endpoints that stay) only when the list
//! changes. A static cluster publishes its list once and runs nothing. DNS and file discovery
//! run one background task per cluster, owned by the returned [`Discovered`]: dropping it (say,
//! when a reload replaces the cluster) stops the task. Both sources fail safe: a failed lookup,
//! a missing file or a bad file logs a warning and keeps the last good list, and so does an
//! empty answer once the list has ever been non-empty, since an outage of the source must not
//! empty a working cluster. The config's static endpoints are the list until the source first
//! answers. Lists are published only when they differ from the current one; DNS lists are
//! sorted, so a resolver that rotates its answers causes no churn. DNS is re-resolved when the
//! answer's TTL runs out (at least 1 s), and at least every `max_interval` (the resolver's cache
//! is cleared first, so that interval asks the server); the file is polled for byte changes once
//! a second, like the config file itself, which also works for editors that replace files by
//! rename and for filesystems without change events.

mod dns;
mod file;

use std::time::Duration;
use switchyard_balance::EndpointSpec;
use switchyard_config::Discovery;
use tokio::sync::watch;
use tokio::task::AbortHandle;

/// How often file discovery re-reads its file.
const FILE_POLL: Duration = Duration::from_secs(1);

/// One cluster's discovered endpoints; dropping it stops discovery.
///
/// `endpoints.changed()` waits for the next list, for every kind of discovery, and fails once
/// this is dropped: receivers cloned from it see no more updates then, so keep the `Discovered`
/// itself for as long as the cluster lives (a temporary such as `start(..).endpoints.clone()`
/// stops at once).
#[derive(Debug)]
pub struct Discovered {
    /// Always holds the latest endpoint list.
    pub endpoints: watch::Receiver<Vec<EndpointSpec>>,
    task: Option<AbortHandle>,
    /// A static list's sender, kept so that `changed()` waits (rather than fails at once) for
    /// as long as the cluster lives, as it does with DNS and file discovery.
    _static: Option<watch::Sender<Vec<EndpointSpec>>>,
}

impl Discovered {
    /// Whether a background task keeps the list up to date (DNS and file discovery).
    pub fn is_dynamic(&self) -> bool {
        self.task.is_some()
    }
}

impl Drop for Discovered {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Starts discovery for one cluster; the receiver always holds the latest endpoint list.
///
/// Static: `static_endpoints`, once. DNS and file: `static_endpoints` until the source first
/// answers (the file is read before this returns, DNS in the background), then re-read in a
/// background task. A failed lookup or a bad file keeps the last good list and logs a warning;
/// an empty answer also keeps the last good list unless it was never non-empty.
///
/// # Panics
///
/// For DNS and file discovery, when called outside a Tokio runtime.
pub fn start(
    cluster: &str,
    discovery: &Discovery,
    static_endpoints: Vec<EndpointSpec>,
) -> Discovered {
    start_with(cluster, discovery, static_endpoints, FILE_POLL)
}

/// [`start`] with the file poll interval as a parameter (tests poll faster).
pub(crate) fn start_with(
    cluster: &str,
    discovery: &Discovery,
    static_endpoints: Vec<EndpointSpec>,
    file_poll: Duration,
) -> Discovered {
    let seeded = !static_endpoints.is_empty();
    let (tx, endpoints) = watch::channel(static_endpoints);
    let publisher = Publisher::new(cluster, tx, seeded);
    let mut kept = None;
    let task = match discovery {
        Discovery::Static => {
            kept = Some(publisher.tx);
            None
        }
        Discovery::Dns {
            name,
            port,
            srv,
            max_interval,
            server,
        } => {
            let target = dns::Target {
                name: name.clone(),
                port: *port,
                srv: *srv,
                max_interval: *max_interval,
                server: server.clone(),
            };
            Some(tokio::spawn(dns::run(target, publisher)).abort_handle())
        }
        Discovery::File(path) => {
            let watcher = file::Watcher::new(path.into(), publisher);
            Some(tokio::spawn(watcher.run(file_poll)).abort_handle())
        }
    };
    Discovered {
        endpoints,
        task,
        _static: kept,
    }
}

/// Publishes lists to one cluster's channel under the keep-the-last-good-list rules.
#[derive(Debug)]
pub(crate) struct Publisher {
    cluster: String,
    tx: watch::Sender<Vec<EndpointSpec>>,
    ever_non_empty: bool,
    /// An empty answer was reported (once per run of empty answers, not at every retry).
    warned_empty: bool,
}

impl Publisher {
    /// `ever_non_empty`: whether the channel's initial list (the static one) has endpoints.
    fn new(cluster: &str, tx: watch::Sender<Vec<EndpointSpec>>, ever_non_empty: bool) -> Self {
        Self {
            cluster: cluster.to_owned(),
            tx,
            ever_non_empty,
            warned_empty: false,
        }
    }

    pub(crate) fn cluster(&self) -> &str {
        &self.cluster
    }

    /// Offers a list read from `source`; returns whether it was published (it differed from
    /// the current list and was not an empty list replacing a non-empty one).
    pub(crate) fn offer(&mut self, source: &str, list: Vec<EndpointSpec>) -> bool {
        if list.is_empty() {
            if !self.warned_empty {
                self.warned_empty = true;
                let kept = if self.ever_non_empty {
                    "; keeping the last good list"
                } else {
                    ""
                };
                tracing::warn!(cluster = %self.cluster, source, "no endpoints found{kept}");
            }
            if self.ever_non_empty {
                return false;
            }
        } else {
            self.ever_non_empty = true;
            self.warned_empty = false;
        }
        let count = list.len();
        let changed = self.tx.send_if_modified(|current| {
            if *current == list {
                return false;
            }
            *current = list;
            true
        });
        if changed {
            tracing::info!(cluster = %self.cluster, source, endpoints = count, "endpoints updated");
        }
        changed
    }

    /// Whether nobody can read the list any more (the task may stop).
    pub(crate) fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publisher(initial: &[&str]) -> (Publisher, watch::Receiver<Vec<EndpointSpec>>) {
        let initial = list(initial);
        let seeded = !initial.is_empty();
        let (tx, rx) = watch::channel(initial);
        (Publisher::new("c", tx, seeded), rx)
    }

    fn list(addresses: &[&str]) -> Vec<EndpointSpec> {
        addresses.iter().map(|a| EndpointSpec::new(*a)).collect()
    }

    #[test]
    fn publishes_only_changes() {
        let (mut p, mut rx) = publisher(&[]);
        assert!(!rx.has_changed().unwrap(), "the initial list is no change");
        assert!(p.offer("t", list(&["a:1"])));
        assert!(rx.has_changed().unwrap());
        rx.mark_unchanged();
        assert!(!p.offer("t", list(&["a:1"])));
        assert!(!rx.has_changed().unwrap(), "an equal list is not a change");
    }

    #[test]
    fn empty_answer_keeps_the_last_good_list() {
        let (mut p, rx) = publisher(&[]);
        assert!(p.offer("t", list(&["a:1"])));
        assert!(!p.offer("t", Vec::new()));
        assert_eq!(*rx.borrow(), list(&["a:1"]));
    }

    #[test]
    fn empty_answer_keeps_the_static_seed() {
        let (mut p, rx) = publisher(&["s:1"]);
        assert!(!p.offer("t", Vec::new()));
        assert_eq!(*rx.borrow(), list(&["s:1"]));
    }

    #[test]
    fn empty_answer_is_published_while_never_non_empty() {
        let (mut p, rx) = publisher(&[]);
        assert!(!p.offer("t", Vec::new()), "empty to empty is no change");
        assert!(rx.borrow().is_empty());
    }

    #[tokio::test]
    async fn static_publishes_once_and_runs_nothing() {
        let d = start("c", &Discovery::Static, list(&["a:1", "b:2"]));
        assert!(!d.is_dynamic());
        assert_eq!(*d.endpoints.borrow(), list(&["a:1", "b:2"]));
        assert!(!d.endpoints.has_changed().unwrap(), "and waits for changes");
        let mut rx = d.endpoints.clone();
        drop(d);
        assert!(rx.changed().await.is_err(), "until the cluster is dropped");
    }
}
