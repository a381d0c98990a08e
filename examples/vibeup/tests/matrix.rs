//! The vibeup policy matrix over its demo data, on SQLite and (with `DATABASE_URL`)
//! PostgreSQL, with the test kit's runner: every table × read (list, count, lookup by key)
//! and write (insert, update, delete) × kind of principal (anonymous, each demo user, the
//! administrator, the service role). Refusals come before what is allowed, and the
//! product's named rules come first of all: the never-readable credential, connections
//! both sides accept, messages only between connected users, owner-only practice logs,
//! community membership for vibes.

use rowgate::policy::eval::Row;
use rowgate_tests::matrix::{Expect, Who, Write, row};
use rowgate_tests::{Backend, TestApp, backends, error_code};
use serde_json::{Value as Json, json};
use uuid::Uuid;
use vibeup::*;

const ANON: Who = Who::anon();
const SERVICE: Who = Who::service();
const ADA_: Who = Who::user("ada (administrator)", ADA, None);
const MAYA_: Who = Who::user("maya", MAYA, None);
const NOAH_: Who = Who::user("noah", NOAH, None);
const OMAR_: Who = Who::user("omar", OMAR, None);
const PRIYA_: Who = Who::user("priya", PRIYA, None);

async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_application(
        backend,
        application().expect("the vibeup application builds"),
    )
    .await
}

fn key(id: Uuid) -> Row {
    row([("id", json!(id))])
}

