//! The cached form of one Kubernetes object: its key, its resourceVersion and its JSON bytes.
//!
//! The reflector never decodes a whole object on the hot path. It reads only
//! `metadata.{namespace,name,resourceVersion}` (and `kind` when present) and keeps the object's
//! JSON as it arrived, so a cached pod costs its wire size and one allocation. A library user who
//! wants the typed object decodes it on demand with [`RawObject::decode`] (JSON),
//! [`RawObject::decode_protobuf`] (protobuf, k8s-pb's types).
//!
//! `metadata.managedFields` is dropped on the way in (client-go's usual informer transform): it
//! is a third of a typical pod's JSON and only server-side apply reads it. The parse that reads
//! the metadata also finds where the member lies, and the stored copy is spliced around it,
//! byte for byte, without re-serializing anything.

mod row;
mod scan;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

pub use crate::wire::protobuf::INITIAL_EVENTS_END_ANNOTATION;
pub use row::{TableColumn, TableColumns, TableRow};
pub(crate) use scan::ScannedObject;

/// The store key of an object: `namespace/name`, or `name` for cluster-scoped objects.
///
/// Held as the rendered string, so hashing, comparing and printing a key touch one buffer, and
/// sorting keys sorts them bytewise exactly as they are printed. The string is shared: the
/// store's map and the cached object hold one allocation, and a snapshot of the keys copies
/// pointers, not strings.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(Arc<str>);

impl ObjectKey {
    /// The key of an object called `name` in `namespace` (`None` for cluster-scoped objects).
    pub fn new(namespace: Option<&str>, name: &str) -> Self {
        match namespace {
            Some(namespace) if !namespace.is_empty() => {
                let mut key = String::with_capacity(namespace.len() + 1 + name.len());
                key.push_str(namespace);
                key.push('/');
                key.push_str(name);
                ObjectKey(key.into())
            }
            _ => ObjectKey(name.into()),
        }
    }

    /// The key as printed: `namespace/name` or `name`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The namespace part, `None` for a cluster-scoped object.
    pub fn namespace(&self) -> Option<&str> {
        self.0.split_once('/').map(|(namespace, _)| namespace)
    }

    /// The name part.
    pub fn name(&self) -> &str {
        self.0.split_once('/').map_or(&self.0, |(_, name)| name)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why an object's JSON could not be cached.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ObjectError {
    /// The bytes are not a JSON object with a readable `metadata`.
    #[error("not a valid object: {0}")]
    Malformed(String),
    /// The object has no `metadata.name`, so it cannot be keyed.
    #[error("object has no metadata.name")]
    MissingName,
    /// A name or namespace the API server would never accept: it would make keys collide.
    #[error("object name or namespace {0:?} contains '/'")]
    InvalidName(String),
    /// A row of a server-side Table that cannot be shown: no `object` to key it by, or not one
    /// cell per column.
    #[error("bad Table row: {0}")]
    BadRow(String),
    /// The object carries `metadata` twice. Go's decoder would merge the two into one (the
    /// later members winning), so kubectl could name it by either; kreflect refuses it rather
    /// than key it by a name the server's other clients may not see.
    #[error(
        "the object has two metadata members (kubectl would merge them); refusing it rather \
         than guess its name"
    )]
    MetadataTwice,
    /// The object's `kind` is not the kind being watched.
    #[error("object of kind {found} where {expected} was expected")]
    WrongKind {
        /// The kind the source watches.
        expected: String,
        /// The kind the object carries.
        found: String,
    },
}

/// One object as the reflector caches it: key, resourceVersion and the JSON it arrived as; or,
/// listed as a row of a server-side Table (`-o wide`), key, resourceVersion and the row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawObject {
    key: ObjectKey,
    resource_version: Box<str>,
    /// The object as it arrived, minus `metadata.managedFields`, in `encoding`.
    bytes: Box<[u8]>,
    encoding: Encoding,
    row: Option<Box<TableRow>>,
}

