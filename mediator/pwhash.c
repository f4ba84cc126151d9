// SPDX-License-Identifier: MIT
/*
 * Argon2id off the event loop.  A password check or hash takes tens of
 * milliseconds; done in the loop, a stream of them stalled every other
 * client.  So the loop (which alone touches the database and the
 * connections) looks up what the request needs, hands the password and
 * the stored hash to a worker, and carries on; the worker hashes or
 * verifies and hands the job back; the loop then checks everything
 * again and makes the change (requests.c, requests_done).
 *
 * The worker is a process, not a thread.  libsodium maps Argon2id's
 * 64 MiB with MAP_POPULATE for every hash, holding the address space's
 * lock for tens of milliseconds, and in one address space any mmap() of
 * the loop's (its allocator growing) waited for that: measured, a
 * thread still stalled the loop by 20 to 60 ms per hash under ASan.  A
 * process has an address space of its own.
 *
 * The worker is not just forked: a fork would hold a copy of everything
 * the server has, its private key, the database's pages and every
 * connection's keys, for as long as it lives.  The child executes the
 * server's own program afresh (through a descriptor of it opened at
 * start, so an upgrade that replaces the file on disk changes nothing),
 * under PWHASH_WORKER_ARGV0, with nothing but its socket (fd 3) and the
 * shared slots (fd 4).
 *
 * What the two share is one MAP_SHARED mapping of MED_PW_QUEUE slots (a
 * memfd: so passwords never pass through the kernel's socket buffers,
 * and are wiped where they are) and a SOCK_SEQPACKET socket pair that
 * carries slot indexes:
 * loop to worker "this one is yours", worker to loop "done".  Each slot's
 * state, an atomic stored with release before its index is sent and
 * loaded with acquire after it is received, says who owns the slot and
 * orders the accesses to it.  The socket's end tells either side that
 * the other is gone.
 *
 * The queue itself is the loop's: the worker has one job at a time (it
 * could not run two anyway), so the socket never holds more than one
 * message each way, whatever net.unix.max_dgram_qlen allows.  Jobs
 * finish in the order queued.  The loop's part of each job (struct
 * pw_job: which connection asked) never leaves the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "pwhash.h"
#include "server.h"
#include "util.h"

/* The worker's nice value: see pw_start. */
#define PW_NICE 10
/* The worker's descriptors, as pw_start leaves them for it. */
#define PW_FD_SOCKET 3
#define PW_FD_SLOTS 4
#define PW_SLOTS_SIZE (MED_PW_QUEUE * sizeof(struct pw_slot))

extern char **environ;

/* Address-free, as shared memory across processes needs. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "lock-free atomic int");

/* The worker: until its socket ends (the server stops, or died). */
static void __attribute__((noreturn)) pw_main(struct pw_slot *slot, int fd)
{
	struct pw_work *w;
	unsigned int i;
	ssize_t n;

	for (;;) {
		n = recv(fd, &i, sizeof(i), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			_exit(0);
		/* The loop sends nothing else: it is broken, or we are. */
		if (n != sizeof(i) || i >= MED_PW_QUEUE ||
		    atomic_load_explicit(&slot[i].state,
					 memory_order_acquire) != PW_QUEUED)
			_exit(1);
		w = &slot[i].work;
		if (w->verify)
			w->result = mstore_verify(w->hash, w->password);
		else
			w->result = mstore_hash(&w->cost, w->password,
						w->hash);
		sodium_memzero(w->password, sizeof(w->password));
		atomic_store_explicit(&slot[i].state, PW_DONE,
				      memory_order_release);
		do
			n = send(fd, &i, sizeof(i), MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n != sizeof(i))
			_exit(n < 0 && errno == EPIPE ? 0 : 1);
	}
}

/*
 * Every descriptor from first up.  close_range is one call; the loop is
 * for a kernel or seccomp filter without it.
 */
static void close_from(int first)
{
	struct rlimit rl;
	int fd, max = 1024;

	if (!close_range((unsigned int)first, ~0U, 0))
		return;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < INT_MAX)
		max = (int)rl.rlim_cur;
	for (fd = first; fd < max; fd++)
		close(fd);
}

/*
 * The worker's process, a fresh image of this program (main() comes
 * here for PWHASH_WORKER_ARGV0): it has its socket and the slots, and
 * nothing of the server's.  Returns only on a broken set-up.
 */
