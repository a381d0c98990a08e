//! The schema of the dating application: accounts and their public face (`users`,
//! `profiles`, `photos`), matchmaking (`match_offers`, `matches`, `messages`), safety
//! (`blocks`, `reports`, `moderation_queue`, `enforcement_actions`), configuration
//! (`system_config`, `feature_flags`, `user_segments`, `user_segment_members`,
//! `segment_config_overrides`), staff (`admin_users`, `admin_audit_log`) and GDPR requests
//! (`data_export_requests`, `data_deletion_requests`).
//!
//! The same migration runs on PostgreSQL and SQLite. Enumerations are TEXT with a CHECK
//! constraint built from [`ENUMS`] (the application serves each as a GraphQL enum); JSON
//! values are `json`; timestamps `timestamptz` (RFC 3339 text on SQLite). Only defaults
//! differ per database: PostgreSQL fills a left-out `id` with `gen_random_uuid()` (on SQLite
//! the gateway always sends one) and the timestamps with `CURRENT_TIMESTAMP` (on SQLite the
//! same RFC 3339 text the gateway writes). On PostgreSQL the last step installs the change
//! triggers the gateway LISTENs to, so that writes made outside it (psql, a matchmaking job)
//! invalidate cached facts and configuration and reach subscribers.

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    boolean, date_null, double_null, integer, json, json_null, text, text_null,
    timestamp_with_time_zone, timestamp_with_time_zone_null, uuid, uuid_null,
};
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// Every migration of the application.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateSchema), Box::new(ChangeNotifications)]
    }
}

/// Every table, parents before children (dropped in reverse).
pub const TABLES: [&str; 19] = [
    "users",
    "profiles",
    "photos",
    "match_offers",
    "matches",
    "messages",
    "blocks",
    "reports",
    "moderation_queue",
    "enforcement_actions",
    "system_config",
    "feature_flags",
    "user_segments",
    "user_segment_members",
    "segment_config_overrides",
    "admin_users",
    "admin_audit_log",
    "data_export_requests",
    "data_deletion_requests",
];

/// The enumerations: (table, column, values), stored as TEXT with a CHECK constraint and
/// served as GraphQL enums. The single source of both.
pub const ENUMS: [(&str, &str, &[&str]); 14] = [
    (
        "users",
        "status",
        &["active", "suspended", "banned", "deactivated"],
    ),
    (
        "photos",
        "moderation_status",
        &["pending", "approved", "rejected"],
    ),
    (
        "match_offers",
        "status",
        &["pending", "accepted", "declined", "expired"],
    ),
    ("matches", "status", &["active", "unmatched"]),
    (
        "reports",
        "reason",
        &[
            "harassment",
            "spam",
            "fake_profile",
            "inappropriate_content",
            "underage",
            "other",
        ],
    ),
    (
        "reports",
        "status",
        &["open", "reviewing", "resolved", "dismissed"],
    ),
    (
        "moderation_queue",
        "content_type",
        &["user", "profile", "photo", "message"],
    ),
    (
        "moderation_queue",
        "status",
        &["pending", "in_review", "resolved"],
    ),
    (
        "enforcement_actions",
        "action",
        &["warning", "suspension", "ban", "photo_removal"],
    ),
    ("admin_users", "role", &["moderator", "admin"]),
    ("admin_audit_log", "action", &["insert", "update", "delete"]),
    (
        "data_export_requests",
        "status",
        &["pending", "processing", "completed", "failed"],
    ),
    ("data_export_requests", "format", &["json", "csv"]),
    (
        "data_deletion_requests",
        "status",
        &["pending", "scheduled", "completed", "cancelled"],
    ),
];

/// The values of the enumeration stored in `table.column`, if it is one.
pub fn enum_values(table: &str, column: &str) -> Option<&'static [&'static str]> {
    ENUMS
        .iter()
        .find(|(t, c, _)| *t == table && *c == column)
        .map(|(_, _, values)| *values)
}

