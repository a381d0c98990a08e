//! The schema of VIBEUP: profiles and their administrators, feature flags, communities with
//! their members, vibes (posts in a community), reactions and comments, mutual connections
//! and the messages between connected users, notifications, practices with their logs and
//! streaks, and the AI router's model configurations, provider credentials and daily
//! budgets; plus `audit_logs`, which the gateway writes.
//!
//! The same migration runs on PostgreSQL and SQLite. Enumerations are TEXT with a CHECK
//! constraint built from [`ENUMS`]; JSON columns are `json`; keys are UUIDs (PostgreSQL
//! fills a missing one with `gen_random_uuid()`, the gateway always sends one). Three
//! statements differ between the databases: the unordered-pair unique index of
//! `connections` (`LEAST`/`GREATEST` on PostgreSQL, `min`/`max` on SQLite), and, on
//! PostgreSQL only, the `rowgate_changes` triggers (cache invalidation for writes made
//! outside the gateway) and the `rowgate_rows` triggers (subscription events for them).

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// Every migration of the application.
#[derive(Debug, Clone, Copy, Default)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateVibeup)]
    }
}

/// The enumerations: (table, column, values), stored as TEXT with a CHECK constraint and
/// served as GraphQL enums. The single source of both.
pub const ENUMS: [(&str, &str, &[&str]); 7] = [
    ("communities", "visibility", &["public", "private"]),
    (
        "community_members",
        "role",
        &["owner", "moderator", "member"],
    ),
    (
        "vibes",
        "mood",
        &["calm", "grateful", "energized", "tender", "hopeful"],
    ),
    (
        "vibe_reactions",
        "kind",
        &["heart", "hug", "sparkle", "namaste"],
    ),
    (
        "notifications",
        "kind",
        &["message", "connection_request", "connection_accepted"],
    ),
    (
        "practices",
        "category",
        &[
            "breathwork",
            "meditation",
            "movement",
            "journaling",
            "sleep",
            "other",
        ],
    ),
    ("audit_logs", "action", &["insert", "update", "delete"]),
];

/// The values of the enumeration stored in `table.column`, if it is one.
pub fn enum_values(table: &str, column: &str) -> Option<&'static [&'static str]> {
    ENUMS
        .iter()
        .find(|(t, c, _)| *t == table && *c == column)
        .map(|(_, _, values)| *values)
}

/// The columns with a database default beyond `id`, `created_at` and `updated_at` (which the
/// gateway fills itself): an insert may leave them out.
pub const DEFAULTS: [(&str, &str); 14] = [
    ("feature_flags", "enabled"),
    ("feature_flags", "rollout_percent"),
    ("communities", "visibility"),
    ("community_members", "role"),
    ("connections", "requester_accepted"),
    ("connections", "addressee_accepted"),
    ("practices", "category"),
    ("practices", "is_public"),
    ("practice_streaks", "current_streak"),
    ("practice_streaks", "longest_streak"),
    ("ai_model_configs", "enabled"),
    ("ai_provider_credentials", "is_active"),
    ("ai_daily_budgets", "tokens_used"),
    ("ai_daily_budgets", "cost_used_usd"),
];

/// Whether an insert into `table` may leave `column` out.
pub fn has_default(table: &str, column: &str) -> bool {
    matches!(column, "id" | "created_at" | "updated_at")
        || DEFAULTS.iter().any(|(t, c)| *t == table && *c == column)
}

/// Tables whose rows the gateway caches something of (principal facts, hot configuration),
/// with the columns their change notifications carry.
const CACHED: [(&str, &[&str]); 4] = [
    ("admin_users", &["user_id"]),
    ("community_members", &["community_id", "user_id"]),
    ("feature_flags", &["id", "key", "tenant_id"]),
    ("ai_model_configs", &["id", "key"]),
];

/// Subscribable tables with their key columns.
const SUBSCRIBABLE: [(&str, &[&str]); 5] = [
    ("vibes", &["id"]),
    ("vibe_comments", &["id"]),
    ("vibe_reactions", &["id"]),
    ("messages", &["id"]),
    ("notifications", &["id"]),
];

/// Tables in creation order (dropped in reverse).
const TABLES: [&str; 18] = [
    "profiles",
    "admin_users",
    "feature_flags",
    "communities",
    "community_members",
    "vibes",
    "vibe_reactions",
    "vibe_comments",
    "connections",
    "messages",
    "notifications",
    "practices",
    "practice_logs",
    "practice_streaks",
    "ai_provider_credentials",
    "ai_model_configs",
    "ai_daily_budgets",
    "audit_logs",
];

