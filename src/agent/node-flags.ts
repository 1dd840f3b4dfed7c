/**
 * The V8 flags headroom runs with in production (docs/benchmarks.md, "Launch flags"): they only tune the
 * garbage collector and set no heap limit, so no load can make V8 abort the agent for "heap out of memory".
 *
 * - `--max-semi-space-size=1`: young generation of 2 × 1 MiB semi-spaces instead of V8 growing it to 2 × 16
 *   MiB once a scrape's 6 000-entry process table survives a scavenge;
 * - `--heap-growing-percent=30`: after a full GC old space may grow by 30 % of the live heap before the next
 *   one (V8's default on a large machine lets it grow up to 4×), so garbage promoted by scrapes is collected
 *   early instead of being kept resident.
 *
 * Every way of launching the agent uses exactly this list: bin/headroom, deploy/systemd/headroom-agent.service,
 * Dockerfile, `headroom stack` (src/stack/stack.ts) and the benchmarks (bench/lib/headroom.ts);
 * test/cli/node-flags.test.ts checks the files that cannot import it.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--heap-growing-percent=30'];
