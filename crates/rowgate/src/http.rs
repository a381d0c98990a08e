//! HTTP routes: `/graphql` (POST and GET), `/` (GraphiQL, served from the binary),
//! `/favicon.svg`, `/graphiql/demo-principals` (embedded default only), `/healthz`, `/readyz`,
//! `/metrics`; everything else is a JSON 404.
//!
//! A GraphQL request passes, in this order: body size (413), JSON shape and batch size
//! (400), each operation's document size, variables size, depth, aliases and cost (400),
//! GET running a query (405), authentication (401/403); only then does it execute. Those
//! are whole-request errors: `{"errors": [...]}` without `data`. What GraphQL reports
//! itself (syntax, validation, resolver errors) comes back with HTTP 200, each error with
//! an `extensions.code`.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::parser::types::OperationType;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRef, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sea_orm::DatabaseConnection;
use serde_json::json;

use crate::auth::TokenVerifier;
use crate::auth::resolve::{RequestIdentity, bearer_token, resolve_principal};
use crate::config::Config;
use crate::error::{AppError, ErrorCode};
use crate::graphql::GatewaySchema;
use crate::graphql::limits::{self, LimitChecker};

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
    /// Hot configuration and principal facts.
    pub cache: crate::cache::HotCache,
    /// Documents sent by hash (APQ, allow-list).
    pub persisted: crate::graphql::persisted::PersistedQueries,
    /// The application served.
    pub application: crate::Application,
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

/// The state of the routes: the shared parts, and the request limits checked against the
/// schema's types (built once, from the schema's SDL).
#[derive(Debug, Clone)]
struct RouterState {
    app: AppState,
    limits: Arc<LimitChecker>,
    subscribers: Arc<crate::ws::Registry>,
}

impl FromRef<RouterState> for AppState {
    fn from_ref(state: &RouterState) -> Self {
        state.app.clone()
    }
}

/// The router with every route of the gateway.
pub fn router(state: AppState) -> Router {
    let limits = state.config.limits;
    let graphiql = state.config.graphiql;
    let state = RouterState {
        // The schema is built with the default page cap (see `build_app_parts`).
        limits: Arc::new(LimitChecker::new(
            &state.schema,
            limits,
            crate::graphql::SchemaOptions::default().max_page_size,
        )),
        app: state,
        subscribers: Arc::new(crate::ws::Registry::new(
            crate::ws::MAX_CONNECTIONS_PER_USER,
            crate::ws::MAX_SUBSCRIPTIONS_PER_CONNECTION,
        )),
    };
    let mut router = Router::new()
        .route(
            "/graphql",
            get(graphql_get)
                .post(graphql_post)
                .layer(DefaultBodyLimit::max(limits.max_body_bytes))
                .layer(axum::middleware::from_fn(negotiate_media_type)),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics));
    if graphiql {
        router = router
            .route("/", get(graphiql_page))
            .route("/favicon.svg", get(favicon))
            .route("/favicon.ico", get(favicon))
            .route("/graphiql/{file}", get(graphiql_asset));
        if demo_principals_configured(&state.app.config) {
            router = router.route("/graphiql/demo-principals", get(demo_principals));
        }
    }
    let cors = cors_layer(&state.app.config.cors);
    let router = router.fallback(not_found).with_state(state);
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// The request headers browser clients send: the API's own, and those of Apollo Client
/// and urql.
const CORS_REQUEST_HEADERS: [&str; 9] = [
    "authorization",
    "content-type",
    "accept",
    "x-tenant-id",
    "x-request-id",
    "apollographql-client-name",
    "apollographql-client-version",
    "apollo-require-preflight",
    "x-apollo-operation-name",
];

