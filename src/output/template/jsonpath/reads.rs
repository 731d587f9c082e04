//! What a JSONPath template reads of the object it runs on ([`Reads`]), from its syntax tree:
//! each action's path, followed from the object (or from the items of the `range` it is in) to
//! the value it prints, which is read whole. Anything this cannot follow exactly (`.*`, `..`, a
//! word other than `range` and `end`) reads everything from where it stands: more than needed,
//! never less.

use super::node::{Filter, Node};
use crate::output::template::reads::Reads;

/// A place in the object: the keys from its root (list items are not counted: what is read of
/// a list is read of each item).
type Path = Vec<String>;

/// What the template of `nodes` (its top-level texts and actions) reads. A template whose
/// `range`s are not simply nested (a `range` or `end` anywhere but alone at the start of an
/// action, a `range` left open) changes where the evaluator runs its later actions from in ways
/// not followed here: it reads everything.
pub(super) fn reads(nodes: &[Node]) -> Reads {
    if !ranges_simply_nested(nodes) {
        return Reads::All;
    }
    let mut reads = Reads::nothing();
    // Where the actions run from: the object, or the items of each `range` they are in.
    let mut contexts: Vec<Vec<Path>> = vec![vec![Vec::new()]];
    for node in nodes {
        let Node::List(action) = node else {
            continue;
        };
        let context = contexts.last().cloned().unwrap_or_default();
        match action.split_first() {
            Some((Node::Identifier(word), path)) if word == "range" => {
                let items = follow(path, context, &mut reads);
                // The items are counted (the body runs once for each), whatever it reads.
                for list in &items {
                    reads.touch(list);
                }
                contexts.push(items);
            }
            Some((Node::Identifier(word), _)) if word == "end" => {
                contexts.pop();
            }
            _ => {
                for printed in follow(action, context, &mut reads) {
                    reads.add(&printed);
                }
            }
        }
    }
    reads
}

/// Whether every `range` and `end` of the template stands alone at the start of a top-level
/// action (`{range PATH}`, `{end}`), each `end` closes a `range`, and none is left open.
fn ranges_simply_nested(nodes: &[Node]) -> bool {
    let mut open = 0usize;
    for node in nodes {
        let Node::List(action) = node else {
            continue;
        };
        let (first, rest) = match action.split_first() {
            Some((Node::Identifier(word), rest)) => (Some(word.as_str()), rest),
            _ => (None, &action[..]),
        };
        if rest.iter().any(names_range_or_end) {
            return false;
        }
        match first {
            Some("range") => open += 1,
            Some("end") if rest.is_empty() && open > 0 => open -= 1,
            Some("end") => return false,
            _ => {}
        }
    }
    open == 0
}

/// Whether `node` is, or holds, the word `range` or `end`.
fn names_range_or_end(node: &Node) -> bool {
    match node {
        Node::Identifier(word) => word == "range" || word == "end",
        Node::List(nodes) => nodes.iter().any(names_range_or_end),
        Node::Union(members) => members.iter().flatten().any(names_range_or_end),
        Node::Filter(filter) => filter
            .left
            .iter()
            .chain(&filter.right)
            .any(names_range_or_end),
        _ => false,
    }
}

