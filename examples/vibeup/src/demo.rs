//! The demo data `cargo run -p vibeup` serves on the embedded SQLite default, with a token
//! for each kind of principal; the policy matrix and the end-to-end tests name its rows by
//! these constants.
//!
//! - ada: an administrator (`admin_users`), in no community.
//! - maya: owns the private community Morning Light, member of the public Breathwork;
//!   connected with noah (both accepted); omar asked her to connect, she has not accepted.
//! - noah: owns Breathwork; connected with maya.
//! - omar: in no community; his request to maya is accepted on his side only.
//! - priya: member of Morning Light; no connections.

use rowgate::app::AppFuture;
use rowgate::{DemoAccount, DemoData};
use sea_orm::ActiveValue::Set;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use serde_json::json;
use uuid::Uuid;

use crate::entities::{
    admin_users, ai_daily_budgets, ai_model_configs, ai_provider_credentials, communities,
    community_members, connections, feature_flags, messages, notifications, practice_logs,
    practice_streaks, practices, profiles, vibe_comments, vibe_reactions, vibes,
};

const fn demo_id(n: u128) -> Uuid {
    Uuid::from_u128(0x71be_0000_0000_4000_8000_0000_0000_0000 | n)
}

/// Ada, the administrator.
pub const ADA: Uuid = demo_id(1);
/// Maya: owner of Morning Light, member of Breathwork, connected with noah.
pub const MAYA: Uuid = demo_id(2);
/// Noah: owner of Breathwork, connected with maya.
pub const NOAH: Uuid = demo_id(3);
/// Omar: in no community; his connection request to maya is pending on her side.
pub const OMAR: Uuid = demo_id(4);
/// Priya: member of Morning Light, with no connections.
pub const PRIYA: Uuid = demo_id(5);

/// The private community Morning Light (maya owns it, priya is a member).
pub const MORNING_LIGHT: Uuid = demo_id(0x101);
/// The public community Breathwork (noah owns it, maya is a member).
pub const BREATHWORK: Uuid = demo_id(0x102);

/// Maya's membership (owner) of Morning Light.
pub const MEMBER_MAYA_MORNING: Uuid = demo_id(0x111);
/// Priya's membership of Morning Light.
pub const MEMBER_PRIYA_MORNING: Uuid = demo_id(0x112);
/// Noah's membership (owner) of Breathwork.
pub const MEMBER_NOAH_BREATHWORK: Uuid = demo_id(0x113);
/// Maya's membership of Breathwork.
pub const MEMBER_MAYA_BREATHWORK: Uuid = demo_id(0x114);

/// Maya's vibe in Morning Light.
pub const VIBE_MAYA_MORNING: Uuid = demo_id(0x201);
/// Priya's vibe in Morning Light.
pub const VIBE_PRIYA_MORNING: Uuid = demo_id(0x202);
/// Noah's vibe in Breathwork.
pub const VIBE_NOAH_BREATHWORK: Uuid = demo_id(0x203);
/// Maya's vibe in Breathwork.
pub const VIBE_MAYA_BREATHWORK: Uuid = demo_id(0x204);

/// Priya's hug on maya's Morning Light vibe.
pub const REACTION_PRIYA: Uuid = demo_id(0x211);
/// Maya's heart on noah's Breathwork vibe.
pub const REACTION_MAYA: Uuid = demo_id(0x212);
/// Priya's comment on maya's Morning Light vibe.
pub const COMMENT_PRIYA: Uuid = demo_id(0x221);
/// Maya's comment on noah's Breathwork vibe.
pub const COMMENT_MAYA: Uuid = demo_id(0x222);

/// Maya asked noah; both accepted.
pub const CONNECTION_MAYA_NOAH: Uuid = demo_id(0x301);
/// Omar asked maya; only omar's side accepted.
pub const CONNECTION_OMAR_MAYA: Uuid = demo_id(0x302);
/// Maya to noah.
pub const MESSAGE_MAYA_TO_NOAH: Uuid = demo_id(0x311);
/// Noah to maya.
pub const MESSAGE_NOAH_TO_MAYA: Uuid = demo_id(0x312);
/// Noah's notification of maya's message.
pub const NOTIFICATION_NOAH: Uuid = demo_id(0x321);
/// Maya's notification of omar's request.
pub const NOTIFICATION_MAYA: Uuid = demo_id(0x322);

