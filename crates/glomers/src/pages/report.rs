//! `index.html`: the report of one run. The verdict, the key figures, each checker's
//! verdict, and for an invalid run the failure drawn where a picture says more than the
//! checker's text: the broadcast values that were lost, with the reads that missed them;
//! each Elle anomaly as a small graph of transactions whose edges say why one precedes the
//! next; a linearizability failure as the operations on the key around it, the last steps
//! of the longest order the search found and the operation it could not place (as
//! anishathalye/porcupine draws it); kafka's offending offsets, key by key. Then links to
//! every other file of the run, and the command that reproduces it.
//!
//! Static SVG inside the page: a few hundred shapes at most, each with a `<title>` the
//! browser shows on hover; no script.

use crate::checker::Validity;
use crate::history::{Op, OpType, Process};
use crate::options::TestOptions;
use crate::plot::escape;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;

/// What the report of a run is made from.
pub struct RunPage<'a> {
    /// The run's name: its workload and directory.
    pub title: String,
    /// Its options.
    pub options: &'a TestOptions,
    /// Its history.
    pub history: &'a [Op],
    /// The results map, or why the run crashed.
    pub outcome: Result<&'a Value, &'a str>,
    /// The command that runs it again.
    pub reproduce: String,
    /// The other files of the run directory: (what it is, file name).
    pub links: Vec<(String, String)>,
}

/// Instances of one anomaly drawn; the rest are in results.json.
const DRAWN_PER_KIND: usize = 2;
/// Lost values drawn.
const LOST_DRAWN: usize = 12;

/// The page.
pub fn report_html(page: &RunPage) -> String {
    let mut body = String::new();
    let validity = page.outcome.map(|results| Validity::of(&results["valid?"]));
    let (verdict, class) = match validity {
        Ok(validity) => (validity.name().to_uppercase(), validity.name()),
        Err(_) => ("CRASHED".to_owned(), "invalid"),
    };
    let _ = write!(
        body,
        r#"<h1>{title}</h1><p><span id="verdict" class="{class}">{verdict}</span> "#,
        title = escape(&page.title)
    );
    match (page.outcome, validity) {
        (Ok(results), Ok(validity)) => {
            let _ = write!(
                body,
                "{}</p>",
                escape(crate::report::closing_line(validity))
            );
            body.push_str(&figures(results));
            body.push_str(&checkers(results));
            let failures = failures(results, page.history);
            if !failures.is_empty() {
                body.push_str("<h2>What went wrong</h2>");
                body.push_str(&failures);
            }
        }
        (Err(error), _) | (_, Err(error)) => {
            let _ = write!(
                body,
                "the run crashed before it reached a verdict</p><pre>{}</pre>",
                escape(error)
            );
        }
    }
    body.push_str("<h2>Files</h2><ul>");
    for (what, file) in &page.links {
        let _ = write!(
            body,
            r#"<li><a href="{f}">{f}</a>: {w}</li>"#,
            f = escape(file),
            w = escape(what)
        );
    }
    let _ = write!(
        body,
        "</ul><h2>Reproduce</h2><p>Seed {seed}: the same seed draws the same operations, \
         latencies and faults{exact}.</p><pre id=\"reproduce\">{command}</pre>",
        seed = page.options.seed,
        exact = if page.options.bin.as_os_str() == crate::sim::IN_PROCESS {
            "; a simulation replays exactly"
        } else {
            " (a process run's interleaving follows the real clock)"
        },
        command = escape(&page.reproduce)
    );
    PAGE.replace("{{TITLE}}", &escape(&page.title))
        .replace("{{BODY}}", &body)
}

fn number(value: &Value, digits: usize) -> String {
    match value.as_f64() {
        Some(x) if value.is_f64() => format!("{x:.digits$}"),
        Some(_) => value.to_string(),
        None => "-".into(),
    }
}

