//! Inserts, updates and deletes under the policies, each in one transaction with its audit
//! row and side effects: either all of it lands or none.
//!
//! Order of checks, as PostgreSQL RLS does it: a row the principal cannot read is NOT_FOUND;
//! one it can read but not change is FORBIDDEN; the row as it would be written must satisfy
//! the write check (`WITH CHECK`), else FORBIDDEN and nothing is written.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::hooks::Stage;
use super::values::{self, now, row_value, timestamp_json, write_error};
use super::{Change, ChangeOp};
use super::{ROOT, Store, check_compiled, key_condition};
use crate::catalog::{ColType, TableMeta};
use crate::error::{AppError, AppResult};
use crate::hooks::{Write, WriteOp};
use crate::policy::compile::{Compiled, Compiler, Frame};
use crate::policy::eval::{self, Row};
use crate::policy::{Access, Col, Pred, Preset, Principal, Role, TablePolicy};

/// Who writes, and the request the write belongs to (for the audit trail).
#[derive(Debug, Clone, Copy)]
pub struct WriteContext<'a> {
    /// The principal.
    pub principal: &'a Principal,
    /// The request id recorded in the audit trail.
    pub request_id: &'a str,
    /// The request's deadline, checked before each commit (none: no deadline).
    pub deadline: Option<&'a super::Deadline>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Insert,
    Update,
    Delete,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::Insert => "insert",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

fn forbidden(what: &str) -> AppError {
    AppError::Forbidden(format!("not allowed to {what}"))
}

impl Store {
    fn policy(&self, table: &str) -> AppResult<&TablePolicy> {
        self.policies
            .table(table)
            .ok_or_else(|| AppError::Internal(format!("no policy for {table}")))
    }