/// The CORS layer of the configured origins; `None` when no origin may call.
fn cors_layer(config: &crate::config::CorsConfig) -> Option<tower_http::cors::CorsLayer> {
    use crate::config::CorsOrigins;
    use axum::http::{HeaderName, HeaderValue, Method};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origin = match &config.origins {
        CorsOrigins::None => return None,
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::Localhost => AllowOrigin::predicate(|origin: &HeaderValue, _| {
            let origin = origin.as_bytes();
            ["http://localhost", "http://127.0.0.1", "http://[::1]"]
                .iter()
                .any(|host| {
                    origin.strip_prefix(host.as_bytes()).is_some_and(|rest| {
                        rest.is_empty()
                            || (rest[0] == b':'
                                && rest.len() > 1
                                && rest[1..].iter().all(u8::is_ascii_digit))
                    })
                })
        }),
        CorsOrigins::List(origins) => AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        ),
    };
    Some(
        CorsLayer::new()
            .allow_origin(origin)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers(CORS_REQUEST_HEADERS.map(HeaderName::from_static))
            .expose_headers([HeaderName::from_static(REQUEST_ID)])
            .allow_credentials(config.credentials)
            .max_age(Duration::from_secs(600)),
    )
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

/// A whole-request error the gateway raises itself (a limit, a method), with its own
/// HTTP status and the GraphQL error shape.
fn request_error(status: StatusCode, code: ErrorCode, message: &str, request_id: &str) -> Response {
    let body =
        json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] });
    let mut response = (status, Json(body)).into_response();
    with_request_id(&mut response, request_id);
    response
}

fn with_request_id(response: &mut Response, request_id: &str) {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
}

async fn graphql_post(
    State(state): State<RouterState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
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
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let message = format!(
                "the request body is larger than {} bytes",
                state.limits.limits().max_body_bytes
            );
            return request_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::BadUserInput,
                &message,
                &request_id,
            );
        }
        Err(_) => {
            return error_response(
                &AppError::BadUserInput("the request body could not be read".into()),
                &request_id,
            );
        }
    };
    // A JSON array is a batch (even an empty one), anything else one request.
    let batch = if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        serde_json::from_slice(&body).map(async_graphql::BatchRequest::Batch)
    } else {
        serde_json::from_slice(&body).map(async_graphql::BatchRequest::Single)
    };
    let batch = match batch {
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
    if let async_graphql::BatchRequest::Batch(requests) = &batch {
        let max_batch = state.limits.limits().max_batch;
        if requests.is_empty() || requests.len() > max_batch {
            return error_response(
                &AppError::BadUserInput(format!(
                    "a batch holds 1 to {max_batch} operations; this one holds {}",
                    requests.len()
                )),
                &request_id,
            );
        }
    }
    execute(&state, &headers, batch, request_id, Transport::Post).await
}

/// The HTTP method a GraphQL request came with: GET may only run queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Post,
    Get,
}

/// The parameters of `GET /graphql?query=…&operationName=…&variables=…` as GraphQL over
/// HTTP names them (`operation_name` is accepted too); `variables` and `extensions` are
/// JSON text.
#[derive(Debug, serde::Deserialize)]
struct GetParams {
    #[serde(default)]
    query: String,
    #[serde(default, rename = "operationName", alias = "operation_name")]
    operation_name: Option<String>,
    #[serde(default)]
    variables: Option<String>,
    #[serde(default)]
    extensions: Option<String>,
}

impl GetParams {
    fn into_request(self) -> Option<async_graphql::Request> {
        let mut request = async_graphql::Request::new(self.query);
        request.operation_name = self.operation_name;
        if let Some(variables) = self.variables.filter(|v| !v.trim().is_empty()) {
            request.variables = serde_json::from_str(&variables).ok()?;
        }
        if let Some(extensions) = self.extensions.filter(|v| !v.trim().is_empty()) {
            request.extensions = serde_json::from_str(&extensions).ok()?;
        }
        Some(request)
    }
}

