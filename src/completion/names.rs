//! Which names complete a word: resources as kubectl's completion offers them, and names that
//! start with the word.

use serde::{Deserialize, Serialize};

use crate::resolve::Discovered;

/// A watchable resource's names, as completion offers them (and the cache keeps them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// What completes `current` as a RESOURCE: the names starting with its last comma-separated
/// part, as kubectl's completion offers them; when none does, the singulars and short names
/// that do (`svc`, which no full name starts with). The parts before the last comma are kept
/// in front of each candidate (`pods,de` gives `pods,deployments.apps`).
pub fn resource_candidates(current: &str, resources: &[ResourceNames]) -> Vec<String> {
    let (kept, word) = match current.rfind(',') {
        Some(comma) => current.split_at(comma + 1),
        None => ("", current),
    };
    let mut found = starting_with(word, resources.iter().map(|names| names.name.clone()));
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(resource_candidates("po", &served), ["pods", "podtemplates"]);
        assert_eq!(resource_candidates("deploy", &served), ["deployments.apps"]);
        assert_eq!(
            resource_candidates("ev", &served),
            ["events", "events.events.k8s.io"]
        );
        assert_eq!(resource_candidates("", &served).len(), 6, "{served:?}");
    }

    #[test]
    fn a_short_name_or_singular_no_full_name_starts_with_completes_as_itself() {
        let served = served();
        assert_eq!(resource_candidates("svc", &served), ["svc"]);
        assert_eq!(resource_candidates("x", &served), Vec::<String>::new());
    }

    #[test]
    fn after_a_comma_the_last_name_completes_and_the_rest_is_kept() {
        let served = served();
        assert_eq!(
            resource_candidates("pods,de", &served),
            ["pods,deployments.apps"]
        );
        assert_eq!(resource_candidates("po,svc", &served), ["po,svc"]);
        assert_eq!(resource_candidates("pods,", &served).len(), 6);
    }

    #[test]
    fn resources_that_cannot_be_watched_are_not_offered() {
        assert!(
            !resource_candidates("pods.", &served()).contains(&"pods.metrics.k8s.io".to_owned())
        );
    }
}
