//! The migrations on both backends: up, down to zero, up again; the constraints they declare
//! reject what schema.md forbids; every foreign key and every `tenant_id` has an index.

mod support;

use chrono::{DateTime, FixedOffset, Utc};
use migration::{Migrator, MigratorTrait, TABLES};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, ExecResult, Statement, Value,
};
use serde_json::json;
use support::{on_fresh_postgres, on_fresh_sqlite};
use uuid::Uuid;

const MIGRATION_TABLE: &str = "seaql_migrations";

/// Indexes the API's reads depend on, and whether each one is partial.
const POLICY_INDEXES: [(&str, bool); 7] = [
    ("idx_posts_public_feed", true),
    ("idx_posts_tenant_published_feed", true),
    ("idx_posts_tenant_id_created_at", false),
    ("idx_posts_author_id_created_at", false),
    ("idx_notifications_user_id_created_at", false),
    ("idx_notifications_user_id_unread", true),
    ("idx_feature_flags_key_global", true),
];

#[tokio::test]
async fn sqlite_up_down_up() {
    on_fresh_sqlite(up_down_up).await;
}

#[tokio::test]
async fn postgres_up_down_up() {
    on_fresh_postgres("up_down_up", up_down_up).await;
}

#[tokio::test]
async fn sqlite_constraints() {
    on_fresh_sqlite(constraints).await;
}

#[tokio::test]
async fn postgres_constraints() {
    on_fresh_postgres("constraints", constraints).await;
}

#[tokio::test]
async fn sqlite_index_coverage() {
    on_fresh_sqlite(index_coverage).await;
}

#[tokio::test]
async fn postgres_index_coverage() {
    on_fresh_postgres("index_coverage", index_coverage).await;
}

#[tokio::test]
async fn sqlite_defaults_are_declared() {
    on_fresh_sqlite(defaults_are_declared).await;
}

#[tokio::test]
async fn postgres_defaults_are_declared() {
    on_fresh_postgres("defaults_are_declared", defaults_are_declared).await;
}

/// `migration::DEFAULTS` (and the conventional columns) name exactly the columns that have a
/// database default, so the API's input types require what an insert cannot leave out.
async fn defaults_are_declared(url: String) {
    let db = connect(&url).await;
    Migrator::up(&db, None).await.expect("up");
    let backend = db.get_database_backend();
    let mut found = Vec::new();
    for table in TABLES {
        let sql = match backend {
            DbBackend::Postgres => format!(
                "SELECT column_name::text AS name FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = '{table}' \
                 AND column_default IS NOT NULL ORDER BY 1"
            ),
            _ => format!(
                "SELECT name FROM pragma_table_info('{table}') WHERE dflt_value IS NOT NULL ORDER BY 1"
            ),
        };
        for column in strings(&db, &sql, "name").await {
            found.push((table.to_owned(), column));
        }
    }
    for (table, column) in &found {
        assert!(
            migration::has_default(table, column),
            "{table}.{column} has a database default; add it to migration::DEFAULTS"
        );
    }
    for (table, column) in migration::DEFAULTS {
        assert!(
            found.iter().any(|(t, c)| t == table && c == column),
            "migration::DEFAULTS names {table}.{column}, which has no database default"
        );
    }
    db.close().await.ok();
}

async fn connect(url: &str) -> DatabaseConnection {
    Database::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"))
}

async fn up_down_up(url: String) {
    let db = connect(&url).await;

    Migrator::up(&db, None).await.expect("first up");
    assert_schema_complete(&db).await;
    assert_eq!(
        Migrator::get_pending_migrations(&db)
            .await
            .expect("pending migrations")
            .len(),
        0
    );

    Migrator::down(&db, None).await.expect("down to zero");
    assert_eq!(user_tables(&db).await, vec![MIGRATION_TABLE.to_owned()]);
    assert_eq!(
        user_indexes(&db).await,
        Vec::<(String, String)>::new(),
        "down to zero leaves no index behind"
    );
    assert_eq!(
        Migrator::get_applied_migrations(&db)
            .await
            .expect("applied migrations")
            .len(),
        0
    );

    Migrator::up(&db, None).await.expect("second up");
    assert_schema_complete(&db).await;
    db.close().await.ok();
}

