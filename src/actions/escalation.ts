/**
 * Escalation under thrash (issue 14, after earlyoom's second line): after a victim's SIGTERM, SIGKILL follows
 * when the kill grace has passed, or earlier — once `escalateAfterMs` has passed and available memory of the
 * guarded scope is still below `killBelow`. A host in that state cannot afford the grace a healthy job gets to
 * write its checkpoint. Pure.
 */
export interface EscalationRule {
  readonly graceMs: number;
  readonly escalateAfterMs: number;
  /** Share of available memory (0–1). */
  readonly killBelow: number;
}

export type EscalationVerdict = 'wait' | 'kill_grace' | 'kill_thrash';

export function escalation(elapsedMs: number, availableRatio: number | undefined, rule: EscalationRule): EscalationVerdict {
  if (elapsedMs >= rule.graceMs) return 'kill_grace';
  if (availableRatio !== undefined && elapsedMs >= rule.escalateAfterMs && availableRatio < rule.killBelow) return 'kill_thrash';
  return 'wait';
}
