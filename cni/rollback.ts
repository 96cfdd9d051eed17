// Undo steps for a command that changes several things: a failed ADD runs them newest first, so
// bad input or a late failure never leaves partial state behind. An undo that itself fails is
// reported on stderr and the rest still run.
export class Rollback {
  private readonly steps: Array<{ what: string; undo: () => unknown }> = [];

  add(what: string, undo: () => unknown): void {
    this.steps.push({ what, undo });
  }

  async run(): Promise<void> {
    for (const { what, undo } of this.steps.reverse()) {
      try {
        await undo();
      } catch (err) {
        process.stderr.write(`ctnet: rollback: could not undo ${what}: ${(err as Error).message}\n`);
      }
    }
    this.steps.length = 0;
  }
}
