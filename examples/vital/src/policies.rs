//! Every table's policy. The tenant rule is the seed document's RLS policy,
//! `tenant_id = auth.jwt() ->> 'tenant_id'`: a row is in scope when its `tenant_id` is the
//! request's active tenant ([`Pred::ActiveTenant`]) — the token's `tenant_id` claim only
//! ([`TenantSource::ClaimOnly`]: a Host subdomain or X-Tenant-Id naming another tenant, or
//! naming one for a token without the claim, is FORBIDDEN) — with no membership lookup (no tenant scope is declared: the token's issuer vouches for the
//! claim). The tenant must be live: a token whose claim names a removed (soft-deleted)
//! tenant reads and writes nothing.
//!
//! What a user may do inside their tenant comes from their own profile: `profiles.role` is
//! `user`, `editor` or `admin`, loaded as two principal facts ([`EDITS_TENANTS`],
//! [`ADMIN_TENANTS`]) by the user's id, and cached. An editor (or admin) writes the tenant's
//! catalogue — agents, personas, jobs to be done and their outcomes, RAG documents and
//! chunks — and reads its draft and archived agents; an admin also manages the tenant's
//! profiles and settings. Every write is additionally bound to the active tenant, so an
//! editor whose token names another tenant edits nothing.
//!
//! Reading a block: `read` says which rows the principal sees (soft-deleted rows never);
//! `insert.check` is checked on the row as it would be written, after presets; `update.using`
//! selects which readable rows may change and `update.check` what the changed row must
//! satisfy; `delete` which readable rows may go (soft on soft-delete tables). The service
//! role bypasses every rule. A foreign key the client sets must name a row the principal
//! may read, of the same tenant ([`Tenancy`]).

use rowgate::policy::{
    Access, Col, Fact, HotConfig, InsertRule, Lit, PolicySet, Pred, Preset, TablePolicy, Tenancy,
    TenantSource, UpdateRule, col,
};

use crate::entities::{
    agents, ask_expert_messages, ask_expert_sessions, jtbd_desired_outcomes, jtbds, personas,
    profiles, rag_documents, rag_knowledge_chunks, tenants,
};

/// The tenant of the user's profile, when their role there is `editor` or `admin`: the
/// tenant whose catalogue they edit.
pub const EDITS_TENANTS: &str = "edits_tenants";
/// The tenant of the user's profile, when their role there is `admin`.
pub const ADMIN_TENANTS: &str = "admin_tenants";

/// The tables served as subscriptions (`agentChanged`, `askExpertMessageChanged`).
pub const REALTIME: [&str; 2] = ["agents", "ask_expert_messages"];

/// The principal facts the policies name, loaded by the user's id from `profiles` (one
/// statement) and invalidated whenever a profile changes.
pub fn facts() -> Vec<Fact> {
    use profiles::Column as P;
    let role_in = |name, roles: &[&'static str]| {
        Fact::ids(name, col(P::Id), col(P::TenantId))
            .when(col(P::Role), roles.iter().map(|r| Lit::Text(r)))
    };
    vec![
        role_in(EDITS_TENANTS, &["editor", "admin"]),
        role_in(ADMIN_TENANTS, &["admin"]),
    ]
}

/// Every table's policy, the facts they name, the tenancy, the subscriptions and the tenant
/// named by subdomain.
pub fn policies() -> PolicySet {
    PolicySet::new(vec![
        tenants(),
        profiles(),
        personas(),
        jtbds(),
        jtbd_desired_outcomes(),
        agents(),
        ask_expert_sessions(),
        ask_expert_messages(),
        rag_documents(),
        rag_knowledge_chunks(),
    ])
    .with_facts(facts())
    .with_tenancy(Tenancy {
        tenants: col(tenants::Column::Id),
        column: "tenant_id",
    })
    // The seed's tenant rule: `tenant_id = the token's tenant_id claim`, no membership
    // lookup. The Host's subdomain names the tenant a frontend is for; a request whose Host
    // (or X-Tenant-Id) names another tenant than the claim is refused.
    .with_tenant_source(TenantSource::ClaimOnly)
    .with_hot_config(HotConfig {
        subdomain: Some(col(tenants::Column::Subdomain)),
        ..HotConfig::default()
    })
    .with_realtime(REALTIME)
}

/// The row is in the request's active tenant, and that tenant is live: its `tenants` row
/// is readable (a token whose claim names a removed tenant reads and writes nothing).
fn in_tenant(tenant: Col) -> Pred {
    Pred::all([
        Pred::ActiveTenant(tenant),
        Pred::ReadableVia {
            fk: tenant,
            parent_key: col(tenants::Column::Id),
        },
    ])
}

/// The row is in the live active tenant, and the principal edits that tenant's catalogue.
fn editor_of(tenant: Col) -> Pred {
    Pred::all([in_tenant(tenant), Pred::InFact(tenant, EDITS_TENANTS)])
}

/// The row is in the live active tenant, and the principal administers it.
fn admin_of(tenant: Col) -> Pred {
    Pred::all([in_tenant(tenant), Pred::InFact(tenant, ADMIN_TENANTS)])
}

