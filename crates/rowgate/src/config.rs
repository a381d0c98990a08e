//! Typed configuration, loaded once from flags and environment variables.
//!
//! Every variable is documented in `docs/CONFIG.md`. [`Settings`] is what the command line
//! and the environment say; [`Config`] is the validated result the rest of the gateway uses.
//! Secrets are wrapped in [`Secret`] so that no `Debug` or log line can print them.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use rand::RngCore;

/// File name of the embedded SQLite database inside the data directory.
pub const EMBEDDED_DB_FILE: &str = "rowgate.db";
/// File name of the generated HMAC secret inside the data directory.
pub const SECRET_FILE: &str = "rowgate.secret";
/// Shortest HMAC secret accepted, in bytes (RFC 7518 §3.2 asks for at least the hash size).
pub const MIN_SECRET_BYTES: usize = 32;

/// A value that must never be printed: `Debug` and `Display` show a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it (signing and verifying).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// What the command line and environment say, before validation.
#[derive(Debug, Clone, Default, Args)]
pub struct Settings {
    /// Database URL: `postgres://…` or `sqlite://…`. Default: SQLite `rowgate.db` in the data dir.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Redis URL (`redis://host:port`). Unset: in-process only.
    #[arg(long, env = "REDIS_URL", global = true)]
    pub redis_url: Option<String>,
    /// Address to listen on.
    #[arg(long, env = "ROWGATE_LISTEN", global = true)]
    pub listen: Option<String>,
    /// Directory for the embedded database and the generated secret.
    #[arg(long, env = "ROWGATE_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// HMAC secret for HS256/384/512 tokens (at least 32 bytes).
    #[arg(
        long,
        env = "ROWGATE_JWT_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub jwt_secret: Option<String>,
    /// URL of a JWKS document (RS256/ES256 keys chosen by `kid`).
    #[arg(long, env = "ROWGATE_JWKS_URL", global = true)]
    pub jwks_url: Option<String>,
    /// Path of a JWKS file (RS256/ES256 keys chosen by `kid`).
    #[arg(long, env = "ROWGATE_JWKS_FILE", global = true)]
    pub jwks_file: Option<PathBuf>,
    /// Required `aud` claim of incoming tokens.
    #[arg(long, env = "ROWGATE_JWT_AUDIENCE", global = true)]
    pub jwt_audience: Option<String>,
    /// Required `iss` claim of incoming tokens.
    #[arg(long, env = "ROWGATE_JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,
    /// The claim naming the user, a dotted path into the claims (default: sub).
    #[arg(long, env = "ROWGATE_JWT_USER_CLAIM", global = true)]
    pub jwt_user_claim: Option<String>,
    /// The claim naming the role: authenticated, service_role or anon (default: role).
    #[arg(long, env = "ROWGATE_JWT_ROLE_CLAIM", global = true)]
    pub jwt_role_claim: Option<String>,
    /// The claim naming the active tenant, e.g. app_metadata.tenant_id (default: tenant_id).
    #[arg(long, env = "ROWGATE_JWT_TENANT_CLAIM", global = true)]
    pub jwt_tenant_claim: Option<String>,
    /// Accepted token algorithms, comma-separated (default: HS256,HS384,HS512 when a secret is
    /// configured, RS256,ES256 when a JWKS source is).
    #[arg(long, env = "ROWGATE_JWT_ALGORITHMS", global = true)]
    pub jwt_algorithms: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds (default: 30, at most 300).
    #[arg(long, env = "ROWGATE_JWT_LEEWAY_SECS", global = true)]
    pub jwt_leeway_secs: Option<String>,
    /// Seconds JWKS keys are used before they are fetched (or the file checked) again (default: 300).
    #[arg(long, env = "ROWGATE_JWKS_REFRESH_SECS", global = true)]
    pub jwks_refresh_secs: Option<String>,
    /// Least seconds between two JWKS refetches caused by an unknown `kid` (default: 30).
    #[arg(long, env = "ROWGATE_JWKS_COOLDOWN_SECS", global = true)]
    pub jwks_cooldown_secs: Option<String>,
    /// Run pending migrations when `serve` starts (default: true on SQLite, false on PostgreSQL).
    #[arg(long, env = "ROWGATE_AUTO_MIGRATE", global = true)]
    pub auto_migrate: Option<String>,
    /// Seed the demo data when `serve` starts on an empty database (default: true on the
    /// embedded default, false otherwise).
    #[arg(long, env = "ROWGATE_SEED_DEMO", global = true)]
    pub seed_demo: Option<String>,
    /// Serve GraphiQL at `/` (default: true).
    #[arg(long, env = "ROWGATE_GRAPHIQL", global = true)]
    pub graphiql: Option<String>,
    /// Seconds in-flight requests get to finish after SIGINT/SIGTERM (default: 10).
    #[arg(long, env = "ROWGATE_SHUTDOWN_GRACE_SECS", global = true)]
    pub shutdown_grace_secs: Option<String>,
    /// Seconds one GraphQL request may run before it answers TIMEOUT, 1 to 600 (default: 15).
    #[arg(long, env = "ROWGATE_REQUEST_TIMEOUT_SECS", global = true)]
    pub request_timeout_secs: Option<String>,
    /// Seconds one SQL statement may run on PostgreSQL (`statement_timeout`), and the
    /// longest wait for a pooled connection, 1 to 600 (default: 10).
    #[arg(long, env = "ROWGATE_STATEMENT_TIMEOUT_SECS", global = true)]
    pub statement_timeout_secs: Option<String>,
    /// Connections of the pool requests are served from, 1 to 256 (default: 10 on
    /// PostgreSQL, 8 on SQLite).
    #[arg(long, env = "ROWGATE_DB_POOL_SIZE", global = true)]
    pub db_pool_size: Option<String>,
    /// Seconds a request waits for a pooled connection before it answers TIMEOUT, 1 to 600
    /// (default: the statement timeout).
    #[arg(long, env = "ROWGATE_DB_ACQUIRE_TIMEOUT_SECS", global = true)]
    pub db_acquire_timeout_secs: Option<String>,
    /// Seconds an unused pooled connection stays open, 10 to 86400 (default: 600); the
    /// pool keeps one open however long it idles.
    #[arg(long, env = "ROWGATE_DB_IDLE_TIMEOUT_SECS", global = true)]
    pub db_idle_timeout_secs: Option<String>,
    /// Seconds between the pings the server sends on each WebSocket connection, 1 to 300
    /// (default: 12); a peer silent for three intervals is disconnected.
    #[arg(long, env = "ROWGATE_WS_KEEPALIVE_SECS", global = true)]
    pub ws_keepalive_secs: Option<String>,
    /// Origins a browser app may call the API from, comma-separated (`*` for any, without
    /// credentials). Default: none, except `http://localhost:*` and `http://127.0.0.1:*` on
    /// the embedded default.
    #[arg(long, env = "ROWGATE_CORS_ORIGINS", global = true)]
    pub cors_origins: Option<String>,
    /// Let browsers send cookies and HTTP authentication with cross-origin requests
    /// (`Access-Control-Allow-Credentials`; refused together with `*`). Default: false.
    #[arg(long, env = "ROWGATE_CORS_CREDENTIALS", global = true)]
    pub cors_credentials: Option<String>,
    /// Persisted queries: `auto` (Apollo's automatic persisted queries), `allowlist` (only
    /// the documents of the manifest run) or `off` (default: auto).
    #[arg(long, env = "ROWGATE_PERSISTED_QUERIES", global = true)]
    pub persisted_queries: Option<String>,
    /// A JSON file of registered documents: Apollo's persisted query manifest, or an object
    /// from sha256 hash to document. Required with `allowlist`; with `auto` its documents are
    /// known from the start.
    #[arg(long, env = "ROWGATE_PERSISTED_QUERIES_MANIFEST", global = true)]
    pub persisted_queries_manifest: Option<String>,
    /// Answer `__schema` and `__type` introspection queries (default: true).
    #[arg(long, env = "ROWGATE_INTROSPECTION", global = true)]
    pub introspection: Option<String>,
    /// Deepest field nesting of an operation, 1 to 32 (default: 10).
    #[arg(long, env = "ROWGATE_MAX_DEPTH", global = true)]
    pub max_depth: Option<String>,
    /// Highest cost of an operation (default: 1000); see docs/CONFIG.md for how it is counted.
    #[arg(long, env = "ROWGATE_MAX_COMPLEXITY", global = true)]
    pub max_complexity: Option<String>,
    /// Rows a connection without `first`/`last` counts for in the cost (default: 10).
    #[arg(long, env = "ROWGATE_COMPLEXITY_UNPAGED_ROWS", global = true)]
    pub complexity_unpaged_rows: Option<String>,
    /// Most aliased fields in an operation, fragments included (default: 30).
    #[arg(long, env = "ROWGATE_MAX_ALIASES", global = true)]
    pub max_aliases: Option<String>,
    /// Largest GraphQL document, in bytes (default: 32768).
    #[arg(long, env = "ROWGATE_MAX_DOCUMENT_BYTES", global = true)]
    pub max_document_bytes: Option<String>,
    /// Largest `variables` object, in bytes of compact JSON (default: 65536).
    #[arg(long, env = "ROWGATE_MAX_VARIABLES_BYTES", global = true)]
    pub max_variables_bytes: Option<String>,
    /// Largest POST /graphql body, in bytes (default: 262144).
    #[arg(long, env = "ROWGATE_MAX_BODY_BYTES", global = true)]
    pub max_body_bytes: Option<String>,
    /// Most operations in one JSON array batch (default: 10).
    #[arg(long, env = "ROWGATE_MAX_BATCH", global = true)]
    pub max_batch: Option<String>,
    /// Cache hot configuration and principal facts (default: true); false answers every
    /// lookup from the database.
    #[arg(long, env = "ROWGATE_CACHE", global = true)]
    pub cache: Option<String>,
    /// Prefix of every Redis key and channel the cache uses (default: rowgate).
    #[arg(long, env = "ROWGATE_CACHE_PREFIX", global = true)]
    pub cache_prefix: Option<String>,
    /// Seconds an entry lives in Redis (default: 300).
    #[arg(long, env = "ROWGATE_CACHE_TTL_SECS", global = true)]
    pub cache_ttl_secs: Option<String>,
    /// Seconds an entry lives in the in-process tier (default: 60).
    #[arg(long, env = "ROWGATE_CACHE_LOCAL_TTL_SECS", global = true)]
    pub cache_local_ttl_secs: Option<String>,
    /// Most entries of each in-process cache (default: 100000).
    #[arg(long, env = "ROWGATE_CACHE_LOCAL_CAPACITY", global = true)]
    pub cache_local_capacity: Option<String>,
    /// Milliseconds a Redis command (or connection attempt) may take (default: 50).
    #[arg(long, env = "ROWGATE_REDIS_TIMEOUT_MS", global = true)]
    pub redis_timeout_ms: Option<String>,
    /// Consecutive Redis failures that open the circuit breaker (default: 3).
    #[arg(long, env = "ROWGATE_REDIS_BREAKER_FAILURES", global = true)]
    pub redis_breaker_failures: Option<String>,
    /// Milliseconds the open breaker skips Redis before one probe (default: 1000).
    #[arg(long, env = "ROWGATE_REDIS_BREAKER_COOLDOWN_MS", global = true)]
    pub redis_breaker_cooldown_ms: Option<String>,
}

