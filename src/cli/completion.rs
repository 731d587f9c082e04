//! Shell completion that knows the cluster, through clap_complete's dynamic engine
//! ([`CompleteEnv`]). The shell's registration script (printed by `kreflect completions SHELL`,
//! the same as `COMPLETE=SHELL kreflect`) runs `COMPLETE=SHELL kreflect -- WORDS...` on each
//! TAB, and kreflect prints the candidates for the word under the cursor:
//! - RESOURCE, the first positional word: the watchable resources from discovery, named as
//!   `kubectl api-resources -o name` names them (`pods`, `deployments.apps`), or by a short
//!   name or singular when no such name fits (`svc`), and discovery's categories (`all`);
//!   after a comma, the last name of the list (`names`). Discovery is cached on disk per
//!   server for a few minutes (`cache`).
//! - The later positional words, as kubectl's completion reads them (`position`): object
//!   names of the first word's types (`pods web-<TAB>`), listed from the cluster in `-n`'s
//!   namespace, else in every namespace (what the run would watch); `TYPE/NAME` completes the
//!   name after the `/`.
//! - `-n`: the namespaces the cluster lists.
//! - `--context`: the kubeconfig's contexts.
//! - `-o`: the output formats (clap's value enum: nothing here).
//!
//! The cluster is the one the line being completed names (`line`: `--kubeconfig`, `--context`,
//! `--sim`), else `$KUBECONFIG`'s, else `~/.kube/config`'s. A value with no candidate completes to
//! nothing, never to file names. A cluster that cannot be reached within [`cluster::DEADLINE`] gives no
//! candidates, silently: nothing on stderr, exit 0 (`cluster`).
//!
//! As a kubectl plugin, a link named `kubectl_complete-reflect` on the PATH answers kubectl's
//! own plugin completion protocol (`kubectl reflect po<TAB>`) with the same candidates.

mod cache;
mod cluster;
mod line;
mod names;
mod position;

use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::engine::ArgValueCompleter;
use clap_complete::env::Shells;
use clap_complete::{CompleteEnv, CompletionCandidate, Shell};

use crate::api::resolve;
use crate::cli::args::Cli;
use line::Line;
use position::Position;

/// The environment variable that asks for completion, as clap_complete names it.
const VAR: &str = "COMPLETE";

/// The name the shell completes when argv\[0\] says nothing: `kreflect`.
const DEFAULT_BIN: &str = "kreflect";

/// The name kubectl (v1.26 and later) runs to complete `kubectl reflect ...`, when an
/// executable of that name is on the PATH: a link to kreflect.
const KUBECTL_COMPLETER: &str = "kubectl_complete-reflect";

/// If this process was started for completion, by a shell (`COMPLETE=SHELL`) or by kubectl (as
/// `kubectl_complete-reflect`), prints the registration script or the candidates and exits;
/// otherwise returns at once. Call it first in `main`, before anything writes to stdout or
/// stderr.
pub fn complete_if_asked() {
    if is_kubectl_completer(std::env::args_os().next().as_deref()) {
        complete_for_kubectl();
        std::process::exit(0);
    }
    CompleteEnv::with_factory(command)
        .var(VAR)
        .bin(installed_name(std::env::args_os().next().as_deref()))
        .complete();
}

/// kreflect's command line with the cluster's candidates attached to the values they complete:
/// RESOURCE (and the names after it), `-n` and `--context`. The definition ([`Cli`]) knows
/// nothing of completion; this is the only command completion runs.
fn command() -> clap::Command {
    Cli::command()
        .mut_arg("resource", |arg| arg.add(ArgValueCompleter::new(resources)))
        .mut_arg("namespace", |arg| {
            arg.add(ArgValueCompleter::new(namespaces))
        })
        .mut_arg("context", |arg| arg.add(ArgValueCompleter::new(contexts)))
}

/// Writes the registration script `shell` needs for completions to call this binary: the same
/// script `COMPLETE=SHELL kreflect` prints.
pub fn write_registration(shell: Shell, output: &mut dyn Write) -> io::Result<()> {
    let argv0 = std::env::args_os().next();
    let current_dir = std::env::current_dir().ok();
    registration(shell, argv0.as_deref(), current_dir.as_deref(), output)
}

/// [`write_registration`] for this `argv[0]` and working directory: the completer is `argv[0]`
/// as run (made absolute when it is a relative path with a directory, as [`CompleteEnv`] does),
/// and the command completed is its file name, so an installed `kubectl-reflect` completes as
/// itself.
fn registration(
    shell: Shell,
    argv0: Option<&OsStr>,
    current_dir: Option<&Path>,
    output: &mut dyn Write,
) -> io::Result<()> {
    let shells = Shells::builtins();
    let completer = shells
        .completer(&shell.to_string())
        .ok_or_else(|| io::Error::other(format!("no dynamic completion for {shell}")))?;
    let argv0 = PathBuf::from(argv0.unwrap_or(OsStr::new(DEFAULT_BIN)));
    let path = match current_dir {
        Some(dir) if argv0.components().count() > 1 => dir.join(&argv0),
        _ => argv0.clone(),
    };
    let name = Cli::command().get_name().to_owned();
    let bin = installed_name(Some(argv0.as_os_str()));
    completer.write_registration(VAR, &name, &bin, &path.to_string_lossy(), output)
}

/// Whether `argv[0]` is [`KUBECTL_COMPLETER`].
fn is_kubectl_completer(argv0: Option<&OsStr>) -> bool {
    installed_name(argv0) == KUBECTL_COMPLETER
}

