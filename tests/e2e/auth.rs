//! Token verification end to end, with real signatures: HS256/384/512 with the shared secret;
//! RS256 and ES256 from a JWKS file and from a JWKS URL served by a small HTTP server started
//! here; key rotation and revocation without a restart; the unknown-`kid` refetch cooldown;
//! audience and issuer; algorithm pinning. Every bad token is HTTP 401 UNAUTHENTICATED with no
//! `data`, never a silent downgrade to anon.
//!
//! RSA and EC keys are the test-only fixtures in `tests/fixtures/jwt`.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::response::IntoResponse;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use rowgate::config::Settings;
use rowgate_tests::demo::{ACME, BOB, GLOBEX};
use rowgate_tests::{Backend, TEST_SECRET, TestApp, TestOptions, backends, error_code};
use serde_json::{Value, json};

/// A query whose answer shows who is asking: a refused token must not get this far.
const ME: &str = "{ me { userId role } }";
const ISSUER: &str = "https://issuer.test/auth/v1";

// ---------------------------------------------------------------------------------------------
// Keys and tokens

/// A signing key of the tests, with the public JWK the issuer would publish for it.
struct TestKey {
    kid: String,
    algorithm: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/jwt")
        .join(name)
}

fn test_key(file: &str, kid: &str) -> TestKey {
    let pem = std::fs::read(fixture(file)).expect("test key fixture");
    let (algorithm, encoding) = if file.starts_with("ec-") {
        (
            Algorithm::ES256,
            EncodingKey::from_ec_pem(&pem).expect("EC key"),
        )
    } else {
        (
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(&pem).expect("RSA key"),
        )
    };
    let mut jwk = Jwk::from_encoding_key(&encoding, algorithm).expect("public JWK");
    jwk.common.key_id = Some(kid.to_owned());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    TestKey {
        kid: kid.to_owned(),
        algorithm,
        encoding,
        jwk: serde_json::to_value(&jwk).expect("JWK as JSON"),
    }
}

fn jwks(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// Bob's claims, valid for ten minutes, with `changes` merged in (`null` removes a claim).
fn claims(changes: Value) -> Value {
    let mut claims = json!({
        "sub": BOB.to_string(),
        "role": "authenticated",
        "exp": now() + 600,
        "iat": now(),
    });
    if let (Some(map), Some(changes)) = (claims.as_object_mut(), changes.as_object()) {
        for (name, value) in changes {
            if value.is_null() {
                map.remove(name);
            } else {
                map.insert(name.clone(), value.clone());
            }
        }
    }
    claims
}

fn sign_with(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).expect("sign")
}

/// A token signed by `key`, with its `kid`.
fn sign(key: &TestKey, claims: &Value) -> String {
    let mut header = Header::new(key.algorithm);
    header.kid = Some(key.kid.clone());
    sign_with(&header, claims, &key.encoding)
}

fn sign_hmac(algorithm: Algorithm, secret: &[u8], claims: &Value) -> String {
    sign_with(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret),
    )
}

fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// An HS256 token assembled by hand around any payload bytes, correctly signed with the test
/// secret, for payloads no library would write.
fn raw_hs256_token(payload: &[u8]) -> String {
    let message = format!(
        "{}.{}",
        b64(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64(payload)
    );
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
        Algorithm::HS256,
    )
    .expect("sign");
    format!("{message}.{signature}")
}

// ---------------------------------------------------------------------------------------------
// The gateway and the issuer

/// A change to the settings of an app about to start.
type Adjust = Box<dyn Fn(&mut Settings)>;

thread_local! {
    /// The settings change of the app this thread is starting: `TestOptions` takes a plain
    /// `fn`, so what it captures travels here.
    static ADJUST: RefCell<Option<Adjust>> = RefCell::new(None);
}

fn adjust_from_thread(settings: &mut Settings) {
    ADJUST.with(|adjust| {
        if let Some(adjust) = adjust.borrow().as_ref() {
            adjust(settings);
        }
    });
}

