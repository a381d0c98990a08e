//! Demo data: two live tenants and a removed one, with a few people of each kind, and rows of
//! every table covering every rule — drafts and archived agents, a removed agent, persona,
//! session and document (soft-deleted), and the children of the removed ones. Ids are fixed,
//! so tokens printed for one start keep naming the same users after a restart, and tests
//! name rows by these constants.
//!
//! | who   | profile                              |
//! |-------|--------------------------------------|
//! | ada   | `user` of Acme (`acme`)              |
//! | eli   | `editor` of Acme                     |
//! | amir  | `admin` of Acme                      |
//! | gus   | former user of Acme (soft-deleted)   |
//! | bea   | `user` of PharmaCo (`pharmaco`)      |
//! | pia   | `editor` of PharmaCo                 |

use rowgate::app::AppFuture;
use rowgate::{DemoAccount, DemoData};
use sea_orm::{
    ActiveValue, ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    PaginatorTrait, Statement,
};
use serde_json::json;
use uuid::Uuid;

use crate::entities::{
    agents, ask_expert_messages, ask_expert_sessions, jtbd_desired_outcomes, jtbds, personas,
    profiles, rag_documents, rag_knowledge_chunks, tenants,
};

const fn id(group: u128, n: u128) -> Uuid {
    Uuid::from_u128(0x7174_a100_0000_4000_8000_0000_0000_0000 | (group << 16) | n)
}

/// Tenant Acme (subdomain `acme`), "tenant A".
pub const ACME: Uuid = id(1, 1);
/// Tenant PharmaCo (subdomain `pharmaco`), "tenant B".
pub const PHARMACO: Uuid = id(1, 2);
/// Tenant OldCo (subdomain `oldco`), soft-deleted: its subdomain names nothing.
pub const OLDCO: Uuid = id(1, 3);

/// Ada, a `user` of Acme.
pub const ADA: Uuid = id(2, 1);
/// Eli, an `editor` of Acme.
pub const ELI: Uuid = id(2, 2);
/// Amir, an `admin` of Acme.
pub const AMIR: Uuid = id(2, 3);
/// Gus, a former user of Acme: his profile is soft-deleted.
pub const GUS: Uuid = id(2, 4);
/// Bea, a `user` of PharmaCo.
pub const BEA: Uuid = id(2, 5);
/// Pia, an `editor` of PharmaCo.
pub const PIA: Uuid = id(2, 6);

/// Acme's persona "Regulatory Affairs Director".
pub const ACME_PERSONA: Uuid = id(3, 1);
/// A removed (soft-deleted) persona of Acme.
pub const ACME_OLD_PERSONA: Uuid = id(3, 2);
/// PharmaCo's persona "Medical Science Liaison".
pub const PHARMA_PERSONA: Uuid = id(3, 3);

/// Acme's job to be done.
pub const ACME_JTBD: Uuid = id(4, 1);
/// A removed (soft-deleted) job of Acme.
pub const ACME_OLD_JTBD: Uuid = id(4, 2);
/// PharmaCo's job to be done.
pub const PHARMA_JTBD: Uuid = id(4, 3);

/// An outcome of Acme's job: importance 9, satisfaction 3, opportunity 15.
pub const ACME_OUTCOME_GAP: Uuid = id(5, 1);
/// An outcome of Acme's job: importance 6, satisfaction 8, opportunity 6.
pub const ACME_OUTCOME_MET: Uuid = id(5, 2);
/// An outcome of Acme's removed job (gone with it): importance 5, satisfaction 5.
pub const ACME_OLD_OUTCOME: Uuid = id(5, 3);
/// An outcome of PharmaCo's job: importance 7, satisfaction 5, opportunity 9.
pub const PHARMA_OUTCOME: Uuid = id(5, 4);

/// Acme's active agent "Regulatory Strategy Expert".
pub const ACME_REGULATORY: Uuid = id(6, 1);
/// Acme's active agent "Clinical Trials Advisor".
pub const ACME_TRIALS: Uuid = id(6, 2);
/// Acme's draft agent (editors only).
pub const ACME_DRAFT: Uuid = id(6, 3);
/// Acme's archived agent (editors only).
pub const ACME_ARCHIVED: Uuid = id(6, 4);
/// Acme's removed (soft-deleted) agent, once active.
pub const ACME_REMOVED: Uuid = id(6, 5);
/// PharmaCo's active agent "Medical Affairs Expert".
pub const PHARMA_ACTIVE: Uuid = id(6, 6);
/// PharmaCo's draft agent.
pub const PHARMA_DRAFT: Uuid = id(6, 7);

