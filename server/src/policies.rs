//! The declarations: one block per table, as docs/SCHEMA.md states them.
//!
//! Reading a block: `read` says which rows the principal sees (soft-deleted rows never,
//! added by the engine); `insert.check` is checked on the row as it would be written, after
//! presets, before it is written; `update.using` selects which readable rows may change,
//! `update.check` what the changed row must still satisfy; `delete` which readable rows may
//! go. The service role bypasses every rule except `Access::Never`.

use entities::{
    analytics_events, audit_logs, blocks, comments, communities, community_members, connections,
    conversation_participants, conversations, feature_flags, messages, notifications, posts,
    profiles, reactions, system_config, tenant_members, tenants, user_details, user_follows,
    user_roles, user_settings,
};

use rowgate::policy::{
    Access, AuditTrail, Col, ConfigTable, CopiedValues, Fact, FlagTable, HotConfig, InsertRule,
    Lit, PolicySet, Pred, Preset, TablePolicy, Tenancy, UpdateRule, col,
};

/// The tenants the user is a member of (any role): also the tenants they may act in.
pub const MEMBER_TENANTS: &str = "member_tenants";
/// The tenants where the user is an owner or admin.
pub const ADMIN_TENANTS: &str = "admin_tenants";
/// The tenants the user owns.
pub const OWNER_TENANTS: &str = "owner_tenants";
/// The user holds the platform role `admin` (`user_roles`).
pub const PLATFORM_ADMIN: &str = "platform_admin";
/// The user holds the platform role `moderator`.
pub const PLATFORM_MODERATOR: &str = "platform_moderator";
/// The users this user has blocked.
pub const BLOCKED_USERS: &str = "blocked_users";

/// The principal facts the policies name, each loaded by the user's id from its table and
/// invalidated when a row of it changes.
pub fn facts() -> Vec<Fact> {
    use entities::{blocks as b, tenant_members as tm, user_roles as ur};
    let membership = |name| Fact::ids(name, col(tm::Column::UserId), col(tm::Column::TenantId));
    let platform = |name, role| {
        Fact::flag(name, col(ur::Column::UserId)).when(col(ur::Column::Role), [text(role)])
    };
    vec![
        membership(MEMBER_TENANTS),
        membership(ADMIN_TENANTS).when(col(tm::Column::Role), [text("owner"), text("admin")]),
        membership(OWNER_TENANTS).when(col(tm::Column::Role), [text("owner")]),
        platform(PLATFORM_ADMIN, "admin"),
        platform(PLATFORM_MODERATOR, "moderator"),
        Fact::ids(
            BLOCKED_USERS,
            col(b::Column::BlockerId),
            col(b::Column::BlockedId),
        ),
    ]
}

/// The column is a tenant the principal is a member of.
fn member_of(column: Col) -> Pred {
    Pred::InFact(column, MEMBER_TENANTS)
}

/// The column is a tenant the principal administers (owner or admin).
fn admin_of(column: Col) -> Pred {
    Pred::InFact(column, ADMIN_TENANTS)
}

/// The column is a tenant the principal owns.
fn owner_of(column: Col) -> Pred {
    Pred::InFact(column, OWNER_TENANTS)
}

/// The principal is a platform admin.
fn platform_admin() -> Pred {
    Pred::Flag(PLATFORM_ADMIN)
}

/// The principal is a platform moderator.
fn platform_moderator() -> Pred {
    Pred::Flag(PLATFORM_MODERATOR)
}

/// The column is not a user the principal has blocked.
fn not_blocked(column: Col) -> Pred {
    Pred::not(Pred::InFact(column, BLOCKED_USERS))
}

