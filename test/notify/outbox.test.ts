import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/logging/logger.js';
import { Outbox } from '../../src/notify/outbox.js';
import { numbered } from './fixtures.js';

describe('Outbox', () => {
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'headroom-outbox-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const open = (dir: string, consumers = ['log', 'slack'], logger = memoryLogger()) => Outbox.open({ dir, consumers, now: () => 1234, logger });

  it('append is on disk when it returns, one file per message, in sequence', () => {
    const dir = tmp();
    const box = open(dir);
    const [a, b] = numbered(2);
    if (!a || !b) throw new Error('fixtures');
    expect(box.append(a).seq).toBe(1);
    expect(box.append(b).seq).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(['msg-0000000000000001.json', 'msg-0000000000000002.json']);
    const stored = JSON.parse(readFileSync(join(dir, 'msg-0000000000000001.json'), 'utf8')) as { id: string; publishedAtMs: number; notification: { summary: string } };
    expect(stored).toMatchObject({ id: 'msg-1', publishedAtMs: 1234, notification: { summary: 'message number 1' } });
  });

  it('each consumer reads in order; a file is removed only when every consumer is past it', () => {
    const dir = tmp();
    const box = open(dir);
    for (const n of numbered(3)) box.append(n);
    expect(box.next('log')?.id).toBe('msg-1');
    box.ack('log', 1);
    box.ack('log', 2);
    expect(box.next('log')?.id).toBe('msg-3');
    expect(box.next('slack')?.id).toBe('msg-1');
    expect(box.depth()).toBe(3);
    expect(box.pending('slack')).toBe(3);
    box.ack('slack', 1);
    expect(box.depth()).toBe(2);
    expect(readdirSync(dir).filter((f) => f.startsWith('msg-'))).toEqual(['msg-0000000000000002.json', 'msg-0000000000000003.json']);
  });

  it('a reopened outbox resumes where each consumer stopped and continues the sequence after compaction', () => {
    const dir = tmp();
    const first = open(dir);
    for (const n of numbered(4)) first.append(n);
    first.ack('log', 4);
    first.ack('slack', 2);
    const second = open(dir);
    expect(second.next('log')).toBeUndefined();
    expect(second.next('slack')?.id).toBe('msg-3');
    expect(second.depth()).toBe(2);
    second.ack('slack', 3);
    second.ack('slack', 4);
    expect(second.depth()).toBe(0);
    const third = open(dir);
    const [extra] = numbered(1, 'later');
    if (!extra) throw new Error('fixture');
    expect(third.append(extra).seq).toBe(5);
  });

  it('a newly configured notifier starts at the oldest stored message', () => {
    const dir = tmp();
    const first = open(dir, ['log']);
    for (const n of numbered(3)) first.append(n);
    first.ack('log', 1);
    const second = open(dir, ['log', 'slack']);
    expect(second.next('slack')?.id).toBe('msg-2');
  });

  it('incomplete writes are removed and unreadable files set aside, loudly', () => {
    const dir = tmp();
    const first = open(dir);
    for (const n of numbered(2)) first.append(n);
    writeFileSync(join(dir, '.msg-0000000000000003.json.tmp'), '{"half');
    writeFileSync(join(dir, 'msg-0000000000000002.json'), 'not json');
    const logger = memoryLogger();
    const second = open(dir, ['log', 'slack'], logger);
    expect(second.next('slack')?.id).toBe('msg-1');
    expect(second.depth()).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(['msg-0000000000000001.json', 'msg-0000000000000002.json.corrupt']);
    expect(logger.lines.map((l) => l.msg)).toEqual(['outbox: removing an incomplete write', 'outbox: unreadable message file set aside']);
  });

  it('a disk that refuses writes loses nothing in this process and says so', () => {
    const dir = tmp();
    const logger = memoryLogger();
    const errors: string[] = [];
    const box = Outbox.open({ dir, consumers: ['log'], now: () => 0, logger, onWriteError: (w) => errors.push(w) });
    rmSync(dir, { recursive: true, force: true });
    const [n] = numbered(1);
    if (!n) throw new Error('fixture');
    box.append(n);
    expect(box.next('log')?.id).toBe('msg-1');
    box.ack('log', 1);
    expect(errors).toEqual(['message', 'cursor']);
    expect(logger.lines.map((l) => l.level)).toEqual(['error', 'error']);
  });

  it('rejects notifier names that cannot be file names', () => {
    expect(() => open(tmp(), ['../evil'])).toThrow(/must match/);
  });
});
