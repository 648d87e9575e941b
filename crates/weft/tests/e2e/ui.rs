//! The web UI is served by `weft serve` itself, from files embedded in the binary.

use crate::sandbox::Weft;

async fn get(weft: &Weft, path: &str) -> (u16, String, String, String) {
    let response = reqwest::get(format!("http://{}{path}", weft.api))
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (content_type, cache) = (header("content-type"), header("cache-control"));
    let status = response.status().as_u16();
    (status, content_type, cache, response.text().await.unwrap())
}

#[tokio::test]
async fn the_ui_page_and_its_assets_are_served_and_api_misses_stay_json() {
    let dir = tempfile::tempdir().unwrap();
    let weft = Weft::start(dir.path(), &[]);
    // The page itself, at the root and at any front-end route.
    let (status, content_type, cache, html) = get(&weft, "/").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert_eq!(cache, "no-cache");
    let (status, _, _, routed) = get(&weft, "/trace/0af7651916cd43dd8448eb211c80319c").await;
    assert_eq!((status, routed.as_str()), (200, html.as_str()));
    // Its script, content-hashed and cacheable forever.
    let script = html
        .split("src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page loads a script")
        .trim_start_matches('.');
    let (status, content_type, cache, _) = get(&weft, script).await;
    assert_eq!(status, 200, "{script}");
    assert!(content_type.contains("javascript"), "{content_type}");
    assert!(cache.contains("immutable"), "{cache}");
    // Misses that are not UI routes are the API's JSON 404.
    for path in [
        "/api/v1/no-such-endpoint",
        "/assets/missing.js",
        "/metrics/nothing",
    ] {
        let (status, content_type, _, body) = get(&weft, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(
            content_type.starts_with("application/json"),
            "{path}: {content_type}"
        );
        assert!(body.contains("no such endpoint"), "{path}: {body}");
    }
}

#[tokio::test]
async fn api_answers_and_ui_files_are_gzip_compressed_when_the_client_accepts_it() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let weft = Weft::start(dir.path(), &["--demo", "--demo-rate", "500"]);
    let client = reqwest::Client::new();
    let fetch = |path: &str, accept_encoding: Option<&str>| {
        let mut request = client.get(format!("http://{}{path}", weft.api));
        if let Some(encoding) = accept_encoding {
            request = request.header("accept-encoding", encoding);
        }
        request.send()
    };
    // Wait for some traces so the search answer is worth compressing.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let plain = loop {
        let body = fetch("/api/v1/search?limit=50", None)
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if body.contains("traceId") || std::time::Instant::now() > deadline {
            break body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(
        plain.contains("traceId"),
        "the demo produced traces: {plain}"
    );

    let response = fetch("/api/v1/search?limit=50", Some("gzip"))
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let compressed = response.bytes().await.unwrap();
    let mut inflated = String::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_string(&mut inflated)
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(&inflated).unwrap();
    assert!(answer["traces"]
        .as_array()
        .is_some_and(|traces| !traces.is_empty()));
    assert!(
        compressed.len() < inflated.len(),
        "{} vs {}",
        compressed.len(),
        inflated.len()
    );

    // Without Accept-Encoding nothing changes; the UI page is compressed like the API.
    let response = fetch("/api/v1/services", None).await.unwrap();
    assert!(response.headers().get("content-encoding").is_none());
    let response = fetch("/", Some("gzip")).await.unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
}
