//! GP Connect over HTTP: one axum router a supplier mounts behind their own
//! TLS and authentication. Every request goes through `Practice` (the one
//! door), so it is authorized from the stored records and audited; a
//! request the router refuses before asking (a malformed body, a stale
//! `If-Match`, ...) is recorded with `Practice::record_fault`, and allowed
//! reads are recorded when the practice records every read (build it with
//! `Practice::recording_every_read`, as GP Connect expects). Every
//! refusal and error is a `GPConnect-OperationOutcome-1` with the status
//! and Spine code `gp_fhir` maps it to, never a bare 500 or a panic.
//!
//! Patient-facing (the patient, or their proxy, acting online):
//!
//! - `GET /Slot?status=free&_include=Slot:schedule&start=ge…&end=le…`
//!   (dates, or dateTimes with their offset; slots wholly in the range)
//! - `POST /Appointment` (201, `Location`, `ETag`), `GET /Appointment/{id}`,
//!   `GET /Patient/{id}/Appointment`, cancel by `PUT /Appointment/{id}`
//!   with `If-Match` (a stale version is 409)
//! - `GET /Patient/{id}/MedicationRequest`, `POST /Task` (a renewal;
//!   repeated with the same `X-Request-ID`, the first answer is given
//!   again), `GET /Task`
//! - `GET /metadata`: the `CapabilityStatement`
//!
//! Who is asking comes from an [`Authenticate`] port: [`NhsLogin`]
//! verifies NHS login ID tokens against a configured JWKS; a supplier may
//! bring their own; [`DevelopmentTokens`] is for tests and local
//! development only.

// reason: the handlers' helpers return the ready HTTP response as their
// error, straight to the client; boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use gp_access::{Action, By};
use gp_booking::{
    AmendRequest, BookRequest, Booking, BookingStore, CancelRequest, OrganisationFilter,
    SearchQuery, StaffMember,
};
use gp_core::{Actor, BookingId, Clock, OdsCode, OrganisationType, PatientId, StaffId};
use gp_fhir::appointments::{self, AppointmentChange};
use gp_fhir::{error_for, operation_outcome, prescriptions, GpcError};
use gp_online::{
    Answer, OnlineError, Practice, PracticeStore, Refused, RejectedRequest, RequestFault,
};
use gp_prescribing::{OrderRequest, RequestChannel};
use serde_json::Value;

mod consumers;
pub use consumers::{AnyOf, GpConnectConsumers, MAX_TOKEN_SECONDS};
pub use gp_fhir::appointments::{BranchSurgery, PracticeSite};

/// The largest request body taken, in bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// Who a request is from, from its headers (the supplier's sign-in: an NHS
/// login token mapped to the linked account, for example, or a GP Connect
/// consumer's claims).
pub trait Authenticate: Send + Sync + 'static {
    /// The patient or proxy acting online, or another organisation on
    /// `Channel::Organisation`, or `None` (answered 403).
    fn authenticate(&self, headers: &HeaderMap) -> Option<By>;

    /// Like [`Authenticate::authenticate`], saying why nobody is named:
    /// by default always [`SignInRefused::Denied`] (403). An
    /// authenticator whose interface answers malformed credentials
    /// otherwise (GP Connect: 400 for a token that breaks its rules)
    /// says [`SignInRefused::Malformed`].
    fn sign_in(&self, headers: &HeaderMap) -> Result<By, SignInRefused> {
        self.authenticate(headers).ok_or(SignInRefused::Denied)
    }

    /// Like [`Authenticate::sign_in`], for a request that needs `scope`:
    /// by default the same answer. GP Connect consumers' tokens name the
    /// scope they were issued for (`requested_scope`), and a token for
    /// another scope is [`SignInRefused::Malformed`] (400).
    fn sign_in_for(&self, headers: &HeaderMap, scope: Scope) -> Result<By, SignInRefused> {
        let _ = scope;
        self.sign_in(headers)
    }
}

/// What a request does, as GP Connect scopes a consumer's token for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scope {
    /// Reading a patient's records (`patient/*.read`): an appointment, a
    /// patient's appointments, repeats and renewals.
    PatientRead,
    /// Changing them (`patient/*.write`): booking, amending, cancelling,
    /// asking for a renewal.
    PatientWrite,
    /// Reading the practice's own (`organization/*.read`): searching for
    /// free slots.
    OrganizationRead,
}

impl Scope {
    /// GP Connect's `requested_scope` for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::PatientRead => "patient/*.read",
            Scope::PatientWrite => "patient/*.write",
            Scope::OrganizationRead => "organization/*.read",
        }
    }
}

/// Why a request names nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignInRefused {
    /// No credentials this router takes, or credentials for nobody it
    /// serves: 403 `ACCESS_DENIED`.
    Denied,
    /// Credentials that break the interface's rules (a GP Connect token
    /// with a claim missing, expired, or for another purpose): 400
    /// `BAD_REQUEST`.
    Malformed,
}

/// Bearer tokens mapped to who they stand for: for tests and local
/// development only; never a way to sign in in production.
#[derive(Debug, Default, Clone)]
pub struct DevelopmentTokens(BTreeMap<String, By>);

impl DevelopmentTokens {
    /// No tokens.
    pub fn new() -> Self {
        Self::default()
    }

    /// `token` stands for `by`.
    pub fn with(mut self, token: &str, by: By) -> Self {
        self.0.insert(token.to_owned(), by);
        self
    }
}

impl Authenticate for DevelopmentTokens {
    fn authenticate(&self, headers: &HeaderMap) -> Option<By> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let token = value.strip_prefix("Bearer ")?;
        self.0.get(token).copied()
    }
}

/// What a renewal's `X-Request-ID` is remembered for.
#[derive(Clone)]
enum Remembered {
    /// Being made now.
    Pending,
    /// Made: the request's digest, the patient and the `Task` answered.
    Done {
        digest: u64,
        patient: PatientId,
        task: Value,
        /// When it was remembered (a counter), to forget the oldest first.
        seq: u64,
    },
}

