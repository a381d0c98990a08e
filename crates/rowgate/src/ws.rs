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
/// (document and variables size, depth, cost, aliases) before it runs, as over HTTP. A
/// query or mutation runs under the request deadline, with its own request id and loaders,
/// and only while the connection's token is valid; every error gets an `extensions.code`.
#[derive(Clone)]
struct Limited {
    schema: crate::graphql::GatewaySchema,
    store: crate::planner::Store,
    checker: Arc<crate::graphql::limits::LimitChecker>,
    persisted: crate::graphql::persisted::PersistedQueries,
    deadline: Duration,
    introspection: bool,
}

fn refused(error: &crate::graphql::limits::LimitError) -> async_graphql::Response {
    let mut server_error = async_graphql::ServerError::new(error.message.clone(), None);
    server_error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", error.code.as_str());
    async_graphql::Response::from_errors(vec![server_error])
}

/// A piece of the connection's data.
fn connection_data<T: Send + Sync + 'static>(data: &Data) -> Option<&T> {
    data.get(&std::any::TypeId::of::<T>())
        .and_then(|d| d.downcast_ref::<T>())
}

impl async_graphql::Executor for Limited {
    fn execute(
        &self,
        request: async_graphql::Request,
    ) -> impl Future<Output = async_graphql::Response> + Send {
        use futures_util::StreamExt;
        let mut stream = self.execute_stream(request, None);
        async move { stream.next().await.unwrap_or_default() }
    }

    fn execute_stream(
        &self,
        request: async_graphql::Request,
        session_data: Option<Arc<Data>>,
    ) -> futures_util::stream::BoxStream<'static, async_graphql::Response> {
        use futures_util::StreamExt;
        let this = self.clone();
        futures_util::stream::once(async move { this.stream(request, session_data).await })
            .flatten()
            .boxed()
    }
}

impl Limited {
    /// What [`async_graphql::Executor::execute_stream`] answers: the persisted-query rules and
    /// the limits first, then the operation.
    async fn stream(
        self,
        mut request: async_graphql::Request,
        session_data: Option<Arc<Data>>,
    ) -> futures_util::stream::BoxStream<'static, async_graphql::Response> {
        use futures_util::StreamExt;
        let session = session_data.unwrap_or_default();
        let request_id = Uuid::new_v4().to_string();
        let pending = match self.persisted.resolve(&mut request).await {
            Ok(pending) => pending,
            Err(error) => {
                let response =
                    async_graphql::Response::from_errors(vec![error.to_request_error(&request_id)]);
                return futures_util::stream::once(async move { response }).boxed();
            }
        };
        if let Err(error) = self.checker.check(&mut request) {
            return futures_util::stream::once(async move { refused(&error) }).boxed();
        }
        let operation_name = request.operation_name.clone();
        let subscription = request.parsed_query().ok().and_then(|document| {
            crate::graphql::limits::operation_type(document, operation_name.as_deref())
        }) == Some(async_graphql::parser::types::OperationType::Subscription);
        let query = Arc::new(crate::graphql::take_query(&mut request));
        let (checker, introspection) = (self.checker.clone(), self.introspection);
        let finish = move |mut response: async_graphql::Response, request_id: &str| {
            crate::graphql::complete_response(
                &mut response,
                &checker,
                &query,
                operation_name.as_deref(),
                introspection,
                request_id,
            );
            response
        };
        let expired = connection_data::<Arc<ConnectionLimits>>(&session)
            .and_then(|limits| limits.expires_at)
            .is_some_and(|exp| exp <= chrono::Utc::now().timestamp());
        if expired {
            let response = crate::error::AppError::Unauthenticated(
                "the token expired; reconnect with a new one".into(),
            )
            .to_request_error(&request_id);
            let response = async_graphql::Response::from_errors(vec![response]);
            return futures_util::stream::once(async move { response }).boxed();
        }
        let principal = connection_data::<RequestContext>(&session)
            .map_or_else(crate::auth::Principal::anon, |context| {
                context.principal.clone()
            });
        if connection_data::<RequestContext>(&session).is_some() {
            request = crate::graphql::prepare(
                request,
                &self.store,
                principal.clone(),
                request_id.clone(),
            );
        }
        // A document sent with its hash is remembered once its first answer shows it ran.
        let persisted = self.persisted.clone();
        let pending = Arc::new(Mutex::new(Some(pending)));
        let remember = move |response: async_graphql::Response| {
            let (persisted, principal) = (persisted.clone(), principal.clone());
            let pending = pending.lock().ok().and_then(|mut p| p.take());
            async move {
                if let Some(pending) = pending {
                    persisted.remember(pending, &principal, &response).await;
                }
                response
            }
        };
        if subscription {
            return self
                .schema
                .execute_stream_with_session_data(request, session)
                .then(remember)
                .map(move |response| finish(response, &request_id))
                .boxed();
        }
        let (schema, deadline) = (self.schema.clone(), self.deadline);
        futures_util::stream::once(async move {
            let response = crate::graphql::run_within(request, deadline, &request_id, |request| {
                let mut stream = schema.execute_stream_with_session_data(request, session);
                async move { stream.next().await.unwrap_or_default() }
            })
            .await;
            finish(remember(response).await, &request_id)
        })
        .boxed()
    }
}

