//! Reload on config file change: polls the file's contents (robust to editors that replace
//! files by rename, and to network filesystems where change events are unreliable).

use crate::gateway::ReloadHandle;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// Watches `path` (and the files it names, such as supergraphs) every `interval` and reloads
/// when their bytes change; errors are logged and the running config stays. The files are
/// read once here, when called, not when the returned future first runs: a change made after
/// the gateway said it was listening (and before a busy runtime got to the task) is a change.
pub fn watch_config_file(
    path: PathBuf,
    handle: ReloadHandle,
    interval: Duration,
) -> impl Future<Output = ()> {
    let last = snapshot(&path, &handle);
    poll(path, handle, interval, last)
}

async fn poll(
    path: PathBuf,
    handle: ReloadHandle,
    interval: Duration,
    mut last: Vec<Option<Vec<u8>>>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let current = snapshot(&path, &handle);
        if current.first().is_none_or(Option::is_none) || current == last {
            continue;
        }
        last = current;
        match handle.reload_file_fetching(&path).await {
            Ok(generation) => tracing::info!(file = %path.display(), generation, "config reloaded"),
            Err(e) => {
                tracing::error!(file = %path.display(), "config rejected, keeping the running one: {e}")
            }
        }
    }
}

/// The bytes of the config file, then of each file the running config was built from.
fn snapshot(path: &std::path::Path, handle: &ReloadHandle) -> Vec<Option<Vec<u8>>> {
    std::iter::once(path.to_path_buf())
        .chain(handle.source_files())
        .map(|p| std::fs::read(p).ok())
        .collect()
}
