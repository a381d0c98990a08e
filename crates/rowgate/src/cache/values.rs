//! What the cache holds, how it travels to Redis (compact JSON tuples), and the pure rules
//! computed from it: effective feature flags and their stable rollout buckets.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value as Json;
use uuid::Uuid;

use crate::auth::Facts;

/// A value the cache can hold. `encode` returning `None` keeps the value in-process only.
pub(crate) trait Cached: Clone + Send + Sync + 'static {
    /// The compact bytes stored in Redis.
    fn encode(&self) -> Option<Vec<u8>>;
    /// The value back from its bytes; `None` for bytes it does not recognise (they are then
    /// treated as a miss).
    fn decode(bytes: &[u8]) -> Option<Self>;
}

/// One flag row, as far as the effective flag depends on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagRow {
    /// The flag's key.
    pub key: String,
    /// Whether the row turns the flag on.
    pub enabled: bool,
    /// Share of users (0–100) the flag is on for.
    pub rollout_percent: i16,
}

/// The flag rows of one scope (the global defaults, or one tenant's), sorted by key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlagSet(pub Vec<FlagRow>);

impl Cached for Arc<FlagSet> {
    fn encode(&self) -> Option<Vec<u8>> {
        let rows: Vec<(&str, bool, i16)> = self
            .0
            .iter()
            .map(|r| (r.key.as_str(), r.enabled, r.rollout_percent))
            .collect();
        serde_json::to_vec(&rows).ok()
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let rows: Vec<(String, bool, i16)> = serde_json::from_slice(bytes).ok()?;
        Some(Arc::new(FlagSet(
            rows.into_iter()
                .map(|(key, enabled, rollout_percent)| FlagRow {
                    key,
                    enabled,
                    rollout_percent,
                })
                .collect(),
        )))
    }
}

/// Which row an effective flag comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagSource {
    /// The global default (`tenant_id IS NULL`).
    Global,
    /// The active tenant's own row.
    Tenant,
}

impl FlagSource {
    /// The GraphQL enum value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Global => "GLOBAL",
            Self::Tenant => "TENANT",
        }
    }
}

/// A flag as it applies to one principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveFlag {
    /// The flag's key.
    pub key: String,
    /// Whether the flag is on for this principal.
    pub enabled: bool,
    /// The rollout of the row that decided it.
    pub rollout_percent: i16,
    /// The row that decided it.
    pub source: FlagSource,
}

/// FNV-1a, 64 bits (offset basis 0xcbf29ce484222325, prime 0x100000001b3): a documented,
/// stable hash, identical on every instance and release.
pub fn fnv1a_64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The user's stable rollout bucket for a flag, 0–99: FNV-1a 64 of `"{user_id}:{key}"`
/// (the UUID in lowercase hyphenated form) modulo 100.
pub fn rollout_bucket(user: Uuid, key: &str) -> u8 {
    let text = format!("{user}:{key}");
    (fnv1a_64(text.as_bytes()) % 100) as u8
}

/// The effective flags (docs/SCHEMA.md): for each key the tenant's row if there is one, else the
/// global row; on only when that row is enabled and the user's bucket is below its
/// `rollout_percent`. Without a user (a service-role token without `sub`) there is no
/// bucket, so only a full rollout (100) turns a flag on. Sorted by key.
pub fn effective_flags(
    global: &FlagSet,
    tenant: Option<&FlagSet>,
    user: Option<Uuid>,
) -> Vec<EffectiveFlag> {
    let mut rows: BTreeMap<&str, (&FlagRow, FlagSource)> = global
        .0
        .iter()
        .map(|r| (r.key.as_str(), (r, FlagSource::Global)))
        .collect();
    for row in tenant.map(|t| t.0.as_slice()).unwrap_or_default() {
        rows.insert(row.key.as_str(), (row, FlagSource::Tenant));
    }
    rows.into_values()
        .map(|(row, source)| {
            let in_rollout = match user {
                Some(user) => i16::from(rollout_bucket(user, &row.key)) < row.rollout_percent,
                None => row.rollout_percent >= 100,
            };
            EffectiveFlag {
                key: row.key.clone(),
                enabled: row.enabled && in_rollout,
                rollout_percent: row.rollout_percent,
                source,
            }
        })
        .collect()
}

