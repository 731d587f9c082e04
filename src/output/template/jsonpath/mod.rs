//! JSONPath templates as kubectl runs them (client-go's `util/jsonpath`): `parser` builds the
//! syntax tree (`node`, quoted strings read by `unquote`), `eval` runs it over an object,
//! `value` says how each value prints and compares. Messages are Go's, word for word.

mod eval;
mod node;
mod parser;
mod reads;
mod unquote;
mod value;

use serde_json::Value;

pub(crate) use value::Val;

/// A parsed JSONPath template.
#[derive(Clone, Debug)]
pub(crate) struct JsonPath {
    /// The top-level nodes: texts and `{...}` actions.
    nodes: Vec<node::Node>,
}

/// Why running a template failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ExecError {
    /// kubectl's error (`missing is not found`).
    Go(String),
    /// One of kreflect's limits on a run (kubectl has none).
    Limit(String),
}

impl JsonPath {
    /// Parses a template (`{.metadata.name}{"\n"}`); the error is kubectl's message
    /// (`unclosed action`).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        Ok(JsonPath {
            nodes: parser::parse(text)?,
        })
    }

    /// Whether an action starts at the top-level `items` (`{.items[*].metadata.name}`,
    /// `{range .items[*]}`): the template addresses a list, not one object.
    pub(crate) fn addresses_items(&self) -> bool {
        self.nodes.iter().any(|node| {
            let node::Node::List(action) = node else {
                return false;
            };
            let mut steps = action
                .iter()
                .skip_while(|step| matches!(step, node::Node::Identifier(word) if word == "range"));
            matches!(steps.next(), Some(node::Node::Field(field)) if field == "items")
        })
    }

    /// What the template reads of the object it runs on.
    pub(crate) fn reads(&self) -> super::reads::Reads {
        reads::reads(&self.nodes)
    }

    /// Go's `FindResults`: the values each top-level node gives, `range`s expanded.
    pub(crate) fn find_results<'a>(
        &'a self,
        data: &'a Value,
        allow_missing_keys: bool,
    ) -> Result<Vec<Vec<Val<'a>>>, ExecError> {
        let mut evaluator = eval::Evaluator::new(&self.nodes, allow_missing_keys, eval::MAX_VALUES);
        evaluator
            .find_results(Val::Json(data))
            .map_err(|failure| match failure {
                eval::Failure::Go { message, .. } => ExecError::Go(message),
                eval::Failure::Limit(message) => ExecError::Limit(message),
            })
    }

    /// Go's `Execute`: appends what the template prints for `data` to `out`, or nothing if
    /// it fails. Values of one node are separated by a space; maps and lists print as JSON.
    pub(crate) fn execute(
        &self,
        data: &Value,
        allow_missing_keys: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), ExecError> {
        for results in self.find_results(data, allow_missing_keys)? {
            for (index, result) in results.iter().enumerate() {
                if index > 0 {
                    out.push(b' ');
                }
                result.write_result(out);
                if out.len() > super::MAX_OUTPUT_BYTES {
                    return Err(ExecError::Limit(super::output_limit_exceeded()));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
