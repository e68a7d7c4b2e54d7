//! Errors for input parsed at the edge.

use thiserror::Error;

/// Why a value given to the system could not be accepted.
///
/// Every message is written so that it can be shown to practice staff or a patient.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    /// An NHS number did not have exactly ten digits.
    #[error("an NHS number has exactly ten digits")]
    NhsNumberLength,
    /// An NHS number held a character other than a digit, space or hyphen.
    #[error("an NHS number may contain only digits, spaces and hyphens, not {0:?}")]
    NhsNumberCharacter(char),
    /// An NHS number failed its Modulus 11 check digit.
    #[error("this is not a valid NHS number (the check digit does not match)")]
    NhsNumberCheckDigit,
    /// An ODS code was empty, too long or held other characters.
    #[error("an ODS code is 1 to 9 letters or digits, not {0:?}")]
    OdsCode(String),
    /// An organisation type code was empty, too long or held other characters.
    #[error("an organisation type is 1 to 32 lower-case letters, digits or hyphens, not {0:?}")]
    OrganisationType(String),
    /// A text field broke a rule of its own.
    #[error("{field} must be {rule}")]
    Invalid {
        /// The field's name as shown to people.
        field: &'static str,
        /// The rule, as shown to people.
        rule: &'static str,
    },
    /// A text field was longer than allowed.
    #[error("{field} may be at most {max} characters (it has {actual})")]
    TooLong {
        /// The field's name as shown to people.
        field: &'static str,
        /// The most characters allowed.
        max: usize,
        /// How many characters were given.
        actual: usize,
    },
    /// A text field that must hold something was empty.
    #[error("{field} must not be empty")]
    Empty {
        /// The field's name as shown to people.
        field: &'static str,
    },
    /// A text field held a character that changes how text reads without
    /// being seen (a bidirectional override or a zero-width character).
    #[error("{field} must not contain invisible formatting characters")]
    InvisibleCharacter {
        /// The field's name as shown to people.
        field: &'static str,
    },
    /// A text field held a control character.
    #[error("{field} must not contain control characters")]
    ControlCharacter {
        /// The field's name as shown to people.
        field: &'static str,
    },
    /// An audit action name was not lower-case words joined by dots.
    #[error("an audit action is lower-case words joined by dots, not {0:?}")]
    AuditAction(String),
    /// A reason code was not a CamelCase word.
    #[error("a reason code is a CamelCase word, not {0:?}")]
    ReasonCode(String),
}

/// A local date and time that does not name one instant in Europe/London.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LocalTimeError {
    /// The clocks went forward over this time: it never happened on that date.
    #[error("{0} does not exist in UK time (the clocks go forward over it)")]
    Skipped(chrono::NaiveDateTime),
}
