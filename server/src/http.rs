//! HTTP routes: `/graphql` (POST and GET), `/` (GraphiQL, served from the binary),
//! `/healthz`, `/readyz`; everything else is a JSON 404.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sea_orm::DatabaseConnection;
use serde_json::json;

use crate::auth::TokenVerifier;
use crate::auth::resolve::{RequestIdentity, bearer_token, resolve_principal};
use crate::config::Config;
use crate::error::AppError;
use crate::graphql::GatewaySchema;

/// Everything a request handler needs, shared by all requests.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

/// The shared parts behind [`AppState`].
#[derive(Debug)]
pub struct Shared {
    /// Validated configuration.
    pub config: Config,
    /// Connection pool.
    pub db: DatabaseConnection,
    /// Reads and writes under the policies.
    pub store: crate::planner::Store,
    /// The GraphQL schema.
    pub schema: GatewaySchema,
    /// Token verification.
    pub verifier: TokenVerifier,
    /// Redis, when configured.
    pub redis: Option<redis::Client>,
}

impl AppState {
    /// Wraps the shared parts.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The router with every route of the gateway.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if state.config.graphiql {
        router = router
            .route("/", get(graphiql_page))
            .route("/graphiql/{file}", get(graphiql_asset));
    }
    router.fallback(not_found).with_state(state)
}

const REQUEST_ID: &str = "x-request-id";

/// The request's id: the caller's `X-Request-Id` when it is a short token, else a new UUID.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

fn error_response(err: &AppError, request_id: &str) -> Response {
    let mut response =
        (err.code().http_status(), Json(err.to_http_body(request_id))).into_response();
    with_request_id(&mut response, request_id);
    response
}

fn with_request_id(response: &mut Response, request_id: &str) {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
}

async fn graphql_post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let request_id = request_id(&headers);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if !content_type.starts_with("application/json")
        && !content_type.starts_with("application/graphql-response+json")
    {
        return error_response(
            &AppError::BadUserInput(
                "the body must be a JSON GraphQL request (content-type: application/json)".into(),
            ),
            &request_id,
        );
    }
    let batch: async_graphql::BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(_) => {
            return error_response(
                &AppError::BadUserInput(
                    "the body must be a JSON GraphQL request: {\"query\": \"…\", \"variables\": {…}}".into(),
                ),
                &request_id,
            );
        }
    };
    execute(&state, &headers, batch, request_id).await
}

async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let request_id = request_id(&headers);
    let request = match async_graphql::http::parse_query_string(query.as_deref().unwrap_or("")) {
        Ok(request) => request,
        Err(_) => {
            return error_response(
                &AppError::BadUserInput(
                    "the query string must carry `query` (and JSON `variables`)".into(),
                ),
                &request_id,
            );
        }
    };
    execute(
        &state,
        &headers,
        async_graphql::BatchRequest::Single(request),
        request_id,
    )
    .await
}

async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    batch: async_graphql::BatchRequest,
    request_id: String,
) -> Response {
    let header_text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let bearer = match header_text(header::AUTHORIZATION)
        .map(bearer_token)
        .transpose()
    {
        Ok(bearer) => bearer,
        Err(err) => return error_response(&err, &request_id),
    };
    let identity = RequestIdentity {
        bearer,
        tenant_header: headers.get("x-tenant-id").and_then(|v| v.to_str().ok()),
        host: header_text(header::HOST),
    };
    let principal = match resolve_principal(&state.db, &state.verifier, identity).await {
        Ok(principal) => principal,
        Err(err) => return error_response(&err, &request_id),
    };
    let prepare = |request| {
        crate::graphql::prepare(request, &state.store, principal.clone(), request_id.clone())
    };
    let response = match batch {
        async_graphql::BatchRequest::Single(request) => {
            async_graphql::BatchResponse::Single(state.schema.execute(prepare(request)).await)
        }
        async_graphql::BatchRequest::Batch(requests) => {
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                responses.push(state.schema.execute(prepare(request)).await);
            }
            async_graphql::BatchResponse::Batch(responses)
        }
    };
    let mut response = Json(response).into_response();
    with_request_id(&mut response, &request_id);
    response
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> Response {
    let database = tokio::time::timeout(Duration::from_secs(2), state.db.ping())
        .await
        .is_ok_and(|r| r.is_ok());
    let redis = match &state.redis {
        None => None,
        Some(client) => Some(redis_ping(client).await),
    };
    let ready = database && redis.unwrap_or(true);
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "database": if database { "up" } else { "down" },
        "redis": match redis { None => "not configured", Some(true) => "up", Some(false) => "down" },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

async fn redis_ping(client: &redis::Client) -> bool {
    let ping = async {
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), ping).await,
        Ok(Ok(_))
    )
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "errors": [{ "message": "not found", "extensions": { "code": "NOT_FOUND" } }] })),
    )
        .into_response()
}

const GRAPHIQL_HTML: &str = include_str!("../assets/graphiql/index.html");

async fn graphiql_page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        GRAPHIQL_HTML,
    )
        .into_response()
}

/// The vendored GraphiQL files, compiled into the binary so `/` works with no internet.
const GRAPHIQL_ASSETS: [(&str, &str, &[u8]); 4] = [
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/react-dom.production.min.js"),
    ),
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/graphiql/graphiql.min.css"),
    ),
];

async fn graphiql_asset(Path(file): Path<String>) -> Response {
    match GRAPHIQL_ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            *bytes,
        )
            .into_response(),
        None => not_found().await,
    }
}
