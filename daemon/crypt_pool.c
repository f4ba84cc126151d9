// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "crypt_pool.h"

#define MAX_THREADS	7
/* Fewer jobs than this are done by the caller alone. */
#define MIN_SHARED	4

/*
 * One batch at a time.  The caller publishes it under the lock (a new
 * generation) and takes jobs as the helpers do, by the shared index; the
 * last job done wakes the caller.  A helper joins a batch under the lock
 * (active) and leaves it under the lock, and the caller neither returns
 * nor publishes the next batch while one is still in: so nobody reads a
 * batch's fields while they change, and a helper late to a batch finds
 * nothing left to take in it.  The lock also orders the jobs' buffers:
 * written before the batch is published, read after it is over.
 */
struct shoald_crypt_pool {
	pthread_mutex_t lock;
	pthread_cond_t work, finished;
	unsigned long generation;
	bool stopping;
	struct shoal_esp_crypt *jobs;
	int *results;
	size_t n;
	atomic_size_t next, done;
	unsigned int active;
	unsigned int n_threads;
	pthread_t threads[MAX_THREADS];
};

/* Takes and does jobs of the batch until none is left. */
static void work_batch(struct shoald_crypt_pool *p)
{
	size_t i;

	while ((i = atomic_fetch_add(&p->next, 1)) < p->n) {
		p->results[i] = shoal_esp_crypt(&p->jobs[i]);
		if (atomic_fetch_add(&p->done, 1) + 1 == p->n) {
			pthread_mutex_lock(&p->lock);
			pthread_cond_signal(&p->finished);
			pthread_mutex_unlock(&p->lock);
		}
	}
}

static void *helper(void *arg)
{
	struct shoald_crypt_pool *p = arg;
	unsigned long seen = 0;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stopping && p->generation == seen)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stopping)
			break;
		seen = p->generation;
		p->active++;
		pthread_mutex_unlock(&p->lock);
		work_batch(p);
		pthread_mutex_lock(&p->lock);
		if (!--p->active)
			pthread_cond_signal(&p->finished);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

unsigned int shoald_crypt_pool_default_threads(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (cpus <= 1)
		return 0;
	return cpus - 1 > MAX_THREADS ? MAX_THREADS : (unsigned int)cpus - 1;
}

int shoald_crypt_pool_start(struct shoald_crypt_pool **pool,
			    unsigned int threads)
{
	struct shoald_crypt_pool *p;
	sigset_t all, old;
	int ret;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->finished, NULL);
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	/*
	 * The helpers take no signals (they start with every one blocked):
	 * shoald reads its own from a signalfd, which sees only signals that
	 * no thread takes.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = 0;
	while (!ret && p->n_threads < threads) {
		ret = pthread_create(&p->threads[p->n_threads], NULL, helper, p);
		if (!ret)
			p->n_threads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		shoald_crypt_pool_stop(p);
		return -ret;
	}
	*pool = p;
	return 0;
}

void shoald_crypt_pool_run(struct shoald_crypt_pool *p,
			   struct shoal_esp_crypt *jobs, int *results,
			   size_t n)
{
	size_t i;

	if (!p || !p->n_threads || n < MIN_SHARED) {
		for (i = 0; i < n; i++)
			results[i] = shoal_esp_crypt(&jobs[i]);
		return;
	}
	pthread_mutex_lock(&p->lock);
	while (p->active)
		pthread_cond_wait(&p->finished, &p->lock);
	p->jobs = jobs;
	p->results = results;
	p->n = n;
	atomic_store(&p->next, 0);
	atomic_store(&p->done, 0);
	p->generation++;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);

	work_batch(p);

	pthread_mutex_lock(&p->lock);
	while (atomic_load(&p->done) < n || p->active)
		pthread_cond_wait(&p->finished, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void shoald_crypt_pool_stop(struct shoald_crypt_pool *p)
{
	unsigned int i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->finished);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
