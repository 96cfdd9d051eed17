// The `ctnet` CLI end to end (issue 7's "done means"): real containers (namespace + process) on
// real bridges in a sandbox host namespace, published ports answering HTTP, isolation between
// networks, the four modes, connect/disconnect, and removal leaving nothing behind.
import test from 'ava';
import { existsSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cliSandbox, echoServer, httpServer, sendLine } from './engine-cli-harness.js';

const wget = (url: string) => ['curl', '-sf', '--max-time', '2', url];
const addressOf = (inspect: string, network: string) => JSON.parse(inspect)[0].NetworkSettings.Networks[network].IPAddress as string;

test('run -d -p 8080:80 answers HTTP on 127.0.0.1:8080 and the host address; -p 80 gets a reported ephemeral port', async (t) => {
  const c = await cliSandbox(t);
  // A host address besides loopback, as a machine's LAN address.
  await c.sb.exec('ip', ['link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1']);
  await c.sb.exec('ip', ['addr', 'add', '192.0.2.10/24', 'dev', 'lan0']);
  await c.sb.exec('ip', ['link', 'set', 'lan0', 'up']);

  const web = httpServer(t, 'hello from web');
  const id = (await c.ok(['run', '-d', '--name', 'web', '-p', '8080:80', '--', ...web.command])).trim();
  t.regex(id, /^[0-9a-f]{64}$/);
  t.is((await c.hostUntil(wget('http://127.0.0.1:8080/'))).trim(), 'hello from web');
  t.is((await c.hostUntil(wget('http://192.0.2.10:8080/'))).trim(), 'hello from web');
  t.is(await c.ok(['port', 'web']), '80/tcp -> 0.0.0.0:8080');
  t.is(await c.ok(['port', 'web', '80']), '0.0.0.0:8080');

  const eph = httpServer(t, 'hello from eph');
  await c.ok(['run', '-d', '--name', 'eph', '-p', '80', '--', ...eph.command]);
  const m = /^80\/tcp -> 0\.0\.0\.0:(\d+)$/.exec(await c.ok(['port', 'eph']));
  t.truthy(m, 'ctnet port reports the allocated port');
  const [low, high] = (await c.sb.exec('cat', ['/proc/sys/net/ipv4/ip_local_port_range'])).stdout.trim().split(/\s+/).map(Number);
  const port = Number(m![1]);
  t.true(port >= low! && port <= high!, `${port} is in the ephemeral range ${low}-${high}`);
  t.is((await c.hostUntil(wget(`http://127.0.0.1:${port}/`))).trim(), 'hello from eph');

  // ps, inspect and the JSON formats.
  const ps = JSON.parse(await c.ok(['ps', '--format', 'json']));
  t.deepEqual(ps.map((p: any) => [p.Names, p.State]).sort(), [['eph', 'running'], ['web', 'running']]);
  t.regex(await c.ok(['ps']), /0\.0\.0\.0:8080->80\/tcp\s+bridge\s+web/);
  const inspect = JSON.parse(await c.ok(['inspect', 'web']))[0];
  t.is(inspect.Id, id);
  t.deepEqual(inspect.NetworkSettings.Ports['80/tcp'], [{ HostIp: '0.0.0.0', HostPort: '8080' }]);
  t.regex(inspect.NetworkSettings.Networks.bridge.IPAddress, /^172\.17\.0\.\d+$/);

  // A host port already published is refused in Docker's words, and nothing is left of the attempt.
  const clash = await c.ctnet(['run', '-d', '--name', 'clash', '-p', '8080:80', '--', 'sleep', '30']);
  t.is(clash.exitCode, 125);
  t.is(clash.stderr, 'ctnet: Bind for 0.0.0.0:8080 failed: port is already allocated');
  t.is((await c.ctnet(['inspect', 'clash'])).stderr, 'ctnet: No such container: clash');
});

