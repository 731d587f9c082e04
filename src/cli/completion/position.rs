//! What the positional word under the cursor is, read as kubectl's completion reads it
//! (`resourceTypeAndNameCompletionFunc` in kubectl's `completion.go`): the first word is a
//! type; after `TYPE[,TYPE...]` every word is an object name of those types; in the
//! `TYPE/NAME` form, a word with a `/` completes the name after it, and one without a type to
//! be followed by `/`.

/// The word under the cursor, given the positional words before it.
#[derive(Debug, PartialEq, Eq)]
pub enum Position<'a> {
    /// The first word: resources and categories, several after a comma.
    Types,
    /// A later word of the `TYPE/NAME` form, before its `/`: a resource, then `/`.
    TypeThenSlash,
    /// A word after `TYPE[,TYPE...]`: an object name of `types` (as typed: `pods,svc`, `all`),
    /// but the names already on the line.
    Name {
        /// The first word.
        types: &'a str,
        /// The names before the cursor.
        on_line: Vec<&'a str>,
    },
    /// `TYPE/` and the start of a name: an object name of `resource`, but those already on
    /// the line with the same `TYPE/`.
    SlashName {
        /// The type before the `/`, as typed.
        resource: &'a str,
        /// The name typed so far.
        word: &'a str,
        /// The names given as `resource/NAME` before the cursor.
        on_line: Vec<&'a str>,
    },
}

impl<'a> Position<'a> {
    /// The position of `current`, after the positional words `before`.
    pub fn of(before: &'a [String], current: &'a str) -> Position<'a> {
        if let Some(first) = before.first()
            && !first.contains('/')
        {
            return Position::Name {
                types: first,
                on_line: before[1..].iter().map(String::as_str).collect(),
            };
        }
        match current.split_once('/') {
            Some((resource, word)) => Position::SlashName {
                resource,
                word,
                on_line: before
                    .iter()
                    .filter_map(|arg| arg.strip_prefix(resource)?.strip_prefix('/'))
                    .collect(),
            },
            None if before.is_empty() => Position::Types,
            None => Position::TypeThenSlash,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position<'a>(before: &'a [String], current: &'a str) -> Position<'a> {
        Position::of(before, current)
    }

    fn words(words: &[&str]) -> Vec<String> {
        words.iter().map(|&word| word.to_owned()).collect()
    }

    #[test]
    fn the_first_word_is_a_type_and_the_next_ones_names_of_it() {
        assert_eq!(position(&[], "po"), Position::Types);
        assert_eq!(position(&[], "pods,de"), Position::Types);
        let before = words(&["pods,svc", "web-1"]);
        assert_eq!(
            position(&before, "w"),
            Position::Name {
                types: "pods,svc",
                on_line: vec!["web-1"]
            }
        );
    }

    #[test]
    fn a_slash_completes_the_name_after_it_and_after_type_name_comes_a_type() {
        assert_eq!(
            position(&[], "pod/w"),
            Position::SlashName {
                resource: "pod",
                word: "w",
                on_line: vec![]
            }
        );
        let before = words(&["pod/web-1", "svc/web-1"]);
        assert_eq!(position(&before, "de"), Position::TypeThenSlash);
        assert_eq!(
            position(&before, "pod/"),
            Position::SlashName {
                resource: "pod",
                word: "",
                on_line: vec!["web-1"]
            }
        );
    }
}
