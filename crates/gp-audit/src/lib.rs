//! A tamper-evident audit trail: every audit event chained to the one before
//! it by SHA-256.
//!
//! Each stored event gets a sequence number (1, 2, 3, ...) and
//! `hash = SHA-256(previous hash || canonical encoding of the event)`, where
//! the first event's previous hash is 32 zero bytes. [`verify`] walks stored
//! records and reports the first sequence where the chain breaks and how:
//! [`BreakKind::Modified`], [`BreakKind::Missing`] or [`BreakKind::OutOfOrder`].
//!
//! **Canonical encoding** ([`canonical`]): the event as compact JSON (UTF-8, no
//! spaces), fields in this order: `id`, `at`, `actor`, `channel`, `patient`,
//! `action`, `outcome`, `subjects`, `details`; `at` as RFC 3339 in UTC with
//! the fraction of a second only where it is not zero; `details` sorted by
//! key. The golden test in this crate pins it: any change to it is a change
//! of format and needs a new version of the chain.
//!
//! This crate decides nothing and stores nothing; the stores append records
//! in the same transaction as the change they describe.
//!
//! ```
//! use gp_audit::{chain, verify, GENESIS};
//! # use gp_core::*;
//! # let ids = SequentialIds::new(1);
//! # let at = chrono::DateTime::<chrono::Utc>::from_timestamp(1_780_000_000, 0).unwrap();
//! # let event = |n| AuditEvent::new(&ids, at, Actor::System, Channel::Internal, None,
//! #     AuditAction::parse("appointment.cancel").unwrap(), Outcome::Allowed).with_detail("n", format!("{n}"));
//! let events = vec![event(1), event(2), event(3)];
//! let mut records = chain(GENESIS, 1, &events);
//! assert_eq!(verify(GENESIS, 1, &records, None), Ok(()));
//! records[1].body = records[1].body.replace("\"2\"", "\"9\"");
//! assert_eq!(verify(GENESIS, 1, &records, None).unwrap_err().seq, 2);
//! ```

mod checkpoint;
mod export;
mod memory;

pub use checkpoint::{
    Checkpoint, CheckpointError, HmacKey, Signer, TrailBreak, Verifier, CHECKPOINT_TAG,
};
pub use export::{export_jsonl, hex};
pub use memory::MemoryAuditStore;

use std::collections::HashSet;
use std::fmt;

use async_trait::async_trait;
use gp_core::AuditEvent;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// The previous hash of the first event.
pub const GENESIS: Hash = [0; 32];

/// The canonical encoding of an event (see the crate documentation).
pub fn canonical(event: &AuditEvent) -> String {
    // serde_json writes struct fields in declaration order and BTreeMap keys
    // sorted; chrono writes RFC 3339. Serializing these types cannot fail.
    serde_json::to_string(event).unwrap_or_default()
}

/// `SHA-256(prev || body)`.
pub fn link(prev: &Hash, body: &str) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(body.as_bytes());
    h.finalize().into()
}

/// One stored link of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRecord {
    /// Its place in the chain, from 1.
    pub seq: u64,
    /// The hash of the record before it ([`GENESIS`] for the first).
    pub prev_hash: Hash,
    /// `SHA-256(prev_hash || body)`.
    pub hash: Hash,
    /// The event's canonical encoding.
    pub body: String,
}

impl ChainRecord {
    /// The event, decoded from its body.
    pub fn event(&self) -> Result<AuditEvent, serde_json::Error> {
        serde_json::from_str(&self.body)
    }

    fn consistent(&self) -> bool {
        link(&self.prev_hash, &self.body) == self.hash
    }
}

/// Chains `events` after a record whose hash is `prev`, numbering from `first_seq`.
pub fn chain(mut prev: Hash, first_seq: u64, events: &[AuditEvent]) -> Vec<ChainRecord> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let body = canonical(e);
            let hash = link(&prev, &body);
            let record = ChainRecord {
                seq: first_seq + i as u64,
                prev_hash: prev,
                hash,
                body,
            };
            prev = hash;
            record
        })
        .collect()
}

