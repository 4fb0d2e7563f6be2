// The MLOps page: reads /mlops/api and builds DOM nodes; user strings go through textContent only.
"use strict";

const ROOT = document.querySelector('meta[name="mlops-root"]').content;
const SVG = "http://www.w3.org/2000/svg";
let current = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function safeHref(url) {
  return typeof url === "string" && (/^https?:\/\//i.test(url) || /^\/(?!\/)/.test(url)) ? url : null;
}

function link(label, url, testId) {
  const href = safeHref(url);
  if (!href) return null;
  return el("a", { href, rel: "noopener noreferrer", "data-testid": testId }, label);
}

function setStatus(text, isError = false) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}

async function getJson(path) {
  const response = await fetch(ROOT + path, { credentials: "same-origin" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || `${response.status} ${response.statusText}`);
  return body;
}

function fmt(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function short(value, n = 12) {
  const text = fmt(value);
  return text.length > n + 8 ? text.replace(/^(sha256:)?(.{0,12}).*$/, "$1$2…") : text;
}

function versionLinks(v) {
  return el("span", { class: "links" },
    link("MLflow run", v.links.run, "run-link"),
    link("model version", v.links.version, "version-link"),
    link("DAG run", v.links.dag_run, "dag-run-link"),
    link("data docs", v.links.data_docs, "data-docs-link"),
    link("evaluation report", v.links.report, "report-link"));
}

function definitionList(rows) {
  const list = el("dl");
  for (const [label, value, title] of rows) {
    list.append(el("dt", {}, label), el("dd", title ? { title } : {}, value));
  }
  return list;
}

// A version's data revision is the commit it resolved to; a branch or tag name moves.
function dataCommit(v) {
  const l = v.lineage;
  return el("span", { class: "commit", title: `${fmt(v.data_commit)} (asked for ${fmt(l.data_rev)})` },
    short(v.data_commit, 8));
}

function interval(values) {
  if (!values) return "—";
  return `${fmt(values.value)} [${fmt(values.low)}, ${fmt(values.high)}]`;
}

function decisionClass(accepted) {
  return accepted === true ? "decision-accepted" : accepted === false ? "decision-rejected" : "";
}

function renderHoldout(node, h) {
  node.replaceChildren(el("h2", {}, "Champion against challenger on the gate's holdout"));
  if (!h) {
    node.append(el("p", { class: "empty" }, "No gate comparison yet: the gate compares a challenger with the champion."));
    return;
  }
  const share = typeof h.confidence === "number" ? `${Math.round(h.confidence * 100)}%` : "";
  node.append(
    el("p", {},
      `${fmt(h.metric)} on the same ${fmt(h.rows)} holdout rows, ${share} paired bootstrap intervals; gate: `,
      el("span", { class: decisionClass(h.accepted), "data-testid": "holdout-decision" },
        h.accepted === true ? "accepted" : h.accepted === false ? "rejected" : "—")),
    el("table", { "data-testid": "holdout" },
      el("thead", {}, el("tr", {}, el("th", {}, "model"), el("th", {}, `${fmt(h.metric)} [interval]`))),
      el("tbody", {},
        el("tr", {}, el("td", {}, `champion v${fmt(h.champion_version)}`), el("td", {}, interval(h.champion))),
        el("tr", {}, el("td", {}, `challenger v${fmt(h.challenger_version)}`), el("td", {}, interval(h.challenger))),
        el("tr", {}, el("td", {}, "difference (challenger − champion)"), el("td", {}, interval(h.difference))))));
  if (h.slices.length) {
    node.append(el("h3", {}, "Per slice"),
      el("table", { "data-testid": "holdout-slices" },
        el("thead", {}, el("tr", {}, ...["slice", "rows", "champion", "challenger", "difference"].map((t) => el("th", {}, t)))),
        el("tbody", {}, ...h.slices.map((s) => el("tr", {},
          el("td", {}, s.slice), el("td", {}, fmt(s.rows)), el("td", {}, interval(s.champion)),
          el("td", {}, interval(s.challenger)), el("td", {}, interval(s.difference)))))));
  }
}

function internals(v) {
  const rows = Object.entries(v.internals || {}).sort().map(([k, m]) => [k, fmt(m)]);
  rows.push(["params", fmt(v.lineage.params)]);
  return el("details", {}, el("summary", {}, "Training internals"), definitionList(rows));
}

function renderSide(node, role, v) {
  node.replaceChildren(el("h2", {}, role === "champion" ? "Champion" : "Challenger"));
  if (!v) {
    node.append(el("p", { class: "empty" }, `No ${role} alias on this model.`));
    return;
  }
  const l = v.lineage;
  node.append(
    el("p", {}, el("span", { class: "version", "data-testid": `${role}-version` }, `version ${v.version}`),
      " ", ...v.aliases.map((a) => el("span", { class: `badge ${a}` }, a))),
    el("h3", {}, "Metrics"),
    definitionList(Object.entries(v.metrics).sort().map(([k, m]) => [k, fmt(m)])),
    el("h3", {}, "Lineage"),
    definitionList([
      ["dataset", fmt(l.dataset)],
      ["data commit", dataCommit(v)],
      ["data md5", short(l.data_md5), fmt(l.data_md5)],
      ["git sha", short(l.git_sha), fmt(l.git_sha)],
      ["image", short(l.image_digest), fmt(l.image_digest)],
      ["trigger", fmt(l.trigger)],
      ["DAG run", `${fmt(l.dag_id)} / ${fmt(l.run_id)}`],
      ["validation", el("span", { class: `outcome-${v.validation_outcome}` }, fmt(v.validation_outcome))],
      ["gate", el("span", { class: `decision-${v.gate.decision}` }, fmt(v.gate.decision))],
      ["reasons", v.gate.reasons.length ? v.gate.reasons.map(fmt).join("; ") : "—"],
      ["holdout", `${fmt(v.gate.holdout.rows)} rows, md5 ${short(v.gate.holdout.md5, 8)}`],
      ["ONNX parity", fmt(v.parity_max_abs)],
      ["p50 latency (ms)", fmt(v.latency_p50_ms_b1)],
    ]),
    internals(v),
    versionLinks(v));
}

function lineChart(container, points, { label, highlight, threshold, cls }) {
  container.replaceChildren();
  if (!points.length) {
    container.append(el("p", { class: "empty" }, `No ${label} recorded yet.`));
    return;
  }
  const W = 800, H = 220, P = { l: 56, r: 16, t: 12, b: 32 };
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
  if (threshold !== undefined) ys.push(threshold);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  if (y0 === y1) { y0 -= 0.5; y1 += 0.5; }
  const pad = (y1 - y0) * 0.1;
  y0 = Math.min(...ys) >= 0 ? Math.max(0, y0 - pad) : y0 - pad;
  y1 += pad;
  const sx = (x) => P.l + ((x - x0) / (x1 - x0)) * (W - P.l - P.r);
  const sy = (y) => H - P.b - ((y - y0) / (y1 - y0)) * (H - P.t - P.b);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: cls, "aria-label": label });
  for (let i = 0; i <= 4; i++) {
    const y = y0 + ((y1 - y0) * i) / 4;
    chart.append(svg("line", { class: "grid", x1: P.l, x2: W - P.r, y1: sy(y), y2: sy(y) }),
      svg("text", { x: 4, y: sy(y) + 4 }, y.toPrecision(3)));
  }
  chart.append(svg("line", { class: "axis", x1: P.l, x2: W - P.r, y1: H - P.b, y2: H - P.b }));
  if (threshold !== undefined) {
    chart.append(svg("line", { class: "threshold", x1: P.l, x2: W - P.r, y1: sy(threshold), y2: sy(threshold) }));
  }
  const first = new Date(x0), last = new Date(x1);
  chart.append(svg("text", { x: P.l, y: H - 8 }, first.toISOString().slice(0, 16).replace("T", " ")),
    svg("text", { x: W - P.r, y: H - 8, "text-anchor": "end" }, last.toISOString().slice(0, 16).replace("T", " ")));
  chart.append(svg("polyline", { class: "line", points: points.map((p) => `${sx(p.x)},${sy(p.y)}`).join(" ") }));
  for (const p of points) {
    const dot = svg("circle", { cx: sx(p.x), cy: sy(p.y), r: 4, class: p.id === highlight ? "champion" : "",
      "data-point": p.id });
    dot.append(svg("title", {}, `${p.title}: ${fmt(p.y)}`));
    chart.append(dot);
  }
  container.append(chart);
}