async fn assert_schema_complete(db: &DatabaseConnection) {
    let mut expected: Vec<String> = TABLES.iter().map(|t| (*t).to_owned()).collect();
    expected.push(MIGRATION_TABLE.to_owned());
    expected.sort();
    assert_eq!(user_tables(db).await, expected);

    let indexes = user_indexes(db).await;
    for (name, partial) in POLICY_INDEXES {
        let Some((_, definition)) = indexes.iter().find(|(n, _)| n == name) else {
            panic!("index {name} is missing; have {indexes:?}");
        };
        assert_eq!(
            definition.to_uppercase().contains(" WHERE "),
            partial,
            "{name}: {definition}"
        );
    }
}

/// Every table of the connected database, sorted.
async fn user_tables(db: &DatabaseConnection) -> Vec<String> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
        }
        _ => {
            "SELECT name FROM sqlite_master \
             WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1"
        }
    };
    strings(db, sql, "name").await
}

/// `(name, definition)` of every index outside the migration bookkeeping table, sorted.
async fn user_indexes(db: &DatabaseConnection) -> Vec<(String, String)> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT indexname::text AS name, indexdef AS definition FROM pg_indexes \
             WHERE schemaname = 'public' AND tablename <> 'seaql_migrations' ORDER BY 1"
        }
        _ => {
            "SELECT name, coalesce(sql, '') AS definition FROM sqlite_master \
             WHERE type = 'index' AND tbl_name <> 'seaql_migrations' ORDER BY 1"
        }
    };
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("list indexes");
    rows.iter()
        .map(|row| {
            (
                row.try_get("", "name").expect("index name"),
                row.try_get("", "definition").expect("index definition"),
            )
        })
        .collect()
}

async fn strings(db: &DatabaseConnection, sql: &str, column: &str) -> Vec<String> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|row| row.try_get("", column).expect("text column"))
        .collect()
}

/// Every foreign key column leads some non-partial index, and so does every `tenant_id`.
async fn index_coverage(url: String) {
    let db = connect(&url).await;
    Migrator::up(&db, None).await.expect("up");

    let (unindexed_fks, tenant_tables_without_index) = match db.get_database_backend() {
        DbBackend::Postgres => (
            "SELECT c.conrelid::regclass::text || '.' || a.attname::text AS name \
             FROM pg_constraint c \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
             WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace \
             AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid \
               AND i.indkey[0] = c.conkey[1] AND i.indpred IS NULL) ORDER BY 1",
            "SELECT t.relname::text AS name FROM pg_attribute a \
             JOIN pg_class t ON t.oid = a.attrelid \
             WHERE t.relnamespace = 'public'::regnamespace AND t.relkind = 'r' \
             AND a.attname = 'tenant_id' AND NOT a.attisdropped \
             AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid \
               AND i.indkey[0] = a.attnum AND i.indpred IS NULL) ORDER BY 1",
        ),
        _ => (
            "SELECT m.name || '.' || f.\"from\" AS name \
             FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f \
             WHERE m.type = 'table' AND NOT EXISTS ( \
               SELECT 1 FROM pragma_index_list(m.name) il \
               JOIN pragma_index_info(il.name) ii \
               WHERE ii.seqno = 0 AND ii.name = f.\"from\" AND il.partial = 0) ORDER BY 1",
            "SELECT m.name AS name FROM sqlite_master m JOIN pragma_table_info(m.name) c \
             WHERE m.type = 'table' AND c.name = 'tenant_id' AND NOT EXISTS ( \
               SELECT 1 FROM pragma_index_list(m.name) il \
               JOIN pragma_index_info(il.name) ii \
               WHERE ii.seqno = 0 AND ii.name = 'tenant_id' AND il.partial = 0) ORDER BY 1",
        ),
    };
    assert_eq!(
        strings(&db, unindexed_fks, "name").await,
        Vec::<String>::new(),
        "foreign keys without an index"
    );
    assert_eq!(
        strings(&db, tenant_tables_without_index, "name").await,
        Vec::<String>::new(),
        "tenant-scoped tables without an index starting with tenant_id"
    );

    // The sanity of the two queries above: they do see foreign keys and tenant_id columns.
    let fk_count = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT count(*)::text AS name FROM pg_constraint \
             WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
        }
        _ => {
            "SELECT CAST(count(*) AS TEXT) AS name \
             FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table'"
        }
    };
    assert_eq!(strings(&db, fk_count, "name").await, vec!["38".to_owned()]);
    db.close().await.ok();
}

