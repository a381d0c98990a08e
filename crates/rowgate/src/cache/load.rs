//! The database reads behind each cache, run through the store so that its statement
//! counter sees every one of them (a warm cache is then provably zero SQL).

use std::collections::BTreeMap;
use std::sync::Arc;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query, SelectStatement};
use uuid::Uuid;

use super::values::{ConfigEntry, ConfigSnapshot, FlagRow, FlagSet, TableRows};
use crate::auth::Facts;
use crate::error::AppResult;
use crate::planner::Store;
use crate::policy::{Fact, FactKind, Lit};

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

/// The flag rows of one scope: the global defaults (`tenant: None`) or a tenant's own (none
/// where the application declares no flags).
pub(crate) async fn flags(store: &Store, tenant: Option<Uuid>) -> AppResult<Arc<FlagSet>> {
    let Some(table) = store.policies.hot_config().flags else {
        return Ok(Arc::new(FlagSet(Vec::new())));
    };
    let (key, enabled, rollout) = (
        table.key.name,
        table.enabled.name,
        table.rollout_percent.name,
    );
    let mut statement = select(table.key.table, &[key, enabled, rollout]);
    match tenant {
        None => statement.and_where(col(table.tenant.name).is_null()),
        Some(tenant) => statement.and_where(col(table.tenant.name).eq(tenant)),
    };
    statement.order_by(Alias::new(key), Order::Asc);
    let rows = store.counted_query(&store.db, &statement).await?;
    let flags = rows
        .iter()
        .map(|row| {
            Ok(FlagRow {
                key: row.try_get("", key)?,
                enabled: row.try_get("", enabled)?,
                rollout_percent: row.try_get("", rollout)?,
            })
        })
        .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;
    Ok(Arc::new(FlagSet(flags)))
}

/// Every configuration entry (none where the application declares no configuration).
pub(crate) async fn config(store: &Store) -> AppResult<Arc<ConfigSnapshot>> {
    let mut entries = BTreeMap::new();
    if let Some(table) = store.policies.hot_config().config {
        let (key, value, public) = (table.key.name, table.value.name, table.public.name);
        let statement = select(table.key.table, &[key, value, public]);
        for row in &store.counted_query(&store.db, &statement).await? {
            entries.insert(
                row.try_get::<String>("", key)?,
                ConfigEntry {
                    value: row.try_get("", value)?,
                    public: row.try_get("", public)?,
                },
            );
        }
    }
    Ok(Arc::new(ConfigSnapshot::new(entries)))
}

/// The most rows a cached table may hold: it is meant for small, admin-written tables.
pub const MAX_CACHED_ROWS: u64 = 10_000;

/// Every live row of the cached table `table`, unmasked, in key order.
pub(crate) async fn table_rows(store: &Store, table: &str) -> AppResult<Arc<TableRows>> {
    let service = crate::auth::Principal::service_role(None, None);
    let args = crate::planner::ListArgs {
        limit: Some(MAX_CACHED_ROWS + 1),
        ..crate::planner::ListArgs::default()
    };
    let rows = store.list(&service, table, args).await?;
    if rows.len() as u64 > MAX_CACHED_ROWS {
        return Err(crate::error::AppError::Internal(format!(
            "the cached table {table} holds more than {MAX_CACHED_ROWS} rows; cache only small tables"
        )));
    }
    Ok(Arc::new(TableRows(rows)))
}

/// The live (not soft-deleted) tenant whose subdomain is `subdomain`.
pub(crate) async fn tenant_by_subdomain(store: &Store, subdomain: &str) -> AppResult<Option<Uuid>> {
    let (Some(column), Some(tenancy)) = (
        store.policies.hot_config().subdomain,
        store.policies.tenancy(),
    ) else {
        return Ok(None);
    };
    let id = tenancy.tenants.name;
    let mut statement = select(column.table, &[id]);
    statement.and_where(col(column.name).eq(subdomain)).limit(1);
    if let Some(deleted_at) = store
        .policies
        .table(column.table)
        .and_then(|p| p.soft_delete)
    {
        statement.and_where(col(deleted_at.name).is_null());
    }
    let rows = store.counted_query(&store.db, &statement).await?;
    Ok(rows
        .first()
        .map(|row| row.try_get::<Uuid>("", id))
        .transpose()?)
}

