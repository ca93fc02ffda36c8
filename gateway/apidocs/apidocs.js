// The API reference: /api/openapi.json read once and shown by tag. Text goes in through
// textContent only; nothing is fetched but the document.

const $ = (selector) => document.querySelector(selector);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function refName(schema) {
  return schema && schema.$ref ? schema.$ref.split("/").pop() : null;
}

// A schema as short text: `SessionView`, `array of MessageView`, `string | null`...
function describe(schema) {
  if (!schema || Object.keys(schema).length === 0) return "any";
  const name = refName(schema);
  if (name) return name;
  if (schema.anyOf) return schema.anyOf.map(describe).join(" | ");
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (schema.type === "array") return `array of ${describe(schema.items)}`;
  if (schema.type === "integer" || schema.type === "number") {
    const bounds = [schema.minimum, schema.maximum].map((v) => (v === undefined ? "" : v));
    return bounds.join("") ? `${schema.type} ${bounds.join("..")}` : schema.type;
  }
  return schema.format ? `${schema.type} (${schema.format})` : schema.type || "object";
}

// The fields of a schema, one row each, with the component's own fields one level down.
function fields(schema, components) {
  const name = refName(schema);
  const resolved = name ? components[name] : schema;
  if (!resolved || !resolved.properties) return el("p", { text: describe(schema) });
  const required = new Set(resolved.required || []);
  const table = el("table", { className: "fields" },
    el("thead", {}, el("tr", {}, el("th", { text: "field" }), el("th", { text: "type" }),
      el("th", { text: "" }))));
  const rows = el("tbody");
  for (const [field, sub] of Object.entries(resolved.properties)) {
    rows.append(el("tr", {}, el("td", {}, el("code", { text: field })),
      el("td", { text: describe(sub) }),
      el("td", { text: required.has(field) ? "required" : "" })));
  }
  table.append(rows);
  return el("div", {}, name ? el("p", {}, el("code", { text: name })) : null, table);
}

function parameters(op) {
  const params = op.parameters || [];
  if (!params.length) return null;
  const rows = params.map((p) => el("tr", {}, el("td", {}, el("code", { text: p.name })),
    el("td", { text: p.in }), el("td", { text: describe(p.schema) }),
    el("td", { text: `${p.required ? "required. " : ""}${p.description || ""}` })));
  return el("div", {}, el("h4", { text: "Parameters" }),
    el("table", {}, el("tbody", {}, ...rows)));
}

function responses(op, components) {
  const rows = Object.entries(op.responses || {}).map(([status, answer]) => {
    const content = Object.entries(answer.content || {})[0];
    const shape = content ? `${content[0]}: ${describe(content[1].schema)}` : "no body";
    return el("tr", { "data-status": status }, el("td", {}, el("code", { text: status })),
      el("td", { text: answer.description }), el("td", { text: shape }));
  });
  const ok = Object.entries(op.responses || {}).find(([s]) => s.startsWith("2"));
  const okSchema = ok && ok[1].content && Object.values(ok[1].content)[0].schema;
  return el("div", {}, el("h4", { text: "Answers" }), el("table", {}, el("tbody", {}, ...rows)),
    okSchema && refName(okSchema) ? fields(okSchema, components) : null);
}

function operation(path, method, op, components) {
  const role = op["x-role"] || "public";
  const summary = el("summary", {},
    el("span", { className: "method", "data-method": method, text: method.toUpperCase() }),
    el("span", { className: "path", text: path }),
    el("span", { className: "role", "data-role": role, text: role }),
    el("span", { className: "summary", text: op.summary || "" }));
  const body = el("div", { className: "body" });
  if (op.description) body.append(el("p", { text: op.description }));
  body.append(parameters(op) || "");
  const request = op.requestBody && op.requestBody.content["application/json"];
  if (request) {
    body.append(el("h4", { text: `Body${op.requestBody.required ? "" : " (optional)"}` }),
      fields(request.schema, components));
  }
  body.append(responses(op, components));
  const node = el("details", { className: "op" }, summary, body);
  node.dataset.search = `${method} ${path} ${op.summary || ""} ${role}`.toLowerCase();
  node.dataset.operation = `${method.toUpperCase()} ${path}`;
  return node;
}

function render(doc) {
  $("#title").textContent = doc.info.title;
  $("#version").textContent = `version ${doc.info.version} · OpenAPI ${doc.openapi}`;
  const components = (doc.components && doc.components.schemas) || {};
  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || "other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operation(path, method, op, components));
    }
  }
  const main = $("#operations");
  for (const [tag, ops] of [...byTag.entries()].sort()) {
    main.append(el("section", { "data-tag": tag }, el("h2", { text: tag }), ...ops));
  }
  const count = main.querySelectorAll("details.op").length;
  $("#status").textContent = `${count} operations`;
  document.body.dataset.ready = "true";
}

function filter() {
  const words = $("#filter").value.toLowerCase().split(/\s+/).filter(Boolean);
  for (const op of document.querySelectorAll("details.op")) {
    op.hidden = !words.every((w) => op.dataset.search.includes(w));
  }
  for (const section of document.querySelectorAll("section[data-tag]")) {
    section.hidden = !section.querySelector("details.op:not([hidden])");
  }
}

async function main() {
  $("#filter").addEventListener("input", filter);
  try {
    const answer = await fetch("openapi.json", { headers: { Accept: "application/json" } });
    if (!answer.ok) throw new Error(`${answer.status} ${answer.statusText}`);
    render(await answer.json());
  } catch (error) {
    $("#status").textContent = `The document could not be loaded: ${error.message}`;
    $("#status").className = "error";
  }
}

main();
