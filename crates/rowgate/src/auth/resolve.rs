//! Builds the [`Principal`] of a request: verified claims, then the facts from the cache
//! (which reads the database, through the store's statement counter, on a miss).

use uuid::Uuid;

use super::jwt::TokenVerifier;
use super::principal::{Principal, Role};
use crate::cache::HotCache;
use crate::error::{AppError, AppResult};

/// What the edge knows about a request before it is resolved.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestIdentity<'a> {
    /// The bearer token, without the `Bearer ` prefix.
    pub bearer: Option<&'a str>,
    /// The `X-Tenant-Id` header.
    pub tenant_header: Option<&'a str>,
    /// The `Host` header.
    pub host: Option<&'a str>,
}

/// Extracts the token from an `Authorization` header value; a header that is present but
/// not `Bearer <token>` is UNAUTHENTICATED rather than ignored.
pub fn bearer_token(header: &str) -> AppResult<&str> {
    let (scheme, token) = header.trim().split_once(' ').ok_or_else(|| {
        AppError::Unauthenticated("Authorization must be `Bearer <token>`".into())
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AppError::Unauthenticated(
            "Authorization must be `Bearer <token>`".into(),
        ));
    }
    Ok(token.trim())
}

/// The tenant subdomain a Host header names: the first label of a name with two or more
/// labels (`acme.example.com`, `acme.localhost`); none for IP addresses and single labels.
pub fn host_subdomain(host: &str) -> Option<&str> {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    if name.starts_with('[') || name.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let mut labels = name.split('.');
    let first = labels.next()?;
    labels.next()?;
    (!first.is_empty()).then_some(first)
}

fn parse_claim_uuid(value: &str, claim: &str) -> AppResult<Uuid> {
    Uuid::parse_str(value)
        .map_err(|_| AppError::Unauthenticated(format!("invalid token: `{claim}` is not a UUID")))
}

/// Verifies the request's token and looks up the principal's memberships, platform roles
/// and blocks (and the tenant a Host subdomain names) in `cache`. No token is anon; a bad
/// token is UNAUTHENTICATED; an active tenant the user is not a member of is FORBIDDEN.
pub async fn resolve_principal(
    cache: &HotCache,
    verifier: &TokenVerifier,
    identity: RequestIdentity<'_>,
) -> AppResult<Principal> {
    let Some(token) = identity.bearer else {
        return Ok(Principal::anon());
    };
    let claims = verifier.verify(token).await?;
    let role = match claims.role.as_deref() {
        None | Some("authenticated") => Role::Authenticated,
        Some("service_role") => Role::ServiceRole,
        Some("anon") => Role::Anon,
        Some(_) => {
            return Err(AppError::Unauthenticated(
                "invalid token: unsupported `role`".into(),
            ));
        }
    };
    let user_id = claims
        .sub
        .as_deref()
        .map(|s| parse_claim_uuid(s, "sub"))
        .transpose()?;
    if role == Role::Anon {
        return Ok(Principal::anon());
    }
    if role == Role::Authenticated && user_id.is_none() {
        return Err(AppError::Unauthenticated(
            "invalid token: `sub` is required".into(),
        ));
    }

    let header_tenant = identity
        .tenant_header
        .map(|header| {
            Uuid::parse_str(header.trim())
                .map_err(|_| AppError::BadUserInput("X-Tenant-Id must be a UUID".into()))
        })
        .transpose()?;
    let claim = claims
        .tenant_id
        .as_deref()
        .map(|claim| parse_claim_uuid(claim, "tenant_id"))
        .transpose()?;
    let host_tenant = async {
        match identity.host.and_then(host_subdomain) {
            // Host names are case-insensitive: `ACME.example.com` is `acme`'s.
            Some(subdomain) => {
                cache
                    .tenant_by_subdomain(&subdomain.to_ascii_lowercase())
                    .await
            }
            None => Ok(None),
        }
    };
    let requested_tenant = if role == Role::Authenticated
        && cache.tenant_source() == crate::policy::TenantSource::ClaimOnly
    {
        // The claim alone names the tenant: a header or a Host naming another is refused
        // (each is checked, whichever the request carries).
        let named = [header_tenant, host_tenant.await?];
        if let Some(named) = named
            .into_iter()
            .flatten()
            .find(|named| Some(*named) != claim)
        {
            return Err(AppError::Forbidden(match claim {
                Some(_) => format!(
                    "the request names tenant {named}, not the token's `tenant_id` claim; use a token for that tenant"
                ),
                None => format!(
                    "the request names tenant {named}, and a tenant is taken only from the token's `tenant_id` claim, which this token does not have"
                ),
            }));
        }
        claim
    } else {
        match (claim, header_tenant) {
            (Some(claim), header) => {
                // The token's tenant is the one the request acts in; a header naming another
                // is refused rather than silently ignored.
                if header.is_some_and(|header| header != claim) {
                    return Err(AppError::Forbidden(
                        "X-Tenant-Id names another tenant than the token's `tenant_id` claim; drop the header or use a token for that tenant".into(),
                    ));
                }
                Some(claim)
            }
            (None, Some(header)) => Some(header),
            (None, None) => host_tenant.await?,
        }
    };

    let Some(user_id) = user_id.filter(|_| role == Role::Authenticated) else {
        return Ok(Principal::service_role(user_id, requested_tenant));
    };

    let facts = cache.principal_facts(user_id).await?;
    if let Some(tenant) = requested_tenant
        && let Some(scope) = cache.tenant_scope()
        && !facts.contains(scope, tenant)
    {
        return Err(AppError::Forbidden(
            "not a member of the requested tenant".into(),
        ));
    }
    Ok(Principal::authenticated(user_id, requested_tenant, facts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomain_is_the_first_label_of_a_name() {
        assert_eq!(host_subdomain("acme.example.com"), Some("acme"));
        assert_eq!(host_subdomain("acme.localhost:8080"), Some("acme"));
        assert_eq!(host_subdomain("localhost:8080"), None);
        assert_eq!(host_subdomain("127.0.0.1:8080"), None);
        assert_eq!(host_subdomain("[::1]:8080"), None);
    }

    #[test]
    fn authorization_header_must_be_bearer() {
        assert_eq!(bearer_token("Bearer abc").ok(), Some("abc"));
        assert_eq!(bearer_token("bearer  abc ").ok(), Some("abc"));
        assert!(bearer_token("Basic abc").is_err());
        assert!(bearer_token("Bearer").is_err());
        assert!(bearer_token("Bearer   ").is_err());
    }
}
