//! The demo data `cargo run -p dating` serves, and the policy matrix runs over: five daters,
//! a moderator and an admin.
//!
//! - Alice and Bob are matched, and have written to each other.
//! - Carol and Dave were matched (and wrote to each other), then Carol blocked Dave: the
//!   match is still `active`, but the block hides each from the other in both directions.
//! - Erin is not matched with anyone and has hidden her profile; she and Bob each hold a
//!   pending offer of the other (accepting both makes a match).
//! - Mia is a moderator, Adam an admin; neither has a dating profile.
//! - Alice is in the segments `premium` and `beta`, Bob in `beta`: their effective
//!   configuration differs from the base.

use rowgate::app::AppFuture;
use rowgate::{DemoAccount, DemoData};
use sea_orm::prelude::DateTimeWithTimeZone;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, PaginatorTrait};
use serde_json::json;
use uuid::Uuid;

use crate::entities::{
    admin_users, blocks, data_deletion_requests, data_export_requests, enforcement_actions,
    feature_flags, match_offers, matches, messages, moderation_queue, photos, profiles, reports,
    segment_config_overrides, system_config, user_segment_members, user_segments, users,
};

const fn demo_id(n: u128) -> Uuid {
    Uuid::from_u128(0xda7e_0000_0000_4000_8000_0000_0000_0000 | n)
}

/// Alice: matched with Bob; in the segments `premium` and `beta`.
pub const ALICE: Uuid = demo_id(0x1);
/// Bob: Alice's match; in the segment `beta`.
pub const BOB: Uuid = demo_id(0x2);
/// Carol: matched with Dave, whom she has blocked.
pub const CAROL: Uuid = demo_id(0x3);
/// Dave: blocked by Carol, his match.
pub const DAVE: Uuid = demo_id(0x4);
/// Erin: unmatched, her profile hidden.
pub const ERIN: Uuid = demo_id(0x5);
/// Mia: a moderator.
pub const MIA: Uuid = demo_id(0x6);
/// Adam: an admin.
pub const ADAM: Uuid = demo_id(0x7);

/// Alice's approved photo.
pub const PHOTO_ALICE: Uuid = demo_id(0x101);
/// Alice's photo still waiting for moderation.
pub const PHOTO_ALICE_PENDING: Uuid = demo_id(0x102);
/// Bob's photo.
pub const PHOTO_BOB: Uuid = demo_id(0x103);
/// Carol's photo.
pub const PHOTO_CAROL: Uuid = demo_id(0x104);
/// Dave's photo.
pub const PHOTO_DAVE: Uuid = demo_id(0x105);
/// Erin's photo.
pub const PHOTO_ERIN: Uuid = demo_id(0x106);

/// The match of Alice (`user1_id`) and Bob.
pub const MATCH_ALICE_BOB: Uuid = demo_id(0x201);
/// The match of Carol (`user1_id`) and Dave, still active, behind Carol's block.
pub const MATCH_CAROL_DAVE: Uuid = demo_id(0x202);

/// Alice to Bob.
pub const MSG_ALICE_TO_BOB: Uuid = demo_id(0x301);
/// Bob to Alice.
pub const MSG_BOB_TO_ALICE: Uuid = demo_id(0x302);
/// Carol to Dave (before the block).
pub const MSG_CAROL_TO_DAVE: Uuid = demo_id(0x303);
/// Dave to Carol (what she reported).
pub const MSG_DAVE_TO_CAROL: Uuid = demo_id(0x304);

/// Erin's pending offer of Bob.
pub const OFFER_ERIN_BOB: Uuid = demo_id(0x401);
/// Bob's pending offer of Erin.
pub const OFFER_BOB_ERIN: Uuid = demo_id(0x402);
/// Dave's pending offer of Carol (hidden from him by her block).
pub const OFFER_DAVE_CAROL: Uuid = demo_id(0x403);
/// Alice's declined offer of Dave.
pub const OFFER_ALICE_DAVE: Uuid = demo_id(0x404);

