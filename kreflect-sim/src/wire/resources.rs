//! The resource types the fake server serves, and their discovery documents.
//!
//! Pods are the typed, heavily tested path; nodes and namespaces (cluster-scoped), services,
//! `deployments.apps` and one custom resource (`widgets.example.dev`) let clients resolve names
//! through discovery and watch other kinds over the same list/watch code.

/// One served resource type.
#[derive(Debug, PartialEq, Eq)]
pub struct ResourceType {
    /// API group, `""` for the core group.
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// Plural name (the URL segment).
    pub plural: &'static str,
    /// Singular name.
    pub singular: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// kubectl short names.
    pub short_names: &'static [&'static str],
    /// Discovery's `categories` (`all` for pods, services and deployments, as the real server
    /// publishes them; transcript 12), which kubectl expands `kubectl get all` with.
    pub categories: &'static [&'static str],
}

impl ResourceType {
    /// `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// Pods: the first entry, served by `FakeApiServer::cluster()`.
pub(crate) const PODS: &ResourceType = &RESOURCES[0];

/// Everything the fake server serves.
pub const RESOURCES: [ResourceType; 6] = [
    ResourceType {
        group: "",
        version: "v1",
        plural: "pods",
        singular: "pod",
        kind: "Pod",
        namespaced: true,
        short_names: &["po"],
        categories: &["all"],
    },
    ResourceType {
        group: "",
        version: "v1",
        plural: "nodes",
        singular: "node",
        kind: "Node",
        namespaced: false,
        short_names: &["no"],
        categories: &[],
    },
    ResourceType {
        group: "",
        version: "v1",
        plural: "namespaces",
        singular: "namespace",
        kind: "Namespace",
        namespaced: false,
        short_names: &["ns"],
        categories: &[],
    },
    ResourceType {
        group: "",
        version: "v1",
        plural: "services",
        singular: "service",
        kind: "Service",
        namespaced: true,
        short_names: &["svc"],
        categories: &["all"],
    },
    ResourceType {
        group: "apps",
        version: "v1",
        plural: "deployments",
        singular: "deployment",
        kind: "Deployment",
        namespaced: true,
        short_names: &["deploy"],
        categories: &["all"],
    },
    ResourceType {
        group: "example.dev",
        version: "v1",
        plural: "widgets",
        singular: "widget",
        kind: "Widget",
        namespaced: true,
        short_names: &["wd"],
        categories: &[],
    },
];

/// The served resource at `group`/`version` called `plural`.
pub(crate) fn find(group: &str, version: &str, plural: &str) -> Option<usize> {
    RESOURCES
        .iter()
        .position(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The `APIResourceList` of `group`/`version` (`/api/v1`, `/apis/apps/v1`), shaped like
/// transcript 12; `None` if nothing is served there.
pub(crate) fn resource_list(group: &str, version: &str) -> Option<String> {
    let entries: Vec<serde_json::Value> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .map(|r| {
            let mut entry = serde_json::json!({
                "name": r.plural,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": ["get", "list", "watch"],
                "shortNames": r.short_names,
            });
            // The real server leaves `categories` out when there are none (transcript 12).
            if !r.categories.is_empty() {
                entry["categories"] = serde_json::json!(r.categories);
            }
            entry
        })
        .collect();
    if entries.is_empty() {
        return None;
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Some(
        serde_json::json!({
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version,
            "resources": entries,
        })
        .to_string(),
    )
}

/// `GET /apis`: the non-core groups with their (single, preferred) version, then the
/// `unavailable` `group/version`s (served by no resource here).
pub(crate) fn group_list(unavailable: &[String]) -> String {
    let mut groups: Vec<serde_json::Value> = Vec::new();
    for r in RESOURCES.iter().filter(|r| !r.group.is_empty()) {
        let group_version = r.api_version();
        if groups.iter().any(|g| g["name"] == r.group) {
            continue;
        }
        let version = serde_json::json!({"groupVersion": group_version, "version": r.version});
        groups.push(serde_json::json!({
            "name": r.group,
            "versions": [version.clone()],
            "preferredVersion": version,
        }));
    }
    for group_version in unavailable {
        let (group, version) = group_version
            .split_once('/')
            .unwrap_or((group_version, "v1"));
        let version = serde_json::json!({"groupVersion": group_version, "version": version});
        groups.push(serde_json::json!({
            "name": group,
            "versions": [version.clone()],
            "preferredVersion": version,
        }));
    }
    serde_json::json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_documents_list_what_is_served() {
        let core: serde_json::Value =
            serde_json::from_str(&resource_list("", "v1").expect("core")).expect("json");
        let names: Vec<&str> = core["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert_eq!(names, ["pods", "nodes", "namespaces", "services"]);
        assert_eq!(core["groupVersion"], "v1");
        assert_eq!(
            core["resources"][0]["categories"],
            serde_json::json!(["all"])
        );
        assert!(
            core["resources"][1].get("categories").is_none(),
            "nodes: none"
        );
        let apps: serde_json::Value =
            serde_json::from_str(&resource_list("apps", "v1").expect("apps")).expect("json");
        assert_eq!(apps["groupVersion"], "apps/v1");
        assert!(resource_list("batch", "v1").is_none());
        let groups: serde_json::Value = serde_json::from_str(&group_list(&[])).expect("json");
        assert_eq!(
            groups["groups"][0]["preferredVersion"]["groupVersion"],
            "apps/v1"
        );
        assert_eq!(groups["groups"][1]["name"], "example.dev");
        assert_eq!(find("apps", "v1", "deployments"), Some(4));
        assert_eq!(find("", "v1", "deployments"), None);
        assert_eq!(PODS.plural, "pods");
    }
}
