//! The generated entities (from PostgreSQL) against databases made by the migrations, on both
//! backends: one row per table goes in through its `ActiveModel`, with the database filling
//! the defaults, and comes back out through its `Entity` with every column decoded.

mod support;

use chrono::Utc;
use entities::{
    analytics_events, audit_logs, blocks, comments, communities, community_members, connections,
    conversation_participants, conversations, feature_flags, messages, notifications, posts,
    profiles, reactions, system_config, tenant_members, tenants, user_details, user_follows,
    user_roles, user_settings,
};
use migration::{Migrator, MigratorTrait, TABLES};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, Database, DatabaseConnection, EntityTrait, PaginatorTrait,
};
use serde_json::json;
use support::{on_fresh_postgres, on_fresh_sqlite};
use uuid::Uuid;

#[tokio::test]
async fn sqlite_entities_roundtrip() {
    on_fresh_sqlite(roundtrip).await;
}

#[tokio::test]
async fn postgres_entities_roundtrip() {
    on_fresh_postgres("entities_roundtrip", roundtrip).await;
}

async fn count<E>(db: &DatabaseConnection, entity: E) -> u64
where
    E: EntityTrait,
    E::Model: Sync,
{
    E::find()
        .count(db)
        .await
        .unwrap_or_else(|e| panic!("count {}: {e}", entity.table_name()))
}

