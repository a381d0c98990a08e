//! JWKS keys for RS256/ES256 tokens: read from a file or fetched from an http:// URL, cached,
//! chosen by `kid`, and replaced without a restart when the issuer rotates its keys.
//!
//! When the cache is refreshed:
//! - keys older than `ROWGATE_JWKS_REFRESH_SECS` are refreshed: a URL in the background while
//!   the cached keys keep serving, a file re-read when its modification time or length moved;
//! - a token whose `kid` is not cached causes one refetch, and then no other refetch for an
//!   unknown `kid` until `ROWGATE_JWKS_COOLDOWN_SECS` have passed, so a flood of made-up kids
//!   costs the issuer at most one request per cooldown. A file that changed on disk is re-read
//!   at once (it costs one `stat`), an unchanged one at most once per cooldown. Until a first
//!   document was read (the start-up fetch failed), a fetch is tried at most once per cooldown;
//! - a failed fetch, an error status or an unreadable document keeps the cached keys.
//!
//! Which keys are kept: RSA keys (verified as RS256, modulus of at least [`MIN_RSA_BITS`]) and
//! EC P-256 keys (ES256), each with a `kid`; a key's own `alg`, when present, must name that
//! algorithm, `use` must be `sig` and `key_ops` must allow `verify`. Symmetric (`oct`) keys are
//! never taken from a JWKS: HMAC keys come from `ROWGATE_JWT_SECRET` only.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};

use crate::config::{ConfigError, JwtConfig};

/// The shortest RSA modulus accepted, in bits (NIST SP 800-131A).
pub const MIN_RSA_BITS: usize = 2048;
/// How long one JWKS request may take, connection included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long connecting to the JWKS host may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest JWKS document read; real ones are a few kilobytes.
const MAX_JWKS_BYTES: usize = 1 << 20;

/// Why no key could be chosen for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// No cached key has the token's `kid`, even after the refetch it was allowed.
    UnknownKid,
    /// Keys with that `kid` exist, but none is for the token's algorithm.
    AlgorithmMismatch,
}

/// One usable key: the algorithm its type and curve allow, and the key itself.
#[derive(Clone)]
struct VerifyingKey {
    algorithm: Algorithm,
    key: DecodingKey,
}

/// The keys of one successfully read JWKS document, by `kid`.
#[derive(Default)]
struct KeyRing {
    by_kid: HashMap<String, Vec<VerifyingKey>>,
}

impl KeyRing {
    fn find(&self, kid: &str, algorithm: Algorithm) -> Option<Result<DecodingKey, KeyError>> {
        let keys = self.by_kid.get(kid)?;
        Some(
            keys.iter()
                .find(|k| k.algorithm == algorithm)
                .map(|k| k.key.clone())
                .ok_or(KeyError::AlgorithmMismatch),
        )
    }

    fn len(&self) -> usize {
        self.by_kid.values().map(Vec::len).sum()
    }
}

/// Where the JWKS document comes from.
enum Source {
    /// An http:// URL, fetched with a short timeout.
    Url {
        client: reqwest::Client,
        url: reqwest::Url,
    },
    /// A local file.
    File(PathBuf),
}

/// What identifies one version of the JWKS file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
}

/// Bookkeeping of refreshes; held (async mutex) for the whole of one refresh, so concurrent
/// requests never fetch twice for the same reason.
#[derive(Debug, Default)]
struct RefreshState {
    /// The last load attempt, whatever caused it; failed refreshes of stale keys are retried
    /// at most once per cooldown.
    last_attempt: Option<Instant>,
    /// The last refetch caused by an unknown `kid`.
    last_unknown_kid_fetch: Option<Instant>,
    /// The file version the cached keys were read from.
    file_stamp: Option<FileStamp>,
}

/// The cached JWKS keys and the rules for refreshing them (see the module documentation).
pub struct JwksKeys {
    source: Source,
    refresh_every: Duration,
    cooldown: Duration,
    ring: RwLock<Arc<KeyRing>>,
    /// When the cached keys become stale; `None` until a document was read once.
    fresh_until: Mutex<Option<Instant>>,
    refresh: Arc<tokio::sync::Mutex<RefreshState>>,
}

impl std::fmt::Debug for JwksKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.source {
            Source::Url { url, .. } => format!("url {}", redacted(url)),
            Source::File(path) => format!("file {}", path.display()),
        };
        f.debug_struct("JwksKeys")
            .field("source", &source)
            .field("keys", &self.snapshot().len())
            .field("refresh_every", &self.refresh_every)
            .field("cooldown", &self.cooldown)
            .finish()
    }
}

