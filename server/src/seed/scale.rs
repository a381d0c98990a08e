//! Deterministic bulk data for benchmarks: `rowgate seed --scale N`.
//!
//! N tenants × 100 users (user 0 owns the tenant, users 1–2 administer it, every 10th user
//! is also a member of the next tenant), 1000 posts per tenant (10% drafts, 1 in 7 public),
//! 5 comments per post, 20 notifications per user (a third read), 20 global flags and 5
//! per tenant, 4 blocks per tenant. Ids and timestamps derive from counters, so two runs
//! produce the same rows.

use std::fmt;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, TransactionTrait, Value};
use serde_json::json;
use uuid::Uuid;

use super::{Rows, minutes_before_epoch, null};

/// Users per tenant.
pub const USERS_PER_TENANT: u64 = 100;
/// Posts per tenant.
pub const POSTS_PER_TENANT: u64 = 1000;
/// Comments per post.
pub const COMMENTS_PER_POST: u64 = 5;
/// Notifications per user.
pub const NOTIFICATIONS_PER_USER: u64 = 20;
/// Global feature flags.
pub const GLOBAL_FLAGS: u64 = 20;
/// Feature flags overridden per tenant.
pub const TENANT_FLAGS: u64 = 5;

/// Kinds of row, one id space each.
#[derive(Debug, Clone, Copy)]
#[repr(u16)]
enum Kind {
    Tenant = 1,
    User = 2,
    Post = 3,
    Comment = 4,
    Notification = 5,
    Flag = 6,
}

/// The id of the `n`th row of a kind: `5ca1e000-KKKK-4000-8000-NNNNNNNNNNNN`.
fn sid(kind: Kind, n: u64) -> Uuid {
    Uuid::from_u128(
        (0x5ca1_e000_u128 << 96)
            | (u128::from(kind as u16) << 80)
            | (0x4000_8000_u128 << 48)
            | u128::from(n),
    )
}

/// The id of tenant `t` (0-based) in scale data.
pub fn tenant_id(t: u64) -> Uuid {
    sid(Kind::Tenant, t)
}

/// The id of user `u` (0-based, < 100) of tenant `t` in scale data.
pub fn user_id(t: u64, u: u64) -> Uuid {
    sid(Kind::User, t * USERS_PER_TENANT + u)
}

/// The id of post `i` (0-based, < 1000) of tenant `t` in scale data. Post 1 of every
/// tenant is published with `tenant` visibility.
pub fn post_id(t: u64, i: u64) -> Uuid {
    sid(Kind::Post, t * POSTS_PER_TENANT + i)
}

/// What a scale seed inserted, and how long it took.
#[derive(Debug, Clone, Default)]
pub struct ScaleReport {
    /// Tenants.
    pub tenants: usize,
    /// Profiles.
    pub users: usize,
    /// Tenant memberships.
    pub memberships: usize,
    /// Posts.
    pub posts: usize,
    /// Comments.
    pub comments: usize,
    /// Notifications.
    pub notifications: usize,
    /// Feature flags.
    pub flags: usize,
    /// Blocks.
    pub blocks: usize,
    /// Wall time.
    pub elapsed: Duration,
}

impl fmt::Display for ScaleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seeded {} tenants, {} users, {} memberships, {} posts, {} comments, {} notifications, {} flags, {} blocks in {:.1}s",
            self.tenants,
            self.users,
            self.memberships,
            self.posts,
            self.comments,
            self.notifications,
            self.flags,
            self.blocks,
            self.elapsed.as_secs_f64()
        )
    }
}

fn at(minutes_ago: u64) -> Value {
    minutes_before_epoch(i64::try_from(minutes_ago).unwrap_or(i64::MAX / 120)).into()
}

/// Inserts the scale data for `tenants` tenants in one transaction. Refuses (without
/// writing) when scale data is already present.
pub async fn seed_scale(db: &DatabaseConnection, tenants: u32) -> Result<ScaleReport, DbErr> {
    let started = Instant::now();
    if entities::tenants::Entity::find_by_id(tenant_id(0))
        .one(db)
        .await?
        .is_some()
    {
        return Err(DbErr::Custom(
            "scale data is already present; run `rowgate migrate fresh` first".into(),
        ));
    }
    let n = u64::from(tenants);
    let txn = db.begin().await?;
    let mut report = ScaleReport {
        tenants: insert_tenants(&txn, n).await?,
        users: insert_users(&txn, n).await?,
        memberships: insert_memberships(&txn, n).await?,
        flags: insert_flags(&txn, n).await?,
        blocks: insert_blocks(&txn, n).await?,
        ..ScaleReport::default()
    };
    (report.posts, report.comments) = insert_posts_and_comments(&txn, n).await?;
    report.notifications = insert_notifications(&txn, n).await?;
    txn.commit().await?;
    report.elapsed = started.elapsed();
    Ok(report)
}

