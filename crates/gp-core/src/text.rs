//! Checked free text for fields with a bound on their length.

use crate::error::ParseError;

/// Checks free text for a bounded field: trims it, refuses control characters
/// other than line breaks and tabs, refuses characters that change what a
/// reader sees without being seen (bidirectional overrides and isolates,
/// zero-width characters), and refuses more than `max` characters.
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
    if text.chars().any(is_invisible) {
        return Err(ParseError::InvisibleCharacter { field });
    }
    let actual = text.chars().count();
    if actual > max {
        return Err(ParseError::TooLong { field, max, actual });
    }
    Ok(text.to_owned())
}

/// Whether `c` changes how text reads without being seen: the
/// bidirectional marks, embeddings, overrides and isolates, and the
/// zero-width characters (a byte-order mark inside text included).
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// Implements `Debug` for a struct of personal data: the fields in `show`
/// as they are, the fields in `hide` as `<redacted>` (text as its length),
/// so that logs never carry NHS numbers, dates of birth, names, notes or
/// message text.
///
/// ```
/// struct Note { id: u32, text: String }
/// gp_core::redacted_debug!(Note { show: [id], hide: [text] });
/// let shown = format!("{:?}", Note { id: 7, text: "private".into() });
/// assert_eq!(shown, "Note { id: 7, text: <7 chars> }");
/// ```
#[macro_export]
macro_rules! redacted_debug {
    ($t:ident { show: [$($s:ident),* $(,)?], hide: [$($h:ident),* $(,)?] $(,)? }) => {
        impl ::std::fmt::Debug for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                let mut d = f.debug_struct(stringify!($t));
                $( d.field(stringify!($s), &self.$s); )*
                $( d.field(stringify!($h), &$crate::Redacted::of(&self.$h)); )*
                d.finish()
            }
        }
    };
}

/// How a hidden field shows in `Debug`: text as its length, anything else
/// as `<redacted>`.
pub struct Redacted(Option<usize>);

impl Redacted {
    /// The redacted form of `value`.
    pub fn of<T: RedactedShape + ?Sized>(value: &T) -> Self {
        Self(value.text_length())
    }
}

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(n) => write!(f, "<{n} chars>"),
            None => f.write_str("<redacted>"),
        }
    }
}

/// What of a hidden value `Debug` may show: the length of text, nothing else.
pub trait RedactedShape {
    /// The number of characters, for text.
    fn text_length(&self) -> Option<usize> {
        None
    }
}

impl RedactedShape for String {
    fn text_length(&self) -> Option<usize> {
        Some(self.chars().count())
    }
}

impl RedactedShape for str {
    fn text_length(&self) -> Option<usize> {
        Some(self.chars().count())
    }
}

impl RedactedShape for crate::NhsNumber {}
impl RedactedShape for chrono::NaiveDate {}
impl<T: RedactedShape> RedactedShape for Option<T> {
    fn text_length(&self) -> Option<usize> {
        self.as_ref().and_then(RedactedShape::text_length)
    }
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

    #[test]
    fn refuses_text_that_reads_other_than_it_is() {
        // A right-to-left override hides what follows; zero-width
        // characters hide inside words.
        for sneaky in [
            "Repeat \u{202E}gnidrow",
            "Call\u{200B}me",
            "left\u{2067}right\u{2069}",
            "a\u{FEFF}b",
            "x\u{200D}y",
            "\u{061C}abc",
        ] {
            assert_eq!(
                bounded_text(sneaky, "message", 100, true),
                Err(ParseError::InvisibleCharacter { field: "message" }),
                "{sneaky:?}"
            );
        }
        // Letters of every script are welcome.
        for fine in ["Zoë", "محمد", "שלום", "日本語", "Ünïcödé"] {
            assert_eq!(bounded_text(fine, "name", 100, true).unwrap(), fine);
        }
    }
}
