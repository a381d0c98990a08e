//! Authentication at the edge: a bearer token becomes a typed [`Principal`] once per request.
//!
//! Claims from a verified token win over anything the client sends. A bad token is an
//! error (HTTP 401), never a silent downgrade to anon; no token at all is anon.

pub mod jwks;
pub mod jwt;
pub mod resolve;

pub use jwt::{Audience, Claims, TokenVerifier, mint_token};
pub use rowgate_policy::principal::{self, Facts, Principal, Role};
