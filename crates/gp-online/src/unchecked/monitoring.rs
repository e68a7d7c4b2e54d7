//! The monitoring figures read straight from a store, for the supplier's
//! administration tools (`gp-admin`); staff ask through
//! `Practice::pomi_return` and `Practice::uptake_audit`, which authorize
//! first.

use chrono::NaiveDate;
use gp_access::{AccessStore, PatientList};
use gp_monitoring::{
    pomi_return, uptake, Month, PomiInput, PomiReturn, UptakeReport, UptakeService,
};

use crate::OnlineError;

/// The practice's POMI return for `month`, from the store's list and audit
/// trail (see [`gp_monitoring::pomi_return`] for what each field counts).
pub async fn pomi<S>(
    store: &S,
    month: Month,
    practice: &gp_monitoring::Practice,
) -> Result<PomiReturn, OnlineError>
where
    S: AccessStore + PatientList + ?Sized,
{
    let events = AccessStore::audit_events(store).await?;
    Ok(pomi_return(&PomiInput {
        month,
        practice,
        list_size: store.list_size().await?,
        events: &events,
    }))
}

/// The uptake audit for `service` from `from` to `to` (UK dates, inclusive).
pub async fn uptake_audit<S>(
    store: &S,
    service: UptakeService,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<UptakeReport, OnlineError>
where
    S: AccessStore + ?Sized,
{
    let records = store.records().await?;
    let events = store.audit_events().await?;
    Ok(uptake(service, &records, &events, from, to)?)
}
