//! The values a template passes from node to node, as Go's `reflect.Value`s over kubectl's
//! `map[string]interface{}`: a piece of the object, or something the template made (a quoted
//! string, a number, a byte of a string), and how each prints and compares.

use serde_json::Value;

use super::node::Literal;
use crate::output::template::go_fmt::{self, GoNumber};

/// One value during evaluation.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Val<'a> {
    /// A piece of the object (a JSON `null` is Go's nil interface).
    Json(&'a Value),
    /// A quoted string or text of the template (a Go `string`).
    Text(&'a Literal),
    /// A number literal that is an integer (a Go `int`).
    Int(i64),
    /// A number literal that is not (a Go `float64`).
    Float(f64),
    /// `true` or `false` in the template.
    Bool(bool),
    /// A byte of a string, from `.*` or `..` (a Go `uint8`).
    Byte(u8),
    /// Go's zero `reflect.Value`: what a `range` over `null`, or over nothing, starts from.
    Invalid,
}

/// A value as Go's template comparison functions see it (`basicKind`).
#[derive(Clone, Copy, Debug)]
enum Basic<'a> {
    /// `bool`.
    Bool(bool),
    /// Any signed integer.
    Int(i64),
    /// Any unsigned integer.
    Uint(u64),
    /// `float64`.
    Float(f64),
    /// `string`, compared bytewise.
    Str(&'a [u8]),
}

/// Go's `errBadComparisonType`.
const BAD_TYPE: &str = "invalid type for comparison";
/// Go's `errBadComparison`.
const INCOMPATIBLE: &str = "incompatible types for comparison";

impl<'a> Val<'a> {
    /// Whether Go's `Indirect` finds nil here (a JSON `null`): most steps skip it.
    pub(crate) fn is_nil(&self) -> bool {
        matches!(self, Val::Json(Value::Null))
    }

    /// The value a `range` iteration starts from (`reflect.ValueOf(v.Interface())`): nil
    /// becomes the zero value, everything else stays.
    pub(crate) fn range_root(self) -> Self {
        if self.is_nil() { Val::Invalid } else { self }
    }

    /// Writes the value as a jsonpath result: maps and lists as JSON, the rest as
    /// `fmt.Fprint` does.
    pub(crate) fn write_result(&self, out: &mut Vec<u8>) {
        match self {
            Val::Json(value @ (Value::Object(_) | Value::Array(_))) => {
                go_fmt::write_json(value, out);
            }
            Val::Invalid => out.extend_from_slice(b"<no value>"),
            other => other.write_sprint(out),
        }
    }

    /// Writes the value as `fmt.Sprint` does (a custom column's cell, an error message).
    pub(crate) fn write_sprint(&self, out: &mut Vec<u8>) {
        match self {
            Val::Json(value) => go_fmt::write_sprint(value, out),
            Val::Text(text) => out.extend_from_slice(&text.0),
            Val::Int(int) => out.extend_from_slice(int.to_string().as_bytes()),
            Val::Float(float) => go_fmt::sprint_float(*float, out),
            Val::Bool(bool) => out.extend_from_slice(if *bool { b"true" } else { b"false" }),
            Val::Byte(byte) => out.extend_from_slice(byte.to_string().as_bytes()),
            Val::Invalid => out.extend_from_slice(b"<no value>"),
        }
    }

    /// The value as `%v` text, for error messages.
    pub(crate) fn sprint(&self) -> String {
        let mut out = Vec::new();
        self.write_sprint(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The Go type's name, as `reflect.Type` prints it in kubectl's errors.
    pub(crate) fn go_type(&self) -> &'static str {
        match self {
            Val::Json(Value::Object(_)) => "map[string]interface {}",
            Val::Json(Value::Array(_)) => "[]interface {}",
            Val::Json(Value::String(_)) | Val::Text(_) => "string",
            Val::Json(Value::Bool(_)) | Val::Bool(_) => "bool",
            Val::Json(Value::Number(number)) => match GoNumber::of(number) {
                GoNumber::Int(_) => "int64",
                GoNumber::Float(_) => "float64",
            },
            Val::Json(Value::Null) => "interface {}",
            Val::Int(_) => "int",
            Val::Float(_) => "float64",
            Val::Byte(_) => "uint8",
            // Go's reflect panics here (a zero Value has no type); kreflect names it.
            Val::Invalid => "invalid value",
        }
    }

    /// The value as a comparison operand; `None` for maps, lists, nil and the zero value.
    fn basic(&self) -> Option<Basic<'a>> {
        Some(match *self {
            Val::Json(Value::Bool(bool)) => Basic::Bool(*bool),
            Val::Bool(bool) => Basic::Bool(bool),
            Val::Json(Value::String(text)) => Basic::Str(text.as_bytes()),
            Val::Text(text) => Basic::Str(&text.0),
            Val::Json(Value::Number(number)) => match GoNumber::of(number) {
                GoNumber::Int(int) => Basic::Int(int),
                GoNumber::Float(float) => Basic::Float(float),
            },
            Val::Int(int) => Basic::Int(int),
            Val::Float(float) => Basic::Float(float),
            Val::Byte(byte) => Basic::Uint(u64::from(byte)),
            Val::Json(_) | Val::Invalid => return None,
        })
    }
}

/// Applies a filter's comparison `operator` as Go's template functions do; `None` for an
/// operator kubectl does not know. The error is Go's message.
pub(crate) fn compare(operator: &str, left: Val, right: Val) -> Option<Result<bool, &'static str>> {
    Some(match operator {
        "<" => less(left, right),
        ">" => less_equal(left, right).map(|le| !le),
        "==" => equal(left, right),
        "!=" => equal(left, right).map(|eq| !eq),
        "<=" => less_equal(left, right),
        ">=" => less(left, right).map(|lt| !lt),
        _ => return None,
    })
}

