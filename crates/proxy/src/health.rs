//! A cluster's background health work: active checks (HTTP or TCP) and the periodic
//! success-rate pass of outlier detection. Tasks hold only a weak reference, so they end
//! when the cluster is dropped (it also aborts them).

use crate::cluster::Cluster;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;
use switchyard_config::{HealthCheck, HealthProbe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub fn start_tasks(cluster: &Arc<Cluster>) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    let weak = Arc::downgrade(cluster);
    let outlier = tokio::spawn(outlier_ticks(
        weak.clone(),
        cluster.config.balancing.outlier.interval,
    ));
    cluster.add_task(outlier.abort_handle());
    if let Some(check) = cluster.config.balancing.health_check.clone() {
        let active = tokio::spawn(active_checks(weak, check));
        cluster.add_task(active.abort_handle());
    }
}

async fn outlier_ticks(cluster: Weak<Cluster>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(cluster) = cluster.upgrade() else {
            return;
        };
        let membership = cluster.membership();
        let set = &membership.set;
        for i in switchyard_balance::interval_tick(set, set.now_ns()) {
            cluster.events.ejections.inc();
            tracing::warn!(cluster = %cluster.config.name, endpoint = %set.get(i).address, "ejected: success rate far below the cluster's");
        }
    }
}

/// Consecutive results per endpoint id: (passes, failures, currently healthy).
type Streaks = HashMap<u64, (u32, u32, bool)>;

async fn active_checks(cluster: Weak<Cluster>, check: HealthCheck) {
    let mut streaks = Streaks::new();
    loop {
        let jitter = 1.0 + check.jitter * (fastrand::f64() * 2.0 - 1.0);
        tokio::time::sleep(check.interval.mul_f64(jitter.max(0.0))).await;
        let Some(cluster) = cluster.upgrade() else {
            return;
        };
        let membership = cluster.membership();
        let probes = membership
            .set
            .iter()
            .map(|e| probe(&check, e.address.clone()));
        let results = futures_util::future::join_all(probes).await;
        for (i, passed) in results.into_iter().enumerate() {
            let id = membership.set.get(i).id;
            let streak = streaks.entry(id).or_insert((0, 0, true));
            if let Some(healthy) = next_state(streak, passed, &check) {
                membership.set.set_active_health(i, healthy);
                cluster.events.health_changes.inc();
                let address = &membership.set.get(i).address;
                match healthy {
                    true => {
                        tracing::info!(cluster = %cluster.config.name, endpoint = %address, "health check: healthy")
                    }
                    false => {
                        tracing::warn!(cluster = %cluster.config.name, endpoint = %address, "health check: unhealthy")
                    }
                }
            }
        }
        streaks.retain(|id, _| membership.set.iter().any(|e| e.id == *id));
    }
}

/// Updates a streak; returns the new state when it flips.
fn next_state(streak: &mut (u32, u32, bool), passed: bool, check: &HealthCheck) -> Option<bool> {
    let (passes, failures, healthy) = streak;
    if passed {
        *passes += 1;
        *failures = 0;
    } else {
        *failures += 1;
        *passes = 0;
    }
    let flip_up = !*healthy && *passes >= check.healthy_threshold;
    let flip_down = *healthy && *failures >= check.unhealthy_threshold;
    if flip_up || flip_down {
        *healthy = flip_up;
        return Some(*healthy);
    }
    None
}

async fn probe(check: &HealthCheck, address: String) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(address.as_str()).await.ok()?;
        let HealthProbe::Http { path, expected } = &check.probe else {
            return Some(true);
        };
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nUser-Agent: switchyard-health-check\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 32];
        let n = stream.read(&mut head).await.ok()?;
        let status: u16 = std::str::from_utf8(&head[..n])
            .ok()?
            .get(9..12)?
            .parse()
            .ok()?;
        Some(if expected.is_empty() {
            (200..300).contains(&status)
        } else {
            expected.contains(&status)
        })
    };
    matches!(
        tokio::time::timeout(check.timeout, attempt).await,
        Ok(Some(true))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_gate_each_flip() {
        let check = HealthCheck {
            probe: HealthProbe::Tcp,
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            healthy_threshold: 2,
            unhealthy_threshold: 3,
            jitter: 0.0,
        };
        let mut s = (0, 0, true);
        assert_eq!(next_state(&mut s, false, &check), None);
        assert_eq!(next_state(&mut s, false, &check), None);
        assert_eq!(next_state(&mut s, false, &check), Some(false));
        assert_eq!(next_state(&mut s, true, &check), None);
        assert_eq!(
            next_state(&mut s, false, &check),
            None,
            "a pass resets nothing yet"
        );
        assert_eq!(next_state(&mut s, true, &check), None);
        assert_eq!(next_state(&mut s, true, &check), Some(true));
    }
}
