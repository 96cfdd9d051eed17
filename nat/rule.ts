// The rule model and its iptables-restore text. Shared items (chains and jumps many attachments
// use) are created when missing and never removed; owned items (an attachment's chains and rules)
// are added in one batch and removed in one batch. Rendering is pure, and every batch line keeps
// a description, so a failure reported as "line N failed" names the rule that failed.
import type { Family } from './types.js';

export type Table = 'filter' | 'nat';

/** The chains the tables come with, which always exist and are never created or deleted. */
export const BUILTIN_CHAINS: ReadonlySet<string> = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);

export interface Rule {
  table: Table;
  chain: string;
  args: readonly string[];
  /**
   * Its nf_tables handle (decimal), where the ADD that made it learned it (nft-apply.ts): DEL then
   * finds it in a long shared chain without reading the chain (nft-remove.ts).
   */
  handle?: string;
}

/** The rule's --comment (an owned rule's tag). */
export function commentOf(rule: Pick<Rule, 'args'>): string | undefined {
  const i = rule.args.indexOf('--comment');
  return i >= 0 ? rule.args[i + 1] : undefined;
}

export interface ChainRef {
  table: Table;
  chain: string;
}

/** Created when missing, never removed: a chain, or a rule at the top or the end of its chain. */
export type SharedItem = ({ kind: 'chain' } & ChainRef) | ({ kind: 'rule'; position: 'first' | 'last' } & Rule);

/** What one attachment owns in one family: chains (created, then flushed and deleted) and rules. */
export interface RuleSet {
  chains: ChainRef[];
  rules: Rule[];
}

export interface FamilyPlan {
  family: Family;
  shared: SharedItem[];
  owned: RuleSet;
}

