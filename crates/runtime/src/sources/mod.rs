//! Sources: where events come from. Each runs on its own (a thread, or a
//! task on the async runtime), cuts its input into batches, and feeds them
//! to the engine with the position to resume from. Each one stops when the
//! engine's stop flag is raised, and says so with `Feed::done`.

pub mod encoding;
pub mod files;
pub mod http;
pub mod lines;
pub mod nats;
pub mod stdin;
pub mod syslog;
pub mod tail;

/// Lines per batch: large enough to amortise channel and checkpoint costs,
/// small enough to keep latency in milliseconds.
pub const BATCH: usize = 1024;