function drawMetric(model, metric) {
  const points = model.versions
    .filter((v) => typeof v.metrics[metric] === "number")
    .map((v) => ({ x: v.created_ms, y: v.metrics[metric], id: v.version, title: `v${v.version}` }))
    .reverse();
  const champion = model.champion ? model.champion.version : null;
  lineChart(document.getElementById("metric-chart"), points,
    { label: `${metric} by version`, highlight: champion, cls: "metric" });
  document.getElementById("metric-head").textContent = metric || "metric";
  const body = document.querySelector("#versions tbody");
  body.replaceChildren(...model.versions.map((v) => el("tr", { "data-version": v.version },
    el("td", {}, v.version),
    el("td", {}, fmt(v.created_at)),
    el("td", {}, ...v.aliases.map((a) => el("span", { class: `badge ${a}` }, a))),
    el("td", {}, fmt(v.metrics[metric])),
    el("td", { class: `decision-${v.gate.decision}`, title: v.gate.reasons.map(fmt).join("; ") },
      fmt(v.gate.decision)),
    el("td", { class: `outcome-${v.validation_outcome}` }, fmt(v.validation_outcome)),
    el("td", {}, fmt(v.lineage.trigger)),
    el("td", {}, dataCommit(v)),
    el("td", {}, versionLinks(v)))));
}

