// Adding an attachment's rules with no iptables process: where iptables keeps its rules in
// nf_tables (iptables-nft), the owned chains are created (or emptied) and the owned rules appended,
// IPv4 and IPv6 alike, in one nf_tables transaction, each rule encoded as iptables-nft encodes it
// (nft-encoding.ts), so iptables -C, -D and iptables-save see the rules iptables-restore would have
// made. An ADD then no longer pays for starting execa, forking node and running iptables-restore
// (~35 ms per plugin).
//
// The shared items the rules rely on must already be in nf_tables: each shared rule is looked for,
// expression by expression, in its chain. Finding them there is also what says iptables is the nft
// variant: ctnet's repair path adds them through iptables itself, so with legacy iptables they are
// in x_tables and never found here. The transaction is bound to the ruleset generation the lookups
// saw, as iptables-nft-restore binds its own, so a shared item deleted meanwhile cannot leave rules
// nothing jumps to: the kernel refuses it (ERESTART) and the lookups run again. When anything is
// missing or cannot be encoded, or nf_tables refuses the transaction (which then changed nothing),
// the answer is undefined and the caller takes the iptables-restore path, which repairs shared
// items and reports errors. The kernel echoes each rule appended with its handle, which the
// answer carries for the attachment's record: DEL finds the rule by it (nft-remove.ts).
import { isCounter, type NftExpr } from '../netlink/nft-expr.js';
import type { NetlinkError } from '../netlink/errors.js';
import { ERESTART, nftFamily, NfTables, type NftChain, type NftChange } from '../netlink/nftables.js';
import { encodeRule } from './nft-encoding.js';
import { APPLY_ORDER, BUILTIN_CHAINS, commentOf, type FamilyPlan, type Rule, type RuleSet, type Table } from './rule.js';

/** Other transactions committed between the lookups and ours: look again, then leave it to iptables-restore. */
const GENERATION_ATTEMPTS = 3;

const significant = (exprs: readonly NftExpr[]) => exprs.filter((e) => !isCounter(e));
/** Table by table in APPLY_ORDER (filter before nat), as the iptables-restore path applies them. */
const inApplyOrder = <T extends { table: Table }>(xs: readonly T[]): T[] => APPLY_ORDER.flatMap((table) => xs.filter((x) => x.table === table));
const sameRule = (a: readonly NftExpr[], b: readonly NftExpr[]) => a.length === b.length && a.every((e, i) => e.equals(b[i]!));

/**
 * Appends the plans' owned rules (after their owned chains), every family in one transaction, and
 * answers the plans' owned sets with each rule's handle; undefined: nothing changed, use iptables.
 */
export async function addThroughNftables(plans: readonly FamilyPlan[]): Promise<RuleSet[] | undefined> {
  const changes: NftChange[] = [];
  /** Per change, the owned rule it appends. */
  const appending: Array<Rule | undefined> = [];
  for (const plan of plans) {
    const family = nftFamily(plan.family);
    for (const c of inApplyOrder(plan.owned.chains)) {
      changes.push({ kind: 'create-chain', family, ...c }, { kind: 'flush', family, ...c });
      appending.push(undefined, undefined);
    }
    for (const r of inApplyOrder(plan.owned.rules)) {
      const encoded = encodeRule(plan.family, r.table, r.args);
      if (!encoded) return undefined;
      changes.push({ kind: 'append', family, table: r.table, chain: r.chain, ...encoded });
      appending.push(r);
    }
  }
  const lookups = sharedLookups(plans);
  if (changes.length === 0 || !lookups) return undefined;
  try {
    return await NfTables.using(async (nft) => {
      for (let attempt = 1; attempt <= GENERATION_ATTEMPTS; attempt++) {
        const generation = await nft.generation();
        // Every lookup at once, each on its own socket.
        if (!(await Promise.all(lookups.map((present) => present()))).every(Boolean)) return undefined;
        try {
          const handles = await nft.commit(changes, generation);
          const handleOf = new Map(handles.flatMap((h, i) => (h !== undefined && appending[i] ? [[appending[i]!, String(h)] as const] : [])));
          return plans.map(({ owned }) => ({ chains: owned.chains, rules: owned.rules.map((r) => (handleOf.has(r) ? { ...r, handle: handleOf.get(r) } : r)) }));
        } catch (err) {
          if ((err as NetlinkError).errno !== ERESTART) throw err;
        }
      }
      return undefined;
    });
  } catch {
    return undefined;
  }
}

/**
 * The lookups of the plans' shared items (are they in nf_tables?): one for all the chains, one per
 * rule, each rule encoded once however often its lookup runs; undefined when one cannot be encoded.
 */
function sharedLookups(plans: readonly FamilyPlan[]): Array<() => Promise<boolean>> | undefined {
  const chains: NftChain[] = [];
  const lookups: Array<() => Promise<boolean>> = [async () => (await NfTables.using((nft) => nft.hasChains(chains))).every(Boolean)];
  for (const plan of plans) {
    const family = nftFamily(plan.family);
    for (const item of plan.shared) {
      if (item.kind === 'chain') {
        if (!BUILTIN_CHAINS.has(item.chain)) chains.push({ family, table: item.table, chain: item.chain });
        continue;
      }
      const want = encodeRule(plan.family, item.table, item.args);
      if (!want) return undefined;
      const exprs = significant(want.exprs);
      // Only the rules holding the item's comment reach JavaScript, and the dump stops at the first
      // of them: a shared chain may hold thousands of rules (CTNET-FORWARD, three per container),
      // each of which the kernel would write out. A stale copy of the item ahead of it (same
      // comment, other expressions) only sends this ADD the iptables-restore way, which repairs.
      const comment = commentOf(item);
      const containing = comment !== undefined ? Buffer.from(comment) : undefined;
      lookups.push(async () => ((await NfTables.using((nft) => nft.rules(family, item.table, item.chain, containing, containing !== undefined))) ?? []).some((r) => sameRule(significant(r.exprs), exprs)));
    }
  }
  return lookups;
}
