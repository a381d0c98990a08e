//! Every table's policy, the principal facts they name, the staff audit trail and what the
//! hot cache holds.
//!
//! Reading a block: `read` says which rows a principal sees; `insert.check` is checked on
//! the row as it would be written (after presets), `update.using` selects which readable rows
//! may change and `update.check` what the changed row must satisfy; `delete` which readable
//! rows may go. The service role bypasses every rule except `Access::Never`.
//!
//! Blocks hide in both directions: two facts over `blocks` ([`BLOCKED`], the users the
//! principal blocked, and [`BLOCKED_BY`], the users who blocked the principal) and every rule
//! that shows one user's rows to another asks [`not_blocked`] of the owner. A write of
//! `blocks` invalidates the cached facts of both users the row names (each fact's user
//! column), so the blocked user's view changes at once too.

use rowgate::policy::{
    Access, AuditTrail, Col, ConfigTable, CopiedValues, Fact, HotConfig, InsertRule, Lit,
    PolicySet, Pred, Preset, TablePolicy, UpdateRule, col,
};

use crate::entities::{
    admin_audit_log, admin_users, blocks, data_deletion_requests, data_export_requests,
    enforcement_actions, feature_flags, match_offers, matches, messages, moderation_queue, photos,
    profiles, reports, segment_config_overrides, system_config, user_segment_members,
    user_segments, users,
};

/// The users the principal has blocked (`blocks.blocked_id` where they are the blocker).
pub const BLOCKED: &str = "blocked";
/// The users who have blocked the principal (`blocks.blocker_id` where they are blocked).
pub const BLOCKED_BY: &str = "blocked_by";
/// The principal's active matches where they are `user1_id`: the `user2_id`s.
pub const MATCHED_AS_USER1: &str = "matched_as_user1";
/// The principal's active matches where they are `user2_id`: the `user1_id`s.
pub const MATCHED_AS_USER2: &str = "matched_as_user2";
/// The principal is active staff (`admin_users`, role `moderator` or `admin`).
pub const MODERATOR: &str = "moderator";
/// The principal is an active admin (`admin_users`, role `admin`).
pub const ADMIN: &str = "admin";
/// The segments the principal is a member of (`user_segment_members.segment_id`).
pub const SEGMENTS: &str = "segments";

/// The tables held whole in the hot cache: the base configuration and the segments'
/// overrides, which `effectiveConfig` composes with no SQL when warm.
pub const CACHED_TABLES: [&str; 2] = ["system_config", "segment_config_overrides"];

/// The principal facts, each loaded by the user's id from its table, cached per user and
/// invalidated when a row of that table naming the user changes.
pub fn facts() -> Vec<Fact> {
    use admin_users::Column as A;
    use blocks::Column as B;
    use matches::Column as M;
    use user_segment_members::Column as S;
    let active = || [Lit::Text("active")];
    let staff = |name, roles: &[&'static str]| {
        Fact::flag(name, col(A::UserId))
            .when(col(A::Role), roles.iter().copied().map(Lit::Text))
            .when(col(A::IsActive), [Lit::Bool(true)])
    };
    vec![
        Fact::ids(BLOCKED, col(B::BlockerId), col(B::BlockedId)),
        Fact::ids(BLOCKED_BY, col(B::BlockedId), col(B::BlockerId)),
        Fact::ids(MATCHED_AS_USER1, col(M::User1Id), col(M::User2Id))
            .when(col(M::Status), active()),
        Fact::ids(MATCHED_AS_USER2, col(M::User2Id), col(M::User1Id))
            .when(col(M::Status), active()),
        staff(MODERATOR, &["moderator", "admin"]),
        staff(ADMIN, &["admin"]),
        Fact::ids(SEGMENTS, col(S::UserId), col(S::SegmentId)),
    ]
}

/// Neither the principal blocked the user in `user`, nor that user the principal.
pub fn not_blocked(user: Col) -> Pred {
    Pred::not(Pred::any([
        Pred::InFact(user, BLOCKED),
        Pred::InFact(user, BLOCKED_BY),
    ]))
}

