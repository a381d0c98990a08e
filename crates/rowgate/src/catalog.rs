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
    /// Exact decimal number (`numeric` / `decimal`), with its declared precision and
    /// scale if it has them: a string outside (`"12.50"`), REAL on SQLite.
    Decimal(Option<(u32, u32)>),
    /// Binary data (`bytea`; BLOB on SQLite): standard base64 outside.
    Binary,
    /// An array of a scalar type (PostgreSQL arrays; JSON text on SQLite): a list outside.
    /// The element type is one of [`ARRAY_ELEMENTS`].
    Array(&'static ColType),
    /// A native enumeration type (PostgreSQL `CREATE TYPE … AS ENUM`; TEXT on SQLite),
    /// named by its type; its values, in their declared order, are the column's
    /// `enum_values`.
    Enum(&'static str),
}

/// The element types of the arrays the engine serves.
pub static ARRAY_ELEMENTS: [ColType; 6] = [
    ColType::Text,
    ColType::SmallInt,
    ColType::Int,
    ColType::BigInt,
    ColType::Uuid,
    ColType::Bool,
];

/// One column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMeta {
    /// Column name.
    pub name: &'static str,
    /// Value type.
    pub ty: ColType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// The values of an enumeration column: TEXT with a CHECK constraint (from the
    /// application's column facts), or a native enumeration ([`ColType::Enum`], from the
    /// entity, in declared order).
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

/// The GraphQL type of a [`ComputedField`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComputedType {
    /// `Int` (a JSON integer within 32 bits).
    Int,
    /// `Float`.
    Float,
    /// `String`.
    String,
    /// `Boolean`.
    Boolean,
    /// `JSON`.
    Json,
}

/// A field of a table's type computed from columns of its row (`opportunity_score` from
/// `importance` and `satisfaction`), declared with [`crate::Builder::computed`]. Whenever
/// the field is selected the engine reads its `columns` too, under the same read policy:
/// `compute` sees the row as the principal may read it (a masked column is `null`), so a
/// computed value never tells more than its columns do. It is not filterable nor orderable
/// (it is not a column), and always nullable: `compute` answers `null` when it cannot tell.
#[derive(Debug, Clone)]
pub struct ComputedField {
    /// Its name, snake_case like a column's (the GraphQL field is its camelCase).
    pub name: &'static str,
    /// Its GraphQL type.
    pub ty: ComputedType,
    /// The columns of the same table it is computed from.
    pub columns: Vec<crate::policy::Col>,
    /// The computation, from the row (holding at least `columns`) to the value.
    pub compute: fn(&crate::policy::eval::Row) -> serde_json::Value,
    /// The field's description in the schema.
    pub description: &'static str,
}

impl PartialEq for ComputedField {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.ty == other.ty && self.columns == other.columns
    }
}

impl Eq for ComputedField {}

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
    /// Fields computed from the row's columns ([`crate::Builder::computed`]).
    pub computed: std::sync::Arc<[ComputedField]>,
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
                    // A native enumeration's values are the entity's; a text column's are
                    // filled from the application's column facts by `Builder::build`.
                    enum_values: native_enum_values(def.get_column_type()),
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
            computed: std::sync::Arc::new([]),
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

/// The engine's type of a column type, or `None` for one it does not serve: intervals,
/// money, bit strings, network addresses, vectors, custom types, arrays of anything but
/// [`ARRAY_ELEMENTS`] and the rest.
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
        ColumnType::Decimal(precision) => ColType::Decimal(*precision),
        ColumnType::Binary(_) | ColumnType::VarBinary(_) | ColumnType::Blob => ColType::Binary,
        ColumnType::Array(element) => {
            let element = col_type(element)?;
            ColType::Array(ARRAY_ELEMENTS.iter().find(|e| **e == element)?)
        }
        ColumnType::Enum { name, .. } => ColType::Enum(intern(&name.to_string())),
        _ => return None,
    })
}

/// The declared values of a native enumeration column.
fn native_enum_values(ty: &ColumnType) -> Option<&'static [&'static str]> {
    let ColumnType::Enum { variants, .. } = ty else {
        return None;
    };
    let values: Vec<&'static str> = variants.iter().map(|v| intern(&v.to_string())).collect();
    Some(intern_list(values))
}

/// Names read from entities live as long as the catalog's other names (`&'static str`):
/// each distinct name is allocated once per process, however many applications are built.
fn intern(text: &str) -> &'static str {
    static NAMES: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut names = NAMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(name) = names.get(text) {
        return name;
    }
    let name: &'static str = Box::leak(text.to_owned().into_boxed_str());
    names.insert(name);
    name
}

/// [`intern`] for a list of interned names.
fn intern_list(list: Vec<&'static str>) -> &'static [&'static str] {
    static LISTS: std::sync::Mutex<Vec<&'static [&'static str]>> =
        std::sync::Mutex::new(Vec::new());
    let mut lists = LISTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(found) = lists.iter().find(|l| **l == list.as_slice()) {
        return found;
    }
    let leaked: &'static [&'static str] = Box::leak(list.into_boxed_slice());
    lists.push(leaked);
    leaked
}

/// The column types the engine serves, for the refusal of the others.
pub const SUPPORTED_TYPES: &str = "uuid, text/varchar/char, boolean, smallint, integer, bigint, real/double precision, numeric/decimal, date, time, json/jsonb, timestamp/timestamptz, bytea/blob, native enums, and arrays of text/varchar/char, smallint, integer, bigint, uuid or boolean";

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