async fn graphql_get(
    State(state): State<RouterState>,
    headers: HeaderMap,
    websocket: Result<
        axum::extract::WebSocketUpgrade,
        axum::extract::ws::rejection::WebSocketUpgradeRejection,
    >,
    protocol: Result<async_graphql_axum::GraphQLProtocol, StatusCode>,
    params: Result<Query<GetParams>, QueryRejection>,
) -> Response {
    if let (Ok(upgrade), Ok(protocol)) = (websocket, protocol) {
        return crate::ws::upgrade(
            state.app.clone(),
            state.subscribers.clone(),
            state.limits.clone(),
            protocol,
            upgrade,
            headers,
        );
    }
    let request_id = request_id(&headers);

    let Some(request) = params.ok().and_then(|Query(params)| params.into_request()) else {
        return error_response(
            &AppError::BadUserInput(
                "the query string must carry `query` (and JSON `variables`)".into(),
            ),
            &request_id,
        );
    };
    execute(
        &state,
        &headers,
        async_graphql::BatchRequest::Single(request),
        request_id,
        Transport::Get,
    )
    .await
}

/// Checks every request of `batch` against the limits (a request over one ends the whole
/// HTTP request before anything runs), authenticates, executes, and gives every error of
/// the responses an `extensions.code`.
async fn execute(
    state: &RouterState,
    headers: &HeaderMap,
    mut batch: async_graphql::BatchRequest,
    request_id: String,
    transport: Transport,
) -> Response {
    // A request refused by the persisted-query rules answers on its own (a batch's other
    // requests still run), as a GraphQL request error: clients read its code and resend.
    let mut outcomes = Vec::new();
    let single = matches!(batch, async_graphql::BatchRequest::Single(_));
    // (`BatchRequest::iter_mut` is not `Send`, and the loop awaits.)
    let requests = match &mut batch {
        async_graphql::BatchRequest::Single(request) => std::slice::from_mut(request),
        async_graphql::BatchRequest::Batch(requests) => requests.as_mut_slice(),
    };
    for request in requests.iter_mut() {
        let pending = match state.app.persisted.resolve(request).await {
            Ok(pending) => pending,
            Err(err) => {
                outcomes.push(Err(async_graphql::Response::from_errors(vec![
                    err.to_request_error(&request_id),
                ])));
                continue;
            }
        };
        if request.query.trim().is_empty() {
            return error_response(
                &AppError::BadUserInput(
                    "the request carries no `query` (the GraphQL document to run)".into(),
                ),
                &request_id,
            );
        }
        if let Err(err) = state.limits.check(request) {
            return request_error(err.code.http_status(), err.code, &err.message, &request_id);
        }
        outcomes.push(Ok(pending));
        if transport == Transport::Get {
            let operation_name = request.operation_name.clone();
            let operation = request
                .parsed_query()
                .ok()
                .and_then(|document| limits::operation_type(document, operation_name.as_deref()));
            let refusal = match operation {
                Some(OperationType::Mutation) => {
                    Some("GET /graphql runs queries only; send mutations with POST")
                }
                Some(OperationType::Subscription) => {
                    Some("GET /graphql runs queries only; subscribe over WebSocket")
                }
                Some(OperationType::Query) | None => None,
            };
            if let Some(refusal) = refusal {
                let mut response = request_error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    ErrorCode::BadUserInput,
                    refusal,
                    &request_id,
                );
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("POST"));
                return response;
            }
        }
    }
    let router_state = state;
    let state = &state.app;
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
    let principal = match resolve_principal(&state.cache, &state.verifier, identity).await {
        Ok(principal) => principal,
        Err(err) => return error_response(&err, &request_id),
    };
    let persisted = &state.persisted;
    let refused_any = outcomes.iter().any(Result::is_err);
    let mut outcomes = outcomes.into_iter();
    let requests = match batch {
        async_graphql::BatchRequest::Single(request) => vec![request],
        async_graphql::BatchRequest::Batch(requests) => requests,
    };
    let mut responses = Vec::with_capacity(requests.len());
    for request in requests {
        responses.push(match outcomes.next() {
            Some(Err(refusal)) => refusal,
            Some(Ok(pending)) => {
                let response = run(router_state, request, &principal, &request_id).await;
                persisted.remember(pending, &principal, &response).await;
                response
            }
            None => run(router_state, request, &principal, &request_id).await,
        });
    }
    let response = if single {
        async_graphql::BatchResponse::Single(responses.pop().unwrap_or_default())
    } else {
        async_graphql::BatchResponse::Batch(responses)
    };
    let mut response = graphql_response(response, MediaType::accepted(headers));
    with_request_id(&mut response, &request_id);
    if refused_any {
        // A miss must not be kept by a cache on the way: the client resends at once.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The media type of a GraphQL response, as the client's `Accept` chose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    /// `application/json`: every GraphQL result is HTTP 200.
    Json,
    /// `application/graphql-response+json`: a request that fails before execution has the
    /// status of its error (400 for a syntax, validation or variable error).
    GraphqlResponse,
}

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