impl JwksKeys {
    /// The key source `config` names, if any. A JWKS file is read now, so a missing or broken
    /// file stops the start with a clear message; a URL is fetched in the background when a
    /// runtime is running, else on the first token that needs it.
    pub fn from_config(config: &JwtConfig) -> Result<Option<Arc<Self>>, ConfigError> {
        let source = if let Some(path) = &config.jwks_file {
            Source::File(path.clone())
        } else if let Some(url) = &config.jwks_url {
            let url = reqwest::Url::parse(url).map_err(|e| ConfigError {
                setting: "ROWGATE_JWKS_URL",
                problem: format!("is not a URL ({e})"),
            })?;
            let client = reqwest::Client::builder()
                .timeout(FETCH_TIMEOUT)
                .connect_timeout(CONNECT_TIMEOUT)
                .redirect(reqwest::redirect::Policy::limited(3))
                .user_agent(concat!("rowgate/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| ConfigError {
                    setting: "ROWGATE_JWKS_URL",
                    problem: format!("cannot build an HTTP client: {e}"),
                })?;
            Source::Url { client, url }
        } else {
            return Ok(None);
        };
        let keys = Arc::new(Self {
            source,
            refresh_every: config.jwks_refresh,
            cooldown: config.jwks_cooldown,
            ring: RwLock::new(Arc::new(KeyRing::default())),
            fresh_until: Mutex::new(None),
            refresh: Arc::new(tokio::sync::Mutex::new(RefreshState::default())),
        });
        match &keys.source {
            Source::File(path) => keys.load_file_at_start(path)?,
            Source::Url { .. } => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    let prefetch = Arc::clone(&keys);
                    runtime.spawn(async move {
                        let mut state = prefetch.refresh.lock().await;
                        if state.last_attempt.is_none() {
                            prefetch.load(&mut state).await;
                        }
                    });
                }
            }
        }
        Ok(Some(keys))
    }

    /// The key with `kid` for `algorithm`, refreshing the cache first as the module
    /// documentation describes.
    pub async fn key(
        self: &Arc<Self>,
        kid: &str,
        algorithm: Algorithm,
    ) -> Result<DecodingKey, KeyError> {
        self.refresh_if_stale().await;
        if let Some(found) = self.snapshot().find(kid, algorithm) {
            return found;
        }
        self.refresh_for_unknown_kid(kid).await;
        self.snapshot()
            .find(kid, algorithm)
            .unwrap_or(Err(KeyError::UnknownKid))
    }

    fn snapshot(&self) -> Arc<KeyRing> {
        Arc::clone(&self.ring.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn mark_fresh(&self) {
        *self.fresh_until.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Instant::now() + self.refresh_every);
    }

    fn is_stale(&self) -> bool {
        self.fresh_until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|until| Instant::now() >= until)
    }

    /// Stale keys: a file is checked inline (a `stat`, and a read only if it changed); a URL is
    /// fetched in the background while the cached keys keep answering. Never waits for a
    /// refresh already running, and retries a failed one at most once per cooldown.
    async fn refresh_if_stale(self: &Arc<Self>) {
        if !self.is_stale() {
            return;
        }
        let Ok(mut state) = Arc::clone(&self.refresh).try_lock_owned() else {
            return;
        };
        if state
            .last_attempt
            .is_some_and(|at| at.elapsed() < self.cooldown)
        {
            return;
        }
        match &self.source {
            Source::File(path) => {
                if self.file_changed(path, &state).await {
                    self.load(&mut state).await;
                } else {
                    state.last_attempt = Some(Instant::now());
                    self.mark_fresh();
                }
            }
            Source::Url { .. } => {
                let keys = Arc::clone(self);
                tokio::spawn(async move {
                    keys.load(&mut state).await;
                });
            }
        }
    }

    /// One refetch for a `kid` not in the cache, unless another request just did one that
    /// brought it, or the cooldown since the last such refetch has not passed.
    async fn refresh_for_unknown_kid(&self, kid: &str) {
        let mut state = self.refresh.lock().await;
        if self.snapshot().by_kid.contains_key(kid) {
            return;
        }
        if let Source::File(path) = &self.source
            && self.file_changed(path, &state).await
        {
            self.load(&mut state).await;
            return;
        }
        let never_loaded = self
            .fresh_until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none();
        if never_loaded {
            // The first load (the start-up fetch failed or has not run yet) is not a refetch
            // for an unknown kid; retried at most once per cooldown all the same.
            if state
                .last_attempt
                .is_none_or(|at| at.elapsed() >= self.cooldown)
            {
                self.load(&mut state).await;
            }
            return;
        }
        if state
            .last_unknown_kid_fetch
            .is_some_and(|at| at.elapsed() < self.cooldown)
        {
            return;
        }
        state.last_unknown_kid_fetch = Some(Instant::now());
        self.load(&mut state).await;
    }

    async fn file_changed(&self, path: &Path, state: &RefreshState) -> bool {
        match file_stamp(path).await {
            Ok(stamp) => state.file_stamp != Some(stamp),
            Err(_) => false,
        }
    }

    /// Reads the document and replaces the cached keys; on any failure the cached keys stay
    /// and the reason is logged.
    async fn load(&self, state: &mut RefreshState) {
        state.last_attempt = Some(Instant::now());
        let loaded = match &self.source {
            Source::File(path) => read_file(path).await.map(|(bytes, stamp)| {
                state.file_stamp = Some(stamp);
                bytes
            }),
            Source::Url { client, url } => fetch(client, url).await,
        };
        let ring = loaded.and_then(|bytes| key_ring(&bytes));
        match ring {
            Ok(ring) => {
                if ring.len() == 0 {
                    tracing::warn!(
                        source = %self.source_name(),
                        "the JWKS holds no usable RS256/ES256 key; RS256/ES256 tokens are refused until it does"
                    );
                } else {
                    tracing::info!(source = %self.source_name(), keys = ring.len(), "JWKS keys loaded");
                }
                *self.ring.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(ring);
                self.mark_fresh();
            }
            Err(problem) => {
                tracing::warn!(
                    source = %self.source_name(),
                    "cannot refresh the JWKS, keeping the cached keys: {problem}"
                );
            }
        }
    }

    fn load_file_at_start(&self, path: &Path) -> Result<(), ConfigError> {
        let problem = |problem: String| ConfigError {
            setting: "ROWGATE_JWKS_FILE",
            problem,
        };
        let bytes = std::fs::read(path)
            .map_err(|e| problem(format!("cannot read {}: {e}", path.display())))?;
        let stamp = std::fs::metadata(path).map(|m| FileStamp {
            modified: m.modified().ok(),
            len: m.len(),
        });
        let ring = key_ring(&bytes).map_err(|e| problem(format!("{}: {e}", path.display())))?;
        if ring.len() == 0 {
            return Err(problem(format!(
                "{} holds no usable key: each needs a `kid` and must be RSA (at least {MIN_RSA_BITS} bits, for RS256) or EC P-256 (for ES256)",
                path.display()
            )));
        }
        tracing::info!(file = %path.display(), keys = ring.len(), "JWKS keys loaded");
        *self.ring.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(ring);
        self.mark_fresh();
        if let Ok(mut state) = self.refresh.try_lock() {
            state.file_stamp = stamp.ok();
        }
        Ok(())
    }

    fn source_name(&self) -> String {
        match &self.source {
            Source::Url { url, .. } => redacted(url),
            Source::File(path) => path.display().to_string(),
        }
    }
}