/// Ada's session with the regulatory expert.
pub const ADA_SESSION: Uuid = id(7, 1);
/// Ada's removed (soft-deleted) session.
pub const ADA_OLD_SESSION: Uuid = id(7, 2);
/// Eli's session.
pub const ELI_SESSION: Uuid = id(7, 3);
/// Bea's session with PharmaCo's expert.
pub const BEA_SESSION: Uuid = id(7, 4);

/// Ada's question in her session.
pub const ADA_QUESTION: Uuid = id(8, 1);
/// The expert's answer in Ada's session.
pub const ADA_ANSWER: Uuid = id(8, 2);
/// A message of Ada's removed session.
pub const ADA_OLD_MESSAGE: Uuid = id(8, 3);
/// Eli's question.
pub const ELI_QUESTION: Uuid = id(8, 4);
/// Bea's question.
pub const BEA_QUESTION: Uuid = id(8, 5);

/// Acme's document "FDA guidance digest".
pub const ACME_DOCUMENT: Uuid = id(9, 1);
/// Acme's removed (soft-deleted) document.
pub const ACME_OLD_DOCUMENT: Uuid = id(9, 2);
/// PharmaCo's document.
pub const PHARMA_DOCUMENT: Uuid = id(9, 3);

/// The first chunk of Acme's document.
pub const ACME_CHUNK_1: Uuid = id(10, 1);
/// The second chunk of Acme's document.
pub const ACME_CHUNK_2: Uuid = id(10, 2);
/// The chunk of Acme's removed document.
pub const ACME_OLD_CHUNK: Uuid = id(10, 3);
/// The chunk of PharmaCo's document.
pub const PHARMA_CHUNK: Uuid = id(10, 4);

/// The demo data.
#[derive(Debug, Clone, Copy)]
pub struct Demo;

impl DemoData for Demo {
    fn accounts(&self) -> Vec<DemoAccount> {
        let user = |label, user, tenant| DemoAccount {
            label,
            user: Some(user),
            tenant,
            role: "authenticated",
        };
        vec![
            user("user of Acme (ada)", ADA, Some(ACME)),
            user("editor of Acme (eli)", ELI, Some(ACME)),
            user("admin of Acme (amir)", AMIR, Some(ACME)),
            user("user of PharmaCo (bea)", BEA, Some(PHARMACO)),
            user("editor of PharmaCo (pia)", PIA, Some(PHARMACO)),
            user(
                "ada without a tenant claim: acts in no tenant (refused at a tenant's host)",
                ADA,
                None,
            ),
            DemoAccount {
                label: "service role",
                user: None,
                tenant: None,
                role: "service_role",
            },
        ]
    }

    fn is_empty<'a>(&'a self, db: &'a DatabaseConnection) -> AppFuture<'a, bool> {
        Box::pin(async move { Ok(tenants::Entity::find().count(db).await? == 0) })
    }

    fn is_present<'a>(&'a self, db: &'a DatabaseConnection) -> AppFuture<'a, bool> {
        Box::pin(async move { Ok(tenants::Entity::find_by_id(ACME).one(db).await?.is_some()) })
    }

    fn seed<'a>(&'a self, db: &'a DatabaseConnection) -> AppFuture<'a, ()> {
        Box::pin(seed(db))
    }
}

type Timestamp = sea_orm::prelude::DateTimeWithTimeZone;