/// Which database engine a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// PostgreSQL (production).
    Postgres,
    /// SQLite (embedded default, tests).
    Sqlite,
}

/// Where the HMAC secret came from; the embedded default generates and keeps one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSource {
    /// `ROWGATE_JWT_SECRET` or `--jwt-secret`.
    Configured,
    /// Read from the data directory, where an earlier start generated it.
    Persisted,
    /// Generated by this start and written to the data directory.
    Generated,
}

/// Token verification settings.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// HMAC secret for HS* tokens, if any.
    pub secret: Option<Secret>,
    /// Where the secret came from.
    pub secret_source: Option<SecretSource>,
    /// JWKS document URL.
    pub jwks_url: Option<String>,
    /// JWKS file path.
    pub jwks_file: Option<PathBuf>,
    /// Required audience.
    pub audience: Option<String>,
    /// Required issuer.
    pub issuer: Option<String>,
    /// Clock-skew leeway for `exp` and `nbf`.
    pub leeway: Duration,
    /// The algorithms a token may use; its header only chooses among these. HS* appear only
    /// with a secret, RS256/ES256 only with a JWKS source.
    pub algorithms: Vec<jsonwebtoken::Algorithm>,
    /// How long JWKS keys are used before they are fetched (or the file checked) again.
    pub jwks_refresh: Duration,
    /// Least time between two JWKS refetches caused by an unknown `kid`.
    pub jwks_cooldown: Duration,
    /// Which claims name the user, the role and the active tenant.
    pub claims: ClaimsMapping,
}

/// Where in a token's claims the user, the role and the active tenant are: each a path of
/// keys into the claims object (`app_metadata.tenant_id` is `["app_metadata",
/// "tenant_id"]`), as Supabase nests custom claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimsMapping {
    /// The user's id (default `sub`).
    pub user: Vec<String>,
    /// The role (default `role`).
    pub role: Vec<String>,
    /// The active tenant (default `tenant_id`).
    pub tenant: Vec<String>,
}

impl Default for ClaimsMapping {
    fn default() -> Self {
        Self {
            user: vec!["sub".into()],
            role: vec!["role".into()],
            tenant: vec!["tenant_id".into()],
        }
    }
}

