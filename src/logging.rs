//! Logs on stderr: sentences for a person at a terminal, the full structured format elsewhere.
//!
//! On a terminal, without `-v` and without `RUST_LOG`, a record is one line that reads as a
//! sentence, level and message first, then the fields:
//!
//! ```text
//! kreflect: warning: request failed; retrying (verb: list, scope: pods at cluster scope, error: cannot reach https://10.0.0.1:6443 (context prod): connection refused, retry_in_ms: 1381)
//! ```
//!
//! No module path: it names our code, not the reader's problem. No timestamp: the reader watches
//! it happen, and at the default level only warnings show. The `kreflect:` prefix is the one the
//! error line has, so a line says which program wrote it among others on the same terminal.
//!
//! Piped or redirected stderr (a log file, CI, journald), `-v` (someone debugging), or `RUST_LOG`
//! (which may turn on other crates' logs, whose target matters) keep tracing-subscriber's full
//! format: timestamp, level, target, message, `key=value` fields.
//!
//! Either way a record is written through [`progress::stderr_line`], so it never lands on an
//! unfinished progress line.

use std::fmt;
use std::io::{self, IsTerminal, Stderr, Write};
use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::progress::{self, StatusLine};
use crate::quote::escape_controls;

/// Installs the global subscriber writing to stderr (stdout carries only listings): warnings
/// of our crate by default, debug with `-v`, trace with `-vv`; `RUST_LOG` overrides.
pub fn init(verbose: u8) {
    let from_env = EnvFilter::try_from_default_env().ok();
    let terminal = io::stderr().is_terminal();
    let sentences = terminal && verbose == 0 && from_env.is_none();
    let filter = from_env.unwrap_or_else(|| {
        EnvFilter::new(match verbose {
            0 => "kreflect=warn",
            1 => "kreflect=debug",
            _ => "kreflect=trace",
        })
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| RecordWriter(progress::stderr_line()))
        .log_internal_errors(false);
    if sentences {
        builder.event_format(Sentences).init();
    } else {
        builder.with_ansi(terminal).init();
    }
}

/// Writes each formatted record (tracing-subscriber writes one whole record per call) above
/// the progress line on stderr, never into it. A record stderr does not take (a pipe its reader
/// closed, as in `kreflect pods -v 2>&1 | head`; a full disk) is dropped: there is nowhere to
/// say so, and tracing-subscriber would report the failure with `eprintln!`, which panics on
/// that same stderr.
struct RecordWriter(Arc<StatusLine<Stderr>>);

impl Write for RecordWriter {
    fn write(&mut self, record: &[u8]) -> io::Result<usize> {
        let _ = self.0.write_record(record);
        Ok(record.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The terminal format: `kreflect: warning: MESSAGE (field: value, ...)`, control characters
/// escaped (messages quote the server's words; see [`escape_controls`]).
#[derive(Clone, Copy, Debug, Default)]
struct Sentences;

impl<S, N> FormatEvent<S, N> for Sentences
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "info",
            Level::DEBUG => "debug",
            Level::TRACE => "trace",
        };
        let mut fields = Fields::default();
        event.record(&mut fields);
        write!(
            writer,
            "kreflect: {level}: {}",
            escape_controls(&fields.message)
        )?;
        for (i, (name, value)) in fields.others.iter().enumerate() {
            let separator = if i == 0 { " (" } else { ", " };
            write!(writer, "{separator}{name}: {}", escape_controls(value))?;
        }
        if !fields.others.is_empty() {
            writer.write_char(')')?;
        }
        writeln!(writer)
    }
}

/// An event's message and its other fields, in order, as text.
#[derive(Default)]
struct Fields {
    message: String,
    others: Vec<(&'static str, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%display` fields and the message reach here with a `Debug` that prints `Display`.
        self.record(field, format!("{value:?}"));
    }
}

impl Fields {
    fn record(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.message = value;
        } else {
            self.others.push((field.name(), value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Captured;

    /// What `log` writes in the terminal format.
    fn rendered(log: impl FnOnce()) -> String {
        let captured = Captured::default();
        let writer = {
            let captured = captured.clone();
            move || captured.clone()
        };
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(Level::TRACE)
            .with_writer(writer)
            .event_format(Sentences)
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        captured.text()
    }

    #[test]
    fn a_warning_reads_level_and_message_then_its_fields() {
        let scope = "pods at cluster scope";
        let text = rendered(|| {
            tracing::warn!(verb = "list", scope = %scope, retry_in_ms = 1381_u64, "request failed; retrying");
        });
        assert_eq!(
            text,
            "kreflect: warning: request failed; retrying (verb: list, scope: pods at cluster \
             scope, retry_in_ms: 1381)\n"
        );
    }

    #[test]
    fn a_record_without_fields_has_no_parentheses_and_each_level_its_word() {
        let text = rendered(|| {
            tracing::error!("stopped");
            tracing::info!("listed");
            tracing::debug!("watch started");
        });
        assert_eq!(
            text,
            "kreflect: error: stopped\nkreflect: info: listed\nkreflect: debug: watch started\n"
        );
    }

    #[test]
    fn a_server_message_cannot_reach_the_terminal_raw() {
        let text = rendered(|| {
            tracing::warn!(error = "<html>\n\x1b]0;pwned\x07", "request failed");
        });
        assert_eq!(
            text,
            "kreflect: warning: request failed (error: <html>\\n\\x1b]0;pwned\\x07)\n"
        );
    }
}
