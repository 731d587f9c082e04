//! `--sim`, the README's first command, end to end through the binary: with the default feature
//! `sim` it lists the simulated cluster; built with `--no-default-features` it says this build
//! has none. No other test runs it, so without this one a broken `--sim` would pass CI.

use crate::harness::{assert_one_line, kreflect_command, run_to_end};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_once_lists_the_simulated_cluster_or_says_this_build_has_none() {
    let home = tempfile::tempdir().expect("temp dir");
    let (status, stdout, stderr) =
        run_to_end(kreflect_command(&["pods", "--sim", "--once"], home.path())).await;
    if cfg!(feature = "sim") {
        assert!(status.success(), "exit {status:?}, stderr: {stderr}");
        let keys: Vec<&str> = stdout.lines().filter(|line| !line.is_empty()).collect();
        // Four namespaces of six pods at start; the churn may have added or deleted a few.
        assert!(
            (20..=28).contains(&keys.len()),
            "{} keys:\n{stdout}",
            keys.len()
        );
        for namespace in ["default", "monitoring", "payments", "shop"] {
            let prefix = format!("{namespace}/");
            assert!(
                keys.iter().any(|key| key.starts_with(&prefix)),
                "no pod in {namespace}:\n{stdout}"
            );
        }
        assert!(keys.is_sorted(), "keys out of order:\n{stdout}");
    } else {
        assert_eq!(status.code(), Some(1), "stderr: {stderr}");
        assert_eq!(stdout, "");
        assert_one_line(&stderr, "--sim without the simulator");
        assert!(stderr.contains("has no simulated cluster"), "{stderr}");
    }
}
