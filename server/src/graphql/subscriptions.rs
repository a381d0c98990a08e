//! Subscriptions: `<table>Changed(filter)` for the subscribable tables, fed by the change
//! bus and checked per event against each subscriber's read policy and filter.
//!
//! An event reaches a subscriber only if the row passes the subscriber's read policy (and
//! filter) at the time of the event: decided in memory from the row and the principal's
//! facts where the rule allows, by the database otherwise (which also applies column
//! masks). A row that leaves the subscriber's view arrives as DELETE with `node: null`.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_graphql::dynamic::{
    Enum, Field, FieldFuture, FieldValue, InputValue, Object, SchemaBuilder, Subscription,
    SubscriptionField, SubscriptionFieldFuture, TypeRef,
};
use async_graphql::{Name, Value};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

use super::RequestContext;
use super::names::{one_field, type_name};
use super::tables::Node;
use crate::planner::{Change, ChangeOp, Store};
use crate::policy::Principal;
use crate::policy::eval::{self, Row};

/// The tables with a `<table>Changed` subscription.
pub const SUBSCRIBABLE: [&str; 7] = [
    "posts",
    "comments",
    "reactions",
    "messages",
    "notifications",
    "feature_flags",
    "profiles",
];

const CHANGE_OP: &str = "ChangeOp";

/// Limits of one WebSocket connection, shared by its subscriptions.
#[derive(Debug)]
pub struct ConnectionLimits {
    /// Subscriptions open on the connection.
    pub open: AtomicUsize,
    /// Most subscriptions one connection may hold.
    pub max: usize,
    /// When the connection's token expires (seconds since the epoch), if it has one.
    pub expires_at: Option<i64>,
}

/// One delivered event.
#[derive(Debug, Clone)]
struct Event {
    op: ChangeOp,
    node: Option<Node>,
}

impl<'a> From<Event> for FieldValue<'a> {
    fn from(event: Event) -> Self {
        FieldValue::owned_any(event)
    }
}

fn change_type(table: &str) -> String {
    format!("{}Change", type_name(table))
}

/// Registers the change types and returns the Subscription root.
pub fn register(mut builder: SchemaBuilder) -> (SchemaBuilder, Subscription) {
    builder = builder.register(Enum::new(CHANGE_OP).items(["INSERT", "UPDATE", "DELETE"]));
    let mut root = Subscription::new("Subscription");
    for table in SUBSCRIBABLE {
        let object = Object::new(change_type(table))
            .field(Field::new("op", TypeRef::named_nn(CHANGE_OP), |ctx| {
                FieldFuture::new(async move {
                    let event = ctx.parent_value.try_downcast_ref::<Event>()?;
                    let op = match event.op {
                        ChangeOp::Insert => "INSERT",
                        ChangeOp::Update => "UPDATE",
                        ChangeOp::Delete => "DELETE",
                    };
                    Ok(Some(FieldValue::value(Value::Enum(Name::new(op)))))
                })
            }))
            .field(Field::new(
                "node",
                TypeRef::named(type_name(table)),
                |ctx| {
                    FieldFuture::new(async move {
                        let event = ctx.parent_value.try_downcast_ref::<Event>()?;
                        Ok(event.node.clone().map(FieldValue::owned_any))
                    })
                },
            ));
        builder = builder.register(object);
        root = root.field(
            SubscriptionField::new(
                format!("{}Changed", one_field(table)),
                TypeRef::named_nn(change_type(table)),
                move |ctx| {
                    SubscriptionFieldFuture::new(async move {
                        let store = ctx.data::<Store>()?.clone();
                        let request = ctx.data::<RequestContext>()?;
                        let limits = ctx.data_opt::<Arc<ConnectionLimits>>().cloned();
                        let filter = ctx
                            .args
                            .get("filter")
                            .filter(|v| !v.is_null())
                            .map(|v| v.as_value().clone());
                        let guard = match limits {
                            Some(limits) => {
                                let open = limits.open.fetch_add(1, Ordering::SeqCst) + 1;
                                if open > limits.max {
                                    limits.open.fetch_sub(1, Ordering::SeqCst);
                                    return Err(async_graphql::Error::new(format!(
                                        "at most {} subscriptions per connection",
                                        limits.max
                                    ))
                                    .extend_with(|_, e| e.set("code", "RATE_LIMITED")));
                                }
                                Some(OpenGuard(limits))
                            }
                            None => None,
                        };
                        Ok(events(
                            store,
                            request.principal.clone(),
                            table,
                            filter,
                            guard,
                        ))
                    })
                },
            )
            .argument(InputValue::new(
                "filter",
                TypeRef::named(format!("{}Filter", type_name(table))),
            )),
        );
    }
    (builder, root)
}

use async_graphql::ErrorExtensions as _;

