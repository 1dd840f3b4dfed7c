/* global process */
/**
 * A Slack incoming-webhook stand-in for the guest (the bench's Alertmanager arm): listens on 127.0.0.1:PORT,
 * answers every POST with 200 `ok` as Slack does, and appends one JSON line per request ({ t, path, text }) to
 * FILE, so the arm can tell whether a person would have been told. Run under systemd-run; stopped with the guest.
 *
 *   node fake-slack.mjs PORT FILE
 */
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [port, file] = process.argv.slice(2);
if (port === undefined || file === undefined) {
  process.stderr.write('usage: node fake-slack.mjs PORT FILE\n');
  process.exit(2);
}
createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d.toString()));
  req.on('end', () => {
    let text;
    try {
      text = String(JSON.parse(body).text ?? '');
    } catch (error) {
      text = `(not JSON: ${error instanceof Error ? error.message : String(error)})`;
    }
    appendFileSync(file, `${JSON.stringify({ t: Date.now(), path: req.url, text })}\n`);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
}).listen(Number(port), '127.0.0.1');
