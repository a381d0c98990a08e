//! Every table's policy, the principal facts they name, the audit trail and the hot
//! configuration. One block per table; `README.md` states each rule in one line.
//!
//! Reading a block: `read` says which rows the principal sees; `masks` which columns read
//! as NULL unless a condition holds; `insert.check` is checked on the row as it would be
//! written (after presets), `update.using` selects which readable rows may change (a
//! `column_check` adds a condition for changing that column), `update.check` what the
//! changed row must satisfy; `delete` which readable rows may go. `Access::Deny` leaves an
//! operation to the service role alone (and the application's write hooks), which bypasses
//! every rule but `Access::Never`.

use rowgate::policy::{
    Access, AuditTrail, Col, CopiedValues, Fact, FlagTable, HotConfig, InsertRule, Lit, PolicySet,
    Pred, Preset, TablePolicy, UpdateRule, col,
};

use crate::entities::{
    admin_users, ai_daily_budgets, ai_model_configs, ai_provider_credentials, audit_logs,
    communities, community_members, connections, feature_flags, messages, notifications,
    practice_logs, practice_streaks, practices, profiles, vibe_comments, vibe_reactions, vibes,
};

/// The user has a row in `admin_users`: a platform administrator.
pub const ADMIN: &str = "admin";
/// The communities the user is a member of (any role).
pub const MEMBER_COMMUNITIES: &str = "member_communities";
/// The communities where the user is the owner or a moderator.
pub const MODERATED_COMMUNITIES: &str = "moderated_communities";
/// The communities the user owns.
pub const OWNED_COMMUNITIES: &str = "owned_communities";

/// The tables served as subscriptions (`<table>Changed`). `ai_provider_credentials` is not
/// among them: administrators have no need to watch it (its `api_key` would travel to no
/// one anyway: a `Pred::Never` column is left out of changes sent to other instances, and
/// masked for every subscriber but the service role).
pub const REALTIME: [&str; 5] = [
    "vibes",
    "vibe_comments",
    "vibe_reactions",
    "messages",
    "notifications",
];

/// The tables whose rows are served from the hot cache (`aiModelConfigs`).
pub const CACHED: [&str; 1] = ["ai_model_configs"];

/// The principal facts the policies name, each loaded by the user's id from its table,
/// cached, and invalidated when a row of that table changes.
pub fn facts() -> Vec<Fact> {
    use community_members::Column as M;
    let membership = |name| Fact::ids(name, col(M::UserId), col(M::CommunityId));
    vec![
        Fact::flag(ADMIN, col(admin_users::Column::UserId)),
        membership(MEMBER_COMMUNITIES),
        membership(MODERATED_COMMUNITIES).when(col(M::Role), [text("owner"), text("moderator")]),
        membership(OWNED_COMMUNITIES).when(col(M::Role), [text("owner")]),
    ]
}

/// Every table's policy with the facts, the audit trail, the hot configuration and the
/// subscriptions; `application()` serves exactly this.
pub fn policies() -> PolicySet {
    base_policies().with_realtime(REALTIME)
}

/// [`policies`] without its subscriptions, for a variant that declares its own.
pub fn base_policies() -> PolicySet {
    PolicySet::new(vec![
        profiles(),
        admin_users(),
        feature_flags(),
        communities(),
        community_members(),
        vibes(),
        vibe_reactions(),
        vibe_comments(),
        connections(),
        messages(),
        notifications(),
        practices(),
        practice_logs(),
        practice_streaks(),
        ai_model_configs(),
        ai_provider_credentials(),
        ai_daily_budgets(),
        audit_logs(),
    ])
    .with_facts(facts())
    .with_audit(audit_trail())
    .with_hot_config(hot_config())
    .with_cached_tables(CACHED)
}

/// Feature flags, from the cache (`flagEnabled`, `effectiveFlags`).
fn hot_config() -> HotConfig {
    use feature_flags::Column as F;
    HotConfig {
        flags: Some(FlagTable {
            key: col(F::Key),
            enabled: col(F::Enabled),
            rollout_percent: col(F::RolloutPercent),
            tenant: col(F::TenantId),
        }),
        config: None,
        subdomain: None,
    }
}

/// Every write of every table but the trail's own, with who wrote it, in which request,
/// and the row before and after (shown to readers under the audited row's own policy: see
/// `audit_logs`). `ai_provider_credentials.api_key` is never among the values: a column
/// masked with `Pred::Never` (only the service role reads it) is copied into no audit row
/// and no change event by the engine.
pub fn audit_trail() -> AuditTrail {
    use audit_logs::Column as A;
    AuditTrail {
        old_values: Some(col(A::OldValues)),
        new_values: Some(col(A::NewValues)),
        actor: Some(col(A::ActorId)),
        actor_role: Some(col(A::ActorRole)),
        request_id: Some(col(A::RequestId)),
        ..AuditTrail::new(col(A::Action), col(A::TableName), col(A::RowId))
    }
}

