//! Database connection and migrations, with errors that name the setting at fault.

use std::future::Future;
use std::time::Duration;

use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;

use crate::config::{Config, DatabaseKind};

/// A failure to reach or migrate the database, phrased for the operator.
#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    /// The database cannot be reached.
    #[error(
        "DATABASE_URL: cannot connect to the {kind} database ({cause}); check that it is running and the URL is right"
    )]
    Connect {
        /// Engine name.
        kind: &'static str,
        /// The driver's reason, without the URL.
        cause: String,
    },
    /// A migration failed.
    #[error(
        "migration failed: {0}; the database was left at the last migration that succeeded (see `rowgate migrate status`)"
    )]
    Migrate(String),
}

/// Opens the pool requests are served from: statements end after the configured
/// statement timeout, and waiting for a connection does too.
pub async fn connect(config: &Config) -> Result<DatabaseConnection, DbSetupError> {
    open(config, Some(config.statement_timeout)).await
}

/// Opens a small pool for migrations and seeding, whose statements (an index built over
/// a large table, a bulk seed) may run longer than any request should: no statement
/// timeout.
pub async fn connect_for_maintenance(config: &Config) -> Result<DatabaseConnection, DbSetupError> {
    open(config, None).await
}

/// How long a maintenance connection waits for SQLite's write lock.
const MAINTENANCE_BUSY_TIMEOUT: Duration = Duration::from_secs(300);

async fn open(
    config: &Config,
    statement_timeout: Option<Duration>,
) -> Result<DatabaseConnection, DbSetupError> {
    let url = config.database_url.expose();
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .connect_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    if let Some(timeout) = statement_timeout {
        options
            .acquire_timeout(config.pool.acquire_timeout)
            .statement_timeout(timeout)
            .idle_timeout(config.pool.idle_timeout);
    }
    let kind = match config.database_kind {
        DatabaseKind::Postgres => "PostgreSQL",
        DatabaseKind::Sqlite => "SQLite",
    };
    options
        .max_connections(if statement_timeout.is_some() {
            config.pool.size
        } else {
            2
        })
        .min_connections(1);
    if config.database_kind == DatabaseKind::Sqlite {
        // Per connection (a PRAGMA sent once reaches only one connection of the pool):
        // a writer waits for the database's write lock as long as a statement may run.
        let busy = statement_timeout.unwrap_or(MAINTENANCE_BUSY_TIMEOUT);
        options.map_sqlx_sqlite_opts(move |o| {
            o.busy_timeout(busy)
                .foreign_keys(true)
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
        });
    }
    let db = Database::connect(options)
        .await
        .map_err(|e| DbSetupError::Connect {
            kind,
            cause: redact(&e.to_string(), url),
        })?;
    if config.database_kind == DatabaseKind::Sqlite {
        use sea_orm::ConnectionTrait;
        for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA foreign_keys = ON"] {
            db.execute_unprepared(pragma)
                .await
                .map_err(|e| DbSetupError::Connect {
                    kind,
                    cause: e.to_string(),
                })?;
        }
    }
    Ok(db)
}

/// Removes the URL (which may carry a password) from a driver message.
fn redact(message: &str, url: &str) -> String {
    message.replace(url, "<DATABASE_URL>")
}

/// An application's migrations, as the engine runs them (`rowgate migrate …`, the
/// start-up migration of `ROWGATE_AUTO_MIGRATE`, the test kit). [`MigratorOf`] wraps any
/// sea-orm-migration `MigratorTrait`.
pub trait Migrations: Send + Sync + std::fmt::Debug + 'static {
    /// Applies pending migrations (at most `steps`).
    fn up<'a>(&'a self, db: &'a DatabaseConnection, steps: Option<u32>) -> BoxFuture<'a>;
    /// Rolls back `steps` migrations, or all of them.
    fn down<'a>(&'a self, db: &'a DatabaseConnection, steps: Option<u32>) -> BoxFuture<'a>;
    /// Drops every table and applies every migration.
    fn fresh<'a>(&'a self, db: &'a DatabaseConnection) -> BoxFuture<'a>;
    /// Each known migration and whether it is applied.
    fn status<'a>(&'a self, db: &'a DatabaseConnection) -> StatusFuture<'a>;
}

/// What a migration step returns.
pub type BoxFuture<'a> =
    std::pin::Pin<Box<dyn Future<Output = Result<(), DbSetupError>> + Send + 'a>>;

/// What [`Migrations::status`] returns: each migration's name and whether it is applied.
pub type StatusFuture<'a> =
    std::pin::Pin<Box<dyn Future<Output = Result<Vec<(String, bool)>, DbSetupError>> + Send + 'a>>;

/// The [`Migrations`] of a sea-orm-migration migrator `M`.
pub struct MigratorOf<M>(std::marker::PhantomData<fn() -> M>);

impl<M> MigratorOf<M> {
    /// Wraps `M`.
    pub fn new() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<M> Default for MigratorOf<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M> std::fmt::Debug for MigratorOf<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(std::any::type_name::<M>())
    }
}

fn migrate_error(e: sea_orm::DbErr) -> DbSetupError {
    DbSetupError::Migrate(e.to_string())
}

impl<M: MigratorTrait + 'static> Migrations for MigratorOf<M> {
    fn up<'a>(&'a self, db: &'a DatabaseConnection, steps: Option<u32>) -> BoxFuture<'a> {
        Box::pin(async move { M::up(db, steps).await.map_err(migrate_error) })
    }

    fn down<'a>(&'a self, db: &'a DatabaseConnection, steps: Option<u32>) -> BoxFuture<'a> {
        Box::pin(async move { M::down(db, steps).await.map_err(migrate_error) })
    }

    fn fresh<'a>(&'a self, db: &'a DatabaseConnection) -> BoxFuture<'a> {
        Box::pin(async move { M::fresh(db).await.map_err(migrate_error) })
    }

    fn status<'a>(&'a self, db: &'a DatabaseConnection) -> StatusFuture<'a> {
        Box::pin(async move {
            let applied: Vec<String> = M::get_applied_migrations(db)
                .await
                .map_err(migrate_error)?
                .iter()
                .map(|m| m.name().to_owned())
                .collect();
            Ok(M::migrations()
                .iter()
                .map(|m| (m.name().to_owned(), applied.iter().any(|a| a == m.name())))
                .collect())
        })
    }
}

/// The [`Migrations`] of an application whose database is managed elsewhere (an existing
/// Supabase or PostgreSQL schema): nothing to apply, and nothing to roll back.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMigrations;

impl Migrations for NoMigrations {
    fn up<'a>(&'a self, _: &'a DatabaseConnection, _: Option<u32>) -> BoxFuture<'a> {
        Box::pin(async { Ok(()) })
    }

    fn down<'a>(&'a self, _: &'a DatabaseConnection, _: Option<u32>) -> BoxFuture<'a> {
        Box::pin(async { Err(unmanaged()) })
    }

    fn fresh<'a>(&'a self, _: &'a DatabaseConnection) -> BoxFuture<'a> {
        Box::pin(async { Err(unmanaged()) })
    }

    fn status<'a>(&'a self, _: &'a DatabaseConnection) -> StatusFuture<'a> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

fn unmanaged() -> DbSetupError {
    DbSetupError::Migrate(
        "this application's schema is managed outside the gateway (it declares no migrations)"
            .into(),
    )
}
