//! The reference application as the engine sees it: every generated entity registered with
//! its keys, relations and column facts; every table covered by a policy that compiles; and
//! the builder refusing what it must.

use rowgate::catalog::ColType;
use rowgate::policy::{Access, Pred, col};

#[test]
fn the_catalog_has_every_table_with_its_keys() {
    let app = rowgate_server::application().expect("builds");
    let catalog = app.catalog();
    assert_eq!(catalog.tables().len(), 22);
    let members = catalog.table("tenant_members").expect("tenant_members");
    assert_eq!(members.primary_key, ["tenant_id", "user_id"]);
    let posts = catalog.table("posts").expect("posts");
    assert_eq!(
        posts.column("metadata").map(|c| (c.ty, c.nullable)),
        Some((ColType::Json, true))
    );
    assert_eq!(posts.column("id").map(|c| c.ty), Some(ColType::Uuid));
    assert_eq!(
        posts
            .foreign_keys
            .iter()
            .map(|fk| (fk.column, fk.ref_table))
            .collect::<Vec<_>>(),
        [
            ("author_id", "profiles"),
            ("community_id", "communities"),
            ("tenant_id", "tenants")
        ]
    );
    assert_eq!(
        posts.column("status").and_then(|c| c.enum_values),
        Some(&["draft", "published", "archived"][..])
    );
    assert!(posts.column("id").is_some_and(|c| c.has_default));
    assert!(posts.column("title").is_some_and(|c| !c.has_default));
    let blocks = catalog.table("blocks").expect("blocks");
    assert_eq!(blocks.foreign_keys.len(), 2);
    assert!(
        catalog
            .referencing("posts")
            .iter()
            .any(|fk| fk.table == "comments" && fk.column == "post_id")
    );
    let flags = catalog.table("feature_flags").expect("flags");
    assert_eq!(
        flags.column("rollout_percent").map(|c| c.ty),
        Some(ColType::SmallInt)
    );
}

#[test]
fn every_declaration_compiles() {
    assert_eq!(
        rowgate::policy::declaration_problems(&rowgate_server::policies::policies()),
        Vec::<String>::new()
    );
}

#[test]
fn a_column_out_of_scope_refuses_the_application() {
    let mut tables = rowgate_server::policies::policies().tables().to_vec();
    if let Some(posts) = tables.iter_mut().find(|t| t.table == "posts") {
        posts.read = Access::Allow(Pred::IsSelf(col(entities::comments::Column::AuthorId)));
    }
    let policies = rowgate::policy::PolicySet::new(tables)
        .with_facts(rowgate_server::policies::facts())
        .with_tenant_scope(rowgate_server::policies::MEMBER_TENANTS);
    let err = rowgate_server::builder()
        .policies(policies)
        .build()
        .expect_err("a policy naming another table's column");
    assert!(err.to_string().contains("comments.author_id"), "{err}");
}

#[test]
fn a_table_without_a_policy_refuses_the_application() {
    let tables: Vec<_> = rowgate_server::policies::policies()
        .tables()
        .iter()
        .filter(|t| t.table != "reactions")
        .cloned()
        .collect();
    let err = rowgate_server::builder()
        .policies(rowgate::policy::PolicySet::new(tables))
        .build()
        .expect_err("reactions has no policy");
    let message = err.to_string();
    assert!(message.contains("reactions"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
}

#[test]
fn the_engine_channels_are_the_migrations() {
    assert_eq!(rowgate::cache::NOTIFY_CHANNEL, migration::CHANGE_CHANNEL);
    assert_eq!(rowgate::realtime::ROW_CHANNEL, migration::ROW_CHANNEL);
}

#[test]
fn a_policy_naming_an_undeclared_fact_refuses_the_application() {
    let mut tables = rowgate_server::policies::policies().tables().to_vec();
    if let Some(posts) = tables.iter_mut().find(|t| t.table == "posts") {
        posts.read = Access::Allow(Pred::InFact(
            col(entities::posts::Column::TenantId),
            "tenants_i_like",
        ));
    }
    let policies = rowgate::policy::PolicySet::new(tables)
        .with_facts(rowgate_server::policies::facts())
        .with_tenant_scope(rowgate_server::policies::MEMBER_TENANTS);
    let err = rowgate_server::builder()
        .policies(policies)
        .build()
        .expect_err("an undeclared fact");
    let message = err.to_string();
    assert!(
        message.contains("tenants_i_like") && message.contains("posts"),
        "{message}"
    );
    assert!(!message.contains('\n'), "one line: {message}");
}

#[test]
fn a_tenant_scope_that_is_no_declared_set_refuses_the_application() {
    let policies = rowgate_server::policies::policies().with_tenant_scope("platform_admin");
    let err = rowgate_server::builder()
        .policies(policies)
        .build()
        .expect_err("a flag as the tenant scope");
    assert!(err.to_string().contains("platform_admin"), "{err}");
}
