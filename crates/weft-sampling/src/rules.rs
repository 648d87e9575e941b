//! Sampling rules: which traces the cold tier keeps.
//!
//! Every span is offered to [`Sampler::observe`]. A rule whose condition holds on the span
//! marks the span's trace in the Bloom filter of the trace's shard window — within the rule's
//! rate limit, counted in traces (a trace already marked costs no token). Traces no rule keeps
//! are kept with the default share, decided from the trace ID alone so that every node, every
//! span and every restart agrees. The sampler reads no clock: callers pass the time.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use weft_model::{
    contains_any_word_ignoring_ascii_case, find_attribute, AttributeValue, Span, TraceId,
    TraceIdTimeWindow,
};

use crate::bloom::{FilterSizing, SamplingError, ShardFilter, ShardWindow};

/// What a rule looks for on one span. In TOML and JSON a table tagged by `type`, durations as
/// text (`{ type = "slow_database_call", min_duration = "200ms" }`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// The span's status is error.
    ErrorStatus,
    /// A database call (`db.system` set) at least this long.
    SlowDatabaseCall {
        #[serde(rename = "min_duration", with = "duration_text")]
        min_duration_nanos: u64,
    },
    /// A root span (no parent) at least this long.
    SlowRoot {
        #[serde(rename = "min_duration", with = "duration_text")]
        min_duration_nanos: u64,
    },
    /// A business key (`--business-keys`) is on the span: one of `keys`, or any when empty.
    BusinessKey {
        /// Only these business key names; empty means any.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        keys: Vec<String>,
    },
    /// A word (ignoring ASCII case, as exemplar keywords do) in the status message or an
    /// exception event's type or message.
    Keyword { words: Vec<String> },
    /// A span or resource attribute predicate.
    Attribute {
        key: String,
        predicate: AttributePredicate,
    },
}

/// `"exists"`, `{ equals = "text" }` or `{ at_least = 5.0 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributePredicate {
    Exists,
    /// The value's text form (numbers and booleans as written) equals this.
    Equals(String),
    /// A numeric value at least this.
    AtLeast(f64),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique; names the rule in counters, overrides and explanations.
    pub name: String,
    pub condition: Condition,
    /// Traces a second this rule may newly keep; `None` is unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_traces_per_second: Option<f64>,
}

/// Per-service changes to the rules.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceOverride {
    pub service: String,
    /// Replaces the default share for traces whose spans of this service no rule keeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_share: Option<f64>,
    /// Replaces the threshold of `SlowRoot` rules on this service's spans.
    #[serde(
        default,
        rename = "slow_root",
        with = "optional_duration_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub slow_root_nanos: Option<u64>,
    /// Replaces the threshold of `SlowDatabaseCall` rules on this service's spans.
    #[serde(
        default,
        rename = "slow_database",
        with = "optional_duration_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub slow_database_nanos: Option<u64>,
    /// Rules that do not apply to this service's spans.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disabled_rules: Vec<String>,
}

/// The `[sampling]` table of the configuration file, and the body of `PUT
/// /api/v1/sampling/rules`. A missing key takes its default (the product brief's rules and a
/// 0.1 % share).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplingConfig {
    pub rules: Vec<Rule>,
    /// The share of all other traces kept, decided from the trace ID (default 0.1 %).
    pub default_keep_share: f64,
    pub services: Vec<ServiceOverride>,
}

/// Durations as text (`"200ms"`, `"1s"`), as everywhere else in Weft's configuration.
mod duration_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(nanos: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&humantime::format_duration(
            std::time::Duration::from_nanos(*nanos),
        ))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).map_err(serde::de::Error::custom)
    }

    pub(super) fn parse(text: &str) -> Result<u64, String> {
        let duration = weft_model::parse_duration(text)?;
        u64::try_from(duration.as_nanos()).map_err(|_| format!("duration {text:?} is too long"))
    }
}

