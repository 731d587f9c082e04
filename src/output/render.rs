//! Every rendering of the cache for stdout, in one place: listings in the [`OutputFormat`] of
//! `-o`, `--diff` lines and `--events` lines. Pure functions from keys and objects to bytes, so
//! each format is tested byte for byte; when to render, and writing the bytes, is
//! [`crate::output::printer`]'s job.
//!
//! The default listing is a contract with scripts: the keys, sorted bytewise, one per line,
//! followed by exactly one empty line; nothing else is ever written to the output.
//!
//! Line formats (keys, `--diff`, `--events`, `-o wide`) write keys and names quoted by the rule
//! in [`crate::quote`], so a key with a newline stays on one line; JSON writes them exactly (it
//! has its own escapes).

mod table;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use clap::ValueEnum;
use serde::Serialize;
use serde_json::Value;

use crate::cache::state::digest;
use crate::cache::store::{Change, ChangeType};
use crate::output::kinds::{ObjectType, Stores};
use crate::output::template::{
    Headers, Reads, Template, TemplateError, WatchPrinter, check_output, parse_for, write_go_json,
};
use crate::quote::{count_escapable, quote_into};
use crate::wire::object::{ObjectKey, RawObject};

pub use table::wide_listing;

/// The shape of a listing (`-o`). Each value's doc comment is its help in `kreflect --help`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// namespace/name keys, one per line, then an empty line; control characters and `\` in
    /// keys are escaped (\n, \t, \r, \\, \xHH), as in --events, --diff and wide.
    #[default]
    Keys,
    /// One JSON document per listing: time, resourceVersion, count, keys.
    Json,
    /// A table for people: the server's columns and cells, as kubectl get -o wide shows them
    /// (kreflect's NAMESPACE, NAME, STATUS, NODE, AGE when the server makes no Table).
    Wide,
}

/// What a listing prints (`-o`): one of kreflect's formats, or one of kubectl's templates.
#[derive(Clone, Debug)]
pub enum ListingFormat {
    /// `keys`, `json` or `wide`.
    Own(OutputFormat),
    /// `jsonpath=...`, `custom-columns=...` or `name`.
    Template(TemplateListing),
}

impl ListingFormat {
    /// Whether this is the default, keys.
    pub fn is_keys(&self) -> bool {
        matches!(self, ListingFormat::Own(OutputFormat::Keys))
    }

    /// Whether printing this needs the objects' content (a template), not only their keys.
    pub fn reads_objects(&self) -> bool {
        matches!(self, ListingFormat::Template(_))
    }
}

/// A kubectl template and its `--no-headers`.
#[derive(Clone, Debug)]
pub struct TemplateListing {
    /// The parsed template.
    pub template: Arc<Template>,
    /// Whether custom columns start with their header line.
    pub headers: Headers,
}

/// Renders the listings of the stores one after the other, remembering the previous keys for
/// `--diff`.
pub struct Lister {
    format: ListingFormat,
    /// With `--diff`, the keys of the previous listing (none before the first).
    previous: Option<Vec<ObjectKey>>,
    /// With `--diff --state`, the printed keys and resourceVersions of the previous listing
    /// (the saved state's before the first): a key whose resourceVersion changed is `~key`.
    previous_versions: Option<Vec<(ObjectKey, Box<str>)>>,
    /// With `--state`, what the last listing was rendered from, for the state to save.
    rendered_from: Option<Snapshot>,
    /// Whether listings record what they were rendered from (`--state`).
    remembering: bool,
}

/// Each collection's objects, sorted by key, and its resourceVersion, each taken together
/// (one store at a time): what a listing was rendered from, and what `--state` saves.
pub struct Snapshot(pub Vec<(Vec<Arc<RawObject>>, String)>);

impl Snapshot {
    /// The stores as they are now, in their order.
    pub fn of(stores: &Stores) -> Snapshot {
        Snapshot(
            stores
                .kinds()
                .iter()
                .map(|kind| kind.store.sorted_objects_and_version())
                .collect(),
        )
    }

    /// Every object's printed key (prefixed by kind as in `stores`, the stores this was taken
    /// of) and resourceVersion, sorted by printed key.
    pub fn printed_versions(&self, stores: &Stores) -> Vec<(ObjectKey, Box<str>)> {
        let mut printed: Vec<(ObjectKey, Box<str>)> = Vec::new();
        for (kind, (objects, _)) in stores.kinds().iter().zip(&self.0) {
            printed.extend(objects.iter().map(|object| {
                let key = crate::output::kinds::prefixed(kind.prefix.as_deref(), object.key());
                (key, object.resource_version().into())
            }));
        }
        printed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        printed
    }
}

impl Lister {
    /// Listings in `format`; with `diff`, `+key` / `-key` lines for what changed since the
    /// previous listing instead.
    pub fn new(format: ListingFormat, diff: bool) -> Self {
        Lister {
            format,
            previous: diff.then(Vec::new),
            previous_versions: None,
            rendered_from: None,
            remembering: false,
        }
    }

    /// With `--state`: each listing records what it was rendered from
    /// ([`Lister::take_rendered_from`]); with `--diff`, it diffs by resourceVersion too (`~key`
    /// for a modified key), the first listing against `remembered`, the printed keys and
    /// resourceVersions the previous run saved, sorted.
    pub fn remembering(mut self, remembered: Vec<(ObjectKey, Box<str>)>) -> Self {
        self.remembering = true;
        if self.previous.take().is_some() {
            self.previous_versions = Some(remembered);
        }
        self
    }

    /// What the last listing was rendered from, with [`Lister::remembering`].
    pub fn take_rendered_from(&mut self) -> Option<Snapshot> {
        self.rendered_from.take()
    }

    /// The next listing: the stores as they are now (keys prefixed by kind when there are
    /// several, see [`crate::output::kinds`]). Only a template can fail (a key missing with
    /// `--allow-missing-template-keys=false`).
    pub fn render(&mut self, stores: &Stores) -> Result<Vec<u8>, TemplateError> {
        if let Some(previous) = &mut self.previous_versions {
            let snapshot = Snapshot::of(stores);
            let current = snapshot.printed_versions(stores);
            let lines = diff_versions(previous, &current);
            *previous = current;
            self.rendered_from = Some(snapshot);
            return Ok(lines);
        }
        if self.remembering {
            // Taken before rendering: a listing shows at least this much.
            self.rendered_from = Some(Snapshot::of(stores));
        }
        if let Some(previous) = &mut self.previous {
            let current = stores.sorted_keys();
            let lines = diff(previous, &current);
            *previous = current;
            return Ok(lines);
        }
        let format = match &self.format {
            ListingFormat::Own(format) => *format,
            ListingFormat::Template(listing) => return template_listing(listing, stores),
        };
        Ok(match (format, stores.kinds()) {
            (OutputFormat::Keys, _) => keys(&stores.sorted_keys()),
            (OutputFormat::Json, [single]) if single.collection.is_empty() => {
                let (sorted, resource_version) = single.store.sorted_keys_and_version();
                json_listing(SystemTime::now(), &resource_version, &sorted)
            }
            (OutputFormat::Json, collections) => {
                let versions = collections
                    .iter()
                    .map(|collection| {
                        let name = collection.collection.to_string();
                        (name, collection.store.resource_version())
                    })
                    .collect();
                json_listing_of_kinds(SystemTime::now(), &versions, &stores.sorted_keys())
            }
            (OutputFormat::Wide, _) => {
                // One table per kind, each ending with an empty line: tables are separated by
                // one empty line, as kubectl separates them. With several kinds, as with
                // kubectl, a kind without objects has no table; with none at all, the listing
                // is its empty line alone. A single kind without objects is its header (the
                // columns of the Table it listed last, when there is one), then the empty line.
                // A kind watched in several namespaces is one table: its namespaces' objects,
                // in key order.
                let now = SystemTime::now();
                let mut tables = Vec::new();
                for kind in stores.by_kind() {
                    let mut objects = Vec::new();
                    for collection in kind {
                        let mut listed = collection.store.objects();
                        listed.sort_unstable_by(|a, b| a.key().cmp(b.key()));
                        objects.extend(listed);
                    }
                    let [first, ..] = kind else { continue };
                    if objects.is_empty() && first.prefix.is_some() {
                        continue;
                    }
                    let objects: Vec<&RawObject> = objects.iter().map(AsRef::as_ref).collect();
                    let listed = kind
                        .iter()
                        .find_map(|collection| collection.store.table_columns());
                    let prefix = first.prefix.as_deref();
                    let table = wide_listing(&objects, listed.as_ref(), first.columns, prefix, now);
                    tables.extend(table);
                }
                if tables.is_empty() {
                    tables.push(b'\n');
                }
                tables
            }
        })
    }
}

