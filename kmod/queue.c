// SPDX-License-Identifier: GPL-2.0
/*
 * Jobs for the crypto workers: handing them to a worker, marking them
 * done, and taking them in order from a peer's queue.
 */

#include "device.h"
#include "peer.h"
#include "queue.h"

/*
 * Wakes the next online CPU's worker after *hint, the CPU last woken:
 * jobs go round the CPUs, so one flow's crypto is spread over all of
 * them.  The hint is racy; a lost update only wakes one CPU twice.
 */
void shoal_crypt_kick(struct shoal_device *sd,
		      struct shoal_crypt_worker __percpu *workers, int *hint)
{
	int cpu = READ_ONCE(*hint);

	cpu = cpumask_next(cpu, cpu_online_mask);
	if (cpu >= nr_cpu_ids)
		cpu = cpumask_first(cpu_online_mask);
	WRITE_ONCE(*hint, cpu);
	queue_work_on(cpu, sd->crypt_wq, &per_cpu_ptr(workers, cpu)->work);
}

/*
 * The job is sealed or opened, or never will be: its peer's work (tx_work
 * or rx_work) may take it, and may free it at once: the peer is held
 * across that here.
 */
void shoal_job_done(struct sk_buff *job, struct work_struct *peer_work,
		    enum shoal_job_state state)
{
	struct shoal_peer *peer = SHOAL_JOB(job)->peer;

	shoal_peer_get(peer);
	atomic_set_release(&SHOAL_JOB(job)->state, state);
	/* A queued work keeps the reference; one already queued has its own. */
	if (!queue_work_on(shoal_peer_cpu(peer), peer->sd->crypt_wq, peer_work))
		shoal_peer_put(peer);
}

/*
 * The job at the head of queue if it is done (and *state how), unlinked;
 * *frames, if kept, the packets the queue holds (under its lock), loses
 * the job's.
 */
struct sk_buff *shoal_job_dequeue(struct sk_buff_head *queue, int *state,
				  unsigned int *frames)
{
	struct sk_buff *job;

	spin_lock_bh(&queue->lock);
	job = skb_peek(queue);
	if (job) {
		*state = atomic_read_acquire(&SHOAL_JOB(job)->state);
		if (*state == SHOAL_JOB_BUSY) {
			job = NULL;
		} else {
			__skb_unlink(job, queue);
			if (frames)
				WRITE_ONCE(*frames,
					   *frames - SHOAL_JOB(job)->frames);
		}
	}
	spin_unlock_bh(&queue->lock);
	return job;
}
