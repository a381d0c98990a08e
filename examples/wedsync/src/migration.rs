//! The schema of WedSync: suppliers (the tenants) and their teams, couples and the
//! consent they give suppliers (`supplier_client_connections`), the master list of core
//! wedding fields and each couple's values for them, suppliers' client records, forms and
//! their responses, notifications, the append-only activity log and the audit trail.
//!
//! One migration, portable between PostgreSQL and SQLite (SeaQuery's schema DSL). What
//! differs per database is only defaults — `gen_random_uuid()` for keys on PostgreSQL (the
//! gateway always sends one anyway), the current time as RFC 3339 text on SQLite — and, on
//! PostgreSQL only, the NOTIFY triggers that tell every gateway instance about writes made
//! outside it (facts of `team_members` and `couples`; rows of the subscribable tables).
//! Enumerations are TEXT with a CHECK constraint built from [`ENUMS`], the single source
//! the API's GraphQL enums also come from.

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    date_null, integer, json_binary, json_binary_null, text, text_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null, uuid, uuid_null,
};
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// Every enumeration of the schema: (table, column, values), stored as TEXT with a CHECK
/// constraint and served as a GraphQL enum.
pub const ENUMS: [(&str, &str, &[&str]); 10] = [
    (
        "suppliers",
        "business_type",
        &[
            "photographer",
            "videographer",
            "venue",
            "caterer",
            "florist",
            "planner",
            "music",
            "other",
        ],
    ),
    ("team_members", "role", &["owner", "admin", "member"]),
    (
        "clients",
        "status",
        &["lead", "booked", "completed", "archived"],
    ),
    (
        "supplier_client_connections",
        "status",
        &["pending", "active", "revoked"],
    ),
    (
        "core_fields",
        "field_type",
        &["text", "date", "time", "number", "email", "phone", "select"],
    ),
    (
        "core_field_values",
        "status",
        &["completed", "partial", "pending", "not_applicable"],
    ),
    ("forms", "status", &["draft", "published", "archived"]),
    ("form_responses", "status", &["draft", "submitted"]),
    ("audit_log", "action", &["insert", "update", "delete"]),
    (
        "audit_log",
        "actor_role",
        &["anon", "authenticated", "service_role"],
    ),
];

/// The values of the enumeration stored in `table.column`, if it is one.
pub fn enum_values(table: &str, column: &str) -> Option<&'static [&'static str]> {
    ENUMS
        .iter()
        .find(|(t, c, _)| *t == table && *c == column)
        .map(|(_, _, values)| *values)
}

/// Columns with a database default beyond `id`, `created_at` and `updated_at` (which the
/// gateway fills itself): an insert may leave them out.
const DEFAULTS: [(&str, &str); 8] = [
    ("clients", "status"),
    ("core_fields", "sort_order"),
    ("core_field_values", "status"),
    ("forms", "status"),
    ("form_responses", "status"),
    ("form_responses", "answers"),
    ("notifications", "data"),
    ("activities", "metadata"),
];

/// Whether an insert into `table` may leave `column` out.
pub fn has_default(table: &str, column: &str) -> bool {
    matches!(column, "id" | "created_at" | "updated_at")
        || DEFAULTS.iter().any(|(t, c)| *t == table && *c == column)
}

/// Every table, parents before children (dropped in the reverse order).
pub const TABLES: [&str; 12] = [
    "suppliers",
    "team_members",
    "couples",
    "clients",
    "supplier_client_connections",
    "core_fields",
    "core_field_values",
    "forms",
    "form_responses",
    "notifications",
    "activities",
    "audit_log",
];

/// The application's migrations.
#[derive(Debug, Clone, Copy, Default)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateWedsync), Box::new(ChangeNotifications)]
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Suppliers {
    Table,
    Id,
    Name,
    BusinessType,
    Email,
    Phone,
    Website,
}

#[derive(DeriveIden, Clone, Copy)]
enum TeamMembers {
    Table,
    Id,
    SupplierId,
    UserId,
    Role,
    DisplayName,
    Email,
}

#[derive(DeriveIden, Clone, Copy)]
enum Couples {
    Table,
    Id,
    UserId,
    PartnerOneName,
    PartnerTwoName,
    Email,
    WeddingDate,
}

#[derive(DeriveIden, Clone, Copy)]
enum Clients {
    Table,
    Id,
    SupplierId,
    CoupleId,
    Name,
    Email,
    Phone,
    WeddingDate,
    Status,
    Notes,
}