/// Starts the gateway (demo data loaded) with the test secret and `adjust` applied.
async fn spawn(backend: Backend, adjust: impl Fn(&mut Settings) + 'static) -> TestApp {
    ADJUST.with(|slot| *slot.borrow_mut() = Some(Box::new(adjust)));
    let app = TestApp::spawn_with(
        backend,
        TestOptions {
            settings: Some(adjust_from_thread),
            ..TestOptions::default()
        },
    )
    .await;
    ADJUST.with(|slot| *slot.borrow_mut() = None);
    app
}

/// A JWKS endpoint on 127.0.0.1 that counts the requests it answers.
struct Issuer {
    url: String,
    document: Arc<Mutex<Value>>,
    hits: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
    server: tokio::task::JoinHandle<()>,
}

impl Issuer {
    async fn start(keys: &[&TestKey]) -> Self {
        let document = Arc::new(Mutex::new(jwks(keys)));
        let hits = Arc::new(AtomicUsize::new(0));
        let failing = Arc::new(AtomicBool::new(false));
        let (doc, count, fail) = (document.clone(), hits.clone(), failing.clone());
        let router = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || {
                let (doc, count, fail) = (doc.clone(), count.clone(), fail.clone());
                async move {
                    count.fetch_add(1, Ordering::SeqCst);
                    if fail.load(Ordering::SeqCst) {
                        return StatusCode::SERVICE_UNAVAILABLE.into_response();
                    }
                    let body = doc.lock().expect("document").clone();
                    axum::Json(body).into_response()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the issuer");
        let addr = listener.local_addr().expect("issuer address");
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.ok();
        });
        Self {
            url: format!("http://{addr}/.well-known/jwks.json"),
            document,
            hits,
            failing,
            server,
        }
    }

