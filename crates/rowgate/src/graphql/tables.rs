//! The part of the schema built from the catalog and the policies: for every table an
//! object type, its enums, filter, ordering, connection, edge and aggregate types, a root
//! list and lookup by key, relations both ways, and the mutations its policy allows.
//! Adding a table needs no code here.

use std::sync::Arc;

use async_graphql::dynamic::{
    Enum, Field, FieldFuture, FieldValue, InputObject, InputValue, Object, ResolverContext,
    SchemaBuilder, TypeRef,
};
use async_graphql::{Name, Value};
use serde_json::Value as Json;

use super::args::FieldIndex;
use super::loaders::{AggregateKey, Loaders, ManyKey, OneKey};
use super::names::{
    camel, enum_item, list_field, one_field, pascal, snake, to_many_name, to_one_name, type_name,
};
use super::{RequestContext, scalars, store, value_field, write_context};
use crate::catalog::{ColType, ColumnMeta, ComputedField, ComputedType, ForeignKey, TableMeta};
use crate::error::{AppError, AppResult};
use crate::planner::Store;
use crate::planner::batch::{Page, key_text};
use crate::planner::page::{self, ListSpec};
use crate::policy::eval::Row;
use crate::policy::{Access, TablePolicy};

/// Largest `first`/`last` a client may ask for.
#[derive(Debug, Clone, Copy)]
pub struct PageCap(pub u64);

/// A row as the parent value of its fields.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its table.
    pub table: &'static str,
    /// Its values, by column: shared, so that a row loaded once for many parents (a
    /// to-one relation's target) or shown twice (`nodes` and `edges`) is not copied.
    pub row: Arc<Row>,
}

impl Node {
    /// The parent value of `row`'s fields, a row of `table` (what an application's own
    /// resolver returns to show a row with the table's type).
    pub fn new(table: &'static str, row: impl Into<Arc<Row>>) -> Self {
        Node {
            table,
            row: row.into(),
        }
    }
}

/// Where a connection's rows came from (for `totalCount` and `aggregate`).
#[derive(Debug, Clone)]
enum Source {
    Root,
    Relation { fk: ForeignKey, parent: String },
}

/// A resolved connection: its page's rows as the nodes its `nodes` field lends out.
#[derive(Debug, Clone)]
struct Connection {
    table: &'static str,
    nodes: Vec<Node>,
    /// More rows exist beyond the page.
    more: bool,
    /// `totalCount`, when the page's statement counted it.
    total: Option<i64>,
    spec: ListSpec,
    source: Source,
}

impl Connection {
    fn new(table: &'static str, page: Page, spec: ListSpec, source: Source) -> Self {
        Connection {
            table,
            nodes: page
                .rows
                .into_iter()
                .map(|row| Node::new(table, row))
                .collect(),
            more: page.more,
            total: page.total,
            spec,
            source,
        }
    }
}

/// An edge of a connection.
#[derive(Debug, Clone)]
struct Edge {
    node: Node,
    cursor: String,
}

fn bad(message: impl Into<String>) -> AppError {
    AppError::BadUserInput(message.into())
}

pub(super) fn request<'a>(ctx: &ResolverContext<'a>) -> AppResult<&'a RequestContext> {
    ctx.data::<RequestContext>()
        .map_err(|_| AppError::Internal("request context missing".into()))
}

fn loaders<'a>(ctx: &ResolverContext<'a>) -> AppResult<&'a Loaders> {
    ctx.data::<Loaders>()
        .map_err(|_| AppError::Internal("loaders missing".into()))
}

fn cap(ctx: &ResolverContext<'_>) -> u64 {
    ctx.data::<PageCap>().map_or(100, |c| c.0)
}

fn load_error(err: super::loaders::LoadError) -> AppError {
    match err.0.code() {
        crate::error::ErrorCode::BadUserInput => AppError::BadUserInput(err.0.to_string()),
        crate::error::ErrorCode::Forbidden => AppError::Forbidden(err.0.to_string()),
        _ => AppError::Internal(err.0.to_string()),
    }
}

/// Wraps a resolver returning `AppResult`; converts errors once, with the request id.
pub(super) fn resolve<F>(name: impl Into<String>, ty: TypeRef, f: F) -> Field
where
    F: for<'a> Fn(
            ResolverContext<'a>,
        ) -> std::pin::Pin<
            Box<dyn Future<Output = AppResult<Option<FieldValue<'a>>>> + Send + 'a>,
        > + Send
        + Sync
        + 'static,
{
    let f = Arc::new(f);
    let non_null = matches!(ty, TypeRef::NonNull(_));
    Field::new(name, ty, move |ctx| {
        let f = f.clone();
        FieldFuture::new(async move {
            // The resolver consumes its context; the error is reported on the field's.
            let field = ctx.ctx;
            match f(ctx).await {
                Ok(value) => Ok(value),
                Err(error) => super::failed(field, &error, non_null),
            }
        })
    })
}

// ---------------------------------------------------------------- names of generated types

fn enum_type(table: &TableMeta, column: &ColumnMeta) -> String {
    format!("{}{}", type_name(table.name), pascal(column.name))
}

fn filter_type(table: &str) -> String {
    format!("{}Filter", type_name(table))
}

fn list_filter_type(table: &str) -> String {
    format!("{}ListFilter", type_name(table))
}

fn order_type(table: &str) -> String {
    format!("{}OrderBy", type_name(table))
}

fn connection_type(table: &str) -> String {
    format!("{}Connection", type_name(table))
}

fn edge_type(table: &str) -> String {
    format!("{}Edge", type_name(table))
}

