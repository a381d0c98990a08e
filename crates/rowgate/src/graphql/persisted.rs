//! Persisted queries: documents sent by their sha256 hash instead of their text.
//!
//! The protocol is Apollo's automatic persisted queries, which Apollo Client's
//! `PersistedQueryLink`, urql's persisted exchange and most other clients speak: a request
//! carries `extensions.persistedQuery = {"version": 1, "sha256Hash": "<hex>"}`, with or
//! without `query`.
//!
//! - `auto` (the default): a hash without a document the gateway knows answers
//!   `PERSISTED_QUERY_NOT_FOUND` (message `PersistedQueryNotFound`), and the client sends
//!   the hash again with the document; the gateway checks the hash, and once the request
//!   has run (the document passed the limits, authentication and validation) it is
//!   remembered — in this instance and, for a signed-in principal with Redis, for every
//!   instance (`<prefix>:v1:apq:<hash>`, 24 hours). Documents are addressed by their
//!   content, so nothing ever needs invalidating, and a document carries no rights: it runs
//!   under the policies of whoever sends it.
//! - `allowlist`: only the manifest's documents run, sent by hash or in full; anything else
//!   is `PERSISTED_QUERY_NOT_IN_LIST`, over HTTP and WebSocket alike, before it is parsed or
//!   run. Nothing is remembered.
//! - `off`: a request carrying `extensions.persistedQuery` answers
//!   `PERSISTED_QUERY_NOT_SUPPORTED` (clients then stop sending hashes).
//!
//! The manifest is a JSON file: Apollo's persisted query manifest
//! (`{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id",
//! "body", …}]}`) or an object from hash to document (GraphQL Code Generator's
//! `persisted-documents.json`). Each document is known by its sha256.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::cache::HotCache;
use crate::config::{PersistedQueriesConfig, PersistedQueryMode};
use crate::error::{AppError, ErrorCode};

/// How long a remembered document lives in Redis, and unused in this instance.
const DOCUMENT_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Most bytes of remembered documents this instance keeps.
const LOCAL_BYTES: u64 = 32 * 1024 * 1024;

/// The documents known by hash, and the mode that says what to do with the others.
#[derive(Clone)]
pub struct PersistedQueries(Arc<Inner>);

struct Inner {
    mode: PersistedQueryMode,
    /// The manifest's documents, by sha256.
    manifest: HashMap<String, Arc<str>>,
    /// Documents remembered in `auto` mode.
    local: moka::future::Cache<String, Arc<str>>,
    /// The Redis tier shared by the instances.
    cache: HotCache,
    /// The longest document a request may send (`ROWGATE_MAX_DOCUMENT_BYTES`): no more is
    /// read back from Redis.
    max_document_bytes: usize,
}

impl std::fmt::Debug for PersistedQueries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersistedQueries")
            .field("mode", &self.0.mode)
            .field("manifest", &self.0.manifest.len())
            .finish_non_exhaustive()
    }
}

/// A document to remember once its request has passed the limits.
#[derive(Debug, Default)]
#[must_use]
pub struct Pending(Option<(String, Arc<str>)>);

impl PersistedQueries {
    /// The store of `config`: reads and checks the manifest (each entry must parse as a
    /// GraphQL document and, where its id looks like a sha256, be that of its body).
    pub fn new(
        config: &PersistedQueriesConfig,
        cache: HotCache,
        max_document_bytes: usize,
    ) -> Result<Self, String> {
        let manifest = match &config.manifest {
            Some(path) => read_manifest(path)?,
            None => HashMap::new(),
        };
        let local = moka::future::Cache::builder()
            .weigher(|hash: &String, text: &Arc<str>| {
                u32::try_from(hash.len() + text.len()).unwrap_or(u32::MAX)
            })
            .max_capacity(LOCAL_BYTES)
            .time_to_idle(DOCUMENT_TTL)
            .build();
        Ok(Self(Arc::new(Inner {
            mode: config.mode,
            manifest,
            local,
            cache,
            max_document_bytes,
        })))
    }

