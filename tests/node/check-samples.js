#!/usr/bin/env node
"use strict";
// check-samples.js: holds the shipped schemas and samples to what they
// promise, with ajv as the judge. Prints "ok - ..." / "not ok - ..." lines
// and exits 1 on any failure. Checked:
//  - every schemas/*.json compiles under ajv's strict mode (which catches
//    misspelt keywords) with formats known, has $id, title, and a
//    description on every property;
//  - every built-in stage has a schema and an example, and each example
//    validates with formats asserted too (ajv-formats);
//  - the $defs shared by the stage schemas are identical in every file;
//  - every hooks/*.yaml validates against hook.schema.json, every target URL
//    is loopback, and every hook name is unique across the files;
//  - the hand-written cases of lib/hook-cases.js get their verdicts.
const fs = require("fs");
const path = require("path");
const P = require("./lib/payloads");
const HOOK_CASES = require("./lib/hook-cases");
const addFormats = require("ajv-formats");

const STAGES = [
  "applications_created", "application_deleted", "application_transferred",
  "cluster_created", "cluster_deleted", "clusters_builddeployed",
  "clusters_deployed", "clusters_rollbacked", "clusters_freed",
];

let passed = 0;
let failed = 0;
function check(what, ok, detail) {
  if (ok) {
    passed++;
    console.log("ok - " + what);
  } else {
    failed++;
    console.log("not ok - " + what + (detail ? "\n  " + detail : ""));
  }
}

function strictAjv() {
  const Ajv2020 = require("ajv/dist/2020");
  const ajv = new Ajv2020({ strict: true, strictRequired: false, strictTypes: false, allErrors: true });
  addFormats(ajv);
  return ajv;
}

// Property schemas without a description (outside if/then/else/not, which
// only restate properties described where they are defined).
function undocumented(schema) {
  const out = [];
  const walk = (node, where) => {
    if (Array.isArray(node)) return node.forEach((x, i) => walk(x, where + "/" + i));
    if (!node || typeof node !== "object") return;
    if (node.properties) {
      for (const [k, sub] of Object.entries(node.properties)) {
        if (typeof sub !== "object" || typeof sub.description !== "string" || !sub.description) out.push(where + "/properties/" + k);
      }
    }
    for (const [k, v] of Object.entries(node)) {
      // Conditions restate properties described where they are defined.
      if (!["if", "then", "else", "not"].includes(k)) walk(v, where + "/" + k);
    }
  };
  walk(schema, "#");
  return out;
}

const schemas = P.shippedSchemas();
const byName = Object.fromEntries(schemas.map((s) => [s.name, s]));

for (const s of schemas) {
  let compiled = null;
  try {
    compiled = strictAjv().compile(s.schema);
  } catch (e) {
    check(`${s.name}: compiles in ajv strict mode`, false, e.message);
  }
  if (compiled) check(`${s.name}: compiles in ajv strict mode`, true);
  check(`${s.name}: draft 2020-12`, s.schema.$schema === "https://json-schema.org/draft/2020-12/schema");
  check(`${s.name}: $id in the shipped scheme`, s.schema.$id === `https://whrun.dev/schemas/${path.basename(s.file)}`, s.schema.$id);
  check(`${s.name}: title and description`, !!s.schema.title && !!s.schema.description);
  const bare = undocumented(s.schema);
  check(`${s.name}: every property has a description`, bare.length === 0, bare.join(", "));
}

// Stage schemas and their examples.
const shared = new Map();
for (const stage of STAGES) {
  const s = byName[stage];
  check(`${stage}: has a schema`, !!s);
  if (!s) continue;
  check(`${stage}: stage const`, s.schema.properties.stage && s.schema.properties.stage.const === stage);
  const ex = P.exampleFile(stage);
  check(`${stage}: has an example`, fs.existsSync(ex));
  if (!fs.existsSync(ex)) continue;
  const ajv = strictAjv();
  const v = ajv.compile(s.schema);
  const ok = v(P.readJson(ex));
  check(`${stage}: example is valid (formats asserted)`, ok, JSON.stringify(v.errors));
  const plain = P.makeAjv().compile(s.schema);
  check(`${stage}: example is valid (formats as annotations)`, plain(P.readJson(ex)));
  for (const [name, def] of Object.entries(s.schema.$defs || {})) {
    const text = JSON.stringify(def);
    if (!shared.has(name)) shared.set(name, { text, from: stage });
    else {
      const first = shared.get(name);
      check(`$defs/${name} of ${stage} is the same as in ${first.from}`, first.text === text);
    }
  }
}
// Any further shipped schema (a new built-in stage, ping) needs its example
// too: schema-diff.js derives its instances from it.
for (const s of schemas.filter((x) => x.name !== "hook.schema" && !STAGES.includes(x.name))) {
  const ex = P.exampleFile(s.name);
  const ok = fs.existsSync(ex) && P.makeAjv().compile(s.schema)(P.readJson(ex));
  check(`${s.name}: has a valid example ${path.relative(P.ROOT, ex)}`, ok);
}

// Sample definition files.
const hookSchema = byName["hook.schema"].schema;
const validateHook = strictAjv().compile(hookSchema);
const names = new Map();
const samples = P.sampleDefinitionFiles();
check("at least two sample definition files", samples.length >= 2);
const seenKinds = new Set();
const seenSignatures = new Set();
for (const f of samples) {
  const rel = path.relative(P.ROOT, f);
  let doc;
  try {
    doc = P.readYaml(f);
  } catch (e) {
    check(`${rel}: parses as YAML`, false, e.message);
    continue;
  }
  const ok = validateHook(doc);
  check(`${rel}: valid against hook.schema.json`, ok, JSON.stringify(validateHook.errors));
  for (const h of doc.webhooks || []) {
    check(`${rel}: hook ${h.name} has a unique name`, !names.has(h.name), names.get(h.name));
    names.set(h.name, rel);
    seenKinds.add(h.kind || (doc.defaults && doc.defaults.kind) || "standard");
    seenSignatures.add(h.signature || (doc.defaults && doc.defaults.signature) || "none");
    for (const t of h.targets || []) {
      check(`${rel}: ${h.name} targets loopback port 18080`, /^http:\/\/127\.0\.0\.1:18080\//.test(t.url), t.url);
    }
  }
}
for (const k of ["standard", "raw", "slack"]) check(`samples use kind ${k}`, seenKinds.has(k));
for (const sig of ["standard-webhooks", "github", "stripe", "hmac-hex", "none"]) check(`samples use signature ${sig}`, seenSignatures.has(sig));

// The rules of hook.schema.json, one case each.
const validateCase = P.makeAjv().compile(hookSchema);
for (const c of HOOK_CASES) {
  const got = validateCase(JSON.parse(HOOK_CASES.text(c)));
  check(`hook.schema: ${c.why} -> ${c.valid ? "valid" : "invalid"}`, got === c.valid, JSON.stringify(validateCase.errors));
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
