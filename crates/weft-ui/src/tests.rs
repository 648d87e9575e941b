use super::*;

#[test]
fn the_build_embeds_an_index_page_that_loads_its_hashed_assets() {
    let index = index_html();
    assert!(
        index.content_type.starts_with("text/html"),
        "{}",
        index.content_type
    );
    assert!(!index.immutable);
    let html = std::str::from_utf8(&index.bytes).expect("utf-8");
    let script = html
        .split("src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("index.html loads a script");
    let path = script.trim_start_matches("./").trim_start_matches('/');
    let asset = file(path).unwrap_or_else(|| panic!("{path} is embedded"));
    assert!(asset.immutable, "{path} is content-hashed");
    assert!(
        asset.content_type.contains("javascript"),
        "{}",
        asset.content_type
    );
}

#[test]
fn a_path_the_build_does_not_have_is_none() {
    assert!(file("no/such/file.js").is_none());
}