/// Carol's block of Dave.
pub const BLOCK_CAROL_DAVE: Uuid = demo_id(0x501);

/// Carol's report of Dave's message.
pub const REPORT_CAROL_DAVE: Uuid = demo_id(0x601);
/// The moderation queue's item for Carol's report, assigned to Mia.
pub const QUEUE_CAROL_DAVE: Uuid = demo_id(0x701);
/// Mia's warning to Dave.
pub const WARNING_DAVE: Uuid = demo_id(0x801);

/// The segment `premium`.
pub const SEGMENT_PREMIUM: Uuid = demo_id(0x901);
/// The segment `beta`.
pub const SEGMENT_BETA: Uuid = demo_id(0x902);
/// Alice in `premium`.
pub const MEMBER_ALICE_PREMIUM: Uuid = demo_id(0x911);
/// Alice in `beta`.
pub const MEMBER_ALICE_BETA: Uuid = demo_id(0x912);
/// Bob in `beta`.
pub const MEMBER_BOB_BETA: Uuid = demo_id(0x913);
/// `premium`: `max_daily_likes` = 1000, priority 10.
pub const OVERRIDE_PREMIUM_LIKES: Uuid = demo_id(0x921);
/// `beta`: `max_daily_likes` = 50, priority 1.
pub const OVERRIDE_BETA_LIKES: Uuid = demo_id(0x922);
/// `beta`: `chat_ui` = "threads", priority 1.
pub const OVERRIDE_BETA_CHAT_UI: Uuid = demo_id(0x923);

/// The feature flag `video_chat`.
pub const FLAG_VIDEO_CHAT: Uuid = demo_id(0xa01);
/// The feature flag `icebreakers`.
pub const FLAG_ICEBREAKERS: Uuid = demo_id(0xa02);

/// Mia's staff row (moderator).
pub const STAFF_MIA: Uuid = demo_id(0xb01);
/// Adam's staff row (admin).
pub const STAFF_ADAM: Uuid = demo_id(0xb02);

/// Alice's pending data export.
pub const EXPORT_ALICE: Uuid = demo_id(0xc01);
/// Dave's pending account deletion.
pub const DELETION_DAVE: Uuid = demo_id(0xc02);

/// The base configuration: `(key, value, public)`.
pub const SYSTEM_CONFIG: [(&str, &str, bool); 4] = [
    ("max_daily_likes", "100", false),
    ("chat_ui", "\"classic\"", false),
    ("min_age", "18", true),
    ("support_email", "\"help@dating.example\"", true),
];

/// The demo data.
#[derive(Debug, Clone, Copy)]
pub struct Demo;

fn now() -> DateTimeWithTimeZone {
    chrono::Utc::now().fixed_offset()
}

/// `now` minus `minutes`, so the demo's rows have an order.
fn ago(minutes: i64) -> DateTimeWithTimeZone {
    now() - chrono::Duration::minutes(minutes)
}

impl DemoData for Demo {
    fn accounts(&self) -> Vec<DemoAccount> {
        let user = |label, id| DemoAccount {
            label,
            user: Some(id),
            tenant: None,
            role: "authenticated",
        };
        vec![
            user("alice (matched with bob; premium, beta)", ALICE),
            user("bob (alice's match)", BOB),
            user("carol (blocked dave, her match)", CAROL),
            user("dave (blocked by carol)", DAVE),
            user("erin (unmatched, hidden profile)", ERIN),
            user("mia (moderator)", MIA),
            user("adam (admin)", ADAM),
            DemoAccount {
                label: "service role",
                user: None,
                tenant: None,
                role: "service_role",
            },
        ]
    }

    fn is_empty<'a>(&'a self, db: &'a DatabaseConnection) -> AppFuture<'a, bool> {
        Box::pin(async move { Ok(users::Entity::find().count(db).await? == 0) })
    }

