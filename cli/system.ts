// `ctnet system prune`: reconciliation after crashes and reboots (see Engine.systemPrune).
import { Command } from 'commander';
import { engineFor } from './context.js';

export function systemCommand(): Command {
  const system = new Command('system').description('manage ctnet as a whole');
  system
    .command('prune')
    .description('remove containers whose process or namespace is gone, and release what killed commands leaked on every network')
    .action(async (_o: unknown, cmd: Command) => {
      const { containers, errors } = await engineFor(cmd).systemPrune();
      for (const name of containers) console.log(`removed container ${name}`);
      if (errors.length) throw new Error(errors.join('; '));
    });
  return system;
}
