//! The cached form of one Kubernetes object: its key, its resourceVersion and its JSON bytes.
//!
//! The reflector never decodes a whole object on the hot path. It reads only
//! `metadata.{namespace,name,resourceVersion}` (and `kind` when present) and keeps the object's
//! JSON as it arrived, so a cached pod costs its wire size and one allocation. A library user who
//! wants the typed object decodes it on demand with [`RawObject::decode`].

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The store key of an object: `namespace/name`, or `name` for cluster-scoped objects.
///
/// Held as the rendered string, so hashing, comparing and printing a key touch one buffer, and
/// sorting keys sorts them bytewise exactly as they are printed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(Box<str>);

impl ObjectKey {
    /// The key of an object called `name` in `namespace` (`None` for cluster-scoped objects).
    pub fn new(namespace: Option<&str>, name: &str) -> Self {
        match namespace {
            Some(namespace) if !namespace.is_empty() => {
                let mut key = String::with_capacity(namespace.len() + 1 + name.len());
                key.push_str(namespace);
                key.push('/');
                key.push_str(name);
                ObjectKey(key.into_boxed_str())
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
    /// The object's `kind` is not the kind being watched.
    #[error("object of kind {found} where {expected} was expected")]
    WrongKind {
        /// The kind the source watches.
        expected: String,
        /// The kind the object carries.
        found: String,
    },
}

/// One object as the reflector caches it: key, resourceVersion and the JSON it arrived as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawObject {
    key: ObjectKey,
    resource_version: Box<str>,
    json: Box<[u8]>,
}

/// The few fields the reflector reads; everything else is skipped by the parser.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    metadata: Option<Metadata<'a>>,
}

#[derive(Deserialize)]
struct Metadata<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    namespace: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "resourceVersion")]
    resource_version: Option<Cow<'a, str>>,
}

impl RawObject {
    /// Reads the key and resourceVersion of `json`, one object, and keeps a copy of its bytes.
    ///
    /// `expected_kind` is checked against the object's `kind` when the object carries one (list
    /// items do not; watch event objects do).
    pub fn from_json(json: &[u8], expected_kind: &str) -> Result<Self, ObjectError> {
        let envelope: Envelope<'_> =
            serde_json::from_slice(json).map_err(|err| ObjectError::Malformed(err.to_string()))?;
        if let Some(kind) = envelope.kind.as_deref()
            && kind != expected_kind
        {
            return Err(ObjectError::WrongKind {
                expected: expected_kind.to_owned(),
                found: kind.to_owned(),
            });
        }
        let metadata = envelope.metadata.ok_or(ObjectError::MissingName)?;
        let name = metadata
            .name
            .as_deref()
            .filter(|name| !name.is_empty())
            .ok_or(ObjectError::MissingName)?;
        for part in [Some(name), metadata.namespace.as_deref()]
            .into_iter()
            .flatten()
        {
            if part.contains('/') {
                return Err(ObjectError::InvalidName(part.to_owned()));
            }
        }
        Ok(RawObject {
            key: ObjectKey::new(metadata.namespace.as_deref(), name),
            resource_version: metadata.resource_version.as_deref().unwrap_or("").into(),
            json: json.into(),
        })
    }

    /// The object's store key.
    pub fn key(&self) -> &ObjectKey {
        &self.key
    }

    /// The object's `metadata.resourceVersion` (empty when the server sent none).
    pub fn resource_version(&self) -> &str {
        &self.resource_version
    }

    /// The object's JSON, exactly as the server sent it.
    pub fn json(&self) -> &[u8] {
        &self.json
    }

    /// Decodes the whole object into a typed value, e.g. a `k8s_openapi` `Pod`.
    pub fn decode<K: DeserializeOwned>(&self) -> serde_json::Result<K> {
        serde_json::from_slice(&self.json)
    }
}