/// How an object's bytes are encoded: as the server sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// JSON (`application/json`): every kind, and Table rows (which keep no bytes).
    Json,
    /// Kubernetes protobuf (`application/vnd.kubernetes.protobuf`): the object's message (a
    /// `Pod`, say) without the `k8s\0` envelope around it. Built-in kinds only.
    Protobuf,
}

/// Why [`RawObject::decode`] or [`RawObject::decode_protobuf`] could not give a typed value.
#[derive(Debug, thiserror::Error)]
pub enum TypedDecodeError {
    /// The JSON does not fit the type.
    #[error("cannot decode the object's JSON: {0}")]
    Json(serde_json::Error),
    /// The protobuf does not fit the message type.
    #[error("cannot decode the object's protobuf: {0}")]
    Protobuf(prost::DecodeError),
    /// The object is held in the other encoding; the message names the method to call.
    #[error("{}", other_encoding(*held))]
    OtherEncoding {
        /// The encoding the object is held in.
        held: Encoding,
    },
    /// A Table row keeps only its cells, not the object.
    #[error("a Table row keeps only its cells, not the object")]
    TableRow,
}

/// What [`TypedDecodeError::OtherEncoding`] says: how to decode an object held as `held`.
fn other_encoding(held: Encoding) -> &'static str {
    match held {
        Encoding::Protobuf => {
            "the object was received as protobuf: decode it with \
             RawObject::decode_protobuf::<M>() and a prost type such as \
             k8s_pb::api::core::v1::Pod, or ask for JSON (--wire json, SourceOptions::wire)"
        }
        Encoding::Json => {
            "the object was received as JSON: decode it with RawObject::decode::<T>() and a \
             serde type such as k8s_openapi::api::core::v1::Pod"
        }
    }
}

/// The few fields the reflector reads, all in the object's head: what [`read_head`] reads.
#[derive(Default)]
struct Head<'a> {
    kind: Option<Cow<'a, str>>,
    metadata: Option<Metadata<'a>>,
}

/// Reads `kind` and `metadata` of an object whose bytes are already known to be valid JSON,
/// and stops right after `metadata`: the API server writes `kind`, `apiVersion`, `metadata`
/// first, so the bulk of the object (spec, status) is not scanned a second time. A `kind`
/// written after `metadata` is not read. A second `metadata` member is looked for only when the
/// bytes hold the string `"metadata"` more than once (a Deployment's pod template does; a pod
/// does not): then the object's members are counted, and two are [`ObjectError::MetadataTwice`].
fn read_head(json: &[u8]) -> Result<Head<'_>, ObjectError> {
    let mut head = Head::default();
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let visitor = HeadVisitor { head: &mut head };
    match serde::Deserializer::deserialize_map(&mut deserializer, visitor) {
        Ok(()) => Ok(head),
        // Stopping after `metadata` leaves the map unfinished, which the parser reports.
        Err(_) if head.metadata.is_some() => {
            // The scan stops at a second mention; most objects have one, read once by memchr.
            let mut mentions = memchr::memmem::find_iter(json, b"\"metadata\"");
            if mentions.nth(1).is_some() && metadata_members(json) > 1 {
                return Err(ObjectError::MetadataTwice);
            }
            Ok(head)
        }
        Err(err) => Err(ObjectError::Malformed(err.to_string())),
    }
}

