//! Which names complete a word: resources and categories as kubectl's completion offers them,
//! object names, and names that start with the word.

use crate::api::resolve::Discovered;

/// The most object names offered for one word (kubectl offers every one): more than a screen
/// can show is no help, and the shell slows down under thousands.
pub const MAX_OBJECT_NAMES: usize = 500;

/// A watchable resource's names, as completion offers them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceNames {
    /// `plural` for the core group, `plural.group` otherwise: `kubectl api-resources -o name`.
    pub name: String,
    /// Its singular and short names (`deployment`, `deploy`).
    pub aliases: Vec<String>,
}

/// The names of the resources in `served` that can be listed and watched, sorted by name.
pub fn of_served(served: &[Discovered]) -> Vec<ResourceNames> {
    let mut names: Vec<ResourceNames> = served
        .iter()
        .filter(|discovered| discovered.watchable)
        .map(|discovered| ResourceNames {
            name: discovered.qualified_name(),
            aliases: std::iter::once(&discovered.singular)
                .chain(&discovered.short_names)
                .filter(|alias| !alias.is_empty())
                .cloned()
                .collect(),
        })
        .collect();
    names.sort_by(|a, b| a.name.cmp(&b.name));
    names.dedup_by(|a, b| a.name == b.name);
    names
}

/// The categories of the watchable resources in `served` (`all`), sorted, each once.
pub fn categories(served: &[Discovered]) -> Vec<String> {
    let categories = served
        .iter()
        .filter(|discovered| discovered.watchable)
        .flat_map(|discovered| discovered.categories.iter().cloned());
    starting_with("", categories)
}

/// What completes `current` as a RESOURCE: the names and `categories` starting with its last
/// comma-separated part (names as kubectl's completion offers them; it offers no categories,
/// but `all` is a habit a run accepts); when none does, the singulars and short names that do
/// (`svc`, which no full name starts with). The parts before the last comma are kept in front
/// of each candidate (`pods,de` gives `pods,deployments.apps`).
pub fn resource_candidates(
    current: &str,
    resources: &[ResourceNames],
    categories: &[String],
) -> Vec<String> {
    let (kept, word) = match current.rfind(',') {
        Some(comma) => current.split_at(comma + 1),
        None => ("", current),
    };
    let full_names = resources.iter().map(|names| names.name.clone());
    let mut found = starting_with(word, full_names.chain(categories.iter().cloned()));
    if found.is_empty() {
        let aliases = resources
            .iter()
            .flat_map(|names| names.aliases.iter().cloned());
        found = starting_with(word, aliases);
    }
    found
        .into_iter()
        .map(|name| format!("{kept}{name}"))
        .collect()
}

/// What completes `word` as an object name: the `names` (of every type asked for) starting
/// with it, but those already on the line and those not [`safe_in_a_shell_line`], sorted, each
/// once. At most [`MAX_OBJECT_NAMES`], the last one always kept: the first and the last of a
/// sorted list share the prefix the whole list shares, so the shell still inserts no more than
/// every name has in common.
pub fn object_candidates(
    word: &str,
    names: impl IntoIterator<Item = String>,
    on_line: &[&str],
) -> Vec<String> {
    let names = names.into_iter().filter(|name| safe_in_a_shell_line(name));
    let mut found = starting_with(word, names);
    found.retain(|name| !on_line.contains(&name.as_str()));
    if found.len() > MAX_OBJECT_NAMES {
        let last = found.pop();
        found.truncate(MAX_OBJECT_NAMES - 1);
        found.extend(last);
    }
    found
}

/// Whether `name` may be offered as it is: the shell inserts a candidate unquoted into the
/// line being edited, and shows candidates on the terminal. The API server accepts names with
/// spaces, `;`, `$(...)`, newlines or escape sequences for kinds with only path-segment rules
/// (RBAC): offered, they would run as commands when the line is entered, or drive the terminal.
/// Only letters, digits and `-._:@+,=` are kept (`system:controller:job` is); such a name is
/// typed by hand, quoted.
fn safe_in_a_shell_line(name: &str) -> bool {
    name.chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | ':' | '@' | '+' | ',' | '='))
}

