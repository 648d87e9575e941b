//! The cold writer: a background pass over the hot tier, one shard window at a time, copying
//! into the cold tier every span whose trace ID is in a closed shard.
//!
//! A pass handles the spans *starting* in its window, so every span is looked at by exactly
//! one pass. It runs once the window and the next one are closed (the sampler closes a window
//! `--cold-delay` after it ends), so the trace's late spans are in the hot tier and any shard
//! that can hold the trace is final. A window with many kept traces is split into parts by a
//! hash of the trace ID (the count decided from the shard file, so a restart splits alike).
//!
//! Exactly once: a part's spans go into the cold store's memtable, which never flushes by
//! itself, under one position naming the window and part; `flush` then commits them with that
//! position in one manifest replacement. After a crash the cold store's durable position says
//! which part is the last committed one, and the writer resumes with the next — what a
//! crashed part had written was never committed and is written again, once.
//!
//! The log records of the kept traces go along: the same shards decide, the cold log store
//! commits them under the same position just before the spans, and ignores a position it has
//! (a part redone after a crash between the two commits).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weft_model::{Span, TraceId};
use weft_observe::ComponentMetrics;
use weft_sampling::{trace_id_hash, windows_to_check, ShardFilter, ShardWindow};
use weft_storage::{LogReader, LogWriter, Position, SpanReader, SpanWriter};

use crate::sampling::SamplingHub;

/// Bits of a cold store's commit mark that number the part (see [`ColdCheckpoint`]).
const PART_BITS: u32 = 11;
/// Most parts one window is split into: parts are numbered `0..MAX_PARTS`, so every part
/// number fits in `PART_BITS`.
pub const MAX_PARTS: u64 = (1 << PART_BITS) - 1;
/// Spans handed to the cold store per write while a part is copied.
const WRITE_CHUNK_SPANS: usize = 8_192;

/// Steps a cold-writer crash test can abort at, besides the cold store's own.
pub const COLD_CRASH_POINTS: [&str; 1] = ["between-parts"];

#[derive(Debug, Clone)]
pub struct ColdWriterSettings {
    pub traces_per_part: u64,
    /// Windows before a span's own whose shards may hold a foreign-ID trace.
    pub windows_back: u32,
    pub idle_interval: Duration,
    pub crash_point: Option<String>,
}

/// The cold writer's progress, for the API and metrics.
#[derive(Default)]
pub struct ColdProgress {
    /// Every window ending at or before this Unix second has been copied.
    pub passed_through: AtomicU64,
    pub windows: AtomicU64,
    pub parts: AtomicU64,
    pub scanned_spans: AtomicU64,
    pub copied_spans: AtomicU64,
    pub copied_log_records: AtomicU64,
    pub errors: AtomicU64,
}

/// The cold writer's progress: the last part it committed, of which window, and whether it was
/// the window's last. It is committed together with the part, as the cold stores' commit mark,
/// so a part's spans and the progress past it are durable at once (one manifest replacement);
/// [`ColdCheckpoint::to_commit_mark`] and [`ColdCheckpoint::from_commit_mark`] are the only
/// code that knows how it fits the mark. Checkpoints order as their marks do (a store ignores
/// a mark at or below its durable one), which `Ord` keeps: window, then part, then last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ColdCheckpoint {
    pub window_start_unix_seconds: u64,
    pub part: u64,
    pub last: bool,
}

impl ColdCheckpoint {
    /// Layout, low bits first: 1 bit `last`, `PART_BITS` bits part, the window's start seconds
    /// in the rest (52 bits: past the year 100 million).
    pub fn to_commit_mark(self) -> Position {
        debug_assert!(
            self.part < MAX_PARTS,
            "part {} does not fit {PART_BITS} bits",
            self.part
        );
        debug_assert!(self.window_start_unix_seconds < 1 << (63 - PART_BITS));
        (self.window_start_unix_seconds << (PART_BITS + 1))
            | (self.part << 1)
            | u64::from(self.last)
    }

