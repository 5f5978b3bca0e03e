//! Field lookups in the small JSON objects of representations: a scan for small maps (cheaper than
//! hashing the key and following the index), the map's hash index for larger ones.

use apollo_compiler::response::{JsonMap, JsonValue};

/// Maps up to this many fields are scanned. GraphQL objects are mostly a handful of fields
/// with short names; in the federation benchmark's profile (docs/benchmarks.md) the hash index
/// lookups were 21 % of the gateway's time and left the top of the profile with the scan.
const SCAN_UP_TO: usize = 8;

/// The value of `key` in `map`.
#[inline]
pub(crate) fn field<'a>(map: &'a JsonMap, key: &str) -> Option<&'a JsonValue> {
    if map.len() > SCAN_UP_TO {
        return map.get(key);
    }
    map.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json_bytes::json;

    fn object(value: JsonValue) -> JsonMap {
        match value {
            JsonValue::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn small_and_large_maps_find_the_same_fields() {
        let small = object(json!({"__typename": "User", "id": "1", "name": "Ada"}));
        let large = object(json!({
            "a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9, "id": "1"
        }));
        assert_eq!(field(&small, "name"), Some(&json!("Ada")));
        assert_eq!(field(&small, "nam"), None);
        assert_eq!(field(&large, "id"), Some(&json!("1")));
        assert_eq!(field(&large, "z"), None);
    }
}