fn allow(pred: Pred) -> Access {
    Access::Allow(pred)
}

fn text(s: &'static str) -> Lit {
    Lit::Text(s)
}

fn yes(column: Col) -> Pred {
    Pred::Eq(column, Lit::Bool(true))
}

/// The principal is a platform administrator.
fn admin() -> Pred {
    Pred::Flag(ADMIN)
}

/// The column is a community the principal is a member of.
fn member_of(column: Col) -> Pred {
    Pred::InFact(column, MEMBER_COMMUNITIES)
}

/// The column is a community the principal owns or moderates.
fn moderates(column: Col) -> Pred {
    Pred::InFact(column, MODERATED_COMMUNITIES)
}

/// The column is a community the principal owns.
fn owns(column: Col) -> Pred {
    Pred::InFact(column, OWNED_COMMUNITIES)
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
        using,
        check: Pred::Always,
        columns,
        presets: Vec::new(),
        column_checks: Vec::new(),
    })
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

fn profiles() -> TablePolicy {
    use profiles::Column as C;
    let own = Pred::IsSelf(col(C::Id));
    let fields = vec![
        col(C::DisplayName),
        col(C::Bio),
        col(C::AvatarUrl),
        col(C::Email),
    ];
    TablePolicy {
        // Members of the platform see each other; anonymous visitors see no one.
        read: allow(Pred::Authenticated),
        masks: vec![(col(C::Email), Pred::any([own.clone(), admin()]))],
        insert: insert(
            allow(own.clone()),
            fields.clone(),
            vec![(col(C::Id), Preset::UserId)],
        ),
        update: update(allow(own), fields),
        // Closing an account (and everything that cascades from it) is a back-office job.
        delete: Access::Deny,
        ..table("profiles")
    }
}

fn admin_users() -> TablePolicy {
    use admin_users::Column as C;
    TablePolicy {
        read: allow(Pred::any([Pred::IsSelf(col(C::UserId)), admin()])),
        // Administrators are appointed by the service role only (the columns are listed
        // so that anyone else's attempt is refused as FORBIDDEN).
        insert: insert(
            Access::Deny,
            vec![col(C::UserId), col(C::GrantedBy)],
            Vec::new(),
        ),
        update: update(Access::Deny, vec![col(C::GrantedBy)]),
        delete: Access::Deny,
        ..table("admin_users")
    }
}

fn feature_flags() -> TablePolicy {
    use feature_flags::Column as C;
    TablePolicy {
        read: allow(Pred::Authenticated),
        // Global flags only (`tenant_id` stays NULL: vibeup has no tenants).
        insert: insert(
            allow(admin()),
            vec![
                col(C::Key),
                col(C::Enabled),
                col(C::RolloutPercent),
                col(C::Description),
            ],
            Vec::new(),
        ),
        update: update(
            allow(admin()),
            vec![col(C::Enabled), col(C::RolloutPercent), col(C::Description)],
        ),
        delete: allow(admin()),
        ..table("feature_flags")
    }
}

fn communities() -> TablePolicy {
    use communities::Column as C;
    let owner_or_admin = Pred::any([owns(col(C::Id)), admin()]);
    TablePolicy {
        read: allow(Pred::any([
            Pred::Eq(col(C::Visibility), text("public")),
            member_of(col(C::Id)),
            admin(),
        ])),
        // The creator becomes the owner (hook `creator_becomes_owner`).
        insert: insert(
            allow(Pred::Authenticated),
            vec![
                col(C::Name),
                col(C::Slug),
                col(C::Description),
                col(C::Visibility),
            ],
            vec![(col(C::CreatedBy), Preset::UserId)],
        ),
        update: update(
            allow(owner_or_admin.clone()),
            vec![col(C::Name), col(C::Description), col(C::Visibility)],
        ),
        delete: allow(owner_or_admin),
        ..table("communities")
    }
}

