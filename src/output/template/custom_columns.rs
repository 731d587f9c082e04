//! `-o custom-columns=NAME:.metadata.name,IP:.status.podIP`: kubectl's custom-columns printer
//! (`kubectl/pkg/cmd/get/customcolumn.go`). Each column is a header and a JSONPath, written
//! loosely (`.a.b`, `a.b`, `{a.b}` or `{.a.b}`); a cell is the path's values as `fmt.Sprint`
//! prints them, joined by commas, `<none>` when there are none. Rows are tab-separated lines
//! for `tabwriter` to align.

use serde_json::Value;

use super::jsonpath::{ExecError, JsonPath};
use super::reads::Reads;

/// A parsed custom-columns spec.
#[derive(Clone, Debug)]
pub(crate) struct Columns {
    /// The columns, left to right.
    columns: Vec<Column>,
}

/// One column: its header and the path of its cells.
#[derive(Clone, Debug)]
struct Column {
    /// Printed as given.
    header: String,
    /// The column's `{.path}`, missing keys allowed.
    path: JsonPath,
}

impl Columns {
    /// Parses `HEADER:path,HEADER:path`; the error is kubectl's message. kubectl parses each
    /// column's path only when it prints (after the header line); here a bad path fails at once.
    pub(crate) fn parse(spec: &str) -> Result<Self, String> {
        if spec.is_empty() {
            return Err("custom-columns format specified but no custom columns given".to_owned());
        }
        let mut columns = Vec::new();
        for part in spec.split(',') {
            let Some((header, expression)) = part.split_once(':') else {
                return Err(format!(
                    "unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>"
                ));
            };
            let path = JsonPath::parse(&relaxed(expression)?)?;
            columns.push(Column {
                header: header.to_owned(),
                path,
            });
        }
        Ok(Columns { columns })
    }

    /// What the columns read of an object.
    pub(crate) fn reads(&self) -> Reads {
        let mut reads = Reads::nothing();
        for column in &self.columns {
            reads.merge(column.path.reads());
        }
        reads
    }

    /// Appends the header line.
    pub(crate) fn write_header(&self, out: &mut Vec<u8>) {
        for (index, column) in self.columns.iter().enumerate() {
            if index > 0 {
                out.push(b'\t');
            }
            out.extend_from_slice(column.header.as_bytes());
        }
        out.push(b'\n');
    }

    /// Appends `object`'s row, or nothing if a column's path fails on it (kubectl's error).
    pub(crate) fn write_row(&self, object: &Value, out: &mut Vec<u8>) -> Result<(), ExecError> {
        let mut row = Vec::new();
        for (index, column) in self.columns.iter().enumerate() {
            if index > 0 {
                row.push(b'\t');
            }
            let results = column.path.find_results(object, true)?;
            let mut first = true;
            if results.first().is_none_or(Vec::is_empty) {
                row.extend_from_slice(b"<none>");
                first = false;
            }
            for value in results.iter().flatten() {
                if !std::mem::replace(&mut first, false) {
                    row.push(b',');
                }
                let mut text = Vec::new();
                value.write_sprint(&mut text);
                escape_terminal(&text, &mut row);
            }
        }
        row.push(b'\n');
        out.extend_from_slice(&row);
        Ok(())
    }
}

/// kubectl's `RelaxedJSONPathExpression`: `a.b`, `.a.b`, `{a.b}` and `{.a.b}` all become
/// `{.a.b}`; the empty expression stays empty (its cells are `<none>`).
fn relaxed(expression: &str) -> Result<String, String> {
    if expression.is_empty() {
        return Ok(String::new());
    }
    // `^\{\.?([^{}]+)\}$|^\.?([^{}]+)$`: an optional dot is dropped only if something follows.
    let unbraced = expression
        .strip_prefix('{')
        .and_then(|inner| inner.strip_suffix('}'))
        .filter(|inner| !inner.is_empty() && !inner.contains(['{', '}']));
    let inner = unbraced.unwrap_or(expression);
    let field = match inner.strip_prefix('.') {
        Some(rest) if !rest.is_empty() => rest,
        _ => inner,
    };
    if field.contains(['{', '}']) {
        return Err(
            "unexpected path string, expected a 'name1.name2' or '.name1.name2' or \
             '{name1.name2}' or '{.name1.name2}'"
                .to_owned(),
        );
    }
    Ok(format!("{{.{field}}}"))
}

/// cli-runtime's `EscapeTerminal`: ESC becomes `^[` and CR `\r`, so a cell cannot drive the
/// terminal.
fn escape_terminal(text: &[u8], out: &mut Vec<u8>) {
    for &byte in text {
        match byte {
            0x1b => out.extend_from_slice(b"^["),
            b'\r' => out.extend_from_slice(b"\\r"),
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relaxed_paths_become_one_braced_path_from_the_root() {
        for (given, expected) in [
            ("metadata.name", "{.metadata.name}"),
            (".metadata.name", "{.metadata.name}"),
            ("{metadata.name}", "{.metadata.name}"),
            ("{.metadata.name}", "{.metadata.name}"),
            (".", "{..}"),
            ("{.}", "{..}"),
            ("", ""),
        ] {
            assert_eq!(relaxed(given).as_deref(), Ok(expected), "{given}");
        }
        assert!(relaxed("{.a}{.b}").is_err());
        assert!(relaxed("{.a").is_err());
    }

    #[test]
    fn a_column_without_a_colon_is_kubectls_error() {
        assert_eq!(
            Columns::parse("NAME").map(|_| ()),
            Err("unexpected custom-columns spec: NAME, expected <header>:<json-path-expr>".into())
        );
    }

    #[test]
    fn cells_escape_the_terminal_and_join_values_with_commas() {
        let columns = Columns::parse("A:.a[*],B:.missing,C:").expect("parsed");
        let object = serde_json::json!({"a": ["x\u{1b}[31m", "y\rz", {"k": [1, null]}]});
        let mut out = Vec::new();
        columns.write_row(&object, &mut out).expect("row");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "x^[[31m,y\\rz,map[k:[1 <nil>]]\t<none>\t<none>\n"
        );
    }
}
