//! Shell completion that knows the cluster: bash's own completion function, registered by the
//! script `kreflect completions bash` prints, run against the fake API server. Each test sources
//! the script in `bash -c`, sets COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT as readline would,
//! calls the registered function and reads COMPREPLY.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use kreflect_sim::ServerOptions;
use serde_json::json;
use tokio::process::Command;

use crate::harness::{DEADLINE, TestCluster, kreflect_command, run_to_end};

/// A home directory with the bash registration script, a cache directory and a working
/// directory holding files that `-n` and `--context` must never offer.
struct Bash {
    home: tempfile::TempDir,
    script: PathBuf,
}

/// What one completion gave.
#[derive(Debug)]
struct Completed {
    candidates: Vec<String>,
    stderr: String,
    elapsed: Duration,
}

impl Bash {
    async fn new() -> Bash {
        let home = tempfile::tempdir().expect("temp dir");
        let (status, script, stderr) =
            run_to_end(kreflect_command(&["completions", "bash"], home.path())).await;
        assert!(status.success(), "completions bash: {stderr}");
        let path = home.path().join("kreflect.bash");
        std::fs::write(&path, script).expect("write the script");
        let cwd = home.path().join("cwd");
        std::fs::create_dir(&cwd).expect("cwd");
        for file in [
            "shop-notes.txt",
            "staging.yaml",
            "prod.kubeconfig",
            "default",
        ] {
            std::fs::write(cwd.join(file), "").expect("a file");
        }
        Bash { home, script: path }
    }

    fn cache_home(&self) -> PathBuf {
        self.home.path().join("cache")
    }

