//! JWT verification and minting (HS256/384/512 with the configured secret).
//!
//! Algorithms are pinned by configuration: the token header only selects among the
//! algorithms the gateway accepts, never adds one. `alg: none` cannot even be parsed.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::{JwtConfig, Secret};
use crate::error::AppError;

/// The claims rowgate reads; Supabase-compatible (`sub`, `role`, `exp`, `aud`, `tenant_id`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user id (a profile id); absent on service-role tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// `authenticated`, `service_role` or `anon`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The active tenant chosen by the token, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

/// Checks bearer tokens against the configured keys, audience and issuer.
#[derive(Clone)]
pub struct TokenVerifier {
    hmac: Option<DecodingKey>,
    validation: Validation,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("hmac", &self.hmac.is_some())
            .field("algorithms", &self.validation.algorithms)
            .finish()
    }
}

const HMAC_ALGORITHMS: [Algorithm; 3] = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];

impl TokenVerifier {
    /// Builds the verifier from configuration.
    pub fn new(config: &JwtConfig) -> Self {
        let hmac = config
            .secret
            .as_ref()
            .map(|s| DecodingKey::from_secret(s.expose().as_bytes()));
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = if hmac.is_some() {
            HMAC_ALGORITHMS.to_vec()
        } else {
            Vec::new()
        };
        validation.leeway = config.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        match &config.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        if let Some(iss) = &config.issuer {
            validation.set_issuer(&[iss]);
        }
        Self { hmac, validation }
    }

    /// Verifies a compact JWS and returns its claims, or UNAUTHENTICATED saying why.
    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        let unauthenticated =
            |why: &str| AppError::Unauthenticated(format!("invalid token: {why}"));
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| unauthenticated("malformed header"))?;
        if !self.validation.algorithms.contains(&header.alg) {
            return Err(unauthenticated("algorithm not accepted"));
        }
        let key = self
            .hmac
            .as_ref()
            .ok_or_else(|| unauthenticated("algorithm not accepted"))?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            unauthenticated(match e.kind() {
                ErrorKind::ExpiredSignature => "expired",
                ErrorKind::ImmatureSignature => "not yet valid",
                ErrorKind::InvalidSignature => "bad signature",
                ErrorKind::InvalidAudience => "wrong audience",
                ErrorKind::InvalidIssuer => "wrong issuer",
                ErrorKind::MissingRequiredClaim(_) => "missing claim",
                ErrorKind::InvalidAlgorithm => "algorithm not accepted",
                ErrorKind::Json(_) => "claims of the wrong type",
                _ => "malformed",
            })
        })?;
        Ok(data.claims)
    }
}

/// What a minted token says.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// The user, for `authenticated` tokens.
    pub user: Option<Uuid>,
    /// The active tenant claim.
    pub tenant: Option<Uuid>,
    /// `authenticated` or `service_role`.
    pub role: String,
    /// Lifetime.
    pub ttl: Duration,
    /// Audience claim to include.
    pub audience: Option<String>,
    /// Issuer claim to include.
    pub issuer: Option<String>,
}

/// Signs an HS256 token with the configured secret (for GraphiQL, scripts and tests).
pub fn mint_token(secret: &Secret, request: &TokenRequest) -> Result<String, AppError> {
    let now = chrono::Utc::now().timestamp();
    let ttl = i64::try_from(request.ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let claims = Claims {
        sub: request.user.map(|u| u.to_string()),
        role: Some(request.role.clone()),
        exp: now.saturating_add(ttl),
        iat: Some(now),
        aud: request.audience.clone(),
        iss: request.issuer.clone(),
        tenant_id: request.tenant.map(|t| t.to_string()),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose().as_bytes()),
    )
    .map_err(|e| AppError::Internal(format!("signing a token: {e}")))
}