/// The user in `user` is in an active match with the principal.
pub fn matched_with(user: Col) -> Pred {
    Pred::any([
        Pred::InFact(user, MATCHED_AS_USER1),
        Pred::InFact(user, MATCHED_AS_USER2),
    ])
}

/// The principal is active staff (moderators and admins).
fn moderator() -> Pred {
    Pred::Flag(MODERATOR)
}

/// The principal is an active admin.
fn admin() -> Pred {
    Pred::Flag(ADMIN)
}

/// Every table's policy, with the facts, the staff audit trail, the subscribable tables and
/// the hot cache.
pub fn policies() -> PolicySet {
    PolicySet::new(vec![
        users(),
        profiles(),
        photos(),
        match_offers(),
        matches(),
        messages(),
        blocks(),
        reports(),
        moderation_queue(),
        enforcement_actions(),
        system_config(),
        feature_flags(),
        admin_only("user_segments", user_segments_columns()),
        admin_only("user_segment_members", user_segment_members_columns()),
        segment_config_overrides(),
        admin_users(),
        admin_audit_log(),
        data_export_requests(),
        data_deletion_requests(),
    ])
    .with_facts(facts())
    .with_audit(audit_trail())
    .with_realtime(["messages", "matches"])
    .with_hot_config(HotConfig {
        config: Some(ConfigTable {
            key: col(system_config::Column::Key),
            value: col(system_config::Column::Value),
            public: col(system_config::Column::IsPublic),
        }),
        ..HotConfig::default()
    })
    .with_cached_tables(CACHED_TABLES)
}

/// Every write by staff (moderators and admins), of every table, with who wrote it, in
/// which request, and the row before and after. The service role's and users' own writes
/// are not staff writes and are not recorded here.
pub fn audit_trail() -> AuditTrail {
    use admin_audit_log::Column as C;
    AuditTrail {
        old_values: Some(col(C::OldValues)),
        new_values: Some(col(C::NewValues)),
        actor: Some(col(C::AdminId)),
        actor_role: Some(col(C::AdminRole)),
        request_id: Some(col(C::RequestId)),
        when: moderator(),
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
        using,
        check: Pred::Always,
        columns,
        presets: Vec::new(),
        column_checks: Vec::new(),
    })
}

/// A policy block denying everything to everyone but the service role; fill in the rest.
fn table(name: &'static str) -> TablePolicy {
    TablePolicy {
        table: name,
        soft_delete: None,
        read: Access::Deny,
        masks: Vec::new(),
        insert: insert(Access::Deny, Vec::new(), Vec::new()),
        update: update(Access::Deny, Vec::new()),
        delete: Access::Deny,
        copies: None,
    }
}

fn users() -> TablePolicy {
    use users::Column as C;
    let own = Pred::IsSelf(col(C::Id));
    TablePolicy {
        // The account is its owner's and staff's; other users see the profile instead.
        read: allow(Pred::any([own.clone(), moderator()])),
        // Contact details: the owner and admins only (moderators see the account's status).
        masks: vec![
            (col(C::Email), Pred::any([own.clone(), admin()])),
            (col(C::Phone), Pred::any([own.clone(), admin()])),
        ],
        insert: insert(
            allow(own.clone()),
            vec![col(C::Email), col(C::Phone)],
            vec![(col(C::Id), Preset::UserId)],
        ),
        update: Some(UpdateRule {
            using: allow(Pred::any([own.clone(), admin()])),
            check: Pred::Always,
            columns: vec![
                col(C::Email),
                col(C::Phone),
                col(C::LastActiveAt),
                col(C::Status),
            ],
            presets: Vec::new(),
            column_checks: vec![
                (col(C::Email), own.clone()),
                (col(C::Phone), own.clone()),
                (col(C::LastActiveAt), own),
                (col(C::Status), admin()),
            ],
        }),
        // An account goes through a data deletion request, carried out by the service role.
        delete: Access::Deny,
        ..table("users")
    }
}