test('user networks: members reach each other, other networks do not, --internal has no way out; connect adds eth1, disconnect removes it', async (t) => {
  const c = await cliSandbox(t);
  // The stand-in "outside": a namespace behind a veth, with an echo server.
  const out = await c.sb.outside();
  await c.sb.echoServer(7000, out.path);

  await c.ok(['network', 'create', 'front']);
  await c.ok(['network', 'create', 'back']);
  await c.ok(['network', 'create', '--internal', 'sealed']);
  await c.ok(['run', '-d', '--name', 'a', '--network', 'front', '--', ...echoServer(7000)]);
  await c.ok(['run', '-d', '--name', 'b', '--network', 'front', '--', 'sleep', '300']);
  await c.ok(['run', '-d', '--name', 'x', '--network', 'back', '--', ...echoServer(7000)]);
  await c.ok(['run', '-d', '--name', 's', '--network', 'sealed', '--', 'sleep', '300']);
  const a = addressOf(await c.ok(['inspect', 'a']), 'front');
  const x = addressOf(await c.ok(['inspect', 'x']), 'back');

  t.is((await c.execUntil('b', sendLine(7000, a), { input: 'ping\n' })).trim(), 'ping', 'b reaches a on their network');
  const cross = await c.ctnet(['exec', 'b', '--', ...sendLine(7000, x)], { input: 'ping\n' });
  t.not(cross.exitCode, 0, 'b does not reach x on another network');
  t.is((await c.execUntil('b', sendLine(7000, '198.51.100.2'), { input: 'out\n' })).trim(), 'out', 'a normal network reaches the outside');
  const sealed = await c.ctnet(['exec', 's', '--', ...sendLine(7000, '198.51.100.2')], { input: 'out\n' });
  t.not(sealed.exitCode, 0, 'an --internal network does not');
  t.notRegex(await c.ok(['exec', 's', '--', 'ip', 'route']), /default/);

  // connect: eth1 on back, with an address that works; disconnect: gone again.
  await c.ok(['network', 'connect', 'back', 'b']);
  const links = await c.ok(['exec', 'b', '--', 'ip', '-br', 'addr', 'show', 'eth1']);
  const bOnBack = addressOf(await c.ok(['inspect', 'b']), 'back');
  t.true(links.includes(bOnBack), `eth1 holds ${bOnBack}: ${links}`);
  t.is((await c.execUntil('b', sendLine(7000, x), { input: 'via eth1\n' })).trim(), 'via eth1');
  t.regex(await c.ok(['exec', 'b', '--', 'ip', 'route']), /^default via \S+ dev eth0/m, 'the default route stays with the first network');
  t.true((await c.ok(['exec', 'b', '--', 'cat', '/etc/hosts'])).includes(bOnBack), "the container's /etc/hosts names its new address");
  await c.ok(['network', 'disconnect', 'back', 'b']);
  t.false((await c.ok(['exec', 'b', '--', 'cat', '/etc/hosts'])).includes(bOnBack), 'and forgets it on disconnect');
  t.not((await c.ctnet(['exec', 'b', '--', 'ip', 'link', 'show', 'eth1'])).exitCode, 0);
  t.deepEqual(Object.keys(JSON.parse(await c.ok(['inspect', 'b']))[0].NetworkSettings.Networks), ['front']);
});

