//! The principal: who is asking, with every fact the policies need, resolved once per request.
//!
//! Plain data with no I/O, so `policy/` can depend on it and be tested as pure functions.

use uuid::Uuid;

/// The database role a request runs as (Supabase's vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// No token: reads only what is public.
    Anon,
    /// A valid token whose `sub` is a profile id.
    Authenticated,
    /// Bypasses row policies; still audited.
    ServiceRole,
}

impl Role {
    /// The role as written in tokens and audit rows.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anon => "anon",
            Self::Authenticated => "authenticated",
            Self::ServiceRole => "service_role",
        }
    }
}

/// A role inside one tenant (`tenant_members.role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TenantRole {
    /// Plain member.
    Member,
    /// Tenant administrator.
    Admin,
    /// Tenant owner (also an administrator).
    Owner,
}

impl TenantRole {
    /// Parses the stored text; unknown values are refused by the CHECK constraint already.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "member" => Some(Self::Member),
            "admin" => Some(Self::Admin),
            "owner" => Some(Self::Owner),
            _ => None,
        }
    }

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }

    /// Owner or admin.
    pub fn is_admin(self) -> bool {
        matches!(self, Self::Admin | Self::Owner)
    }
}

/// A platform role (`user_roles.role`); never taken from token claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformRole {
    /// Platform administrator.
    Admin,
    /// Platform moderator.
    Moderator,
}

impl PlatformRole {
    /// Parses the stored text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(Self::Admin),
            "moderator" => Some(Self::Moderator),
            _ => None,
        }
    }

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Moderator => "moderator",
        }
    }
}

/// One `tenant_members` row of the principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The principal's role in it.
    pub role: TenantRole,
}

/// Who is asking, and every fact about them that a policy may depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Anon, authenticated or service role.
    pub role: Role,
    /// The user (`sub`), for authenticated principals.
    pub user_id: Option<Uuid>,
    /// The tenant this request acts in; always one the user is a member of.
    pub active_tenant: Option<Uuid>,
    /// Every tenant the user belongs to, with their role there.
    pub memberships: Vec<Membership>,
    /// Platform roles from `user_roles`.
    pub platform_roles: Vec<PlatformRole>,
    /// Users this user has blocked.
    pub blocked: Vec<Uuid>,
}

impl Principal {
    /// The principal of a request without a token.
    pub fn anon() -> Self {
        Self {
            role: Role::Anon,
            user_id: None,
            active_tenant: None,
            memberships: Vec::new(),
            platform_roles: Vec::new(),
            blocked: Vec::new(),
        }
    }

    /// The service role, optionally acting for a user and in a tenant.
    pub fn service_role(user_id: Option<Uuid>, active_tenant: Option<Uuid>) -> Self {
        Self {
            role: Role::ServiceRole,
            user_id,
            active_tenant,
            ..Self::anon()
        }
    }

    /// The principal's role in `tenant`, if a member.
    pub fn tenant_role(&self, tenant: Uuid) -> Option<TenantRole> {
        self.memberships
            .iter()
            .find(|m| m.tenant_id == tenant)
            .map(|m| m.role)
    }

    /// Whether the principal is a platform admin.
    pub fn is_platform_admin(&self) -> bool {
        self.platform_roles.contains(&PlatformRole::Admin)
    }
}