    fn publish(&self, keys: &[&TestKey]) {
        *self.document.lock().expect("document") = jwks(keys);
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

// ---------------------------------------------------------------------------------------------
// Assertions

async fn assert_accepted(app: &TestApp, token: &str, case: &str) {
    let (status, body) = app.graphql(ME, json!({}), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{} {case}: {body}", app.backend());
    assert_eq!(
        body["data"]["me"]["userId"],
        BOB.to_string(),
        "{} {case}: {body}",
        app.backend()
    );
}

async fn assert_refused(app: &TestApp, token: &str, case: &str) {
    let (status, body) = app.graphql(ME, json!({}), Some(token)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "{} {case}: {body}",
        app.backend()
    );
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{case}: {body}");
    assert!(
        body.get("data").is_none_or(Value::is_null),
        "{case}: executed anyway: {body}"
    );
}

// ---------------------------------------------------------------------------------------------
// Tests

fn supabase_tenant_claim(settings: &mut Settings) {
    settings.jwt_tenant_claim = Some("app_metadata.tenant_id".into());
}

#[tokio::test]
async fn the_tenant_claim_can_be_a_nested_supabase_claim() {
    let app = TestApp::spawn_adjusted(Backend::Sqlite, supabase_tenant_claim).await;
    let me = "{ me { userId activeTenantId } }";
    let token = |claims: Value| sign_hmac(Algorithm::HS256, TEST_SECRET.as_bytes(), &claims);
    // Deny first: a tenant bob is no member of, named where the mapping points.
    let (status, body) = app
        .graphql(
            me,
            json!({}),
            Some(&token(claims(
                json!({"app_metadata": {"tenant_id": GLOBEX.to_string()}}),
            ))),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // A top-level `tenant_id` is not the configured claim any more: it chooses nothing.
    let (_, body) = app
        .graphql(
            me,
            json!({}),
            Some(&token(claims(json!({"tenant_id": ACME.to_string()})))),
        )
        .await;
    assert!(body["data"]["me"]["activeTenantId"].is_null(), "{body}");
    // The nested claim chooses the active tenant.
    let (_, body) = app
        .graphql(
            me,
            json!({}),
            Some(&token(claims(
                json!({"app_metadata": {"tenant_id": ACME.to_string(), "provider": "email"}}),
            ))),
        )
        .await;
    assert_eq!(body["data"]["me"]["userId"], BOB.to_string(), "{body}");
    assert_eq!(
        body["data"]["me"]["activeTenantId"],
        ACME.to_string(),
        "{body}"
    );
    app.stop().await;
}

#[test]
fn a_claim_path_that_is_no_path_is_refused() {
    for bad in ["app_metadata..tenant_id", "a b", "x.y.z.a.b.c.d.e.f"] {
        let settings = Settings {
            jwt_secret: Some(TEST_SECRET.into()),
            jwt_tenant_claim: Some(bad.into()),
            data_dir: Some(std::env::temp_dir()),
            database_url: Some("postgres://u@127.0.0.1/db".into()),
            ..Settings::default()
        };
        let err = settings.resolve().expect_err(bad);
        assert_eq!(err.setting, "ROWGATE_JWT_TENANT_CLAIM", "{err}");
    }
}

#[tokio::test]
async fn hmac_tokens_are_verified_with_the_secret_and_bad_ones_are_401() {
    for backend in backends("hmac_tokens_are_verified_with_the_secret_and_bad_ones_are_401") {
        let app = TestApp::spawn(backend).await;
        let secret = TEST_SECRET.as_bytes();

        for algorithm in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let token = sign_hmac(algorithm, secret, &claims(json!({})));
            assert_accepted(&app, &token, &format!("{algorithm:?}")).await;
        }
        // Supabase's shape: `aud: authenticated` and a tenant claim are accepted as they are.
        let supabase = sign_hmac(
            Algorithm::HS256,
            secret,
            &claims(json!({ "aud": "authenticated", "tenant_id": null })),
        );
        assert_accepted(&app, &supabase, "Supabase-shaped claims").await;
        // No token at all is anon, not an error.
        let (status, body) = app.graphql(ME, json!({}), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["me"]["role"], "ANON", "{body}");

        let good = sign_hmac(Algorithm::HS256, secret, &claims(json!({})));
        let (head, rest) = good.split_once('.').expect("jwt");
        let (payload, signature) = rest.split_once('.').expect("jwt");
        let rsa = test_key("rsa-a.key.pem", "rsa-a");
        let ec = test_key("ec-a.key.pem", "ec-a");
        let mut critical = Header::new(Algorithm::HS256);
        critical.crit = Some(vec!["exp".into()]);

        let cases: Vec<(&str, String)> = vec![
            (
                "bad signature (another secret)",
                sign_hmac(
                    Algorithm::HS256,
                    b"another-secret-another-secret-another-secret",
                    &claims(json!({})),
                ),
            ),
            (
                "tampered payload",
                format!(
                    "{head}.{}.{signature}",
                    b64(br#"{"sub":"x","exp":9999999999}"#)
                ),
            ),
            (
                "expired an hour ago",
                sign_hmac(
                    Algorithm::HS256,
                    secret,
                    &claims(json!({ "exp": now() - 3600 })),
                ),
            ),
            (
                "not valid for another hour",
                sign_hmac(
                    Algorithm::HS256,
                    secret,
                    &claims(json!({ "nbf": now() + 3600 })),
                ),
            ),
            (
                "alg none",
                format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"JWT"}"#)),
            ),
            (
                "alg none with a signature",
                format!("{}.{payload}.{signature}", b64(br#"{"alg":"none"}"#)),
            ),
            (
                "alg missing",
                format!("{}.{payload}.{signature}", b64(br#"{"typ":"JWT"}"#)),
            ),
            (
                "unknown alg",
                format!("{}.{payload}.{signature}", b64(br#"{"alg":"HS1024"}"#)),
            ),
            (
                "RS256, not configured (no JWKS)",
                sign(&rsa, &claims(json!({}))),
            ),
            (
                "ES256, not configured (no JWKS)",
                sign(&ec, &claims(json!({}))),
            ),
            ("garbage", "not-a-jwt".to_owned()),
            ("two parts", format!("{head}.{payload}")),
            ("four parts", format!("{good}.{signature}")),
            (
                "payload is not JSON",
                format!("{head}.{}.{signature}", b64(b"hello")),
            ),
            ("signed payload is not JSON", raw_hs256_token(b"hello")),
            ("signed claims are a list", raw_hs256_token(b"[1,2,3]")),
            (
                "signed claims with a duplicate exp",
                raw_hs256_token(
                    format!(r#"{{"sub":"{BOB}","exp":{},"exp":"x"}}"#, now() + 600).as_bytes(),
                ),
            ),
            (
                "header is not base64url",
                format!("!!.{payload}.{signature}"),
            ),
            (
                "no exp",
                sign_hmac(Algorithm::HS256, secret, &claims(json!({ "exp": null }))),
            ),
            (
                "exp is a string",
                sign_hmac(
                    Algorithm::HS256,
                    secret,
                    &claims(json!({ "exp": "tomorrow" })),
                ),
            ),
            (
                "nbf is a string",
                sign_hmac(Algorithm::HS256, secret, &claims(json!({ "nbf": "now" }))),
            ),
            (
                "sub is a number",
                sign_hmac(Algorithm::HS256, secret, &claims(json!({ "sub": 42 }))),
            ),
            (
                "sub is not a UUID",
                sign_hmac(Algorithm::HS256, secret, &claims(json!({ "sub": "bob" }))),
            ),
            (
                "role is a list",
                sign_hmac(
                    Algorithm::HS256,
                    secret,
                    &claims(json!({ "role": ["service_role"] })),
                ),
            ),
            (
                "tenant_id is a number",
                sign_hmac(Algorithm::HS256, secret, &claims(json!({ "tenant_id": 7 }))),
            ),
            (
                "aud is a number",
                sign_hmac(Algorithm::HS256, secret, &claims(json!({ "aud": 7 }))),
            ),
            (
                "iss is an object",
                sign_hmac(
                    Algorithm::HS256,
                    secret,
                    &claims(json!({ "iss": { "url": ISSUER } })),
                ),
            ),
            (
                "unknown critical header",
                sign_with(
                    &critical,
                    &claims(json!({})),
                    &EncodingKey::from_secret(secret),
                ),
            ),
        ];
        for (case, token) in &cases {
            assert_refused(&app, token, case).await;
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn audience_and_issuer_are_enforced_when_configured() {
    for backend in backends("audience_and_issuer_are_enforced_when_configured") {
        let app = spawn(backend, |s| {
            s.jwt_audience = Some("authenticated".into());
            s.jwt_issuer = Some(ISSUER.into());
        })
        .await;
        let secret = TEST_SECRET.as_bytes();
        let token = |changes: Value| {
            let mut base = json!({ "aud": "authenticated", "iss": ISSUER });
            if let (Some(base), Some(changes)) = (base.as_object_mut(), changes.as_object()) {
                base.extend(changes.clone());
            }
            sign_hmac(Algorithm::HS256, secret, &claims(base))
        };
        assert_accepted(&app, &token(json!({})), "right audience and issuer").await;
        assert_accepted(
            &app,
            &token(json!({ "aud": ["other", "authenticated"] })),
            "audience list naming ours",
        )
        .await;
        for (case, changes) in [
            ("wrong audience", json!({ "aud": "service" })),
            ("audience list without ours", json!({ "aud": ["a", "b"] })),
            ("no audience", json!({ "aud": null })),
            (
                "wrong issuer",
                json!({ "iss": "https://evil.test/auth/v1" }),
            ),
            ("no issuer", json!({ "iss": null })),
        ] {
            assert_refused(&app, &token(changes), case).await;
        }
        app.stop().await;

        // Unconfigured, neither is checked (the default Supabase setup).
        let app = TestApp::spawn(backend).await;
        let any = sign_hmac(
            Algorithm::HS256,
            secret,
            &claims(json!({ "aud": "anything", "iss": "anyone" })),
        );
        assert_accepted(&app, &any, "audience and issuer not configured").await;
        app.stop().await;
    }
}

#[tokio::test]
async fn algorithms_are_pinned_by_configuration() {
    for backend in backends("algorithms_are_pinned_by_configuration") {
        let app = spawn(backend, |s| s.jwt_algorithms = Some("HS256".into())).await;
        let secret = TEST_SECRET.as_bytes();
        assert_accepted(
            &app,
            &sign_hmac(Algorithm::HS256, secret, &claims(json!({}))),
            "HS256 pinned",
        )
        .await;
        for algorithm in [Algorithm::HS384, Algorithm::HS512] {
            assert_refused(
                &app,
                &sign_hmac(algorithm, secret, &claims(json!({}))),
                &format!("{algorithm:?} not in ROWGATE_JWT_ALGORITHMS"),
            )
            .await;
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn rs256_and_es256_from_a_jwks_file_with_rotation() {
    for backend in backends("rs256_and_es256_from_a_jwks_file_with_rotation") {
        let rsa_a = test_key("rsa-a.key.pem", "rsa-a");
        let rsa_b = test_key("rsa-b.key.pem", "rsa-b");
        let ec_a = test_key("ec-a.key.pem", "ec-a");
        let weak = test_key("rsa-1024.key.pem", "rsa-1024");
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("jwks.json");
        std::fs::write(&file, jwks(&[&rsa_a, &ec_a, &weak]).to_string()).expect("write JWKS");
        let path = file.clone();
        // JWKS only: no HMAC secret, so HS* are not accepted at all.
        let app = spawn(backend, move |s| {
            s.jwt_secret = None;
            s.jwks_file = Some(path.clone());
            s.jwks_cooldown_secs = Some("60".into());
        })
        .await;

        assert_accepted(
            &app,
            &sign(&rsa_a, &claims(json!({}))),
            "RS256 from the file",
        )
        .await;
        assert_accepted(
            &app,
            &sign(&ec_a, &claims(json!({}))),
            "ES256 from the file",
        )
        .await;

        let public_pem = std::fs::read(fixture("rsa-a.pub.pem")).expect("public key");
        let mut confused = Header::new(Algorithm::HS256);
        confused.kid = Some("rsa-a".into());
        let mut rs256_as_ec = Header::new(Algorithm::RS256);
        rs256_as_ec.kid = Some("ec-a".into());
        let mut es256_as_rsa = Header::new(Algorithm::ES256);
        es256_as_rsa.kid = Some("rsa-a".into());
        let mut no_kid = Header::new(Algorithm::RS256);
        no_kid.kid = None;
        let mut embedded = Header::new(Algorithm::RS256);
        embedded.kid = Some("rsa-b".into());
        embedded.jwk = serde_json::from_value(rsa_b.jwk.clone()).ok();
        let cases = vec![
            (
                "HS256 signed with the RSA public key as secret (algorithm confusion)",
                sign_with(
                    &confused,
                    &claims(json!({})),
                    &EncodingKey::from_secret(&public_pem),
                ),
            ),
            (
                "HS256 signed with the JWK's modulus as secret",
                sign_with(
                    &confused,
                    &claims(json!({})),
                    &EncodingKey::from_secret(rsa_a.jwk["n"].as_str().expect("n").as_bytes()),
                ),
            ),
            (
                "HS256 with the test secret, but no secret is configured",
                sign_hmac(Algorithm::HS256, TEST_SECRET.as_bytes(), &claims(json!({}))),
            ),
            (
                "RS256 naming an EC key",
                sign_with(&rs256_as_ec, &claims(json!({})), &rsa_a.encoding),
            ),
            (
                "ES256 naming an RSA key",
                sign_with(&es256_as_rsa, &claims(json!({})), &ec_a.encoding),
            ),
            ("signed by an unpublished key under a published kid", {
                let mut header = Header::new(Algorithm::RS256);
                header.kid = Some("rsa-a".into());
                sign_with(&header, &claims(json!({})), &rsa_b.encoding)
            }),
            (
                "no kid",
                sign_with(&no_kid, &claims(json!({})), &rsa_a.encoding),
            ),
            ("unknown kid", sign(&rsa_b, &claims(json!({})))),
            (
                "key embedded in the header",
                sign_with(&embedded, &claims(json!({})), &rsa_b.encoding),
            ),
            (
                "RSA key shorter than 2048 bits",
                sign(&weak, &claims(json!({}))),
            ),
            (
                "expired RS256",
                sign(&rsa_a, &claims(json!({ "exp": now() - 3600 }))),
            ),
            (
                "ES256 with a wrong claim type",
                sign(&ec_a, &claims(json!({ "sub": 42 }))),
            ),
        ];
        for (case, token) in &cases {
            assert_refused(&app, token, case).await;
        }

        // Rotation: the file now also holds rsa-b; a token signed by it is accepted at once
        // (the file changed, so the unknown kid re-reads it), without a restart.
        std::fs::write(&file, jwks(&[&rsa_a, &ec_a, &rsa_b]).to_string()).expect("rotate");
        assert_accepted(
            &app,
            &sign(&rsa_b, &claims(json!({}))),
            "rotated-in file key",
        )
        .await;
        assert_accepted(
            &app,
            &sign(&rsa_a, &claims(json!({}))),
            "old key still listed",
        )
        .await;
        app.stop().await;
    }
}

#[tokio::test]
async fn rs256_and_es256_from_a_jwks_url_with_rotation() {
    for backend in backends("rs256_and_es256_from_a_jwks_url_with_rotation") {
        let rsa_a = test_key("rsa-a.key.pem", "rsa-a");
        let rsa_b = test_key("rsa-b.key.pem", "rsa-b");
        let ec_a = test_key("ec-a.key.pem", "ec-a");
        let ec_b = test_key("ec-b.key.pem", "ec-b");
        let issuer = Issuer::start(&[&rsa_a, &ec_a]).await;
        let url = issuer.url.clone();
        // Both key sources: the secret for HS*, the URL for RS256/ES256.
        let app = spawn(backend, move |s| {
            s.jwks_url = Some(url.clone());
            s.jwks_cooldown_secs = Some("60".into());
        })
        .await;

        assert_accepted(
            &app,
            &sign(&rsa_a, &claims(json!({}))),
            "RS256 from the URL",
        )
        .await;
        assert_accepted(&app, &sign(&ec_a, &claims(json!({}))), "ES256 from the URL").await;
        assert_accepted(
            &app,
            &sign_hmac(Algorithm::HS256, TEST_SECRET.as_bytes(), &claims(json!({}))),
            "HS256 beside a JWKS",
        )
        .await;
        let fetched = issuer.hits();
        assert!(fetched >= 1, "the JWKS was never fetched");

        // The public key as an HMAC secret: HS256 is configured here, but only ever with the
        // configured secret, so the signature does not verify.
        let public_pem = std::fs::read(fixture("rsa-a.pub.pem")).expect("public key");
        let mut confused = Header::new(Algorithm::HS256);
        confused.kid = Some("rsa-a".into());
        assert_refused(
            &app,
            &sign_with(
                &confused,
                &claims(json!({})),
                &EncodingKey::from_secret(&public_pem),
            ),
            "HS256 signed with the RSA public key (algorithm confusion)",
        )
        .await;

        // Rotation: the issuer publishes new keys with new kids; tokens signed by them are
        // accepted without a restart, after exactly one refetch.
        issuer.publish(&[&rsa_a, &ec_a, &rsa_b, &ec_b]);
        assert_accepted(
            &app,
            &sign(&rsa_b, &claims(json!({}))),
            "rotated-in RSA key",
        )
        .await;
        assert_accepted(&app, &sign(&ec_b, &claims(json!({}))), "rotated-in EC key").await;
        assert_eq!(issuer.hits(), fetched + 1, "one refetch for the new kids");
        // Known kids never cause a fetch.
        for _ in 0..5 {
            assert_accepted(&app, &sign(&rsa_a, &claims(json!({}))), "cached key").await;
        }
        assert_eq!(issuer.hits(), fetched + 1, "cached keys are not refetched");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_flood_of_made_up_kids_refetches_at_most_once_per_cooldown() {
    const COOLDOWN_SECS: u64 = 3;
    for backend in backends("a_flood_of_made_up_kids_refetches_at_most_once_per_cooldown") {
        let rsa_a = test_key("rsa-a.key.pem", "rsa-a");
        let rsa_b = test_key("rsa-b.key.pem", "rsa-b");
        let issuer = Issuer::start(&[&rsa_a]).await;
        let url = issuer.url.clone();
        let app = spawn(backend, move |s| {
            s.jwt_secret = None;
            s.jwks_url = Some(url.clone());
            s.jwks_cooldown_secs = Some(COOLDOWN_SECS.to_string());
        })
        .await;
        assert_accepted(&app, &sign(&rsa_a, &claims(json!({}))), "known key").await;
        let before = issuer.hits();

        // Concurrent and sequential requests with made-up kids, all refused.
        let started = Instant::now();
        let mut flood = tokio::task::JoinSet::new();
        for i in 0..40 {
            let mut header = Header::new(Algorithm::RS256);
            header.kid = Some(format!("made-up-{i}"));
            let token = sign_with(&header, &claims(json!({})), &rsa_a.encoding);
            let (http, url) = (app.http.clone(), format!("{}/graphql", app.base_url));
            flood.spawn(async move {
                http.post(url)
                    .bearer_auth(token)
                    .json(&json!({ "query": ME }))
                    .send()
                    .await
                    .expect("request")
                    .status()
            });
        }
        while let Some(status) = flood.join_next().await {
            assert_eq!(status.expect("request task"), StatusCode::UNAUTHORIZED);
        }
        for i in 40..60 {
            let mut header = Header::new(Algorithm::RS256);
            header.kid = Some(format!("made-up-{i}"));
            let token = sign_with(&header, &claims(json!({})), &rsa_a.encoding);
            assert_refused(&app, &token, "made-up kid").await;
        }
        let windows = started.elapsed().as_secs() / COOLDOWN_SECS + 1;
        let refetches = issuer.hits() - before;
        assert!(refetches >= 1, "an unknown kid causes a refetch");
        assert!(
            u64::try_from(refetches).unwrap_or(u64::MAX) <= windows,
            "{refetches} refetches in {windows} cooldown window(s)"
        );

        // Once the cooldown has passed, a genuinely new key is fetched and accepted.
        tokio::time::sleep(Duration::from_secs(COOLDOWN_SECS) + Duration::from_millis(200)).await;
        issuer.publish(&[&rsa_a, &rsa_b]);
        assert_accepted(
            &app,
            &sign(&rsa_b, &claims(json!({}))),
            "new key after the flood",
        )
        .await;
        app.stop().await;
    }
}

#[tokio::test]
async fn revoked_keys_stop_working_and_a_failing_issuer_keeps_the_cache() {
    for backend in backends("revoked_keys_stop_working_and_a_failing_issuer_keeps_the_cache") {
        let rsa_a = test_key("rsa-a.key.pem", "rsa-a");
        let ec_a = test_key("ec-a.key.pem", "ec-a");
        let issuer = Issuer::start(&[&rsa_a, &ec_a]).await;
        let url = issuer.url.clone();
        let app = spawn(backend, move |s| {
            s.jwt_secret = None;
            s.jwks_url = Some(url.clone());
            s.jwks_refresh_secs = Some("1".into());
            s.jwks_cooldown_secs = Some("1".into());
        })
        .await;
        assert_accepted(&app, &sign(&rsa_a, &claims(json!({}))), "RS256").await;

        // The issuer fails: stale keys are refreshed, the refresh fails, the cached keys stay.
        issuer.fail(true);
        let failing_since = issuer.hits();
        let deadline = Instant::now() + Duration::from_secs(20);
        while issuer.hits() < failing_since + 2 && Instant::now() < deadline {
            assert_accepted(&app, &sign(&rsa_a, &claims(json!({}))), "issuer down").await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            issuer.hits() >= failing_since + 2,
            "stale keys were not refreshed"
        );
        assert_accepted(
            &app,
            &sign(&ec_a, &claims(json!({}))),
            "issuer down, cache kept",
        )
        .await;

        // The issuer recovers and revokes rsa-a: within a refresh period it is refused.
        issuer.fail(false);
        issuer.publish(&[&ec_a]);
        let token = sign(&rsa_a, &claims(json!({})));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (status, body) = app.graphql(ME, json!({}), Some(&token)).await;
            if status == StatusCode::UNAUTHORIZED {
                assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
                break;
            }
            assert!(
                Instant::now() < deadline,
                "revoked key still accepted: {body}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_accepted(&app, &sign(&ec_a, &claims(json!({}))), "remaining key").await;
        app.stop().await;
    }
}
