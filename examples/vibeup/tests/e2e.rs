//! vibeup over real HTTP and WebSocket, on SQLite and (with `DATABASE_URL`) PostgreSQL:
//! subscription events that reach the subscribers who may read the row and no one else,
//! and the AI model configurations read hot from the cache, fresh after an administrator's
//! write.

use std::time::Duration;

use rowgate_tests::{Backend, TestApp, WsClient, WsMessage, backends, error_code};
use serde_json::{Value as Json, json};
use vibeup::{
    ADA, BREATHWORK, CONFIG_MIRA_CHAT, CONFIG_MIRA_INSIGHTS, MAYA, MORNING_LIGHT, NOAH, OMAR, PRIYA,
};

async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_application(
        backend,
        vibeup::application().expect("the vibeup application builds"),
    )
    .await
}

/// A WebSocket signed in as `token`, acknowledged.
async fn connect(app: &TestApp, token: &str) -> WsClient {
    let (client, ack) =
        WsClient::connect(app, json!({ "Authorization": format!("Bearer {token}") })).await;
    assert!(
        matches!(&ack, WsMessage::Message(m) if m["type"] == "connection_ack"),
        "{ack:?}"
    );
    client
}

/// Runs a mutation as `token` and returns its `data`, panicking on errors.
async fn mutate(app: &TestApp, token: &str, query: &str, variables: Json) -> Json {
    let (_, body) = app.graphql(query, variables, Some(token)).await;
    assert!(body["errors"].is_null(), "{query}: {body}");
    body["data"].clone()
}

