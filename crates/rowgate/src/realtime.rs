//! The event stream subscriptions read: this instance's committed changes, the changes of
//! every other instance (Redis pub/sub, when configured), and on PostgreSQL the writes made
//! outside the gateway (the `rowgate_rows` NOTIFY channel; the gateway loads the row).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbBackend};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::planner::{Change, ChangeOp, Store, values};
use crate::policy::eval::Row;

/// The NOTIFY channel an application's row triggers write to (on PostgreSQL), so rows
/// written outside the gateway reach subscribers too.
pub const ROW_CHANNEL: &str = "rowgate_rows";

/// How many events a subscriber may fall behind before it is disconnected.
const BUFFER: usize = 4096;

/// The subscriptions' event stream of one instance.
#[derive(Debug, Clone)]
pub struct Realtime {
    events: broadcast::Sender<Arc<Change>>,
    instance: Uuid,
}

/// A change as it travels between instances.
#[derive(Debug, Serialize, Deserialize)]
struct Wire {
    origin: Uuid,
    table: String,
    op: String,
    key: Row,
    old: Option<Row>,
    new: Option<Row>,
}

fn op_name(op: ChangeOp) -> &'static str {
    match op {
        ChangeOp::Insert => "INSERT",
        ChangeOp::Update => "UPDATE",
        ChangeOp::Delete => "DELETE",
    }
}

fn parse_op(text: &str) -> Option<ChangeOp> {
    match text {
        "INSERT" => Some(ChangeOp::Insert),
        "UPDATE" => Some(ChangeOp::Update),
        "DELETE" => Some(ChangeOp::Delete),
        _ => None,
    }
}

/// The `'static` name of `table` when the application serves it as subscriptions.
fn subscribable(policies: &crate::policy::PolicySet, table: &str) -> Option<&'static str> {
    policies.realtime().iter().copied().find(|t| *t == table)
}

impl Realtime {
    /// Starts forwarding: the store's committed changes to the local stream (and to Redis),
    /// other instances' changes from Redis, and on PostgreSQL outside writes from NOTIFY.
    /// Background tasks end when the store's shutdown begins.
    pub fn start(store: &Store, redis: Option<redis::Client>, prefix: &str) -> Self {
        let (events, _) = broadcast::channel(BUFFER);
        let realtime = Self {
            events,
            instance: Uuid::new_v4(),
        };
        store.set_events(realtime.events.clone());
        let channel = format!("{prefix}:rows");
        realtime.forward_local(store, redis.clone(), channel.clone());
        if let Some(client) = redis {
            realtime.forward_remote(store, client, channel);
        }
        if store.db.get_database_backend() == DbBackend::Postgres {
            realtime.forward_outside_writes(store);
        }
        realtime
    }

