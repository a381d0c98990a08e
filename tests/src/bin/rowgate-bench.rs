//! The bench's load generator: drives a running gateway over HTTP at a fixed concurrency for
//! a fixed time, rotating tokens over many users of the `seed --scale` data, and prints one
//! JSON line of results (requests/s, p50, p99, errors). Run by `scripts/bench.sh`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use rowgate::auth::jwt::{TokenRequest, mint_token};
use rowgate::config::Secret;
use rowgate_server::seed::scale;
use serde_json::{Value, json};

#[derive(Debug, Parser)]
#[command(about = "Load generator for the rowgate bench")]
struct Args {
    /// GraphQL endpoint.
    #[arg(long, default_value = "http://127.0.0.1:18080/graphql")]
    url: String,
    /// flags | feed | tenant-feed | deep | inbox | write
    #[arg(long)]
    case: String,
    /// Concurrent requests in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds of measurement (after a warm-up of one second).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Tenants of the scale data to rotate over (one user each).
    #[arg(long, default_value_t = 50)]
    tenants: u64,
    /// The gateway's HMAC secret.
    #[arg(long, env = "ROWGATE_JWT_SECRET", hide_env_values = true)]
    secret: String,
    /// Print the case's request for tenant 0 (the `authorization` header's value, then the
    /// JSON body, a line each) and exit: `scripts/profile.sh` sends it.
    #[arg(long)]
    print_request: bool,
    /// subscriptions case: WebSocket connections.
    #[arg(long, default_value_t = 2000)]
    connections: usize,
    /// subscriptions case: subscriptions per connection.
    #[arg(long, default_value_t = 5)]
    per_connection: usize,
    /// subscriptions case: events per second.
    #[arg(long, default_value_t = 200)]
    events_per_second: u64,
}

/// The user of tenant `t` the bench acts as: a plain member (user 5 of the tenant).
const BENCH_USER: u64 = 5;

fn case(name: &str, tenant: u64) -> Option<(String, Value)> {
    let t = scale::tenant_id(tenant).to_string();
    let (query, variables) = match name {
        "flags" => ("{ effectiveFlags { key enabled } }", json!({})),
        "feed" => (
            "{ posts(orderBy: [CREATED_AT_DESC], first: 20) { nodes { id title author { displayName } } } }",
            json!({}),
        ),
        "tenant-feed" => (
            "query($t: UUID!) { posts(filter: {tenantId: {eq: $t}}, orderBy: [CREATED_AT_DESC], first: 20) { nodes { id title author { displayName } } } }",
            json!({ "t": t }),
        ),
        "deep" => (
            "query($t: UUID!) { posts(filter: {tenantId: {eq: $t}}, orderBy: [CREATED_AT_DESC], first: 10) { nodes { id title comments(first: 5, orderBy: [CREATED_AT_DESC]) { totalCount nodes { body author { displayName } } } } } }",
            json!({ "t": t }),
        ),
        "inbox" => (
            "{ notifications(filter: {readAt: {isNull: true}}, orderBy: [CREATED_AT_DESC], first: 20) { totalCount nodes { id title } } }",
            json!({}),
        ),
        "write" => (
            "mutation($p: UUID!) { createComment(input: {postId: $p, body: \"bench comment\"}) { id } }",
            json!({ "p": scale::post_id(tenant, 1).to_string() }),
        ),
        _ => return None,
    };
    Some((query.to_owned(), variables))
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)] as f64 / 1000.0
}

fn token(secret: &Secret, tenant: u64, role: &str) -> String {
    token_for(secret, tenant, BENCH_USER, role)
}

fn token_for(secret: &Secret, tenant: u64, user: u64, role: &str) -> String {
    mint_token(
        secret,
        &TokenRequest {
            user: (role == "authenticated").then(|| scale::user_id(tenant, user)),
            tenant: (role == "authenticated").then(|| scale::tenant_id(tenant)),
            role: role.into(),
            ttl: Duration::from_secs(3600),
            audience: None,
            issuer: None,
        },
    )
    .expect("mint token")
}