/// How many `metadata` members the object `json` has (0 if it is not an object).
fn metadata_members(json: &[u8]) -> usize {
    struct Count;
    impl<'de> serde::de::Visitor<'de> for Count {
        type Value = usize;
        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("a Kubernetes object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
            let mut count = 0;
            while let Some(key) = map.next_key::<HeadKey>()? {
                count += usize::from(matches!(key, HeadKey::Metadata));
                map.next_value::<serde::de::IgnoredAny>()?;
            }
            Ok(count)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    serde::Deserializer::deserialize_map(&mut deserializer, Count).unwrap_or(0)
}

struct HeadVisitor<'h, 'de> {
    head: &'h mut Head<'de>,
}

impl<'de> serde::de::Visitor<'de> for HeadVisitor<'_, 'de> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a Kubernetes object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<HeadKey>()? {
            match key {
                HeadKey::Kind => self.head.kind = Some(map.next_value::<BorrowedStr<'de>>()?.0),
                HeadKey::Metadata => {
                    self.head.metadata = Some(map.next_value()?);
                    return Ok(());
                }
                HeadKey::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A member name of an object's head, read without allocating.
enum HeadKey {
    Kind,
    Metadata,
    Other,
}

impl<'de> Deserialize<'de> for HeadKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl serde::de::Visitor<'_> for KeyVisitor {
            type Value = HeadKey;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a member name")
            }
            fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<HeadKey, E> {
                Ok(match key {
                    "kind" => HeadKey::Kind,
                    "metadata" => HeadKey::Metadata,
                    _ => HeadKey::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// A string borrowed from the input when it has no escapes, owned otherwise.
struct BorrowedStr<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for BorrowedStr<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> serde::de::Visitor<'de> for StrVisitor {
            type Value = BorrowedStr<'de>;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Borrowed(text)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Owned(text.to_owned())))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

/// The members of an object's `metadata` the reflector reads.
///
/// A member written twice (only a broken or hostile server writes one so) is read as Go's
/// encoding/json reads it, which is how the API server and client-go read it: the last one
/// wins, except that a `null` leaves a string as it was (Go reads a null into a string as
/// nothing; `creationTimestamp`, a `metav1.Time`, does read it, as the zero time). serde's
/// derive would refuse the object instead, and the object would be missing from the cache.
#[derive(Default)]
struct Metadata<'a> {
    name: Option<Cow<'a, str>>,
    namespace: Option<Cow<'a, str>>,
    resource_version: Option<Cow<'a, str>>,
    /// The value of each `managedFields` member, in order (one, but for a broken server): every
    /// one is cut out of the stored copy.
    managed_fields: ManagedFields<'a>,
    creation_timestamp: Option<Cow<'a, str>>,
}

/// The `managedFields` members of a `metadata`: the last one, and any before it, kept apart so
/// that the usual single member costs no allocation.
#[derive(Default)]
struct ManagedFields<'a> {
    last: Option<&'a RawValue>,
    earlier: Vec<&'a RawValue>,
}

impl<'a> ManagedFields<'a> {
    fn push(&mut self, value: &'a RawValue) {
        if let Some(earlier) = self.last.replace(value) {
            self.earlier.push(earlier);
        }
    }

    /// The members' values, in the order written.
    fn values(&self) -> impl DoubleEndedIterator<Item = &'a [u8]> + '_ {
        self.earlier
            .iter()
            .chain(&self.last)
            .map(|value| value.get().as_bytes())
    }
}

/// A member name of `metadata`, read without allocating.
enum MetadataKey {
    Name,
    Namespace,
    ResourceVersion,
    ManagedFields,
    CreationTimestamp,
    Other,
}

impl<'de> Deserialize<'de> for MetadataKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl serde::de::Visitor<'_> for KeyVisitor {
            type Value = MetadataKey;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a member name")
            }
            fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<MetadataKey, E> {
                Ok(match key {
                    "name" => MetadataKey::Name,
                    "namespace" => MetadataKey::Namespace,
                    "resourceVersion" => MetadataKey::ResourceVersion,
                    "managedFields" => MetadataKey::ManagedFields,
                    "creationTimestamp" => MetadataKey::CreationTimestamp,
                    _ => MetadataKey::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Metadata<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MetadataVisitor)
    }
}

struct MetadataVisitor;

impl<'de> serde::de::Visitor<'de> for MetadataVisitor {
    type Value = Metadata<'de>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("an object's metadata")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut metadata = Metadata::default();
        while let Some(key) = map.next_key::<MetadataKey>()? {
            let string = match key {
                MetadataKey::Name => &mut metadata.name,
                MetadataKey::Namespace => &mut metadata.namespace,
                MetadataKey::ResourceVersion => &mut metadata.resource_version,
                MetadataKey::ManagedFields => {
                    metadata.managed_fields.push(map.next_value()?);
                    continue;
                }
                MetadataKey::CreationTimestamp => {
                    let created = map.next_value::<Option<BorrowedStr<'de>>>()?;
                    metadata.creation_timestamp = created.map(|created| created.0);
                    continue;
                }
                MetadataKey::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    continue;
                }
            };
            // A null leaves the string as it was, as Go reads it.
            if let Some(value) = map.next_value::<Option<BorrowedStr<'de>>>()? {
                *string = Some(value.0);
            }
        }
        Ok(metadata)
    }
}

impl RawObject {
    /// Reads the key and resourceVersion of `json`, one object, and keeps a copy of its bytes
    /// without `metadata.managedFields`.
    ///
    /// `expected_kind` is checked against the object's `kind` when the object carries one (list
    /// items do not; watch event objects do).
    ///
    /// ```
    /// use kreflect::wire::object::{ObjectError, RawObject};
    ///
    /// let json = br#"{"kind":"Pod","metadata":{"namespace":"shop","name":"web-1","resourceVersion":"7"}}"#;
    /// let pod = RawObject::from_json(json, "Pod")?;
    /// assert_eq!(pod.key().as_str(), "shop/web-1");
    /// assert_eq!(pod.resource_version(), "7");
    /// let unnamed = RawObject::from_json(br#"{"metadata":{"resourceVersion":"7"}}"#, "Pod");
    /// assert!(matches!(unnamed, Err(ObjectError::MissingName)));
    /// # Ok::<(), ObjectError>(())
    /// ```
    pub fn from_json(json: &[u8], expected_kind: &str) -> Result<Self, ObjectError> {
        // Cut out as a `RawValue`, as lists and watch lines cut out their objects: that checks
        // the whole text is UTF-8, where `IgnoredAny` skips strings without looking at them.
        serde_json::from_slice::<&RawValue>(json)
            .map_err(|err| ObjectError::Malformed(err.to_string()))?;
        Self::from_valid_json(json, Some(expected_kind))
    }

    /// [`RawObject::from_json`] for bytes already known to be one valid JSON value (a
    /// `RawValue` cut from a list or watch line the parser has checked): reads only the
    /// object's head, up to its `metadata`. The object's `kind`, when it has one, must be
    /// `expected_kind` when given; `None` reads it whatever it says (a typed list's item).
    pub(crate) fn from_valid_json(
        json: &[u8],
        expected_kind: Option<&str>,
    ) -> Result<Self, ObjectError> {
        Self::from_head(json, read_head(json)?, expected_kind)
    }

    /// [`RawObject::from_valid_json`] for an object read in the pass that cut it out of its
    /// list or watch line ([`ScannedObject`]), `json` being its bytes
    /// ([`ScannedObject::bytes_in`]).
    pub(crate) fn from_scanned(
        json: &[u8],
        scanned: ScannedObject<'_>,
        expected_kind: Option<&str>,
    ) -> Result<Self, ObjectError> {
        Self::from_head(json, scanned.head, expected_kind)
    }

    /// The object `json`, whose head is `head` (read from `json`).
    fn from_head(
        json: &[u8],
        head: Head<'_>,
        expected_kind: Option<&str>,
    ) -> Result<Self, ObjectError> {
        if let (Some(kind), Some(expected_kind)) = (head.kind.as_deref(), expected_kind)
            && kind != expected_kind
        {
            return Err(ObjectError::WrongKind {
                expected: expected_kind.to_owned(),
                found: kind.to_owned(),
            });
        }
        let metadata = head.metadata.ok_or(ObjectError::MissingName)?;
        let key = key_of(&metadata)?;
        let kept = without_members(json, metadata.managed_fields.values(), b"\"managedFields\"");
        Ok(RawObject {
            key,
            resource_version: metadata.resource_version.as_deref().unwrap_or("").into(),
            bytes: kept,
            encoding: Encoding::Json,
            row: None,
        })
    }

    /// Reads the key and resourceVersion of `message`, one protobuf-encoded object (the `raw`
    /// of its `k8s\0` envelope), and keeps a copy of its bytes without
    /// `metadata.managedFields`. Only `metadata` is read; `spec` and `status` are skipped.
    pub fn from_protobuf(message: &[u8]) -> Result<Self, ObjectError> {
        let head = crate::wire::protobuf::read_object(message)
            .map_err(|err| ObjectError::Malformed(err.to_string()))?;
        let key = checked_key(
            Some(head.name).filter(|name| !name.is_empty()),
            Some(head.namespace),
        )?;
        Ok(RawObject {
            key,
            resource_version: head.resource_version.into(),
            bytes: crate::wire::protobuf::without_managed_fields(message, &head).into_boxed_slice(),
            encoding: Encoding::Protobuf,
            row: None,
        })
    }

    /// A row of a server-side Table: keyed by its `object` (valid JSON, `PartialObjectMetadata`
    /// or the whole object, of any kind), keeping the row's `cells` and the object's
    /// creationTimestamp, not its JSON. A row with more cells than `columns` loses the extra
    /// ones, and one with fewer gets empty cells, as kubectl prints them (kubernetes#66379):
    /// a broken server's row still shows its object.
    pub(crate) fn from_table_row(
        object: &[u8],
        columns: Arc<TableColumns>,
        cells: Vec<String>,
    ) -> Result<Self, ObjectError> {
        let mut cells = cells;
        cells.resize(columns.columns().len(), String::new());
        let cells = cells.into_boxed_slice();
        let head = read_head(object)?;
        let metadata = head.metadata.ok_or(ObjectError::MissingName)?;
        let created = metadata
            .creation_timestamp
            .as_deref()
            .and_then(|created| humantime::parse_rfc3339_weak(created).ok());
        Ok(RawObject {
            key: key_of(&metadata)?,
            resource_version: metadata.resource_version.as_deref().unwrap_or("").into(),
            bytes: Box::default(),
            encoding: Encoding::Json,
            row: Some(Box::new(TableRow {
                columns,
                cells,
                created,
                received: std::time::SystemTime::now(),
            })),
        })
    }

    /// An object known only by its key and resourceVersion, remembered from an earlier run
    /// (`--state`): its JSON is the `metadata` that says as much (`name`, `namespace`,
    /// `resourceVersion`), so a template over it prints those and nothing else.
    ///
    /// ```
    /// use kreflect::wire::object::{ObjectKey, RawObject};
    ///
    /// let remembered = RawObject::remembered(ObjectKey::new(Some("shop"), "web-1"), "7");
    /// assert_eq!(remembered.key().as_str(), "shop/web-1");
    /// assert_eq!(remembered.resource_version(), "7");
    /// ```
    pub fn remembered(key: ObjectKey, resource_version: &str) -> Self {
        let mut metadata = serde_json::Map::new();
        metadata.insert("name".into(), key.name().into());
        if let Some(namespace) = key.namespace() {
            metadata.insert("namespace".into(), namespace.into());
        }
        metadata.insert("resourceVersion".into(), resource_version.into());
        let json = serde_json::json!({ "metadata": metadata });
        RawObject {
            key,
            resource_version: resource_version.into(),
            bytes: json.to_string().into_bytes().into_boxed_slice(),
            encoding: Encoding::Json,
            row: None,
        }
    }

    /// The object's store key.
    pub fn key(&self) -> &ObjectKey {
        &self.key
    }

    /// The object's `metadata.resourceVersion` (empty when the server sent none).
    pub fn resource_version(&self) -> &str {
        &self.resource_version
    }

    /// The object's JSON as the server sent it, minus `metadata.managedFields`; empty for a
    /// Table row, which keeps only its cells; `None` for an object received as protobuf.
    pub fn json(&self) -> Option<&[u8]> {
        (self.encoding == Encoding::Json).then_some(&*self.bytes)
    }

    /// The object's bytes as the server sent them (in [`RawObject::encoding`]), minus
    /// `metadata.managedFields`.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// How [`RawObject::bytes`] are encoded.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The object's row, when it was listed as a row of a server-side Table.
    pub fn table_row(&self) -> Option<&TableRow> {
        self.row.as_deref()
    }

    /// Decodes an object received as JSON into a serde type, e.g. `k8s_openapi`'s `Pod`. An
    /// object received as protobuf is [`TypedDecodeError::OtherEncoding`]: decode it with
    /// [`RawObject::decode_protobuf`].
    pub fn decode<K: DeserializeOwned>(&self) -> Result<K, TypedDecodeError> {
        self.check_encoding(Encoding::Json)?;
        serde_json::from_slice(&self.bytes).map_err(TypedDecodeError::Json)
    }

    /// Decodes an object received as protobuf into a prost message type, e.g. `k8s_pb`'s
    /// `api::core::v1::Pod` (all fields but `metadata.managedFields`, which was dropped). An
    /// object received as JSON is [`TypedDecodeError::OtherEncoding`]: use
    /// [`RawObject::decode`].
    pub fn decode_protobuf<M: prost::Message + Default>(&self) -> Result<M, TypedDecodeError> {
        self.check_encoding(Encoding::Protobuf)?;
        M::decode(&*self.bytes).map_err(TypedDecodeError::Protobuf)
    }

    fn check_encoding(&self, wanted: Encoding) -> Result<(), TypedDecodeError> {
        if self.row.is_some() {
            return Err(TypedDecodeError::TableRow);
        }
        if self.encoding != wanted {
            return Err(TypedDecodeError::OtherEncoding {
                held: self.encoding,
            });
        }
        Ok(())
    }
}

/// The key of an object with this `metadata`: it needs a name, and neither name nor namespace
/// may contain '/'.
fn key_of(metadata: &Metadata<'_>) -> Result<ObjectKey, ObjectError> {
    checked_key(
        metadata.name.as_deref().filter(|name| !name.is_empty()),
        metadata.namespace.as_deref(),
    )
}

/// The key of an object called `name` in `namespace`: it needs a name, and neither name nor
/// namespace may contain '/'.
fn checked_key(name: Option<&str>, namespace: Option<&str>) -> Result<ObjectKey, ObjectError> {
    let name = name.ok_or(ObjectError::MissingName)?;
    for part in [Some(name), namespace].into_iter().flatten() {
        if part.contains('/') {
            return Err(ObjectError::InvalidName(part.to_owned()));
        }
    }
    Ok(ObjectKey::new(namespace, name))
}

/// `json` without the members `key: value` of one JSON object, given their `values` (slices of
/// `json`, as borrowed `RawValue`s are) in the order written and the members' `key` exactly as
/// written (quotes included): each cut out with the comma that separates it from a neighbour
/// ([`member_span`]). A member that cannot be found so (its key escaped, say) is kept.
fn without_members<'j>(
    json: &[u8],
    values: impl DoubleEndedIterator<Item = &'j [u8]>,
    key: &[u8],
) -> Box<[u8]> {
    let mut kept: Option<Vec<u8>> = None;
    // The last first: cutting a later member leaves the bytes up to an earlier one's value as
    // they were (its span starts at the comma after that value at the earliest), so the earlier
    // value's offsets in `json` still hold in what is kept.
    for value in values.rev() {
        let current = kept.as_deref().unwrap_or(json);
        let Some(span) = offset_in(json, value).and_then(|value| member_span(current, value, key))
        else {
            continue;
        };
        let mut cut = Vec::with_capacity(current.len() - span.len());
        cut.extend_from_slice(&current[..span.start]);
        cut.extend_from_slice(&current[span.end..]);
        kept = Some(cut);
    }
    kept.map_or_else(|| json.into(), Vec::into_boxed_slice)
}

