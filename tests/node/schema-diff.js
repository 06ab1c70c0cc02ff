#!/usr/bin/env node
"use strict";
// schema-diff.js [--seed N] [--per-schema N] OUTDIR
//
// The ajv half of the differential test of whrun's JSON Schema validator.
// For every shipped schema (schemas/*.json: the stage payloads and
// hook.schema.json) it derives instances from that schema's seeds (the
// example payload hooks/examples/<stage>.json, or the sample definition
// files hooks/*.yaml plus a few hand-written ones, after the rule cases of
// lib/hook-cases.js) by seeded random
// mutations, asks ajv for each verdict, and writes:
//   OUTDIR/<name>.ndjson     one instance a line (exactly the bytes ajv judged)
//   OUTDIR/<name>.verdicts   one line "valid" or "invalid" for each instance
//   OUTDIR/index.tsv         name, schema file, instances, valid ones
// tests/cli/t0600-schema-ajv.sh then runs whrun on each .ndjson and
// compares. The same seed always gives the same files.
//
// Two kinds of mutation are mixed: value-preserving or schema-guided ones
// (drop an optional key, add a known property with a value that fits it,
// swap a value for another enum member or pattern sample, respell a number
// as 1.0 or 1e0, \u-escape a string) which mostly keep an instance valid, and
// breaking ones (remove a required key, change a type, add an unknown key to
// a closed object, break a pattern, leave an enum, empty an array, exceed a
// bound, non-ASCII text). ajv decides; the generator only aims for a mix, and
// fails if a schema gets too few of either verdict to be a useful test.
//
// format is an annotation in draft 2020-12 and whrun does not assert it, so
// ajv runs with validateFormats: false; format-breaking values must come out
// valid from both.
const fs = require("fs");
const path = require("path");
const P = require("./lib/payloads");
const HOOK_CASES = require("./lib/hook-cases");

// Valid samples for each pattern used in the shipped schemas. A pattern
// missing here only means fewer schema-guided values (a warning says so).
const PATTERN_SAMPLES = {
  "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$": ["billing-api", "checkout", "a", "x1", "payments-prod", "a".repeat(63)],
  "^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$": ["2.14.0", "1.0.0-rc.1+build.5", "842-9f2c1e7", "v3", "R"],
  "^[a-z][a-z0-9-]{0,31}$": ["production", "staging", "dev", "pre-prod-2", "t"],
  "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$": ["evt_1", "01JDBE8D1F3G5H7J9K2L4M6N8P", "ctrl:2026.11:42", "9"],
  "^[a-z0-9]+(-[a-z0-9]+)*$": ["eu-west-1", "us-central1", "cn-hangzhou", "local"],
  "^[a-z0-9][a-z0-9_.-]{0,62}$": ["java", "pci", "tier-1.core", "x_y"],
  "^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$": [
    "team", "app.kubernetes.io/name", "Tier", "example.com/owner-id",
  ],
  "^[a-z0-9]([a-z0-9._-]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$": [
    "registry.example.com/payments/billing-api", "nginx", "localhost:5000/a/b", "ghcr.io/org/app_1",
  ],
  "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$": ["2.14.0", "latest", "842-9f2c1e7", "_x"],
  "^sha256:[0-9a-f]{64}$": ["sha256:" + "0123456789abcdef".repeat(4), "sha256:" + "f".repeat(64)],
  "^[A-Za-z0-9._/-]{1,255}$": ["main", "release/2.14", "feature/x_y-z", "v1.2"],
  "^[0-9a-f]{40}$": ["4e1b9a0c7d2f3e5a6b8c9d0e1f2a3b4c5d6e7f80", "0".repeat(40), "abcdef0123".repeat(4)],
  "^[a-z0-9][a-z0-9._-]{0,63}$": ["deploy-notify", "a", "x.y_z-1", "9", "h".repeat(64)],
  "^[a-z0-9][a-z0-9_-]*$": ["pagerduty", "my_plugin-2", "teams"],
  "^[a-z][a-z0-9_]*$": ["db_migrated", "release42", "x", "ping"],
  "^\\$\\{(env|file):[^}]+\\}$": ["${env:X}", "${file:/run/secrets/hook}", "${env:DEPLOY_NOTIFY_SECRET}", "${env:ÉTÉ}"],
  "^[0-9]+(ms|s|m|h)$": ["10s", "500ms", "5m", "1h", "0s", "86400s"],
  "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$": ["X-Team", "Authorization", "x-a!#$%&'*+.^_`|~", "X-Webhook-Signature"],
  "^[^\\r\\n\\x00]*$": ["infra", "Bearer ${env:TOKEN}", "", "a value with spaces"],
  "^https?://": ["http://127.0.0.1:18080/x", "https://hooks.example.com/a?b=c", "http://[::1]:8080/"],
  "^(/.*)?$": ["/application/name", "", "/cluster/labels/team", "/a~1b/c~0d"],
};

