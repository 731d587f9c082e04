//! Resource names as kubectl resolves them: discovery (`/api/v1`, `/apis` and each group's
//! preferred version), then plural, singular, kind or short name, optionally qualified by group
//! (`deployments.apps`) or version and group (`deployments.v1.apps`).

use std::future::Future;

use kube::core::ApiResource;
use serde::{Deserialize, Serialize};

use crate::cache::list_watch::SourceError;

/// One listable resource the server serves (kept as it is by completion's discovery cache).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovered {
    /// API group (`""` for the core group).
    pub group: String,
    /// API version within the group.
    pub version: String,
    /// Plural name, e.g. `deployments`.
    pub plural: String,
    /// Singular name, e.g. `deployment`.
    pub singular: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Short names, e.g. `deploy`.
    pub short_names: Vec<String>,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Whether the server allows both `list` and `watch`.
    pub watchable: bool,
    /// The categories it belongs to (`all` for pods, services, deployments...).
    pub categories: Vec<String>,
}

impl Discovered {
    /// The resource as kube's request builder wants it.
    pub fn api_resource(&self) -> ApiResource {
        let api_version = if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        };
        ApiResource {
            group: self.group.clone(),
            version: self.version.clone(),
            api_version,
            kind: self.kind.clone(),
            plural: self.plural.clone(),
        }
    }

    /// `plural` for the core group, `plural.group` otherwise, as kubectl prints it.
    pub fn qualified_name(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        [self.plural.as_str(), self.singular.as_str()]
            .into_iter()
            .chain(self.short_names.iter().map(String::as_str))
    }

    fn is_named(&self, name: &str) -> bool {
        self.names().any(|candidate| candidate == name) || self.kind.eq_ignore_ascii_case(name)
    }
}

/// Why a resource name could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// No served resource has that name.
    #[error(
        "the server doesn't have a resource type {name:?}{}{}",
        unreadable_groups(.unreadable),
        suggestion(.closest)
    )]
    Unknown {
        /// The name asked for.
        name: String,
        /// Served names close to it.
        closest: Vec<String>,
        /// Groups whose discovery failed (`apps/v1: the server answered 503 ...`): the
        /// resource may be served there, so the name is not known to be wrong.
        unreadable: Vec<String>,
    },
    /// The resource exists but cannot be listed and watched.
    #[error("{0} cannot be watched: the server does not allow list and watch on it")]
    NotWatchable(String),
    /// Discovery itself failed.
    #[error("discovering the server's resources at {path}: {error}")]
    Discovery {
        /// The discovery path that failed.
        path: String,
        /// The failure.
        error: SourceError,
    },
}

fn unreadable_groups(unreadable: &[String]) -> String {
    if unreadable.is_empty() {
        String::new()
    } else {
        format!(
            " among those it could list, but it may be in a group whose discovery failed ({})",
            unreadable.join("; ")
        )
    }
}

impl ResolveError {
    /// Whether the user's input is what must change: a name no served resource has (when every
    /// group could be read), or a resource that cannot be watched.
    pub fn is_usage_error(&self) -> bool {
        match self {
            ResolveError::Unknown { unreadable, .. } => unreadable.is_empty(),
            ResolveError::NotWatchable(_) => true,
            ResolveError::Discovery { .. } => false,
        }
    }
}

fn suggestion(closest: &[String]) -> String {
    if closest.is_empty() {
        "; see the server's resource types with `kubectl api-resources`".to_owned()
    } else {
        format!("; did you mean {}?", closest.join(", "))
    }
}

/// Finds the resource called `name` among `served`.
pub fn resolve<'a>(name: &str, served: &'a [Discovered]) -> Result<&'a Discovered, ResolveError> {
    let wanted = name.to_ascii_lowercase();
    let candidates = [(wanted.as_str(), None, None)]
        .into_iter()
        .chain(qualified(&wanted))
        .flat_map(|(resource, version, group)| {
            served.iter().filter(move |discovered| {
                discovered.is_named(resource)
                    && group.is_none_or(|group| discovered.group == group)
                    && version.is_none_or(|version| discovered.version == version)
            })
        });
    // Like kubectl, the core group wins a tie (`events` over `events.events.k8s.io`).
    let found = candidates.min_by_key(|discovered| !discovered.group.is_empty());
    match found {
        Some(discovered) if discovered.watchable => Ok(discovered),
        Some(discovered) => Err(ResolveError::NotWatchable(discovered.qualified_name())),
        None => Err(ResolveError::Unknown {
            name: name.to_owned(),
            closest: closest_names(&wanted, served),
            unreadable: Vec::new(),
        }),
    }
}

