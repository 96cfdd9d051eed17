// Every plugin executable under hostile input, in the sandbox: each run either succeeds or prints
// one spec error object on stdout with exit status 1; never a crash, a hang, or a stack trace.
// Bounded: a fixed number of runs per plugin, each with a timeout.
import test from 'ava';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sandbox } from './sandbox.js';

const PLUGINS = ['bridge', 'host-local', 'tuning', 'loopback', 'none', 'host', 'container'];
const RUNS = 12;

const hostile = fc.constantFrom('', 'a b', "it's", '"q"', 'x;y', '$(reboot)', '`id`', 'new\nline', 'x'.repeat(300), 'eth0:1', '../..', 'é'.repeat(9), 'ok-name');

test('hostile configs and environments: a result or a spec error, never a crash', async (t) => {
  const sb = await Sandbox.create(t);
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-badinput-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const c = await sb.container();
  writeFileSync(join(dir, 'file'), 'not a namespace');
  mkdirSync(join(dir, 'dir'));
  symlinkSync(c.path, join(dir, 'link-to-ns'));
  symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
  const netns = fc.constantFrom(c.path, join(dir, 'file'), join(dir, 'dir'), join(dir, 'link-to-ns'), join(dir, 'dangling'), '/proc/self/ns/net', '/proc/self/ns/mnt', '/run/netns/ctnet-t-missing', '', 'relative/path');
  const ipam = fc.oneof(
    fc.constant({ type: 'host-local', dataDir: join(dir, 'ipam'), ranges: [[{ subnet: '10.91.0.0/24' }]] }),
    fc.record({ type: fc.oneof(hostile, fc.constant('host-local')), dataDir: fc.constant(join(dir, 'ipam')), ranges: fc.anything(), subnet: fc.oneof(hostile, fc.constant('10.91.0.0/33')) }),
  );
  const conf = (type: string) =>
    fc.record(
      {
        cniVersion: fc.constantFrom('0.3.1', '1.0.0', '1.1.0', '9.9.9', ''),
        name: fc.oneof(hostile, fc.constant('fuzz')),
        type: fc.constant(type),
        bridge: fc.oneof(hostile, fc.constant('ctfz0')),
        mtu: fc.oneof(fc.integer({ min: -5, max: 70000 }), hostile),
        ipMasq: fc.oneof(fc.boolean(), hostile),
        ipam,
        sysctl: fc.dictionary(hostile, hostile, { maxKeys: 2 }),
        dataDir: fc.constant(join(dir, 'tuning')),
        runtimeConfig: fc.record({ portMappings: fc.anything(), mac: hostile, ips: fc.anything() }, { requiredKeys: [] }),
        prevResult: fc.oneof(fc.anything(), fc.constant({ cniVersion: '1.0.0', ips: [{ address: '10.91.0.9/24' }] })),
        args: fc.anything(),
      },
      { requiredKeys: ['type', 'ipam', 'dataDir'] },
    );

  for (const type of PLUGINS) {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION', 'BOGUS'),
        conf(type),
        hostile,
        hostile,
        netns,
        async (command, config, containerId, ifname, ns) => {
          const r = await sb.plugin(type, { command, config, containerId: containerId || 'fz', ifname: ifname || 'eth0', netns: ns, cniArgs: 'IgnoreUnknown=1' });
          const label = `${type} ${command} ${JSON.stringify(config).slice(0, 200)}`;
          if (/^\s+at /m.test(r.stderr) || r.exitCode < 0) {
            t.log(`${label}\nexit ${r.exitCode}\n${r.stderr}`);
            return false;
          }
          if (r.exitCode === 0) return true;
          const ok = r.exitCode === 1 && r.json && Number.isInteger(r.json.code) && typeof r.json.msg === 'string' && r.json.msg !== '';
          if (!ok) t.log(`${label}\nexit ${r.exitCode}\nstdout ${r.stdout}\nstderr ${r.stderr}`);
          return ok;
        },
      ),
      { numRuns: RUNS },
    );
  }
  t.pass();
});
