//! Persisted queries: Apollo's automatic persisted queries (a document sent by its sha256,
//! remembered once it passed the limits, shared between instances through Redis), the
//! allow-list mode over HTTP and WebSocket, and the mode that turns them off.

use std::sync::OnceLock;
use std::time::Duration;

use reqwest::StatusCode;
use rowgate::graphql::persisted::sha256_hex;
use rowgate_tests::demo::{ACME, BOB, CAROL};
use rowgate_tests::{
    Backend, TestApp, TestOptions, WsClient, WsMessage, backends, error_code, service_url,
};
use serde_json::{Value, json};

const ME: &str = "query Me { me { userId } }";

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// POSTs `body` as it is; returns the status and the JSON body.
async fn post(
    app: &TestApp,
    body: Value,
    token: Option<&str>,
    accept: &str,
) -> (StatusCode, Value) {
    let mut request = app
        .http
        .post(format!("{}/graphql", app.base_url))
        .header("accept", accept)
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

const JSON: &str = "application/json";
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

fn first_message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn automatic_persisted_queries_are_remembered_only_once_they_ran_and_run_as_the_sender() {
    for backend in backends("automatic_persisted_queries") {
        let app = TestApp::spawn(backend).await;
        let (bob, carol) = (app.token(BOB, Some(ACME)), app.token(CAROL, Some(ACME)));
        let hash = sha256_hex(ME);

        // Deny: a hash the gateway does not know, under both media types.
        let (status, body) = post(
            &app,
            json!({ "extensions": persisted(&hash) }),
            Some(&bob),
            JSON,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        assert_eq!(
            error_code(&body),
            Some("PERSISTED_QUERY_NOT_FOUND"),
            "{backend}: {body}"
        );
        assert_eq!(first_message(&body), "PersistedQueryNotFound", "{backend}");
        assert!(body.get("data").is_none(), "{backend}: {body}");
        let (status, body) = post(
            &app,
            json!({ "extensions": persisted(&hash) }),
            Some(&bob),
            GRAPHQL_RESPONSE,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {body}");
        assert_eq!(
            error_code(&body),
            Some("PERSISTED_QUERY_NOT_FOUND"),
            "{backend}"
        );

        // A miss is kept by no cache on the way.
        let response = app
            .http
            .post(format!("{}/graphql", app.base_url))
            .bearer_auth(&bob)
            .json(&json!({ "extensions": persisted(&hash) }))
            .send()
            .await
            .expect("request");
        assert_eq!(
            response
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{backend}"
        );

        // Deny: a hash that is not the document's, and malformed extensions.
        let wrong = sha256_hex("query { me { tenantId } }");
        let (_, body) = post(
            &app,
            json!({ "query": ME, "extensions": persisted(&wrong) }),
            Some(&bob),
            JSON,
        )
        .await;
        assert_eq!(
            error_code(&body),
            Some("BAD_USER_INPUT"),
            "{backend}: {body}"
        );
        assert!(
            first_message(&body).contains("not the sha256"),
            "{backend}: {body}"
        );
        for bad in [
            json!({ "persistedQuery": { "version": 2, "sha256Hash": hash } }),
            json!({ "persistedQuery": { "version": 1, "sha256Hash": "abc" } }),
            json!({ "persistedQuery": "abc" }),
        ] {
            let (_, body) = post(&app, json!({ "extensions": bad }), Some(&bob), JSON).await;
            assert_eq!(
                error_code(&body),
                Some("BAD_USER_INPUT"),
                "{backend}: {body}"
            );
        }
        // The document was not remembered by any of these.
        let (_, body) = post(
            &app,
            json!({ "extensions": persisted(&hash) }),
            Some(&bob),
            JSON,
        )
        .await;
        assert_eq!(
            error_code(&body),
            Some("PERSISTED_QUERY_NOT_FOUND"),
            "{backend}: {body}"
        );

        // Deny: a document over a limit is refused and not remembered.
        let deep = "query Deep { posts(first: 1) { nodes { comments(first: 1) { nodes { post { comments(first: 1) { nodes { post { comments(first: 1) { nodes { id } } } } } } } } } } }";
        let deep_hash = sha256_hex(deep);
        let (status, body) = post(
            &app,
            json!({ "query": deep, "extensions": persisted(&deep_hash) }),
            Some(&bob),
            JSON,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {body}");
        assert_eq!(
            error_code(&body),
            Some("QUERY_TOO_COMPLEX"),
            "{backend}: {body}"
        );
        let (_, body) = post(
            &app,
            json!({ "extensions": persisted(&deep_hash) }),
            Some(&bob),
            JSON,
        )
        .await;
        assert_eq!(
            error_code(&body),
            Some("PERSISTED_QUERY_NOT_FOUND"),
            "{backend}: {body}"
        );

        // Deny: a document that does not validate, or whose request is not authenticated,
        // is not remembered.
        let invalid = "query Invalid { me { noSuchField } }";
        let invalid_hash = sha256_hex(invalid);
        let (_, body) = post(
            &app,
            json!({ "query": invalid, "extensions": persisted(&invalid_hash) }),
            Some(&bob),
            JSON,
        )
        .await;
        assert_eq!(
            error_code(&body),
            Some("BAD_USER_INPUT"),
            "{backend}: {body}"
        );
        let (_, body) = post(
            &app,
            json!({ "extensions": persisted(&invalid_hash) }),
            Some(&bob),
            JSON,
        )
        .await;
        assert_eq!(
            error_code(&body),
            Some("PERSISTED_QUERY_NOT_FOUND"),
            "{backend}: {body}"
        );
        let (status, _) = post(
            &app,
            json!({ "query": ME, "extensions": persisted(&hash) }),
            Some("not.a.token"),
            JSON,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{backend}");
        let (_, body) = post(
            &app,
            json!({ "extensions": persisted(&hash) }),
            Some(&bob),
            JSON,
        )
        .await;
        assert_eq!(
            error_code(&body),
            Some("PERSISTED_QUERY_NOT_FOUND"),
            "{backend}: {body}"
        );

        // Allow: the document with its hash runs and is remembered.
        let (status, body) = post(
            &app,
            json!({ "query": ME, "extensions": persisted(&hash) }),
            Some(&bob),
            JSON,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        assert_eq!(
            body["data"]["me"]["userId"],
            json!(BOB.to_string()),
            "{backend}: {body}"
        );
        // The hash alone now runs it, as whoever sends it (the document carries no rights).
        let (_, body) = post(
            &app,
            json!({ "extensions": persisted(&hash) }),
            Some(&carol),
            JSON,
        )
        .await;
        assert_eq!(
            body["data"]["me"]["userId"],
            json!(CAROL.to_string()),
            "{backend}: {body}"
        );
        // Upper-case hex names the same document.
        let upper = persisted(&hash.to_ascii_uppercase());
        let (_, body) = post(&app, json!({ "extensions": upper }), Some(&bob), JSON).await;
        assert_eq!(
            body["data"]["me"]["userId"],
            json!(BOB.to_string()),
            "{backend}: {body}"
        );
        // By GET, as Apollo's `useGETForHashedQueries` sends it.
        let extensions = persisted(&hash).to_string();
        let url = reqwest::Url::parse_with_params(
            &format!("{}/graphql", app.base_url),
            &[("extensions", extensions.as_str()), ("operationName", "Me")],
        )
        .expect("URL");
        let response = app
            .http
            .get(url)
            .bearer_auth(&bob)
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), StatusCode::OK, "{backend}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(
            body["data"]["me"]["userId"],
            json!(BOB.to_string()),
            "{backend}: {body}"
        );

        // In a batch, a miss answers for itself and the other operations run.
        let unknown = sha256_hex("query Other { me { tenantId } }");
        let (status, body) = post(
            &app,
            json!([{ "extensions": persisted(&unknown) }, { "extensions": persisted(&hash) }]),
            Some(&bob),
            JSON,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        assert_eq!(
            error_code(&body[0]),
            Some("PERSISTED_QUERY_NOT_FOUND"),
            "{backend}: {body}"
        );
        assert_eq!(
            body[1]["data"]["me"]["userId"],
            json!(BOB.to_string()),
            "{backend}: {body}"
        );

        // Over WebSocket too.
        let (mut ws, ack) =
            WsClient::connect(&app, json!({ "Authorization": format!("Bearer {bob}") })).await;
        assert_eq!(
            ack,
            WsMessage::Message(json!({ "type": "connection_ack" })),
            "{backend}"
        );
        ws.send(json!({ "id": "1", "type": "subscribe", "payload": { "extensions": persisted(&hash) } }))
            .await;
        let data = ws.next_data("1", Duration::from_secs(10)).await;
        assert_eq!(
            data,
            Some(json!({ "me": { "userId": BOB.to_string() } })),
            "{backend}"
        );

        // An anonymous client's document is remembered by this instance only.
        const ANON: &str = "query AnonMe { me { role } }";
        let anon_hash = sha256_hex(ANON);
        let (_, body) = post(
            &app,
            json!({ "query": ANON, "extensions": persisted(&anon_hash) }),
            None,
            JSON,
        )
        .await;
        assert_eq!(body["data"]["me"]["role"], "ANON", "{backend}: {body}");
        let (_, body) = post(
            &app,
            json!({ "extensions": persisted(&anon_hash) }),
            None,
            JSON,
        )
        .await;
        assert_eq!(body["data"]["me"]["role"], "ANON", "{backend}: {body}");

        // Another instance of the deployment finds it in Redis.
        if service_url(
            "REDIS_URL",
            "automatic_persisted_queries (shared through Redis)",
        )
        .is_some()
        {
            let peer = app.spawn_peer(TestOptions::default()).await;
            let (_, body) = post(
                &peer,
                json!({ "extensions": persisted(&hash) }),
                Some(&bob),
                JSON,
            )
            .await;
            assert_eq!(
                body["data"]["me"]["userId"],
                json!(BOB.to_string()),
                "{backend}: {body}"
            );
            // Not the anonymous client's.
            let (_, body) = post(
                &peer,
                json!({ "extensions": persisted(&anon_hash) }),
                None,
                JSON,
            )
            .await;
            assert_eq!(
                error_code(&body),
                Some("PERSISTED_QUERY_NOT_FOUND"),
                "{backend}: {body}"
            );
            // What another program wrote there under a hash that is not its text's is not run.
            let forged = sha256_hex("query Forged { me { tenantId } }");
            let client =
                redis::Client::open(app.config.redis_url.as_ref().unwrap().expose()).unwrap();
            let mut connection = client.get_multiplexed_async_connection().await.unwrap();
            let key = format!("{}:v1:apq:{forged}", app.config.cache.prefix);
            redis::cmd("SET")
                .arg(&key)
                .arg(ME)
                .query_async::<()>(&mut connection)
                .await
                .unwrap();
            let (_, body) = post(
                &peer,
                json!({ "extensions": persisted(&forged) }),
                Some(&bob),
                JSON,
            )
            .await;
            assert_eq!(
                error_code(&body),
                Some("PERSISTED_QUERY_NOT_FOUND"),
                "{backend}: {body}"
            );
            peer.stop().await;
        }
        app.stop().await;
    }
}

/// The manifest of the allow-list test, written once.
static MANIFEST: OnceLock<std::path::PathBuf> = OnceLock::new();
const SUBSCRIPTION: &str = "subscription Posts { postChanged { op node { title } } }";
const CREATE: &str = "mutation Create { createPost(input: {title: \"listed\", body: \"b\", status: PUBLISHED}) { id } }";

fn allowlist(settings: &mut rowgate::config::Settings) {
    settings.persisted_queries = Some("allowlist".into());
    settings.persisted_queries_manifest = Some(MANIFEST.get().unwrap().display().to_string());
}

#[tokio::test]
async fn the_allow_list_refuses_every_document_outside_the_manifest() {
    MANIFEST.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("rowgate-allowlist-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let operations: Vec<Value> = [ME, SUBSCRIPTION, CREATE]
            .iter()
            .map(|body| json!({ "id": sha256_hex(body), "body": body, "name": "x", "type": "query" }))
            .collect();
        let manifest = json!({ "format": "apollo-persisted-query-manifest", "version": 1, "operations": operations });
        let path = dir.join("manifest.json");
        std::fs::write(&path, manifest.to_string()).unwrap();
        path
    });
    for backend in backends("the_allow_list_refuses_every_document_outside_the_manifest") {
        let app = TestApp::spawn_adjusted(backend, allowlist).await;
        let bob = app.token(BOB, Some(ACME));

        // Deny: documents outside the manifest, in full, with their hash, or by hash alone;
        // introspection too.
        let other = "query { me { tenantId } }";
        for body in [
            json!({ "query": other }),
            json!({ "query": other, "extensions": persisted(&sha256_hex(other)) }),
            json!({ "extensions": persisted(&sha256_hex(other)) }),
            json!({ "query": "{ __schema { queryType { name } } }" }),
            // The same document with other whitespace is another document.
            json!({ "query": format!("{ME} ") }),
        ] {
            let (status, answer) = post(&app, body.clone(), Some(&bob), JSON).await;
            assert_eq!(status, StatusCode::OK, "{backend}: {body} → {answer}");
            assert_eq!(
                error_code(&answer),
                Some("PERSISTED_QUERY_NOT_IN_LIST"),
                "{backend}: {body} → {answer}"
            );
            assert!(answer.get("data").is_none(), "{backend}: {answer}");
        }
        let (status, _) = post(
            &app,
            json!({ "query": other }),
            Some(&bob),
            GRAPHQL_RESPONSE,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}");
        // Over WebSocket: an unlisted subscription is refused, and nothing is streamed.
        let (mut ws, _) =
            WsClient::connect(&app, json!({ "Authorization": format!("Bearer {bob}") })).await;
        ws.subscribe("1", "subscription { commentChanged { op } }")
            .await;
        let errors = ws.next_errors(Duration::from_secs(10)).await;
        assert_eq!(
            errors[0]["extensions"]["code"], "PERSISTED_QUERY_NOT_IN_LIST",
            "{backend}: {errors}"
        );
        let end = ws.next(Duration::from_secs(10)).await;
        assert_eq!(
            end,
            Some(WsMessage::Message(json!({ "id": "1", "type": "complete" }))),
            "{backend}"
        );

        // Allow: the manifest's documents, in full or by hash, over HTTP and WebSocket.
        let (_, body) = post(&app, json!({ "query": ME }), Some(&bob), JSON).await;
        assert_eq!(
            body["data"]["me"]["userId"],
            json!(BOB.to_string()),
            "{backend}: {body}"
        );
        let (_, body) = post(
            &app,
            json!({ "extensions": persisted(&sha256_hex(ME)) }),
            Some(&bob),
            JSON,
        )
        .await;
        assert_eq!(
            body["data"]["me"]["userId"],
            json!(BOB.to_string()),
            "{backend}: {body}"
        );
        ws.send(json!({ "id": "2", "type": "subscribe", "payload": { "extensions": persisted(&sha256_hex(SUBSCRIPTION)) } }))
            .await;
        let (_, body) = post(&app, json!({ "query": CREATE }), Some(&bob), JSON).await;
        assert!(
            body["data"]["createPost"]["id"].is_string(),
            "{backend}: {body}"
        );
        let data = ws.next_data("2", Duration::from_secs(10)).await;
        assert_eq!(
            data,
            Some(json!({ "postChanged": { "op": "INSERT", "node": { "title": "listed" } } })),
            "{backend}"
        );
        app.stop().await;
    }
}

fn off(settings: &mut rowgate::config::Settings) {
    settings.persisted_queries = Some("off".into());
}

#[tokio::test]
async fn with_persisted_queries_off_a_hash_is_not_supported_and_documents_run() {
    let app = TestApp::spawn_adjusted(Backend::Sqlite, off).await;
    let bob = app.token(BOB, Some(ACME));
    let hash = sha256_hex(ME);
    for body in [
        json!({ "extensions": persisted(&hash) }),
        json!({ "query": ME, "extensions": persisted(&hash) }),
    ] {
        let (_, answer) = post(&app, body, Some(&bob), JSON).await;
        assert_eq!(
            error_code(&answer),
            Some("PERSISTED_QUERY_NOT_SUPPORTED"),
            "{answer}"
        );
        assert_eq!(first_message(&answer), "PersistedQueryNotSupported");
    }
    let (_, body) = post(&app, json!({ "query": ME }), Some(&bob), JSON).await;
    assert_eq!(
        body["data"]["me"]["userId"],
        json!(BOB.to_string()),
        "{body}"
    );
    app.stop().await;
}
