//! The vital application's policy matrix over its demo data, on SQLite and (with
//! `DATABASE_URL`) PostgreSQL: every table × read path × kind of principal — anonymous, a
//! user, an editor and an admin of tenant A (Acme), a user and an editor of tenant B
//! (PharmaCo), tokens whose tenant claim names another tenant, none, or a removed one, and
//! the service role — then the writes, refusals first (after which every table must be as it
//! was), then what is allowed.
//!
//! The tenant of a principal here is its token's `tenant_id` claim; the tenant a request's
//! Host names is tested over HTTP in `tests/e2e.rs`.

use std::collections::BTreeMap;

use rowgate_tests::matrix::{Expect, Who, Write, row};
use rowgate_tests::{TestApp, backends};
use serde_json::{Value, json};
use uuid::Uuid;
use vital::*;

const TABLES: [&str; 10] = [
    "tenants",
    "profiles",
    "personas",
    "jtbds",
    "jtbd_desired_outcomes",
    "agents",
    "ask_expert_sessions",
    "ask_expert_messages",
    "rag_documents",
    "rag_knowledge_chunks",
];

/// A user with no profile yet, who signs up in Acme.
const NEWCOMER: Uuid = Uuid::from_u128(0x7174_a100_0000_4000_8000_0000_0002_00ff);

const ANON: Who = Who::anon();
const ADA_A: Who = Who::user("ada (user of Acme)", ADA, Some(ACME));
const ELI_A: Who = Who::user("eli (editor of Acme)", ELI, Some(ACME));
const AMIR_A: Who = Who::user("amir (admin of Acme)", AMIR, Some(ACME));
const BEA_B: Who = Who::user("bea (user of PharmaCo)", BEA, Some(PHARMACO));
const PIA_B: Who = Who::user("pia (editor of PharmaCo)", PIA, Some(PHARMACO));
const ELI_B: Who = Who::user("eli with a PharmaCo claim", ELI, Some(PHARMACO));
const ADA_NONE: Who = Who::user("ada without a tenant claim", ADA, None);
const ADA_OLDCO: Who = Who::user("ada with the removed OldCo's claim", ADA, Some(OLDCO));
const SERVICE: Who = Who::service();

/// The live rows of tenant A a principal of A reads (`editor`: drafts and archived agents
/// too), with `own` sessions and `messages`.
fn acme(editor: bool, sessions: &[Uuid], messages: &[Uuid]) -> BTreeMap<&'static str, Vec<Uuid>> {
    let mut agents = vec![ACME_REGULATORY, ACME_TRIALS];
    if editor {
        agents.extend([ACME_DRAFT, ACME_ARCHIVED]);
    }
    BTreeMap::from([
        ("tenants", vec![ACME]),
        ("profiles", vec![ADA, ELI, AMIR]),
        ("personas", vec![ACME_PERSONA]),
        ("jtbds", vec![ACME_JTBD]),
        (
            "jtbd_desired_outcomes",
            vec![ACME_OUTCOME_GAP, ACME_OUTCOME_MET],
        ),
        ("agents", agents),
        ("ask_expert_sessions", sessions.to_vec()),
        ("ask_expert_messages", messages.to_vec()),
        ("rag_documents", vec![ACME_DOCUMENT]),
        ("rag_knowledge_chunks", vec![ACME_CHUNK_1, ACME_CHUNK_2]),
    ])
}

/// The live rows of tenant B a principal of B reads.
fn pharmaco(
    editor: bool,
    sessions: &[Uuid],
    messages: &[Uuid],
) -> BTreeMap<&'static str, Vec<Uuid>> {
    let mut agents = vec![PHARMA_ACTIVE];
    if editor {
        agents.push(PHARMA_DRAFT);
    }
    BTreeMap::from([
        ("tenants", vec![PHARMACO]),
        ("profiles", vec![BEA, PIA]),
        ("personas", vec![PHARMA_PERSONA]),
        ("jtbds", vec![PHARMA_JTBD]),
        ("jtbd_desired_outcomes", vec![PHARMA_OUTCOME]),
        ("agents", agents),
        ("ask_expert_sessions", sessions.to_vec()),
        ("ask_expert_messages", messages.to_vec()),
        ("rag_documents", vec![PHARMA_DOCUMENT]),
        ("rag_knowledge_chunks", vec![PHARMA_CHUNK]),
    ])
}

/// Nothing at all.
fn nothing() -> BTreeMap<&'static str, Vec<Uuid>> {
    TABLES.iter().map(|t| (*t, Vec::new())).collect()
}

