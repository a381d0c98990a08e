//! Row-level policy: a small typed language, declared once per table by the application, compiled
//! per principal to a SeaQuery condition ([`compile`]) and evaluated in memory against a
//! loaded row ([`eval`]).
//!
//! Pure: no axum, no async-graphql, no I/O. Columns are named through the generated
//! entities' `Column` enums ([`col`]), so renaming a column breaks the build, not a policy.
//!
//! Facts known before the query — the active tenant, memberships, platform roles, blocked
//! users — are resolved from the [`Principal`] at compile time and bound as parameters;
//! relational rules become `EXISTS` subqueries; constants from the declarations (`'published'`)
//! are emitted as literals so partial indexes keep matching.

pub mod compile;
pub mod eval;
pub mod principal;

use sea_orm::{ColumnTrait, EntityName};

pub use crate::principal::{Facts, Principal, Role};

/// A column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Col {
    /// Table name.
    pub table: &'static str,
    /// Column name.
    pub name: &'static str,
}

/// Names a column through its entity's `Column` enum.
pub fn col<C: ColumnTrait>(column: C) -> Col {
    Col {
        table: C::EntityName::default().table_name(),
        name: column.as_str(),
    }
}

/// A constant from a declaration; emitted as an SQL literal, never a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lit {
    /// A text constant (enumeration values).
    Text(&'static str),
    /// A boolean constant.
    Bool(bool),
}

/// A fact about the principal that the application declares: a set of ids (the tenants
/// where the user is an admin, the users they blocked) or a flag (the user is a platform
/// admin), loaded from a table by the user's id, cached per user, and invalidated whenever
/// a row of that table changes. Policies name facts ([`Pred::InFact`], [`Pred::Flag`]);
/// they are bound as parameters at compile time, and an empty set folds to FALSE.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    /// The name policies use.
    pub name: &'static str,
    /// The column of the source table that holds the user's id (`tenant_members.user_id`).
    pub user: Col,
    /// What the fact is.
    pub kind: FactKind,
    /// Only rows where each column holds one of the constants count
    /// (`tenant_members.role IN ('owner', 'admin')`).
    pub when: Vec<(Col, Vec<Lit>)>,
}

/// What a [`Fact`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactKind {
    /// The values (UUIDs) of this column of the user's rows.
    Ids(Col),
    /// Whether the user has at least one such row.
    Flag,
}

impl Fact {
    /// The set of `values` of the rows whose `user` column is the principal's user.
    pub fn ids(name: &'static str, user: Col, values: Col) -> Self {
        Self {
            name,
            user,
            kind: FactKind::Ids(values),
            when: Vec::new(),
        }
    }

    /// Whether some row's `user` column is the principal's user.
    pub fn flag(name: &'static str, user: Col) -> Self {
        Self {
            name,
            user,
            kind: FactKind::Flag,
            when: Vec::new(),
        }
    }

    /// Counts only rows where `column` is one of `values`.
    pub fn when(mut self, column: Col, values: impl IntoIterator<Item = Lit>) -> Self {
        self.when.push((column, values.into_iter().collect()));
        self
    }

    /// The table the fact is loaded from.
    pub fn table(&self) -> &'static str {
        self.user.table
    }
}

/// A predicate over one row of a table and the principal.
#[derive(Debug, Clone, PartialEq)]
pub enum Pred {
    /// Always true.
    Always,
    /// Always false.
    Never,
    /// Every one holds.
    All(Vec<Pred>),
    /// At least one holds.
    Any(Vec<Pred>),
    /// Negation.
    Not(Box<Pred>),
    /// The principal is authenticated (has a user).
    Authenticated,
    /// The principal's flag fact of this name holds.
    Flag(&'static str),
    /// The column equals the principal's user id.
    IsSelf(Col),
    /// The column equals the principal's active tenant.
    ActiveTenant(Col),
    /// The column's value is in the principal's id-set fact of this name.
    InFact(Col, &'static str),
    /// The column equals a constant.
    Eq(Col, Lit),
    /// The column is one of the constants.
    In(Col, Vec<Lit>),
    /// The column is NULL.
    IsNull(Col),
    /// Some row of another table (or the same table, aliased) satisfies `pred`, linked
    /// by `links`: each pair is (column of that row, column of the enclosing row).
    Exists {
        /// The table searched.
        table: &'static str,
        /// Join columns: (inner, outer).
        links: Vec<(Col, Col)>,
        /// What the found row must satisfy.
        pred: Box<Pred>,
    },
    /// The parent row that `fk` references (at `parent_key`) is readable by the principal:
    /// expands to an `Exists` with the parent table's read policy.
    ReadableVia {
        /// Foreign-key column of this row.
        fk: Col,
        /// Key column of the parent.
        parent_key: Col,
    },
}

impl Pred {
    /// All of `preds`.
    pub fn all(preds: impl IntoIterator<Item = Pred>) -> Self {
        Self::All(preds.into_iter().collect())
    }

    /// Any of `preds`.
    pub fn any(preds: impl IntoIterator<Item = Pred>) -> Self {
        Self::Any(preds.into_iter().collect())
    }

    /// Negation of `pred`.
    #[expect(
        clippy::should_implement_trait,
        reason = "a constructor of the policy language, not ops::Not"
    )]
    pub fn not(pred: Pred) -> Self {
        Self::Not(Box::new(pred))
    }