    /// Gives `request` the document its `extensions.persistedQuery` names, checks a document
    /// sent with its hash, and in `allowlist` mode refuses any document outside the
    /// manifest. Returns what to remember when the request passes the limits.
    pub async fn resolve(&self, request: &mut async_graphql::Request) -> Result<Pending, AppError> {
        let inner = &self.0;
        let has_query = !request.query.trim().is_empty();
        let Some(extension) = request.extensions.get("persistedQuery") else {
            if inner.mode == PersistedQueryMode::AllowList && has_query {
                self.allowed(&sha256_hex(&request.query))?;
            }
            return Ok(Pending::default());
        };
        if inner.mode == PersistedQueryMode::Off {
            return Err(AppError::PersistedQuery(
                ErrorCode::PersistedQueryNotSupported,
                "PersistedQueryNotSupported".into(),
            ));
        }
        let hash = requested_hash(extension)?;
        if has_query {
            if sha256_hex(&request.query) != hash {
                return Err(AppError::BadUserInput(
                    "extensions.persistedQuery.sha256Hash is not the sha256 of `query`".into(),
                ));
            }
            if inner.mode == PersistedQueryMode::AllowList {
                self.allowed(&hash)?;
                return Ok(Pending::default());
            }
            if inner.manifest.contains_key(&hash) || inner.local.contains_key(&hash) {
                return Ok(Pending::default());
            }
            let text: Arc<str> = Arc::from(request.query.as_str());
            return Ok(Pending(Some((hash, text))));
        }
        match self.lookup(&hash).await {
            Some(text) => {
                request.query = text.to_string();
                Ok(Pending::default())
            }
            None if inner.mode == PersistedQueryMode::AllowList => Err(not_in_list()),
            None => Err(AppError::PersistedQuery(
                ErrorCode::PersistedQueryNotFound,
                "PersistedQueryNotFound".into(),
            )),
        }
    }

    /// Remembers a document whose request ran (it passed the limits, authentication,
    /// parsing and validation: `response` is no request error): in this instance, and in
    /// Redis for every instance when `principal` signed in — an anonymous client's
    /// documents stay in this instance's bounded memory, so nobody without a token can fill
    /// the shared Redis.
    pub async fn remember(
        &self,
        pending: Pending,
        principal: &crate::auth::Principal,
        response: &async_graphql::Response,
    ) {
        let Some((hash, text)) = pending.0 else {
            return;
        };
        if super::is_request_error(response) {
            return;
        }
        if principal.role != crate::auth::Role::Anon {
            self.0
                .cache
                .keep_persisted_document(&hash, &text, DOCUMENT_TTL)
                .await;
        }
        self.0.local.insert(hash, text).await;
    }

    async fn lookup(&self, hash: &str) -> Option<Arc<str>> {
        let inner = &self.0;
        if let Some(text) = inner.manifest.get(hash) {
            return Some(text.clone());
        }
        if inner.mode == PersistedQueryMode::AllowList {
            return None;
        }
        if let Some(text) = inner.local.get(hash).await {
            return Some(text);
        }
        // Only a document whose hash is right is taken from Redis (which other programs
        // could write to).
        let text = inner
            .cache
            .persisted_document(hash, inner.max_document_bytes)
            .await
            .filter(|text| sha256_hex(text) == hash)?;
        let text: Arc<str> = Arc::from(text);
        inner.local.insert(hash.to_owned(), text.clone()).await;
        Some(text)
    }

    fn allowed(&self, sha256: &str) -> Result<(), AppError> {
        if self.0.manifest.contains_key(sha256) {
            Ok(())
        } else {
            Err(not_in_list())
        }
    }
}

fn not_in_list() -> AppError {
    AppError::PersistedQuery(
        ErrorCode::PersistedQueryNotInList,
        "this document is not on the gateway's allow-list of persisted queries".into(),
    )
}

/// The hex sha256 of a document's text, as clients compute it.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The hash of `{"version": 1, "sha256Hash": "<64 hex digits>"}`, lower-cased.
fn requested_hash(extension: &async_graphql::Value) -> Result<String, AppError> {
    let bad = |why: &str| {
        AppError::BadUserInput(format!(
            "extensions.persistedQuery must be {{\"version\": 1, \"sha256Hash\": \"<64 hex digits>\"}}: {why}"
        ))
    };
    let async_graphql::Value::Object(fields) = extension else {
        return Err(bad("it is not an object"));
    };
    match fields.get("version") {
        Some(async_graphql::Value::Number(n)) if n.as_u64() == Some(1) => {}
        Some(_) => return Err(bad("only version 1 is supported")),
        None => return Err(bad("`version` is missing")),
    }
    match fields.get("sha256Hash") {
        Some(async_graphql::Value::String(hash))
            if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Ok(hash.to_ascii_lowercase())
        }
        Some(_) => Err(bad("`sha256Hash` is not 64 hex digits")),
        None => Err(bad("`sha256Hash` is missing")),
    }
}

