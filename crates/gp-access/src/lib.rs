//! Online registration, identity, linkage keys, proxy access and coercion
//! safeguards: may this actor do this action for this patient now, and if
//! not, why not.
//!
//! - **Registration** ([`PatientAccount`]): NHS number, date of birth,
//!   regular or temporary registration, practice; identity verification
//!   (documents seen, vouched for by staff, NHS login at P9: who, how, when);
//!   services on or off ([`Service`]); suspension and restoration.
//! - **Linkage keys**: account id + key + practice ODS code. The key comes
//!   from a [`gp_core::RandomSource`] (the operating system's secure
//!   generator in production), is stored only as a salted SHA-256 hash, works
//!   once, expires (14 days by default), and is compared in constant time;
//!   repeated failures lock the account's keys and say so.
//! - **Proxy access** ([`ProxyGrant`], [`ProxyApplication`]): every
//!   application recorded, granted or refused; legal basis; scopes; start,
//!   end and review dates; care-home staff linked to their care home; the
//!   patient can revoke. Parental responsibility is due for review at 11
//!   (configurable) and stops on the 16th birthday unless a new basis is
//!   recorded; a competent child's consent or refusal is recorded.
//!   [`unused_proxies`] lists access unused for 5 years.
//! - **Coercion safeguards** ([`CoercionConcern`]): a concern suspends the
//!   affected access until a clinician records an outcome; consent records
//!   whether the patient was seen alone, or why not.
//! - **[`authorize`]** answers `Allowed` or `Denied(reason)`;
//!   [`decide_authorization`] does the same as an audited decision.
//!
//! # Staff permission matrix
//!
//! A member of staff may take an action if their recorded role is marked
//! `yes` and they are recorded with the competency named; "lead" means a
//! member of staff designated lead GP or lead for online services.
//! Patients may take the actions on their own appointments, repeats and
//! messages (the first nine) for themselves, and end a proxy's access to
//! them; proxies the same nine, within their scopes. Every other action is
//! staff work. The system (the supplier's back end) may only cancel
//! appointments, copy medicines onto a repeat list and confirm an issue.
//!
//! | action | GP | nurse | HCA | pharmacist | receptionist | practice manager | needs |
//! |---|---|---|---|---|---|---|---|
//! | `book_appointment` | yes | yes | yes | yes | yes | yes | - |
//! | `cancel_appointment` | yes | yes | yes | yes | yes | yes | - |
//! | `reschedule_appointment` | yes | yes | yes | yes | yes | yes | - |
//! | `amend_appointment` | yes | yes | yes | yes | yes | yes | - |
//! | `view_appointments` | yes | yes | yes | yes | yes | yes | - |
//! | `order_repeats` | yes | yes | yes | yes | yes | yes | - |
//! | `manage_own_repeats` | yes | yes | yes | yes | yes | yes | - |
//! | `view_repeats` | yes | yes | yes | yes | yes | yes | - |
//! | `send_message` | yes | yes | yes | yes | yes | yes | - |
//! | `view_messages` | yes | yes | yes | yes | yes | yes | - |
//! | `register_patient` | yes | yes | - | - | yes | yes | - |
//! | `verify_identity` | yes | yes | - | - | yes | yes | competency `VerifyIdentity` |
//! | `issue_linkage_key` | yes | yes | - | - | yes | yes | - |
//! | `manage_services` | yes | yes | - | - | yes | yes | - |
//! | `suspend_access` | yes | yes | - | - | yes | yes | - |
//! | `decide_proxy_application` | yes | yes | - | - | yes | yes | competency `ProxyApplications` |
//! | `decide_best_interest_proxy` | yes | - | - | - | - | - | competency `ProxyApplications` |
//! | `revoke_proxy` | yes | yes | - | - | yes | yes | - |
//! | `record_coercion_concern` | yes | yes | yes | yes | yes | yes | competency `RecogniseCoercion` |
//! | `review_coercion_concern` | yes | yes | - | - | - | - | competency `RecogniseCoercion` |
//! | `approve_prescription` | yes | yes | - | yes | - | - | competency `Prescribing` |
//! | `issue_prescription` | yes | yes | - | yes | - | - | competency `Prescribing` |
//! | `manage_repeat_list` | yes | yes | - | yes | - | - | competency `Prescribing` |
//! | `restrict_ordering` | yes | yes | - | yes | - | yes | - |
//! | `handle_messages` | yes | yes | yes | yes | yes | yes | - |
//! | `view_work_lists` | yes | yes | yes | yes | yes | yes | - |
//! | `change_online_settings` | lead | lead | lead | lead | lead | yes | the practice manager or a lead for online services |
//! | `manage_staff` | lead | lead | lead | lead | lead | yes | the practice manager or a lead for online services |
//! | `report_problem` | yes | yes | yes | yes | yes | yes | - |
//! | `manage_problems` | yes | yes | yes | yes | yes | yes | - |
//!
//! # Reason codes
//!
//! See [`AccessRefusal`]: each variant's name is its stable code.

mod authorization;
mod authorize;
mod coercion;
mod decision;
mod error;
mod linkage;
mod linkage_keys;
mod memory;
mod model;
mod patient_list;
mod proxies;
mod refusal;
mod registration;
mod reviews;
mod rules;
mod settings;
mod settings_change;
mod staff;
mod store;

pub use authorization::decide_authorization;
pub use authorize::{
    authorize, organisation_may, permission, permission_table, staff_may, system_may, Action,
    Authorization, Permission,
};
pub use coercion::{decide_coercion_concern, decide_coercion_review};
pub use decision::{
    refusal_of, AccessChange, AccessFacts, ApplicationVerdict, By, Committable, Decision,
    LinkageDetails, Precondition, ProxyApplicationInput, Refusal, Registration, SettingsFacts,
    MAX_TEXT,
};
pub use error::{AccessError, CommitError, StoreError};
pub use linkage::KEY_LENGTH;
pub use linkage_keys::{
    decide_issue_linkage, decide_practice_linkage_limit, decide_redeem_linkage,
    decide_unknown_account_redemption, failed_redemption, limit_window, LIMITED_ACTION,
    REDEEM_ACTION, UNKNOWN_ACCOUNT_ACTION,
};
pub use memory::MemoryAccessStore;
pub use model::*;
pub use patient_list::{
    check_date_of_birth, ListError, ListedPatient, MemoryPatientList, PatientList, MAX_AGE_YEARS,
};
pub use proxies::{
    decide_child_view, decide_new_basis, decide_proxy_application, decide_proxy_suspension,
    decide_revoke_proxy,
};
pub use refusal::AccessRefusal;
pub use registration::{
    decide_register, decide_services, decide_suspension, decide_verify_identity,
};
pub use reviews::{reviews_due, unused_proxies, ReviewReason};
pub use settings::AccessSettings;
pub use settings_change::decide_settings;
pub use staff::{decide_first_manager, decide_put_staff};
pub use store::AccessStore;

#[cfg(test)]
mod tests {
    #[test]
    fn the_documented_matrix_is_the_matrix() {
        let documented: String = include_str!("lib.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("//! |"))
            .map(|l| format!("|{l}\n"))
            .collect();
        assert_eq!(documented, super::permission_table());
    }
}
