//! An application of the engine: its tables (registered from its SeaORM entities), its
//! policies, its migrations, its schema extensions and its demo data, put together by
//! [`Builder`] — the one way in. [`Builder::build`] fails closed, as a serving gateway must:
//! a table or operation without a policy, or a declaration that does not compile, refuses
//! the application before anything is served.
//!
//! The reference application (`server/src/lib.rs`) is the whole example: its entities,
//! column facts, policies, migrations, the `me` extension and its demo data, then
//! `rowgate::cli::main(application)` as its `main`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_graphql::dynamic::{Field, SchemaBuilder};
use sea_orm::{DatabaseConnection, DbErr, EntityTrait};
use uuid::Uuid;

use crate::StartupError;
use crate::catalog::{Catalog, ComputedField, TableMeta};
use crate::db::Migrations;
use crate::hooks::{WriteHook, WriteHooks};
use crate::policy::PolicySet;

/// A future of the application's own code (seeding, checks).
pub type AppFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DbErr>> + Send + 'a>>;

/// Fields and types an application adds to the GraphQL schema beside the tables'. Resolvers
/// read the request's [`crate::graphql::RequestContext`] (the principal) and the
/// [`crate::planner::Store`] from the context's data.
pub trait SchemaExtension: Send + Sync + 'static {
    /// Registers the extension's types.
    fn register(&self, builder: SchemaBuilder) -> SchemaBuilder {
        builder
    }

    /// Fields of `Query`.
    fn query_fields(&self) -> Vec<Field> {
        Vec::new()
    }

    /// Fields of `Mutation`.
    fn mutation_fields(&self) -> Vec<Field> {
        Vec::new()
    }
}

/// An account the demo data holds, for which `rowgate serve` prints a token on the embedded
/// default and GraphiQL offers "Act as".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoAccount {
    /// What the token is for ("member of Acme (bob)").
    pub label: &'static str,
    /// `sub`.
    pub user: Option<Uuid>,
    /// `tenant_id`.
    pub tenant: Option<Uuid>,
    /// `role`: `authenticated` or `service_role`.
    pub role: &'static str,
}

/// How long a demo token lasts.
pub const DEMO_TOKEN_TTL: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

/// A token of a [`DemoAccount`], freshly minted, or why it could not be.
#[derive(Debug)]
pub struct DemoToken {
    /// The account.
    pub account: DemoAccount,
    /// The HS256 token, valid for [`DEMO_TOKEN_TTL`], with the configured audience and issuer.
    pub token: Result<String, crate::error::AppError>,
}

/// An application's demo data.
pub trait DemoData: Send + Sync + 'static {
    /// The accounts tokens are printed for.
    fn accounts(&self) -> Vec<DemoAccount>;

    /// Whether the database holds no data yet (so `ROWGATE_SEED_DEMO` seeds it).
    fn is_empty<'a>(&'a self, db: &'a DatabaseConnection) -> AppFuture<'a, bool>;

    /// Whether the demo data is present (so its tokens are worth printing).
    fn is_present<'a>(&'a self, db: &'a DatabaseConnection) -> AppFuture<'a, bool>;

    /// Loads the demo data.
    fn seed<'a>(&'a self, db: &'a DatabaseConnection) -> AppFuture<'a, ()>;

    /// Loads `n` units of deterministic bulk data (`rowgate seed --scale N`) and reports
    /// what it wrote; `None` when the application has none.
    fn seed_scale<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        n: u32,
    ) -> Option<AppFuture<'a, String>> {
        let _ = (db, n);
        None
    }
}