/// A template's listing: every kind's objects in the order of their printed keys, printed as
/// one list or one by one ([`Template::lists_whole`]), then a newline unless the template
/// ended with one, then the listing's empty line.
fn template_listing(listing: &TemplateListing, stores: &Stores) -> Result<Vec<u8>, TemplateError> {
    let TemplateListing { template, headers } = listing;
    let reads = ObjectReads::of(if template.lists_whole() {
        template.item_reads()
    } else {
        template.object_reads()
    });
    let mut out = template_listing_reading(template, *headers, stores, &reads);
    if shows_the_object(&out) && !reads.is_all() {
        out = template_listing_reading(template, *headers, stores, &ObjectReads::all());
    }
    let mut out = out?;
    if out.last().is_some_and(|&last| last != b'\n') {
        out.push(b'\n');
    }
    out.push(b'\n');
    Ok(out)
}

/// What `reads` reads of the objects of `kinds`, the kinds in the order given, each kind's
/// objects in key order.
fn values_of<'k>(
    kinds: impl IntoIterator<Item = &'k crate::output::kinds::KindStore>,
    reads: &ObjectReads,
) -> Result<Vec<Value>, TemplateError> {
    let mut values = Vec::new();
    for kind in kinds {
        let mut objects = kind.store.objects();
        objects.sort_unstable_by(|a, b| a.key().cmp(b.key()));
        for object in objects {
            values.push(object_value(&object, &kind.object_type, reads)?);
        }
    }
    Ok(values)
}

/// [`template_listing_reading`] over several contexts: each object's text (or each context's
/// list's, for a JSONPath template that addresses `.items`) marked with its context
/// ([`Template::mark_context`]), custom columns one table with a CONTEXT column first.
fn template_listing_of_contexts(
    template: &Template,
    headers: Headers,
    stores: &Stores,
    reads: &ObjectReads,
) -> Result<Vec<u8>, TemplateError> {
    let mut out = Vec::new();
    // The contexts in the order of their names, as their keys are sorted; each context's kinds
    // in the order named.
    let mut kinds: Vec<&crate::output::kinds::KindStore> = stores.kinds().iter().collect();
    // (`a-b/...` before `a/...`, as bytes: compared with the `/` that follows in keys.)
    kinds.sort_by_cached_key(|kind| format!("{}/", kind.context.as_deref().unwrap_or_default()));
    let per_list = template.lists_whole() && !template.is_columns() && !template.prints_names();
    if per_list {
        for collections in kinds.chunk_by(|a, b| a.context == b.context) {
            let values = values_of(collections.iter().copied(), reads)?;
            let mut text = Vec::new();
            template.render_list(values, headers, &mut text)?;
            let context = collections[0].context.as_deref().unwrap_or_default();
            out.extend(template.mark_context(context, &text));
            check_output(&out)?;
        }
        return Ok(out);
    }
    let mut printer = template.watch_marking_contexts(headers);
    let mut texts = Vec::new();
    for kind in kinds {
        let context = kind.context.as_deref().unwrap_or_default();
        for value in values_of([kind], reads)? {
            texts.push(template.mark_context(context, &printer.text_of(&value)?));
        }
    }
    if template.is_columns() {
        // One table, aligned as a whole, the header once.
        printer.print_texts(&texts, &mut out);
    } else {
        out = texts.concat();
    }
    check_output(&out)?;
    Ok(out)
}

/// What [`object_value`] parses of an object: what a template reads of it, and `kind`, which
/// tells a metadata-only object (whose `apiVersion` and `kind` are replaced).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectReads(Reads);

impl ObjectReads {
    /// What `reads` reads, and `kind`.
    pub fn of(mut reads: Reads) -> Self {
        reads.add(&["kind".to_owned()]);
        ObjectReads(reads)
    }

    /// All of the object.
    pub fn all() -> Self {
        ObjectReads(Reads::All)
    }

    /// Whether this is all of the object.
    fn is_all(&self) -> bool {
        self.0 == Reads::All
    }
}

/// Whether `result` is a template's failure whose message shows the object it ran on (kubectl's
/// for a missing key, a custom column's for a filter on a map): it must show the object whole,
/// not the part of it that was parsed.
fn shows_the_object<T>(result: &Result<T, TemplateError>) -> bool {
    matches!(
        result,
        Err(TemplateError::JsonPathExecution { .. } | TemplateError::Columns(_))
    )
}

/// [`template_listing`]'s template output, from what `reads` reads of each object.
fn template_listing_reading(
    template: &Template,
    headers: Headers,
    stores: &Stores,
    reads: &ObjectReads,
) -> Result<Vec<u8>, TemplateError> {
    if stores.of_several_contexts() {
        return template_listing_of_contexts(template, headers, stores, reads);
    }
    // The kinds in the order named, as kubectl prints `pods,deploy`; each kind's in key order.
    let values = values_of(stores.kinds(), reads)?;
    let mut out = Vec::new();
    if template.lists_whole() {
        template.render_list(values, headers, &mut out)?;
    } else {
        for value in &values {
            template.render_object(value, headers, &mut out)?;
            check_output(&out)?;
        }
    }
    check_output(&out)?;
    Ok(out)
}

/// An object as a template reads it: its JSON, with the `apiVersion` and `kind` a list item
/// lacks filled in, as kubectl fills them in (and in place of `PartialObjectMetadata`'s with
/// `--metadata-only`: `-o name` says `pod/web-0`, as kubectl does). An object kept without JSON
/// (a protobuf message: the command line asks for JSON with a template) is its name and
/// namespace alone. Only what `reads` reads is parsed ([`ObjectReads`]); JSON that does not parse as
/// a value there (nested past serde_json's 128 levels, a number out of range) is an error
/// naming the object, never a stand-in printed as if whole.
pub fn object_value(
    object: &RawObject,
    object_type: &ObjectType,
    reads: &ObjectReads,
) -> Result<Value, TemplateError> {
    let mut value = match object.json() {
        Some(json) => parse_for(json, &reads.0).map_err(|err| TemplateError::Unreadable {
            key: object.key().to_string(),
            reason: err.to_string(),
        })?,
        None => {
            let mut metadata = serde_json::Map::new();
            metadata.insert("name".into(), object.key().name().into());
            if let Some(namespace) = object.key().namespace() {
                metadata.insert("namespace".into(), namespace.into());
            }
            serde_json::json!({ "metadata": metadata })
        }
    };
    if let Value::Object(fields) = &mut value {
        let metadata_only = fields.get("kind").and_then(Value::as_str) == Some(METADATA_KIND);
        if metadata_only {
            fields.remove("kind");
            fields.remove("apiVersion");
        }
        fields
            .entry("apiVersion")
            .or_insert_with(|| Value::from(&*object_type.api_version));
        fields
            .entry("kind")
            .or_insert_with(|| Value::from(&*object_type.kind));
    }
    Ok(value)
}

