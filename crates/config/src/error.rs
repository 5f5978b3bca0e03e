//! Config errors: each names the file, line, column and field path, and says what is wrong.

use std::fmt;

/// One problem found in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: u64,
    pub column: u64,
    /// Field path such as `clusters[0].endpoints[1].address`; empty for the whole document.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in a config file (validation does not stop at the first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// Adds "did you mean `x`?" to serde's "unknown field `y`, expected one of ..." messages.
pub(crate) fn with_suggestion(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_owned();
    };
    let Some((unknown, expected)) = rest.split_once('`') else {
        return message.to_owned();
    };
    let expected = expected.split_once("expected").map_or("", |(_, list)| list);
    let candidates = expected
        .split([',', ' ', '`'])
        .filter(|w| !w.is_empty() && *w != "one" && *w != "of" && *w != "or");
    let best = candidates
        .map(|c| (strsim::damerau_levenshtein(unknown, c), c))
        .filter(|(distance, c)| *distance <= 2.max(c.len() / 3))
        .min_by_key(|(distance, _)| *distance);
    match best {
        Some((_, c)) => format!("{message}; did you mean `{c}`?"),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_field() {
        let m = "unknown field `clustr`, expected one of `cluster`, `strip_prefix`";
        assert!(
            with_suggestion(m).ends_with("did you mean `cluster`?"),
            "{}",
            with_suggestion(m)
        );
        let m = "unknown field `adress`, expected one of address, weight";
        assert!(
            with_suggestion(m).ends_with("did you mean `address`?"),
            "{}",
            with_suggestion(m)
        );
    }

    #[test]
    fn no_suggestion_when_nothing_is_close() {
        let m = "unknown field `zzzzzzzz`, expected `cluster` or `rewrite`";
        assert_eq!(with_suggestion(m), m);
    }
}
