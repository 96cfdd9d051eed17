// Removing recorded rules with no iptables process. iptables-nft keeps iptables rules in nf_tables,
// so an attachment's rules are found there by the tag each carries and deleted by handle, with its
// chains, in one transaction: DEL no longer pays for starting execa and iptables-restore (~20-30 ms
// of a plugin's main thread), nor for the rule-by-rule comparison `iptables -D` makes along long
// shared chains. When nothing of the attachment is there (legacy iptables keeps its rules in
// x_tables; or they are gone already) or nf_tables refuses, it answers false having changed
// nothing, and the caller takes the iptables path, which copes with both.
import { nftFamily, NfTables, type NftChange } from '../netlink/nftables.js';
import { parseTag } from './names.js';
import type { RuleSet } from './rule.js';
import type { Family } from './types.js';

/** Deletes the sets' chains and every rule tagged with one of `keys` in the chains the sets name. */
export async function removeThroughNftables(family: Family, sets: readonly RuleSet[], keys: ReadonlySet<string>): Promise<boolean> {
  const fam = nftFamily(family);
  const id = (c: { table: string; chain: string }) => `${c.table} ${c.chain}`;
  const owned = new Map(sets.flatMap((s) => s.chains).map((c) => [id(c), c]));
  const ruleChains = new Map(sets.flatMap((s) => s.rules).filter((r) => !owned.has(id(r))).map((r) => [id(r), { table: r.table, chain: r.chain }]));
  // A tag starts with its key: the cheap pre-filter that spares decoding other attachments' rules.
  const containing = Buffer.from(keys.size === 1 ? `ctnet:${[...keys][0]!}` : 'ctnet:');
  const tagged = ({ table, chain }: { table: string; chain: string }) =>
    NfTables.using(async (nft) =>
      ((await nft.rules(fam, table, chain, containing)) ?? []).flatMap((r): NftChange[] => {
        const tag = r.comment !== undefined ? parseTag(r.comment) : undefined;
        return tag && keys.has(tag.key) ? [{ kind: 'rule', family: fam, table, chain, handle: r.handle }] : [];
      }),
    );
  const present = (c: { table: string; chain: string }) => NfTables.using(async (nft) => ((await nft.hasChain(fam, c.table, c.chain)) ? [c] : []));
  try {
    // Every lookup at once, each on a socket of its own (so on a pool thread of its own): on a busy
    // host the shared chains hold thousands of rules, and their dumps are most of what DEL waits for.
    const [rules, chains] = await Promise.all([
      Promise.all([...ruleChains.values()].map(tagged)).then((r) => r.flat()),
      Promise.all([...owned.values()].map(present)).then((c) => c.flat()),
    ]);
    if (rules.length === 0 && chains.length === 0) return false;
    // The jumps go first, then every owned chain is emptied before any is deleted (one may jump to another).
    const deletions: NftChange[] = [...rules, ...chains.map((c): NftChange => ({ ...c, family: fam, kind: 'flush' })), ...chains.map((c): NftChange => ({ ...c, family: fam, kind: 'chain' }))];
    await NfTables.using((nft) => nft.commit(deletions));
    return true;
  } catch {
    return false;
  }
}