fn profiles() -> TablePolicy {
    use profiles::Column as C;
    let own = Pred::IsSelf(col(C::UserId));
    let fields = vec![
        col(C::DisplayName),
        col(C::Bio),
        col(C::BirthDate),
        col(C::Gender),
        col(C::Seeking),
        col(C::City),
        col(C::IsVisible),
    ];
    TablePolicy {
        // Discovery: a signed-in user reads visible profiles (and a hidden one of a match),
        // never across a block in either direction.
        read: allow(Pred::any([
            own.clone(),
            moderator(),
            Pred::all([
                Pred::Authenticated,
                not_blocked(col(C::UserId)),
                Pred::any([
                    Pred::Eq(col(C::IsVisible), Lit::Bool(true)),
                    matched_with(col(C::UserId)),
                ]),
            ]),
        ])),
        // The birth date: the owner and staff (others see the profile without it).
        masks: vec![(col(C::BirthDate), Pred::any([own.clone(), moderator()]))],
        insert: insert(
            allow(own.clone()),
            fields.clone(),
            vec![(col(C::UserId), Preset::UserId)],
        ),
        update: update(allow(own), fields),
        delete: Access::Deny,
        ..table("profiles")
    }
}

fn photos() -> TablePolicy {
    use photos::Column as C;
    let own = Pred::IsSelf(col(C::UserId));
    TablePolicy {
        // The owner's and staff's; a match sees the approved ones, unless either blocked
        // the other.
        read: allow(Pred::any([
            own.clone(),
            moderator(),
            Pred::all([
                Pred::Eq(col(C::ModerationStatus), text("approved")),
                matched_with(col(C::UserId)),
                not_blocked(col(C::UserId)),
            ]),
        ])),
        insert: insert(
            allow(own.clone()),
            vec![col(C::Url), col(C::Position)],
            vec![(col(C::UserId), Preset::UserId)],
        ),
        // The owner orders their photos; staff moderate them.
        update: Some(UpdateRule {
            using: allow(Pred::any([own.clone(), moderator()])),
            check: Pred::Always,
            columns: vec![col(C::Position), col(C::ModerationStatus)],
            presets: Vec::new(),
            column_checks: vec![
                (col(C::Position), own.clone()),
                (col(C::ModerationStatus), moderator()),
            ],
        }),
        delete: allow(Pred::any([own, moderator()])),
        ..table("photos")
    }
}

fn match_offers() -> TablePolicy {
    use match_offers::Column as C;
    let own = Pred::all([
        Pred::IsSelf(col(C::UserId)),
        not_blocked(col(C::CandidateId)),
    ]);
    TablePolicy {
        // An offer is its recipient's (the candidate is not told), and vanishes across a
        // block.
        read: allow(Pred::any([own.clone(), moderator()])),
        // The matchmaker (the service role) makes offers.
        insert: insert(
            Access::Deny,
            vec![
                col(C::UserId),
                col(C::CandidateId),
                col(C::Score),
                col(C::ExpiresAt),
            ],
            Vec::new(),
        ),
        // The recipient answers a pending offer once: accepted or declined. Two accepted
        // offers of one pair become a match (the `mutual_acceptance_matches` hook).
        update: Some(UpdateRule {
            using: allow(Pred::all([own, Pred::Eq(col(C::Status), text("pending"))])),
            check: Pred::In(col(C::Status), vec![text("accepted"), text("declined")]),
            columns: vec![col(C::Status)],
            presets: vec![(col(C::RespondedAt), Preset::Now)],
            column_checks: Vec::new(),
        }),
        delete: Access::Deny,
        ..table("match_offers")
    }
}

fn matches() -> TablePolicy {
    use matches::Column as C;
    let participant = Pred::any([Pred::IsSelf(col(C::User1Id)), Pred::IsSelf(col(C::User2Id))]);
    TablePolicy {
        // Both participants read it, unless either blocked the other (then it is hidden
        // from both, and comes back if the block is lifted).
        read: allow(Pred::any([
            moderator(),
            Pred::all([
                participant.clone(),
                not_blocked(col(C::User1Id)),
                not_blocked(col(C::User2Id)),
            ]),
        ])),
        // Matches are made from two accepted offers (a hook) or by the service role.
        insert: insert(
            Access::Deny,
            vec![col(C::User1Id), col(C::User2Id)],
            Vec::new(),
        ),
        // Either participant unmatches: status `unmatched`; the gateway stamps who
        // (`unmatched_by`, the writer) and when. The row stays (moderation may need it);
        // its messages and photos stop being shared.
        update: Some(UpdateRule {
            using: allow(Pred::all([
                participant,
                Pred::Eq(col(C::Status), text("active")),
            ])),
            check: Pred::all([
                Pred::Eq(col(C::Status), text("unmatched")),
                Pred::IsSelf(col(C::UnmatchedBy)),
            ]),
            columns: vec![col(C::Status)],
            presets: vec![
                (col(C::UnmatchedBy), Preset::UserId),
                (col(C::UnmatchedAt), Preset::Now),
            ],
            column_checks: Vec::new(),
        }),
        delete: Access::Deny,
        ..table("matches")
    }
}