fn community_members() -> TablePolicy {
    use communities::Column as Cm;
    use community_members::Column as C;
    let own = Pred::IsSelf(col(C::UserId));
    let is_owner_row = Pred::Eq(col(C::Role), text("owner"));
    TablePolicy {
        read: allow(Pred::any([
            member_of(col(C::CommunityId)),
            own.clone(),
            admin(),
        ])),
        insert: insert(
            allow(Pred::any([
                // Anyone joins a public community, as a member.
                Pred::all([
                    own.clone(),
                    Pred::Eq(col(C::Role), text("member")),
                    Pred::exists(
                        "communities",
                        [(col(Cm::Id), col(C::CommunityId))],
                        Pred::Eq(col(Cm::Visibility), text("public")),
                    ),
                ]),
                // Its owner and moderators add others (a private community's only way in).
                Pred::all([
                    moderates(col(C::CommunityId)),
                    Pred::not(own.clone()),
                    Pred::In(col(C::Role), vec![text("member"), text("moderator")]),
                ]),
            ])),
            vec![col(C::CommunityId), col(C::UserId), col(C::Role)],
            Vec::new(),
        ),
        // The owner promotes and demotes the others; ownership itself never moves here.
        update: Some(UpdateRule {
            using: allow(Pred::all([
                owns(col(C::CommunityId)),
                Pred::not(own.clone()),
            ])),
            check: Pred::In(col(C::Role), vec![text("member"), text("moderator")]),
            columns: vec![col(C::Role)],
            presets: Vec::new(),
            column_checks: Vec::new(),
        }),
        delete: allow(Pred::any([
            // Anyone leaves, but the owner (a community keeps its owner).
            Pred::all([own.clone(), Pred::not(is_owner_row.clone())]),
            // The owner removes anyone else; a moderator removes members.
            Pred::all([owns(col(C::CommunityId)), Pred::not(own)]),
            Pred::all([
                moderates(col(C::CommunityId)),
                Pred::Eq(col(C::Role), text("member")),
            ]),
            Pred::all([admin(), Pred::not(is_owner_row)]),
        ])),
        ..table("community_members")
    }
}

fn vibes() -> TablePolicy {
    use vibes::Column as C;
    let author = Pred::IsSelf(col(C::AuthorId));
    TablePolicy {
        // A community's vibes are its members' (a public community is open to join, not
        // to read from outside).
        read: allow(Pred::any([
            member_of(col(C::CommunityId)),
            author.clone(),
            admin(),
        ])),
        insert: insert(
            allow(member_of(col(C::CommunityId))),
            vec![col(C::CommunityId), col(C::Body), col(C::Mood)],
            vec![(col(C::AuthorId), Preset::UserId)],
        ),
        update: update(allow(author.clone()), vec![col(C::Body), col(C::Mood)]),
        delete: allow(Pred::any([author, moderates(col(C::CommunityId)), admin()])),
        ..table("vibes")
    }
}

/// The row's vibe (`vibe_id`) is in a community the principal is a member of.
fn vibe_in_my_community(vibe_id: Col) -> Pred {
    use vibes::Column as V;
    Pred::exists(
        "vibes",
        [(col(V::Id), vibe_id)],
        member_of(col(V::CommunityId)),
    )
}

/// The row's vibe is readable.
fn vibe_readable(vibe_id: Col) -> Pred {
    Pred::ReadableVia {
        fk: vibe_id,
        parent_key: col(vibes::Column::Id),
    }
}

fn vibe_reactions() -> TablePolicy {
    use vibe_reactions::Column as C;
    TablePolicy {
        read: allow(vibe_readable(col(C::VibeId))),
        insert: insert(
            allow(vibe_in_my_community(col(C::VibeId))),
            vec![col(C::VibeId), col(C::Kind)],
            vec![(col(C::UserId), Preset::UserId)],
        ),
        // A reaction is replaced, not changed.
        update: update(Access::Deny, vec![col(C::Kind)]),
        delete: allow(Pred::IsSelf(col(C::UserId))),
        ..table("vibe_reactions")
    }
}

fn vibe_comments() -> TablePolicy {
    use vibe_comments::Column as C;
    use vibes::Column as V;
    let author = Pred::IsSelf(col(C::AuthorId));
    TablePolicy {
        read: allow(vibe_readable(col(C::VibeId))),
        insert: insert(
            allow(vibe_in_my_community(col(C::VibeId))),
            vec![col(C::VibeId), col(C::Body)],
            vec![(col(C::AuthorId), Preset::UserId)],
        ),
        update: update(allow(author.clone()), vec![col(C::Body)]),
        delete: allow(Pred::any([
            author,
            Pred::exists(
                "vibes",
                [(col(V::Id), col(C::VibeId))],
                Pred::any([
                    Pred::IsSelf(col(V::AuthorId)),
                    moderates(col(V::CommunityId)),
                ]),
            ),
            admin(),
        ])),
        ..table("vibe_comments")
    }
}

