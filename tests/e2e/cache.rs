//! Hot configuration from the cache: the effective flags and config reads of the API, zero
//! SQL when warm, invalidation by writes (through this instance, through another instance,
//! outside the gateway), and Redis going down, slow and back without a failed request.
//!
//! Every app keeps its Redis keys under a prefix of its own (`TestApp` gives each one a
//! UUID prefix, shared with its peers, and deletes the keys when it stops).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rowgate::cache::values::rollout_bucket;
use rowgate_tests::demo::{ACME, ALICE, BOB, CAROL, ERIN, FRANK, GLOBEX, MALLORY};
use rowgate_tests::{Backend, TestApp, TestOptions, backends, error_code, service_url};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use uuid::Uuid;

const FLAGS: &str = "{ effectiveFlags { key enabled rolloutPercent source } }";

/// The demo flag row `n` (see `seed/demo.rs`): 1 new_editor global, 2 new_editor Acme,
/// 3 dark_mode, 4 beta_search global, 5 beta_search Globex, 6 realtime_feed.
fn flag_id(n: u128) -> String {
    Uuid::from_u128(0xdeadbeef_0000_4000_8000_000000000000 | (9 << 16) | n).to_string()
}

/// Runs a query that must succeed; returns `data`.
async fn data(app: &TestApp, query: &str, variables: Value, token: Option<&str>) -> Value {
    let (status, body) = app.graphql(query, variables, token).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    assert!(body.get("errors").is_none(), "{query}: {body}");
    body["data"].clone()
}

/// `{key: enabled}` of the principal's effective flags.
async fn flags(app: &TestApp, token: &str) -> Value {
    let data = data(app, FLAGS, json!({}), Some(token)).await;
    let mut out = serde_json::Map::new();
    for flag in data["effectiveFlags"].as_array().expect("flags") {
        out.insert(
            flag["key"].as_str().expect("key").to_owned(),
            flag["enabled"].clone(),
        );
    }
    Value::Object(out)
}

/// The demo's effective flags for a member of `tenant` (docs/SCHEMA.md's rule, computed here
/// from the seed, independently of the gateway).
fn expected_flags(user: Uuid, tenant: Option<Uuid>) -> Value {
    let bucket = |key: &str| i16::from(rollout_bucket(user, key));
    let new_editor = if tenant == Some(ACME) {
        true
    } else {
        bucket("new_editor") < 50
    };
    let beta_search = tenant == Some(GLOBEX) && bucket("beta_search") < 25;
    json!({
        "beta_search": beta_search,
        "dark_mode": true,
        "new_editor": new_editor,
        "realtime_feed": true,
    })
}

/// One sample of `/metrics` (`name` with its labels, as the line starts).
async fn metric(app: &TestApp, sample: &str) -> u64 {
    let (status, _, text) = app.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    text.lines()
        .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no sample {sample} in\n{text}"))
}

