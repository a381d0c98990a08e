//! Request limits, checked on the parsed document before a request is authenticated or
//! executed, so a request over a limit never reaches the database: document and variables
//! size, field depth, aliases and cost of the operation that would run.
//!
//! The cost counts the objects a response can hold: every field with a selection set is 1
//! per object it can return, scalars are free. A connection (a field taking `first`/`last`)
//! multiplies the cost of its list fields (`nodes`, `edges`) by the rows it asks for, so
//! nested connections multiply: `posts(first: 100) { nodes { comments(first: 100) { nodes
//! { id } } } }` costs 1 + 100 × (1 + 1 + 100 × 1) = 10201. A connection without
//! `first`/`last` counts `complexity_unpaged_rows` rows. Introspection fields (`__schema`,
//! `__type`) are answered from memory and count neither depth nor cost.
//!
//! Every transport calls [`LimitChecker::check`] on a request before executing it (the
//! HTTP routes do, before authenticating); the schema itself does not check these limits.
//!
//! This module also completes the errors async-graphql reports itself (parse and
//! validation errors carry no `extensions.code`), so every error a client sees has one.

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, Field, OperationDefinition, OperationType,
    Selection, SelectionSet, TypeKind, TypeSystemDefinition,
};
use async_graphql::{ErrorExtensionValues, Name, Value, Variables};

use crate::config::RequestLimits;
use crate::error::{AppError, ErrorCode};

/// Selection sets (fields and fragments) the walk descends at most, whatever the limits:
/// async-graphql itself refuses documents nested deeper than 32.
const MAX_NESTING: usize = 64;

/// Deepest nesting of brackets (`{`, `[`, `(`) a document may have before it is parsed.
/// The parser recurses once per level: a list argument nested 600 deep overflows a 2 MiB
/// thread stack and aborts the process, so deeper documents are refused unparsed. A
/// legitimate operation stays far below: 32 levels of fields at most, plus the filters.
const MAX_BRACKET_NESTING: usize = 64;

/// Field selections an operation may hold once its fragments are expanded. Fragments can
/// spread each other so that a document of a few hundred bytes expands to millions of
/// fields, which validation (overlapping-field checks) would then walk; such a document is
/// refused here, from the memoized measures, in time linear in its size. An ordinary
/// operation holds tens to a few hundred.
const MAX_EXPANDED_FIELDS: u64 = 5_000;

/// A request refused by a limit: a whole-request error, answered before anything runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError {
    /// `QUERY_TOO_COMPLEX` (depth, cost, aliases) or `BAD_USER_INPUT` (sizes).
    pub code: ErrorCode,
    /// What is over which limit.
    pub message: String,
}

impl LimitError {
    fn too_complex(message: String) -> Self {
        Self {
            code: ErrorCode::QueryTooComplex,
            message,
        }
    }

    fn bad_input(message: String) -> Self {
        Self {
            code: ErrorCode::BadUserInput,
            message,
        }
    }
}

/// What costing (and null propagation) needs to know about one field of an object type.
#[derive(Debug, Clone)]
pub(crate) struct FieldShape {
    /// The named type the field returns, lists and non-null stripped.
    pub(crate) type_name: Name,
    /// Whether it returns a list.
    list: bool,
    /// Whether it takes `first`/`last` (a connection).
    paginated: bool,
    /// Whether the field's value may be null, then (for a list) its items, and so on
    /// inward: `[Post!]!` is `[false, false]`, `Post` is `[true]`.
    pub(crate) nullable: Vec<bool>,
}

/// The object types of the schema and their fields, read from its SDL.
#[derive(Debug, Default)]
pub(crate) struct TypeIndex {
    fields: HashMap<Name, HashMap<Name, FieldShape>>,
    query: Option<Name>,
    mutation: Option<Name>,
    subscription: Option<Name>,
}

