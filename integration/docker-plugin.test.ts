// ctnet as Docker's network and IPAM driver, driven by the real docker CLI and dockerd (Debian's
// docker.io 20.10), both running inside a throwaway sandbox namespace with the plugin beside them.
import test from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import type { PortBinding } from '../docker/connectivity.js';
import { BUSYBOX, DockerSandbox, IMAGE, OUTSIDE, PAGE } from '../docker/testing.js';

const ready = existsSync('/usr/sbin/dockerd') && existsSync(BUSYBOX);

/** A shell line that fetches / from target:80 with busybox nc (busybox wget crashes in Debian's build). */
const fetchLine = (target: string) => `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${target} 80`;

async function inspect(d: DockerSandbox, what: string, format: string): Promise<string> {
  return (await d.docker(['inspect', '-f', format, what])).stdout.trim();
}

const addressOn = (d: DockerSandbox, container: string, network: string) => inspect(d, container, `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`);

/** Fetches the page from inside a container; resolves with what came back (empty on failure). */
async function fetchFrom(d: DockerSandbox, container: string, target: string): Promise<string> {
  const r = await d.docker(['exec', container, 'sh', '-c', fetchLine(target)], { reject: false });
  return r.stdout;
}

/** fetchFrom, retried while the page does not come back (a new path's first packets may race ARP). */
async function fetchPage(d: DockerSandbox, container: string, target: string): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) if ((await fetchFrom(d, container, target)).includes(PAGE)) return true;
  return false;
}

const HTTPD = [IMAGE, 'httpd', '-f', '-p', '80', '-h', '/www'];

async function httpd(d: DockerSandbox, name: string, network: string, publish: string[] = []): Promise<void> {
  await d.docker(['run', '-d', '--network', network, '--name', name, ...publish.flatMap((p) => ['-p', p]), ...HTTPD]);
}

/** The page through a published port, from a namespace; rejects when nothing answers. */
const getPage = (d: DockerSandbox, fromPath: string, address: string, port: number) => d.sb.send(fromPath, address, port, 'GET / HTTP/1.0\r\n\r');

