//! The dating application's policy matrix over its demo data, on SQLite and (with
//! `DATABASE_URL`) PostgreSQL: every table × read path × kind of principal (anonymous, a
//! user, their match, a blocking and a blocked user, an unmatched user, a moderator, an
//! admin, the service role), then the writes — every refusal first (and the data unchanged
//! by them), then what is allowed, with its side effects.

use std::collections::BTreeMap;

use dating::demo::*;
use rowgate_tests::matrix::{Expect, Who, Write, row};
use rowgate_tests::{TestApp, backends};
use serde_json::{Value, json};
use uuid::Uuid;

const ANON: Who = Who::anon();
const ALICE_: Who = Who::user("alice", ALICE, None);
const BOB_: Who = Who::user("bob (alice's match)", BOB, None);
const CAROL_: Who = Who::user("carol (blocks dave)", CAROL, None);
const DAVE_: Who = Who::user("dave (blocked by carol)", DAVE, None);
const ERIN_: Who = Who::user("erin (unmatched)", ERIN, None);
const MIA_: Who = Who::user("mia (moderator)", MIA, None);
const ADAM_: Who = Who::user("adam (admin)", ADAM, None);
const SERVICE: Who = Who::service();
/// A signed-in user with no account yet (not in the demo data).
const NEWCOMER: Uuid = Uuid::from_u128(0xda7e_0000_0000_4000_8000_0000_0000_0fff);
const NEWCOMER_: Who = Who::user("newcomer (no account yet)", NEWCOMER, None);

/// Every principal kind, in the order the reads are checked.
const EVERYONE: [Who; 9] = [
    ANON, ALICE_, BOB_, CAROL_, DAVE_, ERIN_, MIA_, ADAM_, SERVICE,
];

fn key(id: Uuid) -> rowgate::policy::eval::Row {
    row([("id", json!(id))])
}

/// What each principal reads of `table` in the demo data, as key texts.
#[expect(
    clippy::too_many_lines,
    reason = "one arm per table and principal: the matrix itself"
)]
fn visible(table: &str, who: &Who) -> Vec<String> {
    let ids = |ids: &[Uuid]| ids.iter().map(Uuid::to_string).collect::<Vec<_>>();
    let texts = |keys: &[&str]| keys.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
    let staff = who.user == Some(MIA) || who.user == Some(ADAM) || who.role == "service_role";
    let admin = who.user == Some(ADAM) || who.role == "service_role";
    let user = who.user;
    let is = |u: Uuid| user == Some(u);
    match table {
        // Accounts: one's own; staff read all (contact details masked: checked below).
        "users" => {
            if staff {
                ids(&[ALICE, BOB, CAROL, DAVE, ERIN, MIA, ADAM])
            } else {
                user.map(|u| ids(&[u])).unwrap_or_default()
            }
        }
        // Visible profiles to every signed-in user, never across a block; Erin's hidden one
        // to herself and staff.
        "profiles" => match user {
            _ if staff => ids(&[ALICE, BOB, CAROL, DAVE, ERIN]),
            None => Vec::new(),
            Some(u) if u == CAROL => ids(&[ALICE, BOB, CAROL]),
            Some(u) if u == DAVE => ids(&[ALICE, BOB, DAVE]),
            Some(u) if u == ERIN => ids(&[ALICE, BOB, CAROL, DAVE, ERIN]),
            Some(_) => ids(&[ALICE, BOB, CAROL, DAVE]),
        },
        // One's own, and a match's approved ones; Carol and Dave are matched but blocked.
        "photos" => match user {
            _ if staff => ids(&[
                PHOTO_ALICE,
                PHOTO_ALICE_PENDING,
                PHOTO_BOB,
                PHOTO_CAROL,
                PHOTO_DAVE,
                PHOTO_ERIN,
            ]),
            _ if is(ALICE) => ids(&[PHOTO_ALICE, PHOTO_ALICE_PENDING, PHOTO_BOB]),
            _ if is(BOB) => ids(&[PHOTO_BOB, PHOTO_ALICE]),
            _ if is(CAROL) => ids(&[PHOTO_CAROL]),
            _ if is(DAVE) => ids(&[PHOTO_DAVE]),
            _ if is(ERIN) => ids(&[PHOTO_ERIN]),
            _ => Vec::new(),
        },
        // The recipient's; Dave's offer of Carol is hidden from him by her block.
        "match_offers" => match user {
            _ if staff => ids(&[
                OFFER_ERIN_BOB,
                OFFER_BOB_ERIN,
                OFFER_DAVE_CAROL,
                OFFER_ALICE_DAVE,
            ]),
            _ if is(ALICE) => ids(&[OFFER_ALICE_DAVE]),
            _ if is(BOB) => ids(&[OFFER_BOB_ERIN]),
            _ if is(ERIN) => ids(&[OFFER_ERIN_BOB]),
            _ => Vec::new(),
        },
        // Both participants; the blocked match of Carol and Dave is hidden from both.
        "matches" => match user {
            _ if staff => ids(&[MATCH_ALICE_BOB, MATCH_CAROL_DAVE]),
            _ if is(ALICE) || is(BOB) => ids(&[MATCH_ALICE_BOB]),
            _ => Vec::new(),
        },
        // Messages only between match participants, and two-way blocks: Carol and Dave,
        // still matched, read none of their messages; Erin, a third user, none of Alice's
        // and Bob's.
        "messages" => match user {
            _ if staff => ids(&[
                MSG_ALICE_TO_BOB,
                MSG_BOB_TO_ALICE,
                MSG_CAROL_TO_DAVE,
                MSG_DAVE_TO_CAROL,
            ]),
            _ if is(ALICE) || is(BOB) => ids(&[MSG_ALICE_TO_BOB, MSG_BOB_TO_ALICE]),
            _ => Vec::new(),
        },
        // The blocker reads the block; the blocked user is never told.
        "blocks" => match user {
            _ if staff => ids(&[BLOCK_CAROL_DAVE]),
            _ if is(CAROL) => ids(&[BLOCK_CAROL_DAVE]),
            _ => Vec::new(),
        },
        // Moderators vs reporters: the reporter reads their own report, staff all.
        "reports" => match user {
            _ if staff || is(CAROL) => ids(&[REPORT_CAROL_DAVE]),
            _ => Vec::new(),
        },
        // The reporter reads their report's item (notes masked: checked below), staff all.
        "moderation_queue" => match user {
            _ if staff || is(CAROL) => ids(&[QUEUE_CAROL_DAVE]),
            _ => Vec::new(),
        },
        // Enforcement: the subject reads their own, staff all.
        "enforcement_actions" => match user {
            _ if staff || is(DAVE) => ids(&[WARNING_DAVE]),
            _ => Vec::new(),
        },
        // Public entries for anonymous requests, every entry for signed-in users.
        "system_config" => match who.role {
            "anon" => texts(&["min_age", "support_email"]),
            _ => SYSTEM_CONFIG
                .iter()
                .map(|(k, _, _)| (*k).to_owned())
                .collect(),
        },
        // Signed-in users.
        "feature_flags" => match who.role {
            "anon" => Vec::new(),
            _ => ids(&[FLAG_VIDEO_CHAT, FLAG_ICEBREAKERS]),
        },
        // Segments and their members: admins.
        "user_segments" if admin => ids(&[SEGMENT_PREMIUM, SEGMENT_BETA]),
        "user_segment_members" if admin => {
            ids(&[MEMBER_ALICE_PREMIUM, MEMBER_ALICE_BETA, MEMBER_BOB_BETA])
        }
        // Admins, and each member of the segment (Alice: premium and beta; Bob: beta).
        "segment_config_overrides" => match user {
            _ if admin || is(ALICE) => ids(&[
                OVERRIDE_PREMIUM_LIKES,
                OVERRIDE_BETA_LIKES,
                OVERRIDE_BETA_CHAT_UI,
            ]),
            _ if is(BOB) => ids(&[OVERRIDE_BETA_LIKES, OVERRIDE_BETA_CHAT_UI]),
            _ => Vec::new(),
        },
        // One's own staff row, and admins.
        "admin_users" => match user {
            _ if admin => ids(&[STAFF_MIA, STAFF_ADAM]),
            _ if is(MIA) => ids(&[STAFF_MIA]),
            _ => Vec::new(),
        },
        // GDPR: own-only (and admins).
        "data_export_requests" if admin || is(ALICE) => ids(&[EXPORT_ALICE]),
        "data_deletion_requests" if admin || is(DAVE) => ids(&[DELETION_DAVE]),
        // The trail is empty before any staff write; user_segments & co. for non-admins.
        _ => Vec::new(),
    }
}