/// Puts an application together; see the module documentation.
pub struct Builder {
    name: &'static str,
    tables: Vec<TableMeta>,
    enum_values: fn(&str, &str) -> Option<&'static [&'static str]>,
    has_default: fn(&str, &str) -> bool,
    policies: Option<PolicySet>,
    migrations: Option<Arc<dyn Migrations>>,
    extensions: Vec<Arc<dyn SchemaExtension>>,
    hooks: WriteHooks,
    computed: Vec<(&'static str, ComputedField)>,
    demo: Option<Arc<dyn DemoData>>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("name", &self.name)
            .field("tables", &self.tables.len())
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// An application called `name` (what the command line and logs call it).
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            tables: Vec::new(),
            enum_values: |_, _| None,
            has_default: |_, _| false,
            policies: None,
            migrations: None,
            extensions: Vec::new(),
            hooks: WriteHooks::default(),
            computed: Vec::new(),
            demo: None,
        }
    }

    /// Serves the table of entity `E` (its columns, keys and relations).
    pub fn entity<E: EntityTrait>(mut self) -> Self {
        self.tables.push(TableMeta::of::<E>());
        self
    }

    /// What the entities cannot say about a column: the values of an enumeration column
    /// (TEXT with a CHECK constraint), and whether an insert may leave it out (a database
    /// default). Both take `(table, column)`.
    pub fn column_facts(
        mut self,
        enum_values: fn(&str, &str) -> Option<&'static [&'static str]>,
        has_default: fn(&str, &str) -> bool,
    ) -> Self {
        self.enum_values = enum_values;
        self.has_default = has_default;
        self
    }

    /// The policies of every table.
    pub fn policies(mut self, policies: PolicySet) -> Self {
        self.policies = Some(policies);
        self
    }

    /// The migrations (`rowgate migrate`, `ROWGATE_AUTO_MIGRATE`).
    pub fn migrations(mut self, migrations: impl Migrations) -> Self {
        self.migrations = Some(Arc::new(migrations));
        self
    }

    /// Adds fields and types to the schema.
    pub fn extension(mut self, extension: impl SchemaExtension) -> Self {
        self.extensions.push(Arc::new(extension));
        self
    }

    /// Runs `hook` in the transaction of every write of `E`'s table (see [`crate::hooks`]);
    /// several hooks of one table run in the order they were added.
    pub fn hook<E: EntityTrait>(mut self, hook: impl WriteHook) -> Self {
        self.hooks.add::<E>(hook);
        self
    }

    /// Adds `field`, computed from columns of the row, to the type of `E`'s table (see
    /// [`ComputedField`]). The build refuses a field whose name is taken by a column or a
    /// relation, or whose columns are not the table's.
    pub fn computed<E: EntityTrait>(mut self, field: ComputedField) -> Self {
        self.computed.push((E::default().table_name(), field));
        self
    }

    /// The demo data `cargo run` loads on the embedded default.
    pub fn demo(mut self, demo: impl DemoData) -> Self {
        self.demo = Some(Arc::new(demo));
        self
    }

    /// The application, or why it cannot be served: a table without a policy for every
    /// operation, a declaration that does not compile, no migrations.
    pub fn build(self) -> Result<Application, StartupError> {
        let policies = self
            .policies
            .ok_or_else(|| StartupError::Policy("the application declares no policies".into()))?;
        let migrations = self.migrations.ok_or_else(|| {
            StartupError::Schema(format!("application {} declares no migrations", self.name))
        })?;
        let mut tables = self.tables;
        if let Some((table, (column, ty))) = tables
            .iter()
            .find_map(|t| t.unsupported.first().map(|c| (t.name, c)))
        {
            return Err(StartupError::Schema(format!(
                "column {table}.{column} has type {ty}, which rowgate does not serve; supported: {}",
                crate::catalog::SUPPORTED_TYPES
            )));
        }
        for table in &tables {
            for column in &table.columns {
                if let crate::catalog::ColType::Enum(type_name) = column.ty {
                    check_enum_items(table.name, column, type_name)?;
                }
                // The engine's statements add result columns of their own beside a table's.
                if crate::planner::batch::RESULT_COLUMNS.contains(&column.name) {
                    return Err(StartupError::Schema(format!(
                        "column {}.{} is named like a result column of rowgate's own statements ({}); rename it",
                        table.name,
                        column.name,
                        crate::planner::batch::RESULT_COLUMNS.join(", ")
                    )));
                }
            }
        }
        for table in &mut tables {
            for column in &mut table.columns {
                // A native enumeration keeps the values its type declares.
                column.enum_values = column
                    .enum_values
                    .or_else(|| (self.enum_values)(table.name, column.name));
                column.has_default = (self.has_default)(table.name, column.name);
            }
        }
        attach_computed(&mut tables, self.computed)?;
        let catalog = Catalog::new(tables);
        for table in catalog.tables() {
            for field in table.computed.iter() {
                let name = crate::graphql::names::camel(field.name);
                let relation = table
                    .foreign_keys
                    .iter()
                    .map(crate::graphql::names::to_one_name)
                    .chain(
                        catalog
                            .referencing(table.name)
                            .iter()
                            .map(|fk| crate::graphql::names::to_many_name(&catalog, fk)),
                    )
                    .any(|relation| relation == name);
                if relation || name == "nodeId" {
                    return Err(StartupError::Schema(format!(
                        "computed field {}.{} is named like a field its type already has",
                        table.name, field.name
                    )));
                }
            }
        }
        policies
            .check_coverage(catalog.tables().iter().map(|t| t.name))
            .map_err(|e| StartupError::Policy(e.to_string()))?;
        // A key column read as NULL would leave a row without its key (and its `nodeId`).
        for table in catalog.tables() {
            let Some(policy) = policies.table(table.name) else {
                continue;
            };
            let copies = policy.copies.iter().flat_map(|c| c.values.iter());
            if let Some(column) = policy
                .masks
                .iter()
                .map(|(c, _)| c)
                .chain(copies)
                .find(|c| table.primary_key.contains(&c.name))
            {
                return Err(StartupError::Policy(format!(
                    "the policy of {} masks its key column {}; a key is readable by whoever reads the row",
                    table.name, column.name
                )));
            }
        }
        if let Some((table, hook)) = self
            .hooks
            .iter()
            .find(|(table, _)| catalog.table(table).is_none())
        {
            return Err(StartupError::Schema(format!(
                "write hook `{hook}` is registered for {table}, which is not among the application's entities"
            )));
        }
        let problems = crate::policy::declaration_problems(&policies);
        if !problems.is_empty() {
            return Err(StartupError::Policy(problems.join("; ")));
        }
        Ok(Application(Arc::new(Parts {
            name: self.name,
            catalog: Arc::new(catalog),
            policies: Arc::new(policies),
            migrations,
            extensions: self.extensions,
            hooks: Arc::new(self.hooks),
            demo: self.demo,
        })))
    }
}

