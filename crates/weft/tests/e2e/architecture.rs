//! ARCHITECTURE.md's dependency rules, checked against `cargo metadata`: a rule broken by a new
//! dependency fails here, naming the crate, the dependency and the path it came through.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Normal (not dev, not build) dependencies of every workspace crate, by name.
fn workspace_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(crate::sandbox::repo_root())
        .output()
        .expect("running cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            let dependencies = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|dependency| dependency["kind"].is_null())
                .map(|dependency| dependency["name"].as_str().unwrap().to_owned())
                .collect();
            (package["name"].as_str().unwrap().to_owned(), dependencies)
        })
        .collect()
}

/// Every dependency `krate` reaches: its own, and through workspace crates theirs, each with
/// the chain of workspace crates it came through.
fn reachable(
    graph: &BTreeMap<String, BTreeSet<String>>,
    krate: &str,
) -> BTreeMap<String, Vec<String>> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut stack = vec![(krate.to_owned(), vec![krate.to_owned()])];
    while let Some((current, path)) = stack.pop() {
        for dependency in graph.get(&current).into_iter().flatten() {
            if found.contains_key(dependency) {
                continue;
            }
            let mut through = path.clone();
            through.push(dependency.clone());
            found.insert(dependency.clone(), through.clone());
            if graph.contains_key(dependency) {
                stack.push((dependency.clone(), through));
            }
        }
    }
    found
}

/// Crates `krate` must not reach, and why.
struct Rule {
    crates: &'static [&'static str],
    forbidden: &'static [&'static str],
    why: &'static str,
}

/// Async runtimes, network stacks and servers, and Weft's own crates that do I/O.
const IO_CRATES: &[&str] = &[
    "tokio",
    "tokio-stream",
    "axum",
    "hyper",
    "tonic",
    "tower",
    "tower-http",
    "reqwest",
    "weft-wal",
    "weft-store",
    "weft-clickhouse",
    "weft-kafka",
    "rdkafka",
    "clickhouse",
    "weft-ingest",
    "weft-pipeline",
    "weft-processors",
    "weft-query",
    "weft-api",
    "weft-cli",
    "weft-bench",
    "weft-app",
];

/// The HTTP and gRPC stacks.
const HTTP_CRATES: &[&str] = &["axum", "hyper", "tonic", "tower-http", "reqwest"];

const RULES: &[Rule] = &[
    Rule {
        crates: &[
            "weft-model",
            "weft-bus",
            "weft-storage",
            "weft-api-types",
            "weft-codec",
            "weft-metrics",
            "weft-sampling",
            "weft-diagnose",
        ],
        forbidden: IO_CRATES,
        why: "the model, the seams, the API's answer types, codec, metrics, sampling and diagnose crates do no I/O",
    },
    Rule {
        crates: &["weft-model", "weft-bus", "weft-storage"],
        forbidden: &[
            "prost",
            "opentelemetry-proto",
            "serde_json",
            "weft-codec",
            "parquet",
            "arrow-array",
        ],
        why: "weft-model and the seams know no wire or file format",
    },
    Rule {
        // weft-gen, weft-cli and weft-bench are clients; weft-app composes the servers.
        crates: &[
            "weft-model",
            "weft-bus",
            "weft-storage",
            "weft-codec",
            "weft-observe",
            "weft-wal",
            "weft-pipeline",
            "weft-store",
            "weft-metrics",
            "weft-sampling",
            "weft-diagnose",
            "weft-ui",
            "weft-processors",
            "weft-query",
        ],
        forbidden: HTTP_CRATES,
        why: "only the ingest and API crates serve HTTP and gRPC",
    },
    Rule {
        crates: &["weft-pipeline"],
        forbidden: &[
            "weft-wal",
            "weft-store",
            "weft-ingest",
            "weft-processors",
            "weft-query",
            "weft-api",
        ],
        why: "the pipeline knows neither the WAL nor a store nor its processors, only traits",
    },
    Rule {
        crates: &["weft-pipeline", "weft-processors", "weft-query", "weft-ingest", "weft-api"],
        forbidden: &["weft-kafka", "rdkafka", "weft-clickhouse", "clickhouse"],
        why: "only weft-kafka knows Kafka and only weft-clickhouse knows ClickHouse; the roles see the seams",
    },
    Rule {
        crates: &["weft-kafka"],
        forbidden: &[
            "weft-wal",
            "weft-store",
            "weft-clickhouse",
            "weft-storage",
            "weft-pipeline",
            "weft-processors",
            "weft-ingest",
            "weft-query",
            "weft-api",
            "axum",
            "tonic",
        ],
        why: "the kafka bus knows the bus seam and the OTLP format, not the stores, the pipeline or the servers",
    },
    Rule {
        crates: &["weft-ingest"],
        forbidden: &[
            "weft-wal",
            "weft-store",
            "weft-pipeline",
            "weft-processors",
            "weft-query",
        ],
        why: "receivers (the collector role) write to the bus seam, not to the WAL",
    },
    Rule {
        crates: &["weft-store", "weft-clickhouse"],
        forbidden: &[
            "weft-kafka",
            "weft-pipeline",
            "weft-ingest",
            "weft-wal",
            "weft-bus",
            "weft-processors",
            "weft-query",
            "weft-api",
        ],
        why: "the stores (embedded, ClickHouse) know neither the pipeline nor the bus nor who reads them",
    },
    Rule {
        crates: &["weft-processors"],
        forbidden: &[
            "weft-wal",
            "weft-store",
            "weft-clickhouse",
            "weft-ingest",
            "weft-query",
            "weft-api",
            "weft-app",
        ],
        why: "processors write through the seams: they know neither the WAL, the embedded store, the receivers nor the query side",
    },
    Rule {
        crates: &["weft-query"],
        forbidden: &[
            "weft-store",
            "weft-clickhouse",
            "weft-wal",
            "weft-bus",
            "weft-ingest",
            "weft-pipeline",
            "weft-processors",
            "weft-api",
            "weft-app",
        ],
        why: "the query role reads stores only, through the storage seam",
    },
    Rule {
        crates: &["weft-api", "weft-cli", "weft-bench"],
        forbidden: &["weft-wal", "weft-app"],
        why: "the API and the tools reach the bus through its seam, never the WAL or the wiring",
    },
];

