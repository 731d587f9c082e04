//! Asking the cluster for candidates: its resources (through the discovery [`cache`]), its
//! namespaces and the names of its objects, over the same client as a run (kubeconfig,
//! context, proxy, credential plugin), all of it within [`DEADLINE`]; or the simulated
//! cluster's, with no network at all.
//!
//! Every failure (no kubeconfig, a server down or silent, a 403, a body that does not decode)
//! is "no candidates": a shell waiting on TAB has nowhere to show an error, and nothing is
//! logged (no subscriber is installed in completion mode).
//!
//! [`cache`]: super::cache

use std::future::Future;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use super::cache::DiscoveryCache;
use crate::api::deadline::RequestDeadline;
use crate::api::kube_source;
use crate::api::kube_source::{KubeSource, SourceOptions};
use crate::api::resolve::{self, Discovered, Discovery};
use crate::cache::list_watch::{ListFrom, ListRequest, ListWatch};
use crate::connect::client::{self, ClientOptions, Connection, KubeconfigChoice};
use crate::connect::endpoint::Endpoint;
use crate::connect::exec_credential::PluginTerminal;

/// The longest a completion waits for the cluster, everything included (kubeconfig, credential
/// plugin, connecting, every request); then it offers nothing.
pub const DEADLINE: Duration = Duration::from_secs(2);

/// Runs `work` for at most [`DEADLINE`], on a thread and a runtime of its own: its result, or
/// `None` when the time is up. The deadline is kept from this thread, so it holds even when
/// `work` blocks its own (a credential plugin that hangs, a cache or kubeconfig file that
/// never gives its contents: a FIFO, a hung network home). What is still running then is
/// abandoned, not waited for: the process exits once the candidates are printed.
pub fn within_deadline<T: Send + 'static>(
    work: impl Future<Output = Option<T>> + Send + 'static,
) -> Option<T> {
    let (sender, receiver) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("completion".to_owned())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            let found = runtime.block_on(async { tokio::time::timeout(DEADLINE, work).await });
            // The caller may have stopped waiting: nobody to tell, then.
            let _ = sender.send(found.ok().flatten());
            runtime.shutdown_background();
        })
        .ok()?;
    receiver.recv_timeout(DEADLINE).ok().flatten()
}

/// The watchable resources of the cluster `choice` names: from the cache when fresh and it
/// has what is wanted (`has_it`), else from discovery (then cached, unless a group could not
/// be read: the next TAB tries again). A miss asks the server, as kubectl's completion does: a
/// custom resource installed since the cache was written is offered at once.
pub async fn resources(
    choice: KubeconfigChoice,
    has_it: impl Fn(&[Discovered]) -> bool,
) -> Option<Vec<Discovered>> {
    let server = client::server_url(&choice).await.ok()?;
    let cache = DiscoveryCache::for_server(&server);
    if let Some(fresh) = read_fresh(cache.as_ref())
        && has_it(&fresh)
    {
        return Some(fresh);
    }
    discover(&connect(&choice).await?, cache).await
}

/// The names of the objects of `types` (`pods`, `pods,svc`, a category), in each of
/// `namespaces` or, with none, across all namespaces (a cluster-scoped type ignores them), as a
/// run with these types would list them: kubectl's completion runs `kubectl get TYPES` the same
/// way. A type that does not resolve, or a list that fails, adds no names.
pub async fn object_names(
    choice: KubeconfigChoice,
    types: String,
    namespaces: Vec<String>,
) -> Option<Vec<String>> {
    let cache = DiscoveryCache::for_server(&client::server_url(&choice).await.ok()?);
    let connection = connect(&choice).await?;
    let resolves_all = |discovery: &Discovery| {
        types
            .split(',')
            .all(|part| discovery.category(part).is_some() || discovery.resolve(part).is_ok())
    };
    let cached = read_fresh(cache.as_ref()).map(|served| Discovery {
        served,
        unreadable: Vec::new(),
    });
    // A type the cache does not know may have been installed since: asked again, as kubectl.
    let discovery = match cached {
        Some(cached) if resolves_all(&cached) => cached,
        _ => Discovery {
            served: discover(&connection, cache).await?,
            unreadable: Vec::new(),
        },
    };
    let mut kinds: Vec<&Discovered> = Vec::new();
    for part in types.split(',') {
        match discovery.category(part) {
            Some(members) => kinds.extend(members),
            None => kinds.extend(discovery.resolve(part).ok()),
        }
    }
    kinds.sort_by_key(|kind| kind.qualified_name());
    kinds.dedup();
    let scopes: Vec<Option<String>> = if namespaces.is_empty() {
        vec![None]
    } else {
        namespaces.into_iter().map(Some).collect()
    };
    // A cluster-scoped kind is listed once, whatever the namespaces.
    let lists = kinds.into_iter().flat_map(|kind| {
        let scopes = if kind.namespaced {
            &scopes[..]
        } else {
            &scopes[..1]
        };
        scopes
            .iter()
            .map(|namespace| list_names(&connection, kind, namespace.clone()))
    });
    let names = futures::future::join_all(lists).await;
    Some(names.into_iter().flatten().flatten().collect())
}

