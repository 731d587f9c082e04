//! Several kinds in one run (`kreflect pods,deploy`, `kreflect all`), several namespaces
//! (`-n a,b`), or both: each kind in each namespace is a collection with its own reflector and
//! store, and the listings see them together as [`Stores`], one listing.
//!
//! With one kind, keys are printed as they are stored (`shop/web-1`): the contract scripts rely
//! on. With several, each key is prefixed the way `kubectl get -o name` spells the kind
//! ([`prefix_of`]: `pod/shop/web-1`, `deployment.apps/shop/d1`, `node/node-a`), and all keys
//! are sorted bytewise together. Several namespaces add nothing to the keys, which name their
//! namespace already.

use std::collections::HashSet;
use std::sync::Arc;

use kube::core::ApiResource;

use crate::cache::store::Store;
use crate::wire::object::ObjectKey;

/// How `kubectl get -o name` spells a kind: its kind in lower case, then `.group` unless it is
/// in the core group (`pod`, `deployment.apps`, `widget.example.dev`).
pub fn prefix_of(resource: &ApiResource) -> String {
    let kind = resource.kind.to_ascii_lowercase();
    if resource.group.is_empty() {
        kind
    } else {
        format!("{kind}.{}", resource.group)
    }
}

/// Which columns a kind's `-o wide` table has besides NAME and AGE (or the server's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Columns {
    /// NAMESPACE, for kinds that live in namespaces listed across all of them.
    pub namespace: bool,
    /// STATUS and NODE, for Pods.
    pub pod_status: bool,
}

/// The `apiVersion` and `kind` of a kind's objects: list items do not carry them, and
/// templates (`{.kind}`, `-o name`) read them, as kubectl fills them in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectType {
    /// `v1`, `apps/v1`.
    pub api_version: Arc<str>,
    /// `Pod`, `Deployment`.
    pub kind: Arc<str>,
}

impl ObjectType {
    /// The type of `resource`'s objects.
    pub fn of(resource: &ApiResource) -> Self {
        ObjectType {
            api_version: resource.api_version.as_str().into(),
            kind: resource.kind.as_str().into(),
        }
    }

    /// How `kubectl get -o name` spells this kind, as [`prefix_of`] spells its resource's, from
    /// the group in `apiVersion`: `pod`, `deployment.apps`.
    pub fn prefix(&self) -> String {
        let kind = self.kind.to_ascii_lowercase();
        match self.api_version.split_once('/') {
            Some((group, _)) => format!("{kind}.{group}"),
            None => kind,
        }
    }

    /// Pods: `v1`, `Pod`.
    pub fn pod() -> Self {
        ObjectType {
            api_version: "v1".into(),
            kind: "Pod".into(),
        }
    }
}

/// What a kind's first listing is checked against: the objects named, or, without names, that
/// there are any (kubectl's `NotFound` and `No resources found`).
#[derive(Clone, Debug, Default)]
pub struct Expected {
    /// The resource as messages name it: `pods`, `deployments.apps`.
    pub resource: Arc<str>,
    /// The namespace asked for, for a namespaced kind with `-n`.
    pub namespace: Option<Arc<str>>,
    /// The object names asked for; empty for every object.
    pub names: Arc<[String]>,
}

/// One collection's store (a kind, or a kind in one of several namespaces), as the listings
/// see it.
#[derive(Clone)]
pub struct KindStore {
    /// What its keys are prefixed with (see [`prefix_of`]); `None` with a single kind.
    pub prefix: Option<Arc<str>>,
    /// What outputs that speak of collections call it (`-o json`'s `resourceVersions`, the
    /// `--events` SYNCED marker's key): the prefix its keys share, `pod`, `pod/shop` or `shop`
    /// with several namespaces (see [`collection_of`]); empty when it is the run's only one.
    pub collection: Arc<str>,
    /// Its objects.
    pub store: Store,
    /// Its `-o wide` columns.
    pub columns: Columns,
    /// Its objects' `apiVersion` and `kind`.
    pub object_type: ObjectType,
    /// What its first listing should have.
    pub expected: Expected,
    /// The kubeconfig context it is of, when the run watches several (`--context a,b`):
    /// its keys are prefixed with it, and it is listed only while synced.
    pub context: Option<Arc<str>>,
}

/// The stores of a run, one per kind, in the order the kinds were named.
#[derive(Clone)]
pub struct Stores {
    kinds: Vec<KindStore>,
}