/// The most renewals remembered for one asker.
const REMEMBERED_PER_ASKER: usize = 100;

/// NHS login: the request's bearer token verified as an NHS login ID token
/// (RS256 or RS512, signed by a key in the configured JWKS, from the
/// configured issuer, for this client, not expired, identity proofed to P9)
/// and its NHS number mapped to the patient's linked account by `resolve`
/// (the supplier's own linkage: a lookup it keeps in memory). A patient
/// acting for themselves; proxies sign in through the supplier's own
/// proxy journey (another `Authenticate`).
pub struct NhsLogin {
    keys: jsonwebtoken::jwk::JwkSet,
    issuer: String,
    audience: String,
    resolve: Box<Resolve>,
}

/// The supplier's map from a verified NHS number to the linked patient.
type Resolve = dyn Fn(&gp_core::NhsNumber) -> Option<PatientId> + Send + Sync;

impl std::fmt::Debug for NhsLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NhsLogin")
            .field("keys", &self.keys.keys.len())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// The claims of an NHS login ID token this adapter reads.
#[derive(Debug, serde::Deserialize)]
struct IdClaims {
    nhs_number: String,
    identity_proofing_level: String,
}

impl NhsLogin {
    /// Verifies tokens against the JWKS document `jwks` (JSON), issued by
    /// `issuer` for the client `audience`; `resolve` maps a verified NHS
    /// number to the patient whose online account it is.
    pub fn new(
        jwks: &str,
        issuer: &str,
        audience: &str,
        resolve: impl Fn(&gp_core::NhsNumber) -> Option<PatientId> + Send + Sync + 'static,
    ) -> Result<Self, String> {
        let keys: jsonwebtoken::jwk::JwkSet =
            serde_json::from_str(jwks).map_err(|e| format!("the JWKS is not valid: {e}"))?;
        Ok(Self {
            keys,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            resolve: Box::new(resolve),
        })
    }

    fn verify(&self, token: &str) -> Option<PatientId> {
        use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
        let header = decode_header(token).ok()?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::RS512) {
            return None;
        }
        let jwk = self.keys.find(header.kid.as_deref()?)?;
        let key = DecodingKey::from_jwk(jwk).ok()?;
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 0;
        let claims = decode::<IdClaims>(token, &key, &validation).ok()?.claims;
        if claims.identity_proofing_level != "P9" {
            return None;
        }
        let nhs = gp_core::NhsNumber::parse(&claims.nhs_number).ok()?;
        (self.resolve)(&nhs)
    }
}

impl Authenticate for NhsLogin {
    fn authenticate(&self, headers: &HeaderMap) -> Option<By> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let token = value.strip_prefix("Bearer ")?;
        self.verify(token).map(By::patient_online)
    }
}

struct App<S, C> {
    practice: Arc<Practice<S, C>>,
    auth: Arc<dyn Authenticate>,
    /// The practice's ODS code and name, for the `Organization` and
    /// `Location` a search returns (none when not given).
    site: Option<appointments::PracticeSite>,
    /// Renewals made, by who asked and their `X-Request-ID`.
    tasks: Mutex<HashMap<(String, String), Remembered>>,
    /// The next remembering's number.
    next: std::sync::atomic::AtomicU64,
}

type Shared<S, C> = Arc<App<S, C>>;

/// The router: mount it behind TLS and the supplier's authentication. A
/// search returns the practice's `Organization` and `Location` only when
/// the router knows them ([`router_at`]).
pub fn router<S, C>(practice: Arc<Practice<S, C>>, auth: Arc<dyn Authenticate>) -> Router
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    build(practice, auth, None)
}

/// The router for the practice at `site` (its ODS code and name): a search
/// returns its `Organization` whenever it finds slots, as GP Connect
/// requires, its `Location` with `_include:recurse=Schedule:actor:Location`,
/// and the clinicians' `Practitioner`s with
/// `_include:recurse=Schedule:actor:Practitioner`.
pub fn router_at<S, C>(
    practice: Arc<Practice<S, C>>,
    auth: Arc<dyn Authenticate>,
    site: appointments::PracticeSite,
) -> Router
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    build(practice, auth, Some(site))
}

fn build<S, C>(
    practice: Arc<Practice<S, C>>,
    auth: Arc<dyn Authenticate>,
    site: Option<appointments::PracticeSite>,
) -> Router
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    let app: Shared<S, C> = Arc::new(App {
        practice,
        auth,
        site,
        tasks: Mutex::new(HashMap::new()),
        next: std::sync::atomic::AtomicU64::new(0),
    });
    Router::new()
        .route("/Slot", get(search::<S, C>))
        .route("/Appointment", post(book::<S, C>))
        .route("/Appointment/{id}", get(read::<S, C>).put(change::<S, C>))
        .route(
            "/Patient/{id}/Appointment",
            get(patient_appointments::<S, C>),
        )
        .route(
            "/Patient/{id}/MedicationRequest",
            get(medication_requests::<S, C>),
        )
        .route("/Task", post(renew::<S, C>).get(renewals::<S, C>))
        .route("/metadata", get(metadata))
        .fallback(no_such_path::<S, C>)
        .method_not_allowed_fallback(no_such_method::<S, C>)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            negotiate::<S, C>,
        ))
        .with_state(app)
}

/// `GET /metadata`: what the router offers, as a `CapabilityStatement`.
/// It concerns nobody, needs no sign-in and is not recorded.
async fn metadata() -> Response {
    fhir(
        StatusCode::OK,
        &appointments::capability_statement(env!("CARGO_PKG_VERSION")),
    )
}

/// A path the router does not offer: 404, recorded when someone signed in asked.
async fn no_such_path<S, C>(State(app): State<Shared<S, C>>, headers: HeaderMap) -> Response
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    let response = outcome(&not_found(), "No such resource or operation.");
    unoffered(&app, &headers, RequestFault::NotFound, response).await
}

/// A method a path does not offer: 405, recorded when someone signed in asked.
async fn no_such_method<S, C>(State(app): State<Shared<S, C>>, headers: HeaderMap) -> Response
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    let e = GpcError {
        http: 405,
        ..gp_fhir::NOT_SUPPORTED
    };
    let response = outcome(&e, "That method is not supported here.");
    unoffered(&app, &headers, RequestFault::Unsupported, response).await
}

