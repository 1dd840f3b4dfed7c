import { renameSync, writeFileSync } from 'node:fs';
import { FakeSlack } from '../support/fake-slack.js';

/**
 * The fleet test's "Slack": one FakeSlack per host, run as a process inside the test's hub network namespace
 * (the test process itself lives in the root namespace and cannot listen there). Usage:
 *   slack-process.ts <listen address> <out dir> <name>:<port>:<secret> ...
 * Prints "ready <name> <url>" per instance, then keeps <out dir>/slack-<name>.json (the delivered bodies, in
 * order) up to date until SIGTERM.
 */
const [host, outDir, ...specs] = process.argv.slice(2);
if (host === undefined || outDir === undefined || specs.length === 0) throw new Error('usage: slack-process.ts <host> <out dir> <name>:<port>:<secret> ...');
const fakes: Array<{ name: string; fake: FakeSlack; written: number }> = [];
for (const spec of specs) {
  const [name = '', port = '0', secret = ''] = spec.split(':');
  const fake = await FakeSlack.start({ host, port: Number(port), secret });
  fakes.push({ name, fake, written: -1 });
  process.stdout.write(`ready ${name} ${fake.url}\n`);
}
const dump = (): void => {
  for (const f of fakes) {
    const delivered = f.fake.delivered();
    if (delivered.length === f.written) continue;
    const file = `${outDir}/slack-${f.name}.json`;
    writeFileSync(`${file}.tmp`, JSON.stringify(delivered));
    renameSync(`${file}.tmp`, file);
    f.written = delivered.length;
  }
};
const timer = setInterval(dump, 100);
dump();
process.on('SIGTERM', () => {
  clearInterval(timer);
  dump();
  void Promise.all(fakes.map((f) => f.fake.close())).then(() => process.exit(0));
});
