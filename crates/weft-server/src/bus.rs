//! The WAL as the bus of the all-in-one shape: the ingest side ([`Bus`]) and the pipeline side
//! ([`BusSource`]).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use weft_ingest::{Bus, BusAppendError};
use weft_pipeline::{BusRecord, BusSource, PipelineError, Position};
use weft_wal::{Wal, WalReader};

pub(crate) struct WalBus(pub Wal);

impl Bus for WalBus {
    fn append(
        &self,
        payload: Vec<u8>,
    ) -> Pin<Box<dyn Future<Output = Result<u64, BusAppendError>> + Send>> {
        let appended = self.0.append(payload);
        Box::pin(async move {
            appended.await.map_err(|error| {
                if error.is_backpressure() {
                    BusAppendError::Backpressure(error.to_string())
                } else {
                    BusAppendError::Unavailable(error.to_string())
                }
            })
        })
    }
}

pub(crate) struct WalBusSource {
    wal: Wal,
    reader: WalReader,
}

impl WalBusSource {
    pub(crate) fn new(wal: Wal) -> Self {
        let reader = wal.reader(1);
        WalBusSource { wal, reader }
    }
}

fn bus_error(error: weft_wal::WalError) -> PipelineError {
    PipelineError::Bus(error.to_string())
}

impl BusSource for WalBusSource {
    fn seek_after(&mut self, position: Position) -> Result<(), PipelineError> {
        self.reader = self.wal.reader(position + 1);
        Ok(())
    }

    fn read(
        &mut self,
        max_records: usize,
        max_bytes: usize,
    ) -> Result<Vec<BusRecord>, PipelineError> {
        Ok(self
            .reader
            .read_batch(max_records, max_bytes)
            .map_err(bus_error)?
            .into_iter()
            .map(|record| BusRecord {
                position: record.lsn,
                payload: record.payload,
            })
            .collect())
    }

    fn head(&self) -> Position {
        self.wal.written_lsn()
    }

    fn wait(&mut self, after: Position, timeout: Duration) {
        self.wal.wait_for_written(after, timeout);
    }

    fn release_through(&mut self, position: Position) -> Result<(), PipelineError> {
        self.wal.trim_through(position).map_err(bus_error)?;
        Ok(())
    }
}
