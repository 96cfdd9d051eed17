// ctnet as Docker's network and IPAM driver, driven by the real docker CLI and dockerd (Debian's
// docker.io 20.10), both running inside a throwaway sandbox namespace with the plugin beside them.
import test from 'ava';
import { existsSync } from 'node:fs';
import { BUSYBOX, DockerSandbox, IMAGE, PAGE } from '../docker/testing.js';

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

async function httpd(d: DockerSandbox, name: string, network: string): Promise<void> {
  await d.docker(['run', '-d', '--network', network, '--name', name, IMAGE, 'httpd', '-f', '-p', '80', '-h', '/www']);
}

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
    t.true((await fetchFrom(d, 'client', webIp)).includes(PAGE), 'a container reaches web by address');
    t.true((await fetchFrom(d, 'client', 'web')).includes(PAGE), 'a container reaches web by name');

    // A second network with an automatic pool, and a server only on it.
    await d.docker(['network', 'create', '-d', driver, '--ipam-driver', driver, 'n2']);
    const subnet2 = await inspect(d, 'n2', '{{(index .IPAM.Config 0).Subnet}}');
    t.regex(subnet2, /^172\.(1[89]|2\d|3[01])\.0\.0\/16$/, 'automatic pools come from 172.18-31/16');
    await httpd(d, 'web2', 'n2');
    t.is((await fetchFrom(d, 'client', 'web2')).includes(PAGE), false, 'not reachable before connect');

    const vethsBefore = (await d.links()).filter((l) => l.startsWith('veth')).length;
    await d.docker(['network', 'connect', 'n2', 'client']);
    const eth1 = (await d.docker(['exec', 'client', 'ip', '-o', '-4', 'addr', 'show', 'eth1'])).stdout;
    const clientIp2 = await addressOn(d, 'client', 'n2');
    t.true(eth1.includes(`${clientIp2}/16`), `eth1 carries the n2 address: ${eth1}`);
    t.true((await fetchFrom(d, 'client', 'web2')).includes(PAGE), 'after connect, client reaches web2 by name');
    t.is((await d.links()).filter((l) => l.startsWith('veth')).length, vethsBefore + 1);

    await d.docker(['network', 'disconnect', 'n2', 'client']);
    t.not((await d.docker(['exec', 'client', 'ip', 'link', 'show', 'eth1'], { reject: false })).exitCode, 0, 'eth1 is gone');
    t.is((await d.links()).filter((l) => l.startsWith('veth')).length, vethsBefore, 'its veth is gone');
    t.true((await fetchFrom(d, 'client', 'web')).includes(PAGE), 'eth0 still works');

    await d.docker(['rm', '-f', 'web', 'web2', 'client']);
    await d.docker(['network', 'rm', 'n1', 'n2']);
    t.deepEqual(await d.links(), [], 'no veth or bridge remains');
    const state = d.state();
    t.deepEqual([state.networks, state.endpoints, state.pools], [{}, {}, {}], 'no network, endpoint or pool remains');
    t.deepEqual(d.poolDirs(), [], 'no address reservation remains');
  } catch (err) {
    t.log(`plugin log:\n${d.logs('plugin')}`);
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
    await httpd(d, 'web', 'n1');
    await d.docker(['run', '-d', '--network', 'n1', '--name', 'client', IMAGE, 'sleep', '600']);
    const before = { web: await addressOn(d, 'web', 'n1'), client: await addressOn(d, 'client', 'n1') };

    await d.killPlugin();
    // As after a reboot: a known network's bridge is gone when the plugin starts.
    await d.host('ip', ['link', 'delete', 'ctempty']);
    await d.startPlugin();
    t.true((await d.host('ip', ['-o', 'addr', 'show', 'ctempty'])).stdout.includes('10.201.80.1/24'), 'the plugin re-creates missing bridges with their gateway');
    await d.stopDockerd();
    await d.startDockerd();

    for (const c of ['web', 'client'] as const) {
      t.is(await inspect(d, c, '{{.State.Running}}'), 'true', `${c} still runs`);
      t.is(await addressOn(d, c, 'n1'), before[c], `${c} keeps its address`);
      t.true((await d.docker(['exec', c, 'ip', '-o', '-4', 'addr', 'show', 'eth0'])).stdout.includes(`${before[c]}/24`));
    }
    t.true((await fetchFrom(d, 'client', 'web')).includes(PAGE), 'the old containers still talk');
    t.true((await d.sb.send(d.sb.hostPath, before.web, 80, 'GET / HTTP/1.0\r\n\r')).includes(PAGE), 'the host still reaches web');

    await d.docker(['run', '-d', '--network', 'n1', '--name', 'late', IMAGE, 'sleep', '600']);
    const late = await addressOn(d, 'late', 'n1');
    t.regex(late, /^10\.201\.8\.\d+$/);
    t.false(Object.values(before).includes(late), 'a new container gets a free address');
    t.true((await fetchFrom(d, 'late', 'web')).includes(PAGE), 'a new container reaches web by name');
  } catch (err) {
    t.log(`plugin log:\n${d.logs('plugin')}`);
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

    // --internal: no default route out of the network.
    t.is((await create(['--internal', '--subnet', '10.201.12.0/24', 'inside'])).exitCode, 0);
    const routes = await d.docker(['run', '--rm', '--network', 'inside', IMAGE, 'ip', 'route']);
    t.false(routes.stdout.includes('default'), `no default route: ${routes.stdout}`);
    t.true(routes.stdout.includes('10.201.12.0/24'));
  } catch (err) {
    t.log(`plugin log:\n${d.logs('plugin')}`);
    throw err;
  }
});

// ctnet's nat/ layer (published ports, masquerade, forward rules) is not in this build yet: the
// driver refuses -p with a clear error rather than pretending (docker/connectivity.ts, natUnavailable).
// Note for when it lands: dockerd 20.10 reads a remote driver's port map from EndpointOperInfo only
// through a Go type assertion that JSON data never satisfies, so `docker port` stays empty for any
// remote driver (moby/libnetwork#2451); assert the mapping through the traffic, and `docker port`
// only if a newer dockerd is used.
test.todo('docker run -p 8080:80 on a ctnet network answers on the host address and 127.0.0.1:8080, and keeps doing so across plugin and dockerd restarts (needs nat/)');
