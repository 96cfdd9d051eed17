// Run by nft-add.test.ts inside a sandbox's host namespace (nf_tables and iptables act on the
// namespace a process is in): applies attachment plans through iptables-restore alone or through
// nf_tables (and looks up the rules by the handles the latter answers), checks or removes them
// through iptables alone, dumps chains' nf_tables rules, or looks for the first rule holding some
// bytes in a long chain.
// Reads {mode, lockDir, plans?, chains?} as JSON on stdin and writes its answer as JSON on stdout.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isCounter } from '../netlink/nft-expr.js';
import { ERESTART, nftFamily, NfTables } from '../netlink/nftables.js';
import { RuleEngine } from '../nat/engine.js';
import { systemIptables, type Iptables } from '../nat/iptables.js';
import { addThroughNftables } from '../nat/nft-apply.js';
import { commentOf, type FamilyPlan } from '../nat/rule.js';

interface Input {
  mode: 'iptables' | 'nft' | 'handles' | 'check' | 'remove-iptables' | 'dump' | 'stale-generation' | 'first';
  /** Where the rule engine's lock file goes (the sandbox's state dir). */
  lockDir: string;
  plans?: FamilyPlan[][];
  /** For dump: [family, table, chain]. */
  chains?: Array<[4 | 6, string, string]>;
}

const input = JSON.parse(readFileSync(0, 'utf8')) as Input;
const iptablesOnly: Iptables = { restore: systemIptables.restore, save: systemIptables.save, check: systemIptables.check };
const engine = (ipt: Iptables) => new RuleEngine(ipt, { lockPath: join(input.lockDir, 'nat.lock') });

async function main(): Promise<unknown> {
  const plans = input.plans ?? [];
  switch (input.mode) {
    case 'iptables':
      for (const p of plans) await engine(iptablesOnly).apply(p);
      return null;
    case 'nft': {
      const added: boolean[] = [];
      for (const p of plans) {
        for (const f of p) await engine(iptablesOnly).ensureShared(f.family, f.shared);
        added.push((await addThroughNftables(p)) !== undefined);
      }
      return added;
    }
    case 'handles': {
      // Each appended rule's handle, as the ADD answered it, next to the tags a dump of its chain and
      // a lookup by that handle find there; then lookups that must find nothing.
      const p = plans[0]!;
      for (const f of p) await engine(iptablesOnly).ensureShared(f.family, f.shared);
      const owned = (await addThroughNftables(p)) ?? [];
      const rules = owned.flatMap((set, i) => set.rules.map((r) => ({ family: nftFamily(p[i]!.family), table: r.table, chain: r.chain, handle: r.handle, comment: commentOf(r) })));
      const refs = rules.map((r) => ({ ...r, handle: BigInt(r.handle ?? 0) }));
      const [dumped, lookedUp] = await Promise.all([
        Promise.all(refs.map((r) => NfTables.using((nft) => nft.rules(r.family, r.table, r.chain)).then((all) => all?.find((d) => d.handle === r.handle)?.comment))),
        NfTables.using((nft) => nft.rulesByHandle(refs)).then((found) => found.map((f) => f?.comment)),
      ]);
      const last = refs.at(-1)!;
      const missing = await NfTables.using((nft) => nft.rulesByHandle([{ ...last, handle: last.handle + 1000n }, { ...last, chain: 'NO-SUCH-CHAIN' }, last]));
      return { rules: rules.map((r, i) => ({ where: `${r.family} ${r.table}`, handle: r.handle, comment: r.comment, dumped: dumped[i], lookedUp: lookedUp[i] })), missing: missing.map((m) => m?.comment ?? null) };
    }
    case 'check':
      for (const p of plans) await engine(iptablesOnly).check(p);
      return null;
    case 'remove-iptables':
      for (const p of plans) for (const f of p) await engine(iptablesOnly).remove(f.family, [f.owned]);
      return null;
    case 'stale-generation':
      // A transaction bound to a generation another one has moved past: refused, and nothing of it done.
      return NfTables.using(async (nft) => {
        const seen = await nft.generation();
        await nft.commit([{ kind: 'create-chain', family: 'ip', table: 'filter', chain: 'MEANWHILE' }]);
        const refused = await nft.commit([{ kind: 'create-chain', family: 'ip', table: 'filter', chain: 'STALE' }], seen).then(
          () => 'committed',
          (err: { errno?: number }) => (err.errno === ERESTART ? 'ERESTART' : String(err)),
        );
        return { refused, moved: (await nft.generation()) !== seen, stale: (await nft.hasChains([{ family: 'ip', table: 'filter', chain: 'STALE' }]))[0] };
      });
    case 'first': {
      // CTNET-TEST holds 2,000 rules tagged "needle <i>" and a last one tagged "last needle": the
      // first batch holding a needle, then every needle, on the one socket, then the last needle.
      const text = ['*filter', ':CTNET-TEST - [0:0]', ...Array.from({ length: 2000 }, (_, i) => `-A CTNET-TEST -s 10.1.${i >> 8}.${i & 255} -m comment --comment "needle ${i}" -j ACCEPT`), '-A CTNET-TEST -m comment --comment "last needle" -j ACCEPT', 'COMMIT', ''];
      await systemIptables.restore(4, text.join('\n'));
      return NfTables.using(async (nft) => {
        const first = (await nft.rules('ip', 'filter', 'CTNET-TEST', Buffer.from('needle'), true)) ?? [];
        const all = (await nft.rules('ip', 'filter', 'CTNET-TEST', Buffer.from('needle'))) ?? [];
        const last = (await nft.rules('ip', 'filter', 'CTNET-TEST', Buffer.from('last needle'), true)) ?? [];
        return { first: first.length, firstComment: first[0]?.comment, all: all.length, last: last.map((r) => r.comment) };
      });
    }
    case 'dump':
      return Promise.all(
        (input.chains ?? []).map(([family, table, chain]) =>
          NfTables.using(async (nft) => ((await nft.rules(nftFamily(family), table, chain)) ?? []).map((r) => r.exprs.filter((e) => !isCounter(e)).map((e) => e.toString('hex')))),
        ),
      );
  }
}

process.stdout.write(JSON.stringify(await main()));
