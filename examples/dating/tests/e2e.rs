//! The dating application over real HTTP and WebSocket, on SQLite and (with `DATABASE_URL`)
//! PostgreSQL:
//!
//! - a message subscription: each message event reaches the other participant of the match
//!   (and staff), never a third user, and never a user on either side of a block — checked
//!   against the events the bus really carried (a moderator's subscription receives every
//!   one of them), including a block made and one lifted while the subscriptions are open;
//! - `effectiveConfig`: the base configuration overridden by the user's segments, read from
//!   the hot cache (no SQL when warm) and fresh after an admin's write.

use std::time::Duration;

use dating::demo::{
    ADAM, ALICE, BLOCK_CAROL_DAVE, BOB, CAROL, DAVE, ERIN, MATCH_ALICE_BOB, MATCH_CAROL_DAVE, MIA,
    OFFER_BOB_ERIN, OFFER_ERIN_BOB, OVERRIDE_BETA_LIKES, SEGMENT_BETA,
};
use rowgate_tests::matrix::row;
use rowgate_tests::{TestApp, WsClient, WsMessage, backends, error_code};
use serde_json::{Value, json};
use uuid::Uuid;

const MESSAGE_CHANGED: &str =
    "subscription { messageChanged { op node { body senderId recipientId matchId } } }";

const SEND: &str = "mutation($m: UUID!, $to: UUID!, $body: String!) { createMessage(input: {matchId: $m, recipientId: $to, body: $body}) { id senderId } }";

/// Generous for a loaded machine; a passing test waits only as long as an event takes.
const EVENT: Duration = Duration::from_secs(15);
/// How long a subscriber must stay silent at the end.
const QUIET: Duration = Duration::from_millis(700);

async fn spawn(backend: rowgate_tests::Backend) -> TestApp {
    TestApp::spawn_application(
        backend,
        dating::application().expect("the dating application builds"),
    )
    .await
}

/// The `data` of a request that must succeed.
async fn data(app: &TestApp, query: &str, variables: Value, token: Option<&str>) -> Value {
    let (_, body) = app.graphql(query, variables, token).await;
    assert!(body["errors"].is_null(), "{query}: {body}");
    body["data"].clone()
}

/// A subscriber to every message event, as `user`.
async fn subscriber(app: &TestApp, user: Uuid) -> WsClient {
    let token = app.token(user, None);
    let (mut client, ack) =
        WsClient::connect(app, json!({ "Authorization": format!("Bearer {token}") })).await;
    assert!(
        matches!(&ack, WsMessage::Message(m) if m["type"] == "connection_ack"),
        "{ack:?}"
    );
    client
        .subscribe_registered(app, "messages", MESSAGE_CHANGED)
        .await;
    client
}

