//! Subscriptions over a real WebSocket client: each event reaches only the subscribers whose
//! read policy (and filter) lets them see the row, a row leaving a view arrives as DELETE,
//! masks apply, and the protocol's errors are given without disturbing other subscribers.

use std::time::Duration;

use rowgate_tests::demo::*;
use rowgate_tests::{TestApp, WsClient, WsMessage, backends};
use serde_json::{Value, json};

const EVENT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(600);

async fn subscriber(app: &TestApp, token: &str, query: &str) -> WsClient {
    let (mut client, answer) =
        WsClient::connect(app, json!({ "Authorization": format!("Bearer {token}") })).await;
    assert!(
        matches!(&answer, WsMessage::Message(m) if m["type"] == "connection_ack"),
        "{answer:?}"
    );
    // Subscriptions start asynchronously: the writes that follow wait for this one.
    client.subscribe_registered(app, "1", query).await;
    client
}

/// A subscriber whose subscription the server refuses (it never registers).
async fn refused_subscriber(app: &TestApp, token: &str, query: &str) -> WsClient {
    let (mut client, answer) =
        WsClient::connect(app, json!({ "Authorization": format!("Bearer {token}") })).await;
    assert!(
        matches!(&answer, WsMessage::Message(m) if m["type"] == "connection_ack"),
        "{answer:?}"
    );
    client.subscribe("1", query).await;
    client
}

async fn mutate(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let (_, body) = app.graphql(query, variables, Some(token)).await;
    assert!(body.get("errors").is_none(), "{body}");
    body
}

const POSTS: &str = "subscription { postChanged { op node { title authorId } } }";

#[tokio::test]
async fn post_events_follow_the_read_policy() {
    for backend in backends("post_events_follow_the_read_policy") {
        let app = TestApp::spawn(backend).await;
        let (bob, frank, alice) = (
            app.token(BOB, Some(ACME)),
            app.token(FRANK, Some(GLOBEX)),
            app.token(ALICE, Some(ACME)),
        );
        let mut bob_sub = subscriber(&app, &bob, POSTS).await;
        let mut frank_sub = subscriber(&app, &frank, POSTS).await;
        let mut alice_sub = subscriber(&app, &alice, POSTS).await;

        // An Acme tenant post reaches Acme members, never Globex's.
        let carol = app.token(CAROL, Some(ACME));
        mutate(&app, &carol, "mutation { createPost(input: {title: \"Acme news\", body: \"b\", status: PUBLISHED}) { id } }", json!({})).await;
        let event = bob_sub
            .next_data("1", EVENT)
            .await
            .expect("bob sees Acme's post");
        assert_eq!(event["postChanged"]["op"], "INSERT", "{backend}");
        assert_eq!(event["postChanged"]["node"]["title"], "Acme news");
        assert!(alice_sub.next_data("1", EVENT).await.is_some());
        assert_eq!(
            frank_sub.next(QUIET).await,
            None,
            "{backend}: Globex saw an Acme tenant post"
        );

        // A post by an author bob blocked never reaches bob, even when public.
        let heidi = app.token(HEIDI, Some(ACME));
        mutate(&app, &heidi, "mutation { createPost(input: {title: \"Heidi again\", body: \"b\", status: PUBLISHED, visibility: PUBLIC}) { id } }", json!({})).await;
        let seen = frank_sub
            .next_data("1", EVENT)
            .await
            .expect("frank sees a public post");
        assert_eq!(seen["postChanged"]["node"]["title"], "Heidi again");
        assert!(alice_sub.next_data("1", EVENT).await.is_some());
        assert_eq!(
            bob_sub.next(QUIET).await,
            None,
            "{backend}: bob received a post by someone he blocked"
        );

        // Published → draft: DELETE without the row for everyone but the author.
        let welcome = "deadbeef-0000-4000-8000-000000040001";
        mutate(
            &app,
            &alice,
            "mutation($id: UUID!) { updatePost(id: $id, patch: {status: DRAFT}) { id } }",
            json!({"id": welcome}),
        )
        .await;
        for (who, sub) in [("bob", &mut bob_sub), ("frank", &mut frank_sub)] {
            let event = sub
                .next_data("1", EVENT)
                .await
                .unwrap_or_else(|| panic!("{who} hears the post left"));
            assert_eq!(
                event["postChanged"],
                json!({"op": "DELETE", "node": null}),
                "{backend} {who}"
            );
        }
        let event = alice_sub
            .next_data("1", EVENT)
            .await
            .expect("the author keeps seeing it");
        assert_eq!(event["postChanged"]["op"], "UPDATE");
        assert_eq!(event["postChanged"]["node"]["title"], "Welcome to Acme");
        app.stop().await;
    }
}

