//! How Go prints a JSON value that kubectl decoded into `map[string]interface{}`: as
//! `encoding/json` marshals it (`{.a}` on a map), as `fmt.Sprint` writes it (a custom column),
//! as `%#v` writes it (the object in a jsonpath error), and the `strconv` quoting and number
//! formats underneath (`number`, `quote`).
//!
//! kubectl decodes numbers as `int64` when they fit and as `float64` otherwise, so a JSON
//! `1.0` is the float 1 and prints as `1`. Maps print with their keys sorted, as both
//! `encoding/json` and `fmt` do; every walk is iterative, so no object is too deep to print.
//!
//! Where Go consults its Unicode tables (`strconv.IsPrint` for quoting), Rust's `char`
//! properties and a few ranges stand in: a rare unassigned code point, which Go escapes, may be
//! printed as it is (in error messages only).

mod number;
mod quote;

use serde_json::Value;

use number::json_float;
pub(crate) use number::{GoNumber, sprint_float};
pub(crate) use quote::{quote, unicode_verbose};

/// Writes `value` as Go's `json.Marshal` does: keys sorted, no spaces, `<`, `>` and `&` escaped.
pub(crate) fn write_json(value: &Value, out: &mut Vec<u8>) {
    walk(value, &Json, out);
}

/// Writes `value` as Go's `fmt.Sprint` does: `map[k:v k2:v2]`, `[a b]`, strings bare, `<nil>`.
pub(crate) fn write_sprint(value: &Value, out: &mut Vec<u8>) {
    walk(value, &Sprint, out);
}

/// `value` as Go's `%#v` writes it: `map[string]interface {}{"k":"v"}`, `[]interface {}{1}`.
pub(crate) fn go_syntax(value: &Value) -> String {
    let mut out = Vec::new();
    walk(value, &GoSyntax, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// One of the three ways of printing a value; [`walk`] does the nesting.
trait Style {
    /// Opens a map: `{`, `map[`, `map[string]interface {}{`.
    fn open_map(&self) -> &'static str;
    /// Closes a map.
    fn close_map(&self) -> &'static str;
    /// Opens a list.
    fn open_list(&self) -> &'static str;
    /// Closes a list.
    fn close_list(&self) -> &'static str;
    /// Between two entries of a map or a list.
    fn separator(&self) -> &'static str;
    /// A map's key and what separates it from its value.
    fn key(&self, key: &str, out: &mut Vec<u8>);
    /// A value that is neither a map nor a list; `nested` when it sits inside one.
    fn scalar(&self, value: &Value, nested: bool, out: &mut Vec<u8>);
}

/// A map or list being written, with the entries still to come.
enum Frame<'a> {
    /// A map's remaining entries.
    Map(serde_json::map::Iter<'a>, bool),
    /// A list's remaining items.
    List(std::slice::Iter<'a, Value>, bool),
}

/// Writes `value` in `style` without recursion: an explicit stack of open maps and lists.
/// serde_json's maps iterate in key order (a test guards that), which is Go's printing order.
fn walk<'a>(value: &'a Value, style: &dyn Style, out: &mut Vec<u8>) {
    let mut stack: Vec<Frame<'a>> = Vec::new();
    open(value, false, style, &mut stack, out);
    while let Some(frame) = stack.last_mut() {
        let next = match frame {
            Frame::Map(entries, first) => match entries.next() {
                Some((key, value)) => {
                    if !std::mem::replace(first, false) {
                        out.extend_from_slice(style.separator().as_bytes());
                    }
                    style.key(key, out);
                    Some(value)
                }
                None => {
                    out.extend_from_slice(style.close_map().as_bytes());
                    None
                }
            },
            Frame::List(items, first) => match items.next() {
                Some(value) => {
                    if !std::mem::replace(first, false) {
                        out.extend_from_slice(style.separator().as_bytes());
                    }
                    Some(value)
                }
                None => {
                    out.extend_from_slice(style.close_list().as_bytes());
                    None
                }
            },
        };
        match next {
            Some(value) => open(value, true, style, &mut stack, out),
            None => {
                stack.pop();
            }
        }
    }
}

/// Starts writing `value`: a scalar whole, a map or list by its opening and a frame.
fn open<'a>(
    value: &'a Value,
    nested: bool,
    style: &dyn Style,
    stack: &mut Vec<Frame<'a>>,
    out: &mut Vec<u8>,
) {
    match value {
        Value::Object(map) => {
            out.extend_from_slice(style.open_map().as_bytes());
            stack.push(Frame::Map(map.iter(), true));
        }
        Value::Array(items) => {
            out.extend_from_slice(style.open_list().as_bytes());
            stack.push(Frame::List(items.iter(), true));
        }
        scalar => style.scalar(scalar, nested, out),
    }
}

/// `encoding/json`.
struct Json;

impl Style for Json {
    fn open_map(&self) -> &'static str {
        "{"
    }
    fn close_map(&self) -> &'static str {
        "}"
    }
    fn open_list(&self) -> &'static str {
        "["
    }
    fn close_list(&self) -> &'static str {
        "]"
    }
    fn separator(&self) -> &'static str {
        ","
    }
    fn key(&self, key: &str, out: &mut Vec<u8>) {
        json_string(key, out);
        out.push(b':');
    }
    fn scalar(&self, value: &Value, _nested: bool, out: &mut Vec<u8>) {
        match value {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(bool) => out.extend_from_slice(if *bool { b"true" } else { b"false" }),
            Value::String(text) => json_string(text, out),
            Value::Number(number) => match GoNumber::of(number) {
                GoNumber::Int(int) => out.extend_from_slice(int.to_string().as_bytes()),
                GoNumber::Float(float) => json_float(float, out),
            },
            Value::Object(_) | Value::Array(_) => {}
        }
    }
}