    /// The checkpoint a cold store's durable mark holds; `None` for a store never written.
    pub fn from_commit_mark(mark: Position) -> Option<Self> {
        let part_mask = (1 << PART_BITS) - 1;
        if mark == 0 {
            return None;
        }
        Some(ColdCheckpoint {
            window_start_unix_seconds: mark >> (PART_BITS + 1),
            part: (mark >> 1) & part_mask,
            last: mark & 1 == 1,
        })
    }
}

struct Work {
    window: ShardWindow,
    part: u64,
}

/// What the cold writer reads from and writes to: spans and their log records, hot and cold.
pub struct ColdWriterStores {
    pub hot: Arc<dyn SpanReader>,
    pub cold: Arc<dyn SpanWriter>,
    pub hot_logs: Arc<dyn LogReader>,
    pub cold_logs: Arc<dyn LogWriter>,
}

pub struct ColdWriter {
    hot: Arc<dyn SpanReader>,
    cold: Arc<dyn SpanWriter>,
    hot_logs: Arc<dyn LogReader>,
    cold_logs: Arc<dyn LogWriter>,
    hub: Arc<SamplingHub>,
    settings: ColdWriterSettings,
    progress: Arc<ColdProgress>,
    metrics: ComponentMetrics,
    /// The next part to copy; `None` until the first data is seen.
    next: Option<Work>,
    stop: Arc<AtomicBool>,
}

impl ColdWriter {
    /// Adds a copied part to the progress and the component's counters.
    fn count_part(
        &self,
        window: ShardWindow,
        (part, parts): (u64, u64),
        scanned: u64,
        copied: u64,
        copied_log_records: u64,
    ) {
        self.progress
            .scanned_spans
            .fetch_add(scanned, Ordering::Relaxed);
        self.progress
            .copied_spans
            .fetch_add(copied, Ordering::Relaxed);
        self.progress
            .copied_log_records
            .fetch_add(copied_log_records, Ordering::Relaxed);
        self.metrics.received.inc_by(scanned);
        self.metrics.sent.inc_by(copied);
        tracing::debug!(%window, part, parts, scanned, copied, "cold writer copied a part");
    }

    pub fn new(
        stores: ColdWriterStores,
        hub: Arc<SamplingHub>,
        settings: ColdWriterSettings,
        metrics: ComponentMetrics,
        stop: Arc<AtomicBool>,
    ) -> (Self, Arc<ColdProgress>) {
        let width = hub.settings.shard_width_seconds;
        let progress = Arc::new(ColdProgress::default());
        let ColdWriterStores {
            hot,
            cold,
            hot_logs,
            cold_logs,
        } = stores;
        let checkpoint = ColdCheckpoint::from_commit_mark(cold.durable_position());
        let next = checkpoint.map(|checkpoint| {
            let ColdCheckpoint {
                window_start_unix_seconds: start,
                part,
                last,
            } = checkpoint;
            let window = ShardWindow {
                start_unix_seconds: start,
                width_seconds: width,
            };
            if last {
                progress
                    .passed_through
                    .store(window.end_unix_seconds(), Ordering::Release);
                Work {
                    window: ShardWindow {
                        start_unix_seconds: window.end_unix_seconds(),
                        width_seconds: width,
                    },
                    part: 0,
                }
            } else {
                progress.passed_through.store(start, Ordering::Release);
                Work {
                    window,
                    part: part + 1,
                }
            }
        });
        let writer = ColdWriter {
            hot,
            cold,
            hot_logs,
            cold_logs,
            hub,
            settings,
            progress: Arc::clone(&progress),
            metrics,
            next,
            stop,
        };
        (writer, progress)
    }

