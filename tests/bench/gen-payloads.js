#!/usr/bin/env node
"use strict";
// gen-payloads.js [--stage S] [--count N] [--seed N]: writes N valid payloads
// of stage S (default clusters_deployed, 100000) as NDJSON on stdout, each a
// variation of hooks/examples/S.json (ids, names, versions, strategies,
// timestamps, images, labels), about 1 KB each. Every payload is checked
// with ajv before it is written, so a benchmark compares validators on
// all-valid input (the common case in production).
const path = require("path");
const P = require(path.join(__dirname, "..", "node", "lib", "payloads"));

const o = { stage: "clusters_deployed", count: 100000, seed: 1 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i].replace(/^--/, "");
  if (!(k in o) || argv[i + 1] === undefined) {
    console.error("usage: gen-payloads.js [--stage S] [--count N] [--seed N]");
    process.exit(2);
  }
  o[k] = k === "stage" ? argv[i + 1] : Number(argv[i + 1]);
}

const schema = P.readJson(path.join(P.ROOT, "schemas", o.stage + ".json"));
const example = P.readJson(P.exampleFile(o.stage));
const validate = P.makeAjv().compile(schema);
const rng = P.makeRng(o.seed);

const APPS = ["billing-api", "checkout", "ledger", "search-web", "payments-gateway", "notifier"];
const TEAMS = ["payments", "platform", "growth", "search"];
const ENVS = ["production", "staging", "pre", "test"];
const REGIONS = ["eu-west-1", "us-east-2", "ap-southeast-1", "cn-hangzhou"];
const STRATEGIES = ["rolling", "blue-green", "canary", "recreate"];
const STATUSES = ["succeeded", "succeeded", "succeeded", "failed", "timed_out"];
const PEOPLE = [["Jana Novak", "jana.novak"], ["Omar Haddad", "omar.haddad"], ["Lea Fischer", "lea.fischer"], ["Kenji Sato", "kenji.sato"]];
const hex = (n) => Array.from({ length: n }, () => "0123456789abcdef"[rng.int(16)]).join("");
const iso = (t) => new Date(t * 1000).toISOString().replace(/\.000Z$/, "Z");

function vary(i) {
  const p = JSON.parse(JSON.stringify(example));
  const app = rng.pick(APPS);
  const env = rng.pick(ENVS);
  const region = rng.pick(REGIONS);
  const [person, login] = rng.pick(PEOPLE);
  const start = 1795000000 + i * 37 + rng.int(30);
  const dur = 20 + rng.int(900);
  const version = `${1 + rng.int(4)}.${rng.int(30)}.${rng.int(10)}`;
  p.event_id = "evt_" + (i + 1).toString(36).padStart(8, "0") + hex(18);
  p.occurred_at = iso(start + dur + 1);
  p.actor = { id: 1 + rng.int(5000), name: person, email: login + "@example.com", type: "user" };
  p.application.id = 1000 + APPS.indexOf(app);
  p.application.name = app;
  p.application.owner = { type: "team", id: 30 + rng.int(10), name: rng.pick(TEAMS) };
  p.cluster.id = 90000 + rng.int(10000);
  p.cluster.name = `${app}-${env}-${region.split("-")[0]}`;
  p.cluster.environment = env;
  p.cluster.region = region;
  p.cluster.namespace = `${p.application.owner.name}-${env}`;
  p.cluster.url = `https://deploy.example.com/apps/${app}/clusters/${p.cluster.name}`;
  p.cluster.labels = { team: p.application.owner.name, tier: rng.pick(["backend", "frontend", "worker"]) };
  const d = p.deploy;
  d.id = 700000 + i;
  d.version = version;
  d.previous_version = rng.chance(0.05) ? null : `${version}-prev`;
  d.strategy = rng.pick(STRATEGIES);
  if (d.strategy === "canary") d.canary_weight = rng.pick([5, 25, 50, 100]);
  else delete d.canary_weight;
  d.status = rng.pick(STATUSES);
  d.started_at = iso(start);
  d.finished_at = iso(start + dur);
  d.duration_seconds = dur + rng.int(1000) / 1000;
  d.image = { repository: `registry.example.com/${p.application.owner.name}/${app}`, tag: version, digest: "sha256:" + hex(64) };
  const desired = 1 + rng.int(12);
  d.replicas = { desired, ready: d.status === "succeeded" ? desired : rng.int(desired + 1) };
  d.pipeline_run_url = `https://deploy.example.com/apps/${app}/runs/${d.id}`;
  if (p.git) {
    p.git.repository = `https://git.example.com/${p.application.owner.name}/${app}.git`;
    p.git.branch = rng.chance(0.5) ? "main" : `release/${version.split(".").slice(0, 2).join(".")}`;
    p.git.tag = "v" + version;
    p.git.commit = hex(40);
  }
  return p;
}

const out = [];
let bytes = 0;
for (let i = 0; i < o.count; i++) {
  const p = o.stage === "clusters_deployed" ? vary(i) : example;
  if (!validate(p)) {
    console.error(`gen-payloads: payload ${i + 1} is invalid: ${JSON.stringify(validate.errors)}`);
    process.exit(1);
  }
  const line = JSON.stringify(p);
  bytes += line.length + 1;
  out.push(line);
  if (out.length === 5000) {
    process.stdout.write(out.join("\n") + "\n");
    out.length = 0;
  }
}
if (out.length) process.stdout.write(out.join("\n") + "\n");
console.error(`gen-payloads: ${o.count} ${o.stage} payloads, ${Math.round(bytes / o.count)} bytes each on average`);
