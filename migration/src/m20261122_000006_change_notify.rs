//! Change notifications for the cache (PostgreSQL only): a trigger on each table whose rows
//! the gateway caches facts of sends `NOTIFY rowgate_changes` with
//! `{"table", "op", "old", "new"}`, where `old`/`new` hold the row's key columns (the
//! columns that name cache entries) before and after. A TRUNCATE sends `{"table", "op"}`.
//!
//! Every gateway instance LISTENs, so writes made outside the gateway (psql, other
//! services, cascades) invalidate the caches at once instead of when their TTL runs out.
//! NOTIFY is delivered at commit, and never for a transaction that rolled back.
//!
//! Triggers change no table, so the generated entities are unaffected. On SQLite `up` and
//! `down` do nothing: it has no NOTIFY, and there the TTL bounds outside writes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The channel the triggers notify (the gateway's cache listens on it).
pub const CHANNEL: &str = "rowgate_changes";

const FUNCTION: &str = "rowgate_notify_change";

/// Each table with the columns its notifications carry.
const TABLES: [(&str, &[&str]); 6] = [
    ("feature_flags", &["id", "key", "tenant_id"]),
    ("system_config", &["key"]),
    ("tenants", &["id", "subdomain"]),
    ("tenant_members", &["tenant_id", "user_id"]),
    ("user_roles", &["user_id", "role"]),
    ("blocks", &["blocker_id", "blocked_id"]),
];

fn function_sql() -> String {
    format!(
        r#"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_keys json;
    new_keys json;
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('{CHANNEL}', json_build_object('table', TG_TABLE_NAME, 'op', TG_OP)::text);
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT json_object_agg(c, to_jsonb(OLD) -> c) INTO old_keys FROM unnest(TG_ARGV) AS c;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT json_object_agg(c, to_jsonb(NEW) -> c) INTO new_keys FROM unnest(TG_ARGV) AS c;
    END IF;
    PERFORM pg_notify('{CHANNEL}', json_build_object(
        'table', TG_TABLE_NAME, 'op', TG_OP, 'old', old_keys, 'new', new_keys)::text);
    RETURN NULL;
END
$$"#
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(&function_sql()).await?;
        for (table, columns) in TABLES {
            let arguments = columns
                .iter()
                .map(|c| format!("'{c}'"))
                .collect::<Vec<_>>()
                .join(", ");
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {FUNCTION}_row AFTER INSERT OR UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION {FUNCTION}({arguments})"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {FUNCTION}_truncate AFTER TRUNCATE ON {table} \
                 FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for (table, _) in TABLES {
            for suffix in ["row", "truncate"] {
                db.execute_unprepared(&format!(
                    "DROP TRIGGER IF EXISTS {FUNCTION}_{suffix} ON {table}"
                ))
                .await?;
            }
        }
        db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {FUNCTION}()"))
            .await?;
        Ok(())
    }
}
