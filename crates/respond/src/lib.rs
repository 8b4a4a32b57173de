//! vigie-respond: the *respond* stage. Given an alert, it decides which
//! containment actions to take (suspend the account, revoke its sessions,
//! block the address, open a ticket) and whether guardrails hold them back.
//!
//! Deciding is pure and deterministic in event time, so a replay decides
//! exactly what the live engine would have, and the decision state is part
//! of the checkpoint. Calling the webhooks is the runtime's job
//! (`vigie-runtime`'s `respond` module): this crate hands it the request.

mod config;
mod policy;
mod record;
mod template;

pub use config::{ActionConfig, ActionType, ConfigError, Mode, RateLimit, ResponseConfig, When};
pub use policy::{Call, Planned, Policy, PolicyState};
pub use record::{ActionHeader, ActionRecord, ActionStatus, AlertLink};
pub use template::render;
