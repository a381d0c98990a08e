//! Hot configuration and principal facts from a two-tier cache: in-process (moka), over
//! Redis when `REDIS_URL` is set.
//!
//! What is cached ([`keys::Key`]): the feature flag rows of each scope (global defaults,
//! each tenant's overrides) and, in-process, the effective flags per (tenant, user) computed
//! from them; every configuration entry (the public view derived from it); tenant id by
//! subdomain; the rows of each cached table; and each user's principal facts (memberships with roles, platform roles,
//! blocked ids). A hit costs no SQL; a miss of one key runs one load however many requests
//! miss it at once (moka coalesces the callers), and every load goes through the store's
//! statement counter.
//!
//! Invalidation (`invalidate.rs`): a write through this instance invalidates the entries it
//! makes stale in the in-process tier and in Redis, and publishes them on Redis pub/sub to
//! the other instances, all before the write returns. On PostgreSQL the migration's
//! triggers also NOTIFY every committed change, gateway or not, and every instance listens.
//! An in-process entry never outlives `ROWGATE_CACHE_LOCAL_TTL_SECS`, nor a Redis entry
//! `ROWGATE_CACHE_TTL_SECS`: the bound for writes nobody reports.
//!
//! Races: a load that overlaps an invalidation never leaves its (possibly stale) result
//! behind. In-process, each tier counts its invalidations and a load that saw the count
//! change drops what it stored; in Redis, values carry the version they were loaded under
//! (`remote.rs`).
//!
//! Redis is an accelerator, never a dependency: it is asked with millisecond timeouts behind
//! a circuit breaker, and when it does not answer, requests are served by the in-process
//! tier and the database, without errors.

mod invalidate;
pub mod keys;
pub(crate) mod load;
pub mod metrics;
mod remote;
pub mod values;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use uuid::Uuid;

pub use invalidate::{NOTIFY_CHANNEL, is_cached_table, keys_for_change};
use keys::{CacheName, Key};
use metrics::CacheCounters;
pub use remote::purge_prefix;
use remote::{Message, Read, Remote};
use values::{Cached, ConfigSnapshot, EffectiveFlag, FlagSet, TableRows};

use crate::auth::{Principal, Role};
use crate::config::{CacheConfig, Config, DatabaseKind};
use crate::error::{AppError, AppResult};
use crate::planner::{Change, CommitHook, HookFuture, Store};

/// One cache: its in-process tier and its counters.
struct Tier<V> {
    name: CacheName,
    local: moka::future::Cache<Key, V>,
    /// Incremented by every invalidation of this cache; see the module documentation.
    epoch: AtomicU64,
    counters: CacheCounters,
}

impl<V: Cached> Tier<V> {
    fn new(name: CacheName, settings: &CacheConfig) -> Self {
        Self {
            name,
            local: moka::future::Cache::builder()
                .max_capacity(settings.local_capacity)
                .time_to_live(settings.local_ttl)
                .build(),
            epoch: AtomicU64::new(0),
            counters: CacheCounters::default(),
        }
    }

    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    async fn drop_key(&self, key: &Key) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.local.invalidate(key).await;
        self.counters.invalidations.inc();
    }

    fn drop_all(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.counters.invalidations.inc();
        self.local.invalidate_all();
    }
}

impl<V> std::fmt::Debug for Tier<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tier")
            .field("name", &self.name)
            .field("entries", &self.local.entry_count())
            .finish()
    }
}

/// The memo of effective flags: (flags epoch, tenant, user). An entry computed before an
/// invalidation of any flag row carries an older epoch and is never read again.
type EffectiveKey = (u64, Option<Uuid>, Option<Uuid>);