    /// `EXISTS (SELECT 1 FROM table WHERE links AND pred)`.
    pub fn exists(
        table: &'static str,
        links: impl IntoIterator<Item = (Col, Col)>,
        pred: Pred,
    ) -> Self {
        Self::Exists {
            table,
            links: links.into_iter().collect(),
            pred: Box::new(pred),
        }
    }
}

/// Who may perform an operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// Nobody but the service role.
    Deny,
    /// Nobody at all, the service role included (append-only records).
    Never,
    /// Rows satisfying the predicate.
    Allow(Pred),
}

/// A value the gateway sets on a write; the client cannot set these columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// The principal's user id.
    UserId,
    /// The principal's active tenant (required).
    ActiveTenant,
    /// The current time.
    Now,
    /// A column of the parent row that `fk` references (e.g. a reaction's tenant is its
    /// post's tenant).
    FromParent {
        /// Foreign-key column of the written row.
        fk: Col,
        /// Key column of the parent.
        parent_key: Col,
        /// The parent's column copied.
        source: Col,
    },
}

/// An insert rule.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertRule {
    /// Who may insert; checked against the candidate row before it is written.
    pub check: Access,
    /// Columns the client may set.
    pub columns: Vec<Col>,
    /// Columns set by the gateway.
    pub presets: Vec<(Col, Preset)>,
    /// Extra conditions for setting particular columns.
    pub column_checks: Vec<(Col, Pred)>,
}

/// An update rule.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateRule {
    /// Which readable rows may be changed (else FORBIDDEN).
    pub using: Access,
    /// What the row must satisfy after the change (RLS `WITH CHECK`).
    pub check: Pred,
    /// Columns the client may change.
    pub columns: Vec<Col>,
    /// Columns set by the gateway on every update.
    pub presets: Vec<(Col, Preset)>,
    /// Extra conditions (on the current row) for changing particular columns.
    pub column_checks: Vec<(Col, Pred)>,
}

/// The whole policy of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TablePolicy {
    /// Table name.
    pub table: &'static str,
    /// The `deleted_at` column of a soft-delete table: no read returns a row where it is set.
    pub soft_delete: Option<Col>,
    /// Who reads which rows.
    pub read: Access,
    /// Columns readable only under a condition (NULL otherwise).
    pub masks: Vec<(Col, Pred)>,
    /// Inserts.
    pub insert: Option<InsertRule>,
    /// Updates.
    pub update: Option<UpdateRule>,
    /// Deletes (soft on tables with `deleted_at`).
    pub delete: Access,
    /// Columns that hold copies of other tables' rows (an audit trail's values).
    pub copies: Option<CopiedValues>,
}

/// Columns of a table that hold copies of another table's row — the old and new values of
/// an audit trail. A reader sees a copy only while the row it copies (named by `table` and
/// `key`) passes that table's read policy for them, with that table's masks applied to the
/// copied values; otherwise the copy reads as NULL. Copies can never be filtered or ordered
/// on (only the service role sees and filters them unchanged).
#[derive(Debug, Clone, PartialEq)]
pub struct CopiedValues {
    /// The column naming the copied row's table.
    pub table: Col,
    /// The column naming the copied row's primary key (key columns' text joined by `,`).
    pub key: Col,
    /// The columns holding the copies (JSON objects of column name to value).
    pub values: Vec<Col>,
}

