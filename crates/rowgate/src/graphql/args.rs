//! From a request's arguments to the typed plan (`planner::plan`, `planner::page::ListSpec`),
//! once per field: filter inputs are checked against the table here — field names, operators,
//! operand types, nesting — through a name index built once with the schema, so nothing
//! downstream matches names or re-parses values.

use std::collections::HashMap;

use async_graphql::Value;
use async_graphql::dynamic::{ObjectAccessor, ResolverContext};
use serde_json::Value as Json;

use crate::catalog::{Catalog, ColType, ColumnMeta, TableMeta};
use crate::error::{AppError, AppResult};
use crate::graphql::names::{camel, enum_item, to_many_name, to_one_name};
use crate::planner::page::{ListSpec, Sort, decode_cursor, sortable};
use crate::planner::plan::{ColumnOp, Filter, Operand, Quantifier};
use crate::planner::values;

/// Deepest nesting of `and`/`or`/`not` and relation filters.
pub const MAX_FILTER_DEPTH: usize = 8;

fn bad(message: impl Into<String>) -> AppError {
    AppError::BadUserInput(message.into())
}

/// What a field of a table's filter input names.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// A column (its index in the table's columns).
    Column(usize),
    /// A to-one relation: the referenced table, through the table's foreign-key column.
    ToOne {
        column: &'static str,
        ref_table: &'static str,
    },
    /// A computed field (its index in the table's computed fields): read, never filtered.
    Computed(usize),
    /// A to-many relation: the referencing table and its foreign-key column, which
    /// references `ref_column` of this table.
    ToMany {
        table: &'static str,
        column: &'static str,
        ref_column: &'static str,
    },
}

/// The filter fields of every table, by their GraphQL names: built once with the schema.
#[derive(Debug, Default)]
pub struct FieldIndex(HashMap<&'static str, HashMap<String, Target>>);

impl FieldIndex {
    /// The index of `catalog`'s tables. A column wins over a relation of the same name, a
    /// to-one relation over a to-many one.
    pub fn new(catalog: &Catalog) -> Self {
        let mut tables = HashMap::new();
        for table in catalog.tables() {
            let mut fields = HashMap::new();
            for fk in catalog.referencing(table.name) {
                fields.insert(
                    to_many_name(catalog, &fk),
                    Target::ToMany {
                        table: fk.table,
                        column: fk.column,
                        ref_column: fk.ref_column,
                    },
                );
            }
            for fk in &table.foreign_keys {
                fields.insert(
                    to_one_name(fk),
                    Target::ToOne {
                        column: fk.column,
                        ref_table: fk.ref_table,
                    },
                );
            }
            for (index, field) in table.computed.iter().enumerate() {
                fields.insert(camel(field.name), Target::Computed(index));
            }
            for (index, column) in table.columns.iter().enumerate() {
                fields.insert(camel(column.name), Target::Column(index));
            }
            tables.insert(table.name, fields);
        }
        Self(tables)
    }

    fn target(&self, table: &str, field: &str) -> Option<Target> {
        self.0
            .get(table)
            .and_then(|fields| fields.get(field))
            .copied()
    }

    /// Adds the columns of `table` that the output field `field` of its type reads: the
    /// column itself, a to-one relation's foreign key, the key a to-many relation joins on,
    /// or the columns a computed field is computed from.
    pub fn read_columns(&self, table: &TableMeta, field: &str, out: &mut Vec<&'static str>) {
        match self.target(table.name, field) {
            Some(Target::Column(i)) => out.push(table.columns[i].name),
            Some(Target::ToOne { column, .. }) => out.push(column),
            Some(Target::ToMany { ref_column, .. }) => out.push(ref_column),
            Some(Target::Computed(i)) => {
                out.extend(table.computed[i].columns.iter().map(|c| c.name));
            }
            None => {}
        }
    }
}

/// The schema's field index.
pub fn index<'a>(ctx: &ResolverContext<'a>) -> AppResult<&'a FieldIndex> {
    ctx.data::<std::sync::Arc<FieldIndex>>()
        .map(|index| &**index)
        .map_err(|_| AppError::Internal("filter field index missing".into()))
}

