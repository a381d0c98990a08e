//! Per-request dataloaders for relations. They are created for each request with its
//! principal and never shared: a loader that outlived its request could answer one
//! principal's request with another's rows. Keys carry everything the answer depends on
//! (relation, arguments, parent), and the principal is fixed for the loader's life.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use serde_json::Value as Json;

use crate::catalog::ForeignKey;
use crate::error::AppError;
use crate::planner::Store;
use crate::planner::batch::{Aggregate, Page};
use crate::planner::page::ListSpec;
use crate::policy::Principal;
use crate::policy::eval::Row;

/// A loader failure, shared by every key of the batch that failed.
#[derive(Debug, Clone)]
pub struct LoadError(pub Arc<AppError>);

impl From<AppError> for LoadError {
    fn from(err: AppError) -> Self {
        Self(Arc::new(err))
    }
}

/// The loaders of one request.
pub struct Loaders {
    /// To-one relations.
    pub one: Batcher<OneKey, Arc<Row>>,
    /// To-many relations (pages).
    pub many: Batcher<ManyKey, Page>,
    /// Counts and aggregates of to-many relations.
    pub aggregates: Batcher<AggregateKey, Aggregate>,
}

impl std::fmt::Debug for Loaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Loaders")
    }
}

impl Loaders {
    /// Fresh loaders for one request of `principal`.
    pub fn new(store: &Store, principal: &Principal) -> Self {
        let loader = || {
            Arc::new(RelationLoader {
                store: store.clone(),
                principal: principal.clone(),
            })
        };
        Self {
            one: Batcher::new(loader()),
            many: Batcher::new(loader()),
            aggregates: Batcher::new(loader()),
        }
    }
}

/// One request's batching of one kind of key: every key asked for while the request's
/// resolvers run side by side — the items of a list, and the lists of every item above it
/// (async-graphql resolves the fields of one object one after the other) — goes into one
/// load. The batch is sent once a round of the request's other futures (one yield to the
/// scheduler) added no key to it — all siblings of a list have asked by then — so it waits
/// for no timer and spawns no task; the load runs in the request's own task, under its
/// deadline. Should the future running the load be dropped, a waiting one runs it again.
pub struct Batcher<K, V, L = RelationLoader> {
    loader: Arc<L>,
    open: std::sync::Mutex<Option<Arc<Batch<K, V>>>>,
}

impl<K, V, L> std::fmt::Debug for Batcher<K, V, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Batcher")
    }
}

struct Batch<K, V> {
    keys: std::sync::Mutex<HashSet<K>>,
    result: tokio::sync::OnceCell<Result<HashMap<K, V>, LoadError>>,
}

impl<K, V, L> Batcher<K, V, L>
where
    L: Loader<K, Value = V, Error = LoadError>,
    K: Send + Sync + Hash + Eq + Clone + 'static,
    V: Send + Sync + Clone + 'static,
{
    fn new(loader: Arc<L>) -> Self {
        Self {
            loader,
            open: std::sync::Mutex::new(None),
        }
    }

    /// The value of `key`, loaded in the batch of every key asked for beside it.
    pub async fn load_one(&self, key: K) -> Result<Option<V>, LoadError> {
        let batch = {
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            let batch = open
                .get_or_insert_with(|| {
                    Arc::new(Batch {
                        keys: std::sync::Mutex::new(HashSet::new()),
                        result: tokio::sync::OnceCell::new(),
                    })
                })
                .clone();
            batch.keys().insert(key.clone());
            batch
        };
        // Let the request's other resolvers ask, until a round adds nothing.
        loop {
            let before = batch.keys().len();
            tokio::task::yield_now().await;
            if batch.result.initialized() || batch.keys().len() == before {
                break;
            }
        }
        {
            // Closed: keys asked for from now on go into the next batch.
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            if open.as_ref().is_some_and(|b| Arc::ptr_eq(b, &batch)) {
                *open = None;
            }
        }
        let loaded = batch
            .result
            .get_or_init(|| async {
                let keys: Vec<K> = batch.keys().iter().cloned().collect();
                self.loader.load(&keys).await
            })
            .await;
        match loaded {
            Ok(values) => Ok(values.get(&key).cloned()),
            Err(error) => Err(error.clone()),
        }
    }
}

