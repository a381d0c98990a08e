//! The principal: who is asking, with every fact the policies need, resolved once per request.
//!
//! Plain data with no I/O, so `policy/` can depend on it and be tested as pure functions.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

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

/// The principal's facts: the sets of ids and the flags the application declares (see
/// [`crate::Fact`]), loaded for the user and cached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    ids: BTreeMap<String, Vec<Uuid>>,
    flags: BTreeSet<String>,
}

impl Facts {
    /// The ids of the set fact `name` (empty when the user has none, or it is unknown).
    pub fn ids(&self, name: &str) -> &[Uuid] {
        self.ids.get(name).map_or(&[], Vec::as_slice)
    }

    /// Whether the set fact `name` holds `id`.
    pub fn contains(&self, name: &str, id: Uuid) -> bool {
        self.ids(name).contains(&id)
    }

    /// Whether the flag fact `name` holds.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.contains(name)
    }

    /// Sets the ids of the set fact `name`.
    pub fn set_ids(&mut self, name: &str, mut ids: Vec<Uuid>) {
        ids.sort_unstable();
        ids.dedup();
        self.ids.insert(name.to_owned(), ids);
    }

    /// Raises the flag fact `name`.
    pub fn set_flag(&mut self, name: &str) {
        self.flags.insert(name.to_owned());
    }

    /// Every set fact with its ids, and every raised flag (for encoding).
    pub fn parts(&self) -> (&BTreeMap<String, Vec<Uuid>>, &BTreeSet<String>) {
        (&self.ids, &self.flags)
    }

    /// Facts from their parts (as [`Facts::parts`] gave them).
    pub fn from_parts(ids: BTreeMap<String, Vec<Uuid>>, flags: BTreeSet<String>) -> Self {
        Self { ids, flags }
    }
}

/// Who is asking, and every fact about them that a policy may depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Anon, authenticated or service role.
    pub role: Role,
    /// The user (`sub`), for authenticated principals.
    pub user_id: Option<Uuid>,
    /// The tenant this request acts in (within the application's tenant scope, if it
    /// declares one).
    pub active_tenant: Option<Uuid>,
    /// The user's facts.
    pub facts: Arc<Facts>,
}

impl Principal {
    /// The principal of a request without a token.
    pub fn anon() -> Self {
        Self {
            role: Role::Anon,
            user_id: None,
            active_tenant: None,
            facts: Arc::default(),
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

    /// An authenticated principal of `user` with `facts`, acting in `tenant`.
    pub fn authenticated(user: Uuid, tenant: Option<Uuid>, facts: Arc<Facts>) -> Self {
        Self {
            role: Role::Authenticated,
            user_id: Some(user),
            active_tenant: tenant,
            facts,
        }
    }
}
