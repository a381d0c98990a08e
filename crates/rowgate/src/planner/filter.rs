//! `XFilter` inputs to SQL conditions.
//!
//! Filters through a relation are `EXISTS` subqueries that carry the related table's whole
//! read policy: filtering posts by the body of a comment the principal cannot see matches
//! nothing, so it cannot reveal that the comment exists. A filter on a column the principal
//! may see only masked is refused (BAD_USER_INPUT), since matching on it would reveal it.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};

use crate::catalog::{ColType, ColumnMeta, ForeignKey, TableMeta};
use crate::error::{AppError, AppResult};
use crate::graphql::names::camel;
use crate::planner::plan::{ColumnOp, Filter, Operand, Quantifier};
use crate::planner::{Store, values};
use crate::policy::compile::{Compiled, Compiler};

fn bad(message: impl Into<String>) -> AppError {
    AppError::BadUserInput(message.into())
}

/// Compiles `filter` on `table` aliased `alias`, under the principal's policies: a column
/// the principal may see only masked cannot be filtered on, and a related row counts only
/// if it is readable. `depth` names the subqueries' aliases.
pub fn compile(
    store: &Store,
    compiler: &Compiler<'_>,
    table: &TableMeta,
    alias: &str,
    filter: &Filter,
    depth: usize,
) -> AppResult<Expr> {
    let nested = |part: &Filter| compile(store, compiler, table, alias, part, depth + 1);
    Ok(match filter {
        Filter::All(parts) => all_of(parts.iter().map(nested).collect::<AppResult<_>>()?),
        Filter::Any(parts) => parts
            .iter()
            .map(nested)
            .collect::<AppResult<Vec<_>>>()?
            .into_iter()
            .reduce(ExprTrait::or)
            .unwrap_or_else(|| Expr::cust("1=0")),
        Filter::Not(part) => nested(part)?.not(),
        Filter::Column { column, op } => {
            let column = table
                .column(column)
                .ok_or_else(|| bad(format!("unknown filter field `{}`", camel(column))))?;
            check_unmasked(store, compiler, table, column)?;
            column_filter(store, alias, column, op)?
        }
        Filter::ToOne { column, filter } => {
            let fk = table
                .foreign_keys
                .iter()
                .find(|fk| fk.column == *column)
                .ok_or_else(|| {
                    AppError::Internal(format!("{}.{column} is no relation", table.name))
                })?;
            to_one(store, compiler, alias, fk, filter, depth)?
        }
        Filter::ToMany {
            table: child,
            column,
            quantifier,
            filter,
        } => {
            let fk = store
                .table(child)?
                .foreign_keys
                .iter()
                .find(|fk| fk.column == *column && fk.ref_table == table.name)
                .copied()
                .ok_or_else(|| AppError::Internal(format!("{child}.{column} is no relation")))?;
            to_many(store, compiler, alias, &fk, *quantifier, filter, depth)?
        }
    })
}

/// Refuses filtering (or ordering) on a column the principal may see only masked.
pub fn check_unmasked(
    store: &Store,
    compiler: &Compiler<'_>,
    table: &TableMeta,
    column: &ColumnMeta,
) -> AppResult<()> {
    let Some(policy) = store
        .policies
        .table(table.name)
        .filter(|_| !compiler.bypasses_policies())
    else {
        return Ok(());
    };
    if policy
        .copies
        .as_ref()
        .is_some_and(|copies| copies.values.iter().any(|c| c.name == column.name))
    {
        return Err(bad(format!(
            "`{}` cannot be used to filter or order: it copies rows not every reader may read",
            camel(column.name)
        )));
    }
    if let Some((_, pred)) = policy.masks.iter().find(|(c, _)| c.name == column.name) {
        let scope = [crate::policy::compile::Frame::new(table.name, "m")];
        if compiler.pred(pred, &scope) != Compiled::True {
            return Err(bad(format!(
                "`{}` cannot be used to filter or order here: it is not readable on every row",
                camel(column.name)
            )));
        }
    }
    Ok(())
}