fn broken_rules(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut broken = Vec::new();
    for rule in RULES {
        for krate in rule.crates {
            assert!(
                graph.contains_key(*krate),
                "rule names unknown crate {krate}"
            );
            for (dependency, path) in reachable(graph, krate) {
                if rule.forbidden.contains(&dependency.as_str()) {
                    broken.push(format!("{} ({})", path.join(" -> "), rule.why));
                }
            }
        }
    }
    broken
}

#[test]
fn crates_keep_the_dependency_rules_of_architecture_md() {
    let broken = broken_rules(&workspace_dependencies());
    assert!(
        broken.is_empty(),
        "dependency rules broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn a_forbidden_dependency_through_another_crate_is_caught() {
    // The check itself: weft-metrics reaching tokio through a workspace crate it depends on.
    let mut graph = workspace_dependencies();
    graph
        .get_mut("weft-metrics")
        .unwrap()
        .insert("weft-wal".to_owned());
    let broken = broken_rules(&graph);
    assert!(
        broken.iter().any(
            |line| line.starts_with("weft-metrics -> weft-wal -> tokio ")
                || line.starts_with("weft-metrics -> weft-wal (")
        ),
        "{broken:?}"
    );
}

/// The modules of a crate each module names (`crate::x`, `super::x`, `use crate::{x, …}`),
/// its `tests.rs` and `#[cfg(test)]` part aside.
fn module_references(source_dir: &std::path::Path) -> BTreeMap<String, BTreeSet<String>> {
    let sources: BTreeMap<String, String> = std::fs::read_dir(source_dir)
        .unwrap()
        .filter_map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_stem()?.to_str()?.to_owned();
            let is_module = path.extension().is_some_and(|extension| extension == "rs")
                && !["lib", "main", "tests"].contains(&name.as_str());
            is_module.then(|| {
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text
                    .split("#[cfg(test)]")
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                (name, code)
            })
        })
        .collect();
    let names_module = |code: &str, module: &str| {
        let word = |text: &str, at: usize| {
            !text[at + module.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        };
        ["crate::", "super::"].iter().any(|prefix| {
            let needle = format!("{prefix}{module}");
            code.match_indices(&needle)
                .any(|(at, _)| word(code, at + prefix.len()))
        }) || code.match_indices("use crate::{").any(|(at, _)| {
            let list = &code[at..at + code[at..].find('}').unwrap_or(0)];
            list.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|name| name == module)
        })
    };
    sources
        .iter()
        .map(|(module, code)| {
            let named = sources
                .keys()
                .filter(|other| *other != module && names_module(code, other))
                .cloned()
                .collect();
            (module.clone(), named)
        })
        .collect()
}

#[test]
fn no_crate_has_modules_that_import_each_other_in_a_circle() {
    let crates = crate::sandbox::repo_root().join("crates");
    let mut circles = Vec::new();
    for entry in std::fs::read_dir(&crates).unwrap() {
        let source_dir = entry.unwrap().path().join("src");
        if !source_dir.is_dir() {
            continue;
        }
        let references = module_references(&source_dir);
        for start in references.keys() {
            // Every path back to `start`, up to four modules long.
            let mut paths = vec![vec![start.clone()]];
            while let Some(path) = paths.pop() {
                for next in &references[path.last().unwrap()] {
                    if next == start && path.len() > 1 && path.iter().min() == Some(start) {
                        circles.push(format!(
                            "{}: {} -> {start}",
                            source_dir.display(),
                            path.join(" -> ")
                        ));
                    } else if !path.contains(next) && path.len() < 4 {
                        let mut longer = path.clone();
                        longer.push(next.clone());
                        paths.push(longer);
                    }
                }
            }
        }
    }
    assert!(
        circles.is_empty(),
        "modules importing each other:\n{}",
        circles.join("\n")
    );
}

