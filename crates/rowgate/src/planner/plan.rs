//! The typed plan between GraphQL and SQL: plain, hashable values the GraphQL layer builds
//! once from a request's arguments (`graphql::args`), checked against the table there; the
//! planner compiles them to SQL under the principal's policies and the loaders use them as
//! keys. Nothing here is re-parsed.

use std::hash::{Hash, Hasher};

use serde_json::Value as Json;

/// A filter on one table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Filter {
    /// Every part holds (none: true).
    All(Vec<Filter>),
    /// Some part holds (none: false).
    Any(Vec<Filter>),
    /// The part does not hold.
    Not(Box<Filter>),
    /// A condition on a column of the table.
    Column {
        /// The column.
        column: &'static str,
        /// The condition.
        op: ColumnOp,
    },
    /// The row the foreign key `column` of the table references exists, is readable, and
    /// matches `filter`.
    ToOne {
        /// The foreign-key column of the table.
        column: &'static str,
        /// The filter on the referenced table.
        filter: Box<Filter>,
    },
    /// Readable rows of `table` whose foreign key `column` references the row, quantified.
    ToMany {
        /// The referencing table.
        table: &'static str,
        /// Its foreign-key column.
        column: &'static str,
        /// Some, none or every related row.
        quantifier: Quantifier,
        /// The filter on the related rows.
        filter: Box<Filter>,
    },
}

impl Filter {
    /// The condition `op` on `column`.
    pub fn column(column: &'static str, op: ColumnOp) -> Self {
        Self::Column { column, op }
    }
}

/// How many related rows must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quantifier {
    /// At least one.
    Some,
    /// None.
    None,
    /// Every one (true when there is none).
    Every,
}

/// A condition on one column. Operands are the column's values in their JSON form (as
/// rows carry them: enumeration items as their stored text), never NULL (`IsNull` matches
/// NULL); their type is checked when the filter is compiled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColumnOp {
    /// Equal.
    Eq(Operand),
    /// Not equal.
    Neq(Operand),
    /// Greater than.
    Gt(Operand),
    /// At least.
    Gte(Operand),
    /// Less than.
    Lt(Operand),
    /// At most.
    Lte(Operand),
    /// One of.
    In(Vec<Operand>),
    /// None of.
    NotIn(Vec<Operand>),
    /// NULL (`true`) or not NULL (`false`).
    IsNull(bool),
    /// A `LIKE` pattern (`%`, `_`, `\` escapes).
    Like(String),
    /// A case-insensitive `LIKE` pattern.
    ILike(String),
    /// Starts with the text.
    StartsWith(String),
    /// Contains the text.
    Contains(String),
    /// A JSON object with the key.
    HasKey(String),
    /// A JSON value containing the operand.
    JsonContains(Operand),
    /// An array holding every element of the operand (a list).
    ArrayContains(Operand),
    /// An array whose every element is in the operand (a list).
    ArrayContainedBy(Operand),
    /// An array holding some element of the operand (a list).
    ArrayOverlaps(Operand),
}

/// A column value in its JSON form, hashable (objects hash by sorted key, as they compare).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operand(pub Json);

impl Hash for Operand {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_json(&self.0, state);
    }
}

fn hash_json<H: Hasher>(value: &Json, state: &mut H) {
    match value {
        Json::Null => 0u8.hash(state),
        Json::Bool(b) => (1u8, b).hash(state),
        Json::Number(n) => (2u8, n.to_string()).hash(state),
        Json::String(s) => (3u8, s).hash(state),
        Json::Array(items) => {
            (4u8, items.len()).hash(state);
            for item in items {
                hash_json(item, state);
            }
        }
        Json::Object(map) => {
            (5u8, map.len()).hash(state);
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for key in keys {
                key.hash(state);
                hash_json(&map[key], state);
            }
        }
    }
}
