use futures::StreamExt;

use super::*;
use crate::cache::list_watch::StreamError;
use crate::wire::decode::WatchEvent;

#[tokio::test]
async fn a_refused_connection_names_the_server_and_says_so_in_two_words() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    drop(listener);
    let client = crate::connect::client::connect_insecure_local(
        &url,
        &crate::connect::client::ClientOptions::default(),
    )
    .expect("client");
    let endpoint = Endpoint::new(&url, Some("context prod"));
    let err = fetch(&client, &endpoint, "/api/v1", &RequestDeadline::default())
        .await
        .expect_err("nothing listens");
    assert_eq!(
        err.to_string(),
        format!("cannot reach {url} (context prod): connection refused")
    );
}

#[tokio::test(start_paused = true)]
async fn a_watch_without_response_headers_gives_up_its_connection_after_20_s() {
    let (url, server) = stalling_server("").await;
    let client = crate::connect::client::connect_insecure_local(
        &url,
        &crate::connect::client::ClientOptions::default(),
    )
    .expect("client");
    let source = KubeSource::pods(client, None);
    let started = tokio::time::Instant::now();
    let request = WatchRequest {
        resource_version: "1".into(),
        timeout_seconds: 45,
        send_initial_events: false,
    };
    match source.watch(request).await {
        Err(SourceError::Transport { reason, .. }) => {
            assert!(
                reason.contains("no response headers within 20 s"),
                "{reason}"
            );
        }
        Err(other) => panic!("expected a transport error, got {other}"),
        Ok(_) => panic!("expected a transport error, got a stream"),
    }
    assert_eq!(started.elapsed(), WATCH_HEADERS_TIMEOUT);
    server.abort();
}

#[tokio::test(start_paused = true)]
async fn a_list_without_response_headers_gives_up_at_the_servers_own_request_timeout() {
    let (url, server) = stalling_server("").await;
    let client = crate::connect::client::connect_insecure_local(
        &url,
        &crate::connect::client::ClientOptions::default(),
    )
    .expect("client");
    let source = KubeSource::pods(client, None);
    let started = tokio::time::Instant::now();
    let err = source
        .list(ListRequest::default())
        .await
        .expect_err("no answer");
    assert!(
        matches!(&err, SourceError::Transport { reason, .. } if reason.contains("within 60 s")),
        "{err}"
    );
    assert_eq!(started.elapsed(), LIST_HEADERS_TIMEOUT);
    server.abort();
}

/// A server that answers each request with `head` (status line, headers and the start of a
/// body; nothing at all when empty), then sends nothing more: a connection frozen before or
/// in the middle of a response.
async fn stalling_server(head: &'static str) -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0; 4096];
            let _ = socket.read(&mut request).await;
            let _ = socket.write_all(head.as_bytes()).await;
            held.push(socket);
        }
    });
    (url, task)
}

#[tokio::test(start_paused = true)]
async fn a_list_whose_body_stops_gives_up_its_connection_after_60_s_of_silence() {
    let (url, server) = stalling_server(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"kind\":\"PodList\",",
    )
    .await;
    let client = crate::connect::client::connect_insecure_local(
        &url,
        &crate::connect::client::ClientOptions::default(),
    )
    .expect("client");
    let source = KubeSource::pods(client, None);
    let started = tokio::time::Instant::now();
    let err = source
        .list(ListRequest::default())
        .await
        .expect_err("no answer");
    assert!(
        matches!(&err, SourceError::Transport { reason, .. } if reason.contains("60 s")),
        "{err}"
    );
    assert_eq!(started.elapsed(), LIST_HEADERS_TIMEOUT);
    server.abort();
}

#[tokio::test(start_paused = true)]
async fn an_error_answer_whose_body_stops_gives_up_after_60_s_of_silence() {
    let (url, server) = stalling_server(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"kind\":",
    )
    .await;
    let client = crate::connect::client::connect_insecure_local(
        &url,
        &crate::connect::client::ClientOptions::default(),
    )
    .expect("client");
    let started = tokio::time::Instant::now();
    let err = fetch(
        &client,
        &Endpoint::default(),
        "/apis",
        &RequestDeadline::default(),
    )
    .await
    .expect_err("no answer");
    assert!(
        matches!(&err, SourceError::Status { status, .. } if status.code == 503),
        "{err}"
    );
    assert_eq!(started.elapsed(), LIST_HEADERS_TIMEOUT);
    server.abort();
}