async fn seed(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    let now: Timestamp = chrono::Utc::now().fixed_offset();
    let gone = |removed: bool| removed.then_some(now);

    let tenant = |id, name: &str, subdomain: &str, tier: &str, removed| tenants::ActiveModel {
        id: Set(id),
        name: Set(name.to_owned()),
        subdomain: Set(subdomain.to_owned()),
        tier: Set(tier.to_owned()),
        settings: Set(json!({"locale": "en"})),
        created_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(gone(removed)),
    };
    tenants::Entity::insert_many([
        tenant(ACME, "Acme Pharma", "acme", "enterprise", false),
        tenant(PHARMACO, "PharmaCo", "pharmaco", "pro", false),
        tenant(OLDCO, "OldCo", "oldco", "free", true),
    ])
    .exec(db)
    .await?;

    let profile = |id, tenant, name: &str, role: &str, removed| profiles::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant),
        email: Set(format!("{}@example.com", name.to_lowercase())),
        full_name: Set(name.to_owned()),
        role: Set(role.to_owned()),
        created_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(gone(removed)),
    };
    profiles::Entity::insert_many([
        profile(ADA, ACME, "Ada", "user", false),
        profile(ELI, ACME, "Eli", "editor", false),
        profile(AMIR, ACME, "Amir", "admin", false),
        profile(GUS, ACME, "Gus", "user", true),
        profile(BEA, PHARMACO, "Bea", "user", false),
        profile(PIA, PHARMACO, "Pia", "editor", false),
    ])
    .exec(db)
    .await?;

    let persona = |id, tenant, by, name: &str, title: &str, removed| personas::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant),
        name: Set(name.to_owned()),
        role_title: Set(Some(title.to_owned())),
        vpanes_scores: Set(json!({
            "visibility": 7, "pain": 9, "actions": 6, "needs": 8, "emotions": 5, "scenarios": 7
        })),
        created_by: Set(Some(by)),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(gone(removed)),
    };
    personas::Entity::insert_many([
        persona(
            ACME_PERSONA,
            ACME,
            ELI,
            "Regina",
            "Regulatory Affairs Director",
            false,
        ),
        persona(
            ACME_OLD_PERSONA,
            ACME,
            ELI,
            "Oscar",
            "Operations Lead",
            true,
        ),
        persona(
            PHARMA_PERSONA,
            PHARMACO,
            PIA,
            "Mel",
            "Medical Science Liaison",
            false,
        ),
    ])
    .exec(db)
    .await?;

    let jtbd = |id, tenant, by, persona, statement: &str, removed| jtbds::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant),
        persona_id: Set(Some(persona)),
        job_statement: Set(statement.to_owned()),
        created_by: Set(Some(by)),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(gone(removed)),
    };
    jtbds::Entity::insert_many([
        jtbd(
            ACME_JTBD,
            ACME,
            ELI,
            ACME_PERSONA,
            "When preparing a submission, I want to know which guidance applies, so I can file right the first time",
            false,
        ),
        jtbd(
            ACME_OLD_JTBD,
            ACME,
            ELI,
            ACME_PERSONA,
            "When planning a site visit, I want a checklist, so I can prepare in an hour",
            true,
        ),
        jtbd(
            PHARMA_JTBD,
            PHARMACO,
            PIA,
            PHARMA_PERSONA,
            "When meeting a key opinion leader, I want the latest evidence, so I can answer on the spot",
            false,
        ),
    ])
    .exec(db)
    .await?;

    let outcome = |id, tenant, by, jtbd, statement: &str, importance, satisfaction| {
        jtbd_desired_outcomes::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant),
            jtbd_id: Set(jtbd),
            outcome_statement: Set(statement.to_owned()),
            importance_score: Set(importance),
            satisfaction_score: Set(satisfaction),
            created_by: Set(Some(by)),
            created_at: Set(now),
            updated_at: Set(now),
        }
    };
    jtbd_desired_outcomes::Entity::insert_many([
        outcome(
            ACME_OUTCOME_GAP,
            ACME,
            ELI,
            ACME_JTBD,
            "Minimize the time it takes to find the applicable guidance",
            9,
            3,
        ),
        outcome(
            ACME_OUTCOME_MET,
            ACME,
            ELI,
            ACME_JTBD,
            "Minimize the likelihood of a refused filing",
            6,
            8,
        ),
        outcome(
            ACME_OLD_OUTCOME,
            ACME,
            ELI,
            ACME_OLD_JTBD,
            "Minimize the time it takes to prepare a site visit",
            5,
            5,
        ),
        outcome(
            PHARMA_OUTCOME,
            PHARMACO,
            PIA,
            PHARMA_JTBD,
            "Minimize the time it takes to find the newest trial results",
            7,
            5,
        ),
    ])
    .exec(db)
    .await?;

    seed_agents(db, now).await?;

    let session =
        |id, tenant, user, agent, query: &str, removed| ask_expert_sessions::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant),
            user_id: Set(user),
            mode: Set(1),
            selected_agent_id: Set(Some(agent)),
            query: Set(query.to_owned()),
            status: Set("active".to_owned()),
            created_by: Set(Some(user)),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(gone(removed)),
        };
    ask_expert_sessions::Entity::insert_many([
        session(
            ADA_SESSION,
            ACME,
            ADA,
            ACME_REGULATORY,
            "Which guidance applies to a 510(k) for a digital therapeutic?",
            false,
        ),
        session(
            ADA_OLD_SESSION,
            ACME,
            ADA,
            ACME_TRIALS,
            "An old question",
            true,
        ),
        session(
            ELI_SESSION,
            ACME,
            ELI,
            ACME_TRIALS,
            "How many sites does a phase II oncology trial need?",
            false,
        ),
        session(
            BEA_SESSION,
            PHARMACO,
            BEA,
            PHARMA_ACTIVE,
            "What is new on GLP-1 cardiovascular outcomes?",
            false,
        ),
    ])
    .exec(db)
    .await?;

    let message = |id, tenant, session, by: Option<Uuid>, role: &str, content: &str| {
        ask_expert_messages::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant),
            session_id: Set(session),
            role: Set(role.to_owned()),
            content: Set(content.to_owned()),
            metadata: Set(if role == "assistant" {
                json!({"citations": ["FDA-2019-D-3805"], "confidence": 0.82})
            } else {
                json!({})
            }),
            created_by: Set(by),
            created_at: Set(now),
            updated_at: Set(now),
        }
    };
    ask_expert_messages::Entity::insert_many([
        message(
            ADA_QUESTION,
            ACME,
            ADA_SESSION,
            Some(ADA),
            "user",
            "Which guidance applies to a 510(k) for a digital therapeutic?",
        ),
        message(
            ADA_ANSWER,
            ACME,
            ADA_SESSION,
            None,
            "assistant",
            "Start with the FDA's guidance on software as a medical device.",
        ),
        message(
            ADA_OLD_MESSAGE,
            ACME,
            ADA_OLD_SESSION,
            Some(ADA),
            "user",
            "An old question",
        ),
        message(
            ELI_QUESTION,
            ACME,
            ELI_SESSION,
            Some(ELI),
            "user",
            "How many sites does a phase II oncology trial need?",
        ),
        message(
            BEA_QUESTION,
            PHARMACO,
            BEA_SESSION,
            Some(BEA),
            "user",
            "What is new on GLP-1 cardiovascular outcomes?",
        ),
    ])
    .exec(db)
    .await?;

    let document = |id, tenant, by, title: &str, removed| rag_documents::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant),
        title: Set(title.to_owned()),
        content: Set(format!("{title}: full text.")),
        metadata: Set(json!({"source": "upload", "language": "en"})),
        created_by: Set(Some(by)),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(gone(removed)),
    };
    rag_documents::Entity::insert_many([
        document(ACME_DOCUMENT, ACME, ELI, "FDA guidance digest", false),
        document(ACME_OLD_DOCUMENT, ACME, ELI, "Superseded SOP", true),
        document(
            PHARMA_DOCUMENT,
            PHARMACO,
            PIA,
            "GLP-1 evidence review",
            false,
        ),
    ])
    .exec(db)
    .await?;

    let chunk = |id, tenant, by, document, index, text: &str| rag_knowledge_chunks::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant),
        document_id: Set(document),
        chunk_index: Set(index),
        chunk_text: Set(text.to_owned()),
        metadata: Set(json!({"page": index + 1})),
        created_by: Set(Some(by)),
        created_at: Set(now),
        updated_at: Set(now),
    };
    rag_knowledge_chunks::Entity::insert_many([
        chunk(
            ACME_CHUNK_1,
            ACME,
            ELI,
            ACME_DOCUMENT,
            0,
            "Software as a medical device is regulated by its intended use.",
        ),
        chunk(
            ACME_CHUNK_2,
            ACME,
            ELI,
            ACME_DOCUMENT,
            1,
            "A 510(k) shows substantial equivalence to a predicate.",
        ),
        chunk(
            ACME_OLD_CHUNK,
            ACME,
            ELI,
            ACME_OLD_DOCUMENT,
            0,
            "This procedure is superseded.",
        ),
        chunk(
            PHARMA_CHUNK,
            PHARMACO,
            PIA,
            PHARMA_DOCUMENT,
            0,
            "GLP-1 receptor agonists reduced major cardiovascular events.",
        ),
    ])
    .exec(db)
    .await?;
    Ok(())
}

