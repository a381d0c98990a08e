//! Cross-tenant sharing by consent (`connections`, `user_details`) and the append-only records
//! (`audit_logs`, `analytics_events`).

use sea_orm_migration::prelude::*;

use crate::common::{
    Common, Conventions, create_indexes, desc, drop_tables, enum_check, foreign_key, index, json,
    json_null, primary_key, text, text_null, uuid, uuid_null,
};
use crate::m20261122_000001_identity::{Profiles, Tenants};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Connections {
    Table,
    TenantId,
    UserId,
    Status,
    InitiatedBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserDetails {
    Table,
    UserId,
    Data,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditLogs {
    Table,
    Id,
    TenantId,
    ActorId,
    ActorRole,
    Action,
    TableName,
    RowId,
    OldValues,
    NewValues,
    RequestId,
}

#[derive(DeriveIden, Clone, Copy)]
enum AnalyticsEvents {
    Table,
    Id,
    TenantId,
    UserId,
    Name,
    Properties,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on SQLite too (its DDL is transactional), not only on PostgreSQL.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Conventions::of(manager);

        // connections: PK (tenant_id, user_id). `initiated_by` (the user or a tenant admin)
        // has no foreign key: it records who asked, and must not tie the connection's fate
        // to a second profile.
        manager
            .create_table(
                c.timestamps(
                    Table::create()
                        .table(Connections::Table)
                        .col(uuid(Connections::TenantId))
                        .col(uuid(Connections::UserId))
                        .col(text(Connections::Status))
                        .col(uuid(Connections::InitiatedBy)),
                )
                .primary_key(
                    primary_key(Connections::Table)
                        .col(Connections::TenantId)
                        .col(Connections::UserId),
                )
                .foreign_key(&mut foreign_key(
                    Connections::Table,
                    Connections::TenantId,
                    Tenants::Table,
                    Tenants::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    Connections::Table,
                    Connections::UserId,
                    Profiles::Table,
                    Profiles::Id,
                    ForeignKeyAction::Cascade,
                ))
                .check(enum_check("connections", Connections::Status))
                .take(),
            )
            .await?;
        create_indexes(
            manager,
            vec![
                // The tenants a user is connected to (user_details read policy).
                index(Connections::Table, "user_id_status")
                    .col(Connections::UserId)
                    .col(Connections::Status)
                    .take(),
                index(Connections::Table, "tenant_id_created_at")
                    .col(Connections::TenantId)
                    .col(desc(Common::CreatedAt))
                    .take(),
            ],
        )
        .await?;

        // user_details: PK user_id.
        manager
            .create_table(
                c.timestamps(
                    Table::create()
                        .table(UserDetails::Table)
                        .col(uuid(UserDetails::UserId).primary_key())
                        .col(json(UserDetails::Data)),
                )
                .foreign_key(&mut foreign_key(
                    UserDetails::Table,
                    UserDetails::UserId,
                    Profiles::Table,
                    Profiles::Id,
                    ForeignKeyAction::Cascade,
                ))
                .take(),
            )
            .await?;

        // audit_logs: append-only. `actor_id` has no foreign key: the trail must outlive the
        // actor's profile and record service-role actors that have none. A tenant's hard
        // deletion keeps its audit rows, detached (SET NULL), for platform admins.
        manager
            .create_table(
                c.timestamps(
                    Table::create()
                        .table(AuditLogs::Table)
                        .col(c.id(AuditLogs::Id))
                        .col(uuid_null(AuditLogs::TenantId))
                        .col(uuid_null(AuditLogs::ActorId))
                        .col(text_null(AuditLogs::ActorRole))
                        .col(text(AuditLogs::Action))
                        .col(text(AuditLogs::TableName))
                        .col(text_null(AuditLogs::RowId))
                        .col(json_null(AuditLogs::OldValues))
                        .col(json_null(AuditLogs::NewValues))
                        .col(text_null(AuditLogs::RequestId)),
                )
                .foreign_key(&mut foreign_key(
                    AuditLogs::Table,
                    AuditLogs::TenantId,
                    Tenants::Table,
                    Tenants::Id,
                    ForeignKeyAction::SetNull,
                ))
                .check(enum_check("audit_logs", AuditLogs::Action))
                .take(),
            )
            .await?;
        create_indexes(
            manager,
            vec![
                // Tenant admins: their tenant's trail, newest first.
                index(AuditLogs::Table, "tenant_id_created_at")
                    .col(AuditLogs::TenantId)
                    .col(desc(Common::CreatedAt))
                    .take(),
                // Platform admins: the whole trail, newest first.
                index(AuditLogs::Table, "created_at")
                    .col(desc(Common::CreatedAt))
                    .take(),
                // The history of one row.
                index(AuditLogs::Table, "table_name_row_id")
                    .col(AuditLogs::TableName)
                    .col(AuditLogs::RowId)
                    .take(),
                index(AuditLogs::Table, "actor_id_created_at")
                    .col(AuditLogs::ActorId)
                    .col(desc(Common::CreatedAt))
                    .take(),
            ],
        )
        .await?;

        // analytics_events: append-only. Events outlive their user, anonymised (SET NULL).
        manager
            .create_table(
                c.timestamps(
                    Table::create()
                        .table(AnalyticsEvents::Table)
                        .col(c.id(AnalyticsEvents::Id))
                        .col(uuid(AnalyticsEvents::TenantId))
                        .col(uuid_null(AnalyticsEvents::UserId))
                        .col(text(AnalyticsEvents::Name))
                        .col(json_null(AnalyticsEvents::Properties)),
                )
                .foreign_key(&mut foreign_key(
                    AnalyticsEvents::Table,
                    AnalyticsEvents::TenantId,
                    Tenants::Table,
                    Tenants::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    AnalyticsEvents::Table,
                    AnalyticsEvents::UserId,
                    Profiles::Table,
                    Profiles::Id,
                    ForeignKeyAction::SetNull,
                ))
                .take(),
            )
            .await?;
        create_indexes(
            manager,
            vec![
                index(AnalyticsEvents::Table, "tenant_id_created_at")
                    .col(AnalyticsEvents::TenantId)
                    .col(desc(Common::CreatedAt))
                    .take(),
                index(AnalyticsEvents::Table, "tenant_id_name_created_at")
                    .col(AnalyticsEvents::TenantId)
                    .col(AnalyticsEvents::Name)
                    .col(desc(Common::CreatedAt))
                    .take(),
                index(AnalyticsEvents::Table, "user_id")
                    .col(AnalyticsEvents::UserId)
                    .take(),
            ],
        )
        .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &[
                "analytics_events",
                "audit_logs",
                "user_details",
                "connections",
            ],
        )
        .await
    }
}