impl MediaType {
    /// `application/graphql-response+json` when the client accepts it at least as much as
    /// `application/json`; `application/json` otherwise (also for `*/*` or no `Accept`).
    fn accepted(headers: &HeaderMap) -> Self {
        let mut graphql_response = 0.0_f32;
        let mut json = 0.0_f32;
        for accept in headers.get_all(header::ACCEPT) {
            let Ok(accept) = accept.to_str() else {
                continue;
            };
            for range in accept.split(',') {
                let mut parts = range.split(';').map(str::trim);
                let media = parts.next().unwrap_or_default().to_ascii_lowercase();
                let quality = parts
                    .find_map(|p| p.strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                match media.as_str() {
                    GRAPHQL_RESPONSE_JSON => graphql_response = graphql_response.max(quality),
                    "application/json" => json = json.max(quality),
                    _ => {}
                }
            }
        }
        if graphql_response > 0.0 && graphql_response >= json {
            Self::GraphqlResponse
        } else {
            Self::Json
        }
    }

    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Json => "application/json; charset=utf-8",
            Self::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
        })
    }
}

/// The HTTP response of GraphQL results. A single request that failed before execution
/// (its errors have no path and there is no data) has no `data` entry, as the GraphQL
/// specification says of request errors; under `application/graphql-response+json` it
/// also gets its first error's status (400 for syntax, validation and variable errors).
fn graphql_response(response: async_graphql::BatchResponse, media: MediaType) -> Response {
    /// The body of a request error: no `data` entry.
    #[derive(serde::Serialize)]
    struct RequestErrors {
        errors: Vec<async_graphql::ServerError>,
    }
    // The content type is set by `negotiate_media_type`, for these and every other
    // response of `/graphql`.
    match response {
        async_graphql::BatchResponse::Single(response)
            if crate::graphql::is_request_error(&response) =>
        {
            let status = match media {
                MediaType::Json => StatusCode::OK,
                MediaType::GraphqlResponse => response.errors[0]
                    .extensions
                    .as_ref()
                    .and_then(|e| match e.get("code") {
                        Some(async_graphql::Value::String(code)) => ErrorCode::named(code),
                        _ => None,
                    })
                    .map_or(StatusCode::BAD_REQUEST, ErrorCode::http_status),
            };
            let body = RequestErrors {
                errors: response.errors,
            };
            (status, Json(body)).into_response()
        }
        response => Json(response).into_response(),
    }
}

/// Gives the responses of `/graphql` the media type the client accepts: errors raised
/// before GraphQL runs (limits, a bad body, a bad token) as well as GraphQL results.
async fn negotiate_media_type(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let media = MediaType::accepted(request.headers());
    let mut response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json && media == MediaType::GraphqlResponse {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, media.content_type());
    }
    response
}

