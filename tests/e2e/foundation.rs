//! The path HTTP → auth → database, end to end: health, GraphiQL, `publicConfig`, `me`,
//! and the errors of the edge (bad token, foreign tenant, non-JSON body, unknown path).

use reqwest::StatusCode;
use rowgate_tests::demo::{ACME, ALICE, BOB, ERIN, FRANK, GINA, GLOBEX};
use rowgate_tests::{Backend, TestApp, TestOptions, backends, error_code};
use serde_json::{Value, json};

const ME: &str = "{ me { userId role activeTenantId platformRoles tenants { tenantId role active } profile { email } } }";

#[tokio::test]
async fn health_and_readiness() {
    for backend in backends("health_and_readiness") {
        let app = TestApp::spawn(backend).await;
        let (status, _, body) = app.get("/healthz").await;
        assert_eq!(status, StatusCode::OK, "{backend}");
        assert!(body.contains("ok"));
        let (status, _, body) = app.get("/readyz").await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        let body: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(body["database"], "up");
        if app.config.redis_url.is_some() {
            assert_eq!(body["redis"], "up");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn unknown_paths_are_404_and_non_json_bodies_are_400() {
    for backend in backends("unknown_paths_are_404_and_non_json_bodies_are_400") {
        let app = TestApp::spawn(backend).await;
        let (status, _, _) = app.get("/no/such/path").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{backend}");

        for (content_type, body) in [
            ("application/json", "this is not json"),
            ("text/plain", "{ publicConfig }"),
        ] {
            let response = app
                .http
                .post(format!("{}/graphql", app.base_url))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .expect("request");
            assert_eq!(
                response.status(),
                StatusCode::BAD_REQUEST,
                "{backend} {content_type}"
            );
            let body: Value = response.json().await.expect("GraphQL-shaped error");
            assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn public_config_serves_only_public_entries_to_anyone() {
    for backend in backends("public_config_serves_only_public_entries_to_anyone") {
        let app = TestApp::spawn(backend).await;
        let bob = app.token(BOB, Some(ACME));
        for token in [None, Some(bob.as_str())] {
            let (status, body) = app.graphql("{ publicConfig }", json!({}), token).await;
            assert_eq!(status, StatusCode::OK, "{backend}: {body}");
            let config = &body["data"]["publicConfig"];
            assert!(
                config.get("billing.provider").is_none(),
                "private entry leaked: {config}"
            );
            assert!(
                config.get("limits.upload_mb").is_none(),
                "private entry leaked: {config}"
            );
            assert_eq!(config["app.name"], "rowgate demo");
            assert_eq!(config["app.maintenance"]["enabled"], false);
        }
        // GET works for queries too.
        let (status, _, text) = app.get("/graphql?query=%7BpublicConfig%7D").await;
        assert_eq!(status, StatusCode::OK);
        assert!(text.contains("rowgate demo"), "{text}");
        app.stop().await;
    }
}

#[tokio::test]
async fn bad_tokens_are_401_never_anon() {
    for backend in backends("bad_tokens_are_401_never_anon") {
        let app = TestApp::spawn(backend).await;
        let good = app.token(BOB, None);
        let (head, rest) = good.split_once('.').expect("jwt");
        let (payload, _signature) = rest.split_once('.').expect("jwt");
        // A token signed with another secret.
        let foreign = {
            let secret =
                rowgate::config::Secret::new("another-secret-another-secret-another-secret");
            rowgate::auth::mint_token(
                &secret,
                &rowgate::auth::jwt::TokenRequest {
                    user: Some(BOB),
                    tenant: None,
                    role: "authenticated".into(),
                    ttl: std::time::Duration::from_secs(600),
                    audience: None,
                    issuer: None,
                },
            )
            .expect("mint")
        };
        // {"alg":"none","typ":"JWT"}
        let alg_none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        let tampered = format!(
            "{head}.{payload}x.{}",
            rest.rsplit_once('.').expect("sig").1
        );
        for (case, token) in [
            ("garbage", "not-a-jwt".to_owned()),
            ("signed with another secret", foreign),
            ("alg none", alg_none),
            ("tampered payload", tampered),
        ] {
            let (status, body) = app
                .graphql("{ publicConfig }", json!({}), Some(&token))
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{backend} {case}: {body}");
            assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{case}");
            assert!(
                body.get("data").is_none_or(Value::is_null),
                "{case}: executed anyway"
            );
        }
        // Expiry has a 30 s leeway; a token expired an hour ago is refused.
        let long_expired = {
            let mut claims = rowgate::auth::Claims {
                sub: Some(BOB.to_string()),
                role: Some("authenticated".into()),
                exp: chrono_now() - 3600,
                iat: None,
                aud: None,
                iss: None,
                tenant_id: None,
                other: serde_json::Map::new(),
            };
            claims.iat = Some(claims.exp - 60);
            jsonwebtoken::encode(
                &jsonwebtoken::Header::default(),
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(rowgate_tests::TEST_SECRET.as_bytes()),
            )
            .expect("encode")
        };
        let (status, body) = app
            .graphql("{ publicConfig }", json!({}), Some(&long_expired))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        // A header that is not `Bearer <token>` is refused too.
        let response = app
            .http
            .post(format!("{}/graphql", app.base_url))
            .header("authorization", "Basic Ym9iOnNlY3JldA==")
            .json(&json!({"query": "{ publicConfig }"}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        app.stop().await;
    }
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

#[tokio::test]
async fn a_tenant_the_user_is_not_a_member_of_is_forbidden() {
    for backend in backends("a_tenant_the_user_is_not_a_member_of_is_forbidden") {
        let app = TestApp::spawn(backend).await;
        // By claim.
        let token = app.token(FRANK, Some(ACME));
        let (status, body) = app.graphql(ME, json!({}), Some(&token)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{backend}: {body}");
        assert_eq!(error_code(&body), Some("FORBIDDEN"));
        // By header.
        let token = app.token(FRANK, None);
        let acme = ACME.to_string();
        let (status, body) = app
            .graphql_with_headers(ME, json!({}), Some(&token), &[("x-tenant-id", &acme)])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        // By subdomain.
        let (status, body) = app
            .graphql_with_headers(ME, json!({}), Some(&token), &[("host", "acme.localhost")])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        // A malformed header is bad input, not ignored.
        let (status, body) = app
            .graphql_with_headers(ME, json!({}), Some(&token), &[("x-tenant-id", "acme")])
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
        // A header naming another tenant than the token's claim is refused, not ignored
        // (bob, of Acme, asking for Globex used to act in Acme silently).
        let bob = app.token(BOB, Some(ACME));
        let globex = GLOBEX.to_string();
        let (status, body) = app
            .graphql_with_headers(ME, json!({}), Some(&bob), &[("x-tenant-id", &globex)])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("tenant_id")),
            "{body}"
        );
        // The same tenant in both is fine.
        let (status, body) = app
            .graphql_with_headers(ME, json!({}), Some(&bob), &[("x-tenant-id", &acme)])
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["me"]["activeTenantId"], acme);
        app.stop().await;
    }
}

#[tokio::test]
async fn me_describes_the_principal() {
    for backend in backends("me_describes_the_principal") {
        let app = TestApp::spawn(backend).await;

        let (_, body) = app.graphql(ME, json!({}), None).await;
        let me = &body["data"]["me"];
        assert_eq!(me["role"], "ANON", "{backend}: {body}");
        assert!(me["userId"].is_null());
        assert_eq!(me["tenants"], json!([]));
        assert!(me["profile"].is_null());

        let (_, body) = app
            .graphql(ME, json!({}), Some(&app.token(BOB, Some(ACME))))
            .await;
        let me = &body["data"]["me"];
        assert_eq!(me["role"], "AUTHENTICATED", "{body}");
        assert_eq!(me["userId"], BOB.to_string());
        assert_eq!(me["activeTenantId"], ACME.to_string());
        assert_eq!(me["platformRoles"], json!([]));
        assert_eq!(
            me["tenants"],
            json!([{ "tenantId": ACME.to_string(), "role": "MEMBER", "active": true }])
        );
        assert_eq!(me["profile"]["email"], "bob@example.com");

        // Active tenant from the header, and from the Host's subdomain.
        let token = app.token(ALICE, None);
        let globex = GLOBEX.to_string();
        let (status, body) = app
            .graphql_with_headers(ME, json!({}), Some(&token), &[("x-tenant-id", &globex)])
            .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "alice is not in Globex: {body}"
        );
        let (_, body) = app
            .graphql_with_headers(ME, json!({}), Some(&token), &[("host", "acme.localhost")])
            .await;
        assert_eq!(
            body["data"]["me"]["activeTenantId"],
            ACME.to_string(),
            "{body}"
        );
        assert_eq!(body["data"]["me"]["tenants"][0]["role"], "OWNER");

        // Platform roles come from user_roles, not from the token.
        let (_, body) = app
            .graphql(ME, json!({}), Some(&app.token(ERIN, None)))
            .await;
        assert_eq!(
            body["data"]["me"]["platformRoles"],
            json!(["ADMIN"]),
            "{body}"
        );
        let (_, body) = app
            .graphql(ME, json!({}), Some(&app.token(GINA, None)))
            .await;
        assert_eq!(body["data"]["me"]["platformRoles"], json!([]));
        assert_eq!(
            body["data"]["me"]["tenants"],
            json!([]),
            "a connected client is no member"
        );

        let (_, body) = app.graphql(ME, json!({}), Some(&app.service_token())).await;
        assert_eq!(body["data"]["me"]["role"], "SERVICE_ROLE", "{body}");
        app.stop().await;
    }
}

#[tokio::test]
async fn graphiql_is_served_from_the_binary() {
    for backend in backends("graphiql_is_served_from_the_binary") {
        let app = TestApp::spawn(backend).await;
        let (status, content_type, html) = app.get("/").await;
        assert_eq!(status, StatusCode::OK, "{backend}");
        assert!(content_type.starts_with("text/html"));
        assert!(html.contains("/graphiql/graphiql.min.js"));
        assert!(html.contains("Authorization"));
        for asset in [
            "/graphiql/graphiql.min.js",
            "/graphiql/graphiql.min.css",
            "/graphiql/react.production.min.js",
            "/graphiql/react-dom.production.min.js",
        ] {
            let (status, _, body) = app.get(asset).await;
            assert_eq!(status, StatusCode::OK, "{asset}");
            assert!(body.len() > 1000, "{asset} is empty");
            assert!(
                !body.contains("//cdn") && !body.contains("unpkg.com/"),
                "{asset} loads from a CDN"
            );
        }
        let (status, _, _) = app.get("/graphiql/nope.js").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        app.stop().await;
    }
}

/// GETs `path` with extra headers; returns the status and the body text.
async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
    let mut request = app.http.get(format!("{}{path}", app.base_url));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request");
    (response.status(), response.text().await.expect("body"))
}

/// The embedded default: no `DATABASE_URL`, no `ROWGATE_JWT_SECRET` (the secret is generated
/// into the data directory).
fn embedded(settings: &mut rowgate::config::Settings) {
    settings.database_url = None;
    settings.jwt_secret = None;
}

#[tokio::test]
async fn embedded_graphiql_offers_the_demo_principals_to_a_local_browser() {
    let app = TestApp::spawn_adjusted(Backend::Sqlite, embedded).await;
    assert!(app.config.embedded_default);

    let (status, _, html) = app.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"<meta name="rowgate-demo-principals" content="on" />"#));
    assert!(html.contains(r#"<link rel="icon" type="image/svg+xml" href="/favicon.svg" />"#));
    assert!(!html.contains("<paste"), "no placeholder header");
    for path in ["/favicon.svg", "/favicon.ico"] {
        let (status, content_type, body) = app.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(content_type, "image/svg+xml", "{path}");
        assert!(body.starts_with("<svg"), "{path}");
    }

    let (status, content_type, body) = app.get("/graphiql/demo-principals").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(content_type.starts_with("application/json"));
    let principals: Vec<Value> = serde_json::from_str(&body).expect("json");
    let labels: Vec<&str> = principals
        .iter()
        .map(|p| p["label"].as_str().expect("label"))
        .collect();
    assert_eq!(
        labels,
        rowgate_server::seed::demo::token_accounts()
            .iter()
            .map(|a| a.label)
            .collect::<Vec<_>>()
    );
    let token_of = |label: &str| {
        principals
            .iter()
            .find(|p| p["label"] == label)
            .and_then(|p| p["token"].as_str())
            .expect("token")
            .to_owned()
    };
    // The tokens are signed with the generated secret the gateway verifies with.
    let (status, body) = app
        .graphql(ME, json!({}), Some(&token_of("member of Acme (bob)")))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["me"]["userId"], BOB.to_string(), "{body}");
    assert_eq!(body["data"]["me"]["activeTenantId"], ACME.to_string());
    let (_, body) = app
        .graphql(ME, json!({}), Some(&token_of("platform admin (erin)")))
        .await;
    assert_eq!(body["data"]["me"]["userId"], ERIN.to_string(), "{body}");
    let (_, body) = app
        .graphql(ME, json!({}), Some(&token_of("service role")))
        .await;
    assert_eq!(body["data"]["me"]["role"], "SERVICE_ROLE", "{body}");

    // Loopback names on any port are local; another host (DNS rebinding) or a cross-origin
    // caller is not, and the page then offers nothing either.
    let port = app.base_url.rsplit(':').next().expect("port").to_owned();
    for host in [
        format!("localhost:{port}"),
        format!("acme.localhost:{port}"),
        "127.0.0.1".to_owned(),
    ] {
        let (status, _) = get_with(&app, "/graphiql/demo-principals", &[("host", &host)]).await;
        assert_eq!(status, StatusCode::OK, "{host}");
    }
    for host in [
        format!("rebound.example:{port}"),
        format!("localhost.example:{port}"),
        format!("127.0.0.1:{port}x"),
    ] {
        let (status, _) = get_with(&app, "/graphiql/demo-principals", &[("host", &host)]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{host}");
        let (_, html) = get_with(&app, "/", &[("host", &host)]).await;
        assert!(html.contains(r#"content="off""#), "{host}");
    }
    let (status, _) = get_with(
        &app,
        "/graphiql/demo-principals",
        &[("origin", "http://localhost:3000")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a cross-origin caller");
    let own = app.base_url.clone();
    let (status, _) = get_with(&app, "/graphiql/demo-principals", &[("origin", &own)]).await;
    assert_eq!(status, StatusCode::OK, "the page's own origin");
    app.stop().await;
}

#[tokio::test]
async fn embedded_graphiql_without_demo_users_offers_no_principal() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        TestOptions {
            skip_demo: true,
            settings: Some(embedded),
            ..TestOptions::default()
        },
    )
    .await;
    let (status, _, body) = app.get("/graphiql/demo-principals").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "[]");
    app.stop().await;
}

#[tokio::test]
async fn demo_principals_are_never_offered_outside_the_embedded_default() {
    // A configured database (PostgreSQL in CI) or a configured secret signs real tokens;
    // without GraphiQL there is no page to offer them on.
    let mut apps = Vec::new();
    for backend in backends("demo_principals_are_never_offered_outside_the_embedded_default") {
        apps.push((
            format!("{backend} with a configured database and secret"),
            TestApp::spawn(backend).await,
        ));
    }
    apps.push((
        "the embedded database with a configured secret".to_owned(),
        TestApp::spawn_adjusted(Backend::Sqlite, |s| s.database_url = None).await,
    ));
    apps.push((
        "the embedded default without GraphiQL".to_owned(),
        TestApp::spawn_adjusted(Backend::Sqlite, |s| {
            embedded(s);
            s.graphiql = Some("false".into());
        })
        .await,
    ));
    for (what, app) in apps {
        let (status, _, _) = app.get("/graphiql/demo-principals").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{what}");
        let (status, _, html) = app.get("/").await;
        if app.config.graphiql {
            assert_eq!(status, StatusCode::OK, "{what}");
            assert!(html.contains(r#"content="off""#), "{what}");
            let (status, _, _) = app.get("/favicon.svg").await;
            assert_eq!(status, StatusCode::OK, "{what}");
        } else {
            assert_eq!(status, StatusCode::NOT_FOUND, "{what}");
        }
        app.stop().await;
    }
}