fn figures(results: &Value) -> String {
    let stats = &results["stats"];
    let net = &results["net"];
    let latency = &results["perf"]["latency-ms"];
    let rows = [
        (
            "operations",
            format!(
                "{} ok, {} fail, {} info",
                number(&stats["ok-count"], 0),
                number(&stats["fail-count"], 0),
                number(&stats["info-count"], 0)
            ),
        ),
        (
            "availability",
            number(&results["availability"]["ok-fraction"], 4),
        ),
        (
            "messages per operation",
            format!(
                "{} in all, {} between servers",
                number(&net["all"]["msgs-per-op"], 2),
                number(&net["servers"]["msgs-per-op"], 2)
            ),
        ),
        (
            "latency",
            format!(
                "p50 {} ms, p95 {} ms, p99 {} ms, max {} ms",
                number(&latency["0.5"], 1),
                number(&latency["0.95"], 1),
                number(&latency["0.99"], 1),
                number(&latency["1"], 1)
            ),
        ),
    ];
    let mut out = String::from(r#"<table class="figures">"#);
    for (name, value) in rows {
        let _ = write!(out, "<tr><th>{name}</th><td>{}</td></tr>", escape(&value));
    }
    out.push_str("</table>");
    out
}

fn checkers(results: &Value) -> String {
    let mut out = String::from(r#"<h2>Checkers</h2><table class="checkers">"#);
    for (name, result) in results.as_object().into_iter().flatten() {
        let Some(valid) = result.get("valid?") else {
            continue;
        };
        let verdict = Validity::of(valid).name();
        let _ = write!(
            out,
            r#"<tr><th>{}</th><td class="{verdict}">{verdict}</td></tr>"#,
            escape(name)
        );
    }
    out.push_str("</table>");
    out
}

/// The drawings of what failed, and the JSON of any failing checker that has none.
fn failures(results: &Value, history: &[Op]) -> String {
    let mut out = String::new();
    let workload = &results["workload"];
    let mut drawn = false;
    if workload["lost"].as_array().is_some_and(|l| !l.is_empty()) {
        out.push_str(&lost_values(workload, history));
        drawn = true;
    }
    if let Some(anomalies) = workload["anomalies"].as_object() {
        for (kind, instances) in anomalies {
            out.push_str(&anomaly(kind, instances));
        }
        drawn |= !anomalies.is_empty();
    }
    if let Some(keys) = workload["results"].as_object() {
        for (key, result) in keys.iter().filter(|(_, r)| r["valid?"] == false) {
            out.push_str(&linearizability(key, result, history));
            drawn = true;
        }
    }
    if let Some(kinds) = workload["error-types"].as_array() {
        for kind in kinds.iter().filter_map(Value::as_str) {
            out.push_str(&offsets(kind, &workload[kind]));
            drawn = true;
        }
    }
    for (name, result) in results.as_object().into_iter().flatten() {
        let failed = result["valid?"] == false;
        if failed && !(name == "workload" && drawn) {
            let mut text = serde_json::to_string_pretty(result).unwrap_or_default();
            if text.len() > 6000 {
                let cut = (0..=6000)
                    .rev()
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap_or(0);
                text.truncate(cut);
                text.push_str("\n... (the rest is in results.json)");
            }
            let _ = write!(out, "<h3>{}</h3><pre>{}</pre>", escape(name), escape(&text));
        }
    }
    out
}

fn seconds(ns: u64) -> String {
    format!("{:.3} s", ns as f64 / 1e9)
}

/// Each lost value on a row along the run's time: when its `add` (or `broadcast`) was
/// acknowledged, and every read completed after that, red where it missed the value.
fn lost_values(workload: &Value, history: &[Op]) -> String {
    let reads: Vec<(&Op, HashSet<String>)> = history
        .iter()
        .filter(|op| op.process.is_client() && op.kind == OpType::Ok && op.f == "read")
        .map(|op| {
            let seen = op
                .value
                .as_array()
                .into_iter()
                .flatten()
                .map(Value::to_string)
                .collect();
            (op, seen)
        })
        .collect();
    let end = history.last().map_or(1, |op| op.time.max(1)) as f64;
    let lost: Vec<&Value> = workload["lost-details"]
        .as_array()
        .into_iter()
        .flatten()
        .take(LOST_DRAWN)
        .collect();
    let total = workload["lost-count"].as_u64().unwrap_or(lost.len() as u64);
    let (left, width, row) = (110.0, 760.0, 26.0);
    let x = |t: f64| left + t / end * width;
    let height = 30.0 + row * lost.len() as f64;
    let mut svg = format!(
        r#"<svg class="lost" width="{}" height="{height}" viewBox="0 0 {} {height}">"#,
        left + width + 20.0,
        left + width + 20.0
    );
    for (i, detail) in lost.iter().enumerate() {
        let y = 20.0 + row * i as f64;
        let element = &detail["element"];
        let known = &detail["known"];
        let known_at = known["time"].as_u64().unwrap_or(0);
        let _ = write!(
            svg,
            r##"<text x="4" y="{}">value {}</text><line x1="{left}" x2="{}" y1="{y}" y2="{y}" stroke="#ddd"/>"##,
            y + 4.0,
            escape(&element.to_string()),
            left + width
        );
        let key = element.to_string();
        let mut missed = 0;
        for (read, seen) in reads.iter().filter(|(r, _)| r.time > known_at) {
            let has = seen.contains(&key);
            missed += usize::from(!has);
            let _ = write!(
                svg,
                r##"<rect x="{:.1}" y="{}" width="2" height="14" fill="{}"><title>read by process {} at {}: {}</title></rect>"##,
                x(read.time as f64),
                y - 7.0,
                if has { "#4a4" } else { "#d22" },
                escape(&serde_json::to_string(&read.process).unwrap_or_default()),
                seconds(read.time),
                if has { "contained it" } else { "missed it" }
            );
        }
        let _ = write!(
            svg,
            r##"<circle cx="{:.1}" cy="{y}" r="5" fill="#1f77b4"><title>value {} acknowledged at {} (process {}); {} later reads missed it</title></circle>"##,
            x(known_at as f64),
            escape(&key),
            seconds(known_at),
            escape(&known["process"].to_string()),
            missed
        );
    }
    svg.push_str("</svg>");
    format!(
        "<h3>Lost values: {total}</h3><p>Each value the cluster acknowledged and no final read \
         holds (first {shown}): a blue dot where its <code>add</code> was acknowledged, a tick \
         for every read completed after that, <span class=\"invalid\">red</span> where the \
         read missed it, green where it held it. Hover for details.</p>{svg}",
        shown = lost.len()
    )
}

/// An Elle anomaly: cycles as a graph of transactions, G1a/G1b as the writer and the
/// reader, anything else as its JSON.
fn anomaly(kind: &str, instances: &Value) -> String {
    let all = instances.as_array().map_or(&[][..], Vec::as_slice);
    let mut out = format!("<h3>{} ({} found)</h3>", escape(kind), all.len());
    for instance in all.iter().take(DRAWN_PER_KIND) {
        if let (Some(cycle), Some(steps)) =
            (instance["cycle"].as_array(), instance["steps"].as_array())
        {
            out.push_str(&cycle_graph(cycle, steps, &instance["explanation"]));
        } else if instance.get("writer").is_some() && instance.get("op").is_some() {
            out.push_str(&aborted_read(kind, instance));
        } else {
            let _ = write!(
                out,
                "<pre>{}</pre>",
                escape(&serde_json::to_string_pretty(instance).unwrap_or_default())
            );
        }
    }
    out
}

fn edge_colour(kind: &str) -> &'static str {
    match kind {
        "ww" => "#1f77b4",
        "wr" => "#2ca02c",
        "rw" => "#d62728",
        "realtime" => "#9467bd",
        "process" => "#8c564b",
        _ => "#555",
    }
}

fn txn_text(op: &Value) -> String {
    format!(
        "process {}, {}: {}",
        op["process"],
        op["type"].as_str().unwrap_or("?"),
        op["value"]
    )
}

/// The transactions of a cycle around a circle, each edge an arrow to the next labelled with
/// its kind (ww, wr, rw, realtime, process); under it, each transaction and each edge's
/// reason as Elle's explanation gives it.
fn cycle_graph(cycle: &[Value], steps: &[Value], explanation: &Value) -> String {
    let n = cycle.len().max(1);
    let radius = (40.0 * n as f64).clamp(80.0, 220.0);
    let (cx, cy) = (radius + 70.0, radius + 40.0);
    let at = |i: usize| {
        let angle = -std::f64::consts::FRAC_PI_2 + 2.0 * std::f64::consts::PI * i as f64 / n as f64;
        (cx + radius * angle.cos(), cy + radius * angle.sin())
    };
    let size = 2.0 * radius + 140.0;
    let mut svg = format!(
        r##"<svg class="cycle" width="{size}" height="{h}" viewBox="0 0 {size} {h}"><defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#444"/></marker></defs>"##,
        h = 2.0 * radius + 80.0
    );
    let reasons: Vec<&str> = explanation
        .as_str()
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("- "))
        .collect();
    for (i, step) in steps.iter().enumerate().take(n) {
        let (x1, y1) = at(i);
        let (x2, y2) = at((i + 1) % n);
        // Stop short of the boxes.
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (sx, sy, ex, ey) = (
            x1 + dx / len * 24.0,
            y1 + dy / len * 24.0,
            x2 - dx / len * 24.0,
            y2 - dy / len * 24.0,
        );
        let kind = step["type"].as_str().unwrap_or("?");
        let colour = edge_colour(kind);
        let reason = reasons.get(i).copied().unwrap_or(kind);
        let _ = write!(
            svg,
            r##"<g><title>{reason}</title><line x1="{sx:.1}" y1="{sy:.1}" x2="{ex:.1}" y2="{ey:.1}" stroke="{colour}" stroke-width="2" marker-end="url(#head)"/><text x="{:.1}" y="{:.1}" fill="{colour}" font-weight="bold">{}</text></g>"##,
            (sx + ex) / 2.0 + 6.0,
            (sy + ey) / 2.0 - 4.0,
            escape(kind),
            reason = escape(reason)
        );
    }
    for (i, op) in cycle.iter().enumerate() {
        let (x, y) = at(i);
        let _ = write!(
            svg,
            r##"<g><title>{}</title><rect x="{:.1}" y="{:.1}" width="44" height="26" rx="5" fill="#f4f4f4" stroke="#444"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">T{}</text></g>"##,
            escape(&txn_text(op)),
            x - 22.0,
            y - 13.0,
            y + 4.0,
            i + 1
        );
    }
    svg.push_str("</svg>");
    let mut list = String::from("<ul class=\"txns\">");
    for (i, op) in cycle.iter().enumerate() {
        let _ = write!(
            list,
            "<li>T{} = <code>{}</code></li>",
            i + 1,
            escape(&txn_text(op))
        );
    }
    list.push_str("</ul><ul class=\"reasons\">");
    for (i, reason) in reasons.iter().enumerate() {
        let kind = steps.get(i).and_then(|s| s["type"].as_str()).unwrap_or("?");
        let _ = write!(
            list,
            r#"<li><b style="color:{}">{}</b> {}</li>"#,
            edge_colour(kind),
            escape(kind),
            escape(reason)
        );
    }
    list.push_str("</ul>");
    format!(r#"<div class="anomaly">{svg}{list}</div>"#)
}

/// G1a (a read of a failed transaction's write) or G1b (of an intermediate write): the
/// writer and the reader, with the read between them.
fn aborted_read(kind: &str, instance: &Value) -> String {
    let writer = &instance["writer"];
    let reader = &instance["op"];
    let mop = &instance["mop"];
    let what = if kind == "G1a" {
        "written by a transaction that failed (it must never be visible)"
    } else {
        "an intermediate write, overwritten inside its own transaction"
    };
    let read = format!("read of key {} saw {}", mop[1], mop[2]);
    let svg = format!(
        r##"<svg class="aborted" width="760" height="110" viewBox="0 0 760 110"><defs><marker id="h2" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="#d22"/></marker></defs><g><title>{w}</title><rect x="10" y="30" width="250" height="50" rx="6" fill="#fde4e4" stroke="#d22"/><text x="20" y="52">writer, {wtype}: process {wp}</text><text x="20" y="70" font-size="11">{wv}</text></g><line x1="262" y1="55" x2="488" y2="55" stroke="#d22" stroke-width="2" marker-end="url(#h2)"/><text x="280" y="45" fill="#d22">{read}</text><g><title>{r}</title><rect x="490" y="30" width="250" height="50" rx="6" fill="#f4f4f4" stroke="#444"/><text x="500" y="52">reader, {rtype}: process {rp}</text><text x="500" y="70" font-size="11">{rv}</text></g></svg>"##,
        w = escape(&txn_text(writer)),
        r = escape(&txn_text(reader)),
        wtype = escape(writer["type"].as_str().unwrap_or("?")),
        rtype = escape(reader["type"].as_str().unwrap_or("?")),
        wp = writer["process"],
        rp = reader["process"],
        wv = escape(&short(&writer["value"], 40)),
        rv = escape(&short(&reader["value"], 40)),
        read = escape(&read)
    );
    format!(
        r#"<div class="anomaly">{svg}<p>The {read}, a value {what}. Writer: <code>{}</code>{}. Reader: <code>{}</code>.</p></div>"#,
        escape(&txn_text(writer)),
        writer
            .get("error")
            .map(|e| format!(", error {}", escape(&e.to_string())))
            .unwrap_or_default(),
        escape(&txn_text(reader)),
        read = escape(&read),
    )
}

fn short(value: &Value, chars: usize) -> String {
    let text = value.to_string();
    if text.chars().count() <= chars {
        text
    } else {
        text.chars().take(chars).collect::<String>() + "..."
    }
}

/// One operation of a key's history: process, invocation and completion (ns), what it did,
/// its outcome and history index (of the completion).
struct Bar<'a> {
    process: u64,
    invoked: u64,
    completed: Option<u64>,
    op: &'a Op,
}