/// A request refused before any handler read it: recorded as `fault` when
/// its sender is signed in (nobody is named otherwise, and nothing is
/// recorded); 500 if the record cannot be kept.
async fn unoffered<S, C>(
    app: &App<S, C>,
    headers: &HeaderMap,
    fault: RequestFault,
    response: Response,
) -> Response
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    let Some(by) = app.auth.authenticate(headers) else {
        return response;
    };
    match app
        .practice
        .record_fault(&by, &RejectedRequest::new(fault))
        .await
    {
        Ok(()) => response,
        Err(e) => failure(&e),
    }
}

/// The JSON media types a body may be sent in and an answer given in.
const JSON_TYPES: [&str; 3] = [
    "application/fhir+json",
    "application/json+fhir",
    "application/json",
];

/// The media type of a header value's first entry, lower-case, without
/// its parameters.
fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether an `Accept` header lets the answer be JSON: some entry is a
/// JSON type, `application/*` or `*/*`, and not refused with `q=0`.
fn accepts_json(accept: &str) -> bool {
    accept.split(',').any(|entry| {
        let kind = media_type(entry);
        let refused = entry.split(';').skip(1).any(|p| {
            let p = p.trim().to_ascii_lowercase();
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        !refused
            && (JSON_TYPES.contains(&kind.as_str()) || kind == "application/*" || kind == "*/*")
    })
}

/// Answers are FHIR JSON only (XML is not built): a request whose
/// `_format` or `Accept` allows only something else is 406, and a body
/// sent as anything but JSON is 415, before anything else is read. No
/// `Accept`, no `_format` and no `Content-Type` mean JSON.
async fn negotiate<S, C>(
    State(app): State<Shared<S, C>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    match unacceptable(&request) {
        Some(response) => {
            unoffered(&app, request.headers(), RequestFault::Unsupported, response).await
        }
        None => next.run(request).await,
    }
}

/// The 406 or 415 for a request that asks for, or sends, anything but JSON.
fn unacceptable(request: &axum::extract::Request) -> Option<Response> {
    let not = |http: u16, why: &str| {
        let e = GpcError {
            http,
            ..gp_fhir::NOT_SUPPORTED
        };
        Some(outcome(&e, why))
    };
    let format = request.uri().query().into_iter().flat_map(|q| {
        url_pairs(q)
            .into_iter()
            .filter(|(k, _)| k == "_format")
            .map(|(_, v)| v)
    });
    for f in format.collect::<Vec<_>>() {
        // A `+` left unencoded in the query reads as a space.
        let f = media_type(&f.replace(' ', "+"));
        if !(f == "json" || JSON_TYPES.contains(&f.as_str())) {
            return not(406, "Answers are given in FHIR JSON only (_format=json).");
        }
    }
    let headers = request.headers();
    // Every Accept header counts, as one list.
    let accepts: Vec<&HeaderValue> = headers.get_all(header::ACCEPT).iter().collect();
    if !accepts.is_empty() {
        let ok = accepts
            .iter()
            .any(|a| a.to_str().map(accepts_json).unwrap_or(false));
        if !ok {
            return not(
                406,
                "Answers are given in FHIR JSON only (Accept: application/fhir+json).",
            );
        }
    }
    // A body (POST, PUT) must be JSON, however many Content-Type headers
    // are sent; a request without one is read as JSON.
    let sends_body = matches!(
        *request.method(),
        axum::http::Method::POST | axum::http::Method::PUT | axum::http::Method::PATCH
    );
    let kinds: Vec<&HeaderValue> = headers.get_all(header::CONTENT_TYPE).iter().collect();
    if sends_body && !kinds.is_empty() {
        let ok = kinds.iter().all(|k| {
            k.to_str()
                .map(|k| JSON_TYPES.contains(&media_type(k).as_str()))
                .unwrap_or(false)
        });
        if !ok {
            return not(415, "Send FHIR JSON (Content-Type: application/fhir+json).");
        }
    }
    None
}

/// A query string's pairs, percent-decoded (`+` as a space); a pair that
/// does not decode is left out.
fn url_pairs(query: &str) -> Vec<(String, String)> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{query}").parse().unwrap_or_default(),
    )
    .map(|q| q.0)
    .unwrap_or_default()
}

fn not_found() -> GpcError {
    gp_fhir::NO_RECORD_FOUND
}

fn fhir(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    r
}

