//! The repeat medication list: one [`RepeatItem`] per medicine a patient may re-order.

use chrono::{DateTime, NaiveDate, Utc};
use gp_core::{bounded_text, Actor, MedicationId, PatientId};
use serde::{Deserialize, Serialize};

use crate::concept::ConceptId;
use crate::error::ItemError;

/// The most characters in a drug name.
pub const MAX_DRUG_NAME: usize = 200;
/// The most characters in dosage instructions.
pub const MAX_DOSAGE: usize = 500;
/// The most characters in a quantity's unit.
pub const MAX_UNIT: usize = 40;
/// The longest issue duration, in days.
pub const MAX_ISSUE_DAYS: u32 = 366;

/// How much is supplied at each issue (`28 tablet`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quantity {
    /// How many units (at least one).
    pub amount: u32,
    /// The unit (`tablet`, `ml`, `inhaler`).
    pub unit: String,
}

/// Whether an item can still be ordered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemStatus {
    /// On the list and orderable, subject to the rules.
    Active,
    /// Stopped by the practice; kept for the record.
    Ended {
        /// The local date it ended.
        on: NaiveDate,
        /// Why.
        reason: String,
    },
}

/// A patient's (or proxy's) note that they no longer take an item, waiting for
/// a clinician to review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotTakenFlag {
    /// When it was flagged.
    pub at: DateTime<Utc>,
    /// Who flagged it (the patient, a proxy, or staff taking a call).
    pub by: Actor,
    /// What they said, if anything.
    pub note: Option<String>,
}

/// One medicine on a patient's repeat list.
///
/// The clinical system owns the list; it is copied here (through a decision,
/// so every change is audited) for patients to order from. Build one with
/// [`RepeatItem::new`], which checks every field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepeatItem {
    /// This item.
    pub id: MedicationId,
    /// Whose list it is on.
    pub patient: PatientId,
    /// The drug name as the patient sees it (`Paracetamol 500mg tablets`).
    pub drug: String,
    /// The dm+d / SNOMED CT concept.
    pub concept: ConceptId,
    /// Dosage instructions (`Two tablets up to four times a day`).
    pub dosage: String,
    /// The quantity supplied at each issue.
    pub quantity: Quantity,
    /// How many days one issue lasts.
    pub issue_duration_days: u32,
    /// How many issues the prescriber authorised.
    pub issues_authorised: u32,
    /// How many of those are left.
    pub issues_remaining: u32,
    /// The local date of the last issue, if any.
    pub last_issued: Option<NaiveDate>,
    /// The local date by which a clinician must review it.
    pub review_date: NaiveDate,
    /// Active or ended.
    pub status: ItemStatus,
    /// Set while the patient says they no longer take it and no one has reviewed that.
    pub not_taken: Option<NotTakenFlag>,
}

/// What [`RepeatItem::new`] needs: every field a prescriber sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemSpec<'a> {
    /// The drug name.
    pub drug: &'a str,
    /// The concept identifier as text (checked).
    pub concept: &'a str,
    /// Dosage instructions.
    pub dosage: &'a str,
    /// Units per issue.
    pub amount: u32,
    /// The unit.
    pub unit: &'a str,
    /// Days one issue lasts.
    pub issue_duration_days: u32,
    /// Issues authorised.
    pub issues_authorised: u32,
    /// Issues left.
    pub issues_remaining: u32,
    /// Last issue date.
    pub last_issued: Option<NaiveDate>,
    /// Review date.
    pub review_date: NaiveDate,
}

impl RepeatItem {
    /// A new active item on `patient`'s list, with every field checked.
    pub fn new(
        id: MedicationId,
        patient: PatientId,
        spec: &ItemSpec<'_>,
    ) -> Result<Self, ItemError> {
        let item = Self {
            id,
            patient,
            drug: bounded_text(spec.drug, "drug name", MAX_DRUG_NAME, true)?,
            concept: ConceptId::parse(spec.concept)?,
            dosage: bounded_text(spec.dosage, "dosage", MAX_DOSAGE, false)?,
            quantity: Quantity {
                amount: spec.amount,
                unit: bounded_text(spec.unit, "unit", MAX_UNIT, true)?,
            },
            issue_duration_days: spec.issue_duration_days,
            issues_authorised: spec.issues_authorised,
            issues_remaining: spec.issues_remaining,
            last_issued: spec.last_issued,
            review_date: spec.review_date,
            status: ItemStatus::Active,
            not_taken: None,
        };
        item.check()?;
        Ok(item)
    }

    /// Checks the rules every stored item keeps (a value built field by field,
    /// or read from elsewhere, is checked before it is stored).
    pub fn check(&self) -> Result<(), ItemError> {
        for (field, text, max, required) in [
            ("drug name", &self.drug, MAX_DRUG_NAME, true),
            ("dosage", &self.dosage, MAX_DOSAGE, false),
            ("unit", &self.quantity.unit, MAX_UNIT, true),
        ] {
            if bounded_text(text, field, max, required)? != *text {
                return Err(ItemError::Untrimmed(field));
            }
        }
        if self.quantity.amount == 0 {
            return Err(ItemError::ZeroQuantity);
        }
        if !(1..=MAX_ISSUE_DAYS).contains(&self.issue_duration_days) {
            return Err(ItemError::IssueDuration(self.issue_duration_days));
        }
        if self.issues_remaining > self.issues_authorised {
            return Err(ItemError::MoreRemainingThanAuthorised {
                remaining: self.issues_remaining,
                authorised: self.issues_authorised,
            });
        }
        Ok(())
    }

    /// Whether the item is active.
    pub fn is_active(&self) -> bool {
        self.status == ItemStatus::Active
    }

    /// The local date the last supply runs out, if it has been issued.
    pub fn supply_runs_out(&self) -> Option<NaiveDate> {
        self.last_issued.and_then(|d| {
            d.checked_add_days(chrono::Days::new(u64::from(self.issue_duration_days)))
        })
    }
}