/// The kind of the objects `--metadata-only` keeps.
const METADATA_KIND: &str = "PartialObjectMetadata";

/// `-o keys`, the default listing: each key on its own line, quoted (so a key with a newline
/// stays on one line), then an empty line.
pub fn keys(sorted_keys: &[ObjectKey]) -> Vec<u8> {
    let bytes = sorted_keys
        .iter()
        .map(|key| key.as_str().len() + 1)
        .sum::<usize>()
        + 1;
    let mut listing = Vec::with_capacity(bytes);
    for key in sorted_keys {
        listing.extend_from_slice(key.as_str().as_bytes());
        listing.push(b'\n');
    }
    listing.push(b'\n');
    // The fast path: one vectorized pass finds nothing to escape but the newlines just written.
    if count_escapable(&listing) == sorted_keys.len() + 1 {
        return listing;
    }
    listing.clear();
    for key in sorted_keys {
        quote_into(&mut listing, key.as_str());
        listing.push(b'\n');
    }
    listing.push(b'\n');
    listing
}

/// `-o json`: one listing as one JSON document on one line.
pub fn json_listing(time: SystemTime, resource_version: &str, keys: &[ObjectKey]) -> Vec<u8> {
    #[derive(Serialize)]
    struct Listing<'a> {
        time: String,
        #[serde(rename = "resourceVersion")]
        resource_version: &'a str,
        count: usize,
        keys: Vec<&'a str>,
    }
    let listing = Listing {
        time: humantime::format_rfc3339_seconds(time).to_string(),
        resource_version,
        count: keys.len(),
        keys: keys.iter().map(ObjectKey::as_str).collect(),
    };
    let mut line = serde_json::to_vec(&listing).unwrap_or_default();
    line.push(b'\n');
    line
}

/// `-o json` with several kinds or namespaces: as [`json_listing`], with `resourceVersions`,
/// each collection's resourceVersion by its name ([`crate::output::kinds::collection_of`]:
/// `{"deployment.apps":"15","pod":"12"}`, `{"shop":"12","web":"14"}`), in place of
/// `resourceVersion`: resourceVersions are opaque and per list, so no one of them stands for
/// the others.
pub fn json_listing_of_kinds(
    time: SystemTime,
    resource_versions: &BTreeMap<String, String>,
    keys: &[ObjectKey],
) -> Vec<u8> {
    #[derive(Serialize)]
    struct Listing<'a> {
        time: String,
        #[serde(rename = "resourceVersions")]
        resource_versions: &'a BTreeMap<String, String>,
        count: usize,
        keys: Vec<&'a str>,
    }
    let listing = Listing {
        time: humantime::format_rfc3339_seconds(time).to_string(),
        resource_versions,
        count: keys.len(),
        keys: keys.iter().map(ObjectKey::as_str).collect(),
    };
    let mut line = serde_json::to_vec(&listing).unwrap_or_default();
    line.push(b'\n');
    line
}

/// How `--events` prints each change.
#[derive(Clone, Debug)]
pub enum EventFormat {
    /// `TYPE key`.
    Lines,
    /// `{"type","key","resourceVersion"}`, one line.
    Json,
    /// `{"type":...,"object":{...}}`, one line: kubectl's `-o json --output-watch-events`
    /// document (kubectl indents it over many lines).
    JsonObjects,
    /// A kubectl template applied to each change's object, as `kubectl get -w -o T` applies it;
    /// with `with_type` (`--output-watch-events`), to `{"type":...,"object":{...}}`, as kubectl
    /// applies it then, so the template reads `.type` and `.object`.
    Template {
        /// The template.
        listing: TemplateListing,
        /// Whether the template sees the event type.
        with_type: bool,
    },
}

impl EventFormat {
    /// Whether the changes must carry their objects.
    pub fn reads_objects(&self) -> bool {
        matches!(
            self,
            EventFormat::JsonObjects | EventFormat::Template { .. }
        )
    }
}

/// The collections whose changes `--events` prints: each one's name, key prefix and object
/// type. An event's object type and collection are looked up by its printed key.
#[derive(Clone, Debug)]
pub struct EventTypes(pub Vec<EventSource>);

/// One collection whose changes `--events` prints.
#[derive(Clone, Debug)]
pub struct EventSource {
    /// Its name ([`crate::output::kinds::collection_of`]): the key of its SYNCED markers, and
    /// the prefix its printed keys share (empty for a run's only collection).
    pub collection: Arc<str>,
    /// Its kind's key prefix, with several kinds.
    pub prefix: Option<Arc<str>>,
    /// Its objects' `apiVersion` and `kind`.
    pub object_type: ObjectType,
    /// Its kubeconfig context, with several.
    pub context: Option<Arc<str>>,
}

impl EventTypes {
    /// The kubeconfig context of the object whose printed key is `key`, with several.
    pub(crate) fn context_of(&self, key: &ObjectKey) -> Option<&str> {
        let key = key.as_str();
        self.0
            .iter()
            .find(|source| {
                source.prefix.as_deref().is_some_and(|prefix| {
                    key.strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('/'))
                })
            })
            .and_then(|source| source.context.as_deref())
    }

    /// A run's only collection, of objects of `object_type`.
    #[cfg(test)]
    pub fn single(object_type: ObjectType) -> Self {
        EventTypes(vec![EventSource {
            collection: "".into(),
            prefix: None,
            object_type,
            context: None,
        }])
    }

    /// Which collection `key` (a printed key, or a SYNCED marker's, which is the collection's
    /// name) is of: the one whose name its key starts with, empty with one collection.
    pub(crate) fn collection_of<'k>(&self, key: &'k ObjectKey) -> &'k str {
        let key = key.as_str();
        let found = self.0.iter().find(|source| {
            !source.collection.is_empty()
                && key
                    .strip_prefix(&*source.collection)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        });
        match found {
            Some(source) => &key[..source.collection.len()],
            None => "",
        }
    }

    /// The type of the object whose printed key is `key`.
    pub(crate) fn of(&self, key: &ObjectKey) -> ObjectType {
        // A prefix may have several segments (`prod/pod`, with several contexts).
        let key = key.as_str();
        let found = self.0.iter().find(|source| match &source.prefix {
            None => true,
            Some(prefix) => key
                .strip_prefix(&**prefix)
                .is_some_and(|rest| rest.starts_with('/')),
        });
        found.map_or_else(ObjectType::pod, |source| source.object_type.clone())
    }
}

/// A change as a template or `{"type","object"}` reads it: `{"type":TYPE,"object":OBJECT}` with
/// `with_type`, else the object; of the object, what `object_reads` reads.
pub fn event_value(
    change: &Change,
    types: &EventTypes,
    with_type: bool,
    object_reads: &ObjectReads,
) -> Result<Value, TemplateError> {
    let object_type = types.of(&change.key);
    let object = match &change.object {
        Some(object) => object_value(object, &object_type, object_reads)?,
        None => serde_json::json!({
            "apiVersion": &*object_type.api_version,
            "kind": &*object_type.kind,
            "metadata": {"name": change.key.name(), "namespace": change.key.namespace()},
        }),
    };
    Ok(if with_type {
        // Built in place: `json!` would copy the object value by value.
        let mut document = serde_json::Map::new();
        document.insert("type".to_owned(), change.change_type.as_str().into());
        document.insert("object".to_owned(), object);
        Value::Object(document)
    } else {
        object
    })
}

