//! The practice's settings for ordering repeat prescriptions online.

use serde::{Deserialize, Serialize};

use crate::error::SettingsError;

/// A practice's repeat prescribing settings. Every field has a default
/// ([`PrescribingSettings::default`]); [`PrescribingSettings::check`] keeps
/// them in range, and a decision refuses to store settings that fail it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrescribingSettings {
    /// Whether patients and proxies may order repeats online. Default: on.
    /// Telephone, paper and pharmacy requests are not affected.
    pub online_ordering: bool,
    /// An item may be ordered online at most this many days before the
    /// previous supply runs out (last issue date + issue duration). Default: 7.
    /// There is no national figure; this is the practice's own rule.
    pub too_early_days: u32,
    /// The most items in one request. Default: 10.
    pub max_items_per_request: u32,
    /// Whether a request may carry a message to the practice. Default: on.
    pub messages_allowed: bool,
    /// The longest message, in characters. Default: 500.
    pub max_message_chars: u32,
}

impl Default for PrescribingSettings {
    fn default() -> Self {
        Self {
            online_ordering: true,
            too_early_days: 7,
            max_items_per_request: 10,
            messages_allowed: true,
            max_message_chars: 500,
        }
    }
}

impl PrescribingSettings {
    /// Checks that every setting is in range.
    pub fn check(&self) -> Result<(), SettingsError> {
        if self.too_early_days > 366 {
            return Err(SettingsError::TooEarlyDays(self.too_early_days));
        }
        if !(1..=50).contains(&self.max_items_per_request) {
            return Err(SettingsError::MaxItems(self.max_items_per_request));
        }
        if !(1..=2000).contains(&self.max_message_chars) {
            return Err(SettingsError::MaxMessage(self.max_message_chars));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_in_range_and_bounds_are_checked() {
        let ok = PrescribingSettings::default();
        assert_eq!(ok.check(), Ok(()));
        let mut s = ok.clone();
        s.too_early_days = 367;
        assert_eq!(s.check(), Err(SettingsError::TooEarlyDays(367)));
        let mut s = ok.clone();
        s.max_items_per_request = 0;
        assert_eq!(s.check(), Err(SettingsError::MaxItems(0)));
        let mut s = ok;
        s.max_message_chars = 2001;
        assert_eq!(s.check(), Err(SettingsError::MaxMessage(2001)));
    }
}
