//! The practice's access settings.

use serde::{Deserialize, Serialize};

use crate::error::AccessError;

/// A practice's online access settings, each with a default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessSettings {
    /// Days a linkage key works after it is issued. Default 14 (1 to 90).
    pub linkage_key_days: u32,
    /// Failed redemptions that lock an account's linkage keys. Default 5 (1 to 20).
    pub max_failed_redemptions: u32,
    /// The child's age at which parental access is due for review. Default 11 (1 to 15).
    pub parental_review_age: u32,
    /// Years unused after which proxy access is listed for removal. Default 5 (1 to 10).
    pub unused_proxy_years: u32,
    /// Days before a child's 16th birthday that parental access is listed
    /// for review, so the family can be told before it stops. Default 28 (0 to 180).
    #[serde(default = "default_sixteen_notice_days")]
    pub sixteen_notice_days: u32,
    /// Failed linkage attempts at the whole practice (every account, known
    /// or not) in the last hour after which no attempt is tried
    /// (`LinkageRateLimited`) until the count falls. Default 30 (1 to 1000).
    #[serde(default = "default_practice_failed_redemptions_per_hour")]
    pub practice_failed_redemptions_per_hour: u32,
}

fn default_practice_failed_redemptions_per_hour() -> u32 {
    30
}

fn default_sixteen_notice_days() -> u32 {
    28
}

impl Default for AccessSettings {
    fn default() -> Self {
        Self {
            linkage_key_days: 14,
            max_failed_redemptions: 5,
            parental_review_age: 11,
            unused_proxy_years: 5,
            sixteen_notice_days: default_sixteen_notice_days(),
            practice_failed_redemptions_per_hour: default_practice_failed_redemptions_per_hour(),
        }
    }
}

impl AccessSettings {
    /// Checks every setting is in range.
    pub fn check(&self) -> Result<(), AccessError> {
        let bad = |name: &'static str, value: u32| Err(AccessError::Setting { name, value });
        if !(1..=90).contains(&self.linkage_key_days) {
            return bad("linkage_key_days", self.linkage_key_days);
        }
        if !(1..=20).contains(&self.max_failed_redemptions) {
            return bad("max_failed_redemptions", self.max_failed_redemptions);
        }
        if !(1..=15).contains(&self.parental_review_age) {
            return bad("parental_review_age", self.parental_review_age);
        }
        if !(1..=10).contains(&self.unused_proxy_years) {
            return bad("unused_proxy_years", self.unused_proxy_years);
        }
        if self.sixteen_notice_days > 180 {
            return bad("sixteen_notice_days", self.sixteen_notice_days);
        }
        if !(1..=1000).contains(&self.practice_failed_redemptions_per_hour) {
            return bad(
                "practice_failed_redemptions_per_hour",
                self.practice_failed_redemptions_per_hour,
            );
        }
        Ok(())
    }
}
