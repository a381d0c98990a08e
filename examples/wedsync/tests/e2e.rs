//! WedSync over real HTTP and WebSocket, on SQLite and (with `DATABASE_URL`) PostgreSQL:
//!
//! - the consent rule on a live subscription: a couple's core field change reaches the team
//!   of a supplier it is actively connected to, never a supplier whose connection is only
//!   pending; after the couple revokes, the team gets no more of its values (a row it had
//!   been sent leaves its view with a bare DELETE, the others say nothing at all);
//! - a submitted form response reaches the form's supplier team and nobody else's;
//! - the computed fields `Form.fieldCount` and `Couple.displayName`, read under their
//!   tables' policies.

use std::time::Duration;

use rowgate_tests::{TestApp, TestOptions, WsClient, WsMessage, backends, error_code};
use serde_json::{Value, json};
use uuid::Uuid;
use wedsync::*;

/// How long a subscriber waits for an event that must come.
const ARRIVES: Duration = Duration::from_secs(10);
/// How long a subscriber waits to be sure an event does not come (events of one
/// subscription arrive in order, so this only guards the tail).
const SILENCE: Duration = Duration::from_millis(700);

const VALUE_EVENTS: &str =
    "subscription { coreFieldValueChanged { op key { id } node { id coupleId value status } } }";

async fn spawn(backend: rowgate_tests::Backend) -> TestApp {
    TestApp::spawn_with(
        backend,
        TestOptions {
            application: Some(application().expect("the wedsync application builds")),
            ..TestOptions::default()
        },
    )
    .await
}

/// A WebSocket client signed in with `token`, its subscription `1` registered.
async fn subscriber(app: &TestApp, token: &str, query: &str) -> WsClient {
    let (mut client, ack) =
        WsClient::connect(app, json!({ "Authorization": format!("Bearer {token}") })).await;
    assert!(
        matches!(&ack, WsMessage::Message(m) if m["type"] == "connection_ack"),
        "{ack:?}"
    );
    client.subscribe_registered(app, "1", query).await;
    client
}

/// Runs `query` as `token`; panics on errors.
async fn ok(app: &TestApp, query: &str, variables: Value, token: &str) -> Value {
    let (_, body) = app.graphql(query, variables, Some(token)).await;
    assert!(body["errors"].is_null(), "{query}: {body}");
    body["data"].clone()
}

/// The couple's user changes one of its core field values over HTTP.
async fn set_value(app: &TestApp, token: &str, id: Uuid, value: Value) {
    let data = ok(
        app,
        "mutation($id: UUID!, $v: JSON) { updateCoreFieldValue(id: $id, patch: {value: $v}) { id value } }",
        json!({"id": id, "v": value}),
        token,
    )
    .await;
    assert_eq!(
        data["updateCoreFieldValue"],
        json!({"id": id, "value": value})
    );
}

