//! Repeat prescription requests, their lines and the states a line moves through.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use gp_core::{Actor, Channel, MedicationId, PatientId, RequestId, StaffId};
use serde::{Deserialize, Serialize};

/// How a request reached the practice. All join the same queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RequestChannel {
    /// The patient or a proxy, on a website or app.
    Online,
    /// Staff taking a telephone call.
    Telephone,
    /// The right-hand side of a paper prescription (FP10), handed in.
    Paper,
    /// A community pharmacy asking on the patient's behalf.
    Pharmacy,
}

impl RequestChannel {
    /// The audit channel: online, telephone, or reception for paper and pharmacy
    /// requests (which staff enter at the practice).
    pub fn audit_channel(self) -> Channel {
        match self {
            RequestChannel::Online => Channel::Online,
            RequestChannel::Telephone => Channel::Telephone,
            RequestChannel::Paper | RequestChannel::Pharmacy => Channel::Reception,
        }
    }
}

impl fmt::Display for RequestChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RequestChannel::Online => "online",
            RequestChannel::Telephone => "telephone",
            RequestChannel::Paper => "paper",
            RequestChannel::Pharmacy => "pharmacy",
        })
    }
}

/// Where a line is in its life, without the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LineStatus {
    /// Waiting for a prescriber.
    Requested,
    /// Approved by a prescriber, waiting to be issued.
    Approved,
    /// Rejected by a prescriber.
    Rejected,
    /// Issued (printed or sent to the pharmacy).
    Issued,
    /// Cancelled by the patient or proxy (or staff for them) before a decision.
    Cancelled,
}

impl LineStatus {
    /// Whether the line still counts as an open request for its item.
    pub fn is_open(self) -> bool {
        matches!(self, LineStatus::Requested | LineStatus::Approved)
    }

    /// Whether a line may move from this status to `next`: requested to
    /// approved, rejected or cancelled; approved to issued; nothing else.
    pub fn may_become(self, next: LineStatus) -> bool {
        matches!(
            (self, next),
            (
                LineStatus::Requested,
                LineStatus::Approved | LineStatus::Rejected | LineStatus::Cancelled
            ) | (LineStatus::Approved, LineStatus::Issued)
        )
    }
}

impl fmt::Display for LineStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LineStatus::Requested => "requested",
            LineStatus::Approved => "approved",
            LineStatus::Rejected => "rejected",
            LineStatus::Issued => "issued",
            LineStatus::Cancelled => "cancelled",
        })
    }
}

/// Where a line is in its life, with who moved it there and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LineState {
    /// Waiting for a prescriber.
    Requested,
    /// Approved, waiting to be issued.
    Approved {
        /// The prescriber.
        by: StaffId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Rejected.
    Rejected {
        /// The prescriber.
        by: StaffId,
        /// When.
        at: DateTime<Utc>,
        /// Why, in words the patient will read.
        reason: String,
    },
    /// Issued.
    Issued {
        /// The prescriber who approved it.
        approved_by: StaffId,
        /// Who issued it (a prescriber, or the system confirming an electronic issue).
        by: Actor,
        /// When.
        at: DateTime<Utc>,
    },
    /// Cancelled before a decision.
    Cancelled {
        /// Who cancelled.
        by: Actor,
        /// When.
        at: DateTime<Utc>,
    },
}

impl LineState {
    /// The status without details.
    pub fn status(&self) -> LineStatus {
        match self {
            LineState::Requested => LineStatus::Requested,
            LineState::Approved { .. } => LineStatus::Approved,
            LineState::Rejected { .. } => LineStatus::Rejected,
            LineState::Issued { .. } => LineStatus::Issued,
            LineState::Cancelled { .. } => LineStatus::Cancelled,
        }
    }
}

/// Something a prescriber should know about a line entered by staff, which
/// online would have been refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Concern {
    /// The item's review date has passed.
    ReviewOverdue {
        /// The review date.
        review_date: NaiveDate,
    },
    /// No authorised issues are left.
    NoIssuesLeft,
    /// The previous supply lasts a while yet.
    TooEarly {
        /// The first day it could have been ordered online.
        earliest: NaiveDate,
    },
}

/// One item asked for in a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLine {
    /// The item on the patient's repeat list.
    pub item: MedicationId,
    /// Its state.
    pub state: LineState,
    /// What the prescriber should know (staff-entered requests only).
    pub concerns: Vec<Concern>,
}

/// A repeat prescription request: one or more items from one patient's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepeatRequest {
    /// This request.
    pub id: RequestId,
    /// Whose medicines.
    pub patient: PatientId,
    /// How it reached the practice.
    pub channel: RequestChannel,
    /// Who made it (the patient, a proxy, or staff entering it).
    pub made_by: Actor,
    /// When.
    pub at: DateTime<Utc>,
    /// The patient's message to the practice, if any.
    pub message: Option<String>,
    /// The items, in the order asked.
    pub lines: Vec<RequestLine>,
}

impl RepeatRequest {
    /// The line for `item`, if the request has one.
    pub fn line(&self, item: MedicationId) -> Option<&RequestLine> {
        self.lines.iter().find(|l| l.item == item)
    }

    /// Whether any line is still open (requested or approved).
    pub fn is_open(&self) -> bool {
        self.lines.iter().any(|l| l.state.status().is_open())
    }
}

/// Which orders a per-patient restriction stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestrictionScope {
    /// Online orders only; telephone, paper and pharmacy requests still go through.
    Online,
    /// Every channel: the patient orders only in consultation.
    AllChannels,
}

/// Online (or all) ordering turned off for one patient by a member of staff,
/// for example for a patient who cannot keep to allowed quantities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderingRestriction {
    /// What it stops.
    pub scope: RestrictionScope,
    /// Why (kept in the record; not shown to the patient).
    pub reason: String,
    /// Who decided.
    pub decided_by: StaffId,
    /// When.
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_documented_transitions_are_allowed() {
        use LineStatus::*;
        let all = [Requested, Approved, Rejected, Issued, Cancelled];
        let allowed: Vec<_> = all
            .iter()
            .flat_map(|a| all.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.may_become(*b))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Requested, Approved),
                (Requested, Rejected),
                (Requested, Cancelled),
                (Approved, Issued)
            ]
        );
        assert!(Requested.is_open() && Approved.is_open());
        assert!(!Rejected.is_open() && !Issued.is_open() && !Cancelled.is_open());
    }
}