#[derive(DeriveIden, Clone, Copy)]
enum SupplierClientConnections {
    Table,
    Id,
    SupplierId,
    CoupleId,
    ClientId,
    Status,
    InvitedBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum CoreFields {
    Table,
    Id,
    Key,
    Label,
    FieldType,
    Category,
    SortOrder,
}

#[derive(DeriveIden, Clone, Copy)]
enum CoreFieldValues {
    Table,
    Id,
    CoupleId,
    CoreFieldId,
    Value,
    Status,
}

#[derive(DeriveIden, Clone, Copy)]
enum Forms {
    Table,
    Id,
    SupplierId,
    Title,
    Description,
    FormSchema,
    Status,
    CreatedBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum FormResponses {
    Table,
    Id,
    FormId,
    SupplierId,
    CoupleId,
    Answers,
    Status,
}

#[derive(DeriveIden, Clone, Copy)]
enum Notifications {
    Table,
    Id,
    UserId,
    SupplierId,
    Kind,
    Title,
    Body,
    Data,
    ReadAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Activities {
    Table,
    Id,
    ActorId,
    SupplierId,
    CoupleId,
    Action,
    EntityType,
    EntityId,
    Metadata,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditLog {
    Table,
    Id,
    ActorId,
    ActorRole,
    Action,
    TableName,
    RowId,
    SupplierId,
    OldValues,
    NewValues,
    RequestId,
}

#[derive(DeriveIden, Clone, Copy)]
#[expect(
    clippy::enum_variant_names,
    reason = "the variants are the column names, which all end in _at"
)]
enum Common {
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

/// SQLite's default for timestamps: the current UTC time as RFC 3339 text with the offset
/// spelled `+00:00`, the shape the gateway writes, so both sort alike.
const SQLITE_NOW: &str = "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')";

/// Backend-aware builders for what every table has.
#[derive(Clone, Copy)]
struct Conventions {
    postgres: bool,
}

impl Conventions {
    fn now(self) -> Expr {
        if self.postgres {
            Expr::current_timestamp()
        } else {
            Expr::cust(SQLITE_NOW)
        }
    }

    /// `id UUID PRIMARY KEY` (`gen_random_uuid()` by default on PostgreSQL).
    fn id<C: IntoIden>(self, column: C) -> ColumnDef {
        let mut def = uuid(column);
        def.primary_key();
        if self.postgres {
            def.default(Expr::cust("gen_random_uuid()"));
        }
        def
    }

    /// `TIMESTAMPTZ NOT NULL DEFAULT now`.
    fn timestamp_now<C: IntoIden>(self, column: C) -> ColumnDef {
        timestamp_with_time_zone(column).default(self.now()).take()
    }

    /// A JSON object, `NOT NULL DEFAULT {}`.
    fn json_object<C: IntoIden>(self, column: C) -> ColumnDef {
        let default = if self.postgres {
            Expr::cust("'{}'::jsonb")
        } else {
            Expr::val("{}")
        };
        json_binary(column).default(default).take()
    }

    /// A table with its key, and `created_at` / `updated_at` appended by [`Self::finish`].
    fn table<T: IntoIden + Copy, C: IntoIden>(self, table: T, id: C) -> TableCreateStatement {
        Table::create().table(table).col(self.id(id)).take()
    }