/// One demo agent.
struct Agent {
    id: Uuid,
    tenant: Uuid,
    by: Uuid,
    name: &'static str,
    slug: &'static str,
    domain: &'static str,
    status: &'static str,
    persona: Option<Uuid>,
    jtbds: &'static [Uuid],
    capabilities: &'static [&'static str],
    removed: bool,
}

const AGENTS: [Agent; 7] = [
    Agent {
        id: ACME_REGULATORY,
        tenant: ACME,
        by: ELI,
        name: "Regulatory Strategy Expert",
        slug: "regulatory-strategy",
        domain: "regulatory",
        status: "active",
        persona: Some(ACME_PERSONA),
        jtbds: &[ACME_JTBD],
        capabilities: &["510k", "de-novo", "samd"],
        removed: false,
    },
    Agent {
        id: ACME_TRIALS,
        tenant: ACME,
        by: ELI,
        name: "Clinical Trials Advisor",
        slug: "clinical-trials",
        domain: "clinical",
        status: "active",
        persona: None,
        jtbds: &[],
        capabilities: &["protocol-design", "site-selection"],
        removed: false,
    },
    Agent {
        id: ACME_DRAFT,
        tenant: ACME,
        by: ELI,
        name: "Market Access Strategist",
        slug: "market-access",
        domain: "commercial",
        status: "draft",
        persona: None,
        jtbds: &[],
        capabilities: &["pricing"],
        removed: false,
    },
    Agent {
        id: ACME_ARCHIVED,
        tenant: ACME,
        by: ELI,
        name: "Legacy Pharmacovigilance Agent",
        slug: "legacy-pv",
        domain: "safety",
        status: "archived",
        persona: None,
        jtbds: &[],
        capabilities: &[],
        removed: false,
    },
    Agent {
        id: ACME_REMOVED,
        tenant: ACME,
        by: ELI,
        name: "Retired Labeling Agent",
        slug: "labeling",
        domain: "regulatory",
        status: "active",
        persona: None,
        jtbds: &[],
        capabilities: &["labeling"],
        removed: true,
    },
    Agent {
        id: PHARMA_ACTIVE,
        tenant: PHARMACO,
        by: PIA,
        name: "Medical Affairs Expert",
        slug: "medical-affairs",
        domain: "medical",
        status: "active",
        persona: Some(PHARMA_PERSONA),
        jtbds: &[PHARMA_JTBD],
        capabilities: &["evidence-synthesis"],
        removed: false,
    },
    Agent {
        id: PHARMA_DRAFT,
        tenant: PHARMACO,
        by: PIA,
        name: "HEOR Modeler",
        slug: "heor",
        domain: "commercial",
        status: "draft",
        persona: None,
        jtbds: &[],
        capabilities: &[],
        removed: false,
    },
];