/// The server's side of keep-alive on one socket: a ping every `interval` — the
/// protocol's own (`ping` on graphql-transport-ws, `ka` on the legacy graphql-ws) and a
/// WebSocket ping frame, which every client's socket answers with a pong — and the end of
/// a connection whose peer has sent nothing, not even a pong, for three intervals.
struct KeepAlive {
    interval: Duration,
    protocol: async_graphql::http::WebSocketProtocols,
    /// Set once `connection_init` has been accepted; a socket without it after
    /// [`INIT_TIMEOUT`] is closed with 4408, as graphql-transport-ws says.
    initialised: Arc<std::sync::atomic::AtomicBool>,
}

/// How long a socket may stay open without an accepted `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the GraphQL session writes its messages (to the keep-alive writer).
type OutgoingSink = std::pin::Pin<
    Box<
        dyn futures_util::Sink<
                axum::extract::ws::Message,
                Error = tokio::sync::mpsc::error::SendError<axum::extract::ws::Message>,
            > + Send,
    >,
>;

/// What the socket receives.
type Incoming = Result<axum::extract::ws::Message, axum::Error>;

/// Close code for a peer that stopped answering pings.
const CLOSE_UNRESPONSIVE: u16 = 4499;

impl KeepAlive {
    fn protocol_ping(&self) -> Option<&'static str> {
        match self.protocol {
            async_graphql::http::WebSocketProtocols::GraphQLWS => Some(r#"{"type":"ping"}"#),
            async_graphql::http::WebSocketProtocols::SubscriptionsTransportWS => {
                Some(r#"{"type":"ka"}"#)
            }
        }
    }

    /// Serves `socket` with `serve_graphql` given the socket's halves as a sink of
    /// outgoing messages and a stream of incoming ones.
    async fn run<F, Fut>(self, socket: axum::extract::ws::WebSocket, serve_graphql: F)
    where
        F: FnOnce(OutgoingSink, futures_util::stream::BoxStream<'static, Incoming>) -> Fut,
        Fut: Future<Output = ()>,
    {
        use axum::extract::ws::{CloseFrame, Message};
        use futures_util::StreamExt;
        let (mut sink, stream) = socket.split();
        let heard = Arc::new(Mutex::new(tokio::time::Instant::now()));
        let (dead_tx, dead_rx) = tokio::sync::oneshot::channel::<()>();
        let heard_in = heard.clone();
        let incoming = stream
            .inspect(move |_| {
                *heard_in
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) =
                    tokio::time::Instant::now();
            })
            .take_until(dead_rx)
            .boxed();
        let (out_tx, mut out_rx) = tokio::sync::mpsc::channel::<Message>(16);
        let out_tx: OutgoingSink = Box::pin(futures_util::sink::unfold(
            out_tx,
            |tx, message: Message| async move { tx.send(message).await.map(|()| tx) },
        ));
        let ping = self.protocol_ping();
        let interval = self.interval;
        let initialised = self.initialised.clone();
        let opened = tokio::time::Instant::now();
        let writer = async move {
            let mut ticker =
                tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
            loop {
                tokio::select! {
                    message = out_rx.recv() => {
                        let Some(message) = message else { break };
                        let closing = matches!(message, Message::Close(_));
                        if !send_within(interval, &mut sink, message).await || closing {
                            break;
                        }
                    }
                    _ = ticker.tick() => {
                        let uninitialised = !initialised.load(std::sync::atomic::Ordering::Acquire)
                            && opened.elapsed() > INIT_TIMEOUT;
                        if uninitialised {
                            let close = Message::Close(Some(CloseFrame {
                                code: 4408,
                                reason: "connection initialisation timeout".into(),
                            }));
                            send_within(interval, &mut sink, close).await;
                            break;
                        }
                        let silent = heard
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .elapsed();
                        if silent > interval * 3 {
                            let close = Message::Close(Some(CloseFrame {
                                code: CLOSE_UNRESPONSIVE,
                                reason: "no answer to pings".into(),
                            }));
                            send_within(interval, &mut sink, close).await;
                            break;
                        }
                        let sent = match ping {
                            Some(text) => send_within(interval, &mut sink, Message::Text(text.into())).await,
                            None => true,
                        };
                        if !sent || !send_within(interval, &mut sink, Message::Ping(Vec::new().into())).await {
                            break;
                        }
                    }
                }
            }
            // Ends the incoming stream, and with it the GraphQL session.
            let _ = dead_tx.send(());
        };
        let writer = tokio::spawn(writer);
        serve_graphql(out_tx, incoming).await;
        // The session ended (the client closed or terminated): the writer ends once its
        // queue is drained.
        let _ = writer.await;
    }
}

/// Sends `message`, or gives up after `within`: a send that does not complete in time means
/// the peer stopped reading, and the connection ends rather than holding its slot.
async fn send_within<S>(within: Duration, sink: &mut S, message: axum::extract::ws::Message) -> bool
where
    S: futures_util::Sink<axum::extract::ws::Message> + Unpin,
{
    use futures_util::SinkExt;
    matches!(
        tokio::time::timeout(within, sink.send(message)).await,
        Ok(Ok(()))
    )
}

/// The subprotocol the client asked for, as the upgrade chose it (the first one named
/// that the server speaks).
fn websocket_protocol(headers: &HeaderMap) -> async_graphql::http::WebSocketProtocols {
    use std::str::FromStr;
    headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|protocols| {
            protocols
                .split(',')
                .find_map(|p| async_graphql::http::WebSocketProtocols::from_str(p.trim()).ok())
        })
        .unwrap_or(async_graphql::http::WebSocketProtocols::GraphQLWS)
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
                store: app.store.clone(),
                checker,
                persisted: app.persisted.clone(),
                deadline: app.config.request_timeout,
                introspection: app.config.introspection,
            };
            let initialised = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let init_done = initialised.clone();
            let keep_alive = KeepAlive {
                interval: app.config.ws_keepalive,
                protocol: websocket_protocol(&headers),
                initialised,
            };
            keep_alive
                .run(socket, move |sink, stream| {
                    GraphQLWebSocket::new_with_pair(sink, stream, schema, protocol)
                        .on_connection_init(move |payload: serde_json::Value| {
                            let (app, registry, user_cell) =
                                (init_app.clone(), init_registry.clone(), init_user.clone());
                            let (header_auth, header_tenant, host) =
                                (header_auth.clone(), header_tenant.clone(), host.clone());
                            let init_done = init_done.clone();
                            async move {
                                // The refusal travels in the close frame (or `connection_error`):
                                // its public text only, never a database's or Redis's.
                                let connection_id = Uuid::new_v4().to_string();
                                let refuse = |e: crate::error::AppError| {
                                    async_graphql::Error::new(e.public_message(&connection_id))
                                };
                                let auth =
                                    payload_string(&payload, &["Authorization"]).or(header_auth);
                                let bearer = auth
                                    .as_deref()
                                    .map(bearer_token)
                                    .transpose()
                                    .map_err(refuse)?;
                                let tenant =
                                    payload_string(&payload, &["X-Tenant-Id"]).or(header_tenant);
                                let identity = RequestIdentity {
                                    bearer,
                                    tenant_header: tenant.as_deref(),
                                    host: host.as_deref(),
                                };
                                let principal =
                                    resolve_principal(&app.cache, &app.verifier, identity)
                                        .await
                                        .map_err(refuse)?;
                                let expires_at = match bearer {
                                    Some(token) => {
                                        Some(app.verifier.verify(token).await.map_err(refuse)?.exp)
                                    }
                                    None => None,
                                };
                                if let Some(user) = principal.user_id {
                                    if !registry.acquire(user) {
                                        return Err(async_graphql::Error::new(format!(
                                            "at most {} connections per user",
                                            registry.max_connections_per_user
                                        )));
                                    }
                                    *user_cell
                                        .lock()
                                        .unwrap_or_else(std::sync::PoisonError::into_inner) =
                                        Some(user);
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
                                    request_id: connection_id,
                                });
                                init_done.store(true, std::sync::atomic::Ordering::Release);
                                Ok(data)
                            }
                        })
                        .serve()
                })
                .await;
            let user = *connected_user
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(user) = user {
                registry.release(user);
            }
        })
}
