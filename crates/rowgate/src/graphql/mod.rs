//! The GraphQL schema (async-graphql dynamic schema). No SQL is built here: resolvers call
//! into the data layer and convert its errors exactly once, through [`AppError::to_graphql`].

pub mod args;
mod hot;
pub mod limits;
pub mod loaders;
pub mod names;
mod nulls;
pub mod persisted;
pub mod relay;
pub mod scalars;
pub mod subscriptions;
pub mod tables;

use std::future::Future;
use std::pin::Pin;

use async_graphql::Value;
use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, Object, ResolverContext, Schema, SchemaError, TypeRef,
};

use crate::auth::Principal;
use crate::cache::HotCache;
use crate::error::AppResult;

/// Per-request data every resolver may read.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Who is asking.
    pub principal: Principal,
    /// Id of this request, for logs and INTERNAL errors.
    pub request_id: String,
}

/// The schema type served at `/graphql`.
pub type GatewaySchema = Schema;

/// Settings of the schema.
#[derive(Debug, Clone, Copy)]
pub struct SchemaOptions {
    /// Largest `first`/`last`.
    pub max_page_size: u64,
    /// Answer `__schema` and `__type`; when off they are unknown fields (`__typename`
    /// still works). Depth, cost and alias limits are checked before execution, by
    /// [`limits::LimitChecker`].
    pub introspection: bool,
}

impl Default for SchemaOptions {
    fn default() -> Self {
        Self {
            max_page_size: 100,
            introspection: true,
        }
    }
}

/// Attaches the per-request data to `request`: who is asking, and fresh dataloaders that
/// live for this request only.
pub fn prepare(
    request: async_graphql::Request,
    store: &crate::planner::Store,
    principal: Principal,
    request_id: String,
) -> async_graphql::Request {
    let loaders = loaders::Loaders::new(store, &principal);
    request
        .data(RequestContext {
            principal,
            request_id,
        })
        .data(loaders)
}

/// Whether `response` failed before execution (a syntax, validation or variable error, a
/// refusal): no data and only errors without a path — a request error, in the GraphQL
/// specification's terms.
pub fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// Executes `request`, cancelling it at `deadline`: a request still running then answers
/// TIMEOUT (with the request id), its open transaction is rolled back and its connection
/// released, on every transport. A request that has begun to commit a write is not
/// cancelled but left to finish (its later writes refuse themselves past the deadline; see
/// [`crate::planner::Deadline`]), so its answer says what was written; it gets one more
/// its answer is awaited (each remaining statement is bounded by the statement timeout).
pub async fn execute_within(
    schema: &GatewaySchema,
    request: async_graphql::Request,
    deadline: std::time::Duration,
    request_id: &str,
) -> async_graphql::Response {
    run_within(request, deadline, request_id, |request| {
        schema.execute(request)
    })
    .await
}

/// [`execute_within`] for any way of executing the request (over WebSocket, with the
/// connection's data).
pub async fn run_within<F, Fut>(
    request: async_graphql::Request,
    deadline: std::time::Duration,
    request_id: &str,
    execute: F,
) -> async_graphql::Response
where
    F: FnOnce(async_graphql::Request) -> Fut,
    Fut: std::future::Future<Output = async_graphql::Response>,
{
    let state = std::sync::Arc::new(crate::planner::Deadline::after(deadline));
    let execution = execute(request.data(state.clone()));
    tokio::pin!(execution);
    let timed_out = || {
        async_graphql::Response::from_errors(vec![
            crate::error::AppError::Timeout(format!(
                "the request did not finish within {} s",
                deadline.as_secs()
            ))
            .to_request_error(request_id),
        ])
    };
    tokio::select! {
        response = &mut execution => return response,
        () = tokio::time::sleep_until(state.at()) => {}
    }
    if !state.has_committed() {
        return timed_out();
    }
    // Something is committed: the answer must say what. Each remaining step is bounded by
    // the statement timeout, and later writes refuse themselves past the deadline.
    execution.await
}

/// Builds the schema over `store`, answering hot configuration from `cache`. Per-request
/// data is attached by [`prepare`].
pub fn build_schema_with(
    store: crate::planner::Store,
    cache: HotCache,
    options: SchemaOptions,
    extensions: &[std::sync::Arc<dyn crate::SchemaExtension>],
) -> Result<GatewaySchema, SchemaError> {
    let db = store.db.clone();
    let mut query = Object::new("Query").description("Every read the principal may make.");
    // The hot configuration is served where the application declares it.
    let hot = *store.policies.hot_config();
    for field in hot::fields(hot.flags.is_some(), hot.config.is_some()) {
        query = query.field(field);
    }
    for extension in extensions {
        for field in extension.query_fields() {
            query = query.field(field);
        }
    }

    let builder = Schema::build("Query", Some("Mutation"), Some("Subscription"))
        .data(db)
        .data(subscriptions::Dispatcher::new(store.clone()))
        .data(store.clone())
        .data(cache)
        .data(tables::PageCap(options.max_page_size))
        .data(std::sync::Arc::new(args::FieldIndex::new(&store.catalog)));
    let builder = if options.introspection {
        builder
    } else {
        builder.disable_introspection()
    };
    let builder = scalars::register(builder).extension(relay::NullItems);
    let builder = extensions
        .iter()
        .fold(builder, |builder, extension| extension.register(builder));
    let builder = if hot.flags.is_some() {
        hot::register(builder)
    } else {
        builder
    };
    let (builder, roots) = tables::register(builder, &store);
    for field in roots.query {
        query = query.field(field);
    }
    let mut mutation = Object::new("Mutation").description("Every write the principal may make.");
    for field in roots
        .mutation
        .into_iter()
        .chain(extensions.iter().flat_map(|e| e.mutation_fields()))
    {
        mutation = mutation.field(field);
    }
    let (builder, subscription) = subscriptions::register(builder, &store);
    builder
        .register(query)
        .register(mutation)
        .register(subscription)
        .finish()
}