/// Reads only `metadata.resourceVersion` of an object, as a BOOKMARK carries it.
pub fn resource_version_of(json: &[u8]) -> Result<String, ObjectError> {
    let envelope: Envelope<'_> =
        serde_json::from_slice(json).map_err(|err| ObjectError::Malformed(err.to_string()))?;
    envelope
        .metadata
        .and_then(|metadata| metadata.resource_version)
        .map(Cow::into_owned)
        .filter(|rv| !rv.is_empty())
        .ok_or_else(|| ObjectError::Malformed("no metadata.resourceVersion".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_renders_namespace_slash_name_and_name_alone_when_cluster_scoped() {
        assert_eq!(ObjectKey::new(Some("shop"), "web-1").as_str(), "shop/web-1");
        assert_eq!(ObjectKey::new(None, "node-a").as_str(), "node-a");
        assert_eq!(ObjectKey::new(Some(""), "node-a").as_str(), "node-a");
        let key = ObjectKey::new(Some("shop"), "web-1");
        assert_eq!(key.namespace(), Some("shop"));
        assert_eq!(key.name(), "web-1");
        assert_eq!(ObjectKey::new(None, "n").namespace(), None);
    }

    #[test]
    fn keys_sort_bytewise_as_printed() {
        let mut keys = [
            ObjectKey::new(Some("a"), "x"),
            ObjectKey::new(Some("a-b"), "x"),
            ObjectKey::new(Some("B"), "x"),
        ];
        keys.sort();
        let printed: Vec<&str> = keys.iter().map(ObjectKey::as_str).collect();
        assert_eq!(printed, ["B/x", "a-b/x", "a/x"]);
    }

    #[test]
    fn from_json_reads_key_and_resource_version_and_keeps_the_bytes() {
        let json = br#"{"kind":"Pod","metadata":{"name":"c0","namespace":"cap","resourceVersion":"31544","labels":{"run":"c0"}},"spec":{}}"#;
        let object = RawObject::from_json(json, "Pod").expect("valid pod");
        assert_eq!(object.key().as_str(), "cap/c0");
        assert_eq!(object.resource_version(), "31544");
        assert_eq!(object.json(), json);
    }

    #[test]
    fn from_json_accepts_list_items_without_kind() {
        let object = RawObject::from_json(br#"{"metadata":{"name":"n1"}}"#, "Node").expect("item");
        assert_eq!(object.key().as_str(), "n1");
        assert_eq!(object.resource_version(), "");
    }

    #[test]
    fn from_json_handles_escaped_strings() {
        let object = RawObject::from_json(
            br#"{"metadata":{"name":"a\u002db","namespace":"n\u0073"}}"#,
            "Pod",
        )
        .expect("escaped");
        assert_eq!(object.key().as_str(), "ns/a-b");
    }

    #[test]
    fn from_json_rejects_objects_it_cannot_key() {
        assert_eq!(
            RawObject::from_json(br#"{"metadata":{"namespace":"a"}}"#, "Pod"),
            Err(ObjectError::MissingName)
        );
        assert_eq!(
            RawObject::from_json(br#"{"kind":"Pod"}"#, "Pod"),
            Err(ObjectError::MissingName)
        );
        assert_eq!(
            RawObject::from_json(br#"{"kind":"Secret","metadata":{"name":"s"}}"#, "Pod"),
            Err(ObjectError::WrongKind {
                expected: "Pod".into(),
                found: "Secret".into()
            })
        );
        // `a` + `b/c` and `a/b` + `c` would both be keyed `a/b/c`.
        assert_eq!(
            RawObject::from_json(br#"{"metadata":{"name":"b/c","namespace":"a"}}"#, "Pod"),
            Err(ObjectError::InvalidName("b/c".into()))
        );
        assert_eq!(
            RawObject::from_json(br#"{"metadata":{"name":"c","namespace":"a/b"}}"#, "Pod"),
            Err(ObjectError::InvalidName("a/b".into()))
        );
        assert!(matches!(
            RawObject::from_json(b"{\"metadata\":", "Pod"),
            Err(ObjectError::Malformed(_))
        ));
        assert!(matches!(
            RawObject::from_json(b"\xff\xfe", "Pod"),
            Err(ObjectError::Malformed(_))
        ));
    }

    #[test]
    fn decode_gives_the_typed_object() {
        let json = br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"c0","namespace":"cap"},"spec":{"containers":[{"name":"c","image":"i"}]}}"#;
        let object = RawObject::from_json(json, "Pod").expect("pod");
        let pod: k8s_openapi::api::core::v1::Pod = object.decode().expect("typed pod");
        assert_eq!(pod.metadata.name.as_deref(), Some("c0"));
        assert_eq!(pod.spec.map(|spec| spec.containers.len()), Some(1));
    }

    #[test]
    fn resource_version_of_reads_a_bookmark() {
        let bookmark = br#"{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"31552","creationTimestamp":null},"spec":{"containers":null},"status":{}}"#;
        assert_eq!(resource_version_of(bookmark).as_deref(), Ok("31552"));
        assert!(resource_version_of(br#"{"metadata":{}}"#).is_err());
    }
}
