//! Connection arguments: ordering (primary key appended as tie-breaker), opaque cursors
//! (keyset pagination both ways), `offset`, and the page-size cap.

use async_graphql::Value;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::sea_query::{Alias, Expr, ExprTrait};
use serde_json::json;

use crate::catalog::{ColType, TableMeta};
use crate::error::{AppError, AppResult};
use crate::graphql::names::camel;
use crate::planner::values;
use crate::policy::eval::Row;

fn bad(message: impl Into<String>) -> AppError {
    AppError::BadUserInput(message.into())
}

/// One ordering term.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sort {
    /// Column name.
    pub column: &'static str,
    /// Descending.
    pub desc: bool,
    /// Whether the column admits NULL (its NULLs are then placed explicitly).
    pub nullable: bool,
}

impl Sort {
    /// Adds this ordering of `column` to `statement`. NULL sorts as the largest value on
    /// both databases — last ascending, first descending, PostgreSQL's default, which
    /// SQLite is told explicitly — so that keyset cursors ([`keyset`]) agree with it.
    pub fn order<S: sea_orm::sea_query::OrderedStatement>(
        &self,
        statement: &mut S,
        column: impl sea_orm::sea_query::IntoColumnRef,
    ) {
        use sea_orm::sea_query::{NullOrdering, Order};
        let direction = if self.desc { Order::Desc } else { Order::Asc };
        if self.nullable {
            let nulls = if self.desc {
                NullOrdering::First
            } else {
                NullOrdering::Last
            };
            statement.order_by_with_nulls(column, direction, nulls);
        } else {
            statement.order_by(column, direction);
        }
    }
}

/// The arguments of a connection field, validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListSpec {
    /// The filter input, as canonical JSON text (hashable, for loader keys).
    pub filter: Option<String>,
    /// Ordering with the primary key appended.
    pub order: Vec<Sort>,
    /// How many rows at most (`first` or `last`, capped).
    pub limit: u64,
    /// Whether `last` was asked (rows are fetched in reverse, then flipped).
    pub backwards: bool,
    /// Keyset position, as the JSON text of the ordering values: rows strictly after (or
    /// before, with `backwards`) them.
    pub cursor: Option<String>,
    /// Rows skipped before the page (forward paging only).
    pub offset: u64,
}

impl ListSpec {
    /// The filter as a GraphQL value.
    pub fn filter_value(&self) -> AppResult<Option<Value>> {
        self.filter
            .as_deref()
            .map(|text| {
                let json: serde_json::Value =
                    serde_json::from_str(text).map_err(|e| AppError::Internal(e.to_string()))?;
                Value::from_json(json).map_err(|e| AppError::Internal(e.to_string()))
            })
            .transpose()
    }

    /// The ordering as SQL sees it (reversed when paging backwards).
    pub fn sql_order(&self) -> Vec<Sort> {
        self.order
            .iter()
            .map(|s| Sort {
                desc: s.desc != self.backwards,
                ..s.clone()
            })
            .collect()
    }
}

fn signature(order: &[Sort]) -> Vec<String> {
    order
        .iter()
        .map(|s| format!("{}:{}", s.column, if s.desc { "d" } else { "a" }))
        .collect()
}

/// The opaque cursor of `row` under `order`.
pub fn cursor(order: &[Sort], row: &Row) -> String {
    let values: Vec<_> = order
        .iter()
        .map(|s| {
            row.get(s.column)
                .cloned()
                .unwrap_or(serde_json::Value::Null)
        })
        .collect();
    URL_SAFE_NO_PAD.encode(json!({ "o": signature(order), "v": values }).to_string())
}

fn decode_cursor(order: &[Sort], text: &str) -> AppResult<Vec<serde_json::Value>> {
    let malformed = || bad("malformed cursor");
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|_| malformed())?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
    let sig: Vec<String> = serde_json::from_value(json["o"].clone()).map_err(|_| malformed())?;
    if sig != signature(order) {
        return Err(bad("the cursor belongs to another ordering"));
    }
    let values: Vec<serde_json::Value> =
        serde_json::from_value(json["v"].clone()).map_err(|_| malformed())?;
    // A cursor is ours only if it names the values of a row: nothing a row can hold
    // (a NUL character) or that no column compares with (lists, objects).
    if values.len() != order.len()
        || values
            .iter()
            .any(|v| v.is_array() || v.is_object() || values::contains_nul(v))
    {
        return Err(malformed());
    }
    Ok(values)
}

