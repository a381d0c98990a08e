//! `effectiveConfig`: the configuration as it applies to the principal — the base
//! `system_config` entries they may read, overridden by the `segment_config_overrides` of
//! the segments they belong to — composed from the hot cache (no SQL when warm; a write of
//! either table, or of the principal's segment memberships, through any gateway instance
//! makes the next read fresh).
//!
//! Precedence: overrides apply over the base; of two segments overriding one key, the
//! override with the higher `priority` wins, and at equal priority the one whose segment id
//! sorts last (a deterministic, if arbitrary, tie-break: give overrides distinct priorities).
//! An override may add a key the base does not have.

use async_graphql::Value;
use async_graphql::dynamic::{Field, FieldValue, TypeRef};
use rowgate::error::AppError;
use rowgate::graphql::{RequestContext, cached_rows, resolver_field, scalars};
use rowgate::policy::eval::Row;
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use crate::policies::SEGMENTS;

/// The `effectiveConfig` root field.
#[derive(Debug, Clone, Copy)]
pub struct EffectiveConfigExtension;

impl rowgate::SchemaExtension for EffectiveConfigExtension {
    fn query_fields(&self) -> Vec<Field> {
        vec![
            resolver_field("effectiveConfig", TypeRef::named_nn(scalars::JSON), |ctx| {
                Box::pin(async move {
                    let request = ctx.data_unchecked::<RequestContext>();
                    let base = cached_rows(ctx, "system_config").await?;
                    let overrides = cached_rows(ctx, "segment_config_overrides").await?;
                    let segments = request.principal.facts.ids(SEGMENTS);
                    let config = effective_config(&base, &overrides, segments);
                    Value::from_json(Json::Object(config))
                        .map(|v| Some(FieldValue::value(v)))
                        .map_err(|e| AppError::Internal(e.to_string()))
                })
            })
            .description(
                "The configuration as it applies to the principal, one JSON object keyed by `key`: the `system_config` entries they may read (public ones for anonymous requests), overridden by the overrides of their segments (the higher `priority` wins). Served from the hot cache.",
            ),
        ]
    }
}

fn text<'r>(row: &'r Row, column: &str) -> Option<&'r str> {
    row.get(column).and_then(Json::as_str)
}

/// A JSON column's value (null when absent).
fn json_value(row: &Row, column: &str) -> Json {
    row.get(column).cloned().unwrap_or(Json::Null)
}

/// The effective configuration: every `base` entry (`key`, `value`), then the `overrides`
/// (`segment_id`, `key`, `value`, `priority`) of the given `segments` applied in ascending
/// (`priority`, `segment_id`) order, so the highest priority is applied last and wins.
/// Overrides of other segments are ignored (an admin reads every override, but their own
/// configuration is still that of their own segments).
pub fn effective_config(base: &[Row], overrides: &[Row], segments: &[Uuid]) -> Map<String, Json> {
    let mut config = Map::new();
    for row in base {
        if let Some(key) = text(row, "key") {
            config.insert(key.to_owned(), json_value(row, "value"));
        }
    }
    let mut applicable: Vec<(i64, Uuid, &Row)> = overrides
        .iter()
        .filter_map(|row| {
            let segment = text(row, "segment_id").and_then(|s| Uuid::parse_str(s).ok())?;
            segments.contains(&segment).then(|| {
                let priority = row.get("priority").and_then(Json::as_i64).unwrap_or(0);
                (priority, segment, row)
            })
        })
        .collect();
    applicable.sort_by_key(|(priority, segment, _)| (*priority, *segment));
    for (_, _, row) in applicable {
        if let Some(key) = text(row, "key") {
            config.insert(key.to_owned(), json_value(row, "value"));
        }
    }
    config
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn row(value: Json) -> Row {
        match value {
            Json::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn the_highest_priority_override_of_the_users_segments_wins() {
        let (low, high, other) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let base = [
            row(json!({"key": "likes", "value": 100})),
            row(json!({"key": "theme", "value": "light"})),
        ];
        let overrides = [
            row(
                json!({"segment_id": high.to_string(), "key": "likes", "value": 1000, "priority": 10}),
            ),
            row(json!({"segment_id": low.to_string(), "key": "likes", "value": 50, "priority": 1})),
            row(
                json!({"segment_id": low.to_string(), "key": "beta", "value": {"on": true}, "priority": 1}),
            ),
            row(
                json!({"segment_id": other.to_string(), "key": "theme", "value": "dark", "priority": 99}),
            ),
        ];
        assert_eq!(
            Json::Object(effective_config(&base, &overrides, &[low, high])),
            json!({"likes": 1000, "theme": "light", "beta": {"on": true}})
        );
        assert_eq!(
            Json::Object(effective_config(&base, &overrides, &[low])),
            json!({"likes": 50, "theme": "light", "beta": {"on": true}})
        );
        assert_eq!(
            Json::Object(effective_config(&base, &overrides, &[])),
            json!({"likes": 100, "theme": "light"})
        );
    }
}
