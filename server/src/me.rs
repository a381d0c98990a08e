//! `me`: the principal of the request, as the frontend sees it — a schema extension of the
//! reference application.

use async_graphql::dynamic::{Enum, Field, FieldValue, Object, SchemaBuilder, TypeRef};
use async_graphql::{Name, Value};
use rowgate::auth::{Principal, Role};
use rowgate::error::AppResult;
use rowgate::graphql::{RequestContext, resolver_field, scalars, store, value_field};
use rowgate::hooks::{Row, RowExt, row};
use rowgate::planner::Store;
use serde_json::{Value as Json, json};

use crate::policies::{
    ADMIN_TENANTS, MEMBER_TENANTS, OWNER_TENANTS, PLATFORM_ADMIN, PLATFORM_MODERATOR,
};

/// The `me` root field and its types.
#[derive(Debug, Clone, Copy)]
pub struct MeExtension;

impl rowgate::SchemaExtension for MeExtension {
    fn register(&self, builder: SchemaBuilder) -> SchemaBuilder {
        register(builder)
    }

    fn query_fields(&self) -> Vec<Field> {
        vec![
            resolver_field("me", TypeRef::named(ME), |ctx| {
                Box::pin(async move {
                    let store = store(ctx)?;
                    let request = ctx.data_unchecked::<RequestContext>();
                    resolve(store, &request.principal)
                        .await
                        .map(|v| Some(FieldValue::value(v)))
                })
            })
            .description(
                "The principal of this request: user, role, active tenant, tenants and platform roles.",
            ),
        ]
    }
}

/// Type name of `me`.
pub const ME: &str = "Me";
const ME_TENANT: &str = "MeTenant";
const ME_PROFILE: &str = "MeProfile";
const PRINCIPAL_ROLE: &str = "PrincipalRole";
/// The catalog's enums of `user_roles.role` and `tenant_members.role`: `me` reuses them
/// rather than declaring look-alikes, so a client sees one type per set of values.
const PLATFORM_ROLE: &str = "UserRoleRole";
const TENANT_ROLE: &str = "TenantMemberRole";

/// Registers `Me` and the types it uses.
fn register(builder: SchemaBuilder) -> SchemaBuilder {
    let me = Object::new(ME)
        .description("Who is asking: the request's principal.")
        .field(value_field(
            "userId",
            "userId",
            TypeRef::named(scalars::UUID),
        ))
        .field(value_field(
            "role",
            "role",
            TypeRef::named_nn(PRINCIPAL_ROLE),
        ))
        .field(value_field(
            "activeTenantId",
            "activeTenantId",
            TypeRef::named(scalars::UUID),
        ))
        .field(value_field(
            "platformRoles",
            "platformRoles",
            TypeRef::named_nn_list_nn(PLATFORM_ROLE),
        ))
        .field(value_field(
            "tenants",
            "tenants",
            TypeRef::named_nn_list_nn(ME_TENANT),
        ))
        .field(value_field(
            "profile",
            "profile",
            TypeRef::named(ME_PROFILE),
        ));
    let tenant = Object::new(ME_TENANT)
        .description("A tenant the principal belongs to, with their role there.")
        .field(value_field(
            "tenantId",
            "tenantId",
            TypeRef::named_nn(scalars::UUID),
        ))
        .field(value_field(
            "name",
            "name",
            TypeRef::named_nn(TypeRef::STRING),
        ))
        .field(value_field(
            "subdomain",
            "subdomain",
            TypeRef::named_nn(TypeRef::STRING),
        ))
        .field(value_field("role", "role", TypeRef::named_nn(TENANT_ROLE)))
        .field(value_field(
            "active",
            "active",
            TypeRef::named_nn(TypeRef::BOOLEAN),
        ));
    let profile = Object::new(ME_PROFILE)
        .description("The principal's own profile.")
        .field(value_field("id", "id", TypeRef::named_nn(scalars::UUID)))
        .field(value_field(
            "email",
            "email",
            TypeRef::named_nn(TypeRef::STRING),
        ))
        .field(value_field(
            "displayName",
            "displayName",
            TypeRef::named_nn(TypeRef::STRING),
        ))
        .field(value_field(
            "avatarUrl",
            "avatarUrl",
            TypeRef::named(TypeRef::STRING),
        ))
        .field(value_field("bio", "bio", TypeRef::named(TypeRef::STRING)));
    builder
        .register(me)
        .register(tenant)
        .register(profile)
        .register(Enum::new(PRINCIPAL_ROLE).items(["ANON", "AUTHENTICATED", "SERVICE_ROLE"]))
}

fn enum_value(text: &str) -> Value {
    Value::Enum(Name::new(text.to_ascii_uppercase()))
}

fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(fields.into_iter().map(|(k, v)| (Name::new(k), v)).collect())
}

/// The text of `column` of `row`, or null.
fn text(row: &Row, column: impl sea_orm::ColumnTrait) -> Value {
    row.text(column)
        .map_or(Value::Null, |s| Value::String(s.to_owned()))
}

/// Builds the `Me` value for `principal`, reading through the store under the policies (a
/// member reads their tenants, a user their own profile).
async fn resolve(store: &Store, principal: &Principal) -> AppResult<Value> {
    use entities::{profiles::Column as P, tenants::Column as T};
    let mut tenants = Vec::new();
    let mut profile = Value::Null;
    if let Some(user) = principal
        .user_id
        .filter(|_| principal.role == Role::Authenticated)
    {
        let facts = &principal.facts;
        let ids: Vec<_> = facts.ids(MEMBER_TENANTS).to_vec();
        let keys: Vec<Json> = ids.iter().map(|id| json!(id)).collect();
        let rows = store
            .rows_by(principal, "tenants", "id", &keys, None)
            .await?;
        for tenant in &ids {
            let role = if facts.contains(OWNER_TENANTS, *tenant) {
                "owner"
            } else if facts.contains(ADMIN_TENANTS, *tenant) {
                "admin"
            } else {
                "member"
            };
            if let Some(t) = rows.get(&tenant.to_string()) {
                tenants.push(object([
                    ("tenantId", text(t, T::Id)),
                    ("name", text(t, T::Name)),
                    ("subdomain", text(t, T::Subdomain)),
                    ("role", enum_value(role)),
                    (
                        "active",
                        Value::Boolean(principal.active_tenant == Some(*tenant)),
                    ),
                ]));
            }
        }
        if let Some(p) = store
            .find(principal, "profiles", &row([(P::Id, json!(user))]))
            .await?
        {
            profile = object([
                ("id", text(&p, P::Id)),
                ("email", text(&p, P::Email)),
                ("displayName", text(&p, P::DisplayName)),
                ("avatarUrl", text(&p, P::AvatarUrl)),
                ("bio", text(&p, P::Bio)),
            ]);
        }
    }
    Ok(object([
        (
            "userId",
            principal
                .user_id
                .map_or(Value::Null, |u| Value::String(u.to_string())),
        ),
        ("role", enum_value(principal.role.as_str())),
        (
            "activeTenantId",
            principal
                .active_tenant
                .map_or(Value::Null, |t| Value::String(t.to_string())),
        ),
        (
            "platformRoles",
            Value::List(
                [(PLATFORM_ADMIN, "admin"), (PLATFORM_MODERATOR, "moderator")]
                    .into_iter()
                    .filter(|(fact, _)| principal.facts.flag(fact))
                    .map(|(_, role)| enum_value(role))
                    .collect(),
            ),
        ),
        ("tenants", Value::List(tenants)),
        ("profile", profile),
    ]))
}