fn status(e: &GpcError) -> StatusCode {
    StatusCode::from_u16(e.http).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn outcome(e: &GpcError, why: &str) -> Response {
    let mut r = fhir(status(e), &operation_outcome(e, why));
    r.extensions_mut().insert(Spine(e.code));
    r
}

/// The Spine error code of a response this adapter made.
#[derive(Clone, Copy)]
struct Spine(&'static str);

/// Marks a response to a refusal `Practice` decided, and so recorded.
#[derive(Clone, Copy)]
struct Recorded;

/// What an adapter refusal concerned, when the handler knew: its record
/// names them.
#[derive(Clone, Copy)]
struct Concerning {
    patient: PatientId,
    booking: BookingId,
}

/// `response`, marked as concerning booking `b`.
fn about_booking(mut response: Response, b: &Booking) -> Response {
    response.extensions_mut().insert(Concerning {
        patient: b.patient,
        booking: b.id,
    });
    response
}

fn refusal(r: &Refused) -> Response {
    let mut response = outcome(&error_for(r.code()), &r.to_string());
    response.extensions_mut().insert(Recorded);
    response
}

/// What the adapter's own refusal with this Spine code was, for the
/// record; a server error is not a refusal.
fn fault_of(code: &str) -> Option<RequestFault> {
    Some(match code {
        "BAD_REQUEST" => RequestFault::Malformed,
        "INVALID_RESOURCE" | "INVALID_PARAMETER" | "REFERENCE_NOT_FOUND" => RequestFault::Invalid,
        "NO_RECORD_FOUND" | "PATIENT_NOT_FOUND" => RequestFault::NotFound,
        "ACCESS_DENIED" => RequestFault::NotForActor,
        "FHIR_CONSTRAINT_VIOLATION" => RequestFault::VersionMismatch,
        "DUPLICATE_REJECTED" => RequestFault::InProgress,
        _ => return None,
    })
}

/// Every request from someone signed in leaves its trace: a refusal
/// `Practice` decided is recorded there; one this adapter made before
/// asking it (a malformed body, a bad parameter, a stale `If-Match`, an
/// appointment that is not the asker's) is recorded here with
/// [`Practice::record_fault`]. If that record cannot be kept, the answer
/// is 500 (nothing was changed either way).
async fn audited<S, C>(app: &App<S, C>, by: &By, action: Action, handled: Handled) -> Handled
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    let Err(response) = handled else {
        return handled;
    };
    if response.extensions().get::<Recorded>().is_some() {
        return Err(response);
    }
    let Some(fault) = response
        .extensions()
        .get::<Spine>()
        .and_then(|s| fault_of(s.0))
    else {
        return Err(response);
    };
    let mut rejected = RejectedRequest::new(fault).of(action);
    if let Some(c) = response.extensions().get::<Concerning>() {
        rejected = rejected.about(c.patient).booking(c.booking);
    }
    match app.practice.record_fault(by, &rejected).await {
        Ok(()) => Err(response),
        Err(e) => Err(failure(&e)),
    }
}

fn failure(e: &OnlineError) -> Response {
    match e {
        OnlineError::Store(_) | OnlineError::Contention { .. } | OnlineError::AccessChanged => {
            outcome(
                &gp_fhir::INTERNAL_SERVER_ERROR,
                "The practice's records could not be reached; nothing was changed. Please try again.",
            )
        }
        other => outcome(&gp_fhir::INVALID_RESOURCE, &other.to_string()),
    }
}

/// What a handler answers: the response, or the refusal or error ready to send.
type Handled = Result<Response, Response>;

/// What `Practice` answered, or the response for its refusal or error.
fn done<T>(answered: Result<Answer<T, Refused>, OnlineError>) -> Result<T, Response> {
    match answered {
        Ok(Answer::Done(t)) => Ok(t),
        Ok(Answer::Refused(r)) => Err(refusal(&r)),
        Err(e) => Err(failure(&e)),
    }
}

/// A resource `gp_fhir` refused as sent.
fn unread(e: gp_fhir::Rejected) -> Response {
    outcome(&e.error, &e.why)
}

/// 409 while a renewal with the same `X-Request-ID` is being made.
fn in_progress() -> Response {
    let busy = GpcError {
        http: 409,
        ..gp_fhir::DUPLICATE_REJECTED
    };
    outcome(
        &busy,
        "A request with this X-Request-ID is still being made; ask again shortly.",
    )
}

/// Who is asking (a patient, a proxy, another organisation, ...).
fn caller<S, C>(app: &App<S, C>, headers: &HeaderMap, scope: Scope) -> Result<By, Response> {
    // One set of credentials: a second Authorization header is refused,
    // so no front end and router can read different ones.
    let signed_in = if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        Err(SignInRefused::Malformed)
    } else {
        app.auth.sign_in_for(headers, scope)
    };
    signed_in.map_err(|why| match why {
        SignInRefused::Malformed => outcome(
            &gp_fhir::BAD_REQUEST,
            "The request's token is not valid (its claims break the interface's rules).",
        ),
        _ => outcome(&gp_fhir::ACCESS_DENIED, "Sign in to use this service."),
    })
}

/// The patient the asker acts for: for the patient-facing requests that
/// name no patient (renewals).
fn speaker(by: &By) -> Result<PatientId, Response> {
    by.actor.speaks_for().ok_or_else(|| {
        outcome(
            &gp_fhir::ACCESS_DENIED,
            "Renewals are asked for by the patient or their proxy.",
        )
    })
}

/// GP Connect's `searchFilter` parameters: the consumer's ODS code and
/// organisation type (`system|code`); filters of other systems are ignored,
/// as GP Connect requires. A code given twice differently, or one that is
/// not a code, is 422 `INVALID_PARAMETER`.
fn search_filter(query: &[(String, String)]) -> Result<OrganisationFilter, Response> {
    let mut filter = OrganisationFilter::default();
    for (_, v) in query.iter().filter(|(k, _)| k == "searchFilter") {
        let Some((system, code)) = v.split_once('|') else {
            return Err(bad_parameter("searchFilter is system|code"));
        };
        if system == appointments::ODS_SYSTEM {
            let ods =
                OdsCode::parse(code).map_err(|e| bad_parameter(&format!("searchFilter: {e}")))?;
            if filter.ods.replace(ods).is_some_and(|o| o != ods) {
                return Err(bad_parameter("searchFilter names two ODS codes"));
            }
        } else if system == gp_core::ORGANISATION_TYPE_SYSTEM {
            let kind = OrganisationType::parse(code)
                .map_err(|e| bad_parameter(&format!("searchFilter: {e}")))?;
            if filter.kind.replace(kind).is_some_and(|k| k != kind) {
                return Err(bad_parameter("searchFilter names two organisation types"));
            }
        }
    }
    Ok(filter)
}

/// The parameters of a search for free slots, as GP Connect sends them
/// (`start`, `end` and `status` once each; `_include` and `searchFilter`
/// may repeat).
struct SlotSearch {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

fn bad_parameter(message: &str) -> Response {
    outcome(&gp_fhir::INVALID_PARAMETER, message)
}

/// The one value of a parameter that may appear once.
fn once<'q>(query: &'q [(String, String)], name: &str) -> Result<Option<&'q str>, Response> {
    let mut values = query.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
    let first = values.next();
    if values.next().is_some() {
        return Err(bad_parameter(&format!("{name} may be given only once")));
    }
    Ok(first.map(String::as_str))
}

