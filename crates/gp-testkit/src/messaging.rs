//! The `MessageStore` conformance suite: the contract in executable form.
//!
//! Each check is a `pub async fn` taking a fresh, empty store and panicking
//! with a message that names the broken rule. Run them all against a store
//! with [`crate::message_store_conformance!`].

use chrono::{DateTime, Duration, Utc};
use gp_core::{Actor, Channel, PatientId, SequentialIds, StaffId, StaffRole};
use gp_messaging::{
    decide_inbox, decide_reply, decide_send, decide_settings, CommitError, Committable, Decision,
    InboxMove, InboxState, MessageAction, MessageStore, MessagingSettings, NewMessage,
    Precondition, StoreError,
};

use crate::fixtures::monday_morning;

/// Every check's name, in the order the macro runs them.
pub const CHECKS: &[&str] = &[
    "an_empty_store_has_default_settings_and_no_messages",
    "a_sent_message_is_in_the_inbox_and_the_patients_list",
    "moves_and_replies_replace_the_message_and_handled_leaves_the_inbox",
    "a_stale_revision_conflicts_and_writes_nothing",
    "a_message_cannot_be_sent_twice",
    "revisions_move_by_one_whatever_the_preconditions",
    "settings_versions_move_by_one",
    "the_inbox_is_oldest_first_and_refusals_are_recorded_alone",
];

struct World {
    ids: SequentialIds,
    now: DateTime<Utc>,
    patient: PatientId,
    staff: Actor,
}

impl World {
    fn new() -> Self {
        let ids = SequentialIds::new(0x3E55);
        let patient = PatientId::new(&ids);
        let staff = Actor::Staff {
            staff: StaffId::new(&ids),
            role: StaffRole::Receptionist,
        };
        Self {
            ids,
            now: monday_morning(),
            patient,
            staff,
        }
    }

    fn send(&self, at: DateTime<Utc>, subject: &str) -> Committable {
        let m = NewMessage::new(
            Actor::Patient {
                patient: self.patient,
            },
            Channel::Online,
            self.patient,
            subject,
            "Could someone call me back, please?",
            None,
        )
        .expect("a valid message");
        allowed(decide_send(&Default::default(), &m, None, at, &self.ids).expect("a valid message"))
    }

    fn action(&self, c: &Committable) -> MessageAction {
        MessageAction {
            actor: self.staff,
            channel: Channel::Reception,
            message: c.change.message.as_ref().expect("a message").id,
        }
    }
}

fn allowed(d: Decision) -> Committable {
    match d {
        Decision::Allowed(c) => c,
        Decision::Refused(r) => panic!("the fixture decision was refused: {}", r.reason),
    }
}

/// A new store: default settings at version 0, no messages, no events.
pub async fn an_empty_store_has_default_settings_and_no_messages<S: MessageStore>(store: S) {
    let w = World::new();
    let s = store.settings().await.expect("settings");
    assert_eq!((s.settings, s.version), (MessagingSettings::default(), 0));
    assert!(store.inbox().await.expect("inbox").is_empty());
    assert!(store
        .messages_for_patient(w.patient)
        .await
        .expect("list")
        .is_empty());
    assert!(store.audit_events().await.expect("events").is_empty());
}

/// A committed message is in the inbox, the patient's list and the trail.
pub async fn a_sent_message_is_in_the_inbox_and_the_patients_list<S: MessageStore>(store: S) {
    let w = World::new();
    let c = w.send(w.now, "Repeat prescription");
    store.commit(&c).await.expect("send");
    let m = c.change.message.clone().expect("message");
    assert_eq!(store.message(m.id).await.expect("get"), Some(m.clone()));
    assert_eq!(store.inbox().await.expect("inbox"), vec![m.clone()]);
    assert_eq!(
        store.messages_for_patient(w.patient).await.expect("list"),
        vec![m]
    );
    assert_eq!(store.audit_events().await.expect("events"), c.events);
}

