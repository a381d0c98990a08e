//! The Redis tier: reads, fills and invalidations with millisecond timeouts behind a circuit
//! breaker, and the invalidation channel between instances.
//!
//! ## Stale writes cannot be read
//!
//! A value is stored with the *tag* it was loaded under: the key's version counter and the
//! key space's epoch, both read (in the same `MGET` as the value) before the database load.
//! An invalidation increments the key's version (and deletes the value); a read accepts a
//! value only if its tag equals the current counters. So a load that raced an invalidation —
//! it read the database before the writer committed and stores its result after the writer
//! invalidated — stores a value no instance will ever accept.
//!
//! ## Redis down or slow
//!
//! Every command is bounded by `ROWGATE_REDIS_TIMEOUT_MS`; `ROWGATE_REDIS_BREAKER_FAILURES`
//! consecutive failures open the breaker, and for `ROWGATE_REDIS_BREAKER_COOLDOWN_MS` no
//! command is sent at all (the in-process tier and the database answer). Then one probe is
//! let through; when it succeeds Redis is used again. An invalidation that could not be
//! written leaves Redis possibly stale, so the instance remembers it and, as soon as Redis
//! answers again and before it reads anything from it, increments the epoch (every stored
//! value becomes unreadable) and tells the other instances to drop their in-process tier.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, RedisResult};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::keys::{Key, KeySpace};
use super::metrics::RedisCounters;
use crate::config::CacheConfig;

/// The counters a value was loaded under; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tag {
    version: u64,
    epoch: u64,
}

const TAG_BYTES: usize = 16;

impl Tag {
    fn prepend(self, payload: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(TAG_BYTES + payload.len());
        bytes.extend_from_slice(&self.version.to_be_bytes());
        bytes.extend_from_slice(&self.epoch.to_be_bytes());
        bytes.extend_from_slice(payload);
        bytes
    }

    fn split(bytes: &[u8]) -> Option<(Self, &[u8])> {
        if bytes.len() < TAG_BYTES {
            return None;
        }
        let (version, rest) = bytes.split_at(8);
        let (epoch, payload) = rest.split_at(8);
        Some((
            Self {
                version: u64::from_be_bytes(version.try_into().ok()?),
                epoch: u64::from_be_bytes(epoch.try_into().ok()?),
            },
            payload,
        ))
    }
}

/// What one read found.
#[derive(Debug)]
pub(crate) enum Read {
    /// A current value.
    Hit(Vec<u8>),
    /// No current value; a load may store its result under this tag.
    Miss(Tag),
    /// Redis did not answer (or the breaker is open): load, and store nothing.
    Unavailable,
}

/// An invalidation message between instances.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Message {
    /// The instance that sent it (which has already applied it).
    pub from: Uuid,
    /// The keys to drop.
    #[serde(default)]
    pub keys: Vec<Key>,
    /// Drop everything.
    #[serde(default)]
    pub all: bool,
}

/// A circuit breaker: closed (requests pass), open (none pass) for a cooldown after enough
/// consecutive failures, then half-open (one probe passes; its outcome closes or reopens).
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    /// A probe that neither succeeded nor failed within this long (its caller went away)
    /// no longer blocks the next one.
    probe_timeout: Duration,
    state: Mutex<BreakerState>,
}

#[derive(Debug, Default)]
struct BreakerState {
    failures: u32,
    open_until: Option<Instant>,
    probe_started: Option<Instant>,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cooldown: Duration, probe_timeout: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            probe_timeout,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, BreakerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a command may be sent now.
    pub(crate) fn allow(&self) -> bool {
        let now = Instant::now();
        let mut state = self.state();
        match state.open_until {
            None => true,
            Some(until) if now < until => false,
            Some(_) => match state.probe_started {
                Some(started) if now.duration_since(started) < self.probe_timeout => false,
                _ => {
                    state.probe_started = Some(now);
                    true
                }
            },
        }
    }

    /// A command succeeded: close.
    pub(crate) fn success(&self) {
        let mut state = self.state();
        *state = BreakerState::default();
    }