/// Answers kubectl's plugin completion: `kubectl_complete-reflect WORDS... WORD` (the words
/// after `kubectl reflect`, the last one under the cursor) prints WORD's candidates, one a line,
/// then `:4`, cobra's `ShellCompDirectiveNoFileComp`: without it kubectl would offer file names.
fn complete_for_kubectl() {
    let mut words: Vec<OsString> = std::iter::once(OsString::from(DEFAULT_BIN))
        .chain(std::env::args_os().skip(1))
        .collect();
    if words.len() == 1 {
        words.push(OsString::new());
    }
    let index = words.len() - 1;
    let current_dir = std::env::current_dir().ok();
    let found =
        clap_complete::engine::complete(&mut command(), words, index, current_dir.as_deref())
            .unwrap_or_default();
    let mut output = String::new();
    for candidate in found {
        output.push_str(&candidate.get_value().to_string_lossy());
        output.push('\n');
    }
    output.push_str(":4\n");
    let _ = io::stdout().write_all(output.as_bytes());
}

/// The file name of `argv[0]`, as the shell is to complete it: `kreflect`, `kubectl-reflect`.
fn installed_name(argv0: Option<&OsStr>) -> String {
    argv0
        .map(Path::new)
        .and_then(Path::file_name)
        .and_then(OsStr::to_str)
        .unwrap_or(DEFAULT_BIN)
        .to_owned()
}

/// RESOURCE's candidates (clap calls it for every positional word, with the word under the
/// cursor): resources and categories, or object names, as the words before it say
/// (read as kubectl reads them: the private `position` module).
pub fn resources(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    let line = Line::of_process();
    let found = match Position::of(&line.before_cursor, current) {
        Position::Types => {
            let served = served(&line, current);
            let categories = names::categories(&served);
            names::resource_candidates(current, &names::of_served(&served), &categories)
        }
        Position::TypeThenSlash => {
            let served = names::of_served(&served(&line, current));
            let types = names::resource_candidates(current, &served, &[]);
            types.into_iter().map(|name| format!("{name}/")).collect()
        }
        Position::Name { types, on_line } => {
            let found = object_names(&line, types);
            names::object_candidates(current, found, &on_line)
        }
        Position::SlashName {
            resource,
            word,
            on_line,
        } => {
            let found = object_names(&line, resource);
            let names = names::object_candidates(word, found, &on_line);
            names
                .into_iter()
                .map(|name| format!("{resource}/{name}"))
                .collect()
        }
    };
    candidates(found)
}

/// The watchable resources of the line's cluster, for completing `current`: a cache with no
/// candidate for it is asked again (a custom resource installed since it was written).
fn served(line: &Line, current: &str) -> Vec<resolve::Discovered> {
    let current = current.to_owned();
    let has_candidates = move |served: &[resolve::Discovered]| {
        let categories = names::categories(served);
        !names::resource_candidates(&current, &names::of_served(served), &categories).is_empty()
    };
    let served = if line.sim {
        Some(cluster::sim_resources())
    } else {
        cluster::within_deadline(cluster::resources(line.choice(), has_candidates))
    };
    served.unwrap_or_default()
}

/// The names of the objects of `types` in the line's cluster and namespaces (each of them, or
/// all); none with `--sim` (its objects exist only while it runs).
fn object_names(line: &Line, types: &str) -> Vec<String> {
    if line.sim {
        return Vec::new();
    }
    let names = cluster::object_names(line.choice(), types.to_owned(), line.namespaces.clone());
    let names = cluster::within_deadline(names);
    names.unwrap_or_default()
}

/// `-n`'s candidates: the namespaces the cluster lists; after a comma (`-n shop,w`), those
/// not named yet.
pub fn namespaces(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    let line = Line::of_process();
    let namespaces = if line.sim {
        Some(cluster::sim_namespaces())
    } else {
        cluster::within_deadline(cluster::namespaces(line.choice()))
    };
    let namespaces = namespaces.unwrap_or_default();
    candidates(names::not_named_yet(current, namespaces, &line.namespaces))
}

/// `--context`'s candidates: the kubeconfig's contexts, but those the line names already.
pub fn contexts(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    let line = Line::of_process();
    let choice = line.choice();
    // Reading the kubeconfig is the only work, but a file can block as a cluster can.
    let contexts =
        cluster::within_deadline(
            async move { crate::connect::client::context_names(&choice).ok() },
        );
    // `--context a,b`: clap passes the item under the cursor alone.
    candidates(names::context_candidates(
        current,
        contexts.unwrap_or_default(),
        &line.contexts,
    ))
}

fn candidates(values: Vec<String>) -> Vec<CompletionCandidate> {
    values
        .into_iter()
        .map(|value| CompletionCandidate::new(OsString::from(value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(shell: Shell, argv0: &str, dir: Option<&str>) -> String {
        let mut output = Vec::new();
        registration(
            shell,
            Some(OsStr::new(argv0)),
            dir.map(Path::new),
            &mut output,
        )
        .expect("registration");
        String::from_utf8(output).expect("utf-8")
    }

    #[test]
    fn every_shell_gets_a_script_that_calls_back_with_complete_set() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let script = script(shell, "kreflect", None);
            assert!(script.contains("COMPLETE"), "{shell}: {script}");
            assert!(script.contains("kreflect"), "{shell}: {script}");
        }
    }

    #[test]
    fn the_completer_is_argv0_as_run_and_the_command_its_file_name() {
        let bash = script(Shell::Bash, "./bin/kubectl-reflect", Some("/home/u"));
        assert!(
            bash.contains("\"/home/u/./bin/kubectl-reflect\" --"),
            "{bash}"
        );
        assert!(
            bash.contains("_clap_complete_kreflect kubectl-reflect\n"),
            "{bash}"
        );
        let on_path = script(Shell::Bash, "kreflect", Some("/home/u"));
        assert!(on_path.contains("\"kreflect\" --"), "{on_path}");
    }
}
