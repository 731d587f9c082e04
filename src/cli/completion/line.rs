//! What the command line being completed already says: the cluster (`--kubeconfig`,
//! `--context`, `--sim`) and namespace (`-n`) wherever they stand on the line, and the
//! positional words before the cursor (RESOURCE, then names).

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use clap::CommandFactory;

use crate::cli::args::Cli;
use crate::connect::client::KubeconfigChoice;
use crate::connect::overrides::Overrides;

/// Where bash's and zsh's registration scripts put the index of the word under the cursor
/// (`kreflect` being word 0); fish and kubectl pass the words up to the cursor only.
const INDEX_VAR: &str = "_CLAP_COMPLETE_INDEX";

/// What the line says.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Line {
    /// `--kubeconfig PATH` or `--kubeconfig=PATH`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context NAME` or `--context=NAME`: the first context named, the one completion asks.
    pub context: Option<String>,
    /// Every context named (`--context a,b`, repeated), empty names left out.
    pub contexts: Vec<String>,
    /// `--sim`.
    pub sim: bool,
    /// kubectl's global flags that say where to connect and as whom (`--server`, `--token`,
    /// `--user`, `--as`, ...), as the run takes them.
    pub overrides: Overrides,
    /// `-n NS`, `-nNS`, `--namespace NS` or `--namespace=NS`, each of them comma-separated
    /// and repeatable as the run takes them: the namespaces named, empty names left out.
    pub namespaces: Vec<String>,
    /// The positional words before the word under the cursor: flags and their values left
    /// out, every word after the line's own `--` kept.
    pub before_cursor: Vec<String>,
}

impl Line {
    /// The line of this process's completion request: from a shell, or from kubectl.
    pub fn of_process() -> Line {
        let mut args = std::env::args_os();
        if super::is_kubectl_completer(args.next().as_deref()) {
            let words: Vec<OsString> = args.collect();
            let cursor = words.len().saturating_sub(1);
            Line::of_words(words, cursor)
        } else {
            let index = std::env::var(INDEX_VAR).ok().and_then(|i| i.parse().ok());
            Line::of_request(std::env::args_os(), index)
        }
    }

    /// The line of a shell's completion request, `COMPLETER -- BIN WORDS...`: the words after
    /// the first `--` and the command's name; the cursor on word `index` (BIN being word 0),
    /// else on the last word.
    pub fn of_request(args: impl IntoIterator<Item = OsString>, index: Option<usize>) -> Line {
        let words: Vec<OsString> = args
            .into_iter()
            .skip_while(|arg| arg != "--")
            .skip(2)
            .collect();
        let cursor = match index {
            Some(index) => index.saturating_sub(1),
            None => words.len().saturating_sub(1),
        };
        Line::of_words(words, cursor)
    }

    /// The line of these words (the command's name left out), the cursor on word `cursor`.
    /// Flags are read up to a `--` of the line's own; empty values count as not given, as the
    /// run refuses them.
    pub fn of_words(words: impl IntoIterator<Item = OsString>, cursor: usize) -> Line {
        let flags = ValueFlags::of(&Cli::command());
        let mut words = words.into_iter().enumerate();
        let mut line = Line::default();
        let mut flags_over = false;
        while let Some((index, word)) = words.next() {
            if flags_over || !word.as_bytes().starts_with(b"-") || word == "-" {
                if index < cursor {
                    line.before_cursor.push(word.to_string_lossy().into_owned());
                }
            } else if word == "--" {
                flags_over = true;
            } else if word == "--sim" {
                line.sim = true;
            } else if let Some((flag, value)) = flags.read(&word) {
                let value = value.unwrap_or_else(|| {
                    let mut next = words.next().map(|(_, value)| value);
                    // Bash splits `--flag=VALUE` at the `=` (it is in COMP_WORDBREAKS).
                    if next.as_deref() == Some(OsStr::new("=")) {
                        next = words.next().map(|(_, value)| value);
                    }
                    next.unwrap_or_default()
                });
                line.set(&flag, value);
            }
        }
        line
    }