/// Where `value` lies in `json`; `None` when it is not a slice of it.
fn offset_in(json: &[u8], value: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = (value.as_ptr() as usize).checked_sub(json.as_ptr() as usize)?;
    let end = start.checked_add(value.len())?;
    (end <= json.len()).then_some(start..end)
}

/// The byte range of the member `key: value` of a JSON object in `json`, with the comma that
/// separates it from a neighbour, given where its `value` lies and the member's `key` exactly as
/// written (quotes included). `None` when the key is not written literally before the value
/// (escaped, say): then nothing is removed.
fn member_span(
    json: &[u8],
    value: std::ops::Range<usize>,
    key: &[u8],
) -> Option<std::ops::Range<usize>> {
    let std::ops::Range { start, end } = value;
    if end > json.len() {
        return None;
    }
    let skip_back = |mut at: usize| {
        while at > 0 && json[at - 1].is_ascii_whitespace() {
            at -= 1;
        }
        at
    };
    let skip_forward = |mut at: usize| {
        while at < json.len() && json[at].is_ascii_whitespace() {
            at += 1;
        }
        at
    };
    let colon = skip_back(start).checked_sub(1)?;
    if json[colon] != b':' {
        return None;
    }
    let key_end = skip_back(colon);
    let key_start = key_end.checked_sub(key.len())?;
    if &json[key_start..key_end] != key {
        return None;
    }
    let before = skip_back(key_start).checked_sub(1)?;
    match json[before] {
        // A previous member: remove from its comma to the end of the value.
        b',' => Some(before..end),
        // The first member: remove up to the next member, or leave `{}` when it was the only one.
        b'{' => {
            let after = skip_forward(end);
            match json.get(after) {
                Some(b',') => Some(key_start..after + 1),
                Some(b'}') => Some(key_start..end),
                _ => None,
            }
        }
        _ => None,
    }
}