/// `--context`'s candidates ([`not_named_yet`]) among the kubeconfig's `contexts`: only those
/// safe in a shell line as object names are ([`safe_in_a_shell_line`]: a kubeconfig is often
/// downloaded or merged from elsewhere), `/` allowed (EKS names contexts
/// `arn:aws:eks:...:cluster/NAME`), `,` not (it would split into two contexts).
pub fn context_candidates(
    current: &str,
    contexts: impl IntoIterator<Item = String>,
    named: &[String],
) -> Vec<String> {
    let safe = contexts
        .into_iter()
        .filter(|name| !name.contains(',') && name.split('/').all(safe_in_a_shell_line));
    not_named_yet(current, safe, named)
}

/// The `names` that start with `prefix`, sorted, each once.
pub fn starting_with(prefix: &str, names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut found: Vec<String> = names
        .into_iter()
        .filter(|name| name.starts_with(prefix))
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The completions of one item of a list (`w` in `-n shop,w`: clap passes the item alone and
/// puts the items before it back): the `names` starting with it, but those the line names
/// already (`named`, this item among them once).
pub fn not_named_yet(
    current: &str,
    names: impl IntoIterator<Item = String>,
    named: &[String],
) -> Vec<String> {
    let mut others: Vec<&str> = named.iter().map(String::as_str).collect();
    if let Some(this) = others.iter().position(|item| *item == current) {
        others.remove(this);
    }
    let names = names
        .into_iter()
        .filter(|name| !others.contains(&name.as_str()));
    starting_with(current, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_unsafe_in_a_shell_line_or_holding_a_comma_are_not_offered() {
        let contexts = [
            "prod",
            "arn:aws:eks:eu-west-1:1:cluster/web",
            "$(touch x)",
            "a b",
            "nl\nfake",
            "x,y",
            "staging",
        ]
        .map(str::to_owned);
        assert_eq!(
            context_candidates("", contexts.clone(), &[]),
            ["arn:aws:eks:eu-west-1:1:cluster/web", "prod", "staging"]
        );
        assert_eq!(
            context_candidates("", contexts, &["prod".to_owned()]),
            ["arn:aws:eks:eu-west-1:1:cluster/web", "staging"]
        );
    }

    fn discovered(group: &str, plural: &str, short: &[&str], watchable: bool) -> Discovered {
        Discovered {
            group: group.to_owned(),
            version: "v1".to_owned(),
            plural: plural.to_owned(),
            singular: plural.trim_end_matches('s').to_owned(),
            kind: String::new(),
            short_names: short.iter().map(|name| (*name).to_owned()).collect(),
            namespaced: true,
            watchable,
            categories: Vec::new(),
        }
    }

    fn discovered_all() -> Vec<Discovered> {
        let mut pods = discovered("", "pods", &["po"], true);
        pods.categories = vec!["all".to_owned()];
        let mut metrics = discovered("metrics.k8s.io", "pods", &[], false);
        metrics.categories = vec!["metrics".to_owned()];
        let mut crd = discovered("example.dev", "widgets", &[], true);
        crd.categories = vec!["all".to_owned(), "api-extensions".to_owned()];
        vec![pods, metrics, crd]
    }

    fn served() -> Vec<ResourceNames> {
        of_served(&[
            discovered("", "pods", &["po"], true),
            discovered("", "podtemplates", &[], true),
            discovered("", "services", &["svc"], true),
            discovered("apps", "deployments", &["deploy"], true),
            discovered("", "events", &["ev"], true),
            discovered("events.k8s.io", "events", &["ev"], true),
            discovered("metrics.k8s.io", "pods", &[], false),
        ])
    }

    #[test]
    fn full_names_complete_as_kubectl_api_resources_names_them() {
        let served = served();
        assert_eq!(
            resource_candidates("po", &served, &[]),
            ["pods", "podtemplates"]
        );
        assert_eq!(
            resource_candidates("deploy", &served, &[]),
            ["deployments.apps"]
        );
        assert_eq!(
            resource_candidates("ev", &served, &[]),
            ["events", "events.events.k8s.io"]
        );
        assert_eq!(resource_candidates("", &served, &[]).len(), 6, "{served:?}");
    }

    #[test]
    fn a_short_name_or_singular_no_full_name_starts_with_completes_as_itself() {
        let served = served();
        assert_eq!(resource_candidates("svc", &served, &[]), ["svc"]);
        assert_eq!(resource_candidates("x", &served, &[]), Vec::<String>::new());
    }

    #[test]
    fn after_a_comma_the_last_name_completes_and_the_rest_is_kept() {
        let served = served();
        assert_eq!(
            resource_candidates("pods,de", &served, &[]),
            ["pods,deployments.apps"]
        );
        assert_eq!(resource_candidates("po,svc", &served, &[]), ["po,svc"]);
        assert_eq!(resource_candidates("pods,", &served, &[]).len(), 6);
    }

    #[test]
    fn resources_that_cannot_be_watched_are_not_offered() {
        assert!(
            !resource_candidates("pods.", &served(), &[])
                .contains(&"pods.metrics.k8s.io".to_owned())
        );
    }

    #[test]
    fn categories_of_watchable_resources_complete_with_the_names() {
        let served = discovered_all();
        let categories = categories(&served);
        assert_eq!(
            categories,
            ["all", "api-extensions"],
            "metrics is not watchable"
        );
        let names = of_served(&served);
        assert_eq!(
            resource_candidates("a", &names, &categories),
            ["all", "api-extensions"]
        );
        assert_eq!(
            resource_candidates("pods,al", &names, &categories),
            ["pods,all"]
        );
        assert_eq!(
            resource_candidates("", &names, &categories),
            ["all", "api-extensions", "pods", "widgets.example.dev"]
        );
    }

    #[test]
    fn object_names_start_with_the_word_and_leave_out_those_on_the_line() {
        let names = ["web-2", "db-1", "web-1", "web-1"].map(str::to_owned);
        assert_eq!(
            object_candidates("web", names.clone(), &[]),
            ["web-1", "web-2"]
        );
        assert_eq!(object_candidates("", names, &["web-1"]), ["db-1", "web-2"]);
    }

    #[test]
    fn names_a_shell_would_run_or_a_terminal_obey_are_not_offered() {
        // The server accepts such names for kinds with only path-segment rules (RBAC); the
        // shell inserts a candidate as it is, unquoted, into the line being edited.
        let names = [
            "web-1",
            "system:controller:job",
            "a;touch /tmp/x",
            "$(reboot)",
            "a b",
            "x\nrm -rf ~",
            "\x1b]0;pwned\x07",
            "`id`",
            "a|b",
            "a>b",
        ]
        .map(str::to_owned);
        assert_eq!(
            object_candidates("", names, &[]),
            ["system:controller:job", "web-1"]
        );
    }

    #[test]
    fn too_many_object_names_are_cut_keeping_the_last_so_the_common_prefix_holds() {
        let names = (0..2 * MAX_OBJECT_NAMES)
            .map(|i| format!("web-a{i:04}"))
            .chain(["web-b".to_owned()]);
        let found = object_candidates("web-", names, &[]);
        assert_eq!(found.len(), MAX_OBJECT_NAMES);
        assert_eq!(found.first().map(String::as_str), Some("web-a0000"));
        assert_eq!(found.last().map(String::as_str), Some("web-b"));
    }

    #[test]
    fn an_item_of_a_list_completes_with_what_the_line_does_not_name_yet() {
        let namespaces = || ["shop", "web", "kube-system"].map(str::to_owned);
        let named = |items: &[&str]| {
            items
                .iter()
                .map(|item| (*item).to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            not_named_yet("", namespaces(), &named(&[""])),
            ["kube-system", "shop", "web"]
        );
        assert_eq!(not_named_yet("s", namespaces(), &named(&["s"])), ["shop"]);
        assert!(not_named_yet("s", namespaces(), &named(&["shop", "s"])).is_empty());
        assert_eq!(
            not_named_yet("", namespaces(), &named(&["shop", ""])),
            ["kube-system", "web"]
        );
        assert_eq!(
            not_named_yet("shop", namespaces(), &named(&["shop"])),
            ["shop"]
        );
    }
}
