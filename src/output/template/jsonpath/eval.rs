//! Running a parsed template over an object: client-go's `util/jsonpath/jsonpath.go`
//! (`FindResults` and the `eval*` functions), with its messages and its quirks: `range` and
//! `end` are counters on the evaluator, a slice that selects nothing stops the step, a filter
//! that tests existence keeps items whose test failed half-way.
//!
//! Where Go's order is random (the keys of a map under `..` or `.*`), this one takes the
//! keys in sorted order. Two limits Go does not have keep a hostile template from running
//! away: [`MAX_VALUES`] values made in one run, and [`MAX_RANGE_DEPTH`] nested `range`s.

use serde_json::Value;

use super::node::{Filter, Node, Param};
use super::value::{Val, compare};

/// The most values one run may make (about 512 MiB of them): more is a template that
/// multiplies the object (chained `..`, nested `range`s), refused rather than run out of
/// memory.
pub(crate) const MAX_VALUES: usize = 1 << 25;

/// The most `range`s one run may be inside at once.
pub(crate) const MAX_RANGE_DEPTH: usize = 256;

/// Why a run stopped.
#[derive(Debug)]
pub(crate) enum Failure<'a> {
    /// kubectl's error, with the values the failing step returned (Go returns both, and an
    /// existence filter keeps an item when those values are not empty).
    Go {
        /// What Go's step returned beside its error.
        values: Vec<Val<'a>>,
        /// Go's message.
        message: String,
    },
    /// One of kreflect's limits; never swallowed.
    Limit(String),
}

/// A step's result: its values, or why it failed.
type Step<'a> = Result<Vec<Val<'a>>, Failure<'a>>;

/// A Go error with the values its step returned.
fn fail(values: Vec<Val<'_>>, message: String) -> Failure<'_> {
    Failure::Go { values, message }
}

/// Go's `JSONPath` during one run: the `range` counters and the values budget.
pub(crate) struct Evaluator<'a> {
    /// The template's top-level nodes.
    nodes: &'a [Node],
    /// Whether a missing key gives nothing rather than an error.
    allow_missing_keys: bool,
    /// `range`s seen but not yet started.
    begin_range: usize,
    /// `range`s being iterated.
    in_range: usize,
    /// `end`s seen but not yet closed.
    end_range: usize,
    /// The top-level index of the last `end` that closed a range.
    last_end: Option<usize>,
    /// Values still allowed.
    budget: usize,
}

impl<'a> Evaluator<'a> {
    /// An evaluator of `nodes` (the template's top level) that may make `budget` values
    /// ([`MAX_VALUES`] for a template printed).
    pub(crate) fn new(nodes: &'a [Node], allow_missing_keys: bool, budget: usize) -> Self {
        Evaluator {
            nodes,
            allow_missing_keys,
            begin_range: 0,
            in_range: 0,
            end_range: 0,
            last_end: None,
            budget,
        }
    }

    /// Go's `FindResults`: the values of each top-level node, in order, `range`s expanded.
    pub(crate) fn find_results(&mut self, data: Val<'a>) -> Result<Vec<Vec<Val<'a>>>, Failure<'a>> {
        self.find_from(0, data, 0)
    }

    /// `FindResults` over the nodes from `first` on (Go re-slices the parser's nodes).
    fn find_from(
        &mut self,
        first: usize,
        data: Val<'a>,
        depth: usize,
    ) -> Result<Vec<Vec<Val<'a>>>, Failure<'a>> {
        if depth > MAX_RANGE_DEPTH {
            return Err(Failure::Limit(format!(
                "more than {MAX_RANGE_DEPTH} nested ranges"
            )));
        }
        let nodes = self.nodes;
        let current = [data];
        let mut full = Vec::new();
        let mut index = first;
        while index < nodes.len() {
            let results = self.walk(&current, &nodes[index])?;
            if self.end_range > 0 && self.end_range <= self.in_range {
                self.end_range -= 1;
                self.last_end = Some(index);
                break;
            }
            if self.begin_range > 0 {
                self.begin_range -= 1;
                self.in_range += 1;
                if results.is_empty() {
                    // Go still runs the body, from nothing, to find its `end`.
                    self.find_from(index + 1, Val::Invalid, depth + 1)?;
                } else {
                    for value in results {
                        let nested = self.find_from(index + 1, value.range_root(), depth + 1)?;
                        full.extend(nested);
                    }
                }
                self.in_range -= 1;
                // Resume after the `end` that closed this range, if it is ahead.
                if let Some(end) = self.last_end.filter(|end| *end > index) {
                    index = end;
                }
                index += 1;
                continue;
            }
            full.push(results);
            index += 1;
        }
        Ok(full)
    }