/// A user's facts, as the application declares them: one statement per source table (the
/// facts of one table are told apart in memory), run concurrently.
pub(crate) async fn principal_facts(store: &Store, user: Uuid) -> AppResult<Arc<Facts>> {
    principal_facts_on(store, &store.db, user).await
}

/// The facts of one source table, and the columns their statement reads.
struct FactGroup<'a> {
    table: &'static str,
    user: &'static str,
    facts: Vec<&'a Fact>,
    columns: Vec<&'static str>,
}

fn fact_groups(facts: &[Fact]) -> Vec<FactGroup<'_>> {
    let mut groups: Vec<FactGroup<'_>> = Vec::new();
    for fact in facts {
        let index = match groups
            .iter()
            .position(|g| g.table == fact.table() && g.user == fact.user.name)
        {
            Some(index) => index,
            None => {
                groups.push(FactGroup {
                    table: fact.table(),
                    user: fact.user.name,
                    facts: Vec::new(),
                    columns: Vec::new(),
                });
                groups.len() - 1
            }
        };
        let group = &mut groups[index];
        group.facts.push(fact);
        let value = match fact.kind {
            FactKind::Ids(values) => Some(values.name),
            FactKind::Flag => None,
        };
        for column in value
            .into_iter()
            .chain(fact.when.iter().map(|(c, _)| c.name))
        {
            if !group.columns.contains(&column) {
                group.columns.push(column);
            }
        }
    }
    for group in &mut groups {
        if group.columns.is_empty() {
            group.columns.push(group.user);
        }
    }
    groups
}

/// Whether a loaded row satisfies a fact's `when` conditions.
fn satisfies(row: &sea_orm::QueryResult, fact: &Fact) -> Result<bool, sea_orm::DbErr> {
    for (column, values) in &fact.when {
        let mut matched = false;
        for value in values {
            matched |= match value {
                Lit::Text(text) => row
                    .try_get::<Option<String>>("", column.name)?
                    .is_some_and(|v| v == *text),
                Lit::Bool(flag) => row
                    .try_get::<Option<bool>>("", column.name)?
                    .is_some_and(|v| v == *flag),
            };
        }
        if !matched {
            return Ok(false);
        }
    }
    Ok(true)
}

/// [`principal_facts`] read on `db` (a write transaction reads them on its own connection,
/// for the side effects that decide what a recipient may read).
pub(crate) async fn principal_facts_on(
    store: &Store,
    db: &impl sea_orm::ConnectionTrait,
    user: Uuid,
) -> AppResult<Arc<Facts>> {
    let groups = fact_groups(store.policies.facts());
    let statements: Vec<SelectStatement> = groups
        .iter()
        .map(|group| {
            let mut statement = select(group.table, &group.columns);
            statement.and_where(col(group.user).eq(user));
            statement
        })
        .collect();
    let results = futures_util::future::try_join_all(
        statements
            .iter()
            .map(|statement| store.counted_query(db, statement)),
    )
    .await?;
    let mut facts = Facts::default();
    for (group, rows) in groups.iter().zip(results) {
        for fact in &group.facts {
            let mut ids = Vec::new();
            let mut any = false;
            for row in &rows {
                if !satisfies(row, fact)? {
                    continue;
                }
                any = true;
                if let FactKind::Ids(values) = fact.kind
                    && let Some(id) = row.try_get::<Option<Uuid>>("", values.name)?
                {
                    ids.push(id);
                }
            }
            match fact.kind {
                FactKind::Ids(_) => facts.set_ids(fact.name, ids),
                FactKind::Flag if any => facts.set_flag(fact.name),
                FactKind::Flag => {}
            }
        }
    }
    Ok(Arc::new(facts))
}
