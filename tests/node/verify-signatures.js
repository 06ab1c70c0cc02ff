#!/usr/bin/env node
// tests/node/verify-signatures.js: checks whrun's signatures with the
// receivers' own libraries.
//
//   node verify-signatures.js SIGN_TOOL PAYLOAD_FILE
//
// For every scheme, with one secret and with two (a rotation), it has
// SIGN_TOOL (tests/tools/sign_tool.c) sign a request, sends it over loopback
// HTTP to a Node server, and verifies what the server received:
//   standard-webhooks  npm standardwebhooks Webhook(secret).verify(body, headers)
//                      and npm svix Webhook(secret).verify(body, headers)
//   github             @octokit/webhooks-methods verify(secret, body, signature),
//                      applied to each X-Hub-Signature-256 field line
//   stripe             Stripe's documented scheme with node:crypto: split the
//                      header on ',', t=, each v1= compared with timingSafeEqual
//   hmac-hex           node:crypto HMAC of the body, each comma-separated digest
// With two secrets, a receiver holding ONLY the first and one holding ONLY
// the second must both accept. A tampered body, a tampered timestamp and a
// wrong secret must be refused. Prints "ok"/"not ok" lines and a summary;
// exits 1 when anything failed.
'use strict';

const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const { Webhook: StandardWebhook } = require('standardwebhooks');
const { Webhook: SvixWebhook } = require('svix');

let passed = 0;
let failed = 0;
function check(what, ok, detail) {
	if (ok) {
		passed++;
		console.log(`ok - ${what}`);
	} else {
		failed++;
		console.log(`not ok - ${what}${detail ? `: ${detail}` : ''}`);
	}
}

const [signTool, payloadFile] = process.argv.slice(2);
if (!signTool || !payloadFile) {
	console.error('usage: verify-signatures.js SIGN_TOOL PAYLOAD_FILE');
	process.exit(2);
}
const payloadText = fs.readFileSync(payloadFile, 'utf8').trim();

// Secrets as whrun would hold them: Standard Webhooks' whsec_<base64> form
// and plain text ones. Fresh for every run.
const secrets = {
	whsec: 'whsec_' + crypto.randomBytes(24).toString('base64'),
	whsecNew: 'whsec_' + crypto.randomBytes(32).toString('base64'),
	raw: 'raw-' + crypto.randomBytes(12).toString('hex'),
	old: 'old-secret-' + crypto.randomBytes(8).toString('hex'),
	new: 'new-secret-' + crypto.randomBytes(8).toString('hex'),
	stripe: 'whsec_' + crypto.randomBytes(16).toString('hex'), // Stripe's form: used as text
	wrong: 'wrong-' + crypto.randomBytes(8).toString('hex'),
	wrongWhsec: 'whsec_' + crypto.randomBytes(24).toString('base64'),
};

function sign(scheme, secretValues, options = {}) {
	const env = { ...process.env };
	const args = [];
	if (options.kind) args.push('--kind', options.kind);
	if (options.header) args.push('--header', options.header);
	args.push(scheme, payloadFile);
	secretValues.forEach((value, i) => {
		env[`WH_SIGN_TEST_SECRET_${i}`] = value;
		args.push(`\${env:WH_SIGN_TEST_SECRET_${i}}`);
	});
	return JSON.parse(execFileSync(signTool, args, { env, encoding: 'utf8' }));
}

// A loopback receiver: what a real server sees (raw body, each field line).
function startServer() {
	return new Promise((resolve) => {
		const waiting = [];
		const server = http.createServer((req, res) => {
			const chunks = [];
			req.on('data', (c) => chunks.push(c));
			req.on('end', () => {
				res.writeHead(204);
				res.end();
				waiting.shift()({
					body: Buffer.concat(chunks).toString('utf8'),
					distinct: req.headersDistinct,
					joined: req.headers,
				});
			});
		});
		server.listen(0, '127.0.0.1', () => resolve({ server, waiting }));
	});
}