/// Marking read, replying and marking handled replace the stored message;
/// a handled message leaves the inbox and a reply from the patient brings it back.
pub async fn moves_and_replies_replace_the_message_and_handled_leaves_the_inbox<S: MessageStore>(
    store: S,
) {
    let w = World::new();
    let c = w.send(w.now, "Sick note");
    store.commit(&c).await.expect("send");
    let action = w.action(&c);
    let get = || store.message(action.message);
    let m = get().await.expect("get");
    store
        .commit(&allowed(decide_inbox(
            m.as_ref(),
            &action,
            InboxMove::Read,
            w.now,
            &w.ids,
        )))
        .await
        .expect("read");
    let m = get().await.expect("get");
    let reply = decide_reply(
        &Default::default(),
        m.as_ref(),
        &action,
        "Ready at reception.",
        w.now,
        &w.ids,
    )
    .expect("valid");
    store.commit(&allowed(reply)).await.expect("reply");
    let m = get().await.expect("get");
    store
        .commit(&allowed(decide_inbox(
            m.as_ref(),
            &action,
            InboxMove::Handled,
            w.now,
            &w.ids,
        )))
        .await
        .expect("handled");
    let m = get().await.expect("get").expect("stored");
    assert_eq!(m.revision, 3);
    assert_eq!(m.replies.len(), 1);
    assert!(matches!(m.state, InboxState::Handled { .. }));
    assert!(
        store.inbox().await.expect("inbox").is_empty(),
        "handled leaves the inbox"
    );
    assert_eq!(
        store
            .messages_for_patient(w.patient)
            .await
            .expect("list")
            .len(),
        1
    );
    let patient = MessageAction {
        actor: Actor::Patient { patient: w.patient },
        channel: Channel::Online,
        message: m.id,
    };
    let reply = decide_reply(
        &Default::default(),
        Some(&m),
        &patient,
        "Thank you!",
        w.now,
        &w.ids,
    )
    .expect("valid");
    store.commit(&allowed(reply)).await.expect("patient reply");
    let inbox = store.inbox().await.expect("inbox");
    assert_eq!(
        inbox.len(),
        1,
        "a reply from the patient reopens the message"
    );
    assert_eq!(inbox[0].state, InboxState::Unread);
}

/// Two moves decided from one revision: the second conflicts and writes nothing.
pub async fn a_stale_revision_conflicts_and_writes_nothing<S: MessageStore>(store: S) {
    let w = World::new();
    let c = w.send(w.now, "Question");
    store.commit(&c).await.expect("send");
    let action = w.action(&c);
    let m = store.message(action.message).await.expect("get");
    let read = allowed(decide_inbox(
        m.as_ref(),
        &action,
        InboxMove::Read,
        w.now,
        &w.ids,
    ));
    let handled = allowed(decide_inbox(
        m.as_ref(),
        &action,
        InboxMove::Handled,
        w.now,
        &w.ids,
    ));
    store.commit(&read).await.expect("read");
    let events = store.audit_events().await.expect("events").len();
    assert_eq!(
        store.commit(&handled).await,
        Err(CommitError::Conflict(Precondition::MessageAt {
            message: action.message,
            revision: 0
        }))
    );
    let m = store
        .message(action.message)
        .await
        .expect("get")
        .expect("stored");
    assert!(
        matches!(m.state, InboxState::Read { .. }),
        "the stale move was not written"
    );
    assert_eq!(store.audit_events().await.expect("events").len(), events);
}

/// Committing the same send twice conflicts on `MessageNew`.
pub async fn a_message_cannot_be_sent_twice<S: MessageStore>(store: S) {
    let w = World::new();
    let c = w.send(w.now, "Once");
    store.commit(&c).await.expect("send");
    let id = c.change.message.as_ref().expect("message").id;
    assert_eq!(
        store.commit(&c).await,
        Err(CommitError::Conflict(Precondition::MessageNew(id)))
    );
    assert_eq!(
        store
            .messages_for_patient(w.patient)
            .await
            .expect("list")
            .len(),
        1
    );
}

/// Without preconditions, a message at the wrong revision, a new message not
/// at revision 0, or a change of patient is `StoreError::Invalid`.
pub async fn revisions_move_by_one_whatever_the_preconditions<S: MessageStore>(store: S) {
    let w = World::new();
    let mut c = w.send(w.now, "Revisions");
    c.preconditions.clear();
    let mut wrong_start = c.clone();
    if let Some(m) = wrong_start.change.message.as_mut() {
        m.revision = 1;
    }
    let r = store.commit(&wrong_start).await;
    assert!(
        matches!(r, Err(CommitError::Store(StoreError::Invalid(_)))),
        "got {r:?}"
    );
    store.commit(&c).await.expect("send");
    let mut skip = c.clone();
    if let Some(m) = skip.change.message.as_mut() {
        m.revision = 2;
    }
    let r = store.commit(&skip).await;
    assert!(
        matches!(r, Err(CommitError::Store(StoreError::Invalid(_)))),
        "got {r:?}"
    );
    let mut moved = c.clone();
    if let Some(m) = moved.change.message.as_mut() {
        m.revision = 1;
        m.patient = PatientId::new(&w.ids);
    }
    let r = store.commit(&moved).await;
    assert!(
        matches!(r, Err(CommitError::Store(StoreError::Invalid(_)))),
        "got {r:?}"
    );
    let id = c.change.message.as_ref().expect("message").id;
    let stored = store.message(id).await.expect("get").expect("stored");
    assert_eq!((stored.revision, stored.patient), (0, w.patient));
    assert_eq!(store.audit_events().await.expect("events").len(), 1);
}

