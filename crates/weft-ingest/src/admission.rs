use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::IngestError;

/// Admission control shared by every receiver: at most `max_concurrent_requests` requests are
/// read, decoded and waiting for the bus at once; the next one is shed at once with
/// RESOURCE_EXHAUSTED / 429 rather than queued. With each request capped at the max message
/// size, this bounds ingest memory to about
/// `max_concurrent_requests × max_request_bytes × 4` (compressed body, decompressed body,
/// decoded request, encoded bus record).
#[derive(Clone)]
pub struct Admission {
    semaphore: Arc<Semaphore>,
    retry_after: Duration,
}

/// Held while a request is in flight.
pub struct AdmissionPermit {
    _permit: OwnedSemaphorePermit,
}

impl Admission {
    pub fn new(max_concurrent_requests: usize, retry_after: Duration) -> Self {
        Admission {
            semaphore: Arc::new(Semaphore::new(max_concurrent_requests.max(1))),
            retry_after,
        }
    }

    pub fn try_admit(&self) -> Result<AdmissionPermit, IngestError> {
        match Arc::clone(&self.semaphore).try_acquire_owned() {
            Ok(permit) => Ok(AdmissionPermit { _permit: permit }),
            Err(_) => Err(IngestError::overloaded(
                "too many export requests in flight; retry later",
                self.retry_after,
            )),
        }
    }
}
