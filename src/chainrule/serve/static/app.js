// The chainrule playground: the page talks only to the JSON API of `chainrule serve`.
// Everything computed (graphs, pictures, explanations, verdicts, predictions) comes
// from the server; this script only draws it and keeps the state in the URL.
"use strict";

const $ = (id) => document.getElementById(id);
const VIEWS = ["graph", "step", "check", "chain", "digit"];
const SHEET_A = "(a - b*c)*d";

const state = {
  view: "graph",
  expression: SHEET_A,
  syntax: "auto",
  at: { a: 2, b: -7, c: 4, d: 1 },
  graph: null,       // the last good /api/graph answer
  step: -1,          // index into graph.walkthrough, -1: nothing highlighted
  answers: "",
  chain: { weights: [1, 1, 1, 1, 1], x: 0.5, activation: "sigmoid" },
};

// ------------------------------------------------------------------ the API

class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : `HTTP ${status}`);
    this.status = status;
    this.column = body ? body.column : null;
  }
}

async function post(path, body, contentType = "application/json") {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": contentType },
    body: contentType === "application/json" ? JSON.stringify(body) : body,
  });
  let answer = null;
  try {
    answer = await response.json();
  } catch (_) {
    answer = { error: `HTTP ${response.status}`, column: null };
  }
  if (!response.ok) throw new ApiError(response.status, answer);
  return { status: response.status, body: answer };
}

// Only the answer to the latest request of each kind is drawn.
const latest = {};
async function latestOnly(kind, request) {
  const ticket = (latest[kind] = (latest[kind] || 0) + 1);
  try {
    const answer = await request();
    return ticket === latest[kind] ? answer : null;
  } catch (error) {
    if (ticket !== latest[kind]) return null; // a newer request is on its way
    throw error;
  }
}

// ------------------------------------------------------------------ the URL

function formatAt(at) {
  return Object.entries(at).map(([k, v]) => `${k}=${v}`).join(",");
}

function parseAt(text) {
  const at = {};
  for (const part of text.split(",")) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*$/.exec(part);
    if (match && Number.isFinite(Number(match[2]))) at[match[1]] = Number(match[2]);
  }
  return at;
}

function readUrl() {
  const params = new URLSearchParams(location.search);
  if (params.has("expr")) state.expression = params.get("expr");
  if (params.has("at")) state.at = parseAt(params.get("at"));
  if (["auto", "plain", "latex"].includes(params.get("syntax"))) state.syntax = params.get("syntax");
  if (VIEWS.includes(params.get("view"))) state.view = params.get("view");
  if (params.has("step")) state.step = Math.max(-1, parseInt(params.get("step"), 10) || 0);
  if (params.has("answers")) state.answers = params.get("answers");
  if (params.has("w")) {
    const weights = params.get("w").split(",").map(Number).filter(Number.isFinite);
    if (weights.length) state.chain.weights = weights.slice(0, 12);
  }
  if (params.has("x") && Number.isFinite(Number(params.get("x")))) state.chain.x = Number(params.get("x"));
  if (["sigmoid", "tanh", "relu"].includes(params.get("act"))) state.chain.activation = params.get("act");
}

function writeUrl() {
  const params = new URLSearchParams();
  if (state.view !== "graph") params.set("view", state.view);
  if (state.view === "chain") {
    params.set("w", state.chain.weights.join(","));
    params.set("x", String(state.chain.x));
    params.set("act", state.chain.activation);
  } else if (state.view !== "digit") {
    params.set("expr", state.expression);
    params.set("at", formatAt(state.at));
    if (state.syntax !== "auto") params.set("syntax", state.syntax);
    if (state.view === "step" && state.step >= 0) params.set("step", String(state.step));
    if (state.view === "check" && state.answers && state.answers.length < 2000) {
      params.set("answers", state.answers);
    }
  }
  history.replaceState(null, "", `${location.pathname}?${params.toString().replace(/%2C/g, ",").replace(/%3D/g, "=")}`);
}

// ------------------------------------------------------------------ views

function showView(view) {
  state.view = view;
  for (const button of document.querySelectorAll("nav button")) {
    button.classList.toggle("active", button.dataset.view === view);
    button.setAttribute("aria-pressed", String(button.dataset.view === view));
  }
  for (const section of document.querySelectorAll("[data-views]")) {
    section.hidden = !section.dataset.views.split(" ").includes(view);
  }
  if (view === "chain" && !chainLoaded) updateChain();
  if (view === "step") highlightStep();
  else clearHighlight();
  writeUrl();
}