fn aggregate_type(table: &str) -> String {
    format!("{}Aggregate", type_name(table))
}

/// The GraphQL type of a column's values, nullable (see [`non_null`]): a scalar, the
/// column's enum, or a list of the element's scalar for an array.
pub(crate) fn scalar_of(table: &TableMeta, column: &ColumnMeta) -> TypeRef {
    if column.enum_values.is_some() {
        return TypeRef::named(enum_type(table, column));
    }
    match column.ty {
        ColType::Array(element) => {
            TypeRef::List(Box::new(TypeRef::named_nn(scalar_name(*element))))
        }
        ty => TypeRef::named(scalar_name(ty)),
    }
}

/// `ty!`.
pub(crate) fn non_null(ty: TypeRef) -> TypeRef {
    TypeRef::NonNull(Box::new(ty))
}

/// The scalar of a column type's values (an array's: its element's).
fn scalar_name(ty: ColType) -> &'static str {
    match ty {
        ColType::Uuid => scalars::UUID,
        ColType::Text | ColType::Enum(_) => TypeRef::STRING,
        ColType::Bool => TypeRef::BOOLEAN,
        ColType::SmallInt | ColType::Int => TypeRef::INT,
        ColType::BigInt => scalars::BIG_INT,
        ColType::Json => scalars::JSON,
        ColType::Timestamp => scalars::DATE_TIME,
        ColType::Date => scalars::DATE,
        ColType::Float => TypeRef::FLOAT,
        ColType::Time => scalars::TIME,
        ColType::Decimal(_) => scalars::DECIMAL,
        ColType::Binary => scalars::BASE64,
        ColType::Array(element) => scalar_name(*element),
    }
}

fn masked(policy: Option<&TablePolicy>, column: &ColumnMeta) -> bool {
    policy.is_some_and(|p| p.masks.iter().any(|(c, _)| c.name == column.name))
}

// ---------------------------------------------------------------- values in and out

/// A stored value as GraphQL shows it (enums in SCREAMING case).
pub(crate) fn output(column: &ColumnMeta, json: &Json) -> Option<Value> {
    match json {
        Json::Null => None,
        Json::String(s) if column.enum_values.is_some() => {
            Some(Value::Enum(Name::new(enum_item(s))))
        }
        other => Some(json_value(other)),
    }
}

/// A JSON value as a GraphQL value, converted directly (no serde round trip): the one
/// conversion every column of every row in a response goes through.
pub(crate) fn json_value(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => Value::Number(n.clone()),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::List(items.iter().map(json_value).collect()),
        Json::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, value)| (Name::new(name), json_value(value)))
                .collect(),
        ),
    }
}

/// A GraphQL input object (camelCase, enums) as a row (snake_case, stored values).
fn input_row(table: &TableMeta, value: &Value) -> AppResult<Row> {
    let Value::Object(fields) = value else {
        return Err(bad("the input must be an object"));
    };
    let mut row = Row::new();
    for (name, v) in fields {
        let column = snake(name.as_str());
        let meta = table
            .column(&column)
            .ok_or_else(|| bad(format!("unknown field `{name}`")))?;
        row.insert(column, super::args::input_json(meta, v)?);
    }
    Ok(row)
}

/// A required argument of a field.
fn required<'a>(
    ctx: &'a ResolverContext<'_>,
    name: &str,
) -> AppResult<async_graphql::dynamic::ValueAccessor<'a>> {
    ctx.args
        .get(name)
        .ok_or_else(|| bad(format!("`{name}` is required")))
}

/// The primary key named by a field's arguments (one argument per key column).
fn key_from_args(table: &TableMeta, ctx: &ResolverContext<'_>) -> AppResult<Row> {
    let mut key = Row::new();
    for column in &table.primary_key {
        let arg = ctx
            .args
            .get(&camel(column))
            .ok_or_else(|| bad(format!("`{}` is required", camel(column))))?;
        let meta = table
            .column(column)
            .ok_or_else(|| AppError::Internal(format!("key column {column} missing")))?;
        key.insert(
            (*column).to_owned(),
            super::args::input_json(meta, arg.as_value())?,
        );
    }
    Ok(key)
}

fn node_value(table: &'static str, row: impl Into<Arc<Row>>) -> FieldValue<'static> {
    FieldValue::owned_any(Node::new(table, row))
}

/// A field of a table's type whose value `value` reads off the node's row, resolved at
/// once: no future is boxed for what the row holds already.
fn from_node<'a>(
    ctx: &ResolverContext<'a>,
    value: impl FnOnce(&Node) -> Option<FieldValue<'a>>,
) -> FieldFuture<'a> {
    match ctx.parent_value.try_downcast_ref::<Node>() {
        Ok(node) => FieldFuture::Value(value(node)),
        Err(error) => FieldFuture::new(async move { Err::<Option<Value>, _>(error) }),
    }
}

fn nodes(table: &'static str, rows: Vec<Row>) -> FieldValue<'static> {
    FieldValue::list(rows.into_iter().map(|row| node_value(table, row)))
}

// ---------------------------------------------------------------- what a query reads

/// The columns a node's selection reads: its column fields, the foreign keys of its to-one
/// fields and the keys its to-many fields join on.
fn node_columns<'a>(
    index: &FieldIndex,
    table: &TableMeta,
    fields: impl Iterator<Item = async_graphql::SelectionField<'a>>,
    out: &mut Vec<&'static str>,
) {
    for field in fields {
        index.read_columns(table, field.name(), out);
    }
}

