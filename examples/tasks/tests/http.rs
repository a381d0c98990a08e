//! The tasks application over real HTTP and WebSocket, on SQLite and (with `DATABASE_URL`)
//! PostgreSQL: what each user reads, a refused write that writes nothing, and a
//! subscription event that reaches only those who may read the row.

use std::time::Duration;

use rowgate_tests::{TestApp, TestOptions, WsClient, WsMessage, backends, error_code};
use serde_json::{Value, json};
use tasks::{ADA, ADAS_NOTES, BEN, LAUNCH};

async fn spawn(backend: rowgate_tests::Backend) -> TestApp {
    TestApp::spawn_with(
        backend,
        TestOptions {
            application: Some(tasks::application().expect("the tasks application builds")),
            ..TestOptions::default()
        },
    )
    .await
}

fn titles(body: &Value, field: &str) -> Vec<String> {
    let mut titles: Vec<String> = body["data"][field]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no {field}: {body}"))
        .iter()
        .map(|n| {
            n["title"]
                .as_str()
                .or(n["name"].as_str())
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    titles.sort();
    titles
}

#[tokio::test]
async fn each_user_reads_their_own_and_the_public_and_writes_only_their_own() {
    for backend in backends("tasks: reads and writes") {
        let app = spawn(backend).await;
        let (ada, ben) = (app.token(ADA, None), app.token(BEN, None));

        // Deny first: ben and an anonymous client do not see Ada's private project or its
        // tasks.
        let (_, body) = app
            .graphql("{ projects { nodes { name } } }", json!({}), Some(&ben))
            .await;
        assert_eq!(
            titles(&body, "projects"),
            ["Ben's errands", "Launch"],
            "{backend}"
        );
        let (_, body) = app
            .graphql("{ projects { nodes { name } } }", json!({}), None)
            .await;
        assert_eq!(titles(&body, "projects"), ["Launch"], "{backend}");
        let (_, body) = app
            .graphql("{ tasks { nodes { title } } }", json!({}), Some(&ben))
            .await;
        assert_eq!(
            titles(&body, "tasks"),
            ["Buy milk", "Ship it", "Write the announcement"],
            "{backend}"
        );
        let (_, body) = app
            .graphql(
                "query($id: UUID!) { project(id: $id) { name } }",
                json!({"id": ADAS_NOTES}),
                Some(&ben),
            )
            .await;
        assert!(body["data"]["project"].is_null(), "{backend}: {body}");

        // A refused write writes nothing: ben adds a task to Ada's public project.
        let (_, body) = app
            .graphql(
                "mutation($p: UUID!) { createTask(input: {projectId: $p, title: \"ben was here\"}) { id } }",
                json!({"p": LAUNCH}),
                Some(&ben),
            )
            .await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{backend}: {body}");
        let (_, body) = app
            .graphql("{ tasks { nodes { title } } }", json!({}), Some(&ada))
            .await;
        assert!(
            !titles(&body, "tasks").contains(&"ben was here".to_owned()),
            "{backend}: {body}"
        );
        // Nor may he rename her project.
        let (_, body) = app
            .graphql(
                "mutation($id: UUID!) { updateProject(id: $id, patch: {name: \"mine\"}) { name } }",
                json!({"id": LAUNCH}),
                Some(&ben),
            )
            .await;
        assert!(
            matches!(error_code(&body), Some("FORBIDDEN" | "NOT_FOUND")),
            "{backend}: {body}"
        );

        // Allow: Ada sees everything of hers and writes to her projects; a new project is
        // owned by whoever creates it.
        let (_, body) = app
            .graphql("{ projects { nodes { name } } }", json!({}), Some(&ada))
            .await;
        assert_eq!(
            titles(&body, "projects"),
            ["Ada's notes", "Launch"],
            "{backend}"
        );
        let (_, body) = app
            .graphql(
                "mutation($p: UUID!) { createTask(input: {projectId: $p, title: \"Celebrate\"}) { title done } }",
                json!({"p": LAUNCH}),
                Some(&ada),
            )
            .await;
        assert_eq!(
            body["data"]["createTask"],
            json!({"title": "Celebrate", "done": false}),
            "{backend}: {body}"
        );
        let (_, body) = app
            .graphql(
                "mutation { createProject(input: {name: \"Ben's second\"}) { ownerId isPublic } }",
                json!({}),
                Some(&ben),
            )
            .await;
        assert_eq!(
            body["data"]["createProject"],
            json!({"ownerId": BEN.to_string(), "isPublic": false}),
            "{backend}: {body}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_task_event_reaches_only_those_who_may_read_it() {
    for backend in backends("tasks: subscription") {
        let app = spawn(backend).await;
        let (ada, ben) = (app.token(ADA, None), app.token(BEN, None));
        let (mut client, ack) =
            WsClient::connect(&app, json!({ "Authorization": format!("Bearer {ben}") })).await;
        assert!(
            matches!(&ack, WsMessage::Message(m) if m["type"] == "connection_ack"),
            "{ack:?}"
        );
        client
            .subscribe_registered(
                &app,
                "1",
                "subscription { taskChanged { op node { title projectId } } }",
            )
            .await;

        // Deny first: a task of Ada's private project, then one of her public project.
        for (project, title) in [(ADAS_NOTES, "private thought"), (LAUNCH, "public step")] {
            let (_, body) = app
                .graphql(
                    "mutation($p: UUID!, $t: String!) { createTask(input: {projectId: $p, title: $t}) { id } }",
                    json!({"p": project, "t": title}),
                    Some(&ada),
                )
                .await;
            assert!(
                body["data"]["createTask"]["id"].is_string(),
                "{backend}: {body}"
            );
        }
        // Events of one subscription arrive in order: the first ben gets is the public one.
        let event = client
            .next_data("1", Duration::from_secs(10))
            .await
            .expect("the public task's event");
        assert_eq!(
            event["taskChanged"],
            json!({"op": "INSERT", "node": {"title": "public step", "projectId": LAUNCH.to_string()}}),
            "{backend}"
        );
        assert_eq!(
            client.next(Duration::from_millis(500)).await,
            None,
            "{backend}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn dates_times_and_floats_are_stored_read_filtered_and_ordered() {
    for backend in backends("tasks: date and float columns") {
        let app = spawn(backend).await;
        let ada = app.token(ADA, None);

        // Bad input is refused, naming the column, and writes nothing.
        for (due, hours) in [
            (json!("next summer"), json!(1.0)),
            (json!("2027-02-30"), json!(1.0)),
            (json!("2027-03-01"), json!("many")),
        ] {
            let (_, body) = app
                .graphql(
                    "mutation($p: UUID!, $d: Date, $h: Float) { createTask(input: {projectId: $p, title: \"bad\", dueOn: $d, estimateHours: $h}) { id } }",
                    json!({"p": LAUNCH, "d": due, "h": hours}),
                    Some(&ada),
                )
                .await;
            assert_eq!(
                error_code(&body),
                Some("BAD_USER_INPUT"),
                "{backend}: {body}"
            );
        }

        let (_, body) = app
            .graphql(
                "mutation($p: UUID!) { createTask(input: {projectId: $p, title: \"bad\", remindAt: \"25:00\"}) { id } }",
                json!({"p": LAUNCH}),
                Some(&ada),
            )
            .await;
        assert_eq!(
            error_code(&body),
            Some("BAD_USER_INPUT"),
            "{backend}: {body}"
        );

        // Stored and read back as written.
        let (_, body) = app
            .graphql(
                "mutation($p: UUID!) { createTask(input: {projectId: $p, title: \"Retro\", dueOn: \"2027-02-14\", remindAt: \"17:45\", estimateHours: 1.75}) { dueOn remindAt estimateHours } }",
                json!({"p": LAUNCH}),
                Some(&ada),
            )
            .await;
        assert_eq!(
            body["data"]["createTask"],
            json!({"dueOn": "2027-02-14", "remindAt": "17:45:00", "estimateHours": 1.75}),
            "{backend}: {body}"
        );
        let (_, body) = app
            .graphql(
                "{ tasks(filter: {remindAt: {gt: \"12:00:00\"}}) { nodes { title remindAt } } }",
                json!({}),
                Some(&ada),
            )
            .await;
        assert_eq!(
            body["data"]["tasks"]["nodes"],
            json!([{"title": "Retro", "remindAt": "17:45:00"}]),
            "{backend}: {body}"
        );

        // Filtered by range and ordered, on both databases alike.
        let (_, body) = app
            .graphql(
                "{ tasks(filter: {dueOn: {gte: \"2027-01-01\", lt: \"2027-02-14\"}}, orderBy: [DUE_ON_DESC]) { nodes { title dueOn } } }",
                json!({}),
                Some(&ada),
            )
            .await;
        assert_eq!(
            body["data"]["tasks"]["nodes"],
            json!([
                {"title": "Ship it", "dueOn": "2027-02-01"},
                {"title": "Write the announcement", "dueOn": "2027-01-15"}
            ]),
            "{backend}: {body}"
        );
        let (_, body) = app
            .graphql(
                "{ tasks(filter: {estimateHours: {gt: 2}}, orderBy: [ESTIMATE_HOURS_ASC]) { nodes { title estimateHours } } }",
                json!({}),
                Some(&ada),
            )
            .await;
        assert_eq!(
            body["data"]["tasks"]["nodes"],
            json!([
                {"title": "Write the announcement", "estimateHours": 2.5},
                {"title": "Ship it", "estimateHours": 8.0}
            ]),
            "{backend}: {body}"
        );
        // A page boundary inside a date ordering: the cursor carries the date.
        let (_, body) = app
            .graphql(
                "{ tasks(first: 1, filter: {dueOn: {isNull: false}}, orderBy: [DUE_ON_ASC]) { nodes { title } pageInfo { endCursor } } }",
                json!({}),
                Some(&ada),
            )
            .await;
        assert_eq!(
            body["data"]["tasks"]["nodes"][0]["title"], "Write the announcement",
            "{backend}: {body}"
        );
        let cursor = body["data"]["tasks"]["pageInfo"]["endCursor"].clone();
        let (_, body) = app
            .graphql(
                "query($c: String) { tasks(first: 1, after: $c, filter: {dueOn: {isNull: false}}, orderBy: [DUE_ON_ASC]) { nodes { title } } }",
                json!({"c": cursor}),
                Some(&ada),
            )
            .await;
        assert_eq!(
            body["data"]["tasks"]["nodes"][0]["title"], "Ship it",
            "{backend}: {body}"
        );
        app.stop().await;
    }
}

/// The fields of a task the test below writes and reads.
const TYPED: &str = "title budget priority attachment labels watcherIds sprints";

fn typed_nodes(body: &Value) -> Vec<Value> {
    body["data"]["tasks"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no tasks: {body}"))
        .clone()
}

fn titles_in_order(body: &Value) -> Vec<String> {
    typed_nodes(body)
        .iter()
        .map(|n| n["title"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn decimals_binary_data_arrays_and_native_enums_are_stored_read_filtered_and_ordered() {
    for backend in backends("tasks: decimal, binary, array and enum columns") {
        let app = spawn(backend).await;
        let ada = app.token(ADA, None);

        // Bad input is refused, naming the column, and writes nothing: a malformed decimal,
        // one with more places than NUMERIC(12,2) keeps, invalid base64, a value the enum
        // type does not have, array elements of the wrong type.
        for (field, ty, value) in [
            ("budget", "Decimal", json!("12,50")),
            ("budget", "Decimal", json!("1e3")),
            ("budget", "Decimal", json!("0.125")),
            ("budget", "Decimal", json!("12345678901.5")),
            ("attachment", "Base64", json!("not base64!")),
            ("priority", "TaskPriority", json!("SOMEDAY")),
            ("sprints", "[Int!]", json!(["one"])),
            ("sprints", "[Int!]", json!([4_294_967_296_i64])),
            ("watcherIds", "[UUID!]", json!(["not-a-uuid"])),
            ("labels", "[String!]", json!([null])),
        ] {
            let (_, body) = app
                .graphql(
                    &format!("mutation($p: UUID!, $v: {ty}) {{ createTask(input: {{projectId: $p, title: \"bad\", {field}: $v}}) {{ id }} }}"),
                    json!({"p": LAUNCH, "v": value}),
                    Some(&ada),
                )
                .await;
            assert_eq!(
                error_code(&body),
                Some("BAD_USER_INPUT"),
                "{backend}: {field} = {value}: {body}"
            );
        }
        let (_, body) = app
            .graphql(
                "mutation($p: UUID!) { createTask(input: {projectId: $p, title: \"bad\", priority: SOMEDAY}) { id } }",
                json!({"p": LAUNCH}),
                Some(&ada),
            )
            .await;
        assert!(body["errors"].is_array(), "{backend}: {body}");
        let (_, body) = app
            .graphql(
                "{ tasks(filter: {title: {eq: \"bad\"}}) { nodes { id } } }",
                json!({}),
                Some(&ada),
            )
            .await;
        assert_eq!(
            body["data"]["tasks"]["nodes"],
            json!([]),
            "{backend}: {body}"
        );

        // Stored and read back: a decimal as an exact string with its column's scale (a JSON
        // number is accepted as input), bytes as base64, arrays as lists (UUIDs canonical),
        // the enum as its GraphQL item.
        let ben_upper = BEN.to_string().to_ascii_uppercase();
        let (_, body) = app
            .graphql(
                &format!("mutation($p: UUID!, $w: [UUID!]) {{ createTask(input: {{projectId: $p, title: \"Retro\", budget: 75.5, priority: HIGH, attachment: \"AAEC/w==\", labels: [\"ops\", \"q1\"], watcherIds: $w, sprints: [3, 4]}}) {{ id {TYPED} }} }}"),
                json!({"p": LAUNCH, "w": [ben_upper]}),
                Some(&ada),
            )
            .await;
        let created = body["data"]["createTask"].clone();
        let retro = created["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{backend}: {body}"))
            .to_owned();
        let first = json!({
            "id": retro,
            "title": "Retro",
            "budget": "75.50",
            "priority": "HIGH",
            "attachment": "AAEC/w==",
            "labels": ["ops", "q1"],
            "watcherIds": [BEN.to_string()],
            "sprints": [3, 4],
        });
        assert_eq!(created, first, "{backend}: {body}");

        // A subscriber's change event carries the same values as the read.
        let (mut client, ack) =
            WsClient::connect(&app, json!({ "Authorization": format!("Bearer {ada}") })).await;
        assert!(
            matches!(&ack, WsMessage::Message(m) if m["type"] == "connection_ack"),
            "{ack:?}"
        );
        client
            .subscribe_registered(
                &app,
                "1",
                &format!("subscription {{ taskChanged {{ op node {{ {TYPED} }} }} }}"),
            )
            .await;

        let (_, body) = app
            .graphql(
                &format!("mutation($id: UUID!) {{ updateTask(id: $id, patch: {{budget: \"80.25\", priority: NORMAL, attachment: \"3q2+7w==\", labels: [\"ops\", \"q2\"], sprints: [4]}}) {{ {TYPED} }} }}"),
                json!({"id": retro}),
                Some(&ada),
            )
            .await;
        let updated = json!({
            "title": "Retro",
            "budget": "80.25",
            "priority": "NORMAL",
            "attachment": "3q2+7w==",
            "labels": ["ops", "q2"],
            "watcherIds": [BEN.to_string()],
            "sprints": [4],
        });
        assert_eq!(body["data"]["updateTask"], updated, "{backend}: {body}");
        let event = client
            .next_data("1", Duration::from_secs(10))
            .await
            .expect("the update's event");
        assert_eq!(
            event["taskChanged"],
            json!({"op": "UPDATE", "node": updated}),
            "{backend}"
        );

        // The audit trail holds the values as the gateway reads them, and they write back:
        // restoring the old values from the trail gives the task as it was created.
        let (_, body) = app
            .graphql(
                "{ auditLogs(filter: {tableName: {eq: \"tasks\"}, action: {eq: \"update\"}}) { nodes { rowId oldValues newValues } } }",
                json!({}),
                Some(&ada),
            )
            .await;
        let audit = &body["data"]["auditLogs"]["nodes"][0];
        assert_eq!(audit["rowId"], json!(retro), "{backend}: {body}");
        let (old, new) = (&audit["oldValues"], &audit["newValues"]);
        assert_eq!(
            (&new["budget"], &new["priority"], &new["attachment"]),
            (&json!("80.25"), &json!("normal"), &json!("3q2+7w==")),
            "{backend}: {body}"
        );
        assert_eq!(
            (&new["labels"], &new["watcher_ids"], &new["sprints"]),
            (
                &json!(["ops", "q2"]),
                &json!([BEN.to_string()]),
                &json!([4])
            ),
            "{backend}: {body}"
        );
        let (_, body) = app
            .graphql(
                &format!("mutation($id: UUID!, $b: Decimal, $p: TaskPriority, $a: Base64, $l: [String!], $w: [UUID!], $s: [Int!]) {{ updateTask(id: $id, patch: {{budget: $b, priority: $p, attachment: $a, labels: $l, watcherIds: $w, sprints: $s}}) {{ id {TYPED} }} }}"),
                json!({
                    "id": retro,
                    "b": old["budget"],
                    "p": old["priority"].as_str().map(str::to_ascii_uppercase),
                    "a": old["attachment"],
                    "l": old["labels"],
                    "w": old["watcher_ids"],
                    "s": old["sprints"],
                }),
                Some(&ada),
            )
            .await;
        assert_eq!(body["data"]["updateTask"], first, "{backend}: {body}");
        let event = client
            .next_data("1", Duration::from_secs(10))
            .await
            .expect("the restore's event");
        assert_eq!(event["taskChanged"]["node"]["budget"], "75.50", "{backend}");
        let (_, body) = app
            .graphql(
                &format!("mutation($id: UUID!) {{ updateTask(id: $id, patch: {{budget: \"80.25\", priority: NORMAL, attachment: \"3q2+7w==\", labels: [\"ops\", \"q2\"], sprints: [4]}}) {{ {TYPED} }} }}"),
                json!({"id": retro}),
                Some(&ada),
            )
            .await;
        assert_eq!(body["data"]["updateTask"], updated, "{backend}: {body}");

        // Ada's tasks: Write the announcement (120.00, HIGH), Ship it (2500.50, URGENT),
        // Ideas for next year (no budget, LOW), Retro (80.25, NORMAL). Decimals compare and
        // order as numbers ("80.25" is after "2500.50" as text), NULL last ascending.
        let query = |filter: &str, order: &str| {
            format!("{{ tasks(filter: {filter}, orderBy: [{order}]) {{ nodes {{ {TYPED} }} }} }}")
        };
        let (_, body) = app
            .graphql(
                &query("{budget: {gte: \"100\", lt: \"2500.50\"}}", "BUDGET_ASC"),
                json!({}),
                Some(&ada),
            )
            .await;
        assert_eq!(
            titles_in_order(&body),
            ["Write the announcement"],
            "{backend}: {body}"
        );
        let (_, body) = app
            .graphql(
                &query("{budget: {in: [80.25, \"2500.5\"]}}", "BUDGET_DESC"),
                json!({}),
                Some(&ada),
            )
            .await;
        assert_eq!(
            titles_in_order(&body),
            ["Ship it", "Retro"],
            "{backend}: {body}"
        );
        let (_, body) = app
            .graphql(&query("{}", "BUDGET_ASC"), json!({}), Some(&ada))
            .await;
        assert_eq!(
            titles_in_order(&body),
            [
                "Retro",
                "Write the announcement",
                "Ship it",
                "Ideas for next year"
            ],
            "{backend}: {body}"
        );

        // The enum orders by its declared order (LOW < NORMAL < HIGH < URGENT), not as text.
        let (_, body) = app
            .graphql(&query("{}", "PRIORITY_ASC"), json!({}), Some(&ada))
            .await;
        assert_eq!(
            titles_in_order(&body),
            [
                "Ideas for next year",
                "Retro",
                "Write the announcement",
                "Ship it"
            ],
            "{backend}: {body}"
        );
        let (_, body) = app
            .graphql(
                &query("{priority: {in: [HIGH, URGENT]}}", "PRIORITY_DESC"),
                json!({}),
                Some(&ada),
            )
            .await;
        assert_eq!(
            titles_in_order(&body),
            ["Ship it", "Write the announcement"],
            "{backend}: {body}"
        );
        let (_, body) = app
            .graphql(
                &query(
                    "{priority: {neq: LOW}, budget: {isNull: false}}",
                    "PRIORITY_ASC",
                ),
                json!({}),
                Some(&ada),
            )
            .await;
        assert_eq!(
            titles_in_order(&body),
            ["Retro", "Write the announcement", "Ship it"],
            "{backend}: {body}"
        );
        // Pages of the enum and the decimal ordering: the cursor carries the value.
        for (order, expected) in [
            (
                "PRIORITY_DESC",
                [
                    "Ship it",
                    "Write the announcement",
                    "Retro",
                    "Ideas for next year",
                ],
            ),
            (
                "BUDGET_DESC",
                [
                    "Ideas for next year",
                    "Ship it",
                    "Write the announcement",
                    "Retro",
                ],
            ),
        ] {
            let mut seen = Vec::new();
            let mut cursor = Value::Null;
            for _ in 0..4 {
                let (_, body) = app
                    .graphql(
                        &format!("query($c: String) {{ tasks(first: 1, after: $c, orderBy: [{order}]) {{ nodes {{ title }} pageInfo {{ endCursor }} }} }}"),
                        json!({"c": cursor}),
                        Some(&ada),
                    )
                    .await;
                seen.extend(titles_in_order(&body));
                cursor = body["data"]["tasks"]["pageInfo"]["endCursor"].clone();
            }
            assert_eq!(seen, expected, "{backend}: {order}");
        }

        // Binary data: equality and NULL only; arrays: containment both ways and overlap.
        let watched_by_ben = format!("{{watcherIds: {{contains: [\"{ben_upper}\"]}}}}");
        let watched_by_ada = format!("{{watcherIds: {{overlaps: [\"{ADA}\"]}}}}");
        for (filter, expected) in [
            ("{attachment: {eq: \"3q2+7w==\"}}", vec!["Retro"]),
            ("{attachment: {neq: \"AAEC/w==\"}}", vec!["Retro"]),
            ("{attachment: {isNull: false}}", vec!["Retro"]),
            ("{labels: {contains: [\"ops\"]}}", vec!["Retro"]),
            ("{labels: {contains: [\"q2\", \"ops\"]}}", vec!["Retro"]),
            ("{labels: {contains: [\"ops\", \"q1\"]}}", vec![]),
            ("{labels: {contains: []}}", vec!["Retro"]),
            (
                "{labels: {containedBy: [\"ops\", \"q2\", \"q3\"]}}",
                vec!["Retro"],
            ),
            ("{labels: {containedBy: [\"ops\"]}}", vec![]),
            ("{labels: {overlaps: [\"q3\", \"q2\"]}}", vec!["Retro"]),
            ("{labels: {overlaps: [\"OPS\"]}}", vec![]),
            (
                "{labels: {isNull: true}, priority: {eq: HIGH}}",
                vec!["Write the announcement"],
            ),
            (watched_by_ben.as_str(), vec!["Retro"]),
            (watched_by_ada.as_str(), vec![]),
            ("{sprints: {overlaps: [9, 4]}}", vec!["Retro"]),
            ("{sprints: {containedBy: [3]}}", vec![]),
            (
                "{not: {sprints: {contains: [4]}}, sprints: {isNull: false}}",
                vec![],
            ),
        ] {
            let (_, body) = app
                .graphql(&query(filter, "BUDGET_ASC"), json!({}), Some(&ada))
                .await;
            assert_eq!(
                titles_in_order(&body),
                expected,
                "{backend}: {filter}: {body}"
            );
        }
        let (_, body) = app
            .graphql(
                "{ tasks(orderBy: [ATTACHMENT_ASC]) { nodes { title } } }",
                json!({}),
                Some(&ada),
            )
            .await;
        assert!(
            body["errors"].is_array(),
            "binary data is not orderable: {body}"
        );
        app.stop().await;
    }
}