fn id_of(row: &Row) -> Uuid {
    row["id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .expect("an id")
}

/// Asserts `who` reads exactly `ids` of `table`.
async fn reads(app: &TestApp, who: &Who, table: &str, ids: &[Uuid]) {
    let keys: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    app.assert_reads(who, table, &keys).await;
}

/// The row `id` of `table` as `who` reads it (panics if they cannot).
async fn read_row(app: &TestApp, who: &Who, table: &str, id: Uuid) -> Row {
    let principal = app.who(who).await;
    app.store()
        .find(&principal, table, &key(id))
        .await
        .unwrap_or_else(|e| panic!("find {table}: {e}"))
        .unwrap_or_else(|| panic!("{}: must read {table} {id}", who.label))
}

/// A streak's (current, longest), as the service role reads it.
async fn streak_of(app: &TestApp, id: Uuid) -> (Json, Json) {
    let s = read_row(app, &SERVICE, "practice_streaks", id).await;
    (s["current_streak"].clone(), s["longest_streak"].clone())
}

/// Every row of `table`, as the service role reads them.
async fn every_row(app: &TestApp, table: &str) -> Vec<Row> {
    let service = app.who(&SERVICE).await;
    app.store()
        .list(&service, table, rowgate::planner::ListArgs::default())
        .await
        .unwrap_or_else(|e| panic!("list {table}: {e}"))
}

async fn refused(app: &TestApp, cases: Vec<(&Who, Write, &'static str)>) {
    for (who, write, code) in cases {
        app.assert_write(who, write, Expect::Refused(code)).await;
    }
}

async fn allowed(app: &TestApp, who: &Who, write: Write) -> Row {
    app.assert_write(who, write, Expect::Allowed)
        .await
        .expect("the written row")
}

// ---------------------------------------------------------------------------------------
// Rule: the never-readable credential. `ai_provider_credentials.api_key` is read by the
// service role alone: administrators (who may write and rotate it) and users read it as
// NULL on every path, cannot filter or order on it, and it is copied into no audit row.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn no_one_but_the_service_role_reads_a_provider_api_key() {
    for backend in backends("vibeup::no_one_but_the_service_role_reads_a_provider_api_key") {
        let app = spawn(backend).await;
        let credentials = [CREDENTIAL_OPENAI, CREDENTIAL_ANTHROPIC];

        // Deny: users and anonymous requests read no credential at all; the administrator
        // reads them with the key as NULL.
        for who in [&ANON, &MAYA_, &NOAH_, &OMAR_, &PRIYA_] {
            reads(&app, who, "ai_provider_credentials", &[]).await;
        }
        reads(&app, &ADA_, "ai_provider_credentials", &credentials).await;
        for id in credentials {
            let credential = read_row(&app, &ADA_, "ai_provider_credentials", id).await;
            assert_eq!(
                credential["api_key"],
                Json::Null,
                "{backend}: ada reads a key"
            );
            assert!(credential["provider"].is_string(), "{backend}");
        }
        // Nor over GraphQL, nor through the model configuration that names it.
        let ada = app.token(ADA, None);
        let (_, body) = app
            .graphql(
                "{ aiProviderCredentials { nodes { provider apiKey } } aiModelConfigs { nodes { key credential { provider apiKey } } } }",
                json!({}),
                Some(&ada),
            )
            .await;
        assert!(body["errors"].is_null(), "{backend}: {body}");
        let text = body.to_string();
        assert!(
            !text.contains(OPENAI_KEY) && !text.contains(ANTHROPIC_KEY),
            "{backend}: {body}"
        );
        assert_eq!(
            body["data"]["aiProviderCredentials"]["nodes"]
                .as_array()
                .map(Vec::len),
            Some(2),
            "{backend}: {body}"
        );
        for node in body["data"]["aiProviderCredentials"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert_eq!(node["apiKey"], Json::Null, "{backend}: {body}");
        }
        // Filtering or ordering on the key would reveal it: refused, for the administrator
        // and for users alike, and nothing is answered.
        let maya = app.token(MAYA, None);
        for token in [&ada, &maya] {
            for query in [
                format!(
                    "{{ aiProviderCredentials(filter: {{apiKey: {{eq: \"{OPENAI_KEY}\"}}}}) {{ totalCount nodes {{ provider }} }} }}"
                ),
                "{ aiProviderCredentials(filter: {apiKey: {startsWith: \"sk-demo-openai\"}}) { nodes { provider } } }".to_owned(),
                "{ aiProviderCredentials(orderBy: [API_KEY_ASC]) { nodes { provider } } }"
                    .to_owned(),
            ] {
                let (_, body) = app.graphql(&query, json!({}), Some(token)).await;
                assert_eq!(
                    error_code(&body),
                    Some("BAD_USER_INPUT"),
                    "{backend}: {query} must be refused: {body}"
                );
                assert!(
                    body["data"].is_null()
                        || body["data"]["aiProviderCredentials"].is_null(),
                    "{backend}: {query}: {body}"
                );
            }
        }

        // Writes: users cannot write credentials; the administrator writes and rotates a
        // key, and the written row comes back with the key as NULL.
        let new_key = "sk-demo-mistral-1111-written-by-ada";
        let rotated_key = "sk-demo-mistral-2222-rotated-by-ada";
        let credential_row = || {
            row([
                ("provider", json!("mistral")),
                ("label", json!("Mistral")),
                ("api_key", json!(new_key)),
            ])
        };
        refused(
            &app,
            vec![
                (
                    &ANON,
                    Write::Insert("ai_provider_credentials", credential_row()),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Insert("ai_provider_credentials", credential_row()),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Update(
                        "ai_provider_credentials",
                        key(CREDENTIAL_OPENAI),
                        row([("api_key", json!("sk-mine"))]),
                    ),
                    "NOT_FOUND",
                ),
                (
                    &MAYA_,
                    Write::Delete("ai_provider_credentials", key(CREDENTIAL_OPENAI)),
                    "NOT_FOUND",
                ),
                (
                    &ADA_,
                    Write::Insert(
                        "ai_provider_credentials",
                        row([
                            ("provider", json!("other")),
                            ("api_key", json!("k")),
                            ("created_by", json!(MAYA)),
                        ]),
                    ),
                    "BAD_USER_INPUT",
                ),
            ],
        )
        .await;
        let written = allowed(
            &app,
            &ADA_,
            Write::Insert("ai_provider_credentials", credential_row()),
        )
        .await;
        assert_eq!(written["api_key"], Json::Null, "{backend}: {written:?}");
        assert_eq!(written["created_by"], json!(ADA.to_string()), "{backend}");
        let mistral = id_of(&written);
        let rotated = allowed(
            &app,
            &ADA_,
            Write::Update(
                "ai_provider_credentials",
                key(mistral),
                row([("api_key", json!(rotated_key))]),
            ),
        )
        .await;
        assert_eq!(rotated["api_key"], Json::Null, "{backend}: {rotated:?}");
        // A key cannot be probed through a uniqueness collision either: providers are
        // unique, and the answer names no value.
        app.assert_write(
            &ADA_,
            Write::Insert(
                "ai_provider_credentials",
                row([("provider", json!("mistral")), ("api_key", json!("x"))]),
            ),
            Expect::Refused("CONFLICT"),
        )
        .await;

        // The service role reads the key (it is the AI router's).
        let service_read = read_row(&app, &SERVICE, "ai_provider_credentials", mistral).await;
        assert_eq!(service_read["api_key"], json!(rotated_key), "{backend}");
        let service_read =
            read_row(&app, &SERVICE, "ai_provider_credentials", CREDENTIAL_OPENAI).await;
        assert_eq!(service_read["api_key"], json!(OPENAI_KEY), "{backend}");
        let service = app.service_token();
        let (_, body) = app
            .graphql(
                &format!(
                    "{{ aiProviderCredentials(filter: {{apiKey: {{eq: \"{OPENAI_KEY}\"}}}}) {{ nodes {{ provider apiKey }} }} }}"
                ),
                json!({}),
                Some(&service),
            )
            .await;
        assert_eq!(
            body["data"]["aiProviderCredentials"]["nodes"],
            json!([{"provider": "openai", "apiKey": OPENAI_KEY}]),
            "{backend}: {body}"
        );

        // The audit trail records who wrote the credentials and their values, never the
        // key: the stored audit rows (as the service role reads them, unmasked) hold
        // neither key, nor an `api_key` entry at all.
        let audits: Vec<Row> = every_row(&app, "audit_logs")
            .await
            .into_iter()
            .filter(|a| a["table_name"] == json!("ai_provider_credentials"))
            .collect();
        assert_eq!(audits.len(), 2, "{backend}: {audits:?}");
        for audit in &audits {
            assert_eq!(audit["actor_id"], json!(ADA.to_string()), "{backend}");
            assert_eq!(audit["row_id"], json!(mistral.to_string()), "{backend}");
            let new_values = &audit["new_values"];
            assert_eq!(
                new_values["provider"],
                json!("mistral"),
                "{backend}: {audit:?}"
            );
            assert!(
                new_values.get("api_key").is_none() && audit["old_values"].get("api_key").is_none(),
                "{backend}: {audit:?}"
            );
        }
        let stored = serde_json::to_string(&every_row(&app, "audit_logs").await)
            .expect("audit rows as JSON");
        assert!(
            !stored.contains(new_key) && !stored.contains(rotated_key),
            "{backend}: a key reached the audit trail"
        );
        // The administrator reads those audit rows, without a key.
        let (_, body) = app
            .graphql(
                "{ auditLogs(filter: {tableName: {eq: \"ai_provider_credentials\"}}) { totalCount nodes { action oldValues newValues } } }",
                json!({}),
                Some(&ada),
            )
            .await;
        assert_eq!(
            body["data"]["auditLogs"]["totalCount"],
            json!(2),
            "{backend}: {body}"
        );
        assert!(!body.to_string().contains("sk-demo"), "{backend}: {body}");

        // Deleting is the administrator's too (users cannot even find the row).
        allowed(
            &app,
            &ADA_,
            Write::Delete("ai_provider_credentials", key(mistral)),
        )
        .await;
        let stored = serde_json::to_string(&every_row(&app, "audit_logs").await)
            .expect("audit rows as JSON");
        assert!(!stored.contains("sk-demo"), "{backend}: {stored}");
        app.stop().await;
    }
}

// ---------------------------------------------------------------------------------------
// Reads: every table × every principal, over the demo data.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn every_table_reads_exactly_what_each_principal_may() {
    for backend in backends("vibeup::every_table_reads_exactly_what_each_principal_may") {
        let app = spawn(backend).await;
        let everyone = [&ANON, &ADA_, &MAYA_, &NOAH_, &OMAR_, &PRIYA_, &SERVICE];
        let users = [ADA, MAYA, NOAH, OMAR, PRIYA];

        // Rule: community membership for vibes. A community's vibes, their reactions and
        // comments, and its member list are read by its members (and the administrator),
        // never by outsiders, even of a public community.
        let vibes_ = |ids: &[Uuid]| ids.to_vec();
        for (who, vibes, reactions, comments, members) in [
            (&ANON, vec![], vec![], vec![], vec![]),
            (&OMAR_, vec![], vec![], vec![], vec![]),
            (
                &NOAH_,
                vibes_(&[VIBE_NOAH_BREATHWORK, VIBE_MAYA_BREATHWORK]),
                vec![REACTION_MAYA],
                vec![COMMENT_MAYA],
                vec![MEMBER_NOAH_BREATHWORK, MEMBER_MAYA_BREATHWORK],
            ),
            (
                &PRIYA_,
                vibes_(&[VIBE_MAYA_MORNING, VIBE_PRIYA_MORNING]),
                vec![REACTION_PRIYA],
                vec![COMMENT_PRIYA],
                vec![MEMBER_MAYA_MORNING, MEMBER_PRIYA_MORNING],
            ),
            (
                &MAYA_,
                vibes_(&[
                    VIBE_MAYA_MORNING,
                    VIBE_PRIYA_MORNING,
                    VIBE_NOAH_BREATHWORK,
                    VIBE_MAYA_BREATHWORK,
                ]),
                vec![REACTION_PRIYA, REACTION_MAYA],
                vec![COMMENT_PRIYA, COMMENT_MAYA],
                vec![
                    MEMBER_MAYA_MORNING,
                    MEMBER_PRIYA_MORNING,
                    MEMBER_NOAH_BREATHWORK,
                    MEMBER_MAYA_BREATHWORK,
                ],
            ),
            (
                &ADA_,
                vibes_(&[
                    VIBE_MAYA_MORNING,
                    VIBE_PRIYA_MORNING,
                    VIBE_NOAH_BREATHWORK,
                    VIBE_MAYA_BREATHWORK,
                ]),
                vec![REACTION_PRIYA, REACTION_MAYA],
                vec![COMMENT_PRIYA, COMMENT_MAYA],
                vec![
                    MEMBER_MAYA_MORNING,
                    MEMBER_PRIYA_MORNING,
                    MEMBER_NOAH_BREATHWORK,
                    MEMBER_MAYA_BREATHWORK,
                ],
            ),
            (
                &SERVICE,
                vibes_(&[
                    VIBE_MAYA_MORNING,
                    VIBE_PRIYA_MORNING,
                    VIBE_NOAH_BREATHWORK,
                    VIBE_MAYA_BREATHWORK,
                ]),
                vec![REACTION_PRIYA, REACTION_MAYA],
                vec![COMMENT_PRIYA, COMMENT_MAYA],
                vec![
                    MEMBER_MAYA_MORNING,
                    MEMBER_PRIYA_MORNING,
                    MEMBER_NOAH_BREATHWORK,
                    MEMBER_MAYA_BREATHWORK,
                ],
            ),
        ] {
            reads(&app, who, "vibes", &vibes).await;
            reads(&app, who, "vibe_reactions", &reactions).await;
            reads(&app, who, "vibe_comments", &comments).await;
            reads(&app, who, "community_members", &members).await;
        }
        // A public community is listed to everyone (to join it), a private one to its
        // members only.
        for (who, communities) in [
            (&ANON, vec![BREATHWORK]),
            (&OMAR_, vec![BREATHWORK]),
            (&NOAH_, vec![BREATHWORK]),
            (&PRIYA_, vec![MORNING_LIGHT, BREATHWORK]),
            (&MAYA_, vec![MORNING_LIGHT, BREATHWORK]),
            (&ADA_, vec![MORNING_LIGHT, BREATHWORK]),
            (&SERVICE, vec![MORNING_LIGHT, BREATHWORK]),
        ] {
            reads(&app, who, "communities", &communities).await;
        }

        // Rule: connections both-accept, messages only between connected users. A
        // connection is read by its two sides only, messages by their sender and
        // recipient only — not by the administrator.
        for (who, connections, messages, notifications) in [
            (&ANON, vec![], vec![], vec![]),
            (&ADA_, vec![], vec![], vec![]),
            (&PRIYA_, vec![], vec![], vec![]),
            (&OMAR_, vec![CONNECTION_OMAR_MAYA], vec![], vec![]),
            (
                &NOAH_,
                vec![CONNECTION_MAYA_NOAH],
                vec![MESSAGE_MAYA_TO_NOAH, MESSAGE_NOAH_TO_MAYA],
                vec![NOTIFICATION_NOAH],
            ),
            (
                &MAYA_,
                vec![CONNECTION_MAYA_NOAH, CONNECTION_OMAR_MAYA],
                vec![MESSAGE_MAYA_TO_NOAH, MESSAGE_NOAH_TO_MAYA],
                vec![NOTIFICATION_MAYA],
            ),
            (
                &SERVICE,
                vec![CONNECTION_MAYA_NOAH, CONNECTION_OMAR_MAYA],
                vec![MESSAGE_MAYA_TO_NOAH, MESSAGE_NOAH_TO_MAYA],
                vec![NOTIFICATION_NOAH, NOTIFICATION_MAYA],
            ),
        ] {
            reads(&app, who, "connections", &connections).await;
            reads(&app, who, "messages", &messages).await;
            reads(&app, who, "notifications", &notifications).await;
        }

        // Rule: practice logs are their owner's only (not even the administrator's); a
        // practice and its streak are its owner's, or everyone's signed in when public.
        for (who, practices, logs, streaks) in [
            (&ANON, vec![], vec![], vec![]),
            (
                &ADA_,
                vec![PRACTICE_MAYA_PUBLIC],
                vec![],
                vec![STREAK_MAYA_PUBLIC],
            ),
            (
                &OMAR_,
                vec![PRACTICE_MAYA_PUBLIC],
                vec![],
                vec![STREAK_MAYA_PUBLIC],
            ),
            (
                &PRIYA_,
                vec![PRACTICE_MAYA_PUBLIC],
                vec![],
                vec![STREAK_MAYA_PUBLIC],
            ),
            (
                &NOAH_,
                vec![PRACTICE_MAYA_PUBLIC, PRACTICE_NOAH_PRIVATE],
                vec![LOG_NOAH],
                vec![STREAK_MAYA_PUBLIC, STREAK_NOAH],
            ),
            (
                &MAYA_,
                vec![PRACTICE_MAYA_PUBLIC, PRACTICE_MAYA_PRIVATE],
                vec![LOG_MAYA_1, LOG_MAYA_2],
                vec![STREAK_MAYA_PUBLIC],
            ),
            (
                &SERVICE,
                vec![
                    PRACTICE_MAYA_PUBLIC,
                    PRACTICE_MAYA_PRIVATE,
                    PRACTICE_NOAH_PRIVATE,
                ],
                vec![LOG_MAYA_1, LOG_MAYA_2, LOG_NOAH],
                vec![STREAK_MAYA_PUBLIC, STREAK_NOAH],
            ),
        ] {
            reads(&app, who, "practices", &practices).await;
            reads(&app, who, "practice_logs", &logs).await;
            reads(&app, who, "practice_streaks", &streaks).await;
        }

        // Profiles and flags: everyone signed in; the email is its owner's (and the
        // administrator's).
        for who in everyone {
            let signed_in = who.role != "anon";
            reads(
                &app,
                who,
                "profiles",
                if signed_in { &users[..] } else { &[] },
            )
            .await;
            reads(
                &app,
                who,
                "feature_flags",
                if signed_in {
                    &[FLAG_MIRA_CHAT, FLAG_VIBE_CIRCLES][..]
                } else {
                    &[]
                },
            )
            .await;
        }
        for (who, sees_every_email) in [(&MAYA_, false), (&OMAR_, false), (&ADA_, true)] {
            for user in users {
                let profile = read_row(&app, who, "profiles", user).await;
                let own = who.user == Some(user);
                assert_eq!(
                    profile["email"].is_string(),
                    own || sees_every_email,
                    "{backend}: {} reads {user}'s email: {profile:?}",
                    who.label
                );
            }
        }

        // Administrators and the AI router's tables.
        for (who, admins, configs, budgets) in [
            (&ANON, vec![], vec![], vec![]),
            (&MAYA_, vec![], vec![CONFIG_MIRA_CHAT], vec![]),
            (&NOAH_, vec![], vec![CONFIG_MIRA_CHAT], vec![]),
            (&OMAR_, vec![], vec![CONFIG_MIRA_CHAT], vec![]),
            (&PRIYA_, vec![], vec![CONFIG_MIRA_CHAT], vec![]),
            (
                &ADA_,
                vec![ADMIN_ADA],
                vec![CONFIG_MIRA_CHAT, CONFIG_MIRA_INSIGHTS],
                vec![BUDGET_MIRA_CHAT],
            ),
            (
                &SERVICE,
                vec![ADMIN_ADA],
                vec![CONFIG_MIRA_CHAT, CONFIG_MIRA_INSIGHTS],
                vec![BUDGET_MIRA_CHAT],
            ),
        ] {
            reads(&app, who, "admin_users", &admins).await;
            reads(&app, who, "ai_model_configs", &configs).await;
            reads(&app, who, "ai_daily_budgets", &budgets).await;
        }
        // A model's system prompt is the administrator's.
        let config = read_row(&app, &MAYA_, "ai_model_configs", CONFIG_MIRA_CHAT).await;
        assert_eq!(config["system_prompt"], Json::Null, "{backend}");
        assert_eq!(config["model"], json!("gpt-4o-mini"), "{backend}");
        let config = read_row(&app, &ADA_, "ai_model_configs", CONFIG_MIRA_CHAT).await;
        assert!(config["system_prompt"].is_string(), "{backend}");

        // The demo data was loaded directly: the audit trail is empty for everyone.
        for who in everyone {
            reads(&app, who, "audit_logs", &[]).await;
        }
        app.stop().await;
    }
}

