use super::*;

#[test]
fn byte_sizes_parse_with_units() {
    assert_eq!(parse_byte_size("16MiB"), Ok(16 << 20));
    assert_eq!(parse_byte_size("4GiB"), Ok(4 << 30));
    assert_eq!(parse_byte_size("1000"), Ok(1000));
    assert_eq!(parse_byte_size("2MB"), Ok(2_000_000));
    assert!(parse_byte_size("12 parsecs")
        .unwrap_err()
        .contains("invalid size unit"));
    assert!(parse_byte_size("MiB").is_err());
}

#[test]
fn flags_override_file_which_overrides_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("weft.toml");
    std::fs::write(
        &file,
        r#"
            otlp_grpc_listen = "127.0.0.1:5317"
            http_listen = "127.0.0.1:17686"
            max_request_size = "1MiB"
            wal_fsync = "always"
            business_keys = ["tenant.id"]
        "#,
    )
    .unwrap();
    let config = ServeConfig::resolve(ServeArgs {
        config: Some(file),
        http_listen: Some("127.0.0.1:27686".parse().unwrap()),
        ..ServeArgs::default()
    })
    .unwrap();
    assert_eq!(config.otlp_grpc_listen.to_string(), "127.0.0.1:5317");
    assert_eq!(
        config.http_listen.to_string(),
        "127.0.0.1:27686",
        "flag wins"
    );
    assert_eq!(
        config.otlp_http_listen.to_string(),
        "0.0.0.0:4318",
        "default"
    );
    assert_eq!(config.max_request_bytes, 1 << 20);
    assert_eq!(config.wal_fsync, weft_wal::FsyncPolicy::Always);
    assert_eq!(config.business_keys, ["tenant.id"]);
}

#[test]
fn unknown_or_bad_config_keys_are_errors_that_name_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("weft.toml");
    std::fs::write(&file, "otlp_grcp_listen = \"127.0.0.1:1\"\n").unwrap();
    let error = ServeConfig::resolve(ServeArgs {
        config: Some(file.clone()),
        ..ServeArgs::default()
    })
    .unwrap_err();
    assert!(
        format!("{error:#}").contains("otlp_grcp_listen"),
        "{error:#}"
    );
    std::fs::write(&file, "wal_max_size = \"lots\"\n").unwrap();
    let error = ServeConfig::resolve(ServeArgs {
        config: Some(file),
        ..ServeArgs::default()
    })
    .unwrap_err();
    assert!(format!("{error:#}").contains("wal_max_size"), "{error:#}");
}

#[tokio::test]
async fn second_server_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let loopback = "127.0.0.1:0".parse().unwrap();
    let config = |dir: &std::path::Path| {
        let mut config = ServeConfig::resolve(ServeArgs::default()).unwrap();
        config.data_dir = dir.to_owned();
        config.otlp_grpc_listen = loopback;
        config.otlp_http_listen = loopback;
        config.zipkin_listen = loopback;
        config.http_listen = loopback;
        config
    };
    let first = ServeHandle::start(config(dir.path())).await.unwrap();
    let error = ServeHandle::start(config(dir.path())).await.err().unwrap();
    assert!(
        error.to_string().contains("in use by another weft process"),
        "{error}"
    );
    first.stop().await.unwrap();
    // Once the first is gone, the directory is free again.
    ServeHandle::start(config(dir.path()))
        .await
        .unwrap()
        .stop()
        .await
        .unwrap();
}