fn col(alias: &str, column: &str) -> Expr {
    Expr::col((Alias::new(alias), Alias::new(column)))
}

/// A bind parameter of the column's type.
fn operand(
    store: &Store,
    column: &ColumnMeta,
    operand: &Operand,
) -> AppResult<sea_orm::sea_query::Value> {
    values::to_value(
        &ColumnMeta {
            nullable: false,
            ..column.clone()
        },
        &operand.0,
        store.backend(),
    )
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn column_filter(
    store: &Store,
    alias: &str,
    column: &ColumnMeta,
    op: &ColumnOp,
) -> AppResult<Expr> {
    let c = || col(alias, column.name);
    let value = |o: &Operand| operand(store, column, o).map(Expr::val);
    let list = |items: &[Operand]| {
        items
            .iter()
            .map(|o| operand(store, column, o))
            .collect::<AppResult<Vec<_>>>()
    };
    let like = |text: String| sea_orm::sea_query::LikeExpr::new(text).escape('\\');
    Ok(match op {
        ColumnOp::ArrayContains(o) => array_filter(store, alias, column, "contains", o)?,
        ColumnOp::ArrayContainedBy(o) => array_filter(store, alias, column, "containedBy", o)?,
        ColumnOp::ArrayOverlaps(o) => array_filter(store, alias, column, "overlaps", o)?,
        ColumnOp::Eq(o) => c().eq(value(o)?),
        ColumnOp::Neq(o) => c().ne(value(o)?),
        ColumnOp::Gt(o) => c().gt(value(o)?),
        ColumnOp::Gte(o) => c().gte(value(o)?),
        ColumnOp::Lt(o) => c().lt(value(o)?),
        ColumnOp::Lte(o) => c().lte(value(o)?),
        ColumnOp::In(items) => c().is_in(list(items)?),
        ColumnOp::NotIn(items) => c().is_not_in(list(items)?),
        ColumnOp::IsNull(true) => c().is_null(),
        ColumnOp::IsNull(false) => c().is_not_null(),
        ColumnOp::Like(pattern) => c().like(like(pattern.clone())),
        ColumnOp::ILike(pattern) => Expr::expr(Func::lower(c())).like(like(pattern.to_lowercase())),
        ColumnOp::StartsWith(text) => c().like(like(format!("{}%", escape_like(text)))),
        ColumnOp::Contains(text) => c().like(like(format!("%{}%", escape_like(text)))),
        ColumnOp::HasKey(key) => json_has_key(store, alias, column.name, key),
        ColumnOp::JsonContains(o) => json_contains(store, alias, column, o)?,
    })
}

fn is_postgres(store: &Store) -> bool {
    store.backend() == sea_orm::DbBackend::Postgres
}

/// `contains` (every given element is in the array), `containedBy` (every element of the
/// array is given) and `overlaps` (some element is given) of an array column: PostgreSQL's
/// `@>`, `<@` and `&&`; on SQLite, where the array is JSON text, the same over its
/// `json_each` elements. A NULL array matches none of them.
fn array_filter(
    store: &Store,
    alias: &str,
    column: &ColumnMeta,
    op: &str,
    elements: &Operand,
) -> AppResult<Expr> {
    let json = &elements.0;
    let c = || col(alias, column.name);
    if is_postgres(store) {
        let list = values::to_value(column, json, store.backend())?;
        let operator = match op {
            "contains" => "$1 @> $2",
            "containedBy" => "$1 <@ $2",
            _ => "$1 && $2",
        };
        // A list of strings is a `text[]`, which PostgreSQL compares with no `varchar[]`
        // (the entity does not say which of the two the column is); a `text[]` column's
        // cast to itself is no cast at all, and keeps its index.
        let array = match column.ty {
            ColType::Array(ColType::Text) => Expr::cust_with_exprs("CAST($1 AS text[])", [c()]),
            _ => c(),
        };
        return Ok(Expr::cust_with_exprs(operator, [array, Expr::val(list)]));
    }
    let items: Vec<sea_orm::sea_query::Value> = values::array_elements(column, json)?
        .iter()
        .map(sqlite_element)
        .collect();
    let elements = |condition: Expr| {
        Expr::cust_with_exprs(
            "EXISTS (SELECT 1 FROM json_each(?) WHERE ?)",
            [c(), condition],
        )
    };
    let value_ = || Expr::cust("value");
    Ok(match op {
        "contains" => all_of(
            std::iter::once(c().is_not_null())
                .chain(
                    items
                        .into_iter()
                        .map(|item| elements(value_().eq(Expr::val(item)))),
                )
                .collect(),
        ),
        "containedBy" if items.is_empty() => c()
            .is_not_null()
            .and(Expr::cust_with_exprs("json_array_length(?) = 0", [c()])),
        "containedBy" => c()
            .is_not_null()
            .and(elements(value_().is_not_in(items)).not()),
        _ if items.is_empty() => Expr::cust("1=0"),
        _ => elements(value_().is_in(items)),
    })
}

/// An array element as SQLite's `json_each` gives it: text as text, integers as integers,
/// booleans as 1 and 0.
fn sqlite_element(element: &serde_json::Value) -> sea_orm::sea_query::Value {
    use serde_json::Value as J;
    match element {
        J::Bool(b) => i64::from(*b).into(),
        J::Number(n) => n.as_i64().unwrap_or_default().into(),
        J::String(s) => s.clone().into(),
        other => other.to_string().into(),
    }
}

fn json_has_key(store: &Store, alias: &str, column: &str, key: &str) -> Expr {
    if is_postgres(store) {
        Expr::cust_with_exprs(
            "jsonb_exists($1, $2)",
            [col(alias, column), Expr::val(key.to_owned())],
        )
    } else {
        Expr::cust_with_exprs(
            "json_type(?, ?) IS NOT NULL",
            [
                col(alias, column),
                Expr::val(format!("$.\"{}\"", key.replace('"', ""))),
            ],
        )
    }
}

fn json_contains(
    store: &Store,
    alias: &str,
    column: &ColumnMeta,
    contained: &Operand,
) -> AppResult<Expr> {
    let json = contained.0.clone();
    let column = column.name;
    if is_postgres(store) {
        return Ok(Expr::cust_with_exprs(
            "$1 @> $2",
            [
                col(alias, column),
                Expr::val(sea_orm::sea_query::Value::Json(Some(Box::new(json)))),
            ],
        ));
    }
    // SQLite: containment of an object of scalars, key by key.
    let serde_json::Value::Object(map) = json else {
        return Err(bad(
            "on SQLite, JSON `contains` takes an object of scalar values",
        ));
    };
    let mut terms = Vec::new();
    for (key, v) in map {
        let path = format!("$.\"{}\"", key.replace('"', ""));
        let extracted =
            Expr::cust_with_exprs("json_extract(?, ?)", [col(alias, column), Expr::val(path)]);
        let term = match v {
            serde_json::Value::String(s) => extracted.eq(Expr::val(s)),
            serde_json::Value::Bool(b) => extracted.eq(Expr::val(i32::from(b))),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => extracted.eq(Expr::val(i)),
                None => extracted.eq(Expr::val(n.as_f64().unwrap_or_default())),
            },
            serde_json::Value::Null => extracted.is_null(),
            _ => {
                return Err(bad(
                    "on SQLite, JSON `contains` takes an object of scalar values",
                ));
            }
        };
        terms.push(term);
    }
    Ok(all_of(terms))
}

