//! `timeline.html`: every client operation of a run as a bar from its invocation to its
//! completion, one lane per client thread, coloured by outcome, with the nemesis's
//! partitions as shaded bands (what jepsen-io/jepsen's `checker/timeline.clj` draws, in our
//! own way). One self-contained file: the operations as JSON, drawn on a canvas by a short
//! script, so that a run of 20,000 operations opens at once from disk with no server and no
//! network. Wheel zooms the time axis, drag pans it, hovering a bar shows the operation.
//!
//! Lanes are client threads (process mod concurrency) rather than processes: a process
//! that crashes (an `info`) is replaced by a new one on the same thread, and a run with many
//! timeouts would otherwise have more lanes than a screen has pixels. The process is in
//! each bar's details.

use super::{canvas_page, compact, partitions, script_json, CanvasPage};
use crate::history::{Op, OpType, Process};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One bar: lane, start and end (ms since the history began), outcome, process, function,
/// value and error of the completion (the invocation's value when it never completed).
fn bars(history: &[Op], concurrency: usize) -> Vec<Value> {
    let mut open: BTreeMap<u64, &Op> = BTreeMap::new();
    let mut bars = Vec::new();
    let lanes = concurrency.max(1) as u64;
    let ms = |op: &Op| op.time as f64 / 1e6;
    for op in history {
        let Process::Client(process) = op.process else {
            continue;
        };
        if op.kind == OpType::Invoke {
            open.insert(process, op);
            continue;
        }
        let Some(invoke) = open.remove(&process) else {
            continue;
        };
        let outcome = match op.kind {
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            _ => "info",
        };
        bars.push(json!([
            process % lanes,
            ms(invoke),
            ms(op),
            outcome,
            process,
            op.f,
            compact(&op.value),
            op.error.as_ref().map(compact).unwrap_or_default(),
        ]));
    }
    let end = history.last().map_or(0.0, ms);
    for (process, invoke) in open {
        bars.push(json!([
            process % lanes,
            ms(invoke),
            end,
            "pending",
            process,
            invoke.f,
            compact(&invoke.value),
            "never completed",
        ]));
    }
    bars
}

/// The page for `history`, run with `concurrency` client threads; `title` heads it.
pub fn timeline_html(history: &[Op], concurrency: usize, title: &str) -> String {
    let bars = bars(history, concurrency);
    let data = json!({
        "title": title,
        "lanes": concurrency.max(1),
        "bars": bars,
        "partitions": partitions(history),
    });
    let count = bars.len().to_string();
    canvas_page(&CanvasPage {
        title,
        what: "timeline",
        style: STYLE,
        header: &HEADER.replace("{{COUNT}}", &count),
        main: &MAIN.replace("{{COUNT}}", &count),
        script: SCRIPT,
        data: &script_json(&data),
    })
}

