//! NHS login ID tokens verified against a JWKS: only a token signed by a
//! configured key, from the configured issuer, for this client, unexpired,
//! proofed to P9 and for a linked NHS number stands for a patient.
//!
//! The key below is a test key made for this file, never used elsewhere.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderMap, HeaderValue};
use gp_access::By;
use gp_core::PatientId;
use gp_http::{Authenticate, NhsLogin};
use gp_testkit::fixtures::nhs_number;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;

const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDebn1HWLI2tALe
FZR3q0ulRGIw5JUPdMkWD7i+yVDqwF3/Uozth2DPbB+e++0FLs7jZMEyMD6uY+1f
Px9m2nAyJ6z6rU/6x9Ss10xWHIVok4RQmvLKsM1M/VRgzyoEDLGyMnXdu+yl23nx
54Snkj3W0G3QtP+vNNRUy6orHQaXWJdlik0Nw9tfJDB57S9odV4qP6wToYB75FqA
M149jU53jidhwhTkQz+Qy48W2WpwFN2ZeYD8aLs9fGdfawKwYM7UCSSAXf/3lngP
78hwX1q5/7pHbjhT/C10eQWR/+etFKi0nUFJDjY73iF8T4bt6Ya6tenG3+cvwJL9
iwA5UHddAgMBAAECggEAAL8mNIMbtgtMpyozYWN10Yw1OCzMQ00FD8nluN48I02a
Ay1nw7RcotWeFY6K8SWDFEhWTbDTxQoY1eUEWfgJwGFZt021owXgtOPUIcXevMch
/pNGlV+akNOY4OpRHcpdHlgFBUWIOdZOxn0ceOOIyZvRgo3Y/eGThOVaIOLsDr3/
yQkD44GGiaxPTLJcZW2DasdfstvXKhhPJ6frrTuj4mZIzj0Z+SsWtHMhV73BakbD
D4oiIGrwDUW8q4qZfbd3uBZjCifpFo7btC5TtAeMJWcjJROsHJsfuftCQxGP5WL+
2+ihEOPXgrGigPqsoY88ItpMF1kq7dcbJAicGDMMgQKBgQD/Rq0arpAGo69SjmpF
kmH+eAAmuXOcmU3zyyy4/j/OhW2nQ1pilL/t81EwFIx5WkJ7+LsdubA/YT0O7crL
B8DtYNDkIj0lTgEjEH31uSMfAXqoer9/XMe+18JZmo3aoy5vuL/9OAATVfzlhvUa
lzIaRv1U4WAXljDVDzrDSCngBQKBgQDfD/gMh3Kdz2ptCik0jgkU4jNUNXqpx0XR
zV/bwmzIC4fTSrs7Tkb1D7TLYHDVHuzAsfj1PNPdXH4/rvwbXQlDtpZbqdKbR+Z7
WiwjwWqTDSKvzg8Vu5XKarG74GCjNRR7bCtCTIIIrLFLiO1+r08M7o/rawQkiTrR
jNu5rFRReQKBgEjK3pG9NVSvWE8yTRuJomft0B06xLzi+leKmDYoSgmaAqqvihaS
VCiGOaB8O5JfKpYvVywixx9Lmx2msS00CM+ny+lB2i3JEInvKfvnzxwIT/G7DuBC
lLLW05S5fbnazmMNS7HpRhw9aOAKm9n5Q1A67gJGQiB3s3UN4rPM4CQBAoGBALPa
glxH0gigNuWYbcTsSTJHeK+LN04xWIBjocjlqSRa97dL6E9XPCtX8KSTLCcK+kYc
uemyk/lGHJ1oj+nYSCIK1I0wDpoZjSMkf7aMu0u6KZ+q+8rAJ3TANnKP5htyLwOd
IfwhCC/KXmHTE/sziv+YUv60mPCEnaJcesXox0uxAoGBAJNHUHNfjJ5iG4ub+ngS
bXhcqqj8vXnpw7vPJ4Q0F1GHgPcJp1iBfHmJ90+7VGjIymiumAkbRqrSTUpJOHrG
Yao3NrRdhhzlyl/nPYSvl0Nd7JFO/vrn0RKACCw8mgp3kw3pEqv6DSSt7F21jrfB
3FOYFsRFi66AF87ryLJD9FCy
-----END PRIVATE KEY-----";
const TEST_N: &str = "3m59R1iyNrQC3hWUd6tLpURiMOSVD3TJFg-4vslQ6sBd_1KM7Ydgz2wfnvvtBS7O42TBMjA-rmPtXz8fZtpwMies-q1P-sfUrNdMVhyFaJOEUJryyrDNTP1UYM8qBAyxsjJ13bvspdt58eeEp5I91tBt0LT_rzTUVMuqKx0Gl1iXZYpNDcPbXyQwee0vaHVeKj-sE6GAe-RagDNePY1Od44nYcIU5EM_kMuPFtlqcBTdmXmA_Gi7PXxnX2sCsGDO1AkkgF3_95Z4D-_IcF9auf-6R244U_wtdHkFkf_nrRSotJ1BSQ42O94hfE-G7emGurXpxt_nL8CS_YsAOVB3XQ";
const ISSUER: &str = "https://auth.sandpit.signin.nhs.uk";
const CLIENT: &str = "gp-online-test-client";

