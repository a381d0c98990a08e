//! What browser and frontend clients rely on beyond the GraphQL document: cross-origin
//! calls (CORS), WebSocket keep-alive on both subprotocols, and the token's expiry over an
//! open socket. The behaviour does not depend on the database, so these run on SQLite.

use std::time::Duration;

use reqwest::Method;
use rowgate_tests::demo::*;
use rowgate_tests::{Backend, TestApp, WsClient, WsMessage, backends};
use serde_json::{Value, json};

const EVENT: Duration = Duration::from_secs(5);
const POSTS: &str = "subscription { postChanged { op node { title } } }";

fn sqlite_only(test: &str) -> impl Iterator<Item = Backend> {
    backends(test).into_iter().filter(|b| *b == Backend::Sqlite)
}

async fn connected(app: &TestApp, protocol: &str, token: &str) -> WsClient {
    let (client, ack) = WsClient::connect_with(
        app,
        protocol,
        json!({ "Authorization": format!("Bearer {token}") }),
    )
    .await;
    assert!(
        matches!(&ack, WsMessage::Message(m) if m["type"] == "connection_ack"),
        "{protocol}: {ack:?}"
    );
    client
}

/// Starts operation `id` on either subprotocol.
async fn start(client: &mut WsClient, protocol: &str, id: &str, query: &str) {
    let kind = if protocol == "graphql-ws" {
        "start"
    } else {
        "subscribe"
    };
    client
        .send(json!({ "id": id, "type": kind, "payload": { "query": query } }))
        .await;
}

/// Reads for `wait`, like an idle client: the keep-alive messages the server sent.
/// Anything else (an event, a close) fails the test.
async fn keep_alives(client: &mut WsClient, wait: Duration) -> usize {
    let deadline = tokio::time::Instant::now() + wait;
    let mut seen = 0;
    while let Some(message) = client
        .next_any(deadline.saturating_duration_since(tokio::time::Instant::now()))
        .await
    {
        match message {
            WsMessage::Message(m) if m["type"] == "ping" || m["type"] == "ka" => seen += 1,
            other => panic!("an idle connection got {other:?}"),
        }
    }
    seen
}

