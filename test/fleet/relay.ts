import { connect, createServer } from 'node:net';

/**
 * A TCP relay run inside a host's network namespace: 127.0.0.1:<listen port> → <upstream host>:<port>. The
 * agent's Slack URL points at this loopback address (headroom accepts plain http only on loopback), and the
 * relay carries it across the host's link to the fake Slack on the hub; when the link is cut the upstream
 * connection fails and the agent's delivery fails like an unreachable Slack.
 *   relay.ts <listen port> <upstream host> <upstream port>
 */
const [listenPort, upstreamHost, upstreamPort] = process.argv.slice(2);
if (listenPort === undefined || upstreamHost === undefined || upstreamPort === undefined) throw new Error('usage: relay.ts <listen port> <upstream host> <upstream port>');
const server = createServer((client) => {
  const upstream = connect({ host: upstreamHost, port: Number(upstreamPort), timeout: 2_000 });
  upstream.on('timeout', () => upstream.destroy(new Error('upstream timeout')));
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
  client.pipe(upstream).pipe(client);
});
server.listen(Number(listenPort), '127.0.0.1', () => process.stdout.write(`relay ready ${listenPort}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
