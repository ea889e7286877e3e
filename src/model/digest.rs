//! SHA-256 helpers for the artifact's integrity checks.

use sha2::{Digest, Sha256};

/// Hex characters of a hash shown in error messages: enough to tell two hashes apart at a glance,
/// short enough to read.
pub const HASH_PREFIX_LEN: usize = 12;

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The first [`HASH_PREFIX_LEN`] characters of a hex hash (all of it if shorter).
pub fn prefix(hash: &str) -> String {
    hash.chars().take(HASH_PREFIX_LEN).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(prefix("ba7816bf8f01cfea"), "ba7816bf8f01");
    }
}