mod optional_duration_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        nanos: &Option<u64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match nanos {
            Some(nanos) => super::duration_text::serialize(nanos, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<u64>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| super::duration_text::parse(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// The name the default share's decisions are counted under.
pub const DEFAULT_SHARE_RULE: &str = "default_share";

impl Default for SamplingConfig {
    /// The rules of the product brief: errors, database calls over 200 ms, roots over 1 s,
    /// business keys; 0.1 % of everything else.
    fn default() -> Self {
        let rule = |name: &str, condition| Rule {
            name: name.to_owned(),
            condition,
            max_traces_per_second: None,
        };
        SamplingConfig {
            rules: vec![
                rule("error", Condition::ErrorStatus),
                rule(
                    "slow_database_call",
                    Condition::SlowDatabaseCall {
                        min_duration_nanos: 200_000_000,
                    },
                ),
                rule(
                    "slow_root",
                    Condition::SlowRoot {
                        min_duration_nanos: 1_000_000_000,
                    },
                ),
                // Orders, not users: a user ID is on nearly every request (it is a business
                // key for search), and keeping every trace that has one would keep everything.
                rule(
                    "business_key",
                    Condition::BusinessKey {
                        keys: vec!["order.id".to_owned(), "bizOrderId".to_owned()],
                    },
                ),
            ],
            default_keep_share: 0.001,
            services: Vec::new(),
        }
    }
}

impl SamplingConfig {
    /// Refuses what cannot work, naming the rule and the problem.
    pub fn validate(&self) -> Result<(), SamplingError> {
        let invalid = |message: String| Err(SamplingError::InvalidRules(message));
        let share_ok = |share: f64| (0.0..=1.0).contains(&share);
        if !share_ok(self.default_keep_share) {
            return invalid(format!(
                "the default keep share must be between 0 and 1, not {}",
                self.default_keep_share
            ));
        }
        let mut names = std::collections::HashSet::new();
        for rule in &self.rules {
            if rule.name.is_empty() || rule.name == DEFAULT_SHARE_RULE {
                return invalid(format!(
                    "a rule needs a name other than \"{DEFAULT_SHARE_RULE}\""
                ));
            }
            if !names.insert(rule.name.as_str()) {
                return invalid(format!("two rules are named \"{}\"", rule.name));
            }
            if let Some(rate) = rule
                .max_traces_per_second
                .filter(|rate| !(*rate > 0.0 && rate.is_finite()))
            {
                return invalid(format!(
                    "rule \"{}\": max traces per second must be positive, not {rate}",
                    rule.name
                ));
            }
            match &rule.condition {
                Condition::Keyword { words } if words.iter().all(|word| word.trim().is_empty()) => {
                    return invalid(format!(
                        "rule \"{}\": a keyword rule needs words",
                        rule.name
                    ));
                }
                Condition::Attribute { key, .. } if key.is_empty() => {
                    return invalid(format!(
                        "rule \"{}\": an attribute rule needs a key",
                        rule.name
                    ));
                }
                _ => {}
            }
        }
        for service in &self.services {
            if let Some(share) = service.keep_share.filter(|share| !share_ok(*share)) {
                return invalid(format!(
                    "service \"{}\": the keep share must be between 0 and 1, not {share}",
                    service.service
                ));
            }
            if let Some(unknown) = service
                .disabled_rules
                .iter()
                .find(|name| !names.contains(name.as_str()))
            {
                return invalid(format!(
                    "service \"{}\" disables rule \"{unknown}\", which does not exist",
                    service.service
                ));
            }
        }
        Ok(())
    }
}

/// What a rule did, counted since the sampler started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleCounters {
    /// Spans on which the condition held.
    pub matched_spans: u64,
    /// Traces the rule newly marked.
    pub kept_traces: u64,
    /// Traces the rule would have marked but its rate limit refused.
    pub limited_traces: u64,
}

/// Why a span's trace is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeepReason {
    /// The rule of this name holds on the span (and kept the trace or found it kept).
    Rule(String),
    /// The trace is in the default share.
    DefaultShare,
    /// Already marked in its shard (by an earlier span, or a Bloom false positive).
    AlreadyMarked,
}

/// A rate limit in traces per second, refilled continuously; the burst is one second's worth.
#[derive(Debug, Clone)]
struct TokenBucket {
    per_second: f64,
    tokens: f64,
    last_unix_nanos: u64,
}

impl TokenBucket {
    fn new(per_second: f64) -> Self {
        TokenBucket {
            per_second,
            tokens: per_second.max(1.0),
            last_unix_nanos: 0,
        }
    }