// ---------------------------------------------------------------------------------------
// Writes. Each test runs over fresh demo data; refusals first.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn connections_need_both_sides_and_messages_a_connection() {
    for backend in backends("vibeup::connections_need_both_sides_and_messages_a_connection") {
        let app = spawn(backend).await;
        let message_to = |recipient: Uuid, body: &str| {
            row([("recipient_id", json!(recipient)), ("body", json!(body))])
        };
        let accept = |column: &str, value: bool| row([(column, json!(value))]);

        // Rule: connections both-accept. Each side gives only its own acceptance; a
        // request cannot be pre-accepted for the other side, nor sent to oneself, nor
        // seen or changed by anyone else (the administrator included).
        refused(
            &app,
            vec![
                (
                    &ANON,
                    Write::Insert("connections", row([("addressee_id", json!(MAYA))])),
                    "FORBIDDEN",
                ),
                (
                    &OMAR_,
                    Write::Update(
                        "connections",
                        key(CONNECTION_OMAR_MAYA),
                        accept("addressee_accepted", true),
                    ),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Update(
                        "connections",
                        key(CONNECTION_OMAR_MAYA),
                        accept("requester_accepted", false),
                    ),
                    "FORBIDDEN",
                ),
                (
                    &PRIYA_,
                    Write::Update(
                        "connections",
                        key(CONNECTION_OMAR_MAYA),
                        accept("addressee_accepted", true),
                    ),
                    "NOT_FOUND",
                ),
                (
                    &ADA_,
                    Write::Update(
                        "connections",
                        key(CONNECTION_OMAR_MAYA),
                        accept("addressee_accepted", true),
                    ),
                    "NOT_FOUND",
                ),
                (
                    &PRIYA_,
                    Write::Delete("connections", key(CONNECTION_MAYA_NOAH)),
                    "NOT_FOUND",
                ),
                (
                    &PRIYA_,
                    Write::Insert(
                        "connections",
                        row([
                            ("addressee_id", json!(OMAR)),
                            ("addressee_accepted", json!(true)),
                        ]),
                    ),
                    "BAD_USER_INPUT",
                ),
                (
                    &PRIYA_,
                    Write::Insert(
                        "connections",
                        row([("addressee_id", json!(OMAR)), ("requester_id", json!(NOAH))]),
                    ),
                    "BAD_USER_INPUT",
                ),
                (
                    &PRIYA_,
                    Write::Insert("connections", row([("addressee_id", json!(PRIYA))])),
                    "FORBIDDEN",
                ),
            ],
        )
        .await;

        // Rule: messages only between connected users. Omar's request is accepted on his
        // side only: neither may message the other; priya is connected with no one; no
        // one writes as someone else.
        refused(
            &app,
            vec![
                (
                    &ANON,
                    Write::Insert("messages", message_to(MAYA, "hi")),
                    "FORBIDDEN",
                ),
                (
                    &OMAR_,
                    Write::Insert("messages", message_to(MAYA, "hi")),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Insert("messages", message_to(OMAR, "hi")),
                    "FORBIDDEN",
                ),
                (
                    &PRIYA_,
                    Write::Insert("messages", message_to(MAYA, "hi")),
                    "FORBIDDEN",
                ),
                (
                    &ADA_,
                    Write::Insert("messages", message_to(MAYA, "hi")),
                    "FORBIDDEN",
                ),
                (
                    &PRIYA_,
                    Write::Insert(
                        "messages",
                        row([
                            ("recipient_id", json!(NOAH)),
                            ("sender_id", json!(MAYA)),
                            ("body", json!("forged")),
                        ]),
                    ),
                    "BAD_USER_INPUT",
                ),
                // The sender edits the text, the recipient marks it read; neither the
                // other's part, and no one else anything.
                (
                    &NOAH_,
                    Write::Update(
                        "messages",
                        key(MESSAGE_MAYA_TO_NOAH),
                        row([("body", json!("edited"))]),
                    ),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Update(
                        "messages",
                        key(MESSAGE_MAYA_TO_NOAH),
                        row([("read_at", json!("2026-12-04T10:00:00Z"))]),
                    ),
                    "FORBIDDEN",
                ),
                (
                    &NOAH_,
                    Write::Delete("messages", key(MESSAGE_MAYA_TO_NOAH)),
                    "FORBIDDEN",
                ),
                (
                    &PRIYA_,
                    Write::Update(
                        "messages",
                        key(MESSAGE_MAYA_TO_NOAH),
                        row([("body", json!("edited"))]),
                    ),
                    "NOT_FOUND",
                ),
                (
                    &ADA_,
                    Write::Delete("messages", key(MESSAGE_MAYA_TO_NOAH)),
                    "NOT_FOUND",
                ),
            ],
        )
        .await;
        // Nothing refused was written.
        assert_eq!(every_row(&app, "messages").await.len(), 2, "{backend}");
        assert_eq!(every_row(&app, "connections").await.len(), 2, "{backend}");

        // Allowed: connected users message each other; the recipient is notified.
        let sent = allowed(
            &app,
            &MAYA_,
            Write::Insert("messages", message_to(NOAH, "See you at six")),
        )
        .await;
        assert_eq!(sent["sender_id"], json!(MAYA.to_string()), "{backend}");
        let notified = every_row(&app, "notifications").await.into_iter().any(|n| {
            n["user_id"] == json!(NOAH.to_string())
                && n["data"]["messageId"] == json!(id_of(&sent).to_string())
        });
        assert!(notified, "{backend}: noah is notified of maya's message");
        allowed(
            &app,
            &MAYA_,
            Write::Update(
                "messages",
                key(id_of(&sent)),
                row([("body", json!("See you at seven"))]),
            ),
        )
        .await;
        allowed(
            &app,
            &NOAH_,
            Write::Update(
                "messages",
                key(id_of(&sent)),
                row([("read_at", json!("2026-12-04T10:00:00Z"))]),
            ),
        )
        .await;
        allowed(&app, &MAYA_, Write::Delete("messages", key(id_of(&sent)))).await;

        // Maya accepts omar's request: now both may message; omar hears of it.
        allowed(
            &app,
            &MAYA_,
            Write::Update(
                "connections",
                key(CONNECTION_OMAR_MAYA),
                accept("addressee_accepted", true),
            ),
        )
        .await;
        let accepted = every_row(&app, "notifications").await.into_iter().any(|n| {
            n["user_id"] == json!(OMAR.to_string()) && n["kind"] == json!("connection_accepted")
        });
        assert!(accepted, "{backend}: omar hears maya accepted");
        allowed(
            &app,
            &OMAR_,
            Write::Insert("messages", message_to(MAYA, "Thanks for connecting")),
        )
        .await;
        allowed(
            &app,
            &MAYA_,
            Write::Insert("messages", message_to(OMAR, "Welcome!")),
        )
        .await;
        // Omar withdraws his own acceptance: the connection is no longer mutual, and no
        // message passes either way.
        allowed(
            &app,
            &OMAR_,
            Write::Update(
                "connections",
                key(CONNECTION_OMAR_MAYA),
                accept("requester_accepted", false),
            ),
        )
        .await;
        refused(
            &app,
            vec![
                (
                    &OMAR_,
                    Write::Insert("messages", message_to(MAYA, "hello?")),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Insert("messages", message_to(OMAR, "hello?")),
                    "FORBIDDEN",
                ),
            ],
        )
        .await;

        // A new request notifies its addressee; the pair is one connection whichever side
        // asks.
        let request = allowed(
            &app,
            &PRIYA_,
            Write::Insert("connections", row([("addressee_id", json!(OMAR))])),
        )
        .await;
        assert_eq!(
            request["requester_id"],
            json!(PRIYA.to_string()),
            "{backend}"
        );
        assert_eq!(request["addressee_accepted"], json!(false), "{backend}");
        let requested = every_row(&app, "notifications").await.into_iter().any(|n| {
            n["user_id"] == json!(OMAR.to_string()) && n["kind"] == json!("connection_request")
        });
        assert!(requested, "{backend}: omar hears of priya's request");
        app.assert_write(
            &OMAR_,
            Write::Insert("connections", row([("addressee_id", json!(PRIYA))])),
            Expect::Refused("CONFLICT"),
        )
        .await;
        // Either side ends a connection.
        allowed(
            &app,
            &NOAH_,
            Write::Delete("connections", key(CONNECTION_MAYA_NOAH)),
        )
        .await;
        app.assert_write(
            &MAYA_,
            Write::Insert("messages", message_to(NOAH, "still there?")),
            Expect::Refused("FORBIDDEN"),
        )
        .await;
        app.stop().await;
    }
}

