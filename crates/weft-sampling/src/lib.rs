//! Tail sampling, sans I/O. Rules mark the trace IDs worth keeping for the cold tier in Bloom
//! filters sharded by time (`bloom`); the cold writer later copies the spans of every marked
//! trace. This crate holds the parts that need no clock, disk or network, so they are tested
//! exactly: the shard windows, the filters' sizing, merge and exchange format.

mod bloom;
mod rules;

pub use bloom::{
    estimated_false_positive_rate, FilterSizing, SamplingError, ShardFilter, ShardWindow,
    MAX_FILTER_BYTES, SHARD_FORMAT_VERSION,
};
pub use rules::{
    in_share, shard_window_of, trace_id_hash, windows_to_check, AttributePredicate, Condition,
    Explanation, KeepReason, RefusedMarks, Rule, RuleCounters, RuleMatch, Sampler, SamplingConfig,
    ServiceOverride, DEFAULT_SHARE_RULE,
};

#[cfg(test)]
mod tests;
