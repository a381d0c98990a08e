//! The gateway's one error enum and its one conversion to GraphQL errors.
//!
//! Database and Redis errors are kept as their own variants and never converted to text
//! for the client: [`AppError::to_graphql`] turns them into `INTERNAL` with the request id,
//! and logs the detail server-side. Resolvers return `Result<_, AppError>` and nothing else,
//! so async-graphql's blanket `From<Display>` can never leak SQL text.

use async_graphql::ErrorExtensions;
use axum::http::StatusCode;
use serde_json::json;

/// The codes a client sees in `extensions.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// No valid credentials where they are needed, or a bad token.
    Unauthenticated,
    /// Authenticated, but not allowed.
    Forbidden,
    /// No such row, or none the principal may read.
    NotFound,
    /// The request's input is invalid.
    BadUserInput,
    /// The write conflicts with the data (uniqueness, last owner, …).
    Conflict,
    /// The query exceeds a configured limit.
    QueryTooComplex,
    /// Too many requests.
    RateLimited,
    /// The request (or one of its statements, or the wait for a connection) ran past its
    /// deadline; the write that answers it was not committed.
    Timeout,
    /// Anything else; details stay in the server log.
    Internal,
    /// A persisted-query hash the gateway does not know (the client resends it with the
    /// document).
    PersistedQueryNotFound,
    /// Persisted queries are off (`ROWGATE_PERSISTED_QUERIES=off`).
    PersistedQueryNotSupported,
    /// A document outside the allow-list (`ROWGATE_PERSISTED_QUERIES=allowlist`).
    PersistedQueryNotInList,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [Self; 12] = [
        Self::Unauthenticated,
        Self::Forbidden,
        Self::NotFound,
        Self::BadUserInput,
        Self::Conflict,
        Self::QueryTooComplex,
        Self::RateLimited,
        Self::Timeout,
        Self::Internal,
        Self::PersistedQueryNotFound,
        Self::PersistedQueryNotSupported,
        Self::PersistedQueryNotInList,
    ];

    /// The code named `name` as clients see it (`BAD_USER_INPUT`, …).
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == name)
    }

    /// The code as clients see it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Conflict => "CONFLICT",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::RateLimited => "RATE_LIMITED",
            Self::Timeout => "TIMEOUT",
            Self::Internal => "INTERNAL",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::PersistedQueryNotSupported => "PERSISTED_QUERY_NOT_SUPPORTED",
            Self::PersistedQueryNotInList => "PERSISTED_QUERY_NOT_IN_LIST",
        }
    }

    /// The HTTP status for an error that ends the whole request before GraphQL runs.
    pub fn http_status(self) -> StatusCode {
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadUserInput
            | Self::QueryTooComplex
            | Self::PersistedQueryNotFound
            | Self::PersistedQueryNotSupported
            | Self::PersistedQueryNotInList => StatusCode::BAD_REQUEST,
            Self::Conflict => StatusCode::CONFLICT,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Every error the gateway's request path can produce.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// See [`ErrorCode::Unauthenticated`].
    #[error("{0}")]
    Unauthenticated(String),
    /// See [`ErrorCode::Forbidden`].
    #[error("{0}")]
    Forbidden(String),
    /// See [`ErrorCode::NotFound`].
    #[error("{0}")]
    NotFound(String),
    /// See [`ErrorCode::BadUserInput`].
    #[error("{0}")]
    BadUserInput(String),
    /// See [`ErrorCode::Conflict`].
    #[error("{0}")]
    Conflict(String),
    /// A uniqueness failure of a write, with the columns of the violated constraint (empty
    /// when the database did not say); code CONFLICT.
    #[error("{}", unique_message(.columns))]
    Unique {
        /// The colliding columns.
        columns: Vec<String>,
    },
    /// A database error: shown to clients only as INTERNAL.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// A Redis error: shown to clients only as INTERNAL.
    #[error("redis error: {0}")]
    Redis(#[from] redis::RedisError),
    /// See [`ErrorCode::Timeout`].
    #[error("{0}")]
    Timeout(String),
    /// A persisted-query refusal: one of the `PERSISTED_QUERY_*` codes, with the message
    /// the protocol prescribes (`PersistedQueryNotFound`, …).
    #[error("{1}")]
    PersistedQuery(ErrorCode, String),
    /// Any other internal failure: shown to clients only as INTERNAL.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// The client-facing code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::BadUserInput(_) => ErrorCode::BadUserInput,
            Self::Conflict(_) | Self::Unique { .. } => ErrorCode::Conflict,
            Self::Timeout(_) => ErrorCode::Timeout,
            Self::PersistedQuery(code, _) => *code,
            Self::Database(err) => database_code(err),
            Self::Redis(_) | Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The message a client may see: the error's own text for client errors, a fixed text
    /// with the request id for internal ones (whose detail is logged here instead).
    pub fn public_message(&self, request_id: &str) -> String {
        match self.code() {
            ErrorCode::Internal => {
                tracing::error!(request_id, error = %self, "internal error");
                format!("internal error; quote request id {request_id} when reporting it")
            }
            ErrorCode::Timeout => {
                tracing::warn!(request_id, error = %self, "timed out");
                format!(
                    "the request ran past its deadline and was cancelled; quote request id {request_id} when reporting it"
                )
            }
            ErrorCode::Conflict if matches!(self, Self::Database(_)) => {
                tracing::info!(request_id, error = %self, "write collided");
                "the write collided with a concurrent one and nothing of it was written; retry it"
                    .into()
            }
            _ => self.to_string(),
        }
    }

    /// The one conversion to a GraphQL error, with `extensions.code` (and `requestId` for
    /// internal errors).
    pub fn to_graphql(&self, request_id: &str) -> async_graphql::Error {
        let code = self.code();
        let message = self.public_message(request_id);
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", code.as_str());
            if matches!(code, ErrorCode::Internal | ErrorCode::Timeout) {
                ext.set("requestId", request_id);
            }
        })
    }

    /// The error as a GraphQL error of the whole request: no location or path.
    pub fn to_request_error(&self, request_id: &str) -> async_graphql::ServerError {
        let error = self.to_graphql(request_id);
        async_graphql::ServerError {
            extensions: error.extensions,
            ..async_graphql::ServerError::new(error.message, None)
        }
    }

    /// A whole-request error body (`{"errors": [...]}`) for failures before GraphQL runs.
    pub fn to_http_body(&self, request_id: &str) -> serde_json::Value {
        let code = self.code();
        let mut extensions = json!({ "code": code.as_str() });
        if matches!(code, ErrorCode::Internal | ErrorCode::Timeout) {
            extensions["requestId"] = json!(request_id);
        }
        json!({ "errors": [{ "message": self.public_message(request_id), "extensions": extensions }] })
    }
}

