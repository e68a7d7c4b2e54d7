//! Other NHS organisations' systems as GP Connect consumers, and one
//! authenticator made of several.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::{header, HeaderMap};
use base64::Engine;
use gp_access::By;
use gp_core::{Actor, Channel, Clock, OdsCode, OrganisationType, RequesterId};
use serde::Deserialize;

use crate::{Authenticate, Scope, SignInRefused};

/// The longest a consumer's token may live, in seconds (GP Connect: five
/// minutes from `iat` to `exp`).
pub const MAX_TOKEN_SECONDS: i64 = 300;

/// GP Connect consumers: the organisation a request is from, read from the
/// claims of its GP Connect bearer token (`requesting_organization`'s ODS
/// code), for the organisations this practice works with and their types.
///
/// GP Connect consumer tokens are not signed (`alg: none`): the consumer
/// system is authenticated by Spine's mutual TLS (the Spine Secure Proxy)
/// before a request reaches the provider, and anyone who can reach a
/// router using this can claim to be any organisation on the list. Serve
/// it on its own listener that only the mutual-TLS front end reaches, never
/// on the one patients' apps use, and never combined with [`crate::NhsLogin`]
/// in one [`AnyOf`].
/// It checks what can be checked of the claims: `reason_for_request` is
/// `directcare`, `requested_scope` one of GP Connect's
/// (`patient/*.read`, `patient/*.write`, `organization/*.read`,
/// `organization/*.write`) and the one the request needs ([`Scope`]),
/// `requesting_device` a `Device`, `sub` the requesting practitioner's id
/// (both given), `iat` and `exp` bound a life of at most five minutes that
/// holds now (by the clock given), the organisation is one of
/// `organisations`, and `requesting_practitioner` names the person making
/// the request (their SDS user id, or when that is `UNK` their id in the
/// consumer's system as `local:<id>`; one SDS user id only; kept as the
/// actor's `requester` in the audit trail). A token that breaks any of
/// these rules is answered 400 `BAD_REQUEST`, as GP Connect's provider
/// tests expect; a valid token from an organisation that is not one of
/// `organisations`, or no token, 403 `ACCESS_DENIED`.
pub struct GpConnectConsumers {
    organisations: BTreeMap<OdsCode, OrganisationType>,
    clock: Arc<dyn Clock + Send + Sync>,
    audience: Option<String>,
}

impl std::fmt::Debug for GpConnectConsumers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpConnectConsumers")
            .field("organisations", &self.organisations)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ConsumerClaims {
    #[serde(default)]
    aud: Option<String>,
    sub: String,
    reason_for_request: String,
    requested_scope: String,
    iat: i64,
    exp: i64,
    requesting_device: Resource,
    requesting_organization: RequestingOrganization,
    requesting_practitioner: RequestingPractitioner,
}

/// A contained resource of which only the type is read.
#[derive(Deserialize)]
struct Resource {
    #[serde(rename = "resourceType")]
    resource_type: String,
}

#[derive(Deserialize)]
struct RequestingPractitioner {
    #[serde(rename = "resourceType")]
    resource_type: String,
    id: String,
    identifier: Vec<Identifier>,
}

/// The scopes a GP Connect consumer asks for (`requested_scope`).
const SCOPES: [&str; 4] = [
    "patient/*.read",
    "patient/*.write",
    "organization/*.read",
    "organization/*.write",
];

/// GP Connect's system for a person's SDS user id.
const SDS_USER_ID: &str = "https://fhir.nhs.uk/Id/sds-user-id";
/// GP Connect's system for a person's SDS role profile id.
const SDS_ROLE_PROFILE_ID: &str = "https://fhir.nhs.uk/Id/sds-role-profile-id";

impl RequestingPractitioner {
    /// Who the person is for the record: their SDS user id (letters and
    /// digits), or, when they have none (`UNK`), their id in the
    /// consumer's own system, written `local:<id>` so the two are never
    /// taken for each other. A token naming two different SDS user ids
    /// names nobody.
    fn requester(&self) -> Option<RequesterId> {
        if self.resource_type != "Practitioner" {
            return None;
        }
        let known = |i: &&Identifier| !i.value.trim().eq_ignore_ascii_case("UNK");
        let mut sds = self
            .identifier
            .iter()
            .filter(|i| i.system == SDS_USER_ID)
            .filter(known);
        if let Some(first) = sds.next() {
            if sds.any(|other| other.value != first.value) {
                return None;
            }
            return gp_booking::SdsUserId::parse(&first.value)
                .ok()
                .filter(|id| id.as_str() == first.value)
                .and_then(|id| RequesterId::parse(id.as_str()).ok());
        }
        let local = self
            .identifier
            .iter()
            .filter(|i| i.system != SDS_USER_ID && i.system != SDS_ROLE_PROFILE_ID)
            .find(known)?;
        RequesterId::parse(&format!("local:{}", local.value)).ok()
    }
}

#[derive(Deserialize)]
struct RequestingOrganization {
    #[serde(rename = "resourceType")]
    resource_type: String,
    identifier: Vec<Identifier>,
}

#[derive(Deserialize)]
struct Identifier {
    system: String,
    value: String,
}

impl GpConnectConsumers {
    /// Consumers from `organisations` (their ODS codes and types), with
    /// token lifetimes checked against `clock`.
    pub fn new(
        organisations: impl IntoIterator<Item = (OdsCode, OrganisationType)>,
        clock: Arc<dyn Clock + Send + Sync>,
    ) -> Self {
        Self {
            organisations: organisations.into_iter().collect(),
            clock,
            audience: None,
        }
    }

