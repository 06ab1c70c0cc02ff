/*
 * netguard: the address policy applied when a delivery connects (SPEC
 * section 5). Webhook URLs come from a config repository that many people
 * can change, so a URL must not be a way to reach the cloud metadata
 * service or other link-local services from the CI machine. The policy
 * refuses:
 *
 *   169.254.0.0/16     IPv4 link-local, home of 169.254.169.254 (metadata)
 *   fe80::/10          IPv6 link-local
 *   fd00:ec2::254/128  the IPv6 metadata address of one large cloud
 *
 * and the same IPv4 addresses written inside IPv6: IPv4-mapped
 * (::ffff:169.254.x.x), IPv4-compatible (::169.254.x.x) and the NAT64
 * well-known prefix (64:ff9b::169.254.x.x). An --allow-net CIDR (IPv4 or
 * IPv6) lifts the refusal for the addresses it covers; an IPv4 CIDR also
 * covers the IPv6 forms that embed its addresses.
 *
 * Invariant: the decision is made on the socket address actually being
 * connected (deliver.c calls it from curl's open-socket callback), never on
 * the host name in the URL, so DNS answers, /etc/hosts entries and numeric
 * spellings (http://2852039166/) cannot route around it.
 *
 * What it does not do: resolve names, or refuse anything else (loopback and
 * private ranges are legitimate webhook targets in CI).
 */
#ifndef WH_NETGUARD_H
#define WH_NETGUARD_H

#include <stddef.h>

#include <sys/socket.h>

#include "error.h"

struct wh_cidr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network address, host bits cleared (4 bytes used for v4) */
	unsigned prefix;	/* 0..32 or 0..128 */
};

struct wh_netguard {
	struct wh_cidr *allow; /* owned */
	size_t nallow;
};

/* Longest text wh_netguard_check writes for an address, with its NUL. */
#define WH_NETGUARD_ADDR_MAX 64

/*
 * Parses "169.254.0.0/16", "fe80::/10", or a bare address (a /32 or /128).
 * Host bits below the prefix are cleared ("169.254.169.254/16" is
 * 169.254.0.0/16). A malformed text is WH_EUSAGE naming it.
 */
int wh_cidr_parse(struct wh_cidr *out, const char *text, struct wh_error *err);

/* 1 when the address (4 or 16 bytes of family) is inside cidr. */
int wh_cidr_contains(const struct wh_cidr *cidr, int family, const unsigned char *addr);

/*
 * Builds a policy whose refusals are lifted by the given CIDRs (borrowed
 * texts, parsed and copied). On failure (WH_EUSAGE for a malformed CIDR,
 * WH_ENOMEM) guard is left released. Release with wh_netguard_release.
 */
int wh_netguard_init(struct wh_netguard *guard, const char *const *allow_net, size_t nallow_net,
		     struct wh_error *err);
void wh_netguard_release(struct wh_netguard *guard);

/*
 * Decides on one socket address. Returns 0 when connecting is allowed, 1
 * when it is refused; then `addr` receives the address as text (at least
 * WH_NETGUARD_ADDR_MAX bytes) and `lift` the CIDR that would allow it
 * (same size), for the message. Families other than IPv4/IPv6 (Unix
 * sockets) are allowed: they are not network addresses.
 */
int wh_netguard_refuses(const struct wh_netguard *guard, const struct sockaddr *sa, size_t salen,
			char *addr, char *lift);

#endif