/// What the service role reads: every row that is not soft-deleted (the children of a
/// removed row included: it bypasses the read-through rules, not soft deletes).
fn everything() -> BTreeMap<&'static str, Vec<Uuid>> {
    BTreeMap::from([
        ("tenants", vec![ACME, PHARMACO]),
        ("profiles", vec![ADA, ELI, AMIR, BEA, PIA]),
        ("personas", vec![ACME_PERSONA, PHARMA_PERSONA]),
        ("jtbds", vec![ACME_JTBD, PHARMA_JTBD]),
        (
            "jtbd_desired_outcomes",
            vec![
                ACME_OUTCOME_GAP,
                ACME_OUTCOME_MET,
                ACME_OLD_OUTCOME,
                PHARMA_OUTCOME,
            ],
        ),
        (
            "agents",
            vec![
                ACME_REGULATORY,
                ACME_TRIALS,
                ACME_DRAFT,
                ACME_ARCHIVED,
                PHARMA_ACTIVE,
                PHARMA_DRAFT,
            ],
        ),
        (
            "ask_expert_sessions",
            vec![ADA_SESSION, ELI_SESSION, BEA_SESSION],
        ),
        (
            "ask_expert_messages",
            vec![
                ADA_QUESTION,
                ADA_ANSWER,
                ADA_OLD_MESSAGE,
                ELI_QUESTION,
                BEA_QUESTION,
            ],
        ),
        ("rag_documents", vec![ACME_DOCUMENT, PHARMA_DOCUMENT]),
        (
            "rag_knowledge_chunks",
            vec![ACME_CHUNK_1, ACME_CHUNK_2, ACME_OLD_CHUNK, PHARMA_CHUNK],
        ),
    ])
}

/// The soft-deleted rows of the demo data: nobody reads them, not even the service role.
const REMOVED: [(&str, Uuid); 7] = [
    ("tenants", OLDCO),
    ("profiles", GUS),
    ("personas", ACME_OLD_PERSONA),
    ("jtbds", ACME_OLD_JTBD),
    ("agents", ACME_REMOVED),
    ("ask_expert_sessions", ADA_OLD_SESSION),
    ("rag_documents", ACME_OLD_DOCUMENT),
];

fn key(id: Uuid) -> rowgate::policy::eval::Row {
    row([("id", json!(id))])
}

fn id_of(row: &rowgate::policy::eval::Row) -> Uuid {
    row["id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .expect("an id")
}

async fn assert_visible(app: &TestApp, who: &Who, visible: &BTreeMap<&'static str, Vec<Uuid>>) {
    for table in TABLES {
        let keys: Vec<String> = visible[table].iter().map(Uuid::to_string).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        app.assert_reads(who, table, &keys).await;
    }
}

/// Every row of every table, as the service role reads them.
async fn snapshot(app: &TestApp) -> BTreeMap<&'static str, Vec<Value>> {
    let service = app.who(&SERVICE).await;
    let mut all = BTreeMap::new();
    for table in TABLES {
        let rows = app
            .store()
            .list(&service, table, rowgate::planner::ListArgs::default())
            .await
            .unwrap_or_else(|e| panic!("list {table}: {e}"));
        let mut rows: Vec<Value> = rows
            .into_iter()
            .map(|r| Value::Object(r.into_iter().collect()))
            .collect();
        rows.sort_by_key(|r| r["id"].to_string());
        all.insert(table, rows);
    }
    all
}

/// One row of each table of tenant A, what a write changes in it, and a row to insert
/// there (naming A's parents where the table has one).
fn acme_rows() -> Vec<(
    &'static str,
    Uuid,
    rowgate::policy::eval::Row,
    rowgate::policy::eval::Row,
)> {
    vec![
        (
            "tenants",
            ACME,
            row([("name", json!("Taken over"))]),
            row([("name", json!("New")), ("subdomain", json!("new"))]),
        ),
        (
            "profiles",
            ELI,
            row([("full_name", json!("Renamed"))]),
            row([("email", json!("x@example.com")), ("full_name", json!("X"))]),
        ),
        (
            "personas",
            ACME_PERSONA,
            row([("name", json!("Renamed"))]),
            row([("name", json!("Intruder"))]),
        ),
        (
            "jtbds",
            ACME_JTBD,
            row([("job_statement", json!("Changed"))]),
            row([
                ("job_statement", json!("When…")),
                ("persona_id", json!(ACME_PERSONA)),
            ]),
        ),
        (
            "jtbd_desired_outcomes",
            ACME_OUTCOME_GAP,
            row([("importance_score", json!(1))]),
            row([
                ("jtbd_id", json!(ACME_JTBD)),
                ("outcome_statement", json!("Minimize…")),
                ("importance_score", json!(5)),
                ("satisfaction_score", json!(5)),
            ]),
        ),
        (
            "agents",
            ACME_REGULATORY,
            row([("status", json!("archived"))]),
            row([
                ("name", json!("Intruder")),
                ("slug", json!("intruder")),
                ("persona_id", json!(ACME_PERSONA)),
            ]),
        ),
        (
            "ask_expert_sessions",
            ADA_SESSION,
            row([("status", json!("completed"))]),
            row([
                ("query", json!("?")),
                ("selected_agent_id", json!(ACME_REGULATORY)),
            ]),
        ),
        (
            "ask_expert_messages",
            ADA_QUESTION,
            row([("content", json!("rewritten"))]),
            row([
                ("session_id", json!(ADA_SESSION)),
                ("role", json!("user")),
                ("content", json!("injected")),
            ]),
        ),
        (
            "rag_documents",
            ACME_DOCUMENT,
            row([("title", json!("Renamed"))]),
            row([("title", json!("Planted")), ("content", json!("…"))]),
        ),
        (
            "rag_knowledge_chunks",
            ACME_CHUNK_1,
            row([("chunk_text", json!("poisoned"))]),
            row([
                ("document_id", json!(ACME_DOCUMENT)),
                ("chunk_index", json!(9)),
                ("chunk_text", json!("poisoned")),
            ]),
        ),
    ]
}

