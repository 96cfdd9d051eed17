// Removing recorded rules with no iptables process. iptables-nft keeps iptables rules in nf_tables,
// so an attachment's rules are found there and deleted by handle, with its chains, in one
// transaction: DEL no longer pays for starting execa and iptables-restore (~20-30 ms of a plugin's
// main thread), nor for the rule-by-rule comparison `iptables -D` makes along long shared chains.
//
// A rule in a shared chain is found by the handle its ADD recorded (nft-apply.ts), looked up on its
// own, when the rule there still carries its tag: handles restart in a table made anew, so the
// tag is what says the handle still names this rule. Otherwise (no handle recorded: the ADD went
// through iptables-restore; the rule is gone; another rule holds the handle now) its chain is read,
// and the rules tagged with the attachment's key are the ones deleted. On a busy host a shared
// chain holds thousands of rules, and reading it is most of what DEL would wait for.
//
// When nothing of the attachment is there (legacy iptables keeps its rules in x_tables; or they are
// gone already) or nf_tables refuses, it answers false having changed nothing, and the caller takes
// the iptables path, which copes with both.
import { nftFamily, NfTables, type NftChain, type NftChange } from '../netlink/nftables.js';
import { parseTag } from './names.js';
import { commentOf, type ChainRef, type Rule, type RuleSet } from './rule.js';
import type { Family } from './types.js';

const id = (c: { table: string; chain: string }) => `${c.table} ${c.chain}`;

/**
 * Deletes the sets' chains and their rules in other chains: each by its recorded handle where that
 * still names it, else every rule tagged with one of `keys` in the chain.
 */
export async function removeThroughNftables(family: Family, sets: readonly RuleSet[], keys: ReadonlySet<string>): Promise<boolean> {
  const fam = nftFamily(family);
  const owned = new Map(sets.flatMap((s) => s.chains).map((c) => [id(c), c]));
  const elsewhere = sets.flatMap((s) => s.rules).filter((r) => !owned.has(id(r)));
  const recorded = elsewhere.filter((r) => r.handle !== undefined);
  // A tag starts with its key: the cheap pre-filter that spares decoding other attachments' rules.
  const containing = Buffer.from(keys.size === 1 ? `ctnet:${[...keys][0]!}` : 'ctnet:');
  const tagged = ({ table, chain }: ChainRef) =>
    NfTables.using(async (nft) =>
      ((await nft.rules(fam, table, chain, containing)) ?? []).flatMap((r): NftChange[] => {
        const tag = r.comment !== undefined ? parseTag(r.comment) : undefined;
        return tag && keys.has(tag.key) ? [{ kind: 'rule', family: fam, table, chain, handle: r.handle }] : [];
      }),
    );
  const read = (rules: readonly Rule[]) => Promise.all([...new Map(rules.map((r) => [id(r), { table: r.table, chain: r.chain }])).values()].map(tagged)).then((r) => r.flat());
  const present = (chains: readonly ChainRef[]) => NfTables.using(async (nft) => {
    const exists = await nft.hasChains(chains.map((c) => ({ family: fam, ...c })));
    return chains.filter((_, i) => exists[i]);
  });
  try {
    // Every lookup at once, each on a socket of its own (so on a pool thread of its own).
    const [byHandle, byTag, chains] = await Promise.all([
      confirmedHandles(fam, recorded),
      read(elsewhere.filter((r) => r.handle === undefined)),
      present([...owned.values()]),
    ]);
    // A handle that no longer names its rule: read its chain, unless it was read already.
    const readAlready = new Set(byTag.map(id));
    const unconfirmed = recorded.filter((r, i) => !byHandle[i] && !readAlready.has(id(r)));
    const rules = dedupe([...byHandle.flatMap((c) => c ?? []), ...byTag, ...(await read(unconfirmed))]);
    if (rules.length === 0 && chains.length === 0) return false;
    // The jumps go first, then every owned chain is emptied before any is deleted (one may jump to another).
    const deletions: NftChange[] = [...rules, ...chains.map((c): NftChange => ({ ...c, family: fam, kind: 'flush' })), ...chains.map((c): NftChange => ({ ...c, family: fam, kind: 'chain' }))];
    await NfTables.using((nft) => nft.commit(deletions));
    return true;
  } catch {
    return false;
  }
}

/** Per recorded rule, its deletion when the rule its handle names carries its tag; else undefined. */
async function confirmedHandles(family: NftChain['family'], rules: readonly Rule[]): Promise<Array<NftChange | undefined>> {
  if (rules.length === 0) return [];
  const refs = rules.map((r) => ({ family, table: r.table, chain: r.chain, handle: BigInt(r.handle!) }));
  const found = await NfTables.using((nft) => nft.rulesByHandle(refs));
  return refs.map((ref, i) => {
    const comment = commentOf(rules[i]!);
    return comment !== undefined && found[i]?.comment === comment ? { kind: 'rule', ...ref } : undefined;
  });
}

/** A rule found both by handle and by tag is deleted once. */
function dedupe(deletions: readonly NftChange[]): NftChange[] {
  const seen = new Set<string>();
  return deletions.filter((d) => {
    const key = `${d.table} ${d.chain} ${d.kind === 'rule' ? d.handle : ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
