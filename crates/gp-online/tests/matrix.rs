//! The access matrix implies every domain crate's staff floor: whatever
//! the matrix lets a role do, the domain rules never refuse that role for
//! it. (The floors are the last line of defence behind the matrix, so a
//! floor stricter than the matrix would turn away staff the practice allows.)

use std::collections::BTreeSet;

use gp_access::{permission, Action};
use gp_booking::{decide_policy, BookingPolicy, PolicyFacts};
use gp_core::{Actor, Channel, FixedClock, PatientId, SequentialIds, StaffId, StaffRole};
use gp_messaging::{decide_settings as messaging_settings, MessagingSettings};
use gp_online::unchecked::Prescriptions;
use gp_online::Answer;
use gp_prescribing::{
    decide_settings as prescribing_settings, ItemAction, LineAction, MemoryPrescribingStore,
    OrderRequest, PrescribingSettings, RequestChannel, RestrictionScope, ReviewOutcome,
};
use gp_testkit::fixtures::{monday_morning, repeat_item};

/// The roles the matrix lets take `action` (every role, for an action
/// only the practice manager or a lead may take: any role may be a lead).
fn matrix_roles(action: Action) -> BTreeSet<StaffRole> {
    let p = permission(action);
    if p.lead_or_manager {
        StaffRole::ALL.into_iter().collect()
    } else {
        p.roles.iter().copied().collect()
    }
}

fn staff(role: StaffRole) -> Actor {
    Actor::Staff {
        staff: StaffId::from_uuid(gp_core::uuid::Uuid::from_u128(role as u128 + 100)),
        role,
    }
}

#[test]
fn prescriber_roles_are_kept_in_one_place() {
    for action in [
        Action::ApprovePrescription,
        Action::IssuePrescription,
        Action::ManageRepeatList,
    ] {
        assert_eq!(
            matrix_roles(action),
            StaffRole::PRESCRIBERS.iter().copied().collect(),
            "{action}"
        );
    }
    for role in StaffRole::ALL {
        assert_eq!(
            gp_prescribing::is_prescriber(role),
            StaffRole::PRESCRIBERS.contains(&role)
        );
    }
}

#[tokio::test]
async fn whatever_the_matrix_allows_a_role_the_prescribing_rules_allow_it() {
    for role in StaffRole::ALL {
        let ids = SequentialIds::new(0xAB);
        let facade = Prescriptions::with_ids(
            MemoryPrescribingStore::new(),
            FixedClock::new(monday_morning()),
            Box::new(SequentialIds::new(1 << 30)),
        );
        let patient = PatientId::new(&ids);
        let today = monday_morning().date_naive();
        let item = repeat_item(&ids, patient, 0, None, today);
        let system = (Actor::System, Channel::Internal);
        assert!(matches!(
            facade.put_item(system.0, system.1, &item).await.unwrap(),
            Answer::Done(_)
        ));
        let me = Actor::Patient { patient };
        let order =
            OrderRequest::new(me, RequestChannel::Online, patient, vec![item.id], None).unwrap();
        let request = facade
            .request(&order)
            .await
            .unwrap()
            .done()
            .unwrap()
            .request;
        let line = LineAction {
            actor: staff(role),
            channel: Channel::Reception,
            patient,
            request: request.id,
            item: item.id,
        };
        let on_item = ItemAction {
            actor: staff(role),
            channel: Channel::Reception,
            patient,
            item: item.id,
        };
        if matrix_roles(Action::ApprovePrescription).contains(&role) {
            let approved = facade.approve(&line).await.unwrap();
            assert!(approved.refusal().is_none(), "{role}: {approved:?}");
        }
        if matrix_roles(Action::IssuePrescription).contains(&role) {
            let issued = facade.issue(&line).await.unwrap();
            assert!(issued.refusal().is_none(), "{role}: {issued:?}");
        }
        if matrix_roles(Action::ManageRepeatList).contains(&role) {
            let other = repeat_item(&ids, patient, 1, None, today);
            let put = facade
                .put_item(staff(role), Channel::Reception, &other)
                .await
                .unwrap();
            assert!(put.refusal().is_none(), "{role}: {put:?}");
            let flag = ItemAction {
                actor: me,
                channel: Channel::Online,
                ..on_item
            };
            facade.flag_not_taken(&flag, None).await.unwrap();
            let reviewed = facade.review(&on_item, &ReviewOutcome::Keep).await.unwrap();
            assert!(reviewed.refusal().is_none(), "{role}: {reviewed:?}");
        }
        if matrix_roles(Action::RestrictOrdering).contains(&role) {
            let restricted = facade
                .restrict(
                    staff(role),
                    Channel::Reception,
                    patient,
                    Some((RestrictionScope::Online, "Over-ordering")),
                )
                .await
                .unwrap();
            assert!(restricted.refusal().is_none(), "{role}: {restricted:?}");
        }
    }
}

#[test]
fn whatever_the_matrix_allows_a_role_the_settings_floors_allow_it() {
    let ids = SequentialIds::new(0xCD);
    let now = monday_morning();
    for role in matrix_roles(Action::ChangeOnlineSettings) {
        let actor = staff(role);
        let booking = decide_policy(
            &PolicyFacts::default(),
            actor,
            Channel::Reception,
            &BookingPolicy::default(),
            now,
            &ids,
        );
        assert!(booking.refusal().is_none(), "{role}: booking policy");
        let prescribing = prescribing_settings(
            &Default::default(),
            actor,
            Channel::Reception,
            &PrescribingSettings::default(),
            now,
            &ids,
        )
        .unwrap();
        assert!(
            prescribing.refusal().is_none(),
            "{role}: prescribing settings"
        );
        let messaging = messaging_settings(
            &Default::default(),
            actor,
            Channel::Reception,
            &MessagingSettings { enabled: true },
            now,
            &ids,
        );
        assert!(messaging.refusal().is_none(), "{role}: messaging settings");
    }
}