fn connections() -> TablePolicy {
    use connections::Column as C;
    let requester = Pred::IsSelf(col(C::RequesterId));
    let addressee = Pred::IsSelf(col(C::AddresseeId));
    let a_side = Pred::any([requester.clone(), addressee.clone()]);
    TablePolicy {
        read: allow(a_side.clone()),
        // A request names the other user; the requester's own acceptance may be sent (it
        // defaults to true), the other side's cannot: it starts false (the column's
        // default) and is theirs alone to give.
        insert: insert(
            allow(Pred::all([requester.clone(), Pred::not(addressee.clone())])),
            vec![col(C::AddresseeId), col(C::RequesterAccepted)],
            vec![(col(C::RequesterId), Preset::UserId)],
        ),
        // Each side gives or withdraws its own acceptance, never the other's.
        update: Some(UpdateRule {
            using: allow(a_side.clone()),
            check: Pred::Always,
            columns: vec![col(C::RequesterAccepted), col(C::AddresseeAccepted)],
            presets: Vec::new(),
            column_checks: vec![
                (col(C::RequesterAccepted), requester),
                (col(C::AddresseeAccepted), addressee),
            ],
        }),
        delete: allow(a_side),
        ..table("connections")
    }
}

/// The principal and the user in `other` are connected: a connection between them that
/// both sides accepted, whichever side asked.
pub fn connected_to(other: Col) -> Pred {
    use connections::Column as Cn;
    let both = || {
        [
            yes(col(Cn::RequesterAccepted)),
            yes(col(Cn::AddresseeAccepted)),
        ]
    };
    Pred::any([
        Pred::exists(
            "connections",
            [(col(Cn::RequesterId), other)],
            Pred::all(
                [Pred::IsSelf(col(Cn::AddresseeId))]
                    .into_iter()
                    .chain(both()),
            ),
        ),
        Pred::exists(
            "connections",
            [(col(Cn::AddresseeId), other)],
            Pred::all(
                [Pred::IsSelf(col(Cn::RequesterId))]
                    .into_iter()
                    .chain(both()),
            ),
        ),
    ])
}

fn messages() -> TablePolicy {
    use messages::Column as C;
    let sender = Pred::IsSelf(col(C::SenderId));
    let recipient = Pred::IsSelf(col(C::RecipientId));
    TablePolicy {
        read: allow(Pred::any([sender.clone(), recipient.clone()])),
        // Only to a user one is connected with (both sides accepted), checked on the row
        // as it would be written.
        insert: insert(
            allow(connected_to(col(C::RecipientId))),
            vec![col(C::RecipientId), col(C::Body)],
            vec![(col(C::SenderId), Preset::UserId)],
        ),
        // The sender edits the text; the recipient marks it read.
        update: Some(UpdateRule {
            using: allow(Pred::any([sender.clone(), recipient.clone()])),
            check: Pred::Always,
            columns: vec![col(C::Body), col(C::ReadAt)],
            presets: Vec::new(),
            column_checks: vec![(col(C::Body), sender.clone()), (col(C::ReadAt), recipient)],
        }),
        delete: allow(sender),
        ..table("messages")
    }
}

fn notifications() -> TablePolicy {
    use notifications::Column as C;
    let own = Pred::IsSelf(col(C::UserId));
    TablePolicy {
        read: allow(own.clone()),
        // Written by the gateway's hooks (messages, connections) and the service role.
        insert: insert(
            Access::Deny,
            vec![
                col(C::UserId),
                col(C::Kind),
                col(C::Title),
                col(C::Body),
                col(C::Data),
            ],
            Vec::new(),
        ),
        update: update(allow(own.clone()), vec![col(C::ReadAt)]),
        delete: allow(own),
        ..table("notifications")
    }
}

fn practices() -> TablePolicy {
    use practices::Column as C;
    let own = Pred::IsSelf(col(C::UserId));
    let fields = vec![
        col(C::Name),
        col(C::Description),
        col(C::Category),
        col(C::IsPublic),
        col(C::TargetMinutes),
    ];
    TablePolicy {
        read: allow(Pred::any([
            own.clone(),
            Pred::all([Pred::Authenticated, yes(col(C::IsPublic))]),
        ])),
        insert: insert(
            allow(own.clone()),
            fields.clone(),
            vec![(col(C::UserId), Preset::UserId)],
        ),
        update: update(allow(own.clone()), fields),
        delete: allow(own),
        ..table("practices")
    }
}