/// How rows belong to tenants: the table whose rows are the tenants, and the column that
/// names a row's tenant in every other table that has one. The audit trail records a
/// written row's tenant from it, and a reference from one tenant's row may only name a row
/// of the same tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tenancy {
    /// The key of the tenants' table (`tenants.id`): a tenant row is its own tenant.
    pub tenants: Col,
    /// The column naming a row's tenant (`tenant_id`).
    pub column: &'static str,
}

impl Tenancy {
    /// The tenant of `row` of `table`: the value of the tenant column, or the key of a
    /// tenant row.
    pub fn tenant_of<'r>(&self, table: &str, row: &'r eval::Row) -> Option<&'r serde_json::Value> {
        let column = if table == self.tenants.table {
            self.tenants.name
        } else {
            self.column
        };
        row.get(column).filter(|v| !v.is_null())
    }
}

/// An audit trail: for every written row, one row of `action`'s table, written in the
/// write's transaction (a failed audit fails the write). Columns left `None` are not
/// written (the table's defaults apply).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditTrail {
    /// Receives `insert`, `update` or `delete`.
    pub action: Col,
    /// Receives the written table's name.
    pub table_name: Col,
    /// Receives the written row's key (key columns' text joined by `,`).
    pub row_id: Col,
    /// Receives the row before the write, as a JSON object.
    pub old_values: Option<Col>,
    /// Receives the row after the write, as a JSON object.
    pub new_values: Option<Col>,
    /// Receives the writer's user id.
    pub actor: Option<Col>,
    /// Receives the writer's role (`authenticated`, `service_role`).
    pub actor_role: Option<Col>,
    /// Receives the written row's tenant ([`Tenancy`]).
    pub tenant: Option<Col>,
    /// Receives the request id.
    pub request_id: Option<Col>,
    /// The tables audited (`None`: every table but the trail's own).
    pub tables: Option<Vec<&'static str>>,
    /// Whose writes are audited: a condition on the principal (`Pred::Flag`, say: an
    /// administrators' trail), evaluated in memory; a condition it cannot decide there
    /// audits the write.
    pub when: Pred,
}

impl AuditTrail {
    /// A trail recording the action, table and row id of every write, nothing more.
    pub fn new(action: Col, table_name: Col, row_id: Col) -> Self {
        Self {
            action,
            table_name,
            row_id,
            old_values: None,
            new_values: None,
            actor: None,
            actor_role: None,
            tenant: None,
            request_id: None,
            tables: None,
            when: Pred::Always,
        }
    }

    /// The trail's table.
    pub fn table(&self) -> &'static str {
        self.action.table
    }

    /// Every column the trail writes.
    pub fn columns(&self) -> impl Iterator<Item = Col> + '_ {
        [self.action, self.table_name, self.row_id]
            .into_iter()
            .chain(
                [
                    self.old_values,
                    self.new_values,
                    self.actor,
                    self.actor_role,
                    self.tenant,
                    self.request_id,
                ]
                .into_iter()
                .flatten(),
            )
    }

    /// Whether writes of `table` are audited here.
    pub fn covers(&self, table: &str) -> bool {
        match &self.tables {
            Some(tables) => tables.contains(&table),
            None => table != self.table(),
        }
    }
}

/// The hot configuration the engine serves from its cache, with no SQL once warm:
/// feature flags (`flagEnabled`, `effectiveFlags`), configuration entries (`config`,
/// `publicConfig`), and the tenant a request's Host names by subdomain. Each part is served
/// when declared; a change of its table (through the gateway, or on PostgreSQL through the
/// migration's `rowgate_changes` triggers) invalidates what it cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HotConfig {
    /// The feature flags' table.
    pub flags: Option<FlagTable>,
    /// The configuration entries' table.
    pub config: Option<ConfigTable>,
    /// The tenants' column a request's Host names (`acme.example.com` → `acme`); the tenant
    /// is the row's key in the [`Tenancy`], and soft-deleted tenants are never named.
    pub subdomain: Option<Col>,
}

/// Feature flags: one row per key globally (the tenant column NULL) and per tenant (its
/// override).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagTable {
    /// The flag's key (text).
    pub key: Col,
    /// Whether it is on (boolean).
    pub enabled: Col,
    /// The share of users (0-100, integer) it is on for.
    pub rollout_percent: Col,
    /// The tenant a row overrides the flag for (NULL: the global row).
    pub tenant: Col,
}

