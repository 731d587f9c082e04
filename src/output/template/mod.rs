//! Field templates, printed byte for byte as kubectl v1.32 prints them: `-o jsonpath=...`,
//! `-o custom-columns=...` and `-o name`, for a list, one object, or a watch.
//!
//! - `jsonpath`: client-go's JSONPath: the parser, the evaluator, how values print.
//! - `custom_columns`: the columns spec, and a row's cells.
//! - `name`: `pod/web-0`, `deployment.apps/web`.
//! - `tabwriter`: kubectl's column aligner, for custom columns and everything in a watch.
//! - `go_fmt`: how Go prints a decoded object: `encoding/json`, `fmt`'s `%v` and `%#v`,
//!   `strconv.Quote`.
//!
//! The three ways kubectl applies a template, each a method of [`Template`]:
//! [`Template::render_list`] is `kubectl get pods -o T` (a JSONPath template sees a `List`
//! wrapping the objects, so `{.metadata.name}` prints nothing and `{range .items[*]}` is the
//! idiom); [`Template::render_object`] is `kubectl get pod NAME -o T`; a [`WatchPrinter`] is
//! `kubectl get pods -w -o T`, which applies the template to each object on its own and sends
//! everything (JSONPath output too) through one tab aligner that remembers its column widths.
//!
//! Objects are `serde_json::Value`s as kubectl holds them: each with its `apiVersion` and
//! `kind` (a list response's items lack them; kubectl fills them in, so must the caller).
//! Errors carry kubectl's message verbatim (kubectl prints it after `error: `), except where
//! [`TemplateError`] says otherwise.
//!
//! Where kreflect differs from kubectl, on purpose: under `..` and `.*` a map's values come in
//! key order (Go's order is random, so kubectl's output varies from run to run); a custom
//! column's path is checked when the spec is parsed (kubectl prints the header line first); a
//! template runs the same every time (kubectl's JSONPath printer keeps state from one object to
//! the next, so in a watch a `{range}...{end}` template fails from the second object on); and
//! a template that multiplies the object beyond limits (see `jsonpath`) is refused.

mod custom_columns;
mod go_fmt;
mod jsonpath;
mod name;
mod reads;

pub(crate) use reads::{Reads, parse as parse_for};
mod tabwriter;

use serde_json::{Value, json};

use custom_columns::Columns;
use jsonpath::{ExecError, JsonPath};
use tabwriter::TabWriter;

/// Appends `value` as Go's `encoding/json` writes it, which kubectl's JSON printing is: keys
/// sorted, `<`, `>` and `&` escaped.
pub(crate) fn write_go_json(value: &Value, out: &mut Vec<u8>) {
    go_fmt::write_json(value, out);
}

/// A parsed `-o` template.
#[derive(Clone, Debug)]
pub(crate) struct Template {
    /// What it prints.
    format: Format,
    /// `--allow-missing-template-keys` (JSONPath only; kubectl's default is true).
    allow_missing_keys: bool,
}

/// The kinds of template.
#[derive(Clone, Debug)]
enum Format {
    /// `jsonpath=TEXT`.
    JsonPath {
        /// The template as given, for error messages.
        text: String,
        /// The template, parsed.
        path: JsonPath,
    },
    /// `custom-columns=SPEC`.
    Columns(Columns),
    /// `name`.
    Name,
}

/// Whether custom columns start with their header line (`--no-headers` omits it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Headers {
    /// The header line first.
    Print,
    /// Rows only.
    Omit,
}

