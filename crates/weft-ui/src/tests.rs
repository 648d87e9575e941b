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

#[test]
fn a_directory_override_serves_its_files_and_refuses_paths_that_leave_it() {
    let dir = std::env::temp_dir().join(format!("weft-ui-override-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("assets")).expect("create dir");
    std::fs::write(dir.join("assets/app.js"), b"console.log(1)").expect("write");
    std::fs::write(dir.with_extension("secret"), b"outside").expect("write");
    let served = file_from_dir(&dir, "assets/app.js").expect("served");
    assert_eq!(&*served.bytes, b"console.log(1)");
    assert!(
        served.content_type.contains("javascript"),
        "{}",
        served.content_type
    );
    assert!(!served.immutable, "an edited directory is never cached");
    let outside = format!(
        "../{}",
        dir.with_extension("secret")
            .file_name()
            .expect("name")
            .to_string_lossy()
    );
    assert!(file_from_dir(&dir, &outside).is_none());
    assert!(file_from_dir(&dir, "/etc/passwd").is_none());
    assert!(file_from_dir(&dir, "").is_none());
    assert!(file_from_dir(&dir, "missing.js").is_none());
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_file(dir.with_extension("secret")).ok();
}