/// Every table's policy, with the facts they name; a principal acts only in a tenant they
/// are a member of.
pub fn policies() -> PolicySet {
    PolicySet::new(vec![
        profiles(),
        user_roles(),
        tenants(),
        tenant_members(),
        user_settings(),
        feature_flags(),
        system_config(),
        communities(),
        community_members(),
        posts(),
        comments(),
        reactions(),
        blocks(),
        user_follows(),
        conversations(),
        conversation_participants(),
        messages(),
        notifications(),
        connections(),
        user_details(),
        audit_logs(),
        analytics_events(),
    ])
    .with_facts(facts())
    .with_tenancy(Tenancy {
        tenants: col(tenants::Column::Id),
        column: col(tenant_members::Column::TenantId).name,
    })
    .with_tenant_scope(MEMBER_TENANTS)
    .with_audit(audit_trail())
    .with_hot_config(hot_config())
    .with_realtime([
        "posts",
        "comments",
        "reactions",
        "messages",
        "notifications",
        "feature_flags",
        "profiles",
    ])
}

/// Feature flags, configuration entries and tenants by subdomain, served from the cache.
fn hot_config() -> HotConfig {
    use {feature_flags::Column as F, system_config::Column as S};
    HotConfig {
        flags: Some(FlagTable {
            key: col(F::Key),
            enabled: col(F::Enabled),
            rollout_percent: col(F::RolloutPercent),
            tenant: col(F::TenantId),
        }),
        config: Some(ConfigTable {
            key: col(S::Key),
            value: col(S::Value),
            public: col(S::IsPublic),
        }),
        subdomain: Some(col(tenants::Column::Subdomain)),
    }
}

/// Every write of every table, with who wrote it, in which request, and the row before and
/// after (shown to readers under the audited row's own policy: see `audit_logs`).
fn audit_trail() -> AuditTrail {
    use audit_logs::Column as C;
    AuditTrail {
        old_values: Some(col(C::OldValues)),
        new_values: Some(col(C::NewValues)),
        actor: Some(col(C::ActorId)),
        actor_role: Some(col(C::ActorRole)),
        tenant: Some(col(C::TenantId)),
        request_id: Some(col(C::RequestId)),
        ..AuditTrail::new(col(C::Action), col(C::TableName), col(C::RowId))
    }
}

fn allow(pred: Pred) -> Access {
    Access::Allow(pred)
}

fn text(s: &'static str) -> Lit {
    Lit::Text(s)
}

fn insert(check: Access, columns: Vec<Col>, presets: Vec<(Col, Preset)>) -> Option<InsertRule> {
    Some(InsertRule {
        check,
        columns,
        presets,
        column_checks: Vec::new(),
    })
}

fn update(using: Access, columns: Vec<Col>) -> Option<UpdateRule> {
    Some(UpdateRule {
        check: Pred::Always,
        using,
        columns,
        presets: Vec::new(),
        column_checks: Vec::new(),
    })
}

fn no_update() -> Option<UpdateRule> {
    update(Access::Deny, Vec::new())
}

fn table(name: &'static str) -> TablePolicy {
    TablePolicy {
        table: name,
        soft_delete: None,
        read: Access::Deny,
        masks: Vec::new(),
        insert: None,
        update: None,
        delete: Access::Deny,
        copies: None,
    }
}

/// The principal is a member of the tenant whose id is in `c`, in their active tenant.
fn active_member(c: Col) -> Pred {
    Pred::ActiveTenant(c)
}

/// The row `fk` points at in `posts` is readable.
fn post_readable(fk: Col) -> Pred {
    Pred::ReadableVia {
        fk,
        parent_key: col(posts::Column::Id),
    }
}

/// The principal participates in the conversation `conversation_id` names.
fn participant(conversation_id: Col) -> Pred {
    use conversation_participants::Column as P;
    Pred::exists(
        "conversation_participants",
        [(col(P::ConversationId), conversation_id)],
        Pred::IsSelf(col(P::UserId)),
    )
}

