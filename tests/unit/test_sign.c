/*
 * test_sign: known-answer tests of every signature scheme, with one and two
 * secrets. Expected values were computed independently of whrun, with the
 * openssl command line shown beside each vector.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sign.h"
#include "util.h"
#include "banned.h"

/* The Standard Webhooks spec's published test vector
 * (standard-webhooks/standard-webhooks, libraries' test suites). */
#define SW_SECRET    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_ID	     "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_TIMESTAMP 1614265330
#define SW_BODY	     "{\"test\": 2432232314}"
#define SW_EXPECTED  "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
/* printf 'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}' |
 *   openssl dgst -sha256 -hmac "raw secret bytes" -binary | base64 */
#define SW_RAW_EXPECTED "v1,jPBQS4kBx9tx6Zh0mKZSManT17RyM1v2lZCGywG8F5E="

/* GitHub's documented example: printf 'Hello, World!' |
 *   openssl dgst -sha256 -hmac "It's a Secret to Everybody" */
#define GH_SECRET   "It's a Secret to Everybody"
#define GH_BODY	    "Hello, World!"
#define GH_EXPECTED "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
/* printf 'Hello, World!' | openssl dgst -sha256 -hmac "second-secret" */
#define GH_EXPECTED_2 "sha256=8dbfbbd8168df4331bec37f53eddc9079d380a470e6ccc4cf919d3869c7d6f6d"

/* printf '1614265330.{"id":"evt_1"}' | openssl dgst -sha256 -hmac "whsec_stripe_test_secret"
 * printf '1614265330.{"id":"evt_1"}' | openssl dgst -sha256 -hmac "old-secret" */
#define ST_BODY "{\"id\":\"evt_1\"}"
#define ST_V1_A "f1a2c10daafd99424fbd0a210220688f4cc8be342ec1dd790b79567170a36c04"
#define ST_V1_B "b83bbfe5c9f115b6b1d1788f06a70528eada0c1ca42a862a4f31976b2266f12f"

/* printf '{"a":1}' | openssl dgst -sha256 -hmac k1   (and -hmac k2) */
#define HH_BODY "{\"a\":1}"
#define HH_K1	"47218758515756d868e172a5e0379a167fb10e308111f0ef13b49d5d67d6719b"
#define HH_K2	"d27725c0b149b0af2d73c1bcba4e7beb775e173ca4fc1bf2d1e28a67ff2a6700"

struct signed_headers {
	struct wh_header *items;
	size_t count;
	int error;
	struct wh_error err;
};

static struct signed_headers sign(enum wh_signature scheme, const char *secret1,
				  const char *secret2, const char *id, int64_t timestamp,
				  const char *body, const char *header_name)
{
	const char *secrets[2] = {secret1, secret2};
	struct wh_sign_request req = {
	    .scheme = scheme,
	    .secrets = secrets,
	    .nsecrets = secret2	  ? 2
			: secret1 ? 1
				  : 0,
	    .message_id = id,
	    .timestamp = timestamp,
	    .body = body,
	    .body_len = body ? strlen(body) : 0,
	    .header_name = header_name,
	};
	struct signed_headers out = {NULL, 0, 0, WH_ERROR_INIT};

	out.error = wh_sign_headers(&out.items, &out.count, &req, &out.err);
	return out;
}

static void release(struct signed_headers *h)
{
	wh_sign_headers_free(h->items, h->count);
}

