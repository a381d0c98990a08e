//! The reference application's write hooks (docs/SCHEMA.md): what a write does besides
//! its own row, in its transaction, each row it writes audited and published.

use entities::{
    comments, conversation_participants, conversations, messages, notifications, posts,
    tenant_members, tenants,
};
use rowgate::error::{AppError, AppResult};
use rowgate::hooks::{HookTx, RowExt, Write, WriteHook, WriteOp, async_trait};
use serde_json::{Value as Json, json};

/// Registers every hook of the reference application.
pub fn register(builder: rowgate::Builder) -> rowgate::Builder {
    builder
        .hook::<tenants::Entity>(CreatorBecomesOwner)
        .hook::<tenant_members::Entity>(KeepLastOwner)
        .hook::<conversations::Entity>(CreatorBecomesParticipant)
        .hook::<comments::Entity>(CommentNotifiesPostAuthor)
        .hook::<messages::Entity>(MessageSent)
}

const OWNER: &str = "owner";

/// A new tenant's creator becomes its `owner` member.
struct CreatorBecomesOwner;

#[async_trait]
impl WriteHook for CreatorBecomesOwner {
    fn name(&self) -> &'static str {
        "creator_becomes_owner"
    }

    async fn after(&self, tx: &HookTx<'_>, write: &Write<'_>) -> AppResult<()> {
        use tenant_members::Column as C;
        let (WriteOp::Insert, Some(user), Some(tenant)) = (
            write.op,
            tx.principal().user_id,
            write.row().uuid(tenants::Column::Id),
        ) else {
            return Ok(());
        };
        tx.insert(
            tenant_members::Entity,
            [
                (C::TenantId, json!(tenant)),
                (C::UserId, json!(user)),
                (C::Role, json!(OWNER)),
            ],
        )
        .await
        .map(drop)
    }
}

/// The last owner of a tenant can be neither removed nor demoted (CONFLICT).
struct KeepLastOwner;

#[async_trait]
impl WriteHook for KeepLastOwner {
    fn name(&self) -> &'static str {
        "keep_last_owner"
    }

    async fn before(&self, tx: &HookTx<'_>, write: &Write<'_>) -> AppResult<()> {
        use tenant_members::Column as C;
        let is_owner =
            |row: Option<&rowgate::hooks::Row>| row.and_then(|r| r.text(C::Role)) == Some(OWNER);
        let stays_owner = write.op == WriteOp::Update && is_owner(write.new);
        let Some(old) = write.old else {
            return Ok(());
        };
        if !is_owner(Some(old)) || stays_owner {
            return Ok(());
        }
        let (Some(tenant), Some(user)) = (old.uuid(C::TenantId), old.uuid(C::UserId)) else {
            return Ok(());
        };
        // Writers of one tenant's memberships take the tenant's row lock first, so that two
        // owners demoting themselves at once cannot both see the other as the remaining
        // owner.
        tx.lock(tenants::Entity, [(tenants::Column::Id, json!(tenant))])
            .await?;
        let owners = tx
            .rows(
                tenant_members::Entity,
                [(C::TenantId, json!(tenant)), (C::Role, json!(OWNER))],
            )
            .await?;
        if owners.iter().all(|o| o.uuid(C::UserId) == Some(user)) {
            return Err(AppError::Conflict(
                "the last owner of a tenant can be neither removed nor demoted".into(),
            ));
        }
        Ok(())
    }
}

/// A new conversation's creator becomes a participant.
struct CreatorBecomesParticipant;

#[async_trait]
impl WriteHook for CreatorBecomesParticipant {
    fn name(&self) -> &'static str {
        "creator_becomes_participant"
    }

    async fn after(&self, tx: &HookTx<'_>, write: &Write<'_>) -> AppResult<()> {
        use conversation_participants::Column as C;
        let (WriteOp::Insert, Some(user), Some(conversation)) = (
            write.op,
            tx.principal().user_id,
            write.row().uuid(conversations::Column::Id),
        ) else {
            return Ok(());
        };
        tx.insert(
            conversation_participants::Entity,
            [
                (C::ConversationId, json!(conversation)),
                (C::UserId, json!(user)),
            ],
        )
        .await
        .map(drop)
    }
}

