//! The SQL the planner emits for the reference queries, snapshot-tested, and (on PostgreSQL
//! with `seed --scale 50`) the plan of the tenant feed: served by an index, not a scan.

use std::sync::Arc;

use rowgate::auth::{Facts, Principal};
use rowgate::planner::{ListArgs, OrderBy, ROOT, Store};
use rowgate::policy::compile::Compiler;
use rowgate_server::policies::{BLOCKED_USERS, MEMBER_TENANTS};
use rowgate_server::seed::demo::{ACME, BOB, GLOBEX, HEIDI};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, PostgresQueryBuilder, SqliteQueryBuilder};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use uuid::Uuid;

fn store(db: DatabaseConnection) -> Store {
    rowgate_tests::reference().store(db)
}

/// Bob: member of Acme (active) and of Globex, blocks Heidi.
fn member() -> Principal {
    let mut facts = Facts::default();
    facts.set_ids(MEMBER_TENANTS, vec![ACME, GLOBEX]);
    facts.set_ids(BLOCKED_USERS, vec![HEIDI]);
    Principal::authenticated(BOB, Some(ACME), Arc::new(facts))
}

fn newest_first() -> Vec<OrderBy<'static>> {
    vec![OrderBy {
        column: "created_at",
        desc: true,
    }]
}

fn column(name: &str) -> Expr {
    Expr::col((Alias::new(ROOT), Alias::new(name)))
}

/// The reference queries: (name, table, arguments).
fn reference_queries() -> Vec<(&'static str, &'static str, ListArgs<'static>)> {
    let post = Uuid::from_u128(0xdeadbeef_0000_4000_8000_000000040002);
    vec![
        (
            "posts_visible_to_a_member",
            "posts",
            ListArgs {
                order: newest_first(),
                limit: Some(20),
                ..ListArgs::default()
            },
        ),
        (
            "tenant_feed",
            "posts",
            ListArgs {
                filter: Some(column("tenant_id").eq(Expr::val(ACME))),
                order: newest_first(),
                limit: Some(20),
                ..ListArgs::default()
            },
        ),
        (
            "comments_of_a_post",
            "comments",
            ListArgs {
                filter: Some(column("post_id").eq(Expr::val(post))),
                order: vec![OrderBy {
                    column: "created_at",
                    desc: false,
                }],
                limit: Some(50),
                ..ListArgs::default()
            },
        ),
        (
            "notifications_of_a_user",
            "notifications",
            ListArgs {
                order: newest_first(),
                limit: Some(20),
                ..ListArgs::default()
            },
        ),
        (
            "members_of_a_tenant",
            "tenant_members",
            ListArgs {
                filter: Some(column("tenant_id").eq(Expr::val(ACME))),
                ..ListArgs::default()
            },
        ),
    ]
}

#[test]
fn reference_queries_emit_the_reviewed_sql() {
    let store = store(DatabaseConnection::default());
    let principal = member();
    for (name, table, args) in reference_queries() {
        let compiler = Compiler::new(&store.policies, &principal);
        let meta = store.table(table).expect("table");
        let statement = store
            .list_statement(&compiler, meta, args)
            .expect("statement");
        let (sql, values) = statement.build(PostgresQueryBuilder);
        insta::assert_snapshot!(format!("{name}_postgres"), format!("{sql}\n\n{values:?}"));
        let (sql, _) = statement.build(SqliteQueryBuilder);
        insta::assert_snapshot!(format!("{name}_sqlite"), sql);
    }
}

fn feed_spec(filter: Option<serde_json::Value>) -> rowgate::planner::page::ListSpec {
    let filter = filter.map(|value| {
        let store = store(DatabaseConnection::default());
        let index = rowgate::graphql::args::FieldIndex::new(&store.catalog);
        let value = async_graphql::Value::from_json(value).expect("a GraphQL value");
        let posts = store.table("posts").expect("posts");
        rowgate::graphql::args::filter(&index, &store.catalog, posts, &value).expect("a filter")
    });
    rowgate::planner::page::ListSpec {
        filter,
        order: vec![
            rowgate::planner::page::Sort {
                column: "created_at",
                desc: true,
                nullable: false,
                declared: None,
            },
            rowgate::planner::page::Sort {
                column: "id",
                desc: false,
                nullable: false,
                declared: None,
            },
        ],
        limit: 20,
        backwards: false,
        cursor: None,
        offset: 0,
    }
}

