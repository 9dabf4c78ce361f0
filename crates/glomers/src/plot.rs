//! `latency-raw.svg`: every client operation as a point, invocation time against latency
//! (log scale), coloured by outcome and shaped by function, with partitions shaded; the
//! counterpart of Maelstrom's `latency-raw.png`, drawn without gnuplot.

use crate::history::{pair_client_ops, Op, OpType, Process};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The most points drawn per series; larger series are thinned evenly.
const MAX_POINTS_PER_SERIES: usize = 10_000;
const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 45.0;

fn colour(kind: OpType) -> &'static str {
    match kind {
        OpType::Ok => "#2e8b57",
        OpType::Info => "#e8a33c",
        _ => "#c0392b",
    }
}

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

/// The chart for a history; `None` when it has no completed client operation.
pub fn latency_raw_svg(history: &[Op], title: &str) -> Option<String> {
    // (f, outcome) -> [(invocation seconds, latency ms)]
    let mut series: BTreeMap<(String, OpType), Vec<(f64, f64)>> = BTreeMap::new();
    for (inv, completion) in pair_client_ops(history) {
        let Some(c) = completion else { continue };
        let (start, end) = (&history[inv], &history[c]);
        let latency_ms = end.time.saturating_sub(start.time) as f64 / 1e6;
        series
            .entry((start.f.clone(), end.kind))
            .or_default()
            .push((start.time as f64 / 1e9, latency_ms.max(0.01)));
    }
    if series.is_empty() {
        return None;
    }
    let points = series.values().flatten();
    let t_max = points.clone().map(|p| p.0).fold(1e-9, f64::max);
    let decade_low = points
        .clone()
        .map(|p| p.1.log10().floor())
        .fold(f64::MAX, f64::min);
    let decade_high = points
        .map(|p| p.1.log10().ceil())
        .fold(f64::MIN, f64::max)
        .max(decade_low + 1.0);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x_of = |t: f64| LEFT + t / t_max * plot_w;
    let y_of =
        |ms: f64| TOP + plot_h - (ms.log10() - decade_low) / (decade_high - decade_low) * plot_h;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="18" font-size="13">{} latency (raw)</text>"#,
        escape(title)
    );
    // Partitions, shaded.
    let mut open: Option<f64> = None;
    for op in history.iter().filter(|op| op.process == Process::NEMESIS) {
        let t = op.time as f64 / 1e9;
        match (op.f.as_str(), op.kind) {
            ("start-partition", OpType::Info) => open = open.or(Some(t)),
            ("stop-partition", OpType::Info) => {
                if let Some(from) = open.take() {
                    shade(&mut out, x_of(from), x_of(t.min(t_max)), plot_h);
                }
            }
            _ => {}
        }
    }
    if let Some(from) = open {
        shade(&mut out, x_of(from), x_of(t_max), plot_h);
    }
    // Axes and grid.
    let _ = writeln!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#444"/>"##
    );
    let mut decade = decade_low;
    while decade <= decade_high {
        let y = y_of(10f64.powf(decade));
        let label = format_ms(10f64.powf(decade));
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"##,
            LEFT + plot_w,
            LEFT - 5.0,
            y + 4.0
        );
        decade += 1.0;
    }
    for i in 0..=5 {
        let t = t_max * f64::from(i) / 5.0;
        let x = x_of(t);
        let _ = writeln!(
            out,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{t:.1}</text>"#,
            TOP + plot_h + 15.0
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">time (s)</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 8.0
    );
    let _ = writeln!(
        out,
        r#"<text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">latency (ms)</text>"#,
        TOP + plot_h / 2.0
    );
    // Points and legend.
    let functions: Vec<&String> = {
        let mut fs: Vec<&String> = series.keys().map(|(f, _)| f).collect();
        fs.dedup();
        fs
    };
    for (row, ((f, kind), points)) in series.iter().enumerate() {
        let shape = functions.iter().position(|g| *g == f).unwrap_or(0);
        let stride = points.len().div_ceil(MAX_POINTS_PER_SERIES).max(1);
        for (t, ms) in points.iter().step_by(stride) {
            marker(&mut out, shape, x_of(*t), y_of(*ms), colour(*kind));
        }
        let ly = TOP + 10.0 + row as f64 * 16.0;
        let lx = LEFT + plot_w + 15.0;
        marker(&mut out, shape, lx, ly - 4.0, colour(*kind));
        let kind_name = kind.keyword().trim_start_matches(':');
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{ly:.1}">{} {kind_name} ({})</text>"#,
            lx + 10.0,
            escape(f),
            points.len()
        );
    }
    out.push_str("</svg>\n");
    Some(out)
}

fn shade(out: &mut String, x1: f64, x2: f64, plot_h: f64) {
    let _ = writeln!(
        out,
        r##"<rect x="{x1:.1}" y="{TOP}" width="{:.1}" height="{plot_h}" fill="#000" fill-opacity="0.07"/>"##,
        (x2 - x1).max(0.5)
    );
}

fn format_ms(ms: f64) -> String {
    if ms >= 1.0 {
        format!("{ms:.0}")
    } else {
        format!("{ms}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn op(index: u64, time_ms: u64, kind: OpType, process: Process, f: &str) -> Op {
        Op {
            index,
            time: time_ms * 1_000_000,
            kind,
            process,
            f: f.into(),
            value: Value::Null,
            error: None,
            exception: None,
            is_final: false,
        }
    }

    #[test]
    fn every_series_is_drawn_with_a_legend_and_partitions_shaded() {
        let c = Process::Client;
        let history = vec![
            op(0, 0, OpType::Invoke, c(0), "read"),
            op(1, 5, OpType::Ok, c(0), "read"),
            op(2, 10, OpType::Info, Process::NEMESIS, "start-partition"),
            op(3, 20, OpType::Invoke, c(1), "write"),
            op(4, 2020, OpType::Info, c(1), "write"),
            op(5, 3000, OpType::Info, Process::NEMESIS, "stop-partition"),
        ];
        let svg = latency_raw_svg(&history, "lin-kv <test>").unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(
            svg.contains("read ok (1)") && svg.contains("write info (1)"),
            "{svg}"
        );
        assert!(
            svg.contains("fill-opacity=\"0.07\""),
            "the partition is shaded"
        );
        assert!(svg.contains("lin-kv &lt;test&gt;"));
        assert!(latency_raw_svg(&history[2..3], "x").is_none());
    }
}