    /// Begins a write transaction. On PostgreSQL it is marked as the gateway's
    /// (`rowgate.origin`), so the row-notification triggers' listeners know these changes
    /// already travel on the change bus.
    async fn begin(&self) -> AppResult<DatabaseTransaction> {
        // On SQLite the write lock is taken at BEGIN (waiting up to the busy timeout): a
        // deferred transaction that reads first could not take it later once another
        // writer has committed (SQLITE_BUSY_SNAPSHOT).
        let txn = self
            .db
            .begin_with_options(sea_orm::TransactionOptions {
                sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                ..sea_orm::TransactionOptions::default()
            })
            .await?;
        if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
            txn.execute_unprepared("SELECT set_config('rowgate.origin', 'gateway', true)")
                .await?;
        }
        Ok(txn)
    }

    /// Commits `txn` if the recorded work succeeded, then publishes its changes (a failed
    /// work's transaction is dropped, which rolls it back, and nothing is published).
    ///
    /// Past the request's deadline the transaction is rolled back instead. A commit that
    /// starts runs in a task of its own with the publication of its changes, so that a
    /// request cancelled meanwhile neither cuts a commit short nor loses its changes'
    /// events.
    async fn finish<T>(
        &self,
        ctx: WriteContext<'_>,
        txn: DatabaseTransaction,
        (value, changes): (AppResult<T>, Vec<std::sync::Arc<Change>>),
    ) -> AppResult<T> {
        let value = value?;
        if let Some(deadline) = ctx.deadline {
            deadline.admit_commit()?;
        }
        let store = self.clone();
        tokio::spawn(async move {
            txn.commit().await?;
            store.publish(changes).await;
            AppResult::Ok(())
        })
        .await
        .map_err(|e| AppError::Internal(format!("commit task: {e}")))??;
        Ok(value)
    }

    /// Inserts one row; `input` holds the client's columns. Returns the row as written.
    pub async fn insert(&self, ctx: WriteContext<'_>, table: &str, input: Row) -> AppResult<Row> {
        let txn = self.begin().await?;
        let recorded = record(self.insert_in(&txn, ctx, table, input)).await;
        self.finish(ctx, txn, recorded).await
    }

    /// Inserts several rows in one transaction: all of them or none.
    pub async fn insert_many(
        &self,
        ctx: WriteContext<'_>,
        table: &str,
        inputs: Vec<Row>,
    ) -> AppResult<Vec<Row>> {
        let txn = self.begin().await?;
        let recorded = record(async {
            let mut rows = Vec::with_capacity(inputs.len());
            for input in inputs {
                rows.push(self.insert_in(&txn, ctx, table, input).await?);
            }
            AppResult::Ok(rows)
        })
        .await;
        self.finish(ctx, txn, recorded).await
    }

    async fn insert_in(
        &self,
        txn: &DatabaseTransaction,
        ctx: WriteContext<'_>,
        table: &str,
        input: Row,
    ) -> AppResult<Row> {
        let meta = self.table(table)?;
        let policy = self.policy(table)?;
        let rule = policy
            .insert
            .as_ref()
            .ok_or_else(|| forbidden(&format!("insert into {table}")))?;
        let service = ctx.principal.role == Role::ServiceRole;
        if rule.check == Access::Never {
            return Err(forbidden(&format!("insert into {table}")));
        }
        check_columns(meta, &input, &rule.columns, service, "set")?;
        let set_by_client: Vec<String> = input.keys().cloned().collect();

        let mut row = input;
        let kept = if service {
            set_by_client.as_slice()
        } else {
            &[]
        };
        self.apply_presets(txn, ctx.principal, &rule.presets, &mut row, service, kept)
            .await?;
        fill_defaults(meta, &mut row);

        if !service {
            let mut check = vec![access_pred(&rule.check)];
            for (column, pred) in &rule.column_checks {
                if row.get(column.name).is_some_and(|v| !v.is_null()) {
                    check.push(pred.clone());
                }
            }
            if !self
                .candidate_satisfies(txn, ctx.principal, meta, &row, &Pred::All(check))
                .await?
            {
                return Err(forbidden(&format!("insert this row into {table}")));
            }
            self.check_references(txn, ctx.principal, meta, &row, &set_by_client)
                .await?;
        }

        let write = |new| Write {
            table: meta.name,
            op: WriteOp::Insert,
            old: None,
            new: Some(new),
        };
        self.run_hooks(txn, ctx, Stage::Before, &write(&row))
            .await?;
        let written = self
            .insert_row(txn, meta, &row)
            .await
            .map_err(|e| self.hide_conflict(ctx.principal, meta, e))?;
        self.audit(txn, ctx, meta, Action::Insert, None, Some(&written))
            .await?;
        self.run_hooks(txn, ctx, Stage::After, &write(&written))
            .await?;
        Ok(self.mask(ctx.principal, meta, written))
    }

    /// Updates the row with primary key `key` with `patch`. Returns the row as written.
    pub async fn update(
        &self,
        ctx: WriteContext<'_>,
        table: &str,
        key: &Row,
        patch: Row,
    ) -> AppResult<Row> {
        let txn = self.begin().await?;
        let recorded = record(self.update_in(&txn, ctx, table, key, patch)).await;
        self.finish(ctx, txn, recorded).await
    }

    /// Applies `patch` to every readable row matching `filter`, in one transaction: all or
    /// none (one row the principal may not change refuses the whole update).
    pub async fn update_where(
        &self,
        ctx: WriteContext<'_>,
        table: &str,
        filter: &super::plan::Filter,
        patch: Row,
    ) -> AppResult<Vec<Row>> {
        let txn = self.begin().await?;
        let recorded = record(async {
            let mut rows = Vec::new();
            for key in self
                .matching_keys(&txn, ctx.principal, table, filter)
                .await?
            {
                rows.push(
                    self.update_in(&txn, ctx, table, &key, patch.clone())
                        .await?,
                );
            }
            AppResult::Ok(rows)
        })
        .await;
        self.finish(ctx, txn, recorded).await
    }

    /// Keys of the readable rows of `table` matching `filter`.
    async fn matching_keys(
        &self,
        txn: &DatabaseTransaction,
        principal: &Principal,
        table: &str,
        filter: &super::plan::Filter,
    ) -> AppResult<Vec<Row>> {
        let meta = self.table(table)?;
        let compiler = Compiler::new(&self.policies, principal);
        let mut select = self.readable_select(&compiler, meta, false);
        select.and_where(super::filter::compile(
            self, &compiler, meta, ROOT, filter, 0,
        )?);
        let rows = self.fetch(txn, &compiler, meta, &select).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                meta.primary_key
                    .iter()
                    .map(|k| ((*k).to_owned(), row.get(*k).cloned().unwrap_or(Json::Null)))
                    .collect()
            })
            .collect())
    }

    async fn update_in(
        &self,
        txn: &DatabaseTransaction,
        ctx: WriteContext<'_>,
        table: &str,
        key: &Row,
        patch: Row,
    ) -> AppResult<Row> {
        let meta = self.table(table)?;
        let policy = self.policy(table)?;
        let rule = policy
            .update
            .as_ref()
            .ok_or_else(|| forbidden(&format!("update {table}")))?;
        let service = ctx.principal.role == Role::ServiceRole;
        if rule.using == Access::Never {
            return Err(forbidden(&format!("update {table}")));
        }
        let allowed: Vec<Col> = if service {
            meta.columns
                .iter()
                .filter(|c| !meta.primary_key.contains(&c.name))
                .map(|c| Col {
                    table: meta.name,
                    name: c.name,
                })
                .collect()
        } else {
            rule.columns.clone()
        };
        check_columns(meta, &patch, &allowed, false, "changed")?;
        if patch.is_empty() {
            return Err(AppError::BadUserInput("the patch changes nothing".into()));
        }

        let old = self.load_readable(txn, ctx.principal, meta, key).await?;
        if !service {
            let mut using = vec![access_pred(&rule.using)];
            for (column, pred) in &rule.column_checks {
                if patch.contains_key(column.name) {
                    using.push(pred.clone());
                }
            }
            if !self
                .candidate_satisfies(txn, ctx.principal, meta, &old, &Pred::All(using))
                .await?
            {
                return Err(forbidden(&format!("change this row of {table}")));
            }
        }
        let patch_columns: Vec<String> = patch.keys().cloned().collect();
        let mut new = old.clone();
        for (column, value) in patch {
            new.insert(column, value);
        }
        // Every preset of the rule, as on insert: the writer's id, the active tenant, the
        // time; a parent's value when the patch changes the parent. The service role's own
        // values are kept only for the columns it sends.
        let presets: Vec<(Col, Preset)> = rule
            .presets
            .iter()
            .filter(|(_, preset)| match preset {
                Preset::FromParent { fk, .. } => patch_columns.iter().any(|c| c == fk.name),
                _ => true,
            })
            .cloned()
            .collect();
        let kept = if service {
            patch_columns.as_slice()
        } else {
            &[]
        };
        self.apply_presets(txn, ctx.principal, &presets, &mut new, service, kept)
            .await?;
        if meta.has("updated_at") {
            new.insert("updated_at".into(), timestamp_json(now()));
        }
        if !service {
            if !self
                .candidate_satisfies(txn, ctx.principal, meta, &new, &rule.check)
                .await?
            {
                return Err(forbidden(&format!("write this row into {table}")));
            }
            // A preset may move a reference too (the active tenant): checked like the patch.
            let mut changed: Vec<String> = patch_columns;
            changed.extend(presets.iter().map(|(column, _)| column.name.to_owned()));
            self.check_references(txn, ctx.principal, meta, &new, &changed)
                .await?;
        }
        let write = |new| Write {
            table: meta.name,
            op: WriteOp::Update,
            old: Some(&old),
            new: Some(new),
        };
        self.run_hooks(txn, ctx, Stage::Before, &write(&new))
            .await?;
        let written = self
            .update_row(txn, meta, key, &old, &new)
            .await
            .map_err(|e| self.hide_conflict(ctx.principal, meta, e))?;
        self.audit(txn, ctx, meta, Action::Update, Some(&old), Some(&written))
            .await?;
        self.run_hooks(txn, ctx, Stage::After, &write(&written))
            .await?;
        Ok(self.mask(ctx.principal, meta, written))
    }

    /// Deletes the row with primary key `key` (soft on tables with `deleted_at`). Returns
    /// the row as it was (with `deleted_at` set, for a soft delete).
    pub async fn delete(&self, ctx: WriteContext<'_>, table: &str, key: &Row) -> AppResult<Row> {
        let txn = self.begin().await?;
        let recorded = record(self.delete_in(&txn, ctx, table, key)).await;
        self.finish(ctx, txn, recorded).await
    }

    /// Deletes every readable row matching `filter`, in one transaction: all or none.
    pub async fn delete_where(
        &self,
        ctx: WriteContext<'_>,
        table: &str,
        filter: &super::plan::Filter,
    ) -> AppResult<Vec<Row>> {
        let txn = self.begin().await?;
        let recorded = record(async {
            let mut rows = Vec::new();
            for key in self
                .matching_keys(&txn, ctx.principal, table, filter)
                .await?
            {
                rows.push(self.delete_in(&txn, ctx, table, &key).await?);
            }
            AppResult::Ok(rows)
        })
        .await;
        self.finish(ctx, txn, recorded).await
    }

    async fn delete_in(
        &self,
        txn: &DatabaseTransaction,
        ctx: WriteContext<'_>,
        table: &str,
        key: &Row,
    ) -> AppResult<Row> {
        let meta = self.table(table)?;
        let policy = self.policy(table)?;
        if policy.delete == Access::Never {
            return Err(forbidden(&format!("delete from {table}")));
        }
        let service = ctx.principal.role == Role::ServiceRole;
        let old = self.load_readable(txn, ctx.principal, meta, key).await?;
        if !service
            && !self
                .candidate_satisfies(txn, ctx.principal, meta, &old, &access_pred(&policy.delete))
                .await?
        {
            return Err(forbidden(&format!("delete this row of {table}")));
        }
        let soft = policy.soft_delete.map(|deleted_at| {
            let mut new = old.clone();
            let stamp = timestamp_json(now());
            new.insert(deleted_at.name.to_owned(), stamp.clone());
            if meta.has("updated_at") {
                new.insert("updated_at".into(), stamp);
            }
            new
        });
        let write = |new| Write {
            table: meta.name,
            op: WriteOp::Delete,
            old: Some(&old),
            new,
        };
        self.run_hooks(txn, ctx, Stage::Before, &write(soft.as_ref()))
            .await?;
        let written = match &soft {
            Some(new) => {
                let written = self.update_row(txn, meta, key, &old, new).await?;
                self.audit(txn, ctx, meta, Action::Delete, Some(&old), Some(&written))
                    .await?;
                Some(written)
            }
            None => {
                let mut delete = Query::delete();
                delete.from_table(Alias::new(meta.name));
                for name in &meta.primary_key {
                    let column = meta
                        .column(name)
                        .ok_or_else(|| AppError::Internal("key".into()))?;
                    delete.and_where(Expr::col(Alias::new(*name)).eq(Expr::val(row_value(
                        column,
                        &old,
                        self.backend(),
                    )?)));
                }
                txn.execute(&delete).await.map_err(write_error)?;
                self.audit(txn, ctx, meta, Action::Delete, Some(&old), None)
                    .await?;
                None
            }
        };
        self.run_hooks(txn, ctx, Stage::After, &write(written.as_ref()))
            .await?;
        let result = written.unwrap_or(old);
        Ok(self.mask(ctx.principal, meta, result))
    }

    /// Refuses a write whose row points, through a foreign-key column in `columns` (the ones
    /// the client set), at a tenant-owned row (its table has a tenant column) that the
    /// principal cannot read, or that belongs to another tenant than the written row: a
    /// reference is a claim about the referenced row, so it must pass that row's read
    /// policy like any other path to it.
    async fn check_references(
        &self,
        txn: &DatabaseTransaction,
        principal: &Principal,
        meta: &TableMeta,
        row: &Row,
        columns: &[String],
    ) -> AppResult<()> {
        for fk in &meta.foreign_keys {
            if !columns.iter().any(|c| c == fk.column) {
                continue;
            }
            let Some(value) = row.get(fk.column).filter(|v| !v.is_null()) else {
                continue;
            };
            let target = self.table(fk.ref_table)?;
            // Users and tenants are named by id across tenants (an invitation names a
            // user one cannot read yet); rows owned by a tenant are data, and are checked.
            let Some(tenancy) = self.policies.tenancy() else {
                continue;
            };
            if !target.has(tenancy.column) {
                continue;
            }
            let key_column = target.column(fk.ref_column).ok_or_else(|| {
                AppError::Internal(format!("{} has no {}", target.name, fk.ref_column))
            })?;
            let compiler = Compiler::new(&self.policies, principal);
            let mut select = self.readable_select(&compiler, target, false);
            select.and_where(Expr::col((Alias::new(ROOT), Alias::new(fk.ref_column))).eq(
                Expr::val(values::to_value(key_column, value, self.backend())?),
            ));
            let referenced = self.fetch(txn, &compiler, target, &select).await?;
            let refused = || {
                AppError::Forbidden(format!(
                    "`{}` of {} names a row you cannot use here",
                    fk.column, meta.name
                ))
            };
            let Some(referenced) = referenced.into_iter().next() else {
                return Err(refused());
            };
            if let (Some(mine), Some(theirs)) = (
                tenancy.tenant_of(meta.name, row),
                tenancy.tenant_of(target.name, &referenced),
            ) && mine != theirs
            {
                return Err(refused());
            }
        }
        Ok(())
    }

    /// Whether `user`, acting in `tenant`, may read the row of `meta` with key `key` as
    /// this transaction sees it (facts read on the transaction's connection).
    pub(super) async fn readable_by(
        &self,
        txn: &DatabaseTransaction,
        user: Uuid,
        tenant: Option<Uuid>,
        meta: &TableMeta,
        key: &Row,
    ) -> AppResult<bool> {
        let facts = crate::cache::load::principal_facts_on(self, txn, user).await?;
        // Acting in `tenant` only where the application's tenant scope allows it.
        let tenant = tenant.filter(|t| {
            self.policies
                .tenant_scope()
                .is_none_or(|scope| facts.contains(scope, *t))
        });
        let reader = Principal::authenticated(user, tenant, facts);
        match self.load_readable(txn, &reader, meta, key).await {
            Ok(_) => Ok(true),
            Err(AppError::NotFound(_)) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// A uniqueness failure must not tell the principal about a row or value it may not
    /// read: when the colliding columns include one the table masks (or the failure does
    /// not say which columns collided), the answer is the policy refusal, naming nothing.
    fn hide_conflict(&self, principal: &Principal, meta: &TableMeta, err: AppError) -> AppError {
        let AppError::Unique { columns } = &err else {
            return err;
        };
        if principal.role == Role::ServiceRole {
            return err;
        }
        let masks = self
            .policies
            .table(meta.name)
            .map(|p| p.masks.as_slice())
            .unwrap_or_default();
        let hidden = if columns.is_empty() {
            !masks.is_empty()
        } else {
            columns
                .iter()
                .any(|c| masks.iter().any(|(m, _)| m.name == c.as_str()))
        };
        if hidden {
            forbidden(&format!("write this row into {}", meta.name))
        } else {
            err
        }
    }

    /// The raw row with primary key `key`, if the principal may read it; else NOT_FOUND.
    async fn load_readable(
        &self,
        txn: &DatabaseTransaction,
        principal: &Principal,
        meta: &TableMeta,
        key: &Row,
    ) -> AppResult<Row> {
        let compiler = Compiler::new(&self.policies, principal);
        let mut select = self.readable_select(&compiler, meta, false);
        select.and_where(key_condition(meta, key, self.backend())?);
        self.fetch(txn, &compiler, meta, &select)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| AppError::NotFound(format!("no such row in {}", meta.name)))
    }

    /// Whether `row` (as it is or would be written) satisfies `pred`, evaluated by the
    /// database on the row's values: `SELECT 1 FROM (SELECT $1 AS c1, …) AS t0 WHERE …`.
    async fn candidate_satisfies(
        &self,
        txn: &DatabaseTransaction,
        principal: &Principal,
        meta: &TableMeta,
        row: &Row,
        pred: &Pred,
    ) -> AppResult<bool> {
        let compiler = Compiler::new(&self.policies, principal);
        let condition = compiler.pred(pred, &[Frame::new(meta.name, ROOT)]);
        check_compiled(&compiler)?;
        match condition {
            Compiled::True => Ok(true),
            Compiled::False => Ok(false),
            Compiled::Sql(condition) => {
                let mut check = Query::select();
                check
                    .expr(Expr::cust("1"))
                    .from_subquery(candidate(meta, row, self.backend())?, Alias::new(ROOT))
                    .and_where(condition);
                Ok(txn.query_one(&check).await?.is_some())
            }
        }
    }

    async fn apply_presets(
        &self,
        txn: &DatabaseTransaction,
        principal: &Principal,
        presets: &[(Col, Preset)],
        row: &mut Row,
        service: bool,
        kept: &[String],
    ) -> AppResult<()> {
        for (column, preset) in presets {
            let value = match preset {
                Preset::UserId => match principal.user_id {
                    Some(user) => Json::String(user.to_string()),
                    None if service => continue,
                    None => return Err(AppError::Forbidden("signing in is required".into())),
                },
                Preset::ActiveTenant => match principal.active_tenant {
                    Some(tenant) => Json::String(tenant.to_string()),
                    None if service => continue,
                    None => {
                        return Err(AppError::Forbidden(
                            "an active tenant is required (tenant_id claim, X-Tenant-Id or subdomain)".into(),
                        ));
                    }
                },
                Preset::Now => timestamp_json(now()),
                Preset::FromParent {
                    fk,
                    parent_key,
                    source,
                } => {
                    let Some(fk_value) = row.get(fk.name).filter(|v| !v.is_null()) else {
                        continue;
                    };
                    let parent = self.table(parent_key.table)?;
                    let key_column = parent
                        .column(parent_key.name)
                        .ok_or_else(|| AppError::Internal("preset parent key".into()))?;
                    let source_column = parent
                        .column(source.name)
                        .ok_or_else(|| AppError::Internal("preset source".into()))?;
                    let mut select = Query::select();
                    select
                        .column(Alias::new(source.name))
                        .from(Alias::new(parent.name))
                        .and_where(Expr::col(Alias::new(parent_key.name)).eq(Expr::val(
                            values::to_value(key_column, fk_value, self.backend())?,
                        )));
                    match txn.query_one(&select).await? {
                        Some(found) => values::column_json(&found, source.name, source_column.ty)?,
                        None => Json::Null,
                    }
                }
            };
            // The service role's own value of a column it sends is kept.
            if kept.iter().any(|c| c == column.name)
                && row.get(column.name).is_some_and(|v| !v.is_null())
            {
                continue;
            }
            row.insert(column.name.to_owned(), value);
        }
        Ok(())
    }

    pub(super) async fn insert_row(
        &self,
        txn: &DatabaseTransaction,
        meta: &TableMeta,
        row: &Row,
    ) -> AppResult<Row> {
        let mut insert = Query::insert();
        let present: Vec<_> = meta
            .columns
            .iter()
            .filter(|c| row.contains_key(c.name))
            .collect();
        insert
            .into_table(Alias::new(meta.name))
            .columns(present.iter().map(|c| Alias::new(c.name)));
        let values: Vec<Expr> = present
            .iter()
            .map(|c| row_value(c, row, self.backend()).map(Expr::val))
            .collect::<AppResult<_>>()?;
        insert
            .values(values)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        insert
            .returning(Query::returning().columns(meta.columns.iter().map(|c| Alias::new(c.name))));
        let written = txn.query_one(&insert).await.map_err(write_error)?;
        let written = written.ok_or_else(|| AppError::Internal("insert returned no row".into()))?;
        Ok(values::decode_row(&written, &meta.columns)?)
    }

    pub(super) async fn update_row(
        &self,
        txn: &DatabaseTransaction,
        meta: &TableMeta,
        key: &Row,
        old: &Row,
        new: &Row,
    ) -> AppResult<Row> {
        let mut update = Query::update();
        update.table(Alias::new(meta.name));
        for column in &meta.columns {
            if new.get(column.name) != old.get(column.name) {
                update.value(
                    Alias::new(column.name),
                    Expr::val(row_value(column, new, self.backend())?),
                );
            }
        }
        for name in &meta.primary_key {
            let column = meta
                .column(name)
                .ok_or_else(|| AppError::Internal("key".into()))?;
            let value = values::to_value(
                column,
                key.get(*name).unwrap_or(&Json::Null),
                self.backend(),
            )?;
            update.and_where(Expr::col(Alias::new(*name)).eq(Expr::val(value)));
        }
        update
            .returning(Query::returning().columns(meta.columns.iter().map(|c| Alias::new(c.name))));
        let written = txn.query_one(&update).await.map_err(write_error)?;
        let written =
            written.ok_or_else(|| AppError::NotFound(format!("no such row in {}", meta.name)))?;
        Ok(values::decode_row(&written, &meta.columns)?)
    }

    /// Records a change for the change bus, and writes its rows of the application's
    /// audit trails, in the change's transaction.
    pub(super) async fn audit(
        &self,
        txn: &DatabaseTransaction,
        ctx: WriteContext<'_>,
        meta: &TableMeta,
        action: Action,
        old: Option<&Row>,
        new: Option<&Row>,
    ) -> AppResult<()> {
        record_change(meta, action, old, new);
        let row = new.or(old).cloned().unwrap_or_default();
        for trail in self.policies.audits() {
            if !trail.covers(meta.name)
                || eval::pred(&trail.when, ctx.principal, &row) == Some(false)
            {
                continue;
            }
            let tenant = self
                .policies
                .tenancy()
                .and_then(|t| t.tenant_of(meta.name, &row))
                .cloned();
            // A secret column (masked with `Pred::Never`: only the service role reads it) is
            // copied into no audit row.
            let values = |r: Option<&Row>| {
                r.map_or(Json::Null, |r| {
                    Json::Object(self.policies.without_secrets(meta.name, r.clone()))
                })
            };
            let mut entry = Row::new();
            for (column, value) in [
                (Some(trail.action), json!(action.as_str())),
                (Some(trail.table_name), json!(meta.name)),
                (Some(trail.row_id), json!(super::row_id(meta, &row))),
                (trail.old_values, values(old)),
                (trail.new_values, values(new)),
                (trail.actor, json!(ctx.principal.user_id)),
                (trail.actor_role, json!(ctx.principal.role.as_str())),
                (trail.tenant, tenant.unwrap_or(Json::Null)),
                (trail.request_id, json!(ctx.request_id)),
            ] {
                if let Some(column) = column {
                    entry.insert(column.name.to_owned(), value);
                }
            }
            let audit = self.table(trail.table())?;
            fill_defaults(audit, &mut entry);
            self.insert_row(txn, audit, &entry).await?;
        }
        Ok(())
    }

    /// Applies the column masks to a row returned by a write, in memory. A mask whose rule
    /// needs the database hides the value (fail closed).
    fn mask(&self, principal: &Principal, meta: &TableMeta, mut row: Row) -> Row {
        if let Some(policy) = self.policies.table(meta.name)
            && principal.role != Role::ServiceRole
        {
            for (column, pred) in &policy.masks {
                if eval::pred(pred, principal, &row) != Some(true) {
                    row.insert(column.name.to_owned(), Json::Null);
                }
            }
        }
        row
    }
}