int pwhash_worker_main(void)
{
	struct stat st;
	int type = 0;
	socklen_t len = sizeof(type);
	void *slot;

	/* Passwords pass through it: never into a core dump. */
	setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* Run by hand, or by something else than pw_start: not ours. */
	if (getsockopt(PW_FD_SOCKET, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_SEQPACKET || fstat(PW_FD_SLOTS, &st) < 0 ||
	    !S_ISREG(st.st_mode) || (size_t)st.st_size != PW_SLOTS_SIZE) {
		fprintf(stderr, "shoal-mediator: %s is started by "
			"shoal-mediator, not by hand\n", PWHASH_WORKER_ARGV0);
		return SHOAL_EXIT_USAGE;
	}
	if (sodium_init() < 0)
		return SHOAL_EXIT_FAILURE;
	slot = mmap(NULL, PW_SLOTS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    PW_FD_SLOTS, 0);
	if (slot == MAP_FAILED)
		return SHOAL_EXIT_FAILURE;
	madvise(slot, PW_SLOTS_SIZE, MADV_DONTDUMP);
	close_from(PW_FD_SLOTS);
	pw_main(slot, PW_FD_SOCKET);
}

/* Hands the next queued job to the worker, if it has none. */
static void pw_kick(struct server *srv)
{
	struct pw_queue *q = &srv->pw;
	unsigned int i;

	if (q->fd < 0 || q->busy >= 0 || !q->todo_n)
		return;
	i = q->todo[q->todo_head];
	/*
	 * It fails only if the worker just died, which its socket's end
	 * tells pwhash_readable; or for want of memory, and pwhash_tick
	 * tries again.
	 */
	if (send(q->fd, &i, sizeof(i), MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    sizeof(i))
		return;
	q->busy = (int)i;
	q->todo_head = (q->todo_head + 1) % MED_PW_QUEUE;
	q->todo_n--;
}

/* Forks a worker: 0, or -errno. */
static int pw_start(struct server *srv)
{
	struct pw_queue *q = &srv->pw;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &q->fd };
	int sv[2], ret, sock, slots, exe;
	sigset_t all;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	if (pid == 0) {
		/*
		 * SIGTERM and SIGINT are the server's (the whole service
		 * gets them); the worker ends when its socket does.  The
		 * mask outlives the exec.  It keeps stdin, stdout and stderr
		 * (a sanitizer's report), its socket and the slots; first
		 * above 5, so that none of the three is overwritten.
		 */
		sigfillset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		sock = fcntl(sv[1], F_DUPFD, 16);
		slots = fcntl(q->slots_fd, F_DUPFD, 16);
		exe = fcntl(q->exe_fd, F_DUPFD_CLOEXEC, 16);
		if (sock < 0 || slots < 0 || exe < 0 ||
		    dup2(sock, PW_FD_SOCKET) < 0 ||
		    dup2(slots, PW_FD_SLOTS) < 0 || dup2(exe, 5) < 0 ||
		    fcntl(5, F_SETFD, FD_CLOEXEC) < 0)
			_exit(127);
		close_from(6);
		/*
		 * Where the two share a CPU, the event loop first: a hash
		 * can wait some milliseconds more, the other clients not.
		 */
		setpriority(PRIO_PROCESS, 0, PW_NICE);
		fexecve(5, (char *const[]){ (char *)PWHASH_WORKER_ARGV0, NULL },
			environ);
		_exit(127);
	}
	close(sv[1]);
	q->fd = sv[0];
	q->pid = pid;
	q->busy = -1;
	/* Nonblocking only here: the worker's end blocks on purpose. */
	ret = fcntl(q->fd, F_GETFL);
	if (ret < 0 || fcntl(q->fd, F_SETFL, ret | O_NONBLOCK) < 0 ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, q->fd, &ev) < 0)
		return -errno;
	return 0;
}

/*
 * Ends the worker: at most the hash it is running is waited for.  Its
 * wait status, or -1.
 */
