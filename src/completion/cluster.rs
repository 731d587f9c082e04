//! Asking the cluster for candidates: its resources (through the discovery [`cache`]) and its
//! namespaces, over the same client as a run (kubeconfig, context, proxy, credential plugin),
//! all of it within [`DEADLINE`]; or the simulated cluster's, with no network at all.
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
use super::names::{self, ResourceNames};
use crate::client::{self, ClientOptions, Connection, KubeconfigChoice};
use crate::exec_credential::PluginTerminal;
use crate::resolve;
use crate::source::{self, Endpoint};

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

/// The watchable resources of the cluster `choice` names: from the cache when fresh, else
/// from discovery (then cached, unless a group could not be read: the next TAB tries again).
pub async fn resources(choice: KubeconfigChoice) -> Option<Vec<ResourceNames>> {
    let server = client::server_url(&choice).await.ok()?;
    let cache = DiscoveryCache::for_server(&server);
    if let Some(fresh) = cache
        .as_ref()
        .and_then(|cache| cache.read_fresh(SystemTime::now()))
    {
        return Some(fresh);
    }
    let connection = connect(&choice).await?;
    let (client, endpoint) = (&connection.client, &Endpoint::of(&connection));
    let discovery =
        resolve::discover(|path| async move { source::fetch(client, endpoint, &path).await })
            .await
            .ok()?;
    let found = names::of_served(&discovery.served);
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
    let body = source::fetch(&connection.client, &endpoint, "/api/v1/namespaces")
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
pub fn sim_resources() -> Vec<ResourceNames> {
    let served: Vec<resolve::Discovered> = kreflect_sim::RESOURCES
        .iter()
        .map(|served| resolve::Discovered {
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
        .collect();
    names::of_served(&served)
}

/// The namespaces of the simulated cluster (`--sim`).
#[cfg(feature = "sim")]
pub fn sim_namespaces() -> Vec<String> {
    crate::sim::NAMESPACES.map(str::to_owned).to_vec()
}

/// No simulated cluster in this build: nothing to offer.
#[cfg(not(feature = "sim"))]
pub fn sim_resources() -> Vec<ResourceNames> {
    Vec::new()
}

/// No simulated cluster in this build: nothing to offer.
#[cfg(not(feature = "sim"))]
pub fn sim_namespaces() -> Vec<String> {
    Vec::new()
}
