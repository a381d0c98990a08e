//! The policy matrix on the demo data: every table × read path (by key, list, count) ×
//! principal, then writes (insert, update, delete) per table × principal. Deny cases come
//! first and outnumber allow cases: for reads, every demo row a principal must not see is
//! asserted absent from the list, the count and the lookup by key.
//!
//! Labels name demo rows: users and tenants by name, posts `post1`…`post12` (see
//! `rowgate_server::seed::demo::POSTS`), comments `comment1`…, and composite keys joined by `/`.

use std::collections::BTreeSet;

use rowgate::auth::Principal;
use rowgate::planner::{ListArgs, Store, WriteContext};
use rowgate::policy::eval::Row;
use rowgate_tests::demo::*;
use rowgate_tests::{Backend, TestApp, backends};
use serde_json::{Value, json};
use uuid::Uuid;

/// The principals of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anon,
    /// Owner of Acme.
    Alice,
    /// Member of Acme; blocks heidi.
    Bob,
    /// Member of Globex.
    Frank,
    /// Admin of Acme.
    Carol,
    /// Platform admin, no tenant.
    Erin,
    /// Platform moderator, member of Acme.
    Mallory,
    /// Member of Acme, blocked by bob.
    Heidi,
    /// Connected client of Acme, not a member.
    Gina,
    /// Owner of Globex.
    Dave,
    /// Authenticated, with no profile and no tenant.
    Stranger,
    Service,
}

const EVERYONE: [Who; 12] = [
    Who::Dave,
    Who::Stranger,
    Who::Anon,
    Who::Alice,
    Who::Bob,
    Who::Frank,
    Who::Carol,
    Who::Erin,
    Who::Mallory,
    Who::Heidi,
    Who::Gina,
    Who::Service,
];

async fn principal(app: &TestApp, who: Who) -> Principal {
    match who {
        Who::Anon => app.principal(None, None, "anon").await,
        Who::Alice => {
            app.principal(Some(ALICE), Some(ACME), "authenticated")
                .await
        }
        Who::Bob => app.principal(Some(BOB), Some(ACME), "authenticated").await,
        Who::Frank => {
            app.principal(Some(FRANK), Some(GLOBEX), "authenticated")
                .await
        }
        Who::Carol => {
            app.principal(Some(CAROL), Some(ACME), "authenticated")
                .await
        }
        Who::Erin => app.principal(Some(ERIN), None, "authenticated").await,
        Who::Mallory => {
            app.principal(Some(MALLORY), Some(ACME), "authenticated")
                .await
        }
        Who::Heidi => {
            app.principal(Some(HEIDI), Some(ACME), "authenticated")
                .await
        }
        Who::Gina => app.principal(Some(GINA), None, "authenticated").await,
        Who::Dave => {
            app.principal(Some(DAVE), Some(GLOBEX), "authenticated")
                .await
        }
        Who::Stranger => app.principal(Some(STRANGER), None, "authenticated").await,
        Who::Service => app.principal(None, None, "service_role").await,
    }
}

/// A user id with no profile, membership or role.
const STRANGER: Uuid = Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_5700);

/// A readable name for a demo id.
fn name(id: &str) -> String {
    let Ok(uuid) = Uuid::parse_str(id) else {
        return id.to_owned();
    };
    for (known, label) in [
        (ACME, "acme"),
        (GLOBEX, "globex"),
        (ALICE, "alice"),
        (BOB, "bob"),
        (CAROL, "carol"),
        (DAVE, "dave"),
        (ERIN, "erin"),
        (FRANK, "frank"),
        (GINA, "gina"),
        (HEIDI, "heidi"),
        (MALLORY, "mallory"),
        (RUNNERS, "runners"),
        (STRANGER, "stranger"),
        (GENERAL, "general"),
        (ACME_CHAT, "chat"),
    ] {
        if uuid == known {
            return label.to_owned();
        }
    }
    let bits = uuid.as_u128();
    let kind = match (bits >> 16) & 0xffff {
        3 => "community",
        4 => "post",
        5 => "comment",
        7 => "message",
        8 => "note",
        9 => "flag",
        10 => "event",
        _ => return id.to_owned(),
    };
    format!("{kind}{}", bits & 0xffff)
}