/// SQLite's current time, as the RFC 3339 text sqlx writes for a UTC timestamp.
const SQLITE_NOW: &str = "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')";

fn name(s: &str) -> Alias {
    Alias::new(s)
}

/// Column builders for one database.
#[derive(Debug, Clone, Copy)]
struct Columns {
    postgres: bool,
}

impl Columns {
    fn id(self) -> ColumnDef {
        let mut def = ColumnDef::new(name("id"));
        def.uuid().not_null().primary_key();
        if self.postgres {
            def.default(Expr::cust("gen_random_uuid()"));
        }
        def
    }

    fn now(self, column: &str) -> ColumnDef {
        let now = if self.postgres {
            Expr::current_timestamp()
        } else {
            Expr::cust(SQLITE_NOW)
        };
        ColumnDef::new(name(column))
            .timestamp_with_time_zone()
            .not_null()
            .default(now)
            .take()
    }

    /// A table with `id`, the given columns, `created_at` and `updated_at`.
    fn table(self, table: &str, columns: Vec<ColumnDef>) -> TableCreateStatement {
        let mut create = Table::create();
        create.table(name(table)).col(self.id());
        for column in columns {
            create.col(column);
        }
        create
            .col(self.now("created_at"))
            .col(self.now("updated_at"));
        create
    }
}

fn uuid(column: &str) -> ColumnDef {
    ColumnDef::new(name(column)).uuid().not_null().take()
}

fn uuid_null(column: &str) -> ColumnDef {
    ColumnDef::new(name(column)).uuid().null().take()
}

fn text(column: &str) -> ColumnDef {
    ColumnDef::new(name(column)).text().not_null().take()
}

fn text_null(column: &str) -> ColumnDef {
    ColumnDef::new(name(column)).text().null().take()
}

fn boolean(column: &str, default: bool) -> ColumnDef {
    ColumnDef::new(name(column))
        .boolean()
        .not_null()
        .default(default)
        .take()
}

fn integer_null(column: &str) -> ColumnDef {
    ColumnDef::new(name(column)).integer().null().take()
}

fn integer_default(column: &str, default: i32) -> ColumnDef {
    ColumnDef::new(name(column))
        .integer()
        .not_null()
        .default(default)
        .take()
}

fn date(column: &str) -> ColumnDef {
    ColumnDef::new(name(column)).date().not_null().take()
}

fn date_null(column: &str) -> ColumnDef {
    ColumnDef::new(name(column)).date().null().take()
}

fn timestamp_null(column: &str) -> ColumnDef {
    ColumnDef::new(name(column))
        .timestamp_with_time_zone()
        .null()
        .take()
}

fn json_null(column: &str) -> ColumnDef {
    ColumnDef::new(name(column)).json().null().take()
}

/// An enumeration column: TEXT with `CHECK (column IN (…ENUMS…))`.
fn enumeration(table: &str, column: &str, nullable: bool, default: Option<&str>) -> ColumnDef {
    let values = enum_values(table, column).unwrap_or_default();
    let mut def = ColumnDef::new(name(column));
    def.text()
        .check(Expr::col(name(column)).is_in(values.iter().copied()));
    if nullable {
        def.null();
    } else {
        def.not_null();
    }
    if let Some(default) = default {
        def.default(default);
    }
    def
}

/// A foreign key from `table.column` to `parent.id`.
fn references(
    table: &str,
    column: &str,
    parent: &str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(name(table), name(column))
        .to(name(parent), name("id"))
        .on_delete(on_delete)
        .take()
}

/// `CHECK (a <> b)`.
fn distinct(a: &str, b: &str) -> Expr {
    Expr::col(name(a)).ne(Expr::col(name(b)))
}

/// An index on `table (columns)`; unique when asked.
fn index(table: &str, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut index = Index::create();
    index
        .name(format!(
            "{}_{table}_{}",
            if unique { "uq" } else { "idx" },
            columns.join("_")
        ))
        .table(name(table));
    for column in columns {
        index.col(name(column));
    }
    if unique {
        index.unique();
    }
    index
}

#[derive(DeriveMigrationName)]
struct CreateVibeup;

