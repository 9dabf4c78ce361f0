//! `messages.html`: the run's messages as a diagram, one lane per endpoint (nodes, then the
//! services, then the clients), time along the page, one arrow per message from its send to
//! its delivery, coloured by body type. Maelstrom draws the same picture as `messages.svg`
//! (jepsen-io/maelstrom, `src/maelstrom/net/viz.clj`), a Lamport diagram that a browser
//! can no longer lay out past a few thousand messages; ours is drawn on a canvas from the
//! journal's figures, so that a 3d run's 50,000 messages stay usable: zoom and pan the
//! time axis, filter by type, by node and by kind of traffic (client, service, between
//! nodes), hover an arrow for its summary, click it for its whole body. Messages that were
//! never delivered (cut by a partition, or still in flight when the run ended) end in a
//! red cross; partitions are shaded bands naming who dropped whom.
//!
//! The page is built from `messages.jsonl` one line at a time. It keeps at most
//! [`MAX_MESSAGES`] messages and [`BODY_BUDGET`] bytes of bodies, so that a flood of
//! millions of messages still gives a page a browser opens (the page says how many it
//! left out, and every message names its journal line).

use super::{canvas_page, partitions, script_json, CanvasPage};
use crate::history::Op;
use crate::plot::escape;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead};
use std::path::Path;

/// The most messages a diagram holds: about 25 MB of page at worst, a few seconds for a
/// browser; a 3d run has a fifth of it.
pub const MAX_MESSAGES: usize = 250_000;

/// The most bytes of message bodies a diagram holds; past it, arrows keep their summary and
/// their journal line, and the body stays in `messages.jsonl`.
pub const BODY_BUDGET: usize = 16 << 20;

/// A body longer than this is left in the journal (one gossip of a whole set, say).
const LONGEST_BODY: usize = 4096;

/// What kind of endpoint a lane is, for filters and colours.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Endpoint {
    Node = 0,
    Service = 1,
    Client = 2,
}

fn endpoint(name: &str, nodes: &[String]) -> Endpoint {
    if nodes.iter().any(|n| n == name) {
        Endpoint::Node
    } else if name.starts_with('c') && name[1..].bytes().all(|b| b.is_ascii_digit()) {
        Endpoint::Client
    } else {
        Endpoint::Service
    }
}

/// One journal line, borrowed from the line: only the body's text is kept, unparsed.
#[derive(Deserialize)]
struct JournalLine<'a> {
    id: u64,
    time: u64,
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(borrow)]
    message: JournalMessage<'a>,
}

#[derive(Deserialize)]
struct JournalMessage<'a> {
    id: u64,
    src: &'a str,
    dest: &'a str,
    #[serde(borrow)]
    body: &'a RawValue,
}

#[derive(Deserialize)]
struct BodyType<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a str>,
}

/// The page's data, as its script reads it.
#[derive(Serialize)]
struct DiagramData<'a> {
    title: &'a str,
    lanes: Vec<&'a str>,
    endpoints: Vec<u8>,
    types: &'a [String],
    /// Source and destination lanes, sent and delivered (ms), type, journal entry.
    messages: Vec<(usize, usize, f64, Option<f64>, usize, u64)>,
    bodies: Vec<Option<&'a RawValue>>,
    partitions: Vec<Value>,
    sent: u64,
}

/// One arrow: lanes, send and delivery (ms), type, journal line of the send.
struct Arrow {
    src: usize,
    dest: usize,
    sent: f64,
    delivered: Option<f64>,
    kind: usize,
    line: u64,
}

/// The diagram being built from the journal, one event at a time.
pub struct Diagram {
    nodes: Vec<String>,
    lanes: BTreeMap<String, usize>,
    lane_names: Vec<String>,
    types: Vec<String>,
    type_index: HashMap<String, usize>,
    arrows: Vec<Arrow>,
    bodies: Vec<Option<Box<RawValue>>>,
    body_bytes: usize,
    /// Message id -> its arrow, until it is delivered.
    in_flight: HashMap<u64, usize>,
    /// Messages sent in all, kept or not, as far as the journal was read.
    sent: u64,
    /// The journal was read only up to a little past the last kept message.
    cut_short: bool,
}

