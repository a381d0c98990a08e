//! The demo data `cargo run` loads and the tests run over: two suppliers with their teams,
//! two couples, each connection status, core field values, forms, responses,
//! notifications, activities and a few audit rows. Every key is a constant, so tests can
//! name the rows.
//!
//! | connection | status | what the supplier's team reads of the couple |
//! |---|---|---|
//! | Lens & Light — Emma & James | active | the couple, its core field values |
//! | Bloom & Vine — Emma & James | pending | nothing of the couple |
//! | Lens & Light — Noah & Liam | revoked | nothing (but the response Noah submitted) |
//! | Bloom & Vine — Noah & Liam | active | the couple, its core field values |

use rowgate::app::AppFuture;
use rowgate::{DemoAccount, DemoData};
use sea_orm::{
    ActiveModelTrait, DatabaseConnection, EntityTrait, IntoActiveModel, PaginatorTrait,
    prelude::DateTimeWithTimeZone,
};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use crate::entities::{
    activities, audit_log, clients, core_field_values, core_fields, couples, form_responses, forms,
    notifications, supplier_client_connections, suppliers, team_members,
};

const fn demo_id(n: u128) -> Uuid {
    Uuid::from_u128(0x3ed5_0000_0000_4000_8000_0000_0000_0000 | n)
}

/// Emma: the user of the couple account "Emma & James".
pub const EMMA: Uuid = demo_id(0x1);
/// Noah: the user of the couple account "Noah & Liam".
pub const NOAH: Uuid = demo_id(0x2);
/// Olivia: owner of Lens & Light.
pub const OLIVIA: Uuid = demo_id(0x3);
/// Arjun: admin of Lens & Light.
pub const ARJUN: Uuid = demo_id(0x4);
/// Mia: member of Lens & Light.
pub const MIA: Uuid = demo_id(0x5);
/// Sofia: owner of Bloom & Vine (a member of another supplier, to Lens & Light).
pub const SOFIA: Uuid = demo_id(0x6);
/// Grace: signed in, with neither a couple account nor a team.
pub const GRACE: Uuid = demo_id(0x7);

/// Lens & Light Photography (a photographer).
pub const LENS_AND_LIGHT: Uuid = demo_id(0x101);
/// Bloom & Vine (a florist).
pub const BLOOM_AND_VINE: Uuid = demo_id(0x102);

/// Olivia's membership (owner) of Lens & Light.
pub const TEAM_OLIVIA: Uuid = demo_id(0x201);
/// Arjun's membership (admin) of Lens & Light.
pub const TEAM_ARJUN: Uuid = demo_id(0x202);
/// Mia's membership (member) of Lens & Light.
pub const TEAM_MIA: Uuid = demo_id(0x203);
/// Sofia's membership (owner) of Bloom & Vine.
pub const TEAM_SOFIA: Uuid = demo_id(0x204);

/// The couple account of Emma (and James).
pub const EMMA_AND_JAMES: Uuid = demo_id(0x301);
/// The couple account of Noah (and Liam).
pub const NOAH_AND_LIAM: Uuid = demo_id(0x302);

/// Lens & Light's client record of Emma & James.
pub const CLIENT_EMMA: Uuid = demo_id(0x401);
/// Lens & Light's lead Priya & Dev (no couple account).
pub const CLIENT_PRIYA: Uuid = demo_id(0x402);
/// Bloom & Vine's client record of Noah & Liam.
pub const CLIENT_NOAH: Uuid = demo_id(0x403);

/// Lens & Light — Emma & James: active.
pub const CONNECTION_LENS_EMMA: Uuid = demo_id(0x501);
/// Bloom & Vine — Emma & James: pending (invited, not accepted).
pub const CONNECTION_BLOOM_EMMA: Uuid = demo_id(0x502);
/// Lens & Light — Noah & Liam: revoked.
pub const CONNECTION_LENS_NOAH: Uuid = demo_id(0x503);
/// Bloom & Vine — Noah & Liam: active.
pub const CONNECTION_BLOOM_NOAH: Uuid = demo_id(0x504);