/// A server that answers each request with a 200 JSON response of `body`, its headers at
/// once, then its body `piece` bytes at a time, one piece every `every`: a link, proxy or
/// server that trickles.
async fn trickling_server(
    body: Vec<u8>,
    piece: usize,
    every: Duration,
) -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let body = Arc::new(body);
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = Arc::clone(&body);
            tokio::spawn(async move {
                let mut request = [0; 4096];
                let _ = socket.read(&mut request).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                for chunk in body.chunks(piece) {
                    if socket.write_all(chunk).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(every).await;
                }
            });
        }
    });
    (url, task)
}

/// A pod list of `pods` pods of about `each` bytes.
fn big_pod_list(pods: usize, each: usize) -> Vec<u8> {
    let items: Vec<String> = (0..pods)
        .map(|i| {
            format!(
                r#"{{"metadata":{{"name":"p-{i}","namespace":"n","resourceVersion":"1","annotations":{{"a":"{}"}}}}}}"#,
                "x".repeat(each)
            )
        })
        .collect();
    format!(
        r#"{{"kind":"PodList","apiVersion":"v1","metadata":{{"resourceVersion":"1"}},"items":[{}]}}"#,
        items.join(",")
    )
    .into_bytes()
}

#[tokio::test(start_paused = true)]
async fn a_list_trickling_a_byte_a_second_gives_up_after_a_minute_naming_the_server() {
    let (url, server) = trickling_server(big_pod_list(500, 5000), 1, Duration::from_secs(1)).await;
    let endpoint = Endpoint::new(&url, Some("context slow"));
    let source = KubeSource::pods(local_client(&url), None).with_endpoint(endpoint.clone());
    let started = tokio::time::Instant::now();
    let listed = tokio::time::timeout(
        Duration::from_secs(180),
        source.list(ListRequest::default()),
    )
    .await;
    let Ok(answer) = listed else {
        panic!("still reading a 1 byte/s list after 180 s");
    };
    let err = answer.expect_err("too slow");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("{endpoint} sent its answer too slowly: ")),
        "{message}"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(60));
    server.abort();
}

#[tokio::test(start_paused = true)]
async fn a_2_5_mb_page_over_a_256_kbit_s_link_is_read_whole() {
    // 500 pods of 5 KB: 2.5 MB, 32 KB/s in pieces of 3.2 KB every 100 ms: 78 s.
    let body = big_pod_list(500, 5000);
    assert!(body.len() > 2_500_000, "{} bytes", body.len());
    let (url, server) = trickling_server(body, 3200, Duration::from_millis(100)).await;
    let started = tokio::time::Instant::now();
    let page = KubeSource::pods(local_client(&url), None)
        .list(ListRequest::default())
        .await
        .expect("a slow link is no failure");
    assert_eq!(page.items.len(), 500);
    assert!(
        started.elapsed() > Duration::from_secs(75),
        "{:?}",
        started.elapsed()
    );
    server.abort();
}

#[tokio::test(start_paused = true)]
async fn a_discovery_document_trickling_a_byte_a_second_gives_up_after_a_minute() {
    let (url, server) = trickling_server(vec![b' '; 100_000], 1, Duration::from_secs(1)).await;
    let endpoint = Endpoint::new(&url, None);
    let started = tokio::time::Instant::now();
    let fetched = tokio::time::timeout(
        Duration::from_secs(180),
        fetch(
            &local_client(&url),
            &endpoint,
            "/apis",
            &RequestDeadline::default(),
        ),
    )
    .await;
    let Ok(answer) = fetched else {
        panic!("still reading a 1 byte/s discovery document after 180 s");
    };
    let err = answer.expect_err("too slow");
    assert!(
        err.to_string().contains("sent its answer too slowly"),
        "{err}"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(60));
    server.abort();
}

#[tokio::test(start_paused = true)]
async fn a_body_that_stops_after_a_fast_first_window_is_given_up_at_60_s_of_silence() {
    // 300 KiB at once, more than a window asks, then nothing: the window's check at 60 s
    // passes and must not restart the silence, which began when the last byte came.
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{}",
        " ".repeat(300 * 1024)
    );
    let (url, server) = stalling_server(Box::leak(head.into_boxed_str())).await;
    let started = tokio::time::Instant::now();
    let err = KubeSource::pods(local_client(&url), None)
        .list(ListRequest::default())
        .await
        .expect_err("no answer");
    assert!(
        matches!(&err, SourceError::Transport { reason, .. }
            if reason.starts_with("the response stopped for 60 s after 307200 bytes")),
        "{err}"
    );
    assert_eq!(started.elapsed(), BODY_SILENCE_TIMEOUT);
    server.abort();
}