impl TypeIndex {
    fn from_sdl(sdl: &str) -> Result<Self, String> {
        let document = async_graphql::parser::parse_schema(sdl).map_err(|e| e.to_string())?;
        let mut index = Self::default();
        let mut roots = None;
        for definition in document.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    let schema = schema.node;
                    roots = Some((
                        schema.query.map(|n| n.node),
                        schema.mutation.map(|n| n.node),
                        schema.subscription.map(|n| n.node),
                    ));
                }
                TypeSystemDefinition::Type(ty) => {
                    let ty = ty.node;
                    let fields = match ty.kind {
                        TypeKind::Object(object) => object.fields,
                        TypeKind::Interface(interface) => interface.fields,
                        _ => continue,
                    };
                    let shapes = fields
                        .into_iter()
                        .map(|field| {
                            let field = field.node;
                            let paginated = field
                                .arguments
                                .iter()
                                .any(|a| matches!(a.node.name.node.as_str(), "first" | "last"));
                            let base = &field.ty.node.base;
                            let shape = FieldShape {
                                type_name: named_type(base).clone(),
                                list: matches!(base, BaseType::List(_)),
                                paginated,
                                nullable: nullability(&field.ty.node),
                            };
                            (field.name.node, shape)
                        })
                        .collect();
                    index.fields.insert(ty.name.node, shapes);
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        let (query, mutation, subscription) = roots.unwrap_or_else(|| {
            let named = |name: &str| {
                let name = Name::new(name);
                index.fields.contains_key(&name).then_some(name)
            };
            (named("Query"), named("Mutation"), named("Subscription"))
        });
        index.query = query;
        index.mutation = mutation;
        index.subscription = subscription;
        Ok(index)
    }

    pub(crate) fn root(&self, ty: OperationType) -> Option<&Name> {
        match ty {
            OperationType::Query => self.query.as_ref(),
            OperationType::Mutation => self.mutation.as_ref(),
            OperationType::Subscription => self.subscription.as_ref(),
        }
    }

    pub(crate) fn shape(&self, parent: Option<&Name>, field: &str) -> Option<&FieldShape> {
        self.fields.get(parent?)?.get(field)
    }
}

/// Whether a value of `ty` may be null, then its items, inward.
fn nullability(ty: &async_graphql::parser::types::Type) -> Vec<bool> {
    let mut levels = vec![ty.nullable];
    if let BaseType::List(inner) = &ty.base {
        levels.extend(nullability(inner));
    }
    levels
}

/// The named type inside any lists.
fn named_type(ty: &BaseType) -> &Name {
    match ty {
        BaseType::Named(name) => name,
        BaseType::List(inner) => named_type(&inner.base),
    }
}

/// Checks requests against the configured limits, knowing the schema's types so that
/// connections are costed by the rows they ask for.
#[derive(Debug)]
pub struct LimitChecker {
    limits: RequestLimits,
    /// The schema's largest `first`/`last`: a connection asking for more is refused by its
    /// resolver (BAD_USER_INPUT, before any SQL), so it is costed at this many rows.
    max_page_size: u64,
    types: TypeIndex,
    /// The response shape of each document and operation seen (see [`Self::shape`]).
    shapes: std::sync::Mutex<Shapes>,
    /// Each document seen, parsed (see [`Self::parse`]).
    documents: std::sync::Mutex<HashMap<String, std::sync::Arc<ExecutableDocument>>>,
}

/// Response shapes by document and operation name.
type Shapes = HashMap<(String, Option<String>), std::sync::Arc<super::nulls::Shape>>;

/// Documents whose response shape is remembered: at most this many, of at most this size.
const SHAPES: usize = 1024;
const SHAPE_DOCUMENT_BYTES: usize = 8 * 1024;
/// Most response keys all remembered shapes hold together.
const SHAPE_NODES: usize = 100_000;

