// portmap and firewall under hostile input, in the sandbox: each run succeeds or prints one spec
// error with exit status 1, never a crash; and arguments that need quoting in an iptables-restore
// batch survive the round trip (the DEL of exactly what ADD added finds it).
import test from 'ava';
import fc from 'fast-check';
import { addContainer, portmapConfig, ruleset, runPlugin, topology } from '../nat/testing.js';

const hostile = fc.constantFrom('', 'a b', "it's", '"q"', 'x;y', '$(reboot)', '`id`', 'new\nline', 'x'.repeat(300), 'eth0:1', '../..', '-j', 'ok-name');

test('hostile configs: a result or a spec error, never a crash', async (t) => {
  const topo = await topology(t);
  const c = await addContainer(topo, 1);
  const mapping = fc.oneof(
    fc.anything(),
    fc.record({ hostPort: fc.oneof(fc.integer({ min: -1, max: 70000 }), hostile), containerPort: fc.integer({ min: 0, max: 65536 }), protocol: fc.oneof(hostile, fc.constantFrom('tcp', 'udp', 'sctp')), hostIP: fc.oneof(hostile, fc.constantFrom('0.0.0.0', '::', '10.77.0.1')) }, { requiredKeys: [] }),
  );
  const conf = (type: string) =>
    fc.record(
      {
        cniVersion: fc.constantFrom('0.3.1', '1.0.0', '1.1.0', ''),
        name: fc.oneof(hostile, fc.constant('fuzz')),
        type: fc.constant(type),
        snat: fc.oneof(fc.boolean(), hostile),
        markMasqBit: fc.oneof(fc.integer({ min: -2, max: 40 }), hostile),
        externalSetMarkChain: hostile,
        conditionsV4: fc.oneof(fc.array(hostile, { maxLength: 3 }), fc.anything()),
        ingressPolicy: fc.oneof(hostile, fc.constantFrom('open', 'same-bridge')),
        iptablesAdminChainName: hostile,
        bridge: hostile,
        runtimeConfig: fc.record({ portMappings: fc.oneof(fc.array(mapping, { maxLength: 3 }), fc.anything()) }, { requiredKeys: [] }),
        prevResult: fc.oneof(fc.anything(), fc.constant(c.prevResult)),
      },
      { requiredKeys: ['type'] },
    );
  for (const type of ['portmap', 'firewall']) {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('ADD', 'DEL', 'CHECK', 'GC'), conf(type), hostile, async (command, config, id) => {
        const r = await runPlugin(topo, type, { command, config, containerId: id || 'fz', netns: c.ns.path, cniArgs: 'IgnoreUnknown=1' });
        const label = `${type} ${command} ${JSON.stringify(config).slice(0, 300)}`;
        if (/^\s+at /m.test(r.stderr)) throw new Error(`${label}: stack trace on stderr: ${r.stderr}`);
        if (r.exitCode === 0) return;
        if (r.exitCode !== 1 || typeof r.json?.code !== 'number' || typeof r.json?.msg !== 'string') throw new Error(`${label}: not a spec error: ${r.exitCode} ${r.stdout}`);
        if (r.json.code === 999) throw new Error(`${label}: internal error: ${r.stdout}`);
      }),
      { numRuns: 15 },
    );
  }
  t.pass();
});

test('arguments with spaces, quotes and backslashes are quoted for iptables-restore and removed exactly', async (t) => {
  const topo = await topology(t);
  const c = await addContainer(topo, 1);
  const before = await ruleset(topo);
  const conditionsV4 = ['-m', 'comment', '--comment', 'an "odd" \\ value', '-s', '0.0.0.0/0'];
  const r = await runPlugin(topo, 'portmap', { command: 'ADD', config: portmapConfig(c, [{ hostPort: 8080, containerPort: 80 }], { conditionsV4 }), containerId: c.id, netns: c.ns.path });
  t.is(r.exitCode, 0, r.stdout);
  t.true((await ruleset(topo)).some((l) => l.includes('--comment "an \\"odd\\" \\\\ value"')));
  t.is((await runPlugin(topo, 'portmap', { command: 'CHECK', config: portmapConfig(c, [{ hostPort: 8080, containerPort: 80 }], { conditionsV4 }), containerId: c.id, netns: c.ns.path })).exitCode, 0);
  t.is((await runPlugin(topo, 'portmap', { command: 'DEL', config: { cniVersion: '1.0.0', name: 'n1', type: 'portmap' }, containerId: c.id, netns: '' })).exitCode, 0);
  t.false((await ruleset(topo)).some((l) => !before.includes(l) && !/ctnet: |^:CTNET-|^\*|^COMMIT|^:[A-Z]+ /.test(l)));
});
