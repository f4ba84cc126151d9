/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Jobs for the crypto workers, in both directions: a job is a packet (or
 * a frame's segments) queued twice, on its peer's queue in order and on
 * the device's ring for whichever CPU's worker is free.  The worker marks
 * it done; the peer's work then takes done jobs from the head of its
 * queue, so each peer's packets keep their order (send.c, receive.c).
 */

#ifndef _SHOAL_QUEUE_H
#define _SHOAL_QUEUE_H

#include <linux/skbuff.h>
#include <linux/workqueue.h>

struct shoal_device;
struct shoal_peer;
struct shoal_sa;

enum shoal_job_state {
	SHOAL_JOB_BUSY,		/* being sealed or opened */
	SHOAL_JOB_DONE,
	SHOAL_JOB_DEAD,		/* never will be: dropped when its turn comes */
};

/*
 * The head of both directions' skb->cb.  seq is each packet's own; the
 * rest is the job's, set on its first packet before it is queued.
 */
struct shoal_job {
	u64 seq;
	struct shoal_peer *peer;	/* a reference */
	struct shoal_sa *sa;		/* a reference */
	atomic_t state;			/* enum shoal_job_state */
	u16 frames;			/* packets in the job (transmit) */
};

#define SHOAL_JOB(skb) ((struct shoal_job *)(skb)->cb)

/* One per CPU and device and direction: takes jobs from a ring. */
struct shoal_crypt_worker {
	struct shoal_device *sd;
	struct work_struct work;
};

void shoal_crypt_kick(struct shoal_device *sd,
		      struct shoal_crypt_worker __percpu *workers, int *hint);
void shoal_job_done(struct sk_buff *job, struct work_struct *peer_work,
		    enum shoal_job_state state);
struct sk_buff *shoal_job_dequeue(struct sk_buff_head *queue, int *state,
				  unsigned int *frames);

#endif /* _SHOAL_QUEUE_H */