fn claim_path(
    setting: &'static str,
    value: Option<&str>,
    default: &[String],
) -> Result<Vec<String>, ConfigError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(default.to_vec());
    };
    let keys: Vec<String> = value.split('.').map(str::to_owned).collect();
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '/');
    if keys.len() > 8 || keys.iter().any(|k| k.is_empty() || !k.chars().all(allowed)) {
        return Err(ConfigError::new(
            setting,
            format!(
                "`{value}` is not a claim path: up to 8 names of letters, digits, `_`, `-`, `:` or `/`, joined by `.` (for example app_metadata.tenant_id)"
            ),
        ));
    }
    Ok(keys)
}

/// The validated configuration of one gateway process.
#[derive(Debug, Clone)]
pub struct Config {
    /// Database URL, with the embedded default filled in.
    pub database_url: Secret,
    /// Which engine `database_url` names.
    pub database_kind: DatabaseKind,
    /// Whether the database is the embedded default (nothing configured).
    pub embedded_default: bool,
    /// Redis URL, when configured.
    pub redis_url: Option<Secret>,
    /// Listen address.
    pub listen: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Token verification.
    pub jwt: JwtConfig,
    /// Run migrations at start.
    pub auto_migrate: bool,
    /// Seed demo data at start when the database is empty.
    pub seed_demo: bool,
    /// Serve GraphiQL.
    pub graphiql: bool,
    /// Grace period for in-flight requests on shutdown.
    pub shutdown_grace: Duration,
    /// How long one GraphQL request may run before it answers TIMEOUT.
    pub request_timeout: Duration,
    /// How long one statement may run (PostgreSQL `statement_timeout`) and how long a
    /// request waits for a pooled connection.
    pub statement_timeout: Duration,
    /// The pool requests are served from.
    pub pool: PoolConfig,
    /// Interval of the server's WebSocket pings.
    pub ws_keepalive: Duration,
    /// Which browser origins may call the API.
    pub cors: CorsConfig,
    /// Persisted queries (APQ, allow-list).
    pub persisted_queries: PersistedQueriesConfig,
    /// Answer introspection queries (`__schema`, `__type`).
    pub introspection: bool,
    /// Limits every GraphQL request is checked against before it reaches the database.
    pub limits: RequestLimits,
    /// The two-tier cache of hot configuration and principal facts.
    pub cache: CacheConfig,
}

/// The database pool requests are served from (`ROWGATE_DB_POOL_SIZE`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most connections open at once.
    pub size: u32,
    /// Longest wait for a connection.
    pub acquire_timeout: Duration,
    /// How long an unused connection stays open.
    pub idle_timeout: Duration,
}

/// The default pool size on PostgreSQL: under 16 concurrent clients on 2 cores, 10
/// connections served every read case as fast as 32 or faster (docs/PERFORMANCE.md).
pub const DEFAULT_POSTGRES_POOL_SIZE: u64 = 10;
/// The default pool size on SQLite (one writer at a time; readers share the WAL).
pub const DEFAULT_SQLITE_POOL_SIZE: u64 = 8;

/// How documents may be sent by hash (`extensions.persistedQuery`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistedQueriesConfig {
    /// What the gateway accepts.
    pub mode: PersistedQueryMode,
    /// The manifest of registered documents, when one is configured.
    pub manifest: Option<PathBuf>,
}

/// The mode of [`PersistedQueriesConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersistedQueryMode {
    /// A hash without a document is `PERSISTED_QUERY_NOT_SUPPORTED`.
    Off,
    /// Automatic persisted queries: a document sent with its hash is remembered, later
    /// requests may send the hash alone.
    Auto,
    /// Only the manifest's documents run, sent by hash or in full; nothing is remembered.
    AllowList,
}

impl PersistedQueriesConfig {
    fn resolve(mode: Option<&str>, manifest: Option<&str>) -> Result<Self, ConfigError> {
        let setting = "ROWGATE_PERSISTED_QUERIES";
        let mode = match mode.map(|m| m.trim().to_ascii_lowercase()).as_deref() {
            None | Some("" | "auto") => PersistedQueryMode::Auto,
            Some("off") => PersistedQueryMode::Off,
            Some("allowlist" | "allow-list") => PersistedQueryMode::AllowList,
            Some(other) => {
                return Err(ConfigError::new(
                    setting,
                    format!("`{other}` is not one of auto, allowlist, off"),
                ));
            }
        };
        let manifest = manifest.map(PathBuf::from);
        if mode == PersistedQueryMode::AllowList && manifest.is_none() {
            return Err(ConfigError::new(
                setting,
                "allowlist needs ROWGATE_PERSISTED_QUERIES_MANIFEST, the file of the documents it allows",
            ));
        }
        if mode == PersistedQueryMode::Off && manifest.is_some() {
            return Err(ConfigError::new(
                "ROWGATE_PERSISTED_QUERIES_MANIFEST",
                "a manifest is read only with ROWGATE_PERSISTED_QUERIES=auto or allowlist",
            ));
        }
        Ok(Self { mode, manifest })
    }
}

/// Which browser origins may call the API across origins (CORS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsConfig {
    /// The allowed origins.
    pub origins: CorsOrigins,
    /// Whether cookies and HTTP authentication may be sent along.
    pub credentials: bool,
}

/// The origins of [`CorsConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// No cross-origin calls.
    None,
    /// Any origin (never with credentials).
    Any,
    /// `http://localhost` and `http://127.0.0.1` on any port (the embedded default).
    Localhost,
    /// These origins exactly (`scheme://host[:port]`).
    List(Vec<String>),
}

impl CorsConfig {
    fn resolve(
        origins: Option<&str>,
        credentials: bool,
        embedded_default: bool,
    ) -> Result<Self, ConfigError> {
        let setting = "ROWGATE_CORS_ORIGINS";
        let origins = match origins.map(str::trim) {
            None if embedded_default => CorsOrigins::Localhost,
            None | Some("") => CorsOrigins::None,
            Some("*") if credentials => {
                return Err(ConfigError::new(
                    setting,
                    "`*` cannot be combined with ROWGATE_CORS_CREDENTIALS=true (browsers refuse it); list the origins",
                ));
            }
            Some("*") => CorsOrigins::Any,
            Some(list) => {
                let mut origins = Vec::new();
                for origin in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                    let valid = (origin.starts_with("https://") || origin.starts_with("http://"))
                        && !origin.ends_with('/')
                        && origin.split("://").nth(1).is_some_and(|rest| {
                            !rest.is_empty() && !rest.contains('/') && !rest.contains('*')
                        });
                    if !valid {
                        return Err(ConfigError::new(
                            setting,
                            format!(
                                "`{origin}` is not an origin; write scheme://host[:port] with no path, e.g. https://app.example.com"
                            ),
                        ));
                    }
                    origins.push(origin.to_owned());
                }
                CorsOrigins::List(origins)
            }
        };
        Ok(Self {
            origins,
            credentials,
        })
    }
}