/// The crates of the roles (collector, processors, query, the wiring), the pipeline and the API:
/// no function of theirs, tests aside, is longer than this many lines.
const LONG_FUNCTION_CRATES: &[&str] = &[
    "weft-app",
    "weft-ingest",
    "weft-pipeline",
    "weft-processors",
    "weft-query",
    "weft-api",
];
const MAX_FUNCTION_LINES: usize = 100;

/// Functions of `source` (the part before its `#[cfg(test)]`) with their first line and length,
/// braces counted outside strings, characters and line comments.
fn function_lengths(source: &str) -> Vec<(String, usize, usize)> {
    let code = source.split("#[cfg(test)]").next().unwrap_or_default();
    let lines: Vec<&str> = code.lines().collect();
    let mut functions = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let Some(name) = function_name(lines[index]) else {
            index += 1;
            continue;
        };
        let (mut depth, mut opened, mut end) = (0i64, false, index);
        for (offset, line) in lines[index..].iter().enumerate() {
            for brace in braces_outside_literals(line) {
                depth += if brace == '{' { 1 } else { -1 };
                opened = true;
            }
            end = index + offset;
            if (opened && depth == 0) || (!opened && line.trim_end().ends_with(';')) {
                break;
            }
        }
        if opened {
            functions.push((name, index + 1, end - index + 1));
        }
        index = end + 1;
    }
    functions
}

/// The name of the function a line starts, if it starts one.
fn function_name(line: &str) -> Option<String> {
    let mut words = line.split_whitespace().peekable();
    while let Some(word) = words.next() {
        match word {
            "pub" | "async" | "const" | "unsafe" | "extern" => continue,
            _ if word.starts_with("pub(") => continue,
            "fn" => {
                let name: String = words
                    .next()?
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                return (!name.is_empty()).then_some(name);
            }
            _ => return None,
        }
    }
    None
}

fn braces_outside_literals(line: &str) -> Vec<char> {
    let mut braces = Vec::new();
    let mut chars = line.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_string => {
                chars.next();
            }
            '"' => in_string = !in_string,
            '/' if !in_string && chars.peek() == Some(&'/') => break,
            '\'' if !in_string => {
                // A character literal ('{', '\''), not a lifetime ('a).
                let rest: String = chars.clone().take(3).collect();
                if rest.starts_with("\\") || rest.chars().nth(1) == Some('\'') {
                    while let Some(next) = chars.next() {
                        if next == '\\' {
                            chars.next();
                        } else if next == '\'' {
                            break;
                        }
                    }
                }
            }
            '{' | '}' if !in_string => braces.push(c),
            _ => {}
        }
    }
    braces
}

fn rust_files(directory: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs")
            && path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .is_some_and(|stem| {
                    // Test modules: `tests.rs` and `<topic>_tests.rs`.
                    stem != "tests" && !stem.ends_with("_tests")
                })
        {
            found.push(path);
        }
    }
}

#[test]
fn no_function_of_the_roles_or_the_api_is_longer_than_a_hundred_lines() {
    let mut long = Vec::new();
    for krate in LONG_FUNCTION_CRATES {
        let mut files = Vec::new();
        rust_files(
            &crate::sandbox::repo_root()
                .join("crates")
                .join(krate)
                .join("src"),
            &mut files,
        );
        for file in files {
            let source = std::fs::read_to_string(&file).unwrap();
            for (name, line, length) in function_lengths(&source) {
                if length > MAX_FUNCTION_LINES {
                    long.push(format!("{}:{line} {name}: {length} lines", file.display()));
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_function_length_check_counts_braces_in_code_only() {
    let body = "    let x = 1;\n".repeat(MAX_FUNCTION_LINES);
    let source = format!(
        "pub(crate) async fn long() -> u8 {{\n{body}    let brace = '{{';\n    let text = \"}} }}\"; // }}\n}}\nfn short() {{}}\nfn declared();\n#[cfg(test)]\nfn in_tests() {{\n{body}}}\n"
    );
    let lengths = function_lengths(&source);
    assert_eq!(
        lengths,
        [
            ("long".to_owned(), 1, MAX_FUNCTION_LINES + 4),
            ("short".to_owned(), MAX_FUNCTION_LINES + 5, 1),
        ]
    );
}
