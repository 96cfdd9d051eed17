// Reading iptables-save output: only on the slow paths (repair of shared chains, the DEL fallback,
// GC), never on ADD. A saved rule line is valid restore input, so a rule found here is deleted by
// its own text with -A turned into -D.
import { REMOVE_ORDER, renderBatch, type Batch, type Table } from './rule.js';

export interface SavedRule {
  chain: string;
  /** Everything after "-A <chain> ", verbatim. */
  rest: string;
  comment?: string;
  /** The -j or -g target. */
  target?: string;
}

export interface SavedTable {
  chains: Set<string>;
  rules: SavedRule[];
}

export type Saved = Map<string, SavedTable>;

/** Unescapes a token of save output: "a \"b\"" -> a "b". */
function unquote(token: string): string {
  return token.startsWith('"') ? token.slice(1, -1).replace(/\\(.)/g, '$1') : token;
}

const TOKEN = String.raw`("(?:[^"\\]|\\.)*"|\S+)`;

export function parseSave(text: string): Saved {
  const tables: Saved = new Map();
  let current: SavedTable | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      current = { chains: new Set(), rules: [] };
      tables.set(line.slice(1).trim(), current);
    } else if (!current || line.startsWith('#') || line === 'COMMIT') {
      continue;
    } else if (line.startsWith(':')) {
      current.chains.add(line.slice(1).split(' ')[0]!);
    } else if (line.startsWith('-A ')) {
      const m = /^-A (\S+) (.*)$/.exec(line);
      if (!m) continue;
      const rest = m[2]!;
      const comment = new RegExp(`(?:^| )--comment ${TOKEN}`).exec(rest)?.[1];
      const target = /(?:^| )-[jg] (\S+)/.exec(rest)?.[1];
      current.rules.push({ chain: m[1]!, rest, ...(comment !== undefined ? { comment: unquote(comment) } : {}), ...(target ? { target } : {}) });
    }
  }
  return tables;
}

/**
 * Deletes, from saved state, every rule `pick` selects and every chain `ownChain` claims (with any
 * rule that jumps to it, tagged or not, since a referenced chain cannot be deleted).
 */
export function sweepBatch(saved: Saved, pick: (r: SavedRule) => boolean, ownChain: (name: string) => boolean): Batch {
  return renderBatch(
    REMOVE_ORDER.map((table: Table) => {
      const t = saved.get(table);
      if (!t) return { table, lines: [] };
      const owned = [...t.chains].filter(ownChain);
      const ownedSet = new Set(owned);
      const rules = t.rules.filter((r) => !ownedSet.has(r.chain) && (pick(r) || (r.target !== undefined && ownedSet.has(r.target))));
      return {
        table,
        lines: [
          ...rules.map((r) => ({ text: `-D ${r.chain} ${r.rest}`, kind: 'other' as const, what: `rule ${table} ${r.chain} ${r.rest}` })),
          ...owned.flatMap((c) => [
            { text: `-F ${c}`, kind: 'other' as const, what: `chain ${table} ${c}` },
            { text: `-X ${c}`, kind: 'other' as const, what: `chain ${table} ${c}` },
          ]),
        ],
      };
    }),
  );
}
