//! The GraphQL API over real HTTP: connections, pagination both ways, filters with every
//! operator, relations three levels deep, aggregates, lookups by key, mutations and their
//! errors, and the leak tests of every read path.

use reqwest::StatusCode;
use rowgate_tests::demo::*;
use rowgate_tests::{TestApp, backends, error_code};
use serde_json::{Value, json};
use uuid::Uuid;

fn post(n: u128) -> String {
    Uuid::from_u128(0xdeadbeef_0000_4000_8000_000000000000 | (4 << 16) | n).to_string()
}

fn titles(body: &Value, path: &[&str]) -> Vec<String> {
    let mut node = &body["data"];
    for key in path {
        node = &node[*key];
    }
    node["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes at {path:?}: {body}"))
        .iter()
        .map(|n| n["title"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn ok(app: &TestApp, query: &str, variables: Value, token: Option<&str>) -> Value {
    let (status, body) = app.graphql(query, variables.clone(), token).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    assert!(body.get("errors").is_none(), "{query}\n{variables}\n{body}");

    body
}

async fn err(app: &TestApp, query: &str, variables: Value, token: Option<&str>) -> (String, Value) {
    let (_, body) = app.graphql(query, variables, token).await;
    let code = error_code(&body)
        .unwrap_or_else(|| panic!("no error code: {body}"))
        .to_owned();
    (code, body)
}

#[tokio::test]
async fn connections_page_both_ways_with_stable_cursors() {
    for backend in backends("connections_page_both_ways_with_stable_cursors") {
        let app = TestApp::spawn(backend).await;
        let carol = app.token(CAROL, Some(ACME));
        let q = "query($first: Int, $after: String, $last: Int, $before: String, $offset: Int) {
            posts(orderBy: [CREATED_AT_DESC], first: $first, after: $after, last: $last, before: $before, offset: $offset) {
                totalCount
                nodes { title }
                edges { cursor node { id } }
                pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
            } }";
        let all = ok(&app, q, json!({"first": 100}), Some(&carol)).await;
        let all_titles = titles(&all, &["posts"]);
        assert_eq!(all_titles.len(), 10, "{backend}: {all_titles:?}");
        assert_eq!(all["data"]["posts"]["totalCount"], 10);
        assert_eq!(all_titles[0], "Heidi's public note", "newest first");

        // Forward, three at a time.
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = ok(&app, q, json!({"first": 3, "after": after}), Some(&carol)).await;
            seen.extend(titles(&page, &["posts"]));
            let info = &page["data"]["posts"]["pageInfo"];
            if info["hasNextPage"] == false {
                break;
            }
            after = info["endCursor"].as_str().map(str::to_owned);
        }
        assert_eq!(seen, all_titles, "{backend}: forward pages");

        // Backward, four at a time.
        let mut seen_back: Vec<String> = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let page = ok(&app, q, json!({"last": 4, "before": before}), Some(&carol)).await;
            let mut chunk = titles(&page, &["posts"]);
            chunk.extend(seen_back);
            seen_back = chunk;
            let info = &page["data"]["posts"]["pageInfo"];
            if info["hasPreviousPage"] == false {
                break;
            }
            before = info["startCursor"].as_str().map(str::to_owned);
        }
        assert_eq!(seen_back, all_titles, "{backend}: backward pages");

        // Offset.
        let page = ok(&app, q, json!({"first": 2, "offset": 3}), Some(&carol)).await;
        assert_eq!(titles(&page, &["posts"]), all_titles[3..5].to_vec());

        // Bad paging input is BAD_USER_INPUT, not a silent truncation.
        for vars in [
            json!({"first": 101}),
            json!({"first": -1}),
            json!({"last": 1000000}),
            json!({"first": 2, "after": "not-a-cursor"}),
            json!({"first": 1, "last": 1}),
        ] {
            let (code, body) = err(&app, q, vars.clone(), Some(&carol)).await;
            assert_eq!(code, "BAD_USER_INPUT", "{vars}: {body}");
        }
        // A cursor of another ordering is refused.
        let other = ok(
            &app,
            "{ posts(orderBy: [TITLE_ASC], first: 1) { pageInfo { endCursor } } }",
            json!({}),
            Some(&carol),
        )
        .await;
        let cursor = other["data"]["posts"]["pageInfo"]["endCursor"]
            .as_str()
            .expect("cursor")
            .to_owned();
        let (code, _) = err(&app, q, json!({"first": 1, "after": cursor}), Some(&carol)).await;
        assert_eq!(code, "BAD_USER_INPUT");
        app.stop().await;
    }
}

