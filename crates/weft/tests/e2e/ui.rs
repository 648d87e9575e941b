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
