"use strict";
// Shared by the differential test and the benchmark: a seeded PRNG, a JSON
// writer that can emit number spellings JavaScript cannot keep (1.0, 1e2)
// and \u escapes, and the loading of the shipped schemas and their seeds.
const fs = require("fs");
const path = require("path");

const ROOT = path.resolve(__dirname, "..", "..", "..");

// mulberry32: small, fast and the same on every Node version.
function makeRng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    chance: (p) => next() < p,
  };
}

// A number written exactly as `text` (e.g. "1.0", "1e2", "-0") in the
// output; its value is Number(text).
class RawNumber {
  constructor(text) {
    this.text = text;
  }
  valueOf() {
    return Number(this.text);
  }
}

function escapeString(s, rng, escapeRate) {
  let json = JSON.stringify(s);
  if (!rng || !rng.chance(escapeRate)) return json;
  // Re-spell some characters as \uXXXX (surrogate pairs for astral ones):
  // same string, different bytes for the validator's JSON reader.
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0);
    if (cp < 0x20 || ch === '"' || ch === "\\") {
      out += JSON.stringify(ch).slice(1, -1);
    } else if (rng.chance(0.3)) {
      if (cp > 0xffff) {
        const v = cp - 0x10000;
        out += "\\u" + (0xd800 + (v >> 10)).toString(16).padStart(4, "0");
        out += "\\u" + (0xdc00 + (v & 0x3ff)).toString(16).padStart(4, "0");
      } else {
        out += "\\u" + cp.toString(16).padStart(4, "0");
      }
    } else {
      out += ch;
    }
  }
  return out + '"';
}

// Serialises v as one line of JSON. RawNumber keeps its spelling; with rng,
// a few strings get \u escapes.
function writeJson(v, rng, escapeRate = 0.05) {
  if (v instanceof RawNumber) return v.text;
  if (v === null || typeof v === "boolean" || typeof v === "number") return JSON.stringify(v);
  if (typeof v === "string") return escapeString(v, rng, escapeRate);
  if (Array.isArray(v)) return "[" + v.map((x) => writeJson(x, rng, escapeRate)).join(",") + "]";
  const parts = [];
  for (const k of Object.keys(v)) parts.push(escapeString(k, rng, escapeRate) + ":" + writeJson(v[k], rng, escapeRate));
  return "{" + parts.join(",") + "}";
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

function readYaml(file) {
  const YAML = require("yaml");
  // YAML 1.2 core schema with << merge keys, as whrun reads definitions.
  return YAML.parse(fs.readFileSync(file, "utf8"), { merge: true, uniqueKeys: true });
}

// The shipped schemas: [{name, file, schema}], hook.schema.json included.
function shippedSchemas() {
  const dir = path.join(ROOT, "schemas");
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ""), file: path.join(dir, f), schema: readJson(path.join(dir, f)) }));
}

// The sample definition files hooks/*.yaml (top level only: examples/ holds
// payloads).
function sampleDefinitionFiles() {
  const dir = path.join(ROOT, "hooks");
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

function exampleFile(stage) {
  return path.join(ROOT, "hooks", "examples", stage + ".json");
}

// ajv as whrun's tests use it: draft 2020-12, format as an annotation only
// (whrun does not assert formats), strict mode off.
function makeAjv(opts = {}) {
  const Ajv2020 = require("ajv/dist/2020");
  return new Ajv2020({ strict: false, validateFormats: false, allErrors: false, ...opts });
}

module.exports = {
  ROOT,
  makeRng,
  RawNumber,
  writeJson,
  readJson,
  readYaml,
  shippedSchemas,
  sampleDefinitionFiles,
  exampleFile,
  makeAjv,
};
