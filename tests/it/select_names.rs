//! Object names on the command line, as `kubectl get` takes them (`kreflect pods web-1 web-2`,
//! `kreflect pod/web-1`): the real binary against the fake API server over HTTP.

use nix::sys::signal::Signal;

use crate::harness::{Running, TestCluster, once, run_to_end, strings};

async fn shop() -> TestCluster {
    TestCluster::with_pods(&["shop/web-1", "shop/web-2", "shop/db", "other/web-1"]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_name_is_asked_of_the_server_as_a_field_selector() {
    let cluster = shop().await;
    let stdout = once(&cluster, &["pods", "web-1", "-n", "shop", "--once"]).await;
    assert_eq!(stdout, "shop/web-1\n\n");
    let lists = cluster.list_requests();
    assert!(
        lists
            .iter()
            .all(|r| r.param("fieldSelector") == Some("metadata.name=web-1")),
        "{lists:#?}"
    );
    // Joined with the user's own field selector; across namespaces, the name in each.
    let stdout = once(
        &cluster,
        &[
            "pod/web-1",
            "--field-selector",
            "metadata.namespace!=x",
            "--once",
        ],
    )
    .await;
    assert_eq!(stdout, "other/web-1\nshop/web-1\n\n");
    let last = cluster.list_requests().pop().expect("a list");
    assert_eq!(
        last.param("fieldSelector"),
        Some("metadata.namespace!=x,metadata.name=web-1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_names_are_listed_whole_and_filtered_in_the_client() {
    let cluster = shop().await;
    for args in [
        &["pods", "web-2", "web-1", "-n", "shop", "--once"][..],
        &["pod/web-1", "pod/web-2", "-n", "shop", "--once"],
    ] {
        assert_eq!(
            once(&cluster, args).await,
            "shop/web-1\nshop/web-2\n\n",
            "{args:?}"
        );
    }
    let lists = cluster.list_requests();
    assert!(
        lists.iter().all(|r| r.param("fieldSelector").is_none()),
        "{lists:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_name_is_an_empty_listing_until_it_appears_and_after_it_is_deleted() {
    let cluster = shop().await;
    let mut kreflect = Running::spawn(cluster.kreflect_any(&[
        "pods",
        "new",
        "web-1",
        "-n",
        "shop",
        "--interval",
        "100ms",
    ]));
    assert_eq!(kreflect.next_listing().await, strings(&["shop/web-1"]));
    cluster.server.cluster().create_pod("shop", "new");
    cluster.server.cluster().create_pod("shop", "unrelated");
    kreflect
        .wait_for_listing(&strings(&["shop/new", "shop/web-1"]))
        .await;
    cluster.server.cluster().delete_pod("shop", "web-1");
    kreflect.wait_for_listing(&strings(&["shop/new"])).await;
    kreflect.signal(Signal::SIGTERM);
    assert!(kreflect.wait().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_show_only_the_named_objects_deletions_included() {
    let cluster = shop().await;
    let mut kreflect =
        Running::spawn(cluster.kreflect_any(&["pods", "web-1", "web-2", "-n", "shop", "--events"]));
    let mut initial = vec![kreflect.next_line().await, kreflect.next_line().await];
    initial.sort();
    assert_eq!(initial, ["ADDED shop/web-1", "ADDED shop/web-2"]);
    cluster.server.cluster().delete_pod("shop", "db");
    cluster.server.cluster().delete_pod("shop", "web-2");
    assert_eq!(kreflect.next_line().await, "DELETED shop/web-2");
    kreflect.signal(Signal::SIGTERM);
    assert!(kreflect.wait().await.success());
    assert_eq!(kreflect.rest_of_stdout().await, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_that_cannot_be_names_and_mixed_forms_are_usage_errors_sent_nowhere() {
    let cluster = shop().await;
    for (args, message) in [
        (&["pods", "a%2Fb"][..], "invalid resource name"),
        (&["pods", ".."], "invalid resource name"),
        (&["pod/a/b"], "more than one slash"),
        (&["pods", "pod/web-1"], "no need to specify a resource type"),
        (&["pod/"], "single resource and name"),
    ] {
        let (status, stdout, stderr) = run_to_end(cluster.kreflect_any(args)).await;
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert_eq!(stdout, "");
    }
    assert!(cluster.requests().is_empty(), "{:#?}", cluster.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_is_encoded_into_the_query_not_spliced() {
    // The fake server accepts any name; `+`, `&`, `#` and a space would change the query if
    // written raw (`+` reads as a space, `&` starts another parameter).
    let cluster = TestCluster::with_pods(&["shop/web-1"]).await;
    // (No `=` or `,`: those are escaped with `\` in a selector value, which the fake server
    // does not unescape.)
    let odd = "a+b&limit 1#c";
    cluster.server.cluster().create_pod("shop", odd);
    let stdout = once(&cluster, &["pods", odd, "--once"]).await;
    assert_eq!(stdout, format!("shop/{odd}\n\n"));
    let list = cluster.list_requests().pop().expect("a list");
    assert_eq!(
        list.param("fieldSelector"),
        Some(format!("metadata.name={odd}").as_str()),
        "{list:#?}"
    );
}