#[tokio::test]
async fn filters_support_every_operator() {
    for backend in backends("filters_support_every_operator") {
        let app = TestApp::spawn(backend).await;
        let carol = app.token(CAROL, Some(ACME));
        let q =
            "query($f: PostFilter) { posts(filter: $f, orderBy: [TITLE_ASC]) { nodes { title } } }";
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (json!({"title": {"eq": "Q3 roadmap"}}), vec!["Q3 roadmap"]),
            (
                json!({"status": {"eq": "DRAFT"}}),
                vec!["Half-written thoughts", "Reorg plans (draft)"],
            ),
            (
                json!({"status": {"neq": "PUBLISHED"}}),
                vec![
                    "Half-written thoughts",
                    "Old announcement",
                    "Reorg plans (draft)",
                ],
            ),
            (
                json!({"status": {"in": ["ARCHIVED", "DRAFT"]}, "authorId": {"eq": ALICE.to_string()}}),
                vec!["Old announcement", "Reorg plans (draft)"],
            ),
            (
                json!({"visibility": {"notIn": ["TENANT", "COMMUNITY"]}}),
                vec!["Globex is hiring", "Heidi's public note", "Welcome to Acme"],
            ),
            (
                json!({"communityId": {"isNull": false}}),
                vec!["Office plants", "Saturday long run"],
            ),
            (json!({"title": {"like": "Q3%"}}), vec!["Q3 roadmap"]),
            (json!({"title": {"ilike": "q3%"}}), vec!["Q3 roadmap"]),
            (
                json!({"title": {"startsWith": "Heidi"}}),
                vec!["Heidi's hot take", "Heidi's public note"],
            ),
            (
                json!({"title": {"contains": "plant"}}),
                vec!["Office plants"],
            ),
            (json!({"title": {"contains": "%"}}), vec![]),
            (
                json!({"title": {"gt": "S"}}),
                vec!["Saturday long run", "Welcome to Acme"],
            ),
            (
                json!({"title": {"lte": "Globex is hiring"}}),
                vec!["Globex is hiring"],
            ),
            (
                json!({"createdAt": {"gte": "2025-12-29T01:00:00Z"}}),
                vec!["Globex is hiring", "Heidi's public note"],
            ),
            (
                json!({"metadata": {"hasKey": "tags"}, "title": {"startsWith": "Q"}}),
                vec!["Q3 roadmap"],
            ),
            (
                json!({"metadata": {"contains": {"readingMinutes": 2}}, "title": {"startsWith": "Old"}}),
                vec!["Old announcement"],
            ),
            (
                json!({"or": [{"title": {"eq": "Q3 roadmap"}}, {"title": {"eq": "Office plants"}}]}),
                vec!["Office plants", "Q3 roadmap"],
            ),
            (
                json!({"and": [{"status": {"eq": "PUBLISHED"}}, {"visibility": {"eq": "COMMUNITY"}}]}),
                vec!["Office plants", "Saturday long run"],
            ),
            (
                json!({"not": {"tenantId": {"eq": ACME.to_string()}}}),
                vec!["Globex is hiring"],
            ),
            (
                json!({"author": {"displayName": {"eq": "Heidi Member"}}}),
                vec!["Heidi's hot take", "Heidi's public note"],
            ),
            (
                json!({"comments": {"some": {"body": {"contains": "mobile"}}}}),
                vec!["Q3 roadmap"],
            ),
            (
                json!({"comments": {"none": {}}, "status": {"eq": "PUBLISHED"}, "tenantId": {"eq": ACME.to_string()}}),
                vec!["Heidi's hot take", "Heidi's public note", "Office plants"],
            ),
            (
                json!({"comments": {"every": {"authorId": {"eq": CAROL.to_string()}}, "some": {}}}),
                vec!["Saturday long run", "Welcome to Acme"],
            ),
            (json!({"title": {"eq": "x'; DROP TABLE posts; --"}}), vec![]),
        ];
        for (filter, expected) in cases {
            let body = ok(&app, q, json!({"f": filter}), Some(&carol)).await;
            assert_eq!(titles(&body, &["posts"]), expected, "{backend} {filter}");
        }
        // Bad filter input.
        for filter in [
            json!({"id": {"eq": "not-a-uuid"}}),
            json!({"createdAt": {"gt": "yesterday"}}),
            json!({"status": {"eq": "DELETED"}}),
            json!({"nope": {"eq": 1}}),
        ] {
            let (status, body) = app.graphql(q, json!({"f": filter}), Some(&carol)).await;
            assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR);
            assert!(body["errors"].is_array(), "{filter}: {body}");
            assert!(
                body["data"].is_null() || body["data"]["posts"].is_null(),
                "{body}"
            );
        }
        // Filtering on a column masked for the principal is refused (it would reveal it).
        let (code, _) = err(
            &app,
            "{ profiles(filter: {email: {eq: \"alice@example.com\"}}) { totalCount } }",
            json!({}),
            Some(&carol),
        )
        .await;
        assert_eq!(code, "BAD_USER_INPUT");
        let erin = app.token(ERIN, None);
        let body = ok(
            &app,
            "{ profiles(filter: {email: {eq: \"alice@example.com\"}}) { totalCount } }",
            json!({}),
            Some(&erin),
        )
        .await;
        assert_eq!(body["data"]["profiles"]["totalCount"], 1);
        app.stop().await;
    }
}

