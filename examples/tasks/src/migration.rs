//! The schema: `projects` (an owner's, public or not) and `tasks` (in a project, with an
//! optional due date, reminder time and estimate). Portable:
//! the same migration runs on PostgreSQL and SQLite.

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    boolean, date_null, double_null, text, time_null, timestamp_with_time_zone, uuid,
};

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
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveMigrationName)]
struct CreateProjectsAndTasks;

#[async_trait::async_trait]
impl MigrationTrait for CreateProjectsAndTasks {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Tasks::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Projects::Table).to_owned())
            .await
    }
}