/// Executes one request for `principal`, every error of its response given a code.
async fn run(
    state: &RouterState,
    mut request: async_graphql::Request,
    principal: &crate::auth::Principal,
    request_id: &str,
) -> async_graphql::Response {
    let query = crate::graphql::take_query(&mut request);
    let operation_name = request.operation_name.clone();
    let (limits, state) = (&state.limits, &state.app);
    let request = crate::graphql::prepare(
        request,
        &state.store,
        principal.clone(),
        request_id.to_owned(),
    );
    let mut response = crate::graphql::execute_within(
        &state.schema,
        request,
        state.config.request_timeout,
        request_id,
    )
    .await;
    crate::graphql::complete_response(
        &mut response,
        limits,
        &query,
        operation_name.as_deref(),
        state.config.introspection,
        request_id,
    );
    response
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready when the database answers. Redis is reported but not required: without it the
/// cache serves from the in-process tier and the database, so taking the instance out of
/// a load balancer's rotation would only turn a slower answer into none.
async fn readyz(State(state): State<AppState>) -> Response {
    let database = tokio::time::timeout(Duration::from_secs(2), state.db.ping())
        .await
        .is_ok_and(|r| r.is_ok());
    let redis = match &state.redis {
        None => None,
        Some(client) => Some(redis_ping(client).await),
    };
    let ready = database;
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

/// `/metrics`: the cache's counters (hits, misses, loads, invalidations per cache; the Redis
/// tier's errors and breaker) and the statement counter, in the Prometheus text format.
async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.cache.metrics_text(),
    )
        .into_response()
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

/// The page's marker of whether it may offer the demo principals (`/graphiql/demo-principals`).
const DEMO_PRINCIPALS_MARKER: &str = r#"<meta name="rowgate-demo-principals" content="off" />"#;

async fn graphiql_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
) -> Response {
    let html = if demo_principals_configured(&state.config) && local_browser(&headers, &extensions)
    {
        std::borrow::Cow::Owned(GRAPHIQL_HTML.replacen(
            DEMO_PRINCIPALS_MARKER,
            r#"<meta name="rowgate-demo-principals" content="on" />"#,
            1,
        ))
    } else {
        std::borrow::Cow::Borrowed(GRAPHIQL_HTML)
    };
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response()
}

/// Whether this gateway may hand out demo tokens: GraphiQL on, the embedded default
/// database, and a secret the gateway generated itself (kept in the data directory). Never
/// with a configured `DATABASE_URL` or `ROWGATE_JWT_SECRET`: a deployment's secret signs
/// real tokens, not demo ones.
fn demo_principals_configured(config: &Config) -> bool {
    use crate::config::SecretSource;
    config.graphiql
        && config.embedded_default
        && config.jwt.secret.is_some()
        && matches!(
            config.jwt.secret_source,
            Some(SecretSource::Generated | SecretSource::Persisted)
        )
}

/// Whether a request comes from a browser on the gateway's own machine: a loopback peer,
/// naming a loopback host (`localhost`, `*.localhost`, `127.0.0.1`, `[::1]`, any port), and
/// no foreign `Origin`. The host check keeps a page of another site whose name was made to
/// resolve to 127.0.0.1 (DNS rebinding) from reading tokens; the peer check keeps them
/// from anyone who reaches a gateway listening on a public address (such as a container's
/// `0.0.0.0`).
fn local_browser(headers: &HeaderMap, extensions: &axum::http::Extensions) -> bool {
    let peer_local = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .is_some_and(|peer| peer.0.ip().is_loopback());
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((name, "")) => name,
            Some((name, port)) if port.strip_prefix(':').is_some_and(is_port) => name,
            _ => return false,
        },
        None => match host.split_once(':') {
            Some((name, port)) if is_port(port) => name,
            Some(_) => return false,
            None => host,
        },
    };
    let name = name.to_ascii_lowercase();
    let host_local = name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let origin_own = headers
        .get(header::ORIGIN)
        .is_none_or(|origin| origin.to_str().is_ok_and(|o| o == format!("http://{host}")));
    peer_local && host_local && origin_own
}

