//! Community: `communities`, `community_members`, `posts`, `comments`, `reactions`, `blocks`,
//! `user_follows`.
//!
//! Authored rows (posts, comments, reactions) and membership rows are deleted with their
//! author or parent (ON DELETE CASCADE). A community survives its creator: `created_by`
//! restricts the hard deletion of that profile (profiles are soft-deleted through the API).

use sea_orm_migration::prelude::*;

use crate::common::{
    Common, Conventions, check, create_indexes, desc, drop_tables, enum_check, foreign_key, index,
    json_null, primary_key, text, unique, uuid, uuid_null,
};
use crate::m20261122_000001_identity::{Profiles, Tenants};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Communities {
    Table,
    Id,
    TenantId,
    Name,
    Slug,
    Visibility,
    CreatedBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum CommunityMembers {
    Table,
    CommunityId,
    UserId,
    Role,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Posts {
    Table,
    Id,
    TenantId,
    CommunityId,
    AuthorId,
    Title,
    Body,
    Status,
    Visibility,
    Metadata,
}

#[derive(DeriveIden, Clone, Copy)]
enum Comments {
    Table,
    Id,
    TenantId,
    PostId,
    ParentId,
    AuthorId,
    Body,
}

#[derive(DeriveIden, Clone, Copy)]
enum Reactions {
    Table,
    PostId,
    UserId,
    Emoji,
    TenantId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Blocks {
    Table,
    BlockerId,
    BlockedId,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserFollows {
    Table,
    FollowerId,
    FolloweeId,
}

/// The one condition every read of a post (or comment, message) starts with.
fn not_deleted() -> Expr {
    Expr::col(Common::DeletedAt).is_null()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on SQLite too (its DDL is transactional), not only on PostgreSQL.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Conventions::of(manager);

        // communities (soft delete): slug unique per tenant.
        manager
            .create_table(
                c.timestamps_soft_delete(
                    Table::create()
                        .table(Communities::Table)
                        .col(c.id(Communities::Id))
                        .col(uuid(Communities::TenantId))
                        .col(text(Communities::Name))
                        .col(text(Communities::Slug))
                        .col(text(Communities::Visibility))
                        .col(uuid(Communities::CreatedBy)),
                )
                .index(
                    unique(Communities::Table, "tenant_id_slug")
                        .col(Communities::TenantId)
                        .col(Communities::Slug),
                )
                .foreign_key(&mut foreign_key(
                    Communities::Table,
                    Communities::TenantId,
                    Tenants::Table,
                    Tenants::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    Communities::Table,
                    Communities::CreatedBy,
                    Profiles::Table,
                    Profiles::Id,
                    ForeignKeyAction::Restrict,
                ))
                .check(enum_check("communities", Communities::Visibility))
                .take(),
            )
            .await?;
        create_indexes(
            manager,
            vec![
                index(Communities::Table, "tenant_id_created_at")
                    .col(Communities::TenantId)
                    .col(desc(Common::CreatedAt))
                    .take(),
                index(Communities::Table, "created_by")
                    .col(Communities::CreatedBy)
                    .take(),
            ],
        )
        .await?;

        // community_members: PK (community_id, user_id).
        manager
            .create_table(
                c.timestamps(
                    Table::create()
                        .table(CommunityMembers::Table)
                        .col(uuid(CommunityMembers::CommunityId))
                        .col(uuid(CommunityMembers::UserId))
                        .col(text(CommunityMembers::Role)),
                )
                .primary_key(
                    primary_key(CommunityMembers::Table)
                        .col(CommunityMembers::CommunityId)
                        .col(CommunityMembers::UserId),
                )
                .foreign_key(&mut foreign_key(
                    CommunityMembers::Table,
                    CommunityMembers::CommunityId,
                    Communities::Table,
                    Communities::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    CommunityMembers::Table,
                    CommunityMembers::UserId,
                    Profiles::Table,
                    Profiles::Id,
                    ForeignKeyAction::Cascade,
                ))
                .check(enum_check("community_members", CommunityMembers::Role))
                .take(),
            )
            .await?;
        create_indexes(
            manager,
            vec![
                index(CommunityMembers::Table, "user_id")
                    .col(CommunityMembers::UserId)
                    .col(CommunityMembers::CommunityId)
                    .take(),
            ],
        )
        .await?;

        // posts (soft delete). A `community` post must name its community.
        manager
            .create_table(
                c.timestamps_soft_delete(
                    Table::create()
                        .table(Posts::Table)
                        .col(c.id(Posts::Id))
                        .col(uuid(Posts::TenantId))
                        .col(uuid_null(Posts::CommunityId))
                        .col(uuid(Posts::AuthorId))
                        .col(text(Posts::Title))
                        .col(text(Posts::Body))
                        .col(text(Posts::Status).default("draft"))
                        .col(text(Posts::Visibility).default("tenant"))
                        .col(json_null(Posts::Metadata)),
                )
                .foreign_key(&mut foreign_key(
                    Posts::Table,
                    Posts::TenantId,
                    Tenants::Table,
                    Tenants::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    Posts::Table,
                    Posts::CommunityId,
                    Communities::Table,
                    Communities::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    Posts::Table,
                    Posts::AuthorId,
                    Profiles::Table,
                    Profiles::Id,
                    ForeignKeyAction::Cascade,
                ))
                .check(enum_check("posts", Posts::Status))
                .check(enum_check("posts", Posts::Visibility))
                .check(check(
                    "posts",
                    "community_visibility",
                    Expr::col(Posts::Visibility)
                        .ne("community")
                        .or(Expr::col(Posts::CommunityId).is_not_null()),
                ))
                .take(),
            )
            .await?;
        create_indexes(
            manager,
            vec![
                // The public feed (anon included): published, public, not deleted, newest first.
                index(Posts::Table, "public_feed")
                    .col(desc(Common::CreatedAt))
                    .col(desc(Posts::Id))
                    .and_where(Expr::col(Posts::Status).eq("published"))
                    .and_where(Expr::col(Posts::Visibility).eq("public"))
                    .and_where(not_deleted())
                    .take(),
                // A tenant's feed as its members see it.
                index(Posts::Table, "tenant_published_feed")
                    .col(Posts::TenantId)
                    .col(desc(Common::CreatedAt))
                    .col(desc(Posts::Id))
                    .and_where(Expr::col(Posts::Status).eq("published"))
                    .and_where(not_deleted())
                    .take(),
                // Every post of a tenant (tenant admins, moderators); the tenant_id FK index.
                index(Posts::Table, "tenant_id_created_at")
                    .col(Posts::TenantId)
                    .col(desc(Common::CreatedAt))
                    .col(desc(Posts::Id))
                    .take(),
                // An author's posts, drafts included; the author_id FK index.
                index(Posts::Table, "author_id_created_at")
                    .col(Posts::AuthorId)
                    .col(desc(Common::CreatedAt))
                    .col(desc(Posts::Id))
                    .take(),
                // A community's posts; the community_id FK index.
                index(Posts::Table, "community_id_created_at")
                    .col(Posts::CommunityId)
                    .col(desc(Common::CreatedAt))
                    .col(desc(Posts::Id))
                    .take(),
                // Published community posts (the community branch of the feed).
                index(Posts::Table, "community_feed")
                    .col(Posts::CommunityId)
                    .col(desc(Common::CreatedAt))
                    .col(desc(Posts::Id))
                    .and_where(Expr::col(Posts::Status).eq("published"))
                    .and_where(Expr::col(Posts::Visibility).eq("community"))
                    .and_where(not_deleted())
                    .take(),
            ],
        )
        .await?;

        // comments (soft delete): threads through `parent_id`.
        manager
            .create_table(
                c.timestamps_soft_delete(
                    Table::create()
                        .table(Comments::Table)
                        .col(c.id(Comments::Id))
                        .col(uuid(Comments::TenantId))
                        .col(uuid(Comments::PostId))
                        .col(uuid_null(Comments::ParentId))
                        .col(uuid(Comments::AuthorId))
                        .col(text(Comments::Body)),
                )
                .foreign_key(&mut foreign_key(
                    Comments::Table,
                    Comments::TenantId,
                    Tenants::Table,
                    Tenants::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    Comments::Table,
                    Comments::PostId,
                    Posts::Table,
                    Posts::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    Comments::Table,
                    Comments::ParentId,
                    Comments::Table,
                    Comments::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    Comments::Table,
                    Comments::AuthorId,
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
                index(Comments::Table, "tenant_id_created_at")
                    .col(Comments::TenantId)
                    .col(desc(Common::CreatedAt))
                    .take(),
                index(Comments::Table, "post_id_created_at")
                    .col(Comments::PostId)
                    .col(desc(Common::CreatedAt))
                    .col(desc(Comments::Id))
                    .take(),
                index(Comments::Table, "parent_id")
                    .col(Comments::ParentId)
                    .take(),
                index(Comments::Table, "author_id_created_at")
                    .col(Comments::AuthorId)
                    .col(desc(Common::CreatedAt))
                    .take(),
            ],
        )
        .await?;

        // reactions: PK (post_id, user_id, emoji); an emoji is 1 to 16 characters.
        manager
            .create_table(
                c.timestamps(
                    Table::create()
                        .table(Reactions::Table)
                        .col(uuid(Reactions::PostId))
                        .col(uuid(Reactions::UserId))
                        .col(text(Reactions::Emoji))
                        .col(uuid(Reactions::TenantId)),
                )
                .primary_key(
                    primary_key(Reactions::Table)
                        .col(Reactions::PostId)
                        .col(Reactions::UserId)
                        .col(Reactions::Emoji),
                )
                .foreign_key(&mut foreign_key(
                    Reactions::Table,
                    Reactions::PostId,
                    Posts::Table,
                    Posts::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    Reactions::Table,
                    Reactions::UserId,
                    Profiles::Table,
                    Profiles::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    Reactions::Table,
                    Reactions::TenantId,
                    Tenants::Table,
                    Tenants::Id,
                    ForeignKeyAction::Cascade,
                ))
                .check(check(
                    "reactions",
                    "emoji_length",
                    // CHAR_LENGTH on PostgreSQL, LENGTH on SQLite: both count characters.
                    Func::char_length(Expr::col(Reactions::Emoji)).between(1, 16),
                ))
                .take(),
            )
            .await?;
        create_indexes(
            manager,
            vec![
                index(Reactions::Table, "tenant_id_created_at")
                    .col(Reactions::TenantId)
                    .col(desc(Common::CreatedAt))
                    .take(),
                index(Reactions::Table, "user_id")
                    .col(Reactions::UserId)
                    .take(),
            ],
        )
        .await?;

        // blocks: PK (blocker_id, blocked_id); nobody blocks themselves.
        manager
            .create_table(
                c.timestamps(
                    Table::create()
                        .table(Blocks::Table)
                        .col(uuid(Blocks::BlockerId))
                        .col(uuid(Blocks::BlockedId)),
                )
                .primary_key(
                    primary_key(Blocks::Table)
                        .col(Blocks::BlockerId)
                        .col(Blocks::BlockedId),
                )
                .foreign_key(&mut foreign_key(
                    Blocks::Table,
                    Blocks::BlockerId,
                    Profiles::Table,
                    Profiles::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    Blocks::Table,
                    Blocks::BlockedId,
                    Profiles::Table,
                    Profiles::Id,
                    ForeignKeyAction::Cascade,
                ))
                .check(check(
                    "blocks",
                    "not_self",
                    Expr::col(Blocks::BlockerId).ne(Expr::col(Blocks::BlockedId)),
                ))
                .take(),
            )
            .await?;
        create_indexes(
            manager,
            vec![
                index(Blocks::Table, "blocked_id")
                    .col(Blocks::BlockedId)
                    .take(),
            ],
        )
        .await?;

        // user_follows: PK (follower_id, followee_id); nobody follows themselves.
        manager
            .create_table(
                c.timestamps(
                    Table::create()
                        .table(UserFollows::Table)
                        .col(uuid(UserFollows::FollowerId))
                        .col(uuid(UserFollows::FolloweeId)),
                )
                .primary_key(
                    primary_key(UserFollows::Table)
                        .col(UserFollows::FollowerId)
                        .col(UserFollows::FolloweeId),
                )
                .foreign_key(&mut foreign_key(
                    UserFollows::Table,
                    UserFollows::FollowerId,
                    Profiles::Table,
                    Profiles::Id,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    UserFollows::Table,
                    UserFollows::FolloweeId,
                    Profiles::Table,
                    Profiles::Id,
                    ForeignKeyAction::Cascade,
                ))
                .check(check(
                    "user_follows",
                    "not_self",
                    Expr::col(UserFollows::FollowerId).ne(Expr::col(UserFollows::FolloweeId)),
                ))
                .take(),
            )
            .await?;
        create_indexes(
            manager,
            vec![
                index(UserFollows::Table, "followee_id")
                    .col(UserFollows::FolloweeId)
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
                "user_follows",
                "blocks",
                "reactions",
                "comments",
                "posts",
                "community_members",
                "communities",
            ],
        )
        .await
    }
}