/// The columns a connection field's selection reads, plus its ordering (for cursors) and
/// `extra` (e.g. the foreign key a relation load groups by).
fn connection_columns(
    index: &FieldIndex,
    table: &TableMeta,
    field: async_graphql::SelectionField<'_>,
    spec: &ListSpec,
    extra: &[&'static str],
) -> Arc<Vec<&'static str>> {
    let mut out: Vec<&'static str> = extra.to_vec();
    out.extend(spec.order.iter().map(|s| s.column));
    for child in field.selection_set() {
        match child.name() {
            "nodes" => node_columns(index, table, child.selection_set(), &mut out),
            "edges" => {
                for edge in child.selection_set().filter(|e| e.name() == "node") {
                    node_columns(index, table, edge.selection_set(), &mut out);
                }
            }
            _ => {}
        }
    }
    out.sort_unstable();
    out.dedup();
    Arc::new(out)
}

// ---------------------------------------------------------------- the schema

/// The fields a table adds to the root query and mutation types.
#[derive(Default)]
#[expect(
    missing_debug_implementations,
    reason = "async-graphql's Field is not Debug"
)]
pub struct RootFields {
    /// Query fields.
    pub query: Vec<Field>,
    /// Mutation fields.
    pub mutation: Vec<Field>,
}

/// Registers every table's types and returns their root fields.
pub fn register(mut builder: SchemaBuilder, store: &Store) -> (SchemaBuilder, RootFields) {
    let mut roots = RootFields::default();
    builder = register_shared(builder, store).register(super::relay::interface());
    roots.query.extend(super::relay::root_fields());
    for table in store.catalog.tables() {
        let policy = store.policies.table(table.name);
        builder = register_table(builder, store, table, policy);
        roots.query.push(list_root(table));
        roots.query.push(one_root(table));
        if let Some(policy) = policy {
            roots.mutation.extend(mutations(table, policy));
        }
    }
    (builder, roots)
}

fn operator_input(name: &str, ty: &str, extra: &[(&str, TypeRef)]) -> InputObject {
    let mut input = InputObject::new(name)
        .field(InputValue::new("eq", TypeRef::named(ty)))
        .field(InputValue::new("neq", TypeRef::named(ty)))
        .field(InputValue::new("in", TypeRef::named_nn_list(ty)))
        .field(InputValue::new("notIn", TypeRef::named_nn_list(ty)))
        .field(InputValue::new("isNull", TypeRef::named(TypeRef::BOOLEAN)));
    for (field, ty) in extra {
        input = input.field(InputValue::new(*field, ty.clone()));
    }
    input
}

fn ordered(ty: &str) -> Vec<(&'static str, TypeRef)> {
    ["gt", "gte", "lt", "lte"]
        .into_iter()
        .map(|op| (op, TypeRef::named(ty)))
        .collect()
}

/// The operator filter of each column type. Only the types some column has are registered
/// (and, for `BigInt`, the scalar itself), so that every type the SDL prints is reachable and
/// introspection lists the same types.
fn operator_filter(ty: ColType) -> InputObject {
    let name = filter_operator_name(ty);
    match ty {
        ColType::Uuid => operator_input(name, scalars::UUID, &[]),
        ColType::Text | ColType::Enum(_) => {
            let mut text_ops = ordered(TypeRef::STRING);
            for op in ["like", "ilike", "startsWith", "contains"] {
                text_ops.push((op, TypeRef::named(TypeRef::STRING)));
            }
            operator_input(name, TypeRef::STRING, &text_ops)
        }
        ColType::SmallInt | ColType::Int => {
            operator_input(name, TypeRef::INT, &ordered(TypeRef::INT))
        }
        ColType::BigInt => operator_input(name, scalars::BIG_INT, &ordered(scalars::BIG_INT)),
        ColType::Bool => operator_input(name, TypeRef::BOOLEAN, &[]),
        ColType::Timestamp => {
            operator_input(name, scalars::DATE_TIME, &ordered(scalars::DATE_TIME))
        }
        ColType::Date => operator_input(name, scalars::DATE, &ordered(scalars::DATE)),
        ColType::Float => operator_input(name, TypeRef::FLOAT, &ordered(TypeRef::FLOAT)),
        ColType::Time => operator_input(name, scalars::TIME, &ordered(scalars::TIME)),
        ColType::Decimal(_) => operator_input(name, scalars::DECIMAL, &ordered(scalars::DECIMAL)),
        // Equality only: bytes have no order both databases share.
        ColType::Binary => InputObject::new(name)
            .field(InputValue::new("eq", TypeRef::named(scalars::BASE64)))
            .field(InputValue::new("neq", TypeRef::named(scalars::BASE64)))
            .field(InputValue::new("isNull", TypeRef::named(TypeRef::BOOLEAN))),
        ColType::Array(element) => {
            let list = || TypeRef::named_nn_list(scalar_name(*element));
            InputObject::new(name)
                .field(
                    InputValue::new("contains", list())
                        .description("Every given element is in the array."),
                )
                .field(
                    InputValue::new("containedBy", list())
                        .description("Every element of the array is given."),
                )
                .field(
                    InputValue::new("overlaps", list())
                        .description("Some given element is in the array."),
                )
                .field(InputValue::new("isNull", TypeRef::named(TypeRef::BOOLEAN)))
        }
        ColType::Json => InputObject::new(name)
            .field(InputValue::new("contains", TypeRef::named(scalars::JSON)))
            .field(InputValue::new("hasKey", TypeRef::named(TypeRef::STRING)))
            .field(InputValue::new("isNull", TypeRef::named(TypeRef::BOOLEAN))),
    }
}

