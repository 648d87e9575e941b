use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{PipelineError, Position, Processor, SpanBatch};

const COMMIT_PREFIX: &str = "#commit\t";

/// Appends one line per span (`position`, trace ID, span ID, service, name; tab-separated) to a
/// file: a debugging aid, and the witness that end-to-end tests read to prove exactly-once
/// delivery until the store exists.
///
/// It is durable the way a store is: it buffers spans like a memtable, makes them durable every
/// `flush_interval` with a write, an `fsync` and a `#commit <position>` line, and after a crash
/// drops whatever follows the last commit line. So the pipeline replays exactly what it lost.
pub struct CaptureSink {
    name: String,
    path: PathBuf,
    file: File,
    buffer: String,
    processed_position: Position,
    durable_position: Position,
    flush_interval: Duration,
    last_flush: Instant,
    /// Bytes of the file up to its last commit line.
    committed_bytes: u64,
    fail_next_write: Option<std::io::Error>,
}

/// Most bytes buffered before a flush regardless of the interval, to bound memory.
const MAX_BUFFER_BYTES: usize = 8 * 1024 * 1024;

impl CaptureSink {
    pub fn open(path: impl AsRef<Path>, flush_interval: Duration) -> Result<Self, PipelineError> {
        let path = path.as_ref().to_owned();
        let io_error = |source| PipelineError::Io {
            path: path.clone(),
            source,
        };
        let existing = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(error) => return Err(io_error(error)),
        };
        let (committed_bytes, durable_position) = last_commit(&existing);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_error)?;
        if (committed_bytes as u64) < existing.len() as u64 {
            tracing::warn!(path = %path.display(), dropped_bytes = existing.len() - committed_bytes, "dropping uncommitted capture lines left by a crash");
            file.set_len(committed_bytes as u64)
                .and_then(|()| file.sync_all())
                .map_err(io_error)?;
        }
        Ok(CaptureSink {
            name: "capture".to_owned(),
            path,
            file,
            buffer: String::new(),
            processed_position: durable_position,
            durable_position,
            flush_interval,
            last_flush: Instant::now(),
            committed_bytes: committed_bytes as u64,
            fail_next_write: None,
        })
    }

    /// Writes the buffered lines and a commit line, and syncs. On failure the buffer is kept
    /// (without the commit line) and the file cut back to its last commit, so the next attempt
    /// writes the same lines once and a commit never covers lines that were lost.
    fn write_buffer(&mut self) -> Result<(), PipelineError> {
        if self.processed_position == self.durable_position {
            return Ok(());
        }
        let lines_bytes = self.buffer.len();
        self.buffer.push_str(COMMIT_PREFIX);
        self.buffer.push_str(&self.processed_position.to_string());
        self.buffer.push('\n');
        let written = self
            .fail_next_write
            .take()
            .map_or(Ok(()), Err)
            .and_then(|()| self.file.write_all(self.buffer.as_bytes()))
            .and_then(|()| self.file.sync_data());
        if let Err(source) = written {
            self.buffer.truncate(lines_bytes);
            let _ = self.file.set_len(self.committed_bytes);
            return Err(PipelineError::Io {
                path: self.path.clone(),
                source,
            });
        }
        self.committed_bytes += self.buffer.len() as u64;
        self.buffer.clear();
        self.durable_position = self.processed_position;
        self.last_flush = Instant::now();
        Ok(())
    }

    /// Test hook: the next write fails with this error.
    #[cfg(test)]
    pub(crate) fn fail_next_write(&mut self, error: std::io::Error) {
        self.fail_next_write = Some(error);
    }
}

/// The length of the prefix that ends with the last commit line, and that line's position.
fn last_commit(text: &str) -> (usize, Position) {
    let mut end = 0;
    let mut position = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        offset += line.len();
        if let Some(committed) = line
            .strip_prefix(COMMIT_PREFIX)
            .and_then(|rest| rest.strip_suffix('\n'))
            .and_then(|number| number.parse().ok())
        {
            end = offset;
            position = committed;
        }
    }
    (end, position)
}

fn push_escaped(buffer: &mut String, text: &str) {
    for character in text.chars() {
        match character {
            '\t' => buffer.push_str("\\t"),
            '\n' => buffer.push_str("\\n"),
            '\\' => buffer.push_str("\\\\"),
            other => buffer.push(other),
        }
    }
}

impl Processor for CaptureSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn process(&mut self, batch: &SpanBatch) -> Result<(), PipelineError> {
        for span in batch.spans.iter() {
            self.buffer.push_str(&batch.position.to_string());
            self.buffer.push('\t');
            self.buffer.push_str(&span.trace_id.to_hex());
            self.buffer.push('\t');
            self.buffer.push_str(&span.span_id.to_hex());
            self.buffer.push('\t');
            push_escaped(&mut self.buffer, &span.service_name);
            self.buffer.push('\t');
            push_escaped(&mut self.buffer, &span.name);
            self.buffer.push('\n');
        }
        self.processed_position = batch.position;
        if self.buffer.len() >= MAX_BUFFER_BYTES {
            self.write_buffer()?;
        }
        Ok(())
    }

    fn tick(&mut self, _tick: &crate::Tick) -> Result<(), PipelineError> {
        if self.last_flush.elapsed() >= self.flush_interval {
            self.write_buffer()?;
        }
        Ok(())
    }

    fn durable_position(&self) -> Position {
        self.durable_position
    }

    fn flush(&mut self, _tick: &crate::Tick) -> Result<(), PipelineError> {
        self.write_buffer()
    }
}

#[cfg(test)]
pub(crate) fn push_escaped_for_tests(buffer: &mut String, text: &str) {
    push_escaped(buffer, text);
}
