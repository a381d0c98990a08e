//! Hot configuration: `publicConfig`, `config(key)`, `flagEnabled(key)` and
//! `effectiveFlags`, answered from the cache (no SQL when warm).
//!
//! `featureFlags(...)` and `systemConfigs(...)` stay the plain table connections, for admins.

use async_graphql::dynamic::{Enum, Field, FieldValue, InputValue, Object, SchemaBuilder, TypeRef};
use async_graphql::{Name, Value};

use super::{RequestContext, resolver_field, scalars, value_field};
use crate::auth::Role;
use crate::cache::HotCache;
use crate::cache::values::EffectiveFlag;
use crate::error::AppError;

/// Type name of an effective flag.
pub const EFFECTIVE_FLAG: &str = "EffectiveFeatureFlag";
/// Enum of the row an effective flag comes from.
pub const FLAG_SOURCE: &str = "FeatureFlagSource";

/// Registers the types the fields return.
pub fn register(builder: SchemaBuilder) -> SchemaBuilder {
    let flag = Object::new(EFFECTIVE_FLAG)
        .description("A feature flag as it applies to the principal: the active tenant's row if there is one, else the global row.")
        .field(
            value_field("key", "key", TypeRef::named_nn(TypeRef::STRING))
                .description("The flag's key."),
        )
        .field(
            value_field("enabled", "enabled", TypeRef::named_nn(TypeRef::BOOLEAN))
                .description("Whether the flag is on for the principal: the row is enabled and the user's stable bucket (FNV-1a 64 of `user_id:key`, mod 100) is below `rolloutPercent`."),
        )
        .field(
            value_field("rolloutPercent", "rolloutPercent", TypeRef::named_nn(TypeRef::INT))
                .description("Share of users (0-100) the deciding row turns the flag on for."),
        )
        .field(
            value_field("source", "source", TypeRef::named_nn(FLAG_SOURCE))
                .description("Which row decided: the global default or the active tenant's own."),
        );
    builder.register(flag).register(
        Enum::new(FLAG_SOURCE)
            .description("Where an effective flag comes from.")
            .items(["GLOBAL", "TENANT"]),
    )
}

fn cache<'a>(ctx: &'a async_graphql::dynamic::ResolverContext<'a>) -> &'a HotCache {
    ctx.data_unchecked::<HotCache>()
}

fn key_argument(ctx: &async_graphql::dynamic::ResolverContext<'_>) -> Result<String, AppError> {
    ctx.args
        .try_get("key")
        .and_then(|v| v.string().map(str::to_owned))
        .map_err(|e| AppError::BadUserInput(e.message))
}

fn flag_value(flag: &EffectiveFlag) -> Value {
    Value::Object(
        [
            ("key", Value::String(flag.key.clone())),
            ("enabled", Value::Boolean(flag.enabled)),
            ("rolloutPercent", Value::from(flag.rollout_percent)),
            ("source", Value::Enum(Name::new(flag.source.as_str()))),
        ]
        .into_iter()
        .map(|(k, v)| (Name::new(k), v))
        .collect(),
    )
}

/// The root fields, in the order the schema lists them: those of the configuration
/// entries (`config`) and those of the feature flags (`flags`).
pub fn fields(flags: bool, config: bool) -> Vec<Field> {
    let fields = [
        resolver_field("publicConfig", TypeRef::named_nn(scalars::JSON), |ctx| {
            Box::pin(async move {
                let config = cache(ctx).config().await?;
                Ok(Some(FieldValue::value(config.public_object().clone())))
            })
        })
        .description("Every public configuration entry as one JSON object, keyed by its key."),
        resolver_field("config", TypeRef::named(scalars::JSON), |ctx| {
            Box::pin(async move {
                let key = key_argument(ctx)?;
                let request = ctx.data_unchecked::<RequestContext>();
                let include_private = request.principal.role != Role::Anon;
                let config = cache(ctx).config().await?;
                match config.get(&key, include_private) {
                    None => Ok(None),
                    Some(entry) => Value::from_json(entry.value.clone())
                        .map(|v| Some(FieldValue::value(v)))
                        .map_err(|e| AppError::Internal(e.to_string())),
                }
            })
        })
        .argument(InputValue::new("key", TypeRef::named_nn(TypeRef::STRING)))
        .description("The configuration value of `key`, or null. Anonymous requests see public entries only; authenticated ones see all."),
        resolver_field("flagEnabled", TypeRef::named_nn(TypeRef::BOOLEAN), |ctx| {
            Box::pin(async move {
                let key = key_argument(ctx)?;
                let request = ctx.data_unchecked::<RequestContext>();
                let on = cache(ctx).flag_enabled(&request.principal, &key).await?;
                Ok(Some(FieldValue::value(on)))
            })
        })
        .argument(InputValue::new("key", TypeRef::named_nn(TypeRef::STRING)))
        .description("Whether the feature flag `key` is on for the principal (see `effectiveFlags`); false for an unknown flag and for anonymous requests."),
        resolver_field(
            "effectiveFlags",
            TypeRef::named_nn_list_nn(EFFECTIVE_FLAG),
            |ctx| {
                Box::pin(async move {
                    let request = ctx.data_unchecked::<RequestContext>();
                    let flags = cache(ctx).effective_flags(&request.principal).await?;
                    Ok(Some(FieldValue::list(
                        flags.iter().map(|f| FieldValue::value(flag_value(f))),
                    )))
                })
            },
        )
        .description("Every feature flag as it applies to the principal, sorted by key; empty for anonymous requests (flags are readable by authenticated users only)."),
    ];
    let served = [config, config, flags, flags];
    fields
        .into_iter()
        .zip(served)
        .filter_map(|(field, served)| served.then_some(field))
        .collect()
}
