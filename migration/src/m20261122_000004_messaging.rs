//! Messaging and notifications: `conversations`, `conversation_participants`, `messages`,
//! `notifications`.
//!
//! As for communities, a conversation survives its creator (`created_by` restricts the hard
//! deletion of that profile); participants, messages and notifications go with their parent.

use sea_orm_migration::prelude::*;

use crate::common::{
    Common, Conventions, create_indexes, desc, drop_tables, foreign_key, index, json_null,
    primary_key, text, text_null, timestamp_null, uuid, uuid_null,
};
use crate::m20261122_000001_identity::{Profiles, Tenants};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Conversations {
    Table,
    Id,
    TenantId,
    Title,
    CreatedBy,
    LastMessageAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ConversationParticipants {
    Table,
    ConversationId,
    UserId,
    LastReadAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Messages {
    Table,
    Id,
    TenantId,
    ConversationId,
    SenderId,
    Body,
    EditedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Notifications {
    Table,
    Id,
    TenantId,
    UserId,
    Kind,
    Title,
    Body,
    Data,
    ReadAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on SQLite too (its DDL is transactional), not only on PostgreSQL.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Conventions::of(manager);

        // conversations.
        manager
            .create_table(
                c.timestamps(
                    Table::create()
                        .table(Conversations::Table)
                        .col(c.id(Conversations::Id))
                        .col(uuid(Conversations::TenantId))
                        .col(text_null(Conversations::Title))
                        .col(uuid(Conversations::CreatedBy))
                        .col(timestamp_null(Conversations::LastMessageAt)),
                )
                .foreign_key(&mut foreign_key(
                    Conversations::Table,
                    Conversations::TenantId,
                    Tenants::Table,
                    Tenants::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    Conversations::Table,
                    Conversations::CreatedBy,
                    Profiles::Table,
                    Profiles::Id,
                    ForeignKeyAction::Restrict,
                ))
                .take(),
            )
            .await?;
        create_indexes(
            manager,
            vec![
                index(Conversations::Table, "tenant_id_created_at")
                    .col(Conversations::TenantId)
                    .col(desc(Common::CreatedAt))
                    .take(),
                // An inbox ordered by latest activity.
                index(Conversations::Table, "tenant_id_last_message_at")
                    .col(Conversations::TenantId)
                    .col(desc(Conversations::LastMessageAt))
                    .take(),
                index(Conversations::Table, "created_by")
                    .col(Conversations::CreatedBy)
                    .take(),
            ],
        )
        .await?;

        // conversation_participants: PK (conversation_id, user_id).
        manager
            .create_table(
                c.timestamps(
                    Table::create()
                        .table(ConversationParticipants::Table)
                        .col(uuid(ConversationParticipants::ConversationId))
                        .col(uuid(ConversationParticipants::UserId))
                        .col(timestamp_null(ConversationParticipants::LastReadAt)),
                )
                .primary_key(
                    primary_key(ConversationParticipants::Table)
                        .col(ConversationParticipants::ConversationId)
                        .col(ConversationParticipants::UserId),
                )
                .foreign_key(&mut foreign_key(
                    ConversationParticipants::Table,
                    ConversationParticipants::ConversationId,
                    Conversations::Table,
                    Conversations::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    ConversationParticipants::Table,
                    ConversationParticipants::UserId,
                    Profiles::Table,
                    Profiles::Id,
                    ForeignKeyAction::Cascade,
                ))
                .take(),
            )
            .await?;
        create_indexes(
            manager,
            vec![
                // "Conversations I take part in", the read policy of three tables.
                index(ConversationParticipants::Table, "user_id")
                    .col(ConversationParticipants::UserId)
                    .col(ConversationParticipants::ConversationId)
                    .take(),
            ],
        )
        .await?;

        // messages (soft delete).
        manager
            .create_table(
                c.timestamps_soft_delete(
                    Table::create()
                        .table(Messages::Table)
                        .col(c.id(Messages::Id))
                        .col(uuid(Messages::TenantId))
                        .col(uuid(Messages::ConversationId))
                        .col(uuid(Messages::SenderId))
                        .col(text(Messages::Body))
                        .col(timestamp_null(Messages::EditedAt)),
                )
                .foreign_key(&mut foreign_key(
                    Messages::Table,
                    Messages::TenantId,
                    Tenants::Table,
                    Tenants::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    Messages::Table,
                    Messages::ConversationId,
                    Conversations::Table,
                    Conversations::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    Messages::Table,
                    Messages::SenderId,
                    Profiles::Table,
                    Profiles::Id,
                    ForeignKeyAction::Cascade,
                ))
                .take(),
            )
            .await?;
        create_indexes(
            manager,
            vec![
                index(Messages::Table, "tenant_id_created_at")
                    .col(Messages::TenantId)
                    .col(desc(Common::CreatedAt))
                    .take(),
                index(Messages::Table, "conversation_id_created_at")
                    .col(Messages::ConversationId)
                    .col(desc(Common::CreatedAt))
                    .take(),
                index(Messages::Table, "sender_id")
                    .col(Messages::SenderId)
                    .take(),
            ],
        )
        .await?;

        // notifications: `tenant_id` NULL for platform-wide notifications.
        manager
            .create_table(
                c.timestamps(
                    Table::create()
                        .table(Notifications::Table)
                        .col(c.id(Notifications::Id))
                        .col(uuid_null(Notifications::TenantId))
                        .col(uuid(Notifications::UserId))
                        .col(text(Notifications::Kind))
                        .col(text(Notifications::Title))
                        .col(text(Notifications::Body))
                        .col(json_null(Notifications::Data))
                        .col(timestamp_null(Notifications::ReadAt)),
                )
                .foreign_key(&mut foreign_key(
                    Notifications::Table,
                    Notifications::TenantId,
                    Tenants::Table,
                    Tenants::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    Notifications::Table,
                    Notifications::UserId,
                    Profiles::Table,
                    Profiles::Id,
                    ForeignKeyAction::Cascade,
                ))
                .take(),
            )
            .await?;
        create_indexes(
            manager,
            vec![
                // A user's notifications, newest first; the user_id FK index.
                index(Notifications::Table, "user_id_created_at")
                    .col(Notifications::UserId)
                    .col(desc(Common::CreatedAt))
                    .col(desc(Notifications::Id))
                    .take(),
                // Unread ones (badge counts, markAllNotificationsRead).
                index(Notifications::Table, "user_id_unread")
                    .col(Notifications::UserId)
                    .col(desc(Common::CreatedAt))
                    .col(desc(Notifications::Id))
                    .and_where(Expr::col(Notifications::ReadAt).is_null())
                    .take(),
                index(Notifications::Table, "tenant_id_created_at")
                    .col(Notifications::TenantId)
                    .col(desc(Common::CreatedAt))
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
                "notifications",
                "messages",
                "conversation_participants",
                "conversations",
            ],
        )
        .await
    }
}