impl CreateVibeup {
    fn tables(c: Columns) -> Vec<TableCreateStatement> {
        use ForeignKeyAction::{Cascade, SetNull};
        let fk = references;
        vec![
            // A profile's id is its user's id (the token's `sub`).
            {
                let mut t = Table::create();
                t.table(name("profiles"))
                    .col(uuid("id").primary_key())
                    .col(text("display_name"))
                    .col(text_null("bio"))
                    .col(text_null("avatar_url"))
                    .col(text_null("email"))
                    .col(c.now("created_at"))
                    .col(c.now("updated_at"));
                t
            },
            c.table(
                "admin_users",
                vec![uuid("user_id").unique_key().take(), uuid_null("granted_by")],
            )
            .foreign_key(&mut fk("admin_users", "user_id", "profiles", Cascade))
            .take(),
            // `tenant_id` is the engine's per-tenant override of a flag; vibeup has no
            // tenants, so every row is global (NULL).
            c.table(
                "feature_flags",
                vec![
                    text("key").unique_key().take(),
                    uuid_null("tenant_id"),
                    boolean("enabled", false),
                    integer_default("rollout_percent", 100)
                        .check(Expr::col(name("rollout_percent")).between(0, 100))
                        .take(),
                    text_null("description"),
                ],
            ),
            c.table(
                "communities",
                vec![
                    text("name"),
                    text("slug").unique_key().take(),
                    text_null("description"),
                    enumeration("communities", "visibility", false, Some("public")),
                    uuid("created_by"),
                ],
            )
            .foreign_key(&mut fk("communities", "created_by", "profiles", Cascade))
            .take(),
            c.table(
                "community_members",
                vec![
                    uuid("community_id"),
                    uuid("user_id"),
                    enumeration("community_members", "role", false, Some("member")),
                ],
            )
            .foreign_key(&mut fk(
                "community_members",
                "community_id",
                "communities",
                Cascade,
            ))
            .foreign_key(&mut fk("community_members", "user_id", "profiles", Cascade))
            .index(
                Index::create()
                    .name("uq_community_members_community_id_user_id")
                    .unique()
                    .col(name("community_id"))
                    .col(name("user_id")),
            )
            .take(),
            c.table(
                "vibes",
                vec![
                    uuid("community_id"),
                    uuid("author_id"),
                    text("body"),
                    enumeration("vibes", "mood", true, None),
                ],
            )
            .foreign_key(&mut fk("vibes", "community_id", "communities", Cascade))
            .foreign_key(&mut fk("vibes", "author_id", "profiles", Cascade))
            .take(),
            c.table(
                "vibe_reactions",
                vec![
                    uuid("vibe_id"),
                    uuid("user_id"),
                    enumeration("vibe_reactions", "kind", false, None),
                ],
            )
            .foreign_key(&mut fk("vibe_reactions", "vibe_id", "vibes", Cascade))
            .foreign_key(&mut fk("vibe_reactions", "user_id", "profiles", Cascade))
            .index(
                Index::create()
                    .name("uq_vibe_reactions_vibe_id_user_id_kind")
                    .unique()
                    .col(name("vibe_id"))
                    .col(name("user_id"))
                    .col(name("kind")),
            )
            .take(),
            c.table(
                "vibe_comments",
                vec![uuid("vibe_id"), uuid("author_id"), text("body")],
            )
            .foreign_key(&mut fk("vibe_comments", "vibe_id", "vibes", Cascade))
            .foreign_key(&mut fk("vibe_comments", "author_id", "profiles", Cascade))
            .take(),
            // A connection holds each side's acceptance; it is mutual when both hold.
            c.table(
                "connections",
                vec![
                    uuid("requester_id"),
                    uuid("addressee_id"),
                    boolean("requester_accepted", true),
                    boolean("addressee_accepted", false),
                ],
            )
            .foreign_key(&mut fk("connections", "requester_id", "profiles", Cascade))
            .foreign_key(&mut fk("connections", "addressee_id", "profiles", Cascade))
            .check(distinct("requester_id", "addressee_id"))
            .take(),
            c.table(
                "messages",
                vec![
                    uuid("sender_id"),
                    uuid("recipient_id"),
                    text("body"),
                    timestamp_null("read_at"),
                ],
            )
            .foreign_key(&mut fk("messages", "sender_id", "profiles", Cascade))
            .foreign_key(&mut fk("messages", "recipient_id", "profiles", Cascade))
            .check(distinct("sender_id", "recipient_id"))
            .take(),
            c.table(
                "notifications",
                vec![
                    uuid("user_id"),
                    enumeration("notifications", "kind", false, None),
                    text("title"),
                    text_null("body"),
                    json_null("data"),
                    timestamp_null("read_at"),
                ],
            )
            .foreign_key(&mut fk("notifications", "user_id", "profiles", Cascade))
            .take(),
            c.table(
                "practices",
                vec![
                    uuid("user_id"),
                    text("name"),
                    text_null("description"),
                    enumeration("practices", "category", false, Some("other")),
                    boolean("is_public", false),
                    integer_null("target_minutes"),
                ],
            )
            .foreign_key(&mut fk("practices", "user_id", "profiles", Cascade))
            .take(),
            c.table(
                "practice_logs",
                vec![
                    uuid("practice_id"),
                    uuid("user_id"),
                    date("logged_on"),
                    integer_null("duration_minutes"),
                    text_null("notes"),
                ],
            )
            .foreign_key(&mut fk(
                "practice_logs",
                "practice_id",
                "practices",
                Cascade,
            ))
            .foreign_key(&mut fk("practice_logs", "user_id", "profiles", Cascade))
            .take(),
            c.table(
                "practice_streaks",
                vec![
                    uuid("practice_id").unique_key().take(),
                    uuid("user_id"),
                    integer_default("current_streak", 0),
                    integer_default("longest_streak", 0),
                    date_null("last_logged_on"),
                ],
            )
            .foreign_key(&mut fk(
                "practice_streaks",
                "practice_id",
                "practices",
                Cascade,
            ))
            .foreign_key(&mut fk("practice_streaks", "user_id", "profiles", Cascade))
            .take(),
            c.table(
                "ai_provider_credentials",
                vec![
                    text("provider").unique_key().take(),
                    text_null("label"),
                    text("api_key"),
                    boolean("is_active", true),
                    uuid_null("created_by"),
                ],
            ),
            c.table(
                "ai_model_configs",
                vec![
                    text("key").unique_key().take(),
                    text("provider"),
                    text("model"),
                    ColumnDef::new(name("temperature")).double().null().take(),
                    integer_null("max_tokens"),
                    text_null("system_prompt"),
                    boolean("enabled", false),
                    uuid_null("credential_id"),
                ],
            )
            .foreign_key(&mut fk(
                "ai_model_configs",
                "credential_id",
                "ai_provider_credentials",
                SetNull,
            ))
            .take(),
            c.table(
                "ai_daily_budgets",
                vec![
                    uuid("model_config_id"),
                    date("budget_date"),
                    ColumnDef::new(name("token_limit"))
                        .big_integer()
                        .not_null()
                        .take(),
                    ColumnDef::new(name("tokens_used"))
                        .big_integer()
                        .not_null()
                        .default(0)
                        .take(),
                    ColumnDef::new(name("cost_limit_usd"))
                        .decimal_len(10, 2)
                        .null()
                        .take(),
                    ColumnDef::new(name("cost_used_usd"))
                        .decimal_len(10, 2)
                        .not_null()
                        .default(0)
                        .take(),
                ],
            )
            .foreign_key(&mut fk(
                "ai_daily_budgets",
                "model_config_id",
                "ai_model_configs",
                Cascade,
            ))
            .index(
                Index::create()
                    .name("uq_ai_daily_budgets_model_config_id_budget_date")
                    .unique()
                    .col(name("model_config_id"))
                    .col(name("budget_date")),
            )
            .take(),
            // The audit trail: no foreign keys, it outlives the rows it tells of.
            {
                let mut t = Table::create();
                t.table(name("audit_logs"))
                    .col(c.id())
                    .col(uuid_null("actor_id"))
                    .col(text_null("actor_role"))
                    .col(enumeration("audit_logs", "action", false, None))
                    .col(text("table_name"))
                    .col(text_null("row_id"))
                    .col(json_null("old_values"))
                    .col(json_null("new_values"))
                    .col(text_null("request_id"))
                    .col(c.now("created_at"));
                t
            },
        ]
    }

