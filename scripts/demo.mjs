// The Quick-start demo: wires two throwaway namespaces through the real plugin executables
// (`none` and `loopback`), shows what they print and what the namespaces hold, then removes
// everything. Nothing outside the two namespaces is touched.
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cniPath = join(root, 'bin', 'cni');
const id = randomBytes(3).toString('hex');
const namespaces = [`ctnet-demo-${id}-a`, `ctnet-demo-${id}-b`];

async function plugin(type, command, ns, cniVersion = '1.1.0') {
  const r = await execa(join(cniPath, type), [], {
    env: { CNI_COMMAND: command, CNI_CONTAINERID: `demo-${id}`, CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'lo', CNI_PATH: cniPath },
    input: JSON.stringify({ cniVersion, name: 'demo', type }),
    reject: false,
  });
  if (r.exitCode !== 0) throw new Error(`${type} ${command} failed: ${r.stdout || r.stderr}`);
  return r.stdout;
}

// A TCP server and client on 127.0.0.1 inside the namespace: proof that lo really carries traffic.
const TCP_ROUND_TRIP = `
const net = require('net');
const srv = net.createServer((s) => s.end('pong')).listen(0, '127.0.0.1', () => {
  const c = net.connect(srv.address().port, '127.0.0.1');
  c.on('data', (d) => { console.log('TCP over 127.0.0.1: sent ping, got ' + d); srv.close(); });
  c.on('error', (e) => { console.error(e.message); process.exit(1); });
});`;

const step = (text) => console.log(`\n\x1b[1m== ${text}\x1b[0m`);
try {
  for (const ns of namespaces) await execa('ip', ['netns', 'add', ns]);
  step(`CNI_COMMAND=VERSION ${join('bin', 'cni', 'none')}`);
  console.log((await execa(join(cniPath, 'none'), [], { env: { CNI_COMMAND: 'VERSION' }, input: '' })).stdout);

  step(`none ADD in ${namespaces[0]} (cniVersion 1.1.0)`);
  console.log(JSON.stringify(JSON.parse(await plugin('none', 'ADD', namespaces[0])), null, 2));
  step(`loopback ADD in ${namespaces[1]} (cniVersion 0.3.1: the result comes in 0.3.1's shape)`);
  console.log(JSON.stringify(JSON.parse(await plugin('loopback', 'ADD', namespaces[1], '0.3.1')), null, 2));

  for (const ns of namespaces) {
    step(`ip -br addr inside ${ns}`);
    console.log((await execa('ip', ['-n', ns, '-br', 'addr'])).stdout);
    const tcp = await execa('nsenter', [`--net=/run/netns/${ns}`, '--', process.execPath, '-e', TCP_ROUND_TRIP], { reject: false });
    console.log(tcp.exitCode === 0 ? tcp.stdout : `TCP over 127.0.0.1 FAILED: ${tcp.stderr}`);
  }

  step('CHECK then DEL through both plugins');
  await plugin('none', 'CHECK', namespaces[0]);
  await plugin('loopback', 'CHECK', namespaces[1]);
  await plugin('none', 'DEL', namespaces[0]);
  await plugin('loopback', 'DEL', namespaces[1]);
  console.log('CHECK ok, DEL ok');
} finally {
  for (const ns of namespaces) await execa('ip', ['netns', 'delete', ns], { reject: false });
  step('cleaned up: both namespaces removed');
}
