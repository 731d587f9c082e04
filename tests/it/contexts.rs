//! Several kubeconfig contexts in one run (`--context a,b`, `--all-contexts`): fake servers as
//! clusters, one down or forbidden, through one kubeconfig. One stream, keys prefixed by
//! context; each context independent; `--once` fails naming those it could not list.

use std::time::{Duration, Instant};

use kreflect_sim::ServerOptions;

use crate::harness::{
    ANY_PORT, Running, TestCluster, http_get, listening_addr, run_to_end, strings,
};

/// A kubeconfig whose contexts are `(name, server URL)`, the first current.
fn kubeconfig(cluster: &TestCluster, contexts: &[(&str, &str)]) -> std::path::PathBuf {
    let clusters: Vec<_> = contexts
        .iter()
        .map(|(name, url)| serde_json::json!({"name": name, "cluster": {"server": url}}))
        .collect();
    let named: Vec<_> = contexts
        .iter()
        .map(|(name, _)| serde_json::json!({"name": name, "context": {"cluster": name, "user": "u"}}))
        .collect();
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": clusters,
        "users": [{"name": "u", "user": {}}],
        "contexts": named,
        "current-context": contexts[0].0,
    });
    cluster.write_kubeconfig("contexts", &config.to_string())
}

/// `kreflect pods --all-contexts --interval 1s --metrics-addr ANY_PORT` with `config`.
fn watching_every_context(cluster: &TestCluster, config: &std::path::Path) -> Running {
    let args = [
        "--all-contexts",
        "--interval",
        "1s",
        "--metrics-addr",
        ANY_PORT,
    ];
    Running::spawn(cluster.kreflect_with_kubeconfig(config, &args))
}

/// Asserts that `running`'s first listing is `keys`, printed within `limit`.
async fn first_listing_within(running: &mut Running, keys: &[&str], limit: Duration) {
    let started = Instant::now();
    assert_eq!(running.next_listing().await, strings(keys));
    let took = started.elapsed();
    assert!(took < limit, "the first listing took {took:?}");
}

