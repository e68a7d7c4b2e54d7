//! Linkage keys: issued by the practice, redeemed once by the patient's app.

use chrono::{DateTime, Duration, Utc};
use gp_core::{
    AccountId, Actor, AuditEvent, Channel, IdSource, OdsCode, Outcome, RandomSource, Reason,
    SubjectKind,
};

use crate::authorize::Action;
use crate::error::AccessError;
use crate::linkage;
use crate::model::*;
use crate::refusal::AccessRefusal;
use crate::settings::AccessSettings;

use crate::decision::*;
use crate::rules::*;

/// Decides issuing linkage details: a new single-use key from `random`,
/// stored only as a salted hash, expiring after the settings' days. Earlier
/// unused keys stop working and a lock from failed attempts is lifted. The
/// patient's identity must be verified first.
pub fn decide_issue_linkage(
    facts: &AccessFacts,
    by: &By,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
    random: &dyn RandomSource,
) -> Result<Decision, AccessError> {
    let c = ctx(facts, *by, "access.linkage_issue", at, ids);
    permit!(c, facts, Action::IssueLinkageKey);
    let Some(staff) = staff_id(by) else {
        return Ok(c.refuse(AccessRefusal::RoleNotPermitted));
    };
    let mut record = facts.record.clone();
    let Some(account) = record.account.as_mut() else {
        return Ok(c.refuse(AccessRefusal::NotRegisteredForOnline));
    };
    if account.identity.is_none() {
        return Ok(c.refuse(AccessRefusal::IdentityNotVerified));
    }
    let key = linkage::new_key(random)?;
    let salt = linkage::new_salt(random)?;
    let expires_at = at
        .checked_add_signed(Duration::days(i64::from(
            facts.settings.settings.linkage_key_days,
        )))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let linkage = account.linkage.get_or_insert_with(|| Linkage {
        account: AccountId::new(ids),
        keys: Vec::new(),
        failed_attempts: 0,
        locked_at: None,
    });
    for k in linkage.keys.iter_mut().filter(|k| k.used_at.is_none()) {
        k.replaced = true;
    }
    linkage.keys.push(LinkageKeyRecord {
        hash: linkage::hash(&salt, &key),
        salt,
        issued_at: at,
        expires_at,
        issued_by: staff,
        used_at: None,
        replaced: false,
    });
    linkage.failed_attempts = 0;
    linkage.locked_at = None;
    let details = LinkageDetails {
        account: linkage.account,
        key,
        practice: account.practice,
        expires_at,
    };
    let event = c
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Account, details.account)
        .with_detail("expires_at", expires_at.to_rfc3339());
    let mut d = c.commit(facts, record, event);
    if let Decision::Allowed(commit) = &mut d {
        commit.change.linkage = Some(details);
    }
    Ok(d)
}