    /// Appends `created_at`, `updated_at` (and `deleted_at` for soft-delete tables).
    fn finish(self, mut table: TableCreateStatement, soft_delete: bool) -> TableCreateStatement {
        table
            .col(self.timestamp_now(Common::CreatedAt))
            .col(self.timestamp_now(Common::UpdatedAt));
        if soft_delete {
            table.col(timestamp_with_time_zone_null(Common::DeletedAt));
        }
        table
    }
}

/// `CONSTRAINT ck_<table>_<column> CHECK (column IN (…))` from [`ENUMS`].
fn enum_check<C: IntoIden + Copy>(table: &str, column: C) -> Check {
    let name = column.into_iden().to_string();
    let values = enum_values(table, &name).unwrap_or_default();
    Check::named(
        format!("ck_{table}_{name}"),
        Expr::col(column).is_in(values.iter().copied()),
    )
}

/// A text column holding one of its enumeration's values.
fn enum_text<C: IntoIden>(column: C, default: Option<&'static str>) -> ColumnDef {
    let mut def = text(column);
    if let Some(value) = default {
        def.default(value);
    }
    def
}

fn foreign_key<T, C, P, K>(
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

/// `idx_<table>_<suffix>` on `table`.
fn index<T: IntoIden + Copy>(table: T, suffix: &str) -> IndexCreateStatement {
    Index::create()
        .name(format!("idx_{}_{suffix}", table.into_iden()))
        .table(table)
        .take()
}

/// A named UNIQUE constraint `uq_<table>_<suffix>` (a constraint, so the generated entities
/// see it).
fn unique<T: IntoIden>(table: T, suffix: &str) -> IndexCreateStatement {
    Index::create()
        .name(format!("uq_{}_{suffix}", table.into_iden()))
        .unique()
        .take()
}

struct CreateWedsync;

impl MigrationName for CreateWedsync {
    fn name(&self) -> &str {
        "m20260101_000001_create_wedsync"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateWedsync {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Conventions {
            postgres: manager.get_database_backend() == DbBackend::Postgres,
        };
        use ForeignKeyAction::{Cascade, SetNull};

        // suppliers: the tenants. Hard-deleted by their owner (everything of theirs goes
        // with them).
        manager
            .create_table(
                c.finish(
                    c.table(Suppliers::Table, Suppliers::Id)
                        .col(text(Suppliers::Name))
                        .col(enum_text(Suppliers::BusinessType, None))
                        .col(text_null(Suppliers::Email))
                        .col(text_null(Suppliers::Phone))
                        .col(text_null(Suppliers::Website))
                        .check(enum_check("suppliers", Suppliers::BusinessType))
                        .take(),
                    false,
                ),
            )
            .await?;

        // team_members: a supplier's staff; `user_id` is the token's `sub`.
        manager
            .create_table(
                c.finish(
                    c.table(TeamMembers::Table, TeamMembers::Id)
                        .col(uuid(TeamMembers::SupplierId))
                        .col(uuid(TeamMembers::UserId))
                        .col(enum_text(TeamMembers::Role, None))
                        .col(text(TeamMembers::DisplayName))
                        .col(text_null(TeamMembers::Email))
                        .foreign_key(&mut foreign_key(
                            TeamMembers::Table,
                            TeamMembers::SupplierId,
                            Suppliers::Table,
                            Suppliers::Id,
                            Cascade,
                        ))
                        .index(
                            unique(TeamMembers::Table, "supplier_id_user_id")
                                .col(TeamMembers::SupplierId)
                                .col(TeamMembers::UserId),
                        )
                        .check(enum_check("team_members", TeamMembers::Role))
                        .take(),
                    false,
                ),
            )
            .await?;
        manager
            .create_index(
                index(TeamMembers::Table, "user_id")
                    .col(TeamMembers::UserId)
                    .take(),
            )
            .await?;

        // couples: one account per signed-in user.
        manager
            .create_table(
                c.finish(
                    c.table(Couples::Table, Couples::Id)
                        .col(uuid(Couples::UserId))
                        .col(text(Couples::PartnerOneName))
                        .col(text_null(Couples::PartnerTwoName))
                        .col(text_null(Couples::Email))
                        .col(date_null(Couples::WeddingDate))
                        .index(unique(Couples::Table, "user_id").col(Couples::UserId))
                        .take(),
                    false,
                ),
            )
            .await?;

        // clients: a supplier's own CRM records, optionally linked to a couple's account.
        manager
            .create_table(
                c.finish(
                    c.table(Clients::Table, Clients::Id)
                        .col(uuid(Clients::SupplierId))
                        .col(uuid_null(Clients::CoupleId))
                        .col(text(Clients::Name))
                        .col(text_null(Clients::Email))
                        .col(text_null(Clients::Phone))
                        .col(date_null(Clients::WeddingDate))
                        .col(enum_text(Clients::Status, Some("lead")))
                        .col(text_null(Clients::Notes))
                        .foreign_key(&mut foreign_key(
                            Clients::Table,
                            Clients::SupplierId,
                            Suppliers::Table,
                            Suppliers::Id,
                            Cascade,
                        ))
                        .foreign_key(&mut foreign_key(
                            Clients::Table,
                            Clients::CoupleId,
                            Couples::Table,
                            Couples::Id,
                            SetNull,
                        ))
                        .check(enum_check("clients", Clients::Status))
                        .take(),
                    true,
                ),
            )
            .await?;
        for (suffix, column) in [
            ("supplier_id", Clients::SupplierId),
            ("couple_id", Clients::CoupleId),
        ] {
            manager
                .create_index(index(Clients::Table, suffix).col(column).take())
                .await?;
        }

        // supplier_client_connections: the couple's consent, one row per supplier and
        // couple.
        manager
            .create_table(
                c.finish(
                    c.table(
                        SupplierClientConnections::Table,
                        SupplierClientConnections::Id,
                    )
                    .col(uuid(SupplierClientConnections::SupplierId))
                    .col(uuid(SupplierClientConnections::CoupleId))
                    .col(uuid_null(SupplierClientConnections::ClientId))
                    .col(enum_text(SupplierClientConnections::Status, None))
                    .col(uuid(SupplierClientConnections::InvitedBy))
                    .foreign_key(&mut foreign_key(
                        SupplierClientConnections::Table,
                        SupplierClientConnections::SupplierId,
                        Suppliers::Table,
                        Suppliers::Id,
                        Cascade,
                    ))
                    .foreign_key(&mut foreign_key(
                        SupplierClientConnections::Table,
                        SupplierClientConnections::CoupleId,
                        Couples::Table,
                        Couples::Id,
                        Cascade,
                    ))
                    .foreign_key(&mut foreign_key(
                        SupplierClientConnections::Table,
                        SupplierClientConnections::ClientId,
                        Clients::Table,
                        Clients::Id,
                        SetNull,
                    ))
                    .index(
                        unique(SupplierClientConnections::Table, "supplier_id_couple_id")
                            .col(SupplierClientConnections::SupplierId)
                            .col(SupplierClientConnections::CoupleId),
                    )
                    .check(enum_check(
                        "supplier_client_connections",
                        SupplierClientConnections::Status,
                    ))
                    .take(),
                    false,
                ),
            )
            .await?;
        // The consent check of every read of a couple's values: by couple, then status.
        manager
            .create_index(
                index(SupplierClientConnections::Table, "couple_id_status")
                    .col(SupplierClientConnections::CoupleId)
                    .col(SupplierClientConnections::Status)
                    .take(),
            )
            .await?;
        manager
            .create_index(
                index(SupplierClientConnections::Table, "client_id")
                    .col(SupplierClientConnections::ClientId)
                    .take(),
            )
            .await?;

        // core_fields: the master list, written by the service role only.
        manager
            .create_table(
                c.finish(
                    c.table(CoreFields::Table, CoreFields::Id)
                        .col(text(CoreFields::Key))
                        .col(text(CoreFields::Label))
                        .col(enum_text(CoreFields::FieldType, None))
                        .col(text(CoreFields::Category))
                        .col(integer(CoreFields::SortOrder).default(0))
                        .index(unique(CoreFields::Table, "key").col(CoreFields::Key))
                        .check(enum_check("core_fields", CoreFields::FieldType))
                        .take(),
                    false,
                ),
            )
            .await?;

        // core_field_values: a couple's wedding details, one per couple and field.
        manager
            .create_table(
                c.finish(
                    c.table(CoreFieldValues::Table, CoreFieldValues::Id)
                        .col(uuid(CoreFieldValues::CoupleId))
                        .col(uuid(CoreFieldValues::CoreFieldId))
                        .col(json_binary_null(CoreFieldValues::Value))
                        .col(enum_text(CoreFieldValues::Status, Some("pending")))
                        .foreign_key(&mut foreign_key(
                            CoreFieldValues::Table,
                            CoreFieldValues::CoupleId,
                            Couples::Table,
                            Couples::Id,
                            Cascade,
                        ))
                        .foreign_key(&mut foreign_key(
                            CoreFieldValues::Table,
                            CoreFieldValues::CoreFieldId,
                            CoreFields::Table,
                            CoreFields::Id,
                            Cascade,
                        ))
                        .index(
                            unique(CoreFieldValues::Table, "couple_id_core_field_id")
                                .col(CoreFieldValues::CoupleId)
                                .col(CoreFieldValues::CoreFieldId),
                        )
                        .check(enum_check("core_field_values", CoreFieldValues::Status))
                        .take(),
                    false,
                ),
            )
            .await?;
        manager
            .create_index(
                index(CoreFieldValues::Table, "core_field_id")
                    .col(CoreFieldValues::CoreFieldId)
                    .take(),
            )
            .await?;

        // forms: a supplier's templates (soft-deleted).
        manager
            .create_table(
                c.finish(
                    c.table(Forms::Table, Forms::Id)
                        .col(uuid(Forms::SupplierId))
                        .col(text(Forms::Title))
                        .col(text_null(Forms::Description))
                        .col(json_binary(Forms::FormSchema))
                        .col(enum_text(Forms::Status, Some("draft")))
                        .col(uuid(Forms::CreatedBy))
                        .foreign_key(&mut foreign_key(
                            Forms::Table,
                            Forms::SupplierId,
                            Suppliers::Table,
                            Suppliers::Id,
                            Cascade,
                        ))
                        .check(enum_check("forms", Forms::Status))
                        .take(),
                    true,
                ),
            )
            .await?;
        manager
            .create_index(
                index(Forms::Table, "supplier_id_status")
                    .col(Forms::SupplierId)
                    .col(Forms::Status)
                    .take(),
            )
            .await?;

        // form_responses: a couple's answers to one form; `supplier_id` is the form's
        // (set by the gateway), so the supplier's team is found without a join.
        manager
            .create_table(
                c.finish(
                    c.table(FormResponses::Table, FormResponses::Id)
                        .col(uuid(FormResponses::FormId))
                        .col(uuid(FormResponses::SupplierId))
                        .col(uuid(FormResponses::CoupleId))
                        .col(c.json_object(FormResponses::Answers))
                        .col(enum_text(FormResponses::Status, Some("draft")))
                        .foreign_key(&mut foreign_key(
                            FormResponses::Table,
                            FormResponses::FormId,
                            Forms::Table,
                            Forms::Id,
                            Cascade,
                        ))
                        .foreign_key(&mut foreign_key(
                            FormResponses::Table,
                            FormResponses::SupplierId,
                            Suppliers::Table,
                            Suppliers::Id,
                            Cascade,
                        ))
                        .foreign_key(&mut foreign_key(
                            FormResponses::Table,
                            FormResponses::CoupleId,
                            Couples::Table,
                            Couples::Id,
                            Cascade,
                        ))
                        .index(
                            unique(FormResponses::Table, "form_id_couple_id")
                                .col(FormResponses::FormId)
                                .col(FormResponses::CoupleId),
                        )
                        .check(enum_check("form_responses", FormResponses::Status))
                        .take(),
                    false,
                ),
            )
            .await?;
        for (suffix, column) in [
            ("supplier_id", FormResponses::SupplierId),
            ("couple_id", FormResponses::CoupleId),
        ] {
            manager
                .create_index(index(FormResponses::Table, suffix).col(column).take())
                .await?;
        }

        // notifications: one user's; written by the service role and the gateway's hooks.
        manager
            .create_table(
                c.finish(
                    c.table(Notifications::Table, Notifications::Id)
                        .col(uuid(Notifications::UserId))
                        .col(uuid_null(Notifications::SupplierId))
                        .col(text(Notifications::Kind))
                        .col(text(Notifications::Title))
                        .col(text_null(Notifications::Body))
                        .col(c.json_object(Notifications::Data))
                        .col(timestamp_with_time_zone_null(Notifications::ReadAt))
                        .foreign_key(&mut foreign_key(
                            Notifications::Table,
                            Notifications::SupplierId,
                            Suppliers::Table,
                            Suppliers::Id,
                            Cascade,
                        ))
                        .take(),
                    false,
                ),
            )
            .await?;
        manager
            .create_index(
                index(Notifications::Table, "user_id")
                    .col(Notifications::UserId)
                    .take(),
            )
            .await?;

        // activities: append-only; about a supplier, a couple, or both.
        manager
            .create_table(
                c.table(Activities::Table, Activities::Id)
                    .col(uuid_null(Activities::ActorId))
                    .col(uuid_null(Activities::SupplierId))
                    .col(uuid_null(Activities::CoupleId))
                    .col(text(Activities::Action))
                    .col(text_null(Activities::EntityType))
                    .col(uuid_null(Activities::EntityId))
                    .col(c.json_object(Activities::Metadata))
                    .col(c.timestamp_now(Common::CreatedAt))
                    .foreign_key(&mut foreign_key(
                        Activities::Table,
                        Activities::SupplierId,
                        Suppliers::Table,
                        Suppliers::Id,
                        Cascade,
                    ))
                    .foreign_key(&mut foreign_key(
                        Activities::Table,
                        Activities::CoupleId,
                        Couples::Table,
                        Couples::Id,
                        Cascade,
                    ))
                    .check(Check::named(
                        "ck_activities_about",
                        Expr::col(Activities::SupplierId)
                            .is_not_null()
                            .or(Expr::col(Activities::CoupleId).is_not_null()),
                    ))
                    .take(),
            )
            .await?;
        for (suffix, column) in [
            ("supplier_id", Activities::SupplierId),
            ("couple_id", Activities::CoupleId),
            ("actor_id", Activities::ActorId),
        ] {
            manager
                .create_index(index(Activities::Table, suffix).col(column).take())
                .await?;
        }

        // audit_log: written by the gateway in the transaction of every write. No foreign
        // keys: the trail outlives the rows it tells of.
        manager
            .create_table(
                c.table(AuditLog::Table, AuditLog::Id)
                    .col(uuid_null(AuditLog::ActorId))
                    .col(enum_text(AuditLog::ActorRole, None))
                    .col(enum_text(AuditLog::Action, None))
                    .col(text(AuditLog::TableName))
                    .col(uuid(AuditLog::RowId))
                    .col(uuid_null(AuditLog::SupplierId))
                    .col(json_binary_null(AuditLog::OldValues))
                    .col(json_binary_null(AuditLog::NewValues))
                    .col(text_null(AuditLog::RequestId))
                    .col(c.timestamp_now(Common::CreatedAt))
                    .check(enum_check("audit_log", AuditLog::Action))
                    .check(enum_check("audit_log", AuditLog::ActorRole))
                    .take(),
            )
            .await?;
        for (suffix, columns) in [
            (
                "table_name_row_id",
                vec![AuditLog::TableName, AuditLog::RowId],
            ),
            ("supplier_id", vec![AuditLog::SupplierId]),
            ("actor_id", vec![AuditLog::ActorId]),
        ] {
            let mut statement = index(AuditLog::Table, suffix);
            for column in columns {
                statement.col(column);
            }
            manager.create_index(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES.iter().rev() {
            manager
                .drop_table(Table::drop().table(Alias::new(*table)).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Tables whose rows the gateway caches facts of, with the columns naming cache entries.
const FACT_TABLES: [(&str, &[&str]); 2] = [
    ("team_members", &["supplier_id", "user_id"]),
    ("couples", &["id", "user_id"]),
];

/// The subscribable tables (each keyed by `id`).
const REALTIME_TABLES: [&str; 3] = ["core_field_values", "form_responses", "notifications"];

const CHANGE_FUNCTION: &str = "rowgate_notify_change";
const ROW_FUNCTION: &str = "rowgate_notify_row";

fn change_function() -> String {
    format!(
        r#"CREATE OR REPLACE FUNCTION {CHANGE_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
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
    )
}

fn row_function() -> String {
    format!(
        r#"CREATE OR REPLACE FUNCTION {ROW_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
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
    )
}

/// PostgreSQL only (nothing on SQLite, where one process serves the database): triggers
/// that tell every gateway instance about writes made outside the gateway — a changed team
/// membership or couple account invalidates the cached facts at once (`rowgate_changes`),
/// and a changed row of a subscribable table becomes a change event (`rowgate_rows`).
/// Triggers change no table, so the generated entities are unaffected.
struct ChangeNotifications;

impl MigrationName for ChangeNotifications {
    fn name(&self) -> &str {
        "m20260101_000002_change_notifications"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ChangeNotifications {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(&change_function()).await?;
        db.execute_unprepared(&row_function()).await?;
        let arguments = |columns: &[&str]| {
            columns
                .iter()
                .map(|c| format!("'{c}'"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for (table, columns) in FACT_TABLES {
            let arguments = arguments(columns);
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {CHANGE_FUNCTION}_row AFTER INSERT OR UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION {CHANGE_FUNCTION}({arguments})"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {CHANGE_FUNCTION}_truncate AFTER TRUNCATE ON {table} \
                 FOR EACH STATEMENT EXECUTE FUNCTION {CHANGE_FUNCTION}()"
            ))
            .await?;
        }
        for table in REALTIME_TABLES {
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {ROW_FUNCTION} AFTER INSERT OR UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION {ROW_FUNCTION}('id')"
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
        for (table, _) in FACT_TABLES {
            for suffix in ["row", "truncate"] {
                db.execute_unprepared(&format!(
                    "DROP TRIGGER IF EXISTS {CHANGE_FUNCTION}_{suffix} ON {table}"
                ))
                .await?;
            }
        }
        for table in REALTIME_TABLES {
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {ROW_FUNCTION} ON {table}"))
                .await?;
        }
        db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {CHANGE_FUNCTION}()"))
            .await?;
        db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {ROW_FUNCTION}()"))
            .await?;
        Ok(())
    }
}