fn register_shared(mut builder: SchemaBuilder, store: &Store) -> SchemaBuilder {
    let mut filters = std::collections::BTreeSet::new();
    let columns = || store.catalog.tables().iter().flat_map(|t| &t.columns);
    for column in columns().filter(|c| c.enum_values.is_none()) {
        filters.insert(filter_operator_name(column.ty));
    }
    if columns().any(|c| matches!(c.ty, ColType::BigInt | ColType::Array(&ColType::BigInt))) {
        builder = scalars::register_big_int(builder);
    }
    if columns().any(|c| matches!(c.ty, ColType::Decimal(_))) {
        builder = scalars::register_decimal(builder);
    }
    if columns().any(|c| c.ty == ColType::Binary) {
        builder = scalars::register_base64(builder);
    }
    if columns().any(|c| c.ty == ColType::Date) {
        builder = scalars::register_date(builder);
    }
    if columns().any(|c| c.ty == ColType::Time) {
        builder = scalars::register_time(builder);
    }
    for ty in [
        ColType::Uuid,
        ColType::Text,
        ColType::Int,
        ColType::BigInt,
        ColType::Bool,
        ColType::Timestamp,
        ColType::Json,
        ColType::Date,
        ColType::Float,
        ColType::Time,
    ] {
        if filters.contains(filter_operator_name(ty)) {
            builder = builder.register(operator_filter(ty));
        }
    }
    // The filters of decimal, binary and array columns, one per name (an array's is named
    // by its element type), after the others.
    let parameterized: std::collections::BTreeMap<&str, ColType> = columns()
        .filter(|c| c.enum_values.is_none())
        .filter(|c| {
            matches!(
                c.ty,
                ColType::Decimal(_) | ColType::Binary | ColType::Array(_)
            )
        })
        .map(|c| (filter_operator_name(c.ty), c.ty))
        .collect();
    for ty in parameterized.into_values() {
        builder = builder.register(operator_filter(ty));
    }
    builder.register(
        Object::new("PageInfo")
            .field(value_field(
                "hasNextPage",
                "hasNextPage",
                TypeRef::named_nn(TypeRef::BOOLEAN),
            ))
            .field(value_field(
                "hasPreviousPage",
                "hasPreviousPage",
                TypeRef::named_nn(TypeRef::BOOLEAN),
            ))
            .field(value_field(
                "startCursor",
                "startCursor",
                TypeRef::named(TypeRef::STRING),
            ))
            .field(value_field(
                "endCursor",
                "endCursor",
                TypeRef::named(TypeRef::STRING),
            )),
    )
}

fn filter_operator_type(table: &TableMeta, column: &ColumnMeta) -> String {
    if column.enum_values.is_some() {
        return format!("{}Filter", enum_type(table, column));
    }
    filter_operator_name(column.ty).to_owned()
}

fn filter_operator_name(ty: ColType) -> &'static str {
    match ty {
        ColType::Uuid => "UUIDFilter",
        ColType::Text => "StringFilter",
        ColType::Bool => "BooleanFilter",
        ColType::SmallInt | ColType::Int => "IntFilter",
        ColType::BigInt => "BigIntFilter",
        ColType::Json => "JSONFilter",
        ColType::Timestamp => "DateTimeFilter",
        ColType::Date => "DateFilter",
        ColType::Float => "FloatFilter",
        ColType::Time => "TimeFilter",
        ColType::Decimal(_) => "DecimalFilter",
        ColType::Binary => "Base64Filter",
        // Never used: a native enumeration's filter is its enum's.
        ColType::Enum(_) => "StringFilter",
        ColType::Array(element) => match element {
            ColType::SmallInt | ColType::Int => "IntArrayFilter",
            ColType::BigInt => "BigIntArrayFilter",
            ColType::Uuid => "UUIDArrayFilter",
            ColType::Bool => "BooleanArrayFilter",
            _ => "StringArrayFilter",
        },
    }
}