impl From<Store> for Stores {
    /// A single kind of Pods, keys unprefixed.
    fn from(store: Store) -> Self {
        Stores::new(vec![KindStore {
            prefix: None,
            collection: "".into(),
            store,
            columns: Columns {
                namespace: true,
                pod_status: true,
            },
            object_type: ObjectType::pod(),
            expected: Expected {
                resource: "pods".into(),
                ..Expected::default()
            },
            context: None,
        }])
    }
}

/// What a collection is called where outputs speak of collections ([`KindStore::collection`]):
/// its kind's `prefix` (with several kinds), then, with several namespaces, its `namespace`:
/// the prefix its keys share (`pod`, `pod/shop`, `shop`), empty for a run's only collection.
pub fn collection_of(prefix: Option<&str>, namespace: Option<&str>) -> Arc<str> {
    match (prefix, namespace) {
        (Some(prefix), Some(namespace)) => format!("{prefix}/{namespace}").into(),
        (Some(only), None) | (None, Some(only)) => only.into(),
        (None, None) => "".into(),
    }
}

/// What the first listing lacked of what was asked for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Absent {
    /// The objects named and not there, as kubectl names them: `pods "web-9"`. With several
    /// namespaces, an object is there when it is in any of them.
    pub not_found: Vec<String>,
    /// Nothing at all was there, where objects were not named: kubectl's `No resources found`,
    /// `in NS namespace` when every kind was asked for in one namespace. With several
    /// namespaces, a line for each of them that has nothing: a misspelt namespace is not
    /// hidden by the others' objects.
    pub none_found: Vec<String>,
}

impl Stores {
    /// What the stores lack of what was asked for ([`Absent`]).
    pub fn absent(&self) -> Absent {
        let mut absent = Absent::default();
        for kind in self.by_kind() {
            let expected = &kind[0].expected;
            if expected.names.is_empty() {
                continue;
            }
            let present: HashSet<String> = kind
                .iter()
                .flat_map(|collection| collection.store.objects())
                .map(|object| object.key().name().to_owned())
                .collect();
            absent.not_found.extend(
                expected
                    .names
                    .iter()
                    .filter(|name| !present.contains(*name))
                    .map(|name| format!("{} {name:?}", expected.resource)),
            );
        }
        let unnamed: Vec<&KindStore> = self
            .kinds
            .iter()
            .filter(|kind| kind.expected.names.is_empty())
            .collect();
        let mut namespaces: Vec<&Arc<str>> = unnamed
            .iter()
            .filter_map(|kind| kind.expected.namespace.as_ref())
            .collect();
        namespaces.sort_unstable();
        namespaces.dedup();
        if namespaces.len() > 1 {
            let empty = |namespace: &Arc<str>| {
                unnamed
                    .iter()
                    .filter(|kind| kind.expected.namespace.as_ref() == Some(namespace))
                    .all(|kind| kind.store.object_count() == 0)
            };
            absent.none_found = namespaces
                .into_iter()
                .filter(|namespace| empty(namespace))
                .map(|namespace| format!("No resources found in {namespace} namespace."))
                .collect();
        } else if !unnamed.is_empty() && unnamed.iter().all(|kind| kind.store.object_count() == 0) {
            let namespace = unnamed[0].expected.namespace.clone();
            let in_one = namespace.is_some()
                && unnamed
                    .iter()
                    .all(|kind| kind.expected.namespace == namespace);
            absent.none_found.push(match namespace.filter(|_| in_one) {
                Some(namespace) => format!("No resources found in {namespace} namespace."),
                None => "No resources found".to_owned(),
            });
        }
        absent
    }

    /// The stores grouped by kind, in the order the kinds were named: each group is a kind's
    /// collections, one per namespace (in key order) or one for all.
    pub fn by_kind(&self) -> impl Iterator<Item = &[KindStore]> {
        self.kinds
            .chunk_by(|a, b| a.prefix == b.prefix && a.object_type == b.object_type)
    }

    /// These collections' stores: the kinds in the order named, each kind's namespaces in
    /// order.
    pub fn new(kinds: Vec<KindStore>) -> Self {
        Stores { kinds }
    }

    /// Each collection's store, in order.
    pub fn kinds(&self) -> &[KindStore] {
        &self.kinds
    }

    /// A snapshot of every kind's keys, prefixed when there are several kinds, sorted bytewise
    /// as printed.
    pub fn sorted_keys(&self) -> Vec<ObjectKey> {
        match self.kinds.as_slice() {
            [
                KindStore {
                    prefix: None,
                    store,
                    ..
                },
            ] => store.sorted_keys(),
            kinds => {
                let mut keys: Vec<ObjectKey> = kinds
                    .iter()
                    .flat_map(|kind| {
                        let keys = kind.store.sorted_keys();
                        let prefix = kind.prefix.clone();
                        keys.into_iter()
                            .map(move |key| prefixed(prefix.as_deref(), &key))
                    })
                    .collect();
                keys.sort_unstable();
                keys
            }
        }
    }

