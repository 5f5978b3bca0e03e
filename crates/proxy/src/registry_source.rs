//! GraphQL routes whose supergraph comes from a registry variant: the first fetch (before a
//! runtime is built), the latest good supergraph of each variant, and the pollers that fetch
//! new versions and apply them through the normal reload path.
//!
//! A route following the embedded registry (`registry` without `url`) reads the store directly
//! and is woken by each publish; while its variant has no version it answers 503.
//!
//! A new version is applied by rebuilding the runtime from the running config with the new
//! SDL: the route gets a new `switchyard_graphql::Gateway` (plan cache included), clusters and
//! other routes are kept, and the swap is the same `ArcSwap` store a config reload does, so
//! requests in flight finish on the runtime they started with.

use crate::embedded_registry::Embedded;
use crate::gateway::ReloadHandle;
use crate::runtime::BuildError;
use crate::state::Shared;
use crate::supergraph_cache;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use switchyard_config::{Action, Config, RegistrySource, RespondAction};
use switchyard_registry::http::client::{self, Limits};
use switchyard_registry::{Store, VariantRef};
use tokio::task::JoinHandle;

/// Bound on one fetch (connect, send, read the whole supergraph).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest supergraph read.
const MAX_SUPERGRAPH: usize = 64 * 1024 * 1024;

/// One variant of one registry (`url` `None`: the embedded registry).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceKey {
    pub url: Option<String>,
    pub graph: String,
    pub variant: String,
}

impl SourceKey {
    pub fn of(source: &RegistrySource) -> Self {
        Self {
            url: source.url.clone(),
            graph: source.graph.clone(),
            variant: source.variant.clone(),
        }
    }
}

impl std::fmt::Display for SourceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.url {
            Some(url) => write!(f, "{}@{} at {url}", self.graph, self.variant),
            None => write!(f, "{}@{} (embedded registry)", self.graph, self.variant),
        }
    }
}

/// Where a variant's versions are read: over HTTP, or from the embedded registry's store.
#[derive(Clone)]
enum Origin {
    Remote(RegistrySource),
    Embedded(Arc<dyn Store>, VariantRef),
}

impl Origin {
    fn of(source: &RegistrySource, embedded: Option<&Embedded>) -> Result<Self, String> {
        if source.url.is_some() {
            return Ok(Origin::Remote(source.clone()));
        }
        let Some(embedded) = embedded else {
            return Err(
                "this gateway was started without an embedded registry (the top-level \
                        `registry` section takes effect at start)"
                    .to_owned(),
            );
        };
        let at = format!("{}@{}", source.graph, source.variant);
        let variant = VariantRef::parse(&at).map_err(|e| e.to_string())?;
        Ok(Origin::Embedded(Arc::clone(&embedded.store), variant))
    }

    /// Its current version, unless it is `known`.
    async fn fetch(&self, known: Option<u64>) -> Result<Fetch, String> {
        match self {
            Origin::Remote(source) => fetch(source, known).await,
            Origin::Embedded(store, variant) => fetch_stored(store.as_ref(), variant, known).await,
        }
    }
}

/// A supergraph version as served by the registry.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub version: u64,
    pub sdl: String,
}

/// The latest good supergraph of every registry variant in use, and their pollers.
#[derive(Debug, Default)]
pub struct Supergraphs {
    current: Mutex<HashMap<SourceKey, Fetched>>,
    pollers: Mutex<HashMap<SourceKey, JoinHandle<()>>>,
}

impl Supergraphs {
    pub fn get(&self, key: &SourceKey) -> Option<Fetched> {
        lock(&self.current).get(key).cloned()
    }

    fn set(&self, key: SourceKey, fetched: Option<Fetched>) {
        let mut current = lock(&self.current);
        match fetched {
            Some(f) => current.insert(key, f),
            None => current.remove(&key),
        };
    }