struct Inner {
    store: Store,
    enabled: bool,
    remote: Option<Remote>,
    flags: Tier<Arc<FlagSet>>,
    config: Tier<Arc<ConfigSnapshot>>,
    tenants: Tier<Option<Uuid>>,
    principals: Tier<Arc<crate::auth::Facts>>,
    tables: Tier<Arc<TableRows>>,
    effective: moka::future::Cache<EffectiveKey, Arc<[EffectiveFlag]>>,
    effective_counters: CacheCounters,
    instance: Uuid,
    /// The PostgreSQL listener is LISTENing.
    listening: AtomicBool,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("enabled", &self.enabled)
            .field("remote", &self.remote)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

/// Turns the shared error of a coalesced load back into the request's error.
fn unshare(error: Arc<AppError>) -> AppError {
    Arc::try_unwrap(error).unwrap_or_else(|shared| AppError::Internal(shared.to_string()))
}

impl Inner {
    fn new(store: Store, settings: &CacheConfig, remote: Option<Remote>) -> Self {
        Self {
            store,
            enabled: settings.enabled,
            remote,
            flags: Tier::new(CacheName::Flags, settings),
            config: Tier::new(CacheName::Config, settings),
            tenants: Tier::new(CacheName::Tenants, settings),
            principals: Tier::new(CacheName::Principals, settings),
            tables: Tier::new(CacheName::Tables, settings),
            effective: moka::future::Cache::builder()
                .max_capacity(settings.local_capacity)
                .time_to_live(settings.local_ttl)
                .build(),
            effective_counters: CacheCounters::default(),
            instance: Uuid::new_v4(),
            listening: AtomicBool::new(false),
        }
    }

    /// The value of `key`: from the in-process tier, else Redis, else `load` (once for
    /// every concurrent caller of this key), stored back in both tiers.
    async fn cached<V, F, Fut>(&self, tier: &Tier<V>, key: Key, load: F) -> AppResult<V>
    where
        V: Cached,
        F: FnOnce() -> Fut,
        Fut: Future<Output = AppResult<V>> + Send,
    {
        if !self.enabled {
            tier.counters.misses.inc();
            tier.counters.loads.inc();
            return load().await;
        }
        if let Some(value) = tier.local.get(&key).await {
            tier.counters.hits_local.inc();
            return Ok(value);
        }
        tier.counters.misses.inc();
        let epoch = tier.epoch();
        let value = tier
            .local
            .try_get_with(key.clone(), async {
                let mut fill = None;
                if let Some(remote) = &self.remote {
                    match remote.get(&key).await {
                        Read::Hit(bytes) => {
                            if let Some(value) = V::decode(&bytes) {
                                tier.counters.hits_redis.inc();
                                return Ok(value);
                            }
                        }
                        Read::Miss(tag) => fill = Some(tag),
                        Read::Unavailable => {}
                    }
                }
                tier.counters.loads.inc();
                let value = load().await?;
                if let (Some(remote), Some(tag)) = (&self.remote, fill)
                    && tier.epoch() == epoch
                    && let Some(bytes) = value.encode()
                {
                    remote.fill(&key, tag, &bytes).await;
                }
                Ok::<V, AppError>(value)
            })
            .await
            .map_err(unshare)?;
        if tier.epoch() != epoch {
            // Invalidated while loading: what was stored may predate the write.
            tier.local.invalidate(&key).await;
        }
        Ok(value)
    }

    async fn global_flags(&self) -> AppResult<Arc<FlagSet>> {
        self.cached(&self.flags, Key::GlobalFlags, || {
            load::flags(&self.store, None)
        })
        .await
    }

    async fn tenant_flags(&self, tenant: Uuid) -> AppResult<Arc<FlagSet>> {
        self.cached(&self.flags, Key::TenantFlags(tenant), || {
            load::flags(&self.store, Some(tenant))
        })
        .await
    }

    async fn compute_effective(
        &self,
        tenant: Option<Uuid>,
        user: Option<Uuid>,
    ) -> AppResult<Arc<[EffectiveFlag]>> {
        self.effective_counters.loads.inc();
        let global = self.global_flags().await?;
        let own = match tenant {
            Some(tenant) => Some(self.tenant_flags(tenant).await?),
            None => None,
        };
        Ok(values::effective_flags(&global, own.as_deref(), user).into())
    }

    /// Drops `keys` from the in-process tier.
    async fn drop_local(&self, keys: &[Key]) {
        for key in keys {
            match key.cache() {
                CacheName::Flags => self.flags.drop_key(key).await,
                CacheName::Config => self.config.drop_key(key).await,
                CacheName::Tenants => self.tenants.drop_key(key).await,
                CacheName::Principals => self.principals.drop_key(key).await,
                CacheName::Tables => self.tables.drop_key(key).await,
                CacheName::EffectiveFlags => {}
            }
            if key.cache() == CacheName::Flags {
                // The memo's keys carry the flags epoch, which `drop_key` just moved on.
                self.effective_counters.invalidations.inc();
            }
        }
    }

