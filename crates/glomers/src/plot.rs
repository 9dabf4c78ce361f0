//! Maelstrom's standard charts, drawn as SVG without gnuplot: `latency-raw.svg` (every
//! client operation, invocation time against latency on a log scale, coloured by outcome
//! and shaped by function), `latency-quantiles.svg` (median, 95th, 99th percentile and
//! maximum latency of `ok` operations per time window and function) and `rate.svg`
//! (operations per second by function and outcome). Partitions are shaded on all three.

use crate::history::{pair_client_ops, Op, OpType, Process};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The most points drawn per series; larger series are thinned evenly.
const MAX_POINTS_PER_SERIES: usize = 10_000;
/// Windows per run for the quantile and rate charts.
const WINDOWS: usize = 60;
const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 190.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 45.0;
const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;

fn colour(kind: OpType) -> &'static str {
    match kind {
        OpType::Ok => "#2e8b57",
        OpType::Info => "#e8a33c",
        _ => "#c0392b",
    }
}

/// Colours of the latency quantiles, lightest for the median.
const QUANTILES: [(f64, &str, &str); 4] = [
    (0.5, "median", "#9ecae1"),
    (0.95, "95th", "#4292c6"),
    (0.99, "99th", "#08519c"),
    (1.0, "max", "#08306b"),
];

/// One marker of shape `shape` at (x, y).
fn marker(out: &mut String, shape: usize, x: f64, y: f64, fill: &str) {
    let _ = match shape % 4 {
        0 => writeln!(
            out,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="2" fill="{fill}"/>"#
        ),
        1 => writeln!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="4" height="4" fill="{fill}"/>"#,
            x - 2.0,
            y - 2.0
        ),
        2 => writeln!(
            out,
            r#"<path d="M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z" fill="{fill}"/>"#,
            y - 2.5,
            x + 2.5,
            y + 2.0,
            x - 2.5,
            y + 2.0
        ),
        _ => writeln!(
            out,
            r#"<path d="M{x:.1} {:.1}L{:.1} {y:.1}L{x:.1} {:.1}L{:.1} {y:.1}Z" fill="{fill}"/>"#,
            y - 2.5,
            x + 2.5,
            y + 2.5,
            x - 2.5
        ),
    };
}

/// The y axis of a chart.
#[derive(Clone, Copy)]
enum Scale {
    /// Powers of ten from `10^low` to `10^high`.
    Log { low: f64, high: f64 },
    /// From 0 to `max`.
    Linear { max: f64 },
}

impl Scale {
    fn log_of(values: impl Iterator<Item = f64> + Clone) -> Scale {
        let low = values
            .clone()
            .map(|v| v.log10().floor())
            .fold(f64::MAX, f64::min);
        let high = values
            .map(|v| v.log10().ceil())
            .fold(f64::MIN, f64::max)
            .max(low + 1.0);
        Scale::Log { low, high }
    }
}

/// A chart under construction: title, partitions shaded, axes, then series and legend.
struct Frame {
    out: String,
    t_max: f64,
    scale: Scale,
    legend_rows: usize,
}