/// Maya's public practice.
pub const PRACTICE_MAYA_PUBLIC: Uuid = demo_id(0x401);
/// Maya's private practice.
pub const PRACTICE_MAYA_PRIVATE: Uuid = demo_id(0x402);
/// Noah's private practice.
pub const PRACTICE_NOAH_PRIVATE: Uuid = demo_id(0x403);
/// Maya's first log of her public practice.
pub const LOG_MAYA_1: Uuid = demo_id(0x411);
/// Maya's second log of her public practice, the day after.
pub const LOG_MAYA_2: Uuid = demo_id(0x412);
/// Noah's log of his practice.
pub const LOG_NOAH: Uuid = demo_id(0x413);
/// The streak of maya's public practice.
pub const STREAK_MAYA_PUBLIC: Uuid = demo_id(0x421);
/// The streak of noah's practice.
pub const STREAK_NOAH: Uuid = demo_id(0x422);

/// Ada's `admin_users` row.
pub const ADMIN_ADA: Uuid = demo_id(0x501);
/// The flag `mira_chat` (on).
pub const FLAG_MIRA_CHAT: Uuid = demo_id(0x511);
/// The flag `vibe_circles` (off).
pub const FLAG_VIBE_CIRCLES: Uuid = demo_id(0x512);

/// The OpenAI credential.
pub const CREDENTIAL_OPENAI: Uuid = demo_id(0x601);
/// The Anthropic credential.
pub const CREDENTIAL_ANTHROPIC: Uuid = demo_id(0x602);
/// The demo OpenAI key (no one but the service role reads it).
pub const OPENAI_KEY: &str = "sk-demo-openai-0000-never-readable";
/// The demo Anthropic key.
pub const ANTHROPIC_KEY: &str = "sk-demo-anthropic-0000-never-readable";
/// The model configuration `mira.chat` (enabled).
pub const CONFIG_MIRA_CHAT: Uuid = demo_id(0x611);
/// The model configuration `mira.insights` (disabled).
pub const CONFIG_MIRA_INSIGHTS: Uuid = demo_id(0x612);
/// Today's budget of `mira.chat`.
pub const BUDGET_MIRA_CHAT: Uuid = demo_id(0x621);

/// The demo data.
#[derive(Debug, Clone, Copy)]
pub struct Demo;

impl DemoData for Demo {
    fn accounts(&self) -> Vec<DemoAccount> {
        let user = |label, id| DemoAccount {
            label,
            user: Some(id),
            tenant: None,
            role: "authenticated",
        };
        vec![
            user("ada (administrator)", ADA),
            user(
                "maya (owns Morning Light, member of Breathwork, connected with noah)",
                MAYA,
            ),
            user("noah (owns Breathwork, connected with maya)", NOAH),
            user(
                "omar (in no community; asked maya to connect, not accepted yet)",
                OMAR,
            ),
            user("priya (member of Morning Light, no connections)", PRIYA),
            DemoAccount {
                label: "service role (reads everything, api keys included)",
                user: None,
                tenant: None,
                role: "service_role",
            },
        ]
    }

    fn is_empty<'a>(&'a self, db: &'a DatabaseConnection) -> AppFuture<'a, bool> {
        Box::pin(async move { Ok(profiles::Entity::find().count(db).await? == 0) })
    }

    fn is_present<'a>(&'a self, db: &'a DatabaseConnection) -> AppFuture<'a, bool> {
        Box::pin(async move { Ok(profiles::Entity::find_by_id(MAYA).one(db).await?.is_some()) })
    }

    fn seed<'a>(&'a self, db: &'a DatabaseConnection) -> AppFuture<'a, ()> {
        Box::pin(seed(db))
    }
}

fn date(text: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
}

