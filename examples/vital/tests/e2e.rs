//! The vital application over real HTTP and WebSocket, on SQLite and (with `DATABASE_URL`)
//! PostgreSQL: the tenant a request acts in (the token's claim only; a Host or header naming
//! another is refused),
//! a message event that reaches its session's owner and nobody else, and the computed
//! `opportunityScore` of desired outcomes.

use std::time::Duration;

use rowgate_tests::{TestApp, WsClient, WsMessage, backends, error_code};
use serde_json::{Value, json};
use uuid::Uuid;
use vital::*;

async fn spawn(backend: rowgate_tests::Backend) -> TestApp {
    TestApp::spawn_application(
        backend,
        application().expect("the vital application builds"),
    )
    .await
}

const AGENTS: &str = "{ agents { nodes { id } } }";
const TENANTS: &str = "{ tenants { nodes { id } } }";

/// The ids of `body.data.<field>.nodes`, sorted.
fn ids(body: &Value, field: &str) -> Vec<String> {
    let mut ids: Vec<String> = body["data"][field]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no {field}: {body}"))
        .iter()
        .map(|n| n["id"].as_str().expect("an id").to_owned())
        .collect();
    ids.sort();
    ids
}

fn sorted(ids: &[Uuid]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    ids.sort();
    ids
}

/// The agents and tenants a request with `token` and `host` reads.
async fn reads(app: &TestApp, token: &str, host: &str) -> (Vec<String>, Vec<String>) {
    let headers = [("host", host)];
    let (_, agents) = app
        .graphql_with_headers(AGENTS, json!({}), Some(token), &headers)
        .await;
    let (_, tenants) = app
        .graphql_with_headers(TENANTS, json!({}), Some(token), &headers)
        .await;
    (ids(&agents, "agents"), ids(&tenants, "tenants"))
}

/// `body`'s error code, with nothing of the data served.
fn refused(body: &Value) -> Option<&str> {
    assert!(
        body["data"].is_null(),
        "a refused request serves no data: {body}"
    );
    error_code(body)
}

