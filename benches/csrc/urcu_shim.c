/*
 * Tiny shim over the system liburcu (memb flavor) for the `liburcu` feature of the
 * `benches` crate. The read-side primitives are static inline in liburcu's headers
 * (_LGPL_SOURCE), so the loops that measure them run here, in C, exactly as a C user
 * of liburcu would inline them. Everything else forwards to liburcu-memb.
 */
#define _LGPL_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <urcu/urcu-memb.h>

struct bench_node {
	struct rcu_head head; /* first member: container_of is a cast */
	uint64_t payload[4];
};

static void bench_free_node(struct rcu_head *head)
{
	free(caa_container_of(head, struct bench_node, head));
}

void bench_urcu_register(void) { urcu_memb_register_thread(); }

void bench_urcu_unregister(void) { urcu_memb_unregister_thread(); }

/* n inlined rcu_read_lock/rcu_read_unlock pairs (the caller is registered). */
void bench_urcu_read_pairs(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		urcu_memb_read_lock();
		urcu_memb_read_unlock();
	}
}

/* Read-lock/unlock pairs until *stop becomes non-zero (a busy reader). */
void bench_urcu_busy_read(const int *stop)
{
	while (!__atomic_load_n(stop, __ATOMIC_RELAXED)) {
		urcu_memb_read_lock();
		urcu_memb_read_unlock();
	}
}

void bench_urcu_synchronize(void) { urcu_memb_synchronize_rcu(); }

/* Allocates one 48-byte node and queues its free with call_rcu. */
void bench_urcu_enqueue(void)
{
	struct bench_node *node = malloc(sizeof(*node));
	if (!node)
		abort();
	node->payload[0] = 1;
	urcu_memb_call_rcu(&node->head, bench_free_node);
}

void bench_urcu_barrier(void) { urcu_memb_barrier(); }

/* No-op callback for preallocated nodes: the caller reuses them after a barrier. */
static void bench_keep_node(struct rcu_head *head) { (void)head; }

/* Queues call_rcu on n preallocated nodes (stride `size` bytes, head first). */
void bench_urcu_enqueue_prealloc(void *nodes, uint64_t n, uint64_t size)
{
	for (uint64_t i = 0; i < n; i++)
		urcu_memb_call_rcu((struct rcu_head *)((char *)nodes + i * size), bench_keep_node);
}

struct latency_node {
	struct rcu_head head;
	uint64_t start_ns;
	uint64_t *slot;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void bench_latency_done(struct rcu_head *head)
{
	struct latency_node *node = caa_container_of(head, struct latency_node, head);
	uint64_t elapsed = now_ns() - node->start_ns;
	__atomic_store_n(node->slot, elapsed ? elapsed : 1, __ATOMIC_RELEASE);
	free(node);
}

/* Queues a callback that stores the ns from now until it runs into *slot. */
void bench_urcu_latency_probe(uint64_t *slot)
{
	struct latency_node *node = malloc(sizeof(*node));
	if (!node)
		abort();
	node->slot = slot;
	node->start_ns = now_ns();
	urcu_memb_call_rcu(&node->head, bench_latency_done);
}

/* One read-side critical section held for ns nanoseconds (the long reader of a flood). */
void bench_urcu_hold_read(uint64_t ns)
{
	urcu_memb_read_lock();
	uint64_t end = now_ns() + ns;
	while (now_ns() < end)
		caa_cpu_relax();
	urcu_memb_read_unlock();
}