/// A required parameter that is not there: 400 `BAD_REQUEST`, as GP
/// Connect's provider tests expect.
fn missing_parameter(message: &str) -> Response {
    outcome(&gp_fhir::BAD_REQUEST, message)
}

/// `start=ge…` or `end=le…`: a date (`YYYY-MM-DD`, the start of that UK
/// day for `start`, the end of it for `end`) or a dateTime with its offset
/// (`YYYY-MM-DDThh:mm:ss+hh:mm`). A `+` sent unencoded arrives as a space
/// and is read as `+`. Absent: 400; anything else wrong: 422.
fn bound(query: &[(String, String)], name: &str, prefix: &str) -> Result<DateTime<Utc>, Response> {
    let bad = || {
        bad_parameter(&format!(
            "{name} must be {prefix}YYYY-MM-DD or {prefix}YYYY-MM-DDThh:mm:ss+hh:mm"
        ))
    };
    let v = once(query, name)?.ok_or_else(|| missing_parameter(&format!("{name} is required")))?;
    let text = v.strip_prefix(prefix).ok_or_else(bad)?;
    let out_of_range = || bad_parameter(&format!("{name} must be in the years 1900 to 2200"));
    if text.len() == 10 {
        let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad())?;
        let date = gp_core::typed_date(text).ok_or_else(|| {
            if gp_core::TYPED_YEARS.contains(&chrono::Datelike::year(&date)) {
                bad()
            } else {
                out_of_range()
            }
        })?;
        let day = if prefix == "le" {
            date.checked_add_signed(Duration::days(1))
                .ok_or_else(out_of_range)?
        } else {
            date
        };
        return Ok(gp_core::local_to_utc_lenient(day, NaiveTime::MIN));
    }
    let text = text.replace(' ', "+");
    let at = DateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%:z").map_err(|_| bad())?;
    if !gp_core::TYPED_YEARS.contains(&chrono::Datelike::year(&at)) {
        return Err(out_of_range());
    }
    Ok(at.with_timezone(&Utc))
}

impl SlotSearch {
    /// Reads and checks the parameters: `status`, `start`, `end` and
    /// `_include=Slot:schedule` are required (400 without them, as GP
    /// Connect's provider tests expect); `status` must be `free` (422).
    fn read(query: &[(String, String)]) -> Result<Self, Response> {
        match once(query, "status")? {
            None => return Err(missing_parameter("status=free is required")),
            Some("free") => {}
            Some(_) => return Err(bad_parameter("status must be free")),
        }
        if !query
            .iter()
            .any(|(k, v)| k == "_include" && v == "Slot:schedule")
        {
            return Err(missing_parameter("_include=Slot:schedule is required"));
        }
        let from = bound(query, "start", "ge")?;
        let to = bound(query, "end", "le")?;
        Ok(Self { from, to })
    }
}

async fn search<S, C>(
    State(app): State<Shared<S, C>>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Handled
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    let by = caller(&app, &headers, Scope::OrganizationRead)?;
    let handled = search_as(&app, &by, &query).await;
    audited(&app, &by, Action::BookAppointment, handled).await
}

async fn search_as<S, C>(app: &App<S, C>, by: &By, query: &[(String, String)]) -> Handled
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    let by = *by;
    let wanted = SlotSearch::read(query)?;
    let mut span = SearchQuery::between(wanted.from, wanted.to);
    let slots = match by.actor.speaks_for() {
        Some(patient) => done(app.practice.search(&by, patient, span).await)?,
        None => {
            span.organisation_filter = search_filter(query)?;
            done(app.practice.search_slots(&by, span).await)?
        }
    };
    // Only slots wholly inside the range: one that starts inside it but
    // ends after `end` is not returned.
    let slots: Vec<_> = slots
        .into_iter()
        .filter(|s| s.period.end() <= wanted.to)
        .collect();
    let mut resources: Vec<Value> = slots.iter().map(|s| appointments::slot(s, false)).collect();
    // The clinicians, each read once: their job roles go on their
    // schedules, and they are included when asked for.
    let mut clinicians = std::collections::BTreeMap::new();
    for s in &slots {
        if let std::collections::btree_map::Entry::Vacant(e) = clinicians.entry(s.clinician) {
            e.insert(staff_member(app, s.clinician).await?);
        }
    }
    let site = app.site.as_ref();
    let mut seen = std::collections::BTreeSet::new();
    for s in &slots {
        if seen.insert(s.session) {
            let role = clinicians
                .get(&s.clinician)
                .and_then(|m| m.as_ref())
                .and_then(|m| m.job_role.as_ref());
            resources.push(appointments::with_practitioner_role(
                appointments::schedule_of_slot(s, site),
                role,
            ));
        }
    }
    let recurse = |v: &str| query.iter().any(|(k, x)| k == "_include:recurse" && x == v);
    if recurse("Schedule:actor:Practitioner") {
        resources.extend(
            clinicians
                .values()
                .flatten()
                .map(appointments::practitioner),
        );
    }
    if let (Some(site), false) = (site, slots.is_empty()) {
        if recurse("Schedule:actor:Location") {
            // Each surgery the slots are held at, once.
            let mut surgeries = std::collections::BTreeSet::new();
            for s in &slots {
                if let Some((code, _)) = site.surgery(s.site) {
                    if surgeries.insert(code) {
                        resources.extend(appointments::location_at(site, s.site));
                    }
                }
            }
        }
        resources.push(appointments::organization(site));
    }
    Ok(fhir(StatusCode::OK, &appointments::searchset(resources)))
}

/// The member of staff `id`, if stored.
async fn staff_member<S, C>(app: &App<S, C>, id: StaffId) -> Result<Option<StaffMember>, Response>
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    BookingStore::staff_member(app.practice.store().as_ref(), id)
        .await
        .map_err(|e| failure(&e.into()))
}

/// A booking as the `Appointment` it is: its slot, and the slots of the
/// bookings joined to it (an appointment of several adjacent slots).
async fn appointment_of<S: PracticeStore>(store: &S, b: &Booking) -> Result<Value, Response> {
    let all = BookingStore::bookings_for_patient(store, b.patient)
        .await
        .map_err(|e| failure(&e.into()))?;
    appointment_among(store, b, &all).await
}

