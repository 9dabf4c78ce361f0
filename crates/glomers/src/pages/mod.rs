//! The pages a run directory holds, to open in a browser straight from disk: the report
//! (`index.html`), the message diagram (`messages.html`) and the timeline of operations
//! (`timeline.html`). Each is one self-contained file with no network access: its data is
//! JSON inside the page, drawn by a short script (on a canvas where there can be tens of
//! thousands of things to draw, as SVG where there are a few).

pub mod messages;
pub mod report;
pub mod timeline;

use serde_json::Value;

/// The script both canvas pages share: a zoomable, pannable time axis and a tooltip.
const AXIS_JS: &str = include_str!("axis.js");

/// What a canvas page adds to the shell both share.
struct CanvasPage<'a> {
    /// The run's name.
    title: &'a str,
    /// What the page shows, after the title in the window's name.
    what: &'a str,
    /// Its own style rules.
    style: &'a str,
    /// The header after the title: counts, legend, controls (HTML).
    header: &'a str,
    /// The element that holds the canvas and the figures a test reads back (HTML).
    main: &'a str,
    /// The drawing script; it finds its data in `#data` and the axis in `timeAxis`.
    script: &'a str,
    /// The data, from [`script_json`].
    data: &'a str,
}

/// The page: the shared shell (style, tooltip, the time-axis script) around `page`'s parts.
fn canvas_page(page: &CanvasPage) -> String {
    let title = crate::plot::escape(page.title);
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}: {what}</title>
<style>
body {{ font: 13px system-ui, sans-serif; margin: 0; color: #222; }}
#tip {{ position: fixed; pointer-events: none; background: #fff; border: 1px solid #999;
       padding: 4px 6px; max-width: 520px; white-space: pre-wrap; display: none;
       font: 12px ui-monospace, monospace; }}
canvas {{ display: block; cursor: grab; }}
{style}</style></head>
<body>
<header><b>{title}</b> {header}</header>
{main}<div id="tip"></div>
<script type="application/json" id="data">{data}</script>
<script>{AXIS_JS}</script>
<script>
{script}</script></body></html>
"#,
        what = page.what,
        style = page.style,
        header = page.header,
        main = page.main,
        data = page.data,
        script = page.script,
    )
}

/// `value` as JSON that can sit inside a `<script>` element: there only `</` could end the
/// element early, and JSON allows `<\/` for it.
fn script_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "null".into())
        .replace("</", "<\\/")
}

/// A JSON value as one short line of text: strings bare, `null` empty.
fn compact(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The intervals a partition was in force, from each `start-partition` completion to the
/// next `stop-partition` (or the end): `[from ms, to ms, shape, who drops whom]`.
fn partitions(history: &[crate::history::Op]) -> Vec<Value> {
    use crate::history::Process;
    let mut bands = Vec::new();
    let mut started: Option<(f64, Value)> = None;
    let ms = |op: &crate::history::Op| op.time as f64 / 1e6;
    let end = history.last().map_or(0.0, ms);
    let band = |from: f64, to: f64, value: &Value| {
        let shape = compact(&value[0]);
        let grudge = value[1]
            .as_object()
            .map(|g| {
                g.iter()
                    .filter_map(|(node, drops)| {
                        let drops: Vec<String> = drops.as_array()?.iter().map(compact).collect();
                        (!drops.is_empty()).then(|| format!("{node} drops {}", drops.join(" ")))
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        serde_json::json!([from, to, shape, grudge])
    };
    for op in history.iter().filter(|op| op.process == Process::NEMESIS) {
        match op.f.as_str() {
            "start-partition" if op.value.is_array() => started = Some((ms(op), op.value.clone())),
            "stop-partition" => {
                if let Some((from, value)) = started.take() {
                    bands.push(band(from, ms(op), &value));
                }
            }
            _ => {}
        }
    }
    if let Some((from, value)) = started {
        bands.push(band(from, end, &value));
    }
    bands
}