    fn is_present<'a>(&'a self, db: &'a DatabaseConnection) -> AppFuture<'a, bool> {
        Box::pin(async move { Ok(users::Entity::find_by_id(ALICE).one(db).await?.is_some()) })
    }

    fn seed<'a>(&'a self, db: &'a DatabaseConnection) -> AppFuture<'a, ()> {
        Box::pin(seed(db))
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "the demo data reads best as one list per table"
)]
async fn seed(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    let t = now();
    let user = |id, email: &str| users::ActiveModel {
        id: Set(id),
        email: Set(email.to_owned()),
        phone: Set(Some(format!("+1555000{:04}", id.as_u128() & 0xffff))),
        status: Set("active".to_owned()),
        last_active_at: Set(Some(t)),
        created_at: Set(t),
        updated_at: Set(t),
    };
    users::Entity::insert_many([
        user(ALICE, "alice@dating.example"),
        user(BOB, "bob@dating.example"),
        user(CAROL, "carol@dating.example"),
        user(DAVE, "dave@dating.example"),
        user(ERIN, "erin@dating.example"),
        user(MIA, "mia@dating.example"),
        user(ADAM, "adam@dating.example"),
    ])
    .exec(db)
    .await?;

    let profile = |id, name: &str, city: &str, born: &str, visible| profiles::ActiveModel {
        user_id: Set(id),
        display_name: Set(name.to_owned()),
        bio: Set(Some(format!("Hi, I'm {name}."))),
        birth_date: Set(chrono::NaiveDate::parse_from_str(born, "%Y-%m-%d").ok()),
        gender: Set(None),
        seeking: Set(None),
        city: Set(Some(city.to_owned())),
        is_visible: Set(visible),
        created_at: Set(t),
        updated_at: Set(t),
    };
    profiles::Entity::insert_many([
        profile(ALICE, "Alice", "Lisbon", "1994-03-02", true),
        profile(BOB, "Bob", "Lisbon", "1992-07-19", true),
        profile(CAROL, "Carol", "Porto", "1990-11-05", true),
        profile(DAVE, "Dave", "Porto", "1989-01-30", true),
        profile(ERIN, "Erin", "Faro", "1996-05-12", false),
    ])
    .exec(db)
    .await?;

    let photo = |id, owner, position, status: &str| photos::ActiveModel {
        id: Set(id),
        user_id: Set(owner),
        url: Set(format!("https://img.dating.example/{id}.jpg")),
        position: Set(position),
        moderation_status: Set(status.to_owned()),
        created_at: Set(t),
        updated_at: Set(t),
    };
    photos::Entity::insert_many([
        photo(PHOTO_ALICE, ALICE, 0, "approved"),
        photo(PHOTO_ALICE_PENDING, ALICE, 1, "pending"),
        photo(PHOTO_BOB, BOB, 0, "approved"),
        photo(PHOTO_CAROL, CAROL, 0, "approved"),
        photo(PHOTO_DAVE, DAVE, 0, "approved"),
        photo(PHOTO_ERIN, ERIN, 0, "approved"),
    ])
    .exec(db)
    .await?;

    let offer = |id, to, candidate, status: &str, score| match_offers::ActiveModel {
        id: Set(id),
        user_id: Set(to),
        candidate_id: Set(candidate),
        score: Set(Some(score)),
        status: Set(status.to_owned()),
        expires_at: Set(Some(t + chrono::Duration::days(7))),
        responded_at: Set((status != "pending").then_some(t)),
        created_at: Set(ago(60)),
        updated_at: Set(t),
    };
    match_offers::Entity::insert_many([
        offer(OFFER_ERIN_BOB, ERIN, BOB, "pending", 0.82),
        offer(OFFER_BOB_ERIN, BOB, ERIN, "pending", 0.82),
        offer(OFFER_DAVE_CAROL, DAVE, CAROL, "pending", 0.4),
        offer(OFFER_ALICE_DAVE, ALICE, DAVE, "declined", 0.35),
    ])
    .exec(db)
    .await?;

    let a_match = |id, first, second| matches::ActiveModel {
        id: Set(id),
        user1_id: Set(first),
        user2_id: Set(second),
        status: Set("active".to_owned()),
        unmatched_by: Set(None),
        unmatched_at: Set(None),
        created_at: Set(ago(50)),
        updated_at: Set(ago(50)),
    };
    matches::Entity::insert_many([
        a_match(MATCH_ALICE_BOB, ALICE, BOB),
        a_match(MATCH_CAROL_DAVE, CAROL, DAVE),
    ])
    .exec(db)
    .await?;

    let message = |id, in_match, from, to, body: &str, minutes| messages::ActiveModel {
        id: Set(id),
        match_id: Set(in_match),
        sender_id: Set(from),
        recipient_id: Set(to),
        body: Set(body.to_owned()),
        read_at: Set(None),
        created_at: Set(ago(minutes)),
        updated_at: Set(ago(minutes)),
    };
    messages::Entity::insert_many([
        message(
            MSG_ALICE_TO_BOB,
            MATCH_ALICE_BOB,
            ALICE,
            BOB,
            "Coffee on Saturday?",
            40,
        ),
        message(MSG_BOB_TO_ALICE, MATCH_ALICE_BOB, BOB, ALICE, "Gladly!", 39),
        message(
            MSG_CAROL_TO_DAVE,
            MATCH_CAROL_DAVE,
            CAROL,
            DAVE,
            "Hello Dave",
            30,
        ),
        message(
            MSG_DAVE_TO_CAROL,
            MATCH_CAROL_DAVE,
            DAVE,
            CAROL,
            "Answer me. Now.",
            29,
        ),
    ])
    .exec(db)
    .await?;

    blocks::Entity::insert(blocks::ActiveModel {
        id: Set(BLOCK_CAROL_DAVE),
        blocker_id: Set(CAROL),
        blocked_id: Set(DAVE),
        reason: Set(Some("harassment".to_owned())),
        created_at: Set(ago(20)),
        updated_at: Set(ago(20)),
    })
    .exec(db)
    .await?;

    reports::Entity::insert(reports::ActiveModel {
        id: Set(REPORT_CAROL_DAVE),
        reporter_id: Set(CAROL),
        reported_user_id: Set(DAVE),
        reason: Set("harassment".to_owned()),
        details: Set(Some("He keeps pressuring me.".to_owned())),
        message_id: Set(Some(MSG_DAVE_TO_CAROL)),
        photo_id: Set(None),
        status: Set("reviewing".to_owned()),
        created_at: Set(ago(19)),
        updated_at: Set(ago(19)),
    })
    .exec(db)
    .await?;
    moderation_queue::Entity::insert(moderation_queue::ActiveModel {
        id: Set(QUEUE_CAROL_DAVE),
        report_id: Set(Some(REPORT_CAROL_DAVE)),
        subject_user_id: Set(DAVE),
        content_type: Set("message".to_owned()),
        content_id: Set(Some(MSG_DAVE_TO_CAROL)),
        priority: Set(5),
        status: Set("in_review".to_owned()),
        assigned_to: Set(Some(MIA)),
        resolution: Set(Some("warned the sender".to_owned())),
        created_at: Set(ago(19)),
        updated_at: Set(ago(10)),
    })
    .exec(db)
    .await?;
    enforcement_actions::Entity::insert(enforcement_actions::ActiveModel {
        id: Set(WARNING_DAVE),
        subject_user_id: Set(DAVE),
        action: Set("warning".to_owned()),
        reason: Set("Harassing messages".to_owned()),
        report_id: Set(Some(REPORT_CAROL_DAVE)),
        issued_by: Set(MIA),
        expires_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(ago(10)),
        updated_at: Set(ago(10)),
    })
    .exec(db)
    .await?;

    system_config::Entity::insert_many(SYSTEM_CONFIG.map(|(key, value, public)| {
        system_config::ActiveModel {
            key: Set(key.to_owned()),
            value: Set(serde_json::from_str(value).unwrap_or(json!(null))),
            is_public: Set(public),
            description: Set(None),
            created_at: Set(t),
            updated_at: Set(t),
        }
    }))
    .exec(db)
    .await?;

    let flag = |id, key: &str, enabled, percent| feature_flags::ActiveModel {
        id: Set(id),
        key: Set(key.to_owned()),
        enabled: Set(enabled),
        rollout_percent: Set(percent),
        description: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
    };
    feature_flags::Entity::insert_many([
        flag(FLAG_VIDEO_CHAT, "video_chat", true, 50),
        flag(FLAG_ICEBREAKERS, "icebreakers", false, 100),
    ])
    .exec(db)
    .await?;

    let segment = |id, key: &str, name: &str| user_segments::ActiveModel {
        id: Set(id),
        key: Set(key.to_owned()),
        name: Set(name.to_owned()),
        description: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
    };
    user_segments::Entity::insert_many([
        segment(SEGMENT_PREMIUM, "premium", "Premium subscribers"),
        segment(SEGMENT_BETA, "beta", "Beta testers"),
    ])
    .exec(db)
    .await?;
    let member = |id, segment, user| user_segment_members::ActiveModel {
        id: Set(id),
        segment_id: Set(segment),
        user_id: Set(user),
        created_at: Set(t),
        updated_at: Set(t),
    };
    user_segment_members::Entity::insert_many([
        member(MEMBER_ALICE_PREMIUM, SEGMENT_PREMIUM, ALICE),
        member(MEMBER_ALICE_BETA, SEGMENT_BETA, ALICE),
        member(MEMBER_BOB_BETA, SEGMENT_BETA, BOB),
    ])
    .exec(db)
    .await?;
    let over = |id, segment, key: &str, value, priority| segment_config_overrides::ActiveModel {
        id: Set(id),
        segment_id: Set(segment),
        key: Set(key.to_owned()),
        value: Set(value),
        priority: Set(priority),
        created_at: Set(t),
        updated_at: Set(t),
    };
    segment_config_overrides::Entity::insert_many([
        over(
            OVERRIDE_PREMIUM_LIKES,
            SEGMENT_PREMIUM,
            "max_daily_likes",
            json!(1000),
            10,
        ),
        over(
            OVERRIDE_BETA_LIKES,
            SEGMENT_BETA,
            "max_daily_likes",
            json!(50),
            1,
        ),
        over(
            OVERRIDE_BETA_CHAT_UI,
            SEGMENT_BETA,
            "chat_ui",
            json!("threads"),
            1,
        ),
    ])
    .exec(db)
    .await?;

    let staff = |id, user, role: &str| admin_users::ActiveModel {
        id: Set(id),
        user_id: Set(user),
        role: Set(role.to_owned()),
        is_active: Set(true),
        created_at: Set(t),
        updated_at: Set(t),
    };
    admin_users::Entity::insert_many([
        staff(STAFF_MIA, MIA, "moderator"),
        staff(STAFF_ADAM, ADAM, "admin"),
    ])
    .exec(db)
    .await?;

    data_export_requests::Entity::insert(data_export_requests::ActiveModel {
        id: Set(EXPORT_ALICE),
        user_id: Set(ALICE),
        status: Set("pending".to_owned()),
        format: Set("json".to_owned()),
        download_url: Set(None),
        completed_at: Set(None),
        created_at: Set(ago(5)),
        updated_at: Set(ago(5)),
    })
    .exec(db)
    .await?;
    data_deletion_requests::Entity::insert(data_deletion_requests::ActiveModel {
        id: Set(DELETION_DAVE),
        user_id: Set(DAVE),
        status: Set("pending".to_owned()),
        reason: Set(Some("Taking a break".to_owned())),
        scheduled_for: Set(Some(t + chrono::Duration::days(30))),
        completed_at: Set(None),
        created_at: Set(ago(5)),
        updated_at: Set(ago(5)),
    })
    .exec(db)
    .await?;
    Ok(())
}
