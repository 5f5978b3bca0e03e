//! State shared by every connection: the current runtime behind an `ArcSwap`.

use crate::runtime::Runtime;
use arc_swap::ArcSwap;
use std::sync::atomic::AtomicU64;

#[derive(Debug)]
pub struct Shared {
    pub runtime: ArcSwap<Runtime>,
    /// Bumped on every successful reload.
    pub generation: AtomicU64,
    /// The config the runtime was built from (registry routes without their SDL).
    pub config: std::sync::Mutex<std::sync::Arc<switchyard_config::Config>>,
    /// Serializes reloads (config file, admin, registry pollers).
    pub reload_lock: std::sync::Mutex<()>,
    /// Registry-backed supergraphs and their pollers.
    pub supergraphs: crate::registry_source::Supergraphs,
    /// The schema registry this process serves, when the config has one.
    pub embedded: Option<crate::embedded_registry::Embedded>,
}
