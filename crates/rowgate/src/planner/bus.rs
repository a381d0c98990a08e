//! The store's change bus, counters and shutdown signal: what a committed write tells the
//! rest of the gateway, what the store has done, and when it stops.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::policy::eval::Row;

/// The future a [`CommitHook`] returns.
pub type HookFuture<'a> = std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Work that must be done after a write transaction commits and before the write returns
/// to its caller, so that the caller's next request already sees its effect (the cache's
/// invalidation is one). Unlike [`super::Store::subscribe_changes`], a hook cannot lag or miss a
/// change.
pub trait CommitHook: Send + Sync + std::fmt::Debug {
    /// Called once per committed transaction that changed at least one row.
    fn committed<'a>(&'a self, changes: &'a [Arc<Change>]) -> HookFuture<'a>;
}

/// What a write did to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOp {
    /// A new row.
    Insert,
    /// A changed row.
    Update,
    /// A removed (or soft-deleted) row.
    Delete,
}

/// One committed change, as the change bus carries it (cache invalidation, subscriptions).
#[derive(Debug, Clone)]
pub struct Change {
    /// The table.
    pub table: &'static str,
    /// What happened.
    pub op: ChangeOp,
    /// The row's primary key.
    pub key: Row,
    /// The row before (updates, deletes).
    pub old: Option<Row>,
    /// The row after (inserts, updates, soft deletes).
    pub new: Option<Row>,
}

/// Committed changes: to the commit hooks first (before the write returns), then to every
/// receiver of the local bus, and to subscriptions through the events stream.
#[derive(Debug, Clone)]
pub(super) struct ChangeBus {
    /// Committed changes, published after each write transaction commits.
    changes: tokio::sync::broadcast::Sender<Arc<Change>>,
    /// Run after each commit, before the write returns (cache invalidation).
    hooks: Arc<std::sync::RwLock<Vec<Arc<dyn CommitHook>>>>,
    /// The subscriptions' event stream (every instance's changes and outside writes), once
    /// `realtime::Realtime` is started; until then the local change bus.
    events: Arc<std::sync::OnceLock<tokio::sync::broadcast::Sender<Arc<Change>>>>,
}

impl Default for ChangeBus {
    fn default() -> Self {
        Self {
            changes: tokio::sync::broadcast::channel(4096).0,
            hooks: Arc::default(),
            events: Arc::default(),
        }
    }
}

impl ChangeBus {
    pub(super) fn on_commit(&self, hook: Arc<dyn CommitHook>) {
        self.hooks
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(hook);
    }

    pub(super) fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<Arc<Change>> {
        self.changes.subscribe()
    }

    pub(super) fn subscribe_events(&self) -> tokio::sync::broadcast::Receiver<Arc<Change>> {
        match self.events.get() {
            Some(events) => events.subscribe(),
            None => self.changes.subscribe(),
        }
    }

    pub(super) fn set_events(&self, events: tokio::sync::broadcast::Sender<Arc<Change>>) {
        let _ = self.events.set(events);
    }

    pub(super) async fn publish(&self, changes: Vec<Arc<Change>>) {
        if changes.is_empty() {
            return;
        }
        let hooks = self
            .hooks
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        for hook in hooks {
            hook.committed(&changes).await;
        }
        for change in changes {
            let _ = self.changes.send(change);
        }
    }
}

/// What the store has run and registered.
#[derive(Debug, Default)]
pub(super) struct Counters {
    /// Read statements run.
    pub(super) statements: AtomicU64,
    /// Subscriptions registered to receive events.
    pub(super) subscriptions: AtomicU64,
}

/// The shutdown signal: set once, watched by every open subscription.
#[derive(Debug, Clone)]
pub(super) struct Shutdown(tokio::sync::watch::Sender<bool>);

impl Default for Shutdown {
    fn default() -> Self {
        Self(tokio::sync::watch::channel(false).0)
    }
}

impl Shutdown {
    pub(super) fn begin(&self) {
        self.0.send_replace(true);
    }

    pub(super) fn watch(&self) -> tokio::sync::watch::Receiver<bool> {
        self.0.subscribe()
    }
}
