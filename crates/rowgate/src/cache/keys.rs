//! Typed cache keys and the Redis names they map to.
//!
//! Every key lives under `{prefix}:v{FORMAT_VERSION}:`, so deployments sharing one Redis
//! keep apart (the prefix) and instances of two releases never read each other's encodings
//! (the version). Beside each value lives its version counter, and one epoch counter spans
//! the whole key space (see `remote.rs` for how they make stale writes unreadable).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Version of the key layout and value encodings in Redis; bump it whenever either changes.
pub const FORMAT_VERSION: u32 = 1;

/// The caches, as `/metrics` labels them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheName {
    /// Feature flag rows of one scope: the global defaults, or one tenant's overrides.
    Flags,
    /// Effective flags per (tenant, user), computed from two `Flags` entries; in-process only.
    EffectiveFlags,
    /// Every configuration entry (the public view is derived from it).
    Config,
    /// Tenant id by subdomain.
    Tenants,
    /// A user's principal facts: memberships with roles, platform roles, blocked ids.
    Principals,
    /// Every row of one cached table (`PolicySet::with_cached_tables`).
    Tables,
}

impl CacheName {
    /// Every cache, in the order `/metrics` lists them.
    pub const ALL: [Self; 6] = [
        Self::Flags,
        Self::EffectiveFlags,
        Self::Config,
        Self::Tenants,
        Self::Principals,
        Self::Tables,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Flags => "flags",
            Self::EffectiveFlags => "effective_flags",
            Self::Config => "config",
            Self::Tenants => "subdomains",
            Self::Principals => "principals",
            Self::Tables => "tables",
        }
    }
}

/// One cache entry's identity. The serialized form travels in invalidation messages, so its
/// tags are short.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Key {
    /// Flag rows without a tenant (the global defaults).
    #[serde(rename = "fg")]
    GlobalFlags,
    /// Flag rows of one tenant (its overrides).
    #[serde(rename = "ft")]
    TenantFlags(Uuid),
    /// Every configuration row.
    #[serde(rename = "c")]
    Config,
    /// The live tenant whose `subdomain` is this.
    #[serde(rename = "t")]
    TenantBySubdomain(String),
    /// The principal facts of one user.
    #[serde(rename = "p")]
    Principal(Uuid),
    /// Every row of this cached table.
    #[serde(rename = "tb")]
    Table(String),
}

impl Key {
    /// The cache the key belongs to.
    pub fn cache(&self) -> CacheName {
        match self {
            Self::GlobalFlags | Self::TenantFlags(_) => CacheName::Flags,
            Self::Config => CacheName::Config,
            Self::TenantBySubdomain(_) => CacheName::Tenants,
            Self::Principal(_) => CacheName::Principals,
            Self::Table(_) => CacheName::Tables,
        }
    }

    /// The key's path below the versioned prefix. Subdomains come from the Host header, so
    /// anything but `[a-z0-9-]` is percent-escaped: no client can forge another key's name.
    pub fn path(&self) -> String {
        match self {
            Self::GlobalFlags => "flags:global".to_owned(),
            Self::TenantFlags(tenant) => format!("flags:tenant:{tenant}"),
            Self::Config => "config".to_owned(),
            Self::TenantBySubdomain(subdomain) => format!("tenant:{}", escape(subdomain)),
            Self::Principal(user) => format!("principal:{user}"),
            Self::Table(table) => format!("table:{}", escape(table)),
        }
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The Redis names of one deployment's cache.
#[derive(Debug, Clone)]
pub struct KeySpace {
    prefix: String,
    base: String,
}

impl KeySpace {
    /// The key space under `prefix`.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            base: format!("{prefix}:v{FORMAT_VERSION}"),
        }
    }

    /// Where the value of `key` is stored.
    pub fn value(&self, key: &Key) -> String {
        format!("{}:{}", self.base, key.path())
    }

    /// The version counter of `key`, incremented by every invalidation of it.
    pub fn version(&self, key: &Key) -> String {
        format!("{}:ver:{}", self.base, key.path())
    }

    /// Where the persisted-query document of `hash` (its sha256, hex) is stored. Documents
    /// are addressed by their content: no version, no invalidation.
    pub fn document(&self, hash: &str) -> String {
        format!("{}:apq:{hash}", self.base)
    }

    /// The epoch counter, incremented to invalidate every entry at once.
    pub fn epoch(&self) -> String {
        format!("{}:epoch", self.base)
    }

    /// The pub/sub channel invalidations travel on between instances.
    pub fn channel(&self) -> String {
        format!("{}:invalidate", self.base)
    }

    /// A `SCAN MATCH` pattern for every key of this prefix, of every format version.
    pub fn pattern(&self) -> String {
        format!("{}:*", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_typed_versioned_and_prefixed() {
        let space = KeySpace::new("rg");
        let user = Uuid::from_u128(7);
        assert_eq!(
            space.value(&Key::Principal(user)),
            format!("rg:v{FORMAT_VERSION}:principal:{user}")
        );
        assert_eq!(
            space.version(&Key::GlobalFlags),
            format!("rg:v{FORMAT_VERSION}:ver:flags:global")
        );
        assert_eq!(space.epoch(), format!("rg:v{FORMAT_VERSION}:epoch"));
        assert_eq!(space.pattern(), "rg:*");
    }

    #[test]
    fn subdomains_cannot_forge_other_keys() {
        assert_eq!(Key::TenantBySubdomain("acme".into()).path(), "tenant:acme");
        assert_eq!(
            Key::TenantBySubdomain("x:principal:1*".into()).path(),
            "tenant:x%3Aprincipal%3A1%2A"
        );
        assert_eq!(
            Key::TenantBySubdomain("Acme".into()).path(),
            "tenant:%41cme"
        );
    }

    #[test]
    fn keys_survive_the_invalidation_message() {
        let keys = vec![
            Key::GlobalFlags,
            Key::TenantFlags(Uuid::from_u128(1)),
            Key::Config,
            Key::TenantBySubdomain("acme".into()),
            Key::Principal(Uuid::from_u128(2)),
        ];
        let text = serde_json::to_string(&keys).expect("serialize");
        let back: Vec<Key> = serde_json::from_str(&text).expect("deserialize");
        assert_eq!(back, keys);
    }
}
