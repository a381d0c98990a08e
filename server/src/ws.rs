//! GraphQL over WebSocket at `/graphql` (protocols `graphql-transport-ws` and `graphql-ws`).
//!
//! The token travels in the `connection_init` payload (`{"Authorization": "Bearer …"}`) or
//! in the upgrade request's header; it is verified and the principal resolved once, when the
//! connection is initialised. A bad token refuses the connection. Limits: subscriptions per
//! connection and connections per user; a slow consumer is disconnected (bounded buffer);
//! an expired token ends each subscription with an error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::Data;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::WebSocketUpgrade;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use uuid::Uuid;

use crate::auth::resolve::{RequestIdentity, bearer_token, resolve_principal};
use crate::graphql::RequestContext;
use crate::graphql::loaders::Loaders;
use crate::graphql::subscriptions::ConnectionLimits;
use crate::http::AppState;

/// Most WebSocket connections one user may hold at once.
pub const MAX_CONNECTIONS_PER_USER: usize = 100;
/// Most subscriptions one WebSocket connection may hold.
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 100;

/// Open connections per user, and the limits.

#[derive(Debug)]
pub struct Registry {
    per_user: Mutex<HashMap<Uuid, usize>>,
    /// Most WebSocket connections one user may hold.
    pub max_connections_per_user: usize,
    /// Most subscriptions one connection may hold.
    pub max_subscriptions_per_connection: usize,
}

impl Registry {
    /// A registry with the given limits.
    pub fn new(max_connections_per_user: usize, max_subscriptions_per_connection: usize) -> Self {
        Self {
            per_user: Mutex::new(HashMap::new()),
            max_connections_per_user,
            max_subscriptions_per_connection,
        }
    }

    fn acquire(&self, user: Uuid) -> bool {
        let mut map = self
            .per_user
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = map.entry(user).or_insert(0);
        if *count >= self.max_connections_per_user {
            return false;
        }
        *count += 1;
        true
    }

    fn release(&self, user: Uuid) {
        let mut map = self
            .per_user
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = map.get_mut(&user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                map.remove(&user);
            }
        }
    }
}

fn header_string(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn payload_string(payload: &serde_json::Value, names: &[&str]) -> Option<String> {
    let object = payload.as_object()?;
    names.iter().find_map(|name| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_owned)
    })
}

/// The schema behind the request limits: every operation sent over the socket is checked
/// (document and variables size, depth, cost, aliases) before it runs, as over HTTP.
#[derive(Clone)]
struct Limited {
    schema: crate::graphql::GatewaySchema,
    checker: Arc<crate::graphql::limits::LimitChecker>,
    deadline: Duration,
}

fn refused(error: &crate::graphql::limits::LimitError) -> async_graphql::Response {
    use async_graphql::ErrorExtensions;
    let code = error.code.as_str();
    let server_error = async_graphql::Error::new(error.message.clone())
        .extend_with(|_, e| e.set("code", code))
        .into_server_error(async_graphql::Pos::default());
    async_graphql::Response::from_errors(vec![server_error])
}

impl async_graphql::Executor for Limited {
    fn execute(
        &self,
        mut request: async_graphql::Request,
    ) -> impl Future<Output = async_graphql::Response> + Send {
        let checked = self.checker.check(&mut request);
        let schema = self.schema.clone();
        let deadline = self.deadline;
        async move {
            match checked {
                Ok(()) => {
                    let request_id = request
                        .data
                        .get(&std::any::TypeId::of::<RequestContext>())
                        .and_then(|d| d.downcast_ref::<RequestContext>())
                        .map(|c| c.request_id.clone())
                        .unwrap_or_default();
                    crate::graphql::execute_within(&schema, request, deadline, &request_id).await
                }
                Err(error) => refused(&error),
            }
        }
    }

    fn execute_stream(
        &self,
        mut request: async_graphql::Request,
        session_data: Option<Arc<Data>>,
    ) -> futures_util::stream::BoxStream<'static, async_graphql::Response> {
        use futures_util::StreamExt;
        match self.checker.check(&mut request) {
            Ok(()) => async_graphql::Executor::execute_stream(&self.schema, request, session_data),
            Err(error) => futures_util::stream::once(async move { refused(&error) }).boxed(),
        }
    }
}

/// Upgrades the request and serves GraphQL over the socket.
pub fn upgrade(
    app: AppState,
    registry: Arc<Registry>,
    checker: Arc<crate::graphql::limits::LimitChecker>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
    headers: HeaderMap,
) -> Response {
    let header_auth = header_string(&headers, header::AUTHORIZATION);
    let header_tenant = header_string(&headers, header::HeaderName::from_static("x-tenant-id"));
    let host = header_string(&headers, header::HOST);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        // Small per-connection buffers: subscription traffic is small messages, and
        // thousands of idle connections must not each hold 128 KiB.
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
        .on_upgrade(move |socket| async move {
            let connected_user: Arc<Mutex<Option<Uuid>>> = Arc::new(Mutex::new(None));
            let init_user = connected_user.clone();
            let init_app = app.clone();
            let init_registry = registry.clone();
            let schema = Limited {
                schema: app.schema.clone(),
                checker,
                deadline: app.config.request_timeout,
            };
            GraphQLWebSocket::new(socket, schema, protocol)
                .keepalive_timeout(Some(Duration::from_secs(30)))
                .on_connection_init(move |payload: serde_json::Value| {
                    let (app, registry, user_cell) =
                        (init_app.clone(), init_registry.clone(), init_user.clone());
                    let (header_auth, header_tenant, host) =
                        (header_auth.clone(), header_tenant.clone(), host.clone());
                    async move {
                        let refuse = |message: String| async_graphql::Error::new(message);
                        let auth = payload_string(&payload, &["Authorization"]).or(header_auth);
                        let bearer = auth
                            .as_deref()
                            .map(bearer_token)
                            .transpose()
                            .map_err(|e| refuse(e.to_string()))?;
                        let tenant = payload_string(&payload, &["X-Tenant-Id"]).or(header_tenant);
                        let identity = RequestIdentity {
                            bearer,
                            tenant_header: tenant.as_deref(),
                            host: host.as_deref(),
                        };
                        let principal = resolve_principal(&app.cache, &app.verifier, identity)
                            .await
                            .map_err(|e| refuse(e.to_string()))?;
                        let expires_at = match bearer {
                            Some(token) => Some(
                                app.verifier
                                    .verify(token)
                                    .await
                                    .map_err(|e| refuse(e.to_string()))?
                                    .exp,
                            ),
                            None => None,
                        };
                        if let Some(user) = principal.user_id {
                            if !registry.acquire(user) {
                                return Err(refuse(format!(
                                    "at most {} connections per user",
                                    registry.max_connections_per_user
                                )));
                            }
                            *user_cell
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(user);
                        }
                        let mut data = Data::default();
                        data.insert(Loaders::new(&app.store, &principal));
                        data.insert(Arc::new(ConnectionLimits {
                            open: std::sync::atomic::AtomicUsize::new(0),
                            max: registry.max_subscriptions_per_connection,
                            expires_at,
                        }));
                        data.insert(RequestContext {
                            principal,
                            request_id: Uuid::new_v4().to_string(),
                        });
                        Ok(data)
                    }
                })
                .serve()
                .await;
            let user = *connected_user
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(user) = user {
                registry.release(user);
            }
        })
}