#[tokio::test]
async fn relations_three_levels_deep_and_lookups_by_key() {
    for backend in backends("relations_three_levels_deep_and_lookups_by_key") {
        let app = TestApp::spawn(backend).await;
        let bob = app.token(BOB, Some(ACME));
        let q = r#"query($id: UUID!) {
            post(id: $id) {
                title
                author { displayName email posts(orderBy: [TITLE_ASC]) { totalCount nodes { title } } }
                tenant { name }
                comments(orderBy: [CREATED_AT_ASC]) {
                    totalCount
                    aggregate { count min { createdAt } max { createdAt } }
                    nodes { body author { displayName tenantMembers { nodes { tenant { subdomain } } } } comments { nodes { body } } }
                }
                reactions { nodes { emoji user { displayName } } }
            } }"#;
        let body = ok(&app, q, json!({"id": post(2)}), Some(&bob)).await;
        let p = &body["data"]["post"];
        assert_eq!(p["title"], "Q3 roadmap", "{backend}");
        assert_eq!(p["author"]["displayName"], "Alice Owner");
        assert!(p["author"]["email"].is_null(), "email masked for bob");
        assert_eq!(p["tenant"]["name"], "Acme");
        // Heidi's comment is hidden from bob, who blocked her.
        let bodies: Vec<&str> = p["comments"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|c| c["body"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(bodies, ["Looking forward to it!", "Thanks Bob."]);
        assert_eq!(p["comments"]["totalCount"], 2);
        assert_eq!(p["comments"]["aggregate"]["count"], 2);
        assert!(p["comments"]["aggregate"]["min"]["createdAt"].is_string());
        assert_eq!(
            p["comments"]["nodes"][0]["author"]["tenantMembers"]["nodes"][0]["tenant"]["subdomain"],
            "acme"
        );
        assert_eq!(
            p["comments"]["nodes"][0]["comments"]["nodes"][0]["body"], "Thanks Bob.",
            "replies through parent_id"
        );
        // Alice's posts as bob sees them: no drafts, no archived.
        assert_eq!(
            titles(&body, &["post", "author", "posts"]),
            ["Q3 roadmap", "Welcome to Acme"]
        );

        // Composite keys; a row the principal may not read is null exactly like a missing one.
        let member = ok(&app, "query($t: UUID!, $u: UUID!) { tenantMember(tenantId: $t, userId: $u) { role user { displayName } } }",
            json!({"t": ACME.to_string(), "u": ALICE.to_string()}), Some(&bob)).await;
        assert_eq!(member["data"]["tenantMember"]["role"], "OWNER");
        let frank = app.token(FRANK, Some(GLOBEX));
        let hidden = ok(
            &app,
            "query($t: UUID!, $u: UUID!) { tenantMember(tenantId: $t, userId: $u) { role } }",
            json!({"t": ACME.to_string(), "u": ALICE.to_string()}),
            Some(&frank),
        )
        .await;
        assert!(hidden["data"]["tenantMember"].is_null());
        let missing = ok(
            &app,
            "query($id: UUID!) { post(id: $id) { title } }",
            json!({"id": Uuid::new_v4().to_string()}),
            Some(&frank),
        )
        .await;
        assert!(missing["data"]["post"].is_null());
        let draft = ok(
            &app,
            "query($id: UUID!) { post(id: $id) { title } }",
            json!({"id": post(3)}),
            Some(&frank),
        )
        .await;
        assert!(draft["data"]["post"].is_null());
        // Invalid key values.
        let (status, body) = app
            .graphql("{ post(id: \"nope\") { title } }", json!({}), Some(&frank))
            .await;
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body["errors"].is_array());
        app.stop().await;
    }
}

/// 20 posts × 10 comments each × their authors: exactly three statements.
#[tokio::test]
async fn nested_relations_cost_one_statement_per_level() {
    for backend in backends("nested_relations_cost_one_statement_per_level") {
        let app = TestApp::spawn(backend).await;
        let store = app.store();
        let carol_p = app
            .principal(Some(CAROL), Some(ACME), "authenticated")
            .await;
        let ctx = rowgate::planner::WriteContext {
            principal: &carol_p,
            request_id: "setup",
            deadline: None,
        };
        let people = [ALICE, BOB, CAROL, HEIDI, MALLORY];
        for i in 0..20 {
            let mut row = serde_json::Map::new();
            row.insert("title".into(), json!(format!("Bulk {i:02}")));
            row.insert("body".into(), json!("b"));
            row.insert("status".into(), json!("published"));
            let written = store.insert(ctx, "posts", row).await.expect("post");
            for k in 0..10 {
                let author = people[(i + k) % people.len()];
                let p = app
                    .principal(Some(author), Some(ACME), "authenticated")
                    .await;
                let c = rowgate::planner::WriteContext {
                    principal: &p,
                    request_id: "setup",
                    deadline: None,
                };
                let mut comment = serde_json::Map::new();
                comment.insert("post_id".into(), written["id"].clone());
                comment.insert("body".into(), json!(format!("c{k}")));
                store.insert(c, "comments", comment).await.expect("comment");
            }
        }
        let carol = app.token(CAROL, Some(ACME));
        let q = "{ posts(filter: {title: {startsWith: \"Bulk\"}}, first: 20) { nodes { title comments(first: 10) { nodes { body author { displayName } } } } } }";
        // Warm once (principal facts are not cached yet), then count the reads of one request.
        ok(&app, q, json!({}), Some(&carol)).await;
        let before = app.statements();
        let body = ok(&app, q, json!({}), Some(&carol)).await;
        let statements = app.statements() - before;
        let posts = body["data"]["posts"]["nodes"].as_array().expect("posts");
        assert_eq!(posts.len(), 20, "{backend}");
        assert!(posts.iter().all(
            |p| p["comments"]["nodes"].as_array().is_some_and(
                |c| c.len() == 10 && c.iter().all(|c| c["author"]["displayName"].is_string())
            )
        ));
        assert_eq!(statements, 3, "{backend}: posts, comments, authors");
        // A hundred siblings in one list (more than the 30 above which a list's futures are
        // polled through a queue) still batch their authors into one statement.
        let q = "{ comments(filter: {body: {in: [\"c0\", \"c1\", \"c2\", \"c3\", \"c4\", \"c5\", \"c6\", \"c7\", \"c8\", \"c9\"]}}, first: 100) { totalCount nodes { body author { displayName } } } }";
        ok(&app, q, json!({}), Some(&carol)).await;
        let before = app.statements();
        let body = ok(&app, q, json!({}), Some(&carol)).await;
        let comments = body["data"]["comments"]["nodes"]
            .as_array()
            .expect("comments");
        assert_eq!(comments.len(), 100, "{backend}");
        assert!(
            comments
                .iter()
                .all(|c| c["author"]["displayName"].is_string())
        );
        assert_eq!(body["data"]["comments"]["totalCount"], 200, "{backend}");
        assert_eq!(
            app.statements() - before,
            2,
            "{backend}: the comments with their count, then their authors"
        );
        app.stop().await;
    }
}