/// The match `messages.match_id` names is active, with the principal as `me` and the
/// message's recipient as the other participant.
fn active_match_with_recipient(me: matches::Column, other: matches::Column) -> Pred {
    use matches::Column as M;
    use messages::Column as C;
    Pred::exists(
        "matches",
        [
            (col(M::Id), col(C::MatchId)),
            (col(other), col(C::RecipientId)),
        ],
        Pred::all([
            Pred::IsSelf(col(me)),
            Pred::Eq(col(M::Status), text("active")),
        ]),
    )
}

fn messages() -> TablePolicy {
    use matches::Column as M;
    use messages::Column as C;
    let (sender, recipient) = (col(C::SenderId), col(C::RecipientId));
    TablePolicy {
        // The two participants, while matched, and never once either blocks the other;
        // staff for moderation. Decided from the row and the principal's facts alone, so a
        // subscription event is filtered in memory.
        read: allow(Pred::any([
            moderator(),
            Pred::all([
                Pred::any([
                    Pred::all([Pred::IsSelf(sender), matched_with(recipient)]),
                    Pred::all([Pred::IsSelf(recipient), matched_with(sender)]),
                ]),
                not_blocked(sender),
                not_blocked(recipient),
            ]),
        ])),
        // Sent by the principal, in an active match of theirs, to its other participant,
        // who has not blocked them and whom they have not blocked.
        insert: insert(
            allow(Pred::all([
                not_blocked(recipient),
                Pred::any([
                    active_match_with_recipient(M::User1Id, M::User2Id),
                    active_match_with_recipient(M::User2Id, M::User1Id),
                ]),
            ])),
            vec![col(C::MatchId), col(C::RecipientId), col(C::Body)],
            vec![(sender, Preset::UserId)],
        ),
        // The recipient marks it read.
        update: update(allow(Pred::IsSelf(recipient)), vec![col(C::ReadAt)]),
        // The sender unsends it.
        delete: allow(Pred::IsSelf(sender)),
        ..table("messages")
    }
}

fn blocks() -> TablePolicy {
    use blocks::Column as C;
    let blocker = Pred::IsSelf(col(C::BlockerId));
    TablePolicy {
        // The blocker and staff; the blocked user is never told.
        read: allow(Pred::any([blocker.clone(), moderator()])),
        insert: insert(
            allow(Pred::all([
                Pred::Authenticated,
                Pred::not(Pred::IsSelf(col(C::BlockedId))),
            ])),
            vec![col(C::BlockedId), col(C::Reason)],
            vec![(col(C::BlockerId), Preset::UserId)],
        ),
        // Unblocking deletes the row.
        delete: allow(blocker),
        ..table("blocks")
    }
}