/// Settings of the cache (`cache/`): an in-process tier, over Redis when `REDIS_URL` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Whether lookups are cached at all; when off every lookup reads the database.
    pub enabled: bool,
    /// Prefix of every Redis key and channel, so several deployments can share one Redis.
    pub prefix: String,
    /// How long an entry lives in Redis.
    pub redis_ttl: Duration,
    /// How long an entry lives in the in-process tier: the bound on staleness when an
    /// invalidation cannot reach this instance (Redis down, writes outside the gateway on
    /// SQLite).
    pub local_ttl: Duration,
    /// Most entries of each in-process cache.
    pub local_capacity: u64,
    /// Longest a Redis command or connection attempt may take before it counts as failed.
    pub redis_timeout: Duration,
    /// Consecutive Redis failures that open the circuit breaker.
    pub breaker_failures: u32,
    /// How long the open breaker keeps requests away from Redis before one probe.
    pub breaker_cooldown: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            prefix: "rowgate".to_owned(),
            redis_ttl: Duration::from_secs(300),
            local_ttl: Duration::from_secs(60),
            local_capacity: 100_000,
            redis_timeout: Duration::from_millis(50),
            breaker_failures: 3,
            breaker_cooldown: Duration::from_millis(1000),
        }
    }
}

/// Limits on one GraphQL request over HTTP. All of them are checked before the request is
/// authenticated or executed, so a request over a limit never reaches the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// Deepest field nesting of an operation (`{ a { b } }` is 2); introspection fields
    /// are not counted.
    pub max_depth: usize,
    /// Highest cost of an operation (see `graphql::limits` for how it is counted).
    pub max_complexity: u64,
    /// Rows a connection without `first`/`last` counts for in the cost.
    pub complexity_unpaged_rows: u64,
    /// Most aliased fields in the executed operation, fragments expanded.
    pub max_aliases: u64,
    /// Largest document, in bytes.
    pub max_document_bytes: usize,
    /// Largest `variables` object, in bytes of compact JSON.
    pub max_variables_bytes: usize,
    /// Largest POST body, in bytes.
    pub max_body_bytes: usize,
    /// Most operations in one batch.
    pub max_batch: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_depth: 10,
            max_complexity: 1000,
            complexity_unpaged_rows: 10,
            max_aliases: 30,
            max_document_bytes: 32 * 1024,
            max_variables_bytes: 64 * 1024,
            max_body_bytes: 256 * 1024,
            max_batch: 10,
        }
    }
}

/// The deepest `ROWGATE_MAX_DEPTH` accepted: async-graphql refuses documents nested deeper
/// than 32 selection sets whatever this limit says.
pub const MAX_QUERY_DEPTH: u64 = 32;

/// A configuration value that cannot be used, with the setting it came from and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {problem}")]
pub struct ConfigError {
    /// The variable (and flag) at fault.
    pub setting: &'static str,
    /// What is wrong and how to fix it.
    pub problem: String,
}

impl ConfigError {
    fn new(setting: &'static str, problem: impl Into<String>) -> Self {
        Self {
            setting,
            problem: problem.into(),
        }
    }
}

fn parse_bool(
    setting: &'static str,
    value: Option<&str>,
    default: bool,
) -> Result<bool, ConfigError> {
    match value.map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v.is_empty() => Ok(default),
        Some(v) => match v.as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(ConfigError::new(
                setting,
                format!("`{v}` is not a boolean; use true or false"),
            )),
        },
    }
}

/// Tells which engine a database URL names, or why it names none we serve.
pub fn database_kind(url: &str) -> Result<DatabaseKind, ConfigError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(DatabaseKind::Postgres)
    } else if url.starts_with("sqlite:") {
        Ok(DatabaseKind::Sqlite)
    } else {
        Err(ConfigError::new(
            "DATABASE_URL",
            "must start with postgres:// or sqlite:// (for example postgres://user@127.0.0.1:5432/rowgate)",
        ))
    }
}

impl Settings {
    /// Validates the settings into a [`Config`]. Reads (and on the embedded default creates)
    /// the data directory and the persisted secret; touches nothing else.
    pub fn resolve(&self) -> Result<Config, ConfigError> {
        self.resolve_inner(true)
    }

    /// Like [`Settings::resolve`], for commands that verify no token (`migrate`, `seed`,
    /// `print-schema`): a PostgreSQL database without a secret or JWKS is fine for them.
    pub fn resolve_without_keys(&self) -> Result<Config, ConfigError> {
        self.resolve_inner(false)
    }

    fn resolve_inner(&self, require_keys: bool) -> Result<Config, ConfigError> {
        let data_dir = match &self.data_dir {
            Some(dir) => dir.clone(),
            None => PathBuf::from("."),
        };
        let non_empty = |v: &Option<String>| {
            v.as_ref()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };

        let (database_url, embedded_default) = match non_empty(&self.database_url) {
            Some(url) => (url, false),
            None => {
                ensure_dir(&data_dir)?;
                let path = data_dir.join(EMBEDDED_DB_FILE);
                (format!("sqlite://{}?mode=rwc", path.display()), true)
            }
        };
        let database_kind = database_kind(&database_url)?;

        let redis_url = non_empty(&self.redis_url);
        if let Some(url) = &redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(ConfigError::new(
                "REDIS_URL",
                "must start with redis:// or rediss:// (for example redis://127.0.0.1:6379)",
            ));
        }

