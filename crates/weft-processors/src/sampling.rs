//! Tail sampling: the pipeline processor that runs the rules over the span stream, and the
//! shared state the cold writer and the API read. What it keeps goes through the storage seam
//! (`weft_storage::sampling`; in all-in-one, files under `<data>/sampling/`):
//! - a `ShardStore`: one closed window's filter in the exchange format of
//!   `weft_sampling::ShardFilter` (checksummed, versioned; what nodes will exchange and OR).
//!   A closed shard's existence means its window is closed.
//! - the `checkpoint` blob: the open shards, the head clock and the bus position they cover,
//!   so a restart replays only the bus after it (exactly once, like the span and metric
//!   stores).
//! - the `rules.json` blob: rules set through the API; they win over the configuration file's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use weft_pipeline::{PipelineError, Position, Processor, SpanBatch, Tick};
use weft_sampling::{
    FilterSizing, RefusedMarks, RuleCounters, Sampler, SamplingConfig, SamplingError, ShardFilter,
    ShardWindow,
};
use weft_storage::sampling::{CheckpointStore, ShardStore, ShardWindowKey};

const CHECKPOINT_MAGIC: &[u8; 8] = b"WEFTSCKP";
const CHECKPOINT_VERSION: u16 = 1;

#[derive(Debug, Clone, Copy)]
pub struct SamplingSettings {
    pub shard_width_seconds: u32,
    pub sizing: FilterSizing,
    /// A window's shard closes this long after the window ends.
    pub cold_delay: Duration,
    pub checkpoint_interval: Duration,
    /// How far ahead of arrival a span may start (ingest moves later ones to their arrival).
    pub max_clock_skew: Duration,
}

impl SamplingSettings {
    /// The most shards real traffic keeps open: the windows not yet closed (the cold delay
    /// and the one being filled) up to the latest a span can be marked in — its start up to
    /// the clock skew ahead, a Weft-issued trace ID's time up to an hour after that (see
    /// `shard_window_of`) — and two to spare. Each is a full-size filter, so this bounds the
    /// sampler's memory whatever times the spans claim.
    pub fn max_open_shards(&self) -> usize {
        let reach = self.cold_delay + self.max_clock_skew + Duration::from_secs(3_600);
        let windows = reach
            .as_secs()
            .div_ceil(u64::from(self.shard_width_seconds.max(1)));
        usize::try_from(windows)
            .unwrap_or(usize::MAX)
            .saturating_add(3)
    }
}

/// Where the rules in force came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulesSource {
    /// The configuration file's `[sampling]` table, or the defaults.
    Configuration,
    /// `PUT /api/v1/sampling/rules` (persisted in `rules.json`).
    Api,
}

