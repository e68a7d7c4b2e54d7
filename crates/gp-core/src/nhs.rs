//! NHS numbers and ODS practice codes, parsed at the edge.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ParseError;

/// A valid NHS number: ten digits whose last is the Modulus 11 check digit.
///
/// Input may contain spaces or hyphens (`943 476 5919`, `943-476-5919`); only the
/// digits are kept. Displays in the 3-3-4 form people read.
///
/// ```
/// use gp_core::NhsNumber;
/// let n: NhsNumber = "943-476-5919".parse().unwrap();
/// assert_eq!(n.to_string(), "943 476 5919");
/// assert_eq!(n.digits(), "9434765919");
/// assert!("943 476 5918".parse::<NhsNumber>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NhsNumber([u8; 10]);

impl NhsNumber {
    /// Parses an NHS number, accepting spaces and hyphens between digits.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let mut digits = [0u8; 10];
        let mut count = 0usize;
        for ch in input.trim().chars() {
            match ch {
                '0'..='9' => {
                    if count == 10 {
                        return Err(ParseError::NhsNumberLength);
                    }
                    digits[count] = ch as u8 - b'0';
                    count += 1;
                }
                ' ' | '-' => {}
                other => return Err(ParseError::NhsNumberCharacter(other)),
            }
        }
        if count != 10 {
            return Err(ParseError::NhsNumberLength);
        }
        let sum: u32 = digits[..9]
            .iter()
            .zip((2..=10u32).rev())
            .map(|(d, w)| u32::from(*d) * w)
            .sum();
        let check = match 11 - (sum % 11) {
            11 => 0,
            10 => return Err(ParseError::NhsNumberCheckDigit),
            c => c as u8,
        };
        if check != digits[9] {
            return Err(ParseError::NhsNumberCheckDigit);
        }
        Ok(Self(digits))
    }

    /// The ten digits with no separators, as stored.
    pub fn digits(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }
}

impl fmt::Display for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.digits();
        write!(f, "{} {} {}", &d[..3], &d[3..6], &d[6..])
    }
}

impl FromStr for NhsNumber {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for NhsNumber {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<NhsNumber> for String {
    fn from(n: NhsNumber) -> Self {
        n.digits()
    }
}

/// Up to `N` ASCII bytes kept inline, so that the codes holding them are
/// `Copy` (an [`crate::Actor`] names an organisation by its codes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Inline<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> Inline<N> {
    /// The text, if it is ASCII and at most `N` bytes.
    const fn new(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        if b.len() > N || b.len() > u8::MAX as usize || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; N];
        let mut i = 0;
        while i < b.len() {
            bytes[i] = b[i];
            i += 1;
        }
        Some(Self {
            len: b.len() as u8,
            bytes,
        })
    }