impl LimitChecker {
    /// The response shape of operation `operation_name` of `query` (parsed once, then
    /// remembered for documents of up to 8 KiB; the 1,025th document forgets the others).
    pub(crate) fn shape(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Option<std::sync::Arc<super::nulls::Shape>> {
        let key = (query.to_owned(), operation_name.map(str::to_owned));
        let remembered = query.len() <= SHAPE_DOCUMENT_BYTES;
        if remembered
            && let Some(shape) = self
                .shapes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(&key)
        {
            return Some(shape.clone());
        }
        let document = async_graphql::parser::parse_query(query).ok()?;
        let shape = std::sync::Arc::new(super::nulls::Shape::of(
            &document,
            operation_name,
            &self.types,
        )?);
        if remembered {
            let mut shapes = self
                .shapes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let (held, nodes) = shapes
                .values()
                .fold((0, 0), |(n, k), s| (n + 1, k + s.size()));
            if held >= SHAPES || nodes + shape.size() > SHAPE_NODES {
                shapes.clear();
            }
            shapes.insert(key, shape.clone());
        }
        Some(shape)
    }

    /// `query` parsed: a document of up to 8 KiB that parsed before is taken from the
    /// 1,024 remembered (the 1,025th forgets the others), as the same documents come back
    /// request after request and parsing one took a tenth of a nested read's instructions.
    fn parse(&self, query: &str) -> Result<ExecutableDocument, async_graphql::parser::Error> {
        let remembered = query.len() <= SHAPE_DOCUMENT_BYTES;
        let documents = || {
            self.documents
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if remembered && let Some(document) = documents().get(query) {
            return Ok(ExecutableDocument::clone(document));
        }
        let document = async_graphql::parser::parse_query(query)?;
        if remembered {
            let mut held = documents();
            if held.len() >= SHAPES {
                held.clear();
            }
            held.insert(query.to_owned(), std::sync::Arc::new(document.clone()));
        }
        Ok(document)
    }

    /// The schema's object types, as read from its SDL.
    pub(crate) fn types(&self) -> &TypeIndex {
        &self.types
    }

    /// A checker for `schema`. Should its SDL not parse (it always does: the schema wrote
    /// it), every field is costed as a plain object field and the failure is logged.
    /// `max_page_size` is the schema's [`super::SchemaOptions::max_page_size`].
    pub fn new(schema: &super::GatewaySchema, limits: RequestLimits, max_page_size: u64) -> Self {
        Self::from_sdl(&schema.sdl(), limits, max_page_size)
    }

    fn from_sdl(sdl: &str, limits: RequestLimits, max_page_size: u64) -> Self {
        let types = TypeIndex::from_sdl(sdl).unwrap_or_else(|error| {
            tracing::error!(%error, "the schema's SDL does not parse; connections are costed as plain fields");
            TypeIndex::default()
        });
        Self {
            limits,
            max_page_size,
            types,
            shapes: std::sync::Mutex::default(),
            documents: std::sync::Mutex::default(),
        }
    }

    /// The limits checked.
    pub fn limits(&self) -> &RequestLimits {
        &self.limits
    }

    /// Checks one request: document size, variables size, then (once parsed, and kept
    /// parsed in the request for execution) depth, aliases and cost of the operation that
    /// would run — of every operation when none is named. A document nested too deep for
    /// the parser is refused as too deep; one that does not parse for another reason
    /// passes: executing it reports the syntax error, before anything runs.
    pub fn check(&self, request: &mut async_graphql::Request) -> Result<(), LimitError> {
        let limits = &self.limits;
        if request.query.len() > limits.max_document_bytes {
            return Err(LimitError::bad_input(format!(
                "the GraphQL document is {} bytes; at most {} are accepted",
                request.query.len(),
                limits.max_document_bytes
            )));
        }
        if !request.variables.is_empty() {
            let size = serde_json::to_vec(&request.variables).map_or(usize::MAX, |v| v.len());
            if size > limits.max_variables_bytes {
                return Err(LimitError::bad_input(format!(
                    "the variables are {size} bytes of JSON; at most {} are accepted",
                    limits.max_variables_bytes
                )));
            }
        }
        if bracket_nesting_exceeds(&request.query, MAX_BRACKET_NESTING) {
            return Err(too_deep(limits.max_depth));
        }
        let document = match self.parse(&request.query) {
            Ok(document) => document,
            Err(async_graphql::parser::Error::RecursionLimitExceeded) => {
                return Err(too_deep(limits.max_depth));
            }
            Err(_) => return Ok(()),
        };
        self.check_document(
            &document,
            request.operation_name.as_deref(),
            &request.variables,
        )?;
        request.set_parsed_query(document);
        Ok(())
    }

    /// Checks depth, aliases and cost of the operation named `operation_name` (of every
    /// operation when it is `None` or names none).
    pub fn check_document(
        &self,
        document: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> Result<(), LimitError> {
        for operation in selected_operations(document, operation_name) {
            let measure = Walk {
                checker: self,
                document,
                variables,
                operation,
                memo: HashMap::new(),
                expanding: HashSet::new(),
                introspecting: false,
            }
            .operation()?;
            let limits = &self.limits;
            if measure.depth > limits.max_depth {
                return Err(too_deep(limits.max_depth));
            }
            if measure.fields > MAX_EXPANDED_FIELDS {
                return Err(too_many_fields());
            }
            if measure.aliases > limits.max_aliases {
                return Err(LimitError::too_complex(format!(
                    "the operation uses {} aliases; at most {} are allowed",
                    measure.aliases, limits.max_aliases
                )));
            }
            if measure.cost > limits.max_complexity {
                return Err(LimitError::too_complex(format!(
                    "the operation costs {}; at most {} is allowed (ask connections for fewer rows with `first`/`last`)",
                    measure.cost, limits.max_complexity
                )));
            }
        }
        Ok(())
    }
}

/// Whether `{`, `[` and `(` nest more than `max` deep in `document`, outside strings and
/// comments. A lexical scan, linear and without recursion, safe on any input.
fn bracket_nesting_exceeds(document: &str, max: usize) -> bool {
    let bytes = document.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // `\"""` is an escaped delimiter inside a block string.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

fn too_many_fields() -> LimitError {
    LimitError::too_complex(format!(
        "the operation holds more than {MAX_EXPANDED_FIELDS} fields once its fragments are expanded"
    ))
}

fn too_deep(max_depth: usize) -> LimitError {
    LimitError::too_complex(format!(
        "the operation nests fields more than {max_depth} deep"
    ))
}

/// The operations a request would run: the named one, or all of them.
fn selected_operations<'a>(
    document: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Vec<&'a OperationDefinition> {
    if let (Some(name), DocumentOperations::Multiple(operations)) =
        (operation_name, &document.operations)
        && let Some(operation) = operations.get(name)
    {
        return vec![&operation.node];
    }
    document.operations.iter().map(|(_, op)| &op.node).collect()
}

/// The type of the operation a request would run, when the document says which one it is
/// (one operation, or the one named).
pub fn operation_type(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<OperationType> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation.node.ty),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.get(name).map(|op| op.node.ty)
        }
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next().map(|op| op.node.ty)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// Depth, cost and aliases of a selection set.
#[derive(Debug, Clone, Copy, Default)]
struct Measure {
    depth: usize,
    cost: u64,
    aliases: u64,
    /// Field selections, fragments expanded.
    fields: u64,
}

impl Measure {
    fn merge(&mut self, other: Self) {
        self.depth = self.depth.max(other.depth);
        self.cost = self.cost.saturating_add(other.cost);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.fields = self.fields.saturating_add(other.fields);
    }
}

/// One walk over an operation, fragments expanded. Fragment measures are remembered per
/// (fragment, rows), so a fragment spread many times is measured once and the walk stays
/// linear in the document's size.
struct Walk<'a> {
    checker: &'a LimitChecker,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    operation: &'a OperationDefinition,
    memo: HashMap<(&'a str, u64, bool), Measure>,
    expanding: HashSet<&'a str>,
    /// Inside an introspection field: fields and aliases count, cost and depth do not
    /// (GraphiQL's introspection nests deeper than any sensible depth limit).
    introspecting: bool,
}

impl<'a> Walk<'a> {
    fn operation(&mut self) -> Result<Measure, LimitError> {
        let root = self.checker.types.root(self.operation.ty).cloned();
        let selection_set = &self.operation.selection_set.node;
        self.selection_set(selection_set, root.as_ref(), 1, 0, 0)
    }

    /// `rows` multiplies the list fields of this set (the rows its connection asks for);
    /// `depth` is the field depth of the set's parent, `nesting` counts selection sets and
    /// fragments entered, to bound the walk on any document.
    fn selection_set(
        &mut self,
        set: &'a SelectionSet,
        parent: Option<&Name>,
        rows: u64,
        depth: usize,
        nesting: usize,
    ) -> Result<Measure, LimitError> {
        let max_depth = self.checker.limits.max_depth;
        if (depth >= max_depth && !self.introspecting) || nesting > MAX_NESTING {
            return Err(too_deep(max_depth));
        }
        let mut measure = Measure::default();
        for selection in &set.items {
            if measure.fields > MAX_EXPANDED_FIELDS {
                return Err(too_many_fields());
            }
            match &selection.node {
                Selection::Field(field) => {
                    measure.merge(self.field(&field.node, parent, rows, depth, nesting)?);
                }
                Selection::InlineFragment(fragment) => {
                    let fragment = &fragment.node;
                    let on = fragment
                        .type_condition
                        .as_ref()
                        .map(|c| c.node.on.node.clone())
                        .or_else(|| parent.cloned());
                    measure.merge(self.selection_set(
                        &fragment.selection_set.node,
                        on.as_ref(),
                        rows,
                        depth,
                        nesting + 1,
                    )?);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    measure.merge(self.fragment(name, rows, depth, nesting)?);
                }
            }
        }
        Ok(measure)
    }

    fn fragment(
        &mut self,
        name: &'a str,
        rows: u64,
        depth: usize,
        nesting: usize,
    ) -> Result<Measure, LimitError> {
        let key = (name, rows, self.introspecting);
        if let Some(measure) = self.memo.get(&key) {
            return Ok(*measure);
        }
        // An unknown or cyclic fragment is refused by validation, before anything runs.
        let Some(fragment) = self.document.fragments.get(name) else {
            return Ok(Measure::default());
        };
        if !self.expanding.insert(name) {
            return Ok(Measure::default());
        }
        let fragment = &fragment.node;
        let on = fragment.type_condition.node.on.node.clone();
        // Measured from depth 0 so the result can be reused at any depth; the depth the
        // spread sits at is added by the caller's fields.
        let measured = self.selection_set(
            &fragment.selection_set.node,
            Some(&on),
            rows,
            0,
            nesting + 1,
        );
        self.expanding.remove(name);
        let measure = measured?;
        if depth.saturating_add(measure.depth) > self.checker.limits.max_depth
            && !self.introspecting
        {
            return Err(too_deep(self.checker.limits.max_depth));
        }
        self.memo.insert(key, measure);
        Ok(measure)
    }

    fn field(
        &mut self,
        field: &'a Field,
        parent: Option<&Name>,
        rows: u64,
        depth: usize,
        nesting: usize,
    ) -> Result<Measure, LimitError> {
        let aliases = u64::from(field.alias.is_some());
        let name = field.name.node.as_str();
        let items = &field.selection_set.node;
        if items.items.is_empty() {
            // Scalars are free; they still count as one level.
            return Ok(Measure {
                depth: 1,
                cost: 0,
                aliases,
                fields: 1,
            });
        }
        if self.introspecting || name.starts_with("__") {
            // Introspection costs nothing and counts as one level, but its fields and
            // aliases are counted like any others: a fragment bomb inside `__schema` is
            // refused as one anywhere else.
            let outer = std::mem::replace(&mut self.introspecting, true);
            let children = self.selection_set(items, None, 1, depth + 1, nesting + 1);
            self.introspecting = outer;
            let children = children?;
            return Ok(Measure {
                depth: 1,
                cost: 0,
                aliases: aliases.saturating_add(children.aliases),
                fields: children.fields.saturating_add(1),
            });
        }
        let shape = self.checker.types.shape(parent, name);
        let child_rows = match shape {
            Some(shape) if shape.paginated => self.page_rows(field),
            _ => 1,
        };
        let child_type = shape.map(|s| s.type_name.clone());
        let children = self.selection_set(
            items,
            child_type.as_ref(),
            child_rows,
            depth + 1,
            nesting + 1,
        )?;
        let per_item = children.cost.saturating_add(1);
        let cost = if shape.is_some_and(|s| s.list) {
            // `nodes(nodeIds:)` answers one item per id asked for.
            per_item.saturating_mul(self.listed_ids(field).unwrap_or(rows))
        } else {
            per_item
        };
        Ok(Measure {
            depth: children.depth + 1,
            cost,
            aliases: aliases.saturating_add(children.aliases),
            fields: children.fields.saturating_add(1),
        })
    }

    /// The rows a connection asks for: its `first` or `last` (the larger when both are
    /// given, which the resolver refuses anyway) up to the page cap, else the unpaged
    /// default. Negative numbers count as 0 (the resolver refuses them too).
    fn page_rows(&self, field: &Field) -> u64 {
        let rows = ["first", "last"]
            .into_iter()
            .filter_map(|name| field.get_argument(name))
            .filter_map(|value| {
                let value = value
                    .node
                    .clone()
                    .into_const_with(|variable| self.variable(&variable).ok_or(()))
                    .ok()?;
                let Value::Number(number) = value else {
                    return None;
                };
                number
                    .as_i64()
                    .map(|n| u64::try_from(n).unwrap_or(0))
                    .or_else(|| number.as_u64())
            })
            .max();
        rows.map_or(self.checker.limits.complexity_unpaged_rows, |rows| {
            rows.min(self.checker.max_page_size)
        })
    }

    /// How many ids `nodes(nodeIds:)` asks for, up to the page cap (more is refused by its
    /// resolver); `None` for other fields.
    fn listed_ids(&self, field: &Field) -> Option<u64> {
        let value = field
            .get_argument(super::relay::NODE_IDS)?
            .node
            .clone()
            .into_const_with(|variable| self.variable(&variable).ok_or(()))
            .ok()?;
        let count = match value {
            Value::List(items) => u64::try_from(items.len()).unwrap_or(u64::MAX),
            _ => 1,
        };
        Some(count.min(self.checker.max_page_size))
    }

    /// A variable's value: as given, else its default in the operation.
    fn variable(&self, name: &Name) -> Option<Value> {
        if let Some(value) = self.variables.get(name) {
            return Some(value.clone());
        }
        self.operation
            .variable_definitions
            .iter()
            .find(|d| d.node.name.node == *name)
            .and_then(|d| d.node.default_value())
            .cloned()
    }
}

/// Gives every error of a GraphQL response an `extensions.code`. Errors raised by the
/// gateway's resolvers already carry one. Of the others, those async-graphql raises while
/// parsing and validating (they have no response path) become `QUERY_TOO_COMPLEX` for its
/// own nesting limits and `BAD_USER_INPUT` otherwise; one raised while executing a field
/// without a code is a gateway bug and becomes `INTERNAL`, its text kept in the log only.
pub fn complete_error_codes(
    response: &mut async_graphql::Response,
    introspection: bool,
    request_id: &str,
) {
    for error in &mut response.errors {
        if error
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some())
        {
            continue;
        }
        if !error.path.is_empty() {
            let internal = AppError::Internal(std::mem::take(&mut error.message));
            let converted = internal.to_graphql(request_id);
            error.message = converted.message;
            error.extensions = converted.extensions;
            continue;
        }
        let code = if is_nesting_error(&error.message) {
            ErrorCode::QueryTooComplex
        } else {
            ErrorCode::BadUserInput
        };
        if let Some(sentence) = syntax_error_sentence(&error.message, &error.locations) {
            error.message = sentence;
        }
        if !introspection
            && (error.message.starts_with("Unknown field \"__schema\"")
                || error.message.starts_with("Unknown field \"__type\""))
        {
            error.message = "introspection is disabled on this server".to_owned();
        }
        error
            .extensions
            .get_or_insert_with(ErrorExtensionValues::default)
            .set("code", code.as_str());
    }
}

/// The parser's syntax error (drawn as a source excerpt with an arrow) as one sentence:
/// "syntax error at line 1, column 11: expected selection".
fn syntax_error_sentence(message: &str, locations: &[async_graphql::Pos]) -> Option<String> {
    let drawing = message.trim_start();
    if !drawing.starts_with("-->") {
        return None;
    }
    let expected = drawing
        .lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("= "))
        .unwrap_or("a valid GraphQL document");
    Some(match locations.first() {
        Some(at) => format!(
            "syntax error at line {}, column {}: {expected}",
            at.line, at.column
        ),
        None => format!("syntax error: {expected}"),
    })
}