/// Why a template cannot be parsed or printed. The text is kubectl's message without its
/// `error: ` prefix (and without the blank lines ending an execution error).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TemplateError {
    /// Not a template this module prints; kubectl's message, with kreflect's formats.
    #[error(
        "unable to match a printer suitable for the output format {}, allowed formats are: \
         custom-columns,json,jsonpath,keys,name,wide",
        go_fmt::quote(.0)
    )]
    UnknownFormat(String),
    /// `-o jsonpath=` with nothing after it.
    #[error("template format specified but no template given")]
    NoJsonPath,
    /// A JSONPath template that does not parse (`unclosed action`).
    #[error("error parsing jsonpath {template}, {message}")]
    JsonPathSyntax {
        /// The template as given.
        template: String,
        /// The parser's message.
        message: String,
    },
    /// A JSONPath template that fails on an object (a missing key without
    /// `--allow-missing-template-keys`), with the object as Go's `%#v` prints it.
    #[error(
        "error executing jsonpath {}: Error executing template: {message}. Printing more \
         information for debugging the template:\n\ttemplate was:\n\t\t{template}\n\tobject \
         given to jsonpath engine was:\n\t\t{object}",
        go_fmt::quote(.template)
    )]
    JsonPathExecution {
        /// The template as given.
        template: String,
        /// The evaluator's message (`missing is not found`).
        message: String,
        /// The object, as `%#v`.
        object: String,
    },
    /// A custom-columns spec that does not parse, or a column that fails on an object.
    #[error("{0}")]
    Columns(String),
    /// `-o name` on an object without `apiVersion` and `kind`.
    #[error("{0}")]
    Name(&'static str),
    /// A template past kreflect's limits (kubectl has none, and would run out of memory).
    #[error("{0}")]
    Limit(String),
    /// An object a template cannot read: its JSON does not parse as one value (nested deeper
    /// than 128 levels, a number out of range), where kubectl's decoder would take it or fail.
    #[error("cannot read {key} for the template: {reason}")]
    Unreadable {
        /// The object's key.
        key: String,
        /// The parser's words.
        reason: String,
    },
}

/// The most a template may print in one listing or for one event, 256 MiB: the output is held
/// whole before it is written, and a short template (`{..}` many times over) can multiply an
/// object without bound.
pub(crate) const MAX_OUTPUT_BYTES: usize = 256 << 20;

/// What a template past [`MAX_OUTPUT_BYTES`] is told, where the limit is checked: between
/// objects ([`check_output`]) and within one JSONPath execution (which can print without bound
/// before it returns).
pub(crate) fn output_limit_exceeded() -> String {
    format!(
        "the template printed more than {} MiB; refused (kreflect holds a listing whole before \
         writing it)",
        MAX_OUTPUT_BYTES >> 20
    )
}

/// Fails once `out` holds more than [`MAX_OUTPUT_BYTES`].
pub(crate) fn check_output(out: &[u8]) -> Result<(), TemplateError> {
    if out.len() > MAX_OUTPUT_BYTES {
        return Err(TemplateError::Limit(output_limit_exceeded()));
    }
    Ok(())
}

impl Template {
    /// Parses what follows `-o`: `jsonpath=TEMPLATE`, `custom-columns=SPEC` or `name`.
    pub(crate) fn parse(spec: &str) -> Result<Self, TemplateError> {
        let format = if spec == "name" {
            Format::Name
        } else if let Some(text) = spec.strip_prefix("jsonpath=") {
            if text.is_empty() {
                return Err(TemplateError::NoJsonPath);
            }
            let path = JsonPath::parse(text).map_err(|message| TemplateError::JsonPathSyntax {
                template: text.to_owned(),
                message,
            })?;
            Format::JsonPath {
                text: text.to_owned(),
                path,
            }
        } else if spec == "jsonpath" {
            return Err(TemplateError::NoJsonPath);
        } else if spec == "custom-columns" || spec.starts_with("custom-columns=") {
            let columns = spec.strip_prefix("custom-columns=").unwrap_or_default();
            Format::Columns(Columns::parse(columns).map_err(TemplateError::Columns)?)
        } else {
            return Err(TemplateError::UnknownFormat(spec.to_owned()));
        };
        Ok(Template {
            format,
            allow_missing_keys: true,
        })
    }

    /// `--allow-missing-template-keys`: when false, a JSONPath key that is not there fails
    /// the template instead of printing nothing.
    pub(crate) fn allow_missing_keys(mut self, allow: bool) -> Self {
        self.allow_missing_keys = allow;
        self
    }

    /// Whether this is `-o name`.
    pub(crate) fn prints_names(&self) -> bool {
        matches!(self.format, Format::Name)
    }

    /// What [`Template::render_object`] and a [`WatchPrinter`] read of an object: what
    /// [`parse_for`] needs of its JSON.
    pub(crate) fn object_reads(&self) -> Reads {
        match &self.format {
            Format::JsonPath { path, .. } => path.reads(),
            Format::Columns(columns) => columns.reads(),
            Format::Name => name::reads(),
        }
    }

