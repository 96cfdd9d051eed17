// Named steps inside ADD and DEL where tests inject faults: CTNET_TEST_FAIL_AT=<step> throws
// there (to test rollback), CTNET_TEST_KILL_AT=<step> SIGKILLs the plugin there (to test that a
// later DEL or GC leaves no residue). Both are for tests only; unset, a checkpoint costs nothing.
import { CniError, ErrorCode } from './errors.js';

export function checkpoint(step: string): void {
  const { CTNET_TEST_FAIL_AT: failAt, CTNET_TEST_KILL_AT: killAt } = process.env;
  if (failAt === step) throw new CniError(ErrorCode.Internal, `injected failure at ${step} (CTNET_TEST_FAIL_AT)`);
  if (killAt === step) process.kill(process.pid, 'SIGKILL');
}