/// `fmt.Sprint`, `%v`.
struct Sprint;

impl Style for Sprint {
    fn open_map(&self) -> &'static str {
        "map["
    }
    fn close_map(&self) -> &'static str {
        "]"
    }
    fn open_list(&self) -> &'static str {
        "["
    }
    fn close_list(&self) -> &'static str {
        "]"
    }
    fn separator(&self) -> &'static str {
        " "
    }
    fn key(&self, key: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(key.as_bytes());
        out.push(b':');
    }
    fn scalar(&self, value: &Value, _nested: bool, out: &mut Vec<u8>) {
        match value {
            Value::String(text) => out.extend_from_slice(text.as_bytes()),
            other => plain_scalar(other, out),
        }
    }
}

/// `%#v`.
struct GoSyntax;

impl Style for GoSyntax {
    fn open_map(&self) -> &'static str {
        "map[string]interface {}{"
    }
    fn close_map(&self) -> &'static str {
        "}"
    }
    fn open_list(&self) -> &'static str {
        "[]interface {}{"
    }
    fn close_list(&self) -> &'static str {
        "}"
    }
    fn separator(&self) -> &'static str {
        ", "
    }
    fn key(&self, key: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(quote(key).as_bytes());
        out.push(b':');
    }
    fn scalar(&self, value: &Value, nested: bool, out: &mut Vec<u8>) {
        match value {
            Value::String(text) => out.extend_from_slice(quote(text).as_bytes()),
            Value::Null if nested => out.extend_from_slice(b"interface {}(nil)"),
            other => plain_scalar(other, out),
        }
    }
}

/// `null`, a boolean or a number as `fmt` prints it with `%v` (and `%#v`).
fn plain_scalar(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Bool(bool) => out.extend_from_slice(if *bool { b"true" } else { b"false" }),
        Value::Number(number) => match GoNumber::of(number) {
            GoNumber::Int(int) => out.extend_from_slice(int.to_string().as_bytes()),
            GoNumber::Float(float) => sprint_float(float, out),
        },
        _ => out.extend_from_slice(b"<nil>"),
    }
}

/// A string as `encoding/json` writes it (HTML-safe, as `json.Marshal` is).
fn json_string(text: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{0}'..='\u{1f}' | '<' | '>' | '&' => {
                let byte = c as u8;
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0xf)]);
            }
            '\u{2028}' => out.extend_from_slice(b"\\u2028"),
            '\u{2029}' => out.extend_from_slice(b"\\u2029"),
            other => {
                let mut buf = [0; 4];
                out.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}
