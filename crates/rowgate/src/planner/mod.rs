//! The only place SQL is built and run: reads and writes of any table, each through the
//! principal's compiled policy.
//!
//! Every read path — lists, lookups by key, counts, the readability check before an update
//! or delete — starts from [`Store::readable_select`], so one policy governs them all.

pub mod batch;
mod bus;
pub mod deadline;
pub mod filter;
pub(crate) mod hooks;
pub mod page;
pub mod plan;
pub mod values;
mod write;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DatabaseConnection};

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use crate::catalog::{Catalog, ColType, TableMeta};
use crate::error::{AppError, AppResult};
use crate::policy::compile::{Compiled, Compiler, Frame};
use crate::policy::eval::{self, Row};
use crate::policy::{PolicySet, Principal};

pub use bus::{Change, ChangeOp, CommitHook, HookFuture};
use bus::{ChangeBus, Counters, Shutdown};
pub use deadline::Deadline;
pub use write::WriteContext;

/// The alias of the table a statement reads.
pub const ROOT: &str = "t0";

/// Reads and writes tables under the policies. Made of five things, each one piece: the
/// connection pool, the application's declarations (its catalog, policies and write hooks),
/// the counters, the change bus and the shutdown signal. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    /// Connection pool.
    pub db: DatabaseConnection,
    /// Tables served.
    pub catalog: Arc<Catalog>,
    /// Their policies.
    pub policies: Arc<PolicySet>,
    /// The application's write hooks.
    write_hooks: Arc<crate::hooks::WriteHooks>,
    /// What the store has run and registered (for tests and metrics).
    counters: Arc<Counters>,
    /// Committed changes, to the commit hooks and the subscribers.
    bus: ChangeBus,
    /// Set when the server shuts down: open subscriptions complete.
    shutdown: Shutdown,
}

/// A column to order by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderBy<'a> {
    /// Column name.
    pub column: &'a str,
    /// Descending.
    pub desc: bool,
}

/// What a list read asks for beyond the policy.
#[derive(Debug, Clone, Default)]
pub struct ListArgs<'a> {
    /// Extra condition on the root table (aliased [`ROOT`]).
    pub filter: Option<Expr>,
    /// Ordering; the primary key is appended as tie-breaker.
    pub order: Vec<OrderBy<'a>>,
    /// At most this many rows.
    pub limit: Option<u64>,
    /// Skip this many rows.
    pub offset: Option<u64>,
}

impl Store {
    /// A store over `db` serving the generated entities with the declared policies.
    pub fn new(db: DatabaseConnection, catalog: Arc<Catalog>, policies: Arc<PolicySet>) -> Self {
        Self {
            db,
            catalog,
            policies,
            write_hooks: Arc::default(),
            counters: Arc::default(),
            bus: ChangeBus::default(),
            shutdown: Shutdown::default(),
        }
    }

    /// The same store running `hooks` in its writes.
    pub fn with_write_hooks(mut self, hooks: Arc<crate::hooks::WriteHooks>) -> Self {
        self.write_hooks = hooks;
        self
    }

    /// Registers `hook` to run after every commit of this store and its clones.
    pub fn on_commit(&self, hook: Arc<dyn CommitHook>) {
        self.bus.on_commit(hook);
    }

    /// Committed changes from now on. Published after commit only — never for a
    /// transaction that rolled back. A receiver that lags loses the oldest changes (and is
    /// told so by `RecvError::Lagged`).
    pub fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<Arc<Change>> {
        self.bus.subscribe_changes()
    }

    /// The events subscriptions read: every instance's committed changes and writes made
    /// outside the gateway when realtime forwarding runs, else this instance's changes.
    pub fn subscribe_events(&self) -> tokio::sync::broadcast::Receiver<Arc<Change>> {
        self.bus.subscribe_events()
    }

    /// Makes `events` the stream [`Store::subscribe_events`] hands out (set once).
    pub fn set_events(&self, events: tokio::sync::broadcast::Sender<Arc<Change>>) {
        self.bus.set_events(events);
    }

    /// Tells every open subscription to complete (graceful shutdown).
    pub fn begin_shutdown(&self) {
        self.shutdown.begin();
    }

