//! What a write does besides its own row, in its transaction (each row a hook writes is
//! audited and published like any write):
//!
//! - a new supplier's creator becomes its `owner` ([`CreatorBecomesOwner`]);
//! - a supplier keeps at least one owner ([`KeepLastOwner`], CONFLICT);
//! - a submitted form response notifies the form's supplier team and is logged as an
//!   activity ([`ResponseSubmitted`]).

use rowgate::error::{AppError, AppResult};
use rowgate::hooks::{HookTx, Row, RowExt, Write, WriteHook, WriteOp, async_trait};
use serde_json::json;

use crate::entities::{activities, form_responses, forms, notifications, suppliers, team_members};

/// Registers every hook of the application.
pub fn register(builder: rowgate::Builder) -> rowgate::Builder {
    builder
        .hook::<suppliers::Entity>(CreatorBecomesOwner)
        .hook::<team_members::Entity>(KeepLastOwner)
        .hook::<form_responses::Entity>(ResponseSubmitted)
}

const OWNER: &str = "owner";

/// A new supplier's creator becomes its `owner` team member (without one, nobody could
/// manage it).
#[derive(Debug, Clone, Copy)]
pub struct CreatorBecomesOwner;

#[async_trait]
impl WriteHook for CreatorBecomesOwner {
    fn name(&self) -> &'static str {
        "creator_becomes_owner"
    }

    async fn after(&self, tx: &HookTx<'_>, write: &Write<'_>) -> AppResult<()> {
        use team_members::Column as T;
        let (WriteOp::Insert, Some(user), Some(supplier)) = (
            write.op,
            tx.principal().user_id,
            write.row().uuid(suppliers::Column::Id),
        ) else {
            return Ok(());
        };
        tx.insert(
            team_members::Entity,
            [
                (T::SupplierId, json!(supplier)),
                (T::UserId, json!(user)),
                (T::Role, json!(OWNER)),
                (T::DisplayName, json!("Owner")),
            ],
        )
        .await
        .map(drop)
    }
}

/// The last owner of a supplier can be neither removed nor demoted (CONFLICT).
#[derive(Debug, Clone, Copy)]
pub struct KeepLastOwner;

#[async_trait]
impl WriteHook for KeepLastOwner {
    fn name(&self) -> &'static str {
        "keep_last_owner"
    }

    async fn before(&self, tx: &HookTx<'_>, write: &Write<'_>) -> AppResult<()> {
        use team_members::Column as T;
        let is_owner = |row: Option<&Row>| row.and_then(|r| r.text(T::Role)) == Some(OWNER);
        let Some(old) = write.old else {
            return Ok(());
        };
        let stays_owner = write.op == WriteOp::Update && is_owner(write.new);
        if !is_owner(Some(old)) || stays_owner {
            return Ok(());
        }
        let (Some(supplier), Some(member)) = (old.uuid(T::SupplierId), old.uuid(T::Id)) else {
            return Ok(());
        };
        // Writers of one supplier's team take the supplier's row lock first, so two owners
        // stepping down at once cannot both see the other as the one who remains.
        tx.lock(
            suppliers::Entity,
            [(suppliers::Column::Id, json!(supplier))],
        )
        .await?;
        let owners = tx
            .rows(
                team_members::Entity,
                [(T::SupplierId, json!(supplier)), (T::Role, json!(OWNER))],
            )
            .await?;
        if owners.iter().all(|o| o.uuid(T::Id) == Some(member)) {
            return Err(AppError::Conflict(
                "the last owner of a supplier can be neither removed nor demoted".into(),
            ));
        }
        Ok(())
    }
}

/// A form response that becomes `submitted` (inserted so, or a draft submitted) notifies
/// each member of the form's supplier team who may read it, and is logged as an activity
/// of the couple with the supplier.
#[derive(Debug, Clone, Copy)]
pub struct ResponseSubmitted;

#[async_trait]
impl WriteHook for ResponseSubmitted {
    fn name(&self) -> &'static str {
        "response_submitted"
    }

    async fn after(&self, tx: &HookTx<'_>, write: &Write<'_>) -> AppResult<()> {
        use form_responses::Column as R;
        const SUBMITTED: &str = "submitted";
        let Some(response) = write.new else {
            return Ok(());
        };
        let was_submitted = write.old.and_then(|old| old.text(R::Status)) == Some(SUBMITTED);
        if response.text(R::Status) != Some(SUBMITTED) || was_submitted {
            return Ok(());
        }
        let (Some(supplier), Some(form_id)) =
            (response.uuid(R::SupplierId), response.uuid(R::FormId))
        else {
            return Ok(());
        };
        let title = tx
            .rows(forms::Entity, [(forms::Column::Id, json!(form_id))])
            .await?
            .into_iter()
            .next()
            .and_then(|form| form.text(forms::Column::Title).map(str::to_owned))
            .unwrap_or_default();
        let team = tx
            .rows(
                team_members::Entity,
                [(team_members::Column::SupplierId, json!(supplier))],
            )
            .await?;
        for member in team {
            let Some(user) = member.uuid(team_members::Column::UserId) else {
                continue;
            };
            // The notification tells of the response: only for who may read it.
            if Some(user) == tx.principal().user_id
                || !tx
                    .readable_by(form_responses::Entity, user, Some(supplier), response)
                    .await?
            {
                continue;
            }
            use notifications::Column as N;
            tx.insert(
                notifications::Entity,
                [
                    (N::UserId, json!(user)),
                    (N::SupplierId, json!(supplier)),
                    (N::Kind, json!("form_response_submitted")),
                    (N::Title, json!(format!("New answers to {title}"))),
                    (
                        N::Data,
                        json!({ "formId": form_id, "formResponseId": response.value(R::Id) }),
                    ),
                ],
            )
            .await?;
        }
        use activities::Column as A;
        tx.insert(
            activities::Entity,
            [
                (A::ActorId, json!(tx.principal().user_id)),
                (A::SupplierId, json!(supplier)),
                (
                    A::CoupleId,
                    response.value(R::CoupleId).cloned().unwrap_or_default(),
                ),
                (A::Action, json!("form_response.submitted")),
                (A::EntityType, json!("form_responses")),
                (
                    A::EntityId,
                    response.value(R::Id).cloned().unwrap_or_default(),
                ),
                (A::Metadata, json!({ "formId": form_id })),
            ],
        )
        .await
        .map(drop)
    }
}
