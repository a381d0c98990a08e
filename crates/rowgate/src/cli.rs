//! The command line every application gets: `serve | migrate | seed | print-schema | token`.
//! An application's `main` is `rowgate::cli::main(application)`.

use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use uuid::Uuid;

use crate::Application;
use crate::auth::jwt::{TokenRequest, mint_token};
use crate::config::{Config, SecretSource, Settings};
use crate::{StartupError, db};

#[derive(Debug, Parser)]
#[command(
    name = "rowgate",
    version,
    about = "GraphQL gateway with row-level authorization"
)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default command).
    Serve,
    /// Apply, roll back or inspect migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Load demo data or deterministic bulk data.
    Seed {
        /// The application's demo data (the accounts `serve` prints tokens for).
        #[arg(long, conflicts_with = "scale", required_unless_present = "scale")]
        demo: bool,
        /// N units of the application's deterministic bulk data (for benchmarks).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        scale: Option<u32>,
    },
    /// Print the GraphQL schema (SDL).
    PrintSchema,
    /// Mint a token signed with the configured secret.
    Token {
        /// The user id (`sub`); required for `authenticated`.
        #[arg(long)]
        user: Option<Uuid>,
        /// The active tenant (`tenant_id` claim).
        #[arg(long)]
        tenant: Option<Uuid>,
        /// `authenticated` or `service_role`.
        #[arg(long, default_value = "authenticated", value_parser = ["authenticated", "service_role"])]
        role: String,
        /// Lifetime: `3600`, `90s`, `30m`, `1h`, `7d`.
        #[arg(long, default_value = "1h", value_parser = parse_ttl)]
        ttl: Duration,
    },
}

#[derive(Debug, Subcommand)]
enum MigrateAction {
    /// Apply pending migrations.
    Up {
        /// Apply at most this many.
        #[arg(short = 'n', long)]
        steps: Option<u32>,
    },
    /// Roll back migrations (one by default).
    Down {
        /// Roll back this many.
        #[arg(short = 'n', long, conflicts_with = "all")]
        steps: Option<u32>,
        /// Roll back every migration (drops every table).
        #[arg(long)]
        all: bool,
    },
    /// List migrations and whether each is applied.
    Status,
    /// Drop everything and apply every migration from scratch.
    Fresh,
}

fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30m, 1h or 7d"))?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{text}` is not a duration like 30m, 1h or 7d")),
    };
    n.checked_mul(factor)
        .filter(|s| *s > 0)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` must be a positive duration"))
}

/// Runs the command line of `application` (arguments from the process) and returns the exit
/// code: what an application's `main` returns.
pub fn main(application: Result<Application, StartupError>) -> ExitCode {
    let command = Cli::command().about(format!(
        "GraphQL gateway with row-level authorization: {}",
        application.as_ref().map_or("?", |a| a.name())
    ));
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let name = binary_name();
    let application = match application {
        Ok(application) => application,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{name}: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&application, cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The name the program was started as (for messages).
fn binary_name() -> String {
    std::env::args_os()
        .next()
        .and_then(|arg| {
            std::path::Path::new(&arg)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "rowgate".into())
}

async fn run(app: &Application, cli: Cli) -> Result<(), StartupError> {
    let verifies_tokens = matches!(
        cli.command,
        None | Some(Command::Serve | Command::Token { .. })
    );
    let config = if verifies_tokens {
        cli.settings.resolve()?
    } else {
        cli.settings.resolve_without_keys()?
    };

    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(app, config).await,
        Command::Migrate { action } => migrate(app, &config, action).await,
        Command::Seed { scale, .. } => {
            let db = db::connect_for_maintenance(&config).await?;
            let demo = app.demo().ok_or_else(|| {
                StartupError::Seed(format!("application {} has no demo data", app.name()))
            })?;
            match scale {
                Some(n) => {
                    let report = demo
                        .seed_scale(&db, n)
                        .ok_or_else(|| {
                            StartupError::Seed(format!(
                                "application {} has no bulk data (--scale)",
                                app.name()
                            ))
                        })?
                        .await
                        .map_err(|e| StartupError::Seed(e.to_string()))?;
                    println!("{report}");
                }
                None => {
                    let loaded = demo
                        .is_present(&db)
                        .await
                        .map_err(|e| StartupError::Seed(e.to_string()))?;
                    if loaded {
                        println!("the demo data is already loaded; nothing was written");
                    } else {
                        demo.seed(&db)
                            .await
                            .map_err(|e| StartupError::Seed(e.to_string()))?;
                        println!("demo data loaded");
                    }
                    if let Some(secret) = &config.jwt.secret {
                        print_demo_tokens(app, &config, secret);
                    }
                }
            }
            Ok(())
        }
        Command::PrintSchema => {
            let store = app.store(sea_orm::DatabaseConnection::default());
            let schema = app.schema(store, crate::graphql::SchemaOptions::default())?;
            print!("{}", schema.sdl());
            Ok(())
        }
        Command::Token {
            user,
            tenant,
            role,
            ttl,
        } => {
            // A secret generated just now signs tokens no running gateway accepts: the
            // command ran outside the server's data directory.
            if config.jwt.secret_source == Some(SecretSource::Generated) {
                let _ = std::fs::remove_file(config.data_dir.join(crate::config::SECRET_FILE));
                return Err(StartupError::Config(crate::config::ConfigError {
                    setting: "ROWGATE_DATA_DIR",
                    problem: format!(
                        "{} holds no {} of a gateway that ran there: run `token` in the directory the gateway serves from (its data directory), set ROWGATE_DATA_DIR to it, or set ROWGATE_JWT_SECRET",
                        std::path::absolute(&config.data_dir)
                            .unwrap_or_else(|_| config.data_dir.clone())
                            .display(),
                        crate::config::SECRET_FILE
                    ),
                }));
            }
            let secret = config.jwt.secret.as_ref().ok_or_else(|| {
                StartupError::Config(crate::config::ConfigError {
                    setting: "ROWGATE_JWT_SECRET",
                    problem: "no secret is configured to sign with".into(),
                })
            })?;
            if role == "authenticated" && user.is_none() {
                return Err(StartupError::Config(crate::config::ConfigError {
                    setting: "--user",
                    problem: "is required for an authenticated token".into(),
                }));
            }
            let token = mint_token(
                secret,
                &TokenRequest {
                    user,
                    tenant,
                    role,
                    ttl,
                    audience: config.jwt.audience.clone(),
                    issuer: config.jwt.issuer.clone(),
                },
            )
            .map_err(|e| StartupError::Seed(e.to_string()))?;
            println!("{token}");
            Ok(())
        }
    }
}

async fn migrate(
    app: &Application,
    config: &Config,
    action: MigrateAction,
) -> Result<(), StartupError> {
    let db = db::connect_for_maintenance(config).await?;
    let migrations = app.migrations();
    match action {
        MigrateAction::Up { steps } => {
            migrations.up(&db, steps).await?;
            println!("migrations applied");
        }
        MigrateAction::Down { steps, all } => {
            migrations
                .down(&db, if all { None } else { Some(steps.unwrap_or(1)) })
                .await?;
            println!("migrations rolled back");
        }
        MigrateAction::Fresh => {
            migrations.fresh(&db).await?;
            println!("database recreated from scratch");
        }
        MigrateAction::Status => {
            for (name, applied) in migrations.status(&db).await? {
                println!("{} {name}", if applied { "applied" } else { "pending" });
            }
        }
    }
    Ok(())
}

async fn serve(app: &Application, config: Config) -> Result<(), StartupError> {
    if config.auto_migrate || config.seed_demo {
        let maintenance = db::connect_for_maintenance(&config).await?;
        if config.auto_migrate {
            app.migrations().up(&maintenance, None).await?;
        }
        if config.seed_demo
            && let Some(demo) = app.demo()
            && demo
                .is_empty(&maintenance)
                .await
                .map_err(|e| StartupError::Seed(e.to_string()))?
        {
            demo.seed(&maintenance)
                .await
                .map_err(|e| StartupError::Seed(e.to_string()))?;
            tracing::info!("demo data loaded");
        }
        // Closed before serving, so an embedded SQLite database has one pool at a time.
        let _ = maintenance.close().await;
    }
    let db = db::connect(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|cause| StartupError::Listen {
            addr: config.listen,
            cause,
        })?;
    let demo_present = match app.demo() {
        Some(demo) => demo.is_present(&db).await.unwrap_or(false),
        None => false,
    };
    let grace = config.shutdown_grace;
    let gateway = app.gateway(config.clone(), db)?;

    println!("{} listening on http://{}", binary_name(), config.listen);
    if config.graphiql {
        println!("GraphiQL: http://{}/", config.listen);
    }
    if config.embedded_default {
        println!("database: embedded SQLite in {}", config.data_dir.display());
    }
    match config.jwt.secret_source {
        Some(SecretSource::Generated) => {
            println!("JWT secret generated and kept in the data directory")
        }
        Some(SecretSource::Persisted) => println!("JWT secret read from the data directory"),
        _ => {}
    }
    if demo_present && let Some(secret) = &config.jwt.secret {
        print_demo_tokens(app, &config, secret);
    }
    let store = gateway.store.clone();
    let shutdown = async move {
        crate::shutdown_signal().await;
        store.begin_shutdown();
    };
    crate::serve(listener, gateway.router, shutdown, grace).await
}

fn print_demo_tokens(app: &Application, config: &Config, secret: &crate::config::Secret) {
    println!(
        "\nDemo tokens (valid 12h; GraphiQL offers them under \"Act as\", or paste one into its headers as {{\"Authorization\": \"Bearer <token>\"}}):"
    );
    for demo in app.demo_tokens(&config.jwt, secret) {
        let ids = |label: &str, id: Option<Uuid>| id.map(|id| format!(" {label} {id}"));
        let account = demo.account;
        println!(
            "  {}{}{}",
            account.label,
            ids("· user", account.user).unwrap_or_default(),
            ids("· tenant", account.tenant).unwrap_or_default()
        );
        match demo.token {
            Ok(token) => println!("    {token}"),
            Err(e) => eprintln!(
                "{}: cannot mint the demo token for {}: {e}",
                binary_name(),
                demo.account.label
            ),
        }
    }
    println!();
}