    /// Accepts only tokens whose `aud` is `audience` (this provider's
    /// FHIR endpoint, as the consumer resolved it).
    pub fn with_audience(mut self, audience: &str) -> Self {
        self.audience = Some(audience.to_owned());
        self
    }

    /// The organisation (and person) a token names, or why it names nobody:
    /// a token that is not GP Connect's, breaks its rules or has lived out
    /// its life is [`SignInRefused::Malformed`] (400, as GP Connect's
    /// provider tests expect); a valid token from an organisation that is
    /// not one of this practice's consumers is [`SignInRefused::Denied`].
    fn organisation(&self, token: &str, scope: Option<Scope>) -> Result<Actor, SignInRefused> {
        let bad = SignInRefused::Malformed;
        let mut parts = token.split('.');
        let (_header, payload) = (parts.next().ok_or(bad)?, parts.next().ok_or(bad)?);
        if parts.next().is_none() || parts.next().is_some() {
            return Err(bad);
        }
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|_| bad)?;
        let claims: ConsumerClaims = serde_json::from_slice(&json).map_err(|_| bad)?;
        let now = self.clock.now().timestamp();
        let lifetime = claims.exp.checked_sub(claims.iat).ok_or(bad)?;
        if claims.reason_for_request != "directcare"
            || !(1..=MAX_TOKEN_SECONDS).contains(&lifetime)
            || claims.iat > now
            || claims.exp <= now
            || !SCOPES.contains(&claims.requested_scope.as_str())
            || scope.is_some_and(|s| s.as_str() != claims.requested_scope)
            || claims.requesting_device.resource_type != "Device"
            || claims.requesting_organization.resource_type != "Organization"
        {
            return Err(bad);
        }
        if self
            .audience
            .as_ref()
            .is_some_and(|a| claims.aud.as_ref() != Some(a))
        {
            return Err(bad);
        }
        // `sub` is the requesting practitioner's id, and both are given.
        if claims.sub.is_empty() || claims.requesting_practitioner.id != claims.sub {
            return Err(bad);
        }
        // Exactly one ODS code: a token naming two organisations names none.
        let mut codes = claims
            .requesting_organization
            .identifier
            .iter()
            .filter(|i| i.system == gp_fhir::appointments::ODS_SYSTEM);
        let ods = OdsCode::parse(&codes.next().ok_or(bad)?.value).map_err(|_| bad)?;
        if codes.next().is_some() {
            return Err(bad);
        }
        // The person making the request, for the audit trail: a token that
        // names nobody usable is refused.
        let requester = Some(claims.requesting_practitioner.requester().ok_or(bad)?);
        let kind = *self.organisations.get(&ods).ok_or(SignInRefused::Denied)?;
        Ok(Actor::Organisation {
            ods,
            kind,
            requester,
        })
    }
}

impl Authenticate for GpConnectConsumers {
    fn authenticate(&self, headers: &HeaderMap) -> Option<By> {
        self.sign_in(headers).ok()
    }

    fn sign_in(&self, headers: &HeaderMap) -> Result<By, SignInRefused> {
        self.signed_in(headers, None)
    }

    fn sign_in_for(&self, headers: &HeaderMap, scope: Scope) -> Result<By, SignInRefused> {
        self.signed_in(headers, Some(scope))
    }
}

impl GpConnectConsumers {
    /// The organisation a request's token names, for `scope` when given.
    fn signed_in(&self, headers: &HeaderMap, scope: Option<Scope>) -> Result<By, SignInRefused> {
        let value = headers
            .get(header::AUTHORIZATION)
            .ok_or(SignInRefused::Denied)?
            .to_str()
            .map_err(|_| SignInRefused::Malformed)?;
        let token = value
            .strip_prefix("Bearer ")
            .ok_or(SignInRefused::Malformed)?;
        self.organisation(token, scope).map(|actor| By {
            actor,
            channel: Channel::Organisation,
        })
    }
}

/// Several ways in, tried in order; the first that knows the request
/// answers (for example [`crate::NhsLogin`] and the supplier's own proxy
/// sign-in on the patient-facing router). Keep [`GpConnectConsumers`] out
/// of a router patients can reach.
#[derive(Clone, Default)]
pub struct AnyOf(Vec<Arc<dyn Authenticate>>);

impl std::fmt::Debug for AnyOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AnyOf").field(&self.0.len()).finish()
    }
}

impl AnyOf {
    fn first(
        &self,
        sign_in: impl Fn(&Arc<dyn Authenticate>) -> Result<By, SignInRefused>,
    ) -> Result<By, SignInRefused> {
        let mut why = SignInRefused::Denied;
        for a in &self.0 {
            match sign_in(a) {
                Ok(by) => return Ok(by),
                Err(SignInRefused::Malformed) => why = SignInRefused::Malformed,
                Err(_) => {}
            }
        }
        Err(why)
    }

    /// None yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tries `auth` after those before it.
    pub fn or(mut self, auth: Arc<dyn Authenticate>) -> Self {
        self.0.push(auth);
        self
    }
}

impl Authenticate for AnyOf {
    fn authenticate(&self, headers: &HeaderMap) -> Option<By> {
        self.0.iter().find_map(|a| a.authenticate(headers))
    }

    /// The first that names someone; if none does, malformed when any
    /// found the credentials malformed, else denied. (So a patient's bad
    /// token is 400 where `GpConnectConsumers` is one of them: another
    /// reason to keep it off the patients' router.)
    fn sign_in(&self, headers: &HeaderMap) -> Result<By, SignInRefused> {
        self.first(|a| a.sign_in(headers))
    }

    fn sign_in_for(&self, headers: &HeaderMap, scope: Scope) -> Result<By, SignInRefused> {
        self.first(|a| a.sign_in_for(headers, scope))
    }
}