fn reports() -> TablePolicy {
    use messages::Column as Msg;
    use photos::Column as Ph;
    use reports::Column as C;
    TablePolicy {
        read: allow(Pred::any([Pred::IsSelf(col(C::ReporterId)), moderator()])),
        // Anyone signed in reports someone else; a message named must be one the reported
        // user sent the reporter, a photo one of the reported user's.
        insert: Some(InsertRule {
            check: allow(Pred::all([
                Pred::Authenticated,
                Pred::not(Pred::IsSelf(col(C::ReportedUserId))),
            ])),
            columns: vec![
                col(C::ReportedUserId),
                col(C::Reason),
                col(C::Details),
                col(C::MessageId),
                col(C::PhotoId),
            ],
            presets: vec![(col(C::ReporterId), Preset::UserId)],
            column_checks: vec![
                (
                    col(C::MessageId),
                    Pred::exists(
                        "messages",
                        [
                            (col(Msg::Id), col(C::MessageId)),
                            (col(Msg::SenderId), col(C::ReportedUserId)),
                        ],
                        Pred::IsSelf(col(Msg::RecipientId)),
                    ),
                ),
                (
                    col(C::PhotoId),
                    Pred::exists(
                        "photos",
                        [
                            (col(Ph::Id), col(C::PhotoId)),
                            (col(Ph::UserId), col(C::ReportedUserId)),
                        ],
                        Pred::Always,
                    ),
                ),
            ],
        }),
        // Staff move a report through review.
        update: update(allow(moderator()), vec![col(C::Status)]),
        delete: Access::Deny,
        ..table("reports")
    }
}

fn moderation_queue() -> TablePolicy {
    use moderation_queue::Column as C;
    TablePolicy {
        // Staff read the queue; a reporter reads the item of their own report, without who
        // is assigned to it or the resolution notes.
        read: allow(Pred::any([
            moderator(),
            Pred::ReadableVia {
                fk: col(C::ReportId),
                parent_key: col(reports::Column::Id),
            },
        ])),
        masks: vec![
            (col(C::AssignedTo), moderator()),
            (col(C::Resolution), moderator()),
        ],
        // Items are queued for each new report (the `report_queues_for_moderation` hook)
        // or by staff.
        insert: insert(
            allow(moderator()),
            vec![
                col(C::ReportId),
                col(C::SubjectUserId),
                col(C::ContentType),
                col(C::ContentId),
                col(C::Priority),
            ],
            Vec::new(),
        ),
        update: update(
            allow(moderator()),
            vec![
                col(C::Status),
                col(C::AssignedTo),
                col(C::Resolution),
                col(C::Priority),
            ],
        ),
        delete: Access::Deny,
        ..table("moderation_queue")
    }
}

fn enforcement_actions() -> TablePolicy {
    use enforcement_actions::Column as C;
    TablePolicy {
        // The subject reads their own, without which moderator issued it; staff read all.
        read: allow(Pred::any([
            Pred::IsSelf(col(C::SubjectUserId)),
            moderator(),
        ])),
        masks: vec![(col(C::IssuedBy), moderator())],
        // Staff write; a suspension or ban also sets the account's status (a hook).
        insert: insert(
            allow(moderator()),
            vec![
                col(C::SubjectUserId),
                col(C::Action),
                col(C::Reason),
                col(C::ReportId),
                col(C::ExpiresAt),
            ],
            vec![(col(C::IssuedBy), Preset::UserId)],
        ),
        update: update(
            allow(moderator()),
            vec![col(C::Reason), col(C::ExpiresAt), col(C::RevokedAt)],
        ),
        delete: Access::Deny,
        ..table("enforcement_actions")
    }
}

fn system_config() -> TablePolicy {
    use system_config::Column as C;
    let fields = vec![col(C::Value), col(C::IsPublic), col(C::Description)];
    TablePolicy {
        // Public entries for everyone, every entry for signed-in users (decided from the
        // row alone: the table is held in the hot cache).
        read: allow(Pred::any([
            Pred::Eq(col(C::IsPublic), Lit::Bool(true)),
            Pred::Authenticated,
        ])),
        insert: insert(
            allow(admin()),
            [vec![col(C::Key)], fields.clone()].concat(),
            Vec::new(),
        ),
        update: update(allow(admin()), fields),
        delete: allow(admin()),
        ..table("system_config")
    }
}

fn feature_flags() -> TablePolicy {
    use feature_flags::Column as C;
    let fields = vec![col(C::Enabled), col(C::RolloutPercent), col(C::Description)];
    TablePolicy {
        read: allow(Pred::Authenticated),
        insert: insert(
            allow(admin()),
            [vec![col(C::Key)], fields.clone()].concat(),
            Vec::new(),
        ),
        update: update(allow(admin()), fields),
        delete: allow(admin()),
        ..table("feature_flags")
    }
}