/** A token as iptables-restore reads it: bare when safe, else double-quoted with \ and " escaped. */
export function quoteArg(arg: string): string {
  if (/^[\w.:/,!+=@%[\]-]+$/.test(arg)) return arg;
  return `"${arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export const ruleText = (r: Rule): string => `${r.chain} ${r.args.map(quoteArg).join(' ')}`;
export const describeRule = (r: Rule): string => `${r.table} ${ruleText(r)}`;

type LineKind = 'check-shared' | 'other';

interface Line {
  text: string;
  kind: LineKind;
  what: string;
}

export interface Batch {
  text: string;
  /** Per line (1-based line n at index n-1): what it does, and which table's transaction it is in. */
  lines: Array<{ table: Table; kind: LineKind | 'control'; what: string }>;
  /** The line number of each table's COMMIT: a failure after it leaves that table committed. */
  commits: Array<{ table: Table; line: number }>;
}

/**
 * One iptables-restore input with a section per table, in the order given. Each COMMIT is its own
 * kernel transaction (iptables-nft-restore and legacy alike), so callers order tables so that a
 * partial outcome is harmless and compensate for committed sections when a later one fails.
 */
export function renderBatch(sections: ReadonlyArray<{ table: Table; lines: Line[] }>): Batch {
  const out: string[] = [];
  const lines: Batch['lines'] = [];
  const commits: Batch['commits'] = [];
  for (const { table, lines: body } of sections) {
    if (body.length === 0) continue;
    out.push(`*${table}`);
    lines.push({ table, kind: 'control', what: `table ${table}` });
    for (const l of body) {
      out.push(l.text);
      lines.push({ table, kind: l.kind, what: l.what });
    }
    out.push('COMMIT');
    lines.push({ table, kind: 'control', what: `commit of table ${table}` });
    commits.push({ table, line: lines.length });
  }
  return { text: out.length ? `${out.join('\n')}\n` : '', lines, commits };
}

const sharedRules = (items: readonly SharedItem[]) => items.filter((i): i is Extract<SharedItem, { kind: 'rule' }> => i.kind === 'rule');

/** ADD: filter before nat, so the DNAT never works before its accept rules exist. */
export const APPLY_ORDER: readonly Table[] = ['filter', 'nat'];
/** DEL: nat first, so nothing is translated to a container whose accept rules are gone. */
export const REMOVE_ORDER: readonly Table[] = ['nat', 'filter'];

/**
 * ADD: verifies the shared items this attachment relies on (`-C`, so a missing jump fails the batch
 * and triggers the repair path instead of leaving rules nothing reaches), declares the owned chains
 * (`:NAME`, which creates a chain or flushes an existing one: never used for shared chains) and
 * appends the owned rules.
 */
export function applyBatch(plan: FamilyPlan): Batch {
  return renderBatch(
    APPLY_ORDER.map((table) => ({
      table,
      lines: [
        ...sharedRules(plan.shared)
          .filter((i) => i.table === table)
          .map((i): Line => ({ text: `-C ${ruleText(i)}`, kind: 'check-shared', what: `shared rule ${describeRule(i)}` })),
        ...plan.owned.chains.filter((c) => c.table === table).map((c): Line => ({ text: `:${c.chain} - [0:0]`, kind: 'other', what: `chain ${c.table} ${c.chain}` })),
        ...plan.owned.rules.filter((r) => r.table === table).map((r): Line => ({ text: `-A ${ruleText(r)}`, kind: 'other', what: `rule ${describeRule(r)}` })),
      ],
    })),
  );
}

/** DEL, from a recorded rule set: exact deletes of the rules in shared chains, then flush and delete of the owned chains. */
export function removeBatch(sets: readonly RuleSet[]): Batch {
  return renderBatch(
    REMOVE_ORDER.map((table) => {
      const owned = sets.flatMap((s) => s.chains.filter((c) => c.table === table));
      const ownedNames = new Set(owned.map((c) => c.chain));
      const rules = sets.flatMap((s) => s.rules.filter((r) => r.table === table && !ownedNames.has(r.chain))).reverse();
      return {
        table,
        lines: [
          ...rules.map((r): Line => ({ text: `-D ${ruleText(r)}`, kind: 'other', what: `rule ${describeRule(r)}` })),
          ...owned.flatMap((c): Line[] => [
            { text: `-F ${c.chain}`, kind: 'other', what: `chain ${table} ${c.chain}` },
            { text: `-X ${c.chain}`, kind: 'other', what: `chain ${table} ${c.chain}` },
          ]),
        ],
      };
    }),
  );
}

/** CHECK: every shared and owned rule must exist (`-C` changes nothing; the whole batch passes or names the first missing rule). */
export function checkBatch(plan: FamilyPlan): Batch {
  return renderBatch(
    APPLY_ORDER.map((table) => ({
      table,
      lines: [...sharedRules(plan.shared), ...plan.owned.rules]
        .filter((r) => r.table === table)
        .map((r): Line => ({ text: `-C ${ruleText(r)}`, kind: 'other', what: `rule ${describeRule(r)}` })),
    })),
  );
}

/** The repair of missing shared items (found under a lock): new chains, then rules at their positions, in item order. */
export function sharedBatch(missing: readonly SharedItem[]): Batch {
  const tables = [...new Set(missing.map((i) => i.table))];
  return renderBatch(
    tables.map((table) => ({
      table,
      lines: [
        ...missing.filter((i) => i.table === table && i.kind === 'chain').map((i): Line => ({ text: `-N ${i.chain}`, kind: 'other', what: `chain ${table} ${i.chain}` })),
        ...sharedRules(missing)
          .filter((i) => i.table === table)
          .map((i): Line => ({ text: `${i.position === 'first' ? `-I ${i.chain} 1` : `-A ${i.chain}`} ${i.args.map(quoteArg).join(' ')}`, kind: 'other', what: `shared rule ${describeRule(i)}` })),
      ],
    })),
  );
}

/** Adds an item to a list unless an equal one is there (shared items are collected from several features). */
export function addUnique<T>(list: T[], ...items: T[]): void {
  for (const item of items) {
    const key = JSON.stringify(item);
    if (!list.some((x) => JSON.stringify(x) === key)) list.push(item);
  }
}

export const comment = (text: string): string[] => ['-m', 'comment', '--comment', text];
export const chainItem = (table: Table, chain: string): SharedItem => ({ kind: 'chain', table, chain });

/** A shared jump from one chain to another, with its matches and an explanatory comment. */
export const jumpItem = (table: Table, from: string, to: string, position: 'first' | 'last', matches: string[], why: string): SharedItem => ({
  kind: 'rule',
  table,
  chain: from,
  position,
  args: [...matches, ...comment(why), '-j', to],
});

/** Collects one family's shared and owned items for an attachment whose rules carry `tag`. */
export class FamilyBuilder {
  readonly shared: SharedItem[] = [];
  readonly owned: RuleSet = { chains: [], rules: [] };

  constructor(
    readonly family: Family,
    private readonly tag: string,
  ) {}

  share(...items: SharedItem[]): void {
    addUnique(this.shared, ...items);
  }

  /** An owned rule: matches, the attachment's tag, then the target. */
  rule(table: Table, chain: string, matches: string[], target: string[]): void {
    addUnique(this.owned.rules, { table, chain, args: [...matches, ...comment(this.tag), ...target] });
  }

  plan(): FamilyPlan {
    return { family: this.family, shared: this.shared, owned: this.owned };
  }
}
