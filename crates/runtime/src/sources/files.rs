//! Whole files, read once, for `vigie replay`: EVTX, JSON lines or arrays,
//! gzip, folders, through the same readers as `vigie hunt`.

use super::{BATCH, Context, Source, Started};
use crate::engine::{Batch, Feed, Item};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use vigie_decode::Format;

/// The files of a replay, read once in order, as one input.
pub struct Files {
    pub files: Vec<PathBuf>,
    /// The error that stopped the reading, if one did (a file that became
    /// unreadable): the replay reports it after the engine has drained.
    pub failed: Arc<Mutex<Option<String>>>,
}

impl Source for Files {
    fn kind(&self) -> &'static str {
        "files"
    }

    /// Files are read as whole records (EVTX, JSON), not as lines.
    fn format(&self) -> Format {
        Format::Json
    }

    fn start(self: Box<Self>, cx: Context) -> anyhow::Result<Started> {
        let Files { files, failed } = *self;
        let t = std::thread::Builder::new().name("files".into()).spawn(move || {
            if let Err(e) = read_all(&files, cx.input, &cx.feed) {
                tracing::error!("replay: {e:#}");
                if let Ok(mut f) = failed.lock() {
                    f.get_or_insert(format!("{e:#}"));
                }
                cx.feed.done(cx.input);
            }
        })?;
        Ok(Started { threads: vec![t], done: 1, ..Default::default() })
    }
}

/// Read every file in order, feeding batches as input `input`.
pub fn read_all(files: &[PathBuf], input: usize, feed: &Feed) -> anyhow::Result<()> {
    for path in files {
        let origin: std::sync::Arc<str> = path.display().to_string().into();
        let mut items = Vec::with_capacity(BATCH);
        let mut errors = 0u64;
        let flush = |items: &mut Vec<Item>, errors: &mut u64| {
            let mut b = Batch::new(input, std::mem::take(items));
            b.errors = std::mem::take(errors);
            b.origin = Some(origin.clone());
            feed.send(b);
        };
        let mut on_record = |r: vigie_decode::Record| {
            items.push(Item::Event { value: r.value, offset: r.location });
            if items.len() >= BATCH {
                flush(&mut items, &mut errors);
            }
        };
        let mut errs = 0u64;
        let mut on_error = |e: vigie_decode::DecodeError| {
            errs += 1;
            tracing::warn!(file = %e.input, place = %e.place, format = e.format, "skipped: {}", e.message);
        };
        let r = vigie_decode::read_file(path, 1, &mut on_record, &mut on_error);
        errors += errs;
        if !items.is_empty() || errors > 0 {
            flush(&mut items, &mut errors);
        }
        r?;
    }
    feed.done(input);
    Ok(())
}
