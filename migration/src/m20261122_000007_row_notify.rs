//! Row notifications for subscriptions (PostgreSQL only): a trigger on each subscribable
//! table sends `NOTIFY rowgate_rows` with `{"table", "op", "key", "origin"}` — the row's
//! primary key, and `origin` = the session's `rowgate.origin` setting, which the gateway sets
//! to `gateway` in its own write transactions. Gateway instances LISTEN and turn the writes
//! made outside the gateway (psql, other services) into change events; their own writes
//! already travel on the change bus. NOTIFY is delivered at commit, never on rollback.
//!
//! Triggers change no table, so the generated entities are unaffected. On SQLite `up` and
//! `down` do nothing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The channel the triggers notify (the gateway's subscriptions listen on it).
pub const CHANNEL: &str = "rowgate_rows";

const FUNCTION: &str = "rowgate_notify_row";

/// Each subscribable table with its primary-key columns.
const TABLES: [(&str, &[&str]); 7] = [
    ("posts", &["id"]),
    ("comments", &["id"]),
    ("reactions", &["post_id", "user_id", "emoji"]),
    ("messages", &["id"]),
    ("notifications", &["id"]),
    ("feature_flags", &["id"]),
    ("profiles", &["id"]),
];

fn function_sql() -> String {
    format!(
        r#"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_keys json;
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT json_object_agg(c, to_jsonb(OLD) -> c) INTO row_keys FROM unnest(TG_ARGV) AS c;
    ELSE
        SELECT json_object_agg(c, to_jsonb(NEW) -> c) INTO row_keys FROM unnest(TG_ARGV) AS c;
    END IF;
    PERFORM pg_notify('{CHANNEL}', json_build_object(
        'table', TG_TABLE_NAME, 'op', TG_OP, 'key', row_keys,
        'origin', current_setting('rowgate.origin', true))::text);
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
                "CREATE TRIGGER {FUNCTION} AFTER INSERT OR UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION {FUNCTION}({arguments})"
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
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {FUNCTION} ON {table}"))
                .await?;
        }
        db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {FUNCTION}()"))
            .await?;
        Ok(())
    }
}
