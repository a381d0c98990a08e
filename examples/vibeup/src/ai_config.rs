//! `aiModels` / `aiModel(key)`: the AI router's model configurations as the principal may
//! read them, answered from the hot cache (`PolicySet::with_cached_tables`) — no SQL when
//! warm, fresh after any write of `ai_model_configs` through a gateway (on every instance).
//!
//! The rows are the table's own type, `AiModelConfig`, under its read policy and masks
//! evaluated in memory: administrators read every configuration with its system prompt,
//! signed-in users the enabled ones without it, anonymous requests none. (`aiModelConfigs`
//! stays the table's paged connection, read from the database.)

use async_graphql::dynamic::{Field, FieldValue, InputValue, TypeRef};
use rowgate::error::AppError;
use rowgate::graphql::names::type_name;
use rowgate::graphql::tables::Node;
use rowgate::graphql::{cached_rows, resolver_field};
use rowgate::policy::eval::Row;

/// The cached table.
const TABLE: &str = "ai_model_configs";

/// The `aiModels` and `aiModel(key)` root fields.
#[derive(Debug, Clone, Copy)]
pub struct AiConfigExtension;

fn node(row: Row) -> FieldValue<'static> {
    FieldValue::owned_any(Node::new(TABLE, row))
}

fn key_of(row: &Row) -> Option<&str> {
    row.get("key").and_then(serde_json::Value::as_str)
}

impl rowgate::SchemaExtension for AiConfigExtension {
    fn query_fields(&self) -> Vec<Field> {
        let ty = type_name(TABLE);
        vec![
            resolver_field("aiModels", TypeRef::named_nn_list_nn(&ty), |ctx| {
                Box::pin(async move {
                    let mut rows = cached_rows(ctx, TABLE).await?;
                    rows.sort_by(|a, b| key_of(a).cmp(&key_of(b)));
                    Ok(Some(FieldValue::list(rows.into_iter().map(node))))
                })
            })
            .description(
                "The AI model configurations the principal may read, sorted by key, from the hot cache: every one for administrators, the enabled ones (without their system prompt) for signed-in users, none for anonymous requests.",
            ),
            resolver_field("aiModel", TypeRef::named(&ty), |ctx| {
                Box::pin(async move {
                    let key = ctx
                        .args
                        .try_get("key")
                        .and_then(|v| v.string().map(str::to_owned))
                        .map_err(|e| AppError::BadUserInput(e.message))?;
                    let rows = cached_rows(ctx, TABLE).await?;
                    Ok(rows
                        .into_iter()
                        .find(|row| key_of(row) == Some(key.as_str()))
                        .map(node))
                })
            })
            .argument(InputValue::new("key", TypeRef::named_nn(TypeRef::STRING)))
            .description(
                "The AI model configuration `key` if the principal may read it (see `aiModels`), else null; from the hot cache.",
            ),
        ]
    }
}
