// Adding an attachment's rules with no iptables process: where iptables keeps its rules in
// nf_tables (iptables-nft), the owned chains are created (or emptied) and the owned rules appended,
// IPv4 and IPv6 alike, in one nf_tables transaction, each rule encoded as iptables-nft encodes it (nft-encoding.ts), so
// iptables -C, -D and iptables-save see the rules iptables-restore would have made. An ADD then no
// longer pays for starting execa, forking node and running iptables-restore (~35 ms per plugin).
//
// The shared items the rules rely on must already be in nf_tables: each shared rule is looked for,
// expression by expression, in its chain. Finding them there is also what says iptables is the nft
// variant: ctnet's repair path adds them through iptables itself, so with legacy iptables they are
// in x_tables and never found here. The transaction is bound to the ruleset generation the lookups
// saw, as iptables-nft-restore binds its own, so a shared item deleted meanwhile cannot leave rules
// nothing jumps to: the kernel refuses it (ERESTART) and the lookups run again. When anything is
// missing or cannot be encoded, or nf_tables refuses the transaction (which then changed nothing),
// the answer is false and the caller takes the iptables-restore path, which repairs shared items
// and reports errors.
import { isCounter, type NftExpr } from '../netlink/nft-expr.js';
import type { NetlinkError } from '../netlink/errors.js';
import { ERESTART, NfTables, type NftChange, type NftFamily } from '../netlink/nftables.js';
import { encodeRule } from './nft-encoding.js';
import { APPLY_ORDER, BUILTIN_CHAINS, type FamilyPlan, type SharedItem } from './rule.js';

/** Other transactions committed between the lookups and ours: look again, then leave it to iptables-restore. */
const GENERATION_ATTEMPTS = 3;

const significant = (exprs: readonly NftExpr[]) => exprs.filter((e) => !isCounter(e));
const sameRule = (a: readonly NftExpr[], b: readonly NftExpr[]) => a.length === b.length && a.every((e, i) => e.equals(b[i]!));

const familyOf = (plan: FamilyPlan): NftFamily => (plan.family === 6 ? 'ip6' : 'ip');

/**
 * Appends the plans' owned rules (after their owned chains), every family in one transaction;
 * false: nothing changed, use iptables.
 */
export async function addThroughNftables(plans: readonly FamilyPlan[]): Promise<boolean> {
  const changes: NftChange[] = [];
  for (const plan of plans) {
    const family = familyOf(plan);
    for (const table of APPLY_ORDER) {
      for (const c of plan.owned.chains.filter((c) => c.table === table)) changes.push({ kind: 'create-chain', family, ...c }, { kind: 'flush', family, ...c });
    }
    for (const r of APPLY_ORDER.flatMap((table) => plan.owned.rules.filter((r) => r.table === table))) {
      const encoded = encodeRule(plan.family, r.table, r.args);
      if (!encoded) return false;
      changes.push({ kind: 'append', family, table: r.table, chain: r.chain, ...encoded });
    }
  }
  if (changes.length === 0) return false;
  try {
    return await NfTables.using(async (nft) => {
      for (let attempt = 1; attempt <= GENERATION_ATTEMPTS; attempt++) {
        const generation = await nft.generation();
        if (!(await sharedPresent(plans))) return false;
        try {
          await nft.commit(changes, generation);
          return true;
        } catch (err) {
          if ((err as NetlinkError).errno !== ERESTART) throw err;
        }
      }
      return false;
    });
  } catch {
    return false;
  }
}

/** Is every shared item of the plans in nf_tables? Every lookup at once, each on its own socket. */
async function sharedPresent(plans: readonly FamilyPlan[]): Promise<boolean> {
  const found = await Promise.all(plans.flatMap((plan) => plan.shared.map((item) => (item.kind === 'chain' ? chainPresent(familyOf(plan), item) : rulePresent(plan, item)))));
  return found.every(Boolean);
}

function chainPresent(fam: NftFamily, item: { table: string; chain: string }): Promise<boolean> {
  return BUILTIN_CHAINS.has(item.chain) ? Promise.resolve(true) : NfTables.using((nft) => nft.hasChain(fam, item.table, item.chain));
}

async function rulePresent(plan: FamilyPlan, item: Extract<SharedItem, { kind: 'rule' }>): Promise<boolean> {
  const want = encodeRule(plan.family, item.table, item.args);
  if (!want) return false;
  // Only the rules holding the item's comment reach JavaScript: a shared chain may hold thousands.
  const i = item.args.indexOf('--comment');
  const containing = i >= 0 ? Buffer.from(item.args[i + 1] ?? '') : undefined;
  const rules = await NfTables.using((nft) => nft.rules(familyOf(plan), item.table, item.chain, containing));
  const exprs = significant(want.exprs);
  return (rules ?? []).some((r) => sameRule(significant(r.exprs), exprs));
}
