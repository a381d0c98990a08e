//! Demo data: two tenants and a handful of users covering every role and every policy
//! pattern of the reference schema. Ids are fixed, so tokens printed for one start keep
//! naming the same users after a restart.
//!
//! | user    | what they exercise                                                    |
//! |---------|-----------------------------------------------------------------------|
//! | alice   | owner of Acme (tenant admin), author of most Acme posts              |
//! | bob     | member of Acme; blocks heidi; member of the private Runners community |
//! | carol   | admin of Acme; moderator of Runners                                   |
//! | dave    | owner of Globex                                                       |
//! | frank   | member of Globex only                                                 |
//! | erin    | platform admin, member of no tenant                                   |
//! | mallory | platform moderator, member of Acme                                    |
//! | heidi   | member of Acme, blocked by bob                                        |
//! | gina    | a client connected to Acme (not a member), sharing her user_details  |

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, TransactionTrait,
    Value,
};
use serde_json::json;
use uuid::Uuid;

use rowgate::app::AppFuture;
use rowgate::{DemoAccount, DemoData};

use super::{Rows, minutes_before_epoch, null};

const fn demo_id(group: u128, n: u128) -> Uuid {
    Uuid::from_u128(0xdeadbeef_0000_4000_8000_000000000000 | (group << 16) | n)
}

/// Tenant Acme (subdomain `acme`).
pub const ACME: Uuid = demo_id(1, 1);
/// Tenant Globex (subdomain `globex`).
pub const GLOBEX: Uuid = demo_id(1, 2);
/// Owner of Acme.
pub const ALICE: Uuid = demo_id(2, 1);
/// Member of Acme; blocks heidi.
pub const BOB: Uuid = demo_id(2, 2);
/// Admin of Acme.
pub const CAROL: Uuid = demo_id(2, 3);
/// Owner of Globex.
pub const DAVE: Uuid = demo_id(2, 4);
/// Platform admin.
pub const ERIN: Uuid = demo_id(2, 5);
/// Member of Globex.
pub const FRANK: Uuid = demo_id(2, 6);
/// Client connected to Acme, not a member.
pub const GINA: Uuid = demo_id(2, 7);
/// Member of Acme, blocked by bob.
pub const HEIDI: Uuid = demo_id(2, 8);
/// Platform moderator, member of Acme.
pub const MALLORY: Uuid = demo_id(2, 9);

/// Private community of Acme.
pub const RUNNERS: Uuid = demo_id(3, 1);
/// Open community of Acme.
pub const GENERAL: Uuid = demo_id(3, 2);

/// Acme conversation between alice, bob and heidi.
pub const ACME_CHAT: Uuid = demo_id(6, 1);

/// The accounts `rowgate serve` prints tokens for on the embedded default (and GraphiQL
/// offers as "Act as").
pub fn token_accounts() -> [DemoAccount; 6] {
    let user = |label, user, tenant| DemoAccount {
        label,
        user: Some(user),
        tenant,
        role: "authenticated",
    };
    [
        user("member of Acme (bob)", BOB, Some(ACME)),
        user("tenant admin of Acme (alice, owner)", ALICE, Some(ACME)),
        user("member of Globex (frank)", FRANK, Some(GLOBEX)),
        user("platform admin (erin)", ERIN, None),
        user("client connected to Acme (gina)", GINA, None),
        DemoAccount {
            label: "service role",
            user: None,
            tenant: None,
            role: "service_role",
        },
    ]
}

/// The reference application's demo data, as the engine loads it.
#[derive(Debug, Clone, Copy)]
pub struct Demo;

impl DemoData for Demo {
    fn accounts(&self) -> Vec<DemoAccount> {
        token_accounts().to_vec()
    }

    fn is_empty<'a>(&'a self, db: &'a DatabaseConnection) -> AppFuture<'a, bool> {
        Box::pin(is_empty(db))
    }

    fn is_present<'a>(&'a self, db: &'a DatabaseConnection) -> AppFuture<'a, bool> {
        Box::pin(is_present(db))
    }

