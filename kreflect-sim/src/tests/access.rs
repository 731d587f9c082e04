//! Who may ask: the bearer token, the cluster-scope and one-namespace authorization switches,
//! and the `Status` answers for what is refused, missing or not allowed.

use super::*;

#[tokio::test]
async fn auth_forbidden_not_found_and_method_not_allowed_are_status_objects() {
    let server = server_with(ServerOptions {
        bearer_token: Some("s3cret".to_owned()),
        deny_cluster_scope: true,
        ..ServerOptions::default()
    })
    .await;
    let mut reply = get(&server, "/api/v1/namespaces/shop/pods").await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.body().await,
        br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#
    );
    let auth = [("Authorization", "Bearer s3cret")];
    let mut reply = request(&server, "GET", "/api/v1/pods?limit=1", &auth).await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    let status = reply.json().await;
    assert_eq!(
        status["message"],
        "pods is forbidden: User \"sim\" cannot list resource \"pods\" in API group \"\" at the cluster scope"
    );
    assert_eq!(status["reason"], "Forbidden");
    let mut reply = request(&server, "GET", "/api/v1/pods?watch=1", &auth).await;
    assert_eq!(reply.status, 403);
    assert!(
        reply.json().await["message"]
            .as_str()
            .unwrap()
            .contains("cannot watch")
    );
    assert_eq!(
        request(&server, "GET", "/api/v1/namespaces/shop/pods", &auth)
            .await
            .status,
        200
    );
    let mut reply = request(&server, "GET", "/api/v1/nosuchthings", &auth).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json().await["reason"], "NotFound");
    let mut reply = request(&server, "DELETE", "/api/v1/namespaces/shop/pods", &auth).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.json().await["reason"], "MethodNotAllowed");
    assert!(server.kubeconfig().contains("\"token\": \"s3cret\""));
    server.shutdown().await;
}

#[tokio::test]
async fn a_role_in_one_namespace_forbids_everything_else_but_discovery() {
    let server = server_with(ServerOptions {
        role_namespace: Some("shop".to_owned()),
        ..ServerOptions::default()
    })
    .await;
    assert_eq!(
        get(&server, "/api/v1/namespaces/shop/pods").await.status,
        200
    );
    assert_eq!(
        get(
            &server,
            "/api/v1/namespaces/shop/pods?watch=1&timeoutSeconds=1"
        )
        .await
        .status,
        200
    );
    assert_eq!(get(&server, "/api/v1").await.status, 200);
    assert_eq!(get(&server, "/apis").await.status, 200);
    let refused = [
        ("/api/v1/pods", "list", "pods", "at the cluster scope"),
        (
            "/api/v1/pods?watch=1",
            "watch",
            "pods",
            "at the cluster scope",
        ),
        (
            "/api/v1/namespaces/other/pods",
            "list",
            "pods",
            "in the namespace \"other\"",
        ),
        ("/api/v1/nodes", "list", "nodes", "at the cluster scope"),
    ];
    for (target, verb, plural, scope) in refused {
        let mut reply = get(&server, target).await;
        assert_eq!(reply.status, 403, "{target}");
        let status = reply.json().await;
        assert_eq!(status["reason"], "Forbidden");
        assert_eq!(
            status["message"],
            format!(
                "{plural} is forbidden: User \"sim\" cannot {verb} resource \"{plural}\" in API group \"\" {scope}"
            ),
        );
    }
    server.shutdown().await;
}
