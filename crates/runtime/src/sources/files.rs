//! Whole files, read once, for `vigie replay`: EVTX, JSON lines or arrays,
//! gzip, folders, through the same readers as `vigie hunt`.

use super::BATCH;
use crate::engine::{Batch, Feed, Item};
use std::path::PathBuf;

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
        let mut on_record = |r: vigie_events::Record| {
            items.push(Item::Event { value: r.value, offset: r.location });
            if items.len() >= BATCH {
                flush(&mut items, &mut errors);
            }
        };
        let mut errs = 0u64;
        let mut on_error = |e: vigie_events::DecodeError| {
            errs += 1;
            tracing::warn!(file = %e.path, location = %e.location, "skipped: {}", e.message);
        };
        let r = vigie_events::read_file(path, 1, &mut on_record, &mut on_error);
        errors += errs;
        if !items.is_empty() || errors > 0 {
            flush(&mut items, &mut errors);
        }
        r?;
    }
    feed.done(input);
    Ok(())
}