impl Frame {
    fn new(history: &[Op], title: &str, t_max: f64, scale: Scale, y_label: &str) -> Frame {
        let mut frame = Frame {
            out: String::new(),
            t_max: t_max.max(1e-9),
            scale,
            legend_rows: 0,
        };
        let out = &mut frame.out;
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="11">"#
        );
        let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            out,
            r#"<text x="{LEFT}" y="18" font-size="13">{}</text>"#,
            escape(title)
        );
        frame.shade_partitions(history);
        frame.axes(y_label);
        frame
    }

    fn x(&self, t: f64) -> f64 {
        LEFT + t.min(self.t_max) / self.t_max * PLOT_W
    }

    fn y(&self, v: f64) -> f64 {
        match self.scale {
            Scale::Log { low, high } => {
                TOP + PLOT_H - (v.max(1e-9).log10() - low) / (high - low) * PLOT_H
            }
            Scale::Linear { max } => TOP + PLOT_H - v / max.max(1e-9) * PLOT_H,
        }
    }

    fn shade_partitions(&mut self, history: &[Op]) {
        let mut spans = Vec::new();
        let mut open: Option<f64> = None;
        for op in history.iter().filter(|op| op.process == Process::NEMESIS) {
            let t = op.time as f64 / 1e9;
            match (op.f.as_str(), op.kind) {
                ("start-partition", OpType::Info) => open = open.or(Some(t)),
                ("stop-partition", OpType::Info) => spans.extend(open.take().map(|from| (from, t))),
                _ => {}
            }
        }
        spans.extend(open.map(|from| (from, self.t_max)));
        for (from, to) in spans {
            let (x1, x2) = (self.x(from), self.x(to));
            let _ = writeln!(
                self.out,
                r##"<rect x="{x1:.1}" y="{TOP}" width="{:.1}" height="{PLOT_H}" fill="#000" fill-opacity="0.07"/>"##,
                (x2 - x1).max(0.5)
            );
        }
    }

    fn axes(&mut self, y_label: &str) {
        let mut lines = String::new();
        let _ = writeln!(
            lines,
            r##"<rect x="{LEFT}" y="{TOP}" width="{PLOT_W}" height="{PLOT_H}" fill="none" stroke="#444"/>"##
        );
        let ticks: Vec<f64> = match self.scale {
            Scale::Log { low, high } => {
                let mut ticks = Vec::new();
                let mut decade = low;
                while decade <= high {
                    ticks.push(10f64.powf(decade));
                    decade += 1.0;
                }
                ticks
            }
            Scale::Linear { max } => (0..=5).map(|i| max * f64::from(i) / 5.0).collect(),
        };
        for v in ticks {
            let y = self.y(v);
            let label = if v >= 1.0 || v == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v}")
            };
            let _ = writeln!(
                lines,
                r##"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"##,
                LEFT + PLOT_W,
                LEFT - 5.0,
                y + 4.0
            );
        }
        for i in 0..=5 {
            let t = self.t_max * f64::from(i) / 5.0;
            let _ = writeln!(
                lines,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{t:.1}</text>"#,
                self.x(t),
                TOP + PLOT_H + 15.0
            );
        }
        let _ = writeln!(
            lines,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">time (s)</text>"#,
            LEFT + PLOT_W / 2.0,
            HEIGHT - 8.0
        );
        let _ = writeln!(
            lines,
            r#"<text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{y_label}</text>"#,
            TOP + PLOT_H / 2.0
        );
        self.out.push_str(&lines);
    }

    fn line(&mut self, points: &[(f64, f64)], stroke: &str, shape: usize) {
        let path: Vec<String> = points
            .iter()
            .map(|(t, v)| format!("{:.1},{:.1}", self.x(*t), self.y(*v)))
            .collect();
        let _ = writeln!(
            self.out,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="1.2"/>"#,
            path.join(" ")
        );
        for (t, v) in points {
            let (x, y) = (self.x(*t), self.y(*v));
            marker(&mut self.out, shape, x, y, stroke);
        }
    }

    fn legend(&mut self, shape: usize, fill: &str, text: &str) {
        let ly = TOP + 10.0 + self.legend_rows as f64 * 16.0;
        let lx = LEFT + PLOT_W + 15.0;
        marker(&mut self.out, shape, lx, ly - 4.0, fill);
        let _ = writeln!(
            self.out,
            r#"<text x="{:.1}" y="{ly:.1}">{}</text>"#,
            lx + 10.0,
            escape(text)
        );
        self.legend_rows += 1;
    }

    fn finish(mut self) -> String {
        self.out.push_str("</svg>\n");
        self.out
    }
}