        let listen_text = non_empty(&self.listen).unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            ConfigError::new(
                "ROWGATE_LISTEN",
                format!("`{listen_text}` is not an address:port (for example 127.0.0.1:8080)"),
            )
        })?;

        let jwks_url = non_empty(&self.jwks_url);
        if let Some(url) = &jwks_url {
            check_jwks_url(url)?;
        }
        let jwks_file = self.jwks_file.clone();
        if jwks_url.is_some() && jwks_file.is_some() {
            return Err(ConfigError::new(
                "ROWGATE_JWKS_FILE",
                "set ROWGATE_JWKS_URL or ROWGATE_JWKS_FILE, not both",
            ));
        }
        if let Some(path) = &jwks_file
            && !path.is_file()
        {
            return Err(ConfigError::new(
                "ROWGATE_JWKS_FILE",
                format!("{} is not a readable file", path.display()),
            ));
        }

        let seed_demo = parse_bool(
            "ROWGATE_SEED_DEMO",
            self.seed_demo.as_deref(),
            embedded_default,
        )?;
        let (secret, secret_source) = match non_empty(&self.jwt_secret) {
            Some(secret) => {
                check_secret("ROWGATE_JWT_SECRET", &secret)?;
                (Some(Secret::new(secret)), Some(SecretSource::Configured))
            }
            None if jwks_url.is_some() || jwks_file.is_some() => (None, None),
            // A demo deployment (one instance with the demo data, such as `docker compose
            // up`) keeps a generated secret in its data directory, like the embedded default.
            None if embedded_default || database_kind == DatabaseKind::Sqlite || seed_demo => {
                let (secret, source) = load_or_generate_secret(&data_dir)?;
                (Some(secret), Some(source))
            }
            None if !require_keys => (None, None),

            None => {
                return Err(ConfigError::new(
                    "ROWGATE_JWT_SECRET",
                    "is required with a PostgreSQL DATABASE_URL (every instance must share it) unless \
                     ROWGATE_JWKS_URL or ROWGATE_JWKS_FILE is set; use at least 32 random bytes, e.g. `openssl rand -hex 32` \
                     (a single-instance demo with ROWGATE_SEED_DEMO=true generates one into ROWGATE_DATA_DIR)",
                ));
            }
        };

        let grace = match non_empty(&self.shutdown_grace_secs) {
            None => Duration::from_secs(10),
            Some(v) => Duration::from_secs(v.parse::<u64>().map_err(|_| {
                ConfigError::new(
                    "ROWGATE_SHUTDOWN_GRACE_SECS",
                    format!("`{v}` is not a whole number of seconds"),
                )
            })?),
        };

        let jwt_algorithms = pinned_algorithms(
            non_empty(&self.jwt_algorithms).as_deref(),
            secret.is_some(),
            jwks_url.is_some() || jwks_file.is_some(),
        )?;
        let jwt_leeway = seconds(
            "ROWGATE_JWT_LEEWAY_SECS",
            non_empty(&self.jwt_leeway_secs).as_deref(),
            30,
            0..=MAX_JWT_LEEWAY_SECS,
        )?;
        let jwks_refresh = seconds(
            "ROWGATE_JWKS_REFRESH_SECS",
            non_empty(&self.jwks_refresh_secs).as_deref(),
            300,
            1..=u64::MAX,
        )?;
        let jwks_cooldown = seconds(
            "ROWGATE_JWKS_COOLDOWN_SECS",
            non_empty(&self.jwks_cooldown_secs).as_deref(),
            30,
            0..=u64::MAX,
        )?;

        let limits = self.request_limits()?;
        let cache = self.cache_config()?;

        Ok(Config {
            database_url: Secret::new(database_url),
            database_kind,
            embedded_default,
            redis_url: redis_url.map(Secret::new),
            listen,
            jwt: JwtConfig {
                secret,
                secret_source,
                jwks_url,
                jwks_file,
                audience: non_empty(&self.jwt_audience),
                issuer: non_empty(&self.jwt_issuer),
                claims: {
                    let defaults = ClaimsMapping::default();
                    ClaimsMapping {
                        user: claim_path(
                            "ROWGATE_JWT_USER_CLAIM",
                            self.jwt_user_claim.as_deref(),
                            &defaults.user,
                        )?,
                        role: claim_path(
                            "ROWGATE_JWT_ROLE_CLAIM",
                            self.jwt_role_claim.as_deref(),
                            &defaults.role,
                        )?,
                        tenant: claim_path(
                            "ROWGATE_JWT_TENANT_CLAIM",
                            self.jwt_tenant_claim.as_deref(),
                            &defaults.tenant,
                        )?,
                    }
                },
                leeway: jwt_leeway,
                algorithms: jwt_algorithms,
                jwks_refresh,
                jwks_cooldown,
            },
            auto_migrate: parse_bool(
                "ROWGATE_AUTO_MIGRATE",
                self.auto_migrate.as_deref(),
                database_kind == DatabaseKind::Sqlite,
            )?,
            seed_demo,
            graphiql: parse_bool("ROWGATE_GRAPHIQL", self.graphiql.as_deref(), true)?,
            shutdown_grace: grace,
            request_timeout: seconds(
                "ROWGATE_REQUEST_TIMEOUT_SECS",
                non_empty(&self.request_timeout_secs).as_deref(),
                15,
                1..=600,
            )?,
            statement_timeout: seconds(
                "ROWGATE_STATEMENT_TIMEOUT_SECS",
                non_empty(&self.statement_timeout_secs).as_deref(),
                10,
                1..=600,
            )?,
            pool: PoolConfig {
                size: u32::try_from(whole_number(
                    "ROWGATE_DB_POOL_SIZE",
                    self.db_pool_size.as_deref(),
                    match database_kind {
                        DatabaseKind::Postgres => DEFAULT_POSTGRES_POOL_SIZE,
                        DatabaseKind::Sqlite => DEFAULT_SQLITE_POOL_SIZE,
                    },
                    1..=256,
                )?)
                .unwrap_or(u32::MAX),
                acquire_timeout: match non_empty(&self.db_acquire_timeout_secs) {
                    Some(value) => {
                        seconds("ROWGATE_DB_ACQUIRE_TIMEOUT_SECS", Some(&value), 10, 1..=600)?
                    }
                    None => seconds(
                        "ROWGATE_STATEMENT_TIMEOUT_SECS",
                        non_empty(&self.statement_timeout_secs).as_deref(),
                        10,
                        1..=600,
                    )?,
                },
                idle_timeout: seconds(
                    "ROWGATE_DB_IDLE_TIMEOUT_SECS",
                    non_empty(&self.db_idle_timeout_secs).as_deref(),
                    600,
                    10..=86_400,
                )?,
            },
            ws_keepalive: seconds(
                "ROWGATE_WS_KEEPALIVE_SECS",
                non_empty(&self.ws_keepalive_secs).as_deref(),
                12,
                1..=300,
            )?,
            cors: CorsConfig::resolve(
                non_empty(&self.cors_origins).as_deref(),
                parse_bool(
                    "ROWGATE_CORS_CREDENTIALS",
                    self.cors_credentials.as_deref(),
                    false,
                )?,
                embedded_default,
            )?,
            persisted_queries: PersistedQueriesConfig::resolve(
                non_empty(&self.persisted_queries).as_deref(),
                non_empty(&self.persisted_queries_manifest).as_deref(),
            )?,
            introspection: parse_bool(
                "ROWGATE_INTROSPECTION",
                self.introspection.as_deref(),
                true,
            )?,
            limits,
            cache,
            data_dir,
        })
    }

    /// The cache settings, each validated against its range.
    fn cache_config(&self) -> Result<CacheConfig, ConfigError> {
        let defaults = CacheConfig::default();
        let prefix = match self.cache_prefix.as_deref().map(str::trim) {
            None | Some("") => defaults.prefix,
            Some(prefix) => {
                let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
                if prefix.len() > 64 || !prefix.chars().all(allowed) {
                    return Err(ConfigError::new(
                        "ROWGATE_CACHE_PREFIX",
                        format!(
                            "`{prefix}` must be 1 to 64 letters, digits, `_`, `-` or `.` (for example rowgate-prod)"
                        ),
                    ));
                }
                prefix.to_owned()
            }
        };
        let millis = |setting: &'static str, value: &Option<String>, default: Duration| {
            whole_number(
                setting,
                value.as_deref(),
                default.as_millis() as u64,
                1..=60_000,
            )
            .map(Duration::from_millis)
        };
        let seconds = |setting: &'static str, value: &Option<String>, default: Duration| {
            whole_number(setting, value.as_deref(), default.as_secs(), 1..=86_400)
                .map(Duration::from_secs)
        };
        Ok(CacheConfig {
            enabled: parse_bool("ROWGATE_CACHE", self.cache.as_deref(), defaults.enabled)?,
            prefix,
            redis_ttl: seconds(
                "ROWGATE_CACHE_TTL_SECS",
                &self.cache_ttl_secs,
                defaults.redis_ttl,
            )?,
            local_ttl: seconds(
                "ROWGATE_CACHE_LOCAL_TTL_SECS",
                &self.cache_local_ttl_secs,
                defaults.local_ttl,
            )?,
            local_capacity: whole_number(
                "ROWGATE_CACHE_LOCAL_CAPACITY",
                self.cache_local_capacity.as_deref(),
                defaults.local_capacity,
                1..=u64::from(u32::MAX),
            )?,
            redis_timeout: millis(
                "ROWGATE_REDIS_TIMEOUT_MS",
                &self.redis_timeout_ms,
                defaults.redis_timeout,
            )?,
            breaker_failures: whole_number(
                "ROWGATE_REDIS_BREAKER_FAILURES",
                self.redis_breaker_failures.as_deref(),
                u64::from(defaults.breaker_failures),
                1..=1000,
            )? as u32,
            breaker_cooldown: millis(
                "ROWGATE_REDIS_BREAKER_COOLDOWN_MS",
                &self.redis_breaker_cooldown_ms,
                defaults.breaker_cooldown,
            )?,
        })
    }

    /// The request limits, each validated against its range.
    fn request_limits(&self) -> Result<RequestLimits, ConfigError> {
        let defaults = RequestLimits::default();
        let size = |setting: &'static str, value: &Option<String>, default: usize| {
            whole_number(
                setting,
                value.as_deref(),
                default as u64,
                1..=u64::from(u32::MAX),
            )
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        };
        Ok(RequestLimits {
            max_depth: whole_number(
                "ROWGATE_MAX_DEPTH",
                self.max_depth.as_deref(),
                defaults.max_depth as u64,
                1..=MAX_QUERY_DEPTH,
            )? as usize,
            max_complexity: whole_number(
                "ROWGATE_MAX_COMPLEXITY",
                self.max_complexity.as_deref(),
                defaults.max_complexity,
                1..=u64::from(u32::MAX),
            )?,
            complexity_unpaged_rows: whole_number(
                "ROWGATE_COMPLEXITY_UNPAGED_ROWS",
                self.complexity_unpaged_rows.as_deref(),
                defaults.complexity_unpaged_rows,
                1..=u64::from(u32::MAX),
            )?,
            max_aliases: whole_number(
                "ROWGATE_MAX_ALIASES",
                self.max_aliases.as_deref(),
                defaults.max_aliases,
                0..=u64::from(u32::MAX),
            )?,
            max_document_bytes: size(
                "ROWGATE_MAX_DOCUMENT_BYTES",
                &self.max_document_bytes,
                defaults.max_document_bytes,
            )?,
            max_variables_bytes: size(
                "ROWGATE_MAX_VARIABLES_BYTES",
                &self.max_variables_bytes,
                defaults.max_variables_bytes,
            )?,
            max_body_bytes: size(
                "ROWGATE_MAX_BODY_BYTES",
                &self.max_body_bytes,
                defaults.max_body_bytes,
            )?,
            max_batch: size("ROWGATE_MAX_BATCH", &self.max_batch, defaults.max_batch)?,
        })
    }
}