/// The conjunction of `terms` (true when there is none).
fn all_of(terms: Vec<Expr>) -> Expr {
    terms
        .into_iter()
        .reduce(ExprTrait::and)
        .unwrap_or_else(|| Expr::cust("1=1"))
}

fn fresh_alias(depth: usize) -> String {
    format!("f{depth}_{}", uuid::Uuid::new_v4().simple())
}

/// `author: { … }`: the referenced row exists, is readable, and matches.
fn to_one(
    store: &Store,
    compiler: &Compiler<'_>,
    alias: &str,
    fk: &ForeignKey,
    filter: &Filter,
    depth: usize,
) -> AppResult<Expr> {
    let parent = store.table(fk.ref_table)?;
    let inner = fresh_alias(depth);
    let mut select = readable_related(
        compiler,
        parent,
        &inner,
        fk.ref_column,
        col(alias, fk.column),
    );
    select.and_where(compile(store, compiler, parent, &inner, filter, depth + 1)?);
    Ok(Expr::exists(select))
}

/// `SELECT 1 FROM table AS inner WHERE inner.column = outer AND <table's read policy>`: the
/// start of every relation filter, so a related row the principal cannot read never matches.
fn readable_related(
    compiler: &Compiler<'_>,
    table: &TableMeta,
    inner: &str,
    column: &str,
    outer: Expr,
) -> sea_orm::sea_query::SelectStatement {
    let mut select = Query::select();
    select
        .expr(Expr::cust("1"))
        .from_as(Alias::new(table.name), Alias::new(inner))
        .and_where(col(inner, column).eq(outer))
        .and_where(compiler.read(table.name, inner).into_expr());
    select
}

