// Applies, removes and verifies rule sets through iptables, keeping the common path to one
// iptables-restore per family and turning failures into a clean state:
//
// - ADD: where iptables keeps its rules in nf_tables and the shared items are there, the owned
//   chains and rules go in one nf_tables transaction, with no iptables process (nft-apply.ts).
//   Otherwise one batch per family that checks the shared items it relies on, declares the owned
//   chains and appends the owned rules. No iptables-save: the cost does not grow with the rules
//   installed. If a shared item is missing (first use, or someone flushed a built-in chain), the
//   committed part is undone, the shared items are repaired under a lock, and the batch runs again.
// - DEL: where iptables keeps its rules in nf_tables, the attachment's rules (by the handles its
//   ADD recorded, else by their tags) and its chains are deleted there in one transaction, with no
//   iptables process (nft-remove.ts). Otherwise one batch of exact deletes from the recorded rule
//   set; if anything in it is already gone, the fallback reads iptables-save and deletes what
//   still carries the attachment's tag.
// - Each table's COMMIT is a transaction of its own, so a batch failing in its second table has
//   committed the first: that part is removed again before the error is reported.
import { checkpoint } from '../cni/checkpoint.js';
import { CniError, ErrorCode } from '../cni/errors.js';
import { withLock } from '../lock/flock.js';
import { RestoreError, type Iptables } from './iptables.js';
import { keyOfChain, parseTag, type ParsedTag } from './names.js';
import { applyBatch, BUILTIN_CHAINS as BUILTIN, checkBatch, commentOf, removeBatch, sharedBatch, type Batch, type FamilyPlan, type RuleSet, type SharedItem } from './rule.js';
import { parseSave, sweepBatch } from './save.js';
import type { Family } from './types.js';

export interface EngineOptions {
  /** The lock serializing repairs of shared items (a file path). */
  lockPath: string;
  lockTimeoutMs?: number;
}

/** The attachment keys a rule set's tags name (every owned rule carries one). */
function keysOf(sets: readonly RuleSet[]): Set<string> {
  const keys = new Set<string>();
  for (const r of sets.flatMap((s) => s.rules)) {
    const comment = commentOf(r);
    const tag = comment !== undefined ? parseTag(comment) : undefined;
    if (tag) keys.add(tag.key);
  }
  return keys;
}

function lineOf(batch: Batch, err: RestoreError) {
  return err.line !== undefined ? batch.lines[err.line - 1] : undefined;
}

export class RuleEngine {
  constructor(
    private readonly ipt: Iptables,
    private readonly opts: EngineOptions,
  ) {}

  /**
   * Applies every family's plan, or none: in one nf_tables transaction where it can (nft-apply.ts),
   * else through iptables-restore, removing the families that succeeded when another fails.
   * Resolves with the plans' owned sets as applied: their rules carry their nf_tables handles when
   * they went in through nf_tables.
   */
  async apply(plans: readonly FamilyPlan[]): Promise<RuleSet[]> {
    const added = plans.length > 0 ? await this.ipt.addOwned?.(plans) : undefined;
    if (added) {
      for (const p of plans) checkpoint(`nat-ipv${p.family}-applied`);
      return added;
    }
    const results = await Promise.allSettled(plans.map((p) => this.applyFamily(p)));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (!failure) return plans.map((p) => p.owned);
    await Promise.allSettled(plans.filter((_, i) => results[i]!.status === 'fulfilled').map((p) => this.remove(p.family, [p.owned])));
    throw failure.reason;
  }