async fn insert(
    db: &DatabaseConnection,
    table: &'static str,
    values: Vec<(&'static str, Value)>,
) -> Result<ExecResult, DbErr> {
    let (columns, values): (Vec<_>, Vec<_>) = values.into_iter().unzip();
    let stmt = Query::insert()
        .into_table(table)
        .columns(columns)
        .values_panic(values.into_iter().map(Expr::val))
        .to_owned();
    db.execute(&stmt).await
}

/// Asserts the insert was refused, for one of the given reasons (a constraint name on
/// PostgreSQL and in SQLite CHECK failures; SQLite's own wording for UNIQUE and FOREIGN KEY).
fn assert_refused(result: Result<ExecResult, DbErr>, reasons: &[&str], what: &str) {
    match result {
        Ok(_) => panic!("{what}: accepted, expected a refusal ({reasons:?})"),
        Err(e) => {
            let message = e.to_string();
            assert!(
                reasons.iter().any(|r| message.contains(r)),
                "{what}: refused for another reason than {reasons:?}: {message}"
            );
        }
    }
}

fn accepted(result: Result<ExecResult, DbErr>, what: &str) {
    if let Err(e) = result {
        panic!("{what}: refused: {e}");
    }
}

fn profile(id: Uuid, email: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("id", id.into()),
        ("email", email.into()),
        ("display_name", "Someone".into()),
    ]
}

fn post(id: Uuid, tenant: Uuid, author: Uuid) -> Vec<(&'static str, Value)> {
    vec![
        ("id", id.into()),
        ("tenant_id", tenant.into()),
        ("author_id", author.into()),
        ("title", "Hello".into()),
        ("body", "World".into()),
    ]
}