/// Both operands' kinds, or Go's error for the first that has none.
fn kinds<'a>(left: Val<'a>, right: Val<'a>) -> Result<(Basic<'a>, Basic<'a>), &'static str> {
    Ok((
        left.basic().ok_or(BAD_TYPE)?,
        right.basic().ok_or(BAD_TYPE)?,
    ))
}

/// Go's `template.Equal` for two operands.
fn equal(left: Val, right: Val) -> Result<bool, &'static str> {
    Ok(match kinds(left, right)? {
        (Basic::Bool(a), Basic::Bool(b)) => a == b,
        (Basic::Int(a), Basic::Int(b)) => a == b,
        (Basic::Uint(a), Basic::Uint(b)) => a == b,
        (Basic::Float(a), Basic::Float(b)) => a == b,
        (Basic::Str(a), Basic::Str(b)) => a == b,
        (Basic::Int(a), Basic::Uint(b)) | (Basic::Uint(b), Basic::Int(a)) => {
            u64::try_from(a).is_ok_and(|a| a == b)
        }
        _ => return Err(INCOMPATIBLE),
    })
}

/// Go's `template.Less`.
fn less(left: Val, right: Val) -> Result<bool, &'static str> {
    Ok(match kinds(left, right)? {
        (Basic::Bool(_), Basic::Bool(_)) => return Err(BAD_TYPE),
        (Basic::Int(a), Basic::Int(b)) => a < b,
        (Basic::Uint(a), Basic::Uint(b)) => a < b,
        (Basic::Float(a), Basic::Float(b)) => a < b,
        (Basic::Str(a), Basic::Str(b)) => a < b,
        (Basic::Int(a), Basic::Uint(b)) => u64::try_from(a).map_or(true, |a| a < b),
        (Basic::Uint(a), Basic::Int(b)) => u64::try_from(b).is_ok_and(|b| a < b),
        _ => return Err(INCOMPATIBLE),
    })
}

/// Go's `template.LessEqual`: less, or else equal.
fn less_equal(left: Val, right: Val) -> Result<bool, &'static str> {
    if less(left, right)? {
        return Ok(true);
    }
    equal(left, right)
}