fn label(store: &Store, table: &str, row: &Row) -> String {
    let meta = store.table(table).expect("table");
    meta.primary_key
        .iter()
        .map(|k| match row.get(*k) {
            Some(Value::String(s)) => name(s),
            other => format!("{other:?}"),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn key_of(store: &Store, table: &str, row: &Row) -> Row {
    let meta = store.table(table).expect("table");
    meta.primary_key
        .iter()
        .map(|k| ((*k).to_owned(), row.get(*k).cloned().unwrap_or(Value::Null)))
        .collect()
}

/// Every row of a table as stored, soft-deleted ones included (raw SQL, no policy).
async fn raw_rows(app: &TestApp, store: &Store, table: &str) -> Vec<Row> {
    use sea_orm::ConnectionTrait;
    use sea_orm::sea_query::{Alias, Query};
    let meta = store.table(table).expect("table");
    let mut select = Query::select();
    select
        .columns(meta.columns.iter().map(|c| Alias::new(c.name)))
        .from(Alias::new(meta.name));
    app.db
        .query_all(&select)
        .await
        .expect("raw rows")
        .iter()
        .map(|r| rowgate::planner::values::decode_row(r, &meta.columns).expect("decode"))
        .collect()
}

fn is_deleted(row: &Row) -> bool {
    row.get("deleted_at").is_some_and(|v| !v.is_null())
}

fn set(labels: &[&str]) -> BTreeSet<String> {
    labels.iter().map(|s| (*s).to_owned()).collect()
}

const ACME_POSTS: [&str; 9] = [
    "post1", "post2", "post3", "post4", "post5", "post6", "post7", "post8", "post12",
];
const ACME_PEOPLE: [&str; 5] = ["alice", "bob", "carol", "heidi", "mallory"];
const GLOBAL_FLAGS: [&str; 4] = ["flag1", "flag3", "flag4", "flag6"];

/// What each principal may read of each table: exactly these rows, no others.
fn visible(table: &str, who: Who) -> BTreeSet<String> {
    use Who::*;
    let all_acme_posts_and_globex_public = || {
        let mut s = set(&ACME_POSTS);
        s.insert("post9".into());
        s
    };
    match (table, who) {
        // Soft-deleted rows are never returned, even to the service role; the demo has none.
        (_, Service) => BTreeSet::from(["*".to_owned()]),
        ("profiles", Anon | Stranger) => set(&[]),
        ("profiles", Alice | Bob | Carol | Mallory | Heidi) => set(&ACME_PEOPLE),
        ("profiles", Frank | Dave) => set(&["dave", "frank"]),
        ("profiles", Erin) => set(&[
            "alice", "bob", "carol", "dave", "erin", "frank", "gina", "heidi", "mallory",
        ]),
        ("profiles", Gina) => set(&["gina"]),
        ("user_roles", Erin) => set(&["erin/admin", "mallory/moderator"]),
        ("user_roles", Mallory) => set(&["mallory/moderator"]),
        ("user_roles", _) => set(&[]),
        ("tenants", Alice | Bob | Carol | Mallory | Heidi) => set(&["acme"]),
        ("tenants", Frank | Dave) => set(&["globex"]),
        ("tenants", Erin) => set(&["acme", "globex"]),
        ("tenants", _) => set(&[]),
        ("tenant_members", Alice | Bob | Carol | Mallory | Heidi) => set(&[
            "acme/alice",
            "acme/bob",
            "acme/carol",
            "acme/heidi",
            "acme/mallory",
        ]),
        ("tenant_members", Frank | Dave) => set(&["globex/dave", "globex/frank"]),
        ("tenant_members", _) => set(&[]),
        ("user_settings", Bob) => set(&["bob"]),
        ("user_settings", Alice) => set(&["alice"]),
        ("user_settings", _) => set(&[]),
        ("feature_flags", Anon) => set(&[]),
        ("feature_flags", Alice | Bob | Carol | Mallory | Heidi) => {
            let mut s = set(&GLOBAL_FLAGS);
            s.insert("flag2".into());
            s
        }
        ("feature_flags", Frank | Dave) => {
            let mut s = set(&GLOBAL_FLAGS);
            s.insert("flag5".into());
            s
        }
        ("feature_flags", Erin | Gina | Stranger) => set(&GLOBAL_FLAGS),
        ("system_config", Anon) => set(&["app.maintenance", "app.name", "app.support_email"]),
        ("system_config", _) => set(&[
            "app.maintenance",
            "app.name",
            "app.support_email",
            "billing.provider",
            "limits.upload_mb",
        ]),
        ("communities", Alice | Bob | Carol) => set(&["general", "runners"]),
        ("communities", Mallory | Heidi) => set(&["general"]),
        ("communities", _) => set(&[]),
        ("community_members", Alice | Bob | Carol) => set(&[
            "general/alice",
            "general/carol",
            "general/heidi",
            "runners/bob",
            "runners/carol",
        ]),
        ("community_members", Mallory | Heidi) => {
            set(&["general/alice", "general/carol", "general/heidi"])
        }
        ("community_members", _) => set(&[]),
        ("posts", Anon | Erin | Gina | Stranger) => set(&["post1", "post9", "post12"]),
        ("posts", Bob) => set(&["post1", "post2", "post5", "post6", "post9"]),
        ("posts", Frank | Dave) => set(&["post1", "post9", "post10", "post11", "post12"]),
        ("posts", Alice | Carol | Mallory) => all_acme_posts_and_globex_public(),
        ("posts", Heidi) => set(&["post1", "post2", "post7", "post8", "post9", "post12"]),
        ("comments", Anon | Erin | Gina | Stranger) => set(&["comment4"]),
        ("comments", Bob) => set(&["comment1", "comment2", "comment4", "comment5"]),
        ("comments", Frank | Dave) => set(&["comment4", "comment6"]),
        ("comments", Alice | Carol | Mallory) => {
            set(&["comment1", "comment2", "comment3", "comment4", "comment5"])
        }
        ("comments", Heidi) => set(&["comment1", "comment2", "comment3", "comment4"]),
        ("reactions", Anon | Erin | Gina | Stranger) => set(&["post1/heidi/❤️"]),
        ("reactions", Alice | Bob | Carol | Mallory | Heidi) => {
            set(&["post1/heidi/❤️", "post2/bob/👍", "post2/carol/🎉"])
        }
        ("reactions", Frank | Dave) => set(&["post1/heidi/❤️", "post10/frank/👀"]),
        ("blocks", Bob) => set(&["bob/heidi"]),
        ("blocks", _) => set(&[]),
        ("user_follows", Anon) => set(&[]),
        ("user_follows", _) => set(&["bob/alice", "carol/alice", "frank/dave", "gina/alice"]),
        ("conversations", Alice | Bob | Heidi) => set(&["chat"]),
        ("conversations", _) => set(&[]),
        ("conversation_participants", Alice | Bob | Heidi) => {
            set(&["chat/alice", "chat/bob", "chat/heidi"])
        }
        ("conversation_participants", _) => set(&[]),
        ("messages", Bob) => set(&["message1", "message2", "message4"]),
        ("messages", Alice | Heidi) => set(&["message1", "message2", "message3", "message4"]),
        ("messages", _) => set(&[]),
        ("notifications", Bob) => set(&["note3", "note5"]),
        ("notifications", Heidi) => set(&["note4"]),
        ("notifications", Alice) => set(&["note1", "note2"]),
        ("notifications", Dave) => set(&["note6"]),
        ("notifications", _) => set(&[]),
        ("connections", Alice | Bob | Carol | Mallory | Heidi) => set(&["acme/gina"]),
        ("connections", Frank | Dave) => set(&["globex/gina"]),
        ("connections", Gina) => set(&["acme/gina", "globex/gina"]),
        ("connections", _) => set(&[]),
        ("user_details", Alice | Bob | Carol | Mallory | Heidi | Gina) => set(&["gina"]),
        ("user_details", _) => set(&[]),
        ("audit_logs", _) => set(&[]),
        ("analytics_events", Alice | Carol) => set(&["event1", "event2"]),
        ("analytics_events", Dave) => set(&["event3"]),
        ("analytics_events", _) => set(&[]),
        (other, _) => panic!("no expectation for {other}"),
    }
}

/// Reads: for every table and principal, list, count and lookup by key agree with
/// [`visible`]; each hidden row is asserted absent (deny) before the visible ones (allow).
#[tokio::test]
async fn reads_match_the_matrix() {
    for backend in backends("reads_match_the_matrix") {
        let app = TestApp::spawn(backend).await;
        let store = app.store();
        let (mut denies, mut allows) = (0usize, 0usize);
        for meta in store.catalog.tables() {
            let table = meta.name;
            let all_rows = raw_rows(&app, &store, table).await;
            let live: BTreeSet<String> = all_rows
                .iter()
                .filter(|r| !is_deleted(r))
                .map(|r| label(&store, table, r))
                .collect();
            for who in EVERYONE {
                let p = principal(&app, who).await;
                let mut expected = visible(table, who);
                if expected.contains("*") {
                    expected = live.clone();
                }
                assert!(
                    expected.is_subset(&live),
                    "{backend} {table} {who:?}: expectation names rows that do not exist: {:?}",
                    expected.difference(&live).collect::<Vec<_>>()
                );
                let listed: BTreeSet<String> = store
                    .list(&p, table, ListArgs::default())
                    .await
                    .unwrap_or_else(|e| panic!("{backend} {table} {who:?}: {e}"))
                    .iter()
                    .map(|r| label(&store, table, r))
                    .collect();
                // Deny first: nothing outside the expectation, by list or by key.
                for row in &all_rows {
                    let l = label(&store, table, row);
                    if expected.contains(&l) {
                        continue;
                    }
                    denies += 1;
                    assert!(
                        !listed.contains(&l),
                        "LEAK {backend} {table} {who:?} lists {l}"
                    );
                    let found = store
                        .find(&p, table, &key_of(&store, table, row))
                        .await
                        .expect("find");
                    assert!(
                        found.is_none(),
                        "LEAK {backend} {table} {who:?} reads {l} by key"
                    );
                }
                // Then allow: exactly the expectation.
                assert_eq!(listed, expected, "{backend} {table} {who:?} list");
                let count = store.count(&p, table, None).await.expect("count");
                assert_eq!(
                    usize::try_from(count).ok(),
                    Some(expected.len()),
                    "{backend} {table} {who:?} count"
                );
                for row in &all_rows {
                    let l = label(&store, table, row);
                    if expected.contains(&l) {
                        allows += 1;
                        let found = store
                            .find(&p, table, &key_of(&store, table, row))
                            .await
                            .expect("find");
                        assert!(
                            found.is_some(),
                            "{backend} {table} {who:?} cannot read {l} by key"
                        );
                    }
                }
            }
        }
        assert!(
            denies > allows,
            "deny cases ({denies}) must outnumber allow cases ({allows})"
        );
        app.stop().await;
    }
}

/// Column masks: `profiles.email` is readable by self and platform admins only.
#[tokio::test]
async fn email_is_masked_for_everyone_but_self_and_admins() {
    for backend in backends("email_is_masked_for_everyone_but_self_and_admins") {
        let app = TestApp::spawn(backend).await;
        let store = app.store();
        for (who, own) in [
            (Who::Bob, Some("bob")),
            (Who::Carol, Some("carol")),
            (Who::Erin, None),
        ] {
            let p = principal(&app, who).await;
            for row in store
                .list(&p, "profiles", ListArgs::default())
                .await
                .expect("list")
            {
                let person = name(row["id"].as_str().unwrap_or_default());
                let email_visible = !row["email"].is_null();
                let allowed = who == Who::Erin || own == Some(person.as_str());
                assert_eq!(
                    email_visible, allowed,
                    "{backend} {who:?} sees {person}'s email: {email_visible}"
                );
            }
        }
        app.stop().await;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    NotFound,
    Forbidden,
    BadInput,
    Conflict,
}

fn outcome(result: &Result<Row, rowgate::error::AppError>) -> Outcome {
    use rowgate::error::ErrorCode;
    match result {
        Ok(_) => Outcome::Ok,
        Err(e) => match e.code() {
            ErrorCode::NotFound => Outcome::NotFound,
            ErrorCode::Forbidden | ErrorCode::Unauthenticated => Outcome::Forbidden,
            ErrorCode::BadUserInput => Outcome::BadInput,
            ErrorCode::Conflict => Outcome::Conflict,
            other => panic!("unexpected {other:?}: {e}"),
        },
    }
}

#[derive(Debug, Clone)]
enum Op {
    Insert(Value),
    Update(Value, Value),
    Delete(Value),
}

/// Every row of every table (as the service role reads them) and the audit count: a write
/// that is refused must leave this exactly as it was.
async fn snapshot(app: &TestApp, store: &Store) -> Vec<(String, Vec<Row>)> {
    let service = principal(app, Who::Service).await;
    let mut out = Vec::new();
    for meta in store.catalog.tables() {
        out.push((
            meta.name.to_owned(),
            store
                .list(&service, meta.name, ListArgs::default())
                .await
                .expect("snapshot"),
        ));
    }
    out
}

fn obj(value: Value) -> Row {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

async fn run(
    store: &Store,
    p: &Principal,
    table: &str,
    op: &Op,
) -> Result<Row, rowgate::error::AppError> {
    let ctx = WriteContext {
        principal: p,
        request_id: "matrix",
        deadline: None,
    };
    match op {
        Op::Insert(input) => store.insert(ctx, table, obj(input.clone())).await,
        Op::Update(key, patch) => {
            store
                .update(ctx, table, &obj(key.clone()), obj(patch.clone()))
                .await
        }
        Op::Delete(key) => store.delete(ctx, table, &obj(key.clone())).await,
    }
}

fn post(n: u128) -> String {
    Uuid::from_u128(0xdeadbeef_0000_4000_8000_000000000000 | (4 << 16) | n).to_string()
}

fn comment(n: u128) -> String {
    Uuid::from_u128(0xdeadbeef_0000_4000_8000_000000000000 | (5 << 16) | n).to_string()
}

fn message(n: u128) -> String {
    Uuid::from_u128(0xdeadbeef_0000_4000_8000_000000000000 | (7 << 16) | n).to_string()
}

fn note(n: u128) -> String {
    Uuid::from_u128(0xdeadbeef_0000_4000_8000_000000000000 | (8 << 16) | n).to_string()
}

fn flag(n: u128) -> String {
    Uuid::from_u128(0xdeadbeef_0000_4000_8000_000000000000 | (9 << 16) | n).to_string()
}

/// Refused writes: each must leave the whole database unchanged. Listed per table.
fn denied_writes() -> Vec<(&'static str, Who, Op, Outcome)> {
    use Outcome::*;
    use Who::*;
    let s = |u: Uuid| u.to_string();
    vec![
        // profiles: insert self only, update self only, delete admin only.
        (
            "profiles",
            Anon,
            Op::Insert(json!({"email": "x@example.com", "display_name": "X"})),
            Forbidden,
        ),
        (
            "profiles",
            Bob,
            Op::Update(json!({"id": s(ALICE)}), json!({"display_name": "Hacked"})),
            Forbidden,
        ),
        (
            "profiles",
            Frank,
            Op::Update(json!({"id": s(ALICE)}), json!({"display_name": "Hacked"})),
            NotFound,
        ),
        (
            "profiles",
            Bob,
            Op::Update(json!({"id": s(BOB)}), json!({"email": "new@example.com"})),
            BadInput,
        ),
        (
            "profiles",
            Bob,
            Op::Delete(json!({"id": s(ALICE)})),
            Forbidden,
        ),
        (
            "profiles",
            Bob,
            Op::Insert(json!({"email": "bob2@example.com", "display_name": "Bob again"})),
            Conflict,
        ),
        // user_roles: admin only; never from a member.
        (
            "user_roles",
            Bob,
            Op::Insert(json!({"user_id": s(BOB), "role": "admin"})),
            Forbidden,
        ),
        (
            "user_roles",
            Mallory,
            Op::Insert(json!({"user_id": s(MALLORY), "role": "admin"})),
            Forbidden,
        ),
        (
            "user_roles",
            Mallory,
            Op::Delete(json!({"user_id": s(ERIN), "role": "admin"})),
            NotFound,
        ),
        (
            "user_roles",
            Erin,
            Op::Update(
                json!({"user_id": s(MALLORY), "role": "moderator"}),
                json!({"granted_by": s(BOB)}),
            ),
            BadInput,
        ),
        // tenants: update by tenant admins (tier: platform admin only), delete by owner.
        (
            "tenants",
            Anon,
            Op::Insert(json!({"name": "Evil", "subdomain": "evil"})),
            Forbidden,
        ),
        (
            "tenants",
            Bob,
            Op::Update(json!({"id": s(ACME)}), json!({"name": "Bob's"})),
            Forbidden,
        ),
        (
            "tenants",
            Carol,
            Op::Update(json!({"id": s(ACME)}), json!({"tier": "enterprise"})),
            Forbidden,
        ),
        (
            "tenants",
            Frank,
            Op::Update(json!({"id": s(ACME)}), json!({"name": "Frank's"})),
            NotFound,
        ),
        (
            "tenants",
            Carol,
            Op::Delete(json!({"id": s(ACME)})),
            Forbidden,
        ),
        (
            "tenants",
            Bob,
            Op::Insert(json!({"name": "Paid", "subdomain": "paid", "tier": "enterprise"})),
            Forbidden,
        ),
        (
            "tenants",
            Bob,
            Op::Insert(json!({"name": "Dup", "subdomain": "acme"})),
            Conflict,
        ),
        // tenant_members: tenant admins only; a member may leave; the last owner stays.
        (
            "tenant_members",
            Bob,
            Op::Insert(json!({"tenant_id": s(ACME), "user_id": s(GINA), "role": "member"})),
            Forbidden,
        ),
        (
            "tenant_members",
            Frank,
            Op::Insert(json!({"tenant_id": s(ACME), "user_id": s(FRANK), "role": "owner"})),
            Forbidden,
        ),
        (
            "tenant_members",
            Bob,
            Op::Update(
                json!({"tenant_id": s(ACME), "user_id": s(BOB)}),
                json!({"role": "owner"}),
            ),
            Forbidden,
        ),
        (
            "tenant_members",
            Bob,
            Op::Delete(json!({"tenant_id": s(ACME), "user_id": s(HEIDI)})),
            Forbidden,
        ),
        (
            "tenant_members",
            Carol,
            Op::Update(
                json!({"tenant_id": s(ACME), "user_id": s(ALICE)}),
                json!({"role": "member"}),
            ),
            Conflict,
        ),
        (
            "tenant_members",
            Carol,
            Op::Delete(json!({"tenant_id": s(ACME), "user_id": s(ALICE)})),
            Conflict,
        ),
        (
            "tenant_members",
            Frank,
            Op::Delete(json!({"tenant_id": s(ACME), "user_id": s(BOB)})),
            NotFound,
        ),
        // user_settings: self only.
        (
            "user_settings",
            Carol,
            Op::Update(json!({"user_id": s(BOB)}), json!({"preferences": {}})),
            NotFound,
        ),
        (
            "user_settings",
            Anon,
            Op::Insert(json!({"preferences": {}})),
            Forbidden,
        ),
        (
            "user_settings",
            Bob,
            Op::Delete(json!({"user_id": s(BOB)})),
            Forbidden,
        ),
        // feature_flags: global rows admin only; tenant rows tenant admins only.
        (
            "feature_flags",
            Carol,
            Op::Insert(json!({"key": "x", "enabled": true})),
            Forbidden,
        ),
        (
            "feature_flags",
            Bob,
            Op::Insert(json!({"key": "x", "tenant_id": s(ACME), "enabled": true})),
            Forbidden,
        ),
        (
            "feature_flags",
            Carol,
            Op::Insert(json!({"key": "x", "tenant_id": s(GLOBEX), "enabled": true})),
            Forbidden,
        ),
        (
            "feature_flags",
            Bob,
            Op::Update(json!({"id": flag(2)}), json!({"enabled": false})),
            Forbidden,
        ),
        (
            "feature_flags",
            Carol,
            Op::Update(json!({"id": flag(3)}), json!({"enabled": false})),
            Forbidden,
        ),
        (
            "feature_flags",
            Bob,
            Op::Update(json!({"id": flag(5)}), json!({"enabled": false})),
            NotFound,
        ),
        (
            "feature_flags",
            Erin,
            Op::Update(json!({"id": flag(3)}), json!({"rollout_percent": 101})),
            BadInput,
        ),
        // system_config: admin only.
        (
            "system_config",
            Carol,
            Op::Insert(json!({"key": "x", "value": 1})),
            Forbidden,
        ),
        (
            "system_config",
            Bob,
            Op::Update(json!({"key": "app.name"}), json!({"value": "pwned"})),
            Forbidden,
        ),
        (
            "system_config",
            Anon,
            Op::Update(
                json!({"key": "billing.provider"}),
                json!({"value": "pwned"}),
            ),
            NotFound,
        ),
        (
            "system_config",
            Mallory,
            Op::Delete(json!({"key": "app.name"})),
            Forbidden,
        ),
        // communities: creator or tenant admin.
        (
            "communities",
            Gina,
            Op::Insert(json!({"name": "X", "slug": "x", "visibility": "open"})),
            Forbidden,
        ),
        (
            "communities",
            Erin,
            Op::Insert(json!({"name": "X", "slug": "x", "visibility": "open"})),
            Forbidden,
        ),
        (
            "communities",
            Bob,
            Op::Update(json!({"id": s(GENERAL)}), json!({"name": "Bob's"})),
            Forbidden,
        ),
        (
            "communities",
            Heidi,
            Op::Update(json!({"id": s(RUNNERS)}), json!({"name": "Heidi's"})),
            NotFound,
        ),
        (
            "communities",
            Mallory,
            Op::Delete(json!({"id": s(GENERAL)})),
            Forbidden,
        ),
        // community_members: self into open communities, moderators add others.
        (
            "community_members",
            Heidi,
            Op::Insert(json!({"community_id": s(RUNNERS), "user_id": s(HEIDI), "role": "member"})),
            Forbidden,
        ),
        (
            "community_members",
            Mallory,
            Op::Insert(
                json!({"community_id": s(GENERAL), "user_id": s(MALLORY), "role": "moderator"}),
            ),
            Forbidden,
        ),
        (
            "community_members",
            Bob,
            Op::Insert(json!({"community_id": s(RUNNERS), "user_id": s(HEIDI), "role": "member"})),
            Forbidden,
        ),
        (
            "community_members",
            Heidi,
            Op::Delete(json!({"community_id": s(GENERAL), "user_id": s(ALICE)})),
            Forbidden,
        ),
        (
            "community_members",
            Heidi,
            Op::Update(
                json!({"community_id": s(GENERAL), "user_id": s(HEIDI)}),
                json!({"role": "moderator"}),
            ),
            BadInput,
        ),
        // posts: active member; community posts need membership; author or tenant admin change.
        (
            "posts",
            Anon,
            Op::Insert(json!({"title": "t", "body": "b"})),
            Forbidden,
        ),
        (
            "posts",
            Erin,
            Op::Insert(json!({"title": "t", "body": "b"})),
            Forbidden,
        ),
        (
            "posts",
            Gina,
            Op::Insert(json!({"title": "t", "body": "b"})),
            Forbidden,
        ),
        (
            "posts",
            Bob,
            Op::Insert(
                json!({"title": "t", "body": "b", "community_id": s(GENERAL), "visibility": "community"}),
            ),
            Forbidden,
        ),
        (
            "posts",
            Bob,
            Op::Insert(json!({"title": "t", "body": "b", "author_id": s(ALICE)})),
            BadInput,
        ),
        (
            "posts",
            Bob,
            Op::Insert(json!({"title": "t", "body": "b", "tenant_id": s(GLOBEX)})),
            BadInput,
        ),
        (
            "posts",
            Bob,
            Op::Insert(json!({"title": "t", "body": "b", "status": "deleted"})),
            BadInput,
        ),
        (
            "posts",
            Bob,
            Op::Update(json!({"id": post(2)}), json!({"title": "Mine now"})),
            Forbidden,
        ),
        (
            "posts",
            Bob,
            Op::Update(json!({"id": post(3)}), json!({"title": "Peek"})),
            NotFound,
        ),
        (
            "posts",
            Frank,
            Op::Update(json!({"id": post(1)}), json!({"title": "Defaced"})),
            Forbidden,
        ),
        (
            "posts",
            Heidi,
            Op::Delete(json!({"id": post(2)})),
            Forbidden,
        ),
        ("posts", Bob, Op::Delete(json!({"id": post(7)})), NotFound),
        ("posts", Frank, Op::Delete(json!({"id": post(2)})), NotFound),
        // comments: on readable posts by active members; author updates.
        (
            "comments",
            Anon,
            Op::Insert(json!({"post_id": post(1), "body": "hi"})),
            Forbidden,
        ),
        (
            "comments",
            Frank,
            Op::Insert(json!({"post_id": post(2), "body": "hi"})),
            Forbidden,
        ),
        (
            "comments",
            Frank,
            Op::Insert(json!({"post_id": post(1), "body": "hi"})),
            Forbidden,
        ),
        (
            "comments",
            Heidi,
            Op::Insert(json!({"post_id": post(5), "body": "hi"})),
            Forbidden,
        ),
        (
            "comments",
            Bob,
            Op::Update(json!({"id": comment(4)}), json!({"body": "edited"})),
            Forbidden,
        ),
        (
            "comments",
            Bob,
            Op::Update(json!({"id": comment(3)}), json!({"body": "edited"})),
            NotFound,
        ),
        (
            "comments",
            Heidi,
            Op::Delete(json!({"id": comment(4)})),
            Forbidden,
        ),
        // reactions: self, on readable posts.
        (
            "reactions",
            Anon,
            Op::Insert(json!({"post_id": post(1), "emoji": "👍"})),
            Forbidden,
        ),
        (
            "reactions",
            Frank,
            Op::Insert(json!({"post_id": post(2), "emoji": "👍"})),
            Forbidden,
        ),
        (
            "reactions",
            Bob,
            Op::Insert(json!({"post_id": post(2), "emoji": "👍"})),
            Conflict,
        ),
        (
            "reactions",
            Bob,
            Op::Insert(json!({"post_id": post(1), "emoji": ""})),
            BadInput,
        ),
        (
            "reactions",
            Bob,
            Op::Delete(json!({"post_id": post(2), "user_id": s(CAROL), "emoji": "🎉"})),
            Forbidden,
        ),
        // blocks: blocker is self.
        (
            "blocks",
            Heidi,
            Op::Delete(json!({"blocker_id": s(BOB), "blocked_id": s(HEIDI)})),
            NotFound,
        ),
        (
            "blocks",
            Anon,
            Op::Insert(json!({"blocked_id": s(BOB)})),
            Forbidden,
        ),
        (
            "blocks",
            Bob,
            Op::Insert(json!({"blocked_id": s(BOB)})),
            BadInput,
        ),
        // user_follows: follower is self.
        (
            "user_follows",
            Bob,
            Op::Delete(json!({"follower_id": s(CAROL), "followee_id": s(ALICE)})),
            Forbidden,
        ),
        (
            "user_follows",
            Anon,
            Op::Insert(json!({"followee_id": s(ALICE)})),
            Forbidden,
        ),
        // conversations: participants read; creator updates; active member inserts.
        (
            "conversations",
            Carol,
            Op::Update(json!({"id": s(ACME_CHAT)}), json!({"title": "x"})),
            NotFound,
        ),
        (
            "conversations",
            Bob,
            Op::Update(json!({"id": s(ACME_CHAT)}), json!({"title": "x"})),
            Forbidden,
        ),
        (
            "conversations",
            Gina,
            Op::Insert(json!({"title": "x"})),
            Forbidden,
        ),
        (
            "conversations",
            Alice,
            Op::Delete(json!({"id": s(ACME_CHAT)})),
            Forbidden,
        ),
        // conversation_participants: participants add active members; nobody adds themselves.
        (
            "conversation_participants",
            Carol,
            Op::Insert(json!({"conversation_id": s(ACME_CHAT), "user_id": s(CAROL)})),
            Forbidden,
        ),
        (
            "conversation_participants",
            Bob,
            Op::Insert(json!({"conversation_id": s(ACME_CHAT), "user_id": s(FRANK)})),
            Forbidden,
        ),
        (
            "conversation_participants",
            Bob,
            Op::Update(
                json!({"conversation_id": s(ACME_CHAT), "user_id": s(HEIDI)}),
                json!({"last_read_at": "2026-01-01T00:00:00Z"}),
            ),
            Forbidden,
        ),
        (
            "conversation_participants",
            Bob,
            Op::Delete(json!({"conversation_id": s(ACME_CHAT), "user_id": s(HEIDI)})),
            Forbidden,
        ),
        // messages: participants send; sender edits and deletes.
        (
            "messages",
            Carol,
            Op::Insert(json!({"conversation_id": s(ACME_CHAT), "body": "hi"})),
            Forbidden,
        ),
        (
            "messages",
            Bob,
            Op::Update(json!({"id": message(1)}), json!({"body": "edited"})),
            Forbidden,
        ),
        (
            "messages",
            Bob,
            Op::Delete(json!({"id": message(3)})),
            NotFound,
        ),
        // notifications: service role inserts; self marks read.
        (
            "notifications",
            Bob,
            Op::Insert(json!({"user_id": s(BOB), "kind": "x", "title": "t", "body": "b"})),
            Forbidden,
        ),
        (
            "notifications",
            Bob,
            Op::Update(
                json!({"id": note(1)}),
                json!({"read_at": "2026-01-01T00:00:00Z"}),
            ),
            NotFound,
        ),
        (
            "notifications",
            Bob,
            Op::Update(json!({"id": note(3)}), json!({"title": "changed"})),
            BadInput,
        ),
        (
            "notifications",
            Heidi,
            Op::Delete(json!({"id": note(3)})),
            NotFound,
        ),
        // connections: self connects; tenant admins propose (pending) and revoke.
        (
            "connections",
            Bob,
            Op::Insert(json!({"tenant_id": s(GLOBEX), "user_id": s(FRANK), "status": "active"})),
            Forbidden,
        ),
        (
            "connections",
            Carol,
            Op::Insert(json!({"tenant_id": s(ACME), "user_id": s(FRANK), "status": "active"})),
            Forbidden,
        ),
        (
            "connections",
            Carol,
            Op::Update(
                json!({"tenant_id": s(ACME), "user_id": s(GINA)}),
                json!({"status": "pending"}),
            ),
            Forbidden,
        ),
        (
            "connections",
            Bob,
            Op::Update(
                json!({"tenant_id": s(ACME), "user_id": s(GINA)}),
                json!({"status": "revoked"}),
            ),
            Forbidden,
        ),
        (
            "connections",
            Carol,
            Op::Delete(json!({"tenant_id": s(ACME), "user_id": s(GINA)})),
            Forbidden,
        ),
        // user_details: self only.
        (
            "user_details",
            Bob,
            Op::Update(json!({"user_id": s(GINA)}), json!({"data": {}})),
            Forbidden,
        ),
        (
            "user_details",
            Frank,
            Op::Update(json!({"user_id": s(GINA)}), json!({"data": {}})),
            NotFound,
        ),
        // audit_logs: no writes of any kind, not even the service role's.
        (
            "audit_logs",
            Service,
            Op::Insert(json!({"action": "insert", "table_name": "posts"})),
            Forbidden,
        ),
        (
            "audit_logs",
            Erin,
            Op::Insert(json!({"action": "insert", "table_name": "posts"})),
            Forbidden,
        ),
        // analytics_events: insert into the active tenant only; no update or delete.
        (
            "analytics_events",
            Anon,
            Op::Insert(json!({"name": "x"})),
            Forbidden,
        ),
        (
            "analytics_events",
            Erin,
            Op::Insert(json!({"name": "x"})),
            Forbidden,
        ),
        (
            "analytics_events",
            Bob,
            Op::Insert(json!({"name": "x", "tenant_id": s(GLOBEX)})),
            BadInput,
        ),
    ]
}

/// Allowed writes, run after every refused one; each must succeed.
fn allowed_writes() -> Vec<(&'static str, Who, Op)> {
    use Who::*;
    let s = |u: Uuid| u.to_string();
    vec![
        (
            "profiles",
            Bob,
            Op::Update(json!({"id": s(BOB)}), json!({"display_name": "Robert"})),
        ),
        (
            "user_roles",
            Erin,
            Op::Insert(json!({"user_id": s(BOB), "role": "moderator"})),
        ),
        (
            "tenants",
            Bob,
            Op::Insert(json!({"name": "Bob Co", "subdomain": "bobco"})),
        ),
        (
            "tenants",
            Erin,
            Op::Update(json!({"id": s(ACME)}), json!({"tier": "enterprise"})),
        ),
        (
            "tenants",
            Carol,
            Op::Update(
                json!({"id": s(ACME)}),
                json!({"name": "Acme Inc", "settings": {"theme": "red"}}),
            ),
        ),
        (
            "tenant_members",
            Carol,
            Op::Insert(json!({"tenant_id": s(ACME), "user_id": s(FRANK), "role": "member"})),
        ),
        (
            "tenant_members",
            Carol,
            Op::Update(
                json!({"tenant_id": s(ACME), "user_id": s(HEIDI)}),
                json!({"role": "admin"}),
            ),
        ),
        (
            "user_settings",
            Carol,
            Op::Insert(json!({"preferences": {"theme": "dark"}})),
        ),
        (
            "user_settings",
            Bob,
            Op::Update(
                json!({"user_id": s(BOB)}),
                json!({"preferences": {"theme": "light"}}),
            ),
        ),
        (
            "feature_flags",
            Erin,
            Op::Insert(json!({"key": "new_flag", "enabled": true, "rollout_percent": 10})),
        ),
        (
            "feature_flags",
            Carol,
            Op::Insert(json!({"key": "acme_only", "tenant_id": s(ACME), "enabled": true})),
        ),
        (
            "feature_flags",
            Carol,
            Op::Update(json!({"id": flag(2)}), json!({"rollout_percent": 75})),
        ),
        (
            "system_config",
            Erin,
            Op::Insert(json!({"key": "app.motd", "value": "hello", "is_public": true})),
        ),
        (
            "system_config",
            Erin,
            Op::Update(json!({"key": "app.name"}), json!({"value": "renamed"})),
        ),
        (
            "communities",
            Bob,
            Op::Insert(json!({"name": "Cyclists", "slug": "cyclists", "visibility": "open"})),
        ),
        (
            "communities",
            Carol,
            Op::Update(json!({"id": s(GENERAL)}), json!({"name": "Town square"})),
        ),
        (
            "community_members",
            Mallory,
            Op::Insert(
                json!({"community_id": s(GENERAL), "user_id": s(MALLORY), "role": "member"}),
            ),
        ),
        (
            "community_members",
            Carol,
            Op::Insert(json!({"community_id": s(RUNNERS), "user_id": s(HEIDI), "role": "member"})),
        ),
        (
            "posts",
            Bob,
            Op::Insert(json!({"title": "New", "body": "b", "status": "published"})),
        ),
        (
            "posts",
            Bob,
            Op::Insert(
                json!({"title": "Run club", "body": "b", "community_id": s(RUNNERS), "visibility": "community"}),
            ),
        ),
        (
            "posts",
            Carol,
            Op::Update(
                json!({"id": post(2)}),
                json!({"title": "Q3 roadmap (edited)"}),
            ),
        ),
        ("posts", Alice, Op::Delete(json!({"id": post(4)}))),
        (
            "comments",
            Frank,
            Op::Insert(json!({"post_id": post(10), "body": "Thanks"})),
        ),
        (
            "comments",
            Bob,
            Op::Insert(json!({"post_id": post(2), "body": "Another"})),
        ),
        (
            "comments",
            Bob,
            Op::Update(json!({"id": comment(1)}), json!({"body": "Edited"})),
        ),
        ("comments", Alice, Op::Delete(json!({"id": comment(3)}))),
        (
            "reactions",
            Frank,
            Op::Insert(json!({"post_id": post(9), "emoji": "🎉"})),
        ),
        (
            "reactions",
            Bob,
            Op::Delete(json!({"post_id": post(2), "user_id": s(BOB), "emoji": "👍"})),
        ),
        ("blocks", Heidi, Op::Insert(json!({"blocked_id": s(BOB)}))),
        (
            "user_follows",
            Heidi,
            Op::Insert(json!({"followee_id": s(ALICE)})),
        ),
        (
            "user_follows",
            Bob,
            Op::Delete(json!({"follower_id": s(BOB), "followee_id": s(ALICE)})),
        ),
        (
            "conversations",
            Carol,
            Op::Insert(json!({"title": "Admins"})),
        ),
        (
            "conversations",
            Alice,
            Op::Update(json!({"id": s(ACME_CHAT)}), json!({"title": "Launch"})),
        ),
        (
            "conversation_participants",
            Alice,
            Op::Insert(json!({"conversation_id": s(ACME_CHAT), "user_id": s(CAROL)})),
        ),
        (
            "conversation_participants",
            Heidi,
            Op::Update(
                json!({"conversation_id": s(ACME_CHAT), "user_id": s(HEIDI)}),
                json!({"last_read_at": "2026-02-01T00:00:00Z"}),
            ),
        ),
        (
            "messages",
            Bob,
            Op::Insert(json!({"conversation_id": s(ACME_CHAT), "body": "On my way"})),
        ),
        (
            "messages",
            Heidi,
            Op::Update(
                json!({"id": message(3)}),
                json!({"body": "I'll bring slides and snacks."}),
            ),
        ),
        ("messages", Alice, Op::Delete(json!({"id": message(4)}))),
        (
            "notifications",
            Service,
            Op::Insert(
                json!({"user_id": s(BOB), "kind": "system", "title": "Welcome", "body": "Hi"}),
            ),
        ),
        (
            "notifications",
            Bob,
            Op::Update(
                json!({"id": note(3)}),
                json!({"read_at": "2026-02-01T00:00:00Z"}),
            ),
        ),
        ("notifications", Bob, Op::Delete(json!({"id": note(5)}))),
        (
            "connections",
            Carol,
            Op::Insert(json!({"tenant_id": s(ACME), "user_id": s(DAVE), "status": "pending"})),
        ),
        (
            "connections",
            Gina,
            Op::Update(
                json!({"tenant_id": s(GLOBEX), "user_id": s(GINA)}),
                json!({"status": "active"}),
            ),
        ),
        (
            "connections",
            Carol,
            Op::Update(
                json!({"tenant_id": s(ACME), "user_id": s(GINA)}),
                json!({"status": "revoked"}),
            ),
        ),
        (
            "user_details",
            Bob,
            Op::Insert(json!({"data": {"city": "Lyon"}})),
        ),
        (
            "user_details",
            Gina,
            Op::Update(
                json!({"user_id": s(GINA)}),
                json!({"data": {"weddingDate": "2027-07-01"}}),
            ),
        ),
        (
            "analytics_events",
            Bob,
            Op::Insert(json!({"name": "click", "properties": {"button": "save"}})),
        ),
        (
            "tenant_members",
            Heidi,
            Op::Delete(json!({"tenant_id": s(ACME), "user_id": s(HEIDI)})),
        ),
        ("profiles", Erin, Op::Delete(json!({"id": s(GINA)}))),
    ]
}

async fn audit_count(app: &TestApp, store: &Store) -> usize {
    let service = principal(app, Who::Service).await;
    store
        .list(&service, "audit_logs", ListArgs::default())
        .await
        .expect("audit")
        .len()
}

/// Writes: refused ones (first, and more of them) change nothing at all; allowed ones land
/// with their audit rows and side effects.
#[tokio::test]
async fn writes_match_the_matrix() {
    for backend in backends("writes_match_the_matrix") {
        let app = TestApp::spawn(backend).await;
        let store = app.store();
        let denied = denied_writes();
        let allowed = allowed_writes();
        assert!(
            denied.len() > allowed.len(),
            "deny cases must outnumber allow cases"
        );

        let before = snapshot(&app, &store).await;
        for (table, who, op, expected) in &denied {
            let p = principal(&app, *who).await;
            let result = run(&store, &p, table, op).await;
            assert_eq!(
                outcome(&result),
                *expected,
                "{backend} {table} {who:?} {op:?}: {result:?}"
            );
        }
        assert!(
            before == snapshot(&app, &store).await,
            "{backend}: a refused write changed the database"
        );

        for (table, who, op) in &allowed {
            let p = principal(&app, *who).await;
            let audits = audit_count(&app, &store).await;
            let result = run(&store, &p, table, op).await;
            assert_eq!(
                outcome(&result),
                Outcome::Ok,
                "{backend} {table} {who:?} {op:?}: {result:?}"
            );
            assert!(
                audit_count(&app, &store).await > audits,
                "{backend} {table} {who:?}: no audit row"
            );
        }
        check_effects(&app, &store).await;
        app.stop().await;
    }
}

async fn check_effects(app: &TestApp, store: &Store) {
    let backend = app.backend();
    let service = principal(app, Who::Service).await;
    let rows = |table: &'static str| {
        let service = service.clone();
        async move {
            store
                .list(&service, table, ListArgs::default())
                .await
                .expect("list")
        }
    };
    // The creator of a tenant is its owner.
    let bobco = rows("tenants")
        .await
        .into_iter()
        .find(|t| t["subdomain"] == "bobco")
        .expect("bobco");
    assert!(
        rows("tenant_members")
            .await
            .iter()
            .any(|m| m["tenant_id"] == bobco["id"]
                && m["user_id"] == BOB.to_string()
                && m["role"] == "owner"),
        "{backend}: tenant creator is not its owner"
    );
    // The creator of a conversation participates in it.
    let admins = rows("conversations")
        .await
        .into_iter()
        .find(|c| c["title"] == "Admins")
        .expect("conversation");
    assert!(
        rows("conversation_participants")
            .await
            .iter()
            .any(|p| p["conversation_id"] == admins["id"] && p["user_id"] == CAROL.to_string())
    );
    // A comment notifies the post's author (not the commenter); a message the other participants.
    let notes = rows("notifications").await;
    assert!(notes.iter().any(|n| n["user_id"] == ALICE.to_string()
        && n["kind"] == "comment"
        && n["body"] == "Another"));
    assert!(notes.iter().any(|n| n["user_id"] == DAVE.to_string()
        && n["kind"] == "comment"
        && n["body"] == "Thanks"));
    // heidi blocked bob above: she cannot read his message, so no notification copies it
    // to her (it once did, body included).
    assert!(
        !notes
            .iter()
            .any(|n| n["user_id"] == HEIDI.to_string() && n["body"] == "On my way"),
        "{backend}: heidi, who blocks bob, was notified of his message"
    );
    for user in [ALICE, CAROL] {
        assert!(
            notes.iter().any(|n| n["user_id"] == user.to_string()
                && n["kind"] == "message"
                && n["body"] == "On my way"),
            "{backend}: {user} not notified of the message"
        );
    }
    assert!(
        !notes
            .iter()
            .any(|n| n["user_id"] == BOB.to_string() && n["body"] == "On my way")
    );
    // Sending bumps the conversation; editing stamps edited_at.
    let chat = rows("conversations")
        .await
        .into_iter()
        .find(|c| c["id"] == ACME_CHAT.to_string())
        .expect("chat");
    assert!(
        chat["last_message_at"].as_str().unwrap_or_default() > "2026-01-01",
        "{chat:?}"
    );
    let edited = rows("messages")
        .await
        .into_iter()
        .find(|m| m["id"] == message(3))
        .expect("message3");
    assert!(!edited["edited_at"].is_null());
    // A reaction takes its post's tenant.
    let reaction = rows("reactions")
        .await
        .into_iter()
        .find(|r| r["post_id"] == post(9))
        .expect("reaction");
    assert_eq!(reaction["tenant_id"], GLOBEX.to_string());
    // Presets: the author is the principal whatever the client wanted.
    let new_post = rows("posts")
        .await
        .into_iter()
        .find(|p| p["title"] == "New")
        .expect("post");
    assert_eq!(
        (new_post["author_id"].clone(), new_post["tenant_id"].clone()),
        (json!(BOB.to_string()), json!(ACME.to_string()))
    );
    // Soft deletes hide rows from everyone, the service role included.
    assert!(!rows("posts").await.iter().any(|p| p["id"] == post(4)));
    assert!(
        !rows("profiles")
            .await
            .iter()
            .any(|p| p["id"] == GINA.to_string())
    );
    // The audit trail names the actor, the role and the request.
    let audit = rows("audit_logs").await;
    assert!(audit.iter().any(|a| a["actor_role"] == "service_role"
        && a["table_name"] == "notifications"
        && a["action"] == "insert"));
    assert!(audit.iter().any(|a| a["actor_id"] == ALICE.to_string()
        && a["table_name"] == "posts"
        && a["action"] == "delete"));
    assert!(audit.iter().all(|a| a["request_id"] == "matrix"));
    // Tenant admins read their tenant's audit rows; members do not; platform admins read all.
    let carol = principal(app, Who::Carol).await;
    let frank = principal(app, Who::Frank).await;
    let erin = principal(app, Who::Erin).await;
    let carol_sees = store
        .list(&carol, "audit_logs", ListArgs::default())
        .await
        .expect("audit");
    assert!(
        !carol_sees.is_empty()
            && carol_sees
                .iter()
                .all(|a| a["tenant_id"] == ACME.to_string())
    );
    assert!(
        store
            .list(&frank, "audit_logs", ListArgs::default())
            .await
            .expect("audit")
            .is_empty()
    );
    assert_eq!(
        store
            .list(&erin, "audit_logs", ListArgs::default())
            .await
            .expect("audit")
            .len(),
        audit.len()
    );
}

/// A write whose audit row cannot be written leaves the database exactly as it was, side
/// effects included.
#[tokio::test]
async fn a_failed_audit_rolls_the_whole_write_back() {
    use sea_orm::ConnectionTrait;
    for backend in backends("a_failed_audit_rolls_the_whole_write_back") {
        let app = TestApp::spawn(backend).await;
        let store = app.store();
        let before = snapshot(&app, &store).await;
        app.db
            .execute_unprepared("ALTER TABLE audit_logs RENAME TO audit_logs_away")
            .await
            .expect("rename");
        let bob = principal(&app, Who::Bob).await;
        let cases = [
            (
                "tenants",
                Op::Insert(json!({"name": "Bob Co", "subdomain": "bobco"})),
            ),
            ("posts", Op::Insert(json!({"title": "t", "body": "b"}))),
            (
                "comments",
                Op::Insert(json!({"post_id": post(2), "body": "hi"})),
            ),
            (
                "posts",
                Op::Update(json!({"id": post(6)}), json!({"title": "changed"})),
            ),
            ("posts", Op::Delete(json!({"id": post(6)}))),
        ];
        for (table, op) in &cases {
            let result = run(&store, &bob, table, op).await;
            let err = result.expect_err("the audit insert must fail");
            assert_eq!(
                err.code(),
                rowgate::error::ErrorCode::Internal,
                "{backend} {table}: {err}"
            );
        }
        app.db
            .execute_unprepared("ALTER TABLE audit_logs_away RENAME TO audit_logs")
            .await
            .expect("rename back");
        assert!(
            before == snapshot(&app, &store).await,
            "{backend}: a write without its audit row landed"
        );
        app.stop().await;
    }
}

/// The in-memory evaluation agrees with SQL on every demo row it can decide alone.
#[tokio::test]
async fn memory_and_sql_evaluations_agree() {
    for backend in backends("memory_and_sql_evaluations_agree") {
        if backend != Backend::Sqlite {
            continue;
        }
        let app = TestApp::spawn(backend).await;
        let store = app.store();
        let mut decided = 0;
        for meta in store.catalog.tables() {
            let all_rows = raw_rows(&app, &store, meta.name).await;
            for who in EVERYONE {
                let p = principal(&app, who).await;
                for row in &all_rows {
                    let sql = store
                        .find(&p, meta.name, &key_of(&store, meta.name, row))
                        .await
                        .expect("find")
                        .is_some();
                    if let Some(memory) =
                        rowgate::policy::eval::readable(&store.policies, meta.name, &p, row)
                    {
                        decided += 1;
                        assert_eq!(
                            memory,
                            sql,
                            "{} {who:?} {}",
                            meta.name,
                            label(&store, meta.name, row)
                        );
                    }
                }
            }
        }
        assert!(decided > 200, "too few rows decided in memory: {decided}");
        app.stop().await;
    }
}

/// An update rule's presets are stamped on every update, the service role's included
/// (an edited message's `edited_at` moves on with each edit), and a value the service role
/// sends for a preset column is kept.
#[tokio::test]
async fn update_presets_are_stamped_on_every_update_and_the_service_roles_own_values_kept() {
    for backend in backends("update_presets_are_stamped_on_every_update") {
        let app = TestApp::spawn(backend).await;
        let store = app.store();
        let service = principal(&app, Who::Service).await;
        let key = json!({"id": message(1)});
        let edit = |body: &str| Op::Update(key.clone(), json!({ "body": body }));
        let first = run(&store, &service, "messages", &edit("first edit"))
            .await
            .expect("the service role edits");
        let first = first["edited_at"].as_str().expect("stamped").to_owned();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let second = run(&store, &service, "messages", &edit("second edit"))
            .await
            .expect("the service role edits again");
        let second = second["edited_at"]
            .as_str()
            .expect("stamped again")
            .to_owned();
        assert!(second > first, "{backend}: {first} then {second}");
        let own = run(
            &store,
            &service,
            "messages",
            &Op::Update(
                key.clone(),
                json!({"body": "backfilled", "edited_at": "2020-01-02T03:04:05Z"}),
            ),
        )
        .await
        .expect("the service role sets its own value");
        assert!(
            own["edited_at"]
                .as_str()
                .is_some_and(|t| t.starts_with("2020-01-02T03:04:05")),
            "{backend}: {own:?}"
        );
        app.stop().await;
    }
}
