//! Sources: where events come from. Each runs on its own (a thread, or a
//! task on the async runtime), cuts its input into batches, and feeds them
//! to the engine with the position to resume from. Each one stops when the
//! engine's stop flag is raised, and says so with `Feed::done`.
//!
//! Every input kind implements [`Source`], in its own file; the one place
//! that maps a configured kind to its source is [`InputConfig::build`].
//! `run` starts each configured input through the trait and knows nothing
//! of the kinds.

pub mod encoding;
pub mod files;
pub mod http;
pub mod lines;
pub mod nats;
pub mod stdin;
pub mod syslog;
pub mod tail;

use crate::config::InputConfig;
use crate::engine::Feed;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use vigie_decode::Format;

/// Lines per batch: large enough to amortise channel and checkpoint costs,
/// small enough to keep latency in milliseconds.
pub const BATCH: usize = 1024;

/// What a source is given to start.
pub struct Context {
    /// The input's index in `[[inputs]]`, carried by its batches.
    pub input: usize,
    /// `<kind>#<index>`: its name in metrics, logs and checkpoints.
    pub name: String,
    pub feed: Feed,
    /// The async runtime, for sources that run as tasks.
    pub rt: tokio::runtime::Handle,
    /// The position checkpointed for this input, if any.
    pub resume: Option<serde_json::Value>,
    /// Raised when the engine stops (also `feed.stop`).
    pub stop: Arc<AtomicBool>,
}

/// Routes a source mounts on the HTTP server, built once the server's
/// shared settings (token, metrics, body limit) are known.
pub type Routes = Box<dyn FnOnce(&crate::server::Api) -> axum::Router + Send>;

/// What a started source left running.
#[derive(Default)]
pub struct Started {
    /// Threads to join once the engine is done.
    pub threads: Vec<std::thread::JoinHandle<()>>,
    /// How many `Feed::done` signals the engine must wait for.
    pub done: usize,
    /// Routes to mount on the HTTP server (the http input's ingest).
    pub routes: Option<Routes>,
}

/// One input, built from its configuration.
pub trait Source: Send {
    /// The kind, as in `[[inputs]] type` (the name's prefix).
    fn kind(&self) -> &'static str;
    /// How its lines are decoded.
    fn format(&self) -> Format;
    /// Start reading; configuration the source can only check now (sockets
    /// to bind) is reported as an error.
    fn start(self: Box<Self>, cx: Context) -> anyhow::Result<Started>;
}

/// The name of input `input` of kind `kind`.
pub fn name(kind: &str, input: usize) -> String {
    format!("{kind}#{input}")
}

impl InputConfig {
    /// The source this configuration describes: add a kind here.
    pub fn build(&self) -> Box<dyn Source> {
        match self {
            InputConfig::Stdin { format } => Box::new(stdin::Stdin { format: *format }),
            InputConfig::File { path, format } => Box::new(tail::Tail { path: path.clone(), format: *format }),
            InputConfig::Http { format } => Box::new(http::HttpInput { format: *format }),
            InputConfig::Syslog { udp, tcp, format } => {
                Box::new(syslog::Syslog { udp: udp.clone(), tcp: tcp.clone(), format: *format })
            }
            InputConfig::Nats { url, stream, subject, durable, format, ack_wait } => Box::new(nats::NatsInput {
                url: url.clone(),
                stream: stream.clone(),
                subject: subject.clone(),
                durable: durable.clone(),
                format: *format,
                ack_wait: ack_wait.clone(),
            }),
        }
    }
}
