//! The schema: `projects` (an owner's, public or not), `tasks` (in a project, with an
//! optional due date, reminder time, estimate, budget, priority, attachment, labels,
//! watchers and sprints) and `audit_logs` (every write, recorded by the gateway). The same
//! migration runs on PostgreSQL and SQLite; two column kinds differ between them: the
//! priority is a native enum type on PostgreSQL (TEXT on SQLite), and the arrays are
//! PostgreSQL arrays (JSON text on SQLite, which has no arrays).

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::extension::postgres::Type;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    array_null, blob_null, boolean, date_null, decimal_len_null, double_null, enumeration_null,
    json_null, text, text_null, time_null, timestamp_with_time_zone, uuid, uuid_null,
};
use sea_orm_migration::sea_orm::DbBackend;

/// Every migration of the application.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateProjectsAndTasks)]
    }
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    OwnerId,
    Name,
    IsPublic,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
    ProjectId,
    Title,
    Done,
    DueOn,
    RemindAt,
    EstimateHours,
    Budget,
    Priority,
    Attachment,
    Labels,
    WatcherIds,
    Sprints,
    CreatedAt,
    UpdatedAt,
}

/// The values of `tasks.priority`, in their order.
#[derive(DeriveIden)]
enum TaskPriority {
    #[sea_orm(iden = "task_priority")]
    Enum,
    Low,
    Normal,
    High,
    Urgent,
}

#[derive(DeriveIden)]
enum AuditLogs {
    Table,
    Id,
    ActorId,
    Action,
    TableName,
    RowId,
    OldValues,
    NewValues,
    RequestId,
    CreatedAt,
}

#[derive(DeriveMigrationName)]
struct CreateProjectsAndTasks;

#[async_trait::async_trait]
impl MigrationTrait for CreateProjectsAndTasks {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        let priorities = || {
            [
                TaskPriority::Low,
                TaskPriority::Normal,
                TaskPriority::High,
                TaskPriority::Urgent,
            ]
        };
        if postgres {
            manager
                .create_type(
                    Type::create()
                        .as_enum(TaskPriority::Enum)
                        .values(priorities())
                        .to_owned(),
                )
                .await?;
        }
        // PostgreSQL arrays; JSON text on SQLite, where the gateway stores them as JSON.
        let array = |column: Tasks, element: ColumnType| {
            if postgres {
                array_null(column, element)
            } else {
                json_null(column)
            }
        };
        manager
            .create_table(
                Table::create()
                    .table(Projects::Table)
                    .col(uuid(Projects::Id).primary_key())
                    .col(uuid(Projects::OwnerId))
                    .col(text(Projects::Name))
                    .col(boolean(Projects::IsPublic).default(false))
                    .col(timestamp_with_time_zone(Projects::CreatedAt))
                    .col(timestamp_with_time_zone(Projects::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("projects_owner_id")
                    .table(Projects::Table)
                    .col(Projects::OwnerId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Tasks::Table)
                    .col(uuid(Tasks::Id).primary_key())
                    .col(uuid(Tasks::ProjectId))
                    .col(text(Tasks::Title))
                    .col(boolean(Tasks::Done).default(false))
                    .col(date_null(Tasks::DueOn))
                    .col(time_null(Tasks::RemindAt))
                    .col(double_null(Tasks::EstimateHours))
                    .col(decimal_len_null(Tasks::Budget, 12, 2))
                    .col(enumeration_null(
                        Tasks::Priority,
                        TaskPriority::Enum,
                        priorities(),
                    ))
                    .col(blob_null(Tasks::Attachment))
                    .col(array(Tasks::Labels, ColumnType::Text))
                    .col(array(Tasks::WatcherIds, ColumnType::Uuid))
                    .col(array(Tasks::Sprints, ColumnType::Integer))
                    .col(timestamp_with_time_zone(Tasks::CreatedAt))
                    .col(timestamp_with_time_zone(Tasks::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("tasks_project_id_fkey")
                            .from(Tasks::Table, Tasks::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("tasks_project_id")
                    .table(Tasks::Table)
                    .col(Tasks::ProjectId)
                    .to_owned(),
            )
            .await?;
        // The audit trail: the gateway records every write here, in the write's
        // transaction. No foreign keys: the trail outlives the rows it tells of.
        manager
            .create_table(
                Table::create()
                    .table(AuditLogs::Table)
                    .col(uuid(AuditLogs::Id).primary_key())
                    .col(uuid_null(AuditLogs::ActorId))
                    .col(text(AuditLogs::Action))
                    .col(text(AuditLogs::TableName))
                    .col(text_null(AuditLogs::RowId))
                    .col(json_null(AuditLogs::OldValues))
                    .col(json_null(AuditLogs::NewValues))
                    .col(text_null(AuditLogs::RequestId))
                    .col(timestamp_with_time_zone(AuditLogs::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_logs_actor_id")
                    .table(AuditLogs::Table)
                    .col(AuditLogs::ActorId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditLogs::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Tasks::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Projects::Table).to_owned())
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .drop_type(Type::drop().name(TaskPriority::Enum).to_owned())
                .await?;
        }
        Ok(())
    }
}