  private async applyFamily(plan: FamilyPlan): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const batch = applyBatch(plan);
      try {
        await this.ipt.restore(plan.family, batch.text);
        checkpoint(`nat-ipv${plan.family}-applied`);
        return;
      } catch (err) {
        if (!(err instanceof RestoreError)) throw err;
        await this.undoCommitted(plan, batch, err);
        const line = lineOf(batch, err);
        const sharedMissing = line?.kind === 'check-shared' || /No chain\/target\/match by that name|does not exist/.test(err.stderr);
        if (attempt > 1 || !sharedMissing) {
          throw new CniError(ErrorCode.Internal, `cannot add IPv${plan.family} firewall rules${line ? ` (${line.what})` : ''}: ${err.stderr.trim() || err.message}`);
        }
        await this.ensureShared(plan.family, plan.shared);
      }
    }
  }

  /** Removes the owned rules of the tables a failed batch had already committed. */
  private async undoCommitted(plan: FamilyPlan, batch: Batch, err: RestoreError): Promise<void> {
    // Without a line number any table may have committed: remove all of it (remove tolerates absence).
    const committed = new Set(batch.commits.filter((c) => err.line === undefined || c.line < err.line).map((c) => c.table));
    if (committed.size === 0) return;
    const owned: RuleSet = { chains: plan.owned.chains.filter((c) => committed.has(c.table)), rules: plan.owned.rules.filter((r) => committed.has(r.table)) };
    await this.remove(plan.family, [owned]);
  }

  /**
   * Creates the missing shared items, under a lock so concurrent repairs never duplicate a jump.
   * Existence is asked of the kernel (iptables -C), never inferred from text, since iptables prints
   * rules in its own normalized form.
   */
  async ensureShared(family: Family, items: readonly SharedItem[]): Promise<void> {
    if (items.length === 0) return;
    await withLock(
      this.opts.lockPath,
      async () => {
        const saved = parseSave(await this.ipt.save(family));
        const hasChain = (table: string, chain: string) => saved.get(table)?.chains.has(chain) ?? false;
        const newChains = new Set(items.filter((i) => i.kind === 'chain' && !BUILTIN.has(i.chain) && !hasChain(i.table, i.chain)).map((i) => `${i.table} ${i.chain}`));
        const present = await Promise.all(
          items.map((i) => {
            if (i.kind === 'chain') return !newChains.has(`${i.table} ${i.chain}`);
            // A rule in, or jumping to, a chain about to be created cannot exist yet (and -C would fail on it).
            const target = i.args[i.args.indexOf('-j') + 1];
            if (!hasChain(i.table, i.chain) || newChains.has(`${i.table} ${target}`)) return false;
            return this.ipt.check(family, i);
          }),
        );
        const missing = items.filter((_, n) => !present[n]);
        if (missing.length > 0) await this.ipt.restore(family, sharedBatch(missing).text);
      },
      { timeoutMs: this.opts.lockTimeoutMs, what: 'ctnet shared iptables chains' },
    );
  }

  /**
   * Removes recorded rule sets: through nf_tables by their tags where it can, else with a batch
   * deleting exactly what they list; if any of that is gone, the rest is found by the sets' tags
   * and owned chain names in iptables-save.
   */
  async remove(family: Family, sets: readonly RuleSet[]): Promise<void> {
    const batch = removeBatch(sets);
    if (!batch.text) return;
    if (await this.ipt.removeTagged?.(family, sets, keysOf(sets))) return;
    try {
      await this.ipt.restore(family, batch.text);
    } catch (err) {
      if (!(err instanceof RestoreError)) throw err;
      const keys = keysOf(sets);
      const chains = new Set(sets.flatMap((s) => s.chains.map((c) => c.chain)));
      await this.sweep(family, (tag) => keys.has(tag.key), (name) => chains.has(name));
    }
  }

  /**
   * Deletes every rule whose tag `pick` selects, and the chains owned by the attachments of those
   * tags (or claimed by `ownChain`). Retries once on a fresh save if the ruleset changed underneath.
   */
  async sweep(family: Family, pick: (tag: ParsedTag) => boolean, ownChain: (name: string) => boolean = () => false): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const saved = parseSave(await this.ipt.save(family));
      const keys = new Set<string>();
      for (const t of saved.values()) {
        for (const r of t.rules) {
          const tag = r.comment !== undefined ? parseTag(r.comment) : undefined;
          if (tag && pick(tag)) keys.add(tag.key);
        }
      }
      const batch = sweepBatch(
        saved,
        (r) => {
          const tag = r.comment !== undefined ? parseTag(r.comment) : undefined;
          return tag !== undefined && keys.has(tag.key);
        },
        (name) => !BUILTIN.has(name) && (ownChain(name) || keys.has(keyOfChain(name) ?? '')),
      );
      if (!batch.text) return;
      try {
        await this.ipt.restore(family, batch.text);
        return;
      } catch (err) {
        if (!(err instanceof RestoreError) || attempt >= 2) {
          throw new CniError(ErrorCode.Internal, `cannot remove IPv${family} firewall rules: ${err instanceof RestoreError ? err.stderr.trim() : (err as Error).message}`);
        }
      }
    }
  }

  /** CHECK: every shared and owned rule of the plans exists; CniError 105 names the first missing one. */
  async check(plans: readonly FamilyPlan[]): Promise<void> {
    for (const plan of plans) {
      const batch = checkBatch(plan);
      if (!batch.text) continue;
      try {
        await this.ipt.restore(plan.family, batch.text);
      } catch (err) {
        if (!(err instanceof RestoreError)) throw err;
        const line = lineOf(batch, err);
        throw new CniError(ErrorCode.CheckFailed, `IPv${plan.family} firewall ${line ? `${line.what} is missing` : `rules are incomplete: ${err.stderr.trim()}`}`);
      }
    }
  }
}