    fn indexes() -> Vec<IndexCreateStatement> {
        vec![
            index("community_members", &["user_id"], false),
            index("communities", &["created_by"], false),
            index("vibes", &["community_id", "created_at"], false),
            index("vibes", &["author_id"], false),
            index("vibe_reactions", &["user_id"], false),
            index("vibe_comments", &["vibe_id"], false),
            index("vibe_comments", &["author_id"], false),
            index("connections", &["requester_id"], false),
            index("connections", &["addressee_id"], false),
            index("messages", &["sender_id", "created_at"], false),
            index("messages", &["recipient_id", "created_at"], false),
            index("notifications", &["user_id", "created_at"], false),
            index("practices", &["user_id"], false),
            index("practice_logs", &["practice_id", "logged_on"], false),
            index("practice_logs", &["user_id"], false),
            index("practice_streaks", &["user_id"], false),
            index("ai_model_configs", &["credential_id"], false),
            index("audit_logs", &["actor_id"], false),
            index("audit_logs", &["table_name", "row_id"], false),
        ]
    }
}

/// The unordered pair of a connection is unique: `(a, b)` and `(b, a)` are one connection.
fn connection_pair_index(postgres: bool) -> String {
    let (least, greatest) = if postgres {
        ("LEAST", "GREATEST")
    } else {
        ("min", "max")
    };
    format!(
        "CREATE UNIQUE INDEX uq_connections_pair ON connections \
         ({least}(requester_id, addressee_id), {greatest}(requester_id, addressee_id))"
    )
}