impl<K, V> Batch<K, V> {
    fn keys(&self) -> std::sync::MutexGuard<'_, HashSet<K>> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Loads relations for one principal.
#[derive(Debug)]
pub struct RelationLoader {
    store: Store,
    principal: Principal,
}

/// A row of `table` whose `column` has `value` (to-one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneKey {
    /// Referenced table.
    pub table: &'static str,
    /// Referenced (key) column.
    pub column: &'static str,
    /// Key value, as text.
    pub value: String,
    /// Columns the query reads.
    pub columns: Arc<Vec<&'static str>>,
}

/// The page of `fk.table` rows referencing `parent` (to-many).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManyKey {
    /// The relation.
    pub fk: ForeignKey,
    /// Its connection arguments.
    pub spec: Arc<ListSpec>,
    /// Parent key value, as text.
    pub parent: String,
    /// Columns the query reads.
    pub columns: Arc<Vec<&'static str>>,
    /// The connection's `totalCount` is selected: the page's statement counts it too.
    pub total: bool,
}

/// Count and aggregates of `fk.table` rows referencing `parent` matching `filter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateKey {
    /// The relation.
    pub fk: ForeignKey,
    /// The filter.
    pub filter: Option<crate::planner::plan::Filter>,
    /// Only the count is wanted (`totalCount`), not min/max/sum/avg.
    pub count_only: bool,
    /// Parent key value, as text.
    pub parent: String,
}

// The keys hash only their cheap parts (the relation and the key value): the columns read
// and the connection arguments, which the keys of one batch mostly share, are left to
// equality. Hashing them (every column name, every filter) took a tenth of the gateway's
// instructions on nested lists (docs/PERFORMANCE.md).
impl Hash for OneKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.table, self.column, &self.value).hash(state);
    }
}

impl Hash for ManyKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.fk.table, self.fk.column, &self.parent).hash(state);
    }
}

impl Hash for AggregateKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.fk.table, self.fk.column, self.count_only, &self.parent).hash(state);
    }
}

/// The keys of a batch grouped by `by`, in order of first appearance. A batch holds few
/// groups (one per relation and selection), so they are found by equality — cheap for the
/// shared `Arc`s of one selection — rather than by hashing every key's columns.
fn group<K: Clone, G: PartialEq>(keys: &[K], by: impl Fn(&K) -> G) -> Vec<(G, Vec<K>)> {
    let mut groups: Vec<(G, Vec<K>)> = Vec::new();
    for key in keys {
        let of = by(key);
        match groups.iter_mut().find(|(g, _)| *g == of) {
            Some((_, members)) => members.push(key.clone()),
            None => groups.push((of, vec![key.clone()])),
        }
    }
    groups
}

impl Loader<OneKey> for RelationLoader {
    type Value = Arc<Row>;
    type Error = LoadError;

    async fn load(&self, keys: &[OneKey]) -> Result<HashMap<OneKey, Arc<Row>>, LoadError> {
        let mut out = HashMap::new();
        for ((table, column, columns), keys) in
            group(keys, |k| (k.table, k.column, k.columns.clone()))
        {
            let values: Vec<Json> = keys.iter().map(|k| Json::String(k.value.clone())).collect();
            let rows = self
                .store
                .rows_by(&self.principal, table, column, &values, Some(&columns))
                .await?;
            let rows: HashMap<String, Arc<Row>> = rows
                .into_iter()
                .map(|(k, row)| (k, Arc::new(row)))
                .collect();
            for key in keys {
                if let Some(row) = rows.get(&key.value) {
                    out.insert(key, row.clone());
                }
            }
        }
        Ok(out)
    }
}