/// Which changes `--events` prints.
#[derive(Clone, Debug)]
pub struct EventFilter {
    /// `--event-types`: only these (all when `None`).
    pub only: Option<Vec<ChangeType>>,
    /// `--print-unchanged`: with a template, also a MODIFIED whose line is the same as the
    /// object's previous one (by default it is not printed, so a template of a few fields
    /// ignores the status updates that make most MODIFIED events).
    pub print_unchanged: bool,
    /// `--watch-only`: nothing for the objects of the initial list (kubectl's flag), only the
    /// changes after it.
    pub watch_only: bool,
}

impl EventFilter {
    /// Whether `--event-types` lets a change of `change_type` through.
    pub fn lets_through(&self, change_type: ChangeType) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.contains(&change_type))
    }
}

/// `--watch-only`'s gate over a stream of changes: each collection's changes pass once its first
/// SYNCED marker has (all of them without `--watch-only`).
pub struct WatchOnlyGate<'f> {
    types: &'f EventTypes,
    watch_only: bool,
    /// The collections whose first SYNCED marker went by, by [`EventTypes::collection_of`].
    synced_collections: std::collections::HashSet<String>,
}

impl<'f> WatchOnlyGate<'f> {
    /// A gate for the collections of `types`, closed until their markers if `watch_only`.
    pub fn new(types: &'f EventTypes, watch_only: bool) -> Self {
        WatchOnlyGate {
            types,
            watch_only,
            synced_collections: std::collections::HashSet::new(),
        }
    }

    /// Whether `change` passes: a SYNCED marker always does (and opens its collection's gate).
    pub fn admits(&mut self, change: &Change) -> bool {
        let collection = self.types.collection_of(&change.key);
        if change.change_type == ChangeType::Synced {
            if !self.synced_collections.contains(collection) {
                self.synced_collections.insert(collection.to_owned());
            }
            return true;
        }
        !self.watch_only || self.synced_collections.contains(collection)
    }

    /// Opens `collection`'s gate before any marker: its changes are all changes since a state
    /// an earlier run printed (`--state`), none of them an initial list to leave out.
    pub fn open(&mut self, collection: &str) {
        self.synced_collections.insert(collection.to_owned());
    }
}

impl Default for EventFilter {
    fn default() -> Self {
        EventFilter {
            only: None,
            print_unchanged: true,
            watch_only: false,
        }
    }
}

/// A batch of events a template failed on: the error, and what was printed before the change
/// it failed on.
#[derive(Debug)]
pub struct RenderFailure {
    /// The bytes of the changes before the failing one.
    pub printed: Vec<u8>,
    /// Why it failed.
    pub error: TemplateError,
}

/// Renders `--events` batch by batch in an [`EventFormat`], keeping what a template's output
/// keeps from one event to the next (kubectl's column widths, the custom columns' header, each
/// object's last line).
pub struct EventRenderer<'f> {
    format: &'f EventFormat,
    types: &'f EventTypes,
    filter: &'f EventFilter,
    watch: Option<WatchPrinter<'f>>,
    /// What a template reads of each event's object: all that is parsed of it.
    reads: ObjectReads,
    /// Whether a template reads the event's type (`{.type}` with `--output-watch-events`).
    reads_type: bool,
    /// The digest of each object's last text (unaligned, its event type set aside), to leave
    /// out a MODIFIED that prints the same ([`crate::cache::state::digest`]: what `--state`
    /// keeps of it, so the next run compares with it too).
    last_digests: std::collections::HashMap<ObjectKey, u64>,
    /// `--watch-only`: each collection's changes are printed once its first SYNCED marker went by.
    gate: WatchOnlyGate<'f>,
}

impl<'f> EventRenderer<'f> {
    /// A renderer of `format` for the changes `filter` lets through, looking objects' types up
    /// in `types`.
    pub fn new(format: &'f EventFormat, types: &'f EventTypes, filter: &'f EventFilter) -> Self {
        let (watch, reads, reads_type) = match format {
            EventFormat::Template { listing, with_type } => {
                let reads = listing.template.object_reads();
                let reads_type = reads.at("type") != Reads::nothing();
                let object_reads = if *with_type {
                    reads.at("object")
                } else {
                    reads
                };
                let several_contexts = types.0.iter().any(|source| source.context.is_some());
                let watch = if several_contexts {
                    listing.template.watch_marking_contexts(listing.headers)
                } else {
                    listing.template.watch(listing.headers)
                };
                (Some(watch), ObjectReads::of(object_reads), reads_type)
            }
            _ => (None, ObjectReads::all(), false),
        };
        EventRenderer {
            format,
            types,
            filter,
            watch,
            reads,
            reads_type,
            last_digests: std::collections::HashMap::new(),
            gate: WatchOnlyGate::new(types, filter.watch_only),
        }
    }

    /// The digest of the text last printed (or left out as unchanged) for the object of
    /// printed key `key`, when a template's MODIFIED lines are compared; `None` otherwise.
    pub fn digest_of(&self, key: &ObjectKey) -> Option<u64> {
        self.last_digests.get(key).copied()
    }

    /// Prints every change of `collection` with `--watch-only` too: they are changes since what
    /// an earlier run printed (`--state`), not the initial state.
    pub fn restored(&mut self, collection: &str) {
        self.gate.open(collection);
    }

    /// Remembers `digest` as the object's last text (`--state`: what the previous run printed
    /// for it), so that a MODIFIED that prints the same is left out. Nothing without a
    /// template whose lines are compared.
    pub fn remember_digest(&mut self, key: ObjectKey, digest: u64) {
        if self.watch.is_some() && !self.filter.print_unchanged {
            self.last_digests.insert(key, digest);
        }
    }

    /// Whether `--watch-only` and `--event-types` let `change` through.
    fn wanted(&mut self, change: &Change) -> bool {
        self.gate.admits(change)
            && (change.change_type == ChangeType::Synced
                || self.filter.lets_through(change.change_type))
    }

    /// The bytes of these changes, in order; only a template can fail (a key missing with
    /// `--allow-missing-template-keys=false`), and then what it printed before the change it
    /// failed on is in the failure, to be written before the error is told, as kubectl does.
    pub fn render(
        &mut self,
        changes: impl IntoIterator<Item = Change>,
    ) -> Result<Vec<u8>, RenderFailure> {
        // A bookmark tells where the collection is (for `--state`), not a change to print.
        let changes = changes
            .into_iter()
            .filter(|change| change.change_type != ChangeType::Bookmark);
        if let EventFormat::Template { with_type, .. } = self.format
            && let Some(mut watch) = self.watch.take()
        {
            let mut texts = Vec::new();
            let rendered = self.template_texts(&watch, changes, *with_type, &mut texts);
            let mut out = Vec::new();
            // The changes applied together (a list's, or a burst's) are aligned together, as
            // kubectl aligns its initial list; its widths only grow from then on.
            watch.print_texts(&texts, &mut out);
            self.watch = Some(watch);
            return match rendered.and_then(|()| check_output(&out)) {
                Ok(()) => Ok(out),
                Err(error) => Err(RenderFailure {
                    printed: out,
                    error,
                }),
            };
        }
        let changes: Vec<Change> = changes
            .into_iter()
            .filter(|change| self.wanted(change))
            .collect();
        match self.format {
            EventFormat::Lines => Ok(events(changes, false)),
            EventFormat::JsonObjects => self.json_objects(changes),
            EventFormat::Json | EventFormat::Template { .. } => Ok(events(changes, true)),
        }
    }

