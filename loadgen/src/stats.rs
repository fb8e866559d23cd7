//! Latency recording (HdrHistogram, microseconds) and the per-type figures
//! that go into the results.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// One request type's raw measurements inside one client (merged later).
#[derive(Debug, Clone)]
pub struct TypeRec {
    pub hist: Histogram<u64>,
    pub errors: u64,
    pub error_kinds: BTreeMap<String, u64>,
    pub notes: BTreeMap<String, u64>,
}

impl TypeRec {
    fn new() -> TypeRec {
        TypeRec {
            // 1 µs .. 120 s, 3 significant digits.
            hist: Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid bounds"),
            errors: 0,
            error_kinds: BTreeMap::new(),
            notes: BTreeMap::new(),
        }
    }

    fn merge(&mut self, other: &TypeRec) {
        self.hist.add(&other.hist).expect("same bounds");
        self.errors += other.errors;
        for (k, v) in &other.error_kinds {
            *self.error_kinds.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.notes {
            *self.notes.entry(k.clone()).or_default() += v;
        }
    }
}

/// Every type's measurements of one client (or, merged, of one point).
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    /// False during warm-up: nothing is recorded.
    pub active: bool,
    pub types: BTreeMap<&'static str, TypeRec>,
}

impl Recorder {
    fn entry(&mut self, kind: &'static str) -> &mut TypeRec {
        self.types.entry(kind).or_insert_with(TypeRec::new)
    }

    pub fn ok(&mut self, kind: &'static str, latency: Duration) {
        if self.active {
            let us = (latency.as_micros() as u64).clamp(1, 120_000_000);
            self.entry(kind).hist.saturating_record(us);
        }
    }

    pub fn error(&mut self, kind: &'static str, why: String) {
        if self.active {
            let t = self.entry(kind);
            t.errors += 1;
            *t.error_kinds.entry(why).or_default() += 1;
        }
    }

    /// A count of something seen (an `X-Cache` value, a late send).
    pub fn note(&mut self, kind: &'static str, what: &str) {
        if self.active {
            *self.entry(kind).notes.entry(what.to_owned()).or_default() += 1;
        }
    }

    pub fn merge(&mut self, other: &Recorder) {
        for (k, t) in &other.types {
            self.entry(k).merge(t);
        }
    }

    pub fn stats(&self, seconds: f64) -> BTreeMap<String, Stats> {
        self.types
            .iter()
            .map(|(k, t)| ((*k).to_owned(), Stats::from_rec(t, seconds)))
            .collect()
    }
}

/// What one request type did at one point. Latencies in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stats {
    pub count: u64,
    pub errors: u64,
    /// Successful requests per second.
    pub throughput: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub error_kinds: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub notes: BTreeMap<String, u64>,
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl Stats {
    fn from_rec(t: &TypeRec, seconds: f64) -> Stats {
        let h = &t.hist;
        let n = h.len();
        let q = |p: f64| {
            if n == 0 {
                0.0
            } else {
                ms(h.value_at_quantile(p))
            }
        };
        Stats {
            count: n,
            errors: t.errors,
            throughput: if seconds > 0.0 {
                n as f64 / seconds
            } else {
                0.0
            },
            mean_ms: if n == 0 { 0.0 } else { h.mean() / 1000.0 },
            p50_ms: q(0.50),
            p90_ms: q(0.90),
            p99_ms: q(0.99),
            p999_ms: q(0.999),
            max_ms: if n == 0 { 0.0 } else { ms(h.max()) },
            error_kinds: t.error_kinds.clone(),
            notes: t.notes.clone(),
        }
    }

    /// The per-field median of several runs' figures (counts too).
    pub fn median(runs: &[&Stats]) -> Stats {
        let med = |f: &dyn Fn(&Stats) -> f64| median_f(runs.iter().map(|s| f(s)).collect());
        let mut error_kinds = BTreeMap::new();
        let mut notes = BTreeMap::new();
        for s in runs {
            for (k, v) in &s.error_kinds {
                *error_kinds.entry(k.clone()).or_default() += v;
            }
            for (k, v) in &s.notes {
                *notes.entry(k.clone()).or_default() += v;
            }
        }
        Stats {
            count: med(&|s| s.count as f64).round() as u64,
            errors: med(&|s| s.errors as f64).round() as u64,
            throughput: med(&|s| s.throughput),
            mean_ms: med(&|s| s.mean_ms),
            p50_ms: med(&|s| s.p50_ms),
            p90_ms: med(&|s| s.p90_ms),
            p99_ms: med(&|s| s.p99_ms),
            p999_ms: med(&|s| s.p999_ms),
            max_ms: med(&|s| s.max_ms),
            // Summed over the runs, so that no error disappears in a median.
            error_kinds,
            notes,
        }
    }
}

pub fn median_f(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_histogram() {
        let mut r = Recorder {
            active: true,
            ..Default::default()
        };
        for i in 1..=1000u64 {
            r.ok("x", Duration::from_micros(i * 10));
        }
        r.error("x", "500".into());
        let s = &r.stats(2.0)["x"];
        assert_eq!(s.count, 1000);
        assert_eq!(s.errors, 1);
        assert!((s.throughput - 500.0).abs() < 1e-9);
        assert!((s.p50_ms - 5.0).abs() < 0.01, "{}", s.p50_ms);
        assert!((s.p99_ms - 9.9).abs() < 0.02, "{}", s.p99_ms);
        assert!((s.max_ms - 10.0).abs() < 0.02);
    }

    #[test]
    fn warm_up_records_nothing() {
        let mut r = Recorder::default();
        r.ok("x", Duration::from_millis(1));
        r.error("x", "e".into());
        assert!(r.types.is_empty());
    }

    #[test]
    fn median_of_runs() {
        assert_eq!(median_f(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median_f(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