/// The operations on `key` around the first one that could not be linearized: each on its
/// process's lane from invocation to completion, the last operations of the longest order
/// the search found numbered in that order, the unplaceable one in red.
fn linearizability(key: &str, result: &Value, history: &[Op]) -> String {
    let mut open: BTreeMap<u64, &Op> = BTreeMap::new();
    let mut bars: Vec<Bar> = Vec::new();
    let on_key = |op: &Op| super::compact(&op.value[0]) == key;
    for op in history {
        let Process::Client(process) = op.process else {
            continue;
        };
        if op.kind == OpType::Invoke {
            open.insert(process, op);
        } else if let Some(invoke) = open.remove(&process) {
            if on_key(invoke) {
                bars.push(Bar {
                    process,
                    invoked: invoke.time,
                    completed: (op.kind == OpType::Ok || op.kind == OpType::Fail)
                        .then_some(op.time),
                    op,
                });
            }
        }
    }
    let bad = result["op"]["index"].as_u64();
    let order: Vec<u64> = result["previous-ok"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|op| op["index"].as_u64())
        .collect();
    let Some(failed) = bars.iter().find(|b| Some(b.op.index) == bad) else {
        return format!(
            "<h3>Key {}: not linearizable</h3><p>{}</p>",
            escape(key),
            escape(result["explanation"].as_str().unwrap_or_default())
        );
    };
    // The window: from the oldest operation of the order to a little past the failure.
    let from = bars
        .iter()
        .filter(|b| order.contains(&b.op.index))
        .map(|b| b.invoked)
        .min()
        .unwrap_or(failed.invoked)
        .min(failed.invoked);
    let to = failed.completed.unwrap_or(failed.invoked);
    let margin = ((to - from) / 10).max(1_000_000);
    let (from, to) = (from.saturating_sub(margin), to + margin);
    let shown: Vec<&Bar> = bars
        .iter()
        .filter(|b| b.invoked <= to && b.completed.unwrap_or(u64::MAX) >= from)
        .take(300)
        .collect();
    let processes: Vec<u64> = {
        let mut p: Vec<u64> = shown.iter().map(|b| b.process).collect();
        p.sort_unstable();
        p.dedup();
        p
    };
    let (left, width, lane) = (90.0, 760.0, 30.0);
    let x = |t: u64| left + (t.clamp(from, to) - from) as f64 / (to - from) as f64 * width;
    let height = 30.0 + lane * processes.len() as f64;
    let mut svg = format!(
        r#"<svg class="linear" width="{w}" height="{height}" viewBox="0 0 {w} {height}">"#,
        w = left + width + 20.0
    );
    for (i, process) in processes.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<text x="4" y="{}">process {process}</text>"#,
            24.0 + lane * i as f64
        );
    }
    for bar in &shown {
        let lane_at = processes
            .iter()
            .position(|&p| p == bar.process)
            .unwrap_or(0);
        let y = 8.0 + lane * lane_at as f64;
        let step = order.iter().position(|&i| i == bar.op.index);
        let is_failed = Some(bar.op.index) == bad;
        let (fill, stroke) = if is_failed {
            ("#fde4e4", "#d22")
        } else if step.is_some() {
            ("#dbe9f6", "#1f77b4")
        } else {
            ("#f4f4f4", "#999")
        };
        let end = bar.completed.unwrap_or(to);
        let label = match step {
            Some(s) => format!(
                "{}. {} {}",
                s + 1,
                bar.op.f,
                super::compact(&bar.op.value[1])
            ),
            None => format!("{} {}", bar.op.f, super::compact(&bar.op.value[1])),
        };
        let _ = write!(
            svg,
            r#"<g><title>{title}</title><rect x="{:.1}" y="{y}" width="{:.1}" height="22" rx="3" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"/><text x="{:.1}" y="{}" font-size="11">{}</text></g>"#,
            x(bar.invoked),
            (x(end) - x(bar.invoked)).max(2.0),
            x(bar.invoked) + 3.0,
            y + 15.0,
            escape(&label),
            sw = if is_failed { 2 } else { 1 },
            title = escape(&format!(
                "{} {} by process {}: {} to {}{}",
                bar.op.f,
                bar.op.value,
                bar.process,
                seconds(bar.invoked),
                bar.completed
                    .map(seconds)
                    .unwrap_or_else(|| "never (info)".into()),
                if bar.op.kind == OpType::Fail {
                    ", failed"
                } else {
                    ""
                }
            ))
        );
    }
    svg.push_str("</svg>");
    format!(
        "<h3>Key {key}: not linearizable</h3><div class=\"anomaly\">{svg}<p>{}</p><p>Blue, numbered: \
         the last operations of the longest order the search found, in that order. \
         <span class=\"invalid\">Red</span>: the operation it could not place after them; \
         possible values there: <code>{}</code>. Grey: other operations on the key.</p></div>",
        escape(result["explanation"].as_str().unwrap_or_default()),
        escape(&result["possible-values"].to_string()),
        key = escape(key)
    )
}

