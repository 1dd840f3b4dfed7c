import { ConfigError, parseConfigText } from '../../src/config/load.js';

/** The problems of the ConfigError `fn` throws (a test failure when it throws none, or another error). */
export function configProblems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** The problems of a YAML config text (as `x.yml`). */
export const yamlProblems = (text: string): string[] => configProblems(() => parseConfigText(text, 'x.yml'));