impl Loader<ManyKey> for RelationLoader {
    type Value = Page;
    type Error = LoadError;

    async fn load(&self, keys: &[ManyKey]) -> Result<HashMap<ManyKey, Page>, LoadError> {
        let mut out = HashMap::new();
        // Keys of one batch that differ only in asking for `totalCount` share one
        // statement, which counts when any of them asks.
        for ((fk, spec, columns), keys) in
            group(keys, |k| (k.fk, k.spec.clone(), k.columns.clone()))
        {
            let total = keys.iter().any(|k| k.total);
            let parents: Vec<Json> = keys
                .iter()
                .map(|k| Json::String(k.parent.clone()))
                .collect();
            let pages = self
                .store
                .children(&self.principal, &fk, &spec, &parents, Some(&columns), total)
                .await?;
            // Two keys of a group may name one parent (with and without `totalCount`):
            // each gets the page (its rows are shared, not copied).
            for key in keys {
                let page = pages.get(&key.parent).cloned().unwrap_or_default();
                out.insert(key, page);
            }
        }
        Ok(out)
    }
}

impl Loader<AggregateKey> for RelationLoader {
    type Value = Aggregate;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[AggregateKey],
    ) -> Result<HashMap<AggregateKey, Aggregate>, LoadError> {
        let mut out = HashMap::new();
        for ((fk, filter, count_only), keys) in
            group(keys, |k| (k.fk, k.filter.clone(), k.count_only))
        {
            let parents: Vec<Json> = keys
                .iter()
                .map(|k| Json::String(k.parent.clone()))
                .collect();
            let mut aggregates = self
                .store
                .aggregate(
                    &self.principal,
                    fk.table,
                    filter.as_ref(),
                    Some((fk.column, &parents)),
                    count_only,
                )
                .await?;
            for key in keys {
                let aggregate = aggregates.remove(&key.parent).unwrap_or_else(|| {
                    let mut empty = Aggregate::new();
                    empty.insert("count".into(), Json::from(0));
                    empty
                });
                out.insert(key, aggregate);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use async_graphql::dataloader::Loader;
    use futures_util::future::join_all;

    use super::{Batcher, LoadError};
    use crate::error::AppError;

    /// Answers `key * 10` for keys below 1,000 (the others are missing), records every
    /// load, and can hold its first load until `gate` opens, or fail.
    #[derive(Default)]
    struct Fake {
        loads: Mutex<Vec<Vec<u32>>>,
        gate: Option<Arc<tokio::sync::Notify>>,
        fail: bool,
    }

    impl Loader<u32> for Fake {
        type Value = u32;
        type Error = LoadError;

        async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, LoadError> {
            let first = {
                let mut loads = self.loads.lock().expect("loads");
                let mut sorted = keys.to_vec();
                sorted.sort_unstable();
                loads.push(sorted);
                loads.len() == 1
            };
            if let (true, Some(gate)) = (first, &self.gate) {
                gate.notified().await;
            }
            if self.fail {
                return Err(AppError::Internal("the load failed".into()).into());
            }
            Ok(keys
                .iter()
                .filter(|k| **k < 1_000)
                .map(|k| (*k, k * 10))
                .collect())
        }
    }

    fn batcher(fake: Fake) -> (Arc<Fake>, Batcher<u32, u32, Fake>) {
        let fake = Arc::new(fake);
        (fake.clone(), Batcher::new(fake))
    }

    fn loads(fake: &Fake) -> Vec<Vec<u32>> {
        fake.loads.lock().expect("loads").clone()
    }

    #[tokio::test]
    async fn siblings_load_in_one_batch() {
        let (fake, batcher) = batcher(Fake::default());
        // A hundred siblings, one key asked twice, one key the loader does not know.
        let keys: Vec<u32> = (0..100).chain([7, 5_000]).collect();
        let got = join_all(keys.iter().map(|k| batcher.load_one(*k))).await;
        for (key, value) in keys.iter().zip(got) {
            let expected = (*key < 1_000).then_some(key * 10);
            assert_eq!(value.expect("loaded"), expected, "key {key}");
        }
        let loads = loads(&fake);
        assert_eq!(loads.len(), 1, "one load: {loads:?}");
        assert_eq!(loads[0].len(), 101, "each key once");
    }

    #[tokio::test]
    async fn keys_asked_after_a_batch_left_go_into_the_next() {
        let (fake, batcher) = batcher(Fake::default());
        // Ten parents, each asking a second key once its first is answered: two loads.
        let got = join_all((0..10).map(|i| {
            let batcher = &batcher;
            async move {
                let first = batcher.load_one(i).await.expect("first");
                let second = batcher.load_one(100 + i).await.expect("second");
                (first, second)
            }
        }))
        .await;
        for (i, (first, second)) in (0..10).zip(got) {
            assert_eq!((first, second), (Some(i * 10), Some((100 + i) * 10)));
        }
        assert_eq!(
            loads(&fake),
            vec![(0..10).collect::<Vec<_>>(), (100..110).collect()]
        );
        // A key asked alone, later, is a load of its own.
        assert_eq!(batcher.load_one(3).await.expect("alone"), Some(30));
        assert_eq!(loads(&fake).len(), 3);
    }

    #[tokio::test]
    async fn a_failed_load_reaches_every_waiter_once() {
        let (fake, batcher) = batcher(Fake {
            fail: true,
            ..Fake::default()
        });
        let got = join_all((0..5).map(|k| batcher.load_one(k))).await;
        assert!(got.iter().all(|r| {
            r.as_ref()
                .is_err_and(|e| e.0.to_string().contains("the load failed"))
        }));
        assert_eq!(loads(&fake).len(), 1);
    }

    #[tokio::test]
    async fn a_dropped_load_is_run_again_by_a_waiter() {
        let gate = Arc::new(tokio::sync::Notify::new());
        let (fake, batcher) = batcher(Fake {
            gate: Some(gate.clone()),
            ..Fake::default()
        });
        let mut first = Box::pin(batcher.load_one(1));
        let mut second = Box::pin(batcher.load_one(2));
        // Drive both, in this order, until the batch's load runs (held at the gate): the
        // second, whose first round already saw both keys, is the one running it ...
        std::future::poll_fn(|cx| {
            let _ = first.as_mut().poll(cx);
            let _ = second.as_mut().poll(cx);
            if loads(&fake).is_empty() {
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        // ... drop it: the first runs the same batch's load again, with the same keys. (The
        // gate opens too, so that a wrong guess of who held it fails below, not hangs.)
        drop(second);
        gate.notify_one();
        let loaded = tokio::time::timeout(std::time::Duration::from_secs(60), first)
            .await
            .expect("the waiting load finished");
        assert_eq!(loaded.expect("loaded"), Some(10));
        assert_eq!(loads(&fake), vec![vec![1, 2], vec![1, 2]]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tasks_sharing_a_batcher_each_get_their_values() {
        let (fake, batcher) = batcher(Fake::default());
        let batcher = Arc::new(batcher);
        let tasks = (0..4u32).map(|t| {
            let batcher = batcher.clone();
            tokio::spawn(
                async move { join_all((0..25).map(|k| batcher.load_one(t * 25 + k))).await },
            )
        });
        for (t, task) in (0..4u32).zip(join_all(tasks).await) {
            for (k, value) in (0..25).zip(task.expect("task")) {
                assert_eq!(value.expect("loaded"), Some((t * 25 + k) * 10));
            }
        }
        let mut loaded: Vec<u32> = loads(&fake).concat();
        loaded.sort_unstable();
        loaded.dedup();
        assert_eq!(loaded, (0..100).collect::<Vec<_>>());
    }
}
