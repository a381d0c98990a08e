//! The database reads behind each cache, run through the store so that its statement
//! counter sees every one of them (a warm cache is then provably zero SQL).

use std::collections::BTreeMap;
use std::sync::Arc;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query, SelectStatement};
use uuid::Uuid;

use super::values::{ConfigEntry, ConfigSnapshot, FlagRow, FlagSet, PrincipalFacts};
use crate::auth::{Membership, PlatformRole, TenantRole};
use crate::error::AppResult;
use crate::planner::Store;

fn col(name: &'static str) -> Expr {
    Expr::col(Alias::new(name))
}

fn select(table: &'static str, columns: &[&'static str]) -> SelectStatement {
    let mut select = Query::select();
    select
        .columns(columns.iter().map(|c| Alias::new(*c)))
        .from(Alias::new(table));
    select
}

/// The flag rows of one scope: the global defaults (`tenant: None`) or a tenant's own.
pub(crate) async fn flags(store: &Store, tenant: Option<Uuid>) -> AppResult<Arc<FlagSet>> {
    let mut statement = select("feature_flags", &["key", "enabled", "rollout_percent"]);
    match tenant {
        None => statement.and_where(col("tenant_id").is_null()),
        Some(tenant) => statement.and_where(col("tenant_id").eq(tenant)),
    };
    statement.order_by(Alias::new("key"), Order::Asc);
    let rows = store.counted_query(&store.db, &statement).await?;
    let flags = rows
        .iter()
        .map(|row| {
            Ok(FlagRow {
                key: row.try_get("", "key")?,
                enabled: row.try_get("", "enabled")?,
                rollout_percent: row.try_get("", "rollout_percent")?,
            })
        })
        .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;
    Ok(Arc::new(FlagSet(flags)))
}

/// Every `system_config` entry.
pub(crate) async fn config(store: &Store) -> AppResult<Arc<ConfigSnapshot>> {
    let statement = select("system_config", &["key", "value", "is_public"]);
    let rows = store.counted_query(&store.db, &statement).await?;
    let mut entries = BTreeMap::new();
    for row in &rows {
        entries.insert(
            row.try_get::<String>("", "key")?,
            ConfigEntry {
                value: row.try_get("", "value")?,
                public: row.try_get("", "is_public")?,
            },
        );
    }
    Ok(Arc::new(ConfigSnapshot::new(entries)))
}

/// The live (not soft-deleted) tenant whose subdomain is `subdomain`.
pub(crate) async fn tenant_by_subdomain(store: &Store, subdomain: &str) -> AppResult<Option<Uuid>> {
    let mut statement = select("tenants", &["id"]);
    statement
        .and_where(col("subdomain").eq(subdomain))
        .and_where(col("deleted_at").is_null())
        .limit(1);
    let rows = store.counted_query(&store.db, &statement).await?;
    Ok(rows
        .first()
        .map(|row| row.try_get::<Uuid>("", "id"))
        .transpose()?)
}

/// A user's memberships, platform roles and blocks: three statements, run concurrently.
pub(crate) async fn principal_facts(store: &Store, user: Uuid) -> AppResult<Arc<PrincipalFacts>> {
    principal_facts_on(store, &store.db, user).await
}

/// [`principal_facts`] read on `db` (a write transaction reads them on its own connection,
/// for the side effects that decide what a recipient may read).
pub(crate) async fn principal_facts_on(
    store: &Store,
    db: &impl sea_orm::ConnectionTrait,
    user: Uuid,
) -> AppResult<Arc<PrincipalFacts>> {
    let mut memberships = select("tenant_members", &["tenant_id", "role"]);
    memberships.and_where(col("user_id").eq(user));
    let mut roles = select("user_roles", &["role"]);
    roles.and_where(col("user_id").eq(user));
    let mut blocks = select("blocks", &["blocked_id"]);
    blocks.and_where(col("blocker_id").eq(user));
    let (memberships, roles, blocks) = tokio::try_join!(
        store.counted_query(db, &memberships),
        store.counted_query(db, &roles),
        store.counted_query(db, &blocks),
    )?;
    let mut facts = PrincipalFacts::default();
    for row in &memberships {
        let role: String = row.try_get("", "role")?;
        if let Some(role) = TenantRole::parse(&role) {
            facts.memberships.push(Membership {
                tenant_id: row.try_get("", "tenant_id")?,
                role,
            });
        }
    }
    for row in &roles {
        let role: String = row.try_get("", "role")?;
        facts.platform_roles.extend(PlatformRole::parse(&role));
    }
    for row in &blocks {
        facts.blocked.push(row.try_get("", "blocked_id")?);
    }
    Ok(Arc::new(facts))
}
