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

/** Validates an already-parsed document. Throws ConfigError. */
export function parseConfig(raw: unknown, source: string): HeadroomConfig {
  const doc = raw === undefined || raw === null ? {} : raw;
  const result = configSchema.safeParse(doc);
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
export function readConfigDocument(path: string | undefined): Record<string, unknown> {
  if (path === undefined) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(path, [`cannot read the file (${reason}); pass an existing, readable YAML file with --config`]);
  }
  return parseYamlDocument(text, path);
}

/** Reads and validates a config file; with no path, the defaults. Throws ConfigError. */
export function loadConfig(path: string | undefined): HeadroomConfig {
  return parseConfig(readConfigDocument(path), path ?? 'defaults');
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