/// `totalCount` rides on its page's statement (`COUNT(*) OVER (…)`) when the page is not
/// cut by a cursor, and always equals the count a separate statement gives (`aggregate
/// { count }`) — also past the end, backwards, after a cursor, and for hidden rows.
#[tokio::test]
async fn total_count_rides_on_the_page_statement() {
    for backend in backends("total_count_rides_on_the_page_statement") {
        let app = TestApp::spawn(backend).await;
        let bob = app.token(BOB, Some(ACME));
        let alice = app.token(ALICE, Some(ACME));
        // Deny first: Heidi's comment on the roadmap is hidden from bob (he blocked her),
        // and no count shows it — counted with the page or separately.
        let q = "query($id: UUID!) { post(id: $id) { comments(orderBy: [CREATED_AT_ASC]) { totalCount nodes { body } } } }";
        ok(&app, q, json!({"id": post(2)}), Some(&bob)).await;
        let before = app.statements();
        let body = ok(&app, q, json!({"id": post(2)}), Some(&bob)).await;
        assert_eq!(
            app.statements() - before,
            2,
            "{backend}: the post, then its comments with their count"
        );
        assert_eq!(
            body["data"]["post"]["comments"]["totalCount"], 2,
            "{backend}"
        );
        // Known values: a post without comments counts 0 (also with `first: 0`), and the
        // draft is not bob's to count at all.
        let counts = "query($a: UUID!, $b: UUID!, $c: UUID!) { a: post(id: $a) { comments(first: 0) { totalCount } } b: post(id: $b) { comments { totalCount } } c: post(id: $c) { comments { totalCount nodes { body } } } }";
        let ids = json!({"a": post(1), "b": post(2), "c": post(3)});
        let seen = ok(&app, counts, ids.clone(), Some(&bob)).await;
        assert_eq!(
            seen["data"]["a"]["comments"]["totalCount"], 1,
            "{backend}: {seen}"
        );
        assert_eq!(seen["data"]["b"]["comments"]["totalCount"], 2, "{backend}");
        assert!(
            seen["data"]["c"].is_null(),
            "{backend}: bob may not read the draft"
        );
        let seen = ok(&app, counts, ids, Some(&alice)).await;
        assert_eq!(
            seen["data"]["a"]["comments"]["totalCount"], 1,
            "{backend}: {seen}"
        );
        assert_eq!(seen["data"]["b"]["comments"]["totalCount"], 3, "{backend}");
        assert_eq!(seen["data"]["c"]["comments"]["totalCount"], 0, "{backend}");
        // Nested counts ride on their level's statement; the root's on its page (a UNION of
        // the read rules for posts). The fields of one object resolve one after the other, so
        // two aliases of a relation are two loads, each with what it selected.
        for (q, expected, what) in [
            (
                "{ posts { nodes { comments { totalCount } } } }",
                2,
                "posts, then their comments' counts",
            ),
            (
                "{ posts { totalCount nodes { a: comments { totalCount nodes { body } } b: comments { nodes { body } } } } }",
                3,
                "posts with their count, then each alias's comments",
            ),
        ] {
            ok(&app, q, json!({}), Some(&bob)).await;
            let before = app.statements();
            let body = ok(&app, q, json!({}), Some(&bob)).await;
            assert_eq!(app.statements() - before, expected, "{backend}: {what}");
            let posts = body["data"]["posts"]["nodes"].as_array().expect("posts");
            assert!(
                posts
                    .iter()
                    .any(|p| p["comments"]["totalCount"] != 0 || p["a"]["totalCount"] != 0),
                "{backend}: {body}"
            );
            for p in posts.iter().filter(|p| p.get("a").is_some()) {
                assert_eq!(
                    p["a"]["nodes"], p["b"]["nodes"],
                    "{backend}: both aliases see the same comments: {body}"
                );
            }
        }
        let inbox = "{ notifications(filter: {readAt: {isNull: true}}, orderBy: [CREATED_AT_DESC], first: 20) { totalCount nodes { title } } }";
        // Bob's unread notifications are his one, never alice's.
        let body = ok(&app, inbox, json!({}), Some(&bob)).await;
        assert_eq!(
            body["data"]["notifications"]["totalCount"], 1,
            "{backend}: {body}"
        );
        assert_eq!(
            body["data"]["notifications"]["nodes"][0]["title"],
            "New message from Alice"
        );
        ok(&app, inbox, json!({}), Some(&alice)).await;
        let before = app.statements();
        let body = ok(&app, inbox, json!({}), Some(&alice)).await;
        assert_eq!(
            app.statements() - before,
            1,
            "{backend}: one statement for the inbox"
        );
        assert_eq!(
            body["data"]["notifications"]["totalCount"], 1,
            "{backend}: {body}"
        );
        assert_eq!(
            body["data"]["notifications"]["nodes"][0]["title"],
            "Heidi commented on Q3 roadmap"
        );

        let first = ok(
            &app,
            "{ comments(first: 1, orderBy: [CREATED_AT_ASC]) { edges { cursor } } }",
            json!({}),
            Some(&bob),
        )
        .await;
        let cursor = first["data"]["comments"]["edges"][0]["cursor"]
            .as_str()
            .expect("a cursor")
            .to_owned();
        for args in [
            String::new(),
            "(first: 1)".into(),
            "(offset: 1)".into(),
            "(offset: 500)".into(),
            "(last: 1)".into(),
            "(filter: {body: {contains: \"o\"}}, first: 1)".into(),
            format!("(first: 1, after: \"{cursor}\", orderBy: [CREATED_AT_ASC])"),
        ] {
            for token in [&bob, &alice] {
                let root = ok(&app, &format!("{{ comments{args} {{ totalCount aggregate {{ count }} nodes {{ id }} }} notifications{args} {{ totalCount aggregate {{ count }} nodes {{ id }} }} }}"), json!({}), Some(token)).await;
                for list in ["comments", "notifications"] {
                    let c = &root["data"][list];
                    assert_eq!(
                        c["totalCount"], c["aggregate"]["count"],
                        "{backend} {list}{args}: {root}"
                    );
                }
                let nested = ok(&app, &format!("{{ posts {{ nodes {{ title comments{args} {{ totalCount aggregate {{ count }} nodes {{ id }} }} }} }} }}"), json!({}), Some(token)).await;
                let posts = nested["data"]["posts"]["nodes"].as_array().expect("posts");
                assert!(!posts.is_empty());
                for p in posts {
                    let c = &p["comments"];
                    assert_eq!(
                        c["totalCount"], c["aggregate"]["count"],
                        "{backend} {}{args}: {nested}",
                        p["title"]
                    );
                }
            }
        }
        app.stop().await;
    }
}