async fn roundtrip(url: String) {
    let db = Database::connect(&url).await.expect("connect");
    Migrator::up(&db, None).await.expect("up");
    let backend = db.get_database_backend();
    let started = Utc::now();

    let alice = profiles::ActiveModel {
        id: Set(Uuid::new_v4()),
        email: Set("alice@x.test".into()),
        display_name: Set("Alice".into()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert profile");
    assert_eq!(alice.avatar_url, None);
    assert_eq!(alice.deleted_at, None);
    assert!(
        (alice.created_at.to_utc() - started).num_seconds().abs() < 120,
        "{backend:?}: created_at defaults to now: {}",
        alice.created_at
    );
    let bob = profiles::ActiveModel {
        id: Set(Uuid::new_v4()),
        email: Set("bob@x.test".into()),
        display_name: Set("Bob".into()),
        bio: Set(Some("Runs".into())),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert profile");

    let tenant = tenants::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set("Acme".into()),
        subdomain: Set("acme".into()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert tenant");
    assert_eq!(tenant.tier, "free");
    assert_eq!(tenant.settings, json!({}));

    user_roles::ActiveModel {
        user_id: Set(alice.id),
        role: Set("admin".into()),
        granted_by: Set(None),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert user_role");
    tenant_members::ActiveModel {
        tenant_id: Set(tenant.id),
        user_id: Set(alice.id),
        role: Set("owner".into()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert tenant_member");
    let settings = user_settings::ActiveModel {
        user_id: Set(alice.id),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert user_settings");
    assert_eq!(settings.preferences, json!({}));

    let flag = feature_flags::ActiveModel {
        id: Set(Uuid::new_v4()),
        key: Set("beta".into()),
        tenant_id: Set(Some(tenant.id)),
        enabled: Set(true),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert feature_flag");
    assert_eq!(flag.rollout_percent, 100);
    let config = system_config::ActiveModel {
        key: Set("motd".into()),
        value: Set(json!({"text": "hi"})),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert system_config");
    assert!(!config.is_public);

    let community = communities::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant.id),
        name: Set("Runners".into()),
        slug: Set("runners".into()),
        visibility: Set("open".into()),
        created_by: Set(alice.id),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert community");
    community_members::ActiveModel {
        community_id: Set(community.id),
        user_id: Set(bob.id),
        role: Set("member".into()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert community_member");
    let post = posts::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant.id),
        community_id: Set(Some(community.id)),
        author_id: Set(alice.id),
        title: Set("Hello".into()),
        body: Set("World".into()),
        visibility: Set("community".into()),
        metadata: Set(Some(json!({"tags": ["a", "b"], "n": 1}))),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert post");
    assert_eq!(post.status, "draft");
    let comment = comments::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant.id),
        post_id: Set(post.id),
        author_id: Set(bob.id),
        body: Set("Nice".into()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert comment");
    comments::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant.id),
        post_id: Set(post.id),
        parent_id: Set(Some(comment.id)),
        author_id: Set(alice.id),
        body: Set("Thanks".into()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert reply");
    reactions::ActiveModel {
        post_id: Set(post.id),
        user_id: Set(bob.id),
        emoji: Set("🎉".into()),
        tenant_id: Set(tenant.id),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert reaction");
    blocks::ActiveModel {
        blocker_id: Set(bob.id),
        blocked_id: Set(alice.id),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert block");
    user_follows::ActiveModel {
        follower_id: Set(alice.id),
        followee_id: Set(bob.id),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert follow");

    let conversation = conversations::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant.id),
        created_by: Set(alice.id),
        last_message_at: Set(Some(Utc::now().fixed_offset())),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert conversation");
    conversation_participants::ActiveModel {
        conversation_id: Set(conversation.id),
        user_id: Set(alice.id),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert participant");
    messages::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant.id),
        conversation_id: Set(conversation.id),
        sender_id: Set(alice.id),
        body: Set("Hi".into()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert message");
    notifications::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(Some(tenant.id)),
        user_id: Set(alice.id),
        kind: Set("comment".into()),
        title: Set("New comment".into()),
        body: Set("Bob commented".into()),
        data: Set(Some(json!({"post_id": post.id}))),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert notification");

    connections::ActiveModel {
        tenant_id: Set(tenant.id),
        user_id: Set(bob.id),
        status: Set("active".into()),
        initiated_by: Set(bob.id),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert connection");
    user_details::ActiveModel {
        user_id: Set(bob.id),
        data: Set(json!({"wedding_date": "2027-06-12"})),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert user_details");
    audit_logs::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(Some(tenant.id)),
        actor_id: Set(Some(alice.id)),
        actor_role: Set(Some("authenticated".into())),
        action: Set("insert".into()),
        table_name: Set("posts".into()),
        row_id: Set(Some(post.id.to_string())),
        new_values: Set(Some(json!({"title": "Hello"}))),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert audit_log");
    analytics_events::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant.id),
        user_id: Set(Some(alice.id)),
        name: Set("post_created".into()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert analytics_event");

    // Every entity decodes what it wrote.
    let read_post = posts::Entity::find_by_id(post.id)
        .one(&db)
        .await
        .expect("find post")
        .expect("post");
    assert_eq!(read_post, post);
    let counts = [
        ("profiles", count(&db, profiles::Entity).await),
        ("tenants", count(&db, tenants::Entity).await),
        ("user_roles", count(&db, user_roles::Entity).await),
        ("tenant_members", count(&db, tenant_members::Entity).await),
        ("user_settings", count(&db, user_settings::Entity).await),
        ("feature_flags", count(&db, feature_flags::Entity).await),
        ("system_config", count(&db, system_config::Entity).await),
        ("communities", count(&db, communities::Entity).await),
        (
            "community_members",
            count(&db, community_members::Entity).await,
        ),
        ("posts", count(&db, posts::Entity).await),
        ("comments", count(&db, comments::Entity).await),
        ("reactions", count(&db, reactions::Entity).await),
        ("blocks", count(&db, blocks::Entity).await),
        ("user_follows", count(&db, user_follows::Entity).await),
        ("conversations", count(&db, conversations::Entity).await),
        (
            "conversation_participants",
            count(&db, conversation_participants::Entity).await,
        ),
        ("messages", count(&db, messages::Entity).await),
        ("notifications", count(&db, notifications::Entity).await),
        ("connections", count(&db, connections::Entity).await),
        ("user_details", count(&db, user_details::Entity).await),
        ("audit_logs", count(&db, audit_logs::Entity).await),
        (
            "analytics_events",
            count(&db, analytics_events::Entity).await,
        ),
    ];
    assert_eq!(
        counts.map(|(table, _)| table),
        TABLES,
        "one entity per table"
    );
    for (table, n) in counts {
        let expected = if matches!(table, "profiles" | "comments") {
            2
        } else {
            1
        };
        assert_eq!(n, expected, "{backend:?}: rows in {table}");
    }
    macro_rules! decode_all {
        ($($module:ident),* $(,)?) => {
            $(
                let rows = $module::Entity::find().all(&db).await.unwrap_or_else(|e| {
                    panic!("{backend:?}: decode {}: {e}", stringify!($module))
                });
                assert!(!rows.is_empty(), "{}", stringify!($module));
            )*
        };
    }
    decode_all!(
        profiles,
        tenants,
        user_roles,
        tenant_members,
        user_settings,
        feature_flags,
        system_config,
        communities,
        community_members,
        posts,
        comments,
        reactions,
        blocks,
        user_follows,
        conversations,
        conversation_participants,
        messages,
        notifications,
        connections,
        user_details,
        audit_logs,
        analytics_events,
    );

    // Soft delete and an update of updated_at round-trip too.
    let mut deleting: posts::ActiveModel = read_post.into();
    let now = Utc::now().fixed_offset();
    deleting.deleted_at = Set(Some(now));
    deleting.updated_at = Set(now);
    let deleted = deleting.update(&db).await.expect("soft delete");
    assert_eq!(
        deleted.deleted_at.map(|t| t.timestamp_micros()),
        Some(now.timestamp_micros())
    );
    db.close().await.ok();
}
