//! The audit export: a sequence range as JSON Lines, with the hashes, for
//! an outsider to verify (see `docs/audit-format.md`).

use crate::ChainRecord;

/// Bytes as lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `records` as JSON Lines, one record a line, in order:
/// `{"seq":N,"prev_hash":"<64 hex>","hash":"<64 hex>","event":<the canonical encoding>}`.
/// The `event` value is the stored canonical encoding itself, byte for
/// byte, so that `hash = SHA-256(prev_hash || event)` can be checked from
/// the line alone.
pub fn export_jsonl(records: &[ChainRecord]) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&format!(
            "{{\"seq\":{},\"prev_hash\":\"{}\",\"hash\":\"{}\",\"event\":{}}}\n",
            r.seq,
            hex(&r.prev_hash),
            hex(&r.hash),
            r.body
        ));
    }
    out
}
