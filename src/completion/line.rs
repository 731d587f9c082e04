//! What the command line being completed already says about the cluster: `--kubeconfig`,
//! `--context` and `--sim`, wherever they stand on the line.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::client::KubeconfigChoice;

/// The cluster the line names.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Line {
    /// `--kubeconfig PATH` or `--kubeconfig=PATH`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context NAME` or `--context=NAME`.
    pub context: Option<String>,
    /// `--sim`.
    pub sim: bool,
}

impl Line {
    /// The line of this process's completion request: from a shell, or from kubectl.
    pub fn of_process() -> Line {
        let mut args = std::env::args_os();
        if super::is_kubectl_completer(args.next().as_deref()) {
            Line::of_words(args)
        } else {
            Line::of_request(std::env::args_os())
        }
    }

    /// The line of a shell's completion request, `COMPLETER -- BIN WORDS...`: the words after
    /// the first `--` and the command's name.
    pub fn of_request(args: impl IntoIterator<Item = OsString>) -> Line {
        Line::of_words(args.into_iter().skip_while(|arg| arg != "--").skip(2))
    }

    /// The line of these words (the command's name left out), up to a `--` of the line's own.
    /// Empty values count as not given, as the run refuses them.
    pub fn of_words(words: impl IntoIterator<Item = OsString>) -> Line {
        let mut words = words.into_iter();
        let mut line = Line::default();
        while let Some(word) = words.next() {
            if word == "--" {
                break;
            }
            if word == "--sim" {
                line.sim = true;
            } else if let Some(value) = value_of(&word, "--kubeconfig", &mut words) {
                line.kubeconfig =
                    Some(PathBuf::from(value)).filter(|path| !path.as_os_str().is_empty());
            } else if let Some(value) = value_of(&word, "--context", &mut words) {
                line.context = value.into_string().ok().filter(|name| !name.is_empty());
            }
        }
        line
    }

    /// The kubeconfig and context to connect with.
    pub fn choice(&self) -> KubeconfigChoice {
        KubeconfigChoice {
            path: self.kubeconfig.clone(),
            context: self.context.clone(),
        }
    }
}

/// The value of `flag` if `word` is it: `--flag=VALUE`, or `--flag` and the next word.
fn value_of(
    word: &OsStr,
    flag: &str,
    words: &mut impl Iterator<Item = OsString>,
) -> Option<OsString> {
    if word == flag {
        return Some(words.next().unwrap_or_default());
    }
    let value = word
        .as_bytes()
        .strip_prefix(flag.as_bytes())?
        .strip_prefix(b"=")?;
    Some(OsStr::from_bytes(value).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Line {
        let args = ["/bin/kreflect", "--", "kreflect"]
            .iter()
            .chain(words)
            .map(OsString::from);
        Line::of_request(args)
    }

    #[test]
    fn flags_are_read_in_both_spellings_anywhere_on_the_line() {
        assert_eq!(
            parse(&["pods", "--kubeconfig", "/k", "-n", "", "--context=prod"]),
            Line {
                kubeconfig: Some("/k".into()),
                context: Some("prod".into()),
                sim: false
            }
        );
        assert_eq!(
            parse(&["--kubeconfig=/k", "po", "--sim"]),
            Line {
                kubeconfig: Some("/k".into()),
                context: None,
                sim: true
            }
        );
    }

    #[test]
    fn empty_or_missing_values_and_words_after_the_lines_own_dashes_count_as_not_given() {
        assert_eq!(parse(&["--context", ""]), Line::default());
        assert_eq!(parse(&["--context"]), Line::default());
        assert_eq!(parse(&["--kubeconfig="]), Line::default());
        assert_eq!(parse(&["pods", "--", "--sim"]), Line::default());
        assert_eq!(parse(&["--contexts=x", "--simple"]), Line::default());
    }

    #[test]
    fn words_before_the_requests_dashes_are_not_the_line() {
        let args = ["kreflect", "--sim", "--", "kreflect", "po"].map(OsString::from);
        assert_eq!(Line::of_request(args), Line::default());
    }
}