    /// Drops everything from the in-process tier.
    fn drop_local_all(&self) {
        self.flags.drop_all();
        self.config.drop_all();
        self.tenants.drop_all();
        self.principals.drop_all();
        self.tables.drop_all();
        self.effective_counters.invalidations.inc();
        self.effective.invalidate_all();
    }

    /// Invalidates `keys` here and in Redis; with `publish`, on the other instances too.
    async fn invalidate(&self, keys: &[Key], publish: bool) {
        if keys.is_empty() || !self.enabled {
            return;
        }
        self.drop_local(keys).await;
        if let Some(remote) = &self.remote {
            remote.invalidate(keys, publish).await;
        }
    }

    /// Invalidates everything, here, in Redis and on the other instances.
    async fn invalidate_all(&self) {
        if !self.enabled {
            return;
        }
        self.drop_local_all();
        if let Some(remote) = &self.remote {
            remote.owe_flush();
            remote.flush().await;
        }
    }

    /// Applies an invalidation message from another instance.
    async fn apply_message(&self, payload: &[u8]) {
        let Some(remote) = &self.remote else { return };
        let Ok(message) = serde_json::from_slice::<Message>(payload) else {
            tracing::warn!("unreadable cache invalidation message; dropping the in-process tier");
            self.drop_local_all();
            return;
        };
        if message.from == self.instance {
            return;
        }
        remote.counters.messages.inc();
        if message.all {
            self.drop_local_all();
        } else {
            self.drop_local(&message.keys).await;
        }
    }

    /// Applies a NOTIFY from the migration's triggers.
    async fn apply_notification(&self, payload: &str) {
        if let Some(remote) = &self.remote {
            remote.counters.notifications.inc();
        }
        match invalidate::stale_from_payload(&self.store.policies, payload) {
            invalidate::Stale::Keys(keys) => self.invalidate(&keys, false).await,
            invalidate::Stale::All => self.invalidate_all().await,
        }
    }
}

/// Invalidates what a committed write made stale, before the write returns.
#[derive(Debug)]
struct InvalidateOnCommit(Weak<Inner>);

impl CommitHook for InvalidateOnCommit {
    fn committed<'a>(&'a self, changes: &'a [Arc<Change>]) -> HookFuture<'a> {
        let mut keys: Vec<Key> = Vec::new();
        let inner = self.0.upgrade();
        let none = crate::policy::PolicySet::new(Vec::new());
        let policies = inner.as_ref().map_or(&none, |inner| &*inner.store.policies);
        for change in changes {
            for key in keys_for_change(
                policies,
                change.table,
                change.old.as_ref(),
                change.new.as_ref(),
            ) {
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        Box::pin(async move {
            let Some(inner) = inner.filter(|_| !keys.is_empty()) else {
                return;
            };
            // On its own task, so a client that goes away mid-write cannot cut it short.
            let work = tokio::spawn(async move { inner.invalidate(&keys, true).await });
            if let Err(error) = work.await {
                tracing::error!(%error, "cache invalidation failed");
            }
        })
    }
}

/// The background tasks of one cache, stopped when the last handle goes.
#[derive(Debug, Default)]
struct Tasks(Mutex<Vec<tokio::task::JoinHandle<()>>>);

impl Tasks {
    fn push(&self, task: tokio::task::JoinHandle<()>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(task);
    }

    fn abort_all(&self) {
        for task in self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            task.abort();
        }
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        self.abort_all();
    }
}

/// The state of the Redis tier, for tests and operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisStatus {
    /// The circuit breaker keeps commands away from Redis.
    pub breaker_open: bool,
    /// This instance receives the other instances' invalidations.
    pub subscribed: bool,
    /// An invalidation could not be written, and Redis is not read until it is made good.
    pub flush_owed: bool,
}

/// The cache of one gateway instance. Cheap to clone; the background tasks (Redis
/// subscriber, PostgreSQL listener) stop when the last clone is dropped or on
/// [`HotCache::shutdown`].
#[derive(Debug, Clone)]
pub struct HotCache {
    inner: Arc<Inner>,
    tasks: Arc<Tasks>,
    /// Whether a PostgreSQL listener was started.
    listener: bool,
}

/// How often the subscriber checks that its connection is alive.
const KEEPALIVE: Duration = Duration::from_secs(1);
/// Longest wait between two reconnection attempts (Redis subscriber, PostgreSQL listener).
const MAX_BACKOFF: Duration = Duration::from_secs(2);

impl HotCache {
    /// The cache of a gateway serving from `store` with `config`: registers the store's
    /// commit hook and, inside a Tokio runtime, starts the Redis subscriber (with
    /// `REDIS_URL`) and the PostgreSQL listener (on PostgreSQL). Fails only when
    /// `REDIS_URL` cannot be parsed; an unreachable Redis is fine.
    pub fn new(store: Store, config: &Config) -> Result<Self, redis::RedisError> {
        let settings = &config.cache;
        if !settings.enabled {
            return Ok(Self::disabled(store));
        }
        let runtime = tokio::runtime::Handle::try_current().ok();
        let client = config
            .redis_url
            .as_ref()
            .map(|url| redis::Client::open(url.expose()))
            .transpose()?;
        let mut inner = Inner::new(store.clone(), settings, None);
        match (client, &runtime) {
            // The connection manager and the subscriber need a runtime to run on.
            (Some(client), Some(_)) => {
                inner.remote = Some(Remote::new(client, settings, inner.instance)?);
            }
            (Some(_), None) => {
                tracing::warn!("no async runtime: the cache runs without its Redis tier");
            }
            (None, _) => {}
        }
        let inner = Arc::new(inner);
        store.on_commit(Arc::new(InvalidateOnCommit(Arc::downgrade(&inner))));
        let mut cache = Self {
            inner,
            tasks: Arc::default(),
            listener: false,
        };
        if let Some(runtime) = runtime {
            if cache.inner.remote.is_some() {
                cache
                    .tasks
                    .push(runtime.spawn(subscribe(cache.inner.clone())));
                cache
                    .tasks
                    .push(runtime.spawn(repair(cache.inner.clone(), settings.breaker_cooldown)));
            }
            if config.database_kind == DatabaseKind::Postgres {
                cache.listener = true;
                cache.tasks.push(runtime.spawn(listen(
                    cache.inner.clone(),
                    config.database_url.expose().to_owned(),
                )));
            }
        }
        Ok(cache)
    }

