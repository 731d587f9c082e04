//! What the unit tests share: a pod builder and an in-memory output.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use crate::wire::object::RawObject;

/// A pod keyed `namespace/name` (`key`) at resourceVersion `rv`, with only the fields a watch
/// event's object must carry.
pub(crate) fn pod(key: &str, rv: u32) -> RawObject {
    let (namespace, name) = key.split_once('/').expect("ns/name");
    let json = format!(
        r#"{{"kind":"Pod","metadata":{{"name":"{name}","namespace":"{namespace}","resourceVersion":"{rv}"}}}}"#
    );
    RawObject::from_json(json.as_bytes(), "Pod").expect("test pod")
}

/// An output (stdout, a terminal, a log writer) the test reads while the code under test
/// writes to a clone of it.
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("captured").clone()).expect("utf-8")
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("captured").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A protobuf body: `k8s\0` and an envelope naming `kind` around `raw`.
pub(crate) fn enveloped(kind: &str, raw: Vec<u8>) -> Vec<u8> {
    use prost::Message as _;
    let unknown = k8s_pb::apimachinery::pkg::runtime::Unknown {
        type_meta: Some(k8s_pb::apimachinery::pkg::runtime::TypeMeta {
            api_version: Some("v1".to_owned()),
            kind: Some(kind.to_owned()),
        }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut body = crate::wire::protobuf::MAGIC.to_vec();
    body.extend(unknown.encode_to_vec());
    body
}