async fn insert_tenants(db: &impl ConnectionTrait, n: u64) -> Result<usize, DbErr> {
    use entities::tenants::{Column, Entity};
    let mut rows = Rows::<Entity>::new([
        Column::Id,
        Column::Name,
        Column::Subdomain,
        Column::Tier,
        Column::Settings,
        Column::CreatedAt,
        Column::UpdatedAt,
    ]);
    for t in 0..n {
        let tier = ["free", "pro", "enterprise"][usize::try_from(t % 3).unwrap_or(0)];
        rows.push(vec![
            tenant_id(t).into(),
            format!("Tenant {t}").into(),
            format!("t{t:04}").into(),
            tier.to_owned().into(),
            json!({"seats": 100}).into(),
            at(2_000_000 - t),
            at(2_000_000 - t),
        ]);
    }
    rows.insert(db).await
}

async fn insert_users(db: &impl ConnectionTrait, n: u64) -> Result<usize, DbErr> {
    use entities::profiles::{Column, Entity};
    let mut rows = Rows::<Entity>::new([
        Column::Id,
        Column::Email,
        Column::DisplayName,
        Column::AvatarUrl,
        Column::Bio,
        Column::CreatedAt,
        Column::UpdatedAt,
    ]);
    for t in 0..n {
        for u in 0..USERS_PER_TENANT {
            rows.push(vec![
                user_id(t, u).into(),
                format!("user{t}_{u}@scale.example.com").into(),
                format!("User {t}-{u}").into(),
                null::<String>(),
                null::<String>(),
                at(1_900_000 - t * USERS_PER_TENANT - u),
                at(1_900_000 - t * USERS_PER_TENANT - u),
            ]);
        }
    }
    rows.insert(db).await
}

async fn insert_memberships(db: &impl ConnectionTrait, n: u64) -> Result<usize, DbErr> {
    use entities::tenant_members::{Column, Entity};
    let mut rows = Rows::<Entity>::new([
        Column::TenantId,
        Column::UserId,
        Column::Role,
        Column::CreatedAt,
        Column::UpdatedAt,
    ]);
    for t in 0..n {
        for u in 0..USERS_PER_TENANT {
            let role = match u {
                0 => "owner",
                1 | 2 => "admin",
                _ => "member",
            };
            rows.push(vec![
                tenant_id(t).into(),
                user_id(t, u).into(),
                role.to_owned().into(),
                at(1_800_000),
                at(1_800_000),
            ]);
            if u % 10 == 0 && n > 1 {
                let next = (t + 1) % n;
                rows.push(vec![
                    tenant_id(next).into(),
                    user_id(t, u).into(),
                    "member".to_owned().into(),
                    at(1_800_000),
                    at(1_800_000),
                ]);
            }
        }
    }
    rows.insert(db).await
}

async fn insert_flags(db: &impl ConnectionTrait, n: u64) -> Result<usize, DbErr> {
    use entities::feature_flags::{Column, Entity};
    let mut rows = Rows::<Entity>::new([
        Column::Id,
        Column::Key,
        Column::TenantId,
        Column::Enabled,
        Column::RolloutPercent,
        Column::Description,
        Column::CreatedAt,
        Column::UpdatedAt,
    ]);
    for f in 0..GLOBAL_FLAGS {
        let rollout = i16::try_from((f * 10) % 101).unwrap_or(100);
        rows.push(vec![
            sid(Kind::Flag, f).into(),
            format!("flag_{f:02}").into(),
            null::<Uuid>(),
            (f % 4 != 3).into(),
            rollout.into(),
            format!("Global flag {f}").into(),
            at(1_700_000),
            at(1_700_000),
        ]);
    }
    for t in 0..n {
        for f in 0..TENANT_FLAGS {
            rows.push(vec![
                sid(Kind::Flag, GLOBAL_FLAGS + t * TENANT_FLAGS + f).into(),
                format!("flag_{f:02}").into(),
                tenant_id(t).into(),
                ((t + f) % 2 == 0).into(),
                100i16.into(),
                format!("Tenant {t} override of flag {f}").into(),
                at(1_700_000),
                at(1_700_000),
            ]);
        }
    }
    rows.insert(db).await
}

async fn insert_blocks(db: &impl ConnectionTrait, n: u64) -> Result<usize, DbErr> {
    use entities::blocks::{Column, Entity};
    let mut rows = Rows::<Entity>::new([
        Column::BlockerId,
        Column::BlockedId,
        Column::CreatedAt,
        Column::UpdatedAt,
    ]);
    for t in 0..n {
        for u in (1..USERS_PER_TENANT).step_by(25) {
            rows.push(vec![
                user_id(t, u).into(),
                user_id(t, u + 1).into(),
                at(1_600_000),
                at(1_600_000),
            ]);
        }
    }
    rows.insert(db).await
}