/// `comments: { some | none | every: { … } }` over readable related rows.
fn to_many(
    store: &Store,
    compiler: &Compiler<'_>,
    alias: &str,
    fk: &ForeignKey,
    quantifier: Quantifier,
    filter: &Filter,
    depth: usize,
) -> AppResult<Expr> {
    let child = store.table(fk.table)?;
    let inner = fresh_alias(depth);
    let condition = compile(store, compiler, child, &inner, filter, depth + 1)?;
    let mut select = readable_related(
        compiler,
        child,
        &inner,
        fk.column,
        col(alias, fk.ref_column),
    );
    Ok(match quantifier {
        Quantifier::Some => {
            select.and_where(condition);
            Expr::exists(select)
        }
        Quantifier::None => {
            select.and_where(condition);
            Expr::exists(select).not()
        }
        Quantifier::Every => {
            select.and_where(condition.not());
            Expr::exists(select).not()
        }
    })
}

/// Whether `row` matches `filter`, decided in memory where that is certain: `Some(true)` or
/// `Some(false)` when every part of the filter has the same answer on both databases, `None`
/// when some part needs the database (relations, `like` patterns, text order, JSON) or the
/// row lacks a column. Used for rows that no longer exist (a deleted row's old values).
pub fn matches_in_memory(
    table: &TableMeta,
    filter: &Filter,
    row: &crate::policy::eval::Row,
) -> Option<bool> {
    match filter {
        Filter::All(parts) => parts
            .iter()
            .map(|part| matches_in_memory(table, part, row))
            .try_fold(Some(true), |answer, part| {
                // A part known false decides the whole.
                let answer = and3(answer, part);
                if answer == Some(false) {
                    Err(answer)
                } else {
                    Ok(answer)
                }
            })
            .unwrap_or_else(|decided| decided),
        Filter::Any(parts) => parts
            .iter()
            .map(|part| matches_in_memory(table, part, row))
            .fold(Some(false), or3),
        Filter::Not(part) => matches_in_memory(table, part, row).map(|b| !b),
        Filter::Column { column, op } => {
            let column = table.column(column)?;
            column_matches(column, op, row.get(column.name)?)
        }
        Filter::ToOne { .. } | Filter::ToMany { .. } => None,
    }
}

fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

/// A comparable form of a stored value: UUIDs in lower case, timestamps as instants.
#[derive(PartialEq, PartialOrd)]
enum Comparable {
    Text(String),
    /// Integers compare exactly (a BigInt past 2^53 is not an f64).
    Integer(i64),
    Float(f64),
    Date(chrono::NaiveDate),
    Time(chrono::NaiveTime),
    /// Decimals compare exactly.
    Decimal(sea_orm::prelude::Decimal),
    Bytes(Vec<u8>),
    Bool(bool),
    Instant(chrono::DateTime<chrono::Utc>),
    /// An array's elements, each comparable as its element type.
    List(Vec<Comparable>),
}

