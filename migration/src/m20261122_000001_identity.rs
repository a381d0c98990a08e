//! Identity and tenancy: `profiles`, `tenants`, `user_roles`, `tenant_members`,
//! `user_settings`.

use sea_orm_migration::prelude::*;

use crate::common::{
    Common, Conventions, create_indexes, desc, drop_tables, enum_check, foreign_key, index,
    primary_key, text, text_null, unique, uuid, uuid_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Profiles {
    Table,
    Id,
    Email,
    DisplayName,
    AvatarUrl,
    Bio,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Tenants {
    Table,
    Id,
    Name,
    Subdomain,
    Tier,
    Settings,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserRoles {
    Table,
    UserId,
    Role,
    GrantedBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum TenantMembers {
    Table,
    TenantId,
    UserId,
    Role,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserSettings {
    Table,
    UserId,
    Preferences,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on SQLite too (its DDL is transactional), not only on PostgreSQL.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Conventions::of(manager);

        // profiles (soft delete): one per user; `id` is the user's id, the JWT `sub`.
        manager
            .create_table(
                c.timestamps_soft_delete(
                    Table::create()
                        .table(Profiles::Table)
                        .col(c.id(Profiles::Id))
                        .col(text(Profiles::Email))
                        .col(text(Profiles::DisplayName))
                        .col(text_null(Profiles::AvatarUrl))
                        .col(text_null(Profiles::Bio)),
                )
                .index(unique(Profiles::Table, "email").col(Profiles::Email))
                .take(),
            )
            .await?;
        create_indexes(
            manager,
            vec![
                index(Profiles::Table, "created_at")
                    .col(desc(Common::CreatedAt))
                    .take(),
            ],
        )
        .await?;

        // tenants (soft delete).
        manager
            .create_table(
                c.timestamps_soft_delete(
                    Table::create()
                        .table(Tenants::Table)
                        .col(c.id(Tenants::Id))
                        .col(text(Tenants::Name))
                        .col(text(Tenants::Subdomain))
                        .col(text(Tenants::Tier).default("free"))
                        .col(c.json_object(Tenants::Settings)),
                )
                .index(unique(Tenants::Table, "subdomain").col(Tenants::Subdomain))
                .check(enum_check("tenants", Tenants::Tier))
                .take(),
            )
            .await?;
        create_indexes(
            manager,
            vec![
                index(Tenants::Table, "created_at")
                    .col(desc(Common::CreatedAt))
                    .take(),
            ],
        )
        .await?;

        // user_roles: platform roles. `granted_by` deliberately has no foreign key: it is a
        // record of who granted the role and must survive that profile's removal unchanged.
        manager
            .create_table(
                c.timestamps(
                    Table::create()
                        .table(UserRoles::Table)
                        .col(uuid(UserRoles::UserId))
                        .col(text(UserRoles::Role))
                        .col(uuid_null(UserRoles::GrantedBy)),
                )
                .primary_key(
                    primary_key(UserRoles::Table)
                        .col(UserRoles::UserId)
                        .col(UserRoles::Role),
                )
                .foreign_key(&mut foreign_key(
                    UserRoles::Table,
                    UserRoles::UserId,
                    Profiles::Table,
                    Profiles::Id,
                    ForeignKeyAction::Cascade,
                ))
                .check(enum_check("user_roles", UserRoles::Role))
                .take(),
            )
            .await?;

        // tenant_members: PK (tenant_id, user_id) also serves as the tenant_id index.
        manager
            .create_table(
                c.timestamps(
                    Table::create()
                        .table(TenantMembers::Table)
                        .col(uuid(TenantMembers::TenantId))
                        .col(uuid(TenantMembers::UserId))
                        .col(text(TenantMembers::Role)),
                )
                .primary_key(
                    primary_key(TenantMembers::Table)
                        .col(TenantMembers::TenantId)
                        .col(TenantMembers::UserId),
                )
                .foreign_key(&mut foreign_key(
                    TenantMembers::Table,
                    TenantMembers::TenantId,
                    Tenants::Table,
                    Tenants::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    TenantMembers::Table,
                    TenantMembers::UserId,
                    Profiles::Table,
                    Profiles::Id,
                    ForeignKeyAction::Cascade,
                ))
                .check(enum_check("tenant_members", TenantMembers::Role))
                .take(),
            )
            .await?;
        create_indexes(
            manager,
            vec![
                // A principal's memberships, loaded on every authenticated request.
                index(TenantMembers::Table, "user_id")
                    .col(TenantMembers::UserId)
                    .col(TenantMembers::TenantId)
                    .take(),
                index(TenantMembers::Table, "tenant_id_created_at")
                    .col(TenantMembers::TenantId)
                    .col(desc(Common::CreatedAt))
                    .take(),
            ],
        )
        .await?;

        // user_settings: PK user_id.
        manager
            .create_table(
                c.timestamps(
                    Table::create()
                        .table(UserSettings::Table)
                        .col(uuid(UserSettings::UserId).primary_key())
                        .col(c.json_object(UserSettings::Preferences)),
                )
                .foreign_key(&mut foreign_key(
                    UserSettings::Table,
                    UserSettings::UserId,
                    Profiles::Table,
                    Profiles::Id,
                    ForeignKeyAction::Cascade,
                ))
                .take(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &[
                "user_settings",
                "tenant_members",
                "user_roles",
                "tenants",
                "profiles",
            ],
        )
        .await
    }
}