// Values that break things, by kind.
const STRING_BREAKERS = [
  (s) => s + "\n", // $ must not match before a final newline (ECMA-262)
  (s) => " " + s,
  (s) => s.toUpperCase(),
  () => "",
  (s) => s + "!",
  (s) => s + "#",
  (s) => s.slice(0, -1),
  (s) => s.repeat(Math.max(2, Math.ceil(300 / Math.max(1, s.length)))),
  (s) => s + "é",
  (s) => "日本" + s,
  (s) => s + "😀",
  (s) => s + "\u00a0",
  (s) => s.replace(/[a-z]/, "Z"),
  (s) => s + "/..",
];
const FORMAT_BREAKERS = [
  "not-a-date", "2026-02-30T25:61:00Z", "2026-11-22 10:00:00", "jana@", "no spaces allowed@example.com x",
  "http//missing-colon", "ftp://example.com/x", "::", "😀@😀",
];
const UNICODE_STRINGS = ["é", "日本語", "😀", "a😀b", "Ω".repeat(70), "\u00a0", "ß", "\u0301a"];
const OTHER_TYPES = [null, true, false, 0, -1, 1.5, "x", "1", [], {}, [1], { a: 1 }, "true", "null"];
const NUMBER_SPELLINGS = (n) => {
  const out = [];
  if (Number.isInteger(n)) {
    out.push(new P.RawNumber(n + ".0"), new P.RawNumber(n + "e0"), new P.RawNumber(n * 10 + "E-1"));
    if (n === 0) out.push(new P.RawNumber("-0"), new P.RawNumber("0.000"));
  }
  return out;
};
const NUMBER_BREAKERS = [
  (n) => n + 0.5,
  (n) => n - 1,
  (n) => -n - 1,
  () => 0,
  () => -1,
  () => 101,
  () => 21,
  () => new P.RawNumber("-0"),
  () => new P.RawNumber("1e3"),
  () => 4294967296,
  () => 9007199254740991,
  () => new P.RawNumber("1.5e1"),
  () => 0.1,
];
const EXTRA_KEYS = ["unexpected_field", "x-extra", "ñandú", "", "Name", "id ", "😀"];

// Hand-written definition files for hook.schema.json beyond hooks/*.yaml:
// plugin kinds, kind and events from defaults, the reserved ping stage.
const HOOK_SEEDS = [
  {
    version: 1,
    webhooks: [
      {
        name: "pager",
        kind: "pagerduty",
        events: ["clusters_rollbacked", "db_migrated"],
        signature: "none",
        targets: [{ routing_key: "${env:PD_KEY}", severity: "critical", url: 3 }],
      },
    ],
  },
  {
    defaults: { kind: "teams", events: ["*"], timeout: "2s", enabled: true },
    webhooks: [
      { name: "teams-a", targets: [{ channel: "releases", anything: [1, 2] }] },
      { name: "teams-b", kind: "standard", targets: [{ url: "https://127.0.0.1:18443/b", tls_verify: false, ca_file: "/etc/ca.pem" }] },
    ],
  },
  {
    version: 1,
    defaults: { events: ["cluster_created"], signature: "hmac-hex", secret: ["${file:/run/a}", "${file:/run/b}"] },
    webhooks: [
      {
        name: "inv",
        signature_header: "X-Sig",
        required: false,
        retry: { attempts: 20, backoff: "100ms", max_backoff: "1h" },
        filter: { "/cluster/labels/team": "pay*", "": ["*"] },
        targets: [{ url: "http://127.0.0.1:18080/i", method: "PATCH", basic_auth: { username: "u", password: "${env:P}" } }],
      },
    ],
  },
  { webhooks: [] },
];