tokio::task_local! {
    /// The changes of the transaction being written, published once it commits.
    static CHANGES: std::cell::RefCell<Vec<std::sync::Arc<Change>>>;
}

/// Runs `work` collecting the changes it writes.
async fn record<T>(work: impl Future<Output = T>) -> (T, Vec<std::sync::Arc<Change>>) {
    CHANGES
        .scope(std::cell::RefCell::new(Vec::new()), async move {
            let value = work.await;
            let changes = CHANGES.with(|c| std::mem::take(&mut *c.borrow_mut()));
            (value, changes)
        })
        .await
}

fn record_change(meta: &TableMeta, action: Action, old: Option<&Row>, new: Option<&Row>) {
    let op = match action {
        Action::Insert => ChangeOp::Insert,
        Action::Update => ChangeOp::Update,
        Action::Delete => ChangeOp::Delete,
    };
    let row = new.or(old);
    let key: Row = meta
        .primary_key
        .iter()
        .map(|k| {
            (
                (*k).to_owned(),
                row.and_then(|r| r.get(*k)).cloned().unwrap_or(Json::Null),
            )
        })
        .collect();
    let change = Change {
        table: meta.name,
        op,
        key,
        old: old.cloned(),
        new: new.cloned(),
    };
    let _ = CHANGES.try_with(|c| c.borrow_mut().push(std::sync::Arc::new(change)));
}

