//! `markNotificationsRead(ids)` and `markAllNotificationsRead`: the principal's own unread
//! notifications (among `ids`) get `read_at`; the count changed is returned. A schema
//! extension of the reference application, writing through the engine's store: the update
//! runs under the `notifications` policy (a principal marks only rows they may change),
//! audited and published like any write.

use async_graphql::Value;
use async_graphql::dynamic::{Field, FieldValue, InputValue, ResolverContext, TypeRef};
use rowgate::error::{AppError, AppResult};
use rowgate::graphql::{resolver_field, scalars, store, write_context};
use rowgate::hooks::row;
use rowgate::planner::plan::{ColumnOp, Filter, Operand};
use rowgate::planner::values::{now, timestamp_json};
use rowgate::policy::col;
use serde_json::Value as Json;

/// The two mutations.
#[derive(Debug, Clone, Copy)]
pub struct NotificationsExtension;

impl rowgate::SchemaExtension for NotificationsExtension {
    fn mutation_fields(&self) -> Vec<Field> {
        vec![
            resolver_field(
                "markNotificationsRead",
                TypeRef::named(TypeRef::INT),
                |ctx| {
                    Box::pin(async move {
                        let ids = match ctx.args.get("ids") {
                            Some(ids) if !ids.is_null() => ids
                                .as_value()
                                .clone()
                                .into_json()
                                .ok()
                                .and_then(|j| j.as_array().cloned())
                                .unwrap_or_default(),
                            _ => Vec::new(),
                        };
                        mark_read(ctx, Some(ids)).await
                    })
                },
            )
            .argument(InputValue::new(
                "ids",
                TypeRef::named_nn_list(scalars::UUID),
            )),
            resolver_field(
                "markAllNotificationsRead",
                TypeRef::named(TypeRef::INT),
                |ctx| Box::pin(mark_read(ctx, None)),
            ),
        ]
    }
}

/// Marks the principal's unread notifications (those of `ids`, or all) read.
async fn mark_read(
    ctx: &ResolverContext<'_>,
    ids: Option<Vec<Json>>,
) -> AppResult<Option<FieldValue<'static>>> {
    let store = store(ctx)?;
    let write = write_context(ctx)?;
    if write.principal.user_id.is_none() {
        return Err(AppError::Unauthenticated(
            "sign in to mark notifications read".into(),
        ));
    }
    use entities::notifications::Column as N;
    let mut unread = vec![Filter::column(col(N::ReadAt).name, ColumnOp::IsNull(true))];
    if let Some(ids) = ids {
        let ids = ids.into_iter().map(Operand).collect();
        unread.push(Filter::column(col(N::Id).name, ColumnOp::In(ids)));
    }
    let filter = Filter::All(unread);
    let patch = row([(N::ReadAt, timestamp_json(now()))]);
    let written = store
        .update_where(write, "notifications", &filter, patch)
        .await?;
    Ok(Some(FieldValue::value(Value::from(
        i32::try_from(written.len()).unwrap_or(i32::MAX),
    ))))
}