    /// What [`Template::render_list`] reads of each item.
    pub(crate) fn item_reads(&self) -> Reads {
        match &self.format {
            // The items are the `List`'s.
            Format::JsonPath { path, .. } => path.reads().at("items"),
            Format::Columns(_) | Format::Name => self.object_reads(),
        }
    }

    /// Appends what `kubectl get KIND -o TEMPLATE` prints for `items`. On an error, `out`
    /// holds what kubectl printed before it (custom columns' rows so far, names so far).
    pub(crate) fn render_list(
        &self,
        items: Vec<Value>,
        headers: Headers,
        out: &mut Vec<u8>,
    ) -> Result<(), TemplateError> {
        match &self.format {
            Format::JsonPath { .. } => {
                // Built in place: `json!` would copy the items value by value.
                let mut list = json!({
                    "apiVersion": "v1",
                    "kind": "List",
                    "metadata": {"resourceVersion": ""},
                });
                if let Value::Object(fields) = &mut list {
                    fields.insert("items".to_owned(), Value::Array(items));
                }
                self.print_object(&list, false, out)
            }
            Format::Columns(columns) => {
                columns_table(columns, &items, headers == Headers::Print, out)
            }
            Format::Name => items
                .iter()
                .try_for_each(|item| self.print_object(item, false, out)),
        }
    }

    /// Appends what `kubectl get KIND NAME -o TEMPLATE` prints for `object`.
    pub(crate) fn render_object(
        &self,
        object: &Value,
        headers: Headers,
        out: &mut Vec<u8>,
    ) -> Result<(), TemplateError> {
        let header = headers == Headers::Print;
        match &self.format {
            Format::Columns(columns) => {
                columns_table(columns, std::slice::from_ref(object), header, out)
            }
            _ => self.print_object(object, header, out),
        }
    }

    /// Whether a listing of several objects is printed as `kubectl get KIND -o TEMPLATE`
    /// prints a list ([`Template::render_list`]): custom columns (one aligned table), names, and
    /// a JSONPath template that addresses `.items`. Any other JSONPath template applies to each
    /// object in turn ([`Template::render_object`]), as `kubectl get -w` applies it per event:
    /// `{.metadata.name}{"\n"}` prints a name a line, where applied to the `List` it would print
    /// nothing.
    pub(crate) fn lists_whole(&self) -> bool {
        match &self.format {
            Format::JsonPath { path, .. } => path.addresses_items(),
            Format::Columns(_) | Format::Name => true,
        }
    }

    /// A printer for `kubectl get KIND -w -o TEMPLATE`.
    pub(crate) fn watch(&self, headers: Headers) -> WatchPrinter<'_> {
        WatchPrinter {
            template: self,
            header_due: headers == Headers::Print,
            context_column: false,
            table: TabWriter::new(),
        }
    }

    /// [`Template::watch`] for texts marked with [`Template::mark_context`]: custom columns'
    /// header starts with a CONTEXT column.
    pub(crate) fn watch_marking_contexts(&self, headers: Headers) -> WatchPrinter<'_> {
        WatchPrinter {
            context_column: true,
            ..self.watch(headers)
        }
    }

    /// Whether this is a custom-columns template (one aligned table).
    pub(crate) fn is_columns(&self) -> bool {
        matches!(self.format, Format::Columns(_))
    }

    /// An object's text (or a list's) marked with the kubeconfig context it is of, for a run
    /// over several: a custom-columns row gets a first column, `CONTEXT<tab>` (aligned with
    /// the others), and any other text has each of its lines prefixed with `CONTEXT/`, as keys
    /// are (`-o name`: `prod/pod/web-1`).
    pub(crate) fn mark_context(&self, context: &str, text: &[u8]) -> Vec<u8> {
        // Escaped as keys are: a context name is the kubeconfig's text.
        let context = crate::quote::escape_controls(context);
        let mut marked = Vec::with_capacity(text.len() + context.len() + 1);
        if self.is_columns() {
            marked.extend_from_slice(context.as_bytes());
            marked.push(b'\t');
            marked.extend_from_slice(text);
            return marked;
        }
        for line in text.split_inclusive(|&byte| byte == b'\n') {
            marked.extend_from_slice(context.as_bytes());
            marked.push(b'/');
            marked.extend_from_slice(line);
        }
        marked
    }

    /// What kubectl's printer writes for one object, unaligned; `header` prints the custom
    /// columns' header line first. On an error, `out` has what was written before it.
    fn print_object(
        &self,
        object: &Value,
        header: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), TemplateError> {
        match &self.format {
            Format::JsonPath { text, path } => path
                .execute(object, self.allow_missing_keys, out)
                .map_err(|error| match error {
                    ExecError::Go(message) => TemplateError::JsonPathExecution {
                        template: text.clone(),
                        message,
                        object: go_fmt::go_syntax(object),
                    },
                    ExecError::Limit(limit) => TemplateError::Limit(format!(
                        "error executing jsonpath {}: {limit}",
                        go_fmt::quote(text)
                    )),
                }),
            Format::Columns(columns) => {
                if header {
                    columns.write_header(out);
                }
                columns.write_row(object, out).map_err(column_error)
            }
            Format::Name => name::write_name(object, out).map_err(TemplateError::Name),
        }
    }
}

