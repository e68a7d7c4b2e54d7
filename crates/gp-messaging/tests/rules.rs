//! One allowed and one refused case for every messaging reason code.

use chrono::{DateTime, TimeZone, Utc};
use gp_core::{
    Actor, BookingId, Channel, MessageId, Outcome, PatientId, ProxyId, Reason, SequentialIds,
    StaffId, StaffRole, SubjectKind,
};
use gp_messaging::*;

struct T {
    ids: SequentialIds,
    now: DateTime<Utc>,
    patient: PatientId,
    on: SettingsFacts,
}

impl T {
    fn new() -> Self {
        let ids = SequentialIds::new(5);
        Self {
            patient: PatientId::new(&ids),
            ids,
            now: Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap(),
            on: SettingsFacts::default(),
        }
    }

    fn me(&self) -> Actor {
        Actor::Patient {
            patient: self.patient,
        }
    }

    fn staff(&self, role: StaffRole) -> Actor {
        Actor::Staff {
            staff: StaffId::new(&self.ids),
            role,
        }
    }

    fn new_message(&self, actor: Actor, channel: Channel) -> NewMessage {
        NewMessage::new(
            actor,
            channel,
            self.patient,
            "Results",
            "Are my results back?",
            None,
        )
        .unwrap()
    }

    fn sent(&self) -> Message {
        match decide_send(
            &self.on,
            &self.new_message(self.me(), Channel::Online),
            None,
            self.now,
            &self.ids,
        )
        .unwrap()
        {
            Decision::Allowed(c) => c.change.message.unwrap(),
            Decision::Refused(r) => panic!("{}", r.reason),
        }
    }

    fn action(&self, actor: Actor, message: &Message) -> MessageAction {
        MessageAction {
            actor,
            channel: if actor.is_staff() {
                Channel::Reception
            } else {
                Channel::Online
            },
            message: message.id,
        }
    }
}

fn refused(d: &Decision) -> MessagingRefusal {
    match d {
        Decision::Refused(r) => {
            assert_eq!(r.events.len(), 1, "one event records the refusal");
            assert_eq!(
                r.events[0].outcome,
                Outcome::Refused(r.reason.reason_code())
            );
            r.reason.clone()
        }
        Decision::Allowed(_) => panic!("expected a refusal"),
    }
}

fn changed(d: Decision) -> Message {
    match d {
        Decision::Allowed(c) => {
            assert_eq!(c.events.len(), 1);
            assert_eq!(c.events[0].outcome, Outcome::Allowed);
            c.change.message.unwrap()
        }
        Decision::Refused(r) => panic!("expected allowed, got {}", r.reason.code()),
    }
}

#[test]
fn patients_and_proxies_send_online_while_messaging_is_on() {
    let t = T::new();
    let m = t.sent();
    assert_eq!(
        (m.writer, m.state.clone(), m.revision),
        (t.me(), InboxState::Unread, 0)
    );
    let proxy = Actor::Proxy {
        proxy: ProxyId::new(&t.ids),
        for_patient: t.patient,
    };
    let by_proxy = changed(
        decide_send(
            &t.on,
            &t.new_message(proxy, Channel::Online),
            None,
            t.now,
            &t.ids,
        )
        .unwrap(),
    );
    assert_eq!(by_proxy.writer, proxy, "a proxy is recorded as the writer");
    let off = SettingsFacts {
        settings: MessagingSettings { enabled: false },
        version: 1,
    };
    assert_eq!(
        refused(
            &decide_send(
                &off,
                &t.new_message(t.me(), Channel::Online),
                None,
                t.now,
                &t.ids
            )
            .unwrap()
        ),
        MessagingRefusal::MessagingOff
    );
    assert_eq!(
        refused(
            &decide_send(
                &t.on,
                &t.new_message(t.me(), Channel::Telephone),
                None,
                t.now,
                &t.ids
            )
            .unwrap()
        ),
        MessagingRefusal::ChannelNotAllowed
    );
    let stranger = Actor::Patient {
        patient: PatientId::new(&t.ids),
    };
    assert_eq!(
        refused(
            &decide_send(
                &t.on,
                &t.new_message(stranger, Channel::Online),
                None,
                t.now,
                &t.ids
            )
            .unwrap()
        ),
        MessagingRefusal::ActorNotForPatient
    );
    assert_eq!(
        refused(
            &decide_send(
                &t.on,
                &t.new_message(t.staff(StaffRole::Gp), Channel::Reception),
                None,
                t.now,
                &t.ids
            )
            .unwrap()
        ),
        MessagingRefusal::ChannelNotAllowed
    );
}