    fn seed<'a>(&'a self, db: &'a DatabaseConnection) -> AppFuture<'a, ()> {
        Box::pin(seed_demo(db))
    }

    fn seed_scale<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        n: u32,
    ) -> Option<AppFuture<'a, String>> {
        Some(Box::pin(async move {
            super::scale::seed_scale(db, n)
                .await
                .map(|report| report.to_string())
        }))
    }
}

/// Whether the database holds no profile at all (a fresh database to seed).
pub async fn is_empty(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    Ok(entities::profiles::Entity::find().count(db).await? == 0)
}

/// Whether the demo users are present (so their tokens are worth printing).
pub async fn is_present(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    Ok(entities::profiles::Entity::find_by_id(BOB)
        .one(db)
        .await?
        .is_some())
}

fn uuid(id: Uuid) -> Value {
    id.into()
}

fn text(s: &str) -> Value {
    s.to_owned().into()
}

fn at(minutes_ago: i64) -> Value {
    minutes_before_epoch(minutes_ago).into()
}

/// Loads the demo data in one transaction: either all of it lands or none.
pub async fn seed_demo(db: &DatabaseConnection) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    insert_identity(&txn).await?;
    insert_config(&txn).await?;
    insert_community(&txn).await?;
    insert_messaging(&txn).await?;
    insert_sharing(&txn).await?;
    soft_delete(&txn).await?;
    txn.commit().await
}

/// Marks [`SOFT_DELETED`] rows deleted.
async fn soft_delete(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    for (table, id) in SOFT_DELETED {
        let mut update = Query::update();
        update
            .table(Alias::new(table))
            .value(
                Alias::new("deleted_at"),
                Expr::val(minutes_before_epoch(100)),
            )
            .and_where(Expr::col(Alias::new("id")).eq(Expr::val(id)));
        db.execute(&update).await?;
    }
    Ok(())
}

