//! In-memory evaluation of a policy against one loaded row, for change events.
//!
//! Three-valued: `Some(true)`/`Some(false)` when the row and the principal's facts settle
//! it, `None` when a relational rule needs the database (the caller then asks SQL).

use serde_json::Value;
use uuid::Uuid;

use super::{Access, Col, Lit, PolicySet, Pred, Principal, Role};

/// A loaded row: column name → JSON value (UUIDs and timestamps as strings).
pub type Row = serde_json::Map<String, Value>;

fn uuid_of(row: &Row, col: Col) -> Option<Uuid> {
    row.get(col.name)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

fn all(values: impl IntoIterator<Item = Option<bool>>) -> Option<bool> {
    let mut unknown = false;
    for v in values {
        match v {
            Some(false) => return Some(false),
            None => unknown = true,
            Some(true) => {}
        }
    }
    if unknown { None } else { Some(true) }
}

fn any(values: impl IntoIterator<Item = Option<bool>>) -> Option<bool> {
    let mut unknown = false;
    for v in values {
        match v {
            Some(true) => return Some(true),
            None => unknown = true,
            Some(false) => {}
        }
    }
    if unknown { None } else { Some(false) }
}

fn matches_lit(value: Option<&Value>, lit: Lit) -> bool {
    match (value, lit) {
        (Some(Value::String(s)), Lit::Text(t)) => s == t,
        (Some(Value::Bool(b)), Lit::Bool(l)) => *b == l,
        _ => false,
    }
}

/// Evaluates `pred` on `row` for `principal`.
pub fn pred(pred_: &Pred, principal: &Principal, row: &Row) -> Option<bool> {
    let p = principal;
    match pred_ {
        Pred::Always => Some(true),
        Pred::Never => Some(false),
        Pred::All(preds) => all(preds.iter().map(|x| pred(x, p, row))),
        Pred::Any(preds) => any(preds.iter().map(|x| pred(x, p, row))),
        Pred::Not(inner) => pred(inner, p, row).map(|b| !b),
        Pred::Authenticated => Some(p.role == Role::Authenticated && p.user_id.is_some()),
        Pred::Flag(name) => Some(p.facts.flag(name)),
        Pred::IsSelf(c) => Some(
            p.role == Role::Authenticated && p.user_id.is_some() && uuid_of(row, *c) == p.user_id,
        ),
        Pred::ActiveTenant(c) => {
            Some(p.active_tenant.is_some() && uuid_of(row, *c) == p.active_tenant)
        }
        Pred::InFact(c, name) => Some(uuid_of(row, *c).is_some_and(|v| p.facts.contains(name, v))),
        Pred::Eq(c, lit) => Some(matches_lit(row.get(c.name), *lit)),
        Pred::In(c, lits) => Some(lits.iter().any(|l| matches_lit(row.get(c.name), *l))),
        Pred::IsNull(c) => Some(row.get(c.name).is_none_or(Value::is_null)),
        Pred::Exists { .. } | Pred::ReadableVia { .. } => None,
    }
}

/// Whether `principal` may read `row` of `table`, when the row alone settles it.
pub fn readable(
    policies: &PolicySet,
    table: &str,
    principal: &Principal,
    row: &Row,
) -> Option<bool> {
    let policy = policies.table(table)?;
    if let Some(deleted_at) = policy.soft_delete
        && row.get(deleted_at.name).is_some_and(|v| !v.is_null())
    {
        return Some(false);
    }
    match &policy.read {
        Access::Never => Some(false),
        _ if principal.role == Role::ServiceRole => Some(true),
        Access::Deny => Some(false),
        Access::Allow(p) => pred(p, principal, row),
    }
}