/// The plan of the field's `filter` argument on `table`, if it is given.
pub fn filter_argument(ctx: &ResolverContext<'_>, table: &TableMeta) -> AppResult<Option<Filter>> {
    let Some(value) = ctx.args.get("filter").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let store = super::store(ctx)?;
    filter(index(ctx)?, &store.catalog, table, value.as_value()).map(Some)
}

/// The connection arguments of the field on `table`, with pages of at most `cap` rows.
pub fn list_argument(
    ctx: &ResolverContext<'_>,
    table: &TableMeta,
    cap: u64,
) -> AppResult<ListSpec> {
    let store = super::store(ctx)?;
    list_spec(index(ctx)?, &store.catalog, table, &ctx.args, cap)
}

/// The plan of a `XFilter` input value on `table`.
pub fn filter(
    index: &FieldIndex,
    catalog: &Catalog,
    table: &TableMeta,
    value: &Value,
) -> AppResult<Filter> {
    parse_filter(index, catalog, table, value, 0)
}

fn parse_filter(
    index: &FieldIndex,
    catalog: &Catalog,
    table: &TableMeta,
    value: &Value,
    depth: usize,
) -> AppResult<Filter> {
    if depth > MAX_FILTER_DEPTH {
        return Err(bad(format!(
            "filters nest deeper than {MAX_FILTER_DEPTH} levels"
        )));
    }
    let Value::Object(fields) = value else {
        return Err(bad("a filter must be an object"));
    };
    let mut terms = Vec::new();
    for (name, value) in fields {
        if value == &Value::Null {
            continue;
        }
        let nested = |item: &Value| parse_filter(index, catalog, table, item, depth + 1);
        match name.as_str() {
            "and" | "or" => {
                let Value::List(items) = value else {
                    return Err(bad(format!("`{name}` takes a list of filters")));
                };
                let parts = items.iter().map(nested).collect::<AppResult<Vec<_>>>()?;
                terms.push(if name.as_str() == "and" {
                    Filter::All(parts)
                } else {
                    Filter::Any(parts)
                });
            }
            "not" => terms.push(Filter::Not(Box::new(nested(value)?))),
            field => match index.target(table.name, field) {
                Some(Target::Column(i)) => terms.push(column_ops(&table.columns[i], value)?),
                Some(Target::ToOne { column, ref_table }) => {
                    let parent = related(catalog, ref_table)?;
                    terms.push(Filter::ToOne {
                        column,
                        filter: Box::new(parse_filter(index, catalog, parent, value, depth + 1)?),
                    });
                }
                Some(Target::ToMany {
                    table: child,
                    column,
                    ..
                }) => {
                    let child_meta = related(catalog, child)?;
                    let Value::Object(quantifiers) = value else {
                        return Err(bad("a relation filter takes `some`, `none` or `every`"));
                    };
                    let mut parts = Vec::new();
                    for (quantifier, inner) in quantifiers {
                        if inner == &Value::Null {
                            continue;
                        }
                        let quantifier = match quantifier.as_str() {
                            "some" => Quantifier::Some,
                            "none" => Quantifier::None,
                            "every" => Quantifier::Every,
                            other => {
                                return Err(bad(format!("unknown relation quantifier `{other}`")));
                            }
                        };
                        parts.push(Filter::ToMany {
                            table: child,
                            column,
                            quantifier,
                            filter: Box::new(parse_filter(
                                index,
                                catalog,
                                child_meta,
                                inner,
                                depth + 1,
                            )?),
                        });
                    }
                    terms.push(Filter::All(parts));
                }
                // A computed field is no column: the filter input has no field of its name.
                Some(Target::Computed(_)) | None => {
                    return Err(bad(format!("unknown filter field `{field}`")));
                }
            },
        }
    }
    Ok(Filter::All(terms))
}

fn related<'c>(catalog: &'c Catalog, table: &str) -> AppResult<&'c TableMeta> {
    catalog
        .table(table)
        .ok_or_else(|| AppError::Internal(format!("no catalog entry for {table}")))
}