    fn as_str(&self) -> &str {
        // Only ASCII is ever stored, so this never falls back.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

/// An Organisation Data Service code: a practice's, or another NHS
/// organisation's (1 to 9 letters or digits, for example `A81001`).
/// Lower-case input is upper-cased.
///
/// ```
/// use gp_core::OdsCode;
/// assert_eq!(OdsCode::parse("a81001").unwrap().as_str(), "A81001");
/// assert!(OdsCode::parse("A81 001").is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OdsCode(Inline<9>);

impl OdsCode {
    /// Parses an ODS code.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let code = input.trim();
        if code.is_empty() || code.len() > 9 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ParseError::OdsCode(input.to_owned()));
        }
        Inline::new(&code.to_ascii_uppercase())
            .map(Self)
            .ok_or_else(|| ParseError::OdsCode(input.to_owned()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// The type of an organisation booking through GP Connect, a code of GP
/// Connect's `GPConnect-OrganisationType-1` code system (for example
/// `gp-practice`, `urgent-care`): 1 to 32 lower-case letters, digits or
/// hyphens. Practices open slots to organisation types by these codes.
///
/// ```
/// use gp_core::OrganisationType;
/// assert_eq!(OrganisationType::parse("urgent-care").unwrap(), OrganisationType::URGENT_CARE);
/// assert!(OrganisationType::parse("Urgent Care").is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrganisationType(Inline<32>);

/// The code system of organisation types.
pub const ORGANISATION_TYPE_SYSTEM: &str =
    "https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1";

impl OrganisationType {
    /// `gp-practice`: another GP practice (or the practice's own hub).
    pub const GP_PRACTICE: OrganisationType = OrganisationType::known("gp-practice");
    /// `urgent-care`: NHS 111 and other urgent care services.
    pub const URGENT_CARE: OrganisationType = OrganisationType::known("urgent-care");

    const fn known(code: &str) -> Self {
        match Inline::new(code) {
            Some(i) => Self(i),
            None => Self(Inline {
                len: 0,
                bytes: [0; 32],
            }),
        }
    }

    /// Parses an organisation type code.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let ok = !input.is_empty()
            && input.len() <= 32
            && input
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        match Inline::new(input) {
            Some(i) if ok => Ok(Self(i)),
            _ => Err(ParseError::OrganisationType(input.to_owned())),
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// The person at another organisation who made a GP Connect request, as
/// the organisation's system names them in its token
/// (`requesting_practitioner`): their SDS user id, or their id in that
/// system when they have none. 1 to 64 ASCII letters, digits or `-._:@`,
/// so it can be shown and searched but never carries text of its own.
///
/// ```
/// use gp_core::RequesterId;
/// assert_eq!(RequesterId::parse("111222333444").unwrap().as_str(), "111222333444");
/// assert!(RequesterId::parse("Dr Who").is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequesterId(Inline<64>);

impl RequesterId {
    /// Parses a requester id.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let ok = !input.is_empty()
            && input.len() <= 64
            && input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._:@".contains(&b));
        match Inline::new(input) {
            Some(i) if ok => Ok(Self(i)),
            _ => Err(ParseError::Invalid {
                field: "requester id",
                rule: "1 to 64 letters, digits or - . _ : @",
            }),
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// The traits every inline code shares: `Debug` as its text, ordered by its
/// text, shown as its text, parsed from text (also by serde, through
/// `String`).
macro_rules! inline_code {
    ($name:ident) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name))
                    .field(&self.as_str())
                    .finish()
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $name {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.as_str().cmp(other.as_str())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(c: $name) -> Self {
                c.as_str().to_owned()
            }
        }
    };
}

inline_code!(OdsCode);
inline_code!(OrganisationType);
inline_code!(RequesterId);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_documented_example_in_every_spelling() {
        for input in [
            "9434765919",
            "943 476 5919",
            "943-476-5919",
            " 943 476-5919 ",
        ] {
            let n = NhsNumber::parse(input).unwrap();
            assert_eq!(n.digits(), "9434765919");
            assert_eq!(n.to_string(), "943 476 5919");
        }
    }

    #[test]
    fn rejects_bad_numbers_with_the_reason() {
        assert_eq!(
            NhsNumber::parse("9434765918"),
            Err(ParseError::NhsNumberCheckDigit)
        );
        assert_eq!(
            NhsNumber::parse("943476591"),
            Err(ParseError::NhsNumberLength)
        );
        assert_eq!(
            NhsNumber::parse("94347659190"),
            Err(ParseError::NhsNumberLength)
        );
        assert_eq!(
            NhsNumber::parse("943476591x"),
            Err(ParseError::NhsNumberCharacter('x'))
        );
        assert_eq!(NhsNumber::parse(""), Err(ParseError::NhsNumberLength));
        // A prefix whose weighted sum leaves check value 10 has no valid number at all.
        let invalid_prefix = (0..1_000_000_000u64)
            .step_by(7_919)
            .map(|p| format!("{p:09}"))
            .find(|p| {
                let sum: u32 = p
                    .bytes()
                    .zip((2..=10u32).rev())
                    .map(|(b, w)| u32::from(b - b'0') * w)
                    .sum();
                11 - sum % 11 == 10
            })
            .unwrap();
        for last in 0..10 {
            assert_eq!(
                NhsNumber::parse(&format!("{invalid_prefix}{last}")),
                Err(ParseError::NhsNumberCheckDigit)
            );
        }
    }

    #[test]
    fn serde_goes_through_the_same_check() {
        let n: NhsNumber = serde_json::from_str("\"943 476 5919\"").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"9434765919\"");
        assert!(serde_json::from_str::<NhsNumber>("\"9434765918\"").is_err());
    }

    #[test]
    fn ods_codes() {
        assert_eq!(OdsCode::parse("A81001").unwrap().to_string(), "A81001");
        assert!(OdsCode::parse("").is_err());
        assert!(OdsCode::parse("ABCDEFGHIJ").is_err());
        assert!(OdsCode::parse("A8-1001").is_err());
        assert!(serde_json::from_str::<OdsCode>("\"A81 01\"").is_err());
    }

    proptest! {
        #[test]
        fn every_nine_digit_prefix_has_at_most_one_valid_check_digit(prefix in 0u32..1_000_000_000) {
            let valid = (0..10)
                .filter(|d| NhsNumber::parse(&format!("{prefix:09}{d}")).is_ok())
                .count();
            prop_assert!(valid <= 1);
        }

        #[test]
        fn parse_never_panics_and_valid_numbers_round_trip(s in "[0-9 -]{0,16}") {
            if let Ok(n) = NhsNumber::parse(&s) {
                prop_assert_eq!(NhsNumber::parse(&n.to_string()), Ok(n));
            }
        }
    }
}
