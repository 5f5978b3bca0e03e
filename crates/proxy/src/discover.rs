//! Keeps a cluster's membership in step with its discovery source (DNS or a watched file).

use crate::cluster::Cluster;
use std::sync::{Arc, Weak};
use switchyard_balance::EndpointSpec;
use switchyard_config::Discovery;
use tokio::sync::watch;

/// Starts discovery for a dynamic cluster and a task that applies every new endpoint list.
pub fn start(cluster: &Arc<Cluster>, static_specs: Vec<EndpointSpec>) {
    let config = &cluster.config;
    if config.balancing.discovery == Discovery::Static {
        return;
    }
    let discovered =
        switchyard_discovery::start(&config.name, &config.balancing.discovery, static_specs);
    let receiver = discovered.endpoints.clone();
    let first = receiver.borrow().clone();
    if first != cluster.membership().specs() {
        cluster.set_endpoints(&first);
    }
    let task = tokio::spawn(follow(Arc::downgrade(cluster), receiver));
    cluster.add_task(task.abort_handle());
    cluster.keep_discovery(discovered);
}

async fn follow(cluster: Weak<Cluster>, mut endpoints: watch::Receiver<Vec<EndpointSpec>>) {
    while endpoints.changed().await.is_ok() {
        let list = endpoints.borrow_and_update().clone();
        let Some(cluster) = cluster.upgrade() else {
            return;
        };
        cluster.set_endpoints(&list);
    }
}
