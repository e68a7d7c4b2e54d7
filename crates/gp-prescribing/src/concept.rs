//! SNOMED CT / dm+d concept identifiers with their Verhoeff check digit.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A SNOMED CT concept identifier, as used by the NHS Dictionary of Medicines
/// and Devices (dm+d) for medicines (for example `322236009`).
///
/// Always valid: 6 to 18 digits, no leading zero, a concept partition
/// identifier (`00` for the short form, `10` for an extension's long form,
/// which also carries a seven-digit namespace and so has at least 11 digits)
/// in the second- and third-last digits, and a correct Verhoeff check digit
/// last. Whether the concept exists in a dm+d release is the clinical
/// system's question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConceptId(u64);

/// Why text is not a concept identifier.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConceptIdError {
    /// Not 6 to 18 digits, or a leading zero.
    #[error("{0:?} is not a SNOMED CT identifier (6 to 18 digits, no leading zero)")]
    Format(String),
    /// The partition identifier is not that of a concept.
    #[error("{0:?} is not a concept identifier (its partition is not 00 or 10)")]
    NotAConcept(String),
    /// A long-form identifier (partition `10`) too short to hold its item
    /// identifier and seven-digit namespace: it needs at least 11 digits.
    #[error("{0:?} is not a concept identifier (a long-form identifier has a seven-digit namespace, so at least 11 digits)")]
    Namespace(String),
    /// The Verhoeff check digit is wrong (a mistyped digit or two swapped).
    #[error("{0:?} has a wrong check digit")]
    CheckDigit(String),
}

const D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];

const P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/// Whether a string of ASCII digits ends in a correct Verhoeff check digit.
fn verhoeff_ok(digits: &[u8]) -> bool {
    let mut c = 0usize;
    for (i, d) in digits.iter().rev().enumerate() {
        c = usize::from(D[c][usize::from(P[i % 8][usize::from(d - b'0')])]);
    }
    c == 0
}

impl ConceptId {
    /// Parses an identifier, refusing anything but a valid concept id.
    pub fn parse(text: &str) -> Result<Self, ConceptIdError> {
        let s = text.trim();
        let bytes = s.as_bytes();
        if !(6..=18).contains(&bytes.len())
            || !bytes.iter().all(u8::is_ascii_digit)
            || bytes[0] == b'0'
        {
            return Err(ConceptIdError::Format(text.to_owned()));
        }
        let partition = &s[s.len() - 3..s.len() - 1];
        if partition != "00" && partition != "10" {
            return Err(ConceptIdError::NotAConcept(text.to_owned()));
        }
        // Long form: item identifier (at least one digit), a seven-digit
        // namespace, the partition and the check digit.
        if partition == "10" && bytes.len() < 11 {
            return Err(ConceptIdError::Namespace(text.to_owned()));
        }
        if !verhoeff_ok(bytes) {
            return Err(ConceptIdError::CheckDigit(text.to_owned()));
        }
        s.parse::<u64>()
            .map(Self)
            .map_err(|_| ConceptIdError::Format(text.to_owned()))
    }

    /// The identifier as a number.
    pub fn value(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ConceptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for ConceptId {
    type Err = ConceptIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ConceptId {
    type Error = ConceptIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ConceptId> for String {
    fn from(c: ConceptId) -> Self {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_concepts_are_accepted() {
        // The SNOMED CT root concept, a clinical finding, a dm+d virtual
        // medicinal product and a long-form (extension) identifier.
        for id in ["138875005", "404684003", "322236009", "39732311000001104"] {
            assert_eq!(ConceptId::parse(id).unwrap().to_string(), id);
        }
    }

    #[test]
    fn wrong_digits_formats_and_partitions_are_refused() {
        assert!(matches!(
            ConceptId::parse("322236008"),
            Err(ConceptIdError::CheckDigit(_))
        ));
        assert!(matches!(
            ConceptId::parse("322263009"),
            Err(ConceptIdError::CheckDigit(_))
        ));
        for bad in [
            "",
            "12345",
            "0322236009",
            "32223600a",
            "1234567890123456789",
        ] {
            assert!(matches!(
                ConceptId::parse(bad),
                Err(ConceptIdError::Format(_))
            ));
        }
        // A long-form identifier needs room for its seven-digit namespace:
        // `3850402109` passes the check digit but has only 10 digits.
        assert!(verhoeff_ok(b"3850402109"));
        assert!(matches!(
            ConceptId::parse("3850402109"),
            Err(ConceptIdError::Namespace(_))
        ));
        // A description identifier (partition 01) is not a concept.
        assert!(matches!(
            ConceptId::parse("754015"),
            Err(ConceptIdError::NotAConcept(_))
        ));
        assert!(serde_json::from_str::<ConceptId>("\"322236008\"").is_err());
        assert_eq!(
            serde_json::from_str::<ConceptId>("\"322236009\"").unwrap(),
            ConceptId::parse("322236009").unwrap()
        );
    }

    proptest! {
        /// Verhoeff catches every single mistyped digit and every swap of two
        /// neighbouring different digits.
        #[test]
        fn single_errors_and_swaps_are_caught(i in 0usize..9, d in 0u8..10, j in 0usize..8) {
            let good = b"322236009".to_vec();
            prop_assert!(verhoeff_ok(&good));
            let mut typo = good.clone();
            typo[i] = b'0' + d;
            prop_assert_eq!(verhoeff_ok(&typo), typo == good);
            let mut swapped = good.clone();
            swapped.swap(j, j + 1);
            prop_assert_eq!(verhoeff_ok(&swapped), swapped == good);
        }
    }
}
