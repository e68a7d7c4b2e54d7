//! Checked free text for fields with a bound on their length.

use crate::error::ParseError;

/// Checks free text for a bounded field: trims it, refuses control characters
/// other than line breaks and tabs, and refuses more than `max` characters.
///
/// Returns the trimmed text. Empty text is refused when `required` is true.
///
/// ```
/// use gp_core::bounded_text;
/// assert_eq!(bounded_text("  Sore knee  ", "description", 100, true).unwrap(), "Sore knee");
/// assert!(bounded_text(&"x".repeat(101), "description", 100, true).is_err());
/// ```
pub fn bounded_text(
    input: &str,
    field: &'static str,
    max: usize,
    required: bool,
) -> Result<String, ParseError> {
    let text = input.trim();
    if required && text.is_empty() {
        return Err(ParseError::Empty { field });
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(ParseError::ControlCharacter { field });
    }
    let actual = text.chars().count();
    if actual > max {
        return Err(ParseError::TooLong { field, max, actual });
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_characters_not_bytes() {
        let accented = "é".repeat(100);
        assert_eq!(
            bounded_text(&accented, "comment", 100, true).unwrap(),
            accented
        );
        assert_eq!(
            bounded_text(&"é".repeat(101), "comment", 100, true),
            Err(ParseError::TooLong {
                field: "comment",
                max: 100,
                actual: 101
            })
        );
    }

    #[test]
    fn refuses_empty_required_text_and_control_characters() {
        assert_eq!(
            bounded_text("   ", "reason", 10, true),
            Err(ParseError::Empty { field: "reason" })
        );
        assert_eq!(bounded_text("   ", "reason", 10, false).unwrap(), "");
        assert_eq!(
            bounded_text("a\u{7}b", "reason", 10, true),
            Err(ParseError::ControlCharacter { field: "reason" })
        );
        assert_eq!(bounded_text("a\nb", "reason", 10, true).unwrap(), "a\nb");
    }
}
