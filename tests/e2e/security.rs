//! Side channels, write races and resource holes: each test is the regression test of one
//! defect an adversarial probe found, with a line saying what leaked or broke. Deny cases
//! come before the allow cases that prove the path works at all.

use reqwest::StatusCode;
use rowgate_tests::demo::*;
use rowgate_tests::{Backend, TestApp, backends, error_code};
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::{Value, json};
use uuid::Uuid;

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

const NOTIFICATIONS: &str = "{ notifications(first: 100) { nodes { kind title body data } } }";

/// The notifications of `token`'s user whose body is `body`.
async fn notified(app: &TestApp, token: &str, body: &str) -> Vec<Value> {
    let found = ok(app, NOTIFICATIONS, json!({}), Some(token)).await;
    found["data"]["notifications"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|n| n["body"] == body || n.to_string().contains(body))
        .cloned()
        .collect()
}

#[tokio::test]
async fn notifications_never_copy_what_the_recipient_cannot_read() {
    for backend in backends("notifications_never_copy_what_the_recipient_cannot_read") {
        let app = TestApp::spawn(backend).await;
        let (bob, heidi, alice) = (
            app.token(BOB, Some(ACME)),
            app.token(HEIDI, Some(ACME)),
            app.token(ALICE, Some(ACME)),
        );
        let create = "mutation { createPost(input: {title: \"Trail map\", body: \"b\", status: PUBLISHED, visibility: TENANT}) { id } }";
        let bobs =
            ok(&app, create, json!({}), Some(&bob)).await["data"]["createPost"]["id"].clone();
        let alices =
            ok(&app, create, json!({}), Some(&alice)).await["data"]["createPost"]["id"].clone();
        let comment = "mutation($p: UUID!, $b: String!) { createComment(input: {postId: $p, body: $b}) { id } }";

        // Deny: bob blocks heidi, so he cannot read her comment, and would have read its
        // body in the notification.
        ok(
            &app,
            comment,
            json!({"p": bobs, "b": "comment-secret-1"}),
            Some(&heidi),
        )
        .await;
        let seen = ok(
            &app,
            "{ comments(filter: {body: {eq: \"comment-secret-1\"}}) { totalCount } }",
            json!({}),
            Some(&bob),
        )
        .await;
        assert_eq!(seen["data"]["comments"]["totalCount"], 0, "{backend}");
        assert_eq!(
            notified(&app, &bob, "comment-secret-1").await,
            Vec::<Value>::new(),
            "{backend}"
        );

        // Deny: the same for a message in a conversation of alice, bob and heidi.
        let message = "mutation($c: UUID!, $b: String!) { createMessage(input: {conversationId: $c, body: $b}) { id } }";
        ok(
            &app,
            message,
            json!({"c": ACME_CHAT, "b": "message-secret-1"}),
            Some(&heidi),
        )
        .await;
        assert_eq!(
            notified(&app, &bob, "message-secret-1").await,
            Vec::<Value>::new(),
            "{backend}"
        );

        // Allow: readers who may read the source rows are notified as before.
        assert_eq!(
            notified(&app, &alice, "message-secret-1").await.len(),
            1,
            "{backend}"
        );
        ok(
            &app,
            comment,
            json!({"p": alices, "b": "comment-open-1"}),
            Some(&heidi),
        )
        .await;
        assert_eq!(
            notified(&app, &alice, "comment-open-1").await.len(),
            1,
            "{backend}"
        );
        app.stop().await;
    }
}

const AUDIT: &str = "query($t: [String!]) { auditLogs(first: 100, filter: {tableName: {in: $t}}) { nodes { tableName rowId action newValues oldValues actorId } } }";

