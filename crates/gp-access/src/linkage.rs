//! Linkage keys: made from a secure random source, kept only as salted
//! hashes, compared in constant time.

use gp_core::RandomSource;
use sha2::{Digest, Sha256};

use crate::error::AccessError;

/// The characters of a key: Crockford's base 32 (no I, L, O or U).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a key: 16 x 5 bits = 80 bits.
pub const KEY_LENGTH: usize = 16;

/// A new key, shown as four groups of four (`7K2M-9QXD-...`).
pub(crate) fn new_key(random: &dyn RandomSource) -> Result<String, AccessError> {
    let mut bytes = [0u8; KEY_LENGTH];
    random.fill(&mut bytes)?;
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect();
    Ok(chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-"))
}

/// A key as typed, made canonical: upper case, no spaces or hyphens, and
/// the look-alikes O, I and L read as 0, 1 and 1.
pub(crate) fn normalise(key: &str) -> String {
    key.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh salt (hex).
pub(crate) fn new_salt(random: &dyn RandomSource) -> Result<String, AccessError> {
    let mut salt = [0u8; 16];
    random.fill(&mut salt)?;
    Ok(hex(&salt))
}

/// SHA-256 of the salt and the canonical key (hex).
pub(crate) fn hash(salt: &str, key: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(normalise(key).as_bytes());
    hex(&h.finalize())
}

/// Whether two strings are equal, taking the same time wherever they differ.
pub(crate) fn equal_in_constant_time(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use gp_core::SeededRandom;

    #[test]
    fn keys_are_long_hashed_with_salt_and_forgiving_of_typing() {
        let random = SeededRandom::new(3);
        let key = new_key(&random).unwrap();
        assert_eq!(key.len(), KEY_LENGTH + 3);
        assert!(key
            .chars()
            .all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
        assert_ne!(new_key(&random).unwrap(), key, "each key is new");
        let salt = new_salt(&random).unwrap();
        let stored = hash(&salt, &key);
        assert_eq!(stored.len(), 64);
        assert!(!stored.contains(&normalise(&key)), "the key is not kept");
        let typed = key.to_lowercase().replace('-', " ");
        assert!(equal_in_constant_time(&hash(&salt, &typed), &stored));
        assert!(!equal_in_constant_time(
            &hash(&new_salt(&random).unwrap(), &key),
            &stored
        ));
        assert!(!equal_in_constant_time("ab", "abc"));
        assert_eq!(normalise("o1-Il"), "0111");
    }
}