/// A new comment notifies the post's author — unless the author wrote it, or may not read
/// it (who blocks the commenter, say): the notification copies the comment.
struct CommentNotifiesPostAuthor;

#[async_trait]
impl WriteHook for CommentNotifiesPostAuthor {
    fn name(&self) -> &'static str {
        "comment_notifies_post_author"
    }

    async fn after(&self, tx: &HookTx<'_>, write: &Write<'_>) -> AppResult<()> {
        use posts::Column as P;
        let comment = write.row();
        let (WriteOp::Insert, Some(post_id)) = (write.op, comment.uuid(comments::Column::PostId))
        else {
            return Ok(());
        };
        let Some(post) = tx
            .rows(posts::Entity, [(P::Id, json!(post_id))])
            .await?
            .into_iter()
            .next()
        else {
            return Ok(());
        };
        let (Some(author), tenant) = (post.uuid(P::AuthorId), post.uuid(P::TenantId)) else {
            return Ok(());
        };
        if Some(author) == tx.principal().user_id
            || !tx
                .readable_by(comments::Entity, author, tenant, comment)
                .await?
        {
            return Ok(());
        }
        let title = post.text(P::Title).unwrap_or_default();
        notify(
            tx,
            post.value(P::TenantId),
            author,
            "comment",
            format!("New comment on {title}"),
            comment.value(comments::Column::Body),
            json!({ "postId": post_id, "commentId": comment.value(comments::Column::Id) }),
        )
        .await
    }
}

/// A new message bumps its conversation's `last_message_at` and notifies the other
/// participants who may read it.
struct MessageSent;

#[async_trait]
impl WriteHook for MessageSent {
    fn name(&self) -> &'static str {
        "message_sent"
    }

    async fn after(&self, tx: &HookTx<'_>, write: &Write<'_>) -> AppResult<()> {
        use messages::Column as M;
        let message = write.row();
        let (WriteOp::Insert, Some(conversation)) = (write.op, message.uuid(M::ConversationId))
        else {
            return Ok(());
        };
        let sent_at = message.value(M::CreatedAt).cloned().unwrap_or_else(|| {
            rowgate::planner::values::timestamp_json(rowgate::planner::values::now())
        });
        tx.update(
            conversations::Entity,
            [(conversations::Column::Id, json!(conversation))],
            [
                (conversations::Column::LastMessageAt, sent_at.clone()),
                (conversations::Column::UpdatedAt, sent_at),
            ],
        )
        .await?;
        let tenant = message.uuid(M::TenantId);
        let participants = tx
            .rows(
                conversation_participants::Entity,
                [(
                    conversation_participants::Column::ConversationId,
                    json!(conversation),
                )],
            )
            .await?;
        for participant in participants {
            let Some(user) = participant.uuid(conversation_participants::Column::UserId) else {
                continue;
            };
            if Some(user) == tx.principal().user_id
                || !tx
                    .readable_by(messages::Entity, user, tenant, message)
                    .await?
            {
                continue;
            }
            notify(
                tx,
                message.value(M::TenantId),
                user,
                "message",
                "New message".into(),
                message.value(M::Body),
                json!({ "conversationId": conversation, "messageId": message.value(M::Id) }),
            )
            .await?;
        }
        Ok(())
    }
}

/// Writes one notification for `user`.
async fn notify(
    tx: &HookTx<'_>,
    tenant: Option<&Json>,
    user: uuid::Uuid,
    kind: &str,
    title: String,
    body: Option<&Json>,
    data: Json,
) -> AppResult<()> {
    use notifications::Column as N;
    tx.insert(
        notifications::Entity,
        [
            (N::TenantId, tenant.cloned().unwrap_or(Json::Null)),
            (N::UserId, json!(user)),
            (N::Kind, json!(kind)),
            (N::Title, json!(title)),
            (N::Body, body.cloned().unwrap_or(json!(""))),
            (N::Data, data),
        ],
    )
    .await
    .map(drop)
}