static void test_standard_webhooks(void)
{
	struct signed_headers h = sign(WH_SIGNATURE_STANDARD_WEBHOOKS, SW_SECRET, NULL, SW_ID,
				       SW_TIMESTAMP, SW_BODY, NULL);

	CHECK("spec vector signs", h.error == 0 && h.count == 1);
	if (h.count == 1) {
		CHECK_STR("header name", h.items[0].name, "webhook-signature");
		CHECK_STR("spec vector", h.items[0].value, SW_EXPECTED);
	}
	release(&h);

	h = sign(WH_SIGNATURE_STANDARD_WEBHOOKS, "raw secret bytes", NULL, SW_ID, SW_TIMESTAMP,
		 SW_BODY, NULL);
	CHECK("raw secret signs", h.error == 0 && h.count == 1);
	if (h.count == 1)
		CHECK_STR("raw secret used as bytes", h.items[0].value, SW_RAW_EXPECTED);
	release(&h);

	/* Rotation: one header, both signatures, space-separated, in order. */
	h = sign(WH_SIGNATURE_STANDARD_WEBHOOKS, SW_SECRET, "raw secret bytes", SW_ID, SW_TIMESTAMP,
		 SW_BODY, NULL);
	CHECK("two secrets, one header", h.error == 0 && h.count == 1);
	if (h.count == 1)
		CHECK_STR("two signatures", h.items[0].value, SW_EXPECTED " " SW_RAW_EXPECTED);
	release(&h);

	/* Every input is signed: a changed id, timestamp or body changes it. */
	h = sign(WH_SIGNATURE_STANDARD_WEBHOOKS, SW_SECRET, NULL, "msg_p5jXN8AQM9LWM0D4loKWxJel",
		 SW_TIMESTAMP, SW_BODY, NULL);
	CHECK("id is signed", h.count == 1 && strcmp(h.items[0].value, SW_EXPECTED) != 0);
	release(&h);
	h = sign(WH_SIGNATURE_STANDARD_WEBHOOKS, SW_SECRET, NULL, SW_ID, SW_TIMESTAMP + 1, SW_BODY,
		 NULL);
	CHECK("timestamp is signed", h.count == 1 && strcmp(h.items[0].value, SW_EXPECTED) != 0);
	release(&h);
	h = sign(WH_SIGNATURE_STANDARD_WEBHOOKS, SW_SECRET, NULL, SW_ID, SW_TIMESTAMP,
		 "{\"test\": 2432232315}", NULL);
	CHECK("body is signed", h.count == 1 && strcmp(h.items[0].value, SW_EXPECTED) != 0);
	release(&h);
}

static void test_whsec_keys(void)
{
	unsigned char *key = NULL;
	size_t len = 0;
	struct wh_error err = WH_ERROR_INIT;
	/* printf 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' | base64 -d | xxd -p */
	static const unsigned char want[] = {0x31, 0xf2, 0x90, 0xf6, 0xbf, 0x06, 0x29, 0x8a,
					     0xab, 0x4f, 0x08, 0xd4, 0x3c, 0x3f, 0x08, 0x2c,
					     0xf6, 0x48, 0xa3, 0x62, 0xda, 0x2d, 0xa4, 0xb0};

	CHECK("whsec decodes",
	      wh_sign_key(&key, &len, WH_SIGNATURE_STANDARD_WEBHOOKS, SW_SECRET, &err) == 0);
	CHECK("whsec key bytes", key && len == sizeof(want) && wh_sign_equal(key, want, len));
	wh_sign_key_free(key, len);

	/* Unpadded and padded base64 give the same key ("aGVsbG8" = "hello"). */
	CHECK("unpadded",
	      wh_sign_key(&key, &len, WH_SIGNATURE_STANDARD_WEBHOOKS, "whsec_aGVsbG8", &err) == 0 &&
		  len == 5 && memcmp(key, "hello", 5) == 0);
	wh_sign_key_free(key, len);
	CHECK("padded", wh_sign_key(&key, &len, WH_SIGNATURE_STANDARD_WEBHOOKS,
				    "whsec_aGVsbG8=", &err) == 0 &&
			    len == 5 && memcmp(key, "hello", 5) == 0);
	wh_sign_key_free(key, len);

	/* Other schemes use a whsec_ secret as text (Stripe's are whsec_...). */
	CHECK("stripe keeps whsec_ text",
	      wh_sign_key(&key, &len, WH_SIGNATURE_STRIPE, "whsec_aGVsbG8", &err) == 0 &&
		  len == 13 && memcmp(key, "whsec_aGVsbG8", 13) == 0);
	wh_sign_key_free(key, len);

	CHECK("bad base64 refused", wh_sign_key(&key, &len, WH_SIGNATURE_STANDARD_WEBHOOKS,
						"whsec_not base64!", &err) == WH_ECONFIG &&
					!key);
	CHECK("error does not show the secret", strstr(err.message, "not base64!") == NULL);
	CHECK("empty whsec refused", wh_sign_key(&key, &len, WH_SIGNATURE_STANDARD_WEBHOOKS,
						 "whsec_", &err) == WH_ECONFIG);
	CHECK("truncated base64 refused", wh_sign_key(&key, &len, WH_SIGNATURE_STANDARD_WEBHOOKS,
						      "whsec_aGVsb", &err) == WH_ECONFIG);
	CHECK("empty secret refused",
	      wh_sign_key(&key, &len, WH_SIGNATURE_GITHUB, "", &err) == WH_ECONFIG);
}

