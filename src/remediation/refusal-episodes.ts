/**
 * Quiet logs (issue 14): identical refusals in a row — same source, scope, reason code and reason — are one
 * episode. The first refusal of an episode is written (audit line, journal line, notification); the repeats
 * are only counted; when the episode ends (a different outcome for the same stream, or `maxSpanMs` after it
 * began) one closing line says how many there were and over what time. Pure: the pipeline keeps the state.
 */

export interface RefusalSignature {
  /** What the refusals are about: source and scope ("guard|host", "receiver|/job.slice"). */
  readonly stream: string;
  readonly reasonCode: string;
  readonly reason: string;
}

export interface Episode {
  readonly stream: string;
  readonly reasonCode: string;
  readonly reason: string;
  readonly firstMs: number;
  readonly lastMs: number;
  readonly count: number;
}

export type EpisodeState = ReadonlyMap<string, Episode>;

export interface Observed {
  readonly state: EpisodeState;
  /** Write this refusal's lines (it starts an episode). */
  readonly write: boolean;
  /** An episode that ended here, to be summarised (only when it had repeats). */
  readonly ended?: Episode;
}

/** The reason without the numbers that change every poll ("12.3 %", "4 s"): two polls of one condition match. */
export function reasonShape(reason: string): string {
  return reason.replace(/\d+(?:\.\d+)?/g, '#');
}

export function observeRefusal(state: EpisodeState, sig: RefusalSignature, nowMs: number, maxSpanMs: number): Observed {
  const cur = state.get(sig.stream);
  const shape = reasonShape(sig.reason);
  const next = new Map(state);
  if (cur !== undefined && cur.reasonCode === sig.reasonCode && reasonShape(cur.reason) === shape && nowMs - cur.firstMs < maxSpanMs) {
    next.set(sig.stream, { ...cur, lastMs: nowMs, count: cur.count + 1 });
    return { state: next, write: false };
  }
  next.set(sig.stream, { stream: sig.stream, reasonCode: sig.reasonCode, reason: sig.reason, firstMs: nowMs, lastMs: nowMs, count: 1 });
  return { state: next, write: true, ...(cur !== undefined && cur.count > 1 ? { ended: cur } : {}) };
}

/**
 * An episode that can be forgotten without changing anything: one refusal (nothing to summarise), begun at
 * least `maxSpanMs` ago (the stream's next refusal starts a new episode whether it is remembered or not).
 */
export function forgettable(e: Episode, nowMs: number, maxSpanMs: number): boolean {
  return e.count === 1 && nowMs - e.firstMs >= maxSpanMs;
}

/** Something other than a refusal happened on the stream: its episode (if any) ends. */
export function endEpisode(state: EpisodeState, stream: string): { readonly state: EpisodeState; readonly ended?: Episode } {
  const cur = state.get(stream);
  if (cur === undefined) return { state };
  const next = new Map(state);
  next.delete(stream);
  return { state: next, ...(cur.count > 1 ? { ended: cur } : {}) };
}

/** The closing line's sentence. */
export function episodeSummary(e: Episode): string {
  const span = Math.round((e.lastMs - e.firstMs) / 100) / 10;
  return `refused ${e.count} times in ${span} s (${new Date(e.firstMs).toISOString()} – ${new Date(e.lastMs).toISOString()}): ${e.reason}`;
}
