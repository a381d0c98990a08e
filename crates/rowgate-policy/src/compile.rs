//! Compilation of a policy, for one principal, into SQL conditions (SeaQuery).
//!
//! Principal facts become bind parameters (`tenant_id = $1`, `author_id NOT IN ($2, $3)`);
//! declaration constants become literals (`status = 'published'`); relational rules become
//! `EXISTS` subqueries. Facts that settle a branch at compile time fold it away: a principal
//! with no memberships gets no `tenant_id IN ()` at all, only `FALSE` for that branch.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, Value};

use super::{Access, Col, Lit, PolicySet, Pred, Principal, Role};

/// A compiled condition, constant-folded.
#[derive(Debug, Clone, PartialEq)]
pub enum Compiled {
    /// Holds for every row.
    True,
    /// Holds for no row.
    False,
    /// Holds where the SQL expression is true.
    Sql(Expr),
}

impl Compiled {
    /// The condition as one SQL expression (`TRUE`/`FALSE` constants for folded ones).
    pub fn into_expr(self) -> Expr {
        match self {
            Self::True => Expr::Constant(Value::from(true)),
            Self::False => Expr::Constant(Value::from(false)),
            Self::Sql(expr) => expr,
        }
    }

    fn and(self, other: Self) -> Self {
        match (self, other) {
            (Self::False, _) | (_, Self::False) => Self::False,
            (Self::True, x) | (x, Self::True) => x,
            (Self::Sql(a), Self::Sql(b)) => Self::Sql(a.and(b)),
        }
    }

    fn or(self, other: Self) -> Self {
        match (self, other) {
            (Self::True, _) | (_, Self::True) => Self::True,
            (Self::False, x) | (x, Self::False) => x,
            (Self::Sql(a), Self::Sql(b)) => Self::Sql(a.or(b)),
        }
    }

    fn negate(self) -> Self {
        match self {
            Self::True => Self::False,
            Self::False => Self::True,
            Self::Sql(e) => Self::Sql(e.not()),
        }
    }
}

/// One table in scope: its name and the alias it has in the statement.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Table name.
    pub table: &'static str,
    /// Alias in the statement.
    pub alias: String,
}

impl Frame {
    /// A frame for `table` aliased `alias`.
    pub fn new(table: &'static str, alias: impl Into<String>) -> Self {
        Self {
            table,
            alias: alias.into(),
        }
    }
}

/// Deepest nesting of relational rules; deeper is a declaration error (and compiles FALSE).
const MAX_DEPTH: usize = 6;

/// Compiles predicates for one principal.
#[derive(Debug)]
pub struct Compiler<'a> {
    policies: &'a PolicySet,
    principal: &'a Principal,
    next_alias: AtomicUsize,
    problems: Mutex<Vec<String>>,
    key_hint: Option<(Col, Vec<Value>)>,
}