    /// `{"type","object"}` lines, kubectl's: `type` first (its struct's order), the object as Go
    /// writes it. The SYNCED marker is a JSON line of its own.
    fn json_objects(&self, changes: Vec<Change>) -> Result<Vec<u8>, RenderFailure> {
        let mut out = Vec::new();
        for change in changes {
            if change.change_type == ChangeType::Synced {
                out.extend(events([change], true));
                continue;
            }
            let object = match event_value(&change, self.types, false, &ObjectReads::all()) {
                Ok(object) => object,
                Err(error) => {
                    return Err(RenderFailure {
                        printed: out,
                        error,
                    });
                }
            };
            out.extend_from_slice(b"{\"type\":\"");
            out.extend_from_slice(change.change_type.as_str().as_bytes());
            if let Some(context) = self.types.context_of(&change.key) {
                // With several contexts, which one the object is of, before it.
                out.extend_from_slice(b"\",\"context\":");
                write_go_json(&Value::String(context.to_owned()), &mut out);
                out.extend_from_slice(b",\"object\":");
            } else {
                out.extend_from_slice(b"\",\"object\":");
            }
            write_go_json(&object, &mut out);
            out.extend_from_slice(b"}\n");
        }
        Ok(out)
    }

    /// A template's text for each change to print, unaligned, onto `texts` (those before a
    /// failure stay there); nothing for a SYNCED marker. A
    /// MODIFIED whose text, its event type aside, is its object's last one is left out (unless
    /// `--print-unchanged`); for that, the objects' texts are remembered from every change,
    /// printed or not (`--watch-only`'s initial list, the types `--event-types` leaves out).
    fn template_texts(
        &mut self,
        watch: &WatchPrinter<'_>,
        changes: impl IntoIterator<Item = Change>,
        with_type: bool,
        texts: &mut Vec<Vec<u8>>,
    ) -> Result<(), TemplateError> {
        let compares = !self.filter.print_unchanged;
        // Whether the type must be set aside to compare: the template prints it.
        let reads_type = with_type && self.reads_type;
        for change in changes {
            let wanted = self.wanted(&change);
            if change.change_type == ChangeType::Synced || !(wanted || compares) {
                continue;
            }
            let text = self.text_of(watch, &change, with_type)?;
            if !compares {
                texts.push(text);
                continue;
            }
            let compared = match change.change_type {
                ChangeType::Deleted => {
                    self.last_digests.remove(&change.key);
                    None
                }
                ChangeType::Added if reads_type => {
                    let as_modified = Change {
                        change_type: ChangeType::Modified,
                        ..change.clone()
                    };
                    Some(digest(&self.text_of(watch, &as_modified, with_type)?))
                }
                _ => Some(digest(&text)),
            };
            let unchanged = change.change_type == ChangeType::Modified
                && compared.is_some()
                && self.last_digests.get(&change.key) == compared.as_ref();
            if let Some(compared) = compared {
                self.last_digests.insert(change.key.clone(), compared);
            }
            if wanted && !unchanged {
                texts.push(text);
            }
        }
        Ok(())
    }

    /// The template's text for `change`, from the part of its object the template reads; a
    /// failure that shows the object shows it whole.
    fn text_of(
        &self,
        watch: &WatchPrinter<'_>,
        change: &Change,
        with_type: bool,
    ) -> Result<Vec<u8>, TemplateError> {
        let read = |reads| watch.text_of(&event_value(change, self.types, with_type, reads)?);
        let mut text = read(&self.reads);
        if shows_the_object(&text) && !self.reads.is_all() {
            text = read(&ObjectReads::all());
        }
        match (text, self.types.context_of(&change.key), self.format) {
            (Ok(text), Some(context), EventFormat::Template { listing, .. }) => {
                Ok(listing.template.mark_context(context, &text))
            }
            (text, _, _) => text,
        }
    }
}

/// `--events`: the changes in the order given, one line each: `TYPE key` (key quoted) or, with
/// `json`, a JSON object.
pub fn events(changes: impl IntoIterator<Item = Change>, json: bool) -> Vec<u8> {
    let mut lines = Vec::new();
    for change in changes {
        if change.change_type == ChangeType::Synced && !json {
            // `TYPE key` lines name changes of keys only: the marker is JSON's.
            continue;
        }
        let event_type = change.change_type.as_str();
        lines.extend(event(
            event_type,
            &change.key,
            &change.resource_version,
            json,
        ));
    }
    lines
}

/// One applied change, as `TYPE key` (key quoted) or, with `json`, a JSON object.
fn event(event_type: &str, key: &ObjectKey, resource_version: &str, json: bool) -> Vec<u8> {
    if json {
        #[derive(Serialize)]
        struct Event<'a> {
            #[serde(rename = "type")]
            event_type: &'a str,
            key: &'a str,
            #[serde(rename = "resourceVersion")]
            resource_version: &'a str,
        }
        let event = Event {
            event_type,
            key: key.as_str(),
            resource_version,
        };
        let mut line = serde_json::to_vec(&event).unwrap_or_default();
        line.push(b'\n');
        line
    } else {
        let mut line = Vec::with_capacity(event_type.len() + key.as_str().len() + 2);
        line.extend_from_slice(event_type.as_bytes());
        line.push(b' ');
        quote_into(&mut line, key.as_str());
        line.push(b'\n');
        line
    }
}

/// `--diff --state`: [`diff`]'s lines, and `~key` for a key in both whose resourceVersion
/// changed, in key order. Both inputs are sorted by key.
pub fn diff_versions(
    previous: &[(ObjectKey, Box<str>)],
    current: &[(ObjectKey, Box<str>)],
) -> Vec<u8> {
    merged_diff(
        previous,
        current,
        |(key, _)| key,
        |(_, was), (_, is)| was != is,
    )
}

/// `--diff`: `+key` (key quoted) for keys new since `previous`, `-key` for keys gone, in key
/// order; empty when nothing changed. Both inputs are sorted.
pub fn diff(previous: &[ObjectKey], current: &[ObjectKey]) -> Vec<u8> {
    merged_diff(previous, current, |key| key, |_, _| false)
}