    /// A command failed: count it, and open when enough failed in a row (or the probe did).
    pub(crate) fn failure(&self) {
        let mut state = self.state();
        state.failures = state.failures.saturating_add(1);
        if state.open_until.is_some() || state.failures >= self.threshold {
            state.open_until = Some(Instant::now() + self.cooldown);
            state.probe_started = None;
        }
    }

    /// Whether the breaker is keeping commands away (open, or half-open with a probe out).
    pub(crate) fn is_open(&self) -> bool {
        self.state().open_until.is_some()
    }
}

/// The Redis tier of one instance.
#[derive(Debug)]
pub(crate) struct Remote {
    manager: ConnectionManager,
    client: redis::Client,
    pub(crate) keys: KeySpace,
    ttl_ms: u64,
    version_ttl_ms: u64,
    pub(crate) timeout: Duration,
    pub(crate) breaker: Breaker,
    /// Invalidations that could not be written since the last flush: while non-zero, Redis
    /// may hold stale values and is not read until the epoch is incremented.
    owed: AtomicU64,
    /// A flush is being written (only one at a time).
    flushing: AtomicBool,
    pub(crate) counters: RedisCounters,
    pub(crate) instance: Uuid,
}

impl Remote {
    /// A Redis tier over `client`; connects lazily (a gateway starts while Redis is down).
    pub(crate) fn new(
        client: redis::Client,
        settings: &CacheConfig,
        instance: Uuid,
    ) -> RedisResult<Self> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.redis_timeout))
            .set_response_timeout(Some(settings.redis_timeout))
            .set_number_of_retries(0);
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let ttl_ms = settings.redis_ttl.as_millis() as u64;
        Ok(Self {
            manager,
            client,
            keys: KeySpace::new(&settings.prefix),
            ttl_ms,
            // Outlives every value tagged with an earlier version (see `invalidate`).
            version_ttl_ms: ttl_ms.saturating_mul(2).saturating_add(60_000),
            timeout: settings.redis_timeout,
            breaker: Breaker::new(
                settings.breaker_failures,
                settings.breaker_cooldown,
                settings.breaker_cooldown + settings.redis_timeout * 4,
            ),
            owed: AtomicU64::new(0),
            flushing: AtomicBool::new(false),
            counters: RedisCounters::default(),
            instance,
        })
    }

    /// The client, for the subscriber's own connection.
    pub(crate) fn client(&self) -> &redis::Client {
        &self.client
    }

    /// Sends one command or pipeline through the breaker and the timeout.
    async fn call<T: FromRedisValue>(
        &self,
        what: &'static str,
        command: impl AsyncQuery<T>,
    ) -> Option<T> {
        if !self.breaker.allow() {
            self.counters.short_circuits.inc();
            return None;
        }
        let mut connection = self.manager.clone();
        match tokio::time::timeout(self.timeout, command.query(&mut connection)).await {
            Ok(Ok(value)) => {
                self.breaker.success();
                Some(value)
            }
            Ok(Err(error)) if error.is_timeout() => {
                self.counters.timeouts.inc();
                self.breaker.failure();
                tracing::debug!(what, "redis command timed out");
                None
            }
            Ok(Err(error)) => {
                self.counters.errors.inc();
                self.breaker.failure();
                tracing::debug!(%error, what, "redis command failed");
                None
            }
            Err(_) => {
                self.counters.timeouts.inc();
                self.breaker.failure();
                tracing::debug!(what, "redis command timed out");
                None
            }
        }
    }

    /// Whether Redis may be read: no invalidation is owed, or the owed flush was written
    /// just now.
    async fn readable(&self) -> bool {
        if self.owed.load(Ordering::Acquire) == 0 {
            return true;
        }
        self.flush().await
    }

    /// Reads `key` with its tag.
    pub(crate) async fn get(&self, key: &Key) -> Read {
        if !self.readable().await {
            return Read::Unavailable;
        }
        let mut command = redis::cmd("MGET");
        command
            .arg(self.keys.value(key))
            .arg(self.keys.version(key))
            .arg(self.keys.epoch());
        let Some((value, version, epoch)) = self
            .call::<(Option<Vec<u8>>, Option<u64>, Option<u64>)>("read", command)
            .await
        else {
            return Read::Unavailable;
        };
        let tag = Tag {
            version: version.unwrap_or(0),
            epoch: epoch.unwrap_or(0),
        };
        match value.as_deref().and_then(Tag::split) {
            Some((stored, payload)) if stored == tag => Read::Hit(payload.to_vec()),
            _ => Read::Miss(tag),
        }
    }

    /// Stores a loaded value under the tag its load started with.
    pub(crate) async fn fill(&self, key: &Key, tag: Tag, payload: &[u8]) {
        let mut command = redis::cmd("SET");
        command
            .arg(self.keys.value(key))
            .arg(tag.prepend(payload))
            .arg("PX")
            .arg(self.ttl_ms);
        let _ = self.call::<()>("fill", command).await;
    }

    /// Reads a persisted-query document, at most `max_bytes` of it (a longer value is cut,
    /// and so fails its hash check); `None` when Redis has none or does not answer.
    pub(crate) async fn document(&self, hash: &str, max_bytes: usize) -> Option<String> {
        let mut command = redis::cmd("GETRANGE");
        command
            .arg(self.keys.document(hash))
            .arg(0)
            .arg(max_bytes.saturating_sub(1));
        self.call::<Option<String>>("document", command)
            .await
            .flatten()
            .filter(|text| !text.is_empty())
    }

    /// Stores a persisted-query document for `ttl` (each read extends nothing: a document
    /// still in use is sent again, with its text, after it expired).
    pub(crate) async fn keep_document(&self, hash: &str, text: &str, ttl: Duration) {
        let mut command = redis::cmd("SET");
        command
            .arg(self.keys.document(hash))
            .arg(text)
            .arg("PX")
            .arg(ttl.as_millis() as u64);
        let _ = self.call::<()>("keep document", command).await;
    }

    /// Invalidates `keys` in Redis and, with `publish`, tells the other instances. When
    /// Redis cannot be written, a flush is owed (see the module documentation).
    pub(crate) async fn invalidate(&self, keys: &[Key], publish: bool) {
        if keys.is_empty() {
            return;
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for key in keys {
            let version = self.keys.version(key);
            pipe.cmd("INCR").arg(&version).ignore();
            pipe.cmd("PEXPIRE")
                .arg(&version)
                .arg(self.version_ttl_ms)
                .ignore();
            pipe.cmd("DEL").arg(self.keys.value(key)).ignore();
        }
        if publish {
            let message = Message {
                from: self.instance,
                keys: keys.to_vec(),
                all: false,
            };
            if let Ok(text) = serde_json::to_string(&message) {
                pipe.cmd("PUBLISH")
                    .arg(self.keys.channel())
                    .arg(text)
                    .ignore();
            }
        }
        if self.call::<()>("invalidate", pipe).await.is_none() {
            self.owe_flush();
        }
    }

    /// Marks Redis as possibly stale: it is not read again until a flush is written.
    pub(crate) fn owe_flush(&self) {
        self.owed.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether a flush is owed.
    pub(crate) fn flush_owed(&self) -> bool {
        self.owed.load(Ordering::Acquire) != 0
    }

    /// Increments the epoch (every stored value becomes unreadable) and tells the other
    /// instances to drop their in-process tier. Returns whether Redis is now clean: the
    /// flush was written and no invalidation failed meanwhile. While another flush is being
    /// written, returns false without sending anything.
    pub(crate) async fn flush(&self) -> bool {
        if self.flushing.swap(true, Ordering::AcqRel) {
            return false;
        }
        let _flushing = ResetOnDrop(&self.flushing);
        let owed = self.owed.load(Ordering::Acquire);
        let message = Message {
            from: self.instance,
            keys: Vec::new(),
            all: true,
        };
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("INCR").arg(self.keys.epoch()).ignore();
        // Like the version counters, the epoch outlives every value tagged before it moved.
        pipe.cmd("PEXPIRE")
            .arg(self.keys.epoch())
            .arg(self.version_ttl_ms)
            .ignore();
        if let Ok(text) = serde_json::to_string(&message) {
            pipe.cmd("PUBLISH")
                .arg(self.keys.channel())
                .arg(text)
                .ignore();
        }
        if self.call::<()>("flush", pipe).await.is_none() {
            return false;
        }
        if owed != 0 {
            tracing::info!("redis answers again; entries it may hold stale were invalidated");
        }
        self.owed
            .compare_exchange(owed, 0, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

/// Clears a flag when dropped, so a flush whose caller went away does not block the next.
struct ResetOnDrop<'a>(&'a AtomicBool);

impl Drop for ResetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// A command or a pipeline, sent the same way.
pub(crate) trait AsyncQuery<T> {
    fn query(
        &self,
        connection: &mut ConnectionManager,
    ) -> impl Future<Output = RedisResult<T>> + Send;
}

impl<T: FromRedisValue> AsyncQuery<T> for redis::Cmd {
    fn query(
        &self,
        connection: &mut ConnectionManager,
    ) -> impl Future<Output = RedisResult<T>> + Send {
        self.query_async(connection)
    }
}

impl<T: FromRedisValue> AsyncQuery<T> for redis::Pipeline {
    fn query(
        &self,
        connection: &mut ConnectionManager,
    ) -> impl Future<Output = RedisResult<T>> + Send {
        self.query_async(connection)
    }
}

/// Deletes every key under `prefix` (all format versions). For tests and operators
/// retiring a prefix; never called by the gateway itself.
pub async fn purge_prefix(redis_url: &str, prefix: &str) -> RedisResult<u64> {
    let client = redis::Client::open(redis_url)?;
    let mut connection = client.get_multiplexed_async_connection().await?;
    let pattern = KeySpace::new(prefix).pattern();
    let mut cursor: u64 = 0;
    let mut deleted = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut connection)
            .await?;
        if !keys.is_empty() {
            deleted += redis::cmd("DEL")
                .arg(&keys)
                .query_async::<u64>(&mut connection)
                .await?;
        }
        if next == 0 {
            return Ok(deleted);
        }
        cursor = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_travel_in_front_of_the_payload() {
        let tag = Tag {
            version: 3,
            epoch: 1,
        };
        let bytes = tag.prepend(b"[1]");
        assert_eq!(bytes.len(), TAG_BYTES + 3);
        assert_eq!(Tag::split(&bytes), Some((tag, &b"[1]"[..])));
        assert_eq!(Tag::split(b"short"), None);
    }

    #[test]
    fn the_breaker_opens_probes_and_closes() {
        let breaker = Breaker::new(2, Duration::from_millis(30), Duration::from_secs(5));
        assert!(breaker.allow());
        breaker.failure();
        assert!(breaker.allow(), "one failure is not enough");
        breaker.failure();
        assert!(breaker.is_open());
        assert!(!breaker.allow(), "open during the cooldown");
        std::thread::sleep(Duration::from_millis(40));
        assert!(breaker.allow(), "one probe after the cooldown");
        assert!(!breaker.allow(), "only one");
        breaker.failure();
        assert!(!breaker.allow(), "a failed probe reopens it");
        std::thread::sleep(Duration::from_millis(40));
        assert!(breaker.allow());
        breaker.success();
        assert!(!breaker.is_open());
        assert!(breaker.allow() && breaker.allow(), "closed again");
    }

    #[test]
    fn a_probe_whose_caller_vanished_does_not_block_forever() {
        let breaker = Breaker::new(1, Duration::from_millis(10), Duration::from_millis(20));
        breaker.failure();
        std::thread::sleep(Duration::from_millis(15));
        assert!(breaker.allow());
        assert!(!breaker.allow());
        std::thread::sleep(Duration::from_millis(25));
        assert!(breaker.allow(), "the lost probe timed out");
    }
}