/// async-graphql's own nesting errors: its recursion limit while parsing and checking the
/// document, and its depth and complexity limits.
fn is_nesting_error(message: &str) -> bool {
    message.contains("recursion limit exceeded")
        || message.starts_with("The recursion depth of the query cannot be greater than")
        || message == "Query is nested too deep."
        || message == "Query is too complex."
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference application's schema (the repository's `schema.graphql`), a realistic
    /// fixture: connections, relations, filters.
    const SDL: &str = include_str!("../../../../schema.graphql");

    fn checker(adjust: impl FnOnce(&mut RequestLimits)) -> LimitChecker {
        let mut limits = RequestLimits {
            max_complexity: u64::MAX,
            max_aliases: u64::MAX,
            max_depth: 32,
            ..RequestLimits::default()
        };
        adjust(&mut limits);
        LimitChecker::from_sdl(SDL, limits, 100)
    }

    #[test]
    fn a_fragment_cycle_has_no_response_shape_and_does_not_overflow_the_stack() {
        let checker = checker(|_| {});
        let cyclic = "{ ...F } fragment F on Query { posts { nodes { ...G } } } \
                      fragment G on Post { author { posts { nodes { ...G } } } }";
        assert!(checker.shape(cyclic, None).is_none());
        let plain = "{ posts { nodes { id } } }";
        assert!(checker.shape(plain, None).is_some_and(|s| s.size() == 3));
    }

    fn measure(checker: &LimitChecker, query: &str, variables: serde_json::Value) -> Measure {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        let variables = Variables::from_json(variables);
        let operation = selected_operations(&document, None)[0];
        Walk {
            checker,
            document: &document,
            variables: &variables,
            operation,
            memo: HashMap::new(),
            expanding: HashSet::new(),
            introspecting: false,
        }
        .operation()
        .expect("within the walk's bounds")
    }

    #[test]
    fn connections_cost_the_rows_they_ask_for() {
        let checker = checker(|_| {});
        let nested = "{ posts(first: 100) { nodes { comments(first: 100) { nodes { id } } } } }";
        assert_eq!(measure(&checker, nested, serde_json::json!({})).cost, 10201);
        let small = "{ posts(first: 10) { totalCount pageInfo { hasNextPage } nodes { id title author { displayName } } } }";
        // posts 1 + pageInfo 1 + 10 × (node 1 + author 1).
        assert_eq!(measure(&checker, small, serde_json::json!({})).cost, 22);
        let through_variable = "query($n: Int, $m: Int = 7) { posts(first: $n) { edges { node { id } } } comments(last: $m) { nodes { id } } }";
        let m = measure(&checker, through_variable, serde_json::json!({ "n": 4 }));
        // posts 1 + 4 × (edge 1 + node 1); comments 1 + 7 × 1.
        assert_eq!(m.cost, 9 + 8);
        let unpaged = "{ posts { nodes { id } } }";
        assert_eq!(measure(&checker, unpaged, serde_json::json!({})).cost, 11);
        let over_cap = "{ posts(last: 1000000) { nodes { id } } }";
        assert_eq!(measure(&checker, over_cap, serde_json::json!({})).cost, 101);
    }

    #[test]
    fn the_documented_examples_cost_what_docs_config_says() {
        let checker = checker(|_| {});
        for (query, cost) in [
            (
                "{ posts(first: 20) { nodes { title author { displayName } } } }",
                41,
            ),
            (
                "{ posts(first: 20) { totalCount nodes { comments(first: 3) { nodes { body } } } } }",
                101,
            ),
        ] {
            assert_eq!(
                measure(&checker, query, serde_json::json!({})).cost,
                cost,
                "{query}"
            );
        }
    }

    #[test]
    fn bracket_nesting_is_counted_outside_strings_and_comments() {
        let deep = |n: usize| format!("{{ a(x: {}1{}) }}", "[".repeat(n), "]".repeat(n));
        assert!(!bracket_nesting_exceeds(&deep(62), 64));
        assert!(bracket_nesting_exceeds(&deep(63), 64));
        assert!(bracket_nesting_exceeds(&deep(100_000), 64));
        let quoted = format!(
            "{{ a(x: \"{0}\\\"{0}\", y: \"\"\"{0}\\\"\"\"{0}\"\"\") # {0}\n }}",
            "{[(".repeat(100)
        );
        assert!(!bracket_nesting_exceeds(&quoted, 3), "{quoted}");
        assert!(bracket_nesting_exceeds(&quoted, 1));
    }

    #[test]
    fn errors_without_a_code_get_one() {
        let mut response = async_graphql::Response::from_errors(vec![
            async_graphql::ServerError::new("Unknown field \"nope\" on type \"Post\".", None),
            async_graphql::ServerError::new("Query is nested too deep.", None),
            async_graphql::ServerError::new("Unknown field \"__schema\" on type \"Query\".", None),
            async_graphql::ServerError {
                path: vec![async_graphql::PathSegment::Field("articles".into())],
                ..async_graphql::ServerError::new("relation \"posts\" does not exist", None)
            },
            AppError::Forbidden("no".into())
                .to_graphql("r")
                .into_server_error(async_graphql::Pos::default()),
        ]);
        complete_error_codes(&mut response, false, "req-9");
        let body = serde_json::to_value(&response).expect("serializes");
        let codes: Vec<&str> = body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["extensions"]["code"].as_str().expect("a code"))
            .collect();
        assert_eq!(
            codes,
            [
                "BAD_USER_INPUT",
                "QUERY_TOO_COMPLEX",
                "BAD_USER_INPUT",
                "INTERNAL",
                "FORBIDDEN"
            ]
        );
        assert_eq!(
            body["errors"][2]["message"],
            "introspection is disabled on this server"
        );
        assert!(!body.to_string().contains("does not exist"), "{body}");
        assert_eq!(body["errors"][3]["extensions"]["requestId"], "req-9");
    }

    #[test]
    fn fragments_count_where_they_are_spread() {
        let checker = checker(|_| {});
        let query = "query { a: posts(first: 5) { ...Conn } b: posts(first: 5) { ...Conn } }
            fragment Conn on PostConnection { nodes { ...P } }
            fragment P on Post { x: id author { y: displayName } }";
        let m = measure(&checker, query, serde_json::json!({}));
        assert_eq!(m.aliases, 2 + 2 * 2, "counted as written, not per row");
        assert_eq!(m.depth, 4);
        assert_eq!(m.cost, 2 * (1 + 5 * 2));
    }

    #[test]
    fn limits_refuse_just_above() {
        let deep = "{ posts { nodes { author { posts { nodes { id } } } } } }";
        let m = measure(&checker(|_| {}), deep, serde_json::json!({}));
        assert_eq!(m.depth, 6);
        let variables = Variables::default();
        let document = async_graphql::parser::parse_query(deep).expect("parses");
        let at = checker(|l| l.max_depth = 6);
        assert!(at.check_document(&document, None, &variables).is_ok());
        let below = checker(|l| l.max_depth = 5);
        let err = below
            .check_document(&document, None, &variables)
            .expect_err("too deep");
        assert_eq!(err.code, ErrorCode::QueryTooComplex);
    }

    /// `operation` followed by fragments F0…F40 on `on`, each spreading the next twice, F40
    /// selecting `leaf`: 2^40 leaves once expanded.
    fn doubling_fragments(operation: &str, on: &str, leaf: &str) -> String {
        let mut query = String::from(operation);
        for i in 0..40 {
            let next = i + 1;
            query.push_str(&format!(
                " fragment F{i} on {on} {{ ...F{next} ...F{next} }}"
            ));
        }
        query.push_str(&format!(" fragment F40 on {on} {{ {leaf} }}"));
        query
    }

    #[test]
    fn introspection_is_free_and_exponential_fragments_are_refused_unwalked() {
        let checker = checker(|l| l.max_depth = 3);
        let introspection =
            "{ __schema { types { fields { type { ofType { ofType { name } } } } } } }";
        let m = measure(&checker, introspection, serde_json::json!({}));
        assert_eq!((m.depth, m.cost), (1, 0));
        let query = doubling_fragments("{ ...F0 }", "Query", "me { id }");
        // 2^40 `me` fields once expanded: refused from the memoized measures, without
        // walking them.
        let document = async_graphql::parser::parse_query(&query).expect("parses");
        let refused = checker
            .check_document(&document, None, &Variables::default())
            .expect_err("too many fields");
        assert_eq!(refused.code, ErrorCode::QueryTooComplex);
        assert!(
            refused.message.contains("fragments are expanded"),
            "{refused:?}"
        );
    }

    #[test]
    fn fragment_bombs_inside_introspection_are_refused_too() {
        let shallow = checker(|l| l.max_depth = 3);
        let query = doubling_fragments("{ __schema { ...F0 } }", "__Schema", "types { name }");
        let document = async_graphql::parser::parse_query(&query).expect("parses");
        let refused = shallow
            .check_document(&document, None, &Variables::default())
            .expect_err("too many fields");
        assert_eq!(refused.code, ErrorCode::QueryTooComplex);
        // Aliases inside introspection count as well.
        let aliased = (0..40)
            .map(|i| format!("a{i}: __typename"))
            .collect::<Vec<_>>()
            .join(" ");
        let few_aliases = checker(|l| l.max_aliases = 10);
        let document =
            async_graphql::parser::parse_query(format!("{{ __schema {{ {aliased} }} }}"))
                .expect("parses");
        let refused = few_aliases
            .check_document(&document, None, &Variables::default())
            .expect_err("too many aliases");
        assert_eq!(refused.code, ErrorCode::QueryTooComplex);
    }
}
