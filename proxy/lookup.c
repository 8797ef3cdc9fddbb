/*
 * lookup: who asked, found by a thread of its own (see lookup.h for who
 * owns what).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "lookup.h"

/* Searches waiting at once.  A hold is rare and a search takes a fraction
 * of a second at worst, so more than this waiting means the answers would
 * come after the people deciding: refuse early instead (the hold then
 * names no process, as when a search fails). */
#define LOOKUP_QUEUE_MAX 64

struct lookup_job {
	TAILQ_ENTRY(lookup_job) link;
	struct lookup_inbox *in;
	uint64_t id;
	struct sockowner_query q;
	int is_found;
	struct caller caller;
};
TAILQ_HEAD(lookup_jobs, lookup_job);

struct lookup {
	pthread_t thread;
	pthread_mutex_t lock; /* guards queue, n_queued, is_stopping */
	pthread_cond_t cond; /* the thread's sleep */
	struct lookup_jobs queue;
	unsigned n_queued;
	int is_stopping;
	int is_joined; /* main thread only */
};

struct lookup_inbox {
	pthread_mutex_t lock; /* guards done */
	struct lookup_jobs done;
	struct event *ev;
	lookup_cb cb;
	void *arg;
};

static void
lookup_jobs_free(struct lookup_jobs *jobs)
{
	struct lookup_job *job;

	while ((job = TAILQ_FIRST(jobs)) != NULL) {
		TAILQ_REMOVE(jobs, job, link);
		free(job);
	}
}

/* The search itself: slow, and no lock is held. */
static void
lookup_run(struct lookup_job *job)
{
	pid_t pid = 0;
	uid_t uid = 0;

	job->is_found = sockowner_query_run(&job->q, &pid, &uid) == 0 &&
	    pid != 0 && caller_read(pid, uid, (gid_t)-1, &job->caller) == 0;
}

/* Hand the answer to its inbox's thread. */
static void
lookup_deliver(struct lookup_job *job)
{
	struct lookup_inbox *in = job->in;

	pthread_mutex_lock(&in->lock);
	TAILQ_INSERT_TAIL(&in->done, job, link);
	event_active(in->ev, EV_READ, 0);
	pthread_mutex_unlock(&in->lock);
}

static void *
lookup_main(void *arg)
{
	struct lookup *lk = arg;
	struct lookup_job *job;

	pthread_mutex_lock(&lk->lock);
	for (;;) {
		while (!lk->is_stopping && TAILQ_EMPTY(&lk->queue))
			pthread_cond_wait(&lk->cond, &lk->lock);
		if (lk->is_stopping)
			break;
		job = TAILQ_FIRST(&lk->queue);
		TAILQ_REMOVE(&lk->queue, job, link);
		lk->n_queued--;
		pthread_mutex_unlock(&lk->lock);
		lookup_run(job);
		lookup_deliver(job);
		pthread_mutex_lock(&lk->lock);
	}
	pthread_mutex_unlock(&lk->lock);
	return NULL;
}

struct lookup *
lookup_start(void)
{
	struct lookup *lk;
	int r;

	lk = calloc(1, sizeof *lk);
	if (lk == NULL)
		return NULL;
	TAILQ_INIT(&lk->queue);
	if ((r = pthread_mutex_init(&lk->lock, NULL)) != 0)
		goto fail_lock;
	if ((r = pthread_cond_init(&lk->cond, NULL)) != 0)
		goto fail_cond;
	if ((r = pthread_create(&lk->thread, NULL, lookup_main, lk)) != 0)
		goto fail_thread;
	return lk;
fail_thread:
	pthread_cond_destroy(&lk->cond);
fail_cond:
	pthread_mutex_destroy(&lk->lock);
fail_lock:
	free(lk);
	errno = r;
	return NULL;
}

void
lookup_stop(struct lookup *lk)
{
	struct lookup_jobs dropped;

	if (lk == NULL || lk->is_joined)
		return;
	TAILQ_INIT(&dropped);
	pthread_mutex_lock(&lk->lock);
	lk->is_stopping = 1;
	pthread_cond_signal(&lk->cond);
	pthread_mutex_unlock(&lk->lock);
	pthread_join(lk->thread, NULL);
	lk->is_joined = 1;
	pthread_mutex_lock(&lk->lock);
	TAILQ_CONCAT(&dropped, &lk->queue, link);
	lk->n_queued = 0;
	pthread_mutex_unlock(&lk->lock);
	lookup_jobs_free(&dropped);
}

void
lookup_free(struct lookup *lk)
{
	if (lk == NULL)
		return;
	lookup_stop(lk);
	pthread_cond_destroy(&lk->cond);
	pthread_mutex_destroy(&lk->lock);
	free(lk);
}

/* The inbox's event: answer each arrived job in this (its base's) thread.
 * The list is taken whole under the lock, and the callbacks run without
 * it, so that they may submit again. */
static void
lookup_inbox_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lookup_inbox *in = arg;
	struct lookup_jobs arrived;
	struct lookup_job *job;

	(void)fd;
	(void)what;
	TAILQ_INIT(&arrived);
	pthread_mutex_lock(&in->lock);
	TAILQ_CONCAT(&arrived, &in->done, link);
	pthread_mutex_unlock(&in->lock);
	while ((job = TAILQ_FIRST(&arrived)) != NULL) {
		TAILQ_REMOVE(&arrived, job, link);
		in->cb(job->id, job->is_found ? &job->caller : NULL, in->arg);
		free(job);
	}
}

struct lookup_inbox *
lookup_inbox_new(struct event_base *base, lookup_cb cb, void *arg)
{
	struct lookup_inbox *in;
	int r;

	in = calloc(1, sizeof *in);
	if (in == NULL)
		return NULL;
	TAILQ_INIT(&in->done);
	in->cb = cb;
	in->arg = arg;
	if ((r = pthread_mutex_init(&in->lock, NULL)) != 0) {
		errno = r;
		goto fail_lock;
	}
	in->ev = event_new(base, -1, 0, lookup_inbox_cb, in);
	if (in->ev == NULL) {
		errno = ENOMEM;
		goto fail_ev;
	}
	return in;
fail_ev:
	pthread_mutex_destroy(&in->lock);
fail_lock:
	free(in);
	return NULL;
}

void
lookup_inbox_free(struct lookup_inbox *in)
{
	if (in == NULL)
		return;
	event_free(in->ev);
	lookup_jobs_free(&in->done);
	pthread_mutex_destroy(&in->lock);
	free(in);
}

int
lookup_submit(struct lookup *lk, struct lookup_inbox *in, uint64_t id,
    const struct sockowner_query *q)
{
	struct lookup_job *job;
	int ret = -1;

	job = calloc(1, sizeof *job);
	if (job == NULL)
		return -1;
	job->in = in;
	job->id = id;
	job->q = *q;
	pthread_mutex_lock(&lk->lock);
	if (lk->is_stopping) {
		errno = ESHUTDOWN;
		goto out;
	}
	if (lk->n_queued >= LOOKUP_QUEUE_MAX) {
		errno = EAGAIN;
		goto out;
	}
	TAILQ_INSERT_TAIL(&lk->queue, job, link);
	lk->n_queued++;
	pthread_cond_signal(&lk->cond);
	job = NULL;
	ret = 0;
out:
	pthread_mutex_unlock(&lk->lock);
	free(job);
	return ret;
}