    /// Runs passes until `stop` is set, on its own thread.
    pub fn spawn(mut self) -> std::thread::JoinHandle<()> {
        let stop = Arc::clone(&self.stop);
        std::thread::Builder::new()
            .name("weft-cold-writer".into())
            .spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    match self.step() {
                        Ok(true) => {}
                        Ok(false) => sleep_unless_stopped(&stop, self.settings.idle_interval),
                        Err(error) => {
                            self.progress.errors.fetch_add(1, Ordering::Relaxed);
                            self.metrics.errors.inc();
                            tracing::error!(
                                error = format!("{error:#}"),
                                "cold writer pass failed; retrying"
                            );
                            sleep_unless_stopped(&stop, Duration::from_secs(1));
                        }
                    }
                }
            })
            .expect("spawning the cold writer thread")
    }

    fn width(&self) -> u64 {
        u64::from(self.hub.settings.shard_width_seconds)
    }

    fn window_of(&self, unix_seconds: u64) -> ShardWindow {
        ShardWindow::containing(unix_seconds, self.hub.settings.shard_width_seconds)
    }

    /// The window of the oldest span the hot tier holds. Reads every memtable span, so it is
    /// asked only when a part is ready to copy (or nothing is known yet), not on idle ticks.
    fn oldest_hot_window(&self) -> Result<Option<ShardWindow>, weft_storage::StoreError> {
        Ok(self
            .hot
            .oldest_span_start_unix_nanos()?
            .map(|nanos| self.window_of(nanos / 1_000_000_000)))
    }

    /// Copies one part if one is ready; `false` when there is nothing to do yet.
    pub fn step(&mut self) -> anyhow::Result<bool> {
        let work = match self.next.take() {
            Some(work) => work,
            None => match self.oldest_hot_window()? {
                Some(oldest) => Work {
                    window: oldest,
                    part: 0,
                },
                None => return Ok(false),
            },
        };
        // The window and the next are closed: every shard a span of the window may be in is
        // final, and the window's late spans are in.
        let ready = work.window.end_unix_seconds() + self.width() <= self.hub.closed_through();
        if !ready {
            self.next = Some(work);
            return Ok(false);
        }
        match self.oldest_hot_window()? {
            None => {
                self.next = Some(work);
                return Ok(false);
            }
            // Windows before the oldest hot data have nothing to copy: go straight to it (and
            // check that it is ready).
            Some(oldest) if work.window.start_unix_seconds < oldest.start_unix_seconds => {
                self.next = Some(Work {
                    window: oldest,
                    part: 0,
                });
                return Ok(true);
            }
            Some(_) => {}
        }
        let own_shard = self.hub.closed_shard(work.window)?;
        let parts = parts_of(own_shard.as_ref(), self.settings.traces_per_part);
        let part = work.part.min(parts - 1);
        let last = part + 1 == parts;
        self.copy_part(work.window, own_shard, part, parts, last)?;
        self.progress.parts.fetch_add(1, Ordering::Relaxed);
        if last {
            self.progress.windows.fetch_add(1, Ordering::Relaxed);
            self.progress
                .passed_through
                .store(work.window.end_unix_seconds(), Ordering::Release);
            self.next = Some(Work {
                window: self.window_of(work.window.end_unix_seconds()),
                part: 0,
            });
        } else {
            if self.settings.crash_point.as_deref() == Some("between-parts") {
                tracing::error!("crash point between-parts reached: aborting as configured");
                std::process::abort();
            }
            self.next = Some(Work {
                window: work.window,
                part: part + 1,
            });
        }
        Ok(true)
    }

    /// Copies one part of `window`, whose own shard (already read to count its parts) is
    /// `own_shard`.
    fn copy_part(
        &mut self,
        window: ShardWindow,
        own_shard: Option<ShardFilter>,
        part: u64,
        parts: u64,
        last: bool,
    ) -> anyhow::Result<()> {
        let width = self.hub.settings.shard_width_seconds;
        let windows_back = self.settings.windows_back;
        // Only shards up to the next window: those are closed for every run of this pass, so
        // a pass redone after a crash decides exactly as the first did.
        let newest_usable = window.end_unix_seconds();
        let mut shards: HashMap<ShardWindow, Option<ShardFilter>> =
            HashMap::from([(window, own_shard)]);
        let mut load_error: Option<anyhow::Error> = None;
        let hub = Arc::clone(&self.hub);
        let mut wanted = |trace_id: &TraceId, start_unix_nanos: u64| -> bool {
            if parts > 1 && trace_id_hash(trace_id) % parts != part {
                return false;
            }
            windows_to_check(trace_id, start_unix_nanos, width, windows_back).any(|candidate| {
                if candidate.start_unix_seconds > newest_usable {
                    return false;
                }
                let shard = shards.entry(candidate).or_insert_with(|| {
                    hub.closed_shard(candidate).unwrap_or_else(|error| {
                        load_error.get_or_insert(error);
                        None
                    })
                });
                shard.as_ref().is_some_and(|shard| shard.contains(trace_id))
            })
        };
        let position = ColdCheckpoint {
            window_start_unix_seconds: window.start_unix_seconds,
            part,
            last,
        }
        .to_commit_mark();
        // The part is held until the scan has succeeded: a failed scan leaves nothing behind
        // in the cold memtable to be written twice when the part is redone.
        let mut chunks: Vec<Vec<Span>> = Vec::new();
        let mut sink = |spans: Vec<Span>| -> Result<(), weft_storage::StoreError> {
            match chunks.last_mut() {
                Some(chunk) if chunk.len() < WRITE_CHUNK_SPANS => chunk.extend(spans),
                _ => chunks.push(spans),
            }
            Ok(())
        };
        let report = self.hot.scan_spans(
            window.start_unix_seconds * 1_000_000_000,
            window.end_unix_seconds() * 1_000_000_000,
            &mut wanted,
            &mut sink,
        )?;
        // The kept traces' log records of the window go along, by the same shards.
        let log_records = self.hot_logs.scan(
            window.start_unix_seconds * 1_000_000_000,
            window.end_unix_seconds() * 1_000_000_000,
            &mut |record| {
                record
                    .trace_id
                    .is_some_and(|trace_id| wanted(&trace_id, record.time_unix_nanos))
            },
        )?;
        if let Some(error) = load_error {
            return Err(error.context(format!("loading the shards for {window}")));
        }
        // Logs commit first: if the process dies between the two commits, the part is redone
        // and the cold log store ignores the part's position, which it has already.
        let copied_log_records = log_records.len() as u64;
        if !log_records.is_empty() && self.cold_logs.write(position, Arc::new(log_records))? {
            self.commit_with_retry(window, part, || self.cold_logs.flush())?;
        }
        let copied: u64 = chunks.iter().map(|chunk| chunk.len() as u64).sum();
        for chunk in chunks {
            self.cold.write(position, Arc::new(chunk))?;
        }
        if copied > 0 {
            self.commit_with_retry(window, part, || self.cold.flush())?;
        }
        self.count_part(
            window,
            (part, parts),
            report.scanned_spans,
            copied,
            copied_log_records,
        );
        Ok(())
    }
}