/// Core field `wedding_date`.
pub const FIELD_WEDDING_DATE: Uuid = demo_id(0x601);
/// Core field `ceremony_venue`.
pub const FIELD_VENUE: Uuid = demo_id(0x602);
/// Core field `guest_count`.
pub const FIELD_GUEST_COUNT: Uuid = demo_id(0x603);
/// Core field `ceremony_time`.
pub const FIELD_CEREMONY_TIME: Uuid = demo_id(0x604);

/// Emma & James's wedding date.
pub const EMMA_DATE: Uuid = demo_id(0x701);
/// Emma & James's venue.
pub const EMMA_VENUE: Uuid = demo_id(0x702);
/// Emma & James's guest count.
pub const EMMA_GUESTS: Uuid = demo_id(0x703);
/// Noah & Liam's wedding date.
pub const NOAH_DATE: Uuid = demo_id(0x704);
/// Noah & Liam's venue.
pub const NOAH_VENUE: Uuid = demo_id(0x705);

/// Lens & Light's published questionnaire.
pub const FORM_QUESTIONNAIRE: Uuid = demo_id(0x801);
/// Lens & Light's draft shot list.
pub const FORM_SHOT_LIST: Uuid = demo_id(0x802);
/// Bloom & Vine's published flower preferences.
pub const FORM_FLOWERS: Uuid = demo_id(0x803);

/// Emma & James's submitted questionnaire.
pub const RESPONSE_EMMA_QUESTIONNAIRE: Uuid = demo_id(0x901);
/// Noah & Liam's draft flower preferences.
pub const RESPONSE_NOAH_FLOWERS: Uuid = demo_id(0x902);
/// Noah & Liam's questionnaire, submitted before they revoked Lens & Light.
pub const RESPONSE_NOAH_QUESTIONNAIRE: Uuid = demo_id(0x903);

/// Olivia's notification of Emma's answers.
pub const NOTIFICATION_OLIVIA: Uuid = demo_id(0xa01);
/// Emma's notification of Bloom & Vine's invitation.
pub const NOTIFICATION_EMMA: Uuid = demo_id(0xa02);
/// Sofia's notification.
pub const NOTIFICATION_SOFIA: Uuid = demo_id(0xa03);

/// Emma submitted the questionnaire (about Lens & Light and Emma & James).
pub const ACTIVITY_EMMA_SUBMITTED: Uuid = demo_id(0xb01);
/// Olivia published the questionnaire (Lens & Light only).
pub const ACTIVITY_OLIVIA_PUBLISHED: Uuid = demo_id(0xb02);
/// Sofia invited Emma & James (Bloom & Vine and Emma & James).
pub const ACTIVITY_SOFIA_INVITED: Uuid = demo_id(0xb03);
/// Noah updated a value (Noah & Liam only).
pub const ACTIVITY_NOAH_UPDATED: Uuid = demo_id(0xb04);

/// Emma changed her venue (core_field_values).
pub const AUDIT_EMMA_VENUE: Uuid = demo_id(0xc01);
/// Olivia changed the questionnaire (forms, Lens & Light).
pub const AUDIT_OLIVIA_FORM: Uuid = demo_id(0xc02);
/// Noah entered his venue (core_field_values).
pub const AUDIT_NOAH_VENUE: Uuid = demo_id(0xc03);

/// The demo data.
#[derive(Debug, Clone, Copy)]
pub struct Demo;

