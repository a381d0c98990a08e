//! Which entries a row change makes stale, and the PostgreSQL listener that reports changes
//! made outside the gateway.
//!
//! A change reaches an instance three ways: the store's commit hook (writes through this
//! instance, applied before the write returns), Redis pub/sub (writes through another
//! instance), and on PostgreSQL the `rowgate_changes` NOTIFY channel fed by the triggers the
//! migration installs (every committed write, through a gateway or not).

use serde::Deserialize;
use serde_json::Value as Json;
use uuid::Uuid;

use super::keys::Key;
use crate::policy::PolicySet;
use crate::policy::eval::Row;

/// The NOTIFY channel an application's triggers write cache-relevant changes to (on
/// PostgreSQL), so writes made outside the gateway invalidate the cache too.
pub const NOTIFY_CHANNEL: &str = "rowgate_changes";

/// Whether a change of `table` can make a cache entry stale: a table of the declared hot
/// configuration, or one the principals' facts are loaded from.
pub fn is_cached_table(policies: &PolicySet, table: &str) -> bool {
    policies.hot_caches(table) || policies.facts().iter().any(|f| f.table() == table)
}

fn uuid(row: &Row, column: &str) -> Option<Uuid> {
    row.get(column)
        .and_then(Json::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

/// The entries a change of one row of `table` makes stale, from the row before and after.
/// Only the columns that name entries are read (the triggers send just those).
pub fn keys_for_change(
    policies: &PolicySet,
    table: &str,
    old: Option<&Row>,
    new: Option<&Row>,
) -> Vec<Key> {
    let mut keys = Vec::new();
    for row in [old, new].into_iter().flatten() {
        // The facts loaded from this table are stale for the user the row names.
        for fact in policies.facts().iter().filter(|f| f.table() == table) {
            if let Some(key) = uuid(row, fact.user.name).map(Key::Principal)
                && !keys.contains(&key)
            {
                keys.push(key);
            }
        }
        let hot = policies.hot_config();
        let flags =
            hot.flags
                .filter(|f| f.key.table == table)
                .and_then(|f| match row.get(f.tenant.name) {
                    None => None,
                    Some(Json::Null) => Some(Key::GlobalFlags),
                    Some(_) => uuid(row, f.tenant.name).map(Key::TenantFlags),
                });
        let config = hot
            .config
            .filter(|c| c.key.table == table)
            .map(|_| Key::Config);
        let subdomain = hot.subdomain.filter(|c| c.table == table).and_then(|c| {
            row.get(c.name)
                .and_then(Json::as_str)
                .map(|s| Key::TenantBySubdomain(s.to_owned()))
        });
        let rows = policies
            .cached_tables()
            .contains(&table)
            .then(|| Key::Table(table.to_owned()));
        for key in [flags, config, subdomain, rows].into_iter().flatten() {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys
}

/// What a trigger of the migration sends: `{"table", "op", "old", "new"}` with `old`/`new`
/// holding the entry-naming columns of the row (absent for TRUNCATE).
#[derive(Debug, Deserialize)]
pub(crate) struct Notification {
    pub table: String,
    pub op: String,
    #[serde(default)]
    pub old: Option<Row>,
    #[serde(default)]
    pub new: Option<Row>,
}

/// What a notification asks of the cache.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stale {
    /// These entries.
    Keys(Vec<Key>),
    /// Everything (a TRUNCATE, or a payload this release does not understand).
    All,
}

/// Parses a NOTIFY payload into what it makes stale.
pub(crate) fn stale_from_payload(policies: &PolicySet, payload: &str) -> Stale {
    let Ok(notification) = serde_json::from_str::<Notification>(payload) else {
        return Stale::All;
    };
    if !is_cached_table(policies, &notification.table) {
        return Stale::Keys(Vec::new());
    }
    if notification.op == "TRUNCATE" {
        return Stale::All;
    }
    let keys = keys_for_change(
        policies,
        &notification.table,
        notification.old.as_ref(),
        notification.new.as_ref(),
    );
    if keys.is_empty() {
        Stale::All
    } else {
        Stale::Keys(keys)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::policy::{Col, ConfigTable, Fact, FlagTable, HotConfig};

    /// Facts and hot configuration declared as the reference application declares them.
    fn facts() -> PolicySet {
        let col = |table, name| Col { table, name };
        let facts = vec![
            Fact::ids(
                "member_tenants",
                col("t_members", "user_id"),
                col("t_members", "tenant_id"),
            ),
            Fact::flag("platform_admin", col("t_roles", "user_id")),
            Fact::ids(
                "blocked_users",
                col("t_blocks", "blocker_id"),
                col("t_blocks", "blocked_id"),
            ),
        ];
        PolicySet::new(Vec::new())
            .with_facts(facts)
            .with_hot_config(HotConfig {
                flags: Some(FlagTable {
                    key: col("t_flags", "key"),
                    enabled: col("t_flags", "enabled"),
                    rollout_percent: col("t_flags", "rollout_percent"),
                    tenant: col("t_flags", "tenant_id"),
                }),
                config: Some(ConfigTable {
                    key: col("t_config", "key"),
                    value: col("t_config", "value"),
                    public: col("t_config", "is_public"),
                }),
                subdomain: Some(col("t_tenants", "subdomain")),
            })
    }

    fn row(value: Json) -> Row {
        match value {
            Json::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn a_change_of_a_cached_table_makes_its_rows_stale() {
        let policies = facts().with_cached_tables(["t_model_configs"]);
        assert_eq!(
            keys_for_change(&policies, "t_model_configs", None, Some(&row(json!({})))),
            vec![Key::Table("t_model_configs".into())]
        );
        assert!(is_cached_table(&policies, "t_model_configs"));
    }

    #[test]
    fn each_cached_table_names_its_entries() {
        let tenant = Uuid::from_u128(1);
        let user = Uuid::from_u128(2);
        let flag_moved = keys_for_change(
            &facts(),
            "t_flags",
            Some(&row(json!({"tenant_id": null, "key": "a"}))),
            Some(&row(json!({"tenant_id": tenant.to_string(), "key": "a"}))),
        );
        assert_eq!(flag_moved, [Key::GlobalFlags, Key::TenantFlags(tenant)]);
        assert_eq!(
            keys_for_change(&facts(), "t_config", Some(&row(json!({"key": "x"}))), None),
            [Key::Config]
        );
        assert_eq!(
            keys_for_change(
                &facts(),
                "t_tenants",
                Some(&row(json!({"subdomain": "old"}))),
                Some(&row(json!({"subdomain": "new"})))
            ),
            [
                Key::TenantBySubdomain("old".into()),
                Key::TenantBySubdomain("new".into())
            ]
        );
        for table in ["t_members", "t_roles"] {
            assert_eq!(
                keys_for_change(
                    &facts(),
                    table,
                    None,
                    Some(&row(json!({"user_id": user.to_string()})))
                ),
                [Key::Principal(user)],
                "{table}"
            );
        }
        assert_eq!(
            keys_for_change(
                &facts(),
                "t_blocks",
                Some(&row(
                    json!({"blocker_id": user.to_string(), "blocked_id": tenant.to_string()})
                )),
                None
            ),
            [Key::Principal(user)]
        );
        assert!(
            keys_for_change(&facts(), "t_posts", None, Some(&row(json!({"id": "x"})))).is_empty()
        );
    }

    #[test]
    fn trigger_payloads_parse() {
        let user = Uuid::from_u128(5);
        let payload = json!({
            "table": "t_members",
            "op": "DELETE",
            "old": {"tenant_id": Uuid::from_u128(1).to_string(), "user_id": user.to_string()},
            "new": null,
        })
        .to_string();
        assert_eq!(
            stale_from_payload(&facts(), &payload),
            Stale::Keys(vec![Key::Principal(user)])
        );
        assert_eq!(
            stale_from_payload(&facts(), r#"{"table":"t_flags","op":"TRUNCATE"}"#),
            Stale::All
        );
        assert_eq!(
            stale_from_payload(&facts(), r#"{"table":"t_posts","op":"INSERT","new":{}}"#),
            Stale::Keys(vec![])
        );
        assert_eq!(stale_from_payload(&facts(), "garbage"), Stale::All);
    }
}
