/* netguard: link-local / metadata address policy (see netguard.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "netguard.h"
#include "util.h"
#include "banned.h"

/* Parsed at each check from these texts: there are only three, and a
 * check runs once per connect. Each text is also the hint on what lifts it. */
static const char *const refused_texts[] = {"169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128"};

static int parse_prefix(unsigned *out, const char *text, unsigned max)
{
	unsigned value = 0;

	if (!*text || strlen(text) > 3)
		return -1;
	for (; *text; text++) {
		if (*text < '0' || *text > '9')
			return -1;
		value = value * 10 + (unsigned)(*text - '0');
	}
	if (value > max)
		return -1;
	*out = value;
	return 0;
}

static void clear_host_bits(struct wh_cidr *cidr)
{
	size_t len = cidr->family == AF_INET ? 4 : 16;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned bits = i * 8 >= cidr->prefix ? 0 : cidr->prefix - (unsigned)i * 8;
		if (bits < 8)
			cidr->addr[i] &= (unsigned char)(0xff00u >> bits);
	}
}

int wh_cidr_parse(struct wh_cidr *out, const char *text, struct wh_error *err)
{
	char host[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t hostlen = slash ? (size_t)(slash - text) : strlen(text);
	int error = 0;

	memset(out, 0, sizeof(*out));
	if (hostlen == 0 || hostlen >= sizeof(host))
		goto bad;
	memcpy(host, text, hostlen);
	host[hostlen] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		out->prefix = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		out->prefix = 128;
	} else {
		goto bad;
	}
	if (slash && parse_prefix(&out->prefix, slash + 1, out->prefix) < 0)
		goto bad;
	clear_host_bits(out);
	goto out;
bad:
	error = wh_error_set(err, WH_EUSAGE,
			     "bad --allow-net '%s': expected an IPv4 or IPv6 CIDR such as "
			     "169.254.0.0/16 or fe80::/10",
			     text);
out:
	return error;
}

int wh_cidr_contains(const struct wh_cidr *cidr, int family, const unsigned char *addr)
{
	unsigned full = cidr->prefix / 8, rest = cidr->prefix % 8;

	if (family != cidr->family)
		return 0;
	if (memcmp(cidr->addr, addr, full) != 0)
		return 0;
	if (rest && ((addr[full] ^ cidr->addr[full]) & (unsigned char)(0xff00u >> rest)))
		return 0;
	return 1;
}

int wh_netguard_init(struct wh_netguard *guard, const char *const *allow_net, size_t nallow_net,
		     struct wh_error *err)
{
	size_t i;
	int error = 0;

	guard->allow = NULL;
	guard->nallow = 0;
	if (!nallow_net)
		goto out;
	guard->allow = calloc(nallow_net, sizeof(*guard->allow));
	if (!guard->allow) {
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nallow_net; i++) {
		error = wh_cidr_parse(&guard->allow[i], allow_net[i], err);
		if (error < 0)
			goto out;
	}
	guard->nallow = nallow_net;
out:
	if (error < 0)
		wh_netguard_release(guard);
	return error;
}

void wh_netguard_release(struct wh_netguard *guard)
{
	if (!guard)
		return;
	free(guard->allow);
	guard->allow = NULL;
	guard->nallow = 0;
}

/* The IPv4 address an IPv6 address carries in its last 32 bits, for the
 * forms that route to that IPv4 address: ::ffff:a.b.c.d, ::a.b.c.d (but not
 * :: and ::1) and 64:ff9b::a.b.c.d. Returns 1 and fills v4, or 0. */
static int embedded_ipv4(const unsigned char *v6, unsigned char *v4)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char compat[12] = {0};
	static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
	int found = 0;

	if (memcmp(v6, mapped, 12) == 0 || memcmp(v6, nat64, 12) == 0)
		found = 1;
	else if (memcmp(v6, compat, 12) == 0 && (v6[12] | v6[13] | v6[14]) != 0)
		found = 1;
	if (found)
		memcpy(v4, v6 + 12, 4);
	return found;
}

/* The refused network holding (family, addr), or NULL. */
static const char *refused_net(int family, const unsigned char *addr)
{
	size_t i;

	for (i = 0; i < WH_ARRAY_SIZE(refused_texts); i++) {
		struct wh_cidr net;

		if (wh_cidr_parse(&net, refused_texts[i], NULL) == 0 &&
		    wh_cidr_contains(&net, family, addr))
			return refused_texts[i];
	}
	return NULL;
}

static int allowed(const struct wh_netguard *guard, int family, const unsigned char *addr)
{
	size_t i;

	for (i = 0; i < guard->nallow; i++)
		if (wh_cidr_contains(&guard->allow[i], family, addr))
			return 1;
	return 0;
}

int wh_netguard_refuses(const struct wh_netguard *guard, const struct sockaddr *sa, size_t salen,
			char *addr, char *lift)
{
	unsigned char raw[16], v4[4];
	int family = sa->sa_family, has_v4 = 0;
	const char *net;

	if (family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
		memcpy(raw, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
		memcpy(raw, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		has_v4 = embedded_ipv4(raw, v4);
	} else {
		return 0;
	}

	net = refused_net(family, raw);
	if (!net && has_v4)
		net = refused_net(AF_INET, v4);
	if (!net)
		return 0;
	if (allowed(guard, family, raw) || (has_v4 && allowed(guard, AF_INET, v4)))
		return 0;

	if (!inet_ntop(family, raw, addr, WH_NETGUARD_ADDR_MAX))
		wh_strlcpy(addr, "?", WH_NETGUARD_ADDR_MAX);
	wh_strlcpy(lift, net, WH_NETGUARD_ADDR_MAX);
	return 1;
}