    /// Completes the last of `words` (the command line up to the cursor, `kreflect` first) as
    /// bash does on TAB, with `env` added to a clean environment.
    async fn complete(&self, words: &[&str], env: &[(&str, &str)]) -> Completed {
        let program = r#"
source "$1" || exit 90
shift
complete -p kreflect > /dev/null || exit 91
COMP_WORDS=("$@")
COMP_CWORD=$(( $# - 1 ))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMP_TYPE=9
_clap_complete_kreflect kreflect "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
for candidate in "${COMPREPLY[@]}"; do printf '%s\n' "$candidate"; done
"#;
        let mut command = Command::new("bash");
        command
            .arg("-c")
            .arg(program)
            .arg("bash")
            .arg(&self.script)
            .args(words)
            .current_dir(self.home.path().join("cwd"))
            .env_clear()
            .env("HOME", self.home.path())
            .env("XDG_CACHE_HOME", self.cache_home())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let started = Instant::now();
        let output = tokio::time::timeout(DEADLINE, command.output())
            .await
            .unwrap_or_else(|_| panic!("completing {words:?} did not end"))
            .expect("bash runs");
        let elapsed = started.elapsed();
        let stdout = String::from_utf8(output.stdout).expect("utf-8");
        let stderr = String::from_utf8(output.stderr).expect("utf-8");
        assert!(
            output.status.success(),
            "completing {words:?}: bash exited {:?}; stdout {stdout:?}, stderr {stderr:?}",
            output.status
        );
        let mut candidates: Vec<String> = stdout.lines().map(str::to_owned).collect();
        candidates.sort();
        Completed {
            candidates,
            stderr,
            elapsed,
        }
    }

    /// [`Bash::complete`] with the cluster's kubeconfig given by `--kubeconfig` on the line.
    async fn complete_on(&self, cluster: &TestCluster, words: &[&str]) -> Completed {
        let kubeconfig = cluster.kubeconfig_path();
        let mut all = vec!["kreflect", "--kubeconfig", path_str(&kubeconfig)];
        all.extend_from_slice(&words[1..]);
        self.complete(&all, &[]).await
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[track_caller]
fn assert_candidates(completed: &Completed, expected: &[&str], context: &str) {
    assert_eq!(
        completed.candidates, expected,
        "{context}: candidates (stderr {:?})",
        completed.stderr
    );
    assert_eq!(completed.stderr, "", "{context}: stderr");
}

/// The discovery requests the server has received (`/api`, `/api/v1`, `/apis`, `/apis/...`).
fn discovery_requests(cluster: &TestCluster) -> usize {
    cluster
        .requests()
        .iter()
        .filter(|request| request.path == "/api/v1" || request.path.starts_with("/apis"))
        .count()
}

fn create_namespaces(cluster: &TestCluster, names: &[&str]) {
    let namespaces = cluster.server.resource("namespaces").expect("namespaces");
    for name in names {
        namespaces.create_object(json!({ "metadata": { "name": name } }));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_complete_from_discovery_as_kubectl_names_them() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let bash = Bash::new().await;
    for (word, expected) in [
        ("po", &["pods"][..]),
        ("deploy", &["deployments.apps"]),
        ("wid", &["widgets.example.dev"]),
        ("n", &["namespaces", "nodes"]),
        // A short name no full name starts with is offered as it is.
        ("svc", &["svc"]),
        // After a comma, the last name completes and the rest is kept.
        ("pods,de", &["pods,deployments.apps"]),
    ] {
        let completed = bash.complete_on(&cluster, &["kreflect", word]).await;
        assert_candidates(&completed, expected, word);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_is_cached_on_disk_until_its_ttl_expires() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let bash = Bash::new().await;
    let first = bash.complete_on(&cluster, &["kreflect", "po"]).await;
    assert_candidates(&first, &["pods"], "first");
    let after_first = discovery_requests(&cluster);
    assert!(after_first > 0, "the first completion asked the server");

    let second = bash.complete_on(&cluster, &["kreflect", "dep"]).await;
    assert_candidates(&second, &["deployments.apps"], "second, from the cache");
    assert_eq!(
        discovery_requests(&cluster),
        after_first,
        "the second completion was served from the cache: {:?}",
        cluster.requests()
    );

    let cache = bash
        .cache_home()
        .join("kreflect/discovery")
        .join(format!("127.0.0.1_{}", cluster.server.addr().port()))
        .join("resources.json");
    let file = std::fs::File::options()
        .write(true)
        .open(&cache)
        .unwrap_or_else(|err| panic!("the cache file {}: {err}", cache.display()));
    file.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .expect("age the cache");
    let third = bash.complete_on(&cluster, &["kreflect", "no"]).await;
    assert_candidates(&third, &["nodes"], "third, after the TTL");
    assert!(
        discovery_requests(&cluster) > after_first,
        "an expired cache is fetched again"
    );

    std::fs::write(&cache, "{not json").expect("corrupt the cache");
    let fourth = bash.complete_on(&cluster, &["kreflect", "svc"]).await;
    assert_candidates(&fourth, &["svc"], "a corrupt cache is ignored");
}

/// A custom resource installed after the cache was written (issue 22): a word the cache has no
/// candidate for asks the server again, as kubectl's completion does; one it has does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_the_fresh_cache_lacks_is_asked_of_the_server() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let bash = Bash::new().await;
    let first = bash.complete_on(&cluster, &["kreflect", "po"]).await;
    assert_candidates(&first, &["pods"], "first");
    let cache = bash
        .cache_home()
        .join("kreflect/discovery")
        .join(format!("127.0.0.1_{}", cluster.server.addr().port()))
        .join("resources.json");
    // The cache as it was before deployments were served: fresh, without them.
    let mut cached: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cache).expect("the cache")).expect("JSON");
    let resources = cached["resources"].as_array_mut().expect("resources");
    let before = resources.len();
    resources.retain(|resource| !resource.to_string().contains("deployments"));
    assert!(
        resources.len() < before,
        "deployments were cached: {cached}"
    );
    std::fs::write(&cache, cached.to_string()).expect("the older cache");

    let asked = discovery_requests(&cluster);
    let hit = bash.complete_on(&cluster, &["kreflect", "no"]).await;
    assert_candidates(&hit, &["nodes"], "a word the cache has");
    assert_eq!(discovery_requests(&cluster), asked, "served from the cache");
    let miss = bash.complete_on(&cluster, &["kreflect", "dep"]).await;
    assert_candidates(&miss, &["deployments.apps"], "a word the cache lacks");
    assert!(
        discovery_requests(&cluster) > asked,
        "asked the server again"
    );
    let cached = std::fs::read_to_string(&cache).expect("the cache");
    assert!(
        cached.contains("deployments"),
        "the cache now has them: {cached}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_complete_from_the_cluster_and_never_as_file_names() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    create_namespaces(&cluster, &["default", "shop", "staging"]);
    let bash = Bash::new().await;
    for (words, expected) in [
        (
            &["kreflect", "pods", "-n", "s"][..],
            &["shop", "staging"][..],
        ),
        (
            &["kreflect", "pods", "--namespace", ""],
            &["default", "shop", "staging"],
        ),
        (&["kreflect", "-n", "d"], &["default"]),
        (&["kreflect", "-n", "x"], &[]),
    ] {
        let completed = bash.complete_on(&cluster, words).await;
        assert_candidates(&completed, expected, &words.join(" "));
    }
}

/// A kubeconfig with contexts `dead` (current; a port nothing listens on), `good` (the fake
/// server) and `prod-eu`.
fn kubeconfig_with_contexts(cluster: &TestCluster) -> PathBuf {
    let text = format!(
        r#"apiVersion: v1
kind: Config
current-context: dead
clusters:
- name: sim
  cluster: {{server: "{url}"}}
- name: nowhere
  cluster: {{server: "http://127.0.0.1:1"}}
users:
- name: u
  user: {{}}
contexts:
- name: dead
  context: {{cluster: nowhere, user: u}}
- name: good
  context: {{cluster: sim, user: u}}
- name: prod-eu
  context: {{cluster: nowhere, user: u}}
"#,
        url = cluster.server.url()
    );
    cluster.write_kubeconfig("contexts.yaml", &text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contexts_complete_from_the_kubeconfig_and_the_context_on_the_line_is_used() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    create_namespaces(&cluster, &["shop"]);
    let kubeconfig = kubeconfig_with_contexts(&cluster);
    let path = path_str(&kubeconfig);
    let bash = Bash::new().await;

    let on_line = &["kreflect", "--kubeconfig", path, "--context", ""];
    let completed = bash.complete(on_line, &[]).await;
    assert_candidates(&completed, &["dead", "good", "prod-eu"], "--kubeconfig");
    let completed = bash.complete(&["kreflect", "--context", "p"], &[]).await;
    assert_candidates(&completed, &[], "no kubeconfig anywhere: nothing, no files");

    // $KUBECONFIG lists files merged as kubectl does: the missing one is skipped.
    let list = format!(
        "/nonexistent/kubeconfig:{path}:{}",
        cluster.kubeconfig_path().display()
    );
    let env = [("KUBECONFIG", list.as_str())];
    let completed = bash.complete(&["kreflect", "--context", "s"], &env).await;
    assert_candidates(&completed, &["sim"], "$KUBECONFIG, second file");
    let completed = bash.complete(&["kreflect", "--context", "pr"], &env).await;
    assert_candidates(&completed, &["prod-eu"], "$KUBECONFIG, first file");

    // Namespaces come from the context on the line, not the current one (which is dead).
    let words = &["kreflect", "--context", "good", "-n", ""];
    let completed = bash.complete(words, &env).await;
    assert_candidates(&completed, &["shop"], "--context good -n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_formats_complete_with_kreflects_own_and_kubectls_templates() {
    let bash = Bash::new().await;
    let completed = bash.complete(&["kreflect", "pods", "-o", ""], &[]).await;
    let formats = [
        "custom-columns=",
        "json",
        "jsonpath=",
        "keys",
        "name",
        "wide",
    ];
    assert_candidates(&completed, &formats, "-o");
    let completed = bash
        .complete(&["kreflect", "pods", "--output", "w"], &[])
        .await;
    assert_candidates(&completed, &["wide"], "--output w");
}

#[cfg(feature = "sim")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_sim_on_the_line_the_simulated_cluster_completes_without_a_network() {
    let bash = Bash::new().await;
    let completed = bash.complete(&["kreflect", "--sim", "wid"], &[]).await;
    assert_candidates(&completed, &["widgets.example.dev"], "--sim wid");
    let completed = bash.complete(&["kreflect", "--sim", "al"], &[]).await;
    assert_candidates(&completed, &["all"], "--sim al");
    let completed = bash
        .complete(&["kreflect", "--sim", "pods", "w"], &[])
        .await;
    assert_candidates(&completed, &[], "--sim pods w: no objects before it runs");
    let completed = bash
        .complete(&["kreflect", "pods", "--sim", "-n", ""], &[])
        .await;
    assert_candidates(
        &completed,
        &["default", "monitoring", "payments", "shop"],
        "--sim -n",
    );
    // After a comma, the namespaces not named yet, after the ones named.
    let completed = bash
        .complete(&["kreflect", "pods", "--sim", "-n", "shop,"], &[])
        .await;
    assert_candidates(
        &completed,
        &["shop,default", "shop,monitoring", "shop,payments"],
        "--sim -n shop,",
    );
    let completed = bash
        .complete(&["kreflect", "pods", "--sim", "-n", "shop,s"], &[])
        .await;
    assert_candidates(&completed, &[], "--sim -n shop,s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_completes_nothing_quickly_and_silently() {
    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let held = std::thread::spawn(move || {
        let mut connections = Vec::new();
        for stream in listener.incoming().take(8) {
            connections.push(stream);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let home = tempfile::tempdir().expect("temp dir");
    let kubeconfig = home.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  \
             cluster: {{server: \"http://127.0.0.1:{port}\"}}\nusers:\n- name: u\n  user: {{}}\n\
             contexts:\n- name: c\n  context: {{cluster: c, user: u}}\n"
        ),
    )
    .expect("kubeconfig");
    let bash = Bash::new().await;
    let env = [("KUBECONFIG", path_str(&kubeconfig))];
    for words in [
        &["kreflect", "po"][..],
        &["kreflect", "pods", "-n", ""],
        &["kreflect", "pods", "w"],
        &["kreflect", "pod/w"],
    ] {
        let completed = bash.complete(words, &env).await;
        assert_candidates(&completed, &[], &words.join(" "));
        // The deadline is 2 s; the rest is slack for bash, the process and a loaded machine.
        assert!(
            completed.elapsed < Duration::from_secs(5),
            "{words:?} took {:?}",
            completed.elapsed
        );
    }
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_completions_subcommand_prints_what_complete_env_prints() {
    let home = tempfile::tempdir().expect("temp dir");
    for shell in ["bash", "zsh", "fish"] {
        let (status, subcommand, _) =
            run_to_end(kreflect_command(&["completions", shell], home.path())).await;
        assert!(status.success(), "{shell}");
        let mut command = kreflect_command(&[], home.path());
        command.env("COMPLETE", shell);
        let (status, from_env, stderr) = run_to_end(command).await;
        assert!(status.success(), "COMPLETE={shell}: {stderr}");
        assert_eq!(subcommand, from_env, "{shell}");
        assert!(subcommand.contains("COMPLETE"), "{shell}: {subcommand}");
        assert!(
            subcommand.contains(env!("CARGO_BIN_EXE_kreflect")),
            "{shell}"
        );
    }
}

/// kubectl (v1.26+) completes `kubectl reflect ...` by running `kubectl_complete-reflect` from
/// the PATH with the words after `reflect`: candidates one a line, then `:4` (no file names).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_kubectl_complete_reflect_it_answers_kubectls_plugin_completion() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    create_namespaces(&cluster, &["shop", "staging"]);
    let pods = cluster.server.resource("pods").expect("pods");
    pods.create_object(json!({ "metadata": { "name": "web-1", "namespace": "shop" } }));
    let bash = Bash::new().await;
    let link = bash.home.path().join("kubectl_complete-reflect");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kreflect"), &link).expect("link");
    let kubeconfig = cluster.kubeconfig_path();
    for (words, expected) in [
        (&["po"][..], "pods\n:4\n"),
        (&["pods", "-n", "sh"], "shop\n:4\n"),
        (&["pods", "-n", "x"], ":4\n"),
        (&["pods", "-o", "j"], "json\njsonpath=\n:4\n"),
        (&["pods", "-n", "shop", "w"], "web-1\n:4\n"),
        (&["pod/"], "pod/web-1\n:4\n"),
    ] {
        let mut command = Command::new(&link);
        command
            .args(words)
            .current_dir(bash.home.path().join("cwd"))
            .env_clear()
            .env("HOME", bash.home.path())
            .env("XDG_CACHE_HOME", bash.cache_home())
            .env("KUBECONFIG", &kubeconfig)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let (status, stdout, stderr) = run_to_end(command).await;
        assert!(status.success(), "{words:?}: {stderr}");
        assert_eq!(stdout, expected, "{words:?}");
        assert_eq!(stderr, "", "{words:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_plugin_gets_no_terminal_during_completion() {
    // On TAB, stdin and stderr are the shell's terminal: a plugin that prompts must neither
    // write into the line being edited nor read the user's keys (after the deadline it would
    // go on reading them, orphaned). kubectl's completion hangs on such a plugin
    // (kubernetes/kubectl#930).
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let log = cluster.kubeconfig_path().with_file_name("plugin.log");
    let plugin = cluster.write_script(
        "login.sh",
        &format!(
            r#"if [ -t 0 ]; then echo "stdin: terminal"; else echo "stdin: not a terminal"; fi >> {log}
echo "$KUBERNETES_EXEC_INFO" >> {log}
echo 'Password for alice:' >&2
read password
echo '{{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{{"token":"t"}}}}'
"#,
            log = log.display()
        ),
    );
    let kubeconfig = cluster.write_kubeconfig(
        "prompting",
        &format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  \
             cluster: {{server: \"{url}\"}}\nusers:\n- name: u\n  user:\n    exec:\n      \
             apiVersion: client.authentication.k8s.io/v1beta1\n      command: \"{plugin}\"\n      \
             interactiveMode: IfAvailable\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\n",
            url = cluster.server.url(),
            plugin = plugin.display()
        ),
    );
    let bash = Bash::new().await;
    let program = bash.home.path().join("complete.sh");
    std::fs::write(
        &program,
        format!(
            "source {script}\nCOMP_WORDS=(kreflect --kubeconfig {kubeconfig} po)\nCOMP_CWORD=3\n\
             COMP_LINE=\"${{COMP_WORDS[*]}}\"\nCOMP_POINT=${{#COMP_LINE}}\nCOMP_TYPE=9\n\
             _clap_complete_kreflect kreflect po --kubeconfig\n\
             printf 'candidate %s\\n' \"${{COMPREPLY[@]}}\"\n",
            script = bash.script.display(),
            kubeconfig = kubeconfig.display()
        ),
    )
    .expect("write the program");
    // util-linux `script` runs it on a pseudo-terminal: stdin, stdout and stderr are the tty.
    let mut script = Command::new("script");
    script
        .args(["-qec", &format!("bash {}", program.display()), "/dev/null"])
        .env_clear()
        .env("HOME", bash.home.path())
        .env("XDG_CACHE_HOME", bash.cache_home())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(DEADLINE, script.output())
        .await
        .expect("completion ends")
        .expect("script runs");
    let terminal = String::from_utf8_lossy(&output.stdout).into_owned();
    let plugin_saw = std::fs::read_to_string(&log).expect("the plugin ran");
    assert_eq!(
        terminal, "candidate pods\r\n",
        "the terminal; the plugin saw {plugin_saw:?}"
    );
    assert!(
        plugin_saw.starts_with("stdin: not a terminal\n")
            && plugin_saw.contains(r#""interactive":false"#),
        "{plugin_saw:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_file_that_blocks_on_read_still_completes_within_the_deadline() {
    // A fresh cache "file" that never gives its contents: a FIFO nobody writes (or a file on a
    // hung network home). Reading it must not take the completion past its deadline.
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let bash = Bash::new().await;
    let dir = bash
        .cache_home()
        .join("kreflect/discovery")
        .join(format!("127.0.0.1_{}", cluster.server.addr().port()));
    std::fs::create_dir_all(&dir).expect("cache directory");
    let status = std::process::Command::new("mkfifo")
        .arg(dir.join("resources.json"))
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo: {status:?}");
    let completed = bash.complete_on(&cluster, &["kreflect", "po"]).await;
    assert_candidates(&completed, &[], "a blocking cache");
    assert!(
        completed.elapsed < Duration::from_secs(5),
        "took {:?}",
        completed.elapsed
    );
}

/// Pods `shop/web-1`, `shop/web-2`, `staging/web-3`, `default/db-1`; service `shop/web-front`;
/// node `node-a`.
fn create_objects(cluster: &TestCluster) {
    let pods = cluster.server.resource("pods").expect("pods");
    for (namespace, name) in [
        ("shop", "web-1"),
        ("shop", "web-2"),
        ("staging", "web-3"),
        ("default", "db-1"),
    ] {
        pods.create_object(json!({ "metadata": { "name": name, "namespace": namespace } }));
    }
    let services = cluster.server.resource("services").expect("services");
    services.create_object(json!({ "metadata": { "name": "web-front", "namespace": "shop" } }));
    let nodes = cluster.server.resource("nodes").expect("nodes");
    nodes.create_object(json!({ "metadata": { "name": "node-a" } }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_type_object_names_complete_from_the_cluster() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    create_objects(&cluster);
    let bash = Bash::new().await;
    for (words, expected) in [
        // Without -n, the names of every namespace: the objects the run would watch.
        (
            &["kreflect", "pods", ""][..],
            &["db-1", "web-1", "web-2", "web-3"][..],
        ),
        (&["kreflect", "po", "-n", "shop", "w"], &["web-1", "web-2"]),
        (
            &["kreflect", "-o", "wide", "pods", "--namespace=staging", ""],
            &["web-3"],
        ),
        // Names already on the line are not offered again.
        (&["kreflect", "pods", "web-1", "web-"], &["web-2", "web-3"]),
        // A cluster-scoped type ignores -n, as the run does.
        (&["kreflect", "nodes", "-n", "shop", ""], &["node-a"]),
        // Several types, or a category: the names of each, as `kubectl get pods,svc` lists.
        (
            &["kreflect", "pods,svc", "web-"],
            &["web-1", "web-2", "web-3", "web-front"],
        ),
        (
            &["kreflect", "all", "-n", "shop", ""],
            &["web-1", "web-2", "web-front"],
        ),
        // A type the server does not serve: nothing.
        (&["kreflect", "nope", ""], &[]),
    ] {
        let mut completed = bash.complete_on(&cluster, words).await;
        // On an empty word clap's engine offers the flags too, and after a flag's value its
        // subcommands (a quirk of the engine, not of kreflect's candidates).
        completed
            .candidates
            .retain(|word| !word.starts_with("--") && !["completions", "help"].contains(&&**word));
        assert_candidates(&completed, expected, &words.join(" "));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn type_slash_name_completes_the_name_from_the_cluster() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    create_objects(&cluster);
    let bash = Bash::new().await;
    for (words, expected) in [
        (
            &["kreflect", "pod/w"][..],
            &["pod/web-1", "pod/web-2", "pod/web-3"][..],
        ),
        (&["kreflect", "svc/"], &["svc/web-front"]),
        // After a TYPE/NAME, the next word is a TYPE/ too (bash adds no space after the `/`).
        (&["kreflect", "pod/web-1", "pod"], &["pods/"]),
        (
            &["kreflect", "pod/web-1", "-n", "shop", "pod/"],
            &["pod/web-2"],
        ),
        (&["kreflect", "nope/"], &[]),
    ] {
        let completed = bash.complete_on(&cluster, words).await;
        assert_candidates(&completed, expected, &words.join(" "));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn categories_complete_with_the_resources_from_the_cache_too() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let bash = Bash::new().await;
    let completed = bash.complete_on(&cluster, &["kreflect", "a"]).await;
    assert_candidates(&completed, &["all"], "a");
    let asked = discovery_requests(&cluster);
    let completed = bash.complete_on(&cluster, &["kreflect", "pods,a"]).await;
    assert_candidates(&completed, &["pods,all"], "pods,a, from the cache");
    let completed = bash.complete_on(&cluster, &["kreflect", ""]).await;
    assert!(
        completed.candidates.contains(&"all".to_owned()),
        "{completed:?}"
    );
    assert_eq!(discovery_requests(&cluster), asked, "served from the cache");
}

/// `kreflect completions bash | head -1`: a reader that stops reading is no failure (exit 0,
/// nothing on stderr); a stdout that cannot be written for another reason (a full disk) is one
/// (exit 1, one line saying so).
#[tokio::test]
async fn a_completion_script_to_a_closed_pipe_succeeds_and_to_a_full_disk_fails() {
    let home = tempfile::tempdir().expect("temp dir");
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let mut command = kreflect_command(&["completions", "bash"], home.path());
    command.stdout(writer);
    // `spawn`, not `output`: tokio's `output` would pipe stdout whatever was set.
    let closed = command.spawn().expect("kreflect runs");
    let closed = closed.wait_with_output().await.expect("kreflect ends");
    let stderr = String::from_utf8_lossy(&closed.stderr);
    assert_eq!(closed.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");

    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let mut command = kreflect_command(&["completions", "bash"], home.path());
    command.stdout(full);
    let failed = command.spawn().expect("kreflect runs");
    let failed = failed.wait_with_output().await.expect("kreflect ends");
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("kreflect: cannot write the completion script: ")
            && stderr.lines().count() == 1,
        "{stderr}"
    );
}
