//! The simulated cluster behind `--sim` (feature `sim`): the fake API server of the
//! [`kreflect_sim`] crate, started in-process with a few namespaces of realistic pods and a
//! steady churn, watched through the same HTTP client and reflector as a real cluster.
//!
//! One name for one feature: the flag `--sim`, the cargo feature `sim`, this module, [`Sim`]
//! and `crate::ClusterChoice::Sim`; prose calls it the simulated cluster. The fake server is
//! always named by its crate, `kreflect_sim`, so `sim::Sim` (the product's handle on a running
//! simulated cluster) and `kreflect_sim::FakeApiServer` (the server) cannot be taken for each
//! other.

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::connect::client::{
    ClientError, ClientOptions, Connection, Identity, connect_insecure_local,
};
use kreflect_sim::{ChurnOptions, FakeApiServer, ServerOptions, populate, run_churn};

/// The namespaces of the simulated cluster.
pub(crate) const NAMESPACES: [&str; 4] = ["default", "monitoring", "payments", "shop"];
/// Pods per namespace at start.
const PODS_PER_NAMESPACE: usize = 6;
/// Adds, updates and deletes per second.
const EVENTS_PER_SECOND: f64 = 2.0;

/// A running simulated cluster with its churn task.
pub struct Sim {
    server: FakeApiServer,
    churn: JoinHandle<()>,
    stop_churn: CancellationToken,
}

impl Sim {
    /// Starts the server on a random loopback port, fills it and starts the churn.
    pub async fn start() -> std::io::Result<Self> {
        let server = FakeApiServer::start(ServerOptions::default()).await?;
        let namespaces: Vec<String> = NAMESPACES.iter().map(|ns| (*ns).to_owned()).collect();
        populate(&server.cluster(), &namespaces, PODS_PER_NAMESPACE);
        let stop_churn = CancellationToken::new();
        let options = ChurnOptions {
            events_per_second: EVENTS_PER_SECOND,
            seed: rand::random(),
            namespaces,
        };
        let churn = tokio::spawn(run_churn(server.cluster(), options, stop_churn.clone()));
        tracing::info!(url = %server.url(), "simulated cluster started");
        Ok(Sim {
            server,
            churn,
            stop_churn,
        })
    }

    /// A connection to the simulated cluster: no credentials, no kubeconfig context.
    pub fn connect(&self, options: &ClientOptions) -> Result<Connection, ClientError> {
        let server = self.server.url();
        Ok(Connection {
            client: connect_insecure_local(&server, options)?,
            identity: Identity::Anonymous,
            server,
            context_namespace: None,
            proxy: None,
        })
    }

    /// Stops the churn and the server, and waits for both.
    pub async fn shutdown(self) {
        self.stop_churn.cancel();
        let _ = self.churn.await;
        self.server.shutdown().await;
    }
}
