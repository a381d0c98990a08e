//! Connection reads: a page of a root list, and the batched relation loads — one statement
//! per relation per level of a request, whatever the number of parents, with per-parent
//! `first` limits done inside it by a window function. The related table's read policy is
//! applied inside every one of them.

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::sea_query::{
    Alias, Asterisk, Expr, ExprTrait, Func, Order, Query, SelectStatement, WindowStatement,
};
use serde_json::{Map, Value as Json};

use super::page::{ListSpec, keyset};
use super::{ROOT, Store, check_compiled, filter, values};
use crate::catalog::{ColType, ForeignKey, TableMeta};
use crate::error::{AppError, AppResult};
use crate::policy::Principal;
use crate::policy::compile::Compiler;
use crate::policy::eval::Row;

/// The row-number column of windowed loads.
const RANK: &str = "rg_rank";

/// The column of a page's total count, read in the page's own statement.
pub(super) const TOTAL: &str = "rg_total";

/// The group key column of grouped aggregates.
const GROUP: &str = "rg_group";

/// The result columns the engine's statements add beside a table's own: no table may have
/// a column of these names (the application refuses to build).
pub(crate) const RESULT_COLUMNS: [&str; 3] = [RANK, TOTAL, GROUP];

/// A page of rows and whether more follow in the direction of paging.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The rows, in the requested order (shared: a page handed to several waiters of one
    /// batch is not copied row by row).
    pub rows: Vec<Arc<Row>>,
    /// More rows exist beyond the page.
    pub more: bool,
    /// The number of rows the connection's filter selects (its `totalCount`), when the
    /// page's statement counted them; `None` when it did not (then a count statement asks).
    pub total: Option<i64>,
}

/// Whether a relation load can count each parent's rows beside its pages: the window counts
/// the rows of the statement, which a cursor's keyset condition narrows.
fn countable(spec: &ListSpec) -> bool {
    spec.cursor.is_none()
}

/// Whether a page skipped no row of its connection (no offset, no cursor): then a page
/// without rows means a connection without rows.
fn skips_nothing(spec: &ListSpec) -> bool {
    spec.offset == 0 && spec.cursor.is_none()
}

/// The total a page's statement counted, from the counts beside the rows it returned; with
/// no row, zero when the page skipped nothing, otherwise unknown.
fn counted_total(totals: &[i64], spec: &ListSpec) -> Option<i64> {
    match totals.first() {
        Some(total) => Some(*total),
        None if skips_nothing(spec) => Some(0),
        None => None,
    }
}

/// Aggregates of a set of rows: `{count, sum, avg, min, max}` keyed by column.
pub type Aggregate = Map<String, Json>;

