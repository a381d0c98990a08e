//! Subscriptions: `<table>Changed(filter)` for the subscribable tables, fed by the change
//! bus and checked per event against each subscriber's read policy and filter.
//!
//! An event reaches a subscriber only if the row passes the subscriber's read policy (and
//! filter) at the time of the event: decided in memory from the row and the principal's
//! facts where the rule allows, by the database otherwise (which also applies column
//! masks). Every event carries the row's `key` (its primary-key columns); a row that leaves
//! the subscriber's view — deleted, soft-deleted, no longer readable or no longer matching
//! the subscription's filter — arrives as DELETE with its key and `node: null`, and only if
//! the subscriber could have had it: it was delivered, or its old values were readable and
//! matched the filter.

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
use crate::planner::plan::Filter;
use crate::planner::{Change, ChangeOp, Store};
use crate::policy::Principal;
use crate::policy::eval::{self, Row};

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
    /// The row's primary key (as stored).
    key: Row,
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

fn key_type(table: &str) -> String {
    format!("{}Key", type_name(table))
}

/// `<Type>Key`: the primary-key columns of a change's row, each non-null.
fn key_object(table: &crate::catalog::TableMeta) -> Object {
    let meta = Arc::new(table.clone());
    let mut object = Object::new(key_type(table.name))
        .description("The primary key of the changed row: which row an event is about.")
        .field(Field::new(
            super::relay::NODE_ID,
            TypeRef::named_nn(TypeRef::ID),
            move |ctx| {
                let meta = meta.clone();
                FieldFuture::new(async move {
                    let event = ctx.parent_value.try_downcast_ref::<Event>()?;
                    let id = super::relay::encode(&meta, &event.key).map(Value::String);
                    Ok(id.map(FieldValue::value))
                })
            },
        ));
    for column in table
        .primary_key
        .iter()
        .filter_map(|name| table.column(name))
    {
        let column = column.clone();
        object = object.field(Field::new(
            super::names::camel(column.name),
            super::tables::non_null(super::tables::scalar_of(table, &column)),
            move |ctx| {
                let column = column.clone();
                FieldFuture::new(async move {
                    let event = ctx.parent_value.try_downcast_ref::<Event>()?;
                    let value = event
                        .key
                        .get(column.name)
                        .and_then(|json| super::tables::output(&column, json));
                    Ok(value.map(FieldValue::value))
                })
            },
        ));
    }
    object
}