/// `resource.group` and `resource.version.group` readings of a dotted name.
fn qualified(name: &str) -> Vec<(&str, Option<&str>, Option<&str>)> {
    let Some((resource, rest)) = name.split_once('.') else {
        return Vec::new();
    };
    let mut readings = vec![(resource, None, Some(rest))];
    if let Some((version, group)) = rest.split_once('.') {
        readings.push((resource, Some(version), Some(group)));
    }
    readings
}

/// Up to three served names within a small edit distance of `name`, nearest first.
fn closest_names(name: &str, served: &[Discovered]) -> Vec<String> {
    let mut scored: Vec<(usize, String)> = served
        .iter()
        .filter_map(|discovered| {
            let distance = discovered
                .names()
                .map(|candidate| edit_distance(name, candidate))
                .min()?;
            let prefix =
                discovered.plural.starts_with(name) || name.starts_with(&discovered.plural);
            (distance <= 2 || prefix).then(|| (distance, discovered.qualified_name()))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, name)| name).collect()
}

/// Levenshtein distance between two short ASCII-ish names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, a_char) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, b_char) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(a_char != *b_char);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[derive(Deserialize)]
struct ResourceList {
    #[serde(rename = "groupVersion")]
    group_version: String,
    #[serde(default)]
    resources: Vec<ResourceEntry>,
}

#[derive(Deserialize)]
struct ResourceEntry {
    name: String,
    #[serde(default, rename = "singularName")]
    singular_name: String,
    #[serde(default)]
    namespaced: bool,
    kind: String,
    #[serde(default)]
    verbs: Vec<String>,
    #[serde(default, rename = "shortNames")]
    short_names: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
}

#[derive(Deserialize)]
struct GroupList {
    #[serde(default)]
    groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    #[serde(rename = "preferredVersion")]
    preferred_version: Option<GroupVersion>,
    #[serde(default)]
    versions: Vec<GroupVersion>,
}

#[derive(Deserialize)]
struct GroupVersion {
    #[serde(rename = "groupVersion")]
    group_version: String,
}

/// The served resources of one `APIResourceList` body; subresources are left out.
pub fn parse_resource_list(body: &[u8]) -> Result<Vec<Discovered>, serde_json::Error> {
    let list: ResourceList = serde_json::from_slice(body)?;
    let (group, version) = match list.group_version.split_once('/') {
        Some((group, version)) => (group.to_owned(), version.to_owned()),
        None => (String::new(), list.group_version.clone()),
    };
    Ok(list
        .resources
        .into_iter()
        .filter(|entry| !entry.name.contains('/'))
        .map(|entry| Discovered {
            group: group.clone(),
            version: version.clone(),
            singular: if entry.singular_name.is_empty() {
                entry.kind.to_ascii_lowercase()
            } else {
                entry.singular_name
            },
            watchable: entry.verbs.iter().any(|verb| verb == "list")
                && entry.verbs.iter().any(|verb| verb == "watch"),
            plural: entry.name,
            kind: entry.kind,
            short_names: entry.short_names,
            namespaced: entry.namespaced,
            categories: entry.categories,
        })
        .collect())
}

/// The preferred `group/version` of every group in an `APIGroupList` body.
pub fn parse_group_list(body: &[u8]) -> Result<Vec<String>, serde_json::Error> {
    let list: GroupList = serde_json::from_slice(body)?;
    Ok(list
        .groups
        .into_iter()
        .filter_map(|group| {
            group
                .preferred_version
                .or_else(|| group.versions.into_iter().next())
                .map(|version| version.group_version)
        })
        .collect())
}

/// What discovery found.
#[derive(Debug, Default)]
pub struct Discovery {
    /// The resources of every group that could be read.
    pub served: Vec<Discovered>,
    /// The groups whose discovery document could not be read or decoded, as
    /// [`ResolveError::Discovery`] errors: an aggregated API whose backend is down
    /// (`metrics.k8s.io` without metrics-server) answers 503 for ever, and, as with kubectl,
    /// must not keep the other groups' resources from being used.
    pub unreadable: Vec<ResolveError>,
}