    /// A cache that caches nothing: every lookup reads the database (through `store`'s
    /// statement counter). What `ROWGATE_CACHE=false` runs, and what tools use.
    pub fn disabled(store: Store) -> Self {
        let settings = CacheConfig {
            enabled: false,
            local_capacity: 1,
            ..CacheConfig::default()
        };
        Self {
            inner: Arc::new(Inner::new(store, &settings, None)),
            tasks: Arc::default(),
            listener: false,
        }
    }

    /// The persisted-query document of `hash` stored in Redis by any instance (its first
    /// `max_bytes`), when Redis is configured and answers.
    pub async fn persisted_document(&self, hash: &str, max_bytes: usize) -> Option<String> {
        self.inner.remote.as_ref()?.document(hash, max_bytes).await
    }

    /// Stores a persisted-query document in Redis (when configured) for `ttl`, for every
    /// instance to find.
    pub async fn keep_persisted_document(&self, hash: &str, text: &str, ttl: Duration) {
        if let Some(remote) = &self.inner.remote {
            remote.keep_document(hash, text, ttl).await;
        }
    }

    /// Whether every invalidation channel this instance has is connected: the Redis
    /// subscription (with `REDIS_URL`) and the PostgreSQL listener (on PostgreSQL). Until
    /// then, invalidations from elsewhere may not reach it (and the first connection drops
    /// whatever was cached before it).
    pub fn settled(&self) -> bool {
        let subscribed = self.redis_status().is_none_or(|s| s.subscribed);
        subscribed && (!self.listener || self.listening())
    }

    /// Whether lookups are cached.
    pub fn enabled(&self) -> bool {
        self.inner.enabled
    }

    /// Stops the background tasks now (they stop by themselves when the last clone goes).
    pub fn shutdown(&self) {
        self.tasks.abort_all();
    }