fn register_table(
    mut builder: SchemaBuilder,
    store: &Store,
    table: &TableMeta,
    policy: Option<&TablePolicy>,
) -> SchemaBuilder {
    let type_name_ = type_name(table.name);
    let name: &'static str = table.name;

    // Enums and their filters.
    for column in &table.columns {
        if let Some(values) = column.enum_values {
            let enum_name = enum_type(table, column);
            builder = builder
                .register(Enum::new(&enum_name).items(values.iter().map(|v| enum_item(v))))
                .register(operator_input(
                    &format!("{enum_name}Filter"),
                    &enum_name,
                    &[],
                ));
        }
    }

    // The object type.
    let mut object = Object::new(&type_name_)
        .description(format!("A row of `{}`.", table.name))
        .implement(super::relay::NODE)
        .field(super::relay::node_id_field(table));
    for column in &table.columns {
        let scalar = scalar_of(table, column);
        let ty = if column.nullable || masked(policy, column) {
            scalar
        } else {
            non_null(scalar)
        };
        let column_meta = column.clone();
        object = object.field(Field::new(camel(column.name), ty, move |ctx| {
            from_node(&ctx, |node| {
                node.row
                    .get(column_meta.name)
                    .and_then(|json| output(&column_meta, json))
                    .map(FieldValue::value)
            })
        }));
    }
    for computed in table.computed.iter() {
        object = object.field(computed_field(computed));
    }
    for fk in &table.foreign_keys {
        object = object.field(to_one_field(fk));
    }
    for fk in store.catalog.referencing(table.name) {
        object = object.field(connection_args(to_many_field(&store.catalog, fk)));
    }
    builder = builder.register(object);

    // Filter, relation filter and ordering inputs.
    let mut filter = InputObject::new(filter_type(name))
        .field(InputValue::new(
            "and",
            TypeRef::named_nn_list(filter_type(name)),
        ))
        .field(InputValue::new(
            "or",
            TypeRef::named_nn_list(filter_type(name)),
        ))
        .field(InputValue::new("not", TypeRef::named(filter_type(name))));
    for column in &table.columns {
        filter = filter.field(InputValue::new(
            camel(column.name),
            TypeRef::named(filter_operator_type(table, column)),
        ));
    }
    for fk in &table.foreign_keys {
        filter = filter.field(InputValue::new(
            to_one_name(fk),
            TypeRef::named(filter_type(fk.ref_table)),
        ));
    }
    for fk in store.catalog.referencing(table.name) {
        filter = filter.field(InputValue::new(
            to_many_name(&store.catalog, &fk),
            TypeRef::named(list_filter_type(fk.table)),
        ));
    }
    builder = builder.register(filter);
    // The list filter is the type of the to-many filters of the tables this one references.
    if !table.foreign_keys.is_empty() {
        builder = builder.register(
            InputObject::new(list_filter_type(name))
                .field(InputValue::new("some", TypeRef::named(filter_type(name))))
                .field(InputValue::new("none", TypeRef::named(filter_type(name))))
                .field(InputValue::new("every", TypeRef::named(filter_type(name)))),
        );
    }
    let mut order = Enum::new(order_type(name));
    for column in page::sortable(table) {
        let upper = column.name.to_ascii_uppercase();
        order = order
            .item(format!("{upper}_ASC"))
            .item(format!("{upper}_DESC"));
    }
    builder = builder.register(order);

    // Connection, edge, aggregate.
    builder = builder.register(connection_object(table)).register(
        Object::new(edge_type(name))
            .field(Field::new(
                "cursor",
                TypeRef::named_nn(TypeRef::STRING),
                |ctx| {
                    FieldFuture::new(async move {
                        let edge = ctx.parent_value.try_downcast_ref::<Edge>()?;
                        Ok(Some(FieldValue::value(Value::String(edge.cursor.clone()))))
                    })
                },
            ))
            .field(Field::new(
                "node",
                TypeRef::named_nn(type_name(name)),
                |ctx| {
                    FieldFuture::new(async move {
                        let edge = ctx.parent_value.try_downcast_ref::<Edge>()?;
                        Ok(Some(FieldValue::owned_any(edge.node.clone())))
                    })
                },
            )),
    );
    builder = register_aggregate(builder, table, policy);

    // Mutation inputs: only the columns some principal may write.
    if let Some(policy) = policy {
        if let Some(insert) = policy
            .insert
            .as_ref()
            .filter(|i| i.check != Access::Never && !i.columns.is_empty())
        {
            // A column the insert cannot leave out — NOT NULL, without a default, not set by
            // the gateway — is required.
            let required = |column: &ColumnMeta| {
                !column.nullable
                    && !column.has_default
                    && !insert.presets.iter().any(|(c, _)| c.name == column.name)
            };
            builder = builder.register(input_object(
                format!("Create{type_name_}Input"),
                table,
                &insert.columns,
                required,
            ));
        }
        if let Some(update) = policy
            .update
            .as_ref()
            .filter(|u| u.using != Access::Never && !u.columns.is_empty())
        {
            builder = builder.register(input_object(
                format!("{type_name_}Patch"),
                table,
                &update.columns,
                |_| false,
            ));
        }
    }
    builder
}

/// An input object with one field per writable column, non-null where `required`.
fn input_object(
    name: String,
    table: &TableMeta,
    columns: &[crate::policy::Col],
    required: impl Fn(&ColumnMeta) -> bool,
) -> InputObject {
    columns
        .iter()
        .filter_map(|col| table.column(col.name))
        .fold(InputObject::new(name), |input, column| {
            let scalar = scalar_of(table, column);
            let ty = if required(column) {
                non_null(scalar)
            } else {
                scalar
            };
            input.field(InputValue::new(camel(column.name), ty))
        })
}

fn aggregate_columns(
    table: &TableMeta,
    policy: Option<&TablePolicy>,
) -> (Vec<ColumnMeta>, Vec<ColumnMeta>) {
    let usable = |c: &&ColumnMeta| !masked(policy, c);
    let numeric: Vec<ColumnMeta> = table
        .columns
        .iter()
        .filter(usable)
        .filter(|c| matches!(c.ty, ColType::SmallInt | ColType::Int | ColType::BigInt))
        .cloned()
        .collect();
    let ordered: Vec<ColumnMeta> = table
        .columns
        .iter()
        .filter(usable)
        .filter(|c| {
            matches!(
                c.ty,
                ColType::SmallInt | ColType::Int | ColType::BigInt | ColType::Timestamp
            )
        })
        .cloned()
        .collect();
    (numeric, ordered)
}

