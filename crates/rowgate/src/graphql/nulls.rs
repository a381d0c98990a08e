//! Field errors as the GraphQL specification places them: every error of a field carries
//! its `path`, a failed nullable field is `null`, and a failed non-null field nulls its
//! nearest nullable parent (the whole `data` when there is none).
//!
//! The gateway's resolvers report their own errors with the field's path
//! ([`field_failed`]): a nullable field then resolves to `null`; a non-null one returns the
//! [`PROPAGATED`] marker, which leaves the field out of its object. [`propagate`] then walks
//! each located error's path through the document and the schema's types, nulls the
//! nearest nullable position above a non-null one, and drops the markers.

use async_graphql::Context;
use async_graphql::dynamic::FieldValue;
use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::{Name, PathSegment, Positioned, Value};

use super::limits::TypeIndex;
use crate::error::AppError;

/// The message of the marker a failed non-null field returns; never shown to clients.
const PROPAGATED: &str = "rowgate: field error propagated to the nearest nullable parent";

/// Reports `error` at the resolver's field, with its path and code, and gives what the
/// field resolves to: `null` when nullable, the [`PROPAGATED`] marker when not.
pub(crate) fn field_failed<'a>(
    ctx: &Context<'_>,
    error: &AppError,
    non_null: bool,
    request_id: &str,
) -> async_graphql::Result<Option<FieldValue<'a>>> {
    let located = ctx.set_error_path(error.to_graphql(request_id).into_server_error(ctx.item.pos));
    ctx.add_error(located);
    if non_null {
        Err(async_graphql::Error::new(PROPAGATED))
    } else {
        Ok(None)
    }
}

/// Nulls the nearest nullable parent of every failed non-null field of `response`, and
/// drops the markers. `query` is the document the response answers.
pub(crate) fn propagate(
    response: &mut async_graphql::Response,
    types: &TypeIndex,
    query: &str,
    operation_name: Option<&str>,
) {
    response.errors.retain(|e| e.message != PROPAGATED);
    if response.errors.iter().all(|e| e.path.is_empty()) {
        return;
    }
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return;
    };
    let Some((root, selection_set)) = operation(&document, operation_name, types) else {
        return;
    };
    let paths: Vec<Vec<PathSegment>> = response
        .errors
        .iter()
        .filter(|e| !e.path.is_empty())
        .map(|e| e.path.clone())
        .collect();
    for path in paths {
        let Some(nullable) = positions(types, &document, &root, selection_set, &path) else {
            continue;
        };
        if nullable.last() != Some(&false) {
            continue;
        }
        // The failed position is non-null: null the nearest nullable one above it.
        match nullable[..nullable.len() - 1].iter().rposition(|n| *n) {
            Some(at) => set_null(&mut response.data, &path[..=at]),
            None => response.data = Value::Null,
        }
    }
}

/// The root type and selection set of the operation that ran.
fn operation<'d>(
    document: &'d ExecutableDocument,
    operation_name: Option<&str>,
    types: &TypeIndex,
) -> Option<(Name, &'d SelectionSet)> {
    let operation = match operation_name {
        Some(name) => document
            .operations
            .iter()
            .find(|(n, _)| n.is_some_and(|n| n.as_str() == name))?,
        None => document.operations.iter().next()?,
    }
    .1;
    let root = types.root(operation.node.ty)?.clone();
    Some((root, &operation.node.selection_set.node))
}

/// Whether each position along `path` may be null (a field, then each list level of it).
fn positions(
    types: &TypeIndex,
    document: &ExecutableDocument,
    root: &Name,
    selection_set: &SelectionSet,
    path: &[PathSegment],
) -> Option<Vec<bool>> {
    let mut nullable = Vec::with_capacity(path.len());
    let mut parent = root.clone();
    let mut set = selection_set;
    let mut segments = path.iter().peekable();
    while let Some(segment) = segments.next() {
        let PathSegment::Field(key) = segment else {
            return None;
        };
        let (field, condition) = find_field(document, set, key, None, 0)?;
        // Inside `... on Post { … }` of a `Node`, the field is Post's.
        let owner = condition.unwrap_or(&parent);
        let shape = types.shape(Some(owner), field.name.node.as_str())?;
        let mut levels = shape.nullable.iter();
        nullable.push(*levels.next()?);
        while let Some(PathSegment::Index(_)) = segments.peek() {
            segments.next();
            nullable.push(*levels.next()?);
        }
        parent = shape.type_name.clone();
        set = &field.selection_set.node;
    }
    Some(nullable)
}

/// The field of `set` (fragments included) answering under response key `key`, with the
/// type condition of the innermost fragment it sits in (`condition` outside any). Where
/// fragments on different types use the same key, the first one is taken.
fn find_field<'d>(
    document: &'d ExecutableDocument,
    set: &'d SelectionSet,
    key: &str,
    condition: Option<&'d Name>,
    nesting: usize,
) -> Option<(&'d Field, Option<&'d Name>)> {
    if nesting > 64 {
        return None;
    }
    set.items
        .iter()
        .find_map(|selection| match &selection.node {
            Selection::Field(Positioned { node: field, .. }) => {
                (field.response_key().node.as_str() == key).then_some((field, condition))
            }
            Selection::InlineFragment(fragment) => find_field(
                document,
                &fragment.node.selection_set.node,
                key,
                fragment
                    .node
                    .type_condition
                    .as_ref()
                    .map(|c| &c.node.on.node)
                    .or(condition),
                nesting + 1,
            ),
            Selection::FragmentSpread(spread) => {
                let fragment = document.fragments.get(&spread.node.fragment_name.node)?;
                find_field(
                    document,
                    &fragment.node.selection_set.node,
                    key,
                    Some(&fragment.node.type_condition.node.on.node),
                    nesting + 1,
                )
            }
        })
}