/// Configuration entries: one JSON value per key, public (served to anonymous requests) or
/// not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigTable {
    /// The entry's key (text).
    pub key: Col,
    /// Its value (JSON).
    pub value: Col,
    /// Whether anonymous requests see it (boolean).
    pub public: Col,
}

impl HotConfig {
    /// Every column the declaration names.
    pub fn columns(&self) -> impl Iterator<Item = Col> + '_ {
        let flags = self
            .flags
            .iter()
            .flat_map(|f| [f.key, f.enabled, f.rollout_percent, f.tenant]);
        let config = self.config.iter().flat_map(|c| [c.key, c.value, c.public]);
        flags.chain(config).chain(self.subdomain)
    }

    /// Whether a change of `table` can make hot configuration stale.
    pub fn caches(&self, table: &str) -> bool {
        self.columns().any(|c| c.table == table)
    }
}

/// The operations a policy covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Reads (lists, lookups, counts, relations, events).
    Read,
    /// Inserts.
    Insert,
    /// Updates.
    Update,
    /// Deletes.
    Delete,
}

/// Every table's policy, and the facts they may name.
#[derive(Debug, Clone)]
pub struct PolicySet {
    tables: Vec<TablePolicy>,
    facts: Vec<Fact>,
    scope: Option<&'static str>,
    realtime: Vec<&'static str>,
    tenancy: Option<Tenancy>,
    audits: Vec<AuditTrail>,
    hot: HotConfig,
    cached: Vec<&'static str>,
    tenant_source: TenantSource,
}

/// Where a signed-in user's active tenant ([`Pred::ActiveTenant`]) comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TenantSource {
    /// The token's `tenant_id` claim; without one, the `X-Tenant-Id` header; without
    /// that, the tenant the Host's subdomain names (bounded by the tenant scope, when one
    /// is declared).
    #[default]
    Request,
    /// The token's `tenant_id` claim only, as an RLS rule `tenant_id = auth.jwt() ->>
    /// 'tenant_id'` has it: a header or a Host naming any other tenant (or any tenant, for
    /// a token without the claim) is FORBIDDEN, never silently obeyed or ignored. The
    /// service role still acts in the tenant the request names.
    ClaimOnly,
}

/// A table or operation without a declared policy: the gateway refuses to start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no policy declared for {missing}; declare one (an explicit deny counts) among the application's policies"
)]
pub struct CoverageError {
    /// `table.operation` items without a policy.
    pub missing: String,
}

impl PolicySet {
    /// Wraps the declarations.
    pub fn new(tables: Vec<TablePolicy>) -> Self {
        Self {
            tables,
            facts: Vec::new(),
            scope: None,
            realtime: Vec::new(),
            tenancy: None,
            audits: Vec::new(),
            hot: HotConfig::default(),
            cached: Vec::new(),
            tenant_source: TenantSource::Request,
        }
    }

    /// The same policies with `tables` served as subscriptions (`<table>Changed`): every
    /// event passes the table's read policy for each subscriber.
    pub fn with_realtime(mut self, tables: impl IntoIterator<Item = &'static str>) -> Self {
        self.realtime = tables.into_iter().collect();
        self
    }

    /// The tables served as subscriptions.
    pub fn realtime(&self) -> &[&'static str] {
        &self.realtime
    }

    /// The same policies with `facts` declared.
    pub fn with_facts(mut self, facts: Vec<Fact>) -> Self {
        self.facts = facts;
        self
    }

    /// The same policies where a principal may act only in a tenant of the id-set fact
    /// `fact` (an active tenant outside it is FORBIDDEN). Without one, the active tenant is
    /// whatever the token (or header, or host) names.
    pub fn with_tenant_scope(mut self, fact: &'static str) -> Self {
        self.scope = Some(fact);
        self
    }

    /// The same policies with the active tenant taken from `source`
    /// ([`TenantSource::Request`] unless declared).
    pub fn with_tenant_source(mut self, source: TenantSource) -> Self {
        self.tenant_source = source;
        self
    }

    /// Where a signed-in user's active tenant comes from.
    pub fn tenant_source(&self) -> TenantSource {
        self.tenant_source
    }

    /// The same policies with rows belonging to tenants as `tenancy` says.
    pub fn with_tenancy(mut self, tenancy: Tenancy) -> Self {
        self.tenancy = Some(tenancy);
        self
    }