    /// The live tenant whose subdomain is `subdomain`.
    pub async fn tenant_by_subdomain(&self, subdomain: &str) -> AppResult<Option<Uuid>> {
        // Only an application that declares a subdomain column names tenants by host.
        if self.inner.store.policies.hot_config().subdomain.is_none() {
            return Ok(None);
        }
        let inner = &self.inner;
        inner
            .cached(
                &inner.tenants,
                Key::TenantBySubdomain(subdomain.to_owned()),
                || load::tenant_by_subdomain(&inner.store, subdomain),
            )
            .await
    }

    /// The id-set fact the active tenant must be in, if the application declares one.
    pub fn tenant_scope(&self) -> Option<&'static str> {
        self.inner.store.policies.tenant_scope()
    }

    /// Where a signed-in user's active tenant comes from.
    pub fn tenant_source(&self) -> crate::policy::TenantSource {
        self.inner.store.policies.tenant_source()
    }

    /// The facts of `user` the application declares (memberships, blocks, …).
    pub async fn principal_facts(&self, user: Uuid) -> AppResult<Arc<crate::auth::Facts>> {
        let inner = &self.inner;
        inner
            .cached(&inner.principals, Key::Principal(user), || {
                load::principal_facts(&inner.store, user)
            })
            .await
    }

    /// The rows of the cached table `table` that `principal` may read, as they may read
    /// them: its read policy and masks evaluated on each row in memory (a mask that cannot
    /// be decided hides the value), soft-deleted rows left out. No SQL when warm.
    pub async fn table_rows(
        &self,
        principal: &Principal,
        table: &str,
    ) -> AppResult<Vec<crate::policy::eval::Row>> {
        let inner = &self.inner;
        let policies = &inner.store.policies;
        let Some(table) = policies
            .cached_tables()
            .iter()
            .copied()
            .find(|t| *t == table)
        else {
            return Err(AppError::Internal(format!(
                "{table} is not a cached table (PolicySet::with_cached_tables)"
            )));
        };
        let rows = inner
            .cached(&inner.tables, Key::Table(table.to_owned()), || {
                load::table_rows(&inner.store, table)
            })
            .await?;
        let masks = policies
            .table(table)
            .map_or(&[][..], |p| p.masks.as_slice());
        let bypass = principal.role == Role::ServiceRole;
        Ok(rows
            .0
            .iter()
            .filter(|row| {
                crate::policy::eval::readable(policies, table, principal, row) == Some(true)
            })
            .map(|row| {
                let mut seen = row.clone();
                for (column, pred) in masks {
                    if !bypass && crate::policy::eval::pred(pred, principal, row) != Some(true) {
                        seen.insert(column.name.to_owned(), serde_json::Value::Null);
                    }
                }
                seen
            })
            .collect())
    }

    /// Every configuration entry.
    pub async fn config(&self) -> AppResult<Arc<ConfigSnapshot>> {
        let inner = &self.inner;
        inner
            .cached(&inner.config, Key::Config, || load::config(&inner.store))
            .await
    }

    /// The principal's effective feature flags, sorted by key. Anon reads no flags (the
    /// flags table's read policy is authenticated only), so gets none.
    pub async fn effective_flags(&self, principal: &Principal) -> AppResult<Arc<[EffectiveFlag]>> {
        if principal.role == Role::Anon {
            return Ok(Arc::from(Vec::new()));
        }
        let inner = &self.inner;
        let (tenant, user) = (principal.active_tenant, principal.user_id);
        let counters = &inner.effective_counters;
        if !inner.enabled {
            counters.misses.inc();
            return inner.compute_effective(tenant, user).await;
        }
        let key = (inner.flags.epoch(), tenant, user);
        if let Some(flags) = inner.effective.get(&key).await {
            counters.hits_local.inc();
            return Ok(flags);
        }
        counters.misses.inc();
        inner
            .effective
            .try_get_with(key, inner.compute_effective(tenant, user))
            .await
            .map_err(unshare)
    }

    /// Whether the flag `key` is on for the principal (an unknown flag is off).
    pub async fn flag_enabled(&self, principal: &Principal, key: &str) -> AppResult<bool> {
        let flags = self.effective_flags(principal).await?;
        Ok(flags
            .binary_search_by(|f| f.key.as_str().cmp(key))
            .is_ok_and(|i| flags[i].enabled))
    }