/// The ids of `field`'s nodes, sorted.
fn ids(data: &Value, field: &str) -> Vec<String> {
    let mut ids: Vec<String> = data[field]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no {field}: {data}"))
        .iter()
        .map(|n| n["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    ids.sort();
    ids
}

fn sorted(ids: &[Uuid]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    ids.sort();
    ids
}

/// Consent revoke, live: Lens & Light (active with Emma & James, revoked by Noah & Liam)
/// and Bloom & Vine (pending with Emma & James, active with Noah & Liam) each receive only
/// the values of the couple whose connection with them is active — and Lens & Light none
/// of Emma & James's once she revokes it.
#[tokio::test]
async fn a_core_field_change_reaches_only_actively_connected_suppliers_until_revoked() {
    for backend in backends("wedsync: core field value subscription and revoke") {
        let app = spawn(backend).await;
        let emma = app.token(EMMA, None);
        let noah = app.token(NOAH, None);
        let olivia = app.token(OLIVIA, Some(LENS_AND_LIGHT));
        let mia = app.token(MIA, Some(LENS_AND_LIGHT));
        let sofia = app.token(SOFIA, Some(BLOOM_AND_VINE));
        let grace = app.token(GRACE, None);

        let mut lens_owner = subscriber(&app, &olivia, VALUE_EVENTS).await;
        let mut lens_member = subscriber(&app, &mia, VALUE_EVENTS).await;
        let mut bloom = subscriber(&app, &sofia, VALUE_EVENTS).await;
        let mut stranger = subscriber(&app, &grace, VALUE_EVENTS).await;

        // Emma changes her venue, then Noah his. Each supplier's first event is the change
        // of the couple actively connected to it: Bloom & Vine's pending invitation gives it
        // nothing of Emma's, Noah's revoke gives Lens & Light nothing of his.
        set_value(&app, &emma, EMMA_VENUE, json!("Cliveden House")).await;
        set_value(&app, &noah, NOAH_VENUE, json!("Syon Park")).await;
        for (who, client) in [("olivia", &mut lens_owner), ("mia", &mut lens_member)] {
            let event = client
                .next_data("1", ARRIVES)
                .await
                .unwrap_or_else(|| panic!("{backend}: {who} gets Emma's change"));
            assert_eq!(
                event["coreFieldValueChanged"],
                json!({
                    "op": "UPDATE",
                    "key": {"id": EMMA_VENUE},
                    "node": {
                        "id": EMMA_VENUE,
                        "coupleId": EMMA_AND_JAMES,
                        "value": "Cliveden House",
                        "status": "COMPLETED",
                    },
                }),
                "{backend}: {who}"
            );
        }
        let event = bloom
            .next_data("1", ARRIVES)
            .await
            .expect("Sofia gets Noah's change");
        assert_eq!(
            event["coreFieldValueChanged"]["node"],
            json!({
                "id": NOAH_VENUE,
                "coupleId": NOAH_AND_LIAM,
                "value": "Syon Park",
                "status": "COMPLETED",
            }),
            "{backend}"
        );
        for (who, client) in [
            ("olivia", &mut lens_owner),
            ("mia", &mut lens_member),
            ("sofia", &mut bloom),
            ("grace", &mut stranger),
        ] {
            assert_eq!(
                client.next(SILENCE).await,
                None,
                "{backend}: {who} got another couple's values"
            );
        }

        // The supplier cannot revoke on the couple's behalf, nor undo the couple's revoke.
        let revoke = "mutation($id: UUID!, $s: SupplierClientConnectionStatus!) { updateSupplierClientConnection(id: $id, patch: {status: $s}) { id status } }";
        let (_, body) = app
            .graphql(
                revoke,
                json!({"id": CONNECTION_LENS_EMMA, "s": "REVOKED"}),
                Some(&olivia),
            )
            .await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{backend}: {body}");

        // Emma revokes Lens & Light: its team reads none of her values at once.
        let data = ok(
            &app,
            revoke,
            json!({"id": CONNECTION_LENS_EMMA, "s": "REVOKED"}),
            &emma,
        )
        .await;
        assert_eq!(
            data["updateSupplierClientConnection"]["status"], "REVOKED",
            "{backend}"
        );
        let values = "{ coreFieldValues { nodes { id } } }";
        for token in [&olivia, &mia] {
            let data = ok(&app, values, json!({}), token).await;
            assert_eq!(
                ids(&data, "coreFieldValues"),
                Vec::<String>::new(),
                "{backend}"
            );
        }
        let data = ok(&app, values, json!({}), &emma).await;
        assert_eq!(
            ids(&data, "coreFieldValues"),
            sorted(&[EMMA_DATE, EMMA_VENUE, EMMA_GUESTS]),
            "{backend}"
        );

        // Then she changes her guest count (never sent to Lens & Light) and her venue (sent
        // before): the guest count says nothing to them, the venue only that it left their
        // view — its key, no values.
        set_value(&app, &emma, EMMA_GUESTS, json!(140)).await;
        set_value(&app, &emma, EMMA_VENUE, json!("Hedsor House")).await;
        for (who, client) in [("olivia", &mut lens_owner), ("mia", &mut lens_member)] {
            let event = client
                .next_data("1", ARRIVES)
                .await
                .unwrap_or_else(|| panic!("{backend}: {who} is told the venue left"));
            assert_eq!(
                event["coreFieldValueChanged"],
                json!({"op": "DELETE", "key": {"id": EMMA_VENUE}, "node": null}),
                "{backend}: {who}"
            );
        }
        // And nothing more, however often she writes.
        set_value(&app, &emma, EMMA_VENUE, json!("Hedsor House, Taplow")).await;
        set_value(&app, &emma, EMMA_DATE, json!("2027-06-19")).await;
        for (who, client) in [
            ("olivia", &mut lens_owner),
            ("mia", &mut lens_member),
            ("sofia", &mut bloom),
            ("grace", &mut stranger),
        ] {
            assert_eq!(
                client.next(SILENCE).await,
                None,
                "{backend}: {who} got Emma's values after the revoke"
            );
        }

        // Consent given again: the next change reaches Lens & Light again.
        ok(
            &app,
            revoke,
            json!({"id": CONNECTION_LENS_EMMA, "s": "ACTIVE"}),
            &emma,
        )
        .await;
        set_value(&app, &emma, EMMA_GUESTS, json!(150)).await;
        let event = lens_owner
            .next_data("1", ARRIVES)
            .await
            .expect("olivia gets Emma's change again");
        assert_eq!(
            event["coreFieldValueChanged"]["node"]["value"],
            json!(150),
            "{backend}"
        );
        assert_eq!(bloom.next(SILENCE).await, None, "{backend}");
        app.stop().await;
    }
}

/// A couple submits its answers: the form's supplier team is sent them, another supplier's
/// team is not; a draft is sent to no supplier at all.
#[tokio::test]
async fn a_submitted_form_response_reaches_only_the_forms_supplier_team() {
    for backend in backends("wedsync: form response subscription") {
        let app = spawn(backend).await;
        let noah = app.token(NOAH, None);
        let sofia = app.token(SOFIA, Some(BLOOM_AND_VINE));
        let olivia = app.token(OLIVIA, Some(LENS_AND_LIGHT));
        let events =
            "subscription { formResponseChanged { op node { id formId status answers } } }";
        let mut bloom = subscriber(&app, &sofia, events).await;
        let mut lens = subscriber(&app, &olivia, events).await;

        let update = "mutation($id: UUID!, $p: FormResponsePatch!) { updateFormResponse(id: $id, patch: $p) { id status } }";
        // Deny first: a draft's change is the couple's own.
        ok(
            &app,
            update,
            json!({"id": RESPONSE_NOAH_FLOWERS, "p": {"answers": {"palette": "sage"}}}),
            &noah,
        )
        .await;
        // Then Noah submits it.
        let data = ok(
            &app,
            update,
            json!({"id": RESPONSE_NOAH_FLOWERS, "p": {"status": "SUBMITTED"}}),
            &noah,
        )
        .await;
        assert_eq!(
            data["updateFormResponse"]["status"], "SUBMITTED",
            "{backend}"
        );
        let event = bloom
            .next_data("1", ARRIVES)
            .await
            .expect("sofia gets the submitted response");
        assert_eq!(
            event["formResponseChanged"],
            json!({
                "op": "UPDATE",
                "node": {
                    "id": RESPONSE_NOAH_FLOWERS,
                    "formId": FORM_FLOWERS,
                    "status": "SUBMITTED",
                    "answers": {"palette": "sage"},
                },
            }),
            "{backend}"
        );
        assert_eq!(bloom.next(SILENCE).await, None, "{backend}");
        assert_eq!(
            lens.next(SILENCE).await,
            None,
            "{backend}: another supplier got the answers"
        );

        // The hook told Sofia, over HTTP too.
        let data = ok(
            &app,
            "{ notifications { nodes { kind data } } }",
            json!({}),
            &sofia,
        )
        .await;
        let told = data["notifications"]["nodes"]
            .as_array()
            .expect("notifications")
            .iter()
            .any(|n| {
                n["kind"] == "form_response_submitted"
                    && n["data"]["formResponseId"] == json!(RESPONSE_NOAH_FLOWERS)
            });
        assert!(told, "{backend}: {data}");
        app.stop().await;
    }
}

/// The computed fields, read over HTTP under their tables' policies: a form's field count
/// from its JSON schema, a couple's display name — shown to a supplier only while the
/// couple's connection is active.
#[tokio::test]
async fn computed_fields_are_read_under_their_tables_policies() {
    for backend in backends("wedsync: computed fields") {
        let app = spawn(backend).await;
        let emma = app.token(EMMA, None);
        let olivia = app.token(OLIVIA, Some(LENS_AND_LIGHT));
        let sofia = app.token(SOFIA, Some(BLOOM_AND_VINE));
        let grace = app.token(GRACE, None);

        // Deny first: nobody reads a couple they are not actively connected to, computed
        // field or not.
        let couple = "query($id: UUID!) { couple(id: $id) { displayName } }";
        for token in [&sofia, &grace] {
            let data = ok(&app, couple, json!({"id": EMMA_AND_JAMES}), token).await;
            assert!(data["couple"].is_null(), "{backend}: {data}");
        }
        for token in [&emma, &olivia] {
            let data = ok(&app, couple, json!({"id": EMMA_AND_JAMES}), token).await;
            assert_eq!(
                data["couple"]["displayName"], "Emma & James",
                "{backend}: {data}"
            );
        }
        // The couple's own rename shows at once.
        let data = ok(
            &app,
            "mutation($id: UUID!) { updateCouple(id: $id, patch: {partnerTwoName: \"Jamie\"}) { displayName } }",
            json!({"id": EMMA_AND_JAMES}),
            &emma,
        )
        .await;
        assert_eq!(
            data["updateCouple"]["displayName"], "Emma & Jamie",
            "{backend}"
        );

        // Forms: Lens & Light's team reads its draft too; Emma only the published one.
        let forms = "{ forms(orderBy: [TITLE_ASC]) { nodes { title fieldCount } } }";
        let data = ok(&app, forms, json!({}), &olivia).await;
        assert_eq!(
            data["forms"]["nodes"],
            json!([
                {"title": "Photography questionnaire", "fieldCount": 3},
                {"title": "Shot list (draft)", "fieldCount": 1},
            ]),
            "{backend}"
        );
        let data = ok(&app, forms, json!({}), &emma).await;
        assert_eq!(
            data["forms"]["nodes"],
            json!([{"title": "Photography questionnaire", "fieldCount": 3}]),
            "{backend}"
        );
        // A new form's count follows its schema; one without a list of fields has none.
        let create = "mutation($s: JSON!) { createForm(input: {title: \"Timeline\", formSchema: $s}) { fieldCount } }";
        let data = ok(
            &app,
            create,
            json!({"s": {"fields": [{"key": "first_dance"}, {"key": "speeches"}]}}),
            &olivia,
        )
        .await;
        assert_eq!(data["createForm"]["fieldCount"], 2, "{backend}");
        let data = ok(&app, create, json!({"s": {"sections": []}}), &olivia).await;
        assert!(
            data["createForm"]["fieldCount"].is_null(),
            "{backend}: {data}"
        );
        app.stop().await;
    }
}
