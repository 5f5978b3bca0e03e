//! `switchyard run`: serve a config file until SIGTERM/SIGINT, reloading on SIGHUP and on
//! file change, then drain.

use anyhow::Context;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use switchyard_proxy::{Gateway, ReloadHandle, watch_config_file};
use tokio::signal::unix::{SignalKind, signal};

/// Worker threads: `SWITCHYARD_WORKERS` if set, else one per core. With one worker the
/// current-thread scheduler serves everything on one thread (no cross-thread wakeups).
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    let workers = std::env::var("SWITCHYARD_WORKERS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    let mut builder = match workers {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    builder
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn run(path: &Path) -> anyhow::Result<ExitCode> {
    let config = match switchyard_config::load(path) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            return Ok(ExitCode::FAILURE);
        }
    };
    runtime()?.block_on(async {
        let gateway = Gateway::start(&config).await?;
        let handle = gateway.reload_handle();
        // Before saying it listens: the watcher's first look at the file comes first.
        tokio::spawn(watch_config_file(
            path.to_owned(),
            handle.clone(),
            Duration::from_secs(1),
        ));
        for (name, address) in gateway.addresses() {
            tracing::info!(listener = %name, %address, "listening");
        }
        if let Some(address) = gateway.admin_address() {
            tracing::info!(%address, "admin listening (/metrics, /ready)");
        }
        wait_for_stop(&handle, path).await?;
        drain(gateway).await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Reloads on SIGHUP until SIGTERM or SIGINT arrives.
async fn wait_for_stop(handle: &ReloadHandle, path: &Path) -> anyhow::Result<()> {
    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    loop {
        tokio::select! {
            _ = hangup.recv() => match handle.reload_file_fetching(path).await {
                Ok(generation) => tracing::info!(generation, "config reloaded on SIGHUP"),
                Err(e) => tracing::error!("config rejected, keeping the running one: {e}"),
            },
            _ = terminate.recv() => return Ok(()),
            _ = interrupt.recv() => return Ok(()),
        }
    }
}

pub async fn drain(gateway: Gateway) {
    let deadline = gateway.drain_timeout();
    tracing::info!(?deadline, "draining");
    if gateway.shutdown(deadline).await {
        tracing::info!("drained");
    } else {
        tracing::warn!("drain deadline passed with requests still in flight");
    }
}