fn login(patient: PatientId) -> NhsLogin {
    let jwks = json!({"keys": [{"kty": "RSA", "kid": "test-key-1", "use": "sig", "alg": "RS256", "n": TEST_N, "e": "AQAB"}]});
    let linked = nhs_number(1);
    NhsLogin::new(&jwks.to_string(), ISSUER, CLIENT, move |nhs| {
        (*nhs == linked).then_some(patient)
    })
    .expect("a JWKS")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn token(alg: Algorithm, kid: &str, claims: serde_json::Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(TEST_KEY.as_bytes()).expect("the test key"),
    )
    .expect("a token")
}

fn claims() -> serde_json::Value {
    json!({
        "iss": ISSUER,
        "aud": CLIENT,
        "sub": "49f470a1-cc52-49b7-beba-0f9cec937c46",
        "exp": now() + 600,
        "iat": now(),
        "nhs_number": nhs_number(1).digits(),
        "identity_proofing_level": "P9",
    })
}

fn headers(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(header::AUTHORIZATION, v);
    }
    h
}

#[test]
fn only_a_good_token_for_a_linked_patient_signs_in() {
    let patient = PatientId::from_uuid(gp_core::uuid::Uuid::from_u128(77));
    let auth = login(patient);
    let good = token(Algorithm::RS256, "test-key-1", claims());
    assert_eq!(
        auth.authenticate(&headers(&format!("Bearer {good}"))),
        Some(By::patient_online(patient))
    );
    let rs512 = token(Algorithm::RS512, "test-key-1", claims());
    assert_eq!(
        auth.authenticate(&headers(&format!("Bearer {rs512}"))),
        Some(By::patient_online(patient))
    );

    let with = |k: &str, v: serde_json::Value| {
        let mut c = claims();
        c[k] = v;
        c
    };
    let without = |k: &str| {
        let mut c = claims();
        if let Some(o) = c.as_object_mut() {
            o.remove(k);
        }
        c
    };
    let refused = [
        (
            "expired",
            token(
                Algorithm::RS256,
                "test-key-1",
                with("exp", json!(now() - 1)),
            ),
        ),
        (
            "another issuer",
            token(
                Algorithm::RS256,
                "test-key-1",
                with("iss", json!("https://evil.example")),
            ),
        ),
        (
            "another client",
            token(
                Algorithm::RS256,
                "test-key-1",
                with("aud", json!("someone-else")),
            ),
        ),
        (
            "proofed to P5",
            token(
                Algorithm::RS256,
                "test-key-1",
                with("identity_proofing_level", json!("P5")),
            ),
        ),
        (
            "no expiry",
            token(Algorithm::RS256, "test-key-1", without("exp")),
        ),
        (
            "an NHS number not linked",
            token(
                Algorithm::RS256,
                "test-key-1",
                with("nhs_number", json!(nhs_number(2).digits())),
            ),
        ),
        (
            "not an NHS number",
            token(
                Algorithm::RS256,
                "test-key-1",
                with("nhs_number", json!("1234567890")),
            ),
        ),
        (
            "an unknown key",
            token(Algorithm::RS256, "other-key", claims()),
        ),
    ];
    for (why, t) in refused {
        assert_eq!(
            auth.authenticate(&headers(&format!("Bearer {t}"))),
            None,
            "{why}"
        );
    }
    // A signature that does not match, an unsigned token, a shared-secret one.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = token(
        Algorithm::RS256,
        "test-key-1",
        with("nhs_number", json!(nhs_number(2).digits())),
    )
    .split('.')
    .nth(1)
    .unwrap_or_default()
    .to_owned();
    let forged = parts.join(".");
    assert_eq!(
        auth.authenticate(&headers(&format!("Bearer {forged}"))),
        None,
        "forged"
    );
    let unsigned = format!(
        "eyJhbGciOiJub25lIiwia2lkIjoidGVzdC1rZXktMSJ9.{}.",
        good.split('.').nth(1).unwrap_or_default()
    );
    assert_eq!(
        auth.authenticate(&headers(&format!("Bearer {unsigned}"))),
        None,
        "alg none"
    );
    let hs = encode(
        &Header {
            kid: Some("test-key-1".into()),
            ..Header::new(Algorithm::HS256)
        },
        &claims(),
        &EncodingKey::from_secret(TEST_N.as_bytes()),
    )
    .expect("a token");
    assert_eq!(
        auth.authenticate(&headers(&format!("Bearer {hs}"))),
        None,
        "HS256 with the public key as secret"
    );
    assert_eq!(auth.authenticate(&headers(&good)), None, "no Bearer");
    assert_eq!(auth.authenticate(&HeaderMap::new()), None, "no header");
    assert!(NhsLogin::new("not json", ISSUER, CLIENT, |_| None).is_err());
}