#[tokio::test]
async fn every_table_operation_and_principal_over_the_demo_data() {
    for backend in backends("vital::every_table_operation_and_principal_over_the_demo_data") {
        let app = TestApp::spawn_application(
            backend,
            application().expect("the vital application builds"),
        )
        .await;
        reads(&app).await;
        let before = snapshot(&app).await;
        refused_writes(&app).await;
        assert_eq!(
            snapshot(&app).await,
            before,
            "{backend}: a refused write changed something"
        );
        allowed_writes(&app).await;
        app.stop().await;
    }
}

async fn reads(app: &TestApp) {
    // Deny first: who reads nothing, then who reads another tenant's rows only.
    for who in [&ANON, &ADA_NONE, &ADA_OLDCO] {
        assert_visible(app, who, &nothing()).await;
    }
    // A token whose claim is tenant B reads none of A's rows, whoever it is for — an
    // editor of A included, who sees B's active agents only.
    assert_visible(
        app,
        &BEA_B,
        &pharmaco(false, &[BEA_SESSION], &[BEA_QUESTION]),
    )
    .await;
    assert_visible(app, &PIA_B, &pharmaco(true, &[], &[])).await;
    assert_visible(app, &ELI_B, &pharmaco(false, &[], &[])).await;
    // Claim-based tenancy needs no membership row: a token whose claim is A, for a user
    // with no profile anywhere, reads A's catalogue (and no session: it has none).
    let newcomer = Who::user(
        "a newcomer with Acme's claim, no profile",
        NEWCOMER,
        Some(ACME),
    );
    assert_visible(app, &newcomer, &acme(false, &[], &[])).await;
    // Within A: sessions and their messages are their user's only; drafts and archived
    // agents are the editors'.
    assert_visible(
        app,
        &ADA_A,
        &acme(false, &[ADA_SESSION], &[ADA_QUESTION, ADA_ANSWER]),
    )
    .await;
    assert_visible(app, &ELI_A, &acme(true, &[ELI_SESSION], &[ELI_QUESTION])).await;
    assert_visible(app, &AMIR_A, &acme(true, &[], &[])).await;
    assert_visible(app, &SERVICE, &everything()).await;

    // Soft-deleted rows are in the database, and nobody reads them.
    let store = app.store();
    for (table, id) in REMOVED {
        let service = app.who(&SERVICE).await;
        let raw = store
            .list(&service, table, rowgate::planner::ListArgs::default())
            .await
            .expect("list");
        assert!(
            !raw.iter().any(|r| r["id"] == json!(id)),
            "{table} {id}: a soft-deleted row is listed"
        );
        for who in [
            &ADA_A, &ELI_A, &AMIR_A, &BEA_B, &PIA_B, &ADA_OLDCO, &SERVICE,
        ] {
            let principal = app.who(who).await;
            let found = store.find(&principal, table, &key(id)).await.expect("find");
            assert!(found.is_none(), "{}: finds removed {table} {id}", who.label);
        }
    }
    let deleted_at: Option<String> = {
        use sea_orm::{ConnectionTrait, Statement};
        let row = app
            .db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                format!(
                    "SELECT CAST(deleted_at AS TEXT) AS d FROM agents WHERE name = '{}'",
                    "Retired Labeling Agent"
                ),
            ))
            .await
            .expect("query")
            .expect("the removed agent is still in the database");
        row.try_get("", "d").expect("deleted_at")
    };
    assert!(deleted_at.is_some(), "the removed agent has its deleted_at");

    // Masks: an email reads as null unless it is one's own or one administers the tenant.
    for (who, visible) in [
        (&ADA_A, vec![ADA]),
        (&ELI_A, vec![ELI]),
        (&AMIR_A, vec![ADA, ELI, AMIR]),
    ] {
        let principal = app.who(who).await;
        for profile in [ADA, ELI, AMIR] {
            let found = store
                .find(&principal, "profiles", &key(profile))
                .await
                .expect("find")
                .expect("a profile of the tenant");
            assert_eq!(
                found["email"].is_string(),
                visible.contains(&profile),
                "{}: the email of {profile}",
                who.label
            );
        }
    }
}

