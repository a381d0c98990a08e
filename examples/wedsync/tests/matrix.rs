//! WedSync's policy matrix over its demo data, on SQLite and (with `DATABASE_URL`)
//! PostgreSQL, with the test kit's runner: every table × read (list, lookup by key, count)
//! × kind of principal — anonymous, each couple, a supplier's owner, admin and member, the
//! owner of another supplier, a signed-in user with no account, the service role — then
//! every table's writes, refusals first (and the data unchanged after them), then what is
//! allowed. The consent rule (an active connection shows a couple's core field values, a
//! pending one never, a revoke hides them at once) and the audit trail have tests of their
//! own.

use std::collections::BTreeMap;

use rowgate::policy::eval::Row;
use rowgate_tests::matrix::{Expect, Who, Write, row};
use rowgate_tests::{TestApp, backends};
use serde_json::json;
use uuid::Uuid;
use wedsync::*;

const ANON: Who = Who::anon();
const EMMA_W: Who = Who::user("emma (couple)", EMMA, None);
const NOAH_W: Who = Who::user("noah (couple)", NOAH, None);
const OLIVIA_W: Who = Who::user("olivia (owner)", OLIVIA, Some(LENS_AND_LIGHT));
const ARJUN_W: Who = Who::user("arjun (admin)", ARJUN, Some(LENS_AND_LIGHT));
const MIA_W: Who = Who::user("mia (member)", MIA, Some(LENS_AND_LIGHT));
const SOFIA_W: Who = Who::user("sofia (other supplier)", SOFIA, Some(BLOOM_AND_VINE));
const GRACE_W: Who = Who::user("grace (no account)", GRACE, None);
const SERVICE: Who = Who::service();

/// Every kind of principal of the matrix.
const EVERYONE: [Who; 9] = [
    ANON, EMMA_W, NOAH_W, OLIVIA_W, ARJUN_W, MIA_W, SOFIA_W, GRACE_W, SERVICE,
];

async fn spawn(backend: rowgate_tests::Backend) -> TestApp {
    TestApp::spawn_application(
        backend,
        application().expect("the wedsync application builds"),
    )
    .await
}

/// Asserts that `who` reads exactly `ids` of `table` (the others first: not listed, not
/// found by key, not counted).
async fn reads(app: &TestApp, who: &Who, table: &str, ids: &[Uuid]) {
    let keys: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    app.assert_reads(who, table, &keys).await;
}

/// The rows `who` must read of `table` in the demo data.
fn visible(table: &str, who: &Who) -> Vec<Uuid> {
    let lens_staff = [OLIVIA, ARJUN, MIA];
    let user = who.user;
    let is = |u: Uuid| user == Some(u);
    let lens = user.is_some_and(|u| lens_staff.contains(&u));
    let service = who.role == "service_role";
    let signed_in = user.is_some();
    let pick = |pairs: &[(bool, &[Uuid])]| -> Vec<Uuid> {
        pairs
            .iter()
            .filter(|(when, _)| *when)
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect()
    };
    match table {
        "suppliers" => pick(&[(signed_in || service, &[LENS_AND_LIGHT, BLOOM_AND_VINE])]),
        "team_members" => pick(&[
            (lens || service, &[TEAM_OLIVIA, TEAM_ARJUN, TEAM_MIA]),
            (is(SOFIA) || service, &[TEAM_SOFIA]),
        ]),
        // A supplier's team reads a couple only through an active connection: Lens & Light
        // reads Emma & James (active), not Noah & Liam (revoked); Bloom & Vine the other
        // way round (Emma & James is pending).
        "couples" => pick(&[
            (is(EMMA) || lens || service, &[EMMA_AND_JAMES]),
            (is(NOAH) || is(SOFIA) || service, &[NOAH_AND_LIAM]),
        ]),
        "clients" => pick(&[
            (lens || service, &[CLIENT_EMMA, CLIENT_PRIYA]),
            (is(SOFIA) || service, &[CLIENT_NOAH]),
        ]),
        "supplier_client_connections" => pick(&[
            (is(EMMA) || lens || service, &[CONNECTION_LENS_EMMA]),
            (is(EMMA) || is(SOFIA) || service, &[CONNECTION_BLOOM_EMMA]),
            (is(NOAH) || lens || service, &[CONNECTION_LENS_NOAH]),
            (is(NOAH) || is(SOFIA) || service, &[CONNECTION_BLOOM_NOAH]),
        ]),
        "core_fields" => pick(&[(
            signed_in || service,
            &[
                FIELD_WEDDING_DATE,
                FIELD_VENUE,
                FIELD_GUEST_COUNT,
                FIELD_CEREMONY_TIME,
            ],
        )]),
        // Rule: consent. The couple, and the team of a supplier with an active connection.
        "core_field_values" => pick(&[
            (
                is(EMMA) || lens || service,
                &[EMMA_DATE, EMMA_VENUE, EMMA_GUESTS],
            ),
            (is(NOAH) || is(SOFIA) || service, &[NOAH_DATE, NOAH_VENUE]),
        ]),
        // Couples read published forms of actively connected suppliers and the forms they
        // answered (Noah answered Lens & Light's before revoking).
        "forms" => pick(&[
            (
                is(EMMA) || is(NOAH) || lens || service,
                &[FORM_QUESTIONNAIRE],
            ),
            (lens || service, &[FORM_SHOT_LIST]),
            (is(NOAH) || is(SOFIA) || service, &[FORM_FLOWERS]),
        ]),
        // A supplier reads submitted responses only; Noah's flowers are still a draft.
        "form_responses" => pick(&[
            (is(EMMA) || lens || service, &[RESPONSE_EMMA_QUESTIONNAIRE]),
            (is(NOAH) || service, &[RESPONSE_NOAH_FLOWERS]),
            (is(NOAH) || lens || service, &[RESPONSE_NOAH_QUESTIONNAIRE]),
        ]),
        "notifications" => pick(&[
            (is(OLIVIA) || service, &[NOTIFICATION_OLIVIA]),
            (is(EMMA) || service, &[NOTIFICATION_EMMA]),
            (is(SOFIA) || service, &[NOTIFICATION_SOFIA]),
        ]),
        "activities" => pick(&[
            (is(EMMA) || lens || service, &[ACTIVITY_EMMA_SUBMITTED]),
            (lens || service, &[ACTIVITY_OLIVIA_PUBLISHED]),
            (is(EMMA) || is(SOFIA) || service, &[ACTIVITY_SOFIA_INVITED]),
            (is(NOAH) || service, &[ACTIVITY_NOAH_UPDATED]),
        ]),
        // Whoever acted, the couple whose values a row tells of, the audited row's
        // supplier's owners and admins (not its members).
        "audit_log" => pick(&[
            (is(EMMA) || service, &[AUDIT_EMMA_VENUE]),
            (is(OLIVIA) || is(ARJUN) || service, &[AUDIT_OLIVIA_FORM]),
            (is(NOAH) || service, &[AUDIT_NOAH_VENUE]),
        ]),
        other => panic!("no expectations for {other}"),
    }
}