    /// Changes to `true` when [`Store::begin_shutdown`] is called.
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shutdown.watch()
    }

    /// Runs the commit hooks, then publishes the changes of a committed transaction.
    pub(crate) async fn publish(&self, changes: Vec<Arc<Change>>) {
        self.bus.publish(changes).await;
    }

    /// How many read statements have run through this store (and its clones) so far.
    pub fn statements(&self) -> u64 {
        self.counters.statements.load(Ordering::Relaxed)
    }

    /// How many subscriptions have been registered so far: once it counts one, that
    /// subscription receives every later event.
    pub fn subscriptions_registered(&self) -> u64 {
        self.counters.subscriptions.load(Ordering::SeqCst)
    }

    /// Counts a registered subscription.
    pub(crate) fn note_subscription(&self) {
        self.counters.subscriptions.fetch_add(1, Ordering::SeqCst);
    }

    /// Runs a read statement, counting it.
    pub(crate) async fn counted_query(
        &self,
        db: &impl ConnectionTrait,
        statement: &SelectStatement,
    ) -> AppResult<Vec<sea_orm::QueryResult>> {
        self.counters.statements.fetch_add(1, Ordering::Relaxed);
        Ok(db.query_all(statement).await?)
    }

    /// The database this store reads and writes, whose statements differ where the types
    /// are stored differently (decimals, arrays, native enumerations on SQLite). A store
    /// without a connection (the schema printer, SQL snapshots) builds them as for
    /// PostgreSQL.
    pub fn backend(&self) -> sea_orm::DbBackend {
        match self.db.inner {
            sea_orm::DatabaseConnectionType::Disconnected => sea_orm::DbBackend::Postgres,
            _ => self.db.get_database_backend(),
        }
    }

    /// The table named `name`, or BAD_USER_INPUT.
    pub fn table(&self, name: &str) -> AppResult<&TableMeta> {
        self.catalog
            .table(name)
            .ok_or_else(|| AppError::BadUserInput(format!("unknown table `{name}`")))
    }

    /// `SELECT <columns, masked> FROM table AS t0 WHERE <read policy>`: the start of every
    /// read. With `masked` false the raw values are selected (internal use only: audit and
    /// write checks), still only from readable rows.
    pub fn readable_select(
        &self,
        compiler: &Compiler<'_>,
        table: &TableMeta,
        masked: bool,
    ) -> SelectStatement {
        let mut select = self.columns_select(compiler, table, masked);
        select.and_where(compiler.read(table.name, ROOT).into_expr());
        select
    }

    /// `SELECT <columns, masked> FROM table AS t0`, without any condition yet.
    pub(crate) fn columns_select(
        &self,
        compiler: &Compiler<'_>,
        table: &TableMeta,
        masked: bool,
    ) -> SelectStatement {
        let mut select = Query::select();
        select.from_as(Alias::new(table.name), Alias::new(ROOT));
        let policy = self.policies.table(table.name);
        let scope = [Frame::new(table.name, ROOT)];
        for column in &table.columns {
            let value = Expr::col((Alias::new(ROOT), Alias::new(column.name)));
            let mask = (masked && !compiler.bypasses_policies())
                .then(|| policy.and_then(|p| p.masks.iter().find(|(c, _)| c.name == column.name)))
                .flatten();
            match mask.map(|(_, pred)| compiler.pred(pred, &scope)) {
                None | Some(Compiled::True) => {
                    select.expr_as(value, Alias::new(column.name));
                }
                Some(Compiled::False) => {
                    select.expr_as(Expr::cust("NULL"), Alias::new(column.name));
                }
                Some(Compiled::Sql(condition)) => {
                    select.expr_as(
                        Expr::case(condition, value).finally(Expr::cust("NULL")),
                        Alias::new(column.name),
                    );
                }
            }
        }
        select
    }

    /// Rows of `table` the principal may read, filtered, ordered and paged.
    pub async fn list(
        &self,
        principal: &Principal,
        table: &str,
        args: ListArgs<'_>,
    ) -> AppResult<Vec<Row>> {
        let meta = self.table(table)?;
        let compiler = Compiler::new(&self.policies, principal);
        let select = self.list_statement(&compiler, meta, args)?;
        self.fetch(&self.db, &compiler, meta, &select).await
    }

    /// The statement [`Store::list`] runs (exposed for SQL snapshots and EXPLAIN).
    pub fn list_statement(
        &self,
        compiler: &Compiler<'_>,
        meta: &TableMeta,
        args: ListArgs<'_>,
    ) -> AppResult<SelectStatement> {
        let mut select = self.readable_select(compiler, meta, true);
        if let Some(filter) = args.filter {
            select.and_where(filter);
        }
        for order in &args.order {
            if !meta.has(order.column) {
                return Err(AppError::BadUserInput(format!(
                    "unknown column `{}`",
                    order.column
                )));
            }
            select.order_by(
                (Alias::new(ROOT), Alias::new(order.column)),
                direction(order.desc),
            );
        }
        for key in &meta.primary_key {
            if !args.order.iter().any(|o| o.column == *key) {
                select.order_by((Alias::new(ROOT), Alias::new(*key)), Order::Asc);
            }
        }
        if let Some(limit) = args.limit {
            select.limit(limit);
        }
        if let Some(offset) = args.offset {
            select.offset(offset);
        }
        check_compiled(compiler)?;
        Ok(select)
    }

    /// The row of `table` with primary key `key`, if the principal may read it.
    pub async fn find(
        &self,
        principal: &Principal,
        table: &str,
        key: &Row,
    ) -> AppResult<Option<Row>> {
        let meta = self.table(table)?;
        let compiler = Compiler::new(&self.policies, principal);
        let mut select = self.readable_select(&compiler, meta, true);
        select.and_where(key_condition(meta, key, self.backend())?);
        Ok(self
            .fetch(&self.db, &compiler, meta, &select)
            .await?
            .into_iter()
            .next())
    }

    /// The row of `table` with primary key `key`, if the principal may read it and it
    /// matches `filter` (subscription events).
    pub async fn find_where(
        &self,
        principal: &Principal,
        table: &str,
        key: &Row,
        filter_value: Option<&plan::Filter>,
    ) -> AppResult<Option<Row>> {
        let meta = self.table(table)?;
        let compiler = Compiler::new(&self.policies, principal);
        let mut select = self.readable_select(&compiler, meta, true);
        select.and_where(key_condition(meta, key, self.backend())?);
        if let Some(value) = filter_value {
            select.and_where(filter::compile(self, &compiler, meta, ROOT, value, 0)?);
        }
        Ok(self
            .fetch(&self.db, &compiler, meta, &select)
            .await?
            .into_iter()
            .next())
    }

    /// How many rows of `table` the principal may read (with an optional filter).
    pub async fn count(
        &self,
        principal: &Principal,
        table: &str,
        filter: Option<Expr>,
    ) -> AppResult<i64> {
        let meta = self.table(table)?;
        let compiler = Compiler::new(&self.policies, principal);
        let mut select = readable_count(&compiler, meta, "n");
        if let Some(filter) = filter {
            select.and_where(filter);
        }
        check_compiled(&compiler)?;
        let row = self
            .counted_query(&self.db, &select)
            .await?
            .into_iter()
            .next();
        Ok(row
            .map(|r| r.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0))
    }

    async fn fetch(
        &self,
        db: &impl ConnectionTrait,
        compiler: &Compiler<'_>,
        meta: &TableMeta,
        select: &SelectStatement,
    ) -> AppResult<Vec<Row>> {
        Ok(self
            .fetch_counted(db, compiler, meta, select, false)
            .await?
            .0)
    }

    /// [`Self::fetch`], and with `counted` each row's `rg_total` (the count a page's
    /// statement computed beside its rows), in the rows' order.
    async fn fetch_counted(
        &self,
        db: &impl ConnectionTrait,
        compiler: &Compiler<'_>,
        meta: &TableMeta,
        select: &SelectStatement,
        counted: bool,
    ) -> AppResult<(Vec<Row>, Vec<i64>)> {
        check_compiled(compiler)?;
        let results = self.counted_query(db, select).await?;
        let mut rows = Vec::with_capacity(results.len());
        let mut totals = Vec::with_capacity(if counted { results.len() } else { 0 });
        for result in &results {
            rows.push(values::decode_row(result, &meta.columns)?);
            if counted {
                totals.push(result.try_get::<i64>("", batch::TOTAL)?);
            }
        }
        self.redact_copies(db, compiler, meta, &mut rows).await?;
        Ok((rows, totals))
    }

    /// `meta` with only the `wanted` columns (all when `None`), plus what reading them
    /// needs: the table and key columns of copied values ([`crate::policy::CopiedValues`]).
    pub(crate) fn projection(
        &self,
        meta: &TableMeta,
        wanted: Option<&[&'static str]>,
    ) -> TableMeta {
        let copies = self
            .policies
            .table(meta.name)
            .and_then(|p| p.copies.as_ref());
        match (wanted, copies) {
            (Some(wanted), Some(copies))
                if copies.values.iter().any(|c| wanted.contains(&c.name)) =>
            {
                let mut wanted = wanted.to_vec();
                wanted.extend([copies.table.name, copies.key.name]);
                meta.project(Some(&wanted))
            }
            _ => meta.project(wanted),
        }
    }

    /// Replaces each copied row's values ([`crate::policy::CopiedValues`]) the reader may not
    /// see with NULL: a copy shows only while the copied row passes its table's read policy
    /// for the reader (one statement per copied table), and then with that table's masks.
    async fn redact_copies(
        &self,
        db: &impl ConnectionTrait,
        compiler: &Compiler<'_>,
        meta: &TableMeta,
        rows: &mut [Row],
    ) -> AppResult<()> {
        let Some(copies) = self
            .policies
            .table(meta.name)
            .and_then(|p| p.copies.as_ref())
        else {
            return Ok(());
        };
        if compiler.bypasses_policies()
            || rows.is_empty()
            || !copies.values.iter().any(|c| meta.has(c.name))
        {
            return Ok(());
        }
        let text =
            |row: &Row, column: &str| row.get(column).and_then(Json::as_str).map(str::to_owned);
        let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for row in rows.iter() {
            if let (Some(table), Some(key)) =
                (text(row, copies.table.name), text(row, copies.key.name))
            {
                wanted.entry(table).or_default().insert(key);
            }
        }
        let principal = compiler.principal();
        let mut readable: BTreeSet<(String, String)> = BTreeSet::new();
        for (table, keys) in wanted {
            let Some(target) = self.catalog.table(&table) else {
                continue;
            };
            // A row id that does not name a row of the table (written by hand, or by an
            // older schema) names nothing readable: its copies are hidden, the page stays.
            let keys: Vec<Row> = keys
                .iter()
                .filter_map(|key| parse_row_id(target, key))
                .collect();
            let keys_only = target.project(Some(&[]));
            for chunk in keys.chunks(KEYS_PER_STATEMENT) {
                let Some(condition) = keys_condition(target, chunk, self.backend()) else {
                    continue;
                };
                let inner = Compiler::new(&self.policies, principal);
                let mut select = self.readable_select(&inner, &keys_only, false);
                select.and_where(condition);
                check_compiled(&inner)?;
                for found in self.counted_query(db, &select).await? {
                    let found = values::decode_row(&found, &keys_only.columns)?;
                    readable.insert((table.clone(), row_id(target, &found)));
                }
            }
        }
        for row in rows.iter_mut() {
            let copied = match (text(row, copies.table.name), text(row, copies.key.name)) {
                (Some(table), Some(key)) if readable.contains(&(table.clone(), key.clone())) => {
                    self.policies.table(&table)
                }
                _ => None,
            };
            for column in &copies.values {
                let Some(value) = row.get_mut(column.name) else {
                    continue;
                };
                match (copied, value) {
                    (Some(policy), Json::Object(values)) => {
                        for (masked, pred) in &policy.masks {
                            if values.contains_key(masked.name)
                                && eval::pred(pred, principal, values) != Some(true)
                            {
                                values.insert(masked.name.to_owned(), Json::Null);
                            }
                        }
                    }
                    (_, value) => *value = Json::Null,
                }
            }
        }
        Ok(())
    }
}