/// Every table's keys, as the service role reads them.
async fn snapshot(app: &TestApp) -> BTreeMap<&'static str, Vec<String>> {
    let mut all = BTreeMap::new();
    for table in dating::migration::TABLES {
        all.insert(table, app.every_key(table).await.into_iter().collect());
    }
    all
}

/// The rows of `table` the service role reads whose `column` is `value`.
async fn rows_where(app: &TestApp, table: &str, column: &str, value: Value) -> Vec<Value> {
    let service = app.who(&SERVICE).await;
    app.store()
        .list(&service, table, rowgate::planner::ListArgs::default())
        .await
        .expect("rows")
        .into_iter()
        .filter(|r| r.get(column) == Some(&value))
        .map(Value::Object)
        .collect()
}

fn id_of(row: &rowgate::policy::eval::Row) -> Uuid {
    row["id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .expect("an id")
}

async fn assert_reads_as_listed(app: &TestApp) {
    for table in dating::migration::TABLES {
        for who in &EVERYONE {
            let keys = visible(table, who);
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            app.assert_reads(who, table, &keys).await;
        }
    }
}

#[tokio::test]
async fn every_table_operation_and_principal_over_the_demo_data() {
    for backend in backends("dating::every_table_operation_and_principal_over_the_demo_data") {
        let app = TestApp::spawn_application(
            backend,
            dating::application().expect("the dating application builds"),
        )
        .await;
        assert_reads_as_listed(&app).await;
        refusals(&app).await;
        allowed(&app).await;
        app.stop().await;
    }
}

/// Every refused write, then the check that none of them wrote anything.
#[expect(
    clippy::too_many_lines,
    reason = "the refusals are one list, table by table"
)]
async fn refusals(app: &TestApp) {
    let before = snapshot(app).await;
    let message = |in_match: Uuid, to: Uuid| {
        row([
            ("match_id", json!(in_match)),
            ("recipient_id", json!(to)),
            ("body", json!("hi")),
        ])
    };
    let status = |s: &str| row([("status", json!(s))]);
    let by = |table: &str, column: &str, value: Value| match table {
        "profiles" => row([("user_id", value)]),
        "system_config" => row([("key", value)]),
        _ => {
            let _ = column;
            row([("id", value)])
        }
    };
    let cases: Vec<(&Who, Write, &str)> = vec![
        // Blocks, both ways, even inside the match they still share: neither writes to the
        // other, nor sees (so cannot touch) the match, the profile, the photos.
        (
            &DAVE_,
            Write::Insert("messages", message(MATCH_CAROL_DAVE, CAROL)),
            "FORBIDDEN",
        ),
        (
            &CAROL_,
            Write::Insert("messages", message(MATCH_CAROL_DAVE, DAVE)),
            "FORBIDDEN",
        ),
        (
            &DAVE_,
            Write::Update("matches", key(MATCH_CAROL_DAVE), status("unmatched")),
            "NOT_FOUND",
        ),
        (
            &CAROL_,
            Write::Update("matches", key(MATCH_CAROL_DAVE), status("unmatched")),
            "NOT_FOUND",
        ),
        (
            &DAVE_,
            Write::Update("match_offers", key(OFFER_DAVE_CAROL), status("accepted")),
            "NOT_FOUND",
        ),
        (
            &DAVE_,
            Write::Delete("blocks", key(BLOCK_CAROL_DAVE)),
            "NOT_FOUND",
        ),
        (
            &DAVE_,
            Write::Update(
                "messages",
                key(MSG_CAROL_TO_DAVE),
                row([("read_at", json!("2026-01-01T00:00:00Z"))]),
            ),
            "NOT_FOUND",
        ),
        (
            &CAROL_,
            Write::Delete("messages", key(MSG_CAROL_TO_DAVE)),
            "NOT_FOUND",
        ),
        // Messages: only between the two participants of an active match.
        (
            &ANON,
            Write::Insert("messages", message(MATCH_ALICE_BOB, BOB)),
            "FORBIDDEN",
        ),
        (
            &ERIN_,
            Write::Insert("messages", message(MATCH_ALICE_BOB, BOB)),
            "FORBIDDEN",
        ),
        (
            &ALICE_,
            Write::Insert("messages", message(MATCH_ALICE_BOB, ERIN)),
            "FORBIDDEN",
        ),
        (
            &ALICE_,
            Write::Insert("messages", message(MATCH_CAROL_DAVE, DAVE)),
            "FORBIDDEN",
        ),
        (
            &ALICE_,
            Write::Insert("messages", message(MATCH_ALICE_BOB, ALICE)),
            "FORBIDDEN",
        ),
        (
            &BOB_,
            Write::Insert(
                "messages",
                row([
                    ("match_id", json!(MATCH_ALICE_BOB)),
                    ("recipient_id", json!(ALICE)),
                    ("sender_id", json!(ALICE)),
                    ("body", json!("as alice")),
                ]),
            ),
            "BAD_USER_INPUT",
        ),
        (
            &BOB_,
            Write::Update(
                "messages",
                key(MSG_ALICE_TO_BOB),
                row([("body", json!("edited"))]),
            ),
            "BAD_USER_INPUT",
        ),
        (
            &ALICE_,
            Write::Update(
                "messages",
                key(MSG_ALICE_TO_BOB),
                row([("read_at", json!("2026-01-01T00:00:00Z"))]),
            ),
            "FORBIDDEN",
        ),
        (
            &BOB_,
            Write::Delete("messages", key(MSG_ALICE_TO_BOB)),
            "FORBIDDEN",
        ),
        (
            &ERIN_,
            Write::Delete("messages", key(MSG_ALICE_TO_BOB)),
            "NOT_FOUND",
        ),
        // Accounts.
        (
            &ANON,
            Write::Insert("users", row([("email", json!("x@dating.example"))])),
            "FORBIDDEN",
        ),
        (
            &ALICE_,
            Write::Update("users", key(BOB), row([("phone", json!("+1"))])),
            "NOT_FOUND",
        ),
        (
            &ALICE_,
            Write::Update("users", key(ALICE), status("banned")),
            "FORBIDDEN",
        ),
        (
            &MIA_,
            Write::Update("users", key(DAVE), status("banned")),
            "FORBIDDEN",
        ),
        (
            &ADAM_,
            Write::Update("users", key(DAVE), row([("email", json!("d@x"))])),
            "FORBIDDEN",
        ),
        (&ALICE_, Write::Delete("users", key(ALICE)), "FORBIDDEN"),
        // Profiles.
        (
            &ANON,
            Write::Insert("profiles", row([("display_name", json!("x"))])),
            "FORBIDDEN",
        ),
        (
            &BOB_,
            Write::Update(
                "profiles",
                by("profiles", "user_id", json!(ALICE)),
                row([("bio", json!("mine"))]),
            ),
            "FORBIDDEN",
        ),
        (
            &DAVE_,
            Write::Update(
                "profiles",
                by("profiles", "user_id", json!(CAROL)),
                row([("bio", json!("mine"))]),
            ),
            "NOT_FOUND",
        ),
        (
            &ALICE_,
            Write::Update(
                "profiles",
                by("profiles", "user_id", json!(ERIN)),
                row([("bio", json!("mine"))]),
            ),
            "NOT_FOUND",
        ),
        (
            &ALICE_,
            Write::Delete("profiles", by("profiles", "user_id", json!(ALICE))),
            "FORBIDDEN",
        ),
        // Photos: the owner's; staff moderate.
        (
            &ANON,
            Write::Insert("photos", row([("url", json!("u"))])),
            "FORBIDDEN",
        ),
        (
            &ALICE_,
            Write::Insert(
                "photos",
                row([("url", json!("u")), ("user_id", json!(BOB))]),
            ),
            "BAD_USER_INPUT",
        ),
        (
            &BOB_,
            Write::Update("photos", key(PHOTO_ALICE), row([("position", json!(5))])),
            "FORBIDDEN",
        ),
        (
            &BOB_,
            Write::Delete("photos", key(PHOTO_ALICE)),
            "FORBIDDEN",
        ),
        (
            &BOB_,
            Write::Update(
                "photos",
                key(PHOTO_ALICE_PENDING),
                row([("position", json!(5))]),
            ),
            "NOT_FOUND",
        ),
        (
            &ERIN_,
            Write::Delete("photos", key(PHOTO_ALICE)),
            "NOT_FOUND",
        ),
        (
            &ALICE_,
            Write::Update(
                "photos",
                key(PHOTO_ALICE_PENDING),
                row([("moderation_status", json!("approved"))]),
            ),
            "FORBIDDEN",
        ),
        (
            &MIA_,
            Write::Update("photos", key(PHOTO_ALICE), row([("position", json!(5))])),
            "FORBIDDEN",
        ),
        // Match offers: made by the matchmaker, answered once by their recipient.
        (
            &ALICE_,
            Write::Insert(
                "match_offers",
                row([("user_id", json!(ALICE)), ("candidate_id", json!(ERIN))]),
            ),
            "FORBIDDEN",
        ),
        (
            &BOB_,
            Write::Update("match_offers", key(OFFER_ERIN_BOB), status("accepted")),
            "NOT_FOUND",
        ),
        (
            &ERIN_,
            Write::Update("match_offers", key(OFFER_ERIN_BOB), status("expired")),
            "FORBIDDEN",
        ),
        (
            &ALICE_,
            Write::Update("match_offers", key(OFFER_ALICE_DAVE), status("accepted")),
            "FORBIDDEN",
        ),
        (
            &ERIN_,
            Write::Delete("match_offers", key(OFFER_ERIN_BOB)),
            "FORBIDDEN",
        ),
        // Matches: never made or deleted by a user; unmatched by a participant only.
        (
            &ALICE_,
            Write::Insert(
                "matches",
                row([("user1_id", json!(ALICE)), ("user2_id", json!(ERIN))]),
            ),
            "FORBIDDEN",
        ),
        (
            &ERIN_,
            Write::Update("matches", key(MATCH_ALICE_BOB), status("unmatched")),
            "NOT_FOUND",
        ),
        (
            &ALICE_,
            Write::Update("matches", key(MATCH_ALICE_BOB), status("active")),
            "FORBIDDEN",
        ),
        // Who unmatched and when are the gateway's to stamp: a client naming either (even
        // itself) is refused.
        (
            &ALICE_,
            Write::Update(
                "matches",
                key(MATCH_ALICE_BOB),
                row([("status", json!("unmatched")), ("unmatched_by", json!(BOB))]),
            ),
            "BAD_USER_INPUT",
        ),
        (
            &ALICE_,
            Write::Update(
                "matches",
                key(MATCH_ALICE_BOB),
                row([
                    ("status", json!("unmatched")),
                    ("unmatched_by", json!(ALICE)),
                ]),
            ),
            "BAD_USER_INPUT",
        ),
        (
            &ALICE_,
            Write::Update(
                "matches",
                key(MATCH_ALICE_BOB),
                row([
                    ("unmatched_at", json!("2026-01-01T00:00:00Z")),
                    ("status", json!("unmatched")),
                ]),
            ),
            "BAD_USER_INPUT",
        ),
        (
            &MIA_,
            Write::Update("matches", key(MATCH_ALICE_BOB), status("unmatched")),
            "FORBIDDEN",
        ),
        (
            &ALICE_,
            Write::Delete("matches", key(MATCH_ALICE_BOB)),
            "FORBIDDEN",
        ),
        // Blocks: one's own, of someone else.
        (
            &ANON,
            Write::Insert("blocks", row([("blocked_id", json!(ALICE))])),
            "FORBIDDEN",
        ),
        (
            &ALICE_,
            Write::Insert("blocks", row([("blocked_id", json!(ALICE))])),
            "FORBIDDEN",
        ),
        (
            &ALICE_,
            Write::Insert(
                "blocks",
                row([("blocked_id", json!(ERIN)), ("blocker_id", json!(BOB))]),
            ),
            "BAD_USER_INPUT",
        ),
        (
            &MIA_,
            Write::Delete("blocks", key(BLOCK_CAROL_DAVE)),
            "FORBIDDEN",
        ),
        // A block is not edited (no column may change): lifted and made anew instead.
        (
            &CAROL_,
            Write::Update(
                "blocks",
                key(BLOCK_CAROL_DAVE),
                row([("reason", json!("x"))]),
            ),
            "BAD_USER_INPUT",
        ),
        // Reports: of someone else, naming only their content; reviewed by staff.
        (
            &ANON,
            Write::Insert(
                "reports",
                row([("reported_user_id", json!(DAVE)), ("reason", json!("spam"))]),
            ),
            "FORBIDDEN",
        ),
        (
            &CAROL_,
            Write::Insert(
                "reports",
                row([
                    ("reported_user_id", json!(CAROL)),
                    ("reason", json!("spam")),
                ]),
            ),
            "FORBIDDEN",
        ),
        (
            &ALICE_,
            Write::Insert(
                "reports",
                row([
                    ("reported_user_id", json!(DAVE)),
                    ("reason", json!("spam")),
                    ("message_id", json!(MSG_DAVE_TO_CAROL)),
                ]),
            ),
            "FORBIDDEN",
        ),
        (
            &BOB_,
            Write::Insert(
                "reports",
                row([
                    ("reported_user_id", json!(ALICE)),
                    ("reason", json!("spam")),
                    ("photo_id", json!(PHOTO_CAROL)),
                ]),
            ),
            "FORBIDDEN",
        ),
        (
            &CAROL_,
            Write::Update("reports", key(REPORT_CAROL_DAVE), status("resolved")),
            "FORBIDDEN",
        ),
        (
            &DAVE_,
            Write::Update("reports", key(REPORT_CAROL_DAVE), status("dismissed")),
            "NOT_FOUND",
        ),
        (
            &MIA_,
            Write::Delete("reports", key(REPORT_CAROL_DAVE)),
            "FORBIDDEN",
        ),
        // The moderation queue: staff.
        (
            &ALICE_,
            Write::Insert(
                "moderation_queue",
                row([
                    ("subject_user_id", json!(DAVE)),
                    ("content_type", json!("user")),
                ]),
            ),
            "FORBIDDEN",
        ),
        (
            &CAROL_,
            Write::Update(
                "moderation_queue",
                key(QUEUE_CAROL_DAVE),
                status("resolved"),
            ),
            "FORBIDDEN",
        ),
        (
            &MIA_,
            Write::Delete("moderation_queue", key(QUEUE_CAROL_DAVE)),
            "FORBIDDEN",
        ),
        // Enforcement: staff write, the subject only reads.
        (
            &ALICE_,
            Write::Insert(
                "enforcement_actions",
                row([
                    ("subject_user_id", json!(DAVE)),
                    ("action", json!("ban")),
                    ("reason", json!("x")),
                ]),
            ),
            "FORBIDDEN",
        ),
        (
            &DAVE_,
            Write::Update(
                "enforcement_actions",
                key(WARNING_DAVE),
                row([("revoked_at", json!("2026-01-01T00:00:00Z"))]),
            ),
            "FORBIDDEN",
        ),
        (
            &MIA_,
            Write::Insert(
                "enforcement_actions",
                row([
                    ("subject_user_id", json!(DAVE)),
                    ("action", json!("ban")),
                    ("reason", json!("x")),
                    ("issued_by", json!(ADAM)),
                ]),
            ),
            "BAD_USER_INPUT",
        ),
        (
            &MIA_,
            Write::Delete("enforcement_actions", key(WARNING_DAVE)),
            "FORBIDDEN",
        ),
        // Configuration: admins.
        (
            &MIA_,
            Write::Insert(
                "system_config",
                row([("key", json!("k")), ("value", json!(1))]),
            ),
            "FORBIDDEN",
        ),
        (
            &ALICE_,
            Write::Update(
                "system_config",
                by("system_config", "key", json!("max_daily_likes")),
                row([("value", json!(9999))]),
            ),
            "FORBIDDEN",
        ),
        (
            &ANON,
            Write::Update(
                "system_config",
                by("system_config", "key", json!("max_daily_likes")),
                row([("value", json!(9999))]),
            ),
            "NOT_FOUND",
        ),
        (
            &ANON,
            Write::Delete(
                "system_config",
                by("system_config", "key", json!("min_age")),
            ),
            "FORBIDDEN",
        ),
        (
            &MIA_,
            Write::Update(
                "feature_flags",
                key(FLAG_ICEBREAKERS),
                row([("enabled", json!(true))]),
            ),
            "FORBIDDEN",
        ),
        (
            &ALICE_,
            Write::Insert(
                "feature_flags",
                row([("key", json!("k")), ("enabled", json!(true))]),
            ),
            "FORBIDDEN",
        ),
        (
            &ALICE_,
            Write::Insert(
                "user_segments",
                row([("key", json!("k")), ("name", json!("n"))]),
            ),
            "FORBIDDEN",
        ),
        (
            &MIA_,
            Write::Update(
                "user_segments",
                key(SEGMENT_BETA),
                row([("name", json!("n"))]),
            ),
            "NOT_FOUND",
        ),
        (
            &BOB_,
            Write::Insert(
                "user_segment_members",
                row([
                    ("segment_id", json!(SEGMENT_PREMIUM)),
                    ("user_id", json!(BOB)),
                ]),
            ),
            "FORBIDDEN",
        ),
        (
            &ALICE_,
            Write::Delete("user_segment_members", key(MEMBER_ALICE_BETA)),
            "NOT_FOUND",
        ),
        (
            &ALICE_,
            Write::Update(
                "segment_config_overrides",
                key(OVERRIDE_PREMIUM_LIKES),
                row([("value", json!(5000))]),
            ),
            "FORBIDDEN",
        ),
        (
            &MIA_,
            Write::Insert(
                "segment_config_overrides",
                row([
                    ("segment_id", json!(SEGMENT_BETA)),
                    ("key", json!("k")),
                    ("value", json!(1)),
                ]),
            ),
            "FORBIDDEN",
        ),
        // Staff: admins appoint; a moderator cannot promote themselves.
        (
            &MIA_,
            Write::Update(
                "admin_users",
                key(STAFF_MIA),
                row([("role", json!("admin"))]),
            ),
            "FORBIDDEN",
        ),
        (
            &ALICE_,
            Write::Insert(
                "admin_users",
                row([("user_id", json!(ALICE)), ("role", json!("admin"))]),
            ),
            "FORBIDDEN",
        ),
        (
            &MIA_,
            Write::Delete("admin_users", key(STAFF_MIA)),
            "FORBIDDEN",
        ),
        // The trail: written by the gateway only, not even by the service role.
        (
            &ADAM_,
            Write::Insert(
                "admin_audit_log",
                row([("action", json!("insert")), ("table_name", json!("users"))]),
            ),
            "FORBIDDEN",
        ),
        (
            &SERVICE,
            Write::Insert(
                "admin_audit_log",
                row([("action", json!("insert")), ("table_name", json!("users"))]),
            ),
            "FORBIDDEN",
        ),
        // GDPR requests: one's own, carried out by the service role.
        (
            &ANON,
            Write::Insert("data_export_requests", row([("format", json!("csv"))])),
            "FORBIDDEN",
        ),
        (
            &BOB_,
            Write::Insert("data_export_requests", row([("user_id", json!(ALICE))])),
            "BAD_USER_INPUT",
        ),
        (
            &ALICE_,
            Write::Update(
                "data_export_requests",
                key(EXPORT_ALICE),
                status("completed"),
            ),
            "FORBIDDEN",
        ),
        (
            &ALICE_,
            Write::Delete("data_export_requests", key(EXPORT_ALICE)),
            "FORBIDDEN",
        ),
        (
            &ANON,
            Write::Insert("data_deletion_requests", row([("reason", json!("x"))])),
            "FORBIDDEN",
        ),
        (
            &DAVE_,
            Write::Update(
                "data_deletion_requests",
                key(DELETION_DAVE),
                status("completed"),
            ),
            "FORBIDDEN",
        ),
        (
            &ALICE_,
            Write::Update(
                "data_deletion_requests",
                key(DELETION_DAVE),
                status("cancelled"),
            ),
            "NOT_FOUND",
        ),
        (
            &ADAM_,
            Write::Update(
                "data_deletion_requests",
                key(DELETION_DAVE),
                status("cancelled"),
            ),
            "FORBIDDEN",
        ),
        (
            &DAVE_,
            Write::Delete("data_deletion_requests", key(DELETION_DAVE)),
            "FORBIDDEN",
        ),
    ];
    // Every case is run before any is asserted, so that one run names every wrong outcome.
    let mut wrong = Vec::new();
    for (who, write, code) in cases {
        let what = format!("{}: {write:?}", who.label);
        match outcome(app, who, write).await {
            Err(got) if got.starts_with(&format!("{code}: ")) => {}
            got => wrong.push(format!("{what}: must be refused with {code}, got {got:?}")),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong outcomes:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(
        snapshot(app).await,
        before,
        "a refused write changed the data"
    );
}

/// Runs `write` as `who`, as the kit's `assert_write` does: the written row, or the
/// refusal's code and message (`CODE: message`).
async fn outcome(
    app: &TestApp,
    who: &Who,
    write: Write,
) -> Result<rowgate::policy::eval::Row, String> {
    let principal = app.who(who).await;
    let store = app.store();
    let ctx = rowgate::planner::WriteContext {
        principal: &principal,
        request_id: "policy-matrix",
        deadline: None,
    };
    let result = match write {
        Write::Insert(table, row) => store.insert(ctx, table, row).await,
        Write::Update(table, key, patch) => store.update(ctx, table, &key, patch).await,
        Write::Delete(table, key) => store.delete(ctx, table, &key).await,
    };
    result.map_err(|e| format!("{}: {e}", e.code().as_str()))
}

/// What is allowed, with its side effects.
#[expect(
    clippy::too_many_lines,
    reason = "the allowed writes are one story, in order"
)]
async fn allowed(app: &TestApp) {
    let allow = |who, write| app.assert_write(who, write, Expect::Allowed);

    // Messages between matches: sent, read by the recipient, unsent by the sender.
    let sent = allow(
        &ALICE_,
        Write::Insert(
            "messages",
            row([
                ("match_id", json!(MATCH_ALICE_BOB)),
                ("recipient_id", json!(BOB)),
                ("body", json!("See you at 10")),
            ]),
        ),
    )
    .await
    .expect("a message");
    assert_eq!(sent["sender_id"], json!(ALICE));
    let sent = id_of(&sent);
    app.assert_reads(&ERIN_, "messages", &[]).await;
    allow(
        &BOB_,
        Write::Update(
            "messages",
            key(sent),
            row([("read_at", json!("2026-12-01T10:00:00Z"))]),
        ),
    )
    .await;
    allow(&ALICE_, Write::Delete("messages", key(sent))).await;

    // Accounts: a newly signed-in user opens their own account (its id is their token's)
    // and a hidden profile, which other users do not see; each edits their own contact
    // details.
    let account = allow(
        &NEWCOMER_,
        Write::Insert("users", row([("email", json!("noa@dating.example"))])),
    )
    .await
    .expect("an account");
    assert_eq!(
        (&account["id"], &account["status"]),
        (&json!(NEWCOMER), &json!("active"))
    );
    let profile = allow(
        &NEWCOMER_,
        Write::Insert(
            "profiles",
            row([("display_name", json!("Noa")), ("is_visible", json!(false))]),
        ),
    )
    .await
    .expect("a profile");
    assert_eq!(profile["user_id"], json!(NEWCOMER));
    let strings = |ids: &[Uuid]| ids.iter().map(Uuid::to_string).collect::<Vec<_>>();
    let profiles = strings(&[ALICE, BOB, CAROL, DAVE, NEWCOMER]);
    let profiles: Vec<&str> = profiles.iter().map(String::as_str).collect();
    app.assert_reads(&NEWCOMER_, "profiles", &profiles).await;
    app.assert_reads(&ALICE_, "profiles", &profiles[..4]).await;
    app.assert_reads(&NEWCOMER_, "users", &profiles[4..]).await;
    allow(
        &ALICE_,
        Write::Update("users", key(ALICE), row([("phone", json!("+15550009999"))])),
    )
    .await;

    // Profiles and photos: one's own; staff approve.
    allow(
        &ALICE_,
        Write::Update(
            "profiles",
            row([("user_id", json!(ALICE))]),
            row([("bio", json!("Coffee first."))]),
        ),
    )
    .await;
    let photo = allow(
        &ALICE_,
        Write::Insert(
            "photos",
            row([("url", json!("https://img/x.jpg")), ("position", json!(2))]),
        ),
    )
    .await
    .expect("a photo");
    assert_eq!(
        (&photo["user_id"], &photo["moderation_status"]),
        (&json!(ALICE), &json!("pending"))
    );
    allow(
        &ALICE_,
        Write::Update("photos", key(id_of(&photo)), row([("position", json!(3))])),
    )
    .await;
    allow(&ALICE_, Write::Delete("photos", key(id_of(&photo)))).await;
    allow(
        &MIA_,
        Write::Update(
            "photos",
            key(PHOTO_ALICE_PENDING),
            row([("moderation_status", json!("approved"))]),
        ),
    )
    .await;
    // Now approved, Bob (her match) sees it.
    app.assert_reads(
        &BOB_,
        "photos",
        &[
            &PHOTO_BOB.to_string(),
            &PHOTO_ALICE.to_string(),
            &PHOTO_ALICE_PENDING.to_string(),
        ],
    )
    .await;

    // Two accepted offers become a match; then Erin and Bob see each other's photos.
    allow(
        &ERIN_,
        Write::Update(
            "match_offers",
            key(OFFER_ERIN_BOB),
            row([("status", json!("accepted"))]),
        ),
    )
    .await;
    assert!(
        rows_where(app, "matches", "user2_id", json!(ERIN))
            .await
            .is_empty()
            && rows_where(app, "matches", "user1_id", json!(ERIN))
                .await
                .is_empty(),
        "one acceptance makes no match"
    );
    let answered = allow(
        &BOB_,
        Write::Update(
            "match_offers",
            key(OFFER_BOB_ERIN),
            row([("status", json!("accepted"))]),
        ),
    )
    .await
    .expect("the offer");
    assert!(answered["responded_at"].is_string(), "{answered:?}");
    // The one who accepted first is `user1_id`.
    let made = rows_where(app, "matches", "user1_id", json!(ERIN)).await;
    assert_eq!(
        made.len(),
        1,
        "the second acceptance makes the match: {made:?}"
    );
    assert_eq!(
        (&made[0]["user2_id"], &made[0]["status"]),
        (&json!(BOB), &json!("active"))
    );
    let erin_bob = made[0]["id"].as_str().expect("an id").to_owned();
    app.assert_reads(
        &ERIN_,
        "photos",
        &[&PHOTO_ERIN.to_string(), &PHOTO_BOB.to_string()],
    )
    .await;
    app.assert_reads(&ERIN_, "matches", &[&erin_bob]).await;
    allow(
        &ERIN_,
        Write::Insert(
            "messages",
            row([
                ("match_id", json!(erin_bob)),
                ("recipient_id", json!(BOB)),
                ("body", json!("Hi Bob")),
            ]),
        ),
    )
    .await;

    // Unmatching: either participant; stamped with who (the writer, by the gateway) and
    // when; what the match shared is no longer shared.
    let unmatched = allow(
        &BOB_,
        Write::Update(
            "matches",
            key(MATCH_ALICE_BOB),
            row([("status", json!("unmatched"))]),
        ),
    )
    .await
    .expect("the match");
    assert_eq!(
        (
            &unmatched["unmatched_by"],
            unmatched["unmatched_at"].is_string()
        ),
        (&json!(BOB), true)
    );
    app.assert_reads(&ALICE_, "messages", &[]).await;
    app.assert_reads(
        &ALICE_,
        "photos",
        &[&PHOTO_ALICE.to_string(), &PHOTO_ALICE_PENDING.to_string()],
    )
    .await;
    app.assert_reads(&ALICE_, "matches", &[&MATCH_ALICE_BOB.to_string()])
        .await;
    app.assert_write(
        &ALICE_,
        Write::Insert(
            "messages",
            row([
                ("match_id", json!(MATCH_ALICE_BOB)),
                ("recipient_id", json!(BOB)),
                ("body", json!("Wait")),
            ]),
        ),
        Expect::Refused("FORBIDDEN"),
    )
    .await;

    // A report queues an item for the moderators, which its reporter reads without the
    // moderators' notes.
    let report = allow(
        &ALICE_,
        Write::Insert(
            "reports",
            row([
                ("reported_user_id", json!(ERIN)),
                ("reason", json!("underage")),
                ("photo_id", json!(PHOTO_ERIN)),
            ]),
        ),
    )
    .await
    .expect("a report");
    let queued = rows_where(app, "moderation_queue", "report_id", report["id"].clone()).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(
        (
            &queued[0]["subject_user_id"],
            &queued[0]["content_type"],
            &queued[0]["content_id"],
            &queued[0]["priority"],
        ),
        (
            &json!(ERIN),
            &json!("photo"),
            &json!(PHOTO_ERIN),
            &json!(10)
        )
    );
    let item = queued[0]["id"].as_str().expect("an id").to_owned();
    app.assert_reads(&ALICE_, "moderation_queue", &[&item])
        .await;
    allow(
        &MIA_,
        Write::Update(
            "moderation_queue",
            row([("id", json!(item))]),
            row([
                ("assigned_to", json!(MIA)),
                ("resolution", json!("checking her age")),
            ]),
        ),
    )
    .await;
    let alice = app.who(&ALICE_).await;
    let seen = app
        .store()
        .find(&alice, "moderation_queue", &row([("id", json!(item))]))
        .await
        .expect("find")
        .expect("her report's item");
    assert_eq!(
        (&seen["assigned_to"], &seen["resolution"], &seen["status"]),
        (&Value::Null, &Value::Null, &json!("pending")),
        "the reporter does not see the moderators' notes"
    );
    allow(
        &MIA_,
        Write::Update(
            "reports",
            key(id_of(&report)),
            row([("status", json!("reviewing"))]),
        ),
    )
    .await;

    // Enforcement: a moderator suspends Dave, whose account says so; Dave reads the action
    // but not who issued it.
    let suspension = allow(
        &MIA_,
        Write::Insert(
            "enforcement_actions",
            row([
                ("subject_user_id", json!(DAVE)),
                ("action", json!("suspension")),
                ("reason", json!("Repeated harassment")),
                ("expires_at", json!("2027-01-01T00:00:00Z")),
            ]),
        ),
    )
    .await
    .expect("an action");
    assert_eq!(suspension["issued_by"], json!(MIA));
    let dave = app.who(&DAVE_).await;
    let account = app
        .store()
        .find(&dave, "users", &key(DAVE))
        .await
        .expect("find")
        .expect("his account");
    assert_eq!(account["status"], json!("suspended"));
    let action = app
        .store()
        .find(&dave, "enforcement_actions", &key(id_of(&suspension)))
        .await
        .expect("find")
        .expect("his action");
    assert_eq!(action["issued_by"], Value::Null, "the issuer is masked");
    // Staff queue an item by hand (no report: no reporter reads it) and revoke an action.
    allow(
        &MIA_,
        Write::Insert(
            "moderation_queue",
            row([
                ("subject_user_id", json!(ERIN)),
                ("content_type", json!("profile")),
                ("content_id", json!(ERIN)),
            ]),
        ),
    )
    .await;
    app.assert_reads(&ALICE_, "moderation_queue", &[&item])
        .await;
    allow(
        &MIA_,
        Write::Update(
            "enforcement_actions",
            key(WARNING_DAVE),
            row([("revoked_at", json!("2026-12-01T00:00:00Z"))]),
        ),
    )
    .await;

    // Admins: configuration, segments and staff; a new member gets the segment's overrides.
    allow(
        &ADAM_,
        Write::Insert(
            "system_config",
            row([
                ("key", json!("max_photos")),
                ("value", json!(6)),
                ("is_public", json!(true)),
            ]),
        ),
    )
    .await;
    allow(
        &ADAM_,
        Write::Update(
            "segment_config_overrides",
            key(OVERRIDE_BETA_LIKES),
            row([("value", json!(75))]),
        ),
    )
    .await;
    allow(
        &ADAM_,
        Write::Insert(
            "user_segment_members",
            row([
                ("segment_id", json!(SEGMENT_BETA)),
                ("user_id", json!(CAROL)),
            ]),
        ),
    )
    .await;
    app.assert_reads(
        &CAROL_,
        "segment_config_overrides",
        &[
            &OVERRIDE_BETA_LIKES.to_string(),
            &OVERRIDE_BETA_CHAT_UI.to_string(),
        ],
    )
    .await;
    allow(
        &ADAM_,
        Write::Update(
            "feature_flags",
            key(FLAG_ICEBREAKERS),
            row([("enabled", json!(true))]),
        ),
    )
    .await;
    allow(
        &ADAM_,
        Write::Update("users", key(DAVE), row([("status", json!("active"))])),
    )
    .await;
    let staff = allow(
        &ADAM_,
        Write::Insert(
            "admin_users",
            row([("user_id", json!(ERIN)), ("role", json!("moderator"))]),
        ),
    )
    .await
    .expect("a staff row");
    allow(&ADAM_, Write::Delete("admin_users", key(id_of(&staff)))).await;
    allow(
        &ADAM_,
        Write::Update(
            "admin_users",
            key(STAFF_MIA),
            row([("role", json!("moderator"))]),
        ),
    )
    .await;
    // The rest of each configuration table's life: changed, added, removed.
    let max_photos = || row([("key", json!("max_photos"))]);
    allow(
        &ADAM_,
        Write::Update("system_config", max_photos(), row([("value", json!(9))])),
    )
    .await;
    allow(&ADAM_, Write::Delete("system_config", max_photos())).await;
    let flag = allow(
        &ADAM_,
        Write::Insert(
            "feature_flags",
            row([
                ("key", json!("voice_notes")),
                ("rollout_percent", json!(10)),
            ]),
        ),
    )
    .await
    .expect("a flag");
    assert_eq!(flag["enabled"], json!(false), "a new flag starts off");
    allow(&ADAM_, Write::Delete("feature_flags", key(id_of(&flag)))).await;
    let segment = allow(
        &ADAM_,
        Write::Insert(
            "user_segments",
            row([("key", json!("night_owls")), ("name", json!("Night owls"))]),
        ),
    )
    .await
    .expect("a segment");
    allow(
        &ADAM_,
        Write::Update(
            "user_segments",
            key(id_of(&segment)),
            row([("description", json!("Active after midnight"))]),
        ),
    )
    .await;
    let night = allow(
        &ADAM_,
        Write::Insert(
            "segment_config_overrides",
            row([
                ("segment_id", json!(id_of(&segment))),
                ("key", json!("chat_ui")),
                ("value", json!("dark")),
                ("priority", json!(5)),
            ]),
        ),
    )
    .await
    .expect("an override");
    allow(
        &ADAM_,
        Write::Delete("segment_config_overrides", key(id_of(&night))),
    )
    .await;
    allow(&ADAM_, Write::Delete("user_segments", key(id_of(&segment)))).await;
    // Bob leaves `beta`: its overrides are no longer his to read.
    allow(
        &ADAM_,
        Write::Delete("user_segment_members", key(MEMBER_BOB_BETA)),
    )
    .await;
    app.assert_reads(&BOB_, "segment_config_overrides", &[])
        .await;

    // GDPR: a user files their own requests and cancels a pending deletion.
    let export = allow(
        &BOB_,
        Write::Insert("data_export_requests", row([("format", json!("csv"))])),
    )
    .await
    .expect("an export");
    assert_eq!(
        (&export["user_id"], &export["status"]),
        (&json!(BOB), &json!("pending"))
    );
    let deletion = allow(
        &BOB_,
        Write::Insert(
            "data_deletion_requests",
            row([("reason", json!("found someone"))]),
        ),
    )
    .await
    .expect("a deletion");
    allow(
        &BOB_,
        Write::Update(
            "data_deletion_requests",
            key(id_of(&deletion)),
            row([("status", json!("cancelled"))]),
        ),
    )
    .await;
    allow(
        &SERVICE,
        Write::Update(
            "data_export_requests",
            key(EXPORT_ALICE),
            row([
                ("status", json!("completed")),
                ("download_url", json!("https://x/export.zip")),
            ]),
        ),
    )
    .await;

    // Unblocking gives back what the block hid, to both.
    allow(&CAROL_, Write::Delete("blocks", key(BLOCK_CAROL_DAVE))).await;
    app.assert_reads(
        &DAVE_,
        "messages",
        &[
            &MSG_CAROL_TO_DAVE.to_string(),
            &MSG_DAVE_TO_CAROL.to_string(),
        ],
    )
    .await;
    app.assert_reads(
        &CAROL_,
        "photos",
        &[&PHOTO_CAROL.to_string(), &PHOTO_DAVE.to_string()],
    )
    .await;
    allow(
        &DAVE_,
        Write::Insert(
            "messages",
            row([
                ("match_id", json!(MATCH_CAROL_DAVE)),
                ("recipient_id", json!(CAROL)),
                ("body", json!("Sorry.")),
            ]),
        ),
    )
    .await;
    // A new block hides it again, and refuses the next message in both directions.
    allow(
        &DAVE_,
        Write::Insert("blocks", row([("blocked_id", json!(CAROL))])),
    )
    .await;
    app.assert_reads(&CAROL_, "messages", &[]).await;
    app.assert_reads(
        &DAVE_,
        "profiles",
        &[&ALICE.to_string(), &BOB.to_string(), &DAVE.to_string()],
    )
    .await;
    for (from, to) in [(&CAROL_, DAVE), (&DAVE_, CAROL)] {
        app.assert_write(
            from,
            Write::Insert(
                "messages",
                row([
                    ("match_id", json!(MATCH_CAROL_DAVE)),
                    ("recipient_id", json!(to)),
                    ("body", json!("…")),
                ]),
            ),
            Expect::Refused("FORBIDDEN"),
        )
        .await;
    }

    // The trail holds every staff write (hooks' writes included) and nobody else's; only
    // admins read it.
    let trail = app.every_key("admin_audit_log").await;
    let service = app.who(&SERVICE).await;
    let rows = app
        .store()
        .list(
            &service,
            "admin_audit_log",
            rowgate::planner::ListArgs::default(),
        )
        .await
        .expect("the trail");
    let actors: std::collections::BTreeSet<String> = rows
        .iter()
        .map(|r| r["admin_id"].as_str().unwrap_or("none").to_owned())
        .collect();
    assert_eq!(
        actors,
        [MIA.to_string(), ADAM.to_string()].into_iter().collect(),
        "only staff writes are recorded: {rows:?}"
    );
    let written: std::collections::BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["table_name"].as_str().unwrap_or_default().to_owned(),
                r["action"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("photos", "update"),
        ("moderation_queue", "update"),
        ("reports", "update"),
        ("enforcement_actions", "insert"),
        ("users", "update"),
        ("system_config", "insert"),
        ("segment_config_overrides", "update"),
        ("user_segment_members", "insert"),
        ("feature_flags", "update"),
        ("admin_users", "insert"),
        ("admin_users", "update"),
        ("admin_users", "delete"),
        ("moderation_queue", "insert"),
        ("enforcement_actions", "update"),
        ("system_config", "update"),
        ("system_config", "delete"),
        ("feature_flags", "insert"),
        ("feature_flags", "delete"),
        ("user_segments", "insert"),
        ("user_segments", "update"),
        ("user_segments", "delete"),
        ("segment_config_overrides", "insert"),
        ("segment_config_overrides", "delete"),
        ("user_segment_members", "delete"),
    ] {
        assert!(
            written.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "the trail records {expected:?}: {written:?}"
        );
    }
    let trail: Vec<&str> = trail.iter().map(String::as_str).collect();
    for who in &EVERYONE {
        let expected = if who.user == Some(ADAM) || who.role == "service_role" {
            trail.clone()
        } else {
            Vec::new()
        };
        app.assert_reads(who, "admin_audit_log", &expected).await;
    }
}