static void test_github(void)
{
	struct signed_headers h =
	    sign(WH_SIGNATURE_GITHUB, GH_SECRET, NULL, "msg_x", 1, GH_BODY, NULL);

	CHECK("github signs", h.error == 0 && h.count == 1);
	if (h.count == 1) {
		CHECK_STR("header name", h.items[0].name, "X-Hub-Signature-256");
		CHECK_STR("GitHub's documented example", h.items[0].value, GH_EXPECTED);
	}
	release(&h);

	/* The id and timestamp are not part of GitHub's signature. */
	h = sign(WH_SIGNATURE_GITHUB, GH_SECRET, NULL, "msg_y", 2, GH_BODY, NULL);
	CHECK("body only", h.count == 1 && strcmp(h.items[0].value, GH_EXPECTED) == 0);
	release(&h);

	/* Rotation: one field line per secret, in the order of the list. */
	h = sign(WH_SIGNATURE_GITHUB, GH_SECRET, "second-secret", "msg_x", 1, GH_BODY, NULL);
	CHECK("two field lines", h.error == 0 && h.count == 2);
	if (h.count == 2) {
		CHECK_STR("first name", h.items[0].name, "X-Hub-Signature-256");
		CHECK_STR("second name", h.items[1].name, "X-Hub-Signature-256");
		CHECK_STR("first secret's", h.items[0].value, GH_EXPECTED);
		CHECK_STR("second secret's", h.items[1].value, GH_EXPECTED_2);
	}
	release(&h);
}

static void test_stripe(void)
{
	struct signed_headers h = sign(WH_SIGNATURE_STRIPE, "whsec_stripe_test_secret", NULL,
				       "msg_x", 1614265330, ST_BODY, NULL);

	CHECK("stripe signs", h.error == 0 && h.count == 1);
	if (h.count == 1) {
		CHECK_STR("header name", h.items[0].name, "Stripe-Signature");
		CHECK_STR("one v1", h.items[0].value, "t=1614265330,v1=" ST_V1_A);
	}
	release(&h);

	h = sign(WH_SIGNATURE_STRIPE, "whsec_stripe_test_secret", "old-secret", "msg_x", 1614265330,
		 ST_BODY, NULL);
	CHECK("two secrets, one header", h.error == 0 && h.count == 1);
	if (h.count == 1)
		CHECK_STR("two v1", h.items[0].value, "t=1614265330,v1=" ST_V1_A ",v1=" ST_V1_B);
	release(&h);
}

static void test_hmac_hex(void)
{
	struct signed_headers h =
	    sign(WH_SIGNATURE_HMAC_HEX, "k1", NULL, "msg_x", 1, HH_BODY, NULL);

	CHECK("hmac-hex signs", h.error == 0 && h.count == 1);
	if (h.count == 1) {
		CHECK_STR("default header", h.items[0].name, "X-Webhook-Signature");
		CHECK_STR("lowercase hex", h.items[0].value, HH_K1);
	}
	release(&h);

	h = sign(WH_SIGNATURE_HMAC_HEX, "k1", "k2", "msg_x", 1, HH_BODY,
		 "X-Pulumi-Webhook-Signature");
	CHECK("two secrets", h.error == 0 && h.count == 1);
	if (h.count == 1) {
		CHECK_STR("named header", h.items[0].name, "X-Pulumi-Webhook-Signature");
		CHECK_STR("comma-separated", h.items[0].value, HH_K1 "," HH_K2);
	}
	release(&h);
}

/* HMAC keys of a whole SHA-256 block, one byte more (hashed first), and
 * RFC 4231's 131 bytes: K=$(printf 'k%.0s' $(seq N)); printf '{"a":1}' |
 *   openssl dgst -sha256 -hmac "$K" */