/// Reads `filter`, `orderBy`, `first`, `after`, `last`, `before`, `offset`.
pub fn parse(
    table: &TableMeta,
    args: &async_graphql::dynamic::ObjectAccessor<'_>,
    cap: u64,
) -> AppResult<ListSpec> {
    let get = |name: &str| args.get(name).filter(|v| !v.is_null());
    let filter = get("filter")
        .map(|v| v.as_value().clone().into_json().map(|j| j.to_string()))
        .transpose()
        .map_err(|_| bad("malformed filter"))?;
    let mut order = Vec::new();
    if let Some(list) = get("orderBy") {
        let items = list.list().map_err(|_| bad("orderBy takes a list"))?;
        for item in items.iter() {
            let name = item
                .enum_name()
                .map_err(|_| bad("orderBy takes enum values"))?;
            let (column, desc) = parse_order_item(table, name)?;
            if !order.iter().any(|s: &Sort| s.column == column) {
                let nullable = table.column(column).is_some_and(|c| c.nullable);
                order.push(Sort {
                    column,
                    desc,
                    nullable,
                });
            }
        }
    }
    // The tie-breaker runs in the direction of the first ordering, so that one index
    // (`created_at DESC, id DESC`) serves the whole ORDER BY without a sort.
    let tie_desc = order.first().is_some_and(|s: &Sort| s.desc);
    for key in &table.primary_key {
        if !order.iter().any(|s| s.column == *key) {
            order.push(Sort {
                column: key,
                desc: tie_desc,
                nullable: false,
            });
        }
    }
    let count = |name: &str| -> AppResult<Option<u64>> {
        match get(name) {
            None => Ok(None),
            Some(v) => {
                let n = v
                    .i64()
                    .map_err(|_| bad(format!("`{name}` must be an integer")))?;
                let n =
                    u64::try_from(n).map_err(|_| bad(format!("`{name}` cannot be negative")))?;
                if n > cap && name != "offset" {
                    return Err(bad(format!("`{name}` is at most {cap}")));
                }
                Ok(Some(n))
            }
        }
    };
    let (first, last, offset) = (
        count("first")?,
        count("last")?,
        count("offset")?.unwrap_or(0),
    );
    if first.is_some() && last.is_some() {
        return Err(bad("use `first` or `last`, not both"));
    }
    let text = |name: &str| get(name).map(|v| v.string().map(str::to_owned)).transpose();
    let after = text("after").map_err(|_| bad("`after` must be a cursor string"))?;
    let before = text("before").map_err(|_| bad("`before` must be a cursor string"))?;
    let backwards = last.is_some() || (before.is_some() && first.is_none());
    let cursor = match (after, before) {
        (Some(_), Some(_)) => return Err(bad("use `after` or `before`, not both")),
        (Some(a), None) if !backwards => {
            Some(serde_json::Value::Array(decode_cursor(&order, &a)?).to_string())
        }
        (None, Some(b)) if backwards => {
            Some(serde_json::Value::Array(decode_cursor(&order, &b)?).to_string())
        }
        (None, None) => None,
        _ => return Err(bad("`after` goes with `first`, `before` with `last`")),
    };
    if backwards && offset > 0 {
        return Err(bad("`offset` goes with `first`"));
    }
    Ok(ListSpec {
        filter,
        order,
        limit: first.or(last).unwrap_or(cap),
        backwards,
        cursor,
        offset,
    })
}

fn parse_order_item(table: &TableMeta, item: &str) -> AppResult<(&'static str, bool)> {
    let (field, desc) = if let Some(f) = item.strip_suffix("_DESC") {
        (f, true)
    } else if let Some(f) = item.strip_suffix("_ASC") {
        (f, false)
    } else {
        return Err(bad(format!("unknown ordering `{item}`")));
    };
    let column = table
        .columns
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(field))
        .ok_or_else(|| bad(format!("unknown ordering `{item}`")))?;
    Ok((column.name, desc))
}

/// The columns a table can be ordered by (all but JSON).
pub fn sortable(table: &TableMeta) -> impl Iterator<Item = &crate::catalog::ColumnMeta> {
    table.columns.iter().filter(|c| c.ty != ColType::Json)
}

/// The keyset condition `(c1, c2, …) > (v1, v2, …)` honouring each column's direction, in
/// the expanded form every database indexes: `c1 > v1 OR (c1 = v1 AND c2 > v2) …`.
pub fn keyset(table: &TableMeta, alias: &str, spec: &ListSpec) -> AppResult<Option<Expr>> {
    let Some(text) = &spec.cursor else {
        return Ok(None);
    };
    let values_: Vec<serde_json::Value> =
        serde_json::from_str(text).map_err(|_| bad("malformed cursor"))?;
    let order = spec.sql_order();
    let mut disjuncts: Vec<Expr> = Vec::new();
    for i in 0..order.len() {
        let mut conj: Vec<Expr> = Vec::new();
        for (j, sort) in order.iter().enumerate().take(i + 1) {
            let column = table
                .column(sort.column)
                .ok_or_else(|| bad(format!("unknown column `{}`", camel(sort.column))))?;
            let c = Expr::col((Alias::new(alias), Alias::new(column.name)));
            let value = &values_[j];
            // NULL is the largest value (see [`Sort::order`]): nothing follows it
            // ascending, every non-NULL value follows it descending.
            conj.push(match (j < i, value.is_null(), sort.desc) {
                (true, true, _) => c.is_null(),
                (false, true, false) => Expr::cust("1=0"),
                (false, true, true) => c.is_not_null(),
                (true, false, _) => c.eq(Expr::val(values::to_value(column, value)?)),
                (false, false, true) => c.lt(Expr::val(values::to_value(column, value)?)),
                (false, false, false) if column.nullable => {
                    let v = Expr::val(values::to_value(column, value)?);
                    c.clone().gt(v).or(c.is_null())
                }
                (false, false, false) => c.gt(Expr::val(values::to_value(column, value)?)),
            });
        }
        if let Some(term) = conj.into_iter().reduce(ExprTrait::and) {
            disjuncts.push(term);
        }
    }
    Ok(disjuncts.into_iter().reduce(ExprTrait::or))
}
