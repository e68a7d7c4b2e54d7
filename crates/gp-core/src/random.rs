//! The [`RandomSource`] port: where secret random bytes come from.

use std::sync::Mutex;

use thiserror::Error;

/// The system could not supply random bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("no random bytes are available from the system: {0}")]
pub struct RandomUnavailable(pub String);

/// Where secret random bytes come from (linkage keys, salts).
///
/// Decisions take a `RandomSource` instead of calling the operating system,
/// as they take a [`crate::Clock`] for time, so they stay repeatable in tests.
pub trait RandomSource: Send + Sync {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomUnavailable>;
}

/// The operating system's cryptographically secure generator: the source to
/// use in production, and the only reader of it in the workspace.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomUnavailable> {
        getrandom::fill(buf).map_err(|e| RandomUnavailable(e.to_string()))
    }
}

/// Repeatable bytes from a seed (SplitMix64), for tests and examples only:
/// anyone who knows the seed knows every byte.
#[derive(Debug)]
pub struct SeededRandom {
    state: Mutex<u64>,
}

impl SeededRandom {
    /// A source starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: Mutex::new(seed),
        }
    }
}

impl RandomSource for SeededRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomUnavailable> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for chunk in buf.chunks_mut(8) {
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_random_fills_and_seeded_random_repeats() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        OsRandom.fill(&mut a).unwrap();
        OsRandom.fill(&mut b).unwrap();
        assert_ne!(a, b, "two draws of 256 bits are never equal");
        let (mut c, mut d) = ([0u8; 13], [0u8; 13]);
        SeededRandom::new(7).fill(&mut c).unwrap();
        SeededRandom::new(7).fill(&mut d).unwrap();
        assert_eq!(c, d);
        assert_ne!(c, [0u8; 13]);
    }
}