    fn try_take(&mut self, now_unix_nanos: u64) -> bool {
        if now_unix_nanos > self.last_unix_nanos {
            let elapsed = (now_unix_nanos - self.last_unix_nanos) as f64 / 1e9;
            self.tokens = (self.tokens + elapsed * self.per_second).min(self.per_second.max(1.0));
            self.last_unix_nanos = now_unix_nanos;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

struct CompiledRule {
    rule: Rule,
    /// The keywords without surrounding blanks (and without blank ones), for `Condition::Keyword`.
    trimmed_words: Vec<String>,
    limiter: Option<TokenBucket>,
    counters: RuleCounters,
}

/// Sampling rules applied to the span stream, and the open shards they mark.
pub struct Sampler {
    config: SamplingConfig,
    rules: Vec<CompiledRule>,
    overrides: HashMap<String, usize>,
    default_counters: RuleCounters,
    shard_width_seconds: u32,
    sizing: FilterSizing,
    shards: BTreeMap<ShardWindow, ShardFilter>,
    /// Which marks may open a shard: every filter is full size (~1.2 MB at the default
    /// sizing) whatever it holds, so a mark must not open one for a closed window or past the
    /// cap.
    marking: MarkingBounds,
}

/// What bounds the open shards, and what those bounds refused.
#[derive(Debug, Clone, Copy)]
struct MarkingBounds {
    /// Windows ending at or before this Unix second are closed: a mark there is late.
    closed_through_unix_seconds: u64,
    max_open_shards: usize,
    refused: RefusedMarks,
}

/// Marks the sampler refused, so their traces are not kept (counted since start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefusedMarks {
    /// For a window already closed (a span later than the cold delay).
    pub late: u64,
    /// For a new window while `max_open_shards` were open (spans spread over more windows
    /// than any real traffic: a clock far off, or hostile input).
    pub over_open_shard_cap: u64,
}

impl Sampler {
    pub fn new(
        config: SamplingConfig,
        shard_width_seconds: u32,
        sizing: FilterSizing,
    ) -> Result<Self, SamplingError> {
        if shard_width_seconds == 0 {
            return Err(SamplingError::InvalidRules(
                "the shard width must be at least one second".to_owned(),
            ));
        }
        sizing.blocks()?;
        let mut sampler = Sampler {
            config: SamplingConfig {
                rules: Vec::new(),
                default_keep_share: 0.0,
                services: Vec::new(),
            },
            rules: Vec::new(),
            overrides: HashMap::new(),
            default_counters: RuleCounters::default(),
            shard_width_seconds,
            sizing,
            shards: BTreeMap::new(),
            marking: MarkingBounds {
                closed_through_unix_seconds: 0,
                max_open_shards: usize::MAX,
                refused: RefusedMarks::default(),
            },
        };
        sampler.replace_config(config)?;
        Ok(sampler)
    }

    /// Applies new rules from the next span on. Open shards stay (what was marked stays
    /// marked); a rule keeps its counters when a rule of the same name is in the new rules.
    pub fn replace_config(&mut self, config: SamplingConfig) -> Result<(), SamplingError> {
        config.validate()?;
        let mut old_counters: HashMap<String, RuleCounters> = self
            .rules
            .drain(..)
            .map(|compiled| (compiled.rule.name, compiled.counters))
            .collect();
        self.rules = config
            .rules
            .iter()
            .map(|rule| CompiledRule {
                trimmed_words: match &rule.condition {
                    Condition::Keyword { words } => words
                        .iter()
                        .map(|word| word.trim().to_owned())
                        .filter(|word| !word.is_empty())
                        .collect(),
                    _ => Vec::new(),
                },
                limiter: rule.max_traces_per_second.map(TokenBucket::new),
                counters: old_counters.remove(&rule.name).unwrap_or_default(),
                rule: rule.clone(),
            })
            .collect();
        self.overrides = config
            .services
            .iter()
            .enumerate()
            .map(|(index, service)| (service.service.clone(), index))
            .collect();
        self.config = config;
        Ok(())
    }

    pub fn shard_width_seconds(&self) -> u32 {
        self.shard_width_seconds
    }

    /// At most this many shards open at once; a mark that would open one more is refused.
    pub fn set_max_open_shards(&mut self, max_open_shards: usize) {
        self.marking.max_open_shards = max_open_shards.max(1);
    }

    /// Windows ending at or before `unix_seconds` are closed (a restart resumes from its
    /// checkpoint's); [`Sampler::take_shards_ending_by`] moves it on.
    pub fn set_closed_through(&mut self, unix_seconds: u64) {
        let bounds = &mut self.marking;
        bounds.closed_through_unix_seconds = bounds.closed_through_unix_seconds.max(unix_seconds);
    }

    pub fn refused_marks(&self) -> RefusedMarks {
        self.marking.refused
    }

    pub fn sizing(&self) -> FilterSizing {
        self.sizing
    }

    pub fn config(&self) -> &SamplingConfig {
        &self.config
    }

    /// The shard window a span's trace is marked in: from the time in the trace ID when Weft
    /// issued it (so all of a trace's spans agree), else from the span's start.
    pub fn shard_of(&self, span: &Span) -> ShardWindow {
        shard_window_of(
            &span.trace_id,
            span.start_time_unix_nanos,
            self.shard_width_seconds,
        )
        .0
    }

    /// Evaluates the rules on `span` and marks its trace when one holds (or the default share
    /// picks it). `now_unix_nanos` drives the rate limits.
    pub fn observe(&mut self, span: &Span, now_unix_nanos: u64) -> Option<KeepReason> {
        let window = self.shard_of(span);
        let service_override = self
            .overrides
            .get(&span.service_name)
            .map(|&index| &self.config.services[index]);
        let mut marked: Option<bool> = None;
        let mut reason = None;
        for compiled in &mut self.rules {
            if service_override
                .is_some_and(|service| service.disabled_rules.contains(&compiled.rule.name))
                || !condition_holds(compiled, span, service_override)
            {
                continue;
            }
            compiled.counters.matched_spans += 1;
            if reason.is_some() {
                continue;
            }
            let already = *marked.get_or_insert_with(|| {
                self.shards
                    .get(&window)
                    .is_some_and(|shard| shard.contains(&span.trace_id))
            });
            if already {
                reason = Some(KeepReason::Rule(compiled.rule.name.clone()));
                continue;
            }
            if compiled
                .limiter
                .as_mut()
                .is_some_and(|limiter| !limiter.try_take(now_unix_nanos))
            {
                compiled.counters.limited_traces += 1;
                continue;
            }
            if !mark(
                &mut self.shards,
                &mut self.marking,
                window,
                self.sizing,
                &span.trace_id,
            ) {
                return None;
            }
            compiled.counters.kept_traces += 1;
            marked = Some(true);
            reason = Some(KeepReason::Rule(compiled.rule.name.clone()));
        }
        if reason.is_some() {
            return reason;
        }
        let share = service_override
            .and_then(|service| service.keep_share)
            .unwrap_or(self.config.default_keep_share);
        if !in_share(&span.trace_id, share) {
            return marked.unwrap_or(false).then_some(KeepReason::AlreadyMarked);
        }
        let already = marked.unwrap_or_else(|| {
            self.shards
                .get(&window)
                .is_some_and(|shard| shard.contains(&span.trace_id))
        });
        if already {
            return Some(KeepReason::AlreadyMarked);
        }
        self.default_counters.matched_spans += 1;
        if !mark(
            &mut self.shards,
            &mut self.marking,
            window,
            self.sizing,
            &span.trace_id,
        ) {
            return None;
        }
        self.default_counters.kept_traces += 1;
        Some(KeepReason::DefaultShare)
    }

    /// Each rule's counters, then the default share's (under [`DEFAULT_SHARE_RULE`]).
    pub fn counters(&self) -> Vec<(String, RuleCounters)> {
        self.rules
            .iter()
            .map(|compiled| (compiled.rule.name.clone(), compiled.counters))
            .chain(std::iter::once((
                DEFAULT_SHARE_RULE.to_owned(),
                self.default_counters,
            )))
            .collect()
    }

    /// The open shard of `window`, if a trace was marked in it.
    pub fn shard(&self, window: ShardWindow) -> Option<&ShardFilter> {
        self.shards.get(&window)
    }

    /// Removes and answers the shards whose window ended at or before `unix_seconds`, oldest
    /// first: a window is closed once the latest span that could still land in it is older.
    pub fn take_shards_ending_by(&mut self, unix_seconds: u64) -> Vec<ShardFilter> {
        if unix_seconds < u64::from(self.shard_width_seconds) {
            return Vec::new();
        }
        self.set_closed_through(unix_seconds);
        let open = self.shards.split_off(&ShardWindow {
            start_unix_seconds: unix_seconds - u64::from(self.shard_width_seconds) + 1,
            width_seconds: 0,
        });
        std::mem::replace(&mut self.shards, open)
            .into_values()
            .collect()
    }

    /// The open shards, oldest first (for a checkpoint).
    pub fn open_shards(&self) -> impl Iterator<Item = &ShardFilter> {
        self.shards.values()
    }

    /// Puts back a shard from a checkpoint, merged with what is already marked in its window.
    pub fn restore_shard(&mut self, shard: ShardFilter) -> Result<(), SamplingError> {
        match self.shards.get_mut(&shard.window()) {
            Some(open) => open.merge(&shard),
            None => {
                if shard.window().width_seconds != self.shard_width_seconds
                    || shard.sizing() != self.sizing
                {
                    return Err(SamplingError::IncompatibleShards {
                        left: format!(
                            "{}s shards sized {:?}",
                            shard.window().width_seconds,
                            shard.sizing()
                        ),
                        right: format!(
                            "{}s shards sized {:?}",
                            self.shard_width_seconds, self.sizing
                        ),
                    });
                }
                self.shards.insert(shard.window(), shard);
                Ok(())
            }
        }
    }

    /// Which rules hold on which spans of a trace, and whether the default share picks it —
    /// the same conditions `observe` evaluates (service overrides included), without rate
    /// limits and without marking anything.
    pub fn explain(&self, spans: &[Span]) -> Explanation {
        let mut matches = Vec::new();
        let mut in_default_share = false;
        let mut default_share: Option<f64> = None;
        for (span_index, span) in spans.iter().enumerate() {
            let service_override = self
                .overrides
                .get(&span.service_name)
                .map(|&index| &self.config.services[index]);
            for compiled in &self.rules {
                if service_override
                    .is_some_and(|service| service.disabled_rules.contains(&compiled.rule.name))
                {
                    continue;
                }
                if condition_holds(compiled, span, service_override) {
                    matches.push(RuleMatch {
                        rule: compiled.rule.name.clone(),
                        span_index,
                        rate_limited: compiled.limiter.is_some(),
                    });
                }
            }
            let share = service_override
                .and_then(|service| service.keep_share)
                .unwrap_or(self.config.default_keep_share);
            default_share = Some(default_share.map_or(share, |seen: f64| seen.max(share)));
            in_default_share |= in_share(&span.trace_id, share);
        }
        Explanation {
            matches,
            in_default_share,
            default_share: default_share.unwrap_or(self.config.default_keep_share),
        }
    }
}

/// One rule holding on one span of a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatch {
    pub rule: String,
    /// Index into the spans given to [`Sampler::explain`].
    pub span_index: usize,
    /// The rule has a rate limit, so a match may not have kept the trace.
    pub rate_limited: bool,
}

/// What [`Sampler::explain`] finds.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub matches: Vec<RuleMatch>,
    /// The trace ID falls in the default share (of some span's service).
    pub in_default_share: bool,
    /// The largest share that applied to the trace's spans.
    pub default_share: f64,
}

/// The shard window a trace is marked in, and whether it came from the time in the trace ID
/// (`true`) or, for an ID Weft did not issue, from the span's start (`false`).
pub fn shard_window_of(
    trace_id: &TraceId,
    start_unix_nanos: u64,
    width_seconds: u32,
) -> (ShardWindow, bool) {
    let start_seconds = start_unix_nanos / 1_000_000_000;
    // A trace started at most a day before this span, and clocks drift up to an hour.
    let plausible = TraceIdTimeWindow::around(start_seconds, 86_400, 3_600);
    match trace_id.embedded_time_unix_seconds(plausible) {
        Some(seconds) => (ShardWindow::containing(seconds, width_seconds), true),
        None => (ShardWindow::containing(start_seconds, width_seconds), false),
    }
}

/// The shard windows whose filters may hold a span's trace: the one window of the time in a
/// Weft-issued ID; for a foreign ID, whose spans are marked in the window of *their* start,
/// the span's own window, `windows_back` windows before it (the trace's earlier spans) and one
/// after (clock skew between services).
pub fn windows_to_check(
    trace_id: &TraceId,
    start_unix_nanos: u64,
    width_seconds: u32,
    windows_back: u32,
) -> impl Iterator<Item = ShardWindow> {
    let (window, from_id) = shard_window_of(trace_id, start_unix_nanos, width_seconds);
    let width = u64::from(width_seconds);
    let (back, forward) = if from_id {
        (0, 0)
    } else {
        (u64::from(windows_back), 1)
    };
    let first = window.start_unix_seconds.saturating_sub(back * width) / width;
    let last = window.start_unix_seconds / width + forward;
    (first..=last).map(move |index| ShardWindow {
        start_unix_seconds: index * width,
        width_seconds,
    })
}

/// Marks `trace_id` in `window`'s shard, opening it if the bounds allow; whether it did.
fn mark(
    shards: &mut BTreeMap<ShardWindow, ShardFilter>,
    bounds: &mut MarkingBounds,
    window: ShardWindow,
    sizing: FilterSizing,
    trace_id: &TraceId,
) -> bool {
    if let Some(shard) = shards.get_mut(&window) {
        shard.insert(trace_id);
        return true;
    }
    if window.end_unix_seconds() <= bounds.closed_through_unix_seconds {
        bounds.refused.late += 1;
        return false;
    }
    if shards.len() >= bounds.max_open_shards {
        bounds.refused.over_open_shard_cap += 1;
        return false;
    }
    shards
        .entry(window)
        .or_insert_with(|| ShardFilter::new(window, sizing).expect("sizing checked at start"))
        .insert(trace_id);
    true
}

fn condition_holds(
    compiled: &CompiledRule,
    span: &Span,
    service: Option<&ServiceOverride>,
) -> bool {
    match &compiled.rule.condition {
        Condition::ErrorStatus => span.is_error(),
        Condition::SlowDatabaseCall { min_duration_nanos } => {
            let threshold = service
                .and_then(|service| service.slow_database_nanos)
                .unwrap_or(*min_duration_nanos);
            span.duration_nanos() >= threshold && span.attribute("db.system").is_some()
        }
        Condition::SlowRoot { min_duration_nanos } => {
            let threshold = service
                .and_then(|service| service.slow_root_nanos)
                .unwrap_or(*min_duration_nanos);
            span.parent_span_id.is_none() && span.duration_nanos() >= threshold
        }
        Condition::BusinessKey { keys } => span
            .business_keys
            .iter()
            .any(|key| keys.is_empty() || keys.contains(&key.name)),
        Condition::Keyword { .. } => {
            let has_word =
                |text: &str| contains_any_word_ignoring_ascii_case(text, &compiled.trimmed_words);
            has_word(&span.status.message)
                || span.events.iter().any(|event| {
                    event.name == "exception"
                        && event.attributes.iter().any(|attribute| {
                            (attribute.key == "exception.type"
                                || attribute.key == "exception.message")
                                && attribute.value.as_str().is_some_and(has_word)
                        })
                })
        }
        Condition::Attribute { key, predicate } => {
            let value = span
                .attribute(key)
                .or_else(|| find_attribute(&span.resource.attributes, key));
            match (predicate, value) {
                (_, None) => false,
                (AttributePredicate::Exists, Some(_)) => true,
                (AttributePredicate::Equals(expected), Some(AttributeValue::String(text))) => {
                    text == expected
                }
                (AttributePredicate::Equals(expected), Some(value)) => value
                    .to_index_string()
                    .is_some_and(|text| text == *expected),
                (AttributePredicate::AtLeast(minimum), Some(value)) => {
                    value_number(value).is_some_and(|number| number >= *minimum)
                }
            }
        }
    }
}

fn value_number(value: &AttributeValue) -> Option<f64> {
    match value {
        AttributeValue::Int(number) => Some(*number as f64),
        AttributeValue::Double(number) => Some(*number),
        AttributeValue::String(text) => text.parse().ok(),
        _ => None,
    }
}

/// Whether a trace is in the kept `share`, from its ID alone: SplitMix64 of the two halves of
/// the ID, compared with `share · 2^64`. Every node, span and restart agrees, and the halves
/// are mixed because Weft-issued IDs begin with a timestamp.
pub fn in_share(trace_id: &TraceId, share: f64) -> bool {
    if share <= 0.0 {
        return false;
    }
    if share >= 1.0 {
        return true;
    }
    (trace_id_hash(trace_id) as f64) < share * 2f64.powi(64)
}

/// A uniform 64-bit hash of a trace ID (SplitMix64 of its halves), the same on every node:
/// the default share's decision, and how the cold writer splits a window into parts.
pub fn trace_id_hash(trace_id: &TraceId) -> u64 {
    let bytes = trace_id.as_bytes();
    let high = u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
    let low = u64::from_be_bytes(bytes[8..].try_into().expect("8 bytes"));
    splitmix64(high ^ splitmix64(low))
}

fn splitmix64(value: u64) -> u64 {
    let mut mixed = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    mixed ^ (mixed >> 31)
}
