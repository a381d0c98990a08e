//! What a write hook can do in its write's transaction ([`crate::hooks`]): read rows, lock
//! them, ask whether someone may read one, and write rows — audited and published like any
//! write, with the gateway's rights.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockType, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait};
use serde_json::Value as Json;
use uuid::Uuid;

use super::Store;
use super::values::{self, now, timestamp_json};
use super::write::{Action, WriteContext, fill_defaults, key_of};
use crate::catalog::TableMeta;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::hooks::{Write, WriteHook, row, table_of};
use crate::policy::Principal;
use crate::policy::eval::Row;

/// A write hook's handle on its write's transaction.
pub struct HookTx<'a> {
    store: &'a Store,
    txn: &'a DatabaseTransaction,
    ctx: WriteContext<'a>,
}

impl std::fmt::Debug for HookTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookTx")
            .field("request_id", &self.ctx.request_id)
            .finish_non_exhaustive()
    }
}

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    Before,
    After,
}

impl Store {
    /// Runs the hooks of `write.table` registered for `stage`, in registration order.
    pub(super) async fn run_hooks(
        &self,
        txn: &DatabaseTransaction,
        ctx: WriteContext<'_>,
        stage: Stage,
        write: &Write<'_>,
    ) -> AppResult<()> {
        let tx = HookTx {
            store: self,
            txn,
            ctx,
        };
        for hook in self.write_hooks.of(write.table) {
            let result = match stage {
                Stage::Before => hook.before(&tx, write).await,
                Stage::After => hook.after(&tx, write).await,
            };
            result.map_err(|e| hook_failure(hook, write.table, e))?;
        }
        Ok(())
    }
}

/// A hook's refusal reaches the client as it is; any other failure is INTERNAL, naming the
/// hook (in the server log; the client sees the request id).
fn hook_failure(hook: &dyn WriteHook, table: &str, err: AppError) -> AppError {
    match err.code() {
        ErrorCode::Internal => {
            let message = format!("write hook `{}` on {table} failed: {err}", hook.name());
            tracing::error!("{message}");
            AppError::Internal(message)
        }
        _ => err,
    }
}

impl HookTx<'_> {
    /// Who writes.
    pub fn principal(&self) -> &Principal {
        self.ctx.principal
    }

    /// The database the transaction runs on.
    pub fn backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    fn table<E: EntityTrait>(&self) -> AppResult<&TableMeta> {
        self.store.table(table_of::<E>())
    }

    /// Inserts a row of `E` (database defaults and a new `id` filled in as for any insert),
    /// audited and published. Returns it as written.
    pub async fn insert<E: EntityTrait>(
        &self,
        _entity: E,
        values: impl IntoIterator<Item = (E::Column, Json)>,
    ) -> AppResult<Row> {
        let meta = self.table::<E>()?;
        let mut new = row(values);
        fill_defaults(meta, &mut new);
        let written = self.store.insert_row(self.txn, meta, &new).await?;
        self.store
            .audit(
                self.txn,
                self.ctx,
                meta,
                Action::Insert,
                None,
                Some(&written),
            )
            .await?;
        Ok(written)
    }

    /// Sets `values` on the row of `E` with primary key `key` (and `updated_at`, where the
    /// table has one and `values` do not set it), audited and published. Returns the row as
    /// written, or `None` when there is no such row.
    pub async fn update<E: EntityTrait>(
        &self,
        _entity: E,
        key: impl IntoIterator<Item = (E::Column, Json)>,
        values: impl IntoIterator<Item = (E::Column, Json)>,
    ) -> AppResult<Option<Row>> {
        let meta = self.table::<E>()?;
        let key = row(key);
        let Some(old) = self.select(meta, &key, false).await?.into_iter().next() else {
            return Ok(None);
        };
        let mut new = old.clone();
        let values = row(values);
        if meta.has("updated_at") && !values.contains_key("updated_at") {
            new.insert("updated_at".into(), timestamp_json(now()));
        }
        new.extend(values);
        let written = self
            .store
            .update_row(self.txn, meta, &key, &old, &new)
            .await?;
        self.store
            .audit(
                self.txn,
                self.ctx,
                meta,
                Action::Update,
                Some(&old),
                Some(&written),
            )
            .await?;
        Ok(Some(written))
    }

    /// The rows of `E` whose columns equal `equal`'s values (all of them, soft-deleted ones
    /// included: the hook reads with the gateway's rights).
    pub async fn rows<E: EntityTrait>(
        &self,
        _entity: E,
        equal: impl IntoIterator<Item = (E::Column, Json)>,
    ) -> AppResult<Vec<Row>> {
        let meta = self.table::<E>()?;
        self.select(meta, &row(equal), false).await
    }

    /// Locks the row of `E` with primary key `key` until the transaction ends, so that
    /// writers of what it guards take turns (PostgreSQL `FOR NO KEY UPDATE`, which does not
    /// block inserts that merely reference the row; SQLite serializes writers already).
    pub async fn lock<E: EntityTrait>(
        &self,
        _entity: E,
        key: impl IntoIterator<Item = (E::Column, Json)>,
    ) -> AppResult<()> {
        let meta = self.table::<E>()?;
        if self.backend() == DbBackend::Postgres {
            self.select(meta, &row(key), true).await?;
        }
        Ok(())
    }

    /// Whether `user`, acting in `tenant`, may read `row` of `E` (by its key) as this
    /// transaction sees it — before copying the row into something `user` will read.
    pub async fn readable_by<E: EntityTrait>(
        &self,
        _entity: E,
        user: Uuid,
        tenant: Option<Uuid>,
        row: &Row,
    ) -> AppResult<bool> {
        let meta = self.table::<E>()?;
        self.store
            .readable_by(self.txn, user, tenant, meta, &key_of(meta, row))
            .await
    }

    async fn select(&self, meta: &TableMeta, equal: &Row, lock: bool) -> AppResult<Vec<Row>> {
        let mut select = Query::select();
        select
            .columns(meta.columns.iter().map(|c| Alias::new(c.name)))
            .from(Alias::new(meta.name));
        for (name, value) in equal {
            let column = meta
                .column(name)
                .ok_or_else(|| AppError::Internal(format!("{} has no column {name}", meta.name)))?;
            select.and_where(
                Expr::col(Alias::new(column.name)).eq(Expr::val(values::to_value(
                    column,
                    value,
                    self.store.backend(),
                )?)),
            );
        }
        if lock {
            select.lock(LockType::NoKeyUpdate);
        }
        self.txn
            .query_all(&select)
            .await?
            .iter()
            .map(|r| Ok(values::decode_row(r, &meta.columns)?))
            .collect()
    }
}
