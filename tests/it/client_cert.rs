//! Client certificates from the kubeconfig, against the fake server in HTTPS mode.

use base64::Engine as _;
use kreflect_sim::ServerOptions;

use crate::harness::{TestCluster, assert_one_line, run_to_end};

/// A self-signed X.509 **v1** certificate (no extensions) and its P-256 key, made with
/// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`, `openssl req -new` and
/// `openssl x509 -req -signkey` without `-extfile`, which writes version 1.
const V1_CERT: &str = include_str!("../fixtures/x509-v1-client-cert.pem");
const V1_KEY: &str = include_str!("../fixtures/x509-v1-client-key.pem");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x509_v1_client_certificate_is_named_as_such_with_what_to_do() {
    let cluster = TestCluster::start(ServerOptions {
        tls: true,
        ..ServerOptions::default()
    })
    .await;
    let mut kubeconfig: serde_json::Value =
        serde_json::from_str(&cluster.server.kubeconfig()).expect("kubeconfig JSON");
    let base64 = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
    kubeconfig["users"][0]["user"] = serde_json::json!({
        "client-certificate-data": base64(V1_CERT),
        "client-key-data": base64(V1_KEY),
    });
    let path = cluster.write_kubeconfig("v1-cert", &kubeconfig.to_string());

    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect_with_kubeconfig(&path, &["--once"])).await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "");
    assert_one_line(&stderr, "X.509 v1 client certificate");
    assert!(
        stderr.contains("X.509 v1") && stderr.contains("not supported"),
        "names the problem: {stderr}"
    );
    assert!(stderr.contains("v3"), "says what to do: {stderr}");
    assert!(
        !stderr.contains("invalid private key"),
        "does not blame the key: {stderr}"
    );
}