function deliver(receiver, request) {
	const headers = {};
	for (const [name, value] of request.headers) {
		// Repeated names become arrays, which Node sends as one line each.
		if (headers[name] === undefined) headers[name] = value;
		else headers[name] = [].concat(headers[name], value);
	}
	return new Promise((resolve, reject) => {
		receiver.waiting.push(resolve);
		const req = http.request(
			{ host: '127.0.0.1', port: receiver.server.address().port, method: 'POST', path: '/', headers },
			(res) => res.resume(),
		);
		req.on('error', reject);
		req.end(request.body);
	});
}

function first(received, name) {
	const values = received.distinct[name.toLowerCase()];
	return values ? values[0] : undefined;
}

function standardHeaders(received) {
	return {
		'webhook-id': first(received, 'webhook-id'),
		'webhook-timestamp': first(received, 'webhook-timestamp'),
		'webhook-signature': first(received, 'webhook-signature'),
	};
}

function throwsNot(fn) {
	try {
		fn();
		return true;
	} catch (e) {
		return false;
	}
}

// Verifiers: (secret, received) -> Promise<boolean>. Each holds one secret.
const verifiers = {
	standardwebhooks: async (secret, received) => {
		const wh = secret.startsWith('whsec_')
			? new StandardWebhook(secret)
			: new StandardWebhook(Buffer.from(secret, 'utf8'), { format: 'raw' });
		return throwsNot(() => wh.verify(received.body, standardHeaders(received)));
	},
	svix: async (secret, received) => {
		// svix takes whsec_<base64> secrets; a raw secret is its base64.
		const svixSecret = secret.startsWith('whsec_')
			? secret
			: 'whsec_' + Buffer.from(secret, 'utf8').toString('base64');
		return throwsNot(() => new SvixWebhook(svixSecret).verify(received.body, standardHeaders(received)));
	},
	octokit: async (secret, received) => {
		const { verify } = await import('@octokit/webhooks-methods');
		for (const value of received.distinct['x-hub-signature-256'] || []) {
			if (await verify(secret, received.body, value)) return true;
		}
		return false;
	},
	stripe: async (secret, received) => {
		const header = first(received, 'stripe-signature');
		if (!header) return false;
		let t;
		const v1 = [];
		for (const item of header.split(',')) {
			const at = item.indexOf('=');
			const key = item.slice(0, at);
			const value = item.slice(at + 1);
			if (key === 't') t = value;
			else if (key === 'v1') v1.push(value);
		}
		if (!t || Math.abs(Date.now() / 1000 - Number(t)) > 300) return false;
		const expected = Buffer.from(
			crypto.createHmac('sha256', secret).update(`${t}.${received.body}`, 'utf8').digest('hex'),
		);
		return v1.some((s) => {
			const got = Buffer.from(s);
			return got.length === expected.length && crypto.timingSafeEqual(got, expected);
		});
	},
	hmacHex: (headerName) => async (secret, received) => {
		const header = first(received, headerName);
		if (!header) return false;
		const expected = Buffer.from(
			crypto.createHmac('sha256', secret).update(received.body, 'utf8').digest('hex'),
		);
		return header.split(',').some((s) => {
			const got = Buffer.from(s);
			return got.length === expected.length && crypto.timingSafeEqual(got, expected);
		});
	},
};

const cases = [
	{ scheme: 'standard-webhooks', secrets: [secrets.whsec], verifiers: ['standardwebhooks', 'svix'] },
	{ scheme: 'standard-webhooks', secrets: [secrets.raw], verifiers: ['standardwebhooks', 'svix'] },
	{ scheme: 'standard-webhooks', secrets: [secrets.whsec, secrets.whsecNew], verifiers: ['standardwebhooks', 'svix'] },
	{ scheme: 'standard-webhooks', secrets: [secrets.whsec, secrets.raw], verifiers: ['standardwebhooks', 'svix'] },
	{ scheme: 'standard-webhooks', secrets: [secrets.raw], kind: 'raw', verifiers: ['standardwebhooks', 'svix'] },
	{ scheme: 'standard-webhooks', secrets: [secrets.whsec], kind: 'slack', verifiers: ['standardwebhooks', 'svix'] },
	{ scheme: 'github', secrets: [secrets.raw], verifiers: ['octokit'] },
	{ scheme: 'github', secrets: [secrets.whsec], verifiers: ['octokit'] },
	{ scheme: 'github', secrets: [secrets.old, secrets.new], verifiers: ['octokit'] },
	{ scheme: 'stripe', secrets: [secrets.stripe], verifiers: ['stripe'] },
	{ scheme: 'stripe', secrets: [secrets.old, secrets.new], verifiers: ['stripe'] },
	{ scheme: 'hmac-hex', secrets: [secrets.raw], verifiers: ['hmacHex'] },
	{ scheme: 'hmac-hex', secrets: [secrets.old, secrets.new], header: 'X-Pulumi-Webhook-Signature', verifiers: ['hmacHex'] },
	{ scheme: 'none', secrets: [], verifiers: [] },
];