/// Each completed client operation: (function, outcome, invocation seconds, latency ms).
fn operations(history: &[Op]) -> Vec<(&str, OpType, f64, f64)> {
    pair_client_ops(history)
        .into_iter()
        .filter_map(|(inv, completion)| {
            let (start, end) = (&history[inv], &history[completion?]);
            let latency_ms = end.time.saturating_sub(start.time) as f64 / 1e6;
            Some((
                start.f.as_str(),
                end.kind,
                start.time as f64 / 1e9,
                latency_ms.max(0.01),
            ))
        })
        .collect()
}

/// Position of each function, for marker shapes.
fn shapes<'a>(ops: &[(&'a str, OpType, f64, f64)]) -> BTreeMap<&'a str, usize> {
    let mut fs: Vec<&str> = ops.iter().map(|o| o.0).collect();
    fs.sort_unstable();
    fs.dedup();
    fs.into_iter().enumerate().map(|(i, f)| (f, i)).collect()
}

/// `latency-raw.svg`; `None` when the history has no completed client operation.
pub fn latency_raw_svg(history: &[Op], title: &str) -> Option<String> {
    let ops = operations(history);
    if ops.is_empty() {
        return None;
    }
    let t_max = ops.iter().map(|o| o.2).fold(0.0, f64::max);
    let scale = Scale::log_of(ops.iter().map(|o| o.3));
    let mut frame = Frame::new(
        history,
        &format!("{title} latency (raw)"),
        t_max,
        scale,
        "latency (ms)",
    );
    let shape_of = shapes(&ops);
    let mut series: BTreeMap<(&str, OpType), Vec<(f64, f64)>> = BTreeMap::new();
    for (f, kind, t, ms) in &ops {
        series.entry((f, *kind)).or_default().push((*t, *ms));
    }
    for ((f, kind), points) in &series {
        let stride = points.len().div_ceil(MAX_POINTS_PER_SERIES).max(1);
        for (t, ms) in points.iter().step_by(stride) {
            let (x, y) = (frame.x(*t), frame.y(*ms));
            marker(&mut frame.out, shape_of[f], x, y, colour(*kind));
        }
        let kind_name = kind.keyword().trim_start_matches(':');
        frame.legend(
            shape_of[f],
            colour(*kind),
            &format!("{f} {kind_name} ({})", points.len()),
        );
    }
    Some(frame.finish())
}

/// The window width for a run of `t_max` seconds: at least a second.
fn window(t_max: f64) -> f64 {
    (t_max / WINDOWS as f64).max(1.0)
}

/// `latency-quantiles.svg`: per function and window, quantiles of `ok` latencies.
pub fn latency_quantiles_svg(history: &[Op], title: &str) -> Option<String> {
    let ops = operations(history);
    let oks: Vec<_> = ops.iter().filter(|o| o.1 == OpType::Ok).collect();
    if oks.is_empty() {
        return None;
    }
    let t_max = ops.iter().map(|o| o.2).fold(0.0, f64::max);
    let dt = window(t_max);
    let scale = Scale::log_of(oks.iter().map(|o| o.3));
    let mut frame = Frame::new(
        history,
        &format!("{title} latency quantiles ({dt:.0} s windows)"),
        t_max,
        scale,
        "latency (ms)",
    );
    let shape_of = shapes(&ops);
    let mut windows: BTreeMap<(&str, u64), Vec<f64>> = BTreeMap::new();
    for (f, _, t, ms) in &oks {
        windows.entry((f, (t / dt) as u64)).or_default().push(*ms);
    }
    for (f, shape) in &shape_of {
        let mut per_window: Vec<(f64, Vec<f64>)> = windows
            .iter_mut()
            .filter(|((g, _), _)| g == f)
            .map(|((_, w), v)| {
                v.sort_by(f64::total_cmp);
                ((*w as f64 + 0.5) * dt, v.clone())
            })
            .collect();
        if per_window.is_empty() {
            continue;
        }
        per_window.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (q, name, stroke) in QUANTILES {
            let points: Vec<(f64, f64)> = per_window
                .iter()
                .map(|(t, v)| {
                    (
                        *t,
                        v[((v.len() as f64 * q).floor() as usize).min(v.len() - 1)],
                    )
                })
                .collect();
            frame.line(&points, stroke, *shape);
            frame.legend(*shape, stroke, &format!("{f} {name}"));
        }
    }
    Some(frame.finish())
}