/// The columns with a database default beyond `id`, `created_at` and `updated_at`: an
/// insert may leave them out.
pub const DEFAULTS: [(&str, &str); 17] = [
    ("users", "status"),
    ("profiles", "is_visible"),
    ("photos", "position"),
    ("photos", "moderation_status"),
    ("match_offers", "status"),
    ("matches", "status"),
    ("reports", "status"),
    ("moderation_queue", "priority"),
    ("moderation_queue", "status"),
    ("system_config", "is_public"),
    ("feature_flags", "enabled"),
    ("feature_flags", "rollout_percent"),
    ("segment_config_overrides", "priority"),
    ("admin_users", "is_active"),
    ("data_export_requests", "status"),
    ("data_export_requests", "format"),
    ("data_deletion_requests", "status"),
];

/// Whether an insert into `table` may leave `column` out (the gateway fills `id` and the
/// timestamps; the database the [`DEFAULTS`]).
pub fn has_default(table: &str, column: &str) -> bool {
    matches!(column, "id" | "created_at" | "updated_at")
        || DEFAULTS.iter().any(|(t, c)| *t == table && *c == column)
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
    Email,
    Phone,
    Status,
    LastActiveAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Profiles {
    Table,
    UserId,
    DisplayName,
    Bio,
    BirthDate,
    Gender,
    Seeking,
    City,
    IsVisible,
}

#[derive(DeriveIden, Clone, Copy)]
enum Photos {
    Table,
    Id,
    UserId,
    Url,
    Position,
    ModerationStatus,
}

#[derive(DeriveIden, Clone, Copy)]
enum MatchOffers {
    Table,
    Id,
    UserId,
    CandidateId,
    Score,
    Status,
    ExpiresAt,
    RespondedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Matches {
    Table,
    Id,
    User1Id,
    User2Id,
    Status,
    UnmatchedBy,
    UnmatchedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Messages {
    Table,
    Id,
    MatchId,
    SenderId,
    RecipientId,
    Body,
    ReadAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Blocks {
    Table,
    Id,
    BlockerId,
    BlockedId,
    Reason,
}

#[derive(DeriveIden, Clone, Copy)]
enum Reports {
    Table,
    Id,
    ReporterId,
    ReportedUserId,
    Reason,
    Details,
    MessageId,
    PhotoId,
    Status,
}

#[derive(DeriveIden, Clone, Copy)]
enum ModerationQueue {
    Table,
    Id,
    ReportId,
    SubjectUserId,
    ContentType,
    ContentId,
    Priority,
    Status,
    AssignedTo,
    Resolution,
}

#[derive(DeriveIden, Clone, Copy)]
enum EnforcementActions {
    Table,
    Id,
    SubjectUserId,
    Action,
    Reason,
    ReportId,
    IssuedBy,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum SystemConfig {
    Table,
    Key,
    Value,
    IsPublic,
    Description,
}

#[derive(DeriveIden, Clone, Copy)]
enum FeatureFlags {
    Table,
    Id,
    Key,
    Enabled,
    RolloutPercent,
    Description,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserSegments {
    Table,
    Id,
    Key,
    Name,
    Description,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserSegmentMembers {
    Table,
    Id,
    SegmentId,
    UserId,
}

#[derive(DeriveIden, Clone, Copy)]
enum SegmentConfigOverrides {
    Table,
    Id,
    SegmentId,
    Key,
    Value,
    Priority,
}

#[derive(DeriveIden, Clone, Copy)]
enum AdminUsers {
    Table,
    Id,
    UserId,
    Role,
    IsActive,
}

#[derive(DeriveIden, Clone, Copy)]
enum AdminAuditLog {
    Table,
    Id,
    AdminId,
    AdminRole,
    Action,
    TableName,
    RowId,
    OldValues,
    NewValues,
    RequestId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum DataExportRequests {
    Table,
    Id,
    UserId,
    Status,
    Format,
    DownloadUrl,
    CompletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum DataDeletionRequests {
    Table,
    Id,
    UserId,
    Status,
    Reason,
    ScheduledFor,
    CompletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Common {
    CreatedAt,
    UpdatedAt,
}

/// SQLite's default for timestamps: the RFC 3339 UTC text the gateway itself writes, so
/// rows written either way order alike.
const SQLITE_NOW: &str = "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')";

/// The per-database parts of the column definitions.
#[derive(Clone, Copy)]
struct Columns {
    postgres: bool,
}

impl Columns {
    fn now(self) -> Expr {
        if self.postgres {
            Expr::current_timestamp()
        } else {
            Expr::cust(SQLITE_NOW)
        }
    }

    /// `id UUID PRIMARY KEY`, `gen_random_uuid()` by default on PostgreSQL.
    fn id<C: IntoIden>(self, column: C) -> ColumnDef {
        let mut def = uuid(column);
        def.primary_key();
        if self.postgres {
            def.default(Expr::cust("gen_random_uuid()"));
        }
        def
    }

    /// `TIMESTAMPTZ NOT NULL DEFAULT now`.
    fn stamp<C: IntoIden>(self, column: C) -> ColumnDef {
        timestamp_with_time_zone(column).default(self.now()).take()
    }

    /// A table with `created_at` and `updated_at` after `columns`.
    fn table<T: IntoIden + Copy>(
        self,
        table: T,
        columns: impl IntoIterator<Item = ColumnDef>,
    ) -> TableCreateStatement {
        let mut statement = Table::create();
        statement.table(table);
        for column in columns {
            statement.col(column);
        }
        statement
            .col(self.stamp(Common::CreatedAt))
            .col(self.stamp(Common::UpdatedAt))
            .take()
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

/// `CONSTRAINT ck_<table>_<what> CHECK (a <> b)`.
fn distinct<C: IntoIden + Copy>(table: &str, what: &str, a: C, b: C) -> Check {
    Check::named(format!("ck_{table}_{what}"), Expr::col(a).ne(Expr::col(b)))
}

/// A foreign key `fk_<table>_<column>` to `parent.key`.
fn fk<T, C, P, K>(
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

/// A named UNIQUE table constraint `uq_<table>_<suffix>` (a constraint, so that schema
/// discovery sees it).
fn unique<T: IntoIden>(table: T, suffix: &str) -> IndexCreateStatement {
    Index::create()
        .name(format!("uq_{}_{suffix}", table.into_iden()))
        .unique()
        .take()
}

/// An index `idx_<table>_<suffix>`; add its columns on the result.
fn index<T: IntoIden + Copy>(table: T, suffix: &str) -> IndexCreateStatement {
    Index::create()
        .name(format!("idx_{}_{suffix}", table.into_iden()))
        .table(table)
        .take()
}

/// The schema's tables, keys, constraints and indexes.
struct CreateSchema;

impl MigrationName for CreateSchema {
    fn name(&self) -> &str {
        "m20261201_000001_create_schema"
    }
}

use ForeignKeyAction::{Cascade, SetNull};

#[async_trait::async_trait]
impl MigrationTrait for CreateSchema {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one statement per table, in order, reads best in one place"
    )]
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Columns {
            postgres: manager.get_database_backend() == DbBackend::Postgres,
        };
        let mut tables = Vec::new();
        let mut indexes = Vec::new();

        // users: the account; `id` is the token's `sub`.
        tables.push(
            c.table(
                Users::Table,
                [
                    uuid(Users::Id).primary_key().take(),
                    text(Users::Email),
                    text_null(Users::Phone),
                    text(Users::Status).default("active").take(),
                    timestamp_with_time_zone_null(Users::LastActiveAt),
                ],
            )
            .index(&mut unique(Users::Table, "email").col(Users::Email).take())
            .check(enum_check("users", Users::Status))
            .take(),
        );

        // profiles: one per user, keyed by it.
        tables.push(
            c.table(
                Profiles::Table,
                [
                    uuid(Profiles::UserId).primary_key().take(),
                    text(Profiles::DisplayName),
                    text_null(Profiles::Bio),
                    date_null(Profiles::BirthDate),
                    text_null(Profiles::Gender),
                    text_null(Profiles::Seeking),
                    text_null(Profiles::City),
                    boolean(Profiles::IsVisible).default(true).take(),
                ],
            )
            .foreign_key(&mut fk(
                Profiles::Table,
                Profiles::UserId,
                Users::Table,
                Users::Id,
                Cascade,
            ))
            .take(),
        );

        tables.push(
            c.table(
                Photos::Table,
                [
                    c.id(Photos::Id),
                    uuid(Photos::UserId),
                    text(Photos::Url),
                    integer(Photos::Position).default(0).take(),
                    text(Photos::ModerationStatus).default("pending").take(),
                ],
            )
            .foreign_key(&mut fk(
                Photos::Table,
                Photos::UserId,
                Users::Table,
                Users::Id,
                Cascade,
            ))
            .check(enum_check("photos", Photos::ModerationStatus))
            .take(),
        );
        indexes.push(
            index(Photos::Table, "user_id_position")
                .col(Photos::UserId)
                .col(Photos::Position)
                .take(),
        );

        // match_offers: the matchmaker proposes `candidate_id` to `user_id`.
        tables.push(
            c.table(
                MatchOffers::Table,
                [
                    c.id(MatchOffers::Id),
                    uuid(MatchOffers::UserId),
                    uuid(MatchOffers::CandidateId),
                    double_null(MatchOffers::Score),
                    text(MatchOffers::Status).default("pending").take(),
                    timestamp_with_time_zone_null(MatchOffers::ExpiresAt),
                    timestamp_with_time_zone_null(MatchOffers::RespondedAt),
                ],
            )
            .index(
                &mut unique(MatchOffers::Table, "user_id_candidate_id")
                    .col(MatchOffers::UserId)
                    .col(MatchOffers::CandidateId)
                    .take(),
            )
            .foreign_key(&mut fk(
                MatchOffers::Table,
                MatchOffers::UserId,
                Users::Table,
                Users::Id,
                Cascade,
            ))
            .foreign_key(&mut fk(
                MatchOffers::Table,
                MatchOffers::CandidateId,
                Users::Table,
                Users::Id,
                Cascade,
            ))
            .check(enum_check("match_offers", MatchOffers::Status))
            .check(distinct(
                "match_offers",
                "not_self",
                MatchOffers::UserId,
                MatchOffers::CandidateId,
            ))
            .take(),
        );
        indexes.push(
            index(MatchOffers::Table, "candidate_id")
                .col(MatchOffers::CandidateId)
                .take(),
        );

        // matches: two participants.
        tables.push(
            c.table(
                Matches::Table,
                [
                    c.id(Matches::Id),
                    uuid(Matches::User1Id),
                    uuid(Matches::User2Id),
                    text(Matches::Status).default("active").take(),
                    uuid_null(Matches::UnmatchedBy),
                    timestamp_with_time_zone_null(Matches::UnmatchedAt),
                ],
            )
            .index(
                &mut unique(Matches::Table, "user1_id_user2_id")
                    .col(Matches::User1Id)
                    .col(Matches::User2Id)
                    .take(),
            )
            .foreign_key(&mut fk(
                Matches::Table,
                Matches::User1Id,
                Users::Table,
                Users::Id,
                Cascade,
            ))
            .foreign_key(&mut fk(
                Matches::Table,
                Matches::User2Id,
                Users::Table,
                Users::Id,
                Cascade,
            ))
            .foreign_key(&mut fk(
                Matches::Table,
                Matches::UnmatchedBy,
                Users::Table,
                Users::Id,
                SetNull,
            ))
            .check(enum_check("matches", Matches::Status))
            .check(distinct(
                "matches",
                "two_people",
                Matches::User1Id,
                Matches::User2Id,
            ))
            .take(),
        );
        indexes.push(
            index(Matches::Table, "user2_id")
                .col(Matches::User2Id)
                .take(),
        );
        indexes.push(
            index(Matches::Table, "unmatched_by")
                .col(Matches::UnmatchedBy)
                .take(),
        );

        // messages: between the two participants of a match; the recipient is named so that
        // the read rule is decided from the row alone.
        tables.push(
            c.table(
                Messages::Table,
                [
                    c.id(Messages::Id),
                    uuid(Messages::MatchId),
                    uuid(Messages::SenderId),
                    uuid(Messages::RecipientId),
                    text(Messages::Body),
                    timestamp_with_time_zone_null(Messages::ReadAt),
                ],
            )
            .foreign_key(&mut fk(
                Messages::Table,
                Messages::MatchId,
                Matches::Table,
                Matches::Id,
                Cascade,
            ))
            .foreign_key(&mut fk(
                Messages::Table,
                Messages::SenderId,
                Users::Table,
                Users::Id,
                Cascade,
            ))
            .foreign_key(&mut fk(
                Messages::Table,
                Messages::RecipientId,
                Users::Table,
                Users::Id,
                Cascade,
            ))
            .check(distinct(
                "messages",
                "not_self",
                Messages::SenderId,
                Messages::RecipientId,
            ))
            .take(),
        );
        indexes.push(
            index(Messages::Table, "match_id_created_at")
                .col(Messages::MatchId)
                .col(Common::CreatedAt)
                .take(),
        );
        indexes.push(
            index(Messages::Table, "sender_id")
                .col(Messages::SenderId)
                .take(),
        );
        indexes.push(
            index(Messages::Table, "recipient_id")
                .col(Messages::RecipientId)
                .take(),
        );

        tables.push(
            c.table(
                Blocks::Table,
                [
                    c.id(Blocks::Id),
                    uuid(Blocks::BlockerId),
                    uuid(Blocks::BlockedId),
                    text_null(Blocks::Reason),
                ],
            )
            .index(
                &mut unique(Blocks::Table, "blocker_id_blocked_id")
                    .col(Blocks::BlockerId)
                    .col(Blocks::BlockedId)
                    .take(),
            )
            .foreign_key(&mut fk(
                Blocks::Table,
                Blocks::BlockerId,
                Users::Table,
                Users::Id,
                Cascade,
            ))
            .foreign_key(&mut fk(
                Blocks::Table,
                Blocks::BlockedId,
                Users::Table,
                Users::Id,
                Cascade,
            ))
            .check(distinct(
                "blocks",
                "not_self",
                Blocks::BlockerId,
                Blocks::BlockedId,
            ))
            .take(),
        );
        indexes.push(
            index(Blocks::Table, "blocked_id")
                .col(Blocks::BlockedId)
                .take(),
        );

        tables.push(
            c.table(
                Reports::Table,
                [
                    c.id(Reports::Id),
                    uuid(Reports::ReporterId),
                    uuid(Reports::ReportedUserId),
                    text(Reports::Reason),
                    text_null(Reports::Details),
                    uuid_null(Reports::MessageId),
                    uuid_null(Reports::PhotoId),
                    text(Reports::Status).default("open").take(),
                ],
            )
            .foreign_key(&mut fk(
                Reports::Table,
                Reports::ReporterId,
                Users::Table,
                Users::Id,
                Cascade,
            ))
            .foreign_key(&mut fk(
                Reports::Table,
                Reports::ReportedUserId,
                Users::Table,
                Users::Id,
                Cascade,
            ))
            .foreign_key(&mut fk(
                Reports::Table,
                Reports::MessageId,
                Messages::Table,
                Messages::Id,
                SetNull,
            ))
            .foreign_key(&mut fk(
                Reports::Table,
                Reports::PhotoId,
                Photos::Table,
                Photos::Id,
                SetNull,
            ))
            .check(enum_check("reports", Reports::Reason))
            .check(enum_check("reports", Reports::Status))
            .check(distinct(
                "reports",
                "not_self",
                Reports::ReporterId,
                Reports::ReportedUserId,
            ))
            .take(),
        );
        for (suffix, column) in [
            ("reporter_id", Reports::ReporterId),
            ("reported_user_id", Reports::ReportedUserId),
            ("message_id", Reports::MessageId),
            ("photo_id", Reports::PhotoId),
        ] {
            indexes.push(index(Reports::Table, suffix).col(column).take());
        }

        tables.push(
            c.table(
                ModerationQueue::Table,
                [
                    c.id(ModerationQueue::Id),
                    uuid_null(ModerationQueue::ReportId),
                    uuid(ModerationQueue::SubjectUserId),
                    text(ModerationQueue::ContentType),
                    uuid_null(ModerationQueue::ContentId),
                    integer(ModerationQueue::Priority).default(0).take(),
                    text(ModerationQueue::Status).default("pending").take(),
                    uuid_null(ModerationQueue::AssignedTo),
                    text_null(ModerationQueue::Resolution),
                ],
            )
            .foreign_key(&mut fk(
                ModerationQueue::Table,
                ModerationQueue::ReportId,
                Reports::Table,
                Reports::Id,
                Cascade,
            ))
            .foreign_key(&mut fk(
                ModerationQueue::Table,
                ModerationQueue::SubjectUserId,
                Users::Table,
                Users::Id,
                Cascade,
            ))
            .foreign_key(&mut fk(
                ModerationQueue::Table,
                ModerationQueue::AssignedTo,
                Users::Table,
                Users::Id,
                SetNull,
            ))
            .check(enum_check("moderation_queue", ModerationQueue::ContentType))
            .check(enum_check("moderation_queue", ModerationQueue::Status))
            .take(),
        );
        for (suffix, column) in [
            ("report_id", ModerationQueue::ReportId),
            ("subject_user_id", ModerationQueue::SubjectUserId),
            ("assigned_to", ModerationQueue::AssignedTo),
        ] {
            indexes.push(index(ModerationQueue::Table, suffix).col(column).take());
        }

        tables.push(
            c.table(
                EnforcementActions::Table,
                [
                    c.id(EnforcementActions::Id),
                    uuid(EnforcementActions::SubjectUserId),
                    text(EnforcementActions::Action),
                    text(EnforcementActions::Reason),
                    uuid_null(EnforcementActions::ReportId),
                    uuid(EnforcementActions::IssuedBy),
                    timestamp_with_time_zone_null(EnforcementActions::ExpiresAt),
                    timestamp_with_time_zone_null(EnforcementActions::RevokedAt),
                ],
            )
            .foreign_key(&mut fk(
                EnforcementActions::Table,
                EnforcementActions::SubjectUserId,
                Users::Table,
                Users::Id,
                Cascade,
            ))
            .foreign_key(&mut fk(
                EnforcementActions::Table,
                EnforcementActions::ReportId,
                Reports::Table,
                Reports::Id,
                SetNull,
            ))
            .foreign_key(&mut fk(
                EnforcementActions::Table,
                EnforcementActions::IssuedBy,
                Users::Table,
                Users::Id,
                Cascade,
            ))
            .check(enum_check(
                "enforcement_actions",
                EnforcementActions::Action,
            ))
            .take(),
        );
        for (suffix, column) in [
            ("subject_user_id", EnforcementActions::SubjectUserId),
            ("report_id", EnforcementActions::ReportId),
            ("issued_by", EnforcementActions::IssuedBy),
        ] {
            indexes.push(index(EnforcementActions::Table, suffix).col(column).take());
        }

        // system_config: the base configuration, keyed by text.
        tables.push(
            c.table(
                SystemConfig::Table,
                [
                    text(SystemConfig::Key).primary_key().take(),
                    json(SystemConfig::Value),
                    boolean(SystemConfig::IsPublic).default(false).take(),
                    text_null(SystemConfig::Description),
                ],
            )
            .take(),
        );

        tables.push(
            c.table(
                FeatureFlags::Table,
                [
                    c.id(FeatureFlags::Id),
                    text(FeatureFlags::Key),
                    boolean(FeatureFlags::Enabled).default(false).take(),
                    integer(FeatureFlags::RolloutPercent).default(100).take(),
                    text_null(FeatureFlags::Description),
                ],
            )
            .index(
                &mut unique(FeatureFlags::Table, "key")
                    .col(FeatureFlags::Key)
                    .take(),
            )
            .check(Check::named(
                "ck_feature_flags_rollout_percent",
                Expr::col(FeatureFlags::RolloutPercent).between(0, 100),
            ))
            .take(),
        );

        tables.push(
            c.table(
                UserSegments::Table,
                [
                    c.id(UserSegments::Id),
                    text(UserSegments::Key),
                    text(UserSegments::Name),
                    text_null(UserSegments::Description),
                ],
            )
            .index(
                &mut unique(UserSegments::Table, "key")
                    .col(UserSegments::Key)
                    .take(),
            )
            .take(),
        );

        tables.push(
            c.table(
                UserSegmentMembers::Table,
                [
                    c.id(UserSegmentMembers::Id),
                    uuid(UserSegmentMembers::SegmentId),
                    uuid(UserSegmentMembers::UserId),
                ],
            )
            .index(
                &mut unique(UserSegmentMembers::Table, "segment_id_user_id")
                    .col(UserSegmentMembers::SegmentId)
                    .col(UserSegmentMembers::UserId)
                    .take(),
            )
            .foreign_key(&mut fk(
                UserSegmentMembers::Table,
                UserSegmentMembers::SegmentId,
                UserSegments::Table,
                UserSegments::Id,
                Cascade,
            ))
            .foreign_key(&mut fk(
                UserSegmentMembers::Table,
                UserSegmentMembers::UserId,
                Users::Table,
                Users::Id,
                Cascade,
            ))
            .take(),
        );
        indexes.push(
            index(UserSegmentMembers::Table, "user_id")
                .col(UserSegmentMembers::UserId)
                .take(),
        );

        // segment_config_overrides: a segment's value of a configuration key; of two
        // segments overriding one key, the higher `priority` wins.
        tables.push(
            c.table(
                SegmentConfigOverrides::Table,
                [
                    c.id(SegmentConfigOverrides::Id),
                    uuid(SegmentConfigOverrides::SegmentId),
                    text(SegmentConfigOverrides::Key),
                    json(SegmentConfigOverrides::Value),
                    integer(SegmentConfigOverrides::Priority).default(0).take(),
                ],
            )
            .index(
                &mut unique(SegmentConfigOverrides::Table, "segment_id_key")
                    .col(SegmentConfigOverrides::SegmentId)
                    .col(SegmentConfigOverrides::Key)
                    .take(),
            )
            .foreign_key(&mut fk(
                SegmentConfigOverrides::Table,
                SegmentConfigOverrides::SegmentId,
                UserSegments::Table,
                UserSegments::Id,
                Cascade,
            ))
            .take(),
        );

        tables.push(
            c.table(
                AdminUsers::Table,
                [
                    c.id(AdminUsers::Id),
                    uuid(AdminUsers::UserId),
                    text(AdminUsers::Role),
                    boolean(AdminUsers::IsActive).default(true).take(),
                ],
            )
            .index(
                &mut unique(AdminUsers::Table, "user_id")
                    .col(AdminUsers::UserId)
                    .take(),
            )
            .foreign_key(&mut fk(
                AdminUsers::Table,
                AdminUsers::UserId,
                Users::Table,
                Users::Id,
                Cascade,
            ))
            .check(enum_check("admin_users", AdminUsers::Role))
            .take(),
        );

        // admin_audit_log: written by the gateway for every staff write. No foreign keys:
        // the trail outlives the rows and the accounts it tells of.
        let mut audit = Table::create();
        audit
            .table(AdminAuditLog::Table)
            .col(c.id(AdminAuditLog::Id))
            .col(uuid_null(AdminAuditLog::AdminId))
            .col(text_null(AdminAuditLog::AdminRole))
            .col(text(AdminAuditLog::Action))
            .col(text(AdminAuditLog::TableName))
            .col(text_null(AdminAuditLog::RowId))
            .col(json_null(AdminAuditLog::OldValues))
            .col(json_null(AdminAuditLog::NewValues))
            .col(text_null(AdminAuditLog::RequestId))
            .col(c.stamp(AdminAuditLog::CreatedAt))
            .check(enum_check("admin_audit_log", AdminAuditLog::Action));
        tables.push(audit);
        indexes.push(
            index(AdminAuditLog::Table, "admin_id")
                .col(AdminAuditLog::AdminId)
                .take(),
        );
        indexes.push(
            index(AdminAuditLog::Table, "table_name_row_id")
                .col(AdminAuditLog::TableName)
                .col(AdminAuditLog::RowId)
                .take(),
        );

        tables.push(
            c.table(
                DataExportRequests::Table,
                [
                    c.id(DataExportRequests::Id),
                    uuid(DataExportRequests::UserId),
                    text(DataExportRequests::Status).default("pending").take(),
                    text(DataExportRequests::Format).default("json").take(),
                    text_null(DataExportRequests::DownloadUrl),
                    timestamp_with_time_zone_null(DataExportRequests::CompletedAt),
                ],
            )
            .foreign_key(&mut fk(
                DataExportRequests::Table,
                DataExportRequests::UserId,
                Users::Table,
                Users::Id,
                Cascade,
            ))
            .check(enum_check(
                "data_export_requests",
                DataExportRequests::Status,
            ))
            .check(enum_check(
                "data_export_requests",
                DataExportRequests::Format,
            ))
            .take(),
        );
        indexes.push(
            index(DataExportRequests::Table, "user_id")
                .col(DataExportRequests::UserId)
                .take(),
        );

        // data_deletion_requests: no foreign key to `users`, so the record of a completed
        // deletion outlives the account it deleted.
        tables.push(
            c.table(
                DataDeletionRequests::Table,
                [
                    c.id(DataDeletionRequests::Id),
                    uuid(DataDeletionRequests::UserId),
                    text(DataDeletionRequests::Status).default("pending").take(),
                    text_null(DataDeletionRequests::Reason),
                    timestamp_with_time_zone_null(DataDeletionRequests::ScheduledFor),
                    timestamp_with_time_zone_null(DataDeletionRequests::CompletedAt),
                ],
            )
            .check(enum_check(
                "data_deletion_requests",
                DataDeletionRequests::Status,
            ))
            .take(),
        );
        indexes.push(
            index(DataDeletionRequests::Table, "user_id")
                .col(DataDeletionRequests::UserId)
                .take(),
        );

        for table in tables {
            manager.create_table(table).await?;
        }
        for index in indexes {
            manager.create_index(index).await?;
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

/// The channel the cache listens on for changes made outside the gateway.
const CHANGE_CHANNEL: &str = "rowgate_changes";
const CHANGE_FUNCTION: &str = "rowgate_notify_change";
/// The channel subscriptions listen on for rows written outside the gateway.
const ROW_CHANNEL: &str = "rowgate_rows";
const ROW_FUNCTION: &str = "rowgate_notify_row";

/// Each table the gateway caches something of (principal facts, hot configuration, cached
/// rows), with the columns that name the cached entries.
const CACHED: [(&str, &[&str]); 6] = [
    ("blocks", &["blocker_id", "blocked_id"]),
    ("matches", &["user1_id", "user2_id"]),
    ("admin_users", &["user_id"]),
    ("user_segment_members", &["user_id", "segment_id"]),
    ("system_config", &["key"]),
    ("segment_config_overrides", &["segment_id", "key"]),
];

/// Each subscribable table with its key.
const SUBSCRIBABLE: [(&str, &[&str]); 2] = [("messages", &["id"]), ("matches", &["id"])];

/// PostgreSQL only: `NOTIFY rowgate_changes` from every cached table and `NOTIFY
/// rowgate_rows` from every subscribable one, so that writes made outside the gateway
/// invalidate its cache and reach subscribers (its own writes already do). Triggers change no
/// table: the entities are unaffected. Nothing on SQLite.
struct ChangeNotifications;

impl MigrationName for ChangeNotifications {
    fn name(&self) -> &str {
        "m20261201_000002_change_notifications"
    }
}

fn change_function() -> String {
    format!(
        r#"CREATE OR REPLACE FUNCTION {CHANGE_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_keys json;
    new_keys json;
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('{CHANGE_CHANNEL}', json_build_object('table', TG_TABLE_NAME, 'op', TG_OP)::text);
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT json_object_agg(c, to_jsonb(OLD) -> c) INTO old_keys FROM unnest(TG_ARGV) AS c;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT json_object_agg(c, to_jsonb(NEW) -> c) INTO new_keys FROM unnest(TG_ARGV) AS c;
    END IF;
    PERFORM pg_notify('{CHANGE_CHANNEL}', json_build_object(
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
    PERFORM pg_notify('{ROW_CHANNEL}', json_build_object(
        'table', TG_TABLE_NAME, 'op', TG_OP, 'key', row_keys,
        'origin', current_setting('rowgate.origin', true))::text);
    RETURN NULL;
END
$$"#
    )
}

fn arguments(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ")
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
        for (table, columns) in CACHED {
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {CHANGE_FUNCTION}_row AFTER INSERT OR UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION {CHANGE_FUNCTION}({})",
                arguments(columns)
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {CHANGE_FUNCTION}_truncate AFTER TRUNCATE ON {table} \
                 FOR EACH STATEMENT EXECUTE FUNCTION {CHANGE_FUNCTION}()"
            ))
            .await?;
        }
        for (table, key) in SUBSCRIBABLE {
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {ROW_FUNCTION} AFTER INSERT OR UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION {ROW_FUNCTION}({})",
                arguments(key)
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
        for (table, _) in CACHED {
            for suffix in ["row", "truncate"] {
                db.execute_unprepared(&format!(
                    "DROP TRIGGER IF EXISTS {CHANGE_FUNCTION}_{suffix} ON {table}"
                ))
                .await?;
            }
        }
        for (table, _) in SUBSCRIBABLE {
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
