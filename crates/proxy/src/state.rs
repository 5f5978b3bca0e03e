//! State shared by every connection: the current runtime behind an `ArcSwap`.

use crate::runtime::Runtime;
use arc_swap::ArcSwap;
use std::sync::atomic::AtomicU64;

#[derive(Debug)]
pub struct Shared {
    pub runtime: ArcSwap<Runtime>,
    /// Bumped on every successful reload.
    pub generation: AtomicU64,
}
