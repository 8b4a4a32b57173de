//! vigie-investigate: the aftermath. After containment a data-protection
//! officer has 72 hours to tell the regulator how many people were
//! affected and which data; this crate computes that from the store's
//! pseudonymised trail (`impact`, `incident`), links pseudonyms back to
//! people for whoever holds the key (`reidentify`), and drafts the
//! notifications with their deadlines (`notify`).

pub mod impact;
pub mod incident;
pub mod notify;
pub mod reidentify;

pub use impact::{Impact, Iocs};
pub use incident::IncidentReport;
pub use notify::{Deadlines, Drafts, Organisation};
