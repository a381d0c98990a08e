//! Builders for the conventions every table follows (schema.md, "Conventions for every
//! table"), written once so that each migration states only what is particular to its tables.
//!
//! Everything here produces sea-query schema statements, which render to valid DDL on both
//! PostgreSQL and SQLite. The only backend-specific parts are column defaults, chosen from
//! [`SchemaManager::get_database_backend`].

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// SQLite default for timestamp columns: the current UTC time as RFC 3339 text with
/// millisecond precision and the offset spelled `+00:00`.
///
/// This is the shape sqlx writes for a bound `DateTime<FixedOffset>` in UTC, so rows written
/// by the database and rows written by the gateway sort the same way as text and as time, and
/// chrono's `DateTime<FixedOffset>` decodes both.
const SQLITE_NOW: &str = "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')";

/// Backend-aware column builders. Built once per migration from its [`SchemaManager`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Conventions {
    backend: DbBackend,
}

impl Conventions {
    pub(crate) fn of(manager: &SchemaManager<'_>) -> Self {
        Self {
            backend: manager.get_database_backend(),
        }
    }

    fn is_postgres(self) -> bool {
        self.backend == DbBackend::Postgres
    }

    /// The current time as a column default.
    fn now(self) -> Expr {
        if self.is_postgres() {
            Expr::current_timestamp()
        } else {
            Expr::cust(SQLITE_NOW)
        }
    }

    /// `id UUID PRIMARY KEY`. PostgreSQL fills it with `gen_random_uuid()` when the insert
    /// leaves it out; on SQLite there is no database default and the gateway always sends one.
    pub(crate) fn id<C: IntoIden>(self, column: C) -> ColumnDef {
        let mut def = ColumnDef::new(column);
        def.uuid().not_null().primary_key();
        if self.is_postgres() {
            def.default(Expr::cust("gen_random_uuid()"));
        }
        def
    }

    /// `TIMESTAMPTZ NOT NULL DEFAULT now()`, for `created_at` and `updated_at`.
    pub(crate) fn timestamp_now<C: IntoIden>(self, column: C) -> ColumnDef {
        ColumnDef::new(column)
            .timestamp_with_time_zone()
            .not_null()
            .default(self.now())
            .take()
    }

    /// A JSON object column, `NOT NULL DEFAULT {}`.
    pub(crate) fn json_object<C: IntoIden>(self, column: C) -> ColumnDef {
        let default = if self.is_postgres() {
            Expr::cust("'{}'::jsonb")
        } else {
            Expr::val("{}")
        };
        json(column).default(default).take()
    }

    /// Appends `created_at` and `updated_at` to a table.
    pub(crate) fn timestamps(self, table: &mut TableCreateStatement) -> &mut TableCreateStatement {
        table
            .col(self.timestamp_now(Common::CreatedAt))
            .col(self.timestamp_now(Common::UpdatedAt))
    }

    /// Appends `created_at`, `updated_at` and the soft-delete marker `deleted_at`.
    pub(crate) fn timestamps_soft_delete(
        self,
        table: &mut TableCreateStatement,
    ) -> &mut TableCreateStatement {
        self.timestamps(table)
            .col(timestamp_null(Common::DeletedAt))
    }
}

/// Columns every table (or every soft-delete table) has under the same name.
#[derive(DeriveIden, Clone, Copy)]
#[expect(
    clippy::enum_variant_names,
    reason = "the variants are the column names, which all end in _at"
)]
pub(crate) enum Common {
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

/// `UUID NOT NULL`.
pub(crate) fn uuid<C: IntoIden>(column: C) -> ColumnDef {
    ColumnDef::new(column).uuid().not_null().take()
}

/// `UUID NULL`.
pub(crate) fn uuid_null<C: IntoIden>(column: C) -> ColumnDef {
    ColumnDef::new(column).uuid().null().take()
}

/// `TEXT NOT NULL`.
pub(crate) fn text<C: IntoIden>(column: C) -> ColumnDef {
    ColumnDef::new(column).text().not_null().take()
}

/// `TEXT NULL`.
pub(crate) fn text_null<C: IntoIden>(column: C) -> ColumnDef {
    ColumnDef::new(column).text().null().take()
}

/// `BOOLEAN NOT NULL`.
pub(crate) fn boolean<C: IntoIden>(column: C) -> ColumnDef {
    ColumnDef::new(column).boolean().not_null().take()
}

/// `JSONB NOT NULL` (JSON text on SQLite).
pub(crate) fn json<C: IntoIden>(column: C) -> ColumnDef {
    ColumnDef::new(column).json_binary().not_null().take()
}

/// `JSONB NULL` (JSON text on SQLite).
pub(crate) fn json_null<C: IntoIden>(column: C) -> ColumnDef {
    ColumnDef::new(column).json_binary().null().take()
}

/// `TIMESTAMPTZ NULL`.
pub(crate) fn timestamp_null<C: IntoIden>(column: C) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .null()
        .take()
}