function parseArgs(argv) {
  const o = { seed: 20261122, perSchema: 400, out: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--seed") o.seed = Number(argv[++i]);
    else if (argv[i] === "--per-schema") o.perSchema = Number(argv[++i]);
    else if (!o.out) o.out = argv[i];
    else throw new Error("usage: schema-diff.js [--seed N] [--per-schema N] OUTDIR");
  }
  if (!o.out || !Number.isInteger(o.seed) || !(o.perSchema > 0)) {
    throw new Error("usage: schema-diff.js [--seed N] [--per-schema N] OUTDIR");
  }
  return o;
}

// --- what the schema says about property names -------------------------

function resolveRef(root, ref) {
  if (!ref.startsWith("#")) throw new Error("shipped schemas are self-contained, found $ref " + ref);
  let node = root;
  for (const part of ref.slice(2).split("/").filter(Boolean)) {
    node = node[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return node;
}

// Candidates: property name -> values that fit it (enum, const, pattern
// samples, examples, booleans); keyNames: every property name.
function collectHints(root) {
  const cand = new Map();
  const keyNames = new Set();
  const keyPatterns = [];
  const missing = new Set();
  const add = (k, v) => {
    if (!cand.has(k)) cand.set(k, []);
    const list = cand.get(k);
    if (!list.some((x) => JSON.stringify(x) === JSON.stringify(v))) list.push(v);
  };
  const valuesOf = (sub, seen = new Set()) => {
    const vals = [];
    if (!sub || typeof sub !== "object" || seen.has(sub)) return vals;
    seen.add(sub);
    if (sub.$ref) vals.push(...valuesOf(resolveRef(root, sub.$ref), seen));
    if ("const" in sub) vals.push(sub.const);
    if (Array.isArray(sub.enum)) vals.push(...sub.enum);
    if (Array.isArray(sub.examples)) vals.push(...sub.examples);
    if (typeof sub.pattern === "string") {
      if (PATTERN_SAMPLES[sub.pattern]) vals.push(...PATTERN_SAMPLES[sub.pattern]);
      else missing.add(sub.pattern);
    }
    if (sub.type === "boolean") vals.push(true, false);
    if (sub.type === "integer") vals.push(0, 1, 2, 20, 100, 1000);
    if (sub.type === "number") vals.push(0, 0.5, 81, 526.25);
    // An array property takes one-element arrays of its items' values.
    if (sub.items && typeof sub.items === "object") for (const v of valuesOf(sub.items, seen)) vals.push([v]);
    for (const k of ["allOf", "anyOf", "oneOf"]) if (Array.isArray(sub[k])) for (const s of sub[k]) vals.push(...valuesOf(s, seen));
    return vals;
  };
  const walk = (node) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== "object") return;
    if (node.properties && typeof node.properties === "object") {
      for (const [k, sub] of Object.entries(node.properties)) {
        keyNames.add(k);
        for (const v of valuesOf(sub)) add(k, v);
      }
    }
    if (node.propertyNames && node.propertyNames.pattern) {
      keyPatterns.push(...(PATTERN_SAMPLES[node.propertyNames.pattern] || []));
      if (!PATTERN_SAMPLES[node.propertyNames.pattern]) missing.add(node.propertyNames.pattern);
    }
    for (const v of Object.values(node)) walk(v);
  };
  walk(root);
  return { cand, keyNames: [...keyNames], keyPatterns, missing };
}

// Values found under each key in the seeds join the candidates.
function addSeedValues(hints, seeds) {
  const walk = (v) => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== "object") return;
    for (const [k, x] of Object.entries(v)) {
      if (!hints.cand.has(k)) hints.cand.set(k, []);
      const list = hints.cand.get(k);
      if (!list.some((y) => JSON.stringify(y) === JSON.stringify(x))) list.push(clone(x));
      walk(x);
    }
  };
  seeds.forEach(walk);
}

// --- mutation ------------------------------------------------------------

function clone(v) {
  if (v instanceof P.RawNumber) return new P.RawNumber(v.text);
  if (Array.isArray(v)) return v.map(clone);
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) o[k] = clone(v[k]);
    return o;
  }
  return v;
}

// Every location in the instance: {parent, key, value, depth}; the root has
// parent null.
function locations(root) {
  const out = [];
  const walk = (parent, key, value, depth) => {
    out.push({ parent, key, value, depth });
    if (value instanceof P.RawNumber) return;
    if (Array.isArray(value)) value.forEach((x, i) => walk(value, i, x, depth + 1));
    else if (value && typeof value === "object") for (const k of Object.keys(value)) walk(value, k, value[k], depth + 1);
  };
  walk(null, null, root, 0);
  return out;
}

