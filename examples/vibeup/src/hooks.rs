//! What a write does besides its own row, in its transaction (each row a hook writes is
//! audited and published like any write):
//!
//! - `creator_becomes_owner`: a new community's creator becomes its `owner` member.
//! - `message_notifies_recipient`: a new message notifies its recipient.
//! - `connection_notifies`: a connection request notifies the addressee; the acceptance
//!   that makes a connection mutual notifies the other side.
//! - `logs_keep_the_streak`: a practice's streak is recomputed from its logs whenever a log
//!   is added or removed.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use rowgate::error::AppResult;
use rowgate::hooks::{HookTx, RowExt, Write, WriteHook, WriteOp, async_trait};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use crate::entities::{
    communities, community_members, connections, messages, notifications, practice_logs,
    practice_streaks, practices,
};

/// Registers every hook of the application.
pub fn register(builder: rowgate::Builder) -> rowgate::Builder {
    builder
        .hook::<communities::Entity>(CreatorBecomesOwner)
        .hook::<messages::Entity>(MessageNotifiesRecipient)
        .hook::<connections::Entity>(ConnectionNotifies)
        .hook::<practice_logs::Entity>(LogsKeepTheStreak)
}

struct CreatorBecomesOwner;

#[async_trait]
impl WriteHook for CreatorBecomesOwner {
    fn name(&self) -> &'static str {
        "creator_becomes_owner"
    }

    async fn after(&self, tx: &HookTx<'_>, write: &Write<'_>) -> AppResult<()> {
        use community_members::Column as M;
        let row = write.row();
        let (WriteOp::Insert, Some(community), Some(creator)) = (
            write.op,
            row.uuid(communities::Column::Id),
            row.uuid(communities::Column::CreatedBy),
        ) else {
            return Ok(());
        };
        tx.insert(
            community_members::Entity,
            [
                (M::CommunityId, json!(community)),
                (M::UserId, json!(creator)),
                (M::Role, json!("owner")),
            ],
        )
        .await
        .map(drop)
    }
}

struct MessageNotifiesRecipient;

#[async_trait]
impl WriteHook for MessageNotifiesRecipient {
    fn name(&self) -> &'static str {
        "message_notifies_recipient"
    }

    async fn after(&self, tx: &HookTx<'_>, write: &Write<'_>) -> AppResult<()> {
        use messages::Column as M;
        let message = write.row();
        let (WriteOp::Insert, Some(recipient)) = (write.op, message.uuid(M::RecipientId)) else {
            return Ok(());
        };
        // The notification names the message; it is written only if the recipient may
        // read it (they always may: the recipient is a side of every message).
        if !tx
            .readable_by(messages::Entity, recipient, None, message)
            .await?
        {
            return Ok(());
        }
        notify(
            tx,
            recipient,
            "message",
            "New message",
            json!({
                "messageId": message.value(M::Id),
                "senderId": message.value(M::SenderId),
            }),
        )
        .await
    }
}

struct ConnectionNotifies;

#[async_trait]
impl WriteHook for ConnectionNotifies {
    fn name(&self) -> &'static str {
        "connection_notifies"
    }

    async fn after(&self, tx: &HookTx<'_>, write: &Write<'_>) -> AppResult<()> {
        use connections::Column as C;
        let mutual = |row: Option<&rowgate::hooks::Row>| {
            row.is_some_and(|r| {
                r.value(C::RequesterAccepted) == Some(&Json::Bool(true))
                    && r.value(C::AddresseeAccepted) == Some(&Json::Bool(true))
            })
        };
        let row = write.row();
        let (Some(requester), Some(addressee)) =
            (row.uuid(C::RequesterId), row.uuid(C::AddresseeId))
        else {
            return Ok(());
        };
        let data = json!({ "connectionId": row.value(C::Id) });
        match write.op {
            WriteOp::Insert => {
                notify(
                    tx,
                    addressee,
                    "connection_request",
                    "New connection request",
                    json!({ "connectionId": row.value(C::Id), "requesterId": requester }),
                )
                .await
            }
            WriteOp::Update if mutual(write.new) && !mutual(write.old) => {
                // The side that just accepted is the principal; the other hears of it.
                let other = if tx.principal().user_id == Some(requester) {
                    addressee
                } else {
                    requester
                };
                notify(tx, other, "connection_accepted", "You are connected", data).await
            }
            _ => Ok(()),
        }
    }
}