#[tokio::test]
async fn the_active_tenant_is_the_tokens_claim_and_a_host_naming_another_is_refused() {
    for backend in backends("vital: claim-based tenancy, host-based tenant") {
        let app = spawn(backend).await;
        let ada_acme = app.token(ADA, Some(ACME));
        let bea_pharmaco = app.token(BEA, Some(PHARMACO));
        let ada = app.token(ADA, None);
        let acme_active = sorted(&[ACME_REGULATORY, ACME_TRIALS]);

        // Host-based tenant, deny first: a request to PharmaCo's host with a token whose
        // claim is Acme is refused, never served as Acme nor as PharmaCo.
        for (token, host) in [
            (&ada_acme, "pharmaco.localhost"),
            (&bea_pharmaco, "acme.localhost"),
            (&bea_pharmaco, "acme.localhost:8080"),
        ] {
            let (_, body) = app
                .graphql_with_headers(AGENTS, json!({}), Some(token), &[("host", host)])
                .await;
            assert_eq!(
                refused(&body),
                Some("FORBIDDEN"),
                "{backend}: {host}: {body}"
            );
        }
        // Nor can a write be aimed at PharmaCo through its host.
        let (_, body) = app
            .graphql_with_headers(
                "mutation($a: UUID!) { createAskExpertSession(input: {query: \"?\", selectedAgentId: $a}) { id } }",
                json!({"a": PHARMA_ACTIVE}),
                Some(&ada_acme),
                &[("host", "pharmaco.localhost")],
            )
            .await;
        assert_eq!(refused(&body), Some("FORBIDDEN"), "{backend}: {body}");
        // Each of the header and the Host is checked: a header agreeing with the claim does
        // not let a Host naming another tenant through, and Host names are case-insensitive.
        for host in ["pharmaco.localhost", "PHARMACO.localhost"] {
            let (_, body) = app
                .graphql_with_headers(
                    AGENTS,
                    json!({}),
                    Some(&ada_acme),
                    &[("host", host), ("x-tenant-id", &ACME.to_string())],
                )
                .await;
            assert_eq!(
                refused(&body),
                Some("FORBIDDEN"),
                "{backend}: {host}: {body}"
            );
        }
        // Naming another tenant than the claim's in X-Tenant-Id is refused the same way.
        let (_, body) = app
            .graphql_with_headers(
                AGENTS,
                json!({}),
                Some(&ada_acme),
                &[("x-tenant-id", &PHARMACO.to_string())],
            )
            .await;
        assert_eq!(refused(&body), Some("FORBIDDEN"), "{backend}: {body}");

        // Claim-based tenancy: a token without a `tenant_id` claim acts in no tenant. A
        // Host or header naming one is refused (the Host does not stand in for the claim,
        // and no membership is looked up)...
        for host in ["acme.localhost", "pharmaco.localhost"] {
            let (_, body) = app
                .graphql_with_headers(AGENTS, json!({}), Some(&ada), &[("host", host)])
                .await;
            assert_eq!(
                refused(&body),
                Some("FORBIDDEN"),
                "{backend}: {host}: {body}"
            );
        }
        let (_, body) = app
            .graphql_with_headers(
                AGENTS,
                json!({}),
                Some(&ada),
                &[("x-tenant-id", &ACME.to_string())],
            )
            .await;
        assert_eq!(refused(&body), Some("FORBIDDEN"), "{backend}: {body}");
        // ... and where nothing names a live tenant (no subdomain, an address, a removed
        // tenant's subdomain, an unknown one) it reads nothing.
        for host in [
            "localhost",
            "127.0.0.1",
            "oldco.localhost",
            "nowhere.localhost",
        ] {
            assert_eq!(
                reads(&app, &ada, host).await,
                (Vec::new(), Vec::new()),
                "{backend}: {host}"
            );
        }
        // Anonymous requests have no tenant, whatever the Host.
        let (_, body) = app
            .graphql_with_headers(AGENTS, json!({}), None, &[("host", "acme.localhost")])
            .await;
        assert_eq!(ids(&body, "agents"), Vec::<String>::new(), "{backend}");

        // Allowed: the claim's tenant, at its own host or at one naming no tenant.
        for host in ["acme.localhost", "acme.localhost:8080", "localhost"] {
            assert_eq!(
                reads(&app, &ada_acme, host).await,
                (acme_active.clone(), sorted(&[ACME])),
                "{backend}: {host}"
            );
        }
        assert_eq!(
            reads(&app, &bea_pharmaco, "pharmaco.localhost").await,
            (sorted(&[PHARMA_ACTIVE]), sorted(&[PHARMACO])),
            "{backend}"
        );
        let (_, body) = app
            .graphql_with_headers(
                "{ askExpertSessions { nodes { id } } }",
                json!({}),
                Some(&ada_acme),
                &[("host", "acme.localhost")],
            )
            .await;
        assert_eq!(
            ids(&body, "askExpertSessions"),
            sorted(&[ADA_SESSION]),
            "{backend}"
        );
        let (_, body) = app
            .graphql_with_headers(
                "mutation($a: UUID!) { createAskExpertSession(input: {query: \"?\", selectedAgentId: $a}) { tenantId userId } }",
                json!({"a": ACME_REGULATORY}),
                Some(&ada_acme),
                &[("host", "acme.localhost")],
            )
            .await;
        assert_eq!(
            body["data"]["createAskExpertSession"],
            json!({"tenantId": ACME.to_string(), "userId": ADA.to_string()}),
            "{backend}: {body}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_message_event_reaches_its_sessions_owner_only() {
    for backend in backends("vital: message subscription") {
        let app = spawn(backend).await;
        let ada = app.token(ADA, Some(ACME));
        let eli = app.token(ELI, Some(ACME));
        let amir = app.token(AMIR, Some(ACME));
        let bea = app.token(BEA, Some(PHARMACO));
        // The expert runtime answers as the service role, in the session's tenant.
        let runtime = app.mint(None, Some(ACME), "service_role", Duration::from_secs(600));
        const SUBSCRIPTION: &str =
            "subscription { askExpertMessageChanged { op node { sessionId role content } } }";

        let mut clients = Vec::new();
        for (name, token) in [("ada", &ada), ("eli", &eli), ("amir", &amir), ("bea", &bea)] {
            let (mut client, ack) =
                WsClient::connect(&app, json!({ "Authorization": format!("Bearer {token}") }))
                    .await;
            assert!(
                matches!(&ack, WsMessage::Message(m) if m["type"] == "connection_ack"),
                "{backend}: {name}: {ack:?}"
            );
            client.subscribe_registered(&app, "1", SUBSCRIPTION).await;
            clients.push((name, client));
        }

        // Deny first: eli asks in his own session — his event, nobody else's (ada's
        // subscription must not get it; her first event is the answer below).
        let (_, body) = app
            .graphql(
                "mutation($s: UUID!) { createAskExpertMessage(input: {sessionId: $s, role: USER, content: \"And for phase III?\"}) { id } }",
                json!({"s": ELI_SESSION}),
                Some(&eli),
            )
            .await;
        assert!(
            body["data"]["createAskExpertMessage"]["id"].is_string(),
            "{backend}: {body}"
        );
        // The expert answers in ada's session.
        let (_, body) = app
            .graphql(
                "mutation($s: UUID!) { createAskExpertMessage(input: {sessionId: $s, role: ASSISTANT, content: \"See the PCCP guidance.\"}) { id } }",
                json!({"s": ADA_SESSION}),
                Some(&runtime),
            )
            .await;
        assert!(
            body["data"]["createAskExpertMessage"]["id"].is_string(),
            "{backend}: {body}"
        );

        let [ada_client, eli_client, amir_client, bea_client] = &mut clients[..] else {
            unreachable!("four clients")
        };
        let event = ada_client
            .1
            .next_data("1", Duration::from_secs(10))
            .await
            .expect("ada's event");
        assert_eq!(
            event["askExpertMessageChanged"],
            json!({"op": "INSERT", "node": {
                "sessionId": ADA_SESSION.to_string(),
                "role": "ASSISTANT",
                "content": "See the PCCP guidance.",
            }}),
            "{backend}"
        );
        let event = eli_client
            .1
            .next_data("1", Duration::from_secs(10))
            .await
            .expect("eli's own event");
        assert_eq!(
            event["askExpertMessageChanged"]["node"]["sessionId"],
            json!(ELI_SESSION.to_string()),
            "{backend}"
        );
        // Nothing more for anyone: the admin of Acme and a user of PharmaCo got neither
        // message, eli not ada's, ada not eli's.
        for (name, client) in [ada_client, eli_client, amir_client, bea_client] {
            assert_eq!(
                client.next(Duration::from_millis(500)).await,
                None,
                "{backend}: {name} got an event it may not read"
            );
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn opportunity_scores_are_computed_from_the_readable_scores() {
    for backend in backends("vital: computed opportunity score") {
        let app = spawn(backend).await;
        let ada = app.token(ADA, Some(ACME));
        let eli = app.token(ELI, Some(ACME));
        let bea = app.token(BEA, Some(PHARMACO));
        const OUTCOMES: &str = "{ jtbdDesiredOutcomes(orderBy: [IMPORTANCE_SCORE_DESC]) { nodes { id importanceScore satisfactionScore opportunityScore } } }";

        // Deny first: PharmaCo's user reads no Acme outcome, computed or not.
        let (_, body) = app.graphql(OUTCOMES, json!({}), Some(&bea)).await;
        assert_eq!(
            body["data"]["jtbdDesiredOutcomes"]["nodes"],
            json!([{"id": PHARMA_OUTCOME.to_string(), "importanceScore": 7, "satisfactionScore": 5, "opportunityScore": 9}]),
            "{backend}: {body}"
        );
        let (_, body) = app
            .graphql(
                "query($id: UUID!) { jtbdDesiredOutcome(id: $id) { opportunityScore } }",
                json!({"id": ACME_OUTCOME_GAP}),
                Some(&bea),
            )
            .await;
        assert!(
            body["data"]["jtbdDesiredOutcome"].is_null(),
            "{backend}: {body}"
        );

        // A user of Acme: 9 + (9 - 3) = 15 for the underserved outcome, 6 + 0 for the met
        // one (the removed job's outcome is gone with it).
        let (_, body) = app.graphql(OUTCOMES, json!({}), Some(&ada)).await;
        assert_eq!(
            body["data"]["jtbdDesiredOutcomes"]["nodes"],
            json!([
                {"id": ACME_OUTCOME_GAP.to_string(), "importanceScore": 9, "satisfactionScore": 3, "opportunityScore": 15},
                {"id": ACME_OUTCOME_MET.to_string(), "importanceScore": 6, "satisfactionScore": 8, "opportunityScore": 6},
            ]),
            "{backend}: {body}"
        );

        // Asked for alone, it is computed from columns the query did not select.
        let (_, body) = app
            .graphql(
                "query($id: UUID!) { jtbdDesiredOutcome(id: $id) { opportunityScore } }",
                json!({"id": ACME_OUTCOME_GAP}),
                Some(&ada),
            )
            .await;
        assert_eq!(
            body["data"]["jtbdDesiredOutcome"],
            json!({"opportunityScore": 15}),
            "{backend}: {body}"
        );

        // An editor raises the satisfaction: the score follows, in the mutation's answer
        // and in the next read.
        let (_, body) = app
            .graphql(
                "mutation($id: UUID!) { updateJtbdDesiredOutcome(id: $id, patch: {satisfactionScore: 7}) { opportunityScore } }",
                json!({"id": ACME_OUTCOME_GAP}),
                Some(&eli),
            )
            .await;
        assert_eq!(
            body["data"]["updateJtbdDesiredOutcome"],
            json!({"opportunityScore": 11}),
            "{backend}: {body}"
        );
        let (_, body) = app
            .graphql(
                "query($id: UUID!) { jtbdDesiredOutcome(id: $id) { opportunityScore } }",
                json!({"id": ACME_OUTCOME_GAP}),
                Some(&ada),
            )
            .await;
        assert_eq!(
            body["data"]["jtbdDesiredOutcome"],
            json!({"opportunityScore": 11}),
            "{backend}: {body}"
        );
        app.stop().await;
    }
}