/// What a BOOKMARK's object says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bookmark {
    /// `metadata.resourceVersion`: the collection is at least at this version.
    pub resource_version: String,
    /// Annotated `k8s.io/initial-events-end: "true"`: a streaming list's initial state is
    /// complete.
    pub initial_events_end: bool,
}

/// Reads a BOOKMARK's object: `metadata.resourceVersion` and the initial-events-end annotation.
pub fn bookmark_of(json: &[u8]) -> Result<Bookmark, ObjectError> {
    #[derive(Deserialize)]
    struct Object<'a> {
        #[serde(borrow, default)]
        metadata: Option<BookmarkMetadata<'a>>,
    }
    #[derive(Deserialize)]
    struct BookmarkMetadata<'a> {
        #[serde(borrow, default, rename = "resourceVersion")]
        resource_version: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        annotations: Option<std::collections::HashMap<Cow<'a, str>, Cow<'a, str>>>,
    }
    let object: Object<'_> =
        serde_json::from_slice(json).map_err(|err| ObjectError::Malformed(err.to_string()))?;
    let metadata = object
        .metadata
        .ok_or_else(|| ObjectError::Malformed("no metadata.resourceVersion".to_owned()))?;
    let resource_version = metadata
        .resource_version
        .map(Cow::into_owned)
        .filter(|rv| !rv.is_empty())
        .ok_or_else(|| ObjectError::Malformed("no metadata.resourceVersion".to_owned()))?;
    let initial_events_end = metadata.annotations.is_some_and(|annotations| {
        annotations
            .get(INITIAL_EVENTS_END_ANNOTATION)
            .is_some_and(|value| value == "true")
    });
    Ok(Bookmark {
        resource_version,
        initial_events_end,
    })
}

#[cfg(test)]
mod tests;
