//! Fresh databases for the migration tests: a temporary SQLite file, and a uniquely named
//! PostgreSQL database created from `DATABASE_URL` and dropped afterwards.

use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sea_orm::{ConnectionTrait, Database};

/// Runs `scenario` with the URL of a new, empty SQLite database in a temporary directory.
pub async fn on_fresh_sqlite<F, Fut>(scenario: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("rowgate.db");
    scenario(format!("sqlite://{}?mode=rwc", path.display())).await;
}

/// Runs `scenario` with the URL of a new, empty PostgreSQL database, dropped afterwards even
/// when the scenario panics.
///
/// The server comes from `DATABASE_URL`. Without it the scenario is skipped with a loud note
/// on stderr, unless `ROWGATE_REQUIRE_SERVICES=1`, which turns the skip into a failure.
pub async fn on_fresh_postgres<F, Fut>(test: &str, scenario: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(server_url) = postgres_server_url(test) else {
        return;
    };
    let name = unique_database_name(test);
    let admin = Database::connect(&server_url)
        .await
        .unwrap_or_else(|e| panic!("connect to DATABASE_URL ({server_url}): {e}"));
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap_or_else(|e| panic!("create database {name}: {e}"));

    let outcome = tokio::spawn(scenario(with_database(&server_url, &name))).await;

    let dropped = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await;
    admin.close().await.ok();
    match outcome {
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("scenario on {name} did not complete: {e}"),
        Ok(()) => {}
    }
    dropped.unwrap_or_else(|e| panic!("drop database {name}: {e}"));
}

/// `DATABASE_URL` if it names a PostgreSQL server; `None` (after saying so) when the test
/// may be skipped.
fn postgres_server_url(test: &str) -> Option<String> {
    let required = std::env::var("ROWGATE_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => Some(url),
        Ok(url) => {
            let why = format!("DATABASE_URL is not a PostgreSQL URL ({url})");
            assert!(!required, "{test}: {why} and ROWGATE_REQUIRE_SERVICES=1");
            skipped(&format!("{test} on PostgreSQL: {why}"));
            None
        }
        Err(_) => {
            assert!(
                !required,
                "{test}: DATABASE_URL not set and ROWGATE_REQUIRE_SERVICES=1"
            );
            skipped(&format!(
                "{test} on PostgreSQL: DATABASE_URL not set \
                 (e.g. postgres://postgres@127.0.0.1:5432/postgres)"
            ));
            None
        }
    }
}

/// Says loudly that a test did not run. Written to the process's stderr directly, not through
/// `eprintln!`, which the test harness captures and shows only for failing tests.
fn skipped(what: &str) {
    let mut stderr = std::io::stderr().lock();
    writeln!(stderr, "\n===== SKIPPED: {what} =====\n").ok();
}

/// A database name no other test run (or concurrent test) uses.
fn unique_database_name(test: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "rowgate_test_{test}_{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The same server URL with its database path replaced by `database` (query kept).
fn with_database(server_url: &str, database: &str) -> String {
    let authority_start = server_url.find("://").map_or(0, |i| i + 3);
    let (base, query) = match server_url.find('?') {
        Some(q) => server_url.split_at(q),
        None => (server_url, ""),
    };
    let host_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{database}{query}", &base[..host_end])
}

#[test]
fn with_database_replaces_only_the_path() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/db?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://h:5432", "x"),
        "postgres://h:5432/x"
    );
}