    /// Records the value of `--flag` (any other flag's is of no use to completion).
    fn set(&mut self, flag: &str, value: OsString) {
        match flag {
            "kubeconfig" => {
                self.kubeconfig = Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty());
            }
            // Several contexts (`--context a,b`): names are completed from the first.
            "context" => {
                if let Some(names) = text(value) {
                    let named = names.split(',').filter(|name| !name.is_empty());
                    self.contexts.extend(named.map(str::to_owned));
                }
                self.context = self.contexts.first().cloned();
            }
            "server" => self.overrides.server = text(value),
            "token" => self.overrides.token = text(value),
            "user" => self.overrides.user = text(value),
            "cluster" => self.overrides.cluster = text(value),
            "tls-server-name" => self.overrides.tls_server_name = text(value),
            "certificate-authority" => self.overrides.certificate_authority = path(value),
            "client-certificate" => self.overrides.client_certificate = path(value),
            "client-key" => self.overrides.client_key = path(value),
            "as" => self.overrides.impersonation.user = text(value),
            "as-uid" => self.overrides.impersonation.uid = text(value),
            "as-group" => self.overrides.impersonation.groups.extend(text(value)),
            "namespace" => {
                if let Ok(value) = value.into_string() {
                    let named = value.split(',').filter(|name| !name.is_empty());
                    self.namespaces.extend(named.map(str::to_owned));
                }
            }
            _ => {}
        }
    }

    /// The kubeconfig and context to connect with.
    pub fn choice(&self) -> KubeconfigChoice {
        KubeconfigChoice {
            path: self.kubeconfig.clone(),
            context: self.context.clone(),
            overrides: Box::new(self.overrides.clone()),
        }
    }
}

/// A flag's value as text, `None` when empty or not UTF-8 (the run refuses both).
fn text(value: OsString) -> Option<String> {
    value.into_string().ok().filter(|text| !text.is_empty())
}

/// A flag's value as a path, `None` when empty.
fn path(value: OsString) -> Option<PathBuf> {
    Some(PathBuf::from(value)).filter(|path| !path.as_os_str().is_empty())
}

/// The flags that take a value, as the command line's clap definition declares them: so that
/// a value (`-o wide`) is not taken for a positional word.
struct ValueFlags {
    /// Long names (`namespace`).
    longs: Vec<String>,
    /// Short names with their long name (`n`, `namespace`).
    shorts: Vec<(u8, String)>,
}

impl ValueFlags {
    fn of(command: &clap::Command) -> ValueFlags {
        let mut flags = ValueFlags {
            longs: Vec::new(),
            shorts: Vec::new(),
        };
        let taking_values = command
            .get_arguments()
            .filter(|arg| !arg.is_positional() && arg.get_action().takes_values())
            // `--insecure-skip-tls-verify[=BOOL]`: its value is never the next word.
            .filter(|arg| !arg.is_require_equals_set());
        for arg in taking_values {
            let long = arg.get_long().unwrap_or(arg.get_id().as_str()).to_owned();
            if let Some(short) = arg.get_short().filter(char::is_ascii) {
                flags.shorts.push((short as u8, long.clone()));
            }
            flags.longs.push(long);
        }
        flags
    }