/// How the chain broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// The record at this sequence was changed after it was written.
    Modified,
    /// The record at this sequence is not there.
    Missing,
    /// A genuine record stands at the wrong place.
    OutOfOrder,
    /// A record stands past the recorded head (the head was moved back).
    BeyondHead,
}

/// The first place a chain breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub struct ChainBreak {
    /// The sequence number where it breaks.
    pub seq: u64,
    /// How.
    pub kind: BreakKind,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match self.kind {
            BreakKind::Modified => "was changed after it was written",
            BreakKind::Missing => "is missing",
            BreakKind::OutOfOrder => "is out of order",
            BreakKind::BeyondHead => "stands past the recorded end of the trail",
        };
        write!(f, "the audit trail is broken: event {} {how}", self.seq)
    }
}

/// Verifies `records` (in stored order) as the chain continuing after a
/// record with hash `prev` and sequence `first_seq - 1`. If `head` is given
/// (the last sequence and hash the store recorded), the walk must end there.
pub fn verify(
    prev: Hash,
    first_seq: u64,
    records: &[ChainRecord],
    head: Option<(u64, Hash)>,
) -> Result<(), ChainBreak> {
    let known: HashSet<Hash> = records.iter().map(|r| r.hash).collect();
    let mut expected_seq = first_seq;
    let mut last = prev;
    for r in records {
        if r.seq > expected_seq {
            return Err(ChainBreak {
                seq: expected_seq,
                kind: BreakKind::Missing,
            });
        }
        if r.seq < expected_seq {
            return Err(ChainBreak {
                seq: r.seq,
                kind: BreakKind::OutOfOrder,
            });
        }
        if r.prev_hash != last {
            let kind = if r.consistent() && (known.contains(&r.prev_hash) || r.prev_hash == GENESIS)
            {
                BreakKind::OutOfOrder
            } else {
                BreakKind::Modified
            };
            return Err(ChainBreak { seq: r.seq, kind });
        }
        if !r.consistent() {
            return Err(ChainBreak {
                seq: r.seq,
                kind: BreakKind::Modified,
            });
        }
        last = r.hash;
        expected_seq += 1;
    }
    if let Some((head_seq, head_hash)) = head {
        if head_seq >= expected_seq {
            return Err(ChainBreak {
                seq: expected_seq,
                kind: BreakKind::Missing,
            });
        }
        if head_seq + 1 == expected_seq && head_hash != last {
            return Err(ChainBreak {
                seq: head_seq,
                kind: BreakKind::Modified,
            });
        }
        if head_seq + 1 < expected_seq {
            return Err(ChainBreak {
                seq: head_seq + 1,
                kind: BreakKind::BeyondHead,
            });
        }
    }
    Ok(())
}

/// A store's audit-trail failure.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The store could not be reached or failed; nothing was appended.
    #[error("the audit trail is unavailable: {0}")]
    Unavailable(String),
    /// An event with this id is already in the trail; nothing was appended.
    #[error("audit event {0} is already in the trail")]
    Duplicate(String),
    /// A checkpoint could not be made (a bad key name, or a time outside
    /// what a checkpoint holds); nothing was signed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

