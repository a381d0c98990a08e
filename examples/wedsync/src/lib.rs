//! WedSync, a wedding-supplier CRM on rowgate: suppliers (the tenants) and their teams,
//! couples who share their wedding details (`core_field_values`) with the suppliers they
//! connect to — only while the connection is `active`, so a revoke hides them at once,
//! subscriptions included — suppliers' client records, forms and the couples' answers,
//! notifications, an append-only activity log and an audit trail that keeps every core
//! field change with its old and new values.
//!
//! Written against the engine's public API only: the [`migration`], the entities
//! generated from it ([`entities`], never edited by hand), the [`policies`], the write
//! [`hooks`], two computed fields and the [`demo`] data with its accounts.

pub mod demo;
pub mod entities;
pub mod hooks;
pub mod migration;
pub mod policies;

pub use demo::*;

use entities::{
    activities, audit_log, clients, core_field_values, core_fields, couples, form_responses, forms,
    notifications, supplier_client_connections, suppliers, team_members,
};
use rowgate::db::MigratorOf;
use rowgate::policy::col;
use rowgate::policy::eval::Row;
use rowgate::{Application, Builder, ComputedField, ComputedType, StartupError};
use serde_json::Value as Json;

/// The application, unbuilt (to add to it, e.g. in a test).
pub fn builder() -> Builder {
    hooks::register(
        Builder::new("wedsync")
            .entity::<suppliers::Entity>()
            .entity::<team_members::Entity>()
            .entity::<couples::Entity>()
            .entity::<clients::Entity>()
            .entity::<supplier_client_connections::Entity>()
            .entity::<core_fields::Entity>()
            .entity::<core_field_values::Entity>()
            .entity::<forms::Entity>()
            .entity::<form_responses::Entity>()
            .entity::<notifications::Entity>()
            .entity::<activities::Entity>()
            .entity::<audit_log::Entity>(),
    )
    .column_facts(migration::enum_values, migration::has_default)
    .policies(policies::policies())
    .migrations(MigratorOf::<migration::Migrator>::new())
    .computed::<forms::Entity>(ComputedField {
        name: "field_count",
        ty: ComputedType::Int,
        columns: vec![col(forms::Column::FormSchema)],
        compute: field_count,
        description: "How many fields the form asks (the length of `formSchema.fields`).",
    })
    .computed::<couples::Entity>(ComputedField {
        name: "display_name",
        ty: ComputedType::String,
        columns: vec![
            col(couples::Column::PartnerOneName),
            col(couples::Column::PartnerTwoName),
        ],
        compute: couple_display_name,
        description: "The couple as a greeting names them: \"Emma & James\".",
    })
    .demo(Demo)
}

/// The application.
pub fn application() -> Result<Application, StartupError> {
    builder().build()
}

/// `forms.field_count`: the number of entries of `form_schema.fields`; `null` when the
/// schema has no such list (or is not readable).
pub fn field_count(row: &Row) -> Json {
    let schema = match row.get("form_schema") {
        Some(Json::String(text)) => serde_json::from_str(text).unwrap_or(Json::Null),
        Some(value) => value.clone(),
        None => Json::Null,
    };
    schema
        .get("fields")
        .and_then(Json::as_array)
        .map_or(Json::Null, |fields| Json::from(fields.len()))
}

/// `couples.display_name`: both partners' names joined by `&`, or the one there is.
pub fn couple_display_name(row: &Row) -> Json {
    let name = |column: &str| {
        row.get(column)
            .and_then(Json::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    match (name("partner_one_name"), name("partner_two_name")) {
        (Some(one), Some(two)) => Json::from(format!("{one} & {two}")),
        (Some(one), None) | (None, Some(one)) => Json::from(one),
        (None, None) => Json::Null,
    }
}
