//! Seed data: `demo` (every role and policy pattern, small) and `scale` (deterministic bulk
//! data for benchmarks). Both insert through [`insert_rows`]: multi-row statements whose
//! columns are named through the generated entities, so a renamed column breaks the build.

pub mod demo;
pub mod scale;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use sea_orm::sea_query::{Query, SimpleExpr};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Iterable, Value};

/// Most bind parameters one statement may carry (SQLite allows 32766, PostgreSQL 65535).
const MAX_PARAMS: usize = 30_000;

/// Rows to insert into one table: its columns, then one value per column per row.
#[derive(Debug)]
pub struct Rows<E: EntityTrait> {
    columns: Vec<E::Column>,
    values: Vec<Vec<Value>>,
}

impl<E: EntityTrait> Rows<E> {
    /// Starts a batch for `columns`.
    pub fn new(columns: impl IntoIterator<Item = E::Column>) -> Self {
        Self {
            columns: columns.into_iter().collect(),
            values: Vec::new(),
        }
    }

    /// Starts a batch for every column of the entity, in declaration order.
    pub fn all_columns() -> Self {
        Self::new(E::Column::iter())
    }

    /// Adds one row; `values` must follow the column order.
    pub fn push(&mut self, values: Vec<Value>) {
        debug_assert_eq!(values.len(), self.columns.len(), "row width");
        self.values.push(values);
    }

    /// How many rows are queued.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no row is queued.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Inserts the queued rows in multi-row statements of at most [`MAX_PARAMS`] parameters.
    pub async fn insert(self, db: &impl ConnectionTrait) -> Result<usize, DbErr> {
        let per_statement = (MAX_PARAMS / self.columns.len().max(1)).max(1);
        let total = self.values.len();
        let mut rows = self.values.into_iter().peekable();
        while rows.peek().is_some() {
            let mut statement = Query::insert();
            statement
                .into_table(E::default())
                .columns(self.columns.iter().copied());
            for row in rows.by_ref().take(per_statement) {
                statement
                    .values(row.into_iter().map(SimpleExpr::from))
                    .map_err(|e| DbErr::Custom(e.to_string()))?;
            }
            db.execute(&statement).await?;
        }
        Ok(total)
    }
}

/// A fixed point in time the seeds count from, so that seeded data is deterministic.
pub fn epoch() -> DateTime<FixedOffset> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
        .fixed_offset()
}

/// [`epoch`] moved back by `minutes`.
pub fn minutes_before_epoch(minutes: i64) -> DateTime<FixedOffset> {
    epoch() - chrono::Duration::minutes(minutes)
}

/// `Some(value)` as a nullable database value.
pub fn some<T: Into<Value>>(value: T) -> Value {
    value.into()
}

/// A NULL of the type of `T`.
pub fn null<T: sea_orm::sea_query::Nullable>() -> Value {
    T::null()
}