/// Every row of every table, as the service role reads them.
async fn snapshot(app: &TestApp) -> BTreeMap<&'static str, BTreeMap<String, Row>> {
    let service = app.who(&SERVICE).await;
    let store = app.store();
    let mut all = BTreeMap::new();
    for table in migration::TABLES {
        let meta = store.table(table).expect("a served table").clone();
        let rows = store
            .list(&service, table, rowgate::planner::ListArgs::default())
            .await
            .unwrap_or_else(|e| panic!("list {table}: {e}"));
        all.insert(
            table,
            rows.into_iter()
                .map(|r| (rowgate::planner::row_id(&meta, &r), r))
                .collect(),
        );
    }
    all
}

fn key(id: Uuid) -> Row {
    row([("id", json!(id))])
}

fn id_of(row: &Row) -> Uuid {
    row["id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .expect("an id")
}

#[tokio::test]
async fn every_table_is_read_by_exactly_whom_its_policy_names() {
    for backend in backends("wedsync::every_table_is_read_by_exactly_whom_its_policy_names") {
        let app = spawn(backend).await;
        for table in migration::TABLES {
            for who in &EVERYONE {
                reads(&app, who, table, &visible(table, who)).await;
            }
        }
        app.stop().await;
    }
}

/// Writes that must be refused, with their code, every table's: nothing anonymous is
/// written; a row one cannot read is NOT_FOUND; a readable row one may not change is
/// FORBIDDEN; a column the gateway sets cannot be sent (BAD_USER_INPUT).
fn refused_writes() -> Vec<(Who, Write, &'static str)> {
    use Write::{Delete, Insert, Update};
    let supplier = || row([("name", json!("Mine")), ("business_type", json!("other"))]);
    let member = |supplier: Uuid, role: &str| {
        row([
            ("supplier_id", json!(supplier)),
            ("user_id", json!(GRACE)),
            ("role", json!(role)),
            ("display_name", json!("Grace")),
        ])
    };
    let couple = || row([("partner_one_name", json!("Grace"))]);
    let client = || row([("name", json!("A & B"))]);
    let connection = |supplier: Uuid, couple: Uuid, status: &str| {
        row([
            ("supplier_id", json!(supplier)),
            ("couple_id", json!(couple)),
            ("status", json!(status)),
        ])
    };
    let field = || {
        row([
            ("key", json!("dress_code")),
            ("label", json!("Dress code")),
            ("field_type", json!("text")),
            ("category", json!("guests")),
        ])
    };
    let value = |couple: Uuid, field: Uuid| {
        row([
            ("couple_id", json!(couple)),
            ("core_field_id", json!(field)),
            ("value", json!("x")),
        ])
    };
    let form = || {
        row([
            ("title", json!("New form")),
            ("form_schema", json!({"fields": []})),
        ])
    };
    let response = |form: Uuid, couple: Uuid| {
        row([
            ("form_id", json!(form)),
            ("couple_id", json!(couple)),
            ("answers", json!({})),
        ])
    };
    let notification = || {
        row([
            ("user_id", json!(EMMA)),
            ("kind", json!("x")),
            ("title", json!("x")),
        ])
    };
    let activity = |supplier: Option<Uuid>, couple: Option<Uuid>| {
        row([
            ("supplier_id", json!(supplier)),
            ("couple_id", json!(couple)),
            ("action", json!("note.added")),
        ])
    };
    let rename = |column: &str| row([(column, json!("renamed"))]);
    let audit = || {
        row([
            ("action", json!("insert")),
            ("table_name", json!("forms")),
            ("row_id", json!(FORM_QUESTIONNAIRE)),
            ("actor_role", json!("service_role")),
        ])
    };
    vec![
        // suppliers
        (ANON, Insert("suppliers", supplier()), "FORBIDDEN"),
        (
            ANON,
            Update("suppliers", key(LENS_AND_LIGHT), rename("name")),
            "NOT_FOUND",
        ),
        (
            MIA_W,
            Update("suppliers", key(LENS_AND_LIGHT), rename("name")),
            "FORBIDDEN",
        ),
        (
            SOFIA_W,
            Update("suppliers", key(LENS_AND_LIGHT), rename("name")),
            "FORBIDDEN",
        ),
        (
            EMMA_W,
            Update("suppliers", key(LENS_AND_LIGHT), rename("name")),
            "FORBIDDEN",
        ),
        (ANON, Delete("suppliers", key(LENS_AND_LIGHT)), "NOT_FOUND"),
        (
            ARJUN_W,
            Delete("suppliers", key(LENS_AND_LIGHT)),
            "FORBIDDEN",
        ),
        (
            SOFIA_W,
            Delete("suppliers", key(LENS_AND_LIGHT)),
            "FORBIDDEN",
        ),
        (
            EMMA_W,
            Delete("suppliers", key(BLOOM_AND_VINE)),
            "FORBIDDEN",
        ),
        // team_members — rule: team roles. Owners manage anyone, admins non-owners,
        // members only their own name; nobody but an owner makes an owner.
        (
            ANON,
            Insert("team_members", member(LENS_AND_LIGHT, "member")),
            "FORBIDDEN",
        ),
        (
            MIA_W,
            Insert("team_members", member(LENS_AND_LIGHT, "member")),
            "FORBIDDEN",
        ),
        (
            ARJUN_W,
            Insert("team_members", member(LENS_AND_LIGHT, "owner")),
            "FORBIDDEN",
        ),
        (
            SOFIA_W,
            Insert("team_members", member(LENS_AND_LIGHT, "member")),
            "FORBIDDEN",
        ),
        (
            EMMA_W,
            Insert("team_members", member(LENS_AND_LIGHT, "member")),
            "FORBIDDEN",
        ),
        (
            EMMA_W,
            Update("team_members", key(TEAM_MIA), rename("display_name")),
            "NOT_FOUND",
        ),
        (
            SOFIA_W,
            Update("team_members", key(TEAM_MIA), rename("display_name")),
            "NOT_FOUND",
        ),
        (
            MIA_W,
            Update("team_members", key(TEAM_ARJUN), rename("display_name")),
            "FORBIDDEN",
        ),
        (
            MIA_W,
            Update(
                "team_members",
                key(TEAM_MIA),
                row([("role", json!("admin"))]),
            ),
            "FORBIDDEN",
        ),
        (
            ARJUN_W,
            Update("team_members", key(TEAM_OLIVIA), rename("display_name")),
            "FORBIDDEN",
        ),
        (
            ARJUN_W,
            Update(
                "team_members",
                key(TEAM_MIA),
                row([("role", json!("owner"))]),
            ),
            "FORBIDDEN",
        ),
        (
            ARJUN_W,
            Delete("team_members", key(TEAM_OLIVIA)),
            "FORBIDDEN",
        ),
        (MIA_W, Delete("team_members", key(TEAM_ARJUN)), "FORBIDDEN"),
        (SOFIA_W, Delete("team_members", key(TEAM_MIA)), "NOT_FOUND"),
        // The last owner can be neither removed nor demoted.
        (
            OLIVIA_W,
            Delete("team_members", key(TEAM_OLIVIA)),
            "CONFLICT",
        ),
        (
            OLIVIA_W,
            Update(
                "team_members",
                key(TEAM_OLIVIA),
                row([("role", json!("admin"))]),
            ),
            "CONFLICT",
        ),
        (SOFIA_W, Delete("team_members", key(TEAM_SOFIA)), "CONFLICT"),
        // couples
        (ANON, Insert("couples", couple()), "FORBIDDEN"),
        (
            GRACE_W,
            Insert(
                "couples",
                row([("partner_one_name", json!("g")), ("user_id", json!(EMMA))]),
            ),
            "BAD_USER_INPUT",
        ),
        (EMMA_W, Insert("couples", couple()), "CONFLICT"),
        (
            EMMA_W,
            Update("couples", key(NOAH_AND_LIAM), rename("partner_one_name")),
            "NOT_FOUND",
        ),
        (
            OLIVIA_W,
            Update("couples", key(EMMA_AND_JAMES), rename("partner_one_name")),
            "FORBIDDEN",
        ),
        (
            SOFIA_W,
            Update("couples", key(EMMA_AND_JAMES), rename("partner_one_name")),
            "NOT_FOUND",
        ),
        (
            OLIVIA_W,
            Delete("couples", key(EMMA_AND_JAMES)),
            "FORBIDDEN",
        ),
        (SOFIA_W, Delete("couples", key(EMMA_AND_JAMES)), "NOT_FOUND"),
        (NOAH_W, Delete("couples", key(EMMA_AND_JAMES)), "NOT_FOUND"),
        // clients
        (ANON, Insert("clients", client()), "FORBIDDEN"),
        (EMMA_W, Insert("clients", client()), "FORBIDDEN"),
        (GRACE_W, Insert("clients", client()), "FORBIDDEN"),
        (
            OLIVIA_W,
            Insert(
                "clients",
                row([("name", json!("x")), ("supplier_id", json!(BLOOM_AND_VINE))]),
            ),
            "BAD_USER_INPUT",
        ),
        (
            EMMA_W,
            Update("clients", key(CLIENT_EMMA), rename("notes")),
            "NOT_FOUND",
        ),
        (
            SOFIA_W,
            Update("clients", key(CLIENT_EMMA), rename("notes")),
            "NOT_FOUND",
        ),
        (
            OLIVIA_W,
            Update("clients", key(CLIENT_NOAH), rename("notes")),
            "NOT_FOUND",
        ),
        (MIA_W, Delete("clients", key(CLIENT_PRIYA)), "FORBIDDEN"),
        (SOFIA_W, Delete("clients", key(CLIENT_PRIYA)), "NOT_FOUND"),
        // supplier_client_connections — rule: consent is the couple's. Only the couple
        // consents (active) or revokes, only a supplier's admin invites (pending).
        (
            ANON,
            Insert(
                "supplier_client_connections",
                connection(LENS_AND_LIGHT, EMMA_AND_JAMES, "active"),
            ),
            "FORBIDDEN",
        ),
        (
            EMMA_W,
            Insert(
                "supplier_client_connections",
                connection(LENS_AND_LIGHT, NOAH_AND_LIAM, "active"),
            ),
            "FORBIDDEN",
        ),
        (
            EMMA_W,
            Insert(
                "supplier_client_connections",
                connection(BLOOM_AND_VINE, EMMA_AND_JAMES, "pending"),
            ),
            "FORBIDDEN",
        ),
        (
            GRACE_W,
            Insert(
                "supplier_client_connections",
                connection(BLOOM_AND_VINE, EMMA_AND_JAMES, "active"),
            ),
            "FORBIDDEN",
        ),
        (
            MIA_W,
            Insert(
                "supplier_client_connections",
                connection(LENS_AND_LIGHT, NOAH_AND_LIAM, "pending"),
            ),
            "FORBIDDEN",
        ),
        (
            ARJUN_W,
            Insert(
                "supplier_client_connections",
                connection(LENS_AND_LIGHT, NOAH_AND_LIAM, "active"),
            ),
            "FORBIDDEN",
        ),
        (
            SOFIA_W,
            Insert(
                "supplier_client_connections",
                connection(LENS_AND_LIGHT, NOAH_AND_LIAM, "pending"),
            ),
            "FORBIDDEN",
        ),
        // A couple cannot name a supplier's client record (it cannot read it).
        (
            NOAH_W,
            Insert(
                "supplier_client_connections",
                row([
                    ("supplier_id", json!(LENS_AND_LIGHT)),
                    ("couple_id", json!(NOAH_AND_LIAM)),
                    ("status", json!("active")),
                    ("client_id", json!(CLIENT_PRIYA)),
                ]),
            ),
            "FORBIDDEN",
        ),
        (
            EMMA_W,
            Insert(
                "supplier_client_connections",
                row([
                    ("supplier_id", json!(BLOOM_AND_VINE)),
                    ("couple_id", json!(EMMA_AND_JAMES)),
                    ("status", json!("active")),
                    ("invited_by", json!(SOFIA)),
                ]),
            ),
            "BAD_USER_INPUT",
        ),
        (
            SOFIA_W,
            Update(
                "supplier_client_connections",
                key(CONNECTION_LENS_EMMA),
                row([("status", json!("revoked"))]),
            ),
            "NOT_FOUND",
        ),
        (
            NOAH_W,
            Update(
                "supplier_client_connections",
                key(CONNECTION_LENS_EMMA),
                row([("status", json!("revoked"))]),
            ),
            "NOT_FOUND",
        ),
        (
            ARJUN_W,
            Update(
                "supplier_client_connections",
                key(CONNECTION_LENS_EMMA),
                row([("status", json!("revoked"))]),
            ),
            "FORBIDDEN",
        ),
        (
            SOFIA_W,
            Update(
                "supplier_client_connections",
                key(CONNECTION_BLOOM_EMMA),
                row([("status", json!("active"))]),
            ),
            "FORBIDDEN",
        ),
        (
            MIA_W,
            Update(
                "supplier_client_connections",
                key(CONNECTION_LENS_EMMA),
                row([("client_id", json!(CLIENT_PRIYA))]),
            ),
            "FORBIDDEN",
        ),
        (
            EMMA_W,
            Update(
                "supplier_client_connections",
                key(CONNECTION_LENS_EMMA),
                row([("client_id", json!(CLIENT_PRIYA))]),
            ),
            "FORBIDDEN",
        ),
        (
            EMMA_W,
            Update(
                "supplier_client_connections",
                key(CONNECTION_LENS_EMMA),
                row([("couple_id", json!(NOAH_AND_LIAM))]),
            ),
            "BAD_USER_INPUT",
        ),
        // A supplier links a connection only to a client record of its own.
        (
            SOFIA_W,
            Update(
                "supplier_client_connections",
                key(CONNECTION_BLOOM_EMMA),
                row([("client_id", json!(CLIENT_PRIYA))]),
            ),
            "FORBIDDEN",
        ),
        (
            GRACE_W,
            Delete("supplier_client_connections", key(CONNECTION_LENS_EMMA)),
            "NOT_FOUND",
        ),
        (
            MIA_W,
            Delete("supplier_client_connections", key(CONNECTION_LENS_EMMA)),
            "FORBIDDEN",
        ),
        (
            SOFIA_W,
            Delete("supplier_client_connections", key(CONNECTION_LENS_EMMA)),
            "NOT_FOUND",
        ),
        // core_fields: the service role's.
        (ANON, Insert("core_fields", field()), "FORBIDDEN"),
        (EMMA_W, Insert("core_fields", field()), "FORBIDDEN"),
        (OLIVIA_W, Insert("core_fields", field()), "FORBIDDEN"),
        (
            ANON,
            Update("core_fields", key(FIELD_VENUE), rename("label")),
            "NOT_FOUND",
        ),
        (
            EMMA_W,
            Update("core_fields", key(FIELD_VENUE), rename("label")),
            "FORBIDDEN",
        ),
        (
            OLIVIA_W,
            Update("core_fields", key(FIELD_VENUE), rename("label")),
            "FORBIDDEN",
        ),
        (
            OLIVIA_W,
            Delete("core_fields", key(FIELD_VENUE)),
            "FORBIDDEN",
        ),
        (EMMA_W, Delete("core_fields", key(FIELD_VENUE)), "FORBIDDEN"),
        // core_field_values — rule: consent. The couple's alone to write; a supplier never
        // writes them, connected or not.
        (
            ANON,
            Insert(
                "core_field_values",
                value(EMMA_AND_JAMES, FIELD_CEREMONY_TIME),
            ),
            "FORBIDDEN",
        ),
        (
            NOAH_W,
            Insert(
                "core_field_values",
                value(EMMA_AND_JAMES, FIELD_CEREMONY_TIME),
            ),
            "FORBIDDEN",
        ),
        (
            OLIVIA_W,
            Insert(
                "core_field_values",
                value(EMMA_AND_JAMES, FIELD_CEREMONY_TIME),
            ),
            "FORBIDDEN",
        ),
        (
            GRACE_W,
            Insert(
                "core_field_values",
                value(EMMA_AND_JAMES, FIELD_CEREMONY_TIME),
            ),
            "FORBIDDEN",
        ),
        (
            EMMA_W,
            Insert("core_field_values", value(EMMA_AND_JAMES, FIELD_VENUE)),
            "CONFLICT",
        ),
        (
            OLIVIA_W,
            Update(
                "core_field_values",
                key(EMMA_VENUE),
                row([("value", json!("x"))]),
            ),
            "FORBIDDEN",
        ),
        (
            MIA_W,
            Update(
                "core_field_values",
                key(EMMA_VENUE),
                row([("value", json!("x"))]),
            ),
            "FORBIDDEN",
        ),
        (
            SOFIA_W,
            Update(
                "core_field_values",
                key(EMMA_VENUE),
                row([("value", json!("x"))]),
            ),
            "NOT_FOUND",
        ),
        (
            NOAH_W,
            Update(
                "core_field_values",
                key(EMMA_VENUE),
                row([("value", json!("x"))]),
            ),
            "NOT_FOUND",
        ),
        (
            EMMA_W,
            Update(
                "core_field_values",
                key(EMMA_VENUE),
                row([("couple_id", json!(NOAH_AND_LIAM))]),
            ),
            "BAD_USER_INPUT",
        ),
        (
            EMMA_W,
            Delete("core_field_values", key(EMMA_VENUE)),
            "FORBIDDEN",
        ),
        (
            OLIVIA_W,
            Delete("core_field_values", key(EMMA_VENUE)),
            "FORBIDDEN",
        ),
        (
            SOFIA_W,
            Delete("core_field_values", key(EMMA_VENUE)),
            "NOT_FOUND",
        ),
        // forms: owners and admins write their supplier's.
        (ANON, Insert("forms", form()), "FORBIDDEN"),
        (MIA_W, Insert("forms", form()), "FORBIDDEN"),
        (EMMA_W, Insert("forms", form()), "FORBIDDEN"),
        (
            ARJUN_W,
            Insert(
                "forms",
                row([
                    ("title", json!("x")),
                    ("form_schema", json!({})),
                    ("supplier_id", json!(BLOOM_AND_VINE)),
                ]),
            ),
            "BAD_USER_INPUT",
        ),
        (
            SOFIA_W,
            Update("forms", key(FORM_QUESTIONNAIRE), rename("title")),
            "NOT_FOUND",
        ),
        (
            EMMA_W,
            Update("forms", key(FORM_QUESTIONNAIRE), rename("title")),
            "FORBIDDEN",
        ),
        (
            MIA_W,
            Update("forms", key(FORM_QUESTIONNAIRE), rename("title")),
            "FORBIDDEN",
        ),
        (
            EMMA_W,
            Update("forms", key(FORM_SHOT_LIST), rename("title")),
            "NOT_FOUND",
        ),
        (MIA_W, Delete("forms", key(FORM_SHOT_LIST)), "FORBIDDEN"),
        (NOAH_W, Delete("forms", key(FORM_FLOWERS)), "FORBIDDEN"),
        (SOFIA_W, Delete("forms", key(FORM_SHOT_LIST)), "NOT_FOUND"),
        // form_responses: the couple's, to a form it may read; final once submitted.
        (
            ANON,
            Insert(
                "form_responses",
                response(FORM_QUESTIONNAIRE, EMMA_AND_JAMES),
            ),
            "FORBIDDEN",
        ),
        (
            EMMA_W,
            Insert("form_responses", response(FORM_FLOWERS, EMMA_AND_JAMES)),
            "FORBIDDEN",
        ),
        (
            EMMA_W,
            Insert("form_responses", response(FORM_SHOT_LIST, EMMA_AND_JAMES)),
            "FORBIDDEN",
        ),
        (
            NOAH_W,
            Insert("form_responses", response(FORM_SHOT_LIST, EMMA_AND_JAMES)),
            "FORBIDDEN",
        ),
        (
            OLIVIA_W,
            Insert("form_responses", response(FORM_SHOT_LIST, EMMA_AND_JAMES)),
            "FORBIDDEN",
        ),
        (
            EMMA_W,
            Insert(
                "form_responses",
                row([
                    ("form_id", json!(FORM_QUESTIONNAIRE)),
                    ("couple_id", json!(EMMA_AND_JAMES)),
                    ("supplier_id", json!(BLOOM_AND_VINE)),
                ]),
            ),
            "BAD_USER_INPUT",
        ),
        (
            EMMA_W,
            Update(
                "form_responses",
                key(RESPONSE_EMMA_QUESTIONNAIRE),
                row([("answers", json!({}))]),
            ),
            "FORBIDDEN",
        ),
        (
            OLIVIA_W,
            Update(
                "form_responses",
                key(RESPONSE_EMMA_QUESTIONNAIRE),
                row([("answers", json!({}))]),
            ),
            "FORBIDDEN",
        ),
        (
            SOFIA_W,
            Update(
                "form_responses",
                key(RESPONSE_NOAH_FLOWERS),
                row([("answers", json!({}))]),
            ),
            "NOT_FOUND",
        ),
        (
            EMMA_W,
            Delete("form_responses", key(RESPONSE_EMMA_QUESTIONNAIRE)),
            "FORBIDDEN",
        ),
        (
            OLIVIA_W,
            Delete("form_responses", key(RESPONSE_EMMA_QUESTIONNAIRE)),
            "FORBIDDEN",
        ),
        (
            SOFIA_W,
            Delete("form_responses", key(RESPONSE_NOAH_FLOWERS)),
            "NOT_FOUND",
        ),
        // notifications: written by the service role and the hooks only.
        (ANON, Insert("notifications", notification()), "FORBIDDEN"),
        (EMMA_W, Insert("notifications", notification()), "FORBIDDEN"),
        (
            OLIVIA_W,
            Insert("notifications", notification()),
            "FORBIDDEN",
        ),
        (
            OLIVIA_W,
            Update(
                "notifications",
                key(NOTIFICATION_EMMA),
                row([("read_at", json!("2027-01-01T00:00:00Z"))]),
            ),
            "NOT_FOUND",
        ),
        (
            EMMA_W,
            Update("notifications", key(NOTIFICATION_EMMA), rename("title")),
            "BAD_USER_INPUT",
        ),
        (
            SOFIA_W,
            Delete("notifications", key(NOTIFICATION_OLIVIA)),
            "NOT_FOUND",
        ),
        // activities — rule: append-only. Never updated nor deleted, not even by the
        // service role; written about one's own supplier or couple, connected.
        (
            ANON,
            Insert("activities", activity(None, Some(EMMA_AND_JAMES))),
            "FORBIDDEN",
        ),
        (
            EMMA_W,
            Insert("activities", activity(None, Some(NOAH_AND_LIAM))),
            "FORBIDDEN",
        ),
        (
            NOAH_W,
            Insert(
                "activities",
                activity(Some(LENS_AND_LIGHT), Some(NOAH_AND_LIAM)),
            ),
            "FORBIDDEN",
        ),
        (
            MIA_W,
            Insert(
                "activities",
                activity(Some(LENS_AND_LIGHT), Some(NOAH_AND_LIAM)),
            ),
            "FORBIDDEN",
        ),
        (
            SOFIA_W,
            Insert("activities", activity(Some(LENS_AND_LIGHT), None)),
            "FORBIDDEN",
        ),
        (
            GRACE_W,
            Insert("activities", activity(Some(BLOOM_AND_VINE), None)),
            "FORBIDDEN",
        ),
        (
            EMMA_W,
            Insert(
                "activities",
                row([
                    ("couple_id", json!(EMMA_AND_JAMES)),
                    ("action", json!("x")),
                    ("actor_id", json!(NOAH)),
                ]),
            ),
            "BAD_USER_INPUT",
        ),
        (
            EMMA_W,
            Update("activities", key(ACTIVITY_EMMA_SUBMITTED), rename("action")),
            "FORBIDDEN",
        ),
        (
            OLIVIA_W,
            Update(
                "activities",
                key(ACTIVITY_OLIVIA_PUBLISHED),
                rename("action"),
            ),
            "FORBIDDEN",
        ),
        (
            SERVICE,
            Update(
                "activities",
                key(ACTIVITY_OLIVIA_PUBLISHED),
                rename("action"),
            ),
            "FORBIDDEN",
        ),
        (
            EMMA_W,
            Delete("activities", key(ACTIVITY_EMMA_SUBMITTED)),
            "FORBIDDEN",
        ),
        (
            SERVICE,
            Delete("activities", key(ACTIVITY_EMMA_SUBMITTED)),
            "FORBIDDEN",
        ),
        // audit_log — rule: the audit trail is the gateway's; nobody writes it, not even
        // the service role.
        (EMMA_W, Insert("audit_log", audit()), "FORBIDDEN"),
        (SERVICE, Insert("audit_log", audit()), "FORBIDDEN"),
        (
            EMMA_W,
            Update(
                "audit_log",
                key(AUDIT_EMMA_VENUE),
                row([("request_id", json!("x"))]),
            ),
            "FORBIDDEN",
        ),
        (
            SERVICE,
            Update(
                "audit_log",
                key(AUDIT_EMMA_VENUE),
                row([("request_id", json!("x"))]),
            ),
            "FORBIDDEN",
        ),
        (
            OLIVIA_W,
            Delete("audit_log", key(AUDIT_OLIVIA_FORM)),
            "FORBIDDEN",
        ),
        (
            SERVICE,
            Delete("audit_log", key(AUDIT_OLIVIA_FORM)),
            "FORBIDDEN",
        ),
        // Never is refused before the row is even looked up: FORBIDDEN, readable or not.
        (
            MIA_W,
            Delete("audit_log", key(AUDIT_OLIVIA_FORM)),
            "FORBIDDEN",
        ),
        (
            ANON,
            Update(
                "audit_log",
                key(AUDIT_NOAH_VENUE),
                row([("request_id", json!("x"))]),
            ),
            "FORBIDDEN",
        ),
    ]
}

#[tokio::test]
async fn refused_writes_are_refused_with_their_code_and_change_nothing() {
    for backend in
        backends("wedsync::refused_writes_are_refused_with_their_code_and_change_nothing")
    {
        let app = spawn(backend).await;
        let before = snapshot(&app).await;
        for (who, write, code) in refused_writes() {
            app.assert_write(&who, write, Expect::Refused(code)).await;
        }
        assert_eq!(
            snapshot(&app).await,
            before,
            "{backend}: a refused write changed something"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn allowed_writes_are_written_with_their_side_effects() {
    for backend in backends("wedsync::allowed_writes_are_written_with_their_side_effects") {
        let app = spawn(backend).await;
        let allowed = |who: Who, write: Write| {
            let app = &app;
            async move {
                app.assert_write(&who, write, Expect::Allowed)
                    .await
                    .expect("a written row")
            }
        };
        use Write::{Delete, Insert, Update};

        // suppliers: Grace opens one and becomes its owner (hook); its admins edit it.
        let cakes = allowed(
            GRACE_W,
            Insert(
                "suppliers",
                row([
                    ("name", json!("Grace's Cakes")),
                    ("business_type", json!("caterer")),
                ]),
            ),
        )
        .await;
        let cakes_id = id_of(&cakes);
        let grace_team = app
            .store()
            .list(&app.who(&GRACE_W).await, "team_members", Default::default())
            .await
            .expect("team");
        assert_eq!(grace_team.len(), 1, "{backend}: {grace_team:?}");
        assert_eq!(grace_team[0]["role"], json!("owner"), "{backend}");
        assert_eq!(grace_team[0]["supplier_id"], json!(cakes_id), "{backend}");
        allowed(
            ARJUN_W,
            Update(
                "suppliers",
                key(LENS_AND_LIGHT),
                row([("website", json!("https://ll.example"))]),
            ),
        )
        .await;

        // team_members — rule: team roles. An admin adds a member and promotes them to
        // admin; a member renames themselves.
        let grace_at_lens = allowed(
            ARJUN_W,
            Insert(
                "team_members",
                row([
                    ("supplier_id", json!(LENS_AND_LIGHT)),
                    ("user_id", json!(GRACE)),
                    ("role", json!("member")),
                    ("display_name", json!("Grace")),
                ]),
            ),
        )
        .await;
        allowed(
            ARJUN_W,
            Update(
                "team_members",
                key(id_of(&grace_at_lens)),
                row([("role", json!("admin"))]),
            ),
        )
        .await;
        allowed(
            MIA_W,
            Update(
                "team_members",
                key(TEAM_MIA),
                row([("display_name", json!("Mia R."))]),
            ),
        )
        .await;
        // A second owner lets the first step down.
        allowed(
            OLIVIA_W,
            Update(
                "team_members",
                key(id_of(&grace_at_lens)),
                row([("role", json!("owner"))]),
            ),
        )
        .await;
        allowed(
            OLIVIA_W,
            Update(
                "team_members",
                key(TEAM_OLIVIA),
                row([("role", json!("admin"))]),
            ),
        )
        .await;
        // An admin cannot make herself owner again; the other owner can.
        app.assert_write(
            &OLIVIA_W,
            Update(
                "team_members",
                key(TEAM_OLIVIA),
                row([("role", json!("owner"))]),
            ),
            Expect::Refused("FORBIDDEN"),
        )
        .await;
        allowed(
            GRACE_W,
            Update(
                "team_members",
                key(TEAM_OLIVIA),
                row([("role", json!("owner"))]),
            ),
        )
        .await;
        allowed(GRACE_W, Delete("team_members", key(id_of(&grace_at_lens)))).await;

        // couples: Grace opens a couple account (hers, whatever she sends); Emma edits hers.
        let grace_couple = allowed(
            GRACE_W,
            Insert("couples", row([("partner_one_name", json!("Grace"))])),
        )
        .await;
        assert_eq!(grace_couple["user_id"], json!(GRACE), "{backend}");
        let grace_couple_id = id_of(&grace_couple);
        allowed(
            EMMA_W,
            Update(
                "couples",
                key(EMMA_AND_JAMES),
                row([("partner_two_name", json!("Jamie"))]),
            ),
        )
        .await;

        // clients: a member records one in the active tenant; an admin archives one.
        let client = allowed(
            MIA_W,
            Insert("clients", row([("name", json!("Zoe & Max"))])),
        )
        .await;
        assert_eq!(client["supplier_id"], json!(LENS_AND_LIGHT), "{backend}");
        allowed(
            MIA_W,
            Update(
                "clients",
                key(CLIENT_PRIYA),
                row([("status", json!("booked"))]),
            ),
        )
        .await;
        allowed(ARJUN_W, Delete("clients", key(id_of(&client)))).await;
        reads(&app, &MIA_W, "clients", &[CLIENT_EMMA, CLIENT_PRIYA]).await;

        // supplier_client_connections: an admin invites (pending), the couple accepts;
        // the couple connects itself (active); an admin links a client record.
        let invite = allowed(
            ARJUN_W,
            Insert(
                "supplier_client_connections",
                row([
                    ("supplier_id", json!(LENS_AND_LIGHT)),
                    ("couple_id", json!(grace_couple_id)),
                    ("status", json!("pending")),
                ]),
            ),
        )
        .await;
        assert_eq!(invite["invited_by"], json!(ARJUN), "{backend}");
        allowed(
            GRACE_W,
            Update(
                "supplier_client_connections",
                key(id_of(&invite)),
                row([("status", json!("active"))]),
            ),
        )
        .await;
        let self_connected = allowed(
            GRACE_W,
            Insert(
                "supplier_client_connections",
                row([
                    ("supplier_id", json!(BLOOM_AND_VINE)),
                    ("couple_id", json!(grace_couple_id)),
                    ("status", json!("active")),
                ]),
            ),
        )
        .await;
        allowed(
            ARJUN_W,
            Update(
                "supplier_client_connections",
                key(CONNECTION_LENS_EMMA),
                row([("client_id", json!(CLIENT_PRIYA))]),
            ),
        )
        .await;
        allowed(
            ARJUN_W,
            Update(
                "supplier_client_connections",
                key(CONNECTION_LENS_EMMA),
                row([("client_id", json!(CLIENT_EMMA))]),
            ),
        )
        .await;
        allowed(
            SOFIA_W,
            Delete("supplier_client_connections", key(id_of(&self_connected))),
        )
        .await;

        // core_fields: the service role's.
        let dress = allowed(
            SERVICE,
            Insert(
                "core_fields",
                row([
                    ("key", json!("dress_code")),
                    ("label", json!("Dress code")),
                    ("field_type", json!("text")),
                    ("category", json!("guests")),
                ]),
            ),
        )
        .await;
        allowed(
            SERVICE,
            Update(
                "core_fields",
                key(id_of(&dress)),
                row([("label", json!("Attire"))]),
            ),
        )
        .await;

        // core_field_values: the couple enters and changes its own; the service role
        // deletes.
        let time = allowed(
            EMMA_W,
            Insert(
                "core_field_values",
                row([
                    ("couple_id", json!(EMMA_AND_JAMES)),
                    ("core_field_id", json!(FIELD_CEREMONY_TIME)),
                    ("value", json!("14:00")),
                    ("status", json!("completed")),
                ]),
            ),
        )
        .await;
        allowed(
            EMMA_W,
            Update(
                "core_field_values",
                key(EMMA_GUESTS),
                row([("value", json!(135))]),
            ),
        )
        .await;
        allowed(SERVICE, Delete("core_field_values", key(id_of(&time)))).await;

        // forms: an admin writes one (the supplier and author set by the gateway) and
        // publishes the draft; the owner archives the new one.
        let form = allowed(
            ARJUN_W,
            Insert(
                "forms",
                row([
                    ("title", json!("Timeline")),
                    ("form_schema", json!({"fields": [{"key": "first_dance"}]})),
                ]),
            ),
        )
        .await;
        assert_eq!(form["supplier_id"], json!(LENS_AND_LIGHT), "{backend}");
        assert_eq!(form["created_by"], json!(ARJUN), "{backend}");
        allowed(
            ARJUN_W,
            Update(
                "forms",
                key(FORM_SHOT_LIST),
                row([("status", json!("published"))]),
            ),
        )
        .await;
        allowed(OLIVIA_W, Delete("forms", key(id_of(&form)))).await;

        // form_responses: Emma answers the now-published shot list (its supplier set from
        // the form) and withdraws her draft; Noah submits his draft, which notifies
        // Bloom & Vine's team and logs an activity.
        let answer = allowed(
            EMMA_W,
            Insert(
                "form_responses",
                row([
                    ("form_id", json!(FORM_SHOT_LIST)),
                    ("couple_id", json!(EMMA_AND_JAMES)),
                    ("answers", json!({"group_shots": "both families"})),
                ]),
            ),
        )
        .await;
        assert_eq!(answer["supplier_id"], json!(LENS_AND_LIGHT), "{backend}");
        assert_eq!(answer["status"], json!("draft"), "{backend}");
        allowed(EMMA_W, Delete("form_responses", key(id_of(&answer)))).await;
        reads(&app, &SOFIA_W, "form_responses", &[]).await;
        allowed(
            NOAH_W,
            Update(
                "form_responses",
                key(RESPONSE_NOAH_FLOWERS),
                row([("answers", json!({"palette": "white, sage and blush"}))]),
            ),
        )
        .await;
        allowed(
            NOAH_W,
            Update(
                "form_responses",
                key(RESPONSE_NOAH_FLOWERS),
                row([("status", json!("submitted"))]),
            ),
        )
        .await;
        reads(&app, &SOFIA_W, "form_responses", &[RESPONSE_NOAH_FLOWERS]).await;
        let sofia = app.who(&SOFIA_W).await;
        let notes = app
            .store()
            .list(&sofia, "notifications", Default::default())
            .await
            .expect("notifications");
        let submitted: Vec<&Row> = notes
            .iter()
            .filter(|n| n["kind"] == json!("form_response_submitted"))
            .collect();
        assert_eq!(submitted.len(), 1, "{backend}: {notes:?}");
        assert_eq!(
            submitted[0]["data"]["formResponseId"],
            json!(RESPONSE_NOAH_FLOWERS),
            "{backend}"
        );
        // Nobody of another team is told.
        let olivia = app.who(&OLIVIA_W).await;
        let olivia_notes = app
            .store()
            .list(&olivia, "notifications", Default::default())
            .await
            .expect("notifications");
        assert_eq!(olivia_notes.len(), 1, "{backend}: {olivia_notes:?}");
        let logged = app
            .store()
            .list(&sofia, "activities", Default::default())
            .await
            .expect("activities");
        assert!(
            logged
                .iter()
                .any(|a| a["action"] == json!("form_response.submitted")
                    && a["entity_id"] == json!(RESPONSE_NOAH_FLOWERS)
                    && a["actor_id"] == json!(NOAH)),
            "{backend}: {logged:?}"
        );

        // notifications: the service role writes one; its user reads, marks and deletes.
        let note = allowed(
            SERVICE,
            Insert(
                "notifications",
                row([
                    ("user_id", json!(EMMA)),
                    ("kind", json!("reminder")),
                    ("title", json!("Add your ceremony time")),
                ]),
            ),
        )
        .await;
        allowed(
            EMMA_W,
            Update(
                "notifications",
                key(id_of(&note)),
                row([("read_at", json!("2027-01-01T09:00:00Z"))]),
            ),
        )
        .await;
        allowed(EMMA_W, Delete("notifications", key(NOTIFICATION_EMMA))).await;

        // activities: a member logs about a connected couple; a couple about itself, and
        // with a supplier it is connected to.
        let activity = |supplier: Option<Uuid>, couple: Option<Uuid>| {
            row([
                ("supplier_id", json!(supplier)),
                ("couple_id", json!(couple)),
                ("action", json!("note.added")),
            ])
        };
        let logged = allowed(
            MIA_W,
            Insert(
                "activities",
                activity(Some(LENS_AND_LIGHT), Some(EMMA_AND_JAMES)),
            ),
        )
        .await;
        assert_eq!(logged["actor_id"], json!(MIA), "{backend}");
        allowed(
            EMMA_W,
            Insert("activities", activity(None, Some(EMMA_AND_JAMES))),
        )
        .await;
        allowed(
            NOAH_W,
            Insert(
                "activities",
                activity(Some(BLOOM_AND_VINE), Some(NOAH_AND_LIAM)),
            ),
        )
        .await;

        // suppliers again: the owner closes hers, and her team goes with it.
        allowed(GRACE_W, Delete("suppliers", key(cakes_id))).await;
        let grace_team = app
            .store()
            .list(&app.who(&GRACE_W).await, "team_members", Default::default())
            .await
            .expect("team");
        assert!(grace_team.is_empty(), "{backend}: {grace_team:?}");
        allowed(GRACE_W, Delete("couples", key(grace_couple_id))).await;

        // Every write above was audited (hooks' writes included), in the request that made
        // it (the demo's own history is left out).
        let service = app.who(&SERVICE).await;
        let trail = app
            .store()
            .list(&service, "audit_log", Default::default())
            .await
            .expect("audit");
        let of = |table: &str, action: &str| {
            trail
                .iter()
                .filter(|a| {
                    a["request_id"] == json!("policy-matrix")
                        && a["table_name"] == json!(table)
                        && a["action"] == json!(action)
                })
                .count()
        };
        assert_eq!(
            of("team_members", "insert"),
            2,
            "{backend}: the hook's owner and Grace"
        );
        assert_eq!(of("core_field_values", "insert"), 1, "{backend}");
        assert_eq!(of("core_field_values", "update"), 1, "{backend}");
        assert_eq!(of("core_field_values", "delete"), 1, "{backend}");
        assert_eq!(
            of("notifications", "insert"),
            2,
            "{backend}: the hook's and the service's"
        );
        app.stop().await;
    }
}

/// Rule: consent revoke, end to end through the store: a supplier reads a couple's core
/// field values while their connection is active, none once the couple revokes it — at
/// once, through every read path — and again when the couple re-activates it; a supplier
/// with a pending connection never reads them.
#[tokio::test]
async fn revoking_a_connection_hides_the_couples_values_at_once() {
    for backend in backends("wedsync::revoking_a_connection_hides_the_couples_values_at_once") {
        let app = spawn(backend).await;
        let emma_values = [EMMA_DATE, EMMA_VENUE, EMMA_GUESTS];
        let noah_values = [NOAH_DATE, NOAH_VENUE];
        // Deny first: pending is no consent.
        reads(&app, &SOFIA_W, "core_field_values", &noah_values).await;
        reads(&app, &SOFIA_W, "couples", &[NOAH_AND_LIAM]).await;
        for who in [OLIVIA_W, ARJUN_W, MIA_W] {
            reads(&app, &who, "core_field_values", &emma_values).await;
        }

        // Emma revokes Lens & Light.
        let revoke = |status: &str| {
            Write::Update(
                "supplier_client_connections",
                key(CONNECTION_LENS_EMMA),
                row([("status", json!(status))]),
            )
        };
        app.assert_write(&EMMA_W, revoke("revoked"), Expect::Allowed)
            .await;
        for who in [OLIVIA_W, ARJUN_W, MIA_W] {
            reads(&app, &who, "core_field_values", &[]).await;
            reads(&app, &who, "couples", &[]).await;
            // Their own records of the couple, and what the couple submitted, stay theirs.
            reads(&app, &who, "clients", &[CLIENT_EMMA, CLIENT_PRIYA]).await;
            reads(
                &app,
                &who,
                "form_responses",
                &[RESPONSE_EMMA_QUESTIONNAIRE, RESPONSE_NOAH_QUESTIONNAIRE],
            )
            .await;
        }
        reads(&app, &EMMA_W, "core_field_values", &emma_values).await;
        reads(&app, &SOFIA_W, "core_field_values", &noah_values).await;
        // Nor can the revoked supplier write the values it no longer reads.
        app.assert_write(
            &OLIVIA_W,
            Write::Update(
                "core_field_values",
                key(EMMA_VENUE),
                row([("value", json!("x"))]),
            ),
            Expect::Refused("NOT_FOUND"),
        )
        .await;
        // The supplier cannot undo the revoke.
        app.assert_write(&OLIVIA_W, revoke("active"), Expect::Refused("FORBIDDEN"))
            .await;

        // Consent given again: shown again.
        app.assert_write(&EMMA_W, revoke("active"), Expect::Allowed)
            .await;
        reads(&app, &MIA_W, "core_field_values", &emma_values).await;

        // Emma accepts Bloom & Vine's invitation: Sofia reads her values too.
        app.assert_write(
            &EMMA_W,
            Write::Update(
                "supplier_client_connections",
                key(CONNECTION_BLOOM_EMMA),
                row([("status", json!("active"))]),
            ),
            Expect::Allowed,
        )
        .await;
        let both: Vec<Uuid> = emma_values.iter().chain(&noah_values).copied().collect();
        reads(&app, &SOFIA_W, "core_field_values", &both).await;
        app.stop().await;
    }
}

/// Rule: audit rows of core-field changes. A core field change is audited with its old
/// and new values; the couple reads its rows (values included), the service role too; a
/// supplier reads none of them — not even one actively connected — and a supplier admin
/// reads their own supplier's rows.
#[tokio::test]
async fn core_field_changes_are_audited_with_old_and_new_values() {
    for backend in backends("wedsync::core_field_changes_are_audited_with_old_and_new_values") {
        let app = spawn(backend).await;
        app.assert_write(
            &EMMA_W,
            Write::Update(
                "core_field_values",
                key(EMMA_VENUE),
                row([
                    ("value", json!("Cliveden House")),
                    ("status", json!("partial")),
                ]),
            ),
            Expect::Allowed,
        )
        .await;
        let trail = |who: Who| {
            let app = &app;
            async move {
                let principal = app.who(&who).await;
                app.store()
                    .list(&principal, "audit_log", Default::default())
                    .await
                    .expect("audit")
                    .into_iter()
                    .filter(|a| {
                        a["row_id"] == json!(EMMA_VENUE)
                            && a["request_id"] == json!("policy-matrix")
                    })
                    .collect::<Vec<Row>>()
            }
        };
        for who in [EMMA_W, SERVICE] {
            let rows = trail(who).await;
            assert_eq!(rows.len(), 1, "{backend}: {}: {rows:?}", who.label);
            let entry = &rows[0];
            assert_eq!(entry["action"], json!("update"), "{backend}");
            assert_eq!(entry["table_name"], json!("core_field_values"), "{backend}");
            assert_eq!(entry["actor_id"], json!(EMMA), "{backend}");
            assert_eq!(entry["actor_role"], json!("authenticated"), "{backend}");
            assert_eq!(
                entry["old_values"]["value"],
                json!("Aynhoe Park"),
                "{backend}"
            );
            assert_eq!(
                entry["old_values"]["status"],
                json!("completed"),
                "{backend}"
            );
            assert_eq!(
                entry["new_values"]["value"],
                json!("Cliveden House"),
                "{backend}"
            );
            assert_eq!(entry["new_values"]["status"], json!("partial"), "{backend}");
            assert_eq!(
                entry["new_values"]["couple_id"],
                json!(EMMA_AND_JAMES),
                "{backend}"
            );
        }
        for who in [OLIVIA_W, ARJUN_W, MIA_W, SOFIA_W, NOAH_W, GRACE_W, ANON] {
            assert!(
                trail(who).await.is_empty(),
                "{backend}: {} reads the trail",
                who.label
            );
        }
        // The values of a row follow the audited row's policy: an admin reads his
        // supplier's form history with its values while he may read the form.
        let arjun = app.who(&ARJUN_W).await;
        let forms_trail = app
            .store()
            .list(&arjun, "audit_log", Default::default())
            .await
            .expect("audit");
        let form_row = forms_trail
            .iter()
            .find(|a| a["id"] == json!(AUDIT_OLIVIA_FORM))
            .expect("the form's audit row");
        assert_eq!(
            form_row["new_values"]["status"],
            json!("published"),
            "{backend}"
        );
        app.stop().await;
    }
}