/// The subscriptions case: `connections` WebSocket clients with `per_connection`
/// `notificationChanged` subscriptions each, users rotating over the tenants; the service role
/// creates notifications for those users at `events_per_second`; every delivery's latency is
/// measured from the send time written into the notification.
async fn subscriptions(args: &Args) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let secret = Secret::new(args.secret.clone());
    let ws_url = args.url.replacen("http://", "ws://", 1);
    let epoch = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let mut opened = 0usize;
    for i in 0..args.connections {
        // One distinct user per connection: user `i / tenants` of tenant `i % tenants`.
        let (tenant, user) = ((i as u64) % args.tenants, (i as u64 / args.tenants) % 100);
        let mut request = ws_url.clone().into_client_request().expect("request");
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().expect("header"),
        );
        let Ok((mut socket, _)) = tokio_tungstenite::connect_async(request).await else {
            continue;
        };
        let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", token_for(&secret, tenant, user, "authenticated"))}});
        if socket
            .send(Message::Text(init.to_string().into()))
            .await
            .is_err()
        {
            continue;
        }
        for s in 0..args.per_connection {
            let subscribe = json!({"id": s.to_string(), "type": "subscribe", "payload": {"query": "subscription { notificationChanged { node { title } } }"}});
            let _ = socket
                .send(Message::Text(subscribe.to_string().into()))
                .await;
        }
        opened += 1;
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(value) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                if value["type"] == "ping" {
                    let _ = socket
                        .send(Message::Text(json!({"type": "pong"}).to_string().into()))
                        .await;
                    continue;
                }
                if let Some(sent) = value["payload"]["data"]["notificationChanged"]["node"]["title"]
                    .as_str()
                    .and_then(|t| t.strip_prefix("bench@"))
                    .and_then(|t| t.parse::<u64>().ok())
                {
                    let now = u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
                    let _ = tx.send(now.saturating_sub(sent));
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let client = reqwest::Client::new();
    let service = format!("Bearer {}", token(&secret, 0, "service_role"));
    let interval = Duration::from_micros(1_000_000 / args.events_per_second.max(1));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut sent = 0u64;
    let mut ticker = tokio::time::interval(interval);
    while Instant::now() < deadline {
        ticker.tick().await;
        // Events go round the connected users.
        let target = sent % args.connections.max(1) as u64;
        let (tenant, user) = (target % args.tenants, (target / args.tenants) % 100);
        let at = u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
        let body = json!({
            "query": "mutation($u: UUID!, $t: UUID!, $title: String!) { createNotification(input: {userId: $u, tenantId: $t, kind: \"bench\", title: $title, body: \"b\"}) { id } }",
            "variables": {"u": scale::user_id(tenant, user).to_string(), "t": scale::tenant_id(tenant).to_string(), "title": format!("bench@{at}")},
        });
        let client = client.clone();
        let (url, auth) = (args.url.clone(), service.clone());
        tokio::spawn(async move {
            let _ = client
                .post(url)
                .header("authorization", auth)
                .json(&body)
                .send()
                .await;
        });
        sent += 1;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut latencies = Vec::new();
    while let Ok(latency) = rx.try_recv() {
        latencies.push(latency);
    }
    latencies.sort_unstable();
    let expected = sent as usize * args.per_connection;
    println!(
        "{}",
        json!({
            "case": "subscriptions",
            "connections": opened,
            "subscriptions": opened * args.per_connection,
            "events": sent,
            "deliveries": latencies.len(),
            "expected_deliveries": expected,
            "p50_ms": (percentile(&latencies, 50.0) * 100.0).round() / 100.0,
            "p99_ms": (percentile(&latencies, 99.0) * 100.0).round() / 100.0,
        })
    );
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if args.case == "subscriptions" {
        subscriptions(&args).await;
        return;
    }
    let secret = Secret::new(args.secret.clone());
    let mut requests = Vec::new();
    for t in 0..args.tenants {
        let Some((query, variables)) = case(&args.case, t) else {
            eprintln!("unknown case {}", args.case);
            std::process::exit(2);
        };
        let token = mint_token(
            &secret,
            &TokenRequest {
                user: Some(scale::user_id(t, BENCH_USER)),
                tenant: Some(scale::tenant_id(t)),
                role: "authenticated".into(),
                ttl: Duration::from_secs(3600),
                audience: None,
                issuer: None,
            },
        )
        .expect("mint token");
        let body =
            serde_json::to_vec(&json!({ "query": query, "variables": variables })).expect("body");
        requests.push((format!("Bearer {token}"), body));
    }
    if args.print_request {
        let (authorization, body) = &requests[0];
        println!("{authorization}\n{}", String::from_utf8_lossy(body));
        return;
    }
    let requests = Arc::new(requests);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .expect("client");

    let run = |duration: Duration| {
        let client = client.clone();
        let requests = requests.clone();
        let url = args.url.clone();
        let concurrency = args.concurrency;
        async move {
            let deadline = Instant::now() + duration;
            let mut workers = Vec::new();
            for worker in 0..concurrency {
                let (client, requests, url) = (client.clone(), requests.clone(), url.clone());
                workers.push(tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    let mut errors = 0u64;
                    let mut i = worker;
                    while Instant::now() < deadline {
                        let (auth, body) = &requests[i % requests.len()];
                        i += concurrency;
                        let started = Instant::now();
                        let result = client
                            .post(&url)
                            .header("authorization", auth)
                            .header("content-type", "application/json")
                            .body(body.clone())
                            .send()
                            .await;
                        let ok = match result {
                            Ok(response) if response.status().is_success() => response
                                .bytes()
                                .await
                                .ok()
                                .is_some_and(|b| !b.windows(9).any(|w| w == b"\"errors\":")),
                            _ => false,
                        };
                        latencies
                            .push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
                        if !ok {
                            errors += 1;
                        }
                    }
                    (latencies, errors)
                }));
            }
            let mut all = Vec::new();
            let mut errors = 0;
            for worker in workers {
                let (latencies, e) = worker.await.expect("worker");
                all.extend(latencies);
                errors += e;
            }
            (all, errors)
        }
    };

    let _ = run(Duration::from_secs(1)).await;
    let started = Instant::now();
    let (mut latencies, errors) = run(Duration::from_secs(args.seconds)).await;
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let report = json!({
        "case": args.case,
        "concurrency": args.concurrency,
        "requests": latencies.len(),
        "errors": errors,
        "rps": (latencies.len() as f64 / elapsed).round(),
        "p50_ms": (percentile(&latencies, 50.0) * 100.0).round() / 100.0,
        "p99_ms": (percentile(&latencies, 99.0) * 100.0).round() / 100.0,
    });
    println!("{report}");
}