async fn insert_identity(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    use entities::{profiles, tenant_members, tenants, user_roles, user_settings};

    let mut rows = Rows::<profiles::Entity>::new([
        profiles::Column::Id,
        profiles::Column::Email,
        profiles::Column::DisplayName,
        profiles::Column::AvatarUrl,
        profiles::Column::Bio,
        profiles::Column::CreatedAt,
        profiles::Column::UpdatedAt,
    ]);
    let people = [
        (ALICE, "alice", "Alice Owner", "Runs Acme."),
        (BOB, "bob", "Bob Member", "Trail runner."),
        (CAROL, "carol", "Carol Admin", "Keeps Acme tidy."),
        (DAVE, "dave", "Dave Owner", "Runs Globex."),
        (ERIN, "erin", "Erin Platform", "Platform administrator."),
        (FRANK, "frank", "Frank Member", "Globex engineer."),
        (GINA, "gina", "Gina Client", "Getting married in June."),
        (HEIDI, "heidi", "Heidi Member", "Posts a lot."),
        (
            MALLORY,
            "mallory",
            "Mallory Moderator",
            "Platform moderator.",
        ),
    ];
    for (i, (id, handle, name, bio)) in (0i64..).zip(people) {
        rows.push(vec![
            uuid(id),
            text(&format!("{handle}@example.com")),
            text(name),
            text(&format!("https://avatars.example.com/{handle}.png")),
            text(bio),
            at(10_000 - i),
            at(10_000 - i),
        ]);
    }
    rows.insert(db).await?;

    let mut rows = Rows::<tenants::Entity>::new([
        tenants::Column::Id,
        tenants::Column::Name,
        tenants::Column::Subdomain,
        tenants::Column::Tier,
        tenants::Column::Settings,
        tenants::Column::CreatedAt,
        tenants::Column::UpdatedAt,
    ]);
    rows.push(vec![
        uuid(ACME),
        text("Acme"),
        text("acme"),
        text("pro"),
        json!({"theme": "orange", "locale": "en"}).into(),
        at(9_000),
        at(9_000),
    ]);
    rows.push(vec![
        uuid(GLOBEX),
        text("Globex"),
        text("globex"),
        text("free"),
        json!({"theme": "blue"}).into(),
        at(8_999),
        at(8_999),
    ]);
    rows.insert(db).await?;

    let mut rows = Rows::<tenant_members::Entity>::new([
        tenant_members::Column::TenantId,
        tenant_members::Column::UserId,
        tenant_members::Column::Role,
        tenant_members::Column::CreatedAt,
        tenant_members::Column::UpdatedAt,
    ]);
    for (tenant, user, role) in [
        (ACME, ALICE, "owner"),
        (ACME, BOB, "member"),
        (ACME, CAROL, "admin"),
        (ACME, HEIDI, "member"),
        (ACME, MALLORY, "member"),
        (GLOBEX, DAVE, "owner"),
        (GLOBEX, FRANK, "member"),
    ] {
        rows.push(vec![
            uuid(tenant),
            uuid(user),
            text(role),
            at(8_000),
            at(8_000),
        ]);
    }
    rows.insert(db).await?;

    let mut rows = Rows::<user_roles::Entity>::new([
        user_roles::Column::UserId,
        user_roles::Column::Role,
        user_roles::Column::GrantedBy,
        user_roles::Column::CreatedAt,
        user_roles::Column::UpdatedAt,
    ]);
    rows.push(vec![
        uuid(ERIN),
        text("admin"),
        null::<Uuid>(),
        at(9_500),
        at(9_500),
    ]);
    rows.push(vec![
        uuid(MALLORY),
        text("moderator"),
        uuid(ERIN),
        at(9_400),
        at(9_400),
    ]);
    rows.insert(db).await?;

    let mut rows = Rows::<user_settings::Entity>::new([
        user_settings::Column::UserId,
        user_settings::Column::Preferences,
        user_settings::Column::CreatedAt,
        user_settings::Column::UpdatedAt,
    ]);
    rows.push(vec![
        uuid(BOB),
        json!({"theme": "dark", "emailDigest": "weekly"}).into(),
        at(7_000),
        at(7_000),
    ]);
    rows.push(vec![
        uuid(ALICE),
        json!({"theme": "light"}).into(),
        at(7_000),
        at(7_000),
    ]);
    rows.insert(db).await?;
    Ok(())
}

async fn insert_config(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    use entities::{feature_flags, system_config};

    let mut rows = Rows::<feature_flags::Entity>::new([
        feature_flags::Column::Id,
        feature_flags::Column::Key,
        feature_flags::Column::TenantId,
        feature_flags::Column::Enabled,
        feature_flags::Column::RolloutPercent,
        feature_flags::Column::Description,
        feature_flags::Column::CreatedAt,
        feature_flags::Column::UpdatedAt,
    ]);
    let flags = [
        (
            "new_editor",
            None,
            true,
            50i16,
            "The rich-text editor, rolled out to half of users.",
        ),
        (
            "new_editor",
            Some(ACME),
            true,
            100,
            "Acme opted every user in.",
        ),
        ("dark_mode", None, true, 100, "Dark theme."),
        (
            "beta_search",
            None,
            false,
            100,
            "Search v2, off by default.",
        ),
        (
            "beta_search",
            Some(GLOBEX),
            true,
            25,
            "Globex tries search v2 on a quarter of users.",
        ),
        ("realtime_feed", None, true, 100, "Live feed updates."),
    ];
    for (n, (key, tenant, enabled, rollout, description)) in (1u128..).zip(flags) {
        rows.push(vec![
            uuid(demo_id(9, n)),
            text(key),
            tenant.map_or_else(null::<Uuid>, uuid),
            enabled.into(),
            rollout.into(),
            text(description),
            at(6_000),
            at(6_000),
        ]);
    }
    rows.insert(db).await?;

    let mut rows = Rows::<system_config::Entity>::new([
        system_config::Column::Key,
        system_config::Column::Value,
        system_config::Column::IsPublic,
        system_config::Column::Description,
        system_config::Column::CreatedAt,
        system_config::Column::UpdatedAt,
    ]);
    let entries = [
        (
            "app.name",
            json!("rowgate demo"),
            true,
            "Product name shown in the header.",
        ),
        (
            "app.support_email",
            json!("support@example.com"),
            true,
            "Where users write to.",
        ),
        (
            "app.maintenance",
            json!({"enabled": false, "message": null}),
            true,
            "Maintenance banner.",
        ),
        (
            "limits.upload_mb",
            json!(25),
            false,
            "Upload limit for authenticated users.",
        ),
        (
            "billing.provider",
            json!({"name": "stripe", "mode": "test"}),
            false,
            "Billing integration.",
        ),
    ];
    for (key, value, public, description) in entries {
        rows.push(vec![
            text(key),
            value.into(),
            public.into(),
            text(description),
            at(6_000),
            at(6_000),
        ]);
    }
    rows.insert(db).await?;
    Ok(())
}