async fn refused_writes(app: &TestApp) {
    // Nothing anonymous is written, and nothing of A is even found.
    for (table, id, patch, insert) in acme_rows() {
        app.assert_write(
            &ANON,
            Write::Insert(table, insert),
            Expect::Refused("FORBIDDEN"),
        )
        .await;
        app.assert_write(
            &ANON,
            Write::Update(table, key(id), patch),
            Expect::Refused(update_refusal(table, "NOT_FOUND")),
        )
        .await;
        app.assert_write(
            &ANON,
            Write::Delete(table, key(id)),
            Expect::Refused("NOT_FOUND"),
        )
        .await;
    }

    // Claim-based tenancy: a token whose claim is tenant B cannot write into A, whatever
    // ids it names — a user, an editor of B, and an editor of A holding a B token alike.
    for who in [&BEA_B, &PIA_B, &ELI_B] {
        for (table, id, patch, insert) in acme_rows() {
            app.assert_write(
                who,
                Write::Update(table, key(id), patch),
                Expect::Refused(update_refusal(table, "NOT_FOUND")),
            )
            .await;
            app.assert_write(
                who,
                Write::Delete(table, key(id)),
                Expect::Refused("NOT_FOUND"),
            )
            .await;
            // Inserting a row naming A's parent (or, for a user, any catalogue row) is
            // refused. (A second profile of one's own collides with the first; a parentless
            // row an editor of B inserts lands in B.)
            if table == "profiles" || who == &PIA_B && !has_acme_parent(table) {
                continue;
            }
            app.assert_write(
                who,
                Write::Insert(table, insert),
                Expect::Refused("FORBIDDEN"),
            )
            .await;
        }
        // The tenant column is the gateway's: it cannot be named, on insert or update.
        app.assert_write(
            who,
            Write::Insert(
                "personas",
                row([("name", json!("Planted")), ("tenant_id", json!(ACME))]),
            ),
            Expect::Refused("BAD_USER_INPUT"),
        )
        .await;
    }
    app.assert_write(
        &BEA_B,
        Write::Update(
            "ask_expert_sessions",
            key(BEA_SESSION),
            row([("tenant_id", json!(ACME))]),
        ),
        Expect::Refused("BAD_USER_INPUT"),
    )
    .await;
    // An editor of B moves nothing of B into A: the parent is chosen once.
    app.assert_write(
        &PIA_B,
        Write::Update(
            "jtbd_desired_outcomes",
            key(PHARMA_OUTCOME),
            row([("jtbd_id", json!(ACME_JTBD))]),
        ),
        Expect::Refused("BAD_USER_INPUT"),
    )
    .await;
    // An editor of A acting under a B token edits B's catalogue no more than A's.
    app.assert_write(
        &ELI_B,
        Write::Update(
            "agents",
            key(PHARMA_ACTIVE),
            row([("status", json!("archived"))]),
        ),
        Expect::Refused("FORBIDDEN"),
    )
    .await;
    app.assert_write(
        &ELI_B,
        Write::Insert("agents", row([("name", json!("x")), ("slug", json!("x"))])),
        Expect::Refused("FORBIDDEN"),
    )
    .await;

    // Without an active tenant (no claim, no Host) or in a removed one, nothing is written.
    for who in [&ADA_NONE, &ADA_OLDCO] {
        app.assert_write(
            who,
            Write::Insert("ask_expert_sessions", row([("query", json!("?"))])),
            Expect::Refused("FORBIDDEN"),
        )
        .await;
        app.assert_write(
            who,
            Write::Update(
                "ask_expert_sessions",
                key(ADA_SESSION),
                row([("status", json!("completed"))]),
            ),
            Expect::Refused("NOT_FOUND"),
        )
        .await;
    }

    // A user of A: reads the catalogue, writes none of it.
    for (table, id, patch, insert) in acme_rows() {
        if matches!(
            table,
            "tenants" | "profiles" | "ask_expert_sessions" | "ask_expert_messages"
        ) {
            continue;
        }
        app.assert_write(
            &ADA_A,
            Write::Insert(table, insert),
            Expect::Refused("FORBIDDEN"),
        )
        .await;
        app.assert_write(
            &ADA_A,
            Write::Update(table, key(id), patch),
            Expect::Refused("FORBIDDEN"),
        )
        .await;
        app.assert_write(
            &ADA_A,
            Write::Delete(table, key(id)),
            Expect::Refused("FORBIDDEN"),
        )
        .await;
    }
    for (who, write, code) in [
        // A draft is not even found by a user.
        (
            &ADA_A,
            Write::Update(
                "agents",
                key(ACME_DRAFT),
                row([("status", json!("active"))]),
            ),
            "NOT_FOUND",
        ),
        // Tenants: provisioned and removed by the service role; renamed by their admins.
        (
            &ADA_A,
            Write::Insert(
                "tenants",
                row([("name", json!("Mine")), ("subdomain", json!("mine"))]),
            ),
            "FORBIDDEN",
        ),
        (
            &ADA_A,
            Write::Update("tenants", key(ACME), row([("name", json!("Ada Inc"))])),
            "FORBIDDEN",
        ),
        (
            &ELI_A,
            Write::Update("tenants", key(ACME), row([("name", json!("Eli Inc"))])),
            "FORBIDDEN",
        ),
        (&AMIR_A, Write::Delete("tenants", key(ACME)), "FORBIDDEN"),
        (
            &AMIR_A,
            Write::Update("tenants", key(ACME), row([("tier", json!("free"))])),
            "BAD_USER_INPUT",
        ),
        // Profiles: one's own name; roles are the admins'.
        (
            &ADA_A,
            Write::Update("profiles", key(ELI), row([("full_name", json!("Eve"))])),
            "FORBIDDEN",
        ),
        (
            &ADA_A,
            Write::Update("profiles", key(ADA), row([("role", json!("admin"))])),
            "FORBIDDEN",
        ),
        (
            &ELI_A,
            Write::Update("profiles", key(ADA), row([("role", json!("editor"))])),
            "FORBIDDEN",
        ),
        (
            &AMIR_A,
            Write::Update("profiles", key(ADA), row([("full_name", json!("Renamed"))])),
            "FORBIDDEN",
        ),
        (&ADA_A, Write::Delete("profiles", key(ELI)), "FORBIDDEN"),
        (&ELI_A, Write::Delete("profiles", key(ADA)), "FORBIDDEN"),
        (
            &ADA_A,
            Write::Insert(
                "profiles",
                row([
                    ("email", json!("a@example.com")),
                    ("full_name", json!("Ada")),
                ]),
            ),
            "CONFLICT",
        ),
        (
            &ADA_A,
            Write::Insert(
                "profiles",
                row([
                    ("id", json!(NEWCOMER)),
                    ("email", json!("n@example.com")),
                    ("full_name", json!("N")),
                ]),
            ),
            "BAD_USER_INPUT",
        ),
        // Sessions are their user's: another's is not found, even by an editor or admin.
        (
            &ADA_A,
            Write::Update(
                "ask_expert_sessions",
                key(ELI_SESSION),
                row([("status", json!("completed"))]),
            ),
            "NOT_FOUND",
        ),
        (
            &ELI_A,
            Write::Delete("ask_expert_sessions", key(ADA_SESSION)),
            "NOT_FOUND",
        ),
        (
            &AMIR_A,
            Write::Update(
                "ask_expert_sessions",
                key(ADA_SESSION),
                row([("status", json!("archived"))]),
            ),
            "NOT_FOUND",
        ),
        (
            &ADA_A,
            Write::Insert(
                "ask_expert_sessions",
                row([("query", json!("?")), ("user_id", json!(ELI))]),
            ),
            "BAD_USER_INPUT",
        ),
        // A session may only select an agent its user may read: not a draft, not another
        // tenant's, not a removed one.
        (
            &ADA_A,
            Write::Insert(
                "ask_expert_sessions",
                row([
                    ("query", json!("?")),
                    ("selected_agent_id", json!(ACME_DRAFT)),
                ]),
            ),
            "FORBIDDEN",
        ),
        (
            &ADA_A,
            Write::Insert(
                "ask_expert_sessions",
                row([
                    ("query", json!("?")),
                    ("selected_agent_id", json!(PHARMA_ACTIVE)),
                ]),
            ),
            "FORBIDDEN",
        ),
        (
            &ADA_A,
            Write::Update(
                "ask_expert_sessions",
                key(ADA_SESSION),
                row([("selected_agent_id", json!(ACME_REMOVED))]),
            ),
            "FORBIDDEN",
        ),
        (
            &ADA_A,
            Write::Update(
                "ask_expert_sessions",
                key(ADA_SESSION),
                row([("mode", json!(5))]),
            ),
            "BAD_USER_INPUT",
        ),
        // Messages: only the user's own turns, in their own live session; never edited or
        // removed one by one.
        (
            &ADA_A,
            Write::Insert(
                "ask_expert_messages",
                row([
                    ("session_id", json!(ELI_SESSION)),
                    ("role", json!("user")),
                    ("content", json!("hi")),
                ]),
            ),
            "FORBIDDEN",
        ),
        (
            &ADA_A,
            Write::Insert(
                "ask_expert_messages",
                row([
                    ("session_id", json!(ADA_SESSION)),
                    ("role", json!("assistant")),
                    ("content", json!("I am the expert")),
                ]),
            ),
            "FORBIDDEN",
        ),
        (
            &ADA_A,
            Write::Insert(
                "ask_expert_messages",
                row([
                    ("session_id", json!(ADA_OLD_SESSION)),
                    ("role", json!("user")),
                    ("content", json!("hello?")),
                ]),
            ),
            "FORBIDDEN",
        ),
        (
            &ADA_A,
            Write::Update(
                "ask_expert_messages",
                key(ADA_QUESTION),
                row([("content", json!("edited"))]),
            ),
            "BAD_USER_INPUT",
        ),
        (
            &ADA_A,
            Write::Delete("ask_expert_messages", key(ADA_QUESTION)),
            "FORBIDDEN",
        ),
        (
            &ELI_A,
            Write::Insert(
                "ask_expert_messages",
                row([
                    ("session_id", json!(ADA_SESSION)),
                    ("role", json!("user")),
                    ("content", json!("hi")),
                ]),
            ),
            "FORBIDDEN",
        ),
        // An editor of A names no row of B, and no removed row, as a parent.
        (
            &ELI_A,
            Write::Insert(
                "jtbd_desired_outcomes",
                row([
                    ("jtbd_id", json!(PHARMA_JTBD)),
                    ("outcome_statement", json!("x")),
                    ("importance_score", json!(5)),
                    ("satisfaction_score", json!(5)),
                ]),
            ),
            "FORBIDDEN",
        ),
        (
            &ELI_A,
            Write::Insert(
                "jtbd_desired_outcomes",
                row([
                    ("jtbd_id", json!(ACME_OLD_JTBD)),
                    ("outcome_statement", json!("x")),
                    ("importance_score", json!(5)),
                    ("satisfaction_score", json!(5)),
                ]),
            ),
            "FORBIDDEN",
        ),
        (
            &ELI_A,
            Write::Insert(
                "agents",
                row([
                    ("name", json!("x")),
                    ("slug", json!("x")),
                    ("persona_id", json!(PHARMA_PERSONA)),
                ]),
            ),
            "FORBIDDEN",
        ),
        (
            &ELI_A,
            Write::Insert(
                "rag_knowledge_chunks",
                row([
                    ("document_id", json!(ACME_OLD_DOCUMENT)),
                    ("chunk_index", json!(3)),
                    ("chunk_text", json!("x")),
                ]),
            ),
            "FORBIDDEN",
        ),
        (
            &ELI_A,
            Write::Update(
                "agents",
                key(PHARMA_ACTIVE),
                row([("status", json!("archived"))]),
            ),
            "NOT_FOUND",
        ),
        (
            &ELI_A,
            Write::Update(
                "agents",
                key(ACME_REMOVED),
                row([("status", json!("active"))]),
            ),
            "NOT_FOUND",
        ),
        // Scores are 1 to 10; a slug is unique in its tenant.
        (
            &ELI_A,
            Write::Update(
                "jtbd_desired_outcomes",
                key(ACME_OUTCOME_GAP),
                row([("importance_score", json!(11))]),
            ),
            "BAD_USER_INPUT",
        ),
        (
            &ELI_A,
            Write::Insert(
                "agents",
                row([
                    ("name", json!("Copy")),
                    ("slug", json!("regulatory-strategy")),
                ]),
            ),
            "CONFLICT",
        ),
        // The creator is the gateway's to set.
        (
            &ELI_A,
            Write::Insert(
                "personas",
                row([("name", json!("x")), ("created_by", json!(ADA))]),
            ),
            "BAD_USER_INPUT",
        ),
        (
            &ELI_A,
            Write::Update(
                "personas",
                key(ACME_PERSONA),
                row([("created_by", json!(ADA))]),
            ),
            "BAD_USER_INPUT",
        ),
    ] {
        app.assert_write(who, write, Expect::Refused(code)).await;
    }
}