fn register_aggregate(
    mut builder: SchemaBuilder,
    table: &TableMeta,
    policy: Option<&TablePolicy>,
) -> SchemaBuilder {
    let name = type_name(table.name);
    let (numeric, ordered) = aggregate_columns(table, policy);
    let mut aggregate = Object::new(aggregate_type(table.name)).field(value_field(
        "count",
        "count",
        TypeRef::named_nn(TypeRef::INT),
    ));
    if !ordered.is_empty() {
        let mut values = Object::new(format!("{name}AggregateValues"));
        for column in &ordered {
            let column_name: &'static str = column.name;
            values = values.field(value_field(
                &camel(column.name),
                column_name,
                scalar_of(table, column),
            ));
        }
        builder = builder.register(values);
        aggregate = aggregate
            .field(value_field(
                "min",
                "min",
                TypeRef::named(format!("{name}AggregateValues")),
            ))
            .field(value_field(
                "max",
                "max",
                TypeRef::named(format!("{name}AggregateValues")),
            ));
    }
    if !numeric.is_empty() {
        let mut numbers = Object::new(format!("{name}AggregateNumbers"));
        for column in &numeric {
            let column_name: &'static str = column.name;
            numbers = numbers.field(value_field(
                &camel(column.name),
                column_name,
                TypeRef::named(TypeRef::FLOAT),
            ));
        }
        builder = builder.register(numbers);
        aggregate = aggregate
            .field(value_field(
                "sum",
                "sum",
                TypeRef::named(format!("{name}AggregateNumbers")),
            ))
            .field(value_field(
                "avg",
                "avg",
                TypeRef::named(format!("{name}AggregateNumbers")),
            ));
    }
    builder.register(aggregate)
}

fn connection_object(table: &TableMeta) -> Object {
    let name: &'static str = table.name;
    Object::new(connection_type(name))
        .field(Field::new(
            "nodes",
            TypeRef::named_nn_list_nn(type_name(name)),
            |ctx| {
                FieldFuture::new(async move {
                    let c = ctx.parent_value.try_downcast_ref::<Connection>()?;
                    // The nodes are borrowed from the connection, not copied.
                    Ok(Some(FieldValue::list(
                        c.nodes.iter().map(|node| FieldValue::borrowed_any(node)),
                    )))
                })
            },
        ))
        .field(Field::new(
            "edges",
            TypeRef::named_nn_list_nn(edge_type(name)),
            |ctx| {
                FieldFuture::new(async move {
                    let c = ctx.parent_value.try_downcast_ref::<Connection>()?;
                    Ok(Some(FieldValue::list(c.nodes.iter().map(|node| {
                        FieldValue::owned_any(Edge {
                            cursor: page::cursor(&c.spec.order, &node.row),
                            node: node.clone(),
                        })
                    }))))
                })
            },
        ))
        .field(Field::new(
            "pageInfo",
            TypeRef::named_nn("PageInfo"),
            |ctx| {
                FieldFuture::new(async move {
                    let c = ctx.parent_value.try_downcast_ref::<Connection>()?;
                    let (next, previous) = if c.spec.backwards {
                        (c.spec.cursor.is_some(), c.more)
                    } else {
                        (c.more, c.spec.cursor.is_some() || c.spec.offset > 0)
                    };
                    let cursor_of = |node: Option<&Node>| {
                        node.map_or(Value::Null, |n| {
                            Value::String(page::cursor(&c.spec.order, &n.row))
                        })
                    };
                    let info = Value::Object(
                        [
                            (Name::new("hasNextPage"), Value::Boolean(next)),
                            (Name::new("hasPreviousPage"), Value::Boolean(previous)),
                            (Name::new("startCursor"), cursor_of(c.nodes.first())),
                            (Name::new("endCursor"), cursor_of(c.nodes.last())),
                        ]
                        .into_iter()
                        .collect(),
                    );
                    Ok(Some(FieldValue::value(info)))
                })
            },
        ))
        .field(resolve(
            "totalCount",
            TypeRef::named_nn(TypeRef::INT),
            |ctx| {
                Box::pin(async move {
                    if let Some(total) = ctx
                        .parent_value
                        .downcast_ref::<Connection>()
                        .and_then(|c| c.total)
                    {
                        return Ok(Some(FieldValue::value(Value::from(total))));
                    }
                    let aggregate = connection_aggregate(&ctx, true).await?;
                    Ok(Some(FieldValue::value(json_value(&aggregate["count"]))))
                })
            },
        ))
        .field(resolve(
            "aggregate",
            TypeRef::named_nn(aggregate_type(name)),
            |ctx| {
                Box::pin(async move {
                    let aggregate = connection_aggregate(&ctx, false).await?;
                    Ok(Some(FieldValue::value(json_value(&Json::Object(
                        aggregate,
                    )))))
                })
            },
        ))
}

async fn connection_aggregate(
    ctx: &ResolverContext<'_>,
    count_only: bool,
) -> AppResult<crate::planner::batch::Aggregate> {
    let c = ctx
        .parent_value
        .try_downcast_ref::<Connection>()
        .map_err(|_| AppError::Internal("connection expected".into()))?;
    match &c.source {
        Source::Root => {
            let request = request(ctx)?;
            let filter = c.spec.filter.as_ref();
            let mut all = store(ctx)?
                .aggregate(&request.principal, c.table, filter, None, count_only)
                .await?;
            Ok(all.remove("").unwrap_or_default())
        }
        Source::Relation { fk, parent } => loaders(ctx)?
            .aggregates
            .load_one(AggregateKey {
                fk: *fk,
                filter: c.spec.filter.clone(),
                count_only,
                parent: parent.clone(),
            })
            .await
            .map_err(load_error)
            .map(Option::unwrap_or_default),
    }
}

/// Whether a connection's selection asks for its `totalCount`.
fn selects_total(field: async_graphql::SelectionField<'_>) -> bool {
    field.selection_set().any(|f| f.name() == "totalCount")
}