/// Counts an open subscription for its connection; releases it when the stream ends.
struct OpenGuard(Arc<ConnectionLimits>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

struct State {
    store: Store,
    principal: Principal,
    table: &'static str,
    filter: Option<Value>,
    receiver: tokio::sync::broadcast::Receiver<Arc<Change>>,
    stopping: tokio::sync::watch::Receiver<bool>,
    seen: HashSet<String>,
    guard: Option<OpenGuard>,
    done: bool,
}

fn key_text(change: &Change) -> String {
    serde_json::Value::Object(change.key.clone()).to_string()
}

fn error(message: &str, code: &str) -> async_graphql::Error {
    let code = code.to_owned();
    async_graphql::Error::new(message).extend_with(move |_, e| e.set("code", code.clone()))
}

/// The events of one subscription.
fn events(
    store: Store,
    principal: Principal,
    table: &'static str,
    filter: Option<Value>,
    guard: Option<OpenGuard>,
) -> impl Stream<Item = async_graphql::Result<Event>> + Send {
    let receiver = store.subscribe_events();
    let stopping = store.stopping();
    let state = State {
        store,
        principal,
        table,
        filter,
        receiver,
        stopping,
        seen: HashSet::new(),
        guard,
        done: false,
    };
    stream::unfold(state, |mut state| async move {
        if state.done {
            return None;
        }
        loop {
            let expiry = state
                .guard
                .as_ref()
                .and_then(|g| g.0.expires_at)
                .map(|exp| {
                    Duration::from_secs(
                        u64::try_from(exp - chrono::Utc::now().timestamp()).unwrap_or(0),
                    )
                });
            if *state.stopping.borrow() {
                return None;
            }
            let left = expiry.unwrap_or(Duration::from_secs(u64::from(u32::MAX)));
            let received = tokio::select! {
                r = state.receiver.recv() => Some(r),
                () = tokio::time::sleep(left), if expiry.is_some() => None,
                // The server is shutting down: complete the subscription.
                _ = state.stopping.changed() => return None,
            };

            match received {
                None => {
                    state.done = true;
                    return Some((
                        Err(error(
                            "the token expired; reconnect with a new one",
                            "UNAUTHENTICATED",
                        )),
                        state,
                    ));
                }
                Some(Err(RecvError::Closed)) => return None,
                Some(Err(RecvError::Lagged(_))) => {
                    state.done = true;
                    return Some((
                        Err(error(
                            "the subscriber fell too far behind and was disconnected",
                            "RATE_LIMITED",
                        )),
                        state,
                    ));
                }
                Some(Ok(change)) if change.table == state.table => {
                    match decide(&mut state, &change).await {
                        Ok(Some(event)) => return Some((Ok(event), state)),
                        Ok(None) => continue,
                        Err(err) => {
                            tracing::warn!(error = %err, "a change event could not be checked; skipped");
                            continue;
                        }
                    }
                }
                Some(Ok(_)) => continue,
            }
        }
    })
}

/// Whether the subscriber could see `old` (in memory, or because it was delivered).
fn was_visible(state: &State, change: &Change) -> bool {
    state.seen.contains(&key_text(change))
        || change.old.as_ref().is_some_and(|old| {
            eval::readable(&state.store.policies, state.table, &state.principal, old) == Some(true)
        })
}

/// Decides what `change` means to this subscriber: an event with the row (as the
/// subscriber may read it), a DELETE without it (the row left its view), or nothing.
async fn decide(state: &mut State, change: &Change) -> crate::error::AppResult<Option<Event>> {
    let key = key_text(change);
    let gone = |state: &mut State| {
        if was_visible(state, change) {
            state.seen.remove(&key);
            Some(Event {
                op: ChangeOp::Delete,
                node: None,
            })
        } else {
            None
        }
    };
    if change.op == ChangeOp::Delete {
        return Ok(gone(state));
    }
    let memory = change
        .new
        .as_ref()
        .and_then(|new| eval::readable(&state.store.policies, state.table, &state.principal, new));
    if memory == Some(false) {
        return Ok(if change.op == ChangeOp::Update {
            gone(state)
        } else {
            None
        });
    }
    // Decided in memory, nothing to mask and no filter: the row itself is the event.
    let unmasked = state
        .store
        .policies
        .table(state.table)
        .is_none_or(|p| p.masks.is_empty());
    if memory == Some(true)
        && unmasked
        && state.filter.is_none()
        && let Some(row) = change.new.clone()
    {
        state.seen.insert(key);
        return Ok(Some(Event {
            op: change.op,
            node: Some(Node {
                table: state.table,
                row,
            }),
        }));
    }

    let row: Option<Row> = state
        .store
        .find_where(
            &state.principal,
            state.table,
            &change.key,
            state.filter.as_ref(),
        )
        .await?;
    match row {
        Some(row) => {
            state.seen.insert(key);
            Ok(Some(Event {
                op: change.op,
                node: Some(Node {
                    table: state.table,
                    row,
                }),
            }))
        }
        None if change.op == ChangeOp::Update => Ok(gone(state)),
        None => Ok(None),
    }
}