/// (id, tenant, community, author, title, status, visibility, minutes ago)
type DemoPost = (
    Uuid,
    Uuid,
    Option<Uuid>,
    Uuid,
    &'static str,
    &'static str,
    &'static str,
    i64,
);

const POSTS: [DemoPost; 13] = [
    (
        demo_id(4, 1),
        ACME,
        None,
        ALICE,
        "Welcome to Acme",
        "published",
        "public",
        5_000,
    ),
    (
        demo_id(4, 2),
        ACME,
        None,
        ALICE,
        "Q3 roadmap",
        "published",
        "tenant",
        4_900,
    ),
    (
        demo_id(4, 3),
        ACME,
        None,
        ALICE,
        "Reorg plans (draft)",
        "draft",
        "tenant",
        4_800,
    ),
    (
        demo_id(4, 4),
        ACME,
        None,
        ALICE,
        "Old announcement",
        "archived",
        "tenant",
        4_700,
    ),
    (
        demo_id(4, 5),
        ACME,
        Some(RUNNERS),
        BOB,
        "Saturday long run",
        "published",
        "community",
        4_600,
    ),
    (
        demo_id(4, 6),
        ACME,
        None,
        BOB,
        "Half-written thoughts",
        "draft",
        "tenant",
        4_500,
    ),
    (
        demo_id(4, 7),
        ACME,
        None,
        HEIDI,
        "Heidi's hot take",
        "published",
        "tenant",
        4_400,
    ),
    (
        demo_id(4, 8),
        ACME,
        Some(GENERAL),
        CAROL,
        "Office plants",
        "published",
        "community",
        4_300,
    ),
    (
        demo_id(4, 9),
        GLOBEX,
        None,
        DAVE,
        "Globex is hiring",
        "published",
        "public",
        4_200,
    ),
    (
        demo_id(4, 10),
        GLOBEX,
        None,
        DAVE,
        "Globex internal memo",
        "published",
        "tenant",
        4_100,
    ),
    (
        demo_id(4, 11),
        GLOBEX,
        None,
        FRANK,
        "Frank's draft",
        "draft",
        "tenant",
        4_000,
    ),
    (
        demo_id(4, 12),
        ACME,
        None,
        HEIDI,
        "Heidi's public note",
        "published",
        "public",
        3_900,
    ),
    (
        demo_id(4, 13),
        ACME,
        None,
        ALICE,
        "Withdrawn announcement",
        "published",
        "public",
        3_800,
    ),
];

/// Soft-deleted demo rows (table, id): no read returns them.
pub const SOFT_DELETED: [(&str, Uuid); 4] = [
    ("posts", demo_id(4, 13)),
    ("comments", demo_id(5, 7)),
    ("messages", demo_id(7, 5)),
    ("communities", demo_id(3, 3)),
];