fn profiles() -> TablePolicy {
    use profiles::Column as C;
    use tenant_members::Column as M;
    TablePolicy {
        soft_delete: Some(col(C::DeletedAt)),
        read: allow(Pred::any([
            Pred::IsSelf(col(C::Id)),
            Pred::exists(
                "tenant_members",
                [(col(M::UserId), col(C::Id))],
                Pred::ActiveTenant(col(M::TenantId)),
            ),
            platform_admin(),
        ])),
        masks: vec![(
            col(C::Email),
            Pred::any([Pred::IsSelf(col(C::Id)), platform_admin()]),
        )],
        insert: insert(
            allow(Pred::IsSelf(col(C::Id))),
            vec![
                col(C::Email),
                col(C::DisplayName),
                col(C::AvatarUrl),
                col(C::Bio),
            ],
            vec![(col(C::Id), Preset::UserId)],
        ),
        update: update(
            allow(Pred::IsSelf(col(C::Id))),
            vec![col(C::DisplayName), col(C::AvatarUrl), col(C::Bio)],
        ),
        delete: allow(platform_admin()),
        ..table("profiles")
    }
}

fn user_roles() -> TablePolicy {
    use user_roles::Column as C;
    TablePolicy {
        read: allow(Pred::any([Pred::IsSelf(col(C::UserId)), platform_admin()])),
        insert: insert(
            allow(platform_admin()),
            vec![col(C::UserId), col(C::Role)],
            vec![(col(C::GrantedBy), Preset::UserId)],
        ),
        update: no_update(),
        delete: allow(platform_admin()),
        ..table("user_roles")
    }
}

fn tenants() -> TablePolicy {
    use tenants::Column as C;
    TablePolicy {
        soft_delete: Some(col(C::DeletedAt)),
        // Platform admins read every tenant too: they alone may change `tier`, which needs
        // the row to be readable (NOT_FOUND otherwise).
        read: allow(Pred::any([member_of(col(C::Id)), platform_admin()])),
        insert: Some(InsertRule {
            check: allow(Pred::Authenticated),
            columns: vec![
                col(C::Name),
                col(C::Subdomain),
                col(C::Settings),
                col(C::Tier),
            ],
            presets: Vec::new(),
            column_checks: vec![(col(C::Tier), platform_admin())],
        }),
        update: Some(UpdateRule {
            using: allow(Pred::any([admin_of(col(C::Id)), platform_admin()])),
            check: Pred::Always,
            columns: vec![col(C::Name), col(C::Settings), col(C::Tier)],
            presets: Vec::new(),
            column_checks: vec![
                (col(C::Name), admin_of(col(C::Id))),
                (col(C::Settings), admin_of(col(C::Id))),
                (col(C::Tier), platform_admin()),
            ],
        }),
        delete: allow(owner_of(col(C::Id))),
        ..table("tenants")
    }
}

fn tenant_members() -> TablePolicy {
    use tenant_members::Column as C;
    TablePolicy {
        read: allow(member_of(col(C::TenantId))),
        insert: insert(
            allow(admin_of(col(C::TenantId))),
            vec![col(C::TenantId), col(C::UserId), col(C::Role)],
            Vec::new(),
        ),
        update: update(allow(admin_of(col(C::TenantId))), vec![col(C::Role)]),
        delete: allow(Pred::any([
            admin_of(col(C::TenantId)),
            Pred::IsSelf(col(C::UserId)),
        ])),
        ..table("tenant_members")
    }
}

fn user_settings() -> TablePolicy {
    use user_settings::Column as C;
    TablePolicy {
        read: allow(Pred::IsSelf(col(C::UserId))),
        insert: insert(
            allow(Pred::IsSelf(col(C::UserId))),
            vec![col(C::Preferences)],
            vec![(col(C::UserId), Preset::UserId)],
        ),
        update: update(
            allow(Pred::IsSelf(col(C::UserId))),
            vec![col(C::Preferences)],
        ),
        delete: Access::Deny,
        ..table("user_settings")
    }
}

fn feature_flags() -> TablePolicy {
    use feature_flags::Column as C;
    let write = Pred::any([
        Pred::all([Pred::IsNull(col(C::TenantId)), platform_admin()]),
        admin_of(col(C::TenantId)),
    ]);
    TablePolicy {
        read: allow(Pred::all([
            Pred::Authenticated,
            Pred::any([
                Pred::IsNull(col(C::TenantId)),
                Pred::ActiveTenant(col(C::TenantId)),
            ]),
        ])),
        insert: insert(
            allow(write.clone()),
            vec![
                col(C::Key),
                col(C::TenantId),
                col(C::Enabled),
                col(C::RolloutPercent),
                col(C::Description),
            ],
            Vec::new(),
        ),
        update: update(
            allow(write.clone()),
            vec![col(C::Enabled), col(C::RolloutPercent), col(C::Description)],
        ),
        delete: allow(write),
        ..table("feature_flags")
    }
}

