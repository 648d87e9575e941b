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
            [receivers]
            otlp_grpc_listen = "127.0.0.1:5317"
            max_request_size = "1MiB"
            [api]
            http_listen = "127.0.0.1:17686"
            [wal]
            fsync = "always"
            [store]
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
    assert_eq!(
        config.receivers.otlp_grpc_listen.to_string(),
        "127.0.0.1:5317"
    );
    assert_eq!(
        config.api.http_listen.to_string(),
        "127.0.0.1:27686",
        "flag wins"
    );
    assert_eq!(
        config.receivers.otlp_http_listen.to_string(),
        "0.0.0.0:4318",
        "default"
    );
    assert_eq!(config.receivers.max_request_size, 1 << 20);
    assert_eq!(config.wal.fsync, weft_wal::FsyncPolicy::Always);
    assert_eq!(config.store.business_keys, ["tenant.id"]);
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
    std::fs::write(&file, "[wal]\nmax_size = \"lots\"\n").unwrap();
    let error = ServeConfig::resolve(ServeArgs {
        config: Some(file.clone()),
        ..ServeArgs::default()
    })
    .unwrap_err();
    assert!(
        format!("{error:#}").contains("max_size") && format!("{error:#}").contains("lots"),
        "{error:#}"
    );
    // A setting in the wrong section is unknown there, and named.
    std::fs::write(&file, "[wal]\nretention = \"3d\"\n").unwrap();
    let error = ServeConfig::resolve(ServeArgs {
        config: Some(file),
        ..ServeArgs::default()
    })
    .unwrap_err();
    assert!(format!("{error:#}").contains("retention"), "{error:#}");
}

#[tokio::test]
async fn second_server_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let loopback = "127.0.0.1:0".parse().unwrap();
    let config = |dir: &std::path::Path| {
        let mut config = ServeConfig::resolve(ServeArgs::default()).unwrap();
        config.data_dir = dir.to_owned();
        config.receivers.otlp_grpc_listen = loopback;
        config.receivers.otlp_http_listen = loopback;
        config.receivers.zipkin_listen = loopback;
        config.api.http_listen = loopback;
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

/// A mistyped crash point is refused when the command line is read, naming the known steps,
/// rather than once the stores are open (or never, so the crash test silently tests nothing).
#[test]
fn unknown_crash_points_are_refused_when_the_command_line_is_parsed() {
    use clap::Parser;

    #[derive(clap::Parser)]
    struct Command {
        #[command(flatten)]
        serve: ServeArgs,
    }
    let parse = |flags: &[&str]| {
        Command::try_parse_from(std::iter::once("weft").chain(flags.iter().copied()))
            .map(|command| command.serve)
    };
    let error = parse(&["--store-crash-point", "after-everything"])
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("unknown store crash point \"after-everything\""),
        "{error}"
    );
    assert!(error.contains(weft_store::CRASH_POINTS[0]), "{error}");
    let error = parse(&["--cold-crash-point", "whenever"])
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("between-parts"), "{error}");
    let known = parse(&["--cold-crash-point", "between-parts"]).unwrap();
    assert_eq!(known.cold_crash_point.as_deref(), Some("between-parts"));
    let store_step = weft_store::CRASH_POINTS[0];
    let known = parse(&["--store-crash-point", store_step]).unwrap();
    assert_eq!(known.store_crash_point.as_deref(), Some(store_step));
}

/// A distributed role without its bus or store refuses to start, naming the flag it needs; a
/// bad configuration file is reported as such.
#[tokio::test]
async fn a_distributed_role_without_its_bus_or_store_names_the_flag_it_needs() {
    for (role, flag) in [
        (Role::Collector, "--kafka-brokers"),
        (Role::Processor, "--kafka-brokers"),
        (Role::Query, "--clickhouse-url"),
    ] {
        let error = run_role(role, ServeArgs::default())
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(flag), "{}: {error}", role.name());
    }
    let processor_with_bus = ServeArgs {
        kafka_brokers: Some("127.0.0.1:9".into()),
        ..ServeArgs::default()
    };
    let error = run_role(Role::Processor, processor_with_bus)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("--clickhouse-url"), "{error}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("weft.toml");
    std::fs::write(&file, "no_such_key = 1\n").unwrap();
    let error = run_role(
        Role::Query,
        ServeArgs {
            config: Some(file),
            ..ServeArgs::default()
        },
    )
    .await
    .unwrap_err();
    assert!(format!("{error:#}").contains("no_such_key"), "{error:#}");
}

/// `--kafka-service-topic` and `--kafka-setting` take KEY=VALUE and say so otherwise.
#[test]
fn kafka_key_value_flags_are_parsed_and_a_malformed_one_is_named() {
    let config = ServeConfig::resolve(ServeArgs {
        kafka_service_topics: vec!["checkout=weft-checkout".into()],
        kafka_settings: vec!["socket.keepalive.enable=true".into()],
        ..ServeArgs::default()
    })
    .unwrap();
    assert_eq!(
        config
            .kafka
            .service_topics
            .get("checkout")
            .map(String::as_str),
        Some("weft-checkout")
    );
    assert_eq!(
        config
            .kafka
            .settings
            .get("socket.keepalive.enable")
            .map(String::as_str),
        Some("true")
    );
    let error = ServeConfig::resolve(ServeArgs {
        kafka_service_topics: vec!["checkout".into()],
        ..ServeArgs::default()
    })
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "--kafka-service-topic takes KEY=VALUE, got \"checkout\""
    );
}

/// `--help` states each default in words; the sections hold them. Giving a flag the default
/// its help states must change nothing, so the two cannot drift apart.
#[test]
fn every_default_in_the_help_is_the_sections_default() {
    use clap::{CommandFactory, Parser};

    #[derive(clap::Parser)]
    struct Command {
        #[command(flatten)]
        serve: ServeArgs,
    }
    let defaults = ServeConfig::resolve(ServeArgs::default()).unwrap();
    let mut checked = 0;
    for argument in Command::command().get_arguments() {
        let help = argument
            .get_help()
            .map(ToString::to_string)
            .unwrap_or_default();
        let Some(stated) = help
            .split("[default: ")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
        else {
            continue;
        };
        if stated == "none" {
            continue;
        }
        let flag = format!("--{}", argument.get_long().unwrap());
        let parsed = Command::try_parse_from(["weft", flag.as_str(), stated])
            .unwrap_or_else(|error| panic!("{flag} {stated}: {error}"));
        let resolved = ServeConfig::resolve(parsed.serve).unwrap();
        assert_eq!(resolved, defaults, "{flag}: the help says {stated}");
        checked += 1;
    }
    assert!(checked >= 50, "only {checked} defaults found in the help");
}
