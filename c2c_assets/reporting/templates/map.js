// The interactive map page (map.html.j2): plain JS, no libraries, inlined verbatim; the page's CSP
// allows exactly this script, by its SHA-256 (render.script_csp). Data comes from the JSON element
// #c2c-map-data. Conventions: world coordinates are the quantised 0..Q integers from Python (y already
// flipped so "up" matches the PNG); screen = world * scale + (tx, ty) in CSS pixels. Hover finds the
// nearest visible point within 8 px using a uniform grid (CSR layout), so a mouse move touches a few
// cells, not all 70K points. Every text goes in with textContent, never as HTML.
(function () {
"use strict";
const D = JSON.parse(document.getElementById("c2c-map-data").textContent);
const n = D.x.length, X = D.x, Y = D.y;
const canvas = document.getElementById("map"), ctx = canvas.getContext("2d");
const main = document.getElementById("main");
const tip = document.getElementById("tip"), tipImg = tip.querySelector("img");
const tipT = tip.querySelector(".t"), tipP = tip.querySelector(".p"), tipC = tip.querySelector(".c");
const clusters = D.clusters, nc = clusters.length;
const slot = new Map(clusters.map((c, k) => [c.label, k]));
const ci = new Int32Array(n);
for (let i = 0; i < n; i++) ci[i] = slot.get(D.label[i]);
const thumbs = new Map();
for (let k = 0; k < D.thumb_idx.length; k++) thumbs.set(D.thumb_idx[k], D.thumb_b64[k]);
const hidden = new Uint8Array(nc);

// Points per cluster, drawn in legend order (labels sorted: noise -1 first, under the clusters).
const members = clusters.map(() => []);
for (let i = 0; i < n; i++) members[ci[i]].push(i);

// Uniform grid over world space for hover lookup.
const G = Math.max(1, Math.min(1024, Math.ceil(Math.sqrt(n / 4))));
const cellW = (D.q + 1) / G;
const cellOf = (v) => Math.min(G - 1, Math.max(0, Math.floor(v / cellW)));
const cellStart = new Int32Array(G * G + 1), cellItems = new Int32Array(n);
for (let i = 0; i < n; i++) cellStart[cellOf(Y[i]) * G + cellOf(X[i]) + 1]++;
for (let c = 0; c < G * G; c++) cellStart[c + 1] += cellStart[c];
const fill = cellStart.slice(0, G * G);
for (let i = 0; i < n; i++) cellItems[fill[cellOf(Y[i]) * G + cellOf(X[i])]++] = i;

let W = 0, H = 0, fitScale = 1, hovered = -1, frame = 0;
const view = { scale: 1, tx: 0, ty: 0 };

function fitView() {
  const pad = 24, ew = Math.max(1, D.extent[0]), eh = Math.max(1, D.extent[1]);
  fitScale = Math.max(1e-9, Math.min((W - 2 * pad) / ew, (H - 2 * pad) / eh));
  view.scale = fitScale;
  view.tx = (W - ew * fitScale) / 2;
  view.ty = (H - eh * fitScale) / 2;
}
function resize() {
  const r = canvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
  const first = W === 0;
  W = Math.max(1, r.width); H = Math.max(1, r.height);
  canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  if (first) fitView();
  schedule();
}
function schedule() { if (!frame) frame = requestAnimationFrame(draw); }
function draw() {
  frame = 0;
  ctx.clearRect(0, 0, W, H);
  const s = view.scale, tx = view.tx, ty = view.ty;
  const base = n > 20000 ? 2 : n > 2000 ? 3 : 5;
  const size = Math.min(10, base * Math.max(1, Math.sqrt(s / fitScale) * 0.75)), h = size / 2;
  for (let k = 0; k < nc; k++) {
    if (hidden[k]) continue;
    ctx.fillStyle = clusters[k].colour;
    const m = members[k];
    for (let j = 0; j < m.length; j++) {
      const i = m[j], sx = X[i] * s + tx, sy = Y[i] * s + ty;
      if (sx < -h || sy < -h || sx > W + h || sy > H + h) continue;
      ctx.fillRect(sx - h, sy - h, size, size);
    }
  }
  if (hovered >= 0) {
    ctx.beginPath();
    ctx.arc(X[hovered] * s + tx, Y[hovered] * s + ty, h + 4, 0, 2 * Math.PI);
    ctx.lineWidth = 2; ctx.strokeStyle = "#111"; ctx.stroke();
  }
}

function nearest(mx, my, radiusPx) {
  const s = view.scale, wx = (mx - view.tx) / s, wy = (my - view.ty) / s, wr = radiusPx / s;
  const c0 = cellOf(wx - wr), c1 = cellOf(wx + wr), r0 = cellOf(wy - wr), r1 = cellOf(wy + wr);
  let best = -1, bestD = wr * wr;
  for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) {
    const cell = r * G + c;
    for (let k = cellStart[cell]; k < cellStart[cell + 1]; k++) {
      const i = cellItems[k];
      if (hidden[ci[i]]) continue;
      const dx = X[i] - wx, dy = Y[i] - wy, d = dx * dx + dy * dy;
      if (d <= bestD) { bestD = d; best = i; }
    }
  }
  return best;
}
function fmtPrice(p) {
  if (p === null || p === undefined) return "no price";
  return "$" + p.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}
function showTip(i, mx, my) {
  tipT.textContent = D.title[i];
  tipP.textContent = fmtPrice(D.price[i]);
  tipC.textContent = clusters[ci[i]].name;
  const b64 = thumbs.get(i);
  if (b64) { tipImg.src = "data:image/jpeg;base64," + b64; tipImg.style.display = "block"; }
  else { tipImg.removeAttribute("src"); tipImg.style.display = "none"; }
  tip.style.display = "block";
  const tw = tip.offsetWidth, th = tip.offsetHeight;
  tip.style.left = Math.max(0, mx + 14 + tw > W ? mx - 14 - tw : mx + 14) + "px";
  tip.style.top = Math.max(0, my + 14 + th > H ? my - 14 - th : my + 14) + "px";
}
function hideTip() { tip.style.display = "none"; }
function setHover(i, mx, my) {
  if (i >= 0) showTip(i, mx, my); else hideTip();
  if (i !== hovered) { hovered = i; schedule(); }
}

let drag = null;
function local(e) { const r = canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; }
canvas.addEventListener("pointerdown", (e) => {
  if (e.button !== 0) return;
  const [mx, my] = local(e);
  drag = { x: mx, y: my, tx: view.tx, ty: view.ty, id: e.pointerId };
  canvas.setPointerCapture(e.pointerId);
  canvas.classList.add("dragging");
  setHover(-1);
});
canvas.addEventListener("pointermove", (e) => {
  const [mx, my] = local(e);
  if (drag) { view.tx = drag.tx + mx - drag.x; view.ty = drag.ty + my - drag.y; schedule(); return; }
  setHover(nearest(mx, my, 8), mx, my);
});
function endDrag(e) {
  if (!drag) return;
  if (canvas.hasPointerCapture(drag.id)) canvas.releasePointerCapture(drag.id);
  drag = null;
  canvas.classList.remove("dragging");
}
canvas.addEventListener("pointerup", endDrag);
canvas.addEventListener("pointercancel", endDrag);
canvas.addEventListener("pointerleave", () => { if (!drag) setHover(-1); });
canvas.addEventListener("wheel", (e) => {
  e.preventDefault();
  const [mx, my] = local(e);
  const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? H : 1;
  const factor = Math.exp(Math.max(-1, Math.min(1, -e.deltaY * unit * 0.002)));
  const s = Math.min(fitScale * 5000, Math.max(fitScale / 4, view.scale * factor));
  // Keep the world point under the cursor where it is.
  view.tx = mx - (mx - view.tx) * (s / view.scale);
  view.ty = my - (my - view.ty) * (s / view.scale);
  view.scale = s;
  setHover(nearest(mx, my, 8), mx, my);
  schedule();
}, { passive: false });
canvas.addEventListener("dblclick", () => { fitView(); schedule(); });

const legend = document.getElementById("legend");
clusters.forEach((c, k) => {
  const li = document.createElement("li");
  li.dataset.label = String(c.label);
  li.title = "click to hide or show";
  const sw = document.createElement("span");
  sw.className = "sw"; sw.style.background = c.colour;
  const txt = document.createElement("span");
  txt.textContent = c.name + " (" + c.count.toLocaleString("en-US") + ")";
  li.append(sw, txt);
  li.addEventListener("click", () => {
    hidden[k] ^= 1; li.classList.toggle("off", !!hidden[k]);
    if (hovered >= 0 && hidden[ci[hovered]]) setHover(-1);
    schedule();
  });
  legend.append(li);
});

new ResizeObserver(resize).observe(main);
resize();
draw();
// A small read-only handle for tests and the console.
window.c2cMap = Object.freeze({
  n: n,
  view: () => ({ scale: view.scale, tx: view.tx, ty: view.ty }),
  screenOf: (i) => ({ x: X[i] * view.scale + view.tx, y: Y[i] * view.scale + view.ty }),
  hovered: () => hovered,
});
document.body.dataset.ready = "1";
})();
