import { readFileSync } from 'node:fs';
import { load as parseYaml, YAMLException } from 'js-yaml';
import type { z } from 'zod';
import { configSchema, type HeadroomConfig } from './schema.js';

/** A config problem, worded for the person who edits the file: key, bad value, what is allowed. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source}: invalid configuration\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('');
}

/** Turns zod issues into one line each: "collectors.top_processes.top_k: got -1; must be a whole number ≥ 1". */
export function describeIssues(raw: unknown, issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys
        .map((key) => `${formatPath([...issue.path, key])}: ${issue.message.replace('unknown key', `unknown key "${key}"`)}`)
        .join('\n  - ');
    }
    const got = valueAt(raw, issue.path);
    // A cross-field rule about a key left at its default says the value itself.
    if (issue.code === 'custom' && (got === undefined || issue.message.startsWith('is '))) return `${formatPath(issue.path)}: ${issue.message}`;
    const message = issue.code === 'invalid_type' && got === undefined ? 'is required' : issue.message;
    return `${formatPath(issue.path)}: got ${show(got)}; ${message}`;
  });
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  boolean: 'true or false',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  array: 'a list',
  object: 'a mapping of keys',
  record: 'a mapping of keys',
};

function bound(kind: 'min' | 'max', value: number | bigint, inclusive: boolean | undefined, origin: string): string {
  if (origin === 'string') return kind === 'min' ? (Number(value) <= 1 ? 'must not be empty' : `must be at least ${value} characters`) : `must be at most ${value} characters`;
  if (origin === 'array' || origin === 'set') return kind === 'min' ? `must have at least ${value} entries` : `must have at most ${value} entries`;
  if (kind === 'min') return inclusive === false ? `must be above ${value}` : `must be at least ${value}`;
  return inclusive === false ? `must be below ${value}` : `must be at most ${value}`;
}

/**
 * What a config key allows, in the file's terms, for the checks whose rule gives no message of its own
 * (z.boolean(), z.string().min(1), z.enum …): zod's defaults ("Invalid input: expected boolean, received
 * string") name neither the key nor what to write. Rules with their own message keep it.
 */
export const configErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${TYPE_WORDS[issue.expected] ?? issue.expected}`;
    case 'too_small':
      return bound('min', issue.minimum, issue.inclusive, issue.origin);
    case 'too_big':
      return bound('max', issue.maximum, issue.inclusive, issue.origin);
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'regex' && 'pattern' in issue ? `must match ${String(issue.pattern)}` : `must be a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'invalid_union':
      return 'has the wrong type for this key (see docs/ for what it takes)';
    default:
      return undefined;
  }
};

/** Validates an already-parsed document. Throws ConfigError. */
export function parseConfig(raw: unknown, source: string): HeadroomConfig {
  const doc = raw === undefined || raw === null ? {} : raw;
  const result = configSchema.safeParse(doc, { error: configErrorMap });
  if (!result.success) throw new ConfigError(source, describeIssues(doc, result.error.issues));
  return result.data;
}

/** Parses YAML text into a raw document (a mapping of sections; empty text is an empty mapping). */
export function parseYamlDocument(text: string, source: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    if (error instanceof YAMLException) throw new ConfigError(source, [`not valid YAML: ${error.message}`]);
    throw error;
  }
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(source, [`(top level): got ${show(raw)}; must be a mapping of sections (agent:, collectors:, …)`]);
  }
  return raw as Record<string, unknown>;
}

/** Parses YAML text and validates it. Throws ConfigError. */
export function parseConfigText(text: string, source: string): HeadroomConfig {
  return parseConfig(parseYamlDocument(text, source), source);
}

/** Reads a config file as a YAML document (not yet validated); with no path, an empty document. */
export function readConfigDocument(path: string | undefined, how = 'with --config'): Record<string, unknown> {
  if (path === undefined) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
    const what = code === 'ENOENT' ? 'the file does not exist' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory, not a file' : 'an I/O error';
    throw new ConfigError(path, [`cannot read the file (${what}: ${reason}); pass an existing, readable YAML file ${how}`]);
  }
  return parseYamlDocument(text, path);
}

/** Reads and validates a config file; with no path, the defaults. Throws ConfigError. */
export function loadConfig(path: string | undefined, how?: string): HeadroomConfig {
  return parseConfig(readConfigDocument(path, how), path ?? 'defaults');
}

/**
 * Applies command-line overrides ({section: {key: value}}) on top of a raw document, then validates the
 * result, so a flag is checked by the same rules and messages as the file.
 */
export function loadConfigWithOverrides(
  path: string | undefined,
  overrides: Readonly<Record<string, Readonly<Record<string, unknown>>>>,
): HeadroomConfig {
  const raw = readConfigDocument(path);
  for (const [sectionName, values] of Object.entries(overrides)) {
    const defined = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
    if (Object.keys(defined).length === 0) continue;
    const current = raw[sectionName];
    raw[sectionName] = { ...(typeof current === 'object' && current !== null ? current : {}), ...defined };
  }
  return parseConfig(raw, path ?? 'command line');
}
