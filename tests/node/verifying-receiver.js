#!/usr/bin/env node
// tests/node/verifying-receiver.js: a webhook receiver that verifies every
// request with the receivers' own libraries, the way a real service would.
//
//   node verifying-receiver.js CONFIG.json LOG.jsonl
//
// CONFIG maps a path to what that endpoint expects:
//   {"/sw": {"scheme": "standard-webhooks", "secrets": ["whsec_..."]}, ...}
// With several secrets (a rotation), each one ALONE must verify: a receiver
// that holds only the old secret and one that holds only the new one.
//   standard-webhooks  npm standardwebhooks and npm svix
//   github             @octokit/webhooks-methods verify() on each header line
//   stripe             Stripe's documented scheme, computed with node:crypto
//   hmac-hex           node:crypto HMAC-SHA256 of the body, lowercase hex
//   none               no signature header at all
// Answers 200 when every check passed, 401 otherwise, and appends one JSON
// line per request to LOG (path, method, headers, body, checks, ok).
// Prints "PORT <n>" once it listens on 127.0.0.1.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const { Webhook: StandardWebhook } = require('standardwebhooks');
const { Webhook: SvixWebhook } = require('svix');

const [configFile, logFile] = process.argv.slice(2);
const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));

function hmac(secret, text, encoding) {
	return crypto.createHmac('sha256', secret).update(text).digest(encoding);
}

function safeEqual(a, b) {
	const x = Buffer.from(a);
	const y = Buffer.from(b);
	return x.length === y.length && crypto.timingSafeEqual(x, y);
}

async function verify(endpoint, req, body) {
	const checks = {};
	const h = req.headers;
	for (const [i, secret] of endpoint.secrets.entries()) {
		switch (endpoint.scheme) {
		case 'standard-webhooks': {
			const headers = {
				'webhook-id': h['webhook-id'],
				'webhook-timestamp': h['webhook-timestamp'],
				'webhook-signature': h['webhook-signature'],
			};
			try {
				new StandardWebhook(secret).verify(body, headers);
				checks[`standardwebhooks#${i}`] = true;
			} catch (e) {
				checks[`standardwebhooks#${i}`] = false;
			}
			try {
				new SvixWebhook(secret).verify(body, headers);
				checks[`svix#${i}`] = true;
			} catch (e) {
				checks[`svix#${i}`] = false;
			}
			break;
		}
		case 'github': {
			const { verify: octokitVerify } = await import('@octokit/webhooks-methods');
			const lines = req.headersDistinct['x-hub-signature-256'] || [];
			let ok = false;
			for (const line of lines)
				if (await octokitVerify(secret, body, line)) ok = true;
			checks[`octokit#${i}`] = ok;
			break;
		}
		case 'stripe': {
			const parts = (h['stripe-signature'] || '').split(',');
			const t = (parts.find((p) => p.startsWith('t=')) || '').slice(2);
			const expected = hmac(secret, `${t}.${body}`, 'hex');
			checks[`stripe#${i}`] = t !== '' && parts.some((p) => p.startsWith('v1=') && safeEqual(p.slice(3), expected));
			break;
		}
		case 'hmac-hex': {
			const value = h[(endpoint.header || 'x-webhook-signature').toLowerCase()] || '';
			const expected = hmac(secret, body, 'hex');
			checks[`hmac-hex#${i}`] = value.split(',').some((v) => safeEqual(v, expected));
			break;
		}
		default:
			checks.scheme = false;
		}
	}
	if (endpoint.scheme === 'none') {
		checks.unsigned = !h['webhook-signature'] && !h['x-hub-signature-256'] && !h['stripe-signature'];
	}
	return checks;
}

const server = http.createServer((req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', async () => {
		const body = Buffer.concat(chunks).toString('utf8');
		const path = req.url.split('?')[0];
		const endpoint = config[path];
		const checks = endpoint ? await verify(endpoint, req, body) : { known_path: false };
		const ok = Object.values(checks).length > 0 && Object.values(checks).every(Boolean);
		fs.appendFileSync(logFile, JSON.stringify({
			path, method: req.method, headers: req.headers, body, checks, ok,
		}) + '\n');
		res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' });
		res.end(JSON.stringify({ ok }));
	});
});
server.listen(0, '127.0.0.1', () => {
	console.log(`PORT ${server.address().port}`);
});
setTimeout(() => server.close(() => process.exit(0)), 300000).unref();
