//! Migrations of the rowgate reference schema (`schema.md`): 22 tables with their keys,
//! foreign keys, CHECK constraints and the indexes the API's policies and orderings use.
//!
//! The same migrations run on PostgreSQL and on SQLite. They are written with the sea-query
//! schema DSL, so column types map per backend (`uuid`/`timestamptz`/`jsonb` on PostgreSQL,
//! sea-orm's text encodings on SQLite); only column defaults differ:
//!
//! | | PostgreSQL | SQLite |
//! |---|---|---|
//! | `id` | `gen_random_uuid()` | none: the gateway always sends one |
//! | `created_at`, `updated_at` | `CURRENT_TIMESTAMP` | RFC 3339 UTC text, `+00:00` offset |
//! | JSON objects | `'{}'::jsonb` | `'{}'` |
//!
//! `updated_at` is not maintained by a trigger: whoever updates a row sets it. The only
//! triggers are PostgreSQL's change notifications for the gateway's cache (the last
//! migration; nothing on SQLite), which change no table.
//!
//! The entities crate is generated from a PostgreSQL database migrated by this crate, so a
//! change here is followed by `scripts/generate-entities.sh`.

mod common;
mod m20261122_000001_identity;
mod m20261122_000002_config;
mod m20261122_000003_community;
mod m20261122_000004_messaging;
mod m20261122_000005_sharing_and_records;
mod m20261122_000006_change_notify;
mod m20261122_000007_row_notify;

pub use m20261122_000006_change_notify::CHANNEL as CHANGE_CHANNEL;
pub use m20261122_000007_row_notify::CHANNEL as ROW_CHANNEL;

pub use sea_orm_migration::MigratorTrait;
use sea_orm_migration::{MigrationTrait, async_trait};

/// Every table the migrations create, in creation order (parents before children).
///
/// Migrating down to zero drops exactly these; only the migration bookkeeping table
/// (`seaql_migrations`) remains.
pub const TABLES: [&str; 22] = [
    // identity and tenancy
    "profiles",
    "tenants",
    "user_roles",
    "tenant_members",
    "user_settings",
    // hot configuration
    "feature_flags",
    "system_config",
    // community
    "communities",
    "community_members",
    "posts",
    "comments",
    "reactions",
    "blocks",
    "user_follows",
    // messaging and notifications
    "conversations",
    "conversation_participants",
    "messages",
    "notifications",
    // sharing by consent, append-only records
    "connections",
    "user_details",
    "audit_logs",
    "analytics_events",
];

/// The enumerations of the schema: (table, column, values). Stored as TEXT with a CHECK
/// constraint built from this list (portable to SQLite); the API exposes each as a GraphQL
/// enum. The single source of both.
pub const ENUMS: [(&str, &str, &[&str]); 9] = [
    ("tenants", "tier", &["free", "pro", "enterprise"]),
    ("user_roles", "role", &["admin", "moderator"]),
    ("tenant_members", "role", &["owner", "admin", "member"]),
    ("communities", "visibility", &["open", "private"]),
    ("community_members", "role", &["moderator", "member"]),
    ("posts", "status", &["draft", "published", "archived"]),
    ("posts", "visibility", &["public", "tenant", "community"]),
    ("connections", "status", &["pending", "active", "revoked"]),
    ("audit_logs", "action", &["insert", "update", "delete"]),
];

/// The values of the enumeration stored in `table.column`, if it is one.
pub fn enum_values(table: &str, column: &str) -> Option<&'static [&'static str]> {
    ENUMS
        .iter()
        .find(|(t, c, _)| *t == table && *c == column)
        .map(|(_, _, values)| *values)
}

/// The columns with a database default beyond the conventions every table follows (`id`,
/// `created_at`, `updated_at`, which the gateway also fills itself): (table, column). An insert
/// may leave them out, so the API does not require them. `tests/migrate.rs` checks this list
/// against the defaults of the migrated databases.
pub const DEFAULTS: [(&str, &str); 7] = [
    ("tenants", "tier"),
    ("tenants", "settings"),
    ("user_settings", "preferences"),
    ("system_config", "is_public"),
    ("feature_flags", "rollout_percent"),
    ("posts", "status"),
    ("posts", "visibility"),
];

/// Whether an insert into `table` may leave `column` out and get a value from the database
/// (or, for the conventional `id`, `created_at` and `updated_at`, from whoever writes).
pub fn has_default(table: &str, column: &str) -> bool {
    matches!(column, "id" | "created_at" | "updated_at")
        || DEFAULTS.iter().any(|(t, c)| *t == table && *c == column)
}

/// The schema's migrations, in order. Run them with [`MigratorTrait::up`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_identity::Migration),
            Box::new(m20261122_000002_config::Migration),
            Box::new(m20261122_000003_community::Migration),
            Box::new(m20261122_000004_messaging::Migration),
            Box::new(m20261122_000005_sharing_and_records::Migration),
            Box::new(m20261122_000006_change_notify::Migration),
            Box::new(m20261122_000007_row_notify::Migration),
        ]
    }
}
