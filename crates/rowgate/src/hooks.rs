//! Write hooks: the application's own work in the transaction of a write — a new tenant's
//! creator becoming its owner, a notification for a new comment, a rule no policy can say
//! (a tenant keeps at least one owner).
//!
//! A hook is registered for one table ([`crate::Builder::hook`]) and runs for every write of
//! that table that passed its policy, the service role's included:
//! [`WriteHook::before`] once the write is checked and before it is written (an error
//! refuses it), [`WriteHook::after`] once the row is written and audited. What a hook reads
//! and writes through [`HookTx`] it reads and writes with the gateway's rights — a hook is
//! the application's code, like a `SECURITY DEFINER` trigger — in the same transaction,
//! audited and published like any write; the rows a hook writes do not run hooks
//! themselves (no chains, no loops). An error from a hook rolls the whole transaction back:
//! BAD_USER_INPUT, CONFLICT, FORBIDDEN, NOT_FOUND and TIMEOUT reach the client as they are;
//! any other failure answers INTERNAL, and the server log names the hook and the table.
//!
//! Rows are JSON objects keyed by column name, as the GraphQL layer hands them over (UUIDs
//! and timestamps as text); hooks name tables and columns through the generated entities,
//! so a hook that names a column the entity does not have does not compile.

use std::sync::Arc;

pub use async_trait::async_trait;
use sea_orm::{ColumnTrait, EntityTrait};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::error::AppResult;
pub use crate::planner::hooks::HookTx;
pub use crate::policy::eval::Row;

/// What a write does to its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOp {
    /// A new row.
    Insert,
    /// A changed row.
    Update,
    /// A removed row (soft-deleted on a table with a soft-delete column: `new` then holds
    /// the row with that column set).
    Delete,
}

/// One write, as its hooks see it.
#[derive(Debug, Clone, Copy)]
pub struct Write<'a> {
    /// The table written.
    pub table: &'static str,
    /// What the write does.
    pub op: WriteOp,
    /// The row before the write (updates and deletes).
    pub old: Option<&'a Row>,
    /// The row as it will be (in [`WriteHook::before`]) or was (in [`WriteHook::after`])
    /// written: inserts, updates and soft deletes.
    pub new: Option<&'a Row>,
}

impl<'a> Write<'a> {
    /// The row the write is about: the new row, or the old one of a (hard) delete.
    pub fn row(&self) -> &'a Row {
        static EMPTY: std::sync::OnceLock<Row> = std::sync::OnceLock::new();
        self.new
            .or(self.old)
            .unwrap_or_else(|| EMPTY.get_or_init(Row::new))
    }
}

/// Typed access to a row's values through the entity's columns.
pub trait RowExt {
    /// The value of `column` (JSON null when it is NULL; `None` when absent).
    fn value(&self, column: impl ColumnTrait) -> Option<&Json>;
    /// The value of `column` as text.
    fn text(&self, column: impl ColumnTrait) -> Option<&str> {
        self.value(column).and_then(Json::as_str)
    }
    /// The value of `column` as a UUID.
    fn uuid(&self, column: impl ColumnTrait) -> Option<Uuid> {
        self.text(column).and_then(|s| Uuid::parse_str(s).ok())
    }
}

impl RowExt for Row {
    fn value(&self, column: impl ColumnTrait) -> Option<&Json> {
        self.get(column.as_str())
    }
}

/// A row given as `(column, value)` pairs of one entity.
pub fn row<C: ColumnTrait>(values: impl IntoIterator<Item = (C, Json)>) -> Row {
    values
        .into_iter()
        .map(|(column, value)| (column.as_str().to_owned(), value))
        .collect()
}

/// An application's work in the transaction of a write; see the module documentation.
#[async_trait]
pub trait WriteHook: Send + Sync + 'static {
    /// What errors and logs call the hook.
    fn name(&self) -> &'static str;

    /// Runs once the write passed its policy, before it is written; an error refuses it.
    async fn before(&self, tx: &HookTx<'_>, write: &Write<'_>) -> AppResult<()> {
        let _ = (tx, write);
        Ok(())
    }

    /// Runs once the row is written and audited, in the same transaction.
    async fn after(&self, tx: &HookTx<'_>, write: &Write<'_>) -> AppResult<()> {
        let _ = (tx, write);
        Ok(())
    }
}

/// The hooks of every table, in the order the application registered them.
#[derive(Clone, Default)]
pub struct WriteHooks(Vec<(&'static str, Arc<dyn WriteHook>)>);

impl std::fmt::Debug for WriteHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(table, hook)| (table, hook.name())))
            .finish()
    }
}

impl WriteHooks {
    /// Registers `hook` for the table of entity `E`.
    pub fn add<E: EntityTrait>(&mut self, hook: impl WriteHook) {
        self.0.push((E::default().table_name(), Arc::new(hook)));
    }

    /// The hooks of `table`.
    pub fn of<'a>(&'a self, table: &'a str) -> impl Iterator<Item = &'a dyn WriteHook> + 'a {
        self.0
            .iter()
            .filter(move |(t, _)| *t == table)
            .map(|(_, hook)| &**hook)
    }

    /// Every `(table, hook name)`.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.0.iter().map(|(table, hook)| (*table, hook.name()))
    }
}

/// The table name of entity `E`.
pub(crate) fn table_of<E: EntityTrait>() -> &'static str {
    E::default().table_name()
}