#[test]
fn a_link_is_kept_and_audited() {
    let t = T::new();
    let booking = BookingId::new(&t.ids);
    let m = NewMessage::new(
        t.me(),
        Channel::Online,
        t.patient,
        "Appointment",
        "Running late",
        Some(MessageLink::Appointment(booking)),
    )
    .unwrap();
    let Decision::Allowed(c) = decide_send(&t.on, &m, Some(t.patient), t.now, &t.ids).unwrap()
    else {
        panic!("refused")
    };
    assert_eq!(
        c.change.message.unwrap().link,
        Some(MessageLink::Appointment(booking))
    );
    assert!(c.events[0]
        .subjects
        .iter()
        .any(|s| s.kind == SubjectKind::Booking && s.id == booking.as_uuid()));
    // Only to the patient's own appointment or medicine.
    let someone_else = gp_core::PatientId::new(&t.ids);
    for owner in [Some(someone_else), None] {
        let d = decide_send(&t.on, &m, owner, t.now, &t.ids).unwrap();
        assert_eq!(d.refusal(), Some(&MessagingRefusal::LinkNotFound));
        assert_eq!(d.events().len(), 1);
    }
}

#[test]
fn staff_move_messages_through_the_inbox() {
    let t = T::new();
    let m = t.sent();
    let rx = t.staff(StaffRole::Receptionist);
    let read = changed(decide_inbox(
        Some(&m),
        &t.action(rx, &m),
        InboxMove::Read,
        t.now,
        &t.ids,
    ));
    assert!(matches!(read.state, InboxState::Read { .. }));
    assert_eq!(read.revision, 1);
    assert_eq!(
        refused(&decide_inbox(
            Some(&read),
            &t.action(rx, &read),
            InboxMove::Read,
            t.now,
            &t.ids
        )),
        MessagingRefusal::AlreadyRead
    );
    let handled = changed(decide_inbox(
        Some(&read),
        &t.action(rx, &read),
        InboxMove::Handled,
        t.now,
        &t.ids,
    ));
    assert_eq!(
        refused(&decide_inbox(
            Some(&handled),
            &t.action(rx, &handled),
            InboxMove::Handled,
            t.now,
            &t.ids
        )),
        MessagingRefusal::AlreadyHandled
    );
    assert_eq!(
        refused(&decide_inbox(
            Some(&handled),
            &t.action(rx, &handled),
            InboxMove::Read,
            t.now,
            &t.ids
        )),
        MessagingRefusal::AlreadyHandled
    );
    // Straight from unread to handled is allowed.
    changed(decide_inbox(
        Some(&m),
        &t.action(rx, &m),
        InboxMove::Handled,
        t.now,
        &t.ids,
    ));
    assert_eq!(
        refused(&decide_inbox(
            Some(&m),
            &t.action(t.me(), &m),
            InboxMove::Read,
            t.now,
            &t.ids
        )),
        MessagingRefusal::StaffOnly
    );
    let elsewhere = MessageAction {
        message: MessageId::new(&t.ids),
        ..t.action(rx, &m)
    };
    assert_eq!(
        refused(&decide_inbox(
            None,
            &elsewhere,
            InboxMove::Read,
            t.now,
            &t.ids
        )),
        MessagingRefusal::MessageNotFound
    );
    assert_eq!(
        refused(&decide_inbox(
            Some(&m),
            &elsewhere,
            InboxMove::Read,
            t.now,
            &t.ids
        )),
        MessagingRefusal::MessageNotFound
    );
    let online_staff = MessageAction {
        channel: Channel::Online,
        ..t.action(rx, &m)
    };
    assert_eq!(
        refused(&decide_inbox(
            Some(&m),
            &online_staff,
            InboxMove::Read,
            t.now,
            &t.ids
        )),
        MessagingRefusal::ChannelNotAllowed
    );
}