async fn insert_posts_and_comments(
    db: &impl ConnectionTrait,
    n: u64,
) -> Result<(usize, usize), DbErr> {
    use entities::{comments, posts};
    let mut post_rows = Rows::<posts::Entity>::new([
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
    let mut comment_rows = Rows::<comments::Entity>::new([
        comments::Column::Id,
        comments::Column::TenantId,
        comments::Column::PostId,
        comments::Column::ParentId,
        comments::Column::AuthorId,
        comments::Column::Body,
        comments::Column::CreatedAt,
        comments::Column::UpdatedAt,
    ]);
    let (mut posts_done, mut comments_done) = (0, 0);
    for t in 0..n {
        for i in 0..POSTS_PER_TENANT {
            let post = sid(Kind::Post, t * POSTS_PER_TENANT + i);
            // Posts of all tenants interleave in time: newest first is i = 0 of every tenant.
            let minutes = (i * n + t) * 10;
            let status = if i % 10 == 0 { "draft" } else { "published" };
            let visibility = if i % 7 == 0 { "public" } else { "tenant" };
            post_rows.push(vec![
                post.into(),
                tenant_id(t).into(),
                null::<Uuid>(),
                user_id(t, i % USERS_PER_TENANT).into(),
                format!("Post {i} of tenant {t}").into(),
                format!("Body of post {i} of tenant {t}. Lorem ipsum dolor sit amet.").into(),
                status.to_owned().into(),
                visibility.to_owned().into(),
                json!({"seq": i}).into(),
                at(minutes),
                at(minutes),
            ]);
            for k in 0..COMMENTS_PER_POST {
                let c = (t * POSTS_PER_TENANT + i) * COMMENTS_PER_POST + k;
                comment_rows.push(vec![
                    sid(Kind::Comment, c).into(),
                    tenant_id(t).into(),
                    post.into(),
                    null::<Uuid>(),
                    user_id(t, (i * 7 + k * 37 + 3) % USERS_PER_TENANT).into(),
                    format!("Comment {k} on post {i}").into(),
                    at(minutes.saturating_sub(k + 1)),
                    at(minutes.saturating_sub(k + 1)),
                ]);
            }
        }
        // Flush per tenant so memory stays bounded for large N.
        posts_done += std::mem::replace(&mut post_rows, Rows::new(post_columns()))
            .insert(db)
            .await?;
        comments_done += std::mem::replace(&mut comment_rows, Rows::new(comment_columns()))
            .insert(db)
            .await?;
    }
    Ok((posts_done, comments_done))
}

fn post_columns() -> [entities::posts::Column; 11] {
    use entities::posts::Column;
    [
        Column::Id,
        Column::TenantId,
        Column::CommunityId,
        Column::AuthorId,
        Column::Title,
        Column::Body,
        Column::Status,
        Column::Visibility,
        Column::Metadata,
        Column::CreatedAt,
        Column::UpdatedAt,
    ]
}

fn comment_columns() -> [entities::comments::Column; 8] {
    use entities::comments::Column;
    [
        Column::Id,
        Column::TenantId,
        Column::PostId,
        Column::ParentId,
        Column::AuthorId,
        Column::Body,
        Column::CreatedAt,
        Column::UpdatedAt,
    ]
}

async fn insert_notifications(db: &impl ConnectionTrait, n: u64) -> Result<usize, DbErr> {
    use entities::notifications::{Column, Entity};
    let columns = [
        Column::Id,
        Column::TenantId,
        Column::UserId,
        Column::Kind,
        Column::Title,
        Column::Body,
        Column::Data,
        Column::ReadAt,
        Column::CreatedAt,
        Column::UpdatedAt,
    ];
    let mut done = 0;
    for t in 0..n {
        let mut rows = Rows::<Entity>::new(columns);
        for u in 0..USERS_PER_TENANT {
            for k in 0..NOTIFICATIONS_PER_USER {
                let id = (t * USERS_PER_TENANT + u) * NOTIFICATIONS_PER_USER + k;
                let minutes = k * 60 + u;
                rows.push(vec![
                    sid(Kind::Notification, id).into(),
                    tenant_id(t).into(),
                    user_id(t, u).into(),
                    if k % 2 == 0 { "comment" } else { "message" }
                        .to_owned()
                        .into(),
                    format!("Notification {k}").into(),
                    format!("Something happened ({k}).").into(),
                    json!({"k": k}).into(),
                    if k % 3 == 0 {
                        at(minutes.saturating_sub(1))
                    } else {
                        null::<sea_orm::prelude::DateTimeWithTimeZone>()
                    },
                    at(minutes),
                    at(minutes),
                ]);
            }
        }
        done += rows.insert(db).await?;
    }
    Ok(done)
}