#[tokio::test(start_paused = true)]
async fn a_total_deadline_like_kubectls_request_timeout_gives_up_a_slow_page_at_it() {
    let (url, server) =
        trickling_server(big_pod_list(500, 5000), 3200, Duration::from_millis(100)).await;
    let options = SourceOptions {
        deadline: RequestDeadline::Total(Duration::from_secs(30)),
        ..SourceOptions::default()
    };
    let endpoint = Endpoint::new(&url, None);
    let started = tokio::time::Instant::now();
    let err = KubeSource::pods(local_client(&url), None)
        .with_endpoint(endpoint.clone())
        .with_options(options)
        .list(ListRequest::default())
        .await
        .expect_err("78 s of body against a 30 s deadline");
    assert_eq!(
        err.to_string(),
        format!(
            "{endpoint} sent its answer too slowly: not complete within the request timeout \
             of 30s; check the network to the server (a slow VPN, proxy or link?)"
        )
    );
    assert_eq!(started.elapsed(), Duration::from_secs(30));
    server.abort();
}

/// A gzip member whose content is `prefix`, then `run` bytes `A`, then `suffix`, built by
/// hand as one fixed-Huffman deflate block: the run is a literal `A` then matches of 258
/// bytes at distance 1, 13 bits each (a ratio of about 160,000 to 1 for the run).
fn gzip_bomb(prefix: &[u8], run: usize, suffix: &[u8]) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        bit: u32,
    }
    impl Bits {
        fn push(&mut self, value: u32, len: u32, msb_first: bool) {
            for i in 0..len {
                let shift = if msb_first { len - 1 - i } else { i };
                if self.bit == 0 {
                    self.out.push(0);
                }
                if let Some(last) = self.out.last_mut() {
                    *last |= (((value >> shift) & 1) as u8) << self.bit;
                }
                self.bit = (self.bit + 1) % 8;
            }
        }
        fn literal(&mut self, byte: u8) {
            assert!(byte < 144, "8-bit fixed codes only");
            self.push(0x30 + u32::from(byte), 8, true);
        }
    }
    assert_eq!((run - 1) % 258, 0, "a literal then whole matches");
    let mut bits = Bits {
        out: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff],
        bit: 0,
    };
    bits.push(1, 1, false); // BFINAL
    bits.push(1, 2, false); // BTYPE 01: fixed Huffman codes
    let mut crc = flate2::Crc::new();
    for &byte in prefix {
        bits.literal(byte);
    }
    crc.update(prefix);
    bits.literal(b'A');
    for _ in 0..(run - 1) / 258 {
        bits.push(0xc5, 8, true); // length 258 (code 285)
        bits.push(0, 5, true); // distance 1 (code 0)
    }
    let chunk = vec![b'A'; 1 << 20];
    for start in (0..run).step_by(chunk.len()) {
        crc.update(&chunk[..chunk.len().min(run - start)]);
    }
    for &byte in suffix {
        bits.literal(byte);
    }
    crc.update(suffix);
    bits.push(0, 7, true); // end of block (code 256)
    let mut gzip = bits.out;
    gzip.extend_from_slice(&crc.sum().to_le_bytes());
    gzip.extend_from_slice(&(crc.amount()).to_le_bytes());
    gzip
}

#[test]
fn the_hand_made_gzip_bomb_is_valid_gzip() {
    use std::io::Read as _;
    let bomb = gzip_bomb(b"{\"x\":\"", 1 + 258 * 4, b"\"}");
    let mut inflated = String::new();
    flate2::read::GzDecoder::new(&bomb[..])
        .read_to_string(&mut inflated)
        .expect("valid gzip");
    assert_eq!(
        inflated,
        format!("{{\"x\":\"{}\"}}", "A".repeat(1 + 258 * 4))
    );
}

/// A server that answers every request with `response`, then closes the connection.
async fn answering_server(response: Vec<u8>) -> (String, tokio::task::JoinHandle<()>) {
    let (url, _, _, task) = server_by_accept(move |_| response.clone()).await;
    (url, task)
}