    /// Waits until every kind's first complete list has been stored; with several contexts,
    /// until every collection is synced or abandoned (its context failed: it will not sync).
    pub async fn wait_synced(&self) {
        for kind in &self.kinds {
            match kind.context {
                Some(_) => kind.store.wait_settled().await,
                None => kind.store.wait_synced().await,
            }
        }
    }

    /// Waits until some collection is synced, or every one is settled (see
    /// [`Stores::wait_synced`]): with several contexts, the first listing may go out.
    pub async fn wait_any_synced(&self) {
        if self.kinds.is_empty() {
            return;
        }
        // Not empty: select_all would panic on no futures.
        let any_synced = futures::future::select_all(
            self.kinds
                .iter()
                .map(|kind| Box::pin(kind.store.wait_synced())),
        );
        tokio::select! {
            _ = any_synced => {}
            () = self.wait_synced() => {}
        }
    }

    /// Whether every collection was abandoned (every context failed): nothing is true to list,
    /// not even an empty listing.
    pub fn all_abandoned(&self) -> bool {
        !self.kinds.is_empty() && self.kinds.iter().all(|kind| kind.store.is_abandoned())
    }

    /// Whether the run watches several contexts (keys prefixed by context).
    pub fn of_several_contexts(&self) -> bool {
        self.kinds.iter().any(|kind| kind.context.is_some())
    }

    /// What a listing shows: with several contexts, only the collections synced and not
    /// abandoned (a context not synced yet, or failed, has nothing true to list); otherwise
    /// every one.
    pub fn listable(&self) -> Stores {
        if !self.of_several_contexts() {
            return self.clone();
        }
        let kinds = self
            .kinds
            .iter()
            .filter(|kind| kind.store.is_synced() && !kind.store.is_abandoned())
            .cloned()
            .collect();
        Stores { kinds }
    }

    /// The contexts with a collection [`Stores::listable`] leaves out, sorted, each once.
    pub fn contexts_left_out(&self) -> Vec<Arc<str>> {
        let mut left_out: Vec<Arc<str>> = self
            .kinds
            .iter()
            .filter(|kind| !kind.store.is_synced() || kind.store.is_abandoned())
            .filter_map(|kind| kind.context.clone())
            .collect();
        left_out.sort_unstable();
        left_out.dedup();
        left_out
    }
}