/// Nothing a principal may not read shows through any path.
#[tokio::test]
async fn no_path_leaks_a_hidden_row() {
    for backend in backends("no_path_leaks_a_hidden_row") {
        let app = TestApp::spawn(backend).await;
        let frank = app.token(FRANK, Some(GLOBEX));
        // Heidi's comment on the Acme roadmap is invisible to frank (Globex), and to bob
        // (who blocked her). Probing for its body must find nothing, by any path.
        for (token, who) in [
            (frank.clone(), "frank"),
            (app.token(BOB, Some(ACME)), "bob"),
        ] {
            let probes = [
                "{ posts(filter: {comments: {some: {body: {contains: \"mobile app\"}}}}) { totalCount nodes { title } } }",
                "{ comments(filter: {body: {contains: \"mobile app\"}}) { totalCount aggregate { count } nodes { body } } }",
                "{ profiles(filter: {comments: {some: {body: {contains: \"mobile app\"}}}}) { totalCount } }",
                "{ tenants { nodes { posts(filter: {comments: {some: {body: {contains: \"mobile app\"}}}}) { totalCount } } } }",
            ];
            for probe in probes {
                let body = ok(&app, probe, json!({}), Some(&token)).await;
                let text = body.to_string();
                assert!(
                    !text.contains("mobile app") && !text.contains("Q3 roadmap")
                        || who == "bob" && !text.contains("mobile app"),
                    "{backend} {who}: {probe} → {body}"
                );
                assert!(
                    !text.contains("\"totalCount\":1") && !text.contains("\"count\":1"),
                    "{backend} {who} counted the hidden comment: {probe} → {body}"
                );
            }
        }
        // Root list, by key, relation, aggregate, count: Acme's tenant-only posts stay hidden from frank.
        let body = ok(
            &app,
            "{ posts { totalCount aggregate { count } nodes { title } } }",
            json!({}),
            Some(&frank),
        )
        .await;
        assert_eq!(body["data"]["posts"]["totalCount"], 5);
        assert_eq!(body["data"]["posts"]["aggregate"]["count"], 5);
        let body = ok(
            &app,
            "query($id: UUID!) { post(id: $id) { title } }",
            json!({"id": post(2)}),
            Some(&frank),
        )
        .await;
        assert!(body["data"]["post"].is_null());
        let body = ok(&app, "query($id: UUID!) { profile(id: $id) { displayName posts { totalCount nodes { title } } } }", json!({"id": DAVE.to_string()}), Some(&frank)).await;
        assert_eq!(body["data"]["profile"]["posts"]["totalCount"], 2, "{body}");
        let body = ok(&app, "query($id: UUID!) { post(id: $id) { author { displayName posts { totalCount nodes { title } } } } }", json!({"id": post(1)}), Some(&frank)).await;
        assert!(
            body["data"]["post"]["author"].is_null(),
            "alice's profile is not readable by frank: {body}"
        );
        // Anonymous readers see only public posts, and nothing through relations.
        let body = ok(&app, "{ posts { totalCount nodes { title author { displayName } comments { totalCount } } } }", json!({}), None).await;
        assert_eq!(body["data"]["posts"]["totalCount"], 3);
        assert!(
            body["data"]["posts"]["nodes"]
                .as_array()
                .expect("nodes")
                .iter()
                .all(|p| p["author"].is_null())
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn mutations_write_through_the_policies() {
    for backend in backends("mutations_write_through_the_policies") {
        let app = TestApp::spawn(backend).await;
        let bob = app.token(BOB, Some(ACME));
        let frank = app.token(FRANK, Some(GLOBEX));
        let carol = app.token(CAROL, Some(ACME));

        // Create one, create many; presets are not in inputs at all.
        let created = ok(&app, "mutation { createPost(input: {title: \"Hello\", body: \"World\", status: PUBLISHED}) { id title status authorId tenantId author { displayName } } }", json!({}), Some(&bob)).await;
        let p = &created["data"]["createPost"];
        assert_eq!(
            (
                p["authorId"].clone(),
                p["tenantId"].clone(),
                p["status"].clone()
            ),
            (
                json!(BOB.to_string()),
                json!(ACME.to_string()),
                json!("PUBLISHED")
            ),
            "{backend}"
        );
        let id = p["id"].as_str().expect("id").to_owned();
        let (status, body) = app.graphql("mutation { createPost(input: {title: \"x\", body: \"y\", authorId: \"deadbeef-0000-4000-8000-000000020001\"}) { id } }", json!({}), Some(&bob)).await;
        assert!(
            body["errors"].is_array() && status != StatusCode::INTERNAL_SERVER_ERROR,
            "authorId is not an input field: {body}"
        );
        let many = ok(&app, "mutation { createPosts(inputs: [{title: \"a\", body: \"1\"}, {title: \"b\", body: \"2\"}]) { title status } }", json!({}), Some(&bob)).await;
        assert_eq!(
            many["data"]["createPosts"].as_array().map(Vec::len),
            Some(2)
        );
        assert_eq!(many["data"]["createPosts"][0]["status"], "DRAFT");
        // All or nothing: the second input fails, so the first does not land.
        let before = ok(&app, "{ posts { totalCount } }", json!({}), Some(&bob)).await["data"]["posts"]["totalCount"].clone();
        let (code, _) = err(&app, "mutation($c: UUID) { createPosts(inputs: [{title: \"ok\", body: \"1\"}, {title: \"bad\", body: \"2\", communityId: $c, visibility: COMMUNITY}]) { id } }", json!({"c": GENERAL.to_string()}), Some(&bob)).await;
        assert_eq!(code, "FORBIDDEN");
        let after = ok(&app, "{ posts { totalCount } }", json!({}), Some(&bob)).await["data"]["posts"]["totalCount"].clone();
        assert_eq!(before, after, "{backend}: a partial batch landed");

        // Update: NOT_FOUND when unreadable, FORBIDDEN when readable but not changeable.
        let updated = ok(&app, "mutation($id: UUID!) { updatePost(id: $id, patch: {title: \"Hello again\"}) { title } }", json!({"id": id}), Some(&bob)).await;
        assert_eq!(updated["data"]["updatePost"]["title"], "Hello again");
        let (code, _) = err(
            &app,
            "mutation($id: UUID!) { updatePost(id: $id, patch: {title: \"mine\"}) { title } }",
            json!({"id": id}),
            Some(&frank),
        )
        .await;
        assert_eq!(code, "NOT_FOUND");
        let (code, _) = err(
            &app,
            "mutation($id: UUID!) { updatePost(id: $id, patch: {title: \"mine\"}) { title } }",
            json!({"id": post(2)}),
            Some(&bob),
        )
        .await;
        assert_eq!(code, "FORBIDDEN");
        // Update many: every matching row, in one transaction.
        let many = ok(&app, "mutation { updatePosts(filter: {title: {in: [\"a\", \"b\"]}}, patch: {status: ARCHIVED}) { status } }", json!({}), Some(&bob)).await;
        assert_eq!(
            many["data"]["updatePosts"],
            json!([{"status": "ARCHIVED"}, {"status": "ARCHIVED"}])
        );
        // A tenant admin moderating: carol may change bob's post.
        ok(
            &app,
            "mutation($id: UUID!) { updatePost(id: $id, patch: {status: ARCHIVED}) { id } }",
            json!({"id": id}),
            Some(&carol),
        )
        .await;

        // Delete one (soft) and many.
        let deleted = ok(
            &app,
            "mutation($id: UUID!) { deletePost(id: $id) { deletedAt } }",
            json!({"id": id}),
            Some(&bob),
        )
        .await;
        assert!(deleted["data"]["deletePost"]["deletedAt"].is_string());
        let gone = ok(
            &app,
            "query($id: UUID!) { post(id: $id) { id } }",
            json!({"id": id}),
            Some(&bob),
        )
        .await;
        assert!(gone["data"]["post"].is_null());
        let many = ok(
            &app,
            "mutation { deletePosts(filter: {title: {in: [\"a\", \"b\"]}}) { title } }",
            json!({}),
            Some(&bob),
        )
        .await;
        assert_eq!(
            many["data"]["deletePosts"].as_array().map(Vec::len),
            Some(2)
        );
        let (code, _) = err(
            &app,
            "mutation($id: UUID!) { deletePost(id: $id) { id } }",
            json!({"id": post(2)}),
            Some(&bob),
        )
        .await;
        assert_eq!(code, "FORBIDDEN");

        // Conflicts and bad input.
        let (code, _) = err(
            &app,
            "mutation { createTenant(input: {name: \"Dup\", subdomain: \"acme\"}) { id } }",
            json!({}),
            Some(&bob),
        )
        .await;
        assert_eq!(code, "CONFLICT");
        let (code, _) = err(&app, "mutation($t: UUID!, $u: UUID!) { updateTenantMember(tenantId: $t, userId: $u, patch: {role: MEMBER}) { role } }",
            json!({"t": ACME.to_string(), "u": ALICE.to_string()}), Some(&carol)).await;
        assert_eq!(code, "CONFLICT", "the last owner cannot be demoted");
        let (code, _) = err(&app, "mutation { createReaction(input: {postId: \"deadbeef-0000-4000-8000-000000040001\", emoji: \"\"}) { emoji } }", json!({}), Some(&bob)).await;
        assert_eq!(code, "BAD_USER_INPUT");

        // Domain mutations.
        let marked = ok(
            &app,
            "mutation { markAllNotificationsRead }",
            json!({}),
            Some(&bob),
        )
        .await;
        assert_eq!(
            marked["data"]["markAllNotificationsRead"], 1,
            "{backend}: bob had one unread notification"
        );
        let again = ok(
            &app,
            "mutation { markAllNotificationsRead }",
            json!({}),
            Some(&bob),
        )
        .await;
        assert_eq!(again["data"]["markAllNotificationsRead"], 0);
        let alice = app.token(ALICE, Some(ACME));
        let notes = ok(
            &app,
            "{ notifications(filter: {readAt: {isNull: true}}) { nodes { id } } }",
            json!({}),
            Some(&alice),
        )
        .await;
        let ids: Vec<Value> = notes["data"]["notifications"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["id"].clone())
            .collect();
        assert!(!ids.is_empty());
        let by_bob = ok(
            &app,
            "mutation($ids: [UUID!]) { markNotificationsRead(ids: $ids) }",
            json!({"ids": ids}),
            Some(&bob),
        )
        .await;
        assert_eq!(
            by_bob["data"]["markNotificationsRead"], 0,
            "bob cannot mark alice's notifications"
        );
        let by_alice = ok(
            &app,
            "mutation($ids: [UUID!]) { markNotificationsRead(ids: $ids) }",
            json!({"ids": ids}),
            Some(&alice),
        )
        .await;
        assert_eq!(by_alice["data"]["markNotificationsRead"], json!(ids.len()));
        let (code, _) = err(
            &app,
            "mutation { markAllNotificationsRead }",
            json!({}),
            None,
        )
        .await;
        assert_eq!(code, "UNAUTHENTICATED");
        app.stop().await;
    }
}

#[tokio::test]
async fn aggregates_over_numbers_and_dates() {
    for backend in backends("aggregates_over_numbers_and_dates") {
        let app = TestApp::spawn(backend).await;
        let erin = app.token(ERIN, None);
        // Erin (no active tenant) reads the four global flags: rollouts 50, 100, 100, 100.
        let body = ok(
            &app,
            "{ featureFlags { totalCount aggregate { count sum { rolloutPercent } avg { rolloutPercent } min { rolloutPercent createdAt } max { rolloutPercent } } } }",
            json!({}),
            Some(&erin),
        )
        .await;
        let a = &body["data"]["featureFlags"]["aggregate"];
        assert_eq!(
            body["data"]["featureFlags"]["totalCount"], 4,
            "{backend}: {body}"
        );
        assert_eq!(a["count"], 4);
        assert_eq!(a["sum"]["rolloutPercent"].as_f64(), Some(350.0), "{body}");
        assert_eq!(a["avg"]["rolloutPercent"].as_f64(), Some(87.5), "{body}");
        assert_eq!(a["min"]["rolloutPercent"], 50);
        assert_eq!(a["max"]["rolloutPercent"], 100);
        assert!(a["min"]["createdAt"].is_string());
        // Filtered aggregates count only what the filter and the policy allow.
        let body = ok(
            &app,
            "{ featureFlags(filter: {enabled: {eq: false}}) { aggregate { count } } }",
            json!({}),
            Some(&erin),
        )
        .await;
        assert_eq!(body["data"]["featureFlags"]["aggregate"]["count"], 1);
        let body = ok(
            &app,
            "{ featureFlags { aggregate { count } } }",
            json!({}),
            None,
        )
        .await;
        assert_eq!(
            body["data"]["featureFlags"]["aggregate"]["count"], 0,
            "anon reads no flag"
        );
        app.stop().await;
    }
}

/// A database failure is INTERNAL with a request id, and never shows SQL or the database's
/// own message.
#[tokio::test]
async fn internal_errors_carry_a_request_id_and_no_sql() {
    use sea_orm::ConnectionTrait;
    for backend in backends("internal_errors_carry_a_request_id_and_no_sql") {
        let app = TestApp::spawn(backend).await;
        let bob = app.token(BOB, Some(ACME));
        app.db
            .execute_unprepared("ALTER TABLE comments RENAME TO comments_away")
            .await
            .expect("rename");
        let (status, body) = app
            .graphql("{ comments { nodes { body } } }", json!({}), Some(&bob))
            .await;
        assert_eq!(status, StatusCode::OK);
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "INTERNAL", "{backend}: {body}");
        let request_id = error["extensions"]["requestId"]
            .as_str()
            .expect("request id");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains(request_id))
        );
        let text = body.to_string().to_lowercase();
        for leak in [
            "select",
            "comments_away",
            "no such table",
            "relation",
            "sqlx",
            "\"t0\"",
        ] {
            assert!(
                !text.contains(leak),
                "{backend}: the error shows `{leak}`: {body}"
            );
        }
        app.db
            .execute_unprepared("ALTER TABLE comments_away RENAME TO comments")
            .await
            .expect("rename back");
        app.stop().await;
    }
}

