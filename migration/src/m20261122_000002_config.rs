//! Hot configuration, served from the cache: `feature_flags`, `system_config`.

use sea_orm_migration::prelude::*;

use crate::common::{
    Conventions, boolean, check, create_indexes, drop_tables, foreign_key, index, json, text,
    text_null, unique, uuid_null,
};
use crate::m20261122_000001_identity::Tenants;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum FeatureFlags {
    Table,
    Id,
    Key,
    TenantId,
    Enabled,
    RolloutPercent,
    Description,
}

#[derive(DeriveIden, Clone, Copy)]
enum SystemConfig {
    Table,
    Key,
    Value,
    IsPublic,
    Description,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on SQLite too (its DDL is transactional), not only on PostgreSQL.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Conventions::of(manager);

        // feature_flags: `tenant_id` NULL is the global default of a flag.
        manager
            .create_table(
                c.timestamps(
                    Table::create()
                        .table(FeatureFlags::Table)
                        .col(c.id(FeatureFlags::Id))
                        .col(text(FeatureFlags::Key))
                        .col(uuid_null(FeatureFlags::TenantId))
                        .col(boolean(FeatureFlags::Enabled))
                        .col(
                            ColumnDef::new(FeatureFlags::RolloutPercent)
                                .small_integer()
                                .not_null()
                                .default(100),
                        )
                        .col(text_null(FeatureFlags::Description)),
                )
                .index(
                    unique(FeatureFlags::Table, "key_tenant_id")
                        .col(FeatureFlags::Key)
                        .col(FeatureFlags::TenantId),
                )
                .foreign_key(&mut foreign_key(
                    FeatureFlags::Table,
                    FeatureFlags::TenantId,
                    Tenants::Table,
                    Tenants::Id,
                    ForeignKeyAction::Cascade,
                ))
                .check(check(
                    "feature_flags",
                    "rollout_percent",
                    Expr::col(FeatureFlags::RolloutPercent).between(0, 100),
                ))
                .take(),
            )
            .await?;
        create_indexes(
            manager,
            vec![
                // UNIQUE (key, tenant_id) treats NULLs as distinct, so it alone would allow
                // two global rows for one key; this partial index forbids that (PostgreSQL's
                // NULLS NOT DISTINCT has no SQLite equivalent).
                index(FeatureFlags::Table, "key_global")
                    .unique()
                    .col(FeatureFlags::Key)
                    .and_where(Expr::col(FeatureFlags::TenantId).is_null())
                    .take(),
                // The active tenant's flags; also the tenant_id foreign key index.
                index(FeatureFlags::Table, "tenant_id_key")
                    .col(FeatureFlags::TenantId)
                    .col(FeatureFlags::Key)
                    .take(),
            ],
        )
        .await?;

        // system_config: keyed by a text `key`.
        manager
            .create_table(
                c.timestamps(
                    Table::create()
                        .table(SystemConfig::Table)
                        .col(text(SystemConfig::Key).primary_key())
                        .col(json(SystemConfig::Value))
                        .col(boolean(SystemConfig::IsPublic).default(false))
                        .col(text_null(SystemConfig::Description)),
                )
                .take(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["system_config", "feature_flags"]).await
    }
}
