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

/// An Organisation Data Service code for a practice: 1 to 9 letters or digits
/// (for example `A81001`). Lower-case input is upper-cased.
///
/// ```
/// use gp_core::OdsCode;
/// assert_eq!(OdsCode::parse("a81001").unwrap().as_str(), "A81001");
/// assert!(OdsCode::parse("A81 001").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OdsCode(String);

impl OdsCode {
    /// Parses an ODS code.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let code = input.trim();
        if code.is_empty() || code.len() > 9 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ParseError::OdsCode(input.to_owned()));
        }
        Ok(Self(code.to_ascii_uppercase()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OdsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for OdsCode {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for OdsCode {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<OdsCode> for String {
    fn from(c: OdsCode) -> Self {
        c.0
    }
}

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