/// A whole number within `range`, or `default` when unset.
fn whole_number(
    setting: &'static str,
    value: Option<&str>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(default);
    };
    match value.parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ConfigError::new(
            setting,
            format!(
                "`{value}` is not a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

/// The largest clock-skew leeway accepted: a leeway is for skew, not for extending tokens.
pub const MAX_JWT_LEEWAY_SECS: u64 = 300;

/// The algorithms `ROWGATE_JWT_ALGORITHMS` may name.
const SUPPORTED_JWT_ALGORITHMS: &str = "HS256, HS384, HS512, RS256, ES256";

/// The accepted algorithms: the configured list, or every algorithm a configured key source
/// can verify. HS* need a secret and RS256/ES256 a JWKS source, so the list can never name
/// an algorithm no key can check.
fn pinned_algorithms(
    list: Option<&str>,
    has_secret: bool,
    has_jwks: bool,
) -> Result<Vec<jsonwebtoken::Algorithm>, ConfigError> {
    use jsonwebtoken::Algorithm;
    const SETTING: &str = "ROWGATE_JWT_ALGORITHMS";
    let Some(list) = list else {
        let mut algorithms = Vec::new();
        if has_secret {
            algorithms.extend([Algorithm::HS256, Algorithm::HS384, Algorithm::HS512]);
        }
        if has_jwks {
            algorithms.extend([Algorithm::RS256, Algorithm::ES256]);
        }
        return Ok(algorithms);
    };
    let mut algorithms = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let algorithm = match name.to_ascii_uppercase().as_str() {
            "HS256" => Algorithm::HS256,
            "HS384" => Algorithm::HS384,
            "HS512" => Algorithm::HS512,
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            "NONE" => {
                return Err(ConfigError::new(
                    SETTING,
                    "`none` is never accepted: unsigned tokens prove nothing",
                ));
            }
            _ => {
                return Err(ConfigError::new(
                    SETTING,
                    format!("`{name}` is not supported; use some of {SUPPORTED_JWT_ALGORITHMS}"),
                ));
            }
        };
        let hmac = matches!(
            algorithm,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
        );
        if hmac && !has_secret {
            return Err(ConfigError::new(
                SETTING,
                format!("`{name}` needs ROWGATE_JWT_SECRET; set it or remove `{name}`"),
            ));
        }
        if !hmac && !has_jwks {
            return Err(ConfigError::new(
                SETTING,
                format!(
                    "`{name}` needs ROWGATE_JWKS_URL or ROWGATE_JWKS_FILE; set one or remove `{name}`"
                ),
            ));
        }
        if !algorithms.contains(&algorithm) {
            algorithms.push(algorithm);
        }
    }
    if algorithms.is_empty() {
        return Err(ConfigError::new(
            SETTING,
            format!("names no algorithm; use some of {SUPPORTED_JWT_ALGORITHMS}"),
        ));
    }
    Ok(algorithms)
}

/// A whole number of seconds within `range`, or `default` when unset.
fn seconds(
    setting: &'static str,
    value: Option<&str>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Duration, ConfigError> {
    let Some(value) = value else {
        return Ok(Duration::from_secs(default));
    };
    match value.parse::<u64>() {
        Ok(secs) if range.contains(&secs) => Ok(Duration::from_secs(secs)),
        _ if *range.end() == u64::MAX => Err(ConfigError::new(
            setting,
            format!(
                "`{value}` is not a whole number of seconds of at least {}",
                range.start()
            ),
        )),
        _ => Err(ConfigError::new(
            setting,
            format!(
                "`{value}` is not a whole number of seconds from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

/// JWKS documents are fetched over plain HTTP only: the TLS stacks reqwest offers either
/// build aws-lc-rs (cmake) or need a process-wide crypto provider installed before any
/// client exists, so https is refused here with the way around it.
fn check_jwks_url(url: &str) -> Result<(), ConfigError> {
    const SETTING: &str = "ROWGATE_JWKS_URL";
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ConfigError::new(SETTING, format!("is not a URL ({e})")))?;
    match parsed.scheme() {
        "http" if parsed.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        "https" => Err(ConfigError::new(
            SETTING,
            "https:// is not supported by this build; fetch the JWKS through a TLS-terminating \
             proxy (e.g. http://127.0.0.1:8081/jwks.json proxied to the issuer) or keep it in \
             ROWGATE_JWKS_FILE, refreshed by a sidecar",
        )),
        _ => Err(ConfigError::new(
            SETTING,
            "must be an http:// URL with a host, e.g. http://127.0.0.1:8081/.well-known/jwks.json",
        )),
    }
}

fn check_secret(setting: &'static str, secret: &str) -> Result<(), ConfigError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(ConfigError::new(
            setting,
            format!(
                "is {} bytes; use at least {MIN_SECRET_BYTES} random bytes, e.g. `openssl rand -hex 32`",
                secret.len()
            ),
        ));
    }
    Ok(())
}

fn ensure_dir(dir: &Path) -> Result<(), ConfigError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        ConfigError::new(
            "ROWGATE_DATA_DIR",
            format!(
                "cannot create {}: {e}; point it at a writable directory",
                dir.display()
            ),
        )
    })
}