fn user_segments_columns() -> (Vec<Col>, Vec<Col>) {
    use user_segments::Column as C;
    let fields = vec![col(C::Name), col(C::Description)];
    ([vec![col(C::Key)], fields.clone()].concat(), fields)
}

fn user_segment_members_columns() -> (Vec<Col>, Vec<Col>) {
    use user_segment_members::Column as C;
    (vec![col(C::SegmentId), col(C::UserId)], Vec::new())
}

/// A table only admins read and write: (insert columns, update columns).
fn admin_only(name: &'static str, (inserted, updated): (Vec<Col>, Vec<Col>)) -> TablePolicy {
    TablePolicy {
        read: allow(admin()),
        insert: insert(allow(admin()), inserted, Vec::new()),
        update: update(allow(admin()), updated),
        delete: allow(admin()),
        ..table(name)
    }
}

fn segment_config_overrides() -> TablePolicy {
    use segment_config_overrides::Column as C;
    let fields = vec![col(C::Value), col(C::Priority)];
    TablePolicy {
        // Admins, and each member of the segment (for their effective configuration; decided
        // from the row and the principal's `segments` alone: the table is held in the hot
        // cache).
        read: allow(Pred::any([
            admin(),
            Pred::InFact(col(C::SegmentId), SEGMENTS),
        ])),
        insert: insert(
            allow(admin()),
            [vec![col(C::SegmentId), col(C::Key)], fields.clone()].concat(),
            Vec::new(),
        ),
        update: update(allow(admin()), fields),
        delete: allow(admin()),
        ..table("segment_config_overrides")
    }
}

fn admin_users() -> TablePolicy {
    use admin_users::Column as C;
    TablePolicy {
        read: allow(Pred::any([Pred::IsSelf(col(C::UserId)), admin()])),
        insert: insert(
            allow(admin()),
            vec![col(C::UserId), col(C::Role), col(C::IsActive)],
            Vec::new(),
        ),
        update: update(allow(admin()), vec![col(C::Role), col(C::IsActive)]),
        delete: allow(admin()),
        ..table("admin_users")
    }
}

fn admin_audit_log() -> TablePolicy {
    use admin_audit_log::Column as C;
    TablePolicy {
        read: allow(admin()),
        // The gateway writes the trail; nobody changes it, not even the service role.
        insert: insert(Access::Never, Vec::new(), Vec::new()),
        update: update(Access::Never, Vec::new()),
        delete: Access::Never,
        // The values are the audited row's: shown only while the reader may read that row.
        copies: Some(CopiedValues {
            table: col(C::TableName),
            key: col(C::RowId),
            values: vec![col(C::OldValues), col(C::NewValues)],
        }),
        ..table("admin_audit_log")
    }
}

fn data_export_requests() -> TablePolicy {
    use data_export_requests::Column as C;
    TablePolicy {
        read: allow(Pred::any([Pred::IsSelf(col(C::UserId)), admin()])),
        insert: insert(
            allow(Pred::Authenticated),
            vec![col(C::Format)],
            vec![(col(C::UserId), Preset::UserId)],
        ),
        // Carried out by the service role (status, download link, completion).
        update: update(
            Access::Deny,
            vec![col(C::Status), col(C::DownloadUrl), col(C::CompletedAt)],
        ),
        delete: Access::Deny,
        ..table("data_export_requests")
    }
}

fn data_deletion_requests() -> TablePolicy {
    use data_deletion_requests::Column as C;
    let own = Pred::IsSelf(col(C::UserId));
    TablePolicy {
        read: allow(Pred::any([own.clone(), admin()])),
        insert: insert(
            allow(Pred::Authenticated),
            vec![col(C::Reason)],
            vec![(col(C::UserId), Preset::UserId)],
        ),
        // The requester may cancel a pending request; the service role carries it out.
        update: Some(UpdateRule {
            using: allow(Pred::all([own, Pred::Eq(col(C::Status), text("pending"))])),
            check: Pred::Eq(col(C::Status), text("cancelled")),
            columns: vec![col(C::Status)],
            presets: Vec::new(),
            column_checks: Vec::new(),
        }),
        delete: Access::Deny,
        ..table("data_deletion_requests")
    }
}