fn system_config() -> TablePolicy {
    use system_config::Column as C;
    TablePolicy {
        read: allow(Pred::any([
            Pred::Eq(col(C::IsPublic), Lit::Bool(true)),
            Pred::Authenticated,
        ])),
        insert: insert(
            allow(platform_admin()),
            vec![
                col(C::Key),
                col(C::Value),
                col(C::IsPublic),
                col(C::Description),
            ],
            Vec::new(),
        ),
        update: update(
            allow(platform_admin()),
            vec![col(C::Value), col(C::IsPublic), col(C::Description)],
        ),
        delete: allow(platform_admin()),
        ..table("system_config")
    }
}

fn communities() -> TablePolicy {
    use communities::Column as C;
    use community_members::Column as M;
    let creator_or_admin = Pred::any([Pred::IsSelf(col(C::CreatedBy)), admin_of(col(C::TenantId))]);
    TablePolicy {
        soft_delete: Some(col(C::DeletedAt)),
        read: allow(Pred::all([
            active_member(col(C::TenantId)),
            Pred::any([
                Pred::Eq(col(C::Visibility), text("open")),
                Pred::exists(
                    "community_members",
                    [(col(M::CommunityId), col(C::Id))],
                    Pred::IsSelf(col(M::UserId)),
                ),
                admin_of(col(C::TenantId)),
            ]),
        ])),
        insert: insert(
            allow(active_member(col(C::TenantId))),
            vec![col(C::Name), col(C::Slug), col(C::Visibility)],
            vec![
                (col(C::TenantId), Preset::ActiveTenant),
                (col(C::CreatedBy), Preset::UserId),
            ],
        ),
        update: update(
            allow(creator_or_admin.clone()),
            vec![col(C::Name), col(C::Slug), col(C::Visibility)],
        ),
        delete: allow(creator_or_admin),
        ..table("communities")
    }
}

fn community_members() -> TablePolicy {
    use communities::Column as Cm;
    use community_members::Column as C;
    let community_readable = Pred::ReadableVia {
        fk: col(C::CommunityId),
        parent_key: col(Cm::Id),
    };
    // A moderator of the same community, other than the row being written.
    let moderator = Pred::exists(
        "community_members",
        [(col(C::CommunityId), col(C::CommunityId))],
        Pred::all([
            Pred::IsSelf(col(C::UserId)),
            Pred::Eq(col(C::Role), text("moderator")),
        ]),
    );
    let tenant_admin = Pred::exists(
        "communities",
        [(col(Cm::Id), col(C::CommunityId))],
        admin_of(col(Cm::TenantId)),
    );
    TablePolicy {
        read: allow(community_readable.clone()),
        insert: insert(
            allow(Pred::any([
                Pred::all([
                    Pred::IsSelf(col(C::UserId)),
                    Pred::Eq(col(C::Role), text("member")),
                    Pred::exists(
                        "communities",
                        [(col(Cm::Id), col(C::CommunityId))],
                        Pred::Eq(col(Cm::Visibility), text("open")),
                    ),
                    community_readable,
                ]),
                Pred::all([Pred::not(Pred::IsSelf(col(C::UserId))), moderator.clone()]),
            ])),
            vec![col(C::CommunityId), col(C::UserId), col(C::Role)],
            Vec::new(),
        ),
        update: no_update(),
        delete: allow(Pred::any([
            Pred::IsSelf(col(C::UserId)),
            moderator,
            tenant_admin,
        ])),
        ..table("community_members")
    }
}

