//! Every table's policy, the principal facts they name, the tenancy and the audit trail.
//!
//! Who is who: a *supplier* (the tenant) is a wedding business; its staff are its
//! `team_members` (`owner`, `admin`, `member`), each a signed-in user acting in the supplier
//! as their active tenant. A *couple* is a signed-in user with a `couples` row. A couple
//! shares its wedding details (`core_field_values`) with a supplier only while the couple's
//! connection to that supplier is `active`: the consent is read from
//! `supplier_client_connections` in SQL at every read (and at every change event), so a
//! revoke hides the values at once, on every path.
//!
//! Reading a block: `read` says which rows the principal sees; `insert.check` is checked on
//! the row as it would be written (after presets); `update.using` selects which readable
//! rows may change and `update.check` what the changed row must satisfy; `delete` which
//! readable rows may go. The service role bypasses every rule except `Access::Never`.

use rowgate::policy::{
    Access, AuditTrail, Col, CopiedValues, Fact, InsertRule, Lit, PolicySet, Pred, Preset,
    TablePolicy, Tenancy, UpdateRule, col,
};

use crate::entities::{
    activities, audit_log, clients, core_field_values, core_fields, couples, form_responses, forms,
    notifications, supplier_client_connections, suppliers, team_members,
};

/// The suppliers the user is on the team of (any role): also the tenants they may act in.
pub const SUPPLIER_TEAMS: &str = "supplier_teams";
/// The suppliers where the user is an owner or admin.
pub const SUPPLIER_ADMINS: &str = "supplier_admins";
/// The suppliers the user owns.
pub const SUPPLIER_OWNERS: &str = "supplier_owners";
/// The couple accounts of the user (`couples.id` whose `user_id` is the user).
pub const MY_COUPLES: &str = "my_couples";

/// The principal facts the policies name, each loaded by the user's id and invalidated when
/// a row of its table changes.
pub fn facts() -> Vec<Fact> {
    use team_members::Column as T;
    let team = |name| Fact::ids(name, col(T::UserId), col(T::SupplierId));
    vec![
        team(SUPPLIER_TEAMS),
        team(SUPPLIER_ADMINS).when(col(T::Role), [text("owner"), text("admin")]),
        team(SUPPLIER_OWNERS).when(col(T::Role), [text("owner")]),
        Fact::ids(
            MY_COUPLES,
            col(couples::Column::UserId),
            col(couples::Column::Id),
        ),
    ]
}

/// Every table's policy, with the facts, the tenancy (suppliers are the tenants, named by
/// `supplier_id`; the active tenant must be one of the user's teams), the audit trail and
/// the subscribable tables.
pub fn policies() -> PolicySet {
    PolicySet::new(vec![
        suppliers(),
        team_members(),
        couples(),
        clients(),
        supplier_client_connections(),
        core_fields(),
        core_field_values(),
        forms(),
        form_responses(),
        notifications(),
        activities(),
        audit_log(),
    ])
    .with_facts(facts())
    .with_tenancy(Tenancy {
        tenants: col(suppliers::Column::Id),
        column: col(clients::Column::SupplierId).name,
    })
    .with_tenant_scope(SUPPLIER_TEAMS)
    .with_audit(audit_trail())
    .with_realtime(["core_field_values", "form_responses", "notifications"])
}

/// Every write of every table (the trail's own excepted), with who wrote it, as which role,
/// in which supplier, in which request, and the row before and after — a core field
/// value's change therefore carries its old and new values. Readers see the copied values
/// only while they may read the audited row (see [`audit_log`]).
pub fn audit_trail() -> AuditTrail {
    use audit_log::Column as A;
    AuditTrail {
        old_values: Some(col(A::OldValues)),
        new_values: Some(col(A::NewValues)),
        actor: Some(col(A::ActorId)),
        actor_role: Some(col(A::ActorRole)),
        tenant: Some(col(A::SupplierId)),
        request_id: Some(col(A::RequestId)),
        ..AuditTrail::new(col(A::Action), col(A::TableName), col(A::RowId))
    }
}

