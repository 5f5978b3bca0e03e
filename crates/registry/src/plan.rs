//! What a change does to a variant, decided the same way by both backends: each backend loads
//! the current version under its lock, calls [`plan`], and writes the [`Outcome`].

use crate::{Compose, Delete, Publish, StoreError, SubgraphRecord, VersionRecord, diff};

/// A change to a variant.
pub(crate) enum Mutation {
    Publish(Publish, Compose),
    Delete(Delete, Compose),
    Rollback { to: u64, author: String },
}

impl Mutation {
    /// The version a rollback needs loaded (under the lock) before [`plan`].
    pub(crate) fn rollback_target(&self) -> Option<u64> {
        match self {
            Self::Rollback { to, .. } => Some(*to),
            _ => None,
        }
    }
}

/// The variant's state when the change starts: version 0 has no subgraphs.
#[derive(Debug, Default)]
pub(crate) struct Head {
    pub number: u64,
    pub subgraphs: Vec<SubgraphRecord>,
}

/// A version to write.
#[derive(Debug)]
pub(crate) struct NewVersion {
    pub number: u64,
    pub author: String,
    pub message: String,
    pub supergraph: String,
    pub subgraphs: Vec<SubgraphRecord>,
    pub changes: Vec<crate::SubgraphChange>,
}

/// What to do.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Nothing changed: the variant stays at this version.
    Unchanged(u64),
    Create(NewVersion),
}

/// Decides the change; runs the caller's composition when the subgraph set changes. `target`
/// is the loaded [`Mutation::rollback_target`] (`None` when that version does not exist).
pub(crate) fn plan(
    variant: &str,
    head: Head,
    mutation: Mutation,
    target: Option<VersionRecord>,
) -> Result<Outcome, StoreError> {
    match mutation {
        Mutation::Publish(change, compose) => publish(head, change, compose),
        Mutation::Delete(change, compose) => delete(variant, head, change, compose),
        Mutation::Rollback { to, author } => {
            let target = target.ok_or(StoreError::UnknownVersion(to))?;
            Ok(rollback(head, target, author))
        }
    }
}

fn publish(head: Head, change: Publish, compose: Compose) -> Result<Outcome, StoreError> {
    crate::check_name(&change.subgraph)?;
    let mut subgraphs = head.subgraphs.clone();
    match subgraphs.iter_mut().find(|s| s.name == change.subgraph) {
        Some(s) if s.url == change.url && s.sdl == change.sdl => {
            return Ok(Outcome::Unchanged(head.number));
        }
        Some(s) => (s.url, s.sdl) = (change.url, change.sdl),
        None => subgraphs.push(SubgraphRecord {
            name: change.subgraph,
            url: change.url,
            sdl: change.sdl,
        }),
    }
    subgraphs.sort_by(|a, b| a.name.cmp(&b.name));
    compose_new(head, subgraphs, change.author, change.message, compose)
}

fn delete(
    variant: &str,
    head: Head,
    change: Delete,
    compose: Compose,
) -> Result<Outcome, StoreError> {
    let mut subgraphs = head.subgraphs.clone();
    let before = subgraphs.len();
    subgraphs.retain(|s| s.name != change.subgraph);
    if subgraphs.len() == before {
        return Err(StoreError::UnknownSubgraph {
            variant: variant.to_owned(),
            subgraph: change.subgraph,
        });
    }
    compose_new(head, subgraphs, change.author, change.message, compose)
}

fn compose_new(
    head: Head,
    subgraphs: Vec<SubgraphRecord>,
    author: String,
    message: String,
    compose: Compose,
) -> Result<Outcome, StoreError> {
    let supergraph = compose(&subgraphs).map_err(StoreError::Composition)?;
    Ok(Outcome::Create(NewVersion {
        number: head.number + 1,
        changes: diff::changes(&head.subgraphs, &subgraphs),
        author,
        message,
        supergraph,
        subgraphs,
    }))
}

/// A rollback always creates a version (it is a recorded decision), even when equal to the head.
fn rollback(head: Head, target: VersionRecord, author: String) -> Outcome {
    Outcome::Create(NewVersion {
        number: head.number + 1,
        changes: diff::changes(&head.subgraphs, &target.subgraphs),
        message: format!("rollback to version {}", target.summary.number),
        author,
        supergraph: target.supergraph,
        subgraphs: target.subgraphs,
    })
}