fn comparable(column: &ColumnMeta, json: &serde_json::Value) -> Option<Comparable> {
    use serde_json::Value as J;
    match (column.ty, json) {
        (ColType::Uuid, J::String(s)) => Some(Comparable::Text(s.to_ascii_lowercase())),
        (ColType::Timestamp, J::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| Comparable::Instant(t.to_utc())),
        (ColType::Text, J::String(s)) => Some(Comparable::Text(s.clone())),
        (ColType::SmallInt | ColType::Int | ColType::BigInt, J::Number(n)) => {
            n.as_i64().map(Comparable::Integer)
        }
        (ColType::Bool, J::Bool(b)) => Some(Comparable::Bool(*b)),
        (ColType::Float, J::Number(n)) => n.as_f64().map(Comparable::Float),
        (ColType::Date, J::String(s)) => values::parse_date(s).map(Comparable::Date),
        (ColType::Time, J::String(s)) => values::parse_time(s).map(Comparable::Time),
        (ColType::Decimal(_), J::String(s)) => values::parse_decimal(s).map(Comparable::Decimal),
        (ColType::Decimal(_), J::Number(n)) => {
            values::parse_decimal(&n.to_string()).map(Comparable::Decimal)
        }
        (ColType::Binary, J::String(s)) => values::parse_base64(s).map(Comparable::Bytes),
        // A native enumeration's values compare as the same text on both databases.
        (ColType::Enum(_), J::String(s)) => Some(Comparable::Text(s.clone())),
        (ColType::Array(element), J::Array(items)) => {
            let element = ColumnMeta {
                ty: *element,
                nullable: false,
                enum_values: None,
                ..column.clone()
            };
            items
                .iter()
                .map(|item| comparable(&element, item))
                .collect::<Option<Vec<_>>>()
                .map(Comparable::List)
        }
        _ => None,
    }
}

/// `contains`, `containedBy` and `overlaps` of a stored array with the given elements.
fn array_matches(op: &str, stored: &[Comparable], given: &[Comparable]) -> bool {
    match op {
        "contains" => given.iter().all(|g| stored.contains(g)),
        "containedBy" => stored.iter().all(|s| given.contains(s)),
        _ => given.iter().any(|g| stored.contains(g)),
    }
}