fn posts() -> TablePolicy {
    use community_members::Column as M;
    use posts::Column as C;
    let tenant_admin = admin_of(col(C::TenantId));
    TablePolicy {
        soft_delete: Some(col(C::DeletedAt)),
        read: allow(Pred::all([
            not_blocked(col(C::AuthorId)),
            Pred::any([
                Pred::IsSelf(col(C::AuthorId)),
                Pred::all([
                    Pred::Eq(col(C::Status), text("published")),
                    Pred::any([
                        Pred::Eq(col(C::Visibility), text("public")),
                        Pred::all([
                            Pred::Eq(col(C::Visibility), text("tenant")),
                            active_member(col(C::TenantId)),
                        ]),
                        Pred::all([
                            Pred::Eq(col(C::Visibility), text("community")),
                            Pred::exists(
                                "community_members",
                                [(col(M::CommunityId), col(C::CommunityId))],
                                Pred::IsSelf(col(M::UserId)),
                            ),
                        ]),
                    ]),
                ]),
                tenant_admin.clone(),
                Pred::all([platform_moderator(), member_of(col(C::TenantId))]),
            ]),
        ])),
        insert: insert(
            allow(Pred::all([
                active_member(col(C::TenantId)),
                Pred::any([
                    Pred::IsNull(col(C::CommunityId)),
                    Pred::exists(
                        "community_members",
                        [(col(M::CommunityId), col(C::CommunityId))],
                        Pred::IsSelf(col(M::UserId)),
                    ),
                ]),
            ])),
            vec![
                col(C::CommunityId),
                col(C::Title),
                col(C::Body),
                col(C::Status),
                col(C::Visibility),
                col(C::Metadata),
            ],
            vec![
                (col(C::TenantId), Preset::ActiveTenant),
                (col(C::AuthorId), Preset::UserId),
            ],
        ),
        update: update(
            allow(Pred::any([
                Pred::IsSelf(col(C::AuthorId)),
                tenant_admin.clone(),
            ])),
            vec![
                col(C::Title),
                col(C::Body),
                col(C::Status),
                col(C::Visibility),
                col(C::Metadata),
            ],
        ),
        delete: allow(Pred::any([Pred::IsSelf(col(C::AuthorId)), tenant_admin])),
        ..table("posts")
    }
}

fn comments() -> TablePolicy {
    use comments::Column as C;
    use posts::Column as P;
    TablePolicy {
        soft_delete: Some(col(C::DeletedAt)),
        read: allow(Pred::all([
            not_blocked(col(C::AuthorId)),
            post_readable(col(C::PostId)),
        ])),
        insert: insert(
            allow(Pred::all([
                active_member(col(C::TenantId)),
                post_readable(col(C::PostId)),
                // The comment lives in its post's tenant.
                Pred::exists(
                    "posts",
                    [
                        (col(P::Id), col(C::PostId)),
                        (col(P::TenantId), col(C::TenantId)),
                    ],
                    Pred::Always,
                ),
            ])),
            vec![col(C::PostId), col(C::ParentId), col(C::Body)],
            vec![
                (col(C::TenantId), Preset::ActiveTenant),
                (col(C::AuthorId), Preset::UserId),
            ],
        ),
        update: update(allow(Pred::IsSelf(col(C::AuthorId))), vec![col(C::Body)]),
        delete: allow(Pred::any([
            Pred::IsSelf(col(C::AuthorId)),
            Pred::exists(
                "posts",
                [(col(P::Id), col(C::PostId))],
                Pred::IsSelf(col(P::AuthorId)),
            ),
            admin_of(col(C::TenantId)),
        ])),
        ..table("comments")
    }
}

fn reactions() -> TablePolicy {
    use posts::Column as P;
    use reactions::Column as C;
    TablePolicy {
        read: allow(post_readable(col(C::PostId))),
        insert: insert(
            allow(Pred::all([
                Pred::IsSelf(col(C::UserId)),
                post_readable(col(C::PostId)),
            ])),
            vec![col(C::PostId), col(C::Emoji)],
            vec![
                (col(C::UserId), Preset::UserId),
                (
                    col(C::TenantId),
                    Preset::FromParent {
                        fk: col(C::PostId),
                        parent_key: col(P::Id),
                        source: col(P::TenantId),
                    },
                ),
            ],
        ),
        update: no_update(),
        delete: allow(Pred::IsSelf(col(C::UserId))),
        ..table("reactions")
    }
}