    /// How rows belong to tenants, if they do.
    pub fn tenancy(&self) -> Option<&Tenancy> {
        self.tenancy.as_ref()
    }

    /// The same policies with the audit trail `trail` kept (several trails may be kept).
    pub fn with_audit(mut self, trail: AuditTrail) -> Self {
        self.audits.push(trail);
        self
    }

    /// The audit trails kept.
    pub fn audits(&self) -> &[AuditTrail] {
        &self.audits
    }

    /// The same policies with `hot` served from the cache.
    pub fn with_hot_config(mut self, hot: HotConfig) -> Self {
        self.hot = hot;
        self
    }

    /// The hot configuration served from the cache.
    pub fn hot_config(&self) -> &HotConfig {
        &self.hot
    }

    /// The same policies with every row of each of `tables` held in the hot cache (small,
    /// admin-written tables: model configurations, segment overrides), for schema
    /// extensions to read with no SQL when warm; a write of one invalidates it like the hot
    /// configuration. Each table's read policy and masks must be decidable from the row and
    /// the principal alone (no `Exists`, no `ReadableVia`): the cache filters rows in memory.
    pub fn with_cached_tables(mut self, tables: impl IntoIterator<Item = &'static str>) -> Self {
        self.cached.extend(tables);
        self
    }

    /// `row` of `table` without its secret columns: those masked with [`Pred::Never`],
    /// which only the service role reads. Copies of a row that leave its table (audit
    /// values, change events sent to other instances) are made of this.
    pub fn without_secrets(&self, table: &str, mut row: eval::Row) -> eval::Row {
        if let Some(policy) = self.table(table) {
            for (column, pred) in &policy.masks {
                if matches!(pred, Pred::Never) {
                    row.remove(column.name);
                }
            }
        }
        row
    }

    /// The tables held whole in the hot cache.
    pub fn cached_tables(&self) -> &[&'static str] {
        &self.cached
    }

    /// Whether a change of `table` can make something the hot cache holds stale: the hot
    /// configuration's tables and the cached tables (the facts' tables aside).
    pub fn hot_caches(&self, table: &str) -> bool {
        self.hot.caches(table) || self.cached.contains(&table)
    }

    /// The declared facts.
    pub fn facts(&self) -> &[Fact] {
        &self.facts
    }

    /// The fact named `name`.
    pub fn fact(&self, name: &str) -> Option<&Fact> {
        self.facts.iter().find(|f| f.name == name)
    }

    /// The id-set fact that bounds the active tenant, if any.
    pub fn tenant_scope(&self) -> Option<&'static str> {
        self.scope
    }

    /// The policy of `table`, if declared.
    pub fn table(&self, table: &str) -> Option<&TablePolicy> {
        self.tables.iter().find(|t| t.table == table)
    }

    /// All declarations.
    pub fn tables(&self) -> &[TablePolicy] {
        &self.tables
    }

    /// Checks that every table in `tables` has a policy for every operation (fail closed).
    pub fn check_coverage<'a>(
        &self,
        tables: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), CoverageError> {
        let mut missing = Vec::new();
        for table in tables {
            match self.table(table) {
                None => missing.push(format!("{table} (every operation)")),
                Some(policy) => {
                    if policy.insert.is_none() {
                        missing.push(format!("{table}.insert"));
                    }
                    if policy.update.is_none() {
                        missing.push(format!("{table}.update"));
                    }
                }
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(CoverageError {
                missing: missing.join(", "),
            })
        }
    }
}

/// Whether deciding `pred` needs the database (another row: `Exists`, `ReadableVia`).
fn needs_database(pred: &Pred) -> bool {
    match pred {
        Pred::All(preds) | Pred::Any(preds) => preds.iter().any(needs_database),
        Pred::Not(inner) => needs_database(inner),
        Pred::Exists { .. } | Pred::ReadableVia { .. } => true,
        _ => false,
    }
}