async fn create_post(app: &TestApp, token: &str, title: &str) {
    let (_, body) = app
        .graphql(
            "mutation($t: String!) { createPost(input: {title: $t, body: \"b\"}) { id } }",
            json!({ "t": title }),
            Some(token),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
}

fn event_title(message: Option<WsMessage>, kind: &str) -> Value {
    match message {
        Some(WsMessage::Message(m)) if m["type"] == kind => {
            m["payload"]["data"]["postChanged"]["node"]["title"].clone()
        }
        other => panic!("expected a `{kind}` event, got {other:?}"),
    }
}

#[tokio::test]
async fn an_idle_subscription_outlives_the_old_timeout_on_both_protocols() {
    // Before: the server closed a connection after 30 s without a client message, even
    // with a live subscription, and never pinged. Default settings on both sides.
    for backend in sqlite_only("an_idle_subscription_outlives_the_old_timeout_on_both_protocols") {
        let app = TestApp::spawn(backend).await;
        let bob = app.token(BOB, Some(ACME));
        let mut modern = connected(&app, "graphql-transport-ws", &bob).await;
        let mut legacy = connected(&app, "graphql-ws", &bob).await;
        start(&mut modern, "graphql-transport-ws", "1", POSTS).await;
        start(&mut legacy, "graphql-ws", "1", POSTS).await;
        let idle = Duration::from_secs(32);
        let (modern_pings, legacy_pings) = tokio::join!(
            keep_alives(&mut modern, idle),
            keep_alives(&mut legacy, idle)
        );
        assert!(
            modern_pings >= 2,
            "graphql-transport-ws pings: {modern_pings}"
        );
        assert!(
            legacy_pings >= 2,
            "graphql-ws `ka` messages: {legacy_pings}"
        );
        create_post(&app, &bob, "after the idle time").await;
        assert_eq!(
            event_title(modern.next(EVENT).await, "next"),
            "after the idle time"
        );
        assert_eq!(
            event_title(legacy.next(EVENT).await, "data"),
            "after the idle time"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_peer_that_stops_answering_is_disconnected() {
    for backend in sqlite_only("a_peer_that_stops_answering_is_disconnected") {
        let app =
            TestApp::spawn_adjusted(backend, |s| s.ws_keepalive_secs = Some("1".into())).await;
        let bob = app.token(BOB, Some(ACME));
        let mut client = connected(&app, "graphql-transport-ws", &bob).await;
        start(&mut client, "graphql-transport-ws", "1", POSTS).await;
        // Deny: a peer that reads nothing answers no ping; three intervals later it is gone.
        tokio::time::sleep(Duration::from_millis(4_500)).await;
        match client.next(EVENT).await {
            // The server's close frame (4499), or the reset that follows it when the
            // client's late pongs find the socket already gone.
            Some(WsMessage::Closed(code, _)) => assert!([4499, 1006].contains(&code), "{code}"),
            other => panic!("a silent peer stayed connected: {other:?}"),
        }
        // Allow: one that keeps reading (and so answers) stays.
        let mut live = connected(&app, "graphql-transport-ws", &bob).await;
        start(&mut live, "graphql-transport-ws", "1", POSTS).await;
        assert!(keep_alives(&mut live, Duration::from_millis(4_500)).await >= 3);
        create_post(&app, &bob, "still here").await;
        assert_eq!(event_title(live.next(EVENT).await, "next"), "still here");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_socket_without_connection_init_is_closed_4408() {
    for backend in sqlite_only("a_socket_without_connection_init_is_closed_4408") {
        let app =
            TestApp::spawn_adjusted(backend, |s| s.ws_keepalive_secs = Some("1".into())).await;
        // Deny: a socket that never sends `connection_init` (though it reads, and so
        // answers pings) is closed 4408 once 10 s have passed. Allow: an initialised one,
        // read at the same time, stays.
        let bob = app.token(BOB, Some(ACME));
        let mut live = connected(&app, "graphql-transport-ws", &bob).await;
        start(&mut live, "graphql-transport-ws", "1", POSTS).await;
        let mut idle = WsClient::open(&app, "graphql-transport-ws").await;
        let opened = std::time::Instant::now();
        let (closed, pings) = tokio::join!(
            idle.next(Duration::from_secs(20)),
            keep_alives(&mut live, Duration::from_secs(12))
        );
        match closed {
            Some(WsMessage::Closed(code, reason)) => {
                assert_eq!(code, 4408, "{reason}");
                assert!(opened.elapsed() >= Duration::from_secs(10));
            }
            other => panic!("an uninitialised socket stayed open: {other:?}"),
        }
        assert!(pings >= 5, "{pings} pings");
        create_post(&app, &bob, "initialised").await;
        assert_eq!(event_title(live.next(EVENT).await, "next"), "initialised");
        app.stop().await;
    }
}

#[tokio::test]
async fn nothing_runs_on_a_socket_whose_token_expired() {
    // Before: queries and mutations still ran as the user long after `exp`.
    for backend in sqlite_only("nothing_runs_on_a_socket_whose_token_expired") {
        let app = TestApp::spawn(backend).await;
        let short = app.mint(
            Some(BOB),
            Some(ACME),
            "authenticated",
            Duration::from_secs(2),
        );
        let mut client = connected(&app, "graphql-transport-ws", &short).await;
        start(
            &mut client,
            "graphql-transport-ws",
            "q1",
            "{ posts(first: 1) { totalCount } }",
        )
        .await;
        match client.next(EVENT).await {
            Some(WsMessage::Message(m)) if m["type"] == "next" => {
                assert!(
                    m["payload"]["data"]["posts"]["totalCount"].is_number(),
                    "{m}"
                );
            }
            other => panic!("{other:?}"),
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        let operations = [
            ("q2", "{ posts(first: 1) { totalCount } }"),
            (
                "m1",
                "mutation { createPost(input: {title: \"after exp\", body: \"b\"}) { id } }",
            ),
        ];
        for (id, query) in operations {
            start(&mut client, "graphql-transport-ws", id, query).await;
            loop {
                match client.next(EVENT).await {
                    Some(WsMessage::Message(m)) if m["type"] == "complete" => continue,
                    Some(WsMessage::Message(m)) if m["type"] == "next" && m["id"] == id => {
                        assert_eq!(
                            m["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
                            "{m}"
                        );
                        assert!(m["payload"]["data"].is_null(), "{m}");
                        break;
                    }
                    other => panic!("{id}: {other:?}"),
                }
            }
        }
        let bob = app.token(BOB, Some(ACME));
        let (_, found) = app
            .graphql(
                "{ posts(filter: {title: {eq: \"after exp\"}}) { totalCount } }",
                json!({}),
                Some(&bob),
            )
            .await;
        assert_eq!(found["data"]["posts"]["totalCount"], 0, "{found}");
        app.stop().await;
    }
}

#[tokio::test]
async fn errors_over_websocket_carry_a_code() {
    for backend in sqlite_only("errors_over_websocket_carry_a_code") {
        let app = TestApp::spawn(backend).await;
        let bob = app.token(BOB, Some(ACME));
        let mut client = connected(&app, "graphql-transport-ws", &bob).await;
        start(
            &mut client,
            "graphql-transport-ws",
            "v",
            "{ posts { noSuchField } }",
        )
        .await;
        match client.next(EVENT).await {
            Some(WsMessage::Message(m)) if m["type"] == "next" || m["type"] == "error" => {
                let error = if m["type"] == "next" {
                    m["payload"]["errors"][0].clone()
                } else {
                    m["payload"][0].clone()
                };
                assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{m}");
            }
            other => panic!("{other:?}"),
        }
        app.stop().await;
    }
}

const ORIGIN: &str = "https://app.example.com";

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(Method::OPTIONS, format!("{}/graphql", app.base_url))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, x-tenant-id, apollographql-client-name",
        )
        .send()
        .await
        .expect("preflight")
}

#[tokio::test]
async fn browsers_on_the_configured_origins_may_call_and_no_others() {
    for backend in sqlite_only("browsers_on_the_configured_origins_may_call_and_no_others") {
        let app = TestApp::spawn_adjusted(backend, |s| s.cors_origins = Some(ORIGIN.into())).await;
        // Deny: an origin not listed gets no permission.
        let refused = preflight(&app, "https://evil.example.com").await;
        assert!(
            refused
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{:?}",
            refused.headers()
        );
        // Allow: the preflight of a listed origin names it, the headers clients send and a
        // max-age; the request itself carries the origin too.
        let allowed = preflight(&app, ORIGIN).await;
        assert!(allowed.status().is_success(), "{}", allowed.status());
        let header = |name: &str| {
            allowed
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_ascii_lowercase()
        };
        assert_eq!(header("access-control-allow-origin"), ORIGIN);
        for name in [
            "authorization",
            "content-type",
            "x-tenant-id",
            "apollographql-client-name",
        ] {
            assert!(
                header("access-control-allow-headers").contains(name),
                "{name} not allowed: {}",
                header("access-control-allow-headers")
            );
        }
        assert!(header("access-control-allow-methods").contains("post"));
        assert_eq!(header("access-control-max-age"), "600");
        let post = reqwest::Client::new()
            .post(format!("{}/graphql", app.base_url))
            .header("origin", ORIGIN)
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .expect("post");
        assert_eq!(
            post.headers()
                .get("access-control-allow-origin")
                .and_then(|v| v.to_str().ok()),
            Some(ORIGIN)
        );
        app.stop().await;
    }
}

#[test]
fn cors_settings_are_checked() {
    use rowgate::config::{CorsOrigins, Settings};
    let resolve = |origins: Option<&str>, credentials: Option<&str>| {
        Settings {
            database_url: Some("sqlite://x.db".into()),
            jwt_secret: Some("0123456789abcdef0123456789abcdef".into()),
            cors_origins: origins.map(str::to_owned),
            cors_credentials: credentials.map(str::to_owned),
            ..Settings::default()
        }
        .resolve()
    };
    let err = resolve(Some("*"), Some("true")).expect_err("* with credentials");
    assert_eq!(err.setting, "ROWGATE_CORS_ORIGINS");
    let err = resolve(Some("https://app.example.com/"), None).expect_err("a path");
    assert!(err.problem.contains("scheme://host"), "{}", err.problem);
    assert_eq!(
        resolve(Some("*"), None).expect("any").cors.origins,
        CorsOrigins::Any
    );
    assert_eq!(
        resolve(None, None).expect("none").cors.origins,
        CorsOrigins::None,
        "an explicit database is not the embedded default"
    );
    assert_eq!(
        resolve(Some("https://a.example, http://localhost:5173"), None)
            .expect("list")
            .cors
            .origins,
        CorsOrigins::List(vec![
            "https://a.example".into(),
            "http://localhost:5173".into()
        ])
    );
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// POSTs `body` accepting `accept`: the status, the content type and the JSON body.
async fn post_accepting(
    app: &TestApp,
    accept: &str,
    body: Value,
    token: Option<&str>,
) -> (u16, String, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/graphql", app.base_url))
        .header("accept", accept)
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("post");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        status,
        content_type,
        response.json().await.expect("json body"),
    )
}

#[tokio::test]
async fn graphql_response_json_gets_its_media_type_and_4xx_for_request_errors() {
    for backend in
        sqlite_only("graphql_response_json_gets_its_media_type_and_4xx_for_request_errors")
    {
        let app = TestApp::spawn(backend).await;
        let bob = app.token(BOB, Some(ACME));
        let failures = [
            (
                json!({ "query": "{ posts { " }),
                "syntax error at line 1, column 11",
            ),
            (
                json!({ "query": "{ posts { noSuchField } }" }),
                "noSuchField",
            ),
            (
                json!({ "query": "query($n: Int!) { posts(first: $n) { totalCount } }", "variables": { "n": "x" } }),
                "",
            ),
            (json!({ "variables": {} }), "no `query`"),
        ];
        for (request, says) in failures {
            let (status, content_type, body) =
                post_accepting(&app, GRAPHQL_RESPONSE, request.clone(), Some(&bob)).await;
            assert_eq!(status, 400, "{request}: {body}");
            assert!(content_type.starts_with(GRAPHQL_RESPONSE), "{content_type}");
            assert!(
                body.get("data").is_none(),
                "a request error has no data: {body}"
            );
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{body}"
            );
            let message = body["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(message.contains(says), "{message}");
            assert!(
                !message.contains("-->") && !message.contains('^'),
                "{message}"
            );
        }
        // A bad token keeps its status and code under the new media type.
        let (status, content_type, body) = post_accepting(
            &app,
            GRAPHQL_RESPONSE,
            json!({ "query": "{ me { id } }" }),
            Some("not-a-token"),
        )
        .await;
        assert_eq!(status, 401, "{body}");
        assert!(content_type.starts_with(GRAPHQL_RESPONSE), "{content_type}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        // A result is 200 under either media type; a request error is 200 under
        // application/json, as GraphQL over HTTP says for that media type.
        let (status, content_type, body) = post_accepting(
            &app,
            GRAPHQL_RESPONSE,
            json!({ "query": "{ posts(first: 1) { totalCount } }" }),
            Some(&bob),
        )
        .await;
        assert_eq!(
            (status, body["data"]["posts"]["totalCount"].is_number()),
            (200, true)
        );
        assert!(content_type.starts_with(GRAPHQL_RESPONSE), "{content_type}");
        let (status, content_type, body) = post_accepting(
            &app,
            "application/json",
            json!({ "query": "{ posts { " }),
            Some(&bob),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        app.stop().await;
    }
}

#[tokio::test]
async fn field_errors_carry_their_path_and_null_the_nearest_nullable_parent() {
    for backend in sqlite_only("field_errors_carry_their_path_and_null_the_nearest_nullable_parent")
    {
        let app = TestApp::spawn(backend).await;
        let bob = app.token(BOB, Some(ACME));
        // `author` (Profile, nullable) holds a failing non-null connection: the author
        // becomes null, everything else stays. Before: no path, and the failing key was
        // simply missing from its object.
        let (_, body) = app
            .graphql(
                "{ posts(first: 2) { totalCount nodes { id author { id posts(first: 1000) { totalCount } } } } }",
                json!({}),
                Some(&bob),
            )
            .await;
        let nodes = body["data"]["posts"]["nodes"].as_array().expect("nodes");
        assert_eq!(nodes.len(), 2, "{body}");
        assert!(body["data"]["posts"]["totalCount"].is_number(), "{body}");
        for (i, node) in nodes.iter().enumerate() {
            assert!(node["id"].is_string(), "{body}");
            assert!(
                node.as_object().is_some_and(|n| n.contains_key("author"))
                    && node["author"].is_null(),
                "{body}"
            );
            let error = body["errors"]
                .as_array()
                .and_then(|errors| {
                    errors
                        .iter()
                        .find(|e| e["path"] == json!(["posts", "nodes", i, "author", "posts"]))
                })
                .unwrap_or_else(|| panic!("no error at node {i}: {body}"));
            assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{body}");
            assert!(error["locations"][0]["line"].as_u64() >= Some(1), "{body}");
        }
        // A non-null root field that fails nulls `data`.
        let (_, body) = app
            .graphql(
                "{ posts(first: 1000) { totalCount } }",
                json!({}),
                Some(&bob),
            )
            .await;
        assert!(
            body.as_object().is_some_and(|b| b.contains_key("data")) && body["data"].is_null(),
            "{body}"
        );
        assert_eq!(body["errors"][0]["path"], json!(["posts"]), "{body}");
        // A required input field left out is a validation error naming it, before any
        // statement runs.
        let before = app.statements();
        let (_, body) = app
            .graphql(
                "mutation { createComment(input: {body: \"x\"}) { id } }",
                json!({}),
                Some(&bob),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("postId")),
            "{body}"
        );
        assert!(body.get("data").is_none(), "{body}");
        assert_eq!(app.statements(), before, "validation ran a statement");
        // A refused mutation names its field; mutation fields are nullable, so the
        // other mutations of the request keep their results.
        let (_, body) = app
            .graphql(
                "mutation { createComment(input: {postId: \"00000000-0000-4000-8000-000000000000\", body: \"x\"}) { id } \
                 createPost(input: {title: \"kept\", body: \"b\"}) { title } }",
                json!({}),
                Some(&bob),
            )
            .await;
        assert!(body["data"]["createComment"].is_null(), "{body}");
        assert_eq!(body["data"]["createPost"]["title"], "kept", "{body}");
        assert_eq!(
            body["errors"][0]["path"],
            json!(["createComment"]),
            "{body}"
        );
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{body}"
        );
        // The response keeps the document's field order (read as text: a parsed JSON
        // object would sort its keys).
        let text = reqwest::Client::new()
            .post(format!("{}/graphql", app.base_url))
            .bearer_auth(&bob)
            .json(&json!({ "query": "{ posts(first: 1) { nodes { author { displayName } title id } } me { userId } }" }))
            .send()
            .await
            .expect("post")
            .text()
            .await
            .expect("body");
        assert!(text.find("\"posts\"") < text.find("\"me\""), "{text}");
        assert!(text.find("\"title\"") < text.find("\"id\""), "{text}");
        // A relation resolves after the scalars beside it, and still comes first.
        assert!(text.find("\"author\"") < text.find("\"title\""), "{text}");
        app.stop().await;
    }
}
