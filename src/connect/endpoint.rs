//! Who requests go to, for messages: [`Endpoint`].

use std::fmt;

use crate::connect::client::{Connection, Identity};

/// The API server requests go to, for messages: `https://10.0.0.1:6443 (context prod)`, or
/// `the API server` when the caller did not say ([`Endpoint::default`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint(String);

impl Endpoint {
    /// The server a connection points at: `(context prod)`, `(in-cluster)` or `(simulated
    /// cluster)` after its URL; nothing after it for a kubeconfig without a current context.
    /// Then `through proxy URL` (password redacted) when a proxy carries the requests.
    pub fn of(connection: &Connection) -> Endpoint {
        let origin = match connection.identity.credentials() {
            Identity::Kubeconfig { context, .. } => {
                context.as_ref().map(|context| format!("context {context}"))
            }
            Identity::InCluster => Some("in-cluster".to_owned()),
            Identity::Anonymous => Some("simulated cluster".to_owned()),
            Identity::Impersonated { .. } => None,
        };
        let endpoint = Endpoint::new(&connection.server, origin.as_deref());
        match &connection.proxy {
            Some(proxy) => Endpoint(format!("{endpoint} through proxy {proxy}")),
            None => endpoint,
        }
    }

    /// The server at `url`, reached through `origin` (`context prod`, `in-cluster`), if any.
    pub fn new(url: &str, origin: Option<&str>) -> Endpoint {
        // `https://host:6443/` as `Uri` prints it, without the bare root path.
        let url = url.strip_suffix('/').unwrap_or(url);
        Endpoint(match origin {
            Some(origin) => format!("{url} ({origin})"),
            None => url.to_owned(),
        })
    }
}

impl Default for Endpoint {
    fn default() -> Endpoint {
        Endpoint("the API server".to_owned())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_names_the_url_and_where_it_came_from() {
        let endpoint = Endpoint::new("https://10.0.0.1:6443/", Some("context prod"));
        assert_eq!(endpoint.to_string(), "https://10.0.0.1:6443 (context prod)");
        let endpoint = Endpoint::new("https://rancher.example/k8s/clusters/c-1", None);
        assert_eq!(
            endpoint.to_string(),
            "https://rancher.example/k8s/clusters/c-1"
        );
        assert_eq!(Endpoint::default().to_string(), "the API server");
    }

    #[tokio::test]
    async fn a_connection_without_a_kubeconfig_context_names_no_empty_origin() {
        let url = "https://10.96.0.1:443/";
        let client = crate::connect::client::connect_insecure_local(
            url,
            &crate::connect::client::ClientOptions::default(),
        )
        .expect("client");
        let named = |identity: Identity| {
            Endpoint::of(&Connection {
                client: client.clone(),
                identity,
                server: url.to_owned(),
                context_namespace: None,
                proxy: None,
            })
            .to_string()
        };
        assert_eq!(
            named(Identity::InCluster),
            "https://10.96.0.1:443 (in-cluster)"
        );
        assert_eq!(
            named(Identity::Anonymous),
            "https://10.96.0.1:443 (simulated cluster)"
        );
        let context = |context: Option<&str>| Identity::Kubeconfig {
            user: None,
            context: context.map(str::to_owned),
        };
        assert_eq!(
            named(context(Some("prod"))),
            "https://10.96.0.1:443 (context prod)"
        );
        assert_eq!(named(context(None)), "https://10.96.0.1:443");
    }
}