/// The refusal of an update of `table` by a principal who may not make it: no column of a
/// message may be changed by anyone (BAD_USER_INPUT, before any row is looked up), the
/// others answer `code`.
fn update_refusal(table: &str, code: &'static str) -> &'static str {
    if table == "ask_expert_messages" {
        "BAD_USER_INPUT"
    } else {
        code
    }
}

/// Whether the insert of `acme_rows` for `table` names a row of A as its parent.
fn has_acme_parent(table: &str) -> bool {
    matches!(
        table,
        "jtbds"
            | "jtbd_desired_outcomes"
            | "agents"
            | "ask_expert_sessions"
            | "ask_expert_messages"
            | "rag_knowledge_chunks"
    )
}

async fn allowed_writes(app: &TestApp) {
    let store = app.store();
    let readable = |who: Who, table: &'static str, id: Uuid| {
        let store = store.clone();
        async move {
            let principal = app.who(&who).await;
            store
                .find(&principal, table, &key(id))
                .await
                .expect("find")
                .is_some()
        }
    };

    // A user opens a session with an active agent, asks, closes it; the gateway sets its
    // user, tenant and creator.
    let session = app
        .assert_write(
            &ADA_A,
            Write::Insert(
                "ask_expert_sessions",
                row([
                    ("query", json!("Is a PCCP required?")),
                    ("selected_agent_id", json!(ACME_REGULATORY)),
                    ("mode", json!(2)),
                ]),
            ),
            Expect::Allowed,
        )
        .await
        .expect("a session");
    assert_eq!(
        (
            &session["user_id"],
            &session["tenant_id"],
            &session["created_by"]
        ),
        (&json!(ADA), &json!(ACME), &json!(ADA))
    );
    let message = app
        .assert_write(
            &ADA_A,
            Write::Insert(
                "ask_expert_messages",
                row([
                    ("session_id", json!(id_of(&session))),
                    ("role", json!("user")),
                    ("content", json!("Is a PCCP required?")),
                    ("metadata", json!({"client": "web"})),
                ]),
            ),
            Expect::Allowed,
        )
        .await
        .expect("a message");
    assert_eq!(
        (&message["tenant_id"], &message["created_by"]),
        (&json!(ACME), &json!(ADA))
    );
    // The expert runtime answers as the service role.
    app.assert_write(
        &SERVICE,
        Write::Insert(
            "ask_expert_messages",
            row([
                ("tenant_id", json!(ACME)),
                ("session_id", json!(id_of(&session))),
                ("role", json!("assistant")),
                ("content", json!("Yes, for an adaptive algorithm.")),
            ]),
        ),
        Expect::Allowed,
    )
    .await;
    assert!(!readable(ELI_A, "ask_expert_sessions", id_of(&session)).await);
    assert!(!readable(ELI_A, "ask_expert_messages", id_of(&message)).await);
    app.assert_write(
        &ADA_A,
        Write::Update(
            "ask_expert_sessions",
            key(id_of(&session)),
            row([("status", json!("completed"))]),
        ),
        Expect::Allowed,
    )
    .await;
    app.assert_write(
        &ADA_A,
        Write::Delete("ask_expert_sessions", key(id_of(&session))),
        Expect::Allowed,
    )
    .await;
    // Removed with its messages (read through it).
    assert!(!readable(ADA_A, "ask_expert_sessions", id_of(&session)).await);
    assert!(!readable(ADA_A, "ask_expert_messages", id_of(&message)).await);
    app.assert_write(
        &ADA_A,
        Write::Update("profiles", key(ADA), row([("full_name", json!("Ada L."))])),
        Expect::Allowed,
    )
    .await;

    // An editor writes the catalogue: a draft agent only editors read, until activated.
    let draft = app
        .assert_write(
            &ELI_A,
            Write::Insert(
                "agents",
                row([
                    ("name", json!("Biostatistics Expert")),
                    ("slug", json!("biostatistics")),
                    ("capabilities", json!(["sample-size", "survival"])),
                    ("jtbd_ids", json!([ACME_JTBD])),
                    ("persona_id", json!(ACME_PERSONA)),
                ]),
            ),
            Expect::Allowed,
        )
        .await
        .expect("an agent");
    assert_eq!(
        (
            &draft["tenant_id"],
            &draft["created_by"],
            &draft["status"],
            &draft["capabilities"]
        ),
        (
            &json!(ACME),
            &json!(ELI),
            &json!("draft"),
            &json!(["sample-size", "survival"])
        )
    );
    assert!(!readable(ADA_A, "agents", id_of(&draft)).await);
    assert!(readable(AMIR_A, "agents", id_of(&draft)).await);
    app.assert_write(
        &ELI_A,
        Write::Update(
            "agents",
            key(id_of(&draft)),
            row([("status", json!("active"))]),
        ),
        Expect::Allowed,
    )
    .await;
    assert!(readable(ADA_A, "agents", id_of(&draft)).await);
    assert!(!readable(BEA_B, "agents", id_of(&draft)).await);
    app.assert_write(
        &ELI_A,
        Write::Delete("agents", key(ACME_ARCHIVED)),
        Expect::Allowed,
    )
    .await;
    assert!(!readable(ELI_A, "agents", ACME_ARCHIVED).await);
    for (table, insert) in [
        ("personas", row([("name", json!("Quinn"))])),
        (
            "jtbds",
            row([
                ("job_statement", json!("When auditing, I want…")),
                ("persona_id", json!(ACME_PERSONA)),
            ]),
        ),
        (
            "jtbd_desired_outcomes",
            row([
                ("jtbd_id", json!(ACME_JTBD)),
                ("outcome_statement", json!("Minimize rework")),
                ("importance_score", json!(8)),
                ("satisfaction_score", json!(2)),
            ]),
        ),
        (
            "rag_documents",
            row([
                ("title", json!("ICH E6(R3)")),
                ("content", json!("…")),
                ("metadata", json!({"source": "ich.org"})),
            ]),
        ),
        (
            "rag_knowledge_chunks",
            row([
                ("document_id", json!(ACME_DOCUMENT)),
                ("chunk_index", json!(2)),
                ("chunk_text", json!("Predicates are cleared devices.")),
            ]),
        ),
    ] {
        let written = app
            .assert_write(&ELI_A, Write::Insert(table, insert), Expect::Allowed)
            .await
            .expect("a row");
        assert_eq!(
            (&written["tenant_id"], &written["created_by"]),
            (&json!(ACME), &json!(ELI)),
            "{table}"
        );
        assert!(readable(ADA_A, table, id_of(&written)).await, "{table}");
        assert!(!readable(BEA_B, table, id_of(&written)).await, "{table}");
    }
    app.assert_write(
        &ELI_A,
        Write::Update(
            "jtbd_desired_outcomes",
            key(ACME_OUTCOME_MET),
            row([("satisfaction_score", json!(4))]),
        ),
        Expect::Allowed,
    )
    .await;
    app.assert_write(
        &ELI_A,
        Write::Delete("rag_documents", key(ACME_DOCUMENT)),
        Expect::Allowed,
    )
    .await;
    // Its chunks go with it.
    assert!(!readable(ELI_A, "rag_knowledge_chunks", ACME_CHUNK_1).await);

    // B's editor writes B's catalogue.
    let outcome = app
        .assert_write(
            &PIA_B,
            Write::Insert(
                "jtbd_desired_outcomes",
                row([
                    ("jtbd_id", json!(PHARMA_JTBD)),
                    ("outcome_statement", json!("Minimize prep time")),
                    ("importance_score", json!(6)),
                    ("satisfaction_score", json!(6)),
                ]),
            ),
            Expect::Allowed,
        )
        .await
        .expect("an outcome");
    assert_eq!(outcome["tenant_id"], json!(PHARMACO));

    // A newcomer signs up in Acme: their profile is theirs, a plain user.
    let newcomer = Who::user("a newcomer of Acme", NEWCOMER, Some(ACME));
    let profile = app
        .assert_write(
            &newcomer,
            Write::Insert(
                "profiles",
                row([
                    ("email", json!("new@example.com")),
                    ("full_name", json!("Nova")),
                ]),
            ),
            Expect::Allowed,
        )
        .await
        .expect("a profile");
    assert_eq!(
        (&profile["id"], &profile["tenant_id"], &profile["role"]),
        (&json!(NEWCOMER), &json!(ACME), &json!("user"))
    );

    // The admin renames the tenant and makes ada an editor: she reads drafts at once.
    app.assert_write(
        &AMIR_A,
        Write::Update(
            "tenants",
            key(ACME),
            row([("name", json!("Acme Pharma Ltd"))]),
        ),
        Expect::Allowed,
    )
    .await;
    assert!(!readable(ADA_A, "agents", ACME_DRAFT).await);
    app.assert_write(
        &AMIR_A,
        Write::Update("profiles", key(ADA), row([("role", json!("editor"))])),
        Expect::Allowed,
    )
    .await;
    assert!(readable(ADA_A, "agents", ACME_DRAFT).await);

    // A removed editor keeps no role: eli's token edits nothing any more.
    app.assert_write(
        &AMIR_A,
        Write::Delete("profiles", key(ELI)),
        Expect::Allowed,
    )
    .await;
    assert!(!readable(AMIR_A, "profiles", ELI).await);
    assert!(!readable(ELI_A, "agents", ACME_DRAFT).await);
    app.assert_write(
        &ELI_A,
        Write::Insert("personas", row([("name", json!("After removal"))])),
        Expect::Refused("FORBIDDEN"),
    )
    .await;

    // The service role provisions tenants and sets tiers.
    let tenant = app
        .assert_write(
            &SERVICE,
            Write::Insert(
                "tenants",
                row([("name", json!("Initech")), ("subdomain", json!("initech"))]),
            ),
            Expect::Allowed,
        )
        .await
        .expect("a tenant");
    assert_eq!(tenant["tier"], json!("free"));
    app.assert_write(
        &SERVICE,
        Write::Update(
            "tenants",
            key(id_of(&tenant)),
            row([("tier", json!("enterprise"))]),
        ),
        Expect::Allowed,
    )
    .await;
}
