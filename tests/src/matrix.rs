//! A policy-matrix runner any application can use: for a table and a principal, the rows
//! they must read — and therefore every other row, which they must not — checked through
//! every read path (the list, the count and the lookup by key), rows they must not read
//! first; and the outcome of a write (allowed, or refused with a code).
//!
//! Rows are named by their key text (key columns' values joined by `,`, UUIDs as text), as
//! the audit trail names them.

use std::collections::BTreeSet;

use rowgate::auth::Principal;
use rowgate::planner::{ListArgs, WriteContext};
use rowgate::policy::eval::Row;
use uuid::Uuid;

use crate::TestApp;

/// One principal of a matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Who {
    /// What failures call them.
    pub label: &'static str,
    /// `sub`.
    pub user: Option<Uuid>,
    /// The active tenant.
    pub tenant: Option<Uuid>,
    /// `anon`, `authenticated` or `service_role`.
    pub role: &'static str,
}

impl Who {
    /// An anonymous request.
    pub const fn anon() -> Self {
        Self {
            label: "anon",
            user: None,
            tenant: None,
            role: "anon",
        }
    }

    /// A signed-in user, acting in `tenant`.
    pub const fn user(label: &'static str, user: Uuid, tenant: Option<Uuid>) -> Self {
        Self {
            label,
            user: Some(user),
            tenant,
            role: "authenticated",
        }
    }

    /// The service role.
    pub const fn service() -> Self {
        Self {
            label: "service",
            user: None,
            tenant: None,
            role: "service_role",
        }
    }
}

/// What a write must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// It is written.
    Allowed,
    /// It is refused with this `extensions.code` (`FORBIDDEN`, `NOT_FOUND`, …).
    Refused(&'static str),
}

/// A write of a matrix.
#[derive(Debug, Clone)]
pub enum Write {
    /// Insert `row` into `table`.
    Insert(&'static str, Row),
    /// Set `patch` on the row of `table` with key `key`.
    Update(&'static str, Row, Row),
    /// Delete the row of `table` with key `key`.
    Delete(&'static str, Row),
}

/// A row from `(column, value)` pairs.
pub fn row<const N: usize>(values: [(&str, serde_json::Value); N]) -> Row {
    values
        .into_iter()
        .map(|(column, value)| (column.to_owned(), value))
        .collect()
}

impl TestApp {
    /// The principal `who` resolves to (facts loaded now, uncached).
    pub async fn who(&self, who: &Who) -> Principal {
        self.principal(who.user, who.tenant, who.role).await
    }

    /// The key text of every row of `table` (as the service role sees them: soft-deleted
    /// rows included).
    pub async fn every_key(&self, table: &str) -> BTreeSet<String> {
        let service = self.who(&Who::service()).await;
        self.readable_keys(&service, table).await
    }

    async fn readable_keys(&self, principal: &Principal, table: &str) -> BTreeSet<String> {
        let store = self.store();
        let meta = store.table(table).expect("a served table").clone();
        store
            .list(principal, table, ListArgs::default())
            .await
            .unwrap_or_else(|e| panic!("list {table}: {e}"))
            .iter()
            .map(|row| rowgate::planner::row_id(&meta, row))
            .collect()
    }

    /// Asserts that `who` reads exactly the rows of `table` whose keys are `visible`: each
    /// other row is absent from the list and its lookup by key finds nothing (checked
    /// first), each visible one is found by key, and the list and the count hold exactly
    /// them.
    pub async fn assert_reads(&self, who: &Who, table: &str, visible: &[&str]) {
        let principal = self.who(who).await;
        let store = self.store();
        let meta = store.table(table).expect("a served table").clone();
        let visible: BTreeSet<String> = visible.iter().map(|k| (*k).to_owned()).collect();
        let every = self.every_key(table).await;
        for key in &visible {
            assert!(
                every.contains(key),
                "{table}: `{key}` is not a row of the demo data"
            );
        }
        let listed = self.readable_keys(&principal, table).await;
        let by_key = |key: &str| {
            let values: Vec<&str> = key.split(',').collect();
            meta.primary_key
                .iter()
                .zip(values)
                .map(|(column, value)| {
                    let column_meta = meta.column(column).expect("key column");
                    let value = match column_meta.ty {
                        rowgate::catalog::ColType::SmallInt
                        | rowgate::catalog::ColType::Int
                        | rowgate::catalog::ColType::BigInt => {
                            serde_json::json!(value.parse::<i64>().expect("an integer key"))
                        }
                        _ => serde_json::json!(value),
                    };
                    ((*column).to_owned(), value)
                })
                .collect::<Row>()
        };
        for key in every.difference(&visible) {
            assert!(
                !listed.contains(key),
                "{}: must not list {table} `{key}`",
                who.label
            );
            let found = store
                .find(&principal, table, &by_key(key))
                .await
                .unwrap_or_else(|e| panic!("find {table} {key}: {e}"));
            assert!(
                found.is_none(),
                "{}: must not find {table} `{key}` by key",
                who.label
            );
        }
        for key in &visible {
            let found = store
                .find(&principal, table, &by_key(key))
                .await
                .unwrap_or_else(|e| panic!("find {table} {key}: {e}"));
            assert!(found.is_some(), "{}: must find {table} `{key}`", who.label);
        }
        assert_eq!(listed, visible, "{}: the {table} they list", who.label);
        let count = store
            .count(&principal, table, None)
            .await
            .unwrap_or_else(|e| panic!("count {table}: {e}"));
        assert_eq!(
            usize::try_from(count).ok(),
            Some(visible.len()),
            "{}: the {table} they count",
            who.label
        );
    }

    /// Runs `write` as `who` and asserts its outcome; returns the written row when allowed.
    pub async fn assert_write(&self, who: &Who, write: Write, expect: Expect) -> Option<Row> {
        let principal = self.who(who).await;
        let store = self.store();
        let ctx = WriteContext {
            principal: &principal,
            request_id: "policy-matrix",
            deadline: None,
        };
        let (what, result) = match write {
            Write::Insert(table, row) => (
                format!("insert into {table}"),
                store.insert(ctx, table, row).await,
            ),
            Write::Update(table, key, patch) => (
                format!("update {table}"),
                store.update(ctx, table, &key, patch).await,
            ),
            Write::Delete(table, key) => (
                format!("delete from {table}"),
                store.delete(ctx, table, &key).await,
            ),
        };
        match (expect, result) {
            (Expect::Allowed, Ok(row)) => Some(row),
            (Expect::Allowed, Err(e)) => panic!("{}: {what} must be allowed: {e}", who.label),
            (Expect::Refused(code), Ok(_)) => {
                panic!("{}: {what} must be refused with {code}", who.label)
            }
            (Expect::Refused(code), Err(e)) => {
                assert_eq!(e.code().as_str(), code, "{}: {what}: {e}", who.label);
                None
            }
        }
    }
}