/// Puts each computed field on its table, refusing one whose table is not served, whose
/// columns are not that table's, or whose name a column has.
fn attach_computed(
    tables: &mut [TableMeta],
    computed: Vec<(&'static str, ComputedField)>,
) -> Result<(), StartupError> {
    let mut by_table: std::collections::BTreeMap<&str, Vec<ComputedField>> = Default::default();
    for (table_name, field) in computed {
        let Some(table) = tables.iter().find(|t| t.name == table_name) else {
            return Err(StartupError::Schema(format!(
                "computed field {table_name}.{} is declared for a table that is not among the application's entities",
                field.name
            )));
        };
        if let Some(column) = field
            .columns
            .iter()
            .find(|c| c.table != table_name || !table.columns.iter().any(|t| t.name == c.name))
        {
            return Err(StartupError::Schema(format!(
                "computed field {table_name}.{} is computed from {}.{}, which is not a column of {table_name}",
                field.name, column.table, column.name
            )));
        }
        let named = |name: &str| crate::graphql::names::camel(name);
        let taken = table
            .columns
            .iter()
            .any(|c| named(c.name) == named(field.name))
            || by_table
                .get(table_name)
                .is_some_and(|fields| fields.iter().any(|f| named(f.name) == named(field.name)));
        if taken {
            return Err(StartupError::Schema(format!(
                "computed field {table_name}.{} is named like a field its type already has",
                field.name
            )));
        }
        by_table.entry(table_name).or_default().push(field);
    }
    for table in tables {
        if let Some(fields) = by_table.remove(table.name) {
            table.computed = fields.into();
        }
    }
    Ok(())
}

/// Refuses a native enumeration whose values do not each make a GraphQL enum item of their
/// own (`enum_item`: letters, digits and `_`, upper-cased, not starting with a digit).
fn check_enum_items(
    table: &str,
    column: &crate::catalog::ColumnMeta,
    type_name: &str,
) -> Result<(), StartupError> {
    let values = column.enum_values.unwrap_or_default();
    if values.is_empty() {
        return Err(StartupError::Schema(format!(
            "column {table}.{} has enum type {type_name} without values",
            column.name
        )));
    }
    let mut items = std::collections::BTreeSet::new();
    for value in values {
        let item = crate::graphql::names::enum_item(value);
        let named = item.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && !item.starts_with("__")
            && item.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !named || !items.insert(item) {
            return Err(StartupError::Schema(format!(
                "column {table}.{}: the value `{value}` of enum type {type_name} makes no GraphQL enum item of its own (letters, digits and _, unique once upper-cased)",
                column.name
            )));
        }
    }
    Ok(())
}

/// A built application: what the engine serves. Cheap to clone.
#[derive(Clone)]
pub struct Application(Arc<Parts>);

struct Parts {
    name: &'static str,
    catalog: Arc<Catalog>,
    policies: Arc<PolicySet>,
    migrations: Arc<dyn Migrations>,
    extensions: Vec<Arc<dyn SchemaExtension>>,
    hooks: Arc<WriteHooks>,
    demo: Option<Arc<dyn DemoData>>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("name", &self.0.name)
            .field("tables", &self.0.catalog.tables().len())
            .finish_non_exhaustive()
    }
}