/// The manifest's documents by sha256. An id that looks like a sha256 must be its
/// document's; other ids (names) are not used: clients send the sha256.
fn read_manifest(path: &Path) -> Result<HashMap<String, Arc<str>>, String> {
    let place = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {place}: {e}"))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{place} is not JSON: {e}"))?;
    let entries: Vec<(String, String)> = match &json {
        serde_json::Value::Object(fields) if fields.contains_key("operations") => {
            let operations = fields["operations"]
                .as_array()
                .ok_or_else(|| format!("{place}: `operations` is not an array"))?;
            operations
                .iter()
                .enumerate()
                .map(|(i, operation)| {
                    let field = |name: &str| operation.get(name).and_then(|v| v.as_str());
                    match (field("id"), field("body")) {
                        (Some(id), Some(body)) => Ok((id.to_owned(), body.to_owned())),
                        _ => Err(format!(
                            "{place}: operations[{i}] needs string `id` and `body`"
                        )),
                    }
                })
                .collect::<Result<_, _>>()?
        }
        serde_json::Value::Object(fields) => fields
            .iter()
            .map(|(id, body)| match body.as_str() {
                Some(body) => Ok((id.clone(), body.to_owned())),
                None => Err(format!("{place}: the document of `{id}` is not a string")),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(format!(
                "{place}: expected Apollo's persisted query manifest or an object from hash to document"
            ));
        }
    };
    let mut documents = HashMap::with_capacity(entries.len());
    for (id, body) in entries {
        async_graphql::parser::parse_query(&body)
            .map_err(|e| format!("{place}: the document of `{id}` does not parse: {e}"))?;
        let sha256 = sha256_hex(&body);
        let looks_like_sha256 = id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
        if looks_like_sha256 && !id.eq_ignore_ascii_case(&sha256) {
            return Err(format!(
                "{place}: `{id}` is not the sha256 of its document (that is {sha256})"
            ));
        }
        documents.insert(sha256, Arc::from(body));
    }
    Ok(documents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> std::path::PathBuf {
        let path = dir.join("manifest.json");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn manifests_of_both_formats_are_read_and_checked() {
        let dir = std::env::temp_dir().join(format!("rowgate-apq-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let body = "query Me { me { userId } }";
        let sha = sha256_hex(body);
        let apollo = format!(
            r#"{{"format":"apollo-persisted-query-manifest","version":1,"operations":[{{"id":"{sha}","name":"Me","type":"query","body":"{body}"}}]}}"#
        );
        let read = read_manifest(&write(&dir, &apollo)).unwrap();
        assert_eq!(read.get(&sha).map(|b| &**b), Some(body));
        let named = format!(r#"{{"me-v1": "{body}"}}"#);
        let read = read_manifest(&write(&dir, &named)).unwrap();
        assert_eq!(read.get(&sha).map(|b| &**b), Some(body));
        assert_eq!(read.len(), 1);
        let wrong = format!(r#"{{"{}": "{body}"}}"#, "0".repeat(64));
        assert!(
            read_manifest(&write(&dir, &wrong))
                .unwrap_err()
                .contains("not the sha256")
        );
        let broken = r#"{"x": "query { me "}"#;
        assert!(
            read_manifest(&write(&dir, broken))
                .unwrap_err()
                .contains("does not parse")
        );
        assert!(read_manifest(&write(&dir, "[1]")).is_err());
        assert!(
            read_manifest(&dir.join("missing.json"))
                .unwrap_err()
                .contains("cannot read")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_extension_must_name_version_1_and_a_sha256() {
        let value = |json: serde_json::Value| async_graphql::Value::from_json(json).unwrap();
        let hash = "A".repeat(64);
        assert_eq!(
            requested_hash(&value(
                serde_json::json!({"version": 1, "sha256Hash": hash})
            ))
            .unwrap(),
            "a".repeat(64)
        );
        for bad in [
            serde_json::json!({"version": 2, "sha256Hash": "a".repeat(64)}),
            serde_json::json!({"sha256Hash": "a".repeat(64)}),
            serde_json::json!({"version": 1, "sha256Hash": "xyz"}),
            serde_json::json!({"version": 1}),
            serde_json::json!("abc"),
        ] {
            let err = requested_hash(&value(bad)).unwrap_err();
            assert_eq!(err.code(), ErrorCode::BadUserInput);
        }
    }
}