#[tokio::test]
async fn a_body_cut_by_a_closed_connection_is_unanswered_and_a_body_that_is_not_gzip_undecodable() {
    let list_from = |response: &[u8]| {
        let response = response.to_vec();
        async move {
            let (url, server) = answering_server(response).await;
            // Asking for gzip: a loopback server is not asked by default.
            let client = crate::connect::client::connect_insecure_local(
                &url,
                &crate::connect::client::ClientOptions {
                    compression: crate::connect::compression::Compression::Always,
                    ..Default::default()
                },
            )
            .expect("client");
            let answer = KubeSource::pods(client, None)
                .list(ListRequest::default())
                .await;
            server.abort();
            answer.expect_err("no list in that body")
        }
    };
    // The connection closes 83 bytes short of the length promised: the server did not answer
    // (a transport failure, retried), it did not send a bad body.
    let cut = list_from(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\
          Connection: close\r\n\r\n{\"kind\":\"PodList\"",
    )
    .await;
    assert!(matches!(cut, SourceError::Transport { .. }), "{cut:?}");
    // A body said to be gzip that is not: the server's answer cannot be decoded.
    let not_gzip = list_from(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n\
          Content-Length: 10\r\nConnection: close\r\n\r\nnot gzip!!",
    )
    .await;
    assert!(
        matches!(not_gzip, SourceError::Decode(DecodeError::Gzip(_))),
        "{not_gzip:?}"
    );
}

#[tokio::test]
async fn a_gzip_bomb_list_is_refused_before_it_inflates_in_memory() {
    // 200 MiB of JSON in a little over 1 MB.
    let run = 1 + 258 * (200 * 1024 * 1024 / 258);
    let bomb = gzip_bomb(
        br#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[],"x":""#,
        run,
        br#""}"#,
    );
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        bomb.len()
    )
    .into_bytes();
    response.extend_from_slice(&bomb);
    let (url, server) = answering_server(response).await;
    let client = crate::connect::client::connect_insecure_local(
        &url,
        &crate::connect::client::ClientOptions {
            compression: crate::connect::compression::Compression::Always,
            ..Default::default()
        },
    )
    .expect("client");
    let source = KubeSource::pods(client, None);
    let err = source
        .list(ListRequest::default())
        .await
        .expect_err("a 200 MiB body from 1 MB is refused");
    let message = err.to_string();
    assert!(
        message.starts_with("cannot decode the server's answer: the gzip body inflated to over ")
            && message.ends_with(" KiB sent, more than 128 times; refused as a gzip bomb"),
        "{message}"
    );
    server.abort();
}

#[tokio::test]
async fn a_body_in_an_encoding_not_asked_for_is_named_not_called_malformed_json() {
    let body = b"\x1b\x0b\x00\xf8\x25\x14\x82\x03";
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: br\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(body);
    let (url, server) = answering_server(response).await;
    let client = crate::connect::client::connect_insecure_local(
        &url,
        &crate::connect::client::ClientOptions::default(),
    )
    .expect("client");
    let err = KubeSource::pods(client, None)
        .list(ListRequest::default())
        .await
        .expect_err("not JSON");
    assert_eq!(
        err.to_string(),
        "cannot decode the server's answer: it is encoded as \"br\", which kreflect did not \
         ask for (it asks for gzip, or nothing with --disable-compression)"
    );
    server.abort();
}

#[tokio::test]
async fn a_protobuf_status_cut_at_the_error_body_cap_is_not_shown_as_its_bytes() {
    use k8s_pb::apimachinery::pkg::apis::meta::v1::Status;
    use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
    use prost::Message;
    let status = Status {
        status: Some("Failure".into()),
        message: Some("denied: ".to_owned() + &"x".repeat(100 * 1024)),
        reason: Some("Forbidden".into()),
        code: Some(403),
        ..Status::default()
    };
    let envelope = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some("v1".into()),
            kind: Some("Status".into()),
        }),
        raw: Some(status.encode_to_vec()),
        ..Unknown::default()
    };
    let mut body = crate::wire::protobuf::MAGIC.to_vec();
    body.extend(envelope.encode_to_vec());
    let mut response = format!(
        "HTTP/1.1 403 Forbidden\r\nContent-Type: application/vnd.kubernetes.protobuf\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(&body);
    let (url, server) = answering_server(response).await;
    let err = KubeSource::pods(local_client(&url), None)
        .list(ListRequest::default())
        .await
        .expect_err("403");
    let SourceError::Status { status, .. } = err else {
        panic!("not a Status error: {err}");
    };
    assert_eq!(status.code, 403);
    assert_eq!(
        status.message,
        "a protobuf Status over 64 KiB (not read; the HTTP status says what happened)"
    );
    server.abort();
}