// ------------------------------------------------------------------ graph

function showExpressionError(message, column) {
  const box = $("expression-error");
  if (!message) {
    box.hidden = true;
    box.textContent = "";
    $("graph").classList.remove("stale");
    return;
  }
  let text = `error: ${message}`;
  if (Number.isInteger(column) && column >= 1) {
    const line = state.expression.replace(/[\n\t]/g, " ");
    const start = Math.max(0, column - 60);
    const prefix = start ? "..." : "";
    text += `\n  ${prefix}${line.slice(start, start + 100)}\n  ${" ".repeat(prefix.length + column - 1 - start)}^`;
  }
  box.textContent = text;
  box.hidden = false;
  $("graph").classList.add("stale");
}

function inputField(name, value) {
  const label = document.createElement("label");
  label.className = "input";
  label.append(`${name} = `);
  const field = document.createElement("input");
  field.type = "number";
  field.step = "any";
  field.value = String(value);
  field.setAttribute("data-testid", `value-${name}`);
  field.name = name;
  field.addEventListener("input", () => {
    const number = Number(field.value);
    const valid = field.value.trim() !== "" && Number.isFinite(number);
    field.classList.toggle("invalid", !valid);
    if (!valid) return;
    performance.clearMarks("edit");
    performance.mark("edit");
    state.at[name] = number;
    updateGraph({ measure: true });
  });
  label.append(field);
  return label;
}

function drawInputs(inputs) {
  const box = $("inputs");
  const shown = [...box.querySelectorAll("input")].map((i) => i.name);
  if (shown.join() === Object.keys(inputs).join()) {
    for (const field of box.querySelectorAll("input")) {
      if (document.activeElement !== field && Number(field.value) !== inputs[field.name]) {
        field.value = String(inputs[field.name]);
      }
    }
    return;
  }
  box.replaceChildren(...Object.entries(inputs).map(([name, value]) => inputField(name, value)));
}

function parseSvg(text) {
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const svg = doc.documentElement;
  if (svg.nodeName !== "svg") return null;
  for (const bad of svg.querySelectorAll("script, foreignObject")) bad.remove();
  return document.importNode(svg, true);
}

// JSON numbers as JavaScript writes them (shortest round trip); "nan" and "inf" as sent.
const numberText = (value) => String(value);

function drawGraph(answer) {
  state.graph = answer;
  const svg = parseSvg(answer.svg);
  if (svg) {
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    $("graph").replaceChildren(svg);
  }
  $("output-name").textContent = answer.output.name;
  $("output-value").textContent = numberText(answer.output.value);
  const out = answer.output.name;
  $("gradients").replaceChildren(...Object.entries(answer.gradients).map(([name, grad]) => {
    const item = document.createElement("li");
    item.append(`∂${out}/∂${name} = `);
    const value = document.createElement("span");
    value.setAttribute("data-testid", `gradient-${name}`);
    value.textContent = numberText(grad);
    item.append(value);
    return item;
  }));
  $("warnings").replaceChildren(...answer.warnings.map((w) => {
    const item = document.createElement("li");
    item.textContent = `warning: ${w}`;
    return item;
  }));
  drawInputs(answer.inputs);
  for (const name of Object.keys(answer.inputs)) state.at[name] = answer.inputs[name];
  for (const name of Object.keys(state.at)) if (!(name in answer.inputs)) delete state.at[name];
  if (state.step >= answer.walkthrough.length) state.step = -1;
  if (state.view === "step") highlightStep();
  if ($("solution").open) loadSolution();
}

async function updateGraph({ measure = false } = {}) {
  writeUrl();
  try {
    const answer = await latestOnly("graph", () => post("/api/graph", {
      expression: state.expression, at: state.at, syntax: state.syntax,
    }));
    if (!answer) return;
    showExpressionError(null);
    drawGraph(answer.body);
    writeUrl();
    if (measure) {
      // the new numbers are in the DOM; the next frame shows them
      performance.mark("updated");
      performance.measure("edit-to-update", "edit", "updated");
    }
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showExpressionError(error.message, error.column);
  }
}