/// The URL without credentials, for logs.
fn redacted(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.to_string()
}

async fn file_stamp(path: &Path) -> std::io::Result<FileStamp> {
    let metadata = tokio::fs::metadata(path).await?;
    Ok(FileStamp {
        modified: metadata.modified().ok(),
        len: metadata.len(),
    })
}

async fn read_file(path: &Path) -> Result<(Vec<u8>, FileStamp), String> {
    let stamp = file_stamp(path)
        .await
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if stamp.len > MAX_JWKS_BYTES as u64 {
        return Err(format!(
            "{} is larger than {MAX_JWKS_BYTES} bytes",
            path.display()
        ));
    }
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok((bytes, stamp))
}

async fn fetch(client: &reqwest::Client, url: &reqwest::Url) -> Result<Vec<u8>, String> {
    let mut response = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("request failed: {}", e.without_url()))?;
    if !response.status().is_success() {
        return Err(format!("the issuer answered HTTP {}", response.status()));
    }
    if response
        .content_length()
        .is_some_and(|len| len > MAX_JWKS_BYTES as u64)
    {
        return Err(format!(
            "the document is larger than {MAX_JWKS_BYTES} bytes"
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("reading the body failed: {}", e.without_url()))?
    {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(format!(
                "the document is larger than {MAX_JWKS_BYTES} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The usable keys of a JWKS document. Keys that cannot be used are skipped (and logged), so
/// one odd key does not make the issuer's other keys unusable; a document that is not a JWKS
/// at all is an error.
fn key_ring(bytes: &[u8]) -> Result<KeyRing, String> {
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document = serde_json::from_slice(bytes)
        .map_err(|e| format!("not a JWKS document (`{{\"keys\": [...]}}`): {e}"))?;
    let mut ring = KeyRing::default();
    for (index, value) in document.keys.into_iter().enumerate() {
        let kid = value.get("kid").and_then(|k| k.as_str()).map(str::to_owned);
        let usable = serde_json::from_value::<Jwk>(value)
            .map_err(|e| format!("not a JWK: {e}"))
            .and_then(|jwk| verifying_key(&jwk));
        match usable {
            Ok((kid, key)) => ring.by_kid.entry(kid).or_default().push(key),
            Err(why) => tracing::warn!(
                key = index,
                kid = kid.as_deref().unwrap_or("-"),
                "JWKS key skipped: {why}"
            ),
        }
    }
    Ok(ring)
}

fn verifying_key(jwk: &Jwk) -> Result<(String, VerifyingKey), String> {
    let kid = jwk
        .common
        .key_id
        .clone()
        .filter(|kid| !kid.is_empty())
        .ok_or("no `kid`")?;
    if let Some(key_use) = &jwk.common.public_key_use
        && *key_use != PublicKeyUse::Signature
    {
        return Err("`use` is not `sig`".into());
    }
    if let Some(operations) = &jwk.common.key_operations
        && !operations.contains(&KeyOperations::Verify)
    {
        return Err("`key_ops` does not allow `verify`".into());
    }
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(params) if params.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        AlgorithmParameters::EllipticCurve(params) => {
            return Err(format!(
                "curve {:?} is not supported (P-256 only)",
                params.curve
            ));
        }
        AlgorithmParameters::OctetKey(_) => {
            return Err("symmetric keys are never taken from a JWKS".into());
        }
        _ => return Err("key type is not supported (RSA or EC P-256 only)".into()),
    };
    if let Some(declared) = jwk.common.key_algorithm
        && declared != KeyAlgorithm::from(algorithm)
    {
        return Err(format!(
            "`alg` {declared} does not match the key type (only {algorithm:?} is supported for it)"
        ));
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("unusable key material: {e}"))?;
    match (algorithm, key.kind()) {
        (Algorithm::RS256, DecodingKeyKind::RsaModulusExponent { n, .. }) => {
            let bits = bit_length(n);
            if bits < MIN_RSA_BITS {
                return Err(format!(
                    "RSA modulus has {bits} bits; at least {MIN_RSA_BITS} are required"
                ));
            }
        }
        (Algorithm::ES256, DecodingKeyKind::SecretOrDer(point)) if point.len() == 65 => {}
        (Algorithm::ES256, _) => return Err("`x` and `y` must be 32 bytes each".into()),
        _ => return Err("unusable key material".into()),
    }
    Ok((kid, VerifyingKey { algorithm, key }))
}

/// Significant bits of a big-endian unsigned integer.
fn bit_length(bytes: &[u8]) -> usize {
    let significant: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    match significant.first() {
        None => 0,
        Some(first) => (significant.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_length_ignores_leading_zeros() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[0, 1]), 1);
        assert_eq!(bit_length(&[0x80, 0]), 16);
        assert_eq!(bit_length(&[0, 0x7f, 0xff]), 15);
    }

    fn config_with_file(path: PathBuf) -> JwtConfig {
        JwtConfig {
            secret: None,
            secret_source: None,
            jwks_url: None,
            jwks_file: Some(path),
            audience: None,
            issuer: None,
            leeway: Duration::from_secs(30),
            algorithms: vec![Algorithm::RS256, Algorithm::ES256],
            jwks_refresh: Duration::from_secs(300),
            jwks_cooldown: Duration::from_secs(30),
            claims: crate::config::ClaimsMapping::default(),
        }
    }

    #[test]
    fn a_jwks_file_without_a_usable_key_stops_the_start() {
        let dir = std::env::temp_dir().join(format!("rowgate-jwks-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("jwks.json");
        for document in [
            r#"{"keys":[{"kty":"oct","kid":"k","k":"c2VjcmV0"}]}"#,
            r#"{"keys":[]}"#,
            "not json",
        ] {
            std::fs::write(&path, document).expect("write");
            let err = JwksKeys::from_config(&config_with_file(path.clone())).expect_err(document);
            assert_eq!(err.setting, "ROWGATE_JWKS_FILE", "{err}");
        }
        let err = JwksKeys::from_config(&config_with_file(dir.join("missing.json")))
            .expect_err("missing file");
        assert_eq!(err.setting, "ROWGATE_JWKS_FILE");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn symmetric_and_mismatched_keys_are_skipped() {
        let document = serde_json::json!({ "keys": [
            { "kty": "oct", "kid": "hmac", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0" },
            { "kty": "EC", "kid": "p384", "crv": "P-384", "x": "AA", "y": "AA" },
            { "kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB" },
            { "kty": "RSA", "kid": "small", "n": "AQAB", "e": "AQAB" },
            "not even an object",
        ]});
        let ring = key_ring(document.to_string().as_bytes()).expect("a JWKS document");
        assert_eq!(ring.len(), 0);
        assert!(key_ring(b"[]").is_err());
        assert!(key_ring(b"{\"keys\": 1}").is_err());
    }
}