    /// The state of the Redis tier, when there is one.
    pub fn redis_status(&self) -> Option<RedisStatus> {
        self.inner.remote.as_ref().map(|remote| RedisStatus {
            breaker_open: remote.breaker.is_open(),
            subscribed: remote.counters.subscribed.load(Ordering::Relaxed) == 1,
            flush_owed: remote.flush_owed(),
        })
    }

    /// Whether the PostgreSQL change listener is LISTENing (writes made outside the gateway
    /// are then pushed to this instance).
    pub fn listening(&self) -> bool {
        self.inner.listening.load(Ordering::Acquire)
    }

    /// The counters of every cache, in the Prometheus text format.
    pub fn metrics_text(&self) -> String {
        let inner = &self.inner;
        metrics::render(&metrics::Snapshot {
            caches: vec![
                (CacheName::Flags, &inner.flags.counters),
                (CacheName::EffectiveFlags, &inner.effective_counters),
                (CacheName::Config, &inner.config.counters),
                (CacheName::Tenants, &inner.tenants.counters),
                (CacheName::Principals, &inner.principals.counters),
                (CacheName::Tables, &inner.tables.counters),
            ],
            redis: inner
                .remote
                .as_ref()
                .map(|remote| (&remote.counters, remote.breaker.is_open())),
            statements: inner.store.statements(),
            enabled: inner.enabled,
        })
    }
}