let typing = null;
function expressionEdited() {
  state.expression = $("expression").value;
  state.syntax = $("syntax").value;
  state.step = -1;
  clearTimeout(typing);
  typing = setTimeout(() => updateGraph(), 200);
}

// ------------------------------------------------------------------ step through

function clearHighlight() {
  for (const element of $("graph").querySelectorAll(".current, .visited")) {
    element.classList.remove("current", "visited");
  }
}

function highlightStep() {
  clearHighlight();
  const steps = state.graph ? state.graph.walkthrough : [];
  const step = steps[state.step];
  if (!step) {
    $("step-label").textContent = steps.length ? `${steps.length} steps` : "";
    $("step-text").textContent = "Press “Forward pass” to evaluate the graph node by node, " +
      "then “Backward pass” to backpropagate from the output.";
    return;
  }
  for (let i = 0; i < state.step; i++) {
    if (steps[i].pass === step.pass) {
      const node = $("graph").querySelector(`#node${steps[i].node}`);
      if (node) node.classList.add("visited");
    }
  }
  const node = $("graph").querySelector(`#node${step.node}`);
  if (node) node.classList.add("current");
  for (const edge of step.edges) {
    const element = $("graph").querySelector(`#edge${edge}`);
    if (element) element.classList.add("current");
  }
  const inPass = steps.filter((s) => s.pass === step.pass);
  const position = inPass.indexOf(step) + 1;
  $("step-label").textContent = `${step.pass} pass, step ${position} of ${inPass.length}`;
  $("step-text").textContent = step.text;
}

function stepTo(index) {
  const steps = state.graph ? state.graph.walkthrough : [];
  state.step = Math.max(-1, Math.min(index, steps.length - 1));
  highlightStep();
  writeUrl();
}

function stepForward() {
  const steps = state.graph ? state.graph.walkthrough : [];
  const next = state.step + 1;
  if (next < steps.length && steps[next].pass === "forward") stepTo(next);
}

function stepBackward() {
  const steps = state.graph ? state.graph.walkthrough : [];
  const first = steps.findIndex((s) => s.pass === "backward");
  if (first < 0) return;
  stepTo(state.step < first ? first : state.step + 1);
}

async function solution(format) {
  const answer = await post("/api/graph", {
    expression: state.expression, at: state.at, syntax: state.syntax,
    explain: format, symbolic: true,
  });
  return answer.body.explanation;
}

async function loadSolution() {
  $("solution-text").textContent = "…";
  try {
    $("solution-text").textContent = await solution("text");
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    $("solution-text").textContent = `error: ${error.message}`;
  }
}

async function download(format, extension, type) {
  try {
    const text = await solution(format);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type }));
    link.download = `worked-solution.${extension}`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    $("solution-text").textContent = `error: ${error.message}`;
  }
}

// ------------------------------------------------------------------ check my answer

const MARKS = { correct: "✓", carried: "↪", wrong: "✗", invalid: "!" };

// One row per line of the learner's answer, with the verdict of `chainrule check`.
function verdictRow(line) {
  const item = document.createElement("li");
  item.className = `verdict ${line.verdict}`;
  item.setAttribute("data-line", String(line.line));
  item.setAttribute("data-verdict", line.verdict);
  const mark = document.createElement("span");
  mark.className = "mark";
  mark.textContent = MARKS[line.verdict] || "?";
  const number = document.createElement("span");
  number.className = "line-number";
  number.textContent = String(line.line);
  const text = document.createElement("code");
  text.textContent = line.text;
  const verdict = document.createElement("strong");
  verdict.textContent = line.verdict;
  item.append(mark, number, text, verdict);
  if (line.verdict === "wrong" || line.verdict === "invalid") {
    const why = document.createElement("div");
    why.className = "why";
    why.textContent = (line.mistake ? `${line.mistake}: ` : "") + line.message;
    item.append(why);
  }
  return item;
}

function drawCheck(report) {
  const summary = document.createElement("p");
  summary.className = "check-summary";
  summary.textContent = `score ${report.score}/${report.max_score} (output ${report.output})`;
  const list = document.createElement("ul");
  list.append(...report.lines.map(verdictRow));
  const parts = [summary, list];
  if (report.missing.length) {
    const missing = document.createElement("p");
    missing.className = "missing";
    missing.textContent = `missing: ${report.missing.join(", ")}`;
    parts.push(missing);
  }
  $("check-result").replaceChildren(...parts);
}

