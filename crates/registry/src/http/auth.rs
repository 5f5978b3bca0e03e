//! Bearer tokens on writes: `Authorization: Bearer <token>`, compared in constant time.

use http::{HeaderMap, header};

/// True when exactly one `Authorization` header carries `Bearer <token>`.
pub(crate) fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let Some(given) = value.as_bytes().strip_prefix(b"Bearer ") else {
        return false;
    };
    equal_in_constant_time(given, token.as_bytes())
}

/// Compares in time that depends on the lengths only, not on where the bytes differ.
fn equal_in_constant_time(given: &[u8], expected: &[u8]) -> bool {
    let differ = given
        .iter()
        .zip(expected)
        .fold(given.len() ^ expected.len(), |acc, (a, b)| {
            acc | usize::from(a ^ b)
        });
    differ == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_passes() {
        let mut headers = HeaderMap::new();
        assert!(!authorized(&headers, "s3cret"));
        for (value, ok) in [
            ("Bearer s3cret", true),
            ("Bearer s3cre", false),
            ("Bearer s3cret2", false),
            ("bearer s3cret", false),
            ("s3cret", false),
        ] {
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            assert_eq!(authorized(&headers, "s3cret"), ok, "{value}");
        }
        headers.append(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        assert!(!authorized(&headers, "s3cret"), "two headers");
    }
}
