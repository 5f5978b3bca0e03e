//! The on-disk copy of a remote registry variant's last good supergraph (`registry.cache`):
//! written after each version the gateway applies, read at start only when the registry
//! cannot be reached, so a gateway can restart while its registry is down.
//!
//! The file is the SDL after one comment line naming the variant and version, so it is also a
//! supergraph any tool loads: `# switchyard supergraph cache: movies@prod version 4`.

use crate::registry_source::{Fetched, SourceKey};
use std::path::{Path, PathBuf};

const HEADER: &str = "# switchyard supergraph cache: ";

/// Writes `fetched` to `path` (through a temporary file and a rename, so a reader never sees
/// half a file); a failure is logged, not returned: serving does not depend on the copy.
pub async fn save(path: &Path, key: &SourceKey, fetched: &Fetched) {
    let text = format!(
        "{HEADER}{}@{} version {}\n{}",
        key.graph, key.variant, fetched.version, fetched.sdl
    );
    let path = path.to_path_buf();
    let written = tokio::task::spawn_blocking(move || write_atomically(&path, &text)).await;
    if let Ok(Err(e)) | Err(e) = written.map_err(std::io::Error::other) {
        tracing::warn!(registry = %key, "cannot write the supergraph cache: {e}");
    }
}

fn write_atomically(path: &PathBuf, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut temporary = path.clone().into_os_string();
    temporary.push(".tmp");
    std::fs::write(&temporary, text)?;
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
    Ok(Fetched {
        version,
        sdl: sdl.to_owned(),
    })
}