/// An enumeration stored as text: `CONSTRAINT ck_<table>_<column> CHECK (column IN (...))`.
pub(crate) fn enum_check<C>(table: &str, column: C) -> Check
where
    C: IntoIden + Copy,
{
    let column_name = column.into_iden().to_string();
    let values = crate::enum_values(table, &column_name).unwrap_or_default();
    debug_assert!(!values.is_empty(), "{table}.{column_name} is not in ENUMS");
    let name = format!("ck_{table}_{column_name}");
    Check::named(name, Expr::col(column).is_in(values.iter().copied()))
}

/// A named CHECK constraint: `ck_<table>_<what>`.
pub(crate) fn check<E: Into<Expr>>(table: &str, what: &str, expr: E) -> Check {
    Check::named(format!("ck_{table}_{what}"), expr)
}

/// A foreign key `fk_<table>_<column>` from `table.column` to `parent.key`. (SQLite keeps
/// foreign keys unnamed: its errors say `FOREIGN KEY constraint failed` without a name.)
pub(crate) fn foreign_key<T, C, P, K>(
    table: T,
    column: C,
    parent: P,
    key: K,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement
where
    T: IntoIden + Copy,
    C: IntoIden + Copy,
    P: IntoIden,
    K: IntoIden,
{
    ForeignKey::create()
        .name(format!("fk_{}_{}", table.into_iden(), column.into_iden()))
        .from(table, column)
        .to(parent, key)
        .on_delete(on_delete)
        .take()
}

/// An index named `idx_<table>_<suffix>` on `table`; add columns (and a WHERE for a partial
/// index) on the result.
pub(crate) fn index<T: IntoIden + Copy>(table: T, suffix: &str) -> IndexCreateStatement {
    Index::create()
        .name(format!("idx_{}_{suffix}", table.into_iden()))
        .table(table)
        .take()
}

/// A named UNIQUE table constraint `uq_<table>_<suffix>`; add its columns on the result.
///
/// A constraint (not a bare unique index) so that schema discovery, and with it the generated
/// entities, sees it.
pub(crate) fn unique<T: IntoIden>(table: T, suffix: &str) -> IndexCreateStatement {
    Index::create()
        .name(format!("uq_{}_{suffix}", table.into_iden()))
        .unique()
        .take()
}

/// A named composite PRIMARY KEY constraint `pk_<table>`; add its columns on the result.
pub(crate) fn primary_key<T: IntoIden>(table: T) -> IndexCreateStatement {
    Index::create()
        .name(format!("pk_{}", table.into_iden()))
        .primary()
        .take()
}

/// `(column, DESC)` index column, for list orderings by `created_at DESC`.
pub(crate) fn desc<C: IntoIden>(column: C) -> (C, IndexOrder) {
    (column, IndexOrder::Desc)
}

/// Creates every index of a table, in order.
pub(crate) async fn create_indexes(
    manager: &SchemaManager<'_>,
    indexes: Vec<IndexCreateStatement>,
) -> Result<(), DbErr> {
    for index in indexes {
        manager.create_index(index).await?;
    }
    Ok(())
}

/// Drops tables in the given order (children before parents).
pub(crate) async fn drop_tables(
    manager: &SchemaManager<'_>,
    tables: &[&'static str],
) -> Result<(), DbErr> {
    for &table in tables {
        manager
            .drop_table(Table::drop().table(table).to_owned())
            .await?;
    }
    Ok(())
}