/// The change bus carries committed writes only: once each, after commit, side effects
/// included; nothing for a refused or rolled-back write.
#[tokio::test]
async fn committed_writes_reach_the_change_bus() {
    use rowgate::planner::ChangeOp;
    for backend in backends("committed_writes_reach_the_change_bus") {
        let app = TestApp::spawn(backend).await;
        let mut changes = app.served.subscribe_changes();
        let bob = app.token(BOB, Some(ACME));
        ok(&app, "mutation { createComment(input: {postId: \"deadbeef-0000-4000-8000-000000040002\", body: \"hi\"}) { id } }", json!({}), Some(&bob)).await;
        let first = changes.try_recv().expect("the comment");
        assert_eq!(
            (first.table, first.op),
            ("comments", ChangeOp::Insert),
            "{backend}"
        );
        let second = changes.try_recv().expect("the notification it caused");
        assert_eq!(
            (second.table, second.op),
            ("notifications", ChangeOp::Insert)
        );
        assert!(changes.try_recv().is_err(), "exactly two changes");

        let (code, _) = err(&app, "mutation { updatePost(id: \"deadbeef-0000-4000-8000-000000040002\", patch: {title: \"x\"}) { id } }", json!({}), Some(&bob)).await;
        assert_eq!(code, "FORBIDDEN");
        let (code, _) = err(&app, "mutation($c: UUID) { createPosts(inputs: [{title: \"ok\", body: \"1\"}, {title: \"bad\", body: \"2\", communityId: $c, visibility: COMMUNITY}]) { id } }", json!({"c": GENERAL.to_string()}), Some(&bob)).await;
        assert_eq!(code, "FORBIDDEN");
        assert!(
            changes.try_recv().is_err(),
            "{backend}: a refused or rolled-back write was published"
        );

        ok(
            &app,
            "mutation { deletePost(id: \"deadbeef-0000-4000-8000-000000040006\") { id } }",
            json!({}),
            Some(&bob),
        )
        .await;
        let deleted = changes.try_recv().expect("the soft delete");
        assert_eq!((deleted.table, deleted.op), ("posts", ChangeOp::Delete));
        assert!(
            deleted
                .new
                .as_ref()
                .is_some_and(|r| !r["deleted_at"].is_null())
        );
        app.stop().await;
    }
}