/// The diff lines of two lists sorted by `key`: `+` for an item only in `current`, `-` for one
/// only in `previous`, `~` for one in both that `modified` says changed.
fn merged_diff<T>(
    previous: &[T],
    current: &[T],
    key: impl Fn(&T) -> &ObjectKey,
    modified: impl Fn(&T, &T) -> bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut line = |sign: u8, key: &ObjectKey| {
        out.push(sign);
        quote_into(&mut out, key.as_str());
        out.push(b'\n');
    };
    let (mut old, mut new) = (0, 0);
    loop {
        match (previous.get(old), current.get(new)) {
            (Some(was), Some(is)) if key(was) == key(is) => {
                if modified(was, is) {
                    line(b'~', key(is));
                }
                old += 1;
                new += 1;
            }
            (Some(was), Some(is)) if key(was) > key(is) => {
                line(b'+', key(is));
                new += 1;
            }
            (Some(was), _) => {
                line(b'-', key(was));
                old += 1;
            }
            (None, Some(is)) => {
                line(b'+', key(is));
                new += 1;
            }
            (None, None) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::kinds::Columns;

    fn key(text: &str) -> ObjectKey {
        match text.split_once('/') {
            Some((namespace, name)) => ObjectKey::new(Some(namespace), name),
            None => ObjectKey::new(None, text),
        }
    }

    /// The wide table's columns for a namespaced kind that is not Pods.
    const ROLES: Columns = Columns {
        namespace: true,
        pod_status: false,
    };

    fn key_list(texts: &[&str]) -> Vec<ObjectKey> {
        texts.iter().map(|text| key(text)).collect()
    }

    #[test]
    fn a_listing_is_the_keys_one_per_line_then_one_empty_line() {
        assert_eq!(keys(&[key("a/x"), key("b/y")]), b"a/x\nb/y\n\n");
        assert_eq!(keys(&[]), b"\n");
    }

    #[test]
    fn a_listing_escapes_control_characters_so_a_key_stays_on_one_line() {
        assert_eq!(
            keys(&[key("a/x\n\ny"), key("b/t\tab\\\u{1}")]),
            b"a/x\\n\\ny\nb/t\\tab\\\\\\x01\n\n"
        );
    }

    #[test]
    fn json_listing_is_one_line_with_time_version_count_and_keys() {
        let time = humantime::parse_rfc3339("2026-11-27T12:00:00Z").expect("time");
        let line = json_listing(time, "42", &key_list(&["a/x", "b/y"]));
        assert_eq!(
            String::from_utf8(line).expect("utf-8"),
            "{\"time\":\"2026-11-27T12:00:00Z\",\"resourceVersion\":\"42\",\"count\":2,\"keys\":[\"a/x\",\"b/y\"]}\n"
        );
    }

    #[test]
    fn json_listing_of_several_kinds_has_each_kinds_resource_version() {
        let time = humantime::parse_rfc3339("2026-11-27T12:00:00Z").expect("time");
        let versions = BTreeMap::from([
            ("pod".to_owned(), "12".to_owned()),
            ("deployment.apps".to_owned(), "15".to_owned()),
        ]);
        let line = json_listing_of_kinds(time, &versions, &key_list(&["pod/a/x"]));
        assert_eq!(
            String::from_utf8(line).expect("utf-8"),
            "{\"time\":\"2026-11-27T12:00:00Z\",\"resourceVersions\":{\"deployment.apps\":\"15\",\"pod\":\"12\"},\"count\":1,\"keys\":[\"pod/a/x\"]}\n"
        );
    }

    #[test]
    fn events_in_text_and_json() {
        assert_eq!(event("ADDED", &key("a/x"), "7", false), b"ADDED a/x\n");
        assert_eq!(
            event("DELETED", &key("node-1"), "8", true),
            b"{\"type\":\"DELETED\",\"key\":\"node-1\",\"resourceVersion\":\"8\"}\n"
        );
    }

    #[test]
    fn diff_with_versions_marks_a_modified_key_with_a_tilde() {
        let versioned = |pairs: &[(&str, &str)]| -> Vec<(ObjectKey, Box<str>)> {
            pairs.iter().map(|(k, rv)| (key(k), (*rv).into())).collect()
        };
        let previous = versioned(&[("a/gone", "1"), ("a/same", "2"), ("a/changed", "3")]);
        let mut previous_sorted = previous.clone();
        previous_sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let current = versioned(&[("a/changed", "9"), ("a/new", "4"), ("a/same", "2")]);
        assert_eq!(
            String::from_utf8(diff_versions(&previous_sorted, &current)).expect("utf-8"),
            "~a/changed\n-a/gone\n+a/new\n"
        );
        assert!(diff_versions(&current, &current).is_empty());
    }

    #[test]
    fn diff_lists_added_and_removed_keys_in_order() {
        let before = key_list(&["a/1", "a/2", "b/1"]);
        let after = key_list(&["a/2", "a/3", "c/1"]);
        assert_eq!(
            String::from_utf8(diff(&before, &after)).expect("utf-8"),
            "-a/1\n+a/3\n-b/1\n+c/1\n"
        );
        assert!(diff(&after, &after).is_empty());
        assert_eq!(diff(&[], &key_list(&["x"])), b"+x\n");
    }

    #[test]
    fn events_diff_and_wide_escape_control_characters_but_json_keeps_exact_names() {
        assert_eq!(
            event("ADDED", &key("a/x\ny"), "7", false),
            b"ADDED a/x\\ny\n"
        );
        assert_eq!(
            event("ADDED", &key("a/x\ny"), "7", true),
            b"{\"type\":\"ADDED\",\"key\":\"a/x\\ny\",\"resourceVersion\":\"7\"}\n"
        );
        assert_eq!(
            diff(&key_list(&["a/\t"]), &key_list(&["a/b\\c"])),
            b"-a/\\t\n+a/b\\\\c\n"
        );
        let time = humantime::parse_rfc3339("2026-11-27T12:00:00Z").expect("time");
        let line = json_listing(time, "1", &key_list(&["a/x\u{1}"]));
        assert!(
            String::from_utf8(line)
                .expect("utf-8")
                .contains(r#""keys":["a/x\u0001"]"#),
            "JSON escapes the exact name"
        );
        let now = humantime::parse_rfc3339("2026-11-27T12:00:00Z").expect("now");
        let object = RawObject::from_json(
            br#"{"metadata":{"name":"a\n\nb","namespace":"t\tab","creationTimestamp":"2026-11-27T11:59:15Z"}}"#,
            "Role",
        )
        .expect("role");
        assert_eq!(
            String::from_utf8(wide_listing(&[&object], None, ROLES, None, now)).expect("utf-8"),
            "NAMESPACE   NAME     AGE\nt\\tab       a\\n\\nb   45s\n\n"
        );
    }

    fn template(spec: &str, headers: Headers) -> ListingFormat {
        ListingFormat::Template(TemplateListing {
            template: Arc::new(Template::parse(spec).expect(spec)),
            headers,
        })
    }

    async fn pods(keys: &[&str]) -> Stores {
        let (mut writer, store) = crate::cache::store::new_store();
        let objects = keys
            .iter()
            .map(|key| crate::wire::test_support::pod(key, 1));
        writer.replace(objects.collect(), "1").await;
        Stores::from(store)
    }

    #[tokio::test]
    async fn a_template_listing_is_its_output_then_a_newline_if_missing_then_the_empty_line() {
        let stores = pods(&["b/y", "a/x"]).await;
        let render = |format| Lister::new(format, false).render(&stores).expect("listing");
        let per_object = template("jsonpath={.metadata.name}", Headers::Print);
        assert_eq!(
            render(per_object),
            b"xy\n\n",
            "in key order, a newline added"
        );
        let lines = template(r#"jsonpath={.kind}/{.metadata.name}{"\n"}"#, Headers::Print);
        assert_eq!(
            render(lines),
            b"Pod/x\nPod/y\n\n",
            "the kind a list item lacks"
        );
        let items = template("jsonpath={.items[*].metadata.name}", Headers::Print);
        assert_eq!(render(items), b"x y\n\n", "the listing as one List");
        let columns = template("custom-columns=NAME:.metadata.name", Headers::Omit);
        assert_eq!(render(columns), b"x\ny\n\n");
        let empty = pods(&[]).await;
        let nothing = template("jsonpath={.metadata.name}", Headers::Print);
        let listing = Lister::new(nothing, false).render(&empty).expect("listing");
        assert_eq!(listing, b"\n", "an empty listing is its empty line");
    }

    #[tokio::test]
    async fn a_template_failing_on_an_object_fails_the_listing() {
        let stores = pods(&["a/x"]).await;
        let strict = ListingFormat::Template(TemplateListing {
            template: Arc::new(
                Template::parse("jsonpath={.status.phase}")
                    .expect("template")
                    .allow_missing_keys(false),
            ),
            headers: Headers::Print,
        });
        let failed = Lister::new(strict, false).render(&stores);
        let message = failed.expect_err("phase is missing").to_string();
        assert!(message.contains("status is not found"), "{message}");
        // A message showing the object shows it whole, though the template reads a part.
        assert!(message.contains(r#""name":"x""#), "{message}");
        let (mut writer, store) = crate::cache::store::new_store();
        let spec = r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"x","namespace":"a"},"spec":{"b":1,"c":2,"d":3}}"#;
        writer.replace(vec![json_object(spec)], "1").await;
        let columns = ListingFormat::Template(TemplateListing {
            template: Arc::new(
                Template::parse("custom-columns=A:.spec[?(@.b==1)].c").expect("columns"),
            ),
            headers: Headers::Print,
        });
        let failed = Lister::new(columns, false).render(&Stores::from(store));
        let message = failed.expect_err("a map is not filtered").to_string();
        assert!(
            message.contains("map[b:1 c:2 d:3] is not array or slice"),
            "{message}"
        );
    }

    #[test]
    fn a_template_reads_an_object_with_the_api_version_a_list_item_lacks() {
        let kept = crate::wire::test_support::pod("a/x", 1);
        let value = object_value(&kept, &ObjectType::pod(), &ObjectReads::all()).expect("readable");
        assert_eq!(value["metadata"]["name"], "x");
        assert_eq!(value["kind"], "Pod");
        assert_eq!(value["apiVersion"], "v1");
    }

    fn change(change_type: crate::cache::store::ChangeType, key: &str) -> Change {
        let object = crate::wire::test_support::pod(key, 7);
        Change {
            change_type,
            key: object.key().clone(),
            resource_version: "7".into(),
            object: Some(Arc::new(object)),
            listed: false,
        }
    }

    #[test]
    fn events_print_kubectls_type_and_object_documents_and_templates_per_change() {
        use crate::cache::store::ChangeType::{Added, Deleted};
        let types = EventTypes::single(ObjectType::pod());
        let json = EventFormat::JsonObjects;
        let all = EventFilter::default();
        let mut renderer = EventRenderer::new(&json, &types, &all);
        let printed = renderer.render([change(Added, "a/x")]).expect("json");
        assert_eq!(
            String::from_utf8(printed).expect("utf-8"),
            "{\"type\":\"ADDED\",\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":\
             {\"name\":\"x\",\"namespace\":\"a\",\"resourceVersion\":\"7\"}}}\n"
        );
        let with_type = EventFormat::Template {
            listing: TemplateListing {
                template: Arc::new(
                    Template::parse(r#"jsonpath={.type} {.object.metadata.name}{"\n"}"#)
                        .expect("template"),
                ),
                headers: Headers::Print,
            },
            with_type: true,
        };
        let mut renderer = EventRenderer::new(&with_type, &types, &all);
        let printed = renderer
            .render([change(Added, "a/x"), change(Deleted, "a/x")])
            .expect("template");
        assert_eq!(printed, b"ADDED x\nDELETED x\n");
        let columns = EventFormat::Template {
            listing: TemplateListing {
                template: Arc::new(
                    Template::parse("custom-columns=NAME:.metadata.name").expect("columns"),
                ),
                headers: Headers::Print,
            },
            with_type: false,
        };
        let mut renderer = EventRenderer::new(&columns, &types, &all);
        let first = renderer.render([change(Added, "a/x")]).expect("first");
        let second = renderer.render([change(Added, "a/y")]).expect("second");
        assert_eq!(first, b"NAME\nx\n", "the header once, before the first row");
        assert_eq!(second, b"y\n");
    }

    #[test]
    fn events_leave_out_unwanted_types_and_modifications_that_print_the_same_line() {
        use crate::cache::store::ChangeType::{Added, Deleted, Modified};
        let types = EventTypes::single(ObjectType::pod());
        let names = EventFormat::Template {
            listing: TemplateListing {
                template: Arc::new(
                    Template::parse(r#"jsonpath={.metadata.name}{"\n"}"#).expect("template"),
                ),
                headers: Headers::Print,
            },
            with_type: false,
        };
        let batch = || {
            [
                change(Added, "a/x"),
                change(Modified, "a/x"),
                change(Deleted, "a/x"),
                change(Added, "a/x"),
            ]
        };
        let quiet = EventFilter {
            only: None,
            print_unchanged: false,
            watch_only: false,
        };
        let mut renderer = EventRenderer::new(&names, &types, &quiet);
        let printed = renderer.render(batch()).expect("events");
        assert_eq!(printed, b"x\nx\nx\n", "the MODIFIED printed the same line");
        let all = EventFilter::default();
        let mut renderer = EventRenderer::new(&names, &types, &all);
        assert_eq!(renderer.render(batch()).expect("events"), b"x\nx\nx\nx\n");
        let deletions = EventFilter {
            only: Some(vec![Deleted]),
            print_unchanged: false,
            watch_only: false,
        };
        let mut renderer = EventRenderer::new(&EventFormat::Lines, &types, &deletions);
        assert_eq!(renderer.render(batch()).expect("events"), b"DELETED a/x\n");
    }

    #[test]
    fn an_unchanged_modification_is_left_out_even_after_changes_not_printed_and_types_aside() {
        use crate::cache::store::ChangeType::{Added, Modified};
        let types = EventTypes::single(ObjectType::pod());
        let template = |text: &str, with_type| EventFormat::Template {
            listing: TemplateListing {
                template: Arc::new(Template::parse(text).expect("template")),
                headers: Headers::Print,
            },
            with_type,
        };
        let names = template(r#"jsonpath={.metadata.name}{"\n"}"#, false);
        // --watch-only: the initial object is not printed, but its line is remembered.
        let watch_only = EventFilter {
            watch_only: true,
            print_unchanged: false,
            only: None,
        };
        let mut renderer = EventRenderer::new(&names, &types, &watch_only);
        let printed = renderer
            .render([change(Added, "a/x"), synced(""), change(Modified, "a/x")])
            .expect("events");
        assert_eq!(
            printed, b"",
            "the MODIFIED prints what the initial object printed"
        );
        // --event-types modified: the ADDED is not printed, but remembered.
        let modified = EventFilter {
            only: Some(vec![Modified]),
            print_unchanged: false,
            watch_only: false,
        };
        let mut renderer = EventRenderer::new(&names, &types, &modified);
        let printed = renderer
            .render([
                change(Added, "a/x"),
                change(Modified, "a/x"),
                change(Added, "a/y"),
            ])
            .expect("events");
        assert_eq!(printed, b"");
        // A template printing the type: the same line, its type aside.
        let typed = template(r#"jsonpath={.type} {.object.metadata.name}{"\n"}"#, true);
        let quiet = EventFilter {
            print_unchanged: false,
            ..EventFilter::default()
        };
        let mut renderer = EventRenderer::new(&typed, &types, &quiet);
        let printed = renderer
            .render([
                change(Added, "a/x"),
                change(Modified, "a/x"),
                change(Modified, "a/x"),
            ])
            .expect("events");
        assert_eq!(printed, b"ADDED x\n");
        let all = EventFilter::default();
        let mut renderer = EventRenderer::new(&typed, &types, &all);
        let printed = renderer
            .render([change(Added, "a/x"), change(Modified, "a/x")])
            .expect("events");
        assert_eq!(printed, b"ADDED x\nMODIFIED x\n", "--print-unchanged");
    }

    #[test]
    fn a_template_failing_on_a_change_keeps_what_it_printed_before_it() {
        use crate::cache::store::ChangeType::Added;
        let with_node = |name: &str, node: Option<&str>| {
            let spec = node.map_or(String::new(), |node| {
                format!(r#","spec":{{"nodeName":"{node}"}}"#)
            });
            let object = json_object(&format!(
                r#"{{"kind":"Pod","apiVersion":"v1","metadata":{{"name":"{name}","namespace":"a"}}{spec}}}"#
            ));
            Change {
                change_type: Added,
                key: object.key().clone(),
                resource_version: "1".into(),
                object: Some(Arc::new(object)),
                listed: false,
            }
        };
        let nodes = EventFormat::Template {
            listing: TemplateListing {
                template: Arc::new(
                    Template::parse(r#"jsonpath={.spec.nodeName}{"\n"}"#)
                        .expect("template")
                        .allow_missing_keys(false),
                ),
                headers: Headers::Print,
            },
            with_type: false,
        };
        let types = EventTypes::single(ObjectType::pod());
        let all = EventFilter::default();
        let mut renderer = EventRenderer::new(&nodes, &types, &all);
        let failure = renderer
            .render([
                with_node("x", Some("node-a")),
                with_node("y", None),
                with_node("z", Some("node-b")),
            ])
            .expect_err("y has no node");
        assert_eq!(failure.printed, b"node-a\n", "x, before y");
        assert!(
            failure.error.to_string().contains("spec is not found"),
            "{}",
            failure.error
        );
        assert!(
            failure.error.to_string().contains(r#""name":"y""#),
            "the object whole: {}",
            failure.error
        );
    }

    fn synced(collection: &str) -> Change {
        Change {
            change_type: crate::cache::store::ChangeType::Synced,
            key: ObjectKey::new(None, collection),
            resource_version: "7".into(),
            object: None,
            listed: false,
        }
    }

    #[test]
    fn watch_only_waits_for_each_collections_own_marker() {
        use crate::cache::store::ChangeType::{Added, Modified};
        let filter = EventFilter {
            watch_only: true,
            ..EventFilter::default()
        };
        // -n a,b: namespace a's list is done before b's initial objects come.
        let source = |collection: &str, prefix: Option<&str>| EventSource {
            collection: collection.into(),
            prefix: prefix.map(Into::into),
            object_type: ObjectType::pod(),
            context: None,
        };
        let types = EventTypes(vec![source("a", None), source("b", None)]);
        let mut renderer = EventRenderer::new(&EventFormat::Lines, &types, &filter);
        let printed = renderer
            .render([
                change(Added, "a/x"),
                synced("a"),
                change(Added, "b/y"),
                change(Modified, "a/x"),
                synced("b"),
                change(Added, "b/z"),
            ])
            .expect("events");
        assert_eq!(printed, b"MODIFIED a/x\nADDED b/z\n");
        // pods,deploy -n a,b: pod/a's marker says nothing of pod/b.
        let types = EventTypes(vec![
            source("pod/a", Some("pod")),
            source("pod/b", Some("pod")),
        ]);
        let mut renderer = EventRenderer::new(&EventFormat::Lines, &types, &filter);
        let prefixed = |change_type, key: &str| {
            let mut change = change(change_type, key);
            change.key = ObjectKey::new(Some("pod"), key);
            change
        };
        let printed = renderer
            .render([
                synced("pod/a"),
                prefixed(Added, "b/y"),
                synced("pod/b"),
                prefixed(Added, "b/z"),
            ])
            .expect("events");
        assert_eq!(printed, b"ADDED pod/b/z\n");
    }

    fn json_object(json: &str) -> RawObject {
        let kind = if json.contains("PartialObjectMetadata") {
            "PartialObjectMetadata"
        } else {
            "Pod"
        };
        RawObject::from_json(json.as_bytes(), kind).expect("an object")
    }

    /// The attack on issue 20: floats printed one last digit off (serde_json without
    /// `float_roundtrip`), and an object nested past 128 levels printed as a stub, exit 0.
    #[test]
    fn a_template_reads_floats_exactly_and_refuses_an_object_it_cannot_parse() {
        let object = json_object(
            r#"{"metadata":{"name":"x","namespace":"a"},"n":[0.41817215137075947,923441.3836388615,1.5e-300]}"#,
        );
        let value =
            object_value(&object, &ObjectType::pod(), &ObjectReads::all()).expect("readable");
        let template = Template::parse("jsonpath={.n[*]}").expect("template");
        let mut out = Vec::new();
        template
            .render_object(&value, Headers::Print, &mut out)
            .expect("printed");
        assert_eq!(out, b"0.41817215137075947 923441.3836388615 1.5e-300");
        let deep = format!(
            r#"{{"metadata":{{"name":"deep","namespace":"a"}},"d":{}1{}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        let refused = object_value(&json_object(&deep), &ObjectType::pod(), &ObjectReads::all());
        let message = refused.expect_err("too deep for serde_json").to_string();
        assert!(
            message.starts_with("cannot read a/deep for the template: recursion limit"),
            "{message}"
        );
    }

    #[test]
    fn metadata_only_objects_are_named_by_their_resources_kind() {
        let object = json_object(
            r#"{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"x","namespace":"a"}}"#,
        );
        let object_type = ObjectType {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
        };
        let value = object_value(&object, &object_type, &ObjectReads::all()).expect("readable");
        assert_eq!(value["kind"], "Deployment");
        assert_eq!(value["apiVersion"], "apps/v1");
        // The same from the part a template of `.apiVersion` alone reads.
        let api_version = Template::parse("jsonpath={.apiVersion}").expect("template");
        let reads = ObjectReads::of(api_version.object_reads());
        let value = object_value(&object, &object_type, &reads).expect("readable");
        assert_eq!(value["apiVersion"], "apps/v1");
    }

    #[tokio::test]
    async fn a_template_listing_of_several_kinds_keeps_the_order_they_were_named_in() {
        use crate::output::kinds::KindStore;
        let (mut pods, pod_store) = crate::cache::store::new_store();
        pods.replace(vec![crate::wire::test_support::pod("b/p", 1)], "1")
            .await;
        let (mut others, other_store) = crate::cache::store::new_store();
        others
            .replace(vec![crate::wire::test_support::pod("a/d", 1)], "1")
            .await;
        let columns = Columns {
            namespace: true,
            pod_status: false,
        };
        let deployments = ObjectType {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
        };
        let stores = Stores::new(vec![
            KindStore {
                prefix: Some("pod".into()),
                collection: "pod".into(),
                store: pod_store,
                columns,
                object_type: ObjectType::pod(),
                expected: Default::default(),
                context: None,
            },
            KindStore {
                prefix: Some("deployment.apps".into()),
                collection: "deployment.apps".into(),
                store: other_store,
                columns,
                object_type: deployments,
                expected: Default::default(),
                context: None,
            },
        ]);
        let names = template(r#"jsonpath={.kind}/{.metadata.name}{"\n"}"#, Headers::Print);
        let listing = Lister::new(names, false).render(&stores).expect("listing");
        assert_eq!(listing, b"Pod/p\nPod/d\n\n", "pods first, as named");
    }

    #[tokio::test]
    async fn a_template_printing_past_its_limit_fails_instead_of_filling_memory() {
        // Each `{@}` prints the whole object; 2^16 of them on a 4 KiB object pass 256 MiB.
        let big = "x".repeat(4096);
        let (mut writer, store) = crate::cache::store::new_store();
        let json = format!(r#"{{"metadata":{{"name":"x","namespace":"a"}},"big":"{big}"}}"#);
        writer.replace(vec![json_object(&json)], "1").await;
        let stores = Stores::from(store);
        let spec = format!("jsonpath={}", "{@}".repeat(1 << 16));
        let failed = Lister::new(template(&spec, Headers::Print), false).render(&stores);
        let message = failed.expect_err("past the limit").to_string();
        assert!(message.contains("more than 256 MiB"), "{message}");
    }
}