/// A server that answers every request with `response` and records each request's
/// `Accept` header.
async fn recording_server(response: Vec<u8>) -> (String, Recorded, tokio::task::JoinHandle<()>) {
    let (url, accepts, _, task) = server_by_accept(move |_| response.clone()).await;
    (url, accepts, task)
}

/// An HTTP/1.1 200 response with this content type and body, closing the connection.
fn ok_response(content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(body);
    response
}

const PROTOBUF_LIST: &[u8] = include_bytes!("../../../tests/fixtures/19-list-protobuf.bin");
const PROTOBUF_WATCH: &[u8] = include_bytes!("../../../tests/fixtures/20-watch-protobuf.bin");

fn watch_from(resource_version: &str) -> WatchRequest {
    WatchRequest {
        resource_version: resource_version.to_owned(),
        timeout_seconds: 5,
        send_initial_events: false,
    }
}

fn local_client(url: &str) -> kube::Client {
    crate::connect::client::connect_insecure_local(
        url,
        &crate::connect::client::ClientOptions::default(),
    )
    .expect("client")
}

#[tokio::test]
async fn pods_are_asked_for_as_protobuf_and_a_protobuf_list_is_decoded() {
    let response = ok_response("application/vnd.kubernetes.protobuf", PROTOBUF_LIST);
    let (url, accepts, server) = recording_server(response).await;
    let page = KubeSource::pods(local_client(&url), None)
        .list(ListRequest::default())
        .await
        .expect("a protobuf page");
    let keys: Vec<&str> = page.items.iter().map(|o| o.key().as_str()).collect();
    assert_eq!(keys, ["bar-w/crash", "bar-w/done"]);
    assert_eq!(
        page.items[0].encoding(),
        crate::wire::object::Encoding::Protobuf
    );
    assert_eq!(
        *accepts.lock().expect("accepts"),
        ["application/vnd.kubernetes.protobuf, application/json"]
    );
    server.abort();
}

/// Every event of a pods watch whose answer is `stream`, served as a protobuf watch.
async fn protobuf_watch_of(stream: &[u8]) -> Vec<Result<WatchEvent, StreamError>> {
    let response = ok_response("application/vnd.kubernetes.protobuf;stream=watch", stream);
    let (url, _, server) = recording_server(response).await;
    let events = KubeSource::pods(local_client(&url), None)
        .watch(watch_from("157565"))
        .await
        .expect("a watch")
        // Each frame costs its 4-byte length, and a stream ends with at most one error: a
        // reader that never runs dry fails the test's count instead of filling memory.
        .take(stream.len() / 4 + 2)
        .collect()
        .await;
    server.abort();
    events
}

#[tokio::test]
async fn a_protobuf_watch_is_read_frame_by_frame() {
    let events = protobuf_watch_of(PROTOBUF_WATCH).await;
    assert_eq!(events.len(), 4, "{events:?}");
    assert!(
        matches!(&events[0], Ok(WatchEvent::Modified(pod)) if pod.key().as_str() == "bar-w/pend")
    );
    assert!(matches!(&events[3], Ok(WatchEvent::Bookmark(_))));

    // Cut in the middle of its last frame: the stream says so.
    let cut = &PROTOBUF_WATCH[..PROTOBUF_WATCH.len() - 10];
    let events = protobuf_watch_of(cut).await;
    assert!(
        matches!(events.last(), Some(Err(StreamError::Transport(reason))) if reason.contains("middle of a frame")),
        "{events:?}"
    );
    // A frame claiming 4 GiB: refused at once, nothing allocated for it.
    let events = protobuf_watch_of(&[0xff, 0xff, 0xff, 0xff, 0x0a]).await;
    assert!(
        matches!(events.as_slice(), [Err(StreamError::FrameTooLong(_))]),
        "{events:?}"
    );
}