test('docker run on a ctnet network: HTTP from the host and from containers by address and name; connect, disconnect; rm leaves nothing', async (t) => {
  if (!ready) return t.fail('dockerd or busybox-static missing (.ci/run installs docker.io and busybox-static)');
  const d = await DockerSandbox.start(t);
  const driver = d.pluginName;
  try {
    await d.docker(['network', 'create', '-d', driver, '--ipam-driver', driver, '--subnet', '10.201.7.0/24', 'n1']);
    const id1 = await inspect(d, 'n1', '{{.Id}}');
    t.true((await d.links()).includes(`ct-${id1.slice(0, 12)}`), 'the network has its bridge');

    await httpd(d, 'web', 'n1');
    const webIp = await addressOn(d, 'web', 'n1');
    t.regex(webIp, /^10\.201\.7\.\d+$/);
    t.is(await inspect(d, 'web', '{{(index .NetworkSettings.Networks "n1").Gateway}}'), '10.201.7.1');
    t.is(await inspect(d, 'web', '{{(index .NetworkSettings.Networks "n1").MacAddress}}'), `02:42:${webIp.split('.').map((n) => Number(n).toString(16).padStart(2, '0')).join(':')}`);

    // From the (sandbox) host namespace, straight to the container address.
    t.true((await d.sb.send(d.sb.hostPath, webIp, 80, 'GET / HTTP/1.0\r\n\r')).includes(PAGE), 'the host reaches the container');

    // From a second container on n1: by address, and by name through dockerd's embedded DNS.
    await d.docker(['run', '-d', '--network', 'n1', '--name', 'client', IMAGE, 'sleep', '600']);
    t.true(await fetchPage(d, 'client', webIp), 'a container reaches web by address');
    t.true(await fetchPage(d, 'client', 'web'), 'a container reaches web by name');

    // A second network with an automatic pool, and a server only on it.
    await d.docker(['network', 'create', '-d', driver, '--ipam-driver', driver, 'n2']);
    const subnet2 = await inspect(d, 'n2', '{{(index .IPAM.Config 0).Subnet}}');
    t.regex(subnet2, /^172\.(1[89]|2\d|3[01])\.0\.0\/16$/, 'automatic pools come from 172.18-31/16');
    await httpd(d, 'web2', 'n2');
    t.is((await fetchFrom(d, 'client', 'web2')).includes(PAGE), false, 'not reachable before connect');
    t.is((await fetchFrom(d, 'client', await addressOn(d, 'web2', 'n2'))).includes(PAGE), false, 'not even by address: networks are isolated');

    const vethsBefore = (await d.links()).filter((l) => l.startsWith('veth')).length;
    await d.docker(['network', 'connect', 'n2', 'client']);
    const eth1 = (await d.docker(['exec', 'client', 'ip', '-o', '-4', 'addr', 'show', 'eth1'])).stdout;
    const clientIp2 = await addressOn(d, 'client', 'n2');
    t.true(eth1.includes(`${clientIp2}/16`), `eth1 carries the n2 address: ${eth1}`);
    t.true(await fetchPage(d, 'client', 'web2'), 'after connect, client reaches web2 by name');
    t.is((await d.links()).filter((l) => l.startsWith('veth')).length, vethsBefore + 1);

    await d.docker(['network', 'disconnect', 'n2', 'client']);
    t.not((await d.docker(['exec', 'client', 'ip', 'link', 'show', 'eth1'], { reject: false })).exitCode, 0, 'eth1 is gone');
    t.is((await d.links()).filter((l) => l.startsWith('veth')).length, vethsBefore, 'its veth is gone');
    t.true(await fetchPage(d, 'client', 'web'), 'eth0 still works');

    await d.docker(['rm', '-f', 'web', 'web2', 'client']);
    await d.docker(['network', 'rm', 'n1', 'n2']);
    t.deepEqual(await d.links(), [], 'no veth or bridge remains');
    const state = d.state();
    t.deepEqual([state.networks, state.endpoints, state.pools], [{}, {}, {}], 'no network, endpoint or pool remains');
    t.deepEqual(d.poolDirs(), [], 'no address reservation remains');
  } catch (err) {
    t.log(d.failureReport());
    throw err;
  }
});

test('state survives SIGKILL of the plugin and a dockerd restart: containers keep their addresses, new ones work', async (t) => {
  if (!ready) return t.fail('dockerd or busybox-static missing (.ci/run installs docker.io and busybox-static)');
  const d = await DockerSandbox.start(t);
  const driver = d.pluginName;
  try {
    await d.docker(['network', 'create', '-d', driver, '--ipam-driver', driver, '--subnet', '10.201.8.0/24', 'n1']);
    await d.docker(['network', 'create', '-d', driver, '--ipam-driver', driver, '--subnet', '10.201.80.0/24', '-o', 'com.docker.network.bridge.name=ctempty', 'empty']);
    await httpd(d, 'web', 'n1', ['8081:80']);
    await d.docker(['run', '-d', '--network', 'n1', '--name', 'client', IMAGE, 'sleep', '600']);
    const before = { web: await addressOn(d, 'web', 'n1'), client: await addressOn(d, 'client', 'n1') };
    t.true((await getPage(d, d.sb.hostPath, '127.0.0.1', 8081)).includes(PAGE), 'the published port answers');
    const rules = await d.ruleset();

    await d.killPlugin();
    // As after a reboot: a known network's bridge is gone when the plugin starts.
    await d.host('ip', ['link', 'delete', 'ctempty']);
    await d.startPlugin();
    t.true((await d.host('ip', ['-o', 'addr', 'show', 'ctempty'])).stdout.includes('10.201.80.1/24'), 'the plugin re-creates missing bridges with their gateway');
    t.is(await d.ruleset(), rules, 'a restarted plugin leaves rules in place as they were, adding none');
    await d.stopDockerd();
    await d.startDockerd();

    for (const c of ['web', 'client'] as const) {
      t.is(await inspect(d, c, '{{.State.Running}}'), 'true', `${c} still runs`);
      t.is(await addressOn(d, c, 'n1'), before[c], `${c} keeps its address`);
      t.true((await d.docker(['exec', c, 'ip', '-o', '-4', 'addr', 'show', 'eth0'])).stdout.includes(`${before[c]}/24`));
    }
    t.true(await fetchPage(d, 'client', 'web'), 'the old containers still talk');
    t.true((await d.sb.send(d.sb.hostPath, before.web, 80, 'GET / HTTP/1.0\r\n\r')).includes(PAGE), 'the host still reaches web');
    t.true((await getPage(d, d.sb.hostPath, '127.0.0.1', 8081)).includes(PAGE), 'and its published port still answers');

    await d.docker(['run', '-d', '--network', 'n1', '--name', 'late', IMAGE, 'sleep', '600']);
    const late = await addressOn(d, 'late', 'n1');
    t.regex(late, /^10\.201\.8\.\d+$/);
    t.false(Object.values(before).includes(late), 'a new container gets a free address');
    t.true(await fetchPage(d, 'late', 'web'), 'a new container reaches web by name');
  } catch (err) {
    t.log(d.failureReport());
    throw err;
  }
});