fn blocks() -> TablePolicy {
    use blocks::Column as C;
    let blocker = Pred::IsSelf(col(C::BlockerId));
    TablePolicy {
        read: allow(blocker.clone()),
        insert: insert(
            allow(blocker.clone()),
            vec![col(C::BlockedId)],
            vec![(col(C::BlockerId), Preset::UserId)],
        ),
        update: no_update(),
        delete: allow(blocker),
        ..table("blocks")
    }
}

fn user_follows() -> TablePolicy {
    use user_follows::Column as C;
    TablePolicy {
        read: allow(Pred::Authenticated),
        insert: insert(
            allow(Pred::IsSelf(col(C::FollowerId))),
            vec![col(C::FolloweeId)],
            vec![(col(C::FollowerId), Preset::UserId)],
        ),
        update: no_update(),
        delete: allow(Pred::IsSelf(col(C::FollowerId))),
        ..table("user_follows")
    }
}

fn conversations() -> TablePolicy {
    use conversations::Column as C;
    TablePolicy {
        read: allow(participant(col(C::Id))),
        insert: insert(
            allow(active_member(col(C::TenantId))),
            vec![col(C::Title)],
            vec![
                (col(C::TenantId), Preset::ActiveTenant),
                (col(C::CreatedBy), Preset::UserId),
            ],
        ),
        update: update(allow(Pred::IsSelf(col(C::CreatedBy))), vec![col(C::Title)]),
        delete: Access::Deny,
        ..table("conversations")
    }
}

fn conversation_participants() -> TablePolicy {
    use conversation_participants::Column as C;
    use conversations::Column as Cv;
    use tenant_members::Column as M;
    TablePolicy {
        read: allow(participant(col(C::ConversationId))),
        insert: insert(
            allow(Pred::all([
                // The inserting principal already participates (checked before the write,
                // so a principal cannot add themselves to a conversation).
                participant(col(C::ConversationId)),
                Pred::exists(
                    "conversations",
                    [(col(Cv::Id), col(C::ConversationId))],
                    Pred::ActiveTenant(col(Cv::TenantId)),
                ),
                // The added user is a member of the active tenant.
                Pred::exists(
                    "tenant_members",
                    [(col(M::UserId), col(C::UserId))],
                    Pred::ActiveTenant(col(M::TenantId)),
                ),
            ])),
            vec![col(C::ConversationId), col(C::UserId)],
            Vec::new(),
        ),
        update: update(
            allow(Pred::IsSelf(col(C::UserId))),
            vec![col(C::LastReadAt)],
        ),
        delete: allow(Pred::IsSelf(col(C::UserId))),
        ..table("conversation_participants")
    }
}

fn messages() -> TablePolicy {
    use conversations::Column as Cv;
    use messages::Column as C;
    TablePolicy {
        soft_delete: Some(col(C::DeletedAt)),
        read: allow(Pred::all([
            not_blocked(col(C::SenderId)),
            participant(col(C::ConversationId)),
        ])),
        insert: insert(
            allow(participant(col(C::ConversationId))),
            vec![col(C::ConversationId), col(C::Body)],
            vec![
                (col(C::SenderId), Preset::UserId),
                (
                    col(C::TenantId),
                    Preset::FromParent {
                        fk: col(C::ConversationId),
                        parent_key: col(Cv::Id),
                        source: col(Cv::TenantId),
                    },
                ),
            ],
        ),
        update: Some(UpdateRule {
            using: allow(Pred::IsSelf(col(C::SenderId))),
            check: Pred::Always,
            columns: vec![col(C::Body)],
            presets: vec![(col(C::EditedAt), Preset::Now)],
            column_checks: Vec::new(),
        }),
        delete: allow(Pred::IsSelf(col(C::SenderId))),
        ..table("messages")
    }
}

