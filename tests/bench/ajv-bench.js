#!/usr/bin/env node
"use strict";
// ajv-bench.js SCHEMA NDJSON [--stats]: the ajv side of the validator
// benchmark. Reads the file, JSON.parse()s each line, runs the schema
// compiled by ajv (draft 2020-12, format as an annotation, as whrun does)
// and prints the number of valid instances. --stats adds, on stderr, the
// time spent compiling, parsing and validating.
const fs = require("fs");
const path = require("path");
const P = require(path.join(__dirname, "..", "node", "lib", "payloads"));

const [schemaFile, dataFile, flag] = process.argv.slice(2);
if (!schemaFile || !dataFile) {
  console.error("usage: ajv-bench.js SCHEMA NDJSON [--stats]");
  process.exit(2);
}
const t0 = process.hrtime.bigint();
const validate = P.makeAjv().compile(P.readJson(schemaFile));
const t1 = process.hrtime.bigint();
const text = fs.readFileSync(dataFile, "utf8");
let valid = 0;
let total = 0;
let parseNs = 0n;
let validateNs = 0n;
const stats = flag === "--stats";
let start = 0;
while (start < text.length) {
  let end = text.indexOf("\n", start);
  if (end < 0) end = text.length;
  if (end > start) {
    if (stats) {
      const a = process.hrtime.bigint();
      const instance = JSON.parse(text.slice(start, end));
      const b = process.hrtime.bigint();
      if (validate(instance)) valid++;
      validateNs += process.hrtime.bigint() - b;
      parseNs += b - a;
    } else if (validate(JSON.parse(text.slice(start, end)))) {
      valid++;
    }
    total++;
  }
  start = end + 1;
}
console.log(valid);
if (stats) {
  const ms = (ns) => (Number(ns) / 1e6).toFixed(1) + " ms";
  const all = process.hrtime.bigint() - t0;
  console.error(
    `ajv: ${total} instances, ${valid} valid; compile ${ms(t1 - t0)}, JSON.parse ${ms(parseNs)}, ` +
      `validate ${ms(validateNs)}, all (reading included) ${ms(all)}`,
  );
}
