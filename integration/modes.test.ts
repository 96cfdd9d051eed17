// The host and container network modes, against namespaces networked by hand.
import test from 'ava';
import { Sandbox, type Container } from './sandbox.js';

const conf = (type: string, extra: object = {}) => ({ cniVersion: '1.0.0', name: 'mode-net', type, ...extra });

/** A container wired to the sandbox host by a veth: 10.77.0.2/24 inside, 10.77.0.1 on the host. */
async function networked(sb: Sandbox): Promise<Container> {
  const c = await sb.container();
  await sb.exec('ip', ['link', 'add', 'vh0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', c.name]);
  await sb.exec('ip', ['addr', 'add', '10.77.0.1/24', 'dev', 'vh0']);
  await sb.exec('ip', ['link', 'set', 'vh0', 'up']);
  for (const args of [['addr', 'add', '10.77.0.2/24', 'dev', 'eth0'], ['link', 'set', 'eth0', 'up'], ['link', 'set', 'lo', 'up'], ['route', 'add', 'default', 'via', '10.77.0.1']]) {
    await sb.exec('ip', args, c.path);
  }
  return c;
}

test('host: ADD reports the host namespace and changes nothing; ports are discarded with a warning', async (t) => {
  const sb = await Sandbox.create(t);
  await networked(sb);
  const globalAddrs = async () => (await sb.exec('ip', ['-o', 'addr', 'show', 'scope', 'global'])).stdout;
  const before = await globalAddrs();
  const add = await sb.plugin('host', {
    command: 'ADD',
    config: conf('host', { runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] } }),
    containerId: 'h1',
    netns: sb.hostPath,
  });
  t.is(add.exitCode, 0, add.stdout);
  t.deepEqual(add.json.interfaces.map((i: any) => i.name), ['vh0']);
  t.deepEqual(add.json.ips.map((i: any) => i.address), ['10.77.0.1/24']);
  t.regex(add.stderr, /Published ports are discarded when using host network mode/);
  t.is(await globalAddrs(), before);
  t.is((await sb.plugin('host', { command: 'CHECK', config: conf('host'), containerId: 'h1', netns: sb.hostPath })).exitCode, 0);
  t.is((await sb.plugin('host', { command: 'DEL', config: conf('host'), containerId: 'h1', netns: sb.hostPath })).exitCode, 0);
});

test('host: a namespace other than the host is refused', async (t) => {
  const sb = await Sandbox.create(t);
  const c = await sb.container();
  const add = await sb.plugin('host', { command: 'ADD', config: conf('host'), containerId: 'h1', netns: c.path });
  t.is(add.exitCode, 1);
  t.is(add.json.code, 4);
  t.regex(add.json.msg, /not the host's network namespace/);
});

test("container: ADD reports the owner's network, traffic works from the joined namespace, DEL leaves it intact", async (t) => {
  const sb = await Sandbox.create(t);
  const owner = await networked(sb);
  const add = await sb.plugin('container', { command: 'ADD', config: conf('container'), containerId: 'joiner', netns: owner.path });
  t.is(add.exitCode, 0, add.stdout);
  t.like(add.json.interfaces[0], { name: 'eth0', sandbox: owner.path });
  t.deepEqual(add.json.ips, [{ address: '10.77.0.2/24', gateway: '10.77.0.1', interface: 0 }]);
  t.true(add.json.routes.some((r: any) => r.dst === '0.0.0.0/0' && r.gw === '10.77.0.1'));

  await sb.echoServer(9000);
  t.is(await sb.send(owner.path, '10.77.0.1', 9000, 'from-joined'), 'from-joined');

  t.is((await sb.plugin('container', { command: 'CHECK', config: conf('container'), containerId: 'joiner', netns: owner.path })).exitCode, 0);
  t.is((await sb.plugin('container', { command: 'DEL', config: conf('container'), containerId: 'joiner', netns: owner.path })).exitCode, 0);
  t.regex((await sb.exec('ip', ['-o', 'addr', 'show', 'eth0'], owner.path)).stdout, /10\.77\.0\.2\/24/);
  t.is(await sb.send(owner.path, '10.77.0.1', 9000, 'still-there'), 'still-there');
});

test('container: a namespace without a network is refused clearly; CHECK fails once the network is gone', async (t) => {
  const sb = await Sandbox.create(t);
  const bare = await sb.container();
  const add = await sb.plugin('container', { command: 'ADD', config: conf('container'), containerId: 'j', netns: bare.path });
  t.is(add.exitCode, 1);
  t.is(add.json.code, 104);
  t.regex(add.json.msg, /has no network/);

  const owner = await networked(sb);
  await sb.exec('ip', ['link', 'del', 'eth0'], owner.path);
  const check = await sb.plugin('container', { command: 'CHECK', config: conf('container'), containerId: 'j', netns: owner.path });
  t.is(check.json?.code, 104);
});
