//! Drafts of the notifications an incident calls for, in Markdown (to edit
//! and send) and JSON (for a case tool), each with its deadline clock:
//!
//! - GDPR Art. 33, to the supervisory authority, within 72 hours of
//!   awareness, with the fields of the CNIL's notification form;
//! - GDPR Art. 34, a plain-language letter to the people affected, without
//!   undue delay when the risk to them is high;
//! - NIS2 Art. 23: early warning within 24 hours, incident notification
//!   within 72 hours, final report within one month of the notification.
//!
//! Awareness is the first high alert behind the incident. What only the
//! organisation knows (its name, its DPO) comes from `[organisation]`; what
//! only a person can judge is marked for the DPO to complete.

use crate::incident::IncidentReport;
use serde::{Deserialize, Serialize};
use vigie_alert::rfc3339;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Organisation {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub dpo_name: Option<String>,
    #[serde(default)]
    pub dpo_email: Option<String>,
    #[serde(default)]
    pub dpo_phone: Option<String>,
    /// The supervisory authority (default: CNIL).
    #[serde(default)]
    pub authority: Option<String>,
    /// The NIS2 CSIRT or competent authority (default: ANSSI / CERT-FR).
    #[serde(default)]
    pub csirt: Option<String>,
}

const TODO: &str = "[to complete]";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clock {
    pub name: String,
    pub due_ms: i64,
    pub due: String,
    /// Milliseconds left at `now` (negative: overdue).
    pub remaining_ms: i64,
    pub remaining: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deadlines {
    pub awareness: String,
    pub awareness_ms: i64,
    pub gdpr_art33: Clock,
    pub nis2_early_warning: Clock,
    pub nis2_notification: Clock,
    pub nis2_final_report: Clock,
}

/// `61h 05m`: what a person reads on a countdown.
pub fn clock_text(ms: i64) -> String {
    let m = ms / 60_000;
    format!("{}h {:02}m", m / 60, m % 60)
}

fn clock(name: &str, due: i64, now: i64) -> Clock {
    let left = due - now;
    let remaining =
        if left >= 0 { format!("{} left", clock_text(left)) } else { format!("overdue by {}", clock_text(-left)) };
    Clock { name: name.into(), due_ms: due, due: rfc3339(due), remaining_ms: left, remaining }
}

/// One calendar month after `ms` (UTC).
fn plus_month(ms: i64) -> i64 {
    jiff::Timestamp::from_millisecond(ms)
        .ok()
        .and_then(|t| t.to_zoned_datetime(jiff::tz::TimeZone::UTC).checked_add(jiff::Span::new().months(1)).ok())
        .map_or(ms + 30 * 86_400_000, |z| z.timestamp().as_millisecond())
}

pub fn deadlines(awareness: i64, now: i64) -> Deadlines {
    const H: i64 = 3_600_000;
    let notification = awareness + 72 * H;
    Deadlines {
        awareness: rfc3339(awareness),
        awareness_ms: awareness,
        gdpr_art33: clock("GDPR Art. 33 notification to the supervisory authority (72 h)", notification, now),
        nis2_early_warning: clock("NIS2 early warning (24 h)", awareness + 24 * H, now),
        nis2_notification: clock("NIS2 incident notification (72 h)", notification, now),
        nis2_final_report: clock("NIS2 final report (one month after the notification)", plus_month(notification), now),
    }
}

/// The Art. 33 notification, field by field as the CNIL's form asks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Art33 {
    pub controller: String,
    pub dpo_contact: String,
    pub authority: String,
    pub nature: String,
    pub breach_type: Vec<String>,
    pub data_categories: Vec<String>,
    pub subjects_approximate: u64,
    pub subjects_identified: u64,
    pub subjects_estimate_basis: String,
    pub records_approximate: u64,
    pub likely_consequences: Vec<String>,
    pub measures_taken: Vec<String>,
    pub measures_proposed: Vec<String>,
    pub timeline: Vec<(String, String)>,
    pub cross_border: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drafts {
    pub deadlines: Deadlines,
    pub art33: Art33,
    pub markdown: MarkdownDrafts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarkdownDrafts {
    pub gdpr_art33: String,
    pub gdpr_art34: String,
    pub nis2: String,
}

fn consequences(categories: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let has = |c: &str| categories.iter().any(|x| x == c);
    if has("nir") || has("identity") || has("birth_date") {
        out.push("Identity theft and fraud using the social security number, name and date of birth".to_string());
    }
    if has("contact") || has("address") {
        out.push("Phishing, smishing and scam calls impersonating the organisation, using the contact details".into());
    }
    if has("banking") {
        out.push("Financial fraud (direct debits, payment redirection)".into());
    }
    if has("health") {
        out.push("Disclosure of health information (discrimination, distress)".into());
    }
    if out.is_empty() {
        out.push(format!("{TODO}: assess the consequences for the people affected"));
    }
    out
}

fn actions_taken(r: &IncidentReport) -> Vec<String> {
    let mut out: Vec<String> = r
        .actions
        .iter()
        .map(|a| {
            format!(
                "{} ({}): {} at {}",
                a.action.replace('_', " "),
                a.status.replace('_', " "),
                a.account.clone().or(a.source_ip.clone()).unwrap_or_default(),
                rfc3339(a.at_ms)
            )
        })
        .collect();
    if out.is_empty() {
        out.push(format!("{TODO}: no automatic containment is recorded; state what was done"));
    }
    out
}

/// Everything to send, at `now`.
pub fn drafts(r: &IncidentReport, org: &Organisation, now: i64) -> Drafts {
    let imp = &r.impact;
    let dl = deadlines(r.awareness_ms, now);
    let categories: Vec<String> = imp.subjects_by_category.keys().cloned().collect();
    let approx = imp.subjects + imp.estimated_subjects_without_ids;
    let controller = org.name.clone().unwrap_or_else(|| TODO.into());
    let dpo = [org.dpo_name.clone(), org.dpo_email.clone(), org.dpo_phone.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    let dpo = if dpo.is_empty() { TODO.to_string() } else { dpo };
    let authority = org.authority.clone().unwrap_or_else(|| "CNIL".into());
    let csirt = org.csirt.clone().unwrap_or_else(|| "ANSSI (CERT-FR)".into());
    let first = imp.first_access.clone().unwrap_or_else(|| TODO.into());
    let last = imp.last_access.clone().unwrap_or_else(|| TODO.into());
    let mut timeline = vec![
        ("First malicious access".to_string(), first.clone()),
        ("Awareness (first high alert)".to_string(), dl.awareness.clone()),
        ("Incident raised".to_string(), rfc3339(r.incident.first_seen_ms)),
        ("Last malicious access".to_string(), last.clone()),
    ];
    for a in &r.actions {
        timeline.push((
            format!("Response: {} ({})", a.action.replace('_', " "), a.status.replace('_', " ")),
            rfc3339(a.at_ms),
        ));
    }
    timeline.sort_by(|a, b| a.1.cmp(&b.1));
    let nature = format!(
        "Unauthorised access to personal data (loss of confidentiality) through the legitimate account {} of the organisation's \
         application. {} read(s) returned {} person-record(s) between {} and {}.",
        r.account, imp.reads, imp.records, first, last
    );
    let art33 = Art33 {
        controller: controller.clone(),
        dpo_contact: dpo.clone(),
        authority: authority.clone(),
        nature: nature.clone(),
        breach_type: vec!["confidentiality".into()],
        data_categories: categories.clone(),
        subjects_approximate: approx,
        subjects_identified: imp.subjects,
        subjects_estimate_basis: imp.estimate_basis.clone(),
        records_approximate: imp.records,
        likely_consequences: consequences(&categories),
        measures_taken: actions_taken(r),
        measures_proposed: vec![
            "Reset the account's credentials and require phishing-resistant MFA for it and for help-desk resets".into(),
            "Restrict the account's access to its caseload".into(),
            format!(
                "Block the indicators: {}",
                imp.iocs.source_ips.iter().map(|s| s.0.as_str()).collect::<Vec<_>>().join(", ")
            ),
            "Inform the people affected (Art. 34) and warn them about phishing using their data".into(),
        ],
        timeline: timeline.clone(),
        cross_border: format!("{TODO}: state whether people in other EU member states are affected"),
    };
    let list = |v: &[String]| v.iter().map(|x| format!("- {x}\n")).collect::<String>();
    let clocks = [&dl.gdpr_art33, &dl.nis2_early_warning, &dl.nis2_notification, &dl.nis2_final_report]
        .iter()
        .map(|c| format!("| {} | {} | {} |\n", c.name, c.due, c.remaining))
        .collect::<String>();
    let clock_table = format!("| Deadline | Due (UTC) | Time |\n|---|---|---|\n{clocks}");
    let by_cat = imp.subjects_by_category.iter().map(|(c, n)| format!("| {c} | {n} |\n")).collect::<String>();
    let timeline_md = timeline.iter().map(|(w, t)| format!("| {t} | {w} |\n")).collect::<String>();
    let gdpr_art33 = format!(
        "# Personal data breach notification (GDPR Art. 33) — DRAFT\n\n\
         To: {authority}. Controller: {controller}. DPO: {dpo}.\n\n\
         **Awareness:** {aw}. **Notify by:** {due} ({left}).\n\n\
         ## Nature of the breach\n{nature}\n\nType: loss of confidentiality.\n\n\
         ## People and records concerned\n\
         - People identified in the records read: **{ids}**\n\
         - Approximate number of people: **{approx}** ({basis})\n\
         - Person-records read: {records}\n\n\
         | Data category | People |\n|---|---|\n{by_cat}\n\
         ## Likely consequences\n{cons}\n\
         ## Measures taken\n{taken}\n\
         ## Measures proposed\n{proposed}\n\
         ## Timeline\n| Time (UTC) | Event |\n|---|---|\n{timeline_md}\n\
         ## Cross-border\n{cross}\n\n## Deadlines\n{clock_table}",
        aw = dl.awareness,
        due = dl.gdpr_art33.due,
        left = dl.gdpr_art33.remaining,
        ids = imp.subjects,
        basis = imp.estimate_basis,
        records = imp.records,
        cons = list(&art33.likely_consequences),
        taken = list(&art33.measures_taken),
        proposed = list(&art33.measures_proposed),
        cross = art33.cross_border,
    );
    let plain_categories: Vec<&str> = categories
        .iter()
        .map(|c| match c.as_str() {
            "nir" => "your social security number",
            "identity" => "your name",
            "birth_date" => "your date of birth",
            "contact" => "your phone number and email address",
            "address" => "your postal address",
            "banking" => "your bank details",
            "health" => "information about your health",
            other => other,
        })
        .collect();
    let gdpr_art34 = format!(
        "# Letter to the people affected (GDPR Art. 34) — DRAFT\n\n\
         > For the DPO, not for the letter: awareness {aw}; Art. 34 asks for this letter without undue delay \
         when the risk to the people is high.\n>\n{clocks_quoted}\n\
         Dear [name],\n\n\
         We are writing to tell you that someone who was not allowed to see it looked at your file in our systems between {first} and {last}. \
         They used the account of one of our staff, which had been taken over.\n\n\
         **What they could see:** {cats}.\n\n\
         **What we have done:** we stopped the account's access, and we are reviewing every file it opened.\n\n\
         **What this may mean for you:** someone may try to use these details to pass themselves off as you, or as us. \
         We will never ask you for your password or bank details by phone, text or email. If you get such a message, do not answer it.\n\n\
         **What you can do:** be careful with unexpected messages that mention your file; tell your bank if you notice anything unusual; \
         you can also complain to the {authority}.\n\n\
         If you have questions, contact our data protection officer: {dpo}.\n\n{controller}\n",
        cats = plain_categories.join(", "),
        aw = dl.awareness,
        clocks_quoted = clock_table.lines().map(|l| format!("> {l}\n")).collect::<String>(),
    );
    let nis2 = format!(
        "# NIS2 incident reporting (Art. 23) — DRAFT\n\nTo: {csirt}. Entity: {controller}.\n\n{clock_table}\n\
         ## Early warning (within 24 h of awareness)\n\
         - Significant incident: unauthorised access to personal data of {approx} people through a legitimate account.\n\
         - Suspected unlawful or malicious act: yes (account takeover).\n\
         - Cross-border impact: {TODO}.\n\n\
         ## Incident notification (within 72 h)\n\
         - Initial assessment: {nature}\n\
         - Severity: {reads} reads, {records} person-records, {ids} people identified.\n\
         - Indicators of compromise: source addresses {ips}; user agents {uas}; accounts created {created}.\n\n\
         ## Final report (within one month of the notification)\n\
         - Detailed description, severity and impact: {TODO}\n\
         - Type of threat or root cause: {TODO} (for example, a help-desk password reset obtained by social engineering)\n\
         - Mitigation applied and ongoing:\n{taken}\
         - Cross-border impact: {TODO}\n",
        reads = imp.reads,
        records = imp.records,
        ids = imp.subjects,
        ips = imp.iocs.source_ips.iter().map(|s| s.0.as_str()).collect::<Vec<_>>().join(", "),
        uas = imp.iocs.user_agents.iter().map(|s| s.0.as_str()).collect::<Vec<_>>().join("; "),
        created =
            if imp.iocs.created_accounts.is_empty() { "none".into() } else { imp.iocs.created_accounts.join(", ") },
        taken = list(&art33.measures_taken).lines().map(|l| format!("  {l}\n")).collect::<String>(),
    );
    Drafts { deadlines: dl, art33, markdown: MarkdownDrafts { gdpr_art33, gdpr_art34, nis2 } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_run_from_awareness() {
        let aware = 1_772_400_000_000; // 2026-03-01T21:20:00Z
        let d = deadlines(aware, aware + 10 * 3_600_000);
        assert_eq!(d.gdpr_art33.due_ms - aware, 72 * 3_600_000);
        assert_eq!(d.nis2_early_warning.due_ms - aware, 24 * 3_600_000);
        assert_eq!(d.nis2_early_warning.remaining_ms, 14 * 3_600_000);
        assert!(d.nis2_early_warning.remaining.ends_with("left"), "{}", d.nis2_early_warning.remaining);
        // One calendar month after the 72 h notification: 4 March → 4 April.
        assert_eq!(d.nis2_final_report.due, "2026-04-04T21:20:00.000Z");
        let late = deadlines(aware, aware + 80 * 3_600_000);
        assert!(late.gdpr_art33.remaining.starts_with("overdue by"), "{}", late.gdpr_art33.remaining);
        assert_eq!(clock_text(61 * 3_600_000 + 5 * 60_000), "61h 05m");
    }
}