/// Like [`appointment_of`], with the patient's bookings already read.
async fn appointment_among<S: PracticeStore>(
    store: &S,
    b: &Booking,
    all: &[Booking],
) -> Result<Value, Response> {
    let gone = || outcome(&not_found(), "The appointment's slot is gone.");
    let mut ids = vec![b.slot];
    ids.extend(
        all.iter()
            .filter(|j| j.joined_to == Some(b.id) && j.is_live() == b.is_live())
            .map(|j| j.slot),
    );
    let mut slots = Vec::with_capacity(ids.len());
    for id in ids {
        match BookingStore::slot(store, id).await {
            Ok(Some(state)) => slots.push(state.slot),
            Ok(None) => return Err(gone()),
            Err(e) => return Err(failure(&e.into())),
        }
    }
    slots.sort_by_key(|s| (s.start(), s.id));
    let role = match slots.first() {
        Some(first) => BookingStore::staff_member(store, first.clinician)
            .await
            .map_err(|e| failure(&e.into()))?
            .and_then(|m| m.job_role),
        None => None,
    };
    Ok(appointments::with_practitioner_role(
        appointments::appointment_of_slots(b, &slots, b.version()),
        role.as_ref(),
    ))
}

fn with_etag(mut r: Response, v: u64) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!("W/\"{v}\"")) {
        r.headers_mut().insert(header::ETAG, value);
    }
    r
}

fn body_or_reject(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Response> {
    body.map_err(|e| {
        let error = GpcError {
            http: e.status().as_u16(),
            ..gp_fhir::BAD_REQUEST
        };
        outcome(&error, &format!("The request body was not taken: {e}"))
    })
}

async fn book<S, C>(
    State(app): State<Shared<S, C>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Handled
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    let by = caller(&app, &headers, Scope::PatientWrite)?;
    let handled = book_as(&app, &by, body).await;
    preferred(
        &headers,
        audited(&app, &by, Action::BookAppointment, handled).await,
    )
}

/// A successful create or update as the client prefers it (FHIR's
/// `Prefer` header): with `return=minimal`, the status and headers
/// (`Location`, `ETag`) without the resource; otherwise the resource.
/// Refusals always carry their `OperationOutcome`.
fn preferred(headers: &HeaderMap, handled: Handled) -> Handled {
    let minimal = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("return=minimal"));
    match handled {
        Ok(r) if minimal && r.status().is_success() => {
            let (mut parts, _) = r.into_parts();
            parts.headers.remove(header::CONTENT_TYPE);
            parts.headers.remove(header::CONTENT_LENGTH);
            Ok(Response::from_parts(parts, axum::body::Body::empty()))
        }
        other => other,
    }
}

async fn book_as<S, C>(app: &App<S, C>, by: &By, body: Result<Bytes, BytesRejection>) -> Handled
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    let body = body_or_reject(body)?;
    let request = appointments::read_appointment(&body).map_err(unread)?;
    // Another organisation books as itself: GP Connect's booking
    // organisation must be there and be the organisation signed in.
    let organisation_contact = match by.actor {
        Actor::Organisation { ods, kind, .. } => {
            let named = request.booking_organisation.as_ref().ok_or_else(|| {
                outcome(
                    &gp_fhir::INVALID_RESOURCE,
                    "An organisation's booking names the booking organisation (the BookingOrganisation extension).",
                )
            })?;
            if named.ods != ods || named.kind.is_some_and(|k| k != kind) {
                return Err(outcome(
                    &gp_fhir::INVALID_RESOURCE,
                    "The booking organisation must be the organisation making the request.",
                ));
            }
            Some(named.contact.clone())
        }
        _ => None,
    };
    // One slot, or several adjacent ones in one appointment.
    let Some((&slot, adjacent)) = request.slots.split_first() else {
        return Err(outcome(&gp_fhir::INVALID_RESOURCE, "Name a slot to book."));
    };
    // A start or end the consumer shows must be the slots' own: a patient
    // is never told another time than the one booked.
    if request.start.is_some() || request.end.is_some() {
        let mut times = Vec::new();
        for id in &request.slots {
            if let Ok(Some(state)) = BookingStore::slot(app.practice.store().as_ref(), *id).await {
                times.push((state.slot.start(), state.slot.period.end()));
            }
        }
        let first = times.iter().map(|t| t.0).min();
        let last = times.iter().map(|t| t.1).max();
        if times.len() == request.slots.len()
            && (request.start.is_some_and(|s| Some(s) != first)
                || request.end.is_some_and(|e| Some(e) != last))
        {
            return Err(outcome(
                &gp_fhir::INVALID_RESOURCE,
                "Appointment.start and end must be the slots' own start and end.",
            ));
        }
    }
    let book = BookRequest {
        actor: by.actor,
        channel: by.channel,
        patient: request.patient,
        slot,
        description: request.description,
        comment: request.comment,
        holding_limit_override: None,
        organisation_contact,
        adjacent: adjacent.to_vec(),
    };
    let b = done(app.practice.book(&book).await)?;
    let a = appointment_of(app.practice.store().as_ref(), &b).await?;
    let mut r = with_etag(fhir(StatusCode::CREATED, &a), b.version());
    if let Ok(location) = HeaderValue::from_str(&format!("Appointment/{}", b.id)) {
        r.headers_mut().insert(header::LOCATION, location);
    }
    Ok(r)
}

/// Booking `id`, read through the door: among the appointments of the
/// patient a patient or proxy acts for; for another organisation (or
/// staff), among the appointments of the booking's patient, which the door
/// authorizes it to see.
async fn booking_for<S, C>(app: &App<S, C>, by: &By, id: &str) -> Result<Booking, Response>
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    let missing = || outcome(&not_found(), "No such appointment.");
    let id: BookingId = id.parse().map_err(|_| missing())?;
    let patient = match by.actor.speaks_for() {
        Some(p) => p,
        None => match BookingStore::booking(app.practice.store().as_ref(), id).await {
            Ok(Some(b)) => b.patient,
            Ok(None) => return Err(missing()),
            Err(e) => return Err(failure(&e.into())),
        },
    };
    let all = done(app.practice.appointments(by, patient).await)?;
    all.into_iter()
        .find(|b| b.id == id && b.joined_to.is_none())
        .ok_or_else(missing)
}