static int pw_stop(struct server *srv, bool kill_it)
{
	struct pw_queue *q = &srv->pw;
	int status = -1;

	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	q->busy = -1;
	if (q->pid > 0) {
		if (kill_it)
			kill(q->pid, SIGKILL);
		while (waitpid(q->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	q->pid = 0;
	return status;
}

int pwhash_open(struct server *srv)
{
	struct pw_queue *q = &srv->pw;
	void *p;

	/*
	 * The program's file as it is now, for every worker to come: the
	 * path may by then name another version, whose slots would not be
	 * these.
	 */
	q->exe_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	q->slots_fd = memfd_create("shoal-mediator-pwhash", MFD_CLOEXEC);
	if (q->exe_fd < 0 || q->slots_fd < 0 ||
	    ftruncate(q->slots_fd, PW_SLOTS_SIZE) < 0)
		return -errno;
	p = mmap(NULL, PW_SLOTS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 q->slots_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	q->slot = p;
	/* Passwords pass through it: not into a core dump. */
	madvise(p, PW_SLOTS_SIZE, MADV_DONTDUMP);
	return pw_start(srv);
}

/* Called even after a failed or partial pwhash_open. */
void pwhash_close(struct server *srv)
{
	struct pw_queue *q = &srv->pw;

	pw_stop(srv, false);
	/* Queued, done and never answered: passwords and hashes alike. */
	if (q->slot) {
		sodium_memzero(q->slot, PW_SLOTS_SIZE);
		munmap(q->slot, PW_SLOTS_SIZE);
	}
	q->slot = NULL;
	if (q->slots_fd >= 0)
		close(q->slots_fd);
	if (q->exe_fd >= 0)
		close(q->exe_fd);
	q->slots_fd = q->exe_fd = -1;
	sodium_memzero(q->job, sizeof(q->job));
	q->n_used = 0;
}

struct pw_job *pwhash_job(struct server *srv)
{
	struct pw_queue *q = &srv->pw;
	unsigned int i;

	if (q->fd < 0 || q->n_used >= MED_PW_QUEUE)
		return NULL;
	for (i = 0; i < MED_PW_QUEUE; i++)
		if (!q->job[i].used)
			return &q->job[i];
	return NULL;
}

struct pw_work *pwhash_work(struct server *srv, struct pw_job *j)
{
	return &srv->pw.slot[j - srv->pw.job].work;
}

void pwhash_submit(struct server *srv, struct conn *c, struct pw_job *j)
{
	struct pw_queue *q = &srv->pw;
	unsigned int i = (unsigned int)(j - q->job);

	atomic_store_explicit(&q->slot[i].state, PW_QUEUED,
			      memory_order_release);
	j->used = true;
	j->c = c;
	c->pw = j;
	/* n_used <= MED_PW_QUEUE: the ring cannot overflow. */
	q->n_used++;
	q->todo[(q->todo_head + q->todo_n) % MED_PW_QUEUE] = i;
	q->todo_n++;
	pw_kick(srv);
	/* Its next requests wait: no EPOLLIN until server_conn_resume. */
	server_conn_arm(srv, c);
}

void pwhash_forget(struct server *srv, struct conn *c)
{
	(void)srv;
	if (c->pw) {
		c->pw->c = NULL;
		c->pw = NULL;
	}
}

static void pw_finish(struct server *srv, unsigned int i)
{
	struct pw_queue *q = &srv->pw;
	struct pw_job *j = &q->job[i];
	struct conn *c = j->c;

	/*
	 * A connection that is gone, or going (replaced by a new login of
	 * its client, timed out, broken), gets nothing: no reply could
	 * reach it, and nothing is changed on its behalf.
	 */
	requests_settle(srv, j, &q->slot[i].work);
	if (c) {
		c->pw = NULL;
		if (!c->dead)
			requests_done(srv, c, j, &q->slot[i].work);
	}
	sodium_memzero(&q->slot[i].work, sizeof(q->slot[i].work));
	atomic_store_explicit(&q->slot[i].state, PW_FREE,
			      memory_order_relaxed);
	sodium_memzero(j, sizeof(*j));
	q->n_used--;
	q->done++;
	if (c && !c->dead)
		server_conn_resume(srv, c);
}

/*
 * The worker died (killed for its memory, say) or broke its side of the
 * protocol.  The jobs it finished are answered; the others fail as a
 * hash that could not get its memory would have.  Meanwhile password
 * requests are refused (-104) until pwhash_tick starts a new worker,
 * within a second: one that dies at once cannot make us fork in a loop.
 */
static void pw_lost(struct server *srv, const char *why)
{
	struct pw_queue *q = &srv->pw;
	unsigned int i;
	int status;

	/* Dead and waited for: every slot is the loop's now. */
	status = pw_stop(srv, true);
	q->todo_n = 0;
	if (status != -1 && WIFSIGNALED(status))
		fprintf(stderr, "shoal-mediator: the password worker %s: "
			"signal %d\n", why, WTERMSIG(status));
	else
		fprintf(stderr, "shoal-mediator: the password worker %s\n",
			why);
	for (i = 0; i < MED_PW_QUEUE; i++) {
		if (!q->job[i].used)
			continue;
		if (atomic_load_explicit(&q->slot[i].state,
					 memory_order_acquire) != PW_DONE)
			q->slot[i].work.result = MSTORE_E_NOMEM;
		pw_finish(srv, i);
	}
}

void pwhash_tick(struct server *srv)
{
	int ret;

	pw_kick(srv);
	if (srv->pw.fd >= 0 || !srv->pw.slot)
		return;
	ret = pw_start(srv);
	if (ret < 0) {
		pw_stop(srv, true);
		fprintf(stderr, "shoal-mediator: cannot start the password "
			"worker: %s\n", strerror(-ret));
	}
}

void pwhash_readable(struct server *srv)
{
	struct pw_queue *q = &srv->pw;
	unsigned int i;
	ssize_t n;

	/* Bounded: the worker has at most one job. */
	while (q->fd >= 0) {
		n = recv(q->fd, &i, sizeof(i), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* Its end closed, unread messages or not. */
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			pw_lost(srv, "died");
			return;
		}
		if (n < 0) {
			pw_lost(srv, "cannot be reached");
			return;
		}
		if (n != sizeof(i) || (int)i != q->busy ||
		    atomic_load_explicit(&q->slot[i].state,
					 memory_order_acquire) != PW_DONE) {
			pw_lost(srv, "broke the protocol");
			return;
		}
		/* The next hash starts before this answer is worked out. */
		q->busy = -1;
		pw_kick(srv);
		pw_finish(srv, i);
	}
}