async fn seed(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    let profile = |id, name: &str, bio: &str, email: &str| profiles::ActiveModel {
        id: Set(id),
        display_name: Set(name.to_owned()),
        bio: Set(Some(bio.to_owned())),
        avatar_url: Set(None),
        email: Set(Some(email.to_owned())),
        ..Default::default()
    };
    profiles::Entity::insert_many([
        profile(ADA, "Ada", "Keeps the lights on.", "ada@vibeup.example"),
        profile(MAYA, "Maya", "Sunrise breather.", "maya@vibeup.example"),
        profile(NOAH, "Noah", "Walks at dusk.", "noah@vibeup.example"),
        profile(OMAR, "Omar", "New here.", "omar@vibeup.example"),
        profile(PRIYA, "Priya", "Journaling daily.", "priya@vibeup.example"),
    ])
    .exec(db)
    .await?;
    admin_users::Entity::insert(admin_users::ActiveModel {
        id: Set(ADMIN_ADA),
        user_id: Set(ADA),
        granted_by: Set(None),
        ..Default::default()
    })
    .exec(db)
    .await?;
    let flag = |id, key: &str, enabled, description: &str| feature_flags::ActiveModel {
        id: Set(id),
        key: Set(key.to_owned()),
        tenant_id: Set(None),
        enabled: Set(enabled),
        rollout_percent: Set(100),
        description: Set(Some(description.to_owned())),
        ..Default::default()
    };
    feature_flags::Entity::insert_many([
        flag(FLAG_MIRA_CHAT, "mira_chat", true, "Mira, the AI guide"),
        flag(
            FLAG_VIBE_CIRCLES,
            "vibe_circles",
            false,
            "Small circles inside a community",
        ),
    ])
    .exec(db)
    .await?;
    let community =
        |id, name: &str, slug: &str, visibility: &str, owner| communities::ActiveModel {
            id: Set(id),
            name: Set(name.to_owned()),
            slug: Set(slug.to_owned()),
            description: Set(Some(format!("{name}: gentle practice, together."))),
            visibility: Set(visibility.to_owned()),
            created_by: Set(owner),
            ..Default::default()
        };
    communities::Entity::insert_many([
        community(
            MORNING_LIGHT,
            "Morning Light",
            "morning-light",
            "private",
            MAYA,
        ),
        community(BREATHWORK, "Breathwork", "breathwork", "public", NOAH),
    ])
    .exec(db)
    .await?;
    let member = |id, community, user, role: &str| community_members::ActiveModel {
        id: Set(id),
        community_id: Set(community),
        user_id: Set(user),
        role: Set(role.to_owned()),
        ..Default::default()
    };
    community_members::Entity::insert_many([
        member(MEMBER_MAYA_MORNING, MORNING_LIGHT, MAYA, "owner"),
        member(MEMBER_PRIYA_MORNING, MORNING_LIGHT, PRIYA, "member"),
        member(MEMBER_NOAH_BREATHWORK, BREATHWORK, NOAH, "owner"),
        member(MEMBER_MAYA_BREATHWORK, BREATHWORK, MAYA, "member"),
    ])
    .exec(db)
    .await?;
    let vibe = |id, community, author, body: &str, mood: &str| vibes::ActiveModel {
        id: Set(id),
        community_id: Set(community),
        author_id: Set(author),
        body: Set(body.to_owned()),
        mood: Set(Some(mood.to_owned())),
        ..Default::default()
    };
    vibes::Entity::insert_many([
        vibe(
            VIBE_MAYA_MORNING,
            MORNING_LIGHT,
            MAYA,
            "Ten slow breaths before coffee.",
            "calm",
        ),
        vibe(
            VIBE_PRIYA_MORNING,
            MORNING_LIGHT,
            PRIYA,
            "Three things I'm grateful for today.",
            "grateful",
        ),
        vibe(
            VIBE_NOAH_BREATHWORK,
            BREATHWORK,
            NOAH,
            "Box breathing at lunch: 4-4-4-4.",
            "energized",
        ),
        vibe(
            VIBE_MAYA_BREATHWORK,
            BREATHWORK,
            MAYA,
            "Trying the 4-7-8 tonight.",
            "hopeful",
        ),
    ])
    .exec(db)
    .await?;
    let reaction = |id, vibe, user, kind: &str| vibe_reactions::ActiveModel {
        id: Set(id),
        vibe_id: Set(vibe),
        user_id: Set(user),
        kind: Set(kind.to_owned()),
        ..Default::default()
    };
    vibe_reactions::Entity::insert_many([
        reaction(REACTION_PRIYA, VIBE_MAYA_MORNING, PRIYA, "hug"),
        reaction(REACTION_MAYA, VIBE_NOAH_BREATHWORK, MAYA, "heart"),
    ])
    .exec(db)
    .await?;
    let comment = |id, vibe, author, body: &str| vibe_comments::ActiveModel {
        id: Set(id),
        vibe_id: Set(vibe),
        author_id: Set(author),
        body: Set(body.to_owned()),
        ..Default::default()
    };
    vibe_comments::Entity::insert_many([
        comment(
            COMMENT_PRIYA,
            VIBE_MAYA_MORNING,
            PRIYA,
            "Joining you tomorrow!",
        ),
        comment(
            COMMENT_MAYA,
            VIBE_NOAH_BREATHWORK,
            MAYA,
            "Did it, felt great.",
        ),
    ])
    .exec(db)
    .await?;
    let connection =
        |id, requester, addressee, by_requester, by_addressee| connections::ActiveModel {
            id: Set(id),
            requester_id: Set(requester),
            addressee_id: Set(addressee),
            requester_accepted: Set(by_requester),
            addressee_accepted: Set(by_addressee),
            ..Default::default()
        };
    connections::Entity::insert_many([
        connection(CONNECTION_MAYA_NOAH, MAYA, NOAH, true, true),
        connection(CONNECTION_OMAR_MAYA, OMAR, MAYA, true, false),
    ])
    .exec(db)
    .await?;
    let message = |id, sender, recipient, body: &str| messages::ActiveModel {
        id: Set(id),
        sender_id: Set(sender),
        recipient_id: Set(recipient),
        body: Set(body.to_owned()),
        read_at: Set(None),
        ..Default::default()
    };
    messages::Entity::insert_many([
        message(MESSAGE_MAYA_TO_NOAH, MAYA, NOAH, "Walk at dusk on Friday?"),
        message(MESSAGE_NOAH_TO_MAYA, NOAH, MAYA, "Yes! Meet at the park."),
    ])
    .exec(db)
    .await?;
    let notification = |id, user, kind: &str, title: &str, data| notifications::ActiveModel {
        id: Set(id),
        user_id: Set(user),
        kind: Set(kind.to_owned()),
        title: Set(title.to_owned()),
        body: Set(None),
        data: Set(Some(data)),
        read_at: Set(None),
        ..Default::default()
    };
    notifications::Entity::insert_many([
        notification(
            NOTIFICATION_NOAH,
            NOAH,
            "message",
            "New message",
            json!({ "messageId": MESSAGE_MAYA_TO_NOAH, "senderId": MAYA }),
        ),
        notification(
            NOTIFICATION_MAYA,
            MAYA,
            "connection_request",
            "New connection request",
            json!({ "connectionId": CONNECTION_OMAR_MAYA, "requesterId": OMAR }),
        ),
    ])
    .exec(db)
    .await?;
    let practice = |id, user, name: &str, category: &str, public, minutes| practices::ActiveModel {
        id: Set(id),
        user_id: Set(user),
        name: Set(name.to_owned()),
        description: Set(None),
        category: Set(category.to_owned()),
        is_public: Set(public),
        target_minutes: Set(Some(minutes)),
        ..Default::default()
    };
    practices::Entity::insert_many([
        practice(
            PRACTICE_MAYA_PUBLIC,
            MAYA,
            "Morning breathwork",
            "breathwork",
            true,
            10,
        ),
        practice(
            PRACTICE_MAYA_PRIVATE,
            MAYA,
            "Gratitude journal",
            "journaling",
            false,
            5,
        ),
        practice(
            PRACTICE_NOAH_PRIVATE,
            NOAH,
            "Evening walk",
            "movement",
            false,
            30,
        ),
    ])
    .exec(db)
    .await?;
    let log = |id, practice, user, on: &str, minutes, notes: &str| practice_logs::ActiveModel {
        id: Set(id),
        practice_id: Set(practice),
        user_id: Set(user),
        logged_on: Set(date(on)),
        duration_minutes: Set(Some(minutes)),
        notes: Set(Some(notes.to_owned())),
        ..Default::default()
    };
    practice_logs::Entity::insert_many([
        log(
            LOG_MAYA_1,
            PRACTICE_MAYA_PUBLIC,
            MAYA,
            "2026-12-01",
            10,
            "Foggy start.",
        ),
        log(
            LOG_MAYA_2,
            PRACTICE_MAYA_PUBLIC,
            MAYA,
            "2026-12-02",
            12,
            "Clearer today.",
        ),
        log(
            LOG_NOAH,
            PRACTICE_NOAH_PRIVATE,
            NOAH,
            "2026-12-02",
            35,
            "Long loop.",
        ),
    ])
    .exec(db)
    .await?;
    let streak = |id, practice, user, current, last: &str| practice_streaks::ActiveModel {
        id: Set(id),
        practice_id: Set(practice),
        user_id: Set(user),
        current_streak: Set(current),
        longest_streak: Set(current),
        last_logged_on: Set(Some(date(last))),
        ..Default::default()
    };
    practice_streaks::Entity::insert_many([
        streak(
            STREAK_MAYA_PUBLIC,
            PRACTICE_MAYA_PUBLIC,
            MAYA,
            2,
            "2026-12-02",
        ),
        streak(STREAK_NOAH, PRACTICE_NOAH_PRIVATE, NOAH, 1, "2026-12-02"),
    ])
    .exec(db)
    .await?;
    let credential = |id, provider: &str, key: &str| ai_provider_credentials::ActiveModel {
        id: Set(id),
        provider: Set(provider.to_owned()),
        label: Set(Some(format!("{provider} (demo)"))),
        api_key: Set(key.to_owned()),
        is_active: Set(true),
        created_by: Set(Some(ADA)),
        ..Default::default()
    };
    ai_provider_credentials::Entity::insert_many([
        credential(CREDENTIAL_OPENAI, "openai", OPENAI_KEY),
        credential(CREDENTIAL_ANTHROPIC, "anthropic", ANTHROPIC_KEY),
    ])
    .exec(db)
    .await?;
    let config = |id, key: &str, provider: &str, model: &str, enabled, credential| {
        ai_model_configs::ActiveModel {
            id: Set(id),
            key: Set(key.to_owned()),
            provider: Set(provider.to_owned()),
            model: Set(model.to_owned()),
            temperature: Set(Some(0.7)),
            max_tokens: Set(Some(800)),
            system_prompt: Set(Some(format!(
                "You are Mira ({key}): warm, brief, never medical advice."
            ))),
            enabled: Set(enabled),
            credential_id: Set(Some(credential)),
            ..Default::default()
        }
    };
    ai_model_configs::Entity::insert_many([
        config(
            CONFIG_MIRA_CHAT,
            "mira.chat",
            "openai",
            "gpt-4o-mini",
            true,
            CREDENTIAL_OPENAI,
        ),
        config(
            CONFIG_MIRA_INSIGHTS,
            "mira.insights",
            "anthropic",
            "claude-haiku",
            false,
            CREDENTIAL_ANTHROPIC,
        ),
    ])
    .exec(db)
    .await?;
    ai_daily_budgets::Entity::insert(ai_daily_budgets::ActiveModel {
        id: Set(BUDGET_MIRA_CHAT),
        model_config_id: Set(CONFIG_MIRA_CHAT),
        budget_date: Set(date("2027-01-01")),
        token_limit: Set(200_000),
        tokens_used: Set(1_250),
        cost_limit_usd: Set(rowgate::planner::values::parse_decimal("25.00")),
        cost_used_usd: Set(rowgate::planner::values::parse_decimal("0.40").unwrap_or_default()),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
}