/// The version a change is made against: the one `If-Match` names
/// (`W/"3"` or `"3"`), which must be the appointment's current version;
/// without `If-Match` (or with `*`), the `meta.versionId` of the
/// appointment sent, when it has one, which must be current too (so a
/// consumer working from an old copy never overwrites a newer change), or
/// else the version just read, so the door still commits only if nothing
/// changed meanwhile. A version that is not the current one, an
/// `If-Match` that names no version, or several `If-Match` headers, is 409
/// `FHIR_CONSTRAINT_VIOLATION`, as GP Connect's provider tests expect.
fn if_match(headers: &HeaderMap, body: &[u8], b: &Booking) -> Result<u64, Response> {
    let conflict = |why: &str| Err(outcome(&gp_fhir::FHIR_CONSTRAINT_VIOLATION, why));
    let mut values = headers.get_all(header::IF_MATCH).iter();
    let (value, more) = (values.next(), values.next().is_some());
    if more {
        return conflict("Send one If-Match, naming the version the change is made against.");
    }
    let value = value.map(|v| v.to_str().map(str::trim).unwrap_or(""));
    let named = match value {
        None | Some("*") => match sent_version(body) {
            Sent::None => return Ok(b.version()),
            Sent::Version(v) => Some(v),
            Sent::Unreadable => None,
        },
        Some(value) => value
            .strip_prefix("W/")
            .unwrap_or(value)
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .and_then(version_number),
    };
    match named {
        Some(v) if v == b.version() => Ok(v),
        Some(_) => conflict("The appointment has changed since it was read (If-Match)."),
        None => conflict("If-Match names no version of this appointment (W/\"<version>\")."),
    }
}

/// A version as written: digits only.
fn version_number(v: &str) -> Option<u64> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// The `meta.versionId` of a resource sent.
enum Sent {
    None,
    Version(u64),
    Unreadable,
}

fn sent_version(body: &[u8]) -> Sent {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        // The body's own reading answers for it.
        return Sent::None;
    };
    match value.get("meta").and_then(|m| m.get("versionId")) {
        None => Sent::None,
        Some(v) => match v.as_str().and_then(version_number) {
            Some(n) => Sent::Version(n),
            None => Sent::Unreadable,
        },
    }
}

/// The path's id, or 404.
fn path_id(id: Result<Path<String>, PathRejection>) -> Result<String, Response> {
    id.map(|Path(id)| id)
        .map_err(|_| outcome(&not_found(), "No such resource."))
}

async fn read<S, C>(
    State(app): State<Shared<S, C>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Handled
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    let by = caller(&app, &headers, Scope::PatientRead)?;
    let handled = async {
        let id = path_id(id)?;
        let b = booking_for(&app, &by, &id).await?;
        let a = appointment_of(app.practice.store().as_ref(), &b).await?;
        Ok(with_etag(fhir(StatusCode::OK, &a), b.version()))
    }
    .await;
    audited(&app, &by, Action::ViewAppointments, handled).await
}

/// `PUT /Appointment/{id}`: a cancellation (status `cancelled`, with its
/// reason) or an amendment of the description and comment (status
/// `booked`; staff and other organisations), against the version `If-Match`
/// names.
async fn change<S, C>(
    State(app): State<Shared<S, C>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Handled
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    let by = caller(&app, &headers, Scope::PatientWrite)?;
    // What the change is, for the record of a refusal before it is read.
    let action = match &body {
        Ok(bytes) if is_cancellation(bytes) => Action::CancelAppointment,
        _ => Action::AmendAppointment,
    };
    let handled = change_as(&app, &by, &headers, id, body).await;
    preferred(&headers, audited(&app, &by, action, handled).await)
}

async fn change_as<S, C>(
    app: &App<S, C>,
    by: &By,
    headers: &HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Handled
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    let id = path_id(id)?;
    let body = body_or_reject(body)?;
    let b = booking_for(app, by, &id).await?;
    let version = if_match(headers, &body, &b).map_err(|r| about_booking(r, &b))?;
    let current = appointment_of(app.practice.store().as_ref(), &b).await?;
    let change = appointments::read_change(&body, &id, &current)
        .map_err(|e| about_booking(unread(e), &b))?;
    let changed = match change {
        AppointmentChange::Cancel { reason } => {
            let request = CancelRequest {
                actor: by.actor,
                channel: by.channel,
                booking: b.id,
                reason,
                version: Some(version),
            };
            done(app.practice.cancel(&request).await)?
        }
        AppointmentChange::Amend {
            description,
            comment,
        } => {
            let request = AmendRequest {
                actor: by.actor,
                channel: by.channel,
                booking: b.id,
                description,
                comment,
                version: Some(version),
            };
            done(app.practice.amend(&request).await)?
        }
    };
    let a = appointment_of(app.practice.store().as_ref(), &changed).await?;
    Ok(with_etag(fhir(StatusCode::OK, &a), changed.version()))
}

/// Whether a `PUT` body asks to cancel (status `cancelled`), as far as it
/// can be read.
fn is_cancellation(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .is_some_and(|v| v.get("status").and_then(Value::as_str) == Some("cancelled"))
}

/// The patient the path names (`/Patient/{id}/...`).
fn path_patient(id: Result<Path<String>, PathRejection>) -> Result<PatientId, Response> {
    path_id(id)?
        .parse()
        .map_err(|_| outcome(&gp_fhir::PATIENT_NOT_FOUND, "No such patient."))
}

