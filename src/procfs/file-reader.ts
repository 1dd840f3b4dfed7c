import { closeSync, openSync, readSync, readdirSync, readlinkSync } from 'node:fs';

/**
 * The only place procfs/cgroupfs bytes are read. Parsing is separate (./parse). Reads are synchronous on
 * purpose: /proc files are generated in memory by the kernel, and one open/read/close into a reused buffer is
 * several times cheaper than fs.promises for thousands of tiny files.
 */
export interface FileReader {
  /** The whole file as text; throws the Node error (code ENOENT, EACCES, ESRCH, …) on failure. */
  readText(path: string): string;
  /**
   * The file's bytes, as a view that is only valid until the next read through this reader (no copy, no
   * string): for the per-process hot path.
   */
  readBytes(path: string): Uint8Array;
  /** The file as text, or undefined when it does not exist. Other errors are thrown. */
  readOptional(path: string): string | undefined;
  /** Names of the entries of a directory. */
  listDir(path: string): string[];
  /** Names of the sub-directories of a directory. */
  listSubdirs(path: string): string[];
  /** Target of a symbolic link. */
  readLink(path: string): string;
}

/** The real file system, with one reused read buffer per instance (grown when a file is larger). */
export class NodeFileReader implements FileReader {
  private buffer = Buffer.allocUnsafe(64 * 1024);

  readText(path: string): string {
    const length = this.readIntoBuffer(path);
    return this.buffer.toString('utf8', 0, length);
  }

  readBytes(path: string): Uint8Array {
    const length = this.readIntoBuffer(path);
    return this.buffer.subarray(0, length);
  }

  /** Reads the whole file into the reused buffer (growing it when needed); returns its length. */
  private readIntoBuffer(path: string): number {
    const fd = openSync(path, 'r');
    try {
      let length = 0;
      for (;;) {
        if (length === this.buffer.length) {
          const bigger = Buffer.allocUnsafe(this.buffer.length * 2);
          this.buffer.copy(bigger, 0, 0, length);
          this.buffer = bigger;
        }
        const n = readSync(fd, this.buffer, length, this.buffer.length - length, null);
        if (n === 0) break;
        length += n;
      }
      return length;
    } finally {
      closeSync(fd);
    }
  }

  readOptional(path: string): string | undefined {
    try {
      return this.readText(path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
  }

  listDir(path: string): string[] {
    return readdirSync(path);
  }

  readLink(path: string): string {
    return readlinkSync(path);
  }

  listSubdirs(path: string): string[] {
    return readdirSync(path, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  }
}

/** The errno-style code of a Node error, if any. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** Why a read failed, as counted in headroom_scrape_errors_total{reason}. */
export type ReadFailure = 'vanished' | 'permission' | 'malformed' | 'io';

export function classifyReadError(error: unknown): ReadFailure {
  const code = errorCode(error);
  if (code === 'ENOENT' || code === 'ESRCH' || code === 'ENOTDIR') return 'vanished';
  if (code === 'EACCES' || code === 'EPERM') return 'permission';
  if (error instanceof Error && error.name === 'MalformedError') return 'malformed';
  return 'io';
}