/// Reads the secret an earlier start persisted in `data_dir`, or generates and persists one.
fn load_or_generate_secret(data_dir: &Path) -> Result<(Secret, SecretSource), ConfigError> {
    ensure_dir(data_dir)?;
    let path = data_dir.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let secret = text.trim().to_owned();
            check_secret("ROWGATE_DATA_DIR", &secret).map_err(|_| {
                ConfigError::new(
                    "ROWGATE_DATA_DIR",
                    format!(
                        "{} holds no usable secret; delete it to generate a new one or set ROWGATE_JWT_SECRET",
                        path.display()
                    ),
                )
            })?;
            Ok((Secret::new(secret), SecretSource::Persisted))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let secret = hex::encode(bytes);
            write_private(&path, &secret).map_err(|e| {
                ConfigError::new(
                    "ROWGATE_DATA_DIR",
                    format!(
                        "cannot write {}: {e}; point it at a writable directory",
                        path.display()
                    ),
                )
            })?;
            Ok((Secret::new(secret), SecretSource::Generated))
        }
        Err(e) => Err(ConfigError::new(
            "ROWGATE_DATA_DIR",
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings_in(dir: &Path) -> Settings {
        Settings {
            data_dir: Some(dir.to_path_buf()),
            ..Settings::default()
        }
    }

    #[test]
    fn embedded_default_generates_then_reuses_the_secret() {
        let dir = std::env::temp_dir().join(format!("rowgate-config-{}", uuid::Uuid::new_v4()));
        let first = settings_in(&dir).resolve().expect("first start");
        assert!(first.embedded_default);
        assert_eq!(first.database_kind, DatabaseKind::Sqlite);
        assert_eq!(first.jwt.secret_source, Some(SecretSource::Generated));
        let second = settings_in(&dir).resolve().expect("second start");
        assert_eq!(second.jwt.secret_source, Some(SecretSource::Persisted));
        assert_eq!(first.jwt.secret, second.jwt.secret);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_postgresql_demo_deployment_keeps_a_generated_secret_and_production_needs_one() {
        let dir = std::env::temp_dir().join(format!("rowgate-config-{}", uuid::Uuid::new_v4()));
        let production = Settings {
            database_url: Some("postgres://db/rowgate".into()),
            ..settings_in(&dir)
        };
        let err = production.resolve().expect_err("no secret for production");
        assert_eq!(err.setting, "ROWGATE_JWT_SECRET", "{err}");
        assert!(!dir.join(SECRET_FILE).exists(), "nothing written");
        let demo = || Settings {
            database_url: Some("postgres://db/rowgate".into()),
            seed_demo: Some("true".into()),
            ..settings_in(&dir)
        };
        let first = demo().resolve().expect("a demo deployment starts");
        assert_eq!(first.jwt.secret_source, Some(SecretSource::Generated));
        assert!(first.seed_demo);
        let second = demo().resolve().expect("and restarts");
        assert_eq!(second.jwt.secret_source, Some(SecretSource::Persisted));
        assert_eq!(first.jwt.secret, second.jwt.secret);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn bad_values_name_their_setting() {
        let dir = std::env::temp_dir().join(format!("rowgate-config-{}", uuid::Uuid::new_v4()));
        let cases: Vec<(Settings, &str)> = vec![
            (
                Settings {
                    listen: Some("nowhere".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_LISTEN",
            ),
            (
                Settings {
                    jwt_secret: Some("short".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_JWT_SECRET",
            ),
            (
                Settings {
                    database_url: Some("mysql://x".into()),
                    ..settings_in(&dir)
                },
                "DATABASE_URL",
            ),
            (
                Settings {
                    redis_url: Some("http://x".into()),
                    ..settings_in(&dir)
                },
                "REDIS_URL",
            ),
            (
                Settings {
                    auto_migrate: Some("maybe".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_AUTO_MIGRATE",
            ),
            (
                Settings {
                    database_url: Some("postgres://h/db".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_JWT_SECRET",
            ),
        ];
        for (settings, setting) in cases {
            let err = settings.resolve().expect_err(setting);
            assert_eq!(err.setting, setting, "{err}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn jwt_algorithms_are_pinned_to_configured_key_sources() {
        use jsonwebtoken::Algorithm;
        let dir = std::env::temp_dir().join(format!("rowgate-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let jwks = dir.join("jwks.json");
        std::fs::write(&jwks, r#"{"keys":[]}"#).expect("jwks file");
        let secret = Some("0123456789abcdef0123456789abcdef".to_owned());

        let config = Settings {
            jwt_secret: secret.clone(),
            ..settings_in(&dir)
        }
        .resolve()
        .expect("secret only");
        assert_eq!(
            config.jwt.algorithms,
            [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512]
        );
        let config = Settings {
            jwks_file: Some(jwks.clone()),
            ..settings_in(&dir)
        }
        .resolve()
        .expect("JWKS only");
        assert_eq!(config.jwt.algorithms, [Algorithm::RS256, Algorithm::ES256]);
        assert!(
            config.jwt.secret.is_none(),
            "no secret is generated beside a JWKS"
        );
        let config = Settings {
            jwt_secret: secret.clone(),
            jwks_file: Some(jwks.clone()),
            jwt_algorithms: Some(" es256 , HS512,ES256".into()),
            ..settings_in(&dir)
        }
        .resolve()
        .expect("pinned");
        assert_eq!(config.jwt.algorithms, [Algorithm::ES256, Algorithm::HS512]);

        let refused: Vec<(Settings, &str)> = vec![
            (
                Settings {
                    jwt_secret: secret.clone(),
                    jwt_algorithms: Some("RS256".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_JWT_ALGORITHMS",
            ),
            (
                Settings {
                    jwks_file: Some(jwks.clone()),
                    jwt_algorithms: Some("HS256".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_JWT_ALGORITHMS",
            ),
            (
                Settings {
                    jwt_secret: secret.clone(),
                    jwt_algorithms: Some("none".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_JWT_ALGORITHMS",
            ),
            (
                Settings {
                    jwt_secret: secret.clone(),
                    jwt_algorithms: Some("PS256".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_JWT_ALGORITHMS",
            ),
            (
                Settings {
                    jwt_secret: secret.clone(),
                    jwt_algorithms: Some(" , ".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_JWT_ALGORITHMS",
            ),
            (
                Settings {
                    jwks_url: Some("https://issuer.example/.well-known/jwks.json".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_JWKS_URL",
            ),
            (
                Settings {
                    jwks_url: Some("ftp://issuer.example/jwks.json".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_JWKS_URL",
            ),
            (
                Settings {
                    jwks_url: Some("http://127.0.0.1:1/jwks.json".into()),
                    jwks_file: Some(jwks.clone()),
                    ..settings_in(&dir)
                },
                "ROWGATE_JWKS_FILE",
            ),
            (
                Settings {
                    jwt_leeway_secs: Some("3600".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_JWT_LEEWAY_SECS",
            ),
            (
                Settings {
                    jwks_refresh_secs: Some("0".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_JWKS_REFRESH_SECS",
            ),
            (
                Settings {
                    jwks_cooldown_secs: Some("soon".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_JWKS_COOLDOWN_SECS",
            ),
        ];
        for (settings, setting) in refused {
            let err = settings.resolve().expect_err(setting);
            assert_eq!(err.setting, setting, "{err}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn request_limits_have_defaults_and_ranges() {
        let dir = std::env::temp_dir().join(format!("rowgate-config-{}", uuid::Uuid::new_v4()));
        let config = settings_in(&dir).resolve().expect("defaults");
        assert_eq!(config.limits, RequestLimits::default());
        assert!(config.introspection);
        let config = Settings {
            max_depth: Some("32".into()),
            max_aliases: Some("0".into()),
            max_batch: Some(" 1 ".into()),
            introspection: Some("off".into()),
            ..settings_in(&dir)
        }
        .resolve()
        .expect("in range");
        assert_eq!(config.limits.max_depth, 32);
        assert_eq!(config.limits.max_aliases, 0);
        assert_eq!(config.limits.max_batch, 1);
        assert!(!config.introspection);

        let refused: Vec<(Settings, &str)> = vec![
            (
                Settings {
                    max_depth: Some("33".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_MAX_DEPTH",
            ),
            (
                Settings {
                    max_complexity: Some("0".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_MAX_COMPLEXITY",
            ),
            (
                Settings {
                    complexity_unpaged_rows: Some("-1".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_COMPLEXITY_UNPAGED_ROWS",
            ),
            (
                Settings {
                    max_aliases: Some("many".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_MAX_ALIASES",
            ),
            (
                Settings {
                    max_document_bytes: Some("32KiB".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_MAX_DOCUMENT_BYTES",
            ),
            (
                Settings {
                    max_variables_bytes: Some("0".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_MAX_VARIABLES_BYTES",
            ),
            (
                Settings {
                    max_body_bytes: Some("99999999999".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_MAX_BODY_BYTES",
            ),
            (
                Settings {
                    max_batch: Some("0".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_MAX_BATCH",
            ),
            (
                Settings {
                    introspection: Some("sometimes".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_INTROSPECTION",
            ),
        ];
        for (settings, setting) in refused {
            let err = settings.resolve().expect_err(setting);
            assert_eq!(err.setting, setting, "{err}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn cache_settings_have_defaults_and_ranges() {
        let dir = std::env::temp_dir().join(format!("rowgate-config-{}", uuid::Uuid::new_v4()));
        let config = settings_in(&dir).resolve().expect("defaults");
        assert_eq!(config.cache, CacheConfig::default());
        let config = Settings {
            cache: Some("false".into()),
            cache_prefix: Some("tenant-a.prod".into()),
            redis_timeout_ms: Some("5".into()),
            cache_local_ttl_secs: Some("2".into()),
            ..settings_in(&dir)
        }
        .resolve()
        .expect("in range");
        assert!(!config.cache.enabled);
        assert_eq!(config.cache.prefix, "tenant-a.prod");
        assert_eq!(config.cache.redis_timeout, Duration::from_millis(5));
        assert_eq!(config.cache.local_ttl, Duration::from_secs(2));
        let refused: Vec<(Settings, &str)> = vec![
            (
                Settings {
                    cache: Some("maybe".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_CACHE",
            ),
            (
                Settings {
                    cache_prefix: Some("a*b".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_CACHE_PREFIX",
            ),
            (
                Settings {
                    cache_ttl_secs: Some("0".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_CACHE_TTL_SECS",
            ),
            (
                Settings {
                    redis_timeout_ms: Some("0".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_REDIS_TIMEOUT_MS",
            ),
            (
                Settings {
                    redis_breaker_failures: Some("0".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_REDIS_BREAKER_FAILURES",
            ),
        ];
        for (settings, setting) in refused {
            let err = settings.resolve().expect_err(setting);
            assert_eq!(err.setting, setting, "{err}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn persisted_queries_default_to_auto_and_the_allow_list_needs_a_manifest() {
        let dir = std::env::temp_dir().join(format!("rowgate-config-{}", uuid::Uuid::new_v4()));
        let config = settings_in(&dir).resolve().expect("defaults");
        assert_eq!(config.persisted_queries.mode, PersistedQueryMode::Auto);
        let listed = Settings {
            persisted_queries: Some("AllowList".into()),
            persisted_queries_manifest: Some("/etc/rowgate/manifest.json".into()),
            ..settings_in(&dir)
        };
        let config = listed.resolve().expect("allow-list");
        assert_eq!(config.persisted_queries.mode, PersistedQueryMode::AllowList);
        for (settings, setting) in [
            (
                Settings {
                    persisted_queries: Some("allowlist".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_PERSISTED_QUERIES",
            ),
            (
                Settings {
                    persisted_queries: Some("sometimes".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_PERSISTED_QUERIES",
            ),
            (
                Settings {
                    persisted_queries: Some("off".into()),
                    persisted_queries_manifest: Some("/etc/rowgate/manifest.json".into()),
                    ..settings_in(&dir)
                },
                "ROWGATE_PERSISTED_QUERIES_MANIFEST",
            ),
        ] {
            let err = settings.resolve().expect_err(setting);
            assert_eq!(err.setting, setting, "{err}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("super-secret-value-that-must-not-leak");
        assert!(!format!("{secret:?}").contains("super"));
    }
}
