//! The on-disk copy of a remote registry variant's last good supergraph (`registry.cache`):
//! written after each version the gateway applies, read at start only when the registry
//! gives none (unreachable or an error answer), so a gateway can restart while its registry is down.
//!
//! The file is the SDL after one comment line naming the variant and version, so it is also a
//! supergraph any tool loads: `# switchyard supergraph cache: movies@prod version 4`.

use crate::registry_source::{Fetched, SourceKey};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const HEADER: &str = "# switchyard supergraph cache: ";

/// Writes `fetched` to `path` (through a temporary file, flushed to disk, and a rename, so a
/// reader never sees half a file); a failure is logged, not returned: serving does not depend
/// on the copy. Writes are serialized, and a version no newer than the one a file last held
/// (saved or loaded) from the same source is skipped, so saves that finish out of order never
/// leave an older copy behind, and a gateway started from its cache does not write it back
/// (another source's versions are not comparable: they always write).
pub async fn save(path: &Path, key: &SourceKey, fetched: &Fetched) {
    let text = format!(
        "{HEADER}{}@{} version {}\n{}",
        key.graph, key.variant, fetched.version, fetched.sdl
    );
    let (path, version, source) = (path.to_path_buf(), fetched.version, key.to_string());
    let written =
        tokio::task::spawn_blocking(move || write_newer(&path, (source, version), &text)).await;
    if let Ok(Err(e)) | Err(e) = written.map_err(std::io::Error::other) {
        tracing::warn!(registry = %key, "cannot write the supergraph cache: {e}");
    }
}

/// The source and version each cache file last held, as this process wrote or read it.
static WRITTEN: Mutex<BTreeMap<PathBuf, (String, u64)>> = Mutex::new(BTreeMap::new());

fn write_newer(path: &Path, version: (String, u64), text: &str) -> std::io::Result<()> {
    let mut written = WRITTEN.lock().unwrap_or_else(|e| e.into_inner());
    let not_newer = |(source, last): &(String, u64)| *source == version.0 && *last >= version.1;
    if written.get(path).is_some_and(not_newer) {
        return Ok(());
    }
    write_atomically(path, text)?;
    written.insert(path.to_path_buf(), version);
    Ok(())
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    // Named for this process: gateways sharing a cache path never write one temporary file.
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", std::process::id()));
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

/// The copy at `path`, if it is one of `key`'s variant.
pub async fn load(path: &Path, key: &SourceKey) -> Result<Fetched, String> {
    let owned = path.to_path_buf();
    let text = tokio::task::spawn_blocking(move || std::fs::read_to_string(owned))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let (first, sdl) = text.split_once('\n').unwrap_or((&text, ""));
    let expected = format!("{HEADER}{}@{} version ", key.graph, key.variant);
    let version = first
        .strip_prefix(&expected)
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("{} is not a cache of {key}", path.display()))?;
    let mut written = WRITTEN.lock().unwrap_or_else(|e| e.into_inner());
    written.insert(path.to_path_buf(), (key.to_string(), version));
    Ok(Fetched {
        version,
        sdl: sdl.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SourceKey {
        SourceKey {
            url: Some("http://127.0.0.1:1".into()),
            graph: "movies".into(),
            variant: "prod".into(),
        }
    }

    fn fetched(version: u64) -> Fetched {
        Fetched {
            version,
            sdl: format!("type Query {{ v{version}: Int }}\n"),
        }
    }

    #[tokio::test]
    async fn an_older_version_saved_late_never_replaces_a_newer_copy() {
        let dir = std::env::temp_dir().join(format!("sy-cache-{}", std::process::id()));
        let path = dir.join("nested").join("movies.graphql");
        save(&path, &key(), &fetched(5)).await;
        save(&path, &key(), &fetched(4)).await;
        let kept = load(&path, &key()).await.unwrap();
        assert_eq!((kept.version, kept.sdl), (5, fetched(5).sdl));
        save(&path, &key(), &fetched(6)).await;
        assert_eq!(load(&path, &key()).await.unwrap().version, 6);
        // Another registry's versions are not comparable: its version 1 is written.
        let moved = SourceKey {
            url: Some("http://127.0.0.1:2".into()),
            ..key()
        };
        save(&path, &moved, &fetched(1)).await;
        assert_eq!(load(&path, &moved).await.unwrap().version, 1);
        let leftovers = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_copy_the_gateway_started_from_is_not_written_back() {
        let dir = std::env::temp_dir().join(format!("sy-cache-back-{}", std::process::id()));
        let path = dir.join("movies.graphql");
        std::fs::create_dir_all(&dir).unwrap();
        let by_hand = format!("{HEADER}movies@prod version 5\ntype Query {{ kept: Int }}\n");
        std::fs::write(&path, &by_hand).unwrap();
        assert_eq!(load(&path, &key()).await.unwrap().version, 5);
        save(&path, &key(), &fetched(5)).await;
        assert_eq!(std::fs::read_to_string(&path).unwrap(), by_hand);
        save(&path, &key(), &fetched(6)).await;
        assert_eq!(load(&path, &key()).await.unwrap().version, 6);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