/// Follows `nodes` from each of `from`: where they end (the values they give), everything read
/// on the way added to `reads` (a filter's sides, what a wildcard reads).
fn follow(nodes: &[Node], mut at: Vec<Path>, reads: &mut Reads) -> Vec<Path> {
    for node in nodes {
        match node {
            // `.` alone is the key "", as the evaluator looks it up.
            Node::Field(name) => {
                for path in &mut at {
                    path.push(name.clone());
                }
            }
            // An index, a slice or `[*]` picks list items, which are read as the list is.
            Node::Array(_) => {}
            Node::Filter(filter) => {
                for path in &at {
                    read_filter(filter, path, reads);
                }
            }
            Node::Union(members) => {
                at = members
                    .iter()
                    .flat_map(|member| follow(member, at.clone(), reads))
                    .collect();
            }
            // A literal gives itself once for each value before it (a missing one fails): those
            // values are counted, and what follows reads nothing of the object.
            Node::Text(_) | Node::Int(_) | Node::Float(_) | Node::Bool(_) => {
                for path in at.drain(..) {
                    reads.touch(&path);
                }
            }
            Node::List(inner) => at = follow(inner, at, reads),
            // `.*`, `..`, and a word that is not where `range` or `end` may be: all from here.
            Node::Wildcard | Node::Recursive | Node::Identifier(_) => {
                for path in at.drain(..) {
                    reads.add(&path);
                }
            }
        }
    }
    at
}

/// Adds what `filter` reads of each item at `item`: the values both of its sides give.
fn read_filter(filter: &Filter, item: &Path, reads: &mut Reads) {
    for side in [&filter.left, &filter.right] {
        for compared in follow(side, vec![item.clone()], reads) {
            reads.add(&compared);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::output::template::jsonpath::JsonPath;
    use crate::output::template::reads::Reads;

    fn reads(template: &str) -> Reads {
        JsonPath::parse(template).expect("parses").reads()
    }

    fn fields(paths: &[&str]) -> Reads {
        let mut reads = Reads::nothing();
        for path in paths {
            let keys: Vec<String> = path.split('.').map(str::to_owned).collect();
            reads.add(&keys);
        }
        reads
    }

    #[test]
    fn a_path_reads_the_value_it_prints_whole() {
        assert_eq!(
            reads(r#"{.metadata.name}{"\t"}{.status.podIP}{"\n"}"#),
            fields(&["metadata.name", "status.podIP"])
        );
        assert_eq!(reads("{.metadata.labels}"), fields(&["metadata.labels"]));
        assert_eq!(
            reads("{.spec.containers[*].image}"),
            fields(&["spec.containers.image"])
        );
        let mut owner = Reads::nothing();
        owner.add(&["metadata", "annotations", "example.com/owner"].map(str::to_owned));
        assert_eq!(reads("{.metadata.annotations.example\\.com/owner}"), owner);
    }

    #[test]
    fn filters_read_both_sides_for_each_item() {
        assert_eq!(
            reads(r#"{.status.conditions[?(@.type=="Ready")].status}"#),
            fields(&["status.conditions.type", "status.conditions.status"])
        );
        assert_eq!(
            reads("{.status.containerStatuses[?(@.restartCount>1)].name}"),
            fields(&[
                "status.containerStatuses.restartCount",
                "status.containerStatuses.name"
            ])
        );
    }

    #[test]
    fn a_range_reads_its_body_from_its_items_until_its_end() {
        assert_eq!(
            reads("{range .spec.containers[*]}{.name}={.image};{end}{.kind}"),
            fields(&["spec.containers.name", "spec.containers.image", "kind"])
        );
        assert_eq!(
            reads(r#"{range .items[*]}{.metadata.name}{"\t"}{.status.phase}{"\n"}{end}"#),
            fields(&["items.metadata.name", "items.status.phase"])
        );
    }

    #[test]
    fn what_cannot_be_followed_reads_everything_from_where_it_stands() {
        assert_eq!(reads("{..image}"), Reads::All);
        assert_eq!(reads("{.metadata.*}"), fields(&["metadata"]));
        assert_eq!(reads("{@}"), Reads::All);
        assert_eq!(reads("{.kind}{@.kind}"), fields(&["kind"]));
        assert_eq!(reads("{.a}{nonsense}"), Reads::All);
        assert_eq!(
            reads("{.spec['containers','volumes'][*].name}"),
            fields(&["spec.containers.name", "spec.volumes.name"])
        );
        assert_eq!(reads(r#"{"text"}"#), Reads::nothing());
    }
}
