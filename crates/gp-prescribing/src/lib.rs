//! Repeat prescription ordering for GP online services.
//!
//! Patients (or their proxies) pick items from their repeat medication list,
//! add a short message if the practice allows it, and the request joins the
//! practice's queue beside telephone, paper (FP10 right-hand side) and
//! pharmacy requests. A prescriber approves or rejects each line; an approved
//! line is issued. The patient may cancel a line only while it waits for a
//! decision, and may flag an item they no longer take for a clinician to
//! review.
//!
//! - [`RepeatItem`]: one medicine on a patient's list, with its dm+d /
//!   SNOMED CT [`ConceptId`] (Verhoeff-checked), dosage, quantity, issue
//!   duration, issues authorised and left, last issue and review dates.
//! - [`PrescribingSettings`]: the practice's rules, with defaults.
//! - [`OrderingRestriction`]: online (or all) ordering turned off for one
//!   patient, with the reason and the deciding staff member.
//! - [`RepeatRequest`] with [`RequestLine`]s moving `requested -> approved |
//!   rejected | cancelled`, `approved -> issued` ([`LineStatus::may_become`]).
//! - Pure decisions ([`decide_request`], [`decide_approve`], ...) returning a
//!   [`Decision`]: an allowed change with its audit events and preconditions,
//!   or a [`PrescribingRefusal`] with a stable code.
//! - The [`PrescribingStore`] port and [`MemoryPrescribingStore`].
//!
//! # Reason codes
//!
//! | Code | When |
//! |---|---|
//! | `OnlineOrderingOff` | the practice does not take orders online |
//! | `OnlineOrderingDisabledForPatient` | staff turned online ordering off for this patient |
//! | `OrderingDisabledForPatient` | staff turned ordering off on every channel for this patient |
//! | `ItemNotOnList` | the item is not on this patient's list |
//! | `ItemEnded` | the item has been stopped |
//! | `ReviewOverdue` | online: the review date has passed |
//! | `NoIssuesLeft` | online: no issues left; and issuing with none left |
//! | `TooEarlyToReorder` | online: before `too_early_days` before the supply runs out |
//! | `DuplicateRequest` | the item already has an open request |
//! | `MessagesNotAllowed` | online: a message, when the practice takes none |
//! | `MessageTooLong` | online: a message over `max_message_chars` |
//! | `TooManyItems` | online: more than `max_items_per_request` items |
//! | `ActorNotForPatient` | the patient or proxy acts for someone else |
//! | `ChannelNotAllowed` | patients online only; staff by telephone or at reception |
//! | `PrescriberOnly` | approve, reject, issue, review or change an item without a prescriber role |
//! | `RoleNotPermitted` | settings changed by anyone but staff (which staff: the access matrix), or a restriction by anyone but a prescriber or the practice manager |
//! | `RequestNotFound` / `LineNotFound` | no such request for this patient, or no such item in it |
//! | `LineNotRequested` | cancel, approve or reject a line that is no longer requested |
//! | `LineNotApproved` | issue a line that is not approved |
//! | `NotFlaggedForReview` | review an item nobody flagged |
//!
//! ```
//! use chrono::{NaiveDate, TimeZone, Utc};
//! use gp_core::{Actor, MedicationId, PatientId, SequentialIds};
//! use gp_prescribing::*;
//!
//! let ids = SequentialIds::new(1);
//! let patient = PatientId::new(&ids);
//! let item = RepeatItem::new(MedicationId::new(&ids), patient, &ItemSpec {
//!     drug: "Paracetamol 500mg tablets", concept: "322236009",
//!     dosage: "Two tablets up to four times a day", amount: 100, unit: "tablet",
//!     issue_duration_days: 28, issues_authorised: 6, issues_remaining: 5,
//!     last_issued: NaiveDate::from_ymd_opt(2026, 6, 1),
//!     review_date: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
//! })?;
//! let mut record = PatientRecord::empty(patient);
//! record.items.push(item.clone());
//! let facts = PrescribingFacts { settings: SettingsFacts::default(), record };
//! let me = Actor::Patient { patient };
//! let order = OrderRequest::new(me, RequestChannel::Online, patient, vec![item.id], None)?;
//!
//! // The supply runs out on 29 June; the default allows ordering 7 days before.
//! let early = Utc.with_ymd_and_hms(2026, 6, 10, 9, 0, 0).unwrap();
//! assert_eq!(
//!     decide_request(&facts, &order, early, &ids)?.refusal().map(|r| &r.reason),
//!     Some(&PrescribingRefusal::TooEarlyToReorder { earliest: NaiveDate::from_ymd_opt(2026, 6, 22).unwrap() })
//! );
//! let in_time = Utc.with_ymd_and_hms(2026, 6, 22, 9, 0, 0).unwrap();
//! assert!(decide_request(&facts, &order, in_time, &ids)?.refusal().is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod concept;
mod decision;
mod error;
mod item;
mod items;
mod lines;
mod memory;
mod order;
mod refusal;
mod request;
mod restriction;
mod rules;
mod settings;
mod settings_change;
mod store;

pub use concept::{ConceptId, ConceptIdError};
pub use decision::{
    Committable, Decision, ItemAction, LineAction, LineRefusal, OrderRefused, OrderRequest,
    PatientRecord, Precondition, PrescribingChange, PrescribingFacts, Refusal, RestrictionChange,
    ReviewOutcome, SettingsFacts, MAX_REASON, MESSAGE_CEILING,
};
pub use error::{CommitError, ItemError, RequestError, SettingsError, StoreError};
pub use item::{
    ItemSpec, ItemStatus, NotTakenFlag, Quantity, RepeatItem, MAX_DOSAGE, MAX_DRUG_NAME,
    MAX_ISSUE_DAYS, MAX_UNIT,
};
pub use items::{decide_flag_not_taken, decide_put_item, decide_review};
pub use lines::{decide_approve, decide_cancel_line, decide_issue, decide_reject};
pub use memory::MemoryPrescribingStore;
pub use order::decide_request;
pub use refusal::PrescribingRefusal;
pub use request::{
    Concern, LineState, LineStatus, OrderingRestriction, RepeatRequest, RequestChannel,
    RequestLine, RestrictionScope,
};
pub use restriction::decide_restriction;
pub use rules::is_prescriber;
pub use settings::PrescribingSettings;
pub use settings_change::decide_settings;
pub use store::PrescribingStore;