/// The store the schema serves, for a resolver (an application's schema extension reads
/// and writes through it, under the same policies as every generated field).
pub fn store<'a>(ctx: &ResolverContext<'a>) -> AppResult<&'a crate::planner::Store> {
    ctx.data::<crate::planner::Store>()
        .map_err(|_| crate::error::AppError::Internal("store missing".into()))
}

/// The rows of the cached table `table` (`PolicySet::with_cached_tables`) that the
/// request's principal may read, masked as they may see them, from the hot cache: no SQL
/// when warm, and fresh after any write of the table through a gateway. For an extension's
/// resolvers (model configurations, effective configuration from overrides).
pub async fn cached_rows(
    ctx: &ResolverContext<'_>,
    table: &str,
) -> AppResult<Vec<crate::policy::eval::Row>> {
    let request = ctx
        .data::<RequestContext>()
        .map_err(|_| crate::error::AppError::Internal("request context missing".into()))?;
    let cache = ctx
        .data::<HotCache>()
        .map_err(|_| crate::error::AppError::Internal("hot cache missing".into()))?;
    cache.table_rows(&request.principal, table).await
}

/// Who writes in this request, for a resolver's writes through [`store`].
pub fn write_context<'a>(ctx: &ResolverContext<'a>) -> AppResult<crate::planner::WriteContext<'a>> {
    let request = ctx
        .data::<RequestContext>()
        .map_err(|_| crate::error::AppError::Internal("request context missing".into()))?;
    Ok(crate::planner::WriteContext {
        principal: &request.principal,
        request_id: &request.request_id,
        deadline: ctx
            .data_opt::<std::sync::Arc<crate::planner::Deadline>>()
            .map(std::sync::Arc::as_ref),
    })
}

/// The future a [`Resolver`] returns.
pub type ResolverFuture<'a> =
    Pin<Box<dyn Future<Output = AppResult<Option<FieldValue<'static>>>> + Send + 'a>>;

/// A resolver of the gateway: returns `AppResult`, never an async-graphql error.
pub type Resolver = for<'a> fn(&'a ResolverContext<'a>) -> ResolverFuture<'a>;

/// A field whose resolver returns `AppResult`; errors are reported here, once, at the
/// field's path (see [`nulls`]).
pub fn resolver_field(name: &str, ty: TypeRef, resolve: Resolver) -> Field {
    let non_null = matches!(ty, TypeRef::NonNull(_));
    Field::new(name, ty, move |ctx| {
        FieldFuture::new(async move {
            match resolve(&ctx).await {
                Ok(value) => Ok(value),
                Err(error) => failed(ctx.ctx, &error, non_null),
            }
        })
    })
}

/// What a field whose resolver failed with `error` resolves to (see [`nulls`]).
pub(crate) fn failed<'a>(
    ctx: &async_graphql::Context<'_>,
    error: &crate::error::AppError,
    non_null: bool,
) -> async_graphql::Result<Option<FieldValue<'a>>> {
    let request_id = ctx
        .data_opt::<RequestContext>()
        .map(|r| r.request_id.as_str())
        .unwrap_or_default();
    nulls::field_failed(ctx, error, non_null, request_id)
}

/// Completes a response the gateway executed: field errors nulled up to their nearest
/// nullable parent, and every error given an `extensions.code`. `query` is the document
/// text the response answers (empty when it did not parse).
pub fn complete_response(
    response: &mut async_graphql::Response,
    checker: &limits::LimitChecker,
    query: &str,
    operation_name: Option<&str>,
    introspection: bool,
    request_id: &str,
) {
    nulls::propagate(response, checker.types(), query, operation_name);
    // Only a response with data (its document parsed and validated) is put in order.
    if matches!(response.data, Value::Object(_))
        && let Some(shape) = checker.shape(query, operation_name)
    {
        nulls::order_fields(response, &shape);
    }
    limits::complete_error_codes(response, introspection, request_id);
}

/// The document text of `request`, taken out of it once its parsed form is attached (the
/// execution reads only that), to complete the response with; empty when it does not
/// parse (the execution then reports the syntax error from the text).
pub fn take_query(request: &mut async_graphql::Request) -> String {
    if request.parsed_query().is_ok() {
        std::mem::take(&mut request.query)
    } else {
        String::new()
    }
}

/// A field read from the parent object value under `key` (objects built as GraphQL values).
pub fn value_field(name: &str, key: &'static str, ty: TypeRef) -> Field {
    Field::new(name, ty, move |ctx| {
        FieldFuture::new(async move {
            let value = match ctx.parent_value.as_value() {
                Some(Value::Object(map)) => map.get(key).cloned().unwrap_or(Value::Null),
                _ => Value::Null,
            };
            Ok(match value {
                Value::Null => None,
                Value::List(items) => {
                    Some(FieldValue::list(items.into_iter().map(FieldValue::value)))
                }
                other => Some(FieldValue::value(other)),
            })
        })
    })
}
