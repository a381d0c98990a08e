//! The schema of VITAL's core: `tenants` (named by subdomain), `profiles`, `personas`,
//! `jtbds` with their `jtbd_desired_outcomes`, `agents`, `ask_expert_sessions` with their
//! `ask_expert_messages`, and `rag_documents` with their `rag_knowledge_chunks`.
//!
//! As the seed document says: every table but `tenants` has `tenant_id`; every table has
//! `created_at`, `updated_at` and `created_by` (a profile); the critical tables are soft
//! deleted (`deleted_at`). Enumerations are TEXT with a CHECK constraint (their values are in
//! [`ENUMS`]), JSON columns are `json`, and the two arrays of `agents` are PostgreSQL arrays
//! (JSON text on SQLite, which has no arrays; the gateway stores them there as JSON). The
//! same migration runs on PostgreSQL and SQLite.

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    array_null, integer, json, json_null, text, text_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null, uuid, uuid_null,
};
use sea_orm_migration::sea_orm::DbBackend;

/// The enumerations stored as text: (table, column, values).
pub const ENUMS: [(&str, &str, &[&str]); 5] = [
    ("tenants", "tier", &["free", "pro", "enterprise"]),
    ("profiles", "role", &["user", "editor", "admin"]),
    ("agents", "status", &["draft", "active", "archived"]),
    (
        "ask_expert_sessions",
        "status",
        &["active", "completed", "archived"],
    ),
    ("ask_expert_messages", "role", &["user", "assistant"]),
];

/// The values of the enumeration stored in `table.column`, if it is one.
pub fn enum_values(table: &str, column: &str) -> Option<&'static [&'static str]> {
    ENUMS
        .iter()
        .find(|(t, c, _)| *t == table && *c == column)
        .map(|(_, _, values)| *values)
}

/// The columns with a database default, beyond `id`, `created_at` and `updated_at` (which
/// the gateway fills itself): an insert may leave them out.
pub const DEFAULTS: [(&str, &str); 10] = [
    ("tenants", "tier"),
    ("tenants", "settings"),
    ("profiles", "role"),
    ("personas", "vpanes_scores"),
    ("agents", "status"),
    ("ask_expert_sessions", "mode"),
    ("ask_expert_sessions", "status"),
    ("ask_expert_messages", "metadata"),
    ("rag_documents", "metadata"),
    ("rag_knowledge_chunks", "metadata"),
];

/// Whether an insert into `table` may leave `column` out.
pub fn has_default(table: &str, column: &str) -> bool {
    matches!(column, "id" | "created_at" | "updated_at")
        || DEFAULTS.iter().any(|(t, c)| *t == table && *c == column)
}

/// Every migration of the application.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateVitalCore)]
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Tenants {
    Table,
    Name,
    Subdomain,
    Tier,
    Settings,
}

#[derive(DeriveIden, Clone, Copy)]
enum Profiles {
    Table,
    Email,
    FullName,
    Role,
}

#[derive(DeriveIden, Clone, Copy)]
enum Personas {
    Table,
    Name,
    RoleTitle,
    VpanesScores,
}

#[derive(DeriveIden, Clone, Copy)]
enum Jtbds {
    Table,
    PersonaId,
    JobStatement,
}

#[derive(DeriveIden, Clone, Copy)]
enum JtbdDesiredOutcomes {
    Table,
    JtbdId,
    OutcomeStatement,
    ImportanceScore,
    SatisfactionScore,
}

#[derive(DeriveIden, Clone, Copy)]
enum Agents {
    Table,
    Name,
    Slug,
    Domain,
    Subdomain,
    Description,
    Capabilities,
    PersonaId,
    JtbdIds,
    SystemPrompt,
    Status,
}

#[derive(DeriveIden, Clone, Copy)]
enum AskExpertSessions {
    Table,
    UserId,
    Mode,
    SelectedAgentId,
    Query,
    Status,
}

