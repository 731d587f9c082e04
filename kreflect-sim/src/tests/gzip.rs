//! Compressed list pages (transcripts 22/23): when the real server gzips, when it does not, and
//! the fault that breaks the compression.

use super::*;

#[tokio::test]
async fn a_large_list_is_gzipped_when_asked_like_transcript_22_and_a_small_one_is_not() {
    let server = server().await;
    populate(&server.cluster(), &["shop".to_owned()], 200);
    let gzip = [("Accept-Encoding", "gzip")];
    let target = "/api/v1/namespaces/shop/pods?limit=100";

    let mut plain = get(&server, target).await;
    let plain_body = plain.body().await;
    assert!(plain_body.len() > 128 * 1024, "{} bytes", plain_body.len());
    let sent_before = server.body_bytes_sent();
    let mut large = request(&server, "GET", target, &gzip).await;
    assert_eq!(large.status, 200);
    assert_eq!(large.header("content-encoding"), Some("gzip"));
    assert_eq!(large.header("vary"), Some("Accept-Encoding"));
    assert_eq!(large.header("content-type"), Some("application/json"));
    assert!(large.chunked, "chunked like the real server");
    assert_eq!(large.header("content-length"), None);
    let wire = large.body().await;
    assert!(large.complete);
    assert_eq!(gunzip(&wire).expect("valid gzip"), plain_body);
    // The generator's pods differ more than the transcript's (uids, IPs, digests): about 8x.
    assert!(
        wire.len() * 5 < plain_body.len(),
        "{} of {} bytes",
        wire.len(),
        plain_body.len()
    );
    assert_eq!(server.body_bytes_sent() - sent_before, wire.len() as u64);

    let mut small = request(
        &server,
        "GET",
        "/api/v1/namespaces/shop/pods?limit=1",
        &gzip,
    )
    .await;
    assert_eq!(small.header("content-encoding"), None);
    assert_eq!(small.header("vary"), None);
    let small_body = small.body().await;
    assert_eq!(
        small.header("content-length"),
        Some(small_body.len().to_string().as_str())
    );
    let small_list: Value = serde_json::from_slice(&small_body).unwrap();
    assert_eq!(small_list["items"].as_array().map(Vec::len), Some(1));

    let recorded = server.requests();
    assert!(!recorded[0].asks_for_gzip());
    assert_eq!(recorded[0].accept_encoding, None);
    assert!(recorded[1].asks_for_gzip());
    assert_eq!(recorded[1].accept_encoding.as_deref(), Some("gzip"));
    server.shutdown().await;
}

#[tokio::test]
async fn gzip_is_refused_as_the_real_server_refuses_it_and_never_applies_to_watches_or_errors() {
    let server = server().await;
    populate(&server.cluster(), &["shop".to_owned()], 200);
    for refused in ["gzip;q=0", "identity", "GZIP", "*", "gzip;q=1"] {
        let mut reply = request(
            &server,
            "GET",
            "/api/v1/namespaces/shop/pods",
            &[("Accept-Encoding", refused)],
        )
        .await;
        assert_eq!(reply.header("content-encoding"), None, "{refused}");
        assert_eq!(
            reply.json().await["items"].as_array().map(Vec::len),
            Some(200)
        );
    }
    let mut listed = request(
        &server,
        "GET",
        "/api/v1/namespaces/shop/pods",
        &[("Accept-Encoding", "deflate, gzip")],
    )
    .await;
    assert_eq!(listed.header("content-encoding"), Some("gzip"));
    listed.body().await;

    // A watch replaying 200 pods (well over the threshold) is never compressed.
    let mut watch = request(
        &server,
        "GET",
        "/api/v1/namespaces/shop/pods?watch=1&timeoutSeconds=1",
        &[("Accept-Encoding", "gzip")],
    )
    .await;
    assert_eq!(watch.header("content-encoding"), None);
    let first = watch.event().await.expect("an event");
    assert_eq!(first["type"], "ADDED");

    let mut missing = request(
        &server,
        "GET",
        "/api/v1/nothing",
        &[("Accept-Encoding", "gzip")],
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("content-encoding"), None);
    assert_eq!(missing.json().await["reason"], "NotFound");
    server.shutdown().await;
}

#[tokio::test]
async fn corrupt_gzip_fault_labels_one_list_gzip_and_breaks_it() {
    let server = server().await;
    populate(&server.cluster(), &["shop".to_owned()], 3);
    for corruption in [
        GzipCorruption::NotGzip,
        GzipCorruption::Truncated,
        GzipCorruption::BadChecksum,
    ] {
        server.inject(Fault::ListCorruptGzip {
            corruption,
            later_page: false,
        });
        // Not asked for gzip, and a page below the threshold: broken all the same.
        let mut broken = get(&server, "/api/v1/pods").await;
        assert_eq!(broken.status, 200);
        assert_eq!(broken.header("content-encoding"), Some("gzip"));
        let wire = broken.body().await;
        assert!(broken.complete, "the HTTP body itself ends cleanly");
        assert!(gunzip(&wire).is_err(), "{corruption:?}");
        let mut next = get(&server, "/api/v1/pods").await;
        assert_eq!(next.header("content-encoding"), None);
        assert_eq!(next.json().await["items"].as_array().map(Vec::len), Some(3));
    }
    server.shutdown().await;
}