/// `rate.svg`: operations per second by function and outcome, per window.
pub fn rate_svg(history: &[Op], title: &str) -> Option<String> {
    let ops = operations(history);
    if ops.is_empty() {
        return None;
    }
    let t_max = ops.iter().map(|o| o.2).fold(0.0, f64::max);
    let dt = window(t_max);
    let buckets = (t_max / dt) as usize + 1;
    let mut counts: BTreeMap<(&str, OpType), Vec<f64>> = BTreeMap::new();
    for (f, kind, t, _) in &ops {
        let series = counts
            .entry((f, *kind))
            .or_insert_with(|| vec![0.0; buckets]);
        series[((t / dt) as usize).min(buckets - 1)] += 1.0 / dt;
    }
    let max = counts.values().flatten().copied().fold(1.0, f64::max) * 1.1;
    let mut frame = Frame::new(
        history,
        &format!("{title} rate ({dt:.0} s windows)"),
        t_max,
        Scale::Linear { max },
        "operations per second",
    );
    let shape_of = shapes(&ops);
    for ((f, kind), series) in &counts {
        let points: Vec<(f64, f64)> = series
            .iter()
            .enumerate()
            .map(|(i, r)| ((i as f64 + 0.5) * dt, *r))
            .collect();
        frame.line(&points, colour(*kind), shape_of[f]);
        let kind_name = kind.keyword().trim_start_matches(':');
        frame.legend(shape_of[f], colour(*kind), &format!("{f} {kind_name}"));
    }
    Some(frame.finish())
}

/// Text made safe inside SVG or HTML elements.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn op(index: u64, time_ms: u64, kind: OpType, process: Process, f: &str) -> Op {
        Op::new(index, time_ms * 1_000_000, kind, process, f, Value::Null)
    }

    fn history() -> Vec<Op> {
        let c = Process::Client;
        vec![
            op(0, 0, OpType::Invoke, c(0), "read"),
            op(1, 5, OpType::Ok, c(0), "read"),
            op(2, 10, OpType::Info, Process::NEMESIS, "start-partition"),
            op(3, 20, OpType::Invoke, c(1), "write"),
            op(4, 2020, OpType::Info, c(1), "write"),
            op(5, 3000, OpType::Info, Process::NEMESIS, "stop-partition"),
        ]
    }

    fn well_formed(svg: &str) {
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(
            svg.contains("fill-opacity=\"0.07\""),
            "the partition is shaded"
        );
        for bad in ["NaN", "=\"inf", "=\"-inf", ",inf", ",-inf"] {
            assert!(!svg.contains(bad), "{bad}: {svg}");
        }
    }

    #[test]
    fn every_series_is_drawn_with_a_legend_and_partitions_shaded() {
        let h = history();
        let raw = latency_raw_svg(&h, "lin-kv <test>").unwrap();
        well_formed(&raw);
        assert!(
            raw.contains("read ok (1)") && raw.contains("write info (1)"),
            "{raw}"
        );
        assert!(raw.contains("lin-kv &lt;test&gt;"));
        let quantiles = latency_quantiles_svg(&h, "lin-kv").unwrap();
        well_formed(&quantiles);
        assert!(quantiles.contains("read median") && quantiles.contains("read max"));
        assert!(
            !quantiles.contains("write median"),
            "only ok operations have quantiles"
        );
        let rate = rate_svg(&h, "lin-kv").unwrap();
        well_formed(&rate);
        assert!(rate.contains("read ok") && rate.contains("write info"));
    }

    #[test]
    fn histories_without_client_operations_draw_nothing() {
        let h = history();
        assert!(latency_raw_svg(&h[2..3], "x").is_none());
        assert!(latency_quantiles_svg(&h[2..3], "x").is_none());
        assert!(rate_svg(&h[2..3], "x").is_none());
    }
}