#[derive(DeriveIden, Clone, Copy)]
enum AskExpertMessages {
    Table,
    SessionId,
    Role,
    Content,
    Metadata,
}

#[derive(DeriveIden, Clone, Copy)]
enum RagDocuments {
    Table,
    Title,
    Content,
    Metadata,
}

#[derive(DeriveIden, Clone, Copy)]
enum RagKnowledgeChunks {
    Table,
    DocumentId,
    ChunkIndex,
    ChunkText,
    Metadata,
}

/// Columns every table (or every soft-delete, or every tenant-owned table) has.
#[derive(DeriveIden, Clone, Copy)]
enum Common {
    Id,
    TenantId,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

/// What a table has besides its own columns.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `tenants`: its own key is its tenant; `created_by` has no foreign key (profiles
    /// reference tenants, and SQLite cannot add a constraint afterwards).
    Tenants,
    /// A tenant-owned table, hard-deleted.
    Owned,
    /// A tenant-owned table, soft-deleted.
    OwnedSoft,
}

#[derive(DeriveMigrationName)]
struct CreateVitalCore;

/// Builds the statements of one backend.
#[derive(Clone, Copy)]
struct Ddl {
    postgres: bool,
}

impl Ddl {
    /// A JSON object column, `NOT NULL DEFAULT '{}'`.
    fn json_object(self, column: impl IntoIden) -> ColumnDef {
        let default = if self.postgres {
            Expr::cust("'{}'::json")
        } else {
            Expr::val("{}")
        };
        json(column).default(default).take()
    }

    /// A PostgreSQL array (JSON text on SQLite).
    fn array(self, column: impl IntoIden, element: ColumnType) -> ColumnDef {
        if self.postgres {
            array_null(column, element)
        } else {
            json_null(column)
        }
    }

    /// `CREATE TABLE` with the key, the table's own columns, then the columns its kind
    /// adds, and its foreign keys to `tenants` and `profiles`.
    fn table(
        self,
        table: impl IntoIden + Copy,
        kind: Kind,
        columns: Vec<ColumnDef>,
    ) -> TableCreateStatement {
        let mut statement = Table::create();
        statement.table(table).col(uuid(Common::Id).primary_key());
        if kind != Kind::Tenants {
            statement.col(uuid(Common::TenantId));
        }
        for column in columns {
            statement.col(column);
        }
        statement
            .col(uuid_null(Common::CreatedBy))
            .col(timestamp_with_time_zone(Common::CreatedAt))
            .col(timestamp_with_time_zone(Common::UpdatedAt));
        if kind != Kind::Owned {
            statement.col(timestamp_with_time_zone_null(Common::DeletedAt));
        }
        if kind != Kind::Tenants {
            statement
                .foreign_key(&mut foreign_key(
                    table,
                    Common::TenantId,
                    Tenants::Table,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    table,
                    Common::CreatedBy,
                    Profiles::Table,
                    ForeignKeyAction::SetNull,
                ));
        }
        statement.take()
    }
}

/// `fk_<table>_<column>`, from `table.column` to `parent.id`.
fn foreign_key(
    table: impl IntoIden + Copy,
    column: impl IntoIden + Copy,
    parent: impl IntoIden,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{}_{}", table.into_iden(), column.into_iden()))
        .from(table, column)
        .to(parent, Common::Id)
        .on_delete(on_delete)
        .take()
}

/// `CONSTRAINT ck_<table>_<column> CHECK (column IN (…))` for an enumeration of [`ENUMS`].
fn enum_check(table: &str, column: impl IntoIden + Copy) -> Check {
    let name = column.into_iden().to_string();
    let values = enum_values(table, &name).unwrap_or_default();
    Check::named(
        format!("ck_{table}_{name}"),
        Expr::col(column).is_in(values.iter().copied()),
    )
}