#[tokio::test]
async fn notifications_reach_only_their_owner_and_masks_apply() {
    for backend in backends("notifications_reach_only_their_owner_and_masks_apply") {
        let app = TestApp::spawn(backend).await;
        let (alice, bob, carol) = (
            app.token(ALICE, Some(ACME)),
            app.token(BOB, Some(ACME)),
            app.token(CAROL, Some(ACME)),
        );
        let notes = "subscription { notificationChanged { op node { userId kind body } } }";
        let mut alice_notes = subscriber(&app, &alice, notes).await;
        let mut bob_notes = subscriber(&app, &bob, notes).await;
        mutate(&app, &bob, "mutation { createComment(input: {postId: \"deadbeef-0000-4000-8000-000000040002\", body: \"ping\"}) { id } }", json!({})).await;
        let event = alice_notes
            .next_data("1", EVENT)
            .await
            .expect("the post's author is notified");
        assert_eq!(
            event["notificationChanged"]["node"]["userId"],
            ALICE.to_string(),
            "{backend}"
        );
        assert_eq!(event["notificationChanged"]["node"]["body"], "ping");
        assert_eq!(
            bob_notes.next(QUIET).await,
            None,
            "{backend}: someone else's notification arrived"
        );

        // Deny: a filter on a column masked to the subscriber is refused when it subscribes
        // (it would otherwise ask, on every change, a question about the masked value).
        let mut probing = refused_subscriber(&app, &carol, "subscription { profileChanged(filter: {email: {startsWith: \"b\"}}) { op key { id } } }").await;
        let errors = probing.next_errors(EVENT).await;
        assert_eq!(
            errors[0]["extensions"]["code"], "BAD_USER_INPUT",
            "{backend}: {errors}"
        );
        assert!(
            errors[0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("email"),
            "{backend}: {errors}"
        );
        // A filter on a column she may read is fine.
        let mut named = subscriber(&app, &carol, "subscription { profileChanged(filter: {displayName: {eq: \"Robert\"}}) { op node { displayName } } }").await;

        // Profile events: email masked for everyone but self.
        let profiles = "subscription { profileChanged { op node { displayName email } } }";
        let mut bob_profiles = subscriber(&app, &bob, profiles).await;
        let mut carol_profiles = subscriber(&app, &carol, profiles).await;
        mutate(&app, &bob, "mutation($id: UUID!) { updateProfile(id: $id, patch: {displayName: \"Robert\"}) { id } }", json!({"id": BOB.to_string()})).await;
        let own = bob_profiles
            .next_data("1", EVENT)
            .await
            .expect("own profile event");
        assert_eq!(own["profileChanged"]["node"]["email"], "bob@example.com");
        let other = carol_profiles
            .next_data("1", EVENT)
            .await
            .expect("a tenant member's profile event");
        assert_eq!(other["profileChanged"]["node"]["displayName"], "Robert");
        assert!(
            other["profileChanged"]["node"]["email"].is_null(),
            "{backend}: the email mask did not apply: {other}"
        );
        let renamed = named
            .next_data("1", EVENT)
            .await
            .expect("a profile event through a filter on an unmasked column");
        assert_eq!(
            renamed["profileChanged"]["node"]["displayName"], "Robert",
            "{backend}: {renamed}"
        );

        // A filter narrows events further.
        let mut filtered = subscriber(&app, &carol, "subscription { postChanged(filter: {title: {startsWith: \"Only\"}}) { node { title } } }").await;
        mutate(
            &app,
            &carol,
            "mutation { createPost(input: {title: \"Not this\", body: \"b\"}) { id } }",
            json!({}),
        )
        .await;
        mutate(
            &app,
            &carol,
            "mutation { createPost(input: {title: \"Only this\", body: \"b\"}) { id } }",
            json!({}),
        )
        .await;
        let event = filtered
            .next_data("1", EVENT)
            .await
            .expect("the matching post");
        assert_eq!(event["postChanged"]["node"]["title"], "Only this");
        app.stop().await;
    }
}

#[tokio::test]
async fn protocol_errors_leave_other_subscribers_served() {
    for backend in backends("protocol_errors_leave_other_subscribers_served") {
        let app = TestApp::spawn(backend).await;
        let carol = app.token(CAROL, Some(ACME));
        let mut healthy = subscriber(&app, &carol, POSTS).await;

        // A bad token in connection_init: the connection is refused.
        let (mut refused, answer) =
            WsClient::connect(&app, json!({"Authorization": "Bearer not-a-token"})).await;
        // async-graphql closes a refused `connection_init` with 1002 and the reason.
        assert!(
            matches!(&answer, WsMessage::Closed(1002 | 4403, reason) if reason.contains("invalid token")),
            "{backend}: {answer:?}"
        );

        assert!(
            refused
                .next(QUIET)
                .await
                .is_none_or(|m| matches!(m, WsMessage::Closed(..)))
        );

        // An unknown subscription field: an error for that operation.
        let (mut client, _) =
            WsClient::connect(&app, json!({"Authorization": format!("Bearer {carol}")})).await;
        client
            .subscribe("x", "subscription { nopeChanged { op } }")
            .await;
        match client.next(EVENT).await {
            Some(WsMessage::Message(m)) => assert!(
                m["type"] == "error"
                    || m["payload"]["errors"][0]["message"]
                        .as_str()
                        .is_some_and(|e| e.contains("nopeChanged")),
                "{m}"
            ),
            other => panic!("{backend}: {other:?}"),
        }

        // An expired token ends the subscription with an error.
        let short = app.mint(
            Some(CAROL),
            Some(ACME),
            "authenticated",
            Duration::from_secs(2),
        );
        let mut expiring = subscriber(&app, &short, POSTS).await;
        let ended = expiring.next(Duration::from_secs(40)).await;
        match ended {
            Some(WsMessage::Message(m)) => {
                assert!(
                    m["type"] == "error"
                        || (m["type"] == "next" && m["payload"]["errors"].is_array()),
                    "{m}"
                );
                assert!(m.to_string().contains("expired"), "{m}");
            }
            other => panic!("{backend}: expected an expiry error, got {other:?}"),
        }

        // The healthy subscriber still receives events.
        mutate(
            &app,
            &carol,
            "mutation { createPost(input: {title: \"Still here\", body: \"b\"}) { id } }",
            json!({}),
        )
        .await;
        let event = healthy.next_data("1", EVENT).await.expect("still served");
        assert_eq!(event["postChanged"]["node"]["title"], "Still here");
        app.stop().await;
    }
}

#[tokio::test]
async fn too_many_subscriptions_on_one_connection_are_refused() {
    for backend in backends("too_many_subscriptions_on_one_connection_are_refused") {
        let app = TestApp::spawn(backend).await;
        let carol = app.token(CAROL, Some(ACME));
        let (mut client, _) =
            WsClient::connect(&app, json!({"Authorization": format!("Bearer {carol}")})).await;
        let max = rowgate::ws::MAX_SUBSCRIPTIONS_PER_CONNECTION;
        for i in 0..max {
            client.subscribe(&i.to_string(), POSTS).await;
        }
        client.subscribe("over", POSTS).await;
        let mut refused = false;
        // Subscriptions start concurrently, so whichever starts last is the one refused.
        while let Some(message) = client.next(Duration::from_secs(3)).await {
            if let WsMessage::Message(m) = &message
                && m.to_string().contains("subscriptions per connection")
            {
                assert_eq!(
                    m["payload"]["errors"][0]["extensions"]["code"], "RATE_LIMITED",
                    "{m}"
                );
                refused = true;
                break;
            }
        }

        assert!(
            refused,
            "{backend}: the subscription over the limit was accepted"
        );
        app.stop().await;
    }
}

/// A graceful shutdown completes open subscriptions instead of cutting them.
#[tokio::test]
async fn shutdown_completes_subscriptions() {
    for backend in backends("shutdown_completes_subscriptions") {
        let app = TestApp::spawn(backend).await;
        let carol = app.token(CAROL, Some(ACME));
        let mut client = subscriber(&app, &carol, POSTS).await;
        let stopping = tokio::spawn(app.stop());
        match client.next(EVENT).await {
            Some(WsMessage::Message(m)) => {
                assert_eq!(m, json!({"id": "1", "type": "complete"}), "{backend}")
            }
            other => panic!("{backend}: expected `complete`, got {other:?}"),
        }
        drop(client);
        stopping.await.expect("stopped");
    }
}

/// With Redis, a mutation through one instance reaches a subscriber on another.
#[tokio::test]
async fn changes_cross_instances_through_redis() {
    if rowgate_tests::service_url("REDIS_URL", "changes_cross_instances_through_redis").is_none() {
        return;
    }
    for backend in backends("changes_cross_instances_through_redis") {
        let a = TestApp::spawn(backend).await;
        let b = a.spawn_peer(rowgate_tests::TestOptions::default()).await;
        let carol = a.token(CAROL, Some(ACME));
        let mut on_b = subscriber(&b, &carol, POSTS).await;
        mutate(
            &a,
            &carol,
            "mutation { createPost(input: {title: \"Through A\", body: \"b\"}) { id } }",
            json!({}),
        )
        .await;
        let event = on_b
            .next_data("1", EVENT)
            .await
            .expect("the event reached instance B");
        assert_eq!(event["postChanged"]["op"], "INSERT", "{backend}");
        assert_eq!(event["postChanged"]["node"]["title"], "Through A");
        assert_eq!(on_b.next(QUIET).await, None, "{backend}: delivered twice");
        b.stop().await;
        a.stop().await;
    }
}

/// On PostgreSQL, a row written with plain SQL (outside the gateway) reaches subscribers.
#[tokio::test]
async fn writes_outside_the_gateway_reach_subscribers_on_postgres() {
    use sea_orm::ConnectionTrait;
    for backend in backends("writes_outside_the_gateway_reach_subscribers_on_postgres") {
        if backend != rowgate_tests::Backend::Postgres {
            continue;
        }
        let app = TestApp::spawn(backend).await;
        let carol = app.token(CAROL, Some(ACME));
        let mut sub = subscriber(&app, &carol, POSTS).await;
        app.db
            .execute_unprepared(&format!(
                "INSERT INTO posts (tenant_id, author_id, title, body, status, visibility) \
                 VALUES ('{ACME}', '{ALICE}', 'Written with psql', 'b', 'published', 'tenant')"
            ))
            .await
            .expect("plain SQL insert");
        let event = sub
            .next_data("1", EVENT)
            .await
            .expect("the outside write arrived");
        assert_eq!(event["postChanged"]["op"], "INSERT");
        assert_eq!(event["postChanged"]["node"]["title"], "Written with psql");
        // A gateway write is not delivered twice (bus and NOTIFY).
        mutate(
            &app,
            &carol,
            "mutation { createPost(input: {title: \"Once\", body: \"b\"}) { id } }",
            json!({}),
        )
        .await;
        assert!(sub.next_data("1", EVENT).await.is_some());
        assert_eq!(sub.next(QUIET).await, None, "a gateway write arrived twice");
        app.stop().await;
    }
}

/// The request limits apply to operations sent over the socket too.
#[tokio::test]
async fn limits_apply_over_websocket() {
    for backend in backends("limits_apply_over_websocket") {
        let app = TestApp::spawn(backend).await;
        let carol = app.token(CAROL, Some(ACME));
        let (mut client, _) =
            WsClient::connect(&app, json!({"Authorization": format!("Bearer {carol}")})).await;
        let deep = "subscription { postChanged { node { author { posts { nodes { author { posts { nodes { author { posts { nodes { author { posts { nodes { title } } } } } } } } } } } } } } }";
        client.subscribe("deep", deep).await;
        match client.next(EVENT).await {
            Some(WsMessage::Message(m)) => {
                let code = m["payload"]["errors"][0]["extensions"]["code"].clone();
                let code = if code.is_null() {
                    m["payload"][0]["extensions"]["code"].clone()
                } else {
                    code
                };
                assert_eq!(code, "QUERY_TOO_COMPLEX", "{backend}: {m}");
            }
            other => panic!("{backend}: {other:?}"),
        }
        app.stop().await;
    }
}

/// A new block or a removed membership takes effect on the next event: what left the view
/// arrives as DELETE, and nothing new from outside it arrives.
#[tokio::test]
async fn facts_changed_mid_subscription_take_effect() {
    for backend in backends("facts_changed_mid_subscription_take_effect") {
        let app = TestApp::spawn(backend).await;
        let (bob, frank, carol, alice, dave) = (
            app.token(BOB, Some(ACME)),
            app.token(FRANK, Some(GLOBEX)),
            app.token(CAROL, Some(ACME)),
            app.token(ALICE, Some(ACME)),
            app.token(DAVE, Some(GLOBEX)),
        );
        let mut bob_sub = subscriber(&app, &bob, POSTS).await;
        let mut frank_sub = subscriber(&app, &frank, POSTS).await;

        // Frank blocks Dave: Dave's public posts stop reaching him.
        mutate(
            &app,
            &frank,
            "mutation($u: UUID) { createBlock(input: {blockedId: $u}) { blockerId } }",
            json!({"u": DAVE.to_string()}),
        )
        .await;
        mutate(&app, &dave, "mutation { createPost(input: {title: \"From Dave\", body: \"b\", status: PUBLISHED, visibility: PUBLIC}) { id } }", json!({})).await;
        assert!(
            bob_sub.next_data("1", EVENT).await.is_some(),
            "{backend}: bob sees the public post"
        );
        assert_eq!(
            frank_sub.next(QUIET).await,
            None,
            "{backend}: a post by someone frank just blocked arrived"
        );

        // Bob sees an Acme post, then leaves Acme: its next change arrives as DELETE.
        let created = mutate(&app, &carol, "mutation { createPost(input: {title: \"Acme only\", body: \"b\", status: PUBLISHED}) { id } }", json!({})).await;
        let id = created["data"]["createPost"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        assert!(bob_sub.next_data("1", EVENT).await.is_some());
        mutate(&app, &alice, "mutation($t: UUID!, $u: UUID!) { deleteTenantMember(tenantId: $t, userId: $u) { userId } }", json!({"t": ACME.to_string(), "u": BOB.to_string()})).await;
        mutate(&app, &carol, "mutation($id: UUID!) { updatePost(id: $id, patch: {title: \"Acme only, edited\"}) { id } }", json!({"id": id})).await;
        let event = bob_sub
            .next_data("1", EVENT)
            .await
            .expect("the post left bob's view");
        assert_eq!(
            event["postChanged"],
            json!({"op": "DELETE", "node": null}),
            "{backend}"
        );
        mutate(&app, &carol, "mutation { createPost(input: {title: \"After bob left\", body: \"b\", status: PUBLISHED}) { id } }", json!({})).await;
        assert_eq!(
            bob_sub.next(QUIET).await,
            None,
            "{backend}: an Acme post reached a former member"
        );
        app.stop().await;
    }
}

/// Every event names its row by key; a DELETE carries the key and nothing else, and a
/// filtered subscription hears of a row leaving only if it could have had the row.
#[tokio::test]
async fn change_events_carry_the_key_and_filtered_deletes_stay_inside_the_filter() {
    for backend in
        backends("change_events_carry_the_key_and_filtered_deletes_stay_inside_the_filter")
    {
        let app = TestApp::spawn(backend).await;
        let (bob, carol, frank) = (
            app.token(BOB, Some(ACME)),
            app.token(CAROL, Some(ACME)),
            app.token(FRANK, Some(GLOBEX)),
        );
        let create = |token: String, title: &'static str| {
            let app = &app;
            async move {
                let body = mutate(app, &token, "mutation($t: String!) { createPost(input: {title: $t, body: \"b\", status: PUBLISHED}) { id } }", json!({"t": title})).await;
                body["data"]["createPost"]["id"]
                    .as_str()
                    .expect("id")
                    .to_owned()
            }
        };
        let delete = |token: String, id: String| {
            let app = &app;
            async move {
                mutate(
                    app,
                    &token,
                    "mutation($id: UUID!) { deletePost(id: $id) { id } }",
                    json!({"id": id}),
                )
                .await;
            }
        };
        // Rows that exist before the subscriptions start, never delivered to them.
        let before_match = create(carol.clone(), "x before").await;
        let before_other = create(carol.clone(), "before").await;
        let globex = create(frank.clone(), "x globex").await;

        let mut all = subscriber(
            &app,
            &bob,
            "subscription { postChanged { op key { id } node { title } } }",
        )
        .await;
        let mut filtered = subscriber(&app, &bob, "subscription { postChanged(filter: {title: {startsWith: \"x\"}}) { op key { id } node { title } } }").await;

        // Deny: a post bob cannot read goes without a word, filtered or not.
        delete(frank.clone(), globex).await;
        assert_eq!(
            all.next(QUIET).await,
            None,
            "{backend}: DELETE of a Globex post"
        );
        assert_eq!(
            filtered.next(QUIET).await,
            None,
            "{backend}: DELETE of a Globex post"
        );
        // Deny: a readable post outside the filter, never shown to the filtered subscription.
        delete(carol.clone(), before_other.clone()).await;
        assert_eq!(
            all.next_data("1", EVENT).await.expect("unfiltered DELETE")["postChanged"],
            json!({"op": "DELETE", "key": {"id": before_other}, "node": null}),
            "{backend}"
        );
        assert_eq!(
            filtered.next(QUIET).await,
            None,
            "{backend}: DELETE outside the filter"
        );
        // Allow: a readable post that matched the filter before it went.
        delete(carol.clone(), before_match.clone()).await;
        for sub in [&mut all, &mut filtered] {
            assert_eq!(
                sub.next_data("1", EVENT)
                    .await
                    .expect("DELETE inside the filter")["postChanged"],
                json!({"op": "DELETE", "key": {"id": before_match}, "node": null}),
                "{backend}"
            );
        }

        // INSERT and UPDATE carry the key too; a row edited out of the filter leaves it as
        // DELETE with its key, while the unfiltered subscription sees the UPDATE.
        let shown = create(carol.clone(), "x shown").await;
        for sub in [&mut all, &mut filtered] {
            assert_eq!(
                sub.next_data("1", EVENT).await.expect("INSERT")["postChanged"],
                json!({"op": "INSERT", "key": {"id": shown}, "node": {"title": "x shown"}}),
                "{backend}"
            );
        }
        mutate(
            &app,
            &carol,
            "mutation($id: UUID!) { updatePost(id: $id, patch: {title: \"renamed\"}) { id } }",
            json!({"id": shown}),
        )
        .await;
        assert_eq!(
            all.next_data("1", EVENT).await.expect("UPDATE")["postChanged"],
            json!({"op": "UPDATE", "key": {"id": shown}, "node": {"title": "renamed"}}),
            "{backend}"
        );
        assert_eq!(
            filtered
                .next_data("1", EVENT)
                .await
                .expect("left the filter")["postChanged"],
            json!({"op": "DELETE", "key": {"id": shown}, "node": null}),
            "{backend}"
        );
        // Once out of the filter, its deletion is not the filtered subscription's business.
        delete(carol.clone(), shown.clone()).await;
        assert!(all.next_data("1", EVENT).await.is_some());
        assert_eq!(
            filtered.next(QUIET).await,
            None,
            "{backend}: DELETE of a row already gone from the filter"
        );
        app.stop().await;
    }
}