impl Discovery {
    /// Finds `name` as [`resolve`] does; a name not found while some group could not be read
    /// is an [`ResolveError::Unknown`] naming those groups (not a usage error).
    pub fn resolve(&self, name: &str) -> Result<&Discovered, ResolveError> {
        match resolve(name, &self.served) {
            Err(ResolveError::Unknown {
                name,
                closest,
                unreadable: _,
            }) => Err(ResolveError::Unknown {
                name,
                closest,
                unreadable: self.unreadable.iter().map(ToString::to_string).collect(),
            }),
            other => other,
        }
    }

    /// The watchable resources in `category` (kubectl's category expansion, which makes
    /// `kubectl get all` pods, services, deployments...), in discovery order; `None` when no
    /// watchable resource is in it. As with kubectl, a category wins over a resource of the
    /// same name.
    pub fn category(&self, category: &str) -> Option<Vec<&Discovered>> {
        let wanted = category.to_ascii_lowercase();
        let members: Vec<&Discovered> = self
            .served
            .iter()
            .filter(|discovered| discovered.watchable && discovered.categories.contains(&wanted))
            .collect();
        (!members.is_empty()).then_some(members)
    }
}

/// Everything the server serves: the core group, then each group's preferred version. The core
/// group and the group list must be read; the groups are read concurrently, and one whose
/// document cannot be read is set aside in [`Discovery::unreadable`]. `fetch` GETs a path and
/// returns the body.
pub async fn discover<F, Fut>(fetch: F) -> Result<Discovery, ResolveError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<Vec<u8>, SourceError>>,
{
    let get = |path: String| {
        let response = fetch(path.clone());
        async move {
            response
                .await
                .map_err(|error| ResolveError::Discovery { path, error })
        }
    };
    let decode_error = |path: &str, err: serde_json::Error| ResolveError::Discovery {
        path: path.to_owned(),
        error: SourceError::Decode(crate::wire::decode::DecodeError::Malformed(err.to_string())),
    };
    let mut served = parse_resource_list(&get("/api/v1".to_owned()).await?)
        .map_err(|err| decode_error("/api/v1", err))?;
    let group_versions = parse_group_list(&get("/apis".to_owned()).await?)
        .map_err(|err| decode_error("/apis", err))?;
    // All at once, as client-go fetches group versions: a cluster with 40 groups answers in
    // one round trip rather than 40 (shell completion has 2 s for all of it).
    let fetched = futures::future::join_all(group_versions.iter().map(|group_version| {
        let path = format!("/apis/{group_version}");
        let body = get(path.clone());
        async move {
            match body.await {
                Ok(body) => parse_resource_list(&body).map_err(|err| decode_error(&path, err)),
                Err(err) => Err(err),
            }
        }
    }))
    .await;
    let mut unreadable = Vec::new();
    for resources in fetched {
        match resources {
            Ok(resources) => served.extend(resources),
            Err(err) => unreadable.push(err),
        }
    }
    Ok(Discovery { served, unreadable })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core_v1() -> Vec<Discovered> {
        let transcript = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/12-discovery-api-v1.txt"
        ))
        .expect("fixture");
        let body = transcript
            .lines()
            .rfind(|line| line.starts_with('{'))
            .expect("body line");
        parse_resource_list(body.as_bytes()).expect("APIResourceList")
    }

    fn served() -> Vec<Discovered> {
        let mut served = core_v1();
        served.extend(
            parse_resource_list(
                br#"{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"apps/v1","resources":[
                {"name":"deployments","singularName":"deployment","namespaced":true,"kind":"Deployment","verbs":["get","list","watch"],"shortNames":["deploy"]},
                {"name":"deployments/scale","singularName":"","namespaced":true,"kind":"Scale","verbs":["get"]}]}"#,
            )
            .expect("apps/v1"),
        );
        served.extend(
            parse_resource_list(
                br#"{"groupVersion":"events.k8s.io/v1","resources":[
                {"name":"events","singularName":"event","namespaced":true,"kind":"Event","verbs":["list","watch"],"shortNames":["ev"]}]}"#,
            )
            .expect("events.k8s.io/v1"),
        );
        served
    }

    fn resolved(name: &str) -> String {
        let served = served();
        resolve(name, &served)
            .map(Discovered::qualified_name)
            .unwrap_or_else(|err| err.to_string())
    }

    #[test]
    fn reads_the_real_discovery_document_without_subresources() {
        let core = core_v1();
        let pods = core.iter().find(|d| d.plural == "pods").expect("pods");
        assert_eq!(pods.kind, "Pod");
        assert_eq!(pods.singular, "pod");
        assert_eq!(pods.short_names, ["po"]);
        assert!(pods.namespaced && pods.watchable);
        assert!(core.iter().all(|d| !d.plural.contains('/')));
        let bindings = core
            .iter()
            .find(|d| d.plural == "bindings")
            .expect("bindings");
        assert!(!bindings.watchable);
    }

    #[test]
    fn resolves_plural_singular_kind_and_short_names() {
        for name in ["pods", "pod", "po", "Pod", "PODS"] {
            assert_eq!(resolved(name), "pods", "{name}");
        }
        for name in ["nodes", "no", "node"] {
            assert_eq!(resolved(name), "nodes", "{name}");
        }
        assert_eq!(resolved("svc"), "services");
        assert_eq!(resolved("ns"), "namespaces");
        for name in [
            "deployments",
            "deploy",
            "deployment",
            "deployments.apps",
            "deploy.apps",
            "deployments.v1.apps",
        ] {
            assert_eq!(resolved(name), "deployments.apps", "{name}");
        }
    }

    #[test]
    fn core_group_wins_and_a_group_suffix_picks_the_other() {
        assert_eq!(resolved("events"), "events");
        assert_eq!(resolved("events.events.k8s.io"), "events.events.k8s.io");
    }

    #[test]
    fn cluster_scoped_resources_say_so() {
        let served = served();
        assert!(!resolve("nodes", &served).expect("nodes").namespaced);
        assert!(resolve("pods", &served).expect("pods").namespaced);
    }

    #[test]
    fn unknown_names_list_the_closest_served_ones() {
        let served = served();
        let err = resolve("podz", &served).expect_err("unknown");
        let ResolveError::Unknown { closest, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(closest.first().map(String::as_str), Some("pods"));
        assert!(
            err.to_string()
                .starts_with("the server doesn't have a resource type \"podz\"; did you mean pods")
        );
        let far = resolve("zzzzzzzz", &served)
            .expect_err("unknown")
            .to_string();
        assert!(far.contains("kubectl api-resources"), "{far}");
        assert_eq!(
            resolved("deployments.nope"),
            "the server doesn't have a resource type \"deployments.nope\"; did you mean deployments.apps?"
        );
    }

    #[test]
    fn resources_without_list_and_watch_are_refused() {
        assert_eq!(
            resolved("bindings"),
            "bindings cannot be watched: the server does not allow list and watch on it"
        );
    }

    #[test]
    fn api_resource_carries_group_and_version() {
        let served = served();
        let deployments = resolve("deploy", &served)
            .expect("deployments")
            .api_resource();
        assert_eq!(deployments.api_version, "apps/v1");
        assert_eq!(deployments.plural, "deployments");
        let pods = resolve("po", &served).expect("pods").api_resource();
        assert_eq!(pods.api_version, "v1");
        assert_eq!(pods.group, "");
    }

    #[test]
    fn a_category_expands_to_its_watchable_members_in_discovery_order() {
        let discovery = Discovery {
            served: served(),
            unreadable: Vec::new(),
        };
        let all: Vec<String> = discovery
            .category("all")
            .expect("all")
            .into_iter()
            .map(Discovered::qualified_name)
            .collect();
        // The real core group's `all` (transcript 12): pods, replicationcontrollers, services.
        assert_eq!(all, ["pods", "replicationcontrollers", "services"]);
        assert!(discovery.category("pods").is_none());
    }

    #[test]
    fn group_list_gives_preferred_versions() {
        let versions = parse_group_list(
            br#"{"kind":"APIGroupList","apiVersion":"v1","groups":[
            {"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}},
            {"name":"x.dev","versions":[{"groupVersion":"x.dev/v2","version":"v2"},{"groupVersion":"x.dev/v1","version":"v1"}]}]}"#,
        )
        .expect("groups");
        assert_eq!(versions, ["apps/v1", "x.dev/v2"]);
    }
}
