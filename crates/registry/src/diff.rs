//! Diff summaries between two subgraph sets, with a unified diff of each changed SDL.

use std::collections::BTreeMap;

use similar::TextDiff;

use crate::{ChangeKind, SubgraphChange, SubgraphRecord};

/// What changed from `before` to `after`, sorted by subgraph name.
pub(crate) fn changes(before: &[SubgraphRecord], after: &[SubgraphRecord]) -> Vec<SubgraphChange> {
    let old: BTreeMap<&str, &SubgraphRecord> = by_name(before);
    let new: BTreeMap<&str, &SubgraphRecord> = by_name(after);
    let mut names: Vec<&str> = old.keys().chain(new.keys()).copied().collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| change(name, old.get(name).copied(), new.get(name).copied()))
        .collect()
}

fn by_name(set: &[SubgraphRecord]) -> BTreeMap<&str, &SubgraphRecord> {
    set.iter().map(|s| (s.name.as_str(), s)).collect()
}

fn change(
    name: &str,
    old: Option<&SubgraphRecord>,
    new: Option<&SubgraphRecord>,
) -> Option<SubgraphChange> {
    let (kind, sdl_diff) = match (old, new) {
        (None, Some(_)) => (ChangeKind::Added, None),
        (Some(_), None) => (ChangeKind::Removed, None),
        (Some(a), Some(b)) if a == b => return None,
        (Some(a), Some(b)) => (ChangeKind::Updated, unified(name, &a.sdl, &b.sdl)),
        (None, None) => return None,
    };
    Some(SubgraphChange {
        subgraph: name.to_owned(),
        kind,
        sdl_diff,
    })
}

/// A unified diff of two SDLs, or `None` when they are equal (only the URL changed).
fn unified(name: &str, old: &str, new: &str) -> Option<String> {
    if old == new {
        return None;
    }
    let diff = TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header(&format!("a/{name}.graphql"), &format!("b/{name}.graphql"))
        .to_string();
    Some(diff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(name: &str, url: &str, sdl: &str) -> SubgraphRecord {
        SubgraphRecord {
            name: name.into(),
            url: url.into(),
            sdl: sdl.into(),
        }
    }

    #[test]
    fn names_each_added_updated_and_removed_subgraph() {
        let before = [sub("a", "u", "type A {\n  x: Int\n}\n"), sub("b", "u", "")];
        let after = [sub("a", "u", "type A {\n  y: Int\n}\n"), sub("c", "u", "")];
        let found = changes(&before, &after);
        let kinds: Vec<_> = found
            .iter()
            .map(|c| (c.subgraph.as_str(), c.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("a", ChangeKind::Updated),
                ("b", ChangeKind::Removed),
                ("c", ChangeKind::Added)
            ]
        );
        let diff = found[0].sdl_diff.as_deref().expect("a diff");
        assert!(diff.contains("-  x: Int\n+  y: Int\n"), "{diff}");
    }

    #[test]
    fn a_url_change_is_an_update_without_sdl_diff() {
        let found = changes(&[sub("a", "u1", "s")], &[sub("a", "u2", "s")]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].sdl_diff, None);
    }
}