fn allow(pred: Pred) -> Access {
    Access::Allow(pred)
}

/// An insert rule: the client's `columns`, the gateway's `presets`.
fn insert(check: Access, columns: Vec<Col>, presets: Vec<(Col, Preset)>) -> Option<InsertRule> {
    Some(InsertRule {
        check,
        columns,
        presets,
        column_checks: Vec::new(),
    })
}

/// An update rule whose changed row must still satisfy `using` (it cannot be moved out of
/// reach).
fn update(using: Pred, columns: Vec<Col>) -> Option<UpdateRule> {
    Some(UpdateRule {
        using: Access::Allow(using.clone()),
        check: using,
        columns,
        presets: Vec::new(),
        column_checks: Vec::new(),
    })
}

/// A tenant-owned catalogue table: read in the active tenant (narrowed by `read`), written
/// by its editors; the tenant and the creator are set by the gateway.
fn catalogue(
    table: &'static str,
    tenant: Col,
    created_by: Col,
    read: Pred,
    insert_columns: Vec<Col>,
    update_columns: Vec<Col>,
    soft_delete: Option<Col>,
) -> TablePolicy {
    TablePolicy {
        table,
        soft_delete,
        read: allow(read),
        masks: Vec::new(),
        insert: insert(
            allow(editor_of(tenant)),
            insert_columns,
            vec![(tenant, Preset::ActiveTenant), (created_by, Preset::UserId)],
        ),
        update: update(editor_of(tenant), update_columns),
        delete: allow(editor_of(tenant)),
        copies: None,
    }
}

/// Tenants: each reads its active tenant only; its admins rename it and change its
/// settings; tiers, new tenants and removals are the service role's (provisioning).
fn tenants() -> TablePolicy {
    use tenants::Column as C;
    TablePolicy {
        table: "tenants",
        soft_delete: Some(col(C::DeletedAt)),
        read: allow(Pred::ActiveTenant(col(C::Id))),
        masks: Vec::new(),
        insert: insert(
            Access::Deny,
            vec![
                col(C::Name),
                col(C::Subdomain),
                col(C::Tier),
                col(C::Settings),
            ],
            vec![(col(C::CreatedBy), Preset::UserId)],
        ),
        update: update(
            Pred::all([
                Pred::ActiveTenant(col(C::Id)),
                Pred::InFact(col(C::Id), ADMIN_TENANTS),
            ]),
            vec![col(C::Name), col(C::Settings)],
        ),
        delete: Access::Deny,
        copies: None,
    }
}

/// Profiles: the active tenant's people, each email visible to its owner and the tenant's
/// admins; a user creates their own profile in the active tenant (as a `user`), edits their
/// name and email; admins change roles and remove profiles.
fn profiles() -> TablePolicy {
    use profiles::Column as C;
    let me = Pred::IsSelf(col(C::Id));
    let admin = admin_of(col(C::TenantId));
    TablePolicy {
        table: "profiles",
        soft_delete: Some(col(C::DeletedAt)),
        read: allow(in_tenant(col(C::TenantId))),
        masks: vec![(col(C::Email), Pred::any([me.clone(), admin.clone()]))],
        insert: insert(
            allow(Pred::all([me.clone(), in_tenant(col(C::TenantId))])),
            vec![col(C::Email), col(C::FullName)],
            vec![
                (col(C::Id), Preset::UserId),
                (col(C::TenantId), Preset::ActiveTenant),
                (col(C::CreatedBy), Preset::UserId),
            ],
        ),
        update: Some(UpdateRule {
            using: allow(Pred::any([
                Pred::all([me.clone(), in_tenant(col(C::TenantId))]),
                admin.clone(),
            ])),
            check: in_tenant(col(C::TenantId)),
            columns: vec![col(C::Email), col(C::FullName), col(C::Role)],
            presets: Vec::new(),
            column_checks: vec![
                (col(C::Email), me.clone()),
                (col(C::FullName), me),
                (col(C::Role), admin.clone()),
            ],
        }),
        delete: allow(admin),
        copies: None,
    }
}

fn personas() -> TablePolicy {
    use personas::Column as C;
    let fields = vec![col(C::Name), col(C::RoleTitle), col(C::VpanesScores)];
    catalogue(
        "personas",
        col(C::TenantId),
        col(C::CreatedBy),
        in_tenant(col(C::TenantId)),
        fields.clone(),
        fields,
        Some(col(C::DeletedAt)),
    )
}

fn jtbds() -> TablePolicy {
    use jtbds::Column as C;
    let fields = vec![col(C::PersonaId), col(C::JobStatement)];
    catalogue(
        "jtbds",
        col(C::TenantId),
        col(C::CreatedBy),
        in_tenant(col(C::TenantId)),
        fields.clone(),
        fields,
        Some(col(C::DeletedAt)),
    )
}

