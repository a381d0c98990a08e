//! The tables the gateway serves, read from the generated entities' metadata: columns with
//! their types and nullability, primary keys. Built once at start-up.

use sea_orm::{ColumnTrait, ColumnType, EntityTrait, IdenStatic, Iterable, PrimaryKeyToColumn};

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
}

impl TableMeta {
    /// Reads the metadata of entity `E`.
    pub fn of<E: EntityTrait>() -> Self {
        let columns = E::Column::iter()
            .map(|c| {
                let def = c.def();
                ColumnMeta {
                    name: c.as_str(),
                    ty: col_type(def.get_column_type()),
                    nullable: def.is_null(),
                }
            })
            .collect();
        let primary_key = E::PrimaryKey::iter()
            .map(|k| k.into_column().as_str())
            .collect();
        Self {
            name: E::default().table_name(),
            columns,
            primary_key,
        }
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

fn col_type(ty: &ColumnType) -> ColType {
    match ty {
        ColumnType::Uuid => ColType::Uuid,
        ColumnType::Boolean => ColType::Bool,
        ColumnType::SmallInteger | ColumnType::TinyInteger => ColType::SmallInt,
        ColumnType::Integer => ColType::Int,
        ColumnType::BigInteger => ColType::BigInt,
        ColumnType::Json | ColumnType::JsonBinary => ColType::Json,
        ColumnType::TimestampWithTimeZone | ColumnType::Timestamp | ColumnType::DateTime => {
            ColType::Timestamp
        }
        _ => ColType::Text,
    }
}

/// Every table of the generated entities.
#[derive(Debug, Clone)]
pub struct Catalog {
    tables: Vec<TableMeta>,
}

macro_rules! entity_tables {
    ($($module:ident),* $(,)?) => {
        vec![$(TableMeta::of::<entities::$module::Entity>()),*]
    };
}

impl Catalog {
    /// The catalog of every generated entity (the list comes from `entities/src/lib.rs`).
    pub fn from_entities() -> Self {
        Self {
            tables: include!(concat!(env!("OUT_DIR"), "/entity_tables.rs")),
        }
    }

    /// A catalog of the given tables (tests).
    pub fn new(tables: Vec<TableMeta>) -> Self {
        Self { tables }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_has_every_table_with_its_keys() {
        let catalog = Catalog::from_entities();
        assert_eq!(catalog.tables().len(), 22);
        let members = catalog.table("tenant_members").expect("tenant_members");
        assert_eq!(members.primary_key, ["tenant_id", "user_id"]);
        let posts = catalog.table("posts").expect("posts");
        assert_eq!(
            posts.column("metadata").map(|c| (c.ty, c.nullable)),
            Some((ColType::Json, true))
        );
        assert_eq!(posts.column("id").map(|c| c.ty), Some(ColType::Uuid));
        let flags = catalog.table("feature_flags").expect("flags");
        assert_eq!(
            flags.column("rollout_percent").map(|c| c.ty),
            Some(ColType::SmallInt)
        );
    }

    #[test]
    fn every_table_has_a_policy_for_every_operation() {
        let catalog = Catalog::from_entities();
        crate::policy::rules::policies()
            .check_coverage(catalog.tables().iter().map(|t| t.name))
            .expect("coverage");
    }

    #[test]
    fn a_table_without_a_policy_is_refused() {
        let mut catalog = Catalog::from_entities().tables;
        catalog.push(TableMeta {
            name: "invoices",
            columns: Vec::new(),
            primary_key: vec!["id"],
        });
        let err = crate::policy::rules::policies()
            .check_coverage(catalog.iter().map(|t| t.name))
            .expect_err("invoices has no policy");
        assert!(err.to_string().contains("invoices"), "{err}");
    }
}
