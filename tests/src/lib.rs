//! End-to-end test support: [`TestApp`] starts the gateway in-process on a random port over a
//! fresh database — a SQLite file in a temporary directory, or a uniquely named PostgreSQL
//! database created from `DATABASE_URL` and dropped afterwards — and talks to it over real
//! HTTP.
//!
//! [`backends`] lists the databases every end-to-end test runs on: SQLite always, PostgreSQL
//! when `DATABASE_URL` is set. Without it the skip is said loudly on stderr; with
//! `ROWGATE_REQUIRE_SERVICES=1` a missing service is a failure, never a skip.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rowgate::auth::jwt::{TokenRequest, mint_token};
use rowgate::config::{Config, Secret, Settings};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use uuid::Uuid;

pub mod matrix;
pub use rowgate_server::seed::demo;

/// The reference application, built once per process.
pub fn reference() -> rowgate::Application {
    static APPLICATION: std::sync::OnceLock<rowgate::Application> = std::sync::OnceLock::new();
    APPLICATION
        .get_or_init(|| rowgate_server::application().expect("the reference application builds"))
        .clone()
}

/// A database engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the PostgreSQL server of `DATABASE_URL`.
    Postgres,
}

/// Whether missing services fail the run (`ROWGATE_REQUIRE_SERVICES=1`, set by CI).
pub fn services_required() -> bool {
    std::env::var("ROWGATE_REQUIRE_SERVICES")
        .is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// The value of a service's URL variable; loud skip, or failure when services are required.
pub fn service_url(variable: &str, test: &str) -> Option<String> {
    match std::env::var(variable)
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        Some(url) => Some(url),
        None => {
            assert!(
                !services_required(),
                "{variable} is not set but ROWGATE_REQUIRE_SERVICES=1: {test} cannot run"
            );
            // Written to the process's stderr directly: the test harness captures `eprintln!`
            // of passing tests, and a skip must be seen.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {test} on this service ({variable} is not set)"
            );

            None
        }
    }
}

/// The backends every end-to-end test runs on.
pub fn backends(test: &str) -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    if service_url("DATABASE_URL", &format!("{test} [PostgreSQL]")).is_some() {
        all.push(Backend::Postgres);
    }
    all
}

/// A fixed HMAC secret for test tokens.
pub const TEST_SECRET: &str = "rowgate-test-secret-0123456789abcdef0123456789abcdef";

/// A database created for one test, dropped when the guard goes.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL the gateway connects to.
    pub url: String,
    backend: Backend,
    admin_url: Option<String>,
    name: Option<String>,
    dir: tempfile::TempDir,
}

impl TestDatabase {
    /// Creates an empty database on `backend`.
    pub async fn create(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => Self {
                url: format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()),
                backend,
                admin_url: None,
                name: None,
                dir,
            },
            Backend::Postgres => {
                let admin_url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
                let name = format!("rowgate_t_{}", Uuid::new_v4().simple());
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("connect to DATABASE_URL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                Self {
                    url: replace_database_name(&admin_url, &name),
                    backend,
                    admin_url: Some(admin_url),
                    name: Some(name),
                    dir,
                }
            }
        }
    }

    /// Which engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A temporary directory that lives as long as the database (the data dir).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (Some(admin_url), Some(name)) = (self.admin_url.take(), self.name.take()) else {
            return;
        };
        // Drop runs outside any runtime guarantee: use a thread with its own runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let admin = Database::connect(&admin_url).await.ok()?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
                    .ok()?;
                admin.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: could not drop a test database");
        }
    }
}

/// `postgres://u@h:5432/db?x` with the database name replaced.
pub fn replace_database_name(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Options for starting a [`TestApp`].
#[derive(Debug, Clone, Default)]
pub struct TestOptions {
    /// Load the demo data after migrating (default in [`TestApp::spawn`]).
    pub skip_demo: bool,
    /// Adjust the settings before they are resolved.
    pub settings: Option<fn(&mut Settings)>,
    /// The Redis the gateway uses, instead of `REDIS_URL` (for example a proxy the test
    /// controls). Applied before `settings`.
    pub redis_url: Option<String>,
    /// The application to serve (default: the reference application); its migrations
    /// and demo data are the ones loaded.
    pub application: Option<rowgate::Application>,
}

/// The gateway running in-process on a random port over a fresh, migrated database.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The resolved configuration.
    pub config: Config,
    /// A connection pool to the same database, for assertions.
    pub db: DatabaseConnection,
    /// HTTP client.
    pub http: reqwest::Client,
    /// The store the server serves from (its statement counter is read by tests).
    pub served: rowgate::planner::Store,
    /// The cache the server answers hot configuration and principal facts from.
    pub cache: rowgate::cache::HotCache,
    /// The application served.
    pub application: rowgate::Application,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    backend: Backend,
    /// Redis URL and key prefix whose keys are deleted when the app stops.
    purge: Option<(String, String)>,
    /// The database, owned by the first app over it (peers borrow it by URL).
    _database: Option<TestDatabase>,
}