/// The demo accounts, one of each kind of principal (the service role's token is printed
/// by the engine too).
pub fn accounts() -> Vec<DemoAccount> {
    let user = |label, id, tenant| DemoAccount {
        label,
        user: Some(id),
        tenant,
        role: "authenticated",
    };
    vec![
        user("emma (couple Emma & James)", EMMA, None),
        user("noah (couple Noah & Liam)", NOAH, None),
        user(
            "olivia (owner of Lens & Light)",
            OLIVIA,
            Some(LENS_AND_LIGHT),
        ),
        user("arjun (admin of Lens & Light)", ARJUN, Some(LENS_AND_LIGHT)),
        user("mia (member of Lens & Light)", MIA, Some(LENS_AND_LIGHT)),
        user("sofia (owner of Bloom & Vine)", SOFIA, Some(BLOOM_AND_VINE)),
        user("grace (signed in, no account)", GRACE, None),
        DemoAccount {
            label: "service role",
            user: None,
            tenant: None,
            role: "service_role",
        },
    ]
}

impl DemoData for Demo {
    fn accounts(&self) -> Vec<DemoAccount> {
        accounts()
    }

    fn is_empty<'a>(&'a self, db: &'a DatabaseConnection) -> AppFuture<'a, bool> {
        Box::pin(async move { Ok(suppliers::Entity::find().count(db).await? == 0) })
    }

    fn is_present<'a>(&'a self, db: &'a DatabaseConnection) -> AppFuture<'a, bool> {
        Box::pin(async move {
            Ok(suppliers::Entity::find_by_id(LENS_AND_LIGHT)
                .one(db)
                .await?
                .is_some())
        })
    }

    fn seed<'a>(&'a self, db: &'a DatabaseConnection) -> AppFuture<'a, ()> {
        Box::pin(seed(db))
    }
}

fn now() -> DateTimeWithTimeZone {
    chrono::Utc::now().fixed_offset()
}

