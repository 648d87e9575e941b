//! WAL append throughput with group commit: 8 concurrent appenders of 64 KiB records (about
//! 220 realistic spans each), under each fsync policy.
//!
//! `cargo bench -p weft-wal --bench append`

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use prometheus_client::registry::Registry;
use weft_wal::{FsyncPolicy, Wal, WalConfig};

const RECORD_BYTES: usize = 64 * 1024;
const APPENDERS: usize = 8;
const RECORDS_PER_ITERATION: usize = 64;

fn append(criterion: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let mut group = criterion.benchmark_group("wal_append");
    group.throughput(Throughput::Bytes(
        (RECORD_BYTES * RECORDS_PER_ITERATION) as u64,
    ));
    group.measurement_time(Duration::from_secs(10));
    for (name, policy) in [
        ("interval_1s", FsyncPolicy::Interval(Duration::from_secs(1))),
        ("always", FsyncPolicy::Always),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = Wal::open(
            WalConfig {
                fsync: policy,
                max_disk_bytes: u64::MAX,
                ..WalConfig::new(dir.path())
            },
            &mut Registry::default(),
        )
        .unwrap();
        let payload = vec![7u8; RECORD_BYTES];
        group.bench_function(name, |bench| {
            bench.iter(|| {
                runtime.block_on(async {
                    let mut tasks = Vec::new();
                    for _ in 0..APPENDERS {
                        let wal = wal.clone();
                        let payload = payload.clone();
                        tasks.push(tokio::spawn(async move {
                            for _ in 0..RECORDS_PER_ITERATION / APPENDERS {
                                wal.append(payload.clone()).await.unwrap();
                            }
                        }));
                    }
                    for task in tasks {
                        task.await.unwrap();
                    }
                });
                // Keep the log from growing without bound across iterations.
                wal.trim_through(wal.written_lsn()).unwrap();
            })
        });
        wal.close();
    }
    group.finish();
}

criterion_group!(benches, append);
criterion_main!(benches);