/// An array column's value: set on PostgreSQL, left out on SQLite (SeaORM binds no array
/// there, not even a NULL one).
fn array<T: Into<sea_orm::Value>>(
    postgres: bool,
    value: impl FnOnce() -> T,
) -> ActiveValue<Option<T>>
where
    Option<T>: Into<sea_orm::Value>,
{
    if postgres {
        Set(Some(value()))
    } else {
        ActiveValue::NotSet
    }
}

/// The agents, with their arrays: bound as arrays on PostgreSQL; on SQLite, where SeaORM
/// binds no array, written as the JSON text the gateway stores there.
async fn seed_agents(db: &DatabaseConnection, now: Timestamp) -> Result<(), sea_orm::DbErr> {
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let capabilities = |a: &Agent| a.capabilities.iter().map(|c| (*c).to_owned()).collect();
    agents::Entity::insert_many(AGENTS.iter().map(|a| agents::ActiveModel {
        id: Set(a.id),
        tenant_id: Set(a.tenant),
        name: Set(a.name.to_owned()),
        slug: Set(a.slug.to_owned()),
        domain: Set(Some(a.domain.to_owned())),
        subdomain: Set(None),
        description: Set(Some(format!(
            "{}: answers questions on {}.",
            a.name, a.domain
        ))),
        capabilities: array(postgres, || capabilities(a)),
        persona_id: Set(a.persona),
        jtbd_ids: array(postgres, || a.jtbds.to_vec()),
        system_prompt: Set(Some(format!("You are the {}.", a.name))),
        status: Set(a.status.to_owned()),
        created_by: Set(Some(a.by)),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(a.removed.then_some(now)),
    }))
    .exec(db)
    .await?;
    if !postgres {
        for a in &AGENTS {
            let capabilities: Vec<String> = capabilities(a);
            let jtbds: Vec<String> = a.jtbds.iter().map(Uuid::to_string).collect();
            db.execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "UPDATE agents SET capabilities = ?, jtbd_ids = ? WHERE id = ?",
                [
                    json!(capabilities).to_string().into(),
                    json!(jtbds).to_string().into(),
                    a.id.into(),
                ],
            ))
            .await?;
        }
    }
    Ok(())
}