async fn insert_community(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    use entities::{
        blocks, comments, communities, community_members, posts, reactions, user_follows,
    };

    let mut rows = Rows::<communities::Entity>::new([
        communities::Column::Id,
        communities::Column::TenantId,
        communities::Column::Name,
        communities::Column::Slug,
        communities::Column::Visibility,
        communities::Column::CreatedBy,
        communities::Column::CreatedAt,
        communities::Column::UpdatedAt,
    ]);
    rows.push(vec![
        uuid(RUNNERS),
        uuid(ACME),
        text("Runners"),
        text("runners"),
        text("private"),
        uuid(CAROL),
        at(5_500),
        at(5_500),
    ]);
    rows.push(vec![
        uuid(GENERAL),
        uuid(ACME),
        text("General"),
        text("general"),
        text("open"),
        uuid(ALICE),
        at(5_400),
        at(5_400),
    ]);
    rows.push(vec![
        uuid(demo_id(3, 3)),
        uuid(ACME),
        text("Closed club"),
        text("closed-club"),
        text("open"),
        uuid(ALICE),
        at(5_350),
        at(5_350),
    ]);
    rows.insert(db).await?;

    let mut rows = Rows::<community_members::Entity>::new([
        community_members::Column::CommunityId,
        community_members::Column::UserId,
        community_members::Column::Role,
        community_members::Column::CreatedAt,
        community_members::Column::UpdatedAt,
    ]);
    for (community, user, role) in [
        (RUNNERS, CAROL, "moderator"),
        (RUNNERS, BOB, "member"),
        (GENERAL, ALICE, "moderator"),
        (GENERAL, CAROL, "member"),
        (GENERAL, HEIDI, "member"),
    ] {
        rows.push(vec![
            uuid(community),
            uuid(user),
            text(role),
            at(5_300),
            at(5_300),
        ]);
    }
    rows.insert(db).await?;

    let mut rows = Rows::<posts::Entity>::new([
        posts::Column::Id,
        posts::Column::TenantId,
        posts::Column::CommunityId,
        posts::Column::AuthorId,
        posts::Column::Title,
        posts::Column::Body,
        posts::Column::Status,
        posts::Column::Visibility,
        posts::Column::Metadata,
        posts::Column::CreatedAt,
        posts::Column::UpdatedAt,
    ]);
    for (id, tenant, community, author, title, status, visibility, minutes) in POSTS {
        rows.push(vec![
            uuid(id),
            uuid(tenant),
            community.map_or_else(null::<Uuid>, uuid),
            uuid(author),
            text(title),
            text(&format!(
                "{title}: the body of this {status} {visibility} post."
            )),
            text(status),
            text(visibility),
            json!({"tags": [visibility, status], "readingMinutes": 2}).into(),
            at(minutes),
            at(minutes),
        ]);
    }
    rows.insert(db).await?;

    let mut rows = Rows::<comments::Entity>::new([
        comments::Column::Id,
        comments::Column::TenantId,
        comments::Column::PostId,
        comments::Column::ParentId,
        comments::Column::AuthorId,
        comments::Column::Body,
        comments::Column::CreatedAt,
        comments::Column::UpdatedAt,
    ]);
    let roadmap = POSTS[1].0;
    let comments = [
        (
            demo_id(5, 1),
            ACME,
            roadmap,
            None,
            BOB,
            "Looking forward to it!",
        ),
        (
            demo_id(5, 2),
            ACME,
            roadmap,
            Some(demo_id(5, 1)),
            ALICE,
            "Thanks Bob.",
        ),
        (
            demo_id(5, 3),
            ACME,
            roadmap,
            None,
            HEIDI,
            "What about the mobile app?",
        ),
        (
            demo_id(5, 4),
            ACME,
            POSTS[0].0,
            None,
            CAROL,
            "Welcome everyone.",
        ),
        (demo_id(5, 5), ACME, POSTS[4].0, None, CAROL, "Count me in."),
        (demo_id(5, 6), GLOBEX, POSTS[9].0, None, FRANK, "Noted."),
        (
            demo_id(5, 7),
            ACME,
            POSTS[0].0,
            None,
            BOB,
            "A comment bob deleted.",
        ),
    ];
    for (n, (id, tenant, post, parent, author, body)) in (0i64..).zip(comments) {
        rows.push(vec![
            uuid(id),
            uuid(tenant),
            uuid(post),
            parent.map_or_else(null::<Uuid>, uuid),
            uuid(author),
            text(body),
            at(3_000 - n),
            at(3_000 - n),
        ]);
    }
    rows.insert(db).await?;

    let mut rows = Rows::<reactions::Entity>::new([
        reactions::Column::PostId,
        reactions::Column::UserId,
        reactions::Column::Emoji,
        reactions::Column::TenantId,
        reactions::Column::CreatedAt,
        reactions::Column::UpdatedAt,
    ]);
    for (post, user, emoji, tenant) in [
        (roadmap, BOB, "👍", ACME),
        (roadmap, CAROL, "🎉", ACME),
        (POSTS[0].0, HEIDI, "❤️", ACME),
        (POSTS[9].0, FRANK, "👀", GLOBEX),
    ] {
        rows.push(vec![
            uuid(post),
            uuid(user),
            text(emoji),
            uuid(tenant),
            at(2_900),
            at(2_900),
        ]);
    }
    rows.insert(db).await?;

    let mut rows = Rows::<blocks::Entity>::new([
        blocks::Column::BlockerId,
        blocks::Column::BlockedId,
        blocks::Column::CreatedAt,
        blocks::Column::UpdatedAt,
    ]);
    rows.push(vec![uuid(BOB), uuid(HEIDI), at(2_800), at(2_800)]);
    rows.insert(db).await?;

    let mut rows = Rows::<user_follows::Entity>::new([
        user_follows::Column::FollowerId,
        user_follows::Column::FolloweeId,
        user_follows::Column::CreatedAt,
        user_follows::Column::UpdatedAt,
    ]);
    for (follower, followee) in [(BOB, ALICE), (CAROL, ALICE), (FRANK, DAVE), (GINA, ALICE)] {
        rows.push(vec![uuid(follower), uuid(followee), at(2_700), at(2_700)]);
    }
    rows.insert(db).await?;
    Ok(())
}

