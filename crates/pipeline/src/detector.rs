//! The stateless half of the pipeline: event time and Sigma matching, run
//! on as many threads as there are cores. It extracts from each matching
//! event everything the stateful half will need (entity, correlation fields,
//! the matched values), so that the event itself can be dropped early.

use crate::time::Clock;
use std::sync::Arc;
use vigie_correlate::Correlator;
use vigie_detect::{Engine, Hit, Scratch};
use vigie_events::Value;
use vigie_events::path::scalar_text;

use vigie_mapping::entity;

/// What the correlations need from matches of one rule.
#[derive(Debug, Clone, Default)]
pub struct RulePlan {
    /// The rule's metadata, shared with every match of it: a match carries
    /// its rule with it, so that it means the same after a reload.
    pub meta: Arc<vigie_sigma::Meta>,
    /// Raise an alert for the match itself (not a mere building block).
    pub standalone: bool,
    /// Some correlation counts this rule's matches.
    pub correlated: bool,
    /// Sigma fields to read for those correlations (group-by, value field).
    pub fields: Vec<String>,
}

pub use vigie_alert::Origin;

/// One rule that matched one event, with what the later stages need.
#[derive(Debug, Clone)]
pub struct Match {
    pub rule: u32,
    /// The rule that matched (from the rule set the event was detected with).
    pub meta: Arc<vigie_sigma::Meta>,
    /// Raise an alert for this match itself (from the rule's plan).
    pub standalone: bool,
    /// Offer it to the correlations (from the rule's plan).
    pub correlated: bool,
    pub fields: Vec<(String, String)>,
    pub user: Option<String>,
    pub source: Option<String>,
    /// The fields and values that made it match (for the alert's evidence).
    pub matched: Vec<(String, String)>,
}

/// The verdict on one event.
#[derive(Debug, Clone, Default)]
pub struct Detected {
    /// Event time in ms; `None` when the event carries none.
    pub ts: Option<i64>,
    /// Was the event's shape recognised by a mapping?
    pub recognised: bool,
    pub matches: Vec<Match>,
    pub event_id: String,
    /// The event as JSON, kept only when it matched.
    pub event: Option<serde_json::Value>,
    /// Where the event was read.
    pub origin: Origin,
    /// The act of a named account, for the behaviour analytics (events of
    /// the canonical application schema).
    pub activity: Option<vigie_analytics::Activity>,
    /// The row of the data-access trail, when the store keeps one.
    pub access: Option<vigie_analytics::Access>,
}

/// The shared, immutable half: engine, per-rule plans and the clock.
pub struct Detector {
    pub engine: Arc<Engine>,
    pub plans: Vec<RulePlan>,
    pub clock: Clock,
    /// Reads accounts' acts for the analytics; `None` turns them off.
    pub extractor: Option<Arc<vigie_analytics::Extractor>>,
    /// Pseudonymises reads for the data-access trail; `None` keeps none.
    pub trail: Option<Arc<vigie_analytics::Trail>>,
}

/// Per-thread working memory of a [`Detector`].
pub struct Work {
    scratch: Scratch,
    hits: Vec<Hit>,
}

impl Detector {
    pub fn new(engine: Arc<Engine>, clock: Clock) -> Detector {
        let corr = Correlator::new(&engine.set.correlations, Default::default());
        let standalone = corr.standalone_rules(&engine.set.rules);
        let plans = engine
            .set
            .rules
            .iter()
            .zip(standalone)
            .map(|(r, standalone)| {
                let rs = r.meta.refs();
                let mut fields = Vec::new();
                for s in &corr.specs {
                    if !s.rules.iter().any(|x| rs.contains(&x.as_str())) {
                        continue;
                    }
                    for name in s.group_by.iter().chain(s.field.iter()) {
                        if let Some(f) = s.resolve(name, &rs)
                            && !fields.iter().any(|x| x == f)
                        {
                            fields.push(f.to_string());
                        }
                    }
                }
                RulePlan { meta: r.meta.clone(), standalone, correlated: corr.wants(&rs), fields }
            })
            .collect();
        Detector { engine, plans, clock, extractor: Some(Arc::new(vigie_analytics::Extractor::default())), trail: None }
    }

    /// The same detector on another rule set: the clock, the analytics'
    /// extractor (with its GeoIP database) and the trail are shared.
    pub fn with_engine(&self, engine: Arc<Engine>) -> Detector {
        let mut d = Detector::new(engine, self.clock.clone());
        d.extractor = self.extractor.clone();
        d.trail = self.trail.clone();
        d
    }

    pub fn work(&self) -> Work {
        Work { scratch: self.engine.scratch(), hits: Vec::new() }
    }

    pub fn detect(&self, ev: &Value, origin: &Origin, w: &mut Work) -> Detected {
        w.hits.clear();
        let shape = self.engine.detect(ev, &mut w.scratch, &mut w.hits);
        let mapped = shape.and_then(|s| self.engine.timestamp(ev, s));
        let mut d = Detected {
            ts: self.clock.read(ev, mapped.as_deref()),
            recognised: shape.is_some(),
            origin: origin.clone(),
            ..Detected::default()
        };
        if let Some(x) = &self.extractor {
            // Its time is settled by the stage (which knows the newest seen).
            d.activity = x.extract(ev, d.ts.unwrap_or(0)).map(|mut a| {
                a.origin = origin.clone();
                a
            });
            if let (Some(t), Some(a)) = (&self.trail, &d.activity) {
                d.access = t.access(ev, a);
            }
        }
        if w.hits.is_empty() {
            return d;
        }
        let hits = std::mem::take(&mut w.hits);
        for hit in &hits {
            let plan = &self.plans[hit.rule as usize];
            if !plan.standalone && !plan.correlated {
                continue;
            }
            let read = |name: &str| -> Option<String> {
                let mapping = self.engine.mapping(hit.shape);
                mapping
                    .field_paths(hit.entry, name)
                    .iter()
                    .find_map(|p| p.first(ev).and_then(scalar_text).map(|c| c.into_owned()))
                    .filter(|s| !s.is_empty())
            };
            let fields = plan.fields.iter().filter_map(|f| read(f).map(|v| (f.clone(), v))).collect();
            let matched = if plan.standalone { self.engine.explain(ev, hit, &mut w.scratch) } else { Vec::new() };
            d.matches.push(Match {
                rule: hit.rule,
                meta: plan.meta.clone(),
                standalone: plan.standalone,
                correlated: plan.correlated,
                fields,
                user: entity::USER.iter().find_map(|f| read(f)),
                source: entity::SOURCE.iter().find_map(|f| read(f)),
                matched,
            });
        }
        w.hits = hits;
        if !d.matches.is_empty() {
            let text = sonic_rs::to_string(ev).unwrap_or_default();
            d.event_id = vigie_alert::event_id(text.as_bytes());
            d.event = serde_json::from_str(&text).ok();
        }
        d
    }
}