static void test_key_lengths(void)
{
	static const struct {
		size_t len;
		const char *hex;
	} cases[] = {
	    {64, "a7acd3fff15223e957d04cb8251d1e5894fd19a2e07d7ee1aac6ecb8f5c9060f"},
	    {65, "693deec197e66b7639f43e56f09994125e4cfabdde66ed242618615119b20c62"},
	    {131, "130373d2f73f0dc1463c742a6491bae3f96f6cbebf9c91969669494c8fe1a546"},
	};
	char key[132];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct signed_headers h;

		memset(key, 'k', cases[i].len);
		key[cases[i].len] = '\0';
		h = sign(WH_SIGNATURE_HMAC_HEX, key, NULL, "msg_x", 1, HH_BODY, NULL);
		CHECK("long key signs", h.error == 0 && h.count == 1);
		if (h.count == 1)
			CHECK_STR("long key digest", h.items[0].value, cases[i].hex);
		release(&h);
	}
}

static void test_none_and_errors(void)
{
	struct signed_headers h = sign(WH_SIGNATURE_NONE, NULL, NULL, "msg_x", 1, HH_BODY, NULL);
	const char *three[3] = {"a", "b", "c"};
	struct wh_sign_request req = {WH_SIGNATURE_HMAC_HEX, three, 3, "msg_x", 1, "x", 1, NULL};
	struct wh_header *items = NULL;
	size_t count = 7;
	struct wh_error err = WH_ERROR_INIT;

	CHECK("none: no header", h.error == 0 && h.count == 0 && h.items == NULL);
	release(&h);

	h = sign(WH_SIGNATURE_GITHUB, NULL, NULL, "msg_x", 1, HH_BODY, NULL);
	CHECK("signed scheme without secret", h.error == WH_ECONFIG && h.count == 0 && !h.items);
	release(&h);
	CHECK("three secrets refused",
	      wh_sign_headers(&items, &count, &req, &err) == WH_ECONFIG && !items && count == 0);
	h = sign(WH_SIGNATURE_STANDARD_WEBHOOKS, SW_SECRET, "whsec_!!", SW_ID, 1, SW_BODY, NULL);
	CHECK("a bad second secret fails the whole", h.error == WH_ECONFIG && !h.items);
	release(&h);

	/* An empty body is still signed (e.g. a raw kind's empty payload). */
	h = sign(WH_SIGNATURE_HMAC_HEX, "k1", NULL, "msg_x", 1, "", NULL);
	/* printf '' | openssl dgst -sha256 -hmac k1 */
	CHECK("empty body",
	      h.count == 1 &&
		  strcmp(h.items[0].value, "e6f06a89ac679df9f3f5774369cac0d555f1963cf3b15c4b"
					   "7fbf4f7e2c428a91") == 0);
	release(&h);
}

static void test_header_names(void)
{
	CHECK("none has no header", wh_sign_header_name(WH_SIGNATURE_NONE, NULL) == NULL);
	CHECK_STR("standard", wh_sign_header_name(WH_SIGNATURE_STANDARD_WEBHOOKS, NULL),
		  "webhook-signature");
	CHECK_STR("github", wh_sign_header_name(WH_SIGNATURE_GITHUB, "X-Other"),
		  "X-Hub-Signature-256");
	CHECK_STR("stripe", wh_sign_header_name(WH_SIGNATURE_STRIPE, NULL), "Stripe-Signature");
	CHECK_STR("hmac-hex default", wh_sign_header_name(WH_SIGNATURE_HMAC_HEX, NULL),
		  "X-Webhook-Signature");
	CHECK_STR("hmac-hex named", wh_sign_header_name(WH_SIGNATURE_HMAC_HEX, "X-Sig"), "X-Sig");
	CHECK_STR("fixed names", wh_sign_fixed_header_names[1], "x-hub-signature-256");
	CHECK("fixed names end", wh_sign_fixed_header_names[3] == NULL);
}

int main(void)
{
	test_standard_webhooks();
	test_whsec_keys();
	test_github();
	test_stripe();
	test_hmac_hex();
	test_key_lengths();
	test_none_and_errors();
	test_header_names();
	return check_done();
}