async function check() {
  state.answers = $("answers").value;
  writeUrl();
  const box = $("check-result");
  try {
    const answer = await post("/api/check", {
      expression: state.expression, at: state.at, answers: state.answers,
    });
    drawCheck(answer.body);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    box.replaceChildren();
    const problem = document.createElement("p");
    problem.className = "error";
    problem.textContent = `error: ${error.message}`;
    box.append(problem);
  }
}

// ------------------------------------------------------------------ sigmoid chain

let chainLoaded = false;

function weightSlider(index, value) {
  const label = document.createElement("label");
  label.className = "weight";
  const shown = document.createElement("output");
  shown.textContent = String(value);
  const head = document.createElement("span");
  head.append(`w${index + 1} = `, shown);
  label.append(head);
  const slider = document.createElement("input");
  slider.type = "range";
  slider.min = "-8";
  slider.max = "8";
  slider.step = "0.1";
  slider.value = String(value);
  slider.setAttribute("data-testid", `chain-weight-${index + 1}`);
  slider.addEventListener("input", () => {
    state.chain.weights[index] = Number(slider.value);
    shown.textContent = slider.value;
    updateChain();
  });
  label.append(slider);
  return label;
}

function drawWeights() {
  $("chain-weights").replaceChildren(...state.chain.weights.map((w, i) => weightSlider(i, w)));
  $("chain-x").value = String(state.chain.x);
  $("chain-x-shown").textContent = String(state.chain.x);
  $("chain-activation").value = state.chain.activation;
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function short(value) {
  if (typeof value !== "number") return String(value);
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  return magnitude >= 1e-3 && magnitude < 1e5 ? String(Number(value.toPrecision(6))) : value.toExponential(3);
}

const SVG_NS = "http://www.w3.org/2000/svg";
function svgElement(name, attributes, text) {
  const element = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

// |dy/da_i| per layer on a log scale: bars shrinking to the left vanish, growing ones explode.
function drawChainPicture(report) {
  const width = 640, height = 240, left = 56, bottom = 200, top = 20;
  const layers = [{ layer: 0, dy_da: report.dy_dx.backprop }, ...report.layers];
  const logs = layers.map((l) => Math.log10(Math.max(Math.abs(Number(l.dy_da)) || 0, 1e-300)));
  const high = Math.max(1, Math.ceil(Math.max(...logs)));
  const low = Math.min(-1, Math.floor(Math.min(...logs)));
  const y = (v) => top + ((high - v) / (high - low)) * (bottom - top);
  const slot = (width - left - 10) / layers.length;
  const svg = svgElement("svg", { viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": "magnitude of dy/da_i per layer, log scale" });
  svg.append(svgElement("text", { x: 4, y: 14, "font-size": 11 }, "log10 |dy/da_i|"));
  for (let tick = low; tick <= high; tick += Math.max(1, Math.ceil((high - low) / 6))) {
    svg.append(svgElement("line", { x1: left, x2: width - 10, y1: y(tick), y2: y(tick), class: "grid" }));
    svg.append(svgElement("text", { x: left - 6, y: y(tick) + 4, "text-anchor": "end", "font-size": 10 }, String(tick)));
  }
  svg.append(svgElement("line", { x1: left, x2: width - 10, y1: y(0), y2: y(0), class: "unit" }));
  layers.forEach((layer, i) => {
    const value = logs[i];
    const x = left + i * slot + slot * 0.15;
    const kind = value > 0 ? "exploding" : value < -1 ? "vanishing" : "steady";
    svg.append(svgElement("rect", { x, width: slot * 0.7, y: Math.min(y(value), y(0)),
      height: Math.max(1, Math.abs(y(value) - y(0))), class: `bar ${kind}` }));
    svg.append(svgElement("text", { x: x + slot * 0.35, y: bottom + 16, "text-anchor": "middle",
      "font-size": 10 }, i === 0 ? "x" : `a${layer.layer}`));
  });
  const bound = Number(report.bound.value);
  if (bound > 0) {
    const level = y(Math.log10(bound));
    svg.append(svgElement("line", { x1: left, x2: left + slot, y1: level, y2: level, class: "bound" }));
    svg.append(svgElement("text", { x: left + slot + 4, y: level + 4, "font-size": 10 }, "bound"));
  }
  $("chain-picture").replaceChildren(svg);
}

function drawChain(report) {
  $("chain-dydx").textContent = short(report.dy_dx.backprop);
  $("chain-dydx").dataset.value = String(report.dy_dx.backprop); // full precision, for scripts
  $("chain-closed").textContent = `(closed form ${short(report.dy_dx.closed_form)}, ` +
    `${report.dy_dx.agree ? "agrees" : "DISAGREES"})`;
  $("chain-bound").textContent = `bound: |dy/dx| ≤ ${report.bound.formula} = ${short(report.bound.value)}` +
    (report.bound.holds ? " ✓" : " (violated)");
  $("chain-table").querySelector("tbody").replaceChildren(...report.layers.map((l) => {
    const row = document.createElement("tr");
    row.append(cell(String(l.layer)), cell(short(l.weight)), cell(short(l.pre_activation)),
      cell(short(l.activation)), cell(short(l.derivative)), cell(short(l.factor)), cell(short(l.dy_da)));
    return row;
  }));
  drawChainPicture(report);
}

async function updateChain() {
  chainLoaded = true;
  writeUrl();
  try {
    const answer = await latestOnly("chain", () => post("/api/chain", state.chain));
    if (!answer) return;
    $("chain-error").hidden = true;
    drawChain(answer.body);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    $("chain-error").textContent = `error: ${error.message}`;
    $("chain-error").hidden = false;
  }
}

// ------------------------------------------------------------------ digit

const pad = { drawing: false, last: null, inked: false };

function clearPad() {
  const canvas = $("digit-canvas");
  const context = canvas.getContext("2d");
  context.fillStyle = "#000";
  context.fillRect(0, 0, canvas.width, canvas.height);
  pad.inked = false;
  $("prediction").textContent = "–";
  drawProbabilities(null);
  const small = $("digit-image28").getContext("2d");
  small.fillStyle = "#000";
  small.fillRect(0, 0, 28, 28);
}

function padPoint(event) {
  const canvas = $("digit-canvas");
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * (canvas.width / box.width),
          (event.clientY - box.top) * (canvas.height / box.height)];
}

function stroke(from, to) {
  const context = $("digit-canvas").getContext("2d");
  context.strokeStyle = "#fff";
  context.lineWidth = 18;
  context.lineCap = "round";
  context.lineJoin = "round";
  context.beginPath();
  context.moveTo(...from);
  context.lineTo(...to);
  context.stroke();
  pad.inked = true;
}

function drawProbabilities(probabilities) {
  const box = $("probabilities");
  box.replaceChildren(...Array.from({ length: 10 }, (_, digit) => {
    const p = probabilities ? probabilities[digit] : 0;
    const row = document.createElement("div");
    row.className = "probability";
    const name = document.createElement("span");
    name.textContent = String(digit);
    const bar = document.createElement("div");
    bar.className = "bar";
    const fill = document.createElement("div");
    fill.className = "fill";
    fill.style.width = `${(100 * p).toFixed(1)}%`;
    bar.append(fill);
    const value = document.createElement("span");
    value.setAttribute("data-testid", `probability-${digit}`);
    value.textContent = probabilities ? p.toFixed(4) : "";
    row.append(name, bar, value);
    return row;
  }));
}

function drawImage28(image) {
  const context = $("digit-image28").getContext("2d");
  const pixels = context.createImageData(28, 28);
  image.forEach((row, y) => row.forEach((v, x) => {
    const i = 4 * (28 * y + x);
    pixels.data[i] = pixels.data[i + 1] = pixels.data[i + 2] = v;
    pixels.data[i + 3] = 255;
  }));
  context.putImageData(pixels, 0, 0);
}

function showDigitStatus(status) {
  const box = $("digit-status");
  if (!status) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  $("digit-message").textContent = `${status.message} (${Math.round(100 * status.progress)}%)`;
  $("digit-progress").value = status.progress;
}

let lastImage = null;
let retry = null;
async function predict(image, type) {
  lastImage = { image, type };
  clearTimeout(retry);
  $("digit-error").hidden = true;
  try {
    const answer = await latestOnly("digit", () => post("/api/predict", image, type));
    if (!answer) return;
    if (answer.status === 202) {
      showDigitStatus(answer.body);
      retry = setTimeout(() => predict(lastImage.image, lastImage.type), 1000);
      return;
    }
    showDigitStatus(null);
    $("prediction").textContent = String(answer.body.digit);
    drawProbabilities(answer.body.probabilities);
    drawImage28(answer.body.image28);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showDigitStatus(null);
    $("digit-error").textContent = `error: ${error.message}`;
    $("digit-error").hidden = false;
  }
}

function predictDrawing() {
  if (!pad.inked) return;
  $("digit-canvas").toBlob((blob) => { if (blob) predict(blob, "image/png"); }, "image/png");
}

async function predictUpload(file) {
  if (["image/png", "image/jpeg"].includes(file.type) && file.size <= 4 * 1024 * 1024) {
    predict(file, file.type);
    return;
  }
  // another format or a huge photo: the browser decodes it, a smaller JPEG goes up
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, 1024 / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  canvas.toBlob((blob) => { if (blob) predict(blob, "image/jpeg"); }, "image/jpeg", 0.92);
}

function setUpPad() {
  const canvas = $("digit-canvas");
  canvas.addEventListener("pointerdown", (event) => {
    canvas.setPointerCapture(event.pointerId);
    pad.drawing = true;
    pad.last = padPoint(event);
    stroke(pad.last, pad.last);
    event.preventDefault();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!pad.drawing) return;
    const point = padPoint(event);
    stroke(pad.last, point);
    pad.last = point;
  });
  const finish = () => {
    if (!pad.drawing) return;
    pad.drawing = false;
    predictDrawing();
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  $("digit-clear").addEventListener("click", clearPad);
  $("digit-upload").addEventListener("change", () => {
    const file = $("digit-upload").files[0];
    if (file) predictUpload(file).catch((error) => {
      $("digit-error").textContent = `error: cannot read that picture (${error.message})`;
      $("digit-error").hidden = false;
    });
  });
  clearPad();
}

// ------------------------------------------------------------------ start

function start() {
  readUrl();
  $("expression").value = state.expression;
  $("syntax").value = state.syntax;
  $("answers").value = state.answers;
  $("expression").addEventListener("input", expressionEdited);
  $("syntax").addEventListener("change", expressionEdited);
  for (const button of document.querySelectorAll(".example")) {
    button.addEventListener("click", () => {
      $("expression").value = button.dataset.expr;
      state.at = { a: 2, b: -7, c: 4, d: 1 };
      $("inputs").replaceChildren();
      expressionEdited();
    });
  }
  for (const button of document.querySelectorAll("nav button")) {
    button.addEventListener("click", () => showView(button.dataset.view));
  }
  $("step-forward").addEventListener("click", stepForward);
  $("step-backward").addEventListener("click", stepBackward);
  $("step-back").addEventListener("click", () => stepTo(state.step - 1));
  $("step-reset").addEventListener("click", () => stepTo(-1));
  $("solution").addEventListener("toggle", () => { if ($("solution").open) loadSolution(); });
  $("download-markdown").addEventListener("click", () => download("markdown", "md", "text/markdown"));
  $("download-latex").addEventListener("click", () => download("latex", "tex", "application/x-tex"));
  $("check").addEventListener("click", check);
  $("answers").addEventListener("input", () => { state.answers = $("answers").value; });
  $("chain-x").addEventListener("input", () => {
    state.chain.x = Number($("chain-x").value);
    $("chain-x-shown").textContent = $("chain-x").value;
    updateChain();
  });
  $("chain-activation").addEventListener("change", () => {
    state.chain.activation = $("chain-activation").value;
    updateChain();
  });
  $("chain-add").addEventListener("click", () => {
    if (state.chain.weights.length >= 12) return;
    state.chain.weights.push(1);
    drawWeights();
    updateChain();
  });
  $("chain-remove").addEventListener("click", () => {
    if (state.chain.weights.length <= 1) return;
    state.chain.weights.pop();
    drawWeights();
    updateChain();
  });
  drawWeights();
  setUpPad();
  showView(state.view);
  updateGraph().then(() => {
    if (state.view === "check" && state.answers) check();
  });
}

document.addEventListener("DOMContentLoaded", start);