    /// Every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.events.subscribe()
    }

    fn forward_local(&self, store: &Store, redis: Option<redis::Client>, channel: String) {
        let mut local = store.subscribe_changes();
        let mut stopping = store.stopping();
        let policies = store.policies.clone();
        let events = self.events.clone();
        let origin = self.instance;
        tokio::spawn(async move {
            let mut connection = None;
            loop {
                let change = tokio::select! {
                    received = local.recv() => match received {
                        Ok(change) => change,
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "realtime forwarder fell behind");
                            continue;
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                    _ = stopping.changed() => return,
                };
                if subscribable(&policies, change.table).is_none() {
                    continue;
                }
                let _ = events.send(change.clone());
                let Some(client) = &redis else { continue };
                if connection.is_none() {
                    connection = tokio::time::timeout(
                        Duration::from_millis(500),
                        client.get_multiplexed_async_connection(),
                    )
                    .await
                    .ok()
                    .and_then(Result::ok);
                }
                let Some(conn) = connection.as_mut() else {
                    continue;
                };
                let wire = Wire {
                    origin,
                    table: change.table.to_owned(),
                    op: op_name(change.op).to_owned(),
                    key: change.key.clone(),
                    // A secret column never travels to other instances.
                    old: change
                        .old
                        .clone()
                        .map(|r| policies.without_secrets(change.table, r)),
                    new: change
                        .new
                        .clone()
                        .map(|r| policies.without_secrets(change.table, r)),
                };
                let Ok(payload) = serde_json::to_string(&wire) else {
                    continue;
                };
                let published = tokio::time::timeout(
                    Duration::from_millis(200),
                    redis::cmd("PUBLISH")
                        .arg(&channel)
                        .arg(payload)
                        .query_async::<i64>(conn),
                )
                .await;
                if !matches!(published, Ok(Ok(_))) {
                    tracing::warn!(
                        "a change could not be published to Redis; other instances miss it"
                    );
                    connection = None;
                }
            }
        });
    }

    fn forward_remote(&self, store: &Store, client: redis::Client, channel: String) {
        let policies = store.policies.clone();
        let events = self.events.clone();
        let origin = self.instance;
        let mut stopping = store.stopping();
        tokio::spawn(async move {
            loop {
                let session = async {
                    let mut pubsub = client.get_async_pubsub().await?;
                    pubsub.subscribe(&channel).await?;
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Ok(payload) = message.get_payload::<String>() else {
                            continue;
                        };
                        let Ok(wire) = serde_json::from_str::<Wire>(&payload) else {
                            continue;
                        };
                        if wire.origin == origin {
                            continue;
                        }
                        let (Some(table), Some(op)) =
                            (subscribable(&policies, &wire.table), parse_op(&wire.op))
                        else {
                            continue;
                        };
                        let _ = events.send(Arc::new(Change {
                            table,
                            op,
                            key: wire.key,
                            old: wire.old,
                            new: wire.new,
                        }));
                    }
                    redis::RedisResult::Ok(())
                };
                tokio::select! {
                    result = session => {
                        if let Err(err) = result {
                            tracing::warn!(error = %err, "Redis change subscription lost; retrying");
                        }
                    }
                    _ = stopping.changed() => return,
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }

    fn forward_outside_writes(&self, store: &Store) {
        let events = self.events.clone();
        let store = store.clone();
        let mut stopping = store.stopping();
        tokio::spawn(async move {
            loop {
                let session = async {
                    let pool = store.db.get_postgres_connection_pool();
                    let mut listener =
                        sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
                    listener.listen(ROW_CHANNEL).await?;
                    loop {
                        let notification = listener.recv().await?;
                        if let Some(change) = outside_change(&store, notification.payload()).await {
                            let _ = events.send(Arc::new(change));
                        }
                    }
                    #[expect(unreachable_code, reason = "the loop only ends with an error")]
                    Ok::<(), sea_orm::sqlx::Error>(())
                };
                tokio::select! {
                    result = session => {
                        if let Err(err) = result {
                            tracing::warn!(error = %err, "PostgreSQL row listener lost; retrying");
                        }
                    }
                    _ = stopping.changed() => return,
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }
}

/// A NOTIFY payload of a write made outside the gateway, with the row loaded.
async fn outside_change(store: &Store, payload: &str) -> Option<Change> {
    #[derive(Deserialize)]
    struct Notice {
        table: String,
        op: String,
        key: Row,
        origin: Option<String>,
    }
    let notice: Notice = serde_json::from_str(payload).ok()?;
    if notice.origin.as_deref() == Some("gateway") {
        return None;
    }
    let table = subscribable(&store.policies, &notice.table)?;
    let op = parse_op(&notice.op)?;
    let meta = store.table(table).ok()?;
    let key: Row = meta
        .primary_key
        .iter()
        .map(|k| {
            let value = notice
                .key
                .get(*k)
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            ((*k).to_owned(), value)
        })
        .collect();
    let new = if op == ChangeOp::Delete {
        None
    } else {
        let mut select = Query::select();
        select
            .columns(meta.columns.iter().map(|c| Alias::new(c.name)))
            .from(Alias::new(meta.name));
        for column in &meta.primary_key {
            let column_meta = meta.column(column)?;
            let value = values::to_value(column_meta, key.get(*column)?, store.backend()).ok()?;
            select.and_where(Expr::col(Alias::new(*column)).eq(Expr::val(value)));
        }
        let row = store.db.query_one(&select).await.ok()??;
        Some(values::decode_row(&row, &meta.columns).ok()?)
    };
    Some(Change {
        table,
        op,
        key,
        old: None,
        new,
    })
}