fn practice_logs() -> TablePolicy {
    use practice_logs::Column as C;
    use practices::Column as P;
    let own = Pred::IsSelf(col(C::UserId));
    TablePolicy {
        // The owner's alone: not even administrators read them.
        read: allow(own.clone()),
        insert: insert(
            allow(Pred::all([
                own.clone(),
                Pred::exists(
                    "practices",
                    [(col(P::Id), col(C::PracticeId))],
                    Pred::IsSelf(col(P::UserId)),
                ),
            ])),
            vec![
                col(C::PracticeId),
                col(C::LoggedOn),
                col(C::DurationMinutes),
                col(C::Notes),
            ],
            vec![(col(C::UserId), Preset::UserId)],
        ),
        update: update(
            allow(own.clone()),
            vec![col(C::DurationMinutes), col(C::Notes)],
        ),
        delete: allow(own),
        ..table("practice_logs")
    }
}

fn practice_streaks() -> TablePolicy {
    use practice_streaks::Column as C;
    let streak_fields = vec![
        col(C::CurrentStreak),
        col(C::LongestStreak),
        col(C::LastLoggedOn),
    ];
    TablePolicy {
        // Readable with its practice (the owner's; a public practice's by everyone
        // signed in); kept by the gateway (hook `logs_keep_the_streak`).
        read: allow(Pred::ReadableVia {
            fk: col(C::PracticeId),
            parent_key: col(practices::Column::Id),
        }),
        insert: insert(
            Access::Deny,
            [
                vec![col(C::PracticeId), col(C::UserId)],
                streak_fields.clone(),
            ]
            .concat(),
            Vec::new(),
        ),
        update: update(Access::Deny, streak_fields),
        delete: Access::Deny,
        ..table("practice_streaks")
    }
}

fn ai_model_configs() -> TablePolicy {
    use ai_model_configs::Column as C;
    let fields = vec![
        col(C::Provider),
        col(C::Model),
        col(C::Temperature),
        col(C::MaxTokens),
        col(C::SystemPrompt),
        col(C::Enabled),
        col(C::CredentialId),
    ];
    TablePolicy {
        // Decided in memory (it is served from the hot cache): administrators read every
        // configuration, signed-in users the enabled ones, without their system prompt.
        read: allow(Pred::any([
            admin(),
            Pred::all([Pred::Authenticated, yes(col(C::Enabled))]),
        ])),
        masks: vec![(col(C::SystemPrompt), admin())],
        insert: insert(
            allow(admin()),
            [vec![col(C::Key)], fields.clone()].concat(),
            Vec::new(),
        ),
        update: update(allow(admin()), fields),
        delete: allow(admin()),
        ..table("ai_model_configs")
    }
}

fn ai_provider_credentials() -> TablePolicy {
    use ai_provider_credentials::Column as C;
    TablePolicy {
        read: allow(admin()),
        // Nobody but the service role ever reads the key: administrators write it (and
        // rotate it), and read it back as NULL; it cannot be filtered or ordered on.
        masks: vec![(col(C::ApiKey), Pred::Never)],
        insert: insert(
            allow(admin()),
            vec![
                col(C::Provider),
                col(C::Label),
                col(C::ApiKey),
                col(C::IsActive),
            ],
            vec![(col(C::CreatedBy), Preset::UserId)],
        ),
        update: update(
            allow(admin()),
            vec![col(C::Label), col(C::ApiKey), col(C::IsActive)],
        ),
        delete: allow(admin()),
        ..table("ai_provider_credentials")
    }
}

fn ai_daily_budgets() -> TablePolicy {
    use ai_daily_budgets::Column as C;
    TablePolicy {
        read: allow(admin()),
        // Administrators set the limits; the usage counters are metered by the AI router
        // (the service role).
        insert: insert(
            allow(admin()),
            vec![
                col(C::ModelConfigId),
                col(C::BudgetDate),
                col(C::TokenLimit),
                col(C::CostLimitUsd),
            ],
            Vec::new(),
        ),
        update: update(
            allow(admin()),
            vec![col(C::TokenLimit), col(C::CostLimitUsd)],
        ),
        delete: allow(admin()),
        ..table("ai_daily_budgets")
    }
}

fn audit_logs() -> TablePolicy {
    use audit_logs::Column as C;
    TablePolicy {
        read: allow(Pred::any([admin(), Pred::IsSelf(col(C::ActorId))])),
        insert: insert(Access::Never, Vec::new(), Vec::new()),
        update: update(Access::Never, Vec::new()),
        delete: Access::Never,
        // The values are the audited row's: shown only to a reader who may read that row,
        // with that table's masks applied.
        copies: Some(CopiedValues {
            table: col(C::TableName),
            key: col(C::RowId),
            values: vec![col(C::OldValues), col(C::NewValues)],
        }),
        ..table("audit_logs")
    }
}