fn is_port(digits: &str) -> bool {
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `GET /graphiql/demo-principals`: `[{label, user, tenant, role, token}]`, a fresh token
/// for each demo account (those `rowgate serve` prints), for GraphiQL's "Act as" choice.
/// Routed only when [`demo_principals_configured`]; answered only to a [`local_browser`];
/// an empty list when the demo users are not in the database.
async fn demo_principals(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
) -> Response {
    let Some(secret) = state.config.jwt.secret.as_ref() else {
        return not_found().await;
    };
    if !local_browser(&headers, &extensions) {
        return not_found().await;
    }
    let present = match state.application.demo() {
        None => Ok(false),
        Some(demo) => demo.is_present(&state.db).await,
    };
    let present = match present {
        Ok(present) => present,
        Err(e) => {
            tracing::warn!("demo principals: cannot look up the demo users: {e}");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "errors": [{ "message": "cannot look up the demo users", "extensions": { "code": "INTERNAL" } }] })),
            )
                .into_response();
        }
    };
    let principals: Vec<serde_json::Value> = if present {
        state
            .application
            .demo_tokens(&state.config.jwt, secret)
            .into_iter()
            .filter_map(|demo| match demo.token {
                Ok(token) => Some(json!({
                    "label": demo.account.label,
                    "user": demo.account.user,
                    "tenant": demo.account.tenant,
                    "role": demo.account.role,
                    "token": token,
                })),
                Err(e) => {
                    tracing::warn!("demo principals: cannot mint {}: {e}", demo.account.label);
                    None
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(serde_json::Value::Array(principals)),
    )
        .into_response()
}

const FAVICON_SVG: &[u8] = include_bytes!("../assets/graphiql/favicon.svg");

async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON_SVG,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn local(peer: &str, host: Option<&str>, origin: Option<&str>) -> bool {
        let mut headers = HeaderMap::new();
        if let Some(host) = host {
            headers.insert(header::HOST, HeaderValue::from_str(host).expect("host"));
        }
        if let Some(origin) = origin {
            headers.insert(
                header::ORIGIN,
                HeaderValue::from_str(origin).expect("origin"),
            );
        }
        let mut extensions = axum::http::Extensions::new();
        extensions.insert(axum::extract::ConnectInfo::<std::net::SocketAddr>(
            peer.parse().expect("peer"),
        ));
        local_browser(&headers, &extensions)
    }

    #[test]
    fn a_local_browser_is_a_loopback_peer_naming_a_loopback_host() {
        for host in [
            "localhost",
            "localhost:8080",
            "LocalHost:8080",
            "acme.localhost:8080",
            "127.0.0.1:8080",
            "127.0.0.2",
            "[::1]",
            "[::1]:8080",
        ] {
            assert!(local("127.0.0.1:5000", Some(host), None), "{host}");
        }
        assert!(local("[::1]:5000", Some("[::1]:8080"), None));
        assert!(local(
            "127.0.0.1:5000",
            Some("localhost:8080"),
            Some("http://localhost:8080")
        ));
        for host in [
            "rebound.example",
            "localhost.example:8080",
            "10.0.0.1:8080",
            "localhost:",
            "localhost:80x",
            "[::1]x",
            "[::2]:8080",
            "",
        ] {
            assert!(!local("127.0.0.1:5000", Some(host), None), "{host:?}");
        }
        assert!(!local("127.0.0.1:5000", None, None), "no Host");
        assert!(
            !local("172.17.0.1:5000", Some("localhost:8080"), None),
            "a peer on another machine"
        );
        assert!(
            !local(
                "127.0.0.1:5000",
                Some("localhost:8080"),
                Some("http://localhost:3000")
            ),
            "another origin"
        );
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("localhost"));
        assert!(
            !local_browser(&headers, &axum::http::Extensions::new()),
            "no peer address"
        );
    }
}