test('errors reach the docker CLI; enable_icc=false and --internal networks', async (t) => {
  if (!ready) return t.fail('dockerd or busybox-static missing (.ci/run installs docker.io and busybox-static)');
  const d = await DockerSandbox.start(t);
  const driver = d.pluginName;
  const create = (args: string[]) => d.docker(['network', 'create', '-d', driver, '--ipam-driver', driver, ...args], { reject: false });
  try {
    t.is((await create(['--subnet', '10.201.9.0/24', 'a'])).exitCode, 0);
    const overlap = await create(['--subnet', '10.201.9.128/25', 'b']);
    t.not(overlap.exitCode, 0);
    t.regex(overlap.stderr, /subnet 10\.201\.9\.128\/25 overlaps 10\.201\.9\.0\/24/);
    const badOption = await create(['--subnet', '10.201.10.0/24', '-o', 'com.docker.network.bridge.gateway_mode_ipv4=routed', 'c']);
    t.not(badOption.exitCode, 0);
    t.regex(badOption.stderr, /com\.docker\.network\.bridge\.gateway_mode_ipv4 is not supported by ctnet/);
    const badMtu = await create(['--subnet', '10.201.10.0/24', '-o', 'com.docker.network.driver.mtu=big', 'c']);
    t.regex(badMtu.stderr, /invalid MTU "big"/);
    t.deepEqual(d.poolDirs().length, 1, 'refused networks leave no pool behind');

    // enable_icc=false: containers reach the gateway (and the host them), not each other.
    t.is((await create(['--subnet', '10.201.11.0/24', '-o', 'com.docker.network.bridge.enable_icc=false', '-o', 'com.docker.network.bridge.name=ctnoicc', '-o', 'com.docker.network.driver.mtu=1400', 'noicc'])).exitCode, 0);
    await httpd(d, 'iso-web', 'noicc');
    await d.docker(['run', '-d', '--network', 'noicc', '--name', 'iso-client', IMAGE, 'sleep', '600']);
    const isoWeb = await addressOn(d, 'iso-web', 'noicc');
    t.false((await fetchFrom(d, 'iso-client', isoWeb)).includes(PAGE), 'no inter-container traffic');
    t.true((await d.sb.send(d.sb.hostPath, isoWeb, 80, 'GET / HTTP/1.0\r\n\r')).includes(PAGE), 'the host still reaches it');
    t.true((await d.host('ip', ['link', 'show', 'ctnoicc'])).stdout.includes('mtu 1400'), 'the bridge is named and sized as asked');
    t.true((await d.docker(['exec', 'iso-client', 'ip', 'link', 'show', 'eth0'])).stdout.includes('mtu 1400'), 'the container interface too');

    // A bridge the user made: the network turns route_localnet on (published ports on 127.0.0.1)
    // and, removed, leaves the bridge as it found it.
    await d.host('ip', ['link', 'add', 'ctuser', 'type', 'bridge']);
    const localnet = async () => (await d.host('cat', ['/proc/sys/net/ipv4/conf/ctuser/route_localnet'])).stdout.trim();
    t.is((await create(['--subnet', '10.201.13.0/24', '-o', 'com.docker.network.bridge.name=ctuser', 'usernet'])).exitCode, 0);
    t.is(await localnet(), '1');
    await d.docker(['network', 'rm', 'usernet']);
    t.is(await localnet(), '0', 'route_localnet is put back');
    t.false((await d.host('ip', ['-o', 'addr', 'show', 'ctuser'])).stdout.includes('10.201.13.1'), 'the gateway address is gone, the bridge stays');

    // --internal: no default route out of the network.
    t.is((await create(['--internal', '--subnet', '10.201.12.0/24', 'inside'])).exitCode, 0);
    const routes = await d.docker(['run', '--rm', '--network', 'inside', IMAGE, 'ip', 'route']);
    t.false(routes.stdout.includes('default'), `no default route: ${routes.stdout}`);
    t.true(routes.stdout.includes('10.201.12.0/24'));
  } catch (err) {
    t.log(d.failureReport());
    throw err;
  }
});

