/**
 * How long to sleep before the next poll (pure). Like earlyoom: the closer available memory is to the
 * threshold, the more often we look. `distance` is availableRatio − thresholdRatio; at or below `nearBy` the
 * interval is the minimum, at `farAway` and beyond the maximum, linear in between.
 */
export function nextPollInterval(
  availableRatio: number,
  thresholdRatio: number,
  minMs: number,
  maxMs: number,
  nearBy = 0.02,
  farAway = 0.3,
): number {
  const distance = availableRatio - thresholdRatio;
  if (distance <= nearBy) return minMs;
  if (distance >= farAway) return maxMs;
  const t = (distance - nearBy) / (farAway - nearBy);
  return Math.round(minMs + t * (maxMs - minMs));
}