function drawVersions(model, wanted) {
  const metrics = [...new Set(model.versions.flatMap((v) => Object.keys(v.metrics)))].sort();
  const select = document.getElementById("metric-select");
  select.replaceChildren(...metrics.map((m) => el("option", { value: m }, m)));
  if (wanted && metrics.includes(wanted)) select.value = wanted;
  drawMetric(model, select.value);
}

// The CT runs of the model's DAGs, newest first: trigger, outcome and why, skipped and failed too.
function renderRuns(container, timeline) {
  if (!timeline.runs.length) {
    const none = timeline.dag_ids.length ? "No CT runs yet." : "No CT DAG is tagged for this model.";
    container.replaceChildren(el("p", { class: "empty" }, none));
    return;
  }
  const head = el("tr", {}, ...["started", "DAG", "trigger", "outcome", "reason", "version", "links"]
    .map((t) => el("th", {}, t)));
  const rows = timeline.runs.map((r) => el("tr", { "data-run": r.run_id, "data-outcome": r.outcome },
    el("td", {}, fmt(r.started).slice(0, 19).replace("T", " ")),
    el("td", {}, r.dag_id),
    el("td", {}, fmt(r.trigger)),
    el("td", { class: `run-${r.outcome}` }, r.outcome),
    el("td", {}, fmt(r.reason)),
    el("td", {}, fmt(r.version)),
    el("td", { class: "links" }, link("DAG run", r.links.run, "ct-run-link"),
      link("task", r.links.task, "ct-task-link"))));
  container.replaceChildren(el("table", { class: "ct-runs" }, el("thead", {}, head), el("tbody", {}, ...rows)));
}

async function loadRuns(name) {
  const container = document.getElementById("ct-runs");
  try {
    const timeline = await getJson(`/api/runs/${encodeURIComponent(name)}`);
    if (current && current.name === name) renderRuns(container, timeline);
  } catch (error) {
    container.replaceChildren(el("p", { class: "error" }, `Could not load the CT runs: ${error.message}`));
  }
}

// Which columns drifted when: one row per column (those that drifted most first), one cell per
// monitoring run (newest last), coloured by the run's decision for that column.
const DRIFT_RUNS = 20, DRIFT_ROWS = 30;