    /// If `word` is a flag taking a value (`--flag`, `--flag=VALUE`, `-f`, `-fVALUE`, `-f=VALUE`,
    /// or one ending a cluster, `-vf`): its long name, and its value when the word holds it.
    fn read(&self, word: &OsStr) -> Option<(String, Option<OsString>)> {
        let owned = |bytes: &[u8]| OsStr::from_bytes(bytes).to_owned();
        if let Some(rest) = word.as_bytes().strip_prefix(b"--") {
            let (name, value) = match rest.iter().position(|&byte| byte == b'=') {
                Some(equals) => (&rest[..equals], Some(owned(&rest[equals + 1..]))),
                None => (rest, None),
            };
            let long = self.longs.iter().find(|long| long.as_bytes() == name)?;
            return Some((long.clone(), value));
        }
        let cluster = word.as_bytes().strip_prefix(b"-")?;
        cluster.iter().enumerate().find_map(|(at, byte)| {
            let (_, long) = self.shorts.iter().find(|(short, _)| short == byte)?;
            let rest = &cluster[at + 1..];
            let value = (!rest.is_empty()).then(|| owned(rest.strip_prefix(b"=").unwrap_or(rest)));
            Some((long.clone(), value))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Line {
        let args = ["/bin/kreflect", "--", "kreflect"]
            .iter()
            .chain(words)
            .map(OsString::from);
        Line::of_request(args, None)
    }

    #[test]
    fn several_contexts_are_all_named_and_the_first_is_asked() {
        let line = parse(&[
            "pods",
            "--context",
            "east,,west",
            "--context=north",
            "--as",
            "bob",
        ]);
        assert_eq!(line.contexts, ["east", "west", "north"]);
        assert_eq!(line.choice().context.as_deref(), Some("east"));
        assert_eq!(
            line.choice().overrides.impersonation.user.as_deref(),
            Some("bob")
        );
    }

    #[test]
    fn flags_are_read_in_both_spellings_anywhere_on_the_line() {
        assert_eq!(
            parse(&["pods", "--kubeconfig", "/k", "-n", "", "--context=prod"]),
            Line {
                kubeconfig: Some("/k".into()),
                context: Some("prod".into()),
                contexts: vec!["prod".into()],
                before_cursor: vec!["pods".into()],
                ..Line::default()
            }
        );
        assert_eq!(
            parse(&["--kubeconfig=/k", "po", "--sim"]),
            Line {
                kubeconfig: Some("/k".into()),
                sim: true,
                before_cursor: vec!["po".into()],
                ..Line::default()
            }
        );
    }

    #[test]
    fn empty_or_missing_values_and_words_after_the_lines_own_dashes_count_as_not_given() {
        assert_eq!(parse(&["--context", ""]), Line::default());
        assert_eq!(parse(&["--context"]), Line::default());
        assert_eq!(parse(&["--kubeconfig="]), Line::default());
        let escaped = parse(&["pods", "--", "--sim", ""]);
        assert!(!escaped.sim, "{escaped:?}");
        assert_eq!(escaped.before_cursor, ["pods", "--sim"]);
        assert_eq!(parse(&["--contexts=x", "--simple"]), Line::default());
    }

    #[test]
    fn words_before_the_requests_dashes_are_not_the_line() {
        let args = ["kreflect", "--sim", "--", "kreflect", "po"].map(OsString::from);
        assert_eq!(Line::of_request(args, None), Line::default());
    }

    #[test]
    fn positional_words_before_the_cursor_leave_out_flags_and_their_values() {
        let line = parse(&[
            "-o",
            "wide",
            "pods",
            "-vn",
            "shop",
            "--interval=5s",
            "web-1",
            "-l",
            "a=b",
            "",
        ]);
        assert_eq!(line.before_cursor, ["pods", "web-1"]);
        assert_eq!(line.namespaces, ["shop"]);
        assert_eq!(parse(&["-nshop", "po", ""]).namespaces, ["shop"]);
        assert_eq!(parse(&["--namespace=x", "po"]).namespaces, ["x"]);
        assert_eq!(
            parse(&["-n", "a,,b", "po", "-n", "c", ""]).namespaces,
            ["a", "b", "c"]
        );
        assert_eq!(parse(&["po", "--", "-a", ""]).before_cursor, ["po", "-a"]);
        // As bash splits `--namespace=shop` into words.
        let split = parse(&["--namespace", "=", "shop", "po", ""]);
        assert_eq!(split.namespaces, ["shop"]);
        assert_eq!(split.before_cursor, ["po"]);
    }

    #[test]
    fn with_an_index_the_cursor_is_on_that_word_and_later_words_still_name_the_cluster() {
        let args = [
            "c", "--", "kreflect", "pods", "w", "web-1", "--sim", "-n", "shop",
        ]
        .map(OsString::from);
        let line = Line::of_request(args, Some(2));
        assert_eq!(line.before_cursor, ["pods"]);
        assert!(line.sim);
        assert_eq!(line.namespaces, ["shop"]);
    }
}