impl ColdWriter {
    /// Commits what a part wrote into a cold store. Once written, the part is the store's to
    /// commit, so this waits and retries rather than redoing the part (which would copy it
    /// twice), unless the server is stopping.
    fn commit_with_retry(
        &self,
        window: ShardWindow,
        part: u64,
        commit: impl Fn() -> Result<(), weft_storage::StoreError>,
    ) -> anyhow::Result<()> {
        while let Err(error) = commit() {
            if self.stop.load(Ordering::Acquire) {
                return Err(
                    anyhow::Error::from(error).context("stopping with a cold part uncommitted")
                );
            }
            tracing::error!(%error, %window, part, "committing a cold part failed; waiting for the retry");
            std::thread::sleep(Duration::from_secs(1));
        }
        Ok(())
    }
}

/// How many parts a window is copied in: from its shard's key count, so a restart splits it
/// the same way.
fn parts_of(own_shard: Option<&ShardFilter>, traces_per_part: u64) -> u64 {
    own_shard
        .map_or(0, ShardFilter::inserted_keys)
        .div_ceil(traces_per_part)
        .clamp(1, MAX_PARTS)
}

fn sleep_unless_stopped(stop: &AtomicBool, duration: Duration) {
    let deadline = std::time::Instant::now() + duration;
    while !stop.load(Ordering::Acquire) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}
