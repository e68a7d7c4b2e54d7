//! Signed checkpoints: the trail's head, signed with a key the database
//! does not hold, and kept elsewhere, so that a rewritten or cut trail is
//! caught even by someone who could recompute every hash.

use std::fmt;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

use crate::{hex, ChainBreak, Hash};

/// The first bytes of every signed checkpoint message (the format's version).
pub const CHECKPOINT_TAG: &[u8] = b"gp-audit checkpoint v1\n";

/// A signed statement: "this trail held `seq` events, the last with hash
/// `hash`, at `at`", signed by the key named `key_id`.
///
/// Hand it to storage the database's writers cannot change (the supplier's
/// log, write-once storage) with [`Checkpoint::to_line`]; check a trail
/// against it later with [`crate::AuditStore::verify_against`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The head's sequence number.
    pub seq: u64,
    /// The head's hash.
    pub hash: Hash,
    /// When the checkpoint was made.
    pub at: DateTime<Utc>,
    /// Which key signed it.
    pub key_id: String,
    /// The signature over [`Checkpoint::message`].
    pub signature: Vec<u8>,
}

/// Signs checkpoints, with a key kept outside the database (a file, the
/// environment, or the supplier's key management service behind this port).
pub trait Signer: Send + Sync {
    /// The key's name, recorded in the checkpoint (at most 64 characters:
    /// letters, digits, `-`, `_`, `.`).
    fn key_id(&self) -> &str;
    /// The signature of `message`.
    fn sign(&self, message: &[u8]) -> Vec<u8>;
}

/// Checks checkpoint signatures.
pub trait Verifier: Send + Sync {
    /// Whether `signature` is `key_id`'s over `message`.
    fn verify(&self, key_id: &str, message: &[u8], signature: &[u8]) -> bool;
}

/// An HMAC-SHA-256 key (the `hmac` crate of the RustCrypto project, over the
/// `sha2` the chain already uses): signs and verifies, comparing in
/// constant time. The key is at least 32 bytes.
pub struct HmacKey {
    id: String,
    mac: Hmac<Sha256>,
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacKey")
            .field("id", &self.id)
            .field("key", &"(hidden)")
            .finish()
    }
}

/// Why a key or a checkpoint could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The key was shorter than 32 bytes.
    #[error("a checkpoint key must be at least 32 bytes")]
    KeyTooShort,
    /// The key name was empty, too long, or held other characters.
    #[error("a key name is 1 to 64 letters, digits, '-', '_' or '.'")]
    KeyId,
    /// A checkpoint line did not have the documented shape.
    #[error("not a checkpoint line: {0}")]
    Line(&'static str),
    /// The checkpoint's time is outside the years 1677 to 2262 (what its
    /// nanosecond count can hold).
    #[error("a checkpoint's time must be between the years 1677 and 2262")]
    Time,
}

fn key_id_ok(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl HmacKey {
    /// A key named `id` with the secret `key` (at least 32 bytes).
    pub fn new(id: &str, key: &[u8]) -> Result<Self, CheckpointError> {
        if key.len() < 32 {
            return Err(CheckpointError::KeyTooShort);
        }
        if !key_id_ok(id) {
            return Err(CheckpointError::KeyId);
        }
        let mac =
            <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(|_| CheckpointError::KeyTooShort)?;
        Ok(Self {
            id: id.to_owned(),
            mac,
        })
    }
}

impl Signer for HmacKey {
    fn key_id(&self) -> &str {
        &self.id
    }
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut mac = self.mac.clone();
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }
}