/// Which backend a test is on, for assertion messages.
impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        })
    }
}

impl TestApp {
    /// Starts the gateway over a fresh database with the demo data loaded.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, TestOptions::default()).await
    }

    /// The gateway serving `application` (its migrations and demo data loaded).
    pub async fn spawn_application(backend: Backend, application: rowgate::Application) -> Self {
        Self::spawn_with(
            backend,
            TestOptions {
                application: Some(application),
                ..TestOptions::default()
            },
        )
        .await
    }

    /// Starts the gateway with its settings adjusted by `adjust`.
    pub async fn spawn_adjusted(backend: Backend, adjust: fn(&mut Settings)) -> Self {
        Self::spawn_with(
            backend,
            TestOptions {
                settings: Some(adjust),
                ..TestOptions::default()
            },
        )
        .await
    }

    /// Starts the gateway with options. Its Redis keys live under a prefix of its own
    /// (`rowgate-test-<uuid>`), deleted when it stops.
    pub async fn spawn_with(backend: Backend, options: TestOptions) -> Self {
        init_tracing();
        let database = TestDatabase::create(backend).await;
        let mut settings = Settings {
            database_url: Some(database.url.clone()),
            jwt_secret: Some(TEST_SECRET.to_owned()),
            listen: Some("127.0.0.1:0".to_owned()),
            data_dir: Some(database.dir().to_path_buf()),
            redis_url: std::env::var("REDIS_URL").ok().filter(|v| !v.is_empty()),
            cache_prefix: Some(format!("rowgate-test-{}", Uuid::new_v4().simple())),
            ..Settings::default()
        };
        if options.redis_url.is_some() {
            settings.redis_url.clone_from(&options.redis_url);
        }
        if let Some(adjust) = options.settings {
            adjust(&mut settings);
        }
        let config = settings.resolve().expect("test configuration");
        let db = rowgate::db::connect(&config).await.expect("connect");
        let application = options.application.unwrap_or_else(reference);
        application
            .migrations()
            .up(&db, None)
            .await
            .expect("migrate");
        if !options.skip_demo
            && let Some(demo) = application.demo()
        {
            demo.seed(&db).await.expect("seed demo");
        }
        Self::start(application, config, db, backend, Some(database)).await
    }

    /// Starts a second gateway over this app's database, sharing its Redis key prefix (so
    /// the two are instances of one deployment): no migration, no seeding. `options.settings`
    /// and `options.redis_url` apply as in [`TestApp::spawn_with`]. The database stays owned
    /// by `self`; stop the peer first.
    pub async fn spawn_peer(&self, options: TestOptions) -> Self {
        init_tracing();
        let mut settings = Settings {
            database_url: Some(self.config.database_url.expose().to_owned()),
            jwt_secret: Some(TEST_SECRET.to_owned()),
            listen: Some("127.0.0.1:0".to_owned()),
            data_dir: Some(self.config.data_dir.clone()),
            redis_url: std::env::var("REDIS_URL").ok().filter(|v| !v.is_empty()),
            cache_prefix: Some(self.config.cache.prefix.clone()),
            ..Settings::default()
        };
        if options.redis_url.is_some() {
            settings.redis_url.clone_from(&options.redis_url);
        }
        if let Some(adjust) = options.settings {
            adjust(&mut settings);
        }
        let config = settings.resolve().expect("peer configuration");
        let db = rowgate::db::connect(&config).await.expect("connect");
        let application = options
            .application
            .unwrap_or_else(|| self.application.clone());
        Self::start(application, config, db, self.backend, None).await
    }

    async fn start(
        application: rowgate::Application,
        config: Config,
        db: DatabaseConnection,
        backend: Backend,
        database: Option<TestDatabase>,
    ) -> Self {
        let parts = application
            .gateway(config.clone(), db.clone())
            .expect("build app");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let router = parts.router;
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.await;
            };
            rowgate::serve(listener, router, shutdown, Duration::from_secs(5))
                .await
                .expect("server");
        });
        // Until the cache's invalidation channels are connected, what it caches may be
        // dropped again (and changes made elsewhere may not reach it): let it settle, as a
        // deployment does before taking traffic. A Redis the test made unreachable keeps it
        // from settling; the wait is bounded.
        let settle = Instant::now();
        while !parts.cache.settled() && settle.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let purge = config
            .redis_url
            .as_ref()
            .map(|url| (url.expose().to_owned(), config.cache.prefix.clone()));
        Self {
            base_url: format!("http://{addr}"),
            config,
            db,
            http: reqwest::Client::new(),
            served: parts.store,
            cache: parts.cache,
            application,
            shutdown: Some(tx),
            server: Some(server),
            backend,
            purge,
            _database: database,
        }
    }

    /// How many read statements the server has run so far.
    pub fn statements(&self) -> u64 {
        self.served.statements()
    }

    /// The backend this app runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A token for `user` (authenticated), optionally naming the active tenant.
    pub fn token(&self, user: Uuid, tenant: Option<Uuid>) -> String {
        self.mint(
            Some(user),
            tenant,
            "authenticated",
            Duration::from_secs(3600),
        )
    }

    /// A service-role token.
    pub fn service_token(&self) -> String {
        self.mint(None, None, "service_role", Duration::from_secs(3600))
    }

    /// A token with every claim chosen by the test.
    pub fn mint(
        &self,
        user: Option<Uuid>,
        tenant: Option<Uuid>,
        role: &str,
        ttl: Duration,
    ) -> String {
        mint_token(
            &Secret::new(TEST_SECRET),
            &TokenRequest {
                user,
                tenant,
                role: role.to_owned(),
                ttl,
                audience: self.config.jwt.audience.clone(),
                issuer: self.config.jwt.issuer.clone(),
            },
        )
        .expect("mint token")
    }

    /// POSTs a GraphQL request; returns the status and the JSON body.
    pub async fn graphql(
        &self,
        query: &str,
        variables: Value,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        self.graphql_with_headers(query, variables, token, &[])
            .await
    }

    /// POSTs a GraphQL request with extra headers.
    pub async fn graphql_with_headers(
        &self,
        query: &str,
        variables: Value,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.base_url))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let body = response.json::<Value>().await.expect("JSON body");
        (status, body)
    }

    /// GETs a path; returns the status, content type and body text.
    pub async fn get(&self, path: &str) -> (StatusCode, String, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base_url))
            .send()
            .await
            .expect("request");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (status, content_type, response.text().await.expect("body"))
    }

    /// Stops the server, letting in-flight requests finish, and deletes its Redis keys.
    pub async fn stop(mut self) {
        self.served.begin_shutdown();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.cache.shutdown();
        if let Some((url, prefix)) = self.purge.take() {
            let _ = rowgate::cache::purge_prefix(&url, &prefix).await;
        }
        self.db.clone().close().await.ok();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
        // Before the database goes: the cache's listener would otherwise try to reconnect.
        self.cache.shutdown();
        if let Some((url, prefix)) = self.purge.take() {
            // Drop runs outside any runtime guarantee: use a thread with its own runtime.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime
                    .block_on(rowgate::cache::purge_prefix(&url, &prefix))
                    .ok()
            })
            .join();
        }
    }
}