/// One custom-columns table, aligned on its own: the header line if `header`, then a row per
/// object. On an error, `out` has the table up to the failing row.
fn columns_table(
    columns: &Columns,
    objects: &[Value],
    header: bool,
    out: &mut Vec<u8>,
) -> Result<(), TemplateError> {
    let mut text = Vec::new();
    if header {
        columns.write_header(&mut text);
    }
    let printed = objects
        .iter()
        .try_for_each(|object| columns.write_row(object, &mut text))
        .map_err(column_error);
    let mut table = TabWriter::new();
    table.write(&text, out);
    table.flush(out);
    printed
}

/// A custom column's failure: kubectl prints the evaluator's message alone.
fn column_error(error: ExecError) -> TemplateError {
    match error {
        ExecError::Go(message) => TemplateError::Columns(message),
        ExecError::Limit(limit) => TemplateError::Limit(limit),
    }
}

/// `kubectl get -w`'s printing: the template applied to each object, everything through one
/// tab aligner whose column widths only grow, the custom columns' header once.
#[derive(Debug)]
pub(crate) struct WatchPrinter<'t> {
    /// The template.
    template: &'t Template,
    /// Whether the header line is still to be printed.
    header_due: bool,
    /// Whether the texts are marked with their contexts ([`Template::mark_context`]): the
    /// custom columns' header gets a CONTEXT column first.
    context_column: bool,
    /// The aligner, kept across batches.
    table: TabWriter,
}

impl WatchPrinter<'_> {
    /// Appends a batch: the initial list's objects, then one call per watch event's object
    /// (kubectl aligns each batch and flushes after it). On an error, nothing of the batch is
    /// appended. (The run prints through [`WatchPrinter::text_of`] and
    /// [`WatchPrinter::print_texts`], comparing texts in between.)
    #[cfg(test)]
    pub(crate) fn print(
        &mut self,
        objects: &[Value],
        out: &mut Vec<u8>,
    ) -> Result<(), TemplateError> {
        let texts = objects
            .iter()
            .map(|object| self.text_of(object))
            .collect::<Result<Vec<_>, _>>()?;
        self.print_texts(&texts, out);
        Ok(())
    }

    /// What `object` prints as, unaligned and without the header: what two events are compared
    /// by, and what [`WatchPrinter::print_texts`] aligns.
    pub(crate) fn text_of(&self, object: &Value) -> Result<Vec<u8>, TemplateError> {
        let mut text = Vec::new();
        self.template.print_object(object, false, &mut text)?;
        Ok(text)
    }

    /// Appends a batch of [`WatchPrinter::text_of`]'s texts as [`WatchPrinter::print`] prints
    /// their objects: the custom columns' header first if it is due, then the texts through the
    /// aligner.
    pub(crate) fn print_texts(&mut self, texts: &[Vec<u8>], out: &mut Vec<u8>) {
        for text in texts {
            if std::mem::take(&mut self.header_due)
                && let Format::Columns(columns) = &self.template.format
            {
                let mut header = Vec::new();
                if self.context_column {
                    header.extend_from_slice(b"CONTEXT\t");
                }
                columns.write_header(&mut header);
                self.table.write(&header, out);
            }
            self.table.write(text, out);
        }
        self.table.flush(out);
    }
}

#[cfg(test)]
mod goldens;
#[cfg(test)]
mod tests;