/// Relay's object identification: `nodeId` on every table type, `node`/`nodes` read back
/// through the read policy, forged ids refused.
#[tokio::test]
async fn node_ids_read_back_through_the_read_policy() {
    for backend in backends("node_ids_read_back_through_the_read_policy") {
        let app = TestApp::spawn(backend).await;
        let (bob, heidi, frank) = (
            app.token(BOB, Some(ACME)),
            app.token(HEIDI, Some(ACME)),
            app.token(FRANK, Some(GLOBEX)),
        );
        let first_post = |body: &Value, field: &str| {
            body["data"][field]["nodes"][0]["nodeId"]
                .as_str()
                .unwrap_or_else(|| panic!("no nodeId: {body}"))
                .to_owned()
        };
        let heidis = ok(&app, "query($u: UUID!) { posts(first: 1, filter: {authorId: {eq: $u}, status: {eq: PUBLISHED}}) { nodes { nodeId } } }", json!({"u": HEIDI.to_string()}), Some(&heidi)).await;
        let heidis = first_post(&heidis, "posts");
        let globex = ok(&app, "query($t: UUID!) { posts(first: 1, filter: {tenantId: {eq: $t}, visibility: {eq: TENANT}}) { nodes { nodeId } } }", json!({"t": GLOBEX.to_string()}), Some(&frank)).await;
        let globex = first_post(&globex, "posts");
        const NODE: &str =
            "query($id: ID!) { node(nodeId: $id) { __typename nodeId ... on Post { title } } }";

        // Deny: a post by someone bob blocked, and another tenant's post, are null.
        for id in [&heidis, &globex] {
            let body = ok(&app, NODE, json!({"id": id}), Some(&bob)).await;
            assert!(body["data"]["node"].is_null(), "{backend}: {body}");
        }
        let body = ok(
            &app,
            "query($ids: [ID!]!) { nodes(nodeIds: $ids) { nodeId } }",
            json!({"ids": [heidis, globex]}),
            Some(&bob),
        )
        .await;
        assert_eq!(body["data"]["nodes"], json!([null, null]), "{backend}");
        // Deny: ids this API did not issue.
        use base64::Engine;
        let forge = |v: Value| base64::engine::general_purpose::STANDARD.encode(v.to_string());
        for forged in [
            "not base64!".to_owned(),
            forge(json!(["posts", "not-a-uuid"])),
            forge(json!(["posts"])),
            forge(json!([
                "no_such_table",
                "deadbeef-0000-4000-8000-000000040001"
            ])),
            forge(json!({"table": "posts"})),
        ] {
            let (code, body) = err(&app, NODE, json!({"id": forged}), Some(&bob)).await;
            assert_eq!(code, "BAD_USER_INPUT", "{backend} {forged}: {body}");
            assert_eq!(body["errors"][0]["path"], json!(["node"]), "{body}");
        }

        // Allow: every node bob lists reads back as itself.
        let listed = ok(
            &app,
            "{ posts(first: 3, orderBy: [CREATED_AT_DESC]) { nodes { nodeId title } } }",
            json!({}),
            Some(&bob),
        )
        .await;
        let listed = listed["data"]["posts"]["nodes"]
            .as_array()
            .expect("nodes")
            .clone();
        assert!(!listed.is_empty());
        let ids: Vec<&str> = listed
            .iter()
            .map(|n| n["nodeId"].as_str().expect("id"))
            .collect();
        for node in &listed {
            let body = ok(&app, NODE, json!({"id": node["nodeId"]}), Some(&bob)).await;
            assert_eq!(body["data"]["node"]["__typename"], "Post");
            assert_eq!(body["data"]["node"]["nodeId"], node["nodeId"]);
            assert_eq!(body["data"]["node"]["title"], node["title"], "{backend}");
        }
        let body = ok(
            &app,
            "query($ids: [ID!]!) { nodes(nodeIds: $ids) { ... on Post { title } } }",
            json!({"ids": [ids[0], heidis, ids[0]]}),
            Some(&bob),
        )
        .await;
        assert_eq!(body["data"]["nodes"][0]["title"], listed[0]["title"]);
        assert!(body["data"]["nodes"][1].is_null());
        assert_eq!(body["data"]["nodes"][2]["title"], listed[0]["title"]);

        // Composite keys have node ids too, and masks apply as on every path: another
        // member's profile reads back without its email.
        let reactions = ok(&app, "{ reactions(first: 1) { nodes { nodeId emoji } } profiles(first: 5) { nodes { nodeId id email } } }", json!({}), Some(&bob)).await;
        let reaction = &reactions["data"]["reactions"]["nodes"][0];
        let body = ok(
            &app,
            "query($id: ID!) { node(nodeId: $id) { ... on Reaction { emoji } } }",
            json!({"id": reaction["nodeId"]}),
            Some(&bob),
        )
        .await;
        assert_eq!(
            body["data"]["node"]["emoji"], reaction["emoji"],
            "{backend}"
        );
        let other = reactions["data"]["profiles"]["nodes"]
            .as_array()
            .expect("profiles")
            .iter()
            .find(|p| p["id"] != json!(BOB.to_string()))
            .expect("another profile")
            .clone();
        assert!(other["email"].is_null(), "{other}");
        let body = ok(
            &app,
            "query($id: ID!) { node(nodeId: $id) { ... on Profile { id email } } }",
            json!({"id": other["nodeId"]}),
            Some(&bob),
        )
        .await;
        assert_eq!(body["data"]["node"]["id"], other["id"]);
        assert!(body["data"]["node"]["email"].is_null(), "{backend}: {body}");

        // Every table type implements Node.
        let body = ok(
            &app,
            "{ __type(name: \"Node\") { possibleTypes { name } } }",
            json!({}),
            None,
        )
        .await;
        let types = body["data"]["__type"]["possibleTypes"]
            .as_array()
            .expect("types")
            .len();
        assert_eq!(types, app.store().catalog.tables().len(), "{body}");

        // A failed non-null field inside a fragment nulls the node, with its path.
        let (_, body) = app
            .graphql("query($id: ID!) { node(nodeId: $id) { ... on Post { comments(first: 1000) { totalCount } } } }", json!({"id": ids[0]}), Some(&bob))
            .await;
        assert!(body["data"]["node"].is_null(), "{body}");
        assert_eq!(
            body["errors"][0]["path"],
            json!(["node", "comments"]),
            "{body}"
        );
        app.stop().await;
    }
}
