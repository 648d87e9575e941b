//! The WAL as the bus of the all-in-one shape: one partition, the writer side ([`WalBus`]) the
//! receivers append to and the reader side ([`WalBusReader`]) the pipeline consumes.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use weft_bus::{
    BusAppendError, BusBacklog, BusError, BusReader, BusRecord, BusWriter, PartitionId, Position,
};

use crate::{Wal, WalError, WalReader};

pub struct WalBus(pub Wal);

impl BusWriter for WalBus {
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

impl BusBacklog for WalBus {
    fn written_position(&self) -> Position {
        self.0.written_lsn()
    }

    fn local_bytes(&self) -> u64 {
        self.0.disk_bytes()
    }

    fn local_segments(&self) -> u64 {
        self.0.segment_count() as u64
    }
}

pub struct WalBusReader {
    wal: Wal,
    reader: WalReader,
}

impl WalBusReader {
    pub fn new(wal: Wal) -> Self {
        let reader = wal.reader(1);
        WalBusReader { wal, reader }
    }
}

fn bus_error(error: WalError) -> BusError {
    BusError(error.to_string())
}

impl BusReader for WalBusReader {
    /// The WAL is one partition.
    fn partition(&self) -> PartitionId {
        PartitionId(0)
    }

    fn seek_after(&mut self, position: Position) -> Result<(), BusError> {
        self.reader = self.wal.reader(position + 1);
        Ok(())
    }

    fn read(&mut self, max_records: usize, max_bytes: usize) -> Result<Vec<BusRecord>, BusError> {
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

    fn release_through(&mut self, position: Position) -> Result<(), BusError> {
        self.wal.trim_through(position).map_err(bus_error)?;
        Ok(())
    }
}
