/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_MEDIATOR_PWHASH_H
#define SHOAL_MEDIATOR_PWHASH_H

/* pwhash.c: Argon2id in a worker process of its own. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mediator.h"
#include "mstore.h"

/*
 * What the worker gets and gives back: the password (wiped once used),
 * and the hash to match (verify) or the cost of the one to make; result
 * is mstore_verify's or mstore_hash's, and hash the one made.
 */
struct pw_work {
	bool verify;
	int result;
	struct mstore_hash_cost cost;
	char password[MSTORE_PASSWORD_MAX + 1];
	char hash[MSTORE_HASH_SIZE];
};

/*
 * One job's half in the memory shared with the worker.  state says who
 * owns work: the event loop while PW_FREE or PW_DONE, the worker while
 * PW_QUEUED.  Its index goes through the socket with each handover.
 */
enum { PW_FREE, PW_QUEUED, PW_DONE };

struct pw_slot {
	_Atomic unsigned int state;
	struct pw_work work;
};

struct med_source;
struct pw_network;

/* The event loop's side of a job, never seen by the worker. */
struct pw_job {
	bool used;
	struct conn *c;			/* NULL once it is freed */
	int64_t client;
	uint8_t type;			/* JOIN, CREATE, SET_PASSWORD */
	uint32_t request_id;
	bool approval;			/* CREATE */
	char name[MSTORE_NAME_MAX + 1];
	struct mstore_join_ticket ticket;	/* JOIN */
	/* Counted there as in flight until requests_settle. */
	bool counted;
	struct pw_network *net;
	struct med_source *source;
};

/* The worker process; job[i] goes with slot[i]. */
struct pw_queue {
	int fd;				/* to the worker, -1: none */
	int slots_fd;			/* the memfd behind slot, -1: none */
	int exe_fd;			/* this program, for the worker */
	pid_t pid;			/* the worker's, 0: none */
	struct pw_slot *slot;		/* MED_PW_QUEUE, shared with it */
	int busy;			/* the job the worker has, -1: none */
	/* Queued for the worker, oldest first. */
	unsigned int todo[MED_PW_QUEUE], todo_head, todo_n;
	unsigned int n_used;		/* jobs queued, with it, or done */
	uint64_t done;			/* jobs answered, ever (--metrics) */
	struct pw_job job[MED_PW_QUEUE];
};

struct conn;
struct server;

/* argv[0] of the worker's process: main() runs pwhash_worker_main. */
#define PWHASH_WORKER_ARGV0 "shoal-mediator-pwhash"
/* The worker, after its exec; returns an exit status on a bad set-up. */
int pwhash_worker_main(void);
/* Starts the worker (server_open). */
int pwhash_open(struct server *srv);
/* Stops the worker and waits for it; every password copy is wiped. */
void pwhash_close(struct server *srv);
/* Once a second: a new worker if the last one died, and its work. */
void pwhash_tick(struct server *srv);
/*
 * A free job to fill (pwhash_work: its work), or NULL when MED_PW_QUEUE
 * are in use or there is no worker.
 */
struct pw_job *pwhash_job(struct server *srv);
struct pw_work *pwhash_work(struct server *srv, struct pw_job *j);
/*
 * Queues j and its work (filled by the caller) for c: c's later
 * requests wait until requests_done has answered it.
 */
void pwhash_submit(struct server *srv, struct conn *c, struct pw_job *j);
/* The worker's socket is readable: answers the jobs done. */
void pwhash_readable(struct server *srv);
/* c is being freed: its job's answer will go nowhere. */
void pwhash_forget(struct server *srv, struct conn *c);

#endif
