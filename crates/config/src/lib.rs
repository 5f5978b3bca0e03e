//! Switchyard's configuration: YAML text -> [`RawConfig`] -> [`validate`] -> [`Config`].
//!
//! Loading runs in stages, each with errors that name the file, line, column and field path:
//! `${ENV}` interpolation of the text, YAML parsing into serde types that reject unknown fields
//! (with a "did you mean" suggestion), then semantic checks that collect every problem rather than
//! stopping at the first. The result is plain, typed data; the proxy compiles it into its runtime.
//!
//! ```
//! let yaml = "listeners: [{name: public, address: '127.0.0.1:0'}]\n\
//!             routes: [{name: hello, respond: {status: 200, body: hi}}]\n";
//! let config = switchyard_config::parse(yaml, "inline.yaml").unwrap();
//! assert_eq!(config.routes[0].name, "hello");
//! ```

mod balancing;
mod embedded;
mod error;
mod interpolate;
mod jwks_url;
mod located;
mod model;
mod policy;
mod raw;
mod raw_balancing;
mod raw_policy;
mod route;
mod validate;
mod values;

pub use embedded::introspect_host;
pub use error::{ConfigError, ConfigErrors};
pub use interpolate::{MissingVar, interpolate};
pub use located::Located;
pub use model::*;
pub use policy::JWT_ALGORITHMS;
pub use raw::RawConfig;
pub use validate::validate;

use std::cell::RefCell;

/// Reads, interpolates, parses and validates the config file at `path`.
pub fn load(path: &std::path::Path) -> Result<Config, ConfigErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.clone(),
            line: 0,
            column: 0,
            path: String::new(),
            message: format!("cannot read the config file: {e}"),
        }])
    })?;
    parse(&text, &file)
}

/// Interpolates `${ENV}` from the process environment, then parses and validates `text`.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigErrors> {
    let text = interpolate(text, |name| std::env::var(name).ok()).map_err(|missing| {
        let errors = missing.into_iter().map(|m| ConfigError {
            file: file.to_owned(),
            line: m.line,
            column: m.column,
            path: String::new(),
            message: format!(
                "environment variable `{}` is not set and has no default",
                m.name
            ),
        });
        ConfigErrors(errors.collect())
    })?;
    validate(parse_raw(&text, file)?, file)
}

/// Parses YAML into the raw serde types (no semantic checks).
pub fn parse_raw(text: &str, file: &str) -> Result<RawConfig, ConfigErrors> {
    let field_path = RefCell::new(String::new());
    let result = serde_saphyr::with_deserializer_from_str(text, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            *field_path.borrow_mut() = e.path().to_string();
            e.into_inner()
        })
    });
    result.map_err(|e| {
        let location = e.location();
        let path = field_path.into_inner();
        ConfigErrors(vec![ConfigError {
            file: file.to_owned(),
            line: location.map_or(0, |l| l.line()),
            column: location.map_or(0, |l| l.column()),
            path: clean_path(&path),
            message: error::with_suggestion(&yaml_message(&e)),
        }])
    })
}

/// serde-saphyr's message without its own position or snippet (we print our own). The user
/// formatter words messages for people editing YAML, not for Rust callers of serde-saphyr
/// (no "set DuplicateKeyPolicy in Options" or "use from_str_multiple"). Also used by other
/// crates that read YAML (endpoint files), so every YAML error reads the same.
pub fn yaml_message(e: &serde_saphyr::Error) -> String {
    let options = serde_saphyr::render_options! {
        formatter: &serde_saphyr::UserMessageFormatter,
        snippets: serde_saphyr::SnippetMode::Off,
    };
    let text = e.render_with_options(options);
    let position = e
        .location()
        .map(|l| format!(" at line {}, column {}", l.line(), l.column()));
    match position.as_deref().and_then(|p| text.strip_suffix(p)) {
        Some(message) => message.to_owned(),
        None => text,
    }
}

/// `routes[0].name.value` -> `routes[0].name`: `.value` is the inside of a [`Located`]. A `?`
/// (a key serde_path_to_error could not name, as in a duplicate key) names nothing.
fn clean_path(path: &str) -> String {
    let path = path.strip_suffix(".value").unwrap_or(path);
    let path = path.strip_suffix(".?").unwrap_or(path);
    if path == "." || path == "?" {
        String::new()
    } else {
        path.to_owned()
    }
}

/// The JSON Schema of the config file, for editors.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RawConfig)).unwrap_or_default()
}