/// Nothing listens there.
const DEAD: &str = "http://127.0.0.1:9";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_prints_every_context_prefixed_in_one_sorted_listing() {
    let east = TestCluster::with_pods(&["shop/web-1", "shop/web-2"]).await;
    let west = TestCluster::with_pods(&["shop/web-1", "ops/db-0"]).await;
    let config = kubeconfig(
        &east,
        &[("east", &east.server.url()), ("west", &west.server.url())],
    );
    for args in [
        &["--context", "east,west", "--once"][..],
        &["--context", "west", "--context", "east", "--once"],
        &["--all-contexts", "--once"],
    ] {
        let (status, stdout, stderr) =
            run_to_end(east.kreflect_with_kubeconfig(&config, args)).await;
        assert!(status.success(), "{args:?}: {stderr}");
        assert_eq!(
            stdout, "east/shop/web-1\neast/shop/web-2\nwest/ops/db-0\nwest/shop/web-1\n\n",
            "{args:?}"
        );
    }
    // Several kinds: the context, then the kind.
    let (status, stdout, stderr) = run_to_end(east.kreflect_any_with_kubeconfig(
        &config,
        &[
            "pods,nodes",
            "--context",
            "east,west",
            "--once",
            "-o",
            "json",
        ],
    ))
    .await;
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("\"east/pod/shop/web-1\""), "{stdout}");
    assert!(stdout.contains("\"west/pod\":"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_lists_what_it_can_and_fails_naming_the_contexts_it_could_not() {
    let up = TestCluster::with_pods(&["shop/web-1"]).await;
    let forbidding = TestCluster::start_with_pods(
        ServerOptions {
            deny_cluster_scope: true,
            ..ServerOptions::default()
        },
        &["shop/secret"],
    )
    .await;
    let config = kubeconfig(
        &up,
        &[
            ("up", &up.server.url()),
            ("down", DEAD),
            ("forbidden", &forbidding.server.url()),
        ],
    );
    let (status, stdout, stderr) =
        run_to_end(up.kreflect_with_kubeconfig(&config, &["--all-contexts", "--once"])).await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "up/shop/web-1\n\n");
    assert!(
        stderr.contains(
            "could not list contexts down, forbidden; the listing above has the other contexts"
        ),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|line| line.contains("context failed") && line.contains("context=down")),
        "{stderr}"
    );
    // A context the kubeconfig lacks is a mistake of the command line: nothing is listed.
    let (status, stdout, stderr) =
        run_to_end(up.kreflect_with_kubeconfig(&config, &["--context", "up,nope", "--once"])).await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.contains("no context \"nope\""), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_or_down_context_holds_nothing_back_and_readyz_says_which_are_synced() {
    let up = TestCluster::with_pods(&["shop/web-1"]).await;
    // Its first answer comes after the grace the first listing waits for the others.
    let slow = TestCluster::start_with_pods(
        ServerOptions {
            response_delay: Duration::from_secs(14),
            ..ServerOptions::default()
        },
        &["ops/db-0"],
    )
    .await;
    let config = kubeconfig(
        &up,
        &[
            ("up", &up.server.url()),
            ("down", DEAD),
            ("slow", &slow.server.url()),
        ],
    );
    let mut running = watching_every_context(&up, &config);
    first_listing_within(&mut running, &["up/shop/web-1"], Duration::from_secs(13)).await;
    running
        .wait_for_stderr("the contexts left out", |line| {
            line.contains("left out of the listings") && line.contains("down,slow")
        })
        .await;
    let addr = listening_addr(running.child.id()).await;
    let readyz = http_get(&addr, "/readyz").await;
    assert!(readyz.starts_with("HTTP/1.1 503"), "{readyz}");
    assert!(
        readyz.contains("[+]up/pods ready") && readyz.contains("[-]down/pods not synced"),
        "{readyz}"
    );
    let metrics = http_get(&addr, "/metrics").await;
    assert!(
        metrics.contains("kreflect_synced{context=\"up\",resource=\"pods\"} 1")
            && metrics.contains("kreflect_synced{context=\"down\",resource=\"pods\"} 0"),
        "{metrics}"
    );
    // The slow context joins the listings once it has synced; the down one stays out.
    running
        .wait_for_listing(&strings(&["slow/ops/db-0", "up/shop/web-1"]))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_forbidden_while_watching_is_left_out_and_the_others_go_on() {
    let up = TestCluster::with_pods(&["shop/web-1"]).await;
    let forbidding = TestCluster::start_with_pods(
        ServerOptions {
            deny_cluster_scope: true,
            ..ServerOptions::default()
        },
        &["shop/secret"],
    )
    .await;
    let config = kubeconfig(
        &up,
        &[("up", &up.server.url()), ("no", &forbidding.server.url())],
    );
    let mut running =
        Running::spawn(up.kreflect_with_kubeconfig(&config, &["--context", "up,no", "--events"]));
    assert_eq!(running.next_line().await, "ADDED up/shop/web-1");
    running
        .wait_for_stderr("the forbidden context named", |line| {
            line.contains("context failed") && line.contains("no")
        })
        .await;
    up.server.cluster().create_pod("shop", "web-2");
    assert_eq!(running.next_line().await, "ADDED up/shop/web-2");
    assert!(
        running.child.try_wait().expect("wait").is_none(),
        "it goes on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_several_contexts_cannot_mean_is_a_usage_error() {
    let cluster = TestCluster::with_pods(&[]).await;
    for (args, said) in [
        (
            &["--context", "a,b", "--state", "f"][..],
            "--state keeps one cluster's state",
        ),
        (
            &["--all-contexts", "--for", "delete", "x"],
            "--for waits in one cluster",
        ),
        (&["--all-contexts", "--context", "a"], "cannot be used with"),
    ] {
        let (status, _, stderr) = run_to_end(cluster.kreflect(args)).await;
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(said), "{args:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_events_and_diffs_carry_the_context() {
    let east = TestCluster::with_pods(&["shop/web-1"]).await;
    let west = TestCluster::with_pods(&["shop/web-1", "ops/db-0"]).await;
    let config = kubeconfig(
        &east,
        &[("east", &east.server.url()), ("west", &west.server.url())],
    );
    let once = |output: &str| {
        let args = ["--context", "east,west", "--once", "-o", output];
        run_to_end(east.kreflect_with_kubeconfig(&config, &args))
    };
    let cases = [
        ("name", "east/pod/web-1\nwest/pod/db-0\nwest/pod/web-1\n\n"),
        (
            "custom-columns=NAME:.metadata.name,NS:.metadata.namespace",
            "CONTEXT   NAME    NS\neast      web-1   shop\nwest      db-0    ops\nwest      web-1   shop\n\n",
        ),
        (
            r#"jsonpath={.metadata.name}{"\n"}"#,
            "east/web-1\nwest/db-0\nwest/web-1\n\n",
        ),
        (
            r#"jsonpath={range .items[*]}{.metadata.name}{" "}{end}"#,
            "east/web-1 west/db-0 web-1 \n\n",
        ),
    ];
    for (output, expected) in cases {
        let (status, stdout, stderr) = once(output).await;
        assert!(status.success(), "{output}: {stderr}");
        assert_eq!(stdout, expected, "{output}");
    }

    let mut events = Running::spawn(east.kreflect_with_kubeconfig(
        &config,
        &[
            "--context",
            "east,west",
            "--events",
            "-o",
            "custom-columns=NAME:.metadata.name",
        ],
    ));
    let mut lines = Vec::new();
    for _ in 0..4 {
        lines.push(events.next_line().await);
    }
    lines[1..].sort();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["CONTEXT", "NAME"]
    );
    let rows: Vec<Vec<&str>> = lines[1..]
        .iter()
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [["east", "web-1"], ["west", "db-0"], ["west", "web-1"]]
    );

    let mut objects = Running::spawn(east.kreflect_with_kubeconfig(
        &config,
        &[
            "--context",
            "east,west",
            "--events",
            "-o",
            "json",
            "--output-watch-events",
        ],
    ));
    let mut contexts = Vec::new();
    while contexts.len() < 3 {
        let line: serde_json::Value =
            serde_json::from_str(&objects.next_line().await).expect("JSON");
        if line["type"] == "ADDED" {
            contexts.push(line["context"].as_str().expect("a context").to_owned());
        }
    }
    contexts.sort();
    assert_eq!(contexts, ["east", "west", "west"]);

    let mut diff = Running::spawn(east.kreflect_with_kubeconfig(
        &config,
        &["--context", "east,west", "--diff", "--interval", "1s"],
    ));
    let mut first = Vec::new();
    for _ in 0..3 {
        first.push(diff.next_line().await);
    }
    assert_eq!(
        first,
        strings(&["+east/shop/web-1", "+west/ops/db-0", "+west/shop/web-1"])
    );
    west.server.cluster().delete_pod("ops", "db-0");
    assert_eq!(diff.next_line().await, "-west/ops/db-0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exec_command_is_told_each_changes_context() {
    let east = TestCluster::with_pods(&["shop/web-1"]).await;
    let west = TestCluster::with_pods(&["ops/db-0"]).await;
    let config = kubeconfig(
        &east,
        &[("east", &east.server.url()), ("west", &west.server.url())],
    );
    let record = east.write_kubeconfig("changes", "");
    let command = format!(
        "echo \"$KREFLECT_CONTEXT $KREFLECT_NAMESPACE $KREFLECT_NAME $KREFLECT_KEY\" >> {}",
        record.display()
    );
    let _running = Running::spawn(east.kreflect_with_kubeconfig(
        &config,
        &["--context", "east,west", "--events", "--exec", &command],
    ));
    let lines = crate::harness::poll_until(Duration::from_secs(20), async || {
        let text = std::fs::read_to_string(&record).unwrap_or_default();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines.sort();
        (lines.len() >= 2).then_some(lines)
    })
    .await
    .expect("a command run per change");
    assert_eq!(
        lines,
        [
            "east shop web-1 east/shop/web-1",
            "west ops db-0 west/ops/db-0"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_plugin_that_never_answers_leaves_its_context_out_after_a_grace() {
    let up = TestCluster::with_pods(&["shop/web-1"]).await;
    let config = with_plugins(&up);
    let started = Instant::now();
    // Longer than run_to_end waits: the grace is 30 s.
    let mut command = up.kreflect_with_kubeconfig(&config, &["--context", "up,login", "--once"]);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("kreflect finishes")
        .expect("kreflect runs");
    let (status, stdout) = (output.status, String::from_utf8_lossy(&output.stdout));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "up/shop/web-1\n\n");
    assert!(stderr.contains("still connecting"), "{stderr}");
    assert!(stderr.contains("could not list context login"), "{stderr}");
    let took = started.elapsed();
    assert!(
        (Duration::from_secs(29)..Duration::from_secs(50)).contains(&took),
        "{took:?}"
    );
}

/// A kubeconfig with contexts `up` (a plain user), `login` (a credential plugin that never
/// answers) and `broken` (a plugin that fails), all on `cluster`'s server.
fn with_plugins(cluster: &TestCluster) -> std::path::PathBuf {
    let hangs = cluster.write_script("hangs", "sleep 600\n");
    let fails = cluster.write_script("fails", "echo 'no credentials' >&2; exit 3\n");
    let kubeconfig = format!(
        r#"apiVersion: v1
kind: Config
current-context: up
clusters:
- name: c
  cluster: {{server: "{url}"}}
users:
- name: plain
  user: {{}}
- name: sso
  user:
    exec: {{apiVersion: client.authentication.k8s.io/v1beta1, command: "{hangs}", interactiveMode: Never}}
- name: bad
  user:
    exec: {{apiVersion: client.authentication.k8s.io/v1beta1, command: "{fails}", interactiveMode: Never}}
contexts:
- name: up
  context: {{cluster: c, user: plain}}
- name: login
  context: {{cluster: c, user: sso}}
- name: broken
  context: {{cluster: c, user: bad}}
"#,
        url = cluster.server.url(),
        hangs = hangs.display(),
        fails = fails.display(),
    );
    cluster.write_kubeconfig("with-plugins", &kubeconfig)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_still_connecting_or_unable_to_holds_nothing_back_and_readyz_names_it() {
    let up = TestCluster::with_pods(&["shop/web-1"]).await;
    let config = with_plugins(&up);
    let mut running = watching_every_context(&up, &config);
    first_listing_within(&mut running, &["up/shop/web-1"], Duration::from_secs(15)).await;
    let addr = listening_addr(running.child.id()).await;
    let readyz = http_get(&addr, "/readyz").await;
    assert!(readyz.starts_with("HTTP/1.1 503"), "{readyz}");
    for line in [
        "[+]up/pods ready",
        "[-]login/pods not synced",
        "[-]broken/pods failed",
    ] {
        assert!(readyz.contains(line), "{line}: {readyz}");
    }
    running
        .wait_for_stderr("the broken context named", |line| {
            line.contains("context failed") && line.contains("broken") && line.contains("exit")
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_context_failing_prints_no_listing_and_one_asked_twice_stays_prefixed() {
    let up = TestCluster::with_pods(&["shop/web-1"]).await;
    let config = kubeconfig(
        &up,
        &[("up", &up.server.url()), ("down", DEAD), ("gone", DEAD)],
    );
    let (status, stdout, stderr) =
        run_to_end(up.kreflect_with_kubeconfig(&config, &["--context", "down,gone", "--once"]))
            .await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "", "an empty listing would say there are no pods");
    let (status, stdout, stderr) =
        run_to_end(up.kreflect_with_kubeconfig(&config, &["--context", "up,up", "--once"])).await;
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, "up/shop/web-1\n\n");
    // No kubeconfig: a context cannot be named, whatever --server says.
    let home = tempfile::tempdir().expect("home");
    let args = ["pods", "-s", &up.server.url(), "--context", "a,b", "--once"];
    let (status, stdout, stderr) =
        run_to_end(crate::harness::kreflect_command(&args, home.path())).await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.contains("no kubeconfig was found"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinds_are_resolved_in_whichever_context_answers() {
    let up = TestCluster::with_pods(&["shop/web-1"]).await;
    let refusing = TestCluster::start(ServerOptions {
        bearer_token: Some("not-sent".into()),
        ..ServerOptions::default()
    })
    .await;
    // Discovery in `down` cannot reach it, and `expired`'s is refused (401): `up` answers.
    let config = kubeconfig(
        &up,
        &[
            ("down", DEAD),
            ("expired", &refusing.server.url()),
            ("up", &up.server.url()),
        ],
    );
    for args in [
        &["pods,deploy", "--context", "down,expired,up", "--once"][..],
        &["pods,deploy", "--context", "expired,up,down", "--once"],
    ] {
        let (status, stdout, stderr) =
            run_to_end(up.kreflect_any_with_kubeconfig(&config, args)).await;
        assert_eq!(status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stdout, "up/pod/shop/web-1\n\n", "{args:?}: {stderr}");
        assert!(
            stderr.contains("could not list contexts down, expired"),
            "{args:?}: {stderr}"
        );
    }
    // None answers: the failure names its context.
    let (status, stdout, stderr) =
        run_to_end(up.kreflect_any_with_kubeconfig(
            &config,
            &["deploy", "--context", "down,expired", "--once"],
        ))
        .await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.contains("kreflect: context "), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_listing_is_printed_while_no_context_can_be_listed() {
    // Watches end every second, so the refusal below is met soon after the first listing.
    let refusing_later = TestCluster::start_with_pods(
        ServerOptions {
            max_watch_seconds: Some(1),
            ..ServerOptions::default()
        },
        &["shop/web-1"],
    )
    .await;
    let plugins = with_plugins(&refusing_later);
    let mut config: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&plugins).expect("kubeconfig"))
            .expect("YAML");
    config["current-context"] = "login".into();
    let config = refusing_later.write_kubeconfig("later", &config.to_string());
    // `up` lists, then is refused for good; `login` never connects.
    let mut running = Running::spawn(
        refusing_later
            .kreflect_with_kubeconfig(&config, &["--context", "up,login", "--interval", "1s"]),
    );
    assert_eq!(running.next_listing().await, strings(&["up/shop/web-1"]));
    let forbidden = |list| {
        let (code, reason) = (403, "Forbidden".to_owned());
        if list {
            kreflect_sim::Fault::ListStatus {
                code,
                reason,
                retry_after: None,
            }
        } else {
            kreflect_sim::Fault::WatchStatus {
                code,
                reason,
                retry_after: None,
            }
        }
    };
    refusing_later.server.inject_always(forbidden(false));
    refusing_later.server.inject_always(forbidden(true));
    running
        .wait_for_stderr("up failing", |line| {
            line.contains("context failed") && line.contains("up")
        })
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    running.signal(nix::sys::signal::Signal::SIGTERM);
    let rest = running.rest_of_stdout().await;
    let lines: Vec<&str> = rest.lines().collect();
    for (at, line) in lines.iter().enumerate() {
        assert!(
            !line.is_empty() || (at > 0 && !lines[at - 1].is_empty()),
            "an empty listing would say there are no pods: {rest:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exec_listing_runs_without_a_context_still_connecting() {
    let up = TestCluster::with_pods(&["shop/web-1"]).await;
    let config = with_plugins(&up);
    let record = up.write_kubeconfig("listings", "");
    let command = format!("cat >> {}", record.display());
    let _running = Running::spawn(up.kreflect_with_kubeconfig(
        &config,
        &[
            "--context",
            "up,login",
            "--interval",
            "1s",
            "--exec",
            &command,
        ],
    ));
    let listing = crate::harness::poll_until(Duration::from_secs(20), async || {
        let text = std::fs::read_to_string(&record).unwrap_or_default();
        (!text.is_empty()).then_some(text)
    })
    .await
    .expect("the command ran for the listing of the context connected");
    assert_eq!(listing, "up/shop/web-1\n\n");
}
