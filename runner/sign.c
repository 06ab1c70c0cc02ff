/* sign: HMAC-SHA256 signature headers (see sign.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "sign.h"
#include "util.h"
#include "banned.h"

#define MAC_SIZE 32
/* One header value: two base64 or hex digests and their framing. */
#define HEADER_VALUE_CAP 512

const char *const wh_sign_fixed_header_names[] = {
    "webhook-signature",
    "x-hub-signature-256",
    "stripe-signature",
    NULL,
};

const char *wh_sign_header_name(enum wh_signature scheme, const char *header_name)
{
	switch (scheme) {
	case WH_SIGNATURE_STANDARD_WEBHOOKS:
		return "webhook-signature";
	case WH_SIGNATURE_GITHUB:
		return "X-Hub-Signature-256";
	case WH_SIGNATURE_STRIPE:
		return "Stripe-Signature";
	case WH_SIGNATURE_HMAC_HEX:
		return header_name ? header_name : WH_DEFAULT_SIGNATURE_HEADER;
	case WH_SIGNATURE_NONE:
		break;
	}
	return NULL;
}

int wh_sign_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

static int base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard base64 with or without '=' padding into out (at least
 * len * 3 / 4 + 3 bytes); returns the decoded length or -1. */
static long base64_decode(unsigned char *out, const char *text, size_t len)
{
	uint32_t acc = 0;
	size_t n = 0, bits = 0, pad = 0;

	while (len && text[len - 1] == '=' && pad < 2)
		len--, pad++;
	if (pad && (len + pad) % 4 != 0)
		return -1;
	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = base64_value((unsigned char)text[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* Leftover bits must be zero, as encoders write them. */
	if (acc & ((1u << bits) - 1))
		return -1;
	return (long)n;
}

int wh_sign_key(unsigned char **key, size_t *key_len, enum wh_signature scheme, const char *secret,
		struct wh_error *err)
{
	size_t len = secret ? strlen(secret) : 0, prefix = strlen(WH_SIGN_WHSEC_PREFIX);
	long decoded;

	*key = NULL;
	*key_len = 0;
	if (!len)
		return wh_error_set(err, WH_ECONFIG, "the secret is empty");
	if (!(*key = malloc(len + 3)))
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	if (scheme != WH_SIGNATURE_STANDARD_WEBHOOKS ||
	    strncmp(secret, WH_SIGN_WHSEC_PREFIX, prefix)) {
		memcpy(*key, secret, len);
		*key_len = len;
		return 0;
	}
	decoded = base64_decode(*key, secret + prefix, len - prefix);
	if (decoded <= 0) {
		wh_sign_key_free(*key, len + 3);
		*key = NULL;
		return wh_error_set(err, WH_ECONFIG,
				    "a secret starting with " WH_SIGN_WHSEC_PREFIX
				    " must continue with non-empty base64");
	}
	*key_len = (size_t)decoded;
	return 0;
}

void wh_sign_key_free(unsigned char *key, size_t key_len)
{
	if (key) {
		wh_wipe(key, key_len);
		free(key);
	}
}

struct piece {
	const void *data;
	size_t len;
};

/* HMAC-SHA256 of the concatenated pieces under secret's key. */
static int hmac_sha256(unsigned char mac[MAC_SIZE], enum wh_signature scheme, const char *secret,
		       const struct piece *pieces, size_t npieces, struct wh_error *err)
{
	EVP_MAC *algorithm = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	unsigned char *key = NULL;
	size_t key_len = 0, mac_len = 0;
	int error;

	if ((error = wh_sign_key(&key, &key_len, scheme, secret, err)) < 0)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!(algorithm = EVP_MAC_fetch(NULL, "HMAC", NULL)) ||
	    !(ctx = EVP_MAC_CTX_new(algorithm)) || !EVP_MAC_init(ctx, key, key_len, params)) {
		error = wh_error_set(err, WH_EINTERNAL, "cannot set up HMAC-SHA256");
		goto out;
	}
	for (size_t i = 0; i < npieces; i++) {
		if (!EVP_MAC_update(ctx, pieces[i].data, pieces[i].len)) {
			error = wh_error_set(err, WH_EINTERNAL, "HMAC-SHA256 failed");
			goto out;
		}
	}
	if (!EVP_MAC_final(ctx, mac, &mac_len, MAC_SIZE) || mac_len != MAC_SIZE)
		error = wh_error_set(err, WH_EINTERNAL, "HMAC-SHA256 failed");
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(algorithm);
	wh_sign_key_free(key, key_len);
	return error;
}

static int add_hex(struct wh_buf *buf, const unsigned char *bytes, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char hex[2 * MAC_SIZE];

	for (size_t i = 0; i < len && i < MAC_SIZE; i++) {
		hex[2 * i] = digits[bytes[i] >> 4];
		hex[2 * i + 1] = digits[bytes[i] & 15];
	}
	return wh_buf_add(buf, hex, 2 * (len < MAC_SIZE ? len : MAC_SIZE));
}

static int add_base64(struct wh_buf *buf, const unsigned char *bytes, size_t len)
{
	unsigned char text[4 * ((MAC_SIZE + 2) / 3) + 1];
	int n = EVP_EncodeBlock(text, bytes, (int)(len < MAC_SIZE ? len : MAC_SIZE));

	return n < 0 ? WH_EINTERNAL : wh_buf_add(buf, text, (size_t)n);
}

static int push_header(struct wh_header *headers, size_t *count, const char *name,
		       struct wh_buf *value, struct wh_error *err)
{
	struct wh_header *h = &headers[*count];

	h->name = strdup(name);
	h->value = wh_buf_detach(value);
	if (!h->name || !h->value) {
		free(h->name);
		free(h->value);
		h->name = h->value = NULL;
		return wh_error_set(err, WH_ENOMEM, "out of memory");
	}
	(*count)++;
	return 0;
}

int wh_sign_headers(struct wh_header **out, size_t *out_count, const struct wh_sign_request *req,
		    struct wh_error *err)
{
	struct wh_header *headers = NULL;
	struct wh_buf value = WH_BUF_INIT(HEADER_VALUE_CAP);
	unsigned char mac[MAC_SIZE];
	char timestamp[24];
	struct piece pieces[5];
	size_t npieces = 0, count = 0;
	const char *name = wh_sign_header_name(req->scheme, req->header_name);
	int error = 0;

	*out = NULL;
	*out_count = 0;
	if (!name)
		return 0;
	if (req->nsecrets < 1 || req->nsecrets > WH_MAX_SECRETS)
		return wh_error_set(err, WH_ECONFIG,
				    "signing with %s needs one or %d secrets, not %zu", name,
				    WH_MAX_SECRETS, req->nsecrets);
	snprintf(timestamp, sizeof(timestamp), "%" PRId64, req->timestamp);
	if (!(headers = calloc(WH_SIGN_MAX_HEADERS, sizeof(*headers)))) {
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
		goto out;
	}

	/* What is signed, without copying the body. */
	if (req->scheme == WH_SIGNATURE_STANDARD_WEBHOOKS) {
		const char *id = req->message_id ? req->message_id : "";
		pieces[npieces++] = (struct piece){id, strlen(id)};
		pieces[npieces++] = (struct piece){".", 1};
	}
	if (req->scheme == WH_SIGNATURE_STANDARD_WEBHOOKS || req->scheme == WH_SIGNATURE_STRIPE) {
		pieces[npieces++] = (struct piece){timestamp, strlen(timestamp)};
		pieces[npieces++] = (struct piece){".", 1};
	}
	pieces[npieces++] =
	    (struct piece){req->body ? req->body : "", req->body ? req->body_len : 0};

	if (req->scheme == WH_SIGNATURE_STRIPE)
		error = wh_buf_addf(&value, "t=%s", timestamp);
	for (size_t i = 0; i < req->nsecrets && error >= 0; i++) {
		if ((error = hmac_sha256(mac, req->scheme, req->secrets[i], pieces, npieces, err)) <
		    0)
			goto out;
		switch (req->scheme) {
		case WH_SIGNATURE_STANDARD_WEBHOOKS:
			if (i)
				error = wh_buf_adds(&value, " ");
			if (error >= 0)
				error = wh_buf_adds(&value, "v1,");
			if (error >= 0)
				error = add_base64(&value, mac, sizeof(mac));
			break;
		case WH_SIGNATURE_GITHUB:
			error = wh_buf_adds(&value, "sha256=");
			if (error >= 0)
				error = add_hex(&value, mac, sizeof(mac));
			/* one field line per secret (see sign.h) */
			if (error >= 0 &&
			    (error = push_header(headers, &count, name, &value, err)) < 0)
				goto out;
			break;
		case WH_SIGNATURE_STRIPE:
			error = wh_buf_adds(&value, ",v1=");
			if (error >= 0)
				error = add_hex(&value, mac, sizeof(mac));
			break;
		case WH_SIGNATURE_HMAC_HEX:
			if (i)
				error = wh_buf_adds(&value, ",");
			if (error >= 0)
				error = add_hex(&value, mac, sizeof(mac));
			break;
		case WH_SIGNATURE_NONE:
			break;
		}
	}
	if (error < 0) {
		error = wh_error_set(err, WH_EINTERNAL, "cannot format the %s header", name);
		goto out;
	}
	if (req->scheme != WH_SIGNATURE_GITHUB &&
	    (error = push_header(headers, &count, name, &value, err)) < 0)
		goto out;
	*out = headers;
	*out_count = count;
	headers = NULL;
out:
	wh_wipe(mac, sizeof(mac));
	wh_sign_headers_free(headers, count);
	wh_buf_release(&value);
	return error;
}

void wh_sign_headers_free(struct wh_header *headers, size_t count)
{
	if (!headers)
		return;
	for (size_t i = 0; i < count; i++) {
		free(headers[i].name);
		free(headers[i].value);
	}
	free(headers);
}