fn unique_message(columns: &[String]) -> String {
    if columns.is_empty() {
        "a row with the same key already exists".into()
    } else {
        format!("a row with the same {} already exists", columns.join(", "))
    }
}

/// The client-facing code of a database error: TIMEOUT for a deadline (the wait for a
/// pooled connection, a statement cancelled by PostgreSQL's `statement_timeout` — SQLSTATE
/// 57014 —, SQLite's wait for its write lock run out — SQLITE_BUSY, SQLITE_LOCKED);
/// CONFLICT for a collision with a concurrent write that a retry resolves (PostgreSQL's
/// deadlock_detected 40P01 and serialization_failure 40001, SQLite's SQLITE_BUSY_SNAPSHOT);
/// INTERNAL for anything else.
fn database_code(err: &sea_orm::DbErr) -> ErrorCode {
    use sea_orm::{DbErr, RuntimeErr};
    match err {
        DbErr::ConnectionAcquire(sea_orm::error::ConnAcquireErr::Timeout) => ErrorCode::Timeout,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            sea_orm::sqlx::Error::PoolTimedOut => ErrorCode::Timeout,
            sea_orm::sqlx::Error::Database(db) => match db.code().as_deref() {
                Some("57014" | "5" | "6") => ErrorCode::Timeout,
                Some("40P01" | "40001" | "517") => ErrorCode::Conflict,
                _ => ErrorCode::Internal,
            },
            _ => ErrorCode::Internal,
        },
        _ => ErrorCode::Internal,
    }
}

/// Result type of the request path.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let err = AppError::Database(sea_orm::DbErr::Custom("SELECT secret FROM t".into()));
        let gql = err.to_graphql("req-1");
        assert!(!gql.message.contains("SELECT"));
        assert!(gql.message.contains("req-1"));
        let body = err.to_http_body("req-1").to_string();
        assert!(!body.contains("SELECT"));
        assert!(body.contains("\"INTERNAL\""));
    }

    #[test]
    fn client_errors_keep_their_message_and_code() {
        let err = AppError::Forbidden("not a member of that tenant".into());
        let body = err.to_http_body("r");
        assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
        assert_eq!(body["errors"][0]["message"], "not a member of that tenant");
    }
}