function driftColumns(container, points) {
  const runs = points.slice(-DRIFT_RUNS);
  const names = [...new Set(runs.flatMap((p) => Object.keys(p.columns || {})))];
  if (!names.length) {
    container.replaceChildren(el("p", { class: "empty" }, "No per-column drift recorded yet."));
    return;
  }
  const drifted = (name) => runs.filter((p) => (p.columns || {})[name]?.drifted === true).length;
  names.sort((a, b) => drifted(b) - drifted(a) || a.localeCompare(b));
  const shown = names.slice(0, DRIFT_ROWS);
  const head = el("tr", {}, el("th", {}, "column"),
    ...runs.map((p) => el("th", { title: fmt(p.time) }, fmt(p.time).slice(5, 16).replace("T", " "))));
  const rows = shown.map((name) => el("tr", { "data-column": name }, el("th", {}, name),
    ...runs.map((p) => {
      const c = (p.columns || {})[name];
      const state = !c ? "absent" : c.drifted === null ? "unknown" : c.drifted ? "drifted" : "stable";
      return el("td", { class: `cell-${state}`, "data-state": state,
        title: `${name} at ${fmt(p.time)}: ${state}, score ${fmt(c && c.score)}` }, c ? fmt(c.score) : "");
    })));
  const table = el("table", { class: "drift-grid" }, el("thead", {}, head), el("tbody", {}, ...rows));
  const rest = names.length - shown.length;
  container.replaceChildren(table,
    rest > 0 ? el("p", { class: "empty" }, `${rest} more column${rest === 1 ? "" : "s"} drifted less often.`) : null);
}

function render(model) {
  current = model;
  renderSide(document.getElementById("champion"), "champion", model.champion);
  renderSide(document.getElementById("challenger"), "challenger", model.challenger);
  renderHoldout(document.getElementById("holdout"), model.holdout);
  drawVersions(model, model.chart_metric);
  const drift = model.drift.map((d) => ({ x: d.time_ms, y: d.drift_share, id: d.run_id, title: fmt(d.time) }));
  lineChart(document.getElementById("drift-chart"), drift, { label: "drift share", cls: "drift" });
  driftColumns(document.getElementById("drift-columns"), model.drift);
  document.getElementById("content").hidden = false;
}

// The model view holds the newest versions; older ones come in pages, cut by version number.
async function loadOlder(model) {
  while (model.older && current === model) {
    setStatus(`${model.versions.length} versions shown, loading older ones…`);
    const page = await getJson(`/api/versions/${encodeURIComponent(model.name)}?before=${model.older}`);
    if (current !== model) return;
    model.versions.push(...page.versions);
    model.older = page.older;
    drawVersions(model, document.getElementById("metric-select").value);
  }
}

async function loadModel(name) {
  setStatus(`Loading ${name}…`);
  try {
    const model = await getJson(`/api/models/${encodeURIComponent(name)}`);
    render(model);
    await Promise.all([loadRuns(name), loadOlder(model)]);
    if (current === model) setStatus("");
  } catch (error) {
    setStatus(`Could not load ${name}: ${error.message}`, true);
  }
}

async function start() {
  document.getElementById("airflow-link").href = ROOT.replace(/\/mlops$/, "") + "/";
  const select = document.getElementById("model-select");
  select.addEventListener("change", () => loadModel(select.value));
  document.getElementById("metric-select").addEventListener("change", (event) => {
    if (current) drawMetric(current, event.target.value);
  });
  try {
    const { models } = await getJson("/api/models");
    if (!models.length) {
      setStatus("No registered models yet: run a CT pipeline to register one.");
      return;
    }
    select.replaceChildren(...models.map((m) => el("option", { value: m.name }, m.name)));
    const wanted = new URLSearchParams(window.location.search).get("model");
    if (wanted && models.some((m) => m.name === wanted)) select.value = wanted;
    await loadModel(select.value);
  } catch (error) {
    setStatus(`Could not load models: ${error.message}`, true);
  }
}

start();