/// Compiles every declared rule for a principal with every kind of fact, and returns the
/// declaration errors found (columns out of scope, nesting too deep). Run at start-up.
pub fn declaration_problems(policies: &PolicySet) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for fact in policies.facts() {
        if !seen.insert(fact.name) {
            problems.push(format!("fact `{}` is declared twice", fact.name));
        }
    }
    for table in policies.realtime() {
        if policies.table(table).is_none() {
            problems.push(format!(
                "`{table}` is declared subscribable but has no policy"
            ));
        }
    }
    for trail in policies.audits() {
        let table = trail.table();
        if policies.table(table).is_none() {
            problems.push(format!("the audit trail `{table}` has no policy"));
        }
        if let Some(column) = trail.columns().find(|c| c.table != table) {
            problems.push(format!(
                "the audit trail `{table}` writes {}.{}, a column of another table",
                column.table, column.name
            ));
        }
        for audited in trail.tables.iter().flatten() {
            if policies.table(audited).is_none() {
                problems.push(format!(
                    "the audit trail `{table}` audits `{audited}`, which has no policy"
                ));
            }
        }
    }
    let hot = policies.hot_config();
    let parts = [
        hot.flags.map(|f| {
            (
                "flags",
                f.key.table,
                vec![f.key, f.enabled, f.rollout_percent, f.tenant],
            )
        }),
        hot.config
            .map(|c| ("config", c.key.table, vec![c.key, c.value, c.public])),
    ];
    for (part, table, columns) in parts.into_iter().flatten() {
        if policies.table(table).is_none() {
            problems.push(format!("the hot {part} table `{table}` has no policy"));
        }
        if let Some(column) = columns.iter().find(|c| c.table != table) {
            problems.push(format!(
                "the hot {part} of `{table}` name {}.{}, a column of another table",
                column.table, column.name
            ));
        }
    }
    for table in policies.cached_tables() {
        let Some(policy) = policies.table(table) else {
            problems.push(format!("the cached table `{table}` has no policy"));
            continue;
        };
        let needs_sql = |pred: &Pred| needs_database(pred);
        let read = match &policy.read {
            Access::Allow(pred) => needs_sql(pred),
            Access::Deny => false,
            Access::Never => true,
        };
        if read || policy.masks.iter().any(|(_, pred)| needs_sql(pred)) {
            problems.push(format!(
                "the cached table `{table}` has a read policy or mask the row alone cannot decide (Exists, ReadableVia or a read nobody may do): the cache filters its rows in memory"
            ));
        }
    }
    if let Some(subdomain) = hot.subdomain
        && policies
            .tenancy()
            .is_none_or(|t| t.tenants.table != subdomain.table)
    {
        problems.push(format!(
            "the subdomain column {}.{} is not a column of the tenancy's tenants table",
            subdomain.table, subdomain.name
        ));
    }
    if let Some(tenancy) = policies.tenancy()
        && policies.table(tenancy.tenants.table).is_none()
    {
        problems.push(format!(
            "the tenancy names `{}` as the tenants' table, which has no policy",
            tenancy.tenants.table
        ));
    }
    if let Some(scope) = policies.tenant_scope()
        && !matches!(policies.fact(scope).map(|f| f.kind), Some(FactKind::Ids(_)))
    {
        problems.push(format!(
            "the tenant scope names `{scope}`, which is not a declared set of ids"
        ));
    }
    let tenant = uuid::Uuid::nil();
    let mut facts = Facts::default();
    for fact in policies.facts() {
        match fact.kind {
            FactKind::Ids(_) => facts.set_ids(fact.name, vec![tenant, uuid::Uuid::max()]),
            FactKind::Flag => facts.set_flag(fact.name),
        }
    }
    let principal = Principal {
        role: Role::Authenticated,
        user_id: Some(uuid::Uuid::nil()),
        active_tenant: Some(tenant),
        facts: std::sync::Arc::new(facts),
    };
    for policy in policies.tables() {
        let compiler = compile::Compiler::new(policies, &principal);
        let scope = [compile::Frame::new(policy.table, "t0")];
        let _ = compiler.read(policy.table, "t0");
        for (_, mask) in &policy.masks {
            let _ = compiler.pred(mask, &scope);
        }
        if let Some(insert) = &policy.insert {
            let _ = compiler.access(&insert.check, &scope);
            for (_, pred) in &insert.column_checks {
                let _ = compiler.pred(pred, &scope);
            }
        }
        if let Some(update) = &policy.update {
            let _ = compiler.access(&update.using, &scope);
            let _ = compiler.pred(&update.check, &scope);
            for (_, pred) in &update.column_checks {
                let _ = compiler.pred(pred, &scope);
            }
        }
        let _ = compiler.access(&policy.delete, &scope);
        let mut found = compiler.problems();
        found.dedup();
        problems.extend(
            found
                .into_iter()
                .map(|problem| format!("the policy of {}: {problem}", policy.table)),
        );
    }
    problems
}