fn connection_args(field: Field) -> Field {
    field
        .argument(InputValue::new("first", TypeRef::named(TypeRef::INT)))
        .argument(InputValue::new("after", TypeRef::named(TypeRef::STRING)))
        .argument(InputValue::new("last", TypeRef::named(TypeRef::INT)))
        .argument(InputValue::new("before", TypeRef::named(TypeRef::STRING)))
        .argument(InputValue::new("offset", TypeRef::named(TypeRef::INT)))
}

/// A computed field of a table's type: `compute` over the node's row, whose selection read
/// the field's columns (`node_columns`).
fn computed_field(computed: &ComputedField) -> Field {
    let ty = match computed.ty {
        ComputedType::Int => TypeRef::INT,
        ComputedType::Float => TypeRef::FLOAT,
        ComputedType::String => TypeRef::STRING,
        ComputedType::Boolean => TypeRef::BOOLEAN,
        ComputedType::Json => scalars::JSON,
    };
    let compute = computed.compute;
    Field::new(camel(computed.name), TypeRef::named(ty), move |ctx| {
        from_node(&ctx, |node| {
            let value = compute(&node.row);
            (!value.is_null()).then(|| FieldValue::value(json_value(&value)))
        })
    })
    .description(computed.description)
}

fn to_one_field(fk: &ForeignKey) -> Field {
    let fk = *fk;
    resolve(
        to_one_name(&fk),
        TypeRef::named(type_name(fk.ref_table)),
        move |ctx| {
            Box::pin(async move {
                let node = ctx
                    .parent_value
                    .try_downcast_ref::<Node>()
                    .map_err(|_| AppError::Internal("node expected".into()))?;
                let Some(value) = node.row.get(fk.column).filter(|v| !v.is_null()) else {
                    return Ok(None);
                };
                let store = store(&ctx)?;
                let parent = store.table(fk.ref_table)?;
                let mut columns = vec![fk.ref_column];
                node_columns(
                    super::args::index(&ctx)?,
                    parent,
                    ctx.field().selection_set(),
                    &mut columns,
                );
                columns.sort_unstable();
                columns.dedup();
                let row = loaders(&ctx)?
                    .one
                    .load_one(OneKey {
                        table: fk.ref_table,
                        column: fk.ref_column,
                        value: key_text(value),
                        columns: Arc::new(columns),
                    })
                    .await
                    .map_err(load_error)?;
                Ok(row.map(|row| node_value(fk.ref_table, row)))
            })
        },
    )
}

fn to_many_field(catalog: &crate::catalog::Catalog, fk: ForeignKey) -> Field {
    resolve(
        to_many_name(catalog, &fk),
        TypeRef::named_nn(connection_type(fk.table)),
        move |ctx| {
            Box::pin(async move {
                let node = ctx
                    .parent_value
                    .try_downcast_ref::<Node>()
                    .map_err(|_| AppError::Internal("node expected".into()))?;
                let store = store(&ctx)?;
                let meta = store.table(fk.table)?;
                let spec = super::args::list_argument(&ctx, meta, cap(&ctx))?;
                let parent = node
                    .row
                    .get(fk.ref_column)
                    .map(key_text)
                    .unwrap_or_default();
                let columns = connection_columns(
                    super::args::index(&ctx)?,
                    meta,
                    ctx.field(),
                    &spec,
                    &[fk.column],
                );
                let page = loaders(&ctx)?
                    .many
                    .load_one(ManyKey {
                        fk,
                        spec: Arc::new(spec.clone()),
                        parent: parent.clone(),
                        columns,
                        total: selects_total(ctx.field()),
                    })
                    .await
                    .map_err(load_error)?
                    .unwrap_or_default();
                Ok(Some(FieldValue::owned_any(Connection::new(
                    fk.table,
                    page,
                    spec,
                    Source::Relation { fk, parent },
                ))))
            })
        },
    )
    .argument(InputValue::new(
        "filter",
        TypeRef::named(filter_type(fk.table)),
    ))
    .argument(InputValue::new(
        "orderBy",
        TypeRef::named_nn_list(order_type(fk.table)),
    ))
}

fn list_root(table: &TableMeta) -> Field {
    let name: &'static str = table.name;
    connection_args(
        resolve(
            list_field(name),
            TypeRef::named_nn(connection_type(name)),
            move |ctx| {
                Box::pin(async move {
                    let store = store(&ctx)?;
                    let request = request(&ctx)?;
                    let meta = store.table(name)?;
                    let spec = super::args::list_argument(&ctx, meta, cap(&ctx))?;
                    let columns = connection_columns(
                        super::args::index(&ctx)?,
                        meta,
                        ctx.field(),
                        &spec,
                        &[],
                    );
                    let page = store
                        .page(
                            &request.principal,
                            name,
                            &spec,
                            Some(&columns),
                            selects_total(ctx.field()),
                        )
                        .await?;

                    Ok(Some(FieldValue::owned_any(Connection::new(
                        name,
                        page,
                        spec,
                        Source::Root,
                    ))))
                })
            },
        )
        .argument(InputValue::new("filter", TypeRef::named(filter_type(name))))
        .argument(InputValue::new(
            "orderBy",
            TypeRef::named_nn_list(order_type(name)),
        )),
    )
    .description(format!("Rows of `{name}` the principal may read."))
}

fn key_args(mut field: Field, table: &TableMeta) -> Field {
    for key in &table.primary_key {
        if let Some(column) = table.column(key) {
            field = field.argument(InputValue::new(
                camel(key),
                non_null(scalar_of(table, column)),
            ));
        }
    }
    field
}