#[tokio::test]
async fn json_is_asked_for_custom_resources_and_with_wire_json_and_a_json_answer_is_read() {
    let json = br#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":[{"metadata":{"name":"a","namespace":"n"}}]}"#;
    let (url, accepts, server) = recording_server(ok_response("application/json", json)).await;
    let client = local_client(&url);
    let page = KubeSource::pods(client.clone(), None)
        .list(ListRequest::default())
        .await
        .expect("JSON in answer to protobuf-or-JSON");
    assert_eq!(
        page.items[0].encoding(),
        crate::wire::object::Encoding::Json
    );
    let json_only = SourceOptions {
        wire: Wire::Json,
        ..SourceOptions::default()
    };
    KubeSource::pods(client.clone(), None)
        .with_options(json_only)
        .list(ListRequest::default())
        .await
        .expect("a page");
    let widgets = ApiResource {
        group: "example.dev".to_owned(),
        version: "v1".to_owned(),
        api_version: "example.dev/v1".to_owned(),
        kind: "Pod".to_owned(),
        plural: "widgets".to_owned(),
    };
    KubeSource::new(client.clone(), &widgets, None)
        .list(ListRequest::default())
        .await
        .expect("a page");
    let deployments = ApiResource {
        group: "apps".to_owned(),
        api_version: "apps/v1".to_owned(),
        ..widgets.clone()
    };
    let everything_protobuf = SourceOptions {
        wire: Wire::Protobuf,
        ..SourceOptions::default()
    };
    KubeSource::new(client.clone(), &deployments, None)
        .list(ListRequest::default())
        .await
        .expect("a page");
    KubeSource::new(client, &widgets, None)
        .with_options(everything_protobuf)
        .list(ListRequest::default())
        .await
        .expect("a page");
    let protobuf = "application/vnd.kubernetes.protobuf, application/json";
    assert_eq!(
        *accepts.lock().expect("accepts"),
        [
            protobuf,
            "application/json",
            "application/json",
            protobuf,
            protobuf
        ]
    );
    server.abort();
}

#[test]
fn query_strings_are_encoded_without_a_stray_separator() {
    assert_eq!(url_with_query("/api/v1/pods", &[]), "/api/v1/pods");
    assert_eq!(
        url_with_query("/api/v1/pods", &[("limit", "500")]),
        "/api/v1/pods?limit=500"
    );
    assert_eq!(
        url_with_query(
            "/api/v1/pods",
            &[("labelSelector", "app in (a,b)"), ("continue", "x=/&y")]
        ),
        "/api/v1/pods?labelSelector=app+in+%28a%2Cb%29&continue=x%3D%2F%26y"
    );
}

/// What [`server_by_accept`] recorded of each request: its `Accept`, and its request line (both
/// in lower case).
type Recorded = Arc<Mutex<Vec<String>>>;

/// A server answering each request by its `Accept` (lower case), recording every `Accept` and
/// request line.
async fn server_by_accept(
    answer: impl Fn(&str) -> Vec<u8> + Send + 'static,
) -> (String, Recorded, Recorded, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let accepts = Arc::new(Mutex::new(Vec::new()));
    let lines = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&accepts);
    let recorded_lines = Arc::clone(&lines);
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = vec![0; 8192];
            let read = socket.read(&mut request).await.unwrap_or(0);
            let head = String::from_utf8_lossy(&request[..read]).to_lowercase();
            let accept = head
                .lines()
                .find_map(|line| line.strip_prefix("accept: "))
                .unwrap_or("")
                .to_owned();
            let response = answer(&accept);
            let target = head.lines().next().unwrap_or("").to_owned();
            recorded_lines.lock().expect("request lines").push(target);
            recorded.lock().expect("accepts").push(accept);
            let _ = socket.write_all(&response).await;
        }
    });
    (url, accepts, lines, task)
}

/// A `Status` failure answer with this code and reason.
fn status_response(code: u16, reason: &str) -> Vec<u8> {
    let body = format!(
        r#"{{"kind":"Status","apiVersion":"v1","status":"Failure","message":"from the test","reason":"{reason}","code":{code}}}"#
    );
    let mut response = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(body.as_bytes());
    response
}

const PLAIN_POD_LIST: &[u8] = br#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":[{"metadata":{"name":"a","namespace":"n","resourceVersion":"9"}}]}"#;