impl RulesSource {
    pub fn as_str(self) -> &'static str {
        match self {
            RulesSource::Configuration => "configuration",
            RulesSource::Api => "api",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShardLabels {
    /// `newest_open` or `last_closed`.
    shard: String,
}

#[derive(Clone, Default)]
struct SamplingMetrics {
    matched_spans: Family<RuleLabels, Counter>,
    kept_traces: Family<RuleLabels, Counter>,
    limited_traces: Family<RuleLabels, Counter>,
    shard_keys: Family<ShardLabels, Gauge>,
    shard_fill_ratio: Family<ShardLabels, Gauge<f64, AtomicU64>>,
    shard_false_positive_rate: Family<ShardLabels, Gauge<f64, AtomicU64>>,
    open_shards: Gauge,
    closed_shards: Counter,
    late_marks: Counter,
    marks_over_open_shard_cap: Counter,
    closed_through_seconds: Gauge,
}

impl SamplingMetrics {
    fn register(registry: &mut Registry) -> Self {
        let metrics = SamplingMetrics::default();
        registry.register(
            "weft_sampling_rule_matched_spans",
            "Spans on which a sampling rule's condition held",
            metrics.matched_spans.clone(),
        );
        registry.register(
            "weft_sampling_rule_kept_traces",
            "Traces a sampling rule newly marked for the cold tier",
            metrics.kept_traces.clone(),
        );
        registry.register(
            "weft_sampling_rule_limited_traces",
            "Traces a sampling rule would have marked but its rate limit refused",
            metrics.limited_traces.clone(),
        );
        registry.register(
            "weft_sampling_shard_keys",
            "Trace IDs inserted into a shard's Bloom filter",
            metrics.shard_keys.clone(),
        );
        registry.register(
            "weft_sampling_shard_fill_ratio",
            "Share of a shard filter's bits that are set",
            metrics.shard_fill_ratio.clone(),
        );
        registry.register(
            "weft_sampling_shard_false_positive_rate",
            "False-positive rate of a shard filter estimated from its bits",
            metrics.shard_false_positive_rate.clone(),
        );
        registry.register(
            "weft_sampling_open_shards",
            "Shard windows still open (in memory and in the checkpoint)",
            metrics.open_shards.clone(),
        );
        registry.register(
            "weft_sampling_closed_shards",
            "Shards closed and written durably since start",
            metrics.closed_shards.clone(),
        );
        registry.register(
            "weft_sampling_late_marks",
            "Trace IDs marked in a window already closed (a span later than the cold delay); not kept",
            metrics.late_marks.clone(),
        );
        registry.register(
            "weft_sampling_marks_over_open_shard_cap",
            "Traces not kept because marking them would have opened a shard past the cap (spans spread over more windows than any real traffic: a clock far off, or hostile input)",
            metrics.marks_over_open_shard_cap.clone(),
        );
        registry.register(
            "weft_sampling_closed_through_seconds",
            "Unix time up to which every shard window is closed and durable",
            metrics.closed_through_seconds.clone(),
        );
        metrics
    }

    fn show_shard(&self, which: &str, shard: &ShardFilter) {
        let labels = ShardLabels {
            shard: which.to_owned(),
        };
        weft_observe::set_count(
            &self.shard_keys.get_or_create(&labels),
            shard.inserted_keys(),
        );
        self.shard_fill_ratio
            .get_or_create(&labels)
            .set(shard.fill_ratio());
        self.shard_false_positive_rate
            .get_or_create(&labels)
            .set(shard.measured_false_positive_rate());
    }
}

/// The sampler and its durable state, shared by the pipeline processor (which marks), the cold
/// writer (which reads closed shards) and the API (rules, explanations).
pub struct SamplingHub {
    shards: Arc<dyn ShardStore>,
    checkpoints: Arc<dyn CheckpointStore>,
    pub settings: SamplingSettings,
    sampler: Mutex<Sampler>,
    rules_source: Mutex<RulesSource>,
    /// Every window ending at or before this Unix second is closed and its shard file (if it
    /// kept anything) durable, and the hot tier has every span the bus had when it closed:
    /// published only when the pipeline has caught up (after a restart, once the WAL's replay
    /// into the hot tier is done), so the cold writer never reads a window half replayed.
    closed_through: AtomicU64,
    /// The checkpoint's closed-through time, where the processor resumes closing.
    checkpoint_closed_through: u64,
    /// The newest span time seen (clamped to the wall clock), or the wall clock when the
    /// pipeline has caught up: the time shards close by.
    head_unix_nanos: AtomicU64,
    /// The position the checkpoint covers.
    checkpoint_position: AtomicU64,
    /// Serialises writes of one shard file (the processor closes, nobody else writes).
    shard_write: Mutex<()>,
    metrics: SamplingMetrics,
}

fn key_of(window: ShardWindow) -> ShardWindowKey {
    ShardWindowKey {
        start_unix_seconds: window.start_unix_seconds,
        width_seconds: window.width_seconds,
    }
}

/// The checkpoint blob's name in the checkpoint store.
const CHECKPOINT_NAME: &str = "checkpoint";
/// The rules set through the API, in the checkpoint store.
const RULES_NAME: &str = "rules.json";

struct Checkpoint<Shard> {
    position: Position,
    head_unix_nanos: u64,
    closed_through: u64,
    shards: Vec<Shard>,
}

/// Encodes a checkpoint whose shards are already in their exchange format.
fn encode_checkpoint(checkpoint: &Checkpoint<Vec<u8>>) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(CHECKPOINT_MAGIC);
    bytes.extend_from_slice(&CHECKPOINT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&checkpoint.position.to_le_bytes());
    bytes.extend_from_slice(&checkpoint.head_unix_nanos.to_le_bytes());
    bytes.extend_from_slice(&checkpoint.closed_through.to_le_bytes());
    bytes.extend_from_slice(&(checkpoint.shards.len() as u32).to_le_bytes());
    for shard_bytes in &checkpoint.shards {
        bytes.extend_from_slice(&(shard_bytes.len() as u64).to_le_bytes());
        bytes.extend_from_slice(shard_bytes);
    }
    let checksum = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&checksum.to_le_bytes());
    bytes
}

