//! What a write does besides its own row, in its transaction (each row a hook writes is
//! audited and published like any write):
//!
//! - `mutual_acceptance_matches`: when a match offer is accepted and the reciprocal offer
//!   (the candidate's offer of this user) is accepted too, the two become a match.
//! - `report_queues_for_moderation`: a new report queues an item for the moderators.
//! - `enforcement_sets_account_status`: a suspension or ban sets the account's status.

use rowgate::error::AppResult;
use rowgate::hooks::{HookTx, RowExt, Write, WriteHook, WriteOp, async_trait};
use serde_json::json;

use crate::entities::{
    enforcement_actions, match_offers, matches, moderation_queue, reports, users,
};

/// Registers every hook of the application.
pub fn register(builder: rowgate::Builder) -> rowgate::Builder {
    builder
        .hook::<match_offers::Entity>(MutualAcceptanceMatches)
        .hook::<reports::Entity>(ReportQueuesForModeration)
        .hook::<enforcement_actions::Entity>(EnforcementSetsAccountStatus)
}

/// Two accepted offers of one pair become a match (`user1_id` the one who accepted first).
struct MutualAcceptanceMatches;

#[async_trait]
impl WriteHook for MutualAcceptanceMatches {
    fn name(&self) -> &'static str {
        "mutual_acceptance_matches"
    }

    async fn after(&self, tx: &HookTx<'_>, write: &Write<'_>) -> AppResult<()> {
        use match_offers::Column as O;
        use matches::Column as M;
        let Some(new) = write.new else {
            return Ok(());
        };
        let accepted = |row: Option<&rowgate::hooks::Row>| {
            row.and_then(|r| r.text(O::Status)) == Some("accepted")
        };
        if write.op == WriteOp::Delete || !accepted(Some(new)) || accepted(write.old) {
            return Ok(());
        }
        let (Some(user), Some(candidate)) = (new.uuid(O::UserId), new.uuid(O::CandidateId)) else {
            return Ok(());
        };
        // The two answers of a pair take turns on one of the pair's account rows (always
        // the same one), so that two acceptances at once make one match, not none or two.
        tx.lock(
            users::Entity,
            [(users::Column::Id, json!(user.min(candidate)))],
        )
        .await?;
        let reciprocal = tx
            .rows(
                match_offers::Entity,
                [
                    (O::UserId, json!(candidate)),
                    (O::CandidateId, json!(user)),
                    (O::Status, json!("accepted")),
                ],
            )
            .await?;
        if reciprocal.is_empty() {
            return Ok(());
        }
        for (first, second) in [(candidate, user), (user, candidate)] {
            let existing = tx
                .rows(
                    matches::Entity,
                    [(M::User1Id, json!(first)), (M::User2Id, json!(second))],
                )
                .await?;
            if !existing.is_empty() {
                return Ok(());
            }
        }
        tx.insert(
            matches::Entity,
            [
                (M::User1Id, json!(candidate)),
                (M::User2Id, json!(user)),
                (M::Status, json!("active")),
            ],
        )
        .await
        .map(drop)
    }
}

/// A new report becomes an item of the moderation queue, about the reported message or
/// photo if it names one (else the user), prioritised by its reason.
struct ReportQueuesForModeration;

/// How urgent a report of `reason` is (higher first).
fn priority(reason: &str) -> i32 {
    match reason {
        "underage" => 10,
        "harassment" => 5,
        "inappropriate_content" => 3,
        _ => 1,
    }
}

#[async_trait]
impl WriteHook for ReportQueuesForModeration {
    fn name(&self) -> &'static str {
        "report_queues_for_moderation"
    }

    async fn after(&self, tx: &HookTx<'_>, write: &Write<'_>) -> AppResult<()> {
        use moderation_queue::Column as Q;
        use reports::Column as R;
        if write.op != WriteOp::Insert {
            return Ok(());
        }
        let report = write.row();
        let (Some(id), Some(subject)) = (report.uuid(R::Id), report.uuid(R::ReportedUserId)) else {
            return Ok(());
        };
        let (content_type, content) = match (report.uuid(R::MessageId), report.uuid(R::PhotoId)) {
            (Some(message), _) => ("message", Some(message)),
            (None, Some(photo)) => ("photo", Some(photo)),
            (None, None) => ("user", None),
        };
        tx.insert(
            moderation_queue::Entity,
            [
                (Q::ReportId, json!(id)),
                (Q::SubjectUserId, json!(subject)),
                (Q::ContentType, json!(content_type)),
                (Q::ContentId, json!(content)),
                (
                    Q::Priority,
                    json!(priority(report.text(R::Reason).unwrap_or_default())),
                ),
                (Q::Status, json!("pending")),
            ],
        )
        .await
        .map(drop)
    }
}

/// A suspension or ban sets the subject's account status (`suspended`, `banned`).
struct EnforcementSetsAccountStatus;

#[async_trait]
impl WriteHook for EnforcementSetsAccountStatus {
    fn name(&self) -> &'static str {
        "enforcement_sets_account_status"
    }

    async fn after(&self, tx: &HookTx<'_>, write: &Write<'_>) -> AppResult<()> {
        use enforcement_actions::Column as E;
        if write.op != WriteOp::Insert {
            return Ok(());
        }
        let action = write.row();
        let status = match action.text(E::Action) {
            Some("suspension") => "suspended",
            Some("ban") => "banned",
            _ => return Ok(()),
        };
        let Some(subject) = action.uuid(E::SubjectUserId) else {
            return Ok(());
        };
        tx.update(
            users::Entity,
            [(users::Column::Id, json!(subject))],
            [(users::Column::Status, json!(status))],
        )
        .await
        .map(drop)
    }
}