test('modes: none has only lo, host sees the host namespace, container:web shares web and reaches it on 127.0.0.1', async (t) => {
  const c = await cliSandbox(t);
  await c.sb.exec('ip', ['link', 'add', 'hostonly0', 'type', 'veth', 'peer', 'name', 'hostonly1']);

  t.deepEqual((await c.ok(['run', '--name', 'n', '--network', 'none', '--', 'ip', '-o', 'link'])).split('\n').map((l) => l.split(':')[1]!.trim()), ['lo']);
  const hostMode = await c.ctnet(['run', '--name', 'h', '--network', 'host', '-p', '80:80', '--', 'ip', '-o', 'link']);
  t.is(hostMode.exitCode, 0);
  t.regex(hostMode.stdout, /hostonly0/);
  t.is(hostMode.stderr, 'WARNING: Published ports are discarded when using host network mode');

  const web = httpServer(t, 'shared');
  await c.ok(['run', '-d', '--name', 'web', '--', ...web.command]);
  await c.ok(['run', '-d', '--name', 'side', '--network', 'container:web', '--', 'sleep', '300']);
  t.is((await c.execUntil('side', wget('http://127.0.0.1:80/'))).trim(), 'shared');
  const webAddr = addressOf(await c.ok(['inspect', 'web']), 'bridge');
  t.regex(await c.ok(['exec', 'side', '--', 'ip', '-br', 'addr', 'show', 'eth0']), new RegExp(`${webAddr.replace(/\./g, '\\.')}/16`));

  const conflict = await c.ctnet(['run', '--name', 'p', '--network', 'container:web', '-p', '80', '--', 'true']);
  t.is(conflict.stderr, 'ctnet: conflicting options: port publishing and the container type network mode');
  await c.ok(['stop', '-t', '1', 'web']);
  const stopped = await c.ctnet(['run', '--name', 'late', '--network', 'container:web', '--', 'true']);
  t.is(stopped.stderr, 'ctnet: cannot join network namespace of container web: it is not running');
  t.is(stopped.exitCode, 125);

  // Foreground runs and exec return the command's status; usage errors 2; engine errors 1.
  t.is((await c.ctnet(['run', '--name', 'three', '--network', 'none', '--', 'sh', '-c', 'exit 3'])).exitCode, 3);
  // A detached one's status is kept by its monitor, for inspect and ps -a, as SIGTERM's is for web.
  await c.ok(['run', '-d', '--name', 'quitter', '--network', 'none', '--', 'sh', '-c', 'sleep 0.2; exit 7']);
  const state = async (name: string) => JSON.parse(await c.ok(['inspect', name]))[0].State;
  for (let i = 0; i < 100 && (await state('quitter')).Running; i++) await new Promise((r) => setTimeout(r, 50));
  t.like(await state('quitter'), { Status: 'exited', Running: false, ExitCode: 7 });
  t.like(await state('web'), { Status: 'exited', ExitCode: 143 });
  const ps = JSON.parse(await c.ok(['ps', '-a', '--format', 'json'])).find((p: any) => p.Names === 'quitter');
  t.regex(ps.Status, /^Exited \(7\)/);
  t.is((await c.ctnet(['exec', 'side', '--', 'sh', '-c', 'exit 4'])).exitCode, 4);
  t.is((await c.ctnet(['run', '--bogus'])).exitCode, 2);
  const missing = await c.ctnet(['rm', 'nosuch']);
  t.deepEqual([missing.exitCode, missing.stderr], [1, 'ctnet: No such container: nosuch']);
});

test('network rm is refused while containers are attached; after rm -f nothing remains: bridge, rules, reservations, namespaces', async (t) => {
  const c = await cliSandbox(t);
  const rules = async () => (await c.sb.exec('iptables-save', [])).stdout + (await c.sb.exec('ip6tables-save', [])).stdout;
  await c.ok(['network', 'create', '--subnet', '10.77.0.0/24', '-o', 'com.docker.network.bridge.name=br-gone', 'gone']);
  await c.ok(['run', '-d', '--name', 'one', '--network', 'gone', '-p', '9090:80', '--', 'sleep', '300']);
  await c.ok(['run', '-d', '--name', 'two', '--network', 'gone', '--', 'sleep', '300']);
  t.regex(await rules(), /10\.77\.0\./);

  const refused = await c.ctnet(['network', 'rm', 'gone']);
  t.is(refused.exitCode, 1);
  t.regex(refused.stderr, /^ctnet: error while removing network: network gone id [0-9a-f]{64} has active endpoints \(one, two\)$/);
  t.is((await c.ctnet(['rm', 'one'])).exitCode, 1, 'rm of a running container needs -f');

  await c.ok(['rm', '-f', 'one', 'two']);
  t.is(await c.ok(['network', 'rm', 'gone']), 'gone');
  t.is((await c.ctnet(['network', 'rm', 'bridge'])).stderr, 'ctnet: bridge is a pre-defined network and cannot be removed');

  t.notRegex((await c.sb.exec('ip', ['-o', 'link'])).stdout, /br-gone|veth/);
  t.notRegex(await rules(), /10\.77\.0\.|9090|br-gone/);
  t.false(existsSync(join(c.root, 'ipam', 'gone')));
  t.deepEqual(readdirSync(join(c.root, 'netns')), []);
  t.deepEqual(readdirSync(join(c.root, 'containers')), []);
  t.deepEqual(readdirSync(join(c.root, 'cni', 'results')), []);
  const leftovers = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? leftovers(join(dir, e.name)) : /lock/.test(e.name) ? [] : [join(dir, e.name)]));
  t.deepEqual(leftovers(c.sb.stateDir).filter((f) => /port|9090/.test(f)), [], 'no port reservation remains');
});