fn decode_checkpoint(bytes: &[u8]) -> Result<Checkpoint<ShardFilter>, String> {
    let body_length = bytes
        .len()
        .checked_sub(4)
        .ok_or("the checkpoint is too short")?;
    let (body, checksum) = bytes.split_at(body_length);
    if crc32fast::hash(body) != u32::from_le_bytes(checksum.try_into().expect("4 bytes")) {
        return Err("the checkpoint's checksum does not match".into());
    }
    let mut cursor = body;
    let mut take = |count: usize| -> Result<&[u8], String> {
        if cursor.len() < count {
            return Err("the checkpoint is cut short".into());
        }
        let (head, rest) = cursor.split_at(count);
        cursor = rest;
        Ok(head)
    };
    if take(8)? != CHECKPOINT_MAGIC {
        return Err("not a sampling checkpoint".into());
    }
    let version = u16::from_le_bytes(take(2)?.try_into().expect("2 bytes"));
    if version != CHECKPOINT_VERSION {
        return Err(format!("unknown checkpoint version {version}"));
    }
    let position = u64::from_le_bytes(take(8)?.try_into().expect("8 bytes"));
    let head_unix_nanos = u64::from_le_bytes(take(8)?.try_into().expect("8 bytes"));
    let closed_through = u64::from_le_bytes(take(8)?.try_into().expect("8 bytes"));
    let count = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes"));
    let mut shards = Vec::new();
    for _ in 0..count {
        let length = u64::from_le_bytes(take(8)?.try_into().expect("8 bytes"));
        let length = usize::try_from(length).map_err(|_| "a shard length overflows")?;
        let shard = ShardFilter::from_bytes(take(length)?).map_err(|error| error.to_string())?;
        shards.push(shard);
    }
    Ok(Checkpoint {
        position,
        head_unix_nanos,
        closed_through,
        shards,
    })
}

impl SamplingHub {
    /// Opens `<data>/sampling`: the rules (the API's, else `configured`), the checkpoint's
    /// open shards (those whose window has a shard file since are closed already), and the bus
    /// position the checkpoint covers, where the processor resumes.
    pub fn open(
        shards: Arc<dyn ShardStore>,
        checkpoints: Arc<dyn CheckpointStore>,
        configured: SamplingConfig,
        settings: SamplingSettings,
        registry: &mut Registry,
    ) -> anyhow::Result<Arc<SamplingHub>> {
        let (rules, source) = match checkpoints.load(RULES_NAME)? {
            Some(bytes) => {
                let rules: SamplingConfig = serde_json::from_slice(&bytes)
                    .context("reading the sampling rules set through the API")?;
                tracing::info!(
                    "sampling rules set through the API are in force (they win over the configuration file)"
                );
                (rules, RulesSource::Api)
            }
            None => (configured, RulesSource::Configuration),
        };
        let mut sampler = Sampler::new(rules, settings.shard_width_seconds, settings.sizing)
            .context("starting the sampler")?;
        sampler.set_max_open_shards(settings.max_open_shards());
        let checkpoint = match checkpoints.load(CHECKPOINT_NAME)? {
            Some(bytes) => decode_checkpoint(&bytes)
                .map_err(|error| anyhow::anyhow!("corrupt sampling checkpoint: {error}"))?,
            // A first start: nothing open, nothing closed, the bus from its beginning.
            None => Checkpoint {
                position: 0,
                head_unix_nanos: 0,
                closed_through: 0,
                shards: Vec::new(),
            },
        };
        for shard in checkpoint.shards {
            if shards.closed_shard(key_of(shard.window()))?.is_some() {
                continue;
            }
            sampler.restore_shard(shard).context(
                "the checkpoint's shards do not fit --sampling-shard and the filter sizing; \
                 move <data>/sampling away to start afresh",
            )?;
        }
        let hub = SamplingHub {
            settings,
            sampler: Mutex::new({
                sampler.set_closed_through(checkpoint.closed_through);
                sampler
            }),
            rules_source: Mutex::new(source),
            closed_through: AtomicU64::new(0),
            checkpoint_closed_through: checkpoint.closed_through,
            head_unix_nanos: AtomicU64::new(checkpoint.head_unix_nanos),
            checkpoint_position: AtomicU64::new(checkpoint.position),
            shard_write: Mutex::new(()),
            metrics: SamplingMetrics::register(registry),
            shards,
            checkpoints,
        };
        Ok(Arc::new(hub))
    }