/// One kafka error type: every error naming a key and an offset as a red cell on its key's
/// row of offsets, with its details on hover, and the first errors listed.
fn offsets(kind: &str, errors: &Value) -> String {
    let errs = errors["errs"].as_array().map_or(&[][..], Vec::as_slice);
    let count = errors["count"].as_u64().unwrap_or(errs.len() as u64);
    let mut by_key: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for err in errs {
        if err.get("offset").and_then(Value::as_u64).is_some() {
            by_key
                .entry(super::compact(&err["key"]))
                .or_default()
                .push(err);
        }
    }
    let mut out = format!("<h3>{} ({count})</h3>", escape(kind));
    if !by_key.is_empty() {
        let cell = 14.0;
        let keys: Vec<_> = by_key.iter().take(16).collect();
        let last = keys
            .iter()
            .flat_map(|(_, e)| e.iter().filter_map(|e| e["offset"].as_u64()))
            .max()
            .unwrap_or(0)
            .min(80);
        let width = 70.0 + cell * (last + 1) as f64 + 10.0;
        let height = 24.0 + cell * keys.len() as f64;
        let mut svg = format!(
            r#"<svg class="offsets" width="{width}" height="{height}" viewBox="0 0 {width} {height}"><text x="70" y="12" font-size="11">offset 0 to {last}</text>"#
        );
        for (row, (key, errs)) in keys.iter().enumerate() {
            let y = 18.0 + cell * row as f64;
            let _ = write!(
                svg,
                r#"<text x="4" y="{}">key {}</text>"#,
                y + 11.0,
                escape(key)
            );
            for offset in 0..=last {
                let hit = errs.iter().find(|e| e["offset"].as_u64() == Some(offset));
                let _ = write!(
                    svg,
                    r##"<rect x="{}" y="{y}" width="{}" height="{}" fill="{}" stroke="#fff">{}</rect>"##,
                    70.0 + cell * offset as f64,
                    cell,
                    cell,
                    if hit.is_some() { "#d22" } else { "#e8e8e8" },
                    hit.map(|e| format!("<title>{}</title>", escape(&e.to_string())))
                        .unwrap_or_default()
                );
            }
        }
        svg.push_str("</svg>");
        out.push_str(&svg);
    }
    out.push_str("<ul class=\"errs\">");
    for err in errs.iter().take(12) {
        let _ = write!(out, "<li><code>{}</code></li>", escape(&err.to_string()));
    }
    out.push_str("</ul>");
    out
}