/// A non-NULL operand of `column`.
fn operand(column: &ColumnMeta, value: &Value) -> AppResult<Operand> {
    let json = input_json(column, value)?;
    if json.is_null() {
        return Err(bad(format!(
            "use `isNull` to match NULL in `{}`",
            camel(column.name)
        )));
    }
    Ok(Operand(json))
}

/// The conditions of one column's operator input (`{gt: 1, lt: 5}`).
fn column_ops(column: &ColumnMeta, ops: &Value) -> AppResult<Filter> {
    let Value::Object(ops) = ops else {
        return Err(bad(format!(
            "the filter of `{}` must be an object",
            camel(column.name)
        )));
    };
    let mut terms = Vec::new();
    for (op, value) in ops {
        if value == &Value::Null {
            continue;
        }
        let list = || -> AppResult<Vec<Operand>> {
            match value {
                Value::List(items) => items.iter().map(|v| operand(column, v)).collect(),
                _ => Err(bad(format!("`{op}` takes a list"))),
            }
        };
        let text = || -> AppResult<String> {
            match value {
                Value::String(s) if s.contains('\0') => Err(bad(format!(
                    "`{op}` of `{}` contains a NUL character (\\u0000), which cannot be matched",
                    camel(column.name)
                ))),
                Value::String(s) => Ok(s.clone()),
                _ => Err(bad(format!("`{op}` takes a string"))),
            }
        };
        // A `like` pattern: `%` and `_` are wildcards and `\` escapes the next character on
        // both databases, so a pattern ending in a lone `\` is the client's mistake.
        let pattern = || -> AppResult<String> {
            let text = text()?;
            let mut chars = text.chars();
            while let Some(ch) = chars.next() {
                if ch == '\\' && chars.next().is_none() {
                    return Err(bad(format!(
                        "the `{op}` pattern of `{}` ends with an escape character (`\\`); write `\\\\` for a backslash",
                        camel(column.name)
                    )));
                }
            }
            Ok(text)
        };
        // The whole list of an array operator, checked as the column's value.
        let elements = || -> AppResult<Operand> {
            let json = input_json(column, value)?;
            if json.is_null() {
                return Err(bad(format!(
                    "`{op}` of `{}` takes a list",
                    camel(column.name)
                )));
            }
            Ok(Operand(json))
        };
        let op = match (op.as_str(), column.ty) {
            ("contains", ColType::Array(_)) => ColumnOp::ArrayContains(elements()?),
            ("containedBy", ColType::Array(_)) => ColumnOp::ArrayContainedBy(elements()?),
            ("overlaps", ColType::Array(_)) => ColumnOp::ArrayOverlaps(elements()?),
            ("eq", _) => ColumnOp::Eq(operand(column, value)?),
            ("neq", _) => ColumnOp::Neq(operand(column, value)?),
            ("gt", _) => ColumnOp::Gt(operand(column, value)?),
            ("gte", _) => ColumnOp::Gte(operand(column, value)?),
            ("lt", _) => ColumnOp::Lt(operand(column, value)?),
            ("lte", _) => ColumnOp::Lte(operand(column, value)?),
            ("in", _) => ColumnOp::In(list()?),
            ("notIn", _) => ColumnOp::NotIn(list()?),
            ("isNull", _) => match value {
                Value::Boolean(b) => ColumnOp::IsNull(*b),
                _ => return Err(bad("`isNull` takes a boolean")),
            },
            ("like", ColType::Text) => ColumnOp::Like(pattern()?),
            ("ilike", ColType::Text) => ColumnOp::ILike(pattern()?),
            ("startsWith", ColType::Text) => ColumnOp::StartsWith(text()?),
            ("contains", ColType::Text) => ColumnOp::Contains(text()?),
            ("hasKey", ColType::Json) => ColumnOp::HasKey(text()?),
            ("contains", ColType::Json) => {
                ColumnOp::JsonContains(Operand(input_json(column, value)?))
            }
            (other, _) => {
                return Err(bad(format!(
                    "`{other}` does not apply to `{}`",
                    camel(column.name)
                )));
            }
        };
        terms.push(Filter::column(column.name, op));
    }
    Ok(Filter::All(terms))
}

