//! PNG plots with plotters (bitmap backend, the font shipped in assets/).

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::report::{Results, Summary};

const FONT: &str = "sans-serif";
const W: u32 = 820;
const H: u32 = 500;

/// Registers DejaVu Sans (assets/, with its licence) as "sans-serif".
pub fn register_font() -> Result<()> {
    plotters::style::register_font(
        FONT,
        FontStyle::Normal,
        include_bytes!("../assets/DejaVuSans.ttf"),
    )
    .map_err(|_| anyhow!("the bundled font is not a valid TTF"))
}

const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(80, 80, 80),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

struct Line {
    name: String,
    /// (clients, value)
    points: Vec<(usize, f64)>,
    dashed: bool,
}

/// One chart: x = clients on a log2 axis, y on a log axis.
fn chart(path: &Path, title: &str, y_desc: &str, lines: &[Line]) -> Result<()> {
    let xs: Vec<usize> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .collect();
    let ys: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .filter(|v| *v > 0.0)
        .collect();
    if xs.is_empty() || ys.is_empty() {
        return Ok(());
    }
    let x_max = (*xs.iter().max().unwrap_or(&1) as f64).log2();
    let y_min = ys.iter().copied().fold(f64::INFINITY, f64::min) * 0.7;
    let y_max = ys.iter().copied().fold(0.0, f64::max) * 1.6;
    let root = BitMapBackend::new(path, (W, H)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut ch = ChartBuilder::on(&root)
        .caption(title, (FONT, 22))
        .margin(14)
        .x_label_area_size(46)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.25f64..x_max + 0.25, (y_min..y_max).log_scale())?;
    ch.configure_mesh()
        .x_desc("concurrent clients (closed loop)")
        .y_desc(y_desc)
        .x_labels(16)
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-6 {
                format!("{}", 2f64.powf(*x).round())
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| {
            if *y >= 100.0 {
                format!("{y:.0}")
            } else if *y >= 1.0 {
                format!("{y:.1}")
            } else {
                format!("{y:.2}")
            }
        })
        .light_line_style(WHITE)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .draw()?;
    for (i, l) in lines.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let pts: Vec<(f64, f64)> = l
            .points
            .iter()
            .filter(|p| p.1 > 0.0)
            .map(|(c, v)| ((*c as f64).log2(), *v))
            .collect();
        let style = color.stroke_width(if l.dashed { 1 } else { 2 });
        ch.draw_series(LineSeries::new(pts.clone(), style))?
            .label(l.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3))
            });
        ch.draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
    }
    ch.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font((FONT, 14))
        .draw()?;
    root.present()?;
    Ok(())
}

fn closed<'a>(r: &'a Results, workload: &str) -> Vec<&'a Summary> {
    let mut v: Vec<&Summary> = r
        .summary
        .iter()
        .filter(|s| s.mode == "closed" && s.workload == workload)
        .collect();
    v.sort_by_key(|s| s.clients);
    v
}

pub fn draw_all(r: &Results, dir: &Path) -> Result<()> {
    let mut workloads: Vec<String> = r
        .summary
        .iter()
        .filter(|s| s.mode == "closed")
        .map(|s| s.workload.clone())
        .collect();
    workloads.dedup();
    workloads.sort_by_key(|w| {
        crate::workload::ALL_KINDS
            .iter()
            .position(|k| k.name() == w)
            .unwrap_or(99)
    });
    workloads.dedup();
    let runs = r.config["runs"].as_u64().unwrap_or(0);

    let mut thr_lines = Vec::new();
    let mut p99_lines = Vec::new();
    for wl in &workloads {
        let pts = closed(r, wl);
        if pts.len() < 2 {
            continue; // a single point (job_submit) is a table row, not a line
        }
        if wl == "mixed" {
            let mut types: Vec<&String> = pts.iter().flat_map(|s| s.types.keys()).collect();
            types.sort();
            types.dedup();
            let lines: Vec<Line> = types
                .iter()
                .map(|t| Line {
                    name: format!("{t} p99"),
                    points: pts
                        .iter()
                        .filter_map(|s| s.types.get(*t).map(|x| (s.clients, x.p99_ms)))
                        .collect(),
                    dashed: false,
                })
                .collect();
            chart(
                &dir.join("latency-mixed.png"),
                &format!("mixed workload: p99 latency per request type (median of {runs} runs)"),
                "p99 latency (ms, log scale)",
                &lines,
            )?;
            thr_lines.push(Line {
                name: "mixed (all types)".into(),
                points: pts
                    .iter()
                    .map(|s| (s.clients, s.types.values().map(|x| x.throughput).sum()))
                    .collect(),
                dashed: false,
            });
            continue;
        }
        let get = |f: fn(&crate::stats::Stats) -> f64| -> Vec<(usize, f64)> {
            pts.iter()
                .filter_map(|s| s.types.get(wl.as_str()).map(|x| (s.clients, f(x))))
                .collect()
        };
        let lines = vec![
            Line {
                name: "p50".into(),
                points: get(|s| s.p50_ms),
                dashed: false,
            },
            Line {
                name: "p90".into(),
                points: get(|s| s.p90_ms),
                dashed: false,
            },
            Line {
                name: "p99".into(),
                points: get(|s| s.p99_ms),
                dashed: false,
            },
            Line {
                name: "p99.9".into(),
                points: get(|s| s.p999_ms),
                dashed: false,
            },
            Line {
                name: "max".into(),
                points: get(|s| s.max_ms),
                dashed: true,
            },
        ];
        chart(
            &dir.join(format!("latency-{wl}.png")),
            &format!("{wl}: latency percentiles vs clients (median of {runs} runs)"),
            "latency (ms, log scale)",
            &lines,
        )?;
        let dashed = wl.starts_with("floor_");
        thr_lines.push(Line {
            name: wl.clone(),
            points: get(|s| s.throughput),
            dashed,
        });
        p99_lines.push(Line {
            name: wl.clone(),
            points: get(|s| s.p99_ms),
            dashed,
        });
    }
    chart(
        &dir.join("throughput.png"),
        &format!("throughput vs clients per request type (median of {runs} runs)"),
        "successful requests/s (log scale)",
        &thr_lines,
    )?;
    chart(
        &dir.join("p99.png"),
        &format!("p99 latency vs clients per request type (median of {runs} runs)"),
        "p99 latency (ms, log scale)",
        &p99_lines,
    )?;
    Ok(())
}
