//! JWT verification and minting.
//!
//! Algorithms are pinned by configuration (`ROWGATE_JWT_ALGORITHMS`, by default every
//! algorithm a configured key source can verify): the token header only selects among them,
//! never adds one, and `alg: none` cannot even be parsed. HS256/384/512 are verified with
//! `ROWGATE_JWT_SECRET` only; RS256/ES256 with JWKS keys only, chosen by the header's `kid`,
//! and only by a key whose own type (and `alg`, when it has one) is for the token's algorithm.
//! So an RS256 public key can never be used as an HMAC secret. Header fields that would let a
//! token name its own key (`jwk`, `jku`, `x5u`, `x5c`) are ignored.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::jwks::{JwksKeys, KeyError};
use crate::config::{ConfigError, JwtConfig, Secret};
use crate::error::AppError;

/// The `aud` claim: one audience (Supabase) or several (RFC 7519 allows both).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

/// The claims rowgate reads; Supabase-compatible (`sub`, `role`, `exp`, `aud`, `tenant_id`).
/// A claim of the wrong JSON type makes the whole token invalid.
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
    pub aud: Option<Audience>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The active tenant chosen by the token, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Every other claim (where a configured claim path may point).
    #[serde(flatten, skip_serializing_if = "serde_json::Map::is_empty")]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl Claims {
    /// Moves the user, role and tenant to `sub`, `role` and `tenant_id` from where
    /// `mapping` says they are; a configured claim that is not a string (or absent) counts
    /// as absent.
    fn mapped(mut self, mapping: &crate::config::ClaimsMapping) -> Self {
        if mapping == &crate::config::ClaimsMapping::default() {
            return self;
        }
        let Ok(serde_json::Value::Object(all)) = serde_json::to_value(&self) else {
            return self;
        };
        let at = |path: &[String]| -> Option<String> {
            let (first, rest) = path.split_first()?;
            let mut value = all.get(first)?;
            for key in rest {
                value = value.as_object()?.get(key)?;
            }
            value.as_str().map(str::to_owned)
        };
        let (sub, role, tenant) = (at(&mapping.user), at(&mapping.role), at(&mapping.tenant));
        self.sub = sub;
        self.role = role;
        self.tenant_id = tenant;
        self
    }
}

/// Checks bearer tokens against the configured keys, algorithms, audience and issuer.
/// Cheap to clone: clones share the JWKS cache.
#[derive(Clone)]
pub struct TokenVerifier {
    hmac: Option<DecodingKey>,
    jwks: Option<Arc<JwksKeys>>,
    /// One validation per accepted algorithm; an algorithm not here is refused.
    validations: Vec<(Algorithm, Validation)>,
    /// Where the user, role and tenant claims are.
    claims: crate::config::ClaimsMapping,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("hmac", &self.hmac.is_some())
            .field("jwks", &self.jwks)
            .field(
                "algorithms",
                &self.validations.iter().map(|(a, _)| a).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn is_hmac(algorithm: Algorithm) -> bool {
    matches!(
        algorithm,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    )
}

fn unauthenticated(why: &str) -> AppError {
    AppError::Unauthenticated(format!("invalid token: {why}"))
}

impl TokenVerifier {
    /// Builds the verifier from configuration. A JWKS file is read here, so a missing or
    /// unusable one stops the start; a JWKS URL is fetched in the background.
    pub fn new(config: &JwtConfig) -> Result<Self, ConfigError> {
        let hmac = config
            .secret
            .as_ref()
            .map(|s| DecodingKey::from_secret(s.expose().as_bytes()));
        let jwks = JwksKeys::from_config(config)?;
        let validations = config
            .algorithms
            .iter()
            // Configuration already refuses an algorithm without its key source; this keeps
            // the verifier closed even if it were handed such a list.
            .filter(|a| {
                if is_hmac(**a) {
                    hmac.is_some()
                } else {
                    jwks.is_some()
                }
            })
            .map(|&algorithm| {
                let mut validation = Validation::new(algorithm);
                validation.leeway = config.leeway.as_secs();
                validation.validate_nbf = true;
                // A configured audience or issuer must be present, not only right when present
                // (jsonwebtoken checks `aud` and `iss` only if the token carries them).
                let mut required = vec!["exp"];
                match &config.audience {
                    Some(aud) => {
                        validation.set_audience(&[aud]);
                        required.push("aud");
                    }
                    None => validation.validate_aud = false,
                }
                if let Some(iss) = &config.issuer {
                    validation.set_issuer(&[iss]);
                    required.push("iss");
                }
                validation.set_required_spec_claims(&required);
                (algorithm, validation)
            })
            .collect();
        Ok(Self {
            hmac,
            jwks,
            validations,
            claims: config.claims.clone(),
        })
    }

    /// Verifies a compact JWS and returns its claims, or UNAUTHENTICATED saying why. May
    /// refetch the JWKS once for an unknown `kid` (rate-limited, see [`JwksKeys`]).
    pub async fn verify(&self, token: &str) -> Result<Claims, AppError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| unauthenticated("malformed header"))?;
        if header.crit.as_ref().is_some_and(|c| !c.is_empty()) {
            return Err(unauthenticated(
                "critical header extensions are not supported",
            ));
        }
        let Some((_, validation)) = self.validations.iter().find(|(a, _)| *a == header.alg) else {
            return Err(unauthenticated("algorithm not accepted"));
        };
        let jwks_key;
        let key = if is_hmac(header.alg) {
            self.hmac
                .as_ref()
                .ok_or_else(|| unauthenticated("algorithm not accepted"))?
        } else {
            let jwks = self
                .jwks
                .as_ref()
                .ok_or_else(|| unauthenticated("algorithm not accepted"))?;
            let kid = header
                .kid
                .as_deref()
                .ok_or_else(|| unauthenticated("no `kid` in the header"))?;
            jwks_key = jwks.key(kid, header.alg).await.map_err(|e| match e {
                KeyError::UnknownKid => unauthenticated("unknown key id"),
                KeyError::AlgorithmMismatch => {
                    unauthenticated("the key is not for the token's algorithm")
                }
            })?;
            &jwks_key
        };
        let data = jsonwebtoken::decode::<Claims>(token, key, validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            unauthenticated(match e.kind() {
                ErrorKind::ExpiredSignature => "expired",
                ErrorKind::ImmatureSignature => "not yet valid",
                ErrorKind::InvalidSignature => "bad signature",
                ErrorKind::InvalidAudience => "wrong audience",
                ErrorKind::InvalidIssuer => "wrong issuer",
                ErrorKind::MissingRequiredClaim(_) => "missing claim",
                ErrorKind::InvalidAlgorithm => "algorithm not accepted",
                ErrorKind::Json(_) | ErrorKind::InvalidClaimFormat(_) => "claims of the wrong type",
                _ => "malformed",
            })
        })?;
        Ok(data.claims.mapped(&self.claims))
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
        aud: request.audience.clone().map(Audience::One),
        iss: request.issuer.clone(),
        tenant_id: request.tenant.map(|t| t.to_string()),
        other: serde_json::Map::new(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose().as_bytes()),
    )
    .map_err(|e| AppError::Internal(format!("signing a token: {e}")))
}