/// Reads `filter`, `orderBy`, `first`, `after`, `last`, `before`, `offset`.
pub fn list_spec(
    index: &FieldIndex,
    catalog: &Catalog,
    table: &TableMeta,
    args: &ObjectAccessor<'_>,
    cap: u64,
) -> AppResult<ListSpec> {
    let get = |name: &str| args.get(name).filter(|v| !v.is_null());
    let filter = get("filter")
        .map(|v| filter(index, catalog, table, v.as_value()))
        .transpose()?;
    let mut order = Vec::new();
    if let Some(list) = get("orderBy") {
        let items = list.list().map_err(|_| bad("orderBy takes a list"))?;
        for item in items.iter() {
            let name = item
                .enum_name()
                .map_err(|_| bad("orderBy takes enum values"))?;
            let (column, desc) = order_item(table, name)?;
            if !order.iter().any(|s: &Sort| s.column == column.name) {
                order.push(Sort::of(column, desc));
            }
        }
    }
    // The tie-breaker runs in the direction of the first ordering, so that one index
    // (`created_at DESC, id DESC`) serves the whole ORDER BY without a sort.
    let tie_desc = order.first().is_some_and(|s: &Sort| s.desc);
    for key in &table.primary_key {
        if !order.iter().any(|s| s.column == *key) {
            let sort = match table.column(key) {
                Some(column) => Sort {
                    nullable: false,
                    ..Sort::of(column, tie_desc)
                },
                None => Sort {
                    column: key,
                    desc: tie_desc,
                    nullable: false,
                    declared: None,
                },
            };
            order.push(sort);
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
    let position = |cursor: &str| -> AppResult<Vec<Operand>> {
        Ok(decode_cursor(&order, cursor)?
            .into_iter()
            .map(Operand)
            .collect())
    };
    let cursor = match (after, before) {
        (Some(_), Some(_)) => return Err(bad("use `after` or `before`, not both")),
        (Some(a), None) if !backwards => Some(position(&a)?),
        (None, Some(b)) if backwards => Some(position(&b)?),
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

fn order_item<'t>(table: &'t TableMeta, item: &str) -> AppResult<(&'t ColumnMeta, bool)> {
    let (field, desc) = if let Some(f) = item.strip_suffix("_DESC") {
        (f, true)
    } else if let Some(f) = item.strip_suffix("_ASC") {
        (f, false)
    } else {
        return Err(bad(format!("unknown ordering `{item}`")));
    };
    let column = sortable(table)
        .find(|c| c.name.eq_ignore_ascii_case(field))
        .ok_or_else(|| bad(format!("unknown ordering `{item}`")))?;
    Ok((column, desc))
}

/// A GraphQL input value for `column` as the JSON the planner stores and compares: an
/// enumeration item (`MODERATOR`) becomes its stored text (`moderator`). Text containing a
/// NUL character, which neither database can store, is the client's mistake.
pub fn input_json(column: &ColumnMeta, value: &Value) -> AppResult<Json> {
    use async_graphql::Value as Gql;
    let field = camel(column.name);
    let json = match (column.enum_values, value) {
        (Some(values), Gql::Enum(_) | Gql::String(_)) if matches!(column.ty, ColType::Enum(_)) => {
            let item = match value {
                Gql::Enum(item) => item.as_str(),
                Gql::String(item) => item.as_str(),
                _ => "",
            };
            let stored = values::native_enum_value(column, item).ok_or_else(|| {
                let items: Vec<String> = values.iter().map(|v| enum_item(v)).collect();
                AppError::BadUserInput(format!("`{field}` must be one of {}", items.join(", ")))
            })?;
            Json::String(stored.to_owned())
        }
        (Some(_), Gql::Enum(item)) => Json::String(item.as_str().to_ascii_lowercase()),
        (Some(_), Gql::String(item)) => Json::String(item.to_ascii_lowercase()),
        _ => value
            .clone()
            .into_json()
            .map_err(|_| AppError::BadUserInput(format!("bad value for `{field}`")))?,
    };
    if values::contains_nul(&json) {
        return Err(AppError::BadUserInput(format!(
            "`{field}` contains a NUL character (\\u0000), which cannot be stored or matched"
        )));
    }
    Ok(json)
}