/// The "everything I may see" feed runs as a UNION of one index-served branch per rule.
#[test]
fn the_feed_is_a_union_of_index_served_branches() {
    let store = store(DatabaseConnection::default());
    let principal = member();
    let compiler = Compiler::new(&store.policies, &principal);
    let meta = store.table("posts").expect("posts");
    let statement = store
        .page_statement(&compiler, meta, meta, &feed_spec(None))
        .expect("statement");
    let (sql, values) = statement.build(PostgresQueryBuilder);
    assert_eq!(
        sql.matches(" UNION ").count(),
        3,
        "four branches for a member: {sql}"
    );
    insta::assert_snapshot!("feed_union_postgres", format!("{sql}\n\n{values:?}"));
}

/// PostgreSQL's plan of `statement`, one line per node.
async fn explain(
    db: &DatabaseConnection,
    statement: &sea_orm::sea_query::SelectStatement,
) -> String {
    let (sql, values) = statement.build(PostgresQueryBuilder);
    let explain =
        Statement::from_sql_and_values(DbBackend::Postgres, format!("EXPLAIN {sql}"), values);
    let lines: Vec<String> = db
        .query_all_raw(explain)
        .await
        .expect("explain")
        .iter()
        .map(|row| row.try_get::<String>("", "QUERY PLAN").expect("plan line"))
        .collect();
    lines.join("\n")
}

/// On PostgreSQL with `seed --scale 50`, the tenant feed is served by an index.

#[tokio::test]
async fn the_tenant_feed_uses_an_index_at_scale() {
    let Some(_) =
        rowgate_tests::service_url("DATABASE_URL", "the_tenant_feed_uses_an_index_at_scale")
    else {
        return;
    };
    let database = rowgate_tests::TestDatabase::create(rowgate_tests::Backend::Postgres).await;
    let db = sea_orm::Database::connect(&database.url)
        .await
        .expect("connect");
    rowgate_tests::reference()
        .migrations()
        .up(&db, None)
        .await
        .expect("migrate");
    rowgate_server::seed::scale::seed_scale(&db, 50)
        .await
        .expect("seed");
    db.execute_unprepared("ANALYZE").await.expect("analyze");

    let tenant = rowgate_server::seed::scale::tenant_id(7);
    let user = rowgate_server::seed::scale::user_id(7, 42);
    let mut facts = Facts::default();
    facts.set_ids(MEMBER_TENANTS, vec![tenant]);
    let principal = Principal::authenticated(user, Some(tenant), Arc::new(facts));
    let store = store(db.clone());
    let compiler = Compiler::new(&store.policies, &principal);
    let meta = store.table("posts").expect("posts");
    let statement = store
        .list_statement(
            &compiler,
            meta,
            ListArgs {
                filter: Some(column("tenant_id").eq(Expr::val(tenant))),
                order: newest_first(),
                limit: Some(20),
                ..ListArgs::default()
            },
        )
        .expect("statement");
    let plan = explain(&db, &statement).await;
    assert!(
        plan.contains("Index Scan") || plan.contains("Index Only Scan"),
        "{plan}"
    );
    assert!(
        !plan.contains("Seq Scan on posts"),
        "the tenant feed scans posts:\n{plan}"
    );

    // The whole feed (own + public + tenant + community posts): no branch scans posts.
    let statement = store
        .page_statement(&compiler, meta, meta, &feed_spec(None))
        .expect("feed");
    let plan = explain(&db, &statement).await;
    assert!(
        !plan.contains("Seq Scan on posts"),
        "the feed scans posts:\n{plan}"
    );
    db.close().await.ok();
}
