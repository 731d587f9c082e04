//! The binary allocates with jemalloc, told to give freed pages back after 1 s (src/allocator.rs):
//! its memory under churn depends on it (docs/performance.md, "Memory under churn").

#[test]
fn the_binary_allocates_with_jemalloc_returning_freed_pages_after_a_second() {
    // jemalloc prints its statistics, options included, at exit when asked through its
    // environment variable; glibc's malloc would print nothing.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kreflect"))
        .arg("--version")
        .env("_RJEM_MALLOC_CONF", "stats_print:true")
        .output()
        .expect("kreflect runs");
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for option in ["opt.dirty_decay_ms: 1000 (", "opt.muzzy_decay_ms: 0 ("] {
        assert!(stderr.contains(option), "no {option:?} in: {stderr}");
    }
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("kreflect {}\n", env!("CARGO_PKG_VERSION"))
    );
}