/// Receives the other instances' invalidations, reconnecting for as long as the cache
/// lives. Messages sent while not subscribed are lost, so each (re)subscription starts by
/// dropping the in-process tier.
async fn subscribe(inner: Arc<Inner>) {
    let Some(remote) = &inner.remote else { return };
    let channel = remote.keys.channel();
    let probe_timeout = (remote.timeout * 4).max(Duration::from_millis(250));
    let mut backoff = Duration::from_millis(50);
    let mut warned = false;
    loop {
        let connect = async {
            let mut pubsub = remote.client().get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(probe_timeout, connect).await {
            Ok(Ok(pubsub)) => {
                backoff = Duration::from_millis(50);
                warned = false;
                remote.counters.subscribed.store(1, Ordering::Relaxed);
                inner.drop_local_all();
                let (mut sink, mut stream) = pubsub.split();
                let mut keepalive = tokio::time::interval(KEEPALIVE);
                keepalive.tick().await;
                loop {
                    tokio::select! {
                        message = stream.next() => match message {
                            Some(message) => inner.apply_message(message.get_payload_bytes()).await,
                            None => break,
                        },
                        _ = keepalive.tick() => {
                            let ping = tokio::time::timeout(probe_timeout, sink.ping::<redis::Value>());
                            if !matches!(ping.await, Ok(Ok(_))) {
                                break;
                            }
                        }
                    }
                }
                remote.counters.subscribed.store(0, Ordering::Relaxed);
                tracing::warn!(
                    "lost the Redis invalidation channel; serving from this instance and the database until it is back"
                );
            }
            Ok(Err(error)) if !warned => {
                warned = true;
                tracing::warn!(%error, "cannot subscribe to the Redis invalidation channel; retrying");
            }
            Err(_) if !warned => {
                warned = true;
                tracing::warn!("subscribing to the Redis invalidation channel timed out; retrying");
            }
            _ => {}
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Makes good, as soon as Redis answers again, the invalidations it missed while down —
/// even on an instance that receives no requests.
async fn repair(inner: Arc<Inner>, every: Duration) {
    let Some(remote) = &inner.remote else { return };
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(50)));
    loop {
        tick.tick().await;
        if remote.flush_owed() {
            remote.flush().await;
        }
    }
}

/// Listens to the migration's NOTIFY triggers, reconnecting for as long as the cache lives.
/// Notifications are lost while disconnected, so a reconnection invalidates everything.
async fn listen(inner: Arc<Inner>, url: String) {
    use sea_orm::sqlx::postgres::PgListener;
    let mut backoff = Duration::from_millis(100);
    let mut connected_before = false;
    let mut warned = false;
    loop {
        let connect = async {
            let mut listener = PgListener::connect(&url).await?;
            listener.listen(NOTIFY_CHANNEL).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        };
        match tokio::time::timeout(Duration::from_secs(5), connect).await {
            Ok(Ok(mut listener)) => {
                backoff = Duration::from_millis(100);
                warned = false;
                if connected_before {
                    inner.invalidate_all().await;
                }
                connected_before = true;
                inner.listening.store(true, Ordering::Release);
                loop {
                    match listener.try_recv().await {
                        Ok(Some(notification)) => {
                            inner.apply_notification(notification.payload()).await;
                        }
                        Ok(None) => inner.invalidate_all().await,
                        Err(error) => {
                            inner.listening.store(false, Ordering::Release);
                            tracing::warn!(%error, "lost the PostgreSQL change listener; reconnecting");
                            break;
                        }
                    }
                }
            }
            Ok(Err(error)) if !warned => {
                warned = true;
                tracing::warn!(%error, "cannot LISTEN for changes on PostgreSQL; retrying");
            }
            Err(_) if !warned => {
                warned = true;
                tracing::warn!("connecting the PostgreSQL change listener timed out; retrying");
            }
            _ => {}
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    fn inner() -> Inner {
        let store = Store::new(
            sea_orm::DatabaseConnection::default(),
            Arc::new(crate::catalog::Catalog::new(Vec::new())),
            Arc::new(crate::policy::PolicySet::new(Vec::new())),
        );
        Inner::new(store, &CacheConfig::default(), None)
    }

    #[tokio::test]
    async fn concurrent_misses_of_one_key_cause_one_load() {
        let inner = Arc::new(inner());
        let loads = Arc::new(AtomicUsize::new(0));
        let mut callers = Vec::new();
        for _ in 0..32 {
            let (inner, loads) = (inner.clone(), loads.clone());
            callers.push(tokio::spawn(async move {
                inner
                    .cached(
                        &inner.tenants,
                        Key::TenantBySubdomain("acme".into()),
                        || {
                            let loads = loads.clone();
                            async move {
                                loads.fetch_add(1, Ordering::SeqCst);
                                tokio::time::sleep(Duration::from_millis(50)).await;
                                Ok(Some(Uuid::from_u128(1)))
                            }
                        },
                    )
                    .await
            }));
        }
        for caller in callers {
            assert_eq!(
                caller.await.expect("caller").expect("value"),
                Some(Uuid::from_u128(1))
            );
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        assert_eq!(inner.tenants.counters.loads.get(), 1);
        assert_eq!(inner.tenants.counters.misses.get(), 32);
    }

    #[tokio::test]
    async fn a_load_overlapping_an_invalidation_is_not_kept() {
        let inner = Arc::new(inner());
        let key = Key::TenantBySubdomain("acme".into());
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let loading = {
            let (inner, key) = (inner.clone(), key.clone());
            tokio::spawn(async move {
                inner
                    .cached(&inner.tenants, key, || async move {
                        let _ = started_tx.send(());
                        let _ = release_rx.await;
                        Ok(Some(Uuid::from_u128(1)))
                    })
                    .await
            })
        };
        started_rx.await.expect("load started");
        inner.drop_local(std::slice::from_ref(&key)).await;
        let _ = release_tx.send(());
        assert_eq!(
            loading.await.expect("task").expect("value"),
            Some(Uuid::from_u128(1))
        );
        let fresh = inner
            .cached(&inner.tenants, key, || async {
                Ok(Some(Uuid::from_u128(2)))
            })
            .await
            .expect("value");
        assert_eq!(
            fresh,
            Some(Uuid::from_u128(2)),
            "the racing load was dropped"
        );
    }

    #[tokio::test]
    async fn failed_loads_are_not_cached_and_reach_every_caller() {
        let inner = inner();
        let key = Key::Principal(Uuid::from_u128(3));
        let failed = inner
            .cached(&inner.principals, key.clone(), || async {
                Err(AppError::Internal("database down".into()))
            })
            .await;
        assert!(failed.is_err());
        let facts = inner
            .cached(&inner.principals, key, || async {
                Ok(Arc::new(crate::auth::Facts::default()))
            })
            .await
            .expect("second load");
        assert!(facts.parts().0.is_empty());
        assert_eq!(inner.principals.counters.loads.get(), 2);
    }
}