/// The page's own style, header (after the title), main element and script.
const STYLE: &str = r##"header { padding: 8px 12px; border-bottom: 1px solid #ddd; }
header span { margin-right: 14px; }
.key { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
"##;
const HEADER: &str = r##"<span id="summary">{{COUNT}} operations</span>
<span><i class="key" style="background:#4a4"></i>ok</span>
<span><i class="key" style="background:#d44"></i>fail</span>
<span><i class="key" style="background:#e90"></i>info</span>
<span><i class="key" style="background:#999"></i>never completed</span>
<span><i class="key" style="background:#fcc"></i>partition</span>
<span>wheel: zoom, drag: pan, double-click: all</span>"##;
const MAIN: &str = r##"<main id="timeline" data-operations="{{COUNT}}"><canvas id="c"></canvas></main>
"##;
const SCRIPT: &str = r##""use strict";
const data = JSON.parse(document.getElementById("data").textContent);
const colours = { ok: "#4a4", fail: "#d44", info: "#e90", pending: "#999" };
const canvas = document.getElementById("c"), ctx = canvas.getContext("2d");
const tip = document.getElementById("tip");
const LEFT = 70, TOP = 24, LANE = Math.max(6, Math.min(22, 600 / data.lanes));
let end = 1;
for (const b of data.bars) end = Math.max(end, b[2]);
const axis = timeAxis(canvas, LEFT, 10, end, draw);
const x = axis.x;
const byLane = [];
for (const b of data.bars) (byLane[b[0]] = byLane[b[0]] || []).push(b);
function size() {
  canvas.width = window.innerWidth;
  canvas.height = TOP + data.lanes * LANE + 30;
  draw();
}
function draw() {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const bottom = TOP + data.lanes * LANE;
  ctx.fillStyle = "#fcc";
  for (const p of data.partitions) ctx.fillRect(x(p[0]), TOP, Math.max(1, x(p[1]) - x(p[0])), bottom - TOP);
  axis.ticks(ctx, bottom);
  let drawn = 0;
  for (let lane = 0; lane < data.lanes; lane++) {
    const y = TOP + lane * LANE;
    ctx.fillStyle = "#222";
    if (LANE >= 10) ctx.fillText("thread " + lane, 4, y + LANE - 4);
    for (const b of byLane[lane] || []) {
      if (b[2] < axis.t0 || b[1] > axis.t1) continue;
      ctx.fillStyle = colours[b[3]];
      ctx.fillRect(x(b[1]), y + 1, Math.max(1, x(b[2]) - x(b[1])), LANE - 2);
      drawn++;
    }
  }
  // How many bars this drawing holds: what a browser test reads back.
  document.getElementById("timeline").dataset.drawn = drawn;
}
function at(ev) {
  const lane = Math.floor((ev.offsetY - TOP) / LANE);
  const t = axis.time(ev.offsetX);
  const slack = 3 * (axis.t1 - axis.t0) / canvas.width;
  for (const b of byLane[lane] || []) if (b[1] - slack <= t && t <= b[2] + slack) return b;
  if (ev.offsetY > TOP && ev.offsetY < TOP + data.lanes * LANE)
    for (const p of data.partitions) if (p[0] <= t && t <= p[1]) return p;
  return null;
}
canvas.addEventListener("mousemove", ev => {
  if (axis.dragging(ev)) return;
  const b = at(ev);
  if (!b) return showTip(tip, ev, null);
  if (b.length === 4) return showTip(tip, ev, `partition (${b[2]}), ${(b[0] / 1000).toFixed(3)} s to ${(b[1] / 1000).toFixed(3)} s\n${b[3]}`);
  showTip(tip, ev, `${b[5]} (${b[3]}), process ${b[4]}\n${b[1].toFixed(3)} -> ${b[2].toFixed(3)} ms (${(b[2] - b[1]).toFixed(3)} ms)` +
    (b[6] ? `\nvalue: ${b[6]}` : "") + (b[7] ? `\nerror: ${b[7]}` : ""));
});
window.addEventListener("resize", size);
size();
// When the page became usable, in ms since navigation began (measured by the docs).
document.getElementById("timeline").dataset.readyMs = Math.round(performance.now());
"##;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(index: u64, time_ms: u64, kind: &str, process: Value, f: &str, value: Value) -> Op {
        serde_json::from_value(json!({"index": index, "time": time_ms * 1_000_000,
            "type": kind, "process": process, "f": f, "value": value}))
        .unwrap()
    }

    #[test]
    fn every_operation_is_one_bar_on_its_thread_and_partitions_are_bands() {
        let history = vec![
            op(0, 0, "invoke", json!(0), "read", Value::Null),
            op(1, 1, "invoke", json!(1), "add", json!(5)),
            op(
                2,
                2,
                "info",
                json!("nemesis"),
                "start-partition",
                json!("majority"),
            ),
            op(
                3,
                2,
                "info",
                json!("nemesis"),
                "start-partition",
                json!(["isolated", {"n0": ["n1"]}]),
            ),
            op(4, 3, "ok", json!(0), "read", json!([5])),
            op(5, 4, "info", json!(1), "add", json!(5)),
            op(6, 5, "invoke", json!(3), "add", json!("</script><b>")),
            op(
                7,
                6,
                "info",
                json!("nemesis"),
                "stop-partition",
                Value::Null,
            ),
        ];
        let bars = bars(&history, 2);
        assert_eq!(bars.len(), 3);
        assert_eq!(bars[0], json!([0, 0.0, 3.0, "ok", 0, "read", "[5]", ""]));
        assert_eq!(bars[1][3], "info");
        // Process 3 is thread 1's successor after its info; it never completed.
        assert_eq!(bars[2][0], 1);
        assert_eq!(bars[2][3], "pending");
        assert_eq!(
            partitions(&history),
            vec![json!([2.0, 6.0, "isolated", "n0 drops n1"])]
        );
        let page = timeline_html(&history, 2, "broadcast <3c>");
        assert!(page.contains(r#"data-operations="3""#));
        assert!(page.contains("broadcast &lt;3c&gt;"));
        // A value cannot end the data's script element early.
        assert!(!page.contains("</script><b>"));
        let data = page
            .split(r#"<script type="application/json" id="data">"#)
            .nth(1)
            .and_then(|rest| rest.split("</script>").next())
            .unwrap();
        let parsed: Value = serde_json::from_str(data).unwrap();
        assert_eq!(parsed["bars"][2][6], "</script><b>");
    }
}
