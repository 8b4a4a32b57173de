//! vigie-analytics: the *enrich* and behaviour part of detection, for
//! application access logs in the canonical schema (docs/event-schema.md).
//!
//! No signature catches a legitimate account reading millions of records
//! through the application it is allowed to use; only behaviour does. Each
//! account's habits (distinct people read per hour and day, records, time
//! of week, sources, working set) are learned online and every act is
//! judged against them and against the account's peers. Findings feed a
//! decaying risk score per account, whose crossing raises an incident.
//!
//! `activity` runs on the detection threads (field extraction);
//! `engine` and `risk` run on the single stateful stage.

pub mod account;
pub mod activity;
pub mod baseline;
pub mod caseload;
pub mod config;
pub mod engine;
pub mod fusion;
pub mod geo;
pub mod risk;
pub mod scrub;
pub mod signal;
pub mod spray;
pub mod trail;

pub use account::Account;
pub use activity::{Act, Activity, Extractor, subject_hash};
pub use config::{AnalyticsConfig, ConfigError};
pub use engine::{Analytics, AnalyticsStats, Shared};
pub use risk::{Contribution, Incident, Risk, Score};
pub use scrub::{ScrubError, Scrubber};
pub use signal::{Detection, Signal};
pub use trail::{Access, Pseudonymiser, Trail};
pub use vigie_alert::Severity;