const isObj = (v) => v && typeof v === "object" && !Array.isArray(v) && !(v instanceof P.RawNumber);
const isNum = (v) => typeof v === "number" || v instanceof P.RawNumber;

function set(loc, value, holder) {
  if (loc.parent === null) holder.root = value;
  else loc.parent[loc.key] = value;
}

// Each op gets (holder, rng, hints) and returns a short label, or null when
// it found nothing to act on.
const SOFT_OPS = {
  dropKey(h, rng) {
    const objs = locations(h.root).filter((l) => isObj(l.value) && Object.keys(l.value).length > 0);
    if (!objs.length) return null;
    const o = rng.pick(objs).value;
    const k = rng.pick(Object.keys(o));
    delete o[k];
    return "drop " + k;
  },
  addKnownKey(h, rng, hints) {
    const objs = locations(h.root).filter((l) => isObj(l.value));
    if (!objs.length) return null;
    const o = rng.pick(objs).value;
    const k = rng.pick(hints.keyNames);
    const vals = hints.cand.get(k);
    if (!vals || !vals.length) return null;
    o[k] = clone(rng.pick(vals));
    return "add " + k;
  },
  swapValue(h, rng, hints) {
    const locs = locations(h.root).filter((l) => typeof l.key === "string" && hints.cand.has(l.key));
    if (!locs.length) return null;
    const l = rng.pick(locs);
    set(l, clone(rng.pick(hints.cand.get(l.key))), h);
    return "swap " + l.key;
  },
  addPatternKey(h, rng, hints) {
    // Objects keyed by pattern (labels, headers, filter) take a new key.
    if (!hints.keyPatterns.length) return null;
    const objs = locations(h.root).filter((l) => isObj(l.value) && ["labels", "headers", "filter"].includes(l.key));
    if (!objs.length) return null;
    const l = rng.pick(objs);
    const k = rng.pick(hints.keyPatterns);
    const sample = Object.values(l.value)[0];
    l.value[k] = sample === undefined ? "v" : clone(sample);
    return "key " + k;
  },
  respellNumber(h, rng) {
    const nums = locations(h.root).filter((l) => typeof l.value === "number" && l.parent !== null);
    if (!nums.length) return null;
    const l = rng.pick(nums);
    const spellings = NUMBER_SPELLINGS(l.value);
    if (!spellings.length) return null;
    set(l, rng.pick(spellings), h);
    return "respell " + l.key;
  },
  shortenArray(h, rng) {
    const arrs = locations(h.root).filter((l) => Array.isArray(l.value) && l.value.length > 1);
    if (!arrs.length) return null;
    const a = rng.pick(arrs).value;
    a.splice(rng.int(a.length), 1);
    return "shorten";
  },
};

const HARD_OPS = {
  changeType(h, rng) {
    const locs = locations(h.root);
    // The root itself now and then, deep values more often.
    const l = rng.chance(0.03) ? locs[0] : rng.pick(locs.slice(1).length ? locs.slice(1) : locs);
    set(l, clone(rng.pick(OTHER_TYPES)), h);
    return "type " + l.key;
  },
  breakString(h, rng) {
    const strs = locations(h.root).filter((l) => typeof l.value === "string");
    if (!strs.length) return null;
    const l = rng.pick(strs);
    set(l, rng.pick(STRING_BREAKERS)(l.value), h);
    return "break " + l.key;
  },
  formatString(h, rng) {
    const strs = locations(h.root).filter((l) => typeof l.value === "string");
    if (!strs.length) return null;
    const l = rng.pick(strs);
    set(l, rng.chance(0.7) ? rng.pick(FORMAT_BREAKERS) : rng.pick(UNICODE_STRINGS), h);
    return "text " + l.key;
  },
  breakNumber(h, rng) {
    const nums = locations(h.root).filter((l) => isNum(l.value));
    if (!nums.length) return null;
    const l = rng.pick(nums);
    set(l, rng.pick(NUMBER_BREAKERS)(Number(l.value)), h);
    return "number " + l.key;
  },
  extraKey(h, rng) {
    const objs = locations(h.root).filter((l) => isObj(l.value));
    if (!objs.length) return null;
    const o = rng.pick(objs).value;
    const k = rng.pick(EXTRA_KEYS);
    o[k] = clone(rng.pick(OTHER_TYPES));
    return "extra " + JSON.stringify(k);
  },
  breakArray(h, rng) {
    const arrs = locations(h.root).filter((l) => Array.isArray(l.value));
    if (!arrs.length) return null;
    const l = rng.pick(arrs);
    const a = l.value;
    const r = rng.int(3);
    if (r === 0) set(l, [], h);
    else if (r === 1 && a.length) a.push(clone(a[0]));
    else a.push(clone(rng.pick(OTHER_TYPES)));
    return "array " + l.key;
  },
};