/// The next message event of `client`: (op, body, sender).
async fn next_message(client: &mut WsClient, who: &str) -> (String, String, String) {
    let event = client
        .next_data("messages", EVENT)
        .await
        .unwrap_or_else(|| panic!("{who}: no message event"));
    let change = &event["messageChanged"];
    (
        change["op"].as_str().unwrap_or_default().to_owned(),
        change["node"]["body"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        change["node"]["senderId"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

fn insert(body: &str, sender: Uuid) -> (String, String, String) {
    ("INSERT".to_owned(), body.to_owned(), sender.to_string())
}

/// A message written by the service role, which bypasses the insert rule (an import, a
/// moderation tool): an event the bus carries, whoever its subscribers may be.
async fn service_message(app: &TestApp, in_match: Uuid, from: Uuid, to: Uuid, body: &str) {
    let service = app.principal(None, None, "service_role").await;
    app.served
        .insert(
            rowgate::planner::WriteContext {
                principal: &service,
                request_id: "e2e-service-message",
                deadline: None,
            },
            "messages",
            row([
                ("match_id", json!(in_match)),
                ("sender_id", json!(from)),
                ("recipient_id", json!(to)),
                ("body", json!(body)),
            ]),
        )
        .await
        .expect("the service role writes a message");
}

#[tokio::test]
#[expect(
    clippy::too_many_lines,
    reason = "one story: each step's events are checked in order"
)]
async fn a_message_reaches_the_other_participant_never_a_third_or_a_blocked_user() {
    for backend in backends("dating: message subscription") {
        let app = spawn(backend).await;
        let (alice, bob, carol, erin) = (
            app.token(ALICE, None),
            app.token(BOB, None),
            app.token(CAROL, None),
            app.token(ERIN, None),
        );
        let mut to_bob = subscriber(&app, BOB).await;
        let mut to_erin = subscriber(&app, ERIN).await;
        let mut to_dave = subscriber(&app, DAVE).await;
        let mut to_mia = subscriber(&app, MIA).await;

        // 1. Alice writes to Bob, her match: Bob (and the moderator) get it; Erin, a third
        // user, does not (her first event, below, is a later one).
        let sent = data(
            &app,
            SEND,
            json!({"m": MATCH_ALICE_BOB, "to": BOB, "body": "See you at 10"}),
            Some(&alice),
        )
        .await;
        assert_eq!(sent["createMessage"]["senderId"], json!(ALICE), "{backend}");
        assert_eq!(
            next_message(&mut to_bob, "bob").await,
            insert("See you at 10", ALICE),
            "{backend}"
        );
        assert_eq!(
            next_message(&mut to_mia, "mia").await,
            insert("See you at 10", ALICE),
            "{backend}"
        );

        // 2. Two-way blocks, the blocked side: a message in the match Carol and Dave still
        // share, behind Carol's block of Dave, is on the bus (the moderator gets it) but
        // never reaches Dave (his first event, below, comes after the block is lifted).
        service_message(&app, MATCH_CAROL_DAVE, CAROL, DAVE, "Behind the block").await;
        assert_eq!(
            next_message(&mut to_mia, "mia").await,
            insert("Behind the block", CAROL),
            "{backend}"
        );

        // 3. Two-way blocks, the blocking side, while subscribed: Bob blocks Alice. She can no
        // longer write to him, and a message of hers that does get written (by the service
        // role) does not reach him.
        data(
            &app,
            "mutation($u: UUID!) { createBlock(input: {blockedId: $u}) { id } }",
            json!({"u": ALICE}),
            Some(&bob),
        )
        .await;
        let (_, body) = app
            .graphql(
                SEND,
                json!({"m": MATCH_ALICE_BOB, "to": BOB, "body": "Why?"}),
                Some(&alice),
            )
            .await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{backend}: {body}");
        service_message(&app, MATCH_ALICE_BOB, ALICE, BOB, "After the block").await;
        assert_eq!(
            next_message(&mut to_mia, "mia").await,
            insert("After the block", ALICE),
            "{backend}"
        );

        // 4. Erin and Bob accept each other's offers and are matched; Erin writes to Bob.
        // Bob's next event is hers (not Alice's message from behind his block), and it is
        // Erin's first (not Alice's message to Bob).
        for (token, offer) in [(&erin, OFFER_ERIN_BOB), (&bob, OFFER_BOB_ERIN)] {
            data(
                &app,
                "mutation($id: UUID!) { updateMatchOffer(id: $id, patch: {status: ACCEPTED}) { status } }",
                json!({"id": offer}),
                Some(token),
            )
            .await;
        }
        let matches = data(
            &app,
            "{ matches { nodes { id user1Id user2Id status } } }",
            json!({}),
            Some(&erin),
        )
        .await;
        let nodes = matches["matches"]["nodes"]
            .as_array()
            .expect("Erin's matches");
        assert_eq!(nodes.len(), 1, "{backend}: {matches}");
        assert_eq!(
            (
                &nodes[0]["user1Id"],
                &nodes[0]["user2Id"],
                &nodes[0]["status"]
            ),
            (&json!(ERIN), &json!(BOB), &json!("ACTIVE")),
            "{backend}"
        );
        let erin_bob = nodes[0]["id"].clone();
        data(
            &app,
            SEND,
            json!({"m": erin_bob, "to": BOB, "body": "Hi Bob"}),
            Some(&erin),
        )
        .await;
        for (client, who) in [
            (&mut to_bob, "bob"),
            (&mut to_erin, "erin"),
            (&mut to_mia, "mia"),
        ] {
            assert_eq!(
                next_message(client, who).await,
                insert("Hi Bob", ERIN),
                "{backend}: {who}"
            );
        }

        // 5. Carol lifts her block and writes to Dave: his first event is this one, not the
        // message from behind the block.
        data(
            &app,
            "mutation($id: UUID!) { deleteBlock(id: $id) { id } }",
            json!({"id": BLOCK_CAROL_DAVE}),
            Some(&carol),
        )
        .await;
        data(
            &app,
            SEND,
            json!({"m": MATCH_CAROL_DAVE, "to": DAVE, "body": "Let's talk"}),
            Some(&carol),
        )
        .await;
        for (client, who) in [(&mut to_dave, "dave"), (&mut to_mia, "mia")] {
            assert_eq!(
                next_message(client, who).await,
                insert("Let's talk", CAROL),
                "{backend}: {who}"
            );
        }

        // Nothing else reached anyone: Erin never hears of Carol and Dave, nor Bob of them.
        for (client, who) in [
            (&mut to_bob, "bob"),
            (&mut to_erin, "erin"),
            (&mut to_dave, "dave"),
            (&mut to_mia, "mia"),
        ] {
            assert_eq!(client.next(QUIET).await, None, "{backend}: {who}");
        }
        app.stop().await;
    }
}

const EFFECTIVE: &str = "{ effectiveConfig }";

#[tokio::test]
async fn the_effective_config_is_the_base_overridden_by_the_users_segments_from_the_hot_cache() {
    for backend in backends("dating: effective configuration") {
        let app = spawn(backend).await;
        let (alice, bob, carol, adam) = (
            app.token(ALICE, None),
            app.token(BOB, None),
            app.token(CAROL, None),
            app.token(ADAM, None),
        );
        let public = json!({"min_age": 18, "support_email": "help@dating.example"});
        let base = json!({
            "max_daily_likes": 100,
            "chat_ui": "classic",
            "min_age": 18,
            "support_email": "help@dating.example",
        });
        let effective = |likes: i64, chat_ui: &str| {
            let mut config = base.clone();
            config["max_daily_likes"] = json!(likes);
            config["chat_ui"] = json!(chat_ui);
            config
        };

        // Deny first: an anonymous request gets the public entries only, and a user in no
        // segment (Carol) the base, none of the segments' overrides.
        let anon = data(&app, EFFECTIVE, json!({}), None).await;
        assert_eq!(anon["effectiveConfig"], public, "{backend}");
        let as_carol = data(&app, EFFECTIVE, json!({}), Some(&carol)).await;
        assert_eq!(as_carol["effectiveConfig"], base, "{backend}");
        // Alice is in `premium` (likes 1000, priority 10) and `beta` (likes 50 and the
        // threaded chat, priority 1): the higher priority wins the key both override.
        let as_alice = data(&app, EFFECTIVE, json!({}), Some(&alice)).await;
        assert_eq!(
            as_alice["effectiveConfig"],
            effective(1000, "threads"),
            "{backend}"
        );
        let as_bob = data(&app, EFFECTIVE, json!({}), Some(&bob)).await;
        assert_eq!(
            as_bob["effectiveConfig"],
            effective(50, "threads"),
            "{backend}"
        );

        // Warm: answered from the hot cache, no SQL at all.
        let before = app.statements();
        for token in [&alice, &bob, &carol] {
            for _ in 0..2 {
                data(&app, EFFECTIVE, json!({}), Some(token)).await;
            }
        }
        data(&app, EFFECTIVE, json!({}), None).await;
        assert_eq!(
            app.statements() - before,
            0,
            "{backend}: warm effectiveConfig runs no SQL"
        );

        // An admin's writes make the next read fresh: `beta`'s likes become 75, and Carol
        // joins `beta`.
        data(
            &app,
            "mutation($id: UUID!) { updateSegmentConfigOverride(id: $id, patch: {value: 75}) { value } }",
            json!({"id": OVERRIDE_BETA_LIKES}),
            Some(&adam),
        )
        .await;
        data(
            &app,
            "mutation($s: UUID!, $u: UUID!) { createUserSegmentMember(input: {segmentId: $s, userId: $u}) { id } }",
            json!({"s": SEGMENT_BETA, "u": CAROL}),
            Some(&adam),
        )
        .await;
        let as_bob = data(&app, EFFECTIVE, json!({}), Some(&bob)).await;
        assert_eq!(
            as_bob["effectiveConfig"],
            effective(75, "threads"),
            "{backend}"
        );
        let as_carol = data(&app, EFFECTIVE, json!({}), Some(&carol)).await;
        assert_eq!(
            as_carol["effectiveConfig"],
            effective(75, "threads"),
            "{backend}"
        );
        let as_alice = data(&app, EFFECTIVE, json!({}), Some(&alice)).await;
        assert_eq!(
            as_alice["effectiveConfig"],
            effective(1000, "threads"),
            "{backend}"
        );
        // And warm again.
        let before = app.statements();
        data(&app, EFFECTIVE, json!({}), Some(&carol)).await;
        assert_eq!(app.statements() - before, 0, "{backend}: warm again");
        app.stop().await;
    }
}
