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