/// A chained audit trail.
///
/// Implementations: [`MemoryAuditStore`] here, `gp_sqlite::SqliteStore`, and
/// any supplier's own. The conformance suite in `gp-testkit`
/// (`gp_testkit::audit`) is the executable form of this contract.
///
/// # Contract
///
/// - Events are appended by the domain stores inside the transaction of the
///   change they record, or alone through [`AuditStore::append`]; each gets
///   the next sequence number and is chained to the one before ([`chain`]);
///   the head moves in the same transaction.
/// - [`AuditStore::append`] appends all of its events or none: an event whose
///   id is already in the trail fails the whole call with
///   [`AuditError::Duplicate`].
/// - [`AuditStore::read`] returns the stored records with `from <= seq <= to`
///   in order of sequence, exactly as stored (no repair, no filtering).
/// - [`AuditStore::head`] returns the last sequence and hash, or `None` when empty.
/// - [`AuditStore::verify_all`] is `verify(GENESIS, 1, read(1..), head)`, and
///   records with no recorded head are a break (`BeyondHead` at 1).
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends events that belong to no other change, in order, all or none.
    async fn append(&self, events: &[AuditEvent]) -> Result<(), AuditError>;

    /// The last sequence and its hash.
    async fn head(&self) -> Result<Option<(u64, Hash)>, AuditError>;

    /// The records with `from <= seq <= to`, in order.
    async fn read(&self, from: u64, to: u64) -> Result<Vec<ChainRecord>, AuditError>;

    /// Verifies the whole chain; `Ok(Err(break))` when it is broken. Every
    /// stored record is read: one past the recorded head is a break.
    async fn verify_all(&self) -> Result<Result<(), ChainBreak>, AuditError> {
        let head = self.head().await?;
        let records = self.read(1, u64::MAX).await?;
        if head.is_none() && !records.is_empty() {
            // Events with no recorded head: the head was removed.
            return Ok(Err(ChainBreak {
                seq: 1,
                kind: BreakKind::BeyondHead,
            }));
        }
        Ok(verify(GENESIS, 1, &records, head))
    }

    /// The records with `from <= seq <= to` as JSON Lines with their hashes
    /// ([`export_jsonl`]; the format is in `docs/audit-format.md`).
    async fn export(&self, from: u64, to: u64) -> Result<String, AuditError> {
        // Sequence numbers start at 1: nothing before it is part of the trail.
        Ok(export_jsonl(&self.read(from.max(1), to).await?))
    }

    /// A checkpoint of the trail's head, signed by `signer` (`None` while
    /// the trail is empty). Keep it where the database's writers cannot
    /// change it.
    async fn checkpoint(
        &self,
        signer: &dyn Signer,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Checkpoint>, AuditError> {
        Ok(self
            .head()
            .await?
            .map(|(seq, hash)| Checkpoint::sign(seq, hash, at, signer))
            .transpose()
            .map_err(AuditError::Checkpoint)?)
    }

    /// Verifies the trail against a checkpoint kept elsewhere: the
    /// checkpoint's signature, the whole chain, that the trail still reaches
    /// the checkpoint's head, and that the event there is the one signed. A
    /// trail rewritten with every later hash recomputed, or cut back with its
    /// head moved, fails here though [`AuditStore::verify_all`] would pass.
    async fn verify_against(
        &self,
        checkpoint: &Checkpoint,
        verifier: &dyn Verifier,
    ) -> Result<Result<(), TrailBreak>, AuditError> {
        if !checkpoint.signed_by(verifier) {
            return Ok(Err(TrailBreak::BadSignature));
        }
        if let Err(b) = self.verify_all().await? {
            return Ok(Err(b.into()));
        }
        let head = self.head().await?.map_or(0, |(seq, _)| seq);
        if head < checkpoint.seq {
            return Ok(Err(TrailBreak::Truncated {
                head,
                checkpoint: checkpoint.seq,
            }));
        }
        let signed = self.read(checkpoint.seq, checkpoint.seq).await?;
        if signed.first().map(|r| r.hash) != Some(checkpoint.hash) {
            return Ok(Err(TrailBreak::Rewritten {
                seq: checkpoint.seq,
            }));
        }
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gp_core::*;

    fn events(n: u64) -> Vec<AuditEvent> {
        let ids = SequentialIds::new(5);
        let at = chrono::DateTime::<chrono::Utc>::from_timestamp(1_780_000_000, 0).unwrap();
        (0..n)
            .map(|i| {
                AuditEvent::new(
                    &ids,
                    at + chrono::Duration::seconds(i as i64),
                    Actor::System,
                    Channel::Internal,
                    None,
                    AuditAction::parse("appointment.cancel").unwrap(),
                    Outcome::Allowed,
                )
                .with_detail("n", i.to_string())
            })
            .collect()
    }

    #[test]
    fn golden_canonical_encoding_and_hash() {
        let ids = SequentialIds::new(1);
        let patient = PatientId::new(&ids);
        let at =
            chrono::DateTime::<chrono::Utc>::from_timestamp(1_780_000_000, 500_000_000).unwrap();
        let event = AuditEvent::new(
            &ids,
            at,
            Actor::Patient { patient },
            Channel::Online,
            Some(patient),
            AuditAction::parse("appointment.book").unwrap(),
            Outcome::Refused(ReasonCode::parse("SlotTaken").unwrap()),
        )
        .with_subject(
            SubjectKind::Slot,
            SlotId::from_uuid(gp_core::uuid::Uuid::from_u128(9)),
        )
        .with_detail("z", "last")
        .with_detail("a", "first");
        let body = canonical(&event);
        assert_eq!(
            body,
            concat!(
                r#"{"id":"00000000-0000-0001-0000-000000000002","at":"2026-05-28T20:26:40.500Z","#,
                r#""actor":{"Patient":{"patient":"00000000-0000-0001-0000-000000000001"}},"channel":"Online","#,
                r#""patient":"00000000-0000-0001-0000-000000000001","action":"appointment.book","#,
                r#""outcome":{"Refused":"SlotTaken"},"subjects":[{"kind":"Slot","id":"00000000-0000-0000-0000-000000000009"}],"#,
                r#""details":{"a":"first","z":"last"}}"#
            )
        );
        let hex: String = link(&GENESIS, &body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex.len(), 64);
        assert_eq!(hex, GOLDEN_HASH);
    }

    // Computed independently: sha256(32 zero bytes + body), with Python's hashlib.
    const GOLDEN_HASH: &str = "0f3c2f95a10ef568163f7429af339e0afb7e46d8d91e224d66d9a25c8d743c8d";

    #[test]
    fn an_intact_chain_verifies() {
        let records = chain(GENESIS, 1, &events(5));
        assert_eq!(
            verify(GENESIS, 1, &records, Some((5, records[4].hash))),
            Ok(())
        );
        // A later range verifies from its predecessor.
        assert_eq!(verify(records[1].hash, 3, &records[2..], None), Ok(()));
    }

    #[test]
    fn a_changed_body_is_modified_at_its_sequence() {
        let mut records = chain(GENESIS, 1, &events(5));
        records[2].body = records[2].body.replace("\"n\":\"2\"", "\"n\":\"7\"");
        assert_eq!(
            verify(GENESIS, 1, &records, None),
            Err(ChainBreak {
                seq: 3,
                kind: BreakKind::Modified
            })
        );
    }

    #[test]
    fn a_rewritten_record_with_a_recomputed_hash_breaks_the_next_link() {
        let mut records = chain(GENESIS, 1, &events(5));
        records[2].body = records[2].body.replace("\"n\":\"2\"", "\"n\":\"7\"");
        records[2].hash = link(&records[2].prev_hash, &records[2].body);
        let err = verify(GENESIS, 1, &records, None).unwrap_err();
        assert_eq!(
            err,
            ChainBreak {
                seq: 4,
                kind: BreakKind::Modified
            }
        );
    }

    #[test]
    fn a_deleted_record_is_missing_at_its_sequence() {
        let mut records = chain(GENESIS, 1, &events(5));
        let head = Some((5, records[4].hash));
        records.remove(1);
        assert_eq!(
            verify(GENESIS, 1, &records, head),
            Err(ChainBreak {
                seq: 2,
                kind: BreakKind::Missing
            })
        );
        // Deleting the last one is caught by the head.
        let mut records = chain(GENESIS, 1, &events(5));
        records.pop();
        assert_eq!(
            verify(GENESIS, 1, &records, head),
            Err(ChainBreak {
                seq: 5,
                kind: BreakKind::Missing
            })
        );
    }

    #[test]
    fn swapped_records_are_out_of_order() {
        let mut records = chain(GENESIS, 1, &events(5));
        // Swap the contents of positions 2 and 3, keeping the sequence numbers in place.
        let (a, b) = (records[1].clone(), records[2].clone());
        records[1] = ChainRecord { seq: 2, ..b };
        records[2] = ChainRecord { seq: 3, ..a };
        assert_eq!(
            verify(GENESIS, 1, &records, None),
            Err(ChainBreak {
                seq: 2,
                kind: BreakKind::OutOfOrder
            })
        );
    }

    #[test]
    fn breaks_read_as_sentences() {
        let b = ChainBreak {
            seq: 12,
            kind: BreakKind::Missing,
        };
        assert_eq!(
            b.to_string(),
            "the audit trail is broken: event 12 is missing"
        );
    }
}