async fn patient_appointments<S, C>(
    State(app): State<Shared<S, C>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Handled
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    let by = caller(&app, &headers, Scope::PatientRead)?;
    let handled = async {
        let patient = path_patient(id)?;
        let all = done(app.practice.appointments(&by, patient).await)?;
        let mut resources = Vec::new();
        // A further slot's booking is part of its appointment, not one of its own.
        for b in all.iter().filter(|b| b.joined_to.is_none()) {
            resources.push(appointment_among(app.practice.store().as_ref(), b, &all).await?);
        }
        Ok(fhir(StatusCode::OK, &appointments::searchset(resources)))
    }
    .await;
    audited(&app, &by, Action::ViewAppointments, handled).await
}

async fn medication_requests<S, C>(
    State(app): State<Shared<S, C>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Handled
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    let patient = path_patient(id);
    repeats_searchset(
        &app,
        &headers,
        |_| patient,
        |record| {
            record
                .items
                .iter()
                .map(prescriptions::medication_request)
                .collect()
        },
    )
    .await
}

/// What `resources` makes of the repeat record of the patient `patient`
/// names for the asker, as a searchset, the request recorded either way.
async fn repeats_searchset<S, C>(
    app: &App<S, C>,
    headers: &HeaderMap,
    patient: impl FnOnce(&By) -> Result<PatientId, Response>,
    resources: impl FnOnce(&gp_prescribing::PatientRecord) -> Vec<Value>,
) -> Handled
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    let by = caller(app, headers, Scope::PatientRead)?;
    let handled = async {
        let patient = patient(&by)?;
        let record = done(app.practice.repeats(&by, patient).await)?;
        Ok(fhir(
            StatusCode::OK,
            &appointments::searchset(resources(&record)),
        ))
    }
    .await;
    audited(app, &by, Action::ViewRepeats, handled).await
}

async fn renew<S, C>(
    State(app): State<Shared<S, C>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Handled
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    let by = caller(&app, &headers, Scope::PatientWrite)?;
    let handled = renew_as(&app, &by, &headers, body).await;
    preferred(
        &headers,
        audited(&app, &by, Action::OrderRepeats, handled).await,
    )
}

async fn renew_as<S, C>(
    app: &App<S, C>,
    by: &By,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Handled
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    let by = *by;
    speaker(&by)?;
    let body = body_or_reject(body)?;
    let key = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(|v| (format!("{:?}", by.actor), v.to_owned()));
    let digest = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        body.hash(&mut h);
        h.finish()
    };
    if let Some(key) = &key {
        let seen = app.tasks.lock().ok().and_then(|m| m.get(key).cloned());
        match seen {
            Some(Remembered::Pending) => return Err(in_progress()),
            Some(Remembered::Done {
                digest: d,
                patient,
                task,
                ..
            }) => {
                if d != digest {
                    return Err(outcome(
                        &gp_fhir::INVALID_RESOURCE,
                        "This X-Request-ID was used for a different request.",
                    ));
                }
                // The same request again: answered as it was, once the
                // asker is still allowed (a proxy revoked since gets 403,
                // recorded).
                done(
                    app.practice
                        .authorize(&by, patient, gp_access::Action::ViewRepeats)
                        .await,
                )?;
                return Ok(fhir(StatusCode::CREATED, &task));
            }
            None => {}
        }
    }
    let renewal = prescriptions::read_task(&body).map_err(unread)?;
    let order = OrderRequest::new(
        by.actor,
        RequestChannel::Online,
        renewal.patient,
        vec![renewal.item],
        renewal.note.as_deref(),
    )
    .map_err(|e| outcome(&gp_fhir::INVALID_RESOURCE, &e.to_string()))?;
    // Reserve the key: a second request with it, meanwhile, is not made.
    if let Some(key) = &key {
        if let Ok(mut m) = app.tasks.lock() {
            if m.contains_key(key) {
                return Err(in_progress());
            }
            m.insert(key.clone(), Remembered::Pending);
        }
    }
    let (code, answer) = match app.practice.order(&order).await {
        Ok(Answer::Done(ordered)) => match (
            ordered.refused.first(),
            prescriptions::tasks(&ordered.request).into_iter().next(),
        ) {
            (Some(line), _) => {
                let e = error_for(gp_core::Reason::code(&line.reason));
                (status(&e), operation_outcome(&e, &line.reason.to_string()))
            }
            (None, Some(task)) => (StatusCode::CREATED, task),
            (None, None) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                operation_outcome(&gp_fhir::INTERNAL_SERVER_ERROR, "No task was made."),
            ),
        },
        Ok(Answer::Refused(r)) => {
            let e = error_for(r.code());
            (status(&e), operation_outcome(&e, &r.to_string()))
        }
        Err(e) => {
            if let (Some(key), Ok(mut m)) = (&key, app.tasks.lock()) {
                m.remove(key);
            }
            return Err(failure(&e));
        }
    };
    if let (Some(key), Ok(mut m)) = (key, app.tasks.lock()) {
        if code == StatusCode::CREATED {
            // Only what was made is remembered, at most 100 per asker
            // (the oldest forgotten first), so nobody fills it for others
            // and a refusal never outlives the reason for it.
            let mine: Vec<((String, String), u64)> = m
                .iter()
                .filter(|((who, _), _)| *who == key.0)
                .map(|(k, r)| {
                    let seq = match r {
                        Remembered::Done { seq, .. } => *seq,
                        Remembered::Pending => u64::MAX,
                    };
                    (k.clone(), seq)
                })
                .collect();
            if mine.len() > REMEMBERED_PER_ASKER {
                if let Some((oldest, _)) = mine.iter().min_by_key(|(_, seq)| *seq) {
                    m.remove(oldest);
                }
            }
            let seq = app.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            m.insert(
                key,
                Remembered::Done {
                    digest,
                    patient: renewal.patient,
                    task: answer.clone(),
                    seq,
                },
            );
        } else {
            m.remove(&key);
        }
    }
    Ok(fhir(code, &answer))
}

async fn renewals<S, C>(State(app): State<Shared<S, C>>, headers: HeaderMap) -> Handled
where
    S: PracticeStore + Send + Sync,
    C: Clock + Send + Sync + 'static,
{
    repeats_searchset(&app, &headers, speaker, |record| {
        record
            .requests
            .iter()
            .flat_map(prescriptions::tasks)
            .collect()
    })
    .await
}