/// Decides a patient's attempt to link an app with linkage details. A wrong
/// key, a wrong practice or an unknown account all give `LinkageKeyInvalid`
/// and count as a failed attempt; reaching the settings' limit locks the
/// account's keys (`LinkageLocked`) until a new key is issued. A failure
/// that counts is a change: it commits with its (refused) event. An account
/// that is suspended (`OnlineAccessSuspended`) or under coercion review
/// (`CoercionReviewPending`) links nothing.
pub fn decide_redeem_linkage(
    facts: &AccessFacts,
    account: AccountId,
    practice: &OdsCode,
    key: &str,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Decision {
    let patient = facts.record.patient;
    let by = By {
        actor: Actor::Patient { patient },
        channel: Channel::Online,
    };
    let c = ctx(facts, by, REDEEM_ACTION, at, ids);
    let mut record = facts.record.clone();
    let Some(acct) = record.account.as_mut() else {
        return c.refuse(AccessRefusal::LinkageKeyInvalid);
    };
    let practice_ok = acct.practice == *practice;
    let Some(linkage) = acct.linkage.as_mut().filter(|l| l.account == account) else {
        return c.refuse(AccessRefusal::LinkageKeyInvalid);
    };
    let subject = |e: AuditEvent| e.with_subject(SubjectKind::Account, account);
    let refuse = |reason: AccessRefusal| {
        let event = subject(c.event(Outcome::Refused(reason.reason_code())));
        Decision::Refused(Refusal::new(reason, event))
    };
    // A suspended account (a device lost, the account perhaps in other
    // hands) and one under coercion review link no app, whatever the key.
    if acct.suspended.is_some() {
        return refuse(AccessRefusal::OnlineAccessSuspended);
    }
    if facts.record.open_concerns().next().is_some() {
        return refuse(AccessRefusal::CoercionReviewPending);
    }
    if linkage.locked_at.is_some() {
        return Decision::Refused(Refusal::new(
            AccessRefusal::LinkageLocked,
            subject(c.event(Outcome::Refused(AccessRefusal::LinkageLocked.reason_code()))),
        ));
    }
    let matched = linkage.keys.iter().position(|k| {
        // Every key is hashed and compared, matching or not.
        let candidate = linkage::hash(&k.salt, key);
        linkage::equal_in_constant_time(&candidate, &k.hash) & practice_ok
    });
    let outcome = match matched {
        Some(i) if linkage.keys[i].used_at.is_some() => Err(AccessRefusal::LinkageKeyUsed),
        Some(i) if linkage.keys[i].replaced || at >= linkage.keys[i].expires_at => {
            Err(AccessRefusal::LinkageKeyExpired)
        }
        Some(i) => Ok(i),
        None => Err(AccessRefusal::LinkageKeyInvalid),
    };
    match outcome {
        Ok(i) => {
            linkage.keys[i].used_at = Some(at);
            linkage.failed_attempts = 0;
            let event = subject(c.event(Outcome::Allowed));
            under_practice_limit(c.commit(facts, record, event), &facts.settings.settings, at)
        }
        Err(mut reason) => {
            linkage.failed_attempts += 1;
            if linkage.failed_attempts >= facts.settings.settings.max_failed_redemptions {
                linkage.locked_at = Some(at);
                reason = AccessRefusal::LinkageLocked;
            }
            let event = subject(c.event(Outcome::Refused(reason.reason_code())))
                .with_detail("failed_attempts", linkage.failed_attempts.to_string());
            let mut d = c.commit(facts, record, event);
            if let Decision::Allowed(commit) = &mut d {
                commit.change.refused = Some(reason);
            }
            under_practice_limit(d, &facts.settings.settings, at)
        }
    }
}

/// Decides an attempt to redeem linkage details naming an account no
/// patient of the practice holds: always `LinkageKeyInvalid` (the same
/// answer as a wrong key), recorded with the account named and no patient,
/// so that guessing shows in the audit trail.
pub fn decide_unknown_account_redemption(
    account: AccountId,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Decision {
    refused_before_any_key(
        AccessRefusal::LinkageKeyInvalid,
        UNKNOWN_ACCOUNT_ACTION,
        account,
        ("account", "unknown".into()),
        at,
        ids,
    )
}

/// A redemption refused before any patient's keys were looked at: recorded
/// by the system, with the account named and no patient.
fn refused_before_any_key(
    reason: AccessRefusal,
    action: &'static str,
    account: AccountId,
    (key, value): (&str, String),
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Decision {
    let event = AuditEvent::decided(
        ids,
        at,
        Actor::System,
        Channel::Online,
        None,
        action,
        Outcome::Refused(reason.reason_code()),
    )
    .with_subject(SubjectKind::Account, account)
    .with_detail(key, value);
    Decision::Refused(Refusal::new(reason, event))
}

/// The action name of an attempt to redeem linkage details for an account
/// a patient holds, allowed or refused. Its refusals are what the
/// practice-wide limit counts ([`failed_redemption`]).
pub const REDEEM_ACTION: &str = "access.linkage_redeem";

/// The action name of an attempt naming an account no patient holds
/// (recorded so that guessing shows; not counted by the practice-wide
/// limit: account ids are random and guessing them gets nowhere, and
/// counting them would let anyone stop the practice's linking).
pub const UNKNOWN_ACCOUNT_ACTION: &str = "access.linkage_unknown";

/// The action name of an attempt stopped by the practice-wide limit (not
/// counted by it, so that patients retrying do not keep it on).
pub const LIMITED_ACTION: &str = "access.linkage_limited";

/// Whether `event` counts towards the practice-wide limit in the window
/// `from..=to`, compared in whole seconds: a refused [`REDEEM_ACTION`].
/// Every [`crate::AccessStore`] counts by this rule.
pub fn failed_redemption(event: &AuditEvent, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    let secs = event.at.timestamp();
    event.action.as_str() == REDEEM_ACTION
        && !event.outcome.is_allowed()
        && from.timestamp() <= secs
        && secs <= to.timestamp()
}

/// The hour before `at` that the practice-wide limit looks back over.
pub fn limit_window(at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (at - Duration::hours(1), at)
}

/// A redemption commits only while the practice is under its limit,
/// checked in the commit's own transaction.
fn under_practice_limit(mut d: Decision, settings: &AccessSettings, at: DateTime<Utc>) -> Decision {
    if let Decision::Allowed(c) = &mut d {
        let (from, to) = limit_window(at);
        c.preconditions.push(Precondition::FailedRedemptionsBelow {
            from,
            to,
            limit: u64::from(settings.practice_failed_redemptions_per_hour),
        });
    }
    d
}

/// Decides whether the practice-wide limit on failed linkage attempts stops
/// an attempt before any key is tried: `failures_last_hour` is how many
/// redemptions were refused at the practice (every account, known or not)
/// in the hour before `at`. At or over
/// [`AccessSettings::practice_failed_redemptions_per_hour`] the attempt is
/// refused with `LinkageRateLimited`, recorded with the account named and
/// no patient, and the account's own count of wrong keys is left alone.
/// Attempts refused by the limit count as failures too, so the limit holds
/// while guessing goes on. `None`: the attempt may go ahead.
pub fn decide_practice_linkage_limit(
    settings: &AccessSettings,
    failures_last_hour: u64,
    account: AccountId,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Option<Decision> {
    if failures_last_hour < u64::from(settings.practice_failed_redemptions_per_hour) {
        return None;
    }
    Some(refused_before_any_key(
        AccessRefusal::LinkageRateLimited,
        LIMITED_ACTION,
        account,
        ("failures_last_hour", failures_last_hour.to_string()),
        at,
        ids,
    ))
}
