// The processes: iptables-restore, iptables-save and iptables -C, for IPv4 and IPv6, waiting on
// the xtables lock.
import { CniError, ErrorCode } from '../cni/errors.js';
import { runProgram, type Ran } from './exec.js';
import { addThroughNftables } from './nft-apply.js';
import { removeThroughNftables } from './nft-remove.js';
import type { FamilyPlan, Rule, RuleSet } from './rule.js';
import type { Family } from './types.js';

/** A restore that failed; `line` is the input line iptables named, when it named one. */
export class RestoreError extends Error {
  constructor(
    readonly family: Family,
    readonly line: number | undefined,
    readonly stderr: string,
  ) {
    super(`ip${family === 6 ? '6' : ''}tables-restore failed${line ? ` at line ${line}` : ''}: ${stderr.trim().split('\n')[0] ?? ''}`);
    this.name = 'RestoreError';
  }
}

export interface Iptables {
  /** Applies a batch with --noflush; throws RestoreError when iptables refuses it. */
  restore(family: Family, input: string): Promise<void>;
  /** The whole ruleset of the family (slow paths only). */
  save(family: Family): Promise<string>;
  /** Does the rule exist? (false also when its chain does not.) */
  check(family: Family, rule: Rule): Promise<boolean>;
  /**
   * Removes the sets' owned chains and their rules in other chains (by recorded handle where that
   * still names the rule, else every rule tagged with one of `keys` in the chain), with no iptables
   * process, where iptables keeps its rules in nf_tables. false: nothing was changed (nothing
   * found, legacy iptables, or refused), and restore() should do it.
   */
  removeTagged?(family: Family, sets: readonly RuleSet[], keys: ReadonlySet<string>): Promise<boolean>;
  /**
   * Creates the plans' owned chains and appends their owned rules (every family at once) with no
   * iptables process, where iptables keeps its rules in nf_tables and the plans' shared items are
   * there. Resolves with the plans' owned sets, each rule with the handle it got; undefined:
   * nothing was changed, and restore() should do it.
   */
  addOwned?(plans: readonly FamilyPlan[]): Promise<RuleSet[] | undefined>;
}

const bin = (family: Family, tool: '' | '-restore' | '-save') => `${family === 6 ? 'ip6tables' : 'iptables'}${tool}`;

function failed(file: string, r: Ran): CniError {
  const why = r.exitCode === undefined ? r.reason || 'not run' : r.stderr.trim() || `exit status ${r.exitCode}`;
  return new CniError(ErrorCode.Internal, `${file} failed: ${why}`);
}

/** The machine's iptables (whichever variant the alternatives point to: nft or legacy). */
export const systemIptables: Iptables = {
  async restore(family, input) {
    const file = bin(family, '-restore');
    const r = await runProgram(file, ['--wait', '--noflush'], { input });
    if (r.exitCode === 0) return;
    if (r.exitCode === undefined) throw failed(file, r);
    // "iptables-restore: line 7 failed: ..." (a rejected command) or "Error occurred at line: 7" (a parse error).
    const line = /line (\d+) failed|Error occurred at line: (\d+)/.exec(r.stderr);
    throw new RestoreError(family, line ? Number(line[1] ?? line[2]) : undefined, r.stderr);
  },

  async save(family) {
    const file = bin(family, '-save');
    const r = await runProgram(file, []);
    if (r.exitCode !== 0) throw failed(file, r);
    return r.stdout;
  },

  async check(family, rule) {
    const file = bin(family, '');
    const r = await runProgram(file, ['--wait', '-t', rule.table, '-C', rule.chain, ...rule.args]);
    if (r.exitCode === 0) return true;
    // Status 1: no such rule or chain; 2 with "does not exist": no such target chain. Anything else is a real failure.
    if (r.exitCode === 1 || (r.exitCode === 2 && /does not exist/.test(r.stderr))) return false;
    throw failed(file, r);
  },

  removeTagged: removeThroughNftables,
  addOwned: addThroughNftables,
};