impl Application {
    /// The application's name.
    pub fn name(&self) -> &'static str {
        self.0.name
    }

    /// The tables served.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.0.catalog
    }

    /// The policies.
    pub fn policies(&self) -> &Arc<PolicySet> {
        &self.0.policies
    }

    /// The migrations.
    pub fn migrations(&self) -> &dyn Migrations {
        &*self.0.migrations
    }

    /// The schema extensions.
    pub fn extensions(&self) -> &[Arc<dyn SchemaExtension>] {
        &self.0.extensions
    }

    /// The demo data, if the application has some.
    pub fn demo(&self) -> Option<&dyn DemoData> {
        self.0.demo.as_deref()
    }

    /// Mints a token for every demo account with `secret`: what `rowgate serve` prints on
    /// the embedded default, and what GraphiQL offers there as "Act as".
    pub fn demo_tokens(
        &self,
        jwt: &crate::config::JwtConfig,
        secret: &crate::config::Secret,
    ) -> Vec<DemoToken> {
        let accounts = self.demo().map(DemoData::accounts).unwrap_or_default();
        accounts
            .into_iter()
            .map(|account| DemoToken {
                account,
                token: crate::auth::jwt::mint_token(
                    secret,
                    &crate::auth::jwt::TokenRequest {
                        user: account.user,
                        tenant: account.tenant,
                        role: account.role.to_owned(),
                        ttl: DEMO_TOKEN_TTL,
                        audience: jwt.audience.clone(),
                        issuer: jwt.issuer.clone(),
                    },
                ),
            })
            .collect()
    }

    /// The store over `db`: reads and writes under the application's policies.
    pub fn store(&self, db: DatabaseConnection) -> crate::planner::Store {
        crate::planner::Store::new(db, self.0.catalog.clone(), self.0.policies.clone())
            .with_write_hooks(self.0.hooks.clone())
    }

    /// The GraphQL schema over `store` with a cache that caches nothing (enough to print
    /// the SDL).
    pub fn schema(
        &self,
        store: crate::planner::Store,
        options: crate::graphql::SchemaOptions,
    ) -> Result<crate::graphql::GatewaySchema, StartupError> {
        let cache = crate::cache::HotCache::disabled(store.clone());
        crate::graphql::build_schema_with(store, cache, options, self.extensions())
            .map_err(|e| StartupError::Schema(e.to_string()))
    }

    /// The gateway over `db` with `config`: every route, with the store and the cache it
    /// serves from. Inside a Tokio runtime this starts the cache's background tasks (Redis
    /// subscriber, PostgreSQL listener) and the change bus.
    pub fn gateway(
        &self,
        config: crate::config::Config,
        db: DatabaseConnection,
    ) -> Result<crate::Gateway, StartupError> {
        crate::build_gateway(self, config, db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Access, Pred, TablePolicy, col};

    /// A table of a wedding-supplier CRM, with a column type the engine does not serve
    /// (an interval) beside one it does (a date).
    mod leads {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "leads")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: Uuid,
            pub supplier_id: Uuid,
            pub name: String,
            pub wedding_date: Option<Date>,
            #[sea_orm(column_type = "Interval(None, None)", nullable)]
            pub lead_time: Option<String>,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    /// A table with a column named like one the engine's statements add.
    mod tallies {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "tallies")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: Uuid,
            pub supplier_id: Uuid,
            pub rg_total: i64,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    /// A table the engine serves whole.
    mod templates {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "templates")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: Uuid,
            pub supplier_id: Uuid,
            pub title: String,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    fn readable_by_supplier(table: &'static str, pred: Pred) -> TablePolicy {
        TablePolicy {
            table,
            soft_delete: None,
            read: Access::Allow(pred),
            masks: Vec::new(),
            insert: Some(crate::policy::InsertRule {
                check: Access::Deny,
                columns: Vec::new(),
                presets: Vec::new(),
                column_checks: Vec::new(),
            }),
            update: Some(crate::policy::UpdateRule {
                using: Access::Deny,
                check: Pred::Always,
                columns: Vec::new(),
                presets: Vec::new(),
                column_checks: Vec::new(),
            }),
            delete: Access::Deny,
            copies: None,
        }
    }

    fn templates_policy() -> TablePolicy {
        readable_by_supplier(
            "templates",
            Pred::InFact(col(templates::Column::SupplierId), "my_suppliers"),
        )
    }

    fn supplier_facts() -> Vec<crate::policy::Fact> {
        vec![crate::policy::Fact::ids(
            "my_suppliers",
            col(templates::Column::SupplierId),
            col(templates::Column::Id),
        )]
    }

    fn builder() -> Builder {
        Builder::new("crm").migrations(crate::db::NoMigrations)
    }

    #[test]
    fn an_application_of_served_tables_with_their_policies_and_facts_builds() {
        let app = builder()
            .entity::<templates::Entity>()
            .policies(PolicySet::new(vec![templates_policy()]).with_facts(supplier_facts()))
            .build()
            .expect("builds");
        assert_eq!(app.catalog().tables().len(), 1);
        assert_eq!(app.name(), "crm");
    }

    #[test]
    fn a_column_of_an_unserved_type_refuses_the_application_naming_it() {
        let err = builder()
            .entity::<leads::Entity>()
            .policies(PolicySet::new(vec![readable_by_supplier(
                "leads",
                Pred::Always,
            )]))
            .build()
            .expect_err("an interval column");
        let message = err.to_string();
        assert!(message.contains("leads.lead_time"), "{message}");
        assert!(message.contains("Interval"), "{message}");
        assert!(!message.contains('\n'), "one line: {message}");
    }

    #[test]
    fn a_column_named_like_a_result_column_of_the_engine_refuses_the_application() {
        let err = builder()
            .entity::<tallies::Entity>()
            .policies(PolicySet::new(vec![readable_by_supplier(
                "tallies",
                Pred::Always,
            )]))
            .build()
            .expect_err("a column named rg_total");
        let message = err.to_string();
        assert!(message.contains("tallies.rg_total"), "{message}");
    }

    fn computed(name: &'static str, columns: Vec<crate::policy::Col>) -> ComputedField {
        ComputedField {
            name,
            ty: crate::catalog::ComputedType::String,
            columns,
            compute: |row| row.get("title").cloned().unwrap_or_default(),
            description: "",
        }
    }

    #[test]
    fn a_computed_field_from_another_tables_column_or_named_like_a_column_refuses_the_application()
    {
        let build = |field| {
            builder()
                .entity::<templates::Entity>()
                .computed::<templates::Entity>(field)
                .policies(PolicySet::new(vec![templates_policy()]))
                .build()
        };
        let foreign = build(computed("label", vec![col(leads::Column::Name)]));
        let message = foreign.expect_err("another table's column").to_string();
        assert!(message.contains("templates.label"), "{message}");
        let taken = builder()
            .entity::<templates::Entity>()
            .computed::<templates::Entity>(computed("title", vec![col(templates::Column::Title)]))
            .policies(PolicySet::new(vec![templates_policy()]))
            .build()
            .expect_err("named like a column");
        assert!(taken.to_string().contains("named like"), "{taken}");
        let served = builder()
            .entity::<templates::Entity>()
            .computed::<templates::Entity>(computed("label", vec![col(templates::Column::Title)]))
            .policies(PolicySet::new(vec![templates_policy()]).with_facts(supplier_facts()))
            .build()
            .expect("a computed field of the table's own columns");
        let templates = served.catalog().table("templates").expect("templates");
        assert_eq!(templates.computed.len(), 1);
    }

    #[test]
    fn a_cached_table_whose_read_needs_another_row_refuses_the_application() {
        let needs_row = readable_by_supplier(
            "templates",
            Pred::exists(
                "templates",
                [(
                    col(templates::Column::Id),
                    col(templates::Column::SupplierId),
                )],
                Pred::Always,
            ),
        );
        let err = builder()
            .entity::<templates::Entity>()
            .policies(PolicySet::new(vec![needs_row]).with_cached_tables(["templates"]))
            .build()
            .expect_err("an Exists read");
        assert!(
            err.to_string().contains("cached table `templates`"),
            "{err}"
        );
        builder()
            .entity::<templates::Entity>()
            .policies(
                PolicySet::new(vec![templates_policy()])
                    .with_facts(supplier_facts())
                    .with_cached_tables(["templates"]),
            )
            .build()
            .expect("a read the row decides");
    }

    /// A supplier's quotes: an exact total, the signed contract's bytes, tags, the guests'
    /// ids, table numbers and a status of a native enum type, as sea-orm-cli generates
    /// them from PostgreSQL.
    mod quotes {
        use sea_orm::entity::prelude::*;

        #[derive(Debug, Clone, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
        #[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "quote_status")]
        pub enum QuoteStatus {
            #[sea_orm(string_value = "draft")]
            Draft,
            #[sea_orm(string_value = "sent")]
            Sent,
            #[sea_orm(string_value = "accepted")]
            Accepted,
        }

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "quotes")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: Uuid,
            pub supplier_id: Uuid,
            #[sea_orm(column_type = "Decimal(Some((12, 2)))")]
            pub total: Decimal,
            #[sea_orm(column_type = "VarBinary(StringLen::None)", nullable)]
            pub signed_contract: Option<Vec<u8>>,
            pub tags: Option<Vec<String>>,
            #[sea_orm(column_type = "Array(RcOrArc::new(ColumnType::Text))")]
            pub venues: Vec<String>,
            pub guest_ids: Option<Vec<Uuid>>,
            pub table_numbers: Option<Vec<i32>>,
            pub status: QuoteStatus,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    /// A native enum type whose values make no GraphQL names.
    mod tastings {
        use sea_orm::entity::prelude::*;

        #[derive(Debug, Clone, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
        #[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "tasting_state")]
        pub enum TastingState {
            #[sea_orm(string_value = "to book")]
            ToBook,
            #[sea_orm(string_value = "booked")]
            Booked,
        }

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "tastings")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: Uuid,
            pub supplier_id: Uuid,
            pub state: TastingState,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    #[test]
    fn decimal_binary_array_and_native_enum_columns_are_served_with_their_types() {
        use crate::catalog::ColType;
        let app = builder()
            .entity::<quotes::Entity>()
            .policies(PolicySet::new(vec![readable_by_supplier(
                "quotes",
                Pred::Always,
            )]))
            .build()
            .expect("builds");
        let quotes = app.catalog().table("quotes").expect("quotes");
        let ty = |name: &str| quotes.column(name).map(|c| c.ty);
        assert_eq!(ty("total"), Some(ColType::Decimal(Some((12, 2)))));
        assert_eq!(ty("signed_contract"), Some(ColType::Binary));
        // sea-orm-cli writes `text[]` as a bare `Vec<String>`, which SeaORM reads as an array
        // of `String(None)`: both are arrays of text.
        assert_eq!(ty("tags"), Some(ColType::Array(&ColType::Text)));
        assert_eq!(ty("venues"), Some(ColType::Array(&ColType::Text)));
        assert_eq!(ty("guest_ids"), Some(ColType::Array(&ColType::Uuid)));
        assert_eq!(ty("table_numbers"), Some(ColType::Array(&ColType::Int)));
        assert_eq!(ty("status"), Some(ColType::Enum("quote_status")));
        assert_eq!(
            quotes.column("status").and_then(|c| c.enum_values),
            Some(&["draft", "sent", "accepted"][..]),
            "in declared order"
        );
    }

    #[test]
    fn the_schema_gives_decimal_binary_array_and_enum_columns_their_types_filters_and_orders() {
        let app = builder()
            .entity::<quotes::Entity>()
            .policies(PolicySet::new(vec![readable_by_supplier(
                "quotes",
                Pred::Always,
            )]))
            .build()
            .expect("builds");
        let sdl = app
            .schema(
                app.store(DatabaseConnection::default()),
                crate::graphql::SchemaOptions::default(),
            )
            .expect("schema")
            .sdl();
        for expected in [
            "scalar Decimal",
            "scalar Base64",
            "total: Decimal!",
            "signedContract: Base64\n",
            "tags: [String!]\n",
            "guestIds: [UUID!]\n",
            "tableNumbers: [Int!]\n",
            "status: QuoteStatus!",
            "enum QuoteStatus {\n\tDRAFT\n\tSENT\n\tACCEPTED\n}",
            "total: DecimalFilter",
            "signedContract: Base64Filter",
            "tags: StringArrayFilter",
            "guestIds: UUIDArrayFilter",
            "tableNumbers: IntArrayFilter",
            "status: QuoteStatusFilter",
            "containedBy: [UUID!]",
            "TOTAL_ASC",
            "STATUS_DESC",
        ] {
            assert!(sdl.contains(expected), "{expected} in:\n{sdl}");
        }
        // No order both databases share: neither bytes nor arrays are offered to orderBy,
        // nor ordered comparisons of bytes.
        for absent in ["SIGNED_CONTRACT_ASC", "TAGS_ASC", "GUEST_IDS_DESC"] {
            assert!(!sdl.contains(absent), "{absent} in:\n{sdl}");
        }
        let base64_filter = sdl
            .split("input Base64Filter {")
            .nth(1)
            .and_then(|rest| rest.split('}').next())
            .expect("Base64Filter");
        assert!(!base64_filter.contains("gt:"), "{base64_filter}");
    }

    #[test]
    fn a_native_enum_value_without_a_graphql_name_refuses_the_application_naming_it() {
        let err = builder()
            .entity::<tastings::Entity>()
            .policies(PolicySet::new(vec![readable_by_supplier(
                "tastings",
                Pred::Always,
            )]))
            .build()
            .expect_err("`to book` is no GraphQL name");
        let message = err.to_string();
        assert!(
            message.contains("tastings.state") && message.contains("to book"),
            "{message}"
        );
    }

    #[test]
    fn a_masked_key_column_refuses_the_application() {
        let mut policy = templates_policy();
        policy.masks = vec![(col(templates::Column::Id), Pred::Never)];
        let err = builder()
            .entity::<templates::Entity>()
            .policies(PolicySet::new(vec![policy]).with_facts(supplier_facts()))
            .build()
            .expect_err("a masked key");
        assert!(
            err.to_string().contains("templates") && err.to_string().contains("id"),
            "{err}"
        );
    }

    #[test]
    fn a_table_without_a_policy_refuses_the_application_naming_it() {
        let err = builder()
            .entity::<templates::Entity>()
            .policies(PolicySet::new(Vec::new()))
            .build()
            .expect_err("templates has no policy");
        assert!(err.to_string().contains("templates"), "{err}");
    }

    struct NotifySupplier;

    #[crate::hooks::async_trait]
    impl WriteHook for NotifySupplier {
        fn name(&self) -> &'static str {
            "notify_supplier"
        }
    }

    #[test]
    fn a_hook_on_a_table_that_is_not_served_refuses_the_application_naming_it() {
        let err = builder()
            .entity::<templates::Entity>()
            .policies(PolicySet::new(vec![templates_policy()]).with_facts(supplier_facts()))
            .hook::<leads::Entity>(NotifySupplier)
            .build()
            .expect_err("leads is not served");
        let message = err.to_string();
        assert!(
            message.contains("notify_supplier") && message.contains("leads"),
            "{message}"
        );
        assert!(!message.contains('\n'), "one line: {message}");
    }

    #[test]
    fn an_audit_trail_writing_another_tables_column_refuses_the_application_naming_it() {
        let trail = crate::policy::AuditTrail {
            old_values: Some(col(leads::Column::Name)),
            ..crate::policy::AuditTrail::new(
                col(templates::Column::Title),
                col(templates::Column::Title),
                col(templates::Column::Title),
            )
        };
        let err = builder()
            .entity::<templates::Entity>()
            .policies(
                PolicySet::new(vec![templates_policy()])
                    .with_facts(supplier_facts())
                    .with_audit(trail),
            )
            .build()
            .expect_err("leads.name is not a column of templates");
        assert!(err.to_string().contains("leads.name"), "{err}");
    }

    #[test]
    fn a_policy_naming_an_undeclared_fact_refuses_the_application_naming_it() {
        let err = builder()
            .entity::<templates::Entity>()
            .policies(PolicySet::new(vec![templates_policy()]))
            .build()
            .expect_err("my_suppliers is not declared");
        let message = err.to_string();
        assert!(
            message.contains("my_suppliers") && message.contains("templates"),
            "{message}"
        );
    }

    #[test]
    fn an_application_without_policies_or_migrations_is_refused() {
        let err = Builder::new("crm")
            .entity::<templates::Entity>()
            .policies(PolicySet::new(vec![templates_policy()]).with_facts(supplier_facts()))
            .build()
            .expect_err("no migrations");
        assert!(err.to_string().contains("migrations"), "{err}");
        let err = builder()
            .entity::<templates::Entity>()
            .build()
            .expect_err("no policies");
        assert!(err.to_string().contains("policies"), "{err}");
    }
}