impl Diagram {
    /// A diagram whose first lanes are `nodes`, in order.
    pub fn new(nodes: &[String]) -> Self {
        let mut diagram = Diagram {
            nodes: nodes.to_vec(),
            lanes: BTreeMap::new(),
            lane_names: Vec::new(),
            types: Vec::new(),
            type_index: HashMap::new(),
            arrows: Vec::new(),
            bodies: Vec::new(),
            body_bytes: 0,
            in_flight: HashMap::new(),
            sent: 0,
            cut_short: false,
        };
        for node in nodes {
            diagram.lane(node);
        }
        diagram
    }

    fn lane(&mut self, name: &str) -> usize {
        if let Some(&lane) = self.lanes.get(name) {
            return lane;
        }
        let lane = self.lane_names.len();
        self.lanes.insert(name.to_owned(), lane);
        self.lane_names.push(name.to_owned());
        lane
    }

    fn kind(&mut self, body: &RawValue) -> usize {
        let name = serde_json::from_str::<BodyType>(body.get())
            .ok()
            .and_then(|b| b.kind)
            .unwrap_or("(no type)");
        if let Some(&kind) = self.type_index.get(name) {
            return kind;
        }
        self.types.push(name.to_owned());
        self.type_index
            .insert(name.to_owned(), self.types.len() - 1);
        self.types.len() - 1
    }

    /// Adds one line of `messages.jsonl`.
    pub fn add_line(&mut self, line: &str) -> Result<(), serde_json::Error> {
        let entry: JournalLine = serde_json::from_str(line)?;
        let ms = entry.time as f64 / 1e6;
        let message = &entry.message;
        if entry.kind == "recv" {
            if let Some(arrow) = self.in_flight.remove(&message.id) {
                self.arrows[arrow].delivered = Some(ms);
            }
            return Ok(());
        }
        self.sent += 1;
        if self.arrows.len() >= MAX_MESSAGES {
            return Ok(());
        }
        let src = self.lane(message.src);
        let dest = self.lane(message.dest);
        let kind = self.kind(message.body);
        let body = message.body.get();
        let keep = body.len() <= LONGEST_BODY && self.body_bytes + body.len() <= BODY_BUDGET;
        self.bodies.push(keep.then(|| message.body.to_owned()));
        if keep {
            self.body_bytes += body.len();
        }
        self.in_flight.insert(message.id, self.arrows.len());
        self.arrows.push(Arrow {
            src,
            dest,
            sent: ms,
            delivered: None,
            kind,
            line: entry.id,
        });
        Ok(())
    }

