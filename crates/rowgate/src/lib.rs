//! rowgate: a GraphQL gateway engine with row-level authorization. An application — its
//! SeaORM entities, its policies, its migrations, its schema extensions and demo data — is
//! put together with [`Builder`]; [`Application::gateway`] is the one place the pieces are
//! wired: configuration, database, token verification and the GraphQL schema become one axum
//! [`Router`]; [`cli::main`] gives the application the `serve | migrate | seed |
//! print-schema | token` command line.

pub mod app;
pub mod auth;
pub mod cache;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod graphql;
pub mod hooks;
pub mod http;
pub mod planner;
pub mod realtime;

/// The policy language (crate `rowgate-policy`): pure, so that what a policy means depends on
/// nothing but its declaration and the principal.
pub use rowgate_policy as policy;
pub mod ws;

use std::future::Future;

use axum::Router;
use sea_orm::DatabaseConnection;

pub use crate::app::{Application, Builder, DemoAccount, DemoData, SchemaExtension};
pub use crate::catalog::{ComputedField, ComputedType};
use crate::config::Config;
use crate::http::{AppState, Shared};

/// A failure to start, phrased as one line naming the setting at fault and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A configuration value is unusable.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The database cannot be reached or migrated.
    #[error(transparent)]
    Database(#[from] db::DbSetupError),
    /// Seeding failed.
    #[error("seeding failed: {0}")]
    Seed(String),
    /// The listen address cannot be bound.
    #[error(
        "ROWGATE_LISTEN: cannot listen on {addr}: {cause}; stop the other process or choose another address"
    )]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        cause: std::io::Error,
    },
    /// A table lacks a policy, or a declaration does not compile (fail closed).
    #[error("policy: {0}")]
    Policy(String),
    /// The GraphQL schema cannot be built (a declaration is inconsistent).
    #[error("schema: {0}")]
    Schema(String),
    /// The persisted-query manifest cannot be read or holds a bad entry.
    #[error("ROWGATE_PERSISTED_QUERIES_MANIFEST: {0}")]
    PersistedQueries(String),
    /// `REDIS_URL` cannot be parsed.
    #[error("REDIS_URL: {0}")]
    Redis(String),
    /// The server stopped with an I/O error.
    #[error("server: {0}")]
    Serve(std::io::Error),
}

/// A built gateway: the router with the store and the cache it serves from.
#[derive(Debug)]
pub struct Gateway {
    /// Every route.
    pub router: Router,
    /// The store the routes serve from (whose statement counter tests read).
    pub store: planner::Store,
    /// The cache the routes answer hot configuration and principal facts from.
    pub cache: cache::HotCache,
}

fn build_gateway(
    application: &Application,
    config: Config,
    db: DatabaseConnection,
) -> Result<Gateway, StartupError> {
    let store = application.store(db.clone());
    let cache = cache::HotCache::new(store.clone(), &config)
        .map_err(|e| StartupError::Redis(e.to_string()))?;
    let schema_options = graphql::SchemaOptions {
        introspection: config.introspection,
        ..graphql::SchemaOptions::default()
    };
    let schema = graphql::build_schema_with(
        store.clone(),
        cache.clone(),
        schema_options,
        application.extensions(),
    )
    .map_err(|e| StartupError::Schema(e.to_string()))?;
    let verifier = auth::TokenVerifier::new(&config.jwt)?;
    let persisted = graphql::persisted::PersistedQueries::new(
        &config.persisted_queries,
        cache.clone(),
        config.limits.max_document_bytes,
    )
    .map_err(StartupError::PersistedQueries)?;
    let redis = config
        .redis_url
        .as_ref()
        .map(|url| redis::Client::open(url.expose()))
        .transpose()
        .map_err(|e| StartupError::Redis(e.to_string()))?;
    if tokio::runtime::Handle::try_current().is_ok() {
        realtime::Realtime::start(&store, redis.clone(), &config.cache.prefix);
    }
    Ok(Gateway {
        router: http::router(AppState::new(Shared {
            config,
            db,
            store: store.clone(),
            schema,
            verifier,
            redis,
            cache: cache.clone(),
            persisted,
            application: application.clone(),
        })),
        store,
        cache,
    })
}

/// Serves `router` on `listener` until `shutdown` resolves; in-flight requests then get
/// `grace` to finish before the server stops regardless.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: std::time::Duration,
) -> Result<(), StartupError> {
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        let _ = stopping_tx.send(());
    });
    let deadline = async move {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server => result.map_err(StartupError::Serve),
        () = deadline => {
            tracing::warn!("shutdown grace period over; closing remaining connections");
            Ok(())
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