const signatureHeaders = ['webhook-signature', 'x-hub-signature-256', 'stripe-signature', 'x-webhook-signature'];

function tamperBody(received) {
	// One character changed, length kept: a digit or letter flipped near the end.
	const body = received.body;
	const at = body.length - 2;
	const c = body[at] === '0' ? '1' : '0';
	return { ...received, body: body.slice(0, at) + c + body.slice(at + 1) };
}

function tamperTimestamp(received) {
	const distinct = { ...received.distinct };
	distinct['webhook-timestamp'] = [String(Number(first(received, 'webhook-timestamp')) - 1)];
	return { ...received, distinct };
}

async function main() {
	const receiver = await startServer();
	try {
		for (const c of cases) {
			const label = `${c.scheme}${c.kind ? ` (kind ${c.kind})` : ''} with ${c.secrets.length} secret(s)`;
			const request = sign(c.scheme, c.secrets, c);
			const received = await deliver(receiver, request);

			check(`${label}: body arrives unchanged`, received.body === request.body);
			check(`${label}: webhook-id is the message id`, first(received, 'webhook-id') === request.id);
			if ((c.kind || 'standard') === 'standard') {
				check(`${label}: data is the payload byte for byte`,
					received.body.endsWith(`,"data":${payloadText}}`));
				check(`${label}: body is JSON`, throwsNot(() => JSON.parse(received.body)));
			} else if (c.kind === 'raw') {
				check(`${label}: raw body is the payload`, received.body === payloadText);
			} else if (c.kind === 'slack') {
				const parsed = JSON.parse(received.body);
				check(`${label}: slack text`, Object.keys(parsed).join() === 'text' &&
					parsed.text.includes('clusters_deployed'));
			}
			if (c.scheme === 'none') {
				check(`${label}: no signature header`,
					signatureHeaders.every((h) => received.distinct[h] === undefined));
				continue;
			}
			if (c.scheme === 'github' && c.secrets.length === 2) {
				check(`${label}: one X-Hub-Signature-256 field line per secret`,
					(received.distinct['x-hub-signature-256'] || []).length === 2);
			}
			if (c.scheme === 'github' && c.secrets.length === 1) {
				// A stock receiver reads req.headers: a single plain value.
				const { verify } = await import('@octokit/webhooks-methods');
				check(`${label}: octokit verify on req.headers`,
					await verify(c.secrets[0], received.body, received.joined['x-hub-signature-256']));
			}
			for (const name of c.verifiers) {
				const verifier = name === 'hmacHex'
					? verifiers.hmacHex(c.header || 'X-Webhook-Signature')
					: verifiers[name];
				for (const [i, secret] of c.secrets.entries()) {
					const holder = c.secrets.length === 2 ? `only secret #${i + 1}` : 'the secret';
					check(`${label}: ${name} accepts with ${holder}`, await verifier(secret, received));
					check(`${label}: ${name} refuses a tampered body with ${holder}`,
						!(await verifier(secret, tamperBody(received))));
				}
				const wrong = c.scheme === 'standard-webhooks' ? secrets.wrongWhsec : secrets.wrong;
				check(`${label}: ${name} refuses a wrong secret`, !(await verifier(wrong, received)));
				if (c.scheme === 'standard-webhooks') {
					check(`${label}: ${name} refuses a changed timestamp`,
						!(await verifier(c.secrets[0], tamperTimestamp(received))));
				}
			}
		}
	} finally {
		receiver.server.close();
	}
	console.log(`${passed} passed, ${failed} failed`);
	process.exitCode = failed || !passed ? 1 : 0;
}

main().catch((e) => {
	console.error(e);
	process.exitCode = 1;
});