/// One configuration entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigEntry {
    /// The JSON value.
    pub value: Json,
    /// Whether anon may read it.
    pub public: bool,
}

/// Every configuration entry, with the public view precomputed.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigSnapshot {
    entries: BTreeMap<String, ConfigEntry>,
    public: async_graphql::Value,
}

impl ConfigSnapshot {
    /// A snapshot of `entries`.
    pub fn new(entries: BTreeMap<String, ConfigEntry>) -> Self {
        let public: serde_json::Map<String, Json> = entries
            .iter()
            .filter(|(_, e)| e.public)
            .map(|(k, e)| (k.clone(), e.value.clone()))
            .collect();
        let public = async_graphql::Value::from_json(Json::Object(public))
            .unwrap_or_else(|_| async_graphql::Value::Object(Default::default()));
        Self { entries, public }
    }

    /// Every public entry as one object keyed by `key`.
    pub fn public_object(&self) -> &async_graphql::Value {
        &self.public
    }

    /// The entry `key`, if there is one the reader may see (`include_private`: any entry;
    /// otherwise public ones only).
    pub fn get(&self, key: &str, include_private: bool) -> Option<&ConfigEntry> {
        self.entries
            .get(key)
            .filter(|entry| include_private || entry.public)
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Cached for Arc<ConfigSnapshot> {
    fn encode(&self) -> Option<Vec<u8>> {
        let rows: Vec<(&str, &Json, bool)> = self
            .entries
            .iter()
            .map(|(k, e)| (k.as_str(), &e.value, e.public))
            .collect();
        serde_json::to_vec(&rows).ok()
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let rows: Vec<(String, Json, bool)> = serde_json::from_slice(bytes).ok()?;
        Some(Arc::new(ConfigSnapshot::new(
            rows.into_iter()
                .map(|(key, value, public)| (key, ConfigEntry { value, public }))
                .collect(),
        )))
    }
}

/// A user's facts, as stored in Redis: the sets by name and the raised flags.
impl Cached for Arc<Facts> {
    fn encode(&self) -> Option<Vec<u8>> {
        serde_json::to_vec(&self.parts()).ok()
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        type Encoded = (BTreeMap<String, Vec<Uuid>>, BTreeSet<String>);
        let (ids, flags): Encoded = serde_json::from_slice(bytes).ok()?;
        Some(Arc::new(Facts::from_parts(ids, flags)))
    }
}

/// Every live row of a cached table, as the service role reads them (unmasked): filtered
/// and masked for each principal when read ([`crate::cache::HotCache::table_rows`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableRows(pub Vec<crate::policy::eval::Row>);

impl Cached for Arc<TableRows> {
    fn encode(&self) -> Option<Vec<u8>> {
        serde_json::to_vec(&self.0).ok()
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes)
            .ok()
            .map(|rows| Arc::new(TableRows(rows)))
    }
}

/// The tenant a subdomain names. Only hits are stored in Redis: a miss is whatever a client
/// writes in its Host header, and must not let clients fill Redis.
impl Cached for Option<Uuid> {
    fn encode(&self) -> Option<Vec<u8>> {
        self.map(|id| id.as_bytes().to_vec())
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        Uuid::from_slice(bytes).ok().map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn buckets_are_stable_and_spread() {
        let user = Uuid::from_u128(0xdeadbeef_0000_4000_8000_000000020002);
        let text = format!("{user}:new_editor");
        assert_eq!(
            u64::from(rollout_bucket(user, "new_editor")),
            fnv1a_64(text.as_bytes()) % 100
        );
        let mut histogram = [0u32; 10];
        for n in 0..10_000u128 {
            histogram[usize::from(rollout_bucket(Uuid::from_u128(n), "flag") / 10)] += 1;
        }
        assert!(
            histogram.iter().all(|&count| (800..1200).contains(&count)),
            "{histogram:?}"
        );
    }

    fn row(key: &str, enabled: bool, rollout_percent: i16) -> FlagRow {
        FlagRow {
            key: key.to_owned(),
            enabled,
            rollout_percent,
        }
    }

    #[test]
    fn the_tenant_row_wins_and_the_rollout_decides() {
        let global = FlagSet(vec![
            row("a", true, 100),
            row("b", false, 100),
            row("c", true, 0),
        ]);
        let tenant = FlagSet(vec![row("b", true, 100), row("d", true, 100)]);
        let user = Uuid::from_u128(42);
        let flags = effective_flags(&global, Some(&tenant), Some(user));
        let summary: Vec<(&str, bool, FlagSource)> = flags
            .iter()
            .map(|f| (f.key.as_str(), f.enabled, f.source))
            .collect();
        assert_eq!(
            summary,
            [
                ("a", true, FlagSource::Global),
                ("b", true, FlagSource::Tenant),
                ("c", false, FlagSource::Global),
                ("d", true, FlagSource::Tenant),
            ]
        );
        // Without the tenant, `b` is the global row: off.
        let flags = effective_flags(&global, None, Some(user));
        assert!(!flags.iter().any(|f| f.key == "b" && f.enabled));
        assert!(!flags.iter().any(|f| f.key == "d"));

        // A partial rollout is on exactly for the users whose bucket is below it.
        let half = FlagSet(vec![row("half", true, 50)]);
        for n in 0..200u128 {
            let user = Uuid::from_u128(n);
            let on = effective_flags(&half, None, Some(user))[0].enabled;
            assert_eq!(on, rollout_bucket(user, "half") < 50);
        }
        // No user: only a full rollout counts.
        assert!(!effective_flags(&half, None, None)[0].enabled);
        assert!(effective_flags(&global, None, None)[0].enabled);
    }

    #[test]
    fn values_round_trip_through_their_encoding() {
        let flags = Arc::new(FlagSet(vec![row("a", true, 25), row("b", false, 100)]));
        assert_eq!(
            <Arc<FlagSet>>::decode(&flags.encode().expect("encodes")),
            Some(flags.clone())
        );
        assert_eq!(
            String::from_utf8(flags.encode().expect("encodes")).expect("utf8"),
            r#"[["a",true,25],["b",false,100]]"#
        );

        let mut entries = BTreeMap::new();
        entries.insert(
            "app.name".to_owned(),
            ConfigEntry {
                value: serde_json::json!("demo"),
                public: true,
            },
        );
        entries.insert(
            "billing.key".to_owned(),
            ConfigEntry {
                value: serde_json::json!({"k": 1}),
                public: false,
            },
        );
        let config = Arc::new(ConfigSnapshot::new(entries));
        let back =
            <Arc<ConfigSnapshot>>::decode(&config.encode().expect("encodes")).expect("decodes");
        assert_eq!(back, config);
        assert!(back.get("billing.key", false).is_none());
        assert!(back.get("billing.key", true).is_some());
        assert_eq!(
            back.public_object().clone().into_json().expect("json"),
            serde_json::json!({"app.name": "demo"})
        );

        let mut facts = Facts::default();
        facts.set_ids("admin_tenants", vec![Uuid::from_u128(1)]);
        facts.set_ids(
            "blocked_users",
            vec![Uuid::from_u128(3), Uuid::from_u128(2)],
        );
        facts.set_flag("platform_moderator");
        let facts = Arc::new(facts);
        assert_eq!(
            <Arc<Facts>>::decode(&facts.encode().expect("encodes")),
            Some(facts)
        );

        let tenant = Some(Uuid::from_u128(9));
        assert_eq!(
            <Option<Uuid>>::decode(&tenant.encode().expect("encodes")),
            Some(tenant)
        );
        assert!(None::<Uuid>.encode().is_none(), "misses stay in-process");
        assert!(<Arc<FlagSet>>::decode(b"not json").is_none());
    }
}