/// `rowgate_changes` (cache invalidation) and `rowgate_rows` (subscription events): the
/// engine's NOTIFY channels for writes made outside the gateway.
fn notify_functions() -> [(&'static str, String); 2] {
    [
        (
            "rowgate_notify_change",
            r#"CREATE OR REPLACE FUNCTION rowgate_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_keys json;
    new_keys json;
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('rowgate_changes', json_build_object('table', TG_TABLE_NAME, 'op', TG_OP)::text);
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT json_object_agg(c, to_jsonb(OLD) -> c) INTO old_keys FROM unnest(TG_ARGV) AS c;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT json_object_agg(c, to_jsonb(NEW) -> c) INTO new_keys FROM unnest(TG_ARGV) AS c;
    END IF;
    PERFORM pg_notify('rowgate_changes', json_build_object(
        'table', TG_TABLE_NAME, 'op', TG_OP, 'old', old_keys, 'new', new_keys)::text);
    RETURN NULL;
END
$$"#
            .to_owned(),
        ),
        (
            "rowgate_notify_row",
            r#"CREATE OR REPLACE FUNCTION rowgate_notify_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_keys json;
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT json_object_agg(c, to_jsonb(OLD) -> c) INTO row_keys FROM unnest(TG_ARGV) AS c;
    ELSE
        SELECT json_object_agg(c, to_jsonb(NEW) -> c) INTO row_keys FROM unnest(TG_ARGV) AS c;
    END IF;
    PERFORM pg_notify('rowgate_rows', json_build_object(
        'table', TG_TABLE_NAME, 'op', TG_OP, 'key', row_keys,
        'origin', current_setting('rowgate.origin', true))::text);
    RETURN NULL;
END
$$"#
            .to_owned(),
        ),
    ]
}

fn arguments(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait::async_trait]
impl MigrationTrait for CreateVibeup {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        for table in Self::tables(Columns { postgres }) {
            manager.create_table(table).await?;
        }
        for index in Self::indexes() {
            manager.create_index(index).await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared(&connection_pair_index(postgres))
            .await?;
        if !postgres {
            return Ok(());
        }
        for (_, function) in notify_functions() {
            db.execute_unprepared(&function).await?;
        }
        for (table, columns) in CACHED {
            db.execute_unprepared(&format!(
                "CREATE TRIGGER rowgate_notify_change_row AFTER INSERT OR UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION rowgate_notify_change({})",
                arguments(columns)
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER rowgate_notify_change_truncate AFTER TRUNCATE ON {table} \
                 FOR EACH STATEMENT EXECUTE FUNCTION rowgate_notify_change()"
            ))
            .await?;
        }
        for (table, columns) in SUBSCRIBABLE {
            db.execute_unprepared(&format!(
                "CREATE TRIGGER rowgate_notify_row AFTER INSERT OR UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION rowgate_notify_row({})",
                arguments(columns)
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES.iter().rev() {
            manager
                .drop_table(Table::drop().table(name(table)).to_owned())
                .await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            let db = manager.get_connection();
            for (function, _) in notify_functions() {
                db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {function}()"))
                    .await?;
            }
        }
        Ok(())
    }
}
