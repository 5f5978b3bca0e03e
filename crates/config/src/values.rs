//! Checks of single values (addresses, durations, names, templates) shared by the validators.

use crate::error::ConfigError;
use crate::located::Located;
use crate::model::{PathTemplate, Segment};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

/// Collects errors while the validators walk the raw config.
pub(crate) struct Checker {
    file: String,
    pub(crate) errors: Vec<ConfigError>,
}

impl Checker {
    pub(crate) fn new(file: &str) -> Self {
        Self {
            file: file.to_owned(),
            errors: Vec::new(),
        }
    }

    /// `path` as written in the config, relative to the config file's folder.
    pub(crate) fn resolve_path(&self, path: &str) -> std::path::PathBuf {
        let given = std::path::Path::new(path);
        match std::path::Path::new(&self.file).parent() {
            Some(dir) if given.is_relative() => dir.join(given),
            _ => given.to_path_buf(),
        }
    }

    /// `file:line:column: path`, naming a config value in errors found after validation.
    pub(crate) fn origin<T>(&self, at: &Located<T>, path: &str) -> String {
        format!("{}:{}:{}: {path}", self.file, at.line, at.column)
    }

    pub(crate) fn error<T>(&mut self, at: &Located<T>, path: &str, message: &str) {
        self.error_at(at.line, at.column, path, message);
    }

    pub(crate) fn error_at(&mut self, line: u64, column: u64, path: &str, message: &str) {
        self.errors.push(ConfigError {
            file: self.file.clone(),
            line,
            column,
            path: path.to_owned(),
            message: message.to_owned(),
        });
    }

    pub(crate) fn unique<'a>(
        &mut self,
        seen: &mut HashSet<&'a str>,
        name: &'a Located<String>,
        path: &str,
    ) {
        if name.value.is_empty() {
            self.error(name, path, "name must not be empty");
        } else if !seen.insert(name.value.as_str()) {
            self.error(name, path, &format!("duplicate name `{}`", name.value));
        }
    }

    pub(crate) fn socket_addr(&mut self, v: &Located<String>, path: &str) -> Option<SocketAddr> {
        match v.value.parse() {
            Ok(addr) => Some(addr),
            Err(_) => {
                let msg = format!(
                    "`{}` is not an IP address and port such as 127.0.0.1:8080",
                    v.value
                );
                self.error(v, path, &msg);
                None
            }
        }
    }

    pub(crate) fn host_port(&mut self, v: &Located<String>, path: &str) {
        let ok = v.value.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !ok {
            let msg = format!("`{}` is not a host:port such as 127.0.0.1:9000", v.value);
            self.error(v, path, &msg);
        }
    }

    pub(crate) fn duration_or(
        &mut self,
        v: Option<&Located<String>>,
        path: &str,
        default_secs: u64,
    ) -> Duration {
        let Some(v) = v else {
            return Duration::from_secs(default_secs);
        };
        match humantime::parse_duration(&v.value) {
            Ok(d) if d.is_zero() && !path.ends_with("drain_timeout") => {
                self.error(v, path, "must be longer than zero");
                Duration::from_secs(default_secs)
            }
            Ok(d) => d,
            Err(e) => {
                let msg = format!("`{}` is not a duration such as 250ms or 5s ({e})", v.value);
                self.error(v, path, &msg);
                Duration::from_secs(default_secs)
            }
        }
    }

    /// A duration where zero is allowed (a leeway, a grace period).
    pub(crate) fn duration_or_zero(
        &mut self,
        v: Option<&Located<String>>,
        path: &str,
        default_secs: u64,
    ) -> Duration {
        let Some(v) = v else {
            return Duration::from_secs(default_secs);
        };
        humantime::parse_duration(&v.value).unwrap_or_else(|e| {
            let msg = format!("`{}` is not a duration such as 250ms or 5s ({e})", v.value);
            self.error(v, path, &msg);
            Duration::from_secs(default_secs)
        })
    }

    pub(crate) fn size_or(
        &mut self,
        v: Option<&Located<u64>>,
        path: &str,
        default: usize,
        min: u64,
    ) -> usize {
        let Some(v) = v else { return default };
        if v.value < min {
            self.error(v, path, &format!("must be at least {min}"));
        }
        usize::try_from(v.value).unwrap_or(usize::MAX)
    }
}

/// RFC 9110 token characters, as allowed in header names and methods.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

pub(crate) fn is_header_name(s: &str) -> bool {
    is_token(s)
}

pub(crate) fn is_header_value(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// Parses `/a/{id}/b/{*rest}`: params are whole segments; a catch-all comes last.
pub(crate) fn parse_template(source: &str) -> Result<PathTemplate, String> {
    if !source.starts_with('/') {
        return Err(format!("template `{source}` must start with `/`"));
    }
    let parts: Vec<&str> = source[1..].split('/').collect();
    let mut segments = Vec::with_capacity(parts.len());
    let mut names = HashSet::new();
    for (i, part) in parts.iter().enumerate() {
        let segment = template_segment(part, i + 1 == parts.len())?;
        if let Segment::Param(n) | Segment::CatchAll(n) = &segment
            && !names.insert(n.clone())
        {
            return Err(format!("parameter `{n}` appears twice in `{source}`"));
        }
        segments.push(segment);
    }
    Ok(PathTemplate {
        source: source.to_owned(),
        segments,
    })
}

fn template_segment(part: &str, last: bool) -> Result<Segment, String> {
    let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else {
        if part.contains(['{', '}']) {
            return Err(format!(
                "segment `{part}`: a parameter must fill a whole segment, like {{id}}"
            ));
        }
        return Ok(Segment::Literal(part.to_owned()));
    };
    let (catch_all, name) = match inner.strip_prefix('*') {
        Some(name) => (true, name),
        None => (false, inner),
    };
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(format!(
            "`{{{inner}}}` is not a parameter name (letters, digits, _)"
        ));
    }
    if catch_all && !last {
        return Err(format!("catch-all `{{*{name}}}` must be the last segment"));
    }
    Ok(if catch_all {
        Segment::CatchAll(name.to_owned())
    } else {
        Segment::Param(name.to_owned())
    })
}
