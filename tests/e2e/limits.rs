//! Request limits over real HTTP: each one refuses a request just above it and accepts one
//! just below, before any SQL runs (the served store's statement counter does not move);
//! introspection can be turned off; GET runs queries only; and every error GraphQL itself
//! raises (parse, validation) carries an `extensions.code`.

use reqwest::StatusCode;
use rowgate::config::Settings;
use rowgate_tests::demo::{ACME, BOB};
use rowgate_tests::{TestApp, backends, error_code};
use serde_json::{Value, json};

/// Small limits, so that "just above" and "just below" are easy to write.
fn small_limits(settings: &mut Settings) {
    settings.max_depth = Some("5".into());
    settings.max_complexity = Some("50".into());
    settings.complexity_unpaged_rows = Some("10".into());
    settings.max_aliases = Some("3".into());
    settings.max_document_bytes = Some("400".into());
    settings.max_variables_bytes = Some("100".into());
    settings.max_body_bytes = Some("2048".into());
    settings.max_batch = Some("2".into());
}

fn no_introspection(settings: &mut Settings) {
    settings.introspection = Some("false".into());
}

/// A request the limits let through: HTTP 200 without errors.
async fn accepted(app: &TestApp, query: &str, variables: Value, token: &str) -> Value {
    let (status, body) = app.graphql(query, variables, Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    assert!(body.get("errors").is_none(), "{query}: {body}");
    body
}

/// A request refused by a limit: HTTP 400, a GraphQL-shaped body with `code` and no data,
/// and not one statement run.
async fn refused(app: &TestApp, query: &str, variables: Value, token: &str, code: &str) -> Value {
    let before = app.statements();
    let (status, body) = app.graphql(query, variables, Some(token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
    assert_eq!(error_code(&body), Some(code), "{query}: {body}");
    assert!(body["errors"][0]["message"].is_string(), "{body}");
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(
        app.statements(),
        before,
        "no SQL for a refused request: {query}"
    );
    body
}

async fn post_raw(app: &TestApp, body: String) -> (StatusCode, Value) {
    let response = app
        .http
        .post(format!("{}/graphql", app.base_url))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

#[tokio::test]
async fn depth_and_cost_refuse_just_above_and_accept_at_the_limit() {
    for backend in backends("depth_and_cost_refuse_just_above_and_accept_at_the_limit") {
        let app = TestApp::spawn_adjusted(backend, small_limits).await;
        let bob = app.token(BOB, Some(ACME));

        // Depth 5 passes, 6 does not, written out or through a fragment.
        accepted(
            &app,
            "{ posts(first: 1) { nodes { author { posts(first: 1) { totalCount } } } } }",
            json!({}),
            &bob,
        )
        .await;
        refused(
            &app,
            "{ posts(first: 1) { nodes { author { posts(first: 1) { nodes { id } } } } } }",
            json!({}),
            &bob,
            "QUERY_TOO_COMPLEX",
        )
        .await;
        refused(
            &app,
            "{ posts(first: 1) { nodes { ...Deep } } } fragment Deep on Post { author { posts(first: 1) { nodes { id } } } }",
            json!({}),
            &bob,
            "QUERY_TOO_COMPLEX",
        )
        .await;

        // Cost: 1 + rows × (1 per node). 49 rows cost 50, 50 rows cost 51.
        accepted(
            &app,
            "{ posts(first: 49) { nodes { id } } }",
            json!({}),
            &bob,
        )
        .await;
        refused(
            &app,
            "{ posts(first: 50) { nodes { id } } }",
            json!({}),
            &bob,
            "QUERY_TOO_COMPLEX",
        )
        .await;
        // Through a variable, and with `last`.
        let by_variable = "query($n: Int) { posts(last: $n) { edges { node { id } } } }";
        // 1 + n × (edge 1 + node 1): 24 rows cost 49, 25 rows cost 51.
        accepted(&app, by_variable, json!({"n": 24}), &bob).await;
        refused(
            &app,
            by_variable,
            json!({"n": 25}),
            &bob,
            "QUERY_TOO_COMPLEX",
        )
        .await;
        // Nested connections multiply: 1 + 7 × (1 + 1 + 5) = 50; with 6 comments, 57.
        accepted(
            &app,
            "{ posts(first: 7) { nodes { comments(first: 5) { nodes { id } } } } }",
            json!({}),
            &bob,
        )
        .await;
        let body = refused(
            &app,
            "{ posts(first: 7) { nodes { comments(first: 6) { nodes { id } } } } }",
            json!({}),
            &bob,
            "QUERY_TOO_COMPLEX",
        )
        .await;
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("57")),
            "{body}"
        );
        // Without `first`, a connection counts 10 rows: 1 + 10 × (1 + 1 + 1 + 1) = 41 …
        accepted(&app, "{ posts { nodes { id author { displayName } tenant { name } comments(first: 1) { totalCount } } } }", json!({}), &bob).await;
        // … and nested without `first`, 1 + 10 × (1 + 1 + 10) = 121.
        refused(
            &app,
            "{ posts { nodes { comments { nodes { id } } } } }",
            json!({}),
            &bob,
            "QUERY_TOO_COMPLEX",
        )
        .await;
        app.stop().await;
    }
}

#[tokio::test]
async fn aliases_refuse_just_above_the_limit_fragments_included() {
    for backend in backends("aliases_refuse_just_above_the_limit_fragments_included") {
        let app = TestApp::spawn_adjusted(backend, small_limits).await;
        let bob = app.token(BOB, Some(ACME));
        let body = accepted(
            &app,
            "{ a: me { userId } b: me { role } c: me { userId } }",
            json!({}),
            &bob,
        )
        .await;
        assert_eq!(body["data"]["a"]["userId"], BOB.to_string());
        refused(
            &app,
            "{ a: me { userId } b: me { role } c: me { userId } d: me { role } }",
            json!({}),
            &bob,
            "QUERY_TOO_COMPLEX",
        )
        .await;
        // Aliases inside a fragment count at every spread: 1 + 2 × 2 = 5.
        refused(
            &app,
            "{ a: me { ...Who } me { ...Who } } fragment Who on Me { u: userId r: role }",
            json!({}),
            &bob,
            "QUERY_TOO_COMPLEX",
        )
        .await;
        accepted(
            &app,
            "{ a: me { ...Who } } fragment Who on Me { u: userId r: role }",
            json!({}),
            &bob,
        )
        .await;
        app.stop().await;
    }
}

#[tokio::test]
async fn sizes_of_document_variables_body_and_batch() {
    for backend in backends("sizes_of_document_variables_body_and_batch") {
        let app = TestApp::spawn_adjusted(backend, small_limits).await;
        let bob = app.token(BOB, Some(ACME));

        // The document: 400 bytes pass, 401 do not (padded with a comment).
        let padded = |len: usize| {
            let mut query = String::from("{ me { userId } }\n#");
            query.push_str(&"x".repeat(len - query.len()));
            assert_eq!(query.len(), len);
            query
        };
        accepted(&app, &padded(400), json!({}), &bob).await;
        refused(&app, &padded(401), json!({}), &bob, "BAD_USER_INPUT").await;

        // The variables, as compact JSON: {"t":"…"} is 8 bytes plus the text.
        let q = "query($t: String) { posts(first: 1, filter: {title: {eq: $t}}) { totalCount } }";
        accepted(&app, q, json!({"t": "x".repeat(92)}), &bob).await;
        refused(
            &app,
            q,
            json!({"t": "x".repeat(93)}),
            &bob,
            "BAD_USER_INPUT",
        )
        .await;

        // The POST body: 2048 bytes pass, 2049 are 413 with a GraphQL-shaped error.
        let body_of = |len: usize| {
            let mut body = json!({"query": "{ me { userId } }"}).to_string();
            body.push_str(&" ".repeat(len - body.len()));
            body
        };
        let (status, body) = post_raw(&app, body_of(2048)).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        assert!(body.get("errors").is_none(), "{body}");
        let (status, body) = post_raw(&app, body_of(2049)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{backend}: {body}");
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        let (status, body) = post_raw(&app, body_of(1 << 20)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{backend}: {body}");

        // The batch: 2 operations pass, 3 do not, and neither do 0.
        let op = json!({"query": "{ me { role } }"});
        let (status, body) = post_raw(&app, json!([op, op]).to_string()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body.as_array().map(Vec::len), Some(2), "{body}");
        assert_eq!(body[1]["data"]["me"]["role"], "ANON", "{body}");
        for batch in [json!([op, op, op]), json!([])] {
            let (status, body) = post_raw(&app, batch.to_string()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{batch}: {body}");
            assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        }
        // One operation over a limit refuses the whole batch, before anything runs.
        let before = app.statements();
        let cheap = json!({"query": "{ posts(first: 1) { totalCount } }"});
        let costly = json!({"query": "{ posts(first: 50) { nodes { id } } }"});
        let (status, body) = post_raw(&app, json!([cheap, costly]).to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_code(&body), Some("QUERY_TOO_COMPLEX"), "{body}");
        assert_eq!(app.statements(), before);
        app.stop().await;
    }
}

#[tokio::test]
async fn default_limits_refuse_a_hundred_by_a_hundred() {
    for backend in backends("default_limits_refuse_a_hundred_by_a_hundred") {
        let app = TestApp::spawn(backend).await;
        let bob = app.token(BOB, Some(ACME));
        let body = refused(
            &app,
            "{ posts(first: 100) { nodes { title comments(first: 100) { nodes { body } } } } }",
            json!({}),
            &bob,
            "QUERY_TOO_COMPLEX",
        )
        .await;
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("10201")),
            "{body}"
        );
        accepted(
            &app,
            "{ posts(first: 20) { totalCount nodes { title author { displayName } comments(first: 3) { totalCount nodes { body author { displayName } } } } } }",
            json!({}),
            &bob,
        )
        .await;
        // Nesting far beyond the depth limit, and beyond what the parser can descend
        // without overflowing its stack (a list nested 600 deep aborted the process).
        for levels in [20, 2000] {
            let fields = format!("{{{}b{}}}", "a{".repeat(levels), "}".repeat(levels));
            refused(&app, &fields, json!({}), &bob, "QUERY_TOO_COMPLEX").await;
        }
        let list = format!(
            "{{ posts(orderBy: {}TITLE_ASC{}) {{ totalCount }} }}",
            "[".repeat(2000),
            "]".repeat(2000)
        );
        refused(&app, &list, json!({}), &bob, "QUERY_TOO_COMPLEX").await;
        accepted(&app, "{ me { role } }", json!({}), &bob).await;
        // Introspection is on by default, and the depth of GraphiQL's introspection query
        // (types → fields → type → ofType …) is not counted.
        let body = accepted(
            &app,
            "{ __schema { queryType { name } types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } }",
            json!({}),
            &bob,
        )
        .await;
        assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
        app.stop().await;
    }
}

#[tokio::test]
async fn introspection_off_refuses_schema_and_type() {
    for backend in backends("introspection_off_refuses_schema_and_type") {
        let app = TestApp::spawn_adjusted(backend, no_introspection).await;
        let bob = app.token(BOB, Some(ACME));
        for query in [
            "{ __schema { types { name } } }",
            "{ __type(name: \"Post\") { fields { name } } }",
        ] {
            let (status, body) = app.graphql(query, json!({}), Some(&bob)).await;
            assert_eq!(status, StatusCode::OK, "{backend}: {body}");
            assert_eq!(body["data"], Value::Null, "{body}");
            assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
            assert_eq!(
                body["errors"][0]["message"], "introspection is disabled on this server",
                "{body}"
            );
        }
        // `__typename` is not introspection of the schema; it keeps working.
        let body = accepted(
            &app,
            "{ __typename me { __typename role } }",
            json!({}),
            &bob,
        )
        .await;
        assert_eq!(body["data"]["__typename"], "Query");
        app.stop().await;
    }
}

#[tokio::test]
async fn get_runs_queries_and_refuses_mutations() {
    for backend in backends("get_runs_queries_and_refuses_mutations") {
        let app = TestApp::spawn(backend).await;
        let bob = app.token(BOB, Some(ACME));
        let get = |query: &str, operation_name: Option<&str>| {
            let mut params = vec![("query", query)];
            params.extend(operation_name.map(|name| ("operationName", name)));
            let url = reqwest::Url::parse_with_params(&format!("{}/graphql", app.base_url), params)
                .expect("url");
            app.http.get(url).bearer_auth(&bob).send()
        };
        let unread = "{ notifications(filter: {readAt: {isNull: true}}) { totalCount } }";
        let count = |body: &Value| body["data"]["notifications"]["totalCount"].as_i64();

        let response = get(unread, None).await.expect("request");
        assert_eq!(response.status(), StatusCode::OK, "{backend}");
        let body: Value = response.json().await.expect("json");
        let before = count(&body).unwrap_or_else(|| panic!("{body}"));
        assert!(
            before > 0,
            "bob has unread notifications in the demo data: {body}"
        );

        let both = "mutation Read { markAllNotificationsRead } query Q { me { role } }";
        for (query, operation_name) in [
            ("mutation { markAllNotificationsRead }", None),
            (both, Some("Read")),
        ] {
            let response = get(query, operation_name).await.expect("request");
            assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{query}");
            assert_eq!(
                response
                    .headers()
                    .get("allow")
                    .and_then(|v| v.to_str().ok()),
                Some("POST")
            );
            let body: Value = response.json().await.expect("GraphQL-shaped error");
            assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        }
        // The query of a document that also holds a mutation runs by GET when named.
        let response = get(both, Some("Q")).await.expect("request");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["data"]["me"]["role"], "AUTHENTICATED", "{body}");

        let (_, body) = app.graphql(unread, json!({}), Some(&bob)).await;
        assert_eq!(
            count(&body),
            Some(before),
            "nothing was marked read: {body}"
        );
        // The same mutation by POST runs.
        let (status, body) = app
            .graphql(
                "mutation { markAllNotificationsRead }",
                json!({}),
                Some(&bob),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        let (_, body) = app.graphql(unread, json!({}), Some(&bob)).await;
        assert!(count(&body).is_some_and(|after| after < before), "{body}");
        app.stop().await;
    }
}

#[tokio::test]
async fn parse_and_validation_errors_carry_bad_user_input() {
    for backend in backends("parse_and_validation_errors_carry_bad_user_input") {
        let app = TestApp::spawn(backend).await;
        let bob = app.token(BOB, Some(ACME));
        let cases = [
            ("{ posts { nodes { nope } } }", json!({})),
            ("{ posts(first: \"ten\") { totalCount } }", json!({})),
            ("query($id: UUID!) { post(id: $id) { id } }", json!({})),
            (
                "query($id: UUID!) { post(id: $id) { id } }",
                json!({"id": "not-a-uuid"}),
            ),
            ("{ post(id: \"not-a-uuid\") { id } }", json!({})),
            ("{ posts(orderBy: [NOPE_DESC]) { totalCount } }", json!({})),
            (
                "query($o: [PostOrderBy!]) { posts(orderBy: $o) { totalCount } }",
                json!({"o": ["NOPE"]}),
            ),
            ("{ posts { totalCount }", json!({})),
            ("query A { me { role } } query B { me { role } }", json!({})),
            ("subscription { me { role } }", json!({})),
        ];
        // Resolving bob's principal reads his facts once (counted); then they are cached.
        let (status, _) = app.graphql("{ __typename }", json!({}), Some(&bob)).await;
        assert_eq!(status, StatusCode::OK);
        for (query, variables) in cases {
            let before = app.statements();
            let (status, body) = app.graphql(query, variables.clone(), Some(&bob)).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{backend} {query} {variables}: {body}"
            );
            assert_eq!(body["data"], Value::Null, "{query}: {body}");
            let errors = body["errors"]
                .as_array()
                .unwrap_or_else(|| panic!("{body}"));
            assert!(!errors.is_empty());
            for error in errors {
                assert_eq!(
                    error["extensions"]["code"], "BAD_USER_INPUT",
                    "{query} {variables}: {body}"
                );
            }
            assert!(!body.to_string().contains("SELECT"), "{body}");
            assert_eq!(app.statements(), before, "nothing ran: {query}");
        }
        app.stop().await;
    }
}

/// Type name → member names (fields, input fields or enum values) of an SDL document.
fn sdl_members(sdl: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut types = std::collections::BTreeMap::new();
    let mut current: Option<String> = None;
    let mut in_description = false;
    for line in sdl.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("\"\"\"") {
            // A block description: `"""` alone opens or closes one; `"""text"""` is whole.
            let whole = trimmed.len() > 6 && trimmed.ends_with("\"\"\"");
            if !whole {
                in_description = !in_description;
            }
            continue;
        }
        if in_description {
            continue;
        }
        let kinds = [
            "type ",
            "input ",
            "enum ",
            "scalar ",
            "interface ",
            "union ",
        ];
        if let Some(rest) = kinds.iter().find_map(|k| line.strip_prefix(k)) {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            types.insert(name.clone(), Vec::new());
            current = line.ends_with('{').then_some(name);
        } else if line.starts_with('}') {
            current = None;
        } else if let (Some(name), Some(member)) = (&current, line.strip_prefix('\t'))
            && !member.starts_with(['"', '\t', '@'])
        {
            let member: String = member
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !member.is_empty() {
                types.get_mut(name).expect("type").push(member);
            }
        }
    }
    for members in types.values_mut() {
        members.sort();
    }
    types
}

#[tokio::test]
async fn introspection_and_the_sdl_file_list_the_same_types() {
    let backend = backends("introspection_and_the_sdl_file_list_the_same_types")
        .into_iter()
        .next()
        .expect("embedded backend");
    let app = TestApp::spawn(backend).await;
    // Anonymous: introspection is on by default, for everyone.
    let (status, body) = app
        .graphql(
            "{ __schema { types { name fields(includeDeprecated: true) { name } inputFields { name } enumValues(includeDeprecated: true) { name } } } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let builtin = ["Boolean", "Float", "ID", "Int", "String"];
    let introspected: std::collections::BTreeMap<String, Vec<String>> =
        body["data"]["__schema"]["types"]
            .as_array()
            .expect("types")
            .iter()
            .map(|t| {
                let name = t["name"].as_str().expect("name").to_owned();
                let mut members: Vec<String> = ["fields", "inputFields", "enumValues"]
                    .iter()
                    .flat_map(|k| t[*k].as_array().cloned().unwrap_or_default())
                    .map(|m| m["name"].as_str().expect("member").to_owned())
                    .collect();
                members.sort();
                (name, members)
            })
            .filter(|(name, _)| !name.starts_with("__") && !builtin.contains(&name.as_str()))
            .collect();
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql"))
        .expect("schema.graphql");
    let printed = sdl_members(&file);
    let only_printed: Vec<_> = printed
        .keys()
        .filter(|k| !introspected.contains_key(*k))
        .collect();
    let only_introspected: Vec<_> = introspected
        .keys()
        .filter(|k| !printed.contains_key(*k))
        .collect();
    assert!(
        only_printed.is_empty() && only_introspected.is_empty(),
        "only in schema.graphql: {only_printed:?}; only in introspection: {only_introspected:?}"
    );
    for (name, members) in &introspected {
        assert_eq!(members, &printed[name], "members of {name}");
    }
    // `me` reuses the catalog's role enums instead of look-alikes of its own.
    for duplicate in ["TenantRole", "PlatformRole"] {
        assert!(!introspected.contains_key(duplicate), "{duplicate} is back");
    }
    app.stop().await;
}
