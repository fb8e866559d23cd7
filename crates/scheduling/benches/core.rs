//! Criterion benchmarks for the scheduling core.
//!
//! Groups of realistic users (office hours with lunch breaks, some evenings
//! and weekends, spread over zones with DST and odd offsets) laid onto 7- and
//! 62-day windows, then intersected and ranked. Inputs come from a fixed
//! seed so runs are comparable.

use std::hint::black_box;

use chrono::NaiveDate;
use chrono_tz::Tz;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use scheduling::{
    Attendance, Count, DayFormat, DaySlots, DurationMinutes, Group, Preference, StepMinutes,
    SuggestRequest, WeeklyPattern, Window, intersect, suggest,
};
use serde_json::{Value, json};

const ZONES: &[Tz] = &[
    Tz::Europe__Berlin,
    Tz::America__New_York,
    Tz::Asia__Kathmandu,
    Tz::UTC,
    Tz::Europe__London,
    Tz::Asia__Kolkata,
    Tz::Australia__Lord_Howe,
    Tz::America__Sao_Paulo,
];

/// A tiny deterministic generator so the benchmark inputs never change.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

/// An availability document as a client would send it: interval strings on
/// weekdays, hour lists at weekends.
fn document(rng: &mut Lcg) -> Value {
    let mut doc = serde_json::Map::new();
    for day in ["monday", "tuesday", "wednesday", "thursday", "friday"] {
        let start = 7 + rng.next(3);
        let lunch = 12 + rng.next(2);
        let end = 16 + rng.next(3);
        let mut items = vec![
            json!(format!("{start:02}:{:02}-{lunch:02}:00", rng.next(4) * 15)),
            json!(format!(
                "{:02}:{:02}-{end:02}:00",
                lunch + 1,
                rng.next(2) * 30
            )),
        ];
        if rng.next(3) == 0 {
            items.push(json!("19:00-21:30"));
        }
        doc.insert(day.to_owned(), Value::Array(items));
    }
    for day in ["saturday", "sunday"] {
        let hours: Vec<Value> = (9..13)
            .filter(|_| rng.next(2) == 0)
            .map(Value::from)
            .collect();
        doc.insert(day.to_owned(), Value::Array(hours));
    }
    Value::Object(doc)
}

fn members(n: usize) -> Vec<(WeeklyPattern, Tz)> {
    let mut rng = Lcg(42);
    (0..n)
        .map(|i| {
            let p =
                WeeklyPattern::from_json(&document(&mut rng)).expect("generated documents parse");
            // Most of a group shares a few zones, as real teams do.
            let tz = ZONES[if i % 4 == 0 { i % ZONES.len() } else { i % 2 }];
            (p, tz)
        })
        .collect()
}

fn window(days: u32) -> Window {
    // Crosses the March DST changes in both Europe and America.
    let from = NaiveDate::from_ymd_opt(2025, 3, 3).expect("valid date");
    Window::new(from, days, Tz::Europe__Berlin).expect("valid window")
}

fn lay_out(members: &[(WeeklyPattern, Tz)], window: Window) -> Group {
    Group::lay_out(window, members.iter().map(|(p, tz)| (p, *tz)))
}

fn quorum(n: usize) -> Attendance {
    Attendance::new(n, &[0], (n * 3 / 5).max(2)).expect("valid attendance")
}

fn pattern_parse(c: &mut Criterion) {
    let doc = document(&mut Lcg(7));
    c.bench_function("pattern/parse_and_normalise", |b| {
        b.iter(|| {
            let p = WeeklyPattern::from_json(black_box(&doc)).expect("parses");
            black_box(p.to_json())
        })
    });
}

fn layout_intersect(c: &mut Criterion) {
    let mut g = c.benchmark_group("layout_intersect");
    for days in [7, 62] {
        for n in [2, 10, 100, 1000] {
            let m = members(n);
            let w = window(days);
            let everyone = Attendance::everyone(n).expect("valid");
            g.bench_with_input(
                BenchmarkId::new(format!("everyone/{days}d"), n),
                &m,
                |b, m| b.iter(|| intersect(&lay_out(black_box(m), w), &everyone)),
            );
            let k = quorum(n);
            g.bench_with_input(
                BenchmarkId::new(format!("k_of_n/{days}d"), n),
                &m,
                |b, m| b.iter(|| intersect(&lay_out(black_box(m), w), &k)),
            );
        }
    }
    g.finish();
}