/// Outcomes are read with their job (a removed job's outcomes are gone with it).
fn jtbd_desired_outcomes() -> TablePolicy {
    use jtbd_desired_outcomes::Column as C;
    let scores = vec![
        col(C::OutcomeStatement),
        col(C::ImportanceScore),
        col(C::SatisfactionScore),
    ];
    catalogue(
        "jtbd_desired_outcomes",
        col(C::TenantId),
        col(C::CreatedBy),
        Pred::all([
            in_tenant(col(C::TenantId)),
            Pred::ReadableVia {
                fk: col(C::JtbdId),
                parent_key: col(jtbds::Column::Id),
            },
        ]),
        [vec![col(C::JtbdId)], scores.clone()].concat(),
        scores,
        None,
    )
}

/// Agents: everyone in the tenant reads the active ones; its editors read drafts and
/// archived agents too.
fn agents() -> TablePolicy {
    use agents::Column as C;
    let fields = vec![
        col(C::Name),
        col(C::Slug),
        col(C::Domain),
        col(C::Subdomain),
        col(C::Description),
        col(C::Capabilities),
        col(C::PersonaId),
        col(C::JtbdIds),
        col(C::SystemPrompt),
        col(C::Status),
    ];
    catalogue(
        "agents",
        col(C::TenantId),
        col(C::CreatedBy),
        Pred::all([
            in_tenant(col(C::TenantId)),
            Pred::any([
                Pred::Eq(col(C::Status), Lit::Text("active")),
                Pred::InFact(col(C::TenantId), EDITS_TENANTS),
            ]),
        ]),
        fields.clone(),
        fields,
        Some(col(C::DeletedAt)),
    )
}

/// A session is its user's, in the tenant it was opened in: nobody else reads it, editors
/// and admins included.
fn ask_expert_sessions() -> TablePolicy {
    use ask_expert_sessions::Column as C;
    let own = Pred::all([Pred::IsSelf(col(C::UserId)), in_tenant(col(C::TenantId))]);
    TablePolicy {
        table: "ask_expert_sessions",
        soft_delete: Some(col(C::DeletedAt)),
        read: allow(own.clone()),
        masks: Vec::new(),
        insert: insert(
            allow(own.clone()),
            vec![
                col(C::Mode),
                col(C::SelectedAgentId),
                col(C::Query),
                col(C::Status),
            ],
            vec![
                (col(C::UserId), Preset::UserId),
                (col(C::TenantId), Preset::ActiveTenant),
                (col(C::CreatedBy), Preset::UserId),
            ],
        ),
        update: update(
            own.clone(),
            vec![col(C::Mode), col(C::SelectedAgentId), col(C::Status)],
        ),
        delete: allow(own),
        copies: None,
    }
}

/// Messages are read through their session (its owner only); the owner writes the `user`
/// turns, the service role (the expert runtime) the `assistant` ones; a conversation's
/// turns are never edited or removed one by one.
fn ask_expert_messages() -> TablePolicy {
    use ask_expert_messages::Column as C;
    let in_own_session = Pred::ReadableVia {
        fk: col(C::SessionId),
        parent_key: col(ask_expert_sessions::Column::Id),
    };
    TablePolicy {
        table: "ask_expert_messages",
        soft_delete: None,
        read: allow(Pred::all([
            in_tenant(col(C::TenantId)),
            in_own_session.clone(),
        ])),
        masks: Vec::new(),
        insert: insert(
            allow(Pred::all([
                in_tenant(col(C::TenantId)),
                in_own_session,
                Pred::Eq(col(C::Role), Lit::Text("user")),
            ])),
            vec![
                col(C::SessionId),
                col(C::Role),
                col(C::Content),
                col(C::Metadata),
            ],
            vec![
                (col(C::TenantId), Preset::ActiveTenant),
                (col(C::CreatedBy), Preset::UserId),
            ],
        ),
        update: Some(UpdateRule {
            using: Access::Deny,
            check: Pred::Always,
            columns: Vec::new(),
            presets: Vec::new(),
            column_checks: Vec::new(),
        }),
        delete: Access::Deny,
        copies: None,
    }
}

fn rag_documents() -> TablePolicy {
    use rag_documents::Column as C;
    let fields = vec![col(C::Title), col(C::Content), col(C::Metadata)];
    catalogue(
        "rag_documents",
        col(C::TenantId),
        col(C::CreatedBy),
        in_tenant(col(C::TenantId)),
        fields.clone(),
        fields,
        Some(col(C::DeletedAt)),
    )
}

/// Chunks are read through their document.
fn rag_knowledge_chunks() -> TablePolicy {
    use rag_knowledge_chunks::Column as C;
    let fields = vec![col(C::ChunkIndex), col(C::ChunkText), col(C::Metadata)];
    catalogue(
        "rag_knowledge_chunks",
        col(C::TenantId),
        col(C::CreatedBy),
        Pred::all([
            in_tenant(col(C::TenantId)),
            Pred::ReadableVia {
                fk: col(C::DocumentId),
                parent_key: col(rag_documents::Column::Id),
            },
        ]),
        [vec![col(C::DocumentId)], fields.clone()].concat(),
        fields,
        None,
    )
}