fn text(s: &'static str) -> Lit {
    Lit::Text(s)
}

fn allow(pred: Pred) -> Access {
    Access::Allow(pred)
}

/// The column is a supplier the principal is on the team of.
fn team_of(column: Col) -> Pred {
    Pred::InFact(column, SUPPLIER_TEAMS)
}

/// The column is a supplier the principal administers (owner or admin).
fn admin_of(column: Col) -> Pred {
    Pred::InFact(column, SUPPLIER_ADMINS)
}

/// The column is a supplier the principal owns.
fn owner_of(column: Col) -> Pred {
    Pred::InFact(column, SUPPLIER_OWNERS)
}

/// The column is a couple account of the principal.
fn couple_of(column: Col) -> Pred {
    Pred::InFact(column, MY_COUPLES)
}

/// The couple named by `couple` has a connection in one of `statuses` with a supplier
/// the principal is on the team of.
fn connected_supplier_team(couple: Col, statuses: &[&'static str]) -> Pred {
    use supplier_client_connections::Column as S;
    Pred::exists(
        "supplier_client_connections",
        [(col(S::CoupleId), couple)],
        Pred::all([
            team_of(col(S::SupplierId)),
            status_in(col(S::Status), statuses),
        ]),
    )
}

/// The supplier named by `supplier` has a connection in one of `statuses` with a couple
/// account of the principal.
fn connected_couple(supplier: Col, statuses: &[&'static str]) -> Pred {
    use supplier_client_connections::Column as S;
    Pred::exists(
        "supplier_client_connections",
        [(col(S::SupplierId), supplier)],
        Pred::all([
            couple_of(col(S::CoupleId)),
            status_in(col(S::Status), statuses),
        ]),
    )
}

fn status_in(column: Col, statuses: &[&'static str]) -> Pred {
    match statuses {
        [one] => Pred::Eq(column, text(one)),
        many => Pred::In(column, many.iter().map(|s| text(s)).collect()),
    }
}

fn insert(check: Access, columns: Vec<Col>, presets: Vec<(Col, Preset)>) -> Option<InsertRule> {
    Some(InsertRule {
        check,
        columns,
        presets,
        column_checks: Vec::new(),
    })
}

fn update(using: Access, check: Pred, columns: Vec<Col>) -> Option<UpdateRule> {
    Some(UpdateRule {
        using,
        check,
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

/// Suppliers: a directory every signed-in user reads (a couple names the supplier it
/// connects to); anyone signed in may open one (and becomes its owner, see the hooks);
/// owners and admins edit it; owners delete it, and everything of theirs with it.
fn suppliers() -> TablePolicy {
    use suppliers::Column as C;
    let editable = vec![
        col(C::Name),
        col(C::BusinessType),
        col(C::Email),
        col(C::Phone),
        col(C::Website),
    ];
    TablePolicy {
        read: allow(Pred::Authenticated),
        insert: insert(allow(Pred::Authenticated), editable.clone(), Vec::new()),
        update: update(allow(admin_of(col(C::Id))), Pred::Always, editable),
        delete: allow(owner_of(col(C::Id))),
        ..table("suppliers")
    }
}

/// Team members: the team reads itself; owners add anyone, admins add admins and members;
/// admins change and remove non-owners, owners anyone; a member edits their own name and
/// leaves. Nobody but an owner makes an owner, and the last owner stays (a hook).
fn team_members() -> TablePolicy {
    use team_members::Column as C;
    let supplier = col(C::SupplierId);
    let not_owner_role = Pred::In(col(C::Role), vec![text("admin"), text("member")]);
    // Managing this row: an owner of the supplier, or an admin when the row is no owner.
    let manages = Pred::any([
        owner_of(supplier),
        Pred::all([admin_of(supplier), not_owner_role.clone()]),
    ]);
    TablePolicy {
        read: allow(team_of(supplier)),
        insert: insert(
            allow(manages.clone()),
            vec![
                supplier,
                col(C::UserId),
                col(C::Role),
                col(C::DisplayName),
                col(C::Email),
            ],
            Vec::new(),
        ),
        update: Some(UpdateRule {
            using: allow(Pred::any([manages.clone(), Pred::IsSelf(col(C::UserId))])),
            // An admin cannot make an owner; nobody leaves the role set.
            check: Pred::any([owner_of(supplier), not_owner_role]),
            columns: vec![col(C::Role), col(C::DisplayName), col(C::Email)],
            presets: Vec::new(),
            // Changing a role is managing the row (as it was); a member's own name is theirs.
            column_checks: vec![(col(C::Role), manages.clone())],
        }),
        delete: allow(Pred::any([manages, Pred::IsSelf(col(C::UserId))])),
        ..table("team_members")
    }
}

/// Couples: the account's user reads and writes it; a supplier's team reads it while the
/// couple's connection to the supplier is active.
fn couples() -> TablePolicy {
    use couples::Column as C;
    let own = Pred::IsSelf(col(C::UserId));
    let editable = vec![
        col(C::PartnerOneName),
        col(C::PartnerTwoName),
        col(C::Email),
        col(C::WeddingDate),
    ];
    TablePolicy {
        read: allow(Pred::any([
            own.clone(),
            connected_supplier_team(col(C::Id), &["active"]),
        ])),
        insert: insert(
            allow(own.clone()),
            editable.clone(),
            vec![(col(C::UserId), Preset::UserId)],
        ),
        update: update(allow(own.clone()), Pred::Always, editable),
        delete: allow(own),
        ..table("couples")
    }
}

/// Clients: a supplier's own records, read and written by its team in the active tenant;
/// archived (soft-deleted) by owners and admins. Couples do not read them (they hold the
/// supplier's notes).
fn clients() -> TablePolicy {
    use clients::Column as C;
    let supplier = col(C::SupplierId);
    let editable = vec![
        col(C::CoupleId),
        col(C::Name),
        col(C::Email),
        col(C::Phone),
        col(C::WeddingDate),
        col(C::Status),
        col(C::Notes),
    ];
    TablePolicy {
        soft_delete: Some(col(C::DeletedAt)),
        read: allow(team_of(supplier)),
        insert: insert(
            allow(Pred::all([Pred::ActiveTenant(supplier), team_of(supplier)])),
            editable.clone(),
            vec![(supplier, Preset::ActiveTenant)],
        ),
        update: update(allow(team_of(supplier)), Pred::Always, editable),
        delete: allow(admin_of(supplier)),
        ..table("clients")
    }
}

/// Connections: the couple's consent. Read by the couple and the supplier's team. A couple
/// connects itself as `active`; a supplier's owner or admin invites a couple as `pending`.
/// Only the couple changes the status (accept, revoke, re-activate); the supplier's admins
/// link it to one of their client records. Either side deletes it.
fn supplier_client_connections() -> TablePolicy {
    use supplier_client_connections::Column as C;
    let (supplier, couple) = (col(C::SupplierId), col(C::CoupleId));
    let supplier_admin = Pred::all([Pred::ActiveTenant(supplier), admin_of(supplier)]);
    TablePolicy {
        read: allow(Pred::any([couple_of(couple), team_of(supplier)])),
        insert: insert(
            allow(Pred::any([
                Pred::all([couple_of(couple), Pred::Eq(col(C::Status), text("active"))]),
                Pred::all([
                    supplier_admin.clone(),
                    Pred::Eq(col(C::Status), text("pending")),
                ]),
            ])),
            vec![supplier, couple, col(C::ClientId), col(C::Status)],
            vec![(col(C::InvitedBy), Preset::UserId)],
        ),
        update: Some(UpdateRule {
            using: allow(Pred::any([couple_of(couple), admin_of(supplier)])),
            check: Pred::Always,
            columns: vec![col(C::Status), col(C::ClientId)],
            presets: Vec::new(),
            column_checks: vec![
                (col(C::Status), couple_of(couple)),
                (col(C::ClientId), supplier_admin),
            ],
        }),
        delete: allow(Pred::any([couple_of(couple), admin_of(supplier)])),
        ..table("supplier_client_connections")
    }
}

/// Core fields: the master list, read by everyone signed in, written by the service role.
fn core_fields() -> TablePolicy {
    use core_fields::Column as C;
    let columns = vec![
        col(C::Key),
        col(C::Label),
        col(C::FieldType),
        col(C::Category),
        col(C::SortOrder),
    ];
    TablePolicy {
        read: allow(Pred::Authenticated),
        insert: insert(Access::Deny, columns.clone(), Vec::new()),
        update: update(Access::Deny, Pred::Always, columns),
        delete: Access::Deny,
        ..table("core_fields")
    }
}

/// Core field values: written by the couple; read by the couple and by the team of a
/// supplier whose connection with the couple is *active* — pending and revoked
/// connections show nothing. Never deleted but by the service role (a couple clears a
/// value with `not_applicable` or a null value), so the couple keeps reading its trail.
fn core_field_values() -> TablePolicy {
    use core_field_values::Column as C;
    let own = couple_of(col(C::CoupleId));
    TablePolicy {
        read: allow(Pred::any([
            own.clone(),
            connected_supplier_team(col(C::CoupleId), &["active"]),
        ])),
        insert: insert(
            allow(own.clone()),
            vec![
                col(C::CoupleId),
                col(C::CoreFieldId),
                col(C::Value),
                col(C::Status),
            ],
            Vec::new(),
        ),
        update: update(allow(own.clone()), own, vec![col(C::Value), col(C::Status)]),
        delete: Access::Deny,
        ..table("core_field_values")
    }
}

/// Forms: a supplier's templates. The team reads every form of its supplier; a couple reads
/// the published forms of a supplier it is actively connected to, and any form it has
/// answered. Owners and admins write them in the active tenant and archive (soft-delete)
/// them.
fn forms() -> TablePolicy {
    use form_responses::Column as R;
    use forms::Column as C;
    let supplier = col(C::SupplierId);
    let editable = vec![
        col(C::Title),
        col(C::Description),
        col(C::FormSchema),
        col(C::Status),
    ];
    TablePolicy {
        soft_delete: Some(col(C::DeletedAt)),
        read: allow(Pred::any([
            team_of(supplier),
            Pred::all([
                Pred::Eq(col(C::Status), text("published")),
                connected_couple(supplier, &["active"]),
            ]),
            Pred::exists(
                "form_responses",
                [(col(R::FormId), col(C::Id))],
                couple_of(col(R::CoupleId)),
            ),
        ])),
        insert: insert(
            allow(Pred::all([
                Pred::ActiveTenant(supplier),
                admin_of(supplier),
            ])),
            editable.clone(),
            vec![
                (supplier, Preset::ActiveTenant),
                (col(C::CreatedBy), Preset::UserId),
            ],
        ),
        update: update(allow(admin_of(supplier)), Pred::Always, editable),
        delete: allow(admin_of(supplier)),
        ..table("forms")
    }
}

/// Form responses: a couple's answers, written by the couple to a form it may read, and
/// editable while a draft. Read by the couple, and by the form's supplier team once
/// submitted (a draft is the couple's own). A submitted response stays readable by the
/// supplier after a revoke: the couple sent it to them.
fn form_responses() -> TablePolicy {
    use form_responses::Column as C;
    use forms::Column as F;
    let own = couple_of(col(C::CoupleId));
    let draft = Pred::Eq(col(C::Status), text("draft"));
    TablePolicy {
        read: allow(Pred::any([
            own.clone(),
            Pred::all([
                team_of(col(C::SupplierId)),
                Pred::Eq(col(C::Status), text("submitted")),
            ]),
        ])),
        insert: insert(
            allow(Pred::all([
                own.clone(),
                Pred::ReadableVia {
                    fk: col(C::FormId),
                    parent_key: col(F::Id),
                },
            ])),
            vec![
                col(C::FormId),
                col(C::CoupleId),
                col(C::Answers),
                col(C::Status),
            ],
            vec![(
                col(C::SupplierId),
                Preset::FromParent {
                    fk: col(C::FormId),
                    parent_key: col(F::Id),
                    source: col(F::SupplierId),
                },
            )],
        ),
        update: update(
            allow(Pred::all([own.clone(), draft.clone()])),
            own.clone(),
            vec![col(C::Answers), col(C::Status)],
        ),
        delete: allow(Pred::all([own, draft])),
        ..table("form_responses")
    }
}

/// Notifications: each user's own, written by the service role and the gateway's hooks;
/// the user marks them read and deletes them.
fn notifications() -> TablePolicy {
    use notifications::Column as C;
    let own = Pred::IsSelf(col(C::UserId));
    TablePolicy {
        read: allow(own.clone()),
        insert: insert(
            Access::Deny,
            vec![
                col(C::UserId),
                col(C::SupplierId),
                col(C::Kind),
                col(C::Title),
                col(C::Body),
                col(C::Data),
            ],
            Vec::new(),
        ),
        update: update(allow(own.clone()), Pred::Always, vec![col(C::ReadAt)]),
        delete: allow(own),
        ..table("notifications")
    }
}

/// Activities: append-only (no update, no delete, not even by the service role). Read by
/// whoever acted, the supplier's team and the couple they are about. A supplier's team
/// logs about its supplier, naming a couple only while connected (pending or active); a
/// couple logs about itself, naming a supplier only while connected.
fn activities() -> TablePolicy {
    use activities::Column as C;
    use supplier_client_connections::Column as S;
    let (supplier, couple) = (col(C::SupplierId), col(C::CoupleId));
    let connected = Pred::exists(
        "supplier_client_connections",
        [(col(S::SupplierId), supplier), (col(S::CoupleId), couple)],
        status_in(col(S::Status), &["pending", "active"]),
    );
    TablePolicy {
        read: allow(Pred::any([
            Pred::IsSelf(col(C::ActorId)),
            team_of(supplier),
            couple_of(couple),
        ])),
        insert: insert(
            allow(Pred::any([
                Pred::all([
                    team_of(supplier),
                    Pred::any([Pred::IsNull(couple), connected.clone()]),
                ]),
                Pred::all([
                    couple_of(couple),
                    Pred::any([Pred::IsNull(supplier), connected]),
                ]),
            ])),
            vec![
                supplier,
                couple,
                col(C::Action),
                col(C::EntityType),
                col(C::EntityId),
                col(C::Metadata),
            ],
            vec![(col(C::ActorId), Preset::UserId)],
        ),
        update: update(Access::Never, Pred::Always, Vec::new()),
        delete: Access::Never,
        ..table("activities")
    }
}

/// The audit trail: written by the gateway only, never changed. Read by whoever acted; by
/// the couple whose core field values a row tells of; by the owners and admins of the
/// supplier the audited row belongs to; and by the service role. The old and new values
/// show only while the reader may read the audited row itself (`copies`): a supplier whose
/// connection was revoked, say, no longer sees a couple's values in the trail.
fn audit_log() -> TablePolicy {
    use audit_log::Column as A;
    use core_field_values::Column as V;
    TablePolicy {
        read: allow(Pred::any([
            Pred::IsSelf(col(A::ActorId)),
            Pred::all([
                Pred::Eq(col(A::TableName), text("core_field_values")),
                Pred::exists(
                    "core_field_values",
                    [(col(V::Id), col(A::RowId))],
                    couple_of(col(V::CoupleId)),
                ),
            ]),
            admin_of(col(A::SupplierId)),
        ])),
        insert: insert(Access::Never, Vec::new(), Vec::new()),
        update: update(Access::Never, Pred::Always, Vec::new()),
        delete: Access::Never,
        copies: Some(CopiedValues {
            table: col(A::TableName),
            key: col(A::RowId),
            values: vec![col(A::OldValues), col(A::NewValues)],
        }),
        ..table("audit_log")
    }
}
