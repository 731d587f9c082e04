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
//! unfinished progress line, by a thread of its own (`kreflect-stderr`): a stderr nobody reads
//! (`2> >(a stuck log shipper)`, `-v 2>&1 | less`) blocks that thread, never the runtime's one
//! thread that reflects, answers `/healthz` and sees signals. While it is blocked, records
//! beyond [`QUEUED_RECORDS`] are dropped; [`flush`] waits for the rest before the process exits.

use std::fmt;
use std::io::{self, IsTerminal, Stderr, Write};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::output::progress::{self, StatusLine};
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
    let queue = start_stderr_thread();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || RecordWriter(queue.clone()))
        .log_internal_errors(false);
    if sentences {
        builder.event_format(Sentences).init();
    } else {
        builder.with_ansi(terminal).init();
    }
}

/// How many records may wait for a stderr that does not take them before new ones are dropped.
pub const QUEUED_RECORDS: usize = 1024;

/// What the stderr thread is given: a record to write, or a flush to acknowledge.
enum ToStderr {
    Record(Vec<u8>),
    Flushed(SyncSender<()>),
}

/// The stderr thread's queue, once [`init`] started it.
static QUEUE: OnceLock<SyncSender<ToStderr>> = OnceLock::new();

/// Starts the thread that writes records to stderr; `None` if it cannot (records are then
/// written by whoever logs).
fn start_stderr_thread() -> Option<SyncSender<ToStderr>> {
    let (queue, records) = sync_channel(QUEUED_RECORDS);
    let line = progress::stderr_line();
    std::thread::Builder::new()
        .name("kreflect-stderr".to_owned())
        .spawn(move || write_records(&line, &records))
        .ok()?;
    let _ = QUEUE.set(queue.clone());
    Some(queue)
}

/// The stderr thread: writes each record as it comes, acknowledges flushes.
fn write_records(line: &StatusLine<Stderr>, records: &Receiver<ToStderr>) {
    for message in records {
        match message {
            ToStderr::Record(record) => {
                let _ = line.write_record(&record);
            }
            ToStderr::Flushed(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Waits, at most `within`, until every record logged so far is on stderr (before the process
/// writes its error line and exits); whether they all are. `false` means stderr is stuck, and
/// the stderr thread holds [`progress::stderr_line`] while it waits: do not lock it then.
pub fn flush(within: Duration) -> bool {
    let Some(queue) = QUEUE.get() else {
        return true;
    };
    let deadline = Instant::now() + within;
    let (done, flushed) = sync_channel(1);
    let mut marker = ToStderr::Flushed(done);
    loop {
        match queue.try_send(marker) {
            Ok(()) => break,
            Err(TrySendError::Full(unsent)) if Instant::now() < deadline => {
                marker = unsent;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => return false,
        }
    }
    flushed
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .is_ok()
}

/// Hands each formatted record (tracing-subscriber writes one whole record per call) to the
/// stderr thread, which writes it above the progress line, never into it. A record stderr does
/// not take (a pipe its reader closed, as in `kreflect pods -v 2>&1 | head`; a full disk; a
/// full queue) is dropped: there is nowhere to say so, and tracing-subscriber would report the
/// failure with `eprintln!`, which panics on that same stderr.
struct RecordWriter(Option<SyncSender<ToStderr>>);

impl Write for RecordWriter {
    fn write(&mut self, record: &[u8]) -> io::Result<usize> {
        match &self.0 {
            Some(queue) => {
                let _ = queue.try_send(ToStderr::Record(record.to_vec()));
            }
            None => {
                let _ = progress::stderr_line().write_record(record);
            }
        }
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
    use crate::wire::test_support::Captured;

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