/// The names of the objects of `kind`, listed by metadata only, a page of 500 at a time (as
/// `kubectl get` pages); `None` if a page fails.
async fn list_names(
    connection: &Connection,
    kind: &Discovered,
    namespace: Option<String>,
) -> Option<Vec<String>> {
    let (client, resource) = (connection.client.clone(), kind.api_resource());
    let source = if kind.namespaced {
        KubeSource::new(client, &resource, namespace)
    } else {
        KubeSource::cluster_scoped(client, &resource)
    };
    let source = source
        .with_endpoint(Endpoint::of(connection))
        .with_options(SourceOptions {
            metadata_only: true,
            ..SourceOptions::default()
        });
    let mut names = Vec::new();
    let mut continue_token = None;
    loop {
        // A consistent read in pages: the watch cache would answer every object at once.
        let request = ListRequest {
            limit: Some(PAGE),
            continue_token,
            from: ListFrom::Latest,
        };
        let page = source.list(request).await.ok()?;
        names.extend(page.items.iter().map(|item| item.key().name().to_owned()));
        continue_token = page.continue_token;
        if continue_token.is_none() {
            return Some(names);
        }
    }
}

/// The page size of [`list_names`]: kubectl's `--chunk-size` default.
const PAGE: u32 = 500;

/// The cached resources, if there is a cache and it is fresh.
fn read_fresh(cache: Option<&DiscoveryCache>) -> Option<Vec<Discovered>> {
    cache?.read_fresh(SystemTime::now())
}

/// The watchable resources discovery finds over `connection`, written to `cache` unless a
/// group could not be read.
async fn discover(
    connection: &Connection,
    cache: Option<DiscoveryCache>,
) -> Option<Vec<Discovered>> {
    let (client, endpoint) = (&connection.client, &Endpoint::of(connection));
    let discovery = resolve::discover(|path| async move {
        kube_source::fetch(client, endpoint, &path, &RequestDeadline::default()).await
    })
    .await
    .ok()?;
    let found: Vec<Discovered> = discovery
        .served
        .into_iter()
        .filter(|discovered| discovered.watchable)
        .collect();
    if let Some(cache) = cache
        && discovery.unreadable.is_empty()
    {
        // Best effort: without a cache, the next completion asks the server again.
        let _ = cache.write(&found);
    }
    Some(found)
}

/// The namespaces of the cluster `choice` names.
pub async fn namespaces(choice: KubeconfigChoice) -> Option<Vec<String>> {
    #[derive(Deserialize)]
    struct List {
        items: Vec<Item>,
    }
    #[derive(Deserialize)]
    struct Item {
        metadata: Metadata,
    }
    #[derive(Deserialize)]
    struct Metadata {
        name: String,
    }
    let connection = connect(&choice).await?;
    let endpoint = Endpoint::of(&connection);
    let body = kube_source::fetch(
        &connection.client,
        &endpoint,
        "/api/v1/namespaces",
        &RequestDeadline::default(),
    )
    .await
    .ok()?;
    let list: List = serde_json::from_slice(&body).ok()?;
    Some(
        list.items
            .into_iter()
            .map(|item| item.metadata.name)
            .collect(),
    )
}

/// A connection whose credential plugin, if any, gets no terminal: it is the shell's.
async fn connect(choice: &KubeconfigChoice) -> Option<Connection> {
    let options = ClientOptions {
        plugin_terminal: PluginTerminal::Withheld,
        ..ClientOptions::default()
    };
    client::connect(choice, &options).await.ok()
}

/// The resources of the simulated cluster (`--sim`), known without starting it.
#[cfg(feature = "sim")]
pub fn sim_resources() -> Vec<Discovered> {
    kreflect_sim::RESOURCES
        .iter()
        .map(|served| Discovered {
            group: served.group.to_owned(),
            version: served.version.to_owned(),
            plural: served.plural.to_owned(),
            singular: served.singular.to_owned(),
            kind: served.kind.to_owned(),
            short_names: served
                .short_names
                .iter()
                .map(|&name| name.to_owned())
                .collect(),
            namespaced: served.namespaced,
            watchable: true,
            categories: served
                .categories
                .iter()
                .map(|&category| category.to_owned())
                .collect(),
        })
        .collect()
}

/// The namespaces of the simulated cluster (`--sim`).
#[cfg(feature = "sim")]
pub fn sim_namespaces() -> Vec<String> {
    crate::connect::sim::NAMESPACES.map(str::to_owned).to_vec()
}

/// No simulated cluster in this build: nothing to offer.
#[cfg(not(feature = "sim"))]
pub fn sim_resources() -> Vec<Discovered> {
    Vec::new()
}

/// No simulated cluster in this build: nothing to offer.
#[cfg(not(feature = "sim"))]
pub fn sim_namespaces() -> Vec<String> {
    Vec::new()
}