fn one_root(table: &TableMeta) -> Field {
    let name: &'static str = table.name;
    key_args(
        resolve(
            one_field(name),
            TypeRef::named(type_name(name)),
            move |ctx| {
                Box::pin(async move {
                    let store = store(&ctx)?;
                    let request = request(&ctx)?;
                    let meta = store.table(name)?;
                    let key = key_from_args(meta, &ctx)?;
                    let row = store.find(&request.principal, name, &key).await?;
                    Ok(row.map(|row| node_value(name, row)))
                })
            },
        ),
        table,
    )
    .description(format!(
        "One row of `{name}` by key; null when missing or not readable."
    ))
}

/// Who writes and for which request, borrowed from the request's data.
/// The plan of a mutation's required `filter` argument.
fn required_filter(
    ctx: &ResolverContext<'_>,
    meta: &TableMeta,
) -> AppResult<crate::planner::plan::Filter> {
    super::args::filter_argument(ctx, meta)?
        .ok_or_else(|| AppError::BadUserInput("`filter` is required".into()))
}

fn mutations(table: &TableMeta, policy: &TablePolicy) -> Vec<Field> {
    let name: &'static str = table.name;
    let type_name_ = type_name(name);
    let plural = pascal(&snake(&list_field(name)));
    let mut fields = Vec::new();
    if policy
        .insert
        .as_ref()
        .is_some_and(|i| i.check != Access::Never && !i.columns.is_empty())
    {
        let input = format!("Create{type_name_}Input");
        fields.push(
            resolve(
                format!("create{type_name_}"),
                TypeRef::named(&type_name_),
                move |ctx| {
                    Box::pin(async move {
                        let store = store(&ctx)?;
                        let meta = store.table(name)?;
                        let input = required(&ctx, "input")?;
                        let row = input_row(meta, input.as_value())?;
                        let write = write_context(&ctx)?;
                        let written = store.insert(write, name, row).await?;
                        Ok(Some(node_value(name, written)))
                    })
                },
            )
            .argument(InputValue::new("input", TypeRef::named_nn(&input))),
        );
        fields.push(
            resolve(
                format!("create{plural}"),
                TypeRef::named_nn_list(&type_name_),
                move |ctx| {
                    Box::pin(async move {
                        let store = store(&ctx)?;
                        let meta = store.table(name)?;
                        let inputs = required(&ctx, "inputs")?;
                        let Value::List(items) = inputs.as_value() else {
                            return Err(bad("`inputs` takes a list"));
                        };
                        let rows = items
                            .iter()
                            .map(|item| input_row(meta, item))
                            .collect::<AppResult<Vec<_>>>()?;
                        let write = write_context(&ctx)?;
                        let written = store.insert_many(write, name, rows).await?;
                        Ok(Some(nodes(name, written)))
                    })
                },
            )
            .argument(InputValue::new("inputs", TypeRef::named_nn_list_nn(&input))),
        );
    }
    if policy
        .update
        .as_ref()
        .is_some_and(|u| u.using != Access::Never && !u.columns.is_empty())
    {
        let patch = format!("{type_name_}Patch");
        fields.push(
            key_args(
                resolve(
                    format!("update{type_name_}"),
                    TypeRef::named(&type_name_),
                    move |ctx| {
                        Box::pin(async move {
                            let store = store(&ctx)?;
                            let meta = store.table(name)?;
                            let key = key_from_args(meta, &ctx)?;
                            let patch = required(&ctx, "patch")?;
                            let patch = input_row(meta, patch.as_value())?;
                            let write = write_context(&ctx)?;
                            let written = store.update(write, name, &key, patch).await?;
                            Ok(Some(node_value(name, written)))
                        })
                    },
                ),
                table,
            )
            .argument(InputValue::new("patch", TypeRef::named_nn(&patch))),
        );
        fields.push(
            resolve(
                format!("update{plural}"),
                TypeRef::named_nn_list(&type_name_),
                move |ctx| {
                    Box::pin(async move {
                        let store = store(&ctx)?;
                        let meta = store.table(name)?;
                        let filter = required_filter(&ctx, meta)?;
                        let patch = required(&ctx, "patch")?;
                        let patch = input_row(meta, patch.as_value())?;
                        let write = write_context(&ctx)?;
                        let written = store.update_where(write, name, &filter, patch).await?;
                        Ok(Some(nodes(name, written)))
                    })
                },
            )
            .argument(InputValue::new(
                "filter",
                TypeRef::named_nn(filter_type(name)),
            ))
            .argument(InputValue::new("patch", TypeRef::named_nn(&patch))),
        );
    }
    if policy.delete != Access::Never {
        fields.push(key_args(
            resolve(
                format!("delete{type_name_}"),
                TypeRef::named(&type_name_),
                move |ctx| {
                    Box::pin(async move {
                        let store = store(&ctx)?;
                        let meta = store.table(name)?;
                        let key = key_from_args(meta, &ctx)?;
                        let write = write_context(&ctx)?;
                        let written = store.delete(write, name, &key).await?;
                        Ok(Some(node_value(name, written)))
                    })
                },
            ),
            table,
        ));
        fields.push(
            resolve(
                format!("delete{plural}"),
                TypeRef::named_nn_list(&type_name_),
                move |ctx| {
                    Box::pin(async move {
                        let store = store(&ctx)?;
                        let filter = required_filter(&ctx, store.table(name)?)?;
                        let write = write_context(&ctx)?;
                        let written = store.delete_where(write, name, &filter).await?;
                        Ok(Some(nodes(name, written)))
                    })
                },
            )
            .argument(InputValue::new(
                "filter",
                TypeRef::named_nn(filter_type(name)),
            )),
        );
    }
    fields
}