/// Each settings commit moves the version on by one.
pub async fn settings_versions_move_by_one<S: MessageStore>(store: S) {
    let w = World::new();
    let manager = Actor::Staff {
        staff: StaffId::new(&w.ids),
        role: StaffRole::PracticeManager,
    };
    let off = MessagingSettings { enabled: false };
    let current = store.settings().await.expect("settings");
    let first = allowed(decide_settings(
        &current,
        manager,
        Channel::Reception,
        &off,
        w.now,
        &w.ids,
    ));
    store.commit(&first).await.expect("off");
    assert_eq!(
        store.commit(&first).await,
        Err(CommitError::Conflict(Precondition::SettingsUnchanged {
            version: 0
        }))
    );
    let now = store.settings().await.expect("settings");
    assert_eq!((now.settings.clone(), now.version), (off, 1));
    let on = MessagingSettings { enabled: true };
    store
        .commit(&allowed(decide_settings(
            &now,
            manager,
            Channel::Reception,
            &on,
            w.now,
            &w.ids,
        )))
        .await
        .expect("on");
    assert_eq!(store.settings().await.expect("settings").version, 2);
}

/// The inbox is oldest first, whatever order messages were stored in; a
/// refusal appends its event alone.
pub async fn the_inbox_is_oldest_first_and_refusals_are_recorded_alone<S: MessageStore>(store: S) {
    let w = World::new();
    let later = w.send(w.now + Duration::minutes(10), "Later");
    let earlier = w.send(w.now, "Earlier");
    store.commit(&later).await.expect("later");
    store.commit(&earlier).await.expect("earlier");
    let subjects: Vec<_> = store
        .inbox()
        .await
        .expect("inbox")
        .into_iter()
        .map(|m| m.subject)
        .collect();
    assert_eq!(subjects, vec!["Earlier", "Later"]);
    let list: Vec<_> = store
        .messages_for_patient(w.patient)
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.subject)
        .collect();
    assert_eq!(
        list,
        vec!["Later", "Earlier"],
        "a patient's list is in the order sent"
    );
    let off = gp_messaging::SettingsFacts {
        settings: MessagingSettings { enabled: false },
        version: 0,
    };
    let m = NewMessage::new(
        Actor::Patient { patient: w.patient },
        Channel::Online,
        w.patient,
        "Refused",
        "Text",
        None,
    )
    .expect("valid");
    let Decision::Refused(r) = decide_send(&off, &m, None, w.now, &w.ids).expect("a valid message")
    else {
        panic!("messaging is off");
    };
    store.record_refusal(&r.events).await.expect("record");
    let events = store.audit_events().await.expect("events");
    assert_eq!(events.last(), Some(&r.events[0]));
    assert_eq!(events.len(), 3);
    assert_eq!(
        store.inbox().await.expect("inbox").len(),
        2,
        "a refusal changes nothing"
    );
}

/// Expands into one `#[tokio::test]` per message conformance check, each
/// given a fresh store made by `$make`.
///
/// ```text
/// gp_testkit::message_store_conformance!(gp_messaging::MemoryMessageStore::new());
/// ```
#[macro_export]
macro_rules! message_store_conformance {
    ($make:expr) => {
        $crate::message_store_conformance!(@each $make;
            an_empty_store_has_default_settings_and_no_messages,
            a_sent_message_is_in_the_inbox_and_the_patients_list,
            moves_and_replies_replace_the_message_and_handled_leaves_the_inbox,
            a_stale_revision_conflicts_and_writes_nothing,
            a_message_cannot_be_sent_twice,
            revisions_move_by_one_whatever_the_preconditions,
            settings_versions_move_by_one,
            the_inbox_is_oldest_first_and_refusals_are_recorded_alone
        );
    };
    (@each $make:expr; $($check:ident),+) => {
        $(
            #[tokio::test]
            async fn $check() {
                $crate::messaging::$check($make).await;
            }
        )+
    };
}