    /// Reads `messages.jsonl`, line by line: all of it, or, once the diagram is full, as far
    /// as the deliveries of the messages it holds (a flood's journal of millions of lines is
    /// not read to its end only to be left out).
    pub fn read_journal(&mut self, path: &Path) -> io::Result<()> {
        let file = std::fs::File::open(path)?;
        let mut reader = io::BufReader::with_capacity(1 << 20, file);
        let mut line = String::new();
        let mut number = 0;
        let mut past_full = 0;
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            if self.arrows.len() >= MAX_MESSAGES {
                past_full += 1;
                if self.in_flight.is_empty() || past_full > MAX_MESSAGES {
                    self.cut_short = true;
                    return Ok(());
                }
            }
            number += 1;
            if line.trim().is_empty() {
                continue;
            }
            self.add_line(&line).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}:{number}: {e}", path.display()),
                )
            })?;
        }
    }

    /// Messages in the diagram.
    pub fn len(&self) -> usize {
        self.arrows.len()
    }

    /// Whether the journal had no messages.
    pub fn is_empty(&self) -> bool {
        self.arrows.is_empty()
    }

    /// The page, with the partitions of `history` as bands; `title` heads it.
    pub fn html(&self, history: &[Op], title: &str) -> String {
        // Lanes: nodes in their order, then services, then clients by number.
        let mut order: Vec<usize> = (0..self.lane_names.len()).collect();
        let key = |lane: usize| {
            let name = &self.lane_names[lane];
            let kind = endpoint(name, &self.nodes);
            let number: u64 = match kind {
                Endpoint::Client => name[1..].parse().unwrap_or(u64::MAX),
                _ => 0,
            };
            (
                kind,
                if kind == Endpoint::Node { lane } else { 0 },
                number,
                name.clone(),
            )
        };
        order.sort_by_key(|&lane| key(lane));
        let mut position = vec![0; order.len()];
        for (at, &lane) in order.iter().enumerate() {
            position[lane] = at;
        }
        let ms = |t: f64| (t * 1000.0).round() / 1000.0;
        // Serialized straight from the diagram: bodies go out as the journal had them,
        // without a tree of values built for each.
        let data = DiagramData {
            title,
            lanes: order.iter().map(|&l| self.lane_names[l].as_str()).collect(),
            endpoints: order
                .iter()
                .map(|&l| endpoint(&self.lane_names[l], &self.nodes) as u8)
                .collect(),
            types: &self.types,
            messages: self
                .arrows
                .iter()
                .map(|a| {
                    (
                        position[a.src],
                        position[a.dest],
                        ms(a.sent),
                        a.delivered.map(ms),
                        a.kind,
                        a.line,
                    )
                })
                .collect(),
            bodies: self.bodies.iter().map(Option::as_deref).collect(),
            partitions: partitions(history),
            sent: self.sent,
        };
        let note = if self.cut_short {
            format!(
                " (the first {} messages; the journal, messages.jsonl, holds more)",
                self.arrows.len()
            )
        } else if self.sent as usize > self.arrows.len() {
            format!(
                " (the first {} of {} messages; the rest are in messages.jsonl)",
                self.arrows.len(),
                self.sent
            )
        } else {
            String::new()
        };
        let count = self.arrows.len().to_string();
        canvas_page(&CanvasPage {
            title,
            what: "messages",
            style: STYLE,
            header: &HEADER
                .replace("{{COUNT}}", &count)
                .replace("{{NOTE}}", &escape(&note)),
            main: &MAIN.replace("{{COUNT}}", &count),
            script: SCRIPT,
            data: &script_json(&data),
        })
    }
}

/// The page's own style, header (after the title), main element and script.
const STYLE: &str = r##"header { padding: 6px 12px; border-bottom: 1px solid #ddd; line-height: 1.9; }
header label { margin-right: 10px; white-space: nowrap; cursor: pointer; }
.key { display: inline-block; width: 14px; height: 4px; margin: 0 3px 2px 0; vertical-align: middle; }
#body { margin: 0; padding: 8px 12px; border-top: 1px solid #ddd; white-space: pre-wrap;
        font: 12px ui-monospace, monospace; max-height: 40vh; overflow: auto; }
"##;
const HEADER: &str = r##"<span id="summary">{{COUNT}} messages{{NOTE}}</span>,
<span id="shown"></span> in view.
<label>node <select id="node"><option value="-1">all</option></select></label>
<label><input type="checkbox" id="between" checked> between nodes</label>
<label><input type="checkbox" id="clients" checked> <i class="key" style="background:#999"></i>clients (dashed)</label>
<label><input type="checkbox" id="services" checked> services</label>
<span style="white-space:nowrap"><i class="key" style="background:#d22;height:10px;width:10px"></i>never delivered</span>
<span style="white-space:nowrap"><i class="key" style="background:#fcc;height:10px"></i>partition</span>
<span>wheel: zoom, drag: pan, double-click: all, click an arrow: its body</span><br>
<span id="types"></span>"##;
const MAIN: &str = r##"<main id="diagram" data-messages="{{COUNT}}"><canvas id="c"></canvas></main>
<pre id="body">Click an arrow to see its message.</pre>
"##;
const SCRIPT: &str = r##""use strict";
const data = JSON.parse(document.getElementById("data").textContent);
const canvas = document.getElementById("c"), ctx = canvas.getContext("2d");
const tip = document.getElementById("tip"), bodyBox = document.getElementById("body");
const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
  "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"];