/// `CONSTRAINT ck_<table>_<column> CHECK (column BETWEEN low AND high)`.
fn range_check(table: &str, column: impl IntoIden + Copy, low: i32, high: i32) -> Check {
    let name = column.into_iden().to_string();
    Check::named(
        format!("ck_{table}_{name}"),
        Expr::col(column).between(low, high),
    )
}

/// The tables in creation order.
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

/// `idx_<table>_<column>` on each column.
fn indexes(table: &'static str, columns: &[&'static str]) -> Vec<IndexCreateStatement> {
    columns
        .iter()
        .map(|column| {
            Index::create()
                .name(format!("idx_{table}_{column}"))
                .table(Alias::new(table))
                .col(Alias::new(*column))
                .take()
        })
        .collect()
}

#[async_trait::async_trait]
impl MigrationTrait for CreateVitalCore {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ddl = Ddl {
            postgres: manager.get_database_backend() == DbBackend::Postgres,
        };
        let tables = [
            ddl.table(
                Tenants::Table,
                Kind::Tenants,
                vec![
                    text(Tenants::Name),
                    text(Tenants::Subdomain).unique_key().take(),
                    text(Tenants::Tier).default("free").take(),
                    ddl.json_object(Tenants::Settings),
                ],
            )
            .check(enum_check("tenants", Tenants::Tier))
            .take(),
            ddl.table(
                Profiles::Table,
                Kind::OwnedSoft,
                vec![
                    text(Profiles::Email),
                    text(Profiles::FullName),
                    text(Profiles::Role).default("user").take(),
                ],
            )
            .check(enum_check("profiles", Profiles::Role))
            .take(),
            ddl.table(
                Personas::Table,
                Kind::OwnedSoft,
                vec![
                    text(Personas::Name),
                    text_null(Personas::RoleTitle),
                    ddl.json_object(Personas::VpanesScores),
                ],
            ),
            ddl.table(
                Jtbds::Table,
                Kind::OwnedSoft,
                vec![uuid_null(Jtbds::PersonaId), text(Jtbds::JobStatement)],
            )
            .foreign_key(&mut foreign_key(
                Jtbds::Table,
                Jtbds::PersonaId,
                Personas::Table,
                ForeignKeyAction::SetNull,
            ))
            .take(),
            ddl.table(
                JtbdDesiredOutcomes::Table,
                Kind::Owned,
                vec![
                    uuid(JtbdDesiredOutcomes::JtbdId),
                    text(JtbdDesiredOutcomes::OutcomeStatement),
                    integer(JtbdDesiredOutcomes::ImportanceScore),
                    integer(JtbdDesiredOutcomes::SatisfactionScore),
                ],
            )
            .foreign_key(&mut foreign_key(
                JtbdDesiredOutcomes::Table,
                JtbdDesiredOutcomes::JtbdId,
                Jtbds::Table,
                ForeignKeyAction::Cascade,
            ))
            .check(range_check(
                "jtbd_desired_outcomes",
                JtbdDesiredOutcomes::ImportanceScore,
                1,
                10,
            ))
            .check(range_check(
                "jtbd_desired_outcomes",
                JtbdDesiredOutcomes::SatisfactionScore,
                1,
                10,
            ))
            .take(),
            ddl.table(
                Agents::Table,
                Kind::OwnedSoft,
                vec![
                    text(Agents::Name),
                    text(Agents::Slug),
                    text_null(Agents::Domain),
                    text_null(Agents::Subdomain),
                    text_null(Agents::Description),
                    ddl.array(Agents::Capabilities, ColumnType::Text),
                    uuid_null(Agents::PersonaId),
                    ddl.array(Agents::JtbdIds, ColumnType::Uuid),
                    text_null(Agents::SystemPrompt),
                    text(Agents::Status).default("draft").take(),
                ],
            )
            .foreign_key(&mut foreign_key(
                Agents::Table,
                Agents::PersonaId,
                Personas::Table,
                ForeignKeyAction::SetNull,
            ))
            .index(
                &mut Index::create()
                    .name("uq_agents_tenant_id_slug")
                    .col(Common::TenantId)
                    .col(Agents::Slug)
                    .unique()
                    .take(),
            )
            .check(enum_check("agents", Agents::Status))
            .take(),
            ddl.table(
                AskExpertSessions::Table,
                Kind::OwnedSoft,
                vec![
                    uuid(AskExpertSessions::UserId),
                    integer(AskExpertSessions::Mode).default(1).take(),
                    uuid_null(AskExpertSessions::SelectedAgentId),
                    text(AskExpertSessions::Query),
                    text(AskExpertSessions::Status).default("active").take(),
                ],
            )
            .foreign_key(&mut foreign_key(
                AskExpertSessions::Table,
                AskExpertSessions::UserId,
                Profiles::Table,
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut foreign_key(
                AskExpertSessions::Table,
                AskExpertSessions::SelectedAgentId,
                Agents::Table,
                ForeignKeyAction::SetNull,
            ))
            .check(range_check(
                "ask_expert_sessions",
                AskExpertSessions::Mode,
                1,
                4,
            ))
            .check(enum_check("ask_expert_sessions", AskExpertSessions::Status))
            .take(),
            ddl.table(
                AskExpertMessages::Table,
                Kind::Owned,
                vec![
                    uuid(AskExpertMessages::SessionId),
                    text(AskExpertMessages::Role),
                    text(AskExpertMessages::Content),
                    ddl.json_object(AskExpertMessages::Metadata),
                ],
            )
            .foreign_key(&mut foreign_key(
                AskExpertMessages::Table,
                AskExpertMessages::SessionId,
                AskExpertSessions::Table,
                ForeignKeyAction::Cascade,
            ))
            .check(enum_check("ask_expert_messages", AskExpertMessages::Role))
            .take(),
            ddl.table(
                RagDocuments::Table,
                Kind::OwnedSoft,
                vec![
                    text(RagDocuments::Title),
                    text(RagDocuments::Content),
                    ddl.json_object(RagDocuments::Metadata),
                ],
            ),
            ddl.table(
                RagKnowledgeChunks::Table,
                Kind::Owned,
                vec![
                    uuid(RagKnowledgeChunks::DocumentId),
                    integer(RagKnowledgeChunks::ChunkIndex),
                    text(RagKnowledgeChunks::ChunkText),
                    ddl.json_object(RagKnowledgeChunks::Metadata),
                ],
            )
            .foreign_key(&mut foreign_key(
                RagKnowledgeChunks::Table,
                RagKnowledgeChunks::DocumentId,
                RagDocuments::Table,
                ForeignKeyAction::Cascade,
            ))
            .index(
                &mut Index::create()
                    .name("uq_rag_knowledge_chunks_document_id_chunk_index")
                    .col(RagKnowledgeChunks::DocumentId)
                    .col(RagKnowledgeChunks::ChunkIndex)
                    .unique()
                    .take(),
            )
            .take(),
        ];
        for table in tables {
            manager.create_table(table).await?;
        }
        let indexed: [(&'static str, &[&'static str]); 10] = [
            ("tenants", &[]),
            ("profiles", &["tenant_id", "created_by"]),
            ("personas", &["tenant_id", "created_by"]),
            ("jtbds", &["tenant_id", "persona_id", "created_by"]),
            (
                "jtbd_desired_outcomes",
                &["tenant_id", "jtbd_id", "created_by"],
            ),
            (
                "agents",
                &["tenant_id", "persona_id", "status", "created_by"],
            ),
            (
                "ask_expert_sessions",
                &["tenant_id", "user_id", "selected_agent_id", "created_by"],
            ),
            (
                "ask_expert_messages",
                &["tenant_id", "session_id", "created_by"],
            ),
            ("rag_documents", &["tenant_id", "created_by"]),
            ("rag_knowledge_chunks", &["tenant_id", "created_by"]),
        ];
        for (table, columns) in indexed {
            for index in indexes(table, columns) {
                manager.create_index(index).await?;
            }
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