/// Server-side errors (INTERNAL details) show in the failing test's output.
fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("warn,sqlx=error")
        .with_test_writer()
        .try_init();
}

/// The `extensions.code` of the first error of a GraphQL response body.
pub fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

impl TestApp {
    /// The store (reads and writes under the policies) over this app's database: the same
    /// code path the API uses. It is not the served store: its writes do not invalidate the
    /// server's cache (on PostgreSQL the NOTIFY triggers still do, shortly after).
    pub fn store(&self) -> rowgate::planner::Store {
        self.application.store(self.db.clone())
    }

    /// The principal a token for `user` (and `tenant`) resolves to, through the same
    /// verification and fact loading as a request (without the cache).
    pub async fn principal(
        &self,
        user: Option<Uuid>,
        tenant: Option<Uuid>,
        role: &str,
    ) -> rowgate::auth::Principal {
        let token =
            (role != "anon").then(|| self.mint(user, tenant, role, Duration::from_secs(600)));
        let verifier = rowgate::auth::TokenVerifier::new(&self.config.jwt).expect("verifier");
        // Uncached, so what a test wrote just before is what the principal sees.
        let facts = rowgate::cache::HotCache::disabled(self.store());
        rowgate::auth::resolve::resolve_principal(
            &facts,
            &verifier,
            rowgate::auth::resolve::RequestIdentity {
                bearer: token.as_deref(),
                ..Default::default()
            },
        )
        .await
        .expect("principal")
    }
}