fn notifications() -> TablePolicy {
    use notifications::Column as C;
    TablePolicy {
        read: allow(Pred::IsSelf(col(C::UserId))),
        // Only the service role (and the gateway's own side effects) create notifications.
        insert: insert(
            Access::Deny,
            vec![
                col(C::TenantId),
                col(C::UserId),
                col(C::Kind),
                col(C::Title),
                col(C::Body),
                col(C::Data),
            ],
            Vec::new(),
        ),
        update: update(allow(Pred::IsSelf(col(C::UserId))), vec![col(C::ReadAt)]),
        delete: allow(Pred::IsSelf(col(C::UserId))),
        ..table("notifications")
    }
}

fn connections() -> TablePolicy {
    use connections::Column as C;
    let tenant_admin = admin_of(col(C::TenantId));
    TablePolicy {
        read: allow(Pred::any([
            Pred::IsSelf(col(C::UserId)),
            member_of(col(C::TenantId)),
        ])),
        insert: insert(
            allow(Pred::any([
                Pred::all([
                    Pred::IsSelf(col(C::UserId)),
                    Pred::In(col(C::Status), vec![text("pending"), text("active")]),
                ]),
                Pred::all([
                    tenant_admin.clone(),
                    Pred::Eq(col(C::Status), text("pending")),
                ]),
            ])),
            vec![col(C::TenantId), col(C::UserId), col(C::Status)],
            vec![(col(C::InitiatedBy), Preset::UserId)],
        ),
        update: Some(UpdateRule {
            using: allow(Pred::any([
                Pred::IsSelf(col(C::UserId)),
                tenant_admin.clone(),
            ])),
            check: Pred::any([
                Pred::IsSelf(col(C::UserId)),
                Pred::all([tenant_admin, Pred::Eq(col(C::Status), text("revoked"))]),
            ]),
            columns: vec![col(C::Status)],
            presets: Vec::new(),
            column_checks: Vec::new(),
        }),
        delete: allow(Pred::IsSelf(col(C::UserId))),
        ..table("connections")
    }
}

fn user_details() -> TablePolicy {
    use connections::Column as Cn;
    use user_details::Column as C;
    TablePolicy {
        read: allow(Pred::any([
            Pred::IsSelf(col(C::UserId)),
            Pred::exists(
                "connections",
                [(col(Cn::UserId), col(C::UserId))],
                Pred::all([
                    Pred::Eq(col(Cn::Status), text("active")),
                    member_of(col(Cn::TenantId)),
                ]),
            ),
        ])),
        insert: insert(
            allow(Pred::IsSelf(col(C::UserId))),
            vec![col(C::Data)],
            vec![(col(C::UserId), Preset::UserId)],
        ),
        update: update(allow(Pred::IsSelf(col(C::UserId))), vec![col(C::Data)]),
        delete: Access::Deny,
        ..table("user_details")
    }
}

fn audit_logs() -> TablePolicy {
    use audit_logs::Column as C;
    TablePolicy {
        read: allow(Pred::any([admin_of(col(C::TenantId)), platform_admin()])),
        insert: insert(Access::Never, Vec::new(), Vec::new()),
        update: update(Access::Never, Vec::new()),
        delete: Access::Never,
        // The values are the audited row's: shown only to a reader who may read that row.
        copies: Some(CopiedValues {
            table: col(C::TableName),
            key: col(C::RowId),
            values: vec![col(C::OldValues), col(C::NewValues)],
        }),
        ..table("audit_logs")
    }
}

fn analytics_events() -> TablePolicy {
    use analytics_events::Column as C;
    TablePolicy {
        read: allow(admin_of(col(C::TenantId))),
        insert: insert(
            allow(Pred::all([
                Pred::Authenticated,
                active_member(col(C::TenantId)),
            ])),
            vec![col(C::Name), col(C::Properties)],
            vec![
                (col(C::UserId), Preset::UserId),
                (col(C::TenantId), Preset::ActiveTenant),
            ],
        ),
        update: update(Access::Never, Vec::new()),
        delete: Access::Never,
        ..table("analytics_events")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_are_inserted_by_the_service_role_only() {
        let p = policies();
        let rule = p
            .table("notifications")
            .and_then(|t| t.insert.as_ref())
            .map(|i| &i.check);
        assert_eq!(rule, Some(&Access::Deny));
    }
}