fn with(
    mut row: Vec<(&'static str, Value)>,
    column: &'static str,
    value: impl Into<Value>,
) -> Vec<(&'static str, Value)> {
    row.retain(|(c, _)| *c != column);
    row.push((column, value.into()));
    row
}

async fn constraints(url: String) {
    let db = connect(&url).await;
    Migrator::up(&db, None).await.expect("up");

    // profiles: unique email.
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    accepted(
        insert(&db, "profiles", profile(alice, "a@x.test")).await,
        "alice",
    );
    accepted(
        insert(&db, "profiles", profile(bob, "b@x.test")).await,
        "bob",
    );
    assert_refused(
        insert(&db, "profiles", profile(Uuid::new_v4(), "a@x.test")).await,
        &[
            "uq_profiles_email",
            "UNIQUE constraint failed: profiles.email",
        ],
        "duplicate email",
    );

    // tenants: tier enum, defaults readable with the types the entities use.
    let tenant = Uuid::new_v4();
    let tenant_row = vec![
        ("id", Value::from(tenant)),
        ("name", "Acme".into()),
        ("subdomain", "acme".into()),
    ];
    assert_refused(
        insert(&db, "tenants", with(tenant_row.clone(), "tier", "gold")).await,
        &["ck_tenants_tier"],
        "tier gold",
    );
    accepted(insert(&db, "tenants", tenant_row).await, "tenant");
    let row = db
        .query_one(
            Query::select()
                .columns(["tier", "settings", "created_at", "updated_at"])
                .from("tenants")
                .and_where(Expr::col("id").eq(tenant)),
        )
        .await
        .expect("select tenant")
        .expect("tenant row");
    assert_eq!(row.try_get::<String>("", "tier").expect("tier"), "free");
    assert_eq!(
        row.try_get::<serde_json::Value>("", "settings")
            .expect("settings"),
        json!({})
    );
    for column in ["created_at", "updated_at"] {
        let at: DateTime<FixedOffset> = row.try_get("", column).expect(column);
        let skew = (Utc::now() - at.to_utc()).num_seconds().abs();
        assert!(skew < 120, "{column} default is now (UTC): {at}");
    }

    // tenant_members: role enum; foreign keys enforced (SQLite included).
    let member = |user: Uuid, role: &str| {
        vec![
            ("tenant_id", Value::from(tenant)),
            ("user_id", user.into()),
            ("role", role.into()),
        ]
    };
    assert_refused(
        insert(&db, "tenant_members", member(alice, "boss")).await,
        &["ck_tenant_members_role"],
        "member role boss",
    );
    accepted(
        insert(&db, "tenant_members", member(alice, "owner")).await,
        "owner",
    );
    assert_refused(
        insert(&db, "tenant_members", member(Uuid::new_v4(), "member")).await,
        &["fk_tenant_members_user_id", "FOREIGN KEY constraint failed"],
        "member without a profile",
    );

    // user_roles.
    assert_refused(
        insert(
            &db,
            "user_roles",
            vec![("user_id", alice.into()), ("role", "root".into())],
        )
        .await,
        &["ck_user_roles_role"],
        "role root",
    );

    // blocks: blocker <> blocked.
    let block = |a: Uuid, b: Uuid| vec![("blocker_id", Value::from(a)), ("blocked_id", b.into())];
    assert_refused(
        insert(&db, "blocks", block(alice, alice)).await,
        &["ck_blocks_not_self"],
        "self block",
    );
    accepted(insert(&db, "blocks", block(alice, bob)).await, "block");
    assert_refused(
        insert(
            &db,
            "user_follows",
            vec![("follower_id", bob.into()), ("followee_id", bob.into())],
        )
        .await,
        &["ck_user_follows_not_self"],
        "self follow",
    );

    // feature_flags: rollout 0..=100, one global row per key.
    let flag = |tenant_id: Option<Uuid>| {
        vec![
            ("id", Value::from(Uuid::new_v4())),
            ("key", "beta".into()),
            ("tenant_id", tenant_id.into()),
            ("enabled", true.into()),
        ]
    };
    for bad in [101_i16, -1] {
        assert_refused(
            insert(
                &db,
                "feature_flags",
                with(flag(None), "rollout_percent", bad),
            )
            .await,
            &["ck_feature_flags_rollout_percent"],
            "rollout out of range",
        );
    }
    accepted(
        insert(
            &db,
            "feature_flags",
            with(flag(None), "rollout_percent", 0_i16),
        )
        .await,
        "global flag",
    );
    assert_refused(
        insert(&db, "feature_flags", flag(None)).await,
        &[
            "idx_feature_flags_key_global",
            "UNIQUE constraint failed: feature_flags.key",
        ],
        "second global row of a key",
    );
    accepted(
        insert(&db, "feature_flags", flag(Some(tenant))).await,
        "tenant flag",
    );
    assert_refused(
        insert(&db, "feature_flags", flag(Some(tenant))).await,
        &[
            "uq_feature_flags_key_tenant_id",
            "UNIQUE constraint failed: feature_flags.key, feature_flags.tenant_id",
        ],
        "second tenant row of a key",
    );

    // posts: status and visibility enums, community posts name their community.
    let post_id = Uuid::new_v4();
    assert_refused(
        insert(
            &db,
            "posts",
            with(post(Uuid::new_v4(), tenant, alice), "status", "deleted"),
        )
        .await,
        &["ck_posts_status"],
        "status deleted",
    );
    assert_refused(
        insert(
            &db,
            "posts",
            with(post(Uuid::new_v4(), tenant, alice), "visibility", "friends"),
        )
        .await,
        &["ck_posts_visibility"],
        "visibility friends",
    );
    assert_refused(
        insert(
            &db,
            "posts",
            with(
                post(Uuid::new_v4(), tenant, alice),
                "visibility",
                "community",
            ),
        )
        .await,
        &["ck_posts_community_visibility"],
        "community post without a community",
    );
    assert_refused(
        insert(&db, "posts", post(Uuid::new_v4(), tenant, Uuid::new_v4())).await,
        &["fk_posts_author_id", "FOREIGN KEY constraint failed"],
        "post by nobody",
    );
    accepted(
        insert(&db, "posts", post(post_id, tenant, alice)).await,
        "post",
    );
    let row = db
        .query_one(
            Query::select()
                .columns(["status", "visibility"])
                .from("posts")
                .and_where(Expr::col("id").eq(post_id)),
        )
        .await
        .expect("select post")
        .expect("post row");
    assert_eq!(
        row.try_get::<String>("", "status").expect("status"),
        "draft"
    );
    assert_eq!(
        row.try_get::<String>("", "visibility").expect("visibility"),
        "tenant"
    );

    // reactions: emoji of 1 to 16 characters (characters, not bytes).
    let reaction = |emoji: &str| {
        vec![
            ("post_id", Value::from(post_id)),
            ("user_id", bob.into()),
            ("tenant_id", tenant.into()),
            ("emoji", emoji.into()),
        ]
    };
    for bad in ["", "abcdefghijklmnopq"] {
        assert_refused(
            insert(&db, "reactions", reaction(bad)).await,
            &["ck_reactions_emoji_length"],
            "emoji length",
        );
    }
    accepted(
        insert(
            &db,
            "reactions",
            reaction("👍👍👍👍👍👍👍👍👍👍👍👍👍👍👍👍"),
        )
        .await,
        "16 emoji characters (64 bytes)",
    );

    // connections and audit_logs enums.
    assert_refused(
        insert(
            &db,
            "connections",
            vec![
                ("tenant_id", tenant.into()),
                ("user_id", bob.into()),
                ("status", "maybe".into()),
                ("initiated_by", bob.into()),
            ],
        )
        .await,
        &["ck_connections_status"],
        "connection status",
    );
    assert_refused(
        insert(
            &db,
            "audit_logs",
            vec![
                ("id", Uuid::new_v4().into()),
                ("action", "select".into()),
                ("table_name", "posts".into()),
            ],
        )
        .await,
        &["ck_audit_logs_action"],
        "audit action",
    );

    // communities: visibility enum; slug unique per tenant.
    let community = |slug: &str, visibility: &str| {
        vec![
            ("id", Value::from(Uuid::new_v4())),
            ("tenant_id", tenant.into()),
            ("name", "Runners".into()),
            ("slug", slug.into()),
            ("visibility", visibility.into()),
            ("created_by", alice.into()),
        ]
    };
    assert_refused(
        insert(&db, "communities", community("run", "secret")).await,
        &["ck_communities_visibility"],
        "community visibility",
    );
    accepted(
        insert(&db, "communities", community("run", "open")).await,
        "community",
    );
    assert_refused(
        insert(&db, "communities", community("run", "private")).await,
        &[
            "uq_communities_tenant_id_slug",
            "UNIQUE constraint failed: communities.tenant_id, communities.slug",
        ],
        "duplicate slug",
    );

    // A tenant's hard deletion takes its rows along (ON DELETE CASCADE, SQLite included).
    db.execute(
        Query::delete()
            .from_table("tenants")
            .and_where(Expr::col("id").eq(tenant)),
    )
    .await
    .expect("delete tenant");
    for table in ["posts", "reactions", "tenant_members", "communities"] {
        let left = db
            .query_one(
                Query::select()
                    .expr_as(Expr::col("tenant_id").count(), "n")
                    .from(table),
            )
            .await
            .expect("count")
            .expect("count row")
            .try_get::<i64>("", "n")
            .expect("n");
        assert_eq!(left, 0, "{table} rows left after their tenant's deletion");
    }
    db.close().await.ok();
}
