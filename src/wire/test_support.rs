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
