// Adding an attachment's rules with no iptables process: where iptables keeps its rules in
// nf_tables (iptables-nft), the owned chains are created (or emptied) and the owned rules appended
// in one nf_tables transaction, each rule encoded as iptables-nft encodes it (nft-encoding.ts), so
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
import { encodeRule, type EncodedRule } from './nft-encoding.js';
import { APPLY_ORDER, BUILTIN_CHAINS, type FamilyPlan, type SharedItem } from './rule.js';

/** Other transactions committed between the lookups and ours: look again, then leave it to iptables-restore. */
const GENERATION_ATTEMPTS = 3;

const significant = (exprs: readonly NftExpr[]) => exprs.filter((e) => !isCounter(e));
const sameRule = (a: readonly NftExpr[], b: readonly NftExpr[]) => a.length === b.length && a.every((e, i) => e.equals(b[i]!));

/** Appends the plan's owned rules (after its owned chains) in one transaction; false: nothing changed, use iptables. */
export async function addThroughNftables(plan: FamilyPlan): Promise<boolean> {
  const fam: NftFamily = plan.family === 6 ? 'ip6' : 'ip';
  const owned = APPLY_ORDER.flatMap((table) => plan.owned.rules.filter((r) => r.table === table));
  const encoded = owned.map((r) => encodeRule(plan.family, r.table, r.args));
  if (!encoded.every((e): e is EncodedRule => e !== undefined)) return false;
  const changes: NftChange[] = [
    ...APPLY_ORDER.flatMap((table) => plan.owned.chains.filter((c) => c.table === table).flatMap((c): NftChange[] => [{ kind: 'create-chain', ...c }, { kind: 'flush', ...c }])),
    ...owned.map((r, i): NftChange => ({ kind: 'append', table: r.table, chain: r.chain, ...encoded[i]! })),
  ];
  try {
    return await NfTables.using(async (nft) => {
      for (let attempt = 1; attempt <= GENERATION_ATTEMPTS; attempt++) {
        const generation = await nft.generation();
        if (!(await sharedPresent(fam, plan))) return false;
        try {
          await nft.commit(fam, changes, generation);
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

/** Is every shared item of the plan in nf_tables? Every lookup at once, each on its own socket. */
async function sharedPresent(fam: NftFamily, plan: FamilyPlan): Promise<boolean> {
  const found = await Promise.all(plan.shared.map((item) => (item.kind === 'chain' ? chainPresent(fam, item) : rulePresent(fam, plan, item))));
  return found.every(Boolean);
}

function chainPresent(fam: NftFamily, item: { table: string; chain: string }): Promise<boolean> {
  return BUILTIN_CHAINS.has(item.chain) ? Promise.resolve(true) : NfTables.using((nft) => nft.hasChain(fam, item.table, item.chain));
}

async function rulePresent(fam: NftFamily, plan: FamilyPlan, item: Extract<SharedItem, { kind: 'rule' }>): Promise<boolean> {
  const want = encodeRule(plan.family, item.table, item.args);
  if (!want) return false;
  // Only the rules holding the item's comment reach JavaScript: a shared chain may hold thousands.
  const i = item.args.indexOf('--comment');
  const containing = i >= 0 ? Buffer.from(item.args[i + 1] ?? '') : undefined;
  const rules = await NfTables.using((nft) => nft.rules(fam, item.table, item.chain, containing));
  const exprs = significant(want.exprs);
  return (rules ?? []).some((r) => sameRule(significant(r.exprs), exprs));
}
