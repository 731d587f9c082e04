//! Several kinds in one run (`kreflect pods,deploy`, `kreflect all`): each kind has its own
//! reflector and store, and the listings see them together as [`Stores`].
//!
//! With one kind, keys are printed as they are stored (`shop/web-1`): the contract scripts rely
//! on. With several, each key is prefixed the way `kubectl get -o name` spells the kind
//! ([`prefix_of`]: `pod/shop/web-1`, `deployment.apps/shop/d1`, `node/node-a`), and all keys
//! are sorted bytewise together.

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

    /// Pods: `v1`, `Pod`.
    pub fn pod() -> Self {
        ObjectType {
            api_version: "v1".into(),
            kind: "Pod".into(),
        }
    }
}

/// One kind's store, as the listings see it.
#[derive(Clone)]
pub struct KindStore {
    /// What its keys are prefixed with (see [`prefix_of`]); `None` with a single kind.
    pub prefix: Option<Arc<str>>,
    /// Its objects.
    pub store: Store,
    /// Its `-o wide` columns.
    pub columns: Columns,
    /// Its objects' `apiVersion` and `kind`.
    pub object_type: ObjectType,
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
            store,
            columns: Columns {
                namespace: true,
                pod_status: true,
            },
            object_type: ObjectType::pod(),
        }])
    }
}

impl Stores {
    /// These kinds' stores.
    pub fn new(kinds: Vec<KindStore>) -> Self {
        Stores { kinds }
    }

    /// Each kind's store, in order.
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

    /// Waits until every kind's first complete list has been stored.
    pub async fn wait_synced(&self) {
        for kind in &self.kinds {
            kind.store.wait_synced().await;
        }
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
            store: store.clone(),
            columns,
            object_type: ObjectType::pod(),
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
}
