//! Reload on config file change: polls the file's contents (robust to editors that replace
//! files by rename, and to network filesystems where change events are unreliable).

use crate::gateway::ReloadHandle;
use std::path::PathBuf;
use std::time::Duration;

/// Watches `path` every `interval` and reloads when its bytes change; errors are logged and
/// the running config stays.
pub async fn watch_config_file(path: PathBuf, handle: ReloadHandle, interval: Duration) {
    let mut last = std::fs::read(&path).ok();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let current = std::fs::read(&path).ok();
        if current.is_none() || current == last {
            continue;
        }
        last = current;
        match handle.reload_file(&path) {
            Ok(generation) => tracing::info!(file = %path.display(), generation, "config reloaded"),
            Err(e) => {
                tracing::error!(file = %path.display(), "config rejected, keeping the running one: {e}")
            }
        }
    }
}
