//! The tasks application's policy matrix over its demo data, on SQLite and (with
//! `DATABASE_URL`) PostgreSQL, with the test kit's runner: every table × read path × kind
//! of principal, then the writes, refusals first.

use rowgate_tests::matrix::{Expect, Who, Write, row};
use rowgate_tests::{TestApp, backends};
use serde_json::json;
use tasks::{ADA, ADAS_NOTES, BEN, BENS_ERRANDS, LAUNCH};
use uuid::Uuid;

/// The keys of the demo tasks of `projects`, as the service role reads them.
async fn tasks_of(app: &TestApp, projects: &[Uuid]) -> Vec<String> {
    let service = app.who(&Who::service()).await;
    let rows = app
        .store()
        .list(&service, "tasks", rowgate::planner::ListArgs::default())
        .await
        .expect("tasks");
    let projects: Vec<String> = projects.iter().map(Uuid::to_string).collect();
    rows.iter()
        .filter(|t| projects.iter().any(|p| t["project_id"] == json!(p)))
        .map(|t| t["id"].as_str().expect("an id").to_owned())
        .collect()
}

#[tokio::test]
async fn every_table_operation_and_principal_over_the_demo_data() {
    for backend in backends("tasks::every_table_operation_and_principal_over_the_demo_data") {
        let app = TestApp::spawn_application(
            backend,
            tasks::application().expect("the tasks application builds"),
        )
        .await;
        let (anon, ada, ben, service) = (
            Who::anon(),
            Who::user("ada", ADA, None),
            Who::user("ben", BEN, None),
            Who::service(),
        );
        let text = |ids: &[Uuid]| ids.iter().map(Uuid::to_string).collect::<Vec<_>>();
        for (who, projects) in [
            (&anon, vec![LAUNCH]),
            (&ada, vec![LAUNCH, ADAS_NOTES]),
            (&ben, vec![LAUNCH, BENS_ERRANDS]),
            (&service, vec![LAUNCH, ADAS_NOTES, BENS_ERRANDS]),
        ] {
            let keys = text(&projects);
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            app.assert_reads(who, "projects", &keys).await;
            let tasks = tasks_of(&app, &projects).await;
            let tasks: Vec<&str> = tasks.iter().map(String::as_str).collect();
            app.assert_reads(who, "tasks", &tasks).await;
        }

        let key = |id: Uuid| row([("id", json!(id))]);
        let rename = || row([("name", json!("renamed"))]);
        let task_in = |project: Uuid| row([("project_id", json!(project)), ("title", json!("t"))]);
        // Refusals: nothing anonymous is written; a project one cannot read is not found; one
        // readable but not one's own cannot change, nor gain tasks.
        for (who, write, code) in [
            (
                &anon,
                Write::Insert("projects", row([("name", json!("x"))])),
                "FORBIDDEN",
            ),
            (&anon, Write::Insert("tasks", task_in(LAUNCH)), "FORBIDDEN"),
            (
                &ben,
                Write::Update("projects", key(ADAS_NOTES), rename()),
                "NOT_FOUND",
            ),
            (
                &ben,
                Write::Delete("projects", key(ADAS_NOTES)),
                "NOT_FOUND",
            ),
            (
                &ben,
                Write::Update("projects", key(LAUNCH), rename()),
                "FORBIDDEN",
            ),
            (&ben, Write::Delete("projects", key(LAUNCH)), "FORBIDDEN"),
            (&ben, Write::Insert("tasks", task_in(LAUNCH)), "FORBIDDEN"),
            (
                &ben,
                Write::Insert("tasks", task_in(ADAS_NOTES)),
                "FORBIDDEN",
            ),
            (
                &ada,
                Write::Insert("tasks", task_in(BENS_ERRANDS)),
                "FORBIDDEN",
            ),
            (
                &ben,
                Write::Insert(
                    "projects",
                    row([("name", json!("x")), ("owner_id", json!(ADA))]),
                ),
                "BAD_USER_INPUT",
            ),
        ] {
            app.assert_write(who, write, Expect::Refused(code)).await;
        }
        // What is allowed.
        let written = app
            .assert_write(
                &ben,
                Write::Insert("tasks", task_in(BENS_ERRANDS)),
                Expect::Allowed,
            )
            .await
            .expect("a task");
        app.assert_write(
            &ben,
            Write::Update("tasks", key(id_of(&written)), row([("done", json!(true))])),
            Expect::Allowed,
        )
        .await;
        app.assert_write(
            &ada,
            Write::Update("projects", key(LAUNCH), rename()),
            Expect::Allowed,
        )
        .await;
        app.assert_write(
            &ben,
            Write::Delete("tasks", key(id_of(&written))),
            Expect::Allowed,
        )
        .await;
        app.stop().await;
    }
}

fn id_of(row: &rowgate::policy::eval::Row) -> Uuid {
    row["id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .expect("an id")
}
