/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_RELAY_CORE_H
#define SHOAL_MEDIATOR_RELAY_CORE_H

/*
 * relay_core.c: the relay ports themselves, which shoal-mediator (its
 * built-in relay) and shoal-relay both run: binding a port for a pair,
 * RELAY_BIND and its challenge, forwarding within the pair's budget and
 * the idle timeout.  Who the pair is and how the sides learn their keys
 * is the host's business (relay.c, relay/main.c).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dgram.h"
#include "mediator.h"
#include "tlv.h"

struct relay_side {
	int64_t client;			/* the mediator's; 0 in shoal-relay */
	uint8_t pubkey[32];
	uint32_t id;
	uint8_t key[MED_RELAY_KEY_LEN];
	uint64_t counter;		/* of the last RELAY_BIND accepted */
	uint64_t challenged;		/* of the last one challenged */
	int64_t challenged_at;		/* ms */
	bool bound;
	struct sockaddr_storage ep;	/* where its RELAY_BIND came from */
	socklen_t ep_len;
	struct med_local local;		/* and the address it reached */
};

struct med_relay;

/*
 * One relay allocation.  Of the ports' own (fd >= 0): a port forwarding
 * between the two sides of a pair.  In the mediator, one that a
 * registered shoal-relay serves is a record of it only: fd -1, remote
 * its relay, port 0 until the relay said which.
 */
struct relay {
	struct med_handle h;		/* MED_K_RELAY */
	struct relay *lprev, *lnext;	/* every live one */
	struct relay *dead_next;
	int fd;
	bool dead;
	uint16_t port;
	int64_t last_active;		/* ms: allocation or last forward */
	int64_t requested_by;		/* the client it counts against */
	int64_t asked_at;		/* ms: remote, until the port came */
	struct med_relay *remote;
	/* Bytes it may still forward (the rate), as of tokens_at (ms). */
	double tokens;
	int64_t tokens_at;
	/* Keys the cookies of its RELAY_CHALLENGEs: see relay_bind. */
	uint8_t cookie_key[32];
	/*
	 * A shoal-relay's: the mediator's tag on this allocation
	 * (RELAY_ALLOCATE), shown again in RELAY_HOLDS so that only what a
	 * mediator of this key allocated is adopted after its restart.
	 */
	uint8_t hold_tag[16];
	struct relay_side side[2];
};

struct relay_stats {
	uint64_t relayed, relay_dropped, relay_binds, relay_challenges;
	uint64_t relay_over_budget, relay_bytes;
};

/* A range of relay ports on one address, and the allocations on them. */
struct relay_ports {
	int epfd;
	struct sockaddr_storage addr;	/* port ignored */
	socklen_t addr_len;
	uint16_t lo, hi;
	uint64_t rate;			/* bytes a second a pair; 0: none */
	struct relay **slots;		/* by port - lo */
	struct relay *live;
	struct relay *dead;		/* freed after the current batch */
	unsigned int n_live;
	struct relay_stats stats;
	uint8_t dgram[65536];
};

int64_t relay_now_ms(void);
int relay_ports_open(struct relay_ports *rp, int epfd,
		     const struct sockaddr_storage *addr, socklen_t addr_len,
		     uint16_t lo, uint16_t hi);
void relay_ports_close(struct relay_ports *rp);
/*
 * A port of a random free one, watched by epfd (data.ptr: the relay);
 * its sides are zero for the caller to fill.  NULL if none is free.
 */
struct relay *relay_ports_alloc(struct relay_ports *rp);
/* Random side ids (different) and keys. */
void relay_sides_random(struct relay *r);
/* Marks it freed; relay_ports_reap closes it after the batch. */
void relay_ports_free(struct relay_ports *rp, struct relay *r);
void relay_ports_reap(struct relay_ports *rp);
void relay_ports_readable(struct relay_ports *rp, struct relay *r);
/*
 * Frees the ones idle for MED_RELAY_IDLE_MS; gone (if not NULL) hears of
 * each first.
 */
void relay_ports_tick(struct relay_ports *rp, int64_t now_ms,
		      void (*gone)(void *arg, struct relay *r), void *arg);
/* The one whose side ids are a and b (either order), or NULL. */
struct relay *relay_ports_find(struct relay_ports *rp, uint32_t a,
			       uint32_t b);
/*
 * A side as RELAY_ALLOCATE and RELAY_HOLDS carry it (RELAY_SIDE: its
 * client's PUBLIC_KEY, RELAY_ID, RELAY_KEY); get: 0, or -1 if any is
 * missing or of the wrong length.
 */
void relay_side_put(struct shoal_tlv_writer *w, const struct relay_side *s);
int relay_side_get(const struct shoal_tlv_attr *nest, struct relay_side *s);

#endif