fn column_matches(column: &ColumnMeta, op: &ColumnOp, stored: &serde_json::Value) -> Option<bool> {
    if let ColumnOp::IsNull(wanted) = op {
        return Some(stored.is_null() == *wanted);
    }
    if stored.is_null() {
        // SQL: a comparison with NULL is never true.
        return Some(false);
    }
    let operand = |o: &Operand| comparable(column, &o.0);
    let text_ops = column.ty == ColType::Text && column.enum_values.is_none();
    let here = comparable(column, stored);
    // Text order and case follow each database's collation: not decided here.
    let ordered = !matches!(here, Some(Comparable::Text(_)));
    let array = |name: &str, o: &Operand| {
        // Text elements compare as the same bytes on both databases.
        let given = comparable(column, &values::array_elements(column, &o.0).ok()?.into())?;
        match (here.as_ref()?, given) {
            (Comparable::List(stored), Comparable::List(given)) => {
                Some(array_matches(name, stored, &given))
            }
            _ => None,
        }
    };
    let text = |starts: bool, needle: &str| {
        let Some(Comparable::Text(hay)) = &here else {
            return None;
        };
        let found = |hay: &str, needle: &str| {
            if starts {
                hay.starts_with(needle)
            } else {
                hay.contains(needle)
            }
        };
        // SQLite's LIKE ignores ASCII case, PostgreSQL's does not: certain only when both
        // readings agree.
        let exact = found(hay, needle);
        let folded = found(&hay.to_lowercase(), &needle.to_lowercase());
        (exact == folded).then_some(exact)
    };
    let among = |items: &[Operand]| {
        let here = here.as_ref()?;
        let mut found = Some(false);
        for item in items {
            found = or3(found, operand(item).map(|b| &b == here));
        }
        found
    };
    match op {
        ColumnOp::Eq(o) => here.as_ref().zip(operand(o)).map(|(a, b)| *a == b),
        ColumnOp::Neq(o) => here.as_ref().zip(operand(o)).map(|(a, b)| *a != b),
        ColumnOp::Gt(o) if ordered => here.as_ref().zip(operand(o)).map(|(a, b)| *a > b),
        ColumnOp::Gte(o) if ordered => here.as_ref().zip(operand(o)).map(|(a, b)| *a >= b),
        ColumnOp::Lt(o) if ordered => here.as_ref().zip(operand(o)).map(|(a, b)| *a < b),
        ColumnOp::Lte(o) if ordered => here.as_ref().zip(operand(o)).map(|(a, b)| *a <= b),
        ColumnOp::In(items) => among(items),
        ColumnOp::NotIn(items) => among(items).map(|f| !f),
        ColumnOp::ArrayContains(o) => array("contains", o),
        ColumnOp::ArrayContainedBy(o) => array("containedBy", o),
        ColumnOp::ArrayOverlaps(o) => array("overlaps", o),
        ColumnOp::StartsWith(needle) if text_ops => text(true, needle),
        ColumnOp::Contains(needle) if text_ops => text(false, needle),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    mod orders {
        use sea_orm::entity::prelude::*;

        #[derive(Debug, Clone, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
        #[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "order_state")]
        pub enum OrderState {
            #[sea_orm(string_value = "open")]
            Open,
            #[sea_orm(string_value = "paid")]
            Paid,
        }

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "orders")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: Uuid,
            #[sea_orm(column_type = "Decimal(Some((12, 2)))")]
            pub total: Decimal,
            #[sea_orm(column_type = "VarBinary(StringLen::None)", nullable)]
            pub receipt: Option<Vec<u8>>,
            pub tags: Option<Vec<String>>,
            pub state: OrderState,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    fn decide(filter: serde_json::Value) -> Option<bool> {
        let table = TableMeta::of::<orders::Entity>();
        let row: crate::policy::eval::Row = serde_json::from_value(json!({
            "id": "7a5c0000-0000-4000-8000-000000000001",
            "total": "80.25",
            "receipt": "3q2+7w==",
            "tags": ["ops", "q2"],
            "state": "paid",
        }))
        .expect("row");
        let catalog = crate::catalog::Catalog::new(vec![table]);
        let table = catalog.table("orders").expect("orders");
        let index = crate::graphql::args::FieldIndex::new(&catalog);
        let value = async_graphql::Value::from_json(filter).expect("filter");
        let plan = crate::graphql::args::filter(&index, &catalog, table, &value).expect("a filter");
        matches_in_memory(table, &plan, &row)
    }

    #[test]
    fn a_deleted_rows_decimal_binary_array_and_enum_values_are_matched_in_memory() {
        // Decimals compare as numbers, exactly, whatever their scale or JSON form.
        assert_eq!(decide(json!({"total": {"gt": "100"}})), Some(false));
        assert_eq!(decide(json!({"total": {"lt": "2500.50"}})), Some(true));
        assert_eq!(decide(json!({"total": {"eq": 80.25}})), Some(true));
        assert_eq!(
            decide(json!({"total": {"in": ["80.250", "1"]}})),
            Some(true)
        );
        assert_eq!(decide(json!({"receipt": {"eq": "3q2+7w=="}})), Some(true));
        assert_eq!(decide(json!({"receipt": {"neq": "AAEC/w=="}})), Some(true));
        assert_eq!(decide(json!({"tags": {"contains": ["q2"]}})), Some(true));
        assert_eq!(
            decide(json!({"tags": {"contains": ["q2", "q3"]}})),
            Some(false)
        );
        assert_eq!(
            decide(json!({"tags": {"containedBy": ["ops", "q2", "x"]}})),
            Some(true)
        );
        assert_eq!(
            decide(json!({"tags": {"overlaps": ["x", "ops"]}})),
            Some(true)
        );
        assert_eq!(decide(json!({"tags": {"overlaps": []}})), Some(false));
        assert_eq!(decide(json!({"state": {"eq": "PAID"}})), Some(true));
        assert_eq!(decide(json!({"state": {"in": ["OPEN"]}})), Some(false));
    }
}