/// The primary key of `row`.
pub(super) fn key_of(meta: &TableMeta, row: &Row) -> Row {
    meta.primary_key
        .iter()
        .map(|k| ((*k).to_owned(), row.get(*k).cloned().unwrap_or(Json::Null)))
        .collect()
}

/// What the gateway fills in on every insert it writes: a new UUID for an `id` primary
/// key, and `created_at`/`updated_at` (in UTC, so text order is time order on SQLite).
pub(super) fn fill_defaults(meta: &TableMeta, row: &mut Row) {
    if meta.primary_key == ["id"]
        && row.get("id").is_none_or(Json::is_null)
        && meta.column("id").is_some_and(|c| c.ty == ColType::Uuid)
    {
        row.insert("id".into(), Json::String(Uuid::new_v4().to_string()));
    }
    let stamp = timestamp_json(now());
    for column in ["created_at", "updated_at"] {
        if meta.has(column) && !row.contains_key(column) {
            row.insert(column.into(), stamp.clone());
        }
    }
}

fn access_pred(access: &Access) -> Pred {
    match access {
        Access::Allow(pred) => pred.clone(),
        Access::Deny | Access::Never => Pred::Never,
    }
}

/// Refuses columns the table lacks, (unless `any` — the service role) columns outside
/// `allowed`, and values their column cannot hold ([`values::check_fits`]).
fn check_columns(
    meta: &TableMeta,
    row: &Row,
    allowed: &[Col],
    any: bool,
    verb: &str,
) -> AppResult<()> {
    for name in row.keys() {
        if !meta.has(name) {
            return Err(AppError::BadUserInput(format!(
                "{} has no column `{name}`",
                meta.name
            )));
        }
        if !any && !allowed.iter().any(|c| c.name == name) {
            return Err(AppError::BadUserInput(format!(
                "`{name}` of {} cannot be {verb} here",
                meta.name
            )));
        }
        if let (Some(column), Some(value)) = (meta.column(name), row.get(name)) {
            values::check_fits(column, value)?;
        }
    }
    Ok(())
}

/// `(SELECT $1 AS c1, $2 AS c2, …)`: a row's values as a one-row derived table.
fn candidate(meta: &TableMeta, row: &Row, db: sea_orm::DbBackend) -> AppResult<SelectStatement> {
    let mut select = Query::select();
    for column in &meta.columns {
        select.expr_as(
            Expr::val(row_value(column, row, db)?),
            Alias::new(column.name),
        );
    }
    Ok(select)
}