test('docker run -p: published ports answer on the host, 127.0.0.1 and from another machine; -p 80 gets a free port; a taken port fails; masquerade; --internal; rm -f leaves no rule', async (t) => {
  if (!ready) return t.fail('dockerd or busybox-static missing (.ci/run installs docker.io and busybox-static)');
  const d = await DockerSandbox.start(t);
  const driver = d.pluginName;
  const create = (args: string[]) => d.docker(['network', 'create', '-d', driver, '--ipam-driver', driver, ...args]);
  try {
    const outside = await d.outside();
    // Tells who connects: the address the outside machine sees, from its own log (once in CI,
    // under load, three `docker exec`s in a row brought back no answer).
    const logged = await d.sb.peerLogger(7000, outside.path, join(d.dir, 'peers'));
    // Retried while the outside logs nothing: the first packets of a new path may race ARP on a loaded machine.
    const whoAmI = async (container: string) => {
      const before = logged().length;
      for (let attempt = 0; attempt < 3; attempt++) {
        await d.docker(['exec', container, 'sh', '-c', `echo | nc -w 3 ${OUTSIDE.peer} 7000`], { reject: false });
        // The server's child may still be writing when nc is done.
        for (let wait = 0; wait < 20 && logged().length === before; wait++) await sleep(100);
        const seen = logged().slice(before);
        if (seen.length > 0) return seen.join(' ');
      }
      return 'no connection reached the outside';
    };

    await create(['--subnet', '10.201.13.0/24', 'pub']);
    const netId = await inspect(d, 'pub', '{{.Id}}');
    const baseline = await d.ruleset();

    await httpd(d, 'web', 'pub', ['8080:80']);
    t.true((await getPage(d, d.sb.hostPath, OUTSIDE.host, 8080)).includes(PAGE), 'on the host address');
    t.true((await getPage(d, d.sb.hostPath, '127.0.0.1', 8080)).includes(PAGE), 'on 127.0.0.1');
    t.true((await getPage(d, outside.path, OUTSIDE.host, 8080)).includes(PAGE), 'from another machine');

    // -p 80: a host port of the sandbox's ephemeral range, reported to dockerd where libnetwork
    // reads port bindings (EndpointOperInfo). dockerd 20.10 cannot show a remote driver's bindings
    // in `docker port` (it reads them through a Go type assertion JSON never satisfies): when a
    // dockerd does show them, they must be these.
    await httpd(d, 'any', 'pub', ['80']);
    const endpoint = await inspect(d, 'any', '{{(index .NetworkSettings.Networks "pub").EndpointID}}');
    const info = await d.pluginCall<{ Value?: Record<string, PortBinding[]> }>('NetworkDriver.EndpointOperInfo', { NetworkID: netId, EndpointID: endpoint });
    const [binding, ...more] = info.Value?.['com.docker.network.portmap'] ?? [];
    t.deepEqual(more, []);
    const [low, high] = (await d.host('cat', ['/proc/sys/net/ipv4/ip_local_port_range'])).stdout.trim().split(/\s+/).map(Number);
    t.true(!!binding && binding.Port === 80 && binding.HostPort >= low! && binding.HostPort <= high!, `port ${JSON.stringify(binding)} is in ${low}-${high}`);
    t.true((await getPage(d, outside.path, OUTSIDE.host, binding!.HostPort)).includes(PAGE), 'the chosen port answers');
    const shown = (await d.docker(['port', 'any'])).stdout.trim();
    if (shown) t.is(shown, `80/tcp -> 0.0.0.0:${binding!.HostPort}`);

    const clash = await d.docker(['run', '-d', '--network', 'pub', '--name', 'clash', '-p', '8080:80', ...HTTPD], { reject: false });
    t.not(clash.exitCode, 0, 'a taken host port fails docker run');
    t.regex(clash.stderr, /Bind for 0\.0\.0\.0:8080 failed: port is already allocated/);
    t.true((await getPage(d, outside.path, OUTSIDE.host, 8080)).includes(PAGE), 'the first mapping still works');

    t.is(await whoAmI('web'), OUTSIDE.host, 'the outside sees the host address (masquerade)');

    await create(['--subnet', '10.201.14.0/24', '-o', 'com.docker.network.bridge.enable_ip_masquerade=false', 'nomasq']);
    await d.docker(['run', '-d', '--network', 'nomasq', '--name', 'plain', IMAGE, 'sleep', '600']);
    t.is(await whoAmI('plain'), await addressOn(d, 'plain', 'nomasq'), 'enable_ip_masquerade=false: the outside sees the container address');

    // --internal: even a container that routes itself out is stopped at the bridge, by the plugin's
    // rules alone (a FORWARD policy of ACCEPT, as dockerd with --iptables=false leaves it).
    await create(['--internal', '--subnet', '10.201.15.0/24', 'inside']);
    for (const cmd of ['iptables', 'ip6tables']) await d.host(cmd, ['-w', '-P', 'FORWARD', 'ACCEPT']);
    const escape = `ip route add default via 10.201.15.1 && echo | nc -w 3 ${OUTSIDE.peer} 7000`;
    const loggedBefore = logged().length;
    const inside = await d.docker(['run', '--rm', '--cap-add', 'NET_ADMIN', '--network', 'inside', IMAGE, 'sh', '-c', escape], { reject: false });
    t.is(inside.stdout.trim(), '', `nothing leaves an internal network: ${inside.stdout}${inside.stderr}`);
    const plain = await addressOn(d, 'plain', 'nomasq');
    t.is(await whoAmI('plain'), plain, 'while other networks still reach out');
    t.deepEqual([...new Set(logged().slice(loggedBefore))], [plain], 'the outside saw that container, nothing of the internal network');
    for (const cmd of ['iptables', 'ip6tables']) await d.host(cmd, ['-w', '-P', 'FORWARD', 'DROP']);

    await d.docker(['rm', '-f', 'web', 'any', 'clash', 'plain']);
    t.is(await d.ruleset(), baseline, 'rm -f removes every rule of the containers');
    t.deepEqual(readdirSync(join(d.sb.stateDir, 'ports')).filter((f) => f !== 'lock'), [], 'and every host port reservation');
    await d.docker(['network', 'rm', 'pub', 'nomasq', 'inside']);
    t.false((await d.ruleset()).includes(netId), 'no rule names the removed network');
  } catch (err) {
    t.log(d.failureReport());
    throw err;
  }
});
