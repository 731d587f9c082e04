//! Half-open connections: the real binary reaches the fake API server through a TCP proxy that
//! freezes its connections (no bytes either way, nothing closed), as a frozen NAT, load
//! balancer or proxy does. The reflector must notice a dead watch within 60 s of the freeze and
//! print the server's truth again within 90 s, with the product's default timeouts.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use kreflect_sim::Fault;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::proxy::freeze::FreezeProxy;
use crate::harness::{Running, TestCluster, strings};

/// The budget: a dead watch is noticed within this long of the freeze...
const NOTICE: Duration = Duration::from_secs(60);
/// ...and the cache is right again within this long.
const CONVERGE: Duration = Duration::from_secs(90);

const PODS: &[&str] = &["shop/web-1", "shop/web-2", "default/db-0"];

/// A cluster with [`PODS`], a freezing proxy in front of it, and kreflect running through the
/// proxy, its first listing read.
async fn synced_through_proxy(fault: Option<Fault>) -> (TestCluster, FreezeProxy, Running) {
    let cluster = TestCluster::with_pods(PODS).await;
    if let Some(fault) = fault {
        cluster.server.inject(fault);
    }
    let proxy = FreezeProxy::start(cluster.server.addr()).await;
    let proxied = cluster
        .server
        .kubeconfig()
        .replace(&cluster.server.url(), &format!("http://{}", proxy.addr()));
    assert_ne!(
        proxied,
        cluster.server.kubeconfig(),
        "kubeconfig names the proxy"
    );
    let kubeconfig = cluster.write_kubeconfig("through-proxy", &proxied);
    let mut kreflect =
        Running::spawn(cluster.kreflect_with_kubeconfig(&kubeconfig, &["--interval", "500ms"]));
    assert_eq!(
        kreflect.next_listing().await,
        strings(&["default/db-0", "shop/web-1", "shop/web-2"])
    );
    (cluster, proxy, kreflect)
}

/// Adds and deletes pods while the client's connection is frozen.
fn churn(cluster: &TestCluster) {
    let pods = cluster.server.cluster();
    pods.create_pod("shop", "web-3");
    pods.create_pod("default", "db-1");
    pods.delete_pod("shop", "web-1").expect("web-1 exists");
    pods.delete_pod("default", "db-0").expect("db-0 exists");
}