function applyOps(holder, rng, hints, ops, count) {
  const names = Object.keys(ops);
  const done = [];
  for (let tries = 0; done.length < count && tries < count * 5; tries++) {
    const label = ops[rng.pick(names)](holder, rng, hints);
    if (label) done.push(label);
  }
  return done;
}

function generate(schemaInfo, seeds, fixedLines, opts, rngSeed) {
  const rng = P.makeRng(rngSeed);
  const ajv = P.makeAjv();
  const validate = ajv.compile(schemaInfo.schema);
  const hints = collectHints(schemaInfo.schema);
  addSeedValues(hints, seeds);
  for (const m of hints.missing) console.error(`schema-diff: ${schemaInfo.name}: no samples for pattern ${m}`);

  const lines = [];
  const verdicts = [];
  const seen = new Set();
  for (const s of seeds) {
    // The seeds themselves come first, as written.
    const line = P.writeJson(s);
    seen.add(line);
    lines.push(line);
  }
  for (const line of fixedLines) {
    if (seen.has(line)) continue;
    seen.add(line);
    lines.push(line);
  }
  let guard = 0;
  while (lines.length < opts.perSchema && guard++ < opts.perSchema * 20) {
    const holder = { root: clone(rng.pick(seeds)) };
    const r = rng.next();
    if (r < 0.1) {
      applyOps(holder, rng, hints, { respellNumber: SOFT_OPS.respellNumber }, 1 + rng.int(3));
    } else if (r < 0.5) {
      applyOps(holder, rng, hints, SOFT_OPS, 1 + rng.int(3));
    } else {
      applyOps(holder, rng, hints, SOFT_OPS, rng.int(2));
      applyOps(holder, rng, hints, HARD_OPS, 1 + (rng.chance(0.2) ? 1 : 0));
    }
    const line = P.writeJson(holder.root, rng, 0.03);
    if (seen.has(line)) continue;
    seen.add(line);
    lines.push(line);
  }
  for (const line of lines) verdicts.push(validate(JSON.parse(line)) ? "valid" : "invalid");
  return { lines, verdicts };
}

function seedsFor(info) {
  if (info.name === "hook.schema") {
    return [...P.sampleDefinitionFiles().map(P.readYaml), ...HOOK_SEEDS.map(clone)];
  }
  const ex = P.exampleFile(info.name);
  if (!fs.existsSync(ex)) throw new Error(`no example payload ${ex} for schema ${info.file}`);
  return [P.readJson(ex)];
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  fs.mkdirSync(opts.out, { recursive: true });
  const index = [];
  let failed = false;
  let total = 0;
  P.shippedSchemas().forEach((info, i) => {
    const fixed = info.name === "hook.schema" ? HOOK_CASES.map(HOOK_CASES.text) : [];
    const { lines, verdicts } = generate(info, seedsFor(info), fixed, opts, opts.seed + 7919 * (i + 1));
    fs.writeFileSync(path.join(opts.out, info.name + ".ndjson"), lines.join("\n") + "\n");
    fs.writeFileSync(path.join(opts.out, info.name + ".verdicts"), verdicts.join("\n") + "\n");
    const valid = verdicts.filter((v) => v === "valid").length;
    index.push([info.name, path.relative(P.ROOT, info.file), lines.length, valid].join("\t"));
    total += lines.length;
    // A useful differential test needs both verdicts in quantity.
    if (valid < lines.length * 0.1 || lines.length - valid < lines.length * 0.1) {
      console.error(`schema-diff: ${info.name}: only ${valid} valid of ${lines.length}: mutations need adjusting`);
      failed = true;
    }
  });
  fs.writeFileSync(path.join(opts.out, "index.tsv"), index.join("\n") + "\n");
  console.log(`schema-diff: ${total} instances for ${index.length} schemas in ${opts.out} (seed ${opts.seed})`);
  for (const row of index) {
    const [name, , n, v] = row.split("\t");
    console.log(`  ${name}: ${n} instances, ${v} valid`);
  }
  process.exit(failed ? 1 : 0);
}

main();