/// The two halves of `layout_intersect` for 100 users over 62 days.
fn parts(c: &mut Criterion) {
    let mut g = c.benchmark_group("parts");
    let n = 100;
    let m = members(n);
    let w = window(62);
    g.bench_function("layout/100_users/62d", |b| {
        b.iter(|| lay_out(black_box(&m), w))
    });
    let group = lay_out(&m, w);
    let k = quorum(n);
    g.bench_function("intersect_k_of_n/100_users/62d", |b| {
        b.iter(|| intersect(black_box(&group), &k))
    });
    let everyone = Attendance::everyone(n).expect("valid");
    g.bench_function("intersect_everyone/100_users/62d", |b| {
        b.iter(|| intersect(black_box(&group), &everyone))
    });
    g.finish();
}

fn suggest_k_of_n(c: &mut Criterion) {
    let mut g = c.benchmark_group("suggest");
    let n = 100;
    let m = members(n);
    let w = window(62);
    let group = lay_out(&m, w);
    for preference in [Preference::First, Preference::Best, Preference::Random] {
        let request = SuggestRequest {
            duration: DurationMinutes::new(60).expect("valid"),
            step: StepMinutes::new(30).expect("valid"),
            count: Count::new(10).expect("valid"),
            preference,
            seed: 7,
            attendance: quorum(n),
        };
        g.bench_function(format!("k_of_n/100_users/62d/{preference}"), |b| {
            b.iter(|| suggest(black_box(&group), &request))
        });
    }
    let request = SuggestRequest {
        duration: DurationMinutes::new(60).expect("valid"),
        step: StepMinutes::new(30).expect("valid"),
        count: Count::new(10).expect("valid"),
        preference: Preference::Best,
        seed: 7,
        attendance: quorum(n),
    };
    g.bench_function("layout_intersect_suggest/100_users/62d/best", |b| {
        b.iter(|| {
            let group = lay_out(black_box(&m), w);
            let intervals = intersect(&group, &request.attendance);
            (intervals, suggest(&group, &request))
        })
    });
    g.finish();
}

/// `p` with every free run moved `by` slots later (cut at midnight).
fn later(p: &WeeklyPattern, by: usize) -> WeeklyPattern {
    let days = std::array::from_fn(|d| {
        let mut out = DaySlots::EMPTY;
        for (a, b) in p.days()[d].runs() {
            out.insert_range((a + by).min(288), (b + by).min(288));
        }
        out
    });
    WeeklyPattern::from_days(days, [DayFormat::Intervals; 7])
}

/// Two levels and explanations (issue 14): the same group with every
/// member's "if need be" pattern shifted two hours later, ranked k-of-n;
/// and the explanation of an answer where nothing fits (all required).
fn levels_explain(c: &mut Criterion) {
    let mut g = c.benchmark_group("levels_explain");
    for (n, days) in [(100, 62), (1000, 7)] {
        let m = members(n);
        let w = window(days);
        let one_level = lay_out(&m, w);
        let mut two_levels = one_level.clone();
        for (i, (p, tz)) in m.iter().enumerate() {
            two_levels.add_if_need_be(i, &later(p, 24), *tz);
        }
        let request = |attendance| SuggestRequest {
            duration: DurationMinutes::new(60).expect("valid"),
            step: StepMinutes::new(30).expect("valid"),
            count: Count::new(10).expect("valid"),
            preference: Preference::First,
            seed: 7,
            attendance,
        };
        let k_of_n = request(quorum(n));
        g.bench_function(format!("suggest_one_level/{n}_users/{days}d"), |b| {
            b.iter(|| suggest(black_box(&one_level), &k_of_n))
        });
        g.bench_function(format!("suggest_two_levels/{n}_users/{days}d"), |b| {
            b.iter(|| suggest(black_box(&two_levels), &k_of_n))
        });
        let everyone = request(Attendance::everyone(n).expect("valid"));
        g.bench_function(format!("explain_empty/{n}_users/{days}d"), |b| {
            b.iter(|| scheduling::explain(black_box(&one_level), &everyone, false))
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    pattern_parse,
    layout_intersect,
    parts,
    suggest_k_of_n,
    levels_explain
);
criterion_main!(benches);