fn audit_rows(body: &Value) -> Vec<Value> {
    body["data"]["auditLogs"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no audit rows: {body}"))
        .clone()
}

#[tokio::test]
async fn audit_values_obey_the_audited_rows_read_policy() {
    for backend in backends("audit_values_obey_the_audited_rows_read_policy") {
        let app = TestApp::spawn(backend).await;
        let (heidi, carol, alice) = (
            app.token(HEIDI, Some(ACME)),
            app.token(CAROL, Some(ACME)),
            app.token(ALICE, Some(ACME)),
        );
        let message = "mutation($c: UUID!, $b: String!) { createMessage(input: {conversationId: $c, body: $b}) { id } }";
        let id = ok(
            &app,
            message,
            json!({"c": ACME_CHAT, "b": "PRIVATE salary 90k"}),
            Some(&heidi),
        )
        .await["data"]["createMessage"]["id"]
            .clone();

        // Deny: carol administers Acme but is not in the conversation; the audit row
        // would have shown her the message body.
        let rows = audit_rows(&ok(&app, AUDIT, json!({"t": ["messages"]}), Some(&carol)).await);
        let row = rows
            .iter()
            .find(|r| r["rowId"] == id)
            .unwrap_or_else(|| panic!("{backend}: carol still sees that the row was audited"));
        assert_eq!(row["action"], "INSERT", "{backend}");
        assert_eq!(row["actorId"], HEIDI.to_string(), "{backend}");
        assert!(row["newValues"].is_null(), "{backend}: {row}");
        assert!(
            !rows.iter().any(|r| r.to_string().contains("salary")),
            "{backend}"
        );
        // Deny: matching on the copied values would answer through counts.
        let (code, _) = err(
            &app,
            "{ auditLogs(filter: {newValues: {contains: {body: \"PRIVATE salary 90k\"}}}) { totalCount } }",
            json!({}),
            Some(&carol),
        )
        .await;
        assert_eq!(code, "BAD_USER_INPUT", "{backend}");
        // Allow: alice is in the conversation and reads the body; the service role reads all.
        let rows = audit_rows(&ok(&app, AUDIT, json!({"t": ["messages"]}), Some(&alice)).await);
        let row = rows.iter().find(|r| r["rowId"] == id).expect("audited");
        assert_eq!(row["newValues"]["body"], "PRIVATE salary 90k", "{backend}");
        let service = app.service_token();
        let rows = audit_rows(&ok(&app, AUDIT, json!({"t": ["messages"]}), Some(&service)).await);
        assert!(
            rows.iter()
                .any(|r| r["newValues"]["body"] == "PRIVATE salary 90k"),
            "{backend}"
        );

        // The conversation's `last_message_at` bump is a write like any other: audited.
        let rows =
            audit_rows(&ok(&app, AUDIT, json!({"t": ["conversations"]}), Some(&service)).await);
        assert!(
            rows.iter().any(|r| r["rowId"] == ACME_CHAT.to_string()
                && r["action"] == "UPDATE"
                && r["newValues"]["last_message_at"].is_string()),
            "{backend}: the bump of last_message_at is not audited: {rows:?}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn an_audit_row_naming_no_row_hides_its_values_and_keeps_the_page() {
    for backend in backends("an_audit_row_naming_no_row_hides_its_values_and_keeps_the_page") {
        let app = TestApp::spawn(backend).await;
        // A row id that is no key of `messages` (written by hand, or by an older schema).
        use sea_orm::sea_query::{Alias, Query};
        let insert = Query::insert()
            .into_table(Alias::new("audit_logs"))
            .columns(
                [
                    "id",
                    "tenant_id",
                    "action",
                    "table_name",
                    "row_id",
                    "new_values",
                ]
                .map(Alias::new),
            )
            .values_panic([
                Uuid::new_v4().into(),
                ACME.into(),
                "insert".into(),
                "messages".into(),
                "not-a-key".into(),
                json!({"body": "stray"}).into(),
            ])
            .to_owned();
        app.db.execute(&insert).await.expect("insert audit row");
        let carol = app.token(CAROL, Some(ACME));
        let rows = audit_rows(&ok(&app, AUDIT, json!({"t": ["messages"]}), Some(&carol)).await);
        let stray = rows
            .iter()
            .find(|r| r["rowId"] == "not-a-key")
            .unwrap_or_else(|| panic!("{backend}: the page lost the row: {rows:?}"));
        assert!(stray["newValues"].is_null(), "{backend}: {stray}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_uniqueness_failure_does_not_reveal_a_hidden_value() {
    for backend in backends("a_uniqueness_failure_does_not_reveal_a_hidden_value") {
        let app = TestApp::spawn(backend).await;
        let newcomer = app.token(Uuid::new_v4(), None);
        let create = "mutation($e: String!) { createProfile(input: {email: $e, displayName: \"New\"}) { id email } }";
        // Deny: CONFLICT told a stranger that heidi's (masked) address is registered.
        let (code, body) = err(
            &app,
            create,
            json!({"e": "heidi@example.com"}),
            Some(&newcomer),
        )
        .await;
        assert_ne!(code, "CONFLICT", "{backend}: {body}");
        assert_eq!(code, "FORBIDDEN", "{backend}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            !message.contains("email") && !message.contains("heidi"),
            "{backend}: {message}"
        );
        // Allow: a fresh address works; a collision on a readable column is still CONFLICT.
        let created = ok(
            &app,
            create,
            json!({"e": "newcomer@example.com"}),
            Some(&newcomer),
        )
        .await;
        assert_eq!(
            created["data"]["createProfile"]["email"],
            "newcomer@example.com"
        );
        let bob = app.token(BOB, Some(ACME));
        let (code, _) = err(
            &app,
            "mutation { createTenant(input: {name: \"Dup\", subdomain: \"acme\"}) { id } }",
            json!({}),
            Some(&bob),
        )
        .await;
        assert_eq!(code, "CONFLICT", "{backend}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_reference_must_be_readable_and_in_the_rows_tenant() {
    for backend in backends("a_reference_must_be_readable_and_in_the_rows_tenant") {
        let app = TestApp::spawn(backend).await;
        let (dave, service) = (app.token(DAVE, Some(GLOBEX)), app.service_token());
        let community = ok(
            &app,
            "mutation { createCommunity(input: {name: \"Board\", slug: \"board\", visibility: PRIVATE}) { id } }",
            json!({}),
            Some(&dave),
        )
        .await["data"]["createCommunity"]["id"]
            .clone();
        // frank belongs to both tenants and to Globex's private community.
        ok(&app, "mutation($t: UUID!, $u: UUID!) { createTenantMember(input: {tenantId: $t, userId: $u, role: MEMBER}) { role } }",
            json!({"t": ACME, "u": FRANK}), Some(&service)).await;
        ok(&app, "mutation($c: UUID!, $u: UUID!) { createCommunityMember(input: {communityId: $c, userId: $u, role: MEMBER}) { role } }",
            json!({"c": community, "u": FRANK}), Some(&service)).await;
        let post = "mutation($c: UUID!) { createPost(input: {communityId: $c, title: \"x\", body: \"y\", status: PUBLISHED, visibility: TENANT}) { id } }";

        // Deny: acting in Acme, an Acme post in a Globex community (dave then read an Acme
        // post through his community).
        let frank_acme = app.token(FRANK, Some(ACME));
        let (code, body) = err(&app, post, json!({"c": community}), Some(&frank_acme)).await;
        assert_eq!(code, "FORBIDDEN", "{backend}: {body}");
        // Deny: bob cannot even read the community; naming it is refused too.
        let bob = app.token(BOB, Some(ACME));
        let (code, _) = err(&app, "mutation($c: UUID!, $u: UUID!) { createCommunityMember(input: {communityId: $c, userId: $u, role: MEMBER}) { role } }",
            json!({"c": community, "u": BOB}), Some(&bob)).await;
        assert_eq!(code, "FORBIDDEN", "{backend}");

        // Allow: in Globex, the same post is fine.
        let frank_globex = app.token(FRANK, Some(GLOBEX));
        ok(&app, post, json!({"c": community}), Some(&frank_globex)).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn the_last_owner_rule_holds_under_concurrent_demotions() {
    for backend in backends("the_last_owner_rule_holds_under_concurrent_demotions") {
        // On PostgreSQL the two transactions run at once; on SQLite the second waits for
        // the write lock at BEGIN (a deferred transaction would fail to upgrade).
        let app = TestApp::spawn(backend).await;
        let service = app.service_token();
        let (alice, carol) = (app.token(ALICE, Some(ACME)), app.token(CAROL, Some(ACME)));
        let set = "mutation($u: UUID!, $r: TenantMemberRole!) { updateTenantMember(tenantId: \"deadbeef-0000-4000-8000-000000010001\", userId: $u, patch: {role: $r}) { role } }";
        let owners = "{ tenantMembers(filter: {tenantId: {eq: \"deadbeef-0000-4000-8000-000000010001\"}, role: {eq: OWNER}}) { totalCount } }";
        for round in 0..50 {
            ok(&app, set, json!({"u": CAROL, "r": "OWNER"}), Some(&service)).await;
            ok(&app, set, json!({"u": ALICE, "r": "OWNER"}), Some(&service)).await;
            let (a, c) = tokio::join!(
                app.graphql(set, json!({"u": ALICE, "r": "MEMBER"}), Some(&alice)),
                app.graphql(set, json!({"u": CAROL, "r": "MEMBER"}), Some(&carol)),
            );
            let refusals: Vec<&Value> = [&a.1, &c.1]
                .into_iter()
                .filter(|b| b.get("errors").is_some())
                .collect();
            assert_eq!(
                refusals.len(),
                1,
                "{backend} round {round}: exactly one demotion wins: {a:?} {c:?}"
            );
            assert_eq!(
                error_code(refusals[0]),
                Some("CONFLICT"),
                "{backend} round {round}: {:?}",
                refusals[0]
            );
            let count = ok(&app, owners, json!({}), Some(&service)).await["data"]["tenantMembers"]
                ["totalCount"]
                .clone();
            assert_eq!(
                count, 1,
                "{backend} round {round}: Acme must keep one owner"
            );
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn a_deadlock_is_a_conflict_to_retry_not_an_internal_error() {
    // Only PostgreSQL has concurrent writers that can deadlock.
    for backend in postgres_only("a_deadlock_is_a_conflict_to_retry_not_an_internal_error") {
        let app = TestApp::spawn(backend).await;
        let touch = |tenant: Uuid| format!("UPDATE tenants SET name = name WHERE id = '{tenant}'");
        let (first, second) = (
            app.db.begin().await.expect("begin"),
            app.db.begin().await.expect("begin"),
        );
        first
            .execute_unprepared(&touch(ACME))
            .await
            .expect("lock acme");
        second
            .execute_unprepared(&touch(GLOBEX))
            .await
            .expect("lock globex");
        // Each now waits for the other's row: PostgreSQL breaks the cycle by failing one.
        let (to_globex, to_acme) = (touch(GLOBEX), touch(ACME));
        let (a, b) = tokio::join!(
            first.execute_unprepared(&to_globex),
            second.execute_unprepared(&to_acme),
        );
        let failed = [a, b]
            .into_iter()
            .filter_map(Result::err)
            .collect::<Vec<_>>();
        assert_eq!(failed.len(), 1, "exactly one side is chosen as the victim");
        let error = rowgate::error::AppError::from(failed.into_iter().next().expect("one"));
        assert_eq!(error.code(), rowgate::error::ErrorCode::Conflict, "{error}");
        let message = error.public_message("r");
        assert!(message.contains("retry"), "{message}");
        assert!(
            !message.contains("deadlock"),
            "no database internals: {message}"
        );
        drop((first, second));
        app.stop().await;
    }
}

#[tokio::test]
async fn the_service_role_reads_and_filters_masked_columns() {
    for backend in backends("the_service_role_reads_and_filters_masked_columns") {
        let app = TestApp::spawn(backend).await;
        let query =
            "{ profiles(filter: {email: {eq: \"heidi@example.com\"}}) { nodes { id email } } }";
        // Deny first: bob may see heidi's profile but neither her address nor match on it.
        let (code, _) = err(&app, query, json!({}), Some(&app.token(BOB, Some(ACME)))).await;
        assert_eq!(code, "BAD_USER_INPUT", "{backend}");
        let found = ok(&app, query, json!({}), Some(&app.service_token())).await;
        assert_eq!(
            found["data"]["profiles"]["nodes"],
            json!([{"id": HEIDI.to_string(), "email": "heidi@example.com"}]),
            "{backend}"
        );
        app.stop().await;
    }
}

/// The backends of `test` where only PostgreSQL can show the behaviour tested.
fn postgres_only(test: &str) -> impl Iterator<Item = Backend> {
    backends(test)
        .into_iter()
        .filter(|b| *b == Backend::Postgres)
}

fn short_deadlines(settings: &mut rowgate::config::Settings) {
    settings.request_timeout_secs = Some("2".into());
    settings.statement_timeout_secs = Some("1".into());
}

#[tokio::test]
async fn a_blocked_database_answers_timeout_and_releases_the_connection() {
    for backend in backends("a_blocked_database_answers_timeout_and_releases_the_connection") {
        let app = TestApp::spawn_adjusted(backend, short_deadlines).await;
        let bob = app.token(BOB, Some(ACME));
        let write = "mutation { createPost(input: {title: \"t\", body: \"b\"}) { id } }";
        // Another client holds the table (PostgreSQL) or the database's write lock
        // (SQLite) for longer than the deadlines.
        let blocker = app.db.begin().await.expect("begin");
        match backend {
            Backend::Postgres => blocker
                .execute_unprepared("LOCK TABLE posts IN ACCESS EXCLUSIVE MODE")
                .await
                .expect("lock"),
            Backend::Sqlite => blocker
                .execute_unprepared(
                    "UPDATE posts SET title = title WHERE id = 'deadbeef-0000-4000-8000-000000040001'",
                )
                .await
                .expect("write lock"),
        };
        let (code, body) = err(&app, write, json!({}), Some(&bob)).await;
        assert_eq!(code, "TIMEOUT", "{backend}: {body}");
        assert!(
            body["errors"][0]["extensions"]["requestId"].is_string(),
            "{backend}: {body}"
        );
        blocker.rollback().await.expect("rollback");
        // Nothing was written, and the gateway serves again.
        ok(&app, write, json!({}), Some(&bob)).await;
        let count = ok(
            &app,
            "{ posts(filter: {title: {eq: \"t\"}}) { totalCount } }",
            json!({}),
            Some(&bob),
        )
        .await;
        assert_eq!(count["data"]["posts"]["totalCount"], 1, "{backend}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_committed_write_is_reported_and_a_later_one_refused_at_the_deadline() {
    // Two writes in one request; the second waits for a lock past the request's deadline.
    for backend in
        postgres_only("a_committed_write_is_reported_and_a_later_one_refused_at_the_deadline")
    {
        let app = TestApp::spawn_adjusted(backend, |settings| {
            settings.request_timeout_secs = Some("2".into());
            settings.statement_timeout_secs = Some("10".into());
        })
        .await;
        let bob = app.token(BOB, Some(ACME));
        let blocker = app.db.begin().await.expect("begin");
        blocker
            .execute_unprepared("LOCK TABLE comments IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("lock");
        let query = "mutation { a: createPost(input: {title: \"deadline-a\", body: \"b\"}) { id } \
             b: createComment(input: {postId: \"deadbeef-0000-4000-8000-000000040002\", body: \"deadline-b\"}) { id } }";
        let request = app.graphql(query, json!({}), Some(&bob));
        let release = async {
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            blocker.rollback().await.expect("rollback");
        };
        let ((_, body), ()) = tokio::join!(request, release);
        // The committed write is reported; the one that reached the deadline is not written.
        assert!(body["data"]["a"]["id"].is_string(), "{body}");
        assert!(body["data"]["b"].is_null(), "{body}");
        assert_eq!(body["errors"][0]["path"], json!(["b"]), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "TIMEOUT", "{body}");
        let written = ok(
            &app,
            "{ posts(filter: {title: {eq: \"deadline-a\"}}) { totalCount } \
               comments(filter: {body: {eq: \"deadline-b\"}}) { totalCount } }",
            json!({}),
            Some(&bob),
        )
        .await;
        assert_eq!(written["data"]["posts"]["totalCount"], 1, "{written}");
        assert_eq!(written["data"]["comments"]["totalCount"], 0, "{written}");
        app.stop().await;
    }
}

#[tokio::test]
async fn migrations_and_seeds_are_not_cut_by_the_statement_timeout() {
    // Only PostgreSQL can be asked to sleep inside a statement.
    for backend in postgres_only("migrations_and_seeds_are_not_cut_by_the_statement_timeout") {
        let app = TestApp::spawn_adjusted(backend, short_deadlines).await;
        let slow = "SELECT pg_sleep(1.5)";
        let serving = rowgate::db::connect(&app.config)
            .await
            .expect("serving pool");
        let cut = serving.execute_unprepared(slow).await;
        assert!(
            cut.is_err(),
            "the serving pool lets a statement run past 1 s"
        );
        serving.close().await.expect("close");
        let maintenance = rowgate::db::connect_for_maintenance(&app.config)
            .await
            .expect("maintenance pool");
        maintenance
            .execute_unprepared(slow)
            .await
            .expect("a maintenance statement runs as long as it needs");
        maintenance.close().await.expect("close");
        app.stop().await;
    }
}

#[tokio::test]
async fn memberships_and_participants_the_gateway_writes_reveal_nothing_hidden() {
    for backend in backends("memberships_and_participants_the_gateway_writes_reveal_nothing_hidden")
    {
        let app = TestApp::spawn(backend).await;
        let (bob, heidi, carol) = (
            app.token(BOB, Some(ACME)),
            app.token(HEIDI, Some(ACME)),
            app.token(CAROL, Some(ACME)),
        );
        // A conversation's creator becomes its participant: the conversation's title and
        // the participant row stay hidden from other members, admins included.
        let created = ok(
            &app,
            "mutation { createConversation(input: {title: \"secret-title-1\"}) { id } }",
            json!({}),
            Some(&bob),
        )
        .await;
        let id = created["data"]["createConversation"]["id"].clone();
        for other in [&heidi, &carol] {
            let seen = ok(
                &app,
                "query($c: UUID!) { conversationParticipants(filter: {conversationId: {eq: $c}}) { totalCount } conversations(filter: {id: {eq: $c}}) { totalCount } }",
                json!({"c": id}),
                Some(other),
            )
            .await;
            assert_eq!(
                seen["data"]["conversationParticipants"]["totalCount"], 0,
                "{backend}"
            );
            assert_eq!(seen["data"]["conversations"]["totalCount"], 0, "{backend}");
            let audit = ok(
                &app,
                AUDIT,
                json!({"t": ["conversations", "conversation_participants"]}),
                Some(other),
            )
            .await;
            let text = audit.to_string();
            assert!(!text.contains("secret-title-1"), "{backend}: {text}");
        }
        let mine = ok(
            &app,
            "query($c: UUID!) { conversationParticipants(filter: {conversationId: {eq: $c}}) { nodes { userId } } }",
            json!({"c": id}),
            Some(&bob),
        )
        .await;
        assert_eq!(
            mine["data"]["conversationParticipants"]["nodes"],
            json!([{"userId": BOB.to_string()}]),
            "{backend}"
        );
        // A tenant's creator becomes its owner: nobody else sees the new tenant's membership.
        let tenant = ok(
            &app,
            "mutation { createTenant(input: {name: \"Hidden Co\", subdomain: \"hidden-co\"}) { id } }",
            json!({}),
            Some(&heidi),
        )
        .await["data"]["createTenant"]["id"]
            .clone();
        let seen = ok(
            &app,
            "query($t: UUID!) { tenantMembers(filter: {tenantId: {eq: $t}}) { totalCount } }",
            json!({"t": tenant}),
            Some(&carol),
        )
        .await;
        assert_eq!(seen["data"]["tenantMembers"]["totalCount"], 0, "{backend}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_fragment_bomb_is_refused_before_validation() {
    for backend in backends("a_fragment_bomb_is_refused_before_validation") {
        let app = TestApp::spawn(backend).await;
        // 23 levels of fragments each spreading the next twice: 2^23 fields once expanded
        // (it took seconds of CPU and answered 200).
        let mut bomb = String::from("query { ...F0 }");
        for level in 0..23 {
            bomb.push_str(&format!(
                " fragment F{level} on Query {{ ...F{} ...F{} }}",
                level + 1,
                level + 1
            ));
        }
        bomb.push_str(" fragment F23 on Query { __typename }");
        let (status, body) = app.graphql(&bomb, json!({}), None).await;
        assert_eq!(
            error_code(&body),
            Some("QUERY_TOO_COMPLEX"),
            "{backend}: {body}"
        );
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}");
        // Fields at every level expand the same way.
        let mut wide = String::from("query { ...G0 }");
        for level in 0..20 {
            wide.push_str(&format!(
                " fragment G{level} on Query {{ publicConfig ...G{} ...G{} }}",
                level + 1,
                level + 1
            ));
        }
        wide.push_str(" fragment G20 on Query { publicConfig }");
        let (_, body) = app.graphql(&wide, json!({}), None).await;
        assert_eq!(
            error_code(&body),
            Some("QUERY_TOO_COMPLEX"),
            "{backend}: {body}"
        );
        // An ordinary document with fragments still runs.
        ok(
            &app,
            "query { ...A ...A } fragment A on Query { posts(first: 5) { nodes { ...P } } } fragment P on Post { id title }",
            json!({}),
            None,
        )
        .await;
        app.stop().await;
    }
}

#[tokio::test]
async fn a_key_with_an_enum_column_can_be_named() {
    for backend in backends("a_key_with_an_enum_column_can_be_named") {
        let app = TestApp::spawn(backend).await;
        let lookup = "query($u: UUID!) { userRole(userId: $u, role: MODERATOR) { userId role } }";
        // Deny first: bob may not read mallory's platform role.
        let hidden = ok(
            &app,
            lookup,
            json!({"u": MALLORY}),
            Some(&app.token(BOB, Some(ACME))),
        )
        .await;
        assert!(hidden["data"]["userRole"].is_null(), "{backend}: {hidden}");
        // The row the list shows is found by its key, and deleted by it.
        let erin = app.token(ERIN, None);
        let found = ok(&app, lookup, json!({"u": MALLORY}), Some(&erin)).await;
        assert_eq!(
            found["data"]["userRole"],
            json!({"userId": MALLORY.to_string(), "role": "MODERATOR"}),
            "{backend}"
        );
        let deleted = ok(
            &app,
            "mutation($u: UUID!) { deleteUserRole(userId: $u, role: MODERATOR) { role } }",
            json!({"u": MALLORY}),
            Some(&erin),
        )
        .await;
        assert_eq!(
            deleted["data"]["deleteUserRole"]["role"], "MODERATOR",
            "{backend}"
        );
        let gone = ok(&app, lookup, json!({"u": MALLORY}), Some(&erin)).await;
        assert!(gone["data"]["userRole"].is_null(), "{backend}");
        app.stop().await;
    }
}

#[tokio::test]
async fn nul_bytes_and_a_trailing_escape_are_the_clients_mistake() {
    for backend in backends("nul_bytes_and_a_trailing_escape_are_the_clients_mistake") {
        let app = TestApp::spawn(backend).await;
        let bob = app.token(BOB, Some(ACME));
        let cases = [
            (
                "query($v: String!) { posts(filter: {title: {eq: $v}}) { totalCount } }",
                json!({"v": "a\u{0}b"}),
                "NUL",
            ),
            (
                "query($v: String!) { posts(filter: {title: {startsWith: $v}}) { totalCount } }",
                json!({"v": "a\u{0}"}),
                "NUL",
            ),
            (
                "query($v: String!) { posts(filter: {title: {like: $v}}) { totalCount } }",
                json!({"v": "abc\\"}),
                "escape",
            ),
            (
                "query($v: String!) { posts(filter: {title: {ilike: $v}}) { totalCount } }",
                json!({"v": "%\\"}),
                "escape",
            ),
            (
                "mutation($v: String!) { createPost(input: {title: $v, body: \"b\"}) { id } }",
                json!({"v": "t\u{0}"}),
                "NUL",
            ),
            (
                "mutation($v: JSON!) { createPost(input: {title: \"t\", body: \"b\", metadata: $v}) { id } }",
                json!({"v": {"k": "v\u{0}"}}),
                "NUL",
            ),
            (
                "query($v: JSON!) { posts(filter: {metadata: {contains: $v}}) { totalCount } }",
                json!({"v": {"k\u{0}": "v"}}),
                "NUL",
            ),
            (
                "query($c: String!) { posts(first: 1, after: $c, orderBy: [TITLE_ASC]) { totalCount } }",
                json!({"c": with_nul(&app, &bob).await}),
                "malformed cursor",
            ),
        ];
        for (query, variables, says) in cases {
            let (code, body) = err(&app, query, variables.clone(), Some(&bob)).await;
            assert_eq!(
                code, "BAD_USER_INPUT",
                "{backend}: {query} {variables}: {body}"
            );
            let message = body["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(message.contains(says), "{backend}: {message}");
        }
        // An escaped backslash is a literal backslash, on both databases.
        let found = ok(
            &app,
            "query($v: String!) { posts(filter: {title: {like: $v}}) { totalCount } }",
            json!({"v": "%\\\\"}),
            Some(&bob),
        )
        .await;
        assert_eq!(found["data"]["posts"]["totalCount"], 0, "{backend}");
        let (posts, nothing_written) = (
            ok(
                &app,
                "{ posts(filter: {title: {eq: \"t\"}}) { totalCount } }",
                json!({}),
                Some(&bob),
            )
            .await,
            0,
        );
        assert_eq!(
            posts["data"]["posts"]["totalCount"], nothing_written,
            "{backend}"
        );
        app.stop().await;
    }
}

/// A cursor the gateway gave for `posts` by title, with a NUL character put into its value.
async fn with_nul(app: &TestApp, token: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let page = ok(
        app,
        "{ posts(first: 1, orderBy: [TITLE_ASC]) { pageInfo { endCursor } } }",
        json!({}),
        Some(token),
    )
    .await;
    let cursor = page["data"]["posts"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("a cursor");
    let mut decoded: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(cursor).expect("base64")).expect("json");
    decoded["v"][0] = json!("a\u{0}b");
    URL_SAFE_NO_PAD.encode(decoded.to_string())
}

/// A small deterministic generator (no seed from the clock: a failure replays).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from((self.0 >> 33) % n as u64).unwrap_or(0)
    }
}

/// The ids of one page and its end cursor (`endCursor` forward, `startCursor` backward).
async fn page_ids(
    app: &TestApp,
    root: &str,
    order: &[String],
    args: &str,
    variables: Value,
    token: &str,
) -> (Vec<Value>, Option<String>, bool) {
    let query = format!(
        "query($first: Int, $after: String, $last: Int, $before: String) {{ {root}(orderBy: [{}], first: $first, after: $after, last: $last, before: $before) {{ nodes {{ id }} pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }} }}",
        order.join(", ")
    );
    let body = ok(app, &query, variables, Some(token)).await;
    let connection = &body["data"][root];
    let ids = connection["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].clone())
        .collect();
    let backwards = args == "last";
    let info = &connection["pageInfo"];
    let (cursor, more) = if backwards {
        (
            info["startCursor"].as_str(),
            info["hasPreviousPage"].as_bool(),
        )
    } else {
        (info["endCursor"].as_str(), info["hasNextPage"].as_bool())
    };
    (ids, cursor.map(str::to_owned), more.unwrap_or(false))
}

#[tokio::test]
async fn keyset_pages_over_nullable_columns_lose_no_row() {
    for backend in backends("keyset_pages_over_nullable_columns_lose_no_row") {
        let app = TestApp::spawn(backend).await;
        let carol = app.token(CAROL, Some(ACME));
        let service = app.service_token();
        let tables: [(&str, &[&str], &str); 2] = [
            (
                "posts",
                &[
                    "COMMUNITY_ID",
                    "STATUS",
                    "TITLE",
                    "CREATED_AT",
                    "DELETED_AT",
                ],
                &carol,
            ),
            (
                "notifications",
                &["READ_AT", "KIND", "USER_ID", "CREATED_AT"],
                &service,
            ),
        ];
        let mut rng = Lcg(0x5eed);
        for (root, columns, token) in tables {
            for _ in 0..12 {
                let mut order = Vec::new();
                for _ in 0..=rng.below(2) {
                    let column = columns[rng.below(columns.len())];
                    if !order.iter().any(|o: &String| o.starts_with(column)) {
                        order.push(format!("{column}_{}", ["ASC", "DESC"][rng.below(2)]));
                    }
                }
                let (all, _, _) = page_ids(
                    &app,
                    root,
                    &order,
                    "first: $first",
                    json!({"first": 100}),
                    token,
                )
                .await;
                assert!(all.len() > 2, "{backend}: {root} has rows");
                // Forward, random page sizes.
                let (mut walked, mut cursor) = (Vec::new(), None::<String>);
                loop {
                    let size = 1 + rng.below(3);
                    let (ids, end, more) = page_ids(
                        &app,
                        root,
                        &order,
                        "first",
                        json!({"first": size, "after": cursor}),
                        token,
                    )
                    .await;
                    walked.extend(ids);
                    cursor = end;
                    if !more || walked.len() > all.len() {
                        break;
                    }
                }
                assert_eq!(walked, all, "{backend}: {root} {order:?} forward");
                // Backward.
                let (mut walked, mut cursor) = (Vec::new(), None::<String>);
                loop {
                    let size = 1 + rng.below(3);
                    let (mut ids, start, more) = page_ids(
                        &app,
                        root,
                        &order,
                        "last",
                        json!({"last": size, "before": cursor}),
                        token,
                    )
                    .await;
                    ids.extend(walked);
                    walked = ids;
                    cursor = start;
                    if !more || walked.len() > all.len() {
                        break;
                    }
                }
                assert_eq!(walked, all, "{backend}: {root} {order:?} backward");
            }
        }
        app.stop().await;
    }
}

/// A hook that writes a notification, then fails: the write must leave nothing behind.
struct FailingAfterPost;

#[rowgate::hooks::async_trait]
impl rowgate::hooks::WriteHook for FailingAfterPost {
    fn name(&self) -> &'static str {
        "failing_after_post"
    }

    async fn after(
        &self,
        tx: &rowgate::hooks::HookTx<'_>,
        write: &rowgate::hooks::Write<'_>,
    ) -> rowgate::error::AppResult<()> {
        use entities::notifications::Column as N;
        use rowgate::hooks::RowExt;
        tx.insert(
            entities::notifications::Entity,
            [
                (
                    N::TenantId,
                    json!(write.row().uuid(entities::posts::Column::TenantId)),
                ),
                (N::UserId, json!(ALICE)),
                (N::Kind, json!("hooked")),
                (N::Title, json!("hooked")),
                (N::Body, json!("hooked")),
                (N::Data, json!({})),
            ],
        )
        .await?;
        Err(rowgate::error::AppError::Internal(
            "the mail server is down".into(),
        ))
    }
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let backend = app.db.get_database_backend();
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(backend, sql))
        .await
        .expect("count")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("a number")
}

#[tokio::test]
async fn a_failing_write_hook_rolls_the_write_back_and_names_itself() {
    for backend in backends("a_failing_write_hook_rolls_the_write_back_and_names_itself") {
        let application = rowgate_server::builder()
            .hook::<entities::posts::Entity>(FailingAfterPost)
            .build()
            .expect("the application builds");
        let app = TestApp::spawn_with(
            backend,
            rowgate_tests::TestOptions {
                application: Some(application),
                ..Default::default()
            },
        )
        .await;
        let audited = count(&app, "SELECT COUNT(*) FROM audit_logs").await;
        let alice = app.token(ALICE, Some(ACME));
        let (code, body) = err(
            &app,
            "mutation { createPost(input: {title: \"hooked\", body: \"b\", status: PUBLISHED, visibility: TENANT}) { id } }",
            json!({}),
            Some(&alice),
        )
        .await;
        assert_eq!(code, "INTERNAL", "{backend}: {body}");
        assert!(
            !body.to_string().contains("mail server"),
            "the hook's detail stays in the server log: {body}"
        );
        // Nothing of the write is left: neither the post, nor the hook's notification, nor
        // an audit row of either.
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM posts WHERE title = 'hooked'").await,
            0,
            "{backend}"
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM notifications WHERE kind = 'hooked'"
            )
            .await,
            0,
            "{backend}"
        );
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM audit_logs").await,
            audited,
            "{backend}"
        );
        // The failure names the hook and the table, on one line (what the server logs).
        let service = rowgate::policy::Principal::service_role(None, None);
        let mut row = rowgate::hooks::Row::new();
        for (column, value) in [
            ("tenant_id", json!(ACME)),
            ("author_id", json!(ALICE)),
            ("title", json!("hooked")),
            ("body", json!("b")),
            ("status", json!("published")),
            ("visibility", json!("tenant")),
        ] {
            row.insert(column.into(), value);
        }
        let failure = app
            .served
            .insert(
                rowgate::planner::WriteContext {
                    principal: &service,
                    request_id: "hook-test",
                    deadline: None,
                },
                "posts",
                row,
            )
            .await
            .expect_err("the hook fails the write");
        let message = failure.to_string();
        assert!(
            message.contains("failing_after_post") && message.contains("posts"),
            "{message}"
        );
        assert!(!message.contains('\n'), "one line: {message}");
        app.stop().await;
    }
}