/// Registers the change types and returns the Subscription root.
pub fn register(mut builder: SchemaBuilder, store: &Store) -> (SchemaBuilder, Subscription) {
    builder = builder.register(Enum::new(CHANGE_OP).items(["INSERT", "UPDATE", "DELETE"]));
    let mut root = Subscription::new("Subscription");
    for &table in store.policies.realtime() {
        if let Some(meta) = store.catalog.table(table) {
            builder = builder.register(key_object(meta));
        }
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
                "key",
                TypeRef::named_nn(key_type(table)),
                |ctx| {
                    FieldFuture::new(async move {
                        let event = ctx.parent_value.try_downcast_ref::<Event>()?;
                        Ok(Some(FieldValue::owned_any(event.clone())))
                    })
                },
            ))
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
                        let meta = store
                            .table(table)
                            .map_err(|e| e.to_graphql(&request.request_id))?;
                        let filter = crate::graphql::args::filter_argument(&ctx, meta)
                            .map_err(|e| e.to_graphql(&request.request_id))?;
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
                        // A filter this subscriber may not use (a masked or copied column,
                        // an unknown field, nesting too deep) is refused now, as a list
                        // query would refuse it, not skipped event by event.
                        if let Some(filter) = &filter
                            && let Err(err) =
                                filter_allowed(&store, &request.principal, table, filter)
                        {
                            return Err(err.to_graphql(&request.request_id));
                        }
                        let dispatcher = ctx.data::<Dispatcher>()?;
                        let cache = ctx.data_opt::<crate::cache::HotCache>().cloned();
                        Ok(events(
                            store,
                            cache,
                            dispatcher,
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
    cache: Option<crate::cache::HotCache>,
    principal: Principal,
    table: &'static str,
    filter: Option<Filter>,
    receiver: Inbox,
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
    cache: Option<crate::cache::HotCache>,
    dispatcher: &Dispatcher,
    principal: Principal,
    table: &'static str,
    filter: Option<Filter>,
    guard: Option<OpenGuard>,
) -> impl Stream<Item = async_graphql::Result<Event>> + Send {
    let receiver = dispatcher.subscribe(table, &principal);
    let stopping = store.stopping();
    let state = State {
        store,
        cache,
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

/// Most keys a subscription remembers as delivered. Past it, a row delivered later is not
/// remembered: its DELETE then reaches the subscriber only if its old values were readable
/// and matched the filter (decided in memory) — never more than that, and memory stays
/// bounded on a busy table.
const MAX_SEEN: usize = 10_000;

fn remember_seen(state: &mut State, key: String) {
    if state.seen.len() < MAX_SEEN || state.seen.contains(&key) {
        state.seen.insert(key);
    }
}

/// Whether `principal` may filter `table` with `filter`: it compiles under their policies
/// (no masked or copied column, known fields, bounded nesting).
fn filter_allowed(
    store: &Store,
    principal: &Principal,
    table: &'static str,
    filter: &Filter,
) -> crate::error::AppResult<()> {
    let meta = store
        .catalog
        .table(table)
        .ok_or_else(|| crate::error::AppError::Internal(format!("no catalog entry for {table}")))?;
    let compiler = crate::policy::compile::Compiler::new(&store.policies, principal);
    crate::planner::filter::compile(store, &compiler, meta, "t0", filter, 0).map(|_| ())
}

/// Whether the subscriber could have had the row before `change`: it was delivered, or its
/// old values were readable (decided in memory) and matched the filter (unless that needs
/// the database: a DELETE of a readable row tells its key only to whoever could read it).
/// A filter is evaluated on the old values only while the subscriber may still use it (its
/// columns unmasked to them), so a DELETE never answers a question about a masked value.
fn was_visible(state: &State, change: &Change) -> bool {
    state.seen.contains(&key_text(change))
        || change.old.as_ref().is_some_and(|old| {
            eval::readable(&state.store.policies, state.table, &state.principal, old) == Some(true)
                && state.filter.as_ref().is_none_or(|filter| {
                    filter_allowed(&state.store, &state.principal, state.table, filter).is_ok()
                        && state.store.catalog.table(state.table).is_none_or(|meta| {
                            crate::planner::filter::matches_in_memory(meta, filter, old)
                                != Some(false)
                        })
                })
        })
}

/// Decides what `change` means to this subscriber: an event with the row (as the
/// subscriber may read it), a DELETE without it (the row left its view), or nothing.
async fn decide(state: &mut State, change: &Change) -> crate::error::AppResult<Option<Event>> {
    refresh_principal(state).await?;
    let key = key_text(change);
    let gone = |state: &mut State| {
        if was_visible(state, change) {
            state.seen.remove(&key);
            Some(Event {
                op: ChangeOp::Delete,
                key: change.key.clone(),
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
        remember_seen(state, key);
        return Ok(Some(Event {
            op: change.op,
            key: change.key.clone(),
            node: Some(Node::new(state.table, row)),
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
            remember_seen(state, key);
            Ok(Some(Event {
                op: change.op,
                key: change.key.clone(),
                node: Some(Node::new(state.table, row)),
            }))
        }
        None if change.op == ChangeOp::Update => Ok(gone(state)),
        None => Ok(None),
    }
}

/// Routes change events to the subscriptions they can concern, so that an event does not
/// wake every subscription of the instance: by table, and for tables whose read policy is
/// "the row's user is me" (notifications) by that user. Each subscription has a bounded
/// inbox; one that is full is a slow consumer, and is disconnected.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    inner: Arc<DispatchInner>,
}

#[derive(Debug)]
struct DispatchInner {
    store: Store,
    started: std::sync::Once,
    next_id: std::sync::atomic::AtomicU64,
    routes: std::sync::Mutex<Routes>,
}

#[derive(Debug, Default)]
struct Routes {
    by_table: std::collections::HashMap<&'static str, Vec<Slot>>,
    by_user: std::collections::HashMap<(&'static str, uuid::Uuid), Vec<Slot>>,
}

#[derive(Debug)]
struct Slot {
    id: u64,
    sender: tokio::sync::mpsc::Sender<Arc<Change>>,
    lagged: Arc<std::sync::atomic::AtomicBool>,
}

/// Where a subscription is registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Route {
    Table(&'static str),
    User(&'static str, uuid::Uuid),
}

/// Events a subscription has not yet handled (at most this many).
const INBOX: usize = 1024;

/// A subscription's inbox; unregisters itself when dropped.
#[derive(Debug)]
pub struct Inbox {
    receiver: tokio::sync::mpsc::Receiver<Arc<Change>>,
    lagged: Arc<std::sync::atomic::AtomicBool>,
    route: Route,
    id: u64,
    dispatcher: Arc<DispatchInner>,
}

impl Inbox {
    async fn recv(&mut self) -> Result<Arc<Change>, RecvError> {
        match self.receiver.recv().await {
            Some(change) => Ok(change),
            None if self.lagged.load(Ordering::SeqCst) => Err(RecvError::Lagged(0)),
            None => Err(RecvError::Closed),
        }
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        let mut routes = self
            .dispatcher
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let slots = match self.route {
            Route::Table(table) => routes.by_table.get_mut(table),
            Route::User(table, user) => routes.by_user.get_mut(&(table, user)),
        };
        if let Some(slots) = slots {
            slots.retain(|slot| slot.id != self.id);
        }
    }
}

/// The column a table's read policy keys on when it is exactly "this column is me".
fn self_column(store: &Store, table: &str) -> Option<&'static str> {
    match &store.policies.table(table)?.read {
        crate::policy::Access::Allow(crate::policy::Pred::IsSelf(col)) => Some(col.name),
        _ => None,
    }
}

impl Dispatcher {
    /// A dispatcher over the store's event stream (started with the first subscription).
    pub fn new(store: Store) -> Self {
        Self {
            inner: Arc::new(DispatchInner {
                store,
                started: std::sync::Once::new(),
                next_id: std::sync::atomic::AtomicU64::new(0),
                routes: std::sync::Mutex::new(Routes::default()),
            }),
        }
    }

    /// Registers a subscription of `principal` to `table`.
    fn subscribe(&self, table: &'static str, principal: &Principal) -> Inbox {
        self.start();
        let (sender, receiver) = tokio::sync::mpsc::channel(INBOX);
        let lagged = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let id = self.inner.next_id.fetch_add(1, Ordering::SeqCst);
        let keyed = self_column(&self.inner.store, table).is_some()
            && principal.role == crate::policy::Role::Authenticated;
        let route = match principal.user_id {
            Some(user) if keyed => Route::User(table, user),
            _ => Route::Table(table),
        };
        let slot = Slot {
            id,
            sender,
            lagged: lagged.clone(),
        };
        {
            let mut routes = self
                .inner
                .routes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match route {
                Route::Table(table) => routes.by_table.entry(table).or_default().push(slot),
                Route::User(table, user) => {
                    routes.by_user.entry((table, user)).or_default().push(slot)
                }
            }
        }
        self.inner.store.note_subscription();
        Inbox {
            receiver,
            lagged,
            route,
            id,
            dispatcher: self.inner.clone(),
        }
    }

    fn start(&self) {
        let inner = self.inner.clone();
        self.inner.started.call_once(move || {
            let mut events = inner.store.subscribe_events();
            let mut stopping = inner.store.stopping();
            tokio::spawn(async move {
                loop {
                    let change = tokio::select! {
                        received = events.recv() => match received {
                            Ok(change) => change,
                            Err(RecvError::Lagged(n)) => {
                                tracing::warn!(missed = n, "subscription dispatcher fell behind");
                                continue;
                            }
                            Err(RecvError::Closed) => return,
                        },
                        _ = stopping.changed() => return,
                    };
                    dispatch(&inner, &change);
                }
            });
        });
    }
}

/// Hands `change` to every subscription it can concern; a full inbox marks its subscriber
/// as lagging and drops it.
fn dispatch(inner: &DispatchInner, change: &Arc<Change>) {
    let mut routes = inner
        .routes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let deliver = |slots: &mut Vec<Slot>| {
        slots.retain(|slot| match slot.sender.try_send(change.clone()) {
            Ok(()) => true,
            Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {
                slot.lagged.store(true, Ordering::SeqCst);
                false
            }
            Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => false,
        });
    };
    if let Some(slots) = routes.by_table.get_mut(change.table) {
        deliver(slots);
    }
    if let Some(column) = self_column(&inner.store, change.table) {
        let mut users: Vec<uuid::Uuid> = [change.new.as_ref(), change.old.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|row| row.get(column).and_then(serde_json::Value::as_str))
            .filter_map(|text| uuid::Uuid::parse_str(text).ok())
            .collect();
        users.dedup();
        for user in users {
            if let Some(slots) = routes.by_user.get_mut(&(change.table, user)) {
                deliver(slots);
            }
        }
    }
}

/// Brings the subscriber's facts (the application's: memberships, blocks, …) up to the time of the
/// event, from the cache (no SQL when warm; writes invalidate it on every instance): a new
/// block or a removed membership takes effect on the next event, and rows that leave the
/// view arrive as DELETE.
async fn refresh_principal(state: &mut State) -> crate::error::AppResult<()> {
    let (Some(cache), Some(user)) = (&state.cache, state.principal.user_id) else {
        return Ok(());
    };
    if state.principal.role != crate::policy::Role::Authenticated {
        return Ok(());
    }
    let facts = cache.principal_facts(user).await?;
    let principal = &mut state.principal;
    if let Some(tenant) = principal.active_tenant
        && let Some(scope) = cache.tenant_scope()
        && !facts.contains(scope, tenant)
    {
        principal.active_tenant = None;
    }
    principal.facts = facts;
    Ok(())
}