    /// Takes `count` values from the budget.
    fn spend(&mut self, count: usize) -> Result<(), Failure<'a>> {
        match self.budget.checked_sub(count) {
            Some(left) => {
                self.budget = left;
                Ok(())
            }
            None => Err(Failure::Limit(format!(
                "the template makes more than {MAX_VALUES} values"
            ))),
        }
    }

    /// Go's `walk`: one node applied to the values.
    fn walk(&mut self, input: &[Val<'a>], node: &'a Node) -> Step<'a> {
        let results = match node {
            // These spend from the budget as they go.
            Node::List(nodes) => return self.eval_list(input, nodes),
            Node::Wildcard => return self.eval_wildcard(input),
            Node::Recursive => return self.eval_recursive(input),
            Node::Text(text) => vec![Val::Text(text)],
            Node::Field(name) => self.eval_field(input, name)?,
            Node::Array(params) => eval_array(input, params)?,
            Node::Filter(filter) => self.eval_filter(input, filter)?,
            Node::Int(int) => vec![Val::Int(*int); input.len()],
            Node::Float(float) => vec![Val::Float(*float); input.len()],
            Node::Bool(bool) => vec![Val::Bool(*bool); input.len()],
            Node::Union(members) => self.eval_union(input, members)?,
            Node::Identifier(name) => self.eval_identifier(input, name)?,
        };
        self.spend(results.len())?;
        Ok(results)
    }

    /// Go's `evalList`: the nodes one after the other.
    fn eval_list(&mut self, input: &[Val<'a>], nodes: &'a [Node]) -> Step<'a> {
        let mut current = input.to_vec();
        for node in nodes {
            current = self.walk(&current, node)?;
        }
        Ok(current)
    }

    /// Go's `evalIdentifier`: `range` and `end` move the counters.
    fn eval_identifier(&mut self, input: &[Val<'a>], name: &str) -> Step<'a> {
        match name {
            "range" => {
                self.begin_range = self.begin_range.saturating_add(1);
                Ok(input.to_vec())
            }
            "end" if self.in_range > 0 => {
                self.end_range = self.end_range.saturating_add(1);
                Ok(Vec::new())
            }
            "end" => Err(fail(Vec::new(), "not in range, nothing to end".to_owned())),
            _ => Err(fail(
                input.to_vec(),
                format!("unrecognized identifier {name}"),
            )),
        }
    }

    /// Go's `evalField`: each map's value at `name`; none at all is an error unless missing
    /// keys are allowed.
    fn eval_field(&mut self, input: &[Val<'a>], name: &str) -> Step<'a> {
        if input.is_empty() {
            return Ok(Vec::new());
        }
        let results: Vec<Val<'a>> = input
            .iter()
            .filter_map(|value| match value {
                Val::Json(Value::Object(map)) => map.get(name).map(Val::Json),
                _ => None,
            })
            .collect();
        if results.is_empty() && !self.allow_missing_keys {
            return Err(fail(Vec::new(), format!("{name} is not found")));
        }
        Ok(results)
    }

    /// Go's `evalWildcard`: the values of maps (in key order), the items of lists, the bytes
    /// of strings.
    fn eval_wildcard(&mut self, input: &[Val<'a>]) -> Step<'a> {
        let mut results = Vec::new();
        for value in input {
            let before = results.len();
            push_children(value, &mut results);
            self.spend(results.len() - before)?;
        }
        Ok(results)
    }

    /// Go's `evalRecursive`: every map, list and non-empty string under each value, itself
    /// first, depth first. Iterative: the object's depth is not the stack's.
    fn eval_recursive(&mut self, input: &[Val<'a>]) -> Step<'a> {
        let mut results = Vec::new();
        for value in input {
            // Each frame: the children of one value, reversed, to pop in order.
            let mut stack = vec![vec![*value]];
            while let Some(frame) = stack.last_mut() {
                let Some(value) = frame.pop() else {
                    stack.pop();
                    continue;
                };
                let has_children = match value {
                    Val::Json(Value::Object(map)) => !map.is_empty(),
                    Val::Json(Value::Array(items)) => !items.is_empty(),
                    Val::Json(Value::String(text)) => !text.is_empty(),
                    Val::Text(text) => !text.0.is_empty(),
                    _ => false,
                };
                if !has_children {
                    continue;
                }
                results.push(value);
                self.spend(1)?;
                // A string's children are bytes, which have none: only maps and lists nest.
                if matches!(value, Val::Json(Value::Object(_) | Value::Array(_))) {
                    let mut children = Vec::new();
                    push_children(&value, &mut children);
                    children.reverse();
                    stack.push(children);
                }
            }
        }
        Ok(results)
    }

    /// Go's `evalUnion`: each member applied to the same input, the results joined.
    fn eval_union(&mut self, input: &[Val<'a>], members: &'a [Vec<Node>]) -> Step<'a> {
        let mut results = Vec::new();
        for member in members {
            match self.eval_list(input, member) {
                Ok(values) => results.extend(values),
                Err(Failure::Go { message, .. }) => return Err(fail(input.to_vec(), message)),
                Err(limit) => return Err(limit),
            }
        }
        Ok(results)
    }

    /// Go's `evalFilter`: the items of each list for which the filter holds.
    fn eval_filter(&mut self, input: &[Val<'a>], filter: &'a Filter) -> Step<'a> {
        let mut results = Vec::new();
        for value in input {
            let Val::Json(Value::Array(items)) = value else {
                let message = format!(
                    "{} is not array or slice and cannot be filtered",
                    match value {
                        Val::Invalid => "<invalid reflect.Value>".to_owned(),
                        other => other.sprint(),
                    }
                );
                return Err(fail(input.to_vec(), message));
            };
            for item in items {
                let item = Val::Json(item);
                let lefts = self.eval_list(&[item], &filter.left);
                if filter.operator == "exists" {
                    let found = match lefts {
                        Ok(values) | Err(Failure::Go { values, .. }) => !values.is_empty(),
                        Err(limit) => return Err(limit),
                    };
                    if found {
                        results.push(item);
                    }
                    continue;
                }
                let Some(left) = one_operand(lefts, input)? else {
                    continue;
                };
                let rights = self.eval_list(&[item], &filter.right);
                let Some(right) = one_operand(rights, input)? else {
                    continue;
                };
                let operator = &filter.operator;
                let Some(pass) = compare(operator, left, right) else {
                    let message = format!("unrecognized filter operator {operator}");
                    return Err(fail(results, message));
                };
                match pass {
                    Ok(true) => results.push(item),
                    Ok(false) => {}
                    Err(message) => return Err(fail(results, message.to_owned())),
                }
            }
        }
        Ok(results)
    }
}

/// A filter side's single value: `None` when it gave nothing (the item is skipped), an error
/// when it failed or gave several.
fn one_operand<'a>(side: Step<'a>, input: &[Val<'a>]) -> Result<Option<Val<'a>>, Failure<'a>> {
    match side {
        Ok(values) => match values.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => Err(fail(
                input.to_vec(),
                "can only compare one element at a time".to_owned(),
            )),
        },
        Err(Failure::Go { message, .. }) => Err(fail(input.to_vec(), message)),
        Err(limit) => Err(limit),
    }
}

/// Appends what `.*` finds in `value`: a map's values in key order, a list's items, a
/// string's bytes; nothing for anything else.
fn push_children<'a>(value: &Val<'a>, out: &mut Vec<Val<'a>>) {
    match value {
        Val::Json(Value::Object(map)) => out.extend(map.values().map(Val::Json)),
        Val::Json(Value::Array(items)) => out.extend(items.iter().map(Val::Json)),
        Val::Json(Value::String(text)) => out.extend(text.bytes().map(Val::Byte)),
        Val::Text(text) => out.extend(text.0.iter().copied().map(Val::Byte)),
        _ => {}
    }
}

/// Go's `evalArray`: `[i]`, `[start:end:step]` of each list.
fn eval_array<'a>(input: &[Val<'a>], params: &[Param; 3]) -> Step<'a> {
    let mut results = Vec::new();
    for value in input {
        if value.is_nil() {
            continue;
        }
        let Val::Json(Value::Array(items)) = value else {
            let message = format!("{} is not array or slice", value.go_type());
            return Err(fail(input.to_vec(), message));
        };
        let length = i64::try_from(items.len()).unwrap_or(i64::MAX);
        let error = |message: String| Err(fail(input.to_vec(), message));
        let mut start = if params[0].known { params[0].value } else { 0 };
        if start < 0 {
            start = start.wrapping_add(length);
        }
        let mut end = if params[1].known {
            params[1].value
        } else {
            length
        };
        if end < 0 || (end == 0 && params[1].derived) {
            end = end.wrapping_add(length);
        }
        if end == start {
            // Go returns at once: the lists after this one are not looked at.
            return Ok(results);
        }
        if start >= length || start < 0 {
            return error(format!(
                "array index out of bounds: index {start}, length {length}"
            ));
        }
        if end > length || end < 0 {
            return error(format!(
                "array index out of bounds: index {}, length {length}",
                end.wrapping_sub(1)
            ));
        }
        if start > end {
            return error(format!(
                "starting index {start} is greater than ending index {end}"
            ));
        }
        let step = if params[2].known {
            if params[2].value <= 0 {
                return error("step must be > 0".to_owned());
            }
            usize::try_from(params[2].value).unwrap_or(usize::MAX)
        } else {
            1
        };
        // In bounds now: 0 <= start <= end <= length.
        let selected = usize::try_from(start)
            .ok()
            .zip(usize::try_from(end).ok())
            .and_then(|(start, end)| items.get(start..end))
            .unwrap_or_default();
        results.extend(selected.iter().step_by(step).map(Val::Json));
    }
    Ok(results)
}