const SEND: &str = "mutation($to: UUID!, $body: String!) { createMessage(input: {recipientId: $to, body: $body}) { id } }";
const POST: &str = "mutation($c: UUID!, $body: String!) { createVibe(input: {communityId: $c, body: $body}) { id } }";
const QUIET: Duration = Duration::from_millis(700);
const EVENT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_message_event_reaches_its_sides_and_no_one_else() {
    for backend in backends("vibeup: message subscription") {
        let app = spawn(backend).await;
        let (maya, noah, priya) = (
            app.token(MAYA, None),
            app.token(NOAH, None),
            app.token(PRIYA, None),
        );
        let subscription =
            "subscription { messageChanged { op node { body senderId recipientId } } }";
        let mut noah_ws = connect(&app, &noah).await;
        noah_ws.subscribe_registered(&app, "n", subscription).await;
        let mut priya_ws = connect(&app, &priya).await;
        priya_ws.subscribe_registered(&app, "p", subscription).await;

        // Deny first: priya cannot message maya (they are not connected): refused, and no
        // event for anyone.
        let (_, body) = app
            .graphql(
                SEND,
                json!({"to": MAYA, "body": "hello from priya"}),
                Some(&priya),
            )
            .await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{backend}: {body}");
        // Maya writes to noah: noah (the recipient) receives it, priya does not.
        mutate(
            &app,
            &maya,
            SEND,
            json!({"to": NOAH, "body": "Sunset walk?"}),
        )
        .await;
        let event = noah_ws
            .next_data("n", EVENT)
            .await
            .expect("noah receives maya's message");
        assert_eq!(
            event["messageChanged"],
            json!({"op": "INSERT", "node": {
                "body": "Sunset walk?",
                "senderId": MAYA.to_string(),
                "recipientId": NOAH.to_string(),
            }}),
            "{backend}"
        );
        assert_eq!(
            priya_ws.next(QUIET).await,
            None,
            "{backend}: priya hears nothing"
        );
        assert_eq!(noah_ws.next(QUIET).await, None, "{backend}: one event");

        // Priya connects with maya (both accept); now her own message reaches her
        // subscription, and still nothing of maya and noah's.
        let request = mutate(
            &app,
            &priya,
            "mutation($to: UUID!) { createConnection(input: {addresseeId: $to}) { id } }",
            json!({"to": MAYA}),
        )
        .await;
        mutate(
            &app,
            &maya,
            "mutation($id: UUID!) { updateConnection(id: $id, patch: {addresseeAccepted: true}) { id } }",
            json!({"id": request["createConnection"]["id"]}),
        )
        .await;
        mutate(&app, &maya, SEND, json!({"to": NOAH, "body": "Still on?"})).await;
        mutate(&app, &priya, SEND, json!({"to": MAYA, "body": "Hi Maya!"})).await;
        let event = priya_ws
            .next_data("p", EVENT)
            .await
            .expect("priya receives her own message");
        assert_eq!(
            event["messageChanged"]["node"],
            json!({"body": "Hi Maya!", "senderId": PRIYA.to_string(), "recipientId": MAYA.to_string()}),
            "{backend}"
        );
        assert_eq!(priya_ws.next(QUIET).await, None, "{backend}");
        let event = noah_ws
            .next_data("n", EVENT)
            .await
            .expect("noah receives maya's second message");
        assert_eq!(
            event["messageChanged"]["node"]["body"],
            json!("Still on?"),
            "{backend}"
        );
        assert_eq!(noah_ws.next(QUIET).await, None, "{backend}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_vibe_event_reaches_the_communitys_members_only() {
    for backend in backends("vibeup: vibe subscription") {
        let app = spawn(backend).await;
        let (maya, noah, priya, omar) = (
            app.token(MAYA, None),
            app.token(NOAH, None),
            app.token(PRIYA, None),
            app.token(OMAR, None),
        );
        let subscription = "subscription { vibeChanged { op node { body communityId } } }";
        let mut noah_ws = connect(&app, &noah).await;
        noah_ws.subscribe_registered(&app, "n", subscription).await;
        let mut priya_ws = connect(&app, &priya).await;
        priya_ws.subscribe_registered(&app, "p", subscription).await;
        let mut omar_ws = connect(&app, &omar).await;
        omar_ws.subscribe_registered(&app, "o", subscription).await;

        // Deny first: a vibe of the private Morning Light reaches priya (a member), not
        // noah nor omar; one of the public Breathwork reaches noah (a member), not priya,
        // and not omar, who is in no community.
        mutate(
            &app,
            &maya,
            POST,
            json!({"c": MORNING_LIGHT, "body": "Dawn stillness"}),
        )
        .await;
        mutate(
            &app,
            &maya,
            POST,
            json!({"c": BREATHWORK, "body": "Four-seven-eight"}),
        )
        .await;
        let event = priya_ws.next_data("p", EVENT).await.expect("priya's event");
        assert_eq!(
            event["vibeChanged"],
            json!({"op": "INSERT", "node": {"body": "Dawn stillness", "communityId": MORNING_LIGHT.to_string()}}),
            "{backend}"
        );
        let event = noah_ws.next_data("n", EVENT).await.expect("noah's event");
        assert_eq!(
            event["vibeChanged"],
            json!({"op": "INSERT", "node": {"body": "Four-seven-eight", "communityId": BREATHWORK.to_string()}}),
            "{backend}"
        );
        assert_eq!(omar_ws.next(QUIET).await, None, "{backend}: omar");
        assert_eq!(priya_ws.next(QUIET).await, None, "{backend}: priya");
        assert_eq!(noah_ws.next(QUIET).await, None, "{backend}: noah");

        // The provider credentials are no subscription at all: their changes are never
        // sent to anyone.
        let mut ada_ws = connect(&app, &app.token(ADA, None)).await;
        ada_ws
            .subscribe(
                "c",
                "subscription { aiProviderCredentialChanged { op node { apiKey } } }",
            )
            .await;
        let errors = ada_ws.next_errors(EVENT).await;
        assert!(
            errors.to_string().contains("aiProviderCredentialChanged"),
            "{backend}: {errors}"
        );
        app.stop().await;
    }
}

/// `aiModels { key model enabled systemPrompt }` as `token` (or anonymous).
async fn ai_models(app: &TestApp, token: Option<&str>) -> Json {
    let (_, body) = app
        .graphql(
            "{ aiModels { id key model enabled systemPrompt } }",
            json!({}),
            token,
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["aiModels"].clone()
}

fn keys(models: &Json) -> Vec<&str> {
    models
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["key"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn ai_model_configs_are_read_hot_and_fresh_after_an_admin_writes() {
    for backend in backends("vibeup: hot AI model configuration") {
        let app = spawn(backend).await;
        let (ada, maya) = (app.token(ADA, None), app.token(MAYA, None));

        // Deny first: anonymous requests read no configuration; a user reads the enabled
        // ones only, without their system prompt, and not the disabled one by key.
        assert_eq!(ai_models(&app, None).await, json!([]), "{backend}");
        let models = ai_models(&app, Some(&maya)).await;
        assert_eq!(keys(&models), ["mira.chat"], "{backend}: {models}");
        assert_eq!(models[0]["systemPrompt"], Json::Null, "{backend}");
        let (_, body) = app
            .graphql(
                "{ aiModel(key: \"mira.insights\") { key } }",
                json!({}),
                Some(&maya),
            )
            .await;
        assert_eq!(body["data"]["aiModel"], Json::Null, "{backend}: {body}");
        // A user cannot write a configuration.
        let (_, body) = app
            .graphql(
                "mutation($id: UUID!) { updateAiModelConfig(id: $id, patch: {model: \"gpt-5\"}) { model } }",
                json!({"id": CONFIG_MIRA_CHAT}),
                Some(&maya),
            )
            .await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{backend}: {body}");

        // The administrator reads every one, with its prompt.
        let models = ai_models(&app, Some(&ada)).await;
        assert_eq!(
            keys(&models),
            ["mira.chat", "mira.insights"],
            "{backend}: {models}"
        );
        assert!(models[0]["systemPrompt"].is_string(), "{backend}: {models}");
        // The credential a configuration names is read under its own policy: the
        // administrator reads which provider it is, never its key.
        let (_, body) = app
            .graphql(
                "{ aiModels { key credential { provider apiKey } } }",
                json!({}),
                Some(&ada),
            )
            .await;
        assert_eq!(
            body["data"]["aiModels"],
            json!([
                {"key": "mira.chat", "credential": {"provider": "openai", "apiKey": null}},
                {"key": "mira.insights", "credential": {"provider": "anthropic", "apiKey": null}},
            ]),
            "{backend}: {body}"
        );
        let (_, body) = app
            .graphql(
                "{ aiModels { key credential { provider } } }",
                json!({}),
                Some(&maya),
            )
            .await;
        assert_eq!(
            body["data"]["aiModels"],
            json!([{"key": "mira.chat", "credential": null}]),
            "{backend}: {body}"
        );

        // Warm, the read is answered from the cache: no SQL.
        ai_models(&app, Some(&maya)).await;
        let before = app.statements();
        let models = ai_models(&app, Some(&maya)).await;
        assert_eq!(keys(&models), ["mira.chat"], "{backend}");
        let (_, body) = app
            .graphql(
                "{ aiModel(key: \"mira.chat\") { model } }",
                json!({}),
                Some(&maya),
            )
            .await;
        assert_eq!(
            body["data"]["aiModel"],
            json!({"model": "gpt-4o-mini"}),
            "{backend}: {body}"
        );
        assert_eq!(app.statements(), before, "{backend}: a warm read ran SQL");

        // The administrator switches the chat model and enables the insights model: the
        // very next reads see both.
        mutate(
            &app,
            &ada,
            "mutation($id: UUID!) { updateAiModelConfig(id: $id, patch: {model: \"gpt-4.1-mini\"}) { model } }",
            json!({"id": CONFIG_MIRA_CHAT}),
        )
        .await;
        mutate(
            &app,
            &ada,
            "mutation($id: UUID!) { updateAiModelConfig(id: $id, patch: {enabled: true}) { enabled } }",
            json!({"id": CONFIG_MIRA_INSIGHTS}),
        )
        .await;
        let (_, body) = app
            .graphql(
                "{ aiModel(key: \"mira.chat\") { model } }",
                json!({}),
                Some(&maya),
            )
            .await;
        assert_eq!(
            body["data"]["aiModel"],
            json!({"model": "gpt-4.1-mini"}),
            "{backend}: {body}"
        );
        let models = ai_models(&app, Some(&maya)).await;
        assert_eq!(
            keys(&models),
            ["mira.chat", "mira.insights"],
            "{backend}: {models}"
        );
        assert!(
            models
                .as_array()
                .into_iter()
                .flatten()
                .all(|m| m["systemPrompt"].is_null()),
            "{backend}: {models}"
        );
        // And warm again after the reload.
        let before = app.statements();
        assert_eq!(
            keys(&ai_models(&app, Some(&maya)).await),
            ["mira.chat", "mira.insights"],
            "{backend}"
        );
        assert_eq!(app.statements(), before, "{backend}: a warm read ran SQL");

        // A configuration the administrator removes is gone at once.
        mutate(
            &app,
            &ada,
            "mutation($id: UUID!) { deleteAiModelConfig(id: $id) { id } }",
            json!({"id": CONFIG_MIRA_INSIGHTS}),
        )
        .await;
        assert_eq!(
            keys(&ai_models(&app, Some(&maya)).await),
            ["mira.chat"],
            "{backend}"
        );
        app.stop().await;
    }
}
