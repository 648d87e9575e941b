//! The pipeline processor that writes spans into the span store, through the seam.

use std::sync::Arc;

use weft_pipeline::{PipelineError, Position, Processor, SpanBatch, Tick};
use weft_storage::{SpanWriter, StoreError};

pub struct SpanStoreWriter {
    store: Arc<dyn SpanWriter>,
}

impl SpanStoreWriter {
    pub fn new(store: Arc<dyn SpanWriter>) -> Self {
        SpanStoreWriter { store }
    }
}

fn processor_error(error: StoreError) -> PipelineError {
    PipelineError::Processor {
        processor: "store".into(),
        message: error.to_string(),
    }
}

impl Processor for SpanStoreWriter {
    fn name(&self) -> &str {
        "store"
    }

    fn process(&mut self, batch: &SpanBatch) -> Result<(), PipelineError> {
        self.store
            .write(batch.position, Arc::clone(&batch.spans))
            .map_err(processor_error)
    }

    fn tick(&mut self, _tick: &Tick) -> Result<(), PipelineError> {
        // The store keeps its own flush schedule (memtable age and size).
        self.store.tick().map_err(processor_error)
    }

    fn durable_position(&self) -> Position {
        self.store.durable_position()
    }

    fn flush(&mut self, _tick: &Tick) -> Result<(), PipelineError> {
        self.store.flush().map_err(processor_error)
    }
}
