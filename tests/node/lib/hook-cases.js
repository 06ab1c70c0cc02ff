"use strict";
// Hand-written definition files with the verdict hook.schema.json must give,
// one rule of SPEC section 2 each. check-samples.js holds ajv to them;
// schema-diff.js adds them to the instances whrun is compared on.
const target = { url: "http://127.0.0.1:18080/x" };
const hook = (extra) => ({ name: "h", events: ["clusters_deployed"], targets: [target], ...extra });
const file = (...hooks) => ({ version: 1, webhooks: hooks });

module.exports = [
  { why: "minimal file", valid: true, doc: file(hook({})) },
  { why: "webhooks is required", valid: false, doc: { version: 1 } },
  { why: "an empty list of hooks", valid: true, doc: { webhooks: [] } },
  { why: "version is 1", valid: false, doc: { version: 2, webhooks: [] } },
  { why: "version 1.0 is 1", valid: true, raw: '{"version":1.0,"webhooks":[]}' },
  { why: "other top-level keys hold anchors", valid: true, doc: { commonHeaders: { "X-A": "b" }, webhooks: [] } },
  { why: "unknown hook key", valid: false, doc: file(hook({ evnets: ["*"] })) },
  { why: "name pattern", valid: false, doc: file(hook({ name: "Deploy" })) },
  { why: "name of 65 characters", valid: false, doc: file(hook({ name: "a".repeat(65) })) },
  { why: "name of 64 characters", valid: true, doc: file(hook({ name: "a".repeat(64) })) },
  { why: "events must not be empty", valid: false, doc: file(hook({ events: [] })) },
  { why: "events may be *", valid: true, doc: file(hook({ events: ["*"] })) },
  { why: "a custom stage", valid: true, doc: file(hook({ events: ["db_migrated"] })) },
  { why: "ping is reserved", valid: false, doc: file(hook({ events: ["ping"] })) },
  { why: "a stage name with upper case", valid: false, doc: file(hook({ events: ["Clusters_deployed"] })) },
  { why: "events required without defaults", valid: false, doc: file({ name: "h", targets: [target] }) },
  {
    why: "events may come from defaults",
    valid: true,
    doc: { defaults: { events: ["*"] }, webhooks: [{ name: "h", targets: [target] }] },
  },
  { why: "targets required", valid: false, doc: file({ name: "h", events: ["*"] }) },
  { why: "targets not empty", valid: false, doc: file(hook({ targets: [] })) },
  { why: "url required on a built-in target", valid: false, doc: file(hook({ targets: [{ method: "POST" }] })) },
  { why: "url must be http(s)", valid: false, doc: file(hook({ targets: [{ url: "ftp://127.0.0.1/x" }] })) },
  { why: "unknown key on a standard target", valid: false, doc: file(hook({ targets: [{ ...target, verify: false }] })) },
  {
    why: "unknown key on an explicit raw target",
    valid: false,
    doc: file(hook({ kind: "raw", targets: [{ ...target, channel: "x" }] })),
  },
  { why: "a plugin target takes any fields", valid: true, doc: file(hook({ kind: "pagerduty", targets: [{ routing_key: "k" }] })) },
  { why: "a plugin target is still an object", valid: false, doc: file(hook({ kind: "pagerduty", targets: ["k"] })) },
  {
    why: "a plugin kind from defaults frees the targets",
    valid: true,
    doc: { defaults: { kind: "teams" }, webhooks: [hook({ targets: [{ channel: "x" }] })] },
  },
  {
    why: "a built-in kind on the hook overrides a plugin default",
    valid: false,
    doc: { defaults: { kind: "teams" }, webhooks: [hook({ kind: "slack", targets: [{ channel: "x" }] })] },
  },
  {
    why: "a built-in kind from defaults keeps targets strict",
    valid: false,
    doc: { defaults: { kind: "raw" }, webhooks: [hook({ targets: [{ channel: "x" }] })] },
  },
  { why: "kind pattern", valid: false, doc: file(hook({ kind: "Pager Duty" })) },
  { why: "method enum", valid: false, doc: file(hook({ targets: [{ ...target, method: "GET" }] })) },
  { why: "header name token", valid: false, doc: file(hook({ targets: [{ ...target, headers: { "X Team": "a" } }] })) },
  { why: "header value without LF", valid: false, doc: file(hook({ targets: [{ ...target, headers: { "X-Team": "a\nb" } }] })) },
  { why: "header value must be a string", valid: false, doc: file(hook({ targets: [{ ...target, headers: { "X-Team": 1 } }] })) },
  { why: "signature enum", valid: false, doc: file(hook({ signature: "sha1" })) },
  { why: "a literal secret", valid: false, doc: file(hook({ signature: "github", secret: "hunter2" })) },
  { why: "an env secret", valid: true, doc: file(hook({ signature: "github", secret: "${env:GH_SECRET}" })) },
  { why: "a file secret", valid: true, doc: file(hook({ signature: "stripe", secret: "${file:/run/secrets/s}" })) },
  { why: "a rotation of two", valid: true, doc: file(hook({ secret: ["${env:A}", "${env:B}"] })) },
  { why: "not three secrets", valid: false, doc: file(hook({ secret: ["${env:A}", "${env:B}", "${env:C}"] })) },
  { why: "unknown reference scheme", valid: false, doc: file(hook({ secret: "${vault:a}" })) },
  { why: "a reference with a trailing newline", valid: false, doc: file(hook({ secret: "${env:A}\n" })) },
  { why: "timeout needs a unit", valid: false, doc: file(hook({ timeout: "10" })) },
  { why: "timeout in ms", valid: true, doc: file(hook({ timeout: "250ms" })) },
  { why: "timeout is a string", valid: false, doc: file(hook({ timeout: 10 })) },
  { why: "retry attempts 1..20", valid: false, doc: file(hook({ retry: { attempts: 21 } })) },
  { why: "retry attempts 0", valid: false, doc: file(hook({ retry: { attempts: 0 } })) },
  { why: "retry attempts 3.0 is an integer", valid: true, rawHook: '"retry":{"attempts":3.0}' },
  { why: "retry attempts 2.5", valid: false, doc: file(hook({ retry: { attempts: 2.5 } })) },
  { why: "retry unknown key", valid: false, doc: file(hook({ retry: { attempts: 2, jitter: true } })) },
  { why: "filter globs", valid: true, doc: file(hook({ filter: { "/application/name": ["billing-*", "checkout"] } })) },
  { why: "filter key must be a pointer", valid: false, doc: file(hook({ filter: { "application/name": "x" } })) },
  { why: "filter list not empty", valid: false, doc: file(hook({ filter: { "/a": [] } })) },
  { why: "filter value is text", valid: false, doc: file(hook({ filter: { "/a": 1 } })) },
  { why: "basic_auth password is a reference", valid: false, doc: file(hook({ targets: [{ ...target, basic_auth: { username: "u", password: "p" } }] })) },
  { why: "enabled is a boolean", valid: false, doc: file(hook({ enabled: "no" })) },
  { why: "defaults reject hook-only keys", valid: false, doc: { defaults: { name: "x" }, webhooks: [] } },
  { why: "defaults reject targets", valid: false, doc: { defaults: { targets: [target] }, webhooks: [] } },
];

// The text of a case, as one JSON line.
module.exports.text = (c) => {
  if (c.raw) return c.raw;
  if (c.rawHook) {
    return '{"webhooks":[{"name":"h","events":["*"],"targets":[{"url":"http://127.0.0.1:18080/x"}],' + c.rawHook + "}]}";
  }
  return JSON.stringify(c.doc);
};