impl Verifier for HmacKey {
    fn verify(&self, key_id: &str, message: &[u8], signature: &[u8]) -> bool {
        if key_id != self.id {
            return false;
        }
        let mut mac = self.mac.clone();
        mac.update(message);
        mac.verify_slice(signature).is_ok()
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Checkpoint {
    /// The bytes signed (see `docs/audit-format.md`): [`CHECKPOINT_TAG`],
    /// then `seq` as 8 bytes big-endian, the 32 bytes of `hash`, `at` as
    /// nanoseconds since 1970-01-01T00:00:00Z as 8 bytes big-endian (signed),
    /// and the key name in UTF-8.
    pub fn message(seq: u64, hash: &Hash, at: DateTime<Utc>, key_id: &str) -> Vec<u8> {
        let mut m = CHECKPOINT_TAG.to_vec();
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(hash);
        m.extend_from_slice(&at.timestamp_nanos_opt().unwrap_or(i64::MAX).to_be_bytes());
        m.extend_from_slice(key_id.as_bytes());
        m
    }

    /// A checkpoint of the head `(seq, hash)` at `at`, signed by `signer`;
    /// `KeyId` for a key name outside the format, `Time` for a time outside
    /// the years 1677 to 2262.
    pub fn sign(
        seq: u64,
        hash: Hash,
        at: DateTime<Utc>,
        signer: &dyn Signer,
    ) -> Result<Self, CheckpointError> {
        let key_id = signer.key_id().to_owned();
        if !key_id_ok(&key_id) {
            return Err(CheckpointError::KeyId);
        }
        if at.timestamp_nanos_opt().is_none() {
            return Err(CheckpointError::Time);
        }
        let signature = signer.sign(&Self::message(seq, &hash, at, &key_id));
        Ok(Self {
            seq,
            hash,
            at,
            key_id,
            signature,
        })
    }

    /// Whether `verifier` accepts the signature.
    pub fn signed_by(&self, verifier: &dyn Verifier) -> bool {
        let message = Self::message(self.seq, &self.hash, self.at, &self.key_id);
        verifier.verify(&self.key_id, &message, &self.signature)
    }

    /// The checkpoint as one line of text to keep elsewhere:
    /// `gp-audit-checkpoint v1 <seq> <hash hex> <at nanoseconds> <key id> <signature hex>`.
    pub fn to_line(&self) -> String {
        format!(
            "gp-audit-checkpoint v1 {} {} {} {} {}",
            self.seq,
            hex(&self.hash),
            self.at.timestamp_nanos_opt().unwrap_or(i64::MAX),
            self.key_id,
            hex(&self.signature)
        )
    }

    /// Reads what [`Checkpoint::to_line`] wrote.
    pub fn from_line(line: &str) -> Result<Self, CheckpointError> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let checkpoint = Self::parse_line(line)?;
        // One checkpoint, one line: anything but the canonical spelling
        // (upper-case hex, signs, padding, other spaces) is refused.
        if checkpoint.to_line() != line {
            return Err(CheckpointError::Line("not in the canonical form"));
        }
        Ok(checkpoint)
    }

    fn parse_line(line: &str) -> Result<Self, CheckpointError> {
        let parts: Vec<&str> = line.split_ascii_whitespace().collect();
        let [tag, version, seq, hash, at, key_id, signature] = parts[..] else {
            return Err(CheckpointError::Line("seven fields"));
        };
        if tag != "gp-audit-checkpoint" || version != "v1" {
            return Err(CheckpointError::Line("the tag and version"));
        }
        let seq = seq
            .parse()
            .map_err(|_| CheckpointError::Line("the sequence"))?;
        let hash: Hash = unhex(hash)
            .and_then(|h| h.try_into().ok())
            .ok_or(CheckpointError::Line("the hash"))?;
        let at = at
            .parse::<i64>()
            .map(DateTime::<Utc>::from_timestamp_nanos)
            .map_err(|_| CheckpointError::Line("the time"))?;
        if !key_id_ok(key_id) {
            return Err(CheckpointError::KeyId);
        }
        let signature = unhex(signature).ok_or(CheckpointError::Line("the signature"))?;
        Ok(Self {
            seq,
            hash,
            at,
            key_id: key_id.to_owned(),
            signature,
        })
    }
}

/// How a trail failed against a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TrailBreak {
    /// The checkpoint's signature is not the key's: it was forged or changed.
    #[error("the checkpoint's signature does not verify")]
    BadSignature,
    /// The chain itself is broken.
    #[error(transparent)]
    Chain(#[from] ChainBreak),
    /// The trail ends before the checkpoint's head: newest events were cut.
    #[error("the audit trail ends at event {head} but a checkpoint signed it to event {checkpoint}: events were removed")]
    Truncated {
        /// The last sequence in the trail now.
        head: u64,
        /// The sequence the checkpoint signed.
        checkpoint: u64,
    },
    /// The event the checkpoint signed has another hash now: the trail was
    /// rewritten (every hash after the change recomputed).
    #[error("the audit trail was rewritten: event {seq} is not the one the checkpoint signed")]
    Rewritten {
        /// The checkpoint's sequence.
        seq: u64,
    },
}
