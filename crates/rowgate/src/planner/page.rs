//! Connection arguments: ordering (primary key appended as tie-breaker), opaque cursors
//! (keyset pagination both ways), `offset`, and the page-size cap.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::DbBackend;
use sea_orm::sea_query::{Alias, Expr, ExprTrait};
use serde_json::json;

use crate::catalog::{ColType, ColumnMeta, TableMeta};
use crate::error::{AppError, AppResult};
use crate::graphql::names::camel;
use crate::planner::plan::{Filter, Operand};
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
    /// The values of a native enumeration column in their declared order, which is its
    /// order (see [`Sort::expr`]); `None` for every other column.
    pub declared: Option<&'static [&'static str]>,
}

impl Sort {
    /// The ordering by `column`, descending or not.
    pub fn of(column: &ColumnMeta, desc: bool) -> Self {
        Self {
            column: column.name,
            desc,
            nullable: column.nullable,
            declared: match column.ty {
                ColType::Enum(_) => column.enum_values,
                _ => None,
            },
        }
    }

    /// What the rows are ordered by: the column of the table aliased `alias`; for a native
    /// enumeration on SQLite, where it is text, its value's position in the declared order
    /// (a CASE), which is the order PostgreSQL gives the enum type itself.
    pub fn expr(&self, db: DbBackend, alias: &str) -> Expr {
        let column = Expr::col((Alias::new(alias), Alias::new(self.column)));
        match self.declared {
            Some(values) if db != DbBackend::Postgres && !values.is_empty() => {
                let position =
                    |i: usize| Expr::Constant(i64::try_from(i).unwrap_or(i64::MAX).into());
                let text = |v: &str| Expr::Constant(v.to_owned().into());
                let mut case = Expr::case(column.clone().eq(text(values[0])), position(0));
                for (i, value) in values.iter().enumerate().skip(1) {
                    case = case.case(column.clone().eq(text(value)), position(i));
                }
                case.into()
            }
            _ => column,
        }
    }

    /// The value [`Sort::expr`] compares with for a row whose column holds `value` (a
    /// cursor's): its position for a native enumeration on SQLite, else the value itself.
    fn operand(
        &self,
        column: &ColumnMeta,
        value: &serde_json::Value,
        db: DbBackend,
    ) -> AppResult<sea_orm::sea_query::Value> {
        match self.declared {
            Some(values) if db != DbBackend::Postgres => values
                .iter()
                .position(|v| value.as_str() == Some(*v))
                .and_then(|i| i64::try_from(i).ok())
                .map(Into::into)
                .ok_or_else(|| bad("malformed cursor")),
            _ => values::to_value(column, value, db),
        }
    }

    /// Adds this ordering of the table aliased `alias` to `statement`. NULL sorts as the
    /// largest value on both databases — last ascending, first descending, PostgreSQL's
    /// default, which SQLite is told explicitly — so that keyset cursors ([`keyset`]) agree
    /// with it.
    pub fn order<S: sea_orm::sea_query::OrderedStatement>(
        &self,
        statement: &mut S,
        db: DbBackend,
        alias: &str,
    ) {
        use sea_orm::sea_query::{NullOrdering, Order};
        let direction = if self.desc { Order::Desc } else { Order::Asc };
        let expr = self.expr(db, alias);
        if self.nullable {
            let nulls = if self.desc {
                NullOrdering::First
            } else {
                NullOrdering::Last
            };
            statement.order_by_expr_with_nulls(expr, direction, nulls);
        } else {
            statement.order_by_expr(expr, direction);
        }
    }
}

/// The arguments of a connection field, validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListSpec {
    /// The filter.
    pub filter: Option<Filter>,
    /// Ordering with the primary key appended.
    pub order: Vec<Sort>,
    /// How many rows at most (`first` or `last`, capped).
    pub limit: u64,
    /// Whether `last` was asked (rows are fetched in reverse, then flipped).
    pub backwards: bool,
    /// Keyset position, the ordering's values: rows strictly after (or before, with
    /// `backwards`) them.
    pub cursor: Option<Vec<Operand>>,
    /// Rows skipped before the page (forward paging only).
    pub offset: u64,
}

impl ListSpec {
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

/// The ordering values a cursor of `order` holds (BAD_USER_INPUT for one of another
/// ordering, or not ours).
pub fn decode_cursor(order: &[Sort], text: &str) -> AppResult<Vec<serde_json::Value>> {
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

/// The columns a table can be ordered by: all but JSON documents, binary data and arrays,
/// which have no order both databases share.
pub fn sortable(table: &TableMeta) -> impl Iterator<Item = &ColumnMeta> {
    table
        .columns
        .iter()
        .filter(|c| !matches!(c.ty, ColType::Json | ColType::Binary | ColType::Array(_)))
}

/// The keyset condition `(c1, c2, …) > (v1, v2, …)` honouring each column's direction, in
/// the expanded form every database indexes: `c1 > v1 OR (c1 = v1 AND c2 > v2) …`.
pub fn keyset(
    table: &TableMeta,
    alias: &str,
    spec: &ListSpec,
    db: DbBackend,
) -> AppResult<Option<Expr>> {
    let Some(values_) = &spec.cursor else {
        return Ok(None);
    };
    let order = spec.sql_order();
    let mut disjuncts: Vec<Expr> = Vec::new();
    for i in 0..order.len() {
        let mut conj: Vec<Expr> = Vec::new();
        for (j, sort) in order.iter().enumerate().take(i + 1) {
            let column = table
                .column(sort.column)
                .ok_or_else(|| bad(format!("unknown column `{}`", camel(sort.column))))?;
            let c = sort.expr(db, alias);
            let value = &values_[j].0;
            let v = || sort.operand(column, value, db).map(Expr::val);
            // NULL is the largest value (see [`Sort::order`]): nothing follows it
            // ascending, every non-NULL value follows it descending.
            conj.push(match (j < i, value.is_null(), sort.desc) {
                (true, true, _) => c.is_null(),
                (false, true, false) => Expr::cust("1=0"),
                (false, true, true) => c.is_not_null(),
                (true, false, _) => c.eq(v()?),
                (false, false, true) => c.lt(v()?),
                (false, false, false) if column.nullable => c.clone().gt(v()?).or(c.is_null()),
                (false, false, false) => c.gt(v()?),
            });
        }
        if let Some(term) = conj.into_iter().reduce(ExprTrait::and) {
            disjuncts.push(term);
        }
    }
    Ok(disjuncts.into_iter().reduce(ExprTrait::or))
}
