//! kreflect as the kubectl plugin `kubectl reflect`: installed (here, symlinked) as
//! `kubectl-reflect`, it names itself `kubectl reflect` in help and usage errors, and finds the
//! cluster through what kubectl hands a plugin: its environment (`KUBECONFIG`) and the arguments
//! after the plugin's name. kubectl exports nothing for its own flags; it refuses them before a
//! plugin's name.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use crate::harness::{TestCluster, run_to_end};

/// A directory holding `kubectl-reflect`, a symlink to the binary under test (as the README
/// installs it), and serving as HOME (no `~/.kube/config` in it).
struct Plugin {
    dir: tempfile::TempDir,
}

impl Plugin {
    fn install() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::os::unix::fs::symlink(
            env!("CARGO_BIN_EXE_kreflect"),
            dir.path().join("kubectl-reflect"),
        )
        .expect("symlink kubectl-reflect");
        Plugin { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("kubectl-reflect")
    }

    /// Runs it as kubectl does (the executable's full path as argv[0]) with ARGS, in a clean
    /// environment plus `KUBECONFIG` when given.
    async fn run(&self, args: &[&str], kubeconfig: Option<&Path>) -> (i32, String, String) {
        let mut command = Command::new(self.path());
        command
            .args(args)
            .env_clear()
            .env("HOME", self.dir.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if let Some(kubeconfig) = kubeconfig {
            command.env("KUBECONFIG", kubeconfig);
        }
        let (status, stdout, stderr) = run_to_end(command).await;
        eprintln!("kubectl-reflect {args:?}: {status}\nstdout:\n{stdout}\nstderr:\n{stderr}");
        (status.code().expect("exit code"), stdout, stderr)
    }
}

#[tokio::test]
async fn help_names_the_command_kubectl_reflect() {
    let plugin = Plugin::install();
    let (code, stdout, _) = plugin.run(&["--help"], None).await;
    assert_eq!(code, 0);
    assert!(stdout.contains("Usage: kubectl reflect [OPTIONS] <RESOURCE>"));
    assert!(
        stdout.contains("\n  kubectl reflect pods --once | grep -c .\n"),
        "the examples name the command as run: {stdout}"
    );
    assert!(!stdout.contains("kubectl-reflect"));
    assert!(!stdout.contains("  kreflect pods"), "{stdout}");
}

#[tokio::test]
async fn usage_errors_name_the_command_kubectl_reflect() {
    let plugin = Plugin::install();
    for args in [
        &["pods", "--no-such-flag"][..],
        &["pods", "--diff", "-o", "json"],
    ] {
        let (code, stdout, stderr) = plugin.run(args, None).await;
        assert_eq!((code, stdout.as_str()), (2, ""), "{args:?}");
        assert!(stderr.contains("\nUsage: kubectl reflect "), "{args:?}");
        assert!(!stderr.contains("kubectl-reflect"), "{args:?}");
    }
}

#[tokio::test]
async fn the_cluster_comes_from_kubeconfig_in_the_environment() {
    let cluster = TestCluster::with_pods(&["shop/web-1", "kube-system/dns"]).await;
    let plugin = Plugin::install();
    let (code, stdout, _) = plugin
        .run(&["pods", "--once"], Some(&cluster.kubeconfig_path()))
        .await;
    assert_eq!(code, 0);
    assert_eq!(stdout, "kube-system/dns\nshop/web-1\n\n");
    assert!(
        !cluster.list_requests().is_empty(),
        "the fake server was not asked"
    );
}