/// The text form of a key value, for grouping (UUIDs and strings as they are).
pub fn key_text(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Store {
    fn apply_filter(
        &self,
        compiler: &Compiler<'_>,
        meta: &TableMeta,
        select: &mut SelectStatement,
        spec_filter: Option<&super::plan::Filter>,
    ) -> AppResult<()> {
        if let Some(value) = spec_filter {
            select.and_where(filter::compile(self, compiler, meta, ROOT, value, 0)?);
        }
        Ok(())
    }

    fn apply_spec(
        &self,
        compiler: &Compiler<'_>,
        meta: &TableMeta,
        select: &mut SelectStatement,
        spec: &ListSpec,
    ) -> AppResult<()> {
        self.apply_filter(compiler, meta, select, spec.filter.as_ref())?;
        if let Some(condition) = keyset(meta, ROOT, spec, self.backend())? {
            select.and_where(condition);
        }
        for sort in &spec.order {
            let column = meta.column(sort.column).ok_or_else(|| {
                AppError::BadUserInput(format!("unknown column `{}`", sort.column))
            })?;
            filter::check_unmasked(self, compiler, meta, column)?;
        }
        Ok(())
    }

    /// A page of `table` for the root connection; with `total`, its statement also counts
    /// the rows the filter selects when it can (one statement for `nodes` and `totalCount`).
    pub async fn page(
        &self,
        principal: &Principal,
        table: &str,
        spec: &ListSpec,
        columns: Option<&[&'static str]>,
        total: bool,
    ) -> AppResult<Page> {
        let meta = self.table(table)?;
        let projection = self.projection(meta, columns);
        let compiler = Compiler::new(&self.policies, principal);
        let select = self.page_select(&compiler, meta, &projection, spec, total)?;
        let (mut rows, totals) = self
            .fetch_counted(&self.db, &compiler, &projection, &select, total)
            .await?;

        let more = rows.len() as u64 > spec.limit;
        rows.truncate(usize::try_from(spec.limit).unwrap_or(usize::MAX));
        if spec.backwards {
            rows.reverse();
        }
        let total = if total {
            counted_total(&totals, spec)
        } else {
            None
        };
        Ok(Page {
            rows: rows.into_iter().map(Arc::new).collect(),
            more,
            total,
        })
    }

    /// Readable rows of `table` whose `column` is one of `keys` (to-one relations), keyed
    /// by the text of that column.
    pub async fn rows_by(
        &self,
        principal: &Principal,
        table: &str,
        column: &str,
        keys: &[Json],
        columns: Option<&[&'static str]>,
    ) -> AppResult<HashMap<String, Row>> {
        let meta = self.table(table)?;
        let projection = self.projection(meta, columns);
        let key_column = meta
            .column(column)
            .ok_or_else(|| AppError::Internal(format!("{table}.{column} missing")))?;
        let compiler = Compiler::new(&self.policies, principal);
        let mut select = self.columns_select(&compiler, &projection, true);
        select.and_where(compiler.read(meta.name, ROOT).into_expr());
        let values_ = keys
            .iter()
            .map(|k| values::to_value(key_column, k, self.backend()))
            .collect::<AppResult<Vec<_>>>()?;
        select.and_where(Expr::col((Alias::new(ROOT), Alias::new(column))).is_in(values_));
        let rows = self
            .fetch(&self.db, &compiler, &projection, &select)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (key_text(row.get(column).unwrap_or(&Json::Null)), row))
            .collect())
    }

    /// Pages of the rows of `fk.table` referencing each parent key (to-many relations), in
    /// one statement: `ROW_NUMBER() OVER (PARTITION BY fk ORDER BY …)` limits each parent;
    /// with `total`, `COUNT(*) OVER (PARTITION BY fk)` counts each parent's rows in the same
    /// statement when it can.
    pub async fn children(
        &self,
        principal: &Principal,
        fk: &ForeignKey,
        spec: &ListSpec,
        parents: &[Json],
        columns: Option<&[&'static str]>,
        total: bool,
    ) -> AppResult<HashMap<String, Page>> {
        let meta = self.table(fk.table)?;
        let projection = self.projection(meta, columns);
        let fk_column = meta
            .column(fk.column)
            .ok_or_else(|| AppError::Internal(format!("{}.{} missing", fk.table, fk.column)))?;
        let parent_values = parents
            .iter()
            .map(|k| values::to_value(fk_column, k, self.backend()))
            .collect::<AppResult<Vec<_>>>()?;
        let compiler = Compiler::new(&self.policies, principal).with_key_hint(
            crate::policy::Col {
                table: meta.name,
                name: fk_column.name,
            },
            parent_values.clone(),
        );
        let mut inner = self.columns_select(&compiler, &projection, true);
        inner.and_where(compiler.read(meta.name, ROOT).into_expr());
        self.apply_spec(&compiler, meta, &mut inner, spec)?;
        inner.and_where(Expr::col((Alias::new(ROOT), Alias::new(fk.column))).is_in(parent_values));
        let mut window = WindowStatement::partition_by((Alias::new(ROOT), Alias::new(fk.column)));
        for sort in spec.sql_order() {
            sort.order(&mut window, self.backend(), ROOT);
        }
        inner.expr_window_as(
            Func::cust(Alias::new("ROW_NUMBER")),
            window,
            Alias::new(RANK),
        );
        let counted = total && countable(spec);
        if counted {
            inner.expr_window_as(
                Func::count(Expr::cust("*")),
                WindowStatement::partition_by((Alias::new(ROOT), Alias::new(fk.column))),
                Alias::new(TOTAL),
            );
        }

        let mut outer = Query::select();
        outer
            .column(Asterisk)
            .from_subquery(inner, Alias::new("w"))
            .and_where(Expr::col((Alias::new("w"), Alias::new(RANK))).gt(spec.offset))
            .and_where(
                Expr::col((Alias::new("w"), Alias::new(RANK))).lte(spec.offset + spec.limit + 1),
            )
            .order_by((Alias::new("w"), Alias::new(fk.column)), Order::Asc)
            .order_by((Alias::new("w"), Alias::new(RANK)), Order::Asc);
        let (rows, totals) = self
            .fetch_counted(&self.db, &compiler, &projection, &outer, counted)
            .await?;

        let limit = usize::try_from(spec.limit).unwrap_or(usize::MAX);
        let mut pages: HashMap<String, Page> = HashMap::new();
        // A parent without rows has none at all only when nothing was skipped.
        if counted && skips_nothing(spec) {
            for parent in parents {
                pages.entry(key_text(parent)).or_default().total = Some(0);
            }
        }
        for (i, row) in rows.into_iter().enumerate() {
            let page = pages
                .entry(key_text(row.get(fk.column).unwrap_or(&Json::Null)))
                .or_default();
            if counted {
                page.total = totals.get(i).copied();
            }
            if page.rows.len() < limit {
                page.rows.push(Arc::new(row));
            } else {
                page.more = true;
            }
        }
        if spec.backwards {
            for page in pages.values_mut() {
                page.rows.reverse();
            }
        }
        Ok(pages)
    }

    /// Aggregates over the readable rows of `table` matching `filter`; grouped by
    /// `group.0` for the parent keys `group.1` (to-many relations), or one group `""`.
    pub async fn aggregate(
        &self,
        principal: &Principal,
        table: &str,
        filter_value: Option<&super::plan::Filter>,
        group: Option<(&str, &[Json])>,
        count_only: bool,
    ) -> AppResult<HashMap<String, Aggregate>> {
        let meta = self.table(table)?;
        let mut compiler = Compiler::new(&self.policies, principal);
        if let Some((column, parents)) = group
            && let Some(key_column) = meta.column(column)
        {
            let hint = parents
                .iter()
                .map(|k| values::to_value(key_column, k, self.backend()))
                .collect::<AppResult<Vec<_>>>()?;
            compiler = compiler.with_key_hint(
                crate::policy::Col {
                    table: meta.name,
                    name: key_column.name,
                },
                hint,
            );
        }
        let mut select = super::readable_count(&compiler, meta, "count");
        self.apply_filter(&compiler, meta, &mut select, filter_value)?;
        let mut outputs: Vec<(String, &str, &'static str, ColType)> = Vec::new();
        let soft_delete = self.policies.table(meta.name).and_then(|p| p.soft_delete);
        for column in meta.columns.iter().filter(|_| !count_only) {
            if soft_delete.is_some_and(|c| c.name == column.name) {
                continue;
            }
            let numeric = matches!(
                column.ty,
                ColType::SmallInt | ColType::Int | ColType::BigInt
            );
            let ordered = numeric || column.ty == ColType::Timestamp;
            if !ordered
                || self
                    .policies
                    .table(meta.name)
                    .is_some_and(|p| p.masks.iter().any(|(c, _)| c.name == column.name))
            {
                continue;
            }
            let c = || Expr::col((Alias::new(ROOT), Alias::new(column.name)));
            let mut push = |kind: &'static str, expr: Expr, ty: ColType| {
                let alias = format!("{kind}__{}", column.name);
                select.expr_as(expr, Alias::new(alias.clone()));
                outputs.push((alias, kind, column.name, ty));
            };
            push("min", Func::min(c()).into(), column.ty);
            push("max", Func::max(c()).into(), column.ty);
            if numeric {
                push("sum", Func::sum(c()).into(), ColType::BigInt);
                push(
                    "avg",
                    Func::cast_as(Func::avg(c()), Alias::new("DOUBLE PRECISION")).into(),
                    ColType::Json,
                );
            }
        }
        if let Some((column, parents)) = group {
            let key_column = meta
                .column(column)
                .ok_or_else(|| AppError::Internal(format!("{table}.{column} missing")))?;
            let parent_values = parents
                .iter()
                .map(|k| values::to_value(key_column, k, self.backend()))
                .collect::<AppResult<Vec<_>>>()?;
            select
                .expr_as(
                    Expr::col((Alias::new(ROOT), Alias::new(column))),
                    Alias::new(GROUP),
                )
                .and_where(Expr::col((Alias::new(ROOT), Alias::new(column))).is_in(parent_values))
                .group_by_col((Alias::new(ROOT), Alias::new(column)));
        }
        check_compiled(&compiler)?;
        let rows = self.counted_query(&self.db, &select).await?;
        let mut out = HashMap::new();
        for row in rows {
            let key = match group {
                Some((column, _)) => {
                    let ty = meta.column(column).map_or(ColType::Text, |c| c.ty);
                    key_text(&values::column_json(&row, GROUP, ty)?)
                }
                None => String::new(),
            };
            let mut aggregate = Aggregate::new();
            aggregate.insert("count".into(), Json::from(row.try_get::<i64>("", "count")?));
            for (alias, kind, column, ty) in &outputs {
                let value = match (*kind, ty) {
                    ("avg", _) => row
                        .try_get::<Option<f64>>("", alias)
                        .ok()
                        .flatten()
                        .map_or(Json::Null, Json::from),
                    ("sum", _) => aggregate_sum(&row, alias),
                    _ => values::column_json(&row, alias, *ty).unwrap_or(Json::Null),
                };
                let entry = aggregate
                    .entry((*kind).to_owned())
                    .or_insert_with(|| Json::Object(Map::new()));
                if let Json::Object(map) = entry {
                    map.insert((*column).to_owned(), value);
                }
            }
            out.insert(key, aggregate);
        }
        Ok(out)
    }
}

/// A SUM is BIGINT on SQLite and NUMERIC on PostgreSQL.
fn aggregate_sum(row: &sea_orm::QueryResult, alias: &str) -> Json {
    if let Ok(Some(v)) = row.try_get::<Option<i64>>("", alias) {
        return Json::from(v);
    }
    if let Ok(Some(v)) = row.try_get::<Option<f64>>("", alias) {
        return Json::from(v);
    }
    Json::Null
}

impl Store {
    /// The statement of a root connection page. When the read policy splits into several
    /// branches (an OR of owner / public / tenant / … rules), it runs as a UNION of one
    /// ordered, limited subquery per branch — each served by its own (partial) index — and
    /// the union is ordered and limited again; otherwise as one statement.
    pub fn page_statement(
        &self,
        compiler: &Compiler<'_>,
        meta: &TableMeta,
        projection: &TableMeta,
        spec: &ListSpec,
    ) -> AppResult<SelectStatement> {
        self.page_select(compiler, meta, projection, spec, false)
    }

    /// [`Self::page_statement`]; with `total`, every row also carries the number of rows
    /// the read policy and the filter select (`rg_total`): an uncorrelated scalar subquery,
    /// which PostgreSQL and SQLite run once, leaving the page's own ordered, limited scan
    /// as it is — a window count would read every matching row before the `LIMIT`.
    fn page_select(
        &self,
        compiler: &Compiler<'_>,
        meta: &TableMeta,
        projection: &TableMeta,
        spec: &ListSpec,
        total: bool,
    ) -> AppResult<SelectStatement> {
        let order = spec.sql_order();
        let count = if total {
            let mut count = super::readable_count(compiler, meta, "count");
            self.apply_filter(compiler, meta, &mut count, spec.filter.as_ref())?;
            Some(Expr::SubQuery(None, Box::new(count.into())))
        } else {
            None
        };
        let Some(branches) = compiler.read_branches(meta.name, ROOT) else {
            let mut select = self.columns_select(compiler, projection, true);
            select.and_where(compiler.read(meta.name, ROOT).into_expr());
            self.apply_spec(compiler, meta, &mut select, spec)?;
            if let Some(count) = count {
                select.expr_as(count, Alias::new(TOTAL));
            }
            for sort in &order {
                sort.order(&mut select, self.backend(), ROOT);
            }
            select.limit(spec.limit + 1).offset(spec.offset);
            return Ok(select);
        };
        let per_branch = spec.offset + spec.limit + 1;
        let mut union: Option<SelectStatement> = None;
        for (i, branch) in branches.into_iter().enumerate() {
            let mut select = self.columns_select(compiler, projection, true);
            select.and_where(branch.condition);
            self.apply_spec(compiler, meta, &mut select, spec)?;
            for sort in &order {
                sort.order(&mut select, self.backend(), ROOT);
            }
            // A branch joined to another table (community posts) is driven by those few
            // joined rows; ordering and limiting it alone would walk the whole index.
            if !branch.relational {
                select.limit(per_branch);
            } else {
                select.clear_order_by();
            }
            // Each branch is wrapped so that its ORDER BY and LIMIT stay its own (SQLite
            // allows neither directly inside a compound SELECT).
            let mut wrapped = Query::select();
            wrapped
                .column(Asterisk)
                .from_subquery(select, Alias::new(format!("b{i}")));
            union = Some(match union {
                None => wrapped,
                Some(mut acc) => {
                    acc.union(sea_orm::sea_query::UnionType::Distinct, wrapped);
                    acc
                }
            });
        }
        let union = union.ok_or_else(|| AppError::Internal("no branch".into()))?;
        let mut outer = Query::select();
        outer.column(Asterisk).from_subquery(union, Alias::new("u"));
        if let Some(count) = count {
            outer.expr_as(count, Alias::new(TOTAL));
        }
        for sort in &order {
            sort.order(&mut outer, self.backend(), "u");
        }
        outer.limit(spec.limit + 1).offset(spec.offset);
        Ok(outer)
    }
}
