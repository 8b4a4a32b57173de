//! JSON-lines file and standard output.

use super::{Record, Sink, SinkError};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Appends one alert per line. Its checkpointed position is the file's
/// length: after a crash the file is cut back to it, and the alerts that
/// followed are regenerated, identically, by reprocessing their events.
pub struct JsonlSink {
    name: String,
    path: PathBuf,
    out: BufWriter<File>,
    len: u64,
}

impl JsonlSink {
    pub fn open(name: &str, path: &Path) -> anyhow::Result<JsonlSink> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        }
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| anyhow::anyhow!("alert file {}: {e}", path.display()))?;
        let len = f.metadata()?.len();
        Ok(JsonlSink { name: name.into(), path: path.into(), out: BufWriter::with_capacity(1 << 16, f), len })
    }

    fn err(&self, e: impl std::fmt::Display) -> SinkError {
        SinkError { sink: self.name.clone(), message: format!("{}: {e}", self.path.display()) }
    }
}

impl Sink for JsonlSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn write(&mut self, rec: &Record<'_>) -> Result<(), SinkError> {
        let json = rec.json();
        self.out.write_all(json).and_then(|_| self.out.write_all(b"\n")).map_err(|e| self.err(e))?;
        self.len += json.len() as u64 + 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.out.flush().map_err(|e| self.err(e))?;
        self.out.get_ref().sync_data().map_err(|e| self.err(e))
    }

    fn position(&self) -> Result<Option<serde_json::Value>, SinkError> {
        Ok(Some(serde_json::json!({ "length": self.len })))
    }

    fn restore(&mut self, pos: &serde_json::Value) -> Result<(), SinkError> {
        let Some(len) = pos.get("length").and_then(|v| v.as_u64()) else {
            return Ok(());
        };
        self.out.flush().map_err(|e| self.err(e))?;
        let f = self.out.get_ref();
        let now = f.metadata().map_err(|e| self.err(e))?.len();
        if now > len {
            f.set_len(len).map_err(|e| self.err(e))?;
            self.len = len;
        }
        Ok(())
    }
}

pub struct StdoutSink {
    name: String,
    out: BufWriter<std::io::Stdout>,
}

impl StdoutSink {
    pub fn new(name: &str) -> StdoutSink {
        StdoutSink { name: name.into(), out: BufWriter::new(std::io::stdout()) }
    }
}

impl Sink for StdoutSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn write(&mut self, rec: &Record<'_>) -> Result<(), SinkError> {
        let r = self.out.write_all(rec.json()).and_then(|_| self.out.write_all(b"\n"));
        r.map_err(|e| SinkError { sink: self.name.clone(), message: e.to_string() })
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.out.flush().map_err(|e| SinkError { sink: self.name.clone(), message: e.to_string() })
    }
}