async fn insert_messaging(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    use entities::{conversation_participants, conversations, messages, notifications};

    let mut rows = Rows::<conversations::Entity>::new([
        conversations::Column::Id,
        conversations::Column::TenantId,
        conversations::Column::Title,
        conversations::Column::CreatedBy,
        conversations::Column::LastMessageAt,
        conversations::Column::CreatedAt,
        conversations::Column::UpdatedAt,
    ]);
    rows.push(vec![
        uuid(ACME_CHAT),
        uuid(ACME),
        text("Launch planning"),
        uuid(ALICE),
        at(1_000),
        at(2_000),
        at(1_000),
    ]);
    rows.insert(db).await?;

    let mut rows = Rows::<conversation_participants::Entity>::new([
        conversation_participants::Column::ConversationId,
        conversation_participants::Column::UserId,
        conversation_participants::Column::LastReadAt,
        conversation_participants::Column::CreatedAt,
        conversation_participants::Column::UpdatedAt,
    ]);
    rows.push(vec![
        uuid(ACME_CHAT),
        uuid(ALICE),
        at(1_000),
        at(2_000),
        at(2_000),
    ]);
    rows.push(vec![
        uuid(ACME_CHAT),
        uuid(BOB),
        at(1_500),
        at(2_000),
        at(2_000),
    ]);
    rows.push(vec![
        uuid(ACME_CHAT),
        uuid(HEIDI),
        null::<sea_orm::prelude::DateTimeWithTimeZone>(),
        at(2_000),
        at(2_000),
    ]);
    rows.insert(db).await?;

    let mut rows = Rows::<messages::Entity>::new([
        messages::Column::Id,
        messages::Column::TenantId,
        messages::Column::ConversationId,
        messages::Column::SenderId,
        messages::Column::Body,
        messages::Column::CreatedAt,
        messages::Column::UpdatedAt,
    ]);
    for (n, (sender, body, minutes)) in (1u128..).zip([
        (ALICE, "Kick-off on Monday?", 1_900),
        (BOB, "Works for me.", 1_800),
        (HEIDI, "I'll bring the slides.", 1_700),
        (ALICE, "Great, see you then.", 1_000),
        (BOB, "A message bob deleted.", 990),
    ]) {
        rows.push(vec![
            uuid(demo_id(7, n)),
            uuid(ACME),
            uuid(ACME_CHAT),
            uuid(sender),
            text(body),
            at(minutes),
            at(minutes),
        ]);
    }
    rows.insert(db).await?;

    let mut rows = Rows::<notifications::Entity>::new([
        notifications::Column::Id,
        notifications::Column::TenantId,
        notifications::Column::UserId,
        notifications::Column::Kind,
        notifications::Column::Title,
        notifications::Column::Body,
        notifications::Column::Data,
        notifications::Column::ReadAt,
        notifications::Column::CreatedAt,
        notifications::Column::UpdatedAt,
    ]);
    let notes = [
        (ALICE, "comment", "Bob commented on Q3 roadmap", Some(2_990)),
        (ALICE, "comment", "Heidi commented on Q3 roadmap", None),
        (BOB, "message", "New message from Alice", None),
        (HEIDI, "message", "New message from Alice", None),
        (
            BOB,
            "mention",
            "Carol mentioned you in Runners",
            Some(2_000),
        ),
        (
            DAVE,
            "comment",
            "Frank commented on Globex internal memo",
            None,
        ),
    ];
    for (n, (user, kind, title, read)) in (1u128..).zip(notes) {
        rows.push(vec![
            uuid(demo_id(8, n)),
            uuid(if user == DAVE { GLOBEX } else { ACME }),
            uuid(user),
            text(kind),
            text(title),
            text(&format!("{title}.")),
            json!({"demo": true}).into(),
            read.map_or_else(null::<sea_orm::prelude::DateTimeWithTimeZone>, at),
            at(2_990),
            at(2_990),
        ]);
    }
    rows.insert(db).await?;
    Ok(())
}

