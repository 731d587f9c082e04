//! The `kreflect` binary: parse the command line, log to stderr, run, map the result to an
//! exit code. Everything else lives in the library.

use std::process::ExitCode;

use kreflect::cli::args::{Cli, Invocation};

mod allocator;

#[global_allocator]
static ALLOCATOR: allocator::Allocator = allocator::Allocator {};

fn main() -> ExitCode {
    // A shell asking for completions (COMPLETE=bash): answered here, before anything writes.
    kreflect::cli::completion::complete_if_asked();
    let cli = match Cli::try_parse_args() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    kreflect::output::logging::init(cli.verbose);
    let config = match cli.into_invocation() {
        Ok(Invocation::Watch(config)) => *config,
        Ok(Invocation::Completions(shell)) => {
            return match kreflect::cli::completion::write_registration(
                shell,
                &mut std::io::stdout(),
            ) {
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
    let runtime = match kreflect::runtime::build() {
        Ok(runtime) => runtime,
        Err(err) => return fail(&format!("cannot start the async runtime: {err}"), 1),
    };
    let outcome = runtime.block_on(async {
        let shutdown = shutdown_signal();
        let stdout = kreflect::output::progress::beside_status_line(std::io::stdout());
        kreflect::run(config, stdout, shutdown).await
    });
    // Every task has ended; only a thread blocked in a credential plugin that hangs may be
    // left, and it must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    // The last records before the error line; a stderr nobody reads does not hold the exit.
    let flushed = kreflect::output::logging::flush(std::time::Duration::from_secs(1));
    match outcome {
        Ok(()) => {
            if flushed {
                kreflect::output::progress::stderr_line().finish();
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
    let message = kreflect::quote::escape_controls(message);
    // In place of the progress line: an error ending a slow first list must not land on it.
    let line = format!("kreflect: {message}\n");
    let _ = kreflect::output::progress::stderr_line().write_last_record(line.as_bytes());
    ExitCode::from(code)
}

/// Installs the SIGINT (Ctrl-C) and SIGTERM handlers now, before anything else runs, and
/// returns a future that completes with the first of them received. Must be called inside the
/// runtime.
fn shutdown_signal() -> impl std::future::Future<Output = kreflect::Signal> {
    use kreflect::Signal;
    use tokio::signal::unix::{SignalKind, signal};
    async fn received(handler: Option<tokio::signal::unix::Signal>) {
        match handler {
            Some(mut handler) => {
                handler.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    let interrupt = signal(SignalKind::interrupt()).ok();
    let terminate = signal(SignalKind::terminate()).ok();
    async move {
        tokio::select! {
            () = received(interrupt) => Signal::Interrupt,
            () = received(terminate) => Signal::Terminate,
        }
    }
}
