/** The World moved to src/domain/world.ts (commands still import it from here). */
export type { World } from '../domain/world.js';