test('daemon.json: bip and icc shape the default bridge; a killed run leaves a record that does not block the name', async (t) => {
  const dir = join(process.env.TMPDIR ?? '/tmp', `ctnet-daemon-json-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  t.teardown(() => import('node:fs').then((fs) => fs.rmSync(dir, { recursive: true, force: true })));
  const config = join(dir, 'daemon.json');
  writeFileSync(config, JSON.stringify({ bip: '10.123.0.1/24', icc: false, mtu: 1400 }));
  const c = await cliSandbox(t, { configFile: config });

  const bridge = JSON.parse(await c.ok(['network', 'inspect', 'bridge']))[0];
  t.deepEqual(bridge.IPAM.Config, [{ Subnet: '10.123.0.0/24', Gateway: '10.123.0.1' }]);
  t.is(bridge.Options['com.docker.network.bridge.enable_icc'], 'false');
  await c.ok(['run', '-d', '--name', 'a', '--', 'sleep', '300']);
  t.regex(addressOf(await c.ok(['inspect', 'a']), 'bridge'), /^10\.123\.0\.\d+$/);
  t.regex(await c.ok(['exec', 'a', '--', 'ip', 'link', 'show', 'eth0']), /mtu 1400/);

  // A changed bip with a container attached is refused where it matters, and applied once it is gone.
  writeFileSync(config, JSON.stringify({ bip: '10.124.0.1/24' }));
  const refused = await c.ctnet(['run', '--name', 'b', '--', 'true']);
  t.regex(refused.stderr, /^ctnet: the default bridge network's settings changed \(daemon.json bip 10\.124\.0\.1\/24\), but containers are attached to it \(a\): remove them to apply the change$/);
  await c.ok(['rm', '-f', 'a']);
  t.deepEqual(JSON.parse(await c.ok(['network', 'inspect', 'bridge']))[0].IPAM.Config, [{ Subnet: '10.124.0.0/24', Gateway: '10.124.0.1' }]);

  writeFileSync(config, '{"bip": "10.124.0.1/24", "nonsense": 1}');
  t.regex((await c.ctnet(['ps'])).stderr, /^ctnet: .*daemon\.json: unknown key nonsense/);
  writeFileSync(config, '{}');

  // What a command killed half-way leaves: a record still "creating". The name is free again.
  const id = 'f'.repeat(64);
  mkdirSync(join(c.root, 'containers', id), { recursive: true });
  writeFileSync(
    join(c.root, 'containers', id, 'config.json'),
    JSON.stringify({ id, name: 'again', created: new Date().toISOString(), state: 'creating', command: ['true'], mode: { kind: 'bridge' }, attachments: [], ports: [], hostname: 'x', dns: { servers: [], search: [], options: [] }, extraHosts: [] }),
  );
  await c.ok(['run', '-d', '--name', 'again', '--', 'sleep', '300']);
  t.false(existsSync(join(c.root, 'containers', id)));
});

test('concurrent runs on one network get distinct addresses', async (t) => {
  const c = await cliSandbox(t);
  await c.ok(['network', 'create', 'busy']);
  await Promise.all(['p1', 'p2', 'p3', 'p4'].map((n) => c.ok(['run', '-d', '--name', n, '--network', 'busy', '--', 'sleep', '300'])));
  const members = JSON.parse(await c.ok(['network', 'inspect', 'busy']))[0].Containers;
  const addresses = Object.values(members).map((m: any) => m.IPv4Address);
  t.is(new Set(addresses).size, 4);
});

test('system prune after a crash and a reboot-like wipe: dead containers and leaked addresses and rules are released', async (t) => {
  const c = await cliSandbox(t);
  await c.ok(['network', 'create', '--subnet', '10.123.0.0/24', 'app']);
  await c.ok(['run', '-d', '--name', 'gone', '--network', 'app', '-p', '9090:80', '--', 'sleep', '600']);
  await c.ok(['run', '-d', '--name', 'kept', '--network', 'app', '--', 'sleep', '600']);
  const inspect = async (name: string) => JSON.parse(await c.ok(['inspect', name]))[0];
  const gone = await inspect('gone');
  const goneIp = gone.NetworkSettings.Networks.app.IPAddress as string;
  // The reboot: the process dies and the namespace mount disappears with /run.
  process.kill(gone.State.Pid, 'SIGKILL');
  const nsFile = join(c.root, 'netns', gone.Id);
  await c.sb.exec('umount', ['--lazy', nsFile], undefined, { reject: false });
  // And a killed `ctnet run` leaked an address nothing records.
  const ipamDir = join(c.root, 'ipam', 'app');
  writeFileSync(join(ipamDir, '10.123.0.99'), 'leaked\r\neth0');
  const rules = async () => (await c.sb.exec('iptables-save', [])).stdout.split('\n').filter((l) => l.includes(`${goneIp}/`) || l.includes(`${goneIp}:`));
  t.not((await rules()).length, 0);

  const out = await c.ok(['system', 'prune']);
  t.is(out, 'removed container gone');
  t.deepEqual(await rules(), [], 'the dead container\'s rules are gone');
  const held = readdirSync(ipamDir).filter((f) => /^\d/.test(f));
  t.deepEqual(held, [(await inspect('kept')).NetworkSettings.Networks.app.IPAddress], 'only the live container holds an address');
  t.is((await c.ctnet(['inspect', 'gone'])).exitCode, 1);
  // The port is free again, and the kept container still works.
  await c.ok(['run', '-d', '--name', 'again', '--network', 'app', '-p', '9090:80', '--', 'sleep', '600']);
  t.is(JSON.parse(await c.ok(['ps', '--format', 'json'])).length, 2);
});

test('--ip: the requested address on a network with user subnets; refused in Docker\'s words elsewhere', async (t) => {
  const c = await cliSandbox(t);
  await c.ok(['network', 'create', '--subnet', '10.124.0.0/24', 'fixed']);
  await c.ok(['network', 'create', 'auto']);
  await c.ok(['run', '-d', '--name', 'pinned', '--network', 'fixed', '--ip', '10.124.0.50', '--', 'sleep', '600']);
  t.is(addressOf(await c.ok(['inspect', 'pinned']), 'fixed'), '10.124.0.50');
  t.regex(await c.ok(['exec', 'pinned', '--', 'ip', '-br', 'addr', 'show', 'eth0']), /10\.124\.0\.50\/24/);
  const taken = await c.ctnet(['run', '-d', '--name', 'twin', '--network', 'fixed', '--ip', '10.124.0.50', '--', 'sleep', '600']);
  t.is(taken.exitCode, 125);
  t.regex(taken.stderr, /10\.124\.0\.50/);
  const auto = await c.ctnet(['run', '-d', '--network', 'auto', '--ip', '172.18.0.50', '--', 'sleep', '600']);
  t.is(auto.stderr, 'ctnet: user specified IP address is supported only when connecting to networks with user configured subnets (network auto)');
  const bridge = await c.ctnet(['run', '-d', '--ip', '172.17.0.50', '--', 'sleep', '600']);
  t.is(bridge.stderr, 'ctnet: user specified IP address is supported on user defined networks only');
  t.deepEqual(JSON.parse(await c.ok(['ps', '-a', '--format', 'json'])).map((p: any) => p.Names), ['pinned'], 'refused runs leave no container');
});

test("automatic subnets skip what the host already routes, as Docker's pools do", async (t) => {
  const c = await cliSandbox(t);
  // The host reaches 172.18.0.0/16 (a LAN, a VPN): the first free pool after the default bridge's is the next one.
  await c.sb.exec('ip', ['route', 'add', 'blackhole', '172.18.0.0/16']);
  await c.ok(['network', 'create', 'auto']);
  const subnet = async (name: string) => JSON.parse(await c.ok(['network', 'inspect', name]))[0].IPAM.Config[0].Subnet;
  t.is(await subnet('bridge'), '172.17.0.0/16');
  t.is(await subnet('auto'), '172.19.0.0/16');
});
