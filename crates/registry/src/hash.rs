//! A stable 64-bit hash of SDL text (FNV-1a), stored to find an SDL already in the store.
//! Not `std`'s hasher: its output may change between Rust releases, and these are persisted.
//! A match on the hash is always confirmed by comparing the text.

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0100_0000_01b3;

/// The FNV-1a hash of `text`, as the signed integer both databases store.
pub(crate) fn sdl_hash(text: &str) -> i64 {
    let hash = text.bytes().fold(OFFSET, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    });
    i64::from_ne_bytes(hash.to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_fnv1a_values() {
        assert_eq!(sdl_hash("") as u64, 0xcbf2_9ce4_8422_2325);
        assert_eq!(sdl_hash("a") as u64, 0xaf63_dc4c_8601_ec8c);
        assert_eq!(sdl_hash("foobar") as u64, 0x8594_4171_f739_67e8);
    }
}