/// Sets the value at `path` of `data` to null, if it is there.
fn set_null(data: &mut Value, path: &[PathSegment]) {
    let mut value = data;
    for segment in path {
        let next = match (segment, value) {
            (PathSegment::Field(key), Value::Object(object)) => object.get_mut(key.as_str()),
            (PathSegment::Index(index), Value::List(items)) => items.get_mut(*index),
            _ => None,
        };
        match next {
            Some(next) => value = next,
            None => return,
        }
    }
    *value = Value::Null;
}

/// The response keys an operation's selection asks for, in document order, each with the
/// shape of its own selection (fragments expanded in place): what [`order_fields`] puts a
/// response in. Computed once per document and operation ([`super::limits::LimitChecker`]
/// keeps them).
#[derive(Debug, Default)]
pub(crate) struct Shape(Vec<(Name, Option<Shape>)>);

/// Deepest selection nesting a shape follows.
const MAX_SHAPE_DEPTH: usize = 64;
/// Most response keys a shape holds (the limits refuse more expanded fields before).
const MAX_SHAPE_NODES: usize = 10_000;

impl Shape {
    /// The shape of the operation `operation_name` of `document`.
    pub(crate) fn of(
        document: &ExecutableDocument,
        operation_name: Option<&str>,
        types: &TypeIndex,
    ) -> Option<Self> {
        let (_, selection_set) = operation(document, operation_name, types)?;
        let mut budget = MAX_SHAPE_NODES;
        Self::of_sets(document, &[selection_set], 0, &mut budget)
    }

    /// The number of response keys in the shape.
    pub(crate) fn size(&self) -> usize {
        self.0
            .iter()
            .map(|(_, child)| 1 + child.as_ref().map_or(0, Self::size))
            .sum()
    }

    /// `None` past `MAX_SHAPE_DEPTH` levels or `MAX_SHAPE_NODES` keys (a document that big
    /// was refused by the limits, or cycles through its fragments and fails validation).
    fn of_sets(
        document: &ExecutableDocument,
        sets: &[&SelectionSet],
        depth: usize,
        budget: &mut usize,
    ) -> Option<Self> {
        if depth > MAX_SHAPE_DEPTH {
            return None;
        }
        let mut keys = Vec::new();
        for set in sets {
            response_keys(document, set, &mut keys, 0);
        }
        *budget = budget.checked_sub(keys.len())?;
        let mut shape = Vec::with_capacity(keys.len());
        for (key, subsets) in keys {
            let child = if subsets.is_empty() {
                None
            } else {
                Some(Self::of_sets(document, &subsets, depth + 1, budget)?)
            };
            shape.push((key, child));
        }
        Some(Self(shape))
    }
}

/// Puts every object of `response.data` in the order of the document's fields, as the
/// GraphQL specification orders a response: the executor collects a selection's fields as
/// they finish (a relation that waits on its loader lands after the scalars beside it).
/// Fields are matched by response key; fragments contribute their fields where they are
/// spread.
pub(crate) fn order_fields(response: &mut async_graphql::Response, shape: &Shape) {
    if matches!(response.data, Value::Object(_)) {
        reorder(&mut response.data, shape);
    }
}

fn reorder(value: &mut Value, shape: &Shape) {
    match value {
        Value::List(items) => {
            for item in items {
                reorder(item, shape);
            }
        }
        Value::Object(map) => {
            // The common case: every key of the shape, in its order — walked side by side,
            // without a lookup per key.
            if map.len() == shape.0.len() && map.keys().zip(&shape.0).all(|(k, (s, _))| k == s) {
                for ((_, value), (_, child)) in map.iter_mut().zip(&shape.0) {
                    if let Some(shape) = child {
                        reorder(value, shape);
                    }
                }
                return;
            }
            let mut expected = shape
                .0
                .iter()
                .map(|(k, _)| k)
                .filter(|k| map.contains_key(*k));
            let in_order = map.keys().all(|k| expected.next() == Some(k));
            if !in_order {
                let mut ordered = async_graphql::indexmap::IndexMap::with_capacity(map.len());
                for (key, _) in &shape.0 {
                    if let Some(child) = map.swap_remove(key) {
                        ordered.insert(key.clone(), child);
                    }
                }
                // Anything the document does not name (there is nothing) keeps its place after.
                ordered.extend(map.drain(..));
                *map = ordered;
            }
            for (key, child) in &shape.0 {
                if let (Some(shape), Some(value)) = (child, map.get_mut(key)) {
                    reorder(value, shape);
                }
            }
        }
        _ => {}
    }
}

/// The response keys of `set` in document order, each with the selection sets of every
/// field answering to it (fragments expanded in place, at most 32 deep).
fn response_keys<'d>(
    document: &'d ExecutableDocument,
    set: &'d SelectionSet,
    keys: &mut Vec<(Name, Vec<&'d SelectionSet>)>,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let key = field.node.response_key().node.clone();
                let sub = &field.node.selection_set.node;
                match keys.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, subsets)) => {
                        if !sub.items.is_empty() {
                            subsets.push(sub);
                        }
                    }
                    None => keys.push((
                        key,
                        if sub.items.is_empty() {
                            Vec::new()
                        } else {
                            vec![sub]
                        },
                    )),
                }
            }
            Selection::InlineFragment(fragment) => {
                response_keys(document, &fragment.node.selection_set.node, keys, depth + 1);
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    response_keys(document, &fragment.node.selection_set.node, keys, depth + 1);
                }
            }
        }
    }
}
