//! The query role's core: the hot and cold tiers behind one query surface — which tier a trace
//! lookup or a search reads (by the time in a Weft-issued trace ID and the hot retention), and
//! how answers from both are merged.
//!
//! Architecture invariant: this crate knows no HTTP and no wire format; the API crate maps its
//! answers to JSON.

pub mod tiers;

#[cfg(test)]
mod tests;