fn wide_source(url: &str) -> KubeSource {
    let table = SourceOptions {
        table: true,
        ..SourceOptions::default()
    };
    KubeSource::pods(local_client(url), None).with_options(table)
}

#[tokio::test]
async fn a_table_refused_with_406_is_asked_plainly_at_once_and_from_then_on() {
    let (url, accepts, _, server) = server_by_accept(|accept| {
        if accept.contains("as=table") {
            status_response(406, "NotAcceptable")
        } else {
            ok_response("application/json", PLAIN_POD_LIST)
        }
    })
    .await;
    let source = wide_source(&url);
    let json = JSON_MEDIA_TYPE.to_owned();
    let table = TABLE_MEDIA_TYPE.to_lowercase();
    for round in 0..2 {
        let page = source
            .list(ListRequest::default())
            .await
            .expect("the plain list after the 406");
        assert_eq!(page.items.len(), 1, "round {round}");
    }
    let _ = source.watch(watch_from("9")).await;
    assert_eq!(
        *accepts.lock().expect("accepts"),
        [table, json.clone(), json.clone(), json],
        "a Table, then plainly: the 406 is remembered for later lists and watches"
    );
    server.abort();
}

#[tokio::test]
async fn a_table_list_answered_with_another_failure_fails_and_is_not_asked_plainly() {
    let (url, accepts, _, server) = server_by_accept(|_| status_response(403, "Forbidden")).await;
    let err = wide_source(&url)
        .list(ListRequest::default())
        .await
        .expect_err("forbidden");
    assert!(
        matches!(&err, SourceError::Status { status, .. } if status.code == 403),
        "{err:?}"
    );
    assert_eq!(
        *accepts.lock().expect("accepts"),
        [TABLE_MEDIA_TYPE.to_lowercase()]
    );
    server.abort();
}

#[tokio::test]
async fn a_table_watch_refused_with_406_is_opened_plainly_and_another_failure_is_not() {
    let (url, accepts, _, server) = server_by_accept(|accept| {
        if accept.contains("as=table") {
            status_response(406, "NotAcceptable")
        } else {
            ok_response("application/json", b"")
        }
    })
    .await;
    let _plain = wide_source(&url)
        .watch(watch_from("9"))
        .await
        .expect("the plain watch after the 406");
    let table = TABLE_MEDIA_TYPE.to_lowercase();
    assert_eq!(
        *accepts.lock().expect("accepts"),
        [table.clone(), JSON_MEDIA_TYPE.to_owned()]
    );
    server.abort();

    let (url, accepts, _, server) = server_by_accept(|_| status_response(403, "Forbidden")).await;
    let err = wide_source(&url)
        .watch(watch_from("9"))
        .await
        .err()
        .expect("forbidden");
    assert!(
        matches!(&err, SourceError::Status { status, .. } if status.code == 403),
        "{err:?}"
    );
    assert_eq!(*accepts.lock().expect("accepts"), [table]);
    server.abort();
}

#[tokio::test]
async fn label_and_field_selectors_are_sent_with_lists_and_watches_and_only_when_set() {
    let (url, _, lines, server) =
        server_by_accept(|_| ok_response("application/json", PLAIN_POD_LIST)).await;
    let selected = KubeSource::pods(local_client(&url), None).with_selectors(Selectors {
        label: Some("app=web".into()),
        field: Some("status.phase=Running".into()),
    });
    selected.list(ListRequest::default()).await.expect("a list");
    let _ = selected.watch(watch_from("9")).await;
    let only_label = KubeSource::pods(local_client(&url), None).with_selectors(Selectors {
        label: Some("app=web".into()),
        field: None,
    });
    only_label
        .list(ListRequest::default())
        .await
        .expect("a list");
    KubeSource::pods(local_client(&url), None)
        .list(ListRequest::default())
        .await
        .expect("a list");
    let lines = lines.lock().expect("request lines").clone();
    assert_eq!(lines.len(), 4, "{lines:?}");
    let both = "labelselector=app%3dweb&fieldselector=status.phase%3drunning";
    assert!(lines[0].contains(both), "{}", lines[0]);
    assert!(
        lines[1].contains(both) && lines[1].contains("watch=true"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("labelselector=app%3dweb") && !lines[2].contains("fieldselector"),
        "{}",
        lines[2]
    );
    assert!(!lines[3].contains("selector"), "{}", lines[3]);
    server.abort();
}
