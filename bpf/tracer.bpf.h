/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * BPF-only helpers every tracer program includes (after vmlinux.h, the libbpf headers
 * and tracer.h): its ring buffer, its statistics, and the watched-process filter. Each
 * program is its own skeleton, so each gets its own copy of these maps; the loader
 * shares one "watched" map between them (bpf_map__reuse_fd).
 */
#ifndef TRACEDUMP_TRACER_BPF_H
#define TRACEDUMP_TRACER_BPF_H

#define RB_SIZE (256 * 1024)

/* Trace every process, not only those in "watched" (tracedump trace --all). */
const volatile bool targ_all = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RB_SIZE);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TRACER_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* tgid -> 1: the processes to trace (and the children followed through fork). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TRACER_MAX_TGIDS);
	__type(key, __u32);
	__type(value, __u8);
} watched SEC(".maps");

static __always_inline void stat_inc(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &slot);

	if (v)
		*v += 1; /* per-CPU: no other writer */
}

static __always_inline bool is_watched(__u32 tgid)
{
	return targ_all || bpf_map_lookup_elem(&watched, &tgid);
}

/*
 * Wakes the consumer only when asked (an event that can fire a trigger), or when the
 * ring is a quarter full; otherwise it reads on its own timer. Default wakeups cost 2.3x
 * on a signal storm (MEASURED.md), with BPF_RB_NO_WAKEUP 1.1x. The quarter-full wakeup
 * must be forced (without BPF_RB_FORCE_WAKEUP the kernel wakes only for a record written
 * into an empty ring) and is checked on one event in TRACER_WAKE_EVERY of each CPU:
 * a consumer that sleeps is woken within that many events, one already awake is not
 * interrupted on every event of a storm.
 */
#define TRACER_WAKE_EVERY 32 /* a power of two */
static __always_inline void submit(void *e, bool urgent)
{
	__u32 slot = TRACER_STAT_EVENTS;
	__u64 flags = BPF_RB_NO_WAKEUP, *n = bpf_map_lookup_elem(&stats, &slot), seen = 0;

	if (n)
		seen = (*n)++; /* per-CPU: no other writer */
	if (urgent || (!(seen & (TRACER_WAKE_EVERY - 1)) &&
		       bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) > RB_SIZE / 4))
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

/* Reserves an event and fills its header; counts a drop when the ring is full. */
static __always_inline void *reserve(__u64 size, __u32 type)
{
	struct tracer_header *h = bpf_ringbuf_reserve(&rb, size, 0);

	if (!h) {
		stat_inc(TRACER_STAT_DROPS);
		return NULL;
	}
	h->type = type;
	h->cpu = bpf_get_smp_processor_id();
	h->ts_ns = bpf_ktime_get_ns();
	return h;
}

#endif /* TRACEDUMP_TRACER_BPF_H */
