//! Bookings, their free-text fields and cancellations.

use chrono::{DateTime, Utc};
use gp_core::{bounded_text, Actor, BookingId, Channel, ParseError, PatientId, SlotId};
use serde::{Deserialize, Serialize};

macro_rules! bounded {
    ($(#[$meta:meta])* $name:ident, $field:literal, $max:expr, $required:expr) => {
        bounded!($(#[$meta])* $name, $field, $max, $required, |_: &str| true, "");
    };
    ($(#[$meta:meta])* $name:ident, $field:literal, $max:expr, $required:expr, $ok:expr, $rule:literal) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        /// Shows the text's length, never its words.
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple(stringify!($name))
                    .field(&gp_core::Redacted::of(&self.0))
                    .finish()
            }
        }

        impl $name {
            /// The most characters allowed.
            pub const MAX_CHARS: usize = $max;

            /// Checks and trims the text.
            pub fn parse(text: &str) -> Result<Self, ParseError> {
                let text = bounded_text(text, $field, $max, $required)?;
                let ok: fn(&str) -> bool = $ok;
                if ok(&text) {
                    Ok(Self(text))
                } else {
                    Err(ParseError::Invalid {
                        field: $field,
                        rule: $rule,
                    })
                }
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> Self {
                v.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// Whether `t` is one line of plain text for a name shown to people: no
/// control characters, no line or paragraph separator, none of the
/// characters that show as nothing or change how the text around them
/// shows (soft hyphen, fillers, variation selectors, tags, format
/// characters, shorthand format controls, private-use characters and
/// non-characters), and no combining mark to begin it, so what is shown is
/// what was written.
fn one_plain_line(t: &str) -> bool {
    let starts_with_mark = t.chars().next().is_some_and(|c| {
        matches!(
            c,
            '\u{0300}'..='\u{036F}'
                | '\u{0483}'..='\u{0489}'
                | '\u{1AB0}'..='\u{1AFF}'
                | '\u{1DC0}'..='\u{1DFF}'
                | '\u{20D0}'..='\u{20FF}'
                | '\u{FE20}'..='\u{FE2F}'
        )
    });
    !starts_with_mark
        && !t.chars().any(|c| {
            c.is_control()
                || gp_core::is_invisible(c)
                || (c as u32 & 0xFFFE) == 0xFFFE
                || matches!(
                    c,
                    '\u{00AD}'
                        | '\u{034F}'
                        | '\u{0600}'..='\u{0605}'
                        | '\u{06DD}'
                        | '\u{070F}'
                        | '\u{08E2}'
                        | '\u{115F}'
                        | '\u{1160}'
                        | '\u{17B4}'
                        | '\u{17B5}'
                        | '\u{180B}'..='\u{180F}'
                        | '\u{2028}'
                        | '\u{2029}'
                        | '\u{2060}'..='\u{206F}'
                        | '\u{2800}'
                        | '\u{3164}'
                        | '\u{E000}'..='\u{F8FF}'
                        | '\u{FDD0}'..='\u{FDEF}'
                        | '\u{FE00}'..='\u{FE0F}'
                        | '\u{FFA0}'
                        | '\u{FFF0}'..='\u{FFFC}'
                        | '\u{110BD}'
                        | '\u{110CD}'
                        | '\u{13430}'..='\u{1343F}'
                        | '\u{1BCA0}'..='\u{1BCA3}'
                        | '\u{1D173}'..='\u{1D17A}'
                        | '\u{E0000}'..='\u{E0FFF}'
                        | '\u{F0000}'..
                )
        })
}

bounded!(
    /// Why the patient wants the appointment, at most 100 characters (as GP Connect allows).
    BookingDescription, "the appointment description", 100, true
);
bounded!(
    /// A further comment on a booking, at most 500 characters (as GP Connect allows).
    BookingComment, "the appointment comment", 500, true
);
bounded!(
    /// Why an appointment was cancelled, at most 250 characters; never empty.
    CancellationReason, "the cancellation reason", 250, true
);
bounded!(
    /// Why a member of staff booked beyond the patient's holding limit, at most 250
    /// characters; never empty.
    OverrideReason, "the override reason", 250, true
);
bounded!(
    /// The name of an organisation that booked (GP Connect's booking
    /// organisation), 1 to 200 characters on one line.
    OrganisationName, "the organisation's name", 200, true,
    one_plain_line,
    "one line of plain text, with no control, separator or invisible characters"
);
bounded!(
    /// A member of staff's SDS user id (the national directory's id on
    /// their smartcard): 1 to 20 ASCII letters or digits.
    SdsUserId, "the SDS user id", 20, true,
    |t: &str| t.chars().all(|c| c.is_ascii_alphanumeric()),
    "ASCII letters and digits"
);
bounded!(
    /// An SDS job role code (GP Connect's `CareConnect-SDSJobRoleName-1`
    /// code system), such as `R0260`: `R` and four digits.
    JobRoleCode, "the SDS job role code", 5, true,
    |t: &str| t.len() == 5 && t.starts_with('R') && t[1..].chars().all(|c| c.is_ascii_digit()),
    "R and four digits"
);
bounded!(
    /// The name of an SDS job role as the code system gives it (for
    /// `R0260`, "General Medical Practitioner"): 1 to 100 characters on one line.
    JobRoleName, "the SDS job role name", 100, true,
    one_plain_line,
    "one line of plain text, with no control, separator or invisible characters"
);

/// A clinician's national job role, as the practice records it from their
/// SDS entry: what GP Connect shows as the `PractitionerRole` extension.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JobRole {
    /// The SDS job role code (`R0260`).
    pub code: JobRoleCode,
    /// Its name in the code system ("General Medical Practitioner").
    pub name: JobRoleName,
}

bounded!(
    /// The telephone number of an organisation that booked: 1 to 40
    /// digits, spaces and `+ ( ) -`, with at least one digit.
    OrganisationTelephone, "the organisation's telephone number", 40, true,
    |t: &str| t.chars().any(|c| c.is_ascii_digit())
        && t.chars().all(|c| c.is_ascii_digit() || " +()-".contains(c)),
    "digits, spaces and + ( ) - only"
);

/// How the practice reaches the organisation that booked an appointment
/// (GP Connect's booking organisation; its code and type are the booking's
/// `booked_by`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrganisationContact {
    /// Its name.
    pub name: OrganisationName,
    /// Its telephone number, if given.
    pub telephone: Option<OrganisationTelephone>,
}

/// A cancelled booking's cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancellation {
    /// Who cancelled.
    pub by: Actor,
    /// Through which channel.
    pub channel: Channel,
    /// When.
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: CancellationReason,
}

/// One slot booked for one patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    /// The booking.
    pub id: BookingId,
    /// The slot booked.
    pub slot: SlotId,
    /// The patient the appointment is for.
    pub patient: PatientId,
    /// Who made the booking (the patient, their proxy or staff).
    pub booked_by: Actor,
    /// Through which channel.
    pub channel: Channel,
    /// When it was made.
    pub booked_at: DateTime<Utc>,
    /// Why the patient wants the appointment.
    pub description: Option<BookingDescription>,
    /// A further comment.
    pub comment: Option<BookingComment>,
    /// Set when staff booked beyond the holding limit, with their reason.
    pub holding_limit_override: Option<OverrideReason>,
    /// Set once the booking is cancelled.
    pub cancellation: Option<Cancellation>,
    /// How many times its description or comment was amended (staff, or
    /// another organisation through GP Connect). Its version is
    /// [`Booking::version`].
    #[serde(default)]
    pub amendments: u32,
    /// For a booking by another organisation: how to reach it, as it gave.
    #[serde(default)]
    pub organisation_contact: Option<OrganisationContact>,
    /// For a further slot of an appointment of several adjacent slots: the
    /// appointment's first booking. Cancelling that booking cancels this
    /// one with it.
    #[serde(default)]
    pub joined_to: Option<BookingId>,
}

impl Booking {
    /// The booking's version, as GP Connect's `versionId` and ETag: 1 when
    /// booked, one more for each amendment, and one more once cancelled.
    pub fn version(&self) -> u64 {
        1 + u64::from(self.amendments) + u64::from(!self.is_live())
    }

    /// Whether the booking still holds its slot.
    pub fn is_live(&self) -> bool {
        self.cancellation.is_none()
    }
}

/// One of a patient's live bookings, as the holding limit sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    /// The booking.
    pub booking: BookingId,
    /// Its slot.
    pub slot: SlotId,
    /// When the appointment starts.
    pub start: DateTime<Utc>,
    /// The channel it was booked through.
    pub channel: Channel,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sds_details_are_codes_not_text() {
        assert!(SdsUserId::parse("555123456789").is_ok());
        for bad in ["", "555 123", "55512345678901234567890", "id\n1", "ünï"] {
            assert!(SdsUserId::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            JobRoleCode::parse("R0260").map(|c| c.to_string()),
            Ok("R0260".into())
        );
        for bad in [
            "",
            "R026",
            "R02600",
            "X0260",
            "r0260",
            "R02a0",
            "S0030:G0100:R0620",
        ] {
            assert!(JobRoleCode::parse(bad).is_err(), "{bad:?}");
        }
        assert!(JobRoleName::parse("General Medical Practitioner").is_ok());
        assert!(JobRoleName::parse("two\nlines").is_err());
        for hidden in [
            '\u{2028}',
            '\u{2029}',
            '\u{00AD}',
            '\u{180E}',
            '\u{034F}',
            '\u{E0041}',
            '\u{FFF9}',
            '\u{FFFC}',
            '\u{3164}',
            '\u{2800}',
            '\u{200B}',
            '\u{202E}',
            '\u{1BCA0}',
            '\u{0600}',
            '\u{06DD}',
            '\u{110BD}',
            '\u{13430}',
            '\u{E000}',
            '\u{FFFF}',
            '\u{FDD0}',
            '\u{10FFFD}',
        ] {
            let name = format!("General{hidden}Practitioner");
            assert!(JobRoleName::parse(&name).is_err(), "{hidden:?}");
            assert!(OrganisationName::parse(&name).is_err(), "{hidden:?}");
        }
        assert!(OrganisationName::parse("Médecins du Monde (St. Mary's)").is_ok());
        // A combining mark cannot begin a name (it would sit on nothing).
        assert!(OrganisationName::parse("\u{0301}").is_err());
        assert!(OrganisationName::parse("\u{0301}NHS 111").is_err());
        assert!(OrganisationName::parse("Cafe\u{0301} Surgery").is_ok());
        assert!(JobRoleName::parse(&"n".repeat(101)).is_err());
    }

    #[test]
    fn an_organisations_name_and_telephone_are_one_plain_line() {
        assert!(OrganisationName::parse("NHS 111 North (Leeds)").is_ok());
        for bad in ["NHS 111\r\n<script>", "Tab\there", ""] {
            assert!(OrganisationName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(OrganisationName::parse(&"n".repeat(201)).is_err());
        assert!(OrganisationTelephone::parse("+44 (0)300 303-5678").is_ok());
        for bad in ["not a phone", "0300\n303", "=cmd|' /C calc'!A0", "()", ""] {
            assert!(OrganisationTelephone::parse(bad).is_err(), "{bad:?}");
        }
        // Read from JSON, the same rules hold.
        assert!(serde_json::from_str::<OrganisationName>("\"a\\nb\"").is_err());
    }

    #[test]
    fn lengths_follow_gp_connect() {
        assert!(BookingDescription::parse(&"a".repeat(100)).is_ok());
        assert!(matches!(
            BookingDescription::parse(&"a".repeat(101)),
            Err(ParseError::TooLong {
                max: 100,
                actual: 101,
                ..
            })
        ));
        assert!(BookingComment::parse(&"a".repeat(500)).is_ok());
        assert!(BookingComment::parse(&"a".repeat(501)).is_err());
        assert!(CancellationReason::parse("  ").is_err());
        assert!(
            serde_json::from_str::<BookingDescription>(&format!("\"{}\"", "a".repeat(101)))
                .is_err()
        );
    }
}
