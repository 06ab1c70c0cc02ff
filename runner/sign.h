/*
 * sign: the signature headers of one delivery attempt (SPEC section 4).
 *
 * Every scheme is HMAC-SHA256 (OpenSSL EVP_MAC). With two secrets (a
 * rotation: `secret: [a, b]`) every scheme carries one signature per
 * secret, so that a receiver that holds only one of them, either one,
 * accepts the message:
 *
 * - standard-webhooks: `webhook-signature: v1,<base64>` over
 *   "{id}.{timestamp}.{body}"; two signatures are one header value
 *   separated by a space ("v1,AAA v1,BBB"), as the Standard Webhooks spec
 *   says. A secret "whsec_<base64>" is used as its decoded bytes (the
 *   spec's format; invalid base64 there is a config error); any other
 *   secret as its raw bytes. Only this scheme decodes whsec_: Stripe's
 *   endpoint secrets also start with whsec_ and are used as text.
 * - github: `X-Hub-Signature-256: sha256=<hex>` over the body. GitHub
 *   itself has one secret per hook, and receivers (@octokit/webhooks-methods
 *   verify(secret, payload, signature)) compare the whole header value with
 *   the one expected signature, so no single value can satisfy a receiver
 *   holding the old secret and one holding the new. With two secrets the
 *   header is therefore sent twice, one field line per secret, in the
 *   order of the secret list. HTTP allows a repeated field line; a receiver
 *   reads each value (Node: req.headersDistinct['x-hub-signature-256'];
 *   Go: r.Header.Values) and accepts when verify() passes for any of them.
 *   Receivers that read only the first field line (Go's Header.Get) accept
 *   with the first secret. Receivers that join the lines into
 *   "sha256=a, sha256=b" and compare the whole value (Node's req.headers,
 *   most servers' CGI-style views) accept neither during the rotation; for
 *   those, rotate on the receiver's side instead (octokit's
 *   verifyWithFallback) while whrun signs with one secret.
 * - stripe: `Stripe-Signature: t=<timestamp>,v1=<hex>` over
 *   "{timestamp}.{body}"; two secrets give "t=…,v1=…,v1=…", exactly what
 *   Stripe sends while an endpoint secret is being rolled.
 * - hmac-hex: the lowercase hex HMAC of the body in the configured header
 *   (default X-Webhook-Signature); two secrets give the two digests
 *   separated by a comma without spaces ("aaa…,bbb…"), so a receiver that
 *   splits on ',' finds its own.
 * - none: no header.
 *
 * Keys and digests are wiped after use. What it does not do: resolve
 * secret references (secret.c), or build the other headers (webhook-id,
 * webhook-timestamp, Content-Type, User-Agent: the delivery code).
 */
#ifndef WH_SIGN_H
#define WH_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

/* The prefix of a Standard Webhooks secret whose key is base64. */
#define WH_SIGN_WHSEC_PREFIX "whsec_"
/* The most header pairs one attempt's signature takes (github, rotated). */
#define WH_SIGN_MAX_HEADERS WH_MAX_SECRETS

/* What one attempt signs; everything borrowed. */
struct wh_sign_request {
	enum wh_signature scheme;
	const char *const *secrets; /* resolved values, 1 or 2 (none for WH_SIGNATURE_NONE) */
	size_t nsecrets;
	const char *message_id; /* the webhook-id */
	int64_t timestamp;	/* unix seconds of this attempt (webhook-timestamp) */
	const void *body;	/* the exact bytes sent */
	size_t body_len;
	const char *header_name; /* hmac-hex only; NULL means X-Webhook-Signature */
};

/*
 * Computes the signature headers for req into *out (an array of *out_count
 * pairs, 0 for WH_SIGNATURE_NONE, in which case *out is NULL). The array
 * and its strings are malloc'ed; free them with wh_sign_headers_free.
 * Fails with WH_ECONFIG when a signed scheme has no secret or more than
 * WH_MAX_SECRETS, a secret is empty, or a whsec_ secret is not base64;
 * WH_EINTERNAL when OpenSSL fails; WH_ENOMEM. Secret values never appear
 * in error messages.
 */
int wh_sign_headers(struct wh_header **out, size_t *out_count, const struct wh_sign_request *req,
		    struct wh_error *err);

/* Frees what wh_sign_headers returned; NULL is fine. */
void wh_sign_headers_free(struct wh_header *headers, size_t count);

/*
 * The name of the header that carries scheme's signatures (header_name,
 * or X-Webhook-Signature when it is NULL, for hmac-hex), or NULL for none.
 * Borrowed: static, or header_name itself. Use it to mask or reserve the
 * header; github may repeat it (see above).
 */
const char *wh_sign_header_name(enum wh_signature scheme, const char *header_name);

/* The fixed signature header names of every scheme, lowercase,
 * NULL-terminated (hmac-hex's is configurable and so not among them). */
extern const char *const wh_sign_fixed_header_names[];

/*
 * The HMAC key for a secret under scheme into *key (malloc'ed; free with
 * wh_wipe + free, or wh_sign_key_free) and its length: the base64-decoded
 * bytes of a whsec_ secret for standard-webhooks, else the secret's bytes.
 */
int wh_sign_key(unsigned char **key, size_t *key_len, enum wh_signature scheme, const char *secret,
		struct wh_error *err);
void wh_sign_key_free(unsigned char *key, size_t key_len);

/* 1 when the two MACs/strings of length len are equal, in constant time
 * (CRYPTO_memcmp); for receivers and tests. */
int wh_sign_equal(const void *a, const void *b, size_t len);

#endif