    /// Stops every poller (gateway shutdown).
    pub fn stop(&self) {
        for (_, task) in lock(&self.pollers).drain() {
            task.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The registry sources of `config`'s GraphQL routes, with the route names using each.
fn sources(config: &Config) -> Vec<(String, String, &RegistrySource)> {
    config
        .routes
        .iter()
        .filter_map(|r| match &r.action {
            Action::GraphQL(g) => g
                .registry
                .as_ref()
                .map(|s| (r.name.clone(), g.origin.clone(), s)),
            _ => None,
        })
        .collect()
}

/// What one poll learnt.
#[derive(Debug)]
pub enum Fetch {
    NotModified,
    New(Fetched),
    /// The variant has no version yet (embedded registry: the route waits for a publish).
    Empty,
}

/// Reads the variant's version number (one indexed row), and the version when it is new.
async fn fetch_stored(
    store: &dyn Store,
    variant: &VariantRef,
    known: Option<u64>,
) -> Result<Fetch, String> {
    let number = store
        .current_version_number(variant)
        .await
        .map_err(|e| e.to_string())?;
    if number == 0 {
        return Ok(Fetch::Empty);
    }
    if Some(number) == known {
        return Ok(Fetch::NotModified);
    }
    match store.current(variant).await.map_err(|e| e.to_string())? {
        Some(v) => Ok(Fetch::New(Fetched {
            version: v.summary.number,
            sdl: v.supergraph,
        })),
        None => Ok(Fetch::Empty),
    }
}

/// Asks the registry for the variant's current supergraph, `If-None-Match` the version known.
pub async fn fetch(source: &RegistrySource, known: Option<u64>) -> Result<Fetch, String> {
    let mut headers = HeaderMap::new();
    if let Some(v) = known
        && let Ok(value) = HeaderValue::from_str(&format!("\"{v}\""))
    {
        headers.insert(header::IF_NONE_MATCH, value);
    }
    if let Some(token) = &source.token
        && let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}"))
    {
        headers.insert(header::AUTHORIZATION, value);
    }
    let limits = Limits {
        timeout: FETCH_TIMEOUT,
        max_body: MAX_SUPERGRAPH,
    };
    let url = source.supergraph_url().unwrap_or_default();
    let reply = client::send(Method::GET, &url, headers, bytes::Bytes::new(), limits)
        .await
        .map_err(|e| e.to_string())?;
    match reply.status {
        StatusCode::NOT_MODIFIED => Ok(Fetch::NotModified),
        StatusCode::OK => {
            let version = reply
                .headers
                .get(header::ETAG)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim_start_matches("W/").trim_matches('"').parse().ok())
                .ok_or_else(|| "the answer has no numeric ETag".to_owned())?;
            let sdl = String::from_utf8(reply.body.to_vec())
                .map_err(|_| "the supergraph is not UTF-8".to_owned())?;
            Ok(Fetch::New(Fetched { version, sdl }))
        }
        status => {
            let text = reply.text();
            let text = text.trim();
            let shown: String = text.chars().take(200).collect();
            Err(format!("HTTP {status}: {shown}"))
        }
    }
}

/// Fetches the supergraph of every registry source of `config` not fetched yet; creates the
/// embedded registry's variants the routes follow.
pub async fn prefetch(
    config: &Config,
    supergraphs: &Supergraphs,
    embedded: Option<&Embedded>,
) -> Result<(), BuildError> {
    for (route, origin, source) in sources(config) {
        let origin = format!("{origin}: route `{route}`");
        let key = SourceKey::of(source);
        if supergraphs.get(&key).is_some() {
            continue;
        }
        let from = Origin::of(source, embedded).map_err(|e| fetch_error(&origin, source, &e))?;
        if let Origin::Embedded(store, variant) = &from
            && store
                .ensure_variant(variant)
                .await
                .map_err(|e| fetch_error(&origin, source, &e.to_string()))?
        {
            tracing::info!(registry = %key, "variant created in the embedded registry");
        }
        match from.fetch(None).await {
            Ok(Fetch::New(f)) => {
                tracing::info!(registry = %key, version = f.version, "supergraph fetched");
                supergraphs.set(key, Some(f));
            }
            Ok(Fetch::Empty) if source.url.is_none() => {
                tracing::info!(registry = %key, "no supergraph published yet: the route answers 503 until one is");
            }
            Ok(Fetch::NotModified | Fetch::Empty) => {
                let e = "no version yet";
                return Err(fetch_error(&origin, source, e));
            }
            Err(e) => {
                let cached = from_cache(source, &key, &e).await;
                let f = cached.ok_or_else(|| fetch_error(&origin, source, &e))?;
                supergraphs.set(key, Some(f));
            }
        }
    }
    Ok(())
}

/// The cached supergraph, when the registry gave none (`why`: unreachable, or an error
/// answer) and the route has a usable cache; logged either way.
async fn from_cache(source: &RegistrySource, key: &SourceKey, why: &str) -> Option<Fetched> {
    let cache = source.cache.as_ref()?;
    match supergraph_cache::load(cache, key).await {
        Ok(f) => {
            tracing::warn!(registry = %key, version = f.version, cache = %cache.display(),
                "the registry gave no supergraph ({why}): serving the cached one until it does");
            Some(f)
        }
        Err(e) => {
            tracing::warn!(registry = %key, "no usable supergraph cache: {e}");
            None
        }
    }
}

fn fetch_error(origin: &str, source: &RegistrySource, e: &str) -> BuildError {
    BuildError::Route(format!(
        "{origin}: cannot fetch the supergraph of {}: {e}",
        source.describe()
    ))
}

/// `config` with the SDL of each registry route filled in from `supergraphs`.
pub fn resolve(config: &Config, supergraphs: &Supergraphs) -> Result<Config, BuildError> {
    if sources(config).is_empty() {
        return Ok(config.clone());
    }
    let mut resolved = config.clone();
    for route in &mut resolved.routes {
        if let Action::GraphQL(g) = &mut route.action
            && let Some(source) = &g.registry
        {
            let key = SourceKey::of(source);
            match supergraphs.get(&key) {
                Some(f) => g.supergraph_sdl = f.sdl,
                None if source.url.is_none() => route.action = waiting(source),
                None => {
                    return Err(BuildError::Route(format!(
                        "{}: no supergraph fetched yet from {}",
                        g.origin,
                        source.describe()
                    )));
                }
            }
        }
    }
    Ok(resolved)
}

/// What a route following an embedded variant with no version answers: 503 until a publish.
fn waiting(source: &RegistrySource) -> Action {
    let detail = format!(
        "no supergraph has been published to {}@{} yet",
        source.graph, source.variant
    );
    let body = serde_json::json!({
        "type": "https://switchyard.dev/problems/no_supergraph",
        "title": "Service Unavailable",
        "status": 503,
        "detail": detail,
        "code": "no_supergraph",
    });
    Action::Respond(RespondAction {
        status: 503,
        body: body.to_string(),
        headers: vec![
            (
                "content-type".to_owned(),
                "application/problem+json".to_owned(),
            ),
            ("retry-after".to_owned(), "1".to_owned()),
        ],
    })
}

/// Starts a poller for each registry source of `config` that has none, stops those of sources
/// it no longer uses (and forgets their supergraph).
pub fn sync_pollers(shared: &Arc<Shared>, config: &Config) {
    let embedded = shared.embedded.as_ref();
    let wanted: HashMap<SourceKey, (Origin, Duration)> = sources(config)
        .into_iter()
        .filter_map(|(_, _, s)| Some((SourceKey::of(s), (Origin::of(s, embedded).ok()?, s.poll))))
        .collect();
    let mut pollers = lock(&shared.supergraphs.pollers);
    pollers.retain(|key, task| {
        let keep = wanted.contains_key(key) && !task.is_finished();
        if !keep {
            task.abort();
            shared.supergraphs.set(key.clone(), None);
        }
        keep
    });
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    for (key, (origin, every)) in wanted {
        if let std::collections::hash_map::Entry::Vacant(slot) = pollers.entry(key) {
            let key = slot.key().clone();
            let wake = match origin {
                Origin::Embedded(..) => embedded.map(|e| e.changes.clone()),
                Origin::Remote(_) => None,
            };
            let poller = Poller {
                shared: Arc::downgrade(shared),
                key,
                origin,
                every,
                wake,
            };
            slot.insert(runtime.spawn(poller.run()));
        }
    }
}

/// The task that follows one variant.
struct Poller {
    shared: Weak<Shared>,
    key: SourceKey,
    origin: Origin,
    every: Duration,
    /// The embedded registry's change signal: a publish wakes the poller at once.
    wake: Option<tokio::sync::watch::Receiver<u64>>,
}

impl Poller {
    /// Asks for a new version every `every` (and on each wake); applies it or rejects it;
    /// errors change nothing.
    async fn run(mut self) {
        let mut ticker = tokio::time::interval(self.every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        // The last version seen, applied or rejected: a rejected one is not asked for again.
        let mut seen: Option<u64> = None;
        let mut failing = false;
        loop {
            self.next_turn(&mut ticker).await;
            let Some(strong) = self.shared.upgrade() else {
                return;
            };
            let current = strong.supergraphs.get(&self.key).map(|f| f.version);
            let known = match (seen, current) {
                (Some(s), Some(c)) => Some(s.max(c)),
                (s, c) => s.or(c),
            };
            drop(strong);
            let outcome = self.origin.fetch(known).await;
            let Some(strong) = self.shared.upgrade() else {
                return;
            };
            let handle = ReloadHandle::from_shared(strong);
            let fetched = match outcome {
                Err(e) => {
                    if !failing {
                        tracing::warn!(registry = %self.key, "cannot poll the registry, keeping the current supergraph: {e}");
                    }
                    failing = true;
                    handle.supergraph_outcome(&self.key, "fetch_failed", None);
                    continue;
                }
                Ok(fetch) => {
                    if failing {
                        tracing::info!(registry = %self.key, "registry reachable again");
                    }
                    failing = false;
                    match fetch {
                        Fetch::New(f) => f,
                        Fetch::NotModified | Fetch::Empty => continue,
                    }
                }
            };
            seen = Some(fetched.version);
            if Some(fetched.version) != current {
                self.apply(&handle, fetched);
            }
        }
    }

    /// Waits for the next tick, or for a change in the embedded registry.
    async fn next_turn(&mut self, ticker: &mut tokio::time::Interval) {
        let Some(wake) = &mut self.wake else {
            ticker.tick().await;
            return;
        };
        tokio::select! {
            _ = ticker.tick() => {}
            changed = wake.changed() => {
                if changed.is_err() {
                    // The registry is gone (shutdown): ticks only from now on.
                    self.wake = None;
                }
            }
        }
    }

    fn apply(&self, handle: &ReloadHandle, fetched: Fetched) {
        let version = fetched.version;
        match handle.apply_supergraph(&self.key, fetched) {
            Ok(()) => {
                tracing::info!(registry = %self.key, version, "supergraph applied");
                handle.supergraph_outcome(&self.key, "applied", Some(version));
            }
            Err(e) => {
                tracing::warn!(registry = %self.key, version, "supergraph rejected, keeping the current one: {e}");
                handle.supergraph_outcome(&self.key, "rejected", None);
            }
        }
    }
}

/// Applies a fetched version: checks it loads, then rebuilds the runtime with it; on any
/// failure the previous supergraph stays.
pub fn apply(
    shared: &Arc<Shared>,
    key: &SourceKey,
    fetched: Fetched,
    reload: impl FnOnce(&Config) -> Result<u64, crate::gateway::GatewayError>,
) -> Result<(), String> {
    switchyard_graphql::Supergraph::parse(&fetched.sdl, &key.to_string())
        .map_err(|e| e.to_string())?;
    let config = lock(&shared.config).clone();
    let previous = shared.supergraphs.get(key);
    shared.supergraphs.set(key.clone(), Some(fetched));
    match reload(&config) {
        Ok(_) => Ok(()),
        Err(e) => {
            shared.supergraphs.set(key.clone(), previous);
            Err(e.to_string())
        }
    }
}

/// Writes the supergraph serving each remote variant of `config` that has a `cache` file, in
/// the background: called once a runtime built from them serves, so only supergraphs that
/// loaded are kept.
pub fn save_caches(shared: &Shared, config: &Config) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    // One write per cache file, however many routes share the source.
    let mut files = std::collections::BTreeMap::new();
    for (_, _, source) in sources(config) {
        if let Some(path) = &source.cache {
            files
                .entry(path.clone())
                .or_insert_with(|| SourceKey::of(source));
        }
    }
    for (path, key) in files {
        if let Some(f) = shared.supergraphs.get(&key) {
            runtime.spawn(async move { supergraph_cache::save(&path, &key, &f).await });
        }
    }
}

/// Sets the version gauge of every registry route of `config`.
pub fn record_versions(shared: &Shared, config: &Config, metrics: &crate::metrics::Metrics) {
    for (route, _, source) in sources(config) {
        if let Some(f) = shared.supergraphs.get(&SourceKey::of(source)) {
            metrics.supergraph_version(&route, f.version);
        }
    }
}

/// The routes of `config` served from `key`.
pub fn routes_of(config: &Config, key: &SourceKey) -> Vec<String> {
    sources(config)
        .into_iter()
        .filter(|(_, _, s)| SourceKey::of(s) == *key)
        .map(|(route, _, _)| route)
        .collect()
}