    /// Every window ending at or before this Unix second is closed and durable.
    pub fn closed_through(&self) -> u64 {
        self.closed_through.load(Ordering::Acquire)
    }

    pub fn head_unix_nanos(&self) -> u64 {
        self.head_unix_nanos.load(Ordering::Acquire)
    }

    /// A closed window's filter, or `None` when the window kept nothing (or is not closed).
    pub fn closed_shard(&self, window: ShardWindow) -> anyhow::Result<Option<ShardFilter>> {
        match self.shards.closed_shard(key_of(window))? {
            Some(bytes) => Ok(Some(
                ShardFilter::from_bytes(&bytes)
                    .with_context(|| format!("reading the closed shard of {window}"))?,
            )),
            None => Ok(None),
        }
    }

    /// The closed shards' windows and sizes, oldest first.
    pub fn closed_shards(&self) -> anyhow::Result<Vec<(ShardWindow, u64)>> {
        Ok(self
            .shards
            .closed_shards()?
            .into_iter()
            .map(|(key, bytes)| {
                let window = ShardWindow {
                    start_unix_seconds: key.start_unix_seconds,
                    width_seconds: key.width_seconds,
                };
                (window, bytes)
            })
            .collect())
    }

    /// Writes a closed shard durably, ORed into the file already there (a restart closing a
    /// window again, or another node's shard of the same window).
    fn write_closed_shard(&self, mut shard: ShardFilter) -> anyhow::Result<()> {
        let _guard = self.shard_write.lock();
        if let Some(existing) = self.closed_shard(shard.window())? {
            shard.merge(&existing)?;
        }
        self.shards
            .put_closed_shard(key_of(shard.window()), &shard.to_bytes())
            .context("writing a closed shard")?;
        self.metrics.show_shard("last_closed", &shard);
        self.metrics.closed_shards.inc();
        Ok(())
    }

    fn write_checkpoint(&self, checkpoint: &Checkpoint<Vec<u8>>) -> anyhow::Result<()> {
        self.checkpoints
            .save(CHECKPOINT_NAME, &encode_checkpoint(checkpoint))
            .context("writing the sampling checkpoint")
    }

    pub fn rules(&self) -> (SamplingConfig, RulesSource) {
        (
            self.sampler.lock().config().clone(),
            *self.rules_source.lock(),
        )
    }

    /// Replaces the rules from the next span on and persists them (they survive a restart and
    /// win over the configuration file).
    pub fn set_rules(&self, rules: SamplingConfig) -> Result<(), SetRulesError> {
        rules.validate().map_err(SetRulesError::Invalid)?;
        let bytes = serde_json::to_vec_pretty(&rules).expect("rules serialize");
        self.checkpoints
            .save(RULES_NAME, &bytes)
            .map_err(|error| SetRulesError::Io(error.to_string()))?;
        self.sampler
            .lock()
            .replace_config(rules)
            .map_err(SetRulesError::Invalid)?;
        *self.rules_source.lock() = RulesSource::Api;
        Ok(())
    }

    /// Runs `read` with the sampler (explanations, status).
    pub fn with_sampler<T>(&self, read: impl FnOnce(&Sampler) -> T) -> T {
        read(&self.sampler.lock())
    }