#[tokio::test]
async fn notifications_are_their_users_and_written_by_the_gateway() {
    for backend in backends("vibeup::notifications_are_their_users_and_written_by_the_gateway") {
        let app = spawn(backend).await;
        let notification = |user: Uuid| {
            row([
                ("user_id", json!(user)),
                ("kind", json!("message")),
                ("title", json!("spoofed")),
            ])
        };
        let read_now = || row([("read_at", json!("2026-12-04T10:00:00Z"))]);
        refused(
            &app,
            vec![
                (
                    &ANON,
                    Write::Insert("notifications", notification(MAYA)),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Insert("notifications", notification(MAYA)),
                    "FORBIDDEN",
                ),
                (
                    &ADA_,
                    Write::Insert("notifications", notification(NOAH)),
                    "FORBIDDEN",
                ),
                (
                    &NOAH_,
                    Write::Update("notifications", key(NOTIFICATION_MAYA), read_now()),
                    "NOT_FOUND",
                ),
                (
                    &ADA_,
                    Write::Delete("notifications", key(NOTIFICATION_MAYA)),
                    "NOT_FOUND",
                ),
                (
                    &MAYA_,
                    Write::Update(
                        "notifications",
                        key(NOTIFICATION_MAYA),
                        row([("title", json!("changed"))]),
                    ),
                    "BAD_USER_INPUT",
                ),
            ],
        )
        .await;
        allowed(
            &app,
            &MAYA_,
            Write::Update("notifications", key(NOTIFICATION_MAYA), read_now()),
        )
        .await;
        allowed(
            &app,
            &MAYA_,
            Write::Delete("notifications", key(NOTIFICATION_MAYA)),
        )
        .await;
        let written = allowed(
            &app,
            &SERVICE,
            Write::Insert("notifications", notification(PRIYA)),
        )
        .await;
        reads(&app, &PRIYA_, "notifications", &[id_of(&written)]).await;
        reads(&app, &MAYA_, "notifications", &[]).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn vibes_and_membership_are_the_communitys() {
    for backend in backends("vibeup::vibes_and_membership_are_the_communitys") {
        let app = spawn(backend).await;
        let vibe_in = |community: Uuid| {
            row([
                ("community_id", json!(community)),
                ("body", json!("A slow breath")),
                ("mood", json!("calm")),
            ])
        };
        let on_vibe = |vibe: Uuid, field: &str, value: &str| {
            row([("vibe_id", json!(vibe)), (field, json!(value))])
        };
        let member = |community: Uuid, user: Uuid, role: &str| {
            row([
                ("community_id", json!(community)),
                ("user_id", json!(user)),
                ("role", json!(role)),
            ])
        };
        let body = || row([("body", json!("edited"))]);

        // Rule: community membership for vibes. Only members post, react and comment;
        // outsiders cannot even find a vibe to change; a member changes only their own.
        refused(
            &app,
            vec![
                (
                    &ANON,
                    Write::Insert("vibes", vibe_in(BREATHWORK)),
                    "FORBIDDEN",
                ),
                (
                    &OMAR_,
                    Write::Insert("vibes", vibe_in(BREATHWORK)),
                    "FORBIDDEN",
                ),
                (
                    &NOAH_,
                    Write::Insert("vibes", vibe_in(MORNING_LIGHT)),
                    "FORBIDDEN",
                ),
                (
                    &ADA_,
                    Write::Insert("vibes", vibe_in(MORNING_LIGHT)),
                    "FORBIDDEN",
                ),
                (
                    &PRIYA_,
                    Write::Insert(
                        "vibes",
                        row([
                            ("community_id", json!(MORNING_LIGHT)),
                            ("body", json!("as maya")),
                            ("author_id", json!(MAYA)),
                        ]),
                    ),
                    "BAD_USER_INPUT",
                ),
                (
                    &NOAH_,
                    Write::Update("vibes", key(VIBE_MAYA_MORNING), body()),
                    "NOT_FOUND",
                ),
                (
                    &OMAR_,
                    Write::Delete("vibes", key(VIBE_NOAH_BREATHWORK)),
                    "NOT_FOUND",
                ),
                (
                    &PRIYA_,
                    Write::Update("vibes", key(VIBE_MAYA_MORNING), body()),
                    "FORBIDDEN",
                ),
                (
                    &PRIYA_,
                    Write::Delete("vibes", key(VIBE_MAYA_MORNING)),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Delete("vibes", key(VIBE_NOAH_BREATHWORK)),
                    "FORBIDDEN",
                ),
                (
                    &ADA_,
                    Write::Update("vibes", key(VIBE_NOAH_BREATHWORK), body()),
                    "FORBIDDEN",
                ),
                (
                    &OMAR_,
                    Write::Insert(
                        "vibe_reactions",
                        on_vibe(VIBE_NOAH_BREATHWORK, "kind", "heart"),
                    ),
                    "FORBIDDEN",
                ),
                (
                    &NOAH_,
                    Write::Insert(
                        "vibe_reactions",
                        on_vibe(VIBE_MAYA_MORNING, "kind", "heart"),
                    ),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Update(
                        "vibe_reactions",
                        key(REACTION_MAYA),
                        row([("kind", json!("hug"))]),
                    ),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Delete("vibe_reactions", key(REACTION_PRIYA)),
                    "FORBIDDEN",
                ),
                (
                    &NOAH_,
                    Write::Delete("vibe_reactions", key(REACTION_PRIYA)),
                    "NOT_FOUND",
                ),
                (
                    &OMAR_,
                    Write::Insert(
                        "vibe_comments",
                        on_vibe(VIBE_NOAH_BREATHWORK, "body", "hello"),
                    ),
                    "FORBIDDEN",
                ),
                (
                    &NOAH_,
                    Write::Update("vibe_comments", key(COMMENT_MAYA), body()),
                    "FORBIDDEN",
                ),
                (
                    &PRIYA_,
                    Write::Update("vibe_comments", key(COMMENT_MAYA), body()),
                    "NOT_FOUND",
                ),
                (
                    &NOAH_,
                    Write::Delete("vibe_comments", key(COMMENT_PRIYA)),
                    "NOT_FOUND",
                ),
            ],
        )
        .await;

        // Membership: one joins a public community as a member only; a private one only
        // by its owner's or a moderator's hand; roles move by the owner's; the owner stays.
        refused(
            &app,
            vec![
                (
                    &ANON,
                    Write::Insert("community_members", member(BREATHWORK, OMAR, "member")),
                    "FORBIDDEN",
                ),
                (
                    &OMAR_,
                    Write::Insert("community_members", member(MORNING_LIGHT, OMAR, "member")),
                    "FORBIDDEN",
                ),
                (
                    &OMAR_,
                    Write::Insert("community_members", member(BREATHWORK, OMAR, "moderator")),
                    "FORBIDDEN",
                ),
                (
                    &OMAR_,
                    Write::Insert("community_members", member(BREATHWORK, PRIYA, "member")),
                    "FORBIDDEN",
                ),
                (
                    &PRIYA_,
                    Write::Insert("community_members", member(MORNING_LIGHT, OMAR, "member")),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Insert("community_members", member(MORNING_LIGHT, NOAH, "owner")),
                    "FORBIDDEN",
                ),
                (
                    &ADA_,
                    Write::Insert("community_members", member(MORNING_LIGHT, ADA, "member")),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Update(
                        "community_members",
                        key(MEMBER_MAYA_BREATHWORK),
                        row([("role", json!("moderator"))]),
                    ),
                    "FORBIDDEN",
                ),
                (
                    &NOAH_,
                    Write::Update(
                        "community_members",
                        key(MEMBER_MAYA_BREATHWORK),
                        row([("role", json!("owner"))]),
                    ),
                    "FORBIDDEN",
                ),
                (
                    &NOAH_,
                    Write::Update(
                        "community_members",
                        key(MEMBER_PRIYA_MORNING),
                        row([("role", json!("moderator"))]),
                    ),
                    "NOT_FOUND",
                ),
                (
                    &MAYA_,
                    Write::Delete("community_members", key(MEMBER_MAYA_MORNING)),
                    "FORBIDDEN",
                ),
                (
                    &PRIYA_,
                    Write::Delete("community_members", key(MEMBER_MAYA_MORNING)),
                    "FORBIDDEN",
                ),
                (
                    &ADA_,
                    Write::Delete("community_members", key(MEMBER_NOAH_BREATHWORK)),
                    "FORBIDDEN",
                ),
            ],
        )
        .await;

        // Communities: anyone signed in creates one; its owner (or the administrator)
        // changes or removes it; members cannot.
        let community = |slug: &str| row([("name", json!("Sleep")), ("slug", json!(slug))]);
        refused(
            &app,
            vec![
                (
                    &ANON,
                    Write::Insert("communities", community("sleep")),
                    "FORBIDDEN",
                ),
                (
                    &OMAR_,
                    Write::Insert(
                        "communities",
                        row([
                            ("name", json!("Sleep")),
                            ("slug", json!("sleep")),
                            ("created_by", json!(MAYA)),
                        ]),
                    ),
                    "BAD_USER_INPUT",
                ),
                (
                    &NOAH_,
                    Write::Update(
                        "communities",
                        key(MORNING_LIGHT),
                        row([("name", json!("Mine"))]),
                    ),
                    "NOT_FOUND",
                ),
                (
                    &MAYA_,
                    Write::Update(
                        "communities",
                        key(BREATHWORK),
                        row([("name", json!("Mine"))]),
                    ),
                    "FORBIDDEN",
                ),
                (
                    &PRIYA_,
                    Write::Delete("communities", key(MORNING_LIGHT)),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Update(
                        "communities",
                        key(MORNING_LIGHT),
                        row([("created_by", json!(PRIYA))]),
                    ),
                    "BAD_USER_INPUT",
                ),
            ],
        )
        .await;
        assert_eq!(every_row(&app, "vibes").await.len(), 4, "{backend}");
        assert_eq!(
            every_row(&app, "community_members").await.len(),
            4,
            "{backend}"
        );

        // Allowed: members post, react and comment; authors edit; moderators remove.
        let vibe = allowed(
            &app,
            &PRIYA_,
            Write::Insert("vibes", vibe_in(MORNING_LIGHT)),
        )
        .await;
        assert_eq!(vibe["author_id"], json!(PRIYA.to_string()), "{backend}");
        allowed(
            &app,
            &PRIYA_,
            Write::Update("vibes", key(id_of(&vibe)), body()),
        )
        .await;
        allowed(
            &app,
            &MAYA_,
            Write::Insert("vibe_reactions", on_vibe(id_of(&vibe), "kind", "sparkle")),
        )
        .await;
        let comment = allowed(
            &app,
            &MAYA_,
            Write::Insert("vibe_comments", on_vibe(id_of(&vibe), "body", "Lovely")),
        )
        .await;
        allowed(
            &app,
            &MAYA_,
            Write::Update("vibe_comments", key(id_of(&comment)), body()),
        )
        .await;
        // The vibe's author removes a comment on it; its moderator (maya owns Morning
        // Light) removes the vibe itself.
        allowed(
            &app,
            &PRIYA_,
            Write::Delete("vibe_comments", key(id_of(&comment))),
        )
        .await;
        allowed(&app, &MAYA_, Write::Delete("vibes", key(id_of(&vibe)))).await;
        allowed(
            &app,
            &PRIYA_,
            Write::Delete("vibe_reactions", key(REACTION_PRIYA)),
        )
        .await;
        allowed(
            &app,
            &ADA_,
            Write::Delete("vibes", key(VIBE_MAYA_BREATHWORK)),
        )
        .await;

        // Omar joins Breathwork: now he reads its vibes and posts there, and may remove
        // only what is his.
        let joined = allowed(
            &app,
            &OMAR_,
            Write::Insert("community_members", member(BREATHWORK, OMAR, "member")),
        )
        .await;
        reads(&app, &OMAR_, "vibes", &[VIBE_NOAH_BREATHWORK]).await;
        refused(
            &app,
            vec![
                (
                    &OMAR_,
                    Write::Delete("vibe_comments", key(COMMENT_MAYA)),
                    "FORBIDDEN",
                ),
                (
                    &OMAR_,
                    Write::Delete("vibes", key(VIBE_NOAH_BREATHWORK)),
                    "FORBIDDEN",
                ),
            ],
        )
        .await;
        let omars = allowed(&app, &OMAR_, Write::Insert("vibes", vibe_in(BREATHWORK))).await;
        allowed(
            &app,
            &OMAR_,
            Write::Insert(
                "vibe_reactions",
                on_vibe(VIBE_NOAH_BREATHWORK, "kind", "namaste"),
            ),
        )
        .await;
        // The owner promotes a member; a moderator adds and removes members of a private
        // community.
        allowed(
            &app,
            &MAYA_,
            Write::Update(
                "community_members",
                key(MEMBER_PRIYA_MORNING),
                row([("role", json!("moderator"))]),
            ),
        )
        .await;
        let added = allowed(
            &app,
            &PRIYA_,
            Write::Insert("community_members", member(MORNING_LIGHT, NOAH, "member")),
        )
        .await;
        reads(
            &app,
            &NOAH_,
            "vibes",
            &[
                VIBE_MAYA_MORNING,
                VIBE_PRIYA_MORNING,
                VIBE_NOAH_BREATHWORK,
                id_of(&omars),
            ],
        )
        .await;
        allowed(
            &app,
            &PRIYA_,
            Write::Delete("community_members", key(id_of(&added))),
        )
        .await;
        allowed(
            &app,
            &OMAR_,
            Write::Delete("community_members", key(id_of(&joined))),
        )
        .await;
        // Having left, he reads only what he wrote there.
        reads(&app, &OMAR_, "vibes", &[id_of(&omars)]).await;

        // A new community's creator is its owner; they change and remove it.
        let sleep = allowed(
            &app,
            &OMAR_,
            Write::Insert("communities", community("sleep")),
        )
        .await;
        assert_eq!(sleep["created_by"], json!(OMAR.to_string()), "{backend}");
        let owner = every_row(&app, "community_members")
            .await
            .into_iter()
            .any(|m| {
                m["community_id"] == json!(id_of(&sleep).to_string())
                    && m["user_id"] == json!(OMAR.to_string())
                    && m["role"] == json!("owner")
            });
        assert!(owner, "{backend}: omar owns the community he created");
        allowed(
            &app,
            &OMAR_,
            Write::Update(
                "communities",
                key(id_of(&sleep)),
                row([("visibility", json!("private"))]),
            ),
        )
        .await;
        allowed(
            &app,
            &ADA_,
            Write::Update(
                "communities",
                key(MORNING_LIGHT),
                row([("description", json!("Moderated by the team"))]),
            ),
        )
        .await;
        allowed(
            &app,
            &OMAR_,
            Write::Delete("communities", key(id_of(&sleep))),
        )
        .await;
        app.stop().await;
    }
}

#[tokio::test]
async fn practice_logs_are_their_owners_alone() {
    for backend in backends("vibeup::practice_logs_are_their_owners_alone") {
        let app = spawn(backend).await;
        let log = |practice: Uuid, on: &str| {
            row([
                ("practice_id", json!(practice)),
                ("logged_on", json!(on)),
                ("duration_minutes", json!(10)),
            ])
        };
        let minutes = || row([("duration_minutes", json!(99))]);

        // Rule: practice_logs owner only. No one logs on another's practice (a public one
        // included), nor reads, changes or removes another's log — the administrator
        // included.
        refused(
            &app,
            vec![
                (
                    &ANON,
                    Write::Insert("practice_logs", log(PRACTICE_MAYA_PUBLIC, "2026-12-03")),
                    "FORBIDDEN",
                ),
                (
                    &NOAH_,
                    Write::Insert("practice_logs", log(PRACTICE_MAYA_PUBLIC, "2026-12-03")),
                    "FORBIDDEN",
                ),
                (
                    &ADA_,
                    Write::Insert("practice_logs", log(PRACTICE_MAYA_PUBLIC, "2026-12-03")),
                    "FORBIDDEN",
                ),
                (
                    &NOAH_,
                    Write::Insert(
                        "practice_logs",
                        row([
                            ("practice_id", json!(PRACTICE_MAYA_PUBLIC)),
                            ("logged_on", json!("2026-12-03")),
                            ("user_id", json!(MAYA)),
                        ]),
                    ),
                    "BAD_USER_INPUT",
                ),
                (
                    &NOAH_,
                    Write::Update("practice_logs", key(LOG_MAYA_1), minutes()),
                    "NOT_FOUND",
                ),
                (
                    &ADA_,
                    Write::Update("practice_logs", key(LOG_MAYA_1), minutes()),
                    "NOT_FOUND",
                ),
                (
                    &ADA_,
                    Write::Delete("practice_logs", key(LOG_NOAH)),
                    "NOT_FOUND",
                ),
                (
                    &MAYA_,
                    Write::Delete("practice_logs", key(LOG_NOAH)),
                    "NOT_FOUND",
                ),
                (
                    &MAYA_,
                    Write::Update(
                        "practice_logs",
                        key(LOG_MAYA_1),
                        row([("practice_id", json!(PRACTICE_MAYA_PRIVATE))]),
                    ),
                    "BAD_USER_INPUT",
                ),
            ],
        )
        .await;

        // Practices: the owner's to write; a public one is read by all signed in, changed
        // by none of them.
        let practice = || {
            row([
                ("name", json!("Box breathing")),
                ("category", json!("breathwork")),
            ])
        };
        refused(
            &app,
            vec![
                (&ANON, Write::Insert("practices", practice()), "FORBIDDEN"),
                (
                    &NOAH_,
                    Write::Update(
                        "practices",
                        key(PRACTICE_MAYA_PUBLIC),
                        row([("name", json!("mine"))]),
                    ),
                    "FORBIDDEN",
                ),
                (
                    &NOAH_,
                    Write::Delete("practices", key(PRACTICE_MAYA_PUBLIC)),
                    "FORBIDDEN",
                ),
                (
                    &NOAH_,
                    Write::Update(
                        "practices",
                        key(PRACTICE_MAYA_PRIVATE),
                        row([("name", json!("mine"))]),
                    ),
                    "NOT_FOUND",
                ),
                (
                    &ADA_,
                    Write::Delete("practices", key(PRACTICE_MAYA_PUBLIC)),
                    "FORBIDDEN",
                ),
                (
                    &PRIYA_,
                    Write::Insert(
                        "practices",
                        row([("name", json!("x")), ("user_id", json!(MAYA))]),
                    ),
                    "BAD_USER_INPUT",
                ),
            ],
        )
        .await;

        // Streaks are kept by the gateway alone.
        let streak = || row([("current_streak", json!(100))]);
        refused(
            &app,
            vec![
                (
                    &MAYA_,
                    Write::Insert(
                        "practice_streaks",
                        row([
                            ("practice_id", json!(PRACTICE_MAYA_PRIVATE)),
                            ("user_id", json!(MAYA)),
                        ]),
                    ),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Update("practice_streaks", key(STREAK_MAYA_PUBLIC), streak()),
                    "FORBIDDEN",
                ),
                (
                    &NOAH_,
                    Write::Update("practice_streaks", key(STREAK_MAYA_PUBLIC), streak()),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Update("practice_streaks", key(STREAK_NOAH), streak()),
                    "NOT_FOUND",
                ),
                (
                    &MAYA_,
                    Write::Delete("practice_streaks", key(STREAK_MAYA_PUBLIC)),
                    "FORBIDDEN",
                ),
            ],
        )
        .await;
        assert_eq!(every_row(&app, "practice_logs").await.len(), 3, "{backend}");

        // Allowed: the owner logs, and the streak follows the logs.
        let third = allowed(
            &app,
            &MAYA_,
            Write::Insert("practice_logs", log(PRACTICE_MAYA_PUBLIC, "2026-12-03")),
        )
        .await;
        assert_eq!(third["user_id"], json!(MAYA.to_string()), "{backend}");
        assert_eq!(
            streak_of(&app, STREAK_MAYA_PUBLIC).await,
            (json!(3), json!(3)),
            "{backend}"
        );
        reads(
            &app,
            &MAYA_,
            "practice_logs",
            &[LOG_MAYA_1, LOG_MAYA_2, id_of(&third)],
        )
        .await;
        reads(&app, &ADA_, "practice_logs", &[]).await;
        allowed(
            &app,
            &MAYA_,
            Write::Update("practice_logs", key(id_of(&third)), minutes()),
        )
        .await;
        allowed(
            &app,
            &MAYA_,
            Write::Delete("practice_logs", key(LOG_MAYA_2)),
        )
        .await;
        assert_eq!(
            streak_of(&app, STREAK_MAYA_PUBLIC).await,
            (json!(1), json!(1)),
            "{backend}"
        );
        // A first log of a practice starts its streak.
        let mine = allowed(&app, &PRIYA_, Write::Insert("practices", practice())).await;
        allowed(
            &app,
            &PRIYA_,
            Write::Insert("practice_logs", log(id_of(&mine), "2026-12-04")),
        )
        .await;
        let streaks: Vec<Row> = every_row(&app, "practice_streaks")
            .await
            .into_iter()
            .filter(|s| s["practice_id"] == json!(id_of(&mine).to_string()))
            .collect();
        assert_eq!(streaks.len(), 1, "{backend}");
        assert_eq!(streaks[0]["current_streak"], json!(1), "{backend}");
        reads(&app, &MAYA_, "practice_streaks", &[STREAK_MAYA_PUBLIC]).await;
        allowed(
            &app,
            &PRIYA_,
            Write::Update(
                "practices",
                key(id_of(&mine)),
                row([("is_public", json!(true))]),
            ),
        )
        .await;
        reads(
            &app,
            &MAYA_,
            "practice_streaks",
            &[STREAK_MAYA_PUBLIC, id_of(&streaks[0])],
        )
        .await;
        allowed(&app, &PRIYA_, Write::Delete("practices", key(id_of(&mine)))).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn platform_tables_are_the_administrators() {
    for backend in backends("vibeup::platform_tables_are_the_administrators") {
        let app = spawn(backend).await;
        let flag = || row([("key", json!("new_flag")), ("enabled", json!(true))]);
        let config = || {
            row([
                ("key", json!("mira.journal")),
                ("provider", json!("openai")),
                ("model", json!("gpt-4o")),
            ])
        };
        let budget = || {
            row([
                ("model_config_id", json!(CONFIG_MIRA_INSIGHTS)),
                ("budget_date", json!("2027-01-01")),
                ("token_limit", json!(1000)),
            ])
        };
        refused(
            &app,
            vec![
                // Administrators are appointed by the service role alone.
                (
                    &MAYA_,
                    Write::Insert("admin_users", row([("user_id", json!(MAYA))])),
                    "FORBIDDEN",
                ),
                (
                    &ADA_,
                    Write::Insert("admin_users", row([("user_id", json!(NOAH))])),
                    "FORBIDDEN",
                ),
                (
                    &ADA_,
                    Write::Update(
                        "admin_users",
                        key(ADMIN_ADA),
                        row([("granted_by", json!(ADA))]),
                    ),
                    "FORBIDDEN",
                ),
                (
                    &ADA_,
                    Write::Delete("admin_users", key(ADMIN_ADA)),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Delete("admin_users", key(ADMIN_ADA)),
                    "NOT_FOUND",
                ),
                // Feature flags, model configurations, budgets: the administrator's.
                (&ANON, Write::Insert("feature_flags", flag()), "FORBIDDEN"),
                (&MAYA_, Write::Insert("feature_flags", flag()), "FORBIDDEN"),
                (
                    &MAYA_,
                    Write::Update(
                        "feature_flags",
                        key(FLAG_VIBE_CIRCLES),
                        row([("enabled", json!(true))]),
                    ),
                    "FORBIDDEN",
                ),
                (
                    &ANON,
                    Write::Update(
                        "feature_flags",
                        key(FLAG_VIBE_CIRCLES),
                        row([("enabled", json!(true))]),
                    ),
                    "NOT_FOUND",
                ),
                (
                    &MAYA_,
                    Write::Delete("feature_flags", key(FLAG_MIRA_CHAT)),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Insert("ai_model_configs", config()),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Update(
                        "ai_model_configs",
                        key(CONFIG_MIRA_CHAT),
                        row([("model", json!("gpt-5"))]),
                    ),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Update(
                        "ai_model_configs",
                        key(CONFIG_MIRA_INSIGHTS),
                        row([("enabled", json!(true))]),
                    ),
                    "NOT_FOUND",
                ),
                (
                    &MAYA_,
                    Write::Delete("ai_model_configs", key(CONFIG_MIRA_CHAT)),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Insert("ai_daily_budgets", budget()),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Update(
                        "ai_daily_budgets",
                        key(BUDGET_MIRA_CHAT),
                        row([("token_limit", json!(1))]),
                    ),
                    "NOT_FOUND",
                ),
                // Usage is metered by the AI router (the service role), not set by hand.
                (
                    &ADA_,
                    Write::Update(
                        "ai_daily_budgets",
                        key(BUDGET_MIRA_CHAT),
                        row([("tokens_used", json!(0))]),
                    ),
                    "BAD_USER_INPUT",
                ),
                // The audit trail is written by the gateway only: never by anyone, not
                // even the service role.
                (
                    &ADA_,
                    Write::Insert(
                        "audit_logs",
                        row([("action", json!("insert")), ("table_name", json!("x"))]),
                    ),
                    "FORBIDDEN",
                ),
                (
                    &SERVICE,
                    Write::Insert(
                        "audit_logs",
                        row([("action", json!("insert")), ("table_name", json!("x"))]),
                    ),
                    "FORBIDDEN",
                ),
            ],
        )
        .await;
        // Anonymous requests remove nothing: every demo row but the public community is
        // not even found, and that one is refused.
        for (table, id) in [
            ("profiles", MAYA),
            ("admin_users", ADMIN_ADA),
            ("feature_flags", FLAG_MIRA_CHAT),
            ("community_members", MEMBER_NOAH_BREATHWORK),
            ("vibes", VIBE_NOAH_BREATHWORK),
            ("vibe_reactions", REACTION_MAYA),
            ("vibe_comments", COMMENT_MAYA),
            ("connections", CONNECTION_MAYA_NOAH),
            ("messages", MESSAGE_MAYA_TO_NOAH),
            ("notifications", NOTIFICATION_NOAH),
            ("practices", PRACTICE_MAYA_PUBLIC),
            ("practice_logs", LOG_MAYA_1),
            ("practice_streaks", STREAK_MAYA_PUBLIC),
            ("ai_model_configs", CONFIG_MIRA_CHAT),
            ("ai_provider_credentials", CREDENTIAL_OPENAI),
            ("ai_daily_budgets", BUDGET_MIRA_CHAT),
        ] {
            app.assert_write(
                &ANON,
                Write::Delete(table, key(id)),
                Expect::Refused("NOT_FOUND"),
            )
            .await;
        }
        app.assert_write(
            &ANON,
            Write::Delete("communities", key(BREATHWORK)),
            Expect::Refused("FORBIDDEN"),
        )
        .await;

        // Profiles: one's own; closing an account is the service role's.
        refused(
            &app,
            vec![
                (
                    &ANON,
                    Write::Insert("profiles", row([("display_name", json!("x"))])),
                    "FORBIDDEN",
                ),
                (
                    &MAYA_,
                    Write::Update("profiles", key(NOAH), row([("bio", json!("hacked"))])),
                    "FORBIDDEN",
                ),
                (
                    &ADA_,
                    Write::Update("profiles", key(NOAH), row([("bio", json!("hacked"))])),
                    "FORBIDDEN",
                ),
                (
                    &ANON,
                    Write::Update("profiles", key(NOAH), row([("bio", json!("x"))])),
                    "NOT_FOUND",
                ),
                (&MAYA_, Write::Delete("profiles", key(MAYA)), "FORBIDDEN"),
                (&ADA_, Write::Delete("profiles", key(OMAR)), "FORBIDDEN"),
                (
                    &MAYA_,
                    Write::Insert(
                        "profiles",
                        row([("id", json!(Uuid::new_v4())), ("display_name", json!("x"))]),
                    ),
                    "BAD_USER_INPUT",
                ),
            ],
        )
        .await;

        // Allowed.
        let newcomer = Uuid::new_v4();
        let newcomer_ = Who::user("newcomer", newcomer, None);
        let profile = allowed(
            &app,
            &newcomer_,
            Write::Insert("profiles", row([("display_name", json!("Lin"))])),
        )
        .await;
        assert_eq!(id_of(&profile), newcomer, "{backend}");
        allowed(
            &app,
            &MAYA_,
            Write::Update("profiles", key(MAYA), row([("bio", json!("Dawn person"))])),
        )
        .await;
        let appointed = allowed(
            &app,
            &SERVICE,
            Write::Insert(
                "admin_users",
                row([("user_id", json!(NOAH)), ("granted_by", json!(ADA))]),
            ),
        )
        .await;
        // Noah is an administrator now: he reads the budgets.
        reads(&app, &NOAH_, "ai_daily_budgets", &[BUDGET_MIRA_CHAT]).await;
        allowed(
            &app,
            &SERVICE,
            Write::Delete("admin_users", key(id_of(&appointed))),
        )
        .await;
        reads(&app, &NOAH_, "ai_daily_budgets", &[]).await;

        let written = allowed(&app, &ADA_, Write::Insert("feature_flags", flag())).await;
        allowed(
            &app,
            &ADA_,
            Write::Update(
                "feature_flags",
                key(id_of(&written)),
                row([("rollout_percent", json!(50))]),
            ),
        )
        .await;
        allowed(
            &app,
            &ADA_,
            Write::Delete("feature_flags", key(id_of(&written))),
        )
        .await;
        let journal = allowed(&app, &ADA_, Write::Insert("ai_model_configs", config())).await;
        allowed(
            &app,
            &ADA_,
            Write::Update(
                "ai_model_configs",
                key(CONFIG_MIRA_INSIGHTS),
                row([("enabled", json!(true))]),
            ),
        )
        .await;
        reads(
            &app,
            &MAYA_,
            "ai_model_configs",
            &[CONFIG_MIRA_CHAT, CONFIG_MIRA_INSIGHTS],
        )
        .await;
        let spent = allowed(&app, &ADA_, Write::Insert("ai_daily_budgets", budget())).await;
        allowed(
            &app,
            &ADA_,
            Write::Update(
                "ai_daily_budgets",
                key(id_of(&spent)),
                row([("token_limit", json!(5000))]),
            ),
        )
        .await;
        allowed(
            &app,
            &SERVICE,
            Write::Update(
                "ai_daily_budgets",
                key(id_of(&spent)),
                row([("tokens_used", json!(42))]),
            ),
        )
        .await;
        allowed(
            &app,
            &ADA_,
            Write::Delete("ai_daily_budgets", key(id_of(&spent))),
        )
        .await;
        allowed(
            &app,
            &ADA_,
            Write::Delete("ai_model_configs", key(id_of(&journal))),
        )
        .await;

        // Every write above is in the audit trail: the administrator reads it all, a user
        // the rows of their own writes only.
        let trail = every_row(&app, "audit_logs").await;
        let of = |actor: Uuid| -> Vec<Uuid> {
            trail
                .iter()
                .filter(|a| a["actor_id"] == json!(actor.to_string()))
                .map(id_of)
                .collect()
        };
        assert_eq!(of(MAYA).len(), 1, "{backend}: {trail:?}");
        reads(&app, &MAYA_, "audit_logs", &of(MAYA)).await;
        reads(&app, &newcomer_, "audit_logs", &of(newcomer)).await;
        reads(&app, &NOAH_, "audit_logs", &[]).await;
        reads(&app, &ANON, "audit_logs", &[]).await;
        let all: Vec<Uuid> = trail.iter().map(id_of).collect();
        reads(&app, &ADA_, "audit_logs", &all).await;
        refused(
            &app,
            vec![
                (
                    &SERVICE,
                    Write::Update("audit_logs", key(all[0]), row([("table_name", json!("x"))])),
                    "FORBIDDEN",
                ),
                (
                    &SERVICE,
                    Write::Delete("audit_logs", key(all[0])),
                    "FORBIDDEN",
                ),
                (&ADA_, Write::Delete("audit_logs", key(all[0])), "FORBIDDEN"),
            ],
        )
        .await;
        app.stop().await;
    }
}
