//! The tables the gateway serves, read from the application's generated entities' metadata
//! (see [`crate::Builder::entity`]): columns with their types and nullability, primary keys,
//! foreign keys. Built once at start-up.

use sea_orm::sea_query::TableRef;
use sea_orm::{
    ColumnTrait, ColumnType, EntityTrait, IdenStatic, Identity, Iterable, PrimaryKeyToColumn,
    RelationTrait,
};

/// How a column's values travel (JSON in, JSON out, SQL parameters in between).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// UUID (text form outside).
    Uuid,
    /// Text.
    Text,
    /// Boolean.
    Bool,
    /// 16-bit integer.
    SmallInt,
    /// 32-bit integer.
    Int,
    /// 64-bit integer.
    BigInt,
    /// JSON document.
    Json,
    /// Timestamp with time zone (RFC 3339 outside).
    Timestamp,
    /// Calendar date (`YYYY-MM-DD` outside; TEXT on SQLite).
    Date,
    /// Double-precision floating point (`real` and `double precision`).
    Float,
    /// Time of day without a time zone (`HH:MM:SS` outside; TEXT on SQLite).
    Time,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMeta {
    /// Column name.
    pub name: &'static str,
    /// Value type.
    pub ty: ColType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// The values of an enumeration column (TEXT with a CHECK constraint).
    pub enum_values: Option<&'static [&'static str]>,
    /// Whether an insert may leave the column out (a database default, or a value the
    /// gateway fills in itself).
    pub has_default: bool,
}

/// A foreign key: `table.column` references `ref_table.ref_column`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ForeignKey {
    /// The referencing table.
    pub table: &'static str,
    /// The referencing column.
    pub column: &'static str,
    /// The referenced table.
    pub ref_table: &'static str,
    /// The referenced column (its key).
    pub ref_column: &'static str,
}

/// One table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableMeta {
    /// Table name.
    pub name: &'static str,
    /// Columns in declaration order.
    pub columns: Vec<ColumnMeta>,
    /// Primary-key columns.
    pub primary_key: Vec<&'static str>,
    /// Foreign keys of this table (to-one relations).
    pub foreign_keys: Vec<ForeignKey>,
    raw_foreign_keys: Vec<(String, String, String)>,
    /// Columns of a type the engine does not serve, with that type: the application is
    /// refused at start ([`crate::Builder::build`]) rather than served with a guess.
    pub unsupported: Vec<(&'static str, String)>,
}

impl TableMeta {
    /// Reads the metadata of entity `E`.
    pub fn of<E: EntityTrait>() -> Self {
        let name = E::default().table_name();
        let mut unsupported = Vec::new();
        let columns = E::Column::iter()
            .filter_map(|c| {
                let def = c.def();
                let Some(ty) = col_type(def.get_column_type()) else {
                    unsupported.push((c.as_str(), format!("{:?}", def.get_column_type())));
                    return None;
                };
                Some(ColumnMeta {
                    name: c.as_str(),
                    ty,
                    nullable: def.is_null(),
                    // Filled from the application's column facts by `Builder::build`.
                    enum_values: None,
                    has_default: false,
                })
            })
            .collect();
        let primary_key = E::PrimaryKey::iter()
            .map(|k| k.into_column().as_str())
            .collect();
        let raw_foreign_keys = E::Relation::iter()
            .map(|r| r.def())
            .filter(|def| !def.is_owner)
            .filter_map(|def| match (&def.from_col, &def.to_tbl, &def.to_col) {
                (Identity::Unary(from), TableRef::Table(to_table, _), Identity::Unary(to)) => {
                    Some((from.to_string(), to_table.1.to_string(), to.to_string()))
                }
                _ => None,
            })
            .collect();
        Self {
            name,
            columns,
            primary_key,
            foreign_keys: Vec::new(),
            raw_foreign_keys,
            unsupported,
        }
    }

    /// The same table with only the `wanted` columns (all when `None`), for a SELECT list
    /// that reads only what a query needs. Primary-key columns are always kept.
    pub fn project(&self, wanted: Option<&[&str]>) -> Self {
        let Some(wanted) = wanted else {
            return self.clone();
        };
        let mut projected = self.clone();
        projected
            .columns
            .retain(|c| wanted.contains(&c.name) || self.primary_key.contains(&c.name));
        projected
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnMeta> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Whether the table has a column named `name`.
    pub fn has(&self, name: &str) -> bool {
        self.column(name).is_some()
    }
}

/// The engine's type of a column type, or `None` for one it does not serve (yet): dates
/// decimals, binary data, arrays, native enumerations and the rest.
fn col_type(ty: &ColumnType) -> Option<ColType> {
    Some(match ty {
        ColumnType::Uuid => ColType::Uuid,
        ColumnType::Text | ColumnType::String(_) | ColumnType::Char(_) => ColType::Text,
        ColumnType::Boolean => ColType::Bool,
        ColumnType::SmallInteger | ColumnType::TinyInteger => ColType::SmallInt,
        ColumnType::Integer => ColType::Int,
        ColumnType::BigInteger => ColType::BigInt,
        ColumnType::Json | ColumnType::JsonBinary => ColType::Json,
        ColumnType::TimestampWithTimeZone | ColumnType::Timestamp | ColumnType::DateTime => {
            ColType::Timestamp
        }
        ColumnType::Date => ColType::Date,
        ColumnType::Time => ColType::Time,
        ColumnType::Float | ColumnType::Double => ColType::Float,
        _ => return None,
    })
}

/// The column types the engine serves, for the refusal of the others.
pub const SUPPORTED_TYPES: &str = "uuid, text/varchar/char, boolean, smallint, integer, bigint, real/double precision, date, time, json/jsonb, timestamp/timestamptz";

/// Every table of the application.
#[derive(Debug, Clone)]
pub struct Catalog {
    tables: Vec<TableMeta>,
}

impl Catalog {
    /// A catalog of the given tables, with their foreign keys resolved.
    pub fn new(mut tables: Vec<TableMeta>) -> Self {
        let names: Vec<(&'static str, Vec<&'static str>)> = tables
            .iter()
            .map(|t| (t.name, t.columns.iter().map(|c| c.name).collect()))
            .collect();
        let find = |table: &str, column: &str| {
            names
                .iter()
                .find(|(t, _)| *t == table)
                .and_then(|(t, cols)| cols.iter().find(|c| **c == column).map(|c| (*t, *c)))
        };
        for table in &mut tables {
            let mut fks = Vec::new();
            for (column, ref_table, ref_column) in &table.raw_foreign_keys {
                if let (Some((_, column)), Some((ref_table, ref_column))) =
                    (find(table.name, column), find(ref_table, ref_column))
                {
                    fks.push(ForeignKey {
                        table: table.name,
                        column,
                        ref_table,
                        ref_column,
                    });
                }
            }
            fks.sort_by_key(|fk| fk.column);
            table.foreign_keys = fks;
        }
        Self { tables }
    }

    /// Foreign keys of other tables (or this one) that reference `table`: its to-many
    /// relations.
    pub fn referencing(&self, table: &str) -> Vec<ForeignKey> {
        self.tables
            .iter()
            .flat_map(|t| t.foreign_keys.iter().copied())
            .filter(|fk| fk.ref_table == table)
            .collect()
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&TableMeta> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Every table.
    pub fn tables(&self) -> &[TableMeta] {
        &self.tables
    }
}