fn date(text: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// Inserts `models` (every column set).
async fn insert<M, A>(db: &DatabaseConnection, models: Vec<M>) -> Result<(), sea_orm::DbErr>
where
    M: IntoActiveModel<A>,
    A: ActiveModelTrait + Send,
{
    let rows: Vec<A> = models
        .into_iter()
        .map(|m| m.into_active_model().reset_all())
        .collect();
    <A::Entity as EntityTrait>::insert_many(rows)
        .exec(db)
        .await?;
    Ok(())
}

async fn seed(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    let t = now();
    insert(
        db,
        vec![
            suppliers::Model {
                id: LENS_AND_LIGHT,
                name: "Lens & Light Photography".into(),
                business_type: "photographer".into(),
                email: Some("hello@lensandlight.example".into()),
                phone: Some("+44 20 7946 0001".into()),
                website: Some("https://lensandlight.example".into()),
                created_at: t,
                updated_at: t,
            },
            suppliers::Model {
                id: BLOOM_AND_VINE,
                name: "Bloom & Vine".into(),
                business_type: "florist".into(),
                email: Some("studio@bloomandvine.example".into()),
                phone: None,
                website: None,
                created_at: t,
                updated_at: t,
            },
        ],
    )
    .await?;
    let member = |id, supplier, user, role: &str, name: &str| team_members::Model {
        id,
        supplier_id: supplier,
        user_id: user,
        role: role.into(),
        display_name: name.into(),
        email: Some(format!("{}@example.com", name.to_lowercase())),
        created_at: t,
        updated_at: t,
    };
    insert(
        db,
        vec![
            member(TEAM_OLIVIA, LENS_AND_LIGHT, OLIVIA, "owner", "Olivia"),
            member(TEAM_ARJUN, LENS_AND_LIGHT, ARJUN, "admin", "Arjun"),
            member(TEAM_MIA, LENS_AND_LIGHT, MIA, "member", "Mia"),
            member(TEAM_SOFIA, BLOOM_AND_VINE, SOFIA, "owner", "Sofia"),
        ],
    )
    .await?;
    insert(
        db,
        vec![
            couples::Model {
                id: EMMA_AND_JAMES,
                user_id: EMMA,
                partner_one_name: "Emma".into(),
                partner_two_name: Some("James".into()),
                email: Some("emma@example.com".into()),
                wedding_date: date("2027-06-12"),
                created_at: t,
                updated_at: t,
            },
            couples::Model {
                id: NOAH_AND_LIAM,
                user_id: NOAH,
                partner_one_name: "Noah".into(),
                partner_two_name: Some("Liam".into()),
                email: Some("noah@example.com".into()),
                wedding_date: date("2027-09-04"),
                created_at: t,
                updated_at: t,
            },
        ],
    )
    .await?;
    let client = |id, supplier, couple, name: &str, status: &str, notes: &str| clients::Model {
        id,
        supplier_id: supplier,
        couple_id: couple,
        name: name.into(),
        email: None,
        phone: None,
        wedding_date: None,
        status: status.into(),
        notes: Some(notes.into()),
        created_at: t,
        updated_at: t,
        deleted_at: None,
    };
    insert(
        db,
        vec![
            client(
                CLIENT_EMMA,
                LENS_AND_LIGHT,
                Some(EMMA_AND_JAMES),
                "Emma & James",
                "booked",
                "Deposit paid; wants golden-hour portraits.",
            ),
            client(
                CLIENT_PRIYA,
                LENS_AND_LIGHT,
                None,
                "Priya & Dev",
                "lead",
                "Met at the Harrogate wedding fair.",
            ),
            client(
                CLIENT_NOAH,
                BLOOM_AND_VINE,
                Some(NOAH_AND_LIAM),
                "Noah & Liam",
                "booked",
                "Peonies if in season.",
            ),
        ],
    )
    .await?;
    let connection = |id, supplier, couple, client, status: &str, invited_by| {
        supplier_client_connections::Model {
            id,
            supplier_id: supplier,
            couple_id: couple,
            client_id: client,
            status: status.into(),
            invited_by,
            created_at: t,
            updated_at: t,
        }
    };
    insert(
        db,
        vec![
            connection(
                CONNECTION_LENS_EMMA,
                LENS_AND_LIGHT,
                EMMA_AND_JAMES,
                Some(CLIENT_EMMA),
                "active",
                OLIVIA,
            ),
            connection(
                CONNECTION_BLOOM_EMMA,
                BLOOM_AND_VINE,
                EMMA_AND_JAMES,
                None,
                "pending",
                SOFIA,
            ),
            connection(
                CONNECTION_LENS_NOAH,
                LENS_AND_LIGHT,
                NOAH_AND_LIAM,
                None,
                "revoked",
                NOAH,
            ),
            connection(
                CONNECTION_BLOOM_NOAH,
                BLOOM_AND_VINE,
                NOAH_AND_LIAM,
                Some(CLIENT_NOAH),
                "active",
                NOAH,
            ),
        ],
    )
    .await?;
    let field = |id, key: &str, label: &str, ty: &str, category: &str, order| core_fields::Model {
        id,
        key: key.into(),
        label: label.into(),
        field_type: ty.into(),
        category: category.into(),
        sort_order: order,
        created_at: t,
        updated_at: t,
    };
    insert(
        db,
        vec![
            field(
                FIELD_WEDDING_DATE,
                "wedding_date",
                "Wedding date",
                "date",
                "basics",
                1,
            ),
            field(
                FIELD_VENUE,
                "ceremony_venue",
                "Ceremony venue",
                "text",
                "venue",
                2,
            ),
            field(
                FIELD_GUEST_COUNT,
                "guest_count",
                "Number of guests",
                "number",
                "guests",
                3,
            ),
            field(
                FIELD_CEREMONY_TIME,
                "ceremony_time",
                "Ceremony time",
                "time",
                "basics",
                4,
            ),
        ],
    )
    .await?;
    let value = |id, couple, field, value: Json, status: &str| core_field_values::Model {
        id,
        couple_id: couple,
        core_field_id: field,
        value: Some(value),
        status: status.into(),
        created_at: t,
        updated_at: t,
    };
    insert(
        db,
        vec![
            value(
                EMMA_DATE,
                EMMA_AND_JAMES,
                FIELD_WEDDING_DATE,
                json!("2027-06-12"),
                "completed",
            ),
            value(
                EMMA_VENUE,
                EMMA_AND_JAMES,
                FIELD_VENUE,
                json!("Aynhoe Park"),
                "completed",
            ),
            value(
                EMMA_GUESTS,
                EMMA_AND_JAMES,
                FIELD_GUEST_COUNT,
                json!(120),
                "partial",
            ),
            value(
                NOAH_DATE,
                NOAH_AND_LIAM,
                FIELD_WEDDING_DATE,
                json!("2027-09-04"),
                "completed",
            ),
            value(
                NOAH_VENUE,
                NOAH_AND_LIAM,
                FIELD_VENUE,
                json!("Kew Gardens"),
                "completed",
            ),
        ],
    )
    .await?;
    let form = |id, supplier, title: &str, schema: Json, status: &str, by| forms::Model {
        id,
        supplier_id: supplier,
        title: title.into(),
        description: None,
        form_schema: schema,
        status: status.into(),
        created_by: by,
        created_at: t,
        updated_at: t,
        deleted_at: None,
    };
    insert(
        db,
        vec![
            form(
                FORM_QUESTIONNAIRE,
                LENS_AND_LIGHT,
                "Photography questionnaire",
                json!({"fields": [
                    {"key": "wedding_date", "coreField": "wedding_date", "type": "date"},
                    {"key": "ceremony_venue", "coreField": "ceremony_venue", "type": "text"},
                    {"key": "must_have_shots", "type": "textarea"}
                ]}),
                "published",
                OLIVIA,
            ),
            form(
                FORM_SHOT_LIST,
                LENS_AND_LIGHT,
                "Shot list (draft)",
                json!({"fields": [{"key": "group_shots", "type": "textarea"}]}),
                "draft",
                ARJUN,
            ),
            form(
                FORM_FLOWERS,
                BLOOM_AND_VINE,
                "Flower preferences",
                json!({"fields": [
                    {"key": "palette", "type": "text"},
                    {"key": "guest_count", "coreField": "guest_count", "type": "number"}
                ]}),
                "published",
                SOFIA,
            ),
        ],
    )
    .await?;
    let response =
        |id, form, supplier, couple, answers: Json, status: &str| form_responses::Model {
            id,
            form_id: form,
            supplier_id: supplier,
            couple_id: couple,
            answers,
            status: status.into(),
            created_at: t,
            updated_at: t,
        };
    insert(
        db,
        vec![
            response(
                RESPONSE_EMMA_QUESTIONNAIRE,
                FORM_QUESTIONNAIRE,
                LENS_AND_LIGHT,
                EMMA_AND_JAMES,
                json!({"must_have_shots": "First look by the lake"}),
                "submitted",
            ),
            response(
                RESPONSE_NOAH_FLOWERS,
                FORM_FLOWERS,
                BLOOM_AND_VINE,
                NOAH_AND_LIAM,
                json!({"palette": "white and sage"}),
                "draft",
            ),
            response(
                RESPONSE_NOAH_QUESTIONNAIRE,
                FORM_QUESTIONNAIRE,
                LENS_AND_LIGHT,
                NOAH_AND_LIAM,
                json!({"must_have_shots": "Both families together"}),
                "submitted",
            ),
        ],
    )
    .await?;
    let notification = |id, user, supplier, kind: &str, title: &str| notifications::Model {
        id,
        user_id: user,
        supplier_id: supplier,
        kind: kind.into(),
        title: title.into(),
        body: None,
        data: json!({}),
        read_at: None,
        created_at: t,
        updated_at: t,
    };
    insert(
        db,
        vec![
            notification(
                NOTIFICATION_OLIVIA,
                OLIVIA,
                Some(LENS_AND_LIGHT),
                "form_response_submitted",
                "New answers to Photography questionnaire",
            ),
            notification(
                NOTIFICATION_EMMA,
                EMMA,
                Some(BLOOM_AND_VINE),
                "connection_invited",
                "Bloom & Vine invited you to connect",
            ),
            notification(
                NOTIFICATION_SOFIA,
                SOFIA,
                Some(BLOOM_AND_VINE),
                "welcome",
                "Welcome to WedSync",
            ),
        ],
    )
    .await?;
    let activity = |id, actor, supplier, couple, action: &str, entity: Option<(&str, Uuid)>| {
        activities::Model {
            id,
            actor_id: Some(actor),
            supplier_id: supplier,
            couple_id: couple,
            action: action.into(),
            entity_type: entity.map(|(ty, _)| ty.into()),
            entity_id: entity.map(|(_, id)| id),
            metadata: json!({}),
            created_at: t,
        }
    };
    insert(
        db,
        vec![
            activity(
                ACTIVITY_EMMA_SUBMITTED,
                EMMA,
                Some(LENS_AND_LIGHT),
                Some(EMMA_AND_JAMES),
                "form_response.submitted",
                Some(("form_responses", RESPONSE_EMMA_QUESTIONNAIRE)),
            ),
            activity(
                ACTIVITY_OLIVIA_PUBLISHED,
                OLIVIA,
                Some(LENS_AND_LIGHT),
                None,
                "form.published",
                Some(("forms", FORM_QUESTIONNAIRE)),
            ),
            activity(
                ACTIVITY_SOFIA_INVITED,
                SOFIA,
                Some(BLOOM_AND_VINE),
                Some(EMMA_AND_JAMES),
                "connection.invited",
                Some(("supplier_client_connections", CONNECTION_BLOOM_EMMA)),
            ),
            activity(
                ACTIVITY_NOAH_UPDATED,
                NOAH,
                None,
                Some(NOAH_AND_LIAM),
                "core_field_value.updated",
                Some(("core_field_values", NOAH_VENUE)),
            ),
        ],
    )
    .await?;
    // A little history, as the gateway writes it (the demo rows themselves are loaded
    // directly, so they have no trail of their own).
    let value_row = |id: Uuid, couple: Uuid, field: Uuid, value: Json, status: &str| {
        json!({
            "id": id, "couple_id": couple, "core_field_id": field, "value": value,
            "status": status, "created_at": t, "updated_at": t,
        })
    };
    let audit = |id, actor, action: &str, table: &str, row, supplier, old, new| audit_log::Model {
        id,
        actor_id: Some(actor),
        actor_role: "authenticated".into(),
        action: action.into(),
        table_name: table.into(),
        row_id: row,
        supplier_id: supplier,
        old_values: old,
        new_values: new,
        request_id: Some("demo".into()),
        created_at: t,
    };
    insert(
        db,
        vec![
            audit(
                AUDIT_EMMA_VENUE,
                EMMA,
                "update",
                "core_field_values",
                EMMA_VENUE,
                None,
                Some(value_row(
                    EMMA_VENUE,
                    EMMA_AND_JAMES,
                    FIELD_VENUE,
                    json!("Blenheim Palace"),
                    "partial",
                )),
                Some(value_row(
                    EMMA_VENUE,
                    EMMA_AND_JAMES,
                    FIELD_VENUE,
                    json!("Aynhoe Park"),
                    "completed",
                )),
            ),
            audit(
                AUDIT_OLIVIA_FORM,
                OLIVIA,
                "update",
                "forms",
                FORM_QUESTIONNAIRE,
                Some(LENS_AND_LIGHT),
                Some(json!({"id": FORM_QUESTIONNAIRE, "status": "draft"})),
                Some(json!({"id": FORM_QUESTIONNAIRE, "status": "published"})),
            ),
            audit(
                AUDIT_NOAH_VENUE,
                NOAH,
                "insert",
                "core_field_values",
                NOAH_VENUE,
                None,
                None,
                Some(value_row(
                    NOAH_VENUE,
                    NOAH_AND_LIAM,
                    FIELD_VENUE,
                    json!("Kew Gardens"),
                    "completed",
                )),
            ),
        ],
    )
    .await?;
    Ok(())
}