const PAGE: &str = r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{TITLE}}</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 16px 24px; color: #222; max-width: 1100px; }
h1 { font-size: 20px; margin: 0 0 8px; } h2 { font-size: 17px; margin-top: 26px; }
h3 { font-size: 15px; margin-top: 20px; }
#verdict { font-weight: bold; padding: 2px 8px; border-radius: 4px; color: #fff; }
#verdict.valid { background: #3a3; } #verdict.invalid { background: #c22; }
#verdict.unknown { background: #c80; }
td.valid { color: #282; } td.invalid, span.invalid { color: #c22; font-weight: bold; }
td.unknown { color: #c80; }
table { border-collapse: collapse; } th, td { text-align: left; padding: 2px 14px 2px 0; }
th { font-weight: 600; }
pre { background: #f6f6f6; padding: 8px; overflow: auto; white-space: pre-wrap; }
svg { font: 12px system-ui, sans-serif; display: block; margin: 8px 0; }
.anomaly { border-left: 3px solid #eee; padding-left: 12px; margin-bottom: 14px; }
code { font: 12px ui-monospace, monospace; }
</style></head>
<body>
{{BODY}}
</body></html>
"##;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(index: u64, ms: u64, kind: &str, process: u64, f: &str, value: Value) -> Op {
        serde_json::from_value(json!({"index": index, "time": ms * 1_000_000,
            "type": kind, "process": process, "f": f, "value": value}))
        .unwrap()
    }

    fn page(results: &Value, history: &[Op]) -> String {
        let options = TestOptions::example("lin-kv");
        report_html(&RunPage {
            title: "lin-kv <run>".into(),
            options: &options,
            history,
            outcome: Ok(results),
            reproduce: options.command_line(),
            links: vec![("message diagram".into(), "messages.html".into())],
        })
    }

    #[test]
    fn a_linearizability_failure_draws_the_order_and_the_operation_it_could_not_place() {
        let history = vec![
            op(0, 0, "invoke", 0, "write", json!([0, 1])),
            op(1, 1, "ok", 0, "write", json!([0, 1])),
            op(2, 2, "invoke", 1, "read", json!([0, null])),
            op(3, 3, "ok", 1, "read", json!([0, 2])),
            op(4, 3, "invoke", 0, "write", json!([5, 2])),
            op(5, 4, "ok", 0, "write", json!([5, 2])),
        ];
        let results = json!({"valid?": false, "workload": {"valid?": false, "failures": [0],
            "results": {"0": {"valid?": false, "op": {"index": 3}, "previous-ok": [{"index": 1}],
                "possible-values": [1], "explanation": "no order explains read 2"}}}});
        let html = page(&results, &history);
        assert!(html.contains(r#"<span id="verdict" class="invalid">INVALID</span>"#));
        assert!(html.contains("lin-kv &lt;run&gt;"));
        assert!(html.contains(">1. write 1<"), "the order is numbered");
        assert!(
            html.contains(r##"stroke="#d22" stroke-width="2""##),
            "the failed op is red"
        );
        assert!(
            !html.contains("write 2"),
            "operations on other keys are left out"
        );
        assert!(html.contains(r#"<a href="messages.html">"#));
        assert!(html.contains("glomers test -w lin-kv --bin /bin/true --node-count 1"));
    }

    #[test]
    fn lost_values_show_the_reads_that_missed_them() {
        let history = vec![
            op(0, 0, "invoke", 0, "add", json!(7)),
            op(1, 1, "ok", 0, "add", json!(7)),
            op(2, 2, "invoke", 1, "read", Value::Null),
            op(3, 3, "ok", 1, "read", json!([1])),
            op(4, 4, "invoke", 0, "read", Value::Null),
            op(5, 5, "ok", 0, "read", json!([1, 7])),
        ];
        let results = json!({"valid?": false, "workload": {"valid?": false, "lost": [7],
            "lost-count": 1, "lost-details": [{"element": 7,
                "known": {"time": 1_000_000, "process": 0}}]}});
        let html = page(&results, &history);
        assert!(html.contains("Lost values: 1"));
        assert_eq!(html.matches(": missed it</title>").count(), 1);
        assert_eq!(html.matches(": contained it</title>").count(), 1);
        assert!(html.contains("1 later reads missed it"));
    }

    #[test]
    fn elle_cycles_are_graphs_with_each_edge_explained() {
        let t = |p: u64, v: Value| json!({"process": p, "type": "ok", "value": v});
        let results = json!({"valid?": false, "workload": {"valid?": false, "anomalies": {
            "G-single": [{"cycle": [t(0, json!([["r", 1, null]])), t(1, json!([["w", 1, 2]]))],
                "steps": [{"type": "rw"}, {"type": "wr"}],
                "explanation": "Then:\n  - T1 < T2, because T1 did not see 2.\n  - However, T2 < T1, because T1 saw it."}],
            "G1a": [{"mop": ["r", 9, 10], "op": t(3, json!([["r", 9, 10]])),
                "writer": {"process": 2, "type": "fail", "value": [["w", 9, 10]], "error": ["txn-conflict"]}}]}}});
        let html = page(&results, &[]);
        assert!(html.contains(">T1<") && html.contains(">T2<"));
        assert!(html.contains("<title>T1 &lt; T2, because T1 did not see 2.</title>"));
        assert!(html.contains("read of key 9 saw 10"));
        assert!(html.contains("written by a transaction that failed"));
    }

    #[test]
    fn kafka_offsets_are_cells_and_crashes_say_why() {
        let results = json!({"valid?": false, "workload": {"valid?": false,
            "error-types": ["inconsistent-offsets"], "inconsistent-offsets": {"count": 1,
            "errs": [{"key": "10", "offset": 3, "values": [1, 2]}]}}});
        let html = page(&results, &[]);
        assert!(html.contains("key 10"));
        assert_eq!(html.matches(r##"fill="#d22""##).count(), 1);
        let options = TestOptions::example("echo");
        let crashed = report_html(&RunPage {
            title: "echo".into(),
            options: &options,
            history: &[],
            outcome: Err("node n0 exited"),
            reproduce: String::new(),
            links: Vec::new(),
        });
        assert!(crashed.contains("CRASHED") && crashed.contains("node n0 exited"));
    }
}