/// Keys named in one statement when rows are looked up by key (well under the
/// expression and parameter limits of both databases).
const KEYS_PER_STATEMENT: usize = 500;

/// `key IN (…)` for a one-column key, else an OR of each key's columns; keys whose values
/// do not fit their columns are left out. `None` when no key is left.
fn keys_condition(meta: &TableMeta, keys: &[Row], db: sea_orm::DbBackend) -> Option<Expr> {
    if let [name] = meta.primary_key.as_slice() {
        let column = meta.column(name)?;
        let values: Vec<_> = keys
            .iter()
            .filter_map(|key| values::to_value(column, key.get(*name)?, db).ok())
            .collect();
        return (!values.is_empty())
            .then(|| Expr::col((Alias::new(ROOT), Alias::new(*name))).is_in(values));
    }
    keys.iter()
        .filter_map(|key| key_condition(meta, key, db).ok())
        .reduce(ExprTrait::or)
}

/// The text that names a row by its primary key (audit rows' `row_id`): each key column's
/// text, joined by `,`.
pub fn row_id(meta: &TableMeta, row: &Row) -> String {
    meta.primary_key
        .iter()
        .map(|k| match row.get(*k) {
            Some(Json::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The primary key a [`row_id`] names, typed by the key columns; `None` if it does not fit.
fn parse_row_id(meta: &TableMeta, text: &str) -> Option<Row> {
    let parts: Vec<&str> = text.split(',').collect();
    if parts.len() != meta.primary_key.len() {
        return None;
    }
    meta.primary_key
        .iter()
        .zip(parts)
        .map(|(name, part)| {
            let column = meta.column(name)?;
            let value = match column.ty {
                ColType::SmallInt | ColType::Int | ColType::BigInt => {
                    Json::from(part.parse::<i64>().ok()?)
                }
                ColType::Bool => Json::Bool(part.parse().ok()?),
                _ => Json::String(part.to_owned()),
            };
            Some(((*name).to_owned(), value))
        })
        .collect()
}

fn direction(desc: bool) -> Order {
    if desc { Order::Desc } else { Order::Asc }
}

/// A declaration error found while compiling fails the request closed, as INTERNAL.
fn check_compiled(compiler: &Compiler<'_>) -> AppResult<()> {
    let problems = compiler.problems();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AppError::Internal(format!(
            "policy declaration error: {}",
            problems.join("; ")
        )))
    }
}

/// `t0.k1 = $1 AND t0.k2 = $2` for a primary key given as a row.
pub fn key_condition(meta: &TableMeta, key: &Row, db: sea_orm::DbBackend) -> AppResult<Expr> {
    let mut condition: Option<Expr> = None;
    for name in &meta.primary_key {
        let column = meta
            .column(name)
            .ok_or_else(|| AppError::Internal(format!("primary key column {name} missing")))?;
        let json = key.get(*name).ok_or_else(|| {
            AppError::BadUserInput(format!("`{name}` is required to name the row"))
        })?;
        let value = values::to_value(column, json, db)?;
        let term = Expr::col((Alias::new(ROOT), Alias::new(*name))).eq(Expr::val(value));
        condition = Some(match condition {
            Some(c) => c.and(term),
            None => term,
        });
    }
    condition.ok_or_else(|| AppError::Internal(format!("{} has no primary key", meta.name)))
}

/// `SELECT COUNT(*) AS <alias> FROM <table> AS t0 WHERE <read policy>`: where every count of
/// the rows a principal may read starts (a filter is added by the caller).
pub(crate) fn readable_count(
    compiler: &Compiler<'_>,
    meta: &TableMeta,
    alias: &str,
) -> SelectStatement {
    let mut select = Query::select();
    select
        .expr_as(Func::count(Expr::cust("*")), Alias::new(alias))
        .from_as(Alias::new(meta.name), Alias::new(ROOT))
        .and_where(compiler.read(meta.name, ROOT).into_expr());
    select
}