#[test]
fn replies_from_staff_and_from_the_patient() {
    let t = T::new();
    let m = t.sent();
    let gp = t.staff(StaffRole::Gp);
    let off = SettingsFacts {
        settings: MessagingSettings { enabled: false },
        version: 1,
    };
    // Staff may reply even with messaging off; an unread message becomes read.
    let replied = changed(
        decide_reply(
            &off,
            Some(&m),
            &t.action(gp, &m),
            "Yes, all normal.",
            t.now,
            &t.ids,
        )
        .unwrap(),
    );
    assert!(matches!(replied.state, InboxState::Read { .. }));
    assert_eq!(replied.replies[0].by, gp);
    // The patient replies: back to unread. With messaging off: refused.
    let back = changed(
        decide_reply(
            &t.on,
            Some(&replied),
            &t.action(t.me(), &replied),
            "Thank you",
            t.now,
            &t.ids,
        )
        .unwrap(),
    );
    assert_eq!(
        (back.state.clone(), back.replies.len(), back.revision),
        (InboxState::Unread, 2, 2)
    );
    assert_eq!(
        refused(
            &decide_reply(
                &off,
                Some(&replied),
                &t.action(t.me(), &replied),
                "Thank you",
                t.now,
                &t.ids
            )
            .unwrap()
        ),
        MessagingRefusal::MessagingOff
    );
    let stranger = Actor::Patient {
        patient: PatientId::new(&t.ids),
    };
    assert_eq!(
        refused(
            &decide_reply(
                &t.on,
                Some(&m),
                &t.action(stranger, &m),
                "Hi",
                t.now,
                &t.ids
            )
            .unwrap()
        ),
        MessagingRefusal::ActorNotForPatient
    );
    assert!(
        decide_reply(&t.on, Some(&m), &t.action(gp, &m), " ", t.now, &t.ids).is_err(),
        "an empty reply is bad input"
    );
}

#[test]
fn settings_are_switched_by_staff_only() {
    let t = T::new();
    let off = MessagingSettings { enabled: false };
    // Which members of staff may is the access matrix's question (gp-access).
    for role in StaffRole::ALL {
        let Decision::Allowed(c) = decide_settings(
            &t.on,
            t.staff(role),
            Channel::Reception,
            &off,
            t.now,
            &t.ids,
        ) else {
            panic!("refused")
        };
        assert_eq!(c.change.settings, Some(off.clone()));
    }
    assert_eq!(
        refused(&decide_settings(
            &t.on,
            t.me(),
            Channel::Online,
            &off,
            t.now,
            &t.ids
        )),
        MessagingRefusal::RoleNotPermitted
    );
}

#[test]
fn bounds_are_checked_at_the_edge() {
    let t = T::new();
    let long_subject = "s".repeat(MAX_SUBJECT + 1);
    assert!(NewMessage::new(t.me(), Channel::Online, t.patient, &long_subject, "b", None).is_err());
    assert!(NewMessage::new(
        t.me(),
        Channel::Online,
        t.patient,
        &"s".repeat(MAX_SUBJECT),
        &"b".repeat(MAX_BODY),
        None
    )
    .is_ok());
    assert!(NewMessage::new(
        t.me(),
        Channel::Online,
        t.patient,
        "s",
        &"b".repeat(MAX_BODY + 1),
        None
    )
    .is_err());
    assert!(NewMessage::new(t.me(), Channel::Online, t.patient, "", "b", None).is_err());
}

#[test]
fn every_reason_code_is_distinct() {
    use MessagingRefusal::*;
    let all = [
        MessagingOff,
        ActorNotForPatient,
        ChannelNotAllowed,
        StaffOnly,
        RoleNotPermitted,
        MessageNotFound,
        AlreadyRead,
        AlreadyHandled,
        LinkNotFound,
    ];
    let codes: std::collections::BTreeSet<_> = all.iter().map(|r| r.code()).collect();
    assert_eq!(codes.len(), all.len());
}

#[test]
fn debug_output_carries_no_message_text() {
    let t = T::new();
    let m = NewMessage::new(
        t.me(),
        Channel::Online,
        t.patient,
        "Private subject",
        "Something only the practice should read",
        None,
    )
    .unwrap();
    let Decision::Allowed(c) = decide_send(&t.on, &m, None, t.now, &t.ids).unwrap() else {
        panic!("refused")
    };
    let stored = c.change.message.unwrap();
    for shown in [format!("{m:?}"), format!("{stored:?}")] {
        assert!(!shown.contains("Private subject"), "{shown}");
        assert!(!shown.contains("only the practice"), "{shown}");
        assert!(shown.contains("<15 chars>"), "{shown}");
    }
}