impl<'a> Compiler<'a> {
    /// The principal this compiler compiles for.
    pub fn principal(&self) -> &'a Principal {
        self.principal
    }

    /// Whether the principal bypasses row rules and column masks (the service role).
    pub fn bypasses_policies(&self) -> bool {
        self.principal.role == Role::ServiceRole
    }

    /// A compiler for `principal` under `policies`.
    pub fn new(policies: &'a PolicySet, principal: &'a Principal) -> Self {
        Self {
            policies,
            principal,
            next_alias: AtomicUsize::new(0),
            problems: Mutex::new(Vec::new()),
            key_hint: None,
        }
    }

    /// Tells the compiler that the statement restricts the root table's `column` to
    /// `values` (a batched relation load: `post_id IN (…)`). Relational rules joined on that
    /// column then repeat the restriction inside their subquery — redundant for the result,
    /// but it lets the database start from those few parents instead of every readable one.
    pub fn with_key_hint(mut self, column: Col, values: Vec<Value>) -> Self {
        self.key_hint = Some((column, values));
        self
    }

    /// Declaration errors met while compiling (unresolvable columns, recursion too deep).
    /// Each one compiled to FALSE: the gateway fails closed.
    pub fn problems(&self) -> Vec<String> {
        self.problems
            .lock()
            .map(|p| p.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    fn problem(&self, text: String) -> Compiled {
        self.note(text);
        Compiled::False
    }

    fn note(&self, text: String) {
        match self.problems.lock() {
            Ok(mut problems) => problems.push(text),
            Err(poisoned) => poisoned.into_inner().push(text),
        }
    }

    fn fresh_alias(&self) -> String {
        let n = self.next_alias.fetch_add(1, Ordering::Relaxed);
        format!("p{n}")
    }

    /// Which rows of `table` (aliased `alias`) the principal may read: the read policy and,
    /// on soft-delete tables, `deleted_at IS NULL`. The service role bypasses the policy but
    /// not soft deletes.
    pub fn read(&self, table: &'static str, alias: &str) -> Compiled {
        self.read_in(&[Frame::new(table, alias)], 0)
    }

    fn read_in(&self, scope: &[Frame], depth: usize) -> Compiled {
        let Some(frame) = scope.last() else {
            return self.problem("read outside any table".into());
        };
        let Some(policy) = self.policies.table(frame.table) else {
            return self.problem(format!("no policy for {}", frame.table));
        };
        let live = match policy.soft_delete {
            Some(deleted_at) => Compiled::Sql(self.column(deleted_at, scope, false).is_null()),
            None => Compiled::True,
        };
        let rule = match &policy.read {
            Access::Never => Compiled::False,
            _ if self.principal.role == Role::ServiceRole => Compiled::True,
            Access::Deny => Compiled::False,
            Access::Allow(pred) => self.pred_in(pred, scope, depth),
        };
        live.and(rule)
    }

    /// The read policy of `table` split into index-friendly branches (its disjunctive
    /// normal form, each branch with the soft-delete condition): `None` when there is only
    /// one branch, or more than [`MAX_BRANCHES`], or the principal bypasses the policy.
    /// A query ordered and limited can then run as a UNION of per-branch ordered, limited
    /// subqueries, each served by its own index, instead of one OR that scans.
    pub fn read_branches(&self, table: &'static str, alias: &str) -> Option<Vec<Branch>> {
        let policy = self.policies.table(table)?;
        let Access::Allow(pred) = &policy.read else {
            return None;
        };
        if self.principal.role == Role::ServiceRole {
            return None;
        }
        let scope = [Frame::new(table, alias)];
        let live = match policy.soft_delete {
            Some(deleted_at) => Compiled::Sql(self.column(deleted_at, &scope, false).is_null()),
            None => Compiled::True,
        };
        let mut out = Vec::new();
        for branch in disjuncts(pred)? {
            match live.clone().and(self.pred_in(&branch, &scope, 0)) {
                Compiled::False => {}
                Compiled::True => return None,
                Compiled::Sql(condition) => out.push(Branch {
                    condition,
                    relational: is_relational(&branch),
                }),
            }
        }
        (out.len() >= 2).then_some(out)
    }

    /// Compiles `access` for rows in `scope` (the service role bypasses `Deny`, not `Never`).
    pub fn access(&self, access: &Access, scope: &[Frame]) -> Compiled {
        match access {
            Access::Never => Compiled::False,
            _ if self.principal.role == Role::ServiceRole => Compiled::True,
            Access::Deny => Compiled::False,
            Access::Allow(pred) => self.pred_in(pred, scope, 0),
        }
    }

    /// Compiles `pred` for the innermost table of `scope`.
    pub fn pred(&self, pred: &Pred, scope: &[Frame]) -> Compiled {
        self.pred_in(pred, scope, 0)
    }

    fn column(&self, col: Col, scope: &[Frame], outer: bool) -> Expr {
        let frames = if outer {
            &scope[..scope.len().saturating_sub(1)]
        } else {
            scope
        };
        match frames.iter().rev().find(|f| f.table == col.table) {
            Some(frame) => Expr::col((Alias::new(frame.alias.clone()), Alias::new(col.name))),
            None => {
                self.note(format!("column {}.{} is not in scope", col.table, col.name));
                Expr::Constant(Value::from(false))
            }
        }
    }

    fn pred_in(&self, pred: &Pred, scope: &[Frame], depth: usize) -> Compiled {
        let p = self.principal;
        match pred {
            Pred::Always => Compiled::True,
            Pred::Never => Compiled::False,
            Pred::All(preds) => preds.iter().fold(Compiled::True, |acc, x| {
                acc.and(self.pred_in(x, scope, depth))
            }),
            Pred::Any(preds) => preds.iter().fold(Compiled::False, |acc, x| {
                acc.or(self.pred_in(x, scope, depth))
            }),
            // `NOT (c IN (…))` is written `c NOT IN (…)` / `c <> $1`, as the indexes expect.
            Pred::Not(inner) => match &**inner {
                Pred::InFact(c, name) if self.is_id_set(name) => match p.facts.ids(name) {
                    [] => Compiled::True,
                    [one] => Compiled::Sql(self.column(*c, scope, false).ne(Expr::val(*one))),
                    many => Compiled::Sql(
                        self.column(*c, scope, false)
                            .is_not_in(many.iter().copied()),
                    ),
                },
                inner => self.pred_in(inner, scope, depth).negate(),
            },
            Pred::Authenticated => fold(p.role == Role::Authenticated && p.user_id.is_some()),
            Pred::Flag(name) => match self.policies.fact(name).map(|f| f.kind) {
                Some(super::FactKind::Flag) => fold(p.facts.flag(name)),
                _ => self.problem(format!(
                    "a policy names `{name}`, which is no declared flag fact"
                )),
            },
            Pred::IsSelf(c) => match p.user_id {
                Some(user) if p.role == Role::Authenticated => {
                    Compiled::Sql(self.column(*c, scope, false).eq(Expr::val(user)))
                }
                _ => Compiled::False,
            },
            Pred::ActiveTenant(c) => match p.active_tenant {
                Some(tenant) => Compiled::Sql(self.column(*c, scope, false).eq(Expr::val(tenant))),
                None => Compiled::False,
            },
            Pred::InFact(c, name) => match self.is_id_set(name) {
                true => match p.facts.ids(name) {
                    [] => Compiled::False,
                    [one] => Compiled::Sql(self.column(*c, scope, false).eq(Expr::val(*one))),
                    many => {
                        Compiled::Sql(self.column(*c, scope, false).is_in(many.iter().copied()))
                    }
                },
                false => self.problem(format!(
                    "a policy names `{name}`, which is no declared set fact"
                )),
            },
            Pred::Eq(c, lit) => Compiled::Sql(self.column(*c, scope, false).eq(literal(*lit))),
            Pred::In(c, lits) => Compiled::Sql(
                self.column(*c, scope, false)
                    .is_in(lits.iter().map(|l| literal(*l))),
            ),
            Pred::IsNull(c) => Compiled::Sql(self.column(*c, scope, false).is_null()),
            Pred::Exists { table, links, pred } => {
                if depth >= MAX_DEPTH {
                    return self.problem(format!(
                        "relational rules nest deeper than {MAX_DEPTH} at {table}"
                    ));
                }
                let alias = self.fresh_alias();
                let mut inner_scope = scope.to_vec();
                inner_scope.push(Frame::new(table, alias.clone()));
                let inner = self.pred_in(pred, &inner_scope, depth + 1);
                self.exists(&inner_scope, links, inner)
            }
            Pred::ReadableVia { fk, parent_key } => {
                if depth >= MAX_DEPTH {
                    return self.problem(format!(
                        "relational rules nest deeper than {MAX_DEPTH} at {}",
                        parent_key.table
                    ));
                }
                let alias = self.fresh_alias();
                let mut inner_scope = scope.to_vec();
                inner_scope.push(Frame::new(parent_key.table, alias));
                let inner = self.read_in(&inner_scope, depth + 1);
                self.exists(&inner_scope, &[(*parent_key, *fk)], inner)
            }
        }
    }

    /// Whether `name` is a declared id-set fact.
    fn is_id_set(&self, name: &str) -> bool {
        matches!(
            self.policies.fact(name).map(|f| f.kind),
            Some(super::FactKind::Ids(_))
        )
    }

    /// `EXISTS (SELECT 1 FROM <innermost of scope> WHERE links AND inner)`.
    fn exists(&self, scope: &[Frame], links: &[(Col, Col)], inner: Compiled) -> Compiled {
        if inner == Compiled::False {
            return Compiled::False;
        }
        let Some(frame) = scope.last() else {
            return self.problem("exists outside any table".into());
        };
        let mut select = Query::select();
        select
            .expr(Expr::cust("1"))
            .from_as(Alias::new(frame.table), Alias::new(frame.alias.clone()));
        for (inner_col, outer_col) in links {
            select.and_where(
                self.column(*inner_col, scope, false)
                    .eq(self.column(*outer_col, scope, true)),
            );
            // The hint applies to the root table only (the statement's first frame).
            if let Some((hinted, values)) = &self.key_hint
                && hinted == outer_col
                && scope.len() == 2
                && scope[0].table == outer_col.table
            {
                select.and_where(
                    self.column(*inner_col, scope, false)
                        .is_in(values.iter().cloned()),
                );
            }
        }
        if let Compiled::Sql(expr) = inner {
            select.and_where(expr);
        }
        Compiled::Sql(Expr::exists(select))
    }
}

/// One branch of a read policy split for a UNION plan.
#[derive(Debug, Clone)]
pub struct Branch {
    /// The branch's condition (with the soft-delete condition).
    pub condition: Expr,
    /// Whether it joins another table (an `EXISTS`): such a branch is driven from the joined
    /// rows, so it is not ordered and limited on its own.
    pub relational: bool,
}

fn is_relational(pred: &Pred) -> bool {
    match pred {
        Pred::All(items) | Pred::Any(items) => items.iter().any(is_relational),
        Pred::Not(inner) => is_relational(inner),
        Pred::Exists { .. } | Pred::ReadableVia { .. } => true,
        _ => false,
    }
}

/// Most branches a read policy is split into for a UNION plan.
pub const MAX_BRANCHES: usize = 8;

/// The disjuncts of `pred` (`All` distributed over `Any`), or `None` past [`MAX_BRANCHES`].
pub fn disjuncts(pred: &Pred) -> Option<Vec<Pred>> {
    match pred {
        Pred::Any(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(disjuncts(item)?);
                if out.len() > MAX_BRANCHES {
                    return None;
                }
            }
            Some(out)
        }
        Pred::All(items) => {
            let mut out: Vec<Vec<Pred>> = vec![Vec::new()];
            for item in items {
                let options = disjuncts(item)?;
                let mut next = Vec::new();
                for prefix in &out {
                    for option in &options {
                        let mut conj = prefix.clone();
                        conj.push(option.clone());
                        next.push(conj);
                    }
                }
                if next.len() > MAX_BRANCHES {
                    return None;
                }
                out = next;
            }
            Some(out.into_iter().map(Pred::All).collect())
        }
        other => Some(vec![other.clone()]),
    }
}

fn fold(value: bool) -> Compiled {
    if value {
        Compiled::True
    } else {
        Compiled::False
    }
}

/// A declaration constant as an inline SQL literal.
pub fn literal(lit: Lit) -> Expr {
    match lit {
        Lit::Text(s) => Expr::Constant(Value::from(s)),
        Lit::Bool(b) => Expr::Constant(Value::from(b)),
    }
}