fn remaining(budget: Duration, since: Instant) -> Duration {
    budget.saturating_sub(since.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_watch_frozen_by_a_proxy_is_declared_dead_within_60s_and_the_cache_converges_within_90s()
 {
    let (cluster, proxy, mut kreflect) = synced_through_proxy(None).await;
    cluster
        .wait_for_request("the watch", |r| {
            r.path.ends_with("/pods") && r.is_plain_watch()
        })
        .await;
    assert!(proxy.freeze() >= 1, "the watch's connection is frozen");
    let frozen = Instant::now();
    churn(&cluster);
    let truth = cluster.server.cluster().keys();

    // The freeze may catch the watch open and silent ("watch is dead" at its deadline), or the
    // next watch request just sent on the same connection (no headers within 20 s).
    let either = ["watch is dead", "no response headers"];
    notices_then_converges(&mut kreflect, frozen, &truth, &either).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_sent_on_a_frozen_pooled_connection_gives_up_on_it_and_converges_within_90s() {
    // The first watch is refused with Retry-After: its connection goes back to the client's
    // pool, idle, and is frozen there; the retried watch is sent on it and gets no answer.
    let refused = Fault::WatchStatus {
        code: 429,
        reason: "TooManyRequests".into(),
        retry_after: Some(2),
    };
    let (cluster, proxy, mut kreflect) = synced_through_proxy(Some(refused)).await;
    kreflect
        .wait_for_stderr("the refused watch", |line| {
            line.contains("WARN") && line.contains("429")
        })
        .await;
    assert!(proxy.freeze() >= 1, "the pooled connection is frozen");
    let frozen = Instant::now();
    churn(&cluster);
    let truth = cluster.server.cluster().keys();

    notices_then_converges(&mut kreflect, frozen, &truth, &["no response headers"]).await;
}

/// Waits for a WARN line containing one of `warnings` within [`NOTICE`] of `frozen`, then for
/// a listing equal to `truth` within [`CONVERGE`] of it, and prints both times.
async fn notices_then_converges(
    kreflect: &mut Running,
    frozen: Instant,
    truth: &[String],
    warnings: &[&str],
) {
    let warning = warnings.join(" or ");
    kreflect
        .wait_for_stderr_lines_within(remaining(NOTICE, frozen), &warning, 1, |line| {
            line.contains("WARN") && warnings.iter().any(|warning| line.contains(warning))
        })
        .await;
    let noticed = frozen.elapsed();
    kreflect
        .wait_for_listing_within(remaining(CONVERGE, frozen), truth)
        .await;
    eprintln!(
        "{warning}: noticed after {:.1} s, cache right after {:.1} s; stderr:\n{}",
        noticed.as_secs_f64(),
        frozen.elapsed().as_secs_f64(),
        kreflect.stderr_so_far()
    );
}

/// The measurement behind not relying on TCP keep-alive: probes are answered by the frozen
/// proxy's own TCP stack, so a connection through it never fails, however short the keep-alive
/// timings (here a silent peer would be declared dead after 1 s + 2 x 1 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_keepalive_probes_cannot_see_a_frozen_proxy() {
    let upstream = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let upstream_addr = upstream.local_addr().expect("address");
    let echo = tokio::spawn(async move {
        let (mut socket, _) = upstream.accept().await.expect("accept");
        let mut buf = [0_u8; 64];
        while let Ok(n @ 1..) = socket.read(&mut buf).await {
            if socket.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
    let proxy = FreezeProxy::start(upstream_addr).await;
    let mut client = TcpStream::connect(proxy.addr()).await.expect("connect");
    set_keepalive(&client, 1, 1, 2);
    let mut buf = [0_u8; 4];
    client.write_all(b"ping").await.expect("write");
    client
        .read_exact(&mut buf)
        .await
        .expect("echo through the proxy");

    assert_eq!(proxy.freeze(), 1);
    client
        .write_all(b"ping")
        .await
        .expect("write into the frozen proxy");
    let waited = Duration::from_secs(8);
    let read = tokio::time::timeout(waited, client.read(&mut buf)).await;
    assert!(
        read.is_err(),
        "keep-alive (idle 1 s, interval 1 s, 2 probes) should not end a connection whose proxy \
         froze: its kernel answers the probes; got {read:?}"
    );
    assert_eq!(
        socket_error(&client),
        0,
        "no error on the socket after {waited:?}"
    );
    let info = tcp_info(&client);
    assert_eq!(info.tcpi_probes, 0, "no keep-alive probe went unanswered");
    assert!(
        info.tcpi_last_ack_recv < 2_000,
        "nothing was sent for {waited:?}, yet the proxy acknowledged a keep-alive probe {} ms \
         ago",
        info.tcpi_last_ack_recv
    );
    echo.abort();
}

/// SO_KEEPALIVE with TCP_KEEPIDLE / TCP_KEEPINTVL seconds and TCP_KEEPCNT probes.
fn set_keepalive(socket: &TcpStream, idle: i32, interval: i32, count: i32) {
    let fd = socket.as_raw_fd();
    for (level, name, value) in [
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1),
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, idle),
        (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, interval),
        (libc::IPPROTO_TCP, libc::TCP_KEEPCNT, count),
    ] {
        // SAFETY: `fd` is an open socket owned by `socket`, and `value` lives across the call
        // with the length given.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                std::ptr::from_ref(&value).cast(),
                std::mem::size_of::<i32>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "setsockopt({level}, {name}, {value})");
    }
}

/// The socket's pending error (SO_ERROR); 0 when none.
fn socket_error(socket: &TcpStream) -> i32 {
    let mut error: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: `error` and `len` outlive the call and describe a buffer of `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            std::ptr::from_mut(&mut error).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "getsockopt(SO_ERROR)");
    error
}

/// The kernel's TCP_INFO for the socket.
fn tcp_info(socket: &TcpStream) -> libc::tcp_info {
    // SAFETY: tcp_info is plain integers; all zeroes is a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` and `len` outlive the call and describe a buffer of `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            std::ptr::from_mut(&mut info).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "getsockopt(TCP_INFO)");
    info
}
