//! The server-side processors the pipeline feeds, and the state each shares with the query side:
//! the span store writer, tail sampling (shards, checkpoint, rules), the cold writer, span
//! metrics and topology, diagnostics, and the log writer.
//!
//! Architecture invariant: processors read no clock and know no HTTP. Their time comes with each
//! batch and tick from the pipeline (`weft_pipeline::Tick`), so every time-dependent rule has a
//! unit test with chosen times; they know neither the WAL nor any bus, only positions.

pub mod cold_writer;
pub mod diagnostics;
pub mod logs;
pub mod metrics_hub;
pub mod sampling;
pub mod store_writer;

#[cfg(test)]
mod tests;