    pub fn counters(&self) -> Vec<(String, RuleCounters)> {
        self.sampler.lock().counters()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SetRulesError {
    #[error("{0}")]
    Invalid(SamplingError),
    #[error("persisting the sampling rules failed: {0}")]
    Io(String),
}

/// The pipeline processor: every span through the rules, shards closed `cold_delay` after
/// their window, the state checkpointed so a restart replays only what came after.
pub struct SamplingProcessor {
    hub: Arc<SamplingHub>,
    last_position: Position,
    durable_position: Position,
    /// Keys in the open shards at the last checkpoint (a change means a new checkpoint).
    checkpointed_keys: u64,
    /// When the last checkpoint was written, by the pipeline's clock (the first tick's time
    /// until then).
    last_checkpoint_unix_nanos: Option<u64>,
    exported_counters: Vec<(String, RuleCounters)>,
    exported_refused_marks: RefusedMarks,
    /// Every window ending at or before this is closed (published to the hub when caught up).
    closed_through: u64,
}

impl SamplingProcessor {
    pub fn new(hub: Arc<SamplingHub>) -> Self {
        let position = hub.checkpoint_position.load(Ordering::Acquire);
        let checkpointed_keys = hub.with_sampler(open_keys);
        let closed_through = hub.checkpoint_closed_through;
        SamplingProcessor {
            closed_through,
            hub,
            last_position: position,
            durable_position: position,
            checkpointed_keys,
            last_checkpoint_unix_nanos: None,
            exported_counters: Vec::new(),
            exported_refused_marks: RefusedMarks::default(),
        }
    }

    fn export_counters(&mut self) {
        let counters = self.hub.counters();
        for (rule, now) in &counters {
            let before = self
                .exported_counters
                .iter()
                .find(|(name, _)| name == rule)
                .map(|(_, counters)| *counters)
                .unwrap_or_default();
            let labels = RuleLabels { rule: rule.clone() };
            let metrics = &self.hub.metrics;
            metrics
                .matched_spans
                .get_or_create(&labels)
                .inc_by(now.matched_spans.saturating_sub(before.matched_spans));
            metrics
                .kept_traces
                .get_or_create(&labels)
                .inc_by(now.kept_traces.saturating_sub(before.kept_traces));
            metrics
                .limited_traces
                .get_or_create(&labels)
                .inc_by(now.limited_traces.saturating_sub(before.limited_traces));
        }
        self.exported_counters = counters;
        let refused = self.hub.with_sampler(Sampler::refused_marks);
        let before = self.exported_refused_marks;
        let metrics = &self.hub.metrics;
        metrics.late_marks.inc_by(refused.late - before.late);
        metrics
            .marks_over_open_shard_cap
            .inc_by(refused.over_open_shard_cap - before.over_open_shard_cap);
        self.exported_refused_marks = refused;
    }

    /// Closes the windows the head has passed by the cold delay, then checkpoints if anything
    /// changed (or when asked to).
    fn close_and_checkpoint(&mut self, force: bool, tick: &Tick) -> anyhow::Result<()> {
        let caught_up = tick.caught_up;
        let since = *self
            .last_checkpoint_unix_nanos
            .get_or_insert(tick.now_unix_nanos);
        let hub = Arc::clone(&self.hub);
        let width = u64::from(hub.settings.shard_width_seconds);
        let head_seconds = hub.head_unix_nanos() / 1_000_000_000;
        let bound = head_seconds.saturating_sub(hub.settings.cold_delay.as_secs());
        let bound = bound - bound % width;
        let previously_closed = self.closed_through;
        let closing = hub.sampler.lock().take_shards_ending_by(bound);
        let closed_any = !closing.is_empty();
        for shard in closing {
            if shard.window().end_unix_seconds() <= previously_closed {
                // Marked after its window closed: the cold writer may have passed it already.
                hub.metrics.late_marks.inc_by(shard.inserted_keys());
                tracing::warn!(window = %shard.window(), keys = shard.inserted_keys(), "trace IDs marked after their shard window closed were dropped (a span later than --cold-delay)");
                continue;
            }
            hub.write_closed_shard(shard)?;
        }
        let closed_through = previously_closed.max(bound);
        let keys = hub.with_sampler(|sampler| {
            weft_observe::set_count(
                &hub.metrics.open_shards,
                sampler.open_shards().count() as u64,
            );
            if let Some(newest) = sampler.open_shards().last() {
                hub.metrics.show_shard("newest_open", newest);
            }
            open_keys(sampler)
        });
        let changed =
            keys != self.checkpointed_keys || closed_any || closed_through != previously_closed;
        // A graceful stop always writes one, so the next start resumes exactly where it ended.
        if force
            || (changed
                && (closed_any || tick.elapsed_since(since, hub.settings.checkpoint_interval)))
        {
            let shards: Vec<Vec<u8>> = hub
                .with_sampler(|sampler| sampler.open_shards().map(ShardFilter::to_bytes).collect());
            hub.write_checkpoint(&Checkpoint {
                position: self.last_position,
                head_unix_nanos: hub.head_unix_nanos(),
                closed_through,
                shards,
            })?;
            self.checkpointed_keys = keys;
            self.last_checkpoint_unix_nanos = Some(tick.now_unix_nanos);
            self.durable_position = self.last_position;
            hub.checkpoint_position
                .store(self.last_position, Ordering::Release);
        } else if !changed {
            // Nothing to save: what was processed since the checkpoint marked nothing new.
            self.durable_position = self.last_position;
        }
        self.closed_through = closed_through;
        // Published whether or not a checkpoint was written (the shard files of every window
        // up to it are durable), but only once the hot tier has what the bus has.
        if caught_up && hub.closed_through() != closed_through {
            hub.closed_through.store(closed_through, Ordering::Release);
            weft_observe::set_count(&hub.metrics.closed_through_seconds, closed_through);
        }
        Ok(())
    }
}

fn open_keys(sampler: &Sampler) -> u64 {
    sampler.open_shards().map(ShardFilter::inserted_keys).sum()
}

fn processor_error(error: anyhow::Error) -> PipelineError {
    PipelineError::Processor {
        processor: "sampler".into(),
        message: format!("{error:#}"),
    }
}

impl Processor for SamplingProcessor {
    fn name(&self) -> &str {
        "sampler"
    }

    fn process(&mut self, batch: &SpanBatch) -> Result<(), PipelineError> {
        let wall_clock = batch.read_at_unix_nanos;
        let mut head = self.hub.head_unix_nanos();
        {
            let mut sampler = self.hub.sampler.lock();
            for span in batch.spans.iter() {
                head = head.max(span.end_time_unix_nanos.min(wall_clock));
                // Rate limits run on the head clock, so a replay decides as the first run did.
                sampler.observe(span, head);
            }
        }
        self.hub.head_unix_nanos.store(head, Ordering::Release);
        self.last_position = batch.position;
        Ok(())
    }

    fn tick(&mut self, tick: &Tick) -> Result<(), PipelineError> {
        if tick.caught_up {
            // Nothing older is waiting in the bus, so the wall clock is the head.
            self.hub
                .head_unix_nanos
                .fetch_max(tick.now_unix_nanos, Ordering::AcqRel);
        }
        self.export_counters();
        self.close_and_checkpoint(false, tick)
            .map_err(processor_error)
    }

    fn durable_position(&self) -> Position {
        self.durable_position
    }

    fn flush(&mut self, tick: &Tick) -> Result<(), PipelineError> {
        self.export_counters();
        // Not published as caught up: a stop does not wait for the hot tier to have it all.
        let tick = Tick {
            caught_up: false,
            ..*tick
        };
        self.close_and_checkpoint(true, &tick)
            .map_err(processor_error)
    }
}

#[cfg(test)]
pub fn checkpoint_round_trip_for_tests(
    shards: Vec<ShardFilter>,
) -> Result<Vec<ShardFilter>, String> {
    let bytes = encode_checkpoint(&Checkpoint {
        position: 7,
        head_unix_nanos: 8,
        closed_through: 9,
        shards: shards.iter().map(ShardFilter::to_bytes).collect(),
    });
    decode_checkpoint(&bytes).map(|checkpoint| checkpoint.shards)
}
