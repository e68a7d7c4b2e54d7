//! The review lists: proxy access due for review, and access unused for years.

use chrono::{DateTime, NaiveDate, Utc};
use gp_core::{age_on, local_date};

use crate::model::*;
use crate::settings::AccessSettings;

/// Why a proxy grant is on the review list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewReason {
    /// The child has reached the review age and their own view is not recorded.
    ChildReachedReviewAge,
    /// The grant's review date has come.
    ReviewDateReached,
    /// Parental access stops at 16 on this date (within the notice period):
    /// tell the family, and record a new basis if access should continue.
    SixteenSoon {
        /// The 16th birthday.
        on: NaiveDate,
    },
    /// Parental access has stopped at 16; a new basis is needed to continue.
    ReachedSixteen,
}

/// Grants due for review on `today`, with why.
pub fn reviews_due(
    records: &[AccessRecord],
    settings: &AccessSettings,
    today: NaiveDate,
) -> Vec<(ProxyGrant, ReviewReason)> {
    let mut out = Vec::new();
    for r in records {
        let dob = r.account.as_ref().map(|a| a.date_of_birth);
        for g in r.grants.iter().filter(|g| g.revoked.is_none()) {
            let age = dob.map(|d| age_on(d, today));
            if g.basis == LegalBasis::ParentalResponsibility {
                let sixteenth =
                    dob.map(|d| gp_core::birthday_in(d, chrono::Datelike::year(&d) + 16));
                let notice = chrono::Days::new(u64::from(settings.sixteen_notice_days));
                match age {
                    Some(a) if a >= 16 => {
                        out.push((g.clone(), ReviewReason::ReachedSixteen));
                        continue;
                    }
                    Some(_)
                        if sixteenth.is_some_and(|on| {
                            on.checked_sub_days(notice).unwrap_or(NaiveDate::MIN) <= today
                        }) =>
                    {
                        let on = sixteenth.unwrap_or(today);
                        out.push((g.clone(), ReviewReason::SixteenSoon { on }));
                        continue;
                    }
                    Some(a) if a >= settings.parental_review_age && g.child_view.is_none() => {
                        out.push((g.clone(), ReviewReason::ChildReachedReviewAge));
                        continue;
                    }
                    _ => {}
                }
            }
            if g.review.is_some_and(|d| d <= today) {
                out.push((g.clone(), ReviewReason::ReviewDateReached));
            }
        }
    }
    out
}

/// Grants not used for the settings' years (counting from the grant if never
/// used), to be removed.
pub fn unused_proxies(
    records: &[AccessRecord],
    settings: &AccessSettings,
    now: DateTime<Utc>,
) -> Vec<ProxyGrant> {
    let today = local_date(now);
    let years = i32::try_from(settings.unused_proxy_years).unwrap_or(5);
    records
        .iter()
        .flat_map(|r| r.grants.iter())
        .filter(|g| g.revoked.is_none())
        .filter(|g| {
            let last = local_date(g.last_used.unwrap_or(g.decided_at));
            today >= gp_core::birthday_in(last, chrono::Datelike::year(&last) + years)
        })
        .cloned()
        .collect()
}
