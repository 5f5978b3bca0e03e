//! `${ENV}` interpolation of the config text, done before YAML parsing so lines keep their numbers.

/// An environment variable the config refers to is not set and has no default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingVar {
    pub name: String,
    pub line: u64,
    pub column: u64,
}

/// Replaces `${NAME}` and `${NAME:-default}` with values from `lookup`; `$${` stays a literal `${`.
pub fn interpolate(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, Vec<MissingVar>> {
    let mut out = String::with_capacity(text.len());
    let mut missing = Vec::new();
    for (index, line) in text.split_inclusive('\n').enumerate() {
        interpolate_line(line, index as u64 + 1, &lookup, &mut out, &mut missing);
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(missing)
    }
}

fn interpolate_line(
    line: &str,
    line_no: u64,
    lookup: &impl Fn(&str) -> Option<String>,
    out: &mut String,
    missing: &mut Vec<MissingVar>,
) {
    let mut rest = line;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
            continue;
        }
        let Some(body) = after.strip_prefix("${") else {
            out.push('$');
            rest = &after[1..];
            continue;
        };
        let Some(end) = body.find('}') else {
            out.push_str(after);
            return;
        };
        let expr = &body[..end];
        let (name, default) = match expr.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (expr, None),
        };
        match lookup(name).or_else(|| default.map(str::to_owned)) {
            Some(value) => out.push_str(&value),
            None => missing.push(MissingVar {
                name: name.to_owned(),
                line: line_no,
                // In characters, as the YAML parser counts columns.
                column: line[..line.len() - after.len()].chars().count() as u64 + 1,
            }),
        }
        rest = &body[end + 1..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "PORT").then(|| "8080".to_owned())
    }

    #[test]
    fn replaces_set_and_defaulted_vars() {
        let text = "a: ${PORT}\nb: ${HOST:-127.0.0.1}\nc: $${LITERAL} $5\n";
        assert_eq!(
            interpolate(text, env).unwrap(),
            "a: 8080\nb: 127.0.0.1\nc: ${LITERAL} $5\n"
        );
    }

    #[test]
    fn names_missing_var_with_position() {
        let err = interpolate("x: 1\ny: ${NOPE}\n", env).unwrap_err();
        assert_eq!(
            err,
            vec![MissingVar {
                name: "NOPE".into(),
                line: 2,
                column: 4
            }]
        );
    }
}