/// A GraphQL-over-WebSocket client (`graphql-transport-ws`) for subscription tests.
#[derive(Debug)]
pub struct WsClient {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

/// How a WebSocket session ended or what it said.
#[derive(Debug, Clone, PartialEq)]
pub enum WsMessage {
    /// A protocol message (`next`, `error`, `complete`, …).
    Message(Value),
    /// The server closed the connection with this code and reason.
    Closed(u16, String),
}

impl WsClient {
    /// Connects to the app's `/graphql` and sends `connection_init` with `payload`; returns
    /// the client and the server's answer (`connection_ack`, or a close).
    pub async fn connect(app: &TestApp, payload: Value) -> (Self, WsMessage) {
        Self::connect_with(app, "graphql-transport-ws", payload).await
    }

    /// [`WsClient::connect`] with the subprotocol `protocol` (`graphql-transport-ws`, or
    /// `graphql-ws` for the legacy subscriptions-transport-ws protocol).
    pub async fn connect_with(app: &TestApp, protocol: &str, payload: Value) -> (Self, WsMessage) {
        let mut client = Self::open(app, protocol).await;
        client
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        // Bounded generously: under load on 2 cores the answer can take seconds, and a
        // passing test waits only as long as it takes.
        let answer = client
            .next(Duration::from_secs(30))
            .await
            .expect("an answer to connection_init");
        (client, answer)
    }

    /// Opens a WebSocket to the app's `/graphql` with subprotocol `protocol`, sending nothing.
    pub async fn open(app: &TestApp, protocol: &str) -> Self {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("{}/graphql", app.base_url.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().expect("request");
        request
            .headers_mut()
            .insert("sec-websocket-protocol", protocol.parse().expect("header"));
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        Self { socket }
    }

    /// Sends a protocol message.
    pub async fn send(&mut self, message: Value) {
        use futures_util::SinkExt;
        self.socket
            .send(tokio_tungstenite::tungstenite::Message::Text(
                message.to_string().into(),
            ))
            .await
            .expect("send");
    }

    /// Starts subscription `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query } }))
            .await;
    }

    /// The next protocol message within `wait` (pings are answered and skipped, as are the
    /// legacy protocol's keep-alive `ka` messages).
    pub async fn next(&mut self, wait: Duration) -> Option<WsMessage> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = self
                .next_any(deadline.saturating_duration_since(tokio::time::Instant::now()))
                .await?;
            match &message {
                WsMessage::Message(m)
                    if ["ping", "pong", "ka"].contains(&m["type"].as_str().unwrap_or_default()) => {
                }
                _ => return Some(message),
            }
        }
    }

    /// The next protocol message within `wait`, keep-alive messages included (a `ping` is
    /// answered with a `pong` before it is returned; WebSocket ping frames are answered by
    /// the socket itself while it is read).
    pub async fn next_any(&mut self, wait: Duration) -> Option<WsMessage> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()??;
            match message {
                Ok(Message::Text(text)) => {
                    let value: Value = serde_json::from_str(&text).expect("JSON message");
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                    }
                    return Some(WsMessage::Message(value));
                }
                Ok(Message::Close(frame)) => {
                    return Some(frame.map_or(WsMessage::Closed(1005, String::new()), |f| {
                        WsMessage::Closed(u16::from(f.code), f.reason.to_string())
                    }));
                }
                Ok(_) => continue,
                Err(_) => return Some(WsMessage::Closed(1006, String::new())),
            }
        }
    }

    /// Starts subscription `id` and waits until `app` has registered it (bounded by 30 s, never
    /// longer than it takes), so that the writes that follow reach it.
    pub async fn subscribe_registered(&mut self, app: &TestApp, id: &str, query: &str) {
        let before = app.served.subscriptions_registered();
        self.subscribe(id, query).await;
        let started = Instant::now();
        while app.served.subscriptions_registered() == before
            && started.elapsed() < Duration::from_secs(30)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The errors of the next message, within `wait`: an `error` message's payload, or the
    /// `errors` of a `next` (panics on anything else).
    pub async fn next_errors(&mut self, wait: Duration) -> Value {
        match self.next(wait).await {
            Some(WsMessage::Message(m)) if m["type"] == "error" => m["payload"].clone(),
            Some(WsMessage::Message(m)) if m["type"] == "next" => m["payload"]["errors"].clone(),
            other => panic!("expected errors, got {other:?}"),
        }
    }

    /// The `payload.data` of the next `next` message for subscription `id`, within `wait`.
    pub async fn next_data(&mut self, id: &str, wait: Duration) -> Option<Value> {
        match self.next(wait).await? {
            WsMessage::Message(m) if m["type"] == "next" && m["id"] == id => {
                Some(m["payload"]["data"].clone())
            }
            other => panic!("expected an event for {id}, got {other:?}"),
        }
    }
}
