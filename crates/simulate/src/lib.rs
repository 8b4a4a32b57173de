//! vigie-simulate: a realistic organisation holding personal data, its
//! everyday use of the application, and attacks on it, written in the
//! canonical schema with a ground truth; and `eval`, which scores a
//! replay's alerts and actions against that truth.
//!
//! Everything is deterministic per seed: each (account, day) draws from its
//! own generator, so the output does not depend on thread count or order.

pub mod eval;
pub mod org;
pub mod scenario;
pub mod sim;
pub mod truth;
mod write;

pub use org::{Archetype, Kind, Org, OrgEvent};
pub use sim::{SimConfig, Summary, simulate, simulate_as, write_caseload, write_caseload_as};
pub use truth::{Benign, Scenario, Truth};
