//! Counters of the cache, rendered in the Prometheus text format for `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use super::keys::CacheName;

/// A monotonically increasing counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The counters of one cache.
#[derive(Debug, Default)]
pub struct CacheCounters {
    /// Lookups answered by the in-process tier.
    pub hits_local: Counter,
    /// Lookups answered by Redis (after an in-process miss).
    pub hits_redis: Counter,
    /// Lookups the in-process tier could not answer (each caller counts, including the
    /// ones that then wait for another caller's load).
    pub misses: Counter,
    /// Loads from the database (or, for effective flags, computations): with stampede
    /// protection, concurrent misses of one key make one load.
    pub loads: Counter,
    /// Invalidations applied to this instance's in-process tier: one per key, or one for a
    /// whole-cache flush.
    pub invalidations: Counter,
}

/// The counters of the Redis tier.
#[derive(Debug, Default)]
pub struct RedisCounters {
    /// Commands that failed (connection refused, reset, protocol error).
    pub errors: Counter,
    /// Commands that took longer than the configured timeout.
    pub timeouts: Counter,
    /// Commands not sent because the circuit breaker was open.
    pub short_circuits: Counter,
    /// Invalidation messages received from other instances.
    pub messages: Counter,
    /// Invalidations pushed by PostgreSQL NOTIFY (writes made anywhere, gateway or not).
    pub notifications: Counter,
    /// Whether this instance is subscribed to the invalidation channel (0 or 1).
    pub subscribed: AtomicU64,
}

/// Everything `/metrics` shows of the cache.
#[derive(Debug)]
pub struct Snapshot<'a> {
    /// Each cache with its counters.
    pub caches: Vec<(CacheName, &'a CacheCounters)>,
    /// The Redis tier, when configured.
    pub redis: Option<(&'a RedisCounters, bool)>,
    /// Read statements the store has run.
    pub statements: u64,
    /// Whether caching is on.
    pub enabled: bool,
}

/// Picks one counter of a cache.
type CounterOf = fn(&CacheCounters) -> u64;

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Renders `snapshot` in the Prometheus text exposition format (version 0.0.4).
pub fn render(snapshot: &Snapshot<'_>) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "rowgate_cache_enabled",
        "gauge",
        "Whether the cache is on (ROWGATE_CACHE).",
    );
    let _ = writeln!(out, "rowgate_cache_enabled {}", u8::from(snapshot.enabled));

    header(
        &mut out,
        "rowgate_cache_hits_total",
        "counter",
        "Lookups answered by a cache tier.",
    );
    for (name, c) in &snapshot.caches {
        let name = name.as_str();
        let _ = writeln!(
            out,
            "rowgate_cache_hits_total{{cache=\"{name}\",tier=\"local\"}} {}",
            c.hits_local.get()
        );
        let _ = writeln!(
            out,
            "rowgate_cache_hits_total{{cache=\"{name}\",tier=\"redis\"}} {}",
            c.hits_redis.get()
        );
    }
    let per_cache: [(&str, &str, CounterOf); 3] = [
        (
            "rowgate_cache_misses_total",
            "Lookups the in-process tier could not answer.",
            |c| c.misses.get(),
        ),
        (
            "rowgate_cache_loads_total",
            "Loads from the database (computations for effective_flags); concurrent misses of one key make one load.",
            |c| c.loads.get(),
        ),
        (
            "rowgate_cache_invalidations_total",
            "Invalidations applied to this instance's in-process tier (one per key, or one per whole-cache flush).",
            |c| c.invalidations.get(),
        ),
    ];
    for (metric, help, value) in per_cache {
        header(&mut out, metric, "counter", help);
        for (name, c) in &snapshot.caches {
            let _ = writeln!(out, "{metric}{{cache=\"{}\"}} {}", name.as_str(), value(c));
        }
    }

    if let Some((redis, breaker_open)) = snapshot.redis {
        let counters: [(&str, &str, &Counter); 5] = [
            (
                "rowgate_redis_errors_total",
                "Redis commands that failed.",
                &redis.errors,
            ),
            (
                "rowgate_redis_timeouts_total",
                "Redis commands that exceeded ROWGATE_REDIS_TIMEOUT_MS.",
                &redis.timeouts,
            ),
            (
                "rowgate_redis_short_circuits_total",
                "Redis commands skipped while the circuit breaker was open.",
                &redis.short_circuits,
            ),
            (
                "rowgate_cache_invalidation_messages_total",
                "Invalidation messages received from other instances over Redis pub/sub.",
                &redis.messages,
            ),
            (
                "rowgate_cache_notifications_total",
                "Invalidations pushed by PostgreSQL NOTIFY.",
                &redis.notifications,
            ),
        ];
        for (metric, help, counter) in counters {
            header(&mut out, metric, "counter", help);
            let _ = writeln!(out, "{metric} {}", counter.get());
        }
        header(
            &mut out,
            "rowgate_redis_breaker_open",
            "gauge",
            "1 while the circuit breaker keeps requests away from Redis.",
        );
        let _ = writeln!(out, "rowgate_redis_breaker_open {}", u8::from(breaker_open));
        header(
            &mut out,
            "rowgate_redis_subscribed",
            "gauge",
            "1 while this instance receives invalidations from the others.",
        );
        let _ = writeln!(
            out,
            "rowgate_redis_subscribed {}",
            redis.subscribed.load(Ordering::Relaxed)
        );
    }

    header(
        &mut out,
        "rowgate_sql_statements_total",
        "counter",
        "Read statements run against the database.",
    );
    let _ = writeln!(out, "rowgate_sql_statements_total {}", snapshot.statements);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_one_sample_per_cache_and_tier() {
        let flags = CacheCounters::default();
        flags.hits_local.add(3);
        flags.loads.inc();
        let principals = CacheCounters::default();
        let redis = RedisCounters::default();
        let text = render(&Snapshot {
            caches: vec![
                (CacheName::Flags, &flags),
                (CacheName::Principals, &principals),
            ],
            redis: Some((&redis, true)),
            statements: 7,
            enabled: true,
        });
        assert!(text.contains("rowgate_cache_hits_total{cache=\"flags\",tier=\"local\"} 3\n"));
        assert!(text.contains("rowgate_cache_loads_total{cache=\"flags\"} 1\n"));
        assert!(text.contains("rowgate_cache_misses_total{cache=\"principals\"} 0\n"));
        assert!(text.contains("rowgate_redis_breaker_open 1\n"));
        assert!(text.contains("rowgate_sql_statements_total 7\n"));
        assert!(text.contains("# TYPE rowgate_cache_invalidations_total counter\n"));
    }
}