async fn insert_sharing(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    use entities::{analytics_events, connections, user_details};

    let mut rows = Rows::<connections::Entity>::new([
        connections::Column::TenantId,
        connections::Column::UserId,
        connections::Column::Status,
        connections::Column::InitiatedBy,
        connections::Column::CreatedAt,
        connections::Column::UpdatedAt,
    ]);
    rows.push(vec![
        uuid(ACME),
        uuid(GINA),
        text("active"),
        uuid(GINA),
        at(900),
        at(900),
    ]);
    rows.push(vec![
        uuid(GLOBEX),
        uuid(GINA),
        text("pending"),
        uuid(DAVE),
        at(800),
        at(800),
    ]);
    rows.insert(db).await?;

    let mut rows = Rows::<user_details::Entity>::new([
        user_details::Column::UserId,
        user_details::Column::Data,
        user_details::Column::CreatedAt,
        user_details::Column::UpdatedAt,
    ]);
    rows.push(vec![
        uuid(GINA),
        json!({"weddingDate": "2027-06-12", "venue": "Lakeside Barn", "guests": 120}).into(),
        at(900),
        at(900),
    ]);
    rows.insert(db).await?;

    let mut rows = Rows::<analytics_events::Entity>::new([
        analytics_events::Column::Id,
        analytics_events::Column::TenantId,
        analytics_events::Column::UserId,
        analytics_events::Column::Name,
        analytics_events::Column::Properties,
        analytics_events::Column::CreatedAt,
        analytics_events::Column::UpdatedAt,
    ]);
    for (n, (tenant, user, name)) in (1u128..).zip([
        (ACME, BOB, "post_viewed"),
        (ACME, CAROL, "post_viewed"),
        (GLOBEX, FRANK, "search"),
    ]) {
        rows.push(vec![
            uuid(demo_id(10, n)),
            uuid(tenant),
            uuid(user),
            text(name),
            json!({"source": "demo"}).into(),
            at(500),
            at(500),
        ]);
    }
    rows.insert(db).await?;
    Ok(())
}