struct LogsKeepTheStreak;

#[async_trait]
impl WriteHook for LogsKeepTheStreak {
    fn name(&self) -> &'static str {
        "logs_keep_the_streak"
    }

    async fn after(&self, tx: &HookTx<'_>, write: &Write<'_>) -> AppResult<()> {
        use practice_logs::Column as L;
        use practice_streaks::Column as S;
        if write.op == WriteOp::Update {
            return Ok(());
        }
        let log = write.row();
        let (Some(practice), Some(user)) = (log.uuid(L::PracticeId), log.uuid(L::UserId)) else {
            return Ok(());
        };
        // Writers of one practice's logs take turns, so two logs at once both count.
        tx.lock(
            practices::Entity,
            [(practices::Column::Id, json!(practice))],
        )
        .await?;
        let days: BTreeSet<NaiveDate> = tx
            .rows(practice_logs::Entity, [(L::PracticeId, json!(practice))])
            .await?
            .iter()
            .filter_map(|l| l.text(L::LoggedOn))
            .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .collect();
        let streak = Streak::of(&days);
        let values = [
            (S::CurrentStreak, json!(streak.current)),
            (S::LongestStreak, json!(streak.longest)),
            (
                S::LastLoggedOn,
                json!(streak.last.map(|d| d.format("%Y-%m-%d").to_string())),
            ),
        ];
        let existing = tx
            .rows(practice_streaks::Entity, [(S::PracticeId, json!(practice))])
            .await?;
        match existing.first().and_then(|s| s.uuid(S::Id)) {
            Some(id) => tx
                .update(practice_streaks::Entity, [(S::Id, json!(id))], values)
                .await
                .map(drop),
            None => tx
                .insert(
                    practice_streaks::Entity,
                    [(S::PracticeId, json!(practice)), (S::UserId, json!(user))]
                        .into_iter()
                        .chain(values),
                )
                .await
                .map(drop),
        }
    }
}

/// A practice's streak over the days it was logged: the run of consecutive days ending on
/// the last day logged, and the longest run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streak {
    /// Consecutive days up to and including [`Streak::last`].
    pub current: i32,
    /// The longest run of consecutive days.
    pub longest: i32,
    /// The last day logged.
    pub last: Option<NaiveDate>,
}

impl Streak {
    /// The streak of `days`.
    pub fn of(days: &BTreeSet<NaiveDate>) -> Self {
        let (mut current, mut longest, mut previous) = (0, 0, None::<NaiveDate>);
        for day in days {
            current = match previous {
                Some(p) if p.succ_opt() == Some(*day) => current + 1,
                _ => 1,
            };
            longest = longest.max(current);
            previous = Some(*day);
        }
        Self {
            current,
            longest,
            last: previous,
        }
    }
}

/// Writes one notification for `user`.
async fn notify(tx: &HookTx<'_>, user: Uuid, kind: &str, title: &str, data: Json) -> AppResult<()> {
    use notifications::Column as N;
    tx.insert(
        notifications::Entity,
        [
            (N::UserId, json!(user)),
            (N::Kind, json!(kind)),
            (N::Title, json!(title)),
            (N::Data, data),
        ],
    )
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(list: &[&str]) -> BTreeSet<NaiveDate> {
        list.iter()
            .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("a date"))
            .collect()
    }

    #[test]
    fn a_streak_is_the_run_ending_on_the_last_day_and_the_longest_run() {
        assert_eq!(
            Streak::of(&BTreeSet::new()),
            Streak {
                current: 0,
                longest: 0,
                last: None
            }
        );
        let streak = Streak::of(&days(&[
            "2026-12-01",
            "2026-12-02",
            "2026-12-03",
            "2026-12-05",
            "2026-12-06",
        ]));
        assert_eq!((streak.current, streak.longest), (2, 3));
        assert_eq!(streak.last, days(&["2026-12-06"]).first().copied());
        // Across a month's end.
        let streak = Streak::of(&days(&["2026-11-30", "2026-12-01"]));
        assert_eq!((streak.current, streak.longest), (2, 2));
    }
}
