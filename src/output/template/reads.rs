//! What of an object a template reads ([`Reads`]), and an object's JSON parsed into no more than
//! that ([`parse`]): a template of a few fields (`{.metadata.name}`, custom columns of three
//! paths) then pays for building those fields' values, not the whole object's, which is most of
//! what a template costs per event.
//!
//! What is left out is skipped by the parser, never read as a value, so it can neither fail
//! (a number past a float's range, nesting past serde_json's 128 levels) nor cost an
//! allocation. A template prints the same from the parsed part as from the whole object: what
//! it reads is all there, and [`Reads`] is computed conservatively (a wildcard, `..`, or a
//! value printed whole reads everything below it).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// What of a value a template reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reads {
    /// All of it.
    All,
    /// Of a map, these keys (each with what of its value is read); of a list, the same of each
    /// item; of anything else, the value itself.
    Fields(BTreeMap<String, Reads>),
}

impl Reads {
    /// Nothing: the value itself if it is not a map or a list.
    pub(crate) fn nothing() -> Self {
        Reads::Fields(BTreeMap::new())
    }

    /// These reads with everything at `path` read too.
    pub(crate) fn add(&mut self, path: &[String]) {
        if let Some(end) = self.along(path) {
            *end = Reads::All;
        }
    }

    /// These reads with the keys along `path` kept, and what is at its end kept as nothing (a
    /// map's keys left out, a list's items kept as nothing, a scalar itself): what a template
    /// needs of a value whose presence and count matter but whose content does not.
    pub(crate) fn touch(&mut self, path: &[String]) {
        self.along(path);
    }

    /// The reads at the end of `path`, the keys along it added (as nothing) where missing;
    /// `None` where everything is read already on the way.
    fn along(&mut self, path: &[String]) -> Option<&mut Reads> {
        let mut at = self;
        for key in path {
            match at {
                Reads::All => return None,
                Reads::Fields(fields) => {
                    at = fields.entry(key.clone()).or_insert_with(Reads::nothing);
                }
            }
        }
        Some(at)
    }

    /// These reads with `other`'s too.
    pub(crate) fn merge(&mut self, other: Reads) {
        match (&mut *self, other) {
            (Reads::All, _) => {}
            (_, Reads::All) => *self = Reads::All,
            (Reads::Fields(mine), Reads::Fields(theirs)) => {
                for (key, reads) in theirs {
                    match mine.get_mut(&key) {
                        Some(existing) => existing.merge(reads),
                        None => {
                            mine.insert(key, reads);
                        }
                    }
                }
            }
        }
    }

    /// What is read of the value at key `key`.
    pub(crate) fn at(&self, key: &str) -> Reads {
        match self {
            Reads::All => Reads::All,
            Reads::Fields(fields) => fields.get(key).cloned().unwrap_or_else(Reads::nothing),
        }
    }
}

/// `json` parsed as [`serde_json::from_slice`] parses it into a [`Value`], with only what `reads`
/// reads: the keys of a map not read are left out (skipped, not parsed).
pub(crate) fn parse(json: &[u8], reads: &Reads) -> serde_json::Result<Value> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let value = Projected(reads).deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// A value read as far as its [`Reads`] go.
struct Projected<'r>(&'r Reads);

impl<'de> DeserializeSeed<'de> for Projected<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        match self.0 {
            Reads::All => serde::Deserialize::deserialize(deserializer),
            Reads::Fields(fields) => deserializer.deserialize_any(FieldsVisitor(fields, self.0)),
        }
    }
}

/// Builds a value as serde_json's own `Value` visitor does, keeping only `.0`'s keys of a map
/// (and applying `.1`, the same reads, to each item of a list).
struct FieldsVisitor<'r>(&'r BTreeMap<String, Reads>, &'r Reads);

impl<'de> Visitor<'de> for FieldsVisitor<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut list = Vec::new();
        while let Some(item) = items.next_element_seed(Projected(self.1))? {
            list.push(item);
        }
        Ok(Value::Array(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = entries.next_key::<String>()? {
            match self.0.get(&key) {
                Some(reads) => {
                    let value = entries.next_value_seed(Projected(reads))?;
                    map.insert(key, value);
                }
                None => {
                    entries.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(text: &str) -> Vec<String> {
        text.split('.')
            .filter(|key| !key.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn only_the_keys_read_are_parsed_and_lists_apply_reads_to_each_item() {
        let json = br#"{"metadata":{"name":"web","labels":{"a":"1"},"deep":[[[1e999]]]},
            "spec":{"containers":[{"name":"a","image":"i","env":[1]},{"name":"b"}]},"kind":"Pod"}"#;
        let mut reads = Reads::nothing();
        reads.add(&path("metadata.name"));
        reads.add(&path("spec.containers.name"));
        reads.add(&path("kind"));
        assert_eq!(
            parse(json, &reads).expect("parses"),
            json!({"metadata":{"name":"web"},"spec":{"containers":[{"name":"a"},{"name":"b"}]},"kind":"Pod"})
        );
        let whole: Value = serde_json::from_slice(br#"{"a":{"b":[1,2.5,null,true,"x"]}}"#).unwrap();
        assert_eq!(
            parse(br#"{"a":{"b":[1,2.5,null,true,"x"]}}"#, &Reads::All).unwrap(),
            whole
        );
        let mut a = Reads::nothing();
        a.add(&path("a"));
        assert_eq!(
            parse(br#"{"a":{"b":[1,2.5,null,true,"x"]}}"#, &a).unwrap(),
            whole
        );
    }

    #[test]
    fn what_is_skipped_is_still_json_that_must_parse() {
        let reads = Reads::nothing();
        assert!(parse(br#"{"a":[1,}"#, &reads).is_err());
        assert!(parse(br#"{"a":1} x"#, &reads).is_err());
        assert_eq!(parse(br#"{"a":1}"#, &reads).unwrap(), json!({}));
    }

    #[test]
    fn what_is_skipped_may_nest_past_what_a_value_may() {
        let deep = format!(
            r#"{{"kind":"Blob","spec":{}1{}}}"#,
            "[".repeat(300),
            "]".repeat(300)
        );
        let mut kind = Reads::nothing();
        kind.add(&path("kind"));
        assert_eq!(
            parse(deep.as_bytes(), &kind).expect("parses"),
            json!({"kind":"Blob"})
        );
        assert!(
            parse(deep.as_bytes(), &Reads::All).is_err(),
            "past 128 levels as a value"
        );
    }

    #[test]
    fn a_touched_path_keeps_its_keys_and_the_count_of_its_items_not_their_content() {
        let mut reads = Reads::nothing();
        reads.touch(&path("a.b"));
        assert_eq!(
            parse(br#"{"a":{"b":[{"x":1},2,null],"c":3},"d":4}"#, &reads).unwrap(),
            json!({"a":{"b":[{},2,null]}})
        );
        let mut all = Reads::nothing();
        all.add(&path("a"));
        all.touch(&path("a.b"));
        assert_eq!(all.at("a"), Reads::All);
    }

    #[test]
    fn reads_merge_and_everything_below_absorbs_fields() {
        let mut reads = Reads::nothing();
        reads.add(&path("metadata.name"));
        let mut other = Reads::nothing();
        other.add(&path("metadata"));
        reads.merge(other);
        assert_eq!(reads.at("metadata"), Reads::All);
        assert_eq!(reads.at("spec"), Reads::nothing());
        let mut all = Reads::All;
        all.add(&path("x.y"));
        assert_eq!(all, Reads::All);
        let mut root = Reads::nothing();
        root.add(&[]);
        assert_eq!(root, Reads::All);
    }
}
