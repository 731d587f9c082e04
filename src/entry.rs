//! The binary's whole life: parse the command line, log to stderr, run, map the result to an
//! exit code. `src/main.rs` calls [`main`] and sets the allocator; everything else lives in
//! the layers below.

use std::process::ExitCode;

use crate::cli::args::{Cli, Invocation};
use crate::cli::completion;
use crate::output::printer::reader_gone;
use crate::output::{logging, progress};
use crate::quote::escape_controls;
use crate::runtime;

/// The `kreflect` process from start to exit code: answers a shell's completion request,
/// parses the command line (usage errors exit 2), sets up logging, runs the watch on the
/// binary's runtime until it ends or a signal stops it, and writes the error line of a failed
/// run. The binary (`src/main.rs`) is this and its allocator.
pub fn main() -> ExitCode {
    // A shell asking for completions (COMPLETE=bash): answered here, before anything writes.
    completion::complete_if_asked();
    let cli = match Cli::try_parse_args() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    logging::init(cli.verbose);
    let config = match cli.into_invocation() {
        Ok(Invocation::Watch(config)) => *config,
        Ok(Invocation::Completions(shell)) => {
            return match completion::write_registration(shell, &mut std::io::stdout()) {
                // A reader that stopped reading (`| head`) is no failure.
                Ok(()) => ExitCode::SUCCESS,
                Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(err) => fail(&format!("cannot write the completion script: {err}"), 1),
            };
        }
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(2);
        }
    };
    runtime::raise_open_file_limit();
    let runtime = match runtime::build() {
        Ok(runtime) => runtime,
        Err(err) => return fail(&format!("cannot start the async runtime: {err}"), 1),
    };
    let outcome = runtime.block_on(async {
        // A `--for` run writes only as objects meet their conditions: its reader going away
        // is no reason to stop waiting (kubectl wait goes on too).
        let shutdown = shutdown_signal(config.mode != crate::cli::config::Mode::Wait);
        let stdout = progress::beside_status_line(std::io::stdout());
        crate::run(config, stdout, shutdown).await
    });
    // Every task has ended; only a thread blocked in a credential plugin that hangs may be
    // left, and it must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    // The last records before the error line; a stderr nobody reads does not hold the exit.
    let flushed = logging::flush(std::time::Duration::from_secs(1));
    match outcome {
        Ok(()) => {
            if flushed {
                progress::stderr_line().finish();
            }
            ExitCode::SUCCESS
        }
        // The whole message: our errors flatten their causes into `Display` (lib.rs, "Errors").
        Err(err) => fail(&err.to_string(), err.exit_code()),
    }
}

/// Writes the error line. Control characters are escaped as keys are (`\n`, `\x1b`): messages
/// quote the server's words (an error page's HTML, a hostile server's terminal escapes) and
/// the kubeconfig parser's multi-line snippets, and an error is one line on stderr.
fn fail(message: &str, code: u8) -> ExitCode {
    let message = escape_controls(message);
    // In place of the progress line: an error ending a slow first list must not land on it.
    let line = format!("kreflect: {message}\n");
    let _ = progress::stderr_line().write_last_record(line.as_bytes());
    ExitCode::from(code)
}

/// Installs the SIGINT (Ctrl-C) and SIGTERM handlers now, before anything else runs, and
/// returns a future that completes with the first of them received. Must be called inside the
/// runtime.
fn shutdown_signal(watch_reader: bool) -> impl std::future::Future<Output = crate::Signal> {
    use crate::Signal;
    use tokio::signal::unix::{SignalKind, signal};
    async fn received(handler: Option<tokio::signal::unix::Signal>) {
        match handler {
            Some(mut handler) => {
                handler.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    async fn reader_gone(watched: bool) {
        if watched {
            reader_gone::stdout_reader_gone().await;
        } else {
            std::future::pending::<()>().await;
        }
    }
    let interrupt = signal(SignalKind::interrupt()).ok();
    let terminate = signal(SignalKind::terminate()).ok();
    let hangup = signal(SignalKind::hangup()).ok();
    async move {
        tokio::select! {
            () = received(interrupt) => Signal::Interrupt,
            () = received(terminate) => Signal::Terminate,
            () = received(hangup) => Signal::Hangup,
            () = reader_gone(watch_reader) => Signal::ReaderGone,
        }
    }
}
