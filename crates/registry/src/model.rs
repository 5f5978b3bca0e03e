//! The registry's data: variants, subgraphs, changes and versions, as the stores return them.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::StoreError;

/// A wall-clock source (UTC) for version times, injected so tests control it.
pub type Now = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// The system's wall clock.
pub fn system_now() -> Now {
    Arc::new(SystemTime::now)
}

/// A graph variant, written `graph@variant` (e.g. `movies@prod`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VariantRef {
    pub graph: String,
    pub variant: String,
}

impl VariantRef {
    /// A variant reference; names are checked when a store first sees them.
    pub fn new(graph: impl Into<String>, variant: impl Into<String>) -> Self {
        Self {
            graph: graph.into(),
            variant: variant.into(),
        }
    }

    /// Parses `graph@variant`; both parts must be valid names (see [`check_name`]).
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        let (graph, variant) = text
            .split_once('@')
            .ok_or_else(|| StoreError::InvalidName(text.to_owned()))?;
        let parsed = Self::new(graph, variant);
        parsed.check()?;
        Ok(parsed)
    }

    /// Checks both names.
    pub fn check(&self) -> Result<(), StoreError> {
        check_name(&self.graph)?;
        check_name(&self.variant)
    }
}

impl fmt::Display for VariantRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.graph, self.variant)
    }
}

/// Graph, variant and subgraph names: 1 to 64 characters from `A-Z a-z 0-9 _ -`.
pub fn check_name(name: &str) -> Result<(), StoreError> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if name.is_empty() || name.len() > 64 || !name.chars().all(valid_char) {
        return Err(StoreError::InvalidName(name.to_owned()));
    }
    Ok(())
}

/// One subgraph of a version: its name, where the gateway reaches it, and its SDL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubgraphRecord {
    pub name: String,
    pub url: String,
    pub sdl: String,
}

/// A subgraph's new URL and SDL, published by `author`.
#[derive(Debug, Clone)]
pub struct Publish {
    pub subgraph: String,
    pub url: String,
    pub sdl: String,
    pub author: String,
    pub message: String,
}

/// Removal of a subgraph from a variant.
#[derive(Debug, Clone)]
pub struct Delete {
    pub subgraph: String,
    pub author: String,
    pub message: String,
}

/// How a subgraph changed from one version to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Updated,
    Removed,
}

impl ChangeKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Updated => "updated",
            Self::Removed => "removed",
        }
    }

    /// Reads the stored spelling back.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "added" => Ok(Self::Added),
            "updated" => Ok(Self::Updated),
            "removed" => Ok(Self::Removed),
            other => Err(StoreError::Corrupt(format!("change kind {other:?}"))),
        }
    }
}

/// One line of a version's diff summary; `sdl_diff` is a unified diff of an updated SDL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubgraphChange {
    pub subgraph: String,
    pub kind: ChangeKind,
    pub sdl_diff: Option<String>,
}

/// A version without its schemas: what `history` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionSummary {
    /// Unique in the store (a row id); a rollback gets a new one.
    pub id: i64,
    /// 1, 2, 3 ... per variant.
    pub number: u64,
    pub author: String,
    pub message: String,
    pub created_at: SystemTime,
    /// Sorted by subgraph name.
    pub changes: Vec<SubgraphChange>,
}

/// A whole version: summary, supergraph and every subgraph (sorted by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRecord {
    pub summary: VersionSummary,
    pub supergraph: String,
    pub subgraphs: Vec<SubgraphRecord>,
}

/// What a change did: the variant's version after it, and whether the change created it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub number: u64,
    /// False when the change changed nothing (a publish of the same URL and SDL).
    pub created: bool,
}

/// Milliseconds since the Unix epoch, as stored (before 1970 is stored as 0).
pub(crate) fn to_millis(time: SystemTime) -> i64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// The stored milliseconds back as a time.
pub(crate) fn from_millis(millis: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}

/// A stored version number back as `u64`.
pub(crate) fn to_number(stored: i64) -> Result<u64, StoreError> {
    u64::try_from(stored).map_err(|_| StoreError::Corrupt(format!("version number {stored}")))
}

/// A version number as stored.
pub(crate) fn to_stored(number: u64) -> Result<i64, StoreError> {
    i64::try_from(number).map_err(|_| StoreError::UnknownVersion(number))
}