/// Polls `check` every few milliseconds until it holds or `limit` passes; returns how long
/// it took.
async fn within<F, Fut>(limit: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn effective_flags_and_config_follow_the_schema_rules() {
    for backend in backends("effective_flags_and_config_follow_the_schema_rules") {
        let app = TestApp::spawn(backend).await;
        for (user, tenant) in [
            (BOB, Some(ACME)),
            (ALICE, Some(ACME)),
            (FRANK, Some(GLOBEX)),
            (ERIN, None),
        ] {
            let token = app.token(user, tenant);
            assert_eq!(
                flags(&app, &token).await,
                expected_flags(user, tenant),
                "{backend}: {user} in {tenant:?}"
            );
            for key in ["new_editor", "beta_search", "dark_mode", "no_such_flag"] {
                let on = data(
                    &app,
                    "query($k: String!) { flagEnabled(key: $k) }",
                    json!({ "k": key }),
                    Some(&token),
                )
                .await["flagEnabled"]
                    .clone();
                let expected = expected_flags(user, tenant)
                    .get(key)
                    .cloned()
                    .unwrap_or(json!(false));
                assert_eq!(on, expected, "{backend}: {key} for {user}");
            }
        }
        // Where each effective flag comes from.
        let bob = app.token(BOB, Some(ACME));
        let listed = data(&app, FLAGS, json!({}), Some(&bob)).await;
        let new_editor = listed["effectiveFlags"]
            .as_array()
            .expect("flags")
            .iter()
            .find(|f| f["key"] == "new_editor")
            .cloned()
            .expect("new_editor");
        assert_eq!(
            new_editor,
            json!({"key": "new_editor", "enabled": true, "rolloutPercent": 100, "source": "TENANT"})
        );

        // Anon reads no flags.
        let anon = data(
            &app,
            "{ effectiveFlags { key } flagEnabled(key: \"dark_mode\") }",
            json!({}),
            None,
        )
        .await;
        assert_eq!(anon, json!({"effectiveFlags": [], "flagEnabled": false}));

        // config(key): anon sees public keys only, authenticated all.
        let q = "{ public: config(key: \"app.name\") private: config(key: \"billing.provider\") missing: config(key: \"nope\") }";
        let as_anon = data(&app, q, json!({}), None).await;
        assert_eq!(
            as_anon,
            json!({"public": "rowgate demo", "private": null, "missing": null})
        );
        let as_bob = data(&app, q, json!({}), Some(&bob)).await;
        assert_eq!(as_bob["private"]["name"], "stripe", "{backend}");
        let public = data(&app, "{ publicConfig }", json!({}), None).await;
        assert!(public["publicConfig"].get("billing.provider").is_none());
        assert_eq!(public["publicConfig"]["app.name"], "rowgate demo");
        app.stop().await;
    }
}

#[tokio::test]
async fn warm_flags_config_and_principal_resolution_run_no_sql() {
    for backend in backends("warm_flags_config_and_principal_resolution_run_no_sql") {
        let app = TestApp::spawn(backend).await;
        let bob = app.token(BOB, Some(ACME));

        // Cold: the reads are counted (principal facts: 3 statements; flag rows: global
        // and Acme's), so the counter below means something.
        let before = app.statements();
        data(&app, FLAGS, json!({}), Some(&bob)).await;
        assert_eq!(
            app.statements() - before,
            5,
            "{backend}: cold effectiveFlags"
        );

        // Warm: nothing.
        let before = app.statements();
        for _ in 0..3 {
            data(&app, FLAGS, json!({}), Some(&bob)).await;
            data(
                &app,
                "{ flagEnabled(key: \"new_editor\") publicConfig c: config(key: \"app.name\") }",
                json!({}),
                Some(&bob),
            )
            .await;
        }
        assert_eq!(
            app.statements() - before,
            1,
            "{backend}: warm effectiveFlags and flagEnabled run no SQL; only the first config read loads"
        );
        let before = app.statements();
        data(&app, "{ publicConfig }", json!({}), None).await;
        assert_eq!(app.statements() - before, 0, "{backend}: warm publicConfig");

        // Principal resolution alone, the active tenant named by the Host's subdomain.
        let carol = app.token(CAROL, None);
        let whoami = "{ __typename }";
        let resolve = || async {
            let (status, body) = app
                .graphql_with_headers(
                    whoami,
                    json!({}),
                    Some(&carol),
                    &[("host", "acme.localhost")],
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        };
        let before = app.statements();
        resolve().await;
        assert_eq!(
            app.statements() - before,
            4,
            "{backend}: cold: tenant by subdomain + 3 principal facts"
        );
        let before = app.statements();
        for _ in 0..3 {
            resolve().await;
        }
        assert_eq!(
            app.statements() - before,
            0,
            "{backend}: warm principal resolution"
        );
        assert!(
            metric(
                &app,
                "rowgate_cache_hits_total{cache=\"principals\",tier=\"local\"}"
            )
            .await
                >= 3
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn concurrent_cold_requests_load_once() {
    for backend in backends("concurrent_cold_requests_load_once") {
        let app = TestApp::spawn(backend).await;
        let frank = app.token(FRANK, Some(GLOBEX));
        let before = app.statements();
        let requests = (0..16).map(|_| data(&app, FLAGS, json!({}), Some(&frank)));
        for data in futures_util::future::join_all(requests).await {
            assert_eq!(
                data["effectiveFlags"].as_array().map(Vec::len),
                Some(4),
                "{backend}"
            );
        }
        assert_eq!(
            app.statements() - before,
            5,
            "{backend}: 16 concurrent misses, one load per key"
        );
        assert_eq!(
            metric(&app, "rowgate_cache_loads_total{cache=\"principals\"}").await,
            1
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn writes_through_the_gateway_are_seen_by_the_next_request() {
    for backend in backends("writes_through_the_gateway_are_seen_by_the_next_request") {
        let app = TestApp::spawn(backend).await;
        let bob = app.token(BOB, Some(ACME));
        let erin = app.token(ERIN, None);
        let alice = app.token(ALICE, Some(ACME));
        assert_eq!(flags(&app, &bob).await["dark_mode"], true);
        data(&app, "{ publicConfig }", json!({}), None).await;

        // A global flag (platform admin).
        data(
            &app,
            "mutation($id: UUID!) { updateFeatureFlag(id: $id, patch: {enabled: false}) { id } }",
            json!({ "id": flag_id(3) }),
            Some(&erin),
        )
        .await;
        assert_eq!(flags(&app, &bob).await["dark_mode"], false, "{backend}");

        // A tenant's flag (tenant admin): Acme rolls new_editor back to nobody.
        data(
            &app,
            "mutation($id: UUID!) { updateFeatureFlag(id: $id, patch: {rolloutPercent: 0}) { id } }",
            json!({ "id": flag_id(2) }),
            Some(&alice),
        )
        .await;
        assert_eq!(flags(&app, &bob).await["new_editor"], false, "{backend}");

        // A new tenant row overrides the global one.
        data(
            &app,
            "mutation($t: UUID!) { createFeatureFlag(input: {key: \"realtime_feed\", tenantId: $t, enabled: false}) { id } }",
            json!({ "t": ACME }),
            Some(&alice),
        )
        .await;
        assert_eq!(flags(&app, &bob).await["realtime_feed"], false, "{backend}");

        // system_config.
        data(
            &app,
            "mutation { updateSystemConfig(key: \"app.name\", patch: {value: \"renamed\"}) { key } }",
            json!({}),
            Some(&erin),
        )
        .await;
        let public = data(
            &app,
            "{ publicConfig c: config(key: \"app.name\") }",
            json!({}),
            None,
        )
        .await;
        assert_eq!(public["publicConfig"]["app.name"], "renamed", "{backend}");
        assert_eq!(public["c"], "renamed", "{backend}");

        // user_roles: a platform role granted shows in the principal at once.
        let mallory = app.token(MALLORY, Some(ACME));
        let roles = "{ me { platformRoles } }";
        assert_eq!(
            data(&app, roles, json!({}), Some(&mallory)).await["me"]["platformRoles"],
            json!(["MODERATOR"])
        );
        data(
            &app,
            "mutation($u: UUID!) { createUserRole(input: {userId: $u, role: ADMIN}) { userId } }",
            json!({ "u": MALLORY }),
            Some(&erin),
        )
        .await;
        let mut granted: Vec<Value> =
            data(&app, roles, json!({}), Some(&mallory)).await["me"]["platformRoles"]
                .as_array()
                .expect("roles")
                .clone();
        granted.sort_by_key(ToString::to_string);
        assert_eq!(granted, [json!("ADMIN"), json!("MODERATOR")], "{backend}");

        // tenant_members: a member removed is refused at the next request.
        data(
            &app,
            "mutation($t: UUID!, $u: UUID!) { deleteTenantMember(tenantId: $t, userId: $u) { userId } }",
            json!({ "t": ACME, "u": BOB }),
            Some(&alice),
        )
        .await;
        let (status, body) = app.graphql(FLAGS, json!({}), Some(&bob)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{backend}: {body}");
        assert_eq!(error_code(&body), Some("FORBIDDEN"));

        assert!(metric(&app, "rowgate_cache_invalidations_total{cache=\"flags\"}").await >= 3);
        app.stop().await;
    }
}

#[tokio::test]
async fn the_cache_can_be_turned_off() {
    for backend in backends("the_cache_can_be_turned_off") {
        let app = TestApp::spawn_with(
            backend,
            TestOptions {
                settings: Some(|s| s.cache = Some("false".into())),
                ..TestOptions::default()
            },
        )
        .await;
        assert!(!app.cache.enabled());
        let bob = app.token(BOB, Some(ACME));
        for _ in 0..2 {
            let before = app.statements();
            assert_eq!(
                flags(&app, &bob).await,
                expected_flags(BOB, Some(ACME)),
                "{backend}"
            );
            assert_eq!(
                app.statements() - before,
                5,
                "{backend}: every request reads the database"
            );
        }
        assert_eq!(metric(&app, "rowgate_cache_enabled").await, 0);
        app.stop().await;
    }
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let bob = app.token(BOB, Some(ACME));
    flags(&app, &bob).await;
    flags(&app, &bob).await;
    let (status, content_type, text) = app.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    for name in [
        "rowgate_cache_hits_total",
        "rowgate_cache_misses_total",
        "rowgate_cache_loads_total",
        "rowgate_cache_invalidations_total",
    ] {
        assert!(text.contains(&format!("# TYPE {name} counter")), "{text}");
        for cache in [
            "flags",
            "effective_flags",
            "config",
            "subdomains",
            "principals",
            "tables",
        ] {
            assert!(
                text.contains(&format!("{{cache=\"{cache}\"")),
                "{cache}: {text}"
            );
        }
    }
    assert!(
        metric(
            &app,
            "rowgate_cache_hits_total{cache=\"effective_flags\",tier=\"local\"}"
        )
        .await
            >= 1
    );
    if app.config.redis_url.is_some() {
        assert!(text.contains("rowgate_redis_breaker_open 0"), "{text}");
    }
    app.stop().await;
}

/// Waits until `app` receives the other instances' invalidations over Redis.
async fn until_subscribed(app: &TestApp) {
    within(Duration::from_secs(10), "subscribed to Redis", || async {
        app.cache.redis_status().is_some_and(|s| s.subscribed)
    })
    .await;
}

#[tokio::test]
async fn a_change_through_one_instance_reaches_the_other_within_100_ms() {
    if service_url(
        "REDIS_URL",
        "a_change_through_one_instance_reaches_the_other_within_100_ms",
    )
    .is_none()
    {
        return;
    }
    for backend in backends("a_change_through_one_instance_reaches_the_other_within_100_ms") {
        let a = TestApp::spawn(backend).await;
        let b = a.spawn_peer(TestOptions::default()).await;
        assert_eq!(a.config.cache.prefix, b.config.cache.prefix);
        until_subscribed(&a).await;
        until_subscribed(&b).await;

        let bob = a.token(BOB, Some(ACME));
        let erin = a.token(ERIN, None);
        let alice = a.token(ALICE, Some(ACME));
        // Warm B (and A).
        assert_eq!(flags(&b, &bob).await["dark_mode"], true);
        assert_eq!(flags(&a, &bob).await["dark_mode"], true);
        let loads = metric(&b, "rowgate_cache_loads_total{cache=\"flags\"}").await;
        assert_eq!(flags(&b, &bob).await["dark_mode"], true);
        assert_eq!(
            metric(&b, "rowgate_cache_loads_total{cache=\"flags\"}").await,
            loads,
            "B answers from its cache"
        );

        data(
            &a,
            "mutation($id: UUID!) { updateFeatureFlag(id: $id, patch: {enabled: false}) { id } }",
            json!({ "id": flag_id(3) }),
            Some(&erin),
        )
        .await;
        let took = within(
            Duration::from_millis(100),
            "B sees the flag changed through A",
            || async { flags(&b, &bob).await["dark_mode"] == false },
        )
        .await;
        eprintln!("{backend}: B saw the change {took:?} after A answered");

        // And the other way round, for config.
        data(&a, "{ publicConfig }", json!({}), None).await;
        data(
            &b,
            "mutation { updateSystemConfig(key: \"app.name\", patch: {value: \"from B\"}) { key } }",
            json!({}),
            Some(&erin),
        )
        .await;
        within(
            Duration::from_millis(100),
            "A sees the config changed through B",
            || async {
                data(&a, "{ publicConfig }", json!({}), None).await["publicConfig"]["app.name"]
                    == "from B"
            },
        )
        .await;

        // A member removed through A is refused on B at the next request.
        let (status, _) = b.graphql(FLAGS, json!({}), Some(&bob)).await;
        assert_eq!(status, StatusCode::OK, "{backend}: bob is a member on B");
        data(
            &a,
            "mutation($t: UUID!, $u: UUID!) { deleteTenantMember(tenantId: $t, userId: $u) { userId } }",
            json!({ "t": ACME, "u": BOB }),
            Some(&alice),
        )
        .await;
        let (status, body) = b.graphql(FLAGS, json!({}), Some(&bob)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{backend}: {body}");
        assert_eq!(error_code(&body), Some("FORBIDDEN"));
        assert!(
            metric(&b, "rowgate_cache_invalidation_messages_total").await >= 2,
            "{backend}: B heard A over Redis"
        );
        b.stop().await;
        a.stop().await;
    }
}

#[tokio::test]
async fn writes_outside_the_gateway_are_pushed_by_postgres() {
    if !backends("writes_outside_the_gateway_are_pushed_by_postgres").contains(&Backend::Postgres) {
        return;
    }
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn(Backend::Postgres).await;
    within(Duration::from_secs(10), "the listener is up", || async {
        app.cache.listening()
    })
    .await;
    let bob = app.token(BOB, Some(ACME));
    assert_eq!(flags(&app, &bob).await["dark_mode"], true);
    data(&app, "{ publicConfig }", json!({}), None).await;

    app.db
        .execute_unprepared(
            "UPDATE feature_flags SET enabled = false WHERE key = 'dark_mode' AND tenant_id IS NULL",
        )
        .await
        .expect("update");
    let took = within(
        Duration::from_secs(1),
        "NOTIFY reaches the cache",
        || async { flags(&app, &bob).await["dark_mode"] == false },
    )
    .await;
    eprintln!("an outside write reached the cache in {took:?}");

    app.db
        .execute_unprepared(&format!(
            "DELETE FROM tenant_members WHERE user_id = '{BOB}' AND tenant_id = '{ACME}'"
        ))
        .await
        .expect("delete");
    within(
        Duration::from_secs(1),
        "an outside membership removal",
        || async { app.graphql(FLAGS, json!({}), Some(&bob)).await.0 == StatusCode::FORBIDDEN },
    )
    .await;

    // A TRUNCATE has no rows to name: everything is dropped.
    app.db
        .execute_unprepared("TRUNCATE system_config")
        .await
        .expect("truncate");
    within(
        Duration::from_secs(1),
        "TRUNCATE reaches the cache",
        || async {
            data(&app, "{ publicConfig }", json!({}), None).await["publicConfig"] == json!({})
        },
    )
    .await;
    assert!(metric(&app, "rowgate_cache_invalidations_total{cache=\"config\"}").await >= 1);
    app.stop().await;
}

#[tokio::test]
async fn writes_outside_the_gateway_on_sqlite_are_bounded_by_the_ttl() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        TestOptions {
            settings: Some(|s| {
                s.cache_local_ttl_secs = Some("1".into());
                s.cache_ttl_secs = Some("1".into());
            }),
            ..TestOptions::default()
        },
    )
    .await;
    let bob = app.token(BOB, Some(ACME));
    assert_eq!(flags(&app, &bob).await["dark_mode"], true);
    app.db
        .execute_unprepared(
            "UPDATE feature_flags SET enabled = false WHERE key = 'dark_mode' AND tenant_id IS NULL",
        )
        .await
        .expect("update");
    // In-process TTL plus Redis TTL (when Redis is configured), with some slack.
    within(Duration::from_secs(3), "the TTL runs out", || async {
        flags(&app, &bob).await["dark_mode"] == false
    })
    .await;
    app.stop().await;
}

/// A TCP proxy on loopback in front of Redis that the test can slow down (hold every byte),
/// close (port refused, connections reset) and reopen on the same port.
struct Proxy {
    addr: SocketAddr,
    target: SocketAddr,
    stalled: watch::Sender<bool>,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Self {
        let (stalled, _) = watch::channel(false);
        let mut proxy = Self {
            addr: "127.0.0.1:0".parse().expect("addr"),
            target,
            stalled,
            tasks: Arc::default(),
        };
        proxy.open().await;
        proxy
    }

    async fn open(&mut self) {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("reuseaddr");
        socket.bind(self.addr).expect("bind the proxy port");
        let listener = socket.listen(64).expect("listen");
        self.addr = listener.local_addr().expect("addr");
        let (target, stalled, tasks) = (self.target, self.stalled.clone(), self.tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(target).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                let up = tokio::spawn(pump(client_read, server_write, stalled.subscribe()));
                let down = tokio::spawn(pump(server_read, client_write, stalled.subscribe()));
                tasks.lock().expect("tasks").extend([up, down]);
            }
        });
        self.tasks.lock().expect("tasks").push(accept);
    }

    /// Closes the port and every connection through it.
    fn close(&self) {
        for task in self.tasks.lock().expect("tasks").drain(..) {
            task.abort();
        }
    }

    fn stall(&self, stalled: bool) {
        self.stalled.send_replace(stalled);
    }

    /// `redis_url` with its host and port replaced by the proxy's.
    fn url(&self, redis_url: &str) -> String {
        let (scheme, rest) = redis_url.split_once("://").expect("redis URL");
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        let credentials = authority.rsplit_once('@').map(|(c, _)| c);
        let mut out = format!("{scheme}://");
        if let Some(credentials) = credentials {
            out.push_str(credentials);
            out.push('@');
        }
        out.push_str(&self.addr.to_string());
        if !path.is_empty() {
            out.push('/');
            out.push_str(path);
        }
        out
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.close();
    }
}

/// Copies bytes one way, holding them while the proxy is stalled.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut stalled: watch::Receiver<bool>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while *stalled.borrow_and_update() {
            if stalled.changed().await.is_err() {
                return;
            }
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

fn redis_target(redis_url: &str) -> SocketAddr {
    let rest = redis_url.split_once("://").expect("redis URL").1;
    let authority = rest.split('/').next().expect("authority");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:6379")
    };
    std::net::ToSocketAddrs::to_socket_addrs(&host_port)
        .expect("resolve the Redis host")
        .next()
        .expect("an address")
}

/// Every answer the outage test checks, each within `latency`.
async fn answers_are_right(app: &TestApp, dark_mode: bool, latency: Duration) {
    for (user, tenant) in [(BOB, Some(ACME)), (FRANK, Some(GLOBEX)), (ERIN, None)] {
        let token = app.token(user, tenant);
        let start = Instant::now();
        let mut expected = expected_flags(user, tenant);
        expected["dark_mode"] = json!(dark_mode);
        assert_eq!(flags(app, &token).await, expected, "{user}");
        assert!(start.elapsed() < latency, "{user}: {:?}", start.elapsed());
    }
    let start = Instant::now();
    let (status, body) = app
        .graphql_with_headers(
            "{ publicConfig me { activeTenantId } }",
            json!({}),
            Some(&app.token(CAROL, None)),
            &[("host", "acme.localhost")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["me"]["activeTenantId"], ACME.to_string());
    assert_eq!(body["data"]["publicConfig"]["app.name"], "rowgate demo");
    assert!(start.elapsed() < latency, "{:?}", start.elapsed());
}

#[tokio::test]
async fn redis_slow_or_gone_costs_no_request_and_caching_resumes() {
    let Some(redis_url) = service_url(
        "REDIS_URL",
        "redis_slow_or_gone_costs_no_request_and_caching_resumes",
    ) else {
        return;
    };
    for backend in backends("redis_slow_or_gone_costs_no_request_and_caching_resumes") {
        let proxy = Proxy::start(redis_target(&redis_url)).await;
        let app = TestApp::spawn_with(
            backend,
            TestOptions {
                redis_url: Some(proxy.url(&redis_url)),
                // A short in-process TTL, so Redis and the database are asked again and
                // again during the test.
                settings: Some(|s| {
                    s.cache_local_ttl_secs = Some("1".into());
                    s.redis_breaker_cooldown_ms = Some("200".into());
                }),
                ..TestOptions::default()
            },
        )
        .await;
        until_subscribed(&app).await;
        let latency = Duration::from_secs(1);
        let redis_hits = "rowgate_cache_hits_total{cache=\"flags\",tier=\"redis\"}";

        // Warm; once the in-process entries expire, Redis answers.
        answers_are_right(&app, true, latency).await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        answers_are_right(&app, true, latency).await;
        assert!(
            metric(&app, redis_hits).await > 0,
            "{backend}: Redis in use"
        );

        // Slow: Redis holds every byte.
        proxy.stall(true);
        let until = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < until {
            answers_are_right(&app, true, latency).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            metric(&app, "rowgate_redis_timeouts_total").await > 0,
            "{backend}"
        );

        // Gone: the port is closed, connections reset.
        proxy.close();
        proxy.stall(false);
        let until = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < until {
            answers_are_right(&app, true, latency).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // A write while Redis is gone: this instance sees it at once.
        data(
            &app,
            "mutation($id: UUID!) { updateFeatureFlag(id: $id, patch: {enabled: false}) { id } }",
            json!({ "id": flag_id(3) }),
            Some(&app.token(ERIN, None)),
        )
        .await;
        answers_are_right(&app, false, latency).await;
        assert!(
            app.cache.redis_status().is_some_and(|s| s.flush_owed),
            "{backend}: the missed invalidation is remembered"
        );
        assert!(metric(&app, "rowgate_redis_short_circuits_total").await > 0);

        // Back on the same port: used again without a restart, and what Redis still holds
        // from before the write is never served.
        let mut proxy = proxy;
        proxy.open().await;
        within(Duration::from_secs(10), "Redis is used again", || async {
            app.cache
                .redis_status()
                .is_some_and(|s| s.subscribed && !s.breaker_open && !s.flush_owed)
        })
        .await;
        answers_are_right(&app, false, latency).await;
        let hits = metric(&app, redis_hits).await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        answers_are_right(&app, false, latency).await;
        assert!(
            metric(&app, redis_hits).await > hits,
            "{backend}: caching in Redis resumed"
        );
        app.stop().await;
    }
}