const colour = k => palette[k % palette.length];
const LEFT = 70, TOP = 10, LANES = data.lanes.length;
const LANE = Math.max(8, Math.min(28, 640 / Math.max(1, LANES)));
let end = 1;
for (const m of data.messages) end = Math.max(end, m[3] === null ? m[2] : m[3]);
for (const p of data.partitions) end = Math.max(end, p[1]);
const axis = timeAxis(canvas, LEFT, 10, end, draw);
const x = axis.x, laneY = l => TOP + l * LANE + LANE / 2;
// An undelivered message is drawn as far as the typical delivery would have taken it.
const latencies = data.messages.filter(m => m[3] !== null).map(m => m[3] - m[2]).sort((a, b) => a - b);
const typical = latencies.length ? Math.max(latencies[latencies.length >> 1], 0.5) : 1;
const hidden = new Set();
const typesBox = document.getElementById("types");
data.types.forEach((t, k) => {
  const label = document.createElement("label");
  label.innerHTML = `<input type="checkbox" checked> <i class="key" style="background:${colour(k)}"></i>`;
  label.append(t);
  label.firstChild.addEventListener("change", ev => { ev.target.checked ? hidden.delete(k) : hidden.add(k); draw(); });
  typesBox.append(label);
});
const nodeSelect = document.getElementById("node");
data.lanes.forEach((name, l) => { const o = document.createElement("option"); o.value = l; o.textContent = name; nodeSelect.append(o); });
for (const id of ["node", "between", "clients", "services"]) document.getElementById(id).addEventListener("change", () => draw());
function visible(m) {
  if (hidden.has(m[4])) return false;
  const focus = +nodeSelect.value;
  if (focus >= 0 && m[0] !== focus && m[1] !== focus) return false;
  const a = data.endpoints[m[0]], b = data.endpoints[m[1]];
  if (a === 2 || b === 2) return document.getElementById("clients").checked;
  if (a === 1 || b === 1) return document.getElementById("services").checked;
  return document.getElementById("between").checked;
}
let shown = [];
function size() {
  canvas.width = window.innerWidth;
  canvas.height = TOP + LANES * LANE + 30;
  draw();
}
function draw() {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const bottom = TOP + LANES * LANE;
  ctx.font = "11px sans-serif";
  for (let l = 0; l < LANES; l++) {
    ctx.fillStyle = data.endpoints[l] === 2 ? "#f7f7f7" : data.endpoints[l] === 1 ? "#eef4fb" : "#fff0";
    ctx.fillRect(LEFT, TOP + l * LANE, canvas.width - LEFT, LANE);
  }
  for (const p of data.partitions) {
    ctx.fillStyle = "#fde4e4";
    ctx.fillRect(x(p[0]), TOP, Math.max(1, x(p[1]) - x(p[0])), bottom - TOP);
  }
  for (let l = 0; l < LANES; l++) {
    ctx.fillStyle = "#ccc"; ctx.fillRect(LEFT, laneY(l), canvas.width - LEFT, 1);
    ctx.fillStyle = "#222"; ctx.fillText(data.lanes[l], 4, laneY(l) + 4);
  }
  axis.ticks(ctx, bottom);
  shown = [];
  const byType = new Map();
  for (let i = 0; i < data.messages.length; i++) {
    const m = data.messages[i];
    const stop = m[3] === null ? m[2] + typical : m[3];
    if (stop < axis.t0 || m[2] > axis.t1 || !visible(m)) continue;
    const x1 = x(m[2]), y1 = laneY(m[0]);
    const x2 = m[3] === null ? x(m[2] + typical / 2) : x(stop);
    const y2 = m[3] === null ? (y1 + laneY(m[1])) / 2 : laneY(m[1]);
    shown.push([i, x1, y1, x2, y2]);
    const client = data.endpoints[m[0]] === 2 || data.endpoints[m[1]] === 2;
    const key = m[4] * 2 + (client ? 1 : 0);
    if (!byType.has(key)) byType.set(key, []);
    byType.get(key).push(shown[shown.length - 1]);
  }
  const heads = shown.length < 4000;
  ctx.lineWidth = heads ? 1.3 : 0.8;
  for (const [key, arrows] of byType) {
    ctx.strokeStyle = ctx.fillStyle = colour(key >> 1);
    ctx.setLineDash(key & 1 ? [4, 3] : []);
    ctx.beginPath();
    for (const a of arrows) { ctx.moveTo(a[1], a[2]); ctx.lineTo(a[3], a[4]); }
    ctx.stroke();
    if (!heads) continue;
    ctx.setLineDash([]);
    ctx.beginPath();
    for (const a of arrows) {
      if (data.messages[a[0]][3] === null) continue;
      const angle = Math.atan2(a[4] - a[2], a[3] - a[1]);
      ctx.moveTo(a[3], a[4]);
      ctx.lineTo(a[3] - 7 * Math.cos(angle - 0.4), a[4] - 7 * Math.sin(angle - 0.4));
      ctx.lineTo(a[3] - 7 * Math.cos(angle + 0.4), a[4] - 7 * Math.sin(angle + 0.4));
    }
    ctx.fill();
  }
  ctx.setLineDash([]);
  ctx.strokeStyle = "#d22"; ctx.lineWidth = 1.5;
  ctx.beginPath();
  for (const a of shown) {
    if (data.messages[a[0]][3] !== null) continue;
    ctx.moveTo(a[3] - 3, a[4] - 3); ctx.lineTo(a[3] + 3, a[4] + 3);
    ctx.moveTo(a[3] + 3, a[4] - 3); ctx.lineTo(a[3] - 3, a[4] + 3);
  }
  ctx.stroke();
  document.getElementById("shown").textContent = shown.length;
  // How many arrows this drawing holds: what a browser test reads back.
  document.getElementById("diagram").dataset.drawn = shown.length;
}
function nearest(ev) {
  let best = null, bestD = 25;
  const px = ev.offsetX, py = ev.offsetY;
  for (const a of shown) {
    const dx = a[3] - a[1], dy = a[4] - a[2], len = dx * dx + dy * dy;
    const k = len ? Math.max(0, Math.min(1, ((px - a[1]) * dx + (py - a[2]) * dy) / len)) : 0;
    const ex = a[1] + k * dx - px, ey = a[2] + k * dy - py, d = ex * ex + ey * ey;
    if (d < bestD) { bestD = d; best = a[0]; }
  }
  return best;
}
function partitionAt(ev) {
  const t = axis.time(ev.offsetX);
  return data.partitions.find(p => p[0] <= t && t <= p[1]);
}
function describe(i) {
  const m = data.messages[i];
  const when = m[3] === null ? `sent ${m[2].toFixed(3)} ms, never delivered`
    : `sent ${m[2].toFixed(3)} ms, delivered ${m[3].toFixed(3)} ms (${(m[3] - m[2]).toFixed(3)} ms later)`;
  return `${data.types[m[4]]}: ${data.lanes[m[0]]} -> ${data.lanes[m[1]]}\n${when}\njournal entry ${m[5]}`;
}
canvas.addEventListener("mousemove", ev => {
  if (axis.dragging(ev)) return;
  const i = nearest(ev);
  if (i !== null) return showTip(tip, ev, describe(i));
  const p = partitionAt(ev);
  showTip(tip, ev, p ? `partition (${p[2]}), ${(p[0] / 1000).toFixed(3)} s to ${(p[1] / 1000).toFixed(3)} s\n${p[3]}` : null);
});
canvas.addEventListener("click", ev => {
  if (axis.dragged()) return;
  const i = nearest(ev);
  if (i === null) return;
  const body = data.bodies[i];
  bodyBox.textContent = describe(i) + "\n\n" + (body === null
    ? "(body left in messages.jsonl: too long to keep in the page)"
    : JSON.stringify(body, null, 2));
});
window.addEventListener("resize", size);
size();
// When the page became usable, in ms since navigation began (measured by the docs).
document.getElementById("diagram").dataset.readyMs = Math.round(performance.now());
"##;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line(seq: u64, ms: u64, kind: &str, id: u64, src: &str, dest: &str, body: &str) -> String {
        format!(
            r#"{{"id":{seq},"time":{},"type":"{kind}","message":{{"id":{id},"src":"{src}","dest":"{dest}","body":{body}}}}}"#,
            ms * 1_000_000
        )
    }

    #[test]
    fn each_message_is_one_arrow_from_send_to_delivery_with_lanes_nodes_services_clients() {
        let nodes = vec!["n0".to_owned(), "n1".to_owned()];
        let mut diagram = Diagram::new(&nodes);
        let lines = [
            line(
                0,
                1,
                "send",
                0,
                "c10",
                "n1",
                r#"{"type":"read","msg_id":1}"#,
            ),
            line(
                1,
                2,
                "send",
                1,
                "n1",
                "seq-kv",
                r#"{"type":"read","key":"k"}"#,
            ),
            line(
                2,
                2,
                "send",
                2,
                "n1",
                "n0",
                r#"{"type":"gossip","m":"</script>"}"#,
            ),
            line(
                3,
                3,
                "recv",
                0,
                "c10",
                "n1",
                r#"{"type":"read","msg_id":1}"#,
            ),
            line(4, 4, "send", 3, "c2", "n0", r#"{"msg_id":7}"#),
        ];
        for l in &lines {
            diagram.add_line(l).unwrap();
        }
        assert_eq!(diagram.len(), 4);
        let page = diagram.html(&[], "broadcast");
        assert!(page.contains(r#"data-messages="4""#));
        assert!(
            !page.contains("\"m\":\"</script>\""),
            "a body cannot end the script"
        );
        let data: Value = serde_json::from_str(
            page.split(r#"<script type="application/json" id="data">"#)
                .nth(1)
                .and_then(|rest| rest.split("</script>").next())
                .unwrap(),
        )
        .unwrap();
        // Nodes in order, then services, then clients by number.
        assert_eq!(data["lanes"], json!(["n0", "n1", "seq-kv", "c2", "c10"]));
        assert_eq!(data["endpoints"], json!([0, 0, 1, 2, 2]));
        assert_eq!(data["types"], json!(["read", "gossip", "(no type)"]));
        assert_eq!(data["messages"][0], json!([4, 1, 1.0, 3.0, 0, 0]));
        assert_eq!(data["messages"][2], json!([1, 0, 2.0, null, 1, 2]));
        assert_eq!(data["bodies"][2]["m"], "</script>");
        assert_eq!(data["sent"], 4);
    }

    #[test]
    fn a_flood_is_cut_at_the_limit_and_says_so() {
        let mut diagram = Diagram::new(&["n0".to_owned()]);
        let big = format!(r#"{{"type":"noise","pad":"{}"}}"#, "x".repeat(LONGEST_BODY));
        diagram
            .add_line(&line(0, 0, "send", 0, "n0", "n0", &big))
            .unwrap();
        assert!(
            diagram.bodies[0].is_none(),
            "a long body stays in the journal"
        );
        for id in 1..=MAX_MESSAGES as u64 + 10 {
            diagram
                .add_line(&line(id, 0, "send", id, "n0", "n0", "{}"))
                .unwrap();
        }
        assert_eq!(diagram.len(), MAX_MESSAGES);
        assert_eq!(diagram.sent, MAX_MESSAGES as u64 + 11);
        let page = diagram.html(&[], "echo");
        assert!(page.contains(&format!(
            "the first {MAX_MESSAGES} of {} messages",
            MAX_MESSAGES + 11
        )));
        assert!(diagram.add_line("not json").is_err());
    }
}
