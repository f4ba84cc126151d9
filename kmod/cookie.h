/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHOAL_COOKIE_H
#define _SHOAL_COOKIE_H

#include <linux/spinlock.h>
#include <linux/types.h>
#include <uapi/linux/shoal.h>

union shoal_endpoint;

#define SHOAL_COOKIE_REPLY_LEN	64

/*
 * shoald's cookie secret and the two keys derived from its public key
 * (docs/protocol.md, "INIT" and "Cookies"), so that past the strangers'
 * budget, which a spoofed flood spends, an INIT whose MAC2 proves its
 * source still passes, and one without gets its cookie from here, at a
 * rate shoald could not answer.  Set by shoald, never read back.
 */
struct shoal_cookie_checker {
	spinlock_t lock;	/* everything below */
	bool ready;		/* all three set */
	u8 secret[SHOAL_COOKIE_SECRET_LEN];
	u8 mac1_key[SHOAL_COOKIE_SECRET_LEN];
	u8 seal_key[SHOAL_COOKIE_SECRET_LEN];
};

enum shoal_cookie_verdict {
	SHOAL_COOKIE_DROP,	/* not an INIT, or a wrong MAC1 */
	SHOAL_COOKIE_PROVEN,	/* an INIT with its source's MAC2 */
	SHOAL_COOKIE_ASK,	/* an INIT without: *reply is its cookie */
};

void shoal_cookie_init(struct shoal_cookie_checker *c);
void shoal_cookie_set(struct shoal_cookie_checker *c, const u8 *secret,
		      const u8 *mac1_key, const u8 *seal_key);
void shoal_cookie_clear(struct shoal_cookie_checker *c);
enum shoal_cookie_verdict
shoal_cookie_check(struct shoal_cookie_checker *c,
		   const union shoal_endpoint *src, const u8 *msg, size_t len,
		   u8 reply[SHOAL_COOKIE_REPLY_LEN]);

#endif /* _SHOAL_COOKIE_H */
