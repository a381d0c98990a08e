//! The `rowgate` command itself: migrations up and down to zero, seeding, token minting,
//! and one clear line (never a panic) for every unusable setting.

use std::process::{Command, Output};

use migration::MigratorTrait;
use rowgate_tests::{Backend, TEST_SECRET, TestDatabase, backends};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

/// The `rowgate` binary with a clean environment pointing at `database`.
fn command(database: &TestDatabase) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rowgate"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &database.url)
        .env("ROWGATE_JWT_SECRET", TEST_SECRET)
        .env("ROWGATE_DATA_DIR", database.dir())
        .env("RUST_LOG", "off");
    command
}

fn rowgate(database: &TestDatabase, args: &[&str]) -> Output {
    command(database).args(args).output().expect("run rowgate")
}

fn succeed(database: &TestDatabase, args: &[&str]) -> String {
    let output = rowgate(database, args);
    assert!(
        output.status.success(),
        "rowgate {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// How many of the reference schema's tables exist.
async fn tables_present(database: &TestDatabase) -> usize {
    let db = Database::connect(&database.url).await.expect("connect");
    let names = migration::TABLES.map(|t| format!("'{t}'")).join(",");
    let (backend, sql) = match database.backend() {
        Backend::Sqlite => (
            DbBackend::Sqlite,
            format!(
                "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ({names})"
            ),
        ),
        Backend::Postgres => (
            DbBackend::Postgres,
            format!(
                "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ({names})"
            ),
        ),
    };
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .expect("count tables")
        .expect("one row");
    let n: i64 = row.try_get("", "n").expect("count");
    db.close().await.ok();
    usize::try_from(n).expect("count")
}

#[tokio::test]
async fn migrate_fresh_creates_every_table_and_down_all_removes_them() {
    for backend in backends("migrate_fresh_creates_every_table_and_down_all_removes_them") {
        let database = TestDatabase::create(backend).await;
        assert_eq!(tables_present(&database).await, 0, "{backend}");
        succeed(&database, &["migrate", "fresh"]);
        assert_eq!(tables_present(&database).await, 22, "{backend}");
        let status = succeed(&database, &["migrate", "status"]);
        assert!(!status.contains("pending"), "{status}");
        assert_eq!(
            status.lines().count(),
            migration::Migrator::migrations().len(),
            "{status}"
        );

        succeed(&database, &["migrate", "down"]);
        let status = succeed(&database, &["migrate", "status"]);
        assert_eq!(
            status.lines().filter(|l| l.starts_with("pending")).count(),
            1,
            "{status}"
        );

        succeed(&database, &["migrate", "down", "--all"]);
        assert_eq!(
            tables_present(&database).await,
            0,
            "{backend}: tables left after down --all"
        );
        succeed(&database, &["migrate", "up"]);
        assert_eq!(tables_present(&database).await, 22, "{backend}");
    }
}

#[tokio::test]
async fn seeds_and_tokens() {
    for backend in backends("seeds_and_tokens") {
        let database = TestDatabase::create(backend).await;
        succeed(&database, &["migrate", "up"]);
        let out = succeed(&database, &["seed", "--demo"]);
        assert!(out.contains("member of Acme (bob)"), "{out}");
        // The printed accounts name their user and tenant ids, for `token` and X-Tenant-Id.
        let bob = rowgate_tests::demo::BOB.to_string();
        let acme = rowgate_tests::demo::ACME.to_string();
        assert!(
            out.lines()
                .any(|l| l.contains("(bob)") && l.contains(&bob) && l.contains(&acme)),
            "{out}"
        );
        // A second demo seed says so and writes nothing, instead of a duplicate-key error.
        let again = succeed(&database, &["seed", "--demo"]);
        assert!(again.contains("already loaded"), "{again}");

        let report = succeed(&database, &["seed", "--scale", "2"]);
        assert!(
            report.contains(
                "2 tenants, 200 users, 220 memberships, 2000 posts, 10000 comments, 4000 notifications, 30 flags, 8 blocks"
            ),
            "{report}"
        );
        // A second scale seed refuses without writing anything.
        let again = rowgate(&database, &["seed", "--scale", "2"]);
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("already present"));

        let user = rowgate_tests::demo::BOB.to_string();
        let token = succeed(&database, &["token", "--user", &user, "--ttl", "30m"]);
        assert_eq!(token.trim().split('.').count(), 3, "{token}");
        let refused = rowgate(&database, &["token", "--role", "authenticated"]);
        assert!(
            !refused.status.success(),
            "an authenticated token needs --user"
        );
    }
}

#[test]
fn a_token_minted_outside_the_data_directory_is_refused() {
    // The embedded default in an empty directory: no secret of any gateway there.
    let dir = tempfile::tempdir().expect("dir");
    let output = Command::new(env!("CARGO_BIN_EXE_rowgate"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "off")
        .current_dir(dir.path())
        .args(["token", "--user", &rowgate_tests::demo::BOB.to_string()])
        .output()
        .expect("run rowgate");
    assert!(
        !output.status.success(),
        "a token signed with a fresh secret"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("ROWGATE_DATA_DIR") && stderr.contains("rowgate.secret"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        !dir.path().join("rowgate.secret").exists(),
        "no secret is left behind for a later run to sign with"
    );
}

#[tokio::test]
async fn unusable_settings_exit_with_one_clear_line() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken_addr = taken.local_addr().expect("addr").to_string();
    let cases: [(&str, &str, &[&str]); 7] = [
        (
            "DATABASE_URL",
            "postgres://nobody@127.0.0.1:1/none",
            &["migrate", "up"],
        ),
        ("DATABASE_URL", "mysql://localhost/x", &["serve"]),
        ("ROWGATE_LISTEN", "not-an-address", &["serve"]),
        ("ROWGATE_LISTEN", &taken_addr, &["serve"]),
        ("ROWGATE_JWT_SECRET", "too-short", &["serve"]),
        ("REDIS_URL", "localhost:6379", &["serve"]),
        ("ROWGATE_AUTO_MIGRATE", "perhaps", &["serve"]),
    ];
    for (setting, value, args) in cases {
        let output = command(&database)
            .args(args)
            .env(setting, value)
            .output()
            .expect("run rowgate");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{setting}={value}: {stderr}");
        assert!(!stderr.contains("panicked"), "{setting}={value}: {stderr}");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{setting}={value}: {stderr}"
        );
        assert!(
            stderr.starts_with(&format!("rowgate: {setting}")),
            "{setting}={value}: {stderr}"
        );
    }
}