/// `key` as listed: `prefix/key`, or `key` without a prefix.
pub fn prefixed(prefix: Option<&str>, key: &ObjectKey) -> ObjectKey {
    match prefix {
        Some(prefix) => ObjectKey::new(Some(prefix), key.as_str()),
        None => key.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::store::new_store;
    use crate::wire::test_support::pod;

    fn resource(group: &str, kind: &str) -> ApiResource {
        ApiResource {
            group: group.to_owned(),
            version: "v1".to_owned(),
            api_version: String::new(),
            kind: kind.to_owned(),
            plural: String::new(),
        }
    }

    #[test]
    fn prefixes_are_spelled_as_kubectl_get_o_name_spells_kinds() {
        assert_eq!(prefix_of(&resource("", "Pod")), "pod");
        assert_eq!(
            prefix_of(&resource("apps", "Deployment")),
            "deployment.apps"
        );
        assert_eq!(prefix_of(&resource("", "Node")), "node");
    }

    #[tokio::test]
    async fn several_kinds_list_prefixed_keys_sorted_together_one_kind_unprefixed() {
        let (mut pods, pod_store) = new_store();
        let (mut others, other_store) = new_store();
        pods.replace(vec![pod("shop/web", 1), pod("a/z", 2)], "5")
            .await;
        others.replace(vec![pod("shop/d1", 3)], "7").await;
        let columns = Columns {
            namespace: true,
            pod_status: false,
        };
        let kind = |prefix: &str, store: &Store| KindStore {
            prefix: Some(prefix.into()),
            collection: prefix.into(),
            store: store.clone(),
            columns,
            object_type: ObjectType::pod(),
            expected: Expected::default(),
            context: None,
        };
        let stores = Stores::new(vec![
            kind("pod", &pod_store),
            kind("deployment.apps", &other_store),
        ]);
        let keys: Vec<String> = stores
            .sorted_keys()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(keys, ["deployment.apps/shop/d1", "pod/a/z", "pod/shop/web"]);
        let single: Vec<String> = Stores::from(pod_store)
            .sorted_keys()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(single, ["a/z", "shop/web"]);
    }

    fn expecting(
        store: Store,
        resource: &str,
        namespace: Option<&str>,
        names: &[&str],
    ) -> KindStore {
        KindStore {
            prefix: Some(resource.into()),
            collection: collection_of(Some(resource), namespace),
            store,
            columns: Columns {
                namespace: false,
                pod_status: false,
            },
            object_type: ObjectType::pod(),
            expected: Expected {
                resource: resource.into(),
                namespace: namespace.map(Into::into),
                names: names.iter().map(|name| (*name).to_owned()).collect(),
            },
            context: None,
        }
    }

    #[tokio::test]
    async fn what_was_asked_for_and_is_not_there_is_named_as_kubectl_names_it() {
        let (mut pods, pod_store) = new_store();
        pods.replace(vec![pod("shop/web-1", 1)], "1").await;
        let (_, deployment_store) = new_store();
        let named = Stores::new(vec![
            expecting(pod_store.clone(), "pods", Some("shop"), &["web-1", "web-9"]),
            expecting(
                deployment_store.clone(),
                "deployments.apps",
                Some("shop"),
                &["d"],
            ),
        ]);
        assert_eq!(
            named.absent(),
            Absent {
                not_found: vec![
                    "pods \"web-9\"".to_owned(),
                    "deployments.apps \"d\"".to_owned()
                ],
                none_found: Vec::new(),
            }
        );
        let (_, empty_pods) = new_store();
        let empty = Stores::new(vec![
            expecting(empty_pods.clone(), "pods", Some("shop"), &[]),
            expecting(
                deployment_store.clone(),
                "deployments.apps",
                Some("shop"),
                &[],
            ),
        ]);
        let said = empty.absent().none_found;
        assert_eq!(said, ["No resources found in shop namespace."]);
        let across = Stores::new(vec![expecting(empty_pods, "pods", None, &[])]);
        assert_eq!(across.absent().none_found, ["No resources found"]);
        let some = Stores::new(vec![
            expecting(pod_store, "pods", Some("shop"), &[]),
            expecting(deployment_store, "deployments.apps", Some("shop"), &[]),
        ]);
        assert_eq!(some.absent(), Absent::default(), "one kind has objects");
    }

    #[tokio::test]
    async fn with_several_namespaces_each_empty_one_is_said_and_a_name_is_found_in_any() {
        let (mut shop, shop_store) = new_store();
        shop.replace(vec![pod("shop/web-1", 1)], "1").await;
        let (mut web, web_store) = new_store();
        web.replace(vec![pod("web/api", 2)], "2").await;
        let (_, empty_store) = new_store();
        let unnamed =
            |store: &Store, namespace| expecting(store.clone(), "pods", Some(namespace), &[]);
        let one_empty = Stores::new(vec![
            unnamed(&empty_store, "sh0p"),
            unnamed(&shop_store, "shop"),
            unnamed(&web_store, "web"),
        ]);
        assert_eq!(one_empty.by_kind().count(), 1, "one kind");
        assert_eq!(
            one_empty.absent().none_found,
            ["No resources found in sh0p namespace."]
        );
        let all_empty = Stores::new(vec![unnamed(&empty_store, "a"), unnamed(&empty_store, "b")]);
        assert_eq!(
            all_empty.absent().none_found,
            [
                "No resources found in a namespace.",
                "No resources found in b namespace."
            ]
        );
        let named = |store: &Store, namespace| {
            expecting(
                store.clone(),
                "pods",
                Some(namespace),
                &["web-1", "api", "web-9"],
            )
        };
        let names = Stores::new(vec![named(&shop_store, "shop"), named(&web_store, "web")]);
        assert_eq!(
            names.absent(),
            Absent {
                not_found: vec!["pods \"web-9\"".to_owned()],
                none_found: Vec::new(),
            },
            "web-1 in shop and api in web are found; web-9 is in neither"
        );
    }

    #[test]
    fn a_collection_is_called_by_the_prefix_its_keys_share() {
        assert_eq!(&*collection_of(None, None), "");
        assert_eq!(&*collection_of(Some("pod"), None), "pod");
        assert_eq!(&*collection_of(None, Some("shop")), "shop");
        assert_eq!(&*collection_of(Some("pod"), Some("shop")), "pod/shop");
    }
}
