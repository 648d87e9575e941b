//! Numbering the distinct resources (or scopes) of a trace. Spans read back from different
//! batches carry equal resources in different `Arc`s, so pointer identity alone would count one
//! service instance many times; comparing values against every span would be quadratic.

use std::sync::Arc;

/// Distinct values in order of first appearance; equal values (by pointer or by value) share an
/// index. A trace has few distinct resources, so a linear search over them is cheap.
pub struct DistinctValues<T> {
    known: Vec<Arc<T>>,
}

impl<T: PartialEq> DistinctValues<T> {
    pub fn new() -> Self {
        DistinctValues { known: Vec::new() }
    }

    /// The value's index, and whether this is its first appearance.
    pub fn index_of(&mut self, value: &Arc<T>) -> (usize, bool) {
        match self
            .known
            .iter()
            .position(|known| Arc::ptr_eq(known, value) || **known == **value)
        {
            Some(index) => (index, false),
            None => {
                self.known.push(Arc::clone(value));
                (self.known.len() - 1, true)
            }
        }
    }
}
