// The time axis of a canvas page: `x(t)` places a time (ms) on the canvas, the wheel zooms
// about the pointer, a drag pans, a double-click shows the whole run; `draw` runs after each
// change. Shared by timeline.html and messages.html.
"use strict";
function timeAxis(canvas, left, right, end, draw) {
  const axis = { t0: 0, t1: end * 1.01 };
  const span = () => canvas.width - left - right;
  axis.x = t => left + (t - axis.t0) / (axis.t1 - axis.t0) * span();
  axis.time = px => axis.t0 + (px - left) / span() * (axis.t1 - axis.t0);
  axis.ticks = (ctx, y) => {
    ctx.fillStyle = "#222"; ctx.font = "11px sans-serif";
    const step = Math.pow(10, Math.floor(Math.log10((axis.t1 - axis.t0) / 5)));
    for (let t = Math.ceil(axis.t0 / step) * step; t <= axis.t1; t += step) {
      ctx.fillRect(axis.x(t), y, 1, 5);
      ctx.fillText((t / 1000).toFixed(step < 1 ? 4 : step < 1000 ? 3 : 1) + " s", axis.x(t) + 2, y + 16);
    }
  };
  axis.show = (t0, t1) => { axis.t0 = t0; axis.t1 = t1; draw(); };
  let drag = null;
  canvas.addEventListener("wheel", ev => {
    ev.preventDefault();
    const t = axis.time(ev.offsetX), k = ev.deltaY > 0 ? 1.25 : 0.8;
    axis.show(t - (t - axis.t0) * k, t + (axis.t1 - t) * k);
  }, { passive: false });
  canvas.addEventListener("mousedown", ev => { drag = [ev.offsetX, axis.t0, axis.t1, false]; });
  window.addEventListener("mouseup", () => { setTimeout(() => { drag = null; }, 0); });
  canvas.addEventListener("dblclick", () => axis.show(0, end * 1.01));
  // True while the pointer drags the axis (the move is the pan's, not a hover).
  axis.dragging = ev => {
    if (!drag || !(ev.buttons & 1)) return false;
    const dt = (ev.offsetX - drag[0]) / span() * (drag[2] - drag[1]);
    if (Math.abs(ev.offsetX - drag[0]) > 2) drag[3] = true;
    axis.show(drag[1] - dt, drag[2] - dt);
    return true;
  };
  // True if the last press moved the axis (so its click is no selection).
  axis.dragged = () => drag !== null && drag[3];
  return axis;
}
function showTip(tip, ev, text) {
  if (text === null) { tip.style.display = "none"; return; }
  tip.textContent = text;
  tip.style.display = "block";
  tip.style.left = Math.max(0, Math.min(ev.clientX + 12, window.innerWidth - 540)) + "px";
  tip.style.top = (ev.clientY + 12) + "px";
}
