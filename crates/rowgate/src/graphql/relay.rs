//! Relay's object identification, as Supabase's pg_graphql spells it: a `Node` interface, a
//! globally unique and opaque `nodeId: ID!` on every table type (composite keys included),
//! and `node(nodeId:)` / `nodes(nodeIds:)` at the root. A node is read through the same
//! read policy as every other path: one the principal may not read is `null`.
//!
//! A `nodeId` is the base64 of the JSON array `[table, key values…]`, the key values in
//! their GraphQL form (enums as their names), so that decoding checks them like arguments.

use async_graphql::Value;
use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, InputValue, Interface, InterfaceField, TypeRef,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::names::type_name;
use super::store;
use super::tables::{Node, PageCap, output, request, resolve};
use crate::catalog::TableMeta;
use crate::error::{AppError, AppResult};
use crate::planner::Store;
use crate::policy::eval::Row;

/// Name of the interface.
pub const NODE: &str = "Node";
/// Name of the id field.
pub const NODE_ID: &str = "nodeId";
/// Name of the argument of `nodes`.
pub const NODE_IDS: &str = "nodeIds";

/// The `Node` interface.
pub fn interface() -> Interface {
    Interface::new(NODE)
        .description("An object with a globally unique, opaque id (Relay's object identification).")
        .field(InterfaceField::new(NODE_ID, TypeRef::named_nn(TypeRef::ID)))
}

/// The `nodeId` of the row of `table` whose key columns `key` holds (a whole row will do).
pub fn encode(table: &TableMeta, key: &Row) -> Option<String> {
    let mut parts = vec![serde_json::Value::String(table.name.to_owned())];
    for name in &table.primary_key {
        let column = table.column(name)?;
        parts.push(output(column, key.get(*name)?)?.into_json().ok()?);
    }
    Some(STANDARD.encode(serde_json::Value::Array(parts).to_string()))
}

/// The table and key a `nodeId` names; BAD_USER_INPUT for anything this API did not issue.
pub fn decode(store: &Store, id: &str) -> AppResult<(&'static str, Row)> {
    let refuse = || AppError::BadUserInput(format!("`{id}` is not a node id of this API"));
    let bytes = STANDARD.decode(id.trim()).map_err(|_| refuse())?;
    let parts: Vec<serde_json::Value> = serde_json::from_slice(&bytes).map_err(|_| refuse())?;
    let (Some(serde_json::Value::String(table)), values) = (parts.first(), parts.get(1..)) else {
        return Err(refuse());
    };
    let meta = store.catalog.table(table).ok_or_else(refuse)?;
    let values = values.unwrap_or_default();
    if values.len() != meta.primary_key.len() {
        return Err(refuse());
    }
    let mut key = Row::new();
    for (name, value) in meta.primary_key.iter().zip(values) {
        let column = meta.column(name).ok_or_else(refuse)?;
        let value = Value::from_json(value.clone()).map_err(|_| refuse())?;
        let stored = super::args::input_json(column, &value).map_err(|_| refuse())?;
        if stored.is_null() {
            return Err(refuse());
        }
        key.insert((*name).to_owned(), stored);
    }
    Ok((meta.name, key))
}

/// The `nodeId` field of `table`'s object type.
pub fn node_id_field(table: &TableMeta) -> Field {
    let meta = std::sync::Arc::new(table.clone());
    Field::new(NODE_ID, TypeRef::named_nn(TypeRef::ID), move |ctx| {
        let meta = meta.clone();
        FieldFuture::new(async move {
            let node = ctx.parent_value.try_downcast_ref::<Node>()?;
            let id = encode(&meta, &node.row)
                .ok_or_else(|| async_graphql::Error::new("the row's key was not read"))?;
            Ok(Some(FieldValue::value(Value::String(id))))
        })
    })
    .description("A globally unique, opaque id of the row: `node(nodeId:)` reads it back.")
}

/// The readable row a `nodeId` names, as a value of the `Node` interface.
async fn read(
    store: &Store,
    principal: &crate::policy::Principal,
    id: &str,
) -> AppResult<Option<FieldValue<'static>>> {
    let (table, key) = decode(store, id)?;
    let row = store.find(principal, table, &key).await?;
    Ok(row.map(|row| FieldValue::owned_any(Node::new(table, row)).with_type(type_name(table))))
}

/// The type name a missing item of `nodes` carries. The dynamic schema cannot resolve a
/// null item of an interface list; the item fails naming this type, and [`NullItems`] turns
/// exactly that failure into the `null` item it stands for.
const NO_NODE: &str = "rowgate: no readable node";

fn no_node() -> FieldValue<'static> {
    FieldValue::NULL.with_type(NO_NODE)
}

/// The schema extension that lets `nodes` answer `null` items (see [`NO_NODE`]).
#[derive(Debug, Clone, Copy)]
pub struct NullItems;

impl async_graphql::extensions::ExtensionFactory for NullItems {
    fn create(&self) -> std::sync::Arc<dyn async_graphql::extensions::Extension> {
        std::sync::Arc::new(NullItems)
    }
}

#[async_graphql::async_trait::async_trait]
impl async_graphql::extensions::Extension for NullItems {
    async fn resolve(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        info: async_graphql::extensions::ResolveInfo<'_>,
        next: async_graphql::extensions::NextResolve<'_>,
    ) -> async_graphql::ServerResult<Option<Value>> {
        let item_of_nodes = info.return_type == NODE;
        match next.run(ctx, info).await {
            Err(error) if item_of_nodes && error.message.contains(NO_NODE) => Ok(None),
            other => other,
        }
    }
}

/// `node(nodeId:)` and `nodes(nodeIds:)`.
pub fn root_fields() -> [Field; 2] {
    let node = resolve("node", TypeRef::named(NODE), |ctx| {
        Box::pin(async move {
            let store = store(&ctx)?;
            let request = request(&ctx)?;
            let id = ctx
                .args
                .try_get("nodeId")
                .and_then(|v| v.string())
                .map_err(|_| AppError::BadUserInput("`nodeId` is required".into()))?;
            read(store, &request.principal, id).await
        })
    })
    .argument(InputValue::new("nodeId", TypeRef::named_nn(TypeRef::ID)))
    .description("The row a `nodeId` names; null when missing or not readable.");
    let nodes = resolve("nodes", TypeRef::named_list_nn(NODE), |ctx| {
        Box::pin(async move {
            let store = store(&ctx)?;
            let request = request(&ctx)?;
            let cap = ctx.data::<PageCap>().map_or(100, |c| c.0);
            let ids = ctx
                .args
                .try_get(NODE_IDS)
                .and_then(|v| v.list())
                .map_err(|_| AppError::BadUserInput("`nodeIds` is required".into()))?;
            if ids.len() as u64 > cap {
                return Err(AppError::BadUserInput(format!(
                    "at most {cap} node ids per request"
                )));
            }
            let mut found = Vec::with_capacity(ids.len());
            for id in ids.iter() {
                let id = id
                    .string()
                    .map_err(|_| AppError::BadUserInput("a node id is a string".into()))?;
                found.push(
                    read(store, &request.principal, id)
                        .await?
                        .unwrap_or_else(no_node),
                );
            }
            Ok(Some(FieldValue::list(found)))
        })
    })
    .argument(InputValue::new(
        NODE_IDS,
        TypeRef::named_nn_list_nn(TypeRef::ID),
    ))
    .description(
        "The rows the `nodeIds` name, in their order; null for each missing or not readable.",
    );
    [node, nodes]
}
